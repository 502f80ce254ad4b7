/*
 * routes.c — the API of docs/api.md, one function per route. Handlers read and
 * write the store and answer JSON; the work itself happens in the worker pools.
 * Nothing from a request reaches a path, a shell or SQL text: ids are checked to
 * be 32 hex characters, file names by tgi_reply_file, SQL is bound by the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "fetch/addr.h"
#include "fetch/url.h"
#include "serve/http.h"

static int valid_id(const char *s, size_t len)
{
    if (len != 32)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static json_t *iso_time(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* A JSON string of text that may hold invalid UTF-8 (an old row, a name from a
 * client): json_string() refuses that, which would lose the field. */
static json_t *jstr(const char *text)
{
    json_t *j = json_string(text ? text : "");
    if (j)
        return j;
    char *copy = strdup(text);
    if (copy)
        tgi_utf8_sanitize(copy);
    j = json_string(copy ? copy : "");
    free(copy);
    return j;
}

static json_t *parse_or_null(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_null();
}

int tgi_job_is_edit(const tgi_job *j)
{
    return j->source_kind && !strcmp(j->source_kind, "edit");
}

static json_t *job_json(const tgi_job *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "state", json_string(tgi_job_state_name(j->state)));
    json_object_set_new(o, "stage", json_string(j->stage));
    json_object_set_new(o, "percent", json_real(j->percent));
    json_t *src = json_object();
    json_object_set_new(src, "kind", jstr(j->source_kind));
    int is_url = j->source_kind && !strcmp(j->source_kind, "url");
    if (tgi_job_is_edit(j) && j->source && strlen(j->source) > 33) {
        /* "PARENT-ID TITLE": the job it was edited from, and that job's title */
        json_object_set_new(src, "of", json_stringn(j->source, 32));
        json_object_set_new(src, "name", jstr(j->source + 33));
    } else {
        json_object_set_new(src, is_url ? "url" : "name", jstr(j->source));
    }
    json_object_set_new(o, "source", src);
    json_object_set_new(o, "options", parse_or_null(j->options_json));
    if (j->err_code)
        json_object_set_new(
            o, "error",
            json_pack("{s:o,s:o}", "code", jstr(j->err_code), "message", jstr(j->err_message)));
    else
        json_object_set_new(o, "error", json_null());
    json_object_set_new(o, "created", iso_time(j->created));
    json_object_set_new(o, "updated", iso_time(j->updated));
    json_object_set_new(o, "result",
                        j->state == TG_JOB_DONE ? parse_or_null(j->result_json) : json_null());
    return o;
}

static enum MHD_Result reply_ctx_error(struct MHD_Connection *c, tg_ctx *ctx, int rc)
{
    return tgi_reply_error(c, rc, tg_ctx_message(ctx));
}

/* ---- POST /api/jobs ---- */

static int queue_full(tgi_server *sv)
{
    size_t queued = 0, running = 0;
    if (tgi_store_counts(NULL, sv->store, &queued, &running) < 0)
        return 0;
    return queued >= (size_t)sv->opt.max_queue;
}

/* A done job for this content and options → 200 cached; the same content (or the
 * same link) with the same options already queued or running → 202 with that job
 * (joined); else create one → 202. */
static enum MHD_Result submit_job(tg_ctx *ctx, tgi_server *sv, struct MHD_Connection *c,
                                  tgi_job *job)
{
    tgi_job done = {0};
    if (job->content_id &&
        tgi_store_find_done(ctx, sv->store, job->content_id, job->options_json, &done) == 0) {
        json_t *o = job_json(&done);
        json_object_set_new(o, "cached", json_true());
        tgi_job_clear(&done);
        return tgi_reply_json(c, MHD_HTTP_OK, o);
    }
    if (queue_full(sv))
        return tgi_reply_error(c, TG_EBUSY, "too many jobs are waiting; try again in a minute");
    int rc = tgi_store_create_or_join(ctx, sv->store, job);
    if (rc < 0)
        return reply_ctx_error(c, ctx, rc);
    if (rc == 0)
        tgi_server_notify(sv);
    json_t *o = job_json(job);
    json_object_set_new(o, "cached", json_false());
    json_object_set_new(o, "joined", json_boolean(rc == 1));
    return tgi_reply_json(c, MHD_HTTP_ACCEPTED, o);
}

