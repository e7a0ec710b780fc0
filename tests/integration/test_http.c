/*
 * HTTP/1.1 against a real cirrusd, with requests written by hand so every framing case is
 * exact: pipelining answered in order (a read after a write sees it), keep-alive and close,
 * HTTP/1.0, Expect: 100-continue, chunked bodies, a request dribbled one byte at a time, the
 * limits (413 in DynamoDB's shape, 431), malformed heads (400), versions and codings refused
 * (505, 501), 404 and HEAD, the headers SDKs check (x-amz-crc32, x-amzn-RequestId), clients
 * hanging up with a write in flight, and a stop with idle keep-alive connections open.
 */
#include "harness.h"
#include "server/http/crc32.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_BODY 4096 /* --http-max-body of the server under test */

static struct harness srv;
static int http_port;

struct conn {
    int fd;
    char buf[256 * 1024];
    size_t len; /* bytes read and not yet taken by a response */
};

struct resp {
    int status;
    char version[9];
    char head[8192];
    char body[64 * 1024];
    size_t body_len;
};

static struct conn *http_open(void)
{
    struct conn *c = calloc(1, sizeof *c);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
    struct timeval tv = {10, 0};

    assert_non_null(c);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(0, connect(c->fd, (struct sockaddr *)&a, sizeof a));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return c;
}

static void http_close(struct conn *c)
{
    close(c->fd);
    free(c);
}

static void send_all(struct conn *c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(c->fd, p, n);

        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(struct conn *c, const char *s)
{
    send_all(c, s, strlen(s));
}

/* More bytes into c->buf; false on EOF. */
static bool fill(struct conn *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);

    assert_true(n >= 0 || errno == ECONNRESET);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    return true;
}

/* The value of a field of r's head, copied into out; false when absent. */
static bool field(const struct resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n, *e;

            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return true;
        }
    }
    return false;
}

/* The end of the head in c->buf (its blank line), NULL when it has not all arrived. */
static char *head_end(struct conn *c)
{
    for (size_t i = 0; i + 4 <= c->len; i++) {
        if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0)
            return c->buf + i;
    }
    return NULL;
}

/* Reads one response (a HEAD's has no body); false on EOF before any byte of it. */
static bool read_resp_for(struct conn *c, struct resp *r, bool head_only)
{
    char *end, value[64];
    size_t head_len, body;

    while (!(end = head_end(c))) {
        if (!fill(c)) {
            assert_int_equal(0, c->len);
            return false;
        }
    }
    head_len = (size_t)(end - c->buf) + 4;
    assert_true(head_len < sizeof r->head);
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = 0;
    assert_int_equal(2, sscanf(r->head, "%8s %d", r->version, &r->status));
    body = field(r, "Content-Length", value, sizeof value) ? strtoul(value, NULL, 10) : 0;
    if (head_only || r->status == 100)
        body = 0;
    assert_true(body < sizeof r->body);
    while (c->len < head_len + body)
        assert_true(fill(c));
    memcpy(r->body, c->buf + head_len, body);
    r->body[body] = 0;
    r->body_len = body;
    c->len -= head_len + body;
    memmove(c->buf, c->buf + head_len + body, c->len);
    return true;
}

static void read_resp(struct conn *c, struct resp *r)
{
    assert_true(read_resp_for(c, r, false));
}

/* The server has closed: EOF (or a reset) and no further bytes. */
static void assert_closed(struct conn *c)
{
    assert_int_equal(0, c->len);
    assert_false(fill(c));
}

/* A DynamoDB request's text: target and JSON body, extra fields before the blank line. */
static char *ddb(const char *target, const char *body, const char *extra)
{
    static char text[8][8192]; /* one request's text lives for the next seven calls */
    static int next;
    char *t = text[next++ % 8];

    snprintf(t, sizeof text[0],
             "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
             "X-Amz-Target: DynamoDB_20120810.%s\r\nContent-Length: %zu\r\n%s\r\n%s",
             target, strlen(body), extra ? extra : "", body);
    return t;
}

