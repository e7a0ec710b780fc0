/*
 * libFuzzer target: the peer protocol's frame and message decoder (raftwire_decode), the path
 * every byte from another node takes. The input is tried twice: as a whole frame (header,
 * checksum, payload) and as a payload framed here with a correct header, so that the fuzzer
 * reaches the protobuf and validation code without having to forge xxh3 checksums. Never a
 * crash; whatever decodes encodes again and decodes to the same frame.
 */
#include "common/assert.h"
#include "common/hash.h"
#include "server/repl/raftwire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_frame(const struct raftwire_frame *a, const struct raftwire_frame *b)
{
    CR_ASSERT(a->kind == b->kind && a->sent_ms == b->sent_ms);
    switch (a->kind) {
    case RAFTWIRE_HELLO:
        CR_ASSERT(a->hello.cluster_id == b->hello.cluster_id);
        CR_ASSERT(a->hello.node_id == b->hello.node_id && a->hello.version == b->hello.version);
        break;
    case RAFTWIRE_CHUNK:
        CR_ASSERT(a->chunk.index == b->chunk.index && a->chunk.term == b->chunk.term);
        CR_ASSERT(a->chunk.offset == b->chunk.offset && a->chunk.total == b->chunk.total);
        CR_ASSERT(a->chunk.len == b->chunk.len && a->chunk.checksum == b->chunk.checksum);
        CR_ASSERT(a->chunk.len == 0 || memcmp(a->chunk.data, b->chunk.data, a->chunk.len) == 0);
        break;
    case RAFTWIRE_MESSAGE:
        CR_ASSERT(a->msg.type == b->msg.type && a->msg.from == b->msg.from);
        CR_ASSERT(a->msg.to == b->msg.to && a->msg.term == b->msg.term);
        CR_ASSERT(a->msg.log_term == b->msg.log_term && a->msg.index == b->msg.index);
        CR_ASSERT(a->msg.commit == b->msg.commit && a->msg.reject == b->msg.reject);
        CR_ASSERT(a->msg.reject_hint == b->msg.reject_hint);
        CR_ASSERT(a->msg.context == b->msg.context);
        CR_ASSERT(a->msg.n_entries == b->msg.n_entries);
        for (size_t k = 0; k < a->msg.n_entries; k++) {
            const struct raft_entry *x = &a->msg.entries[k], *y = &b->msg.entries[k];

            CR_ASSERT(x->index == y->index && x->term == y->term && x->type == y->type);
            CR_ASSERT(x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0));
        }
        CR_ASSERT(a->msg.snapshot.index == b->msg.snapshot.index);
        CR_ASSERT(a->msg.snapshot.conf.n == b->msg.snapshot.conf.n);
        break;
    case RAFTWIRE_FORWARD:
    case RAFTWIRE_FORWARD_RESULT:
        CR_ASSERT(a->fwd.from == b->fwd.from && a->fwd.to == b->fwd.to);
        CR_ASSERT(a->fwd.seq == b->fwd.seq && a->fwd.index == b->fwd.index);
        CR_ASSERT(a->fwd.term == b->fwd.term && a->fwd.code == b->fwd.code);
        CR_ASSERT(a->fwd.len == b->fwd.len &&
                  (a->fwd.len == 0 || memcmp(a->fwd.data, b->fwd.data, a->fwd.len) == 0));
        break;
    }
}

static void check(const uint8_t *frame, size_t n)
{
    struct cr_arena a;
    struct raftwire_frame f, again;
    struct cr_buf b;

    cr_arena_init(&a, 16384);
    cr_buf_init(&b);
    if (raftwire_decode(frame, n, &a, &f) == 0) {
        CR_ASSERT(raftwire_encode(&f, &b) == 0);
        CR_ASSERT(raftwire_decode(b.data, b.len, &a, &again) == 0);
        same_frame(&f, &again);
    }
    cr_buf_free(&b);
    cr_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *framed;

    check(data, size);
    if (size > RAFTWIRE_MAX_FRAME)
        return 0;
    framed = malloc(RAFTWIRE_HDR + size + 1);
    if (!framed)
        return 0;
    cr_put_u32be(framed, (uint32_t)size);
    cr_put_u64be(framed + 4, cr_hash64(data, size));
    if (size)
        memcpy(framed + RAFTWIRE_HDR, data, size);
    check(framed, RAFTWIRE_HDR + size);
    free(framed);
    return 0;
}
