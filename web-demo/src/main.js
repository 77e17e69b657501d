// The demo page: reads the controls, builds the module with qconv-wasm's
// public API (imported by its package name, as a user would), runs it on a
// quantized signal, and compares it with a float reference computed here.
// The element ids, body data attributes and window.qconvDemo are a contract
// with the browser tests (web-demo/README.md).
import { init, ConvTranspose1d, Conv1d, quantizePerTensor, dequantize } from 'qconv-wasm';
import { PRESETS, DEFAULT_PRESET, presetValues } from './presets.js';
import { synthesize, fromAudio } from './signals.js';
import { decodeAudioFile } from './wav.js';
import { affineQuint8Params, rangeOf, dequantizeWeight } from './quantization.js';
import { randomWeights, floatFilterWeights, makeBias, sourceChannel } from './weights.js';
import { convTranspose1dReference, conv1dReference, outputPositionOnInputAxis } from './reference.js';
import { drawChart } from './plot.js';
import { runGoldenCases } from './self-test.js';

const RECOMPUTE_DELAY_MS = 150;
// Limits that keep the page responsive (the float reference runs in JS).
const MAX_INPUT_VALUES = 1 << 23;
const MAX_REFERENCE_MACS = 1.5e9;
const MAX_AUDIO_LENGTH = 8192;

const $ = (id) => document.getElementById(id);
const controls = $('controls');
const MODULE_PARAMS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'outputPadding',
  'dilation', 'groups', 'paddingMode', 'batch', 'length', 'outputSize'];
// Controls that define the module itself: editing one leaves a loaded .qconv
// module for generated weights.
const MODULE_DEFINITION = ['preset', 'module', 'bias', 'inChannels', 'outChannels', 'kernelSize', 'stride',
  'padding', 'outputPadding', 'dilation', 'groups', 'paddingMode'];

// Errors of this page's own checks (the library's are TypeError/RangeError).
class DemoInputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'Input';
  }
}

const state = {
  runs: 0,
  audio: null,          // { name, sampleRate, frames, channels } once a file is loaded
  audioError: null,     // why the last file could not be read
  result: null,         // the last successful run, for redrawing
  timer: null,
  loaded: null,         // { name, module, weight, bias, scale, zeroPoint } while a .qconv module is active
  weightsBeforeLoad: null,  // #weights' value before the file was loaded
  pendingError: null,   // shown by the next recompute (a .qconv file that could not be loaded)
};

const demo = {
  ready: null,
  info: null,
  lastRun: null,
  runSelfTest,
};
window.qconvDemo = demo;

// ---- reading the controls ---------------------------------------------------

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

