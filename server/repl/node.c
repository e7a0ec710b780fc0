/*
 * The Raft driver's loop: one thread, one event base, the core, its log store and the transport.
 * Must not apply entries or touch storage (the sink does), and must not call the core between
 * raft_ready() and raft_advance(): every callback here runs to completion on the node's thread,
 * so a ready is never interleaved with a step, a tick or a proposal.
 */
#include "server/repl/node.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "server/net.h"
#include "server/repl/log.h"
#include "server/repl/raftlog.h"
#include "server/repl/snapshot.h"
#include "server/repl/transport.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG_BYTES (1u << 20)
#define NODE_HOLD_TICKS 300 /* a write held while no leader is known: 3 s by default */
#define NODE_MAX_HELD 1024
#define MAX_APPLY_BYTES (4u << 20)

/* A caller of node_read_index or node_change_member, on its own stack, listed (under mu) until
 * answered or given up. */
struct waiter {
    struct waiter *next;
    uint64_t ctx;
    bool asked;      /* handed to raft_read_index, or the change proposed */
    uint64_t leader; /* the leader it was asked of (itself, or the one a follower forwarded to) */
    bool done;
    int code;
    uint64_t index; /* a read's index; a change's entry */
    pthread_cond_t cond;
    /* a membership change: op, node and its peer address ("HOST:PORT", adds only) */
    bool conf;
    enum raft_conf_op op;
    uint64_t node;
    char addr[NODE_HOST_MAX + 8];
};

/* A write forwarded to the leader, waiting for its answer (where the entry went). */
struct forwarded {
    uint64_t seq, tick;     /* tick: when it was sent */
    struct log_proposal *p; /* NULL once answered or given up */
};

/* A proposal that arrived while no leader was known, and since when. */
struct held {
    struct log_proposal *p;
    uint64_t since;
};

/* A proposal handed to the core, waiting for the entry at its index to commit. */
struct pending {
    uint64_t index, term;
    struct log_proposal *p;
};

struct node {
    uint64_t id;
    struct node_peer peers[RAFT_MAX_VOTERS];
    size_t n_peers;
    struct node_sink sink;
    unsigned tick_ms;
    struct raftlog store;
    struct raft core;
    struct event_base *base;
    struct transport *tp;
    struct event *ev_tick, *ev_wake, *ev_ready;
    int wake_fd;
    pthread_t thread;
    /* node thread only */
    struct pending *pend; /* sorted by index; [pend_head, n_pend) live */
    size_t pend_head, n_pend, cap_pend;
    enum raft_role last_role;
    uint64_t last_leader;
    uint64_t leader_sent_ms; /* the leader's clock on the newest message from it */
    uint64_t ticks, handed;  /* handed: the last index handed to the sink */
    struct forwarded *fwd;   /* by seq; [fwd_head, n_fwd) live */
    size_t fwd_head, n_fwd, cap_fwd;
    uint64_t fwd_seq;
    struct held held[NODE_MAX_HELD]; /* proposals waiting for a leader, oldest first */
    size_t n_held;
    char raft_dir[SNAP_PATH_MAX];           /* the log store's directory: snapshot files */
    struct snap_out *outs[RAFT_MAX_VOTERS]; /* transfers to followers under way */
    uint64_t out_tick[RAFT_MAX_VOTERS];     /* when each began */
    size_t n_outs;
    struct snap_in in;
    uint64_t compact_entries;
    struct raft_snapshot_meta compact_at; /* a compaction point, taken one check ago */
    uint64_t snapshots_sent, snapshots_installed;
    /* shared, under mu */
    pthread_mutex_t mu;
    struct log_proposal *in_head, *in_tail;
    struct waiter *waiters; /* asked or to ask */
    uint64_t read_ctx;
    bool stopping;
    struct node_status st;
};

