// The Chromium side of the bench's models section (bench/models.mjs): the
// package's browser entry, one thread, the same input and timing as in Node
// (bench/models-common.mjs). Served from the repository root.
import { init, loadModel } from '../../js/index.browser.mjs';
import { modelInput, timeModel } from '../models-common.mjs';

const status = document.getElementById('status');

window.benchReady = init({ simd: true, numThreads: 1 }).then((info) => {
  status.textContent = `ready: ${info.flavour}, ${info.threads} thread`;
  return { ...info, userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated };
});

// Fetches the model, times it on `frames` input frames; the result of timeModel.
window.runModelBench = async (url, { frames, budgetMs, warmupMs }) => {
  await window.benchReady;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetch ${url}: HTTP ${response.status}`);
  const model = loadModel(new Uint8Array(await response.arrayBuffer()));
  try {
    const input = modelInput(model.inputChannels, frames);
    status.textContent = 'running…';
    const result = timeModel(model, input, { budgetMs, warmupMs });
    status.textContent = 'done';
    return result;
  } finally {
    model.dispose();
  }
};
