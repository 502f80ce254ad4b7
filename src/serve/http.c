/*
 * http.c — the libmicrohttpd adapter: daemon start/stop, the request life cycle
 * (headers → streamed body → answer), multipart uploads streamed to disk with a
 * size limit and a content check, JSON bodies, static and media files with HTTP
 * Range (MHD has none: parsed here), and replies.
 *
 * MHD runs a thread per connection (MHD_USE_THREAD_PER_CONNECTION): Server-Sent
 * Event streams block in their content callback waiting for job changes without
 * holding up other requests. Every answer is queued on the second handler call or
 * later (queueing on the first call makes MHD 0.9.75 close keep-alive connections).
 */
#include "serve/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "core/error.h"
#include "core/utf8.h"
#include "fetch/sniff.h"
#include "serve/access.h"

struct tgi_http {
    struct MHD_Daemon *d;
    tgi_server *sv;
};

#define JSON_BODY_MAX (256 * 1024)
#define FIELD_MAX     256 /* bytes of one form field (an option value) */

enum MHD_Result tgi_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *rs)
{
    if (!rs)
        return MHD_NO;
    tgi_access_headers(rs);
    enum MHD_Result ok = MHD_queue_response(c, status, rs);
    MHD_destroy_response(rs);
    return ok;
}

/* The answer when a JSON reply cannot be built: a reply is never lost. */
static enum MHD_Result reply_internal(struct MHD_Connection *c)
{
    static const char fixed[] = "{\"error\":{\"code\":\"EINTERNAL\",\"message\":\"The server "
                                "could not build its answer.\"}}";
    struct MHD_Response *rs =
        MHD_create_response_from_buffer(sizeof(fixed) - 1, (void *)fixed, MHD_RESPMEM_PERSISTENT);
    if (!rs)
        return MHD_NO;
    MHD_add_response_header(rs, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(rs, "Cache-Control", "no-store");
    return tgi_queue(c, MHD_HTTP_INTERNAL_SERVER_ERROR, rs);
}

enum MHD_Result tgi_reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (!s)
        return reply_internal(c);
    struct MHD_Response *rs = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!rs) {
        free(s);
        return reply_internal(c);
    }
    MHD_add_response_header(rs, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(rs, "Cache-Control", "no-store");
    return tgi_queue(c, status, rs);
}

enum MHD_Result tgi_reply_error(struct MHD_Connection *c, int code, const char *message)
{
    /* one readable sentence: the library's detail starts lowercase and has no stop */
    char sentence[600];
    const char *m = message && *message ? message : tg_strerror(code);
    tgi_utf8_copy(sentence, sizeof(sentence) - 1, m); /* room for the stop */
    tgi_utf8_sanitize(sentence);
    size_t n = strlen(sentence);
    while (n > 0 && (sentence[n - 1] == ':' || sentence[n - 1] == ' '))
        sentence[--n] = '\0';
    if (sentence[0] >= 'a' && sentence[0] <= 'z')
        sentence[0] = (char)(sentence[0] - 'a' + 'A');
    if (n > 0 && !strchr(".!?", sentence[n - 1])) {
        sentence[n] = '.';
        sentence[n + 1] = '\0';
    }
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", tg_errname(code), "message", sentence);
    return tgi_reply_json(c, (unsigned)tg_http_status(code), e);
}

