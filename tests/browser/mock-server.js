#!/usr/bin/env node
// A small stand-in for `thumbgen serve`, for developing web/ without the C server.
// It implements the API of docs/api.md with fake jobs that progress over a few seconds
// and always "produce" the same outputs: the fixture video (build/fixtures/story.mp4),
// a GIF, a WebP, an MP4 loop and a poster made once with ffmpeg into /tmp/thumbgen-mock/.
//
//   node tests/browser/mock-server.js [--port 8765] [--host 127.0.0.1]
//
// Special URLs: a URL containing "broken" fails during analysis; one containing "slow"
// progresses ten times slower. Any URL that is not http/https is refused with 422.
// Also: GET /api/options (the option table, in the server's form), POST /api/jobs/{id}/render
// (an edited plan: a new job straight to the render stage), POST /api/jobs/{id}/retry and
// DELETE of an ended job (deleted). The formats option says which of the GIF, WebP and MP4
// a job's result has, as with the server (result.gif/webp/mp4 and result.outputs).
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const WEB = path.join(ROOT, 'web');
const FIXTURES = process.env.TG_FIXTURES || path.join(ROOT, 'build', 'fixtures');
const VIDEO = path.join(FIXTURES, 'story.mp4');
const OUT = process.env.TG_MOCK_OUT || '/tmp/thumbgen-mock';

// The plan `thumbgen plan build/fixtures/story.mp4` printed (docs/plan.md).
const PLAN = {
  source: { path: 'story.mp4', duration: 40.0, width: 640, height: 360, fps: 25.0 },
  analysis: { mode: 'full', seconds: 40.0 },
  crop: { x: 0, y: 0, w: 640, h: 360 },
  shots: [
    { start: 0.0, end: 2.0 }, { start: 3.04, end: 7.0 }, { start: 7.0, end: 12.0 },
    { start: 13.0, end: 17.08 }, { start: 18.08, end: 23.0 }, { start: 23.0, end: 26.0 },
    { start: 26.0, end: 28.0 }, { start: 28.0, end: 32.04 }, { start: 33.16, end: 36.0 },
    { start: 36.0, end: 40.0 },
  ],
  segments: [
    { start: 7.55, end: 8.75, score: 0.8989, shot: 2 },
    { start: 15.54, end: 16.74, score: 0.7657, shot: 3 },
    { start: 18.33, end: 19.53, score: 0.8931, shot: 4 },
  ],
  keyframes: [
    { t: 18.28, score: 0.931, shot: 4 }, { t: 8.84, score: 0.9244, shot: 2 },
    { t: 16.8, score: 0.7914, shot: 3 }, { t: 3.36, score: 0.7873, shot: 1 },
    { t: 28.36, score: 0.6867, shot: 7 }, { t: 7.24, score: 0.9203, shot: 2 },
  ],
  poster: { t: 18.28 },
  warnings: [],
};

// The server's option table (GET /api/options, docs/api.md "Options"), in its own form.
const TABLE = [
  { name: 'analysis', stage: 'analyze', type: 'choice', choices: ['auto', 'full', 'sparse'], default: 'auto' },
  { name: 'cnn', stage: 'analyze', type: 'choice', choices: ['none', 'mobilenet_v2', 'inception_v3'], default: 'mobilenet_v2' },
  { name: 'clips', stage: 'select', type: 'int', min: 1, max: 20, default: 3 },
  { name: 'clip-len', stage: 'select', type: 'number', min: 0.3, max: 10, default: 1.2 },
  { name: 'keyframes', stage: 'select', type: 'int', min: 1, max: 50, default: 6 },
  { name: 'style', stage: 'select', type: 'choice', choices: ['clips', 'slideshow'], default: 'clips' },
  { name: 'safe', stage: 'select', type: 'choice', choices: ['off', 'soft', 'strict'], default: 'soft' },
  { name: 'width', stage: 'render', type: 'int', min: 16, max: 1920, default: 480 },
  { name: 'fps', stage: 'render', type: 'number', min: 1, max: 50, default: 12 },
  { name: 'quality', stage: 'render', type: 'int', min: 1, max: 100, default: 90 },
  { name: 'still-len', stage: 'render', type: 'number', min: 0.1, max: 5, default: 0.6 },
  { name: 'crossfade', stage: 'render', type: 'number', min: 0, max: 1, default: 0 },
  { name: 'max-bytes', stage: 'render', type: 'bytes', min: 10240, max: 1073741824, default: null },
  { name: 'upscale', stage: 'render', type: 'choice', choices: ['off', 'auto', 'hd', 'fullhd'], default: 'auto' },
  { name: 'upscale-method', stage: 'render', type: 'choice', choices: ['lanczos', 'lanczos+sharpen', 'cnn'], default: 'lanczos' },
  { name: 'formats', stage: 'render', type: 'set', choices: ['gif', 'webp', 'mp4'], default: ['gif', 'webp', 'mp4'] },
  { name: 'threads', stage: 'render', type: 'int', min: 0, max: 64, default: 0 },
].map((r) => ({ help: '', ...r }));
const OPTIONS = Object.fromEntries(TABLE.map((r) => [r.name, r]));

