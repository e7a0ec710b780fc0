/* The Raft log store: random sequences of saves, compactions, truncations and reopens against
 * an in-memory reference; the hard state across a reopen; entries() byte limits; refused
 * operations that change nothing; and a crash test — a child saving readies in a loop is
 * SIGKILLed at random moments, and the reopened store must hold exactly a prefix of them. */
#include "common/arena.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "server/repl/raftlog.h"
#include "server/repl/raftwire.h"
#include "tmpdir.h"

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static uint64_t rnd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    return n ? rnd_next(s) % n : 0;
}

/* ---- the reference: the log as plain arrays ---- */

struct ment {
    uint64_t term;
    enum raft_entry_type type;
    uint8_t *data;
    size_t len;
};

struct model {
    struct raft_snapshot_meta snap;
    struct raft_hard_state hs;
    struct ment *e; /* e[k] is index snap.index + 1 + k */
    size_t n, cap;
};

static uint64_t model_last(const struct model *m)
{
    return m->snap.index + m->n;
}

static uint64_t model_term(const struct model *m, uint64_t i)
{
    return i == m->snap.index ? m->snap.term : m->e[i - m->snap.index - 1].term;
}

static void model_cut(struct model *m, size_t n)
{
    while (m->n > n)
        free(m->e[--m->n].data);
}

static void model_free(struct model *m)
{
    model_cut(m, 0);
    free(m->e);
    memset(m, 0, sizeof *m);
}

static void model_save(struct model *m, const struct raft_ready *rd)
{
    if (rd->snapshot) {
        model_cut(m, 0);
        m->snap = *rd->snapshot;
    }
    if (rd->n_entries)
        model_cut(m, (size_t)(rd->entries[0].index - m->snap.index - 1));
    for (size_t k = 0; k < rd->n_entries; k++) {
        const struct raft_entry *e = &rd->entries[k];

        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 64;
            m->e = realloc(m->e, m->cap * sizeof *m->e);
            assert_non_null(m->e);
        }
        m->e[m->n].term = e->term;
        m->e[m->n].type = e->type;
        m->e[m->n].len = e->len;
        m->e[m->n].data = malloc(e->len ? e->len : 1);
        if (e->len)
            memcpy(m->e[m->n].data, e->data, e->len);
        m->n++;
    }
    if (rd->has_hard_state)
        m->hs = rd->hard_state;
}

static void model_compact(struct model *m, const struct raft_snapshot_meta *meta)
{
    size_t drop = (size_t)(meta->index - m->snap.index);

    for (size_t k = 0; k < drop; k++)
        free(m->e[k].data);
    memmove(m->e, m->e + drop, (m->n - drop) * sizeof *m->e);
    m->n -= drop;
    m->snap = *meta;
}

/* ---- comparing a store with the reference, through the interface the core uses ---- */

static bool meta_equal(const struct raft_snapshot_meta *a, const struct raft_snapshot_meta *b)
{
    if (a->index != b->index || a->term != b->term || a->conf.n != b->conf.n)
        return false;
    return memcmp(a->conf.voters, b->conf.voters, a->conf.n * sizeof a->conf.voters[0]) == 0;
}

static bool entry_equal(const struct raft_entry *a, uint64_t index, const struct ment *b)
{
    return a->index == index && a->term == b->term && a->type == b->type && a->len == b->len &&
           (b->len == 0 || memcmp(a->data, b->data, b->len) == 0);
}

