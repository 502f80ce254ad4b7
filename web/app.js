// thumbgen web page: plain JavaScript, no build step, no dependencies.
// Talks to the API of docs/api.md. Strings from the API (titles, URLs, file names, error
// messages) are only ever inserted with textContent / setAttribute, never as HTML.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const STAGES = [
    { key: 'download', label: 'Download', doing: 'Downloading the video' },
    { key: 'analyze', label: 'Analyse', doing: 'Analysing the frames' },
    { key: 'select', label: 'Select', doing: 'Choosing the best moments' },
    { key: 'render', label: 'Render', doing: 'Rendering the animated thumbnail' },
  ];
  const TERMINAL = new Set(['done', 'failed', 'cancelled']);
  const OPTION_FIELDS = [
    // id, API name, kind, default
    ['opt-clips', 'clips', 'int', '3'],
    ['opt-clip-len', 'clip-len', 'float', '1.2'],
    ['opt-width', 'width', 'int', '480'],
    ['opt-fps', 'fps', 'int', '12'],
    ['opt-style', 'style', 'enum', 'clips'],
    // a checkbox: checked sends its value (hd), unchecked the default (auto)
    ['opt-hd', 'upscale', 'check', 'auto'],
    ['opt-safe', 'safe', 'enum', 'soft'],
  ];
  const OPTION_LABELS = {
    clips: ['Clips', ''], 'clip-len': ['Clip length', ' s'], style: ['Style', ''],
    width: ['Width', ' px'], fps: ['Frame rate', ' fps'], analysis: ['Analysis', ''],
    keyframes: ['Keyframes', ''], quality: ['Quality', ''], 'still-len': ['Still length', ' s'],
    crossfade: ['Cross-fade', ' s'], upscale: ['Upscale', ''], safe: ['Safe', ''],
  };
  const STATUS_SENTENCES = {
    400: 'The server could not accept this request.',
    404: 'The server could not find that job or file.',
    409: 'That job has already ended.',
    413: 'The file is larger than the server accepts.',
    415: 'That file is not a video.',
    422: 'The server cannot use that video or link.',
    429: 'The server is busy with too many jobs. Please try again in a minute.',
    503: 'The server is shutting down. Please try again shortly.',
  };
  const NETWORK_SENTENCE = 'Could not reach the thumbgen server. Check that it is running, then try again.';

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code || '';
    }
  }

  function sentence(text) {
    let s = String(text).replace(/\s+/g, ' ').trim();
    if (!s) return '';
    s = s.charAt(0).toUpperCase() + s.slice(1);
    if (!/[.!?…]$/.test(s)) s = `${s.replace(/[\s:;,—-]+$/, '')}.`;
    return s;
  }

  function parseJson(text) {
    try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
  }

  // Turns a status and a body into the data, or throws an ApiError with one sentence.
  function readResponse(status, text) {
    const data = parseJson(text);
    if (status >= 200 && status < 300) {
      if (data === null || typeof data !== 'object') {
        throw new ApiError('The server sent an answer this page cannot read.', status);
      }
      return data;
    }
    const err = data && typeof data === 'object' && data.error && typeof data.error === 'object' ? data.error : null;
    const message = err && typeof err.message === 'string' && sentence(err.message);
    throw new ApiError(message || STATUS_SENTENCES[status] ||
      `The server could not do that (HTTP status ${status}).`, status, err && err.code);
  }

  // ---------------------------------------------------------------- access token
  // A server started with a token (docs/api.md, "Access") wants it on every API call:
  // fetch and XHR send "Authorization: Bearer", and POST /api/login sets an HttpOnly
  // cookie for what cannot send headers (EventSource, <img>, <video>). The token is kept
  // in localStorage; a link printed by the server (#token=...) brings it the first time.

  const TOKEN_KEY = 'thumbgen.token';
  let tokenWait = null; // a promise while the token form is shown

  function storedToken() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function authHeaders(headers) {
    const t = storedToken();
    if (t) headers.Authorization = `Bearer ${t}`;
    return headers;
  }

  // POST /api/login: true when the server took the token (and set its cookie).
  async function login(token) {
    let res;
    try {
      res = await fetch('/api/login', {
        method: 'POST', cache: 'no-store', credentials: 'same-origin',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      await res.text();
    } catch (e) {
      throw new ApiError(NETWORK_SENTENCE, 0);
    }
    return res.status === 200;
  }

  // Show the token form until a token works; resolves then.
  function askToken(message) {
    if (!tokenWait) {
      tokenWait = new Promise((resolve) => {
        const form = $('login-form');
        const err = $('login-error');
        $('login').hidden = false;
        err.hidden = !message;
        err.textContent = message || '';
        $('token').focus();
        const onSubmit = async (e) => {
          e.preventDefault();
          const t = $('token').value.trim();
          if (!t) return;
          $('login-submit').disabled = true;
          let ok = false;
          try { ok = await login(t); } catch (x) { err.textContent = x.message; err.hidden = false; }
          $('login-submit').disabled = false;
          if (!ok) {
            if (err.hidden) { err.textContent = 'That token is not the one this server expects.'; err.hidden = false; }
            return;
          }
          try { localStorage.setItem(TOKEN_KEY, t); } catch (x) { /* kept for this page only */ }
          form.removeEventListener('submit', onSubmit);
          $('token').value = '';
          $('login').hidden = true;
          tokenWait = null;
          resolve();
        };
        form.addEventListener('submit', onSubmit);
      });
    }
    return tokenWait;
  }

  // At start: take a #token=... from the address, then make sure this page may use
  // the API (GET /api/login says whether the server needs a token and has it).
  async function ensureAccess() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      try { localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1])); } catch (e) { /* ignore */ }
      history.replaceState(null, '', location.pathname + location.search);
    }
    let state;
    try {
      const res = await fetch('/api/login', { cache: 'no-store', headers: authHeaders({ Accept: 'application/json' }) });
      state = parseJson(await res.text());
    } catch (e) {
      return; // the calls that follow say what is wrong
    }
    if (!state || !state.auth) return;
    const t = storedToken();
    if (t && (await login(t).catch(() => false))) return;
    try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    await askToken(t ? 'The saved token is not the one this server expects.' : '');
  }

  async function api(method, path, body, retried) {
    const init = { method, headers: authHeaders({ Accept: 'application/json' }), cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    let text;
    try {
      res = await fetch(path, init);
      text = await res.text();
    } catch (e) {
      throw new ApiError(NETWORK_SENTENCE, 0);
    }
    if (res.status === 401 && !retried) {
      await askToken();
      return api(method, path, body, true);
    }
    return readResponse(res.status, text);
  }

  async function uploadVideo(file, options, onProgress) {
    try {
      return await sendUpload(file, options, onProgress);
    } catch (e) {
      if (e.status !== 401) throw e;
      await askToken();
      return sendUpload(file, options, onProgress);
    }
  }

  function sendUpload(file, options, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(options)) form.append(k, String(v));
      form.append('video', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/jobs');
      xhr.setRequestHeader('Accept', 'application/json');
      const auth = authHeaders({}).Authorization;
      if (auth) xhr.setRequestHeader('Authorization', auth);
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(Math.floor((100 * e.loaded) / e.total));
      });
      xhr.addEventListener('load', () => {
        try { resolve(readResponse(xhr.status, xhr.responseText)); } catch (e) { reject(e); }
      });
      xhr.addEventListener('error', () => reject(new ApiError(NETWORK_SENTENCE, 0)));
      xhr.addEventListener('abort', () => reject(new ApiError('The upload was stopped.', 0)));
      xhr.send(form);
    });
  }

  // ---------------------------------------------------------------- small helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'text') node.textContent = v;
      else node.setAttribute(k, String(v));
    }
    if (parent) parent.append(node);
    return node;
  }

  const ICONS = {
    download: 'M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M4 16v2.5A1.5 1.5 0 0 0 5.5 20h13a1.5 1.5 0 0 0 1.5-1.5V16',
    film: 'M4 5h16v14H4zM8 5v14M16 5v14M4 9h4M4 15h4M16 9h4M16 15h4',
  };
  function icon(name) {
    const s = svg('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' });
    svg('path', { d: ICONS[name] }, s);
    return s;
  }

  function fmtTime(t, precise) {
    if (!Number.isFinite(t) || t < 0) t = 0;
    const m = Math.floor(t / 60);
    const s = t - m * 60;
    if (precise) {
      const ss = (Math.round(s * 10 + 1e-6) / 10).toFixed(1);
      return `${m}:${Number(ss) < 10 ? '0' : ''}${ss}`;
    }
    const si = Math.floor(s);
    return `${m}:${si < 10 ? '0' : ''}${si}`;
  }

  function fmtWhen(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const sec = (Date.now() - d.getTime()) / 1000;
    if (sec < 45) return 'just now';
    if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
    if (sec < 86400 && d.getDate() === new Date().getDate()) {
      return `today ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
    }
    return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }

  function sourceLabel(source) {
    if (!source || typeof source !== 'object') return 'Unknown source';
    if (source.kind === 'upload') return String(source.name || 'Uploaded video');
    const raw = String(source.url || '');
    try {
      const u = new URL(raw);
      const host = u.host.replace(/^www\./, '');
      const rest = (u.pathname === '/' ? '' : u.pathname) + u.search;
      return host + rest;
    } catch (e) {
      return raw || 'Video link';
    }
  }

  function shortId(id) { return String(id || '').slice(0, 8); }

  // ---------------------------------------------------------------- alert

  function showAlert(message, kind) {
    $('alert-text').textContent = message;
    $('alert').classList.toggle('info', kind === 'info');
    $('alert').hidden = false;
  }
  function clearAlert() { $('alert').hidden = true; $('alert-text').textContent = ''; }
  function showError(e) {
    showAlert(e instanceof ApiError ? e.message : 'Something went wrong in this page. Please reload it and try again.');
  }

  // ---------------------------------------------------------------- options

  function readOptions() {
    const out = {};
    for (const [id, name, kind] of OPTION_FIELDS) {
      const input = $(id);
      const label = document.querySelector(`label[for="${id}"]`).textContent.replace(/\s*\(.*\)$/, '');
      if (kind === 'enum') { out[name] = input.value; continue; }
      if (kind === 'check') { out[name] = input.checked ? input.value : OPTION_FIELDS.find((f) => f[0] === id)[3]; continue; }
      const raw = input.value.trim();
      const n = Number(raw);
      const min = Number(input.min);
      const max = Number(input.max);
      if (raw === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n)) || n < min || n > max) {
        $('options').open = true;
        input.focus();
        throw new ApiError(`${label} must be ${kind === 'int' ? 'a whole number' : 'a number'} from ${min} to ${max}.`, 0);
      }
      out[name] = n;
    }
    return out;
  }

  function saveOptions() {
    try {
      const o = {};
      for (const [id, name, kind] of OPTION_FIELDS) o[name] = kind === 'check' ? ($(id).checked ? $(id).value : '') : $(id).value;
      localStorage.setItem('thumbgen.options', JSON.stringify(o));
    } catch (e) { /* private mode: nothing to remember */ }
  }

  function restoreOptions() {
    let o = null;
    try { o = parseJson(localStorage.getItem('thumbgen.options')); } catch (e) { o = null; }
    if (!o || typeof o !== 'object') return;
    for (const [id, name, kind] of OPTION_FIELDS) {
      if (kind === 'check') $(id).checked = o[name] === $(id).value;
      else if (typeof o[name] === 'string' && o[name] !== '') $(id).value = o[name];
    }
  }

  function resetOptions() {
    for (const [id, , kind, def] of OPTION_FIELDS) {
      if (kind === 'check') $(id).checked = false;
      else $(id).value = def;
    }
    saveOptions();
  }

  // ---------------------------------------------------------------- job tracking

  let current = null; // { id, job, es, poll, failures }

  function stopStreams(token) {
    if (!token) return;
    if (token.es) { token.es.close(); token.es = null; }
    if (token.poll) { clearInterval(token.poll); token.poll = null; }
  }

  function stopTracking() {
    stopStreams(current);
    current = null;
  }

  function setBusy(busy) {
    $('submit').disabled = busy;
    $('file').disabled = busy;
    document.querySelector('.file-btn').classList.toggle('disabled', busy);
  }

  async function openJob(id, initial) {
    stopTracking();
    const token = { id, job: initial || null, es: null, poll: null, failures: 0 };
    current = token;
    if (location.hash !== `#job=${id}`) history.replaceState(null, '', `#job=${id}`);
    markHistory(id);
    if (initial) applyJob(token, initial);
    let job;
    try {
      job = await api('GET', `/api/jobs/${encodeURIComponent(id)}`);
    } catch (e) {
      if (current !== token) return;
      showError(e);
      if (!initial) { $('progress').hidden = true; }
      return;
    }
    if (current !== token) return;
    applyJob(token, job);
    if (!TERMINAL.has(job.state)) subscribe(token);
  }

  function applyJob(token, job) {
    if (current !== token) return;
    const prev = token.job;
    token.job = job;
    if (job.state === 'done' && job.result) {
      showResult(job);
    } else {
      showProgress(job);
      if (job.state === 'failed') {
        const msg = job.error && typeof job.error.message === 'string' && sentence(job.error.message);
        showAlert(msg || 'The job failed.');
      }
    }
    if (TERMINAL.has(job.state) && (!prev || !TERMINAL.has(prev.state))) {
      stopStreams(token);
      loadHistory();
    }
  }

  // Fetch the whole job again (after a progress event that ended it, or an error event).
  async function refreshJob(token, fallbackError) {
    try {
      const job = await api('GET', `/api/jobs/${encodeURIComponent(token.id)}`);
      applyJob(token, job);
      if (!TERMINAL.has(job.state) && !token.es && !token.poll) startPolling(token);
    } catch (e) {
      if (current !== token) return;
      if (fallbackError) {
        const state = fallbackError.code === 'ECANCEL' ? 'cancelled' : 'failed';
        applyJob(token, Object.assign({}, token.job, { state, error: fallbackError }));
      } else {
        showError(e);
      }
    }
  }

  function subscribe(token) {
    if (typeof EventSource !== 'function') { startPolling(token); return; }
    const es = new EventSource(`/api/jobs/${encodeURIComponent(token.id)}/events`);
    token.es = es;
    es.addEventListener('progress', (e) => {
      if (current !== token) return;
      const d = parseJson(e.data);
      if (!d || typeof d !== 'object') return;
      const job = Object.assign({}, token.job, d);
      if (TERMINAL.has(job.state)) { stopStreams(token); refreshJob(token); return; }
      applyJob(token, job);
    });
    es.addEventListener('done', (e) => {
      stopStreams(token);
      if (current !== token) return;
      const job = parseJson(e.data);
      if (job && typeof job === 'object' && job.state === 'done' && job.result) applyJob(token, job);
      else refreshJob(token);
    });
    es.addEventListener('error', (e) => {
      if (current !== token) { es.close(); return; }
      if (e instanceof MessageEvent && typeof e.data === 'string') {
        // `event: error` sent by the server: the job failed or was cancelled.
        stopStreams(token);
        const err = parseJson(e.data);
        refreshJob(token, err && typeof err === 'object' ? err : { code: 'EINTERNAL', message: 'The job failed.' });
        return;
      }
      // The stream itself failed: fall back to polling the job every second.
      es.close();
      token.es = null;
      if (token.job && TERMINAL.has(token.job.state)) return;
      startPolling(token);
    });
  }

  function startPolling(token) {
    if (token.poll || current !== token) return;
    const tick = async () => {
      if (current !== token) { stopStreams(token); return; }
      try {
        const job = await api('GET', `/api/jobs/${encodeURIComponent(token.id)}`);
        if (token.failures >= 3) clearAlert();
        token.failures = 0;
        applyJob(token, job);
      } catch (e) {
        token.failures++;
        if (e.status === 404 || token.failures === 3) showError(e);
        if (e.status === 404) stopStreams(token);
      }
    };
    token.poll = setInterval(tick, 1000);
    tick();
  }

  async function cancelJob() {
    const token = current;
    if (!token) return;
    const btn = $('cancel');
    btn.disabled = true;
    try {
      const job = await api('DELETE', `/api/jobs/${encodeURIComponent(token.id)}`);
      if (current !== token) return;
      stopStreams(token);
      applyJob(token, job);
    } catch (e) {
      if (current !== token) return;
      showError(e);
      refreshJob(token);
    } finally {
      btn.disabled = false;
    }
  }

  // ---------------------------------------------------------------- submitting

  async function submitUrl() {
    const url = $('url').value.trim();
    if (!url) {
      showAlert('Paste a video link, or choose a video file to upload.');
      $('url').focus();
      return;
    }
    let options;
    try { options = readOptions(); } catch (e) { showError(e); return; }
    clearAlert();
    setBusy(true);
    try {
      const r = await api('POST', '/api/jobs', { url, options });
      startJob(r);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  }

  async function submitFile(file) {
    if (!file) return;
    let options;
    try { options = readOptions(); } catch (e) { showError(e); return; }
    clearAlert();
    setBusy(true);
    stopTracking();
    const uploading = { id: '', state: 'queued', stage: 'download', percent: 0,
      source: { kind: 'upload', name: file.name }, options, uploading: true };
    current = { id: '', job: uploading, es: null, poll: null, failures: 0 };
    const token = current;
    showProgress(uploading);
    try {
      const r = await uploadVideo(file, options, (pct) => {
        if (current === token) showProgress(Object.assign(uploading, { percent: pct }));
      });
      startJob(r);
    } catch (e) {
      if (current === token) { current = null; $('progress').hidden = true; }
      showError(e);
    } finally {
      setBusy(false);
      $('file').value = '';
    }
  }

  function startJob(r) {
    if (!r || typeof r.id !== 'string') { showAlert('The server sent an answer this page cannot read.'); return; }
    if (r.cached) showAlert('This video was already made with these options: here is the earlier result.', 'info');
    // The answer may be the whole job (source, options…) or just {id, state, cached}.
    const initial = r.state === 'done' ? null : Object.assign({ state: 'queued', stage: 'queued', percent: 0,
      source: null, options: null }, r);
    openJob(r.id, initial);
    loadHistory();
  }

  // ---------------------------------------------------------------- progress view

  let stageNodes = null;

  function buildStages() {
    const list = $('stages');
    list.textContent = '';
    stageNodes = STAGES.map((s) => {
      const name = el('span', { class: 'stage-name', text: s.label });
      const pct = el('span', { class: 'stage-pct', text: '' });
      const fill = el('span');
      const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
        'aria-valuenow': 0, 'aria-label': s.label }, fill);
      const li = el('li', { class: 'stage pending', 'data-stage': s.key },
        el('div', { class: 'stage-head' }, name, pct), bar);
      list.append(li);
      return { li, name, pct, fill, bar };
    });
  }

  function showProgress(job) {
    $('result').hidden = true;
    pauseVideo();
    const section = $('progress');
    section.hidden = false;
    if (!stageNodes) buildStages();
    const upload = job.uploading || (job.source && job.source.kind === 'upload');
    const stage = job.stage;
    let ci = STAGES.findIndex((s) => s.key === stage);
    if (stage === 'done') ci = STAGES.length;
    if (stage === 'queued' || ci < 0) ci = -1;
    const pct = Math.max(0, Math.min(100, Math.round(Number(job.percent) || 0)));
    STAGES.forEach((s, i) => {
      const n = stageNodes[i];
      let cls;
      let p;
      if (i < ci) { cls = 'done'; p = 100; } else if (i === ci) { cls = 'active'; p = pct; } else { cls = 'pending'; p = 0; }
      if (i === ci && job.state === 'failed') cls = 'failed';
      if (i === ci && job.state === 'cancelled') cls = 'stopped';
      n.li.className = `stage ${cls}`;
      n.name.textContent = i === 0 && upload ? 'Upload' : s.label;
      n.bar.setAttribute('aria-label', n.name.textContent);
      n.pct.textContent = cls === 'pending' ? '' : cls === 'done' ? '✓ 100 %' : `${p} %`;
      n.fill.style.width = `${p}%`;
      n.bar.setAttribute('aria-valuenow', String(p));
    });

    const titles = { queued: 'Waiting in the queue…', running: 'Working on it…', failed: 'This job failed',
      cancelled: 'Cancelled', done: 'Finishing…' };
    $('progress-title').textContent = job.uploading ? 'Uploading…' : (titles[job.state] || 'Working on it…');
    const src = job.source ? sourceLabel(job.source) : '';
    $('progress-source').textContent = src;
    $('progress-source').hidden = !src;
    let status = '';
    if (job.uploading) status = `Sending ${job.source.name} to the server — ${pct} %`;
    else if (job.state === 'queued') status = 'The job will start as soon as a worker is free.';
    else if (job.state === 'running' && ci >= 0 && ci < STAGES.length) status = `${STAGES[ci].doing} — ${pct} %`;
    else if (job.state === 'cancelled') status = 'This job was cancelled.';
    else if (job.state === 'failed') status = 'Nothing was made. See the message above.';
    $('progress-status').textContent = status;
    $('cancel').hidden = TERMINAL.has(job.state) || !!job.uploading;
  }

  // ---------------------------------------------------------------- result view

  let planUrl = null;

  function pauseVideo() {
    const v = $('video');
    if (!v.paused) v.pause();
  }

  function downloadLink(href, label, filename) {
    const a = el('a', { class: 'btn btn-secondary btn-small', href, download: filename });
    a.append(icon('download'), document.createTextNode(label));
    return a;
  }

  // A quiet notice beside the link field when this server cannot fetch YouTube links.
  async function checkServer() {
    try {
      const res = await fetch('/healthz', { cache: 'no-store' });
      const h = await res.json();
      const y = h && h.ytdlp;
      const n = $('url-notice');
      if (y && !y.youtube_ok && y.notice) { n.textContent = y.notice; n.hidden = false; } else { n.hidden = true; }
    } catch (e) { /* the notice is a nicety: the page works without it */ }
  }

  function showResult(job) {
    const r = job.result;
    $('progress').hidden = true;
    $('result').hidden = false;
    const src = sourceLabel(job.source);
    $('result-source').textContent = src;
    $('result-source').title = job.source && job.source.url ? String(job.source.url) : src;

    const video = $('video');
    if (video.getAttribute('src') !== r.video) {
      video.setAttribute('src', r.video);
      clipRange = null;
    }
    // Which rendition a link's download took and why; whether the player shows a copy.
    const notes = [];
    const d = r.download && typeof r.download === 'object' ? r.download : null;
    if (d && d.rendition) {
      notes.push(`Downloaded ${d.rendition}${d.size ? ` (${d.size})` : ''}: ${d.reason || ''}`.trim());
    }
    if (r.playable_copy === true) {
      notes.push('Your browser cannot play this video as it is, so a copy it can play is shown (H.264, at most 720p, muted).');
    }
    $('video-note').textContent = notes.join(' ');
    $('video-note').hidden = notes.length === 0;
    const gif = $('gif');
    if (gif.getAttribute('src') !== r.gif) gif.setAttribute('src', r.gif);
    const poster = $('poster');
    if (r.poster) {
      if (poster.getAttribute('src') !== r.poster) poster.setAttribute('src', r.poster);
      poster.parentElement.hidden = false;
    } else {
      poster.parentElement.hidden = true;
    }
    const plan = r.plan && typeof r.plan === 'object' ? r.plan : {};
    const pt = plan.poster && Number(plan.poster.t);
    $('poster-caption').textContent = Number.isFinite(pt) ? `Poster · ${fmtTime(pt, true)}` : 'Poster';

    // Downloads
    const base = `thumbgen-${shortId(job.id)}`;
    const dl = $('downloads');
    dl.textContent = '';
    dl.append(downloadLink(r.gif, 'GIF', `${base}.gif`));
    if (r.webp) dl.append(downloadLink(r.webp, 'WebP', `${base}.webp`));
    if (r.mp4) dl.append(downloadLink(r.mp4, 'MP4', `${base}.mp4`));
    if (r.poster) {
      const ext = (/\.(jpe?g|png)$/i.exec(r.poster) || ['', 'jpg'])[1].toLowerCase();
      dl.append(downloadLink(r.poster, 'Poster', `${base}.${ext}`));
    }
    const original = r.source_video || r.video;
    if (original) {
      const ext = (/\.([a-z0-9]{2,4})$/i.exec(original) || ['', 'mp4'])[1].toLowerCase();
      dl.append(downloadLink(original, 'Video', `${base}-source.${ext}`));
    }
    if (r.plan) {
      if (planUrl) URL.revokeObjectURL(planUrl);
      planUrl = URL.createObjectURL(new Blob([JSON.stringify(r.plan, null, 2) + '\n'], { type: 'application/json' }));
      dl.append(downloadLink(planUrl, 'Plan', `${base}-plan.json`));
    }

    // Options used
    const used = $('options-used');
    used.textContent = '';
    const opts = job.options && typeof job.options === 'object' ? job.options : {};
    const order = ['clips', 'clip-len', 'style', 'width', 'fps', 'upscale', 'safe', 'analysis', 'keyframes', 'quality', 'still-len', 'crossfade'];
    const keys = order.filter((k) => k in opts);
    for (const k of keys) {
      if ((k === 'still-len' || k === 'crossfade') && opts.style !== 'slideshow') continue;
      if (k === 'clips' && opts.style === 'slideshow') continue;
      if (k === 'clip-len' && opts.style === 'slideshow') continue;
      const [label, unit] = OPTION_LABELS[k];
      used.append(el('dt', { text: label }), el('dd', { text: `${opts[k]}${unit}`, 'data-key': k }));
    }
    if (plan.analysis && typeof plan.analysis.mode === 'string') {
      // What the analysis did (the option may say auto); replaces the option's own line.
      const secs = Number(plan.analysis.seconds);
      const dur = plan.source && Number(plan.source.duration);
      let text = plan.analysis.mode;
      if (Number.isFinite(secs) && Number.isFinite(dur) && dur > 0 && secs < dur - 0.05) {
        text += `, ${fmtTime(secs)} of ${fmtTime(dur)}`;
      }
      const dd = used.querySelector('dd[data-key="analysis"]');
      if (dd) dd.textContent = text;
      else used.append(el('dt', { text: 'Analysis' }), el('dd', { text }));
    }

    // The chosen clips (and the poster) as buttons, easier to tap than the timeline.
    const cl = $('clip-list');
    cl.textContent = '';
    const segs = Array.isArray(plan.segments) ? plan.segments : [];
    segs.forEach((sg, i) => {
      const a = Number(sg.start);
      const b = Number(sg.end);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return;
      const btn = el('button', { type: 'button', class: 'chip', 'data-start': a,
        'aria-label': `Play clip ${i + 1}, from ${fmtTime(a, true)} to ${fmtTime(b, true)}` },
      el('span', { class: 'chip-n', text: String(i + 1) }),
      el('span', { text: `${fmtTime(a, true)} – ${fmtTime(b, true)}` }));
      btn.addEventListener('click', () => seekTo(a, b));
      cl.append(el('li', {}, btn));
    });
    if (Number.isFinite(pt)) {
      const btn = el('button', { type: 'button', class: 'chip', 'data-start': pt,
        'aria-label': `Play from the poster frame at ${fmtTime(pt, true)}` },
      el('span', { class: 'chip-n poster', text: '' }),
      el('span', { text: 'Poster ' }), el('span', { class: 'muted', text: fmtTime(pt, true) }));
      btn.addEventListener('click', () => seekTo(pt));
      cl.append(el('li', {}, btn));
    }

    // Warnings
    const warnings = Array.isArray(plan.warnings) ? plan.warnings.filter((w) => typeof w === 'string' && w) : [];
    const wl = $('warnings');
    wl.textContent = '';
    for (const w of warnings) wl.append(el('li', { text: sentence(w) }));
    wl.hidden = warnings.length === 0;

    currentPlan = plan;
    renderTimeline();
  }

  // ---------------------------------------------------------------- timeline

  let currentPlan = null;
  let clipRange = null; // { start, end } while a clip plays from the timeline
  let playhead = null;
  let tlScale = null;

  function planDuration(plan) {
    const d = plan && plan.source && Number(plan.source.duration);
    if (Number.isFinite(d) && d > 0) return d;
    const v = $('video').duration;
    if (Number.isFinite(v) && v > 0) return v;
    let end = 0;
    for (const s of (plan && plan.shots) || []) end = Math.max(end, Number(s.end) || 0);
    for (const s of (plan && plan.segments) || []) end = Math.max(end, Number(s.end) || 0);
    return end || 1;
  }

  function niceStep(duration, width) {
    const maxLabels = Math.max(2, Math.floor(width / 64));
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    for (const s of steps) if (duration / s <= maxLabels) return s;
    return steps[steps.length - 1];
  }

  function seekTo(start, end) {
    const v = $('video');
    clipRange = Number.isFinite(end) ? { start, end } : null;
    try { v.currentTime = start; } catch (e) { /* not seekable yet */ }
    const p = v.play();
    if (p && typeof p.catch === 'function') p.catch(() => {});
    updatePlayhead();
  }

  function clickable(node, label, start, end) {
    node.setAttribute('tabindex', '0');
    node.setAttribute('role', 'button');
    node.setAttribute('aria-label', label);
    node.addEventListener('click', () => seekTo(start, end));
    node.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); seekTo(start, end); }
    });
  }

  function renderTimeline() {
    const box = $('timeline');
    box.textContent = '';
    const plan = currentPlan;
    if (!plan) return;
    const W = Math.max(240, Math.floor(box.clientWidth || 600));
    const H = 92;
    const pad = 8;
    const dur = planDuration(plan);
    const x = (t) => pad + (Math.max(0, Math.min(dur, t)) / dur) * (W - 2 * pad);
    tlScale = x;

    const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'group',
      'aria-label': `Analysis of the ${fmtTime(dur)} video: shots, chosen clips and keyframes` }, box);
    const defs = svg('defs', {}, root);
    const pat = svg('pattern', { id: 'tl-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse',
      patternTransform: 'rotate(45)' }, defs);
    svg('rect', { width: 6, height: 6, class: 'tl-hatch-bg' }, pat);
    svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'tl-hatch-line' }, pat);

    // Shots track: the whole duration hatched (between shots, or not analysed), shots on top.
    const trackY = 6;
    const trackH = 30;
    svg('rect', { x: pad, y: trackY, width: W - 2 * pad, height: trackH, rx: 4, class: 'tl-gap' }, root);
    const shots = Array.isArray(plan.shots) ? plan.shots : [];
    shots.forEach((s, i) => {
      const a = Number(s.start);
      const b = Number(s.end);
      if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return;
      const r = svg('rect', { x: x(a), y: trackY, width: Math.max(1, x(b) - x(a)), height: trackH,
        class: `tl-shot${i % 2 ? ' alt' : ''}` }, root);
      svg('title', { text: `Shot ${i + 1}: ${fmtTime(a, true)} – ${fmtTime(b, true)}` }, r);
    });
    // Shot boundaries as ticks.
    const cuts = new Set();
    for (const s of shots) {
      for (const t of [Number(s.start), Number(s.end)]) {
        if (Number.isFinite(t) && t > 0.01 && t < dur - 0.01) cuts.add(Math.round(t * 1000) / 1000);
      }
    }
    for (const t of cuts) svg('line', { x1: x(t), x2: x(t), y1: trackY - 3, y2: trackY + trackH + 3, class: 'tl-cut' }, root);

    // Chosen clips as highlighted bars.
    const segs = Array.isArray(plan.segments) ? plan.segments : [];
    segs.forEach((s, i) => {
      const a = Number(s.start);
      const b = Number(s.end);
      if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return;
      const w = Math.max(6, x(b) - x(a));
      const cx = (x(a) + x(b)) / 2;
      const g = svg('g', { class: 'tl-seg', 'data-kind': 'clip', 'data-start': a, 'data-end': b }, root);
      // A wider, invisible hit area so that short clips stay easy to click or tap.
      const hitW = Math.max(w, 24);
      svg('rect', { x: cx - hitW / 2, y: trackY - 4, width: hitW, height: trackH + 8, fill: 'transparent' }, g);
      svg('rect', { x: cx - w / 2, y: trackY + 4, width: w, height: trackH - 8, rx: 3, class: 'tl-clip' }, g);
      if (w >= 14) svg('text', { x: cx, y: trackY + trackH / 2 + 4, 'text-anchor': 'middle', class: 'tl-cliplabel', text: String(i + 1) }, g);
      const score = Number.isFinite(Number(s.score)) ? `, score ${Number(s.score).toFixed(2)}` : '';
      svg('title', { text: `Clip ${i + 1}: ${fmtTime(a, true)} – ${fmtTime(b, true)}${score}` }, g);
      clickable(g, `Play clip ${i + 1}, from ${fmtTime(a, true)} to ${fmtTime(b, true)}`, a, b);
    });

    // Keyframes as dots; the poster marked with a ring.
    const keyY = trackY + trackH + 14;
    const posterT = plan.poster && Number(plan.poster.t);
    const keys = Array.isArray(plan.keyframes) ? plan.keyframes.slice() : [];
    const hasPosterKey = keys.some((k) => Math.abs(Number(k.t) - posterT) < 0.001);
    if (Number.isFinite(posterT) && !hasPosterKey) keys.push({ t: posterT, posterOnly: true });
    keys.map((k, rank) => ({ k, rank })).sort((p, q) => Number(p.k.t) - Number(q.k.t)).forEach(({ k, rank }) => {
      const t = Number(k.t);
      if (!Number.isFinite(t)) return;
      const isPoster = Number.isFinite(posterT) && Math.abs(t - posterT) < 0.001;
      const g = svg('g', { class: 'tl-keyg', 'data-kind': isPoster ? 'poster' : 'keyframe', 'data-t': t }, root);
      svg('circle', { cx: x(t), cy: keyY, r: 11, fill: 'transparent' }, g);
      svg('circle', { cx: x(t), cy: keyY, r: isPoster ? 6 : 5, class: `tl-key${isPoster ? ' poster' : ''}` }, g);
      const what = isPoster ? 'Poster' : `Keyframe ${rank + 1}`;
      svg('title', { text: `${what} at ${fmtTime(t, true)}${Number.isFinite(Number(k.score)) ? `, score ${Number(k.score).toFixed(2)}` : ''}` }, g);
      clickable(g, `Play from ${what.toLowerCase()} at ${fmtTime(t, true)}`, t);
    });

    // Time axis.
    const axisY = keyY + 16;
    svg('line', { x1: pad, x2: W - pad, y1: axisY, y2: axisY, class: 'tl-axis' }, root);
    const step = niceStep(dur, W);
    for (let t = 0; t <= dur + 1e-6; t += step) {
      svg('line', { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4, class: 'tl-tick' }, root);
      const anchor = t === 0 ? 'start' : (x(t) > W - 24 ? 'end' : 'middle');
      svg('text', { x: x(t), y: axisY + 16, 'text-anchor': anchor, class: 'tl-label', text: fmtTime(t) }, root);
    }
    const endGap = dur - Math.floor(dur / step) * step;
    if (endGap > step * 0.35) {
      svg('line', { x1: x(dur), x2: x(dur), y1: axisY, y2: axisY + 4, class: 'tl-tick' }, root);
      svg('text', { x: x(dur), y: axisY + 16, 'text-anchor': 'end', class: 'tl-label', text: fmtTime(dur) }, root);
    }

    playhead = svg('line', { x1: x(0), x2: x(0), y1: 2, y2: keyY + 8, class: 'tl-playhead' }, root);
    updatePlayhead();
  }

  function updatePlayhead() {
    if (!playhead || !tlScale) return;
    const t = $('video').currentTime || 0;
    const px = tlScale(t);
    playhead.setAttribute('x1', px);
    playhead.setAttribute('x2', px);
    playhead.style.display = t > 0 ? '' : 'none';
    for (const g of document.querySelectorAll('#timeline .tl-seg')) {
      g.classList.toggle('playing', t >= Number(g.dataset.start) && t <= Number(g.dataset.end));
    }
  }

  // ---------------------------------------------------------------- history

  let historyTimer = null;

  function markHistory(id) {
    for (const b of document.querySelectorAll('#history .history-item')) {
      b.setAttribute('aria-current', b.dataset.id === id ? 'true' : 'false');
    }
  }

  function badgeText(job) {
    if (job.state === 'running') {
      const s = STAGES.find((x) => x.key === job.stage);
      return s ? `${s.label} ${Math.round(Number(job.percent) || 0)} %` : 'Running';
    }
    return { queued: 'Queued', done: 'Done', failed: 'Failed', cancelled: 'Cancelled' }[job.state] || String(job.state || '');
  }

  function historyItem(job) {
    let thumb;
    if (job.result && job.result.poster) {
      thumb = el('img', { class: 'thumb', src: job.result.poster, alt: '', loading: 'lazy' });
    } else {
      thumb = el('span', { class: 'thumb thumb-ph' }, icon('film'));
    }
    const opts = job.options && typeof job.options === 'object' ? job.options : {};
    const meta = [fmtWhen(job.created)];
    if (opts.style === 'slideshow') meta.push('slideshow');
    else if (opts.clips) meta.push(`${opts.clips} clip${Number(opts.clips) === 1 ? '' : 's'}`);
    if (opts.width) meta.push(`${opts.width} px`);
    if (job.state === 'failed' && job.error && job.error.message) meta.push(sentence(job.error.message));
    const title = sourceLabel(job.source);
    const btn = el('button', { type: 'button', class: 'history-item', 'data-id': job.id, title,
      'aria-current': current && current.id === job.id ? 'true' : 'false' },
    thumb,
    el('span', { class: 'h-main' },
      el('span', { class: 'h-title', text: title }),
      el('span', { class: 'h-meta', text: meta.filter(Boolean).join(' · ') })),
    el('span', { class: `badge ${job.state}`, text: badgeText(job) }));
    btn.addEventListener('click', () => {
      clearAlert();
      openJob(job.id);
      $('main').scrollIntoView({ behavior: 'smooth', block: 'start' });
    });
    return el('li', {}, btn);
  }

  let historySeq = 0;
  async function loadHistory() {
    const seq = ++historySeq;
    let data;
    try {
      data = await api('GET', '/api/jobs?offset=0&limit=20');
    } catch (e) {
      if (seq !== historySeq) return;
      $('history-empty').textContent = `The recent jobs could not be loaded. ${e.message}`;
      $('history-empty').hidden = false;
      return;
    }
    if (seq !== historySeq) return;
    const jobs = Array.isArray(data.jobs) ? data.jobs.filter((j) => j && typeof j.id === 'string') : [];
    const list = $('history');
    list.textContent = '';
    for (const j of jobs) list.append(historyItem(j));
    $('history-empty').textContent = 'No jobs yet. Paste a link above to make your first thumbnail.';
    $('history-empty').hidden = jobs.length > 0;
    // Keep the badges of running jobs fresh.
    clearTimeout(historyTimer);
    if (jobs.some((j) => !TERMINAL.has(j.state))) historyTimer = setTimeout(loadHistory, 3000);
  }

  // ---------------------------------------------------------------- drag and drop

  function hasFiles(e) {
    return !!(e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files'));
  }

  function setupDrop() {
    let depth = 0;
    const overlay = $('drop');
    window.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      overlay.hidden = false;
    });
    window.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    window.addEventListener('dragleave', (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) overlay.hidden = true;
    });
    window.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      const files = e.dataTransfer.files;
      if (!files || files.length === 0) return;
      if (files.length > 1) showAlert('Drop one video at a time.');
      else if ($('submit').disabled) showAlert('Please wait until the current upload has been sent.');
      else submitFile(files[0]);
    });
  }

  // ---------------------------------------------------------------- start

  function jobFromHash() {
    const m = /^#job=([0-9a-f]{32})$/.exec(location.hash);
    return m ? m[1] : null;
  }

  function init() {
    restoreOptions();
    $('job-form').addEventListener('submit', (e) => { e.preventDefault(); submitUrl(); });
    $('file').addEventListener('change', () => { const f = $('file').files[0]; if (f) submitFile(f); });
    $('cancel').addEventListener('click', cancelJob);
    $('alert-close').addEventListener('click', clearAlert);
    $('history-refresh').addEventListener('click', loadHistory);
    $('reset-options').addEventListener('click', resetOptions);
    for (const [id] of OPTION_FIELDS) $(id).addEventListener('change', saveOptions);
    setupDrop();

    const video = $('video');
    video.addEventListener('timeupdate', () => {
      if (clipRange && video.currentTime >= clipRange.end) { clipRange = null; video.pause(); }
      updatePlayhead();
    });
    video.addEventListener('seeked', () => {
      if (clipRange && (video.currentTime < clipRange.start - 0.3 || video.currentTime > clipRange.end)) clipRange = null;
      updatePlayhead();
    });
    video.addEventListener('loadedmetadata', () => {
      // Without a duration in the plan, the timeline needs the video's own.
      if (currentPlan && !(currentPlan.source && Number(currentPlan.source.duration) > 0)) renderTimeline();
    });

    if (typeof ResizeObserver === 'function') {
      let lastW = 0;
      new ResizeObserver(() => {
        const w = $('timeline').clientWidth;
        if (w && w !== lastW) { lastW = w; if (currentPlan && !$('result').hidden) renderTimeline(); }
      }).observe($('timeline'));
    }
    window.addEventListener('hashchange', () => {
      const id = jobFromHash();
      if (id && (!current || current.id !== id)) openJob(id);
    });

    checkServer(); // /healthz is open: the yt-dlp notice needs no token
    ensureAccess().then(() => {
      loadHistory();
      const id = jobFromHash();
      if (id) openJob(id);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
