'use strict';
// Seeded data for tests/js/bound.test.js (a linear congruential generator:
// the same bytes on every run).
function lcg(seed) {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s >>> 24; };
}
function randomBytes(n, seed) {
  const next = lcg(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next();
  return out;
}
function randomInt8(n, seed) {
  const next = lcg(seed + 1000);
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() - 128;
  return out;
}
module.exports = { randomBytes, randomInt8 };
