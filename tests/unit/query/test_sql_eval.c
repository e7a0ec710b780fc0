/*
 * query/sql_eval.c and sql_exec.c: every operator and function, undefined and null corner cases,
 * ORDER BY's type ordering, aggregates, JOIN, GROUP BY, DISTINCT, TOP, OFFSET/LIMIT, parameters,
 * streaming and the work budget. Documents and expected results are written as the language's
 * own object and array literals (evaluated by `SELECT VALUE <literal> FROM c` over one empty
 * document), so each case reads like the Cosmos DB query it is.
 */
#include "query/sql.h"
#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A source over an array's elements that counts its reads. */
struct src {
    const struct value *docs;
    size_t n, i, reads;
};

static int src_next(void *ctx, const struct value **doc)
{
    struct src *s = ctx;

    if (s->i == s->n)
        return 0;
    s->reads++;
    *doc = &s->docs[s->i++];
    return 1;
}

static int failing_next(void *ctx, const struct value **doc)
{
    (void)ctx;
    (void)doc;
    return CR_EIO;
}

/* ---- formatting values for messages ---- */

static void fmt(const struct value *v, char *buf, size_t cap, size_t *k)
{
#define OUT(...)                                                                                   \
    (*k += (size_t)snprintf(buf + (*k < cap ? *k : cap), *k < cap ? cap - *k : 0, __VA_ARGS__))
    if (!v) {
        OUT("undefined");
        return;
    }
    switch (v->type) {
    case VT_NULL:
        OUT("null");
        break;
    case VT_BOOL:
        OUT(v->u.b ? "true" : "false");
        break;
    case VT_INT:
        OUT("%lld", (long long)v->u.i);
        break;
    case VT_DOUBLE:
        OUT("%.17g", v->u.d);
        break;
    case VT_STRING:
        OUT("\"%.*s\"", (int)v->u.s.len, v->u.s.ptr);
        break;
    case VT_ARRAY:
        OUT("[");
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i)
                OUT(", ");
            fmt(&v->u.arr.items[i], buf, cap, k);
        }
        OUT("]");
        break;
    case VT_MAP:
        OUT("{");
        for (size_t i = 0; i < v->u.map.n; i++) {
            OUT("%s\"%.*s\": ", i ? ", " : "", (int)v->u.map.fields[i].name_len,
                v->u.map.fields[i].name);
            fmt(v->u.map.fields[i].value, buf, cap, k);
        }
        OUT("}");
        break;
    default:
        OUT("<%s>", value_type_name(v->type));
    }
#undef OUT
}

static const char *show(const struct value *v)
{
    static char bufs[2][4096];
    static int which;
    size_t k = 0;
    char *b = bufs[which++ & 1];

    fmt(v, b, sizeof bufs[0], &k);
    return b;
}

/* ---- running queries ---- */

static int run_q(const char *q, const struct value *docs, size_t n_docs, const struct sql_param *p,
                 size_t np, uint64_t budget, struct value **out, size_t *n, struct sql_err *err)
{
    struct sql_query *sq;
    struct src s = {docs, n_docs, 0, 0};
    struct sql_source so = {&s, src_next};
    int rc = sql_parse(&A, q, strlen(q), &sq, err);

    if (rc < 0)
        return rc;
    return sql_exec(sq, p, np, &so, budget, &A, out, n, err);
}

/* The value of a constant expression (object and array literals included). */
static struct value *lit(const char *text)
{
    static const struct value empty = {.type = VT_MAP};
    char q[4096];
    struct value *out;
    size_t n;
    struct sql_err err;

    snprintf(q, sizeof q, "SELECT VALUE %s FROM c", text);
    if (run_q(q, &empty, 1, NULL, 0, 0, &out, &n, &err) < 0)
        fail_msg("literal %s: %s", text, err.msg);
    if (n != 1)
        fail_msg("literal %s is undefined", text);
    return &out[0];
}

/* The documents of an array literal. */
static const struct value *docs_of(const char *text, size_t *n)
{
    struct value *v = lit(text);

    assert_int_equal(v->type, VT_ARRAY);
    *n = v->u.arr.n;
    return v->u.arr.items;
}

/* Runs q over the documents and checks the results, in order, against an array literal. */
static void expect_rows_at(const char *q, const char *docs, const char *want, int line)
{
    size_t nd, n;
    const struct value *d = docs_of(docs, &nd);
    struct value *out, *w = lit(want), got;
    struct sql_err err;

    if (run_q(q, d, nd, NULL, 0, 0, &out, &n, &err) < 0)
        fail_msg("line %d: %s: %s", line, q, err.msg);
    got.type = VT_ARRAY;
    got.u.arr.items = out;
    got.u.arr.n = n;
    if (!value_equal(&got, w))
        fail_msg("line %d: %s\n  got  %s\n  want %s", line, q, show(&got), show(w));
}
#define expect_rows(q, docs, want) expect_rows_at(q, docs, want, __LINE__)

/* Evaluates expr over one document (c); want is a literal or "undefined". */
static void expect_eval_at(const char *expr, const char *doc, const char *want, int line)
{
    char q[4096];
    struct value *out, *d = lit(doc), *w = strcmp(want, "undefined") ? lit(want) : NULL;
    size_t n;
    struct sql_err err;

    snprintf(q, sizeof q, "SELECT VALUE %s FROM c", expr);
    if (run_q(q, d, 1, NULL, 0, 0, &out, &n, &err) < 0)
        fail_msg("line %d: %s: %s", line, expr, err.msg);
    if (!w && n == 0)
        return;
    if (!w || n != 1 || !value_equal(&out[0], w) || out[0].type != w->type)
        fail_msg("line %d: %s over %s\n  got  %s\n  want %s", line, expr, doc,
                 n ? show(&out[0]) : "undefined", want);
}
#define expect_eval(expr, doc, want) expect_eval_at(expr, doc, want, __LINE__)
#define E(expr, want) expect_eval_at(expr, "{}", want, __LINE__)

/* ---- tests ---- */

