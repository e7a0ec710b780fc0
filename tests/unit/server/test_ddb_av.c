/* server/http/ddb_av.c: every AttributeValue type both ways, canonical numbers, and each
 * rejection with its DynamoDB text. */
#include "common/error.h"
#include "server/http/ddb_av.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define INVALID "One or more parameter values were invalid: "

static struct cr_arena arena;

static int setup(void **state)
{
    cr_arena_init(&arena, 0);
    return 0;
}

static int teardown(void **state)
{
    cr_arena_free(&arena);
    return 0;
}

/* Parses one AttributeValue from text; returns the code, with the value and message. */
static int parse(const char *text, struct value *v, struct errmsg *e)
{
    json_t *j = json_loads(text, 0, NULL);
    int rc;

    assert_non_null(j);
    errmsg_clear(e);
    rc = ddb_av_to_value(j, &arena, v, e);
    if (rc == 0) {
        struct value copy;
        assert_int_equal(0, value_clone(v, &arena, &copy)); /* outlive the JSON */
        *v = copy;
    }
    json_decref(j);
    return rc;
}

/* Text -> value -> text. */
static char *round_trip(const char *text)
{
    struct value v;
    struct errmsg e;
    json_t *out;
    char *s;

    assert_int_equal(0, parse(text, &v, &e));
    out = ddb_av_from_value(&v);
    assert_non_null(out);
    s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    return s;
}

static void expect_same(const char *in, const char *want)
{
    char *got = round_trip(in);

    assert_string_equal(want, got);
    free(got);
}

static void expect_error(const char *in, int code, const char *message)
{
    struct value v;
    struct errmsg e;

    assert_int_equal(code, parse(in, &v, &e));
    assert_string_equal(message, e.text);
}

static void test_scalars(void **state)
{
    struct value v;
    struct errmsg e;

    expect_same("{\"S\":\"h\\u00e9llo\"}", "{\"S\":\"h\xc3\xa9llo\"}");
    expect_same("{\"S\":\"\"}", "{\"S\":\"\"}");
    expect_same("{\"N\":\"-012.50\"}", "{\"N\":\"-12.5\"}");
    expect_same("{\"N\":\"1.5e3\"}", "{\"N\":\"1500\"}");
    expect_same("{\"N\":\"0.000\"}", "{\"N\":\"0\"}");
    expect_same("{\"B\":\"AAEC/w==\"}", "{\"B\":\"AAEC/w==\"}");
    expect_same("{\"B\":\"\"}", "{\"B\":\"\"}");
    expect_same("{\"NULL\":true}", "{\"NULL\":true}");
    expect_same("{\"BOOL\":false}", "{\"BOOL\":false}");
    assert_int_equal(0, parse("{\"B\":\"YWI=\"}", &v, &e));
    assert_int_equal(VT_BYTES, v.type);
    assert_int_equal(2, v.u.s.len);
    assert_memory_equal("ab", v.u.s.ptr, 2);
    assert_int_equal(0, parse("{\"N\":\"42\"}", &v, &e));
    assert_int_equal(VT_DECIMAL, v.type);
}

static void test_containers(void **state)
{
    expect_same("{\"M\":{\"b\":{\"N\":\"1\"},\"a\":{\"L\":[{\"S\":\"x\"},{\"NULL\":true}]}}}",
                "{\"M\":{\"a\":{\"L\":[{\"S\":\"x\"},{\"NULL\":true}]},\"b\":{\"N\":\"1\"}}}");
    expect_same("{\"L\":[]}", "{\"L\":[]}");
    expect_same("{\"M\":{}}", "{\"M\":{}}");
    expect_same("{\"SS\":[\"b\",\"a\"]}", "{\"SS\":[\"b\",\"a\"]}");
    expect_same("{\"NS\":[\"1.50\",\"-2\"]}", "{\"NS\":[\"1.5\",\"-2\"]}");
    expect_same("{\"BS\":[\"AQ==\"]}", "{\"BS\":[\"AQ==\"]}");
}

static void test_item(void **state)
{
    json_t *j = json_loads("{\"id\":{\"S\":\"k\"},\"n\":{\"N\":\"7\"}}", 0, NULL);
    struct value v;
    struct errmsg e;
    json_t *out;

    assert_int_equal(0, ddb_item_to_value(j, &arena, &v, &e));
    assert_int_equal(VT_MAP, v.type);
    assert_int_equal(2, v.u.map.n);
    assert_non_null(value_map_get(&v, "n", 1));
    out = ddb_item_from_value(&v);
    assert_true(json_equal(j, out));
    json_decref(out);
    json_decref(j);
}

