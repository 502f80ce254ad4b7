/* test_core.c — the error table, the context, option tables and atomic files. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "thumbgen.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/file.h"
#include "core/pool.h"
#include "core/proc.h"
#include "core/utf8.h"
#include "util.h"

START_TEST(error_table_is_consistent)
{
    ck_assert_str_eq(tg_errname(TG_EINVAL), "EINVAL");
    ck_assert_str_eq(tg_strerror(TG_ENOVIDEO), "no video stream");
    ck_assert_int_eq(tg_http_status(TG_ENOENT), 404);
    ck_assert_int_eq(tg_http_status(TG_EFORMAT), 415);
    ck_assert_int_eq(tg_http_status(TG_OK), 200);
    ck_assert_str_eq(tg_strerror(-9999), "unknown error");
    /* every code has a distinct name */
    for (int a = TG_EREFUSED; a <= 0; a++)
        for (int b = a + 1; b <= 0; b++)
            ck_assert_str_ne(tg_errname(a), tg_errname(b));
}
END_TEST

static int calls;
static void count_progress(void *user, const char *stage, double f)
{
    (void)stage;
    *(double *)user = f;
    calls++;
}

START_TEST(context_keeps_detail_and_cancels)
{
    tg_ctx *c = tg_ctx_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(tg_ctx_message(c), "");
    ck_assert_int_eq(tgi_fail(c, TG_EIO, "cannot read %s", "x.mp4"), TG_EIO);
    ck_assert_str_eq(tg_ctx_message(c), "cannot read x.mp4");
    tgi_fail_keep(c, TG_EIO, "outer detail");
    ck_assert_str_eq(tg_ctx_message(c), "cannot read x.mp4");
    tg_ctx_clear(c);
    tgi_fail_keep(c, TG_EIO, "outer detail");
    ck_assert_str_eq(tg_ctx_message(c), "outer detail");

    double last = -1;
    calls = 0;
    tg_ctx_set_progress(c, count_progress, &last);
    ck_assert_int_eq(tgi_progress(c, "analyze", 1.7), 0);
    ck_assert_int_eq(calls, 1);
    ck_assert_double_eq(last, 1.0); /* clamped */
    tg_ctx_cancel(c);
    ck_assert_int_eq(tgi_progress(c, "analyze", 0.5), TG_ECANCEL);
    tg_ctx_free(&c);
    ck_assert_ptr_null(c);
    tg_ctx_free(&c); /* accepts NULL */
}
END_TEST

