/*
 * The planner's property test over real storage: each case loads random documents (sql_gen.c)
 * into a collection of a temporary LMDB environment with a random indexing policy (and sometimes
 * a partition key path), then runs random queries planned over that policy through
 * sql_storage_source — index ranges, composite indexes, dedup of "[]" paths, storage pages of a
 * few entries, sometimes one pinned partition — and checks them against a plain run over every
 * stored document (doc_scan, filtered to the partition when one is pinned), with the comparison
 * rules of test_sql_plan_property.c. Each query's document stream is also read a second time,
 * stopped at random points, its position saved, the source closed, a new one opened on a new read
 * transaction and restored: the documents must come in the same sequence, and none twice.
 * PLAN_SEED=n runs the one case n.
 */
#include "query/sql.h"
#include "common/error.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../storage/engine_fixture.h"
#include "sql_gen.h"

#define COLLECTIONS 2000
#define QUERIES 10
#define MAX_DOCS 40
#define TIME_LIMIT 20 /* seconds of CPU: the cases run so far are reported, never a failure */
#define DB "db"

struct stats {
    size_t cases, by_access[4], fallback, ordered, dedup, pinned, where_pins, restores, read_plan,
        read_full;
};

static struct stats ST;
static struct fx F;

/* One case's collection as stored, and everything a query over it needs. */
struct coll {
    uint64_t seed;
    const struct policy *pol;
    struct coll_def def;
    struct value *docs; /* every stored document, in key order */
    struct doc_key *keys;
    size_t n;
};

static void fail_case(const struct coll *c, const struct query *q, const struct sql_plan *plan,
                      const char *why)
{
    struct cr_buf b;

    cr_buf_init(&b);
    fprintf(stderr, "STORAGE PLAN PROPERTY FAILED: %s\nseed: %llu (PLAN_SEED=%llu)\nquery: %s\n",
            why, (unsigned long long)c->seed, (unsigned long long)c->seed, q->full.s);
    for (size_t i = 0; i < q->g.n_params; i++) {
        struct text t = {{0}, 0};

        gen_add_value(&t, q->g.params[i].value);
        fprintf(stderr, "param %s = %s\n", q->g.names[i], t.s);
    }
    gen_print_policy(c->pol);
    fprintf(stderr, "partition key path: '%s'\n", c->def.pk_path);
    if (plan && sql_explain(plan, &b) == 0)
        fprintf(stderr, "plan:\n%.*s", (int)b.len, (const char *)b.data);
    cr_buf_free(&b);
    fail();
}

/* The definition of collection `name` with the random policy. */
static void make_def(const struct policy *p, const char *name, bool pk, struct coll_def *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->db, sizeof d->db, "%s", DB);
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->pk_path, sizeof d->pk_path, "%s", pk ? "/c" : "");
    d->policy = p->ix;
}

static void apply_one(struct mutation *m)
{
    struct mutation_result r;

    assert_int_equal(fx_apply(&F, m, 1, &r), 0);
    assert_int_equal(r.code, 0);
}

/* Every document of the collection, in key order, deep-copied. */
static void read_all(struct coll *c)
{
    struct storage_txn *t = fx_read(&F);
    uint8_t *cur = NULL;
    size_t cur_len = 0, cap = MAX_DOCS;

    c->docs = cr_arena_alloc(gen_arena(), cap * sizeof *c->docs);
    c->keys = cr_arena_alloc(gen_arena(), cap * sizeof *c->keys);
    c->n = 0;
    assert_int_equal(catalog_coll_get(t, DB, c->def.name, gen_arena(), &c->def), 0);
    do {
        struct doc_scan_query q = {NULL, false, 7, cur, cur_len};
        struct doc_page pg;

        assert_int_equal(doc_scan(t, &c->def, &q, gen_arena(), &pg), 0);
        for (size_t i = 0; i < pg.n; i++) {
            assert_true(c->n < cap);
            assert_int_equal(value_clone(&pg.docs[i].body, gen_arena(), &c->docs[c->n]), 0);
            c->keys[c->n] = pg.docs[i].key;
            assert_int_equal(value_clone(&pg.docs[i].key.id, gen_arena(), &c->keys[c->n].id), 0);
            assert_int_equal(value_clone(&pg.docs[i].key.pk, gen_arena(), &c->keys[c->n].pk), 0);
            c->n++;
        }
        cur = pg.next;
        cur_len = pg.next_len;
    } while (cur_len);
    storage_read_end(t);
}

