// Type check: zero-copy running (bind, BoundRunner, forward's options.out).
import { init, ConvTranspose1d, Conv1d } from 'qconv-wasm';
import type { BoundRunner, QTensor } from 'qconv-wasm';

export async function runBound(): Promise<number> {
  await init();
  const m = new ConvTranspose1d(16, 16, 3, { stride: 2, padding: 1 });
  using runner: BoundRunner = m.bind([1, 16, 6], { scale: 0.02, zeroPoint: 128, outputSize: 12 });
  runner.input.fill(128);
  const y: Uint8Array = runner.run();
  const shape: readonly number[] = runner.outputShape;
  const out = new Uint8Array(y.length);
  const viaOut: QTensor = m.forward({ data: runner.input, shape: [1, 16, 6], scale: 0.02, zeroPoint: 128 }, { out, outputSize: [12] });
  const c = new Conv1d(4, 4, 3);
  const r2 = c.bind([4, 10], { scale: 1, zeroPoint: 0 });
  // @ts-expect-error a Conv1d runner takes no outputSize
  c.bind([4, 10], { scale: 1, zeroPoint: 0, outputSize: 8 });
  r2.dispose();
  return shape.length + viaOut.data.length + (runner.disposed ? 0 : 1);
}
