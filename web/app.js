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
  // The form's fields come from the server's option table (GET /api/options): names,
  // types, defaults and ranges are never repeated here. This only says how to present them.
  const OPTION_UI = {
    clips: { label: 'Clips', unit: '' },
    'clip-len': { label: 'Clip length', unit: 's', step: 0.1 },
    width: { label: 'Width', unit: 'px', step: 1 },
    fps: { label: 'Frame rate', unit: 'fps', step: 1 },
    style: { label: 'Style' },
    upscale: { label: 'Upscale' },
    safe: { label: 'Safe' },
    quality: { label: 'Quality', unit: '', step: 1 },
    'max-bytes': { label: 'Size limit' },
    formats: { label: 'Formats' },
    'still-len': { label: 'Still length', unit: 's', step: 0.1, slideshow: true },
    crossfade: { label: 'Cross-fade', unit: 's', step: 0.1, slideshow: true },
    keyframes: { label: 'Keyframes', unit: '' },
    analysis: { label: 'Analysis' },
    cnn: { label: 'Network' },
    'upscale-method': { label: 'Upscale method' },
  };
  const HIDDEN_OPTIONS = new Set(['threads']); // the server's business, not the user's
  // Byte budgets of the places people post thumbnails.
  const BYTE_PRESETS = [
    ['', 'No limit'], ['500k', 'Email preview: 500 kB'], ['2M', 'Slack or Imgur: 2 MB'], ['8M', 'Discord: 8 MB'],
  ];
  let optionTable = []; // rows of GET /api/options
  const OPTION_LABELS = {
    clips: ['Clips', ''], 'clip-len': ['Clip length', ' s'], style: ['Style', ''],
    width: ['Width', ' px'], fps: ['Frame rate', ' fps'], analysis: ['Analysis', ''],
    keyframes: ['Keyframes', ''], quality: ['Quality', ''], 'still-len': ['Still length', ' s'],
    crossfade: ['Cross-fade', ' s'], upscale: ['Upscale', ''], safe: ['Safe', ''],
    'max-bytes': ['Size limit', ''], 'upscale-method': ['Upscale method', ''], cnn: ['Network', ''],
    formats: ['Formats', ''],
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

  // A server path (/home/…, /tmp/…) or a traceback is no message for people.
  const PATH_RE = /(^|[\s'"(])\/(?:[\w.+-]+\/)+[\w.+-]*/;
  function sentence(text) {
    let s = String(text).replace(/\s+/g, ' ').trim();
    if (!s) return '';
    if (/Traceback|Exception:|^\w+Error:/.test(s)) return 'Something went wrong on the server while doing that.';
    s = s.replace(PATH_RE, '$1a file on the server');
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
        document.documentElement.classList.remove('opening-job');
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

  let uploadXhr = null; // the upload in flight, so that Cancel can stop it

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
      xhr.addEventListener('abort', () => reject(new ApiError('The upload was stopped.', 0, 'ECANCEL')));
      xhr.addEventListener('loadend', () => { if (uploadXhr === xhr) uploadXhr = null; });
      uploadXhr = xhr;
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
    if (source.kind === 'edit') return `${sourceLabel(urlOrName(source.name))} (edited)`;
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

  // An edited job carries its original's title: a link or a file name.
  function urlOrName(t) {
    const text = String(t || '');
    return /^https?:\/\//.test(text) ? { kind: 'url', url: text } : { kind: 'upload', name: text || 'Video' };
  }

  function shortId(id) { return String(id || '').slice(0, 8); }

  // ---------------------------------------------------------------- alert

  function showAlert(message, kind) {
    $('alert-text').textContent = message;
    const info = kind === 'info';
    $('alert').classList.toggle('info', info);
    // an error interrupts; a piece of news does not
    $('alert').setAttribute('role', info ? 'status' : 'alert');
    $('alert').setAttribute('aria-live', info ? 'polite' : 'assertive');
    $('alert').hidden = false;
  }
  function clearAlert() { $('alert').hidden = true; $('alert-text').textContent = ''; }
  function showError(e) {
    showAlert(e instanceof ApiError ? e.message : 'Something went wrong in this page. Please reload it and try again.');
  }

  // An error that belongs to one field: said beside it, the field marked invalid and focused.
  function fieldError(input, message) {
    clearFieldErrors();
    input.setAttribute('aria-invalid', 'true');
    let note = input.id === 'url' ? $('url-error') : document.getElementById(`${input.id}-error`);
    if (!note) {
      note = el('p', { id: `${input.id}-error`, class: 'field-error' });
      input.closest('.opt, .url-row').after(note);
    }
    const ids = new Set((input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
    ids.add(note.id);
    input.setAttribute('aria-describedby', [...ids].join(' '));
    note.textContent = message;
    note.hidden = false;
    if (input.closest('#options')) $('options').open = true;
    input.focus();
  }
  function clearFieldErrors() {
    for (const n of document.querySelectorAll('[aria-invalid="true"]')) n.removeAttribute('aria-invalid');
    for (const n of document.querySelectorAll('.field-error')) { n.hidden = true; n.textContent = ''; }
  }
  // Which field a server's message is about, if any.
  function fieldOf(message) {
    const m = /option '([\w-]+)'/i.exec(message);
    if (m) return document.getElementById(`opt-${m[1]}`);
    if (/\b(links?|urls?|address|host)\b/i.test(message)) return $('url');
    return null;
  }
  function showRequestError(e) {
    const input = e instanceof ApiError && e.status >= 400 && e.status < 500 ? fieldOf(e.message) : null;
    if (input) { clearAlert(); fieldError(input, e.message); } else showError(e);
  }

  // ---------------------------------------------------------------- options

  function fmtNum(v) { return String(Math.round(Number(v) * 1000) / 1000); }

  // A set (formats): a group of checkboxes, one per choice; its value is "a,b" as the API
  // takes it. The group carries the id, so that errors and focus find it like any field.
  function setField(row, ui, id) {
    const box = el('fieldset', { class: 'opt opt-set', 'data-option': row.name, id, tabindex: '-1' },
      el('legend', { text: ui.label }));
    const def = Array.isArray(row.default) ? row.default : [];
    const line = el('div', { class: 'opt-set-choices' });
    for (const c of row.choices || []) {
      const cb = el('input', { type: 'checkbox', id: `${id}-${c}`, value: c });
      cb.checked = def.includes(c);
      line.append(el('label', { for: cb.id, class: 'check' }, cb, document.createTextNode(` ${c.toUpperCase()}`)));
    }
    box.append(line, el('small', { text: 'at least one; fewer is quicker' }));
    box.title = row.help || '';
    return box;
  }
  function setValue(input) {
    return [...input.querySelectorAll('input[type=checkbox]')].filter((c) => c.checked).map((c) => c.value).join(',');
  }
  function setSetValue(input, v) {
    const want = String(Array.isArray(v) ? v.join(',') : v).split(',');
    for (const c of input.querySelectorAll('input[type=checkbox]')) c.checked = want.includes(c.value);
  }
  // The value of a field as the API takes it, and back.
  function fieldValue(row, input) { return row.type === 'set' ? setValue(input) : input.value; }
  function defaultText(row) {
    if (row.type === 'set') return (row.default || []).join(',');
    if (row.name === 'max-bytes') return '';
    return row.type === 'choice' ? row.default : fmtNum(row.default);
  }
  function applyValue(row, input, v) {
    if (row.type === 'set') setSetValue(input, v);
    else input.value = v;
  }

  function optionField(row) {
    const ui = OPTION_UI[row.name] || { label: row.name };
    const id = `opt-${row.name}`;
    if (row.type === 'set') return setField(row, ui, id);
    const label = el('label', { for: id, text: ui.unit ? `${ui.label} (${ui.unit})` : ui.label });
    let input;
    let hint;
    if (row.name === 'max-bytes') {
      input = el('select', { id, name: row.name });
      for (const [v, text] of BYTE_PRESETS) input.append(el('option', { value: v, text }));
      hint = 'the best quality that fits';
    } else if (row.type === 'choice') {
      input = el('select', { id, name: row.name });
      for (const c of row.choices) input.append(el('option', { value: c, text: c }));
      input.value = row.default;
      hint = `default ${row.default}`;
    } else {
      const int = row.type === 'int';
      input = el('input', { id, name: row.name, type: 'number', min: row.min, max: row.max,
        step: int ? 1 : (ui.step || 'any'), value: fmtNum(row.default), inputmode: int ? 'numeric' : 'decimal' });
      hint = `${fmtNum(row.min)}–${fmtNum(row.max)}${ui.unit ? ` ${ui.unit}` : ''}, default ${fmtNum(row.default)}`;
    }
    input.title = row.help || '';
    const box = el('div', { class: `opt${ui.slideshow ? ' opt-slideshow' : ''}`, 'data-option': row.name },
      label, input, el('small', { text: hint }));
    return box;
  }

  function buildOptions(table) {
    optionTable = table.filter((r) => r && typeof r.name === 'string' && !HIDDEN_OPTIONS.has(r.name));
    const grid = $('options-grid');
    grid.textContent = '';
    const order = Object.keys(OPTION_UI);
    const rows = optionTable.slice().sort((a, b) => {
      const ia = order.indexOf(a.name);
      const ib = order.indexOf(b.name);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    for (const row of rows) grid.append(optionField(row));
    for (const row of optionTable) $(`opt-${row.name}`).addEventListener('change', () => { saveOptions(); syncOptionVisibility(); });
    restoreOptions();
    syncOptionVisibility();
  }

  function syncOptionVisibility() {
    const style = $('opt-style');
    const slideshow = style && style.value === 'slideshow';
    for (const n of document.querySelectorAll('.opt-slideshow')) n.classList.toggle('dim', !slideshow);
  }

  // The option fields are built when they are first needed (the Options box opened, a job
  // sent, a job's options put back in the form), not while the page loads: a job sent before
  // then still carries the options this browser saved (restoreOptions).
  let optionsLoad = null;
  function ensureOptions() {
    if (!optionsLoad) {
      optionsLoad = api('GET', '/api/options').then((data) => {
        if (data && Array.isArray(data.options)) buildOptions(data.options);
      }, (e) => {
        optionsLoad = null; // asked again next time
        $('options-grid').textContent = '';
        $('options-grid').append(el('p', { class: 'hint', text: `The options could not be loaded: ${e.message} The defaults apply.` }));
      });
    }
    return optionsLoad;
  }

  // Only what differs from the server's defaults is sent.
  function readOptions() {
    const out = {};
    for (const row of optionTable) {
      const input = $(`opt-${row.name}`);
      if (!input) continue;
      const ui = OPTION_UI[row.name] || { label: row.name };
      if (row.type === 'set') {
        const v = setValue(input);
        if (!v) {
          const e = new ApiError(`${ui.label}: choose at least one.`, 0);
          fieldError(input, e.message);
          e.shown = true;
          throw e;
        }
        if (v !== defaultText(row)) out[row.name] = v;
        continue;
      }
      if (input.tagName === 'SELECT') {
        if (input.value !== '' && input.value !== row.default) out[row.name] = input.value;
        continue;
      }
      const raw = input.value.trim();
      const n = Number(raw);
      const int = row.type === 'int';
      if (raw === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < row.min || n > row.max) {
        const e = new ApiError(`${ui.label} must be ${int ? 'a whole number' : 'a number'} from ${fmtNum(row.min)} to ${fmtNum(row.max)}.`, 0);
        fieldError(input, e.message);
        e.shown = true;
        throw e;
      }
      if (n !== Number(row.default)) out[row.name] = n;
    }
    return out;
  }

  function saveOptions() {
    try {
      const o = {};
      for (const row of optionTable) o[row.name] = fieldValue(row, $(`opt-${row.name}`));
      localStorage.setItem('thumbgen.options', JSON.stringify(o));
    } catch (e) { /* private mode: nothing to remember */ }
  }

  function restoreOptions() {
    let o = null;
    try { o = parseJson(localStorage.getItem('thumbgen.options')); } catch (e) { o = null; }
    if (!o || typeof o !== 'object') return;
    for (const row of optionTable) {
      const v = o[row.name];
      const input = $(`opt-${row.name}`);
      if (typeof v !== 'string' || !input) continue;
      if (row.type === 'set') { if (v) setSetValue(input, v); continue; }
      if (input.tagName === 'SELECT' && ![...input.options].some((x) => x.value === v)) continue;
      if (v !== '' || input.tagName === 'SELECT') input.value = v;
    }
  }

  function resetOptions() {
    for (const row of optionTable) {
      applyValue(row, $(`opt-${row.name}`), defaultText(row));
    }
    clearFieldErrors();
    saveOptions();
    syncOptionVisibility();
  }

  // Fill the form with a job's options (to try it again with changes).
  function fillOptions(opts) {
    if (!opts || typeof opts !== 'object') return;
    for (const row of optionTable) {
      const input = $(`opt-${row.name}`);
      const v = opts[row.name];
      if (!input || v === undefined) continue;
      if (row.name === 'max-bytes') {
        const b = Number(v);
        const preset = BYTE_PRESETS.find(([k]) => k && Math.abs(parseBytes(k) - b) < 1);
        input.value = preset ? preset[0] : '';
      } else if (row.type === 'set') setSetValue(input, v);
      else input.value = row.type === 'choice' ? String(v) : fmtNum(v);
    }
    syncOptionVisibility();
  }
  function parseBytes(t) {
    const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(t);
    if (!m) return NaN;
    return Number(m[1]) * ({ '': 1, k: 1024, m: 1048576, g: 1073741824 })[m[2].toLowerCase()];
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
    const token = { id, job: initial || null, es: null, poll: null, failures: 0, reveal: true };
    current = token;
    if (location.hash !== `#job=${id}`) history.replaceState(null, '', `#job=${id}`);
    markHistory(id);
    if (initial) applyJob(token, initial);
    if (initial && initial.state === 'done') return; // final: nothing more to fetch
    let job;
    try {
      job = await api('GET', `/api/jobs/${encodeURIComponent(id)}`);
    } catch (e) {
      openedJob();
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
    syncHistoryBadge(job);
    if (job.state === 'done' && job.result) {
      const arrived = !prev || prev.state !== 'done' || prev.id !== job.id || token.reveal;
      token.reveal = false;
      showResult(job, arrived);
    } else {
      showProgress(job);
      if (job.state === 'failed' && (!prev || prev.state !== 'failed')) {
        const msg = job.error && typeof job.error.message === 'string' && sentence(job.error.message);
        showAlert(msg || 'The job failed.');
      }
    }
    if (TERMINAL.has(job.state) && (!prev || !TERMINAL.has(prev.state))) {
      stopStreams(token);
      // a job that ended while watched changes its history row (a job opened already ended
      // is in the history as it is: the page loads it once it is idle)
      if (prev) loadHistory();
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
    if (token.job && token.job.uploading) {
      if (uploadXhr) uploadXhr.abort();
      return;
    }
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

  async function retryJob(withForm) {
    const token = current;
    if (!token || !token.id) return;
    let body = {};
    if (withForm) {
      await ensureOptions();
      try { body = { options: Object.assign({}, readOptions()) }; } catch (e) { if (!e.shown) showError(e); return; }
    }
    clearAlert();
    try {
      startJob(await api('POST', `/api/jobs/${encodeURIComponent(token.id)}/retry`, body));
    } catch (e) { showRequestError(e); }
  }

  async function deleteJob() {
    const token = current;
    if (!token || !token.id) return;
    if (!window.confirm('Delete this job and its files? This cannot be undone.')) return;
    try {
      await api('DELETE', `/api/jobs/${encodeURIComponent(token.id)}`);
    } catch (e) { showError(e); return; }
    stopTracking();
    $('result').hidden = true;
    $('progress').hidden = true;
    pauseVideo();
    history.replaceState(null, '', location.pathname + location.search);
    showAlert('The job and its files were deleted.', 'info');
    loadHistory();
    $('url').focus();
  }

  // ---------------------------------------------------------------- submitting

  function urlProblem(url) {
    if (!url) return 'Paste a video link, or choose a video file to upload.';
    if (!/^[a-z][\w+.-]*:\/\//i.test(url)) return 'That is not a link: paste an address that starts with https://.';
    if (/\s/.test(url)) return 'The link contains spaces: paste just the address, e.g. https://example.com/video.mp4.';
    let u;
    try { u = new URL(url); } catch (e) { return 'That is not a link: paste an address that starts with https://.'; }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'Only http:// and https:// links can be fetched.';
    return '';
  }

  async function submitUrl() {
    const url = $('url').value.trim();
    clearFieldErrors();
    const problem = urlProblem(url);
    if (problem) { clearAlert(); fieldError($('url'), problem); return; }
    let options;
    await ensureOptions();
    try { options = readOptions(); } catch (e) { if (!e.shown) showError(e); return; }
    clearAlert();
    setBusy(true);
    try {
      const r = await api('POST', '/api/jobs', { url, options });
      startJob(r);
    } catch (e) {
      showRequestError(e);
    } finally {
      setBusy(false);
    }
  }

  async function submitFile(file) {
    if (!file) return;
    let options;
    clearFieldErrors();
    await ensureOptions();
    try { options = readOptions(); } catch (e) { if (!e.shown) showError(e); return; }
    clearAlert();
    setBusy(true);
    stopTracking();
    const uploading = { id: '', state: 'queued', stage: 'download', percent: 0,
      source: { kind: 'upload', name: file.name }, options, uploading: true, started: Date.now() };
    current = { id: '', job: uploading, es: null, poll: null, failures: 0 };
    const token = current;
    showProgress(uploading);
    try {
      const r = await uploadVideo(file, options, (pct) => {
        if (current === token) showProgress(Object.assign(uploading, { percent: pct }));
      });
      startJob(r);
    } catch (e) {
      if (current === token) { current = null; $('progress').hidden = true; stopElapsed(); }
      if (e.code === 'ECANCEL') showAlert('The upload was cancelled.', 'info');
      else showRequestError(e);
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
    if (initial && current && current.job && current.job.uploading) {
      initial.uploaded = true; // the upload tile stays done, the clock keeps running
      initial.started = current.job.started;
    }
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

  // Elapsed time: from the upload's start, else from the job's creation.
  let elapsedTimer = null;
  let elapsedFrom = 0;
  function startElapsed(from) {
    elapsedFrom = from;
    const tick = () => { $('progress-elapsed').textContent = `· ${fmtTime((Date.now() - elapsedFrom) / 1000)} elapsed`; };
    tick();
    if (!elapsedTimer) elapsedTimer = setInterval(tick, 1000);
  }
  function stopElapsed() {
    if (elapsedTimer) clearInterval(elapsedTimer);
    elapsedTimer = null;
  }

  let lastAnnounced = '';
  // The live region speaks when the stage changes, not at every percent.
  function announce(text) {
    if (text === lastAnnounced) return;
    lastAnnounced = text;
    $('progress-live').textContent = text;
  }

  function showProgress(job) {
    openedJob();
    $('result').hidden = true;
    $('intro').hidden = true;
    pauseVideo();
    const section = $('progress');
    section.hidden = false;
    if (!stageNodes) buildStages();
    const upload = job.uploading || job.uploaded || (job.source && job.source.kind === 'upload');
    const stage = job.stage;
    let ci = STAGES.findIndex((s) => s.key === stage);
    if (stage === 'done') ci = STAGES.length;
    if (stage === 'queued' || ci < 0) ci = -1;
    // An upload has arrived once the job exists: its tile stays done.
    if (upload && !job.uploading && ci < 1) ci = job.state === 'queued' ? 1 : Math.max(ci, 1);
    // An edit starts at Render: nothing to download, analyse or select.
    if (job.source && job.source.kind === 'edit' && ci < 3) ci = 3;
    const queuedHere = job.state === 'queued' && stage === 'queued';
    const pct = Math.max(0, Math.min(100, Math.round(Number(job.percent) || 0)));
    STAGES.forEach((s, i) => {
      const n = stageNodes[i];
      let cls;
      let p;
      if (i < ci) { cls = 'done'; p = 100; } else if (i === ci) { cls = 'active'; p = queuedHere ? 0 : pct; } else { cls = 'pending'; p = 0; }
      if (i === ci && job.state === 'failed') cls = 'failed';
      if (i === ci && job.state === 'cancelled') cls = 'stopped';
      n.li.className = `stage ${cls}`;
      n.name.textContent = i === 0 && upload ? 'Upload' : s.label;
      n.bar.setAttribute('aria-label', n.name.textContent);
      n.pct.textContent = cls === 'pending' ? '' : cls === 'done' ? '✓' : `${p} %`;
      n.pct.setAttribute('aria-label', cls === 'done' ? 'done' : '');
      n.fill.style.width = `${p}%`;
      n.bar.setAttribute('aria-valuenow', String(p));
    });

    const titles = { queued: 'Waiting in the queue…', running: 'Working on it…', failed: 'This job failed',
      cancelled: 'Cancelled', done: 'Finishing…' };
    let title = job.uploading ? 'Uploading…' : (titles[job.state] || 'Working on it…');
    if (job.state === 'queued' && (job.uploaded || (job.source && job.source.kind === 'edit'))) title = 'Starting…';
    $('progress-title').textContent = title;
    const src = job.source ? sourceLabel(job.source) : '';
    $('progress-source').textContent = src;
    $('progress-source').hidden = !src;
    let status = '';
    if (job.uploading) status = `Sending ${job.source.name} to the server — ${pct} %`;
    else if (job.state === 'queued' && ci >= 0 && ci < STAGES.length) status = `${STAGES[ci].doing} as soon as a worker is free.`;
    else if (job.state === 'queued') status = 'The job will start as soon as a worker is free.';
    else if (job.state === 'running' && ci >= 0 && ci < STAGES.length) status = `${STAGES[ci].doing} — ${pct} %`;
    else if (job.state === 'cancelled') status = 'This job was cancelled.';
    else if (job.state === 'failed') status = 'Nothing was made. See the message above.';
    $('progress-status').textContent = status;
    const ended = TERMINAL.has(job.state);
    announce(job.uploading ? 'Uploading' : ended ? title : (ci >= 0 && ci < STAGES.length ? STAGES[ci].doing : title));
    $('cancel').hidden = ended;
    $('cancel').textContent = job.uploading ? 'Cancel upload' : 'Cancel';
    const retryable = job.state === 'failed' || job.state === 'cancelled';
    $('retry').hidden = !retryable || !job.id;
    $('retry-options').hidden = !retryable || !job.id || (job.source && job.source.kind === 'edit');
    $('delete-ended').hidden = !ended || !job.id;
    if (ended) { stopElapsed(); $('progress-elapsed').textContent = ''; } else {
      const created = Date.parse(job.created || '');
      startElapsed(job.started || (Number.isFinite(created) ? created : Date.now()));
    }
  }

  // ---------------------------------------------------------------- result view

  function pauseVideo() {
    const v = $('video');
    if (!v.paused) v.pause();
  }

  function downloadLink(href, label, filename, detail) {
    const a = el('a', { class: 'btn btn-secondary btn-small', href, download: filename });
    a.append(icon('download'), document.createTextNode(label));
    if (detail) a.append(el('span', { class: 'dl-detail', text: detail }));
    return a;
  }

  function fmtBytes(n) {
    n = Number(n);
    if (!Number.isFinite(n) || n <= 0) return '';
    if (n < 1000) return `${n} B`;
    if (n < 1000 * 1000) return `${Math.round(n / 1000)} kB`;
    return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
  }

  function outputDetail(o) {
    if (!o || typeof o !== 'object') return '';
    const parts = [fmtBytes(o.bytes)];
    if (Number(o.width) > 0 && Number(o.height) > 0) parts.push(`${o.width}×${o.height}`);
    return parts.filter(Boolean).join(' · ');
  }

  // The animation the page shows: the smallest file that looks the same. The MP4 loop
  // and the WebP are usually a fraction of the GIF.
  function pickAnimation(r) {
    const outs = r.outputs && typeof r.outputs === 'object' ? r.outputs : {};
    const cands = [];
    const v = document.createElement('video');
    if (r.mp4 && v.canPlayType && v.canPlayType('video/mp4; codecs="avc1.42E01E"')) cands.push({ kind: 'mp4', url: r.mp4, o: outs.mp4 });
    if (r.webp) cands.push({ kind: 'webp', url: r.webp, o: outs.webp });
    if (r.gif) cands.push({ kind: 'gif', url: r.gif, o: outs.gif });
    const size = (c) => (c.o && Number(c.o.bytes) > 0 ? Number(c.o.bytes) : (c.kind === 'gif' ? Infinity : 1e15));
    cands.sort((a, b) => size(a) - size(b));
    return cands[0] || null;
  }

  async function copyText(text, what) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (e) {
      const ta = el('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch (x) { ok = false; }
      ta.remove();
    }
    $('share-status').textContent = ok ? `Copied ${what}.` : `Could not copy ${what}: your browser refused.`;
  }

  function absUrl(u) { return new URL(u, location.href).href; }

  function shareLinks(job) {
    const r = job.result;
    const link = `${location.origin}${location.pathname}#job=${job.id}`;
    const outs = r.outputs || {};
    const out = outs.gif || outs.webp || outs.mp4 || {};
    const still = r.gif || r.webp; // an <img> can show either (the formats option may leave one out)
    const wh = Number(out.width) > 0 ? ` width="${out.width}" height="${out.height}"` : '';
    const alt = `Animated thumbnail of ${sourceLabel(job.source)}`.replace(/"/g, '&quot;').replace(/</g, '&lt;');
    return {
      link,
      gif: still ? absUrl(still) : '',
      img: still ? `<img src="${absUrl(still)}"${wh} alt="${alt}">` : '',
      video: r.mp4 ? `<video src="${absUrl(r.mp4)}"${wh} poster="${absUrl(r.poster || '')}" autoplay muted loop playsinline></video>` : '',
    };
  }

  // When a result arrives: bring it into view and put the focus on its heading. Called once
  // the result has painted, when the layout is clean (no forced synchronous layout), and it
  // scrolls only when the result is not already at the top of the window (a page opened on
  // a job's link has it first: app.css, .job-link). (On a phone the thumbnail is the first
  // thing in the card: app.css puts it before the video.)
  function revealResult() {
    if ($('result').hidden) return;
    const top = $('result').getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight / 4) $('result').scrollIntoView({ block: 'start', behavior: 'auto' });
    $('result-title').focus({ preventScroll: true });
  }

  // A quiet notice beside the link field when this server cannot fetch YouTube links. It
  // arrives after the page has loaded: shown at once it would push down everything below the
  // field (a layout shift of 0.04 in Lighthouse), so it is the field's description from the
  // start (aria-describedby) and shows when the field is used: focused, typed or pasted into
  // (the shift then follows the user's own input, as the field's error does).
  function showNotice() {
    const n = $('url-notice');
    if (n.textContent) n.hidden = false;
  }
  let serverChecked = false;
  function checkServerOnce() {
    if (serverChecked) return;
    serverChecked = true;
    checkServer();
  }
  // A server that has just started is still asking yt-dlp what it is ("checking"): ask again.
  async function checkServer(tries = 0) {
    try {
      const res = await fetch('/healthz', { cache: 'no-store' });
      const h = await res.json();
      const y = h && h.ytdlp;
      if (y && y.checking) {
        if (tries < 30) setTimeout(() => checkServer(tries + 1), 2000);
        return;
      }
      const n = $('url-notice');
      n.textContent = y && !y.youtube_ok && y.notice ? y.notice : '';
      n.hidden = true;
      if (document.activeElement === $('url') || $('url').value) showNotice();
    } catch (e) { /* the notice is a nicety: the page works without it */ }
  }

  // The page was opened on a job's link: what early.js held back comes back with the job.
  function openedJob() { document.documentElement.classList.remove('opening-job'); }

  function showResult(job, arrived) {
    const r = job.result;
    // On a page opened on the job's link, the form and the history (below the result, out of
    // the window on a phone) come in a task of their own after the result has painted: laid
    // out with it, they made its one style-and-layout task ~30 % longer (a second pass, to
    // find their content-visibility: auto boxes out of the window).
    const opening = document.documentElement.classList.contains('opening-job');
    $('intro').hidden = true; // the example has done its job once there is a real one
    $('progress').hidden = true;
    $('result').hidden = false;
    const src = sourceLabel(job.source);
    $('result-source').textContent = src;
    $('result-source').title = job.source && job.source.url ? String(job.source.url) : src;

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
    // The player shows this job's video or none: another job's (the one shown before) goes
    // at once, this one's comes when the player is near the window (showOriginal).
    const video = $('video');
    if (video.hasAttribute('src') && video.getAttribute('src') !== r.video) {
      video.removeAttribute('src');
      video.removeAttribute('poster');
      video.load();
    }
    // The animation, in a box of its own size reserved before it loads (no layout shift).
    const gif = $('gif');
    const anim = $('anim');
    const pick = pickAnimation(r);
    const o = pick && pick.o;
    const frame = $('anim-frame');
    if (o && Number(o.width) > 0 && Number(o.height) > 0) frame.style.aspectRatio = `${o.width} / ${o.height}`;
    else frame.style.aspectRatio = '';
    for (const m of [gif, anim]) {
      if (o && Number(o.width) > 0) { m.setAttribute('width', o.width); m.setAttribute('height', o.height); }
    }
    if (pick && pick.kind === 'mp4') {
      gif.hidden = true;
      gif.removeAttribute('src');
      anim.hidden = false;
      // The poster paints first (a still, the page's largest paint); the loop is fetched once
      // the page has loaded: a video delays the load event until its first frame, and on a
      // slow link its bytes would compete with the poster's.
      if (anim.dataset.src !== pick.url) {
        anim.dataset.src = pick.url;
        anim.removeAttribute('src');
        anim.setAttribute('poster', r.poster || '');
        afterLoad(() => {
          if (anim.dataset.src !== pick.url || anim.hidden) return;
          anim.setAttribute('src', pick.url);
          const p = anim.play();
          if (p && typeof p.catch === 'function') p.catch(() => {});
        });
      }
    } else if (pick) {
      anim.hidden = true;
      anim.removeAttribute('src');
      delete anim.dataset.src;
      gif.hidden = false;
      if (gif.getAttribute('src') !== pick.url) gif.setAttribute('src', pick.url);
    }
    gif.alt = `Animated thumbnail of ${src}`;
    anim.setAttribute('aria-label', `Animated thumbnail of ${src}`);
    $('anim-frame').dataset.kind = pick ? pick.kind : '';
    const gifSize = fmtBytes(r.outputs && r.outputs.gif && r.outputs.gif.bytes);
    $('anim-note').textContent = pick && pick.kind !== 'gif'
      ? `Shown as ${pick.kind === 'mp4' ? 'the MP4 loop' : 'WebP'} (${fmtBytes(o && o.bytes)}); the GIF looks the same${gifSize ? ` and weighs ${gifSize}` : ''}.`
      : '';
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
    const outs = r.outputs && typeof r.outputs === 'object' ? r.outputs : {};
    if (r.gif) dl.append(downloadLink(r.gif, 'GIF', `${base}.gif`, outputDetail(outs.gif)));
    if (r.webp) dl.append(downloadLink(r.webp, 'WebP', `${base}.webp`, outputDetail(outs.webp)));
    if (r.mp4) dl.append(downloadLink(r.mp4, 'MP4', `${base}.mp4`, outputDetail(outs.mp4)));
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
      // a data: address, not a Blob's: URL.createObjectURL registers the blob with the
      // browser process, a round trip that held the result's first paint (~3 ms, longer on a
      // busy machine)
      const planUrl = `data:application/json,${encodeURIComponent(`${JSON.stringify(r.plan, null, 2)}\n`)}`;
      dl.append(downloadLink(planUrl, job.source && job.source.kind === 'edit' ? 'Edited plan' : 'Plan', `${base}-plan.json`));
    }
    $('share-status').textContent = '';
    $('share-gif').hidden = !r.gif;
    $('share-img').hidden = !(r.gif || r.webp);
    $('share-video').hidden = !r.mp4;
    showBefore(job);

    // Options used
    const used = $('options-used');
    used.textContent = '';
    const opts = job.options && typeof job.options === 'object' ? job.options : {};
    const order = ['clips', 'clip-len', 'style', 'width', 'fps', 'upscale', 'safe', 'analysis', 'keyframes', 'quality', 'still-len', 'crossfade', 'formats'];
    const keys = order.filter((k) => k in opts);
    for (const k of keys) {
      if ((k === 'still-len' || k === 'crossfade') && opts.style !== 'slideshow') continue;
      if (k === 'clips' && opts.style === 'slideshow') continue;
      if (k === 'clip-len' && opts.style === 'slideshow') continue;
      const [label, unit] = OPTION_LABELS[k];
      const val = Array.isArray(opts[k]) ? opts[k].join(', ') : opts[k];
      used.append(el('dt', { text: label }), el('dd', { text: `${val}${unit}`, 'data-key': k }));
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

    // Warnings
    const warnings = Array.isArray(plan.warnings) ? plan.warnings.filter((w) => typeof w === 'string' && w) : [];
    const wl = $('warnings');
    wl.textContent = '';
    for (const w of warnings) wl.append(el('li', { text: sentence(w) }));
    wl.hidden = warnings.length === 0;

    if (shownPlan !== plan) {
      $('timeline').textContent = ''; // drawn for this plan after the paint
      // the clips' buttons now, at their size: the editor, when it comes, moves nothing
      drawChips(planSegments(plan), plan.poster && Number(plan.poster.t));
    }
    shownPlan = plan;
    // The timeline (an SVG of every shot, clip and keyframe) is drawn after the result has
    // painted: the thumbnail and its downloads first, then the editor below them. The result
    // is brought into view before it (while the layout is still the painted one).
    const seq = ++timelineSeq;
    // Each step waits for the paint of the one before: none holds the page for long on a
    // slow phone, and each reads a layout the browser has already made (the timeline's width
    // after the video's controls are laid out: no forced synchronous layout).
    const still = () => seq === timelineSeq && shownPlan === plan;
    afterPaint(() => {
      if (opening) afterPaint(openedJob);
      if (!still()) return;
      if (arrived) revealResult();
      // the original video's player (its controls are a costly shadow tree, its source is
      // fetched for its length) once it is near the window: on a phone it is below the
      // thumbnail, the downloads and the sharing buttons
      nearView($('video'), () => { if (still()) showOriginal(r); });
      afterPaint(() => {
        if (!still()) return;
        // the timeline and the editor (editor.js) once the page has loaded and the timeline
        // is near the window (on a phone it is below the fold): nothing of theirs comes
        // before the thumbnail's paint, not even their request
        afterLoad(() => nearView($('timeline'), () => {
          if (still()) loadEditor().then((m) => { if (still() && m) m.show(job, plan); });
        }));
      });
    });
  }
  let timelineSeq = 0;
  let shownPlan = null;

  // The clips of a plan, as the editor takes them.
  function planSegments(plan) {
    return (Array.isArray(plan && plan.segments) ? plan.segments : [])
      .map((s) => ({ start: Number(s.start), end: Number(s.end), score: s.score }))
      .filter((s) => Number.isFinite(s.start) && Number.isFinite(s.end) && s.end > s.start);
  }
  // The chosen clips (and the poster) as buttons under the timeline, easier to tap than it.
  // Drawn with the result, in its first paint (their room is taken before the timeline and
  // the editor come: they used to arrive with the editor and push what is below them down),
  // and again by the editor as the clips are edited. A click goes to the editor (loaded
  // then if it is not yet): a clip plays, × removes it, the poster plays from its frame.
  function drawChips(segments, posterT) {
    const cl = $('clip-list');
    // the same clips are left as they are (and a button keeps its focus)
    const key = `${segments.map((sg) => `${sg.start}-${sg.end}`).join(' ')} ${Number.isFinite(posterT) ? posterT : ''}`;
    if (cl.firstChild && cl.dataset.key === key) return;
    cl.dataset.key = key;
    cl.textContent = '';
    segments.forEach((sg, i) => {
      const a = sg.start;
      const b = sg.end;
      // the visible text is the name (with words for screen readers around it)
      const btn = el('button', { type: 'button', class: 'chip', 'data-start': a, 'data-end': b },
        el('span', { class: 'visually-hidden', text: 'Play clip ' }),
        el('span', { class: 'chip-n', text: String(i + 1) }),
        el('span', { class: 'visually-hidden', text: ', ' }),
        el('span', { text: `${fmtTime(a, true)} – ${fmtTime(b, true)}` }));
      const del = el('button', { type: 'button', class: 'chip chip-x', 'data-remove': i, 'aria-label': `Remove clip ${i + 1}`, text: '×' });
      cl.append(el('li', { class: 'chip-pair' }, btn, del));
    });
    if (Number.isFinite(posterT)) {
      const btn = el('button', { type: 'button', class: 'chip', 'data-start': posterT },
        el('span', { class: 'chip-n poster', text: '' }),
        el('span', { class: 'visually-hidden', text: 'Play from the ' }),
        el('span', { text: 'Poster ' }), el('span', { class: 'muted', text: fmtTime(posterT, true) }));
      cl.append(el('li', {}, btn));
    }
  }
  function onChip(e) {
    const b = e.target.closest && e.target.closest('#clip-list button');
    if (!b) return;
    if (b.dataset.remove !== undefined) withEditor('removeClip', Number(b.dataset.remove))();
    else withEditor('seekTo', Number(b.dataset.start), b.dataset.end === undefined ? undefined : Number(b.dataset.end))();
  }

  // The plan editor and the timeline (web/editor.js), imported the first time a result is
  // shown: the empty page never fetches it. Resolves to null when it cannot load (the result
  // stays usable without its timeline).
  let editorLoad = null;
  function loadEditor() {
    if (!editorLoad) {
      editorLoad = import('/static/editor.js')
        .then((m) => m.install({ $, el, svg, fmtTime, api, clearAlert, showError, startJob, planSegments, drawChips, current: () => current }))
        .catch(() => { editorLoad = null; return null; });
    }
    return editorLoad;
  }
  // An editor button: the module, with the shown job's plan in it (a click can come before
  // the timeline was near the window), then the action.
  const withEditor = (name, ...args) => () => loadEditor().then((m) => {
    if (!m) return;
    const job = current && current.job;
    if (job && job.result && shownPlan && m.plan() !== shownPlan) m.show(job, shownPlan);
    if (job && job.result) showOriginal(job.result); // a clip plays in this job's video
    m[name](...args);
  });

  // The original video, its poster and the browser's own controls (a shadow tree of their
  // own, costly to build on a phone) come after the result has painted, like the timeline.
  function showOriginal(r) {
    const video = $('video');
    video.controls = true;
    if (r.poster && video.getAttribute('poster') !== r.poster) video.setAttribute('poster', r.poster);
    if (video.getAttribute('src') !== r.video) video.setAttribute('src', r.video);
  }
  // Run fn once the browser has painted what is on the page now (a frame, then a task).
  function afterPaint(fn) {
    requestAnimationFrame(() => setTimeout(fn, 0));
  }
  // Run fn once node is within 200 px of the window (at once without IntersectionObserver).
  function nearView(node, fn) {
    if (typeof IntersectionObserver !== 'function') { fn(); return; }
    const io = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      io.disconnect();
      fn();
    }, { rootMargin: '200px 0px' });
    io.observe(node);
  }
  // Run fn once the page has loaded (its images included) and the browser is idle.
  function afterLoad(fn) {
    const idle = () => (window.requestIdleCallback ? requestIdleCallback(() => fn(), { timeout: 1000 }) : setTimeout(fn, 50));
    if (document.readyState === 'complete') idle();
    else window.addEventListener('load', idle, { once: true });
  }

  // The example on the empty page paints as a still (12 kB, at once); its animation is
  // fetched once the page has loaded and swapped in when decoded. Not for people who asked
  // their system for less motion: they keep the still.
  function playExample() {
    const img = $('example');
    const anim = img && img.dataset.anim;
    // (not on a page opened on a job's link: the example is not shown there, early.js)
    if (!anim || img.getAttribute('src') === anim || $('intro').hidden ||
        document.documentElement.classList.contains('job-link')) return;
    if (window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches) return;
    const pre = new Image();
    pre.src = anim;
    const swap = () => { img.src = anim; };
    if (typeof pre.decode === 'function') pre.decode().then(swap, () => {});
    else pre.onload = swap;
  }

  // An edited job shows the version it was made from beside it.
  let beforeSeq = 0;
  async function showBefore(job) {
    const seq = ++beforeSeq;
    const of = job.source && job.source.kind === 'edit' && /^[0-9a-f]{32}$/.test(job.source.of || '') ? job.source.of : null;
    $('before').hidden = true;
    if (!of) return;
    let parent;
    try { parent = await api('GET', `/api/jobs/${of}`); } catch (e) { return; }
    if (seq !== beforeSeq || !parent.result) return;
    const pick = pickAnimation(parent.result);
    const img = $('before-img');
    img.setAttribute('src', pick && pick.kind !== 'mp4' ? pick.url : (parent.result.webp || parent.result.gif));
    $('before-link').setAttribute('href', `#job=${of}`);
    $('before').hidden = false;
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
    });
    return el('li', {}, btn);
  }

  // The history badge of a job follows the job as the progress card sees it.
  function syncHistoryBadge(job) {
    if (!job || !job.id) return;
    const item = document.querySelector(`#history .history-item[data-id="${job.id}"]`);
    if (!item) return;
    const badge = item.querySelector('.badge');
    badge.className = `badge ${job.state}`;
    badge.textContent = badgeText(job);
  }

  const HISTORY_PAGE = 20;
  let historySeq = 0;
  let historyShown = HISTORY_PAGE;
  let historyAsked = false;
  async function loadHistory() {
    historyAsked = true;
    const seq = ++historySeq;
    let data;
    try {
      data = await api('GET', `/api/jobs?offset=0&limit=${Math.min(100, historyShown)}`);
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
    for (const j of jobs) list.append(historyItem(j.id === (current && current.id) && current.job && current.job.state ? Object.assign({}, j, { state: current.job.state, stage: current.job.stage, percent: current.job.percent }) : j));
    $('history-empty').textContent = 'No jobs yet. Paste a link above to make your first thumbnail.';
    $('history-empty').hidden = jobs.length > 0;
    $('history-more').hidden = !(Number(data.total) > jobs.length);
    historyTotal = Number(data.total) || jobs.length;
    // Keep the badges of running jobs fresh.
    clearTimeout(historyTimer);
    if (jobs.some((j) => !TERMINAL.has(j.state))) historyTimer = setTimeout(loadHistory, 3000);
  }
  let historyTotal = 0;

  // Older jobs, a page at a time, appended below.
  async function moreHistory() {
    const list = $('history');
    const have = list.querySelectorAll('.history-item').length;
    let data;
    try {
      data = await api('GET', `/api/jobs?offset=${have}&limit=${HISTORY_PAGE}`);
    } catch (e) { showError(e); return; }
    const jobs = Array.isArray(data.jobs) ? data.jobs.filter((j) => j && typeof j.id === 'string') : [];
    for (const j of jobs) if (!list.querySelector(`[data-id="${j.id}"]`)) list.append(historyItem(j));
    historyShown = Math.max(historyShown, have + jobs.length);
    historyTotal = Number(data.total) || historyTotal;
    $('history-more').hidden = list.querySelectorAll('.history-item').length >= historyTotal;
    const first = list.querySelectorAll('.history-item')[have];
    if (first) first.focus();
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

  // A link or a video file pasted anywhere on the page (outside a text field) starts a job.
  function setupPaste() {
    document.addEventListener('paste', (e) => {
      const t = e.target;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
      const cd = e.clipboardData;
      if (!cd) return;
      const file = Array.from(cd.files || []).find((f) => /^video\//.test(f.type));
      if (file) { e.preventDefault(); if (!$('submit').disabled) submitFile(file); return; }
      const text = (cd.getData('text/plain') || '').trim();
      if (/^https?:\/\/\S+$/.test(text)) {
        e.preventDefault();
        $('url').value = text;
        showNotice();
        submitUrl();
      }
    });
  }

  // ---------------------------------------------------------------- start

  function jobFromHash() {
    const m = /^#job=([0-9a-f]{32})$/.exec(location.hash);
    return m ? m[1] : null;
  }

  function init() {
    $('job-form').addEventListener('submit', (e) => { e.preventDefault(); submitUrl(); });
    $('url').addEventListener('input', () => { showNotice(); if ($('url').getAttribute('aria-invalid')) clearFieldErrors(); });
    $('url').addEventListener('focus', showNotice);
    $('retry').addEventListener('click', () => retryJob(false));
    $('options').addEventListener('toggle', () => { if ($('options').open) ensureOptions(); });
    $('retry-options').addEventListener('click', async () => {
      if (!$('options').open) {
        await ensureOptions();
        // first show the job's options in the form, to change them
        fillOptions(current && current.job && current.job.options);
        $('options').open = true;
        $(`opt-${(optionTable[0] || { name: 'clips' }).name}`).focus();
        $('edit-status').textContent = '';
        return;
      }
      retryJob(true);
    });
    $('delete-ended').addEventListener('click', deleteJob);
    $('delete').addEventListener('click', deleteJob);
    $('history-more').addEventListener('click', moreHistory);
    $('edit-add').addEventListener('click', withEditor('addClipAtPlayhead'));
    $('edit-poster').addEventListener('click', withEditor('posterFromFrame'));
    $('edit-reset').addEventListener('click', withEditor('resetEdit'));
    $('edit-render').addEventListener('click', withEditor('renderEdit'));
    $('clip-list').addEventListener('click', onChip);
    const share = (what) => () => {
      if (!current || !current.job || !current.job.result) return;
      const l = shareLinks(current.job);
      const names = { link: 'the link to this result', gif: "the GIF's address", img: 'the <img> embed', video: 'the <video> embed' };
      copyText(l[what], names[what]);
    };
    $('share-link').addEventListener('click', share('link'));
    $('share-gif').addEventListener('click', share('gif'));
    $('share-img').addEventListener('click', share('img'));
    $('share-video').addEventListener('click', share('video'));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !$('alert').hidden) { clearAlert(); }
    });
    $('example').addEventListener('error', () => { $('example').closest('figure').hidden = true; });
    setupPaste();
    $('file').addEventListener('change', () => { const f = $('file').files[0]; if (f) submitFile(f); });
    $('cancel').addEventListener('click', cancelJob);
    $('alert-close').addEventListener('click', clearAlert);
    $('history-refresh').addEventListener('click', loadHistory);
    $('reset-options').addEventListener('click', resetOptions);
    setupDrop();

    window.addEventListener('hashchange', () => {
      const id = jobFromHash();
      if (id && (!current || current.id !== id)) openJob(id);
    });

    // A page opened on a job's link shows the job first; the history and the server's notice
    // come once the page has loaded and the browser is idle (they are below the fold on a
    // phone, and their work would hold back the first paint); the option fields, when needed.
    // The history once its card is near the window (below the fold on a phone, and below
    // the result on a job's link); the server's notice once the link field is (or is used).
    const rest = () => afterLoad(() => {
      nearView(document.querySelector('.history-card'), () => { if (!historyAsked) loadHistory(); });
      nearView(document.querySelector('.new-card'), checkServerOnce);
    });
    $('url').addEventListener('focus', checkServerOnce);
    afterLoad(playExample);
    // early.js asked for the job already (while this script loaded): a finished one is shown
    // at once; anything else (running, an error, a token to ask for) takes the usual way.
    const early = window.tgEarlyJob;
    const earlyJob = early && early.id === jobFromHash()
      ? early.answer.then((res) => (res.ok ? res.json() : null)).catch(() => null)
      : Promise.resolve(null);
    earlyJob.then((job) => {
      if (job && job.id === jobFromHash() && job.state === 'done' && job.result) {
        openJob(job.id, job);
        afterPaint(() => ensureAccess().then(rest));
        return;
      }
      ensureAccess().then(() => {
        const id = jobFromHash();
        if (id) openJob(id).finally(() => afterPaint(rest));
        else rest();
      });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
