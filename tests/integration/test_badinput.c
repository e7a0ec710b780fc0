/*
 * Bad input against a real cirrusd (issue 2, item 8): oversized, truncated and garbage frames,
 * unknown operations, wrong value types, oversized items and keys, unknown tables, bad numbers,
 * deep nesting, bad names and a batch with one bad operation. Each gets its named error (or, for
 * a stream that cannot be parsed, a closed connection); none crashes the server or writes
 * anything. Frames are built by hand, so this test needs no client library.
 */
#include "common/error.h"
#include "harness.h"
#include "rawproto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct harness srv;
static uint64_t next_id = 1;

static Cirrus__Response *call(int fd, Cirrus__Request *req)
{
    req->id = next_id++;
    return raw_call(fd, req);
}

static int create_table(int fd, const char *name, const char *pk, Cirrus__KeyType pkt,
                        const char *sk, Cirrus__KeyType skt)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__CreateTableRequest ct = CIRRUS__CREATE_TABLE_REQUEST__INIT;
    Cirrus__TableSchema schema = CIRRUS__TABLE_SCHEMA__INIT;
    Cirrus__KeyAttribute pka = CIRRUS__KEY_ATTRIBUTE__INIT, ska = CIRRUS__KEY_ATTRIBUTE__INIT;
    Cirrus__Response *r;
    int code;

    schema.name = (char *)name;
    pka.name = (char *)pk;
    pka.type = pkt;
    schema.partition_key = &pka;
    if (sk) {
        ska.name = (char *)sk;
        ska.type = skt;
        schema.sort_key = &ska;
    }
    ct.schema = &schema;
    req.op_case = CIRRUS__REQUEST__OP_CREATE_TABLE;
    req.create_table = &ct;
    r = call(fd, &req);
    assert_non_null(r);
    code = r->error_code;
    cirrus__response__free_unpacked(r, NULL);
    return code;
}

/* Puts `item` (ownership taken) into `table`; returns the response's error code. */
static int put(int fd, const char *table, Cirrus__MapValue *item)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__PutItemRequest p = CIRRUS__PUT_ITEM_REQUEST__INIT;
    Cirrus__Response *r;
    int code;

    p.table = (char *)table;
    p.item = item;
    req.op_case = CIRRUS__REQUEST__OP_PUT_ITEM;
    req.put_item = &p;
    r = call(fd, &req);
    raw_mapvalue_free(item);
    assert_non_null(r);
    code = r->error_code;
    if (code) {
        assert_string_equal(r->error_name, cr_errname(code));
        assert_true(strlen(r->error_message) > 0);
    }
    cirrus__response__free_unpacked(r, NULL);
    return code;
}

/* Gets the item with key (id, n) from "tbl": 1 found, 0 not found. */
static int exists(int fd, const char *id, int64_t n)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__GetItemRequest g = CIRRUS__GET_ITEM_REQUEST__INIT;
    const char *names[] = {"id", "n"};
    Cirrus__Value *vals[] = {raw_str(id), raw_int(n)};
    Cirrus__Response *r;
    int found;

    g.table = "tbl";
    g.key = raw_mapvalue(2, names, vals);
    req.op_case = CIRRUS__REQUEST__OP_GET_ITEM;
    req.get_item = &g;
    r = call(fd, &req);
    raw_mapvalue_free(g.key);
    assert_non_null(r);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->result_case, CIRRUS__RESPONSE__RESULT_GET_ITEM);
    found = r->get_item->item != NULL;
    cirrus__response__free_unpacked(r, NULL);
    return found;
}

static Cirrus__MapValue *item2(const char *id, Cirrus__Value *n)
{
    const char *names[] = {"id", "n"};
    Cirrus__Value *vals[] = {raw_str(id), n};
    return raw_mapvalue(2, names, vals);
}

static void assert_ping(void)
{
    int fd = harness_connect(&srv);
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__PingRequest p = CIRRUS__PING_REQUEST__INIT;
    Cirrus__Response *r;

    assert_true(fd >= 0);
    req.op_case = CIRRUS__REQUEST__OP_PING;
    req.ping = &p;
    r = call(fd, &req);
    assert_non_null(r);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->id, req.id);
    cirrus__response__free_unpacked(r, NULL);
    close(fd);
    assert_true(harness_alive(&srv));
}

