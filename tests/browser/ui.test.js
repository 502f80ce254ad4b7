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

// axe-core (pinned in package.json) on the page as it is: violations as one string each.
const AXE_SOURCE = (() => { try { return fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'); } catch (e) { return null; } })();
// Run in the light and in the dark colour scheme (prefers-color-scheme emulated; the check
// also says that the page did change its colours, so that the dark run is not the light one
// again), with a screenshot of the dark one (STATE-dark.png).
async function axeCheck(page, state) {
  if (!AXE_SOURCE) { check(`axe-core: 0 violations in the ${state} state`, false, "axe-core is not installed: run 'npm ci'"); return; }
  // evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply
  await page.evaluate(`${AXE_SOURCE}\n;0`);
  const run = () => page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return { bg: getComputedStyle(document.body).backgroundColor, dark: matchMedia('(prefers-color-scheme: dark)').matches,
      v: r.violations.map((x) => `${x.id} (${x.impact}): ${x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`) };
  });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: 3000 }).catch(() => {});
  const light = await run();
  check(`axe-core: 0 violations in the ${state} state (light)`, light.v.length === 0 && !light.dark, light.v.join(' | '));
  await page.emulateMedia({ colorScheme: 'dark' });
  // the colours' transitions (app.css: .15 s) ended
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: 3000 }).catch(() => {});
  const dark = await run();
  await page.screenshot({ path: path.join(OUT, `${state.replace(/\W+/g, '-')}-dark.png`) }).catch(() => {});
  await page.emulateMedia({ colorScheme: 'light' });
  check(`axe-core: 0 violations in the ${state} state (dark)`, dark.v.length === 0 && dark.dark && dark.bg !== light.bg,
    `${dark.v.join(' | ')}${dark.bg === light.bg ? ` the page kept its light background ${dark.bg}` : ''}`);
}

// Every visible thing to tap (links, buttons, fields, the Options summary, the checkbox rows,
// the upload button, the timeline's keyframes) that is smaller than 44 px
// either way: "what WxH" for each. Inline links in a sentence are not targets of their own
// (WCAG 2.5.8's exception); none is on the page.
async function smallTargets(page) {
  return page.evaluate(() => {
    const sel = 'a[href], button, input:not([type=hidden]):not([type=checkbox]), select, summary, label.check, label.check-row, ' +
      'label.file-btn, video[controls], #timeline .tl-keyg > rect'; // (the clips' targets: their own check, where neighbours are near)
    return [...document.querySelectorAll(sel)].filter((n) => {
      const r = n.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && !n.closest('[hidden], .visually-hidden') && getComputedStyle(n).visibility !== 'hidden' &&
        !n.classList.contains('skip-link');
    }).map((n) => ({ n, r: n.getBoundingClientRect() })).filter(({ r }) => r.width < 43.5 || r.height < 43.5)
      .map(({ n, r }) => `${n.tagName.toLowerCase()}${n.id ? `#${n.id}` : ''}.${[...n.classList].join('.')} "${(n.textContent || n.getAttribute('aria-label') || '').trim().slice(0, 20)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  });
}

// The first frame of a GIF against the source at time t, both decoded by ffmpeg at the
// GIF's size: PSNR of the RGB planes in dB.
function framePsnr(gifFile, video, t) {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height',
    '-of', 'csv=p=0', gifFile], { encoding: 'utf8' });
  const [w, h] = String(probe.stdout).trim().split(',').map(Number);
  const raw = (args) => spawnSync('ffmpeg', ['-nostdin', '-v', 'error', ...args, '-frames:v', '1', '-vf', `scale=${w}:${h}`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 }).stdout;
  const a = raw(['-i', gifFile]);
  const b = raw(['-ss', t.toFixed(3), '-i', video]);
  if (!a || !b || a.length !== w * h * 3 || b.length !== a.length) return NaN;
  let se = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; se += d * d; }
  const mse = se / a.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

function download(url, file) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`status ${res.statusCode}`)); return; }
      const out = fs.createWriteStream(file);
      res.pipe(out);
      out.on('finish', () => resolve(file));
    }).on('error', reject);
  });
}

