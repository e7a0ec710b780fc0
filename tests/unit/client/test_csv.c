/*
 * The CLI's CSV reader (tools/csv.c): quoted fields with commas, line breaks and doubled
 * quotes, CRLF, empty lines and fields, line numbers, and malformed records that it skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "tools/csv.h"

static FILE *input(const char *text)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");

    assert_non_null(f);
    return f;
}

/* The next record must start on `line` and hold the n fields given. */
static void expect(struct csv_reader *r, size_t line, size_t n, ...)
{
    va_list ap;

    assert_int_equal(csv_next(r), 1);
    assert_int_equal(r->line, line);
    assert_int_equal(r->n, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(r->fields[i], va_arg(ap, const char *));
    va_end(ap);
}

static void test_quoted(void **state)
{
    FILE *f = input("id,name,note\r\n"
                    "a,\"Smith, J\",\"said \"\"hi\"\"\"\r\n"
                    "\n"
                    "b,\"two\nlines\",\n"
                    "c,,\"\"\n"
                    "d,x,y");
    struct csv_reader r;

    (void)state;
    csv_init(&r, f);
    expect(&r, 1, 3, "id", "name", "note");
    expect(&r, 2, 3, "a", "Smith, J", "said \"hi\"");
    expect(&r, 4, 3, "b", "two\nlines", "");
    expect(&r, 6, 3, "c", "", "");
    expect(&r, 7, 3, "d", "x", "y");
    assert_int_equal(csv_next(&r), 0);
    csv_close(&r);
    fclose(f);
}

static void test_malformed(void **state)
{
    FILE *f = input("a,b\"c,d\n"
                    "\"x\"y,z\n"
                    "ok,1\n"
                    "\"open,\n");
    struct csv_reader r;

    (void)state;
    csv_init(&r, f);
    assert_int_equal(csv_next(&r), CR_EINVAL);
    assert_int_equal(r.line, 1);
    assert_non_null(strstr(r.why, "quote inside"));
    assert_int_equal(csv_next(&r), CR_EINVAL);
    assert_int_equal(r.line, 2);
    assert_non_null(strstr(r.why, "after a closing quote"));
    expect(&r, 3, 2, "ok", "1");
    assert_int_equal(csv_next(&r), CR_EINVAL);
    assert_int_equal(r.line, 4);
    assert_non_null(strstr(r.why, "not closed"));
    assert_int_equal(csv_next(&r), 0);
    csv_close(&r);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
