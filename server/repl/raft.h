/*
 * The Raft core: a pure, deterministic state machine (DESIGN.md, "The replicated log and
 * consistency"). raft_step() (a message from a peer), raft_tick() (one unit of logical time) and
 * the local requests (propose, read index, transfer, campaign) change state; raft_ready() then
 * says what the driver must do; raft_advance() acknowledges it. The core does no I/O, reads no
 * clock and draws randomness only from the PRNG seeded in its config. Everything else — the log
 * store, the transport, timers, snapshot data — is the driver's.
 *
 * Ready/advance contract, for each ready in order:
 *   1. durably write, atomically (one storage transaction): the snapshot (if any: discard the
 *      whole log, the log now starts after it), then the entries (entry i replaces the stored
 *      entry i and everything after it), then the hard state (if changed);
 *   2. only then send the messages (in any order; any may be lost);
 *   3. apply the committed entries in order, install reads (read states), then raft_advance().
 * Between raft_ready() and raft_advance() the driver calls no raft_* function that changes state
 * (step, tick, propose, ...): it queues incoming messages and ticks meanwhile (natural batching
 * while fsync runs).
 * A crash at any point is safe provided step 1 was atomic: on restart the driver passes exactly
 * what was durable to raft_init().
 *
 * Ownership: everything a ready points to (entries, messages, their entries, snapshot meta) is
 * owned by the core and valid until raft_advance(). Bytes passed to raft_propose() are copied.
 * Bytes returned by the storage callbacks are borrowed only until the next storage call.
 * Memory: the core allocates with malloc, bounded by its config (message, in-flight and apply
 * budgets). It aborts on allocation failure: for Raft that is a crash, which is always safe.
 *
 * Membership: one voter added or removed at a time, by a CONF entry that takes effect on every
 * node when it is applied (raft_advance() after the entry was handed out as committed). A leader
 * accepts a new one only once the previous one, and an entry of its own term, are applied; that
 * rules out the single-server membership bug found after the Raft dissertation. Bootstrap: every
 * initial member starts from the same log, raft_bootstrap(): one CONF add entry per voter, all
 * committed.
 *
 * Wire mapping (proto/cirrus.proto, field for field; server/repl/raftwire.c converts):
 *
 *   message RaftEntry {
 *     uint64 term = 1; uint64 index = 2; uint32 type = 3; bytes data = 4;
 *   }
 *   message RaftSnapshotMeta { uint64 index = 1; uint64 term = 2; repeated uint64 voters = 3; }
 *   message RaftMessage {
 *     uint32 type = 1;        // enum raft_msg_type value
 *     uint64 from = 2;   uint64 to = 3;   uint64 term = 4;
 *     uint64 log_term = 5;    // APPEND: term of prev entry; VOTE/PREVOTE: term of last entry;
 *                             // APPEND_RESP reject: term of the hinted entry
 *     uint64 index = 6;       // APPEND: prev index; VOTE/PREVOTE: last index;
 *                             // APPEND_RESP: last index matched (or the rejected prev index);
 *                             // READ_INDEX_RESP: the read index
 *     uint64 commit = 7;      // APPEND, HEARTBEAT
 *     bool reject = 8;        // APPEND_RESP, VOTE_RESP, PREVOTE_RESP
 *     uint64 reject_hint = 9; // APPEND_RESP reject: the follower's likely last matching index
 *     uint64 context = 10;    // HEARTBEAT(_RESP): read sequence; READ_INDEX(_RESP): request id;
 *                             // VOTE: RAFT_CTX_TRANSFER for a campaign started by TIMEOUT_NOW
 *     repeated RaftEntry entries = 11; // APPEND
 *     RaftSnapshotMeta snapshot = 12;  // SNAPSHOT (the driver streams the data beside it)
 *   }
 */
#ifndef CR_SERVER_RAFT_H
#define CR_SERVER_RAFT_H

#include "common/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_MAX_VOTERS 16        /* per configuration */
#define RAFT_MAX_INFLIGHT 64      /* upper bound of raft_config.max_inflight_msgs */
#define RAFT_CONF_LEN 9           /* bytes of a CONF entry: op, then node id (u64 little endian) */
#define RAFT_CONF_MAX_CONTEXT 512 /* then up to this many bytes the core ignores (the driver's) */
#define RAFT_CTX_TRANSFER 1       /* VOTE context of a leadership-transfer campaign */

