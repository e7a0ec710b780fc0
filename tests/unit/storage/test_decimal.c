/*
 * storage/decimal.c: DynamoDB number parsing and its limits, canonical text, conversions from
 * int64 and double (shortest round trip), to double, and the order. Random parts use a fixed,
 * printed seed.
 */
#include "value_gen.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static int parse(const char *s, struct decimal *d)
{
    return decimal_parse(s, strlen(s), d);
}

static void test_parse_format_table(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"0", 0, "0"},
        {"-0", 0, "0"},
        {"+0.000e99999999999999999", 0, "0"},
        {"00012.5000", 0, "12.5"},
        {"-12.5e3", 0, "-12500"},
        {"0.001", 0, "0.001"},
        {".5", 0, "0.5"},
        {"5.", 0, "5"},
        {"1200", 0, "1200"},
        {"1.2E+3", 0, "1200"},
        {"-0.00125", 0, "-0.00125"},
        {"100e-2", 0, "1"},
        {"1e-130", 0,
         "0.0000000000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000000000000001"},
        {"1e-131", CR_ENUMBER, NULL},
        {"0.01e-129", CR_ENUMBER, NULL},
        {"10e-131", 0, NULL},
        {"9.9999999999999999999999999999999999999E+125", 0,
         "99999999999999999999999999999999999999000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000"},
        {"1E+126", CR_ENUMBER, NULL},
        {"0.1E+127", CR_ENUMBER, NULL},
        {"12345678901234567890123456789012345678", 0, "12345678901234567890123456789012345678"},
        {"123456789012345678901234567890123456789", CR_ENUMBER, NULL},
        {"1234567890123456789012345678901234567800000", 0,
         "1234567890123456789012345678901234567800000"},
        {"0.000000000012345678901234567890123456789012345678", 0,
         "0.000000000012345678901234567890123456789012345678"},
        {"1.00000000000000000000000000000000000001", CR_ENUMBER, NULL},
        {"1e999999999999999999999", CR_ENUMBER, NULL},
        {"1e-999999999999999999999", CR_ENUMBER, NULL},
        {"abc", CR_EINVAL, NULL},
        {"", CR_EINVAL, NULL},
        {"1e", CR_EINVAL, NULL},
        {"1e+", CR_EINVAL, NULL},
        {"--1", CR_EINVAL, NULL},
        {"+-1", CR_EINVAL, NULL},
        {"-", CR_EINVAL, NULL},
        {".", CR_EINVAL, NULL},
        {"1.2.3", CR_EINVAL, NULL},
        {" 1", CR_EINVAL, NULL},
        {"1 ", CR_EINVAL, NULL},
        {"  ", CR_EINVAL, NULL},
        {"0x10", CR_EINVAL, NULL},
        {"1e5.5", CR_EINVAL, NULL},
        {"inf", CR_EINVAL, NULL},
        {"NaN", CR_EINVAL, NULL},
        {"e5", CR_EINVAL, NULL},
    };
    char buf[CR_DECIMAL_TEXT_MAX];
    struct decimal d;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(cases[i].in, &d);

        if (rc != cases[i].rc)
            fail_msg("parse(\"%s\") = %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc)
            continue;
        assert_true(decimal_is_normal(&d));
        if (cases[i].out) {
            assert_int_equal(decimal_format(&d, buf, sizeof buf), strlen(cases[i].out));
            assert_string_equal(buf, cases[i].out);
        }
    }
    /* a length-limited string is not read past its end */
    assert_int_equal(decimal_parse("12e5", 2, &d), 0);
    assert_int_equal(decimal_format(&d, buf, sizeof buf), 2);
}

static void test_format_limits(void **state)
{
    struct decimal d;
    char buf[CR_DECIMAL_TEXT_MAX], small[4];
    const char *longest = "-0.12345678901234567890123456789012345678e-129";

    (void)state;
    assert_int_equal(parse(longest, &d), 0);
    assert_true(decimal_format(&d, buf, sizeof buf) < sizeof buf);
    assert_int_equal(strlen(buf), 1 + 2 + 129 + 38);
    /* snprintf's contract: the full length, the text cut and NUL-terminated */
    assert_int_equal(parse("-12345", &d), 0);
    assert_int_equal(decimal_format(&d, small, sizeof small), 6);
    assert_string_equal(small, "-12");
    assert_int_equal(decimal_format(&d, NULL, 0), 6);
}

