/* ops.c: validation before proposing (names, schemas, existence, keys, sizes, batch size),
 * write completion, and the read side's checks (consistency, limits, key types). */
#include "common/error.h"
#include "server/ops.h"
#include "tmpdir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Single-threaded completer: the test thread runs completions after the writer notifies. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool notified;

static void notify(struct log_completer *c)
{
    pthread_mutex_lock(&mu);
    notified = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

struct fixture {
    char dir[64];
    struct storage *s;
    struct log log;
    struct ops ops;
    struct log_completer completer;
    struct ops_conn conn;
    struct cr_arena arena;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "%s", test_tmpdir());
    assert_int_equal(storage_open(f->dir, NULL, &f->s), 0);
    assert_int_equal(log_init(&f->log, f->s, NULL), 0);
    ops_init(&f->ops, f->s, &f->log, f->dir, 0);
    assert_int_equal(log_completer_init(&f->completer, notify, NULL), 0);
    ops_conn_init(&f->ops, &f->completer, &f->conn);
    cr_arena_init(&f->arena, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ops_conn_close(&f->conn);
    log_close(&f->log);
    log_completer_close(&f->completer);
    storage_close(f->s);
    cr_arena_free(&f->arena);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static int done_count;
static void write_done(struct ops_write *w)
{
    done_count++;
}

/* ops_write and, when proposed, wait for the completion. Returns ops_write's result. */
static int write_wait(struct fixture *f, const struct mutation *m, size_t n, struct ops_write *w,
                      struct errmsg *e)
{
    int before = done_count, rc;

    memset(w, 0, sizeof *w);
    w->arena = &f->arena;
    w->done = write_done;
    errmsg_clear(e);
    rc = ops_write(&f->conn, m, n, w, e);
    ops_conn_release(&f->conn);
    if (rc < 0)
        return rc;
    while (done_count == before) {
        pthread_mutex_lock(&mu);
        while (!notified)
            pthread_cond_wait(&cv, &mu);
        notified = false;
        pthread_mutex_unlock(&mu);
        log_completer_run(&f->completer);
    }
    return 0;
}

static struct mutation create_mut(const char *name, const char *pk, const char *sk)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "%s", name);
    snprintf(m.table.pk_name, sizeof m.table.pk_name, "%s", pk);
    m.table.pk_type = KEY_S;
    if (sk) {
        m.table.has_sk = true;
        snprintf(m.table.sk_name, sizeof m.table.sk_name, "%s", sk);
        m.table.sk_type = KEY_N;
    }
    return m;
}

/* An item {pk: S, sk: N, extra...} built in static storage. */
static struct value_field item_f[3];
static struct value item_v[3];
static struct value item(const char *pk, int64_t sk, const struct value *extra)
{
    size_t n = 0;

    item_v[n] = value_string(pk, strlen(pk));
    item_f[n] = (struct value_field){"pk", 2, &item_v[n]};
    n++;
    item_v[n] = value_int(sk);
    item_f[n] = (struct value_field){"sk", 2, &item_v[n]};
    n++;
    if (extra) {
        item_v[n] = *extra;
        item_f[n] = (struct value_field){"x", 1, &item_v[n]};
        n++;
    }
    return (struct value){.type = VT_MAP, .u.map = {item_f, n}};
}

static struct mutation put_mut(const char *table, struct value it)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_PUT;
    snprintf(m.table.name, sizeof m.table.name, "%s", table);
    m.item = it;
    return m;
}

static void make_table(struct fixture *f)
{
    struct mutation m = create_mut("events", "pk", "sk");
    struct ops_write w;
    struct errmsg e;

    assert_int_equal(write_wait(f, &m, 1, &w, &e), 0);
    assert_int_equal(w.code, 0);
    assert_int_equal(w.results[0].code, 0);
    assert_string_equal(w.results[0].table.name, "events");
}

static void test_create_validation(void **state)
{
    struct fixture *f = *state;
    struct ops_write w;
    struct errmsg e;
    struct mutation m;

    m = create_mut("ab", "pk", NULL);
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ENAME);
    assert_non_null(strstr(e.text, "'ab'"));
    m = create_mut("bad name!", "pk", NULL);
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ENAME);
    m = create_mut("good", "", NULL);
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ESCHEMA);
    m = create_mut("good", "k", "k");
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ESCHEMA);
    make_table(f);
    m = create_mut("events", "pk", NULL);
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ETABLEEXISTS);
    assert_string_equal(e.text, "table 'events' already exists");
    assert_int_equal(write_wait(f, &m, 0, &w, &e), CR_EINVAL);
}

