// Whole models: loadModel(bytes) reads a .qconv model file
// (docs/MODEL-FORMAT.md, js/model-format.mjs) and builds one native model
// (src/model.h) whose forward runs every node in wasm, the intermediate
// tensors staying in wasm memory. Same rules as the modules: caller values
// are read once and copied before any native call, errors are TypeError /
// RangeError naming the method, dispose() frees everything.

import {
  typedArrayTag, typedArrayLength, copyInto, uint8Copy, readShape, readFloat32List, describe,
  isPlainOptions,
} from './caller-values.mjs';
import { readQTensor, measureQTensorData } from './args.mjs';
import { STATUS_OUT_OF_MEMORY } from './runtime.mjs';
import { quantizeInto, dequantizeInto } from './tensors.mjs';
import { decodeModelFile } from './model-format.mjs';
import { readBytes, buildModule } from './load.mjs';
import { moduleInternal } from './modules.mjs';

// qconv::ModelOp codes of the unary ops (src/model.h).
const UNARY_OPS = { relu: 1, hardtanh: 2, leaky_relu: 3, requantize: 4 };

const modelRegistry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((handle) => { handle.delete(); })
  : null;

const nowMs = typeof performance === 'object' && performance && typeof performance.now === 'function'
  ? () => performance.now() : () => Date.now();

