// scripts/unpack-nsfwjs.js PKG OUT — nsfwjs ships its TF.js layers models as
// browserify bundles: require() of model.min.js returns the model.json object and
// require() of each shard returns the shard bytes as one base64 string. Write them
// back out as plain model.json + .bin files (the format src/nn/ loads).
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) {
  console.error('usage: unpack-nsfwjs.js PKG_DIR OUT_DIR');
  process.exit(2);
}
const modelsDir = path.join(pkg, 'dist/models');
for (const name of ['mobilenet_v2', 'inception_v3']) {
  const dir = path.resolve(modelsDir, name);
  const od = path.join(out, name);
  const mj = require(path.join(dir, 'model.min.js'));
  if (!mj || !mj.modelTopology || !Array.isArray(mj.weightsManifest))
    throw new Error(`${dir}: model.min.js is not a layers model`);
  fs.mkdirSync(od, { recursive: true });
  for (const g of mj.weightsManifest) {
    for (const p of g.paths) {
      const b64 = require(path.join(dir, p + '.min.js'));
      fs.writeFileSync(path.join(od, p + '.bin'), Buffer.from(b64, 'base64'));
    }
    g.paths = g.paths.map((p) => p + '.bin');
  }
  fs.writeFileSync(path.join(od, 'model.json'), JSON.stringify(mj));
}
for (const f of ['LICENSE', 'README.md'])
  if (fs.existsSync(path.join(pkg, f))) fs.copyFileSync(path.join(pkg, f), path.join(out, f));