function readControls() {
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

function requireCount(value, what, min) {
  if (!Number.isInteger(value) || value < min) {
    throw new DemoInputError(`${what} must be an integer >= ${min}, got ${value}`);
  }
}

// ---- one run ----------------------------------------------------------------

function inputFloats(c, channels) {
  const shape = { batch: c.batch, channels, length: c.length, amplitude: c.amplitude, offset: c.offset };
  if (!Number.isFinite(c.amplitude) || !Number.isFinite(c.offset)) {
    throw new DemoInputError(`signal: amplitude and offset must be numbers, got ${c.amplitude} and ${c.offset}`);
  }
  if (c.signal === 'wav') {
    if (state.audioError) throw new DemoInputError(state.audioError);
    if (!state.audio) {
      throw new DemoInputError('signal: no audio file loaded yet; drop a WAV file on the drop zone or choose one');
    }
    return fromAudio(state.audio, shape);
  }
  if (!Number.isFinite(c.frequency) || c.frequency < 0) {
    throw new DemoInputError(`signal: frequency must be a number >= 0, got ${c.frequency}`);
  }
  return synthesize({ ...shape, kind: c.signal, frequency: c.frequency, seed: seedOf(c) });
}

function seedOf(c) {
  if (!Number.isInteger(c.seed)) throw new DemoInputError(`seed must be an integer, got ${c.seed}`);
  return c.seed;
}

// Median time of one forward: batches of forwards long enough for the
// browser's coarse clock (0.1 ms), fewer samples when a forward is slow.
function timeForwards(forward) {
  // Warm-up: V8 first runs wasm with its baseline compiler and tiers hot
  // functions up in the background; measure the optimized code.
  for (const start = performance.now(); performance.now() - start < 30; ) forward();
  let repeats = 1;
  let elapsed;
  for (;;) {
    const start = performance.now();
    for (let r = 0; r < repeats; r++) forward();
    elapsed = performance.now() - start;
    if (elapsed >= 3 || repeats >= 1 << 14) break;
    repeats *= 4;
  }
  const sampleCount = elapsed > 60 ? 3 : 7;
  const samples = [elapsed / repeats];
  for (let s = 1; s < sampleCount; s++) {
    const start = performance.now();
    for (let r = 0; r < repeats; r++) forward();
    samples.push((performance.now() - start) / repeats);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[samples.length >> 1], samples: sampleCount, repeats };
}

function runOnce(c) {
  const { inChannels, outChannels, kernelSize, ...options } = c.args;
  const Module = c.module === 'ConvTranspose1d' ? ConvTranspose1d : Conv1d;
  // Constructing validates every module parameter (the library's messages).
  const m = new Module(inChannels, outChannels, kernelSize, options);
  try {
    requireCount(c.batch, 'batch N', 0);
    requireCount(c.length, 'length L', 0);
    const inputShape = [c.batch, inChannels, c.length];
    if (c.batch * inChannels * c.length > MAX_INPUT_VALUES) {
      throw new DemoInputError(`input [${inputShape.join(', ')}] has more than ${MAX_INPUT_VALUES} values; the demo stops there`);
    }
    const outLength = c.module === 'ConvTranspose1d'
      ? m.outputLength(c.length, c.outputSize ?? undefined)
      : m.outputLength(c.length);
    const macs = c.batch * inChannels * (outChannels / m.groups) * kernelSize * c.length;
    const referenceMacs = c.module === 'ConvTranspose1d'
      ? macs : c.batch * outChannels * (inChannels / m.groups) * kernelSize * outLength;
    if (referenceMacs > MAX_REFERENCE_MACS) {
      throw new DemoInputError(`the float reference would need ${(referenceMacs / 1e9).toFixed(1)} GMAC in JavaScript; the demo stops at ${MAX_REFERENCE_MACS / 1e9}`);
    }

    // Input: a float signal, quantized like torch.quantize_per_tensor.
    const floats = inputFloats(c, inChannels);
    const inputQ = c.deriveInput ? affineQuint8Params(rangeOf(floats))
      : { scale: c.inputScale, zeroPoint: c.inputZeroPoint };
    const input = quantizePerTensor(floats, inputShape, inputQ.scale, inputQ.zeroPoint);

    // Weights and bias.
    const params = {
      inChannels, outChannels, kernelSize, stride: m.stride, padding: m.padding,
      dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode,
    };
    // A loaded .qconv module: its own weights and bias (the controls were set
    // from its geometry, and editing them leaves it).
    const loaded = state.loaded;
    let weight;
    let bias;
    if (loaded) {
      ({ weight, bias } = loaded);
    } else {
      weight = c.weights === 'from-float' ? floatFilterWeights(c.module, params)
        : randomWeights(c.module, params, seedOf(c));
      bias = c.args.bias ? makeBias(c.biasValues, outChannels, seedOf(c)) : null;
    }
    m.setWeightBias(weight, bias);

    // The float reference over exactly what the module computes with.
    const inputDequantized = dequantize(input);
    const weightDequantized = dequantizeWeight(c.module, weight, params);
    const reference = (c.module === 'ConvTranspose1d' ? convTranspose1dReference : conv1dReference)(
      inputDequantized, inputShape, weightDequantized, bias, params, outLength);

    const outputQ = loaded ? { scale: loaded.scale, zeroPoint: loaded.zeroPoint }
      : c.deriveOutput ? affineQuint8Params(rangeOf(reference))
        : { scale: c.outputScale, zeroPoint: c.outputZeroPoint };
    m.scale = outputQ.scale;
    m.zeroPoint = outputQ.zeroPoint;

    let output = c.outputSize ? m.forward(input, c.outputSize) : m.forward(input);
    const timing = timeForwards(() => {
      output = c.outputSize ? m.forward(input, c.outputSize) : m.forward(input);
    });

    // Error in output quanta, and how many outputs hit 0 or 255.
    const outputDequantized = dequantize(output);
    const error = new Float32Array(reference.length);
    let maxError = 0;
    let sumError = 0;
    let saturated = 0;
    for (let i = 0; i < error.length; i++) {
      const e = (outputDequantized[i] - reference[i]) / output.scale;
      error[i] = e;
      const a = Math.abs(e);
      if (a > maxError) maxError = a;
      sumError += a;
      if (a > 0.5 + 1e-3 && (output.data[i] === 0 || output.data[i] === 255)) saturated++;
    }

    demo.lastRun = {
      module: c.module,
      args: c.args,
      weight,
      bias,
      outputScale: outputQ.scale,
      outputZeroPoint: outputQ.zeroPoint,
      input,
      outputSize: c.outputSize,
      output,
    };
    return {
      c, params, input, output, weight, inputDequantized, reference, outputDequantized, error,
      maxError, meanError: error.length ? sumError / error.length : 0, saturated, timing, macs,
      inputQ, outputQ, loaded,
    };
  } finally {
    m.dispose();
  }
}

// ---- showing a run ----------------------------------------------------------

const formatNumber = (v, digits = 4) => (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : '–');

function formatMs(ms) {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(2);
  return String(Number(ms.toPrecision(2)));
}

function showQuantizationFields(prefix, q, derived) {
  const scale = $(`${prefix}-scale`);
  const zeroPoint = $(`${prefix}-zero-point`);
  scale.classList.toggle('derived', derived);
  zeroPoint.classList.toggle('derived', derived);
  if (derived) {
    scale.value = String(q.scale);
    zeroPoint.value = String(q.zeroPoint);
  }
}

function fillSelect(select, count, label) {
  const keep = Math.min(Number(select.value) || 0, Math.max(count - 1, 0));
  if (select.options.length !== count) {
    select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(label(i), String(i))));
  }
  select.value = String(keep);
  select.disabled = count === 0;
}

