/*
 * query/sql_lex.c, sql_parse.c and sql_print.c: the round trip parse(print(parse(q))) ==
 * parse(q) over many queries, the canonical text, syntax errors with their positions and
 * expectations, binding errors, and the limits (text length, nesting, parameters, JOINs).
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

static struct sql_query *parse_ok(const char *text)
{
    struct sql_query *q;
    struct sql_err err;

    if (sql_parse(&A, text, strlen(text), &q, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
    return q;
}

/* Prints q into a NUL-terminated arena copy. */
static const char *print(const struct sql_query *q)
{
    struct cr_buf b;
    char *s;

    cr_buf_init(&b);
    assert_int_equal(sql_print(q, &b), 0);
    s = cr_arena_strndup(&A, (const char *)b.data, b.len);
    cr_buf_free(&b);
    return s;
}

static void round_trip(const char *text)
{
    struct sql_query *q = parse_ok(text), *q2;
    const char *p = print(q);

    q2 = parse_ok(p);
    if (!sql_query_equal(q, q2))
        fail_msg("round trip changed the query:\n  %s\n  %s", text, p);
    /* The canonical text is a fixed point. */
    assert_string_equal(print(q2), p);
}

static void test_round_trip(void **state)
{
    static const char *const queries[] = {
        "SELECT * FROM c",
        "select * from c",
        "SELECT * FROM root r",
        "SELECT * FROM root AS r WHERE r.id = \"x\"",
        "SELECT c.id, c.name AS n FROM c",
        "SELECT c.id n FROM c",
        "SELECT VALUE c FROM c",
        "SELECT VALUE c.a.b.c FROM c",
        "SELECT DISTINCT VALUE c.city FROM c",
        "SELECT DISTINCT TOP 5 c.a FROM c",
        "SELECT TOP @n * FROM c",
        "SELECT c[\"weird key\"], c[\"x\"], c.tags[0], c.tags[@i], c[\"a\\\"b\"] FROM c",
        "SELECT c[\"select\"], c.value, c[\"1a\"] FROM c",
        "SELECT VALUE 1 + 2 * 3 - 4 / 5 % 6 FROM c",
        "SELECT VALUE (1 + 2) * 3 FROM c",
        "SELECT VALUE -c.a FROM c",
        "SELECT VALUE +c.a FROM c",
        "SELECT VALUE -5 FROM c",
        "SELECT VALUE - -5 FROM c",
        "SELECT VALUE -0.5e-3 FROM c",
        "SELECT VALUE 1.7976931348623157e308 FROM c",
        "SELECT VALUE 0.1 + 0.2 FROM c",
        "SELECT VALUE 123456789012345678 FROM c",
        "SELECT VALUE \"a\" || \"b\" || c.s FROM c",
        "SELECT VALUE c.a ?? c.b ?? null FROM c",
        "SELECT VALUE c.a > 1 ? \"big\" : c.a < 0 ? \"neg\" : \"small\" FROM c",
        "SELECT VALUE (c.a ? 1 : 2) ? 3 : 4 FROM c",
        "SELECT VALUE [1, \"two\", null, true, false, undefined, [c.x], {\"k\": c.y}] FROM c",
        "SELECT VALUE {\"a\": 1, b: {\"c\": [1, 2]}, \"\\u00e9\\n\\t\": \"\\\\\"} FROM c",
        "SELECT VALUE {} FROM c",
        "SELECT VALUE [] FROM c",
        "SELECT * FROM c WHERE c.a = 1 AND c.b != 2 OR NOT c.c <> 3",
        "SELECT * FROM c WHERE NOT NOT c.ok",
        "SELECT * FROM c WHERE c.a < 1 AND c.a <= 2 AND c.a > 3 AND c.a >= 4",
        "SELECT * FROM c WHERE c.a IN (1, 2, \"x\") AND c.b NOT IN (@p)",
        "SELECT * FROM c WHERE c.a BETWEEN 1 AND 10 AND c.b NOT BETWEEN \"a\" AND \"z\"",
        "SELECT * FROM c WHERE c.s LIKE \"a%\" AND c.t NOT LIKE \"b_\" ESCAPE \"!\"",
        "SELECT * FROM c WHERE (c.a = 1 OR c.b = 2) AND c.c = 3",
        "SELECT * FROM c WHERE c.a = 1 = true",
        "SELECT * FROM c WHERE IS_DEFINED(c.a) AND is_null(c.b) AND Is_Number(c.c)",
        "SELECT * FROM c WHERE IS_STRING(c.a) OR IS_BOOL(c.a) OR IS_ARRAY(c.a) OR IS_OBJECT(c.a)",
        "SELECT * FROM c WHERE ARRAY_CONTAINS(c.tags, \"x\") AND ARRAY_CONTAINS(c.o, {\"a\": 1}, "
        "true)",
        "SELECT VALUE ARRAY_LENGTH(c.tags) FROM c",
        "SELECT * FROM c WHERE STARTSWITH(c.n, \"a\") AND ENDSWITH(c.n, \"z\", true) AND "
        "CONTAINS(c.n, \"m\", false)",
        "SELECT VALUE [LOWER(c.n), UPPER(c.n), LENGTH(c.n), SUBSTRING(c.n, 1, 2), CONCAT(c.a, "
        "c.b, \"c\")] FROM c",
        "SELECT VALUE [ABS(c.x), FLOOR(c.x), CEILING(c.x), ROUND(c.x)] FROM c",
        "SELECT VALUE COUNT(1) FROM c",
        "SELECT COUNT(1) AS n, SUM(c.x), MIN(c.x), MAX(c.x), AVG(c.x) FROM c",
        "SELECT c.k, COUNT(1) AS n FROM c GROUP BY c.k",
        "SELECT c.k, c.j, SUM(c.v) AS s FROM c WHERE c.v > 0 GROUP BY c.k, c.j",
        "SELECT VALUE LOWER(c.k) FROM c GROUP BY LOWER(c.k)",
        "SELECT c.id FROM c ORDER BY c.a",
        "SELECT c.id FROM c ORDER BY c.a ASC, c.b DESC, c.c",
        "SELECT * FROM c OFFSET 10 LIMIT 5",
        "SELECT * FROM c ORDER BY c.x DESC OFFSET @o LIMIT @l",
        "SELECT c.id, t FROM c JOIN t IN c.tags",
        "SELECT VALUE [k.n, p] FROM c JOIN k IN c.kids JOIN p IN k.pets WHERE p != \"cat\"",
        "SELECT VALUE x FROM c JOIN x IN [1, 2, c.a]",
        "SELECT * FROM c -- a comment\nWHERE c.a = 1 -- another",
        "SELECT\n  *\nFROM\n  c\nWHERE\n  c.a = 'single \\' quoted'",
        "SELECT VALUE @p.a[0] FROM c",
        "SELECT VALUE 5[0] FROM c",
        "SELECT VALUE (-5)[0] FROM c",
        "SELECT VALUE (c.a + 1).b FROM c",
        "SELECT VALUE \"x\"[\"y\"] FROM c",
        "SELECT VALUE {\"a\": COUNT(1) + SUM(c.x)} FROM c",
        "SELECT VALUE c.a = 1 AND (c.b = 2 OR c.c = 3) FROM c",
    };

    (void)state;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        round_trip(queries[i]);
}

