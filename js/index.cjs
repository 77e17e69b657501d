'use strict';
// CommonJS entry (Node). The ESM entry for Node re-exports this one, so both
// share one instance (no dual-package hazard).
const { createQconv } = require('../dist/api.cjs');
const { loadNativeModule } = require('./node-loader.cjs');

module.exports = createQconv(loadNativeModule);
