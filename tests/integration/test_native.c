/*
 * The native protocol end to end: libcirrus against a real cirrusd. Every operation of issue 2
 * (item 7), the value model through the wire, conditions, atomic batches, query and scan paging
 * against what was written, consistency fields and applied indexes, pipelining, persistence
 * across a restart, and a graceful stop that answers every request already received.
 */
#include "client/cirrus.h"
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static struct harness srv;

static struct cirrus *conn(void)
{
    struct cirrus *c = NULL;
    assert_int_equal(cirrus_connect("127.0.0.1", srv.port, 10000, &c), 0);
    return c;
}

/* {pk: "<p>", sk: n} plus extra fields given as name/int pairs. */
static void item_ps(struct cirrus_value *v, const char *pk, const char *p, const char *sk,
                    int64_t n)
{
    struct cirrus_value f = {0};
    assert_int_equal(cirrus_value_container(v, CIRRUS_MAP), 0);
    assert_int_equal(cirrus_value_string(&f, p, strlen(p)), 0);
    assert_int_equal(cirrus_map_set(v, pk, &f), 0);
    if (sk) {
        cirrus_value_int(&f, n);
        assert_int_equal(cirrus_map_set(v, sk, &f), 0);
    }
}

static void set_int(struct cirrus_value *m, const char *name, int64_t i)
{
    struct cirrus_value f = {0};
    cirrus_value_int(&f, i);
    assert_int_equal(cirrus_map_set(m, name, &f), 0);
}

static void set_str(struct cirrus_value *m, const char *name, const char *s)
{
    struct cirrus_value f = {0};
    assert_int_equal(cirrus_value_string(&f, s, strlen(s)), 0);
    assert_int_equal(cirrus_map_set(m, name, &f), 0);
}

static int64_t num(const struct cirrus_value *v)
{
    assert_non_null(v);
    if (v->type == CIRRUS_INT)
        return v->u.i;
    assert_int_equal(v->type, CIRRUS_DECIMAL);
    return strtoll(v->u.str.ptr, NULL, 10);
}

static int put_ps(struct cirrus *c, const char *table, const char *p, int64_t n,
                  const struct cirrus_write_opts *wo)
{
    struct cirrus_value v = {0};
    struct cirrus_result r;
    int rc;

    item_ps(&v, "p", p, "s", n);
    set_int(&v, "v", n * 10);
    rc = cirrus_put_item(c, table, &v, wo, &r);
    cirrus_result_free(&r);
    cirrus_value_clear(&v);
    return rc;
}

static int setup(void **state)
{
    harness_init(&srv);
    return harness_start(&srv);
}

static int teardown(void **state)
{
    int status = harness_stop(&srv);
    harness_cleanup(&srv);
    return status == 0 ? 0 : -1;
}

static void test_tables(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    const char *names[] = {"tab_a", "tab_b", "tab_c"};
    char *after = NULL;
    int seen = 0;

    assert_int_equal(cirrus_ping(c), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            cirrus_create_table(c, names[i], "id", CIRRUS_KEY_S, i ? "n" : NULL, CIRRUS_KEY_N, &r),
            0);
        assert_string_equal(r.table.name, names[i]);
        cirrus_result_free(&r);
    }
    assert_int_equal(cirrus_create_table(c, "tab_a", "id", CIRRUS_KEY_S, NULL, 0, &r),
                     CR_ETABLEEXISTS);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_describe_table(c, "tab_b", NULL, &r), 0);
    assert_string_equal(r.table.pk_name, "id");
    assert_int_equal(r.table.pk_type, CIRRUS_KEY_S);
    assert_string_equal(r.table.sk_name, "n");
    assert_int_equal(r.table.sk_type, CIRRUS_KEY_N);
    assert_int_equal(r.table.item_count, 0);
    assert_true(r.table.created_ms > 1600000000000LL);
    cirrus_result_free(&r);

    /* Page through the list one name at a time. */
    do {
        assert_int_equal(cirrus_list_tables(c, after, 1, NULL, &r), 0);
        free(after);
        after = NULL;
        assert_true(r.n_tables <= 1);
        if (r.n_tables) {
            assert_string_equal(r.tables[0], names[seen]);
            seen++;
        }
        if (r.last_evaluated)
            after = strdup(r.last_evaluated);
        cirrus_result_free(&r);
    } while (after);
    assert_int_equal(seen, 3);

    assert_int_equal(cirrus_delete_table(c, "tab_c", &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_describe_table(c, "tab_c", NULL, &r), CR_ENOTABLE);
    assert_non_null(strstr(cirrus_errmsg(c), "tab_c"));
    cirrus_result_free(&r);
    assert_int_equal(cirrus_delete_table(c, "tab_c", &r), CR_ENOTABLE);
    cirrus_result_free(&r);
    cirrus_close(c);
}

