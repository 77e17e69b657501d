// Writes the two ONNX models the benchmark feeds to onnxruntime-web, as
// protobuf bytes, without a protobuf library: a float32 ConvTranspose model
// and the QDQ model ORT's quantization tool would produce for it. Only the
// few onnx.proto messages these graphs need are encoded.
//
// Field numbers are onnx.proto's (proto2: repeated scalars are written
// unpacked, one tag per element, which every protobuf parser accepts).

// ---- protobuf wire format ---------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

const textEncoder = new TextEncoder();

// Collects the bytes of one message; nested messages are encoded into their
// own writer first, so their length is known when the parent writes it.
class ProtoWriter {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  bytes(array) {
    this.chunks.push(array);
    this.length += array.length;
    return this;
  }

  // int64 and int32 fields share the varint encoding; negative values take
  // ten bytes (their 64-bit two's complement), as protobuf specifies.
  varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    const out = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    return this.bytes(Uint8Array.from(out));
  }

  tag(field, wireType) {
    return this.varint((field << 3) | wireType);
  }

  int(field, value) {
    return this.tag(field, WIRE_VARINT).varint(value);
  }

  ints(field, values) {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field, value) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.tag(field, WIRE_FIXED32).bytes(b);
  }

  lengthDelimited(field, payload) {
    return this.tag(field, WIRE_LENGTH_DELIMITED).varint(payload.length).bytes(payload);
  }

  string(field, text) {
    return this.lengthDelimited(field, textEncoder.encode(text));
  }

  strings(field, texts) {
    for (const t of texts) this.string(field, t);
    return this;
  }

  message(field, writer) {
    return this.lengthDelimited(field, writer.finish());
  }

  messages(field, writers) {
    for (const w of writers) this.message(field, w);
    return this;
  }

  finish() {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

// ---- onnx.proto messages ------------------------------------------------------

// TensorProto.DataType
export const DataType = Object.freeze({ FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 });

const TYPED_ARRAY_OF = {
  [DataType.FLOAT]: Float32Array,
  [DataType.UINT8]: Uint8Array,
  [DataType.INT8]: Int8Array,
  [DataType.INT32]: Int32Array,
};

// AttributeProto.AttributeType
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

function tensorProto(name, dataType, dims, values) {
  const ArrayType = TYPED_ARRAY_OF[dataType];
  if (!ArrayType) throw new Error(`onnx-writer: unsupported data type ${dataType}`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new Error(`onnx-writer: tensor ${name} has ${values.length} values for dims [${dims}]`);
  }
  // raw_data is little-endian, which typed arrays are on every engine that
  // runs WebAssembly.
  const typed = values instanceof ArrayType ? values : ArrayType.from(values);
  const raw = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return new ProtoWriter()
    .ints(1, dims)             // dims
    .int(2, dataType)          // data_type
    .string(8, name)           // name
    .lengthDelimited(9, raw);  // raw_data
}

function attributeProto(name, value) {
  const w = new ProtoWriter().string(1, name);  // name
  if (Array.isArray(value)) {
    w.ints(8, value).int(20, ATTRIBUTE_INTS);   // ints, type
  } else {
    w.int(3, value).int(20, ATTRIBUTE_INT);     // i, type
  }
  return w;
}

function nodeProto({ opType, inputs, outputs, name, attributes = {} }) {
  const w = new ProtoWriter()
    .strings(1, inputs)      // input
    .strings(2, outputs)     // output
    .string(3, name)         // name
    .string(4, opType);      // op_type
  for (const [key, value] of Object.entries(attributes)) {
    w.message(5, attributeProto(key, value));  // attribute
  }
  return w;
}

function valueInfoProto(name, elemType, shape) {
  const shapeProto = new ProtoWriter();
  for (const d of shape) {
    shapeProto.message(1, new ProtoWriter().int(1, d));  // dim { dim_value }
  }
  const tensorType = new ProtoWriter()
    .int(1, elemType)              // elem_type
    .message(2, shapeProto);       // shape
  const typeProto = new ProtoWriter().message(1, tensorType);  // tensor_type
  return new ProtoWriter()
    .string(1, name)               // name
    .message(2, typeProto);        // type
}

// A graph description of plain objects -> ModelProto bytes.
//   nodes:        [{ opType, inputs, outputs, name, attributes }]
//   initializers: [{ name, dataType, dims, values }]
//   inputs/outputs: [{ name, elemType, shape }]
export function encodeModel({ nodes, initializers, inputs, outputs, opset = 17, irVersion = 8,
  graphName = 'graph' }) {
  const graph = new ProtoWriter();
  graph.messages(1, nodes.map(nodeProto));                                  // node
  graph.string(2, graphName);                                               // name
  graph.messages(5, initializers.map((t) =>                                 // initializer
    tensorProto(t.name, t.dataType, t.dims, t.values)));
  graph.messages(11, inputs.map((v) => valueInfoProto(v.name, v.elemType, v.shape)));   // input
  graph.messages(12, outputs.map((v) => valueInfoProto(v.name, v.elemType, v.shape)));  // output
  const opsetImport = new ProtoWriter().string(1, '').int(2, opset);        // domain, version
  return new ProtoWriter()
    .int(1, irVersion)             // ir_version
    .string(2, 'qconv-wasm bench') // producer_name
    .message(7, graph)             // graph
    .message(8, opsetImport)       // opset_import
    .finish();
}

// ---- the two ConvTranspose1d models -------------------------------------------

export function convTransposeOutputLength({ L, K, stride, padding, dilation, outputPadding }) {
  return (L - 1) * stride - 2 * padding + dilation * (K - 1) + outputPadding + 1;
}

// ONNX ConvTranspose on (N, C, L) takes 1-D attributes; its weight layout is
// (Cin, Cout/groups, K), as PyTorch's.
function convTransposeAttributes(shape) {
  return {
    kernel_shape: [shape.K],
    strides: [shape.stride],
    pads: [shape.padding, shape.padding],
    dilations: [shape.dilation],
    group: shape.groups,
    output_padding: [shape.outputPadding],
  };
}

function ioShapes(shape) {
  const Lout = convTransposeOutputLength(shape);
  return { inputShape: [shape.N, shape.Cin, shape.L], outputShape: [shape.N, shape.Cout, Lout] };
}

// Float32 model: y = ConvTranspose(x, W, B).
//   weight: Float32Array (Cin, Cout/groups, K); bias: Float32Array (Cout)
export function floatConvTransposeModel(shape, { weight, bias }) {
  const { inputShape, outputShape } = ioShapes(shape);
  return encodeModel({
    graphName: 'conv_transpose_1d_f32',
    nodes: [{
      opType: 'ConvTranspose', name: 'conv_transpose', inputs: ['x', 'W', 'B'], outputs: ['y'],
      attributes: convTransposeAttributes(shape),
    }],
    initializers: [
      { name: 'W', dataType: DataType.FLOAT, dims: [shape.Cin, shape.Cout / shape.groups, shape.K], values: weight },
      { name: 'B', dataType: DataType.FLOAT, dims: [shape.Cout], values: bias },
    ],
    inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: inputShape }],
    outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: outputShape }],
  });
}

