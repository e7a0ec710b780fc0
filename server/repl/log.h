/*
 * The log: the one path by which mutations reach storage (DESIGN.md principle 1). Front ends
 * (through ops.c) propose LogEntry bytes; the log orders them, applies them and hands each
 * proposal back, with its index and per-mutation results, on the thread that proposed it.
 *
 * Without a cluster (log_options.cluster NULL) this is a cluster of one: ONE writer thread owns
 * storage's write path. Proposals wait in a bounded queue (mutex + condvar). The writer takes
 * everything queued, gives the entries consecutive indexes after the applied index, decodes them
 * (wire.c) and calls storage_apply once for the whole group: one write transaction and one fsync
 * however many proposals arrived together (group commit).
 *
 * Clustered (issue 6): a Raft node (node.h) orders the entries. log_propose hands a proposal to
 * the node, which proposes it when it leads, forwards it to the leader otherwise, and holds it
 * for a moment while no leader is known (node_propose). The
 * node hands committed entries back; the same writer thread applies everything queued with one
 * storage_apply, each entry at its Raft index, and completes the proposals whose entries they
 * are. A proposal completes only once its entry is committed and applied; one whose index went
 * to another leader's entry completes with CR_ENOTLEADER (nothing of it was applied).
 *
 * Completion: each proposal names a log_completer, normally one per event loop. The writer
 * appends finished proposals to the completer's list and calls its notify(); the owner thread
 * then calls log_completer_run(), which calls each proposal's done() on that thread.
 */
#ifndef CR_SERVER_LOG_H
#define CR_SERVER_LOG_H

#include "common/arena.h"
#include "storage/storage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct log_proposal;
struct log_completer;
struct node; /* server/repl/node.h, which this header leaves out: few need Raft's names */
struct node_batch;
struct node_options;
struct node_status;

typedef void (*log_done_fn)(struct log_proposal *p);
typedef void (*log_notify_fn)(struct log_completer *c);

/* One per event loop (or per waiting thread), allocated and owned by its thread. */
struct log_completer {
    pthread_mutex_t mu;
    struct log_proposal *head, *tail; /* finished, not yet run */
    log_notify_fn notify;             /* called on the writer thread, no lock held */
    void *data;                       /* for notify */
};

int log_completer_init(struct log_completer *c, log_notify_fn notify, void *data);
/* The completer must have no proposal in flight. */
void log_completer_close(struct log_completer *c);
/* Calls done() of every proposal handed back so far, in completion order, on the calling
 * thread (which must be the completer's owner). Returns how many ran. */
size_t log_completer_run(struct log_completer *c);

/*
 * A proposal, allocated by the proposer, which must keep it, its entry bytes and its arena
 * alive and untouched until done() runs. The writer thread allocates the results (and the old
 * items they return) from `arena` while the proposal is in flight: the proposer must not use
 * that arena meanwhile.
 */
struct log_proposal {
    /* set by the proposer */
    const uint8_t *entry; /* LogEntry protobuf bytes */
    size_t len;
    struct cr_arena *arena;
    struct log_completer *completer;
    log_done_fn done;
    void *data;
    /* set before done() runs */
    int code;                        /* 0: applied, results valid; else the entry's failure
                                        (CR_EIO, CR_EFULL, CR_ESHUTDOWN, CR_EPROTO; clustered:
                                        CR_ENOTLEADER, lost to a leader change, not applied;
                                        CR_ETIMEOUT, a forward unanswered: maybe applied) */
    uint64_t index;                  /* the entry's log index when code == 0 */
    struct mutation_result *results; /* n_results entries when code == 0 */
    size_t n_results;
    /* private */
    struct log_proposal *next;
};

struct log_options {
    size_t max_queue; /* proposals waiting or being applied; CR_EOVERLOAD beyond */
    /* NULL: a cluster of one. Else the Raft node's settings (its applied index is filled in). */
    const struct node_options *cluster;
};

#define LOG_MAX_APPLY_QUEUE 100000 /* committed entries waiting for the writer; the node waits */
#define LOG_LEADER_ADDR_MAX 272    /* NODE_HOST_MAX + ":65535" */
#define LOG_STRONG_WAIT_MS 1000    /* a STRONG read's ReadIndex round, then its apply, each */
#define LOG_CHANGE_WAIT_MS 5000    /* a membership change, proposed and applied */