enum MHD_Result tgi_reply_status(struct MHD_Connection *c, unsigned status, const char *code,
                                 const char *message)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return MHD_NO;
    struct MHD_Response *rs = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!rs) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(rs, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(rs, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(rs, "WWW-Authenticate", "Bearer realm=\"thumbgen\"");
    return tgi_queue(c, status, rs);
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".gif", "image/gif"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".webp", "image/webp"},
        {".mp4", "video/mp4"},
        {".m4v", "video/mp4"},
        {".mov", "video/quicktime"},
        {".webm", "video/webm"},
        {".mkv", "video/x-matroska"},
        {".avi", "video/x-msvideo"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcasecmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static int safe_name(const char *name)
{
    if (!name || !*name || name[0] == '.' || strlen(name) > 200)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int tgi_http_parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 1; /* none, or several ranges: the whole file */
    const char *p = h + 6;
    char *end;
    if (*p == '-') {
        errno = 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (errno || *end || end == p + 1 || n == 0)
            return -1;
        if (size == 0)
            return -1;
        *a = n >= size ? 0 : size - n;
        *b = size - 1;
        return 0;
    }
    errno = 0;
    unsigned long long x = strtoull(p, &end, 10);
    if (errno || end == p || *end != '-')
        return 1;
    const char *q = end + 1;
    unsigned long long y = size ? size - 1 : 0;
    if (*q) {
        y = strtoull(q, &end, 10);
        if (errno || *end)
            return 1;
        if (y >= size)
            y = size - 1;
    }
    if (x >= size || y < x)
        return -1;
    *a = x;
    *b = y;
    return 0;
}

static enum MHD_Result reply_file_with(struct MHD_Connection *c, const char *dir, const char *name,
                                       const char *etag, int vary)
{
    if (!safe_name(name))
        return tgi_reply_error(c, TG_ENOENT, "no such file");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return tgi_reply_error(c, TG_ENOENT, "no such file");
    }
    uint64_t size = (uint64_t)st.st_size, a = 0, b = size ? size - 1 : 0;
    const char *rh = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    int pr = tgi_http_parse_range(rh, size, &a, &b);
    char cr[128];
    if (pr < 0) {
        close(fd);
        struct MHD_Response *rs = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        MHD_add_response_header(rs, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        return tgi_queue(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, rs);
    }
    struct MHD_Response *rs = pr == 0 ? MHD_create_response_from_fd_at_offset64(b - a + 1, fd, a)
                                      : MHD_create_response_from_fd64(size, fd);
    if (!rs) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(rs, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(rs, "Content-Type", content_type(name));
    MHD_add_response_header(rs, "Cache-Control", "no-cache");
    if (etag)
        MHD_add_response_header(rs, "ETag", etag);
    if (vary)
        MHD_add_response_header(rs, "Vary", "Accept-Encoding");
    if (pr == 0) {
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, a, b, size);
        MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        return tgi_queue(c, MHD_HTTP_PARTIAL_CONTENT, rs);
    }
    return tgi_queue(c, MHD_HTTP_OK, rs);
}

enum MHD_Result tgi_reply_file(struct MHD_Connection *c, const char *dir, const char *name)
{
    return reply_file_with(c, dir, name, NULL, 0);
}

/* Does the request's Accept-Encoding take gzip? (a "gzip" token without q=0) */
static int accepts_gzip(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = strcspn(p, ";,");
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if (t == 4 && !strncasecmp(p, "gzip", 4)) {
            const char *q = memchr(p, ';', n);
            if (!q)
                return 1;
            q++;
            while (*q == ' ')
                q++;
            /* q=0, q=0.0, q=0.00...: refused */
            if (strncasecmp(q, "q=0", 3))
                return 1;
            const char *z = q + 3;
            if (*z == '.')
                z++;
            while (*z == '0')
                z++;
            return !(*z == '\0' || *z == ',' || *z == ' ' || *z == ';');
        }
        p += n;
    }
    return 0;
}

static int compressible(const char *name)
{
    static const char *const exts[] = {".html", ".css", ".js", ".svg", ".json"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(exts) / sizeof(exts[0]); i++)
        if (!strcasecmp(dot, exts[i]))
            return 1;
    return 0;
}

/* 304 for a revalidation whose If-None-Match holds etag (vary: the body depends on
 * Accept-Encoding). */
static enum MHD_Result reply_not_modified(struct MHD_Connection *c, const char *etag, int vary)
{
    struct MHD_Response *rs = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!rs)
        return MHD_NO;
    MHD_add_response_header(rs, "ETag", etag);
    MHD_add_response_header(rs, "Cache-Control", "no-cache");
    if (vary)
        MHD_add_response_header(rs, "Vary", "Accept-Encoding");
    return tgi_queue(c, MHD_HTTP_NOT_MODIFIED, rs);
}

