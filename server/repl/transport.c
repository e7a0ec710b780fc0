/*
 * The peer transport (transport.h has the protocol, the backpressure and the bounds). Outbound
 * connections are a state machine per peer:
 *
 *   IDLE --timer--> CONNECTING --connected, hello sent--> HANDSHAKE --their hello ok--> READY
 *     ^                 |                                     |                           |
 *     +--- failure: close, drop the queue, wait backoff ------+---------------------------+
 *
 * Inbound connections: HELLO (waiting for the dialer's hello, under a timeout) -> READY
 * (messages delivered); any failure closes them. The only state shared between connections is
 * the transport's stats and scratch buffers.
 *
 * Faults: the set lives under fault_mu, the one lock here, since it is replaced from other
 * threads; n_faults lets the common case (no faults) skip the lock. A delayed frame waits,
 * encoded, in its peer's held list (FIFO, release times never decreasing) until the hold timer
 * moves it to the queue; while anything is held, every new frame to that peer is held behind
 * it, so a heal never reorders frames.
 */
#include "server/repl/transport.h"

#include "common/arena.h"
#include "common/assert.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum peer_state { PEER_IDLE, PEER_CONNECTING, PEER_HANDSHAKE, PEER_READY };

struct peer {
    struct transport *t;
    uint64_t id;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    enum peer_state state;
    struct bufferevent *bev;
    struct event *timer;
    unsigned backoff_ms;
    struct evbuffer *q; /* whole frames not yet handed to the socket */
    size_t q_msgs;
    struct held *held, *held_tail; /* frames delayed by a fault, oldest first */
    size_t held_msgs, held_bytes;
    struct event *hold_timer; /* armed for the oldest held frame's release */
};

/* One encoded frame held by a delay fault until release_ms (CLOCK_MONOTONIC). */
struct held {
    struct held *next;
    uint64_t release_ms;
    size_t len;
    uint8_t frame[];
};

struct inconn {
    struct transport *t;
    struct bufferevent *bev;
    uint64_t node; /* 0 until its hello */
    struct inconn *prev, *next;
};

struct transport {
    struct event_base *base;
    struct transport_options opt;
    struct transport_callbacks cb;
    struct evconnlistener *lis;
    uint16_t port;
    struct peer *peers[TRANSPORT_MAX_PEERS];
    size_t n_peers;
    struct inconn *in;
    size_t n_in;
    struct cr_arena arena; /* decoding scratch, reset per frame */
    struct cr_buf enc;     /* encoding scratch */
    struct transport_stats stats;
    pthread_mutex_t fault_mu; /* guards faults; any thread */
    struct transport_fault faults[TRANSPORT_MAX_PEERS];
    _Atomic size_t n_faults; /* written under fault_mu; 0: no fault, no lock taken */
    uint64_t rng;            /* loss and jitter draws; the loop's thread only */
};

