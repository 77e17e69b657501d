// The self test: every PyTorch-generated golden case (tests/golden/
// cases_000.json, copied beside the page by the Vite build) run in this
// browser, as tests/js/golden-cases.js runs them under Node: construct with
// PyTorch's positional parameters, setWeightBias, set scale and zeroPoint,
// forward(input, output_size). Valid cases must match byte for byte; error
// cases must throw a TypeError or RangeError naming the module.
import { ConvTranspose1d, Conv1d } from 'qconv-wasm';

const GOLDEN_URL = new URL('golden/cases_000.json', document.baseURI);

function decodeBase64(b64, Type) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Type(bytes.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
}

function constructModule(c) {
  const p = c.params;
  return c.module === 'ConvTranspose1d'
    ? new ConvTranspose1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.output_padding, p.groups, p.bias, p.dilation, p.padding_mode)
    : new Conv1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.dilation, p.groups, p.bias, p.padding_mode);
}

function runCase(c) {
  const m = constructModule(c);
  try {
    const w = c.weight;
    const perChannel = w.qscheme === 'per_channel';
    m.setWeightBias({
      data: decodeBase64(w.data_b64, Int8Array),
      shape: w.shape,
      scale: perChannel ? w.scales : w.scales[0],
      zeroPoint: perChannel ? w.zero_points : w.zero_points[0],
    }, c.bias ? decodeBase64(c.bias.data_b64, Float32Array) : null);
    m.scale = c.output_scale;
    m.zeroPoint = c.output_zero_point;
    const input = {
      data: decodeBase64(c.input.data_b64, Uint8Array),
      shape: c.input.shape,
      scale: c.input.scale,
      zeroPoint: c.input.zero_point,
    };
    return c.output_size ? m.forward(input, c.output_size) : m.forward(input);
  } finally {
    m.dispose();
  }
}

// null when the case passes, else why it failed.
function checkCase(c) {
  if (c.expected_error) {
    try {
      runCase(c);
    } catch (e) {
      if ((e instanceof TypeError || e instanceof RangeError) && /^(ConvTranspose1d|Conv1d)/.test(e.message)) {
        return null;
      }
      return `threw ${e.name}: ${e.message} (expected a TypeError or RangeError from the module)`;
    }
    return `was accepted; expected an error (${c.error_category})`;
  }
  let out;
  try {
    out = runCase(c);
  } catch (e) {
    return `threw ${e.name}: ${e.message}`;
  }
  const expected = decodeBase64(c.expected.data_b64, Uint8Array);
  if (out.shape.join() !== c.expected.shape.join()) {
    return `shape [${out.shape}] instead of [${c.expected.shape}]`;
  }
  for (let i = 0; i < expected.length; i++) {
    if (out.data[i] !== expected[i]) return `byte ${i} is ${out.data[i]}, PyTorch's is ${expected[i]}`;
  }
  return null;
}

export async function runGoldenCases() {
  const response = await fetch(GOLDEN_URL);
  if (!response.ok) throw new Error(`could not load ${GOLDEN_URL.pathname}: HTTP ${response.status}`);
  const doc = await response.json();
  const failures = [];
  for (const c of doc.cases) {
    const why = checkCase(c);
    if (why) failures.push(`${c.id}: ${why}`);
  }
  return { passed: doc.cases.length - failures.length, total: doc.cases.length, failures };
}
