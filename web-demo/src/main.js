// The demo page's entry: wires the controls to runs (run.js, DOM-free), shows
// them (view.js), loads audio and .qconv files (module-file.js), runs the
// self test, and starts the library. It imports qconv-wasm by its package
// name, as a user would. The element ids, body data attributes and
// window.qconvDemo are a contract with the browser tests (web-demo/README.md).
import { init } from 'qconv-wasm';
import { decodeAudioFile } from './wav.js';
import { runDemo, DemoInputError } from './run.js';
import { moduleBytes, readModuleFile, downloadBytes, acceptDroppedFiles } from './module-file.js';
import {
  $, readControls, fillPresetOptions, applyPreset, markPresetEdited, updateModuleFields, updateSignalFields,
  setModuleControls, showLoadedState, definesModule, isPresetParameter,
} from './controls.js';
import {
  showResult, drawResult, showError, clearError, setStatus, showEngine, showSelfTestOutcome,
} from './view.js';
import { runGoldenCases } from './self-test.js';
import { createModelMode, isModelFile } from './model-mode.js';
import { createStreamMode } from './stream-mode.js';

const RECOMPUTE_DELAY_MS = 150;
const MAX_AUDIO_LENGTH = 8192;

const state = {
  runs: 0,
  audio: null,          // { name, sampleRate, frames, channels } once a file is loaded
  audioError: null,     // why the last file could not be read
  result: null,         // the last successful run, for redrawing
  timer: null,
  loaded: null,         // readModuleFile's `loaded` while a .qconv module is active
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
// The Model mode (model-mode.js) adds demo.model.
const modelMode = createModelMode(demo);
// The Streaming mode (stream-mode.js) adds demo.stream.
const streamMode = createStreamMode(demo);

const showStatus = (status) => setStatus(status, state.runs);

// ---- runs -------------------------------------------------------------------------

function recompute() {
  showStatus('running');
  let ok = false;
  try {
    const pending = state.pendingError;
    state.pendingError = null;
    if (pending) throw pending;
    state.result = runDemo(readControls(), { audio: state.audio, audioError: state.audioError, loaded: state.loaded });
    demo.lastRun = state.result.lastRun;
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
    showStatus(ok ? 'ready' : 'error');
    $('save-module').disabled = !ok;
  }
}

function scheduleRecompute() {
  showStatus('running');
  clearTimeout(state.timer);
  state.timer = setTimeout(() => {
    state.timer = null;
    // Before init() resolves there is nothing to run yet; the first run
    // (after init) reads the controls as they are then.
    if (demo.info) recompute();
  }, RECOMPUTE_DELAY_MS);
}

// ---- files ------------------------------------------------------------------------

async function loadAudio(file) {
  if (!file) return;
  showStatus('running');
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

// Downloads the last successful run's module as <module>.qconv.
function saveModule() {
  const run = demo.lastRun;
  if (!run) return;
  let bytes;
  try {
    bytes = moduleBytes(run);
  } catch (e) {
    showError(e);
    return;
  }
  downloadBytes(bytes, `${run.module}.qconv`);
}

// Sets the module controls from a .qconv file and runs it with its own
// weights, bias and output quantization. A file the library rejects shows
// its error (the page keeps what it had).
async function loadModuleFile(file) {
  if (!file) return;
  showStatus('running');
  try {
    await demo.ready;
  } catch {
    return;  // init() failed; already shown
  }
  try {
    const read = readModuleFile(new Uint8Array(await file.arrayBuffer()), file.name);
    if (!state.loaded) state.weightsBeforeLoad = $('weights').value;
    state.loaded = read.loaded;
    setModuleControls(read);
    showLoadedState(state.loaded);
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
  showLoadedState(null);
}

// The file inputs' files, taken before the input is cleared (choosing the
// same file again then fires change again).
function takeFile(input) {
  const file = input.files[0];
  input.value = '';
  return file;
}

// ---- controls ---------------------------------------------------------------------

function onControlChange(event) {
  const id = event.target.id;
  if (id === 'wav-file') {
    loadAudio(takeFile(event.target));
    return;
  }
  if (id === 'load-module') {
    loadModuleFile(takeFile(event.target));
    return;
  }
  if (state.loaded && (definesModule(id) || (id === 'weights' && event.target.value !== 'loaded'))) {
    unloadModule(id === 'weights');
  }
  if (id === 'preset') applyPreset($('preset').value);
  else if (isPresetParameter(id)) markPresetEdited();
  if (id === 'module') updateModuleFields();
  if (id === 'signal') updateSignalFields();
  // Typing a scale or zero point means "use these", not "derive".
  if (id === 'input-scale' || id === 'input-zero-point') $('derive-input-qparams').checked = false;
  if (id === 'output-scale' || id === 'output-zero-point') $('derive-output-qparams').checked = false;
  scheduleRecompute();
}

function wireControls() {
  fillPresetOptions();
  const controls = $('controls');
  controls.addEventListener('submit', (event) => event.preventDefault());
  controls.addEventListener('change', onControlChange);

  // Plot selectors only redraw.
  const redraw = () => drawResult(state.result);
  $('plot-batch').addEventListener('change', redraw);
  $('plot-channel').addEventListener('change', redraw);

  acceptDroppedFiles($('drop-zone'), { onModuleFile: routeQconvFile, onAudioFile: routeAudioFile });
  $('mode-module').addEventListener('click', () => showMode('module'));
  $('mode-model').addEventListener('click', () => showMode('model'));
  $('mode-stream').addEventListener('click', () => showMode('stream'));
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
      redraw();
    });
  }).observe($('plot-signal'));

  $('weights').value = 'from-float';
  updateSignalFields();
}

