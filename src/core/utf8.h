/*
 * utf8.h — cutting and checking text on UTF-8 character boundaries.
 *
 * Every truncation in thumbgen (messages, names, URLs, buffers of fixed size) goes
 * through these helpers so that a cut never lands inside a multi-byte character:
 * a half character makes the JSON writer refuse the whole reply. Text that arrives
 * already invalid (a file name, an old database row) is made valid with
 * tgi_utf8_sanitize() before it is put into JSON. Pure functions, no allocation.
 */
#ifndef TG_CORE_UTF8_H
#define TG_CORE_UTF8_H

#include <stddef.h>

/* Length of the longest prefix of s, at most max bytes, that does not end inside a
 * character (strlen(s) when it fits). */
size_t tgi_utf8_prefix(const char *s, size_t max);
/* For printf: "%.*s" with TG_CUT(s, max) prints at most max bytes of s, cut on a
 * character boundary ("%.200s" could cut inside one). */
#define TG_CUT(s, max) (int)tgi_utf8_prefix((s), (max)), (s)

/* Length of s[0..len) without a trailing incomplete character (after a cut that
 * did not use tgi_utf8_prefix, e.g. vsnprintf's). */
size_t tgi_utf8_trim_end(const char *s, size_t len);
/* Copy src into dst of size n (n > 0), cut on a character boundary when it does
 * not fit; always NUL-terminated. Returns dst. */
char *tgi_utf8_copy(char *dst, size_t n, const char *src);
/* Bytes of the character that starts at s (1..4; 1 for a byte that starts none). */
size_t tgi_utf8_char_len(const char *s);
/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or bytes past U+10FFFF). */
int tgi_utf8_valid(const char *s, size_t len);
/* Replace each byte that is not part of a valid character by '?', in place. */
void tgi_utf8_sanitize(char *s);

#endif