static void test_paths(void **state)
{
    const char *d =
        "{\"a\": {\"b\": 1, \"x y\": [10, 20]}, \"tags\": [\"t0\", \"t1\"], \"n\": null}";

    (void)state;
    expect_eval("c.a.b", d, "1");
    expect_eval("c[\"a\"][\"b\"]", d, "1");
    expect_eval("c.a[\"x y\"][1]", d, "20");
    expect_eval("c.tags[0]", d, "\"t0\"");
    expect_eval("c.tags[2]", d, "undefined");
    expect_eval("c.tags[-1]", d, "undefined");
    expect_eval("c.tags[0.5]", d, "undefined");
    expect_eval("c.tags[\"0\"]", d, "undefined");
    expect_eval("c.a[0]", d, "undefined");
    expect_eval("c.missing", d, "undefined");
    expect_eval("c.missing.deeper", d, "undefined");
    expect_eval("c.n", d, "null");
    expect_eval("c.n.x", d, "undefined");
    expect_eval("c.tags.length", d, "undefined");
    expect_eval("c.a.b.c", d, "undefined");
    expect_eval("c[\"tags\"][1 + 0]", d, "\"t1\"");
}

static void test_literals(void **state)
{
    (void)state;
    E("1.5e2", "150");
    E("0.25", "0.25");
    E("-3", "-3");
    E("- -3", "3");
    E("\"it\\'s \\\"q\\\" \\\\ \\/ \\u00e9\"", "\"it's \\\"q\\\" \\\\ / \\u00e9\"");
    E("'single'", "\"single\"");
    E("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
    E("true", "true");
    E("NULL", "null");
    E("undefined", "undefined");
    E("[1, undefined, c.missing, 2]", "[1, 2]");
    E("{\"a\": 1, \"b\": c.missing, c: \"x\"}", "{\"a\": 1, \"c\": \"x\"}");
    E("[]", "[]");
    E("{}", "{}");
    /* Integral results are INT, others DOUBLE. */
    E("3.0", "3");
    E("9007199254740993", "9007199254740992");
}

static void test_comparisons(void **state)
{
    (void)state;
    E("1 = 1", "true");
    E("1 = 1.0", "true");
    E("1 = 2", "false");
    E("1 = \"1\"", "undefined");
    E("1 != \"1\"", "undefined");
    E("1 <> 2", "true");
    E("null = null", "true");
    E("null != null", "false");
    E("null = false", "undefined");
    E("c.missing = null", "undefined");
    E("c.missing = c.missing", "undefined");
    E("true = true", "true");
    E("false < true", "true");
    E("\"a\" < \"b\"", "true");
    E("\"B\" < \"a\"", "true");
    E("\"ab\" > \"a\"", "true");
    E("2 >= 2", "true");
    E("2 <= 1.5", "false");
    E("1 < \"2\"", "undefined");
    E("null < null", "false");
    E("null <= null", "true");
    E("[1, 2] = [1, 2]", "true");
    E("[1, 2] = [2, 1]", "false");
    E("{\"a\": 1, \"b\": 2} = {\"b\": 2, \"a\": 1}", "true");
    E("{\"a\": 1} != {\"a\": 2}", "true");
    E("[1] < [2]", "undefined");
    E("{\"a\": 1} <= {\"a\": 1}", "undefined");
    E("[1] = {\"a\": 1}", "undefined");
}

static void test_logic(void **state)
{
    (void)state;
    E("true AND true", "true");
    E("true AND false", "false");
    E("true AND undefined", "undefined");
    E("undefined AND true", "undefined");
    E("false AND undefined", "false");
    E("undefined AND false", "false");
    E("undefined AND undefined", "undefined");
    E("true AND 1", "undefined");
    E("false AND \"x\"", "false");
    E("true OR undefined", "true");
    E("undefined OR true", "true");
    E("false OR undefined", "undefined");
    E("undefined OR false", "undefined");
    E("false OR false", "false");
    E("null OR true", "true");
    E("null OR false", "undefined");
    E("NOT true", "false");
    E("NOT false", "true");
    E("NOT undefined", "undefined");
    E("NOT 1", "undefined");
    E("NOT null", "undefined");
    E("not (1 = 2) and (2 = 2)", "true");
    E("true OR false AND false", "true");
}

static void test_arithmetic(void **state)
{
    (void)state;
    E("1 + 2", "3");
    E("1.5 + 1", "2.5");
    E("10 - 4 * 2", "2");
    E("(10 - 4) * 2", "12");
    E("7 / 2", "3.5");
    E("8 / 2", "4");
    E("7 % 3", "1");
    E("-7 % 3", "-1");
    E("7.5 % 2", "1.5");
    E("1 / 0", "undefined");
    E("1 % 0", "undefined");
    E("-(2)", "-2");
    E("+2", "2");
    E("-\"a\"", "undefined");
    E("+\"a\"", "undefined");
    E("\"a\" + 1", "undefined");
    E("null + 1", "undefined");
    E("true * 2", "undefined");
    E("c.missing + 1", "undefined");
    E("[1] + 1", "undefined");
    E("1e308 * 10", "undefined");
    E("\"a\" || \"b\"", "\"ab\"");
    E("\"a\" || 1", "undefined");
    E("\"\" || \"\"", "\"\"");
    E("c.missing ?? 1", "1");
    E("null ?? 1", "null");
    E("false ?? 1", "false");
    E("c.missing ?? c.other ?? \"z\"", "\"z\"");
    E("c.missing ?? undefined", "undefined");
    E("true ? 1 : 2", "1");
    E("false ? 1 : 2", "2");
    E("undefined ? 1 : 2", "2");
    E("1 ? 1 : 2", "2");
    E("1 = 1 ? \"y\" : \"n\"", "\"y\"");
    E("true ? c.missing : 2", "undefined");
    E("false ? 1 : true ? 2 : 3", "2");
}

static void test_in_between_like(void **state)
{
    (void)state;
    E("1 IN (1, 2)", "true");
    E("3 IN (1, 2)", "false");
    E("\"1\" IN (1, 2)", "false");
    E("1 IN (\"1\", 1.0)", "true");
    E("c.missing IN (1)", "undefined");
    E("null IN (null)", "true");
    E("[1] IN ([1], [2])", "true");
    E("1 NOT IN (2, 3)", "true");
    E("2 NOT IN (2, 3)", "false");
    E("c.missing NOT IN (1)", "undefined");
    E("5 BETWEEN 1 AND 10", "true");
    E("1 BETWEEN 1 AND 1", "true");
    E("11 BETWEEN 1 AND 10", "false");
    E("\"b\" BETWEEN \"a\" AND \"c\"", "true");
    E("5 BETWEEN \"a\" AND 10", "undefined");
    E("0 BETWEEN 1 AND \"z\"", "false");
    E("c.missing BETWEEN 1 AND 2", "undefined");
    E("5 NOT BETWEEN 1 AND 3", "true");
    E("2 NOT BETWEEN 1 AND 3", "false");
    E("\"abc\" LIKE \"a%\"", "true");
    E("\"abc\" LIKE \"A%\"", "false");
    E("\"abc\" LIKE \"a_c\"", "true");
    E("\"abc\" LIKE \"a_\"", "false");
    E("\"abc\" LIKE \"%b%\"", "true");
    E("\"abc\" LIKE \"%\"", "true");
    E("\"\" LIKE \"%\"", "true");
    E("\"\" LIKE \"_\"", "false");
    E("\"abc\" LIKE \"abc\"", "true");
    E("\"abc\" LIKE \"ab\"", "false");
    E("\"aaa\" LIKE \"%a%a%a%\"", "true");
    E("\"aab\" LIKE \"%a%a%a%\"", "false");
    E("\"abc\" LIKE \"[a-c]bc\"", "true");
    E("\"dbc\" LIKE \"[a-c]bc\"", "false");
    E("\"abc\" LIKE \"[^a]bc\"", "false");
    E("\"xbc\" LIKE \"[^a]bc\"", "true");
    E("\"[bc\" LIKE \"[bc\"", "true");
    E("\"a%c\" LIKE \"a!%c\" ESCAPE \"!\"", "true");
    E("\"abc\" LIKE \"a!%c\" ESCAPE \"!\"", "false");
    E("\"a_c\" LIKE \"a\\\\_c\" ESCAPE \"\\\\\"", "true");
    E("\"\xc3\xa9t\xc3\xa9\" LIKE \"_t_\"", "true");
    E("1 LIKE \"1\"", "undefined");
    E("\"1\" LIKE 1", "undefined");
    E("\"a\" LIKE \"a\" ESCAPE \"!!\"", "undefined");
    E("\"abc\" NOT LIKE \"x%\"", "true");
    E("c.missing NOT LIKE \"x%\"", "undefined");
}

static void test_type_functions(void **state)
{
    const char *d = "{\"n\": null, \"i\": 1, \"s\": \"x\", \"b\": false, \"a\": [], \"o\": {}}";
    static const char *const fns[] = {"IS_NULL", "IS_NUMBER", "IS_STRING",
                                      "IS_BOOL", "IS_ARRAY",  "IS_OBJECT"};
    static const char *const fields[] = {"n", "i", "s", "b", "a", "o"};
    char e[64];

    (void)state;
    for (int f = 0; f < 6; f++) {
        for (int k = 0; k < 6; k++) {
            snprintf(e, sizeof e, "%s(c.%s)", fns[f], fields[k]);
            expect_eval(e, d, f == k ? "true" : "false");
        }
        snprintf(e, sizeof e, "%s(c.missing)", fns[f]);
        expect_eval(e, d, "false");
    }
    expect_eval("IS_DEFINED(c.n)", d, "true");
    expect_eval("IS_DEFINED(c.missing)", d, "false");
    expect_eval("is_defined(c.a)", d, "true");
}

static void test_array_functions(void **state)
{
    (void)state;
    E("ARRAY_CONTAINS([1, 2, 3], 2)", "true");
    E("ARRAY_CONTAINS([1, 2, 3], 4)", "false");
    E("ARRAY_CONTAINS([1, 2, 3], \"2\")", "false");
    E("ARRAY_CONTAINS([null], null)", "true");
    E("ARRAY_CONTAINS([1], c.missing)", "false");
    E("ARRAY_CONTAINS(\"abc\", \"a\")", "undefined");
    E("ARRAY_CONTAINS(c.missing, 1)", "undefined");
    E("ARRAY_CONTAINS([{\"a\": 1, \"b\": 2}], {\"a\": 1})", "false");
    E("ARRAY_CONTAINS([{\"a\": 1, \"b\": 2}], {\"a\": 1}, true)", "true");
    E("ARRAY_CONTAINS([{\"a\": 1, \"b\": 2}], {\"a\": 1, \"b\": 2}, false)", "true");
    E("ARRAY_CONTAINS([{\"a\": 1, \"b\": 2}], {\"a\": 2}, true)", "false");
    E("ARRAY_CONTAINS([{\"a\": 1}], {\"a\": 1, \"c\": 1}, true)", "false");
    E("ARRAY_CONTAINS([1], 1, \"yes\")", "undefined");
    E("ARRAY_CONTAINS([[1, 2]], [1, 2])", "true");
    E("ARRAY_LENGTH([1, 2, 3])", "3");
    E("ARRAY_LENGTH([])", "0");
    E("ARRAY_LENGTH(\"abc\")", "undefined");
    E("ARRAY_LENGTH(c.missing)", "undefined");
}

static void test_string_functions(void **state)
{
    (void)state;
    E("STARTSWITH(\"abc\", \"ab\")", "true");
    E("STARTSWITH(\"abc\", \"bc\")", "false");
    E("STARTSWITH(\"abc\", \"\")", "true");
    E("STARTSWITH(\"abc\", \"ABC\")", "false");
    E("STARTSWITH(\"abc\", \"AB\", true)", "true");
    E("STARTSWITH(\"abc\", \"AB\", false)", "false");
    E("STARTSWITH(\"ab\", \"abc\")", "false");
    E("STARTSWITH(1, \"1\")", "undefined");
    E("STARTSWITH(\"abc\", \"a\", 1)", "undefined");
    E("ENDSWITH(\"abc\", \"bc\")", "true");
    E("ENDSWITH(\"abc\", \"BC\", true)", "true");
    E("ENDSWITH(\"abc\", \"ab\")", "false");
    E("ENDSWITH(c.missing, \"a\")", "undefined");
    E("CONTAINS(\"abcdef\", \"cd\")", "true");
    E("CONTAINS(\"abcdef\", \"CD\")", "false");
    E("CONTAINS(\"abcdef\", \"CD\", true)", "true");
    E("CONTAINS(\"abc\", \"\")", "true");
    E("CONTAINS(\"abc\", \"abcd\")", "false");
    E("CONTAINS(\"\xc3\x89T\xc3\x89\", \"\xc3\xa9t\", true)", "true");
    E("CONTAINS([1], 1)", "undefined");
    E("LOWER(\"AbC\")", "\"abc\"");
    E("UPPER(\"AbC\")", "\"ABC\"");
    E("UPPER(\"\xc3\xa9t\xc3\xa9 \xce\xb1\xd0\xb4\")", "\"\xc3\x89T\xc3\x89 \xce\x91\xd0\x94\"");
    E("LOWER(1)", "undefined");
    E("UPPER(null)", "undefined");
    E("LENGTH(\"abc\")", "3");
    E("LENGTH(\"\")", "0");
    E("LENGTH(\"\xc3\xa9t\xc3\xa9\")", "3");
    E("LENGTH(123)", "undefined");
    E("SUBSTRING(\"abcdef\", 1, 3)", "\"bcd\"");
    E("SUBSTRING(\"abcdef\", 0, 100)", "\"abcdef\"");
    E("SUBSTRING(\"abcdef\", 4, 1.9)", "\"e\"");
    E("SUBSTRING(\"abcdef\", -2, 3)", "\"abc\"");
    E("SUBSTRING(\"abcdef\", 10, 3)", "\"\"");
    E("SUBSTRING(\"abcdef\", 2, -1)", "\"\"");
    E("SUBSTRING(\"\xc3\xa9t\xc3\xa9\", 1, 2)", "\"t\xc3\xa9\"");
    E("SUBSTRING(\"abc\", \"1\", 1)", "undefined");
    E("SUBSTRING(1, 0, 1)", "undefined");
    E("CONCAT(\"a\", \"b\")", "\"ab\"");
    E("CONCAT(\"a\", \"b\", \"c\", \"\")", "\"abc\"");
    E("CONCAT(\"a\", 1)", "undefined");
    E("CONCAT(\"a\", c.missing)", "undefined");
}

static void test_math_functions(void **state)
{
    (void)state;
    E("ABS(-5)", "5");
    E("ABS(2.5)", "2.5");
    E("ABS(\"5\")", "undefined");
    E("FLOOR(2.7)", "2");
    E("FLOOR(-2.2)", "-3");
    E("CEILING(2.2)", "3");
    E("CEILING(-2.7)", "-2");
    E("ROUND(2.5)", "3");
    E("ROUND(-2.5)", "-3");
    E("ROUND(2.4)", "2");
    E("ROUND(-0.4)", "-0.0");
    E("ROUND(null)", "undefined");
    E("FLOOR(c.missing)", "undefined");
    E("CEILING(true)", "undefined");
}

static void test_projection(void **state)
{
    const char *d = "[{\"id\": \"1\", \"a\": 1, \"b\": {\"c\": 2}}, {\"id\": \"2\", \"b\": 3}]";

    (void)state;
    expect_rows("SELECT * FROM c", d, d);
    expect_rows("SELECT c.a, c.b.c FROM c", d, "[{\"a\": 1, \"c\": 2}, {}]");
    expect_rows("SELECT c.a + 1, c.id AS ident, c[\"b\"] FROM c", d,
                "[{\"$1\": 2, \"ident\": \"1\", \"b\": {\"c\": 2}}, {\"ident\": \"2\", \"b\": 3}]");
    expect_rows("SELECT c.a * 2, c.a * 3 FROM c", d, "[{\"$1\": 2, \"$2\": 3}, {}]");
    expect_rows("SELECT VALUE c.a FROM c", d, "[1]");
    expect_rows("SELECT VALUE c.b FROM c", d, "[{\"c\": 2}, 3]");
    expect_rows("SELECT VALUE {\"x\": c.a, \"id\": c.id} FROM c", d,
                "[{\"x\": 1, \"id\": \"1\"}, {\"id\": \"2\"}]");
    expect_rows("SELECT c FROM c", "[{\"a\": 1}]", "[{\"c\": {\"a\": 1}}]");
    expect_rows("SELECT r.id FROM root r", d, "[{\"id\": \"1\"}, {\"id\": \"2\"}]");
    expect_rows("SELECT r.id FROM root AS r", d, "[{\"id\": \"1\"}, {\"id\": \"2\"}]");
    expect_rows("SELECT root.id FROM root", d, "[{\"id\": \"1\"}, {\"id\": \"2\"}]");
    expect_rows("SELECT c.tags[0] FROM c", "[{\"tags\": [5]}]", "[{\"$1\": 5}]");
}

static void test_where(void **state)
{
    const char *d = "[{\"id\": 1, \"a\": 1}, {\"id\": 2, \"a\": \"1\"}, {\"id\": 3, \"a\": null},"
                    " {\"id\": 4}, {\"id\": 5, \"a\": true}, {\"id\": 6, \"a\": [1]}]";

    (void)state;
    expect_rows("SELECT VALUE c.id FROM c WHERE c.a = 1", d, "[1]");
    expect_rows("SELECT VALUE c.id FROM c WHERE c.a != 1", d, "[]");
    expect_rows("SELECT VALUE c.id FROM c WHERE NOT (c.a = 1)", d, "[]");
    expect_rows("SELECT VALUE c.id FROM c WHERE c.a = null", d, "[3]");
    expect_rows("SELECT VALUE c.id FROM c WHERE NOT IS_DEFINED(c.a)", d, "[4]");
    expect_rows("SELECT VALUE c.id FROM c WHERE c.a", d, "[5]");
    expect_rows("SELECT VALUE c.id FROM c WHERE c.a = 1 OR c.a = \"1\"", d, "[1, 2]");
    expect_rows("SELECT VALUE c.id FROM c WHERE c.a = 1 OR c.id > 4", d, "[1, 5, 6]");
    expect_rows("SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(c.a, 1)", d, "[6]");
    expect_rows("SELECT VALUE c.id FROM c WHERE c.id IN (2, 4) AND IS_DEFINED(c.a)", d, "[2]");
    expect_rows("SELECT VALUE c.id FROM c WHERE 1", d, "[]");
}

static void test_order_by_types(void **state)
{
    const char *d =
        "[{\"id\": 1, \"k\": \"b\"}, {\"id\": 2, \"k\": 2.5}, {\"id\": 3},"
        " {\"id\": 4, \"k\": true}, {\"id\": 5, \"k\": null}, {\"id\": 6, \"k\": -1},"
        " {\"id\": 7, \"k\": \"a\"}, {\"id\": 8, \"k\": false}, {\"id\": 9, \"k\": [1]},"
        " {\"id\": 10, \"k\": {\"x\": 1}}, {\"id\": 11, \"k\": \"\"}]";

    (void)state;
    /* undefined < null < false < true < numbers < strings < arrays < objects */
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.k", d, "[3, 5, 8, 4, 6, 2, 11, 7, 1, 9, 10]");
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.k ASC", d,
                "[3, 5, 8, 4, 6, 2, 11, 7, 1, 9, 10]");
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.k DESC", d,
                "[10, 9, 1, 7, 11, 2, 6, 4, 8, 5, 3]");
}