static void test_from_int64(void **state)
{
    static const struct {
        int64_t v;
        const char *text;
    } cases[] = {{0, "0"},
                 {1, "1"},
                 {-1, "-1"},
                 {10, "10"},
                 {1200, "1200"},
                 {INT64_MAX, "9223372036854775807"},
                 {INT64_MIN, "-9223372036854775808"},
                 {INT64_C(-1000000000000000000), "-1000000000000000000"}};
    char buf[CR_DECIMAL_TEXT_MAX];
    struct decimal d, p;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        decimal_from_int64(cases[i].v, &d);
        assert_true(decimal_is_normal(&d));
        decimal_format(&d, buf, sizeof buf);
        assert_string_equal(buf, cases[i].text);
        assert_int_equal(parse(cases[i].text, &p), 0);
        assert_memory_equal(&p, &d, sizeof d);
    }
}

static void test_from_double(void **state)
{
    static const struct {
        double v;
        int rc;
        const char *text;
    } cases[] = {
        {0.0, 0, "0"},
        {-0.0, 0, "0"},
        {0.1, 0, "0.1"},
        {-2.5, 0, "-2.5"},
        {1.0 / 3, 0, "0.3333333333333333"},
        {1e23, 0, "100000000000000000000000"},
        {0x1p60, 0, "1152921504606847000"},
        {9007199254740993.0, 0, "9007199254740992"},
        {123456789.0, 0, "123456789"},
        {1e-130, 0, NULL},
        {1e-131, CR_ENUMBER, NULL},
        {5e-324, CR_ENUMBER, NULL},
        {1e125, 0, NULL},
        {1e126, CR_ENUMBER, NULL},
        {DBL_MAX, CR_ENUMBER, NULL},
        {NAN, CR_ENUMBER, NULL},
        {INFINITY, CR_ENUMBER, NULL},
        {-INFINITY, CR_ENUMBER, NULL},
    };
    char buf[CR_DECIMAL_TEXT_MAX];
    struct decimal d;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(decimal_from_double(cases[i].v, &d), cases[i].rc);
        if (cases[i].rc)
            continue;
        assert_true(decimal_is_normal(&d));
        assert_true(decimal_to_double(&d) == cases[i].v);
        if (cases[i].text) {
            decimal_format(&d, buf, sizeof buf);
            assert_string_equal(buf, cases[i].text);
        }
    }
    decimal_from_double_wide(5e-324, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.d[0], 5);
    assert_int_equal(d.exp, -323);
    assert_true(decimal_to_double(&d) == 5e-324);
    decimal_from_double_wide(DBL_MAX, &d);
    assert_int_equal(d.n, 17);
    assert_int_equal(d.exp, 309);
    assert_true(decimal_to_double(&d) == DBL_MAX);
}

/* Random doubles: the decimal reads back to the same double, has no more digits than needed,
 * and the order of decimals is the order of the doubles. */
static void test_double_roundtrip_property(void **state)
{
    struct decimal d, prev;
    double pv = 0;
    bool have_prev = false;
    long i;

    (void)state;
    gen_seed(GEN_SEED + 20);
    for (i = 0; i < 30000; i++) {
        double v = gen_double();
        char shorter[40];

        if (!isfinite(v))
            continue;
        decimal_from_double_wide(v, &d);
        assert_true(decimal_to_double(&d) == v);
        if (d.n > 1) {
            snprintf(shorter, sizeof shorter, "%.*e", d.n - 2, v);
            assert_true(strtod(shorter, NULL) != v);
        }
        if (have_prev) {
            int want = (v > pv) - (v < pv);
            assert_int_equal(decimal_compare(&d, &prev), want);
        }
        prev = d;
        pv = v;
        have_prev = true;
    }
}

/* Random decimals: text round trip, order agrees with the text's numeric value where doubles
 * can tell them apart, antisymmetry. */
static void test_decimal_property(void **state)
{
    char buf[CR_DECIMAL_TEXT_MAX];
    struct decimal a, b, p;
    long i;

    (void)state;
    gen_seed(GEN_SEED + 21);
    for (i = 0; i < 50000; i++) {
        double da, db;
        int c;

        gen_decimal(&a);
        gen_decimal(&b);
        assert_true(decimal_format(&a, buf, sizeof buf) < sizeof buf);
        assert_int_equal(parse(buf, &p), 0);
        assert_memory_equal(&p, &a, sizeof a);
        c = decimal_compare(&a, &b);
        assert_int_equal(c, -decimal_compare(&b, &a));
        assert_int_equal(c == 0, memcmp(&a, &b, sizeof a) == 0);
        da = decimal_to_double(&a);
        db = decimal_to_double(&b);
        if (da < db)
            assert_true(c < 0);
        if (da > db)
            assert_true(c > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format_table),
        cmocka_unit_test(test_format_limits),
        cmocka_unit_test(test_from_int64),
        cmocka_unit_test(test_from_double),
        cmocka_unit_test(test_double_roundtrip_property),
        cmocka_unit_test(test_decimal_property),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
