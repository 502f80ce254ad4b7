/*
 * fuzz_plan.c — the plan JSON reader (tg_plan_from_json, src/select/plan.c) with
 * the round-trip property: a plan it accepts and writes must read back, and write
 * the same text again (docs/plan.md: "a plan written by thumbgen reads back").
 */
#include "fuzz.h"
#include "thumbgen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = tg_fuzz_string(data, size);
    if (!s)
        return 0;
    tg_ctx *ctx = tg_ctx_new();
    tg_plan *p = NULL, *q = NULL;
    char *one = NULL, *two = NULL;
    if (ctx && tg_plan_from_json(ctx, s, &p) == 0) {
        TG_FUZZ_ASSERT(tg_plan_to_json(ctx, p, &one) == 0, "accepted but not written: %s",
                       tg_ctx_message(ctx));
        int rc = tg_plan_from_json(ctx, one, &q);
        TG_FUZZ_ASSERT(rc == 0, "written plan does not read back (%s):\n%s", tg_ctx_message(ctx),
                       one);
        TG_FUZZ_ASSERT(tg_plan_to_json(ctx, q, &two) == 0, "%s", tg_ctx_message(ctx));
        TG_FUZZ_ASSERT(!strcmp(one, two), "not equal after a round trip:\n%s\n---\n%s", one, two);
    }
    free(one);
    free(two);
    tg_plan_free(&p);
    tg_plan_free(&q);
    tg_ctx_free(&ctx);
    free(s);
    return 0;
}
