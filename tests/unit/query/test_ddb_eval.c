/*
 * query/ddb_parse.c + ddb_eval.c: conditions and filters, every construct, precedence, every
 * function on every type, and DynamoDB's type-mismatch semantics.
 */
#include "ddb_test.h"

static struct value *item(void)
{
    return M(14, "s", S("hello"), "n", N(10), "d", ND("10.5"), "f", NF(2.5), "b", B("\x01\x02xy"),
             "t", BOOLV(true), "z", NUL(), "ss", SS(2, S("a"), S("b")), "ns", NS(2, N(1), N(2)),
             "bs", BS(1, B("q")), "l", L(3, S("a"), N(1), M(1, "k", S("v"))), "m",
             M(2, "x", N(1), "y", M(1, "deep", S("down"))), "empty", S(""), "name", S("reserved"));
}

static void test_comparisons(void **state)
{
    struct value *it = item();

    (void)state;
    val(":ten", N(10));
    val(":hello", S("hello"));
    val(":tenstr", S("10"));
    assert_true(cond_on("n = :ten", it));
    assert_false(cond_on("n <> :ten", it));
    assert_true(cond_on("n <= :ten AND n >= :ten", it));
    assert_false(cond_on("n < :ten OR n > :ten", it));
    assert_true(cond_on("s = :hello", it));
    assert_false(cond_on("n = :tenstr", it)); /* N vs S: different types never equal */
    assert_true(cond_on("n <> :tenstr", it)); /* ... so <> holds */
    assert_false(cond_on("n < :tenstr", it)); /* and ordering fails both ways */
    assert_false(cond_on("n >= :tenstr", it));
    assert_false(cond_on("nope = :ten", it));
    assert_true(cond_on("nope <> :ten", it));
    assert_false(cond_on("nope < :ten", it));
    assert_true(cond_on("d > n", it)); /* DECIMAL vs INT numerically */
    assert_true(cond_on("f < n", it)); /* DOUBLE vs INT */
    assert_true(cond_on("s > :ten", it) == false);
    assert_true(cond_on("m.x = l[1]", it)); /* nested paths and list indexes */
    assert_true(cond_on("m.y.deep < s", it));
    assert_true(cond_on("ss = ss AND m = m AND l = l", it));
    assert_false(cond_on("ss < ss", it)); /* sets are not ordered */
    assert_false(cond_on("t < t", it));
    assert_true(cond_on("t = t AND z = z", it));
}

static void test_bytes_and_numbers(void **state)
{
    (void)state;
    val(":b", B("\x01\x03"));
    val(":d", ND("10.0"));
    val(":f", NF(10.0));
    assert_true(cond_on("b < :b", item()));
    assert_true(cond_on("n = :d AND n = :f AND :d = :f", item()));
}

static void test_between_in(void **state)
{
    struct value *it = item();

    (void)state;
    val(":lo", N(5));
    val(":hi", N(10));
    val(":a", S("a"));
    val(":z", S("z"));
    val(":x", S("hello"));
    assert_true(cond_on("n BETWEEN :lo AND :hi", it));
    assert_false(cond_on("d BETWEEN :lo AND :hi", it));
    assert_true(cond_on("s between :a and :z", it));
    assert_false(cond_on("n BETWEEN :a AND :z", it));
    assert_false(cond_on("nope BETWEEN :lo AND :hi", it));
    assert_true(cond_on("s IN (:a, :x)", it));
    assert_true(cond_on("n in (:a, :hi)", it));
    assert_false(cond_on("n IN (:a, :lo)", it));
    assert_false(cond_on("nope IN (:a, :lo, :hi, :z, :x)", it));
}

static void test_precedence(void **state)
{
    struct value *it = item();

    (void)state;
    val(":t", N(10));
    val(":f", N(11));
    /* NOT > AND > OR */
    assert_true(cond_on("n = :t OR n = :f AND n = :f", it));
    assert_false(cond_on("(n = :t OR n = :f) AND n = :f", it));
    assert_true(cond_on("NOT n = :f AND n = :t", it));
    assert_false(cond_on("NOT (n = :f OR n = :t)", it));
    assert_true(cond_on("NOT NOT n = :t", it));
    assert_true(cond_on("n = :f OR NOT n = :f", it));
    assert_true(cond_on("(n = :t) AND (n <> :f)", it));
}

