/*
 * http.h — small helpers shared by the HTTP adapter (http.c) and the routes
 * (routes.c): replies and the per-request state. Internal to src/serve.
 */
#ifndef TG_SERVE_HTTP_H
#define TG_SERVE_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "serve/server.h"

/* Per-request state, created on the first call for a request and freed when MHD
 * says the request is complete. */
typedef struct tgi_req {
    tgi_server *sv;
    int is_upload; /* multipart/form-data POST */
    int err;       /* a TG_E code decided while the body streamed in */
    char err_msg[256];
    char *body; /* JSON body, NUL-terminated */
    size_t len, cap;
    struct MHD_PostProcessor *pp;
    /* upload */
    int fd;
    char *tmp_path;
    int64_t bytes;
    struct AVSHA *sha;
    uint8_t head[256];
    size_t head_n;
    const char *container; /* what the sniffer saw */
    char *upload_name;
    json_t *fields; /* the form's other fields: option name → string */
    /* refused by serve/access.c: the status, code and sentence to answer */
    unsigned deny;
    const char *deny_code;
    char deny_msg[200];
} tgi_req;

/* Replies (the JSON is consumed). */
enum MHD_Result tgi_reply_json(struct MHD_Connection *c, unsigned status, json_t *j);
enum MHD_Result tgi_reply_error(struct MHD_Connection *c, int code, const char *message);
/* An error answer with its own status and code name (HTTP-only refusals: 401, 403,
 * 421), the message one sentence as given. */
enum MHD_Result tgi_reply_status(struct MHD_Connection *c, unsigned status, const char *code,
                                 const char *message);
/* Queue a response with the security headers (consumes rs). */
enum MHD_Result tgi_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *rs);
/* A file under dir named name ([A-Za-z0-9._-], no leading dot), with Range. */
enum MHD_Result tgi_reply_file(struct MHD_Connection *c, const char *dir, const char *name);
/* A file of the page (web/): the same, plus an ETag (If-None-Match answers 304) and, for
 * text (.html .css .js .svg .json) to a client that takes gzip, NAME.gz made at build
 * time (`make web`) when it is not older than NAME (Content-Encoding: gzip). */
enum MHD_Result tgi_reply_static(struct MHD_Connection *c, const char *dir, const char *name);

/* DIR/index.html; when the server needs a token, with a data-token attribute on its <html>,
 * so that the page's first script reads the saved token only where one is needed. */
enum MHD_Result tgi_reply_page(struct MHD_Connection *c, const char *dir, int token);

/* A Range header: "bytes=a-b", "bytes=a-", "bytes=-n" → [*a, *b] within size; 0 ok,
 * 1 ignore (none, several ranges, malformed: send it all), -1 unsatisfiable (416).
 * Exposed for fuzz/fuzz_range.c. */
int tgi_http_parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b);

/* The API (routes.c). */
enum MHD_Result tgi_route(tgi_req *r, struct MHD_Connection *c, const char *url,
                          const char *method);
/* The body of POST /api/jobs has arrived (JSON or upload). */
enum MHD_Result tgi_route_submit(tgi_req *r, struct MHD_Connection *c);

#endif
