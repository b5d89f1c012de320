// ort_run.mjs MODEL INPUT_NAME=FILE.npy... [--threads N] [--repeat N] [--warmup N] [--output-dir DIR]
// Times ONNX Runtime (onnxruntime-node, CPU, graph optimisation "all") on one model and
// prints JSON: {"median_ms", "best_ms", "p90_ms", "max_ms", "runs", "load_ms" (session
// creation from the file), "peak_rss_mb" (the process), "base_rss_mb" (the process before
// the session: Node.js and the ORT library loaded), "cpu_ms" (process CPU time per timed
// run, all threads)}. --output-dir writes every output of
// the last run as DIR/<name>.npy (float32, int64, int32). The reference for
// bench/bench_models.sh and bench/compare_ort.sh.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const NPY_TYPES = { '<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array] };
const NPY_DESCR = { float32: '<f4', int64: '<i8', int32: '<i4' };

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!NPY_TYPES[descr]) throw new Error(`${file}: unsupported npy dtype ${descr}`);
  const [type, Ctor] = NPY_TYPES[descr];
  const bytes = buf.subarray(10 + hlen);
  const data = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return new ort.Tensor(type, data, shape);
}

function writeNpy(file, t) {
  const descr = NPY_DESCR[t.type];
  if (!descr) return false;
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  return true;
}

// Output names may hold '/' or ':': the same flat file names as `legacygpu run`.
const stem = (name) => name.replace(/[/\\: ]/g, '_') || 'output';
// Peak RSS of this process image: VmHWM (getrusage's maxRSS keeps the parent's peak
// across fork + exec, so a Python driver's size would leak into it).
const rssMb = () => {
  const m = /VmHWM:\s*(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};

const args = process.argv.slice(2);
const model = args[0];
let threads = 2, repeat = 20, warmup = 3, outDir = null;
const feeds = {};
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--threads') threads = Number(args[++i]);
  else if (args[i] === '--repeat') repeat = Number(args[++i]);
  else if (args[i] === '--warmup') warmup = Number(args[++i]);
  else if (args[i] === '--output-dir') outDir = args[++i];
  else {
    const eq = args[i].indexOf('=');
    feeds[args[i].slice(0, eq)] = readNpy(args[i].slice(eq + 1));
  }
}
const baseRss = rssMb();
const t0 = process.hrtime.bigint();
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'],
});
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
let out = null;
for (let i = 0; i < warmup; i++) out = await session.run(feeds);
const times = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < repeat; i++) {
  const t = process.hrtime.bigint();
  out = await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000 / repeat;
if (outDir && out) {
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) writeNpy(path.join(outDir, `${stem(name)}.npy`), out[name]);
}
times.sort((a, b) => a - b);
const n = times.length;
const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
console.log(JSON.stringify({
  median_ms: median, best_ms: times[0], p90_ms: times[Math.max(0, Math.ceil(0.9 * n) - 1)], max_ms: times[n - 1],
  runs: repeat, load_ms: loadMs, cpu_ms: cpuMs, peak_rss_mb: rssMb(), base_rss_mb: baseRss,
}));