function makeOutputs() {
  fs.mkdirSync(OUT, { recursive: true });
  const gif = path.join(OUT, 'story.gif');
  const jpg = path.join(OUT, 'story.jpg');
  if (!fs.existsSync(VIDEO)) {
    console.error(`mock: ${VIDEO} is missing: run 'make fixtures' first`);
    process.exit(1);
  }
  if (!fs.existsSync(gif)) {
    const parts = PLAN.segments.map((s, i) =>
      `[0:v]trim=${s.start}:${s.end},setpts=PTS-STARTPTS[v${i}]`).join(';');
    const ins = PLAN.segments.map((_, i) => `[v${i}]`).join('');
    const filter = `${parts};${ins}concat=n=${PLAN.segments.length}:v=1:a=0,fps=12,` +
      'scale=480:-2:flags=lanczos,split[a][b];[a]palettegen[p];[b][p]paletteuse';
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', VIDEO, '-filter_complex', filter, gif]);
  }
  // the same clips as the GIF, as the server's other two formats (the page shows the smallest)
  const webp = path.join(OUT, 'story.webp');
  const mp4 = path.join(OUT, 'story-loop.mp4');
  const clips = () => {
    const parts = PLAN.segments.map((s, i) =>
      `[0:v]trim=${s.start}:${s.end},setpts=PTS-STARTPTS[v${i}]`).join(';');
    const ins = PLAN.segments.map((_, i) => `[v${i}]`).join('');
    return `${parts};${ins}concat=n=${PLAN.segments.length}:v=1:a=0,fps=12,scale=480:-2:flags=lanczos`;
  };
  if (!fs.existsSync(webp)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', VIDEO, '-filter_complex', clips(),
      '-c:v', 'libwebp_anim', '-quality', '75', '-loop', '0', webp]);
  }
  if (!fs.existsSync(mp4)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', VIDEO, '-filter_complex', `${clips()},format=yuv420p`,
      '-an', '-c:v', 'libx264', '-crf', '28', '-movflags', '+faststart', mp4]);
  }
  if (!fs.existsSync(jpg)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', String(PLAN.poster.t), '-i', VIDEO,
      '-frames:v', '1', '-q:v', '3', jpg]);
  }
  return { gif, webp, mp4, jpg };
}

const files = makeOutputs();
const MEDIA = {
  '/media/videos/story.mp4': { file: VIDEO, type: 'video/mp4' },
  '/media/videos/story.play.mp4': { file: VIDEO, type: 'video/mp4' }, // an AVI's playable copy
  '/media/thumbnails/story.gif': { file: files.gif, type: 'image/gif' },
  '/media/thumbnails/story.webp': { file: files.webp, type: 'image/webp' },
  '/media/thumbnails/story-loop.mp4': { file: files.mp4, type: 'video/mp4' },
  '/media/thumbnails/story.jpg': { file: files.jpg, type: 'image/jpeg' },
};

