/*
 * The HTTP listener of cirrusd: one address serving every HTTP dialect (DynamoDB now;
 * Firestore and Cosmos later), routed by request shape. It owns a loop thread, an evhttp
 * server and the dialects' per-request plumbing; what a request means is the dialect's
 * business (dynamodb.c), and nothing here reads or writes storage except through ops.h.
 *
 * struct http_server is an opaque handle: it owns `threads` loop threads, each with an event
 * base, an evhttp with its own listening socket (one SO_REUSEPORT group, one port), a snapshot
 * slot and a log completer.
 */
#ifndef CR_SERVER_HTTP_H
#define CR_SERVER_HTTP_H

#include "server/errmsg.h"
#include "server/ops.h"

#include <stddef.h>
#include <stdint.h>

struct http_server;
struct sigv4_keys;

struct http_options {
    const char *host;              /* numeric address or name; tests use 127.0.0.1 only */
    uint16_t port;                 /* 0: ephemeral */
    size_t max_body;               /* larger request bodies get 413 and the connection is closed */
    unsigned threads;              /* event loops, each a reader slot of storage; 0 means 1 */
    const struct sigv4_keys *keys; /* --auth: borrowed until http_free; NULL accepts anyone */
};

/*
 * Binds the listener (bind errors are reported here, before the thread runs) and starts the
 * loop thread. Returns 0, CR_EIO with the reason in e, or CR_ENOMEM. On success stop with
 * http_stop and free with http_free.
 */
int http_start(struct ops *o, const struct http_options *opt, struct http_server **out,
               struct errmsg *e);

/* The bound port (the real one when 0 was asked). */
uint16_t http_port(const struct http_server *h);

/*
 * Graceful stop: stops accepting, lets requests already being served finish (their writes
 * commit and are answered, so the log must still run), then joins every loop thread. Requests
 * read after the stop get 503 and their connection is closed. Idle keep-alive connections are
 * closed by http_free. Call once, from any thread but the HTTP ones.
 */
void http_stop(struct http_server *h);

/* After http_stop (and after the log has stopped): frees everything. */
void http_free(struct http_server *h);

#endif
