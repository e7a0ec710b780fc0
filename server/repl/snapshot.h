/*
 * Snapshot transfer between nodes (docs/raft.md, "Snapshots"): the node's driver side of the
 * core's SNAPSHOT message. No Raft logic here, and nothing about what the state machine holds.
 *
 * Sending. When the core asks for a snapshot to be sent to a follower, snap_out_start writes a
 * copy of the state machine to a file in the log store's directory on a thread of its own (an
 * LMDB copy of one read transaction: consistent, and the node's loop never waits for it). Then
 * snap_out_pump streams the file in RaftSnapshotChunk frames of RAFTWIRE_MAX_CHUNK bytes,
 * checksummed, while the peer's transport queue has room (memory stays bounded whatever the
 * size of the data); after the last chunk it sends the SNAPSHOT message itself. The first chunk
 * carries a context (the sender's peer table). The copy may be newer than the message's index:
 * the receiver's state machine skips the entries it already holds.
 *
 * Receiving. snap_in_chunk writes chunks in order to a file (a chunk out of order, or of another
 * snapshot, restarts or drops the transfer) and syncs it when complete; snap_in_ready says
 * whether the SNAPSHOT message that follows has its data in, so that the core may be stepped.
 *
 * Both belong to the node's thread.
 */
#ifndef CR_SERVER_SNAPSHOT_H
#define CR_SERVER_SNAPSHOT_H

#include "server/repl/raftwire.h"
#include "server/repl/transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_QUEUE_ROOM (2u << 20) /* chunks are queued while the peer's queue holds less */
#define SNAP_PATH_MAX 4096

/* Writes the state machine's snapshot to path (on the sender's copy thread). */
typedef int (*snap_write_fn)(void *data, const char *path);

struct snap_out;

/*
 * Starts sending: m (a SNAPSHOT message, copied) goes to m->to after the data, which write(data,
 * path) puts in a file under dir. ctx (copied, at most RAFTWIRE_MAX_CHUNK_CTX bytes) rides on the
 * first chunk. CR_ENOMEM, CR_EIO (no thread), CR_ETOOLONG.
 */
int snap_out_start(const char *dir, const struct raft_msg *m, snap_write_fn write, void *data,
                   const char *ctx, struct snap_out **out);

enum snap_state { SNAP_MORE, SNAP_SENT, SNAP_FAILED };

/* Queues what the transport has room for. SNAP_MORE: call again later (the copy is still being
 * written, or the queue is full); SNAP_SENT: every chunk and the message are queued;
 * SNAP_FAILED: the copy failed, or the peer's connection is down (the transfer is over). */
enum snap_state snap_out_pump(struct snap_out *o, struct transport *t, uint64_t self);

uint64_t snap_out_peer(const struct snap_out *o);

/* Joins the copy thread and removes the file. */
void snap_out_free(struct snap_out *o);

/* The receiving side, one transfer at a time; zero-initialized, then snap_in_init. */
struct snap_in {
    char path[SNAP_PATH_MAX];
    int fd;
    uint64_t from, index, term, total, next;
    bool complete;
    char ctx[RAFTWIRE_MAX_CHUNK_CTX + 1]; /* the first chunk's context, NUL-terminated */
};

/* CR_ETOOLONG when dir is too long. */
int snap_in_init(struct snap_in *in, const char *dir);

/* A chunk from node `from`. Returns true when it completed a transfer (the file is synced). */
bool snap_in_chunk(struct snap_in *in, uint64_t from, const struct raftwire_chunk *c);

/* Whether m (a SNAPSHOT message) has its data in: a completed transfer from m->from of that
 * snapshot's index and term. */
bool snap_in_ready(const struct snap_in *in, const struct raft_msg *m);

/* Closes and removes the file (after it was installed, or to forget a transfer). */
void snap_in_reset(struct snap_in *in);

#endif
