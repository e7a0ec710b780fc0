/*
 * The CLI's JSON <-> value mapping (tools/json.c): plain JSON, every $-shape in both
 * directions, big integers, base64, RFC 3339, output formatting, and bad input of each kind.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/json.h"

static char err[256];

static struct cirrus_value parse_ok(const char *text)
{
    struct cirrus_value v;

    err[0] = '\0';
    if (jsonv_parse(text, &v, err, sizeof(err)) != 0)
        fail_msg("parse of %s failed: %s", text, err);
    return v;
}

static void parse_bad(const char *text, const char *msg_part)
{
    struct cirrus_value v;

    err[0] = '\0';
    assert_int_equal(jsonv_parse(text, &v, err, sizeof(err)), CR_EINVAL);
    assert_int_equal(v.type, CIRRUS_NULL);
    if (strstr(err, msg_part) == NULL)
        fail_msg("error for %s was '%s', wanted '%s'", text, err, msg_part);
}

/* Parses text, prints it, and checks the printed form. */
static void roundtrip(const char *text, const char *want)
{
    struct cirrus_value v = parse_ok(text), back;
    char *out = jsonv_dumps(&v);

    assert_non_null(out);
    if (strcmp(out, want) != 0)
        fail_msg("%s printed as %s, wanted %s", text, out, want);
    back = parse_ok(out);
    assert_true(cirrus_value_equal(&v, &back));
    free(out);
    cirrus_value_clear(&v);
    cirrus_value_clear(&back);
}

static void test_plain_json(void **state)
{
    struct cirrus_value v;
    const struct cirrus_value *f;

    (void)state;
    v = parse_ok("{\"s\":\"x\",\"i\":-3,\"d\":1.5,\"t\":true,\"f\":false,\"n\":null,"
                 "\"a\":[1,\"a\"],\"m\":{\"k\":{}}}");
    assert_int_equal(v.type, CIRRUS_MAP);
    assert_int_equal(v.u.map.len, 8);
    assert_int_equal(cirrus_map_get(&v, "s")->type, CIRRUS_STRING);
    assert_int_equal(cirrus_map_get(&v, "i")->u.i, -3);
    assert_true(cirrus_map_get(&v, "d")->u.d == 1.5);
    assert_int_equal(cirrus_map_get(&v, "t")->u.b, 1);
    assert_int_equal(cirrus_map_get(&v, "f")->type, CIRRUS_BOOL);
    assert_int_equal(cirrus_map_get(&v, "f")->u.b, 0);
    assert_int_equal(cirrus_map_get(&v, "n")->type, CIRRUS_NULL);
    f = cirrus_map_get(&v, "a");
    assert_int_equal(f->type, CIRRUS_ARRAY);
    assert_int_equal(f->u.list.items[1].type, CIRRUS_STRING);
    f = cirrus_map_get(cirrus_map_get(&v, "m"), "k");
    assert_int_equal(f->type, CIRRUS_MAP);
    assert_int_equal(f->u.map.len, 0);
    cirrus_value_clear(&v);
    roundtrip("{\"s\":\"x\",\"i\":-3,\"d\":1.5,\"a\":[true,false,null],\"m\":{}}",
              "{\"s\":\"x\",\"i\":-3,\"d\":1.5,\"a\":[true,false,null],\"m\":{}}");
    roundtrip("\"top-level string\"", "\"top-level string\"");
}

static void test_big_integers(void **state)
{
    struct cirrus_value v;

    (void)state;
    v = parse_ok("9223372036854775807");
    assert_int_equal(v.type, CIRRUS_INT);
    assert_true(v.u.i == INT64_MAX);
    v = parse_ok("-9223372036854775808");
    assert_true(v.type == CIRRUS_INT && v.u.i == INT64_MIN);
    v = parse_ok("9223372036854775808");
    assert_int_equal(v.type, CIRRUS_DECIMAL);
    assert_string_equal(v.u.str.ptr, "9223372036854775808");
    cirrus_value_clear(&v);
    v = parse_ok("[\"123456789012345678901234567890\", -123456789012345678901234567890]");
    assert_int_equal(v.u.list.items[0].type, CIRRUS_STRING);
    assert_int_equal(v.u.list.items[1].type, CIRRUS_DECIMAL);
    assert_string_equal(v.u.list.items[1].u.str.ptr, "-123456789012345678901234567890");
    cirrus_value_clear(&v);
    /* An escaped quote inside a string doesn't end it. */
    v = parse_ok("[\"a\\\"99999999999999999999\", 1]");
    assert_int_equal(v.u.list.items[0].type, CIRRUS_STRING);
    assert_string_equal(v.u.list.items[0].u.str.ptr, "a\"99999999999999999999");
    cirrus_value_clear(&v);
    roundtrip("{\"n\":99999999999999999999999}",
              "{\"n\":{\"$decimal\":\"99999999999999999999999\"}}");
}

