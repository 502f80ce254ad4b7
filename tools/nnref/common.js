'use strict';
// Shared helpers for ref.js and bench.js: load a TF.js layers model from models/ without network,
// and initialise the tfjs-backend-wasm backend from the local node_modules.
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');             // the thumbgen checkout
const WASM_DIST = path.join(__dirname, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;

// Silence the "Hi, looks like you are running TensorFlow.js in Node.js ... install tfjs-node" banner.
function quietRequireTf() {
  const log = console.log, warn = console.warn;
  console.log = console.warn = () => {};
  try {
    const tf = require('@tensorflow/tfjs');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    return { tf, wasm };
  } finally { console.log = log; console.warn = warn; }
}
const { tf, wasm } = quietRequireTf();

const MODELS = {
  mobilenet_v2: { dir: 'models/nsfwjs/mobilenet_v2', size: 224, scale: 255, labels: ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] },
  inception_v3: { dir: 'models/nsfwjs/inception_v3', size: 299, scale: 255, labels: ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] },
  esrgan_x2: { dir: 'models/esrgan-slim/x2', size: null, scale: 1 },  // any H×W, input 0..255 as float
};

// model.json + shards → tf.LayersModel via tf.io.fromMemory (no fetch, no file:// handler).
async function loadModel(name) {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model ${name} (have: ${Object.keys(MODELS).join(', ')})`);
  const dir = path.join(ROOT, m.dir);
  const mjPath = path.join(dir, 'model.json');
  if (!fs.existsSync(mjPath)) throw new Error(`${mjPath} is missing: run scripts/fetch-models first`);
  const mj = JSON.parse(fs.readFileSync(mjPath, 'utf8'));
  const bufs = [], weightSpecs = [];
  for (const g of mj.weightsManifest) {
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
    weightSpecs.push(...g.weights);
  }
  const all = Buffer.concat(bufs);
  // NOT all.buffer: a small Buffer shares Node's 8 KB pool, so .buffer would hold other bytes too.
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs, weightData }));
}

async function useBackend(name, threads) {
  if (name === 'wasm') {
    wasm.setWasmPaths(WASM_DIST);           // local files only; no network
    if (threads) wasm.setThreadsCount(threads);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend(${name}) failed`);
  await tf.ready();
}

function tfjsVersions() {
  const v = (p) => require(path.join(__dirname, 'node_modules', '@tensorflow', p, 'package.json')).version;
  return { tfjs: v('tfjs'), 'tfjs-backend-wasm': v('tfjs-backend-wasm') };
}

module.exports = { tf, wasm, ROOT, WASM_DIST, MODELS, loadModel, useBackend, tfjsVersions };