/* Whether the store holds exactly the model's state (no cmocka: also used on candidates). */
static bool store_equal(struct raftlog *l, const struct model *m)
{
    const struct raft_storage *st = raftlog_storage(l);
    struct raft_snapshot_meta snap;
    struct raft_hard_state hs;
    struct raft_entry *out;
    uint64_t last = model_last(m);
    bool ok = true;

    st->snapshot(st->data, &snap);
    raftlog_hard_state(l, &hs);
    if (!meta_equal(&snap, &m->snap) || st->last_index(st->data) != last ||
        raftlog_last_index(l) != last || hs.term != m->hs.term || hs.vote != m->hs.vote ||
        hs.commit != m->hs.commit)
        return false;
    for (uint64_t i = m->snap.index; i <= last && ok; i++)
        ok = st->term(st->data, i) == model_term(m, i);
    if (!ok || m->n == 0)
        return ok;
    out = calloc(m->n, sizeof *out);
    assert_non_null(out);
    ok = st->entries(st->data, m->snap.index + 1, last + 1, SIZE_MAX, out) == m->n;
    for (size_t k = 0; k < m->n && ok; k++)
        ok = entry_equal(&out[k], m->snap.index + 1 + k, &m->e[k]);
    free(out);
    return ok;
}

/* entries(lo, hi, max_bytes) returns the longest run under max_bytes, at least one entry. */
static void check_entries_range(struct raftlog *l, const struct model *m, uint64_t *s)
{
    const struct raft_storage *st = raftlog_storage(l);
    struct raft_entry out[64];
    uint64_t lo, hi;
    size_t max_bytes, want = 0, bytes = 0, got;

    if (m->n == 0)
        return;
    lo = m->snap.index + 1 + rnd(s, m->n);
    hi = lo + 1 + rnd(s, model_last(m) + 1 - lo);
    if (hi - lo > 64)
        hi = lo + 64;
    max_bytes = (size_t)rnd(s, 3000);
    for (uint64_t i = lo; i < hi; i++) {
        size_t len = m->e[i - m->snap.index - 1].len;

        if (want > 0 && bytes + len > max_bytes)
            break;
        bytes += len;
        want++;
    }
    got = st->entries(st->data, lo, hi, max_bytes, out);
    assert_int_equal(got, want);
    for (size_t k = 0; k < got; k++)
        assert_true(entry_equal(&out[k], lo + k, &m->e[lo + k - m->snap.index - 1]));
}

/* ---- a deterministic stream of random readies ---- */

struct stream {
    uint64_t prng;
    struct model m; /* the state after the readies generated so far */
    struct cr_arena a;
    struct raft_snapshot_meta snap;
    struct raft_entry ents[64];
    struct raft_ready rd;
    size_t steps;
};

static void stream_init(struct stream *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->prng = seed;
    cr_arena_init(&s->a, 1 << 16);
}

static void stream_free(struct stream *s)
{
    model_free(&s->m);
    cr_arena_free(&s->a);
}

/* Generates the next ready (valid for the current state) into s->rd and applies it to s->m. */
static const struct raft_ready *stream_next(struct stream *s)
{
    struct raft_ready *rd = &s->rd;
    uint64_t snap_index = s->m.snap.index, last = model_last(&s->m), first;
    size_t n = 0;

    cr_arena_reset(&s->a);
    memset(rd, 0, sizeof *rd);
    if (rnd(&s->prng, 100) < 5) {
        memset(&s->snap, 0, sizeof s->snap);
        s->snap.index = snap_index + 1 + rnd(&s->prng, last - snap_index + 5);
        s->snap.term = 1 + rnd(&s->prng, 1000);
        s->snap.conf.n = 1 + (size_t)rnd(&s->prng, RAFT_MAX_VOTERS);
        for (size_t k = 0; k < s->snap.conf.n; k++)
            s->snap.conf.voters[k] = 1 + rnd(&s->prng, 100);
        rd->snapshot = &s->snap;
        snap_index = last = s->snap.index;
    }
    if (rnd(&s->prng, 100) < 70)
        n = 1 + (size_t)rnd(&s->prng, rnd(&s->prng, 10) == 0 ? 64 : 8);
    first = last + 1;
    if (last > snap_index && rnd(&s->prng, 3) == 0)
        first -= rnd(&s->prng, (last - snap_index < 6 ? last - snap_index : 6) + 1);
    for (size_t k = 0; k < n; k++) {
        struct raft_entry *e = &s->ents[k];
        uint8_t *data;

        e->index = first + k;
        e->term = 1 + rnd(&s->prng, 20);
        e->type = rnd(&s->prng, 2) ? RAFT_ENTRY_CONF : RAFT_ENTRY_NORMAL;
        e->len = (size_t)(rnd(&s->prng, 10) == 0 ? rnd(&s->prng, 6000) : rnd(&s->prng, 64));
        data = cr_arena_alloc(&s->a, e->len + 1);
        assert_non_null(data);
        for (size_t b = 0; b < e->len; b++)
            data[b] = (uint8_t)rnd_next(&s->prng);
        e->data = e->len ? data : NULL;
    }
    rd->entries = n ? s->ents : NULL;
    rd->n_entries = n;
    if (n)
        last = first + n - 1;
    if (rnd(&s->prng, 2)) {
        rd->has_hard_state = true;
        rd->hard_state.term = 1 + rnd(&s->prng, 1000);
        rd->hard_state.vote = rnd(&s->prng, 6);
        rd->hard_state.commit = rnd(&s->prng, last + 1);
    }
    model_save(&s->m, rd);
    s->steps++;
    return rd;
}

