/* apply(): conditions, all-or-nothing batches, group commit, return_old, batch limits, a full
 * map, determinism, mutation hooks (check, update, check-only), and idempotency tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "storage/storage_int.h"

static struct table_def setup(struct fx *f)
{
    struct table_def d;

    fx_open(f);
    fx_create_table(f, "tbl", "id", KEY_S, NULL, KEY_S, &d);
    return d;
}

static struct value item(struct fx *f, const char *id, int64_t v)
{
    return fx_map(f, 2, "id", fx_str(id), "v", value_int(v));
}

static struct value key(struct fx *f, const char *id)
{
    return fx_map(f, 1, "id", fx_str(id));
}

/* The item's "v", or -1 when the item is absent. */
static int64_t read_v(struct fx *f, const struct table_def *d, const char *id)
{
    struct storage_txn *t = fx_read(f);
    struct value pk = fx_str(id), it;
    int64_t v = -1;
    int rc = kv_get(t, d, &pk, NULL, &f->a, &it);

    if (rc == 0)
        v = value_map_get(&it, "v", 1)->u.i;
    else
        assert_int_equal(rc, CR_ENOTFOUND);
    storage_read_end(t);
    return v;
}

static int put_if(struct fx *f, const char *id, int64_t v, enum cond_type c, const char *attr,
                  struct value want)
{
    struct mutation m = fx_put_mut("tbl", item(f, id, v));
    struct mutation_result r;

    m.cond = (struct condition){c, attr, attr ? strlen(attr) : 0, want};
    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    return r.code;
}

static int del_if(struct fx *f, const char *id, enum cond_type c, const char *attr,
                  struct value want)
{
    struct mutation m = fx_del_mut("tbl", key(f, id));
    struct mutation_result r;

    m.cond = (struct condition){c, attr, attr ? strlen(attr) : 0, want};
    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    return r.code;
}

static void conditions(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    struct value none = value_null();

    assert_int_equal(put_if(&f, "a", 1, COND_EXISTS, NULL, none), CR_ECONDITION);
    assert_int_equal(put_if(&f, "a", 1, COND_EQUALS, "v", value_int(1)), CR_ECONDITION);
    assert_int_equal(put_if(&f, "a", 1, COND_NOT_EXISTS, NULL, none), 0);
    assert_int_equal(put_if(&f, "a", 2, COND_NOT_EXISTS, NULL, none), CR_ECONDITION);
    assert_int_equal(read_v(&f, &d, "a"), 1);
    assert_int_equal(put_if(&f, "a", 2, COND_EXISTS, NULL, none), 0);
    assert_int_equal(put_if(&f, "a", 3, COND_EQUALS, "v", value_int(1)), CR_ECONDITION);
    /* Equality across number types. */
    assert_int_equal(put_if(&f, "a", 3, COND_EQUALS, "v", value_double(2.0)), 0);
    assert_int_equal(put_if(&f, "a", 4, COND_EQUALS, "missing", value_int(3)), CR_ECONDITION);
    assert_int_equal(put_if(&f, "a", 4, COND_EQUALS, "missing", value_null()), CR_ECONDITION);
    assert_int_equal(put_if(&f, "a", 4, COND_EQUALS, "v", fx_str("3")), CR_ECONDITION);
    assert_int_equal(put_if(&f, "a", 4, COND_EQUALS, "", value_int(3)), CR_EINVAL);
    assert_int_equal(read_v(&f, &d, "a"), 3);

    assert_int_equal(del_if(&f, "a", COND_NOT_EXISTS, NULL, none), CR_ECONDITION);
    assert_int_equal(del_if(&f, "a", COND_EQUALS, "v", value_int(4)), CR_ECONDITION);
    assert_int_equal(del_if(&f, "a", COND_EQUALS, "nope", value_int(3)), CR_ECONDITION);
    assert_int_equal(read_v(&f, &d, "a"), 3);
    assert_int_equal(del_if(&f, "a", COND_EQUALS, "v", value_int(3)), 0);
    assert_int_equal(read_v(&f, &d, "a"), -1);
    assert_int_equal(del_if(&f, "a", COND_EXISTS, NULL, none), CR_ECONDITION);
    assert_int_equal(del_if(&f, "a", COND_EQUALS, "v", value_int(3)), CR_ECONDITION);
    assert_int_equal(del_if(&f, "a", COND_NOT_EXISTS, NULL, none), 0);
    fx_close(&f);
}

