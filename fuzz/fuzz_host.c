/*
 * fuzz_host.c — the Host header check (tgi_access_host_ok, src/serve/access.c) of a
 * server on 127.0.0.1:8000 with --public-host thumbs.example. Property: an accepted
 * Host names one of those (the listening port, or the public name at any port).
 */
#include <strings.h>

#include "fuzz.h"
#include "serve/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = tg_fuzz_string(data, size);
    if (!h)
        return 0;
    static const char *const pub[] = {"thumbs.example", NULL};
    static tgi_server sv;
    sv.opt.host = "127.0.0.1";
    sv.opt.port = 8000;
    sv.opt.public_hosts = pub;
    if (tgi_access_host_ok(&sv, h)) {
        int ours = !strncasecmp(h, "thumbs.example", 14) || strstr(h, ":8000") != NULL;
        TG_FUZZ_ASSERT(ours, "'%s' accepted", h);
    }
    free(h);
    return 0;
}