static void test_functions(void **state)
{
    struct value *it = item();

    (void)state;
    val(":S", S("S"));
    val(":N", S("N"));
    val(":B", S("B"));
    val(":BOOL", S("BOOL"));
    val(":NULL", S("NULL"));
    val(":SS", S("SS"));
    val(":NS", S("NS"));
    val(":BS", S("BS"));
    val(":M", S("M"));
    val(":L", S("L"));
    val(":he", S("he"));
    val(":ell", S("ell"));
    val(":bpre", B("\x01"));
    val(":a", S("a"));
    val(":one", N(1));
    val(":five", N(5));
    val(":two", N(2));
    val(":three", N(3));
    val(":q", B("q"));
    val(":mv", M(1, "k", S("v")));
    assert_true(cond_on("attribute_exists(s) AND attribute_exists(m.y.deep) AND "
                        "attribute_exists(l[2].k)",
                        it));
    assert_false(cond_on("attribute_exists(l[3]) OR attribute_exists(m.nope)", it));
    assert_true(cond_on("attribute_not_exists(nope) AND attribute_not_exists(s.x)", it));
    assert_true(cond_on("attribute_type(s, :S) AND attribute_type(n, :N) AND "
                        "attribute_type(d, :N) AND attribute_type(f, :N) AND "
                        "attribute_type(b, :B) AND attribute_type(t, :BOOL) AND "
                        "attribute_type(z, :NULL) AND attribute_type(ss, :SS) AND "
                        "attribute_type(ns, :NS) AND attribute_type(bs, :BS) AND "
                        "attribute_type(m, :M) AND attribute_type(l, :L)",
                        it));
    assert_false(cond_on("attribute_type(s, :N) OR attribute_type(nope, :S)", it));
    assert_true(cond_on("begins_with(s, :he) AND begins_with(b, :bpre)", it));
    assert_false(
        cond_on("begins_with(s, :ell) OR begins_with(b, :he) OR begins_with(s, :bpre)", it));
    assert_false(cond_on("begins_with(n, :he) OR begins_with(nope, :he)", it));
    assert_true(cond_on("contains(s, :ell) AND contains(ss, :a) AND contains(ns, :one) AND "
                        "contains(bs, :q) AND contains(l, :a) AND contains(l, :one) AND "
                        "contains(l, :mv)",
                        it));
    assert_false(cond_on("contains(s, :one) OR contains(ss, :one) OR contains(ns, :a) OR "
                         "contains(n, :one) OR contains(m, :one) OR contains(nope, :a)",
                         it));
    assert_true(cond_on("size(s) = :five AND size(ss) = :two AND size(l) = :three AND "
                        "size(m) = :two AND size(bs) = :one AND size(b) > :three",
                        it));
    assert_false(cond_on("size(n) = :one OR size(t) = :one OR size(nope) = :one", it));
    assert_true(cond_on("size(n) <> :one", it));
    assert_true(cond_on(":five = size(s)", it));
}

static void test_nope_item(void **state)
{
    (void)state;
    val(":v", N(1));
    assert_true(cond_on("attribute_not_exists(id)", NULL));
    assert_false(cond_on("attribute_exists(id) OR id = :v", NULL));
    assert_true(cond_on("id <> :v", NULL));
}

static void test_reserved_words(void **state)
{
    (void)state;
    name("#n", "name");
    val(":v", S("reserved"));
    assert_true(cond_on("#n = :v", item()));
    reset_req();
    val(":v", S("reserved"));
    assert_string_equal(cond_error(DDB_CONDITION, "name = :v"),
                        "Invalid ConditionExpression: Attribute name is a reserved keyword; "
                        "reserved keyword: name");
    reset_req();
    val(":v", S("x"));
    assert_string_equal(cond_error(DDB_FILTER, "m.Size = :v"),
                        "Invalid FilterExpression: Attribute name is a reserved keyword; "
                        "reserved keyword: Size");
}

