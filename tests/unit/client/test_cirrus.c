/*
 * libcirrus against a fake server: a thread on a 127.0.0.1 ephemeral port that reads frames
 * and answers canned protobuf Responses. Covers framing, every call's request and result
 * conversion, out-of-order pipelined responses, server errors, a close mid-frame, timeouts,
 * oversized and undecodable frames. The fake thread never asserts (cmocka is not thread-safe):
 * it keeps the requests it read and the test checks them after joining it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cirrus.pb-c.h"
#include "client/cirrus.h"

#define MAX_REQS 8

struct fake;
typedef void script_fn(struct fake *f, int fd);

struct fake {
    int lfd;
    int port;
    pthread_t thread;
    script_fn *script;
    Cirrus__Request *reqs[MAX_REQS];
    uint32_t frame_len[MAX_REQS];
    int nreqs;
};

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    ssize_t r;

    while (n > 0) {
        r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    ssize_t w;

    while (n > 0) {
        w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one request frame and keeps it; NULL at EOF. */
static Cirrus__Request *read_req(struct fake *f, int fd)
{
    uint8_t hdr[4], *body;
    Cirrus__Request *req;
    uint32_t len;

    if (read_full(fd, hdr, 4) != 0)
        return NULL;
    len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    body = malloc(len ? len : 1);
    if (body == NULL || read_full(fd, body, len) != 0) {
        free(body);
        return NULL;
    }
    req = cirrus__request__unpack(NULL, len, body);
    free(body);
    if (req != NULL && f->nreqs < MAX_REQS) {
        f->frame_len[f->nreqs] = len;
        f->reqs[f->nreqs++] = req;
    } else if (req != NULL) {
        cirrus__request__free_unpacked(req, NULL);
        req = NULL;
    }
    return req;
}

/* Sends a response frame; chunk > 0 writes it that many bytes at a time with pauses. */
static void send_resp_chunked(int fd, Cirrus__Response *r, size_t chunk)
{
    size_t len = cirrus__response__get_packed_size(r), off;
    uint8_t *buf = malloc(4 + len);
    struct timespec pause = {0, 2000000};

    if (buf == NULL)
        return;
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    cirrus__response__pack(r, buf + 4);
    if (chunk == 0) {
        write_full(fd, buf, 4 + len);
    } else {
        for (off = 0; off < 4 + len; off += chunk) {
            write_full(fd, buf + off, off + chunk <= 4 + len ? chunk : 4 + len - off);
            nanosleep(&pause, NULL);
        }
    }
    free(buf);
}

static void send_resp(int fd, Cirrus__Response *r)
{
    send_resp_chunked(fd, r, 0);
}

/* Waits until the client closes its end. */
static void wait_eof(int fd)
{
    char b[256];

    while (read(fd, b, sizeof(b)) > 0)
        continue;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);

    if (fd >= 0) {
        f->script(f, fd);
        close(fd);
    }
    return NULL;
}

static void fake_start(struct fake *f, script_fn *script)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(f, 0, sizeof(*f));
    f->script = script;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* Waits for the fake to finish; its requests stay readable until fake_free(). */
static void fake_join(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

static void fake_free(struct fake *f)
{
    int i;

    for (i = 0; i < f->nreqs; i++)
        cirrus__request__free_unpacked(f->reqs[i], NULL);
}

static void fake_stop(struct fake *f)
{
    fake_join(f);
    fake_free(f);
}

static struct cirrus *connect_to(struct fake *f, int timeout_ms)
{
    struct cirrus *c = NULL;

    assert_int_equal(cirrus_connect("127.0.0.1", f->port, timeout_ms, &c), 0);
    assert_non_null(c);
    return c;
}

/* ---- scripts ---- */

static void s_ping(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__PingResponse p = CIRRUS__PING_RESPONSE__INIT;
    Cirrus__Request *req = read_req(f, fd);

    if (req == NULL)
        return;
    r.id = req->id;
    r.applied_index = 42;
    r.lag = 3;
    r.result_case = CIRRUS__RESPONSE__RESULT_PING;
    r.ping = &p;
    send_resp_chunked(fd, &r, 3); /* partial reads on the client side */
}

static void test_ping_framing(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_ping);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_ping(c), 0);
    assert_int_equal(cirrus_last_applied_index(c), 42);
    assert_int_equal(cirrus_last_lag(c), 3);
    assert_string_equal(cirrus_errmsg(c), "ok");
    cirrus_close(c);
    fake_join(&f);
    assert_int_equal(f.nreqs, 1);
    assert_int_equal(f.reqs[0]->op_case, CIRRUS__REQUEST__OP_PING);
    assert_true(f.reqs[0]->id != 0);
    assert_int_equal(f.frame_len[0], cirrus__request__get_packed_size(f.reqs[0]));
    fake_free(&f);
}

