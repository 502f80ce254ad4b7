#!/usr/bin/env node
// Browser test of the web page against the real server (`thumbgen serve`).
//
//   node tests/browser/ui.test.js            (from the repository root)
//
// Environment:
//   THUMBGEN_BIN   the thumbgen binary (default build/thumbgen)
//   TG_FIXTURES    the fixtures folder with story.mp4 (default build/fixtures; `make fixtures`)
//   TG_BROWSER_OUT where the screenshots and the server log go (default build/browser)
//   CHROMIUM       the browser (default /usr/bin/chromium; Debian's package `chromium`)
//   TG_MOCK=1      run against tests/browser/mock-server.js instead of thumbgen (page development)
//
// Prints one line per check, then `N passed, M failed`; exits 0 when all passed, else 1.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(process.env.THUMBGEN_BIN || 'build/thumbgen');
const FIXTURES = path.resolve(process.env.TG_FIXTURES || 'build/fixtures');
const OUT = path.resolve(process.env.TG_BROWSER_OUT || 'build/browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MOCK = process.env.TG_MOCK === '1';
const VIDEO = path.join(FIXTURES, 'story.mp4');
const RESULT_TIMEOUT = 120000;
const OVERALL_TIMEOUT = 480000;

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log(`PASS ${name}${detail ? ` (${detail})` : ''}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`); }
  return ok;
}

class Fatal extends Error {}