/* The parser's complaint about a request body, as one sentence without its jargon. */
static enum MHD_Result reply_bad_json(struct MHD_Connection *c, const json_error_t *e)
{
    char msg[300];
    const char *what = e->text;
    if (strstr(what, "too big integer") || strstr(what, "real number overflow"))
        what = "a number is too large";
    else if (strstr(what, "NUL byte") || strstr(what, "\\u0000"))
        what = "text must not contain \\u0000";
    else if (strstr(what, "unable to decode byte") || strstr(what, "UTF-8"))
        what = "the text is not UTF-8";
    snprintf(msg, sizeof(msg), "the request is not valid JSON: %.*s (line %d, column %d)",
             (int)tgi_utf8_prefix(what, 160), what, e->line, e->column);
    return tgi_reply_error(c, TG_EINVAL, msg);
}

static enum MHD_Result submit_url(tgi_req *r, struct MHD_Connection *c, tg_ctx *ctx)
{
    json_error_t e;
    json_t *body = json_loads(r->body ? r->body : "", 0, &e);
    enum MHD_Result res;
    tgi_job job = {0};
    char cid[32];
    if (!body && r->body && *r->body)
        return reply_bad_json(c, &e);
    if (!json_is_object(body)) {
        json_decref(body);
        return tgi_reply_error(c, TG_EINVAL, "the request must be a JSON object {\"url\": …}");
    }
    json_t *url = json_object_get(body, "url"), *opts = json_object_get(body, "options");
    if (json_is_null(opts))
        opts = NULL;
    if (opts && !json_is_object(opts)) {
        json_decref(body);
        return tgi_reply_error(c, TG_EINVAL,
                               "\"options\" must be a JSON object, e.g. {\"clips\": 2}");
    }
    tg_options o;
    tg_options_default(&o);
    char *otext = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
    int rc = 0;
    if (!json_is_string(url) || !*json_string_value(url)) {
        res = tgi_reply_error(c, TG_EINVAL, "\"url\" is missing: paste a link to a video");
        goto done;
    }
    if (otext && (rc = tg_options_from_json_text(ctx, otext, &o)) < 0) {
        res = reply_ctx_error(c, ctx, rc);
        goto done;
    }
    tgi_url u;
    if (tgi_url_parse(ctx, json_string_value(url), &u) < 0) {
        res = tgi_reply_error(c, TG_EREFUSED, tg_ctx_message(ctx));
        goto done;
    }
    if (u.kind == TG_URL_DIRECT &&
        (rc = tgi_host_check(ctx, u.host, r->sv->opt.allow_private_urls)) < 0) {
        res = tgi_reply_error(c, TG_EREFUSED, tg_ctx_message(ctx));
        goto done;
    }
    job.source_kind = strdup("url");
    job.source = strdup(u.kind == TG_URL_YOUTUBE ? u.canonical : json_string_value(url));
    job.options_json = tg_options_to_json(&o);
    if (u.kind == TG_URL_YOUTUBE) {
        snprintf(cid, sizeof(cid), "yt-%s", u.youtube_id);
        job.content_id = strdup(cid);
    }
    if (!job.source_kind || !job.source || !job.options_json) {
        res = tgi_reply_error(c, TG_ENOMEM, NULL);
        goto done;
    }
    res = submit_job(ctx, r->sv, c, &job);
done:
    tgi_job_clear(&job);
    free(otext);
    json_decref(body);
    return res;
}

static const char *ext_for(const char *container)
{
    if (!container)
        return ".video";
    if (!strcmp(container, "mp4"))
        return ".mp4";
    if (!strcmp(container, "mkv"))
        return ".mkv";
    if (!strcmp(container, "avi"))
        return ".avi";
    if (!strcmp(container, "mpegts"))
        return ".ts";
    return ".video";
}

