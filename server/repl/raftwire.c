/* Raft frames and messages on the wire (raftwire.h has the format and what is validated). */
#include "server/repl/raftwire.h"

#include "common/error.h"
#include "common/hash.h"

#include <protobuf-c/protobuf-c.h>
#include <string.h>

/* protobuf-c's allocations while unpacking a payload of n bytes stay below this: the copies of
 * the bytes fields (at most n) plus the structs of up to RAFTWIRE_MAX_ENTRIES entries. A
 * payload of many tiny sub-messages (2 bytes on the wire, ~100 unpacked) hits the budget and
 * fails instead of growing memory 50-fold. */
#define UNPACK_SLACK (RAFTWIRE_MAX_ENTRIES * 160 + 64 * 1024)

struct budget {
    struct cr_arena *a;
    size_t left;
};

static void *budget_alloc(void *data, size_t size)
{
    struct budget *b = data;

    if (size > b->left)
        return NULL;
    b->left -= size;
    return cr_arena_alloc(b->a, size);
}

static void budget_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static bool type_known(uint32_t t)
{
    switch (t) {
#define RAFTWIRE_CASE(name, value, str) case value:
        RAFT_MSG_TYPES(RAFTWIRE_CASE)
#undef RAFTWIRE_CASE
        return true;
    default:
        return false;
    }
}

static bool conf_valid(const uint64_t *voters, size_t n)
{
    if (n > RAFT_MAX_VOTERS)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (voters[i] == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (voters[j] == voters[i])
                return false;
    }
    return true;
}

/* What struct raft_msg m may hold, whichever side it comes from. */
static bool msg_valid(const struct raft_msg *m)
{
    uint64_t prev_term = m->log_term;

    if (!type_known((uint32_t)m->type) || m->from == 0 || m->to == 0)
        return false;
    if (m->n_entries && m->type != RAFT_MSG_APPEND)
        return false;
    if (m->n_entries > RAFTWIRE_MAX_ENTRIES || m->index > UINT64_MAX - m->n_entries)
        return false;
    for (size_t k = 0; k < m->n_entries; k++) {
        const struct raft_entry *e = &m->entries[k];
        enum raft_conf_op op;
        uint64_t node;

        if (e->index != m->index + 1 + k || e->term < prev_term || e->term > m->term ||
            (e->len && !e->data))
            return false;
        if (e->type == RAFT_ENTRY_CONF) {
            if (raft_conf_decode(e->data, e->len, &op, &node) != 0 || node == 0)
                return false;
        } else if (e->type != RAFT_ENTRY_NORMAL) {
            return false;
        }
        prev_term = e->term;
    }
    if (m->type == RAFT_MSG_SNAPSHOT)
        return m->snapshot.index > 0 && conf_valid(m->snapshot.conf.voters, m->snapshot.conf.n);
    return m->snapshot.index == 0 && m->snapshot.term == 0 && m->snapshot.conf.n == 0;
}

int raftwire_msg_from_pb(const Cirrus__RaftMessage *pb, struct cr_arena *a, struct raft_msg *out)
{
    memset(out, 0, sizeof *out);
    if (!type_known(pb->type))
        return CR_EPROTO;
    out->type = (enum raft_msg_type)pb->type;
    out->from = pb->from;
    out->to = pb->to;
    out->term = pb->term;
    out->log_term = pb->log_term;
    out->index = pb->index;
    out->commit = pb->commit;
    out->reject = pb->reject;
    out->reject_hint = pb->reject_hint;
    out->context = pb->context;
    if (pb->n_entries > RAFTWIRE_MAX_ENTRIES)
        return CR_EPROTO;
    if (pb->n_entries) {
        out->entries = cr_arena_alloc(a, pb->n_entries * sizeof *out->entries);
        if (!out->entries)
            return CR_ENOMEM;
    }
    for (size_t k = 0; k < pb->n_entries; k++) {
        const Cirrus__RaftEntry *e = pb->entries[k];

        if (e->type > RAFT_ENTRY_CONF)
            return CR_EPROTO;
        out->entries[k] = (struct raft_entry){.term = e->term,
                                              .index = e->index,
                                              .type = (enum raft_entry_type)e->type,
                                              .data = e->data.len ? e->data.data : NULL,
                                              .len = e->data.len};
    }
    out->n_entries = pb->n_entries;
    if (pb->snapshot) {
        if (pb->snapshot->n_voters > RAFT_MAX_VOTERS)
            return CR_EPROTO;
        out->snapshot.index = pb->snapshot->index;
        out->snapshot.term = pb->snapshot->term;
        out->snapshot.conf.n = pb->snapshot->n_voters;
        for (size_t i = 0; i < pb->snapshot->n_voters; i++)
            out->snapshot.conf.voters[i] = pb->snapshot->voters[i];
    } else if (out->type == RAFT_MSG_SNAPSHOT) {
        return CR_EPROTO;
    }
    return msg_valid(out) ? 0 : CR_EPROTO;
}

