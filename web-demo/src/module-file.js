// Module files (.qconv, docs/FORMAT.md) and files dropped on the page:
// the bytes of the last run's module, reading a module back, downloads, and
// drag & drop.
import { moduleClass } from './run.js';

export const isModuleFileName = (name) => /\.qconv$/i.test(name);

// The module of a run (runDemo's lastRun) as m.save() bytes, with the
// input's quantization stored as its inputQuantization.
export function moduleBytes(run) {
  const Module = moduleClass(run.module);
  const { inChannels, outChannels, kernelSize, ...options } = run.args;
  const m = new Module(inChannels, outChannels, kernelSize, options);
  try {
    m.setWeightBias(run.weight, run.bias);
    m.scale = run.outputScale;
    m.zeroPoint = run.outputZeroPoint;
    try {
      m.inputQuantization = { scale: run.input.scale, zeroPoint: run.input.zeroPoint };
    } catch {
      // A typed input scale the module will not store (e.g. subnormal): saved without it.
    }
    return m.save();
  } finally {
    m.dispose();
  }
}

// Reads .qconv bytes with the load() of the kind stored at byte 10 (0 =
// Conv1d, 1 = ConvTranspose1d). Returns the module's name, the control
// values of its geometry and what a run takes from it (`loaded`: weights,
// bias, output quantization). Throws the library's error for a bad file.
export function readModuleFile(bytes, fileName) {
  const module = bytes[10] === 1 ? 'ConvTranspose1d' : 'Conv1d';
  const m = moduleClass(module).load(bytes);
  try {
    const w = m.weight();
    const bias = m.bias();
    const fields = {
      inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: m.kernelSize, stride: m.stride,
      padding: m.padding, dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode,
      ...(module === 'ConvTranspose1d' ? { outputPadding: m.outputPadding } : {}),
    };
    const loaded = {
      name: fileName,
      module,
      weight: { data: w.data, scale: w.scale, zeroPoint: w.zeroPoint },
      bias,
      scale: m.scale,
      zeroPoint: m.zeroPoint,
    };
    return { module, fields, loaded };
  } finally {
    m.dispose();
  }
}

// Offers bytes as a download named fileName.
export function downloadBytes(bytes, fileName) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Files dropped anywhere on the page (never opened by the browser): .qconv
// files go to onModuleFile, anything else to onAudioFile. `zone` shows the drag.
export function acceptDroppedFiles(zone, { onModuleFile, onAudioFile }) {
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) zone.classList.remove('dragging');
  });
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file && isModuleFileName(file.name)) onModuleFile(file);
    else onAudioFile(file);
  });
}
