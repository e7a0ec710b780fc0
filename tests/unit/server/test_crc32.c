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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
