/*
 * libFuzzer target: keycodec_decode/keycodec_skip on arbitrary bytes (continuation cursors come
 * from clients and carry encoded keys). Never a crash; skip and decode agree on the length; a
 * decoded component re-encodes to a key that compares equal.
 */
#include "common/assert.h"
#include "storage/keycodec.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cr_arena a;
    struct value v, again;
    struct cr_buf buf;
    const uint8_t *p = data, *end = data + size;
    size_t len;
    int skip_rc;

    cr_arena_init(&a, 4096);
    cr_buf_init(&buf);
    skip_rc = keycodec_skip(data, end, &len);
    if (keycodec_decode(&p, end, &a, &v) == 0) {
        const uint8_t *q;
        CR_ASSERT(skip_rc == 0 && len == (size_t)(p - data));
        CR_ASSERT(keycodec_encode(&v, &buf) == 0);
        q = buf.data;
        CR_ASSERT(keycodec_decode(&q, buf.data + buf.len, &a, &again) == 0);
        CR_ASSERT(value_equal(&v, &again));
    }
    cr_buf_free(&buf);
    cr_arena_free(&a);
    return 0;
}
