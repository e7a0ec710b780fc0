/*
 * server/http/h1.c: request heads (fields, framing, everything refused to keep two parsers from
 * disagreeing about where a request ends), the end of a head arriving in pieces, and chunked
 * bodies checked against the body they encode, cut at every byte.
 */
#include "common/error.h"
#include "server/http/h1.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Parses the head at the start of text (which must be complete); returns h1_parse_head's code. */
static int parse(const char *text, struct h1_request *req, char *buf, size_t cap)
{
    size_t len = strlen(text), end;

    assert_true(len < cap);
    memcpy(buf, text, len + 1);
    end = h1_head_end(buf, len, 0);
    assert_true(end > 0);
    return h1_parse_head(buf, end, req);
}

static void test_fields(void **state)
{
    const char *text = "POST /a/b?x=1&y HTTP/1.1\r\nHost: h\r\nX-Amz-Target:  Dyn.Get \t\r\n"
                       "Content-Length: 5\r\nEmpty:\r\n\r\nhello";
    char buf[1024];
    struct h1_request r;

    assert_int_equal(0, parse(text, &r, buf, sizeof buf));
    assert_string_equal("POST", r.method);
    assert_string_equal("/a/b", r.path);
    assert_string_equal("x=1&y", r.query);
    assert_int_equal(1, r.minor);
    assert_int_equal(4, r.n_fields);
    assert_string_equal("Dyn.Get", h1_field(&r, "x-amz-target"));
    assert_string_equal("", h1_field(&r, "EMPTY"));
    assert_null(h1_field(&r, "Missing"));
    assert_true(r.has_length);
    assert_int_equal(5, r.content_length);
    assert_false(r.chunked);
    assert_true(r.keep_alive);
    assert_false(r.expect_continue);
    assert_int_equal(strlen(text) - 5, r.head_len);
    assert_memory_equal("hello", buf + r.head_len, 5);

    assert_int_equal(0, parse("GET / HTTP/1.1\r\n\r\n", &r, buf, sizeof buf));
    assert_null(r.query);
    /* absolute-form: scheme and authority dropped (RFC 9112 3.2.2) */
    assert_int_equal(
        0, parse("POST HTTP://127.0.0.1:8000/x/y?q=1 HTTP/1.1\r\n\r\n", &r, buf, sizeof buf));
    assert_string_equal("/x/y", r.path);
    assert_string_equal("q=1", r.query);
    assert_int_equal(0, parse("POST https://h?q HTTP/1.1\r\n\r\n", &r, buf, sizeof buf));
    assert_string_equal("/", r.path);
    assert_string_equal("q", r.query);
    assert_false(r.has_length);
    assert_int_equal(0, r.n_fields);
}

static void test_connection(void **state)
{
    char buf[512];
    struct h1_request r;

    assert_int_equal(
        0, parse("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &r, buf, sizeof buf));
    assert_false(r.keep_alive);
    assert_int_equal(0, parse("GET / HTTP/1.0\r\n\r\n", &r, buf, sizeof buf));
    assert_int_equal(0, r.minor);
    assert_false(r.keep_alive);
    assert_int_equal(
        0, parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, buf, sizeof buf));
    assert_true(r.keep_alive);
    assert_int_equal(0, parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n",
                              &r, buf, sizeof buf));
    assert_true(r.expect_continue);
    assert_true(r.chunked);
    assert_false(r.has_length);
    /* the same length twice is one length */
    assert_int_equal(0, parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                              &r, buf, sizeof buf));
    assert_int_equal(3, r.content_length);
}

static void test_refused(void **state)
{
    static const struct {
        const char *head;
        int code;
    } cases[] = {
        {"GET / HTTP/1.1\nHost: h\r\n\r\n", CR_EPROTO},               /* bare LF */
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", CR_EPROTO},          /* bare CR */
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", CR_EPROTO},            /* space before colon */
        {"GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n", CR_EPROTO},    /* obs-fold */
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", CR_EPROTO},             /* field without colon */
        {"GET / HTTP/1.1\r\n: v\r\n\r\n", CR_EPROTO},                 /* empty name */
        {"GET  / HTTP/1.1\r\n\r\n", CR_EPROTO},                       /* empty target */
        {"GET /\x01 HTTP/1.1\r\n\r\n", CR_EPROTO},                    /* control in target */
        {"G(T / HTTP/1.1\r\n\r\n", CR_EPROTO},                        /* method not a token */
        {"GET / HTTP/1.1 \r\n\r\n", CR_EPROTO},                       /* trailing space */
        {"GET / HTTX/1.1\r\n\r\n", CR_EPROTO},                        /* not HTTP */
        {"GET /\r\n\r\n", CR_EPROTO},                                 /* HTTP/0.9 */
        {"\r\n\r\n", CR_EPROTO},                                      /* no request line */
        {"GET / HTTP/2.0\r\n\r\n", CR_EUNKNOWNOP},                    /* version */
        {"GET / HTTP/1.2\r\n\r\n", CR_EUNKNOWNOP},                    /* version */
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", CR_EPROTO}, /* sign */
        {"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", CR_EPROTO},
        {"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", CR_EPROTO},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", CR_EPROTO},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", CR_EPROTO},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", CR_EPROTO},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", CR_EUNKNOWNOP},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         CR_EPROTO},
    };
    char buf[512];
    struct h1_request r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(cases[i].head, &r, buf, sizeof buf);

        if (rc != cases[i].code)
            fail_msg("case %zu (%s): %d, expected %d", i, cases[i].head, rc, cases[i].code);
    }
    assert_int_equal(CR_EUNKNOWNOP, parse("GET / HTTP/2.0\r\n\r\n", &r, buf, sizeof buf));
    assert_int_equal(-1, r.minor);
}

