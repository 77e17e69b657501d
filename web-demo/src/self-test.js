// The self test: every PyTorch-generated golden case (tests/golden/
// cases_000.json, copied beside the page by the Vite build) run in this
// browser, as tests/js/golden-cases.js runs them under Node: construct with
// PyTorch's positional parameters, setWeightBias, set scale and zeroPoint,
// forward(input, output_size). Valid cases must match byte for byte; error
// cases must throw a TypeError or RangeError naming the module.
import * as qconv from 'qconv-wasm';
import { decodeBase64, runGoldenCase } from './golden-case.js';

const GOLDEN_URL = new URL('golden/cases_000.json', document.baseURI);
const runCase = (c) => runGoldenCase(qconv, c);

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