static void test_every_value_type_round_trips(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    struct cirrus_value item = {0}, f = {0}, e = {0}, key = {0};
    static const char raw[] = {0, 1, 2, (char)0xff};

    assert_int_equal(cirrus_create_table(c, "types", "id", CIRRUS_KEY_S, NULL, 0, &r), 0);
    cirrus_result_free(&r);
    item_ps(&item, "id", "x", NULL, 0);
    cirrus_value_null(&f);
    assert_int_equal(cirrus_map_set(&item, "null", &f), 0);
    cirrus_value_bool(&f, 1);
    assert_int_equal(cirrus_map_set(&item, "bool", &f), 0);
    cirrus_value_int(&f, -9007199254740993LL);
    assert_int_equal(cirrus_map_set(&item, "int", &f), 0);
    cirrus_value_double(&f, 0.1);
    assert_int_equal(cirrus_map_set(&item, "double", &f), 0);
    assert_int_equal(cirrus_value_decimal(&f, "12345678901234567890123456789012345678"), 0);
    assert_int_equal(cirrus_map_set(&item, "decimal", &f), 0);
    assert_int_equal(cirrus_value_string(&f, "h\0llo", 5), 0);
    assert_int_equal(cirrus_map_set(&item, "string", &f), 0);
    assert_int_equal(cirrus_value_bytes(&f, raw, sizeof raw), 0);
    assert_int_equal(cirrus_map_set(&item, "bytes", &f), 0);
    cirrus_value_timestamp(&f, 1700000000, 123456789);
    assert_int_equal(cirrus_map_set(&item, "ts", &f), 0);
    cirrus_value_geopoint(&f, 59.9, 10.75);
    assert_int_equal(cirrus_map_set(&item, "geo", &f), 0);
    assert_int_equal(cirrus_value_ref(&f, "users/a"), 0);
    assert_int_equal(cirrus_map_set(&item, "ref", &f), 0);
    assert_int_equal(cirrus_value_container(&f, CIRRUS_ARRAY), 0);
    cirrus_value_int(&e, 1);
    assert_int_equal(cirrus_list_append(&f, &e), 0);
    assert_int_equal(cirrus_value_string(&e, "two", 3), 0);
    assert_int_equal(cirrus_list_append(&f, &e), 0);
    assert_int_equal(cirrus_map_set(&item, "array", &f), 0);
    assert_int_equal(cirrus_value_container(&f, CIRRUS_MAP), 0);
    set_str(&f, "inner", "yes");
    assert_int_equal(cirrus_map_set(&item, "map", &f), 0);
    assert_int_equal(cirrus_value_container(&f, CIRRUS_STRING_SET), 0);
    assert_int_equal(cirrus_value_string(&e, "b", 1), 0);
    assert_int_equal(cirrus_list_append(&f, &e), 0);
    assert_int_equal(cirrus_value_string(&e, "a", 1), 0);
    assert_int_equal(cirrus_list_append(&f, &e), 0);
    assert_int_equal(cirrus_map_set(&item, "ss", &f), 0);
    assert_int_equal(cirrus_value_container(&f, CIRRUS_NUMBER_SET), 0);
    assert_int_equal(cirrus_value_decimal(&e, "1.5"), 0);
    assert_int_equal(cirrus_list_append(&f, &e), 0);
    assert_int_equal(cirrus_map_set(&item, "ns", &f), 0);
    assert_int_equal(cirrus_value_container(&f, CIRRUS_BINARY_SET), 0);
    assert_int_equal(cirrus_value_bytes(&e, raw, 2), 0);
    assert_int_equal(cirrus_list_append(&f, &e), 0);
    assert_int_equal(cirrus_map_set(&item, "bs", &f), 0);

    assert_int_equal(cirrus_put_item(c, "types", &item, NULL, &r), 0);
    cirrus_result_free(&r);
    item_ps(&key, "id", "x", NULL, 0);
    assert_int_equal(cirrus_get_item(c, "types", &key, NULL, &r), 0);
    {
        const struct cirrus_value *got = &r.item;
        const struct cirrus_value *s = cirrus_map_get(got, "string");
        const struct cirrus_value *ss = cirrus_map_get(got, "ss");
        assert_int_equal(got->type, CIRRUS_MAP);
        assert_int_equal(got->u.map.len, item.u.map.len);
        assert_non_null(s);
        assert_int_equal(s->u.str.len, 5);
        assert_memory_equal(s->u.str.ptr, "h\0llo", 5);
        assert_int_equal(cirrus_map_get(got, "int")->u.i, -9007199254740993LL);
        assert_true(cirrus_map_get(got, "double")->u.d == 0.1);
        assert_string_equal(cirrus_map_get(got, "decimal")->u.str.ptr,
                            "12345678901234567890123456789012345678");
        assert_int_equal(cirrus_map_get(got, "ts")->u.ts.nsec, 123456789);
        assert_int_equal(ss->u.list.len, 2);
        /* Sets come back sorted. */
        assert_string_equal(ss->u.list.items[0].u.str.ptr, "a");
        for (size_t i = 0; i < item.u.map.len; i++) {
            const struct cirrus_value *want = &item.u.map.fields[i].value;
            const struct cirrus_value *have = cirrus_map_get(got, item.u.map.fields[i].name);
            assert_non_null(have);
            if (want->type == CIRRUS_STRING_SET)
                continue; /* order checked above */
            if (!cirrus_value_equal(want, have))
                fail_msg("field %s changed on the way", item.u.map.fields[i].name);
        }
    }
    cirrus_result_free(&r);
    cirrus_value_clear(&item);
    cirrus_value_clear(&key);
    cirrus_close(c);
}