// ---- jobs ----
const jobs = new Map(); // id -> job (insertion order = creation order)
const listeners = new Map(); // id -> Set of SSE responses
const STAGES = [
  ['download', 1500], ['analyze', 2500], ['select', 400], ['render', 1500],
];

function now() { return new Date().toISOString().replace(/\.\d+Z$/, 'Z'); }

function publicJob(j) {
  const { _timer, _key, _plan, _src, ...rest } = j;
  return rest;
}

function sendError(res, status, code, message) {
  sendJson(res, status, { error: { code, message } });
}

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function sse(res, event, data) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function notify(j) {
  const set = listeners.get(j.id);
  if (!set) return;
  for (const res of set) {
    if (j.state === 'done') { sse(res, 'done', publicJob(j)); res.end(); }
    else if (j.state === 'failed' || j.state === 'cancelled') { sse(res, 'error', j.error); res.end(); }
    else sse(res, 'progress', { state: j.state, stage: j.stage, percent: j.percent });
  }
  if (j.state === 'done' || j.state === 'failed' || j.state === 'cancelled') listeners.delete(j.id);
}

function runJob(j) {
  const slow = j.source.kind === 'url' && /slow/.test(j.source.url) ? 10 : 1;
  const broken = j.source.kind === 'url' && /broken/.test(j.source.url);
  let stage = -1;
  let t0 = 0;
  const startAt = Date.now() + 600 * slow;
  j._timer = setInterval(() => {
    const t = Date.now();
    if (t < startAt) return;
    if (stage < 0 || t - t0 >= STAGES[stage][1] * slow) {
      stage++;
      t0 = t;
      if (j.source.kind === 'upload' && stage === 0) stage = 1; // nothing to download
      if (j.source.kind === 'edit' && stage < 3) stage = 3; // an edited plan: render only
      if (stage >= STAGES.length) {
        clearInterval(j._timer);
        const result = { video: '/media/videos/story.mp4', poster: '/media/thumbnails/story.jpg', outputs: {},
          plan: j._plan || { ...PLAN, segments: PLAN.segments.slice(0, j.options.clips) } };
        if (j.source.kind === 'upload' && /\.avi$/i.test(j.source.name || '')) {
          // what browsers cannot play is shown as the server's MP4 copy (docs/api.md)
          Object.assign(result, { video: '/media/videos/story.play.mp4', source_video: '/media/videos/story.avi', playable_copy: true });
        }
        const made = { gif: 'story.gif', webp: 'story.webp', mp4: 'story-loop.mp4' };
        const formats = Array.isArray(j.options.formats) && j.options.formats.length ? j.options.formats : ['gif'];
        for (const k of Object.keys(made)) {
          if (!formats.includes(k)) continue;
          const url = `/media/thumbnails/${made[k]}`;
          result[k] = url;
          result.outputs[k] = { url, bytes: fs.statSync(files[k]).size, width: 480, height: 270 };
        }
        Object.assign(j, { state: 'done', stage: 'done', percent: 100, updated: now(), result });
        notify(j);
        return;
      }
    }
    const pct = Math.min(100, Math.floor(100 * (t - t0) / (STAGES[stage][1] * slow)));
    if (broken && STAGES[stage][0] === 'analyze' && pct >= 40) {
      clearInterval(j._timer);
      Object.assign(j, { state: 'failed', updated: now(),
        error: { code: 'ECORRUPT', message: 'The video is corrupt or truncated: no frame could be decoded after 14.2 s.' } });
      notify(j);
      return;
    }
    if (j.state !== 'running' || j.stage !== STAGES[stage][0] || j.percent !== pct) {
      Object.assign(j, { state: 'running', stage: STAGES[stage][0], percent: pct, updated: now() });
      notify(j);
    }
  }, 100);
}

