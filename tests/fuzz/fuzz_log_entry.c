/*
 * libFuzzer target: LogEntry bytes into storage mutations (wire_log_entry_decode), the path every
 * committed entry takes before apply() — and, once the log is replicated, bytes from other nodes.
 * Never a crash; an entry that decodes re-encodes and decodes to the same mutations.
 */
#include "common/assert.h"
#include "server/wire.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cr_arena a;
    struct log_batch b, again;
    struct errmsg e;
    uint8_t *enc;
    size_t len;

    cr_arena_init(&a, 16384);
    if (wire_log_entry_decode(data, size, &a, &b, &e) == 0) {
        CR_ASSERT(wire_log_entry_encode(b.time_ms, b.muts, b.n, &a, &enc, &len) == 0);
        CR_ASSERT(wire_log_entry_decode(enc, len, &a, &again, &e) == 0);
        CR_ASSERT(again.n == b.n && again.time_ms == b.time_ms);
        for (size_t i = 0; i < b.n; i++) {
            CR_ASSERT(again.muts[i].type == b.muts[i].type);
            CR_ASSERT(strcmp(again.muts[i].table.name, b.muts[i].table.name) == 0);
            CR_ASSERT(value_equal(&again.muts[i].item, &b.muts[i].item));
            CR_ASSERT(value_equal(&again.muts[i].key, &b.muts[i].key));
        }
    }
    cr_arena_free(&a);
    return 0;
}