static void test_order_by_keys(void **state)
{
    const char *d = "[{\"id\": 1, \"a\": 2, \"b\": \"x\"}, {\"id\": 2, \"a\": 1, \"b\": \"y\"},"
                    " {\"id\": 3, \"a\": 2, \"b\": \"a\"}, {\"id\": 4, \"a\": 1, \"b\": \"z\"},"
                    " {\"id\": 5, \"a\": 2, \"b\": \"x\"}]";

    (void)state;
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.a, c.b", d, "[2, 4, 3, 1, 5]");
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.a DESC, c.b", d, "[3, 1, 5, 2, 4]");
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.a ASC, c.b DESC", d, "[4, 2, 1, 5, 3]");
    /* Ties keep arrival order. */
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.a", d, "[2, 4, 1, 3, 5]");
    /* An expression the projection does not contain. */
    expect_rows("SELECT c.b FROM c ORDER BY c.id DESC", d,
                "[{\"b\": \"x\"}, {\"b\": \"z\"}, {\"b\": \"a\"}, {\"b\": \"y\"}, {\"b\": \"x\"}]");
    expect_rows("SELECT VALUE c.id FROM c ORDER BY LENGTH(c.b) DESC, -c.id", d, "[5, 4, 3, 2, 1]");
}

static void test_top_offset_limit_distinct(void **state)
{
    const char *d = "[{\"id\": 1, \"a\": 1}, {\"id\": 2, \"a\": 2}, {\"id\": 3, \"a\": 1},"
                    " {\"id\": 4, \"a\": 3}, {\"id\": 5}]";

    (void)state;
    expect_rows("SELECT TOP 2 VALUE c.id FROM c", d, "[1, 2]");
    expect_rows("SELECT TOP 0 VALUE c.id FROM c", d, "[]");
    expect_rows("SELECT TOP 10 VALUE c.id FROM c", d, "[1, 2, 3, 4, 5]");
    expect_rows("SELECT VALUE c.id FROM c OFFSET 1 LIMIT 2", d, "[2, 3]");
    expect_rows("SELECT VALUE c.id FROM c OFFSET 4 LIMIT 10", d, "[5]");
    expect_rows("SELECT VALUE c.id FROM c OFFSET 9 LIMIT 10", d, "[]");
    expect_rows("SELECT VALUE c.id FROM c ORDER BY c.id DESC OFFSET 1 LIMIT 2", d, "[4, 3]");
    expect_rows("SELECT TOP 1 VALUE c.id FROM c OFFSET 1 LIMIT 3", d, "[2]");
    expect_rows("SELECT DISTINCT VALUE c.a FROM c", d, "[1, 2, 3]");
    expect_rows("SELECT DISTINCT c.a FROM c", d, "[{\"a\": 1}, {\"a\": 2}, {\"a\": 3}, {}]");
    expect_rows("SELECT DISTINCT VALUE c.a FROM c ORDER BY c.a DESC", d, "[3, 2, 1]");
    expect_rows("SELECT DISTINCT TOP 2 VALUE c.a FROM c", d, "[1, 2]");
    expect_rows("SELECT DISTINCT VALUE c.a FROM c OFFSET 1 LIMIT 5", d, "[2, 3]");
    expect_rows("SELECT DISTINCT VALUE c.x FROM c", "[{\"x\": 1}, {\"x\": 1.0}, {\"x\": \"1\"}]",
                "[1, \"1\"]");
}