static void call_ok(const char *target, const char *body, struct resp *r)
{
    struct conn *c = http_open();

    send_str(c, ddb(target, body, "Connection: close\r\n"));
    read_resp(c, r);
    if (r->status != 200)
        fail_msg("%s: %d %s", target, r->status, r->body);
    http_close(c);
}

static int setup(void **state)
{
    char flag[300];
    struct resp r;
    FILE *f;

    harness_init(&srv);
    snprintf(flag, sizeof flag, "--http-port-file=%s.http", srv.dir);
    harness_flag(&srv, flag);
    snprintf(flag, sizeof flag, "--http-max-body=%d", MAX_BODY);
    harness_flag(&srv, flag);
    harness_flag(&srv, "--http-threads=2");
    if (harness_start(&srv) < 0)
        return -1;
    snprintf(flag, sizeof flag, "%s.http", srv.dir);
    f = fopen(flag, "r");
    if (!f || fscanf(f, "%d", &http_port) != 1)
        return -1;
    fclose(f);
    unlink(flag);
    call_ok("CreateTable",
            "{\"TableName\":\"tbl\",\"BillingMode\":\"PAY_PER_REQUEST\",\"KeySchema\":[{"
            "\"AttributeName\":\"k\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{"
            "\"AttributeName\":\"k\",\"AttributeType\":\"S\"}]}",
            &r);
    return 0;
}

static int teardown(void **state)
{
    harness_cleanup(&srv);
    return 0;
}

static void test_headers(void **state)
{
    struct conn *c = http_open();
    struct resp r;
    char crc[32], id[64], id2[64];

    send_str(c, ddb("ListTables", "{}", NULL));
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    assert_string_equal("HTTP/1.1", r.version);
    assert_string_equal("{\"TableNames\":[\"tbl\"]}", r.body);
    assert_true(field(&r, "x-amz-crc32", crc, sizeof crc));
    assert_int_equal(crc32_update(0, r.body, r.body_len), strtoul(crc, NULL, 10));
    assert_true(field(&r, "x-amzn-RequestId", id, sizeof id));
    assert_int_equal(32, strlen(id));
    assert_true(field(&r, "Date", crc, sizeof crc));
    assert_false(field(&r, "Connection", crc, sizeof crc)); /* keep-alive: HTTP/1.1's default */
    /* the same connection again: a new id */
    send_str(c, ddb("ListTables", "{}", NULL));
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    assert_true(field(&r, "x-amzn-RequestId", id2, sizeof id2));
    assert_string_not_equal(id, id2);
    http_close(c);
}

/* Five requests in one write, a write among them: answered in order, the read sees the write. */
static void test_pipelined(void **state)
{
    struct conn *c = http_open();
    struct resp r;
    char all[16384];

    snprintf(all, sizeof all, "%s%s%s%s%s", ddb("ListTables", "{}", NULL),
             ddb("PutItem",
                 "{\"TableName\":\"tbl\",\"Item\":{\"k\":{\"S\":\"p\"},\"v\":{\"N\":\"1\"}}}",
                 NULL),
             ddb("GetItem", "{\"TableName\":\"tbl\",\"Key\":{\"k\":{\"S\":\"p\"}}}", NULL),
             ddb("Nonsense", "{}", NULL),
             ddb("GetItem", "{\"TableName\":\"tbl\",\"Key\":{\"k\":{\"S\":\"absent\"}}}", NULL));
    send_str(c, all);
    read_resp(c, &r);
    assert_string_equal("{\"TableNames\":[\"tbl\"]}", r.body);
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    assert_string_equal("{}", r.body);
    read_resp(c, &r);
    assert_string_equal("{\"Item\":{\"k\":{\"S\":\"p\"},\"v\":{\"N\":\"1\"}}}", r.body);
    read_resp(c, &r);
    assert_int_equal(400, r.status);
    assert_non_null(strstr(r.body, "UnknownOperationException"));
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    assert_string_equal("{}", r.body);
    http_close(c);
}