function validateOptions(input) {
  const out = {};
  for (const [k, def] of Object.entries(OPTIONS)) out[k] = def.default;
  for (const [k, v] of Object.entries(input || {})) {
    const def = OPTIONS[k];
    if (!def) throw [400, 'EINVAL', `Unknown option '${k}'.`];
    if (v === null) continue;
    if (def.type === 'choice') {
      if (!def.choices.includes(String(v))) throw [400, 'EINVAL', `Option '${k}' must be one of ${def.choices.join(', ')}.`];
      out[k] = String(v);
    } else if (def.type === 'set') {
      const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
      if (!list.length || list.some((x) => !def.choices.includes(x))) {
        throw [400, 'EINVAL', `Option '${k}' must be one or more of ${def.choices.join(', ')}.`];
      }
      out[k] = def.choices.filter((c) => list.includes(c));
    } else if (def.type === 'bytes') {
      const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(String(v));
      const n = m ? Number(m[1]) * ({ '': 1, k: 1024, m: 1048576, g: 1073741824 })[m[2].toLowerCase()] : NaN;
      if (!(n >= def.min && n <= def.max)) throw [400, 'EINVAL', `Option '${k}' must be between 10k and 1G.`];
      out[k] = n;
    } else {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n) || (def.type === 'int' && !Number.isInteger(n)) || n < def.min || n > def.max) {
        throw [400, 'EINVAL', `Option '${k}' must be a number from ${def.min} to ${def.max}.`];
      }
      out[k] = n;
    }
  }
  return out;
}

function createJob(res, source, options, key, plan) {
  for (const j of jobs.values()) {
    if (j._key === key && j.state === 'done') {
      return sendJson(res, 200, { id: j.id, state: 'done', cached: true });
    }
  }
  const t = now();
  const j = { id: crypto.randomBytes(16).toString('hex'), state: 'queued', stage: 'queued',
    percent: 0, source, options, error: null, created: t, updated: t, result: null, _key: key, _plan: plan };
  jobs.set(j.id, j);
  runJob(j);
  sendJson(res, 202, { id: j.id, state: 'queued', cached: false });
}

function parseMultipart(buf, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw [400, 'EINVAL', 'The upload is not valid multipart form data.'];
  const boundary = Buffer.from('--' + (m[1] || m[2]));
  const fields = {};
  let file = null;
  let pos = buf.indexOf(boundary);
  while (pos >= 0) {
    pos += boundary.length;
    if (buf.slice(pos, pos + 2).toString() === '--') break;
    pos += 2; // CRLF
    const hdrEnd = buf.indexOf('\r\n\r\n', pos);
    if (hdrEnd < 0) break;
    const headers = buf.slice(pos, hdrEnd).toString();
    const next = buf.indexOf(boundary, hdrEnd);
    if (next < 0) break;
    const body = buf.slice(hdrEnd + 4, next - 2);
    const name = /name="([^"]*)"/i.exec(headers);
    const filename = /filename="([^"]*)"/i.exec(headers);
    if (name && name[1] === 'video' && filename) file = { name: filename[1], data: body };
    else if (name) fields[name[1]] = body.toString();
    pos = next;
  }
  return { fields, file };
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) { reject([413, 'ETOOBIG', 'The upload is larger than the 512 MB limit.']); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function postJob(req, res) {
  const ct = req.headers['content-type'] || '';
  const body = await readBody(req, 512 * 1024 * 1024);
  if (/^multipart\/form-data/i.test(ct)) {
    const { fields, file } = parseMultipart(body, ct);
    if (!file) throw [400, 'EINVAL', "The upload has no file part named 'video'."];
    const head = file.data.slice(0, 12);
    const isVideo = head.slice(4, 8).toString() === 'ftyp' || head.slice(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])) ||
      (head.slice(0, 4).toString() === 'RIFF' && head.slice(8, 12).toString() === 'AVI ');
    if (!isVideo) throw [415, 'EFORMAT', 'The uploaded file is not a video.'];
    const options = validateOptions(fields);
    const key = crypto.createHash('sha256').update(file.data).digest('hex') + JSON.stringify(options);
    return createJob(res, { kind: 'upload', name: file.name }, options, key);
  }
  let obj;
  try { obj = JSON.parse(body.toString() || 'null'); } catch (e) { throw [400, 'EINVAL', 'The request body is not valid JSON.']; }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw [400, 'EINVAL', 'The request body must be a JSON object.'];
  if (typeof obj.url !== 'string' || !obj.url.trim()) throw [400, 'EINVAL', "The request has no 'url'."];
  let u;
  try { u = new URL(obj.url.trim()); } catch (e) { throw [422, 'EURL', 'The link is not a valid URL.']; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw [422, 'EURL', 'Only http and https links can be used.'];
  if (u.username || u.password) throw [422, 'EREFUSED', 'Links with a user name or password are refused.'];
  const options = validateOptions(obj.options);
  return createJob(res, { kind: 'url', url: u.href }, options, u.href + JSON.stringify(options));
}

