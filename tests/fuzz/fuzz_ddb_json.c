/*
 * libFuzzer target: a DynamoDB attribute map in JSON (an Item or a Key, as SDKs send them)
 * through jansson and ddb_item_to_value, the decoder every DynamoDB request's data passes. Never
 * a crash; whatever it accepts must print back (ddb_item_from_value) and decode again to an
 * equal value, so numbers, sets and binaries survive the round trip.
 */
#include "common/assert.h"
#include "server/http/ddb_av.h"

#include <jansson.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cr_arena a;
    struct errmsg e;
    struct value v, again;
    json_t *in = json_loadb((const char *)data, size, 0, NULL), *out;

    if (!in)
        return 0;
    cr_arena_init(&a, 16384);
    if (ddb_item_to_value(in, &a, &v, &e) == 0) {
        out = ddb_item_from_value(&v);
        CR_ASSERT(out != NULL);
        CR_ASSERT(ddb_item_to_value(out, &a, &again, &e) == 0);
        CR_ASSERT(value_equal(&v, &again));
        json_decref(out);
    }
    json_decref(in);
    cr_arena_free(&a);
    return 0;
}