/* Answers a put by echoing its item as the old item, then a get with the same item. */
static void s_echo(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__PutItemResponse pr = CIRRUS__PUT_ITEM_RESPONSE__INIT;
    Cirrus__GetItemResponse gr = CIRRUS__GET_ITEM_RESPONSE__INIT;
    Cirrus__Request *put = read_req(f, fd), *get;

    if (put == NULL || put->op_case != CIRRUS__REQUEST__OP_PUT_ITEM)
        return;
    r.id = put->id;
    r.applied_index = 10;
    r.result_case = CIRRUS__RESPONSE__RESULT_PUT_ITEM;
    pr.old_item = put->put_item->item;
    r.put_item = &pr;
    send_resp(fd, &r);
    if ((get = read_req(f, fd)) == NULL)
        return;
    r.id = get->id;
    r.applied_index = 11;
    r.result_case = CIRRUS__RESPONSE__RESULT_GET_ITEM;
    gr.item = put->put_item->item;
    r.get_item = &gr;
    send_resp(fd, &r);
}

static void set_str(struct cirrus_value *map, const char *name, const char *s)
{
    struct cirrus_value v;

    assert_int_equal(cirrus_value_string(&v, s, strlen(s)), 0);
    assert_int_equal(cirrus_map_set(map, name, &v), 0);
}

/* An item holding one value of every kind. */
static void build_item(struct cirrus_value *item)
{
    struct cirrus_value v, e, inner;

    cirrus_value_container(item, CIRRUS_MAP);
    set_str(item, "id", "a");
    cirrus_value_null(&v);
    cirrus_map_set(item, "null", &v);
    cirrus_value_bool(&v, 1);
    cirrus_map_set(item, "bool", &v);
    cirrus_value_int(&v, -9007199254740993LL);
    cirrus_map_set(item, "int", &v);
    cirrus_value_double(&v, 0.1);
    cirrus_map_set(item, "double", &v);
    cirrus_value_decimal(&v, "123456789012345678901234567890.5");
    cirrus_map_set(item, "decimal", &v);
    cirrus_value_bytes(&v, "\0\1\2\377", 4);
    cirrus_map_set(item, "bytes", &v);
    cirrus_value_timestamp(&v, 1714564800, 500);
    cirrus_map_set(item, "ts", &v);
    cirrus_value_geopoint(&v, 48.85, 2.35);
    cirrus_map_set(item, "geo", &v);
    cirrus_value_ref(&v, "users/ann");
    cirrus_map_set(item, "ref", &v);
    cirrus_value_container(&v, CIRRUS_ARRAY);
    cirrus_value_int(&e, 1);
    cirrus_list_append(&v, &e);
    cirrus_value_container(&inner, CIRRUS_MAP);
    set_str(&inner, "deep", "yes");
    cirrus_list_append(&v, &inner);
    cirrus_map_set(item, "array", &v);
    cirrus_value_container(&v, CIRRUS_STRING_SET);
    cirrus_value_string(&e, "x", 1);
    cirrus_list_append(&v, &e);
    cirrus_map_set(item, "ss", &v);
    cirrus_value_container(&v, CIRRUS_NUMBER_SET);
    cirrus_value_int(&e, 7);
    cirrus_list_append(&v, &e);
    cirrus_value_decimal(&e, "1.5");
    cirrus_list_append(&v, &e);
    cirrus_value_double(&e, 2.5);
    cirrus_list_append(&v, &e);
    cirrus_map_set(item, "ns", &v);
    cirrus_value_container(&v, CIRRUS_BINARY_SET);
    cirrus_value_bytes(&e, "b", 1);
    cirrus_list_append(&v, &e);
    cirrus_map_set(item, "bs", &v);
    cirrus_value_container(&v, CIRRUS_MAP);
    cirrus_map_set(item, "empty", &v);
}

