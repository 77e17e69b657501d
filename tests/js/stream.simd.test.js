'use strict';
// Streaming equivalence through the SIMD128 flavour (tests/js/stream-suite.js).
require('./stream-suite').defineStreamSuite(true);
