/*
 * sniff.h — is this a video file? Decided by content (magic bytes), never by name.
 */
#ifndef TG_FETCH_SNIFF_H
#define TG_FETCH_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/* The container the first bytes show ("mp4", "mkv", "avi", "mpegts", "flv", "ogg",
 * "mpeg", "asf", "gif") or NULL when they are not a video container. MPEG-TS needs
 * n >= 189 (sync bytes at 0 and 188); 16 bytes decide every other kind. The returned string is
 * static. */
const char *tgi_sniff_video(const uint8_t *head, size_t n);

#endif