export function createModelApi(runtime, classes) {
  const internal = moduleInternal;
  class Model {
    #handle;
    #graph;
    #input;
    #output;
    #nodes;

    // Built by loadModel only.
    constructor(token, handle, graph) {
      if (token !== modelToken) throw new TypeError('Model: use loadModel(bytes) to make a model');
      this.#handle = handle;
      this.#graph = graph;
      const t = graph.tensors;
      const input = t[graph.input.tensor];
      const output = t[graph.output.tensor];
      this.#input = { index: graph.input.tensor, channels: input.channels, scale: input.scale, zeroPoint: input.zeroPoint };
      this.#output = {
        index: graph.output.tensor, channels: output.channels, scale: output.scale, zeroPoint: output.zeroPoint,
        dequantize: graph.output.dequantize,
      };
      this.#nodes = Object.freeze(graph.nodes.map((n) => Object.freeze({
        name: n.name, op: n.op, inputs: Object.freeze([...n.inputs]), output: n.output,
      })));
      Object.defineProperties(this, {
        name: { value: typeof graph.name === 'string' ? graph.name : '', enumerable: true },
        inputChannels: { value: input.channels, enumerable: true },
        outputChannels: { value: output.channels, enumerable: true },
        inputQuantization: { value: Object.freeze({ scale: input.scale, zeroPoint: input.zeroPoint }), enumerable: true },
        outputQuantization: { value: Object.freeze({ scale: output.scale, zeroPoint: output.zeroPoint }), enumerable: true },
        dequantizesOutput: { value: graph.output.dequantize, enumerable: true },
      });
      if (modelRegistry) modelRegistry.register(this, handle, this);
    }

    // The nodes: [{ name, op, inputs, output }] (tensor indices).
    get nodes() { return this.#nodes; }
    // The tensors: [{ name, channels, scale, zeroPoint }].
    get tensors() {
      return this.#graph.tensors.map((t) => ({ name: t.name ?? '', channels: t.channels, scale: t.scale, zeroPoint: t.zeroPoint }));
    }

    #live(what) {
      if (this.#handle === null) throw new Error(`${what}: the model was disposed`);
      return this.#handle;
    }

    // input: a float tensor { data: Float32Array | number[], shape } (quantized
    // with the model's input quantization, as torch's QuantStub does) or a
    // QTensor with the model's input quantization. Shape [N, C, L] or [C, L].
    // Returns the model's output: floats { data: Float32Array, shape } when the
    // PyTorch model dequantizes it (options.quantized: true gives the QTensor
    // instead), else a QTensor.
    forward(input, options) {
      const what = 'Model.forward';
      this.#live(what);
      const quantized = readForwardOptions(what, options);
      const x = this.#readInput(what, input);
      const handle = this.#live(what);
      this.#runAll(what, handle, x, false);
      return this.#result(handle, x, quantized);
    }

    // forward, keeping every tensor: { output, tensors: [QTensor + name, per
    // tensor index], nodes: [{ name, op, ms }] } (each node timed on its own).
    trace(input) {
      const what = 'Model.trace';
      this.#live(what);
      const x = this.#readInput(what, input);
      const handle = this.#live(what);
      this.#reshape(what, handle, x, true);
      this.#fillInput(handle, x);
      const times = [];
      for (let i = 0; i < this.#nodes.length; i++) {
        const start = nowMs();
        const status = handle.run(i, i + 1);
        if (status !== 0) throw modelError(what, status, this.#nodes);
        times.push({ name: this.#nodes[i].name, op: this.#nodes[i].op, ms: nowMs() - start });
      }
      const computed = new Set(this.#nodes.map((n) => n.output)).add(this.#input.index);
      const tensors = this.#graph.tensors.map((t, index) => {
        if (!computed.has(index)) return null;
        return { name: t.name ?? '', ...this.#tensorOf(handle, x, index) };
      });
      return { output: this.#result(handle, x, false), tensors, nodes: times };
    }

    dispose() {
      if (this.#handle === null) return;
      if (modelRegistry) modelRegistry.unregister(this);
      this.#handle.delete();
      this.#handle = null;
    }

    get disposed() { return this.#handle === null; }

    // Every caller value read once and checked: { n, l, unbatched, size, and
    // bytes (the caller's Uint8Array, measured) or floats (our float32 copy) }.
    // From here on no caller code runs, so #fillInput copies or quantizes
    // straight into wasm memory.
    #readInput(what, input) {
      if (input === null || typeof input !== 'object') {
        throw new TypeError(`${what}: input must be a float tensor { data: Float32Array, shape } or a QTensor { data: Uint8Array, shape, scale, zeroPoint }, got ${describe(input)}`);
      }
      const data = input.data;
      if (typedArrayTag(data) === 'Uint8Array') {
        const q = readQTensor(what, 'input', { data, shape: input.shape, scale: input.scale, zeroPoint: input.zeroPoint });
        const geometry = this.#geometry(what, q.dims);
        if (q.scale !== this.#input.scale || q.zeroPoint !== this.#input.zeroPoint) {
          throw new RangeError(`${what}: input's quantization (scale ${describe(q.scale)}, zeroPoint ${describe(q.zeroPoint)}) must be the model's input quantization (scale ${this.#input.scale}, zeroPoint ${this.#input.zeroPoint}); pass floats to have them quantized`);
        }
        const measured = measureQTensorData(what, 'input', q);
        return { ...geometry, size: measured.length, bytes: measured.array, floats: null };
      }
      const dims = readShape(what, 'input.shape', input.shape);
      const geometry = this.#geometry(what, dims);
      const size = geometry.n * this.#input.channels * geometry.l;
      const floats = readFloat32List(what, 'input.data', data, size);
      if (floats.length !== size) {
        throw new RangeError(`${what}: input.data has ${floats.length} elements but shape [${dims}] needs ${size}`);
      }
      return { ...geometry, size, bytes: null, floats: floats.values };
    }

    #geometry(what, dims) {
      if (dims.length !== 2 && dims.length !== 3) {
        throw new RangeError(`${what}: input.shape ([${dims}]) must be [N, C, L] or [C, L], got ${dims.length} dimensions`);
      }
      const unbatched = dims.length === 2;
      const [n, c, l] = unbatched ? [1, dims[0], dims[1]] : dims;
      if (c !== this.#input.channels) {
        throw new RangeError(`${what}: input.shape ([${dims}]) must have ${this.#input.channels} channels (the model's input), got ${c}`);
      }
      return { n, l, unbatched, dims };
    }

    #reshape(what, handle, x, keepAll) {
      const status = handle.reshape(x.n, x.l, keepAll);
      if (status !== 0) throw modelError(what, status, this.#nodes);
    }

    // The input tensor's bytes in wasm memory: the caller's bytes copied, or
    // the floats quantized as torch's QuantStub does (docs/SEMANTICS.md §8).
    #fillInput(handle, x) {
      if (x.size === 0) return;
      const view = handle.tensorView(this.#input.index, x.size);
      if (x.bytes !== null) copyInto(view, x.bytes);
      else quantizeInto(view, x.floats, x.size, this.#input.scale, this.#input.zeroPoint);
    }

    #runAll(what, handle, x, keepAll) {
      this.#reshape(what, handle, x, keepAll);
      this.#fillInput(handle, x);
      const status = handle.run(0, this.#nodes.length);
      if (status !== 0) throw modelError(what, status, this.#nodes);
    }

    // A tensor's bytes, copied out: a QTensor.
    #tensorOf(handle, x, index) {
      const t = this.#graph.tensors[index];
      const length = handle.tensorLength(index);
      const size = x.n * t.channels * length;
      const data = size > 0 ? uint8Copy(handle.tensorView(index, size), size) : new Uint8Array(0);
      return {
        data, shape: x.unbatched ? [t.channels, length] : [x.n, t.channels, length],
        scale: t.scale, zeroPoint: t.zeroPoint,
      };
    }

    #result(handle, x, quantized) {
      if (quantized || !this.#output.dequantize) return this.#tensorOf(handle, x, this.#output.index);
      // torch's dequantize (docs/SEMANTICS.md §8), read straight from wasm memory.
      const index = this.#output.index;
      const channels = this.#output.channels;
      const length = handle.tensorLength(index);
      const size = x.n * channels * length;
      const out = new Float32Array(size);
      if (size > 0) dequantizeInto(out, handle.tensorView(index, size), size, this.#output.scale, this.#output.zeroPoint);
      return { data: out, shape: x.unbatched ? [channels, length] : [x.n, channels, length] };
    }
  }
  if (typeof Symbol.dispose === 'symbol') {
    Model.prototype[Symbol.dispose] = function dispose() { this.dispose(); };
  }
  Object.defineProperty(Model, 'name', { value: 'Model' });

  // The core names nodes by index and op ("node 3 (conv_transpose1d): ...");
  // the names are the graph's.
  function modelError(what, status, nodes) {
    const e = runtime.nativeError(what, 'Model', status);
    const message = e.message.replace(/^([\w.]+: )node (\d+) \(/, (all, prefix, index) => {
      const node = nodes[Number(index)];
      return node === undefined ? all : `${prefix}node ${index} "${node.name}" (`;
    });
    if (message === e.message) return e;
    return e instanceof RangeError ? new RangeError(message) : new Error(message);
  }

  function loadModel(bytes) {
    const what = 'loadModel';
    const mod = runtime.requireNative(what);
    const { graph, modules } = decodeModelFile(what, readBytes(what, bytes));
    const handle = mod.createNativeModel();
    if (handle === null) throw runtime.nativeError(what, 'Model', STATUS_OUT_OF_MEMORY);
    try {
      build(what, handle, graph, modules);
    } catch (e) {
      handle.delete();
      throw e;
    }
    return new Model(modelToken, handle, graph);
  }

  // ReflectionPad1d((p, p)) read only by a Conv1d without padding: the conv
  // pads itself (paddingMode 'reflect', padding p: the same bytes, as torch's
  // reflect Conv1d is F.pad then an unpadded conv) and reads the pad's input,
  // so a forward skips the copy; the pad node stays, computed only by trace.
  // Returns { pads: Set of fused pad nodes, convs: Map conv node -> input tensor }.
  function planReflectFusion(graph, modules) {
    const readers = new Map();
    const note = (t, i) => readers.set(t, (readers.get(t) ?? 0) + 1 + (i === null ? 1 : 0));
    graph.nodes.forEach((node, i) => {
      for (const t of node.inputs) note(t, i);
      if (node.outputSize && node.outputSize.lengthOf !== undefined) note(node.outputSize.lengthOf, null);
    });
    note(graph.output.tensor, null);
    const producer = new Map(graph.nodes.map((node, i) => [node.output, i]));
    const pads = new Set();
    const convs = new Map();
    graph.nodes.forEach((node, i) => {
      if (node.op !== 'conv1d') return;
      const d = modules[i];
      const p = producer.get(node.inputs[0]);
      if (p === undefined || d.padding !== 0 || d.paddingMode !== 'zeros') return;
      const pad = graph.nodes[p];
      if (pad.op !== 'reflection_pad1d' || pad.padding[0] !== pad.padding[1] || pad.padding[0] < 1) return;
      if (readers.get(pad.output) !== 1 || pads.has(p)) return;
      pads.add(p);
      convs.set(i, { input: pad.inputs[0], padding: pad.padding[0] });
    });
    return { pads, convs };
  }

  function build(what, handle, graph, modules) {
    const fusion = planReflectFusion(graph, modules);
    const check = (status) => {
      if (status !== 0) throw modelError(what, status, graph.nodes);
    };
    graph.tensors.forEach((t) => {
      const index = handle.addTensor(t.channels, t.scale, t.zeroPoint);
      if (index < 0) check(-index);
    });
    check(handle.setInput(graph.input.tensor));
    graph.nodes.forEach((node, i) => {
      const where = `node ${i} "${node.name}" (${node.op})`;
      const fused = fusion.convs.get(i);
      const input = fused ? fused.input : node.inputs[0];
      switch (node.op) {
        case 'conv1d':
        case 'conv_transpose1d': {
          const d = fused ? { ...modules[i], padding: fused.padding, paddingMode: 'reflect' } : modules[i];
          let m;
          try {
            m = buildModule(what, d.kind === 'Conv1d' ? classes.Conv1d : classes.ConvTranspose1d, d);
          } catch (e) {
            if (e instanceof RangeError) throw new RangeError(e.message.replace(`${what}: `, `${what}: ${where}: `));
            throw e;
          }
          const conv = internal.releaseHandle(m);
          const size = node.outputSize ?? null;
          let status;
          try {
            status = handle.adoptConv(conv, input, node.output, node.relu,
              size !== null && size.length !== undefined ? size.length : -1,
              size !== null && size.lengthOf !== undefined ? size.lengthOf : -1);
          } finally {
            conv.delete();
          }
          check(status);
          break;
        }
        case 'relu':
          check(handle.addUnary(UNARY_OPS.relu, input, node.output, 0, 0));
          break;
        case 'hardtanh':
          check(handle.addUnary(UNARY_OPS.hardtanh, input, node.output, node.min, node.max));
          break;
        case 'leaky_relu':
          check(handle.addUnary(UNARY_OPS.leaky_relu, input, node.output, node.negativeSlope, 0));
          break;
        case 'requantize':
          check(handle.addUnary(UNARY_OPS.requantize, input, node.output, 0, 0));
          break;
        case 'add':
          check(handle.addAdd(node.inputs[0], node.inputs[1], node.output, node.relu));
          break;
        case 'cat': {
          const view = handle.stagedIndices(node.inputs.length);
          if (typedArrayLength(view) !== node.inputs.length) check(STATUS_OUT_OF_MEMORY);
          for (let k = 0; k < node.inputs.length; k++) view[k] = node.inputs[k];
          check(handle.addCat(node.output));
          break;
        }
        case 'reflection_pad1d':
          check(handle.addReflectionPad(input, node.output, node.padding[0], node.padding[1], fusion.pads.has(i)));
          break;
        default:
          throw new RangeError(`${what}: ${where}: unknown op`);
      }
    });
    check(handle.setOutput(graph.output.tensor));
  }

  return { Model, loadModel };
}

const modelToken = Symbol('modelToken');

function readForwardOptions(what, options) {
  if (options === undefined || options === null) return false;
  if (!isPlainOptions(options)) throw new TypeError(`${what}: options must be an object like { quantized: true }, got ${describe(options)}`);
  const quantized = options.quantized;
  if (quantized !== undefined && typeof quantized !== 'boolean') {
    throw new TypeError(`${what}: options.quantized must be true or false, got ${describe(quantized)}`);
  }
  return quantized === true;
}
