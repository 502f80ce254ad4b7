/* test_fetch.c — links (url.c), the private-address guard (addr.c), content sniffing
 * (sniff.c) and the yt-dlp runner (ytdlp.c) with fake yt-dlp scripts and, when
 * yt-dlp is installed, one real download from a local HTTP server in the test. No
 * test connects anywhere except to that server on 127.0.0.1, or needs DNS. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "fetch/addr.h"
#include "fetch/sniff.h"
#include "fetch/url.h"
#include "fetch/ytdlp.h"
#include "http.h"
#include "util.h"

#define ID "dQw4w9WgXcQ"

/* ---- links ---- */

typedef struct url_case {
    const char *url;
    int rc;
    int kind;
    const char *id_or_host; /* YouTube: the id; direct: the host */
    int port;
} url_case;

static const url_case url_cases[] = {
    /* YouTube, every form */
    {"https://www.youtube.com/watch?v=" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://youtube.com/watch?v=" ID "&t=42s", 0, TG_URL_YOUTUBE, ID, 443},
    {"http://m.youtube.com/watch?feature=share&v=" ID, 0, TG_URL_YOUTUBE, ID, 80},
    {"https://music.youtube.com/watch?v=" ID "&list=RDAMVM" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com/watch?v=" ID "&list=PLabc&index=3", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com/watch?list=PLabc&v=" ID "&index=3", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com/watch?app=desktop&v=" ID "#t=30", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://WWW.YouTube.COM/watch?v=" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com./watch?v=" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com:443/watch?v=" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://youtu.be/" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://youtu.be/" ID "?t=10", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://youtu.be/" ID "?si=Xy_12&list=PLabc", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com/shorts/aBcDeFgHi_-?feature=share", 0, TG_URL_YOUTUBE, "aBcDeFgHi_-",
     443},
    {"https://youtube.com/shorts/aBcDeFgHi_-", 0, TG_URL_YOUTUBE, "aBcDeFgHi_-", 443},
    {"https://www.youtube.com/embed/" ID "?start=5&autoplay=1", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube-nocookie.com/embed/" ID, 0, TG_URL_YOUTUBE, ID, 443},
    {"https://youtube-nocookie.com/embed/" ID "?rel=0", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com/live/" ID "?si=abc", 0, TG_URL_YOUTUBE, ID, 443},
    {"https://www.youtube.com/v/" ID, 0, TG_URL_YOUTUBE, ID, 443},
    /* a YouTube host without a single video */
    {"https://www.youtube.com/@somechannel", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/channel/UCabcdefghijk", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/playlist?list=PLabc", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/watch?list=PLabc", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/watch?v=short", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/watch?v=" ID "x", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/embed/videoseries?list=PLabc", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/results?search_query=cats", TG_EINVAL, 0, NULL, 0},
    {"https://www.youtube.com/", TG_EINVAL, 0, NULL, 0},
    {"https://youtu.be/", TG_EINVAL, 0, NULL, 0},
    /* direct links */
    {"http://example.com/video.mp4", 0, TG_URL_DIRECT, "example.com", 80},
    {"https://cdn.example.org:8443/a/b.mkv?x=1#frag", 0, TG_URL_DIRECT, "cdn.example.org", 8443},
    {"HTTP://Example.COM/v.mp4", 0, TG_URL_DIRECT, "example.com", 80},
    {"http://example.com?x=1", 0, TG_URL_DIRECT, "example.com", 80},
    {"http://[::1]:8080/v.mp4", 0, TG_URL_DIRECT, "::1", 8080},
    {"https://[2001:db8::1]/v.mp4", 0, TG_URL_DIRECT, "2001:db8::1", 443},
    {"http://[::ffff:127.0.0.1]/", 0, TG_URL_DIRECT, "::ffff:127.0.0.1", 80},
    {"http://127.0.0.1:65535/", 0, TG_URL_DIRECT, "127.0.0.1", 65535},
    {"http://a.b:1/", 0, TG_URL_DIRECT, "a.b", 1},
    {"https://notyoutube.com/watch?v=" ID, 0, TG_URL_DIRECT, "notyoutube.com", 443},
    {"https://youtube.com.evil.example/watch?v=" ID, 0, TG_URL_DIRECT, "youtube.com.evil.example",
     443},
    /* refused */
    {"ftp://example.com/v.mp4", TG_EINVAL, 0, NULL, 0},
    {"javascript:alert(1)", TG_EINVAL, 0, NULL, 0},
    {"file:///etc/passwd", TG_EINVAL, 0, NULL, 0},
    {"data:video/mp4;base64,AAAA", TG_EINVAL, 0, NULL, 0},
    {"example.com/video.mp4", TG_EINVAL, 0, NULL, 0},
    {"//example.com/video.mp4", TG_EINVAL, 0, NULL, 0},
    {"http:///video.mp4", TG_EINVAL, 0, NULL, 0},
    {"http:example.com/video.mp4", TG_EINVAL, 0, NULL, 0},
    {"http://", TG_EINVAL, 0, NULL, 0},
    {"https://user:pass@example.com/v.mp4", TG_EINVAL, 0, NULL, 0},
    {"https://user@example.com/v.mp4", TG_EINVAL, 0, NULL, 0},
    {"http://good.com\\@evil.com/", TG_EINVAL, 0, NULL, 0},
    {"http://good.com\\.evil.com/", TG_EINVAL, 0, NULL, 0},
    {"http://exa mple.com/", TG_EINVAL, 0, NULL, 0},
    {"http://example.com/a b.mp4", TG_EINVAL, 0, NULL, 0},
    {"http://example.com/a\tb", TG_EINVAL, 0, NULL, 0},
    {"http://example.com/\r\nHost: evil", TG_EINVAL, 0, NULL, 0},
    {"http://example.com/\x7f", TG_EINVAL, 0, NULL, 0},
    {"http://example.com:0/", TG_EINVAL, 0, NULL, 0},
    {"http://example.com:65536/", TG_EINVAL, 0, NULL, 0},
    {"http://example.com:80x/", TG_EINVAL, 0, NULL, 0},
    {"http://example.com:/", TG_EINVAL, 0, NULL, 0},
    {"http://example.com:-1/", TG_EINVAL, 0, NULL, 0},
    {"http://[::1/", TG_EINVAL, 0, NULL, 0},
    {"http://[fe80::1%25eth0]/", TG_EINVAL, 0, NULL, 0},
    {"http://[127.0.0.1]/", TG_EINVAL, 0, NULL, 0},
    {"http://[::1]x/", TG_EINVAL, 0, NULL, 0},
    {"http://%31%32%37.0.0.1/", TG_EINVAL, 0, NULL, 0},
    {"http://ex\xc3\xa4mple.com/", TG_EINVAL, 0, NULL, 0},
    {"", TG_EINVAL, 0, NULL, 0},
};

START_TEST(url_table)
{
    tg_ctx *ctx = tg_ctx_new();
    size_t n = sizeof(url_cases) / sizeof(url_cases[0]);
    ck_assert_uint_ge(n, 25);
    for (size_t i = 0; i < n; i++) {
        const url_case *c = &url_cases[i];
        tgi_url u;
        tg_ctx_clear(ctx);
        int rc = tgi_url_parse(ctx, c->url, &u);
        ck_assert_msg(rc == c->rc, "%s: expected %d, got %d (%s)", c->url, c->rc, rc,
                      tg_ctx_message(ctx));
        if (rc != 0) {
            ck_assert_msg(tg_ctx_message(ctx)[0], "%s: no message", c->url);
            ck_assert_int_eq(u.kind, 0); /* nothing half-filled */
            continue;
        }
        ck_assert_msg(u.kind == c->kind, "%s: kind %d", c->url, u.kind);
        ck_assert_msg(u.port == c->port, "%s: port %d, expected %d", c->url, u.port, c->port);
        if (c->kind == TG_URL_YOUTUBE) {
            char canon[64];
            snprintf(canon, sizeof(canon), "https://www.youtube.com/watch?v=%s", c->id_or_host);
            ck_assert_str_eq(u.youtube_id, c->id_or_host);
            ck_assert_str_eq(u.canonical, canon);
        } else {
            ck_assert_str_eq(u.host, c->id_or_host);
            ck_assert_str_eq(u.canonical, c->url);
            ck_assert_str_eq(u.youtube_id, "");
        }
    }
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(url_messages_and_length)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_url u;
    ck_assert_int_eq(tgi_url_parse(ctx, "https://www.youtube.com/@x", &u), TG_EINVAL);
    ck_assert_str_eq(tg_ctx_message(ctx), "not a link to a single YouTube video");
    ck_assert_int_eq(tgi_url_parse(ctx, "https://u:p@example.com/", &u), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "password"));
    ck_assert_int_eq(tgi_url_parse(ctx, "ftp://example.com/", &u), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "http"));
    ck_assert_int_eq(tgi_url_parse(ctx, NULL, &u), TG_EINVAL);
    ck_assert_int_eq(tgi_url_parse(ctx, "http://x/", NULL), TG_EINVAL);

    ck_assert_int_eq(tgi_url_parse(ctx, "http://example.com/\x01", &u), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "control"));
    ck_assert_int_eq(tgi_url_parse(ctx, "http://example.com/ x", &u), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "spaces"));

    /* 2000 bytes are fine, 2001 are not */
    char big[2100];
    const char *head = "https://example.com/";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, 'a', 2000 - hl);
    big[2000] = '\0';
    ck_assert_int_eq(tgi_url_parse(ctx, big, &u), 0);
    ck_assert_uint_eq(strlen(u.canonical), 2000);
    big[2000] = 'a';
    big[2001] = '\0';
    ck_assert_int_eq(tgi_url_parse(ctx, big, &u), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "2000"));
    tg_ctx_free(&ctx);
}
END_TEST

