// Input signals: synthetic ones, or the samples of a decoded audio file,
// laid out as the module's [N, C, L] float input.

// mulberry32, so the same seed gives the same page. An ES module twin of
// tools/mulberry32.cjs (the Node tests' and the bench's): the Vite dev server
// serves files outside node_modules unconverted, so the page cannot import
// the CommonJS one, and Jest on Node 20 cannot require an ES module.
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Each generator maps the position t in [0, 1) along the input (frequency f
// in cycles per input length) and a per-row phase to a value in [-1, 1].
const GENERATORS = {
  sine: (t, f, phase) => Math.sin(2 * Math.PI * f * t + phase),
  // The instantaneous frequency sweeps from 0 to 2f cycles per input length.
  chirp: (t, f, phase) => Math.sin(2 * Math.PI * f * t * t + phase),
  square: (t, f, phase) => (Math.sin(2 * Math.PI * f * t + phase) >= 0 ? 1 : -1),
};

export const SIGNAL_KINDS = ['sine', 'chirp', 'noise', 'impulses', 'square', 'wav'];

// Fills [batch, channels, length]. Rows differ so the channel and batch
// selectors show something new: channel c is phase-shifted by 2πc/C, batch
// item n runs (1 + n/N) times faster; noise rows are independent.
export function synthesize({ kind, batch, channels, length, frequency, amplitude, offset, seed }) {
  const values = new Float32Array(batch * channels * length);
  const random = seededRandom(seed ^ 0x5eed);
  for (let n = 0; n < batch; n++) {
    const f = frequency * (1 + n / Math.max(batch, 1));
    for (let c = 0; c < channels; c++) {
      const row = values.subarray((n * channels + c) * length, (n * channels + c + 1) * length);
      const phase = (2 * Math.PI * c) / Math.max(channels, 1);
      if (kind === 'noise') {
        for (let i = 0; i < length; i++) row[i] = offset + amplitude * (2 * random() - 1);
      } else if (kind === 'impulses') {
        // f impulses per input length, shifted by the channel's phase.
        const period = Math.max(1, Math.round(length / Math.max(f, 1e-9)));
        const shift = Math.round((phase / (2 * Math.PI)) * period);
        for (let i = 0; i < length; i++) row[i] = offset + ((i + shift) % period === 0 ? amplitude : 0);
      } else {
        const generate = GENERATORS[kind];
        for (let i = 0; i < length; i++) row[i] = offset + amplitude * generate(i / length, f, phase);
      }
    }
  }
  return values;
}

// Audio as input: channel c takes the file's channel c mod (its channels);
// batch item n takes frames [n·L, (n+1)·L), zeros past the end.
export function fromAudio(audio, { batch, channels, length, amplitude, offset }) {
  const values = new Float32Array(batch * channels * length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const source = audio.channels[c % audio.channels.length];
      const row = values.subarray((n * channels + c) * length, (n * channels + c + 1) * length);
      const start = n * length;
      for (let i = 0; i < length; i++) {
        const at = start + i;
        row[i] = offset + amplitude * (at < source.length ? source[at] : 0);
      }
    }
  }
  return values;
}
