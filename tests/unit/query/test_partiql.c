/*
 * query/partiql_*.c: every statement kind parsed and translated into ddb_expr text, literals and
 * parameters, the Query/Scan/GetItem choice, the write conditions, and the errors. Every text a
 * translation produces is also run through ddb_expr's own parsers, which must accept it.
 */
#include "ddb_test.h"
#include "query/partiql.h"

static struct table_def DEF; /* pk S, sk N */

static int setup(void **state)
{
    ddb_test_setup(state);
    memset(&DEF, 0, sizeof DEF);
    strcpy(DEF.name, "t");
    strcpy(DEF.pk_name, "pk");
    DEF.pk_type = KEY_S;
    DEF.has_sk = true;
    strcpy(DEF.sk_name, "sk");
    DEF.sk_type = KEY_N;
    return 0;
}

/* The translated texts must be what ddb_expr accepts, with every placeholder used. */
static void check_texts(const struct partiql_op *op)
{
    static const struct ddb_key_schema keys = {"pk", 2, "sk", 2};
    struct ddb_ctx c;
    struct ddb_err err;
    struct ddb_cond *cond;
    struct ddb_update *upd;
    struct ddb_projection *proj;
    struct ddb_key_cond kc;

    assert_int_equal(ddb_ctx_init(&c, &T, op->names, op->n_names, op->values, op->n_values, &err),
                     0);
    if (op->projection &&
        ddb_parse_projection(&c, op->projection, strlen(op->projection), &proj, &err) != 0)
        fail_msg("%s: %s", op->projection, err.msg);
    if (op->key_condition &&
        ddb_parse_key_condition(&c, op->key_condition, strlen(op->key_condition), &keys, &kc,
                                &err) != 0)
        fail_msg("%s: %s", op->key_condition, err.msg);
    if (op->filter &&
        ddb_parse_condition(&c, DDB_FILTER, op->filter, strlen(op->filter), &cond, &err) != 0)
        fail_msg("%s: %s", op->filter, err.msg);
    if (op->condition && ddb_parse_condition(&c, DDB_CONDITION, op->condition,
                                             strlen(op->condition), &cond, &err) != 0)
        fail_msg("%s: %s", op->condition, err.msg);
    if (op->update && ddb_parse_update(&c, op->update, strlen(op->update), &keys, &upd, &err) != 0)
        fail_msg("%s: %s", op->update, err.msg);
    if (ddb_ctx_check_unused(&c, &err) != 0)
        fail_msg("%s", err.msg);
}

static struct partiql_op *tr_params(const char *text, const struct value *params, size_t n)
{
    struct partiql_op *op = cr_arena_alloc(&T, sizeof *op);
    struct partiql_stmt *s;
    struct ddb_err err;

    if (partiql_parse(&T, text, strlen(text), params, n, &s, &err) != 0)
        fail_msg("parse \"%s\": %s", text, err.msg);
    if (partiql_translate(s, &DEF, &T, op, &err) != 0)
        fail_msg("translate \"%s\": %s", text, err.msg);
    check_texts(op);
    return op;
}

static struct partiql_op *tr(const char *text)
{
    return tr_params(text, NULL, 0);
}

/* The error message of text (parse or translation). */
static const char *error_params(const char *text, const struct value *params, size_t n)
{
    struct partiql_op op;
    struct partiql_stmt *s;
    static struct ddb_err err;
    int rc = partiql_parse(&T, text, strlen(text), params, n, &s, &err);

    if (rc == 0)
        rc = partiql_translate(s, &DEF, &T, &op, &err);
    assert_int_equal(rc, CR_EINVAL);
    assert_int_equal(err.code, CR_EINVAL);
    return err.msg;
}

static const char *error(const char *text)
{
    return error_params(text, NULL, 0);
}

static const struct value *value_of(const struct partiql_op *op, const char *ph)
{
    for (size_t i = 0; i < op->n_values; i++)
        if (strcmp(op->values[i].placeholder, ph) == 0)
            return op->values[i].value;
    fail_msg("no value %s", ph);
    return NULL;
}

static void assert_name(const struct partiql_op *op, const char *ph, const char *name)
{
    for (size_t i = 0; i < op->n_names; i++)
        if (strcmp(op->names[i].placeholder, ph) == 0) {
            assert_int_equal(op->names[i].name_len, strlen(name));
            assert_memory_equal(op->names[i].name, name, strlen(name));
            return;
        }
    fail_msg("no name %s", ph);
}