static void test_doubles(void **state)
{
    struct cirrus_value v;

    (void)state;
    roundtrip("0.1", "0.1");
    roundtrip("1.0", "1.0");
    roundtrip("-2.5e-300", "-2.5e-300");
    roundtrip("1e300", "1e+300");
    roundtrip("0.30000000000000004", "0.30000000000000004");
    roundtrip("{\"$double\":\"NaN\"}", "{\"$double\":\"NaN\"}");
    roundtrip("{\"$double\":\"Infinity\"}", "{\"$double\":\"Infinity\"}");
    roundtrip("{\"$double\":\"-Infinity\"}", "{\"$double\":\"-Infinity\"}");
    roundtrip("{\"$double\":3}", "3.0");
    v = parse_ok("{\"$double\":\"NaN\"}");
    assert_true(v.type == CIRRUS_DOUBLE && isnan(v.u.d));
    parse_bad("{\"$double\":\"nan\"}", "$double");
    parse_bad("1e999", "bad JSON");
}

static void test_bytes_and_base64(void **state)
{
    struct cirrus_value v;
    uint8_t raw[10], *dec;
    char enc[32];
    size_t n, i, len;

    (void)state;
    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(0xF0 + i * 7);
    for (n = 0; n <= sizeof(raw); n++) {
        len = jsonv_base64_encode(raw, n, enc);
        assert_int_equal(len, 4 * ((n + 2) / 3));
        assert_int_equal(jsonv_base64_decode(enc, len, &dec, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(dec, raw, n);
        free(dec);
    }
    v = parse_ok("{\"$bytes\":\"AAEC/w==\"}");
    assert_int_equal(v.type, CIRRUS_BYTES);
    assert_int_equal(v.u.str.len, 4);
    assert_memory_equal(v.u.str.ptr, "\x00\x01\x02\xff", 4);
    cirrus_value_clear(&v);
    v = parse_ok("{\"$bytes\":\"AAEC/w\"}"); /* padding is optional */
    assert_int_equal(v.u.str.len, 4);
    cirrus_value_clear(&v);
    roundtrip("{\"$bytes\":\"\"}", "{\"$bytes\":\"\"}");
    roundtrip("{\"$bytes\":\"aGk=\"}", "{\"$bytes\":\"aGk=\"}");
    parse_bad("{\"$bytes\":\"A\"}", "base64");
    parse_bad("{\"$bytes\":\"ab$d\"}", "base64");
    parse_bad("{\"$bytes\":\"aGl=\"}", "base64"); /* non-zero leftover bits */
    parse_bad("{\"$bytes\":5}", "base64");
}

static void test_decimal(void **state)
{
    struct cirrus_value v;

    (void)state;
    v = parse_ok("{\"$decimal\":\"-12.50e-3\"}");
    assert_int_equal(v.type, CIRRUS_DECIMAL);
    assert_string_equal(v.u.str.ptr, "-12.50e-3");
    cirrus_value_clear(&v);
    roundtrip("{\"$decimal\":\"1.5\"}", "{\"$decimal\":\"1.5\"}");
    parse_bad("{\"$decimal\":\"abc\"}", "$decimal");
    parse_bad("{\"$decimal\":\"1.5x\"}", "$decimal");
    parse_bad("{\"$decimal\":\"\"}", "$decimal");
    parse_bad("{\"$decimal\":1.5}", "$decimal");
    parse_bad("{\"$decimal\":\"1e\"}", "$decimal");
}

static void test_timestamps(void **state)
{
    struct cirrus_value v;
    int64_t sec;
    int32_t nsec;
    char buf[64];

    (void)state;
    v = parse_ok("{\"$ts\":\"2024-05-01T12:00:00.5Z\"}");
    assert_int_equal(v.type, CIRRUS_TIMESTAMP);
    assert_int_equal(v.u.ts.sec, 1714564800);
    assert_int_equal(v.u.ts.nsec, 500000000);
    v = parse_ok("{\"$ts\":\"2024-05-01T14:00:00+02:00\"}");
    assert_int_equal(v.u.ts.sec, 1714564800);
    v = parse_ok("{\"$ts\":\"1969-12-31T23:59:59.123456789Z\"}");
    assert_int_equal(v.u.ts.sec, -1);
    assert_int_equal(v.u.ts.nsec, 123456789);
    v = parse_ok("{\"$ts\":{\"seconds\":-62135596801,\"nanos\":0}}");
    assert_true(v.u.ts.sec == -62135596801LL);
    assert_int_equal(jsonv_ts_parse("2000-02-29T00:00:00Z", &sec, &nsec), 0);
    assert_int_equal(sec, 951782400);
    assert_int_equal(jsonv_ts_parse("1900-02-29T00:00:00Z", &sec, &nsec), CR_EINVAL);
    assert_int_equal(jsonv_ts_format(0, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    assert_int_equal(jsonv_ts_format(-1, 250000000, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.25Z");
    assert_int_equal(jsonv_ts_format(253402300799LL, 999999999, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "9999-12-31T23:59:59.999999999Z");
    assert_int_equal(jsonv_ts_format(253402300800LL, 0, buf, sizeof(buf)), CR_EINVAL);
    roundtrip("{\"$ts\":\"2024-05-01T12:00:00.500Z\"}", "{\"$ts\":\"2024-05-01T12:00:00.5Z\"}");
    roundtrip("{\"$ts\":{\"seconds\":-62167219201,\"nanos\":5}}",
              "{\"$ts\":{\"seconds\":-62167219201,\"nanos\":5}}");
    parse_bad("{\"$ts\":\"2024-02-30T00:00:00Z\"}", "RFC 3339");
    parse_bad("{\"$ts\":\"2024-05-01 12:00\"}", "RFC 3339");
    parse_bad("{\"$ts\":\"2024-05-01T12:00:00\"}", "RFC 3339");
    parse_bad("{\"$ts\":\"2024-05-01T12:00:00.Z\"}", "RFC 3339");
    parse_bad("{\"$ts\":1714564800}", "RFC 3339");
}

static void test_geo_ref_sets_map(void **state)
{
    struct cirrus_value v;

    (void)state;
    v = parse_ok("{\"$geo\":[48.85, 2]}");
    assert_int_equal(v.type, CIRRUS_GEOPOINT);
    assert_true(v.u.geo.lat == 48.85 && v.u.geo.lon == 2.0);
    roundtrip("{\"$geo\":[48.85,2.35]}", "{\"$geo\":[48.85,2.35]}");
    parse_bad("{\"$geo\":[1]}", "$geo");
    parse_bad("{\"$geo\":[\"a\",1]}", "$geo");

    v = parse_ok("{\"$ref\":\"users/ann\"}");
    assert_int_equal(v.type, CIRRUS_REF);
    assert_string_equal(v.u.str.ptr, "users/ann");
    cirrus_value_clear(&v);
    roundtrip("{\"$ref\":\"users/ann\"}", "{\"$ref\":\"users/ann\"}");
    parse_bad("{\"$ref\":1}", "$ref");

    v = parse_ok("{\"$ss\":[\"a\",\"b\"]}");
    assert_int_equal(v.type, CIRRUS_STRING_SET);
    assert_int_equal(v.u.list.len, 2);
    cirrus_value_clear(&v);
    roundtrip("{\"$ss\":[\"a\",\"b\"]}", "{\"$ss\":[\"a\",\"b\"]}");
    parse_bad("{\"$ss\":[1]}", "$ss element 0");
    parse_bad("{\"$ss\":\"a\"}", "$ss needs an array");

    v = parse_ok(
        "{\"$ns\":[1, 2.5, \"1.5\", 123456789012345678901234567890, {\"$decimal\":\"7\"}]}");
    assert_int_equal(v.type, CIRRUS_NUMBER_SET);
    assert_int_equal(v.u.list.items[0].type, CIRRUS_INT);
    assert_int_equal(v.u.list.items[1].type, CIRRUS_DOUBLE);
    assert_int_equal(v.u.list.items[2].type, CIRRUS_DECIMAL);
    assert_int_equal(v.u.list.items[3].type, CIRRUS_DECIMAL);
    assert_int_equal(v.u.list.items[4].type, CIRRUS_DECIMAL);
    cirrus_value_clear(&v);
    roundtrip("{\"$ns\":[1,2.5,\"1.5\"]}", "{\"$ns\":[1,2.5,\"1.5\"]}");
    parse_bad("{\"$ns\":[true]}", "$ns element 0");
    parse_bad("{\"$ns\":[\"x\"]}", "$decimal");
    parse_bad("{\"$ns\":[{\"$bytes\":\"\"}]}", "$ns elements must be numbers");

    v = parse_ok("{\"$bs\":[\"AQ==\",\"\"]}");
    assert_int_equal(v.type, CIRRUS_BINARY_SET);
    assert_int_equal(v.u.list.items[0].u.str.len, 1);
    assert_int_equal(v.u.list.items[1].u.str.len, 0);
    cirrus_value_clear(&v);
    roundtrip("{\"$bs\":[\"AQ==\"]}", "{\"$bs\":[\"AQ==\"]}");
    parse_bad("{\"$bs\":[\"!\"]}", "base64");

    v = parse_ok("{\"$map\":{\"$bytes\":1}}");
    assert_int_equal(v.type, CIRRUS_MAP);
    assert_int_equal(cirrus_map_get(&v, "$bytes")->u.i, 1);
    cirrus_value_clear(&v);
    roundtrip("{\"$map\":{\"$bytes\":1}}", "{\"$map\":{\"$bytes\":1}}");
    /* Two keys: an ordinary map even when they start with $. */
    roundtrip("{\"$a\":1,\"$b\":2}", "{\"$a\":1,\"$b\":2}");
    parse_bad("{\"$map\":[1]}", "$map needs an object");
    parse_bad("{\"$byte\":\"AA==\"}", "unknown shape");
}

static void test_strings_out(void **state)
{
    struct cirrus_value v;
    char *out;

    (void)state;
    roundtrip("\"q\\\" b\\\\ n\\n t\\t c\\u0001 \\u00e9\"",
              "\"q\\\" b\\\\ n\\n t\\t c\\u0001 \xc3\xa9\"");
    /* Invalid UTF-8 (it may come from another front end) prints as U+FFFD. */
    assert_int_equal(cirrus_value_string(&v, "a\xff\xc3", 3), 0);
    out = jsonv_dumps(&v);
    assert_string_equal(out, "\"a\\ufffd\\ufffd\"");
    free(out);
    cirrus_value_clear(&v);
    assert_int_equal(cirrus_value_string(&v, "\xed\xa0\x80", 3), 0); /* a surrogate */
    out = jsonv_dumps(&v);
    assert_string_equal(out, "\"\\ufffd\\ufffd\\ufffd\"");
    free(out);
    cirrus_value_clear(&v);
}

static void test_bad_json(void **state)
{
    struct cirrus_value v, *cur, next;
    char *deep;
    int i;

    (void)state;
    parse_bad("{", "bad JSON");
    parse_bad("", "bad JSON");
    parse_bad("[1,]", "bad JSON");
    parse_bad("{'a':1}", "bad JSON");
    parse_bad("nul", "bad JSON");
    parse_bad("{\"a\":1} x", "bad JSON");
    deep = malloc(2 * (CIRRUS_MAX_DEPTH + 5) + 1);
    for (i = 0; i < CIRRUS_MAX_DEPTH + 5; i++)
        deep[i] = '[';
    for (; i < 2 * (CIRRUS_MAX_DEPTH + 5); i++)
        deep[i] = ']';
    deep[i] = '\0';
    parse_bad(deep, "nested deeper");
    free(deep);
    /* A deep value still prints (the server bounds depth; printing need not). */
    cirrus_value_container(&v, CIRRUS_ARRAY);
    cur = &v;
    for (i = 0; i < 10; i++) {
        cirrus_value_container(&next, CIRRUS_ARRAY);
        cirrus_list_append(cur, &next);
        cur = &cur->u.list.items[0];
    }
    cirrus_value_clear(&v);
}

static void test_prefix_parse(void **state)
{
    struct cirrus_value a, b;
    const char *end;
    char *text;

    (void)state;
    text = jsonv_rewrite_bigints("\"a b\" and 99999999999999999999 ");
    assert_non_null(text);
    assert_int_equal(jsonv_parse_prefix(text, &a, &end, err, sizeof(err)), 0);
    assert_int_equal(a.type, CIRRUS_STRING);
    assert_string_equal(a.u.str.ptr, "a b");
    assert_int_equal(strncmp(end, " and ", 5), 0);
    assert_int_equal(jsonv_parse_prefix(end + 5, &b, &end, err, sizeof(err)), 0);
    assert_int_equal(b.type, CIRRUS_DECIMAL);
    assert_string_equal(end, " ");
    cirrus_value_clear(&a);
    cirrus_value_clear(&b);
    free(text);
    assert_int_equal(jsonv_parse_prefix("12 and 13", &a, &end, err, sizeof(err)), 0);
    assert_int_equal(a.u.i, 12);
    assert_string_equal(end, " and 13");
}

/* Every kind, printed and parsed back, is the same value. */
static void test_every_kind_roundtrips(void **state)
{
    struct cirrus_value item, v, e, back;
    char *out;

    (void)state;
    cirrus_value_container(&item, CIRRUS_MAP);
    cirrus_value_null(&v);
    cirrus_map_set(&item, "null", &v);
    cirrus_value_bool(&v, 0);
    cirrus_map_set(&item, "bool", &v);
    cirrus_value_int(&v, INT64_MIN);
    cirrus_map_set(&item, "int", &v);
    cirrus_value_double(&v, 1e-7);
    cirrus_map_set(&item, "double", &v);
    cirrus_value_decimal(&v, "0.000000000000000000000000000000000001");
    cirrus_map_set(&item, "decimal", &v);
    cirrus_value_string(&v, "", 0);
    cirrus_map_set(&item, "string", &v);
    cirrus_value_bytes(&v, "\0\0\0", 3);
    cirrus_map_set(&item, "bytes", &v);
    cirrus_value_timestamp(&v, 1714564800, 1);
    cirrus_map_set(&item, "ts", &v);
    cirrus_value_geopoint(&v, -90, 180);
    cirrus_map_set(&item, "geo", &v);
    cirrus_value_ref(&v, "a/b/c/d");
    cirrus_map_set(&item, "ref", &v);
    cirrus_value_container(&v, CIRRUS_NUMBER_SET);
    cirrus_value_decimal(&e, "-1");
    cirrus_list_append(&v, &e);
    cirrus_value_double(&e, 0.5);
    cirrus_list_append(&v, &e);
    cirrus_map_set(&item, "ns", &v);
    cirrus_value_container(&v, CIRRUS_BINARY_SET);
    cirrus_value_bytes(&e, "\xff", 1);
    cirrus_list_append(&v, &e);
    cirrus_map_set(&item, "bs", &v);
    cirrus_value_container(&v, CIRRUS_STRING_SET);
    cirrus_map_set(&item, "ss", &v);
    cirrus_value_container(&v, CIRRUS_ARRAY);
    cirrus_map_set(&item, "array", &v);
    out = jsonv_dumps(&item);
    assert_non_null(out);
    back = parse_ok(out);
    assert_true(cirrus_value_equal(&item, &back));
    free(out);
    cirrus_value_clear(&item);
    cirrus_value_clear(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_json),
        cmocka_unit_test(test_big_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_bytes_and_base64),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_geo_ref_sets_map),
        cmocka_unit_test(test_strings_out),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_prefix_parse),
        cmocka_unit_test(test_every_kind_roundtrips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