static void wake(struct node *n)
{
    uint64_t one = 1;

    while (write(n->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void schedule_ready(struct node *n)
{
    event_active(n->ev_ready, 0, 0);
}

static int pend_add(struct node *n, uint64_t index, uint64_t term, struct log_proposal *p)
{
    size_t at;

    if (n->pend_head > 0 && n->n_pend == n->cap_pend) {
        memmove(n->pend, n->pend + n->pend_head, (n->n_pend - n->pend_head) * sizeof *n->pend);
        n->n_pend -= n->pend_head;
        n->pend_head = 0;
    }
    if (n->n_pend == n->cap_pend) {
        size_t cap = n->cap_pend ? 2 * n->cap_pend : 64;
        struct pending *grown = realloc(n->pend, cap * sizeof *grown);

        if (!grown)
            return CR_ENOMEM;
        n->pend = grown;
        n->cap_pend = cap;
    }
    /* Almost always the last; after a lost leadership regained, an index may repeat. */
    at = n->n_pend;
    while (at > n->pend_head && n->pend[at - 1].index > index)
        at--;
    memmove(n->pend + at + 1, n->pend + at, (n->n_pend - at) * sizeof *n->pend);
    n->pend[at] = (struct pending){index, term, p};
    n->n_pend++;
    return 0;
}

/* The proposal of committed entry e, if it is ours; fails ours that lost their index. */
static struct log_proposal *pend_match(struct node *n, const struct raft_entry *e)
{
    struct log_proposal *mine = NULL;

    while (n->pend_head < n->n_pend && n->pend[n->pend_head].index <= e->index) {
        struct pending *q = &n->pend[n->pend_head++];

        if (q->index == e->index && q->term == e->term && !mine)
            mine = q->p;
        else
            n->sink.failed(n->sink.data, q->p, CR_ENOTLEADER);
    }
    if (n->pend_head == n->n_pend)
        n->pend_head = n->n_pend = 0;
    return mine;
}

/* The table entry of peer id, or NULL; the caller holds mu or is the node's thread. */
static struct node_peer *peer_find(struct node *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_peers; i++)
        if (n->peers[i].id == id)
            return &n->peers[i];
    return NULL;
}

bool node_peer(struct node *n, uint64_t id, struct node_peer *out)
{
    const struct node_peer *p;

    pthread_mutex_lock(&n->mu);
    p = peer_find(n, id);
    if (p)
        *out = *p;
    pthread_mutex_unlock(&n->mu);
    return p != NULL;
}

/* "HOST:PORT" (a CONF entry's context) into *out; false when malformed. */
static bool parse_addr(const uint8_t *s, size_t len, struct node_peer *out)
{
    size_t colon = len;
    unsigned long port = 0;

    while (colon > 0 && s[colon - 1] != ':')
        colon--;
    if (colon < 2 || colon - 1 >= NODE_HOST_MAX || colon == len || len - colon > 5)
        return false;
    for (size_t i = colon; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    if (port == 0 || port > 65535)
        return false;
    memcpy(out->host, s, colon - 1);
    out->host[colon - 1] = 0;
    out->port = (uint16_t)port;
    return true;
}

/* Adds peer p (id, host, port) to the table and the transport unless it is known or this node.
 * The caller holds mu or is the node's thread before the transport exists. */
static void peer_learn(struct node *n, const struct node_peer *p)
{
    if (p->id == n->id || peer_find(n, p->id) || n->n_peers == RAFT_MAX_VOTERS)
        return;
    n->peers[n->n_peers++] = *p;
    if (n->tp && transport_add_peer(n->tp, p->id, p->host, p->port) < 0)
        cr_log(CR_LOG_WARN, "raft: cannot add peer %llu at %s:%u", (unsigned long long)p->id,
               p->host, (unsigned)p->port);
}

/*
 * A committed CONF entry's effect on the peer table (and, once the transport runs, on its
 * connections): an added node's address comes from the entry's context (bootstrap entries have
 * none: --peers gave their addresses); a removed node is forgotten. This node always keeps its
 * own entry (its listen address).
 */
static void peer_change(struct node *n, const struct raft_entry *e)
{
    struct node_peer p;
    enum raft_conf_op op;
    struct node_peer *have;
    uint64_t id;

    if (e->type != RAFT_ENTRY_CONF || raft_conf_decode(e->data, e->len, &op, &id) != 0 ||
        id == n->id)
        return;
    pthread_mutex_lock(&n->mu);
    have = peer_find(n, id);
    if (op == RAFT_CONF_REMOVE && have) {
        *have = n->peers[--n->n_peers];
        if (n->tp)
            transport_remove_peer(n->tp, id);
    } else if (op == RAFT_CONF_ADD &&
               parse_addr(e->data + RAFT_CONF_LEN, e->len - RAFT_CONF_LEN, &p)) {
        p.id = id;
        peer_learn(n, &p);
    }
    pthread_mutex_unlock(&n->mu);
}

/* The peer table as "ID=HOST:PORT,..." (what a compaction keeps, what a snapshot carries). */
static void peers_text(struct node *n, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = 0;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n_peers; i++) {
        int w = snprintf(buf + len, cap - len, "%s%llu=%s:%u", len ? "," : "",
                         (unsigned long long)n->peers[i].id, n->peers[i].host,
                         (unsigned)n->peers[i].port);

        if (w < 0 || (size_t)w >= cap - len) {
            buf[len] = 0; /* what fits: the others come from --peers and the log */
            break;
        }
        len += (size_t)w;
    }
    pthread_mutex_unlock(&n->mu);
}

/* Learns the peers of such a text that this node does not know yet. */
static void learn_peers_text(struct node *n, const char *text)
{
    while (*text) {
        const char *end = strchr(text, ','), *eq = strchr(text, '=');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        struct node_peer p;
        char *idend;
        unsigned long long id;

        if (eq && eq < text + len) {
            id = strtoull(text, &idend, 10);
            if (idend == eq && id &&
                parse_addr((const uint8_t *)eq + 1, len - (size_t)(eq + 1 - text), &p)) {
                p.id = id;
                pthread_mutex_lock(&n->mu);
                peer_learn(n, &p);
                pthread_mutex_unlock(&n->mu);
            }
        }
        text += len + (end ? 1 : 0);
    }
}

/* At start: the peers kept by the last compaction, then the membership changes in the log
 * since, before the transport dials. */
static void replay_peers(struct node *n)
{
    const struct raft_storage *st = raftlog_storage(&n->store);
    struct raft_snapshot_meta snap;
    struct raft_entry batch[64];
    struct raft_hard_state hs;
    char text[RAFTWIRE_MAX_CHUNK_CTX + 1];
    uint64_t last;

    if (raftlog_peers(&n->store, text, sizeof text) == 0)
        learn_peers_text(n, text);
    raftlog_hard_state(&n->store, &hs);
    last = hs.commit; /* an uncommitted change may still be undone */
    st->snapshot(st->data, &snap);
    for (uint64_t lo = snap.index + 1; lo <= last;) {
        uint64_t hi = last + 1 - lo > 64 ? lo + 64 : last + 1;
        size_t got = st->entries(st->data, lo, hi, MAX_APPLY_BYTES, batch);

        for (size_t k = 0; k < got; k++)
            peer_change(n, &batch[k]);
        lo += got;
    }
}

/* ---- snapshots: compaction, transfers ---- */

/* Every NODE_COMPACT_TICKS: compacts the log up to the point taken at the previous check, once
 * the state machine has made it durable, and takes a new point when the log holds
 * compact_entries applied entries beyond the last compaction. The point is a check old, so a
 * follower a moment behind still finds its entries. */
static void maybe_compact(struct node *n)
{
    char text[RAFTWIRE_MAX_CHUNK_CTX + 1];
    struct raft_snapshot_meta now;
    int rc;

    if (n->ticks % NODE_COMPACT_TICKS != 0)
        return;
    if (n->compact_at.index > n->store.snap.index &&
        n->sink.durable(n->sink.data) >= n->compact_at.index) {
        peers_text(n, text, sizeof text);
        rc = raftlog_set_peers(&n->store, text);
        if (rc == 0)
            rc = raftlog_compact(&n->store, &n->compact_at);
        if (rc < 0)
            cr_log(CR_LOG_WARN, "raft: cannot compact the log up to %llu: %s",
                   (unsigned long long)n->compact_at.index, cr_strerror(rc));
        else
            cr_log(CR_LOG_DEBUG, "raft: log compacted up to %llu",
                   (unsigned long long)n->compact_at.index);
    }
    raft_compact_meta(&n->core, &now);
    n->compact_at = now.index >= n->store.snap.index + n->compact_entries
                        ? now
                        : (struct raft_snapshot_meta){0};
}

/* The core wants a snapshot sent: start a transfer, unless one to that node is under way. */
static void snapshot_send(struct node *n, const struct raft_msg *m)
{
    char text[RAFTWIRE_MAX_CHUNK_CTX + 1];
    struct snap_out *o;
    int rc;

    for (size_t i = 0; i < n->n_outs; i++)
        if (snap_out_peer(n->outs[i]) == m->to)
            return;
    peers_text(n, text, sizeof text);
    rc = snap_out_start(n->raft_dir, m, n->sink.write_snapshot, n->sink.data, text, &o);
    if (rc < 0) {
        cr_log(CR_LOG_WARN, "raft: cannot start a snapshot for node %llu: %s",
               (unsigned long long)m->to, cr_strerror(rc));
        raft_report_snapshot(&n->core, m->to, false);
        return;
    }
    cr_log(CR_LOG_INFO, "raft: sending node %llu a snapshot at %llu", (unsigned long long)m->to,
           (unsigned long long)m->snapshot.index);
    n->outs[n->n_outs] = o;
    n->out_tick[n->n_outs++] = n->ticks;
}

/* Moves the transfers on; one that failed or took too long is reported to the core, which
 * probes the follower again (and asks for a new snapshot if it still needs one). */
static void snapshot_pump(struct node *n)
{
    for (size_t i = 0; i < n->n_outs;) {
        enum snap_state st = snap_out_pump(n->outs[i], n->tp, n->id);
        uint64_t to = snap_out_peer(n->outs[i]);

        if (st == SNAP_MORE && n->ticks - n->out_tick[i] < NODE_SNAPSHOT_TICKS) {
            i++;
            continue;
        }
        if (st == SNAP_SENT)
            n->snapshots_sent++;
        else
            raft_report_snapshot(&n->core, to, false);
        cr_log(st == SNAP_SENT ? CR_LOG_INFO : CR_LOG_WARN, "raft: snapshot to node %llu %s",
               (unsigned long long)to, st == SNAP_SENT ? "sent" : "failed");
        snap_out_free(n->outs[i]);
        n->outs[i] = n->outs[--n->n_outs];
        n->out_tick[i] = n->out_tick[n->n_outs];
    }
}

static void on_chunk(void *data, uint64_t from, const struct raftwire_chunk *c)
{
    struct node *n = data;

    if (snap_in_chunk(&n->in, from, c))
        cr_log(CR_LOG_INFO, "raft: received a snapshot at %llu from node %llu (%llu bytes)",
               (unsigned long long)c->index, (unsigned long long)from,
               (unsigned long long)c->total);
}

/* A ready's snapshot: the state machine becomes the received copy (before the log store says
 * the log starts after it, so that a crash in between leaves a state machine ahead of the log,
 * which restarts, never behind it). */
static void snapshot_install(struct node *n, const struct raft_snapshot_meta *meta)
{
    int rc;

    if (!n->in.complete || n->in.index != meta->index || n->in.term != meta->term) {
        cr_log(CR_LOG_ERROR, "raft: the core installs snapshot %llu, which was not received",
               (unsigned long long)meta->index);
        abort();
    }
    rc = n->sink.install(n->sink.data, n->in.path);
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "raft: cannot install snapshot %llu: %s",
               (unsigned long long)meta->index, cr_strerror(rc));
        abort(); /* a crash: the leader sends it again */
    }
    learn_peers_text(n, n->in.ctx);
    /* proposals waiting for entries the snapshot holds: applied or not, it does not tell */
    while (n->pend_head < n->n_pend && n->pend[n->pend_head].index <= meta->index)
        n->sink.failed(n->sink.data, n->pend[n->pend_head++].p, CR_ETIMEOUT);
    n->snapshots_installed++;
    if (n->handed < meta->index)
        n->handed = meta->index;
    cr_log(CR_LOG_INFO, "raft: installed snapshot %llu from node %llu",
           (unsigned long long)meta->index, (unsigned long long)n->in.from);
}

