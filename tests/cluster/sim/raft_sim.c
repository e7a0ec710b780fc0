/*
 * raft_sim: the deterministic Raft simulator (docs/raft.md). N Raft cores (server/repl/raft.h)
 * on a simulated network that drops, delays, reorders, duplicates and partitions messages;
 * nodes crash (also in the middle of a ready) and restart from exactly what they persisted;
 * clients propose, read (ReadIndex), change membership and transfer leadership. After every
 * event the checker verifies election safety, log matching, leader completeness, state-machine
 * safety and read-index freshness; at the end of a seed the network heals and a leader must
 * commit a proposal within a bounded number of ticks.
 *
 * Everything, the cores' randomized timeouts included, comes from one PRNG seeded by the seed:
 * a seed replays exactly. It must not read clocks, addresses or the environment.
 *
 *   raft_sim --seeds A..B      run seeds A to B; the first failure prints its seed and property
 *   raft_sim --seed N [-v]     run one seed; -v traces every event
 */
#include "memlog.h"

#include "common/hash.h"
#include "server/repl/raft.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

#define MAXN 5
#define TICK 10            /* time units per Raft tick */
#define CHAOS_UNITS 3000   /* 300 ticks of faults */
#define LIVENESS_TICKS 400 /* a healed cluster must commit within this */
#define ELECTION_TICKS 10

/* ---- PRNG and hashing ---- */

static uint64_t rng;

static uint64_t next_u64(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return next_u64() % n;
}

/* true with probability p per mille */
static bool chance(unsigned permille)
{
    return below(1000) < permille;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint8_t buf[16];

    memcpy(buf, &a, 8);
    memcpy(buf + 8, &b, 8);
    return cr_hash64(buf, sizeof buf);
}

static uint64_t digest(const struct raft_entry *e)
{
    return mix(mix(e->term, (uint64_t)e->type), cr_hash64(e->data, e->len));
}

/* ---- growable arrays of u64 ---- */

struct vec {
    uint64_t *v;
    size_t n, cap;
};

static void vec_reserve(struct vec *a, size_t n)
{
    if (n <= a->cap)
        return;
    while (a->cap < n)
        a->cap = a->cap ? 2 * a->cap : 64;
    a->v = realloc(a->v, a->cap * sizeof *a->v);
    if (!a->v)
        abort();
}

static void vec_push(struct vec *a, uint64_t x)
{
    vec_reserve(a, a->n + 1);
    a->v[a->n++] = x;
}

/* a[i] (zero beyond the end) / a[i] = x, growing with zeroes */
static uint64_t vec_get(const struct vec *a, size_t i)
{
    return i < a->n ? a->v[i] : 0;
}

static void vec_set(struct vec *a, size_t i, uint64_t x)
{
    vec_reserve(a, i + 1);
    while (a->n <= i)
        a->v[a->n++] = 0;
    a->v[i] = x;
}

/* ---- the world ---- */

struct smsg {
    struct raft_msg m; /* deep copy */
    uint64_t at;
    struct vec snap_sm; /* SNAPSHOT: the state machine up to snapshot.index */
    uint64_t snap_chain;
};

struct node {
    uint64_t id;
    bool up;
    struct raft r;
    /* durable */
    struct memlog log;
    struct vec chain;    /* chain hash of each log entry, aligned with log.ents */
    uint64_t snap_chain; /* chain hash at log.snap.index */
    struct vec sm;       /* the state machine: digest of entry i at sm.v[i - 1] */
    uint64_t checked_commit;
    /* what the last stepped SNAPSHOT carried, for the install */
    const struct smsg *incoming;
};

/* A table (index, term) -> chain hash, open addressing. */
struct chain_table {
    uint64_t *key_index, *key_term, *val;
    size_t cap, n;
};

struct read_req {
    uint64_t node, min_index;
    bool answered;
};

