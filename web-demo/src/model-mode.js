// The "Model" mode: loads a whole model (.qconv model file, loadModel) — the
// bundled example by default, or a file chosen or dropped — runs it on a
// generated signal or an audio file (model-run.js, DOM-free), and shows the
// input and output, the median time per forward, the real-time factor and
// the per-node times of `trace`. Errors of loadModel and forward show in
// #model-error; they are never thrown. Its body attributes
// (data-model-status, data-model-runs) and window.qconvDemo.model are a
// contract with tests/browser/demo-model.test.js (web-demo/README.md).
import { loadModel, dequantize } from 'qconv-wasm';
import { decodeAudioFile } from './wav.js';
import { DemoInputError } from './run.js';
import { modelInput, runModel, samplesPerStep, ASSUMED_OUTPUT_RATE, MAX_MODEL_INPUT_VALUES } from './model-run.js';
import { drawChart } from './plot.js';
import { $ } from './controls.js';

export const EXAMPLE_MODEL_URL = 'models/example.qconv';
const RECOMPUTE_DELAY_MS = 150;
const MODEL_MAGIC = 'QCONVMDL';

export const isModelFile = (bytes) => bytes.length >= 8
  && String.fromCharCode(...bytes.subarray(0, 8)) === MODEL_MAGIC;

const formatNumber = (v, digits = 4) => (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : '–');
function formatMs(ms) {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(2);
  return String(Number(ms.toPrecision(2)));
}

/**
 * Sets up the mode. demo: window.qconvDemo (its `ready` resolves after init);
 * returns { open(), loadFile(file) } for main.js (tabs and page-wide drops).
 */
