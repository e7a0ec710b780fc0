/*
 * query/ddb_parse_update.c + ddb_update.c: every update action, DynamoDB's errors, ReturnValues
 * projections, and the decimal arithmetic they use (storage/decimal.c decimal_add/decimal_sub).
 */
#include "ddb_test.h"

static const struct ddb_key_schema keys = {"id", 2, NULL, 0};

static struct value *item(void)
{
    return M(7, "id", S("k"), "n", N(5), "s", S("str"), "ss", SS(2, S("a"), S("b")), "ns",
             NS(1, N(1)), "l", L(3, S("l0"), S("l1"), S("l2")), "m",
             M(2, "x", N(1), "l", L(1, N(7))));
}

static struct ddb_update *parse(const char *expr)
{
    struct ddb_update *u;

    ctx();
    if (ddb_parse_update(&R.ctx, expr, strlen(expr), &keys, &u, &R.err))
        fail_msg("%s: %s", expr, R.err.msg);
    return u;
}

static struct value *apply(const char *expr, const struct value *old)
{
    struct value *out = cr_arena_alloc(&T, sizeof *out);

    if (ddb_apply_update(parse(expr), old, &T, out, &R.err))
        fail_msg("%s: %s", expr, R.err.msg);
    return out;
}

static const struct value *get(const struct value *it, const char *n)
{
    return value_map_get(it, n, strlen(n));
}

static void test_set(void **state)
{
    struct value *it = item(), *r;

    (void)state;
    val(":v", N(3));
    val(":s", S("new"));
    val(":l", L(1, S("x")));
    val(":deep", M(1, "q", N(1)));
    r = apply("SET n = n + :v, s = :s, a = :deep, m.x = m.x - :v", it);
    assert_true(value_equal(get(r, "n"), N(8)));
    assert_true(value_equal(get(r, "s"), S("new")));
    assert_true(value_equal(get(r, "a"), M(1, "q", N(1))));
    assert_true(value_equal(get(r, "m"), M(2, "x", N(-2), "l", L(1, N(7)))));
    /* the old item is untouched */
    assert_true(value_equal(get(it, "n"), N(5)));
    assert_true(value_equal(get(it, "s"), S("str")));
    reset_req();
    val(":l", L(1, S("x")));
    val(":z", N(0));
    r = apply("SET l = list_append(l, :l), b = list_append(:l, if_not_exists(nope, :l)), "
              "c = if_not_exists(n, :z), d = if_not_exists(e, :z)",
              it);
    assert_true(value_equal(get(r, "l"), L(4, S("l0"), S("l1"), S("l2"), S("x"))));
    assert_true(value_equal(get(r, "b"), L(2, S("x"), S("x"))));
    assert_true(value_equal(get(r, "c"), N(5)));
    assert_true(value_equal(get(r, "d"), N(0)));
    /* list indexes: replace, and past the end appends */
    reset_req();
    val(":x", S("X"));
    r = apply("SET l[1] = :x, l[10] = :x, m.l[0] = :x", it);
    assert_true(value_equal(get(r, "l"), L(4, S("l0"), S("X"), S("l2"), S("X"))));
    assert_true(value_equal(get(r, "m"), M(2, "x", N(1), "l", L(1, S("X")))));
    /* creating the item */
    reset_req();
    val(":x", S("X"));
    r = apply("SET a = :x", NULL);
    assert_true(value_equal(r, M(1, "a", S("X"))));
    /* operands read the old item: a swap */
    reset_req();
    r = apply("SET n = s, s = n", it);
    assert_true(value_equal(get(r, "n"), S("str")));
    assert_true(value_equal(get(r, "s"), N(5)));
}

static void test_remove(void **state)
{
    struct value *r;

    (void)state;
    r = apply("REMOVE s, nope, m.x, l[0], l[2], l[7], zz.deeper", item());
    assert_null(get(r, "s"));
    assert_true(value_equal(get(r, "m"), M(1, "l", L(1, N(7)))));
    assert_true(value_equal(get(r, "l"), L(1, S("l1"))));
    /* REMOVE and SET name old positions */
    val(":x", S("X"));
    r = apply("REMOVE l[0] SET l[1] = :x", item());
    assert_true(value_equal(get(r, "l"), L(2, S("X"), S("l2"))));
}

static void test_add_delete(void **state)
{
    struct value *r;

    (void)state;
    val(":n", ND("0.5"));
    val(":ss", SS(2, S("b"), S("c")));
    val(":ns", NS(2, N(1), N(2)));
    r = apply("ADD n :n, ss :ss, fresh :n, ns :ns, newset :ss", item());
    assert_true(value_equal(get(r, "n"), ND("5.5")));
    assert_true(value_equal(get(r, "fresh"), ND("0.5")));
    assert_true(value_equal(get(r, "ss"), SS(3, S("a"), S("b"), S("c"))));
    assert_true(value_equal(get(r, "ns"), NS(2, N(1), N(2))));
    assert_true(value_equal(get(r, "newset"), SS(2, S("b"), S("c"))));
    reset_req();
    val(":ab", SS(2, S("a"), S("b")));
    val(":a", SS(1, S("a")));
    val(":one", NS(1, N(1)));
    r = apply("DELETE ss :a, nope :a", item());
    assert_true(value_equal(get(r, "ss"), SS(1, S("b"))));
    assert_null(get(r, "nope"));
    reset_req();
    val(":ab", SS(2, S("a"), S("b")));
    val(":one", NS(1, N(1)));
    r = apply("DELETE ss :ab, ns :one", item());
    assert_null(get(r, "ss"));
    assert_null(get(r, "ns"));
}

