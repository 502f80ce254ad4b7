/*
 * fuzz_options.c — the options-from-JSON reader of the HTTP API
 * (tg_options_from_json_text, src/serve/serve.c) with a round trip: options it
 * accepts, written as the canonical JSON (the cache key), read back to the same
 * canonical JSON.
 */
#include "fuzz.h"
#include "serve/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = tg_fuzz_string(data, size);
    if (!s)
        return 0;
    tg_ctx *ctx = tg_ctx_new();
    tg_options o, r;
    tg_options_default(&o);
    tg_options_default(&r);
    char *one = NULL, *two = NULL;
    if (ctx && tg_options_from_json_text(ctx, s, &o) == 0) {
        one = tg_options_to_json(&o);
        TG_FUZZ_ASSERT(one != NULL, "accepted options not written");
        int rc = tg_options_from_json_text(ctx, one, &r);
        TG_FUZZ_ASSERT(rc == 0, "written options do not read back (%s): %s", tg_ctx_message(ctx),
                       one);
        two = tg_options_to_json(&r);
        TG_FUZZ_ASSERT(two && !strcmp(one, two), "not equal after a round trip:\n%s\n%s", one,
                       two ? two : "(null)");
    }
    free(one);
    free(two);
    tg_ctx_free(&ctx);
    free(s);
    return 0;
}