/* ---- tests ---- */

static const struct raftlog_options nosync = {.no_sync = true};

static void open_ok(struct raftlog *l, const char *dir, const struct raftlog_options *opt)
{
    int rc = raftlog_open(l, dir, opt);

    assert_int_equal(rc, 0);
}

/* Random saves, compactions, truncations, refused operations and reopens, the store checked
 * against the reference after each. */
static void test_random_against_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        const char *tmp = test_tmpdir();
        char dir[64];
        struct raftlog l;
        struct stream s;
        uint64_t p = seed * 7919;

        assert_non_null(tmp);
        snprintf(dir, sizeof dir, "%s", tmp);
        stream_init(&s, seed);
        open_ok(&l, dir, &nosync);
        assert_true(store_equal(&l, &s.m));
        for (int op = 0; op < 300; op++) {
            uint64_t r = rnd(&p, 100), snap = s.m.snap.index, last = model_last(&s.m);

            if (r < 60) {
                assert_int_equal(raftlog_save(&l, stream_next(&s)), 0);
            } else if (r < 70 && last > snap) {
                struct raft_snapshot_meta meta = {0};

                meta.index = snap + 1 + rnd(&p, last - snap);
                meta.term = model_term(&s.m, meta.index);
                meta.conf.n = 1 + (size_t)rnd(&p, 5);
                for (size_t k = 0; k < meta.conf.n; k++)
                    meta.conf.voters[k] = k + 1;
                meta.term++;
                assert_int_equal(raftlog_compact(&l, &meta), CR_EINVAL); /* wrong term */
                meta.term--;
                assert_int_equal(raftlog_compact(&l, &meta), 0);
                model_compact(&s.m, &meta);
            } else if (r < 80) {
                uint64_t floor = snap > s.m.hs.commit ? snap : s.m.hs.commit, from;

                if (floor >= last)
                    continue; /* nothing may be truncated */
                from = floor + 1 + rnd(&p, last - floor + 1);

                assert_int_equal(raftlog_truncate(&l, floor), CR_EINVAL);
                assert_int_equal(raftlog_truncate(&l, from), 0);
                if (from <= last)
                    model_cut(&s.m, (size_t)(from - snap - 1));
            } else if (r < 90) {
                struct raft_entry gap = {.index = last + 2, .term = 1};
                struct raft_entry low = {.index = snap, .term = 1};
                struct raft_ready bad = {.entries = &gap, .n_entries = 1};

                assert_int_equal(raftlog_save(&l, &bad), CR_EINVAL);
                if (snap > 0) {
                    bad.entries = &low;
                    assert_int_equal(raftlog_save(&l, &bad), CR_EINVAL);
                }
            } else {
                raftlog_close(&l);
                open_ok(&l, dir, &nosync);
            }
            assert_true(store_equal(&l, &s.m));
            check_entries_range(&l, &s.m, &p);
        }
        raftlog_close(&l);
        open_ok(&l, dir, &nosync);
        assert_true(store_equal(&l, &s.m));
        raftlog_close(&l);
        stream_free(&s);
        test_rmtree(dir);
    }
}

