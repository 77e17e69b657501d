'use strict';
// Streaming equivalence through the threaded flavour on 2 threads (the
// stream's operator splits its windows over threads when they are long).
require('./stream-suite').defineStreamSuite(true, 2, 0.5);
