/*
 * workers.c — the two thread pools that run jobs.
 *
 *   downloaders: claim queued jobs that still need their video (a URL), fetch it
 *                with yt-dlp into data/videos/ named by content id, then requeue the
 *                job for processing.
 *   processors:  claim queued jobs that have their video, analyse it, render the
 *                GIF and the poster into data/thumbnails/, and finish the job.
 *
 * Separate pools mean a slow download never holds up encodes and the reverse.
 * Every write a worker makes is fenced by its claim's attempt (store.h): once the job
 * is cancelled or its lease lost to another worker, the writes change nothing and the
 * job's context is cancelled. The keeper thread renews the leases of the running jobs
 * every heartbeat and, on a shared store, puts back other workers' expired ones.
 * Each running job has its own tg_ctx (registered in the server so DELETE can
 * cancel it). Every way out of a job ends it in the store (done, or failed with
 * its reason); when the store cannot record that (a full disk), the end is kept
 * in memory and retried about once a second, so the job never stays `running`
 * and the worker goes on with the next one. Re-submitting a video already done with the same
 * options reuses the finished result (the cache), checked as soon as the content id is known.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "core/error.h"
#include "core/fault.h"
#include "core/utf8.h"
#include "fetch/url.h"
#include "fetch/ytdlp.h"
#include "media/playable.h"
#include "serve/server.h"
#include "serve/workers.h"

typedef struct worker {
    tgi_server *sv;
    int downloader;
} worker;

typedef struct progress_state {
    tgi_server *sv;
    tg_ctx *ctx;
    const char *id;
    int attempt;
    char stage[16];
    double pct;
    struct timespec last;
} progress_state;

static double since_ms(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - a->tv_sec) * 1e3 + (now.tv_nsec - a->tv_nsec) / 1e6;
}

static void on_progress(void *user, const char *stage, double f)
{
    progress_state *p = user;
    double pct = f * 100;
    int new_stage = strcmp(stage, p->stage) != 0;
    /* a shared store hears from many workers: at most one progress write a second each
     * (each is a commit that every API process is told about) */
    double gap = p->sv->shared ? 1000 : 200;
    if (!new_stage && pct < 100 && (pct - p->pct < 1 || since_ms(&p->last) < gap))
        return;
    snprintf(p->stage, sizeof(p->stage), "%s", stage);
    p->pct = pct;
    clock_gettime(CLOCK_MONOTONIC, &p->last);
    if (tgi_store_progress_at(NULL, p->sv->store, p->id, p->attempt, stage, pct) == 1)
        tg_ctx_cancel(p->ctx); /* cancelled, or its lease went to another worker */
    tgi_server_notify(p->sv);
}