// QDQ model, the layout ORT's quantization tool writes for a quantized
// ConvTranspose: uint8 activations and int8 weights, each through
// DequantizeLinear, an int32 bias with scale inputScale*weightScale and zero
// point 0, and QuantizeLinear on the output.
//   weight: Int8Array (Cin, Cout/groups, K); biasInt32: Int32Array (Cout)
export function qdqConvTransposeModel(shape, {
  weight, weightScale, weightZeroPoint = 0, biasInt32,
  inputScale, inputZeroPoint, outputScale, outputZeroPoint,
}) {
  const { inputShape, outputShape } = ioShapes(shape);
  const scalar = (name, dataType, value) => ({ name, dataType, dims: [], values: [value] });
  return encodeModel({
    graphName: 'conv_transpose_1d_qdq',
    nodes: [
      { opType: 'DequantizeLinear', name: 'x_dq', inputs: ['x', 'x_scale', 'x_zero_point'], outputs: ['x_f'] },
      { opType: 'DequantizeLinear', name: 'w_dq', inputs: ['W_q', 'W_scale', 'W_zero_point'], outputs: ['W_f'] },
      { opType: 'DequantizeLinear', name: 'b_dq', inputs: ['B_q', 'B_scale', 'B_zero_point'], outputs: ['B_f'] },
      {
        opType: 'ConvTranspose', name: 'conv_transpose', inputs: ['x_f', 'W_f', 'B_f'], outputs: ['y_f'],
        attributes: convTransposeAttributes(shape),
      },
      { opType: 'QuantizeLinear', name: 'y_q', inputs: ['y_f', 'y_scale', 'y_zero_point'], outputs: ['y'] },
    ],
    initializers: [
      scalar('x_scale', DataType.FLOAT, inputScale),
      scalar('x_zero_point', DataType.UINT8, inputZeroPoint),
      { name: 'W_q', dataType: DataType.INT8, dims: [shape.Cin, shape.Cout / shape.groups, shape.K], values: weight },
      scalar('W_scale', DataType.FLOAT, weightScale),
      scalar('W_zero_point', DataType.INT8, weightZeroPoint),
      { name: 'B_q', dataType: DataType.INT32, dims: [shape.Cout], values: biasInt32 },
      scalar('B_scale', DataType.FLOAT, Math.fround(inputScale * weightScale)),
      scalar('B_zero_point', DataType.INT32, 0),
      scalar('y_scale', DataType.FLOAT, outputScale),
      scalar('y_zero_point', DataType.UINT8, outputZeroPoint),
    ],
    inputs: [{ name: 'x', elemType: DataType.UINT8, shape: inputShape }],
    outputs: [{ name: 'y', elemType: DataType.UINT8, shape: outputShape }],
  });
}
