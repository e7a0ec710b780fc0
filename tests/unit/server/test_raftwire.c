/* Raft frames: every message type, hellos and chunks round trip field for field; every
 * truncation and every single bit flip of a frame is refused; each kind of invalid content is
 * refused with CR_EPROTO; a payload built to blow up memory when unpacked is refused. */
#include "common/error.h"
#include "common/hash.h"
#include "server/repl/raftwire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t prng = 12345;

static uint64_t rnd(void)
{
    uint64_t z = (prng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t conf_add_7[RAFT_CONF_LEN];
static uint8_t payload[3000];
static struct raft_entry ents[40];

/* A valid random message of type t. */
static void make_msg(enum raft_msg_type t, struct raft_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = t;
    m->from = 1 + rnd() % 5;
    m->to = 1 + rnd() % 5;
    m->term = 10 + rnd() % 1000;
    m->log_term = rnd() % 10;
    m->index = rnd() % 100000;
    m->commit = rnd();
    m->reject = rnd() & 1;
    m->reject_hint = rnd();
    m->context = rnd();
    if (t == RAFT_MSG_APPEND) {
        m->n_entries = rnd() % 40;
        for (size_t k = 0; k < m->n_entries; k++) {
            struct raft_entry *e = &ents[k];

            e->index = m->index + 1 + k;
            e->term = m->log_term + k / 8;
            if (k % 7 == 3) {
                e->type = RAFT_ENTRY_CONF;
                e->data = conf_add_7;
                e->len = RAFT_CONF_LEN;
            } else {
                e->type = RAFT_ENTRY_NORMAL;
                e->len = rnd() % sizeof payload;
                e->data = e->len ? payload : NULL;
            }
        }
        m->entries = m->n_entries ? ents : NULL;
    }
    if (t == RAFT_MSG_SNAPSHOT) {
        m->snapshot.index = 1 + rnd() % 1000;
        m->snapshot.term = rnd() % 50;
        m->snapshot.conf.n = 1 + rnd() % RAFT_MAX_VOTERS;
        for (size_t i = 0; i < m->snapshot.conf.n; i++)
            m->snapshot.conf.voters[i] = 100 + i;
    }
}

static void assert_msg_equal(const struct raft_msg *a, const struct raft_msg *b)
{
    assert_int_equal(a->type, b->type);
    assert_true(a->from == b->from && a->to == b->to && a->term == b->term);
    assert_true(a->log_term == b->log_term && a->index == b->index && a->commit == b->commit);
    assert_true(a->reject == b->reject && a->reject_hint == b->reject_hint);
    assert_true(a->context == b->context);
    assert_int_equal(a->n_entries, b->n_entries);
    for (size_t k = 0; k < a->n_entries; k++) {
        const struct raft_entry *x = &a->entries[k], *y = &b->entries[k];

        assert_true(x->index == y->index && x->term == y->term && x->type == y->type);
        assert_int_equal(x->len, y->len);
        if (x->len)
            assert_memory_equal(x->data, y->data, x->len);
    }
    assert_true(a->snapshot.index == b->snapshot.index && a->snapshot.term == b->snapshot.term);
    assert_int_equal(a->snapshot.conf.n, b->snapshot.conf.n);
    for (size_t i = 0; i < a->snapshot.conf.n; i++)
        assert_true(a->snapshot.conf.voters[i] == b->snapshot.conf.voters[i]);
}

static int setup(void **state)
{
    (void)state;
    raft_conf_encode(conf_add_7, RAFT_CONF_ADD, 7);
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)rnd();
    return 0;
}

static void test_messages_round_trip(void **state)
{
    static const enum raft_msg_type types[] = {
#define TYPE_ITEM(name, value, str) name,
        RAFT_MSG_TYPES(TYPE_ITEM)
#undef TYPE_ITEM
    };

    (void)state;
    for (int round = 0; round < 50; round++) {
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            struct raftwire_frame f = {.kind = RAFTWIRE_MESSAGE}, back;
            struct cr_buf b;
            struct cr_arena a;

            make_msg(types[t], &f.msg);
            cr_buf_init(&b);
            cr_arena_init(&a, 4096);
            assert_int_equal(raftwire_encode(&f, &b), 0);
            assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
            assert_int_equal(back.kind, RAFTWIRE_MESSAGE);
            assert_msg_equal(&f.msg, &back.msg);
            cr_arena_free(&a);
            cr_buf_free(&b);
        }
    }
}

