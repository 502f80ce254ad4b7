/*
 * lzw.c — the GIF LZW compressor (see lzw.h).
 *
 * The dictionary is a trie over codes: next[code][index] finds the exact extension of
 * a string in one load; each code also keeps its first child and next sibling, so the
 * lossy search visits only the extensions that exist. Code sizes follow the usual GIF
 * scheme: the width grows when the last assigned code reaches 1 << width, and a clear
 * code is sent when code 4095 has been assigned. The stream ends with a clear code
 * and the end code (at the reset width), which every decoder accepts whatever its
 * code-size bookkeeping around the last code. A segment that is not the last ends with
 * its code, the width step the entry for that code would cause, and a clear code:
 * exactly the sequence at a full table, so decoders stay in step; tgi_lzw_join then
 * shifts each segment's bits to where the one before ended.
 *
 * next[] (2 MB) is never cleared: clearing each new code's row took a quarter of the
 * compressor's time. An entry counts only when it names a code of the current
 * dictionary made from the very string and index looked up (child_of); as a code is
 * the only extension of its parent by its index, a stale entry either fails that check
 * or names the right code.
 *
 * Lossy with lookahead (tgi_lzw_lossy.look): per string, the first index exact, then
 * the longest run that the dictionary can stand for within the tolerance (look_from:
 * gifsicle/gifski search the trie the same way), emitted as one code.
 *
 *   greedy, per pixel:  exact extension exists? ─yes─► take it
 *                 │no (lossy)                 ▲
 *                 └► closest existing child within tol ─found─┘
 *                 │none
 *                 └► emit the string's code, add string+index, start a new string
 */
#include "render/lzw.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define LZW_CODES 4096

struct tgi_lzw {
    uint16_t next[LZW_CODES][256]; /* the extension, if `child_of` says it is current */
    uint16_t child[LZW_CODES];     /* first child, 0 = none */
    uint16_t sibling[LZW_CODES];
    uint8_t sym[LZW_CODES];     /* the last index of the code's string */
    uint16_t parent[LZW_CODES]; /* the code of the string without its last index */
    uint8_t path[LZW_CODES];    /* scratch: a string's indices */
    tgi_lzw_bits bits;          /* tgi_lzw_encode's code stream ... */
    uint8_t *out;               /* ... cut into sub-blocks */
    size_t out_cap;
    uint8_t *w;   /* bit writer: the buffer being written */
    size_t pos;   /* bytes written */
    uint32_t acc; /* bit accumulator, LSB first */
    int nbits;
};

tgi_lzw *tgi_lzw_new(void)
{
    return calloc(1, sizeof(tgi_lzw));
}

void tgi_lzw_free(tgi_lzw **z)
{
    if (!z || !*z)
        return;
    tgi_lzw_bits_free(&(*z)->bits);
    free((*z)->out);
    free(*z);
    *z = NULL;
}

