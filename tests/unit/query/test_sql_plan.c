/*
 * query/sql_plan.c: EXPLAIN's text for representative queries — which index is chosen and why —
 * type-bounded ranges, parameters, composite indexes matched forwards and reversed, bad index
 * descriptions, and the executor's ordered source (no sort, streaming under TOP).
 */
#include "query/sql.h"
#include "common/error.h"
#include "sql_memcoll.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct cr_arena A;

static int setup(void **state)
{
    (void)state;
    cr_arena_init(&A, 4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_arena_free(&A);
    return 0;
}

/* Every path indexed, and a composite index (/a ASC, /b DESC); the composite alone; nothing. */
static const struct composite_path AB[] = {{"/a", false}, {"/b", true}};
static const struct composite_def COMP_AB[] = {{0, AB, 2}};
static const struct indexing_policy WITH_AB = {true, NULL, 0, NULL, 0, COMP_AB, 1};
static const struct indexing_policy ONLY_AB = {false, NULL, 0, NULL, 0, COMP_AB, 1};
static const struct indexing_policy NO_PATHS = {false, NULL, 0, NULL, 0, NULL, 0};

static struct sql_plan plan_of(const char *q, const struct indexing_policy *ix,
                               const struct sql_param *p, size_t np)
{
    struct sql_query *sq;
    struct sql_err err;
    struct sql_plan plan;

    if (sql_parse(&A, q, strlen(q), &sq, &err) < 0)
        fail_msg("%s: %s", q, err.msg);
    if (sql_plan(&A, sq, ix, p, np, &plan, &err) < 0)
        fail_msg("%s: %s", q, err.msg);
    return plan;
}

static const char *explain(const char *q, const struct indexing_policy *ix,
                           const struct sql_param *p, size_t np)
{
    struct sql_plan plan = plan_of(q, ix, p, np);
    struct cr_buf b;
    char *s;

    cr_buf_init(&b);
    assert_int_equal(sql_explain(&plan, &b), 0);
    s = cr_arena_strndup(&A, (const char *)b.data, b.len);
    cr_buf_free(&b);
    return s;
}

static void expect(const char *q, const struct indexing_policy *ix, const struct sql_param *p,
                   size_t np, const char *want)
{
    const char *got = explain(q, ix, p, np);

    if (strcmp(got, want))
        fail_msg("%s\n--- want\n%s--- got\n%s", q, want, got);
}

/* Equality beats a range; the candidates line says what else was usable. */
static void test_equality_over_range(void **state)
{
    (void)state;
    expect("SELECT * FROM c WHERE c.age > 18 AND c.city = 'Oslo'", &WITH_AB, NULL, 0,
           "access: index /city\n"
           "ranges: = \"Oslo\"\n"
           "scan: ascending\n"
           "order: none\n"
           "filter: ((c.age > 18) AND (c.city = \"Oslo\"))\n"
           "candidates: index /city: 1 equal, 1 range; index /age: 0 equal, one-sided range, 1 "
           "range\n");
    /* A bounded range (BETWEEN, STARTSWITH) beats a one-sided one. */
    expect("SELECT * FROM c WHERE c.n > 3 AND STARTSWITH(c.name, 'ab')", &WITH_AB, NULL, 0,
           "access: index /name\n"
           "ranges: string [\"ab\" .. \"ac\")\n"
           "scan: ascending\n"
           "order: none\n"
           "filter: ((c.n > 3) AND STARTSWITH(c.name, \"ab\"))\n"
           "candidates: index /name: 0 equal, bounded range, 1 range; index /n: 0 equal, "
           "one-sided range, 1 range\n");
    /* Fewer points beat more. */
    expect("SELECT * FROM c WHERE c.x IN (1, 2) AND c.y = 'k'", &WITH_AB, NULL, 0,
           "access: index /y\n"
           "ranges: = \"k\"\n"
           "scan: ascending\n"
           "order: none\n"
           "filter: ((c.x IN (1, 2)) AND (c.y = \"k\"))\n"
           "candidates: index /y: 1 equal, 1 range; index /x: 1 equal, 2 ranges\n");
}

/* Ranges hold one type each: Cosmos compares only within a type. */
static void test_type_bounded_ranges(void **state)
{
    static const struct {
        const char *where, *ranges;
    } cases[] = {
        {"c.a > 5", "number (5 ..)"},
        {"5 > c.a", "number (.. 5)"},
        {"c.a <= 'm'", "string (.. \"m\"]"},
        {"c.a != 2", "number (.. 2), number (2 ..)"},
        {"c.a != true", "= false"},
        {"c.a > false", "= true"},
        {"c.a >= null", "= null"},
        {"c.a BETWEEN 1 AND 3", "number [1 .. 3]"},
        {"c.a NOT BETWEEN 1 AND 3", "number (.. 1), number (3 ..)"},
        {"c.a IN (3, 'x', 1, 3.0)", "= 1, = 3, = \"x\""},
        {"NOT (c.a <= 5)", "number (5 ..)"},
        {"NOT (c.a = 1 OR c.a = 2) AND c.a < 4", "number (.. 1), number (1 .. 2), number (2 .. 4)"},
        {"c.a = 1 OR c.a > 5", "= 1, number (5 ..)"},
        {"c.a >= 1 AND c.a < 9 AND c.a > 2", "number (2 .. 9)"},
        {"NOT STARTSWITH(c.a, 'ab')", "string (.. \"ab\"), string [\"ac\" ..)"},
        {"STARTSWITH(c.a, '')", "string [\"\" ..)"},
        {"IS_NUMBER(c.a)", "number (..)"},
        {"IS_STRING(c.a) AND c.a < 'k'", "string (.. \"k\")"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char q[256], want[512];

        snprintf(q, sizeof q, "SELECT * FROM c WHERE %s", cases[i].where);
        struct sql_plan p = plan_of(q, &WITH_AB, NULL, 0);
        struct cr_buf b;

        assert_int_equal(p.access, SQL_INDEX_SCAN);
        assert_string_equal(p.path.text, "/a");
        cr_buf_init(&b);
        assert_int_equal(sql_explain(&p, &b), 0);
        snprintf(want, sizeof want, "access: index /a\nranges: %s\n", cases[i].ranges);
        if (b.len < strlen(want) || memcmp(b.data, want, strlen(want)))
            fail_msg("%s\n--- want\n%s--- got\n%.*s", q, want, (int)b.len, (const char *)b.data);
        cr_buf_free(&b);
    }
}

/* Never true: no document is read. Not usable: a full scan with the filter. */
static void test_empty_and_full_scan(void **state)
{
    static const char *const empty[] = {
        "c.a > 5 AND c.a < 3",
        "c.a BETWEEN 1 AND 'x'",
        "c.a > [1]",
        "c.a = undefined",
        "STARTSWITH(c.a, 5)",
        "ARRAY_CONTAINS(c.t, undefined) AND c.b = 1",
        "c.a = 1 AND NOT (c.a >= 1)",
    };
    static const char *const full[] = {
        "c.a = 1 OR c.b > 5",             /* OR across paths */
        "STARTSWITH(c.name, 'ab', true)", /* ignoring case */
        "IS_DEFINED(c.a)",                /* arrays and objects have no entry */
        "c.a NOT IN (1, 2)",              /* true for every other type */
        "c.a = [1, 2]",                   /* arrays are not in a scalar index */
        "c.a = c.b",
        "LOWER(c.a) = 'x'",
        "c.tags[0] = 'x'",
        "NOT ARRAY_CONTAINS(c.t, 1)",
        "ARRAY_CONTAINS(c.t, {'a': 1}, true)",
    };
    (void)state;
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        char q[256];

        snprintf(q, sizeof q, "SELECT * FROM c WHERE %s", empty[i]);
        if (plan_of(q, &WITH_AB, NULL, 0).access != SQL_EMPTY)
            fail_msg("%s: not empty", q);
    }
    for (size_t i = 0; i < sizeof full / sizeof *full; i++) {
        char q[256];

        snprintf(q, sizeof q, "SELECT * FROM c WHERE %s", full[i]);
        if (plan_of(q, &WITH_AB, NULL, 0).access != SQL_FULL_SCAN)
            fail_msg("%s: not a full scan", q);
    }
    expect("SELECT VALUE COUNT(1) FROM c WHERE c.a > 5 AND c.a < 3", &WITH_AB, NULL, 0,
           "access: empty (WHERE is never true)\n"
           "order: none\n"
           "filter: ((c.a > 5) AND (c.a < 3))\n");
    expect("SELECT * FROM c ORDER BY c.a", &WITH_AB, NULL, 0,
           "access: full scan\n"
           "order: sort\n"
           "filter: none\n");
}

/* Elements: ARRAY_CONTAINS and JOIN aliases read "[]" paths, each document once. */
static void test_array_elements(void **state)
{
    (void)state;
    expect("SELECT * FROM c WHERE ARRAY_CONTAINS(c.tags, 'x')", &WITH_AB, NULL, 0,
           "access: index /tags/[]\n"
           "ranges: = \"x\"\n"
           "scan: ascending\n"
           "dedup: yes\n"
           "order: none\n"
           "filter: ARRAY_CONTAINS(c.tags, \"x\")\n"
           "candidates: index /tags/[]: 1 equal, 1 range\n");
    expect("SELECT i.n FROM c JOIN i IN c.items WHERE i.price >= 10 AND i.price < 20", &WITH_AB,
           NULL, 0,
           "access: index /items/[]/price\n"
           "ranges: number [10 .. 20)\n"
           "scan: ascending\n"
           "dedup: yes\n"
           "order: none\n"
           "filter: ((i.price >= 10) AND (i.price < 20))\n"
           "candidates: index /items/[]/price: 0 equal, bounded range, 1 range\n");
    /* Two elements may answer two conditions: no intersection, one of them is used. */
    assert_int_equal(
        plan_of("SELECT * FROM c WHERE ARRAY_CONTAINS(c.t, 1) AND ARRAY_CONTAINS(c.t, 2)", &WITH_AB,
                NULL, 0)
            .n_ranges,
        1);
    assert_int_equal(
        plan_of("SELECT * FROM c WHERE ARRAY_CONTAINS(c.t, 1) OR ARRAY_CONTAINS(c.t, 2)", &WITH_AB,
                NULL, 0)
            .n_ranges,
        2);
    /* An equality on the document's own field beats one on array elements, whichever comes
     * first: an element value is the likelier to be shared by many documents. */
    expect("SELECT * FROM c WHERE ARRAY_CONTAINS(c.tags, 'x') AND c.k = 1", &WITH_AB, NULL, 0,
           "access: index /k\n"
           "ranges: = 1\n"
           "scan: ascending\n"
           "order: none\n"
           "filter: (ARRAY_CONTAINS(c.tags, \"x\") AND (c.k = 1))\n"
           "candidates: index /k: 1 equal, 1 range; index /tags/[]: 1 equal, 1 range\n");
    /* Two JOINs over one array bind different elements. */
    assert_int_equal(plan_of("SELECT c FROM c JOIN x IN c.t JOIN y IN c.t WHERE x = 1 AND y = 2",
                             &WITH_AB, NULL, 0)
                         .access,
                     SQL_INDEX_SCAN);
}

/* Parameters are values at plan time; without one, its predicate is not used. */
static void test_parameters(void **state)
{
    struct value five = value_int(5), m = value_string("m", 1), arr = {.type = VT_ARRAY};
    struct sql_param p5 = {"@x", 2, &five}, pm = {"@x", 2, &m}, pa = {"@x", 2, &arr};
    const char *q = "SELECT * FROM c WHERE c.a > @x";
    struct sql_plan p;

    (void)state;
    p = plan_of(q, &WITH_AB, &p5, 1);
    assert_int_equal(p.access, SQL_INDEX_SCAN);
    assert_int_equal(p.ranges[0].rank, value_rank(VT_INT));
    assert_int_equal(p.ranges[0].lo.kind, SQL_EXCL);
    assert_int_equal(p.ranges[0].lo.v.u.i, 5);
    assert_int_equal(p.ranges[0].hi.kind, SQL_OPEN);
    p = plan_of(q, &WITH_AB, &pm, 1);
    assert_int_equal(p.ranges[0].rank, value_rank(VT_STRING));
    assert_int_equal(plan_of(q, &WITH_AB, &pa, 1).access, SQL_EMPTY);
    assert_int_equal(plan_of(q, &WITH_AB, NULL, 0).access, SQL_FULL_SCAN);
    expect("SELECT * FROM c WHERE c.a IN (@x, @x + 1)", &WITH_AB, &p5, 1,
           "access: index /a\n"
           "ranges: = 5, = 6\n"
           "scan: ascending\n"
           "order: none\n"
           "filter: (c.a IN (@x, (@x + 1)))\n"
           "candidates: index /a: 1 equal, 2 ranges\n");
}

/* STARTSWITH's upper bound: the prefix with trailing 0xFF bytes dropped and the last byte
 * incremented, or none. */
static void test_prefix_bounds(void **state)
{
    static const struct {
        const char *prefix, *hi; /* hi NULL: open */
    } cases[] = {
        {"ab", "ac"},   {"a\xff", "b"},           {"a\xff\xff", "b"},
        {"\xff", NULL}, {"\xc2\xbf", "\xc2\xc0"}, {"", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct value v = value_string(cases[i].prefix, strlen(cases[i].prefix));
        struct sql_param p = {"@p", 2, &v};
        struct sql_plan plan =
            plan_of("SELECT * FROM c WHERE STARTSWITH(c.s, @p)", &WITH_AB, &p, 1);
        const struct sql_range *r = &plan.ranges[0];

        assert_int_equal(plan.n_ranges, 1);
        assert_int_equal(r->rank, value_rank(VT_STRING));
        assert_int_equal(r->lo.kind, SQL_INCL);
        assert_true(value_equal(&r->lo.v, &v));
        if (!cases[i].hi) {
            assert_int_equal(r->hi.kind, SQL_OPEN);
            continue;
        }
        assert_int_equal(r->hi.kind, SQL_EXCL);
        assert_int_equal(r->hi.v.u.s.len, strlen(cases[i].hi));
        assert_memory_equal(r->hi.v.u.s.ptr, cases[i].hi, strlen(cases[i].hi));
    }
}

/* ORDER BY from the index only when WHERE keeps every passing document in it. */
static void test_order_by(void **state)
{
    (void)state;
    expect("SELECT * FROM c WHERE c.a < 'm' ORDER BY c.a DESC", &WITH_AB, NULL, 0,
           "access: index /a\n"
           "ranges: string (.. \"m\")\n"
           "scan: descending\n"
           "order: as read (no sort)\n"
           "filter: (c.a < \"m\")\n"
           "candidates: index /a: 0 equal, one-sided range, 1 range, ordered\n");
    /* Ranges are listed in reading order. */
    expect("SELECT * FROM c WHERE c.a IN (1, 'x', 3) ORDER BY c.a DESC", &WITH_AB, NULL, 0,
           "access: index /a\n"
           "ranges: = \"x\", = 3, = 1\n"
           "scan: descending\n"
           "order: as read (no sort)\n"
           "filter: (c.a IN (1, \"x\", 3))\n"
           "candidates: index /a: 1 equal, 3 ranges, ordered\n");
    /* A key bound to one value orders nothing. */
    expect("SELECT * FROM c WHERE c.k = 1 ORDER BY c.k, c.a", &WITH_AB, NULL, 0,
           "access: index /k\n"
           "ranges: = 1\n"
           "scan: ascending\n"
           "order: sort\n"
           "filter: (c.k = 1)\n"
           "candidates: index /k: 1 equal, 1 range\n");
    assert_true(
        plan_of("SELECT * FROM c WHERE c.k = 1 ORDER BY c.k DESC", &NO_PATHS, NULL, 0).ordered);
    /* Among ranges of one strength, the one that gives the order. */
    expect("SELECT * FROM c WHERE c.x > 1 AND c.y > 2 ORDER BY c.y", &WITH_AB, NULL, 0,
           "access: index /y\n"
           "ranges: number (2 ..)\n"
           "scan: ascending\n"
           "order: as read (no sort)\n"
           "filter: ((c.x > 1) AND (c.y > 2))\n"
           "candidates: index /y: 0 equal, one-sided range, 1 range, ordered; index /x: 0 equal, "
           "one-sided range, 1 range\n");
    /* A JOIN's element path never gives the order. */
    assert_false(
        plan_of("SELECT c FROM c JOIN t IN c.t WHERE t > 1 ORDER BY t", &WITH_AB, NULL, 0).ordered);
}

/* Composite (/a ASC, /b DESC): equality prefix, then a range; forwards or all reversed. */
static void test_composite(void **state)
{
    (void)state;
    expect("SELECT * FROM c WHERE c.a = 1 AND c.b > 2 ORDER BY c.b DESC", &WITH_AB, NULL, 0,
           "access: composite #0 (/a ASC, /b DESC)\n"
           "equal: /a = 1\n"
           "ranges: /b number (2 ..)\n"
           "scan: forward\n"
           "order: as read (no sort)\n"
           "filter: ((c.a = 1) AND (c.b > 2))\n"
           "candidates: composite #0 (/a ASC, /b DESC): 1 equal, one-sided range, 1 range, "
           "ordered; index /a: 1 equal, 1 range; index /b: 0 equal, one-sided range, 1 range, "
           "ordered\n");
    expect("SELECT * FROM c WHERE c.a = 1 AND c.b IN (5, 7) ORDER BY c.b", &WITH_AB, NULL, 0,
           "access: composite #0 (/a ASC, /b DESC)\n"
           "equal: /a = 1\n"
           "ranges: /b = 5, = 7\n"
           "scan: backward\n"
           "order: as read (no sort)\n"
           "filter: ((c.a = 1) AND (c.b IN (5, 7)))\n"
           "candidates: composite #0 (/a ASC, /b DESC): 1 equal, bounded range, 2 ranges, "
           "ordered; index /b: 1 equal, 2 ranges, ordered; index /a: 1 equal, 1 range\n");
    expect("SELECT * FROM c WHERE c.a = 1 AND c.b = 2", &WITH_AB, NULL, 0,
           "access: composite #0 (/a ASC, /b DESC)\n"
           "equal: /a = 1, /b = 2\n"
           "scan: forward\n"
           "order: none\n"
           "filter: ((c.a = 1) AND (c.b = 2))\n"
           "candidates: composite #0 (/a ASC, /b DESC): 2 equal, 0 ranges; index /a: 1 equal, 1 "
           "range; index /b: 1 equal, 1 range\n");
    /* Reversed as a whole: ORDER BY c.a DESC, c.b ASC. */
    expect("SELECT * FROM c WHERE IS_NUMBER(c.a) AND IS_STRING(c.b) ORDER BY c.a DESC, c.b ASC",
           &WITH_AB, NULL, 0,
           "access: composite #0 (/a ASC, /b DESC)\n"
           "ranges: /a number (..)\n"
           "scan: backward\n"
           "order: as read (no sort)\n"
           "filter: (IS_NUMBER(c.a) AND IS_STRING(c.b))\n"
           "candidates: composite #0 (/a ASC, /b DESC): 0 equal, whole type, 1 range, ordered; "
           "index /a: 0 equal, whole type, 1 range; index /b: 0 equal, whole type, 1 range\n");
    /* Mixed directions that are neither the index's nor all reversed: a sort. */
    assert_true(plan_of("SELECT * FROM c WHERE IS_NUMBER(c.a) AND IS_STRING(c.b) ORDER BY c.a, c.b",
                        &WITH_AB, NULL, 0)
                    .sort);
    /* /b unrestricted: documents without a scalar there have no composite entry but may pass. */
    expect("SELECT * FROM c WHERE c.a = 1 ORDER BY c.b", &WITH_AB, NULL, 0,
           "access: index /a\n"
           "ranges: = 1\n"
           "scan: ascending\n"
           "order: sort\n"
           "filter: (c.a = 1)\n"
           "candidates: index /a: 1 equal, 1 range\n");
    /* Composite indexes serve without automatic single-path ones. */
    assert_int_equal(plan_of("SELECT * FROM c WHERE c.a = 1 AND c.b > 0", &ONLY_AB, NULL, 0).access,
                     SQL_COMPOSITE);
    assert_int_equal(plan_of("SELECT * FROM c WHERE c.a = 1", &ONLY_AB, NULL, 0).access,
                     SQL_FULL_SCAN);
}

/* Include and exclude patterns decide which paths are usable. */
static void test_patterns(void **state)
{
    static const char *const inc_all[] = {"/*"}, *const exc_a[] = {"/a/?", "/o/*"};
    static const char *const exc_all[] = {"/*"}, *const inc_tags[] = {"/tags/[]/?", "/o/p/?"};
    static const struct indexing_policy no_a = {true, inc_all, 1, exc_a, 2, NULL, 0};
    static const struct indexing_policy only_tags = {true, inc_tags, 2, exc_all, 1, NULL, 0};

    (void)state;
    assert_string_equal(
        plan_of("SELECT * FROM c WHERE c.a = 1 AND c.b > 2", &no_a, NULL, 0).path.text, "/b");
    assert_int_equal(plan_of("SELECT * FROM c WHERE c.o.p = 1", &no_a, NULL, 0).access,
                     SQL_FULL_SCAN);
    assert_string_equal(
        plan_of("SELECT * FROM c WHERE c.a = 1 AND ARRAY_CONTAINS(c.tags, 2)", &only_tags, NULL, 0)
            .path.text,
        "/tags/[]");
    assert_string_equal(plan_of("SELECT * FROM c WHERE c.o.p = 1", &only_tags, NULL, 0).path.text,
                        "/o/p");
    assert_int_equal(plan_of("SELECT * FROM c WHERE c.o.q = 1", &only_tags, NULL, 0).access,
                     SQL_FULL_SCAN);
    /* Names that are not plain are quoted in paths. */
    assert_string_equal(plan_of("SELECT * FROM c WHERE c['x/y'] = 1", &WITH_AB, NULL, 0).path.text,
                        "/\"x/y\"");
}

static void test_bad_indexes(void **state)
{
    static const char *const bad[] = {"a/?", "/?", "/a/", "/a/?/b", "/*/x"};
    static const struct composite_path elems[] = {{"/a/[]", false}, {"/b", false}};
    static const struct composite_def comp[] = {{0, elems, 2}};
    static const struct indexing_policy bad_comp = {true, NULL, 0, NULL, 0, comp, 1};
    struct sql_query *sq;
    struct sql_plan p;
    struct sql_err err;

    (void)state;
    assert_int_equal(sql_parse(&A, "SELECT * FROM c", 15, &sq, &err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct indexing_policy ix = {true, &bad[i], 1, NULL, 0, NULL, 0};

        assert_int_equal(sql_plan(&A, sq, &ix, NULL, 0, &p, &err), CR_EINVAL);
        assert_non_null(strstr(err.msg, "bad index path pattern"));
    }
    assert_int_equal(sql_plan(&A, sq, &bad_comp, NULL, 0, &p, &err), CR_EINVAL);
    assert_non_null(strstr(err.msg, "bad composite index path '/a/[]'"));
}

/* A balanced OR of c.p<lo> = 1 ... c.p<hi - 1> = 1 (balanced: the tree's height stays small). */
static void or_tree(struct cr_buf *b, int lo, int hi)
{
    char t[32];

    if (hi - lo == 1) {
        snprintf(t, sizeof t, "c.p%d = 1", lo);
        assert_int_equal(cr_buf_append(b, t, strlen(t)), 0);
        return;
    }
    assert_int_equal(cr_buf_putc(b, '('), 0);
    or_tree(b, lo, (lo + hi) / 2);
    assert_int_equal(cr_buf_append(b, " OR ", 4), 0);
    or_tree(b, (lo + hi) / 2, hi);
    assert_int_equal(cr_buf_putc(b, ')'), 0);
}

/* Planning stays near-linear: a long IN list is one sort, and only the first paths are weighed. */
static void test_large_queries(void **state)
{
    struct cr_buf b;
    struct sql_plan p;
    const char *head = "SELECT * FROM c WHERE c.a IN (";

    (void)state;
    cr_buf_init(&b);
    assert_int_equal(cr_buf_append(&b, head, strlen(head)), 0);
    for (int i = 20000; i > 0; i--) {
        char t[16];

        snprintf(t, sizeof t, "%d%s", i % 15000, i > 1 ? ", " : ")");
        assert_int_equal(cr_buf_append(&b, t, strlen(t)), 0);
    }
    assert_int_equal(cr_buf_putc(&b, 0), 0);
    p = plan_of((const char *)b.data, &WITH_AB, NULL, 0);
    assert_int_equal(p.access, SQL_INDEX_SCAN);
    assert_int_equal(p.n_ranges, 15000);
    assert_int_equal(p.ranges[0].lo.v.u.i, 0);
    assert_int_equal(p.ranges[14999].lo.v.u.i, 14999);
    cr_buf_reset(&b);
    head = "SELECT * FROM c WHERE c.a = 1 AND ";
    assert_int_equal(cr_buf_append(&b, head, strlen(head)), 0);
    or_tree(&b, 0, 5000);
    assert_int_equal(cr_buf_putc(&b, 0), 0);
    p = plan_of((const char *)b.data, &WITH_AB, NULL, 0);
    assert_string_equal(p.path.text, "/a");
    assert_int_equal(p.n_cands, 1);
    cr_buf_free(&b);
}

/* Points: plain field paths WHERE binds to one value, whatever the access path (a source pins the
 * partition with them). */
static void test_points(void **state)
{
    struct sql_plan p;

    (void)state;
    p = plan_of("SELECT * FROM c WHERE c.pk = 5 AND c.a > 1 AND ARRAY_CONTAINS(c.t, 2)", &NO_PATHS,
                NULL, 0);
    assert_int_equal(p.access, SQL_FULL_SCAN);
    assert_int_equal(p.n_points, 1);
    assert_string_equal(p.points[0].path.text, "/pk");
    assert_int_equal(p.points[0].v.type, VT_INT);
    assert_int_equal(p.points[0].v.u.i, 5);
    p = plan_of("SELECT * FROM c WHERE c.pk IN (\"x\") AND NOT (c.o.q != true)", &WITH_AB, NULL, 0);
    assert_int_equal(p.n_points, 2);
    assert_string_equal(p.points[0].path.text, "/pk");
    assert_string_equal(p.points[1].path.text, "/o/q");
    assert_int_equal(
        plan_of("SELECT * FROM c WHERE c.pk = 5 OR c.pk = 6", &NO_PATHS, NULL, 0).n_points, 0);
    assert_int_equal(plan_of("SELECT * FROM c WHERE c.pk >= 5", &NO_PATHS, NULL, 0).n_points, 0);
}

static void test_range_contains(void **state)
{
    struct sql_plan p = plan_of("SELECT * FROM c WHERE c.a >= 1 AND c.a < 3", &WITH_AB, NULL, 0);
    struct value one = value_double(1.0), three = value_int(3), s = value_string("2", 1);

    (void)state;
    assert_int_equal(p.n_ranges, 1);
    assert_true(sql_range_contains(&p.ranges[0], &one));
    assert_false(sql_range_contains(&p.ranges[0], &three));
    assert_false(sql_range_contains(&p.ranges[0], &s));
    assert_false(sql_range_contains(&p.ranges[0], NULL));
}

/* An ordered source is not sorted again, and TOP stops reading it. */
struct counting {
    const struct value *docs;
    size_t n, i;
};

static int counting_next(void *ctx, const struct value **doc)
{
    struct counting *c = ctx;

    if (c->i == c->n)
        return 0;
    *doc = &c->docs[c->i++];
    return 1;
}

static void test_ordered_source_streams(void **state)
{
    struct value docs[4], *out;
    struct value_field f[4];
    struct counting c = {docs, 4, 0};
    struct sql_source src = {&c, counting_next};
    struct sql_query *sq;
    struct sql_run r;
    struct sql_err err;
    const struct value *v;
    size_t n;
    const char *q = "SELECT TOP 2 VALUE c.a FROM c ORDER BY c.a";

    (void)state;
    for (int i = 0; i < 4; i++) {
        static struct value vals[4];

        vals[i] = value_int(10 - i); /* descending: the run must not sort them */
        f[i] = (struct value_field){"a", 1, &vals[i]};
        docs[i] = (struct value){.type = VT_MAP, .u = {.map = {&f[i], 1}}};
    }
    assert_int_equal(sql_parse(&A, q, strlen(q), &sq, &err), 0);
    assert_int_equal(sql_run_init(&r, sq, NULL, 0, &src, 0, &err), 0);
    sql_run_set_ordered(&r);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 10);
    assert_int_equal(c.i, 1); /* streamed: one document read for the first row */
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 9);
    assert_int_equal(sql_run_next(&r, &v, &err), 0);
    assert_int_equal(c.i, 2);
    sql_run_close(&r);
    c.i = 0;
    assert_int_equal(sql_exec(sq, NULL, 0, &src, 0, &A, &out, &n, &err), 0);
    assert_int_equal(out[0].u.i, 7);
    assert_int_equal(c.i, 4);
}

/* The whole path: plan, read the in-memory collection's index, execute. */
static void test_plan_over_memcoll(void **state)
{
    static const char *const names[] = {"a", "id"};
    struct value docs[6], vals[6][2];
    struct value_field f[6][2];
    struct memcoll mc;
    struct memcoll_scan scan;
    struct sql_query *sq;
    struct sql_plan p;
    struct sql_err err;
    struct value *out;
    char msg[256];
    size_t n;
    const char *q = "SELECT TOP 2 VALUE c.id FROM c WHERE c.a >= 2 ORDER BY c.a DESC";

    (void)state;
    for (int i = 0; i < 6; i++) {
        static char ids[6][4];

        snprintf(ids[i], sizeof ids[i], "d%d", i);
        vals[i][0] = i == 5 ? value_string("9", 1) : value_int((i * 7) % 5); /* 0 2 4 1 3 "9" */
        vals[i][1] = value_string(ids[i], 2);
        for (int k = 0; k < 2; k++)
            f[i][k] = (struct value_field){names[k], strlen(names[k]), &vals[i][k]};
        docs[i] = (struct value){.type = VT_MAP, .u = {.map = {f[i], 2}}};
    }
    assert_int_equal(memcoll_init(&mc, docs, 6, &WITH_AB, msg, sizeof msg), 0);
    assert_int_equal(sql_parse(&A, q, strlen(q), &sq, &err), 0);
    assert_int_equal(sql_plan(&A, sq, &WITH_AB, NULL, 0, &p, &err), 0);
    assert_true(p.ordered);
    assert_int_equal(memcoll_scan_init(&scan, &mc, &p, msg, sizeof msg), 0);
    assert_int_equal(scan.n, 3); /* 4, 3, 2: numbers only, descending */
    assert_int_equal(memcoll_exec(&scan, &p, sq, NULL, 0, &A, &out, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out[0].u.s.ptr, "d2", 2);
    assert_memory_equal(out[1].u.s.ptr, "d4", 2);
    assert_int_equal(scan.pos, 2); /* streamed: the third was never read */
    memcoll_scan_close(&scan);
    memcoll_close(&mc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_equality_over_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_bounded_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_full_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_by, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_contains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordered_source_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_over_memcoll, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