static void atomic_batch(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    struct mutation m[5];
    struct mutation_result r[5];
    struct storage_txn *t;
    struct table_stats st;
    uint64_t applied;

    assert_int_equal(fx_put(&f, "tbl", item(&f, "keep", 7)), 0);
    m[0] = fx_put_mut("tbl", item(&f, "b1", 1));
    m[1] = fx_del_mut("tbl", key(&f, "keep"));
    m[2] = fx_put_mut("tbl", item(&f, "b3", 3));
    m[2].cond.type = COND_EXISTS;
    m[3] = fx_put_mut("tbl", item(&f, "b4", 4));
    m[4] = fx_put_mut("tbl", item(&f, "b5", 5));
    assert_int_equal(fx_apply(&f, m, 5, r), 0);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(r[1].code, CR_EABORTED);
    assert_int_equal(r[2].code, CR_ECONDITION);
    assert_int_equal(r[3].code, CR_EABORTED);
    assert_int_equal(r[4].code, CR_EABORTED);
    assert_int_equal(read_v(&f, &d, "b1"), -1);
    assert_int_equal(read_v(&f, &d, "keep"), 7);
    assert_int_equal(read_v(&f, &d, "b4"), -1);
    t = fx_read(&f);
    assert_int_equal(catalog_stats(t, &d, &st), 0);
    assert_int_equal(st.item_count, 1);
    /* The failed entry still consumed its index. */
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, f.index);
    storage_read_end(t);

    /* A validation error fails the batch the same way. */
    m[2] = fx_put_mut("tbl", fx_map(&f, 1, "v", value_int(1)));
    assert_int_equal(fx_apply(&f, m, 5, r), 0);
    assert_int_equal(r[2].code, CR_EMISSINGKEY);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(read_v(&f, &d, "b1"), -1);
    fx_close(&f);
}

static void batch_sees_its_own_writes(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    struct mutation m[4];
    struct mutation_result r[4];

    m[0] = fx_put_mut("tbl", item(&f, "x", 1));
    m[1] = fx_del_mut("tbl", key(&f, "x"));
    m[1].cond = (struct condition){COND_EQUALS, "v", 1, value_int(1)};
    m[1].return_old = true;
    m[2] = fx_put_mut("tbl", item(&f, "x", 2));
    m[2].cond.type = COND_NOT_EXISTS;
    m[3] = fx_put_mut("tbl", item(&f, "x", 3));
    m[3].cond = (struct condition){COND_EQUALS, "v", 1, value_int(2)};
    m[3].return_old = true;
    assert_int_equal(fx_apply(&f, m, 4, r), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].code, 0);
    assert_true(r[1].has_old);
    assert_int_equal(value_map_get(&r[1].old, "v", 1)->u.i, 1);
    assert_true(r[3].has_old);
    assert_int_equal(value_map_get(&r[3].old, "v", 1)->u.i, 2);
    assert_false(r[0].has_old);
    assert_int_equal(read_v(&f, &d, "x"), 3);

    /* A table created in the batch is usable by its later mutations. */
    m[0] = fx_create_mut("fresh", "k", KEY_N, NULL, KEY_S);
    m[1] = fx_put_mut("fresh", fx_map(&f, 1, "k", value_int(5)));
    assert_int_equal(fx_apply(&f, m, 2, r), 0);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[1].code, 0);
    fx_close(&f);
}

