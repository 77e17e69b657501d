// Type check: a streaming forward (module.stream()), as an AudioWorklet
// processor would drive it.
import { Conv1d, ConvTranspose1d } from 'qconv-wasm';
import type { ConvStream, QTensor } from 'qconv-wasm';

export function streamAll(m: Conv1d | ConvTranspose1d, chunks: QTensor[]): QTensor[] {
  const s: ConvStream = m.stream();
  const outs: QTensor[] = chunks.map((c) => s.push(c));
  outs.push(s.flush());
  const done: boolean = s.ended && !s.disposed;
  if (!done) s.dispose();
  // @ts-expect-error push takes a QTensor, not a bare Uint8Array
  s.push(new Uint8Array(128));
  return outs;
}
