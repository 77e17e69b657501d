'use strict';
// Random configurations through the SIMD128 flavour vs the JS reference.
require('./random-suite').defineRandomSuite(true, 600, 20261125);