static int setup(void **state)
{
    int fd;

    harness_init(&srv);
    if (harness_start(&srv))
        return -1;
    fd = harness_connect(&srv);
    if (fd < 0)
        return -1;
    if (create_table(fd, "tbl", "id", CIRRUS__KEY_TYPE__KEY_TYPE_S, "n",
                     CIRRUS__KEY_TYPE__KEY_TYPE_N))
        return -1;
    if (create_table(fd, "tbl2", "id", CIRRUS__KEY_TYPE__KEY_TYPE_S, "s",
                     CIRRUS__KEY_TYPE__KEY_TYPE_S))
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    int status = harness_stop(&srv);
    harness_cleanup(&srv);
    return status == 0 ? 0 : -1;
}

static void test_oversized_frame(void **state)
{
    int fd = harness_connect(&srv);
    uint8_t hdr[4] = {0x7f, 0xff, 0xff, 0xff};
    Cirrus__Response *r;

    assert_true(fd >= 0);
    assert_int_equal(raw_write(fd, hdr, 4), 0);
    r = raw_recv(fd, 5000);
    assert_non_null(r);
    assert_int_equal(r->error_code, CR_EFRAMETOOBIG);
    assert_string_equal(r->error_name, "CR_EFRAMETOOBIG");
    cirrus__response__free_unpacked(r, NULL);
    assert_true(raw_wait_closed(fd, 5000));
    close(fd);
    assert_ping();
}

static void test_truncated_frame(void **state)
{
    int fd = harness_connect(&srv);
    uint8_t buf[14] = {0, 0, 0, 100, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9};

    assert_true(fd >= 0);
    assert_int_equal(raw_write(fd, buf, sizeof buf), 0);
    close(fd);
    assert_ping();
}

