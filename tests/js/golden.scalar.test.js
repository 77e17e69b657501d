'use strict';
// Golden cases through the scalar flavour.
require('./golden-suite').defineGoldenSuite(false);
