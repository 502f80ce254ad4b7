/*
 * sniff.c — recognise a video container by its first bytes (see sniff.h). Called
 * on uploads and downloads before the decoder is tried, so that a web page, an
 * image or random bytes get a clear "not a video" instead of a decoder error.
 *
 * It is a cheap first filter, not a proof: a positive answer still goes through the
 * decoder, which says "no video stream" for an audio-only MP4 (brand "M4A ") or Ogg.
 * Still-image brands of the ISO format (HEIF/AVIF) are refused here. MPEG-TS needs
 * two sync bytes 188 bytes apart (a lone 'G' at the start is just text), so it is
 * only recognised when at least 189 bytes are given.
 */
#include "fetch/sniff.h"

#include <string.h>

static int at(const uint8_t *head, size_t n, size_t off, const char *magic, size_t len)
{
    return n >= off + len && memcmp(head + off, magic, len) == 0;
}

static uint32_t be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* ISO base media (MP4, MOV, 3GP, M4V): "ftyp" box first, or a classic QuickTime
 * file that starts with one of its top-level atoms. */
static int is_isobmff(const uint8_t *head, size_t n)
{
    static const char *const images[] = {"heic", "heix", "heim", "heis", "mif1", "avif", "avci"};
    if (n < 8)
        return 0;
    uint32_t size = be32(head);
    if (at(head, n, 4, "ftyp", 4)) {
        if (size < 8)
            return 0;
        for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
            if (at(head, n, 8, images[i], 4))
                return 0;
        return 1;
    }
    static const char *const atoms[] = {"moov", "mdat", "wide", "free", "skip", "pnot"};
    for (size_t i = 0; i < sizeof(atoms) / sizeof(atoms[0]); i++)
        if (at(head, n, 4, atoms[i], 4))
            return size == 0 || size == 1 || size >= 8;
    return 0;
}

const char *tgi_sniff_video(const uint8_t *head, size_t n)
{
    static const uint8_t asf[16] = {0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11,
                                    0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c};
    if (!head || n < 4)
        return NULL;
    if (is_isobmff(head, n))
        return "mp4";
    if (at(head, n, 0, "\x1a\x45\xdf\xa3", 4))
        return "mkv"; /* Matroska and WebM */
    if (at(head, n, 0, "RIFF", 4) && at(head, n, 8, "AVI ", 4))
        return "avi";
    if (at(head, n, 0, "FLV\x01", 4))
        return "flv";
    if (at(head, n, 0, "OggS", 4))
        return "ogg";
    if (at(head, n, 0, "\x00\x00\x01\xba", 4) || at(head, n, 0, "\x00\x00\x01\xb3", 4))
        return "mpeg";
    if (n >= sizeof(asf) && memcmp(head, asf, sizeof(asf)) == 0)
        return "asf";
    if (at(head, n, 0, "GIF87a", 6) || at(head, n, 0, "GIF89a", 6))
        return "gif";
    if (n > 188 && head[0] == 0x47 && head[188] == 0x47)
        return "mpegts";
    if (n > 196 && head[4] == 0x47 && head[196] == 0x47)
        return "mpegts"; /* M2TS: 192-byte packets with a 4-byte time code first */
    return NULL;
}