int tgi_sha256_file(tg_ctx *ctx, const char *path, char hex[65])
{
    struct AVSHA *sha = av_sha_alloc();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (!sha || fd < 0) {
        rc = tgi_fail(ctx, sha ? TG_EIO : TG_ENOMEM, "cannot read '%s'", path);
        goto done;
    }
    av_sha_init(sha, 256);
    uint8_t buf[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tgi_fail(ctx, TG_EIO, "cannot read '%s': %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        av_sha_update(sha, buf, (unsigned)n);
    }
    uint8_t d[32];
    av_sha_final(sha, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
done:
    if (fd >= 0)
        close(fd);
    av_free(sha);
    return rc;
}

/* The extension of a downloaded file, only if it is short and plain ([a-z0-9]). */
static const char *safe_ext(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash) || strlen(dot) > 6)
        return ".video";
    for (const char *p = dot + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return ".video";
    return dot;
}

/* An earlier download of the same content: videos/CONTENT_ID.* */
static char *existing_video(tgi_server *sv, const char *content_id)
{
    DIR *d = opendir(sv->videos_dir);
    char *found = NULL;
    size_t cl = strlen(content_id);
    struct dirent *e;
    while (d && !found && (e = readdir(d)))
        if (!strncmp(e->d_name, content_id, cl) && e->d_name[cl] == '.')
            found = strdup(e->d_name);
    if (d)
        closedir(d);
    return found;
}

/* Keep an end the store refused, to retry it (caller holds pending_mu). */
static void pend(tgi_server *sv, const char *id, int attempt, int state, const char *result,
                 const char *code, const char *message)
{
    for (int i = 0; i < sv->n_pending; i++)
        if (!strcmp(sv->pending[i].id, id))
            return; /* already waiting */
    if (sv->n_pending == TG_MAX_RUNNING)
        return; /* cannot happen: one end per running job; a restart resumes the job */
    struct tgi_pending_end *p = &sv->pending[sv->n_pending];
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->attempt = attempt;
    p->state = state;
    p->result = result ? strdup(result) : NULL;
    p->code = code ? strdup(code) : NULL;
    p->message = message ? strdup(message) : NULL;
    sv->n_pending++;
}

/* End a job in the store: done with its result, or failed with its reason. When the
 * store cannot write (a full disk), the end waits in memory and is retried. */
static void end_job(tgi_server *sv, const tgi_job *job, int state, const char *result,
                    const char *code, const char *message)
{
    const char *id = job->id;
    tg_ctx *c = tg_ctx_new();
    int rc = tgi_store_finish_at(c, sv->store, id, job->attempt, state, result, code, message);
    if (rc < 0) {
        pthread_mutex_lock(&sv->pending_mu);
        pend(sv, id, job->attempt, state, result, code, message);
        pthread_mutex_unlock(&sv->pending_mu);
        if (!sv->opt.quiet)
            fprintf(stderr, "thumbgen: cannot record the end of job %s yet (%s); retrying\n", id,
                    *tg_ctx_message(c) ? tg_ctx_message(c) : tg_strerror(rc));
    }
    tg_ctx_free(&c);
    tgi_server_notify(sv);
}

/* Retry the ends the store refused; those it now takes leave the list. */
static void retry_pending(tgi_server *sv)
{
    pthread_mutex_lock(&sv->pending_mu);
    int changed = 0;
    for (int i = 0; i < sv->n_pending;) {
        struct tgi_pending_end *p = &sv->pending[i];
        if (tgi_store_finish_at(NULL, sv->store, p->id, p->attempt, p->state, p->result, p->code,
                                p->message) < 0) {
            i++;
            continue;
        }
        free(p->result);
        free(p->code);
        free(p->message);
        sv->pending[i] = sv->pending[--sv->n_pending];
        changed = 1;
    }
    pthread_mutex_unlock(&sv->pending_mu);
    if (changed)
        tgi_server_notify(sv);
}

/* What a job's failure says to users: a full disk in one sentence, whichever layer
 * (file, store, yt-dlp) noticed it. */
static const char *public_message(int rc, const char *msg)
{
    if (strstr(msg, "disk is full") || strstr(msg, "No space left on device") ||
        strstr(msg, "Disk quota exceeded") || strstr(msg, "database or disk is full"))
        return "the server's disk is full";
    return *msg ? msg : tg_strerror(rc);
}

/* A done job for this content and options: finish this one with its result. */
static int reuse_cached(tgi_server *sv, const tgi_job *job, const char *content_id)
{
    tgi_job done = {0};
    if (tgi_store_find_done(NULL, sv->store, content_id, job->options_json, &done) != 0)
        return 0;
    tgi_store_set_source_at(NULL, sv->store, job->id, job->attempt, content_id, done.video_path);
    end_job(sv, job, TG_JOB_DONE, done.result_json, NULL, NULL);
    tgi_job_clear(&done);
    return 1;
}

/* thumbnails/CID.rendition.json: which rendition a download took and why, for the
 * job's result (the processing step reads it). */
static char *rendition_path(tgi_server *sv, const char *cid)
{
    size_t n = strlen(sv->thumbs_dir) + strlen(cid) + 24;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s.rendition.json", sv->thumbs_dir, cid);
    return p;
}

static void save_rendition(tgi_server *sv, const char *cid, const tgi_ytdlp_got *got, int res,
                           const char *why)
{
    char *p = rendition_path(sv, cid);
    char size[32] = "", label[96];
    if (got->width > 0 && got->height > 0)
        snprintf(size, sizeof(size), "%dx%d", got->width, got->height);
    int small = got->width > 0 && got->height > 0
                    ? (got->width < got->height ? got->width : got->height)
                    : 0;
    if (small)
        snprintf(label, sizeof(label), "%dp%s", small, got->has_audio ? "" : ", video only");
    else
        snprintf(label, sizeof(label), "format %.*s", TG_CUT(got->format_id, 60));
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:i,s:b,s:i,s:s}", "rendition", label, "size", size,
                          "format", got->format_id, "width", got->width, "height", got->height,
                          "audio", got->has_audio, "wanted_res", res, "reason", why);
    if (p && j)
        json_dump_file(j, p, JSON_COMPACT);
    json_decref(j);
    free(p);
}