static enum MHD_Result submit_upload(tgi_req *r, struct MHD_Connection *c, tg_ctx *ctx)
{
    tgi_server *sv = r->sv;
    tgi_job job = {0};
    enum MHD_Result res;
    char name[128], hex[65], *final = NULL;
    if (!r->tmp_path || r->fd < 0 || r->bytes == 0)
        return tgi_reply_error(c, TG_EINVAL, "no video file was uploaded (form field \"video\")");
    tg_options o;
    tg_options_default(&o);
    const char *key;
    json_t *v;
    json_object_foreach(r->fields, key, v)
    {
        int rc = tg_options_set(ctx, &o, key, json_string_value(v));
        if (rc < 0)
            return reply_ctx_error(c, ctx, rc);
    }
    close(r->fd);
    r->fd = -1;
    uint8_t d[32];
    av_sha_final(r->sha, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    snprintf(name, sizeof(name), "sha256-%.32s%s", hex, ext_for(r->container));
    /* answer from the cache, or refuse when the queue is full, before keeping the file */
    char cid0[48];
    snprintf(cid0, sizeof(cid0), "sha256-%.32s", hex);
    char *oj = tg_options_to_json(&o);
    tgi_job done = {0};
    int cached = oj && tgi_store_find_done(ctx, sv->store, cid0, oj, &done) == 0;
    free(oj);
    if (cached || queue_full(sv)) {
        unlink(r->tmp_path);
        if (!cached)
            return tgi_reply_error(c, TG_EBUSY, "too many jobs are waiting; try again in a minute");
        json_t *jo = job_json(&done);
        json_object_set_new(jo, "cached", json_true());
        tgi_job_clear(&done);
        return tgi_reply_json(c, MHD_HTTP_OK, jo);
    }
    size_t n = strlen(sv->videos_dir) + strlen(name) + 2;
    final = malloc(n);
    if (!final)
        return tgi_reply_error(c, TG_ENOMEM, NULL);
    snprintf(final, n, "%s/%s", sv->videos_dir, name);
    if (access(final, F_OK) == 0) {
        unlink(r->tmp_path); /* the same content is already here */
    } else if (rename(r->tmp_path, final) != 0) {
        free(final);
        return tgi_reply_error(c, TG_EIO, "the server could not store the upload");
    }
    free(final);
    free(r->tmp_path);
    r->tmp_path = NULL;
    char cid[48], rel[160];
    snprintf(cid, sizeof(cid), "sha256-%.32s", hex);
    snprintf(rel, sizeof(rel), "videos/%s", name);
    job.source_kind = strdup("upload");
    job.source = strdup(r->upload_name ? r->upload_name : "upload");
    job.options_json = tg_options_to_json(&o);
    job.content_id = strdup(cid);
    job.video_path = strdup(rel);
    if (!job.source_kind || !job.source || !job.options_json || !job.content_id || !job.video_path)
        res = tgi_reply_error(c, TG_ENOMEM, NULL);
    else
        res = submit_job(ctx, sv, c, &job);
    tgi_job_clear(&job);
    return res;
}

enum MHD_Result tgi_route_submit(tgi_req *r, struct MHD_Connection *c)
{
    if (r->err)
        return tgi_reply_error(c, r->err, r->err_msg);
    tg_ctx *ctx = tg_ctx_new();
    if (!ctx)
        return tgi_reply_error(c, TG_ENOMEM, NULL);
    enum MHD_Result res = r->is_upload ? submit_upload(r, c, ctx) : submit_url(r, c, ctx);
    tg_ctx_free(&ctx);
    return res;
}

/* ---- Server-Sent Events ---- */

typedef struct sse {
    tgi_server *sv;
    char id[33];
    uint64_t seen;
    char last[96];
    char *pending;
    size_t plen, poff;
    int ended;
} sse;

static void sse_set(sse *s, const char *event, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(data);
    free(s->pending);
    s->pending = NULL;
    s->plen = s->poff = 0;
    if (!d)
        return;
    size_t n = strlen(event) + strlen(d) + 32;
    s->pending = malloc(n);
    if (s->pending)
        s->plen = (size_t)snprintf(s->pending, n, "event: %s\ndata: %s\n\n", event, d);
    free(d);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *s = cls;
    for (;;) {
        if (s->pending && s->poff < s->plen) {
            size_t n = s->plen - s->poff < max ? s->plen - s->poff : max;
            memcpy(buf, s->pending + s->poff, n);
            s->poff += n;
            return (ssize_t)n;
        }
        if (s->ended || atomic_load(&s->sv->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        tgi_job j = {0};
        if (tgi_store_get(NULL, s->sv->store, s->id, &j) < 0) {
            tgi_job_clear(&j);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        char snap[96];
        snprintf(snap, sizeof(snap), "%d|%s|%d", j.state, j.stage, (int)j.percent);
        if (j.state == TG_JOB_DONE) {
            sse_set(s, "done", job_json(&j));
            s->ended = 1;
        } else if (j.state == TG_JOB_FAILED || j.state == TG_JOB_CANCELLED) {
            sse_set(s, "error",
                    json_pack("{s:o,s:o}", "code",
                              jstr(j.state == TG_JOB_CANCELLED ? "ECANCEL"
                                   : j.err_code                ? j.err_code
                                                               : "EINTERNAL"),
                              "message",
                              jstr(j.state == TG_JOB_CANCELLED ? "the job was cancelled"
                                   : j.err_message             ? j.err_message
                                                               : "the job failed")));
            s->ended = 1;
        } else if (strcmp(snap, s->last) != 0) {
            snprintf(s->last, sizeof(s->last), "%s", snap);
            sse_set(s, "progress",
                    json_pack("{s:s,s:s,s:f}", "state", tgi_job_state_name(j.state), "stage",
                              j.stage, "percent", j.percent));
        } else {
            uint64_t v = tgi_server_wait(s->sv, s->seen, 15000);
            if (v == s->seen) {
                free(s->pending);
                s->pending = strdup(": keep-alive\n\n");
                s->plen = s->pending ? strlen(s->pending) : 0;
                s->poff = 0;
            }
            s->seen = v;
        }
        tgi_job_clear(&j);
    }
}

static void sse_free(void *cls)
{
    sse *s = cls;
    free(s->pending);
    free(s);
}

static enum MHD_Result events(tgi_server *sv, struct MHD_Connection *c, const char *id)
{
    tgi_job j = {0};
    if (tgi_store_get(NULL, sv->store, id, &j) < 0)
        return tgi_reply_error(c, TG_ENOENT, "no such job");
    tgi_job_clear(&j);
    sse *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    s->sv = sv;
    snprintf(s->id, sizeof(s->id), "%s", id);
    pthread_mutex_lock(&sv->mu);
    s->seen = sv->version;
    pthread_mutex_unlock(&sv->mu);
    struct MHD_Response *rs =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, s, sse_free);
    if (!rs) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(rs, "Content-Type", "text/event-stream");
    MHD_add_response_header(rs, "Cache-Control", "no-store");
    MHD_add_response_header(rs, "X-Accel-Buffering", "no");
    return tgi_queue(c, MHD_HTTP_OK, rs);
}

/* ---- GET /api/options ---- */

static enum MHD_Result options_table(struct MHD_Connection *c)
{
    char *t = tg_options_table_json();
    json_t *arr = t ? json_loads(t, 0, NULL) : NULL;
    free(t);
    if (!arr)
        return tgi_reply_error(c, TG_ENOMEM, NULL);
    return tgi_reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "options", arr));
}

/* The request body as a JSON object ({} when there is none); NULL once answered. */
static json_t *body_object(tgi_req *r, struct MHD_Connection *c, const char *shape,
                           enum MHD_Result *res)
{
    if (r->err) {
        *res = tgi_reply_error(c, r->err, r->err_msg);
        return NULL;
    }
    if (!r->body || !*r->body)
        return json_object();
    json_error_t e;
    json_t *body = json_loads(r->body, 0, &e);
    if (!body) {
        *res = reply_bad_json(c, &e);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        char msg[160];
        snprintf(msg, sizeof(msg), "the request must be a JSON object %s", shape);
        *res = tgi_reply_error(c, TG_EINVAL, msg);
        return NULL;
    }
    return body;
}

/* A job's title as people know it: the link, the file name, or the edited job's. */
static const char *job_title(const tgi_job *j)
{
    if (tgi_job_is_edit(j))
        return j->source && strlen(j->source) > 33 ? j->source + 33 : "";
    return j->source ? j->source : "";
}

/* ---- POST /api/jobs/{id}/retry: a failed or cancelled job again, as a new job ---- */

static enum MHD_Result retry_job(tgi_req *r, struct MHD_Connection *c, const char *jid)
{
    enum MHD_Result res = MHD_NO;
    json_t *body = body_object(r, c, "{\"options\": {…}} (or an empty body)", &res);
    if (!body)
        return res;
    tg_ctx *ctx = tg_ctx_new();
    tgi_job old = {0}, job = {0};
    char *otext = NULL;
    int rc = tgi_store_get(ctx, r->sv->store, jid, &old);
    if (rc < 0) {
        res = tgi_reply_error(c, rc, rc == TG_ENOENT ? "no such job" : tg_ctx_message(ctx));
        goto done;
    }
    if (old.state != TG_JOB_FAILED && old.state != TG_JOB_CANCELLED) {
        res = tgi_reply_error(c, TG_ECONFLICT, "only a failed or cancelled job can be tried again");
        goto done;
    }
    tg_options o;
    tg_options_default(&o);
    json_t *opts = json_object_get(body, "options");
    if (opts && !json_is_object(opts) && !json_is_null(opts)) {
        res =
            tgi_reply_error(c, TG_EINVAL, "\"options\" must be a JSON object, e.g. {\"clips\": 2}");
        goto done;
    }
    if ((rc = tg_options_from_json_text(ctx, old.options_json, &o)) < 0 ||
        (json_is_object(opts) && (otext = json_dumps(opts, JSON_COMPACT)) &&
         (rc = tg_options_from_json_text(ctx, otext, &o)) < 0)) {
        res = reply_ctx_error(c, ctx, rc);
        goto done;
    }
    job.source_kind = strdup(old.source_kind);
    job.source = strdup(old.source);
    job.options_json = tg_options_to_json(&o);
    job.content_id = old.content_id ? strdup(old.content_id) : NULL;
    job.video_path = old.video_path ? strdup(old.video_path) : NULL;
    if (!job.source_kind || !job.source || !job.options_json ||
        (old.content_id && !job.content_id) || (old.video_path && !job.video_path)) {
        res = tgi_reply_error(c, TG_ENOMEM, NULL);
        goto done;
    }
    res = submit_job(ctx, r->sv, c, &job);
done:
    free(otext);
    tgi_job_clear(&old);
    tgi_job_clear(&job);
    tg_ctx_free(&ctx);
    json_decref(body);
    return res;
}

/* ---- POST /api/jobs/{id}/render: the job's video again, from an edited plan ---- */

/* The longest an edited thumbnail may run, in seconds of clips: the option table's
 * clips × clip-len at their maxima. */
#define EDIT_MAX_SECONDS 200.0

const char *tgi_edit_base_len(const char *content_id, size_t *len)
{
    const char *e = strstr(content_id, ".edit-");
    *len = e ? (size_t)(e - content_id) : strlen(content_id);
    return content_id;
}

/* The parent's plan with the client's segments, keyframes and poster: everything the
 * analysis measured (source, crop, shots) stays the server's. */
static int edited_plan(tg_ctx *ctx, const json_t *parent_plan, const json_t *edit, tg_plan **out,
                       char **canon)
{
    *out = NULL;
    *canon = NULL;
    if (!json_is_object(edit))
        return tgi_fail(
            ctx, TG_EPLAN,
            "invalid plan: \"plan\" must be a JSON object with the clips as \"segments\"");
    json_t *merged = json_deep_copy(parent_plan);
    if (!merged)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    static const char *const keys[3] = {"segments", "keyframes", "poster"};
    for (int k = 0; k < 3; k++) {
        json_t *v = json_object_get(edit, keys[k]);
        if (v)
            json_object_set(merged, keys[k], v);
    }
    char *text = json_dumps(merged, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(merged);
    if (!text)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    int rc = tg_plan_from_json(ctx, text, out);
    free(text);
    if (rc < 0)
        return rc;
    double total = 0;
    for (size_t i = 0; i < (*out)->n_segments; i++)
        total += (*out)->segments[i].end - (*out)->segments[i].start;
    if ((*out)->n_segments == 0)
        rc = tgi_fail(ctx, TG_EPLAN, "invalid plan: an edited thumbnail needs at least one clip");
    else if (total > EDIT_MAX_SECONDS)
        rc = tgi_fail(ctx, TG_EPLAN,
                      "invalid plan: the clips last %.0f s together; the limit is %.0f s", total,
                      EDIT_MAX_SECONDS);
    if (rc == 0)
        rc = tg_plan_to_json(ctx, *out, canon);
    if (rc < 0)
        tg_plan_free(out);
    return rc;
}

static int write_text(tg_ctx *ctx, const char *path, const char *text)
{
    tgi_atomic a = {0};
    int rc = tgi_atomic_open(ctx, path, &a);
    if (rc == 0 && (rc = tgi_write_all(ctx, a.fd, text, strlen(text))) < 0)
        tgi_atomic_abort(&a);
    else if (rc == 0)
        rc = tgi_atomic_commit(ctx, &a);
    return rc;
}

static enum MHD_Result render_job(tgi_req *r, struct MHD_Connection *c, const char *jid)
{
    tgi_server *sv = r->sv;
    enum MHD_Result res = MHD_NO;
    json_t *body = body_object(r, c, "{\"plan\": {\"segments\": […]}}", &res);
    if (!body)
        return res;
    tg_ctx *ctx = tg_ctx_new();
    tgi_job old = {0}, job = {0};
    tg_plan *plan = NULL;
    char *canon = NULL, *path = NULL;
    json_t *result = NULL;
    int rc = tgi_store_get(ctx, sv->store, jid, &old);
    if (rc < 0) {
        res = tgi_reply_error(c, rc, rc == TG_ENOENT ? "no such job" : tg_ctx_message(ctx));
        goto done;
    }
    result = old.result_json ? json_loads(old.result_json, 0, NULL) : NULL;
    json_t *pplan = json_object_get(result, "plan");
    if (old.state != TG_JOB_DONE || !old.video_path || !old.content_id || !json_is_object(pplan)) {
        res = tgi_reply_error(c, TG_ECONFLICT, "only a finished job can be edited and made again");
        goto done;
    }
    json_t *edit = json_object_get(body, "plan");
    if (!edit) {
        res = tgi_reply_error(c, TG_EINVAL,
                              "the request has no \"plan\": send {\"plan\": {\"segments\": […]}}");
        goto done;
    }
    if ((rc = edited_plan(ctx, pplan, edit, &plan, &canon)) < 0) {
        res = reply_ctx_error(c, ctx, rc);
        goto done;
    }
    /* named by the base video and the plan: the same edit is the same job (the cache) */
    struct AVSHA *sha = av_sha_alloc();
    char hex[13] = "", cid[160];
    if (!sha) {
        res = tgi_reply_error(c, TG_ENOMEM, NULL);
        goto done;
    }
    uint8_t d[32];
    av_sha_init(sha, 256);
    av_sha_update(sha, (const uint8_t *)canon, (unsigned)strlen(canon));
    av_sha_final(sha, d);
    av_free(sha);
    for (int i = 0; i < 6; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    size_t blen;
    const char *base = tgi_edit_base_len(old.content_id, &blen);
    snprintf(cid, sizeof(cid), "%.*s.edit-%s", (int)(blen < 120 ? blen : 120), base, hex);
    size_t pn = strlen(sv->thumbs_dir) + strlen(cid) + 16;
    path = malloc(pn);
    if (!path) {
        res = tgi_reply_error(c, TG_ENOMEM, NULL);
        goto done;
    }
    snprintf(path, pn, "%s/%s.plan.json", sv->thumbs_dir, cid);
    if ((rc = write_text(ctx, path, canon)) < 0) {
        res = tgi_reply_error(c, TG_EIO, "the server could not store the edited plan");
        goto done;
    }
    const char *title = job_title(&old);
    size_t sn = 34 + strlen(title);
    job.source_kind = strdup("edit");
    job.source = malloc(sn);
    if (job.source)
        snprintf(job.source, sn, "%s %s", old.id, title);
    job.options_json = strdup(old.options_json);
    job.content_id = strdup(cid);
    job.video_path = strdup(old.video_path);
    if (!job.source_kind || !job.source || !job.options_json || !job.content_id || !job.video_path)
        res = tgi_reply_error(c, TG_ENOMEM, NULL);
    else
        res = submit_job(ctx, sv, c, &job);
done:
    json_decref(result);
    tg_plan_free(&plan);
    free(canon);
    free(path);
    tgi_job_clear(&old);
    tgi_job_clear(&job);
    tg_ctx_free(&ctx);
    json_decref(body);
    return res;
}

/* ---- DELETE of an ended job: the job and the files no other job uses ---- */

/* NAME of "/media/thumbnails/NAME", or NULL. */
static const char *thumb_name(const json_t *url)
{
    static const char prefix[] = "/media/thumbnails/";
    const char *u = json_string_value(url);
    if (!u || strncmp(u, prefix, sizeof(prefix) - 1))
        return NULL;
    u += sizeof(prefix) - 1;
    return *u && *u != '.' && !strchr(u, '/') ? u : NULL;
}

static void unlink_in(const char *dir, const char *name)
{
    char p[4096];
    if (name && *name && !strchr(name, '/') && name[0] != '.' &&
        snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p))
        unlink(p);
}

static void remove_files(tgi_server *sv, const tgi_job *j)
{
    size_t video_users = 0, output_users = 0;
    if (tgi_store_users(NULL, sv->store, j->video_path, j->content_id, j->options_json,
                        &video_users, &output_users) < 0)
        return; /* unsure: keep the files */
    char name[256];
    if (output_users == 0 && j->result_json) {
        json_t *res = json_loads(j->result_json, 0, NULL);
        static const char *const keys[4] = {"gif", "webp", "mp4", "poster"};
        for (int k = 0; k < 4; k++)
            unlink_in(sv->thumbs_dir, thumb_name(json_object_get(res, keys[k])));
        json_decref(res);
    }
    if (output_users == 0 && tgi_job_is_edit(j) && j->content_id) {
        snprintf(name, sizeof(name), "%s.plan.json", j->content_id);
        unlink_in(sv->thumbs_dir, name);
    }
    if (video_users == 0 && j->video_path && !strncmp(j->video_path, "videos/", 7) &&
        !strstr(j->video_path, "..")) {
        unlink_in(sv->videos_dir, j->video_path + 7);
        if (j->content_id) {
            size_t blen;
            const char *base = tgi_edit_base_len(j->content_id, &blen);
            snprintf(name, sizeof(name), "%.*s.play.mp4", (int)(blen < 200 ? blen : 200), base);
            unlink_in(sv->thumbs_dir, name);
            snprintf(name, sizeof(name), "%.*s.rendition.json", (int)(blen < 200 ? blen : 200),
                     base);
            unlink_in(sv->thumbs_dir, name);
        }
    }
}

static enum MHD_Result delete_job(tgi_server *sv, struct MHD_Connection *c, tg_ctx *ctx,
                                  const char *jid)
{
    tgi_job j = {0};
    int rc = tgi_server_cancel(ctx, sv, jid);
    if (rc == TG_ENOENT || rc < 0)
        return tgi_reply_error(c, rc, rc == TG_ENOENT ? "no such job" : tg_ctx_message(ctx));
    if (rc == 0) { /* it was queued or running: now cancelled */
        enum MHD_Result res = tgi_store_get(ctx, sv->store, jid, &j) == 0
                                  ? tgi_reply_json(c, MHD_HTTP_OK, job_json(&j))
                                  : tgi_reply_error(c, TG_ENOENT, "no such job");
        tgi_job_clear(&j);
        return res;
    }
    /* it had ended: delete it, and its files when no other job uses them */
    rc = tgi_store_delete_ended(ctx, sv->store, jid, &j);
    if (rc == 1)
        return tgi_reply_error(c, TG_ECONFLICT, "the job started again; cancel it first");
    if (rc < 0)
        return tgi_reply_error(c, rc, rc == TG_ENOENT ? "no such job" : tg_ctx_message(ctx));
    remove_files(sv, &j);
    tgi_job_clear(&j);
    tgi_server_notify(sv);
    return tgi_reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:b}", "id", jid, "deleted", 1));
}

/* ---- the rest ---- */

static int parse_size(const char *s, size_t def, size_t max, size_t *out)
{
    if (!s) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 0 || (unsigned long long)v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

static enum MHD_Result list_jobs(tgi_server *sv, struct MHD_Connection *c)
{
    size_t offset, limit, n = 0, total = 0;
    if (parse_size(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset"), 0, 1000000000,
                   &offset) < 0 ||
        parse_size(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), 20, 100,
                   &limit) < 0)
        return tgi_reply_error(c, TG_EINVAL, "offset must be ≥ 0 and limit 0..100");
    tgi_job *jobs = NULL;
    tg_ctx *ctx = tg_ctx_new();
    int rc = tgi_store_list(ctx, sv->store, offset, limit, &jobs, &n, &total);
    if (rc < 0) {
        enum MHD_Result res = reply_ctx_error(c, ctx, rc);
        tg_ctx_free(&ctx);
        return res;
    }
    tg_ctx_free(&ctx);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, job_json(&jobs[i]));
        tgi_job_clear(&jobs[i]);
    }
    free(jobs);
    return tgi_reply_json(c, MHD_HTTP_OK,
                          json_pack("{s:o,s:I,s:I,s:I}", "jobs", arr, "total", (json_int_t)total,
                                    "offset", (json_int_t)offset, "limit", (json_int_t)limit));
}