/* ---- faults ---- */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* splitmix64: a uniform 64-bit draw */
static uint64_t draw(struct transport *t)
{
    uint64_t z = (t->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The faults for peer into *out; false when it has none. */
static bool fault_of(struct transport *t, uint64_t peer, struct transport_fault *out)
{
    bool found = false;
    size_t n;

    if (atomic_load_explicit(&t->n_faults, memory_order_relaxed) == 0)
        return false;
    pthread_mutex_lock(&t->fault_mu);
    n = atomic_load_explicit(&t->n_faults, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        if (t->faults[i].peer == peer) {
            *out = t->faults[i];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->fault_mu);
    return found;
}

/* ---- frames ---- */

enum { FRAME_MORE = 1 };

/*
 * Takes the next whole frame from in and decodes it into f (scratch from t->arena, valid until
 * the next call). Returns 0 (a frame), FRAME_MORE (not all there yet), or an error (a bad frame:
 * the connection must close).
 */
static int next_frame(struct transport *t, struct evbuffer *in, struct raftwire_frame *f)
{
    uint8_t hdr[RAFTWIRE_HDR];
    size_t len;
    uint64_t sum;
    const uint8_t *p;
    int rc;

    if (evbuffer_get_length(in) < RAFTWIRE_HDR)
        return FRAME_MORE;
    evbuffer_copyout(in, hdr, RAFTWIRE_HDR);
    rc = raftwire_header(hdr, t->opt.max_frame, &len, &sum);
    if (rc)
        return rc;
    if (evbuffer_get_length(in) < RAFTWIRE_HDR + len)
        return FRAME_MORE;
    p = evbuffer_pullup(in, (ev_ssize_t)(RAFTWIRE_HDR + len));
    if (!p)
        return CR_ENOMEM;
    cr_arena_reset(&t->arena);
    if (cr_hash64(p + RAFTWIRE_HDR, len) != sum)
        rc = CR_EPROTO;
    else
        rc = raftwire_decode_payload(p + RAFTWIRE_HDR, len, &t->arena, f);
    /* f borrows from the arena, not from `in`: the frame can go now */
    evbuffer_drain(in, RAFTWIRE_HDR + len);
    return rc;
}

static int write_hello(struct transport *t, struct bufferevent *bev)
{
    struct raftwire_frame f = {.kind = RAFTWIRE_HELLO};
    int rc;

    f.hello.cluster_id = t->opt.cluster_id;
    f.hello.node_id = t->opt.node_id;
    f.hello.version = RAFTWIRE_VERSION;
    cr_buf_reset(&t->enc);
    rc = raftwire_encode(&f, &t->enc);
    if (rc == 0 && bufferevent_write(bev, t->enc.data, t->enc.len) != 0)
        rc = CR_ENOMEM;
    return rc;
}

static void set_nodelay(struct bufferevent *bev)
{
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(bev);

    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void set_timeout(struct bufferevent *bev, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (ms)
        bufferevent_set_timeouts(bev, &tv, &tv);
    else
        bufferevent_set_timeouts(bev, NULL, NULL);
}

/* ---- outbound ---- */

static void peer_connect(struct peer *p);
static void hold_timer_cb(evutil_socket_t fd, short what, void *arg);

static void free_held(struct peer *p)
{
    while (p->held) {
        struct held *h = p->held;

        p->held = h->next;
        free(h);
    }
    p->held_tail = NULL;
    p->held_msgs = 0;
    p->held_bytes = 0;
    if (p->hold_timer)
        evtimer_del(p->hold_timer);
}

/* Drops the queue and the held frames: both were to go over the connection that was lost. */
static void peer_drop_queue(struct peer *p)
{
    p->t->stats.dropped_down += p->q_msgs + p->held_msgs;
    evbuffer_drain(p->q, evbuffer_get_length(p->q));
    p->q_msgs = 0;
    free_held(p);
}

/* Closes the connection, drops what was queued and retries after the backoff. */
static void peer_fail(struct peer *p, const char *why)
{
    struct timeval tv = {p->backoff_ms / 1000, (p->backoff_ms % 1000) * 1000};

    cr_log(CR_LOG_DEBUG, "transport: node %llu: connection to %llu failed (%s), retry in %u ms",
           (unsigned long long)p->t->opt.node_id, (unsigned long long)p->id, why, p->backoff_ms);
    if (p->bev)
        bufferevent_free(p->bev);
    p->bev = NULL;
    p->state = PEER_IDLE;
    p->t->stats.connect_failures++;
    peer_drop_queue(p);
    p->backoff_ms =
        p->backoff_ms * 2 < p->t->opt.backoff_max_ms ? p->backoff_ms * 2 : p->t->opt.backoff_max_ms;
    evtimer_add(p->timer, &tv);
}

/* Moves whole frames from the queue to the socket while its output is under the chunk. */
static void peer_fill(struct peer *p)
{
    struct evbuffer *out;

    if (p->state != PEER_READY)
        return;
    out = bufferevent_get_output(p->bev);
    while (p->q_msgs > 0 && evbuffer_get_length(out) < TRANSPORT_OUT_CHUNK) {
        uint8_t hdr[4];
        size_t n;

        evbuffer_copyout(p->q, hdr, 4);
        n = RAFTWIRE_HDR + cr_get_u32be(hdr);
        if (evbuffer_remove_buffer(p->q, out, n) != (int)n) {
            peer_fail(p, "out of memory");
            return;
        }
        p->q_msgs--;
    }
}

static void out_read_cb(struct bufferevent *bev, void *arg)
{
    struct peer *p = arg;
    struct transport *t = p->t;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct raftwire_frame f;
    int rc = next_frame(t, in, &f);

    if (rc == FRAME_MORE)
        return;
    /* the listener says nothing after its hello */
    if (rc || p->state != PEER_HANDSHAKE || evbuffer_get_length(in) > 0) {
        t->stats.bad_frames++;
        cr_log(CR_LOG_WARN, "transport: node %llu: bad frame from %llu: %s",
               (unsigned long long)t->opt.node_id, (unsigned long long)p->id,
               rc ? cr_strerror(rc) : "unexpected after the hello");
        peer_fail(p, "bad frame");
        return;
    }
    if (f.kind != RAFTWIRE_HELLO || f.hello.cluster_id != t->opt.cluster_id ||
        f.hello.node_id != p->id) {
        t->stats.refused_hellos++;
        cr_log(CR_LOG_WARN, "transport: node %llu: peer %llu answered with a wrong hello",
               (unsigned long long)t->opt.node_id, (unsigned long long)p->id);
        peer_fail(p, "wrong hello");
        return;
    }
    p->state = PEER_READY;
    p->backoff_ms = t->opt.backoff_min_ms;
    t->stats.connects++;
    set_timeout(bev, 0);
    peer_fill(p);
}

static void out_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    peer_fill(arg);
}

static void out_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct peer *p = arg;

    if (what & BEV_EVENT_CONNECTED) {
        set_nodelay(bev);
        if (write_hello(p->t, bev) != 0) {
            peer_fail(p, "out of memory");
            return;
        }
        p->state = PEER_HANDSHAKE;
        return;
    }
    peer_fail(p, what & BEV_EVENT_TIMEOUT ? "timeout" : what & BEV_EVENT_EOF ? "closed" : "error");
}

static void peer_connect(struct peer *p)
{
    struct transport *t = p->t;

    CR_ASSERT(p->state == PEER_IDLE && !p->bev);
    p->bev = bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!p->bev) {
        peer_fail(p, "out of memory");
        return;
    }
    bufferevent_setcb(p->bev, out_read_cb, out_write_cb, out_event_cb, p);
    bufferevent_setwatermark(p->bev, EV_WRITE, TRANSPORT_OUT_CHUNK / 2, 0);
    set_timeout(p->bev, t->opt.handshake_ms);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
    p->state = PEER_CONNECTING;
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&p->addr, (int)p->addrlen) != 0)
        peer_fail(p, "connect");
}