static int run_download(tg_ctx *ctx, tgi_server *sv, tgi_job *job, const tg_options *o)
{
    tgi_url u;
    char cid[80] = "", *dl = NULL, *name = NULL, *rel = NULL, *final = NULL;
    char why[300], js[600];
    tgi_ytdlp_info yt;
    tgi_ytdlp_got got;
    memset(&got, 0, sizeof(got));
    int rc, res = tgi_ytdlp_needed_res(o, why, sizeof(why));
    tgi_server_ytdlp(sv, 1, &yt, js, sizeof(js));
    if ((rc = tgi_url_parse(ctx, job->source, &u)) < 0)
        return rc;
    if (u.kind == TG_URL_YOUTUBE) {
        /* one file per rendition: a later job that needs more pixels fetches more */
        snprintf(cid, sizeof(cid), "yt-%s-%dp", u.youtube_id, res);
        if (reuse_cached(sv, job, cid))
            return 1;
        if ((name = existing_video(sv, cid)))
            goto have_file;
    }
    tgi_ytdlp_opts yo = {.binary = sv->opt.ytdlp,
                         .out_dir = sv->tmp_dir,
                         .out_name = job->id,
                         .max_bytes = sv->opt.max_upload,
                         .max_seconds = sv->opt.max_video_seconds,
                         .timeout_s = sv->opt.download_timeout,
                         .allow_private = sv->opt.allow_private_urls,
                         .min_res = res,
                         .js_runtime = js[0] ? js : NULL,
                         .cookies = sv->opt.ytdlp_cookies,
                         .extra_args = sv->opt.ytdlp_args,
                         .n_extra = sv->opt.n_ytdlp_args,
                         .got = &got};
    if ((rc = tgi_ytdlp_download(ctx, &yo, u.kind == TG_URL_YOUTUBE ? u.canonical : job->source,
                                 &dl)) < 0)
        return rc;
    if (!cid[0]) {
        char hex[65];
        if ((rc = tgi_sha256_file(ctx, dl, hex)) < 0)
            goto done;
        snprintf(cid, sizeof(cid), "sha256-%.32s", hex);
        if (reuse_cached(sv, job, cid)) {
            unlink(dl);
            rc = 1;
            goto done;
        }
    }
    name = existing_video(sv, cid);
    if (name) {
        unlink(dl);
    } else {
        const char *ext = safe_ext(dl);
        size_t n = strlen(cid) + strlen(ext) + 1;
        name = malloc(n);
        final = malloc(strlen(sv->videos_dir) + n + 2);
        if (!name || !final) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto done;
        }
        snprintf(name, n, "%s%s", cid, ext);
        snprintf(final, strlen(sv->videos_dir) + n + 2, "%s/%s", sv->videos_dir, name);
        if (rename(dl, final) != 0) {
            rc = tgi_fail(ctx, TG_EIO, "cannot store the video: %s", strerror(errno));
            unlink(dl);
            goto done;
        }
    }
    save_rendition(sv, cid, &got, res, why);
have_file:
    rel = malloc(strlen(name) + 8);
    if (!rel) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(rel, strlen(name) + 8, "videos/%s", name);
    if ((rc = tgi_store_set_source_at(ctx, sv->store, job->id, job->attempt, cid, rel)) != 0)
        goto done; /* 1: no longer ours */
    rc = tgi_store_requeue_at(ctx, sv->store, job->id, job->attempt, "analyze"); /* 1: not ours */
done:
    free(dl);
    free(name);
    free(rel);
    free(final);
    return rc;
}

static char *media_url(const char *dir, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(dir) + strlen(base) + 16;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "/media/%s/%s", dir, base);
    return u;
}

