/*
 * The Raft core (raft.h): election with pre-vote and check-quorum, replication with flow
 * control, commit by quorum of a current-term entry, one-at-a-time membership changes,
 * leadership transfer, ReadIndex, and abstract snapshots. It must not do I/O, read a clock or
 * draw randomness other than from cfg.seed; everything it wants done goes into the next ready.
 *
 * The log is the driver's stable storage plus the unstable tail u: entries u.offset.. not yet
 * persisted (u.offset may be below the stored last index: the stored suffix from u.offset on is
 * being replaced), and possibly a snapshot being installed. The last index is always
 * u.offset + u.n - 1.
 */
#include "server/repl/raft.h"

#include "common/assert.h"
#include "common/error.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)
#define MAX_BATCH 1024 /* entries per APPEND or per ready, whatever their size */

/* ---- allocation: failure is a crash, which Raft tolerates (raft.h) ---- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        abort();
    return q;
}

static void *arena_copy(struct raft *r, const void *p, size_t n)
{
    void *q;

    if (n == 0)
        return NULL;
    q = cr_arena_alloc(&r->arena, n);
    if (!q)
        abort();
    memcpy(q, p, n);
    return q;
}

/* ---- roles: the allowed transitions (STYLE.md, Invariants) ---- */

static const unsigned allowed[] = {
    [RAFT_FOLLOWER] = 1u << RAFT_FOLLOWER | 1u << RAFT_PRE_CANDIDATE | 1u << RAFT_CANDIDATE,
    [RAFT_PRE_CANDIDATE] = 1u << RAFT_FOLLOWER | 1u << RAFT_PRE_CANDIDATE | 1u << RAFT_CANDIDATE,
    [RAFT_CANDIDATE] =
        1u << RAFT_FOLLOWER | 1u << RAFT_PRE_CANDIDATE | 1u << RAFT_CANDIDATE | 1u << RAFT_LEADER,
    [RAFT_LEADER] = 1u << RAFT_FOLLOWER,
};

static void set_role(struct raft *r, enum raft_role to)
{
    CR_ASSERT(allowed[r->role] & (1u << to));
    r->role = to;
}

/* ---- PRNG (splitmix64) ---- */

static uint64_t prng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- the log view ---- */

static void log_snapshot(const struct raft *r, struct raft_snapshot_meta *out)
{
    if (r->u.has_snapshot)
        *out = r->u.snapshot;
    else
        r->cfg.storage->snapshot(r->cfg.storage->data, out);
}

static uint64_t log_last(const struct raft *r)
{
    return r->u.offset + r->u.n - 1;
}

static uint64_t log_snap_index(const struct raft *r)
{
    struct raft_snapshot_meta s;

    log_snapshot(r, &s);
    return s.index;
}

/* The term of entry i, if the log still has it (or it is the snapshot's last entry). */
static bool log_term(const struct raft *r, uint64_t i, uint64_t *term)
{
    struct raft_snapshot_meta s;

    if (i > log_last(r))
        return false;
    if (i >= r->u.offset) {
        *term = r->u.entries[i - r->u.offset].term;
        return true;
    }
    log_snapshot(r, &s);
    if (i < s.index)
        return false;
    if (i == s.index) {
        *term = s.term;
        return true;
    }
    CR_ASSERT(!r->u.has_snapshot);
    *term = r->cfg.storage->term(r->cfg.storage->data, i);
    return true;
}

static uint64_t last_term(const struct raft *r)
{
    uint64_t t = 0;
    bool ok = log_term(r, log_last(r), &t);

    CR_ASSERT(ok);
    (void)ok;
    return t;
}

static bool term_matches(const struct raft *r, uint64_t i, uint64_t term)
{
    uint64_t t;

    return log_term(r, i, &t) && t == term;
}

/* Copies entries [lo, hi) into out (arena-owned data), stopping once max_bytes is exceeded but
 * returning at least one. lo must be above the snapshot. */
static size_t log_entries(struct raft *r, uint64_t lo, uint64_t hi, size_t max_bytes,
                          struct raft_entry *out)
{
    const struct raft_storage *st = r->cfg.storage;
    size_t n = 0, bytes = 0;

    CR_ASSERT(lo > log_snap_index(r) && hi <= log_last(r) + 1);
    while (lo < hi && lo < r->u.offset) {
        uint64_t end = hi < r->u.offset ? hi : r->u.offset;
        size_t got = st->entries(st->data, lo, end, max_bytes - bytes, out + n);

        CR_ASSERT(got > 0 && got <= end - lo);
        for (size_t k = n; k < n + got; k++) {
            CR_ASSERT(out[k].index == lo + (k - n));
            out[k].data = arena_copy(r, out[k].data, out[k].len);
            bytes += out[k].len;
        }
        n += got;
        lo += got;
        if (lo < end || bytes >= max_bytes)
            return n; /* the storage stopped at the budget */
    }
    for (; lo < hi; lo++) {
        const struct raft_entry *e = &r->u.entries[lo - r->u.offset];

        if (n > 0 && bytes + e->len > max_bytes)
            break;
        out[n] = *e;
        out[n].data = arena_copy(r, e->data, e->len);
        bytes += e->len;
        n++;
    }
    return n;
}

static void unstable_truncate(struct raft_unstable *u, size_t keep)
{
    for (size_t k = keep; k < u->n; k++)
        free((void *)u->entries[k].data);
    u->n = keep;
}

/* Appends e (data copied) at e->index, which must be in [snapshot + 1, last + 1]: a lower index
 * replaces the entries from there on, stored or not. */