enum MHD_Result tgi_reply_static(struct MHD_Connection *c, const char *dir, const char *name)
{
    if (!safe_name(name))
        return tgi_reply_error(c, TG_ENOENT, "no such file");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st, gz;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return tgi_reply_error(c, TG_ENOENT, "no such file");
    /* a validator of this version of the file: revalidation answers 304 without a body */
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_size,
             (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
    int zip = compressible(name);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    if (inm && strstr(inm, etag))
        return reply_not_modified(c, etag, zip);
    /* NAME.gz, made at build time (make web), when it is not older than NAME; a Range
     * request gets the file itself (ranges of an encoded body are not worth it here) */
    char gzpath[4110];
    snprintf(gzpath, sizeof(gzpath), "%s.gz", path);
    int fd = -1;
    uint64_t size = 0;
    if (zip && accepts_gzip(c) &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE) &&
        stat(gzpath, &gz) == 0 && S_ISREG(gz.st_mode) &&
        (gz.st_mtim.tv_sec > st.st_mtim.tv_sec ||
         (gz.st_mtim.tv_sec == st.st_mtim.tv_sec && gz.st_mtim.tv_nsec >= st.st_mtim.tv_nsec))) {
        fd = open(gzpath, O_RDONLY | O_CLOEXEC);
        struct stat fs;
        if (fd >= 0 && (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode))) {
            close(fd);
            fd = -1;
        } else if (fd >= 0) {
            size = (uint64_t)fs.st_size;
        }
    }
    if (fd < 0)
        return reply_file_with(c, dir, name, etag, zip);
    struct MHD_Response *rs = MHD_create_response_from_fd64(size, fd);
    if (!rs) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(rs, "Content-Type", content_type(name));
    MHD_add_response_header(rs, "Content-Encoding", "gzip");
    MHD_add_response_header(rs, "Vary", "Accept-Encoding");
    MHD_add_response_header(rs, "ETag", etag);
    MHD_add_response_header(rs, "Cache-Control", "no-cache");
    return tgi_queue(c, MHD_HTTP_OK, rs);
}

enum MHD_Result tgi_reply_page(struct MHD_Connection *c, const char *dir, int token)
{
    if (!token)
        return tgi_reply_static(c, dir, "index.html");
    char path[4096];
    snprintf(path, sizeof(path), "%s/index.html", dir);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20))
        return tgi_reply_error(c, TG_ENOENT, "no such file");
    /* a validator of its own: the same file with and without the mark is not one version */
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "-t\"", (uint64_t)st.st_size,
             (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    if (inm && strstr(inm, etag))
        return reply_not_modified(c, etag, 0);
    static const char mark[] = " data-token";
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + sizeof(mark));
    FILE *f = buf ? fopen(path, "rb") : NULL;
    size_t got = f ? fread(buf, 1, n, f) : 0;
    if (f)
        fclose(f);
    if (!buf || got != n) {
        free(buf);
        return tgi_reply_error(c, TG_ENOENT, "no such file");
    }
    buf[n] = '\0';
    char *html = strstr(buf, "<html");
    if (html) { /* " data-token" after "<html" */
        char *at = html + 5;
        memmove(at + sizeof(mark) - 1, at, n - (size_t)(at - buf) + 1);
        memcpy(at, mark, sizeof(mark) - 1);
        n += sizeof(mark) - 1;
    }
    struct MHD_Response *rs = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
    if (!rs) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(rs, "Content-Type", content_type("index.html"));
    MHD_add_response_header(rs, "ETag", etag);
    MHD_add_response_header(rs, "Cache-Control", "no-cache");
    return tgi_queue(c, MHD_HTTP_OK, rs);
}

/* ---- uploads ---- */

