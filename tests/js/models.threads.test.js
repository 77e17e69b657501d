'use strict';
// Whole PyTorch models (tests/data/models) through the threaded flavour on 2
// and on 4 threads, with the split threshold at 1 multiply-add so that every
// convolution of these small models is split across the threads.
const { createQconv } = require('../../dist/api.cjs');
const nodeLoader = require('../../js/node-loader.cjs');
const { defineModelSuite } = require('./models-torch');

for (const threads of [2, 4]) {
  describe(`${threads} threads`, () => {
    const q = createQconv(nodeLoader.loadNativeModule, {
      threadSupport: nodeLoader.threadSupport, releaseWorkers: nodeLoader.releaseWorkers, minParallelWork: 1,
    });
    beforeAll(async () => {
      const info = await q.init({ numThreads: threads });
      expect(info.threads).toBe(threads);
    });
    defineModelSuite(q, { describe, test, expect });
  });
}
