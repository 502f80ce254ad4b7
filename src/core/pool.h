/*
 * pool.h — a fixed set of worker threads for parallel-for loops (one pool per user:
 * a GIF encoder, an NN session, the face model, a render's two format lanes), started
 * once and reused for every loop, so no thread is created per frame, per forward pass
 * or per batch of faces. The CNN stage (analyze/cnn.c) is not a loop but a consumer
 * that runs beside the decoder for the whole analysis, and keeps its own thread.
 *
 * A pool of n lanes is the caller's thread (lane 0) and n - 1 workers. tgi_pool_run()
 * calls fn(user, lane, part) for every part 0..nparts-1 and returns when all are
 * done; parts are taken from an atomic counter (a fast lane takes more), and lane
 * tells the part which per-lane state (scratch memory, caches) it may use. Which lane
 * runs which part varies from run to run: parts must not depend on it for their
 * results. Workers block every signal (the caller's threads handle them) and must not
 * call tgi_fail: errors are stored per part and reported by the caller.
 *
 *   caller (lane 0)                         worker k (lane k)
 *   set fn, nparts; gen++ ─ broadcast ─►    wakes (gen changed)
 *   take parts until none left              take parts until none left
 *   wait until busy == 0  ◄──── signal ──── busy-- (the last one signals)
 */
#ifndef TG_CORE_POOL_H
#define TG_CORE_POOL_H

typedef struct tgi_pool tgi_pool;

typedef void (*tgi_pool_fn)(void *user, int lane, int part);

/* A pool of up to `lanes` lanes (1..64; 0 = one per CPU). When a thread cannot be had
 * the pool has fewer lanes (tgi_pool_lanes): results must not depend on it. NULL only
 * when out of memory. */
tgi_pool *tgi_pool_new(int lanes);
/* Lanes actually running: 1 + the workers started. */
int tgi_pool_lanes(const tgi_pool *p);
/* fn(user, lane, part) for part in 0..nparts-1 on the first `lanes` lanes (0 = all,
 * 1 = the caller's alone); returns when every part is done. Not reentrant: one run at
 * a time per pool. */
void tgi_pool_run(tgi_pool *p, int nparts, int lanes, tgi_pool_fn fn, void *user);
/* Stops and joins the workers, frees *p and sets it NULL. Accepts NULL. */
void tgi_pool_free(tgi_pool **p);

#endif
