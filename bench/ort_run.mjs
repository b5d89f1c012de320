// ort_run.mjs MODEL INPUT_NAME=FILE.npy [--threads N] [--repeat N] [--warmup N]
// Times ONNX Runtime (onnxruntime-node, CPU) on one model and prints JSON:
// {"median_ms": .., "best_ms": .., "runs": N}. The reference for bench/bench_models.sh.
import fs from 'node:fs';
import ort from 'onnxruntime-node';

const NPY_TYPES = { '<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array] };

function readNpy(path) {
  const buf = fs.readFileSync(path);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const [type, Ctor] = NPY_TYPES[descr];
  const bytes = buf.subarray(10 + hlen);
  const data = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return new ort.Tensor(type, data, shape);
}

const args = process.argv.slice(2);
const model = args[0];
let threads = 2, repeat = 20, warmup = 3;
const feeds = {};
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--threads') threads = Number(args[++i]);
  else if (args[i] === '--repeat') repeat = Number(args[++i]);
  else if (args[i] === '--warmup') warmup = Number(args[++i]);
  else {
    const eq = args[i].indexOf('=');
    feeds[args[i].slice(0, eq)] = readNpy(args[i].slice(eq + 1));
  }
}
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'],
});
for (let i = 0; i < warmup; i++) await session.run(feeds);
const times = [];
for (let i = 0; i < repeat; i++) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], best_ms: times[0], runs: repeat }));
