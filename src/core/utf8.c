/*
 * utf8.c — UTF-8 boundaries (see utf8.h). A continuation byte is 10xxxxxx; a cut
 * is on a boundary when the byte after it is not a continuation byte.
 */
#include "core/utf8.h"

#include <string.h>

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Length of the valid character at s (at most avail bytes), or 0 when invalid. */
static size_t valid_char(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!is_cont(s[i]))
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

size_t tgi_utf8_prefix(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len <= max)
        return len;
    size_t n = max;
    /* a character is at most 4 bytes: step back over at most 3 continuation bytes */
    for (int k = 0; k < 3 && n > 0 && is_cont((unsigned char)s[n]); k++)
        n--;
    return is_cont((unsigned char)s[n]) ? max : n;
}

size_t tgi_utf8_trim_end(const char *s, size_t len)
{
    /* find the last byte that is not a continuation byte, within the last 4 */
    size_t i = len;
    for (int k = 0; k < 4 && i > 0; k++) {
        i--;
        unsigned char c = (unsigned char)s[i];
        if (is_cont(c))
            continue;
        if (c < 0x80)
            return len;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return len - i < need ? i : len;
    }
    return len;
}

char *tgi_utf8_copy(char *dst, size_t n, const char *src)
{
    if (!n)
        return dst;
    size_t len = tgi_utf8_prefix(src ? src : "", n - 1);
    memmove(dst, src ? src : "", len);
    dst[len] = '\0';
    return dst;
}

size_t tgi_utf8_char_len(const char *s)
{
    size_t avail = strnlen(s, 4);
    size_t n = avail ? valid_char((const unsigned char *)s, avail) : 0;
    return n ? n : 1;
}

int tgi_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = valid_char(p + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

void tgi_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = valid_char(p + i, len - i);
        if (n) {
            i += n;
        } else {
            p[i] = '?';
            i++;
        }
    }
}
