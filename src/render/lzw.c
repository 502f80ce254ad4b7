/*
 * lzw.c — the GIF LZW compressor (see lzw.h).
 *
 * The dictionary is a trie over codes: next[code][index] finds the exact extension of
 * a string in one load; each code also keeps its first child and next sibling, so the
 * lossy search visits only the extensions that exist. Code sizes follow the usual GIF
 * scheme: the width grows when the last assigned code reaches 1 << width, and a clear
 * code is sent when code 4095 has been assigned. The stream ends with a clear code
 * and the end code (at the reset width), which every decoder accepts whatever its
 * code-size bookkeeping around the last code.
 *
 *   per pixel:  exact extension exists? ─yes─► take it
 *                 │no (lossy)                 ▲
 *                 └► closest existing child within tol ─found─┘
 *                 │none
 *                 └► emit the string's code, add string+index, start a new string
 */
#include "render/lzw.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LZW_CODES 4096

struct tg_lzw {
    uint16_t next[LZW_CODES][256]; /* 0 = no such extension (code 0 is never a child) */
    uint16_t child[LZW_CODES];     /* first child, 0 = none */
    uint16_t sibling[LZW_CODES];
    uint8_t sym[LZW_CODES]; /* the last index of the code's string */
    uint8_t *raw;           /* the packed code stream */
    size_t raw_len, raw_cap;
    uint8_t *out; /* the same cut into sub-blocks */
    size_t out_cap;
    uint32_t acc; /* bit accumulator, LSB first */
    int nbits;
};

tg_lzw *tg_lzw_new(void)
{
    return calloc(1, sizeof(tg_lzw));
}

void tg_lzw_free(tg_lzw **z)
{
    if (!z || !*z)
        return;
    free((*z)->raw);
    free((*z)->out);
    free(*z);
    *z = NULL;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    uint8_t *p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static inline void put_code(tg_lzw *z, unsigned code, int width)
{
    z->acc |= (uint32_t)code << z->nbits;
    z->nbits += width;
    while (z->nbits >= 8) {
        z->raw[z->raw_len++] = (uint8_t)z->acc;
        z->acc >>= 8;
        z->nbits -= 8;
    }
}

static inline uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void reset_roots(tg_lzw *z, int nsym)
{
    for (int i = 0; i < nsym; i++) {
        memset(z->next[i], 0, (size_t)nsym * sizeof(z->next[0][0]));
        z->child[i] = 0;
    }
}

/* The colour index s shows at pixel p. */
static inline const uint8_t *shows(const tg_lzw_lossy *l, int s, size_t p)
{
    return s == l->transparent ? l->bg + 4 * p : l->pal + 3 * s;
}

int tg_lzw_encode(tg_lzw *z, const uint8_t *idx, size_t n, int min_bits, const tg_lzw_lossy *lossy,
                  uint8_t *shown, const uint8_t **data, size_t *len)
{
    if (!z || !idx || n == 0 || min_bits < 2 || min_bits > 8 || !data || !len)
        return -1;
    const int nsym = 1 << min_bits;
    const unsigned clear = (unsigned)nsym, eoi = clear + 1;
    if (lossy && (lossy->tol <= 0 || !lossy->pal || (lossy->transparent >= 0 && !lossy->bg)))
        lossy = NULL;
    z->raw_len = 0;
    z->acc = 0;
    z->nbits = 0;
    /* at most one code (12 bits) per pixel, plus the clear codes: never grows below */
    if (n > SIZE_MAX / 2 - 64 || grow(&z->raw, &z->raw_cap, 2 * n + 64) < 0)
        return -1;

    int width = min_bits + 1;
    unsigned max_code = eoi;
    reset_roots(z, nsym);
    put_code(z, clear, width);
    unsigned cur = idx[0] & (unsigned)(nsym - 1);
    if (shown)
        shown[0] = (uint8_t)cur;
    int e[3] = {0, 0, 0}; /* lossy: error carried along the row */
    for (size_t p = 1; p < n; p++) {
        unsigned k = idx[p] & (unsigned)(nsym - 1);
        unsigned c = z->next[cur][k];
        if (!lossy) {
            if (c) {
                cur = c;
                if (shown)
                    shown[p] = (uint8_t)k;
                continue;
            }
        } else {
            if (lossy->row > 0 && p % (size_t)lossy->row == 0)
                e[0] = e[1] = e[2] = 0;
            const uint8_t *want = shows(lossy, (int)k, p);
            if (c && !e[0] && !e[1] && !e[2]) {
                cur = c;
                if (shown)
                    shown[p] = (uint8_t)k;
                continue;
            }
            /* the target: the exact colour plus the error carried so far */
            const uint8_t t[3] = {clamp8(want[0] + e[0]), clamp8(want[1] + e[1]),
                                  clamp8(want[2] + e[2])};
            const uint8_t *src =
                lossy->src && (int)k == lossy->transparent ? lossy->src + 4 * p : NULL;
            unsigned best = c;
            int best_s = c ? tg_lzw_dist(want, t) : INT_MAX;
            for (unsigned ch = z->child[cur]; ch; ch = z->sibling[ch]) {
                if (ch == c)
                    continue;
                const uint8_t *col = shows(lossy, z->sym[ch], p);
                int sc = tg_lzw_dist(col, t);
                if (sc >= best_s || tg_lzw_dist(col, want) > lossy->tol)
                    continue;
                if (src && z->sym[ch] != lossy->transparent && tg_lzw_dist(col, src) > lossy->tol)
                    continue;
                best_s = sc;
                best = ch;
            }
            const uint8_t *got = best ? shows(lossy, z->sym[best], p) : want;
            for (int i = 0; i < 3; i++)
                e[i] = (t[i] - got[i]) * 3 / 4;
            if (best) {
                cur = best;
                if (shown)
                    shown[p] = z->sym[best];
                continue;
            }
        }
        put_code(z, cur, width);
        unsigned nc = ++max_code;
        z->next[cur][k] = (uint16_t)nc;
        memset(z->next[nc], 0, (size_t)nsym * sizeof(z->next[0][0]));
        z->child[nc] = 0;
        z->sym[nc] = (uint8_t)k;
        z->sibling[nc] = z->child[cur];
        z->child[cur] = (uint16_t)nc;
        if (max_code >= (1u << width))
            width++;
        if (max_code == LZW_CODES - 1) {
            put_code(z, clear, width);
            width = min_bits + 1;
            max_code = eoi;
            reset_roots(z, nsym);
        }
        cur = k;
        if (shown)
            shown[p] = (uint8_t)k;
    }
    put_code(z, cur, width);
    put_code(z, clear, width);
    put_code(z, eoi, min_bits + 1);
    if (z->nbits > 0)
        put_code(z, 0, 8 - z->nbits);

    /* cut into sub-blocks of at most 255 bytes */
    size_t nblocks = (z->raw_len + 254) / 255;
    if (grow(&z->out, &z->out_cap, z->raw_len + nblocks) < 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < z->raw_len; i += 255) {
        size_t m = z->raw_len - i < 255 ? z->raw_len - i : 255;
        z->out[o++] = (uint8_t)m;
        memcpy(z->out + o, z->raw + i, m);
        o += m;
    }
    *data = z->out;
    *len = o;
    return 0;
}
