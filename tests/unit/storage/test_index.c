/* Secondary indexes: a property test (random puts, updates and deletes, then every index equals
 * the projection of the table's items that have its key, in (index key, table key) order),
 * backfill when an index is added, clean-up when an index or its table is dropped, sparse and
 * long index keys, paging and queries over an index, catalog validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"

static struct index_def gsi_def(const char *name, const char *pk, enum key_type pkt, const char *sk,
                                enum key_type skt, enum index_projection proj)
{
    struct index_def x;

    memset(&x, 0, sizeof x);
    x.kind = INDEX_GSI;
    x.projection = proj;
    snprintf(x.key.name, sizeof x.key.name, "%s", name);
    snprintf(x.key.pk_name, sizeof x.key.pk_name, "%s", pk);
    x.key.pk_type = pkt;
    if (sk) {
        x.key.has_sk = true;
        snprintf(x.key.sk_name, sizeof x.key.sk_name, "%s", sk);
        x.key.sk_type = skt;
    }
    return x;
}

static const char *const include_x[] = {"x"};

/* Table "tab" (id S, n N) with GSI byG (g S, s N; INCLUDE x) and LSI byL (id, l S; KEYS_ONLY). */
static struct table_def create_indexed(struct fx *f)
{
    struct index_def idx[2];
    struct mutation m = fx_create_mut("tab", "id", KEY_S, "n", KEY_N);
    struct mutation_result r;

    idx[0] = gsi_def("byG", "g", KEY_S, "s", KEY_N, PROJ_INCLUDE);
    idx[0].n_include = 1;
    idx[0].include = include_x;
    idx[1] = gsi_def("byL", "id", KEY_S, "l", KEY_S, PROJ_KEYS_ONLY);
    idx[1].kind = INDEX_LSI;
    m.indexes = idx;
    m.n_indexes = 2;
    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.table.n_indexes, 2);
    return r.table;
}

/* ---- the reference: project(items that have the index key), ordered by (index, table key) */

struct ref {
    const struct table_def *table;
    const struct index_def *idx;
};

static const struct ref *sort_ref;

static int key_cmp(const struct value *a, const struct value *b, const struct table_def *k)
{
    int c = value_compare(value_map_get(a, k->pk_name, strlen(k->pk_name)),
                          value_map_get(b, k->pk_name, strlen(k->pk_name)));

    if (c == 0 && k->has_sk)
        c = value_compare(value_map_get(a, k->sk_name, strlen(k->sk_name)),
                          value_map_get(b, k->sk_name, strlen(k->sk_name)));
    return c;
}

static int entry_cmp(const void *pa, const void *pb)
{
    int c = key_cmp(pa, pb, &sort_ref->idx->key);

    return c ? c : key_cmp(pa, pb, sort_ref->table);
}

static bool has_key_attr(const struct value *item, const char *name, enum key_type t)
{
    const struct value *v = value_map_get(item, name, strlen(name));

    if (!v)
        return false;
    if (t == KEY_N)
        return v->type == VT_INT || v->type == VT_DOUBLE || v->type == VT_DECIMAL;
    return v->type == (t == KEY_S ? VT_STRING : VT_BYTES) && v->u.s.len > 0;
}

static bool named(const struct value_field *f, const char *name)
{
    return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0;
}

static bool wanted(const struct ref *r, const struct value_field *f)
{
    const struct table_def *k[2] = {r->table, &r->idx->key};

    if (r->idx->projection == PROJ_ALL)
        return true;
    for (int i = 0; i < 2; i++)
        if (named(f, k[i]->pk_name) || (k[i]->has_sk && named(f, k[i]->sk_name)))
            return true;
    for (size_t i = 0; r->idx->projection == PROJ_INCLUDE && i < r->idx->n_include; i++)
        if (named(f, r->idx->include[i]))
            return true;
    return false;
}