static void peer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    peer_connect(arg);
}

static void peer_free(struct peer *p)
{
    free_held(p);
    if (p->hold_timer)
        event_free(p->hold_timer);
    if (p->bev)
        bufferevent_free(p->bev);
    if (p->timer)
        event_free(p->timer);
    if (p->q)
        evbuffer_free(p->q);
    free(p);
}

static struct peer *peer_find(const struct transport *t, uint64_t id)
{
    for (size_t i = 0; i < t->n_peers; i++)
        if (t->peers[i]->id == id)
            return t->peers[i];
    return NULL;
}

/* ---- inbound ---- */

static void in_close(struct inconn *c)
{
    struct transport *t = c->t;

    if (c->prev)
        c->prev->next = c->next;
    else
        t->in = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->n_in--;
    bufferevent_free(c->bev);
    free(c);
}

/* The dialer's hello: same cluster, not this node; replaces an older connection of the node. */
static int in_hello(struct inconn *c, const struct raftwire_frame *f)
{
    struct transport *t = c->t;
    struct inconn *o, *next;

    if (f->kind != RAFTWIRE_HELLO || f->hello.cluster_id != t->opt.cluster_id ||
        f->hello.node_id == t->opt.node_id) {
        t->stats.refused_hellos++;
        cr_log(CR_LOG_WARN, "transport: node %llu: refused a hello (%s)",
               (unsigned long long)t->opt.node_id,
               f->kind != RAFTWIRE_HELLO                  ? "no hello first"
               : f->hello.cluster_id != t->opt.cluster_id ? "another cluster"
                                                          : "our own node id");
        return CR_EPROTO;
    }
    for (o = t->in; o; o = next) {
        next = o->next;
        if (o != c && o->node == f->hello.node_id)
            in_close(o);
    }
    c->node = f->hello.node_id;
    t->stats.accepted++;
    set_timeout(c->bev, 0);
    return write_hello(t, c->bev);
}

