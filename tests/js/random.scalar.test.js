'use strict';
// Random configurations through the scalar flavour vs the JS reference.
require('./random-suite').defineRandomSuite(false, 600, 777);