/* ---- addresses ---- */

typedef struct addr_case {
    const char *host;
    int refused; /* with allow_private = 0 */
} addr_case;

static const addr_case addr_cases[] = {
    /* "this network" 0/8 */
    {"0.0.0.0", 1},
    {"0.255.255.255", 1},
    {"0", 1},
    {"1.0.0.0", 0},
    /* loopback 127/8 and its numeric spellings */
    {"127.0.0.1", 1},
    {"127.255.255.255", 1},
    {"126.255.255.255", 0},
    {"128.0.0.0", 0},
    {"2130706433", 1},
    {"0x7f000001", 1},
    {"0177.0.0.1", 1},
    {"127.1", 1},
    {"0x7f.1", 1},
    {"017700000001", 1},
    /* private */
    {"10.0.0.0", 1},
    {"10.255.255.255", 1},
    {"9.255.255.255", 0},
    {"11.0.0.0", 0},
    {"172.16.0.0", 1},
    {"172.31.255.255", 1},
    {"172.15.255.255", 0},
    {"172.32.0.0", 0},
    {"192.168.0.1", 1},
    {"192.168.255.255", 1},
    {"192.167.255.255", 0},
    {"192.169.0.0", 0},
    /* link-local, with the cloud metadata address */
    {"169.254.0.0", 1},
    {"169.254.169.254", 1},
    {"169.254.255.255", 1},
    {"169.253.255.255", 0},
    {"169.255.0.0", 0},
    /* carrier-grade NAT 100.64/10 */
    {"100.64.0.0", 1},
    {"100.127.255.255", 1},
    {"100.63.255.255", 0},
    {"100.128.0.0", 0},
    /* benchmarking 198.18/15 */
    {"198.18.0.0", 1},
    {"198.19.255.255", 1},
    {"198.17.255.255", 0},
    {"198.20.0.0", 0},
    /* multicast 224/4 and reserved 240/4 */
    {"224.0.0.0", 1},
    {"239.255.255.255", 1},
    {"223.255.255.255", 0},
    {"240.0.0.0", 1},
    {"255.255.255.255", 1},
    /* public */
    {"8.8.8.8", 0},
    {"1.1.1.1", 0},
    {"134744072", 0}, /* 8.8.8.8 as one number */
    /* IPv6 */
    {"::1", 1},
    {"[::1]", 1},
    {"::", 1},
    {"::2", 1}, /* v4-compatible 0.0.0.2 */
    {"::ffff:127.0.0.1", 1},
    {"::ffff:7f00:1", 1},
    {"::ffff:10.1.2.3", 1},
    {"::ffff:169.254.169.254", 1},
    {"::ffff:8.8.8.8", 0},
    {"::127.0.0.1", 1}, /* v4-compatible */
    {"::8.8.8.8", 0},
    {"64:ff9b::7f00:1", 1}, /* NAT64 of 127.0.0.1 */
    {"2002:7f00:1::1", 1},  /* 6to4 of 127.0.0.1 */
    {"2002:808:808::1", 0}, /* 6to4 of 8.8.8.8 */
    {"fc00::1", 1},
    {"fdff:ffff:ffff::1", 1},
    {"fbff:ffff::1", 0},
    {"fe80::1", 1},
    {"febf:ffff::1", 1},
    {"fe7f:ffff::1", 0},
    {"ff02::1", 1},
    {"ff00::", 1},
    {"2001:4860::8888", 0},
    {"2001:4860:4860::8888", 0},
    {"2606:4700:4700::1111", 0},
};

