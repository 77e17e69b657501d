// Float forwards of nn.ConvTranspose1d and nn.Conv1d, used to calibrate the
// output observer in fromFloat. Sums are kept in double and each output is
// rounded once to float32; torch sums in float32 in its own order, so an
// output can differ from torch's by float32 rounding (they are equal when
// every partial sum is a float32 value, e.g. small dyadic inputs).
//
// They hand each output row ([outLength] values of one batch item and one
// output channel, float32) to onRow instead of returning the whole output,
// so calibration needs memory for one row only.
//
// Pure functions, no imports: scripts/build-js.mjs inlines this file into
// dist/api.cjs.

// x: [n, inChannels, length] float32; weight [inChannels, outChannels/groups,
// K]; bias: outChannels values or null.
export function floatConvTranspose1d(x, n, length, weight, bias, g, onRow) {
  const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, outLength } = g;
  const inPerGroup = inChannels / groups;
  const outPerGroup = outChannels / groups;
  const acc = new Float64Array(outLength);
  const row = new Float32Array(outLength);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < outChannels; co++) {
      acc.fill(0);
      const group = Math.floor(co / outPerGroup);
      const j = co - group * outPerGroup;
      for (let ci = group * inPerGroup; ci < (group + 1) * inPerGroup; ci++) {
        const xRow = (b * inChannels + ci) * length;
        const wRow = (ci * outPerGroup + j) * kernelSize;
        for (let k = 0; k < kernelSize; k++) {
          const w = weight[wRow + k];
          const shift = k * dilation - padding;
          for (let i = 0; i < length; i++) {
            const o = i * stride + shift;
            if (o >= 0 && o < outLength) acc[o] += x[xRow + i] * w;
          }
        }
      }
      addBias(acc, bias === null ? 0 : bias[co], row);
      onRow(row);
    }
  }
}

// x: [n, inChannels, length]; weight [outChannels, inChannels/groups, K];
// paddingMode 'zeros' or 'reflect' (PyTorch's: no edge repeat, padding < length).
export function floatConv1d(x, n, length, weight, bias, g, onRow) {
  const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, outLength } = g;
  const inPerGroup = inChannels / groups;
  const outPerGroup = outChannels / groups;
  const reflect = g.paddingMode === 'reflect';
  const acc = new Float64Array(outLength);
  const row = new Float32Array(outLength);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < outChannels; co++) {
      acc.fill(0);
      const firstIn = Math.floor(co / outPerGroup) * inPerGroup;
      for (let i = 0; i < inPerGroup; i++) {
        const xRow = (b * inChannels + firstIn + i) * length;
        const wRow = (co * inPerGroup + i) * kernelSize;
        for (let k = 0; k < kernelSize; k++) {
          const w = weight[wRow + k];
          for (let o = 0; o < outLength; o++) {
            let t = o * stride + k * dilation - padding;
            if (reflect) {
              if (t < 0) t = -t;
              else if (t >= length) t = 2 * (length - 1) - t;
            } else if (t < 0 || t >= length) {
              continue;
            }
            acc[o] += x[xRow + t] * w;
          }
        }
      }
      addBias(acc, bias === null ? 0 : bias[co], row);
      onRow(row);
    }
  }
}

// One rounding to float32 per output: the float32 row.
function addBias(acc, bias, row) {
  for (let o = 0; o < acc.length; o++) row[o] = acc[o] + bias;
}
