/*
 * fuzz_range.c — the HTTP Range parser (tgi_http_parse_range, src/serve/http.c).
 * The first 8 bytes are the file size, the rest the header value. Properties: a
 * range it accepts lies inside the file (a <= b < size); a suffix or open range of
 * an empty file is never accepted.
 */
#include "fuzz.h"
#include "serve/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t fsize = 0;
    memcpy(&fsize, data, 8);
    if (data[0] & 1)
        fsize &= 0xffff; /* small files half the time, where the edges are */
    char *h = tg_fuzz_string(data + 8, size - 8);
    if (!h)
        return 0;
    uint64_t a = 7, b = 7;
    int rc = tgi_http_parse_range(h, fsize, &a, &b);
    TG_FUZZ_ASSERT(rc == 0 || rc == 1 || rc == -1, "rc %d", rc);
    if (rc == 0)
        TG_FUZZ_ASSERT(fsize > 0 && a <= b && b < fsize, "'%s' of %llu bytes -> %llu-%llu", h,
                       (unsigned long long)fsize, (unsigned long long)a, (unsigned long long)b);
    free(h);
    return 0;
}