#define RAFT_MSG_TYPES(X)                                                                          \
    X(RAFT_MSG_APPEND, 1, "append")                                                                \
    X(RAFT_MSG_APPEND_RESP, 2, "append_resp")                                                      \
    X(RAFT_MSG_VOTE, 3, "vote")                                                                    \
    X(RAFT_MSG_VOTE_RESP, 4, "vote_resp")                                                          \
    X(RAFT_MSG_PREVOTE, 5, "prevote")                                                              \
    X(RAFT_MSG_PREVOTE_RESP, 6, "prevote_resp")                                                    \
    X(RAFT_MSG_HEARTBEAT, 7, "heartbeat")                                                          \
    X(RAFT_MSG_HEARTBEAT_RESP, 8, "heartbeat_resp")                                                \
    X(RAFT_MSG_SNAPSHOT, 9, "snapshot")                                                            \
    X(RAFT_MSG_TIMEOUT_NOW, 10, "timeout_now")                                                     \
    X(RAFT_MSG_READ_INDEX, 11, "read_index")                                                       \
    X(RAFT_MSG_READ_INDEX_RESP, 12, "read_index_resp")

enum raft_msg_type {
#define RAFT_MSG_ENUM(name, value, str) name = value,
    RAFT_MSG_TYPES(RAFT_MSG_ENUM)
#undef RAFT_MSG_ENUM
};

enum raft_role { RAFT_FOLLOWER, RAFT_PRE_CANDIDATE, RAFT_CANDIDATE, RAFT_LEADER };
enum raft_entry_type { RAFT_ENTRY_NORMAL = 0, RAFT_ENTRY_CONF = 1 };
enum raft_conf_op { RAFT_CONF_ADD = 1, RAFT_CONF_REMOVE = 2 };
enum raft_progress_state { RAFT_PROBE, RAFT_REPLICATE, RAFT_SNAPSHOT };

struct raft_entry {
    uint64_t term, index;
    enum raft_entry_type type;
    const uint8_t *data; /* opaque for NORMAL; for CONF, RAFT_CONF_LEN bytes and a context */
    size_t len;
};

struct raft_conf {
    size_t n;
    uint64_t voters[RAFT_MAX_VOTERS];
};

/* The compacted prefix of the log: everything up to index is in the snapshot. */
struct raft_snapshot_meta {
    uint64_t index, term;
    struct raft_conf conf; /* the configuration applied at index */
};

struct raft_hard_state {
    uint64_t term, vote, commit;
};

struct raft_msg {
    enum raft_msg_type type;
    uint64_t from, to, term;
    uint64_t log_term, index, commit;
    bool reject;
    uint64_t reject_hint;
    uint64_t context;
    struct raft_entry *entries;
    size_t n_entries;
    struct raft_snapshot_meta snapshot;
};

/* A confirmed ReadIndex: once the applied index reaches index, a read of request id context
 * sees every write acknowledged before the read was asked. */
struct raft_read_state {
    uint64_t index, context;
};

/*
 * The stable log, read through the driver. It holds the snapshot (the compacted prefix) and the
 * entries (snapshot.index, last_index]. A storage read error is not returned to the core: the
 * driver stops the node, which for Raft is a crash.
 */
struct raft_storage {
    void *data;
    /* Called often (every term lookup): keep the meta in memory. */
    void (*snapshot)(void *data, struct raft_snapshot_meta *out);
    uint64_t (*last_index)(void *data); /* snapshot.index when no entries */
    /* The term of entry index, for snapshot.index <= index <= last_index. */
    uint64_t (*term)(void *data, uint64_t index);
    /* Fills out (room for hi - lo) with entries [lo, hi), snapshot.index < lo < hi <=
     * last_index + 1, stopping before max_bytes of data but returning at least one; returns how
     * many. out[k].data is borrowed until the next call into the storage. */
    size_t (*entries)(void *data, uint64_t lo, uint64_t hi, size_t max_bytes,
                      struct raft_entry *out);
};