/* Checks a frame after the hello and hands it to its callback, unless a drop_in fault for its
 * sender drops it (after the checks: a bad frame still closes the connection). */
static int in_deliver(struct inconn *c, const struct raftwire_frame *f)
{
    struct transport *t = c->t;
    struct transport_fault fault;

    switch (f->kind) {
    case RAFTWIRE_MESSAGE:
        if (f->msg.from != c->node || f->msg.to != t->opt.node_id)
            return CR_EPROTO;
        break;
    case RAFTWIRE_CHUNK:
        break;
    case RAFTWIRE_FORWARD:
    case RAFTWIRE_FORWARD_RESULT:
        if (f->fwd.from != c->node || f->fwd.to != t->opt.node_id)
            return CR_EPROTO;
        break;
    default:
        return CR_EPROTO; /* a second hello */
    }
    if (fault_of(t, c->node, &fault) && fault.drop_in) {
        t->stats.fault_dropped_in++;
        return 0;
    }
    t->stats.received++;
    if (f->kind == RAFTWIRE_MESSAGE)
        t->cb.recv(t->cb.data, &f->msg, f->sent_ms);
    else if (f->kind == RAFTWIRE_CHUNK && t->cb.chunk)
        t->cb.chunk(t->cb.data, c->node, &f->chunk);
    else if (f->kind != RAFTWIRE_CHUNK && t->cb.forward)
        t->cb.forward(t->cb.data, f);
    return 0;
}

static void in_read_cb(struct bufferevent *bev, void *arg)
{
    struct inconn *c = arg;
    struct transport *t = c->t;
    struct raftwire_frame f;
    int rc;

    while ((rc = next_frame(t, bufferevent_get_input(bev), &f)) == 0) {
        if (c->node == 0) {
            if (in_hello(c, &f) != 0) {
                in_close(c);
                return;
            }
        } else if (in_deliver(c, &f) != 0) {
            rc = CR_EPROTO;
            break;
        }
    }
    if (rc == FRAME_MORE)
        return;
    t->stats.bad_frames++;
    cr_log(CR_LOG_WARN, "transport: node %llu: bad frame from node %llu: %s; closing",
           (unsigned long long)t->opt.node_id, (unsigned long long)c->node, cr_strerror(rc));
    in_close(c);
}