/* Every item of the table, through kv_scan's pages. */
static size_t all_items(struct fx *f, struct storage_txn *t, const struct table_def *d,
                        struct value *out, size_t cap)
{
    uint8_t *cur = NULL;
    size_t cur_len = 0, n = 0;

    do {
        struct kv_page p;

        assert_int_equal(kv_scan(t, d, cur, cur_len, 7, 0, 0, &f->a, &p), 0);
        for (size_t i = 0; i < p.n; i++) {
            assert_true(n < cap);
            out[n++] = p.items[i];
        }
        cur = p.next;
        cur_len = p.next_len;
    } while (cur_len);
    return n;
}

/* Checks the index's entries (scanned in pages of `page` items) and stats against the table. */
static void check_index(struct fx *f, const struct table_def *d, const struct index_def *x,
                        uint32_t page)
{
    struct storage_txn *t = fx_read(f);
    struct ref r = {d, x};
    struct value items[256], want[256];
    struct table_stats st;
    size_t n = all_items(f, t, d, items, 256), nw = 0, got = 0;
    uint64_t size = 0;
    uint8_t *cur = NULL;
    size_t cur_len = 0;

    for (size_t i = 0; i < n; i++) {
        struct value_field *fields;
        size_t k = 0;

        if (!has_key_attr(&items[i], x->key.pk_name, x->key.pk_type) ||
            (x->key.has_sk && !has_key_attr(&items[i], x->key.sk_name, x->key.sk_type)))
            continue;
        fields = cr_arena_alloc(&f->a, items[i].u.map.n * sizeof *fields);
        for (size_t j = 0; j < items[i].u.map.n; j++)
            if (wanted(&r, &items[i].u.map.fields[j]))
                fields[k++] = items[i].u.map.fields[j];
        want[nw] = (struct value){.type = VT_MAP};
        want[nw].u.map.fields = fields;
        want[nw].u.map.n = k;
        size += value_ddb_size(&want[nw]);
        nw++;
    }
    sort_ref = &r;
    qsort(want, nw, sizeof *want, entry_cmp);
    do {
        struct kv_page p;

        assert_int_equal(kv_scan_index(t, d, x, cur, cur_len, page, 0, 0, &f->a, &p), 0);
        for (size_t i = 0; i < p.n; i++) {
            assert_true(got < nw);
            assert_true(value_equal(&p.items[i], &want[got]));
            got++;
        }
        cur = p.next;
        cur_len = p.next_len;
    } while (cur_len);
    assert_int_equal(got, nw);
    assert_int_equal(catalog_stats(t, &x->key, &st), 0);
    assert_int_equal(st.item_count, nw);
    assert_int_equal(st.size_bytes, size);
    storage_read_end(t);
}

static size_t indexes_of(struct fx *f, const struct table_def *d, struct index_def **out)
{
    struct storage_txn *t = fx_read(f);
    struct table_def now;
    size_t n;

    assert_int_equal(catalog_get(t, d->name, strlen(d->name), &now), 0);
    assert_int_equal(catalog_indexes(t, &now, &f->a, out, &n), 0);
    assert_int_equal(n, now.n_indexes);
    storage_read_end(t);
    return n;
}

/* ---- random items -------------------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Index key values: some absent, some of the wrong type, some long (cut in index entries). */
static bool rnd_g(struct fx *f, struct value *out)
{
    static const char *const short_g[] = {"p", "q", "r"};
    uint32_t k = rnd(7);
    char *s;

    if (k == 0)
        return false;
    if (k == 1) {
        *out = value_int(rnd(3));
        return true;
    }
    if (k == 2) { /* two long values, different in their first byte: value order holds */
        s = cr_arena_alloc(&f->a, 300);
        memset(s, 'm' + (int)rnd(2), 300);
        *out = value_string(s, 300);
        return true;
    }
    *out = fx_str(short_g[rnd(3)]);
    return true;
}

