#!/usr/bin/env node
'use strict';
// Peer benchmark for `make bench`: MobileNetV2 224x224 (nsfwjs weights) through @tensorflow/tfjs-backend-wasm.
//
//   node tools/nnref/bench.js [--threads N] [--batch 32] [--reps 3] [--backend wasm|cpu] [--force-threads]
//
// Prints one JSON line: {"peer":"tfjs-wasm", ..., "ms_per_frame": <best rep>, "threads_requested", "threads_used", ...}.
// The input batch is deterministic (the committed tests/data/nn/*.rgb 224x224 inputs, cycled, flipped per frame).
// In Node, tfjs-backend-wasm 4.22 always loads the single-threaded SIMD build (its WASM_HAS_MULTITHREAD_SUPPORT
// flag is hard-wired to false under Node), so --threads 2 still runs on 1 thread: "threads_used" reports what
// tf.wasm.getThreadsCount() says. --force-threads sets that flag to true anyway (experimental; see README).
const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const o = { threads: 1, batch: 32, reps: 3, backend: 'wasm', force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = () => argv[++i];
    if (a === '--threads') o.threads = +next();
    else if (a === '--batch') o.batch = +next();
    else if (a === '--reps') o.reps = +next();
    else if (a === '--backend') o.backend = next();
    else if (a === '--force-threads') o.force = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

// The threaded build starts its pthreads from Blob URLs (browser style), which Node's worker_threads cannot load:
// the worker script comes from URL.createObjectURL(blob) in this thread, and each worker then does
// importScripts(URL.createObjectURL(mainScriptBlob)). Write both scripts to temp files instead: the worker file
// gets a one-line prefix that makes its createObjectURL return the main script's path.
function nodeBlobUrls() {
  const os = require('os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nnref-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const mainJs = path.join(dir, 'main.js');
  const RealBlob = global.Blob;
  global.Blob = class extends RealBlob {
    constructor(parts, opts) {
      super(parts, opts);
      this._text = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
      // the bundled factory refers to the bundle's own require aliases
      if (this._text && this._text.startsWith('var WasmBackendModuleThreadedSimd')) {
        fs.writeFileSync(mainJs, "var commonjsGlobal=globalThis,require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks')," +
          "require$$4=require('os');" + this._text);
      }
    }
  };
  const real = URL.createObjectURL;
  let n = 0;
  URL.createObjectURL = (b) => {
    if (!b || b._text == null) return real(b);
    const f = path.join(dir, `blob${n++}.js`);
    fs.writeFileSync(f, `URL.createObjectURL=()=>${JSON.stringify(mainJs)};URL.revokeObjectURL=()=>{};` + b._text);
    return f;
  };
}

(async () => {
  const o = parseArgs(process.argv.slice(2));
  const { tf, wasm, ROOT, loadModel, useBackend, tfjsVersions } = require('./common');
  if (o.force) { nodeBlobUrls(); tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true); }
  await useBackend(o.backend, o.backend === 'wasm' ? o.threads : 0);
  const used = o.backend === 'wasm' ? wasm.getThreadsCount() : 1;
  const simd = o.backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : false;

  const t0 = Date.now();
  const model = await loadModel('mobilenet_v2');
  const loadMs = Date.now() - t0;

  const dir = path.join(ROOT, 'tests', 'data', 'nn');
  const srcs = ['land224', 'mandel224', 'testsrc224'].map((n) => path.join(dir, n + '.rgb')).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
  if (!srcs.length) throw new Error('no tests/data/nn/*224.rgb inputs; run ref.js first');
  const N = 224 * 224 * 3, buf = new Float32Array(o.batch * N);
  for (let b = 0; b < o.batch; b++) {
    const s = srcs[b % srcs.length], flip = Math.floor(b / srcs.length) % 2;
    for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) for (let c = 0; c < 3; c++)
      buf[b * N + (y * 224 + x) * 3 + c] = s[(y * 224 + (flip ? 223 - x : x)) * 3 + c] / 255;
  }
  const x = tf.tensor4d(buf, [o.batch, 224, 224, 3]);

  // warm-up (first call compiles/allocates), then timed reps; report the best
  await model.predict(x).data();
  const times = [];
  for (let r = 0; r < o.reps; r++) {
    const t = process.hrtime.bigint();
    const y = model.predict(x);
    await y.data();
    y.dispose();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const best = Math.min(...times);
  console.log(JSON.stringify({
    peer: `tfjs-${o.backend}`, model: 'mobilenet_v2', input: '224x224x3', batch: o.batch,
    threads_requested: o.threads, threads_used: used, simd, force_threads: o.force || undefined,
    ms_per_frame: +(best / o.batch).toFixed(2), batch_ms: times.map((t) => +t.toFixed(1)), load_ms: loadMs,
    ...tfjsVersions(), node: process.version,
  }));
  x.dispose();
  process.exit(0);   // the wasm module keeps handles open
})().catch((e) => { console.error('bench.js:', e && (e.stack || e.message) || e); process.exit(1); });