START_TEST(address_classifier)
{
    tg_ctx *ctx = tg_ctx_new();
    size_t n = sizeof(addr_cases) / sizeof(addr_cases[0]);
    ck_assert_uint_ge(n, 30);
    for (size_t i = 0; i < n; i++) {
        const addr_case *c = &addr_cases[i];
        tg_ctx_clear(ctx);
        int rc = tgi_host_check(ctx, c->host, 0);
        ck_assert_msg(rc == (c->refused ? TG_ELIMIT : 0), "%s: expected %s, got %d (%s)", c->host,
                      c->refused ? "refused" : "allowed", rc, tg_ctx_message(ctx));
        if (c->refused)
            ck_assert_msg(strstr(tg_ctx_message(ctx), c->host), "message '%s' lacks the host",
                          tg_ctx_message(ctx));
        ck_assert_msg(tgi_host_check(ctx, c->host, 1) == 0, "%s refused with allow_private",
                      c->host);
    }
    tgi_host_check(ctx, "169.254.169.254", 0);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "link-local"));
    tgi_host_check(ctx, "0x7f000001", 0);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "loopback address 127.0.0.1"));

    /* names resolve (localhost via /etc/hosts, no DNS): refused if any address is */
    ck_assert_int_eq(tgi_host_check(ctx, "localhost", 0), TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "localhost"));
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "loopback"));
    ck_assert_int_eq(tgi_host_check(ctx, "localhost", 1), 0);
    ck_assert_int_eq(tgi_host_check(ctx, "", 0), TG_EINVAL);
    ck_assert_int_eq(tgi_host_check(ctx, NULL, 1), TG_EINVAL);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(address_sockaddrs)
{
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof(s4));
    s4.sin_family = AF_INET;
    inet_pton(AF_INET, "192.168.1.1", &s4.sin_addr);
    ck_assert_int_eq(tgi_addr_is_private((struct sockaddr *)&s4), 1);
    inet_pton(AF_INET, "93.184.216.34", &s4.sin_addr);
    ck_assert_int_eq(tgi_addr_is_private((struct sockaddr *)&s4), 0);
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof(s6));
    s6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:192.168.1.1", &s6.sin6_addr);
    ck_assert_int_eq(tgi_addr_is_private((struct sockaddr *)&s6), 1);
    inet_pton(AF_INET6, "2001:4860::8888", &s6.sin6_addr);
    ck_assert_int_eq(tgi_addr_is_private((struct sockaddr *)&s6), 0);
    struct sockaddr other;
    memset(&other, 0, sizeof(other));
    other.sa_family = AF_UNIX;
    ck_assert_int_eq(tgi_addr_is_private(&other), 1); /* not IP: never connect */
    ck_assert_int_eq(tgi_addr_is_private(NULL), 1);
}
END_TEST