static struct value rnd_item(struct fx *f, const char *id, int64_t n)
{
    struct value_field *fields = cr_arena_alloc(&f->a, 7 * sizeof *fields);
    struct value *vals = cr_arena_alloc(&f->a, 7 * sizeof *vals);
    size_t k = 0;

    vals[k] = fx_str(id);
    fields[k] = (struct value_field){"id", 2, &vals[k]};
    k++;
    vals[k] = value_int(n);
    fields[k] = (struct value_field){"n", 1, &vals[k]};
    k++;
    if (rnd_g(f, &vals[k])) {
        fields[k] = (struct value_field){"g", 1, &vals[k]};
        k++;
    }
    if (rnd(4)) {
        vals[k] = value_int(rnd(4));
        fields[k] = (struct value_field){"s", 1, &vals[k]};
        k++;
    }
    if (rnd(3)) {
        vals[k] = fx_str(rnd(2) ? "l1" : "l2");
        fields[k] = (struct value_field){"l", 1, &vals[k]};
        k++;
    }
    if (rnd(2)) {
        vals[k] = value_int(rnd(100));
        fields[k] = (struct value_field){"x", 1, &vals[k]};
        k++;
    }
    vals[k] = value_int(rnd(100));
    fields[k] = (struct value_field){"y", 1, &vals[k]};
    k++;
    return (struct value){.type = VT_MAP, .u.map = {fields, k}};
}

/* update hook: the item becomes *ctx (the same key), as a DynamoDB UpdateItem would make it. */
static int become(const void *ctx, const struct value *current, struct cr_arena *a,
                  struct value *next, char *msg, size_t msg_size)
{
    (void)current;
    (void)a;
    (void)msg;
    (void)msg_size;
    *next = *(const struct value *)ctx;
    return 0;
}

static const char *const ids[] = {"a", "b", "c", "d"};

static void property(void **state)
{
    struct fx f;
    struct table_def d;
    struct index_def *idx;
    size_t n;

    (void)state;
    fx_open(&f);
    d = create_indexed(&f);
    for (int round = 0; round < 40; round++) {
        struct mutation muts[4];
        struct mutation_result res[4];
        struct value items[4];
        size_t nm = 1 + rnd(3);

        for (size_t i = 0; i < nm; i++) {
            const char *id = ids[rnd(4)];
            int64_t k = rnd(3);
            uint32_t op = rnd(4);

            items[i] = rnd_item(&f, id, k);
            if (op == 0) {
                muts[i] = fx_del_mut("tab", fx_map(&f, 2, "id", fx_str(id), "n", value_int(k)));
            } else if (op == 1) {
                muts[i] = fx_del_mut("tab", fx_map(&f, 2, "id", fx_str(id), "n", value_int(k)));
                muts[i].type = MUT_UPDATE;
                muts[i].hook.update = become;
                muts[i].hook.ctx = &items[i];
            } else {
                muts[i] = fx_put_mut("tab", items[i]);
            }
        }
        assert_int_equal(fx_apply(&f, muts, nm, res), 0);
        if (round % 5 == 4) {
            n = indexes_of(&f, &d, &idx);
            for (size_t i = 0; i < n; i++)
                check_index(&f, &d, &idx[i], 1 + rnd(5));
        }
    }
    n = indexes_of(&f, &d, &idx);
    for (size_t i = 0; i < n; i++)
        check_index(&f, &d, &idx[i], 0);
    fx_reopen(&f);
    for (size_t i = 0; i < n; i++)
        check_index(&f, &d, &idx[i], 3);
    fx_close(&f);
}

/* A query over byG returns the entries of one index partition, by s then table key, and pages
 * with duplicate index keys neither skip nor repeat. */