static bool in_partition(const struct doc_key *k, const struct doc_key *part)
{
    return !part || (k->has_pk == part->has_pk && (!k->has_pk || value_equal(&k->pk, &part->pk)));
}

static void run_full(const struct coll *c, const char *text, const struct query *q,
                     const struct doc_key *part, struct value **out, size_t *nout)
{
    struct value *docs = cr_arena_alloc(gen_arena(), (c->n + 1) * sizeof *docs);
    struct all_src s = {docs, 0, 0};
    struct sql_source src = {&s, gen_all_next};
    struct sql_query *sq;
    struct sql_err err;

    for (size_t i = 0; i < c->n; i++)
        if (in_partition(&c->keys[i], part))
            docs[s.n++] = c->docs[i];
    assert_int_equal(sql_parse(gen_arena(), text, strlen(text), &sq, &err), 0);
    assert_int_equal(
        sql_exec(sq, q->g.params, q->g.n_params, &src, 0, gen_arena(), out, nout, &err), 0);
}

/* Counts the documents the source yields. */
struct counting {
    struct sql_source in;
    size_t n;
};

static int count_next(void *ctx, const struct value **doc)
{
    struct counting *c = ctx;
    int rc = c->in.next(c->in.ctx, doc);

    c->n += rc == 1;
    return rc;
}

/* The planned run over storage, its results deep-copied. */
static void run_planned(const struct coll *c, const struct query *q, const struct sql_query *sq,
                        const struct sql_plan *plan, const struct sql_storage_opts *o,
                        struct value **out, size_t *nout)
{
    struct storage_txn *t = fx_read(&F);
    struct sql_storage *s;
    struct counting cnt = {{NULL, NULL}, 0};
    struct sql_source src = {&cnt, count_next};
    struct sql_run r;
    struct sql_err err;
    const struct value *row;
    size_t cap = 16;
    int rc;

    assert_int_equal(sql_storage_source(t, &c->def, plan, o, gen_arena(), &s, &cnt.in), 0);
    ST.fallback += sql_storage_fallback(s);
    if (sql_run_init(&r, sq, q->g.params, q->g.n_params, &src, 0, &err) < 0)
        fail_case(c, q, plan, err.msg);
    sql_storage_set_ordered(s, &r);
    *out = cr_arena_alloc(gen_arena(), cap * sizeof **out);
    *nout = 0;
    while ((rc = sql_run_next(&r, &row, &err)) == 1) {
        if (*nout == cap) {
            struct value *more = cr_arena_alloc(gen_arena(), 2 * cap * sizeof *more);

            memcpy(more, *out, cap * sizeof *more);
            *out = more;
            cap *= 2;
        }
        assert_int_equal(value_clone(row, gen_arena(), &(*out)[(*nout)++]), 0);
    }
    sql_run_close(&r);
    sql_storage_close(s);
    storage_read_end(t);
    if (rc < 0)
        fail_case(c, q, plan, err.msg);
    ST.read_plan += cnt.n;
    ST.read_full += c->n;
}

/* The ids the source yields, read in one go (stops = false) or stopped after random documents,
 * saved, and restored into a new source on a new transaction. */