static void group_commit(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    struct mutation m1[2], m2[2], m3[1];
    struct mutation_result r1[2], r2[2], r3[1], *res[4] = {r1, r2, NULL, r3};
    struct log_batch b[4];
    struct storage_txn *t;
    uint64_t applied;

    m1[0] = fx_put_mut("tbl", item(&f, "g1", 1));
    m1[1] = fx_put_mut("tbl", item(&f, "g2", 2));
    m2[0] = fx_put_mut("tbl", item(&f, "g3", 3));
    m2[1] = fx_put_mut("tbl", item(&f, "g1", 9));
    m2[1].cond.type = COND_NOT_EXISTS;
    m3[0] = fx_del_mut("tbl", key(&f, "g2"));
    b[0] = (struct log_batch){.index = 10, .time_ms = 5, .muts = m1, .n = 2};
    b[1] = (struct log_batch){.index = 11, .time_ms = 6, .muts = m2, .n = 2};
    b[2] = (struct log_batch){.index = 12, .time_ms = 7, .muts = NULL, .n = 0};
    b[3] = (struct log_batch){.index = 14, .time_ms = 8, .muts = m3, .n = 1};
    assert_int_equal(storage_apply(f.s, b, 4, res, &f.a), 0);
    assert_int_equal(r1[0].code, 0);
    assert_int_equal(r1[1].code, 0);
    assert_int_equal(r2[0].code, CR_EABORTED);
    assert_int_equal(r2[1].code, CR_ECONDITION);
    assert_int_equal(r3[0].code, 0);
    assert_int_equal(read_v(&f, &d, "g1"), 1);
    assert_int_equal(read_v(&f, &d, "g2"), -1);
    assert_int_equal(read_v(&f, &d, "g3"), -1);
    t = fx_read(&f);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, 14);
    storage_read_end(t);
    /* A group of entries without mutations (a Raft leader's no-op) still moves the index. */
    b[0] = (struct log_batch){.index = 15, .time_ms = 9, .muts = NULL, .n = 0};
    res[0] = NULL;
    assert_int_equal(storage_apply(f.s, b, 1, res, &f.a), 0);
    t = fx_read(&f);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, 15);
    storage_read_end(t);
    fx_close(&f);
}

static void batch_limits_and_unknown_table(void **state)
{
    struct fx f;
    size_t n = CR_MAX_BATCH_MUTATIONS + 1;
    struct mutation *m = calloc(n, sizeof *m);
    struct mutation_result *r = calloc(n, sizeof *r);
    struct table_def d = setup(&f);

    assert_non_null(m);
    assert_non_null(r);
    for (size_t i = 0; i < n; i++) {
        char id[16];

        snprintf(id, sizeof id, "k%zu", i);
        m[i] = fx_put_mut("tbl", item(&f, cr_arena_strndup(&f.a, id, strlen(id)), 1));
    }
    assert_int_equal(fx_apply(&f, m, n, r), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i].code, CR_ETOOMANY);
    assert_int_equal(read_v(&f, &d, "k0"), -1);
    assert_int_equal(fx_apply(&f, m, n - 1, r), 0);
    assert_int_equal(r[n - 2].code, 0);
    assert_int_equal(read_v(&f, &d, "k0"), 1);

    m[0] = fx_put_mut("missing", item(&f, "a", 1));
    m[1] = fx_del_mut("missing", key(&f, "a"));
    assert_int_equal(fx_apply(&f, m, 1, r), 0);
    assert_int_equal(r[0].code, CR_ENOTABLE);
    assert_int_equal(fx_apply(&f, m + 1, 1, r), 0);
    assert_int_equal(r[0].code, CR_ENOTABLE);
    /* A delete's key must be the key alone. */
    m[0] = fx_del_mut("tbl", item(&f, "k0", 1));
    assert_int_equal(fx_apply(&f, m, 1, r), 0);
    assert_int_equal(r[0].code, CR_EINVAL);
    free(m);
    free(r);
    fx_close(&f);
}