static void test_hello_and_chunk_round_trip(void **state)
{
    struct raftwire_frame h = {.kind = RAFTWIRE_HELLO, .hello = {UINT64_MAX, 3, RAFTWIRE_VERSION}};
    struct raftwire_frame c = {.kind = RAFTWIRE_CHUNK};
    struct raftwire_frame back;
    struct cr_buf b;
    struct cr_arena a;

    (void)state;
    c.chunk = (struct raftwire_chunk){
        .index = 9, .term = 2, .offset = 0, .total = 10000, .data = payload, .len = 2000};
    c.chunk.checksum = cr_hash64(payload, 2000);
    c.chunk.ctx = (const uint8_t *)"1=127.0.0.1:7171";
    c.chunk.ctx_len = 16;
    cr_buf_init(&b);
    cr_arena_init(&a, 4096);
    assert_int_equal(raftwire_encode(&h, &b), 0);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
    assert_int_equal(back.kind, RAFTWIRE_HELLO);
    assert_true(back.hello.cluster_id == UINT64_MAX && back.hello.node_id == 3);
    cr_buf_reset(&b);
    assert_int_equal(raftwire_encode(&c, &b), 0);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
    assert_int_equal(back.kind, RAFTWIRE_CHUNK);
    assert_true(back.chunk.index == 9 && back.chunk.term == 2 && back.chunk.offset == 0);
    assert_true(back.chunk.total == 10000 && back.chunk.len == 2000);
    assert_memory_equal(back.chunk.data, payload, 2000);
    assert_int_equal(back.chunk.ctx_len, 16);
    assert_memory_equal(back.chunk.ctx, "1=127.0.0.1:7171", 16);
    /* a context only rides on the first chunk */
    c.chunk.offset = 4096;
    cr_buf_reset(&b);
    assert_int_equal(raftwire_encode(&c, &b), CR_EINVAL);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

/* Every truncation (the header claims more than is there) and every bit flip is refused. */
static void test_damaged_frames_refused(void **state)
{
    struct raftwire_frame f = {.kind = RAFTWIRE_MESSAGE}, back;
    struct cr_buf b;
    struct cr_arena a;

    (void)state;
    make_msg(RAFT_MSG_APPEND, &f.msg);
    f.msg.n_entries = 3;
    f.msg.entries = ents;
    for (size_t k = 0; k < 3; k++)
        ents[k] = (struct raft_entry){
            .index = f.msg.index + 1 + k, .term = f.msg.log_term, .data = payload, .len = 20};
    cr_buf_init(&b);
    cr_arena_init(&a, 4096);
    assert_int_equal(raftwire_encode(&f, &b), 0);
    for (size_t n = 0; n < b.len; n++)
        assert_int_not_equal(raftwire_decode(b.data, n, &a, &back), 0);
    for (size_t bit = 0; bit < 8 * b.len; bit++) {
        b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
        b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

static void test_header_limits(void **state)
{
    uint8_t hdr[RAFTWIRE_HDR] = {0xff, 0xff, 0xff, 0xff};
    struct raftwire_frame back;
    struct cr_arena a;
    size_t len;
    uint64_t sum;

    (void)state;
    cr_arena_init(&a, 4096);
    assert_int_equal(raftwire_header(hdr, 0, &len, &sum), CR_EFRAMETOOBIG);
    assert_int_equal(raftwire_decode(hdr, sizeof hdr, &a, &back), CR_EFRAMETOOBIG);
    cr_put_u32be(hdr, 2000);
    assert_int_equal(raftwire_header(hdr, 1000, &len, &sum), CR_EFRAMETOOBIG);
    assert_int_equal(raftwire_header(hdr, 0, &len, &sum), 0);
    assert_int_equal(len, 2000);
    cr_arena_free(&a);
}

/* Frames a hand-built protobuf frame with a correct header. */
static void frame_pb(const Cirrus__RaftFrame *pb, struct cr_buf *b)
{
    size_t len = cirrus__raft_frame__get_packed_size(pb);

    cr_buf_reset(b);
    assert_int_equal(cr_buf_reserve(b, RAFTWIRE_HDR + len), 0);
    cirrus__raft_frame__pack(pb, b->data + RAFTWIRE_HDR);
    cr_put_u32be(b->data, (uint32_t)len);
    cr_put_u64be(b->data + 4, cr_hash64(b->data + RAFTWIRE_HDR, len));
    b->len = RAFTWIRE_HDR + len;
}

struct bad_case {
    const char *what;
    void (*mutate)(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s);
};

static void m_type0(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e, (void)s;
    m->type = 0;
}
static void m_type13(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e, (void)s;
    m->type = 13;
}
static void m_from0(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e, (void)s;
    m->from = 0;
}
static void m_to0(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e, (void)s;
    m->to = 0;
}
static void m_entries_on_heartbeat(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e,
                                   Cirrus__RaftSnapshotMeta *s)
{
    (void)e, (void)s;
    m->type = RAFT_MSG_HEARTBEAT;
}
static void m_index_gap(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)m, (void)s;
    e[1].index++;
}
static void m_term_above(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)s;
    e[1].term = m->term + 1;
}
static void m_term_down(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)s;
    e[0].term = m->log_term + 2;
    e[1].term = m->log_term + 1;
}
static void m_below_prev(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)s;
    e[0].term = m->log_term - 1;
}
static void m_entry_type(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)m, (void)s;
    e[0].type = 2;
}
static void m_conf_len(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)m, (void)s;
    e[0].type = RAFT_ENTRY_CONF;
    e[0].data.len = RAFT_CONF_LEN - 1;
}
static void m_conf_op(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    static uint8_t bad[RAFT_CONF_LEN] = {3, 1};

    (void)m, (void)s;
    e[0].type = RAFT_ENTRY_CONF;
    e[0].data.data = bad;
    e[0].data.len = RAFT_CONF_LEN;
}
static void m_conf_node0(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    static uint8_t bad[RAFT_CONF_LEN] = {RAFT_CONF_ADD};

    (void)m, (void)s;
    e[0].type = RAFT_ENTRY_CONF;
    e[0].data.data = bad;
    e[0].data.len = RAFT_CONF_LEN;
}
static void m_snap_missing(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e,
                           Cirrus__RaftSnapshotMeta *s)
{
    (void)e, (void)s;
    m->n_entries = 0;
    m->type = RAFT_MSG_SNAPSHOT;
}
static void m_snap_on_vote(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e,
                           Cirrus__RaftSnapshotMeta *s)
{
    (void)e;
    m->n_entries = 0;
    m->type = RAFT_MSG_VOTE;
    m->snapshot = s;
}
static void m_snap_voters(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e;
    m->n_entries = 0;
    m->type = RAFT_MSG_SNAPSHOT;
    m->snapshot = s;
    s->n_voters = RAFT_MAX_VOTERS + 1;
}
static void m_snap_dup(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e;
    m->n_entries = 0;
    m->type = RAFT_MSG_SNAPSHOT;
    m->snapshot = s;
    s->voters[1] = s->voters[0];
}
static void m_snap_zero(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e;
    m->n_entries = 0;
    m->type = RAFT_MSG_SNAPSHOT;
    m->snapshot = s;
    s->voters[2] = 0;
}
static void m_snap_index0(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e, Cirrus__RaftSnapshotMeta *s)
{
    (void)e;
    m->n_entries = 0;
    m->type = RAFT_MSG_SNAPSHOT;
    m->snapshot = s;
    s->index = 0;
}
static void m_index_overflow(Cirrus__RaftMessage *m, Cirrus__RaftEntry *e,
                             Cirrus__RaftSnapshotMeta *s)
{
    (void)s;
    m->index = UINT64_MAX - 1;
    for (size_t k = 0; k < m->n_entries; k++)
        e[k].index = m->index + 1 + k;
}