static void test_join(void **state)
{
    const char *d = "[{\"id\": 1, \"tags\": [\"a\", \"b\"], \"kids\": [{\"n\": \"x\", \"pets\": "
                    "[\"p1\", \"p2\"]}, {\"n\": \"y\", \"pets\": []}]},"
                    " {\"id\": 2, \"tags\": []}, {\"id\": 3}, {\"id\": 4, \"tags\": \"a\"},"
                    " {\"id\": 5, \"tags\": [\"c\"]}]";

    (void)state;
    expect_rows(
        "SELECT c.id, t FROM c JOIN t IN c.tags", d,
        "[{\"id\": 1, \"t\": \"a\"}, {\"id\": 1, \"t\": \"b\"}, {\"id\": 5, \"t\": \"c\"}]");
    expect_rows("SELECT VALUE t FROM c JOIN t IN c.tags WHERE t != \"a\"", d, "[\"b\", \"c\"]");
    expect_rows("SELECT k.n, p FROM c JOIN k IN c.kids JOIN p IN k.pets", d,
                "[{\"n\": \"x\", \"p\": \"p1\"}, {\"n\": \"x\", \"p\": \"p2\"}]");
    expect_rows("SELECT VALUE [t, u] FROM c JOIN t IN c.tags JOIN u IN c.tags WHERE c.id = 1", d,
                "[[\"a\", \"a\"], [\"a\", \"b\"], [\"b\", \"a\"], [\"b\", \"b\"]]");
    expect_rows("SELECT VALUE x FROM c JOIN x IN [c.id, c.id * 10] WHERE c.id < 3", d,
                "[1, 10, 2, 20]");
    expect_rows("SELECT VALUE COUNT(1) FROM c JOIN t IN c.tags", d, "[3]");
    expect_rows("SELECT VALUE t FROM c JOIN t IN c.tags ORDER BY t DESC", d,
                "[\"c\", \"b\", \"a\"]");
}

