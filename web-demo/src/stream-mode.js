// The "Streaming" mode (?mode=stream): a quantized low-pass FIR,
// Conv1d(1, 1, 31, padding 'same'), run over a signal (generated, or a WAV
// file) chunk by chunk inside an AudioWorklet (stream-worklet.js, one
// module.stream().push per 128-sample render quantum), played or rendered
// offline; the bytes the worklet streamed are compared with one forward
// over the whole signal on the page. Body attributes (data-stream-status:
// idle, running, equal, differ, error) and window.qconvDemo.stream are a
// contract with tests/browser/demo-stream.test.js (web-demo/README.md).
import { Conv1d, quantizePerTensor } from 'qconv-wasm';
import workletUrl from './stream-worklet.js?worker&url';
import { decodeAudioFile } from './wav.js';
import { seededRandom } from './signals.js';
import { $ } from './controls.js';

const WASM_URLS = {
  simd: new URL('../../dist/qconv-simd.wasm', import.meta.url).href,
  scalar: new URL('../../dist/qconv-scalar.wasm', import.meta.url).href,
};
const TAPS = 31;
const SAMPLE_RATE = 48000;
// Audio in [-1, 1] as quint8.
const AUDIO_SCALE = 2 / 255;
const AUDIO_ZERO_POINT = 128;

// A windowed-sinc (Hamming) low-pass, quantized to int8 per tensor.
function lowPassModule(cutoffHz, sampleRate) {
  const fc = Math.min(0.49, cutoffHz / sampleRate);
  const h = new Float64Array(TAPS);
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const n = i - (TAPS - 1) / 2;
    const sinc = n === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * n) / (Math.PI * n);
    h[i] = sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (TAPS - 1)));
    sum += h[i];
  }
  const peak = h.reduce((m, v) => Math.max(m, Math.abs(v / sum)), 0);
  const scale = peak / 127;
  const data = Int8Array.from(h, (v) => Math.round(v / sum / scale));
  const m = new Conv1d(1, 1, TAPS, { padding: 'same' });
  m.setWeightBias({ data, shape: [1, 1, TAPS], scale, zeroPoint: 0 }, new Float32Array(1));
  m.scale = AUDIO_SCALE;
  m.zeroPoint = AUDIO_ZERO_POINT;
  return m;
}

// Two seconds of a chirp (100 Hz to 12 kHz) plus a little noise.
function generatedSignal(sampleRate) {
  const length = 2 * sampleRate;
  const random = seededRandom(5);
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const t = i / sampleRate;
    const phase = 2 * Math.PI * (100 * t + ((12000 - 100) / 4) * t * t);
    x[i] = 0.6 * Math.sin(phase) + 0.2 * (random() * 2 - 1);
  }
  return x;
}

const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