static void log_append(struct raft *r, const struct raft_entry *e)
{
    struct raft_unstable *u = &r->u;
    uint8_t *data = NULL;

    CR_ASSERT(e->index <= log_last(r) + 1 && e->index > log_snap_index(r));
    if (e->index < u->offset) {
        unstable_truncate(u, 0);
        u->offset = e->index;
    } else {
        unstable_truncate(u, (size_t)(e->index - u->offset));
    }
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 16;
        u->entries = xrealloc(u->entries, u->cap * sizeof *u->entries);
    }
    if (e->len) {
        data = xrealloc(NULL, e->len);
        memcpy(data, e->data, e->len);
    }
    u->entries[u->n] = *e;
    u->entries[u->n].data = data;
    u->n++;
}

/* The largest index <= i whose term is <= term (the snapshot index at the lowest). */
static uint64_t find_conflict_by_term(const struct raft *r, uint64_t i, uint64_t term)
{
    uint64_t snap = log_snap_index(r), t;

    if (i > log_last(r))
        i = log_last(r);
    while (i > snap && log_term(r, i, &t) && t > term)
        i--;
    return i;
}

/* ---- configuration ---- */

static bool conf_has(const struct raft_conf *c, uint64_t id)
{
    for (size_t k = 0; k < c->n; k++)
        if (c->voters[k] == id)
            return true;
    return false;
}

static size_t quorum(const struct raft *r)
{
    return r->conf.n / 2 + 1;
}

static struct raft_progress *progress(struct raft *r, uint64_t id)
{
    for (size_t k = 0; k < r->n_prs; k++)
        if (r->prs[k].id == id)
            return &r->prs[k];
    return NULL;
}

/* ---- messages ---- */

static struct raft_msg *new_msg(struct raft *r, enum raft_msg_type type, uint64_t to)
{
    struct raft_msg *m;

    if (r->n_msgs == r->cap_msgs) {
        r->cap_msgs = r->cap_msgs ? 2 * r->cap_msgs : 16;
        r->msgs = xrealloc(r->msgs, r->cap_msgs * sizeof *r->msgs);
    }
    m = &r->msgs[r->n_msgs++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = r->id;
    m->to = to;
    m->term = r->term;
    return m;
}

static void add_read_state(struct raft *r, uint64_t index, uint64_t context)
{
    if (r->n_reads == r->cap_reads) {
        r->cap_reads = r->cap_reads ? 2 * r->cap_reads : 8;
        r->reads = xrealloc(r->reads, r->cap_reads * sizeof *r->reads);
    }
    r->reads[r->n_reads].index = index;
    r->reads[r->n_reads].context = context;
    r->n_reads++;
}

/* ---- progress (leader's view of each voter) ---- */

static void infl_reset(struct raft_progress *pr)
{
    pr->infl_start = pr->infl_n = pr->infl_total = 0;
}

static bool infl_full(const struct raft *r, const struct raft_progress *pr)
{
    return pr->infl_n >= r->cfg.max_inflight_msgs ||
           (r->cfg.max_inflight_bytes && pr->infl_total >= r->cfg.max_inflight_bytes);
}

static void infl_add(struct raft_progress *pr, uint64_t last, size_t bytes)
{
    size_t slot = (pr->infl_start + pr->infl_n) % RAFT_MAX_INFLIGHT;

    pr->infl_index[slot] = last;
    pr->infl_bytes[slot] = bytes;
    pr->infl_n++;
    pr->infl_total += bytes;
}

static void infl_free_first(struct raft_progress *pr)
{
    if (pr->infl_n == 0)
        return;
    pr->infl_total -= pr->infl_bytes[pr->infl_start];
    pr->infl_start = (pr->infl_start + 1) % RAFT_MAX_INFLIGHT;
    pr->infl_n--;
}

/* Frees every in-flight APPEND whose last entry is <= index. */
static void infl_free_to(struct raft_progress *pr, uint64_t index)
{
    while (pr->infl_n > 0 && pr->infl_index[pr->infl_start] <= index)
        infl_free_first(pr);
}

static void become_probe(struct raft_progress *pr, uint64_t next)
{
    pr->state = RAFT_PROBE;
    pr->probe_sent = false;
    pr->next = next > pr->match + 1 ? next : pr->match + 1;
    infl_reset(pr);
}

static void become_replicate(struct raft_progress *pr)
{
    pr->state = RAFT_REPLICATE;
    pr->next = pr->match + 1;
    infl_reset(pr);
}

static void reset_progress(struct raft *r)
{
    r->n_prs = r->conf.n;
    for (size_t k = 0; k < r->conf.n; k++) {
        struct raft_progress *pr = &r->prs[k];

        memset(pr, 0, sizeof *pr);
        pr->id = r->conf.voters[k];
        pr->next = log_last(r) + 1;
        pr->recent_active = true;
        if (pr->id == r->id)
            pr->match = log_last(r);
    }
}

/* ---- sending ---- */

static void send_snapshot(struct raft *r, struct raft_progress *pr)
{
    struct raft_msg *m = new_msg(r, RAFT_MSG_SNAPSHOT, pr->id);

    log_snapshot(r, &m->snapshot);
    pr->state = RAFT_SNAPSHOT;
    pr->snapshot_index = m->snapshot.index;
    infl_reset(pr);
}

/* Sends pr the entries from pr->next unless its flow control is paused. send_empty: send even
 * with no entry (to carry the commit index or probe). Returns whether a message was sent. */
static bool send_append(struct raft *r, struct raft_progress *pr, bool send_empty)
{
    uint64_t prev = pr->next - 1, prev_term = 0, last = log_last(r);
    struct raft_entry *ents = NULL;
    size_t n = 0, bytes = 0;
    struct raft_msg *m;

    if (pr->state == RAFT_SNAPSHOT || (pr->state == RAFT_PROBE && pr->probe_sent) ||
        (pr->state == RAFT_REPLICATE && infl_full(r, pr)))
        return false;
    if (!log_term(r, prev, &prev_term)) {
        send_snapshot(r, pr);
        return true;
    }
    if (pr->next <= last) {
        uint64_t hi = last - pr->next < MAX_BATCH ? last + 1 : pr->next + MAX_BATCH;

        ents = cr_arena_alloc(&r->arena, (size_t)(hi - pr->next) * sizeof *ents);
        if (!ents)
            abort();
        n = log_entries(r, pr->next, hi, r->cfg.max_msg_bytes, ents);
        for (size_t k = 0; k < n; k++)
            bytes += ents[k].len;
    }
    if (n == 0 && !send_empty && pr->state != RAFT_PROBE)
        return false;
    m = new_msg(r, RAFT_MSG_APPEND, pr->id);
    m->index = prev;
    m->log_term = prev_term;
    m->entries = ents;
    m->n_entries = n;
    m->commit = r->commit;
    if (pr->state == RAFT_REPLICATE && n > 0) {
        pr->next = ents[n - 1].index + 1;
        infl_add(pr, ents[n - 1].index, bytes);
    } else if (pr->state == RAFT_PROBE) {
        pr->probe_sent = true;
    }
    return true;
}

static void bcast_append(struct raft *r, bool send_empty)
{
    for (size_t k = 0; k < r->n_prs; k++)
        if (r->prs[k].id != r->id)
            send_append(r, &r->prs[k], send_empty);
}

static void bcast_heartbeat(struct raft *r)
{
    for (size_t k = 0; k < r->n_prs; k++) {
        struct raft_progress *pr = &r->prs[k];
        struct raft_msg *m;

        if (pr->id == r->id)
            continue;
        m = new_msg(r, RAFT_MSG_HEARTBEAT, pr->id);
        /* never past what the follower is known to hold */
        m->commit = pr->match < r->commit ? pr->match : r->commit;
        m->context = r->read_seq;
    }
}

/* ---- commit and reads ---- */

static bool maybe_commit(struct raft *r)
{
    uint64_t m[RAFT_MAX_VOTERS], t;
    size_t n = 0;

    for (size_t k = 0; k < r->n_prs; k++)
        m[n++] = r->prs[k].id == r->id ? log_last(r) : r->prs[k].match;
    /* sort descending; n is small */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && m[j - 1] < m[j]; j--) {
            uint64_t x = m[j];

            m[j] = m[j - 1];
            m[j - 1] = x;
        }
    if (n == 0)
        return false;
    /* Figure 8: only an entry of the current term is committed by counting replicas */
    if (m[quorum(r) - 1] > r->commit && log_term(r, m[quorum(r) - 1], &t) && t == r->term) {
        r->commit = m[quorum(r) - 1];
        return true;
    }
    return false;
}

