/*
 * An in-memory stable log for the Raft core (server/repl/raft.h): what a driver would keep in
 * LMDB, kept in memory so that the unit tests and the simulator can "crash" a node by dropping
 * its core and restart it from exactly what was persisted. Not thread-safe; aborts on OOM.
 */
#ifndef CR_TESTS_MEMLOG_H
#define CR_TESTS_MEMLOG_H

#include "server/repl/raft.h"

struct memlog {
    struct raft_snapshot_meta snap;
    struct raft_entry *ents; /* ents[k].index == snap.index + 1 + k; data owned */
    size_t n, cap;
    struct raft_hard_state hs;
    struct raft_storage st; /* reads this log */
};

/* An empty log: no snapshot, empty configuration (a node waiting to be added). */
void memlog_init(struct memlog *l);
/* The log every initial member starts from (raft_bootstrap). */
void memlog_bootstrap(struct memlog *l, const uint64_t *voters, size_t n);
void memlog_close(struct memlog *l);
/* Step 1 of the ready contract: snapshot, entries, hard state. */
void memlog_persist(struct memlog *l, const struct raft_ready *rd);
/* Drops entries up to meta->index (which must be in the log) and records the snapshot meta. */
void memlog_compact(struct memlog *l, const struct raft_snapshot_meta *meta);
uint64_t memlog_last(const struct memlog *l);
/* The entry at index, or NULL when compacted or beyond the end. */
const struct raft_entry *memlog_entry(const struct memlog *l, uint64_t index);

#endif