/* Term, vote and commit survive a reopen, also alone in a ready; a ready with nothing to
 * persist changes nothing. */
static void test_hard_state_round_trip(void **state)
{
    const char *dir = test_tmpdir();
    struct raftlog l;
    struct raft_hard_state hs;
    struct raft_ready rd = {.has_hard_state = true, .hard_state = {7, 3, 0}};
    struct raft_ready empty = {0};

    (void)state;
    assert_non_null(dir);
    open_ok(&l, dir, NULL);
    raftlog_hard_state(&l, &hs);
    assert_true(hs.term == 0 && hs.vote == 0 && hs.commit == 0);
    assert_int_equal(raftlog_save(&l, &rd), 0);
    raftlog_close(&l);
    open_ok(&l, dir, NULL);
    raftlog_hard_state(&l, &hs);
    assert_true(hs.term == 7 && hs.vote == 3 && hs.commit == 0);
    rd.hard_state = (struct raft_hard_state){UINT64_MAX, UINT64_MAX - 1, 0};
    assert_int_equal(raftlog_save(&l, &rd), 0);
    assert_int_equal(raftlog_save(&l, &empty), 0);
    raftlog_close(&l);
    open_ok(&l, dir, NULL);
    raftlog_hard_state(&l, &hs);
    assert_true(hs.term == UINT64_MAX && hs.vote == UINT64_MAX - 1);
    assert_int_equal(raftlog_last_index(&l), 0);
    raftlog_close(&l);
    test_rmtree(dir);
}

/* The bootstrap log round trips and the core starts from it. */
static void test_bootstrap_and_core(void **state)
{
    const char *dir = test_tmpdir();
    const uint64_t voters[] = {1, 2, 3};
    struct raft_entry ents[3];
    uint8_t bufs[3 * RAFT_CONF_LEN];
    struct raft_ready rd = {.entries = ents, .n_entries = 3, .has_hard_state = true};
    struct raftlog l;
    struct raft r;
    struct raft_config cfg = {.id = 2,
                              .election_ticks = 10,
                              .heartbeat_ticks = 1,
                              .seed = 1,
                              .max_msg_bytes = 1 << 20,
                              .max_inflight_msgs = 8,
                              .max_apply_bytes = 1 << 20};

    (void)state;
    assert_non_null(dir);
    raft_bootstrap(voters, 3, ents, bufs, &rd.hard_state);
    open_ok(&l, dir, NULL);
    assert_int_equal(raftlog_save(&l, &rd), 0);
    raftlog_close(&l);
    open_ok(&l, dir, NULL);
    cfg.storage = raftlog_storage(&l);
    raftlog_hard_state(&l, &cfg.hard_state);
    cfg.applied = 3;
    assert_int_equal(raft_init(&r, &cfg), 0);
    assert_int_equal(raft_last_index(&r), 3);
    assert_int_equal(raft_commit(&r), 3);
    assert_int_equal(raft_conf(&r)->n, 3);
    raft_close(&r);
    raftlog_close(&l);
    test_rmtree(dir);
}

/* entries() stops before max_bytes but always returns at least one entry. */
static void test_entries_byte_limit(void **state)
{
    const char *dir = test_tmpdir();
    struct raftlog l;
    struct raft_entry ents[10], out[10];
    uint8_t data[100];
    struct raft_ready rd = {.entries = ents, .n_entries = 10};
    const struct raft_storage *st;
    static const struct {
        size_t max, want;
    } cases[] = {{0, 1},   {99, 1},  {100, 1},   {199, 1},
                 {200, 2}, {250, 2}, {1000, 10}, {SIZE_MAX, 10}};

    (void)state;
    assert_non_null(dir);
    memset(data, 0xab, sizeof data);
    for (int i = 0; i < 10; i++)
        ents[i] =
            (struct raft_entry){.index = (uint64_t)i + 1, .term = 1, .data = data, .len = 100};
    open_ok(&l, dir, NULL);
    assert_int_equal(raftlog_save(&l, &rd), 0);
    st = raftlog_storage(&l);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        assert_int_equal(st->entries(st->data, 1, 11, cases[c].max, out), cases[c].want);
    assert_int_equal(st->entries(st->data, 4, 6, SIZE_MAX, out), 2);
    assert_true(out[0].index == 4 && out[1].index == 5 && out[1].len == 100);
    assert_memory_equal(out[1].data, data, 100);
    raftlog_close(&l);
    test_rmtree(dir);
}

