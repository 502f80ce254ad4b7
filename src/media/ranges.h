/*
 * ranges.h — decode a list of time ranges of one video on decoders side by side, and hand
 * their frames to one callback in list order: the frames, their order and their bytes are
 * those that tgi_media_decode gives for each range one after the other.
 *
 * Why: sparse analysis decodes a dozen stretches of a long video frame by frame, each
 * from its keyframe; a stretch's frames depend on each other (x264's P-frames), so one
 * decoder's frame threads overlap little (~1.1 cores of two), while two stretches have
 * nothing in common. What the analysis does with the frames (features, faces, the CNN's
 * and detector's order) depends on the order it sees them in, so it must see range 0's
 * frames, then range 1's, … whoever decoded them.
 *
 *   caller (tgi_ranges_take(i), i = 0, 1, …)        lanes (threads, one decoder each)
 *   waits for range i's next frame  ◄── copies ──   claim the next range no lane has,
 *   fn(frame); frees its copy ── room ──►           decode it (one thread), copy each
 *                                                   frame out; wait while the copies
 *                                                   not yet taken pass `budget` bytes,
 *                                                   unless the range is the caller's
 *
 * Lane 0 decodes with the caller's tgi_media (the caller must not use it until
 * tgi_ranges_free), the others with the same file opened again; when that cannot be
 * done (or lanes <= 1) the ranges are decoded by tgi_ranges_take itself, one after the
 * other, with no copies: the results never depend on how many lanes ran. A lane's
 * failure is reported by tgi_ranges_take of its range, with its message, as the decode
 * on the caller's thread would have.
 */
#ifndef TG_MEDIA_RANGES_H
#define TG_MEDIA_RANGES_H

#include <stddef.h>

#include "media/media.h"

typedef struct tgi_ranges tgi_ranges;

/* Starts decoding reqs[0..n) (copied; without stills, `need`, `stats` or `stage`) on up
 * to `lanes` decoders (1..8), with at most about `budget` bytes of decoded frames waiting
 * for the caller. */
int tgi_ranges_start(tg_ctx *ctx, tgi_media *m, const tgi_decode_req *reqs, size_t n, int lanes,
                     size_t budget, tgi_ranges **out);
/* Decoders actually running (1: the caller's thread decodes every range). */
int tgi_ranges_lanes(const tgi_ranges *r);
/* Range i's frames to fn, as tgi_media_decode(ctx, m, &reqs[i], fn, user, NULL) would;
 * i must be 0, then 1, … (each once). fn returning 1 stops the range there. */
int tgi_ranges_take(tg_ctx *ctx, tgi_ranges *r, size_t i, tgi_frame_fn fn, void *user);
/* Stops the lanes (a range being decoded stops at its next frame), frees *r, sets it NULL.
 * Accepts NULL. */
void tgi_ranges_free(tgi_ranges **r);

#endif
