'use strict';
// Golden cases through the threaded flavour on 2 threads (SIMD128 + pthreads:
// Node worker threads). Most golden cases are small enough to run on one
// thread; tests/js/threads.test.js runs shapes big enough to be split.
require('./golden-suite').defineGoldenSuite(true, 2);
