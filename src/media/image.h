/*
 * image.h — still images (the poster) encoded with libavcodec's mjpeg and png
 * encoders, so no further image library is needed.
 */
#ifndef TG_MEDIA_IMAGE_H
#define TG_MEDIA_IMAGE_H

#include <stdint.h>

#include "thumbgen.h"

enum tgi_image_format { TG_IMAGE_JPEG = 0, TG_IMAGE_PNG = 1 };

/* The format a file name asks for (.jpg/.jpeg/.png, case-insensitive), or -1. */
int tgi_image_format_for(const char *path);

/* Encode an RGB24 image (stride = w*3, borrowed) and write it to fd. quality 1..100
 * (JPEG only). */
int tgi_image_write(tg_ctx *ctx, int fd, int format, const uint8_t *rgb, int w, int h, int quality);

#endif