/* ---- sniffing ---- */

static const char *sniff_file(const char *path)
{
    uint8_t head[512];
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    return tgi_sniff_video(head, n);
}

static void expect_sniff(const char *path, const char *want)
{
    const char *got = sniff_file(path);
    if (!want)
        ck_assert_msg(got == NULL, "%s: sniffed as %s", path, got);
    else
        ck_assert_msg(got && strcmp(got, want) == 0, "%s: expected %s, got %s", path, want,
                      got ? got : "NULL");
}

START_TEST(sniff_real_files)
{
    expect_sniff(tgt_fixture("short.mp4"), "mp4");
    expect_sniff(tgt_fixture("story.mp4"), "mp4");
    expect_sniff(tgt_fixture("truncated.mp4"), "mp4"); /* looks right; the decoder says no */
    expect_sniff(tgt_fixture("vfr.mkv"), "mkv");
    expect_sniff(tgt_fixture("audio.m4a"), "mp4"); /* the decoder says "no video stream" */
    expect_sniff(tgt_fixture("text.mp4"), NULL);
    expect_sniff(tgt_fixture("garbage.mp4"), NULL);
    expect_sniff(tgt_fixture("empty.mp4"), NULL);
    const char *avi = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
    if (tgt_file_exists(avi))
        expect_sniff(avi, "avi");
    avi = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
    if (tgt_file_exists(avi))
        expect_sniff(avi, "avi");

    /* remux the fixture into other containers when ffmpeg is there */
    static const struct {
        const char *ext, *want;
    } remux[] = {{".ts", "mpegts"}, {".flv", "flv"}, {".mkv", "mkv"}, {".mov", "mp4"}};
    if (tgt_file_exists("/usr/bin/ffmpeg")) {
        for (size_t i = 0; i < sizeof(remux) / sizeof(remux[0]); i++) {
            char *out = tgt_tmp_path(remux[i].ext);
            char *argv[] = {(char *)"/usr/bin/ffmpeg",
                            (char *)"-v",
                            (char *)"error",
                            (char *)"-y",
                            (char *)"-i",
                            (char *)tgt_fixture("short.mp4"),
                            (char *)"-c",
                            (char *)"copy",
                            out,
                            NULL};
            tgt_run r;
            ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
            ck_assert_msg(r.status == 0, "ffmpeg: %s", r.err);
            tgt_run_free(&r);
            expect_sniff(out, remux[i].want);
            unlink(out);
            free(out);
        }
    }
}
END_TEST

START_TEST(sniff_magic_bytes)
{
    uint8_t b[400];
    memset(b, 0, sizeof(b));
    ck_assert_ptr_null(tgi_sniff_video(b, sizeof(b))); /* zeros */
    ck_assert_ptr_null(tgi_sniff_video(NULL, 0));
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"OggS", 3));
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"OggS\0\2\0\0\0\0\0\0\0\0\0\0", 16), "ogg");
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"FLV\1\5\0\0\0\x09\0\0\0\0\0\0\0", 16),
                     "flv");
    ck_assert_str_eq(
        tgi_sniff_video((const uint8_t *)"\0\0\1\xba\x44\0\4\0\4\1\1\x89\xc3\xf8\0\0", 16), "mpeg");
    ck_assert_str_eq(
        tgi_sniff_video((const uint8_t *)"\0\0\1\xb3\x16\0\xf0\x13\xff\xff\xe0\x18\0\0\0\0", 16),
        "mpeg");
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"\x30\x26\xb2\x75\x8e\x66\xcf\x11"
                                                      "\xa6\xd9\x00\xaa\x00\x62\xce\x6c",
                                     16),
                     "asf");
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"GIF89a\x10\0\x10\0\x80\0\0\0\0\0", 16),
                     "gif");
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"RIFF\0\0\0\0AVI LIST", 16), "avi");
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"RIFF\0\0\0\0WAVEfmt ", 16));
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"\0\0\0\x14"
                                                      "ftypqt  \0\0\0\0",
                                     16),
                     "mp4");
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"\0\0\0\x18"
                                                      "ftyp3gp4\0\0\0\0",
                                     16),
                     "mp4");
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"\0\0\0\x1c"
                                                      "ftypM4A \0\0\0\0",
                                     16),
                     "mp4");
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"\0\0\0\x18"
                                                        "ftypheic\0\0\0\0",
                                       16));
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"\0\0\0\x1c"
                                                        "ftypavif\0\0\0\0",
                                       16));
    ck_assert_str_eq(tgi_sniff_video((const uint8_t *)"\0\0\x01\0moovlmvhd\0\0\0", 16), "mp4");
    /* MPEG-TS: sync bytes 188 apart; a lone 'G' is text */
    b[0] = b[188] = 0x47;
    ck_assert_str_eq(tgi_sniff_video(b, sizeof(b)), "mpegts");
    ck_assert_ptr_null(tgi_sniff_video(b, 188));
    b[188] = 0;
    ck_assert_ptr_null(tgi_sniff_video(b, sizeof(b)));
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"<!DOCTYPE html><", 16));
    ck_assert_ptr_null(tgi_sniff_video((const uint8_t *)"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    ck_assert_ptr_null(
        tgi_sniff_video((const uint8_t *)"\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0", 16));
}
END_TEST

/* ---- yt-dlp with fake scripts ---- */