#define WF "Statement wasn't well formed, can't be processed: "

static void test_select_query(void **state)
{
    struct partiql_op *op;

    (void)state;
    op = tr("SELECT * FROM \"t\" WHERE pk = 'a'");
    assert_int_equal(op->kind, PARTIQL_SELECT);
    assert_string_equal(op->key_condition, "#n0 = :v0");
    assert_null(op->filter);
    assert_null(op->projection);
    assert_false(op->get);
    assert_name(op, "#n0", "pk");
    assert_true(value_equal(value_of(op, ":v0"), S("a")));

    op = tr("select a, b.c, \"d e\"[2] from t where 'a' = \"pk\" and 3 < sk and x <> 1 "
            "order by sk desc");
    assert_string_equal(op->projection, "#n0, #n1.#n2, #n3[2]");
    assert_int_equal(op->n_projection_names, 4);
    assert_string_equal(op->key_condition, "#n4 = :v0 AND #n5 > :v1");
    assert_string_equal(op->filter, "#n6 <> :v2");
    assert_true(op->reverse);
    assert_name(op, "#n3", "d e");

    op = tr("SELECT * FROM t WHERE pk = 'a' AND begins_with(sk, 'x') AND sk BETWEEN 1 AND 2");
    assert_string_equal(op->key_condition, "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2");
    assert_string_equal(op->filter, "begins_with(#n1, :v3)"); /* not on a number key */
}

static void test_select_get_and_scan(void **state)
{
    struct partiql_op *op;

    (void)state;
    op = tr("SELECT v FROM t WHERE pk = 'a' AND sk = 1");
    assert_true(op->get);
    assert_int_equal(op->key.type, VT_MAP);
    assert_int_equal(op->key.u.map.n, 2);
    assert_true(value_equal(value_map_get(&op->key, "sk", 2), N(1)));
    assert_int_equal(op->n_projection_names, 1);

    op = tr("SELECT * FROM t WHERE pk = 1"); /* wrong type: no key condition */
    assert_null(op->key_condition);
    assert_string_equal(op->filter, "#n0 = :v0");

    op = tr("SELECT * FROM t WHERE pk = 'a' OR pk = 'b'");
    assert_null(op->key_condition);
    assert_string_equal(op->filter, "#n0 = :v0 OR #n0 = :v1");
    op = tr("SELECT * FROM t WHERE (pk = 'a' OR pk = 'b') AND x = 1");
    assert_string_equal(op->filter, "(#n0 = :v0 OR #n0 = :v1) AND #n1 = :v2");

    op = tr("SELECT * FROM t.idx WHERE pk = 'a'");
    assert_null(op->key_condition);
    assert_int_equal(op->index_len, 3);
    assert_memory_equal(op->index, "idx", 3);

    op = tr("SELECT * FROM t");
    assert_null(op->key_condition);
    assert_null(op->filter);
}

static void test_conditions(void **state)
{
    struct partiql_op *op;

    (void)state;
    op = tr("SELECT * FROM t WHERE (a = 1 OR b = 2) AND NOT (c < 3 AND d >= 4) AND "
            "e NOT IN [1, 2] AND f IN (3) AND g NOT BETWEEN 1 AND 2 AND h IS MISSING AND "
            "i IS NOT MISSING AND j IS NULL AND k IS NOT NULL AND contains(l, 'x') AND "
            "attribute_type(m, 'S') AND size(n) > 1 AND o != 1 AND NOT NOT p = 1");
    assert_string_equal(op->filter,
                        "(#n0 = :v0 OR #n1 = :v1) AND NOT (#n2 < :v2 AND #n3 >= :v3) AND "
                        "NOT #n4 IN (:v4, :v5) AND #n5 IN (:v6) AND NOT #n6 BETWEEN :v7 AND :v8 "
                        "AND attribute_not_exists(#n7) AND attribute_exists(#n8) AND "
                        "attribute_type(#n9, :v9) AND NOT attribute_type(#n10, :v10) AND "
                        "contains(#n11, :v11) AND attribute_type(#n12, :v12) AND "
                        "size(#n13) > :v13 AND #n14 <> :v14 AND NOT NOT #n15 = :v15");
    assert_true(value_equal(value_of(op, ":v9"), S("NULL")));
}

