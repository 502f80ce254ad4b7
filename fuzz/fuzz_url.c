/*
 * fuzz_url.c — the link parser and the YouTube id extraction (src/fetch/url.c).
 * Properties: an accepted link is either a YouTube video with an 11-character id
 * whose canonical URL parses back to the same id, or a direct http(s) link with a
 * lowercase host and a port in 1..65535.
 */
#include <ctype.h>

#include "fetch/url.h"
#include "fuzz.h"

static int id_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = tg_fuzz_string(data, size);
    if (!s)
        return 0;
    tg_ctx *ctx = tg_ctx_new();
    tgi_url u, v;
    if (ctx && tgi_url_parse(ctx, s, &u) == 0) {
        if (u.kind == TG_URL_YOUTUBE) {
            TG_FUZZ_ASSERT(strlen(u.youtube_id) == 11, "id '%s'", u.youtube_id);
            for (int i = 0; i < 11; i++)
                TG_FUZZ_ASSERT(id_char(u.youtube_id[i]), "id '%s'", u.youtube_id);
            char want[64];
            snprintf(want, sizeof(want), "https://www.youtube.com/watch?v=%s", u.youtube_id);
            TG_FUZZ_ASSERT(!strcmp(u.canonical, want), "canonical '%s'", u.canonical);
            TG_FUZZ_ASSERT(tgi_url_parse(ctx, u.canonical, &v) == 0 && v.kind == TG_URL_YOUTUBE &&
                               !strcmp(v.youtube_id, u.youtube_id),
                           "canonical '%s' does not read back", u.canonical);
        } else {
            TG_FUZZ_ASSERT(u.kind == TG_URL_DIRECT, "kind %d", u.kind);
            TG_FUZZ_ASSERT(!strcmp(u.scheme, "http") || !strcmp(u.scheme, "https"), "scheme '%s'",
                           u.scheme);
            TG_FUZZ_ASSERT(u.host[0] != '\0', "empty host");
            for (const char *p = u.host; *p; p++)
                TG_FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'), "host '%s'", u.host);
            TG_FUZZ_ASSERT(u.port >= 1 && u.port <= 65535, "port %d", u.port);
        }
    }
    tg_ctx_free(&ctx);
    free(s);
    return 0;
}
