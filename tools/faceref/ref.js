'use strict';
// tools/faceref/ref.js — reference outputs of @vladmandic/face-api 1.7.15 (tiny face detector +
// 68-point landmark nets) for src/analyze/faces.c, written to tests/data/faces/faces-ref.json.
// Dev-only: `(cd tools/faceref && npm ci) && node tools/faceref/ref.js`. See README.md.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'models', 'face-api');
const OUT = path.join(ROOT, 'tests', 'data', 'faces', 'faces-ref.json');
const WASM_DIST = path.join(__dirname, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;
const OPENCV = '/usr/share/doc/opencv-doc/';

// Every input is an opencv-doc picture (BSD-licensed Debian package), decoded by ffmpeg to RGB24
// at its own size; the C test decodes it with the same command.
const IMAGES = [
  { name: 'face_swapped', file: OPENCV + 'opencv4/html/face_swapped.jpg' }, // 320x320, one face
  { name: 'facereg', file: OPENCV + 'opencv4/html/facereg.jpg' },           // 200x200, four faces
  { name: 'julia', file: OPENCV + 'opencv4/html/julia_facedetect_sample.jpg' }, // 520x769 (Mona Lisa)
  { name: 'face_cut', file: OPENCV + 'opencv4/html/face_swapped.jpg', vf: 'crop=180:320:0:0' }, // face cut by the right edge
  { name: 'home', file: OPENCV + 'examples/data/home.jpg' },                 // no face
];
const SIZES = [160, 224, 320, 416];
const SCORE_THRESHOLD = 0.3;

function quiet(fn) {
  const log = console.log, warn = console.warn;
  console.log = console.warn = () => {};
  try { return fn(); } finally { console.log = log; console.warn = warn; }
}

function decode(file, vf) {
  const probe = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries',
    'stream=width,height', '-of', 'csv=p=0', file]).toString().trim().split(',').map(Number);
  let [w, h] = probe;
  const m = /^crop=(\d+):(\d+):/.exec(vf || '');
  if (m) [w, h] = [Number(m[1]), Number(m[2])];
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', vf || 'null', '-f', 'rawvideo',
    '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 28 });
  if (rgb.length !== w * h * 3) throw new Error(`${file}: ${rgb.length} bytes, expected ${w}x${h}x3`);
  return { w, h, rgb };
}

const r6 = (v) => Math.round(v * 1e5) / 1e5;

async function main() {
  const faceapi = quiet(() => require('@vladmandic/face-api/dist/face-api.node-wasm.js'));
  const tf = faceapi.tf;
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(WASM_DIST);
  if (!(await tf.setBackend('wasm'))) throw new Error('no wasm backend');
  await tf.ready();
  await faceapi.nets.tinyFaceDetector.loadFromDisk(MODELS);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(MODELS);
  await faceapi.nets.faceLandmark68TinyNet.loadFromDisk(MODELS);

  const out = {
    generator: {
      command: 'node tools/faceref/ref.js',
      'face-api': require('@vladmandic/face-api/package.json').version,
      tfjs: require('@tensorflow/tfjs/package.json').version,
      backend: tf.getBackend(),
      node: process.version,
      ffmpeg: execFileSync('ffmpeg', ['-version']).toString().split('\n')[0],
    },
    format: 'images[].runs[] per detector input size: faces[] sorted as face-api returns them ' +
      '(score, descending after NMS); box = detection box in image pixels (x, y, w, h, unclipped); ' +
      'crop = the clipped, floored box the landmark net sees; lm68 / lm68tiny = the 136 landmark ' +
      'coordinates relative to the crop (x0, y0, x1, y1, ...; face-api relativePositions)',
    score_threshold: SCORE_THRESHOLD,
    images: [],
  };
  for (const im of IMAGES) {
    const { w, h, rgb } = decode(im.file, im.vf);
    const entry = { name: im.name, file: im.file, vf: im.vf || 'null', width: w, height: h,
      rgb_sha256: crypto.createHash('sha256').update(rgb).digest('hex'), runs: [] };
    const t = tf.tensor3d(new Int32Array(rgb), [h, w, 3], 'int32');
    for (const size of SIZES) {
      const opts = new faceapi.TinyFaceDetectorOptions({ inputSize: size, scoreThreshold: SCORE_THRESHOLD });
      const full = await faceapi.detectAllFaces(t, opts).withFaceLandmarks(false);
      const tiny = await faceapi.detectAllFaces(t, opts).withFaceLandmarks(true);
      const faces = full.map((f, i) => {
        const b = f.detection.box;
        const crop = b.clipAtImageBorders(w, h);
        return {
          score: r6(f.detection.score),
          box: [b.x, b.y, b.width, b.height].map(r6),
          crop: [crop.x, crop.y, crop.width, crop.height],
          lm68: f.landmarks.relativePositions.flatMap((p) => [r6(p.x), r6(p.y)]),
          lm68tiny: tiny[i].landmarks.relativePositions.flatMap((p) => [r6(p.x), r6(p.y)]),
        };
      });
      entry.runs.push({ input_size: size, faces });
      console.error(`${im.name} @${size}: ${faces.length} face(s) ${faces.map((f) => f.score.toFixed(3)).join(' ')}`);
    }
    t.dispose();
    out.images.push(entry);
  }
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  // one line per number array
  const text = JSON.stringify(out, null, 1).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g,
    (_, a) => '[' + a.replace(/\s+/g, '') + ']');
  fs.writeFileSync(OUT, text + '\n');
  console.error(`wrote ${path.relative(ROOT, OUT)}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