int raftwire_msg_to_pb(const struct raft_msg *m, struct cr_arena *a, Cirrus__RaftMessage **out)
{
    Cirrus__RaftMessage *pb = cr_arena_alloc(a, sizeof *pb);

    if (!pb)
        return CR_ENOMEM;
    cirrus__raft_message__init(pb);
    pb->type = (uint32_t)m->type;
    pb->from = m->from;
    pb->to = m->to;
    pb->term = m->term;
    pb->log_term = m->log_term;
    pb->index = m->index;
    pb->commit = m->commit;
    pb->reject = m->reject;
    pb->reject_hint = m->reject_hint;
    pb->context = m->context;
    if (m->n_entries) {
        Cirrus__RaftEntry *ents = cr_arena_alloc(a, m->n_entries * sizeof *ents);

        pb->entries = cr_arena_alloc(a, m->n_entries * sizeof *pb->entries);
        if (!ents || !pb->entries)
            return CR_ENOMEM;
        for (size_t k = 0; k < m->n_entries; k++) {
            cirrus__raft_entry__init(&ents[k]);
            ents[k].term = m->entries[k].term;
            ents[k].index = m->entries[k].index;
            ents[k].type = (uint32_t)m->entries[k].type;
            ents[k].data.data = (uint8_t *)m->entries[k].data;
            ents[k].data.len = m->entries[k].len;
            pb->entries[k] = &ents[k];
        }
        pb->n_entries = m->n_entries;
    }
    if (m->type == RAFT_MSG_SNAPSHOT) {
        Cirrus__RaftSnapshotMeta *s = cr_arena_alloc(a, sizeof *s);

        if (!s)
            return CR_ENOMEM;
        cirrus__raft_snapshot_meta__init(s);
        s->index = m->snapshot.index;
        s->term = m->snapshot.term;
        s->n_voters = m->snapshot.conf.n;
        s->voters = (uint64_t *)m->snapshot.conf.voters;
        pb->snapshot = s;
    }
    *out = pb;
    return 0;
}

/* ---- frames ---- */

static bool chunk_valid(const struct raftwire_chunk *c)
{
    return c->len <= RAFTWIRE_MAX_CHUNK && c->offset <= c->total &&
           c->len <= c->total - c->offset && c->index > 0 && (c->len == 0 || c->data) &&
           c->ctx_len <= RAFTWIRE_MAX_CHUNK_CTX && (c->ctx_len == 0 || (c->ctx && !c->offset)) &&
           cr_hash64(c->data, c->len) == c->checksum;
}

static bool forward_valid(enum raftwire_kind k, const struct raftwire_forward *f)
{
    if (!f->from || !f->to || f->from == f->to)
        return false;
    if (k == RAFTWIRE_FORWARD)
        return f->len > 0 && f->len <= RAFTWIRE_MAX_FORWARD && f->data && !f->index && !f->term &&
               !f->code;
    if (f->code == 0)
        return f->index > 0 && f->term > 0 && !f->len;
    return f->code < 0 && f->code > -1000 && !f->index && !f->term && !f->len;
}

static bool hello_valid(const struct raftwire_hello *h)
{
    return h->node_id != 0 && h->version == RAFTWIRE_VERSION;
}