/* The plan of an edited job, written by POST /api/jobs/{id}/render. */
static int load_edit_plan(tg_ctx *ctx, tgi_server *sv, const char *cid, tg_plan **out)
{
    size_t n = strlen(sv->thumbs_dir) + strlen(cid) + 16;
    char *path = malloc(n), *text = NULL;
    if (!path)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    snprintf(path, n, "%s/%s.plan.json", sv->thumbs_dir, cid);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return tgi_fail(ctx, TG_EINTERNAL, "the edited plan of this job is missing");
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *nt = realloc(text, cap = (len + 4096 + 1) * 2);
            if (!nt) {
                fclose(f);
                free(text);
                return tgi_fail(ctx, TG_ENOMEM, "out of memory");
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    text[len] = '\0';
    tgi_progress(ctx, "render", 0);
    int rc = tg_plan_from_json(ctx, text, out);
    free(text);
    return rc;
}

/* The time the poster of plan p is taken at (render.c: write_poster). */
static double poster_time(const tg_plan *p)
{
    return p->poster_t >= 0 ? p->poster_t
           : p->n_keyframes ? p->keyframes[0].t
           : p->n_segments  ? p->segments[0].start
                            : -1;
}

/* The job an edit was made from (its source is "PARENT_ID title"), when it is done with the
 * same options: its result and plan. 0 when there is such a parent, -1 otherwise. */
static int load_parent(tgi_server *sv, const tgi_job *job, json_t **res, tg_plan **pp)
{
    char pid[33];
    tgi_job parent = {0};
    *res = NULL;
    *pp = NULL;
    if (!job->source || strlen(job->source) < 33 || job->source[32] != ' ')
        return -1;
    snprintf(pid, sizeof(pid), "%.32s", job->source);
    if (tgi_store_get(NULL, sv->store, pid, &parent) < 0)
        return -1;
    if (parent.state == TG_JOB_DONE && parent.result_json && parent.options_json &&
        job->options_json && !strcmp(parent.options_json, job->options_json))
        *res = json_loads(parent.result_json, 0, NULL);
    tgi_job_clear(&parent);
    char *pj = json_dumps(json_object_get(*res, "plan"), JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!pj || tg_plan_from_json(NULL, pj, pp) < 0) {
        free(pj);
        json_decref(*res);
        *res = NULL;
        tg_plan_free(pp);
        return -1;
    }
    free(pj);
    return 0;
}

/* Link the parent's file named by the URL "/media/thumbnails/NAME" to path; 1 when linked. */
static int link_parent_file(tgi_server *sv, const json_t *url, const char *path)
{
    static const char prefix[] = "/media/thumbnails/";
    const char *u = json_string_value(url);
    char from[4096];
    if (!u || strncmp(u, prefix, sizeof(prefix) - 1) || strchr(u + sizeof(prefix) - 1, '/') ||
        u[sizeof(prefix) - 1] == '.' || u[sizeof(prefix) - 1] == '\0' ||
        snprintf(from, sizeof(from), "%s/%s", sv->thumbs_dir, u + sizeof(prefix) - 1) >=
            (int)sizeof(from))
        return 0;
    unlink(path); /* a leftover of an earlier attempt */
    return link(from, path) == 0;
}

/* An edit that keeps the poster's time (most edits move clips only) has the poster of the
 * job it was edited from, same video, same options: link that file to poster instead of
 * decoding and encoding it again. 1 when linked, 0 when the poster must be made. */
static int reuse_parent_poster(tgi_server *sv, const tgi_job *job, const tg_plan *plan,
                               const char *poster)
{
    json_t *res;
    tg_plan *pp;
    if (load_parent(sv, job, &res, &pp) < 0)
        return 0;
    int linked = fabs(poster_time(pp) - poster_time(plan)) < 1e-3 && poster_time(plan) >= 0 &&
                 link_parent_file(sv, json_object_get(res, "poster"), poster);
    tg_plan_free(&pp);
    json_decref(res);
    return linked;
}

/* Do two plans of one video make the same animation? The same crop, and the same clips
 * (or, for a slideshow, the same stills): the poster and the rest may differ. */
static int same_animation(const tg_plan *a, const tg_plan *b, const tg_options *o)
{
    if (memcmp(&a->crop, &b->crop, sizeof(a->crop)) || a->n_segments != b->n_segments)
        return 0;
    for (size_t i = 0; i < a->n_segments; i++)
        if (fabs(a->segments[i].start - b->segments[i].start) > 1e-6 ||
            fabs(a->segments[i].end - b->segments[i].end) > 1e-6)
            return 0;
    if (o->style != TG_STYLE_SLIDESHOW)
        return 1;
    if (a->n_keyframes != b->n_keyframes)
        return 0;
    for (size_t i = 0; i < a->n_keyframes; i++)
        if (fabs(a->keyframes[i].t - b->keyframes[i].t) > 1e-6 ||
            a->keyframes[i].shot != b->keyframes[i].shot)
            return 0;
    return 1;
}

/* An edit that changes only the poster ("Use this frame as the poster") has the parent's
 * animations: link every asked one (files[k] for the bits of fm) and take its report from
 * the parent's result instead of decoding and encoding them again. 1 when all are linked
 * (reps filled), 0 when they must be made (nothing linked). */
static int reuse_parent_animations(tgi_server *sv, const tgi_job *job, const tg_plan *plan,
                                   const tg_options *o, int fm, const char *const files[3],
                                   tg_output_report *const reps[3])
{
    static const char *const names[3] = {"gif", "webp", "mp4"};
    json_t *res;
    tg_plan *pp;
    if (load_parent(sv, job, &res, &pp) < 0)
        return 0;
    int ok = same_animation(pp, plan, o);
    json_t *outs = json_object_get(res, "outputs");
    for (int k = 0; ok && k < 3; k++) {
        if (!(fm & (1 << k)))
            continue;
        json_t *r = json_object_get(outs, names[k]);
        if (!json_is_object(r) || !link_parent_file(sv, json_object_get(r, "url"), files[k])) {
            ok = 0;
            break;
        }
        *reps[k] =
            (tg_output_report){.bytes = (long long)json_integer_value(json_object_get(r, "bytes")),
                               .quality = (int)json_integer_value(json_object_get(r, "quality")),
                               .fps = json_number_value(json_object_get(r, "fps")),
                               .width = (int)json_integer_value(json_object_get(r, "width")),
                               .height = (int)json_integer_value(json_object_get(r, "height")),
                               .clip_share = json_number_value(json_object_get(r, "clip_share"))};
    }
    if (!ok)
        for (int k = 0; k < 3; k++)
            if (fm & (1 << k))
                unlink(files[k]);
    tg_plan_free(&pp);
    json_decref(res);
    return ok;
}

static int run_process(tg_ctx *ctx, tgi_server *sv, tgi_job *job, const tg_options *o)
{
    char hex[65] = "", *video = NULL, *gif = NULL, *poster = NULL, *pj = NULL, *res = NULL;
    char *webp = NULL, *mp4 = NULL;
    tg_plan *plan = NULL;
    json_t *result = NULL;
    int rc;
    if (!job->video_path || !job->content_id || strstr(job->video_path, ".."))
        return tgi_fail(ctx, TG_EINTERNAL, "the job has no video");
    size_t n = strlen(sv->opt.data_dir) + strlen(job->video_path) + 2;
    video = malloc(n);
    if (!video)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    snprintf(video, n, "%s/%s", sv->opt.data_dir, job->video_path);
    /* outputs named by content and options: the same request makes the same files */
    struct AVSHA *sha = av_sha_alloc();
    if (sha) {
        uint8_t d[32];
        av_sha_init(sha, 256);
        av_sha_update(sha, (const uint8_t *)job->options_json, (unsigned)strlen(job->options_json));
        av_sha_final(sha, d);
        for (int i = 0; i < 6; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        av_free(sha);
    }
    size_t m = strlen(sv->thumbs_dir) + strlen(job->content_id) + 40;
    gif = malloc(m);
    poster = malloc(m);
    webp = malloc(m);
    mp4 = malloc(m);
    if (!gif || !poster || !webp || !mp4) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(gif, m, "%s/%s-%s.gif", sv->thumbs_dir, job->content_id, hex);
    snprintf(poster, m, "%s/%s-%s.jpg", sv->thumbs_dir, job->content_id, hex);
    snprintf(webp, m, "%s/%s-%s.webp", sv->thumbs_dir, job->content_id, hex);
    snprintf(mp4, m, "%s/%s-%s.mp4", sv->thumbs_dir, job->content_id, hex);
    if (tgi_job_is_edit(job)) {
        /* an edited plan (POST /api/jobs/{id}/render): no analysis, straight to render */
        if ((rc = load_edit_plan(ctx, sv, job->content_id, &plan)) < 0)
            goto done;
        free(plan->path);
        plan->path = strdup(video);
    } else if ((rc = tg_plan_make(ctx, video, o, &plan)) < 0) {
        goto done;
    }
    /* the asked animations (all three by default) from one decode: GIF for anywhere,
     * WebP and MP4 for the web */
    int fm = o->formats ? o->formats : 7;
    tg_outputs out = {.gif = fm & 1 ? gif : NULL,
                      .webp = fm & 2 ? webp : NULL,
                      .mp4 = fm & 4 ? mp4 : NULL,
                      .poster = poster};
    if (tgi_job_is_edit(job) && reuse_parent_poster(sv, job, plan, poster))
        out.poster = NULL;
    const char *const anim_files[3] = {gif, webp, mp4};
    tg_output_report *const anim_reps[3] = {&out.gif_report, &out.webp_report, &out.mp4_report};
    if (tgi_job_is_edit(job) &&
        reuse_parent_animations(sv, job, plan, o, fm, anim_files, anim_reps))
        out.gif = out.webp = out.mp4 = NULL;
    if ((out.gif || out.webp || out.mp4 || out.poster) &&
        (rc = tg_render(ctx, video, plan, o, &out)) < 0)
        goto done;
    /* the plan shows the video's URL, never the server's file path */
    free(plan->path);
    plan->path = media_url("videos", video);
    if ((rc = tg_plan_to_json(ctx, plan, &pj)) < 0)
        goto done;
    result = json_object();
    json_object_set_new(result, "video", json_string(plan->path ? plan->path : ""));
    char *pu = media_url("thumbnails", poster);
    json_object_set_new(result, "poster", json_string(pu ? pu : ""));
    free(pu);
    json_object_set_new(result, "plan", json_loads(pj, 0, NULL));
    json_t *outs = json_object();
    const char *names[3] = {"gif", "webp", "mp4"}, *files[3] = {gif, webp, mp4};
    const tg_output_report *reps[3] = {&out.gif_report, &out.webp_report, &out.mp4_report};
    for (int k = 0; k < 3; k++) {
        const tg_output_report *r = reps[k];
        if (!(fm & (1 << k)))
            continue; /* not asked (the formats option) */
        char *u = media_url("thumbnails", files[k]);
        json_object_set_new(result, names[k], json_string(u ? u : ""));
        json_object_set_new(outs, names[k],
                            json_pack("{s:s,s:I,s:i,s:f,s:i,s:i,s:f}", "url", u ? u : "", "bytes",
                                      (json_int_t)r->bytes, "quality", r->quality, "fps", r->fps,
                                      "width", r->width, "height", r->height, "clip_share",
                                      r->clip_share));
        free(u);
    }
    json_object_set_new(result, "outputs", outs);
    /* the rendition a link's download took, and why */
    size_t blen;
    const char *base = tgi_edit_base_len(job->content_id, &blen);
    char base_cid[160];
    snprintf(base_cid, sizeof(base_cid), "%.*s", (int)(blen < 150 ? blen : 150), base);
    char *rp = rendition_path(sv, base_cid);
    json_t *rend = rp ? json_load_file(rp, 0, NULL) : NULL;
    free(rp);
    if (json_is_object(rend))
        json_object_set_new(result, "download", rend);
    else
        json_decref(rend);
    /* a copy the browser can play beside the GIF, made once per video */
    json_object_set_new(result, "source_video", json_string(plan->path ? plan->path : ""));
    if (tgi_playable_needed(video)) {
        size_t pn = strlen(sv->thumbs_dir) + strlen(job->content_id) + 16;
        char *play = malloc(pn), *tmp = malloc(pn + 48);
        if (!play || !tmp) {
            free(play);
            free(tmp);
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto done;
        }
        snprintf(play, pn, "%s/%s.play.mp4", sv->thumbs_dir, base_cid);
        /* named by job: two workers (machines) making the same copy never share a file */
        snprintf(tmp, pn + 48, "%s.%s.tmp.mp4", play, job->id);
        rc = 0;
        if (access(play, R_OK) != 0 && (rc = tgi_playable_make(ctx, video, tmp)) == 0 &&
            rename(tmp, play) != 0)
            rc = tgi_fail(ctx, TG_EIO, "cannot store the playable copy: %s", strerror(errno));
        if (rc == 0) {
            char *vu = media_url("thumbnails", play);
            json_object_set_new(result, "video", json_string(vu ? vu : ""));
            json_object_set_new(result, "playable_copy", json_true());
            free(vu);
        }
        free(play);
        free(tmp);
        if (rc == TG_ECANCEL)
            goto done;
        if (rc < 0) { /* the thumbnails are made: the page shows the original instead */
            json_object_set_new(result, "playable_copy", json_false());
            tg_ctx_clear(ctx);
            rc = 0;
        }
    }
    res = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!res) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    tgi_fault_stage("store");
    end_job(sv, job, TG_JOB_DONE, res, NULL, NULL);
    rc = 0;
done:
    json_decref(result);
    tg_plan_free(&plan);
    free(video);
    free(gif);
    free(poster);
    free(webp);
    free(mp4);
    free(pj);
    free(res);
    return rc;
}

static int register_ctx(tgi_server *sv, const char *id, int attempt, tg_ctx *ctx)
{
    int slot = -1;
    pthread_mutex_lock(&sv->mu);
    for (int i = 0; i < TG_MAX_RUNNING && slot < 0; i++)
        if (!sv->running[i].ctx) {
            slot = i;
            snprintf(sv->running[i].id, sizeof(sv->running[i].id), "%s", id);
            sv->running[i].attempt = attempt;
            sv->running[i].ctx = ctx;
        }
    pthread_mutex_unlock(&sv->mu);
    return slot;
}

static void unregister_ctx(tgi_server *sv, int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&sv->mu);
    sv->running[slot].ctx = NULL;
    sv->running[slot].id[0] = '\0';
    pthread_mutex_unlock(&sv->mu);
}