/* Each mutation of a valid APPEND (4 entries) makes the frame invalid. */
static void test_invalid_messages_refused(void **state)
{
    static const struct bad_case cases[] = {
        {"type 0", m_type0},
        {"type 13", m_type13},
        {"from 0", m_from0},
        {"to 0", m_to0},
        {"entries on a heartbeat", m_entries_on_heartbeat},
        {"entry index gap", m_index_gap},
        {"entry term above the message's", m_term_above},
        {"entry terms going down", m_term_down},
        {"entry term below the prev entry's", m_below_prev},
        {"entry type 2", m_entry_type},
        {"CONF data length", m_conf_len},
        {"CONF op", m_conf_op},
        {"CONF node 0", m_conf_node0},
        {"SNAPSHOT without meta", m_snap_missing},
        {"meta on a VOTE", m_snap_on_vote},
        {"17 voters", m_snap_voters},
        {"duplicate voter", m_snap_dup},
        {"voter 0", m_snap_zero},
        {"snapshot index 0", m_snap_index0},
        {"index overflow", m_index_overflow},
    };
    struct cr_buf b;
    struct cr_arena a;

    (void)state;
    cr_buf_init(&b);
    cr_arena_init(&a, 4096);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int valid = 1; valid >= 0; valid--) {
            Cirrus__RaftFrame f = CIRRUS__RAFT_FRAME__INIT;
            Cirrus__RaftMessage m = CIRRUS__RAFT_MESSAGE__INIT;
            Cirrus__RaftEntry e[4], *ep[4];
            Cirrus__RaftSnapshotMeta s = CIRRUS__RAFT_SNAPSHOT_META__INIT;
            uint64_t voters[RAFT_MAX_VOTERS + 1];
            struct raftwire_frame back;
            int rc;

            m.type = RAFT_MSG_APPEND;
            m.from = 1;
            m.to = 2;
            m.term = 9;
            m.log_term = 5;
            m.index = 40;
            for (size_t k = 0; k < 4; k++) {
                cirrus__raft_entry__init(&e[k]);
                e[k].index = 41 + k;
                e[k].term = 5 + k;
                e[k].data.data = payload;
                e[k].data.len = 10;
                ep[k] = &e[k];
            }
            m.entries = ep;
            m.n_entries = 4;
            for (size_t i = 0; i < RAFT_MAX_VOTERS + 1; i++)
                voters[i] = i + 1;
            s.index = 30;
            s.term = 4;
            s.voters = voters;
            s.n_voters = 3;
            if (!valid)
                cases[c].mutate(&m, e, &s);
            f.body_case = CIRRUS__RAFT_FRAME__BODY_MESSAGE;
            f.message = &m;
            frame_pb(&f, &b);
            rc = raftwire_decode(b.data, b.len, &a, &back);
            if (valid)
                assert_int_equal(rc, 0);
            else if (rc != CR_EPROTO)
                fail_msg("%s: decoded with %d", cases[c].what, rc);
        }
    }
    cr_arena_free(&a);
    cr_buf_free(&b);
}