/* A full map fails the whole call: nothing applied, results untouched, the env still usable. */
static void map_full(void **state)
{
    struct fx f;
    struct table_def d;
    size_t big = 200 * 1024;
    char *data = malloc(big);
    struct mutation m[8];
    struct mutation_result r[8];
    struct storage_txn *t;
    uint64_t before, after;
    int rc = 0;

    assert_non_null(data);
    memset(data, 'f', big);
    fx_open_sized(&f, 1u << 20);
    fx_create_table(&f, "tbl", "id", KEY_S, NULL, KEY_S, &d);
    for (int i = 0; i < 8; i++) {
        char id[8];

        snprintf(id, sizeof id, "f%d", i);
        m[i] = fx_put_mut("tbl", fx_map(&f, 2, "id", fx_str(cr_arena_strndup(&f.a, id, 2)), "data",
                                        value_string(data, big)));
    }
    memset(r, 0x5a, sizeof r);
    rc = fx_apply(&f, m, 8, r);
    assert_int_equal(rc, CR_EFULL);
    assert_int_equal(r[0].code, 0x5a5a5a5a);
    t = fx_read(&f);
    assert_int_equal(storage_applied_index(t, &before), 0);
    storage_read_end(t);
    assert_int_equal(before, f.index);
    assert_int_equal(read_v(&f, &d, "f0"), -1);
    assert_int_equal(fx_put(&f, "tbl", fx_map(&f, 2, "id", fx_str("small"), "v", value_int(1))), 0);
    t = fx_read(&f);
    assert_int_equal(storage_applied_index(t, &after), 0);
    storage_read_end(t);
    assert_int_equal(after, before + 1);
    free(data);
    fx_close(&f);
}

/* Same batches on two fresh environments: same results, same rows. */
/* A snapshot written from one environment and installed into another replaces its contents
 * and applied index in one step; a file that is not a snapshot changes nothing. */
static void snapshot_write_install(void **state)
{
    struct fx a, b;
    struct table_def da = setup(&a), db;
    struct storage_txn *t;
    char path[128], junk[128];
    uint64_t applied;
    FILE *f;

    (void)state;
    for (int k = 0; k < 50; k++) {
        char id[16];

        snprintf(id, sizeof id, "a%02d", k);
        assert_int_equal(fx_put(&a, "tbl", item(&a, id, k)), 0);
    }
    snprintf(path, sizeof path, "%s/snap.mdb", a.dir);
    assert_int_equal(storage_snapshot_write(a.s, path), 0);
    assert_int_equal(fx_put(&a, "tbl", item(&a, "later", 1)), 0); /* not in the snapshot */

    db = setup(&b);
    assert_int_equal(fx_put(&b, "tbl", item(&b, "gone", 9)), 0);
    snprintf(junk, sizeof junk, "%s/junk.mdb", b.dir);
    f = fopen(junk, "w");
    assert_non_null(f);
    fputs("not an environment", f);
    fclose(f);
    assert_int_not_equal(storage_snapshot_install(b.s, junk), 0);
    assert_int_equal(read_v(&b, &db, "gone"), 9);
    assert_int_equal(storage_snapshot_install(b.s, path), 0);
    assert_int_equal(read_v(&b, &da, "gone"), -1);
    assert_int_equal(read_v(&b, &da, "a49"), 49);
    assert_int_equal(read_v(&b, &da, "later"), -1);
    t = fx_read(&b);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, a.index - 1);
    storage_read_end(t);
    fx_reopen(&b); /* durable */
    assert_int_equal(read_v(&b, &da, "a00"), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(junk), 0);
    fx_close(&b);
    fx_close(&a);
}

static void deterministic(void **state)
{
    struct fx f[2];
    struct page_sum {
        size_t n;
        uint64_t sum;
    } sums[2];

    for (int e = 0; e < 2; e++) {
        struct table_def d;
        struct storage_txn *t;
        struct kv_page page;

        fx_open(&f[e]);
        fx_create_table(&f[e], "tbl", "id", KEY_S, NULL, KEY_S, &d);
        for (int i = 0; i < 50; i++) {
            char id[8];
            struct mutation m;
            struct mutation_result r;

            snprintf(id, sizeof id, "%d", i % 17);
            m = fx_put_mut("tbl", item(&f[e], cr_arena_strndup(&f[e].a, id, strlen(id)), i));
            if (i % 3 == 0)
                m.cond.type = COND_NOT_EXISTS;
            assert_int_equal(fx_apply(&f[e], &m, 1, &r), 0);
        }
        t = fx_read(&f[e]);
        assert_int_equal(kv_scan(t, &d, NULL, 0, 0, 0, 0, &f[e].a, &page), 0);
        sums[e].n = page.n;
        sums[e].sum = 0;
        for (size_t i = 0; i < page.n; i++)
            sums[e].sum = sums[e].sum * 31 + (uint64_t)value_map_get(&page.items[i], "v", 1)->u.i;
        storage_read_end(t);
        fx_close(&f[e]);
    }
    assert_int_equal(sums[0].n, 17);
    assert_int_equal(sums[0].n, sums[1].n);
    assert_int_equal(sums[0].sum, sums[1].sum);
}