static void deliver_read(struct raft *r, const struct raft_pending_read *p)
{
    if (p->from == r->id) {
        add_read_state(r, p->index, p->context);
    } else {
        struct raft_msg *m = new_msg(r, RAFT_MSG_READ_INDEX_RESP, p->from);

        m->index = p->index;
        m->context = p->context;
    }
}

/* Answers, in order, the pending reads a quorum has confirmed by heartbeat. */
static void confirm_reads(struct raft *r)
{
    size_t done = 0;

    while (done < r->n_reads_pending) {
        const struct raft_pending_read *p = &r->reads_pending[done];
        size_t acks = 0;

        for (size_t k = 0; k < r->n_prs; k++)
            if (r->prs[k].id == r->id || r->prs[k].read_ack >= p->seq)
                acks++;
        if (acks < quorum(r))
            break;
        deliver_read(r, p);
        done++;
    }
    if (done == 0)
        return;
    memmove(r->reads_pending, r->reads_pending + done,
            (r->n_reads_pending - done) * sizeof *r->reads_pending);
    r->n_reads_pending -= done;
}

static void read_request(struct raft *r, uint64_t context, uint64_t from)
{
    struct raft_pending_read p = {++r->read_seq, r->commit, context, from};

    if (r->n_reads_pending == r->cap_reads_pending) {
        r->cap_reads_pending = r->cap_reads_pending ? 2 * r->cap_reads_pending : 8;
        r->reads_pending =
            xrealloc(r->reads_pending, r->cap_reads_pending * sizeof *r->reads_pending);
    }
    r->reads_pending[r->n_reads_pending++] = p;
    confirm_reads(r); /* a cluster of one confirms at once */
    /* one heartbeat round, sent by the next ready, confirms every read asked until then */
    r->read_hb_pending = r->n_reads_pending > 0;
}

static bool committed_in_term(const struct raft *r)
{
    return term_matches(r, r->commit, r->term);
}

/* ---- role changes ---- */

static void reset_term(struct raft *r, uint64_t term)
{
    if (term != r->term) {
        r->term = term;
        r->vote = 0;
    }
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->randomized_timeout =
        r->cfg.election_ticks + (unsigned)(prng_next(&r->prng) % r->cfg.election_ticks);
    r->transferee = 0;
    r->n_granted = r->n_rejected = 0;
    r->n_reads_pending = 0; /* lost: the driver retries */
    r->read_hb_pending = false;
}