static int frame_from_pb(const Cirrus__RaftFrame *pb, struct cr_arena *a,
                         struct raftwire_frame *out)
{
    memset(out, 0, sizeof *out);
    out->sent_ms = pb->sent_ms;
    switch (pb->body_case) {
    case CIRRUS__RAFT_FRAME__BODY_HELLO:
        out->kind = RAFTWIRE_HELLO;
        out->hello.cluster_id = pb->hello->cluster_id;
        out->hello.node_id = pb->hello->node_id;
        out->hello.version = pb->hello->version;
        return hello_valid(&out->hello) ? 0 : CR_EPROTO;
    case CIRRUS__RAFT_FRAME__BODY_MESSAGE:
        out->kind = RAFTWIRE_MESSAGE;
        return raftwire_msg_from_pb(pb->message, a, &out->msg);
    case CIRRUS__RAFT_FRAME__BODY_CHUNK: {
        const Cirrus__RaftSnapshotChunk *c = pb->chunk;

        out->kind = RAFTWIRE_CHUNK;
        if (c->length != c->data.len)
            return CR_EPROTO;
        out->chunk = (struct raftwire_chunk){.index = c->index,
                                             .term = c->term,
                                             .offset = c->offset,
                                             .total = c->total,
                                             .checksum = c->checksum,
                                             .data = c->data.len ? c->data.data : NULL,
                                             .len = c->data.len,
                                             .ctx = c->context.len ? c->context.data : NULL,
                                             .ctx_len = c->context.len};
        return chunk_valid(&out->chunk) ? 0 : CR_EPROTO;
    }
    case CIRRUS__RAFT_FRAME__BODY_FORWARD: {
        const Cirrus__RaftForward *f = pb->forward;

        out->kind = RAFTWIRE_FORWARD;
        out->fwd = (struct raftwire_forward){.from = f->from,
                                             .to = f->to,
                                             .seq = f->seq,
                                             .data = f->data.len ? f->data.data : NULL,
                                             .len = f->data.len};
        return forward_valid(out->kind, &out->fwd) ? 0 : CR_EPROTO;
    }
    case CIRRUS__RAFT_FRAME__BODY_FORWARD_RESULT: {
        const Cirrus__RaftForwardResult *f = pb->forward_result;

        out->kind = RAFTWIRE_FORWARD_RESULT;
        out->fwd = (struct raftwire_forward){.from = f->from,
                                             .to = f->to,
                                             .seq = f->seq,
                                             .index = f->index,
                                             .term = f->term,
                                             .code = f->code};
        return forward_valid(out->kind, &out->fwd) ? 0 : CR_EPROTO;
    }
    default:
        return CR_EPROTO;
    }
}

int raftwire_header(const uint8_t *p, size_t max, size_t *len, uint64_t *checksum)
{
    uint32_t n = cr_get_u32be(p);

    if (n > (max ? max : RAFTWIRE_MAX_FRAME))
        return CR_EFRAMETOOBIG;
    *len = n;
    *checksum = cr_get_u64be(p + 4);
    return 0;
}

int raftwire_decode_payload(const uint8_t *p, size_t n, struct cr_arena *a,
                            struct raftwire_frame *out)
{
    struct budget b = {a, 2 * n + UNPACK_SLACK};
    ProtobufCAllocator pa = {budget_alloc, budget_free, &b};
    Cirrus__RaftFrame *pb;

    if (n > RAFTWIRE_MAX_FRAME)
        return CR_EFRAMETOOBIG;
    pb = cirrus__raft_frame__unpack(&pa, n, p);
    if (!pb)
        return CR_EPROTO;
    return frame_from_pb(pb, a, out);
}

int raftwire_decode(const uint8_t *p, size_t n, struct cr_arena *a, struct raftwire_frame *out)
{
    size_t len;
    uint64_t sum;
    int rc;

    if (n < RAFTWIRE_HDR)
        return CR_EPROTO;
    rc = raftwire_header(p, 0, &len, &sum);
    if (rc)
        return rc;
    if (len != n - RAFTWIRE_HDR || cr_hash64(p + RAFTWIRE_HDR, len) != sum)
        return CR_EPROTO;
    return raftwire_decode_payload(p + RAFTWIRE_HDR, len, a, out);
}