struct raft_config {
    uint64_t id;              /* nonzero */
    unsigned election_ticks;  /* follower timeout is randomized in [election, 2 * election) */
    unsigned heartbeat_ticks; /* < election_ticks */
    uint64_t seed;            /* the PRNG of the randomized timeout */
    bool pre_vote, check_quorum;
    size_t max_msg_bytes;      /* entry bytes per APPEND (at least one entry is sent) */
    size_t max_inflight_msgs;  /* APPENDs in flight per follower, <= RAFT_MAX_INFLIGHT */
    size_t max_inflight_bytes; /* entry bytes in flight per follower, 0: no limit */
    size_t max_apply_bytes;    /* committed entry bytes per ready (at least one entry) */
    const struct raft_storage *storage;
    struct raft_hard_state hard_state; /* as persisted; zero on first start */
    uint64_t applied;                  /* the state machine's applied index (>= snapshot.index) */
};

struct raft_ready {
    bool has_hard_state;
    struct raft_hard_state hard_state;
    const struct raft_snapshot_meta *snapshot; /* to install, or NULL */
    struct raft_entry *entries;                /* to append */
    size_t n_entries;
    struct raft_msg *msgs;
    size_t n_msgs;
    struct raft_entry *committed; /* to apply, in order */
    size_t n_committed;
    struct raft_read_state *reads;
    size_t n_reads;
};

struct raft_progress {
    uint64_t id, match, next;
    enum raft_progress_state state;
    bool probe_sent;         /* PROBE: one APPEND out, wait for an answer or a heartbeat */
    bool recent_active;      /* heard from since the last check-quorum */
    uint64_t snapshot_index; /* SNAPSHOT: the index sent */
    uint64_t read_ack;       /* highest read sequence this voter confirmed */
    /* REPLICATE: the APPENDs in flight, a ring of (last index, bytes) */
    uint64_t infl_index[RAFT_MAX_INFLIGHT];
    size_t infl_bytes[RAFT_MAX_INFLIGHT];
    size_t infl_start, infl_n, infl_total;
};

/* A ReadIndex waiting for its heartbeat quorum. */
struct raft_pending_read {
    uint64_t seq, index, context, from;
};

struct raft_unstable {
    uint64_t offset; /* index of entries[0] */
    struct raft_entry *entries;
    size_t n, cap;
    bool has_snapshot;
    struct raft_snapshot_meta snapshot;
};

/* Private: the fields are here so the driver can allocate it. Read it through the accessors. */
struct raft {
    struct raft_config cfg;
    uint64_t id, term, vote, commit, applied, leader;
    enum raft_role role;
    struct raft_conf conf;
    bool promotable; /* a voter of conf */
    struct raft_unstable u;
    struct raft_progress prs[RAFT_MAX_VOTERS];
    size_t n_prs;
    uint64_t votes_granted[RAFT_MAX_VOTERS], votes_rejected[RAFT_MAX_VOTERS];
    size_t n_granted, n_rejected;
    unsigned election_elapsed, heartbeat_elapsed, randomized_timeout;
    uint64_t prng;
    uint64_t pending_conf_index; /* leader: no new CONF until applied reaches it */
    uint64_t transferee;         /* leader: transfer target, 0 if none */
    unsigned transfer_elapsed;
    uint64_t read_seq;
    bool read_hb_pending; /* reads wait for the heartbeat round the next ready sends */
    struct raft_pending_read *reads_pending;
    size_t n_reads_pending, cap_reads_pending;
    /* what the next ready carries */
    struct raft_hard_state prev_hs;
    struct raft_msg *msgs;
    size_t n_msgs, cap_msgs;
    struct raft_read_state *reads;
    size_t n_reads, cap_reads;
    struct cr_arena arena; /* copies handed out by ready, freed by advance */
    bool in_ready;
    struct raft_ready rd;
    uint64_t rd_applied_to; /* last committed index handed out by the current ready */
};

/*
 * Starts a core from what is durable (cfg->hard_state, cfg->storage) and the state machine's
 * applied index. Replays CONF entries up to cfg->applied from storage to rebuild the
 * configuration. Starts as a follower. Returns 0, or CR_EINVAL for an invalid config (zero id,
 * heartbeat >= election, inflight bound out of range, applied outside [snapshot.index, commit]).
 */
int raft_init(struct raft *r, const struct raft_config *cfg);
void raft_close(struct raft *r);

