/*
 * url.h — what a submitted link is, before anything is fetched.
 *
 * YouTube links in every common form (watch?v=, youtu.be/, shorts/, embed/, live/,
 * v/, m., music. and www. hosts, youtube-nocookie.com, extra query parameters,
 * timestamps, playlist parameters → the single video) are normalised to the video
 * id (11 characters of [A-Za-z0-9_-]); any other http(s) URL is a direct link;
 * anything else is refused. Pure string work: no network.
 */
#ifndef TG_FETCH_URL_H
#define TG_FETCH_URL_H

#include <stddef.h>

#include "thumbgen.h"

enum tgi_url_kind { TG_URL_YOUTUBE = 1, TG_URL_DIRECT = 2 };

typedef struct tgi_url {
    int kind;             /* enum tgi_url_kind */
    char youtube_id[12];  /* TG_URL_YOUTUBE: the video id */
    char scheme[8];       /* "http" or "https" */
    char host[256];       /* lowercase, without brackets for IPv6 literals */
    int port;             /* explicit or default (80/443) */
    char canonical[2048]; /* YouTube: https://www.youtube.com/watch?v=ID; else the URL as given */
} tgi_url;

/* Classify url; TG_EINVAL (with a message saying why) for anything that is not an
 * http(s) URL with a host, that is longer than 2000 bytes, or that contains
 * control characters, spaces or credentials (user:pass@). */
int tgi_url_parse(tg_ctx *ctx, const char *url, tgi_url *out);

#endif