static void test_put_get_roundtrip(void **state)
{
    struct cirrus_value item, key, eq;
    struct cirrus_write_opts wo;
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    struct fake f;
    struct cirrus *c;
    Cirrus__PutItemRequest *put;
    Cirrus__GetItemRequest *get;

    (void)state;
    build_item(&item);
    cirrus_value_container(&key, CIRRUS_MAP);
    set_str(&key, "id", "a");
    cirrus_value_int(&eq, 3);
    memset(&wo, 0, sizeof(wo));
    wo.condition = CIRRUS_COND_EQUALS;
    wo.attr = "version";
    wo.value = &eq;
    wo.return_old = 1;
    memset(&ro, 0, sizeof(ro));
    ro.consistency = CIRRUS_SESSION;
    ro.session_token = 7;

    fake_start(&f, s_echo);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_put_item(c, "users", &item, &wo, &r), 0);
    assert_true(cirrus_value_equal(&r.item, &item));
    assert_int_equal(cirrus_last_applied_index(c), 10);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_item(c, "users", &key, &ro, &r), 0);
    assert_true(cirrus_value_equal(&r.item, &item));
    assert_int_equal(cirrus_last_applied_index(c), 11);
    cirrus_result_free(&r);
    cirrus_close(c);
    fake_join(&f);

    assert_int_equal(f.nreqs, 2);
    put = f.reqs[0]->put_item;
    assert_string_equal(put->table, "users");
    assert_true(put->return_old);
    assert_non_null(put->condition);
    assert_int_equal(put->condition->type, CIRRUS__CONDITION__CONDITION_EQUALS);
    assert_string_equal(put->condition->attribute, "version");
    assert_int_equal(put->condition->value->int_value, 3);
    assert_int_equal(put->item->n_fields, item.u.map.len);
    get = f.reqs[1]->get_item;
    assert_string_equal(get->table, "users");
    assert_int_equal(get->key->n_fields, 1);
    assert_memory_equal(get->key->fields[0]->value->string_value.data, "a", 1);
    assert_int_equal(get->read->consistency, CIRRUS__CONSISTENCY__SESSION);
    assert_int_equal(get->read->session_token, 7);
    assert_true(f.reqs[1]->id > f.reqs[0]->id);
    cirrus_value_clear(&item);
    cirrus_value_clear(&key);
    fake_free(&f);
}

static void s_get_missing(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__GetItemResponse gr = CIRRUS__GET_ITEM_RESPONSE__INIT;
    Cirrus__Request *req = read_req(f, fd);

    if (req == NULL)
        return;
    r.id = req->id;
    r.result_case = CIRRUS__RESPONSE__RESULT_GET_ITEM;
    r.get_item = &gr;
    send_resp(fd, &r);
}

static void test_get_missing(void **state)
{
    struct cirrus_value key;
    struct cirrus_result r;
    struct fake f;
    struct cirrus *c;

    (void)state;
    cirrus_value_container(&key, CIRRUS_MAP);
    set_str(&key, "id", "zz");
    fake_start(&f, s_get_missing);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_get_item(c, "users", &key, NULL, &r), CR_ENOTFOUND);
    assert_int_equal(r.item.type, CIRRUS_NULL);
    assert_non_null(strstr(cirrus_errmsg(c), "not found"));
    cirrus_result_free(&r);
    cirrus_close(c);
    fake_join(&f);
    assert_null(f.reqs[0]->get_item->read);
    cirrus_value_clear(&key);
    fake_free(&f);
}

/* Two requests: the first fails with a message, the second with only a code. */
static void s_errors(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__Request *req;

    if ((req = read_req(f, fd)) == NULL)
        return;
    r.id = req->id;
    r.error_code = CR_ENOTABLE;
    r.error_name = "CR_ENOTABLE";
    r.error_message = "table 'users' not found";
    send_resp(fd, &r);
    if ((req = read_req(f, fd)) == NULL)
        return;
    r.id = req->id;
    r.error_code = CR_EOVERLOAD;
    r.error_name = "CR_EOVERLOAD";
    r.error_message = "";
    send_resp(fd, &r);
}

