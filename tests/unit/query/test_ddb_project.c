/*
 * query/ddb_project.c: ProjectionExpression parsing and projection of nested paths and list
 * indexes, and its errors.
 */
#include "ddb_test.h"

static struct value *item(void)
{
    return M(4, "a", N(1), "m", M(2, "x", N(2), "y", M(1, "z", S("deep"))), "l",
             L(4, S("l0"), M(2, "k", S("k1"), "j", S("j1")), S("l2"), M(1, "k", S("k3"))), "name",
             S("n"));
}

static struct value *proj(const char *expr, const struct value *it)
{
    struct ddb_projection *p;
    struct value *out = cr_arena_alloc(&T, sizeof *out);

    ctx();
    if (ddb_parse_projection(&R.ctx, expr, strlen(expr), &p, &R.err))
        fail_msg("%s: %s", expr, R.err.msg);
    assert_int_equal(ddb_project(p, it, &T, out), 0);
    return out;
}

static void test_project(void **state)
{
    (void)state;
    assert_true(value_equal(proj("a", item()), M(1, "a", N(1))));
    assert_true(value_equal(proj("a, nope", item()), M(1, "a", N(1))));
    assert_true(value_equal(proj("m.y.z, a", item()),
                            M(2, "m", M(1, "y", M(1, "z", S("deep"))), "a", N(1))));
    assert_true(value_equal(proj("m.x, m.y", item()),
                            M(1, "m", M(2, "x", N(2), "y", M(1, "z", S("deep"))))));
    /* list indexes: selected elements, in index order, compacted */
    assert_true(value_equal(proj("l[2], l[0], l[9]", item()), M(1, "l", L(2, S("l0"), S("l2")))));
    assert_true(value_equal(proj("l[1].k, l[3].k, l[2].k", item()),
                            M(1, "l", L(2, M(1, "k", S("k1")), M(1, "k", S("k3"))))));
    assert_true(value_equal(proj("m.nope, a.b, l.x", item()), M(0, NULL, NULL)));
    assert_true(value_equal(proj("a", NULL), M(0, NULL, NULL)));
    name("#n", "name");
    assert_true(value_equal(proj("#n", item()), M(1, "name", S("n"))));
}

static void expect_error(const char *expr, const char *msg)
{
    struct ddb_projection *p;

    ctx();
    assert_int_equal(ddb_parse_projection(&R.ctx, expr, strlen(expr), &p, &R.err), CR_EINVAL);
    assert_string_equal(R.err.msg, msg);
}

static void test_errors(void **state)
{
    (void)state;
    val(":v", N(1));
    expect_error("a, a.b", "Invalid ProjectionExpression: Two document paths overlap with each "
                           "other; must remove or rewrite one of these paths; path one: [a], path "
                           "two: [a, b]");
    expect_error("a.b, a", "Invalid ProjectionExpression: Two document paths overlap with each "
                           "other; must remove or rewrite one of these paths; path one: [a, b], "
                           "path two: [a]");
    expect_error("a, a", "Invalid ProjectionExpression: Two document paths overlap with each "
                         "other; must remove or rewrite one of these paths; path one: [a], path "
                         "two: [a]");
    expect_error("a.b, a[0]", "Invalid ProjectionExpression: Two document paths conflict with "
                              "each other; must remove or rewrite one of these paths; path one: "
                              "[a, b], path two: [a, [0]]");
    expect_error("name", "Invalid ProjectionExpression: Attribute name is a reserved keyword; "
                         "reserved keyword: name");
    expect_error("a, :v", "Invalid ProjectionExpression: Syntax error; token: \":v\", near: \", "
                          ":v\"");
    expect_error("a,", "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"");
    expect_error("a b", "Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\"");
    expect_error("#q", "Invalid ProjectionExpression: An expression attribute name used in the "
                       "document path is not defined; attribute name: #q");
    expect_error("a[]", "Invalid ProjectionExpression: Syntax error; token: \"]\", near: \"[]\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_project, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_errors, ddb_test_setup, ddb_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