typedef struct scratch {
    char *dir;    /* out_dir */
    char *script; /* the fake yt-dlp */
    tg_ctx *ctx;
} scratch;

/* A scratch folder and a fake yt-dlp: a /bin/sh script that first finds the output
 * folder from its -o argument (as $OUTDIR), then runs body. */
static void scratch_make(scratch *s, const char *body)
{
    s->dir = tgt_tmp_path(".d");
    ck_assert_int_eq(mkdir(s->dir, 0755), 0);
    s->script = tgt_tmp_path(".sh");
    s->ctx = tg_ctx_new();
    FILE *f = fopen(s->script, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "#!/bin/sh\n"
            "prev=; for a in \"$@\"; do [ \"$prev\" = -o ] && o=\"$a\"; prev=\"$a\"; done\n"
            "OUTDIR=$(dirname \"$o\")\n"
            "%s\n",
            body);
    fclose(f);
    ck_assert_int_eq(chmod(s->script, 0755), 0);
}

static void rm_tree(const char *dir)
{
    char *argv[] = {(char *)"/bin/rm", (char *)"-rf", (char *)dir, NULL};
    tgt_run r;
    tgt_run_cmd(&r, argv);
    tgt_run_free(&r);
}

static void scratch_free(scratch *s)
{
    rm_tree(s->dir);
    unlink(s->script);
    free(s->dir);
    free(s->script);
    tg_ctx_free(&s->ctx);
}

static tgi_ytdlp_opts fake_opts(const scratch *s)
{
    tgi_ytdlp_opts o;
    memset(&o, 0, sizeof(o));
    o.binary = s->script;
    o.out_dir = s->dir;
    o.out_name = "job1";
    o.max_bytes = 10 * 1024 * 1024;
    o.max_seconds = 600;
    o.timeout_s = 30;
    o.allow_private = 1;
    return o;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct progress_log {
    double f[256];
    int n;
} progress_log;

static void log_progress(void *user, const char *stage, double f)
{
    progress_log *l = user;
    ck_assert_str_eq(stage, "download");
    if (l->n < 256)
        l->f[l->n++] = f;
}

static int seen_near(const progress_log *l, double want)
{
    for (int i = 0; i < l->n; i++)
        if (l->f[i] > want - 0.01 && l->f[i] < want + 0.01)
            return 1;
    return 0;
}

START_TEST(ytdlp_progress_and_path)
{
    scratch s;
    scratch_make(&s, "echo 'PROG downloading 1024 4096 NA  25.0% 1000.5 3'\n"
                     "sleep 0.4\n"
                     "echo 'PROG downloading 2048 NA 4096  50.0% NA NA'\n"
                     "sleep 0.4\n"
                     "echo 'PROG downloading NA NA NA  75.0% NA NA'\n"
                     "sleep 0.4\n"
                     "echo 'WARNING: something' >&2\n"
                     /* 16 bytes of an MP4 header: a download must be a video */
                     "printf '\\000\\000\\000\\030ftypisom\\000\\000\\002\\000' > "
                     "\"$OUTDIR/job1.mp4\"\n"
                     "echo 'PROG finished 4096 4096 NA 100.0% NA NA'\n"
                     "echo \"$OUTDIR/job1.mp4\"");
    progress_log log = {{0}, 0};
    tg_ctx_set_progress(s.ctx, log_progress, &log);
    tgi_ytdlp_opts o = fake_opts(&s);
    char *path = NULL;
    int rc = tgi_ytdlp_download(s.ctx, &o, "https://example.com/v.mp4", &path);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, tg_ctx_message(s.ctx));
    char want[1100];
    snprintf(want, sizeof(want), "%s/job1.mp4", s.dir);
    ck_assert_str_eq(path, want);
    ck_assert_int_eq(tgt_file_size(path), 16);
    ck_assert_msg(seen_near(&log, 0.25), "no 25%% report (%d reports)", log.n);
    ck_assert_msg(seen_near(&log, 0.5), "no 50%% report");
    ck_assert_msg(seen_near(&log, 0.75), "no 75%% report");
    ck_assert_int_gt(log.n, 0);
    ck_assert_double_eq(log.f[log.n - 1], 1.0);
    for (int i = 0; i < log.n; i++) {
        ck_assert_double_ge(log.f[i], 0);
        ck_assert_double_le(log.f[i], 1);
    }
    free(path);
    scratch_free(&s);
}
END_TEST

typedef struct canceller {
    tg_ctx *ctx;
    double at;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    usleep(300 * 1000);
    c->at = now_s();
    tg_ctx_cancel(c->ctx);
    return NULL;
}