static void test_server_errors(void **state)
{
    struct cirrus_result r;
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_errors);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_describe_table(c, "users", NULL, &r), CR_ENOTABLE);
    assert_string_equal(cirrus_errmsg(c), "table 'users' not found");
    assert_null(r.table.name);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_delete_table(c, "users", &r), CR_EOVERLOAD);
    assert_string_equal(cirrus_errmsg(c), cr_strerror(CR_EOVERLOAD));
    cirrus_result_free(&r);
    cirrus_close(c);
    fake_join(&f);
    assert_string_equal(f.reqs[0]->describe_table->table, "users");
    assert_string_equal(f.reqs[1]->delete_table->table, "users");
    fake_free(&f);
}

/* Reads three pipelined requests, answers them last first. */
static void s_reverse(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__Request *reqs[3];
    int i;

    for (i = 0; i < 3; i++)
        if ((reqs[i] = read_req(f, fd)) == NULL)
            return;
    for (i = 2; i >= 0; i--) {
        r.id = reqs[i]->id;
        r.error_code = i == 1 ? CR_ENOTFOUND : 0;
        r.applied_index = 100 + (uint64_t)i;
        send_resp(fd, &r);
    }
}

static void test_pipelined_out_of_order(void **state)
{
    struct cirrus_value key, item;
    uint64_t ids[3], id;
    struct fake f;
    struct cirrus *c;
    int code;

    (void)state;
    cirrus_value_container(&key, CIRRUS_MAP);
    set_str(&key, "id", "k");
    cirrus_value_container(&item, CIRRUS_MAP);
    set_str(&item, "id", "k");
    set_str(&item, "v", "value");
    fake_start(&f, s_reverse);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_send_get(c, "t", &key, NULL, &ids[0]), 0);
    assert_int_equal(cirrus_send_get(c, "t", &key, NULL, &ids[1]), 0);
    assert_int_equal(cirrus_send_put(c, "t", &item, &ids[2]), 0);
    assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
    assert_int_equal(cirrus_flush(c), 0);
    assert_int_equal(cirrus_recv(c, &id, &code), 0);
    assert_int_equal(id, ids[2]);
    assert_int_equal(code, 0);
    assert_int_equal(cirrus_last_applied_index(c), 102);
    assert_int_equal(cirrus_recv(c, &id, &code), 0);
    assert_int_equal(id, ids[1]);
    assert_int_equal(code, CR_ENOTFOUND);
    assert_int_equal(cirrus_recv(c, &id, &code), 0);
    assert_int_equal(id, ids[0]);
    assert_int_equal(code, 0);
    cirrus_close(c);
    fake_join(&f);
    assert_int_equal(f.nreqs, 3);
    assert_int_equal(f.reqs[2]->op_case, CIRRUS__REQUEST__OP_PUT_ITEM);
    assert_int_equal(f.reqs[2]->put_item->item->n_fields, 2);
    cirrus_value_clear(&key);
    cirrus_value_clear(&item);
    fake_free(&f);
}

static void s_close_mid_frame(struct fake *f, int fd)
{
    uint8_t partial[14] = {0, 0, 0, 100, 8, 1};

    if (read_req(f, fd) == NULL)
        return;
    write_full(fd, partial, sizeof(partial));
}

static void test_close_mid_frame(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_close_mid_frame);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_ping(c), CR_ECLOSED);
    assert_non_null(strstr(cirrus_errmsg(c), "middle of a frame"));
    /* The connection stays unusable. */
    assert_int_equal(cirrus_ping(c), CR_ECLOSED);
    cirrus_close(c);
    fake_stop(&f);
}

static void s_close_at_once(struct fake *f, int fd)
{
    read_req(f, fd);
}

static void test_close_between_frames(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_close_at_once);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_ping(c), CR_ECLOSED);
    cirrus_close(c);
    fake_stop(&f);
}

static void s_silent(struct fake *f, int fd)
{
    if (read_req(f, fd) != NULL)
        wait_eof(fd);
}

