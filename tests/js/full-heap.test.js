'use strict';
// A full wasm heap (issue "Trust", item 6): every flavour's 2 GiB heap is
// filled in a child process (tests/js/fixtures/full-heap-child.js; the
// memory it grows is never returned). While it is full, every call is a
// RangeError "out of memory: needs N bytes, M in use" or works (a forward of
// a shape already sized needs no memory); nothing aborts, nothing is printed;
// once the modules are disposed the instance works as new and holds what it
// held before. Before the fix the first small allocation that failed threw
// Emscripten's "RuntimeError: Aborted()" and killed the instance.
const { spawnSync } = require('child_process');
const path = require('path');

const CHILD = path.join(__dirname, 'fixtures', 'full-heap-child.js');
const OUT_OF_MEMORY = /^(ConvTranspose1d|Conv1d)(\.\w+)?: out of memory: needs \d+ bytes( for .+)?, \d+ in use$/;

describe.each([
  ['simd', {}],
  ['scalar', { simd: false }],
  ['threads (2)', { numThreads: 2 }],
])('%s flavour', (label, options) => {
  let report;
  let child;
  beforeAll(() => {
    child = spawnSync(process.execPath, [CHILD, JSON.stringify(options)], { encoding: 'utf8', timeout: 120000 });
    report = JSON.parse(child.stdout.trim().split('\n').pop());
  }, 130000);

  test('the child ran to the end, printing nothing to stderr', () => {
    expect(report.crashed).toBeUndefined();
    expect(child.status).toBe(0);
    expect(child.stderr).toBe('');
    expect(report.full.wasmBytes).toBe(2 ** 31);
    expect(report.heldModules).toBeGreaterThan(10);
  });

  test('filling: every refusal is a RangeError "out of memory: needs N bytes, M in use"', () => {
    expect(report.fills.length).toBe(6);
    // Then forwards of 1 -> 1 modules fill the gaps, down to a few bytes.
    expect(report.forwardFills.map((f) => f.length)).toEqual([4096, 512, 64, 8, 1]);
    for (const f of [...report.fills, ...report.forwardFills]) {
      expect(f.type).toBe('RangeError');
      expect(f.message).toMatch(OUT_OF_MEMORY);
    }
    // The error messages were built while malloc had nothing left.
    expect(report.fallbackAtEnd).toBeGreaterThan(report.fallbackAtStart);
  });

  test('while full: RangeErrors naming the call, and what needs no memory still works', () => {
    const w = report.whileFull;
    for (const [name, r] of Object.entries(w)) {
      if (!r.ok) expect([name, r.type]).toEqual([name, 'RangeError']);
    }
    for (const name of ['construct', 'constructConv1d', 'forwardNewShape', 'load', 'fromFloat']) {
      expect([name, w[name].message]).toEqual([name, expect.stringMatching(/out of memory: needs \d+ bytes/)]);
    }
    expect(w.load.message).toMatch(/^ConvTranspose1d\.load: out of memory: /);
    expect(w.forwardNewShape.message).toMatch(OUT_OF_MEMORY);
    // A runner bound before keeps running; binding one needs memory, and
    // is refused as a forward of a new shape is.
    expect(w.bindNewShape.message).toMatch(/^ConvTranspose1d\.bind: out of memory: needs \d+ bytes/);
    expect(w.runnerRun).toEqual({ ok: true });
    expect(w.forwardOut).toEqual({ ok: true });
    // Streams: opening one needs an operator; a push whose window needs
    // more memory is refused, naming the call.
    if (!w.streamOpen.ok) expect(w.streamOpen.message).toMatch(/^ConvTranspose1d\.stream: out of memory: /);
    expect(w.streamPushHuge.message).toMatch(/^ConvTranspose1d\.stream\.push: out of memory: needs \d+ bytes/);
    if (!w.streamPushRest.ok) expect(w.streamPushRest.message).toMatch(/^ConvTranspose1d\.stream\.push: out of memory: /);
    // (Staging the weights may already fail; either way the method is named.)
    expect(w.setWeightBiasBadScale.message).toMatch(/^ConvTranspose1d\.setWeightBias: (weight scale \(0\) must be|out of memory: )/);
    expect(w.forwardBadScale.message).toMatch(/^ConvTranspose1d\.forward: input scale \(-1\) must be/);
    expect(w.outputLengthBad.message).toMatch(/^ConvTranspose1d\.outputLength: input length \(0\)/);
    for (const name of ['forward', 'forwardSurvivor', 'quantize', 'weightOf', 'save']) expect([name, w[name].ok]).toEqual([name, true]);
    expect(report.survivorBytesEqual.ok).toBe(true);
    // Whole models: a loaded model keeps running; loading one, or a forward
    // needing a bigger arena, is an "out of memory" RangeError.
    expect(w.modelForward).toEqual({ ok: true });
    expect(w.loadModel.message).toMatch(/^loadModel: (node \d+ "[^"]+" \(\w+\): )?out of memory: /);
    expect(w.modelForwardNewShape.message).toMatch(/^Model.forward: (node \d+ "[^"]+" \(\w+\): )?(ConvTranspose1d: |Conv1d: )?out of memory: /);
  });

  test('freed: no module left, the heap back to what it held, the instance works as new', () => {
    expect(report.freed.liveModules).toBe(0);
    expect(report.freed.liveModels).toBe(0);
    expect(report.freed.liveRunners).toBe(0);
    // (The threaded flavour keeps 16 bytes more after its first full heap;
    // measured once, not per call: the fuzz test checks per-call growth.)
    expect(report.end.heapBytesInUse - report.baseline.heapBytesInUse).toBeLessThanOrEqual(64);
    expect(report.after).toEqual({ golden: { ok: true }, bigAgain: { ok: true }, load: { ok: true }, model: { ok: true }, stream: { ok: true } });
  });
});
