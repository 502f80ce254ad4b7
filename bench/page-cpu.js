#!/usr/bin/env node
// The page's main-thread work in CPU time (which the machine's load does not inflate, unlike
// the wall time Lighthouse multiplies): cold loads of each URL in Debian's Chromium, at
// Lighthouse's mobile size (412×823, DPR 1.75, touch), traced for WAIT ms after the load
// event. Prints, per load: the renderer main thread's top-level tasks (count, CPU ms), each
// task over MIN ms of CPU with what it did, and "blocking at 4×": the sum over tasks of
// max(0, 4 × CPU − 50 ms) (2 × for a task that lays out, as Lighthouse's simulation counts
// them) — the total blocking time this work would give on an idle machine.
//
//   node bench/page-cpu.js URL [URL...]      (bench/page-cpu.sh starts a server and a job)
//   RUNS=3 MIN=3 WAIT=2500 node bench/page-cpu.js http://127.0.0.1:8080/#job=ID
'use strict';

const { chromium } = require('playwright-core');

const RUNS = Number(process.env.RUNS || 3);
const MIN = Number(process.env.MIN || 4);
const WAIT = Number(process.env.WAIT || 2500);

function analyse(events, origin) {
  // the page's own renderer: the main thread that parsed the page's HTML
  const parse = events.find((e) => e.name === 'ParseHTML' && e.args && e.args.beginData && String(e.args.beginData.url || '').startsWith(origin));
  const main = `${parse.pid}:${parse.tid}`;
  const evs = events.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === 'X').sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const nav = Math.min(...events.filter((e) => e.name === 'navigationStart' && `${e.pid}:${e.tid}` === main).map((e) => e.ts));
  const tasks = [];
  let end = -1;
  for (const e of evs) {
    if (e.ts >= end && e.name === 'RunTask') { tasks.push({ e, kids: [] }); end = e.ts + (e.dur || 0); }
    else if (tasks.length && e.ts < end && e !== tasks[tasks.length - 1].e) tasks[tasks.length - 1].kids.push(e);
  }
  let cpu = 0; let blocking = 0; let max = 0;
  const big = [];
  for (const t of tasks) {
    const c = (t.e.tdur || 0) / 1000;
    cpu += c;
    max = Math.max(max, c);
    const layout = t.kids.some((k) => k.name === 'Layout');
    blocking += Math.max(0, (layout ? 2 : 4) * c - 50);
    if (c >= MIN) {
      const by = new Map();
      for (const k of t.kids) {
        if ((k.tdur || 0) < 500) continue;
        const d = (k.args && k.args.data) || {};
        const what = k.name === 'EvaluateScript' || k.name === 'FunctionCall' ? `${k.name}(${String(d.url || d.functionName || '').split('/').pop()})` : k.name;
        by.set(what, (by.get(what) || 0) + k.tdur / 1000);
      }
      const top = [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, v]) => `${n} ${v.toFixed(1)}`);
      big.push(`  ${((t.e.ts - nav) / 1000).toFixed(0).padStart(6)} ms  cpu ${c.toFixed(1).padStart(5)}  wall ${(t.e.dur / 1000).toFixed(1).padStart(5)}  ${top.join(', ')}`);
    }
  }
  return { n: tasks.length, cpu, blocking, max, big };
}

(async () => {
  const urls = process.argv.slice(2);
  if (!urls.length) { console.error('usage: node bench/page-cpu.js URL...'); process.exit(2); }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  for (const url of urls) {
    const sums = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true });
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      const events = [];
      cdp.on('Tracing.dataCollected', (m) => events.push(...m.value));
      const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
      await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'loading', 'toplevel'], enableSampling: false }, transferMode: 'ReportEvents' });
      await page.goto(url, { waitUntil: 'load' });
      await page.waitForTimeout(WAIT);
      await cdp.send('Tracing.end');
      await done;
      const a = analyse(events, new URL(url).origin);
      sums.push(a);
      console.log(`${url} run ${i + 1}: ${a.n} tasks, ${a.cpu.toFixed(1)} ms CPU, blocking at 4× ${a.blocking.toFixed(0)} ms`);
      for (const l of a.big) console.log(l);
      await ctx.close();
    }
    const med = (f) => { const v = sums.map(f).sort((x, y) => x - y); return v[Math.floor(v.length / 2)]; };
    console.log(`${url}: median of ${RUNS}: ${med((s) => s.cpu).toFixed(1)} ms CPU, largest task ${med((s) => s.max).toFixed(1)} ms, blocking at 4× ${med((s) => s.blocking).toFixed(0)} ms`);
  }
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