static void upload_fail(tgi_req *r, int code, const char *msg)
{
    if (!r->err) {
        r->err = code;
        tgi_utf8_copy(r->err_msg, sizeof(r->err_msg), msg);
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r->tmp_path)
        unlink(r->tmp_path);
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *ctype, const char *enc,
                                 const char *data, uint64_t off, size_t size)
{
    (void)kind;
    (void)ctype;
    (void)enc;
    tgi_req *r = cls;
    if (!key)
        return MHD_YES;
    if (strcmp(key, "video") != 0) {
        /* an option field, maybe in several chunks */
        if (r->err)
            return MHD_YES;
        if (!r->fields)
            r->fields = json_object();
        json_t *old = json_object_get(r->fields, key);
        size_t ol = old ? json_string_length(old) : 0;
        if (ol + size > FIELD_MAX) {
            char msg[200];
            snprintf(msg, sizeof(msg), "the form field '%.*s' is longer than %d bytes",
                     (int)tgi_utf8_prefix(key, 64), key, FIELD_MAX);
            upload_fail(r, TG_EINVAL, msg);
            return MHD_YES;
        }
        char buf[FIELD_MAX + 1];
        memcpy(buf, old ? json_string_value(old) : "", ol);
        memcpy(buf + ol, data, size);
        buf[ol + size] = '\0';
        /* a value is kept as it came; one that is not text is refused when used */
        json_t *v = json_stringn(buf, ol + size);
        if (!v) {
            upload_fail(r, TG_EINVAL, "form fields must be UTF-8 text");
            return MHD_YES;
        }
        json_object_set_new(r->fields, key, v);
        (void)off;
        return MHD_YES;
    }
    if (off == 0 && r->bytes > 0) {
        upload_fail(r, TG_EINVAL, "the upload has more than one video file: send one per job");
        return MHD_YES;
    }
    if (r->err)
        return MHD_YES; /* already refused: drain the rest */
    if (!r->tmp_path) {
        size_t n = strlen(r->sv->tmp_dir) + 32;
        r->tmp_path = malloc(n);
        if (!r->tmp_path) {
            upload_fail(r, TG_ENOMEM, "out of memory");
            return MHD_YES;
        }
        snprintf(r->tmp_path, n, "%s/upload-XXXXXX", r->sv->tmp_dir);
        r->fd = mkstemp(r->tmp_path);
        if (r->fd < 0) {
            free(r->tmp_path);
            r->tmp_path = NULL;
            upload_fail(r, TG_EIO, "the server cannot store uploads right now");
            return MHD_YES;
        }
        r->sha = av_sha_alloc();
        if (r->sha)
            av_sha_init(r->sha, 256);
        const char *fn = filename && *filename ? filename : "upload";
        r->upload_name = strndup(fn, tgi_utf8_prefix(fn, 200));
        if (r->upload_name)
            tgi_utf8_sanitize(r->upload_name);
    }
    r->bytes += (int64_t)size;
    if (r->bytes > r->sv->opt.max_upload) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the upload is larger than the limit of %lld MB",
                 r->sv->opt.max_upload >> 20);
        upload_fail(r, TG_ETOOBIG, msg);
        return MHD_YES;
    }
    if (!r->container) {
        size_t take = size < sizeof(r->head) - r->head_n ? size : sizeof(r->head) - r->head_n;
        memcpy(r->head + r->head_n, data, take);
        r->head_n += take;
        if (r->head_n == sizeof(r->head)) {
            r->container = tgi_sniff_video(r->head, r->head_n);
            if (!r->container) {
                upload_fail(r, TG_EFORMAT, "the uploaded file is not a video");
                return MHD_YES;
            }
        }
    }
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(r->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            upload_fail(r, TG_EIO,
                        w < 0 && (errno == ENOSPC || errno == EDQUOT)
                            ? "the server's disk is full"
                            : "the server could not store the upload");
            return MHD_YES;
        }
        p += w;
        left -= (size_t)w;
    }
    if (r->sha)
        av_sha_update(r->sha, (const uint8_t *)data, (unsigned)size);
    return MHD_YES;
}

