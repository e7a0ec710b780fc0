/*
 * Durability (issue 2, item 10): concurrent clients write atomic 3-item batches with pipelining;
 * cirrusd is killed with SIGKILL mid-stream, restarted on the same data, and every acknowledged
 * batch must be there whole, while no batch (acknowledged or not) may be half-applied. Three kill
 * rounds, each bounded in time. Frames are built by hand (rawproto), so only cirrusd is under
 * test.
 */
#include "common/error.h"
#include "harness.h"
#include "rawproto.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

enum { WRITERS = 8, DEPTH = 4, MAX_SEQ = 100000, ROUNDS = 3 };

struct writer {
    pthread_t thread;
    int id;
    int round;
    int fd;
    uint8_t *state; /* per seq: 0 never sent, 1 sent, 2 acknowledged */
    int next_seq;
};

static struct harness srv;
static struct writer writers[WRITERS];

static Cirrus__MapValue *row(int w, int seq, int j)
{
    char p[16];
    const char *names[] = {"p", "s", "seq", "j"};
    snprintf(p, sizeof p, "w%d", w);
    Cirrus__Value *vals[] = {raw_str(p), raw_int((int64_t)seq * 3 + j), raw_int(seq), raw_int(j)};
    return raw_mapvalue(4, names, vals);
}

static int send_batch(struct writer *wr, int seq)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__BatchWriteRequest b = CIRRUS__BATCH_WRITE_REQUEST__INIT;
    Cirrus__WriteOp ops[3], *opp[3];
    Cirrus__PutItemRequest puts[3];
    int rc;

    for (int j = 0; j < 3; j++) {
        cirrus__write_op__init(&ops[j]);
        cirrus__put_item_request__init(&puts[j]);
        puts[j].table = "dur";
        puts[j].item = row(wr->id, seq, j);
        ops[j].op_case = CIRRUS__WRITE_OP__OP_PUT;
        ops[j].put = &puts[j];
        opp[j] = &ops[j];
    }
    b.n_ops = 3;
    b.ops = opp;
    req.id = (uint64_t)seq + 1;
    req.op_case = CIRRUS__REQUEST__OP_BATCH_WRITE;
    req.batch_write = &b;
    wr->state[seq] = 1;
    rc = raw_send(wr->fd, &req);
    for (int j = 0; j < 3; j++)
        raw_mapvalue_free(puts[j].item);
    return rc;
}

/* Writes until the server dies under it; records what was acknowledged. */
static void *writer_main(void *arg)
{
    struct writer *wr = arg;
    int inflight = 0;

    wr->fd = harness_connect(&srv);
    if (wr->fd < 0)
        return NULL;
    for (;;) {
        Cirrus__Response *r;
        while (inflight < DEPTH && wr->next_seq < MAX_SEQ) {
            if (send_batch(wr, wr->next_seq++))
                goto out;
            inflight++;
        }
        if (inflight == 0)
            break;
        r = raw_recv(wr->fd, 10000);
        if (!r)
            break;
        if (r->error_code == 0 && r->id >= 1 && r->id <= MAX_SEQ)
            wr->state[r->id - 1] = 2;
        cirrus__response__free_unpacked(r, NULL);
        inflight--;
    }
out:
    close(wr->fd);
    return NULL;
}

