'use strict';
// CommonJS entry (Node). The ESM entry for Node re-exports this one, so both
// share one instance (no dual-package hazard).
const path = require('path');

let api;
try {
  api = require('../dist/api.cjs');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e;
  throw new Error(`qconv-wasm is not built: ${path.join(__dirname, '..', 'dist')} has no api.cjs; ` +
    "run 'npm run build' in the package directory");
}
const { loadNativeModule, threadSupport, releaseWorkers } = require('./node-loader.cjs');

module.exports = api.createQconv(loadNativeModule, { threadSupport, releaseWorkers });
// index.d.cts declares a default export too (the ESM entries have one); under
// CommonJS it is the same object, so `require('qconv-wasm').default` works.
module.exports.default = module.exports;