static void test_aggregates(void **state)
{
    const char *d = "[{\"v\": 1}, {\"v\": 2.5}, {\"v\": 4}, {}, {\"w\": \"a\"}]";

    (void)state;
    expect_rows("SELECT VALUE COUNT(1) FROM c", d, "[5]");
    expect_rows("SELECT VALUE COUNT(c.v) FROM c", d, "[3]");
    expect_rows("SELECT VALUE SUM(c.v) FROM c", d, "[7.5]");
    expect_rows("SELECT VALUE AVG(c.v) FROM c", d, "[2.5]");
    expect_rows("SELECT VALUE MIN(c.v) FROM c", d, "[1]");
    expect_rows("SELECT VALUE MAX(c.v) FROM c", d, "[4]");
    expect_rows("SELECT COUNT(1) AS n, SUM(c.v) AS s, MAX(c.w) AS w FROM c", d,
                "[{\"n\": 5, \"s\": 7.5, \"w\": \"a\"}]");
    expect_rows("SELECT COUNT(1), SUM(c.v) FROM c", d, "[{\"$1\": 5, \"$2\": 7.5}]");
    expect_rows("SELECT VALUE SUM(c.v) + 1 FROM c", d, "[8.5]");
    expect_rows("SELECT VALUE {\"n\": COUNT(1), \"avg\": AVG(c.v)} FROM c", d,
                "[{\"n\": 5, \"avg\": 2.5}]");
    /* A non-number makes SUM and AVG undefined; undefined arguments are skipped. */
    expect_rows("SELECT VALUE SUM(c.v) FROM c", "[{\"v\": 1}, {\"v\": \"2\"}]", "[]");
    expect_rows("SELECT VALUE AVG(c.v) FROM c", "[{\"v\": 1}, {\"v\": null}]", "[]");
    expect_rows("SELECT VALUE SUM(c.v) FROM c", "[{\"v\": 1}, {\"v\": true}]", "[]");
    /* MIN and MAX across types: null < booleans < numbers < strings; arrays make them undefined. */
    expect_rows("SELECT VALUE MAX(c.v) FROM c",
                "[{\"v\": 1}, {\"v\": \"a\"}, {\"v\": true}, {\"v\": null}]", "[\"a\"]");
    expect_rows("SELECT VALUE MIN(c.v) FROM c",
                "[{\"v\": 1}, {\"v\": \"a\"}, {\"v\": true}, {\"v\": null}]", "[null]");
    expect_rows("SELECT VALUE MIN(c.v) FROM c", "[{\"v\": 1}, {\"v\": false}]", "[false]");
    expect_rows("SELECT VALUE MAX(c.v) FROM c", "[{\"v\": 1}, {\"v\": [5]}]", "[]");
    /* Over no rows: COUNT 0 and SUM 0; AVG, MIN and MAX undefined. */
    expect_rows("SELECT VALUE COUNT(1) FROM c", "[]", "[0]");
    expect_rows("SELECT VALUE SUM(c.v) FROM c", "[]", "[0]");
    expect_rows("SELECT VALUE AVG(c.v) FROM c", "[]", "[]");
    expect_rows("SELECT VALUE MAX(c.v) FROM c", "[]", "[]");
    expect_rows("SELECT COUNT(1) AS n, MIN(c.v) AS m FROM c", "[]", "[{\"n\": 0}]");
    expect_rows("SELECT VALUE COUNT(1) FROM c WHERE c.v > 1", d, "[2]");
}