static void run_job(tgi_server *sv, tgi_job *job, int downloader)
{
    tg_ctx *ctx = tg_ctx_new();
    if (!ctx) {
        end_job(sv, job, TG_JOB_FAILED, NULL, tg_errname(TG_ENOMEM), tg_strerror(TG_ENOMEM));
        return;
    }
    progress_state ps = {.sv = sv, .ctx = ctx, .id = job->id, .attempt = job->attempt, .pct = -1};
    tg_ctx_set_progress(ctx, on_progress, &ps);
    int slot = register_ctx(sv, job->id, job->attempt, ctx);
    tg_options o;
    tg_options_default(&o);
    int rc = tg_options_from_json_text(ctx, job->options_json, &o);
    if (rc == 0)
        rc = downloader ? run_download(ctx, sv, job, &o) : run_process(ctx, sv, job, &o);
    unregister_ctx(sv, slot);
    if (rc < 0) {
        if (rc == TG_ECANCEL && atomic_load(&sv->stopping)) {
            /* shutting down: on a shared store the job goes back to the queue at once
             * (another worker takes it); on SQLite it stays running and is resumed on
             * the next start */
            if (sv->shared)
                tgi_store_handback(NULL, sv->store, job->id, job->attempt);
        } else if (rc != TG_ECANCEL) {
            end_job(sv, job, TG_JOB_FAILED, NULL, tg_errname(rc),
                    public_message(rc, tg_ctx_message(ctx)));
        }
    }
    tgi_server_notify(sv);
    tg_ctx_free(&ctx);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    tgi_server *sv = w->sv;
    uint64_t seen = 0;
    while (!atomic_load(&sv->stopping)) {
        retry_pending(sv);
        tgi_job job = {0};
        int rc = tgi_store_claim_kind(NULL, sv->store, w->downloader, &job);
        if (rc == 0) {
            tgi_server_notify(sv);
            run_job(sv, &job, w->downloader);
            tgi_job_clear(&job);
            continue;
        }
        tgi_job_clear(&job);
        /* a shared store wakes us when a job is queued (LISTEN/NOTIFY); the timeout
         * only catches retries whose back-off ended */
        seen = tgi_server_wait(sv, seen, sv->shared ? sv->opt.heartbeat_ms : 1000);
    }
    free(w);
    return NULL;
}

