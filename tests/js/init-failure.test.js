'use strict';
// A failed init() in Node: it rejects with an Error naming what failed, the
// process is not kept alive by what the failed init started (the threaded
// flavour's pool workers), and init() can be called again. Each case runs in
// a child process, which must end by itself: a process that hangs is killed
// by spawnSync's timeout and the test fails.
const { spawnSync } = require('child_process');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');

// Conv1d(1, 1, 2), weight [1, 2] at scale 1, no bias; input [1, 2, 3, 4]
// (scale 1, zero point 0); output scale 1, zero point 10. By hand:
// y[i] = x[i] + 2 x[i+1] + 10 = [1+4, 2+6, 3+8] + 10 = [15, 18, 21].
const FORWARD = `
  function forward(q) {
    const m = new q.Conv1d(1, 1, 2, { bias: false });
    m.setWeightBias({ data: new Int8Array([1, 2]), scale: 1, zeroPoint: 0 }, null);
    m.scale = 1;
    m.zeroPoint = 10;
    return Array.from(m.forward({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 1, 4], scale: 1, zeroPoint: 0 }).data);
  }`;

// Runs `body` (which may await and must print one JSON line) in a child
// Node; returns the parsed line, the exit status and how long it took.
function runChild(body, timeoutMs = 15000) {
  const script = `
    const q = require(${JSON.stringify(ROOT)});
    ${FORWARD}
    (async () => { ${body} })().catch((e) => { console.log(JSON.stringify({ unexpected: String(e && e.stack || e) })); });`;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: timeoutMs });
  return { child, ms: Date.now() - started };
}

describe('a failed threaded init', () => {
  test('numThreads 2 with a wasmBinary of 16 zero bytes rejects naming wasmBinary, and Node then exits by itself', () => {
    const { child, ms } = runChild(`
      const t0 = Date.now();
      let error = null;
      await q.init({ numThreads: 2, wasmBinary: new Uint8Array(16) }).catch((e) => { error = e; });
      console.log(JSON.stringify({ name: error && error.name, message: error && error.message, ms: Date.now() - t0 }));`);
    // spawnSync reports ETIMEDOUT and a signal when it had to kill the child.
    expect(child.error).toBeUndefined();
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(ms).toBeLessThan(10000);
    const result = JSON.parse(child.stdout);
    expect(result.name).toBe('Error');
    expect(result.message).toMatch(/^init: wasmBinary /);
    expect(result.ms).toBeLessThan(5000);
  });

  test('after that rejection, init({ numThreads: 1 }) in the same process works and a forward gives the bytes derived by hand', () => {
    const { child } = runChild(`
      const first = await q.init({ numThreads: 2, wasmBinary: new Uint8Array(16) }).then(() => 'resolved', (e) => e.message);
      const info = await q.init({ numThreads: 1 });
      console.log(JSON.stringify({ first, threads: info.threads, flavour: info.flavour, y: forward(q) }));`);
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout);
    expect(result.first).toMatch(/^init: wasmBinary /);
    expect(result).toMatchObject({ threads: 1, flavour: 'wasmsimd', y: [15, 18, 21] });
  });
});
