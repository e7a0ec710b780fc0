/* server/http/crc32.c: the standard check value, zlib's known vectors, and piecewise updates. */
#include "server/http/crc32.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_vectors(void **state)
{
    assert_int_equal(0xCBF43926u, crc32_update(0, "123456789", 9));
    assert_int_equal(0u, crc32_update(0, "", 0));
    assert_int_equal(0xE8B7BE43u, crc32_update(0, "a", 1));
    assert_int_equal(0x414FA339u,
                     crc32_update(0, "The quick brown fox jumps over the lazy dog", 43));
    /* The body of an empty DynamoDB answer, as botocore checks it (zlib.crc32(b"{}")). */
    assert_int_equal(2745614147u, crc32_update(0, "{}", 2));
}

static void test_pieces(void **state)
{
    const char *s = "The quick brown fox jumps over the lazy dog";
    uint32_t crc = 0;

    for (size_t i = 0; i < strlen(s); i += 5)
        crc = crc32_update(crc, s + i, strlen(s) - i < 5 ? strlen(s) - i : 5);
    assert_int_equal(crc32_update(0, s, strlen(s)), crc);
}

/* Bit at a time, straight from the definition: the reference for every length and alignment. */
static uint32_t crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

static void test_lengths_and_alignments(void **state)
{
    unsigned char data[300];
    uint32_t x = 12345;

    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; off + n <= sizeof data; n += 1 + n / 16)
            assert_int_equal(crc32_bitwise(data + off, n), crc32_update(0, data + off, n));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_lengths_and_alignments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
