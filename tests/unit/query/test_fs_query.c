/*
 * query/fs_query.c: Firestore structured queries compiled into the query language and run by its
 * executor over an in-memory source. Every operator with missing fields, nulls, NaN and mixed
 * types; the implicit ordering; cursors over multi-field orderings; offset, limit and
 * limitToLast; projections; aggregations; Firestore's validation errors. Then a differential
 * test: random documents and random structured queries, the compiled query's result — run over
 * a full scan, and planned over an indexed in-memory collection (sql_memcoll.c) — against a
 * direct implementation of Firestore's semantics written here.
 */
#include "query/fs_query.h"
#include "common/error.h"
#include "sql_memcoll.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ROOT "projects/p/databases/d/documents"
#define COLL ROOT "/coll"

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

/* ---- values ---- */

static struct value I(int64_t i) {
    return value_int(i);
}

static struct value
D(double d) {
    return value_double(d);
}

static struct value
S(const char *s) {
    return value_string(s, strlen(s));
}

static struct value
NUL(void) {
    return value_null();
}

static struct value
B(bool b) {
    return value_bool(b);
}

static struct value
TS(int64_t sec, int32_t nsec) {
    struct value v = {.type = VT_TIMESTAMP};

    v.u.ts.sec = sec;
    v.u.ts.nsec = nsec;
    return v;
}

static struct value
BY(const char *s) {
    return value_bytes(s, strlen(s));
}

static struct value
REF(const char *path) {
    struct value v = {.type = VT_REF};

    v.u.s.ptr = path;
    v.u.s.len = strlen(path);
    return v;
}

static struct value
GEO(double lat, double lng) {
    struct value v = {.type = VT_GEOPOINT};

    v.u.geo.lat = lat;
    v.u.geo.lng = lng;
    return v;
}

static struct value
ARR(size_t n, ...) {
    struct value v = {.type = VT_ARRAY};
    struct value *items = cr_arena_alloc(&A, (n ? n : 1) * sizeof *items);
    va_list ap;

    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        items[i] = va_arg(ap, struct value);
    va_end(ap);
    v.u.arr.items = items;
    v.u.arr.n = n;
    return v;
}

/* MAP(n, "k1", v1, "k2", v2, ...) */
static struct value
MAP(size_t n, ...) {
    struct value v = {.type = VT_MAP};
    struct value_field *f = cr_arena_alloc(&A, (n ? n : 1) * sizeof *f);
    va_list ap;

    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        struct value *x = cr_arena_alloc(&A, sizeof *x);

        *x = va_arg(ap, struct value);
        f[i].name = k;
        f[i].name_len = strlen(k);
        f[i].value = x;
    }
    va_end(ap);
    v.u.map.fields = f;
    v.u.map.n = n;
    return v;
}

/* A document of COLL: its __name__ and n fields ("k", v, ...). */
static struct value
DOC(const char *id, size_t n, ...) {
    struct value v = {.type = VT_MAP};
    struct value_field *f = cr_arena_alloc(&A, (n + 1) * sizeof *f);
    struct value *name = cr_arena_alloc(&A, sizeof *name);
    char buf[256];
    va_list ap;

    snprintf(buf, sizeof buf, COLL "/%s", id);
    *name = REF(cr_arena_strndup(&A, buf, strlen(buf)));
    f[0].name = FS_NAME_FIELD;
    f[0].name_len = strlen(FS_NAME_FIELD);
    f[0].value = name;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        struct value *x = cr_arena_alloc(&A, sizeof *x);

        *x = va_arg(ap, struct value);
        f[i + 1].name = k;
        f[i + 1].name_len = strlen(k);
        f[i + 1].value = x;
    }
    va_end(ap);
    v.u.map.fields = f;
    v.u.map.n = n + 1;
    return v;
}

/* ---- running ---- */

struct src {
    const struct value *docs;
    size_t n, i;
};

static int src_next(void *ctx, const struct value **doc)
{
    struct src *s = ctx;

    if (s->i == s->n)
        return 0;
    *doc = &s->docs[s->i++];
    return 1;
}

static struct fs_query base(void)
{
    struct fs_query q;

    memset(&q, 0, sizeof q);
    q.parent = ROOT;
    q.parent_len = strlen(ROOT);
    q.collection_id = "coll";
    q.collection_id_len = 4;
    q.limit = -1;
    return q;
}

static struct fs_path P(const char *s) {
    return (struct fs_path){s, strlen(s)};
}

static struct fs_filter
FF(const char *field, enum fs_op op, struct value v) {
    struct fs_filter f;

    memset(&f, 0, sizeof f);
    f.kind = FS_FIELD;
    f.op = op;
    f.field = P(field);
    f.value = v;
    return f;
}

static struct fs_filter
UF(const char *field, enum fs_op op) {
    struct fs_filter f;

    memset(&f, 0, sizeof f);
    f.kind = FS_UNARY;
    f.op = op;
    f.field = P(field);
    return f;
}

static struct fs_filter
COMP(enum fs_filter_kind kind, size_t n, ...) {
    struct fs_filter f, *subs = cr_arena_alloc(&A, n * sizeof *subs);
    va_list ap;

    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        subs[i] = va_arg(ap, struct fs_filter);
    va_end(ap);
    memset(&f, 0, sizeof f);
    f.kind = kind;
    f.subs = subs;
    f.n_subs = n;
    return f;
}

/* The document id (after the last '/') of a result's __name__. */
static void
put_id(const struct value *row, char *out, size_t cap, size_t *k)
{
    const struct value *n = value_map_get(row, FS_NAME_FIELD, strlen(FS_NAME_FIELD));
    const char *s, *slash;
    size_t len;

    assert_non_null(n);
    assert_int_equal(n->type, VT_REF);
    s = n->u.s.ptr;
    len = n->u.s.len;
    slash = s;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/')
            slash = s + i + 1;
    *k += (size_t)snprintf(out + *k, cap - *k, "%s%.*s", *k ? "," : "",
                           (int)(len - (size_t)(slash - s)), slash);
}

/* Runs q over docs: 0 with the ids of the results ("a,b,c") in out, or the compile error. */
static int run(const struct fs_query *q, const struct value *docs, size_t n, char *out, size_t cap,
               struct sql_err *err)
{
    struct fs_compiled c;
    struct src s = {docs, n, 0};
    struct sql_source src = {&s, src_next};
    struct value *rows;
    size_t nr, k = 0;
    int rc;

    out[0] = '\0';
    if ((rc = fs_compile(&A, q, &c, err)) < 0)
        return rc;
    /* the compiled query prints as the language's canonical text and parses back to itself */
    {
        struct cr_buf b;
        struct sql_query *back;

        cr_buf_init(&b);
        assert_int_equal(sql_print(c.q, &b), 0);
        if (sql_parse(&A, (const char *)b.data, b.len, &back, err) < 0 ||
            !sql_query_equal(c.q, back))
            fail_msg("printed query differs: %.*s", (int)b.len, (const char *)b.data);
        cr_buf_free(&b);
    }
    rc = sql_exec(c.q, c.params, c.n_params, &src, 0, &A, &rows, &nr, err);
    if (rc < 0)
        fail_msg("exec failed: %s\n%s", err->msg, c.text);
    for (size_t i = 0; i < nr; i++)
        put_id(&rows[c.reverse ? nr - 1 - i : i], out, cap, &k);
    return 0;
}