struct world {
    uint64_t seed;
    bool verbose;
    size_t n;        /* nodes 1..n */
    unsigned p_drop; /* per mille */
    unsigned p_dup;
    unsigned p_delay; /* long delays: reordering */
    unsigned p_crash; /* per node and time unit, and at each stage of a ready */
    unsigned p_partition;
    bool tiny_msgs; /* one entry per APPEND: commit indexes run ahead of what a message holds */
    bool partitioned;
    bool healthy; /* the liveness phase: no crash, no fault */
    int group[MAXN + 1];
    uint64_t now;
    unsigned phase[MAXN + 1]; /* each node ticks at its own offset */
    struct node nodes[MAXN + 1];
    struct smsg *q;
    size_t nq, capq;
    /* checker */
    struct vec leader_of_term;
    struct chain_table logs; /* every persisted (index, term) */
    struct vec commit_chain, commit_term;
    uint64_t g_commit;
    struct vec applied; /* digest applied at each index */
    struct read_req *reads;
    size_t n_reads, cap_reads;
    uint64_t next_data;
    const char *failed; /* the first violated property */
    char detail[256];
    /* statistics */
    uint64_t n_delivered, n_elections, n_crashes, n_snapshots, n_reads_ok, n_conf, n_transfer;
};

static struct world *W;