export function createStreamMode(demo) {
  const state = { opened: false, audio: null, wasm: {}, runs: 0, busy: null };
  const api = { lastCheck: null, check: () => run(false), play: () => run(true) };
  demo.stream = api;
  const setStatus = (s) => { document.body.dataset.streamStatus = s; };

  async function wasmBytes(simd) {
    const key = simd ? 'simd' : 'scalar';
    if (!state.wasm[key]) {
      const response = await fetch(WASM_URLS[key]);
      if (!response.ok) throw new Error(`${WASM_URLS[key]}: HTTP ${response.status}`);
      state.wasm[key] = await response.arrayBuffer();
    }
    return state.wasm[key];
  }

  function signal() {
    if (state.audio) return { samples: state.audio.channels[0], sampleRate: state.audio.sampleRate, name: state.audio.name };
    return { samples: generatedSignal(SAMPLE_RATE), sampleRate: SAMPLE_RATE, name: 'chirp + noise (generated)' };
  }

  // One pass of the signal through the worklet: in an OfflineAudioContext
  // (play false: as fast as it renders) or an AudioContext (play true).
  async function run(play) {
    if (state.busy) await state.busy.catch(() => {});
    const task = runOnce(play);
    state.busy = task;
    return task;
  }

  async function runOnce(play) {
    setStatus('running');
    $('stream-error').textContent = '';
    let m = null;
    try {
      await demo.ready;
      const { samples, sampleRate, name } = signal();
      const cutoff = Number($('stream-cutoff').value);
      m = lowPassModule(cutoff, sampleRate);
      const input = quantizePerTensor(samples, [1, 1, samples.length], AUDIO_SCALE, AUDIO_ZERO_POINT);
      const whole = m.forward(input);
      const simd = demo.info.simd;
      const wasm = (await wasmBytes(simd)).slice(0);
      const frames = samples.length + 2 * 128;
      const context = play ? new AudioContext({ sampleRate }) : new OfflineAudioContext(1, frames, sampleRate);
      await context.audioWorklet.addModule(workletUrl);
      const node = new AudioWorkletNode(context, 'qconv-stream', {
        numberOfInputs: 0,
        outputChannelCount: [1],
        processorOptions: {
          wasm, simd, moduleBytes: m.save(), input: input.data, scale: AUDIO_SCALE, zeroPoint: AUDIO_ZERO_POINT,
          outputLength: whole.data.length,
        },
      });
      // The worklet's messages: 'ready', then 'done' (or 'error', which fails both).
      const waiting = {};
      const promised = (type) => new Promise((resolve, reject) => { waiting[type] = { resolve, reject }; });
      const ready = promised('ready');
      const done = promised('done');
      done.catch(() => {});
      node.port.onmessage = (e) => {
        if (e.data.type === 'error') {
          for (const w of Object.values(waiting)) w.reject(new Error(`AudioWorklet: ${e.data.message}`));
        } else if (waiting[e.data.type]) {
          waiting[e.data.type].resolve(e.data);
        }
      };
      await ready;
      node.connect(context.destination);
      let rendered = null;
      if (play) await context.resume();
      else rendered = await context.startRendering();
      const result = await done;
      if (play) setTimeout(() => context.close(), (frames / sampleRate) * 1000 + 500);
      const streamed = result.bytes.subarray(0, result.written);
      const equal = sameBytes(streamed, whole.data);
      api.lastCheck = {
        signal: name, sampleRate, cutoff, pushes: result.pushes, equal, played: play,
        input: input.data, moduleBytes: m.save(), streamed, whole: whole.data,
        rendered: rendered ? rendered.getChannelData(0).slice(0, whole.data.length) : null,
      };
      state.runs++;
      $('stream-result').textContent = `${name}, ${samples.length} samples at ${sampleRate} Hz: ` +
        `${result.pushes} pushes of 128 samples in the AudioWorklet, ${streamed.length} output bytes, ` +
        `${equal ? 'equal to' : 'DIFFERENT from'} one forward over the whole signal` +
        `${play ? ' (playing)' : ' (rendered offline)'}`;
      document.body.dataset.streamRuns = String(state.runs);
      setStatus(equal ? 'equal' : 'differ');
    } catch (e) {
      state.runs++;
      document.body.dataset.streamRuns = String(state.runs);
      $('stream-error').textContent = `${e.name}: ${e.message}`;
      setStatus('error');
    } finally {
      if (m) m.dispose();
    }
  }

  async function loadAudio(file) {
    try {
      const audio = await decodeAudioFile(file);
      state.audio = { ...audio, name: file.name };
      $('stream-signal-name').textContent = file.name;
    } catch (e) {
      $('stream-error').textContent = `${e.name}: ${e.message}`;
    }
  }

  return {
    open() {
      if (state.opened) return;
      state.opened = true;
      setStatus('idle');
      $('stream-check').addEventListener('click', () => { api.check(); });
      $('stream-play').addEventListener('click', () => { api.play(); });
      $('stream-file').addEventListener('change', (e) => { if (e.target.files[0]) loadAudio(e.target.files[0]); });
    },
    loadAudio,
  };
}
