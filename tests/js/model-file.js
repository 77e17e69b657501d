// Writes .qconv model files (docs/MODEL-FORMAT.md) in tests: models built by
// hand (expected bytes derived in the test) and hostile files. The library
// only reads the format; tools/export_torch.py is the real writer.
'use strict';
const zlib = require('zlib');

const MAGIC = Buffer.from('QCONVMDL', 'ascii');

function crc32(bytes) { return zlib.crc32(bytes) >>> 0; }

// graph: the JSON object (nodes' module fields are filled in from `modules`
// when a node has `moduleBytes`); returns a Uint8Array.
function encodeModelFile(graph, { version = 1, pad = true } = {}) {
  const g = JSON.parse(JSON.stringify({ ...graph, nodes: graph.nodes.map(({ moduleBytes, ...n }) => n) }));
  const chunks = [];
  let dataLength = 0;
  graph.nodes.forEach((node, i) => {
    if (!node.moduleBytes) return;
    const bytes = Buffer.from(node.moduleBytes);
    g.nodes[i].module = { offset: dataLength, length: bytes.length };
    chunks.push(bytes);
    dataLength += bytes.length;
    const padding = (8 - (dataLength % 8)) % 8;
    chunks.push(Buffer.alloc(padding));
    dataLength += padding;
  });
  let json = Buffer.from(JSON.stringify(g), 'utf8');
  if (pad) json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const total = 32 + json.length + dataLength + 4;
  const header = Buffer.alloc(32);
  MAGIC.copy(header, 0);
  header.writeUInt16LE(version, 8);
  header.writeUInt32LE(total, 12);
  header.writeUInt32LE(json.length, 16);
  header.writeUInt32LE(dataLength, 20);
  header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
  const body = Buffer.concat([header, json, ...chunks]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body), 0);
  return new Uint8Array(Buffer.concat([body, crc]));
}

// Recomputes both checksums of a (modified) file in place.
function resign(bytes) {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
  return bytes;
}

// The graph and data of a model file (for tests that change one field).
function decodeModelFile(bytes) {
  const b = Buffer.from(bytes);
  const graphLength = b.readUInt32LE(16);
  const dataLength = b.readUInt32LE(20);
  const graph = JSON.parse(b.subarray(32, 32 + graphLength).toString('utf8'));
  const data = b.subarray(32 + graphLength, 32 + graphLength + dataLength);
  graph.nodes.forEach((n) => {
    if (n.module) n.moduleBytes = new Uint8Array(data.subarray(n.module.offset, n.module.offset + n.module.length));
  });
  return graph;
}

module.exports = { encodeModelFile, decodeModelFile, resign };