export function createModelMode(demo) {
  const state = {
    opened: false,
    model: null,          // the loaded Model
    source: null,         // where it came from: 'bundled example' or a file name
    audio: null,
    audioError: null,
    result: null,         // the last successful run
    runs: 0,
    timer: null,
    pendingError: null,   // a failed load, shown by the next run
    loaded: null,         // a Promise: init() done and the bundled example tried
  };
  const api = {
    ready: null,          // resolved after the mode's first run (once opened)
    lastRun: null,
    info: null,
  };
  demo.model = api;

  const setStatus = (status) => { document.body.dataset.modelStatus = status; };

  function showError(e) {
    const box = $('model-error');
    box.replaceChildren();
    const kind = document.createElement('strong');
    kind.textContent = e.name === 'Input' ? 'Invalid input:' : `${e.name}:`;
    box.append(kind, ' ', e.message);
    box.hidden = false;
    $('model-result-panel').classList.add('stale');
  }
  function clearError() {
    $('model-error').hidden = true;
    $('model-error').replaceChildren();
    $('model-result-panel').classList.remove('stale');
  }

  function readControls() {
    const number = (id) => {
      const text = $(id).value.trim();
      return text === '' ? NaN : Number(text);
    };
    return {
      signal: $('model-signal').value,
      length: number('model-length'),
      frequency: number('model-frequency'),
      amplitude: number('model-amplitude'),
      offset: number('model-offset'),
      seed: number('model-seed'),
    };
  }

  // ---- model ------------------------------------------------------------------

  // Replaces the model with the one in `bytes`. On failure the previous model
  // stays (and keeps running); the error shows with the next run.
  function useModelBytes(bytes, source) {
    let model;
    try {
      model = loadModel(bytes);
    } catch (e) {
      state.pendingError = e;
      return false;
    }
    if (state.model) state.model.dispose();
    state.model = model;
    state.source = source;
    showModel();
    return true;
  }

  function showModel() {
    const m = state.model;
    const inQ = m.inputQuantization;
    const outQ = m.outputQuantization;
    $('model-name').textContent = m.name || '(unnamed model)';
    $('model-source').textContent = `from ${state.source}`;
    $('model-node-count').textContent = String(m.nodes.length);
    const counts = new Map();
    for (const n of m.nodes) counts.set(n.op, (counts.get(n.op) || 0) + 1);
    $('model-summary').textContent = `${m.inputChannels} input channel${m.inputChannels > 1 ? 's' : ''} → `
      + `${m.outputChannels} output channel${m.outputChannels > 1 ? 's' : ''}; ${m.nodes.length} nodes (`
      + [...counts].map(([op, k]) => `${k} ${op}`).join(', ') + `); input quantization scale ${formatNumber(inQ.scale)}, `
      + `zero point ${inQ.zeroPoint}; output ${m.dequantizesOutput ? 'dequantized to floats' : 'quint8'} `
      + `(scale ${formatNumber(outQ.scale)}, zero point ${outQ.zeroPoint}).`;
    api.info = {
      name: m.name, source: state.source, inputChannels: m.inputChannels, outputChannels: m.outputChannels,
      dequantizesOutput: m.dequantizesOutput, nodes: m.nodes.map((n) => ({ name: n.name, op: n.op })),
    };
  }

  async function loadExample() {
    const response = await fetch(EXAMPLE_MODEL_URL);
    if (!response.ok) throw new Error(`could not fetch ${EXAMPLE_MODEL_URL}: HTTP ${response.status}`);
    return useModelBytes(new Uint8Array(await response.arrayBuffer()), 'bundled example (models/example.qconv)');
  }

  // ---- runs -------------------------------------------------------------------

  function audioSecondsOf(c, channels) {
    if (c.signal !== 'wav' || !state.audio) return null;
    return (c.length * samplesPerStep(channels)) / state.audio.sampleRate;
  }

  function recompute() {
    setStatus('running');
    let ok = false;
    try {
      const pending = state.pendingError;
      state.pendingError = null;
      if (pending) throw pending;
      if (!state.model) throw new DemoInputError('no model loaded');
      const c = readControls();
      const input = modelInput(c, state.model.inputChannels, { audio: state.audio, audioError: state.audioError });
      const r = runModel(state.model, input, { audioSeconds: audioSecondsOf(c, state.model.inputChannels) });
      r.wav = c.signal === 'wav';
      state.result = r;
      api.lastRun = {
        modelName: state.model.name, source: state.source, input: r.input, output: r.output,
        quantizedOutput: r.quantizedOutput, timing: r.timing, realTimeFactor: r.realTimeFactor,
        audioSeconds: r.audioSeconds, nodes: r.trace.nodes, ops: r.trace.ops, traces: r.trace.traces,
      };
      clearError();
      showResult(r);
      ok = true;
    } catch (e) {
      // loadModel's and forward's TypeError/RangeError and the page's own
      // checks are shown; anything else is also a bug of this page.
      if (!(e instanceof TypeError || e instanceof RangeError || e instanceof DemoInputError)) console.error(e);
      showError(e);
    } finally {
      state.runs++;
      document.body.dataset.modelRuns = String(state.runs);
      setStatus(ok ? 'ready' : 'error');
    }
  }

  function scheduleRecompute() {
    setStatus('running');
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      state.timer = null;
      if (state.loaded) state.loaded.then(recompute, () => {});
    }, RECOMPUTE_DELAY_MS);
  }

  // ---- showing a run ----------------------------------------------------------

  function fillSelect(select, count) {
    const keep = Math.min(Number(select.value) || 0, Math.max(count - 1, 0));
    if (select.options.length !== count) {
      select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(String(i), String(i))));
    }
    select.value = String(keep);
  }

  function showResult(r) {
    const outShape = r.output.shape;
    $('model-output-shape').textContent = `[${outShape.join(', ')}]`;
    $('model-input-shape').textContent = `[${r.input.shape.join(', ')}]`;
    $('model-time-per-forward').textContent = formatMs(r.timing.ms);
    $('model-rtf').textContent = Number.isFinite(r.realTimeFactor) ? formatNumber(r.realTimeFactor, 3) : '–';
    const outLength = outShape[outShape.length - 1];
    const rate = (outLength / r.audioSeconds);
    $('model-rtf-basis').textContent = r.wav ? '× (the file\'s duration)' : `× (at ${ASSUMED_OUTPUT_RATE / 1000} kHz out)`;
    $('model-run-details').textContent = [
      `median of ${r.timing.samples} × ${r.timing.repeats} forward${r.timing.repeats > 1 ? 's' : ''}`,
      `${formatNumber(r.audioSeconds, 3)} s of audio out (${outLength} samples at ${formatNumber(rate, 5)} Hz)`,
      `${formatNumber((outLength / r.timing.ms) / 1000, 3)} M output samples/s`,
      `threads ${demo.info ? demo.info.threads : '?'}`,
    ].join('  ·  ');
    fillSelect($('model-plot-input-channel'), r.input.shape[1]);
    fillSelect($('model-plot-output-channel'), outShape[outShape.length - 2]);
    drawResult(r);
    showTrace(r.trace);
  }

  function drawResult(r) {
    if (!r) return;
    const [, C, L] = r.input.shape;
    const ic = Math.min(Number($('model-plot-input-channel').value) || 0, C - 1);
    const outShape = r.output.shape;
    const [Cout, outLength] = outShape.slice(-2);
    const oc = Math.min(Number($('model-plot-output-channel').value) || 0, Cout - 1);
    const outFloats = r.output.data instanceof Float32Array ? r.output.data : dequantize(r.output);
    const quantizedIn = r.quantizedInput || (r.quantizedInput = quantizedInputOf(r.input));
    drawChart($('model-plot-input'), [
      { label: `float input, channel ${ic}`, x: (i) => i, y: r.input.data.subarray(ic * L, (ic + 1) * L), color: '#94a3b8', width: 1, alpha: 0.9 },
      { label: 'as quantized', x: (i) => i, y: quantizedIn.subarray(ic * L, (ic + 1) * L), color: '#059669', width: 1.3, markers: 2.5, hollow: true },
    ], { xLabel: 'input time step', yLabel: 'value' });
    drawChart($('model-plot-output'), [
      { label: `output, channel ${oc}`, x: (i) => i, y: outFloats.subarray(oc * outLength, (oc + 1) * outLength), color: '#1d4ed8', width: 1.2, markers: 2 },
    ], { xLabel: 'output sample', yLabel: 'value' });
  }

  // The input as the model sees it: quantized with its input quantization
  // (round half to even, saturating) and dequantized, for the plot.
  function quantizedInputOf(input) {
    const { scale, zeroPoint } = state.model.inputQuantization;
    const inv = Math.fround(1 / Math.fround(scale));
    const out = new Float32Array(input.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = Math.fround(input.data[i] * inv);
      let r = Math.round(v);
      if (Math.abs(v % 1) === 0.5) r = 2 * Math.round(v / 2);
      const q = Math.min(255, Math.max(0, zeroPoint + r));
      out[i] = Math.fround(Math.fround(scale) * (q - zeroPoint));
    }
    return out;
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }
  function shareCell(share) {
    const td = cell('', 'num');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.round(share * 60)}px`;
    td.append(bar, `${(share * 100).toFixed(1)}%`);
    return td;
  }

  function showTrace(t) {
    const total = t.nodes.reduce((a, n) => a + n.ms, 0);
    $('model-trace-info').textContent = `Model.trace, mean over ${t.traces} traces; nodes sum to ${formatMs(total)} ms `
      + '(each node timed on its own; the slowest five are highlighted)';
    $('model-ops').tBodies[0].replaceChildren(...t.ops.map((o) => {
      const tr = document.createElement('tr');
      tr.append(cell(o.op), cell(String(o.count), 'num'), cell(formatMs(o.ms), 'num'), shareCell(o.share));
      return tr;
    }));
    const slowest = new Set([...t.nodes.keys()].sort((a, b) => t.nodes[b].ms - t.nodes[a].ms).slice(0, 5));
    $('model-nodes').tBodies[0].replaceChildren(...t.nodes.map((n, i) => {
      const tr = document.createElement('tr');
      if (slowest.has(i)) tr.className = 'slow';
      tr.append(cell(String(i), 'num'), cell(n.name, 'name'), cell(n.op), cell(n.shape ? `[${n.shape.join(', ')}]` : ''),
        cell(formatMs(n.ms), 'num'), shareCell(total > 0 ? n.ms / total : 0));
      return tr;
    }));
  }

  // ---- files ------------------------------------------------------------------

  async function loadFile(file) {
    if (!file) return;
    setStatus('running');
    try {
      await state.loaded;
    } catch {
      return;  // init() failed; already shown
    }
    useModelBytes(new Uint8Array(await file.arrayBuffer()), file.name);
    scheduleRecompute();
  }

  async function loadAudio(file) {
    if (!file) return;
    setStatus('running');
    const zone = $('model-drop-zone');
    const channels = state.model ? state.model.inputChannels : 1;
    try {
      const audio = await decodeAudioFile(file);
      if (audio.frames === 0) throw new Error('it has no samples');
      state.audio = { name: file.name, ...audio };
      state.audioError = null;
      const step = samplesPerStep(channels);
      const steps = Math.max(1, Math.min(Math.floor(audio.frames / step), Math.floor(MAX_MODEL_INPUT_VALUES / channels)));
      $('model-length').value = String(steps);
      $('model-audio-info').hidden = false;
      $('model-audio-info').textContent = `${file.name}: ${audio.channels.length} channel${audio.channels.length > 1 ? 's' : ''}, `
        + `${audio.sampleRate} Hz, ${(audio.frames / audio.sampleRate).toFixed(2)} s (${audio.frames} frames); `
        + `its first channel is read${step > 1 ? `, ${step} samples per input step` : ''}.`;
      zone.classList.add('loaded');
    } catch (e) {
      state.audio = null;
      state.audioError = `could not read ${file.name}: ${e.message}`;
      zone.classList.remove('loaded');
    }
    $('model-signal').value = 'wav';
    scheduleRecompute();
  }

  function takeFile(input) {
    const file = input.files[0];
    input.value = '';
    return file;
  }

  function wire() {
    const controls = $('model-controls');
    controls.addEventListener('submit', (event) => event.preventDefault());
    controls.addEventListener('change', (event) => {
      const id = event.target.id;
      if (id === 'model-file') loadFile(takeFile(event.target));
      else if (id === 'model-wav-file') loadAudio(takeFile(event.target));
      else scheduleRecompute();
    });
    $('model-example').addEventListener('click', () => {
      setStatus('running');
      state.loaded.then(loadExample).catch((e) => { state.pendingError = e; }).finally(scheduleRecompute);
    });
    const redraw = () => drawResult(state.result);
    $('model-plot-input-channel').addEventListener('change', redraw);
    $('model-plot-output-channel').addEventListener('change', redraw);
    let pending = false;
    new ResizeObserver(() => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        redraw();
      });
    }).observe($('model-plot-input'));
  }

  // Shows the mode; the first time, loads the bundled example and runs it.
  function open() {
    if (state.opened) return;
    state.opened = true;
    setStatus('loading');
    document.body.dataset.modelRuns = '0';
    wire();
    state.loaded = (async () => {
      await demo.ready;
      try {
        await loadExample();
      } catch (e) {
        state.pendingError = e;
      }
    })();
    api.ready = state.loaded.then(recompute, (e) => {
      showError(e);
      setStatus('error');
      throw e;
    });
    api.ready.catch(() => {});  // shown on the page
  }

  return { open, loadFile, loadAudio, isModelFile };
}