static void test_conditions_and_return_old(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    struct cirrus_value key = {0}, val = {0};
    struct cirrus_write_opts not_exists = {CIRRUS_COND_NOT_EXISTS, NULL, NULL, 0};
    struct cirrus_write_opts exists = {CIRRUS_COND_EXISTS, NULL, NULL, 0};
    struct cirrus_write_opts eq = {CIRRUS_COND_EQUALS, "v", &val, 1};

    assert_int_equal(cirrus_create_table(c, "cond", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(put_ps(c, "cond", "a", 1, &exists), CR_ECONDITION);
    assert_int_equal(put_ps(c, "cond", "a", 1, &not_exists), 0);
    assert_int_equal(put_ps(c, "cond", "a", 1, &not_exists), CR_ECONDITION);
    assert_int_equal(put_ps(c, "cond", "a", 1, &exists), 0);

    cirrus_value_int(&val, 11);
    assert_int_equal(put_ps(c, "cond", "a", 1, &eq), CR_ECONDITION);
    cirrus_value_int(&val, 10);
    {
        struct cirrus_value v = {0};
        item_ps(&v, "p", "a", "s", 1);
        set_int(&v, "v", 99);
        assert_int_equal(cirrus_put_item(c, "cond", &v, &eq, &r), 0);
        assert_int_equal(num(cirrus_map_get(&r.item, "v")), 10);
        cirrus_result_free(&r);
        cirrus_value_clear(&v);
    }
    /* Equality is numeric: a decimal 99 matches the int 99 stored. */
    cirrus_value_clear(&val);
    assert_int_equal(cirrus_value_decimal(&val, "99.0"), 0);
    item_ps(&key, "p", "a", "s", 1);
    assert_int_equal(cirrus_delete_item(c, "cond", &key, &eq, &r), 0);
    assert_int_equal(num(cirrus_map_get(&r.item, "v")), 99);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_item(c, "cond", &key, NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_delete_item(c, "cond", &key, &exists, &r), CR_ECONDITION);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_delete_item(c, "cond", &key, NULL, &r), 0);
    cirrus_result_free(&r);
    cirrus_value_clear(&key);
    cirrus_value_clear(&val);
    cirrus_close(c);
}

/* Collects every item of a query by following cursors; returns the sort keys in order. */
static size_t query_all(struct cirrus *c, const char *table, struct cirrus_query q, int64_t *out,
                        size_t cap)
{
    struct cirrus_result r;
    void *cursor = NULL;
    size_t n = 0;

    do {
        q.cursor = cursor;
        assert_int_equal(cirrus_query(c, table, &q, NULL, &r), 0);
        free(cursor);
        cursor = NULL;
        if (q.limit)
            assert_true(r.n_items <= q.limit);
        for (size_t i = 0; i < r.n_items; i++) {
            assert_true(n < cap);
            out[n++] = num(cirrus_map_get(&r.items[i], "s"));
        }
        if (r.cursor) {
            cursor = malloc(r.cursor_len);
            memcpy(cursor, r.cursor, r.cursor_len);
            q.cursor_len = r.cursor_len;
        }
        cirrus_result_free(&r);
    } while (cursor);
    return n;
}

static void test_query_every_operator_with_paging(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    struct cirrus_value pk = {0}, a = {0}, b = {0};
    int64_t got[64];
    struct {
        enum cirrus_sk_op op;
        int64_t a, b;
        int reverse;
        uint32_t limit;
    } cases[] = {
        {CIRRUS_SK_ANY, 0, 0, 0, 0},     {CIRRUS_SK_ANY, 0, 0, 1, 3},
        {CIRRUS_SK_EQ, 7, 0, 0, 0},      {CIRRUS_SK_LT, 7, 0, 0, 2},
        {CIRRUS_SK_LE, 7, 0, 1, 0},      {CIRRUS_SK_GT, 35, 0, 0, 1},
        {CIRRUS_SK_GE, 35, 0, 1, 4},     {CIRRUS_SK_BETWEEN, 5, 9, 0, 2},
        {CIRRUS_SK_BETWEEN, 5, 9, 1, 0},
    };

    assert_int_equal(cirrus_create_table(c, "qry", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(put_ps(c, "qry", "in", i, NULL), 0);
        assert_int_equal(put_ps(c, "qry", i % 2 ? "other" : "zzz", i, NULL), 0);
    }
    assert_int_equal(cirrus_value_string(&pk, "in", 2), 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct cirrus_query q = {&pk, cases[k].op, &a, &b, cases[k].reverse, cases[k].limit, NULL,
                                 0};
        size_t n, want = 0;
        cirrus_value_int(&a, cases[k].a);
        cirrus_value_int(&b, cases[k].b);
        n = query_all(c, "qry", q, got, 64);
        for (int64_t s0 = 0; s0 < 40; s0++) {
            int64_t s = cases[k].reverse ? 39 - s0 : s0;
            int match;
            switch (cases[k].op) {
            case CIRRUS_SK_EQ:
                match = s == cases[k].a;
                break;
            case CIRRUS_SK_LT:
                match = s < cases[k].a;
                break;
            case CIRRUS_SK_LE:
                match = s <= cases[k].a;
                break;
            case CIRRUS_SK_GT:
                match = s > cases[k].a;
                break;
            case CIRRUS_SK_GE:
                match = s >= cases[k].a;
                break;
            case CIRRUS_SK_BETWEEN:
                match = s >= cases[k].a && s <= cases[k].b;
                break;
            default:
                match = 1;
            }
            if (!match)
                continue;
            assert_true(want < n);
            if (got[want] != s)
                fail_msg("case %zu: item %zu is %lld, want %lld", k, want, (long long)got[want],
                         (long long)s);
            want++;
        }
        assert_int_equal(n, want);
    }
    cirrus_value_clear(&pk);
    cirrus_close(c);
}

static void test_begins_with_and_bad_cursor(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    struct cirrus_value pk = {0}, pre = {0}, v = {0};
    const char *sks[] = {"apple", "apricot", "banana", "ap", "a"};
    struct cirrus_query q;

    assert_int_equal(cirrus_create_table(c, "bwt", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_S, &r), 0);
    cirrus_result_free(&r);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cirrus_value_container(&v, CIRRUS_MAP), 0);
        set_str(&v, "p", "k");
        set_str(&v, "s", sks[i]);
        assert_int_equal(cirrus_put_item(c, "bwt", &v, NULL, &r), 0);
        cirrus_result_free(&r);
        cirrus_value_clear(&v);
    }
    assert_int_equal(cirrus_value_string(&pk, "k", 1), 0);
    assert_int_equal(cirrus_value_string(&pre, "ap", 2), 0);
    q = (struct cirrus_query){&pk, CIRRUS_SK_BEGINS_WITH, &pre, NULL, 0, 0, NULL, 0};
    assert_int_equal(cirrus_query(c, "bwt", &q, NULL, &r), 0);
    assert_int_equal(r.n_items, 3);
    assert_string_equal(cirrus_map_get(&r.items[0], "s")->u.str.ptr, "ap");
    assert_string_equal(cirrus_map_get(&r.items[1], "s")->u.str.ptr, "apple");
    assert_string_equal(cirrus_map_get(&r.items[2], "s")->u.str.ptr, "apricot");
    cirrus_result_free(&r);

    q.cursor = "garbage!";
    q.cursor_len = 8;
    assert_int_equal(cirrus_query(c, "bwt", &q, NULL, &r), CR_ECURSOR);
    cirrus_result_free(&r);
    cirrus_value_clear(&pk);
    cirrus_value_clear(&pre);
    cirrus_close(c);
}

