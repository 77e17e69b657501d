// Audio files as input. WAV (PCM 8/16/24/32-bit, float 32/64, plain or
// WAVE_FORMAT_EXTENSIBLE) is parsed here, which needs no audio device and is
// exact; anything else the browser can decode (mp3, ogg, ...) goes through
// OfflineAudioContext.decodeAudioData. Returns
// { sampleRate, frames, channels: Float32Array[] } with samples in [-1, 1].

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

const tag = (view, at) => String.fromCharCode(
  view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));

export function parseWav(buffer) {
  const view = new DataView(buffer);
  if (view.byteLength < 12 || tag(view, 0) !== 'RIFF' || tag(view, 8) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let format = null;
  let data = null;
  // Chunks: 4-byte id, little-endian size, payload padded to an even size.
  for (let at = 12; at + 8 <= view.byteLength; ) {
    const id = tag(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      let code = view.getUint16(body, true);
      if (code === FORMAT_EXTENSIBLE && size >= 26) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      // Some writers leave the size at 0 or too large when streaming.
      data = { offset: body, size: Math.min(size || Infinity, view.byteLength - body) };
    }
    at = body + size + (size & 1);
  }
  if (!format || !data) throw new Error('WAV file without a fmt or data chunk');
  const { code, channels, bits, blockAlign } = format;
  const read = sampleReader(view, code, bits);
  if (!read) throw new Error(`WAV format ${code} with ${bits}-bit samples is not supported here`);
  if (channels < 1 || blockAlign < channels * (bits / 8)) throw new Error('WAV fmt chunk is inconsistent');
  const frames = Math.floor(data.size / blockAlign);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const bytes = bits / 8;
  for (let f = 0; f < frames; f++) {
    const frame = data.offset + f * blockAlign;
    for (let c = 0; c < channels; c++) out[c][f] = read(frame + c * bytes);
  }
  return { sampleRate: format.sampleRate, frames, channels: out };
}

function sampleReader(view, code, bits) {
  if (code === FORMAT_PCM) {
    if (bits === 8) return (at) => (view.getUint8(at) - 128) / 128;
    if (bits === 16) return (at) => view.getInt16(at, true) / 32768;
    if (bits === 24) {
      return (at) => ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608);
    }
    if (bits === 32) return (at) => view.getInt32(at, true) / 2147483648;
  } else if (code === FORMAT_FLOAT) {
    if (bits === 32) return (at) => view.getFloat32(at, true);
    if (bits === 64) return (at) => view.getFloat64(at, true);
  }
  return null;
}

export async function decodeAudioFile(file) {
  const buffer = await file.arrayBuffer();
  try {
    return parseWav(buffer);
  } catch (wavError) {
    // Not a WAV we parse: let the browser try (compressed formats).
    try {
      const context = new OfflineAudioContext(1, 1, 44100);
      const audio = await context.decodeAudioData(buffer.slice(0));
      const channels = Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
      return { sampleRate: audio.sampleRate, frames: audio.length, channels };
    } catch {
      throw wavError;
    }
  }
}