static void become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
    set_role(r, RAFT_FOLLOWER);
    reset_term(r, term);
    r->leader = leader;
    r->n_prs = 0;
}

static void append_leader_entry(struct raft *r, enum raft_entry_type type, const uint8_t *data,
                                size_t len)
{
    struct raft_entry e = {r->term, log_last(r) + 1, type, data, len};

    log_append(r, &e);
    progress(r, r->id)->match = e.index;
    if (maybe_commit(r))
        bcast_append(r, true);
    else
        bcast_append(r, false);
}

static void become_leader(struct raft *r)
{
    set_role(r, RAFT_LEADER);
    reset_term(r, r->term);
    r->leader = r->id;
    r->read_seq = 0;
    reset_progress(r);
    for (size_t k = 0; k < r->n_prs; k++)
        if (r->prs[k].id != r->id)
            become_probe(&r->prs[k], log_last(r) + 1);
    append_leader_entry(r, RAFT_ENTRY_NORMAL, NULL, 0);
    /* no CONF until this term's first entry is applied */
    r->pending_conf_index = log_last(r);
}

static bool record_vote(struct raft *r, uint64_t from, bool granted)
{
    for (size_t k = 0; k < r->n_granted; k++)
        if (r->votes_granted[k] == from)
            return false;
    for (size_t k = 0; k < r->n_rejected; k++)
        if (r->votes_rejected[k] == from)
            return false;
    if (!conf_has(&r->conf, from))
        return false;
    if (granted)
        r->votes_granted[r->n_granted++] = from;
    else
        r->votes_rejected[r->n_rejected++] = from;
    return true;
}

static void campaign(struct raft *r, bool skip_pre_vote, uint64_t context);

/* Counts the votes; moves on when won or lost. */
static void tally(struct raft *r)
{
    if (r->n_granted >= quorum(r)) {
        if (r->role == RAFT_PRE_CANDIDATE)
            campaign(r, true, 0);
        else
            become_leader(r);
    } else if (r->n_rejected > r->conf.n - quorum(r)) {
        become_follower(r, r->term, 0);
    }
}

/* Starts a pre-vote, or the real election when pre-vote is off or was just won. context is
 * RAFT_CTX_TRANSFER for an election started by TIMEOUT_NOW: it breaks the voters' lease. */
static void campaign(struct raft *r, bool skip_pre_vote, uint64_t context)
{
    enum raft_msg_type type;
    uint64_t term;

    if (r->cfg.pre_vote && !skip_pre_vote) {
        set_role(r, RAFT_PRE_CANDIDATE);
        reset_term(r, r->term);
        r->leader = 0;
        type = RAFT_MSG_PREVOTE;
        term = r->term + 1;
    } else {
        set_role(r, RAFT_CANDIDATE);
        reset_term(r, r->term + 1);
        r->leader = 0;
        r->vote = r->id;
        type = RAFT_MSG_VOTE;
        term = r->term;
    }
    record_vote(r, r->id, true);
    for (size_t k = 0; k < r->conf.n; k++) {
        struct raft_msg *m;

        if (r->conf.voters[k] == r->id)
            continue;
        m = new_msg(r, type, r->conf.voters[k]);
        m->term = term;
        m->index = log_last(r);
        m->log_term = last_term(r);
        m->context = context;
    }
    tally(r);
}

/* ---- configuration changes (at apply time) ---- */

static void apply_conf(struct raft *r, const struct raft_entry *e)
{
    enum raft_conf_op op;
    uint64_t node;
    int rc = raft_conf_decode(e->data, e->len, &op, &node);

    CR_ASSERT(rc == 0);
    if (rc != 0)
        return;
    if (op == RAFT_CONF_ADD && !conf_has(&r->conf, node) && r->conf.n < RAFT_MAX_VOTERS) {
        r->conf.voters[r->conf.n++] = node;
        if (r->role == RAFT_LEADER) {
            struct raft_progress *pr = &r->prs[r->n_prs++];

            memset(pr, 0, sizeof *pr);
            pr->id = node;
            pr->recent_active = true;
            become_probe(pr, log_last(r) + 1);
        }
    } else if (op == RAFT_CONF_REMOVE && conf_has(&r->conf, node)) {
        size_t k = 0;

        while (r->conf.voters[k] != node)
            k++;
        r->conf.voters[k] = r->conf.voters[--r->conf.n];
        for (k = 0; k < r->n_prs; k++)
            if (r->prs[k].id == node) {
                r->prs[k] = r->prs[--r->n_prs];
                break;
            }
        if (r->transferee == node)
            r->transferee = 0;
    }
    r->promotable = conf_has(&r->conf, r->id);
    if (!r->promotable && r->role != RAFT_FOLLOWER)
        become_follower(r, r->term, 0);
}

/* ---- handling messages ---- */

static void handle_append(struct raft *r, const struct raft_msg *m)
{
    struct raft_msg *resp;

    if (m->index < r->commit) {
        resp = new_msg(r, RAFT_MSG_APPEND_RESP, m->from);
        resp->index = r->commit;
        return;
    }
    if (term_matches(r, m->index, m->log_term)) {
        uint64_t last_new = m->index + m->n_entries;
        size_t k = 0;

        /* skip what we already have: appending it again would drop a longer matching tail */
        while (k < m->n_entries && term_matches(r, m->entries[k].index, m->entries[k].term))
            k++;
        for (; k < m->n_entries; k++) {
            CR_ASSERT(m->entries[k].index == m->index + 1 + k);
            CR_ASSERT(m->entries[k].index > r->commit);
            log_append(r, &m->entries[k]);
        }
        if (m->commit > r->commit)
            r->commit = m->commit < last_new ? m->commit : last_new;
        resp = new_msg(r, RAFT_MSG_APPEND_RESP, m->from);
        resp->index = last_new;
        return;
    }
    {
        uint64_t hint = find_conflict_by_term(r, m->index, m->log_term), hint_term = 0;
        bool ok = log_term(r, hint, &hint_term);

        CR_ASSERT(ok);
        (void)ok;
        resp = new_msg(r, RAFT_MSG_APPEND_RESP, m->from);
        resp->index = m->index;
        resp->reject = true;
        resp->reject_hint = hint;
        resp->log_term = hint_term;
    }
}