/* ---- forwarding: a follower's writes go to the leader ---- */

/* Sends p to the leader; its answer (on_forward) says at which (index, term) to wait for it. A
 * forward that never reached the leader fails with CR_ENOTLEADER (nothing applied, safe to
 * retry); one whose answer does not come within NODE_FORWARD_TICKS with CR_ETIMEOUT (it may or
 * may not be applied). */
static int forward(struct node *n, struct log_proposal *p)
{
    uint64_t leader = raft_leader(&n->core);
    struct raftwire_frame f = {.kind = RAFTWIRE_FORWARD};

    if (!leader || leader == n->id)
        return CR_ENOTLEADER;
    if (n->fwd_head > 0 && n->n_fwd == n->cap_fwd) {
        memmove(n->fwd, n->fwd + n->fwd_head, (n->n_fwd - n->fwd_head) * sizeof *n->fwd);
        n->n_fwd -= n->fwd_head;
        n->fwd_head = 0;
    }
    if (n->n_fwd == n->cap_fwd) {
        size_t cap = n->cap_fwd ? 2 * n->cap_fwd : 64;
        struct forwarded *grown = realloc(n->fwd, cap * sizeof *grown);

        if (!grown)
            return CR_ENOMEM;
        n->fwd = grown;
        n->cap_fwd = cap;
    }
    f.fwd = (struct raftwire_forward){
        .from = n->id, .to = leader, .seq = ++n->fwd_seq, .data = p->entry, .len = p->len};
    if (transport_send_forward(n->tp, &f) < 0)
        return CR_ENOTLEADER;
    n->fwd[n->n_fwd++] = (struct forwarded){f.fwd.seq, n->ticks, p};
    return 0;
}