void tgi_lzw_bits_free(tgi_lzw_bits *b)
{
    if (!b)
        return;
    free(b->buf);
    memset(b, 0, sizeof(*b));
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

static inline void put_code(tgi_lzw *z, unsigned code, int width)
{
    /* standard variable-width LZW: 3..12-bit codes, each fitting its width */
    TG_ASSERT(width >= 3 && width <= 12 && code < (1u << width));
    z->acc |= (uint32_t)code << z->nbits;
    z->nbits += width;
    while (z->nbits >= 8) {
        z->w[z->pos++] = (uint8_t)z->acc;
        z->acc >>= 8;
        z->nbits -= 8;
    }
}

static inline uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void reset_roots(tgi_lzw *z, int nsym)
{
    for (int i = 0; i < nsym; i++)
        z->child[i] = 0;
}

/* The code extending `cur` by index k, or 0: next[cur][k] when it names a code of the
 * current dictionary (eoi < c <= max_code) made as that extension. */
static inline unsigned child_of(const tgi_lzw *z, unsigned cur, unsigned k, unsigned eoi,
                                unsigned max_code)
{
    unsigned c = z->next[cur][k];
    return c > eoi && c <= max_code && z->parent[c] == cur && z->sym[c] == k ? c : 0;
}

/* The colour index s shows at pixel p. */
static inline const uint8_t *shows(const tgi_lzw_lossy *l, int s, size_t p)
{
    return s == l->transparent ? l->bg + 4 * p : l->pal + 3 * s;
}

/* Lossy lookahead (tgi_lzw_lossy.look): the longest string of the dictionary that can
 * stand for the pixels from pos on, each within the tolerance. Depth first, the
 * TG_LZW_FAN closest extensions of each node in order of closeness (the closest is
 * always followed, so the result is never shorter than the greedy one); TG_LZW_LOOK
 * other extensions per string at most. The recursion is as deep as the longest
 * string (< 4096 levels of about 100 bytes). */
#define TG_LZW_LOOK 64 /* extensions tried besides the closest, per string */
#define TG_LZW_FAN  6  /* extensions tried per node, the closest ones */

typedef struct look {
    tgi_lzw *z;
    const tgi_lzw_lossy *l;
    const uint8_t *idx;
    size_t n;
    unsigned mask;
    int budget;
    size_t best_end; /* the furthest pixel reached ... */
    unsigned best;   /* ... by this code */
} look;

static void look_from(look *L, unsigned node, size_t pos, int e0, int e1, int e2)
{
    if (pos > L->best_end)
        L->best_end = pos, L->best = node;
    if (pos >= L->n)
        return;
    const tgi_lzw_lossy *l = L->l;
    tgi_lzw *z = L->z;
    if (l->row > 0 && pos % (size_t)l->row == 0)
        e0 = e1 = e2 = 0;
    unsigned k = L->idx[pos] & L->mask;
    const uint8_t *want = shows(l, (int)k, pos);
    const uint8_t t[3] = {clamp8(want[0] + e0), clamp8(want[1] + e1), clamp8(want[2] + e2)};
    const uint8_t *src = l->src && (int)k == l->transparent ? l->src + 4 * pos : NULL;
    unsigned cand[TG_LZW_FAN];
    int score[TG_LZW_FAN], nc = 0;
    for (unsigned ch = z->child[node]; ch; ch = z->sibling[ch]) {
        const uint8_t *col = shows(l, z->sym[ch], pos);
        if (z->sym[ch] != k) {
            if (tgi_lzw_dist(col, want) > l->tol)
                continue;
            if (src && z->sym[ch] != l->transparent && tgi_lzw_dist(col, src) > l->tol)
                continue;
        }
        int sc = tgi_lzw_dist(col, t);
        if (nc == TG_LZW_FAN && sc >= score[nc - 1])
            continue;
        int j = nc < TG_LZW_FAN ? nc++ : nc - 1;
        while (j > 0 && score[j - 1] > sc) { /* ties keep the sibling order */
            score[j] = score[j - 1];
            cand[j] = cand[j - 1];
            j--;
        }
        score[j] = sc;
        cand[j] = ch;
    }
    for (int i = 0; i < nc && L->best_end < L->n; i++) {
        if (i > 0 && L->budget-- <= 0) /* the closest extension is always followed */
            break;
        const uint8_t *col = shows(l, z->sym[cand[i]], pos);
        look_from(L, cand[i], pos + 1, (t[0] - col[0]) * 3 / 4, (t[1] - col[1]) * 3 / 4,
                  (t[2] - col[2]) * 3 / 4);
    }
}

int tgi_lzw_encode_seg(tgi_lzw *z, const uint8_t *idx, size_t n, int min_bits,
                       const tgi_lzw_lossy *lossy, uint8_t *shown, bool first, bool last,
                       tgi_lzw_bits *out)
{
    if (!z || !idx || n == 0 || min_bits < 2 || min_bits > 8 || !out)
        return -1;
    const int nsym = 1 << min_bits;
    const unsigned clear = (unsigned)nsym, eoi = clear + 1;
    if (lossy && (lossy->tol <= 0 || !lossy->pal || (lossy->transparent >= 0 && !lossy->bg)))
        lossy = NULL;
    /* at most one code (12 bits) per pixel, plus the clear codes: never grows below */
    if (n > SIZE_MAX / 2 - 64 || grow(&out->buf, &out->cap, 2 * n + 64) < 0)
        return -1;
    z->w = out->buf;
    z->pos = 0;
    z->acc = 0;
    z->nbits = 0;

    int width = min_bits + 1;
    unsigned max_code = eoi;
    reset_roots(z, nsym);
    if (first)
        put_code(z, clear, width);
    unsigned cur = idx[0] & (unsigned)(nsym - 1);
    if (shown)
        shown[0] = (uint8_t)cur;
    if (lossy && lossy->look) {
        /* string by string: the first index exact, then the longest lookahead */
        int e[3] = {0, 0, 0};
        size_t p = 0;
        for (;;) {
            look L = {.z = z,
                      .l = lossy,
                      .idx = idx,
                      .n = n,
                      .mask = (unsigned)(nsym - 1),
                      .budget = TG_LZW_LOOK,
                      .best_end = p + 1,
                      .best = cur};
            if (lossy->row > 0 && p % (size_t)lossy->row == 0)
                e[0] = e[1] = e[2] = 0;
            for (int i = 0; i < 3; i++)
                e[i] = e[i] * 3 / 4; /* the first pixel is exact */
            look_from(&L, cur, p + 1, e[0], e[1], e[2]);
            /* the chosen string's pixels, and the error they carry on */
            int len = 0;
            for (unsigned c = L.best; c != cur; c = z->parent[c])
                z->path[len++] = z->sym[c];
            for (int j = len - 1, q = 0; j >= 0; j--, q++) {
                size_t pos = p + 1 + (size_t)q;
                if (lossy->row > 0 && pos % (size_t)lossy->row == 0)
                    e[0] = e[1] = e[2] = 0;
                unsigned k = idx[pos] & (unsigned)(nsym - 1);
                const uint8_t *want = shows(lossy, (int)k, pos),
                              *got = shows(lossy, z->path[j], pos);
                for (int i = 0; i < 3; i++)
                    e[i] = (clamp8(want[i] + e[i]) - got[i]) * 3 / 4;
                if (shown)
                    shown[pos] = z->path[j];
            }
            p = L.best_end;
            cur = L.best;
            if (p >= n)
                break;
            unsigned k = idx[p] & (unsigned)(nsym - 1);
            put_code(z, cur, width);
            unsigned nc = ++max_code;
            z->next[cur][k] = (uint16_t)nc;
            z->child[nc] = 0;
            z->sym[nc] = (uint8_t)k;
            z->parent[nc] = (uint16_t)cur;
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
        goto end;
    }
    int e[3] = {0, 0, 0}; /* lossy: error carried along the row */
    size_t row = lossy && lossy->row > 0 ? (size_t)lossy->row : n, x = 1 % row;
    for (size_t p = 1; p < n; p++, x = x + 1 == row ? 0 : x + 1) {
        unsigned k = idx[p] & (unsigned)(nsym - 1);
        unsigned c = child_of(z, cur, k, eoi, max_code);
        if (!lossy) {
            if (c) {
                cur = c;
                if (shown)
                    shown[p] = (uint8_t)k;
                continue;
            }
        } else {
            if (x == 0) /* p % row */
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
            int best_s = c ? tgi_lzw_dist(want, t) : INT_MAX;
            for (unsigned ch = z->child[cur]; ch; ch = z->sibling[ch]) {
                if (ch == c)
                    continue;
                const uint8_t *col = shows(lossy, z->sym[ch], p);
                int sc = tgi_lzw_dist(col, t);
                if (sc >= best_s || tgi_lzw_dist(col, want) > lossy->tol)
                    continue;
                if (src && z->sym[ch] != lossy->transparent && tgi_lzw_dist(col, src) > lossy->tol)
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
        z->child[nc] = 0;
        z->sym[nc] = (uint8_t)k;
        z->parent[nc] = (uint16_t)cur;
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
end:
    put_code(z, cur, width);
    if (last) {
        put_code(z, clear, width);
        put_code(z, eoi, min_bits + 1);
    } else {
        /* as mid-stream: the entry this code adds may widen the next code (a decoder
         * counts it too), then the clear code, as when the table is full */
        if (max_code + 1 >= (1u << width))
            width++;
        put_code(z, clear, width);
    }
    out->nbits = 8 * z->pos + (size_t)z->nbits;
    if (z->nbits > 0)
        z->w[z->pos] = (uint8_t)z->acc;
    return 0;
}

int tgi_lzw_join(const tgi_lzw_bits *segs, size_t nsegs, uint8_t **buf, size_t *cap, size_t *len)
{
    if (!segs || nsegs == 0 || !buf || !cap || !len)
        return -1;
    size_t bits = 0;
    for (size_t s = 0; s < nsegs; s++)
        bits += segs[s].nbits;
    size_t bytes = (bits + 7) / 8, nblocks = (bytes + 254) / 255;
    if (grow(buf, cap, bytes + nblocks) < 0)
        return -1;
    uint8_t *o = *buf;
    size_t at = 0, left = 0; /* bytes left in the current sub-block */
    uint32_t acc = 0;
    int nacc = 0; /* bits in acc, < 8 between bytes */
#define EMIT(b)                                                                                    \
    do {                                                                                           \
        if (left == 0) {                                                                           \
            left = bytes < 255 ? bytes : 255;                                                      \
            bytes -= left;                                                                         \
            o[at++] = (uint8_t)left;                                                               \
        }                                                                                          \
        o[at++] = (uint8_t)(b);                                                                    \
        left--;                                                                                    \
    } while (0)
    for (size_t s = 0; s < nsegs; s++) {
        const uint8_t *p = segs[s].buf;
        size_t full = segs[s].nbits / 8;
        int rest = (int)(segs[s].nbits % 8);
        for (size_t i = 0; i < full; i++) {
            acc |= (uint32_t)p[i] << nacc;
            EMIT(acc);
            acc >>= 8;
        }
        if (rest) {
            acc |= ((uint32_t)p[full] & ((1u << rest) - 1)) << nacc;
            nacc += rest;
            if (nacc >= 8) {
                EMIT(acc);
                acc >>= 8;
                nacc -= 8;
            }
        }
    }
    if (nacc > 0)
        EMIT(acc);
#undef EMIT
    *len = at;
    return 0;
}

int tgi_lzw_encode(tgi_lzw *z, const uint8_t *idx, size_t n, int min_bits,
                   const tgi_lzw_lossy *lossy, uint8_t *shown, const uint8_t **data, size_t *len)
{
    if (!z || !data || !len ||
        tgi_lzw_encode_seg(z, idx, n, min_bits, lossy, shown, true, true, &z->bits) < 0)
        return -1;
    size_t o = 0;
    if (tgi_lzw_join(&z->bits, 1, &z->out, &z->out_cap, &o) < 0)
        return -1;
    *data = z->out;
    *len = o;
    return 0;
}