/* A second open of the same directory is refused while the first holds it. */
static void test_locked(void **state)
{
    const char *dir = test_tmpdir();
    struct raftlog a, b;

    (void)state;
    assert_non_null(dir);
    open_ok(&a, dir, NULL);
    assert_int_equal(raftlog_open(&b, dir, NULL), CR_ELOCKED);
    raftlog_close(&a);
    test_rmtree(dir);
}

/* ---- three Raft cores on real stores, their messages through the wire codec ---- */

#define NODES 3
#define MAX_APPLIED 4096

struct cnode {
    struct raftlog l;
    struct raft r;
    bool up;
    char dir[64];
};

struct cluster {
    struct cnode n[NODES];
    struct cr_buf *net; /* encoded frames in flight */
    size_t n_net, cap_net;
    uint64_t applied_hash[MAX_APPLIED]; /* what index i applied, on whichever node did first */
    uint64_t prng;
    uint64_t proposals, snapshots_installed;
};

static void cnode_start(struct cnode *c, uint64_t id)
{
    struct raft_config cfg = {.id = id,
                              .election_ticks = 10,
                              .heartbeat_ticks = 2,
                              .seed = id,
                              .pre_vote = true,
                              .check_quorum = true,
                              .max_msg_bytes = 4096,
                              .max_inflight_msgs = 8,
                              .max_apply_bytes = 1 << 20};
    struct raft_snapshot_meta snap;

    open_ok(&c->l, c->dir, &nosync);
    cfg.storage = raftlog_storage(&c->l);
    raftlog_hard_state(&c->l, &cfg.hard_state);
    cfg.storage->snapshot(cfg.storage->data, &snap);
    /* the state machine is not durable here: it restarts from the snapshot */
    cfg.applied = snap.index;
    assert_int_equal(raft_init(&c->r, &cfg), 0);
    c->up = true;
}

static void cnode_stop(struct cnode *c)
{
    raft_close(&c->r);
    raftlog_close(&c->l);
    c->up = false;
}

/* The whole ready contract for one node, messages encoded into frames on the network. */
static void cluster_ready(struct cluster *cl, struct cnode *c)
{
    struct raft_ready rd;

    if (!raft_ready(&c->r, &rd))
        return;
    assert_int_equal(raftlog_save(&c->l, &rd), 0);
    for (size_t k = 0; k < rd.n_msgs; k++) {
        struct raftwire_frame f = {.kind = RAFTWIRE_MESSAGE, .msg = rd.msgs[k]};

        if (cl->n_net == cl->cap_net) {
            cl->cap_net = cl->cap_net ? 2 * cl->cap_net : 256;
            cl->net = realloc(cl->net, cl->cap_net * sizeof *cl->net);
            assert_non_null(cl->net);
        }
        cr_buf_init(&cl->net[cl->n_net]);
        assert_int_equal(raftwire_encode(&f, &cl->net[cl->n_net]), 0);
        cl->n_net++;
    }
    if (rd.snapshot)
        cl->snapshots_installed++;
    for (size_t k = 0; k < rd.n_committed; k++) {
        const struct raft_entry *e = &rd.committed[k];
        uint64_t h = cr_hash64(e->data, e->len) ^ e->term;

        assert_true(e->index < MAX_APPLIED);
        if (cl->applied_hash[e->index] == 0)
            cl->applied_hash[e->index] = h;
        assert_true(cl->applied_hash[e->index] == h); /* state-machine safety */
    }
    raft_advance(&c->r);
}