/* Drops the answered and given-up forwards at the head. */
static void forward_trim(struct node *n)
{
    while (n->fwd_head < n->n_fwd && !n->fwd[n->fwd_head].p)
        n->fwd_head++;
    if (n->fwd_head == n->n_fwd)
        n->fwd_head = n->n_fwd = 0;
}

/* The leader's answer: wait for the entry at (index, term) like a proposal of our own. */
static void forward_answered(struct node *n, const struct raftwire_forward *r)
{
    size_t lo = n->fwd_head, hi = n->n_fwd;
    struct log_proposal *p;
    int rc = r->code;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (n->fwd[mid].seq < r->seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n->n_fwd || n->fwd[lo].seq != r->seq || !n->fwd[lo].p)
        return; /* given up already, or a duplicate */
    p = n->fwd[lo].p;
    n->fwd[lo].p = NULL;
    forward_trim(n);
    /* The entry travels after this answer on the same connection, so it is never handed out
     * before; if it was (a later leader sent it first), whether it is p's is not known here. */
    if (rc == 0 && r->index <= n->handed)
        rc = CR_ETIMEOUT;
    if (rc == 0)
        rc = pend_add(n, r->index, r->term, p);
    if (rc < 0)
        n->sink.failed(n->sink.data, p, rc);
}

/* Forwards unanswered for too long: lost on the way, or their answer was. */
static void forward_expire(struct node *n)
{
    for (size_t i = n->fwd_head; i < n->n_fwd && n->fwd[i].tick + NODE_FORWARD_TICKS <= n->ticks;
         i++) {
        if (n->fwd[i].p)
            n->sink.failed(n->sink.data, n->fwd[i].p, CR_ETIMEOUT);
        n->fwd[i].p = NULL;
    }
    forward_trim(n);
}

/* On the leader: propose a follower's entry and tell it where the entry went. The answer is
 * queued before the APPEND that carries the entry, on the same connection. */
static void forward_propose(struct node *n, const struct raftwire_forward *q)
{
    struct raftwire_frame f = {.kind = RAFTWIRE_FORWARD_RESULT};
    uint64_t index = 0;
    int rc = raft_propose(&n->core, q->data, q->len, &index);

    f.fwd = (struct raftwire_forward){.from = n->id, .to = q->from, .seq = q->seq};
    if (rc == 0) {
        f.fwd.index = index;
        f.fwd.term = raft_term(&n->core);
    } else {
        f.fwd.code = rc == CR_EINVAL ? CR_ENOTLEADER : rc;
    }
    transport_send_forward(n->tp, &f); /* lost: the follower times the write out */
    schedule_ready(n);
}

static void on_forward(void *data, const struct raftwire_frame *f)
{
    struct node *n = data;

    if (f->kind == RAFTWIRE_FORWARD)
        forward_propose(n, &f->fwd);
    else
        forward_answered(n, &f->fwd);
}

static struct node_batch *copy_committed(struct node *n, const struct raft_ready *rd)
{
    size_t bytes = sizeof(struct node_batch) + rd->n_committed * sizeof(struct node_entry);
    struct node_batch *b;
    uint8_t *data;

    for (size_t i = 0; i < rd->n_committed; i++)
        bytes += rd->committed[i].len;
    b = malloc(bytes);
    if (!b) {
        cr_log(CR_LOG_ERROR, "raft: out of memory handing out %zu committed entries",
               rd->n_committed);
        abort(); /* a crash, which Raft survives; losing committed entries it would not */
    }
    b->next = NULL;
    b->snapshot = NULL;
    b->n = rd->n_committed;
    data = (uint8_t *)&b->e[b->n];
    for (size_t i = 0; i < b->n; i++) {
        const struct raft_entry *e = &rd->committed[i];

        b->e[i] = (struct node_entry){e->index, e->term, e->type, data, e->len, NULL};
        if (e->len)
            memcpy(data, e->data, e->len);
        data += e->len;
        b->e[i].proposal = pend_match(n, e);
        n->handed = e->index;
        peer_change(n, e);
    }
    return b;
}

