'use strict';
// Golden cases through the SIMD128 flavour (each Jest file has its own
// module registry, so its own init()).
require('./golden-suite').defineGoldenSuite(true);