static void test_garbage_frame_keeps_connection(void **state)
{
    int fd = harness_connect(&srv);
    uint8_t buf[12] = {0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__PingRequest p = CIRRUS__PING_REQUEST__INIT;
    Cirrus__Response *r;

    assert_true(fd >= 0);
    assert_int_equal(raw_write(fd, buf, sizeof buf), 0);
    r = raw_recv(fd, 5000);
    assert_non_null(r);
    assert_int_equal(r->error_code, CR_EPROTO);
    cirrus__response__free_unpacked(r, NULL);
    /* The frame boundary was known, so the connection goes on. */
    req.op_case = CIRRUS__REQUEST__OP_PING;
    req.ping = &p;
    r = call(fd, &req);
    assert_non_null(r);
    assert_int_equal(r->error_code, 0);
    cirrus__response__free_unpacked(r, NULL);
    close(fd);
}

static void test_random_streams(void **state)
{
    /* Seeded: the same bytes every run. Whatever the server answers, it must survive. */
    unsigned seed = 12345;
    for (int round = 0; round < 20; round++) {
        int fd = harness_connect(&srv);
        uint8_t buf[2048];
        assert_true(fd >= 0);
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        if (round % 2)
            buf[0] = 0; /* a plausible length prefix */
        if (raw_write(fd, buf, sizeof buf) == 0)
            raw_wait_closed(fd, 100);
        close(fd);
    }
    assert_ping();
}

static void test_unknown_operation(void **state)
{
    int fd = harness_connect(&srv);
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    /* id = 9 (field 1), then field 99 as a varint: an operation this version does not know. */
    uint8_t frame[] = {0, 0, 0, 5, 0x08, 0x09, 0x98, 0x06, 0x01};
    Cirrus__Response *r;

    assert_true(fd >= 0);
    r = call(fd, &req);
    assert_non_null(r);
    assert_int_equal(r->error_code, CR_EUNKNOWNOP);
    assert_int_equal(r->id, req.id);
    cirrus__response__free_unpacked(r, NULL);

    assert_int_equal(raw_write(fd, frame, sizeof frame), 0);
    r = raw_recv(fd, 5000);
    assert_non_null(r);
    assert_int_equal(r->error_code, CR_EUNKNOWNOP);
    assert_int_equal(r->id, 9);
    cirrus__response__free_unpacked(r, NULL);
    close(fd);
}

static void test_wrong_types_and_missing_keys(void **state)
{
    int fd = harness_connect(&srv);
    const char *names[] = {"n"};
    Cirrus__Value *vals[] = {raw_int(1)};
    const char *names2[] = {"id", "n"};
    Cirrus__Value *vals2[] = {raw_int(5), raw_int(1)};

    assert_true(fd >= 0);
    assert_int_equal(put(fd, "tbl", item2("a", raw_str("x"))), CR_ETYPE);
    assert_int_equal(put(fd, "tbl", raw_mapvalue(2, names2, vals2)), CR_ETYPE);
    assert_int_equal(put(fd, "tbl", raw_mapvalue(1, names, vals)), CR_EMISSINGKEY);
    assert_int_equal(put(fd, "tbl", item2("", raw_int(1))), CR_EINVAL);
    assert_int_equal(exists(fd, "a", 1), 0);
    close(fd);
}

static void test_bad_numbers(void **state)
{
    int fd = harness_connect(&srv);

    assert_true(fd >= 0);
    assert_int_equal(put(fd, "tbl", item2("a", raw_dec("1e999"))), CR_ENUMBER);
    assert_int_equal(put(fd, "tbl", item2("a", raw_dec("123456789012345678901234567890123456789"))),
                     CR_ENUMBER);
    assert_int_equal(put(fd, "tbl", item2("a", raw_dec("abc"))), CR_EINVAL);
    assert_int_equal(put(fd, "tbl", item2("a", raw_dec("1.5"))), 0);
    close(fd);
}

static void test_oversized_item_and_keys(void **state)
{
    int fd = harness_connect(&srv);
    size_t big = 400 * 1024;
    char *s = malloc(big + 1);
    const char *names[] = {"id", "n", "data"};
    const char *names2[] = {"id", "s"};

    assert_true(fd >= 0);
    memset(s, 'x', big);
    s[big] = 0;
    {
        Cirrus__Value *vals[] = {raw_str("big"), raw_int(1), raw_str(s)};
        assert_int_equal(put(fd, "tbl", raw_mapvalue(3, names, vals)), CR_EITEMTOOBIG);
    }
    assert_int_equal(exists(fd, "big", 1), 0);

    s[2049] = 0; /* partition key of 2049 bytes: one over DynamoDB's limit */
    assert_int_equal(put(fd, "tbl", item2(s, raw_int(1))), CR_EKEYTOOBIG);
    s[2048] = 0;
    assert_int_equal(put(fd, "tbl", item2(s, raw_int(1))), 0);
    assert_int_equal(exists(fd, s, 1), 1);
    s[1025] = 0; /* sort key of 1025 bytes */
    {
        Cirrus__Value *vals[] = {raw_str("k"), raw_str(s)};
        assert_int_equal(put(fd, "tbl2", raw_mapvalue(2, names2, vals)), CR_EKEYTOOBIG);
    }
    s[1024] = 0;
    {
        Cirrus__Value *vals[] = {raw_str("k"), raw_str(s)};
        assert_int_equal(put(fd, "tbl2", raw_mapvalue(2, names2, vals)), 0);
    }
    free(s);
    close(fd);
}

static void test_unknown_table(void **state)
{
    int fd = harness_connect(&srv);
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__DescribeTableRequest d = CIRRUS__DESCRIBE_TABLE_REQUEST__INIT;
    Cirrus__Response *r;

    assert_true(fd >= 0);
    assert_int_equal(put(fd, "nope", item2("a", raw_int(1))), CR_ENOTABLE);
    d.table = "nope";
    req.op_case = CIRRUS__REQUEST__OP_DESCRIBE_TABLE;
    req.describe_table = &d;
    r = call(fd, &req);
    assert_non_null(r);
    assert_int_equal(r->error_code, CR_ENOTABLE);
    assert_non_null(strstr(r->error_message, "nope"));
    cirrus__response__free_unpacked(r, NULL);
    close(fd);
}

static void test_bad_names(void **state)
{
    int fd = harness_connect(&srv);

    assert_true(fd >= 0);
    assert_int_equal(create_table(fd, "ab", "id", CIRRUS__KEY_TYPE__KEY_TYPE_S, NULL, 0), CR_ENAME);
    assert_int_equal(create_table(fd, "bad name!", "id", CIRRUS__KEY_TYPE__KEY_TYPE_S, NULL, 0),
                     CR_ENAME);
    assert_int_equal(create_table(fd, "tbl", "id", CIRRUS__KEY_TYPE__KEY_TYPE_S, NULL, 0),
                     CR_ETABLEEXISTS);
    close(fd);
}

static void test_deep_nesting(void **state)
{
    int fd = harness_connect(&srv);
    Cirrus__Value *v = raw_int(1);
    const char *names[] = {"x"};

    assert_true(fd >= 0);
    for (int i = 0; i < 40; i++) {
        Cirrus__Value *vals[] = {v};
        v = raw_map(1, names, vals);
    }
    {
        const char *names3[] = {"id", "n", "deep"};
        Cirrus__Value *vals[] = {raw_str("deep"), raw_int(1), v};
        assert_int_equal(put(fd, "tbl", raw_mapvalue(3, names3, vals)), CR_ENESTING);
    }
    assert_int_equal(exists(fd, "deep", 1), 0);
    close(fd);
}

static void test_batch_with_one_bad_op_writes_nothing(void **state)
{
    int fd = harness_connect(&srv);
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__BatchWriteRequest b = CIRRUS__BATCH_WRITE_REQUEST__INIT;
    Cirrus__WriteOp ops[3], *opp[3];
    Cirrus__PutItemRequest puts[3];
    Cirrus__Response *r;

    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) {
        cirrus__write_op__init(&ops[i]);
        cirrus__put_item_request__init(&puts[i]);
        puts[i].table = "tbl";
        puts[i].item = item2("batch", i == 2 ? raw_str("oops") : raw_int(i));
        ops[i].op_case = CIRRUS__WRITE_OP__OP_PUT;
        ops[i].put = &puts[i];
        opp[i] = &ops[i];
    }
    b.n_ops = 3;
    b.ops = opp;
    req.op_case = CIRRUS__REQUEST__OP_BATCH_WRITE;
    req.batch_write = &b;
    r = call(fd, &req);
    for (int i = 0; i < 3; i++)
        raw_mapvalue_free(puts[i].item);
    assert_non_null(r);
    assert_int_not_equal(r->error_code, 0);
    cirrus__response__free_unpacked(r, NULL);
    assert_int_equal(exists(fd, "batch", 0), 0);
    assert_int_equal(exists(fd, "batch", 1), 0);
    close(fd);
}

