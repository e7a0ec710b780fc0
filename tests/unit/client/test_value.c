/*
 * struct cirrus_value helpers (client/value.c): building every kind, maps and lists taking
 * ownership, replacement, deep copy, equality, clearing, and the result free. Runs under ASan
 * in CI, which is what proves the frees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/cirrus.h"

static void test_scalars(void **state)
{
    struct cirrus_value v;

    (void)state;
    memset(&v, 0, sizeof(v));
    assert_int_equal(v.type, CIRRUS_NULL);
    cirrus_value_bool(&v, 5);
    assert_int_equal(v.type, CIRRUS_BOOL);
    assert_int_equal(v.u.b, 1);
    cirrus_value_int(&v, INT64_MIN);
    assert_true(v.u.i == INT64_MIN);
    cirrus_value_double(&v, -0.5);
    assert_true(v.u.d == -0.5);
    cirrus_value_timestamp(&v, -1, 999999999);
    assert_int_equal(v.u.ts.sec, -1);
    assert_int_equal(v.u.ts.nsec, 999999999);
    cirrus_value_geopoint(&v, -33.9, 151.2);
    assert_true(v.u.geo.lat == -33.9 && v.u.geo.lon == 151.2);
    cirrus_value_clear(&v);
    assert_int_equal(v.type, CIRRUS_NULL);
}

static void test_text_kinds(void **state)
{
    struct cirrus_value v;

    (void)state;
    assert_int_equal(cirrus_value_string(&v, "a\0b", 3), 0);
    assert_int_equal(v.type, CIRRUS_STRING);
    assert_int_equal(v.u.str.len, 3);
    assert_memory_equal(v.u.str.ptr, "a\0b\0", 4);
    cirrus_value_clear(&v);
    assert_int_equal(cirrus_value_decimal(&v, "-1.25e3"), 0);
    assert_int_equal(v.type, CIRRUS_DECIMAL);
    assert_string_equal(v.u.str.ptr, "-1.25e3");
    cirrus_value_clear(&v);
    assert_int_equal(cirrus_value_bytes(&v, "", 0), 0);
    assert_int_equal(v.type, CIRRUS_BYTES);
    assert_int_equal(v.u.str.len, 0);
    cirrus_value_clear(&v);
    assert_int_equal(cirrus_value_ref(&v, "users/ann"), 0);
    assert_int_equal(v.type, CIRRUS_REF);
    assert_string_equal(v.u.str.ptr, "users/ann");
    cirrus_value_clear(&v);
}

static void test_containers(void **state)
{
    struct cirrus_value map, list, e, copy;
    const struct cirrus_value *got;
    int i;

    (void)state;
    assert_int_equal(cirrus_value_container(&map, CIRRUS_INT), CR_EINVAL);
    assert_int_equal(cirrus_value_container(&map, CIRRUS_MAP), 0);
    assert_int_equal(cirrus_value_container(&list, CIRRUS_ARRAY), 0);
    for (i = 0; i < 100; i++) {
        cirrus_value_int(&e, i);
        assert_int_equal(cirrus_list_append(&list, &e), 0);
        assert_int_equal(e.type, CIRRUS_NULL);
    }
    cirrus_value_int(&e, 1);
    assert_int_equal(cirrus_list_append(&map, &e), CR_EINVAL);
    assert_int_equal(cirrus_map_set(&list, "x", &e), CR_EINVAL);
    assert_int_equal(cirrus_map_set(&map, "list", &list), 0);
    assert_int_equal(list.type, CIRRUS_NULL);
    assert_int_equal(cirrus_value_string(&e, "old", 3), 0);
    assert_int_equal(cirrus_map_set(&map, "name", &e), 0);
    assert_int_equal(cirrus_value_string(&e, "new", 3), 0);
    assert_int_equal(cirrus_map_set(&map, "name", &e), 0); /* replaces, frees "old" */
    assert_int_equal(map.u.map.len, 2);
    got = cirrus_map_get(&map, "name");
    assert_non_null(got);
    assert_string_equal(got->u.str.ptr, "new");
    assert_null(cirrus_map_get(&map, "absent"));
    assert_null(cirrus_map_get(got, "name"));
    got = cirrus_map_get(&map, "list");
    assert_int_equal(got->u.list.len, 100);
    assert_int_equal(got->u.list.items[99].u.i, 99);

    assert_int_equal(cirrus_value_copy(&copy, &map), 0);
    assert_true(cirrus_value_equal(&copy, &map));
    assert_true(copy.u.map.fields[0].name != map.u.map.fields[0].name);
    cirrus_value_int(&e, 7);
    assert_int_equal(cirrus_map_set(&copy, "extra", &e), 0);
    assert_false(cirrus_value_equal(&copy, &map));
    cirrus_value_clear(&copy);
    cirrus_value_clear(&map);
    assert_int_equal(map.type, CIRRUS_NULL);
}

