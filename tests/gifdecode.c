/*
 * gifdecode.c — decode a GIF with giflib (DGifSlurp) and composite it the way a browser
 * shows it, so tests can compare what a viewer sees with the source frames.
 *
 * The canvas starts transparent black. Each frame is drawn over it (its transparent
 * index leaves the canvas as it is; sub-rectangles are clipped to the screen), and the
 * frame's disposal is applied before the next frame is drawn: DISPOSE_BACKGROUND
 * clears its rectangle to transparent black, DISPOSE_PREVIOUS restores the canvas as it
 * was before the frame. rgba[i] is the canvas a viewer shows while frame i is up.
 * The loop count comes from the NETSCAPE2.0 application extension (-1 if absent).
 */
#include <gif_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *errstr(int e)
{
    const char *s = GifErrorString(e);
    return s ? s : "unknown giflib error";
}

/* NETSCAPE2.0 (or ANIMEXTS1.0) block followed by a sub-block {1, lo, hi}. */
static int find_loop(const ExtensionBlock *b, int n)
{
    for (int i = 0; i + 1 < n; i++) {
        if (b[i].Function != APPLICATION_EXT_FUNC_CODE || b[i].ByteCount != 11)
            continue;
        if (memcmp(b[i].Bytes, "NETSCAPE2.0", 11) != 0 &&
            memcmp(b[i].Bytes, "ANIMEXTS1.0", 11) != 0)
            continue;
        const ExtensionBlock *s = &b[i + 1];
        if (s->Function == CONTINUE_EXT_FUNC_CODE && s->ByteCount >= 3 && s->Bytes[0] == 1)
            return s->Bytes[1] | (s->Bytes[2] << 8);
    }
    return -1;
}

static void draw(uint8_t *canvas, int W, int H, const SavedImage *im, const ColorMapObject *cmap,
                 int transparent)
{
    const GifImageDesc *d = &im->ImageDesc;
    for (int y = 0; y < d->Height; y++) {
        int cy = d->Top + y;
        if (cy < 0 || cy >= H)
            continue;
        for (int x = 0; x < d->Width; x++) {
            int cx = d->Left + x;
            if (cx < 0 || cx >= W)
                continue;
            int k = im->RasterBits[(size_t)y * (size_t)d->Width + (size_t)x];
            if (k == transparent || k >= cmap->ColorCount)
                continue;
            uint8_t *c = canvas + ((size_t)cy * (size_t)W + (size_t)cx) * 4;
            c[0] = cmap->Colors[k].Red;
            c[1] = cmap->Colors[k].Green;
            c[2] = cmap->Colors[k].Blue;
            c[3] = 255;
        }
    }
}

static void clear_rect(uint8_t *canvas, int W, int H, const GifImageDesc *d)
{
    for (int y = d->Top; y < d->Top + d->Height; y++) {
        if (y < 0 || y >= H)
            continue;
        for (int x = d->Left; x < d->Left + d->Width; x++)
            if (x >= 0 && x < W)
                memset(canvas + ((size_t)y * (size_t)W + (size_t)x) * 4, 0, 4);
    }
}

int tgt_gif_load(const char *path, tgt_gif *g)
{
    memset(g, 0, sizeof(*g));
    g->loop_count = -1;
    int err = 0;
    GifFileType *gf = DGifOpenFileName(path, &err);
    if (!gf) {
        fprintf(stderr, "tgt_gif_load: %s: %s\n", path, errstr(err));
        return -1;
    }
    uint8_t *prev = NULL;
    if (DGifSlurp(gf) == GIF_ERROR) {
        fprintf(stderr, "tgt_gif_load: %s: %s\n", path, errstr(gf->Error));
        goto fail;
    }
    int W = gf->SWidth, H = gf->SHeight, n = gf->ImageCount;
    if (W < 1 || H < 1 || n < 0) {
        fprintf(stderr, "tgt_gif_load: %s: bad screen %dx%d\n", path, W, H);
        goto fail;
    }
    size_t bytes = (size_t)W * (size_t)H * 4;
    g->width = W;
    g->height = H;
    g->delays_cs = calloc((size_t)n + 1, sizeof(*g->delays_cs));
    g->rgba = calloc((size_t)n + 1, sizeof(*g->rgba));
    prev = malloc(bytes);
    if (!g->delays_cs || !g->rgba || !prev)
        goto fail;
    for (int i = 0; i < n && g->loop_count < 0; i++)
        g->loop_count =
            find_loop(gf->SavedImages[i].ExtensionBlocks, gf->SavedImages[i].ExtensionBlockCount);
    if (g->loop_count < 0)
        g->loop_count = find_loop(gf->ExtensionBlocks, gf->ExtensionBlockCount);

    for (int i = 0; i < n; i++) {
        const SavedImage *im = &gf->SavedImages[i];
        GraphicsControlBlock gcb = {DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
        DGifSavedExtensionToGCB(gf, i, &gcb);
        const ColorMapObject *cmap =
            im->ImageDesc.ColorMap ? im->ImageDesc.ColorMap : gf->SColorMap;
        if (!cmap) {
            fprintf(stderr, "tgt_gif_load: %s: frame %d has no colour map\n", path, i);
            goto fail;
        }
        if (!(g->rgba[i] = malloc(bytes)))
            goto fail;
        g->frames = i + 1;
        if (i == 0)
            memset(g->rgba[i], 0, bytes);
        else
            memcpy(g->rgba[i], g->rgba[i - 1], bytes);
        /* the previous frame's disposal happens before this frame is drawn */
        if (i > 0) {
            GraphicsControlBlock pg = {DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
            DGifSavedExtensionToGCB(gf, i - 1, &pg);
            if (pg.DisposalMode == DISPOSE_BACKGROUND)
                clear_rect(g->rgba[i], W, H, &gf->SavedImages[i - 1].ImageDesc);
            else if (pg.DisposalMode == DISPOSE_PREVIOUS)
                memcpy(g->rgba[i], prev, bytes);
        }
        memcpy(prev, g->rgba[i], bytes); /* the canvas before frame i */
        draw(g->rgba[i], W, H, im, cmap, gcb.TransparentColor);
        g->delays_cs[i] = gcb.DelayTime;
    }
    free(prev);
    DGifCloseFile(gf, NULL);
    return 0;
fail:
    free(prev);
    DGifCloseFile(gf, NULL);
    tgt_gif_free(g);
    return -1;
}

void tgt_gif_free(tgt_gif *g)
{
    if (!g)
        return;
    if (g->rgba)
        for (int i = 0; i < g->frames; i++)
            free(g->rgba[i]);
    free(g->rgba);
    free(g->delays_cs);
    memset(g, 0, sizeof(*g));
    g->loop_count = -1;
}