static void query_index(void **state)
{
    struct fx f;
    struct table_def d;
    struct index_def *idx;
    struct storage_txn *t;
    struct kv_query q;
    struct kv_page p;
    const char *expect[] = {"c", "a", "b", "d"}; /* s: 1, 2, 2, 3 */
    size_t got = 0;

    (void)state;
    fx_open(&f);
    d = create_indexed(&f);
    assert_int_equal(fx_put(&f, "tab",
                            fx_map(&f, 4, "id", fx_str("a"), "n", value_int(1), "g", fx_str("p"),
                                   "s", value_int(2))),
                     0);
    assert_int_equal(fx_put(&f, "tab",
                            fx_map(&f, 4, "id", fx_str("b"), "n", value_int(1), "g", fx_str("p"),
                                   "s", value_int(2))),
                     0);
    assert_int_equal(fx_put(&f, "tab",
                            fx_map(&f, 4, "id", fx_str("c"), "n", value_int(1), "g", fx_str("p"),
                                   "s", value_int(1))),
                     0);
    assert_int_equal(fx_put(&f, "tab",
                            fx_map(&f, 4, "id", fx_str("d"), "n", value_int(1), "g", fx_str("p"),
                                   "s", value_int(3))),
                     0);
    assert_int_equal(fx_put(&f, "tab",
                            fx_map(&f, 4, "id", fx_str("e"), "n", value_int(1), "g", fx_str("q"),
                                   "s", value_int(2))),
                     0);
    assert_int_equal(indexes_of(&f, &d, &idx), 2);
    t = fx_read(&f);
    memset(&q, 0, sizeof q);
    q.pk = fx_str("p");
    q.limit = 1;
    do {
        assert_int_equal(kv_query_index(t, &d, &idx[0], &q, &f.a, &p), 0);
        for (size_t i = 0; i < p.n; i++) {
            const struct value *id = value_map_get(&p.items[i], "id", 2);

            assert_true(got < 4);
            assert_memory_equal(id->u.s.ptr, expect[got], 1);
            assert_null(value_map_get(&p.items[i], "y", 1)); /* not projected */
            got++;
        }
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    } while (q.cursor_len);
    assert_int_equal(got, 4);
    /* a cursor from a key-shaped position: after (g p, s 2, id a, n 1) comes b */
    {
        struct value k = fx_map(&f, 4, "g", fx_str("p"), "s", value_int(2), "id", fx_str("a"), "n",
                                value_int(1));

        assert_int_equal(
            kv_cursor_from_index_key(&d, &idx[0], &k, &f.a, (uint8_t **)&q.cursor, &q.cursor_len),
            0);
        q.limit = 0;
        q.op = SK_GE;
        q.sk1 = value_int(2);
        assert_int_equal(kv_query_index(t, &d, &idx[0], &q, &f.a, &p), 0);
        assert_int_equal(p.n, 2);
        assert_memory_equal(value_map_get(&p.items[0], "id", 2)->u.s.ptr, "b", 1);
        k = fx_map(&f, 2, "g", fx_str("p"), "s", value_int(2));
        assert_int_equal(
            kv_cursor_from_index_key(&d, &idx[0], &k, &f.a, (uint8_t **)&q.cursor, &q.cursor_len),
            CR_EMISSINGKEY);
        /* a table cursor is not an index cursor */
        k = fx_map(&f, 2, "id", fx_str("a"), "n", value_int(1));
        assert_int_equal(kv_cursor_from_key(&d, &k, &f.a, (uint8_t **)&q.cursor, &q.cursor_len), 0);
        assert_int_equal(kv_query_index(t, &d, &idx[0], &q, &f.a, &p), CR_ECURSOR);
    }
    storage_read_end(t);
    fx_close(&f);
}

static int update_table(struct fx *f, const char *table, const struct index_def *add, size_t n_add,
                        const char *const *drop, size_t n_drop, struct mutation_result *r)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_UPDATE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "%s", table);
    m.indexes = add;
    m.n_indexes = n_add;
    m.drop = drop;
    m.n_drop = n_drop;
    assert_int_equal(fx_apply(f, &m, 1, r), 0);
    return r->code;
}

