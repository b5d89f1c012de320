// ort_crosscheck.mjs CASES_DIR: runs every case that make_contrib_cases.py or
// tests/ml/make_sklearn_models.py wrote with --npy (a <case>/npy folder) through ONNX Runtime
// (onnxruntime-node, CPU) and compares its outputs with the references (numpy's, or
// scikit-learn's), so the references and the test graphs are checked against ONNX Runtime.
// A local check, not part of CI: NODE_PATH must reach onnxruntime-node (see docs/models.md).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<u4': ['uint32', Uint32Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const [type, Ctor] = TYPES[descr];
  const bytes = Uint8Array.prototype.slice.call(buf.subarray(10 + hlen));
  return new ort.Tensor(type, new Ctor(bytes.buffer), shape);
}

const dir = process.argv[2];
let pass = 0, fail = 0;
for (const name of fs.readdirSync(dir).sort()) {
  const npy = path.join(dir, name, 'npy');
  if (!fs.existsSync(npy)) continue;
  const feeds = {}, refs = {};
  for (const f of fs.readdirSync(npy)) {
    const [kind, tname] = [f.split('.')[0], f.slice(f.indexOf('.') + 1, -4)];
    (kind === 'input' ? feeds : refs)[tname] = readNpy(path.join(npy, f));
  }
  try {
    const s = await ort.InferenceSession.create(path.join(dir, name, 'model.onnx'), { executionProviders: ['cpu'] });
    const out = await s.run(feeds, Object.keys(refs));
    let worst = 0, where = '';
    for (const [k, ref] of Object.entries(refs)) {
      const got = out[k].data;
      for (let i = 0; i < ref.data.length; i++) {
        const g = Number(got[i]), r = Number(ref.data[i]);
        const err = Math.abs(g - r) - (1e-4 + 1e-3 * Math.abs(r));
        if (err > worst) { worst = err; where = `${k}[${i}] ort ${g} ref ${r}`; }
      }
    }
    if (worst > 0) { fail++; console.log(`DIFF  ${name}: ${where}`); } else { pass++; console.log(`same  ${name}`); }
  } catch (e) {
    fail++;
    console.log(`ERROR ${name}: ${String(e.message).split('\n')[0]}`);
  }
}
console.log(`${pass} agree with ONNX Runtime, ${fail} differ or fail`);
