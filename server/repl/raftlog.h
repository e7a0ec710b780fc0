/*
 * The Raft log store: the driver's stable storage for the Raft core (raft.h), in its own LMDB
 * environment in DIR/raft/ (storage/kvenv.h), apart from the state machine's, so that log
 * appends and state applies are synced independently (DESIGN.md, "Storage").
 *
 * Writes: raftlog_save() applies step 1 of the ready/advance contract (docs/raft.md) — the
 * snapshot meta (discarding the whole log), the entries (entry i replaces stored entry i and
 * everything after it), the hard state — in ONE write transaction with one fsync: after a crash
 * the store holds either all of a ready or none of it. raftlog_compact() and raftlog_truncate()
 * are one transaction each too.
 * Reads: raftlog_storage() is the struct raft_storage the core reads through, served from one
 * read transaction renewed after each write. The snapshot meta, the hard state and the last
 * index and its term are kept in memory.
 *
 * On disk (environment DIR/raft/, two named databases):
 *
 *   db    key                value
 *   log   u64be index        u64be term | u8 type (enum raft_entry_type) | data
 *   meta  "format"           u32be RAFTLOG_FORMAT
 *         "hard"             u64be term | u64be vote | u64be commit      (absent: all zero)
 *         "snap"             u64be index | u64be term | u32be n | n x u64be voter
 *                                                                        (absent: index 0)
 *
 * The log holds exactly the entries (snap.index, last]; big-endian keys make LMDB's order the
 * index order.
 *
 * Threads: one thread (the driver's) uses a raftlog. Read errors inside the raft_storage
 * callbacks cannot be returned to the core: they are logged and abort the process, which for
 * Raft is a crash and always safe (the store is atomic). Errors of the other calls are returned.
 */
#ifndef CR_SERVER_RAFTLOG_H
#define CR_SERVER_RAFTLOG_H

#include "server/repl/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFTLOG_FORMAT 1u
#define RAFTLOG_SUBDIR "raft"

struct kvenv;
struct kvenv_txn;

struct raftlog_options {
    size_t map_size; /* 0: the storage default (address space, not disk) */
    bool no_sync;    /* --sync=none: commits are not fsync'ed (benchmarks only) */
};

/* Allocated by the caller; fields are private. */
struct raftlog {
    struct kvenv *env;
    struct kvenv_txn *rd; /* the read txn of the storage callbacks, NULL until first used */
    bool rd_stale;        /* reset after a write: renew before reading */
    struct raft_storage st;
    struct raft_snapshot_meta snap;
    struct raft_hard_state hs;
    uint64_t last, last_term; /* last == snap.index (and last_term == snap.term) when empty */
    uint8_t *buf;             /* encoding scratch of raftlog_save */
    size_t buf_cap;
};

/*
 * Opens (creating if needed) the store in dir/raft/ and loads the snapshot meta, the hard state
 * and the last index. Returns 0, CR_ELOCKED (another process has it open), CR_ECORRUPT (an
 * unknown format, a malformed record, entries not contiguous after the snapshot), or the
 * storage errors (CR_EIO, CR_ENOMEM, CR_EFULL). On success close with raftlog_close.
 */
int raftlog_open(struct raftlog *l, const char *dir, const struct raftlog_options *opt);
void raftlog_close(struct raftlog *l);

/* What the core reads through (raft_config.storage); valid until raftlog_close. */
const struct raft_storage *raftlog_storage(struct raftlog *l);
/* The durable hard state (raft_config.hard_state). */
void raftlog_hard_state(const struct raftlog *l, struct raft_hard_state *out);
uint64_t raftlog_last_index(const struct raftlog *l);

/*
 * Step 1 of the contract for rd: rd->snapshot (if any: its meta replaces the stored one and
 * every entry is removed), then rd->entries (consecutive; the first at most last + 1 and above
 * the snapshot: stored entries from its index on are removed first), then rd->hard_state if
 * has_hard_state — one transaction, one fsync (none at all when rd changes nothing). The rest of
 * rd (messages, committed entries, reads) is not the store's. Returns 0; CR_EINVAL when the
 * entries do not fit the log (a gap, not consecutive, at or below the snapshot), nothing
 * written; CR_EFULL, CR_EIO, CR_ENOMEM, nothing written. Bootstrap is a save of
 * raft_bootstrap()'s entries and hard state.
 */
int raftlog_save(struct raftlog *l, const struct raft_ready *rd);

/*
 * Drops the entries up to meta->index, which becomes the snapshot meta (compaction once the
 * state machine's snapshot at that index is durable: raft_compact_meta()). meta->index must be
 * within [snap.index, last] and meta->term the term of that entry: CR_EINVAL otherwise. A meta
 * at the current snapshot index changes nothing. Errors as raftlog_save.
 */
int raftlog_compact(struct raftlog *l, const struct raft_snapshot_meta *meta);

/* Removes the entries from index `from` on. from must be above the snapshot index and the
 * durable commit index (committed entries are forever): CR_EINVAL otherwise; from past the last
 * index changes nothing. Errors as raftlog_save. */
int raftlog_truncate(struct raftlog *l, uint64_t from);

/* The node's peer table as text ("ID=HOST:PORT,..."), kept beside the log so that a compaction
 * that drops the membership changes does not lose the addresses they carried. set: one
 * transaction; get: "" when none was stored, CR_ECORRUPT when it does not fit cap. */
int raftlog_set_peers(struct raftlog *l, const char *text);
int raftlog_peers(struct raftlog *l, char *buf, size_t cap);

#endif