/* An added GSI is filled from the existing items at once; a dropped one leaves no entry. */
static void backfill_and_drop(void **state)
{
    static const char *const drop[] = {"byY"};
    struct fx f;
    struct table_def d;
    struct index_def add = gsi_def("byY", "y", KEY_N, NULL, KEY_S, PROJ_ALL), *idx, gone;
    struct mutation_result r;
    struct storage_txn *t;
    struct kv_page p;
    struct table_stats st;

    (void)state;
    fx_open(&f);
    fx_create_table(&f, "tab", "id", KEY_S, "n", KEY_N, &d);
    for (int i = 0; i < 30; i++)
        assert_int_equal(fx_put(&f, "tab", rnd_item(&f, ids[rnd(4)], rnd(5))), 0);
    assert_int_equal(update_table(&f, "tab", &add, 1, NULL, 0, &r), 0);
    assert_int_equal(r.table.n_indexes, 1);
    assert_int_equal(indexes_of(&f, &d, &idx), 1);
    assert_true(idx[0].key.id > d.id);
    check_index(&f, &d, &idx[0], 4);
    /* maintained from now on */
    assert_int_equal(fx_put(&f, "tab", rnd_item(&f, "z", 1)), 0);
    check_index(&f, &d, &idx[0], 0);
    /* the same name again, an LSI after creation, an unknown drop */
    assert_int_equal(update_table(&f, "tab", &add, 1, NULL, 0, &r), CR_ESCHEMA);
    gone = add;
    gone.kind = INDEX_LSI;
    snprintf(gone.key.name, sizeof gone.key.name, "lsi");
    assert_int_equal(update_table(&f, "tab", &gone, 1, NULL, 0, &r), CR_ESCHEMA);
    assert_int_equal(update_table(&f, "nope", &add, 1, NULL, 0, &r), CR_ENOTABLE);
    gone = idx[0];
    assert_int_equal(update_table(&f, "tab", NULL, 0, drop, 1, &r), 0);
    assert_int_equal(r.table.n_indexes, 0);
    assert_int_equal(update_table(&f, "tab", NULL, 0, drop, 1, &r), CR_ESCHEMA);
    t = fx_read(&f);
    assert_int_equal(kv_scan_index(t, &d, &gone, NULL, 0, 0, 0, 0, &f.a, &p), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(catalog_stats(t, &gone.key, &st), 0);
    assert_int_equal(st.item_count, 0);
    storage_read_end(t);
    /* re-adding takes a new id */
    assert_int_equal(update_table(&f, "tab", &add, 1, NULL, 0, &r), 0);
    assert_int_equal(indexes_of(&f, &d, &idx), 1);
    assert_true(idx[0].key.id > gone.key.id);
    check_index(&f, &d, &idx[0], 0);
    fx_close(&f);
}

/* DeleteTable removes its indexes' entries and stats. */
static void delete_table_cleans_up(void **state)
{
    struct fx f;
    struct table_def d;
    struct index_def *idx;
    struct mutation m;
    struct mutation_result r;
    struct storage_txn *t;
    struct kv_page p;
    struct table_stats st;
    size_t n;

    (void)state;
    fx_open(&f);
    d = create_indexed(&f);
    for (int i = 0; i < 20; i++)
        assert_int_equal(fx_put(&f, "tab", rnd_item(&f, ids[rnd(4)], rnd(5))), 0);
    n = indexes_of(&f, &d, &idx);
    memset(&m, 0, sizeof m);
    m.type = MUT_DELETE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "tab");
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    t = fx_read(&f);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(kv_scan_index(t, &d, &idx[i], NULL, 0, 0, 0, 0, &f.a, &p), 0);
        assert_int_equal(p.n, 0);
        assert_int_equal(catalog_stats(t, &idx[i].key, &st), 0);
        assert_int_equal(st.item_count, 0);
    }
    storage_read_end(t);
    fx_close(&f);
}