START_TEST(options_come_from_the_tables)
{
    tg_options o;
    tg_options_default(&o);
    ck_assert_int_eq(o.clips, 3);
    ck_assert_double_gt(o.clip_len, 1.19);
    ck_assert_double_lt(o.clip_len, 1.21);
    ck_assert_int_eq(o.keyframes, 6);
    ck_assert_int_eq(o.width, 480);
    ck_assert_int_eq(o.fps, 12);
    ck_assert_int_eq(o.quality, 90);
    ck_assert_int_eq(o.style, TG_STYLE_CLIPS);

    tg_ctx *c = tg_ctx_new();
    ck_assert_int_eq(tg_options_set(c, &o, "clips", "5"), 0);
    ck_assert_int_eq(o.clips, 5);
    ck_assert_int_eq(tg_options_set(c, &o, "style", "slideshow"), 0);
    ck_assert_int_eq(o.style, TG_STYLE_SLIDESHOW);
    ck_assert_int_eq(tg_options_set(c, &o, "clip-len", "2.5"), 0);
    ck_assert_double_eq(o.clip_len, 2.5);
    ck_assert_int_eq(tg_options_set(c, &o, "width", "0"), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(c), "between"));
    ck_assert_int_eq(tg_options_set(c, &o, "fps", "500"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(c, &o, "clips", "2.5"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(c, &o, "clips", "3x"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(c, &o, "clips", "nan"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(c, &o, "style", "fancy"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(c, &o, "nosuch", "1"), TG_EINVAL);
    ck_assert_int_eq(o.clips, 5); /* failed sets change nothing */
    tg_ctx_free(&c);
}
END_TEST

START_TEST(sizes_parse_with_binary_units)
{
    double v = -1;
    ck_assert_int_eq(tg_parse_bytes("2M", &v), 0);
    ck_assert_double_eq(v, 2097152);
    ck_assert_int_eq(tg_parse_bytes("500k", &v), 0);
    ck_assert_double_eq(v, 512000);
    ck_assert_int_eq(tg_parse_bytes("1.5m", &v), 0);
    ck_assert_double_eq(v, 1572864);
    ck_assert_int_eq(tg_parse_bytes("1G", &v), 0);
    ck_assert_double_eq(v, 1073741824.0);
    ck_assert_int_eq(tg_parse_bytes("12", &v), 0);
    ck_assert_double_eq(v, 12);
    static const char *bad[] = {"", "k", "2X", "2MB", "nan", "1e999", " "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(tg_parse_bytes(bad[i], &v) == TG_EINVAL, "'%s' accepted", bad[i]);
    /* the option table uses the same reading */
    tg_options o;
    tg_options_default(&o);
    ck_assert_int_eq(tg_options_set(NULL, &o, "max-bytes", "2M"), 0);
    ck_assert_int_eq(o.max_bytes, 2097152);
    ck_assert_int_eq(tg_options_set(NULL, &o, "max-bytes", "0"), TG_EINVAL);
}
END_TEST

START_TEST(atomic_file_commit_and_abort)
{
    char *path = tgt_tmp_path(".out");
    tgi_atomic a;
    ck_assert_int_eq(tgi_atomic_open(NULL, path, &a), 0);
    ck_assert_int_eq(tgt_file_exists(path), 0); /* invisible until committed */
    ck_assert_int_eq(tgi_write_all(NULL, a.fd, "hello", 5), 0);
    ck_assert_int_eq(tgi_atomic_commit(NULL, &a), 0);
    ck_assert_int_eq(tgt_file_size(path), 5);
    unlink(path);

    ck_assert_int_eq(tgi_atomic_open(NULL, path, &a), 0);
    char *tmp = strdup(a.tmp);
    ck_assert_int_eq(tgi_write_all(NULL, a.fd, "partial", 7), 0);
    tgi_atomic_abort(&a);
    ck_assert_int_eq(tgt_file_exists(path), 0);
    ck_assert_int_eq(tgt_file_exists(tmp), 0);

    tg_ctx *c = tg_ctx_new();
    ck_assert_int_eq(tgi_atomic_open(c, "/nonexistent-dir/x.gif", &a), TG_EIO);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(c), "/nonexistent-dir/x.gif"));
    tg_ctx_free(&c);
    free(tmp);
    free(path);
}
END_TEST

/* Issue 12 point 1: a cut never lands inside a character. */
START_TEST(cuts_land_on_character_boundaries)
{
    const char *e3 = "a\xc3\xa9\xc3\xa9"; /* "aéé": 5 bytes */
    ck_assert_uint_eq(tgi_utf8_prefix(e3, 10), 5);
    ck_assert_uint_eq(tgi_utf8_prefix(e3, 5), 5);
    ck_assert_uint_eq(tgi_utf8_prefix(e3, 4), 3);
    ck_assert_uint_eq(tgi_utf8_prefix(e3, 2), 1);
    ck_assert_uint_eq(tgi_utf8_prefix("\xf0\x9f\x98\x80z", 3), 0); /* an emoji */
    ck_assert_uint_eq(tgi_utf8_trim_end(e3, 4), 3);
    ck_assert_uint_eq(tgi_utf8_trim_end(e3, 5), 5);
    ck_assert_uint_eq(tgi_utf8_trim_end("ab", 2), 2);
    char buf[5];
    ck_assert_str_eq(tgi_utf8_copy(buf, sizeof(buf), e3), "a\xc3\xa9");
    ck_assert_uint_eq(tgi_utf8_char_len("\xc3\xa9"), 2);
    ck_assert_uint_eq(tgi_utf8_char_len("\xc3"), 1);
    ck_assert(tgi_utf8_valid(e3, 5));
    ck_assert(!tgi_utf8_valid(e3, 4));
    ck_assert(!tgi_utf8_valid("\xed\xa0\x80", 3)); /* a surrogate */
    ck_assert(!tgi_utf8_valid("\xc0\xaf", 2));     /* an overlong '/' */
    char bad[] = "x\xc3y\xff";
    tgi_utf8_sanitize(bad);
    ck_assert_str_eq(bad, "x?y?");
    /* a context message longer than its buffer is cut on a boundary too */
    char *big = malloc(3001);
    for (int i = 0; i < 1500; i++)
        memcpy(big + 2 * i, "\xc3\xa9", 2);
    big[3000] = '\0';
    tg_ctx *c = tg_ctx_new();
    for (int shift = 0; shift < 4; shift++) {
        tgi_fail(c, TG_EINVAL, "%.*s%s", shift, "xxx", big);
        const char *m = tg_ctx_message(c);
        ck_assert_msg(tgi_utf8_valid(m, strlen(m)), "shift %d: cut inside a character", shift);
        ck_assert_uint_gt(strlen(m), 1000);
    }
    tg_ctx_free(&c);
    free(big);
}
END_TEST

START_TEST(asserts_run_only_in_check_builds)
{
    /* release: the condition is not even evaluated; make check (-DTG_ASSERTS): it is */
    int evaluated = 0;
    TG_ASSERT(++evaluated > 0);
    ck_assert_int_eq(evaluated, TG_ASSERTS_ON);
}
END_TEST

START_TEST(a_broken_invariant_aborts)
{
    int nodes = 0;
    TG_ASSERT(nodes > 0);
}
END_TEST

typedef struct pool_log {
    int runs[200]; /* times each part ran */
    int lane[200]; /* the lane it ran on */
} pool_log;

static void log_part(void *user, int lane, int part)
{
    pool_log *l = user;
    l->runs[part]++; /* each part has its own slot: no race */
    l->lane[part] = lane;
}

START_TEST(pool_runs_every_part_once)
{
    tgi_pool *p = tgi_pool_new(3);
    ck_assert_ptr_nonnull(p);
    int lanes = tgi_pool_lanes(p);
    ck_assert_int_ge(lanes, 1);
    ck_assert_int_le(lanes, 3);
    for (int round = 0; round < 50; round++) { /* the same workers, run after run */
        pool_log l = {0};
        int n = 1 + round * 3;
        tgi_pool_run(p, n, 0, log_part, &l);
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(l.runs[i], 1);
            ck_assert_int_ge(l.lane[i], 0);
            ck_assert_int_lt(l.lane[i], lanes);
        }
        ck_assert_int_eq(l.runs[n], 0);
    }
    /* lanes = 1: the caller's thread alone */
    pool_log l = {0};
    tgi_pool_run(p, 40, 1, log_part, &l);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(l.runs[i], 1);
        ck_assert_int_eq(l.lane[i], 0);
    }
    tgi_pool_free(&p);
    ck_assert_ptr_null(p);
    tgi_pool_free(&p); /* accepts NULL */
    /* no pool at all: the caller runs everything */
    pool_log m = {0};
    tgi_pool_run(NULL, 5, 0, log_part, &m);
    ck_assert_int_eq(m.runs[4], 1);
}
END_TEST

typedef struct captured {
    char text[2][256];
    size_t len[2];
    int ends[2];
} captured;

static void capture(void *user, int stream, const char *data, size_t len)
{
    captured *c = user;
    int k = stream - 1;
    if (len == 0)
        c->ends[k]++;
    for (size_t i = 0; i < len && c->len[k] < sizeof(c->text[k]) - 1; i++)
        c->text[k][c->len[k]++] = data[i];
}

START_TEST(proc_runs_reaps_and_stops)
{
    /* both streams apart, the exit status, each stream's end once */
    const char *const argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    tgi_proc *p = NULL;
    ck_assert_int_eq(tgi_proc_spawn(argv, NULL, &p), 0);
    captured c = {0};
    int done;
    while ((done = tgi_proc_poll(p, 100, capture, &c)) == 0)
        ;
    ck_assert_int_eq(done, 1);
    int st = tgi_proc_end(&p);
    ck_assert_ptr_null(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    ck_assert_str_eq(c.text[0], "out\n");
    ck_assert_str_eq(c.text[1], "err\n");
    ck_assert_int_eq(c.ends[0], 1);
    ck_assert_int_eq(c.ends[1], 1);
    /* the environment given, and nothing else */
    const char *const env_argv[] = {"/bin/sh", "-c", "printf %s \"$TG_X\"", NULL};
    char *const env[] = {(char *)"TG_X=given", NULL};
    ck_assert_int_eq(tgi_proc_spawn(env_argv, env, &p), 0);
    captured e = {0};
    while (tgi_proc_poll(p, 100, capture, &e) == 0)
        ;
    tgi_proc_end(&p);
    ck_assert_str_eq(e.text[0], "given");
    /* no such program */
    const char *const none[] = {"/nonexistent/tg-no-such-program", NULL};
    ck_assert_int_eq(tgi_proc_spawn(none, NULL, &p), ENOENT);
    ck_assert_ptr_null(p);
    /* a child that would run for a minute, and its own child: stopped at once */
    const char *const slow[] = {"/bin/sh", "-c", "sleep 60 & sleep 60", NULL};
    ck_assert_int_eq(tgi_proc_spawn(slow, NULL, &p), 0);
    ck_assert_int_eq(tgi_proc_poll(p, 50, capture, &c), 0);
    int64_t t0 = tgi_mono_ms();
    st = tgi_proc_end(&p);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_lt(tgi_mono_ms() - t0, 2000);
}
END_TEST

Suite *suite_core(void);
Suite *suite_core(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, error_table_is_consistent);
    tcase_add_test(tc, cuts_land_on_character_boundaries);
    tcase_add_test(tc, context_keeps_detail_and_cancels);
    tcase_add_test(tc, options_come_from_the_tables);
    tcase_add_test(tc, sizes_parse_with_binary_units);
    tcase_add_test(tc, atomic_file_commit_and_abort);
    tcase_add_test(tc, asserts_run_only_in_check_builds);
    tcase_add_test(tc, pool_runs_every_part_once);
    tcase_add_test(tc, proc_runs_reaps_and_stops);
    if (TG_ASSERTS_ON) /* off in release builds, where nothing would abort */
        tcase_add_test_raise_signal(tc, a_broken_invariant_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
