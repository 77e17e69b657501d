'use strict';
// A randomized fuzz of the public JS API with hostile callers: getters and
// Proxies whose values change when read again, getters that dispose the
// module (or another), throw, detach or resize the data, or call the API
// re-entrantly; lying lengths, revoked Proxies, sparse and huge arrays,
// wrong types. Every call must end in one of:
//   - success, and then a forward's bytes equal the independent reference
//     (tests/js/reference.js) for the state the fuzzer tracks;
//   - a TypeError or RangeError whose message starts with the API name;
//   - a plain Error "...: the module was disposed" (a disposed module);
//   - the caller's own exception (a getter that throws), unchanged.
// Anything else (a wasm trap, an embind error, an abort) is a finding, and
// so is a valid call refused or a wrong byte. Every few thousand calls the
// library is checked whole: a new module computes a golden case exactly and
// memoryStats().liveModules counts exactly the modules not disposed; every
// `resetEvery` calls all modules are disposed and the heap must be back to
// what it held at the start.
//
// Used by tests/js/api-fuzz.test.js (npm test: 200,000 calls, fixed seed)
// and by `npm run fuzz` (node fuzz/js-api-fuzz.cjs <seconds> [seed]).
const { referenceForward, outputLength } = require('../tests/js/reference');
const { randomCase } = require('../tests/js/random-suite');
const { loadGoldenCases, runGoldenCase, expectedOf } = require('../tests/js/golden-cases');
const { mulberry32 } = require('../tools/mulberry32.cjs');

class CallerError extends Error {}