static void test_group_by(void **state)
{
    const char *d = "[{\"k\": \"a\", \"v\": 1}, {\"k\": \"b\", \"v\": 2}, {\"k\": \"a\", \"v\": 3},"
                    " {\"v\": 4}, {\"k\": 1, \"v\": 5}, {\"k\": \"b\", \"v\": \"x\"},"
                    " {\"k\": 1.0, \"v\": 6}]";

    (void)state;
    /* Groups come out in the order of their keys (undefined first). */
    expect_rows("SELECT c.k, COUNT(1) AS n FROM c GROUP BY c.k", d,
                "[{\"n\": 1}, {\"k\": 1, \"n\": 2}, {\"k\": \"a\", \"n\": 2},"
                " {\"k\": \"b\", \"n\": 2}]");
    expect_rows("SELECT c.k, SUM(c.v) AS s FROM c GROUP BY c.k", d,
                "[{\"s\": 4}, {\"k\": 1, \"s\": 11}, {\"k\": \"a\", \"s\": 4}, {\"k\": \"b\"}]");
    expect_rows("SELECT VALUE c.k FROM c GROUP BY c.k", d, "[1, \"a\", \"b\"]");
    expect_rows("SELECT VALUE COUNT(1) FROM c GROUP BY c.k", d, "[1, 2, 2, 2]");
    expect_rows("SELECT UPPER(c.k) AS u, MAX(c.v) AS m FROM c WHERE IS_STRING(c.k) GROUP BY c.k", d,
                "[{\"u\": \"A\", \"m\": 3}, {\"u\": \"B\", \"m\": \"x\"}]");
    expect_rows("SELECT c.a, c.b, COUNT(1) AS n FROM c GROUP BY c.a, c.b",
                "[{\"a\": 1, \"b\": 1}, {\"a\": 1, \"b\": 2}, {\"a\": 1, \"b\": 1}]",
                "[{\"a\": 1, \"b\": 1, \"n\": 2}, {\"a\": 1, \"b\": 2, \"n\": 1}]");
    expect_rows("SELECT c.k FROM c GROUP BY c.k", "[]", "[]");
    expect_rows("SELECT LENGTH(c.k) AS len, COUNT(1) AS n FROM c GROUP BY LENGTH(c.k)",
                "[{\"k\": \"ab\"}, {\"k\": \"cd\"}, {\"k\": \"e\"}]",
                "[{\"len\": 1, \"n\": 1}, {\"len\": 2, \"n\": 2}]");
    expect_rows("SELECT DISTINCT VALUE COUNT(1) FROM c GROUP BY c.k", d, "[1, 2]");
    expect_rows("SELECT TOP 2 VALUE c.k FROM c GROUP BY c.k", d, "[1, \"a\"]");
    expect_rows("SELECT VALUE t FROM c JOIN t IN c.tags GROUP BY t",
                "[{\"tags\": [\"x\", \"y\"]}, {\"tags\": [\"y\"]}]", "[\"x\", \"y\"]");
}