static void test_numbers_rejected(void **state)
{
    expect_error("{\"N\":\"abc\"}", CR_EINVAL,
                 "The parameter cannot be converted to a numeric value: abc");
    expect_error("{\"N\":\"\"}", CR_EINVAL,
                 "The parameter cannot be converted to a numeric value: ");
    expect_error("{\"N\":\"123456789012345678901234567890123456789\"}", CR_ENUMBER,
                 "Attempting to store more than 38 significant digits in a Number");
    expect_error("{\"N\":\"1E+126\"}", CR_ENUMBER,
                 "Number overflow. Attempting to store a number with magnitude larger than "
                 "supported range");
    expect_error("{\"N\":\"-0.1E-130\"}", CR_ENUMBER,
                 "Number underflow. Attempting to store a number with magnitude smaller than "
                 "supported range");
    /* Exponents beyond a long: the fuzzer found the overflow in the magnitude arithmetic. */
    expect_error("{\"N\":\"1e99999999999999999999\"}", CR_ENUMBER,
                 "Number overflow. Attempting to store a number with magnitude larger than "
                 "supported range");
    expect_error("{\"N\":\"1e-99999999999999999999\"}", CR_ENUMBER,
                 "Number underflow. Attempting to store a number with magnitude smaller than "
                 "supported range");
    expect_error("{\"N\":1}", CR_EPROTO, "NUMBER_VALUE cannot be converted to String");
}

static void test_values_rejected(void **state)
{
    char deep[512] = "";
    size_t n = 0;

    expect_error("{}", CR_EINVAL,
                 INVALID "Supplied AttributeValue is empty, must contain exactly one of the "
                         "supported datatypes");
    expect_error("{\"S\":\"a\",\"N\":\"1\"}", CR_EINVAL,
                 INVALID "Supplied AttributeValue has more than one datatypes set, must contain "
                         "exactly one of the supported datatypes");
    expect_error("{\"NULL\":false}", CR_EINVAL,
                 INVALID "Null attribute value types must have the value of true");
    expect_error("{\"SS\":[]}", CR_EINVAL, INVALID "An string set  may not be empty");
    expect_error("{\"NS\":[]}", CR_EINVAL, INVALID "An number set  may not be empty");
    expect_error("{\"BS\":[]}", CR_EINVAL, INVALID "Binary sets should not be empty");
    expect_error("{\"SS\":[\"x\",\"y\",\"x\"]}", CR_EINVAL,
                 INVALID "Input collection [x, y, x] contains duplicates.");
    expect_error("{\"NS\":[\"1\",\"1.00\"]}", CR_EINVAL,
                 INVALID "Input collection [1, 1.00] contains duplicates.");
    expect_error("{\"B\":\"abc\"}", CR_EPROTO,
                 "Base64 encoded length is expected a multiple of 4 bytes but found: 3");
    expect_error("{\"B\":\"ab!=\"}", CR_EPROTO, "Invalid Base64 character: '!'");
    expect_error("{\"S\":1}", CR_EPROTO, "Unexpected value type in payload");
    expect_error("[]", CR_EPROTO, "Unexpected value type in payload");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"L\":[");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"NULL\":true}");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "]}");
    expect_error(deep, CR_ENESTING, "Nesting Levels have exceeded supported limits");
}

static void test_other_types_out(void **state)
{
    struct value v = value_int(-42);
    json_t *j = ddb_av_from_value(&v);

    assert_string_equal("-42", json_string_value(json_object_get(j, "N")));
    json_decref(j);
    v = value_double(0.25);
    j = ddb_av_from_value(&v);
    assert_string_equal("0.25", json_string_value(json_object_get(j, "N")));
    json_decref(j);
    v.type = VT_TIMESTAMP;
    v.u.ts.sec = 0;
    v.u.ts.nsec = 5;
    j = ddb_av_from_value(&v);
    assert_string_equal("1970-01-01T00:00:00.000000005Z",
                        json_string_value(json_object_get(j, "S")));
    json_decref(j);
    v = value_string("x", 1);
    assert_null(ddb_item_from_value(&v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_types_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