static size_t read_ids(const struct coll *c, const struct query *q, const struct sql_plan *plan,
                       const struct sql_storage_opts *o, bool stops, const struct value **ids)
{
    struct storage_txn *t = fx_read(&F);
    struct sql_storage *s;
    struct sql_source src;
    const struct value *doc;
    size_t n = 0;
    int rc;

    assert_int_equal(sql_storage_source(t, &c->def, plan, o, gen_arena(), &s, &src), 0);
    while ((rc = src.next(src.ctx, &doc)) == 1) {
        const struct value *id = value_map_get(doc, "id", 2);
        struct value *copy = cr_arena_alloc(gen_arena(), sizeof *copy);

        if (n == MAX_DOCS || !id)
            fail_case(c, q, plan, "the source yields a document twice, or one without an id");
        assert_int_equal(value_clone(id, gen_arena(), copy), 0);
        ids[n++] = copy;
        if (stops && gen_rnd(3) == 0) {
            struct cr_buf pos;

            cr_buf_init(&pos);
            assert_int_equal(sql_storage_save(s, &pos), 0);
            sql_storage_close(s);
            storage_read_end(t);
            t = fx_read(&F);
            assert_int_equal(sql_storage_source(t, &c->def, plan, o, gen_arena(), &s, &src), 0);
            rc = sql_storage_restore(s, pos.data, pos.len);
            cr_buf_free(&pos);
            if (rc < 0)
                fail_case(c, q, plan, "a saved position does not restore");
            ST.restores++;
        }
    }
    sql_storage_close(s);
    storage_read_end(t);
    if (rc < 0)
        fail_case(c, q, plan, cr_strerror(rc));
    return n;
}

static void check_resume(const struct coll *c, const struct query *q, const struct sql_plan *plan,
                         const struct sql_storage_opts *o)
{
    const struct value *a[MAX_DOCS], *b[MAX_DOCS];
    size_t na = read_ids(c, q, plan, o, false, a), nb = read_ids(c, q, plan, o, true, b);

    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < i; j++)
            if (value_equal(a[i], a[j]))
                fail_case(c, q, plan, "the source yields a document twice");
    if (na != nb)
        fail_case(c, q, plan, "a restored source yields another number of documents");
    for (size_t i = 0; i < na; i++)
        if (!value_equal(a[i], b[i]))
            fail_case(c, q, plan, "a restored source yields other documents");
}

static void check_query(const struct coll *c, const struct query *q)
{
    struct sql_storage_opts o = {NULL, 1 + gen_rnd(8)};
    struct sql_query *sq;
    struct sql_err err;
    struct sql_plan plan;
    struct value *pv, *rv, *fv;
    size_t np, nr, nf;

    if (c->def.pk_path[0] && c->n && gen_rnd(4) == 0) {
        o.partition = &c->keys[gen_rnd((uint32_t)c->n)];
        ST.pinned++;
    }
    if (sql_parse(gen_arena(), q->full.s, q->full.n, &sq, &err) < 0)
        fail_case(c, q, NULL, err.msg);
    if (sql_plan(gen_arena(), sq, &c->def.policy, q->g.params, q->g.n_params, &plan, &err) < 0)
        fail_case(c, q, NULL, err.msg);
    ST.cases++;
    ST.by_access[plan.access]++;
    ST.ordered += plan.ordered;
    ST.dedup += plan.dedup;
    for (size_t i = 0; c->def.pk_path[0] && !o.partition && i < plan.n_points; i++)
        ST.where_pins += !strcmp(plan.points[i].path.text, c->def.pk_path);
    run_planned(c, q, sq, &plan, &o, &pv, &np);
    run_full(c, q->full.s, q, o.partition, &rv, &nr);
    run_full(c, q->cut.s, q, o.partition, &fv, &nf);
    if (q->grouped) {
        bool same = np == nr;

        for (size_t i = 0; same && i < np; i++)
            same = value_equal(&pv[i], &rv[i]);
        if (!same) {
            gen_show_rows("planned", pv, np);
            gen_show_rows("full scan", rv, nr);
            fail_case(c, q, &plan, "grouped results differ");
        }
    } else {
        if (np != nr || !gen_submultiset(pv, np, fv, nf)) {
            gen_show_rows("planned", pv, np);
            gen_show_rows("full scan", rv, nr);
            fail_case(c, q, &plan, "rows differ");
        }
        for (size_t i = 0; i < np && q->n_order; i++)
            for (size_t k = 0; k < q->n_order; k++) {
                char name[4] = {'k', (char)('0' + k), 0, 0};

                if (!gen_order_eq(value_map_get(&pv[i], name, 2), value_map_get(&rv[i], name, 2))) {
                    gen_show_rows("planned", pv, np);
                    gen_show_rows("full scan", rv, nr);
                    fail_case(c, q, &plan, "ORDER BY keys differ");
                }
            }
    }
    check_resume(c, q, &plan, &o);
}

