/*
 * query/ddb_key.c: KeyConditionExpression extraction onto enum sk_op and its errors.
 */
#include "ddb_test.h"

static const struct ddb_key_schema keys = {"pk", 2, "sk", 2};
static const struct ddb_key_schema pk_only = {"pk", 2, NULL, 0};

static int kc(const char *expr, const struct ddb_key_schema *ks, struct ddb_key_cond *out)
{
    ctx();
    return ddb_parse_key_condition(&R.ctx, expr, strlen(expr), ks, out, &R.err);
}

static void test_extract(void **state)
{
    static const struct {
        const char *expr;
        enum sk_op op;
    } cases[] = {
        {"pk = :p", SK_ANY},
        {"pk = :p AND sk = :a", SK_EQ},
        {"pk = :p AND sk < :a", SK_LT},
        {"pk = :p AND sk <= :a", SK_LE},
        {"pk = :p AND sk > :a", SK_GT},
        {"pk = :p AND sk >= :a", SK_GE},
        {"sk >= :a AND pk = :p", SK_GE},
        {"pk = :p AND :a < sk", SK_GT},
        {":p = pk AND sk BETWEEN :a AND :b", SK_BETWEEN},
        {"(pk = :p) AND (begins_with(sk, :a))", SK_BEGINS_WITH},
        {"#k = :p and #s between :a and :b", SK_BETWEEN},
    };
    struct ddb_key_cond out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reset_req();
        val(":p", S("P"));
        if (strstr(cases[i].expr, ":a"))
            val(":a", S("A"));
        if (strstr(cases[i].expr, ":b"))
            val(":b", S("B"));
        if (strstr(cases[i].expr, "#k")) {
            name("#k", "pk");
            name("#s", "sk");
        }
        assert_int_equal(kc(cases[i].expr, &keys, &out), 0);
        assert_int_equal(out.op, cases[i].op);
        assert_true(value_equal(&out.pk, S("P")));
        if (cases[i].op != SK_ANY)
            assert_true(value_equal(&out.sk1, S("A")));
        if (cases[i].op == SK_BETWEEN)
            assert_true(value_equal(&out.sk2, S("B")));
        assert_int_equal(ddb_ctx_check_unused(&R.ctx, &R.err), 0);
    }
}

static void expect_error(const char *expr, const struct ddb_key_schema *ks, const char *msg)
{
    struct ddb_key_cond out;

    reset_req();
    val(":p", S("P"));
    val(":a", S("A"));
    val(":b", S("B"));
    val(":n", N(1));
    assert_int_equal(kc(expr, ks, &out), CR_EINVAL);
    assert_string_equal(R.err.msg, msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("pk = :p OR sk = :a", &keys,
                 "Invalid operator used in KeyConditionExpression: OR");
    expect_error("NOT pk = :p", &keys, "Invalid operator used in KeyConditionExpression: NOT");
    expect_error("pk = :p AND sk <> :a", &keys,
                 "Invalid operator used in KeyConditionExpression: <>");
    expect_error("pk = :p AND sk IN (:a, :b)", &keys,
                 "Invalid operator used in KeyConditionExpression: IN");
    expect_error("pk = :p AND contains(sk, :a)", &keys,
                 "Invalid operator used in KeyConditionExpression: contains");
    expect_error("pk = :p AND attribute_exists(sk)", &keys,
                 "Invalid operator used in KeyConditionExpression: attribute_exists");
    expect_error("pk = :p AND size(sk) = :n", &keys,
                 "Invalid operator used in KeyConditionExpression: size");
    expect_error("pk > :p", &keys, "Query key condition not supported");
    expect_error("pk = :p AND pk = :a", &keys,
                 "KeyConditionExpressions must only contain one condition per key");
    expect_error("pk = :p AND sk > :a AND sk < :b", &keys,
                 "Conditions can be of length 1 or 2 only");
    expect_error("sk = :a", &keys, "Query condition missed key schema element: pk");
    expect_error("foo = :a", &keys, "Query condition missed key schema element: pk");
    expect_error("pk = :p AND foo = :a", &keys, "Query condition missed key schema element: sk");
    expect_error("pk = :p AND foo = :a", &pk_only, "Query key condition not supported");
    expect_error("pk = :p AND sk = foo", &keys, "Query key condition not supported");
    expect_error("pk.x = :p", &keys,
                 "Invalid KeyConditionExpression: KeyConditionExpressions cannot have conditions "
                 "on nested attributes");
    expect_error("pk = :p AND begins_with(sk, :n)", &keys,
                 "Invalid KeyConditionExpression: Incorrect operand type for operator or "
                 "function; operator or function: begins_with, operand type: N");
    expect_error("pk = :p AND sk BETWEEN :b AND :a", &keys,
                 "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to "
                 "be greater than or equal to lower bound; lower bound operand: AttributeValue: "
                 "{S:B}, upper bound operand: AttributeValue: {S:A}");
    expect_error("pk = ", &keys,
                 "Invalid KeyConditionExpression: Syntax error; token: \"<EOF>\", near: \"= \"");
    expect_error("pk = :zz", &keys,
                 "Invalid KeyConditionExpression: An expression attribute value used in "
                 "expression is not defined; attribute value: :zz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_extract, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_errors, ddb_test_setup, ddb_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