/* Where the leader is, for a CR_ENOTLEADER answer. id 0: unknown. */
struct log_leader {
    uint64_t id;
    char addr[LOG_LEADER_ADDR_MAX]; /* its peer address, HOST:PORT; "" when unknown */
};

struct log_stats {
    uint64_t applied_index;
    uint64_t commits;  /* storage_apply calls that committed (group commits) */
    uint64_t entries;  /* log entries applied */
    uint64_t writes;   /* mutations that succeeded */
    uint64_t failures; /* groups storage_apply failed as a whole */
};

/* Allocated by the caller; fields are private. */
struct log {
    struct storage *storage;
    size_t max_queue;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct log_proposal *head, *tail; /* queued, not yet taken by the writer */
    size_t pending;                   /* queued + being applied */
    bool stopping;
    pthread_t writer;
    uint64_t next_index; /* writer thread only */
    _Atomic uint64_t applied_index;
    /* clustered only */
    struct node *node;
    struct node_batch *ahead, *atail; /* committed, not yet taken by the writer */
    size_t queued_entries;
    pthread_cond_t space;   /* the node waits here when LOG_MAX_APPLY_QUEUE are queued */
    pthread_cond_t applied; /* broadcast after each apply */
    bool install_done;      /* a snapshot install (node_sink.install) finished, with install_rc */
    int install_rc;
    _Atomic uint64_t commits, entries, writes, failures;
};

/*
 * Reads the applied index from storage and starts the writer thread, and with opt->cluster the
 * Raft node (node_start, which re-hands the committed entries after the applied index). Returns
 * 0, CR_EIO (no thread), storage_read_begin's errors, or node_start's. On success close with
 * log_close.
 */
int log_init(struct log *l, struct storage *s, const struct log_options *opt);

/*
 * Queues p. Returns 0 (p->done will run on p->completer's thread), CR_EOVERLOAD (the queue is
 * full), CR_ESHUTDOWN (log_close has begun). On an
 * error done() is never called. Thread-safe.
 */
int log_propose(struct log *l, struct log_proposal *p);

/* The highest index applied to storage. Lock-free, any thread. */
uint64_t log_applied_index(struct log *l);

void log_get_stats(struct log *l, struct log_stats *out);

/* False for a cluster of one; else fills *out (node.h). Thread-safe. */
bool log_cluster_status(struct log *l, struct node_status *out);

/* The leader as this node knows it. Thread-safe. */
void log_leader(struct log *l, struct log_leader *out);

/*
 * Before a STRONG read (clustered; a cluster of one returns 0 at once): a ReadIndex round
 * (node_read_index), then a wait until the writer has applied that index; 0 when the read may
 * be served from a snapshot taken now (on a follower too: the read index comes from the leader).
 * CR_ETIMEOUT (no leader answered, or the apply took, more than LOG_STRONG_WAIT_MS; during an
 * election the round waits for the winner), CR_ENOTLEADER (the core refused the round: out
 * tells the leader), CR_ESHUTDOWN, CR_ENOMEM.
 * Thread-safe; blocks the caller for a heartbeat round trip and the apply.
 */
int log_strong_read(struct log *l, struct log_leader *out);

/* Clustered: adds voter id at its Raft peer address host:port (add) or removes voter id, on the
 * leader, waiting until the change is applied here (node_change_member, at most
 * LOG_CHANGE_WAIT_MS). CR_EINVAL also for a cluster of one. Blocks the caller. */
int log_change_member(struct log *l, bool add, uint64_t id, const char *host, uint16_t port,
                      uint64_t *index);

/* Waits until the writer has applied index (at once when it has). 0, or CR_ETIMEOUT after
 * timeout_ms. Thread-safe; blocks the caller. */
int log_wait_applied(struct log *l, uint64_t index, unsigned timeout_ms);

/* Refuses new proposals (CR_ESHUTDOWN), lets the writer apply and complete everything already
 * queued, joins it. The completers of those proposals must still be served afterwards. */
void log_close(struct log *l);

struct transport_fault; /* server/repl/transport.h */

/* Clustered: replaces this node's injected network faults (node_set_faults; testing). 0;
 * CR_EINVAL: a cluster of one, or a bad entry (nothing changed). Thread-safe. */
int log_set_faults(struct log *l, const struct transport_fault *f, size_t n);
/* Clustered: the active faults into out (room for 16, TRANSPORT_MAX_PEERS), their number into
 * *n. 0, or CR_EINVAL for a cluster of one. Thread-safe. */
int log_get_faults(struct log *l, struct transport_fault *out, size_t *n);

#endif