static void test_timeout(void **state)
{
    struct timespec t0, t1;
    struct fake f;
    struct cirrus *c;
    long ms;

    (void)state;
    fake_start(&f, s_silent);
    c = connect_to(&f, 150);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cirrus_ping(c), CR_ETIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 140 && ms < 2000);
    cirrus_close(c);
    fake_stop(&f);
}

/* Answers the first request only after the second arrives, then both in order. */
static void s_late(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__Request *a = read_req(f, fd), *b;

    if (a == NULL || (b = read_req(f, fd)) == NULL)
        return;
    r.id = a->id;
    send_resp(fd, &r);
    r.id = b->id;
    r.applied_index = 5;
    send_resp(fd, &r);
}

static void test_timeout_then_reuse(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_late);
    c = connect_to(&f, 150);
    assert_int_equal(cirrus_ping(c), CR_ETIMEOUT);
    cirrus_set_timeout(c, 2000);
    assert_int_equal(cirrus_ping(c), 0);
    assert_int_equal(cirrus_last_applied_index(c), 5);
    cirrus_close(c);
    fake_stop(&f);
}

static void s_huge_header(struct fake *f, int fd)
{
    uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xf0};

    if (read_req(f, fd) == NULL)
        return;
    write_full(fd, hdr, sizeof(hdr));
    wait_eof(fd);
}

static void test_oversized_frame(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_huge_header);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_ping(c), CR_EPROTO);
    assert_non_null(strstr(cirrus_errmsg(c), "exceeds"));
    assert_int_equal(cirrus_ping(c), CR_EPROTO);
    cirrus_close(c);
    fake_stop(&f);
}

static void test_frame_over_lowered_limit(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_ping);
    c = connect_to(&f, 2000);
    cirrus_set_max_frame(c, 2);
    assert_int_equal(cirrus_ping(c), CR_EFRAMETOOBIG);
    cirrus_set_max_frame(c, 4);
    /* The request fits in 4 bytes; the response (id, applied index, lag, ping) does not. */
    assert_int_equal(cirrus_ping(c), CR_EPROTO);
    cirrus_close(c);
    fake_stop(&f);
}

static void s_garbage(struct fake *f, int fd)
{
    uint8_t junk[9] = {0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff};

    if (read_req(f, fd) == NULL)
        return;
    write_full(fd, junk, sizeof(junk));
    wait_eof(fd);
}

static void test_undecodable_frame(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_garbage);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_ping(c), CR_EPROTO);
    cirrus_close(c);
    fake_stop(&f);
}

/* Answers a stats request with a get_item result. */
static void s_wrong_kind(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__GetItemResponse gr = CIRRUS__GET_ITEM_RESPONSE__INIT;
    Cirrus__Request *req = read_req(f, fd);

    if (req == NULL)
        return;
    r.id = req->id;
    r.result_case = CIRRUS__RESPONSE__RESULT_GET_ITEM;
    r.get_item = &gr;
    send_resp(fd, &r);
    wait_eof(fd);
}

static void test_wrong_result_kind(void **state)
{
    struct cirrus_result r;
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_wrong_kind);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_stats(c, &r), CR_EPROTO);
    cirrus_result_free(&r);
    cirrus_close(c);
    fake_stop(&f);
}

/* Answers to an unknown (future) id: the client must not take it as its own. */
static void s_unknown_id(struct fake *f, int fd)
{
    Cirrus__Response r = CIRRUS__RESPONSE__INIT;
    Cirrus__Request *req = read_req(f, fd);

    if (req == NULL)
        return;
    r.id = req->id + 1000;
    send_resp(fd, &r);
    wait_eof(fd);
}

static void test_unknown_id(void **state)
{
    struct fake f;
    struct cirrus *c;

    (void)state;
    fake_start(&f, s_unknown_id);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_ping(c), CR_EPROTO);
    cirrus_close(c);
    fake_stop(&f);
}

static void test_connect_refused(void **state)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct cirrus *c = (struct cirrus *)1;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd); /* bound, never listening, now closed: nothing accepts on this port */
    assert_int_equal(cirrus_connect("127.0.0.1", port, 1000, &c), CR_ECONNECT);
    assert_null(c);
    assert_int_equal(cirrus_connect("127.0.0.1", 0, 1000, &c), CR_EINVAL);
}