static void run_case(uint64_t seed)
{
    struct policy pol;
    struct coll c;
    struct mutation *m;
    struct mutation_result *res;
    char name[32];
    size_t n;

    memset(&c, 0, sizeof c);
    c.seed = seed;
    c.pol = &pol;
    gen_start(seed);
    gen_long_strings(seed % 2 == 0);
    n = 5 + gen_rnd(MAX_DOCS - 5);
    m = cr_arena_calloc(gen_arena(), n * sizeof *m);
    res = cr_arena_calloc(gen_arena(), n * sizeof *res);
    assert_non_null(m);
    assert_non_null(res);
    gen_policy(&pol);
    snprintf(name, sizeof name, "c%llu", (unsigned long long)seed);
    make_def(&pol, name, gen_rnd(3) == 0, &c.def);
    m[0].type = MUT_CREATE_COLLECTION;
    m[0].coll = c.def;
    apply_one(&m[0]);
    for (size_t i = 0; i < n; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].type = MUT_DOC_UPSERT;
        m[i].item = gen_doc(i);
        snprintf(m[i].coll.db, sizeof m[i].coll.db, "%s", DB);
        snprintf(m[i].coll.name, sizeof m[i].coll.name, "%s", name);
    }
    assert_int_equal(fx_apply(&F, m, n, res), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(res[i].code, 0);
    read_all(&c);
    assert_int_equal(c.n, n);
    for (int i = 0; i < QUERIES; i++) {
        struct query q;

        gen_query(&q, &pol.ix);
        check_query(&c, &q);
    }
    memset(&m[0], 0, sizeof m[0]);
    m[0].type = MUT_DROP_COLLECTION;
    snprintf(m[0].coll.db, sizeof m[0].coll.db, "%s", DB);
    snprintf(m[0].coll.name, sizeof m[0].coll.name, "%s", name);
    apply_one(&m[0]);
    gen_reset();
    cr_arena_reset(&F.a);
}

static void test_storage_equals_full_scan(void **state)
{
    const char *one = getenv("PLAN_SEED");
    clock_t start = clock();
    size_t done = 0;

    (void)state;
    gen_init();
    fx_open(&F);
    if (one) {
        run_case(strtoull(one, NULL, 10));
        fx_close(&F);
        gen_free();
        return;
    }
    for (uint64_t seed = 1; seed <= COLLECTIONS; seed++, done++) {
        if ((double)(clock() - start) / CLOCKS_PER_SEC > TIME_LIMIT) {
            fprintf(stderr, "time limit: stopped after %zu collections\n", done);
            break;
        }
        run_case(seed);
    }
    fx_close(&F);
    gen_free();
    fprintf(stderr,
            "%zu queries over %zu collections: full scan %zu, empty %zu, index %zu (dedup %zu), "
            "composite %zu; storage fallbacks %zu; ordered by the plan %zu; partitions pinned by "
            "the caller %zu, by WHERE %zu; positions restored %zu; documents read %zu of %zu\n",
            ST.cases, done, ST.by_access[SQL_FULL_SCAN], ST.by_access[SQL_EMPTY],
            ST.by_access[SQL_INDEX_SCAN], ST.dedup, ST.by_access[SQL_COMPOSITE], ST.fallback,
            ST.ordered, ST.pinned, ST.where_pins, ST.restores, ST.read_plan, ST.read_full);
    /* The property must have been exercised on every kind of plan. */
    assert_true(ST.by_access[SQL_INDEX_SCAN] > ST.cases / 10);
    assert_true(ST.by_access[SQL_COMPOSITE] > 10);
    assert_true(ST.dedup > 10);
    assert_true(ST.ordered > 20);
    assert_true(ST.pinned > 10);
    assert_true(ST.where_pins > 10);
    assert_true(ST.restores > 100);
}

