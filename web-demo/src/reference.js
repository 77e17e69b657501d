// The float reference: plain float ConvTranspose1d / Conv1d (PyTorch's
// definitions) over the dequantized input, the dequantized weights and the
// float bias, accumulated in float64. The quantized output should sit within
// half an output quantum of it (rounding), unless it saturates.
//
// x: Float32Array [N, Cin, L]; w: Float32Array in PyTorch's layout;
// bias: Float32Array [Cout] or null; outLength from the module itself
// (so outputPadding / outputSize need no code here).

// out[n, oc, o] = bias[oc] + Σ x[n, ic, i] · w[ic, oc mod Cout/g, k]
// over the input channels ic of oc's group and o = i·stride − padding + k·dilation.
export function convTranspose1dReference(x, [N, Cin, L], w, bias, p, outLength) {
  const { outChannels: Cout, kernelSize: K, stride, padding, dilation, groups } = p;
  const inPerGroup = Cin / groups;
  const outPerGroup = Cout / groups;
  const out = new Float64Array(N * Cout * outLength);
  initBias(out, N, Cout, outLength, bias);
  for (let n = 0; n < N; n++) {
    for (let ic = 0; ic < Cin; ic++) {
      const xRow = x.subarray((n * Cin + ic) * L, (n * Cin + ic + 1) * L);
      const group = Math.floor(ic / inPerGroup);
      for (let j = 0; j < outPerGroup; j++) {
        const oc = group * outPerGroup + j;
        const outBase = (n * Cout + oc) * outLength;
        for (let k = 0; k < K; k++) {
          const wv = w[(ic * outPerGroup + j) * K + k];
          if (wv === 0) continue;
          const shift = k * dilation - padding;
          // The inputs i whose o = i·stride + shift lands inside [0, outLength).
          const iFirst = Math.max(0, Math.ceil(-shift / stride));
          const iLast = Math.min(L - 1, Math.floor((outLength - 1 - shift) / stride));
          for (let i = iFirst, o = outBase + iFirst * stride + shift; i <= iLast; i++, o += stride) {
            out[o] += wv * xRow[i];
          }
        }
      }
    }
  }
  return out;
}

// Conv1d's padding as [before, after]: an integer on both sides, 'valid'
// none, 'same' dilation·(K − 1) split with the larger half after the input
// (torch.nn.Conv1d's rule).
export function conv1dPaddingSides({ kernelSize: K, padding, dilation }) {
  if (padding === 'valid') return [0, 0];
  if (padding === 'same') {
    const total = dilation * (K - 1);
    const before = Math.floor(total / 2);
    return [before, total - before];
  }
  return [padding, padding];
}

// out[n, oc, o] = bias[oc] + Σ w[oc, ic mod Cin/g, k] · xPadded[n, ic, o·stride + k·dilation]
// with zeros or reflect padding of conv1dPaddingSides(p) before and after.
export function conv1dReference(x, [N, Cin, L], w, bias, p, outLength) {
  const { outChannels: Cout, kernelSize: K, stride, dilation, groups, paddingMode } = p;
  const [before, after] = conv1dPaddingSides(p);
  const inPerGroup = Cin / groups;
  const outPerGroup = Cout / groups;
  const out = new Float64Array(N * Cout * outLength);
  initBias(out, N, Cout, outLength, bias);
  const padded = new Float32Array(before + L + after);
  for (let n = 0; n < N; n++) {
    for (let ic = 0; ic < Cin; ic++) {
      const xRow = x.subarray((n * Cin + ic) * L, (n * Cin + ic + 1) * L);
      padRow(padded, xRow, before, after, paddingMode);
      const group = Math.floor(ic / inPerGroup);
      const icInGroup = ic - group * inPerGroup;
      for (let j = 0; j < outPerGroup; j++) {
        const oc = group * outPerGroup + j;
        const outBase = (n * Cout + oc) * outLength;
        for (let k = 0; k < K; k++) {
          const wv = w[(oc * inPerGroup + icInGroup) * K + k];
          if (wv === 0) continue;
          for (let o = 0, at = k * dilation; o < outLength; o++, at += stride) {
            out[outBase + o] += wv * padded[at];
          }
        }
      }
    }
  }
  return out;
}

function initBias(out, N, Cout, outLength, bias) {
  if (!bias) return;
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < Cout; oc++) {
      out.fill(bias[oc], (n * Cout + oc) * outLength, (n * Cout + oc + 1) * outLength);
    }
  }
}

// torch.nn.functional.pad(x, (before, after), mode): 'zeros' or 'reflect'
// (the edge sample is not repeated; the module checks each side < L).
function padRow(padded, row, before, after, mode) {
  const L = row.length;
  padded.set(row, before);
  for (let i = 1; i <= before; i++) padded[before - i] = mode === 'reflect' ? row[i] : 0;
  for (let i = 1; i <= after; i++) padded[before + L - 1 + i] = mode === 'reflect' ? row[L - 1 - i] : 0;
}

// Where output sample o sits on the input's sample axis: the input position
// under the centre of the kernel taps that produce it. Lines the curves up.
export function outputPositionOnInputAxis(module, p) {
  const { kernelSize: K, stride, padding, dilation } = p;
  const centre = ((K - 1) * dilation) / 2;
  if (module === 'ConvTranspose1d') return (o) => (o + padding - centre) / stride;
  const [before] = conv1dPaddingSides(p);
  return (o) => o * stride - before + centre;
}