/* Query, scan, batch, tables, describe, create, stats: one response each. */
static void s_many(struct fake *f, int fd)
{
    Cirrus__Response r;
    Cirrus__Request *req;
    Cirrus__QueryResponse qr = CIRRUS__QUERY_RESPONSE__INIT;
    Cirrus__MapValue m1 = CIRRUS__MAP_VALUE__INIT, *items[2] = {&m1, &m1};
    Cirrus__Field fld = CIRRUS__FIELD__INIT, *flds[1] = {&fld};
    Cirrus__Value val = CIRRUS__VALUE__INIT;
    Cirrus__BatchWriteResponse br = CIRRUS__BATCH_WRITE_RESPONSE__INIT;
    Cirrus__WriteResult w1 = CIRRUS__WRITE_RESULT__INIT, w2 = CIRRUS__WRITE_RESULT__INIT;
    Cirrus__WriteResult *ws[2] = {&w1, &w2};
    Cirrus__ListTablesResponse lr = CIRRUS__LIST_TABLES_RESPONSE__INIT;
    char *names[2] = {"a", "b"};
    Cirrus__DescribeTableResponse dr = CIRRUS__DESCRIBE_TABLE_RESPONSE__INIT;
    Cirrus__CreateTableResponse cr = CIRRUS__CREATE_TABLE_RESPONSE__INIT;
    Cirrus__TableDescription td = CIRRUS__TABLE_DESCRIPTION__INIT;
    Cirrus__TableSchema ts = CIRRUS__TABLE_SCHEMA__INIT;
    Cirrus__KeyAttribute pk = CIRRUS__KEY_ATTRIBUTE__INIT, sk = CIRRUS__KEY_ATTRIBUTE__INIT;
    Cirrus__StatsResponse sr = CIRRUS__STATS_RESPONSE__INIT;
    static const Cirrus__Response init = CIRRUS__RESPONSE__INIT;

    val.kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
    val.string_value.data = (uint8_t *)"x";
    val.string_value.len = 1;
    fld.name = "id";
    fld.value = &val;
    m1.n_fields = 1;
    m1.fields = flds;
    qr.n_items = 2;
    qr.items = items;
    qr.scanned = 5;
    qr.cursor.data = (uint8_t *)"abc";
    qr.cursor.len = 3;
    w1.error_code = CR_ECONDITION;
    w1.error_name = "CR_ECONDITION";
    w2.error_code = CR_EABORTED;
    br.n_results = 2;
    br.results = ws;
    lr.n_tables = 2;
    lr.tables = names;
    lr.last_evaluated = "b";
    ts.name = "users";
    pk.name = "id";
    pk.type = CIRRUS__KEY_TYPE__KEY_TYPE_S;
    sk.name = "ts";
    sk.type = CIRRUS__KEY_TYPE__KEY_TYPE_N;
    ts.partition_key = &pk;
    ts.sort_key = &sk;
    td.schema = &ts;
    td.table_id = 9;
    td.item_count = 12;
    td.size_bytes = 3400;
    td.created_ms = 1714564800123;
    td.created_index = 77;
    dr.table = &td;
    cr.table = &td;
    sr.applied_index = 99;
    sr.tables = 2;
    sr.commits = 40;

    while ((req = read_req(f, fd)) != NULL) {
        r = init;
        r.id = req->id;
        switch (req->op_case) {
        case CIRRUS__REQUEST__OP_QUERY:
            r.result_case = CIRRUS__RESPONSE__RESULT_QUERY;
            r.query = &qr;
            break;
        case CIRRUS__REQUEST__OP_SCAN:
            r.result_case = CIRRUS__RESPONSE__RESULT_SCAN;
            r.scan = &qr;
            break;
        case CIRRUS__REQUEST__OP_BATCH_WRITE:
            r.error_code = CR_ECONDITION;
            r.error_message = "op 0: the conditional request failed";
            r.result_case = CIRRUS__RESPONSE__RESULT_BATCH_WRITE;
            r.batch_write = &br;
            break;
        case CIRRUS__REQUEST__OP_LIST_TABLES:
            r.result_case = CIRRUS__RESPONSE__RESULT_LIST_TABLES;
            r.list_tables = &lr;
            break;
        case CIRRUS__REQUEST__OP_DESCRIBE_TABLE:
            r.result_case = CIRRUS__RESPONSE__RESULT_DESCRIBE_TABLE;
            r.describe_table = &dr;
            break;
        case CIRRUS__REQUEST__OP_CREATE_TABLE:
            r.result_case = CIRRUS__RESPONSE__RESULT_CREATE_TABLE;
            r.create_table = &cr;
            break;
        case CIRRUS__REQUEST__OP_STATS:
            r.result_case = CIRRUS__RESPONSE__RESULT_STATS;
            r.stats = &sr;
            break;
        default:
            r.error_code = CR_EUNKNOWNOP;
            break;
        }
        send_resp(fd, &r);
    }
}