static void test_invalid_frames_refused(void **state)
{
    Cirrus__RaftFrame f = CIRRUS__RAFT_FRAME__INIT;
    Cirrus__RaftHello h = CIRRUS__RAFT_HELLO__INIT;
    Cirrus__RaftSnapshotChunk c = CIRRUS__RAFT_SNAPSHOT_CHUNK__INIT;
    struct raftwire_frame back, enc = {.kind = RAFTWIRE_HELLO};
    struct cr_buf b;
    struct cr_arena a;

    (void)state;
    cr_buf_init(&b);
    cr_arena_init(&a, 4096);
    frame_pb(&f, &b); /* no body */
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
    f.body_case = CIRRUS__RAFT_FRAME__BODY_HELLO;
    f.hello = &h;
    h.cluster_id = 5;
    h.node_id = 0;
    h.version = RAFTWIRE_VERSION;
    frame_pb(&f, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
    h.node_id = 1;
    h.version = RAFTWIRE_VERSION + 1;
    frame_pb(&f, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
    f.body_case = CIRRUS__RAFT_FRAME__BODY_CHUNK;
    f.chunk = &c;
    c.index = 3;
    c.total = 100;
    c.offset = 50;
    c.data.data = payload;
    c.data.len = 50;
    c.length = 50;
    c.checksum = cr_hash64(payload, 50);
    frame_pb(&f, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
    c.length = 49;
    frame_pb(&f, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
    c.length = 50;
    c.checksum++;
    frame_pb(&f, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
    c.checksum--;
    c.offset = 51;
    frame_pb(&f, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
    /* encoding refuses what decoding would, and appends nothing */
    cr_buf_reset(&b);
    assert_int_equal(raftwire_encode(&enc, &b), CR_EINVAL);
    assert_int_equal(b.len, 0);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

/* A forward and its result round trip; encoding and decoding refuse the same bad ones. */
static void check_forward(enum raftwire_kind kind, struct raftwire_forward fw, int want)
{
    struct raftwire_frame f = {.kind = kind, .fwd = fw}, back;
    Cirrus__RaftFrame pf = CIRRUS__RAFT_FRAME__INIT;
    Cirrus__RaftForward q = CIRRUS__RAFT_FORWARD__INIT;
    Cirrus__RaftForwardResult r = CIRRUS__RAFT_FORWARD_RESULT__INIT;
    struct cr_buf b;
    struct cr_arena a;

    cr_buf_init(&b);
    cr_arena_init(&a, 4096);
    assert_int_equal(raftwire_encode(&f, &b), want ? CR_EINVAL : 0);
    if (!want) {
        assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), 0);
        assert_int_equal(back.kind, kind);
        assert_true(back.fwd.from == fw.from && back.fwd.to == fw.to && back.fwd.seq == fw.seq);
        assert_true(back.fwd.index == fw.index && back.fwd.term == fw.term);
        assert_int_equal(back.fwd.code, fw.code);
        assert_int_equal(back.fwd.len, fw.len);
        if (fw.len)
            assert_memory_equal(back.fwd.data, fw.data, fw.len);
    }
    /* the same fields packed by hand: decoding agrees with encoding */
    if (kind == RAFTWIRE_FORWARD) {
        q.from = fw.from;
        q.to = fw.to;
        q.seq = fw.seq;
        q.data.data = (uint8_t *)fw.data;
        q.data.len = fw.len;
        pf.body_case = CIRRUS__RAFT_FRAME__BODY_FORWARD;
        pf.forward = &q;
    } else {
        r.from = fw.from;
        r.to = fw.to;
        r.seq = fw.seq;
        r.index = fw.index;
        r.term = fw.term;
        r.code = fw.code;
        pf.body_case = CIRRUS__RAFT_FRAME__BODY_FORWARD_RESULT;
        pf.forward_result = &r;
    }
    frame_pb(&pf, &b);
    assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), want ? CR_EPROTO : 0);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

static void test_forward_frames(void **state)
{
    (void)state;
    check_forward(RAFTWIRE_FORWARD, (struct raftwire_forward){2, 1, 7, payload, 300, 0, 0, 0}, 0);
    check_forward(RAFTWIRE_FORWARD_RESULT, (struct raftwire_forward){1, 2, 7, NULL, 0, 42, 3, 0},
                  0);
    check_forward(RAFTWIRE_FORWARD_RESULT,
                  (struct raftwire_forward){1, 2, 8, NULL, 0, 0, 0, CR_ENOTLEADER}, 0);
    /* refused: no data, no sender, sent to itself, a result with no index, or with an index
     * and an error, or a positive code */
    check_forward(RAFTWIRE_FORWARD, (struct raftwire_forward){2, 1, 7, NULL, 0, 0, 0, 0}, 1);
    check_forward(RAFTWIRE_FORWARD, (struct raftwire_forward){0, 1, 7, payload, 3, 0, 0, 0}, 1);
    check_forward(RAFTWIRE_FORWARD, (struct raftwire_forward){1, 1, 7, payload, 3, 0, 0, 0}, 1);
    check_forward(RAFTWIRE_FORWARD_RESULT, (struct raftwire_forward){1, 2, 7, NULL, 0, 0, 3, 0}, 1);
    check_forward(RAFTWIRE_FORWARD_RESULT,
                  (struct raftwire_forward){1, 2, 7, NULL, 0, 5, 3, CR_ENOTLEADER}, 1);
    check_forward(RAFTWIRE_FORWARD_RESULT, (struct raftwire_forward){1, 2, 7, NULL, 0, 0, 0, 5}, 1);
}

/* RAFTWIRE_MAX_ENTRIES + 1 entries, and a payload of millions of empty entries (2 bytes on the
 * wire each, a hundred unpacked), are refused, the latter within the unpack budget. */
static void test_entry_count_and_memory_bound(void **state)
{
    struct cr_buf body, b;
    struct cr_arena a;
    struct raftwire_frame back;
    uint8_t hdr[16];
    size_t n;

    (void)state;
    for (int bomb = 0; bomb < 2; bomb++) {
        size_t count = bomb ? 3u << 20 : RAFTWIRE_MAX_ENTRIES + 1;

        cr_buf_init(&body);
        cr_buf_init(&b);
        cr_arena_init(&a, 1 << 16);
        /* RaftMessage: type APPEND, from 1, to 2, term 9, then count entries */
        static const uint8_t fixed[] = {0x08, 1, 0x10, 1, 0x18, 2, 0x20, 9};
        assert_int_equal(cr_buf_append(&body, fixed, sizeof fixed), 0);
        for (size_t k = 0; k < count; k++) {
            /* bomb: empty entries; otherwise consecutive entries of term 1 */
            uint8_t ent[8] = {0x5a, 0};
            size_t len = 2;

            if (!bomb) {
                uint8_t sub[6] = {0x08, 1, 0x10};

                sub[3] = (uint8_t)(0x80 | ((k + 1) & 0x7f));
                sub[4] = (uint8_t)((k + 1) >> 7);
                ent[1] = 5;
                memcpy(ent + 2, sub, 5);
                len = 7;
            }
            assert_int_equal(cr_buf_append(&body, ent, len), 0);
        }
        /* RaftFrame field 2 (message), length-delimited */
        n = 0;
        hdr[n++] = 0x12;
        n += cr_varint_encode(hdr + n, body.len);
        assert_int_equal(cr_buf_reserve(&b, RAFTWIRE_HDR + n + body.len), 0);
        b.len = RAFTWIRE_HDR;
        assert_int_equal(cr_buf_append(&b, hdr, n), 0);
        assert_int_equal(cr_buf_append(&b, body.data, body.len), 0);
        cr_put_u32be(b.data, (uint32_t)(b.len - RAFTWIRE_HDR));
        cr_put_u64be(b.data + 4, cr_hash64(b.data + RAFTWIRE_HDR, b.len - RAFTWIRE_HDR));
        assert_int_equal(raftwire_decode(b.data, b.len, &a, &back), CR_EPROTO);
        cr_arena_free(&a);
        cr_buf_free(&b);
        cr_buf_free(&body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_round_trip),
        cmocka_unit_test(test_hello_and_chunk_round_trip),
        cmocka_unit_test(test_damaged_frames_refused),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_invalid_messages_refused),
        cmocka_unit_test(test_invalid_frames_refused),
        cmocka_unit_test(test_forward_frames),
        cmocka_unit_test(test_entry_count_and_memory_bound),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