/* ---- hooks ------------------------------------------------------------------------------- */

/* check: the item's "v" is at least *ctx (an absent item fails). */
static int v_at_least(const void *ctx, const struct value *current, bool *ok, char *msg,
                      size_t msg_size)
{
    const struct value *v = current ? value_map_get(current, "v", 1) : NULL;

    (void)msg;
    (void)msg_size;
    *ok = v && v->type == VT_INT && v->u.i >= *(const int64_t *)ctx;
    return 0;
}

/* update: v += *ctx (created as {id: "u", v: *ctx} when absent); a non-integer v is the item's
 * fault, with a message. */
static int add_to_v(const void *ctx, const struct value *current, struct cr_arena *a,
                    struct value *next, char *msg, size_t msg_size)
{
    int64_t by = *(const int64_t *)ctx;
    const struct value *v = current ? value_map_get(current, "v", 1) : NULL;
    struct value_field *f = cr_arena_alloc(a, 2 * sizeof *f);
    struct value *vals = cr_arena_alloc(a, 2 * sizeof *vals);

    if (!f || !vals)
        return CR_ENOMEM;
    if (v && v->type != VT_INT) {
        snprintf(msg, msg_size, "v is not a number");
        return CR_EINVAL;
    }
    vals[0] = current ? *value_map_get(current, "id", 2) : fx_str("u");
    vals[1] = value_int((v ? v->u.i : 0) + by);
    f[0] = (struct value_field){"id", 2, &vals[0]};
    f[1] = (struct value_field){"v", 1, &vals[1]};
    next->type = VT_MAP;
    next->u.map.fields = f;
    next->u.map.n = 2;
    return 0;
}

/* update: moves the item to another key, which apply must refuse. */
static int rekey(const void *ctx, const struct value *current, struct cr_arena *a,
                 struct value *next, char *msg, size_t msg_size)
{
    struct value_field *f = cr_arena_alloc(a, sizeof *f);
    struct value *id = cr_arena_alloc(a, sizeof *id);

    (void)ctx;
    (void)current;
    (void)msg;
    (void)msg_size;
    if (!f || !id)
        return CR_ENOMEM;
    *id = fx_str("elsewhere");
    *f = (struct value_field){"id", 2, id};
    next->type = VT_MAP;
    next->u.map.fields = f;
    next->u.map.n = 1;
    return 0;
}

static struct mutation update_mut(struct fx *f, const char *id, const int64_t *by)
{
    struct mutation m = fx_del_mut("tbl", key(f, id));

    m.type = MUT_UPDATE;
    m.hook.update = add_to_v;
    m.hook.ctx = by;
    return m;
}

static void hook_check(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    static const int64_t two = 2;
    struct mutation m;
    struct mutation_result r;

    assert_int_equal(fx_put(&f, "tbl", item(&f, "a", 1)), 0);
    m = fx_put_mut("tbl", item(&f, "a", 5));
    m.hook = (struct mutation_hook){v_at_least, NULL, &two};
    m.return_old_on_fail = true;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_ECONDITION);
    assert_true(r.has_old);
    assert_int_equal(value_map_get(&r.old, "v", 1)->u.i, 1);
    assert_int_equal(read_v(&f, &d, "a"), 1);

    /* Absent items are NULL to the hook; without return_old_on_fail no old item. */
    m = fx_del_mut("tbl", key(&f, "nobody"));
    m.hook = (struct mutation_hook){v_at_least, NULL, &two};
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_ECONDITION);
    assert_false(r.has_old);

    assert_int_equal(fx_put(&f, "tbl", item(&f, "a", 3)), 0);
    m = fx_del_mut("tbl", key(&f, "a"));
    m.hook = (struct mutation_hook){v_at_least, NULL, &two};
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_int_equal(read_v(&f, &d, "a"), -1);

    /* MUT_CHECK writes nothing, passing or not. */
    assert_int_equal(fx_put(&f, "tbl", item(&f, "c", 7)), 0);
    m = fx_del_mut("tbl", key(&f, "c"));
    m.type = MUT_CHECK;
    m.hook = (struct mutation_hook){v_at_least, NULL, &two};
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_int_equal(read_v(&f, &d, "c"), 7);
    fx_close(&f);
}