static void test_all_calls(void **state)
{
    struct cirrus_value pk, lo, hi, item, key;
    struct cirrus_write_op ops[2];
    struct cirrus_query q;
    struct cirrus_scan s;
    struct cirrus_result r;
    struct fake f;
    struct cirrus *c;
    Cirrus__QueryRequest *qr;
    Cirrus__BatchWriteRequest *bw;

    (void)state;
    assert_int_equal(cirrus_value_string(&pk, "p", 1), 0);
    cirrus_value_int(&lo, 1);
    cirrus_value_int(&hi, 9);
    cirrus_value_container(&item, CIRRUS_MAP);
    set_str(&item, "id", "x");
    cirrus_value_container(&key, CIRRUS_MAP);
    set_str(&key, "id", "y");
    fake_start(&f, s_many);
    c = connect_to(&f, 2000);

    memset(&q, 0, sizeof(q));
    q.pk = &pk;
    q.op = CIRRUS_SK_BETWEEN;
    q.sk = &lo;
    q.sk_end = &hi;
    q.reverse = 1;
    q.limit = 2;
    q.cursor = "cur";
    q.cursor_len = 3;
    assert_int_equal(cirrus_query(c, "users", &q, NULL, &r), 0);
    assert_int_equal(r.n_items, 2);
    assert_string_equal(cirrus_map_get(&r.items[1], "id")->u.str.ptr, "x");
    assert_int_equal(r.scanned, 5);
    assert_int_equal(r.cursor_len, 3);
    assert_memory_equal(r.cursor, "abc", 3);
    cirrus_result_free(&r);

    memset(&s, 0, sizeof(s));
    s.segment = 1;
    s.total_segments = 4;
    s.limit = 10;
    assert_int_equal(cirrus_scan(c, "users", &s, NULL, &r), 0);
    assert_int_equal(r.n_items, 2);
    cirrus_result_free(&r);

    memset(ops, 0, sizeof(ops));
    ops[0].table = "users";
    ops[0].value = &item;
    ops[0].opts.condition = CIRRUS_COND_NOT_EXISTS;
    ops[1].table = "users";
    ops[1].is_delete = 1;
    ops[1].value = &key;
    assert_int_equal(cirrus_batch_write(c, ops, 2, &r), CR_ECONDITION);
    assert_string_equal(cirrus_errmsg(c), "op 0: the conditional request failed");
    assert_int_equal(r.n_writes, 2);
    assert_int_equal(r.writes[0].code, CR_ECONDITION);
    assert_int_equal(r.writes[1].code, CR_EABORTED);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_list_tables(c, "0", 2, NULL, &r), 0);
    assert_int_equal(r.n_tables, 2);
    assert_string_equal(r.tables[1], "b");
    assert_string_equal(r.last_evaluated, "b");
    cirrus_result_free(&r);

    assert_int_equal(cirrus_describe_table(c, "users", NULL, &r), 0);
    assert_string_equal(r.table.name, "users");
    assert_string_equal(r.table.pk_name, "id");
    assert_int_equal(r.table.pk_type, CIRRUS_KEY_S);
    assert_string_equal(r.table.sk_name, "ts");
    assert_int_equal(r.table.sk_type, CIRRUS_KEY_N);
    assert_int_equal(r.table.item_count, 12);
    assert_int_equal(r.table.size_bytes, 3400);
    assert_int_equal(r.table.created_ms, 1714564800123);
    assert_int_equal(r.table.created_index, 77);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_create_table(c, "users", "id", CIRRUS_KEY_S, "ts", CIRRUS_KEY_N, &r),
                     0);
    assert_int_equal(r.table.table_id, 9);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_stats(c, &r), 0);
    assert_int_equal(r.stats.applied_index, 99);
    assert_int_equal(r.stats.commits, 40);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_ping(c), CR_EUNKNOWNOP);
    cirrus_close(c);
    fake_join(&f);

    qr = f.reqs[0]->query;
    assert_string_equal(qr->table, "users");
    assert_int_equal(qr->op, CIRRUS__SORT_KEY_OP__SK_BETWEEN);
    assert_memory_equal(qr->partition_key->string_value.data, "p", 1);
    assert_int_equal(qr->sort_key->int_value, 1);
    assert_int_equal(qr->sort_key_end->int_value, 9);
    assert_true(qr->reverse);
    assert_int_equal(qr->limit, 2);
    assert_memory_equal(qr->cursor.data, "cur", 3);
    assert_int_equal(f.reqs[1]->scan->segment, 1);
    assert_int_equal(f.reqs[1]->scan->total_segments, 4);
    assert_int_equal(f.reqs[1]->scan->limit, 10);
    bw = f.reqs[2]->batch_write;
    assert_int_equal(bw->n_ops, 2);
    assert_int_equal(bw->ops[0]->op_case, CIRRUS__WRITE_OP__OP_PUT);
    assert_int_equal(bw->ops[0]->put->condition->type, CIRRUS__CONDITION__CONDITION_NOT_EXISTS);
    assert_int_equal(bw->ops[1]->op_case, CIRRUS__WRITE_OP__OP_DELETE);
    assert_memory_equal(bw->ops[1]->delete_->key->fields[0]->value->string_value.data, "y", 1);
    assert_string_equal(f.reqs[3]->list_tables->exclusive_start, "0");
    assert_int_equal(f.reqs[3]->list_tables->limit, 2);
    assert_string_equal(f.reqs[5]->create_table->schema->sort_key->name, "ts");
    assert_int_equal(f.reqs[5]->create_table->schema->sort_key->type, CIRRUS__KEY_TYPE__KEY_TYPE_N);

    cirrus_value_clear(&pk);
    cirrus_value_clear(&item);
    cirrus_value_clear(&key);
    fake_free(&f);
}