function showResult(r) {
  const { c, output, timing } = r;
  $('output-shape').textContent = `[${output.shape.join(', ')}]`;
  $('max-error').textContent = formatNumber(r.maxError);
  $('mean-error').textContent = formatNumber(r.meanError);
  $('time-per-forward').textContent = formatMs(timing.ms);
  $('gmacs').textContent = timing.ms > 0 && r.macs > 0 ? formatNumber(r.macs / (timing.ms * 1e6), 3) : '–';
  const w = r.weight;
  $('run-details').textContent = [
    `${(r.macs / 1e6).toPrecision(3)} M MACs per forward`,
    `median of ${timing.samples} × ${timing.repeats} forward${timing.repeats > 1 ? 's' : ''}`,
    `input scale ${formatNumber(r.inputQ.scale)}, zero point ${r.inputQ.zeroPoint}`,
    typeof w.scale === 'number' ? `weight scale ${formatNumber(w.scale)} (int8, zero point ${w.zeroPoint})`
      : `weight per channel (int8, ${w.scale.length} scales)`,
    `output scale ${formatNumber(r.outputQ.scale)}, zero point ${r.outputQ.zeroPoint}`,
    ...(r.saturated ? [`${r.saturated} outputs saturated at 0 or 255`] : []),
  ].join('  ·  ');
  showQuantizationFields('input', r.inputQ, c.deriveInput);
  showQuantizationFields('output', r.outputQ, c.deriveOutput || Boolean(r.loaded));
  $('weights-info').textContent = r.loaded
    ? `From ${r.loaded.name}: its ${typeof w.scale === 'number' ? 'per-tensor' : 'per-channel'} qint8 weights, `
      + `${r.loaded.bias ? 'its bias' : 'no bias'} and its output scale and zero point.`
    : c.weights === 'from-float'
    ? (c.module === 'ConvTranspose1d'
      ? 'Triangle (linear interpolation) per channel; symmetric qint8.'
      : `${r.params.kernelSize}-tap moving average per channel; symmetric qint8.`)
    : 'Uniform int8 in [−127, 127], std 1/√fan-in.';
  fillSelect($('plot-batch'), output.shape[0], (i) => String(i));
  fillSelect($('plot-channel'), output.shape[1], (i) => String(i));
  draw();
}

