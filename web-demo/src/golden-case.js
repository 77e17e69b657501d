// Runs one PyTorch-generated golden case in a browser, as
// tests/js/golden-cases.js does under Node: construct with PyTorch's
// positional parameters, setWeightBias, scale, zeroPoint, forward(input,
// output_size). No bare imports (the library comes in as `q`), so the demo's
// self test and the browser tests' fixture page share this one copy.
export function decodeBase64(b64, Type) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Type(bytes.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
}

export function runGoldenCase(q, c) {
  const p = c.params;
  const m = c.module === 'ConvTranspose1d'
    ? new q.ConvTranspose1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.output_padding, p.groups, p.bias, p.dilation, p.padding_mode)
    : new q.Conv1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.dilation, p.groups, p.bias, p.padding_mode);
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