static void handle_heartbeat(struct raft *r, const struct raft_msg *m)
{
    struct raft_msg *resp;
    uint64_t c = m->commit < log_last(r) ? m->commit : log_last(r);

    if (c > r->commit)
        r->commit = c;
    resp = new_msg(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
    resp->context = m->context;
}

static void handle_snapshot(struct raft *r, const struct raft_msg *m)
{
    const struct raft_snapshot_meta *s = &m->snapshot;
    struct raft_msg *resp;

    if (s->index > r->commit) {
        if (term_matches(r, s->index, s->term)) {
            r->commit = s->index; /* we have it: fast-forward */
        } else {
            unstable_truncate(&r->u, 0);
            r->u.offset = s->index + 1;
            r->u.has_snapshot = true;
            r->u.snapshot = *s;
            r->commit = s->index;
            r->applied = s->index;
            r->conf = s->conf;
            r->promotable = conf_has(&r->conf, r->id);
        }
    }
    resp = new_msg(r, RAFT_MSG_APPEND_RESP, m->from);
    resp->index = r->commit;
}

static void handle_append_resp(struct raft *r, struct raft_progress *pr, const struct raft_msg *m)
{
    uint64_t last = log_last(r);

    if (m->reject) {
        uint64_t next;

        if ((pr->state == RAFT_REPLICATE && m->index <= pr->match) ||
            (pr->state == RAFT_PROBE && m->index != pr->next - 1) || pr->state == RAFT_SNAPSHOT)
            return; /* stale */
        next = find_conflict_by_term(r, m->reject_hint, m->log_term) + 1;
        if (next > m->index)
            next = m->index;
        become_probe(pr, next);
        send_append(r, pr, false);
        return;
    }
    if (m->index > pr->match) {
        pr->match = m->index;
        if (pr->next <= m->index)
            pr->next = m->index + 1;
        if (pr->state == RAFT_PROBE ||
            (pr->state == RAFT_SNAPSHOT && pr->match >= pr->snapshot_index))
            become_replicate(pr);
        else if (pr->state == RAFT_REPLICATE)
            infl_free_to(pr, m->index);
        if (maybe_commit(r))
            bcast_append(r, true);
        else
            while (send_append(r, pr, false) && pr->state == RAFT_REPLICATE && pr->next <= last)
                ;
        if (pr->id == r->transferee && pr->match == log_last(r))
            new_msg(r, RAFT_MSG_TIMEOUT_NOW, pr->id);
    } else if (pr->state == RAFT_PROBE && pr->probe_sent) {
        pr->probe_sent = false;
        send_append(r, pr, false);
    }
}

static void handle_heartbeat_resp(struct raft *r, struct raft_progress *pr,
                                  const struct raft_msg *m)
{
    if (pr->state == RAFT_PROBE)
        pr->probe_sent = false;
    if (pr->match < log_last(r)) {
        /* the APPENDs in flight may all be lost: make room for one that discovers it */
        if (pr->state == RAFT_REPLICATE && infl_full(r, pr))
            infl_free_first(pr);
        send_append(r, pr, true);
    }
    if (m->context > pr->read_ack) {
        pr->read_ack = m->context;
        confirm_reads(r);
    }
}

static void handle_vote(struct raft *r, const struct raft_msg *m)
{
    bool pre = m->type == RAFT_MSG_PREVOTE;
    bool can = r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
    uint64_t lt = last_term(r);
    bool up_to_date = m->log_term > lt || (m->log_term == lt && m->index >= log_last(r));
    struct raft_msg *resp = new_msg(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);

    if (can && up_to_date) {
        resp->term = m->term; /* a pre-vote is granted for the term it asks for */
        if (!pre) {
            r->vote = m->from;
            r->election_elapsed = 0;
        }
    } else {
        resp->reject = true;
    }
}

static bool known_type(enum raft_msg_type t)
{
    switch (t) {
#define RAFT_MSG_CASE(name, value, str) case name:
        RAFT_MSG_TYPES(RAFT_MSG_CASE)
#undef RAFT_MSG_CASE
        return true;
    }
    return false;
}

static void invariant(const struct raft *r)
{
    CR_ASSERT(r->applied <= r->commit);
    CR_ASSERT(r->commit <= log_last(r));
    CR_ASSERT(r->role != RAFT_LEADER || (r->leader == r->id && r->vote == r->id));
    CR_ASSERT(r->role != RAFT_CANDIDATE || r->vote == r->id);
    CR_ASSERT(r->role != RAFT_LEADER || r->n_prs == r->conf.n);
    CR_ASSERT(r->promotable == conf_has(&r->conf, r->id));
    CR_ASSERT(!r->u.has_snapshot || r->u.offset == r->u.snapshot.index + 1 || r->u.n > 0);
    (void)r;
}

static void step_term(struct raft *r, const struct raft_msg *m, bool *drop)
{
    *drop = false;
    if (m->term > r->term) {
        if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
            bool force = m->type == RAFT_MSG_VOTE && m->context == RAFT_CTX_TRANSFER;
            bool in_lease = r->cfg.check_quorum && r->leader != 0 &&
                            r->election_elapsed < r->cfg.election_ticks;

            if (in_lease && !force) {
                *drop = true;
                return;
            }
        }
        if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject))
            return; /* a pre-vote changes no term */
        if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
            m->type == RAFT_MSG_SNAPSHOT)
            become_follower(r, m->term, m->from);
        else
            become_follower(r, m->term, 0);
    } else if (m->term < r->term) {
        *drop = true;
        if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT) {
            new_msg(r, RAFT_MSG_APPEND_RESP, m->from); /* our term deposes a stale leader */
        } else if (m->type == RAFT_MSG_PREVOTE) {
            new_msg(r, RAFT_MSG_PREVOTE_RESP, m->from)->reject = true;
        }
    }
}