static void expect_parse_error(const char *expr, const char *msg)
{
    struct ddb_update *u;

    ctx();
    assert_int_equal(ddb_parse_update(&R.ctx, expr, strlen(expr), &keys, &u, &R.err), CR_EINVAL);
    assert_string_equal(R.err.msg, msg);
}

static void test_parse_errors(void **state)
{
    (void)state;
    val(":v", N(1));
    val(":s", S("x"));
    val(":ss", SS(1, S("x")));
    val(":l", L(1, N(1)));
    expect_parse_error("SET a = :v SET b = :v", "Invalid UpdateExpression: The \"SET\" section can "
                                                "only be used once in an update expression;");
    expect_parse_error("SET a = :v, a.b = :v",
                       "Invalid UpdateExpression: Two document paths overlap with each other; "
                       "must remove or rewrite one of these paths; path one: [a], path two: [a, "
                       "b]");
    expect_parse_error("SET a[1] = :v REMOVE a[1]",
                       "Invalid UpdateExpression: Two document paths overlap with each other; "
                       "must remove or rewrite one of these paths; path one: [a, [1]], path two: "
                       "[a, [1]]");
    expect_parse_error("SET id = :s", "One or more parameter values were invalid: Cannot update "
                                      "attribute id. This attribute is part of the key");
    expect_parse_error("REMOVE id", "One or more parameter values were invalid: Cannot update "
                                    "attribute id. This attribute is part of the key");
    expect_parse_error("ADD a :s", "Invalid UpdateExpression: Incorrect operand type for operator "
                                   "or function; operator: ADD, operand type: STRING, typeSet: "
                                   "ALLOWED_FOR_ADD_OPERAND");
    expect_parse_error("DELETE a :v",
                       "Invalid UpdateExpression: Incorrect operand type for operator or function; "
                       "operator: DELETE, operand type: NUMBER, typeSet: "
                       "ALLOWED_FOR_DELETE_OPERAND");
    expect_parse_error("SET a = a + :s", "Invalid UpdateExpression: Incorrect operand type for "
                                         "operator or function; operator or function: +, operand "
                                         "type: S");
    expect_parse_error("SET a = list_append(a, :v)",
                       "Invalid UpdateExpression: Incorrect operand type for operator or "
                       "function; operator or function: list_append, operand type: N");
    expect_parse_error("SET a = if_not_exists(:v, a)",
                       "Invalid UpdateExpression: Operator or function requires a document path; "
                       "operator or function: if_not_exists");
    expect_parse_error("SET a = size(a)", "Invalid UpdateExpression: The function is not allowed "
                                          "in an update expression; function: size");
    expect_parse_error("SET a = foo(a)",
                       "Invalid UpdateExpression: Invalid function name; function: foo");
    expect_parse_error("SET a = :v + :v + :v",
                       "Invalid UpdateExpression: Syntax error; token: \"+\", near: \":v + :v\"");
    expect_parse_error("SET a = ", "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", "
                                   "near: \"= \"");
    expect_parse_error("UPSERT a = :v", "Invalid UpdateExpression: Syntax error; token: "
                                        "\"UPSERT\", near: \"UPSERT a\"");
    expect_parse_error("SET name = :v", "Invalid UpdateExpression: Attribute name is a reserved "
                                        "keyword; reserved keyword: name");
    expect_parse_error("ADD a b", "Invalid UpdateExpression: Syntax error; token: \"b\", near: \"a "
                                  "b\"");
    expect_parse_error("remove a set b = :l add c :ss delete c :ss",
                       "Invalid UpdateExpression: Two document paths overlap with each other; "
                       "must remove or rewrite one of these paths; path one: [c], path two: [c]");
}

static void expect_apply_error(const char *expr, const char *msg)
{
    struct value out;

    int rc = ddb_apply_update(parse(expr), item(), &T, &out, &R.err);

    if (!msg) { /* the boundary case that must succeed */
        assert_int_equal(rc, 0);
        return;
    }
    if (rc != CR_EINVAL)
        fail_msg("%s applied", expr);
    assert_string_equal(R.err.msg, msg);
}

