/*
 * http.h — a minimal HTTP/1.1 client for the server tests (loopback only): one
 * request per connection, the whole answer read into memory, or a stream read
 * with a deadline for Server-Sent Events. Also starting and stopping a
 * `thumbgen serve` child on a free port. And the other side: a mini origin server
 * in a thread of the test, for the fetch, guard and yt-dlp tests.
 */
#ifndef TG_TESTS_HTTP_H
#define TG_TESTS_HTTP_H

#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

typedef struct tgt_resp {
    int status;
    char *headers; /* raw header block, NUL-terminated */
    char *body;    /* NUL-terminated (binary bodies: use len) */
    size_t len;
} tgt_resp;

/* Send a request to 127.0.0.1:port. extra_headers: "Name: value\r\n…" or NULL; when
 * they start with "Host:", that Host is sent instead of 127.0.0.1:port. */
int tgt_http(int port, const char *method, const char *path, const char *extra_headers,
             const char *body, size_t body_len, tgt_resp *out);
void tgt_resp_free(tgt_resp *r);
/* The value of a response header (case-insensitive name), malloc'd, or NULL. */
char *tgt_header(const tgt_resp *r, const char *name);

/* A multipart/form-data body with a file part "video" and optional fields
 * (NULL-terminated name, value pairs). *ctype gets the Content-Type header line. */
char *tgt_multipart(const char *file, const char *filename, size_t *len, char **ctype, ...);

typedef struct tgt_server {
    pid_t pid;
    int port;
    char *data;
} tgt_server;
/* Start build/thumbgen serve with extra args (NULL-terminated) on a free port and a
 * fresh data folder (or `data` when not NULL); waits for /healthz. 0 on success. */
int tgt_server_start(tgt_server *s, const char *data, ...);
/* The same without --quiet, the server's stderr written to the file log. */
int tgt_server_start_log(tgt_server *s, const char *data, const char *log, ...);
/* SIGTERM and wait (up to 20 s); returns the exit status. Keeps the data folder. */
int tgt_server_stop(tgt_server *s);

/* ---- a mini origin server on 127.0.0.1 ---- */

/* Answers one accepted connection (fd); the origin shuts it down and closes it. */
typedef void (*tgt_origin_fn)(void *user, int fd);

typedef struct tgt_origin {
    int fd, port;
    tgt_origin_fn fn;
    void *user;
    atomic_int accepted, stop;
    pthread_t th;
} tgt_origin;

/* Listen on an ephemeral loopback port (o->port) and serve one connection at a time
 * with fn in a thread, until tgt_origin_stop. Fails the test when it cannot. */
void tgt_origin_start(tgt_origin *o, tgt_origin_fn fn, void *user);
void tgt_origin_stop(tgt_origin *o);
/* send() all of p (MSG_NOSIGNAL), retrying on EINTR; gives up silently on an error. */
void tgt_send_all(int fd, const void *p, size_t n);
/* Read a request head (up to the blank line) into buf, NUL-terminated: its length, or
 * -1 when nothing complete came within timeout_ms of each read. */
int tgt_read_head(int fd, char *buf, size_t cap, int timeout_ms);

#endif
