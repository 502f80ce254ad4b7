/*
 * backend.h — what a job-store backend implements (internal to src/store).
 *
 * store.c checks the arguments that every backend would check, then calls the
 * backend through its table of operations. A backend's handle starts with a
 * struct tgi_store (its ops and the lease settings), so store.c can reach both.
 * Claims take `kind`: -1 any queued job, 1 only those that still need their video
 * downloaded, 0 only those that have it. The fenced writes take attempt (0: any).
 * Helpers shared by the backends (ids, clocks, checks) are declared here too.
 */
#ifndef TG_STORE_BACKEND_H
#define TG_STORE_BACKEND_H

#include "store/store.h"

typedef struct tgi_store_ops {
    const char *name;
    int shared;
    void (*close)(tgi_store *s);
    int (*create)(tg_ctx *ctx, tgi_store *s, tgi_job *job, int join);
    int (*get)(tg_ctx *ctx, tgi_store *s, const char *id, tgi_job *out);
    int (*list)(tg_ctx *ctx, tgi_store *s, size_t offset, size_t limit, tgi_job **jobs, size_t *n,
                size_t *total);
    int (*claim)(tg_ctx *ctx, tgi_store *s, int kind, tgi_job *out);
    int (*set_stage)(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, int requeue,
                     const char *stage, double percent);
    int (*set_source)(tg_ctx *ctx, tgi_store *s, const char *id, int attempt,
                      const char *content_id, const char *video_path);
    int (*finish)(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, int state,
                  const char *result_json, const char *err_code, const char *err_message);
    int (*cancel)(tg_ctx *ctx, tgi_store *s, const char *id);
    int (*find_done)(tg_ctx *ctx, tgi_store *s, const char *content_id, const char *options_json,
                     tgi_job *out);
    int (*recover)(tg_ctx *ctx, tgi_store *s, size_t *n);
    int (*counts)(tg_ctx *ctx, tgi_store *s, size_t *queued, size_t *running);
    int (*heartbeat)(tg_ctx *ctx, tgi_store *s, const char *id, int attempt);
    int (*handback)(tg_ctx *ctx, tgi_store *s, const char *id, int attempt);
    int (*reap)(tg_ctx *ctx, tgi_store *s, size_t *requeued, size_t *failed);
    int (*subscribe)(tg_ctx *ctx, tgi_store *s, int what, tgi_store_change_fn cb, void *user);
    /* out zeroed; 0 deleted, 1 not ended (left as it is), TG_ENOENT */
    int (*delete_ended)(tg_ctx *ctx, tgi_store *s, const char *id, tgi_job *out);
    /* counts zeroed; a NULL video_path, or content_id/options_json, counts 0 */
    int (*users)(tg_ctx *ctx, tgi_store *s, const char *video_path, const char *content_id,
                 const char *options_json, size_t *video_users, size_t *output_users);
} tgi_store_ops;

struct tgi_store {
    const tgi_store_ops *ops;
    char worker[64];
    int lease_ms, max_attempts, backoff_ms;
};

/* Fill base with ops and the default lease settings. */
void tgi_store_base_init(tgi_store *base, const tgi_store_ops *ops);

/* Backends: open from the spec with its prefix removed. */
int tgi_store_sqlite_open(tg_ctx *ctx, const char *path, tgi_store **out);
int tgi_store_pg_open(tg_ctx *ctx, const char *conninfo, tgi_store **out);

/* 32 lowercase hex digits from the kernel's random source. */
int tgi_store_random_id(tg_ctx *ctx, char out[33]);
int64_t tgi_store_now_ms(void);

/* The failure message of a job that lost max_attempts leases. */
#define TG_STORE_LOST_MESSAGE "the job was stopped every time it ran (its worker stopped answering)"

#endif