static void test_close_and_http10(void **state)
{
    struct conn *c = http_open();
    struct resp r;
    char v[64];

    send_str(c, ddb("ListTables", "{}", "Connection: close\r\n"));
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    assert_true(field(&r, "Connection", v, sizeof v));
    assert_string_equal("close", v);
    assert_closed(c);
    http_close(c);

    /* HTTP/1.0: closed after the answer unless the client asks for keep-alive */
    c = http_open();
    send_str(c, "POST / HTTP/1.0\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                "Content-Length: 2\r\n\r\n{}");
    read_resp(c, &r);
    assert_string_equal("HTTP/1.0", r.version);
    assert_int_equal(200, r.status);
    assert_closed(c);
    http_close(c);
    c = http_open();
    for (int i = 0; i < 2; i++) {
        send_str(c, "POST / HTTP/1.0\r\nConnection: keep-alive\r\nX-Amz-Target: "
                    "DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\n\r\n{}");
        read_resp(c, &r);
        assert_int_equal(200, r.status);
        assert_true(field(&r, "Connection", v, sizeof v));
        assert_string_equal("keep-alive", v);
    }
    http_close(c);
}

static void test_continue_and_chunked(void **state)
{
    const char *item =
        "{\"TableName\":\"tbl\",\"Item\":{\"k\":{\"S\":\"chunked\"},\"n\":{\"N\":\"7\"}}}";
    struct conn *c = http_open();
    struct resp r;
    char head[512], chunk[64];
    size_t len = strlen(item);

    /* Expect: 100-continue: the interim answer first, then the real one */
    snprintf(head, sizeof head,
             "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nExpect: "
             "100-continue\r\nContent-Length: %zu\r\n\r\n",
             len);
    send_str(c, head);
    read_resp(c, &r);
    assert_int_equal(100, r.status);
    send_str(c, item);
    read_resp(c, &r);
    assert_int_equal(200, r.status);

    /* the same item in chunks of 5 bytes, then read back */
    send_str(c, "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nTransfer-Encoding: "
                "chunked\r\n\r\n");
    for (size_t at = 0; at < len; at += 5) {
        size_t n = len - at < 5 ? len - at : 5;

        snprintf(chunk, sizeof chunk, "%zx\r\n%.*s\r\n", n, (int)n, item + at);
        send_str(c, chunk);
    }
    send_str(c, "0\r\n\r\n");
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    send_str(c,
             ddb("GetItem", "{\"TableName\":\"tbl\",\"Key\":{\"k\":{\"S\":\"chunked\"}}}", NULL));
    read_resp(c, &r);
    assert_string_equal("{\"Item\":{\"k\":{\"S\":\"chunked\"},\"n\":{\"N\":\"7\"}}}", r.body);
    http_close(c);
}

static void test_dribble(void **state)
{
    const char *req = ddb("ListTables", "{}", NULL);
    struct conn *c = http_open();
    struct resp r;

    for (size_t i = 0; req[i]; i++)
        send_all(c, req + i, 1);
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    http_close(c);
}

static void test_limits(void **state)
{
    struct conn *c = http_open();
    struct resp r;
    char head[256], *big;

    /* a body over --http-max-body: DynamoDB's error shape, refused before it is sent */
    snprintf(head, sizeof head,
             "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: "
             "%d\r\n\r\n",
             MAX_BODY + 1);
    send_str(c, head);
    read_resp(c, &r);
    assert_int_equal(413, r.status);
    assert_non_null(strstr(r.body, "\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                                   "ValidationException\""));
    assert_non_null(strstr(r.body, "exceeds the limit of 4096 bytes"));
    assert_closed(c);
    http_close(c);

    /* a chunked body over the limit */
    c = http_open();
    send_str(c, "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nTransfer-Encoding: "
                "chunked\r\n\r\n2000\r\n");
    read_resp(c, &r);
    assert_int_equal(413, r.status);
    assert_non_null(strstr(r.body, "ValidationException"));
    assert_closed(c);
    http_close(c);

    /* a head over 64 KiB */
    c = http_open();
    big = malloc(70 * 1024);
    assert_non_null(big);
    memset(big, 'a', 70 * 1024);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    send_all(c, big, 70 * 1024);
    free(big);
    read_resp(c, &r);
    assert_int_equal(431, r.status);
    assert_closed(c);
    http_close(c);
}

static void test_refused(void **state)
{
    static const struct {
        const char *text;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nBad Field: x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nTransfer-Encoding: "
         "chunked\r\n\r\nzz\r\n",
         400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"\x16\x03\x01\x02\x10\x01\x01\x01\xfc\x03\x03\r\n\r\n", 400}, /* TLS, plain port */
    };
    struct resp r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct conn *c = http_open();

        send_str(c, cases[i].text);
        read_resp(c, &r);
        if (r.status != cases[i].status)
            fail_msg("case %zu: %d, expected %d", i, r.status, cases[i].status);
        assert_closed(c);
        http_close(c);
    }
}