/* Delivers (or, with drop, loses) every frame in flight, in random order. */
static void cluster_deliver(struct cluster *cl, unsigned drop_pct)
{
    struct cr_arena a;

    cr_arena_init(&a, 1 << 16);
    while (cl->n_net > 0) {
        size_t k = (size_t)rnd(&cl->prng, cl->n_net);
        struct cr_buf b = cl->net[k];
        struct raftwire_frame f;

        cl->net[k] = cl->net[--cl->n_net];
        assert_int_equal(raftwire_decode(b.data, b.len, &a, &f), 0);
        cr_buf_free(&b);
        assert_int_equal(f.kind, RAFTWIRE_MESSAGE);
        assert_true(f.msg.to >= 1 && f.msg.to <= NODES);
        if (cl->n[f.msg.to - 1].up && rnd(&cl->prng, 100) >= drop_pct)
            assert_int_equal(raft_step(&cl->n[f.msg.to - 1].r, &f.msg), 0);
        cr_arena_reset(&a);
    }
    cr_arena_free(&a);
}

static void cluster_turn(struct cluster *cl, bool faults)
{
    for (int i = 0; i < NODES; i++) {
        struct cnode *c = &cl->n[i];

        if (!c->up) {
            if (!faults || rnd(&cl->prng, 20) == 0)
                cnode_start(c, (uint64_t)i + 1);
            continue;
        }
        if (faults && rnd(&cl->prng, 150) == 0) {
            cnode_stop(c); /* a crash: only what raftlog_save made durable survives */
            continue;
        }
        raft_tick(&c->r);
        if (raft_role(&c->r) == RAFT_LEADER && rnd(&cl->prng, 2) == 0) {
            char data[32];
            uint64_t index;
            int n = snprintf(data, sizeof data, "proposal %llu", (unsigned long long)cl->proposals);

            if (raft_propose(&c->r, (const uint8_t *)data, (size_t)n, &index) == 0)
                cl->proposals++;
        }
        cluster_ready(cl, c);
        if (rnd(&cl->prng, 30) == 0) {
            struct raft_snapshot_meta meta;

            raft_compact_meta(&c->r, &meta);
            if (meta.index > 0)
                assert_int_equal(raftlog_compact(&c->l, &meta), 0);
        }
    }
    cluster_deliver(cl, faults ? 10 : 0);
    for (int i = 0; i < NODES; i++)
        if (cl->n[i].up)
            cluster_ready(cl, &cl->n[i]);
}

/* Three cores on raftlog stores elect, replicate, compact, crash and restart from their stores,
 * send snapshots to laggards, with every message encoded and decoded on the way; they never
 * apply two different entries at one index, and converge once faults stop. */
static void test_cores_on_raftlog(void **state)
{
    static struct cluster cl;
    const uint64_t voters[NODES] = {1, 2, 3};
    struct raft_entry ents[NODES];
    uint8_t bufs[NODES * RAFT_CONF_LEN];
    struct raft_ready boot = {.entries = ents, .n_entries = NODES, .has_hard_state = true};
    uint64_t commit;

    (void)state;
    memset(&cl, 0, sizeof cl);
    cl.prng = 77;
    raft_bootstrap(voters, NODES, ents, bufs, &boot.hard_state);
    for (int i = 0; i < NODES; i++) {
        const char *tmp = test_tmpdir();

        assert_non_null(tmp);
        snprintf(cl.n[i].dir, sizeof cl.n[i].dir, "%s", tmp);
        open_ok(&cl.n[i].l, cl.n[i].dir, &nosync);
        assert_int_equal(raftlog_save(&cl.n[i].l, &boot), 0);
        raftlog_close(&cl.n[i].l);
        cnode_start(&cl.n[i], (uint64_t)i + 1);
    }
    for (int t = 0; t < 3000; t++)
        cluster_turn(&cl, true);
    for (int t = 0; t < 300; t++)
        cluster_turn(&cl, false);
    commit = raft_commit(&cl.n[0].r);
    for (int i = 0; i < NODES; i++) {
        assert_true(cl.n[i].up);
        assert_int_equal(raft_commit(&cl.n[i].r), commit);
        assert_int_equal(raftlog_last_index(&cl.n[i].l), raft_last_index(&cl.n[i].r));
    }
    print_message("cores on raftlog: %llu proposals, commit %llu, %llu snapshots installed\n",
                  (unsigned long long)cl.proposals, (unsigned long long)commit,
                  (unsigned long long)cl.snapshots_installed);
    assert_true(commit > 500);
    for (int i = 0; i < NODES; i++) {
        cnode_stop(&cl.n[i]);
        test_rmtree(cl.n[i].dir);
    }
    for (size_t k = 0; k < cl.n_net; k++)
        cr_buf_free(&cl.net[k]);
    free(cl.net);
}