static void test_params(void **state)
{
    struct value *v = lit("[1, 2]"), *s = lit("\"b\""), *out;
    struct sql_param p[] = {{"@v", 2, v}, {"@s", 2, s}, {"@unused", 7, s}};
    size_t nd, n;
    const struct value *d = docs_of("[{\"a\": 1, \"b\": \"b\"}, {\"a\": 3, \"b\": \"c\"}]", &nd);
    struct sql_err err;

    (void)state;
    assert_int_equal(run_q("SELECT VALUE c.a FROM c WHERE c.a IN (@v[0], @v[1]) AND c.b = @s", d,
                           nd, p, 3, 0, &out, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].u.i, 1);
    assert_int_equal(run_q("SELECT TOP @n VALUE c.a FROM c", d, nd, p, 3, 0, &out, &n, &err),
                     CR_EINVAL);
    assert_string_equal(err.msg, "parameter @n is not defined");
    p[0].name = "@n";
    p[0].value = lit("1");
    assert_int_equal(run_q("SELECT TOP @n VALUE c.a FROM c", d, nd, p, 3, 0, &out, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(
        run_q("SELECT VALUE c.a FROM c OFFSET @n LIMIT @n", d, nd, p, 3, 0, &out, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].u.i, 3);
    p[0].value = lit("-1");
    assert_int_equal(run_q("SELECT TOP @n VALUE c.a FROM c", d, nd, p, 3, 0, &out, &n, &err),
                     CR_EINVAL);
    assert_non_null(strstr(err.msg, "TOP at 1:12 must be a non-negative integer"));
    p[0].value = lit("1.5");
    assert_int_equal(
        run_q("SELECT VALUE c.a FROM c OFFSET 0 LIMIT @n", d, nd, p, 3, 0, &out, &n, &err),
        CR_EINVAL);
}

static void test_streaming(void **state)
{
    size_t nd;
    const struct value *d = docs_of("[{\"a\": 1}, {\"a\": 2}, {\"a\": 3}, {\"a\": 4}]", &nd);
    struct src s = {d, nd, 0, 0};
    struct sql_source so = {&s, src_next};
    struct sql_query *q;
    struct sql_run r;
    struct sql_err err;
    const struct value *v;
    const char *text = "SELECT VALUE c.a FROM c WHERE c.a > 1";

    (void)state;
    assert_int_equal(sql_parse(&A, text, strlen(text), &q, &err), 0);
    assert_int_equal(sql_run_init(&r, q, NULL, 0, &so, 0, &err), 0);
    /* A page of one: the run reads only what it needs. */
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 2);
    assert_int_equal(s.reads, 2);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 3);
    assert_int_equal(s.reads, 3);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(sql_run_next(&r, &v, &err), 0);
    assert_int_equal(sql_run_next(&r, &v, &err), 0);
    sql_run_close(&r);

    /* TOP stops reading. */
    text = "SELECT TOP 1 * FROM c";
    s.i = s.reads = 0;
    assert_int_equal(sql_parse(&A, text, strlen(text), &q, &err), 0);
    assert_int_equal(sql_run_init(&r, q, NULL, 0, &so, 0, &err), 0);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_ptr_equal(v, &d[0]);
    assert_int_equal(sql_run_next(&r, &v, &err), 0);
    assert_int_equal(s.reads, 1);
    sql_run_close(&r);

    /* A run resumes inside a document's JOIN: the next document is read only when the array is
     * exhausted. */
    d = docs_of("[{\"t\": [1, 2]}, {\"t\": []}, {\"t\": \"x\"}, {\"t\": [3]}]", &nd);
    s = (struct src){d, nd, 0, 0};
    text = "SELECT VALUE x FROM c JOIN x IN c.t";
    assert_int_equal(sql_parse(&A, text, strlen(text), &q, &err), 0);
    assert_int_equal(sql_run_init(&r, q, NULL, 0, &so, 0, &err), 0);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 1);
    assert_int_equal(s.reads, 1);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 2);
    assert_int_equal(s.reads, 1);
    assert_int_equal(sql_run_next(&r, &v, &err), 1);
    assert_int_equal(v->u.i, 3);
    assert_int_equal(s.reads, 4);
    assert_int_equal(sql_run_next(&r, &v, &err), 0);
    sql_run_close(&r);

    /* A failing source's code comes through with a message. */
    so.next = failing_next;
    assert_int_equal(sql_run_init(&r, q, NULL, 0, &so, 0, &err), 0);
    assert_int_equal(sql_run_next(&r, &v, &err), CR_EIO);
    assert_int_equal(err.code, CR_EIO);
    assert_non_null(strstr(err.msg, "document source failed"));
    sql_run_close(&r);
}

/* The value model's numbers (INT, DOUBLE, DECIMAL) are one Cosmos type; its extra types (bytes,
 * timestamps) compare only among themselves. */
