// Runs in the head, before the body is parsed (a tiny blocking script, placed before the
// stylesheet so that it does not wait for it): the first layout is already the job's page's,
// not the empty page's thrown away (~20 ms of a phone's main thread). A page opened on a job's link
// (#job=ID) starts without the example (not even fetched) and the history, so that the result, when it
// arrives, moves nothing already on the screen (no layout shift), and with the result's
// place above the form. It also asks for the job
// at once, while app.js is still loading (app.js takes the answer: window.tgEarlyJob).
'use strict';
(function () {
  var m = /^#job=([0-9a-f]{32})$/.exec(location.hash);
  if (!m) {
    // The landing page's example still is asked for from here, as early as the parser would
    // have: its <img> is loading="lazy", so that a page opened on a job's link, which never
    // shows the example, never fetches it (the preload scanner skips lazy images).
    var l = document.createElement('link');
    l.rel = 'preload';
    l.as = 'image';
    l.href = '/static/example-still.webp';
    l.setAttribute('fetchpriority', 'high');
    document.head.appendChild(l);
    return;
  }
  // opening-job lasts until the job shows; job-link for as long as the page lives: the
  // result (or the progress) comes first, above the form, so nothing has to scroll to it.
  document.documentElement.classList.add('opening-job', 'job-link');
  var headers = { Accept: 'application/json' };
  // The saved token only where the server needs one (it marks the page <html data-token>):
  // the first localStorage access of a page is a synchronous round trip to the browser
  // process, here before the body is parsed.
  if (document.documentElement.hasAttribute('data-token')) {
    try {
      var t = localStorage.getItem('thumbgen.token');
      if (t) headers.Authorization = 'Bearer ' + t;
    } catch (e) { /* private mode: the login cookie, if any, is enough */ }
  }
  if (window.fetch) {
    window.tgEarlyJob = { id: m[1], answer: fetch('/api/jobs/' + m[1], { cache: 'no-store', headers: headers }) };
  }
}());
