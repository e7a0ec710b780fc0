/*
 * A bare LMDB environment for data that is not the state machine's: its own directory, its own
 * named databases, its own fsyncs. DESIGN.md ("Storage") keeps the Raft log in such an
 * environment so that log appends and state applies are synced independently; the Raft log
 * store (server/repl/raftlog.c) is its user. Implemented in lmdb_env.c, the only includer of
 * lmdb.h, so LMDB stays in one file.
 *
 * It knows nothing of what it stores: keys are compared as bytes (memcmp order, shorter first
 * on a common prefix), values are opaque. It must not grow the state machine's concepts (format
 * versions, applied index, catalog): the user writes its own.
 *
 * Transactions: a read txn (MVCC snapshot, never blocks, may be reset and renewed) or the one
 * write txn of the environment; a write txn is committed with one fsync unless no_sync. The
 * environment is opened with MDB_NOTLS: a read txn is not tied to a thread, and one thread may
 * hold a read txn and the write txn at once. Bytes returned by get and cursors are owned by
 * LMDB: valid until the next update in the same write txn, or until a read txn is reset or
 * ended.
 *
 * Errors (every function): CR_EIO, CR_ENOMEM, CR_EFULL (the map or the disk is full),
 * CR_ECORRUPT, CR_EOVERLOAD (reader slots exhausted), CR_ENOTFOUND where said.
 */
#ifndef CR_STORAGE_KVENV_H
#define CR_STORAGE_KVENV_H

#include "storage/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVENV_MAX_DBS 8

struct kvenv;
struct kvenv_txn;
struct kvenv_cursor;

struct kvenv_val {
    const uint8_t *p;
    size_t n;
};

/*
 * Opens or creates the environment in dir (created if missing) with the named databases
 * dbs[0..n_dbs) (created if missing; later calls name them by position), and locks dir for this
 * process: CR_ELOCKED when it is held. opt as storage_open's (NULL: defaults). CR_EINVAL: n_dbs
 * is 0 or above KVENV_MAX_DBS. On success close with kvenv_close.
 */
int kvenv_open(const char *dir, const char *const *dbs, size_t n_dbs,
               const struct storage_options *opt, struct kvenv **out);
/* Every txn must have ended. */
void kvenv_close(struct kvenv *e);

/* A read txn (write false) or the write txn. On success end it with commit or abort. */
int kvenv_begin(struct kvenv *e, bool write, struct kvenv_txn **out);
/* Read txns: release the snapshot but keep the txn for a cheap renew (which sees the latest
 * commit). */
void kvenv_reset(struct kvenv_txn *t);
int kvenv_renew(struct kvenv_txn *t);
/* Commits and frees t, whatever the outcome (a read txn just ends). */
int kvenv_commit(struct kvenv_txn *t);
/* Discards and frees t (ends a read txn, reset or not). */
void kvenv_abort(struct kvenv_txn *t);

/* CR_ENOTFOUND when the key is absent. */
int kvenv_get(struct kvenv_txn *t, unsigned db, const void *k, size_t kn, struct kvenv_val *v);
/* Inserts or overwrites (write txn). Keys are 1 to 511 bytes: CR_EINVAL otherwise. */
int kvenv_put(struct kvenv_txn *t, unsigned db, const void *k, size_t kn, const void *v, size_t vn);
/* Deletes every key in [lo, hi) (write txn); lo NULL: from the first key, hi NULL: to the last.
 * *n (may be NULL) gets how many. */
int kvenv_del_range(struct kvenv_txn *t, unsigned db, const void *lo, size_t lon, const void *hi,
                    size_t hin, uint64_t *n);

/* The number of keys in the database, as this txn sees it. */
int kvenv_count(struct kvenv_txn *t, unsigned db, uint64_t *n);

enum kvenv_op {
    KVENV_FIRST,
    KVENV_LAST,
    KVENV_NEXT,
    KVENV_PREV,
    KVENV_SEEK, /* the first key >= *k (k is input and output) */
};

int kvenv_cursor_open(struct kvenv_txn *t, unsigned db, struct kvenv_cursor **out);
void kvenv_cursor_close(struct kvenv_cursor *c);
/* Moves the cursor and returns the entry under it. CR_ENOTFOUND past either end. */
int kvenv_cursor_get(struct kvenv_cursor *c, enum kvenv_op op, struct kvenv_val *k,
                     struct kvenv_val *v);

#endif
