/*
 * Raft on the wire: frames of the peer protocol and the conversions between struct raft_msg
 * (raft.h) and its protobuf message (proto/cirrus.proto, RaftMessage). No I/O.
 *
 * A frame (all integers big-endian):
 *
 *   offset  size    field
 *   0       4       length: bytes of payload, at most RAFTWIRE_MAX_FRAME
 *   4       8       xxh3 (common/hash.h) of the payload
 *   12      length  payload: a serialized RaftFrame (hello, message or snapshot chunk)
 *
 * A peer is outside input: decoding checks the length against the limit and the bytes at hand,
 * the checksum before unpacking anything, then every field — message type, node ids, which
 * fields a type may carry, entry count (RAFTWIRE_MAX_ENTRIES), entry types and CONF data,
 * entries consecutive after the APPEND's prev index with terms that never go down nor above
 * the message's, snapshot configuration (at most RAFT_MAX_VOTERS distinct nonzero ids), chunk
 * length and checksum. Whatever decodes is something the core may be handed.
 *
 * Memory: decoding allocates from the arena it is given (protobuf-c included) and nothing else;
 * entry data and chunk data borrow from that arena. Encoding appends to a cr_buf.
 */
#ifndef CR_SERVER_RAFTWIRE_H
#define CR_SERVER_RAFTWIRE_H

#include "cirrus.pb-c.h"
#include "common/arena.h"
#include "common/buf.h"
#include "server/repl/raft.h"

#include <stddef.h>
#include <stdint.h>

#define RAFTWIRE_HDR 12                  /* u32 length | u64 checksum */
#define RAFTWIRE_MAX_FRAME (64u << 20)   /* payload bytes: CR_EFRAMETOOBIG beyond */
#define RAFTWIRE_MAX_ENTRIES 1024        /* per APPEND: the core's own batch bound */
#define RAFTWIRE_MAX_CHUNK (1u << 20)    /* snapshot data bytes per chunk */
#define RAFTWIRE_MAX_CHUNK_CTX 4096      /* context bytes on a snapshot's first chunk */
#define RAFTWIRE_MAX_FORWARD (16u << 20) /* entry bytes in a RAFTWIRE_FORWARD */
#define RAFTWIRE_VERSION 1u              /* of the peer protocol, in the hello */

enum raftwire_kind {
    RAFTWIRE_HELLO = 1,
    RAFTWIRE_MESSAGE = 2,
    RAFTWIRE_CHUNK = 3,
    RAFTWIRE_FORWARD = 4,       /* a follower's write, sent to the leader */
    RAFTWIRE_FORWARD_RESULT = 5 /* the leader's answer */
};

struct raftwire_hello {
    uint64_t cluster_id, node_id;
    uint32_t version;
};

struct raftwire_chunk {
    uint64_t index, term; /* the snapshot's */
    uint64_t offset, total, checksum;
    const uint8_t *data;
    size_t len;
    const uint8_t *ctx; /* offset 0 only, at most RAFTWIRE_MAX_CHUNK_CTX bytes: the driver's */
    size_t ctx_len;
};

/* RAFTWIRE_FORWARD: from, to, seq and the entry (data, len: nonempty, at most
 * RAFTWIRE_MAX_FORWARD bytes). RAFTWIRE_FORWARD_RESULT: from, to, seq, and either code 0 with
 * the entry's index and term (both nonzero), or a negative CR_E* code with both zero. */
struct raftwire_forward {
    uint64_t from, to, seq;
    const uint8_t *data;
    size_t len;
    uint64_t index, term;
    int code;
};

struct raftwire_frame {
    enum raftwire_kind kind;
    uint64_t sent_ms;            /* the sender's wall clock when it queued the frame (any value) */
    struct raftwire_hello hello; /* RAFTWIRE_HELLO */
    struct raft_msg msg;         /* RAFTWIRE_MESSAGE */
    struct raftwire_chunk chunk; /* RAFTWIRE_CHUNK */
    struct raftwire_forward fwd; /* RAFTWIRE_FORWARD, RAFTWIRE_FORWARD_RESULT */
};

/*
 * Reads a frame header from p (RAFTWIRE_HDR bytes): *len gets the payload length, *checksum the
 * payload's checksum. CR_EFRAMETOOBIG when length exceeds max (0: RAFTWIRE_MAX_FRAME).
 */
int raftwire_header(const uint8_t *p, size_t max, size_t *len, uint64_t *checksum);

/*
 * Decodes one whole frame, header included (exactly n bytes). CR_EPROTO: shorter than a header,
 * length not n - RAFTWIRE_HDR, wrong checksum, payload that does not unpack or does not
 * validate (see the top); CR_EFRAMETOOBIG; CR_ENOMEM.
 */
int raftwire_decode(const uint8_t *p, size_t n, struct cr_arena *a, struct raftwire_frame *out);

/* Decodes a payload whose header was read (raftwire_header) and its checksum verified by the
 * caller: errors as raftwire_decode. */
int raftwire_decode_payload(const uint8_t *p, size_t n, struct cr_arena *a,
                            struct raftwire_frame *out);

/* Appends the whole frame (header and payload) of f to out. CR_EINVAL: f does not validate
 * (as decoding would refuse it); CR_EFRAMETOOBIG; CR_ENOMEM. Nothing appended on error. */
int raftwire_encode(const struct raftwire_frame *f, struct cr_buf *out);

/* struct raft_msg <-> RaftMessage. to_pb allocates from a and borrows entry data from m.
 * from_pb validates (CR_EPROTO) and borrows entry data from pb. */
int raftwire_msg_to_pb(const struct raft_msg *m, struct cr_arena *a, Cirrus__RaftMessage **out);
int raftwire_msg_from_pb(const Cirrus__RaftMessage *pb, struct cr_arena *a, struct raft_msg *out);

#endif