/* Reads back partition w and checks every batch: acknowledged ones whole, none half. */
static void verify_writer(int fd, struct writer *wr, int *acked_out)
{
    uint8_t *count = calloc(MAX_SEQ, 1);
    uint8_t cursor[1024];
    size_t cursor_len = 0;
    char p[16];
    int acked = 0;
    uint64_t id = 1;

    snprintf(p, sizeof p, "w%d", wr->id);
    do {
        Cirrus__Request req = CIRRUS__REQUEST__INIT;
        Cirrus__QueryRequest q = CIRRUS__QUERY_REQUEST__INIT;
        Cirrus__Response *r;

        q.table = "dur";
        q.partition_key = raw_str(p);
        q.cursor.data = cursor;
        q.cursor.len = cursor_len;
        req.id = id++;
        req.op_case = CIRRUS__REQUEST__OP_QUERY;
        req.query = &q;
        r = raw_call(fd, &req);
        raw_value_free(q.partition_key);
        assert_non_null(r);
        assert_int_equal(r->error_code, 0);
        for (size_t i = 0; i < r->query->n_items; i++) {
            Cirrus__MapValue *m = r->query->items[i];
            int64_t seq = -1;
            for (size_t f = 0; f < m->n_fields; f++)
                if (!strcmp(m->fields[f]->name, "seq"))
                    seq = m->fields[f]->value->int_value;
            assert_true(seq >= 0 && seq < MAX_SEQ);
            count[seq]++;
        }
        assert_true(r->query->cursor.len <= sizeof cursor);
        cursor_len = r->query->cursor.len;
        if (cursor_len)
            memcpy(cursor, r->query->cursor.data, cursor_len);
        cirrus__response__free_unpacked(r, NULL);
    } while (cursor_len);

    for (int s = 0; s < MAX_SEQ; s++) {
        if (count[s] != 0 && count[s] != 3)
            fail_msg("writer %d batch %d half-applied: %d of 3 items", wr->id, s, count[s]);
        if (wr->state[s] == 2 && count[s] != 3)
            fail_msg("writer %d batch %d acknowledged but lost", wr->id, s);
        if (wr->state[s] == 0 && count[s] != 0)
            fail_msg("writer %d batch %d present but never sent", wr->id, s);
        acked += wr->state[s] == 2;
    }
    free(count);
    *acked_out = acked;
}

static void create_table(void)
{
    int fd = harness_connect(&srv);
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__CreateTableRequest ct = CIRRUS__CREATE_TABLE_REQUEST__INIT;
    Cirrus__TableSchema schema = CIRRUS__TABLE_SCHEMA__INIT;
    Cirrus__KeyAttribute pk = CIRRUS__KEY_ATTRIBUTE__INIT, sk = CIRRUS__KEY_ATTRIBUTE__INIT;
    Cirrus__Response *r;

    assert_true(fd >= 0);
    schema.name = "dur";
    pk.name = "p";
    pk.type = CIRRUS__KEY_TYPE__KEY_TYPE_S;
    sk.name = "s";
    sk.type = CIRRUS__KEY_TYPE__KEY_TYPE_N;
    schema.partition_key = &pk;
    schema.sort_key = &sk;
    ct.schema = &schema;
    req.id = 1;
    req.op_case = CIRRUS__REQUEST__OP_CREATE_TABLE;
    req.create_table = &ct;
    r = raw_call(fd, &req);
    assert_non_null(r);
    assert_int_equal(r->error_code, 0);
    cirrus__response__free_unpacked(r, NULL);
    close(fd);
}

static void test_kill9_loses_no_acknowledged_write(void **state)
{
    unsigned seed = 4242;

    harness_init(&srv);
    assert_int_equal(harness_start(&srv), 0);
    create_table();
    for (int w = 0; w < WRITERS; w++) {
        writers[w].id = w;
        writers[w].state = calloc(MAX_SEQ, 1);
    }

    for (int round = 0; round < ROUNDS; round++) {
        int fd, total = 0;
        struct timespec ts = {0, 200000000L + (long)(rand_r(&seed) % 400) * 1000000L};

        for (int w = 0; w < WRITERS; w++)
            assert_int_equal(pthread_create(&writers[w].thread, NULL, writer_main, &writers[w]), 0);
        nanosleep(&ts, NULL);
        harness_kill9(&srv);
        for (int w = 0; w < WRITERS; w++)
            pthread_join(writers[w].thread, NULL);

        assert_int_equal(harness_start(&srv), 0);
        fd = harness_connect(&srv);
        assert_true(fd >= 0);
        for (int w = 0; w < WRITERS; w++) {
            int acked;
            verify_writer(fd, &writers[w], &acked);
            total += acked;
        }
        close(fd);
        printf("round %d: %d acknowledged batches, all present and whole\n", round, total);
        assert_true(total > 0);
    }
    for (int w = 0; w < WRITERS; w++)
        free(writers[w].state);
    assert_int_equal(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_no_acknowledged_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
