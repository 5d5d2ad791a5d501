// ONNX Runtime's side of the ONNX inference benchmark (bench/README.md, "ONNX inference";
// bench/onnx_inference.sh runs it). Times session.run on each row's input the way
// timing.h and timing.py time cajal and PyTorch (calibrate a call count of about 0.15 s,
// median of 7 such runs after a warm-up) and writes DIR/out_ort_<row>.npy.
//
//   node onnx_inference.js DIR [ROW...]
// ONNX Runtime 1.23.2 from npm's onnxruntime-node, with 2 intra-op threads, 1 inter-op
// thread and all graph optimizations (its default level, named here).
'use strict';
const fs = require('fs');
const path = require('path');

const ort = require(path.join(__dirname, '..', 'third_party', 'onnxruntime-node', 'node_modules', 'onnxruntime-node'));

const ROWS = ['resnet18_b1', 'resnet18_b32', 'mobilenet_v2_b1', 'mobilenet_v2_b32', 'cnn_b1000'];

// A float32 .npy file (format 1.0 to 3.0, C order) as an ONNX Runtime tensor.
function readNpy(file) {
  const bytes = fs.readFileSync(file);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: not float32`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(start, start + count * 4));
  return new ort.Tensor('float32', data, shape);
}

function writeNpy(file, tensor) {
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function secondsPerCall(fn, targetS = 0.15, repeats = 7) {
  const run = async (calls) => {
    const t0 = now();
    for (let i = 0; i < calls; ++i) await fn();
    return now() - t0;
  };
  await run(1);  // warm-up
  let calls = 1;
  let t = await run(calls);
  while (t < targetS / 20) {
    calls *= 4;
    t = await run(calls);
  }
  calls = Math.max(1, Math.floor((calls * targetS) / t));
  const perCall = [];
  for (let r = 0; r < repeats; ++r) perCall.push((await run(calls)) / calls);
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(perCall.length / 2)];
}

async function main(args) {
  const dir = args[0];
  const rows = args.length > 1 ? args.slice(1) : ROWS;
  console.log(`INFO ort_version ${require(path.join(__dirname, '..', 'third_party', 'onnxruntime-node', 'node_modules', 'onnxruntime-node', 'package.json')).version}`);
  for (const row of rows) {
    const model = row.slice(0, row.lastIndexOf('_b'));
    const session = await ort.InferenceSession.create(path.join(dir, `${model}.onnx`), {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const feeds = { [session.inputNames[0]]: readNpy(path.join(dir, `x_${row}.npy`)) };
    const out = await session.run(feeds);
    writeNpy(path.join(dir, `out_ort_${row}.npy`), out[session.outputNames[0]]);
    const s = await secondsPerCall(() => session.run(feeds));
    console.log(`RESULT onnx.${row} ${s.toExponential(6)}`);
    await session.release();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`onnx_inference.js: ${error.stack}`);
  process.exit(1);
});
