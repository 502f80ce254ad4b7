/*
 * colour.h — a decoded frame into the RGB that thumbgen measures and shows, with the
 * colours a player shows.
 *
 * libswscale converts YUV with BT.601's matrix and limited range unless told otherwise,
 * whatever the frame says. Here it is told what the frame says: its matrix (BT.709 for
 * nearly every HD video that is tagged, BT.2020 for HDR) and its range (a full-range
 * frame of a yuv420p stream, as some phones record). An untagged frame keeps
 * swscale's BT.601, which is also what ffmpeg assumes when it makes such files.
 *
 * An interlaced frame is scaled from its top field alone (no combing, no ghosted
 * captions; every output is smaller than a field).
 *
 * HDR frames (PQ or HLG transfer: phones' HDR recordings, HDR uploads) are scaled by
 * swscale, then tone-mapped to BT.709 by libavfilter: zscale (zimg) to linear light,
 * BT.2020 primaries to BT.709, tonemap's mobius curve (in-range material kept, highlights
 * rolled off), BT.709 transfer. Without this an HLG video came out grey and pale.
 */
#ifndef TG_MEDIA_COLOUR_H
#define TG_MEDIA_COLOUR_H

#include <stdint.h>

#include <libavutil/frame.h>

#include "thumbgen.h"

typedef struct tgi_colour tgi_colour;

/* Frame f scaled to ow x oh with the swscale flags sws_flags, as RGB24 (bpp 3) or RGBA
 * (bpp 4, opaque) into dst (ow * bpp bytes a row). *c keeps the scaler (and the HDR
 * graph) from call to call: NULL at first, then reused while the sizes and the
 * frame's colour description stay. Returns 0 or a TG_E* code (ctx says why). */
int tgi_colour_scale(tg_ctx *ctx, tgi_colour **c, const AVFrame *f, int ow, int oh, int bpp,
                     int sws_flags, uint8_t *dst);

/* 1 when f's transfer is PQ or HLG (tgi_colour_scale tone-maps it). */
int tgi_colour_is_hdr(const AVFrame *f);

/* 1 when this libavfilter has zscale (zimg) and tonemap; without them an HDR frame is
 * converted like an SDR one with its BT.2020 matrix (pale, but the work goes on). */
int tgi_colour_hdr_ready(void);

void tgi_colour_free(tgi_colour **c);

#endif