static void hook_update(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    static const int64_t three = 3, big = 100;
    struct mutation m;
    struct mutation_result r;
    struct storage_txn *t;
    struct table_stats st;

    /* Created from nothing, then updated from the current item. */
    m = update_mut(&f, "u", &three);
    m.return_new = true;
    m.return_old = true;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_false(r.has_old);
    assert_true(r.has_new);
    assert_int_equal(value_map_get(&r.new_item, "v", 1)->u.i, 3);
    assert_int_equal(r.old_size, 0);
    assert_true(r.new_size > 0);
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_true(r.has_old);
    assert_int_equal(value_map_get(&r.old, "v", 1)->u.i, 3);
    assert_int_equal(value_map_get(&r.new_item, "v", 1)->u.i, 6);
    assert_int_equal(read_v(&f, &d, "u"), 6);

    /* A condition on the update: 6 >= 100 fails and nothing changes. */
    m.hook.check = v_at_least;
    m.hook.ctx = &big;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_ECONDITION);
    assert_false(r.has_new);
    assert_int_equal(read_v(&f, &d, "u"), 6);

    /* The item's fault: a deterministic result with the hook's message. */
    assert_int_equal(fx_put(&f, "tbl", fx_map(&f, 2, "id", fx_str("s"), "v", fx_str("x"))), 0);
    m = update_mut(&f, "s", &three);
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_EINVAL);
    assert_non_null(r.message);
    assert_string_equal(r.message, "v is not a number");

    /* An update may not move the item. */
    m = update_mut(&f, "u", &three);
    m.hook.update = rekey;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_EINVAL);
    assert_int_equal(read_v(&f, &d, "u"), 6);

    /* An update without its hook is refused. */
    m.hook.update = NULL;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_EINVAL);

    t = fx_read(&f);
    assert_int_equal(catalog_stats(t, &d, &st), 0);
    assert_int_equal(st.item_count, 2);
    storage_read_end(t);
    fx_close(&f);
}

/* A batch whose hook fails rolls back whole; the failing mutation keeps its message and old
 * item, the others are CR_EABORTED. */
static void hook_atomic_batch(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    static const int64_t one = 1, two = 2;
    struct mutation m[4];
    struct mutation_result r[4];

    assert_int_equal(fx_put(&f, "tbl", item(&f, "k", 1)), 0);
    m[0] = fx_put_mut("tbl", item(&f, "p", 1));
    m[1] = update_mut(&f, "k", &one);
    m[2] = fx_del_mut("tbl", key(&f, "k"));
    m[2].type = MUT_CHECK;
    m[2].hook = (struct mutation_hook){v_at_least, NULL, &two};
    m[2].return_old_on_fail = true;
    m[3] = fx_put_mut("tbl", item(&f, "q", 1));
    /* The check sees the batch's own update: k is 2, so the check passes. */
    assert_int_equal(fx_apply(&f, m, 4, r), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].code, 0);
    assert_int_equal(read_v(&f, &d, "k"), 2);

    m[1] = update_mut(&f, "k", &one);
    m[2].hook.ctx = &(int64_t){10};
    assert_int_equal(fx_apply(&f, m, 4, r), 0);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(r[1].code, CR_EABORTED);
    assert_int_equal(r[2].code, CR_ECONDITION);
    assert_true(r[2].has_old);
    assert_int_equal(value_map_get(&r[2].old, "v", 1)->u.i, 3);
    assert_int_equal(r[3].code, CR_EABORTED);
    assert_false(r[1].has_new);
    assert_int_equal(read_v(&f, &d, "k"), 2);
    fx_close(&f);
}

