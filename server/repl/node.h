/*
 * A Raft node (issue 6, phase 1): the driver that owns the Raft core (raft.h), its log store
 * (raftlog.h, DIR/raft/), the peer transport (transport.h) and a tick timer, all on one event
 * loop thread of its own. It runs the ready/advance contract of docs/raft.md: persist the ready
 * atomically, then send its messages, then hand the committed entries to the state machine
 * (log.c's writer thread, through node_sink.committed), serve the read states, then advance.
 *
 * It does not apply anything itself and never touches storage: the sink does. Proposals come
 * from any thread (node_propose), are queued and handed to the core on the node's thread; each
 * is matched to its (index, term) and travels with its committed entry to the sink, or is handed
 * back as failed when another entry commits at its index (lost to a leader change).
 *
 * Incoming messages are stepped on the node's thread between readies: a ready is processed in
 * one callback, so messages that arrive meanwhile wait in the sockets and are stepped after the
 * advance (the contract's queueing, for free).
 */
#ifndef CR_SERVER_NODE_H
#define CR_SERVER_NODE_H

#include "server/repl/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_HOST_MAX 256
#define NODE_DEFAULT_TICK_MS 10
#define NODE_DEFAULT_ELECTION_TICKS 30 /* 300..600 ms with the default tick */
#define NODE_DEFAULT_HEARTBEAT_TICKS 3
#define NODE_FORWARD_TICKS 300     /* a forwarded write's answer waited for: 3 s by default */
#define NODE_DEFAULT_COMPACT 10000 /* applied entries kept in the log before a compaction */
#define NODE_COMPACT_TICKS 100     /* how often compaction is considered: 1 s by default */
#define NODE_SNAPSHOT_TICKS 6000   /* a snapshot transfer's limit: 60 s by default */

struct log_proposal;
struct node;

struct node_peer {
    uint64_t id;
    char host[NODE_HOST_MAX]; /* numeric address */
    uint16_t port;            /* the peer transport's port */
};

/* A committed entry handed to the sink; data borrowed from the batch. */
struct node_entry {
    uint64_t index, term;
    enum raft_entry_type type;
    const uint8_t *data;
    size_t len;
    struct log_proposal *proposal; /* this node's proposal of this entry, or NULL */
};

/* Committed entries of one ready, in index order, in one allocation: the sink frees it with
 * free() once applied. */
struct node_batch {
    struct node_batch *next; /* for the sink's queue */
    const char *snapshot;    /* the sink's own install request (n == 0); NULL for entries */
    size_t n;
    struct node_entry e[];
};

/* What the node hands out, called on the node's thread. */
struct node_sink {
    void *data;
    /* Committed entries to apply in order; the sink owns b. May block (backpressure). */
    void (*committed)(void *data, struct node_batch *b);
    /* A proposal that will not be applied here: code CR_ENOTLEADER (lost to a leader change, or
     * no leader took it), CR_EOVERLOAD, CR_ESHUTDOWN; or whose fate is unknown: CR_ETIMEOUT (a
     * forward not answered). */
    void (*failed)(void *data, struct log_proposal *p, int code);
    /* The state machine's durable applied index: a compaction drops the log up to at most it. */
    uint64_t (*durable)(void *data);
    /* Replaces the state machine with the snapshot file at path once everything handed before
     * is applied, and returns when done (0) or failed (the node then aborts: a crash). The
     * entries handed afterwards may include some the snapshot already holds: skip those. */
    int (*install)(void *data, const char *path);
    /* Writes a consistent copy of the state machine to the file at path, for a follower that
     * needs a snapshot. Called on a thread of the node's (not its loop); 0 or an error. */
    int (*write_snapshot)(void *data, const char *path);
};

struct node_options {
    uint64_t id;
    const char *cluster_name;
    const struct node_peer *peers; /* the initial voters, this node included (its listen
                                      address); with join, the nodes it may hear from */
    size_t n_peers;
    const char *data_dir; /* the log store goes in data_dir/raft/ */
    bool no_sync;
    bool join;        /* a first start with an empty log and no voters, until the leader adds it */
    uint64_t applied; /* the state machine's applied index */
    unsigned tick_ms, election_ticks, heartbeat_ticks; /* 0: the defaults */
    /* compact the log once it holds this many applied entries (0: NODE_DEFAULT_COMPACT) */
    uint64_t compact_entries;
};