// The selected batch item and output channel, with the input channel that
// feeds it in the "from float" filters, on the input's sample axis.
function draw() {
  const r = state.result;
  if (!r) return;
  const [N, Cout, outLength] = r.output.shape;
  const [, Cin, L] = r.input.shape;
  const n = Math.min(Number($('plot-batch').value) || 0, Math.max(N - 1, 0));
  const oc = Math.min(Number($('plot-channel').value) || 0, Math.max(Cout - 1, 0));
  const ic = sourceChannel(oc, r.params);
  const empty = N === 0;
  const row = (a, channels, channel, len) => (empty ? new Float32Array(0)
    : a.subarray((n * channels + channel) * len, (n * channels + channel + 1) * len));
  const outputAt = outputPositionOnInputAxis(r.c.module, r.params);
  const inputAt = (i) => i;
  const sparse = outLength <= 64;

  drawChart($('plot-signal'), [
    { label: `input, channel ${ic}`, x: inputAt, y: row(r.inputDequantized, Cin, ic, L), color: '#059669', width: 1, alpha: 0.9, markers: 3.5, hollow: true },
    { label: 'float reference', x: outputAt, y: row(r.reference, Cout, oc, outLength), color: '#f59e0b', width: sparse ? 8 : 6, alpha: 0.45 },
    { label: `quantized output, channel ${oc}`, x: outputAt, y: row(r.outputDequantized, Cout, oc, outLength), color: '#1d4ed8', width: 1.5, markers: 2.2 },
  ], {
    xLabel: 'input sample index (each output placed under the centre of its kernel taps)',
    yLabel: 'value',
    emptyText: 'empty batch (N = 0): nothing to plot',
  });
  // Symmetric, at least ±1 quantum, so ±0.5 always sits at the same place.
  const errorRow = row(r.error, Cout, oc, outLength);
  let errorLimit = 1;
  for (let i = 0; i < errorRow.length; i++) errorLimit = Math.max(errorLimit, Math.abs(errorRow[i]) * 1.1);
  drawChart($('plot-error'), [
    { label: 'error (quanta)', x: outputAt, y: errorRow, color: '#dc2626', width: 1.2, stems: true, markers: 2 },
  ], {
    xLabel: 'input sample index',
    yLabel: 'quanta',
    yRange: [-errorLimit, errorLimit],
    // ±0.5 is what rounding alone gives; hidden when saturation dwarfs it.
    guides: errorLimit > 20 ? [] : [
      { y: 0.5, label: '+0.5', color: '#64748b' },
      { y: -0.5, label: '−0.5', color: '#64748b' },
    ],
    emptyText: 'empty batch (N = 0): nothing to plot',
  });
}

function showError(e) {
  const box = $('error');
  box.replaceChildren();
  const kind = document.createElement('strong');
  kind.textContent = e.name === 'Input' ? 'Invalid input:' : `${e.name}:`;
  box.append(kind, ' ', e.message);
  box.hidden = false;
  $('result-panel').classList.add('stale');
}

function clearError() {
  const box = $('error');
  box.hidden = true;
  box.replaceChildren();
  $('result-panel').classList.remove('stale');
}

function setStatus(status) {
  document.body.dataset.status = status;
  $('status-text').textContent = {
    loading: 'loading…',
    running: 'computing…',
    ready: `ready · ${state.runs} run${state.runs === 1 ? '' : 's'}`,
    error: 'invalid parameters',
  }[status];
}

function recompute() {
  setStatus('running');
  let ok = false;
  try {
    const pending = state.pendingError;
    state.pendingError = null;
    if (pending) throw pending;
    state.result = runOnce(readControls());
    clearError();
    showResult(state.result);
    ok = true;
  } catch (e) {
    // The library's TypeError/RangeError and the page's own checks are the
    // user's to fix; anything else is a bug of this page, worth a log line.
    if (!(e instanceof TypeError || e instanceof RangeError || e instanceof DemoInputError)) console.error(e);
    showError(e);
  } finally {
    state.runs++;
    document.body.dataset.runs = String(state.runs);
    setStatus(ok ? 'ready' : 'error');
    $('save-module').disabled = !ok;
  }
}

function scheduleRecompute() {
  setStatus('running');
  clearTimeout(state.timer);
  state.timer = setTimeout(() => {
    state.timer = null;
    // Before init() resolves there is nothing to run yet; the first run
    // (after init) reads the controls as they are then.
    if (demo.info) recompute();
  }, RECOMPUTE_DELAY_MS);
}

// ---- controls -----------------------------------------------------------------

