/*
 * sheet.c — the contact sheet (see sheet.h): cells of 320 px (never upscaled),
 * ceil(sqrt(K)) columns, 4 px gaps on a dark background, keyframes in rank order.
 */
#include "render/sheet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "media/image.h"
#include "render/render.h"

/* 5x7 glyphs, one byte a row, the low 5 bits left to right */
static const struct {
    char c;
    uint8_t rows[7];
} font[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
    {' ', {0, 0, 0, 0, 0, 0, 0}},
};

static const uint8_t *glyph(char c)
{
    for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
        if (font[i].c == c)
            return font[i].rows;
    return font[sizeof(font) / sizeof(font[0]) - 1].rows;
}

void tgi_sheet_label(uint8_t *rgb, int w, int h, int x, int y, int scale, const char *text)
{
    int n = (int)strlen(text), pad = scale * 2;
    int bw = n * 6 * scale + 2 * pad - scale, bh = 7 * scale + 2 * pad;
    for (int yy = y; yy < y + bh && yy < h; yy++)
        for (int xx = x; xx < x + bw && xx < w; xx++) {
            if (xx < 0 || yy < 0)
                continue;
            uint8_t *p = rgb + ((size_t)yy * w + xx) * 3;
            for (int k = 0; k < 3; k++)
                p[k] = (uint8_t)(p[k] / 4); /* darken: readable on any picture */
        }
    for (int i = 0; i < n; i++) {
        const uint8_t *g = glyph(text[i]);
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++) {
                if (!(g[r] & (0x10 >> col)))
                    continue;
                for (int sy = 0; sy < scale; sy++)
                    for (int sx = 0; sx < scale; sx++) {
                        int px = x + pad + (i * 6 + col) * scale + sx;
                        int py = y + pad + r * scale + sy;
                        if (px >= 0 && py >= 0 && px < w && py < h)
                            memset(rgb + ((size_t)py * w + px) * 3, 255, 3);
                    }
            }
    }
}

typedef struct grab {
    uint8_t *buf;
    size_t bytes;
    int got;
} grab;

static int on_frame(void *user, const tgi_frame *f)
{
    grab *g = user;
    memcpy(g->buf, f->data, g->bytes);
    g->got = 1;
    return 1;
}

void tgi_sheet_cell_size(const tg_plan *plan, int *cw, int *ch)
{
    tgi_render_size(plan->crop.w, plan->crop.h, 320, cw, ch);
}

int tgi_sheet_write(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o, int fd,
                    int format, const tgi_still_req *taken)
{
    size_t k = plan->n_keyframes;
    if (k == 0)
        return tgi_fail(ctx, TG_EPLAN, "the plan has no keyframes for a contact sheet");
    int cw, ch, gap = 4;
    tgi_sheet_cell_size(plan, &cw, &ch);
    int cols = (int)ceil(sqrt((double)k)), rows = (int)((k + (size_t)cols - 1) / (size_t)cols);
    int W = cols * cw + (cols + 1) * gap, H = rows * ch + (rows + 1) * gap;
    W += W & 1;
    H += H & 1;
    uint8_t *sheet = malloc((size_t)W * H * 3), *cell = malloc((size_t)cw * ch * 3);
    int rc = 0;
    if (!sheet || !cell) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d contact sheet", W, H);
        goto done;
    }
    memset(sheet, 24, (size_t)W * H * 3);
    for (size_t i = 0; i < k; i++) {
        const tg_keyframe *kf = &plan->keyframes[i];
        grab g = {.buf = cell, .bytes = (size_t)cw * ch * 3};
        if (taken && taken[i].got) {
            memcpy(cell, taken[i].buf, g.bytes);
            g.got = 1;
        }
        tgi_decode_req rq = {.start = kf->t,
                             .end = kf->t + 2.0,
                             .width = cw,
                             .height = ch,
                             .crop = plan->crop,
                             .pix = TG_PIX_RGB24};
        if (!g.got && (rc = tgi_media_decode(ctx, m, &rq, on_frame, &g, NULL)) < 0)
            goto done;
        if (!g.got) {
            rc = tgi_fail(ctx, TG_ECORRUPT, "no frame could be decoded at %.2f s", kf->t);
            goto done;
        }
        char label[32];
        int mins = (int)(kf->t / 60);
        snprintf(label, sizeof(label), "#%zu %d:%04.1f", i + 1, mins, kf->t - 60 * mins);
        tgi_sheet_label(cell, cw, ch, 4, ch - 7 * 2 - 12, 2, label);
        int cx = gap + (int)(i % (size_t)cols) * (cw + gap);
        int cy = gap + (int)(i / (size_t)cols) * (ch + gap);
        for (int y = 0; y < ch; y++)
            memcpy(sheet + ((size_t)(cy + y) * W + cx) * 3, cell + (size_t)y * cw * 3,
                   (size_t)cw * 3);
        if ((rc = tgi_progress(ctx, "sheet", (double)(i + 1) / k)) < 0)
            goto done;
    }
    rc = tgi_image_write(ctx, fd, format, sheet, W, H, o->quality);
done:
    free(sheet);
    free(cell);
    return rc;
}
