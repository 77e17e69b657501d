// Showing a run on the page: the numbers, the details line, the plots, the
// error box and the status.
import { $ } from './controls.js';
import { sourceChannel } from './weights.js';
import { outputPositionOnInputAxis } from './reference.js';
import { drawChart } from './plot.js';

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

function weightsDescription(r) {
  const w = r.weight;
  if (r.loaded) {
    return `From ${r.loaded.name}: its ${typeof w.scale === 'number' ? 'per-tensor' : 'per-channel'} qint8 weights, `
      + `${r.loaded.bias ? 'its bias' : 'no bias'} and its output scale and zero point.`;
  }
  if (r.c.weights !== 'from-float') return 'Uniform int8 in [−127, 127], std 1/√fan-in.';
  return r.c.module === 'ConvTranspose1d'
    ? 'Triangle (linear interpolation) per channel; symmetric qint8.'
    : `${r.params.kernelSize}-tap moving average per channel; symmetric qint8.`;
}

// r: runDemo's result.
export function showResult(r) {
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
  $('weights-info').textContent = weightsDescription(r);
  fillSelect($('plot-batch'), output.shape[0], (i) => String(i));
  fillSelect($('plot-channel'), output.shape[1], (i) => String(i));
  drawResult(r);
}

// The selected batch item and output channel, with the input channel that
// feeds it in the "from float" filters, on the input's sample axis.
export function drawResult(r) {
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

export function showError(e) {
  const box = $('error');
  box.replaceChildren();
  const kind = document.createElement('strong');
  kind.textContent = e.name === 'Input' ? 'Invalid input:' : `${e.name}:`;
  box.append(kind, ' ', e.message);
  box.hidden = false;
  $('result-panel').classList.add('stale');
}

export function clearError() {
  const box = $('error');
  box.hidden = true;
  box.replaceChildren();
  $('result-panel').classList.remove('stale');
}

export function setStatus(status, runs) {
  document.body.dataset.status = status;
  $('status-text').textContent = {
    loading: 'loading…',
    running: 'computing…',
    ready: `ready · ${runs} run${runs === 1 ? '' : 's'}`,
    error: 'invalid parameters',
  }[status];
}

export const flavourName = (info) => (info.simd ? 'SIMD' : 'scalar');

// The kernels and threads init() chose, and a link to the other flavour.
export function showEngine(info) {
  $('flavour').textContent = flavourName(info);
  $('threads').textContent = String(info.threads);
  const link = $('flavour-switch');
  link.href = info.simd ? '?simd=0' : '?';
  link.textContent = info.simd ? 'try the scalar flavour' : 'back to SIMD (auto)';
  link.title = `qconv-wasm ${info.version}, kernels: ${info.flavour}`;
}

// The self test's outcome ({ passed, total, failures }) and what ran it.
export function showSelfTestOutcome(outcome, info, seconds) {
  const result = $('self-test-result');
  result.textContent = `${outcome.passed} / ${outcome.total} passed`;
  result.classList.add(outcome.failures.length ? 'fail' : 'pass');
  $('self-test-detail').textContent = `PyTorch-generated golden cases (valid ones byte for byte, invalid ones rejected), `
    + `${flavourName(info)} kernels, ${seconds.toFixed(2)} s`;
  const failureList = $('self-test-failures');
  failureList.replaceChildren(...outcome.failures.map((f) => {
    const item = document.createElement('li');
    item.textContent = f;
    return item;
  }));
  failureList.hidden = outcome.failures.length === 0;
}