// A message for people: no server path, no traceback.
function humane(text) { return !/(^|[\s'"(])\/(?:[\w.+-]+\/)+|Traceback|Exception:/.test(text || ''); }

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
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept()); // "Delete this job?"

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
  // What the empty page fetches before its load event: the stylesheet, its two scripts, the
  // example's still and the access check, nothing else (the option table when the Options box
  // opens, the history and the server's notice once it has loaded, the animation after it).
  const early = await page.evaluate(() => {
    const load = performance.getEntriesByType('navigation')[0].loadEventStart;
    return performance.getEntriesByType('resource').filter((r) => r.startTime < load)
      .map((r) => new URL(r.name).pathname).sort();
  });
  const allowed = ['/api/login', '/static/app.css', '/static/app.js', '/static/early.js', '/static/example-still.webp'];
  check('before its load event the empty page fetches only its stylesheet, scripts, the example\'s still and the access check',
    early.every((u) => allowed.includes(u)) && early.includes('/static/example-still.webp') && !early.includes('/static/example.webp'),
    early.join(' '));
  if (!MOCK) {
    const sizes = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((r) => /\/static\/app\.(js|css)$/.test(r.name))
      .map((r) => ({ name: new URL(r.name).pathname, encoded: r.encodedBodySize, decoded: r.decodedBodySize })));
    check('the page\'s script and stylesheet come gzipped (made by make web)',
      sizes.length === 2 && sizes.every((x) => x.encoded > 0 && x.encoded < x.decoded / 2), JSON.stringify(sizes));
  }
  if (!MOCK) {
    // The notice arrives after the load event: it is the link field's description at once and
    // shows when the field is used, so that it moves nothing while the page settles.
    const notice = page.locator('#url-notice');
    await page.waitForFunction(() => document.getElementById('url-notice').textContent !== '', null, { timeout: 5000 }).catch(() => {});
    const hiddenFirst = !(await notice.isVisible());
    const shifts = await page.evaluate(() => new Promise((resolve) => {
      let sum = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) sum += e.value; })
        .observe({ type: 'layout-shift', buffered: true });
      setTimeout(() => resolve(sum), 300);
    }));
    const described = await page.evaluate(() => (document.getElementById('url').getAttribute('aria-describedby') || '').split(/\s+/).includes('url-notice'));
    await page.focus('#url');
    const text = (await notice.textContent()) || '';
    check('a quiet notice beside the link field: YouTube needs a newer yt-dlp than the server has',
      await notice.isVisible() && text.includes('2025.11.12') && text.includes('2023.03.04') && text.includes('make update-ytdlp'), text);
    check('the notice moves nothing while the page loads: the field\'s description at once, shown when the field is used (no layout shift)',
      hiddenFirst && described && shifts === 0, `layout shift ${shifts}, hidden before ${hiddenFirst}, described ${described}`);
    await page.evaluate(() => document.activeElement.blur());
  }
  // The plan editor and the timeline (web/editor.js) are a module of their own, imported when
  // a result is shown: the empty page never fetches it, even once idle.
  await page.waitForTimeout(300);
  const editorEarly = await page.evaluate(() => performance.getEntriesByType('resource').some((r) => /\/static\/editor\.js$/.test(r.name)));
  check('the empty page does not load the editor module (web/editor.js)', !editorEarly);

  // The empty page: what the product does, an example made by thumbgen, and every option
  // of the server's table as a field.
  const example = await page.waitForFunction(() => {
    const img = document.getElementById('example');
    return img.complete && img.naturalWidth > 0 ? img.naturalWidth : false;
  }, null, { timeout: 10000 }).then((h) => h.jsonValue()).catch(() => 0);
  check('the empty page shows an example thumbnail and how it works', example > 0 &&
    (await page.locator('.how li').count()) === 3, `example ${example} px wide`);
  const anim = await page.waitForFunction(() => /\/static\/example\.webp$/.test(document.getElementById('example').src),
    null, { timeout: 10000 }).then(() => true).catch(() => false);
  const exampleBox = await page.evaluate(() => {
    const img = document.getElementById('example');
    return { w: img.getAttribute('width'), h: img.getAttribute('height'), priority: img.getAttribute('fetchpriority') };
  });
  check('the example paints as a still of a fixed size first, then its animation replaces it once the page has loaded',
    anim && exampleBox.w === '320' && exampleBox.h === '180' && exampleBox.priority === 'high', JSON.stringify(exampleBox));
  const table = (await getJson(`${base}/api/options`)).options;
  const builtEarly = await page.locator('#opt-clips').count();
  await page.click('#options summary');
  await page.locator('#opt-clips').waitFor({ state: 'attached', timeout: 10000 }).catch(() => {});
  check('the option fields are built when the Options box opens, not while the page loads',
    builtEarly === 0 && await page.locator('#opt-clips').isVisible());
  const fields = await page.evaluate((names) => names.map((n) => {
    const f = document.getElementById(`opt-${n}`);
    if (f && f.tagName === 'FIELDSET') { // a set: one checkbox per choice
      const boxes = [...f.querySelectorAll('input[type=checkbox]')];
      return { n, choices: boxes.map((b) => b.value), value: boxes.filter((b) => b.checked).map((b) => b.value) };
    }
    return f ? { n, min: f.getAttribute('min'), max: f.getAttribute('max'), value: f.value } : { n, missing: true };
  }), table.map((r) => r.name));
  const wrong = fields.filter((f, i) => {
    const r = table[i];
    if (r.name === 'threads') return !f.missing; // the server's business
    if (f.missing) return true;
    if (r.type === 'choice') return f.value !== r.default;
    if (r.type === 'bytes') return f.value !== '';
    if (r.type === 'set') return JSON.stringify(f.choices) !== JSON.stringify(r.choices) || JSON.stringify(f.value) !== JSON.stringify(r.default);
    return Number(f.min) !== r.min || Number(f.max) !== r.max || Number(f.value) !== r.default;
  });
  check('every option of GET /api/options has its field, with the table\'s default and range', table.length > 10 && wrong.length === 0,
    `${table.length} options; wrong: ${JSON.stringify(wrong)}`);
  const presets = await page.$$eval('#opt-max-bytes option', (os) => os.map((o) => o.value));
  check('byte-budget presets: 500 kB email, 2 MB Slack/Imgur, 8 MB Discord', ['500k', '2M', '8M'].every((v) => presets.includes(v)), presets.join(' '));
  await page.click('#options summary'); // closed again, as the page opens
  check('a skip link and a meta description', await page.locator('a.skip-link[href="#main"]').count() === 1 &&
    (await page.locator('meta[name="description"]').getAttribute('content') || '').length > 50);
  if (!MOCK) await axeCheck(page, 'empty');

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
    if (await page.locator('#progress').isVisible()) {
      await page.screenshot({ path: path.join(OUT, 'progress.png') });
      const elapsed = await page.locator('#progress-elapsed').textContent();
      check('the progress card shows the elapsed time', /\d:\d\d elapsed/.test(elapsed || ''), elapsed);
      // on a phone: each tile's head (the stage and "✓" or "NN %") on one line
      await page.setViewportSize({ width: 375, height: 812 });
      // as they are, and with the widest a tile can say ("100 %" beside each stage's name:
      // "Download", the longest, is the first's here), put in for the measure and taken out
      // again, at 375 px and on narrower phones (360, 320)
      const measureTiles = (withWidest) => page.evaluate((widestToo) => {
        const measure = () => [...document.querySelectorAll('#stages .stage-head')].map((h) => ({
          text: h.textContent, h: Math.round(h.getBoundingClientRect().height), fits: h.scrollWidth <= h.clientWidth,
          line: Math.round(parseFloat(getComputedStyle(h).fontSize) * 1.5), w: innerWidth }));
        const now = measure();
        if (!widestToo) return now;
        const pcts = [...document.querySelectorAll('#stages .stage-pct')];
        const keep = pcts.map((n) => n.textContent);
        pcts.forEach((n) => { n.textContent = '100 %'; });
        const widest = measure();
        pcts.forEach((n, i) => { n.textContent = keep[i]; });
        return now.concat(widest);
      }, withWidest);
      let heads = await measureTiles(true);
      for (const w of [360, 320]) {
        await page.setViewportSize({ width: w, height: 812 });
        heads = heads.concat((await measureTiles(true)).slice(4));
      }
      await page.setViewportSize({ width: 375, height: 812 });
      if (heads.length) {
        await page.screenshot({ path: path.join(OUT, 'progress-phone.png') });
        const smallP = await smallTargets(page);
        check('at 375 px every tap target of the progress card and the page around it is at least 44×44 px', smallP.length === 0, smallP.join(', '));
        check('at 375, 360 and 320 px each progress tile says its stage and its percent (up to "100 %") or ✓ on one line, inside the tile',
          heads.length === 16 && heads.every((x) => x.h > 0 && x.h <= x.line + 1 && x.fits),
          heads.map((x) => `${x.w}: "${x.text}" ${x.h} px${x.fits ? '' : ' (overflows)'}`).join(', '));
      }
      await page.setViewportSize({ width: 1280, height: 800 });
      if (!MOCK) await axeCheck(page, 'progress');
    }
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
  await page.waitForTimeout(300);
  const inView = await page.evaluate(() => {
    const r = document.getElementById('result-title').getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, h: innerHeight, focused: document.activeElement && document.activeElement.id };
  });
  check('at 1280×800 the result heading is in view and focused when the job ends',
    inView.top >= 0 && inView.bottom <= inView.h && inView.focused === 'result-title', JSON.stringify(inView));

  const hash = await page.evaluate(() => location.hash);
  const id = (/^#job=([0-9a-f]{32})$/.exec(hash) || [])[1];
  if (!check('the page shows the job id in the address (#job=ID)', !!id, hash)) throw new Fatal('no job id');
  const job = await getJson(`${base}/api/jobs/${id}`);
  check('GET /api/jobs/{id} says done with a plan', job.state === 'done' && job.result && job.result.plan &&
    Array.isArray(job.result.plan.segments), `state ${job.state}`);
  const plan = job.result.plan;

  // 4. The animation is loaded, the video has its ~40 s duration.
  const shown = await page.waitForFunction(() => {
    const v = document.getElementById('anim');
    const img = document.getElementById('gif');
    if (!v.hidden && v.readyState >= 2) return { kind: 'video', src: v.getAttribute('src'), w: v.videoWidth, autoplay: v.autoplay, muted: v.muted, loop: v.loop, inline: v.playsInline };
    if (!img.hidden && img.complete && img.naturalWidth > 0) return { kind: 'img', src: img.getAttribute('src'), w: img.naturalWidth };
    return false;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch(() => null);
  const outs = job.result.outputs || {};
  const smallest = ['mp4', 'webp', 'gif'].filter((k) => outs[k] && outs[k].bytes > 0).sort((a, b) => outs[a].bytes - outs[b].bytes)[0];
  check('the animation shown is the smallest of GIF, WebP and MP4 (a <video autoplay muted loop playsinline> for the MP4)', !!shown && shown.w > 0 &&
    shown.src === job.result[smallest] && (shown.kind === 'img' || (shown.autoplay && shown.muted && shown.loop && shown.inline)),
  `${JSON.stringify(shown)}; sizes ${['gif', 'webp', 'mp4'].map((k) => `${k} ${outs[k] && outs[k].bytes}`).join(', ')}`);
  const box = await page.evaluate(() => {
    const f = document.getElementById('anim-frame');
    const m = f.querySelector('video:not([hidden]), img:not([hidden])');
    return { ratio: f.style.aspectRatio, w: m && m.getAttribute('width'), h: m && m.getAttribute('height') };
  });
  check('the animation\'s box has its size before it loads (width, height, aspect-ratio)',
    Number(box.w) === outs.gif.width && Number(box.h) === outs.gif.height && /\d+ \/ \d+/.test(box.ratio), JSON.stringify(box));
  const posterAttr = await page.getAttribute('#video', 'poster');
  check('the original video has the poster as poster=', posterAttr === job.result.poster, posterAttr);
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
  const dlText = await page.$$eval('#downloads a', (as) => as.map((a) => a.textContent.replace(/\s+/g, ' ').trim()));
  const sized = ['GIF', 'WebP', 'MP4'].every((k) => dlText.some((t) => new RegExp(`^${k}\\s*[\\d.]+ (kB|MB) · \\d+×\\d+$`).test(t)));
  check('the GIF, WebP and MP4 buttons show each file\'s size and dimensions', sized, dlText.join(' | '));
  // the plan's button downloads the job's plan as a .json file
  const planDl = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.locator('#downloads a', { hasText: /^Plan/ }).click()])
    .then(async ([d]) => ({ name: d.suggestedFilename(), text: fs.readFileSync(await d.path(), 'utf8') })).catch((e) => ({ name: '', text: String(e) }));
  const planGot = (() => { try { return JSON.parse(planDl.text); } catch (e) { return null; } })();
  check('the Plan button downloads the job\'s plan (THUMBGEN-ID-plan.json)', /^thumbgen-[0-9a-f]{8}-plan\.json$/.test(planDl.name) && !!planGot &&
    JSON.stringify(planGot.segments) === JSON.stringify(job.result.plan.segments), `${planDl.name}: ${planDl.text.replace(/\s+/g, ' ').slice(0, 100)}`);

  // Share: the result's link, the GIF's address, the embed snippets, through the clipboard.
  await page.click('#share-link');
  await page.waitForFunction(() => /Copied/.test(document.getElementById('share-status').textContent), null, { timeout: 5000 }).catch(() => {});
  const clip1 = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `error ${e.message}`);
  check('"Copy link" puts the result\'s address (#job=ID) on the clipboard', clip1 === `${base}/#job=${id}`, clip1);
  await page.click('#share-img');
  await page.waitForTimeout(200);
  const clip2 = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `error ${e.message}`);
  check('"Copy <img> embed" copies an <img> of the GIF with its size', clip2.startsWith(`<img src="${base}${job.result.gif}" width="${outs.gif.width}"`), clip2);
  await page.click('#share-video');
  await page.waitForTimeout(200);
  const clip3 = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `error ${e.message}`);
  check('"Copy <video> embed" copies a muted looping <video> of the MP4', clip3.startsWith(`<video src="${base}${job.result.mp4}"`) && /autoplay muted loop playsinline/.test(clip3), clip3);
  if (!MOCK) await axeCheck(page, 'result');

  // 5. The timeline draws the plan (web/editor.js, imported once a result is shown);
  // clicking a clip seeks the video there.
  await page.locator('#timeline [data-kind="clip"]').first().waitFor({ state: 'attached', timeout: 10000 }).catch(() => {});
  const editorLoaded = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => /\/static\/editor\.js$/.test(r.name)).length);
  check('the editor module is loaded once a result is shown (once)', editorLoaded === 1, `${editorLoaded} fetches`);
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

  // 7. Phone-sized window: no horizontal scrolling, the thumbnail first, then the video.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(500);
  const layout = await page.evaluate(() => {
    const v = document.querySelector('.pane-video').getBoundingClientRect();
    const g = document.querySelector('.pane-gif').getBoundingClientRect();
    return { scrollW: document.documentElement.scrollWidth, vTop: v.top, gBottom: g.bottom, vW: v.width, gW: g.width };
  });
  check('phone width (375 px): the thumbnail above the video, no horizontal scrolling',
    layout.scrollW <= 375 && layout.vTop >= layout.gBottom - 1 && layout.vW <= 375 && layout.gW <= 375,
    `scrollWidth ${layout.scrollW}, GIF bottom ${layout.gBottom.toFixed(0)}, video top ${layout.vTop.toFixed(0)}`);
  await page.screenshot({ path: path.join(OUT, 'phone.png'), fullPage: true });
  {
    const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    // when the thumbnail's <video> gets its source, against the page's load event
    await pp.addInitScript(() => {
      window.__tgAnimSrcAt = null;
      window.__tgAnimPosterAt = null;
      new MutationObserver(() => {
        const a = document.getElementById('anim');
        if (a && a.getAttribute('src') && window.__tgAnimSrcAt === null) window.__tgAnimSrcAt = performance.now();
        if (a && a.getAttribute('poster') && window.__tgAnimPosterAt === null) window.__tgAnimPosterAt = performance.now();
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['src', 'poster'], childList: true });
      // whether the job's page classes (early.js) were on the root before the body's first
      // element was parsed: otherwise the browser lays out the empty page first (its form,
      // example and history), a ~20-ms layout on a phone thrown away when the classes arrive
      window.__tgBodyBeforeJobClass = null;
      const mo = new MutationObserver((records) => {
        if (!document.body || !records.some((r) => [...r.addedNodes].some((n) => n.nodeType === 1 && document.body.contains(n)))) return;
        window.__tgBodyBeforeJobClass = !document.documentElement.classList.contains('job-link');
        mo.disconnect();
      });
      mo.observe(document, { subtree: true, childList: true });
      // localStorage read before the body is parsed (a synchronous round trip to the browser
      // process): early.js reads the saved token only where the page says one is needed
      window.__tgStorageEarly = 0;
      const getItem = Storage.prototype.getItem;
      Storage.prototype.getItem = function (k) { if (!document.body) window.__tgStorageEarly++; return getItem.call(this, k); };
      // the frame in which the result shows and the one in which the form and the history do
      // (the root loses opening-job): counted by an animation-frame loop
      window.__tgFrame = 0;
      const tick = () => { window.__tgFrame++; if (window.__tgOpenedFrame === null && window.__tgFrame < 1000) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      window.__tgResultFrame = null;
      window.__tgOpenedFrame = null;
      new MutationObserver(() => {
        const r = document.getElementById('result');
        if (r && !r.hidden && window.__tgResultFrame === null) window.__tgResultFrame = window.__tgFrame;
        if (!document.documentElement.classList.contains('opening-job') && window.__tgOpenedFrame === null && window.__tgResultFrame !== null) window.__tgOpenedFrame = window.__tgFrame;
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['hidden', 'class'] });
    });
    await pp.goto(`${base}/#job=${id}`, { waitUntil: 'load' });
    const jobClassFirst = await pp.evaluate(() => window.__tgBodyBeforeJobClass);
    const storageEarly = await pp.evaluate(() => ({ n: window.__tgStorageEarly, mark: document.documentElement.hasAttribute('data-token') }));
    check('a job\'s link on a server without a token reads no localStorage before the body is parsed (no <html data-token>)',
      storageEarly.n === 0 && !storageEarly.mark, JSON.stringify(storageEarly));
    check('a page opened on a job\'s link has the job\'s layout classes before any of its body is parsed (no layout of the empty page first)',
      jobClassFirst === false, `body parsed before the classes: ${jobClassFirst}`);
    await pp.locator('.new-card').waitFor({ state: 'visible', timeout: 15000 }).catch(() => {});
    const frames = await pp.evaluate(() => ({ result: window.__tgResultFrame, form: window.__tgOpenedFrame }));
    check('a page opened on a job\'s link shows the form and the history a frame after the result, not in its style and layout',
      frames.result !== null && frames.form !== null && frames.form > frames.result, JSON.stringify(frames));
    await pp.locator('#result').waitFor({ state: 'visible', timeout: 15000 }).catch(() => {});
    await pp.waitForTimeout(600);
    const v = await pp.evaluate(() => {
      const r = document.getElementById('result-title').getBoundingClientRect();
      const g = document.querySelector('.pane-gif').getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, h: innerHeight, gifTop: g.top, focused: document.activeElement && document.activeElement.id };
    });
    check('at 375×812 the result heading is in view and focused, the thumbnail right below it',
      v.top >= 0 && v.bottom <= v.h && v.focused === 'result-title' && v.gifTop < v.h, JSON.stringify(v));
    const first = await pp.evaluate(() => ({ scrollY: window.scrollY,
      result: document.getElementById('result').getBoundingClientRect().top,
      form: document.querySelector('.new-card').getBoundingClientRect().top }));
    check('a page opened on a job\'s link has the result first, above the form, with nothing scrolled',
      first.scrollY === 0 && first.result < first.form, JSON.stringify(first));
    // what the phone fetched while it showed the thumbnail: not the original video, not the
    // history (both below the fold: fetched when they come near the window), not the
    // example's animation; the MP4 loop after the load event, its poster painted first
    await pp.waitForFunction(() => window.__tgAnimSrcAt !== null, null, { timeout: 10000 }).catch(() => {});
    const fetched = await pp.evaluate(() => {
      const load = performance.getEntriesByType('navigation')[0].loadEventEnd;
      const e = performance.getEntriesByType('resource').map((r) => ({ u: new URL(r.name).pathname + new URL(r.name).search, t: r.startTime }));
      return { load, e, srcAt: window.__tgAnimSrcAt, posterAt: window.__tgAnimPosterAt, anim: document.getElementById('anim').getAttribute('src'), poster: document.getElementById('anim').getAttribute('poster'),
        videoSrc: document.getElementById('video').getAttribute('src'), videoTop: document.getElementById('video').getBoundingClientRect().top };
    });
    check('at 375 px a job\'s page paints the poster first and gives the MP4 loop its source after the load event',
      fetched.poster === job.result.poster && fetched.anim === job.result.mp4 && fetched.srcAt !== null && fetched.posterAt !== null &&
      fetched.srcAt >= fetched.load && fetched.srcAt > fetched.posterAt,
      `poster set at ${fetched.posterAt && fetched.posterAt.toFixed(0)} ms, source at ${fetched.srcAt && fetched.srcAt.toFixed(0)} ms, load ended ${fetched.load.toFixed(0)} ms`);
    check('at 375 px the history, the original video and the example\'s animation are not fetched while below the fold',
      fetched.videoTop > 812 + 200 && !fetched.videoSrc && !fetched.e.some((x) => /^\/api\/jobs\?/.test(x.u) || x.u === job.result.video || x.u === '/static/example.webp'),
      `video at ${Math.round(fetched.videoTop)} px, src ${fetched.videoSrc}; ${fetched.e.map((x) => x.u).join(' ')}`);
    // The timeline is below the fold on a phone: it is drawn (editor.js fetched) once it
    // comes near the window, not before.
    await pp.waitForTimeout(1500);
    const drawnEarly = await pp.evaluate(() => ({ clips: document.querySelectorAll('#timeline [data-kind="clip"]').length,
      editor: performance.getEntriesByType('resource').filter((r) => /\/static\/editor\.js$/.test(r.name)).length,
      below: document.getElementById('timeline').getBoundingClientRect().top > innerHeight + 200 }));
    await pp.locator('#timeline').scrollIntoViewIfNeeded();
    // every clip and keyframe of the timeline is a target of at least 44×44 px to tap
    await pp.locator('#timeline [data-kind="clip"]').first().waitFor({ state: 'attached', timeout: 10000 }).catch(() => {});
    const drawnLater = await pp.locator('#timeline [data-kind="clip"]').count();
    check('at 375 px the timeline far below the fold is drawn (editor.js fetched) when it comes near the window, not before',
      drawnEarly.below && drawnEarly.clips === 0 && drawnEarly.editor === 0 && drawnLater > 0, `${JSON.stringify(drawnEarly)}, then ${drawnLater} clips`);
    // The targets as they are hit (elementFromPoint), not only their boxes: a tap on the
    // middle of each clip is that clip's own target, never a neighbour's end drawn over it.
    const taps = await pp.evaluate(() => [...document.querySelectorAll('#timeline .tl-seg')].map((g) => {
      const r = g.querySelector('.tl-clip').getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      const seg = hit && hit.closest('.tl-seg');
      return seg === g && !hit.closest('.tl-grip') ? '' : `clip ${g.dataset.index} → ${seg ? `clip ${seg.dataset.index}` : 'nothing'} ${hit ? hit.getAttribute('class') : ''}`;
    }).filter(Boolean));
    check('at 375 px a tap on a clip is that clip (not a neighbour\'s end drawn over it)', taps.length === 0, taps.join('; '));
    // Keyframes and every clip are 44×44 targets; a clip's body is narrower only where the next
    // clip's centre is nearer than 44 px (then it reaches half-way to it), and its ends are
    // 44 px where the neighbours leave room (else they share the gap half and half): no
    // target of one clip covers another's.
    const tl = await pp.evaluate(() => {
      const box = (n) => n && n.getBoundingClientRect();
      const segs = [...document.querySelectorAll('#timeline .tl-seg')].map((g) => ({ i: g.dataset.index,
        c: box(g.querySelector('.tl-clip')), body: box(g.querySelector('.tl-hit')),
        ends: [...g.querySelectorAll('.tl-grip-hit')].map(box) })).sort((a, b) => a.c.left - b.c.left);
      const bad = [];
      segs.forEach((sg, k) => {
        const cx = sg.c.left + sg.c.width / 2;
        const near = Math.min(...[segs[k - 1], segs[k + 1]].filter(Boolean).map((o) => Math.abs(o.c.left + o.c.width / 2 - cx)), Infinity);
        if (sg.body.height < 43.5 || sg.body.width < Math.min(44, near) - 0.5) bad.push(`clip ${sg.i} body ${Math.round(sg.body.width)}x${Math.round(sg.body.height)}`);
        const room = [k > 0 ? sg.body.left - segs[k - 1].body.right : Infinity, k < segs.length - 1 ? segs[k + 1].body.left - sg.body.right : Infinity];
        sg.ends.forEach((e, j) => { if (e.height < 43.5 || e.width < Math.min(44, room[j] / 2) - 0.5) bad.push(`clip ${sg.i} end ${j} ${Math.round(e.width)} of ${Math.round(room[j])} px of room`); });
        for (const o of segs) {
          if (o === sg) continue;
          for (const a of [sg.body, ...sg.ends]) for (const b of [o.body, ...o.ends]) {
            if (a.width > 0 && b.width > 0 && Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5) bad.push(`clip ${sg.i} covers clip ${o.i}`);
          }
        }
      });
      const keys = [...document.querySelectorAll('#timeline .tl-keyg > rect')].map(box).filter((b) => Math.min(b.width, b.height) < 43.5);
      return { n: segs.length, ends: segs.reduce((a, sg) => a + sg.ends.length, 0), bad, keys: keys.length };
    });
    // a squeezed end is still a 44-px target once its clip is chosen (a tap on the clip)
    const squeezed = await pp.evaluate(() => [...new Set([...document.querySelectorAll('#timeline .tl-grip-over')].map((r) => r.dataset.index))]);
    if (squeezed.length) {
      const cb = await pp.locator(`#timeline .tl-seg[data-index="${squeezed[0]}"] .tl-clip`).boundingBox();
      await pp.mouse.click(cb.x + cb.width / 2, cb.y + cb.height / 2);
      const on = await pp.evaluate(() => [...document.querySelectorAll('#timeline .tl-grip-over.on')].map((r) => {
        const b = r.getBoundingClientRect();
        return { i: r.dataset.index, m: r.dataset.mode, w: Math.round(b.width), h: Math.round(b.height) };
      }));
      // and the other clips' drawings stay theirs while it is chosen
      const others = await pp.evaluate(() => [...document.querySelectorAll('#timeline .tl-seg')].map((g) => {
        const r = g.querySelector('.tl-clip').getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return hit && hit.closest('.tl-seg') === g ? '' : `clip ${g.dataset.index}'s drawing → ${hit && hit.getAttribute('class')}`;
      }).filter(Boolean));
      // the room an end has: from the clip's edge to the neighbour's drawing (3 px short), at most 44
      const room = await pp.evaluate((i) => {
        const rs = [...document.querySelectorAll('#timeline .tl-clip')].map((r) => r.getBoundingClientRect()).sort((a, b) => a.left - b.left);
        const me = document.querySelector(`#timeline .tl-seg[data-index="${i}"] .tl-clip`).getBoundingClientRect();
        const k = rs.findIndex((r) => Math.abs(r.left - me.left) < 0.01);
        return { start: Math.min(44, k > 0 ? me.left - rs[k - 1].right - 3 : 44), end: Math.min(44, k < rs.length - 1 ? rs[k + 1].left - me.right - 3 : 44) };
      }, squeezed[0]);
      check('at 375 px a tap on a crowded clip gives its squeezed ends targets 44 tall reaching from its edges to its neighbours\' drawings (at most 44 px), which stay theirs',
        on.length > 0 && on.every((t) => t.i === squeezed[0] && t.w >= room[t.m] - 1 && t.w > 0 && t.h >= 44) && others.length === 0,
        `squeezed: clips ${squeezed.join(', ')}; after the tap: ${on.map((t) => `${t.i}${t.m} ${t.w}x${t.h}`).join(', ')} (room ${Math.round(room.start)}/${Math.round(room.end)}); ${others.join('; ')}`);
      await pp.evaluate(() => document.getElementById('video').pause());
    }
    check('at 375 px every keyframe is a 44×44 target, every clip and clip end one too where its neighbours leave room, and no clip\'s target covers another\'s',
      tl.n === plan.segments.length && tl.ends === 2 * tl.n && tl.bad.length === 0 && tl.keys === 0, `${tl.n} clips, ${tl.ends} ends, ${tl.keys} small keyframes; ${[...new Set(tl.bad)].join(', ')}`);
    // and no two of a clip's three targets (move, start, end) cover each other
    const overlap = await pp.evaluate(() => [...document.querySelectorAll('#timeline .tl-seg')].map((g) => {
      const [m, a, b] = ['.tl-hit', '.tl-grip-start .tl-grip-hit', '.tl-grip-end .tl-grip-hit'].map((q) => g.querySelector(q)).map((n) => n && n.getBoundingClientRect());
      if (!m || !a || !b) return `clip ${g.dataset.index}: no target for ${!m ? 'the clip' : 'its ends'}`;
      return a.right <= m.left + 0.5 && m.right <= b.left + 0.5 ? '' : `clip ${g.dataset.index}: ${a.left}-${a.right} ${m.left}-${m.right} ${b.left}-${b.right}`;
    }).filter(Boolean));
    check('at 375 px a short clip\'s two ends are targets beside its own, not over it', overlap.length === 0, overlap.join('; '));
    await pp.locator('.history-card').scrollIntoViewIfNeeded();
    const title = await pp.locator(`#history .history-item[data-id="${id}"] .h-title`).textContent({ timeout: 10000 }).catch(() => '');
    check('a phone\'s history row shows the title (the link\'s path, not just its host)', /story\.mp4/.test(title || ''), title);
    const small = await smallTargets(pp);
    check('at 375×812 every tap target of the result is at least 44×44 px (buttons, downloads, sharing, chips, timeline)',
      small.length === 0, small.join(', '));
    await pp.screenshot({ path: path.join(OUT, 'phone-result.png') });
    // the other states on the phone: the empty page with its options open, an error at the
    // link field, an error in the banner (a job that does not exist)
    await pp.goto(`${base}/`, { waitUntil: 'load' });
    await pp.click('#options summary');
    await pp.locator('#opt-clips').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
    const smallEmpty = await smallTargets(pp);
    await pp.click('#options summary');
    await pp.fill('#url', 'not a url');
    await pp.click('#submit');
    await pp.locator('#url-error').waitFor({ state: 'visible', timeout: 5000 }).catch(() => {});
    const smallField = await smallTargets(pp);
    await pp.goto(`${base}/#job=${'0'.repeat(32)}`, { waitUntil: 'load' });
    await pp.locator('#alert').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
    const alertShown = await pp.locator('#alert-close').isVisible();
    const smallAlert = await smallTargets(pp);
    check('at 375×812 every tap target of the empty page (options open) and of both errors (field, banner) is at least 44×44 px',
      alertShown && smallEmpty.length === 0 && smallField.length === 0 && smallAlert.length === 0,
      `banner shown ${alertShown}; empty: ${smallEmpty.join(', ')}; field: ${smallField.join(', ')}; banner: ${smallAlert.join(', ')}`);
    await pp.screenshot({ path: path.join(OUT, 'phone-error.png') });
    await phone.close();
  }

  // A finished job's page, opened on its link at 1280×800 and 375×812: nothing moves while it
  // loads and its editor (the timeline, the clips' buttons) appears — every layout shift
  // Chromium reports counts, whatever its source — and the landing page's example (its still,
  // its animation) is not asked for: the page never shows it.
  {
    const shifts = [];
    const exampleAsked = [];
    for (const [w, h] of [[1280, 800], [375, 812]]) {
      const phone = w < 600;
      const ctx = await browser.newContext({ viewport: { width: w, height: h }, isMobile: phone, hasTouch: phone });
      const pg = await ctx.newPage();
      const asked = [];
      pg.on('request', (rq) => asked.push(new URL(rq.url()).pathname));
      await pg.addInitScript(() => {
        window.__tgShifts = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            window.__tgShifts.push(`${e.value.toFixed(4)} at ${Math.round(e.startTime)} ms: ${e.sources.map((x) => (x.node && (x.node.id || x.node.className || x.node.nodeName)) || '?').join(', ')}`);
          }
        }).observe({ type: 'layout-shift', buffered: true });
      });
      await pg.goto(`${base}/#job=${id}`, { waitUntil: 'load' });
      await pg.locator('#result').waitFor({ state: 'visible', timeout: 15000 }).catch(() => {});
      await pg.waitForTimeout(800);
      // on a phone the timeline is below the fold: the editor comes as it nears the window
      if (phone) await pg.locator('#timeline').scrollIntoViewIfNeeded();
      const drawn = await pg.waitForFunction(() => document.querySelectorAll('#timeline [data-kind="clip"]').length > 0 &&
        document.querySelectorAll('#clip-list button.chip').length > 0, null, { timeout: 15000 }).then(() => true).catch(() => false);
      await pg.waitForTimeout(800);
      const got = await pg.evaluate(() => window.__tgShifts);
      shifts.push(`${w}×${h}: ${drawn ? '' : 'the editor did not appear; '}${got.length ? got.join('; ') : 'none'}`);
      for (const u of asked) if (/^\/static\/example/.test(u)) exampleAsked.push(`${w}×${h} ${u}`);
      await ctx.close();
    }
    check('a finished job\'s page moves nothing while it loads and its editor appears (no layout shift at 1280×800 and 375×812)',
      shifts.every((x) => /: none$/.test(x)), shifts.join(' | '));
    check('a page opened on a job\'s link does not fetch the landing page\'s example (still or animation)',
      exampleAsked.length === 0, exampleAsked.join(', ') || 'not asked for');
  }

  // 8. The error path: a URL the server refuses without any network access.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(() => window.scrollTo(0, 0));
  phase = 'error-path';
  const readable = (t) => t.length >= 8 && t.length < 400 && /^[A-Z0-9"'‘“(]/.test(t) &&
    /[.!?]$/.test(t) && !/[{}]|\bat \S+:\d+|Error:|undefined|\[object/.test(t) && humane(t);
  // not a link at all: said at the field, before any request
  await page.fill('#url', 'not a url');
  await page.click('#submit');
  const notUrl = await page.evaluate(() => ({ invalid: document.getElementById('url').getAttribute('aria-invalid'),
    focused: document.activeElement.id, text: document.getElementById('url-error').textContent }));
  check('"not a url" is refused at the field (aria-invalid, focus) with its own sentence',
    notUrl.invalid === 'true' && notUrl.focused === 'url' && readable(notUrl.text) && !/spaces/.test(notUrl.text), JSON.stringify(notUrl));
  // a link the server refuses
  await page.fill('#url', 'https://user:secret@example.com/x.mp4');
  const errResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 15000 });
  await page.click('#submit');
  const er = await errResp;
  let errBody = {};
  try { errBody = await er.json(); } catch (e) { errBody = {}; }
  check('server refuses a link with a password with 400 or 422 and an error object',
    (er.status() === 400 || er.status() === 422) && errBody.error && typeof errBody.error.message === 'string',
    `status ${er.status()}, code ${errBody.error && errBody.error.code}`);
  await page.locator('#url-error').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
  const fieldText = ((await page.locator('#url-error').textContent()) || '').trim();
  const fieldState = await page.evaluate(() => ({ invalid: document.getElementById('url').getAttribute('aria-invalid'), focused: document.activeElement.id,
    described: document.getElementById('url').getAttribute('aria-describedby') }));
  check('the server\'s refusal is one readable sentence at the link field, which is marked invalid and focused',
    readable(fieldText) && fieldState.invalid === 'true' && fieldState.focused === 'url' && /url-error/.test(fieldState.described || ''),
    `"${fieldText}" ${JSON.stringify(fieldState)}`);
  await page.screenshot({ path: path.join(OUT, 'error.png') });
  if (!MOCK) await axeCheck(page, 'error');
  // an option out of range: at its field
  await page.fill('#url', videoUrl);
  await page.click('#options summary');
  await page.fill('#opt-clips', '99');
  await page.click('#submit');
  const optState = await page.evaluate(() => ({ invalid: document.getElementById('opt-clips').getAttribute('aria-invalid'),
    focused: document.activeElement.id, text: (document.getElementById('opt-clips-error') || {}).textContent }));
  check('an option out of range is said at its field, which gets the focus', optState.invalid === 'true' && optState.focused === 'opt-clips' &&
    /1 to 20/.test(optState.text || ''), JSON.stringify(optState));
  await page.fill('#opt-clips', '3');
  // the same video again (an upload: its content is known at once): the earlier result,
  // said as news, not as an error
  await page.fill('#url', '');
  const cachedResp = page.waitForResponse((r) => r.url() === `${base}/api/jobs` && r.request().method() === 'POST', { timeout: 15000 });
  await page.setInputFiles('#file', VIDEO);
  const cr = await cachedResp;
  await page.locator('#alert').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
  const info = await page.evaluate(() => {
    const a = document.getElementById('alert');
    return { cls: a.className, role: a.getAttribute('role'), bg: getComputedStyle(a).backgroundColor, text: a.textContent.trim() };
  });
  // (the mock cannot know that a link and an upload are the same video: the server only)
  if (!MOCK) check('an "already made" answer is an info banner (role status, not the error colours)', cr.status() === 200 &&
    /\binfo\b/.test(info.cls) && info.role === 'status' && info.bg !== 'rgb(253, 236, 236)', JSON.stringify(info));
  await page.keyboard.press('Escape');
  check('Escape closes the banner', await page.locator('#alert').isHidden());
  phase = 'main';

  // 9. Upload the same video as a file, with other options (multipart with option fields):
  // two clips, HD (upscaled: story.mp4 is 640 px wide), the strict safety filter.
  await page.fill('#opt-clips', '2');
  await page.selectOption('#opt-upscale', 'hd');
  await page.selectOption('#opt-safe', 'strict');
  await page.uncheck('#opt-formats-webp'); // the formats option: GIF and MP4 only
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
    if (!MOCK) check('the Upscale and Safe choices reach the job: upscale hd gives a 1280 px GIF, safe strict is kept',
      upJob.options && upJob.options.upscale === 'hd' && upJob.options.safe === 'strict' && gifOut && gifOut.width === 1280,
    `options ${JSON.stringify(upJob.options)}, gif ${JSON.stringify(gifOut)}`);
    const dlText2 = await page.$$eval('#downloads a', (as) => as.map((a) => a.textContent));
    check('the Formats checkboxes reach the job: WebP unchecked makes a GIF and an MP4, no WebP (nor its button)',
      upJob.options && JSON.stringify(upJob.options.formats) === '["gif","mp4"]' && upJob.result && !upJob.result.webp &&
      upJob.result.gif && upJob.result.mp4 && !dlText2.some((t) => /webp/i.test(t)) && dlText2.some((t) => /gif/i.test(t)),
    `formats ${JSON.stringify(upJob.options && upJob.options.formats)}, downloads ${dlText2.join(' | ')}`);
    await page.check('#opt-formats-webp');
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
  // the player's source when the next result appears (recorded as it is unhidden, before
  // anything that comes after its paint)
  await page.evaluate(() => {
    const res = document.getElementById('result');
    window.srcAtResult = undefined;
    const mo = new MutationObserver(() => {
      if (res.hidden) return;
      window.srcAtResult = document.getElementById('video').getAttribute('src');
      mo.disconnect();
    });
    if (res.hidden) mo.observe(res, { attributes: true, attributeFilter: ['hidden'] });
    else { // hidden once the upload starts: watch for it to show again
      const wait = new MutationObserver(() => {
        if (!res.hidden) return;
        wait.disconnect();
        mo.observe(res, { attributes: true, attributeFilter: ['hidden'] });
      });
      wait.observe(res, { attributes: true, attributeFilter: ['hidden'] });
    }
  });
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
    // as the result appeared the player held this job's video or none yet (it is given its
    // source once near the window), never the job's shown before (the upload's)
    const first = await page.evaluate(() => window.srcAtResult);
    check('as the result appears the player shows no other job\'s video', first === null || first === r.video,
      `src ${first}, this job's ${r.video}`);
    await page.locator('#video').scrollIntoViewIfNeeded().catch(() => {});
    const ready = await page.waitForFunction((want) => {
      const v = document.getElementById('video');
      return v.getAttribute('src') === want && v.readyState >= 2;
    }, r.video, { timeout: 20000 }).then(() => true).catch(() => false);
    const [rs, src] = await page.evaluate(() => [document.getElementById('video').readyState,
      document.getElementById('video').getAttribute('src')]);
    check('the page plays the copy: video.readyState >= 2', ready, `readyState ${rs}, src ${src}`);
    const note = await page.locator('#video-note').textContent();
    check('the page says a playable copy is shown', /copy/.test(note || '') && await page.locator('#video-note').isVisible(), note);
    const chips = page.locator('#clip-list button.chip:not(.chip-x)');
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

  // 10b. Edit the plan: drag the first clip on the timeline, make it again (no analysis);
  // the new GIF's first frame is the source at the clip's new time, not at its old one.
  await page.evaluate((jid) => { location.hash = `#job=${jid}`; }, id);
  await page.waitForFunction((jid) => !document.getElementById('result').hidden &&
    document.querySelectorAll('#timeline [data-kind="clip"]').length > 0 && location.hash === `#job=${jid}`, id, { timeout: 20000 }).catch(() => {});
  await page.waitForTimeout(300);
  {
    const segs = plan.segments;
    const dur = plan.source.duration;
    const s0 = segs[0];
    const next = segs[1] ? segs[1].start : dur;
    const shift = s0.start > 2.5 ? -Math.min(s0.start - 0.2, 4) : Math.min(next - s0.end - 0.3, 4);
    const tl = await page.locator('#timeline svg').boundingBox();
    const pxPerS = (tl.width - 16) / dur;
    const cb = await page.locator('#timeline [data-kind="clip"] .tl-clip').nth(0).boundingBox();
    const x0 = cb.x + cb.width / 2;
    const y0 = cb.y + cb.height / 2;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + (shift * pxPerS) / 2, y0, { steps: 4 });
    await page.mouse.move(x0 + shift * pxPerS, y0, { steps: 4 });
    await page.mouse.up();
    const moved = Number(await page.locator('#timeline [data-kind="clip"]').nth(0).getAttribute('data-start'));
    check('dragging a clip on the timeline moves it', Math.abs(moved - (s0.start + shift)) < 0.25 &&
      await page.locator('#edit-render').isVisible(), `start ${s0.start} → ${moved} (wanted ${(s0.start + shift).toFixed(2)})`);
    // the keyboard's way to a clip's length: Alt+arrow keys move its end (by 0.1 s, 1 s with Shift)
    {
      const c0 = page.locator('#timeline [data-kind="clip"]').nth(0);
      await c0.focus();
      const before = { a: Number(await c0.getAttribute('data-start')), b: Number(await c0.getAttribute('data-end')) };
      for (let k = 0; k < 3; k++) await page.keyboard.press('Alt+ArrowLeft');
      await page.keyboard.press('Shift+Alt+ArrowRight');
      const c1 = page.locator('#timeline [data-kind="clip"]').nth(0);
      const after = { a: Number(await c1.getAttribute('data-start')), b: Number(await c1.getAttribute('data-end')) };
      const focused = await page.evaluate(() => document.activeElement && document.activeElement.dataset.kind === 'clip');
      check('Alt+arrow keys change a focused clip\'s length (its end), the keyboard\'s way to dragging its end',
        Math.abs(after.a - before.a) < 0.001 && Math.abs(after.b - (before.b + 0.7)) < 0.01 && focused,
        `${before.a}–${before.b} → ${after.a}–${after.b}, focus on a clip ${focused}`);
      // back to the dragged length, so that the render below is the drag's
      for (let k = 0; k < 7; k++) await page.keyboard.press('Alt+ArrowLeft');
    }
    const renderResp = page.waitForResponse((r) => /\/render$/.test(r.url()) && r.request().method() === 'POST', { timeout: 15000 });
    const tr = Date.now();
    await page.click('#edit-render');
    let eBody = {};
    try { eBody = await (await renderResp).json(); } catch (e) { eBody = {}; }
    const eid = eBody.id;
    await page.waitForFunction((jid) => location.hash === `#job=${jid}` && !document.getElementById('result').hidden, eid,
      { timeout: RESULT_TIMEOUT, polling: 100 }).catch(() => {});
    const took = (Date.now() - tr) / 1000;
    const ej = eid ? await getJson(`${base}/api/jobs/${eid}`) : {};
    const es = ej.result && ej.result.plan && ej.result.plan.segments;
    check('"Make it again" renders the edited plan as a new version of the job',
      ej.state === 'done' && ej.source && ej.source.kind === 'edit' && ej.source.of === id && es && Math.abs(es[0].start - moved) < 0.01,
      `state ${ej.state}, source ${JSON.stringify(ej.source)}, first clip ${es && es[0].start}, ${took.toFixed(1)} s from the click to the result`);
    if (ej.result && !MOCK) { // (the mock's GIF is always the same one)
      const gifFile = await download(`${base}${ej.result.gif}`, path.join(OUT, 'edited.gif'));
      const atNew = framePsnr(gifFile, VIDEO, es[0].start);
      const atOld = framePsnr(gifFile, VIDEO, s0.start);
      check('the new GIF\'s first frame is the source at the clip\'s new time', atNew > 20 && atNew > atOld + 3,
        `PSNR ${atNew.toFixed(1)} dB at ${es[0].start} s, ${atOld.toFixed(1)} dB at the old ${s0.start} s`);
    }
    await page.locator('#before').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
    check('the page shows the version before the edit beside it', await page.locator('#before').isVisible() &&
      /\/media\/thumbnails\//.test(await page.getAttribute('#before-img', 'src') || ''));
    const dl = await page.$$eval('#downloads a', (as) => as.map((a) => a.textContent.trim()));
    check('the edited plan is downloadable', dl.some((t) => /Edited plan/.test(t)), dl.join(' | '));
    await page.waitForFunction((ids) => ids.every((x) => document.querySelector(`#history .history-item[data-id="${x}"]`)), [id, eid], { timeout: 10000 }).catch(() => {});
    check('the history keeps both versions', await page.locator(`#history .history-item[data-id="${id}"]`).count() === 1 &&
      await page.locator(`#history .history-item[data-id="${eid}"]`).count() === 1);
    await page.screenshot({ path: path.join(OUT, 'edited.png'), fullPage: true });
    // delete the edited version: the job and its files go, the first version stays
    await page.click('#delete');
    await page.waitForFunction((jid) => !document.querySelector(`#history .history-item[data-id="${jid}"]`), eid, { timeout: 10000 }).catch(() => {});
    const gone = await httpGet(`${base}/api/jobs/${eid}`);
    const gifGone = await httpGet(`${base}${ej.result.gif}`);
    const parentGif = await httpGet(`${base}${job.result.gif}`);
    check('Delete removes the finished job and its files, not the version it came from',
      gone.status === 404 && (MOCK || (gifGone.status === 404 && parentGif.status === 200)) && await page.locator('#result').isHidden(), // (the mock's files are shared)
      `job ${gone.status}, its GIF ${gifGone.status}, the first version's GIF ${parentGif.status}`);
  }

  // 10c. A failed job: one sentence without a path; "Try again" makes a new job; Delete removes it.
  if (!MOCK) {
    await page.fill('#url', `${videoUrl}.missing`);
    await page.click('#submit');
    await page.locator('#retry').waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
    const failedId = await page.evaluate(() => (/#job=([0-9a-f]{32})/.exec(location.hash) || [])[1]);
    const msg = ((await page.locator('#alert-text').textContent()) || '').trim();
    check('a failed job says why in one sentence, without a server path or a traceback', await page.locator('#retry').isVisible() &&
      msg.length > 8 && humane(msg) && /[.!?]$/.test(msg), `"${msg}"`);
    if (!MOCK) await axeCheck(page, 'failed job');
    const retryResp = page.waitForResponse((r) => /\/retry$/.test(r.url()) && r.request().method() === 'POST', { timeout: 15000 });
    await page.click('#retry');
    let rb = {};
    try { const rr = await retryResp; rb = await rr.json(); rb.status = rr.status(); } catch (e) { rb = {}; }
    await page.waitForFunction((jid) => location.hash === `#job=${jid}`, rb.id, { timeout: 10000 }).catch(() => {});
    check('"Try again" makes a new job of the same link', rb.status === 202 && rb.id && rb.id !== failedId &&
      rb.source && rb.source.url === `${videoUrl}.missing`, `status ${rb.status}, id ${rb.id}`);
    await page.locator('#delete-ended').waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
    await page.click('#delete-ended');
    await page.waitForFunction(() => !location.hash, null, { timeout: 10000 }).catch(() => {});
    const g = await httpGet(`${base}/api/jobs/${rb.id}`);
    check('Delete on a failed job removes it', g.status === 404, `status ${g.status}`);
  }

  // 10d. History paging: "Show older jobs" beyond the first page (20): jobs made and
  // cancelled through the API until there are more than a page, then the page's list.
  {
    let total = (await getJson(`${base}/api/jobs?limit=1`)).total;
    for (let i = 0; total < 23 && i < 30; i++) {
      const r = await httpRequest(`${base}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: `${videoUrl}?page${i}`, options: { formats: ['gif'] } }) });
      const jid = (() => { try { return JSON.parse(r.body).id; } catch (e) { return null; } })();
      if (jid) await httpRequest(`${base}/api/jobs/${jid}`, { method: 'DELETE' });
      total = (await getJson(`${base}/api/jobs?limit=1`)).total;
    }
    await page.click('#history-refresh');
    await page.waitForFunction(() => document.querySelectorAll('#history .history-item').length >= 20, null, { timeout: 10000 }).catch(() => {});
    const shownN = await page.locator('#history .history-item').count();
    const more = await page.locator('#history-more').isVisible();
    if (more) await page.click('#history-more');
    await page.waitForFunction((n) => document.querySelectorAll('#history .history-item').length >= n, total, { timeout: 10000 }).catch(() => {});
    const allN = await page.locator('#history .history-item').count();
    const moreAfter = await page.locator('#history-more').isVisible();
    check('with more than 20 jobs the history shows 20 and "Show older jobs" brings the rest',
      total > 20 && shownN === 20 && more && allN === total && !moreAfter, `${shownN} of ${total} shown, then ${allN}; button ${more} → ${moreAfter}`);
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
    const v = document.getElementById('anim');
    if (!v.hidden && v.readyState >= 2) return v.videoWidth;
    const img = document.getElementById('gif');
    return !img.hidden && img.complete && img.naturalWidth > 0 ? img.naturalWidth : false;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch(() => 0);
  check('and the job runs to its result, the animation loading through the login cookie', gifW > 0, `width ${gifW}`);
  const tokJob = await page.evaluate(() => (/^#job=([0-9a-f]{32})$/.exec(location.hash) || [])[1] || '');

  // the token is asked only once: a new visit of the page goes straight in
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await page.locator('#history .history-item').first().waitFor({ timeout: 10000 }).catch(() => {});
  const again = await page.locator('#login').isVisible();
  const items = await page.locator('#history .history-item').count();
  check('a second visit does not ask again and lists the job', !again && items >= 1, `form shown ${again}, ${items} items`);
  await context.close();

  // a new browser session (no login cookie) with the saved token, opened on a job's link: the
  // page says the server needs a token (<html data-token>), so early.js sends the saved one
  // with its early request, which is answered at once (no 401, no second round trip)
  {
    const ctx3 = await browser.newContext();
    await ctx3.addInitScript((t) => { try { localStorage.setItem('thumbgen.token', t); } catch (e) { /* */ } }, TOKEN);
    const p3 = await ctx3.newPage();
    const first = p3.waitForResponse((r) => r.url() === `${base}/api/jobs/${tokJob}`, { timeout: 15000 }).catch(() => null);
    await p3.goto(`${base}/#job=${tokJob}`, { waitUntil: 'load' });
    const r3 = await first;
    const shown = await p3.locator('#result').waitFor({ state: 'visible', timeout: 15000 }).then(() => true).catch(() => false);
    const mark = await p3.evaluate(() => document.documentElement.hasAttribute('data-token'));
    check('a token server marks its page <html data-token>, and a job\'s link in a new session sends the saved token with its first request',
      tokJob !== '' && mark && r3 && r3.status() === 200 && !!r3.request().headers().authorization && shown,
      `job ${tokJob}, mark ${mark}, first answer ${r3 && r3.status()}, result shown ${shown}`);
    await ctx3.close();
  }

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