static void test_too_many_fields(void **state)
{
    char text[8192], buf[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "GET / HTTP/1.1\r\n");
    struct h1_request r;

    for (int i = 0; i < H1_MAX_FIELDS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "F%d: v\r\n", i);
    memcpy(text + n, "\r\n", 3);
    assert_int_equal(0, parse(text, &r, buf, sizeof buf));
    assert_int_equal(H1_MAX_FIELDS, r.n_fields);
    memcpy(text + n, "X: y\r\n\r\n", 9);
    assert_int_equal(CR_ETOOMANY, parse(text, &r, buf, sizeof buf));
}

/* A head arriving in two reads, cut at every byte: found exactly when complete. */
static void test_head_end_pieces(void **state)
{
    const char *text = "POST / HTTP/1.1\r\nA: b\r\n\r\nBODY\r\n\r\n";
    size_t head = strlen("POST / HTTP/1.1\r\nA: b\r\n\r\n");

    for (size_t cut = 0; cut <= strlen(text); cut++) {
        size_t first = h1_head_end(text, cut, 0);

        if (cut < head) {
            assert_int_equal(0, first);
            assert_int_equal(head, h1_head_end(text, strlen(text), cut));
        } else {
            assert_int_equal(head, first);
        }
    }
}

/* body chunked into pieces of the given sizes, with extensions and trailers. */
static size_t encode_chunked(const char *body, size_t len, const size_t *sizes, size_t n_sizes,
                             char *out)
{
    size_t o = 0, at = 0;

    for (size_t i = 0; at < len; i++) {
        size_t n = sizes[i % n_sizes];

        if (n > len - at)
            n = len - at;
        o += (size_t)sprintf(out + o, i % 3 == 2 ? "%zX;ext=1\r\n" : "%zx\r\n", n);
        memcpy(out + o, body + at, n);
        o += n;
        memcpy(out + o, "\r\n", 2);
        o += 2;
        at += n;
    }
    o += (size_t)sprintf(out + o, "0\r\nTrailer: t\r\n\r\n");
    return o;
}

static void test_dechunk(void **state)
{
    char body[600], enc[4096], work[4096];
    size_t sizes[] = {1, 7, 16, 255, 3}, len, got;

    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    len = encode_chunked(body, sizeof body, sizes, 5, enc);
    memcpy(enc + len, "NEXT", 4); /* a pipelined request follows */
    /* cut at every byte: incomplete until all of it is there, buffer untouched meanwhile */
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(work, enc, cut);
        assert_int_equal(0, h1_dechunk(work, cut, 1 << 20, &got));
        assert_memory_equal(enc, work, cut);
    }
    memcpy(work, enc, len + 4);
    assert_int_equal((int64_t)len, h1_dechunk(work, len + 4, 1 << 20, &got));
    assert_int_equal(sizeof body, got);
    assert_memory_equal(body, work, sizeof body);
    assert_memory_equal("NEXT", work + len, 4);

    /* an empty body */
    strcpy(work, "0\r\n\r\n");
    assert_int_equal(5, h1_dechunk(work, 5, 10, &got));
    assert_int_equal(0, got);
}

static void test_dechunk_refused(void **state)
{
    static const char *bad[] = {
        "g\r\n",
        "\r\n",
        "5\r\nabcdeXX0\r\n\r\n",
        "5\nabcde\r\n0\r\n\r\n",
        "3 x\r\nabc\r\n0\r\n\r\n",
        "0\r\nno colon\r\n\r\n",
        "fffffffffffffffff\r\n",
    };
    char work[64];
    size_t got;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(work, bad[i]);
        if (h1_dechunk(work, strlen(work), 1 << 20, &got) != CR_EPROTO)
            fail_msg("case %zu accepted", i);
    }
    /* over the limit as soon as a chunk size says so, data or not */
    strcpy(work, "10\r\n");
    assert_int_equal(CR_EFRAMETOOBIG, h1_dechunk(work, strlen(work), 15, &got));
    strcpy(work, "8\r\n12345678\r\n8\r\n");
    assert_int_equal(CR_EFRAMETOOBIG, h1_dechunk(work, strlen(work), 15, &got));
    strcpy(work, "8\r\n12345678\r\n7\r\n1234567\r\n0\r\n\r\n");
    assert_int_equal((int64_t)strlen(work), h1_dechunk(work, strlen(work), 15, &got));
    assert_int_equal(15, got);
}

static void test_tchar(void **state)
{
    const char *extra = "!#$%&'*+-.^_`|~";

    for (int c = 0; c < 256; c++) {
        bool want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c && strchr(extra, c));

        if (h1_is_tchar((unsigned char)c) != want)
            fail_msg("character %d", c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),          cmocka_unit_test(test_connection),
        cmocka_unit_test(test_refused),         cmocka_unit_test(test_too_many_fields),
        cmocka_unit_test(test_head_end_pieces), cmocka_unit_test(test_dechunk),
        cmocka_unit_test(test_dechunk_refused), cmocka_unit_test(test_tchar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