static void test_canonical_text(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"select * from c", "SELECT * FROM c c"},
        {"select c.a x, c.b from root c where c.a=1 and not c.b",
         "SELECT c.a AS x, c.b FROM root c WHERE ((c.a = 1) AND (NOT c.b))"},
        {"SELECT VALUE 1 + 2 * 3 FROM c", "SELECT VALUE (1 + (2 * 3)) FROM c c"},
        {"SELECT VALUE -5 - -2.5 FROM c", "SELECT VALUE ((-5) - (-2.5)) FROM c c"},
        {"SELECT VALUE c['x y'] FROM c", "SELECT VALUE c[\"x y\"] FROM c c"},
        {"SELECT VALUE c[\"ok\"] FROM c", "SELECT VALUE c.ok FROM c c"},
        {"SELECT top 3 * FROM c order by c.a desc, c.b offset 1 limit 2",
         "SELECT TOP 3 * FROM c c ORDER BY c.a DESC, c.b ASC OFFSET 1 LIMIT 2"},
        {"SELECT VALUE is_defined(c.a) FROM c", "SELECT VALUE IS_DEFINED(c.a) FROM c c"},
        {"SELECT VALUE count(1) FROM c", "SELECT VALUE COUNT(1) FROM c c"},
        {"SELECT VALUE {a: 1.50} FROM c", "SELECT VALUE {\"a\": 1.5} FROM c c"},
        {"SELECT VALUE 'a\\tb' FROM c", "SELECT VALUE \"a\\tb\" FROM c c"},
        {"SELECT VALUE c.a NOT IN (1) FROM c", "SELECT VALUE (c.a NOT IN (1)) FROM c c"},
        {"SELECT VALUE c.a ?? 1 || 'x' FROM c", "SELECT VALUE (c.a ?? (1 || \"x\")) FROM c c"},
        {"SELECT VALUE 1e2 FROM c", "SELECT VALUE 100 FROM c c"},
        {"SELECT VALUE 1e20 FROM c", "SELECT VALUE 1e+20 FROM c c"},
        {"SELECT VALUE 0.1 FROM c", "SELECT VALUE 0.1 FROM c c"},
        {"SELECT * FROM c JOIN t IN c.tags", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sql_query *q;
        struct sql_err err;
        int rc = sql_parse(&A, cases[i].in, strlen(cases[i].in), &q, &err);

        if (!cases[i].out) {
            assert_int_equal(rc, CR_EINVAL);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_string_equal(print(q), cases[i].out);
    }
}

