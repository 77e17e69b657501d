// The public JS API of qconv-wasm (docs/API.md), independent of how the wasm
// module is loaded. js/index.browser.mjs uses this file as ESM; the build
// writes dist/api.cjs from it and the files it imports, for Node's CommonJS
// entry (one source; scripts/build-js.mjs).
//
// Where things are: the native side and init (runtime.mjs), reading the
// caller's arguments (caller-values.mjs, args.mjs), the module classes
// (modules.mjs), fromFloat (from-float.mjs), the saved-module format
// (format.mjs, load.mjs), quantizePerTensor / dequantize (tensors.mjs).
// JS checks types and the shapes of JS values (TypeError); the C++ core
// checks value ranges (RangeError) and writes the messages.

import { Runtime, VERSION } from './runtime.mjs';
import { createModuleClasses } from './modules.mjs';
import { createTensorFunctions } from './tensors.mjs';
import { loadModule } from './load.mjs';
import { createModelApi } from './model.mjs';

// One library instance over the wasm module that loadNativeModule starts;
// platform: see Runtime.
export function createQconv(loadNativeModule, platform = {}) {
  const runtime = new Runtime(loadNativeModule, platform);
  const classes = createModuleClasses(runtime);
  const { quantizePerTensor, dequantize } = createTensorFunctions(runtime);
  const { Model, loadModel } = createModelApi(runtime, classes);
  return {
    init: function init(options) { return runtime.init(options); },
    ConvTranspose1d: classes.ConvTranspose1d,
    Conv1d: classes.Conv1d,
    // A module from save()'s bytes, of the kind they hold.
    load: function load(bytes) { return loadModule(runtime, classes, null, null, bytes); },
    // A whole model from a .qconv model file (docs/MODEL-FORMAT.md).
    loadModel,
    Model,
    quantizePerTensor,
    dequantize,
    memoryStats: function memoryStats() { return runtime.memoryStats(); },
    version: VERSION,
  };
}