/* A plan storage cannot serve (made for another policy) falls back to a full scan, with the
 * run's sort; positions of another access path or malformed ones are refused. */
static void test_fallback_and_bad_positions(void **state)
{
    static const char *const inc[] = {"/*"}, *const exc[] = {"/a/?"};
    static const struct composite_path ab[] = {{"/a", false}, {"/b", false}};
    static const struct composite_def comp[] = {{0, ab, 2}};
    static const struct indexing_policy everything = {true, NULL, 0, NULL, 0, comp, 1};
    static const struct policy pol = {
        {true, inc, 1, exc, 1, NULL, 0}, {NULL}, {NULL}, {{0}}, {{{0}}}};
    static const char *const queries[] = {
        "SELECT VALUE c.id FROM c WHERE c.a > 1 ORDER BY c.a DESC",
        "SELECT VALUE c.id FROM c WHERE c.a = 2 AND c.b > 0 ORDER BY c.b",
    };
    static const int av[] = {0, 1, 5, 9, 2};
    static const int want[][3] = {{3, 2, 4}, {4, -1, -1}};
    struct coll c;
    struct mutation m;
    struct sql_storage_opts o = {NULL, 1};

    (void)state;
    gen_init();
    fx_open(&F);
    memset(&c, 0, sizeof c);
    c.pol = &pol;
    make_def(&pol, "fb", false, &c.def);
    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_COLLECTION;
    m.coll = c.def;
    apply_one(&m);
    for (int i = 0; i < 5; i++) {
        char id[8];

        snprintf(id, sizeof id, "d%d", i);
        memset(&m, 0, sizeof m);
        m.type = MUT_DOC_UPSERT;
        snprintf(m.coll.db, sizeof m.coll.db, "%s", DB);
        snprintf(m.coll.name, sizeof m.coll.name, "fb");
        m.item = fx_map(&F, 3, "id", value_string(cr_arena_strndup(&F.a, id, 2), 2), "a",
                        value_int(av[i]), "b", value_int(i == 4 ? 1 : 5));
        apply_one(&m);
    }
    read_all(&c);
    for (size_t k = 0; k < 2; k++) {
        struct sql_query *sq;
        struct sql_plan plan;
        struct sql_err err;
        struct storage_txn *t = fx_read(&F);
        struct sql_storage *s, *other;
        struct sql_source src, osrc;
        struct sql_run r;
        struct cr_buf pos;
        const struct value *row;
        size_t n = 0;

        assert_int_equal(sql_parse(gen_arena(), queries[k], strlen(queries[k]), &sq, &err), 0);
        assert_int_equal(sql_plan(gen_arena(), sq, &everything, NULL, 0, &plan, &err), 0);
        assert_int_equal(plan.access, k ? SQL_COMPOSITE : SQL_INDEX_SCAN);
        assert_true(plan.ordered);
        assert_int_equal(sql_storage_source(t, &c.def, &plan, &o, gen_arena(), &s, &src), 0);
        assert_true(sql_storage_fallback(s));
        assert_int_equal(sql_run_init(&r, sq, NULL, 0, &src, 0, &err), 0);
        sql_storage_set_ordered(s, &r);
        while (sql_run_next(&r, &row, &err) == 1) {
            char id[8];

            assert_true(n < 3 && want[k][n] >= 0);
            snprintf(id, sizeof id, "d%d", want[k][n++]);
            assert_int_equal(row->type, VT_STRING);
            assert_memory_equal(row->u.s.ptr, id, 2);
        }
        assert_int_equal(n, k ? 1 : 3);
        sql_run_close(&r);
        /* A full scan's position does not fit an index plan's source, nor garbage any source. */
        cr_buf_init(&pos);
        assert_int_equal(sql_storage_save(s, &pos), 0);
        plan.access = SQL_EMPTY;
        assert_int_equal(sql_storage_source(t, &c.def, &plan, &o, gen_arena(), &other, &osrc), 0);
        assert_int_equal(sql_storage_restore(other, pos.data, pos.len), CR_ECURSOR);
        assert_int_equal(sql_storage_restore(s, pos.data, pos.len - 1), CR_ECURSOR);
        pos.data[0] ^= 0xFF;
        assert_int_equal(sql_storage_restore(s, pos.data, pos.len), CR_ECURSOR);
        cr_buf_free(&pos);
        sql_storage_close(other);
        sql_storage_close(s);
        storage_read_end(t);
    }
    fx_close(&F);
    gen_free();
}