static void trace(const char *fmt, ...)
{
    va_list ap;

    if (!W->verbose)
        return;
    printf("%6" PRIu64 " ", W->now);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void violate(const char *property, const char *fmt, ...)
{
    va_list ap;

    if (W->failed)
        return;
    W->failed = property;
    va_start(ap, fmt);
    vsnprintf(W->detail, sizeof W->detail, fmt, ap);
    va_end(ap);
    trace("VIOLATION %s: %s", property, W->detail);
}

/* ---- the chain table ---- */

static size_t ct_slot(const struct chain_table *t, uint64_t index, uint64_t term)
{
    size_t s = (size_t)(mix(index, term) & (t->cap - 1));

    while (t->key_index[s] && (t->key_index[s] != index || t->key_term[s] != term))
        s = (s + 1) & (t->cap - 1);
    return s;
}

static void ct_grow(struct chain_table *t)
{
    struct chain_table old = *t;

    t->cap = old.cap ? 2 * old.cap : 1024;
    t->key_index = calloc(t->cap, sizeof *t->key_index);
    t->key_term = calloc(t->cap, sizeof *t->key_term);
    t->val = calloc(t->cap, sizeof *t->val);
    if (!t->key_index || !t->key_term || !t->val)
        abort();
    for (size_t k = 0; k < old.cap; k++)
        if (old.key_index[k]) {
            size_t s = ct_slot(t, old.key_index[k], old.key_term[k]);

            t->key_index[s] = old.key_index[k];
            t->key_term[s] = old.key_term[k];
            t->val[s] = old.val[k];
        }
    free(old.key_index);
    free(old.key_term);
    free(old.val);
}

/* Log matching: one (index, term) has one chain hash (one prefix) in every log. */
static void check_log_entry(uint64_t node, uint64_t index, uint64_t term, uint64_t chain)
{
    struct chain_table *t = &W->logs;
    size_t s;

    if (index == 0)
        return;
    if (2 * (t->n + 1) > t->cap)
        ct_grow(t);
    s = ct_slot(t, index, term);
    if (!t->key_index[s]) {
        t->key_index[s] = index;
        t->key_term[s] = term;
        t->val[s] = chain;
        t->n++;
    } else if (t->val[s] != chain) {
        violate("log matching",
                "node %" PRIu64 " holds entry %" PRIu64 " of term %" PRIu64
                " with a different prefix than another log",
                node, index, term);
    }
}

/* ---- node log bookkeeping ---- */

/* The chain hash of nd's entry i, if nd still has it (or it is the snapshot's). */
static bool chain_at(const struct node *nd, uint64_t i, uint64_t *out)
{
    if (i == nd->log.snap.index) {
        *out = nd->snap_chain;
        return true;
    }
    if (i < nd->log.snap.index || i > memlog_last(&nd->log))
        return false;
    *out = nd->chain.v[i - nd->log.snap.index - 1];
    return true;
}

static void chains_from(struct node *nd, uint64_t lo)
{
    uint64_t prev = 0;
    bool ok = chain_at(nd, lo - 1, &prev);

    if (!ok)
        abort();
    nd->chain.n = (size_t)(lo - 1 - nd->log.snap.index);
    for (uint64_t i = lo; i <= memlog_last(&nd->log); i++) {
        const struct raft_entry *e = memlog_entry(&nd->log, i);

        prev = mix(prev, digest(e));
        vec_push(&nd->chain, prev);
        check_log_entry(nd->id, i, e->term, prev);
    }
}

/* A node's commit index covers entries: they must be the entries everyone else committed. */
static void check_commit(struct node *nd)
{
    uint64_t c = nd->log.hs.commit;

    for (uint64_t i = nd->checked_commit + 1; i <= c; i++) {
        uint64_t h;

        if (!chain_at(nd, i, &h))
            continue; /* inside the snapshot: checked when it was taken */
        if (vec_get(&W->commit_chain, i) == 0) {
            vec_set(&W->commit_chain, i, h);
            vec_set(&W->commit_term, i, nd->log.hs.term);
            if (i > W->g_commit)
                W->g_commit = i;
        } else if (vec_get(&W->commit_chain, i) != h) {
            violate("state machine safety",
                    "node %" PRIu64 " committed a different entry %" PRIu64 " than another node",
                    nd->id, i);
        }
    }
    if (c > nd->checked_commit)
        nd->checked_commit = c;
}

static void apply(struct node *nd, const struct raft_entry *e)
{
    uint64_t d = digest(e), prev = vec_get(&W->applied, e->index);

    if (e->index != nd->sm.n + 1) {
        violate("apply order", "node %" PRIu64 " applied %" PRIu64 " after %zu", nd->id, e->index,
                nd->sm.n);
        return;
    }
    if (prev == 0)
        vec_set(&W->applied, e->index, d);
    else if (prev != d)
        violate("state machine safety",
                "node %" PRIu64 " applied a different entry at %" PRIu64 " than another node",
                nd->id, e->index);
    vec_push(&nd->sm, d);
}

/* ---- messages ---- */

static void smsg_free(struct smsg *s)
{
    for (size_t k = 0; k < s->m.n_entries; k++)
        free((void *)s->m.entries[k].data);
    free(s->m.entries);
    free(s->snap_sm.v);
}

static struct smsg *enqueue(void)
{
    if (W->nq == W->capq) {
        W->capq = W->capq ? 2 * W->capq : 256;
        W->q = realloc(W->q, W->capq * sizeof *W->q);
        if (!W->q)
            abort();
    }
    memset(&W->q[W->nq], 0, sizeof W->q[0]);
    return &W->q[W->nq++];
}

static uint64_t delay(void)
{
    if (W->p_delay && chance(W->p_delay))
        return TICK + below(8 * TICK);
    return 1 + below(TICK + TICK / 2);
}

static void send(struct node *from, const struct raft_msg *m)
{
    int copies = 1 + (W->p_dup && chance(W->p_dup));

    for (int c = 0; c < copies; c++) {
        struct smsg *s = enqueue();

        s->m = *m;
        s->m.entries = NULL;
        if (m->n_entries) {
            s->m.entries = calloc(m->n_entries, sizeof *m->entries);
            if (!s->m.entries)
                abort();
            for (size_t k = 0; k < m->n_entries; k++) {
                uint8_t *d = NULL;

                if (m->entries[k].len) {
                    d = malloc(m->entries[k].len);
                    if (!d)
                        abort();
                    memcpy(d, m->entries[k].data, m->entries[k].len);
                }
                s->m.entries[k] = m->entries[k];
                s->m.entries[k].data = d;
            }
        }
        if (m->type == RAFT_MSG_SNAPSHOT) {
            /* the driver streams the sender's state machine as of the snapshot */
            for (uint64_t i = 0; i < m->snapshot.index; i++)
                vec_push(&s->snap_sm, from->sm.v[i]);
            s->snap_chain = from->snap_chain;
            W->n_snapshots++;
        }
        s->at = W->now + delay();
    }
}

/* ---- nodes ---- */

static void crash(struct node *nd, const char *why)
{
    trace("crash %" PRIu64 " (%s)", nd->id, why);
    raft_close(&nd->r);
    nd->up = false;
    W->n_crashes++;
}

static void start(struct node *nd)
{
    struct raft_config cfg = {
        .id = nd->id,
        .election_ticks = ELECTION_TICKS,
        .heartbeat_ticks = 1 + (unsigned)below(3),
        .seed = next_u64(),
        .pre_vote = true,
        .check_quorum = true,
        .max_msg_bytes = W->tiny_msgs ? 1 : 64 + below(256),
        .max_inflight_msgs = 1 + below(8),
        .max_inflight_bytes = chance(500) ? 0 : 64 + below(512),
        .max_apply_bytes = 32 + below(256),
        .storage = &nd->log.st,
        .hard_state = nd->log.hs,
        .applied = nd->sm.n,
    };

    if (raft_init(&nd->r, &cfg) != 0) {
        violate("restart", "node %" PRIu64 " cannot start from its persisted state", nd->id);
        return;
    }
    nd->up = true;
    trace("start %" PRIu64 " term %" PRIu64 " commit %" PRIu64 " applied %zu last %" PRIu64, nd->id,
          nd->log.hs.term, nd->log.hs.commit, nd->sm.n, memlog_last(&nd->log));
}

static void check_read(struct node *nd, const struct raft_read_state *rs)
{
    struct read_req *q;

    if (rs->context >= W->n_reads || W->reads[rs->context].node != nd->id) {
        violate("read index", "node %" PRIu64 " got an answer to a read it never asked", nd->id);
        return;
    }
    q = &W->reads[rs->context];
    if (rs->index < q->min_index)
        violate("read index",
                "read %" PRIu64 " on node %" PRIu64 " answered %" PRIu64
                ", below the commit index %" PRIu64 " when it was asked",
                rs->context, nd->id, rs->index, q->min_index);
    if (!q->answered)
        W->n_reads_ok++;
    q->answered = true;
    trace("read %" PRIu64 " on %" PRIu64 " -> index %" PRIu64 " (>= %" PRIu64 ")", rs->context,
          nd->id, rs->index, q->min_index);
}

/* The durable term never goes back, a durable vote is never changed within its term, and the
 * durable commit index never goes back: what a node promised survives its crashes. */
static void check_hard_state(const struct node *nd, const struct raft_ready *rd)
{
    const struct raft_hard_state *o = &nd->log.hs, *h = &rd->hard_state;

    if (!rd->has_hard_state)
        return;
    if (h->term < o->term || (h->term == o->term && o->vote && h->vote != o->vote))
        violate("durable vote",
                "node %" PRIu64 " persists term %" PRIu64 " vote %" PRIu64 " after term %" PRIu64
                " vote %" PRIu64,
                nd->id, h->term, h->vote, o->term, o->vote);
    if (h->commit < o->commit)
        violate("durable commit", "node %" PRIu64 " persists commit %" PRIu64 " after %" PRIu64,
                nd->id, h->commit, o->commit);
}

/* The driver's ready loop, with a crash possible at each stage. */
static void process(struct node *nd)
{
    struct raft_ready rd;
    unsigned p_crash = W->healthy ? 0 : W->p_crash;

    while (nd->up && !W->failed && raft_ready(&nd->r, &rd)) {
        uint64_t first_new = rd.n_entries ? rd.entries[0].index : 0;

        if (chance(p_crash)) {
            crash(nd, "before persisting a ready");
            return;
        }
        if (rd.snapshot) {
            const struct smsg *s = nd->incoming;

            if (!s || s->m.snapshot.index != rd.snapshot->index) {
                violate("snapshot", "node %" PRIu64 " installs a snapshot it was not sent", nd->id);
                return;
            }
            nd->sm.n = 0;
            for (size_t k = 0; k < s->snap_sm.n; k++)
                vec_push(&nd->sm, s->snap_sm.v[k]);
            nd->snap_chain = s->snap_chain;
            nd->chain.n = 0;
            check_log_entry(nd->id, rd.snapshot->index, rd.snapshot->term, s->snap_chain);
            trace("install snapshot on %" PRIu64 " at %" PRIu64, nd->id, rd.snapshot->index);
        }
        check_hard_state(nd, &rd);
        memlog_persist(&nd->log, &rd);
        if (first_new)
            chains_from(nd, first_new);
        if (rd.snapshot) {
            /* the snapshot's prefix is committed: it must be what was committed */
            uint64_t c = vec_get(&W->commit_chain, rd.snapshot->index);

            if (c && c != nd->snap_chain)
                violate("state machine safety",
                        "node %" PRIu64 " installed a snapshot at %" PRIu64
                        " that differs from the committed log",
                        nd->id, rd.snapshot->index);
            if (rd.snapshot->index > nd->checked_commit)
                nd->checked_commit = rd.snapshot->index;
        }
        check_commit(nd);
        if (chance(p_crash)) {
            crash(nd, "after persisting, before sending");
            return;
        }
        for (size_t k = 0; k < rd.n_msgs; k++)
            send(nd, &rd.msgs[k]);
        if (chance(p_crash)) {
            crash(nd, "after sending, before applying");
            return;
        }
        for (size_t k = 0; k < rd.n_committed; k++)
            apply(nd, &rd.committed[k]);
        for (size_t k = 0; k < rd.n_reads; k++)
            check_read(nd, &rd.reads[k]);
        raft_advance(&nd->r);
    }
}

/* ---- the checker, after every event ---- */

static void check_leaders(void)
{
    for (size_t id = 1; id <= W->n; id++) {
        struct node *nd = &W->nodes[id];
        uint64_t term, prev;

        if (!nd->up || raft_role(&nd->r) != RAFT_LEADER)
            continue;
        term = raft_term(&nd->r);
        prev = vec_get(&W->leader_of_term, term);
        if (prev == nd->id)
            continue;
        if (prev != 0) {
            violate("election safety", "nodes %" PRIu64 " and %" PRIu64 " both lead term %" PRIu64,
                    prev, nd->id, term);
            return;
        }
        vec_set(&W->leader_of_term, term, nd->id);
        W->n_elections++;
        trace("leader %" PRIu64 " of term %" PRIu64, nd->id, term);
        /* leader completeness: it holds every entry committed in an earlier term */
        for (uint64_t i = W->g_commit; i > 0; i--) {
            uint64_t h;

            if (vec_get(&W->commit_chain, i) == 0 || vec_get(&W->commit_term, i) >= term)
                continue;
            if (i >= nd->log.snap.index &&
                (!chain_at(nd, i, &h) || h != vec_get(&W->commit_chain, i)))
                violate("leader completeness",
                        "leader %" PRIu64 " of term %" PRIu64 " lacks committed entry %" PRIu64,
                        nd->id, term, i);
            break; /* the chain hash covers everything before */
        }
    }
}

/* ---- events ---- */

static struct node *random_up(void)
{
    size_t ups[MAXN], n = 0;

    for (size_t id = 1; id <= W->n; id++)
        if (W->nodes[id].up)
            ups[n++] = id;
    return n ? &W->nodes[ups[below(n)]] : NULL;
}

static struct node *leader(void)
{
    struct node *best = NULL;

    for (size_t id = 1; id <= W->n; id++) {
        struct node *nd = &W->nodes[id];

        if (nd->up && raft_role(&nd->r) == RAFT_LEADER &&
            (!best || raft_term(&nd->r) > raft_term(&best->r)))
            best = nd;
    }
    return best;
}

static bool reachable(uint64_t from, uint64_t to)
{
    return !W->partitioned || W->group[from] == W->group[to];
}

static void deliver(size_t k)
{
    struct smsg s = W->q[k];
    struct node *to = &W->nodes[s.m.to], *from = &W->nodes[s.m.from];

    W->q[k] = W->q[--W->nq];
    if (!to->up || !reachable(s.m.from, s.m.to) || chance(W->p_drop)) {
        if (s.m.type == RAFT_MSG_SNAPSHOT && from->up)
            raft_report_snapshot(&from->r, s.m.to, false);
        smsg_free(&s);
        return;
    }
    trace("%" PRIu64 "->%" PRIu64 " %s t%" PRIu64 " i%" PRIu64 " lt%" PRIu64 " c%" PRIu64
          " n%zu%s ctx%" PRIu64,
          s.m.from, s.m.to, raft_msg_name(s.m.type), s.m.term, s.m.index, s.m.log_term, s.m.commit,
          s.m.n_entries, s.m.reject ? " reject" : "", s.m.context);
    W->n_delivered++;
    to->incoming = &s;
    if (raft_step(&to->r, &s.m) != 0)
        violate("step", "node %" PRIu64 " refused a well-formed message", to->id);
    process(to);
    to->incoming = NULL;
    if (s.m.type == RAFT_MSG_SNAPSHOT && from->up) {
        raft_report_snapshot(&from->r, s.m.to, true);
        process(from);
    }
    smsg_free(&s);
}

static void deliver_due(void)
{
    for (;;) {
        size_t due[64], n = 0;

        for (size_t k = 0; k < W->nq && n < 64; k++)
            if (W->q[k].at <= W->now)
                due[n++] = k;
        if (n == 0 || W->failed)
            return;
        deliver(due[below(n)]); /* any order: reordering */
        check_leaders();
    }
}

static void tick_nodes(void)
{
    for (size_t id = 1; id <= W->n; id++) {
        struct node *nd = &W->nodes[id];

        if (nd->up && W->now % TICK == W->phase[id]) {
            raft_tick(&nd->r);
            process(nd);
            check_leaders();
        }
    }
}

static void client_propose(void)
{
    struct node *nd = chance(700) ? leader() : random_up();
    uint64_t data, index;

    if (!nd || raft_role(&nd->r) != RAFT_LEADER)
        return; /* a real client retries elsewhere */
    data = ++W->next_data;
    if (raft_propose(&nd->r, (const uint8_t *)&data, sizeof data, &index) == 0)
        trace("propose %" PRIu64 " on %" PRIu64 " at %" PRIu64, data, nd->id, index);
    process(nd);
}

static void client_read(void)
{
    struct node *nd = random_up();
    uint64_t ctx = W->n_reads;

    if (!nd)
        return;
    if (W->n_reads == W->cap_reads) {
        W->cap_reads = W->cap_reads ? 2 * W->cap_reads : 64;
        W->reads = realloc(W->reads, W->cap_reads * sizeof *W->reads);
        if (!W->reads)
            abort();
    }
    W->reads[W->n_reads++] = (struct read_req){nd->id, W->g_commit, false};
    if (raft_read_index(&nd->r, ctx) == 0)
        trace("read %" PRIu64 " asked on %" PRIu64 " (commit known %" PRIu64 ")", ctx, nd->id,
              W->g_commit);
    process(nd);
}

static void change_membership(void)
{
    struct node *ld = leader();
    const struct raft_conf *c;
    size_t min_voters = W->n == 5 ? 3 : 2;
    uint64_t node;
    enum raft_conf_op op;

    if (!ld)
        return;
    c = raft_conf(&ld->r);
    if (c->n > min_voters && (c->n == W->n || chance(500))) {
        op = RAFT_CONF_REMOVE;
        node = c->voters[below(c->n)];
    } else {
        op = RAFT_CONF_ADD;
        node = 1 + below(W->n);
    }
    if (raft_propose_conf(&ld->r, op, node, NULL) == 0) {
        W->n_conf++;
        trace("%s voter %" PRIu64 " on leader %" PRIu64, op == RAFT_CONF_ADD ? "add" : "remove",
              node, ld->id);
    }
    process(ld);
}

static void transfer(void)
{
    struct node *ld = leader();
    const struct raft_conf *c;
    uint64_t to;

    if (!ld)
        return;
    c = raft_conf(&ld->r);
    to = c->voters[below(c->n)];
    if (raft_transfer_leader(&ld->r, to) == 0) {
        W->n_transfer++;
        trace("transfer from %" PRIu64 " to %" PRIu64, ld->id, to);
    }
    process(ld);
}

static void compact(void)
{
    struct node *nd = random_up();
    struct raft_snapshot_meta meta;
    uint64_t h;

    if (!nd)
        return;
    raft_compact_meta(&nd->r, &meta);
    if (meta.index <= nd->log.snap.index)
        return;
    if (!chain_at(nd, meta.index, &h))
        abort();
    memlog_compact(&nd->log, &meta);
    nd->snap_chain = h;
    chains_from(nd, meta.index + 1); /* re-derives the remaining entries' chains */
    trace("compact %" PRIu64 " up to %" PRIu64, nd->id, meta.index);
}

static void partition(void)
{
    W->partitioned = true;
    for (size_t id = 1; id <= W->n; id++)
        W->group[id] = (int)below(2);
    trace("partition");
}

static void chaos(void)
{
    struct node *nd;

    if (chance(60))
        client_propose();
    if (chance(25))
        client_read();
    if (chance(W->p_crash) && (nd = random_up()) != NULL)
        crash(nd, "at random");
    if (chance(15)) {
        size_t id = 1 + below(W->n);

        if (!W->nodes[id].up)
            start(&W->nodes[id]);
    }
    if (chance(W->p_partition))
        partition();
    if (chance(8) && W->partitioned) {
        W->partitioned = false;
        trace("heal");
    }
    if (chance(4))
        change_membership();
    if (chance(3))
        transfer();
    if (chance(5))
        compact();
}

/* ---- one seed ---- */

static void world_free(struct world *w)
{
    for (size_t id = 1; id <= w->n; id++) {
        struct node *nd = &w->nodes[id];

        if (nd->up)
            raft_close(&nd->r);
        memlog_close(&nd->log);
        free(nd->chain.v);
        free(nd->sm.v);
    }
    for (size_t k = 0; k < w->nq; k++)
        smsg_free(&w->q[k]);
    free(w->q);
    free(w->leader_of_term.v);
    free(w->logs.key_index);
    free(w->logs.key_term);
    free(w->logs.val);
    free(w->commit_chain.v);
    free(w->commit_term.v);
    free(w->applied.v);
    free(w->reads);
}

/* With every node up and a perfect network, a leader must commit a proposal in bounded time. */
static void liveness(void)
{
    uint64_t want_index = 0, want_term = 0, marker = 0;
    uint64_t end;

    W->partitioned = false;
    W->healthy = true;
    W->p_drop = W->p_dup = W->p_delay = 0;
    for (size_t id = 1; id <= W->n; id++)
        if (!W->nodes[id].up)
            start(&W->nodes[id]);
    trace("heal all: liveness phase");
    end = W->now + (uint64_t)LIVENESS_TICKS * TICK;
    for (; W->now < end && !W->failed; W->now++) {
        struct node *ld;

        deliver_due();
        tick_nodes();
        ld = leader();
        if (!ld || W->failed)
            continue;
        if (want_term != raft_term(&ld->r)) {
            marker = ++W->next_data;
            if (raft_propose(&ld->r, (const uint8_t *)&marker, sizeof marker, &want_index) != 0)
                continue;
            want_term = raft_term(&ld->r);
            trace("liveness proposal %" PRIu64 " on %" PRIu64 " at %" PRIu64, marker, ld->id,
                  want_index);
            process(ld);
        } else if (raft_applied(&ld->r) >= want_index) {
            const struct raft_entry *e = memlog_entry(&ld->log, want_index);

            if (!e || e->term == want_term)
                return; /* committed (and maybe compacted) under the term that proposed it */
            want_term = 0;
        }
    }
    if (!W->failed)
        violate("liveness", "no proposal committed within %d ticks of a healed network",
                LIVENESS_TICKS);
}

static struct {
    uint64_t seeds, delivered, elections, crashes, snapshots, reads, conf, transfers, committed;
} totals;

/* Returns 0 if every property held. */
static int run_seed(uint64_t seed, bool verbose)
{
    struct world w;
    uint64_t voters[MAXN];
    size_t members;

    memset(&w, 0, sizeof w);
    W = &w;
    w.seed = seed;
    w.verbose = verbose;
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    w.n = chance(500) ? 3 : 5;
    members = w.n == 5 && chance(300) ? 3 : w.n; /* sometimes two nodes join later */
    w.p_drop = (unsigned)below(150);
    w.p_dup = (unsigned)below(50);
    w.p_delay = (unsigned)below(100);
    w.p_crash = 1 + (unsigned)below(6);
    w.p_partition = 1 + (unsigned)below(6);
    w.tiny_msgs = chance(400);
    for (size_t k = 0; k < members; k++)
        voters[k] = k + 1;
    for (size_t id = 1; id <= w.n; id++) {
        struct node *nd = &w.nodes[id];

        nd->id = id;
        memlog_init(&nd->log);
        if (id <= members)
            memlog_bootstrap(&nd->log, voters, members);
        w.phase[id] = (unsigned)below(TICK);
        chains_from(nd, 1);
        check_commit(nd);
        start(nd);
    }
    trace("seed %" PRIu64 ": %zu nodes, %zu voters, drop %u dup %u delay %u crash %u partition %u"
          " (per mille)%s",
          seed, w.n, members, w.p_drop, w.p_dup, w.p_delay, w.p_crash, w.p_partition,
          w.tiny_msgs ? ", one entry per append" : "");
    for (w.now = 0; w.now < CHAOS_UNITS && !w.failed; w.now++) {
        deliver_due();
        tick_nodes();
        chaos();
        check_leaders();
    }
    if (!w.failed)
        liveness();
    if (w.failed)
        printf("seed %" PRIu64 ": FAILED %s: %s\n  replay: raft_sim --seed %" PRIu64 " -v\n", seed,
               w.failed, w.detail, seed);
    else if (verbose)
        printf("seed %" PRIu64 ": ok: %" PRIu64 " messages, %" PRIu64 " leaders, %" PRIu64
               " crashes, %" PRIu64 " snapshots, %" PRIu64 " reads, %" PRIu64
               " membership changes, %" PRIu64 " transfers, commit %" PRIu64 "\n",
               seed, w.n_delivered, w.n_elections, w.n_crashes, w.n_snapshots, w.n_reads_ok,
               w.n_conf, w.n_transfer, w.g_commit);
    totals.seeds++;
    totals.delivered += w.n_delivered;
    totals.elections += w.n_elections;
    totals.crashes += w.n_crashes;
    totals.snapshots += w.n_snapshots;
    totals.reads += w.n_reads_ok;
    totals.conf += w.n_conf;
    totals.transfers += w.n_transfer;
    totals.committed += w.g_commit;
    world_free(&w);
    W = NULL;
    return w.failed ? 1 : 0;
}

/* ---- main ---- */

static volatile sig_atomic_t current_seed_set;
static uint64_t current_seed;

static void say_seed(void)
{
    char buf[96];
    int n;

    if (!current_seed_set)
        return;
    n = snprintf(buf, sizeof buf, "raft_sim: died in seed %" PRIu64 "\n", current_seed);
    if (n > 0 && write(STDERR_FILENO, buf, (size_t)n) < 0)
        _exit(2);
}

/* An assertion inside the core aborts: say which seed it was. */
static void on_abort(int sig)
{
    (void)sig;
    say_seed();
    _exit(2);
}

static int usage(void)
{
    fprintf(stderr, "usage: raft_sim --seeds A..B | --seed N [-v]\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t lo = 0, hi = 0;
    bool verbose = false, have = false;
    int failed = 0;

    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "-v") == 0) {
            verbose = true;
        } else if (strcmp(argv[k], "--seed") == 0 && k + 1 < argc) {
            lo = hi = strtoull(argv[++k], NULL, 10);
            have = true;
        } else if (strcmp(argv[k], "--seeds") == 0 && k + 1 < argc) {
            char *dots;

            lo = strtoull(argv[++k], &dots, 10);
            if (strncmp(dots, "..", 2) != 0)
                return usage();
            hi = strtoull(dots + 2, NULL, 10);
            have = true;
        } else {
            return usage();
        }
    }
    if (!have || hi < lo)
        return usage();
    signal(SIGABRT, on_abort);
#ifdef __SANITIZE_ADDRESS__
    __sanitizer_set_death_callback(say_seed); /* a sanitizer report ends without abort() */
#endif
    for (uint64_t s = lo; s <= hi; s++) {
        current_seed = s;
        current_seed_set = 1;
        if (run_seed(s, verbose) != 0) {
            failed = 1;
            break;
        }
        if (s == UINT64_MAX)
            break;
    }
    if (!failed && lo != hi)
        printf("raft_sim: seeds %" PRIu64 "..%" PRIu64 " passed: %" PRIu64 " messages, %" PRIu64
               " leaders, %" PRIu64 " crashes, %" PRIu64 " snapshots, %" PRIu64
               " reads answered, %" PRIu64 " membership changes, %" PRIu64 " transfers, %" PRIu64
               " entries committed\n",
               lo, hi, totals.delivered, totals.elections, totals.crashes, totals.snapshots,
               totals.reads, totals.conf, totals.transfers, totals.committed);
    return failed;
}