static void test_apply_errors(void **state)
{
    (void)state;
    val(":v", N(1));
    val(":ss", SS(1, S("x")));
    val(":ns", NS(1, N(1)));
    val(":big", ND("99999999999999999999999999999999999999"));
    val(":huge", ND("9.9999999999999999999999999999999999999E+125"));
    val(":tiny", ND("1E-100"));
    val(":half", ND("0.5"));
    expect_apply_error("SET a = s + :v",
                       "An operand in the update expression has an incorrect data type");
    expect_apply_error("SET a = list_append(s, l)",
                       "An operand in the update expression has an incorrect data type");
    expect_apply_error("ADD s :v",
                       "An operand in the update expression has an incorrect data type");
    expect_apply_error("ADD ss :ns", "An operand in the update expression has an incorrect data "
                                     "type");
    expect_apply_error("DELETE ns :ss", "An operand in the update expression has an incorrect data "
                                        "type");
    expect_apply_error("SET a = nope", "The provided expression refers to an attribute that does "
                                       "not exist in the item");
    expect_apply_error("SET nope.x = :v", "The document path provided in the update expression is "
                                          "invalid for update");
    expect_apply_error("SET s[0] = :v", "The document path provided in the update expression is "
                                        "invalid for update");
    expect_apply_error("SET l.x = :v", "The document path provided in the update expression is "
                                       "invalid for update");
    expect_apply_error("ADD nope.x :v", "The document path provided in the update expression is "
                                        "invalid for update");
    expect_apply_error("SET a = :big + :half",
                       "Attempting to store more than 38 significant digits in a Number");
    expect_apply_error("SET a = :huge + :huge", "Number overflow. Attempting to store a number "
                                                "with magnitude larger than supported range");
    expect_apply_error("SET a = :big + :tiny",
                       "Attempting to store more than 38 significant digits in a Number");
    expect_apply_error("SET a = :big + :v", NULL);
}

static void test_nesting_limit(void **state)
{
    struct value *deep = N(1), out;
    int i;

    (void)state;
    for (i = 0; i < 31; i++)
        deep = M(1, "d", deep);
    val(":deep", deep);
    /* item (1) + m (1) + 31 maps = 33 levels */
    assert_int_equal(ddb_apply_update(parse("SET m.q = :deep"), item(), &T, &out, &R.err),
                     CR_EINVAL);
    assert_string_equal(R.err.msg, "Nesting Levels have exceeded supported limits");
    assert_int_equal(ddb_apply_update(parse("SET q = :deep"), item(), &T, &out, &R.err), 0);
}

static void test_updated_attributes(void **state)
{
    struct ddb_update *u;
    struct value *it = item(), out_new, proj;

    (void)state;
    val(":v", N(1));
    u = parse("SET m.x = m.x + :v, z = :v REMOVE s, l[1]");
    assert_int_equal(ddb_apply_update(u, it, &T, &out_new, &R.err), 0);
    assert_int_equal(ddb_update_project(u, it, &T, &proj), 0);
    assert_true(value_equal(&proj, M(3, "m", M(1, "x", N(1)), "s", S("str"), "l", L(1, S("l1")))));
    assert_int_equal(ddb_update_project(u, &out_new, &T, &proj), 0);
    assert_true(value_equal(&proj, M(3, "m", M(1, "x", N(2)), "z", N(1), "l", L(1, S("l2")))));
}

static void test_decimal_arith(void **state)
{
    static const struct {
        const char *a, *b, *sum, *diff;
    } cases[] = {
        {"1", "2", "3", "-1"},
        {"0.1", "0.2", "0.3", "-0.1"},
        {"-5", "5", "0", "-10"},
        {"99", "1", "100", "98"},
        {"1E+100", "-1E+100", "0", "2E+100"},
        {"12345678901234567890123456789012345678", "1", "12345678901234567890123456789012345679",
         "12345678901234567890123456789012345677"},
        {"1E-130", "1E-130", "2E-130", "0"},
        {"0", "-0.001", "-0.001", "0.001"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct decimal a, b, r, want;

        assert_int_equal(decimal_parse(cases[i].a, strlen(cases[i].a), &a), 0);
        assert_int_equal(decimal_parse(cases[i].b, strlen(cases[i].b), &b), 0);
        assert_int_equal(decimal_add(&a, &b, &r), 0);
        assert_int_equal(decimal_parse(cases[i].sum, strlen(cases[i].sum), &want), 0);
        assert_int_equal(decimal_compare(&r, &want), 0);
        assert_true(decimal_is_normal(&r));
        assert_int_equal(decimal_sub(&a, &b, &r), 0);
        assert_int_equal(decimal_parse(cases[i].diff, strlen(cases[i].diff), &want), 0);
        assert_int_equal(decimal_compare(&r, &want), 0);
        assert_true(decimal_is_normal(&r));
    }
    {
        struct decimal a, b, r;

        decimal_parse("1E+125", 6, &a);
        decimal_parse("9E+125", 6, &b);
        assert_int_equal(decimal_add(&a, &b, &r), CR_ENUMBER);
        decimal_parse("1E+30", 5, &a);
        decimal_parse("1E-30", 5, &b);
        assert_int_equal(decimal_add(&a, &b, &r), CR_ENUMBER);
        decimal_parse("1.000000000000000000000000000000000001E-100", 43, &a);
        decimal_parse("1E-100", 6, &b);
        assert_int_equal(decimal_sub(&a, &b, &r), CR_ENUMBER); /* 1E-136: underflow */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_remove, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_add_delete, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_parse_errors, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_apply_errors, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_nesting_limit, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_updated_attributes, ddb_test_setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_decimal_arith, ddb_test_setup, ddb_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
