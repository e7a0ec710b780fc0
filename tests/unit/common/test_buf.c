/* common/buf.c: growth, big-endian helpers, varints (round trips, truncation, overlong). */
#include "common/buf.h"
#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* The test asks for impossible sizes on purpose: under ASan, malloc must return NULL for them
 * (as glibc does) rather than abort. Read by the ASan runtime only when it is linked in. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static void test_growth(void **state)
{
    struct cr_buf b;
    uint8_t *before;
    int i;

    (void)state;
    cr_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(cr_buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    for (i = 0; i < 100000; i++)
        assert_int_equal(cr_buf_putc(&b, (uint8_t)i), 0);
    assert_int_equal(b.len, 100000);
    assert_true(b.cap >= b.len);
    for (i = 0; i < 100000; i++)
        assert_int_equal(b.data[i], (uint8_t)i);
    before = b.data;
    cr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, before); /* reset keeps the allocation */
    assert_int_equal(cr_buf_reserve(&b, 50000), 0);
    assert_ptr_equal(b.data, before);
    assert_int_equal(cr_buf_append(&b, "abc", 3), 0);
    assert_int_equal(cr_buf_reserve(&b, SIZE_MAX - 1), CR_ENOMEM); /* len + more overflows */
    /* Doubling the capacity would overflow: the request itself is tried, and fails. */
    assert_int_equal(cr_buf_reserve(&b, SIZE_MAX / 2 + 2), CR_ENOMEM);
    assert_memory_equal(b.data, "abc", 3);
    cr_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    cr_buf_free(&b);
}

static void test_big_endian(void **state)
{
    static const uint8_t want[] = {0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01,
                                   0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    uint8_t p[8];
    struct cr_buf b;

    (void)state;
    cr_buf_init(&b);
    assert_int_equal(cr_buf_put_u16be(&b, 0x1234), 0);
    assert_int_equal(cr_buf_put_u32be(&b, 0xdeadbeef), 0);
    assert_int_equal(cr_buf_put_u64be(&b, UINT64_C(0x0102030405060708)), 0);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    assert_int_equal(cr_get_u16be(b.data), 0x1234);
    assert_int_equal(cr_get_u32be(b.data + 2), 0xdeadbeef);
    assert_true(cr_get_u64be(b.data + 6) == UINT64_C(0x0102030405060708));
    cr_put_u32be(p, 0x80000001);
    assert_int_equal(p[0], 0x80);
    assert_int_equal(p[3], 0x01);
    cr_put_u64be(p, UINT64_MAX);
    assert_true(cr_get_u64be(p) == UINT64_MAX);
    cr_buf_free(&b);
}

static void test_varint(void **state)
{
    static const uint64_t values[] = {0,
                                      1,
                                      127,
                                      128,
                                      300,
                                      16383,
                                      16384,
                                      UINT32_MAX,
                                      UINT64_MAX,
                                      UINT64_MAX - 1,
                                      UINT64_C(1) << 63};
    static const size_t lens[] = {1, 1, 1, 2, 2, 2, 3, 5, 10, 10, 10};
    struct cr_buf b;
    size_t i, k;

    (void)state;
    cr_buf_init(&b);
    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        const uint8_t *p;
        uint64_t v;

        cr_buf_reset(&b);
        assert_int_equal(cr_buf_put_varint(&b, values[i]), 0);
        assert_int_equal(b.len, lens[i]);
        p = b.data;
        assert_int_equal(cr_get_varint(&p, b.data + b.len, &v), 0);
        assert_true(v == values[i]);
        assert_ptr_equal(p, b.data + b.len);
        for (k = 0; k < b.len; k++) { /* every truncation is an error and does not advance */
            p = b.data;
            assert_int_equal(cr_get_varint(&p, b.data + k, &v), CR_ECORRUPT);
            assert_ptr_equal(p, b.data);
        }
    }
    {
        static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                         0x80, 0x80, 0x80, 0x80, 0x00};
        const uint8_t *p = eleven;
        uint64_t v;

        assert_int_equal(cr_get_varint(&p, eleven + sizeof eleven, &v), CR_ECORRUPT);
    }
    cr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_varint),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