const API_PREFIX = /^(ConvTranspose1d|Conv1d|quantizePerTensor|dequantize)(\.\w+)?: /;

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function runApiFuzz(q, { seed = 1, calls = 200000, seconds = Infinity, resetEvery = 25000, checkEvery = 2000 } = {}) {
  const rand = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const chance = (p) => rand() < p;
  const golden = loadGoldenCases().find((c) => !c.expected_error && c.module === 'ConvTranspose1d' &&
    c.input.shape.length === 3 && c.input.shape[0] > 0 && !c.output_size);
  const goldenBytes = expectedOf(golden).data;

  const stats = {
    seed, calls: 0, reentrantCalls: 0, ok: 0, TypeError: 0, RangeError: 0, disposed: 0, callerError: 0,
    forwardsVerified: 0, checks: 0, resets: 0, findings: [],
  };
  const finding = (what, detail) => {
    if (stats.findings.length < 20) stats.findings.push({ call: stats.calls, what, detail: String(detail).slice(0, 500) });
  };

  // ---- the modules and what the fuzzer knows of them ---------------------------------
  const pool = [];  // { m, c, known }  c: the reference case; known: weights/qparams tracked
  function newEntry() {
    const c = randomCase(rand);
    if (c.outputLength !== undefined) {  // keep an outputSize only where it is valid
      const min = outputLength({ ...c, outputPadding: 0, outputLength: undefined });  // outputSize's smallest
      if (c.outputLength < Math.max(1, min) || c.outputLength > min + c.stride - 1) delete c.outputLength;
    }
    const m = c.kind === 'ConvTranspose1d'
      ? new q.ConvTranspose1d(c.cin, c.cout, c.K, { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, groups: c.groups, bias: c.bias !== null, dilation: c.dilation })
      : new q.Conv1d(c.cin, c.cout, c.K, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias !== null, paddingMode: c.paddingMode });
    m.setWeightBias(weightOf(c), c.bias);
    m.scale = c.os;
    m.zeroPoint = c.ozp;
    return { m, c, known: true };
  }
  const live = () => pool.filter((e) => !e.m.disposed);
  const target = () => {
    if (pool.length === 0 || (live().length < 6 && chance(0.3))) pool.push(newEntry());
    return pick(pool);
  };
  const weightOf = (c) => ({
    data: c.w, scale: c.perChannel ? c.ws.slice() : c.ws[0], zeroPoint: c.perChannel ? c.wzp.slice() : c.wzp[0],
  });
  const inputOf = (c) => ({ data: c.x.slice(), shape: [c.N, c.cin, c.L], scale: c.xs, zeroPoint: c.xzp });
  // New weights, bias and qparams for an entry's geometry (a valid change).
  function freshWeights(c) {
    const d = randomCase(rand);
    const perChannel = chance(0.5);
    const ws = Array.from({ length: c.cout }, () => (perChannel ? pick([0.5, 0.01, 0.003]) : 0.02));
    const wzp = Array.from({ length: c.cout }, () => (perChannel ? int(-5, 5) : 1));
    const w = Int8Array.from({ length: c.w.length }, () => int(-128, 127));
    const bias = c.bias === null ? null : Float32Array.from({ length: c.cout }, () => (rand() - 0.5) * 40 * d.xs);
    return { w, ws, wzp, bias, perChannel };
  }
  const applyWeights = (c, f) => Object.assign(c, { w: f.w, ws: f.ws, wzp: f.wzp, bias: f.bias, perChannel: f.perChannel });

  // ---- hostile values ------------------------------------------------------------------
  const JUNK_SCALARS = [NaN, -0, Infinity, -Infinity, 2 ** 53, -1, 1.5, 1e-45, 1e39, '1', null, undefined, 1n,
    true, Symbol('x'), {}, [], () => 1, { valueOf() { throw new CallerError('valueOf called'); } }];
  function junk() {
    const r = int(0, 9);
    if (r < 5) return pick(JUNK_SCALARS);
    if (r === 5) { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; }
    if (r === 6) { const a = []; a.length = 2 ** 32 - 1; return a; }
    if (r === 7) return new Proxy([], { get(t, k) { if (k === 'length') return 2 ** 40; return 1; } });
    if (r === 8) return Object.defineProperty(new Uint8Array(2), 'length', { value: 1e6 });
    return new DataView(new ArrayBuffer(4));
  }
  // A typed array holding `valid`'s elements, in an unusual but valid form
  // (offset view, shared memory, resizable buffer, a subclass that lies
  // about its length) or as it is.
  function typedForm(valid) {
    const Type = valid.constructor;
    const n = valid.length;
    const r = int(0, 5);
    let out;
    if (r === 0) {
      out = new Type(new ArrayBuffer((n + 3) * Type.BYTES_PER_ELEMENT), Type.BYTES_PER_ELEMENT * 2, n);
    } else if (r === 1) {
      out = new Type(new SharedArrayBuffer(Math.max(1, n) * Type.BYTES_PER_ELEMENT), 0, n);
    } else if (r === 2) {
      out = new Type(new ArrayBuffer(n * Type.BYTES_PER_ELEMENT, { maxByteLength: (2 * n + 8) * Type.BYTES_PER_ELEMENT }));
    } else if (r === 3) {
      out = Object.defineProperty(new Type(n), 'length', { value: n + int(1, 100) });  // lies; real count used
    } else {
      out = new Type(n);
    }
    out.set(valid);
    return out;
  }
  // An object whose fields give `values[k]` on the first read of each and
  // junk afterwards; `effect` (if any) runs at the first read of `effectKey`.
  function hostileObject(values, effect = null, effectKey = null) {
    const keys = Object.keys(values);
    const reads = new Map();
    const read = (k) => {
      const n = (reads.get(k) || 0) + 1;
      reads.set(k, n);
      if (n === 1 && k === effectKey && effect) effect();
      return n === 1 ? values[k] : junk();
    };
    const style = int(0, 3);
    if (style === 0) return { ...values };
    if (style === 1) {
      const o = {};
      for (const k of keys) Object.defineProperty(o, k, { get: () => read(k), enumerable: true, configurable: true });
      return o;
    }
    if (style === 2) {
      return new Proxy({ ...values }, {
        get: (t, k) => (typeof k === 'string' && keys.includes(k) ? read(k) : undefined),
        ownKeys: () => keys,
        getOwnPropertyDescriptor: (t, k) => (keys.includes(k) ? { value: values[k], enumerable: true, configurable: true, writable: true } : undefined),
      });
    }
    const proto = {};
    for (const k of keys) Object.defineProperty(proto, k, { get: () => read(k), enumerable: true, configurable: true });
    return Object.create(proto);
  }

  // ---- calls ------------------------------------------------------------------------------
  // Runs one public call; returns the result or undefined, and classifies
  // the outcome against `expect` ('ok', 'disposed', 'caller', 'range', 'any').
  function attempt(label, expectOutcome, call) {
    stats.calls += 1;
    let result;
    try {
      result = call();
    } catch (e) {
      let kind;
      if (e instanceof CallerError) kind = 'caller';
      else if (e && e.constructor === TypeError && API_PREFIX.test(e.message)) kind = 'type';
      else if (e && e.constructor === RangeError && API_PREFIX.test(e.message)) kind = 'range';
      else if (e && e.constructor === Error && /^(ConvTranspose1d|Conv1d)\.\w+: the module was disposed$/.test(e.message)) kind = 'disposed';
      else {
        finding(`${label}: escaped ${e && e.constructor ? e.constructor.name : typeof e}`, e && e.stack ? e.stack : e);
        return { failed: true };
      }
      stats[{ caller: 'callerError', type: 'TypeError', range: 'RangeError', disposed: 'disposed' }[kind]] += 1;
      const allowed = expectOutcome === 'any' || expectOutcome === kind ||
        (expectOutcome === 'error' && kind !== 'caller') || (expectOutcome === 'caller-or-ok' && kind === 'caller');
      if (!allowed) finding(`${label}: expected ${expectOutcome}, got ${kind}`, e.message);
      return { failed: true, kind };
    }
    stats.ok += 1;
    if (expectOutcome !== 'ok' && expectOutcome !== 'any' && expectOutcome !== 'caller-or-ok') {
      finding(`${label}: expected ${expectOutcome}, it succeeded`, '');
    }
    return { result };
  }

  function verifyForward(label, entry, x, outputSize, result) {
    if (!entry.known) return;
    const c = { ...entry.c, x: x.data, N: x.shape[0], L: x.shape[2], xs: x.scale, xzp: x.zeroPoint };
    delete c.outputLength;
    if (outputSize) c.outputLength = outputSize[outputSize.length - 1];
    const want = referenceForward(c);
    stats.forwardsVerified += 1;
    if (!equalBytes(result.data, want.data) || result.shape.join() !== want.shape.join()) {
      finding(`${label}: wrong bytes`, `shape ${result.shape} vs ${want.shape}`);
    }
  }

  // Effects a getter may have, with the outcome they force on the call.
  function effectFor(entry, data) {
    const r = int(0, 9);
    if (r === 0) return { expect: 'disposed', run: () => entry.m.dispose() };
    if (r === 1) return { expect: 'caller', run: () => { throw new CallerError('getter'); } };
    if (r === 2 && data && !(data.buffer instanceof SharedArrayBuffer) && data.buffer.byteLength > 0) {
      return { expect: 'range', run: () => structuredClone(data.buffer, { transfer: [data.buffer] }) };
    }
    if (r === 3 && data && data.buffer.resizable && data.length > 0) {
      return { expect: 'range', run: () => data.buffer.resize(data.byteLength - data.BYTES_PER_ELEMENT) };
    }
    if (r === 4) {  // re-entrant forward on the same module
      return {
        expect: 'same',
        run: () => {
          stats.reentrantCalls += 1;
          if (entry.m.disposed) return;
          const x = inputOf(entry.c);
          const size = entry.c.outputLength !== undefined ? [entry.c.outputLength] : undefined;
          const out = attempt('re-entrant forward', 'ok', () => entry.m.forward(x, size));
          if (out.result) verifyForward('re-entrant forward', entry, x, size, out.result);
        },
      };
    }
    if (r === 5) {  // re-entrant new weights: the outer call uses them
      return {
        expect: 'same',
        run: () => {
          stats.reentrantCalls += 1;
          if (entry.m.disposed) return;
          const f = freshWeights(entry.c);
          const out = attempt('re-entrant setWeightBias', 'ok', () => entry.m.setWeightBias(
            { data: f.w, scale: f.perChannel ? f.ws : f.ws[0], zeroPoint: f.perChannel ? f.wzp : f.wzp[0] }, f.bias));
          if (!out.failed) applyWeights(entry.c, f);
        },
      };
    }
    if (r === 6) {  // another module disposed
      return { expect: 'same', run: () => { const other = pick(pool); if (other !== entry) other.m.dispose(); } };
    }
    return null;
  }

  // A call whose argument object may carry an effect (at the first read of
  // one of `keys`): without one, or when the effect never ran (a plain copy
  // has no getters), it must succeed; otherwise it must end as the effect
  // dictates. A disposed module refuses first.
  function withEffect(label, entry, data, keys, call) {
    const wasDisposed = entry.m.disposed;
    const effect = chance(0.3) ? effectFor(entry, data) : null;
    let ran = false;
    const run = effect ? () => { ran = true; effect.run(); } : null;
    const out = attempt(label, wasDisposed ? 'disposed' : effect ? 'any' : 'ok', () => call(run, pick(keys)));
    if (!wasDisposed && effect) {
      const want = !ran || effect.expect === 'same' ? 'ok' : effect.expect;
      const got = out.failed ? out.kind : 'ok';
      if (got !== want) finding(`${label} with an effect`, `expected ${want}, got ${got}`);
    }
    return out;
  }

  const actions = [
    [30, function forward() {
      const entry = target();
      const c = entry.c;
      const x = inputOf(c);
      x.data = typedForm(x.data);
      const size = c.outputLength !== undefined ? [c.outputLength] : undefined;
      if (chance(0.15)) {  // one junk field
        const bad = { ...x, [pick(['data', 'shape', 'scale', 'zeroPoint'])]: junk() };
        attempt('forward(junk)', 'any', () => entry.m.forward(hostileObject(bad), chance(0.2) ? junk() : size));
        return;
      }
      const out = withEffect('forward', entry, x.data, ['data', 'shape', 'scale', 'zeroPoint'],
        (effectRun, key) => entry.m.forward(hostileObject(x, effectRun, key), size));
      // The library reads everything before its native call: the bytes are
      // those of the data and the module state as they were then.
      if (out.result) verifyForward('forward', entry, x, size, out.result);
    }],
    [16, function setWeightBias() {
      const entry = target();
      const c = entry.c;
      const f = freshWeights(c);
      const values = { data: typedForm(f.w), scale: f.perChannel ? f.ws : f.ws[0], zeroPoint: f.perChannel ? f.wzp : f.wzp[0] };
      if (chance(0.2)) {
        const bad = { ...values, [pick(['data', 'scale', 'zeroPoint', 'shape'])]: junk() };
        const out = attempt('setWeightBias(junk)', 'any', () => entry.m.setWeightBias(hostileObject(bad), chance(0.3) ? junk() : f.bias));
        if (!out.failed) entry.known = false;  // accepted: the fuzzer no longer knows the weights
        return;
      }
      const bias = f.bias === null ? null : (chance(0.5) ? typedForm(f.bias) : Array.from(f.bias));
      const out = withEffect('setWeightBias', entry, values.data, ['data', 'scale', 'zeroPoint'],
        (effectRun, key) => entry.m.setWeightBias(hostileObject(values, effectRun, key), bias));
      if (!out.failed) { applyWeights(c, f); entry.known = true; }
    }],
    [8, function outputQuantization() {
      const entry = target();
      if (chance(0.3)) {
        const v = junk();
        const out = attempt('scale=junk', 'any', () => { entry.m.scale = v; });
        if (!out.failed) entry.c.os = v;
        return;
      }
      const os = pick([0.5, 1, 0.03, 7]);
      const ozp = int(0, 255);
      const wasDisposed = entry.m.disposed;
      const a = attempt('scale=', wasDisposed ? 'disposed' : 'ok', () => { entry.m.scale = os; });
      const b = attempt('zeroPoint=', wasDisposed ? 'disposed' : 'ok', () => { entry.m.zeroPoint = ozp; });
      if (!a.failed) entry.c.os = os;
      if (!b.failed) entry.c.ozp = ozp;
    }],
    [6, function accessors() {
      const entry = target();
      const wasDisposed = entry.m.disposed;
      const which = int(0, 4);
      const out = attempt('accessor', wasDisposed ? 'disposed' : 'ok', () => [
        () => entry.m.weight(), () => entry.m.bias(), () => entry.m.save(), () => entry.m.inputQuantization,
        () => entry.m.outputLength(entry.c.L, entry.c.outputLength !== undefined ? entry.c.outputLength : undefined),
      ][which]());
      if (out.result && which === 0 && entry.known && !equalBytes(out.result.data, entry.c.w)) finding('weight()', 'bytes differ');
      if (out.result && which === 2 && chance(0.5)) {
        const bytes = out.result;
        if (chance(0.5)) bytes[int(0, bytes.length - 1)] ^= 1 << int(0, 7);
        const cls = entry.c.kind === 'ConvTranspose1d' ? q.ConvTranspose1d : q.Conv1d;
        const loaded = attempt('load', 'any', () => cls.load(chance(0.2) ? junk() : bytes));
        if (loaded.result) loaded.result.dispose();
      }
    }],
    [5, function inputQuantization() {
      const entry = target();
      const wasDisposed = entry.m.disposed;
      const value = chance(0.3) ? junk() : hostileObject({ scale: pick([0.5, 0.01]), zeroPoint: int(0, 255) });
      attempt('inputQuantization=', wasDisposed ? 'disposed' : 'any', () => { entry.m.inputQuantization = value; });
    }],
    [8, function quantizeDequantize() {
      const n = int(0, 16);
      const values = Array.from({ length: n }, () => (rand() - 0.5) * 10);
      const scale = pick([0.1, 0.5, 1]);
      const zp = int(0, 255);
      const args = [chance(0.5) ? Float32Array.from(values) : values, [n], scale, zp];
      if (chance(0.3)) args[int(0, 3)] = junk();
      const t = attempt('quantizePerTensor', 'any', () => q.quantizePerTensor(...args));
      if (t.result) {
        const back = attempt('dequantize', 'ok', () => q.dequantize(hostileObject(t.result)));
        if (back.result && back.result.length !== t.result.data.length) finding('dequantize', 'length');
      } else {
        attempt('dequantize(junk)', 'any', () => q.dequantize(hostileObject({ data: junk(), shape: [n], scale, zeroPoint: zp })));
      }
    }],
    [5, function construct() {
      const args = [int(1, 8), int(1, 8), int(1, 4)];
      const options = hostileObject({ stride: int(1, 3), padding: int(0, 2), dilation: int(1, 2) });
      if (chance(0.4)) args[int(0, 2)] = junk();
      const cls = chance(0.5) ? q.ConvTranspose1d : q.Conv1d;
      const out = attempt('constructor', 'any', () => new cls(...args, chance(0.3) ? junk() : options));
      if (out.result) out.result.dispose();
    }],
    [3, function dispose() {
      if (pool.length === 0) return;
      const i = int(0, pool.length - 1);
      const entry = pool[i];
      if (chance(0.5) && typeof Symbol.dispose === 'symbol') entry.m[Symbol.dispose]();
      else entry.m.dispose();
      pool.splice(i, 1);
    }],
    [1, function fromFloat() {
      const cin = int(1, 3), cout = int(1, 3), k = int(1, 3);
      const o = {
        inChannels: cin, outChannels: cout, kernelSize: k,
        weight: Array.from({ length: cin * cout * k }, () => rand() - 0.5),
        calibration: [hostileObject({ data: Array.from({ length: cin * 5 }, () => rand()), shape: [1, cin, 5] })],
      };
      if (chance(0.3)) o[pick(Object.keys(o))] = junk();
      const out = attempt('fromFloat', 'any', () => q.ConvTranspose1d.fromFloat(hostileObject(o)));
      if (out.result) out.result.dispose();
    }],
  ];
  const totalWeight = actions.reduce((s, [w]) => s + w, 0);

  function checkLibrary() {
    stats.checks += 1;
    const alive = pool.filter((e) => !e.m.disposed).length;
    const mem = q.memoryStats();
    if (mem.liveModules !== alive) finding('liveModules', `${mem.liveModules} native modules for ${alive} live ones`);
    const out = attempt('golden canary', 'ok', () => runGoldenCase(q, golden));
    if (out.result && !equalBytes(out.result.data, goldenBytes)) finding('golden canary', 'bytes differ');
  }

  const baseline = q.memoryStats().heapBytesInUse;
  const deadline = Date.now() + seconds * 1000;
  let iteration = 0;
  while (stats.calls < calls && Date.now() < deadline) {
    let r = rand() * totalWeight;
    for (const [w, action] of actions) {
      r -= w;
      if (r < 0) { action(); break; }
    }
    pool.splice(0, pool.length, ...pool.filter((e) => !e.m.disposed || chance(0.9)));
    iteration += 1;
    if (iteration % checkEvery === 0) checkLibrary();
    if (iteration % resetEvery === 0) {
      for (const e of pool) e.m.dispose();
      pool.length = 0;
      stats.resets += 1;
      const heap = q.memoryStats().heapBytesInUse;
      if (heap !== baseline) finding('heap after reset', `${heap} bytes in use, ${baseline} at the start`);
    }
  }
  checkLibrary();
  for (const e of pool) e.m.dispose();
  stats.heapAtEnd = q.memoryStats().heapBytesInUse;
  stats.heapAtStart = baseline;
  if (stats.heapAtEnd !== baseline) finding('heap at the end', `${stats.heapAtEnd} vs ${baseline}`);
  if (q.memoryStats().liveModules !== 0) finding('liveModules at the end', q.memoryStats().liveModules);
  return stats;
}

module.exports = { runApiFuzz, CallerError };

// node fuzz/js-api-fuzz.cjs [--seconds S] [--calls N] [--seed X] [--threads T]
// (npm run fuzz runs it for S seconds with a random seed; npm test through
// tests/js/api-fuzz.test.js for a fixed number of calls). Prints the stats
// as JSON; exits 1 on a finding.
if (require.main === module) {
  const option = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? fallback : Number(process.argv[i + 1]);
  };
  const seconds = option('seconds', Infinity);
  const calls = option('calls', seconds === Infinity ? 200000 : Infinity);
  const seed = option('seed', Date.now() >>> 0);
  const numThreads = option('threads', 1);
  const q = require('..');
  q.init({ numThreads }).then((info) => {
    const stats = runApiFuzz(q, { seed, calls, seconds, resetEvery: numThreads > 1 ? 5000 : 25000 });
    console.log(JSON.stringify({ ...stats, flavour: info.flavour, threads: info.threads }));
    process.exit(stats.findings.length === 0 ? 0 : 1);
  });
}
