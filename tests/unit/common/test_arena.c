/* common/arena.c: alignment, large allocations, reset keeping one block, strndup. */
#include "common/arena.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_alignment(void **state)
{
    struct cr_arena a;
    size_t n;

    (void)state;
    cr_arena_init(&a, 256);
    for (n = 0; n < 300; n++) {
        uint8_t *p = cr_arena_alloc(&a, n % 37);

        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, n % 37);
    }
    cr_arena_free(&a);
    assert_null(a.head);
}

static void test_large_and_mixed(void **state)
{
    struct cr_arena a;
    uint8_t *small1, *big, *small2;

    (void)state;
    cr_arena_init(&a, 1024);
    small1 = cr_arena_alloc(&a, 100);
    big = cr_arena_alloc(&a, 1 << 20); /* bigger than a block: a block of its own */
    small2 = cr_arena_alloc(&a, 100);
    assert_non_null(small1);
    assert_non_null(big);
    assert_non_null(small2);
    memset(big, 1, 1 << 20);
    memset(small1, 2, 100);
    memset(small2, 3, 100);
    assert_int_equal(big[(1 << 20) - 1], 1);
    assert_int_equal(small1[99], 2);
    /* the large block went behind the current one: small allocations continue in it */
    assert_true(small2 > small1 && small2 < small1 + 1024);
    cr_arena_free(&a);
}

/* A request-per-reset loop settles on one block: the same memory comes back every time. */
static void test_reset_reuses(void **state)
{
    struct cr_arena a;
    void *first, *again;
    int i;

    (void)state;
    cr_arena_init(&a, 0);
    for (i = 0; i < 100; i++)
        assert_non_null(cr_arena_alloc(&a, 1000));
    assert_non_null(cr_arena_alloc(&a, 100000));
    /* Rounding up to the alignment would wrap around to a tiny block. */
    assert_null(cr_arena_alloc(&a, SIZE_MAX - 3));
    cr_arena_reset(&a);
    assert_non_null(a.head);
    first = cr_arena_alloc(&a, 64);
    cr_arena_reset(&a);
    again = cr_arena_alloc(&a, 64);
    assert_non_null(again);
    assert_ptr_equal(again, first);
    cr_arena_reset(&a);
    cr_arena_reset(&a);
    cr_arena_free(&a);
}

static void test_strndup_and_calloc(void **state)
{
    struct cr_arena a;
    char *s;
    uint8_t *z;
    int i;

    (void)state;
    cr_arena_init(&a, 64);
    s = cr_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    s = cr_arena_strndup(&a, "", 0);
    assert_string_equal(s, "");
    z = cr_arena_alloc(&a, 48);
    memset(z, 0xff, 48);
    cr_arena_reset(&a);
    z = cr_arena_calloc(&a, 48);
    for (i = 0; i < 48; i++)
        assert_int_equal(z[i], 0);
    cr_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_large_and_mixed),
        cmocka_unit_test(test_reset_reuses),
        cmocka_unit_test(test_strndup_and_calloc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