/* Catalog rules: LSI key, duplicate names, projection, attribute types, limits. */
static void validation(void **state)
{
    struct fx f;
    struct index_def idx[CR_MAX_GSI + 1];
    struct mutation m;
    struct mutation_result r;

    (void)state;
    fx_open(&f);
#define CREATE_WITH(n, expect)                                                                     \
    do {                                                                                           \
        m = fx_create_mut("val", "id", KEY_S, "n", KEY_N);                                         \
        m.indexes = idx;                                                                           \
        m.n_indexes = (n);                                                                         \
        assert_int_equal(fx_apply(&f, &m, 1, &r), 0);                                              \
        assert_int_equal(r.code, (expect));                                                        \
    } while (0)
    idx[0] = gsi_def("lsi", "other", KEY_S, "l", KEY_S, PROJ_ALL);
    idx[0].kind = INDEX_LSI;
    CREATE_WITH(1, CR_ESCHEMA); /* an LSI has the table's partition key */
    idx[0] = gsi_def("gs1", "a", KEY_S, NULL, KEY_S, PROJ_ALL);
    idx[1] = gsi_def("gs1", "b", KEY_S, NULL, KEY_S, PROJ_ALL);
    CREATE_WITH(2, CR_ESCHEMA); /* duplicate name */
    idx[1] = gsi_def("gs2", "n", KEY_S, NULL, KEY_S, PROJ_ALL);
    CREATE_WITH(2, CR_ESCHEMA); /* n is a number in the table key */
    idx[1] = gsi_def("gs2", "b", KEY_S, NULL, KEY_S, PROJ_KEYS_ONLY);
    idx[1].n_include = 1;
    idx[1].include = include_x;
    CREATE_WITH(2, CR_ESCHEMA); /* INCLUDE names without INCLUDE */
    idx[1] = gsi_def("x!", "b", KEY_S, NULL, KEY_S, PROJ_ALL);
    CREATE_WITH(2, CR_ENAME);
    for (int i = 0; i <= CR_MAX_GSI; i++) {
        char name[16];

        snprintf(name, sizeof name, "gsi%d", i);
        idx[i] = gsi_def(name, "a", KEY_S, NULL, KEY_S, PROJ_ALL);
    }
    CREATE_WITH(CR_MAX_GSI + 1, CR_ETOOMANY);
    CREATE_WITH(CR_MAX_GSI, 0);
#undef CREATE_WITH
    fx_close(&f);
}

/* index_check_types alone: empty string and binary keys refused, numbers never "empty", and
 * of several refusing indexes the first by name is reported, whatever the catalog's order. */
static void index_key_check_rules(void **state)
{
    struct fx f;
    struct index_def idx[3];
    struct index_mismatch m;
    struct value v;

    (void)state;
    fx_open(&f);
    idx[0] = gsi_def("zeta", "a", KEY_S, NULL, KEY_S, PROJ_ALL);
    idx[1] = gsi_def("alpha", "b", KEY_B, "n", KEY_N, PROJ_ALL);
    idx[2] = gsi_def("mid", "a", KEY_S, NULL, KEY_S, PROJ_ALL);
    v = fx_map(&f, 3, "a", fx_str("x"), "b", value_bytes("y", 1), "n", value_int(0));
    assert_int_equal(0, index_check_types(idx, 3, &v, &m));
    assert_null(m.index);
    v = fx_map(&f, 1, "a", fx_str(""));
    assert_int_equal(CR_ETYPE, index_check_types(idx, 3, &v, &m));
    assert_string_equal("mid", m.index);
    assert_string_equal("a", m.attr);
    assert_true(m.empty);
    v = fx_map(&f, 2, "a", value_int(1), "b", value_bytes("", 0));
    assert_int_equal(CR_ETYPE, index_check_types(idx, 3, &v, &m));
    assert_string_equal("alpha", m.index);
    assert_string_equal("b", m.attr);
    assert_int_equal(KEY_B, m.expected);
    assert_true(m.empty);
    v = fx_map(&f, 2, "a", value_int(1), "n", fx_str("1"));
    assert_int_equal(CR_ETYPE, index_check_types(idx, 3, &v, &m));
    assert_string_equal("alpha", m.index);
    assert_string_equal("n", m.attr);
    assert_false(m.empty);
    assert_int_equal(VT_STRING, m.actual);
    fx_close(&f);
}