static void test_pipelined_mixed_requests(void **state)
{
    int fd = harness_connect(&srv);
    enum { N = 200 };
    int want[N];
    uint64_t base = next_id;
    int seen = 0;

    assert_true(fd >= 0);
    for (int i = 0; i < N; i++) {
        Cirrus__Request req = CIRRUS__REQUEST__INIT;
        Cirrus__PutItemRequest p = CIRRUS__PUT_ITEM_REQUEST__INIT;
        p.table = (i % 3 == 0) ? "nope" : "tbl";
        p.item = item2("pipe", (i % 5 == 0) ? raw_str("bad") : raw_int(i));
        want[i] = (i % 3 == 0) ? CR_ENOTABLE : (i % 5 == 0) ? CR_ETYPE : 0;
        req.op_case = CIRRUS__REQUEST__OP_PUT_ITEM;
        req.put_item = &p;
        req.id = next_id++;
        assert_int_equal(raw_send(fd, &req), 0);
        raw_mapvalue_free(p.item);
    }
    while (seen < N) {
        Cirrus__Response *r = raw_recv(fd, 10000);
        assert_non_null(r);
        assert_true(r->id >= base && r->id < base + N);
        assert_int_equal(r->error_code, want[r->id - base]);
        cirrus__response__free_unpacked(r, NULL);
        seen++;
    }
    assert_int_equal(exists(fd, "pipe", 1), 1);
    assert_int_equal(exists(fd, "pipe", 3), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oversized_frame),
        cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_garbage_frame_keeps_connection),
        cmocka_unit_test(test_random_streams),
        cmocka_unit_test(test_unknown_operation),
        cmocka_unit_test(test_wrong_types_and_missing_keys),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_oversized_item_and_keys),
        cmocka_unit_test(test_unknown_table),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_batch_with_one_bad_op_writes_nothing),
        cmocka_unit_test(test_pipelined_mixed_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
