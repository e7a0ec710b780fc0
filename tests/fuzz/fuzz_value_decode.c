/*
 * libFuzzer target: value_decode on arbitrary bytes (rows read back from disk are outside input
 * once a disk can be corrupted). It must never crash or read out of bounds; whatever it accepts
 * must encode again and decode to an equal value, and value_map_find_encoded must agree with
 * value_map_get on it.
 */
#include "common/assert.h"
#include "storage/value.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cr_arena a;
    struct value v, again;
    struct cr_buf buf;

    cr_arena_init(&a, 4096);
    cr_buf_init(&buf);
    if (value_decode(data, size, &a, &v) == 0) {
        CR_ASSERT(value_encode(&v, &buf) == 0);
        CR_ASSERT(value_decode(buf.data, buf.len, &a, &again) == 0);
        CR_ASSERT(value_equal(&v, &again));
        if (v.type == VT_MAP) {
            for (size_t i = 0; i < v.u.map.n; i++) {
                const struct value_field *f = &v.u.map.fields[i];
                const uint8_t *fp;
                size_t fn;
                struct value fv;
                CR_ASSERT(
                    value_map_find_encoded(buf.data, buf.len, f->name, f->name_len, &fp, &fn) == 0);
                CR_ASSERT(value_decode(fp, fn, &a, &fv) == 0);
                CR_ASSERT(value_equal(&fv, f->value));
            }
        }
    }
    cr_buf_free(&buf);
    cr_arena_free(&a);
    return 0;
}