/* Plans run_planned made that read an index of a field, not the names' scope. */
static size_t INDEXED;

/* The same through the planner, over docs indexed as ix says. */
static int run_planned(const struct fs_query *q, const struct value *docs, size_t n,
                       const struct indexing_policy *ix, char *out, size_t cap, struct sql_err *err)
{
    struct fs_compiled c;
    struct sql_plan plan;
    struct memcoll m;
    struct memcoll_scan sc;
    struct value *rows;
    char msg[256];
    size_t nr, k = 0;
    int rc;

    out[0] = '\0';
    if ((rc = fs_compile(&A, q, &c, err)) < 0)
        return rc;
    if (sql_plan(&A, c.q, ix, c.params, c.n_params, &plan, err) < 0)
        fail_msg("plan failed: %s\n%s", err->msg, c.text);
    INDEXED += plan.access == SQL_COMPOSITE || plan.access == SQL_EMPTY ||
               (plan.access == SQL_INDEX_SCAN && strcmp(plan.path.text, "/__name__"));
    if (memcoll_init(&m, docs, n, ix, msg, sizeof msg) < 0)
        fail_msg("memcoll: %s", msg);
    if (memcoll_scan_init(&sc, &m, &plan, msg, sizeof msg) < 0)
        fail_msg("scan: %s\n%s", msg, c.text);
    rc = memcoll_exec(&sc, &plan, c.q, c.params, c.n_params, &A, &rows, &nr, err);
    if (rc < 0)
        fail_msg("planned exec failed: %s\n%s", err->msg, c.text);
    for (size_t i = 0; i < nr; i++)
        put_id(&rows[c.reverse ? nr - 1 - i : i], out, cap, &k);
    memcoll_scan_close(&sc);
    memcoll_close(&m);
    return 0;
}

static void expect_ids(const struct fs_query *q, const struct value *docs, size_t n,
                       const char *want)
{
    char got[2048];
    struct sql_err err;
    int rc = run(q, docs, n, got, sizeof got, &err);

    if (rc < 0)
        fail_msg("compile failed: %s", err.msg);
    if (strcmp(got, want)) {
        struct fs_compiled c;

        fs_compile(&A, q, &c, &err);
        fail_msg("got [%s], want [%s]\n%s", got, want, c.text);
    }
}

static void expect_error(const struct fs_query *q, const char *part)
{
    struct fs_compiled c;
    struct sql_err err;
    int rc = fs_compile(&A, q, &c, &err);

    if (rc != CR_EINVAL)
        fail_msg("expected an error with '%s', got %d (%s)", part, rc, rc ? err.msg : c.text);
    if (!strstr(err.msg, part))
        fail_msg("error '%s' lacks '%s'", err.msg, part);
}

static void where1(const struct value *docs, size_t n, struct fs_filter f, const char *want)
{
    struct fs_query q = base();

    q.where = &f;
    expect_ids(&q, docs, n, want);
}

/* ---- FS_COMPARE ---- */

