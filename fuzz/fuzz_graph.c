/*
 * fuzz_graph.c — the TF.js graph-model loader (tgi_nn_load_graph, src/nn/graphdef.c)
 * and the engine behind it. The input is a model and its weights in one buffer:
 *
 *     u16 little-endian N (floats in the shard, at most 4096) | N × 4 bytes | model JSON
 *
 * written as m.json + w.bin in a private folder (the seed's manifest names w.bin; a
 * mutated one may name anything). Properties: a refused model says why in one line;
 * an accepted one gives a session at 4×4 and 8×8 that either is refused in one line
 * or runs forward and has an output — never a crash, a leak or a read out of bounds.
 * The weights the product loads come pinned and checksummed (scripts/fetch-models),
 * so this is about a corrupt or truncated download, not a hostile one.
 */
#include <limits.h>
#include <unistd.h>

#include "fuzz.h"
#include "nn/nn.h"

static char dir[] = "/tmp/fuzz-graph-XXXXXX";

static int put(const char *name, const void *data, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, size, f);
    return fclose(f) == 0 && n == size ? 0 : -1;
}

static void one_line(tg_ctx *ctx, const char *what)
{
    const char *m = tg_ctx_message(ctx);
    TG_FUZZ_ASSERT(m && *m && !strchr(m, '\n'), "%s: not one line: '%s'", what, m ? m : "(null)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (!mkdtemp(dir))
            abort();
        ready = 1;
    }
    if (size < 2)
        return 0;
    size_t n = (size_t)(data[0] | data[1] << 8);
    if (n > 4096 || size < 2 + 4 * n)
        return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/m.json", dir);
    if (put("w.bin", data + 2, 4 * n) || put("m.json", data + 2 + 4 * n, size - 2 - 4 * n))
        abort();
    tg_ctx *ctx = tg_ctx_new();
    if (!ctx)
        return 0;
    static const char *const outputs[] = {"z"};
    tgi_nn *nn = NULL;
    if (tgi_nn_load_graph(ctx, path, outputs, 1, &nn) != 0) {
        TG_FUZZ_ASSERT(!nn, "refused but returned a model");
        one_line(ctx, "load");
    } else {
        for (int side = 4; side <= 8; side += 4) {
            tgi_nn_session *s = NULL;
            if (tgi_nn_session_new(ctx, nn, 1, side, side, 1, NULL, 0, &s) != 0) {
                one_line(ctx, "session");
                continue;
            }
            int h, w, c;
            float *in = tgi_nn_session_input(s);
            tgi_nn_input_size(nn, &h, &w, &c);
            for (int i = 0; i < side * side * c; i++)
                in[i] = (float)(i % 7) - 3.0f;
            int rc = tgi_nn_forward(ctx, s, 1);
            if (rc == 0)
                TG_FUZZ_ASSERT(tgi_nn_output(s, NULL, &h, &w, &c) && h > 0 && w > 0 && c > 0,
                               "forward ran but there is no output");
            else
                one_line(ctx, "forward");
            tgi_nn_session_free(&s);
        }
        tgi_nn_free(&nn);
    }
    tg_ctx_free(&ctx);
    return 0;
}
