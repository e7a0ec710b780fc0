/*
 * Property test of the planner: planned execution equals the plain full scan. Each case makes a
 * random collection (nested documents of mixed types, missing fields, arrays of scalars and of
 * objects), a random indexing policy (everything, include or exclude patterns, or none) and random
 * composite indexes, held by the in-memory collection of sql_memcoll.c; then random queries (WHERE
 * with comparisons both ways round, BETWEEN, IN, STARTSWITH, ARRAY_CONTAINS, type checks, AND, OR,
 * NOT, literals or @parameters; JOINs; ORDER BY on indexed and unindexed paths; TOP, OFFSET and
 * LIMIT; DISTINCT; aggregates). Every query runs twice: over the documents the plan reads (in the
 * plan's order, the sort skipped when the plan says it is ordered), and over every document.
 *
 * What must hold, rows compared by value: with ORDER BY (whose keys each row carries, so ties can
 * be told apart), the same sequence of keys and rows that are all among the full scan's (ties
 * may come in another order, and TOP may cut a tie elsewhere); with GROUP BY or aggregates, the
 * same rows in the same order; otherwise the same number of rows, all among the full scan's (the
 * same multiset when nothing cuts). A failure prints the seed, the query, its parameters and the
 * plan. PLAN_SEED=n runs the one case n.
 */
#include "query/sql.h"
#include "common/error.h"
#include "sql_gen.h"
#include "sql_memcoll.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define COLLECTIONS 2000
#define QUERIES 10
#define MAX_DOCS 40
#define TIME_LIMIT 120 /* seconds of CPU: the cases run so far are reported, never a failure */

struct stats {
    size_t cases, by_access[4], ordered, reversed_multi, dedup, read_plan, read_full;
};

static struct stats ST;

static void fail_case(uint64_t seed, const struct policy *pol, const struct query *q,
                      const struct sql_plan *plan, const char *why)
{
    struct cr_buf b;

    cr_buf_init(&b);
    fprintf(stderr, "PLAN PROPERTY FAILED: %s\nseed: %llu (PLAN_SEED=%llu)\nquery: %s\n", why,
            (unsigned long long)seed, (unsigned long long)seed, q->full.s);
    for (size_t i = 0; i < q->g.n_params; i++) {
        struct text t = {{0}, 0};

        gen_add_value(&t, q->g.params[i].value);
        fprintf(stderr, "param %s = %s\n", q->g.names[i], t.s);
    }
    gen_print_policy(pol);
    if (plan && sql_explain(plan, &b) == 0)
        fprintf(stderr, "plan:\n%.*s", (int)b.len, (const char *)b.data);
    cr_buf_free(&b);
    fail();
}

static void run_full(const char *text, const struct query *q, const struct value *docs, size_t n,
                     struct value **out, size_t *nout)
{
    struct sql_query *sq;
    struct sql_err err;
    struct all_src s = {docs, n, 0};
    struct sql_source src = {&s, gen_all_next};

    assert_int_equal(sql_parse(gen_arena(), text, strlen(text), &sq, &err), 0);
    assert_int_equal(
        sql_exec(sq, q->g.params, q->g.n_params, &src, 0, gen_arena(), out, nout, &err), 0);
}