static void test_literals(void **state)
{
    struct partiql_op *op;
    const struct value *it;

    (void)state;
    op = tr("INSERT INTO \"t\" VALUE {'pk': 'it''s', 'sk': -1.50e1, 'b': TRUE, 'z': null, "
            "'l': [1, 'a', []], 'm': {'x': {}}, 'ss': <<'b', 'a'>>, 'ns': <<2, 1>>}");
    it = &op->item;
    assert_int_equal(op->kind, PARTIQL_INSERT);
    assert_string_equal(op->condition, "attribute_not_exists(#n0)");
    assert_true(value_equal(value_map_get(it, "pk", 2), S("it's")));
    assert_true(value_equal(value_map_get(it, "sk", 2), N(-15)));
    assert_true(value_equal(value_map_get(it, "b", 1), BOOLV(true)));
    assert_true(value_equal(value_map_get(it, "z", 1), NUL()));
    assert_true(value_equal(value_map_get(it, "l", 1), L(3, N(1), S("a"), L0())));
    assert_true(value_equal(value_map_get(it, "m", 1), M(1, "x", M(0))));
    assert_int_equal(value_map_get(it, "ss", 2)->type, VT_SS);
    assert_int_equal(value_map_get(it, "ns", 2)->type, VT_NS);
}

static void test_parameters(void **state)
{
    struct value params[3];
    struct partiql_op *op;

    (void)state;
    params[0] = *S("a");
    params[1] = *N(7);
    params[2] = *M(1, "x", N(1));
    op = tr_params("SELECT * FROM t WHERE pk = ? AND sk = ? AND m = ?", params, 3);
    assert_true(op->get == false);
    assert_true(value_equal(value_of(op, ":v2"), M(1, "x", N(1))));
    op = tr_params("INSERT INTO t VALUE {'pk': ?, 'sk': ?, 'l': [?]}", params, 3);
    assert_true(value_equal(value_map_get(&op->item, "l", 1), L(1, M(1, "x", N(1)))));
    op = tr_params("INSERT INTO t VALUE ?", &params[2], 1);
    assert_true(value_equal(&op->item, M(1, "x", N(1))));
    assert_string_equal(error_params("SELECT * FROM t WHERE pk = ?", params, 2),
                        WF "Number of parameters in request and statement don't match.");
    assert_string_equal(error("SELECT * FROM t WHERE pk = ?"),
                        WF "Number of parameters in request and statement don't match.");
}

static void test_update(void **state)
{
    struct partiql_op *op;

    (void)state;
    op = tr("UPDATE t SET a = 1, b.c[0] = b.c[1] + 2 REMOVE d SET e = set_add(e, <<'x'>>) "
            "SET f = set_delete(f, <<1>>) SET g = list_append(g, [1]) "
            "SET h = if_not_exists(h, 0) - 1 WHERE pk = 'k' AND sk = 1 AND a > 0 "
            "RETURNING MODIFIED NEW *");
    assert_int_equal(op->kind, PARTIQL_UPDATE);
    assert_string_equal(op->update,
                        "SET #n0 = :v0, #n1.#n2[0] = #n1.#n2[1] + :v1, #n3 = list_append(#n3, "
                        ":v2), #n4 = if_not_exists(#n4, :v3) - :v4 REMOVE #n5 ADD #n6 :v5 "
                        "DELETE #n7 :v6");
    assert_string_equal(op->condition, "attribute_exists(#n8) AND #n0 > :v7");
    assert_int_equal(op->returning, PARTIQL_RET_MODIFIED_NEW);
    assert_true(value_equal(value_map_get(&op->key, "pk", 2), S("k")));
    assert_true(value_equal(value_map_get(&op->key, "sk", 2), N(1)));
    op = tr("UPDATE t REMOVE a WHERE sk = 1 AND pk = 'k'");
    assert_string_equal(op->update, "REMOVE #n0");
    assert_string_equal(op->condition, "attribute_exists(#n1)");
    assert_int_equal(op->returning, PARTIQL_RET_NONE);
}

static void test_delete(void **state)
{
    struct partiql_op *op;

    (void)state;
    op = tr("DELETE FROM t WHERE pk = 'k' AND sk = 1");
    assert_int_equal(op->kind, PARTIQL_DELETE);
    assert_null(op->condition);
    assert_int_equal(op->key.u.map.n, 2);
    op = tr("DELETE FROM t WHERE pk = 'k' AND sk = 1 AND (a = 1 OR b = 2) AND c = 3 "
            "RETURNING ALL OLD *");
    assert_string_equal(op->condition,
                        "attribute_not_exists(#n0) OR (#n1 = :v0 OR #n2 = :v1) AND #n3 = :v2");
    assert_int_equal(op->returning, PARTIQL_RET_ALL_OLD);
}