static void test_scan_paging_and_segments(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    int seen[60] = {0}, seg_seen[60] = {0};
    void *cursor = NULL;
    size_t cursor_len = 0;

    assert_int_equal(cirrus_create_table(c, "scn", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);
    for (int i = 0; i < 60; i++) {
        char p[8];
        snprintf(p, sizeof p, "p%d", i % 13);
        assert_int_equal(put_ps(c, "scn", p, i, NULL), 0);
    }
    do {
        struct cirrus_scan s = {7, cursor, cursor_len, 0, 0};
        assert_int_equal(cirrus_scan(c, "scn", &s, NULL, &r), 0);
        free(cursor);
        cursor = NULL;
        assert_true(r.n_items <= 7);
        for (size_t i = 0; i < r.n_items; i++)
            seen[num(cirrus_map_get(&r.items[i], "s"))]++;
        if (r.cursor) {
            cursor = malloc(r.cursor_len);
            memcpy(cursor, r.cursor, r.cursor_len);
            cursor_len = r.cursor_len;
        }
        cirrus_result_free(&r);
    } while (cursor);
    for (int i = 0; i < 60; i++)
        assert_int_equal(seen[i], 1);

    for (uint32_t seg = 0; seg < 4; seg++) {
        struct cirrus_scan s = {0, NULL, 0, seg, 4};
        assert_int_equal(cirrus_scan(c, "scn", &s, NULL, &r), 0);
        assert_null(r.cursor);
        for (size_t i = 0; i < r.n_items; i++)
            seg_seen[num(cirrus_map_get(&r.items[i], "s"))]++;
        cirrus_result_free(&r);
    }
    for (int i = 0; i < 60; i++)
        assert_int_equal(seg_seen[i], 1);
    cirrus_close(c);
}

static void test_atomic_batch(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    struct cirrus_value items[4] = {{0}};
    struct cirrus_write_op ops[4];

    assert_int_equal(cirrus_create_table(c, "bat", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(put_ps(c, "bat", "taken", 0, NULL), 0);
    for (int i = 0; i < 4; i++) {
        item_ps(&items[i], "p", i == 2 ? "taken" : "new", "s", i == 2 ? 0 : i);
        ops[i] =
            (struct cirrus_write_op){0, "bat", &items[i], {CIRRUS_COND_NOT_EXISTS, NULL, NULL, 0}};
    }
    assert_int_equal(cirrus_batch_write(c, ops, 4, &r), CR_ECONDITION);
    assert_int_equal(r.n_writes, 4);
    assert_int_equal(r.writes[0].code, CR_EABORTED);
    assert_int_equal(r.writes[2].code, CR_ECONDITION);
    assert_int_equal(r.writes[3].code, CR_EABORTED);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_item(c, "bat", &items[0], NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);

    /* Without the conflicting put, the batch applies whole, deletes included. */
    ops[2].is_delete = 1;
    ops[2].opts.condition = CIRRUS_COND_EXISTS;
    assert_int_equal(cirrus_batch_write(c, ops, 4, &r), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.writes[i].code, 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_item(c, "bat", &items[3], NULL, &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_item(c, "bat", &items[2], NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    for (int i = 0; i < 4; i++)
        cirrus_value_clear(&items[i]);
    cirrus_close(c);
}

static void test_consistency_and_applied_index(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    struct cirrus_value key = {0};
    uint64_t before, after;
    enum cirrus_consistency levels[] = {CIRRUS_CONSISTENCY_DEFAULT, CIRRUS_STRONG,
                                        CIRRUS_BOUNDED_STALENESS,   CIRRUS_SESSION,
                                        CIRRUS_CONSISTENT_PREFIX,   CIRRUS_EVENTUAL};

    assert_int_equal(cirrus_create_table(c, "cns", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);
    before = cirrus_last_applied_index(c);
    assert_true(before > 0);
    assert_int_equal(put_ps(c, "cns", "a", 1, NULL), 0);
    after = cirrus_last_applied_index(c);
    assert_true(after > before);

    item_ps(&key, "p", "a", "s", 1);
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        struct cirrus_read_opts ro = {levels[i], after, 10, 1000};
        assert_int_equal(cirrus_get_item(c, "cns", &key, &ro, &r), 0);
        assert_true(cirrus_last_applied_index(c) >= after);
        assert_int_equal(cirrus_last_lag(c), 0);
        cirrus_result_free(&r);
    }
    {
        /* A session token from the future cannot be met by this node. */
        struct cirrus_read_opts ro = {CIRRUS_SESSION, after + 1000000, 0, 0};
        assert_int_not_equal(cirrus_get_item(c, "cns", &key, &ro, &r), 0);
        cirrus_result_free(&r);
    }
    assert_int_equal(cirrus_stats(c, &r), 0);
    assert_true(r.stats.applied_index >= after);
    assert_true(r.stats.writes >= 1);
    assert_true(r.stats.commits >= 1 && r.stats.commits <= r.stats.writes + 16);
    assert_true(r.stats.tables >= 1);
    cirrus_result_free(&r);
    cirrus_value_clear(&key);
    cirrus_close(c);
}

static void test_pipelining(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    enum { N = 2000 };
    static char seen[N + 1];
    uint64_t first = 0;

    assert_int_equal(cirrus_create_table(c, "pip", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);
    for (int i = 0; i < N; i++) {
        struct cirrus_value v = {0};
        uint64_t id;
        item_ps(&v, "p", "x", "s", i);
        assert_int_equal(cirrus_send_put(c, "pip", &v, &id), 0);
        if (i == 0)
            first = id;
        assert_int_equal(id, first + (uint64_t)i);
        cirrus_value_clear(&v);
    }
    assert_int_equal(cirrus_flush(c), 0);
    for (int i = 0; i < N; i++) {
        uint64_t id;
        int code;
        assert_int_equal(cirrus_recv(c, &id, &code), 0);
        assert_int_equal(code, 0);
        assert_true(id >= first && id < first + N);
        assert_int_equal(seen[id - first], 0);
        seen[id - first] = 1;
    }
    assert_int_equal(cirrus_describe_table(c, "pip", NULL, &r), 0);
    assert_int_equal(r.table.item_count, N);
    cirrus_result_free(&r);
    cirrus_close(c);
}

static void test_restart_keeps_data_and_stop_answers_in_flight(void **state)
{
    struct cirrus *c = conn();
    struct cirrus_result r;
    enum { N = 500 };
    uint64_t size_before;

    assert_int_equal(cirrus_describe_table(c, "qry", NULL, &r), 0);
    assert_int_equal(r.table.item_count, 80);
    size_before = r.table.size_bytes;
    assert_true(size_before > 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_table(c, "gst", "p", CIRRUS_KEY_S, "s", CIRRUS_KEY_N, &r), 0);
    cirrus_result_free(&r);

    for (int i = 0; i < N; i++) {
        struct cirrus_value v = {0};
        uint64_t id;
        item_ps(&v, "p", "g", "s", i);
        assert_int_equal(cirrus_send_put(c, "gst", &v, &id), 0);
        cirrus_value_clear(&v);
    }
    assert_int_equal(cirrus_flush(c), 0);
    {
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL); /* let the server read them all */
    }
    kill(srv.pid, SIGTERM);
    for (int i = 0; i < N; i++) {
        uint64_t id;
        int code;
        assert_int_equal(cirrus_recv(c, &id, &code), 0);
        assert_int_equal(code, 0);
    }
    cirrus_close(c);
    assert_int_equal(harness_stop(&srv), 0);

    assert_int_equal(harness_start(&srv), 0);
    c = conn();
    assert_int_equal(cirrus_describe_table(c, "gst", NULL, &r), 0);
    assert_int_equal(r.table.item_count, N);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_describe_table(c, "qry", NULL, &r), 0);
    assert_int_equal(r.table.item_count, 80);
    assert_int_equal(r.table.size_bytes, size_before);
    cirrus_result_free(&r);
    cirrus_close(c);
}

/* A request frame over the server's --max-frame is answered with CR_EFRAMETOOBIG (the server
 * cannot know its id), and the client reports exactly that rather than a closed connection. */
static void test_oversized_request_is_named(void **state)
{
    struct harness small;
    struct cirrus *c = NULL;
    struct cirrus_result r;
    struct cirrus_value v = {0};
    char *big = malloc(100000);

    harness_init(&small);
    harness_flag(&small, "--max-frame=64k");
    assert_int_equal(harness_start(&small), 0);
    assert_int_equal(cirrus_connect("127.0.0.1", small.port, 10000, &c), 0);
    assert_int_equal(cirrus_create_table(c, "big", "p", CIRRUS_KEY_S, NULL, 0, &r), 0);
    cirrus_result_free(&r);
    memset(big, 'x', 99999);
    big[99999] = 0;
    item_ps(&v, "p", "k", NULL, 0);
    set_str(&v, "data", big);
    assert_int_equal(cirrus_put_item(c, "big", &v, NULL, &r), CR_EFRAMETOOBIG);
    assert_non_null(strstr(cirrus_errmsg(c), "--max-frame"));
    cirrus_result_free(&r);
    cirrus_value_clear(&v);
    cirrus_close(c);
    free(big);
    assert_int_equal(harness_stop(&small), 0);
    harness_cleanup(&small);
}

/* A second server on the same data directory is refused with a clear error, not allowed to
 * interleave log indexes with the first. */
static void test_second_server_on_same_data_is_refused(void **state)
{
    struct harness other = srv;

    other.pid = 0;
    snprintf(other.port_file, sizeof other.port_file, "%s.port2", srv.dir);
    assert_int_not_equal(harness_start(&other), 0);
    assert_true(harness_alive(&srv));
    unlink(other.port_file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_every_value_type_round_trips),
        cmocka_unit_test(test_conditions_and_return_old),
        cmocka_unit_test(test_query_every_operator_with_paging),
        cmocka_unit_test(test_begins_with_and_bad_cursor),
        cmocka_unit_test(test_scan_paging_and_segments),
        cmocka_unit_test(test_atomic_batch),
        cmocka_unit_test(test_consistency_and_applied_index),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_restart_keeps_data_and_stop_answers_in_flight),
        cmocka_unit_test(test_second_server_on_same_data_is_refused),
        cmocka_unit_test(test_oversized_request_is_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