/* When a batch fails, every later mutation whose condition fails reports its own code (each
 * failing action of a transaction has its reason); those that would pass stay CR_EABORTED. */
static void every_failing_condition_reported(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    static const int64_t ten = 10, one = 1;
    struct mutation m[4];
    struct mutation_result r[4];

    assert_int_equal(fx_put(&f, "tbl", item(&f, "a", 1)), 0);
    assert_int_equal(fx_put(&f, "tbl", item(&f, "b", 1)), 0);
    for (int i = 0; i < 4; i++) {
        m[i] = fx_del_mut("tbl", key(&f, i == 0 || i == 2 ? "a" : "b"));
        m[i].type = MUT_CHECK;
        m[i].hook = (struct mutation_hook){v_at_least, NULL, i == 1 ? &one : &ten};
        m[i].return_old_on_fail = true;
    }
    assert_int_equal(fx_apply(&f, m, 4, r), 0);
    assert_int_equal(r[0].code, CR_ECONDITION);
    assert_int_equal(r[1].code, CR_EABORTED); /* b.v = 1 >= 1 passes */
    assert_int_equal(r[2].code, CR_ECONDITION);
    assert_true(r[2].has_old);
    assert_int_equal(value_map_get(&r[2].old, "v", 1)->u.i, 1);
    assert_int_equal(r[3].code, CR_ECONDITION);
    assert_int_equal(read_v(&f, &d, "a"), 1);
    fx_close(&f);
}

/* Applies m[0..n) as one entry at the next index with a token, its hash and its time. */
static int apply_token(struct fx *f, struct mutation *m, size_t n, struct mutation_result *r,
                       const char *token, uint64_t hash, int64_t time_ms)
{
    struct log_batch b = {.index = f->index + 1,
                          .time_ms = time_ms,
                          .muts = m,
                          .n = n,
                          .token = token,
                          .token_len = strlen(token),
                          .request_hash = hash};
    int rc = storage_apply(f->s, &b, 1, &r, &f->a);

    if (rc == 0)
        f->index++;
    return rc;
}

/* Token records in the meta database (the expiry order, "tok@"), counted. */
static size_t tokens_kept(struct fx *f)
{
    struct storage_txn *t = fx_read(f);
    struct env_cursor *c;
    struct env_val k = {(const uint8_t *)"tok@", 4}, v;
    size_t n = 0;
    int rc;

    assert_int_equal(env_cursor_open(t, ENV_META, &c), 0);
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && k.n > 4 && !memcmp(k.p, "tok@", 4);
         rc = env_cursor_get(c, ENV_NEXT, &k, &v))
        n++;
    env_cursor_close(c);
    storage_read_end(t);
    return n;
}