static void test_value_model(void **state)
{
    struct value dec, ts, ts2, by, fields_v[5], doc, *out;
    struct value_field f[5] = {{"dec", 3, &fields_v[0]},
                               {"dbl", 3, &fields_v[1]},
                               {"int", 3, &fields_v[2]},
                               {"ts", 2, &fields_v[3]},
                               {"by", 2, &fields_v[4]}};
    struct sql_param p[] = {{"@ts", 3, &ts2}};
    struct sql_err err;
    size_t n;

    (void)state;
    dec.type = VT_DECIMAL;
    assert_int_equal(decimal_parse("1.5", 3, &dec.u.dec), 0);
    ts.type = ts2.type = VT_TIMESTAMP;
    ts.u.ts.sec = ts2.u.ts.sec = 100;
    ts.u.ts.nsec = ts2.u.ts.nsec = 0;
    by = value_bytes("ab", 2);
    fields_v[0] = dec;
    fields_v[1] = value_double(1.5);
    fields_v[2] = value_int(3);
    fields_v[3] = ts;
    fields_v[4] = by;
    doc.type = VT_MAP;
    doc.u.map.fields = f;
    doc.u.map.n = 5;
    assert_int_equal(run_q("SELECT VALUE [c.dec = c.dbl, c.dec + 1, c.dec < c.int, "
                           "IS_NUMBER(c.dec), c.int / 2, c.ts = @ts, c.ts = 100, IS_DEFINED(c.by), "
                           "IS_STRING(c.by), c.by = \"ab\", c.ts < @ts, ARRAY_CONTAINS([c.dbl], "
                           "c.dec)] FROM c",
                           &doc, 1, p, 1, 0, &out, &n, &err),
                     0);
    assert_int_equal(n, 1);
    /* c.ts = 100 and c.by = "ab" compare across types: undefined, so left out of the array. */
    if (!value_equal(&out[0], lit("[true, 2.5, true, true, 1.5, true, true, false, false, true]")))
        fail_msg("got %s", show(&out[0]));
    /* ORDER BY mixes the three number types numerically. */
    {
        struct value docs[3];
        struct value_field df[3] = {
            {"k", 1, &fields_v[0]}, {"k", 1, &fields_v[1]}, {"k", 1, &fields_v[2]}};

        fields_v[1] = value_double(-0.5);
        for (int i = 0; i < 3; i++) {
            docs[i].type = VT_MAP;
            docs[i].u.map.fields = &df[i];
            docs[i].u.map.n = 1;
        }
        assert_int_equal(
            run_q("SELECT VALUE c.k FROM c ORDER BY c.k DESC", docs, 3, NULL, 0, 0, &out, &n, &err),
            0);
        assert_int_equal(n, 3);
        assert_int_equal(out[0].type, VT_INT);
        assert_int_equal(out[1].type, VT_DECIMAL);
        assert_int_equal(out[2].type, VT_DOUBLE);
    }
}

static void test_budget(void **state)
{
    size_t nd, n;
    const struct value *d = docs_of("[{\"a\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]},"
                                    " {\"a\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}]",
                                    &nd);
    struct value *out;
    struct sql_err err;
    const char *q = "SELECT VALUE [x, y, z] FROM c JOIN x IN c.a JOIN y IN c.a JOIN z IN c.a";

    (void)state;
    assert_int_equal(run_q(q, d, nd, NULL, 0, 0, &out, &n, &err), 0);
    assert_int_equal(n, 2000);
    assert_int_equal(run_q(q, d, nd, NULL, 0, 5000, &out, &n, &err), CR_EBUDGET);
    assert_int_equal(err.code, CR_EBUDGET);
    assert_string_equal(err.msg, "query exceeded its budget of 5000 work units");
    /* A small budget stops a sorted query too. */
    assert_int_equal(
        run_q("SELECT VALUE c.a FROM c ORDER BY c.a", d, nd, NULL, 0, 8, &out, &n, &err),
        CR_EBUDGET);
    assert_int_equal(run_q("SELECT VALUE x FROM c JOIN x IN c.a WHERE x % 2 = 0 ORDER BY x DESC", d,
                           nd, NULL, 0, 100000, &out, &n, &err),
                     0);
    assert_int_equal(n, 10);
    assert_int_equal(out[0].u.i, 10);
    assert_int_equal(out[9].u.i, 2);
    /* Building strings is charged by their length: 1600 bytes cost 100 units. */
    {
        char big[1700];
        struct value doc;
        struct value_field f = {"s", 1, NULL};
        struct value sv;

        memset(big, 'x', 1600);
        sv = value_string(big, 1600);
        f.value = &sv;
        doc.type = VT_MAP;
        doc.u.map.fields = &f;
        doc.u.map.n = 1;
        assert_int_equal(
            run_q("SELECT VALUE LENGTH(UPPER(c.s)) FROM c", &doc, 1, NULL, 0, 200, &out, &n, &err),
            0);
        assert_int_equal(out[0].u.i, 1600);
        assert_int_equal(
            run_q("SELECT VALUE LENGTH(UPPER(c.s)) FROM c", &doc, 1, NULL, 0, 90, &out, &n, &err),
            CR_EBUDGET);
        assert_int_equal(run_q("SELECT VALUE LENGTH(c.s || c.s || c.s) FROM c", &doc, 1, NULL, 0,
                               250, &out, &n, &err),
                         CR_EBUDGET);
        assert_int_equal(run_q("SELECT VALUE LENGTH(c.s || c.s || c.s) FROM c", &doc, 1, NULL, 0,
                               600, &out, &n, &err),
                         0);
        assert_int_equal(out[0].u.i, 4800);
    }
    /* Rows held for a sort are bounded by bytes too: 80 documents of 1 MiB sorted whole stop at
     * SQL_MAX_HELD; sorting only their numbers, or streaming them, does not. */
    {
        static struct value docs[80];
        static struct value_field f[80][2];
        char *big = malloc(1 << 20);

        assert_non_null(big);
        memset(big, 'x', 1 << 20);
        for (int i = 0; i < 80; i++) {
            f[i][0] = (struct value_field){"n", 1, NULL};
            f[i][1] = (struct value_field){"s", 1, NULL};
            docs[i].type = VT_MAP;
            docs[i].u.map.fields = f[i];
            docs[i].u.map.n = 2;
        }
        for (int i = 0; i < 80; i++) {
            static struct value nums[80], strs[80];

            nums[i] = value_int(80 - i);
            strs[i] = value_string(big, 1 << 20);
            f[i][0].value = &nums[i];
            f[i][1].value = &strs[i];
        }
        assert_int_equal(
            run_q("SELECT * FROM c ORDER BY c.n", docs, 80, NULL, 0, 0, &out, &n, &err),
            CR_EBUDGET);
        assert_non_null(strstr(err.msg, "more than 64 MiB of rows"));
        assert_int_equal(
            run_q("SELECT VALUE c.n FROM c ORDER BY c.n", docs, 80, NULL, 0, 0, &out, &n, &err), 0);
        assert_int_equal(n, 80);
        assert_int_equal(out[0].u.i, 1);
        assert_int_equal(
            run_q("SELECT VALUE LENGTH(c.s) FROM c", docs, 80, NULL, 0, 0, &out, &n, &err), 0);
        assert_int_equal(n, 80);
        free(big);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparisons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arithmetic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_between_like, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_math_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_where, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_by_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_by_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_offset_limit_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by, setup, teardown),
        cmocka_unit_test_setup_teardown(test_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