function applyPreset(id) {
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

function markPresetEdited() {
  $('preset').value = 'custom';
  $('preset').title = '';
}

// Fields the chosen module does not have are disabled (and ignored).
function updateModuleFields() {
  const transpose = $('module').value === 'ConvTranspose1d';
  for (const label of document.querySelectorAll('.transpose-only')) {
    label.classList.toggle('not-applicable', !transpose);
    label.querySelector('input').disabled = !transpose;
  }
}

function updateSignalFields() {
  const kind = $('signal').value;
  $('frequency').disabled = kind === 'noise' || kind === 'wav';
}

async function loadAudio(file) {
  if (!file) return;
  setStatus('running');
  const zone = $('drop-zone');
  try {
    const audio = await decodeAudioFile(file);
    if (audio.frames === 0) throw new Error('it has no samples');
    state.audio = { name: file.name, ...audio };
    state.audioError = null;
    $('length').value = String(Math.min(audio.frames, MAX_AUDIO_LENGTH));
    markPresetEdited();
    $('audio-info').hidden = false;
    $('audio-info').textContent = `${file.name}: ${audio.channels.length} channel${audio.channels.length > 1 ? 's' : ''}, `
      + `${audio.sampleRate} Hz, ${(audio.frames / audio.sampleRate).toFixed(2)} s (${audio.frames} frames). `
      + 'Channel c reads the file\'s channel c mod its channels; batch item n reads frames [n·L, (n+1)·L).';
    zone.classList.add('loaded');
  } catch (e) {
    state.audio = null;
    state.audioError = `could not read ${file.name}: ${e.message}`;
    zone.classList.remove('loaded');
  }
  $('signal').value = 'wav';
  updateSignalFields();
  scheduleRecompute();
}

// ---- saving and loading a module (.qconv, docs/FORMAT.md) ------------------------

// The last successful run's module as bytes (m.save()), with the input's
// quantization stored as its inputQuantization, downloaded as <module>.qconv.
function saveModule() {
  const run = demo.lastRun;
  if (!run) return;
  const Module = run.module === 'ConvTranspose1d' ? ConvTranspose1d : Conv1d;
  const { inChannels, outChannels, kernelSize, ...options } = run.args;
  let bytes;
  try {
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
      bytes = m.save();
    } finally {
      m.dispose();
    }
  } catch (e) {
    showError(e);
    return;
  }
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${run.module}.qconv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Loads a .qconv file with the load() of the kind stored at byte 10 (0 =
// Conv1d, 1 = ConvTranspose1d), sets the module controls from the module and
// runs it with its own weights, bias and output quantization. A file the
// library rejects shows its error (the page keeps what it had).
async function loadModuleFile(file) {
  if (!file) return;
  setStatus('running');
  try {
    await demo.ready;
  } catch {
    return;  // init() failed; already shown
  }
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const Module = bytes[10] === 1 ? ConvTranspose1d : Conv1d;
    const module = Module === ConvTranspose1d ? 'ConvTranspose1d' : 'Conv1d';
    const m = Module.load(bytes);
    try {
      const w = m.weight();
      const fields = {
        inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: m.kernelSize, stride: m.stride,
        padding: m.padding, dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode,
        ...(module === 'ConvTranspose1d' ? { outputPadding: m.outputPadding } : {}),
      };
      if (!state.loaded) state.weightsBeforeLoad = $('weights').value;
      state.loaded = {
        name: file.name,
        module,
        weight: { data: w.data, scale: w.scale, zeroPoint: w.zeroPoint },
        bias: m.bias(),
        scale: m.scale,
        zeroPoint: m.zeroPoint,
      };
      $('module').value = module;
      for (const [id, value] of Object.entries(fields)) $(id).value = String(value);
      $('bias').checked = m.bias() !== null;
      $('outputSize').value = '';
    } finally {
      m.dispose();
    }
    markPresetEdited();
    updateModuleFields();
    showLoadedState();
  } catch (e) {
    state.pendingError = e;
  }
  scheduleRecompute();
}

// Leaves a loaded module for generated weights: #weights back to what it
// was (or to the value just chosen there).
function unloadModule(keepWeightsChoice) {
  if (!state.loaded) return;
  state.loaded = null;
  if (!keepWeightsChoice) $('weights').value = state.weightsBeforeLoad || 'from-float';
  showLoadedState();
}

// #weights shows "loaded file" while a loaded module is active; the output
// quantization and bias values then come from the file.
function showLoadedState() {
  const loaded = state.loaded;
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

function wireControls() {
  const presetSelect = $('preset');
  presetSelect.replaceChildren(
    ...PRESETS.map((p) => new Option(p.label, p.id)),
    new Option('custom (edited)', 'custom'),
  );

  controls.addEventListener('submit', (event) => event.preventDefault());
  controls.addEventListener('change', (event) => {
    const id = event.target.id;
    if (id === 'wav-file') {
      const file = event.target.files[0];
      event.target.value = '';  // choosing the same file again fires change again
      loadAudio(file);
      return;
    }
    if (id === 'load-module') {
      const file = event.target.files[0];
      event.target.value = '';
      loadModuleFile(file);
      return;
    }
    if (state.loaded && (MODULE_DEFINITION.includes(id) || (id === 'weights' && event.target.value !== 'loaded'))) {
      unloadModule(id === 'weights');
    }
    if (id === 'preset') applyPreset(presetSelect.value);
    else if (MODULE_PARAMS.includes(id) || id === 'module' || id === 'bias') markPresetEdited();
    if (id === 'module') updateModuleFields();
    if (id === 'signal') updateSignalFields();
    // Typing a scale or zero point means "use these", not "derive".
    if (id === 'input-scale' || id === 'input-zero-point') $('derive-input-qparams').checked = false;
    if (id === 'output-scale' || id === 'output-zero-point') $('derive-output-qparams').checked = false;
    scheduleRecompute();
  });

  // Plot selectors only redraw.
  $('plot-batch').addEventListener('change', draw);
  $('plot-channel').addEventListener('change', draw);

  // Audio files dropped anywhere on the page (never opened by the browser).
  const zone = $('drop-zone');
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
    if (file && /\.qconv$/i.test(file.name)) loadModuleFile(file);
    else loadAudio(file);
  });

  $('save-module').addEventListener('click', saveModule);

  $('self-test').addEventListener('click', () => {
    runSelfTest().catch(() => {});  // shown in #self-test-result
  });

  // Redraw (not recompute) when the canvases change size.
  let pending = false;
  new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  }).observe($('plot-signal'));

  presetSelect.value = DEFAULT_PRESET;
  applyPreset(DEFAULT_PRESET);
  $('weights').value = 'from-float';
  updateSignalFields();
}