/* 404 for what no dialect answers, HEAD without a body, absolute-form targets routed by path. */
static void test_not_found_and_head(void **state)
{
    struct conn *c = http_open();
    struct resp r;
    char v[32];

    send_str(c, "GET /nothing/here HTTP/1.1\r\n\r\n");
    read_resp(c, &r);
    assert_int_equal(404, r.status);
    assert_non_null(strstr(r.body, "no service answers GET /nothing/here"));
    send_str(c, "HEAD /nothing HTTP/1.1\r\n\r\n");
    assert_true(read_resp_for(c, &r, true));
    assert_int_equal(404, r.status);
    assert_true(field(&r, "Content-Length", v, sizeof v));
    assert_true(atoi(v) > 0);
    /* no body came: the next answer follows at once */
    send_str(c, ddb("ListTables", "{}", NULL));
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    /* absolute-form, as a client configured with a proxy URL may send it */
    send_str(c, "POST http://127.0.0.1:8000/ HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.ListTables"
                "\r\nContent-Length: 2\r\n\r\n{}");
    read_resp(c, &r);
    assert_int_equal(200, r.status);
    assert_string_equal("{\"TableNames\":[\"tbl\"]}", r.body);
    http_close(c);
}

/* Clients that hang up right after sending a write: every write still applies, none answered
 * to anyone else, and the server goes on. */
static void test_hangup_with_write_in_flight(void **state)
{
    char body[256];
    struct resp r;

    for (int i = 0; i < 40; i++) {
        struct conn *c = http_open();

        snprintf(body, sizeof body, "{\"TableName\":\"tbl\",\"Item\":{\"k\":{\"S\":\"gone%d\"}}}",
                 i);
        send_str(c, ddb("PutItem", body, NULL));
        http_close(c);
    }
    for (int i = 0; i < 40; i++) {
        char want[64];

        snprintf(body, sizeof body,
                 "{\"TableName\":\"tbl\",\"Key\":{\"k\":{\"S\":\"gone%d\"}},"
                 "\"ConsistentRead\":true}",
                 i);
        snprintf(want, sizeof want, "{\"Item\":{\"k\":{\"S\":\"gone%d\"}}}", i);
        for (int tries = 0; tries < 100; tries++) {
            call_ok("GetItem", body, &r);
            if (strcmp(r.body, "{}") != 0)
                break;
            usleep(10000); /* the write may still be on its way to the log */
        }
        assert_string_equal(want, r.body);
    }
}

/* Idle keep-alive connections do not hold a stop up. */
static void test_stop_with_idle_connections(void **state)
{
    struct conn *c[8];
    struct resp r;

    for (int i = 0; i < 8; i++) {
        c[i] = http_open();
        send_str(c[i], ddb("ListTables", "{}", NULL));
        read_resp(c[i], &r);
        assert_int_equal(200, r.status);
    }
    assert_int_equal(0, harness_stop(&srv));
    for (int i = 0; i < 8; i++) {
        assert_closed(c[i]);
        http_close(c[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_close_and_http10),
        cmocka_unit_test(test_continue_and_chunked),
        cmocka_unit_test(test_dribble),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_not_found_and_head),
        cmocka_unit_test(test_hangup_with_write_in_flight),
        cmocka_unit_test(test_stop_with_idle_connections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
