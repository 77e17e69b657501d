// Runs a whole quantized model (a .qconv model file from tools/export_torch.py's
// export_model) on a WAV file and writes its output as a WAV file:
//
//   node examples/run-model.mjs model.qconv in.wav out.wav [--frames] [--runs=N]
//   node examples/run-model.mjs examples/example.qconv in.wav out.wav --frames
//
// in.wav: mono, 16-bit PCM or float (8/24/32-bit PCM and float64 also read);
// no resampling. Input: a model with one input channel reads the samples
// (shape [1, 1, n]). A model with C > 1 input channels (a vocoder's C mel
// bins) wants features this script does not compute; it stops and says so,
// unless --frames is given: then channel c of time step t is sample t·C + c
// (frames of C consecutive samples, shape [1, C, floor(n / C)]), a toy input
// that lets any model run on audio. The floats are quantized with the
// model's input quantization (as torch's QuantStub).
//
// out.wav: 16-bit PCM, one WAV channel per output channel, each sample
// Math.round(clamp(y, -1, 1) * 32767) of the model's dequantized output y
// (examples/wav.mjs, toInt16). Its rate is the input's rate times (output
// length / input length), counted in samples: in.wav's rate × Lout / (L × s),
// with s = 1, or C with --frames; rounded to an integer.
//
// Prints the model, the median time per forward over --runs forwards (default
// 10, after one warm-up) and the real-time factor: output audio seconds /
// compute seconds. One thread (init()'s default).
import fs from 'node:fs';
import { init, loadModel, dequantize } from 'qconv-wasm';
import { readWav, writeWav16 } from './wav.mjs';

const USAGE = 'usage: node examples/run-model.mjs model.qconv in.wav out.wav [--frames] [--runs=N]';

function fail(message, code = 1) {
  console.error(`run-model: ${message}`);
  process.exit(code);
}

function parseArgs(argv) {
  const files = [];
  const options = { frames: false, runs: 10 };
  for (const arg of argv) {
    let m;
    if (arg === '--frames') options.frames = true;
    else if ((m = /^--runs=(\d+)$/.exec(arg)) && Number(m[1]) >= 1) options.runs = Number(m[1]);
    else if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith('--')) fail(`unknown option ${arg}\n${USAGE}`, 2);
    else files.push(arg);
  }
  if (files.length !== 3) fail(USAGE, 2);
  return { modelPath: files[0], inPath: files[1], outPath: files[2], ...options };
}

function readFile(file, what) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    return fail(`cannot read the ${what} ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const args = parseArgs(process.argv.slice(2));
const info = await init();

let model;
try {
  model = loadModel(readFile(args.modelPath, 'model'));
} catch (e) {
  fail(`${args.modelPath}: ${e.message}`);
}
const C = model.inputChannels;
console.log(`model ${model.name || '(unnamed)'} from ${args.modelPath}: ${model.nodes.length} nodes, `
  + `${C} input channel${C > 1 ? 's' : ''} -> ${model.outputChannels} output channel${model.outputChannels > 1 ? 's' : ''}`);

let wav;
try {
  wav = readWav(readFile(args.inPath, 'input WAV file'));
} catch (e) {
  fail(`${args.inPath}: ${e.message}`);
}
if (wav.channels.length !== 1) {
  fail(`${args.inPath} has ${wav.channels.length} channels; this example reads mono files (mix it down first)`);
}
const samples = wav.channels[0];
console.log(`input ${args.inPath}: ${wav.format}, ${wav.sampleRate} Hz, ${wav.frames} samples (${(wav.frames / wav.sampleRate).toFixed(3)} s)`);

// The model's float input [1, C, L]; step = input samples per time step.
let input;
let step = 1;
if (C === 1) {
  input = { data: samples, shape: [1, 1, samples.length] };
} else if (args.frames) {
  step = C;
  const L = Math.floor(samples.length / C);
  const data = new Float32Array(C * L);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < L; t++) data[c * L + t] = samples[t * C + c];
  }
  input = { data, shape: [1, C, L] };
  console.log(`--frames: ${L} time steps of ${C} consecutive samples (${samples.length - C * L} left over)`);
} else {
  fail(`the model takes ${C} input channels (for a vocoder: a ${C}-bin mel spectrogram), not audio samples; `
    + 'this example feeds audio to one-channel models and does not compute features. '
    + `Run it with --frames to feed frames of ${C} consecutive samples instead (channel c of step t = sample t*${C} + c), `
    + 'a toy input to try the model on audio.', 2);
}
const L = input.shape[2];
if (L === 0) fail(`${args.inPath} has too few samples for one time step (${step})`);

let output;
try {
  output = model.forward(input);  // also the warm-up
} catch (e) {
  fail(`forward: ${e.message}`);
}
const times = [];
for (let r = 0; r < args.runs; r++) {
  const start = performance.now();
  model.forward(input);
  times.push(performance.now() - start);
}
const ms = median(times);

const y = model.dequantizesOutput ? output.data : dequantize(output);
const [, Cout, Lout] = output.shape;
const outRate = Math.round((wav.sampleRate * Lout) / (L * step));
if (!(outRate >= 1 && outRate < 2 ** 32)) fail(`the output rate ${outRate} Hz cannot be written in a WAV file`);
const channels = Array.from({ length: Cout }, (_, c) => y.subarray(c * Lout, (c + 1) * Lout));
fs.writeFileSync(args.outPath, writeWav16(channels, outRate));
const seconds = Lout / outRate;
console.log(`output ${args.outPath}: 16-bit PCM, ${Cout} channel${Cout > 1 ? 's' : ''}, ${outRate} Hz, ${Lout} samples (${seconds.toFixed(3)} s)`);
console.log(`time per forward: ${ms.toFixed(3)} ms (median of ${args.runs}, ${info.simd ? 'SIMD' : 'scalar'}, ${info.threads} thread${info.threads > 1 ? 's' : ''})`);
console.log(`real-time factor: ${(seconds / (ms / 1000)).toFixed(1)}x (audio seconds out / compute seconds)`);
model.dispose();