struct node_status {
    uint64_t id;
    enum raft_role role;
    uint64_t term, leader, commit, applied; /* applied: handed to the sink */
    /* The wall clock (CLOCK_REALTIME ms) at which the leader sent the newest message this node
     * has from it (a leader: its last ready); 0 when it has none. How old the node's view of
     * the leader is: a delayed message is old however recently it arrived. */
    uint64_t leader_sent_ms;
    uint64_t voters[RAFT_MAX_VOTERS]; /* the configuration as applied here */
    size_t n_voters;
    uint64_t snapshot_index;      /* the log starts after it (compacted, or installed) */
    uint64_t snapshots_sent;      /* transfers completed to followers */
    uint64_t snapshots_installed; /* received and installed here */
};

/*
 * Opens the log store (bootstrapping it with the configured voters on first start), starts the
 * core from it and opt->applied, binds the peer listener and starts the node's thread. Returns
 * 0; CR_EINVAL (this node not among the peers, an applied index the log does not have: a data
 * directory written without --peers), raftlog_open's errors, transport_new's errors, CR_EIO (no
 * thread), CR_ENOMEM. The sink is used from the node's thread until node_stop returns.
 */
int node_start(const struct node_options *opt, const struct node_sink *sink, struct node **out);

/* Stops the thread; every proposal still queued or waiting for its entry goes to sink.failed
 * with CR_ESHUTDOWN. Frees everything. */
void node_stop(struct node *n);

/* Queues p. On the leader it goes to the core; on a follower it is forwarded to the leader
 * (RAFTWIRE_FORWARD), whose answer names the (index, term) the follower then waits for like a
 * proposal of its own: p comes back through the sink when that entry is applied here, so its
 * results are this node's apply of it. While no leader is known (an election) p is held, for
 * at most 3 s, then fails with CR_ENOTLEADER (nothing applied). A forward that cannot be sent
 * fails with CR_ENOTLEADER (nothing applied); one not answered within NODE_FORWARD_TICKS with
 * CR_ETIMEOUT (its outcome is unknown). Returns 0 (p comes back through the sink) or
 * CR_ESHUTDOWN. Thread-safe. */
int node_propose(struct node *n, struct log_proposal *p);

/*
 * A linearizable read index (ReadIndex: the leader's commit index confirmed by a heartbeat
 * quorum; a follower's core asks the leader for it): once the state machine has applied *index,
 * a read sees every write acknowledged before this call. Blocks the caller for that round trip.
 * While no leader is known the read waits; one asked of a leader that loses its place is asked
 * again of the next. Returns 0; CR_ENOTLEADER (the core refused to ask, a moment between two
 * leaders); CR_ETIMEOUT (no answer within timeout_ms: messages lost, or a new leader that has not
 * yet committed an entry of its term); CR_ESHUTDOWN; CR_ENOMEM. Thread-safe.
 */
int node_read_index(struct node *n, unsigned timeout_ms, uint64_t *index);

/* As of the last ready. Thread-safe. */
void node_get_status(struct node *n, struct node_status *out);

/* The peer entry of node id (from --peers, or from the membership change that added it) into
 * *out; false when unknown. Thread-safe. */
bool node_peer(struct node *n, uint64_t id, struct node_peer *out);

/*
 * Adds peer (a voter at peer->host:peer->port, its Raft peer address) or removes voter peer->id
 * (host and port unused), one change at a time: on the leader, a CONF entry carrying the
 * address, so that every node learns it where the entry is applied (and again from its log at
 * restart); answered once the change is applied on this node. Blocks the caller. Returns 0
 * (*index: the change's entry); CR_ENOTLEADER (this node does not lead); CR_EINVAL (adding a
 * voter, removing a non-voter or the last one, a bad address); CR_ETIMEOUT (not applied within
 * timeout_ms: a previous change still pending, or no quorum); CR_ESHUTDOWN. A new node starts
 * with --join (options.join) and the addresses of the others, and waits to be added.
 */
int node_change_member(struct node *n, enum raft_conf_op op, const struct node_peer *peer,
                       unsigned timeout_ms, uint64_t *index);

struct transport_fault;

/* Replaces the peer transport's injected faults (transport_set_faults: testing; docs/raft.md,
 * "Faults in the transport"). 0; CR_EINVAL (a bad entry: nothing changed). Thread-safe. */
int node_set_faults(struct node *n, const struct transport_fault *f, size_t count);
/* The active faults into out (room for RAFT_MAX_VOTERS), their number into *count. Thread-safe. */
void node_get_faults(struct node *n, struct transport_fault *out, size_t *count);

#endif