static void publish(struct node *n)
{
    enum raft_role role = raft_role(&n->core);
    uint64_t leader = raft_leader(&n->core);

    pthread_mutex_lock(&n->mu);
    n->st.role = role;
    n->st.term = raft_term(&n->core);
    n->st.leader = leader;
    n->st.commit = raft_commit(&n->core);
    n->st.applied = raft_applied(&n->core);
    n->st.leader_sent_ms = role == RAFT_LEADER ? cr_wall_ms() : n->leader_sent_ms;
    n->st.snapshot_index = n->store.snap.index;
    n->st.snapshots_sent = n->snapshots_sent;
    n->st.snapshots_installed = n->snapshots_installed;
    n->st.n_voters = raft_conf(&n->core)->n;
    memcpy(n->st.voters, raft_conf(&n->core)->voters, n->st.n_voters * sizeof *n->st.voters);
    pthread_mutex_unlock(&n->mu);
    if (role != n->last_role || leader != n->last_leader) {
        cr_log(CR_LOG_INFO, "raft: node %llu is %s in term %llu, leader %llu",
               (unsigned long long)n->id, raft_role_name(role),
               (unsigned long long)raft_term(&n->core), (unsigned long long)leader);
        n->last_role = role;
        n->last_leader = leader;
    }
}

static void finish(struct waiter *w, int code, uint64_t index)
{
    w->done = true;
    w->code = code;
    w->index = index;
    pthread_cond_signal(&w->cond);
}

/* The read states of a ready: each answers the waiter of its context. */
static void serve_reads(struct node *n, const struct raft_ready *rd)
{
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < rd->n_reads; i++)
        for (struct waiter *w = n->waiters; w; w = w->next)
            if (!w->conf && w->ctx == rd->reads[i].context && !w->done)
                finish(w, 0, rd->reads[i].index);
    pthread_mutex_unlock(&n->mu);
}

/* A membership change: proposed by the leader (the added node's address rides in the entry),
 * answered once applied. CR_EOVERLOAD (a change or the leader's first entry not yet applied)
 * retries at the next tick. Returns whether the core was handed something. */
static bool ask_change(struct node *n, struct waiter *w)
{
    const struct raft_conf *c;
    bool has;
    int rc;

    if (w->asked) {
        if (raft_applied(&n->core) < w->index)
            return false;
        c = raft_conf(&n->core);
        has = false;
        for (size_t i = 0; i < c->n; i++)
            has |= c->voters[i] == w->node;
        finish(w, has == (w->op == RAFT_CONF_ADD) ? 0 : CR_ENOTLEADER, w->index);
        return false;
    }
    if (raft_role(&n->core) != RAFT_LEADER) {
        finish(w, CR_ENOTLEADER, 0);
        return false;
    }
    rc = raft_propose_conf_ctx(&n->core, w->op, w->node, (const uint8_t *)w->addr, strlen(w->addr),
                               &w->index);
    if (rc == 0)
        w->asked = true;
    else if (rc != CR_EOVERLOAD)
        finish(w, rc, 0);
    return rc == 0;
}

/* Hands the reads not yet asked to the core (a follower's core forwards them to the leader). One
 * the leader cannot answer yet (no entry of its term committed), or asked while no leader is
 * known, waits for a later tick; one asked of a leader that has since lost its place is asked
 * again of the new one (any round begun after the read arrived serves it). Membership changes
 * are handled by ask_change. Returns whether the core was handed something. */
static bool ask_waiters(struct node *n)
{
    bool handed = false;

    pthread_mutex_lock(&n->mu);
    for (struct waiter *w = n->waiters; w; w = w->next) {
        int rc;

        if (w->done)
            continue;
        if (w->conf) {
            handed |= ask_change(n, w);
            continue;
        }
        if (!raft_leader(&n->core))
            continue; /* an election: asked once it has a winner, or timed out by its caller */
        if (w->asked && w->leader != raft_leader(&n->core))
            w->asked = false; /* that leader is gone: a round of the new one serves as well */
        if (w->asked)
            continue;
        rc = raft_read_index(&n->core, w->ctx);
        if (rc == 0) {
            w->asked = true;
            w->leader = raft_leader(&n->core);
            handed = true;
        } else if (rc != CR_EOVERLOAD)
            finish(w, CR_ENOTLEADER, 0);
    }
    pthread_mutex_unlock(&n->mu);
    return handed;
}

/* A proposal to the core on the leader, forwarded elsewhere, held while no leader is known or
 * the one known cannot be reached (since `since`: after NODE_HOLD_TICKS it fails with
 * CR_ENOTLEADER, nothing applied). */
static void dispatch(struct node *n, struct log_proposal *p, uint64_t since)
{
    uint64_t index;
    int rc;

    if (raft_role(&n->core) == RAFT_LEADER) {
        rc = raft_propose(&n->core, p->entry, p->len, &index);
        if (rc == 0)
            rc = pend_add(n, index, raft_term(&n->core), p);
        else if (rc == CR_EINVAL)
            rc = CR_ENOTLEADER;
    } else {
        /* no leader known, or it cannot be reached (it may have just died): hold p a moment */
        rc = raft_leader(&n->core) ? forward(n, p) : CR_ENOTLEADER;
        if (rc == CR_ENOTLEADER && n->ticks - since < NODE_HOLD_TICKS &&
            n->n_held < NODE_MAX_HELD) {
            n->held[n->n_held++] = (struct held){p, since};
            return;
        }
    }
    if (rc < 0)
        n->sink.failed(n->sink.data, p, rc);
}

/* The held proposals, once a leader is known (or their time is up): each tick, whose ready
 * then sends what went to the core. */
static void release_held(struct node *n)
{
    size_t k = n->n_held;

    if (!k || (!raft_leader(&n->core) && n->ticks - n->held[0].since < NODE_HOLD_TICKS))
        return; /* with a leader known, each tick tries again to reach it */
    n->n_held = 0;
    for (size_t i = 0; i < k; i++)
        dispatch(n, n->held[i].p, n->held[i].since);
}