/* Sleep up to ms, waking early when the server stops. */
static void nap(tgi_server *sv, int ms)
{
    for (int t = 0; t < ms && !atomic_load(&sv->stopping); t += 50)
        usleep(50 * 1000);
}

/* The keeper: every heartbeat, renew the lease of each job running here (a job that
 * is no longer ours, cancelled or taken over, has its context cancelled), and on a
 * shared store put back the jobs whose lease expired (a killed worker's). */
static void *keeper_main(void *arg)
{
    tgi_server *sv = arg;
    while (!atomic_load(&sv->stopping)) {
        nap(sv, sv->opt.heartbeat_ms);
        if (atomic_load(&sv->stopping))
            break;
        struct {
            char id[33];
            int attempt;
        } mine[TG_MAX_RUNNING];
        int n = 0;
        pthread_mutex_lock(&sv->mu);
        for (int i = 0; i < TG_MAX_RUNNING; i++)
            if (sv->running[i].ctx) {
                memcpy(mine[n].id, sv->running[i].id, sizeof(mine[n].id));
                mine[n++].attempt = sv->running[i].attempt;
            }
        pthread_mutex_unlock(&sv->mu);
        for (int k = 0; k < n; k++) {
            if (tgi_store_heartbeat(NULL, sv->store, mine[k].id, mine[k].attempt) != 1)
                continue;
            pthread_mutex_lock(&sv->mu);
            for (int i = 0; i < TG_MAX_RUNNING; i++)
                if (sv->running[i].ctx && !strcmp(sv->running[i].id, mine[k].id) &&
                    sv->running[i].attempt == mine[k].attempt)
                    tg_ctx_cancel(sv->running[i].ctx);
            pthread_mutex_unlock(&sv->mu);
        }
        size_t requeued = 0, failed = 0;
        if (sv->shared && tgi_store_reap(NULL, sv->store, &requeued, &failed) == 0 &&
            requeued + failed > 0) {
            if (!sv->opt.quiet)
                fprintf(stderr,
                        "thumbgen: %zu job%s whose worker stopped answering: %zu queued again, "
                        "%zu failed after %d attempts\n",
                        requeued + failed, requeued + failed == 1 ? "" : "s", requeued, failed,
                        sv->opt.max_attempts);
            tgi_server_notify(sv);
        }
    }
    return NULL;
}

