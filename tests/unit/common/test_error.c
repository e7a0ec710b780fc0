/* common/error.c: every code in the table has a distinct number, name and message. */
#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static const int codes[] = {
#define CODE(name, code, msg) name,
    CR_ERRORS(CODE)
#undef CODE
};
static const char *const names[] = {
#define NAME(name, code, msg) #name,
    CR_ERRORS(NAME)
#undef NAME
};

#define NCODES (sizeof codes / sizeof codes[0])

static void test_distinct(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < NCODES; i++) {
        assert_true(codes[i] < 0);
        assert_string_equal(cr_errname(codes[i]), names[i]);
        assert_string_not_equal(cr_strerror(codes[i]), "unknown error");
        assert_true(strlen(cr_strerror(codes[i])) > 0);
        for (j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(cr_errname(codes[i]), cr_errname(codes[j]));
            assert_string_not_equal(cr_strerror(codes[i]), cr_strerror(codes[j]));
        }
    }
}

static void test_unknown_and_ok(void **state)
{
    (void)state;
    assert_string_equal(cr_errname(0), "CR_OK");
    assert_string_equal(cr_strerror(0), "ok");
    assert_string_equal(cr_errname(-10000), "CR_EUNKNOWN");
    assert_string_equal(cr_strerror(-10000), "unknown error");
    assert_string_equal(cr_strerror(1), "unknown error");
    assert_non_null(cr_strerror(CR_ESCHEMA));
}

/* Codes are part of the native protocol: the first ones must never be renumbered. */
static void test_stable_numbers(void **state)
{
    (void)state;
    assert_int_equal(CR_EINTERNAL, -1);
    assert_int_equal(CR_ENOMEM, -2);
    assert_int_equal(CR_EINVAL, -3);
    assert_int_equal(CR_ECORRUPT, -13);
    assert_int_equal(codes[0], -1);
    assert_int_equal(codes[NCODES - 1], -(int)NCODES); /* dense: appended, never skipped */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct),
        cmocka_unit_test(test_unknown_and_ok),
        cmocka_unit_test(test_stable_numbers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