static void idempotency_tokens(void **state)
{
    struct fx f;
    struct table_def d = setup(&f);
    struct mutation m[2];
    struct mutation_result r[2];
    const int64_t t0 = 1700000000000;

    (void)state;
    /* The first use applies and records the token. */
    m[0] = fx_put_mut("tbl", item(&f, "a", 1));
    assert_int_equal(apply_token(&f, m, 1, r, "t1", 11, t0), 0);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[0].token, TOKEN_NONE);
    /* The same request within the window: success, nothing applied. */
    m[0] = fx_put_mut("tbl", item(&f, "a", 2));
    assert_int_equal(apply_token(&f, m, 1, r, "t1", 11, t0 + 1000), 0);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[0].token, TOKEN_REPLAY);
    assert_int_equal(read_v(&f, &d, "a"), 1);
    /* Another request under the token: refused, nothing applied; also after a reopen. */
    fx_reopen(&f);
    assert_int_equal(apply_token(&f, m, 1, r, "t1", 12, t0 + 2000), 0);
    assert_int_equal(r[0].code, CR_EINVAL);
    assert_int_equal(r[0].token, TOKEN_MISMATCH);
    assert_int_equal(apply_token(&f, m, 1, r, "t1", 11, t0 + CR_TOKEN_WINDOW_MS - 1), 0);
    assert_int_equal(r[0].token, TOKEN_REPLAY);
    assert_int_equal(read_v(&f, &d, "a"), 1);
    /* The window is counted from the recording entry's time, not the applier's clock. */
    assert_int_equal(apply_token(&f, m, 1, r, "t1", 12, t0 + CR_TOKEN_WINDOW_MS), 0);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[0].token, TOKEN_NONE);
    assert_int_equal(read_v(&f, &d, "a"), 2);
    assert_int_equal(tokens_kept(&f), 1);

    /* A failed entry records nothing; an entry of several mutations records its token. */
    m[0] = fx_put_mut("tbl", item(&f, "b", 1));
    m[0].cond.type = COND_EXISTS;
    assert_int_equal(apply_token(&f, m, 1, r, "t2", 21, t0 + CR_TOKEN_WINDOW_MS), 0);
    assert_int_equal(r[0].code, CR_ECONDITION);
    m[0] = fx_put_mut("tbl", item(&f, "b", 3));
    m[1] = fx_put_mut("tbl", item(&f, "c", 3));
    assert_int_equal(apply_token(&f, m, 2, r, "t2", 22, t0 + CR_TOKEN_WINDOW_MS), 0);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[1].code, 0);
    m[0] = fx_put_mut("tbl", item(&f, "b", 4));
    assert_int_equal(apply_token(&f, m, 2, r, "t2", 22, t0 + CR_TOKEN_WINDOW_MS + 5), 0);
    assert_int_equal(r[0].token, TOKEN_REPLAY);
    assert_int_equal(r[1].token, TOKEN_REPLAY);
    assert_int_equal(read_v(&f, &d, "b"), 3);
    assert_int_equal(tokens_kept(&f), 2);

    /* Out-of-bounds tokens are refused. */
    assert_int_equal(apply_token(&f, m, 1, r, "", 1, t0), 0);
    assert_int_equal(r[0].code, CR_EINVAL);
    fx_close(&f);
}

static void expired_tokens_pruned(void **state)
{
    struct fx f;
    struct mutation m;
    struct mutation_result r;
    const int64_t t0 = 1700000000000;
    char token[16];

    (void)state;
    setup(&f);
    for (int i = 0; i < 20; i++) {
        snprintf(token, sizeof token, "p%d", i);
        m = fx_put_mut("tbl", item(&f, "a", i));
        assert_int_equal(apply_token(&f, &m, 1, &r, token, 1, t0 + i), 0);
        assert_int_equal(r.code, 0);
    }
    assert_int_equal(tokens_kept(&f), 20);
    /* Each recording entry forgets at most CR_TOKEN_PRUNE expired tokens, oldest first. */
    m = fx_put_mut("tbl", item(&f, "a", 100));
    assert_int_equal(apply_token(&f, &m, 1, &r, "late1", 1, t0 + CR_TOKEN_WINDOW_MS + 100), 0);
    assert_int_equal(tokens_kept(&f), 20 + 1 - CR_TOKEN_PRUNE);
    /* A forgotten token is new again; a kept one (p19, not yet expired at this time) is not. */
    m = fx_put_mut("tbl", item(&f, "a", 101));
    assert_int_equal(apply_token(&f, &m, 1, &r, "p0", 2, t0 + CR_TOKEN_WINDOW_MS + 18), 0);
    assert_int_equal(r.token, TOKEN_NONE);
    assert_int_equal(apply_token(&f, &m, 1, &r, "p19", 2, t0 + CR_TOKEN_WINDOW_MS + 18), 0);
    assert_int_equal(r.token, TOKEN_MISMATCH);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_failing_condition_reported),
        cmocka_unit_test(conditions),
        cmocka_unit_test(atomic_batch),
        cmocka_unit_test(batch_sees_its_own_writes),
        cmocka_unit_test(group_commit),
        cmocka_unit_test(batch_limits_and_unknown_table),
        cmocka_unit_test(map_full),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(snapshot_write_install),
        cmocka_unit_test(hook_check),
        cmocka_unit_test(hook_update),
        cmocka_unit_test(hook_atomic_batch),
        cmocka_unit_test(idempotency_tokens),
        cmocka_unit_test(expired_tokens_pruned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
