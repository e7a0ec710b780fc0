/*
 * The native protocol on one connection: frames of `u32 big-endian length | Request` in,
 * `u32 big-endian length | Response` out (proto/cirrus.proto, docs/protocol.md). Requests are
 * unpacked with protobuf-c into a per-request arena, translated onto ops.h and answered: reads
 * at once, writes when the log has applied them, so responses may leave in a different order
 * than their requests came (the id matches them up).
 *
 * native.c knows nothing of sockets or event loops: net.c owns the connection and its state
 * machine, hands native_read() the input buffer, and gives native an output buffer that it
 * keeps alive until native_inflight() is 0. Bad input never crashes and never half-applies:
 * see native_read().
 */
#ifndef CR_SERVER_NATIVE_H
#define CR_SERVER_NATIVE_H

#include "server/ops.h"

#include <event2/buffer.h>
#include <stdbool.h>
#include <stddef.h>

#define CR_NATIVE_REQ_ARENA_BLOCK 8192 /* first arena block of each request */
#define CR_NATIVE_REQ_CACHE 32         /* finished requests kept per connection for reuse */

struct native_req;

struct native_conn {
    struct ops_conn oc;
    struct evbuffer *out; /* responses are appended here; owned by net.c */
    size_t max_frame;     /* larger frames: CR_EFRAMETOOBIG, then close */
    size_t max_inflight;  /* native_read stops taking frames at this many writes in flight */
    size_t out_high;      /* ... or when this much output is waiting */
    size_t inflight;      /* writes proposed, not yet answered */
    void (*completed)(void *arg); /* after a write's response was appended (loop thread) */
    void *arg;
    struct native_req *cache; /* free requests */
    size_t n_cache;
    bool parked; /* a STRONG read at the head of the input waits for a round (CR_EPARKED) */
};

enum native_status {
    NATIVE_MORE,    /* all complete frames taken; wants more input */
    NATIVE_BLOCKED, /* stopped at max_inflight or out_high, or parked (native_parked); call
                       again when below, or once native_parked_ready */
    NATIVE_CLOSE,   /* fatal input (frame too big): the error response is queued; stop reading,
                       flush, close */
};

/* completer: the event loop's, where write completions will run. */
void native_conn_init(struct native_conn *nc, struct ops *o, struct log_completer *completer,
                      struct evbuffer *out, size_t max_frame, size_t max_inflight, size_t out_high,
                      void (*completed)(void *), void *arg);
/* Call when native_inflight() is 0; frees the request cache and the read transaction. */
void native_conn_close(struct native_conn *nc);

/*
 * Takes every complete frame from `in` (until a limit) and handles it:
 *   length > max_frame          Response{id 0, CR_EFRAMETOOBIG}, NATIVE_CLOSE
 *   not a Request               Response{id 0, CR_EPROTO}; the connection goes on
 *   no op / an unknown op       Response{id, CR_EUNKNOWNOP}
 *   invalid contents            Response{id, the named error}, nothing proposed
 * A partial frame stays in `in` for the next call.
 */
enum native_status native_read(struct native_conn *nc, struct evbuffer *in);

static inline size_t native_inflight(const struct native_conn *nc)
{
    return nc->inflight;
}

/* Parked: the connection's next request is a STRONG read waiting for a ReadIndex round, which
 * the round thread runs without blocking this loop; it tells the loop when one ends
 * (ops_round_listen), and native_read may be called again once native_parked_ready. */
static inline bool native_parked(const struct native_conn *nc)
{
    return nc->parked;
}

static inline bool native_parked_ready(struct native_conn *nc)
{
    return ops_read_parked_ready(&nc->oc);
}

#endif