function serveFile(req, res, file, type) {
  let st;
  try { st = fs.statSync(file); } catch (e) { return sendError(res, 404, 'ENOENT', 'No such file.'); }
  const size = st.size;
  const range = req.headers.range;
  const base = { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-cache' };
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    let a, b;
    if (m && m[1] === '' && m[2] !== '') { a = Math.max(0, size - Number(m[2])); b = size - 1; }
    else if (m && m[1] !== '') { a = Number(m[1]); b = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
    if (a === undefined || a > b || a >= size) {
      res.writeHead(416, { ...base, 'Content-Range': `bytes */${size}` });
      return res.end();
    }
    res.writeHead(206, { ...base, 'Content-Range': `bytes ${a}-${b}/${size}`, 'Content-Length': b - a + 1 });
    if (req.method === 'HEAD') return res.end();
    return fs.createReadStream(file, { start: a, end: b }).pipe(res);
  }
  res.writeHead(200, { ...base, 'Content-Length': size });
  if (req.method === 'HEAD') return res.end();
  fs.createReadStream(file).pipe(res);
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

async function handle(req, res) {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  let m;
  if ((req.method === 'GET' || req.method === 'HEAD') && p === '/') {
    return serveFile(req, res, path.join(WEB, 'index.html'), TYPES['.html']);
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && (m = /^\/static\/([A-Za-z0-9_-][A-Za-z0-9._-]*)$/.exec(p))) {
    return serveFile(req, res, path.join(WEB, m[1]), TYPES[path.extname(m[1])] || 'application/octet-stream');
  }
  if (MEDIA[p] && (req.method === 'GET' || req.method === 'HEAD')) {
    return serveFile(req, res, MEDIA[p].file, MEDIA[p].type);
  }
  if (p === '/healthz') {
    const all = [...jobs.values()];
    return sendJson(res, 200, { ok: true, workers: 2, queued: all.filter((j) => j.state === 'queued').length,
      running: all.filter((j) => j.state === 'running').length });
  }
  // The mock is open, like thumbgen serve on loopback without a token.
  if (p === '/api/login') return sendJson(res, 200, { ok: true, auth: false });
  if (p === '/api/jobs' && req.method === 'POST') return postJob(req, res);
  if (p === '/api/jobs' && req.method === 'GET') {
    const offset = Math.max(0, parseInt(u.searchParams.get('offset') || '0', 10) || 0);
    const limit = Math.min(100, Math.max(1, parseInt(u.searchParams.get('limit') || '20', 10) || 20));
    const all = [...jobs.values()].reverse();
    return sendJson(res, 200, { jobs: all.slice(offset, offset + limit).map(publicJob), total: all.length, offset, limit });
  }
  if (p === '/api/options' && req.method === 'GET') return sendJson(res, 200, { options: TABLE });
  if ((m = /^\/api\/jobs\/([0-9a-f]{32})\/(render|retry)$/.exec(p)) && req.method === 'POST') {
    const j = jobs.get(m[1]);
    if (!j) throw [404, 'ENOENT', 'There is no such job.'];
    const body = await readBody(req, 1 << 20);
    let obj = {};
    try { obj = JSON.parse(body.toString() || '{}'); } catch (e) { throw [400, 'EINVAL', 'The request body is not valid JSON.']; }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw [400, 'EINVAL', 'The request body must be a JSON object.'];
    if (m[2] === 'retry') {
      if (j.state !== 'failed' && j.state !== 'cancelled') throw [409, 'ECONFLICT', 'Only a failed or cancelled job can be tried again.'];
      const options = validateOptions({ ...j.options, ...(obj.options || {}) });
      return createJob(res, j.source, options, `${j._key}retry${crypto.randomBytes(4).toString('hex')}`);
    }
    if (j.state !== 'done' || !j.result) throw [409, 'ECONFLICT', 'Only a finished job can be edited and made again.'];
    const edit = obj.plan;
    const segs = edit && Array.isArray(edit.segments) ? edit.segments : null;
    const dur = PLAN.source.duration;
    if (!segs || !segs.length) throw [400, 'EPLAN', 'Invalid plan: an edited thumbnail needs at least one clip.'];
    for (const g of segs) {
      if (!g || !(Number(g.start) >= 0) || !(Number(g.end) > Number(g.start)) || Number(g.end) > dur) {
        throw [400, 'EPLAN', 'Invalid plan: each clip needs a start before its end, inside the video.'];
      }
    }
    const plan = { ...j.result.plan, segments: segs.map((g) => ({ start: Number(g.start), end: Number(g.end) })) };
    if (edit.poster && Number.isFinite(Number(edit.poster.t))) plan.poster = { t: Number(edit.poster.t) };
    if (Array.isArray(edit.keyframes)) plan.keyframes = edit.keyframes;
    const name = j.source.kind === 'edit' ? j.source.name : (j.source.name || j.source.url || 'video');
    return createJob(res, { kind: 'edit', of: j.id, name }, j.options, `edit${j.id}${JSON.stringify(plan)}`, plan);
  }
  if ((m = /^\/api\/jobs\/([0-9a-f]{32})(\/events)?$/.exec(p))) {
    const j = jobs.get(m[1]);
    if (!j) throw [404, 'ENOENT', 'There is no such job.'];
    if (m[2] && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      // The current state comes first, then every change.
      if (j.state === 'done') { sse(res, 'done', publicJob(j)); return res.end(); }
      if (j.state === 'failed' || j.state === 'cancelled') { sse(res, 'error', j.error); return res.end(); }
      sse(res, 'progress', { state: j.state, stage: j.stage, percent: j.percent });
      if (!listeners.has(j.id)) listeners.set(j.id, new Set());
      listeners.get(j.id).add(res);
      req.on('close', () => { const s = listeners.get(j.id); if (s) s.delete(res); });
      return;
    }
    if (!m[2] && req.method === 'GET') return sendJson(res, 200, publicJob(j));
    if (!m[2] && req.method === 'DELETE') {
      if (j.state === 'done' || j.state === 'failed' || j.state === 'cancelled') {
        jobs.delete(j.id); // an ended job is deleted (the mock's files are shared: kept)
        return sendJson(res, 200, { id: j.id, deleted: true });
      }
      clearInterval(j._timer);
      Object.assign(j, { state: 'cancelled', updated: now(), error: { code: 'ECANCEL', message: 'The job was cancelled.' } });
      notify(j);
      return sendJson(res, 200, publicJob(j));
    }
  }
  throw [404, 'ENOENT', 'No such page.'];
}

const args = process.argv.slice(2);
const argv = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const host = argv('--host', '127.0.0.1');
const port = Number(argv('--port', '8765'));

// The server's security headers on every answer (src/serve/access.c), so that the page is
// developed under the same Content-Security-Policy.
const SECURITY = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const server = http.createServer((req, res) => {
  for (const [k, v] of Object.entries(SECURITY)) res.setHeader(k, v);
  handle(req, res).catch((e) => {
    if (Array.isArray(e)) sendError(res, e[0], e[1], e[2]);
    else { console.error(e); sendError(res, 500, 'EINTERNAL', 'Internal error.'); }
  });
});
server.listen(port, host, () => {
  console.log(`mock thumbgen API on http://${host}:${server.address().port}/`);
});