static void test_equality(void **state)
{
    (void)state;
    assert_true(sql_query_equal(parse_ok("SELECT * FROM c WHERE c.a = 1"),
                                parse_ok("select   *  from c c where (c[\"a\"]) = 1.0")));
    assert_false(sql_query_equal(parse_ok("SELECT * FROM c WHERE c.a = 1"),
                                 parse_ok("SELECT * FROM c WHERE c.a = 2")));
    assert_false(sql_query_equal(parse_ok("SELECT * FROM c WHERE c.a = 1"),
                                 parse_ok("SELECT * FROM c WHERE c.b = 1")));
    assert_false(sql_query_equal(parse_ok("SELECT * FROM c WHERE c.a = 1"),
                                 parse_ok("SELECT * FROM c WHERE c.a != 1")));
    assert_false(sql_query_equal(parse_ok("SELECT * FROM c WHERE c.a = 1"),
                                 parse_ok("SELECT * FROM c WHERE c.a = \"1\"")));
    assert_false(sql_query_equal(parse_ok("SELECT * FROM c"), parse_ok("SELECT * FROM d")));
    assert_false(sql_query_equal(parse_ok("SELECT * FROM c ORDER BY c.a"),
                                 parse_ok("SELECT * FROM c ORDER BY c.a DESC")));
    assert_false(
        sql_query_equal(parse_ok("SELECT c.a FROM c"), parse_ok("SELECT c.a AS b FROM c")));
    assert_false(sql_query_equal(parse_ok("SELECT VALUE c.a IN (1) FROM c"),
                                 parse_ok("SELECT VALUE c.a NOT IN (1) FROM c")));
    assert_false(sql_query_equal(parse_ok("SELECT VALUE {\"a\": 1} FROM c"),
                                 parse_ok("SELECT VALUE {\"b\": 1} FROM c")));
    assert_false(sql_query_equal(parse_ok("SELECT VALUE [1, 2] FROM c"),
                                 parse_ok("SELECT VALUE [1] FROM c")));
    assert_false(sql_query_equal(parse_ok("SELECT DISTINCT VALUE 1 FROM c"),
                                 parse_ok("SELECT VALUE 1 FROM c")));
}

/* Parses text, expecting the code and the exact message. */
static void expect_error_at(const char *text, int code, const char *msg, int line)
{
    struct sql_query *q;
    struct sql_err err;
    int rc = sql_parse(&A, text, strlen(text), &q, &err);

    if (rc != code || err.code != code || (msg && strcmp(err.msg, msg)))
        fail_msg("line %d: %s\n  got %s: %s\n  want %s: %s", line, text, cr_errname(rc), err.msg,
                 cr_errname(code), msg ? msg : "(any)");
}
#define expect_error(text, code, msg) expect_error_at(text, code, msg, __LINE__)

