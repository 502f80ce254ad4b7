// Runs before the first paint (a tiny blocking script): a page opened on a job's link
// (#job=ID) starts without the example and the history, so that the result, when it
// arrives, moves nothing already on the screen (no layout shift).
'use strict';
if (/^#job=[0-9a-f]{32}$/.test(location.hash)) document.documentElement.classList.add('opening-job');