static void step_follower(struct raft *r, const struct raft_msg *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        r->election_elapsed = 0;
        r->leader = m->from;
        if (m->type == RAFT_MSG_APPEND)
            handle_append(r, m);
        else if (m->type == RAFT_MSG_HEARTBEAT)
            handle_heartbeat(r, m);
        else
            handle_snapshot(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        if (r->promotable)
            campaign(r, true, RAFT_CTX_TRANSFER);
        break;
    case RAFT_MSG_READ_INDEX_RESP:
        add_read_state(r, m->index, m->context);
        break;
    default:
        break;
    }
}

static void step_candidate(struct raft *r, const struct raft_msg *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        become_follower(r, r->term, m->from);
        step_follower(r, m);
        break;
    case RAFT_MSG_PREVOTE_RESP:
        /* a grant is for term + 1; one for an older round is stale */
        if (r->role == RAFT_PRE_CANDIDATE && (m->reject || m->term == r->term + 1) &&
            record_vote(r, m->from, !m->reject))
            tally(r);
        break;
    case RAFT_MSG_VOTE_RESP:
        if (r->role == RAFT_CANDIDATE && record_vote(r, m->from, !m->reject))
            tally(r);
        break;
    default:
        break;
    }
}

static void step_leader(struct raft *r, const struct raft_msg *m)
{
    struct raft_progress *pr = progress(r, m->from);

    switch (m->type) {
    case RAFT_MSG_APPEND_RESP:
        if (pr) {
            pr->recent_active = true;
            handle_append_resp(r, pr, m);
        }
        break;
    case RAFT_MSG_HEARTBEAT_RESP:
        if (pr) {
            pr->recent_active = true;
            handle_heartbeat_resp(r, pr, m);
        }
        break;
    case RAFT_MSG_READ_INDEX:
        if (committed_in_term(r))
            read_request(r, m->context, m->from);
        break;
    default:
        break;
    }
}

/* ---- public ---- */

int raft_init(struct raft *r, const struct raft_config *cfg)
{
    struct raft_snapshot_meta snap;
    uint64_t last;

    if (!cfg->id || !cfg->storage || cfg->heartbeat_ticks == 0 ||
        cfg->heartbeat_ticks >= cfg->election_ticks || cfg->max_inflight_msgs == 0 ||
        cfg->max_inflight_msgs > RAFT_MAX_INFLIGHT)
        return CR_EINVAL;
    cfg->storage->snapshot(cfg->storage->data, &snap);
    last = cfg->storage->last_index(cfg->storage->data);
    if (cfg->applied < snap.index || cfg->applied > cfg->hard_state.commit ||
        cfg->hard_state.commit > last)
        return CR_EINVAL;
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->id = cfg->id;
    r->term = cfg->hard_state.term;
    r->vote = cfg->hard_state.vote;
    r->commit = cfg->hard_state.commit;
    r->applied = cfg->applied;
    r->prev_hs = cfg->hard_state;
    r->u.offset = last + 1;
    r->prng = cfg->seed ^ (cfg->id * 0x2545f4914f6cdd1dull);
    cr_arena_init(&r->arena, ARENA_BLOCK);
    r->conf = snap.conf;
    /* rebuild the configuration: replay the CONF entries already applied */
    for (uint64_t i = snap.index + 1; i <= cfg->applied;) {
        struct raft_entry batch[64];
        uint64_t hi = cfg->applied + 1 < i + 64 ? cfg->applied + 1 : i + 64;
        size_t n = cfg->storage->entries(cfg->storage->data, i, hi, SIZE_MAX, batch);

        for (size_t k = 0; k < n; k++)
            if (batch[k].type == RAFT_ENTRY_CONF)
                apply_conf(r, &batch[k]);
        i += n;
    }
    r->promotable = conf_has(&r->conf, r->id);
    r->role = RAFT_FOLLOWER;
    reset_term(r, r->term);
    invariant(r);
    return 0;
}

void raft_close(struct raft *r)
{
    unstable_truncate(&r->u, 0);
    free(r->u.entries);
    free(r->msgs);
    free(r->reads);
    free(r->reads_pending);
    cr_arena_free(&r->arena);
}

void raft_bootstrap(const uint64_t *voters, size_t n, struct raft_entry *entries, uint8_t *bufs,
                    struct raft_hard_state *hs)
{
    for (size_t k = 0; k < n; k++) {
        raft_conf_encode(bufs + k * RAFT_CONF_LEN, RAFT_CONF_ADD, voters[k]);
        entries[k] =
            (struct raft_entry){1, k + 1, RAFT_ENTRY_CONF, bufs + k * RAFT_CONF_LEN, RAFT_CONF_LEN};
    }
    hs->term = 1;
    hs->vote = 0;
    hs->commit = n;
}

