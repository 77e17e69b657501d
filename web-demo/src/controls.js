// The form's controls: reading them into the plain values runDemo takes,
// and setting them (presets, a loaded module, which fields apply).
import { PRESETS, DEFAULT_PRESET, presetValues } from './presets.js';

export const $ = (id) => document.getElementById(id);

const MODULE_PARAMS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'outputPadding',
  'dilation', 'groups', 'paddingMode', 'batch', 'length', 'outputSize'];
// Controls that define the module itself: editing one leaves a loaded .qconv
// module for generated weights.
const MODULE_DEFINITION = ['preset', 'module', 'bias', 'inChannels', 'outChannels', 'kernelSize', 'stride',
  'padding', 'outputPadding', 'dilation', 'groups', 'paddingMode'];

export const definesModule = (id) => MODULE_DEFINITION.includes(id);
export const isPresetParameter = (id) => MODULE_PARAMS.includes(id) || id === 'module' || id === 'bias';

// '' stays NaN, so the library names the bad value instead of seeing 0.
function numberOf(id) {
  const text = $(id).value.trim();
  return text === '' ? NaN : Number(text);
}

// #padding: a number, or a word ('same', 'valid') passed on as typed, so the
// library accepts it (Conv1d) or names it (ConvTranspose1d, other words).
function paddingOf(id) {
  const text = $(id).value.trim();
  if (text === '') return NaN;
  const n = Number(text);
  return Number.isNaN(n) ? text : n;
}

// "12", "[1, 16, 12]" or "1 16 12" -> numbers; empty -> null (none).
function parseOutputSize(text) {
  const trimmed = text.trim().replace(/^\[|\]$/g, '').trim();
  if (trimmed === '') return null;
  return trimmed.split(/[\s,]+/).filter(Boolean).map(Number);
}

export function readControls() {
  const module = $('module').value;
  const args = {
    inChannels: numberOf('inChannels'),
    outChannels: numberOf('outChannels'),
    kernelSize: numberOf('kernelSize'),
    stride: numberOf('stride'),
    padding: paddingOf('padding'),
    ...(module === 'ConvTranspose1d' ? { outputPadding: numberOf('outputPadding') } : {}),
    dilation: numberOf('dilation'),
    groups: numberOf('groups'),
    bias: $('bias').checked,
    paddingMode: $('paddingMode').value,
  };
  return {
    module,
    args,
    batch: numberOf('batch'),
    length: numberOf('length'),
    outputSize: module === 'ConvTranspose1d' ? parseOutputSize($('outputSize').value) : null,
    signal: $('signal').value,
    frequency: numberOf('frequency'),
    amplitude: numberOf('amplitude'),
    offset: numberOf('offset'),
    deriveInput: $('derive-input-qparams').checked,
    inputScale: numberOf('input-scale'),
    inputZeroPoint: numberOf('input-zero-point'),
    weights: $('weights').value,
    seed: numberOf('seed'),
    biasValues: $('bias-values').value,
    deriveOutput: $('derive-output-qparams').checked,
    outputScale: numberOf('output-scale'),
    outputZeroPoint: numberOf('output-zero-point'),
  };
}

export function fillPresetOptions() {
  $('preset').replaceChildren(
    ...PRESETS.map((p) => new Option(p.label, p.id)),
    new Option('custom (edited)', 'custom'),
  );
  $('preset').value = DEFAULT_PRESET;
  applyPreset(DEFAULT_PRESET);
}

export function applyPreset(id) {
  const preset = PRESETS.find((p) => p.id === id);
  if (!preset) return;
  const values = presetValues(preset);
  $('module').value = values.module;
  for (const name of MODULE_PARAMS) {
    if (name in values) $(name).value = String(values[name]);
  }
  $('bias').checked = values.bias;
  $('frequency').value = String(values.frequency);
  if (preset.weights) $('weights').value = preset.weights;
  $('preset').title = preset.label;
  updateModuleFields();
}

export function markPresetEdited() {
  $('preset').value = 'custom';
  $('preset').title = '';
}

// Fields the chosen module does not have are disabled (and ignored).
export function updateModuleFields() {
  const transpose = $('module').value === 'ConvTranspose1d';
  for (const label of document.querySelectorAll('.transpose-only')) {
    label.classList.toggle('not-applicable', !transpose);
    label.querySelector('input').disabled = !transpose;
  }
}

export function updateSignalFields() {
  const kind = $('signal').value;
  $('frequency').disabled = kind === 'noise' || kind === 'wav';
}

// The module controls set from a loaded module (readModuleFile's result).
export function setModuleControls({ module, fields, loaded }) {
  $('module').value = module;
  for (const [id, value] of Object.entries(fields)) $(id).value = String(value);
  $('bias').checked = loaded.bias !== null;
  $('outputSize').value = '';
  markPresetEdited();
  updateModuleFields();
}

// #weights shows "loaded file" while a loaded module is active; the output
// quantization and bias values then come from the file.
export function showLoadedState(loaded) {
  const option = $('weights').querySelector('option[value="loaded"]');
  option.disabled = !loaded;
  option.hidden = !loaded;
  option.title = loaded ? loaded.name : '';
  if (loaded) $('weights').value = 'loaded';
  for (const id of ['bias-values', 'derive-output-qparams', 'output-scale', 'output-zero-point']) {
    $(id).disabled = Boolean(loaded);
  }
  const info = $('module-file-info');
  info.hidden = !loaded;
  info.textContent = loaded ? `Running ${loaded.module} from ${loaded.name}; editing the module leaves it.` : '';
}