static void test_syntax_errors(void **state)
{
    const char *s;
    struct sql_query *q;
    struct sql_err err;

    (void)state;
    expect_error("SELECT * FORM c", CR_EINVAL, "expected FROM at 1:10, found 'FORM'");
    expect_error("SELECT *\nFROM c\nWHERE c.a = = 1", CR_EINVAL,
                 "expected an expression at 3:13, found '='");
    expect_error("", CR_EINVAL, "expected SELECT at 1:1, found end of input");
    expect_error("SELECT", CR_EINVAL, "expected an expression at 1:7, found end of input");
    expect_error("SELECT * FROM", CR_EINVAL,
                 "expected a collection name at 1:14, found end of input");
    expect_error("SELECT * FROM c WHERE", CR_EINVAL,
                 "expected an expression at 1:22, found end of input");
    expect_error("SELECT * FROM c WHERE c.a = 1 c.b", CR_EINVAL,
                 "expected a clause or end of query at 1:31, found 'c'");
    expect_error("SELECT * FROM c ORDER c.a", CR_EINVAL, "expected BY at 1:23, found 'c'");
    expect_error("SELECT * FROM c GROUP BY", CR_EINVAL,
                 "expected an expression at 1:25, found end of input");
    expect_error("SELECT * FROM c OFFSET 1", CR_EINVAL,
                 "expected LIMIT at 1:25, found end of input");
    expect_error("SELECT * FROM c OFFSET 1 LIMIT 2 WHERE", CR_EINVAL,
                 "expected end of query at 1:34, found 'WHERE'");
    expect_error("SELECT TOP 1.5 * FROM c", CR_EINVAL,
                 "expected a number or parameter after TOP at 1:12, found '1.5'");
    expect_error("SELECT TOP -1 * FROM c", CR_EINVAL,
                 "expected a number or parameter after TOP at 1:12, found '-'");
    expect_error("SELECT TOP c.a * FROM c", CR_EINVAL,
                 "expected a number or parameter after TOP at 1:12, found 'c'");
    expect_error("SELECT VALUE (1 FROM c", CR_EINVAL, "expected ')' at 1:17, found 'FROM'");
    expect_error("SELECT VALUE [1, 2 FROM c", CR_EINVAL,
                 "expected ',' or ']' at 1:20, found 'FROM'");
    expect_error("SELECT VALUE {\"a\" 1} FROM c", CR_EINVAL, "expected ':' at 1:19, found '1'");
    expect_error("SELECT VALUE {1: 1} FROM c", CR_EINVAL,
                 "expected a property name at 1:15, found '1'");
    expect_error("SELECT VALUE {\"a\": 1, \"a\": 2} FROM c", CR_EINVAL,
                 "duplicate property name 'a' at 1:23");
    expect_error("SELECT VALUE c.1 FROM c", CR_EINVAL,
                 "expected a property name at 1:16, found '1'");
    expect_error("SELECT VALUE c[1 FROM c", CR_EINVAL, "expected ']' at 1:18, found 'FROM'");
    expect_error("SELECT VALUE c.a IN 1 FROM c", CR_EINVAL, "expected '(' at 1:21, found '1'");
    expect_error("SELECT VALUE c.a IN () FROM c", CR_EINVAL, "IN at 1:18 needs at least one value");
    expect_error("SELECT VALUE c.a BETWEEN 1 OR 2 FROM c", CR_EINVAL,
                 "expected AND at 1:28, found 'OR'");
    expect_error("SELECT VALUE true ? 1 FROM c", CR_EINVAL, "expected ':' at 1:23, found 'FROM'");
    expect_error("SELECT VALUE \"abc FROM c", CR_EINVAL, "unterminated string at 1:14");
    expect_error("SELECT VALUE \"a\\qb\" FROM c", CR_EINVAL,
                 "invalid escape sequence in string at 1:16");
    expect_error("SELECT VALUE \"\\u12\" FROM c", CR_EINVAL,
                 "invalid escape sequence in string at 1:15");
    expect_error("SELECT VALUE \"\\udc00\" FROM c", CR_EINVAL,
                 "invalid escape sequence in string at 1:15");
    expect_error("SELECT VALUE \"\\ud800x\" FROM c", CR_EINVAL,
                 "invalid escape sequence in string at 1:15");
    expect_error("SELECT VALUE c.a # 1 FROM c", CR_EINVAL, "unexpected character '#' at 1:18");
    expect_error("SELECT VALUE c.a | 1 FROM c", CR_EINVAL, "unexpected character '|' at 1:18");
    expect_error("SELECT VALUE c.a ! 1 FROM c", CR_EINVAL, "unexpected character '!' at 1:18");
    expect_error("SELECT VALUE \x01 FROM c", CR_EINVAL, "unexpected byte 0x01 at 1:14");
    expect_error("SELECT VALUE 1e999 FROM c", CR_EINVAL, "number out of range at 1:14: 1e999");
    expect_error("SELECT VALUE FROM c", CR_EINVAL, "expected an expression at 1:14, found 'FROM'");
    expect_error("SELECT * FROM select", CR_EINVAL,
                 "expected a collection name at 1:15, found 'select'");
    expect_error("SELECT c.a AS from FROM c", CR_EINVAL,
                 "expected a name after AS at 1:15, found 'from'");
    expect_error("SELECT * FROM c JOIN t c.tags", CR_EINVAL, "expected IN at 1:24, found 'c'");
    /* Positions count columns in bytes from 1 on each line. */
    s = "SELECT *\n  FROM c\n  WHERE ]";
    assert_int_equal(sql_parse(&A, s, strlen(s), &q, &err), CR_EINVAL);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 9);
    assert_int_equal(err.code, CR_EINVAL);
}

