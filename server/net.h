/*
 * The network layer of cirrusd: one libevent loop per network thread, the native protocol
 * listener, connection lifecycle and limits. It moves bytes and owns connections; what the
 * bytes mean is native.c's business, and nothing here reads or writes storage.
 *
 * struct net is an opaque handle: it owns threads and event bases, so it is created and
 * destroyed here rather than embedded by the caller.
 */
#ifndef CR_SERVER_NET_H
#define CR_SERVER_NET_H

#include "server/ops.h"

#include <stddef.h>
#include <stdint.h>

#define CR_LISTEN_BACKLOG 1024
#define CR_CONN_OUT_HIGH (4u << 20) /* pending output that pauses reading a connection */
#define CR_SHUTDOWN_GRACE_MS 5000   /* after this, connections still flushing are cut */

struct event_base;
struct net;

struct net_options {
    const char *host; /* numeric address or name; tests use 127.0.0.1 only */
    uint16_t port;    /* 0: ephemeral */
    unsigned threads;
    unsigned max_connections;
    size_t max_frame;
    unsigned max_inflight;
};

/*
 * Binds the listener (so bind errors are reported here, before any thread runs) and starts the
 * network threads. Returns 0, CR_EIO with the reason in e (address in use, bad host), or
 * CR_ENOMEM. On success stop with net_stop and free with net_free.
 */
int net_start(struct ops *o, const struct net_options *opt, struct net **out, struct errmsg *e);

/* The bound port (the real one when 0 was asked). */
uint16_t net_port(const struct net *n);

/*
 * A new event base for a loop whose connections switch reading off and on around every request
 * (http.c, the Raft transport), or NULL: epoll with the changelist, which folds the epoll_ctl
 * calls of one loop iteration into their net effect (+16% HTTP GetItem, measured). Safe because
 * no fd is dup()ed. net.c's own bufferevent loops showed no gain (A/B, cirrus-bench GETs) and
 * do without.
 */
struct event_base *net_base_new(void);

/*
 * Graceful stop: stops accepting, stops reading every connection, lets in-flight requests
 * finish (writes commit and are answered; the log must still run) and output flush (up to
 * CR_SHUTDOWN_GRACE_MS), closes the connections and joins the threads. Call once, from any
 * thread but a network one.
 */
void net_stop(struct net *n);

/* After net_stop (and after the log has stopped): frees everything. */
void net_free(struct net *n);

#endif