/* The ready/advance contract (docs/raft.md), as many times as the core has something. */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    struct node *n = arg;
    struct raft_ready rd;
    int rc;

    (void)fd;
    (void)what;
    while (raft_ready(&n->core, &rd)) {
        if (rd.snapshot)
            snapshot_install(n, rd.snapshot);
        rc = raftlog_save(&n->store, &rd);
        if (rc < 0) {
            cr_log(CR_LOG_ERROR, "raft: cannot persist a ready: %s", cr_strerror(rc));
            abort(); /* Raft survives a crash, not a promise sent before it is durable */
        }
        if (rd.snapshot)
            snap_in_reset(&n->in);
        for (size_t i = 0; i < rd.n_msgs; i++) {
            if (rd.msgs[i].type == RAFT_MSG_SNAPSHOT)
                snapshot_send(n, &rd.msgs[i]); /* the data first, the message after it */
            else
                transport_send(n->tp, &rd.msgs[i]); /* drops are Raft's to recover from */
        }
        if (rd.n_committed)
            n->sink.committed(n->sink.data, copy_committed(n, &rd));
        if (rd.n_reads)
            serve_reads(n, &rd);
        raft_advance(&n->core);
    }
    publish(n);
    if (ask_waiters(n)) /* changes applied by this ready are answered; new ones proposed */
        schedule_ready(n);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct node *n = arg;

    (void)fd;
    (void)what;
    raft_tick(&n->core);
    n->ticks++;
    release_held(n);
    forward_expire(n);
    snapshot_pump(n);
    maybe_compact(n);
    ask_waiters(n);
    schedule_ready(n);
}

static void on_recv(void *data, const struct raft_msg *m, uint64_t sent_ms)
{
    struct node *n = data;

    if (m->type == RAFT_MSG_SNAPSHOT && !snap_in_ready(&n->in, m)) {
        cr_log(CR_LOG_WARN, "raft: snapshot %llu from node %llu arrived without its data",
               (unsigned long long)m->snapshot.index, (unsigned long long)m->from);
        return; /* the sender's transfer times out and it probes again */
    }
    raft_step(&n->core, m);
    if (m->from == raft_leader(&n->core) && sent_ms > n->leader_sent_ms)
        n->leader_sent_ms = sent_ms;
    schedule_ready(n);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct node *n = arg;
    struct log_proposal *p, *next;
    uint64_t count;
    bool stopping;

    (void)what;
    while (read(fd, &count, sizeof count) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&n->mu);
    p = n->in_head;
    n->in_head = n->in_tail = NULL;
    stopping = n->stopping;
    pthread_mutex_unlock(&n->mu);
    for (; p; p = next) {
        next = p->next;
        p->next = NULL;
        if (stopping)
            n->sink.failed(n->sink.data, p, CR_ESHUTDOWN);
        else
            dispatch(n, p, n->ticks);
    }
    if (stopping) {
        event_base_loopexit(n->base, NULL);
    } else {
        ask_waiters(n);
        schedule_ready(n);
    }
}

