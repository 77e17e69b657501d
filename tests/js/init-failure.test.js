'use strict';
// A failed init() in Node: it rejects with an Error naming what failed, the
// process is not kept alive by what the failed init started (the threaded
// flavour's pool workers), and init() can be called again. Each case runs in
// a child process, which must end by itself: a process that hangs is killed
// by spawnSync's timeout and the test fails.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { renameFirstImport, EMPTY_MODULE, TINY_MODULE } = require('./wasm-bytes');

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

// Runs `body` (which may await and prints one JSON line) in a child Node
// with `input` on its stdin; returns spawnSync's result and how long it took.
function runChild(body, { timeoutMs = 15000, input = '' } = {}) {
  const script = `
    const q = require(${JSON.stringify(ROOT)});
    ${FORWARD}
    (async () => { ${body} })().catch((e) => { console.log(JSON.stringify({ unexpected: String(e && e.stack || e) })); });`;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: timeoutMs, input });
  return { child, ms: Date.now() - started };
}

describe('a failed threaded init', () => {
  test('the threads\' worker script is missing: a rejection naming it, not a crash of the process; one thread then works', () => {
    // A copy of the package (js/ and dist/) without dist/qconv-simd-mt.worker.cjs.
    const copy = fs.mkdtempSync(path.join(require('os').tmpdir(), 'qconv-no-worker-'));
    try {
      for (const dir of ['js', 'dist']) fs.cpSync(path.join(ROOT, dir), path.join(copy, dir), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
      fs.rmSync(path.join(copy, 'dist', 'qconv-simd-mt.worker.cjs'));
      const script = `
        const q = require(${JSON.stringify(copy)});
        ${FORWARD}
        (async () => {
          const first = await q.init({ numThreads: 2 }).then(() => 'resolved', (e) => e.message);
          const info = await q.init({ numThreads: 1 });
          console.log(JSON.stringify({ first, threads: info.threads, y: forward(q) }));
        })();`;
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15000 });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const result = JSON.parse(child.stdout);
      expect(result.first).toBe(`qconv-wasm: the threads' worker script ${path.join(copy, 'dist', 'qconv-simd-mt.worker.cjs')} ` +
        "is missing; build the package with 'npm run build', or call init({ numThreads: 1 })");
      expect(result.threads).toBe(1);
      expect(result.y).toEqual([15, 18, 21]);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

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

  test('numThreads 2 with a module the glue cannot link (its pool workers already started) rejects, and Node exits by itself', () => {
    const input = Buffer.from(renameFirstImport(fs.readFileSync(path.join(ROOT, 'dist', 'qconv-simd-mt.wasm')))).toString('base64');
    const { child, ms } = runChild(`
      const wasmBinary = Buffer.from(require('fs').readFileSync(0, 'utf8'), 'base64');
      const t0 = Date.now();
      const message = await q.init({ numThreads: 2, wasmBinary }).then(() => 'resolved', (e) => e.message);
      console.log(JSON.stringify({ message, ms: Date.now() - t0 }));`, { input });
    expect(child.error).toBeUndefined();
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(child.stderr).toBe('');
    expect(ms).toBeLessThan(10000);
    const result = JSON.parse(child.stdout);
    expect(result.message).toMatch(/^init: wasmBinary could not be started by the threaded glue \(LinkError: /);
    expect(result.ms).toBeLessThan(5000);
  });
});

// ---- init({ wasmBinary }) with bytes that are not our module ---------------

const DIST = path.join(ROOT, 'dist');

describe('init({ wasmBinary }) with a value that is not bytes: a TypeError naming wasmBinary', () => {
  const q = require(ROOT);
  const simdBytes = fs.readFileSync(path.join(DIST, 'qconv-simd.wasm'));
  test.each([
    ['a DataView over the real module', () => new DataView(simdBytes.buffer, simdBytes.byteOffset, simdBytes.length), 'a DataView'],
    ['an Int8Array', () => new Int8Array(8), 'an Int8Array'],
    ['a Uint16Array', () => new Uint16Array(8), 'a Uint16Array'],
    ['a SharedArrayBuffer', () => new SharedArrayBuffer(8), 'a SharedArrayBuffer'],
    ['an array of numbers', () => [0, 97, 115, 109, 1, 0, 0, 0], '[0, 97, 115, 109, 1, 0, 0, 0]'],
    ['a string', () => '\0asm', '"\\u0000asm"'],
    ['null', () => null, 'null'],
    ['an object with byteLength and length', () => ({ byteLength: 8, length: 8 }), 'an object'],
    ['an object inheriting from ArrayBuffer.prototype', () => Object.create(ArrayBuffer.prototype), 'an object that only looks like an ArrayBuffer'],
    ['an object inheriting from Uint8Array.prototype', () => Object.create(Uint8Array.prototype), 'an object'],
  ])('%s', async (_, make, shown) => {
    const p = q.init({ wasmBinary: make() });
    await expect(p).rejects.toThrow(TypeError);
    await expect(p).rejects.toThrow(`init: wasmBinary must be an ArrayBuffer or a Uint8Array (a Node Buffer is one), got ${shown}`);
  });
});

test('a Uint8Array view into a larger buffer is read by its real bytes, whatever its own length properties say', async () => {
  const { child } = runChild(`
    const fs = require('fs');
    const file = fs.readFileSync(${JSON.stringify(path.join(DIST, 'qconv-simd.wasm'))});
    const buffer = new ArrayBuffer(file.length + 16);
    const view = new Uint8Array(buffer, 7, file.length);
    view.set(file);
    new Uint8Array(buffer).fill(0xff, 0, 7);
    for (const name of ['length', 'byteLength', 'byteOffset']) Object.defineProperty(view, name, { value: 3 });
    const info = await q.init({ wasmBinary: view });
    console.log(JSON.stringify({ flavour: info.flavour, y: forward(q) }));`);
  expect(child.stderr).toBe('');
  expect(JSON.parse(child.stdout)).toEqual({ flavour: 'wasmsimd', y: [15, 18, 21] });
});

describe('init({ wasmBinary }) with bytes that are not our module: an Error saying which, nothing on the console, and init works afterwards', () => {
  const read = (flavour) => [...fs.readFileSync(path.join(DIST, `qconv-${flavour}.wasm`))];
  const simd = read('simd');
  const cases = [
    // [what, init options (wasmBinary as a byte array), the message]
    ['16 zero bytes', { wasmBinary: Array(16).fill(0) },
      /^init: wasmBinary is not WebAssembly: its 16 bytes start with 00 00 00 00 00 00 00 00, not the magic number 00 61 73 6d \("\\0asm"\); pass the bytes of qconv-simd\.wasm$/],
    ['no bytes', { wasmBinary: [] }, /^init: wasmBinary is empty \(0 bytes/],
    ['an HTML page', { wasmBinary: [...Buffer.from('<!doctype html><title>404</title>')] },
      /^init: wasmBinary is not WebAssembly: its 33 bytes start with 3c 21 64 6f 63 74 79 70 \("<!doctyp"\)/],
    ['the SIMD module cut in half', { wasmBinary: simd.slice(0, simd.length >> 1) },
      new RegExp(`^init: wasmBinary \\(${simd.length >> 1} bytes\\) does not compile in this WebAssembly engine \\(.+\\): truncated or corrupt bytes, or a module built for features this engine lacks; pass the bytes of qconv-simd\\.wasm$`)],
    ['the empty module', { wasmBinary: EMPTY_MODULE },
      /^init: wasmBinary is a WebAssembly module but not qconv-wasm's \(it exports no memory, no function table and no function, and imports no function\); pass the bytes of qconv-simd\.wasm$/],
    ['a tiny module exporting one function', { wasmBinary: TINY_MODULE },
      /^init: wasmBinary is a WebAssembly module but not qconv-wasm's \(it exports no memory and no function table, and imports no function\)/],
    ['the scalar module given to the SIMD128 glue', { wasmBinary: read('scalar') },
      /^init: wasmBinary is the scalar flavour's module, but init loaded the SIMD128 glue; pass the bytes of qconv-simd\.wasm, or call init\(\{ simd: false \}\) to run this one$/],
    ['the SIMD module given to the scalar glue', { simd: false, wasmBinary: simd },
      /^init: wasmBinary is the SIMD128 flavour's module, but init loaded the scalar glue; pass the bytes of qconv-scalar\.wasm$/],
    ['the SIMD module given to the threaded glue', { numThreads: 2, wasmBinary: simd },
      /^init: wasmBinary is a one-thread module \(it has a memory of its own\), but numThreads 2 loads the threaded glue; pass the bytes of qconv-simd-mt\.wasm, or call init\(\{ numThreads: 1 \}\) to run this one$/],
    ['the threaded module given to the SIMD128 glue', { wasmBinary: read('simd-mt') },
      /^init: wasmBinary is the threaded flavour's module \(it imports a shared memory\), but init loaded the one-thread SIMD128 glue; pass the bytes of qconv-simd\.wasm, or call init\(\{ numThreads: 2 \}\) or more to run this one$/],
    ['the threaded module with an import renamed (it links against nothing)', { numThreads: 2, wasmBinary: [...renameFirstImport(read('simd-mt'))] },
      /^init: wasmBinary could not be started by the threaded glue \(LinkError: .*"~".*\); pass the bytes of qconv-simd-mt\.wasm$/],
  ];

  // All cases in one child process, one after the other; then init() and a
  // forward. Console output of any kind would break the one JSON line.
  let child;
  let ms;
  let results;
  beforeAll(() => {
    const input = JSON.stringify(cases.map(([what, options]) => [what, { ...options, wasmBinary: Buffer.from(options.wasmBinary).toString('base64') }]));
    ({ child, ms } = runChild(`
      const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const results = [];
      for (const [what, options] of cases) {
        const t0 = Date.now();
        const outcome = await q.init({ ...options, wasmBinary: new Uint8Array(Buffer.from(options.wasmBinary, 'base64')) })
          .then((info) => ({ resolved: info }), (e) => ({ name: e.name, message: e.message }));
        results.push({ what, ...outcome, ms: Date.now() - t0 });
      }
      const info = await q.init();
      results.push({ what: 'init() afterwards', flavour: info.flavour, y: forward(q) });
      process.stdout.write(JSON.stringify(results));`, { timeoutMs: 30000, input }));
    results = JSON.parse(child.stdout);
  });

  test('the process printed nothing but the results and exited by itself', () => {
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(child.stderr).toBe('');
    expect(ms).toBeLessThan(20000);
  });
  test.each(cases.map(([what, , message], i) => [what, i, message]))('%s', (what, i, message) => {
    expect(results[i]).toMatchObject({ what, name: 'Error' });
    expect(results[i].message).toMatch(message);
    expect(results[i].ms).toBeLessThan(3000);
  });
  test('then init() loads the SIMD module and a forward gives the bytes derived by hand', () => {
    expect(results[cases.length]).toEqual({ what: 'init() afterwards', flavour: 'wasmsimd', y: [15, 18, 21] });
  });
});

describe('init({ locateFile }) that misbehaves (Node)', () => {
  // A fresh instance of the package for each test: init() holds its state.
  function fresh() {
    jest.resetModules();
    return require('../..');
  }

  test('a locateFile that throws rejects init naming the file it was asked about; a retry works', async () => {
    const q = fresh();
    await expect(q.init({ locateFile: () => { throw new Error('boom'); } }))
      .rejects.toThrow("init: locateFile('qconv-simd.cjs', prefix) threw: boom");
    await expect(q.init({ locateFile: () => { throw Symbol('no string'); } }))
      .rejects.toThrow("init: locateFile('qconv-simd.cjs', prefix) threw: Symbol(no string)");
    const unprintable = { toString() { throw new Error('nope'); } };
    await expect(q.init({ locateFile: () => { throw unprintable; } }))
      .rejects.toThrow("threw: an exception that cannot be converted to a string");
    await expect(q.init({ locateFile: () => 42 }))
      .rejects.toThrow(new TypeError("init: locateFile('qconv-simd.cjs', prefix) must return a string (a URL or a path) or a URL, got 42"));
    await expect(q.init({ locateFile: () => null })).rejects.toThrow(TypeError);
    await expect(q.init({ locateFile: () => 'file://remote-host/qconv-simd.cjs' }))
      .rejects.toThrow(/^init: locateFile\('qconv-simd\.cjs', prefix\) returned "file:\/\/remote-host\/qconv-simd\.cjs", which is not a file: URL of a local file/);
    expect((await q.init()).flavour).toBe('wasmsimd');
  });

  test('locateFile is asked about every file init() loads, and (name, prefix) => prefix + name changes nothing', async () => {
    const q = fresh();
    const asked = [];
    const info = await q.init({ locateFile: (name, prefix) => { asked.push(name); return prefix + name; } });
    expect(info.flavour).toBe('wasmsimd');
    expect(asked).toEqual(['qconv-simd.cjs', 'qconv-simd.wasm']);
  });

  test('a locateFile that calls init() again gets the pending promise: one module is loaded', async () => {
    const q = fresh();
    const asked = [];
    let inner = null;
    const outer = q.init({
      locateFile: (name, prefix) => {
        asked.push(name);
        if (!inner) inner = q.init();
        return prefix + name;
      },
    });
    const info = await outer;
    expect(inner).toBe(outer);
    expect(asked).toEqual(['qconv-simd.cjs', 'qconv-simd.wasm']);
    expect(q.memoryStats().liveModules).toBe(0);
    expect(info.flavour).toBe('wasmsimd');
  });
});

test('numThreads 2 with every file relocated by locateFile (none left in dist/): the glue, the .wasm and the worker script all load from there', () => {
  // A copy of the package whose dist/ lost the threaded flavour's files,
  // which now live in another folder only locateFile knows.
  const copy = fs.mkdtempSync(path.join(require('os').tmpdir(), 'qconv-relocated-'));
  try {
    for (const dir of ['js', 'dist']) fs.cpSync(path.join(ROOT, dir), path.join(copy, dir), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
    const elsewhere = path.join(copy, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const files = ['qconv-simd-mt.cjs', 'qconv-simd-mt.wasm', 'qconv-simd-mt.worker.cjs'];
    for (const f of files) fs.renameSync(path.join(copy, 'dist', f), path.join(elsewhere, f));
    const script = `
      const q = require(${JSON.stringify(copy)});
      ${FORWARD}
      (async () => {
        const asked = [];
        const info = await q.init({ numThreads: 2, locateFile: (name) => { asked.push(name); return ${JSON.stringify(elsewhere)} + '/' + name; } });
        console.log(JSON.stringify({ asked, threads: info.threads, y: forward(q) }));
      })().catch((e) => console.log(JSON.stringify({ error: e.message })));`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout);
    expect(result).toEqual({ asked: files, threads: 2, y: [15, 18, 21] });
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
