/*
 * fuzz_sniff.c — the upload sniffer (src/fetch/sniff.c): any bytes, any length.
 * Property: the answer is NULL or one of the documented container names.
 */
#include "fetch/sniff.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = {"mp4", "mkv",  "avi", "mpegts", "flv",
                                        "ogg", "mpeg", "asf", "gif"};
    /* a copy of exactly size bytes, so that ASan sees any read past the end */
    uint8_t *head = malloc(size ? size : 1);
    if (!head)
        return 0;
    memcpy(head, data, size);
    const char *k = tgi_sniff_video(head, size);
    if (k) {
        int known = 0;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
            known |= !strcmp(k, kinds[i]);
        TG_FUZZ_ASSERT(known, "unknown kind '%s'", k);
    }
    free(head);
    return 0;
}