/* The child: reopens the store, replays the stream to `done` readies (what the store holds),
 * then saves the next ones forever, reporting each count on fd after its save returned. */
static void crash_child(const char *dir, uint64_t seed, size_t done, int fd)
{
    struct raftlog l;
    struct stream s;

    if (raftlog_open(&l, dir, NULL) != 0)
        _exit(2);
    stream_init(&s, seed);
    while (s.steps < done)
        stream_next(&s);
    for (;;) {
        uint64_t n;

        if (raftlog_save(&l, stream_next(&s)) != 0)
            _exit(3);
        n = s.steps;
        if (write(fd, &n, sizeof n) != (ssize_t)sizeof n)
            _exit(4);
    }
}

/* Which prefix of the stream the store holds: reported or reported + 1 (saved, then killed
 * before reporting). Anything else — a torn ready, a lost acknowledged one — fails. */
static size_t crash_match(struct raftlog *l, uint64_t seed, size_t reported)
{
    struct stream s;
    size_t found = SIZE_MAX;

    stream_init(&s, seed);
    while (s.steps < reported)
        stream_next(&s);
    if (store_equal(l, &s.m)) {
        found = reported;
    } else {
        stream_next(&s);
        if (store_equal(l, &s.m))
            found = reported + 1;
    }
    stream_free(&s);
    return found;
}

#define ROUNDS 60

static void test_crash_atomicity(void **state)
{
    const char *dir = test_tmpdir();
    const uint64_t seed = 4242;
    uint64_t p = (uint64_t)time(NULL);
    size_t done = 0, unreported = 0;

    (void)state;
    assert_non_null(dir);
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2], status;
        pid_t pid;
        uint64_t n, reported;
        struct raftlog l;
        size_t found;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(dir, seed, done, fds[1]);
        }
        close(fds[1]);
        /* at least one save per round (within 10 s), then a kill at a random moment */
        assert_int_equal(poll(&(struct pollfd){.fd = fds[0], .events = POLLIN}, 1, 10000), 1);
        assert_int_equal(read(fds[0], &n, sizeof n), (ssize_t)sizeof n);
        reported = n;
        usleep((useconds_t)rnd(&p, 15000));
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while (read(fds[0], &n, sizeof n) == (ssize_t)sizeof n)
            reported = n;
        close(fds[0]);
        open_ok(&l, dir, NULL);
        found = crash_match(&l, seed, reported);
        if (found == SIZE_MAX)
            fail_msg("round %d: the store is no prefix of the readies (reported %zu)", round,
                     (size_t)reported);
        unreported += found != reported;
        raftlog_close(&l);
        done = found;
    }
    assert_true(done >= ROUNDS);
    print_message("crash test: %zu readies over %d kills, %zu kills between save and report\n",
                  done, ROUNDS, unreported);
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_hard_state_round_trip),
        cmocka_unit_test(test_bootstrap_and_core),
        cmocka_unit_test(test_entries_byte_limit),
        cmocka_unit_test(test_locked),
        cmocka_unit_test(test_cores_on_raftlog),
        cmocka_unit_test(test_crash_atomicity),
    };

    cr_log_set_level(CR_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
