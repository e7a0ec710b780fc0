/*
 * The peer transport: Raft messages between nodes over TCP, on one libevent event base
 * (DESIGN.md, "The replicated log and consistency"). It moves frames (raftwire.h) and knows
 * nothing of what the messages mean; the Raft core decides, and tolerates loss.
 *
 * Connections. Each node dials every peer it knows and uses that connection only to send; it
 * receives on the connections its listener accepts. The dialer sends a hello (cluster id, node
 * id, protocol version); the listener checks the cluster id, learns the peer's node id and
 * answers with its own hello, which the dialer checks in turn (same cluster, the node id it
 * expected). A wrong hello closes the connection and is counted. A failed or lost outbound
 * connection is retried after a backoff that doubles from backoff_min_ms to backoff_max_ms and
 * returns to the minimum after a handshake succeeds. A new inbound connection from a node
 * replaces an older one from the same node (it restarted).
 *
 * Frames are checked (length limit, xxh3 checksum, every field): a bad frame closes its
 * connection and is counted and logged. A message must come from the node that said hello and
 * be addressed to this node.
 *
 * Backpressure: each peer has a bounded queue of encoded frames (max_queue_bytes and
 * max_queue_msgs) in front of its socket; the socket's own output buffer is kept under
 * TRANSPORT_OUT_CHUNK. A message that does not fit is dropped and counted (dropped_full), and so
 * is a message for a peer with no connection under way (dropped_down, also counting what was
 * queued when a connection is lost): stale messages are worth less than fresh ones, and Raft
 * resends what matters. Memory per peer stays under max_queue_bytes + TRANSPORT_OUT_CHUNK + one
 * frame; per inbound connection, one frame.
 *
 * Faults (testing; docs/raft.md, "Faults in the transport"): transport_set_faults makes the
 * transport lose, hold or partition the frames it carries for its owner, every kind (messages,
 * snapshot chunks, forwards), at the frame level: frames to a peer are dropped (drop_out), lost at
 * a rate (loss_pct) or held delay_ms + uniform[0, jitter_ms] ms, in order (FIFO per peer: a frame
 * is never released before the one queued ahead of it); frames from a peer are dropped on arrival
 * (drop_in). Hellos are not affected, so connections stay up and a heal takes effect at the next
 * frame. A frame lost to a fault is lost silently, as on a real network: the send returns 0 and
 * the drop is counted. Held frames count against the peer's queue bounds, and are dropped with
 * the queue when the connection is lost.
 *
 * Threads: a transport and its callbacks belong to the thread running its event base; no call
 * is thread-safe but transport_set_faults and transport_get_faults. Callbacks must not call
 * transport_free.
 */
#ifndef CR_SERVER_TRANSPORT_H
#define CR_SERVER_TRANSPORT_H

#include "server/repl/raft.h"
#include "server/repl/raftwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_MAX_PEERS RAFT_MAX_VOTERS
#define TRANSPORT_MAX_INBOUND (4 * TRANSPORT_MAX_PEERS) /* accepted connections at once */
#define TRANSPORT_OUT_CHUNK (256u << 10) /* socket output kept under this; the rest queues */
#define TRANSPORT_DEFAULT_QUEUE_BYTES (8u << 20)
#define TRANSPORT_DEFAULT_QUEUE_MSGS 4096
#define TRANSPORT_DEFAULT_BACKOFF_MIN_MS 50
#define TRANSPORT_DEFAULT_BACKOFF_MAX_MS 2000
#define TRANSPORT_DEFAULT_HANDSHAKE_MS 5000 /* connect + hellos, else the attempt failed */
#define TRANSPORT_MAX_FAULT_MS 60000        /* delay_ms and jitter_ms, each */

struct event_base;
struct transport;

struct transport_callbacks {
    /* A message from a peer, addressed to this node; m and its entries are borrowed for the
     * call (the driver steps it into the core, which copies what it keeps, or queues a copy).
     * sent_ms: the sender's wall clock (CLOCK_REALTIME ms) when it queued the message. */
    void (*recv)(void *data, const struct raft_msg *m, uint64_t sent_ms);
    /* A snapshot chunk from node `from` (borrowed for the call); NULL: chunks are ignored. */
    void (*chunk)(void *data, uint64_t from, const struct raftwire_chunk *c);
    /* A RAFTWIRE_FORWARD or RAFTWIRE_FORWARD_RESULT frame from its sender, addressed to this
     * node (borrowed for the call); NULL: such frames are ignored. */
    void (*forward)(void *data, const struct raftwire_frame *f);
    void *data;
};

struct transport_options {
    uint64_t cluster_id;
    uint64_t node_id;        /* nonzero */
    const char *listen_host; /* numeric address; tests use 127.0.0.1 */
    uint16_t listen_port;    /* 0: ephemeral (transport_port tells) */
    size_t max_queue_bytes;  /* per peer; 0: TRANSPORT_DEFAULT_QUEUE_BYTES */
    size_t max_queue_msgs;   /* per peer; 0: TRANSPORT_DEFAULT_QUEUE_MSGS */
    unsigned backoff_min_ms; /* 0: TRANSPORT_DEFAULT_BACKOFF_MIN_MS */
    unsigned backoff_max_ms; /* 0: TRANSPORT_DEFAULT_BACKOFF_MAX_MS */
    unsigned handshake_ms;   /* 0: TRANSPORT_DEFAULT_HANDSHAKE_MS */
    size_t max_frame;        /* payload bytes accepted; 0: RAFTWIRE_MAX_FRAME */
};