static void test_put_validation(void **state)
{
    struct fixture *f = *state;
    struct ops_write w;
    struct errmsg e;
    struct mutation m;
    struct value v;
    static char big[CR_MAX_ITEM_SIZE + 1];
    static struct mutation many[CR_MAX_BATCH_MUTATIONS + 1];

    make_table(f);
    m = put_mut("nope", item("a", 1, NULL));
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ENOTABLE);
    assert_string_equal(e.text, "table 'nope' not found");

    m = put_mut("events", item("a", 1, NULL));
    m.item.u.map.n = 1; /* no sort key */
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_EMISSINGKEY);
    assert_non_null(strstr(e.text, "'sk'"));

    m = put_mut("events", item("a", 1, NULL));
    item_v[1] = value_string("one", 3);
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_ETYPE);

    memset(big, 'x', sizeof big - 1);
    v = value_string(big, sizeof big - 1);
    m = put_mut("events", item("a", 1, &v));
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_EITEMTOOBIG);
    assert_non_null(strstr(e.text, "exceeds 409600"));

    v = value_string(big, CR_MAX_PK_SIZE + 1);
    m = put_mut("events", item("a", 1, NULL));
    item_v[0] = v;
    assert_int_equal(write_wait(f, &m, 1, &w, &e), CR_EKEYTOOBIG);

    /* A batch names the failing operation and proposes nothing. */
    for (int i = 0; i <= CR_MAX_BATCH_MUTATIONS; i++)
        many[i] = put_mut("events", item("a", 1, NULL));
    assert_int_equal(write_wait(f, many, CR_MAX_BATCH_MUTATIONS + 1, &w, &e), CR_ETOOMANY);
    strcpy(many[1].table.name, "nope");
    assert_int_equal(write_wait(f, many, 2, &w, &e), CR_ENOTABLE);
    assert_non_null(strstr(e.text, "operation 1: table 'nope' not found"));

    /* A valid put goes through and is readable. */
    v = value_int(7);
    m = put_mut("events", item("a", 1, &v));
    assert_int_equal(write_wait(f, &m, 1, &w, &e), 0);
    assert_int_equal(w.code, 0);
    assert_int_equal(w.results[0].code, 0);
    assert_int_equal(w.index, 2);
}

static void test_reads(void **state)
{
    struct fixture *f = *state;
    struct ops_read_opts ro = {OPS_SESSION, 1, 0, 0};
    struct ops_read_info info;
    struct ops_write w;
    struct errmsg e;
    struct mutation m;
    struct value key, got, v = value_int(9);
    struct table_def def, *defs;
    struct ops_query q;
    struct ops_scan sc;
    struct ops_stats st;
    struct kv_page page;
    size_t n;
    bool found, more;

    make_table(f);
    m = put_mut("events", item("a", 1, &v));
    assert_int_equal(write_wait(f, &m, 1, &w, &e), 0);

    key = item("a", 1, NULL);
    assert_int_equal(
        ops_get_item(&f->conn, &ro, "events", 6, &key, &f->arena, &found, &got, &info, &e), 0);
    assert_true(found);
    assert_int_equal(info.applied_index, 2);
    assert_non_null(value_map_get(&got, "x", 1));
    ops_conn_release(&f->conn);

    ro.session_token = 3;
    assert_int_equal(
        ops_get_item(&f->conn, &ro, "events", 6, &key, &f->arena, &found, &got, &info, &e),
        CR_EINVAL);
    assert_non_null(strstr(e.text, "session token 3"));
    ops_conn_release(&f->conn);
    ro.level = (enum ops_consistency)9;
    assert_int_equal(ops_describe_table(&f->conn, &ro, "events", 6, &def, NULL, &info, &e),
                     CR_EINVAL);
    assert_int_equal(ops_describe_table(&f->conn, NULL, "missing", 7, &def, NULL, &info, &e),
                     CR_ENOTABLE);
    assert_int_equal(
        ops_list_tables(&f->conn, NULL, NULL, 0, 101, &f->arena, &defs, &n, &more, &info, &e),
        CR_EINVAL);
    assert_int_equal(
        ops_list_tables(&f->conn, NULL, NULL, 0, 0, &f->arena, &defs, &n, &more, &info, &e), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    ops_conn_release(&f->conn);

    memset(&q, 0, sizeof q);
    q.table = "events";
    q.table_len = 6;
    q.pk = value_int(1);
    assert_int_equal(ops_query(&f->conn, NULL, &q, &f->arena, &page, &info, &e), CR_ETYPE);
    q.pk = value_string("a", 1);
    q.op = SK_BETWEEN;
    q.sk1 = value_int(5);
    q.sk2 = value_int(1);
    assert_int_equal(ops_query(&f->conn, NULL, &q, &f->arena, &page, &info, &e), CR_EINVAL);
    q.sk1 = value_int(0);
    assert_int_equal(ops_query(&f->conn, NULL, &q, &f->arena, &page, &info, &e), 0);
    assert_int_equal(page.n, 1);
    ops_conn_release(&f->conn);

    memset(&sc, 0, sizeof sc);
    sc.table = "events";
    sc.table_len = 6;
    sc.segment = 2;
    sc.total_segments = 2;
    assert_int_equal(ops_scan(&f->conn, NULL, &sc, &f->arena, &page, &info, &e), CR_EINVAL);
    sc.segment = 0;
    sc.total_segments = 0;
    assert_int_equal(ops_scan(&f->conn, NULL, &sc, &f->arena, &page, &info, &e), 0);
    assert_int_equal(page.n, 1);
    ops_conn_release(&f->conn);

    assert_int_equal(ops_stats(&f->conn, &st, &e), 0);
    ops_conn_release(&f->conn);
    assert_int_equal(st.tables, 1);
    assert_int_equal(st.applied_index, 2);
    assert_int_equal(st.writes, 2);
    assert_int_equal(st.commits, 2);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.map_size, CR_DEFAULT_MAP_SIZE);
    assert_true(st.used_bytes > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
