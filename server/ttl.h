/*
 * The time-to-live sweeper: deletes the items whose TTL attribute (a table's
 * table_def.ttl_attr) holds a Number of epoch seconds at or before now, as DynamoDB's TTL does.
 * It proposes ordinary deletes through ops_write, each conditioned on the attribute still
 * holding the value seen, so a write that extends an item's expiry first wins; apply() never
 * reads a clock ("now" is this proposer's). Expired items stay readable until swept.
 *
 * It owns a loop thread with a timer. Each tick scans at most TTL_SCAN_BUDGET items, resuming
 * where the last tick stopped (one table at a time, in name order, then over again), and
 * proposes the expired ones in entries of at most TTL_BATCH deletes. A tick is skipped while
 * the last one's proposals are in flight, so the sweeper never queues more than one tick's
 * entries and never holds the loop for more than one bounded scan.
 *
 * Only the leader sweeps: a cluster of one always does; on a Raft node (--peers) every node may
 * run a sweeper, whose ticks pass while the node does not lead (the role as of the node's last
 * ready, so a deposed leader may propose one more tick's deletes: they are conditional, and a
 * forwarded or repeated one fails its condition harmlessly).
 */
#ifndef CR_SERVER_TTL_H
#define CR_SERVER_TTL_H

#include "server/errmsg.h"
#include "server/ops.h"

#include <stddef.h>
#include <stdint.h>

#define TTL_SCAN_BUDGET 1000 /* items scanned per tick */
#define TTL_BATCH 100        /* deletes per log entry */

struct ttl_sweeper;

/*
 * Starts the loop thread, ticking every interval_ms (> 0). Returns 0, CR_ENOMEM, or CR_EIO
 * (no thread), with the reason in e. On success stop with ttl_stop and free with ttl_free.
 */
int ttl_start(struct ops *o, unsigned interval_ms, struct ttl_sweeper **out, struct errmsg *e);

/* Stops ticking, waits for the sweeper's proposals in flight to complete (the log must still
 * run), and joins the thread. Call once, before log_close, from any thread but the sweeper's. */
void ttl_stop(struct ttl_sweeper *s);

/* After ttl_stop: frees everything. */
void ttl_free(struct ttl_sweeper *s);

/*
 * The selection rule, a pure function: the indexes (ascending, into out, which has room for n)
 * of the items among items[0..n) whose attribute `attr` is a number (INT, DOUBLE or DECIMAL)
 * <= now_s. Missing attributes and other types are ignored, as DynamoDB ignores them. Returns
 * how many were selected.
 */
size_t ttl_select(const struct value *items, size_t n, const char *attr, int64_t now_s,
                  size_t *out);

#endif