int tgi_workers_start(tg_ctx *ctx, tgi_server *sv)
{
    int n = sv->opt.workers + sv->opt.downloaders;
    pthread_mutex_init(&sv->pending_mu, NULL);
    if (pthread_create(&sv->keeper, NULL, keeper_main, sv) != 0)
        return tgi_fail(ctx, TG_EINTERNAL, "cannot start the lease keeper");
    sv->keeper_up = 1;
    sv->threads = calloc((size_t)n + 1, sizeof(pthread_t));
    if (!sv->threads)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        worker *w = malloc(sizeof(*w));
        if (!w)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
        *w = (worker){sv, i >= sv->opt.workers};
        if (pthread_create(&sv->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            return tgi_fail(ctx, TG_EINTERNAL, "cannot start worker threads");
        }
        sv->n_threads++;
    }
    return 0;
}

void tgi_workers_stop(tgi_server *sv)
{
    atomic_store(&sv->stopping, 1);
    pthread_mutex_lock(&sv->mu);
    for (int i = 0; i < TG_MAX_RUNNING; i++)
        if (sv->running[i].ctx)
            tg_ctx_cancel(sv->running[i].ctx);
    pthread_mutex_unlock(&sv->mu);
    tgi_server_notify(sv);
    for (int i = 0; i < sv->n_threads; i++)
        pthread_join(sv->threads[i], NULL);
    if (sv->keeper_up)
        pthread_join(sv->keeper, NULL);
    sv->keeper_up = 0;
    free(sv->threads);
    sv->threads = NULL;
    sv->n_threads = 0;
    /* ends still not recorded: the jobs stay running and are resumed on the next start */
    for (int i = 0; i < sv->n_pending; i++) {
        free(sv->pending[i].result);
        free(sv->pending[i].code);
        free(sv->pending[i].message);
    }
    sv->n_pending = 0;
    pthread_mutex_destroy(&sv->pending_mu);
}
