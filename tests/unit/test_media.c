/* test_media.c — src/media: the libav error translator (av.h). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>

#include "core/error.h"
#include "media/av.h"

START_TEST(av_errors_map_to_one_code_each)
{
    /* memory is memory, whatever the caller's own code */
    ck_assert_int_eq(tg_av_code(AVERROR(ENOMEM), TG_EENCODE, 0), TG_ENOMEM);
    ck_assert_int_eq(tg_av_code(AVERROR(ENOMEM), TG_EFORMAT, 1), TG_ENOMEM);
    /* an I/O errno is TG_EIO only for a call that touches a file */
    ck_assert_int_eq(tg_av_code(AVERROR(ENOSPC), TG_EENCODE, 1), TG_EIO);
    ck_assert_int_eq(tg_av_code(AVERROR(EACCES), TG_EENCODE, 1), TG_EIO);
    ck_assert_int_eq(tg_av_code(AVERROR(ENOSPC), TG_EENCODE, 0), TG_EENCODE);
    /* the rest keep the caller's code */
    ck_assert_int_eq(tg_av_code(AVERROR_INVALIDDATA, TG_ECORRUPT, 1), TG_ECORRUPT);
    ck_assert_int_eq(tg_av_code(AVERROR(EINVAL), TG_EINTERNAL, 0), TG_EINTERNAL);
}
END_TEST

START_TEST(av_failures_keep_the_sentence_and_libav_text)
{
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_int_eq(tg_av_fail(ctx, AVERROR(ENOMEM), TG_EENCODE, "cannot open the %s", "encoder"),
                     TG_ENOMEM);
    char eb[AV_ERROR_MAX_STRING_SIZE], want[256];
    snprintf(want, sizeof(want), "cannot open the encoder (%s)",
             tg_av_text(AVERROR(ENOMEM), eb, sizeof(eb)));
    ck_assert_str_eq(tg_ctx_message(ctx), want);
    ck_assert_int_eq(tg_av_fail_io(ctx, AVERROR(EROFS), TG_EENCODE, "cannot write"), TG_EIO);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "cannot write ("));
    /* an unknown code still gives some text */
    ck_assert_str_ne(tg_av_text(-0x7abcdef0, eb, sizeof(eb)), "");
    tg_ctx_free(&ctx);
}
END_TEST

Suite *suite_media(void);
Suite *suite_media(void)
{
    Suite *s = suite_create("media");
    TCase *tc = tcase_create("av");
    tcase_add_test(tc, av_errors_map_to_one_code_each);
    tcase_add_test(tc, av_failures_keep_the_sentence_and_libav_text);
    suite_add_tcase(s, tc);
    return s;
}