static void check_query(uint64_t seed, const struct policy *pol, const struct memcoll *mc,
                        const struct query *q)
{
    struct sql_query *sq;
    struct sql_err err;
    struct sql_plan plan;
    struct memcoll_scan scan;
    struct value *pv, *rv, *fv;
    size_t np, nr, nf;
    char why[512];
    int rc;

    if (sql_parse(gen_arena(), q->full.s, q->full.n, &sq, &err) < 0) {
        fprintf(stderr, "generated query does not parse: %s\n", err.msg);
        fail_case(seed, pol, q, NULL, "parse");
    }
    if (sql_plan(gen_arena(), sq, &pol->ix, q->g.params, q->g.n_params, &plan, &err) < 0)
        fail_case(seed, pol, q, NULL, err.msg);
    if (memcoll_scan_init(&scan, mc, &plan, why, sizeof why) < 0)
        fail_case(seed, pol, q, &plan, why);
    rc = memcoll_exec(&scan, &plan, sq, q->g.params, q->g.n_params, gen_arena(), &pv, &np, &err);
    ST.cases++;
    ST.by_access[plan.access]++;
    ST.ordered += plan.ordered;
    ST.dedup += plan.dedup;
    ST.reversed_multi += plan.ordered && plan.reverse && plan.n_ranges > 1 && scan.n > 1;
    ST.read_plan += scan.n;
    ST.read_full += mc->n_docs;
    memcoll_scan_close(&scan);
    if (rc < 0)
        fail_case(seed, pol, q, &plan, err.msg);
    run_full(q->full.s, q, mc->docs, mc->n_docs, &rv, &nr);
    run_full(q->cut.s, q, mc->docs, mc->n_docs, &fv, &nf);
    if (q->grouped) {
        bool same = np == nr;

        for (size_t i = 0; same && i < np; i++)
            same = value_equal(&pv[i], &rv[i]);
        if (!same) {
            gen_show_rows("planned", pv, np);
            gen_show_rows("full scan", rv, nr);
            fail_case(seed, pol, q, &plan, "grouped results differ");
        }
        return;
    }
    if (np != nr || !gen_submultiset(pv, np, fv, nf)) {
        gen_show_rows("planned", pv, np);
        gen_show_rows("full scan", rv, nr);
        fail_case(seed, pol, q, &plan, "rows differ");
    }
    for (size_t i = 0; i < np && q->n_order; i++)
        for (size_t k = 0; k < q->n_order; k++) {
            char name[4] = {'k', (char)('0' + k), 0, 0};

            if (!gen_order_eq(value_map_get(&pv[i], name, 2), value_map_get(&rv[i], name, 2))) {
                gen_show_rows("planned", pv, np);
                gen_show_rows("full scan", rv, nr);
                fail_case(seed, pol, q, &plan, "ORDER BY keys differ");
            }
        }
}

static void run_case(uint64_t seed)
{
    struct value docs[MAX_DOCS];
    struct policy pol;
    struct memcoll mc;
    char err[256];
    size_t n;

    gen_start(seed);
    n = 5 + gen_rnd(MAX_DOCS - 5);
    for (size_t i = 0; i < n; i++)
        docs[i] = gen_doc(i);
    gen_policy(&pol);
    if (memcoll_init(&mc, docs, n, &pol.ix, err, sizeof err) < 0) {
        fprintf(stderr, "seed %llu: %s\n", (unsigned long long)seed, err);
        fail();
    }
    for (int i = 0; i < QUERIES; i++) {
        struct query q;

        gen_query(&q, &pol.ix);
        check_query(seed, &pol, &mc, &q);
    }
    memcoll_close(&mc);
    gen_reset();
}

static void test_planned_equals_full_scan(void **state)
{
    const char *one = getenv("PLAN_SEED");
    clock_t start = clock();
    size_t done = 0;

    (void)state;
    gen_init();
    if (one) {
        run_case(strtoull(one, NULL, 10));
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
    gen_free();
    fprintf(
        stderr,
        "%zu queries over %zu collections: full scan %zu, empty %zu, index %zu (dedup %zu), "
        "composite %zu; ordered by the plan %zu (%zu reversed over several ranges); documents read "
        "%zu of %zu\n",
        ST.cases, done, ST.by_access[SQL_FULL_SCAN], ST.by_access[SQL_EMPTY],
        ST.by_access[SQL_INDEX_SCAN], ST.dedup, ST.by_access[SQL_COMPOSITE], ST.ordered,
        ST.reversed_multi, ST.read_plan, ST.read_full);
    /* The property must have been exercised on every kind of plan. */
    assert_true(ST.by_access[SQL_INDEX_SCAN] > ST.cases / 10);
    assert_true(ST.by_access[SQL_COMPOSITE] > 20);
    assert_true(ST.by_access[SQL_EMPTY] > 20);
    assert_true(ST.dedup > 20);
    assert_true(ST.ordered > 50);
    assert_true(ST.reversed_multi > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planned_equals_full_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