static void in_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    in_close(arg); /* EOF, error or the hello timeout */
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct transport *t = arg;
    struct inconn *c;

    (void)lis;
    (void)sa;
    (void)salen;
    if (t->n_in >= TRANSPORT_MAX_INBOUND || !(c = calloc(1, sizeof *c))) {
        evutil_closesocket(fd);
        return;
    }
    c->t = t;
    c->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = t->in;
    if (t->in)
        t->in->prev = c;
    t->in = c;
    t->n_in++;
    set_nodelay(c->bev);
    bufferevent_setcb(c->bev, in_read_cb, NULL, in_event_cb, c);
    set_timeout(c->bev, t->opt.handshake_ms);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- the face ---- */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    char svc[8];

    snprintf(svc, sizeof svc, "%u", (unsigned)port);
    if (!host || getaddrinfo(host, svc, &hints, &res) != 0)
        return CR_EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static uint16_t bound_port(struct evconnlistener *lis)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(evconnlistener_get_fd(lis), (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int transport_new(struct event_base *base, const struct transport_options *opt,
                  const struct transport_callbacks *cb, struct transport **out)
{
    struct transport *t;
    struct sockaddr_storage ss;
    socklen_t len;

    if (!opt->node_id || !cb->recv || resolve(opt->listen_host, opt->listen_port, &ss, &len))
        return CR_EINVAL;
    t = calloc(1, sizeof *t);
    if (!t)
        return CR_ENOMEM;
    if (pthread_mutex_init(&t->fault_mu, NULL) != 0) {
        free(t);
        return CR_ENOMEM;
    }
    t->rng = opt->node_id ^ ((uint64_t)time(NULL) << 20) ^ mono_ms();
    t->base = base;
    t->opt = *opt;
    t->cb = *cb;
    if (!t->opt.max_queue_bytes)
        t->opt.max_queue_bytes = TRANSPORT_DEFAULT_QUEUE_BYTES;
    if (!t->opt.max_queue_msgs)
        t->opt.max_queue_msgs = TRANSPORT_DEFAULT_QUEUE_MSGS;
    if (!t->opt.backoff_min_ms)
        t->opt.backoff_min_ms = TRANSPORT_DEFAULT_BACKOFF_MIN_MS;
    if (!t->opt.backoff_max_ms)
        t->opt.backoff_max_ms = TRANSPORT_DEFAULT_BACKOFF_MAX_MS;
    if (t->opt.backoff_max_ms < t->opt.backoff_min_ms)
        t->opt.backoff_max_ms = t->opt.backoff_min_ms;
    if (!t->opt.handshake_ms)
        t->opt.handshake_ms = TRANSPORT_DEFAULT_HANDSHAKE_MS;
    if (!t->opt.max_frame || t->opt.max_frame > RAFTWIRE_MAX_FRAME)
        t->opt.max_frame = RAFTWIRE_MAX_FRAME;
    cr_arena_init(&t->arena, 64 * 1024);
    cr_buf_init(&t->enc);
    t->lis = evconnlistener_new_bind(
        base, accept_cb, t, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
        (struct sockaddr *)&ss, (int)len);
    if (!t->lis) {
        cr_log(CR_LOG_ERROR, "transport: cannot listen on %s:%u", opt->listen_host,
               (unsigned)opt->listen_port);
        cr_arena_free(&t->arena);
        pthread_mutex_destroy(&t->fault_mu);
        free(t);
        return CR_EIO;
    }
    t->port = bound_port(t->lis);
    *out = t;
    return 0;
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    while (t->in)
        in_close(t->in);
    for (size_t i = 0; i < t->n_peers; i++)
        peer_free(t->peers[i]);
    evconnlistener_free(t->lis);
    cr_arena_free(&t->arena);
    cr_buf_free(&t->enc);
    pthread_mutex_destroy(&t->fault_mu);
    free(t);
}

uint16_t transport_port(const struct transport *t)
{
    return t->port;
}

int transport_add_peer(struct transport *t, uint64_t id, const char *host, uint16_t port)
{
    struct peer *p;

    if (id == 0 || id == t->opt.node_id)
        return CR_EINVAL;
    if (peer_find(t, id))
        return CR_EEXISTS;
    if (t->n_peers == TRANSPORT_MAX_PEERS)
        return CR_ETOOMANY;
    p = calloc(1, sizeof *p);
    if (!p)
        return CR_ENOMEM;
    p->t = t;
    p->id = id;
    p->backoff_ms = t->opt.backoff_min_ms;
    if (resolve(host, port, &p->addr, &p->addrlen) != 0) {
        free(p);
        return CR_EINVAL;
    }
    p->q = evbuffer_new();
    p->timer = evtimer_new(t->base, peer_timer_cb, p);
    p->hold_timer = evtimer_new(t->base, hold_timer_cb, p);
    if (!p->q || !p->timer || !p->hold_timer) {
        peer_free(p);
        return CR_ENOMEM;
    }
    t->peers[t->n_peers++] = p;
    peer_connect(p);
    return 0;
}

int transport_remove_peer(struct transport *t, uint64_t id)
{
    for (size_t i = 0; i < t->n_peers; i++) {
        if (t->peers[i]->id == id) {
            peer_free(t->peers[i]);
            t->peers[i] = t->peers[--t->n_peers];
            return 0;
        }
    }
    return CR_ENOTFOUND;
}

/* Holds the encoded frame in t->enc for fault->delay_ms + jitter, never released before the
 * frame held ahead of it. */
static int hold(struct transport *t, struct peer *p, const struct transport_fault *fault)
{
    struct held *h = malloc(sizeof *h + t->enc.len);
    uint64_t now = mono_ms();

    if (!h)
        return CR_ENOMEM;
    h->next = NULL;
    h->len = t->enc.len;
    memcpy(h->frame, t->enc.data, t->enc.len);
    h->release_ms = now + fault->delay_ms;
    if (fault->jitter_ms)
        h->release_ms += draw(t) % ((uint64_t)fault->jitter_ms + 1);
    if (p->held_tail && h->release_ms < p->held_tail->release_ms)
        h->release_ms = p->held_tail->release_ms;
    if (p->held_tail) {
        p->held_tail->next = h;
    } else {
        struct timeval tv = {(time_t)((h->release_ms - now) / 1000),
                             (suseconds_t)((h->release_ms - now) % 1000 * 1000)};

        p->held = h;
        evtimer_add(p->hold_timer, &tv);
    }
    p->held_tail = h;
    p->held_msgs++;
    p->held_bytes += h->len;
    t->stats.fault_delayed++;
    return 0;
}

/* Moves the held frames whose time has come to the queue, then waits for the next one. Nothing
 * is held while the peer is IDLE: a failed connection drops its held frames with its queue, and
 * enqueue takes nothing for an IDLE peer. */
static void hold_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer *p = arg;
    struct transport *t = p->t;
    uint64_t now = mono_ms();

    (void)fd;
    (void)what;
    while (p->held && p->held->release_ms <= now) {
        struct held *h = p->held;

        p->held = h->next;
        if (!p->held)
            p->held_tail = NULL;
        p->held_msgs--;
        p->held_bytes -= h->len;
        CR_ASSERT(p->state != PEER_IDLE);
        if (evbuffer_add(p->q, h->frame, h->len) == 0)
            p->q_msgs++;
        else
            t->stats.dropped_full++; /* out of memory: lost, which Raft tolerates */
        free(h);
    }
    if (p->held) {
        struct timeval tv = {(time_t)((p->held->release_ms - now) / 1000),
                             (suseconds_t)((p->held->release_ms - now) % 1000 * 1000)};

        evtimer_add(p->hold_timer, &tv);
    }
    peer_fill(p);
}

static int enqueue(struct transport *t, struct peer *p, const struct raftwire_frame *f)
{
    struct transport_fault fault = {0};
    struct raftwire_frame stamped = *f;
    struct timespec now;
    int rc;

    if (p->state == PEER_IDLE) {
        t->stats.dropped_down++;
        return CR_ECLOSED;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    stamped.sent_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    cr_buf_reset(&t->enc);
    rc = raftwire_encode(&stamped, &t->enc);
    if (rc)
        return rc;
    if (fault_of(t, p->id, &fault)) {
        if (fault.drop_out) {
            t->stats.fault_dropped_out++;
            return 0;
        }
        if (fault.loss_pct && draw(t) % 100 < fault.loss_pct) {
            t->stats.fault_lost++;
            return 0;
        }
    }
    if (p->q_msgs + p->held_msgs + 1 > t->opt.max_queue_msgs ||
        evbuffer_get_length(p->q) + p->held_bytes + t->enc.len > t->opt.max_queue_bytes) {
        t->stats.dropped_full++;
        return CR_EOVERLOAD;
    }
    if (fault.delay_ms || fault.jitter_ms || p->held) {
        rc = hold(t, p, &fault);
        if (rc)
            return rc;
    } else {
        if (evbuffer_add(p->q, t->enc.data, t->enc.len) != 0)
            return CR_ENOMEM;
        p->q_msgs++;
    }
    t->stats.sent++;
    peer_fill(p);
    return 0;
}

int transport_send(struct transport *t, const struct raft_msg *m)
{
    struct raftwire_frame f = {.kind = RAFTWIRE_MESSAGE, .msg = *m};
    struct peer *p;

    if (m->from != t->opt.node_id)
        return CR_EINVAL;
    p = peer_find(t, m->to);
    if (!p)
        return CR_ENOTFOUND;
    return enqueue(t, p, &f);
}

int transport_send_chunk(struct transport *t, uint64_t to, const struct raftwire_chunk *c)
{
    struct raftwire_frame f = {.kind = RAFTWIRE_CHUNK, .chunk = *c};
    struct peer *p = peer_find(t, to);

    if (!p)
        return CR_ENOTFOUND;
    return enqueue(t, p, &f);
}

int transport_send_forward(struct transport *t, const struct raftwire_frame *f)
{
    struct peer *p;

    if ((f->kind != RAFTWIRE_FORWARD && f->kind != RAFTWIRE_FORWARD_RESULT) ||
        f->fwd.from != t->opt.node_id)
        return CR_EINVAL;
    p = peer_find(t, f->fwd.to);
    if (!p)
        return CR_ENOTFOUND;
    if (f->kind == RAFTWIRE_FORWARD && p->state != PEER_READY) {
        /* A write is worth sending only on a connection known to work: queued for one being
         * made, it would be lost with it, and its outcome unknown; refused, it waits to be sent
         * again (the node holds it) with nothing done. */
        t->stats.dropped_down++;
        return CR_ECLOSED;
    }
    return enqueue(t, p, f);
}

void transport_get_stats(const struct transport *t, struct transport_stats *out)
{
    *out = t->stats;
}

int transport_peer_info(const struct transport *t, uint64_t id, struct transport_peer_info *out)
{
    const struct peer *p = peer_find(t, id);

    if (!p)
        return CR_ENOTFOUND;
    out->connected = p->state == PEER_READY;
    out->queued_bytes = evbuffer_get_length(p->q);
    out->queued_msgs = p->q_msgs;
    out->held_bytes = p->held_bytes;
    out->held_msgs = p->held_msgs;
    out->backoff_ms = p->backoff_ms;
    return 0;
}

static bool fault_is_none(const struct transport_fault *f)
{
    return !f->drop_out && !f->drop_in && !f->delay_ms && !f->jitter_ms && !f->loss_pct;
}

int transport_set_faults(struct transport *t, const struct transport_fault *f, size_t n)
{
    size_t kept = 0;

    if (n > TRANSPORT_MAX_PEERS || (n && !f))
        return CR_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (f[i].peer == 0 || f[i].peer == t->opt.node_id || f[i].loss_pct > 100 ||
            f[i].delay_ms > TRANSPORT_MAX_FAULT_MS || f[i].jitter_ms > TRANSPORT_MAX_FAULT_MS)
            return CR_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (f[j].peer == f[i].peer)
                return CR_EINVAL;
    }
    pthread_mutex_lock(&t->fault_mu);
    for (size_t i = 0; i < n; i++)
        if (!fault_is_none(&f[i]))
            t->faults[kept++] = f[i];
    atomic_store_explicit(&t->n_faults, kept, memory_order_relaxed);
    pthread_mutex_unlock(&t->fault_mu);
    return 0;
}

void transport_get_faults(struct transport *t, struct transport_fault *out, size_t *n)
{
    pthread_mutex_lock(&t->fault_mu);
    *n = atomic_load_explicit(&t->n_faults, memory_order_relaxed);
    memcpy(out, t->faults, *n * sizeof *out);
    pthread_mutex_unlock(&t->fault_mu);
}
