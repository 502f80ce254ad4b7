/*
 * util.h — helpers shared by the tests: where the fixtures and the built binary
 * are, running a command with an argument vector and capturing its output, small
 * file helpers, and decoding a GIF back with giflib to check what a viewer sees.
 */
#ifndef TG_TESTS_UTIL_H
#define TG_TESTS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Absolute path of a fixture file (TG_FIXTURES/name); static buffer per call slot. */
const char *tgt_fixture(const char *name);
/* A fresh scratch path under TG_TMP (created), unique per call. Returned string is
 * malloc'd; the caller frees it. */
char *tgt_tmp_path(const char *suffix);
/* The built CLI (TG_BIN). */
const char *tgt_bin(void);

typedef struct tgt_run {
    int status; /* exit code, or 128+signal */
    char *out;  /* captured stdout (malloc'd, NUL-terminated) */
    char *err;  /* captured stderr */
} tgt_run;
/* Run argv[0] with argv (NULL-terminated), capturing stdout/stderr. */
int tgt_run_cmd(tgt_run *r, char *const argv[]);
/* Run the built thumbgen with the given arguments (NULL-terminated, at most 38). */
int tgt_thumbgen(tgt_run *r, const char *a0, ...);
/* Run `ffmpeg -nostdin -v error -y` with the given arguments (NULL-terminated, at most
 * 34); 0 when it ran and succeeded, else -1 with its stderr on ours. */
int tgt_ffmpeg(const char *a0, ...);
void tgt_run_free(tgt_run *r);

int tgt_file_exists(const char *path);
long tgt_file_size(const char *path);
char *tgt_read_file(const char *path, size_t *len); /* malloc'd, NUL-terminated */

/* Synthetic RGBA frames for the encoder tests: gen(rgba, w, h, i) draws frame i. */
typedef void (*tgt_gen_fn)(uint8_t *rgba, int w, int h, int i);
/* v rounded and clamped to 0..255. */
uint8_t tgt_clamp8(double v);
/* A smooth colour gradient that drifts a little each frame (opaque). */
void tgt_gen_gradient(uint8_t *rgba, int w, int h, int i);
/* A malloc'd w x h RGBA frame drawn by gen (fails the test when out of memory). */
uint8_t *tgt_make_frame(tgt_gen_fn gen, int w, int h, int i);

/* PSNR of the RGB channels of two RGBA images of w x h; 99 when identical. */
double tgt_psnr_rgba(const uint8_t *a, const uint8_t *b, int w, int h);

/* A GIF decoded with giflib and composited the way a browser shows it. */
typedef struct tgt_gif {
    int width, height, frames;
    int loop_count; /* -1 when there is no NETSCAPE2.0 extension */
    int *delays_cs; /* per frame */
    uint8_t **rgba; /* composited canvas after each frame, width*height*4 */
} tgt_gif;
int tgt_gif_load(const char *path, tgt_gif *g); /* 0 on success */
void tgt_gif_free(tgt_gif *g);

/* The choices of the library option named option ("a|b|c") are exactly name_of(0),
 * …, name_of(n - 1), in that order, and its range is 0..n-1: a registry and the
 * option table agree. */
void tgt_assert_choices(const char *option, const char *(*name_of)(int), int n);

#endif