/* Long strings sharing their first bytes are cut to one key prefix in the index and come in hash
 * order there: an ORDER BY over a string range must still come out sorted. */
static void test_long_values_sorted(void **state)
{
    static const struct policy pol = {
        {true, NULL, 0, NULL, 0, NULL, 0}, {NULL}, {NULL}, {{0}}, {{{0}}}};
    static const char *const queries[] = {
        "SELECT VALUE c.a FROM c WHERE c.a > \"\" ORDER BY c.a",
        "SELECT VALUE c.a FROM c WHERE STARTSWITH(c.a, \"x\") ORDER BY c.a DESC",
    };
    struct coll c;
    struct mutation m;

    (void)state;
    gen_init();
    fx_open(&F);
    memset(&c, 0, sizeof c);
    c.pol = &pol;
    make_def(&pol, "long", false, &c.def);
    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_COLLECTION;
    m.coll = c.def;
    apply_one(&m);
    for (int i = 0; i < 26; i++) {
        char id[8], *a = cr_arena_alloc(&F.a, 200);

        snprintf(id, sizeof id, "d%02d", i);
        memset(a, 'x', 200);
        a[199] = (char)('a' + (i * 7) % 26); /* distinct, written out of order */
        memset(&m, 0, sizeof m);
        m.type = MUT_DOC_UPSERT;
        snprintf(m.coll.db, sizeof m.coll.db, "%s", DB);
        snprintf(m.coll.name, sizeof m.coll.name, "long");
        m.item = fx_map(&F, 2, "id", value_string(cr_arena_strndup(&F.a, id, 3), 3), "a",
                        value_string(a, 200));
        apply_one(&m);
    }
    read_all(&c);
    for (size_t k = 0; k < 2; k++) {
        struct sql_query *sq;
        struct sql_plan plan;
        struct sql_err err;
        struct storage_txn *t = fx_read(&F);
        struct sql_storage *s;
        struct sql_source src;
        struct sql_run r;
        const struct value *row;
        struct sql_storage_opts o = {NULL, 5};
        size_t n = 0;

        assert_int_equal(sql_parse(gen_arena(), queries[k], strlen(queries[k]), &sq, &err), 0);
        assert_int_equal(sql_plan(gen_arena(), sq, &c.def.policy, NULL, 0, &plan, &err), 0);
        assert_int_equal(plan.access, SQL_INDEX_SCAN);
        assert_true(plan.ordered);
        assert_int_equal(sql_storage_source(t, &c.def, &plan, &o, gen_arena(), &s, &src), 0);
        assert_int_equal(sql_run_init(&r, sq, NULL, 0, &src, 0, &err), 0);
        sql_storage_set_ordered(s, &r);
        while (sql_run_next(&r, &row, &err) == 1) {
            assert_int_equal(row->type, VT_STRING);
            assert_int_equal(row->u.s.len, 200);
            assert_int_equal(row->u.s.ptr[199], k ? 'z' - (int)n : 'a' + (int)n);
            n++;
        }
        assert_int_equal(n, 26);
        sql_run_close(&r);
        sql_storage_close(s);
        storage_read_end(t);
    }
    fx_close(&F);
    gen_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_equals_full_scan),
        cmocka_unit_test(test_fallback_and_bad_positions),
        cmocka_unit_test(test_long_values_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