enum MHD_Result tgi_route(tgi_req *r, struct MHD_Connection *c, const char *url, const char *method)
{
    tgi_server *sv = r->sv;
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (get && !strcmp(url, "/"))
        return tgi_reply_page(c, sv->opt.web_dir, sv->token[0] != '\0');
    if (get && !strncmp(url, "/static/", 8))
        return tgi_reply_static(c, sv->opt.web_dir, url + 8);
    if (get && !strncmp(url, "/media/videos/", 14))
        return tgi_reply_file(c, sv->videos_dir, url + 14);
    if (get && !strncmp(url, "/media/thumbnails/", 18))
        return tgi_reply_file(c, sv->thumbs_dir, url + 18);
    if (get && !strcmp(url, "/healthz")) {
        size_t q = 0, run = 0;
        tgi_store_counts(NULL, sv->store, &q, &run);
        tgi_ytdlp_info yt;
        char js[600], rt[64] = "";
        int probed = tgi_server_ytdlp(sv, 0, &yt, js, sizeof(js));
        if (yt.js_name[0])
            snprintf(rt, sizeof(rt), "%s %s", yt.js_name, yt.js_version);
        /* the first probe runs once the server listens: until it ends, "checking" */
        json_t *ytj =
            probed ? json_pack("{s:s?,s:s?,s:b,s:s?}", "version", yt.version[0] ? yt.version : NULL,
                               "js_runtime", rt[0] ? rt : NULL, "youtube_ok", yt.youtube_ok,
                               "notice", yt.notice[0] ? yt.notice : NULL)
                   : json_pack("{s:b}", "checking", 1);
        return tgi_reply_json(c, MHD_HTTP_OK,
                              json_pack("{s:b,s:i,s:I,s:I,s:o}", "ok", 1, "workers",
                                        sv->opt.workers, "queued", (json_int_t)q, "running",
                                        (json_int_t)run, "ytdlp", ytj));
    }
    if (get && !strcmp(url, "/api/options"))
        return options_table(c);
    if (!strcmp(url, "/api/jobs")) {
        if (get)
            return list_jobs(sv, c);
        return tgi_reply_error(c, TG_EINVAL, "use GET or POST on /api/jobs");
    }
    if (!strncmp(url, "/api/jobs/", 10)) {
        const char *id = url + 10, *slash = strchr(id, '/');
        size_t len = slash ? (size_t)(slash - id) : strlen(id);
        if (!valid_id(id, len))
            return tgi_reply_error(c, TG_ENOENT, "no such job");
        char jid[33];
        memcpy(jid, id, 32);
        jid[32] = '\0';
        if (slash && !strcmp(slash, "/events") && get)
            return events(sv, c, jid);
        int post = !strcmp(method, "POST");
        if (slash && !strcmp(slash, "/render") && post)
            return render_job(r, c, jid);
        if (slash && !strcmp(slash, "/retry") && post)
            return retry_job(r, c, jid);
        if (slash)
            return tgi_reply_error(c, TG_ENOENT, "no such route");
        tg_ctx *ctx = tg_ctx_new();
        enum MHD_Result res;
        tgi_job j = {0};
        if (!strcmp(method, "DELETE")) {
            res = delete_job(sv, c, ctx, jid);
        } else if (get) {
            int rc = tgi_store_get(ctx, sv->store, jid, &j);
            res = rc == 0 ? tgi_reply_json(c, MHD_HTTP_OK, job_json(&j))
                          : tgi_reply_error(c, rc, rc == TG_ENOENT ? "no such job" : NULL);
        } else {
            res = tgi_reply_error(c, TG_EINVAL, "use GET or DELETE on a job");
        }
        tgi_job_clear(&j);
        tg_ctx_free(&ctx);
        return res;
    }
    return tgi_reply_error(c, TG_ENOENT, "no such page");
}
