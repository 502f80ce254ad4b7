/*
 * image.h — still images (the poster) encoded with libavcodec's mjpeg and png
 * encoders, so no further image library is needed.
 */
#ifndef TG_MEDIA_IMAGE_H
#define TG_MEDIA_IMAGE_H

#include <stdint.h>

#include "thumbgen.h"

enum tgi_image_format { TG_IMAGE_JPEG = 0, TG_IMAGE_PNG = 1 };

/* Bytes past the end of a picture that libswscale's SIMD input readers may read (FFmpeg's
 * own buffers carry AV_INPUT_BUFFER_PADDING_SIZE, 64): a picture thumbgen allocates and
 * hands to sws_scale as its source is allocated this much larger. Without it, a buffer
 * that ends at the end of a page (glibc maps blocks of 256 KB and more: cli/main.c) made
 * sws_scale read the unmapped page after it (a 1280x720 RGB24 poster under
 * ThreadSanitizer's allocator: SIGSEGV in libswscale). */
#define TGI_SWS_SLACK 64

/* The format a file name asks for (.jpg/.jpeg/.png, case-insensitive), or -1. */
int tgi_image_format_for(const char *path);

/* Encode an RGB24 image (stride = w*3, borrowed) and write it to fd. quality 1..100
 * (JPEG only). */
int tgi_image_write(tg_ctx *ctx, int fd, int format, const uint8_t *rgb, int w, int h, int quality);

#endif
