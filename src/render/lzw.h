/*
 * lzw.h — the GIF LZW compressor, exact or lossy, used by the GIF encoder (gif.c).
 *
 * giflib only compresses exactly; this module writes the code stream itself so that
 * gif.c can hand giflib finished data sub-blocks (EGifPutCodeNext). In lossy mode
 * (the gifsicle/gifski idea) a string in the dictionary is extended by a pixel when
 * the colour that string would show there is within a tolerance of the colour the
 * exact index shows, so strings get longer and the file smaller. The transparent
 * index takes part: it "shows" the colour already on the canvas at that pixel, so an
 * opaque pixel that the canvas already shows closely may become transparent and the
 * reverse. Among the acceptable extensions the one closest to the exact colour plus
 * the error carried from the previous pixels of the row wins (1-D error diffusion),
 * so a run keeps the local average colour instead of smearing one colour over a
 * gradient. With `look`, each string is instead the longest acceptable run the
 * dictionary holds (a bounded depth-first search over the acceptable extensions,
 * closest first): fewer codes for the same tolerance.
 *
 * Segments: an image's indices may be cut into consecutive segments that each start
 * with an empty dictionary (the segment before ends with a clear code, sent exactly as
 * when the 4096-entry table fills up). Segments are then independent: the GIF encoder
 * compresses them on several threads and joins their bits (tgi_lzw_join). The joined
 * stream does not depend on which thread compressed what.
 *
 * Invariants: the output decodes with any GIF decoder (standard variable-width LZW,
 * clear code when the 4096-entry table is full or a segment ends, a clear code before
 * the end code); encoding is deterministic; in lossy mode every output pixel is within
 * the tolerance of the exact one (`shown` tells the caller exactly what a decoder will
 * output); no global state (one tgi_lzw per thread).
 */
#ifndef TG_RENDER_LZW_H
#define TG_RENDER_LZW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tgi_lzw tgi_lzw;

/* What "close enough" means in lossy mode. */
typedef struct tgi_lzw_lossy {
    int tol;            /* accepted error: tgi_lzw_dist() <= tol; 0 = exact */
    const uint8_t *pal; /* RGB, 3 bytes per index, (1 << min_bits) entries */
    int transparent;    /* the index showing bg, or -1 (then never substituted) */
    const uint8_t *bg;  /* RGBA, 4 bytes per pixel: what `transparent` shows there */
    const uint8_t *src; /* RGBA per pixel, or NULL: where the exact index is `transparent`,
                           an opaque colour must also be within tol of src (so substitutions
                           stay close to the true picture and never accumulate) */
    int row;            /* pixels per row (the error carried along a row restarts), 0 = n */
    int look;           /* 1: per string, search for the longest acceptable run (bounded
                           depth-first lookahead); 0: extend greedily pixel by pixel */
} tgi_lzw_lossy;

/* A new compressor (about 2.2 MB of tables), or NULL when out of memory. */
tgi_lzw *tgi_lzw_new(void);
/* Frees *z and sets it NULL. Accepts NULL. */
void tgi_lzw_free(tgi_lzw **z);

/* Compress n >= 1 indices (each < 1 << min_bits, min_bits 2..8) as GIF image data: the
 * code stream cut into sub-blocks (a length byte 1..255, then the bytes), without the
 * leading minimum-code-size byte and without the 0-length terminator. The result is
 * valid until the next call: *data, *len. lossy may be NULL (exact). shown (n bytes,
 * may be NULL) receives the indices a decoder will output. Returns 0, or -1 when out
 * of memory. */
int tgi_lzw_encode(tgi_lzw *z, const uint8_t *idx, size_t n, int min_bits,
                   const tgi_lzw_lossy *lossy, uint8_t *shown, const uint8_t **data, size_t *len);

/* One segment's codes: nbits bits, least significant first, in buf (cap bytes). Owned
 * by the caller: zero-initialise, free with tgi_lzw_bits_free. */
typedef struct tgi_lzw_bits {
    uint8_t *buf;
    size_t cap;
    size_t nbits;
} tgi_lzw_bits;

/* Compress one segment of n >= 1 indices (arguments as tgi_lzw_encode; lossy->bg, ->src
 * and shown point at the segment's first pixel, and the segment starts a row) into
 * *out. first: the image's first segment (it begins with the clear code); last: its
 * last one (it ends with the end code; else with a clear code). Returns 0, or -1 for
 * bad arguments or when out of memory. */
int tgi_lzw_encode_seg(tgi_lzw *z, const uint8_t *idx, size_t n, int min_bits,
                       const tgi_lzw_lossy *lossy, uint8_t *shown, bool first, bool last,
                       tgi_lzw_bits *out);
/* Join the bits of nsegs segments, in order, into GIF sub-blocks (as tgi_lzw_encode's
 * data) in *buf, grown as needed (realloc; *cap bytes): *len bytes. Returns 0, or -1
 * when out of memory. */
int tgi_lzw_join(const tgi_lzw_bits *segs, size_t nsegs, uint8_t **buf, size_t *cap, size_t *len);
/* Frees b's buffer and zeroes it. Accepts NULL. */
void tgi_lzw_bits_free(tgi_lzw_bits *b);

/* The colour error used everywhere in the GIF encoder: weighted squared RGB distance
 * divided by the weight sum, so a difference of d in every channel gives d*d. */
static inline int tgi_lzw_dist(const uint8_t *a, const uint8_t *b)
{
    int r = a[0] - b[0], g = a[1] - b[1], bl = a[2] - b[2];
    return (3 * r * r + 4 * g * g + 2 * bl * bl) / 9;
}

#endif