static void test_placeholders(void **state)
{
    struct ddb_cond *c;

    (void)state;
    val(":v", N(1));
    assert_string_equal(cond_error(DDB_CONDITION, "#x = :v"),
                        "Invalid ConditionExpression: An expression attribute name used in the "
                        "document path is not defined; attribute name: #x");
    assert_string_equal(cond_error(DDB_CONDITION, "a = :w"),
                        "Invalid ConditionExpression: An expression attribute value used in "
                        "expression is not defined; attribute value: :w");
    /* unused names and values, names first */
    reset_req();
    name("#a", "a");
    name("#b", "b");
    val(":v", N(1));
    val(":w", N(2));
    val(":x", N(3));
    ctx();
    assert_int_equal(ddb_parse_condition(&R.ctx, DDB_CONDITION, "#a = :v", 7, &c, &R.err), 0);
    assert_int_equal(ddb_ctx_check_unused(&R.ctx, &R.err), CR_EINVAL);
    assert_string_equal(R.err.msg, "Value provided in ExpressionAttributeNames unused in "
                                   "expressions: keys: {#b}");
    assert_int_equal(ddb_parse_condition(&R.ctx, DDB_FILTER, "#b = :w", 7, &c, &R.err), 0);
    assert_int_equal(ddb_ctx_check_unused(&R.ctx, &R.err), CR_EINVAL);
    assert_string_equal(R.err.msg, "Value provided in ExpressionAttributeValues unused in "
                                   "expressions: keys: {:x}");
    assert_int_equal(ddb_parse_condition(&R.ctx, DDB_FILTER, "a = :x", 6, &c, &R.err), 0);
    assert_int_equal(ddb_ctx_check_unused(&R.ctx, &R.err), 0);
    /* bad keys */
    reset_req();
    name("n", "a");
    assert_int_equal(ddb_ctx_init(&R.ctx, &T, R.names, R.nn, R.vals, R.nv, &R.err), CR_EINVAL);
    assert_string_equal(R.err.msg,
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"n\"");
    reset_req();
    val("v", N(1));
    assert_int_equal(ddb_ctx_init(&R.ctx, &T, R.names, R.nn, R.vals, R.nv, &R.err), CR_EINVAL);
    assert_string_equal(R.err.msg,
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\"");
}

