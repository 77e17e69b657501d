// A tiny WAV reader and writer for the examples (no dependencies).
//   readWav(bytes)  -> { sampleRate, channels: Float32Array[], frames, format }
//     PCM 8/16/24/32-bit or IEEE float 32/64, plain or WAVE_FORMAT_EXTENSIBLE;
//     samples scaled to [-1, 1): int16 s -> s / 32768 (8-bit: (u - 128) / 128).
//   writeWav16(channels, sampleRate) -> Buffer, 16-bit PCM, channels interleaved.
//   toInt16(v) -> the 16-bit sample writeWav16 stores for the float v:
//     Math.round(clamp(v, -1, 1) * 32767), NaN -> 0.

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export function readWav(bytes) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let fmt = null;
  let data = null;
  // Chunks: a 4-byte id, a little-endian size, the payload padded to an even size.
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new Error('WAV fmt chunk is truncated');
      let code = buf.readUInt16LE(body);
      if (code === FORMAT_EXTENSIBLE && size >= 26) code = buf.readUInt16LE(body + 24);
      fmt = {
        code, channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4),
        blockAlign: buf.readUInt16LE(body + 12), bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      // Streaming writers may leave the size at 0 or too large.
      data = { offset: body, size: Math.min(size || Infinity, buf.length - body) };
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new Error('WAV file has no fmt chunk');
  if (!data) throw new Error('WAV file has no data chunk');
  const { code, channels, bits, blockAlign } = fmt;
  const read = sampleReader(buf, code, bits);
  if (!read) throw new Error(`WAV format ${code} with ${bits}-bit samples is not supported (PCM 8/16/24/32 or float 32/64)`);
  if (channels < 1 || blockAlign < channels * (bits / 8)) throw new Error('WAV fmt chunk is inconsistent');
  if (!(fmt.sampleRate > 0)) throw new Error('WAV sample rate is 0');
  const frames = Math.floor(data.size / blockAlign);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let f = 0; f < frames; f++) {
    const frame = data.offset + f * blockAlign;
    for (let c = 0; c < channels; c++) out[c][f] = read(frame + c * (bits / 8));
  }
  return {
    sampleRate: fmt.sampleRate, channels: out, frames,
    format: `${code === FORMAT_FLOAT ? 'float' : 'PCM'} ${bits}-bit`,
  };
}

function sampleReader(buf, code, bits) {
  if (code === FORMAT_PCM) {
    if (bits === 8) return (at) => (buf.readUInt8(at) - 128) / 128;
    if (bits === 16) return (at) => buf.readInt16LE(at) / 32768;
    if (bits === 24) return (at) => buf.readIntLE(at, 3) / 8388608;
    if (bits === 32) return (at) => buf.readInt32LE(at) / 2147483648;
  } else if (code === FORMAT_FLOAT) {
    if (bits === 32) return (at) => buf.readFloatLE(at);
    if (bits === 64) return (at) => buf.readDoubleLE(at);
  }
  return null;
}

export function toInt16(v) {
  if (Number.isNaN(v)) return 0;
  return Math.round(Math.min(1, Math.max(-1, v)) * 32767);
}

// channels: arrays of floats (one per channel, same length); sampleRate: an
// integer in [1, 2^32).
export function writeWav16(channels, sampleRate) {
  const count = channels.length;
  const frames = count ? channels[0].length : 0;
  const data = Buffer.alloc(frames * count * 2);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < count; c++) data.writeInt16LE(toInt16(channels[c][f]), (f * count + c) * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(FORMAT_PCM, 20);
  header.writeUInt16LE(count, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * count * 2, 28);  // bytes per second
  header.writeUInt16LE(count * 2, 32);               // bytes per frame
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