static void test_errors(void **state)
{
    char big[PARTIQL_MAX_LEN + 2];

    (void)state;
    assert_string_equal(error(""), WF "Unexpected end of statement");
    assert_string_equal(error("SELEC * FROM t"), WF "Unexpected token: SELEC");
    assert_string_equal(error("SELECT * FROM t WHERE"), WF "Unexpected end of statement");
    assert_string_equal(error("SELECT * FROM t WHERE a = 'x"), WF "Unterminated string");
    assert_string_equal(error("SELECT * FROM \"t"), WF "Unterminated quoted identifier");
    assert_string_equal(error("SELECT * FROM t WHERE a = 1 extra"), WF "Unexpected token: extra");
    assert_string_equal(error("SELECT * FROM t WHERE a ~ 1"), WF "Unexpected character: ~");
    assert_string_equal(error("SELECT * FROM t WHERE foo(a)"), WF "Unsupported function: foo");
    assert_string_equal(error("SELECT * FROM t WHERE a"),
                        WF "Expected a condition in the WHERE clause");
    assert_string_equal(error("SELECT * FROM t WHERE a + 1 = 2"),
                        WF "Unsupported operand in a condition: only attribute paths, values and "
                           "size() compare");
    assert_string_equal(error("SELECT * FROM t ORDER BY sk"),
                        WF "ORDER BY needs a WHERE clause with an equality on the partition key, "
                           "and orders by a key attribute");
    assert_string_equal(error("INSERT INTO t VALUE {'a': <<>>}"),
                        WF "Empty sets are not supported");
    assert_string_equal(error("INSERT INTO t VALUE {'a': <<1, 'x'>>}"),
                        WF "A set holds strings, numbers or binaries, all of one type");
    assert_string_equal(error("INSERT INTO t VALUE {'a': <<1, 1.0>>}"),
                        WF "Duplicate value in a set");
    assert_string_equal(error("INSERT INTO t VALUE {'a': 1, 'a': 2}"), WF "Duplicate key in a map");
    assert_string_equal(error("INSERT INTO t VALUE {'a': 1e999}"),
                        WF "Number overflow or too many significant digits: 1e999");
    assert_string_equal(error("INSERT INTO t VALUE {'a': 1..2}"), WF "Invalid number: 1..2");
    assert_string_equal(error("INSERT INTO t VALUE [1]"), WF "Unexpected token: [");
    assert_string_equal(error("UPDATE t WHERE pk = 'a' AND sk = 1"), WF "Unexpected token: WHERE");
    assert_string_equal(error("UPDATE t SET a = 1 WHERE pk = 'a'"),
                        WF "Where clause does not contain a mandatory equality on all key "
                           "attributes");
    assert_string_equal(error("DELETE FROM t WHERE pk = 'a' OR sk = 1"),
                        WF "Where clause does not contain a mandatory equality on all key "
                           "attributes");
    assert_string_equal(error("DELETE FROM t WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *"),
                        WF "DELETE supports only RETURNING ALL OLD *");
    assert_string_equal(error("UPDATE t SET a = set_add(b, <<1>>) WHERE pk = 'a' AND sk = 1"),
                        WF "set_add takes the attribute being set and a set value: SET s = "
                           "set_add(s, <<...>>)");
    assert_string_equal(error("UPDATE t SET a = size(b) WHERE pk = 'a' AND sk = 1"),
                        WF "Unsupported value in SET: use values, paths, +, -, list_append, "
                           "if_not_exists, set_add or set_delete");
    memset(big, ' ', sizeof big);
    big[sizeof big - 1] = 0;
    assert_string_equal(error(big), WF "Statement length exceeds the limit of 8192");
    strcpy(big, "SELECT * FROM t WHERE ");
    memset(big + strlen(big), '(', 40);
    strcpy(big + strlen("SELECT * FROM t WHERE ") + 40, "a = 1");
    assert_string_equal(error_params(big, NULL, 0),
                        WF "Nesting Levels have exceeded supported limits");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_select_query, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_select_get_and_scan, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_conditions, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_literals, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_parameters, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, ddb_test_teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, ddb_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