/* 1 when pid is gone (or a zombie nobody waits for in this container). */
static int process_gone(long pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

START_TEST(ytdlp_cancel_kills_the_group)
{
    scratch s;
    char marker[1024];
    char *m = tgt_tmp_path(".pid");
    snprintf(marker, sizeof(marker), "%s", m);
    free(m);
    char body[2048];
    snprintf(body, sizeof(body),
             "echo 'PROG downloading 10 100 NA 10.0%% NA NA'\n"
             "printf 'partial' > \"$OUTDIR/job1.mp4\"\n"
             "sleep 1000 &\n"
             "echo $! > '%s'\n"
             "wait",
             marker);
    scratch_make(&s, body);
    /* a file of the same name from before the run is left alone */
    char old[1100];
    snprintf(old, sizeof(old), "%s/job1.keep", s.dir);
    FILE *f = fopen(old, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);

    tgi_ytdlp_opts o = fake_opts(&s);
    canceller c = {s.ctx, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, cancel_later, &c), 0);
    char *path = NULL;
    double t0 = now_s();
    int rc = tgi_ytdlp_download(s.ctx, &o, "https://example.com/v.mp4", &path);
    double t1 = now_s();
    pthread_join(th, NULL);
    ck_assert_int_eq(rc, TG_ECANCEL);
    ck_assert_ptr_null(path);
    ck_assert_msg(t1 - c.at < 1.0, "cancel took %.2f s", t1 - c.at);
    ck_assert_double_lt(t1 - t0, 2.0);
    char partial[1100];
    snprintf(partial, sizeof(partial), "%s/job1.mp4", s.dir);
    ck_assert_msg(!tgt_file_exists(partial), "partial file left behind");
    ck_assert_int_eq(tgt_file_exists(old), 1);
    char *pidtext = tgt_read_file(marker, NULL);
    ck_assert_ptr_nonnull(pidtext);
    long pid = strtol(pidtext, NULL, 10);
    free(pidtext);
    ck_assert_int_gt(pid, 1);
    for (int i = 0; i < 50 && !process_gone(pid); i++)
        usleep(20 * 1000);
    ck_assert_msg(process_gone(pid), "the grandchild %ld survived", pid);
    unlink(marker);
    scratch_free(&s);
}
END_TEST

START_TEST(ytdlp_timeout)
{
    scratch s;
    scratch_make(&s, "sleep 1000");
    tgi_ytdlp_opts o = fake_opts(&s);
    o.timeout_s = 1;
    char *path = NULL;
    double t0 = now_s();
    int rc = tgi_ytdlp_download(s.ctx, &o, "https://example.com/v.mp4", &path);
    double dt = now_s() - t0;
    ck_assert_int_eq(rc, TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(s.ctx), "longer than 1 s"));
    ck_assert_msg(dt >= 0.9 && dt < 2.0, "timeout after %.2f s", dt);
    ck_assert_ptr_null(path);
    scratch_free(&s);
}
END_TEST

typedef struct err_case {
    const char *body;
    int rc;
    const char *msg; /* a part of the message */
} err_case;

static const err_case err_cases[] = {
    {"echo 'ERROR: [generic] None: Unsupported URL: https://example.com/v.mp4' >&2; exit 1",
     TG_EFORMAT, "no video found at https://example.com/v.mp4"},
    {"echo 'ERROR: Unsupported URL: https://example.com/v.mp4' >&2; exit 1", TG_EFORMAT,
     "no video found"},
    {"echo 'ERROR: [generic] None: Unable to download webpage: HTTP Error 404: Not Found' >&2; "
     "exit 1",
     TG_ENOENT, "HTTP 404"},
    {"exit 0", TG_ELIMIT, "nothing was downloaded"},
    {"echo 'PROG finished 10 10 NA 100% NA NA'; exit 0", TG_ELIMIT, "larger than 10 MB"},
    {"echo 'File is larger than max-filesize (99999999 bytes > 10485760 bytes). Aborting.' >&2; "
     "exit 0",
     TG_ELIMIT, "larger than the limit of 10 MB"},
    {"echo '[download] A video does not pass filter (duration<=?600 & !is_live), skipping ..' "
     ">&2; exit 0",
     TG_ELIMIT, "longer than 600 s"},
    {"echo 'ERROR: [youtube] " ID ": This live event will begin in 3 hours.' >&2; exit 1",
     TG_ELIMIT, "This live event will begin in 3 hours."},
    {"echo 'WARNING: something' >&2; "
     "echo 'ERROR: [youtube] " ID ": Video unavailable. This video is private' >&2; "
     "echo 'one more line' >&2; exit 1",
     TG_EIO, "download failed: Video unavailable. This video is private"},
    {"echo 'ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno 111] "
     "Connection refused> (caused by URLError(ConnectionRefusedError(111)))' >&2; exit 1",
     TG_EIO, "the server could not reach the video's site"},
    {"exit 3", TG_EIO, "exit code 3"},
    {"kill -KILL $$", TG_EIO, "signal 9"},
    {"echo 'PROG downloading 999999999 NA NA 50% NA NA'; sleep 5", TG_ELIMIT,
     "larger than the limit"},
    {"echo /etc/passwd; exit 0", TG_EIO, "under an unexpected name"},
    {"echo job1.mp4; exit 0", TG_EIO, "not there"},
};