void raft_tick(struct raft *r)
{
    CR_ASSERT(!r->in_ready);
    if (r->role == RAFT_LEADER) {
        r->heartbeat_elapsed++;
        if (++r->election_elapsed >= r->cfg.election_ticks) {
            size_t active = 0;

            r->election_elapsed = 0;
            for (size_t k = 0; k < r->n_prs; k++) {
                if (r->prs[k].id == r->id || r->prs[k].recent_active)
                    active++;
                r->prs[k].recent_active = false;
            }
            if (r->cfg.check_quorum && active < quorum(r)) {
                become_follower(r, r->term, 0);
                invariant(r);
                return;
            }
        }
        if (r->transferee && ++r->transfer_elapsed >= r->cfg.election_ticks)
            r->transferee = 0; /* a transfer that took an election timeout failed */
        if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
            r->heartbeat_elapsed = 0;
            bcast_heartbeat(r);
        }
    } else {
        /* a non-voter keeps counting: its lease on the last leader must expire, or it would
         * ignore the votes of a cluster that needs it */
        if (r->election_elapsed < UINT_MAX)
            r->election_elapsed++;
        if (r->promotable && r->election_elapsed >= r->randomized_timeout) {
            r->election_elapsed = 0;
            campaign(r, false, 0);
        }
    }
    invariant(r);
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
    bool drop;

    CR_ASSERT(!r->in_ready);
    if (m->to != r->id || !known_type(m->type))
        return CR_EINVAL;
    step_term(r, m, &drop);
    if (drop) {
        invariant(r);
        return 0;
    }
    if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE)
        handle_vote(r, m);
    else if (r->role == RAFT_FOLLOWER)
        step_follower(r, m);
    else if (r->role == RAFT_LEADER)
        step_leader(r, m);
    else
        step_candidate(r, m);
    invariant(r);
    return 0;
}

int raft_propose(struct raft *r, const uint8_t *data, size_t len, uint64_t *index)
{
    CR_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER)
        return CR_EINVAL;
    if (r->transferee)
        return CR_EOVERLOAD;
    append_leader_entry(r, RAFT_ENTRY_NORMAL, data, len);
    if (index)
        *index = log_last(r);
    invariant(r);
    return 0;
}

int raft_propose_conf(struct raft *r, enum raft_conf_op op, uint64_t node, uint64_t *index)
{
    return raft_propose_conf_ctx(r, op, node, NULL, 0, index);
}

int raft_propose_conf_ctx(struct raft *r, enum raft_conf_op op, uint64_t node, const uint8_t *ctx,
                          size_t ctx_len, uint64_t *index)
{
    uint8_t buf[RAFT_CONF_LEN + RAFT_CONF_MAX_CONTEXT];

    CR_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER || node == 0)
        return CR_EINVAL;
    if (r->transferee || r->pending_conf_index > r->applied)
        return CR_EOVERLOAD;
    if (ctx_len > RAFT_CONF_MAX_CONTEXT ||
        (op == RAFT_CONF_ADD ? conf_has(&r->conf, node) || r->conf.n == RAFT_MAX_VOTERS
                             : !conf_has(&r->conf, node) || r->conf.n == 1))
        return CR_EINVAL;
    raft_conf_encode(buf, op, node);
    if (ctx_len)
        memcpy(buf + RAFT_CONF_LEN, ctx, ctx_len);
    append_leader_entry(r, RAFT_ENTRY_CONF, buf, RAFT_CONF_LEN + ctx_len);
    r->pending_conf_index = log_last(r);
    if (index)
        *index = log_last(r);
    invariant(r);
    return 0;
}

int raft_read_index(struct raft *r, uint64_t context)
{
    CR_ASSERT(!r->in_ready);
    if (r->role == RAFT_LEADER) {
        if (!committed_in_term(r))
            return CR_EOVERLOAD;
        read_request(r, context, r->id);
    } else if (r->leader != 0) {
        new_msg(r, RAFT_MSG_READ_INDEX, r->leader)->context = context;
    } else {
        return CR_EINVAL;
    }
    invariant(r);
    return 0;
}

int raft_transfer_leader(struct raft *r, uint64_t to)
{
    struct raft_progress *pr;

    CR_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER || to == r->id || !(pr = progress(r, to)))
        return CR_EINVAL;
    if (r->transferee == to)
        return 0;
    r->transferee = to;
    r->transfer_elapsed = 0;
    if (pr->match == log_last(r))
        new_msg(r, RAFT_MSG_TIMEOUT_NOW, to);
    else
        send_append(r, pr, true); /* catch it up first; TIMEOUT_NOW follows its answer */
    invariant(r);
    return 0;
}

int raft_campaign(struct raft *r)
{
    CR_ASSERT(!r->in_ready);
    if (r->role == RAFT_LEADER || !r->promotable)
        return CR_EINVAL;
    campaign(r, false, 0);
    invariant(r);
    return 0;
}

void raft_report_snapshot(struct raft *r, uint64_t to, bool ok)
{
    struct raft_progress *pr;

    CR_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER || !(pr = progress(r, to)) || pr->state != RAFT_SNAPSHOT)
        return;
    /* wait for the next heartbeat answer before probing */
    become_probe(pr, ok ? pr->snapshot_index + 1 : pr->match + 1);
    pr->probe_sent = true;
    invariant(r);
}