static void *node_main(void *arg)
{
    struct node *n = arg;

    event_base_loop(n->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* First start: every initial member saves the same log, one CONF entry per voter. */
static int bootstrap(struct node *n)
{
    struct raft_entry entries[RAFT_MAX_VOTERS];
    uint8_t bufs[RAFT_MAX_VOTERS * RAFT_CONF_LEN];
    uint64_t voters[RAFT_MAX_VOTERS];
    struct raft_ready rd;

    for (size_t i = 0; i < n->n_peers; i++)
        voters[i] = n->peers[i].id;
    memset(&rd, 0, sizeof rd);
    raft_bootstrap(voters, n->n_peers, entries, bufs, &rd.hard_state);
    rd.has_hard_state = true;
    rd.entries = entries;
    rd.n_entries = n->n_peers;
    return raftlog_save(&n->store, &rd);
}

/* A single node's data (applied up to `applied`, no Raft log) becomes a cluster of one: the log
 * starts after a snapshot at that index whose only voter is this node. */
static int seed(struct node *n, uint64_t applied)
{
    struct raft_snapshot_meta meta = {.index = applied, .term = 1, .conf = {.n = 1}};
    struct raft_ready rd;

    meta.conf.voters[0] = n->id;
    memset(&rd, 0, sizeof rd);
    rd.snapshot = &meta;
    rd.has_hard_state = true;
    rd.hard_state = (struct raft_hard_state){.term = 1, .vote = 0, .commit = applied};
    return raftlog_save(&n->store, &rd);
}

static int start_core(struct node *n, const struct node_options *opt)
{
    struct raft_hard_state hs;
    struct raft_config rc;
    struct timespec now;
    uint64_t applied = opt->applied;
    int err;

    raftlog_hard_state(&n->store, &hs);
    if (raftlog_last_index(&n->store) == 0 && hs.term == 0) {
        if (opt->applied > 0 && (opt->join || n->n_peers > 1)) {
            cr_log(CR_LOG_ERROR,
                   "raft: the data is applied up to %llu but there is no Raft log: a single "
                   "node's data directory can only seed a cluster of one (--peers naming this "
                   "node alone), which others then join",
                   (unsigned long long)opt->applied);
            return CR_EINVAL;
        }
        if (opt->applied > 0) {
            err = seed(n, opt->applied);
            if (err < 0)
                return err;
            raftlog_hard_state(&n->store, &hs);
            cr_log(CR_LOG_INFO, "raft: a cluster of one seeded from the data at %llu",
                   (unsigned long long)opt->applied);
        } else if (opt->join) {
            cr_log(CR_LOG_INFO, "raft: node %llu starts empty and waits to be added (--join)",
                   (unsigned long long)n->id);
        } else {
            err = bootstrap(n);
            if (err < 0)
                return err;
            raftlog_hard_state(&n->store, &hs);
            cr_log(CR_LOG_INFO, "raft: bootstrapped a log of %zu voters", n->n_peers);
        }
    }
    if (applied < n->store.snap.index) {
        cr_log(CR_LOG_ERROR,
               "raft: the data is applied up to %llu but the Raft log starts after %llu: the "
               "data directory lost writes",
               (unsigned long long)applied, (unsigned long long)n->store.snap.index);
        return CR_ECORRUPT;
    }
    /* A state machine ahead of the log's commit index (a snapshot installed just before a
     * crash) skips the entries it holds when they are handed out again. */
    if (applied > hs.commit)
        applied = hs.commit;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(&rc, 0, sizeof rc);
    rc.id = n->id;
    rc.election_ticks = opt->election_ticks ? opt->election_ticks : NODE_DEFAULT_ELECTION_TICKS;
    rc.heartbeat_ticks = opt->heartbeat_ticks ? opt->heartbeat_ticks : NODE_DEFAULT_HEARTBEAT_TICKS;
    rc.seed = n->id * 0x9e3779b97f4a7c15ull ^ (uint64_t)now.tv_nsec;
    rc.pre_vote = true;
    rc.check_quorum = true;
    rc.max_msg_bytes = MAX_MSG_BYTES;
    rc.max_inflight_msgs = RAFT_MAX_INFLIGHT;
    rc.max_apply_bytes = MAX_APPLY_BYTES;
    rc.storage = raftlog_storage(&n->store);
    rc.hard_state = hs;
    rc.applied = applied;
    n->handed = applied;
    return raft_init(&n->core, &rc);
}

static int start_events(struct node *n, const struct node_options *opt)
{
    const struct node_peer *self = peer_find(n, n->id);
    struct transport_options to;
    struct transport_callbacks cb = {on_recv, on_chunk, on_forward, n};
    struct timeval tv = {0, (suseconds_t)n->tick_ms * 1000};
    int rc;

    n->base = net_base_new();
    if (!n->base)
        return CR_ENOMEM;
    memset(&to, 0, sizeof to);
    to.cluster_id = cr_hash64(opt->cluster_name, strlen(opt->cluster_name));
    to.node_id = n->id;
    to.listen_host = self->host;
    to.listen_port = self->port;
    rc = transport_new(n->base, &to, &cb, &n->tp);
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "raft: cannot listen for peers on %s:%u: %s", self->host,
               (unsigned)self->port, cr_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n->n_peers; i++) {
        if (n->peers[i].id == n->id)
            continue;
        rc = transport_add_peer(n->tp, n->peers[i].id, n->peers[i].host, n->peers[i].port);
        if (rc < 0)
            return rc;
    }
    n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (n->wake_fd < 0)
        return CR_EIO;
    n->ev_tick = event_new(n->base, -1, EV_PERSIST, on_tick, n);
    n->ev_wake = event_new(n->base, n->wake_fd, EV_READ | EV_PERSIST, on_wake, n);
    n->ev_ready = event_new(n->base, -1, 0, on_ready, n);
    if (!n->ev_tick || !n->ev_wake || !n->ev_ready)
        return CR_ENOMEM;
    if (event_add(n->ev_tick, &tv) < 0 || event_add(n->ev_wake, NULL) < 0)
        return CR_EIO;
    return 0;
}

static void free_node(struct node *n)
{
    if (n->ev_tick)
        event_free(n->ev_tick);
    if (n->ev_wake)
        event_free(n->ev_wake);
    if (n->ev_ready)
        event_free(n->ev_ready);
    if (n->wake_fd >= 0)
        close(n->wake_fd);
    if (n->tp)
        transport_free(n->tp);
    if (n->base)
        event_base_free(n->base);
    raft_close(&n->core);
    raftlog_close(&n->store);
    pthread_mutex_destroy(&n->mu);
    for (size_t i = 0; i < n->n_outs; i++)
        snap_out_free(n->outs[i]);
    snap_in_reset(&n->in);
    free(n->pend);
    free(n->fwd);
    free(n);
}

int node_start(const struct node_options *opt, const struct node_sink *sink, struct node **out)
{
    struct raftlog_options lo = {0, opt->no_sync};
    struct node *n;
    int rc;

    if (opt->n_peers == 0 || opt->n_peers > RAFT_MAX_VOTERS)
        return CR_EINVAL;
    n = calloc(1, sizeof *n);
    if (!n)
        return CR_ENOMEM;
    n->id = opt->id;
    memcpy(n->peers, opt->peers, opt->n_peers * sizeof *opt->peers);
    n->n_peers = opt->n_peers;
    n->sink = *sink;
    n->tick_ms = opt->tick_ms ? opt->tick_ms : NODE_DEFAULT_TICK_MS;
    n->compact_entries = opt->compact_entries ? opt->compact_entries : NODE_DEFAULT_COMPACT;
    n->wake_fd = -1;
    n->st.id = n->id;
    if (!peer_find(n, n->id)) {
        free(n);
        return CR_EINVAL;
    }
    if (pthread_mutex_init(&n->mu, NULL) != 0) {
        free(n);
        return CR_ENOMEM;
    }
    if (snprintf(n->raft_dir, sizeof n->raft_dir, "%s/%s", opt->data_dir, RAFTLOG_SUBDIR) >=
            (int)sizeof n->raft_dir ||
        snap_in_init(&n->in, n->raft_dir) < 0) {
        pthread_mutex_destroy(&n->mu);
        free(n);
        return CR_ETOOLONG;
    }
    rc = raftlog_open(&n->store, opt->data_dir, &lo);
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "raft: cannot open the log store in '%s/%s': %s", opt->data_dir,
               RAFTLOG_SUBDIR, cr_strerror(rc));
        pthread_mutex_destroy(&n->mu);
        free(n);
        return rc;
    }
    rc = start_core(n, opt);
    if (rc < 0) {
        raftlog_close(&n->store);
        pthread_mutex_destroy(&n->mu);
        free(n);
        return rc;
    }
    n->last_role = raft_role(&n->core);
    replay_peers(n);
    publish(n); /* before the thread: from then on, the core is the node thread's alone */
    rc = start_events(n, opt);
    if (rc == 0 && pthread_create(&n->thread, NULL, node_main, n) != 0)
        rc = CR_EIO;
    if (rc < 0) {
        free_node(n);
        return rc;
    }
    *out = n;
    return 0;
}

