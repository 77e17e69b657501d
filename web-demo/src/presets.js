// Presets: PyTorch's documentation examples, the benchmark shapes S1–S8
// (read from bench/shapes.json, so the page and `npm run bench` agree) and
// two small filters that show what the "from float" weights do.
import shapes from '../../bench/shapes.json';

const DEFAULTS = {
  module: 'ConvTranspose1d', stride: 1, padding: 0, outputPadding: 0, dilation: 1, groups: 1,
  bias: true, paddingMode: 'zeros', outputSize: '',
};

// The signal's cycles per input length: 3, but 1 for very short inputs,
// where 3 cycles would sample a sine only at its zeros.
const frequencyFor = (length) => (length <= 12 ? 1 : 3);

export const PRESETS = [
  {
    id: 'docs-seed',
    label: 'docs: ConvTranspose1d(16, 33, 3, stride=2) on [20, 16, 50]',
    params: { inChannels: 16, outChannels: 33, kernelSize: 3, stride: 2, batch: 20, length: 50 },
  },
  {
    // The second half of the docs' upsample example: h = downsample(x) is
    // [1, 16, 6]; upsample(h, output_size=x.size()) gives back [1, 16, 12].
    id: 'docs-upsample',
    label: 'docs: upsample(h [1, 16, 6], output_size=[1, 16, 12])',
    params: {
      inChannels: 16, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, batch: 1, length: 6,
      outputSize: '1, 16, 12',
    },
  },
  ...shapes.shapes.map((s) => ({
    id: s.id,
    label: `${s.id}: ${s.N}×${s.Cin}×${s.L} → ${s.Cout}, k${s.K} s${s.stride} · ${s.name}`,
    params: {
      inChannels: s.Cin, outChannels: s.Cout, kernelSize: s.K, stride: s.stride, padding: s.padding,
      outputPadding: s.outputPadding, dilation: s.dilation, groups: s.groups, batch: s.N, length: s.L,
    },
  })),
  {
    id: 'linear-upsampler',
    label: 'linear-interpolation upsampler ×4 (float filter)',
    params: { inChannels: 4, outChannels: 4, kernelSize: 8, stride: 4, padding: 2, batch: 2, length: 48 },
    weights: 'from-float',
  },
  {
    id: 'moving-average',
    label: 'Conv1d moving average, 9 taps, reflect padding (float filter)',
    params: {
      module: 'Conv1d', inChannels: 4, outChannels: 4, kernelSize: 9, padding: 4,
      paddingMode: 'reflect', batch: 2, length: 256,
    },
    weights: 'from-float',
  },
];

export const DEFAULT_PRESET = 'docs-seed';

// The full set of parameter values a preset stands for.
export function presetValues(preset) {
  const values = { ...DEFAULTS, ...preset.params };
  return { ...values, frequency: frequencyFor(values.length) };
}
