// Runs a model in ONNX Runtime: the reference our runtime and converter are compared against.
// usage: node run_ort.js MODEL.onnx OUT_DIR NAME=INPUT.npy... [--bench N] [--threads T] [--profile PREFIX]
// Writes OUT_DIR/<output name>.npy (float32) and, with --bench, prints as JSON the N timed runs after the first:
// {"median_ms", "min_ms", "runs_ms": [...], "session_create_ms"} (session creation: load, optimize, prepare kernels).
// --profile writes ONNX Runtime's profiler trace of every run to PREFIX_<date>.json.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const buffer = fs.readFileSync(file);
  if (buffer.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = buffer[6];
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buffer.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter(s => s.trim()).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const body = buffer.subarray(headerStart + headerLength);
  const copy = new Uint8Array(body).buffer;
  if (descr === '<f4') return new ort.Tensor('float32', new Float32Array(copy), shape);
  if (descr === '<i8') return new ort.Tensor('int64', new BigInt64Array(copy), shape);
  throw new Error(`${file}: dtype ${descr} not supported`);
}

function writeNpy(file, tensor) {
  const data = Float32Array.from(tensor.data, Number);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const index = args.indexOf(name);
    if (index < 0) return fallback;
    const value = args[index + 1];
    args.splice(index, 2);
    return value;
  };
  const bench = Number(option('--bench', 0));
  const threads = Number(option('--threads', 0));
  const profilePrefix = option('--profile', '');
  const [model, outDir, ...inputSpecs] = args;
  const feeds = {};
  for (const spec of inputSpecs) {
    const [name, file] = spec.split('=');
    feeds[name] = readNpy(file);
  }
  const options = { graphOptimizationLevel: 'all' };
  if (threads > 0) options.intraOpNumThreads = threads;
  if (profilePrefix) Object.assign(options, { enableProfiling: true, profileFilePrefix: profilePrefix });
  const createStart = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, options);
  const sessionCreateMs = Number(process.hrtime.bigint() - createStart) / 1e6;
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) writeNpy(path.join(outDir, `${name}.npy`), results[name]);
  if (bench > 0) {
    const times = [];
    for (let i = 0; i < bench; i++) {
      const start = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(JSON.stringify({ median_ms: sorted[Math.floor(sorted.length / 2)], min_ms: sorted[0], runs_ms: times,
                                 session_create_ms: sessionCreateMs }));
  }
  if (profilePrefix) session.endProfiling();
}

main().catch(error => {
  console.error(`run_ort: ${error.message}`);
  process.exit(1);
});