/* Bad arguments fail on the client without sending anything. */
static void test_bad_arguments(void **state)
{
    struct cirrus_value notmap, deep, *cur, next;
    struct cirrus_result r;
    struct fake f;
    struct cirrus *c;
    int i;

    (void)state;
    cirrus_value_int(&notmap, 1);
    cirrus_value_container(&deep, CIRRUS_ARRAY);
    cur = &deep;
    for (i = 0; i < CIRRUS_MAX_DEPTH + 2; i++) {
        cirrus_value_container(&next, CIRRUS_ARRAY);
        assert_int_equal(cirrus_list_append(cur, &next), 0);
        cur = &cur->u.list.items[0];
    }
    fake_start(&f, s_silent);
    c = connect_to(&f, 2000);
    assert_int_equal(cirrus_put_item(c, "t", &notmap, NULL, &r), CR_EINVAL);
    cirrus_result_free(&r);
    {
        struct cirrus_value item;

        cirrus_value_container(&item, CIRRUS_MAP);
        assert_int_equal(cirrus_map_set(&item, "deep", &deep), 0);
        assert_int_equal(cirrus_put_item(c, "t", &item, NULL, &r), CR_ENESTING);
        cirrus_result_free(&r);
        cirrus_value_clear(&item);
    }
    cirrus_close(c);
    fake_stop(&f);
    assert_int_equal(f.nreqs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_framing),
        cmocka_unit_test(test_put_get_roundtrip),
        cmocka_unit_test(test_get_missing),
        cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_pipelined_out_of_order),
        cmocka_unit_test(test_close_mid_frame),
        cmocka_unit_test(test_close_between_frames),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_timeout_then_reuse),
        cmocka_unit_test(test_oversized_frame),
        cmocka_unit_test(test_frame_over_lowered_limit),
        cmocka_unit_test(test_undecodable_frame),
        cmocka_unit_test(test_wrong_result_kind),
        cmocka_unit_test(test_unknown_id),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_all_calls),
        cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