static bool hs_changed(const struct raft *r)
{
    return r->term != r->prev_hs.term || r->vote != r->prev_hs.vote ||
           r->commit != r->prev_hs.commit;
}

bool raft_has_ready(const struct raft *r)
{
    return hs_changed(r) || r->u.n > 0 || r->u.has_snapshot || r->n_msgs > 0 || r->n_reads > 0 ||
           r->commit > r->applied || r->read_hb_pending;
}

bool raft_ready(struct raft *r, struct raft_ready *rd)
{
    uint64_t hi;

    CR_ASSERT(!r->in_ready);
    memset(rd, 0, sizeof *rd);
    if (!raft_has_ready(r))
        return false;
    if (r->read_hb_pending) {
        r->read_hb_pending = false;
        bcast_heartbeat(r);
    }
    rd->has_hard_state = hs_changed(r);
    rd->hard_state = (struct raft_hard_state){r->term, r->vote, r->commit};
    rd->snapshot = r->u.has_snapshot ? &r->u.snapshot : NULL;
    rd->entries = r->u.entries;
    rd->n_entries = r->u.n;
    rd->msgs = r->msgs;
    rd->n_msgs = r->n_msgs;
    rd->reads = r->reads;
    rd->n_reads = r->n_reads;
    r->rd_applied_to = r->applied;
    if (r->commit > r->applied) {
        hi = r->commit - r->applied < MAX_BATCH ? r->commit + 1 : r->applied + 1 + MAX_BATCH;
        rd->committed =
            cr_arena_alloc(&r->arena, (size_t)(hi - r->applied - 1) * sizeof(struct raft_entry));
        if (!rd->committed)
            abort();
        rd->n_committed = log_entries(r, r->applied + 1, hi, r->cfg.max_apply_bytes, rd->committed);
        r->rd_applied_to = r->applied + rd->n_committed;
    }
    r->rd = *rd;
    r->in_ready = true;
    return true;
}

void raft_advance(struct raft *r)
{
    bool conf_changed = false;

    CR_ASSERT(r->in_ready);
    r->in_ready = false;
    r->prev_hs = r->rd.hard_state;
    r->u.has_snapshot = false;
    unstable_truncate(&r->u, 0);
    r->u.offset = r->rd.n_entries ? r->rd.entries[r->rd.n_entries - 1].index + 1 : r->u.offset;
    r->n_msgs = 0;
    r->n_reads = 0;
    for (size_t k = 0; k < r->rd.n_committed; k++)
        if (r->rd.committed[k].type == RAFT_ENTRY_CONF) {
            apply_conf(r, &r->rd.committed[k]);
            conf_changed = true;
        }
    r->applied = r->rd_applied_to;
    memset(&r->rd, 0, sizeof r->rd);
    cr_arena_reset(&r->arena);
    if (conf_changed && r->role == RAFT_LEADER) {
        if (maybe_commit(r))
            bcast_append(r, true);
        else
            bcast_append(r, false);
        confirm_reads(r);
    }
    invariant(r);
}

void raft_compact_meta(const struct raft *r, struct raft_snapshot_meta *out)
{
    bool ok;

    out->index = r->applied;
    ok = log_term(r, r->applied, &out->term);
    CR_ASSERT(ok);
    (void)ok;
    out->conf = r->conf;
}

enum raft_role raft_role(const struct raft *r)
{
    return r->role;
}

uint64_t raft_term(const struct raft *r)
{
    return r->term;
}

uint64_t raft_leader(const struct raft *r)
{
    return r->leader;
}

uint64_t raft_commit(const struct raft *r)
{
    return r->commit;
}

uint64_t raft_applied(const struct raft *r)
{
    return r->applied;
}

uint64_t raft_last_index(const struct raft *r)
{
    return log_last(r);
}

const struct raft_conf *raft_conf(const struct raft *r)
{
    return &r->conf;
}

const struct raft_progress *raft_progress(const struct raft *r, uint64_t id)
{
    if (r->role != RAFT_LEADER)
        return NULL;
    for (size_t k = 0; k < r->n_prs; k++)
        if (r->prs[k].id == id)
            return &r->prs[k];
    return NULL;
}

void raft_conf_encode(uint8_t out[RAFT_CONF_LEN], enum raft_conf_op op, uint64_t node)
{
    out[0] = (uint8_t)op;
    for (int k = 0; k < 8; k++)
        out[1 + k] = (uint8_t)(node >> (8 * k));
}

int raft_conf_decode(const uint8_t *data, size_t len, enum raft_conf_op *op, uint64_t *node)
{
    uint64_t n = 0;

    if (len < RAFT_CONF_LEN || len > RAFT_CONF_LEN + RAFT_CONF_MAX_CONTEXT ||
        (data[0] != RAFT_CONF_ADD && data[0] != RAFT_CONF_REMOVE))
        return CR_EPROTO;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)data[1 + k] << (8 * k);
    if (n == 0)
        return CR_EPROTO;
    *op = (enum raft_conf_op)data[0];
    *node = n;
    return 0;
}

const char *raft_msg_name(enum raft_msg_type t)
{
    switch (t) {
#define RAFT_MSG_NAME(name, value, str)                                                            \
    case name:                                                                                     \
        return str;
        RAFT_MSG_TYPES(RAFT_MSG_NAME)
#undef RAFT_MSG_NAME
    }
    return "unknown";
}

const char *raft_role_name(enum raft_role role)
{
    static const char *const names[] = {"follower", "pre-candidate", "candidate", "leader"};

    return (unsigned)role < 4 ? names[role] : "unknown";
}