// ---------------------------------------------------------------- helpers

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function httpGet(url, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function getJson(url) {
  const r = await httpGet(url);
  let data;
  try { data = JSON.parse(r.body); } catch (e) { throw new Fatal(`GET ${url}: answer is not JSON (status ${r.status}): ${r.body.slice(0, 200)}`); }
  if (r.status !== 200) throw new Fatal(`GET ${url}: status ${r.status}: ${r.body.slice(0, 200)}`);
  return data;
}

// A tiny static server for the fixture video (with byte ranges, as a real host has).
function startVideoServer(file) {
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      if (req.url.split('?')[0] !== '/story.mp4' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      const size = fs.statSync(file).size;
      const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
      let start = 0;
      let end = size - 1;
      let status = 200;
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') { start = Math.max(0, size - Number(m[2])); } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
        }
        if (start > end || start >= size) {
          res.writeHead(416, { 'Content-Range': `bytes */${size}` });
          res.end();
          return;
        }
        status = 206;
      }
      const headers = { 'Content-Type': 'video/mp4', 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' };
      if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      res.writeHead(status, headers);
      if (req.method === 'HEAD') { res.end(); return; }
      fs.createReadStream(file, { start, end }).pipe(res);
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

function httpRequest(url, { method = 'GET', headers = {}, body = null, timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// A page of another origin (another port of 127.0.0.1) that tries to use the API:
// a fetch POST and a form POST to /api/jobs, and the page in an iframe.
function startEvilServer(target) {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>evil</title></head><body>
<iframe id="frame" src="${target}/" width="600" height="400"></iframe>
<form id="form" method="POST" action="${target}/api/jobs" enctype="text/plain" target="sink">
<input name='{"url":"http://example.com/x.mp4","x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
window.results = {};
fetch('${target}/api/jobs', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
  body: JSON.stringify({ url: 'http://example.com/y.mp4' }) }).then(() => { window.results.fetch = 'sent'; },
  (e) => { window.results.fetch = String(e); });
</script></body></html>`;
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// ---------------------------------------------------------------- state for cleanup

let server = null;        // the thumbgen (or mock) child process
let serverExited = null;  // { code, signal } once it exited
let serverLog = '';
let logStream = null;
let videoServer = null;
let browser = null;
let dataDir = null;
let server2 = null;       // the second thumbgen, started with a token file
let dataDir2 = null;
let evilServer = null;    // a page of another origin

function tailLog(n = 1500) { return serverLog.length > n ? `…${serverLog.slice(-n)}` : serverLog; }

async function stopServer() {
  if (!server || serverExited) return;
  const child = server;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => { if (!serverExited) child.kill('SIGKILL'); }, 5000);
  await Promise.race([exited, sleep(7000)]);
  clearTimeout(t);
}

async function cleanup() {
  if (browser) { try { await browser.close(); } catch (e) { /* already gone */ } browser = null; }
  await stopServer();
  if (server2 && server2.exitCode === null && server2.signalCode === null) {
    const exited = new Promise((r) => server2.once('exit', r));
    server2.kill('SIGTERM');
    await Promise.race([exited, sleep(7000)]);
    if (server2.exitCode === null && server2.signalCode === null) server2.kill('SIGKILL');
  }
  server2 = null;
  if (dataDir2) { try { fs.rmSync(dataDir2, { recursive: true, force: true }); } catch (e) { /* best effort */ } dataDir2 = null; }
  if (evilServer) { evilServer.closeAllConnections && evilServer.closeAllConnections(); evilServer.close(); evilServer = null; }
  if (videoServer) { videoServer.closeAllConnections && videoServer.closeAllConnections(); videoServer.close(); videoServer = null; }
  if (logStream) { logStream.end(); logStream = null; }
  if (dataDir) { try { fs.rmSync(dataDir, { recursive: true, force: true }); } catch (e) { /* best effort */ } dataDir = null; }
}

// ---------------------------------------------------------------- the test

async function startServer(port) {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thumbgen-ui-'));
  let cmd;
  let args;
  if (MOCK) {
    cmd = process.execPath;
    args = [path.join(__dirname, 'mock-server.js'), '--host', '127.0.0.1', '--port', String(port)];
  } else {
    cmd = BIN;
    // a stand-in yt-dlp that reports an old version (the page must show its notice) and
    // hands every download to the real yt-dlp on PATH
    const oldYtdlp = path.join(OUT, 'yt-dlp-old');
    fs.writeFileSync(oldYtdlp, '#!/bin/sh\n[ "$1" = --version ] && { echo 2023.03.04; exit 0; }\nexec yt-dlp "$@"\n', { mode: 0o755 });
    args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir,
      '--allow-private-urls', '--workers', '2', '--ytdlp', oldYtdlp, '--ytdlp-update', 'never'];
  }
  logStream = fs.createWriteStream(path.join(OUT, 'server.log'));
  logStream.write(`$ ${cmd} ${args.join(' ')}\n`);
  server = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TG_FIXTURES: FIXTURES } });
  const onData = (d) => { serverLog += d.toString(); if (serverLog.length > 200000) serverLog = serverLog.slice(-100000); if (logStream) logStream.write(d); };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  server.on('error', (e) => { serverExited = { code: null, signal: null, error: e.message }; });
  server.on('exit', (code, signal) => { serverExited = serverExited || { code, signal }; });

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (serverExited) {
      throw new Fatal(`the server exited before it answered /healthz (code ${serverExited.code}, signal ${serverExited.signal}${serverExited.error ? `, ${serverExited.error}` : ''}): ${tailLog()}`);
    }
    try {
      const r = await httpGet(`${base}/healthz`, 1000);
      if (r.status === 200) {
        const h = JSON.parse(r.body);
        check('server answers GET /healthz', h && h.ok === true, r.body.trim());
        return base;
      }
    } catch (e) { /* not up yet */ }
    await sleep(150);
  }
  throw new Fatal(`the server did not answer GET /healthz within 30 s: ${tailLog()}`);
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  if (!fs.existsSync(VIDEO)) throw new Fatal(`${VIDEO} is missing: run 'make fixtures' first (or set TG_FIXTURES)`);
  if (!MOCK && !fs.existsSync(BIN)) throw new Fatal(`${BIN} is missing: run 'make' first (or set THUMBGEN_BIN)`);
  if (!fs.existsSync(CHROMIUM)) throw new Fatal(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM)`);
  let chromium;
  try { ({ chromium } = require('playwright-core')); } catch (e) {
    throw new Fatal("playwright-core is not installed: run 'npm install' in the repository root");
  }

  const port = await freePort();
  const base = await startServer(port);
  videoServer = await startVideoServer(VIDEO);
  const videoUrl = `http://127.0.0.1:${videoServer.address().port}/story.mp4`;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // This script handles the signals itself, so that it always stops the server too.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // Console errors and page errors fail the test; a refused POST /api/jobs is expected in the error-path step.
  let phase = 'main';
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() && msg.location().url) || '';
    const text = msg.text();
    if (/favicon\.ico$/.test(url)) return;
    if (phase === 'error-path' && /^Failed to load resource: the server responded with a status of (400|422)\b/.test(text) &&
        /\/api\/jobs$/.test(url)) return;
    consoleErrors.push(`console error${url ? ` at ${url}` : ''}: ${text}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));

  // CSP violations are recorded from the first script on.
  await page.addInitScript(() => {
    window.__tgViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__tgViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  // 1. The page loads.
  await page.goto(`${base}/`, { waitUntil: 'load' });
  const title = await page.title();
  const hasForm = await page.locator('#url').isVisible() && await page.locator('#submit').isVisible();
  check('page loads with the URL field and the submit button', hasForm && /thumbgen/i.test(title), `title "${title}"`);
  const cssOk = await page.evaluate(() => getComputedStyle(document.querySelector('.card')).borderRadius !== '0px');
  const jsOk = await page.evaluate(() => document.querySelector('#history-empty') !== null);
  check('stylesheet and script are served under /static/', cssOk && jsOk);
  if (!MOCK) {
    const notice = page.locator('#url-notice');
    await notice.waitFor({ state: 'visible', timeout: 5000 }).catch(() => {});
    const text = (await notice.textContent()) || '';
    check('a quiet notice beside the link field: YouTube needs a newer yt-dlp than the server has',
      await notice.isVisible() && text.includes('2025.11.12') && text.includes('2023.03.04') && text.includes('make update-ytdlp'), text);
  }

  // Record whether the progress panel ever shows, however briefly.
  await page.evaluate(() => {
    window.__tg = { progressSeen: false, stagesSeen: 0, maxPercentText: '' };
    const p = document.getElementById('progress');
    const look = () => {
      if (!p.hidden) {
        window.__tg.progressSeen = true;
        window.__tg.stagesSeen = Math.max(window.__tg.stagesSeen, p.querySelectorAll('.stage').length);
        const active = p.querySelector('.stage.active .stage-pct');
        if (active && active.textContent) window.__tg.maxPercentText = active.textContent;
      }
    };
    new MutationObserver(look).observe(p, { attributes: true, subtree: true, childList: true, characterData: true });
  });

  // 2. Submit the local video URL.
  await page.fill('#url', videoUrl);
  const postResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 15000 });
  await page.click('#submit');
  const post = await postResp;
  check('POST /api/jobs accepts the local video URL', post.status() === 202 || post.status() === 200, `status ${post.status()}`);

  try {
    await page.waitForFunction(() => window.__tg.progressSeen || !document.getElementById('result').hidden, null, { timeout: 10000 });
    // Best effort: the job may already be in the history list when the progress screenshot is taken.
    await page.locator('#history .history-item').first().waitFor({ timeout: 1500 }).catch(() => {});
    if (await page.locator('#progress').isVisible()) await page.screenshot({ path: path.join(OUT, 'progress.png') });
  } catch (e) { /* judged below */ }

  // 3. Wait for the result (or a failure shown in the alert).
  const t0 = Date.now();
  await page.waitForFunction(() => !document.getElementById('result').hidden ||
    (!document.getElementById('alert').hidden && !document.getElementById('alert').classList.contains('info')),
  null, { timeout: RESULT_TIMEOUT, polling: 200 }).catch(() => {});
  const seen = await page.evaluate(() => window.__tg);
  check('progress panel appears with the four stages', seen.progressSeen && seen.stagesSeen === 4,
    `stages ${seen.stagesSeen}${seen.maxPercentText ? `, last "${seen.maxPercentText}"` : ''}`);
  const resultShown = await page.locator('#result').isVisible();
  if (!resultShown) {
    const alertText = await page.locator('#alert').isVisible() ? await page.locator('#alert-text').textContent() : '';
    await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true });
    throw new Fatal(`no result within ${RESULT_TIMEOUT / 1000} s${alertText ? `; the page says: ${alertText}` : ''}; server log: ${tailLog(600)}`);
  }
  check('result appears', true, `after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const hash = await page.evaluate(() => location.hash);
  const id = (/^#job=([0-9a-f]{32})$/.exec(hash) || [])[1];
  if (!check('the page shows the job id in the address (#job=ID)', !!id, hash)) throw new Fatal('no job id');
  const job = await getJson(`${base}/api/jobs/${id}`);
  check('GET /api/jobs/{id} says done with a plan', job.state === 'done' && job.result && job.result.plan &&
    Array.isArray(job.result.plan.segments), `state ${job.state}`);
  const plan = job.result.plan;

  // 4. The GIF is loaded, the video has its ~40 s duration.
  const gifW = await page.waitForFunction(() => {
    const img = document.getElementById('gif');
    return img.complete && img.naturalWidth > 0 ? img.naturalWidth : false;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch(() => 0);
  check('GIF <img> is loaded', gifW > 0, `naturalWidth ${gifW}`);
  const posterW = await page.waitForFunction(() => {
    const img = document.getElementById('poster');
    return img.complete && img.naturalWidth > 0 ? img.naturalWidth : false;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch(() => 0);
  check('poster <img> is loaded', posterW > 0, `naturalWidth ${posterW}`);
  const duration = await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.readyState >= 1 && Number.isFinite(v.duration) ? v.duration : false;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch(() => NaN);
  check('<video> has a duration of about 40 s', Math.abs(duration - 40) < 1, `duration ${duration}`);

  const links = await page.$$eval('#downloads a', (as) => as.map((a) => a.getAttribute('href')));
  check('download links for the GIF, the poster and the video', links.includes(job.result.gif) &&
    links.includes(job.result.poster) && links.includes(job.result.video), links.join(' '));

  // 5. The timeline draws the plan; clicking a clip seeks the video there.
  const nClips = await page.locator('#timeline [data-kind="clip"]').count();
  const nKeys = await page.locator('#timeline [data-kind="keyframe"], #timeline [data-kind="poster"]').count();
  const nPoster = await page.locator('#timeline [data-kind="poster"]').count();
  check('timeline draws every clip and keyframe of the plan, the poster marked',
    nClips === plan.segments.length && nKeys >= plan.keyframes.length && nPoster === 1,
    `${nClips}/${plan.segments.length} clips, ${nKeys}/${plan.keyframes.length} keyframes, ${nPoster} poster`);
  if (plan.segments.length > 0) {
    const k = plan.segments.length > 1 ? 1 : 0;
    const start = plan.segments[k].start;
    await page.locator('#timeline [data-kind="clip"]').nth(k).click();
    const t = await page.waitForFunction((s) => {
      const v = document.getElementById('video');
      return !v.seeking && Math.abs(v.currentTime - s) < 0.5 ? v.currentTime : false;
    }, start, { timeout: 10000 }).then((h) => h.jsonValue()).catch(async () => page.evaluate(() => document.getElementById('video').currentTime));
    check(`clicking clip ${k + 1} on the timeline seeks the video to its start`, Math.abs(t - start) < 0.5,
      `currentTime ${Number(t).toFixed(2)}, clip start ${start}`);
    const playing = await page.waitForFunction(() => !document.getElementById('video').paused, null, { timeout: 5000 })
      .then(() => true).catch(() => false);
    check('and plays it', playing);
  } else {
    check('the plan has clips to click', false, 'no segments');
  }

  // 6. The history list shows the job.
  const item = page.locator(`#history .history-item[data-id="${id}"]`);
  await item.waitFor({ timeout: 10000 }).catch(() => {});
  const itemText = (await item.count()) ? await item.innerText() : '';
  check('history list shows the job', /done/i.test(itemText), itemText.replace(/\s+/g, ' ').trim());

  await page.waitForTimeout(400);
  await page.screenshot({ path: path.join(OUT, 'desktop.png'), fullPage: true });

  // 7. Phone-sized window: no horizontal scrolling, the video and the GIF stack vertically.
  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForTimeout(500);
  const layout = await page.evaluate(() => {
    const v = document.querySelector('.pane-video').getBoundingClientRect();
    const g = document.querySelector('.pane-gif').getBoundingClientRect();
    return { scrollW: document.documentElement.scrollWidth, vBottom: v.bottom, gTop: g.top, vW: v.width, gW: g.width };
  });
  check('phone width (375 px): video and GIF stack vertically without horizontal scrolling',
    layout.scrollW <= 375 && layout.gTop >= layout.vBottom - 1 && layout.vW <= 375 && layout.gW <= 375,
    `scrollWidth ${layout.scrollW}, video bottom ${layout.vBottom.toFixed(0)}, GIF top ${layout.gTop.toFixed(0)}`);
  await page.screenshot({ path: path.join(OUT, 'phone.png'), fullPage: true });

  // 8. The error path: a URL the server refuses without any network access.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(() => window.scrollTo(0, 0));
  phase = 'error-path';
  await page.fill('#url', 'ftp://example.com/x.mp4');
  const errResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 15000 });
  await page.click('#submit');
  const er = await errResp;
  let errBody = {};
  try { errBody = await er.json(); } catch (e) { errBody = {}; }
  check('server refuses ftp://example.com/x.mp4 with 400 or 422 and an error object',
    (er.status() === 400 || er.status() === 422) && errBody.error && typeof errBody.error.message === 'string',
    `status ${er.status()}, code ${errBody.error && errBody.error.code}`);
  await page.locator('#alert').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
  const alertVisible = await page.locator('#alert').isVisible();
  const alertText = alertVisible ? (await page.locator('#alert-text').textContent()).trim() : '';
  const readable = alertVisible && alertText.length >= 8 && alertText.length < 400 && /^[A-Z0-9"'‘“(]/.test(alertText) &&
    /[.!?]$/.test(alertText) && !/[{}]|\bat \S+:\d+|Error:|undefined|\[object/.test(alertText);
  check('the alert shows one readable sentence', readable, `"${alertText}"`);
  await page.screenshot({ path: path.join(OUT, 'error.png') });
  phase = 'main';

  // 9. Upload the same video as a file, with other options (multipart with option fields):
  // two clips, HD (upscaled: story.mp4 is 640 px wide), the strict safety filter.
  await page.click('#options summary');
  await page.fill('#opt-clips', '2');
  await page.check('#opt-hd');
  await page.selectOption('#opt-safe', 'strict');
  const upResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 30000 });
  await page.setInputFiles('#file', VIDEO);
  const up = await upResp;
  let upBody = {};
  try { upBody = await up.json(); } catch (e) { upBody = {}; }
  check('upload of story.mp4 (multipart, clips=2) is accepted', (up.status() === 202 || up.status() === 200) &&
    typeof upBody.id === 'string' && upBody.id !== id, `status ${up.status()}, id ${upBody.id}`);
  if (typeof upBody.id === 'string') {
    await page.waitForFunction((jid) => location.hash === `#job=${jid}` && !document.getElementById('result').hidden &&
      document.getElementById('timeline').querySelectorAll('[data-kind="clip"]').length > 0, upBody.id,
    { timeout: RESULT_TIMEOUT, polling: 200 }).catch(() => {});
    const upJob = await getJson(`${base}/api/jobs/${upBody.id}`);
    const nUpClips = await page.locator('#timeline [data-kind="clip"]').count();
    check('the upload job is done with the 2 clips asked for', upJob.state === 'done' && upJob.options && upJob.options.clips === 2 &&
      upJob.result && upJob.result.plan.segments.length === nUpClips && nUpClips >= 1 && nUpClips <= 2,
    `state ${upJob.state}, options.clips ${upJob.options && upJob.options.clips}, ${nUpClips} clips drawn, source ${JSON.stringify(upJob.source)}`);
    const gifOut = upJob.result && upJob.result.outputs && upJob.result.outputs.gif;
    check('the HD box and the Safe choice reach the job: upscale hd gives a 1280 px GIF, safe strict is kept',
      upJob.options && upJob.options.upscale === 'hd' && upJob.options.safe === 'strict' && gifOut && gifOut.width === 1280,
    `options ${JSON.stringify(upJob.options)}, gif ${JSON.stringify(gifOut)}`);
    const n = await page.locator('#history .history-item').count();
    check('history lists both jobs, newest first', n >= 2 &&
      await page.locator('#history .history-item').first().getAttribute('data-id') === upBody.id, `${n} items`);
  }

  // 10. An AVI (MPEG-4 part 2: no browser plays it) is shown as the server's playable copy
  // beside its GIF: the video loads (readyState >= 2) and the clip buttons seek it.
  const avi = path.join(OUT, 'story.avi');
  const ff = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', VIDEO, '-c:v', 'mpeg4', '-q:v', '5',
    '-an', avi], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!check('ffmpeg makes an AVI of story.mp4', ff.status === 0 && fs.existsSync(avi), String(ff.stderr || ''))) return;
  const aviResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 30000 });
  await page.setInputFiles('#file', avi);
  let aviBody = {};
  try { aviBody = await (await aviResp).json(); } catch (e) { aviBody = {}; }
  if (check('upload of story.avi is accepted', typeof aviBody.id === 'string', JSON.stringify(aviBody))) {
    await page.waitForFunction((jid) => location.hash === `#job=${jid}` && !document.getElementById('result').hidden &&
      document.getElementById('clip-list').querySelectorAll('button.chip').length > 0, aviBody.id,
    { timeout: RESULT_TIMEOUT, polling: 200 }).catch(() => {});
    const aviJob = await getJson(`${base}/api/jobs/${aviBody.id}`);
    const r = aviJob.result || {};
    check('the AVI job has a playable copy (an MP4) besides the original AVI',
      aviJob.state === 'done' && r.playable_copy === true && /\.play\.mp4$/.test(r.video || '') && /\.avi$/.test(r.source_video || ''),
      `state ${aviJob.state}, video ${r.video}, source_video ${r.source_video}`);
    const src = await page.evaluate(() => document.getElementById('video').getAttribute('src'));
    const ready = await page.waitForFunction(() => document.getElementById('video').readyState >= 2, null, { timeout: 20000 })
      .then(() => true).catch(() => false);
    const rs = await page.evaluate(() => document.getElementById('video').readyState);
    check('the page plays the copy: video.readyState >= 2', ready && src === r.video, `readyState ${rs}, src ${src}`);
    const note = await page.locator('#video-note').textContent();
    check('the page says a playable copy is shown', /copy/.test(note || '') && await page.locator('#video-note').isVisible(), note);
    const chips = page.locator('#clip-list button.chip');
    const nChips = await chips.count();
    const k = nChips > 1 ? 1 : 0;
    const start = Number(await chips.nth(k).getAttribute('data-start'));
    await chips.nth(k).click();
    const t = await page.waitForFunction((s) => {
      const v = document.getElementById('video');
      return !v.seeking && Math.abs(v.currentTime - s) < 0.5 ? v.currentTime : false;
    }, start, { timeout: 10000 }).then((h) => h.jsonValue()).catch(async () => page.evaluate(() => document.getElementById('video').currentTime));
    check(`clip button ${k + 1} seeks the AVI's copy to the clip's start`, Math.abs(t - start) < 0.5,
      `currentTime ${Number(t).toFixed(2)}, clip start ${start}`);
    await page.screenshot({ path: path.join(OUT, 'avi.png'), fullPage: true });
  }

  // 11. The page's security headers, and nothing the page does is blocked by its policy.
  const pageResp = await httpGet(`${base}/`);
  const csp = pageResp.headers['content-security-policy'] || '';
  check('the page is sent with a strict Content-Security-Policy',
    /default-src 'self'/.test(csp) && /script-src 'self'(;|$)/.test(csp) && /frame-ancestors 'none'/.test(csp) &&
    !/unsafe-inline|unsafe-eval/.test(csp), csp);
  check('and X-Frame-Options: DENY, X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer',
    pageResp.headers['x-frame-options'] === 'DENY' && pageResp.headers['x-content-type-options'] === 'nosniff' &&
    pageResp.headers['referrer-policy'] === 'no-referrer',
    `${pageResp.headers['x-frame-options']}, ${pageResp.headers['x-content-type-options']}, ${pageResp.headers['referrer-policy']}`);
  const violations = await page.evaluate(() => window.__tgViolations || []);
  check('no Content-Security-Policy violation while the page ran', violations.length === 0, violations.join(' | '));

  // 12. No console error, no page error.
  check('no console error or page error', consoleErrors.length === 0, consoleErrors.join(' | '));

  if (!MOCK) {
    await crossSite(base);
    await tokenFlow();
  }
  if (serverExited) check('the server is still running at the end', false, `exited: code ${serverExited.code}, signal ${serverExited.signal}`);
}

// A page of another origin cannot make jobs, nor frame the page; a request for
// another host name (DNS rebinding) is refused.
async function crossSite(base) {
  const before = (await getJson(`${base}/api/jobs?limit=100`)).total;
  evilServer = await startEvilServer(base);
  const evil = `http://127.0.0.1:${evilServer.address().port}/`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const statuses = [];
  page.on('response', (r) => { if (r.url() === `${base}/api/jobs` && r.request().method() === 'POST') statuses.push(r.status()); });
  await page.goto(evil, { waitUntil: 'load' });
  await page.waitForFunction(() => window.results && window.results.fetch, null, { timeout: 10000 }).catch(() => {});
  await page.evaluate(() => document.getElementById('form').submit());
  const t0 = Date.now();
  while (statuses.length < 2 && Date.now() - t0 < 10000) await sleep(100);
  const after = (await getJson(`${base}/api/jobs?limit=100`)).total;
  check('a page of another origin cannot create jobs (fetch and form POST get 403)',
    statuses.length === 2 && statuses.every((st) => st === 403) && after === before,
    `statuses ${statuses.join(', ')}, jobs ${before} -> ${after}`);
  const framed = page.frames().find((f) => f.url() === `${base}/`);
  let framedForm = false;
  if (framed) framedForm = await framed.evaluate(() => !!document.getElementById('url')).catch(() => false);
  check('the page cannot be framed by another site (X-Frame-Options / frame-ancestors)', !framedForm,
    page.frames().map((f) => f.url()).join(' '));
  await context.close();
  const port = new URL(base).port;
  const rebind = await httpRequest(`${base}/api/jobs`, { headers: { Host: `rebind.example:${port}` } });
  check('a request for another host name (DNS rebinding) is refused with 421', rebind.status === 421,
    `status ${rebind.status}: ${rebind.body.slice(0, 120)}`);
}

// A second server with a token file (on loopback, where the token is otherwise off):
// the page asks for the token once, then everything works (API, events, media).
async function tokenFlow() {
  const TOKEN = 'browser-test-token-0123456789';
  dataDir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'thumbgen-ui-token-'));
  fs.writeFileSync(path.join(dataDir2, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  server2 = spawn(BIN, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data', path.join(dataDir2, 'data'),
    '--allow-private-urls', '--token-file', path.join(dataDir2, 'token'), '--quiet'],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log2 = '';
  server2.stderr.on('data', (d) => { log2 += d.toString(); });
  const deadline = Date.now() + 30000;
  let up = false;
  while (!up && Date.now() < deadline) {
    try { up = (await httpGet(`${base}/healthz`, 1000)).status === 200; } catch (e) { await sleep(150); }
  }
  if (!up) throw new Fatal(`the server with a token file did not start: ${log2}`);
  const bare = await httpGet(`${base}/api/jobs`);
  check('with --token-file the API answers 401 without the token', bare.status === 401, `status ${bare.status}`);

  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  let phase = 'login';
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() && msg.location().url) || '';
    if (phase === 'wrong-token' && /\/api\/login$/.test(url) && /status of 401/.test(msg.text())) return;
    errors.push(`${url}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  await page.goto(`${base}/`, { waitUntil: 'load' });
  const asked = await page.locator('#login').waitFor({ state: 'visible', timeout: 10000 }).then(() => true).catch(() => false);
  check('the page asks for the token', asked);
  phase = 'wrong-token';
  await page.fill('#token', 'not-the-token-at-all');
  await page.click('#login-submit');
  const wrongShown = await page.locator('#login-error').waitFor({ state: 'visible', timeout: 10000 }).then(() => true).catch(() => false);
  check('a wrong token is refused and the form says so', wrongShown && await page.locator('#login').isVisible(),
    wrongShown ? (await page.locator('#login-error').textContent()) : '');
  phase = 'main';
  await page.fill('#token', TOKEN);
  await page.click('#login-submit');
  const gone = await page.locator('#login').waitFor({ state: 'hidden', timeout: 10000 }).then(() => true).catch(() => false);
  const kept = await page.evaluate(() => localStorage.getItem('thumbgen.token'));
  check('the right token is taken and kept (localStorage)', gone && kept === TOKEN, `form hidden ${gone}`);

  // an upload (XHR with the Bearer header) of the 8 s fixture: quicker than story.mp4
  const postResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 30000 });
  await page.setInputFiles('#file', path.join(FIXTURES, 'letterbox.mp4'));
  const post = await postResp;
  check('with the token, an upload to POST /api/jobs is accepted', post.status() === 202 || post.status() === 200, `status ${post.status()}`);
  await page.waitForFunction(() => !document.getElementById('result').hidden, null, { timeout: RESULT_TIMEOUT, polling: 200 }).catch(() => {});
  const gifW = await page.waitForFunction(() => {
    const img = document.getElementById('gif');
    return img.complete && img.naturalWidth > 0 ? img.naturalWidth : false;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch(() => 0);
  check('and the job runs to its result, the GIF loading through the login cookie', gifW > 0, `naturalWidth ${gifW}`);

  // the token is asked only once: a new visit of the page goes straight in
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await page.locator('#history .history-item').first().waitFor({ timeout: 10000 }).catch(() => {});
  const again = await page.locator('#login').isVisible();
  const items = await page.locator('#history .history-item').count();
  check('a second visit does not ask again and lists the job', !again && items >= 1, `form shown ${again}, ${items} items`);
  await context.close();

  // the link printed with a made token (#token=...) logs a fresh browser in at once
  const ctx2 = await browser.newContext();
  const p2 = await ctx2.newPage();
  await p2.goto(`${base}/#token=${TOKEN}`, { waitUntil: 'load' });
  await p2.locator('#history .history-item').first().waitFor({ timeout: 10000 }).catch(() => {});
  const asked2 = await p2.locator('#login').isVisible();
  const hash2 = await p2.evaluate(() => location.hash);
  check('a #token= link logs in without the form and leaves the address', !asked2 && hash2 === '' &&
    (await p2.locator('#history .history-item').count()) >= 1, `form shown ${asked2}, hash "${hash2}"`);
  await ctx2.close();
  check('no console error or page error with the token', errors.length === 0, errors.join(' | '));
}

let finished = false;
async function finish(code) {
  if (finished) return;
  finished = true;
  await cleanup();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
}

const watchdog = setTimeout(() => {
  check('the test finishes in time', false, `still running after ${OVERALL_TIMEOUT / 1000} s`);
  finish(1);
}, OVERALL_TIMEOUT);

// Last resort: never leave the server behind, whatever ends this process.
process.on('exit', () => {
  if (server && !serverExited) server.kill('SIGKILL');
  if (server2 && server2.exitCode === null) server2.kill('SIGKILL');
});
process.on('SIGINT', () => { check('the test was not interrupted', false, 'SIGINT'); finish(1); });
process.on('SIGTERM', () => { check('the test was not interrupted', false, 'SIGTERM'); finish(1); });

main().then(() => {
  clearTimeout(watchdog);
  finish(failed === 0 ? 0 : 1);
}, (e) => {
  clearTimeout(watchdog);
  check('test ran to the end', false, e instanceof Fatal ? e.message : (e && e.stack) || String(e));
  finish(1);
});