static void test_equality(void **state)
{
    struct cirrus_value a, b, x;

    (void)state;
    cirrus_value_container(&a, CIRRUS_MAP);
    cirrus_value_container(&b, CIRRUS_MAP);
    cirrus_value_int(&x, 1);
    cirrus_map_set(&a, "p", &x);
    cirrus_value_int(&x, 2);
    cirrus_map_set(&a, "q", &x);
    cirrus_value_int(&x, 2);
    cirrus_map_set(&b, "q", &x);
    cirrus_value_int(&x, 1);
    cirrus_map_set(&b, "p", &x);
    assert_true(cirrus_value_equal(&a, &b)); /* field order does not matter */
    cirrus_value_double(&x, 1.0);
    cirrus_map_set(&b, "p", &x);
    assert_false(cirrus_value_equal(&a, &b)); /* int 1 is not double 1.0 here */
    cirrus_value_clear(&a);
    cirrus_value_clear(&b);

    cirrus_value_container(&a, CIRRUS_STRING_SET);
    cirrus_value_container(&b, CIRRUS_ARRAY);
    assert_false(cirrus_value_equal(&a, &b));
    cirrus_value_clear(&a);
    cirrus_value_clear(&b);
}

static void test_copy_too_deep(void **state)
{
    struct cirrus_value root, next, *cur, copy;
    int i;

    (void)state;
    cirrus_value_container(&root, CIRRUS_ARRAY);
    cur = &root;
    for (i = 0; i < CIRRUS_MAX_DEPTH + 1; i++) {
        cirrus_value_container(&next, CIRRUS_ARRAY);
        assert_int_equal(cirrus_list_append(cur, &next), 0);
        cur = &cur->u.list.items[0];
    }
    assert_int_equal(cirrus_value_copy(&copy, &root), CR_ENESTING);
    assert_int_equal(copy.type, CIRRUS_NULL);
    cirrus_value_clear(&root);
}

static void test_result_free(void **state)
{
    struct cirrus_result r;

    (void)state;
    memset(&r, 0, sizeof(r));
    cirrus_result_free(&r); /* an empty result is fine */
    r.items = calloc(2, sizeof(*r.items));
    r.n_items = 2;
    assert_int_equal(cirrus_value_string(&r.items[1], "x", 1), 0);
    r.tables = calloc(1, sizeof(char *));
    r.tables[0] = strdup("t");
    r.n_tables = 1;
    r.last_evaluated = strdup("t");
    r.cursor = malloc(3);
    r.cursor_len = 3;
    r.table.name = strdup("t");
    r.writes = calloc(1, sizeof(*r.writes));
    r.n_writes = 1;
    assert_int_equal(cirrus_value_bytes(&r.writes[0].old_item, "b", 1), 0);
    assert_int_equal(cirrus_value_container(&r.item, CIRRUS_MAP), 0);
    cirrus_result_free(&r);
    assert_null(r.items);
    assert_int_equal(r.n_items, 0);
    cirrus_result_free(&r); /* and twice */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),       cmocka_unit_test(test_text_kinds),
        cmocka_unit_test(test_containers),    cmocka_unit_test(test_equality),
        cmocka_unit_test(test_copy_too_deep), cmocka_unit_test(test_result_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