START_TEST(ytdlp_error_mapping)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const err_case *c = &err_cases[i];
        scratch s;
        scratch_make(&s, c->body);
        tgi_ytdlp_opts o = fake_opts(&s);
        char *path = NULL;
        int rc = tgi_ytdlp_download(s.ctx, &o, "https://example.com/v.mp4", &path);
        ck_assert_msg(rc == c->rc, "[%s]: expected %d, got %d (%s)", c->body, c->rc, rc,
                      tg_ctx_message(s.ctx));
        ck_assert_msg(strstr(tg_ctx_message(s.ctx), c->msg), "[%s]: message '%s' lacks '%s'",
                      c->body, tg_ctx_message(s.ctx), c->msg);
        ck_assert_ptr_null(strchr(tg_ctx_message(s.ctx), '\n'));
        ck_assert_ptr_null(path);
        scratch_free(&s);
    }

    /* not installed */
    tg_ctx *ctx = tg_ctx_new();
    tgi_ytdlp_opts o;
    memset(&o, 0, sizeof(o));
    o.binary = "/nonexistent/yt-dlp";
    o.out_dir = "/tmp";
    o.out_name = "job1";
    o.allow_private = 1;
    char *path = NULL;
    ck_assert_int_eq(tgi_ytdlp_download(ctx, &o, "https://example.com/v.mp4", &path), TG_EIO);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "yt-dlp is not installed"));
    o.binary = "thumbgen-no-such-yt-dlp"; /* searched in PATH */
    ck_assert_int_eq(tgi_ytdlp_download(ctx, &o, "https://example.com/v.mp4", &path), TG_EIO);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "yt-dlp is not installed"));
    /* names that could leave the folder or start an option */
    o.out_name = "../x";
    ck_assert_int_eq(tgi_ytdlp_download(ctx, &o, "https://example.com/v.mp4", &path), TG_EINVAL);
    o.out_name = "-x";
    ck_assert_int_eq(tgi_ytdlp_download(ctx, &o, "https://example.com/v.mp4", &path), TG_EINVAL);
    o.out_name = "a%(title)s";
    ck_assert_int_eq(tgi_ytdlp_download(ctx, &o, "https://example.com/v.mp4", &path), TG_EINVAL);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(ytdlp_argv_is_literal)
{
    char args[1024], marker[1024];
    char *a = tgt_tmp_path(".args"), *m = tgt_tmp_path(".marker");
    snprintf(args, sizeof(args), "%s", a);
    snprintf(marker, sizeof(marker), "%s", m);
    free(a);
    free(m);
    scratch s;
    char body[2048];
    snprintf(body, sizeof(body), "for a in \"$@\"; do printf '%%s\\n' \"$a\"; done > '%s'\nexit 1",
             args);
    scratch_make(&s, body);
    tgi_ytdlp_opts o = fake_opts(&s);
    o.max_seconds = 90;
    o.max_bytes = 5000000;
    char url[4096];
    snprintf(url, sizeof(url), "http://example.com/$(touch %s);touch${IFS}%s;`touch %s`|x&y",
             marker, marker, marker);
    char *path = NULL;
    ck_assert_int_eq(tgi_ytdlp_download(s.ctx, &o, url, &path), TG_EIO);
    ck_assert_int_eq(tgt_file_exists(marker), 0);
    char *text = tgt_read_file(args, NULL);
    ck_assert_ptr_nonnull(text);
    /* the last two arguments are "--" and the URL, byte for byte */
    char want[4200];
    snprintf(want, sizeof(want), "\n--\n%s\n", url);
    size_t tl = strlen(text), wl = strlen(want);
    ck_assert_msg(tl >= wl && strcmp(text + tl - wl, want) == 0, "argv:\n%s", text);
    char tmpl[1200];
    snprintf(tmpl, sizeof(tmpl), "\n-o\n%s/job1.%%(ext)s\n", s.dir);
    ck_assert_msg(strstr(text, tmpl), "no output template in:\n%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\n--max-filesize\n5000000\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n--match-filters\nduration<=?90 & !is_live\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n--no-playlist\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n--print\nafter_move:filepath\n"));
    free(text);
    unlink(args);
    scratch_free(&s);
}
END_TEST

START_TEST(ytdlp_refuses_private_hosts_first)
{
    char marker[1024];
    char *m = tgt_tmp_path(".ran");
    snprintf(marker, sizeof(marker), "%s", m);
    free(m);
    scratch s;
    char body[2048];
    snprintf(body, sizeof(body), "touch '%s'; exit 1", marker);
    scratch_make(&s, body);
    tgi_ytdlp_opts o = fake_opts(&s);
    o.allow_private = 0;
    char *path = NULL;
    static const char *const refused[] = {
        "http://127.0.0.1:8080/v.mp4", "http://localhost/v.mp4",
        "http://[::1]/v.mp4",          "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/v.mp4",     "http://[::ffff:10.0.0.1]/v.mp4",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        int rc = tgi_ytdlp_download(s.ctx, &o, refused[i], &path);
        ck_assert_msg(rc == TG_ELIMIT, "%s: %d (%s)", refused[i], rc, tg_ctx_message(s.ctx));
        ck_assert_ptr_nonnull(strstr(tg_ctx_message(s.ctx), "refused"));
    }
    ck_assert_int_eq(tgi_ytdlp_download(s.ctx, &o, "file:///etc/passwd", &path), TG_EINVAL);
    ck_assert_int_eq(tgi_ytdlp_download(s.ctx, &o, "http://u:p@8.8.8.8/", &path), TG_EINVAL);
    ck_assert_msg(!tgt_file_exists(marker), "yt-dlp ran for a refused host");
    /* a public literal passes the check and reaches the (fake) yt-dlp */
    ck_assert_int_eq(tgi_ytdlp_download(s.ctx, &o, "http://8.8.8.8/v.mp4", &path), TG_EIO);
    ck_assert_int_eq(tgt_file_exists(marker), 1);
    unlink(marker);

    /* cancelled before the start: nothing runs */
    tg_ctx_cancel(s.ctx);
    o.allow_private = 1;
    ck_assert_int_eq(tgi_ytdlp_download(s.ctx, &o, "http://8.8.8.8/v.mp4", &path), TG_ECANCEL);
    ck_assert_int_eq(tgt_file_exists(marker), 0);
    scratch_free(&s);
}
END_TEST