struct transport_stats {
    uint64_t sent;             /* frames queued for a peer */
    uint64_t received;         /* messages and chunks delivered to the callbacks */
    uint64_t dropped_full;     /* a peer's queue was full */
    uint64_t dropped_down;     /* no connection under way, or queued when it was lost */
    uint64_t bad_frames;       /* too long, wrong checksum, undecodable, misaddressed */
    uint64_t refused_hellos;   /* wrong cluster, version or node id; frame before hello */
    uint64_t connects;         /* outbound handshakes completed */
    uint64_t connect_failures; /* outbound attempts or connections that failed */
    uint64_t accepted;         /* inbound handshakes completed */
    /* faults (transport_set_faults); frames lost to them are not counted as sent */
    uint64_t fault_dropped_out; /* to a peer with drop_out */
    uint64_t fault_dropped_in;  /* from a peer with drop_in, not delivered */
    uint64_t fault_lost;        /* lost to loss_pct */
    uint64_t fault_delayed;     /* held for delay_ms + jitter (or behind a held frame) */
};

struct transport_peer_info {
    bool connected; /* handshake done */
    size_t queued_bytes, queued_msgs;
    size_t held_bytes, held_msgs; /* frames held by a delay fault, not in queued_* */
    unsigned backoff_ms;          /* the next retry's delay */
};

/* One peer's faults; all zero: none. */
struct transport_fault {
    uint64_t peer;                /* the peer this applies to */
    bool drop_out, drop_in;       /* partition: frames to / from peer dropped */
    unsigned delay_ms, jitter_ms; /* frames to peer held delay + uniform[0, jitter] ms, in order */
    unsigned loss_pct;            /* frames to peer lost at this rate, 0..100 */
};

/*
 * Binds the listener and returns the transport (no peers yet). CR_EINVAL: node id 0, a bad
 * listen address; CR_EIO: bind failed (address in use); CR_ENOMEM. Free with transport_free.
 */
int transport_new(struct event_base *base, const struct transport_options *opt,
                  const struct transport_callbacks *cb, struct transport **out);
/* Closes every connection and frees everything; no callback runs. */
void transport_free(struct transport *t);

/* The bound listening port. */
uint16_t transport_port(const struct transport *t);

/*
 * Adds peer `id` at host:port (host numeric or a name resolved now, blocking) and starts
 * dialing it. CR_EINVAL: id 0, this node's id, or a bad address; CR_EEXISTS: already a peer;
 * CR_ETOOMANY: TRANSPORT_MAX_PEERS peers.
 */
int transport_add_peer(struct transport *t, uint64_t id, const char *host, uint16_t port);
/* Forgets a peer, dropping its queue. CR_ENOTFOUND. */
int transport_remove_peer(struct transport *t, uint64_t id);

/*
 * Encodes m and queues it for peer m->to. Returns 0 (queued; it may still be lost),
 * CR_EOVERLOAD (dropped: the queue is full), CR_ECLOSED (dropped: no connection under way,
 * waiting out a backoff), CR_ENOTFOUND (m->to is not a peer), CR_EINVAL (m does not validate,
 * or is not from this node), CR_EFRAMETOOBIG, CR_ENOMEM.
 */
int transport_send(struct transport *t, const struct raft_msg *m);
/* The same for a snapshot chunk to peer `to`. */
int transport_send_chunk(struct transport *t, uint64_t to, const struct raftwire_chunk *c);

/* The same for a RAFTWIRE_FORWARD or RAFTWIRE_FORWARD_RESULT frame to peer f->fwd.to; CR_EINVAL
 * also for another kind or a sender that is not this node. A RAFTWIRE_FORWARD is refused
 * (CR_ECLOSED) unless the connection to the peer has completed its handshake: queued for a
 * connection still being made, it could be lost without a trace. */
int transport_send_forward(struct transport *t, const struct raftwire_frame *f);
void transport_get_stats(const struct transport *t, struct transport_stats *out);
/* CR_ENOTFOUND when id is not a peer. */
int transport_peer_info(const struct transport *t, uint64_t id, struct transport_peer_info *out);

/*
 * Replaces the whole fault set with f[0..n) (n 0: heal everything); entries with no fault set
 * are not kept. A peer need not be known yet (a node added later). Frames already held keep
 * their release time. Returns 0; CR_EINVAL (nothing changed): n above TRANSPORT_MAX_PEERS, a
 * peer 0, this node or listed twice, loss_pct above 100, delay_ms or jitter_ms above
 * TRANSPORT_MAX_FAULT_MS. Thread-safe: may be called from any thread while the transport runs.
 */
int transport_set_faults(struct transport *t, const struct transport_fault *f, size_t n);
/* Copies the active fault set to out (room for TRANSPORT_MAX_PEERS), its size to *n. Thread-safe.
 */
void transport_get_faults(struct transport *t, struct transport_fault *out, size_t *n);

#endif