// ---- modes -----------------------------------------------------------------------

// 'module' (the module demo above) or 'model' (model-mode.js). ?mode=model
// opens the page on the Model mode; switching updates the URL in place.
function showMode(mode) {
  const model = mode === 'model';
  const stream = mode === 'stream';
  document.body.dataset.mode = model ? 'model' : stream ? 'stream' : 'module';
  $('module-mode').hidden = model || stream;
  $('model-mode').hidden = !model;
  $('stream-mode').hidden = !stream;
  $('mode-module').setAttribute('aria-selected', String(!model && !stream));
  $('mode-model').setAttribute('aria-selected', String(model));
  $('mode-stream').setAttribute('aria-selected', String(stream));
  const url = new URL(window.location.href);
  if (model || stream) url.searchParams.set('mode', mode);
  else url.searchParams.delete('mode');
  window.history.replaceState(null, '', url);
  if (model) modelMode.open();
  if (stream) streamMode.open();
}

// Files dropped on the page: in the Model mode a .qconv is a model file and
// anything else audio for the model; in the Module mode a .qconv that is a
// model file (magic QCONVMDL) switches to the Model mode and loads there.
async function routeQconvFile(file) {
  if (!file) return;
  if (document.body.dataset.mode !== 'model') {
    const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
    if (!isModelFile(head)) {
      loadModuleFile(file);
      return;
    }
    showMode('model');
  }
  modelMode.loadFile(file);
}

function routeAudioFile(file) {
  if (document.body.dataset.mode === 'model') modelMode.loadAudio(file);
  else loadAudio(file);
}

// ---- self test --------------------------------------------------------------------

async function runSelfTest() {
  await demo.ready;
  const button = $('self-test');
  const result = $('self-test-result');
  button.disabled = true;
  result.className = 'self-test-result';
  result.textContent = 'running…';
  $('self-test-failures').hidden = true;
  try {
    const start = performance.now();
    const outcome = await runGoldenCases();
    showSelfTestOutcome(outcome, demo.info, (performance.now() - start) / 1000);
    return outcome;
  } catch (e) {
    result.textContent = `self test could not run: ${e.message}`;
    result.classList.add('fail');
    throw e;
  } finally {
    button.disabled = false;
  }
}

// ---- start ------------------------------------------------------------------------

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
    showStatus('error');
    throw e;
  }
  showEngine(demo.info);
  recompute();
})();
demo.ready.catch(() => {});  // shown on the page; callers awaiting ready still see it
const startMode = new URLSearchParams(window.location.search).get('mode');
showMode(['model', 'stream'].includes(startMode) ? startMode : 'module');
