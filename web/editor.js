// thumbgen web page, the plan editor and the timeline: an ES module that app.js imports
// (import()) only when a result is shown, so that the empty page neither fetches nor
// evaluates it. install(core) takes what it needs of app.js (the DOM helpers, the API, the
// job being shown) and returns what app.js calls: show(job, plan) draws the timeline of the
// shown job and starts editing it; the editor's buttons call the rest.
'use strict';

export function install(core) {
  const { $, svg, fmtTime, api, clearAlert, showError, startJob, planSegments } = core;

  // ---------------------------------------------------------------- editing the plan
  // The clips and the poster of the shown job, as the user is changing them. "Make it
  // again" sends them to POST /api/jobs/{id}/render: a new version, no analysis.

  let edit = null; // { jobId, segments: [{start, end}], poster, dirty }

  function startEditing(job) {
    if (edit && edit.jobId === job.id && edit.dirty) return;
    const plan = job.result.plan || {};
    const pt = plan.poster && Number(plan.poster.t);
    edit = { jobId: job.id, segments: planSegments(plan), poster: Number.isFinite(pt) ? pt : null, dirty: false };
    updateEditor();
  }

  function round3(t) { return Math.round(t * 1000) / 1000; }

  function changed() {
    edit.dirty = true;
    edit.segments.sort((a, b) => a.start - b.start);
    renderTimeline();
    updateEditor();
  }

  function updateEditor() {
    const dirty = !!(edit && edit.dirty);
    $('edit-render').hidden = !dirty;
    $('edit-reset').hidden = !dirty;
    $('edit-status').textContent = dirty
      ? `${edit.segments.length} clip${edit.segments.length === 1 ? '' : 's'}, ${edit.segments.reduce((n, s) => n + s.end - s.start, 0).toFixed(1)} s in all: not made yet.`
      : '';
  }

  function resetEdit() {
    const current = core.current();
    if (!current || !current.job || !current.job.result) return;
    edit = null;
    startEditing(current.job);
    renderTimeline();
  }

  function addClipAtPlayhead() {
    if (!edit || !currentPlan) return;
    const dur = planDuration(currentPlan);
    const lens = edit.segments.map((s) => s.end - s.start);
    const len = lens.length ? lens.reduce((a, b) => a + b, 0) / lens.length : 1.2;
    let t = $('video').currentTime || 0;
    t = Math.max(0, Math.min(dur - len, t));
    edit.segments.push({ start: round3(t), end: round3(Math.min(dur, t + len)) });
    changed();
    $('edit-status').textContent = `Added a clip at ${fmtTime(t, true)}. ${$('edit-status').textContent}`;
  }

  function posterFromFrame() {
    if (!edit) return;
    edit.poster = round3($('video').currentTime || 0);
    changed();
  }

  function removeClip(i) {
    if (!edit || edit.segments.length <= 1) { $('edit-status').textContent = 'A thumbnail needs at least one clip.'; return; }
    edit.segments.splice(i, 1);
    changed();
  }

  async function renderEdit() {
    const token = core.current();
    if (!token || !edit || !edit.dirty) return;
    const plan = { segments: edit.segments.map((s) => ({ start: round3(s.start), end: round3(s.end) })) };
    if (Number.isFinite(edit.poster)) plan.poster = { t: round3(edit.poster) };
    $('edit-render').disabled = true;
    clearAlert();
    try {
      const r = await api('POST', `/api/jobs/${encodeURIComponent(token.id)}/render`, { plan });
      edit = null;
      startJob(r);
    } catch (e) {
      showError(e);
    } finally {
      $('edit-render').disabled = false;
    }
  }

  // The buttons under the timeline (app.js draws them, and a click on one comes back here:
  // seekTo, removeClip).
  function renderClipList() {
    if (edit) core.drawChips(edit.segments, edit.poster);
  }

  // Dragging a clip on the timeline: its body moves it, its ends change its length.
  let drag = null;
  let chosen = -1; // the clip last touched, clicked or focused: its squeezed ends show in full
  function choose(i) {
    chosen = i;
    for (const r of document.querySelectorAll('#timeline .tl-grip-over')) r.classList.toggle('on', r.dataset.index === String(i));
  }
  function startDrag(e, i, mode) {
    if (e.button !== 0 || !edit) return;
    e.preventDefault();
    choose(i);
    const s = edit.segments[i];
    drag = { i, mode, x0: e.clientX, start: s.start, end: s.end, moved: false, node: e.currentTarget };
    window.addEventListener('pointermove', onDrag);
    window.addEventListener('pointerup', endDrag, { once: true });
  }
  function onDrag(e) {
    if (!drag || !currentPlan) return;
    const dx = e.clientX - drag.x0;
    if (!drag.moved && Math.abs(dx) < 4) return;
    drag.moved = true;
    const dur = planDuration(currentPlan);
    const W = Math.max(240, Math.floor($('timeline').clientWidth || 600));
    const dt = (dx / (W - 16)) * dur;
    const s = edit.segments[drag.i];
    const len = drag.end - drag.start;
    const minLen = 0.3;
    if (drag.mode === 'move') {
      s.start = round3(Math.max(0, Math.min(dur - len, drag.start + dt)));
      s.end = round3(s.start + len);
    } else if (drag.mode === 'start') {
      s.start = round3(Math.max(0, Math.min(drag.end - minLen, drag.start + dt)));
    } else {
      s.end = round3(Math.min(dur, Math.max(drag.start + minLen, drag.end + dt)));
    }
    edit.dirty = true;
    renderTimeline();
    updateEditor();
  }
  function endDrag() {
    window.removeEventListener('pointermove', onDrag);
    const d = drag;
    drag = null;
    if (!d) return;
    if (d.moved) { changed(); return; }
    const s = edit.segments[d.i];
    seekTo(s.start, s.end); // a click: play the clip
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

  function clickable(node, label, start, end, noClick) {
    node.setAttribute('tabindex', '0');
    node.setAttribute('role', 'button');
    node.setAttribute('aria-label', label);
    if (!noClick) node.addEventListener('click', () => seekTo(start, end));
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

    // Chosen clips as highlighted bars (the user's edit, when there is one).
    const segs = edit ? edit.segments : planSegments(plan);
    // Where each clip's targets go. A clip's own target (its body, 44 px at least) comes
    // first: it reaches at most half-way to the next clip's centre, so that a tap on a clip
    // is that clip, never the next one's end. Its ends are 44-px targets too where the
    // neighbours leave room; where they do not, they share the gap between two bodies
    // half and half (a clip's end never covers another clip).
    const centre = segs.map((s) => (x(Number(s.start)) + x(Number(s.end))) / 2);
    const order = segs.map((_, i) => i).filter((i) => Number.isFinite(centre[i])).sort((p, q) => centre[p] - centre[q]);
    const bodyOf = segs.map(() => null);
    order.forEach((i, k) => {
      const w0 = Math.max(6, x(Number(segs[i].end)) - x(Number(segs[i].start)));
      const half = Math.max(w0, 44) / 2;
      const lo = k > 0 ? (centre[order[k - 1]] + centre[i]) / 2 : -Infinity;
      const hi = k < order.length - 1 ? (centre[i] + centre[order[k + 1]]) / 2 : Infinity;
      bodyOf[i] = [Math.max(centre[i] - half, lo), Math.min(centre[i] + half, hi)];
    });
    const gripBounds = segs.map(() => [-8, W + 8]);
    // (and how far a chosen clip's ends may reach: up to its neighbours' drawings, which
    // always stay theirs)
    const overBounds = segs.map(() => [-8, W + 8]);
    order.forEach((i, k) => {
      if (k > 0) gripBounds[i][0] = (bodyOf[order[k - 1]][1] + bodyOf[i][0]) / 2;
      if (k < order.length - 1) gripBounds[i][1] = (bodyOf[i][1] + bodyOf[order[k + 1]][0]) / 2;
      if (k > 0) overBounds[i][0] = x(Number(segs[order[k - 1]].end)) + 3;
      if (k < order.length - 1) overBounds[i][1] = x(Number(segs[order[k + 1]].start)) - 3;
    });
    const hitRect = (l0, r0, attrs, parent) => svg('rect', { x: l0, y: trackY - 6, width: Math.max(0, r0 - l0),
      height: Math.max(44, trackH + 12), fill: 'transparent', ...attrs }, parent);
    // Ends squeezed by a neighbour get a larger target of their own too (44 px out from the
    // clip's edge, short of the neighbours' drawings), drawn above every clip but shown only while their clip is the
    // chosen one (a tap, a click or focus on it: choose), so that a phone can still change a
    // crowded clip's length: tap it, then drag its end.
    const over = [];
    segs.forEach((s, i) => {
      const a = Number(s.start);
      const b = Number(s.end);
      if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return;
      const w = Math.max(6, x(b) - x(a));
      const cx = (x(a) + x(b)) / 2;
      const [lo, hi] = gripBounds[i];
      const g = svg('g', { class: `tl-seg${drag && drag.i === i ? ' dragging' : ''}`, 'data-kind': 'clip', 'data-start': a, 'data-end': b, 'data-index': i }, root);
      // A wider, invisible hit area so that short clips stay easy to click or tap (44×44 px
      // at least, from the top of the drawing, where the next clip is not nearer: bodyOf).
      const hitW = Math.max(w, 44);
      const body = hitRect(bodyOf[i][0], bodyOf[i][1], { class: 'tl-hit' }, g);
      svg('rect', { x: cx - w / 2, y: trackY + 4, width: w, height: trackH - 8, rx: 3, class: 'tl-clip' }, g);
      // the number beside the button, not in it (its name says it; axe: label-content-name-mismatch)
      if (w >= 14) svg('text', { x: cx, y: trackY + trackH / 2 + 4, 'text-anchor': 'middle', class: 'tl-cliplabel', 'aria-hidden': 'true', text: String(i + 1) }, root);
      const label = `Clip ${i + 1}, from ${fmtTime(a, true)} to ${fmtTime(b, true)}: Enter plays it, arrow keys move it, Alt+arrow keys change its length, Delete removes it`;
      svg('title', { text: label }, g);
      clickable(g, label, a, b, true);
      body.addEventListener('pointerdown', (e) => startDrag(e, i, 'move'));
      g.querySelector('.tl-clip').addEventListener('pointerdown', (e) => startDrag(e, i, 'move'));
      // the ends: grab to change the length. Each end is a 44×44 target too: on a clip wide
      // enough, centred on its end; on a short one (a second is ~9 px on a phone), beside the
      // clip's own target, outside it, so that the three never cover each other.
      const wide = w >= 3 * 44;
      for (const [mode, ex] of [['start', x(a)], ['end', x(b)]]) {
        // (kept within 8 px of the drawing, which the card's padding takes: no sideways
        // scrolling for a clip at the very start or end of the video)
        const hx = Math.max(-8, Math.min(W - 36, wide ? ex - 22 : (mode === 'start' ? cx - hitW / 2 - 44 : cx + hitW / 2)));
        const grip = svg('g', { class: `tl-grip tl-grip-${mode}` }, g);
        const hit = hitRect(Math.max(hx, lo), Math.min(hx + 44, hi), { class: 'tl-grip-hit' }, grip);
        svg('rect', { x: wide ? ex - 5 : (mode === 'start' ? hx + 34 : hx), y: trackY + 2, width: 10, height: trackH - 4, rx: 2, class: `tl-handle tl-handle-${mode}` }, grip);
        hit.addEventListener('pointerdown', (e) => { e.stopPropagation(); startDrag(e, i, mode); });
        if (Math.max(hx, lo) > hx + 0.5 || Math.min(hx + 44, hi) < hx + 43.5) over.push({ i, mode, l: mode === 'start' ? ex - 44 : ex, r: mode === 'start' ? ex : ex + 44 });
      }
      g.addEventListener('focus', () => choose(i));
      g.addEventListener('keydown', (e) => {
        if (!edit) return;
        const step = e.shiftKey ? 1 : 0.1;
        const sg = edit.segments[i];
        const dur2 = planDuration(currentPlan);
        if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && e.altKey) {
          // Alt+arrows change the clip's length (its end), as dragging its end does: the
          // keyboard's way to what the ends' handles do
          e.preventDefault();
          const d = e.key === 'ArrowLeft' ? -step : step;
          sg.end = round3(Math.min(dur2, Math.max(sg.start + 0.3, sg.end + d)));
          changed();
          const again = document.querySelector(`#timeline .tl-seg[data-index="${edit.segments.indexOf(sg)}"]`);
          if (again) again.focus();
        } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
          e.preventDefault();
          const d = e.key === 'ArrowLeft' ? -step : step;
          const len = sg.end - sg.start;
          sg.start = round3(Math.max(0, Math.min(dur2 - len, sg.start + d)));
          sg.end = round3(sg.start + len);
          changed();
          const again = document.querySelector(`#timeline .tl-seg[data-index="${edit.segments.indexOf(sg)}"]`);
          if (again) again.focus();
        } else if (e.key === 'Delete' || e.key === 'Backspace') {
          e.preventDefault();
          removeClip(i);
        }
      });
    });

    const overLayer = svg('g', { class: 'tl-overs' }, root);
    for (const o of over) {
      const r = hitRect(Math.max(o.l, overBounds[o.i][0]), Math.min(o.r, overBounds[o.i][1]), { class: `tl-grip-hit tl-grip-over${chosen === o.i ? ' on' : ''}`, 'data-index': o.i, 'data-mode': o.mode }, overLayer);
      r.addEventListener('pointerdown', (e) => { e.stopPropagation(); startDrag(e, o.i, o.mode); });
    }

    // Keyframes as dots; the poster marked with a ring.
    const keyY = trackY + trackH + 14;
    const posterT = edit && Number.isFinite(edit.poster) ? edit.poster : plan.poster && Number(plan.poster.t);
    const keys = Array.isArray(plan.keyframes) ? plan.keyframes.slice() : [];
    const hasPosterKey = keys.some((k) => Math.abs(Number(k.t) - posterT) < 0.001);
    if (Number.isFinite(posterT) && !hasPosterKey) keys.push({ t: posterT, posterOnly: true });
    keys.map((k, rank) => ({ k, rank })).sort((p, q) => Number(p.k.t) - Number(q.k.t)).forEach(({ k, rank }) => {
      const t = Number(k.t);
      if (!Number.isFinite(t)) return;
      const isPoster = Number.isFinite(posterT) && Math.abs(t - posterT) < 0.001;
      const g = svg('g', { class: 'tl-keyg', 'data-kind': isPoster ? 'poster' : 'keyframe', 'data-t': t }, root);
      // a 44-px target around a small dot
      svg('rect', { x: x(t) - 22, y: keyY - 22, width: 44, height: 44, fill: 'transparent' }, g);
      svg('circle', { cx: x(t), cy: keyY, r: isPoster ? 6 : 5, class: `tl-key${isPoster ? ' poster' : ''}` }, g);
      const what = isPoster ? 'Poster' : `Keyframe ${rank + 1}`;
      const label = `Play from the ${what.toLowerCase()} at ${fmtTime(t, true)}`;
      svg('title', { text: label }, g);
      clickable(g, label, t);
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
    const lastTick = Math.floor(dur / step + 1e-9) * step;
    // the end's label only where it does not run into the last tick's (about 40 px each)
    if (x(dur) - x(lastTick) > 44) {
      svg('line', { x1: x(dur), x2: x(dur), y1: axisY, y2: axisY + 4, class: 'tl-tick' }, root);
      svg('text', { x: x(dur), y: axisY + 16, 'text-anchor': 'end', class: 'tl-label', text: fmtTime(dur) }, root);
    }

    playhead = svg('line', { x1: x(0), x2: x(0), y1: 2, y2: keyY + 8, class: 'tl-playhead' }, root);
    updatePlayhead();
    renderClipList();
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

  // ---------------------------------------------------------------- the video and the timeline

  const video = $('video');
  video.addEventListener('timeupdate', () => {
    if (clipRange && video.currentTime >= clipRange.end) { clipRange = null; video.pause(); }
    updatePlayhead();
  });
  video.addEventListener('seeked', () => {
    if (clipRange && (video.currentTime < clipRange.start - 0.3 || video.currentTime > clipRange.end)) clipRange = null;
    updatePlayhead();
  });
  video.addEventListener('loadstart', () => { clipRange = null; }); // another video
  video.addEventListener('loadedmetadata', () => {
    // Without a duration in the plan, the timeline needs the video's own.
    if (currentPlan && !(currentPlan.source && Number(currentPlan.source.duration) > 0)) renderTimeline();
  });
  if (typeof ResizeObserver === 'function') {
    let lastW = -1; // the first call reports the width the timeline is (or will be) drawn at
    new ResizeObserver(() => {
      const w = $('timeline').clientWidth;
      // a new width redraws a drawn timeline
      if (lastW < 0) { lastW = w; return; }
      if (w && w !== lastW) { lastW = w; if (currentPlan && !$('result').hidden && $('timeline').firstChild) renderTimeline(); }
    }).observe($('timeline'));
  }

  return {
    // The shown job's plan: edit it (a job's unsaved edit survives its own re-showing) and
    // draw its timeline.
    show(job, plan) {
      currentPlan = plan;
      startEditing(job);
      renderTimeline();
    },
    plan: () => currentPlan, // the plan shown, or null
    addClipAtPlayhead,
    posterFromFrame,
    resetEdit,
    renderEdit,
    seekTo,
    removeClip,
  };
}