static void test_syntax_errors(void **state)
{
    char big[DDB_EXPR_MAX_LEN + 10];
    struct ddb_cond *c;

    (void)state;
    val(":v", N(1));
    val(":s", S("x"));
    val(":b", BOOLV(true));
    val(":n5", N(5));
    assert_string_equal(
        cond_error(DDB_CONDITION, "a = "),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"= \"");
    assert_string_equal(
        cond_error(DDB_CONDITION, "a = = :v"),
        "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :v\"");
    assert_string_equal(cond_error(DDB_FILTER, "a $ :v"),
                        "Invalid FilterExpression: Syntax error; token: \"$\", near: \"a $ :v\"");
    assert_string_equal(cond_error(DDB_CONDITION, "a = :v AND"),
                        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: "
                        "\"AND\"");
    assert_string_equal(cond_error(DDB_CONDITION, "(a = :v"),
                        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: "
                        "\":v\"");
    assert_string_equal(cond_error(DDB_CONDITION, "a = :v)"),
                        "Invalid ConditionExpression: Syntax error; token: \")\", near: \":v)\"");
    assert_string_equal(cond_error(DDB_CONDITION, "a[x] = :v"),
                        "Invalid ConditionExpression: Syntax error; token: \"x\", near: \"[x]\"");
    assert_string_equal(cond_error(DDB_CONDITION, "size(a)"),
                        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \")\"");
    assert_string_equal(cond_error(DDB_CONDITION, "   "),
                        "Invalid ConditionExpression: The expression can not be empty;");
    assert_string_equal(cond_error(DDB_CONDITION, "((a = :v))"),
                        "Invalid ConditionExpression: The expression has redundant parentheses;");
    assert_string_equal(cond_error(DDB_CONDITION, "foo(a)"),
                        "Invalid ConditionExpression: Invalid function name; function: foo");
    assert_string_equal(cond_error(DDB_CONDITION, "BEGINS_WITH(a, :s)"),
                        "Invalid ConditionExpression: Invalid function name; function: "
                        "BEGINS_WITH");
    assert_string_equal(cond_error(DDB_CONDITION, "begins_with(a)"),
                        "Invalid ConditionExpression: Incorrect number of operands for operator "
                        "or function; operator or function: begins_with, number of operands: 1");
    assert_string_equal(cond_error(DDB_CONDITION, "attribute_exists(:v)"),
                        "Invalid ConditionExpression: Operator or function requires a document "
                        "path; operator or function: attribute_exists");
    assert_string_equal(cond_error(DDB_CONDITION, "begins_with(a, :v)"),
                        "Invalid ConditionExpression: Incorrect operand type for operator or "
                        "function; operator or function: begins_with, operand type: N");
    assert_string_equal(cond_error(DDB_CONDITION, "attribute_type(a, :s)"),
                        "Invalid ConditionExpression: Invalid attribute type name found; type: "
                        "x, valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }");
    assert_string_equal(cond_error(DDB_CONDITION, "attribute_exists(a) = :b"),
                        "Invalid ConditionExpression: The function is not allowed to be used "
                        "this way in an expression; function: attribute_exists");
    assert_string_equal(cond_error(DDB_CONDITION, "a BETWEEN :n5 AND :v"),
                        "Invalid ConditionExpression: The BETWEEN operator requires upper bound "
                        "to be greater than or equal to lower bound; lower bound operand: "
                        "AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}");
    memset(big, ' ', sizeof big);
    ctx();
    assert_int_equal(ddb_parse_condition(&R.ctx, DDB_CONDITION, big, sizeof big, &c, &R.err),
                     CR_EINVAL);
    assert_string_equal(R.err.msg, "Invalid ConditionExpression: Expression size has exceeded "
                                   "the maximum allowed size; expression size: 4106");
}

static void test_limits(void **state)
{
    char buf[4096];
    size_t k = 0;
    int i;

    (void)state;
    val(":v", N(1));
    /* IN with 101 operands */
    k += (size_t)snprintf(buf + k, sizeof buf - k, "a IN (:v");
    for (i = 1; i < 101; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, ",:v");
    snprintf(buf + k, sizeof buf - k, ")");
    assert_string_equal(cond_error(DDB_CONDITION, buf),
                        "Invalid ConditionExpression: Too many operands for operator or "
                        "function; operator or function: IN, number of operands: 101");
    /* 100 operands are fine */
    buf[strlen(buf) - 4] = ')';
    buf[strlen(buf) - 3] = '\0';
    assert_false(cond_on(buf, NULL));
    /* 301 operators */
    k = 0;
    for (i = 0; i < 151; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%sa = :v", i ? " OR " : "");
    assert_string_equal(cond_error(DDB_CONDITION, buf),
                        "Invalid ConditionExpression: The expression contains too many "
                        "operators; operator count: 301");
    /* path nesting */
    k = 0;
    for (i = 0; i < 33; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%sa", i ? "." : "");
    snprintf(buf + k, sizeof buf - k, " = :v");
    assert_string_equal(cond_error(DDB_CONDITION, buf),
                        "Invalid ConditionExpression: The document path has too many nesting "
                        "levels; nesting levels: 33");
    buf[k - 2] = '\0';
    strcat(buf, " = :v");
    assert_false(cond_on(buf, NULL));
}

static void test_whitespace_and_case(void **state)
{
    (void)state;
    val(":v", N(10));
    assert_true(cond_on("\tn\n=\r:v  and  not  n  <>  :v", item()));
    assert_true(cond_on("n=:v", item()));
    assert_true(cond_on("l [ 1 ] < :v", item()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_comparisons, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_bytes_and_numbers, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_between_in, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_precedence, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_functions, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_nope_item, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_reserved_words, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_placeholders, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_limits, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_whitespace_and_case, ddb_test_setup,
                                        ddb_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