// ---- self test ------------------------------------------------------------------

async function runSelfTest() {
  await demo.ready;
  const button = $('self-test');
  const result = $('self-test-result');
  const failureList = $('self-test-failures');
  button.disabled = true;
  result.className = 'self-test-result';
  result.textContent = 'running…';
  failureList.hidden = true;
  try {
    const start = performance.now();
    const outcome = await runGoldenCases();
    const seconds = (performance.now() - start) / 1000;
    result.textContent = `${outcome.passed} / ${outcome.total} passed`;
    result.classList.add(outcome.failures.length ? 'fail' : 'pass');
    $('self-test-detail').textContent = `PyTorch-generated golden cases (valid ones byte for byte, invalid ones rejected), `
      + `${flavourName(demo.info)} kernels, ${seconds.toFixed(2)} s`;
    failureList.replaceChildren(...outcome.failures.map((f) => {
      const item = document.createElement('li');
      item.textContent = f;
      return item;
    }));
    failureList.hidden = outcome.failures.length === 0;
    return outcome;
  } catch (e) {
    result.textContent = `self test could not run: ${e.message}`;
    result.classList.add('fail');
    throw e;
  } finally {
    button.disabled = false;
  }
}

// ---- start ----------------------------------------------------------------------

const flavourName = (info) => (info.simd ? 'SIMD' : 'scalar');

// ?simd=0 forces the scalar flavour, ?simd=1 insists on SIMD; default: auto.
// ?threads=N asks for N threads; by default a cross-origin-isolated page
// (npm start serves it with COOP/COEP) uses every core, up to 8, and any
// other page one thread (the threaded flavour needs SharedArrayBuffer).
function initOptionsFromUrl() {
  const params = new URLSearchParams(window.location.search);
  const simd = params.get('simd');
  const options = {};
  if (simd === '0' || simd === 'false') options.simd = false;
  if (simd === '1' || simd === 'true') options.simd = true;
  if (params.has('threads')) {
    options.numThreads = Number(params.get('threads'));
  } else if (options.simd !== false && self.crossOriginIsolated) {
    options.numThreads = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));
  }
  return options;
}

wireControls();
demo.ready = (async () => {
  try {
    demo.info = await init(initOptionsFromUrl());
  } catch (e) {
    showError(e);
    setStatus('error');
    throw e;
  }
  $('flavour').textContent = flavourName(demo.info);
  $('threads').textContent = String(demo.info.threads);
  const link = $('flavour-switch');
  link.href = demo.info.simd ? '?simd=0' : '?';
  link.textContent = demo.info.simd ? 'try the scalar flavour' : 'back to SIMD (auto)';
  link.title = `qconv-wasm ${demo.info.version}, kernels: ${demo.info.flavour}`;
  recompute();
})();
demo.ready.catch(() => {});  // shown on the page; callers awaiting ready still see it
