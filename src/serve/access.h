/*
 * access.h — who may use the server, decided before a request's body is read:
 *
 *   Host       the name the request was sent to must be the listening address
 *              (127.0.0.1, localhost, [::1] or the bound address, with the port) or a
 *              --public-host name; else 421. This defeats DNS rebinding, where a
 *              hostile name is made to point at this server.
 *   Origin     a state-changing request (POST, PUT, DELETE, PATCH) from a page of
 *              another origin (Origin not an allowed host, or Sec-Fetch-Site:
 *              cross-site) is refused with 403: no other site can make jobs here.
 *   Token      when the server has a token (--token-file, --require-token, or any
 *              non-loopback address without --no-auth), /api/ and /media/ need it as
 *              "Authorization: Bearer TOKEN" or the HttpOnly SameSite=Strict cookie
 *              that POST /api/login sets (for EventSource, <img> and <video>, which
 *              cannot send headers); else 401. Compared in constant time.
 *
 * Every answer also carries the page's security headers (CSP and friends).
 * Internal to src/serve; docs/api.md ("Access") is the user's description.
 */
#ifndef TG_SERVE_ACCESS_H
#define TG_SERVE_ACCESS_H

#include <microhttpd.h>
#include <stddef.h>

#include "serve/http.h"

/* Read or make the token (sv->token) from sv->opt; refuse a token file that cannot
 * be read or holds no usable token, and --no-auth together with a token option.
 * *generated is set when the token was made here (it must be shown to the user). */
int tgi_access_setup(tg_ctx *ctx, tgi_server *sv, int *generated);

/* Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, Referrer-Policy. */
void tgi_access_headers(struct MHD_Response *rs);

/* 0 when the request may go on, else the HTTP status to refuse it with; *code and
 * msg get the error code name and one sentence. */
unsigned tgi_access_check(const tgi_server *sv, struct MHD_Connection *c, const char *method,
                          const char *url, const char **code, char *msg, size_t n);

/* GET /api/login: 200 {"auth": the server needs a token, "ok": this request has it}. */
enum MHD_Result tgi_access_session(const tgi_server *sv, struct MHD_Connection *c);
/* POST /api/login {"token": "..."}: 200 and the session cookie, or 401. */
enum MHD_Result tgi_access_login(tgi_req *r, struct MHD_Connection *c);

/* 1 when host ("name", "name:port", "[v6]:port") is one this server answers to. */
int tgi_access_host_ok(const tgi_server *sv, const char *host);

#endif