static void test_binding_errors(void **state)
{
    (void)state;
    expect_error("SELECT d.a FROM c", CR_EINVAL, "identifier 'd' at 1:8 could not be resolved");
    expect_error("SELECT * FROM c WHERE x = 1", CR_EINVAL,
                 "identifier 'x' at 1:23 could not be resolved");
    expect_error("SELECT c.a FROM root r", CR_EINVAL,
                 "identifier 'c' at 1:8 could not be resolved");
    expect_error("SELECT VALUE t FROM c JOIN u IN t.x JOIN t IN c.tags", CR_EINVAL,
                 "identifier 't' at 1:33 could not be resolved");
    expect_error("SELECT * FROM c JOIN c IN c.tags", CR_EINVAL, "alias 'c' is declared twice");
    expect_error("SELECT * FROM c JOIN t IN c.tags", CR_EINVAL,
                 "SELECT * is only valid with a single input set");
    expect_error("SELECT * FROM c GROUP BY c.a", CR_EINVAL, "SELECT * is not valid with GROUP BY");
    expect_error("SELECT c.a, c.b FROM c GROUP BY c.a", CR_EINVAL,
                 "'c' at 1:13 is neither in GROUP BY nor inside an aggregate");
    expect_error("SELECT c.a, COUNT(1) FROM c", CR_EINVAL,
                 "'c' at 1:8 is neither in GROUP BY nor inside an aggregate");
    expect_error("SELECT * FROM c WHERE COUNT(1) > 1", CR_EINVAL,
                 "aggregate COUNT at 1:23 is allowed only in the SELECT list, and not inside "
                 "another aggregate");
    expect_error("SELECT VALUE SUM(COUNT(1)) FROM c", CR_EINVAL,
                 "aggregate COUNT at 1:18 is allowed only in the SELECT list, and not inside "
                 "another aggregate");
    expect_error("SELECT c.k FROM c GROUP BY SUM(c.k)", CR_EINVAL, NULL);
    expect_error("SELECT * FROM c ORDER BY MAX(c.a)", CR_EINVAL, NULL);
    expect_error("SELECT COUNT(1) AS n FROM c ORDER BY c.a", CR_EINVAL,
                 "ORDER BY at 1:38 is not supported with GROUP BY or aggregates");
    expect_error("SELECT c.a, c.b.a FROM c", CR_EINVAL, "duplicate output name 'a' at 1:13");
    expect_error("SELECT 1, 2 AS $1 FROM c", CR_EINVAL, "unexpected character '$' at 1:16");
    expect_error("SELECT c.a AS x, c.b AS x FROM c", CR_EINVAL,
                 "duplicate output name 'x' at 1:18");
    expect_error("SELECT VALUE NOPE(1) FROM c", CR_EINVAL, "unknown function 'NOPE' at 1:14");
    expect_error("SELECT VALUE LOWER() FROM c", CR_EINVAL, "LOWER at 1:14 takes 1 argument, got 0");
    expect_error("SELECT VALUE SUBSTRING(\"a\", 1) FROM c", CR_EINVAL,
                 "SUBSTRING at 1:14 takes 3 arguments, got 2");
    expect_error("SELECT VALUE CONCAT(\"a\") FROM c", CR_EINVAL,
                 "CONCAT at 1:14 takes at least 2 arguments, got 1");
    expect_error("SELECT VALUE ARRAY_CONTAINS([1], 1, true, 1) FROM c", CR_EINVAL,
                 "ARRAY_CONTAINS at 1:14 takes at most 3 arguments, got 4");
    expect_error("SELECT VALUE COUNT(1, 2) FROM c", CR_EINVAL,
                 "COUNT at 1:14 takes 1 argument, got 2");
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = cr_arena_alloc(&A, hl + ul * n + tl + 1), *p = s;

    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

static void test_limits(void **state)
{
    char *s;
    struct sql_query *q;
    struct sql_err err;

    (void)state;
    /* Text length. */
    s = repeat("SELECT * FROM c WHERE c.a = \"", "x", SQL_MAX_LEN, "\"");
    expect_error(s, CR_ETOOLONG, "query text is 262174 bytes, more than 262144");
    s = repeat("SELECT * FROM c WHERE c.a = \"", "x", SQL_MAX_LEN - 40, "\"");
    parse_ok(s);
    /* Nesting: parentheses, unary operators, NOT, long operator chains, constructors. */
    s = repeat("SELECT VALUE ", "(", 300, "1");
    expect_error(s, CR_ENESTING, "expression nested too deeply at 1:271");
    s = repeat("SELECT VALUE 1", " + 1", 127, " FROM c");
    parse_ok(s);
    s = repeat("SELECT VALUE 1", " + 1", 128, " FROM c");
    expect_error(s, CR_ENESTING, "expression nested deeper than 128 at 1:524");
    /* The printed text of the deepest expressions parses again. */
    round_trip(repeat("SELECT VALUE ", "+ ", 126, "c.a FROM c"));
    round_trip(repeat("SELECT VALUE ", "NOT ", 126, "c.a FROM c"));
    round_trip(repeat(repeat("SELECT VALUE ", "[", 127, ""), "]", 127, " FROM c"));
    s = repeat("SELECT VALUE ", "- ", 5000, "c.a FROM c");
    expect_error(s, CR_ENESTING, NULL);
    s = repeat("SELECT * FROM c WHERE ", "NOT ", 5000, "true");
    expect_error(s, CR_ENESTING, NULL);
    s = repeat("SELECT VALUE 1", " + 1", 200, " FROM c");
    expect_error(s, CR_ENESTING, NULL);
    s = repeat("SELECT VALUE ", "[", 300, "");
    expect_error(s, CR_ENESTING, NULL);
    s = repeat("SELECT VALUE ", "{\"a\": ", 300, "");
    expect_error(s, CR_ENESTING, NULL);
    s = repeat("SELECT VALUE 1", " + 1", 100, " FROM c");
    parse_ok(s);
    s = repeat("SELECT VALUE ", "(", 100, "1");
    s = repeat(s, ")", 100, " FROM c");
    parse_ok(s);
    /* A long flat IN list is not nesting. */
    s = repeat("SELECT * FROM c WHERE c.a IN (0", ", 1", 10000, ")");
    parse_ok(s);
    /* Parameters: SQL_MAX_PARAMS distinct ones are fine, one more is not. */
    {
        size_t cap = 16 * (SQL_MAX_PARAMS + 2) + 64, k;
        char *t = cr_arena_alloc(&A, cap);

        for (int extra = 0; extra < 2; extra++) {
            k = (size_t)snprintf(t, cap, "SELECT VALUE [@p0");
            for (int i = 1; i < SQL_MAX_PARAMS + extra; i++)
                k += (size_t)snprintf(t + k, cap - k, ", @p%d", i);
            snprintf(t + k, cap - k, ", @p0] FROM c");
            if (!extra)
                parse_ok(t);
            else
                expect_error(t, CR_ETOOMANY, "more than 256 parameters at 1:1697");
        }
    }
    /* JOINs. */
    s = repeat("SELECT VALUE 1 FROM c", " JOIN t IN c.a", 1, "");
    parse_ok(s);
    expect_error("SELECT VALUE 1 FROM c JOIN a IN c.a JOIN b IN c.a JOIN d IN c.a JOIN e IN c.a "
                 "JOIN f IN c.a JOIN g IN c.a JOIN h IN c.a JOIN i IN c.a JOIN j IN c.a "
                 "JOIN k IN c.a JOIN l IN c.a",
                 CR_ETOOMANY, "more than 10 JOINs at 1:163");
    /* Too many parameters given to a run. */
    {
        struct sql_param *p = cr_arena_calloc(&A, (SQL_MAX_PARAMS + 1) * sizeof *p);
        struct sql_source src = {NULL, NULL};
        struct sql_run r;

        q = parse_ok("SELECT * FROM c");
        assert_int_equal(sql_run_init(&r, q, p, SQL_MAX_PARAMS + 1, &src, 0, &err), CR_ETOOMANY);
    }
}

static void test_collection(void **state)
{
    size_t len;
    const char *c = sql_query_collection(parse_ok("SELECT * FROM Families f"), &len);

    (void)state;
    assert_int_equal(len, 8);
    assert_memory_equal(c, "Families", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