/* The log every initial member starts from: n CONF add entries at term 1, indexes 1..n, data
 * in bufs (n * RAFT_CONF_LEN bytes, caller-owned), and the hard state {1, 0, n}. */
void raft_bootstrap(const uint64_t *voters, size_t n, struct raft_entry *entries, uint8_t *bufs,
                    struct raft_hard_state *hs);

/* Advances logical time by one tick: election timeout, heartbeats, check-quorum. */
void raft_tick(struct raft *r);

/* Processes a message addressed to this node; messages of other terms or roles are answered or
 * dropped as Raft says. Returns 0, or CR_EINVAL for a message not addressed to this node or of
 * an unknown type. */
int raft_step(struct raft *r, const struct raft_msg *m);

/* Leader only: appends a NORMAL entry (data copied); *index receives its index (it may still be
 * lost). CR_EINVAL: not the leader; CR_EOVERLOAD: a leadership transfer is in progress. */
int raft_propose(struct raft *r, const uint8_t *data, size_t len, uint64_t *index);

/* Leader only: appends a CONF entry adding or removing one voter. CR_EINVAL: not the leader, or
 * the change is a no-op (adding a voter, removing a non-voter) or would leave no voter or more
 * than RAFT_MAX_VOTERS; CR_EOVERLOAD: a previous change (or the leader's first entry) is not
 * applied yet, or a transfer is in progress. */
int raft_propose_conf(struct raft *r, enum raft_conf_op op, uint64_t node, uint64_t *index);
/* The same with a context (at most RAFT_CONF_MAX_CONTEXT bytes, copied) after the op and node in
 * the entry's data: the core ignores it; the driver reads it where the entry is applied (etcd's
 * ConfChange context: cirrusd puts the added node's peer address there). */
int raft_propose_conf_ctx(struct raft *r, enum raft_conf_op op, uint64_t node, const uint8_t *ctx,
                          size_t ctx_len, uint64_t *index);

/* Asks for a linearizable read index. The answer comes as a raft_read_state with this context in
 * a later ready, or never (messages lost, leader changed): the driver times out and retries.
 * CR_EINVAL: no leader known; CR_EOVERLOAD: the leader has not committed an entry of its term. */
int raft_read_index(struct raft *r, uint64_t context);

/* Leader only: hands leadership to voter `to` (TIMEOUT_NOW once it is up to date); aborted after
 * an election timeout. CR_EINVAL: not the leader, or `to` is not another voter. */
int raft_transfer_leader(struct raft *r, uint64_t to);

/* Starts an election now (pre-vote first if configured). CR_EINVAL: not a voter or leader. */
int raft_campaign(struct raft *r);

/* The driver's transport reports the fate of a SNAPSHOT it was asked to send. */
void raft_report_snapshot(struct raft *r, uint64_t to, bool ok);

bool raft_has_ready(const struct raft *r);
/* Fills *rd (see the contract above). Returns false, and *rd empty, if there is nothing to do. */
bool raft_ready(struct raft *r, struct raft_ready *rd);
/* Acknowledges the last ready: everything in it was persisted, sent and applied. */
void raft_advance(struct raft *r);

/* Compaction hook: the meta of a snapshot at the applied index. The driver may compact its log
 * up to that index once its state machine snapshot there is durable. */
void raft_compact_meta(const struct raft *r, struct raft_snapshot_meta *out);

enum raft_role raft_role(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint64_t raft_leader(const struct raft *r);
uint64_t raft_commit(const struct raft *r);
uint64_t raft_applied(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
const struct raft_conf *raft_conf(const struct raft *r);
/* The leader's view of a follower, or NULL. */
const struct raft_progress *raft_progress(const struct raft *r, uint64_t id);

/* Encodes/decodes the op and node of a CONF entry (its first RAFT_CONF_LEN bytes; a context may
 * follow); decode returns CR_EPROTO when malformed. */
void raft_conf_encode(uint8_t out[RAFT_CONF_LEN], enum raft_conf_op op, uint64_t node);
int raft_conf_decode(const uint8_t *data, size_t len, enum raft_conf_op *op, uint64_t *node);

const char *raft_msg_name(enum raft_msg_type t);
const char *raft_role_name(enum raft_role role);

#endif
