'use strict';
// Streaming equivalence through the scalar flavour (fewer generated cases:
// the twins of the SIMD kernels are slower).
require('./stream-suite').defineStreamSuite(false, 1, 0.5);