/* ---- the real yt-dlp against a server in this process ---- */

typedef struct http_srv {
    tgt_origin srv;
    int port;
    const char *file; /* served at /video.mp4 */
    atomic_int requests;
} http_srv;

static void serve_one(void *user, int c)
{
    http_srv *h = user;
    char req[8192];
    if (tgt_read_head(c, req, sizeof(req), 2000) < 0)
        return;
    atomic_fetch_add(&h->requests, 1);
    int head = strncmp(req, "HEAD ", 5) == 0;
    int found = strncmp(req + (head ? 5 : 4), "/video.mp4 ", 11) == 0;
    size_t len = 0;
    char *body = found ? tgt_read_file(h->file, &len) : NULL;
    char hdr[256];
    int hl;
    if (body)
        hl = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      len);
    else
        hl = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n"
                      "Connection: close\r\n\r\nnot found");
    tgt_send_all(c, hdr, (size_t)hl);
    if (body && !head)
        tgt_send_all(c, body, len);
    free(body);
}

static void srv_start(http_srv *h, const char *file)
{
    memset(h, 0, sizeof(*h));
    h->file = file;
    tgt_origin_start(&h->srv, serve_one, h);
    h->port = h->srv.port;
}

static void srv_stop(http_srv *h)
{
    tgt_origin_stop(&h->srv);
}

static int have_ytdlp(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char *copy = strdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/yt-dlp", d);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

START_TEST(ytdlp_real_download_from_loopback)
{
    if (!have_ytdlp()) {
        fprintf(stderr, "ytdlp_real_download_from_loopback: yt-dlp not installed, skipped\n");
        return;
    }
    const char *fixture = tgt_fixture("short.mp4");
    http_srv h;
    srv_start(&h, fixture);
    scratch s;
    scratch_make(&s, "exit 1"); /* only for the folder and the context */
    tgi_ytdlp_opts o = fake_opts(&s);
    o.binary = NULL; /* "yt-dlp" from PATH */
    progress_log log = {{0}, 0};
    tg_ctx_set_progress(s.ctx, log_progress, &log);

    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/video.mp4", h.port);
    /* private hosts refused before yt-dlp runs: the server sees nothing */
    o.allow_private = 0;
    char *path = NULL;
    ck_assert_int_eq(tgi_ytdlp_download(s.ctx, &o, url, &path), TG_ELIMIT);
    ck_assert_int_eq(atomic_load(&h.requests), 0);

    o.allow_private = 1;
    int rc = tgi_ytdlp_download(s.ctx, &o, url, &path);
    ck_assert_msg(rc == 0, "download: %d (%s)", rc, tg_ctx_message(s.ctx));
    ck_assert_ptr_nonnull(path);
    ck_assert_int_eq(tgt_file_size(path), tgt_file_size(fixture));
    ck_assert_int_eq(strncmp(path, s.dir, strlen(s.dir)), 0);
    ck_assert_str_eq(path + strlen(s.dir), "/job1.mp4");
    ck_assert_int_gt(log.n, 0);
    ck_assert_double_eq(log.f[log.n - 1], 1.0);
    ck_assert_int_gt(atomic_load(&h.requests), 0);
    uint8_t head[64];
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    ck_assert_str_eq(tgi_sniff_video(head, n), "mp4");
    free(path);
    path = NULL;

    /* a missing file is ENOENT, a too-small size limit is ELIMIT, and neither leaves files */
    o.out_name = "job2";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing.mp4", h.port);
    rc = tgi_ytdlp_download(s.ctx, &o, url, &path);
    ck_assert_msg(rc == TG_ENOENT, "404: %d (%s)", rc, tg_ctx_message(s.ctx));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/video.mp4", h.port);
    o.max_bytes = 1000;
    rc = tgi_ytdlp_download(s.ctx, &o, url, &path);
    ck_assert_msg(rc == TG_ELIMIT, "too big: %d (%s)", rc, tg_ctx_message(s.ctx));
    char p2[1100];
    snprintf(p2, sizeof(p2), "%s/job2.mp4", s.dir);
    ck_assert_int_eq(tgt_file_exists(p2), 0);
    ck_assert_ptr_null(path);

    srv_stop(&h);
    scratch_free(&s);
}
END_TEST

Suite *suite_fetch(void);
Suite *suite_fetch(void)
{
    Suite *s = suite_create("fetch");
    TCase *tc = tcase_create("links");
    tcase_add_test(tc, url_table);
    tcase_add_test(tc, url_messages_and_length);
    tcase_add_test(tc, address_classifier);
    tcase_add_test(tc, address_sockaddrs);
    tcase_add_test(tc, sniff_real_files);
    tcase_add_test(tc, sniff_magic_bytes);
    suite_add_tcase(s, tc);
    tc = tcase_create("ytdlp");
    tcase_add_test(tc, ytdlp_progress_and_path);
    tcase_add_test(tc, ytdlp_cancel_kills_the_group);
    tcase_add_test(tc, ytdlp_timeout);
    tcase_add_test(tc, ytdlp_error_mapping);
    tcase_add_test(tc, ytdlp_argv_is_literal);
    tcase_add_test(tc, ytdlp_refuses_private_hosts_first);
    tcase_add_test(tc, ytdlp_real_download_from_loopback);
    suite_add_tcase(s, tc);
    return s;
}