void node_stop(struct node *n)
{
    struct log_proposal *p, *next;

    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    pthread_mutex_unlock(&n->mu);
    wake(n);
    pthread_join(n->thread, NULL);
    /* The thread drained the queue before it stopped; what it proposed never committed. */
    pthread_mutex_lock(&n->mu);
    p = n->in_head;
    n->in_head = n->in_tail = NULL;
    for (struct waiter *w = n->waiters; w; w = w->next)
        if (!w->done)
            finish(w, CR_ESHUTDOWN, 0);
    pthread_mutex_unlock(&n->mu);
    for (; p; p = next) {
        next = p->next;
        n->sink.failed(n->sink.data, p, CR_ESHUTDOWN);
    }
    for (size_t i = n->pend_head; i < n->n_pend; i++)
        n->sink.failed(n->sink.data, n->pend[i].p, CR_ESHUTDOWN);
    for (size_t i = n->fwd_head; i < n->n_fwd; i++)
        if (n->fwd[i].p)
            n->sink.failed(n->sink.data, n->fwd[i].p, CR_ESHUTDOWN);
    for (size_t i = 0; i < n->n_held; i++)
        n->sink.failed(n->sink.data, n->held[i].p, CR_ESHUTDOWN);
    n->n_held = 0;
    n->pend_head = n->n_pend = 0;
    free_node(n);
}

int node_propose(struct node *n, struct log_proposal *p)
{
    int rc = 0;

    p->next = NULL;
    pthread_mutex_lock(&n->mu);
    if (n->stopping) {
        rc = CR_ESHUTDOWN;
    } else {
        if (n->in_tail)
            n->in_tail->next = p;
        else
            n->in_head = p;
        n->in_tail = p;
    }
    pthread_mutex_unlock(&n->mu);
    if (rc == 0)
        wake(n);
    return rc;
}

/* Lists w (initialized by the caller: its kind and arguments) for the node's thread and waits
 * for its answer, at most timeout_ms. */
static int wait_answer(struct node *n, struct waiter *w, unsigned timeout_ms)
{
    struct waiter **pp;
    struct timespec deadline;
    int rc = 0;

    if (pthread_cond_init(&w->cond, NULL) != 0)
        return CR_ENOMEM;
    deadline = cr_deadline(timeout_ms);
    pthread_mutex_lock(&n->mu);
    if (n->stopping) {
        rc = CR_ESHUTDOWN;
    } else {
        w->ctx = ++n->read_ctx;
        w->next = n->waiters;
        n->waiters = w;
    }
    pthread_mutex_unlock(&n->mu);
    if (rc < 0) {
        pthread_cond_destroy(&w->cond);
        return rc;
    }
    wake(n);
    pthread_mutex_lock(&n->mu);
    while (!w->done && rc == 0)
        if (pthread_cond_timedwait(&w->cond, &n->mu, &deadline) == ETIMEDOUT)
            rc = CR_ETIMEOUT;
    if (w->done)
        rc = w->code;
    for (pp = &n->waiters; *pp != w; pp = &(*pp)->next)
        ;
    *pp = w->next;
    pthread_mutex_unlock(&n->mu);
    pthread_cond_destroy(&w->cond);
    return rc;
}

int node_read_index(struct node *n, unsigned timeout_ms, uint64_t *index)
{
    struct waiter w;
    int rc;

    memset(&w, 0, sizeof w);
    rc = wait_answer(n, &w, timeout_ms);
    *index = w.index;
    return rc;
}

int node_change_member(struct node *n, enum raft_conf_op op, const struct node_peer *peer,
                       unsigned timeout_ms, uint64_t *index)
{
    struct waiter w;
    int rc;

    if (!peer->id || (op != RAFT_CONF_ADD && op != RAFT_CONF_REMOVE))
        return CR_EINVAL;
    memset(&w, 0, sizeof w);
    w.conf = true;
    w.op = op;
    w.node = peer->id;
    if (op == RAFT_CONF_ADD) {
        if (!peer->port || !peer->host[0] || strchr(peer->host, ':'))
            return CR_EINVAL;
        snprintf(w.addr, sizeof w.addr, "%s:%u", peer->host, (unsigned)peer->port);
    }
    rc = wait_answer(n, &w, timeout_ms);
    *index = w.index;
    return rc;
}

void node_get_status(struct node *n, struct node_status *out)
{
    pthread_mutex_lock(&n->mu);
    *out = n->st;
    pthread_mutex_unlock(&n->mu);
}

int node_set_faults(struct node *n, const struct transport_fault *f, size_t count)
{
    return transport_set_faults(n->tp, f, count);
}

void node_get_faults(struct node *n, struct transport_fault *out, size_t *count)
{
    transport_get_faults(n->tp, out, count);
}
