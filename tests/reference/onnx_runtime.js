// The ONNX Runtime oracle: runs ONNX models on inputs from .npy files and writes their
// outputs as .npy files, for the C++ tests to compare with cajal's.
//
//   node onnx_runtime.js MODEL.onnx INPUT.npy OUTPUT.npy [MODEL INPUT OUTPUT ...]
//
// Each model takes one input (its first) and gives its first output. ONNX Runtime comes
// from npm's onnxruntime-node, which scripts/setup installs into third_party/onnxruntime-node.
'use strict';
const fs = require('fs');
const path = require('path');

const ort = require(path.join(__dirname, '..', '..', 'third_party', 'onnxruntime-node', 'node_modules', 'onnxruntime-node'));

// NumPy's dtype strings (little-endian) and the ONNX Runtime tensor types they hold.
const TYPES = {
  '<f4': { ort: 'float32', array: Float32Array },
  '<f8': { ort: 'float64', array: Float64Array },
  '<i8': { ort: 'int64', array: BigInt64Array },
};

// A .npy file (format 1.0 to 3.0, C order) as an ONNX Runtime tensor.
function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order is not supported`);
  const type = TYPES[descr];
  if (!type) throw new Error(`${file}: dtype ${descr} is not supported`);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new type.array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(start, start + count * type.array.BYTES_PER_ELEMENT));
  return new ort.Tensor(type.ort, data, shape);
}

// An ONNX Runtime tensor as a .npy file (format 1.0).
function writeNpy(file, tensor) {
  const descr = Object.keys(TYPES).find((key) => TYPES[key].ort === tensor.type);
  if (!descr) throw new Error(`output of type ${tensor.type} is not supported`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';  // the data starts 64-byte aligned
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

async function main(args) {
  if (args.length === 0 || args.length % 3 !== 0) {
    throw new Error('usage: node onnx_runtime.js MODEL.onnx INPUT.npy OUTPUT.npy [MODEL INPUT OUTPUT ...]');
  }
  for (let i = 0; i < args.length; i += 3) {
    const [model, input, output] = args.slice(i, i + 3);
    // Two threads at most: the test machines are shared.
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
    const results = await session.run({ [session.inputNames[0]]: readNpy(input) });
    writeNpy(output, results[session.outputNames[0]]);
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`onnx_runtime.js: ${error.message}`);
  process.exit(1);
});