/* A put or update whose new item has an index key attribute of the wrong type fails with
 * CR_ETYPE naming the index, the attribute and both types, and writes nothing (all of its
 * batch); a missing attribute is fine (sparse). */
static void index_key_types_refused(void **state)
{
    struct fx f;
    struct table_def d;
    struct index_def *idx;
    struct mutation m[2];
    struct mutation_result r[2];
    struct value bad, good;
    struct storage_txn *t;
    struct table_stats st;
    size_t n;

    (void)state;
    fx_open(&f);
    d = create_indexed(&f);
    good = fx_map(&f, 4, "id", fx_str("a"), "n", value_int(1), "g", fx_str("p"), "s", value_int(2));
    bad = fx_map(&f, 4, "id", fx_str("b"), "n", value_int(1), "g", fx_str("p"), "s", fx_str("two"));
    m[0] = fx_put_mut("tab", good);
    m[1] = fx_put_mut("tab", bad);
    assert_int_equal(fx_apply(&f, m, 2, r), 0);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(r[1].code, CR_ETYPE);
    assert_string_equal(r[1].mismatch.index, "byG");
    assert_string_equal(r[1].mismatch.attr, "s");
    assert_int_equal(r[1].mismatch.expected, KEY_N);
    assert_int_equal(r[1].mismatch.actual, VT_STRING);
    /* The LSI's sort key, alone. */
    m[0] = fx_put_mut(
        "tab", fx_map(&f, 3, "id", fx_str("c"), "n", value_int(1), "l", value_bytes("x", 1)));
    assert_int_equal(fx_apply(&f, m, 1, r), 0);
    assert_int_equal(r[0].code, CR_ETYPE);
    assert_string_equal(r[0].mismatch.index, "byL");
    assert_int_equal(r[0].mismatch.actual, VT_BYTES);
    /* An update making the attribute wrong fails atomically; without it, the item is sparse. */
    m[0] = fx_put_mut("tab", fx_map(&f, 2, "id", fx_str("d"), "n", value_int(1)));
    assert_int_equal(fx_apply(&f, m, 1, r), 0);
    assert_int_equal(r[0].code, 0);
    m[0] = fx_del_mut("tab", fx_map(&f, 2, "id", fx_str("d"), "n", value_int(1)));
    m[0].type = MUT_UPDATE;
    m[0].hook.update = become;
    bad = fx_map(&f, 3, "id", fx_str("d"), "n", value_int(1), "g", value_int(5));
    m[0].hook.ctx = &bad;
    assert_int_equal(fx_apply(&f, m, 1, r), 0);
    assert_int_equal(r[0].code, CR_ETYPE);
    assert_string_equal(r[0].mismatch.attr, "g");
    assert_int_equal(r[0].mismatch.expected, KEY_S);
    t = fx_read(&f);
    assert_int_equal(catalog_stats(t, &d, &st), 0);
    assert_int_equal(st.item_count, 1);
    storage_read_end(t);
    n = indexes_of(&f, &d, &idx);
    for (size_t i = 0; i < n; i++)
        check_index(&f, &d, &idx[i], 2);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(property),
        cmocka_unit_test(query_index),
        cmocka_unit_test(backfill_and_drop),
        cmocka_unit_test(delete_table_cleans_up),
        cmocka_unit_test(validation),
        cmocka_unit_test(index_key_types_refused),
        cmocka_unit_test(index_key_check_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
