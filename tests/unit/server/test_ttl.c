/*
 * The TTL sweeper's selection rule (ttl_select): numbers at or before now are expired; later
 * numbers, missing attributes and other types are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/ttl.h"

#include <string.h>

static struct value item_with(struct value_field *f, struct value *v, const char *name)
{
    struct value item = {.type = VT_MAP};

    f->name = name;
    f->name_len = strlen(name);
    f->value = v;
    item.u.map.fields = f;
    item.u.map.n = 1;
    return item;
}

static void selects_expired_numbers(void **state)
{
    struct value vals[8];
    struct value_field fields[8];
    struct value items[8];
    size_t out[8], n;

    (void)state;
    vals[0] = (struct value){.type = VT_INT, .u.i = 99};         /* before now */
    vals[1] = (struct value){.type = VT_INT, .u.i = 100};        /* now */
    vals[2] = (struct value){.type = VT_INT, .u.i = 101};        /* after */
    vals[3] = (struct value){.type = VT_DOUBLE, .u.d = 99.5};    /* a fraction before */
    vals[4] = (struct value){.type = VT_DOUBLE, .u.d = 100.5};   /* a fraction after */
    vals[5] = value_string("50", 2);                             /* a string: ignored */
    vals[6] = (struct value){.type = VT_INT, .u.i = 1};          /* under another name */
    assert_int_equal(decimal_parse("-7", 2, &vals[7].u.dec), 0); /* a DynamoDB number */
    vals[7].type = VT_DECIMAL;
    for (size_t i = 0; i < 8; i++)
        items[i] = item_with(&fields[i], &vals[i], i == 6 ? "other" : "exp");
    n = ttl_select(items, 8, "exp", 100, out);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 3);
    assert_int_equal(out[3], 7);
    assert_int_equal(ttl_select(items, 8, "exp", 0, out), 1);
    assert_int_equal(ttl_select(items, 0, "exp", 100, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selects_expired_numbers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