static void test_fs_compare(void **state)
{
    static const char text[] = "SELECT VALUE [FS_COMPARE(1, \"a\"), FS_COMPARE(\"a\", 1.5), "
                               "FS_COMPARE([1], [1.0]), FS_COMPARE(null, false), "
                               "FS_COMPARE(c.missing, 1), FS_COMPARE({\"a\": 1}, [2]), "
                               "fs_compare(2, 10)] FROM c";
    struct value doc = MAP(0), *rows;
    struct src s = {&doc, 1, 0};
    struct sql_source src = {&s, src_next};
    struct sql_query *q;
    struct sql_err err;
    size_t n;
    static const int64_t want[] = {-1, 1, 0, -1, 1, -1};

    (void)state;
    assert_int_equal(sql_parse(&A, text, strlen(text), &q, &err), 0);
    assert_int_equal(sql_exec(q, NULL, 0, &src, 0, &A, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    /* the undefined comparison (a missing field) is left out of the array */
    assert_int_equal(rows[0].u.arr.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(rows[0].u.arr.items[i].type, VT_INT);
        assert_int_equal(rows[0].u.arr.items[i].u.i, want[i]);
    }
    assert_int_equal(sql_parse(&A, "SELECT VALUE FS_COMPARE(1) FROM c", 33, &q, &err), CR_EINVAL);
}

/* ---- operators ---- */

/* One field "a" of every kind; ids sort in this order. */
static size_t mixed(struct value *d)
{
    size_t n = 0;

    d[n++] = DOC("d00", 1, "a", NUL());
    d[n++] = DOC("d01", 1, "a", B(false));
    d[n++] = DOC("d02", 1, "a", B(true));
    d[n++] = DOC("d03", 1, "a", D(NAN));
    d[n++] = DOC("d04", 1, "a", I(-3));
    d[n++] = DOC("d05", 1, "a", D(1.0));
    d[n++] = DOC("d06", 1, "a", I(1));
    d[n++] = DOC("d07", 1, "a", D(2.5));
    d[n++] = DOC("d08", 1, "a", TS(10, 5));
    d[n++] = DOC("d09", 1, "a", S("abc"));
    d[n++] = DOC("d10", 1, "a", BY("\x01"));
    d[n++] = DOC("d11", 1, "a", REF(COLL "/x"));
    d[n++] = DOC("d12", 1, "a", GEO(1, 2));
    d[n++] = DOC("d13", 1, "a", ARR(2, I(1), I(2)));
    d[n++] = DOC("d14", 1, "a", MAP(1, "k", I(1)));
    d[n++] = DOC("d15", 1, "b", I(1)); /* no a */
    d[n++] = DOC("d16", 1, "a", ARR(2, S("x"), NUL()));
    d[n++] = DOC("d17", 1, "a", D(-0.0));
    return n;
}

static void test_equality(void **state)
{
    struct value d[32];
    size_t n = mixed(d);

    (void)state;
    /* numbers compare by value across int and double; -0 equals 0 */
    where1(d, n, FF("a", FS_EQ, I(1)), "d05,d06");
    where1(d, n, FF("a", FS_EQ, D(0.0)), "d17");
    where1(d, n, FF("a", FS_EQ, S("abc")), "d09");
    where1(d, n, FF("a", FS_EQ, B(false)), "d01");
    where1(d, n, FF("a", FS_EQ, TS(10, 5)), "d08");
    where1(d, n, FF("a", FS_EQ, BY("\x01")), "d10");
    where1(d, n, FF("a", FS_EQ, GEO(1, 2)), "d12");
    where1(d, n, FF("a", FS_EQ, REF(COLL "/x")), "d11");
    /* arrays and maps: whole-value equality */
    where1(d, n, FF("a", FS_EQ, ARR(2, I(1), I(2))), "d13");
    where1(d, n, FF("a", FS_EQ, ARR(2, I(2), I(1))), "");
    where1(d, n, FF("a", FS_EQ, MAP(1, "k", D(1.0))), "d14");
    /* == null and == NaN are IS_NULL and IS_NAN */
    where1(d, n, FF("a", FS_EQ, NUL()), "d00");
    where1(d, n, FF("a", FS_EQ, D(NAN)), "d03");
    where1(d, n, UF("a", FS_IS_NULL), "d00");
    where1(d, n, UF("a", FS_IS_NAN), "d03");
}

static void test_not_equal(void **state)
{
    struct value d[32];
    size_t n = mixed(d);

    (void)state;
    /* any type but the value's equal ones, never null or missing; ordered by a, then name */
    where1(d, n, FF("a", FS_NE, I(1)), "d01,d02,d03,d04,d17,d07,d08,d09,d10,d11,d12,d13,d16,d14");
    where1(d, n, FF("a", FS_NE, NUL()),
           "d01,d02,d03,d04,d17,d05,d06,d07,d08,d09,d10,d11,d12,d13,d16,d14");
    where1(d, n, UF("a", FS_IS_NOT_NULL),
           "d01,d02,d03,d04,d17,d05,d06,d07,d08,d09,d10,d11,d12,d13,d16,d14");
    where1(d, n, UF("a", FS_IS_NOT_NAN),
           "d01,d02,d04,d17,d05,d06,d07,d08,d09,d10,d11,d12,d13,d16,d14");
    where1(d, n, FF("a", FS_NE, D(NAN)),
           "d01,d02,d04,d17,d05,d06,d07,d08,d09,d10,d11,d12,d13,d16,d14");
    where1(d, n, FF("a", FS_NOT_IN, ARR(3, I(1), S("abc"), B(true))),
           "d01,d03,d04,d17,d07,d08,d10,d11,d12,d13,d16,d14");
    /* null among NOT_IN's values: nothing matches */
    where1(d, n, FF("a", FS_NOT_IN, ARR(2, I(1), NUL())), "");
}

static void test_ranges(void **state)
{
    struct value d[32];
    size_t n = mixed(d);

    (void)state;
    /* only values of the filter value's type; NaN is the lowest number */
    where1(d, n, FF("a", FS_LT, I(1)), "d03,d04,d17");
    where1(d, n, FF("a", FS_LE, I(1)), "d03,d04,d17,d05,d06");
    where1(d, n, FF("a", FS_GT, I(1)), "d07");
    where1(d, n, FF("a", FS_GE, D(1.0)), "d05,d06,d07");
    where1(d, n, FF("a", FS_GT, B(false)), "d02");
    where1(d, n, FF("a", FS_GE, S("")), "d09");
    where1(d, n, FF("a", FS_LT, TS(11, 0)), "d08");
    where1(d, n, FF("a", FS_GT, BY("")), "d10");
    where1(d, n, FF("a", FS_GT, GEO(0, 0)), "d12");
    where1(d, n, FF("a", FS_LE, REF(COLL "/y")), "d11");
    /* arrays and maps compare element by element, field by field, among themselves */
    where1(d, n, FF("a", FS_GT, ARR(1, I(1))), "d13,d16"); /* "x" > 1: strings after numbers */
    where1(d, n, FF("a", FS_LT, ARR(1, S("y"))), "d13,d16");
    where1(d, n, FF("a", FS_GE, ARR(0)), "d13,d16");
    where1(d, n, FF("a", FS_GT, MAP(0)), "d14");
    where1(d, n, FF("a", FS_LT, MAP(1, "k", I(0))), "");
}

static void test_in_and_contains(void **state)
{
    struct value d[32];
    size_t n = mixed(d);

    (void)state;
    where1(d, n, FF("a", FS_IN, ARR(3, I(1), S("abc"), NUL())), "d00,d05,d06,d09");
    where1(d, n, FF("a", FS_IN, ARR(1, ARR(2, I(1), I(2)))), "d13");
    where1(d, n, FF("a", FS_ARRAY_CONTAINS, I(2)), "d13");
    where1(d, n, FF("a", FS_ARRAY_CONTAINS, D(1.0)), "d13");
    where1(d, n, FF("a", FS_ARRAY_CONTAINS, NUL()), "d16");
    where1(d, n, FF("a", FS_ARRAY_CONTAINS, S("abc")), "");
    where1(d, n, FF("a", FS_ARRAY_CONTAINS_ANY, ARR(3, S("x"), I(2), I(9))), "d13,d16");
    where1(d, n, FF("a", FS_ARRAY_CONTAINS_ANY, ARR(1, I(9))), "");
}

static void test_composite_and_paths(void **state)
{
    struct value d[8];
    size_t n = 0;

    (void)state;
    d[n++] = DOC("p1", 2, "m", MAP(2, "x", I(1), "y.z", I(5)), "k", S("a"));
    d[n++] = DOC("p2", 2, "m", MAP(1, "x", I(2)), "k", S("b"));
    d[n++] = DOC("p3", 2, "m", S("not a map"), "k", S("a"));
    d[n++] = DOC("p4", 1, "k", S("c"));
    where1(d, n, FF("m.x", FS_EQ, I(1)), "p1");
    where1(d, n, FF("m.`y.z`", FS_EQ, I(5)), "p1");
    where1(d, n, FF("`k`", FS_EQ, S("c")), "p4");
    where1(d, n, COMP(FS_OR, 2, FF("m.x", FS_EQ, I(2)), FF("k", FS_EQ, S("c"))), "p2,p4");
    where1(d, n, COMP(FS_AND, 2, FF("k", FS_EQ, S("a")), FF("m.x", FS_GE, I(0))), "p1");
    where1(d, n,
           COMP(FS_OR, 2, COMP(FS_AND, 2, FF("k", FS_EQ, S("a")), FF("m.x", FS_EQ, I(1))),
                FF("k", FS_IN, ARR(2, S("b"), S("c")))),
           "p1,p2,p4");
    /* an inequality inside OR still orders by its field: documents without it drop out */
    where1(d, n, COMP(FS_OR, 2, FF("m.x", FS_GT, I(1)), FF("k", FS_EQ, S("c"))), "p2");
}

/* ---- ordering ---- */

static void test_order(void **state)
{
    struct value d[32];
    size_t n = mixed(d);
    struct fs_order o[2];
    struct fs_query q = base();
    struct fs_filter f;

    (void)state;
    /* Firestore's order across types; the document without a is left out */
    o[0] = (struct fs_order){P("a"), false};
    q.order_by = o;
    q.n_order = 1;
    expect_ids(&q, d, n, "d00,d01,d02,d03,d04,d17,d05,d06,d07,d08,d09,d10,d11,d12,d13,d16,d14");
    /* DESC: __name__ follows in the same direction */
    o[0].desc = true;
    expect_ids(&q, d, n, "d14,d16,d13,d12,d11,d10,d09,d08,d07,d06,d05,d17,d04,d03,d02,d01,d00");
    /* no order: by name */
    q.n_order = 0;
    expect_ids(&q, d, n, "d00,d01,d02,d03,d04,d05,d06,d07,d08,d09,d10,d11,d12,d13,d14,d15,d16,d17");
    /* order on another field with an inequality: b first, then a (implicit), then name */
    {
        struct value e[4];

        e[0] = DOC("e1", 2, "a", I(5), "b", I(2));
        e[1] = DOC("e2", 2, "a", I(3), "b", I(2));
        e[2] = DOC("e3", 2, "a", I(9), "b", I(1));
        e[3] = DOC("e4", 1, "a", I(7)); /* no b: out */
        f = FF("a", FS_GT, I(0));
        q.where = &f;
        o[0] = (struct fs_order){P("b"), true};
        q.n_order = 1;
        expect_ids(&q, e, 4, "e1,e2,e3");
        struct fs_compiled c;
        struct sql_err err;

        assert_int_equal(fs_compile(&A, &q, &c, &err), 0);
        assert_int_equal(c.n_order, 3);
        assert_string_equal(c.order[0].path, "b");
        assert_string_equal(c.order[1].path, "a");
        assert_true(c.order[1].desc);
        assert_string_equal(c.order[2].path, "__name__");
        assert_true(c.order[2].desc);
    }
}

static void test_multi_inequality_order(void **state)
{
    struct value d[4];
    struct fs_filter f = COMP(FS_AND, 2, FF("z", FS_GT, I(0)), FF("y", FS_LT, I(10)));
    struct fs_query q = base();
    struct fs_compiled c;
    struct sql_err err;

    (void)state;
    d[0] = DOC("a", 2, "y", I(2), "z", I(1));
    d[1] = DOC("b", 2, "y", I(1), "z", I(5));
    d[2] = DOC("c", 2, "y", I(1), "z", I(2));
    d[3] = DOC("d", 1, "y", I(1));
    q.where = &f;
    /* implicit: y, z in field path order, then __name__ */
    expect_ids(&q, d, 4, "c,b,a");
    assert_int_equal(fs_compile(&A, &q, &c, &err), 0);
    assert_int_equal(c.n_order, 3);
    assert_string_equal(c.order[0].path, "y");
    assert_string_equal(c.order[1].path, "z");
    /* field path order is by segments: a.b before `a-x` ('.' and '`' do not decide) */
    f = COMP(FS_AND, 2, FF("`a-x`", FS_GT, I(0)), FF("a.b", FS_GT, I(0)));
    assert_int_equal(fs_compile(&A, &q, &c, &err), 0);
    assert_string_equal(c.order[0].path, "a.b");
    assert_string_equal(c.order[1].path, "`a-x`");
}

/* ---- cursors ---- */

static size_t grid(struct value *d)
{
    size_t n = 0;

    /* a in 1..3, b in 1..2 */
    d[n++] = DOC("g1", 2, "a", I(1), "b", I(1));
    d[n++] = DOC("g2", 2, "a", I(1), "b", I(2));
    d[n++] = DOC("g3", 2, "a", I(2), "b", I(1));
    d[n++] = DOC("g4", 2, "a", I(2), "b", I(2));
    d[n++] = DOC("g5", 2, "a", I(3), "b", I(1));
    d[n++] = DOC("g6", 2, "a", I(3), "b", I(2));
    d[n++] = DOC("g7", 2, "a", S("s"), "b", I(1)); /* sorts after the numbers */
    return n;
}

static void test_cursors(void **state)
{
    struct value d[8];
    size_t n = grid(d);
    struct fs_order o[2] = {{P("a"), false}, {P("b"), true}};
    struct fs_query q = base();
    struct value v2[2] = {I(2), I(1)}, v1[1] = {I(2)};
    struct fs_cursor at = {v2, 2, true}, after = {v2, 2, false};
    struct fs_cursor p_at = {v1, 1, true}, p_after = {v1, 1, false};

    (void)state;
    q.order_by = o;
    q.n_order = 2;
    /* order: g2 g1 g4 g3 g6 g5 g7 (a asc, b desc) */
    expect_ids(&q, d, n, "g2,g1,g4,g3,g6,g5,g7");
    q.start_at = &at;
    expect_ids(&q, d, n, "g3,g6,g5,g7");
    q.start_at = &after;
    expect_ids(&q, d, n, "g6,g5,g7");
    q.start_at = &p_at; /* a prefix: everything with a >= 2, any b */
    expect_ids(&q, d, n, "g4,g3,g6,g5,g7");
    q.start_at = &p_after;
    expect_ids(&q, d, n, "g6,g5,g7");
    q.start_at = NULL;
    {
        struct fs_cursor end_at = {v2, 2, false}, end_before = {v2, 2, true};

        q.end_at = &end_at;
        expect_ids(&q, d, n, "g2,g1,g4,g3");
        q.end_at = &end_before;
        expect_ids(&q, d, n, "g2,g1,g4");
        q.end_at = &p_at; /* endBefore a prefix: before its first */
        expect_ids(&q, d, n, "g2,g1");
        q.end_at = &p_after; /* endAt a prefix: through its last */
        expect_ids(&q, d, n, "g2,g1,g4,g3");
        /* start and end together */
        q.start_at = &p_at;
        q.end_at = &end_at;
        expect_ids(&q, d, n, "g4,g3");
    }
    /* cursor values compare across types: a string is after every number */
    {
        struct value s1[1] = {S("")};
        struct fs_cursor c = {s1, 1, true};

        q.start_at = &c;
        q.end_at = NULL;
        expect_ids(&q, d, n, "g7");
        s1[0] = B(true); /* booleans before numbers: everything */
        expect_ids(&q, d, n, "g2,g1,g4,g3,g6,g5,g7");
    }
    /* on __name__: after a document, within the collection */
    {
        struct value nv[3] = {I(2), I(2), REF(COLL "/g4")};
        struct fs_cursor c = {nv, 3, false};

        q.start_at = &c;
        expect_ids(&q, d, n, "g3,g6,g5,g7");
        nv[2] = REF(ROOT "/other/g4");
        expect_error(&q, "Cursor position is outside the range of the original query");
        nv[2] = S("g4");
        expect_error(&q, "Cursor position is outside the range of the original query");
    }
    {
        struct value nv[4] = {I(2), I(2), REF(COLL "/g4"), I(1)};
        struct fs_cursor c = {nv, 4, false};

        q.start_at = &c;
        expect_error(&q, "Too many cursor values");
    }
}

static void test_offset_limit(void **state)
{
    struct value d[8];
    size_t n = grid(d);
    struct fs_order o[1] = {{P("b"), false}};
    struct fs_query q = base();

    (void)state;
    q.order_by = o;
    q.n_order = 1;
    /* b asc, then name: g1 g3 g5 g7 g2 g4 g6 */
    q.limit = 3;
    expect_ids(&q, d, n, "g1,g3,g5");
    q.offset = 2;
    expect_ids(&q, d, n, "g5,g7,g2");
    q.limit = -1;
    expect_ids(&q, d, n, "g5,g7,g2,g4,g6");
    q.limit = 0;
    expect_ids(&q, d, n, "");
    /* limitToLast: the last ones, in the query's order */
    q.offset = 0;
    q.limit = 3;
    q.limit_to_last = true;
    expect_ids(&q, d, n, "g2,g4,g6");
    {
        struct value v[1] = {I(1)};
        struct fs_cursor end = {v, 1, false};

        q.end_at = &end; /* endAt b = 1: the last three of those */
        expect_ids(&q, d, n, "g3,g5,g7");
        end.before = true;
        expect_ids(&q, d, n, "");
        q.end_at = NULL;
        q.start_at = &end; /* startAt(before) b = 1: everything; last three */
        end.before = true;
        expect_ids(&q, d, n, "g2,g4,g6");
    }
}

/* ---- projection ---- */

static void test_select(void **state)
{
    struct value d[2];
    struct fs_path sel[3] = {P("a.x"), P("c"), P("a.y")};
    struct fs_query q = base();
    struct fs_compiled c;
    struct sql_err err;
    struct src s = {d, 2, 0};
    struct sql_source src = {&s, src_next};
    struct value *rows;
    size_t nr;
    const struct value *a;

    (void)state;
    d[0] = DOC("s1", 3, "a", MAP(3, "x", I(1), "y", I(2), "z", I(3)), "b", I(4), "c", I(5));
    d[1] = DOC("s2", 2, "a", MAP(1, "z", I(3)), "b", I(4));
    q.has_select = true;
    q.select = sel;
    q.n_select = 3;
    assert_int_equal(fs_compile(&A, &q, &c, &err), 0);
    assert_int_equal(sql_exec(c.q, c.params, c.n_params, &src, 0, &A, &rows, &nr, &err), 0);
    assert_int_equal(nr, 2);
    assert_int_equal(rows[0].u.map.n, 3); /* __name__, a, c */
    a = value_map_get(&rows[0], "a", 1);
    assert_non_null(a);
    assert_int_equal(a->u.map.n, 2);
    assert_non_null(value_map_get(a, "x", 1));
    assert_non_null(value_map_get(a, "y", 1));
    assert_null(value_map_get(&rows[0], "b", 1));
    /* none of a's selected fields exists: no a at all */
    assert_int_equal(rows[1].u.map.n, 1);
    assert_non_null(value_map_get(&rows[1], FS_NAME_FIELD, strlen(FS_NAME_FIELD)));
    /* an empty projection: only the name */
    q.n_select = 0;
    s.i = 0;
    assert_int_equal(fs_compile(&A, &q, &c, &err), 0);
    assert_int_equal(sql_exec(c.q, c.params, c.n_params, &src, 0, &A, &rows, &nr, &err), 0);
    assert_int_equal(rows[0].u.map.n, 1);
}

/* ---- aggregations ---- */

static void aggregate(const struct fs_query *q, const struct value *docs, size_t n,
                      struct value *out)
{
    struct fs_compiled c;
    struct sql_err err;
    struct src s = {docs, n, 0};
    struct sql_source src = {&s, src_next};
    struct sql_run r;
    const struct value *row;
    struct fs_agg_state st;
    int rc;

    if (fs_compile(&A, q, &c, &err) < 0)
        fail_msg("compile: %s", err.msg);
    assert_int_equal(sql_run_init(&r, c.q, c.params, c.n_params, &src, 0, &err), 0);
    fs_agg_init(&st, &c);
    while ((rc = sql_run_next(&r, &row, &err)) == 1)
        fs_agg_add(&st, row);
    assert_int_equal(rc, 0);
    sql_run_close(&r);
    assert_int_equal(fs_agg_result(&st, &A, out), 0);
}

static const struct value *field(const struct value *m, const char *k)
{
    const struct value *v = value_map_get(m, k, strlen(k));

    assert_non_null(v);
    return v;
}

static void test_aggregations(void **state)
{
    struct value d[6], out;
    struct fs_agg g[5];
    struct fs_query q = base();

    (void)state;
    d[0] = DOC("x1", 2, "n", I(1), "m", D(1.5));
    d[1] = DOC("x2", 2, "n", I(2), "m", S("no"));
    d[2] = DOC("x3", 2, "n", I(3), "m", D(2.5));
    d[3] = DOC("x4", 1, "n", S("three"));
    d[4] = DOC("x5", 1, "k", I(1));
    memset(g, 0, sizeof g);
    g[0].kind = FS_COUNT;
    g[0].alias = "total";
    g[0].alias_len = 5;
    g[1].kind = FS_SUM;
    g[1].field = P("n");
    g[2].kind = FS_AVG;
    g[2].field = P("n");
    g[3].kind = FS_SUM;
    g[3].field = P("m");
    g[4].kind = FS_AVG;
    g[4].field = P("k.none");
    q.aggs = g;
    q.n_aggs = 5;
    aggregate(&q, d, 5, &out);
    assert_int_equal(field(&out, "total")->u.i, 5);
    /* integers sum to an integer; AVG is a double; non-numbers are ignored */
    assert_int_equal(field(&out, "field_2")->type, VT_INT);
    assert_int_equal(field(&out, "field_2")->u.i, 6);
    assert_int_equal(field(&out, "field_3")->type, VT_DOUBLE);
    assert_true(field(&out, "field_3")->u.d == 2.0);
    assert_int_equal(field(&out, "field_4")->type, VT_DOUBLE);
    assert_true(field(&out, "field_4")->u.d == 4.0);
    assert_int_equal(field(&out, "field_5")->type, VT_NULL);
    /* count up_to, and the limit applies before aggregating */
    g[0].up_to = 3;
    q.n_aggs = 2;
    aggregate(&q, d, 5, &out);
    assert_int_equal(field(&out, "total")->u.i, 3);
    q.limit = 2;
    g[0].up_to = 0;
    aggregate(&q, d, 5, &out);
    assert_int_equal(field(&out, "total")->u.i, 2);
    assert_int_equal(field(&out, "field_2")->u.i, 3);
    /* overflow turns the sum into a double; NaN makes NaN; empty SUM is integer 0 */
    q.limit = -1;
    d[0] = DOC("y1", 1, "n", I(INT64_MAX));
    d[1] = DOC("y2", 1, "n", I(1));
    aggregate(&q, d, 2, &out);
    assert_int_equal(field(&out, "field_2")->type, VT_DOUBLE);
    assert_true(field(&out, "field_2")->u.d == 9223372036854775808.0);
    d[1] = DOC("y2", 1, "n", D(NAN));
    aggregate(&q, d, 2, &out);
    assert_true(isnan(field(&out, "field_2")->u.d));
    aggregate(&q, d, 0, &out);
    assert_int_equal(field(&out, "total")->u.i, 0);
    assert_int_equal(field(&out, "field_2")->type, VT_INT);
    assert_int_equal(field(&out, "field_2")->u.i, 0);
    /* duplicate aliases */
    g[1].alias = "total";
    g[1].alias_len = 5;
    expect_error(&q, "unique");
}

/* ---- validation ---- */

static void test_errors(void **state)
{
    struct fs_query q = base();
    struct fs_filter f;
    struct fs_order o[2];
    struct value many[31];

    (void)state;
    q.where = &f;
    f = FF("a", FS_LT, NUL());
    expect_error(&q, "Null supports only");
    f = FF("a", FS_GE, D(NAN));
    expect_error(&q, "NaN supports only");
    f = FF("a..b", FS_EQ, I(1));
    expect_error(&q, "Invalid field path");
    f = FF("`a", FS_EQ, I(1));
    expect_error(&q, "Invalid field path");
    f = FF("1a", FS_EQ, I(1));
    expect_error(&q, "Invalid field path");
    f = FF("a", FS_IN, ARR(0));
    expect_error(&q, "non-empty array");
    f = FF("a", FS_IN, I(1));
    expect_error(&q, "non-empty array");
    for (size_t i = 0; i < 31; i++)
        many[i] = I((int64_t)i);
    f = FF("a", FS_IN, (struct value){.type = VT_ARRAY, .u = {.arr = {many, 31}}});
    expect_error(&q, "disjunctions");
    f = FF("a", FS_IN, (struct value){.type = VT_ARRAY, .u = {.arr = {many, 30}}});
    {
        struct value d[1] = {DOC("z", 1, "a", I(29))};

        expect_ids(&q, d, 1, "z");
    }
    /* 6 x 6 = 36 terms */
    f = COMP(
        FS_AND, 2, FF("a", FS_IN, (struct value){.type = VT_ARRAY, .u = {.arr = {many, 6}}}),
        FF("b", FS_ARRAY_CONTAINS_ANY, (struct value){.type = VT_ARRAY, .u = {.arr = {many, 6}}}));
    expect_error(&q, "disjunctions");
    f = FF("a", FS_NOT_IN, (struct value){.type = VT_ARRAY, .u = {.arr = {many, 11}}});
    expect_error(&q, "up to 10");
    f = COMP(FS_AND, 2, FF("a", FS_NE, I(1)), FF("b", FS_NE, I(1)));
    expect_error(&q, "at most one");
    f = COMP(FS_AND, 2, FF("a", FS_NOT_IN, ARR(1, I(1))), FF("b", FS_IN, ARR(1, I(1))));
    expect_error(&q, "'NOT_IN' cannot be used");
    f = COMP(FS_AND, 2, FF("a", FS_ARRAY_CONTAINS, I(1)), FF("b", FS_ARRAY_CONTAINS, I(1)));
    expect_error(&q, "single array-contains filter");
    f = COMP(FS_OR, 2, FF("a", FS_ARRAY_CONTAINS, I(1)), FF("b", FS_ARRAY_CONTAINS, I(1)));
    {
        struct value d[2] = {DOC("u", 1, "a", ARR(1, I(1))), DOC("v", 1, "b", ARR(1, I(1)))};

        expect_ids(&q, d, 2, "u,v");
    }
    f = COMP(FS_AND, 2, FF("a", FS_ARRAY_CONTAINS, I(1)),
             FF("b", FS_ARRAY_CONTAINS_ANY, ARR(1, I(1))));
    expect_error(&q, "cannot be combined");
    /* (ac OR x) AND any: the term (ac AND any) combines them */
    f = COMP(FS_AND, 2, COMP(FS_OR, 2, FF("a", FS_ARRAY_CONTAINS, I(1)), FF("c", FS_EQ, I(1))),
             FF("b", FS_ARRAY_CONTAINS_ANY, ARR(1, I(1))));
    expect_error(&q, "cannot be combined");
    /* ac OR any: in different terms */
    f = COMP(FS_OR, 2, FF("a", FS_ARRAY_CONTAINS, I(1)),
             FF("b", FS_ARRAY_CONTAINS_ANY, ARR(1, I(1))));
    {
        struct value d[2] = {DOC("u", 1, "a", ARR(1, I(1))), DOC("v", 1, "b", ARR(1, I(1)))};

        expect_ids(&q, d, 2, "u,v");
    }
    f = COMP(FS_AND, 0);
    expect_error(&q, "at least one filter");
    f = FF(FS_NAME_FIELD, FS_EQ, S("x"));
    expect_error(&q, "must be a Reference");
    f = UF("a", FS_EQ);
    expect_error(&q, "Invalid unary filter operator");
    f = FF("a", FS_IS_NULL, I(1));
    expect_error(&q, "Invalid field filter operator");
    /* a hundred filters in one AND fit the language's limits */
    {
        struct fs_filter *subs = cr_arena_alloc(&A, 100 * sizeof *subs);
        struct value d[1] = {DOC("h", 1, "a", I(7))};

        for (size_t i = 0; i < 100; i++)
            subs[i] = FF("a", FS_EQ, I(7));
        f = COMP(FS_AND, 0);
        f.subs = subs;
        f.n_subs = 100;
        expect_ids(&q, d, 1, "h");
    }
    q.where = NULL;
    o[0] = (struct fs_order){P("a"), false};
    o[1] = (struct fs_order){P("`a`"), true};
    q.order_by = o;
    q.n_order = 2;
    expect_error(&q, "duplicate");
    q.n_order = 0;
    q.limit = 3;
    q.limit_to_last = true;
    expect_error(&q, "limitToLast");
    q.limit_to_last = false;
    q.limit = -5;
    expect_error(&q, "limit");
    q.limit = -1;
    q.parent = "nonsense";
    q.parent_len = 8;
    expect_error(&q, "Invalid parent");
}

static void test_collection_group(void **state)
{
    struct value d[4];
    struct fs_query q = base();
    static const char *names[] = {ROOT "/coll/a", ROOT "/u/1/coll/b", ROOT "/u/2/coll/c",
                                  ROOT "/v/1/coll/d"};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        d[i] = DOC("x", 1, "k", I((int64_t)i));
        *d[i].u.map.fields[0].value = REF(names[i]);
    }
    q.all_descendants = true;
    expect_ids(&q, d, 4, "a,b,c,d");
    q.parent = ROOT "/u";
    q.parent_len = strlen(ROOT "/u");
    expect_ids(&q, d, 4, "b,c");
    /* a plain collection query keeps only the parent's own collection */
    q.all_descendants = false;
    q.parent = ROOT "/u/1";
    q.parent_len = strlen(ROOT "/u/1");
    expect_ids(&q, d, 4, "b");
}

/* ---- the differential test ---- */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static struct value pool(void)
{
    switch (rnd(24)) {
    case 0:
        return NUL();
    case 1:
        return B(rnd(2));
    case 2:
    case 3:
    case 4:
        return I((int64_t)rnd(5) - 2);
    case 5:
        return D(rnd(2) ? 0.5 : -1.5);
    case 6:
        return D(rnd(3) ? 1.0 : NAN);
    case 7:
        return D(-0.0);
    case 8:
    case 9:
        return S(rnd(3) == 0 ? "" : rnd(2) ? "a" : "ab");
    case 10:
        return S("b");
    case 11:
        return TS(rnd(2), 0);
    case 12:
        return BY(rnd(2) ? "" : "\x01");
    case 13:
        return REF(rnd(2) ? COLL "/r1" : COLL "/r2");
    case 14:
        return GEO(rnd(2), 0);
    case 15:
    case 16:
        return ARR(1, I(rnd(3)));
    case 17:
        return ARR(2, I(rnd(3)), S("a"));
    case 18:
        return ARR(0);
    case 19:
        return ARR(1, NUL());
    case 20:
        return MAP(0);
    case 21:
        return MAP(1, "x", I(rnd(2)));
    default:
        return I(rnd(3));
    }
}

static const char *const FIELDS[] = {"a", "b", "c"};

/* Firestore's type order, written out. */
static int rank(const struct value *v)
{
    switch (v->type) {
    case VT_NULL:
        return 0;
    case VT_BOOL:
        return 1;
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return 2;
    case VT_TIMESTAMP:
        return 3;
    case VT_STRING:
        return 4;
    case VT_BYTES:
        return 5;
    case VT_REF:
        return 6;
    case VT_GEOPOINT:
        return 7;
    case VT_ARRAY:
        return 8;
    default:
        return 9;
    }
}

static int total(const struct value *a, const struct value *b)
{
    int ra = rank(a), rb = rank(b);

    if (ra != rb)
        return ra < rb ? -1 : 1;
    return value_compare(a, b);
}

static bool eq(const struct value *a, const struct value *b)
{
    return rank(a) == rank(b) && value_compare(a, b) == 0;
}

static bool nan_v(const struct value *v)
{
    return v && v->type == VT_DOUBLE && isnan(v->u.d);
}

static bool ref_match(const struct fs_filter *f, const struct value *doc)
{
    const struct value *x = value_map_get(doc, f->field.text, f->field.len);
    const struct value *v = &f->value;

    switch (f->kind) {
    case FS_AND:
    case FS_OR:
        for (size_t i = 0; i < f->n_subs; i++)
            if (ref_match(&f->subs[i], doc) != (f->kind == FS_AND))
                return f->kind != FS_AND;
        return f->kind == FS_AND;
    default:
        break;
    }
    switch (f->op) {
    case FS_IS_NULL:
        return x && x->type == VT_NULL;
    case FS_IS_NAN:
        return nan_v(x);
    case FS_IS_NOT_NULL:
        return x && x->type != VT_NULL;
    case FS_IS_NOT_NAN:
        return x && x->type != VT_NULL && !nan_v(x);
    case FS_EQ:
        return x && eq(x, v);
    case FS_NE:
        return x && x->type != VT_NULL && !eq(x, v);
    case FS_LT:
    case FS_LE:
    case FS_GT:
    case FS_GE: {
        int c;

        if (!x || rank(x) != rank(v))
            return false;
        c = value_compare(x, v);
        return f->op == FS_LT ? c < 0 : f->op == FS_LE ? c <= 0 : f->op == FS_GT ? c > 0 : c >= 0;
    }
    case FS_IN:
        for (size_t i = 0; x && i < v->u.arr.n; i++)
            if (eq(x, &v->u.arr.items[i]))
                return true;
        return false;
    case FS_NOT_IN:
        if (!x || x->type == VT_NULL)
            return false;
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (v->u.arr.items[i].type == VT_NULL || eq(x, &v->u.arr.items[i]))
                return false;
        return true;
    case FS_ARRAY_CONTAINS:
    case FS_ARRAY_CONTAINS_ANY:
        if (!x || x->type != VT_ARRAY)
            return false;
        for (size_t i = 0; i < x->u.arr.n; i++) {
            if (f->op == FS_ARRAY_CONTAINS && eq(&x->u.arr.items[i], v))
                return true;
            for (size_t j = 0; f->op == FS_ARRAY_CONTAINS_ANY && j < v->u.arr.n; j++)
                if (eq(&x->u.arr.items[i], &v->u.arr.items[j]))
                    return true;
        }
        return false;
    }
    return false;
}

static void collect_ineq(const struct fs_filter *f, bool *ineq)
{
    if (f->kind == FS_AND || f->kind == FS_OR) {
        for (size_t i = 0; i < f->n_subs; i++)
            collect_ineq(&f->subs[i], ineq);
        return;
    }
    if (f->op == FS_LT || f->op == FS_LE || f->op == FS_GT || f->op == FS_GE || f->op == FS_NE ||
        f->op == FS_NOT_IN || f->op == FS_IS_NOT_NULL || f->op == FS_IS_NOT_NAN)
        ineq[f->field.text[0] - 'a'] = true;
}

struct ref_key {
    const char *field; /* FS_NAME_FIELD for the name */
    bool desc;
};

static int ref_order(const struct fs_query *q, struct ref_key *keys)
{
    bool ineq[3] = {false, false, false}, dir = false;
    int n = 0;

    if (q->where)
        collect_ineq(q->where, ineq);
    for (size_t i = 0; i < q->n_order; i++) {
        keys[n].field = q->order_by[i].field.text;
        dir = keys[n++].desc = q->order_by[i].desc;
        ineq[q->order_by[i].field.text[0] - 'a'] = false;
    }
    for (int i = 0; i < 3; i++)
        if (ineq[i]) {
            keys[n].field = FIELDS[i];
            keys[n++].desc = dir;
        }
    keys[n].field = FS_NAME_FIELD;
    keys[n++].desc = dir;
    return n;
}

static const struct ref_key *SORT_KEYS;
static int SORT_N;

static int cmp_docs(const void *x, const void *y)
{
    const struct value *a = *(const struct value *const *)x, *b = *(const struct value *const *)y;

    for (int i = 0; i < SORT_N; i++) {
        const char *f = SORT_KEYS[i].field;
        int c = total(value_map_get(a, f, strlen(f)), value_map_get(b, f, strlen(f)));

        if (c)
            return SORT_KEYS[i].desc ? -c : c;
    }
    return 0;
}

/* doc's position relative to the cursor's prefix: <0 before, 0 at, >0 after */
static int cursor_cmp(const struct value *doc, const struct fs_cursor *cur,
                      const struct ref_key *keys)
{
    for (size_t i = 0; i < cur->n; i++) {
        const char *f = keys[i].field;
        int c = total(value_map_get(doc, f, strlen(f)), &cur->values[i]);

        if (c)
            return keys[i].desc ? -c : c;
    }
    return 0;
}

/* The result's documents, kept for the aggregations' reference. */
static const struct value *REF_ROWS[64];
static size_t REF_N;

static void reference(const struct fs_query *q, const struct value *docs, size_t n, char *out,
                      size_t cap)
{
    struct ref_key keys[8];
    int nk = ref_order(q, keys);
    const struct value *sel[64];
    size_t k = 0, len = 0, from, to;

    for (size_t i = 0; i < n; i++) {
        bool ok = !q->where || ref_match(q->where, &docs[i]);

        for (int j = 0; j < nk && ok; j++)
            ok = value_map_get(&docs[i], keys[j].field, strlen(keys[j].field)) != NULL;
        if (ok && q->start_at) {
            int c = cursor_cmp(&docs[i], q->start_at, keys);

            ok = q->start_at->before ? c >= 0 : c > 0;
        }
        if (ok && q->end_at) {
            int c = cursor_cmp(&docs[i], q->end_at, keys);

            ok = q->end_at->before ? c < 0 : c <= 0;
        }
        if (ok)
            sel[k++] = &docs[i];
    }
    SORT_KEYS = keys;
    SORT_N = nk;
    qsort(sel, k, sizeof *sel, cmp_docs);
    from = (size_t)q->offset < k ? (size_t)q->offset : k;
    to = q->limit >= 0 && from + (size_t)q->limit < k ? from + (size_t)q->limit : k;
    if (q->limit_to_last) {
        from = q->limit >= 0 && (size_t)q->limit < k ? k - (size_t)q->limit : 0;
        to = k;
    }
    out[0] = '\0';
    REF_N = 0;
    for (size_t i = from; i < to; i++) {
        put_id(sel[i], out, cap, &len);
        REF_ROWS[REF_N++] = sel[i];
    }
}

/* COUNT, SUM(a) and AVG(b) of q against the reference's rows (reference() ran last). */
static void check_aggs(const struct fs_query *q0, const struct value *docs, size_t n)
{
    struct fs_query q = *q0;
    struct fs_agg g[3];
    struct value out;
    int64_t isum = 0;
    double dsum = 0, bsum = 0;
    bool dbl = false;
    size_t bn = 0;
    const struct value *v;

    memset(g, 0, sizeof g);
    g[0].kind = FS_COUNT;
    g[1].kind = FS_SUM;
    g[1].field = P("a");
    g[2].kind = FS_AVG;
    g[2].field = P("b");
    q.aggs = g;
    q.n_aggs = 3;
    aggregate(&q, docs, n, &out);
    for (size_t i = 0; i < REF_N; i++) {
        v = value_map_get(REF_ROWS[i], "a", 1);
        if (v && v->type == VT_INT) {
            isum += v->u.i;
            dsum += (double)v->u.i;
        } else if (v && v->type == VT_DOUBLE) {
            dbl = true;
            dsum += v->u.d;
        }
        v = value_map_get(REF_ROWS[i], "b", 1);
        if (v && (v->type == VT_INT || v->type == VT_DOUBLE)) {
            bsum += v->type == VT_INT ? (double)v->u.i : v->u.d;
            bn++;
        }
    }
    assert_int_equal(field(&out, "field_1")->u.i, (int64_t)REF_N);
    v = field(&out, "field_2");
    if (dbl) {
        assert_int_equal(v->type, VT_DOUBLE);
        assert_true(isnan(dsum) ? isnan(v->u.d) : v->u.d == dsum);
    } else {
        assert_int_equal(v->type, VT_INT);
        assert_int_equal(v->u.i, isum);
    }
    v = field(&out, "field_3");
    if (!bn) {
        assert_int_equal(v->type, VT_NULL);
    } else {
        assert_int_equal(v->type, VT_DOUBLE);
        assert_true(isnan(bsum) ? isnan(v->u.d) : v->u.d == bsum / (double)bn);
    }
}

static struct fs_filter random_filter(int depth)
{
    struct fs_filter f;

    if (depth < 2 && rnd(4) == 0) {
        size_t n = 1 + rnd(3);
        struct fs_filter *subs = cr_arena_alloc(&A, n * sizeof *subs);

        for (size_t i = 0; i < n; i++)
            subs[i] = random_filter(depth + 1);
        memset(&f, 0, sizeof f);
        f.kind = rnd(2) ? FS_AND : FS_OR;
        f.subs = subs;
        f.n_subs = n;
        return f;
    }
    memset(&f, 0, sizeof f);
    f.field = P(FIELDS[rnd(3)]);
    f.op = (enum fs_op)rnd(FS_IS_NOT_NULL + 1);
    if (f.op >= FS_IS_NAN) {
        f.kind = FS_UNARY;
        return f;
    }
    f.kind = FS_FIELD;
    if (f.op == FS_IN || f.op == FS_NOT_IN || f.op == FS_ARRAY_CONTAINS_ANY) {
        size_t n = 1 + rnd(3);
        struct value *items = cr_arena_alloc(&A, n * sizeof *items);

        for (size_t i = 0; i < n; i++)
            items[i] = pool();
        f.value = (struct value){.type = VT_ARRAY, .u = {.arr = {items, n}}};
    } else {
        f.value = pool();
    }
    return f;
}

static void test_differential(void **state)
{
    static const struct composite_path cpaths[2] = {{"/a", false}, {"/b", true}};
    static const struct composite_def comp = {0, cpaths, 2};
    struct indexing_policy ix = {.automatic = true};
    size_t ran = 0, rows = 0;

    (void)state;
    rng = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 3000; iter++) {
        struct value docs[40];
        size_t nd = 10 + rnd(30);
        struct fs_query q = base();
        struct fs_filter f;
        struct fs_order o[2];
        struct ref_key keys[8];
        struct fs_cursor cur[2];
        struct value cv[2][6];
        char want[4096], got[4096];
        struct sql_err err;
        int nk, rc;

        cr_arena_reset(&A);
        for (size_t i = 0; i < nd; i++) {
            char id[32];

            snprintf(id, sizeof id, "r%02zu", i);
            docs[i] = DOC(cr_arena_strndup(&A, id, strlen(id)), 0);
            {
                struct value_field *fl = cr_arena_alloc(&A, 4 * sizeof *fl);

                fl[0] = docs[i].u.map.fields[0];
                docs[i].u.map.fields = fl;
                for (int k = 0; k < 3; k++)
                    if (rnd(5)) {
                        struct value *x = cr_arena_alloc(&A, sizeof *x);

                        *x = pool();
                        fl[docs[i].u.map.n].name = FIELDS[k];
                        fl[docs[i].u.map.n].name_len = 1;
                        fl[docs[i].u.map.n++].value = x;
                    }
            }
        }
        if (rnd(4)) {
            f = random_filter(0);
            q.where = &f;
        }
        q.n_order = rnd(3);
        if (q.n_order == 2) {
            size_t a = rnd(3), b = (a + 1 + rnd(2)) % 3;

            o[0] = (struct fs_order){P(FIELDS[a]), rnd(2)};
            o[1] = (struct fs_order){P(FIELDS[b]), rnd(2)};
        } else if (q.n_order == 1) {
            o[0] = (struct fs_order){P(FIELDS[rnd(3)]), rnd(2)};
        }
        q.order_by = o;
        nk = ref_order(&q, keys);
        for (int side = 0; side < 2; side++) {
            if (rnd(3))
                continue;
            cur[side].n = 1 + rnd((uint32_t)nk);
            cur[side].before = rnd(2);
            cur[side].values = cv[side];
            for (size_t i = 0; i < cur[side].n; i++) {
                if (!strcmp(keys[i].field, FS_NAME_FIELD))
                    cv[side][i] = *docs[rnd((uint32_t)nd)].u.map.fields[0].value;
                else
                    cv[side][i] = pool();
            }
            if (side == 0)
                q.start_at = &cur[0];
            else
                q.end_at = &cur[1];
        }
        if (rnd(3) == 0) {
            q.limit = rnd(8);
            if (q.n_order && rnd(3) == 0)
                q.limit_to_last = true;
        }
        if (!q.limit_to_last && rnd(4) == 0)
            q.offset = rnd(5);
        rc = run(&q, docs, nd, got, sizeof got, &err);
        if (rc == CR_EINVAL)
            continue; /* a query Firestore refuses */
        assert_int_equal(rc, 0);
        reference(&q, docs, nd, want, sizeof want);
        if (strcmp(got, want)) {
            struct fs_compiled c;

            fs_compile(&A, &q, &c, &err);
            fail_msg("case %d: got [%s], want [%s]\n%s", iter, got, want, c.text);
        }
        if (!q.limit_to_last && rnd(3) == 0)
            check_aggs(&q, docs, nd);
        ix.composite = rnd(2) ? &comp : NULL;
        ix.n_composite = ix.composite != NULL;
        assert_int_equal(run_planned(&q, docs, nd, &ix, got, sizeof got, &err), 0);
        if (strcmp(got, want)) {
            struct fs_compiled c;

            fs_compile(&A, &q, &c, &err);
            fail_msg("case %d planned: got [%s], want [%s]\n%s", iter, got, want, c.text);
        }
        ran++;
        rows += strlen(got) > 0;
    }
    /* the generator must produce mostly valid queries, and many with results */
    assert_true(ran > 2000);
    assert_true(rows > 800);
    assert_true(INDEXED > 300);
    print_message("%zu queries, %zu with results, %zu planned on a field's index\n", ran, rows,
                  INDEXED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fs_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_and_contains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_inequality_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collection_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_differential, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