static void request_free(tgi_req *r)
{
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    if (r->fd >= 0)
        close(r->fd);
    if (r->tmp_path)
        unlink(r->tmp_path); /* kept uploads were renamed away before this */
    free(r->tmp_path);
    av_free(r->sha);
    free(r->upload_name);
    json_decref(r->fields);
    free(r->body);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request_free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    tgi_http *h = cls;
    tgi_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->sv = h->sv;
        r->fd = -1;
        *con_cls = r;
        /* refused requests (host, origin, token) never reach the body handling */
        r->deny = tgi_access_check(h->sv, c, method, url, &r->deny_code, r->deny_msg,
                                   sizeof(r->deny_msg));
        if (!r->deny && !strcmp(method, "POST")) {
            const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoll(cl, NULL, 10) > h->sv->opt.max_upload + (1 << 20)) {
                r->err = TG_ETOOBIG;
                snprintf(r->err_msg, sizeof(r->err_msg),
                         "the upload is larger than the limit of %lld MB",
                         h->sv->opt.max_upload >> 20);
            } else if (ct && !strncasecmp(ct, "multipart/form-data", 19)) {
                r->is_upload = 1;
                r->pp = MHD_create_post_processor(c, 64 * 1024, post_iter, r);
                if (!r->pp) {
                    r->err = TG_EINVAL;
                    snprintf(r->err_msg, sizeof(r->err_msg), "malformed multipart upload");
                }
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->deny) {
            /* drained unread */
        } else if (r->pp && !r->err) {
            if (MHD_post_process(r->pp, upload, *upload_size) != MHD_YES)
                upload_fail(r, TG_EINVAL, "malformed multipart upload");
        } else if (!r->is_upload && !r->err) {
            if (r->len + *upload_size > JSON_BODY_MAX) {
                r->err = TG_ETOOBIG;
                snprintf(r->err_msg, sizeof(r->err_msg), "the request body is too large");
            } else {
                if (r->len + *upload_size + 1 > r->cap) {
                    size_t nc = (r->len + *upload_size + 1) * 2;
                    char *nb = realloc(r->body, nc);
                    if (!nb)
                        return MHD_NO;
                    r->body = nb;
                    r->cap = nc;
                }
                memcpy(r->body + r->len, upload, *upload_size);
                r->len += *upload_size;
                r->body[r->len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (atomic_load(&h->sv->stopping))
        return tgi_reply_error(c, TG_EUNAVAILABLE, "the server is shutting down");
    if (!h->sv->opt.quiet)
        fprintf(stderr, "%s %s\n", method, url);
    if (r->deny)
        return tgi_reply_status(c, r->deny, r->deny_code, r->deny_msg);
    if (!strcmp(url, "/api/login")) {
        if (r->err)
            return tgi_reply_error(c, r->err, r->err_msg);
        if (!strcmp(method, "POST"))
            return tgi_access_login(r, c);
        if (!strcmp(method, "GET"))
            return tgi_access_session(h->sv, c);
        return tgi_reply_error(c, TG_EINVAL, "use GET or POST on /api/login");
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/api/jobs")) {
        if (r->fd >= 0 && !r->err && !r->container && r->head_n > 0) {
            r->container = tgi_sniff_video(r->head, r->head_n);
            if (!r->container)
                upload_fail(r, TG_EFORMAT, "the uploaded file is not a video");
        }
        return tgi_route_submit(r, c);
    }
    return tgi_route(r, c, url, method);
}

int tgi_http_start(tg_ctx *ctx, tgi_server *sv, tgi_http **out)
{
    *out = NULL;
    tgi_http *h = calloc(1, sizeof(*h));
    if (!h)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    h->sv = sv;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    const char *host = sv->opt.host;
    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)sv->opt.port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)sv->opt.port);
        flags |= MHD_USE_IPv6;
    } else {
        free(h);
        return tgi_fail(ctx, TG_EINVAL, "--host must be an IP address (got '%s')", sv->opt.host);
    }
    h->d =
        MHD_start_daemon(flags, (uint16_t)sv->opt.port, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)120, MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return tgi_fail(ctx, TG_EIO, "cannot listen on %s:%d (port in use?)", sv->opt.host,
                        sv->opt.port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    if (di && di->port)
        sv->opt.port = di->port;
    *out = h;
    return 0;
}

void tgi_http_stop(tgi_http **hp)
{
    if (!hp || !*hp)
        return;
    MHD_stop_daemon((*hp)->d);
    free(*hp);
    *hp = NULL;
}