int raftwire_encode(const struct raftwire_frame *f, struct cr_buf *out)
{
    Cirrus__RaftFrame pb = CIRRUS__RAFT_FRAME__INIT;
    Cirrus__RaftHello hello = CIRRUS__RAFT_HELLO__INIT;
    Cirrus__RaftSnapshotChunk chunk = CIRRUS__RAFT_SNAPSHOT_CHUNK__INIT;
    Cirrus__RaftForward fwd = CIRRUS__RAFT_FORWARD__INIT;
    Cirrus__RaftForwardResult res = CIRRUS__RAFT_FORWARD_RESULT__INIT;
    struct cr_arena a;
    size_t len = 0, start = out->len;
    int rc = 0;

    switch (f->kind) {
    case RAFTWIRE_HELLO:
        if (!hello_valid(&f->hello))
            return CR_EINVAL;
        hello.cluster_id = f->hello.cluster_id;
        hello.node_id = f->hello.node_id;
        hello.version = f->hello.version;
        pb.body_case = CIRRUS__RAFT_FRAME__BODY_HELLO;
        pb.hello = &hello;
        break;
    case RAFTWIRE_MESSAGE:
        if (!msg_valid(&f->msg))
            return CR_EINVAL;
        pb.body_case = CIRRUS__RAFT_FRAME__BODY_MESSAGE;
        break;
    case RAFTWIRE_CHUNK:
        if (!chunk_valid(&f->chunk))
            return CR_EINVAL;
        chunk.index = f->chunk.index;
        chunk.term = f->chunk.term;
        chunk.offset = f->chunk.offset;
        chunk.length = (uint32_t)f->chunk.len;
        chunk.total = f->chunk.total;
        chunk.checksum = f->chunk.checksum;
        chunk.data.data = (uint8_t *)f->chunk.data;
        chunk.data.len = f->chunk.len;
        chunk.context.data = (uint8_t *)f->chunk.ctx;
        chunk.context.len = f->chunk.ctx_len;
        pb.body_case = CIRRUS__RAFT_FRAME__BODY_CHUNK;
        pb.chunk = &chunk;
        break;
    case RAFTWIRE_FORWARD:
        if (!forward_valid(f->kind, &f->fwd))
            return CR_EINVAL;
        fwd.from = f->fwd.from;
        fwd.to = f->fwd.to;
        fwd.seq = f->fwd.seq;
        fwd.data.data = (uint8_t *)f->fwd.data;
        fwd.data.len = f->fwd.len;
        pb.body_case = CIRRUS__RAFT_FRAME__BODY_FORWARD;
        pb.forward = &fwd;
        break;
    case RAFTWIRE_FORWARD_RESULT:
        if (!forward_valid(f->kind, &f->fwd))
            return CR_EINVAL;
        res.from = f->fwd.from;
        res.to = f->fwd.to;
        res.seq = f->fwd.seq;
        res.index = f->fwd.index;
        res.term = f->fwd.term;
        res.code = f->fwd.code;
        pb.body_case = CIRRUS__RAFT_FRAME__BODY_FORWARD_RESULT;
        pb.forward_result = &res;
        break;
    default:
        return CR_EINVAL;
    }
    pb.sent_ms = f->sent_ms;
    cr_arena_init(&a, 4096);
    if (f->kind == RAFTWIRE_MESSAGE)
        rc = raftwire_msg_to_pb(&f->msg, &a, &pb.message);
    if (rc == 0) {
        len = cirrus__raft_frame__get_packed_size(&pb);
        if (len > RAFTWIRE_MAX_FRAME)
            rc = CR_EFRAMETOOBIG;
    }
    if (rc == 0)
        rc = cr_buf_reserve(out, RAFTWIRE_HDR + len);
    if (rc == 0) {
        uint8_t *p = out->data + start;

        cirrus__raft_frame__pack(&pb, p + RAFTWIRE_HDR);
        cr_put_u32be(p, (uint32_t)len);
        cr_put_u64be(p + 4, cr_hash64(p + RAFTWIRE_HDR, len));
        out->len = start + RAFTWIRE_HDR + len;
    }
    cr_arena_free(&a);
    return rc;
}
