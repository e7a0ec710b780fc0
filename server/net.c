/*
 * Event loops, the listener and connections. Must not interpret frames (native.c does), must
 * not touch storage, and must not share a connection between threads: a connection lives and
 * dies on the loop that adopted it.
 *
 * Listener choice: ONE acceptor (an evconnlistener on loop 0) hands accepted sockets out
 * round-robin through each loop's inbox, rather than SO_REUSEPORT listeners per loop. With a
 * port of 0 there is exactly one socket to ask for its port; no other process can join the
 * port group and take our connections; the kernel's 4-tuple hashing spreads a handful of
 * client connections unevenly while round-robin spreads them evenly; and accept() is nowhere
 * near the hot path of a server whose clients keep connections open and pipeline.
 *
 * Connection lifecycle, a state machine (transitions in `allowed`, checked on every step):
 *
 *   OPEN ----(in-flight or output limit)----> PAUSED ---(below half the limits)---> OPEN
 *   OPEN | PAUSED --(peer EOF, frame too big, server shutdown)--> DRAINING
 *   any but DEAD --(socket error, shutdown grace expired)--> DEAD
 *   DRAINING: input is read and thrown away (closing a socket with unread input makes the
 *             kernel send RST, which can destroy responses the client has not read yet);
 *             freed, with a FIN first, when nothing is in flight and the output is flushed
 *   DEAD:     freed when nothing is in flight (output is discarded)
 *
 * Invariant: the bufferevent reads exactly when the state is OPEN, or DRAINING before the
 * peer's EOF. A connection is never freed with a write in flight, since the log will hand its
 * result back to this loop.
 */
#include "server/net.h"

#include "common/assert.h"
#include "common/error.h"
#include "common/log.h"
#include "server/native.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_RETRY_MS 100 /* pause after accept() fails (EMFILE) before trying again */

enum conn_state { CONN_OPEN, CONN_PAUSED, CONN_DRAINING, CONN_DEAD };

#define BIT(s) (1u << (s))
static const unsigned allowed[] = {
    [CONN_OPEN] = BIT(CONN_PAUSED) | BIT(CONN_DRAINING) | BIT(CONN_DEAD),
    [CONN_PAUSED] = BIT(CONN_OPEN) | BIT(CONN_DRAINING) | BIT(CONN_DEAD),
    [CONN_DRAINING] = BIT(CONN_DEAD),
    [CONN_DEAD] = 0,
};

struct loop;

struct conn {
    struct loop *loop;
    struct bufferevent *bev;
    enum conn_state state;
    bool eof; /* the peer closed its side; libevent stopped reading */
    struct native_conn nc;
    struct conn *prev, *next;
    char peer[64];
};

struct loop {
    struct net *net;
    unsigned idx;
    struct event_base *base;
    pthread_t thread;
    bool started;
    struct log_completer completer;
    struct event *complete_ev; /* activated by the log's writer thread */
    struct event *inbox_ev;    /* activated by the acceptor and by net_stop */
    struct event *grace_ev;
    struct event *round_ev; /* activated by the round thread: parked reads may go on */
    pthread_mutex_t inbox_mu;
    int *inbox; /* accepted fds waiting for this loop */
    size_t inbox_n, inbox_cap;
    _Atomic bool stop_requested;
    /* loop thread only */
    bool draining;
    struct conn *conns;
    size_t n_conns;
};

struct net {
    struct ops *ops;
    struct net_options opt;
    struct loop *loops;
    unsigned n_loops;
    int listen_fd;
    uint16_t port;
    struct evconnlistener *listener; /* loop 0 only */
    struct event *accept_retry_ev;   /* loop 0 only */
    unsigned next_loop;              /* acceptor only */
    _Atomic unsigned open;           /* connections accepted and not yet freed */
};

static void flow(struct conn *c);

/* ---- connections ------------------------------------------------------------------------ */

static void conn_set_state(struct conn *c, enum conn_state s)
{
    CR_ASSERT(allowed[c->state] & BIT(s));
    c->state = s;
    switch (s) {
    case CONN_OPEN:
        bufferevent_enable(c->bev, EV_READ);
        break;
    case CONN_PAUSED:
        bufferevent_disable(c->bev, EV_READ);
        break;
    case CONN_DRAINING:
        evbuffer_drain(bufferevent_get_input(c->bev), SIZE_MAX);
        if (!c->eof)
            bufferevent_enable(c->bev, EV_READ);
        /* The write callback now fires only once the output is empty. */
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        break;
    case CONN_DEAD:
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
        break;
    }
    CR_ASSERT(((bufferevent_get_enabled(c->bev) & EV_READ) != 0) ==
              (s == CONN_OPEN || (s == CONN_DRAINING && !c->eof)));
}

static void conn_free(struct conn *c)
{
    struct loop *l = c->loop;

    CR_ASSERT(native_inflight(&c->nc) == 0);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->n_conns--;
    native_conn_close(&c->nc);
    if (c->state == CONN_DRAINING)
        shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    bufferevent_free(c->bev);
    cr_log(CR_LOG_DEBUG, "connection from %s closed", c->peer);
    free(c);
    atomic_fetch_sub(&l->net->open, 1);
    if (l->draining && l->n_conns == 0)
        event_base_loopexit(l->base, NULL);
}

/* Re-evaluates a connection after anything happened to it; may free it. */
static void flow(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t inflight, max_inflight = c->nc.max_inflight;

    for (;;) {
        inflight = native_inflight(&c->nc);
        switch (c->state) {
        case CONN_OPEN:
            switch (native_read(&c->nc, bufferevent_get_input(c->bev))) {
            case NATIVE_CLOSE:
                conn_set_state(c, CONN_DRAINING);
                continue;
            case NATIVE_BLOCKED:
                conn_set_state(c, CONN_PAUSED);
                return;
            case NATIVE_MORE:
                return;
            }
            return;
        case CONN_PAUSED:
            if (native_parked(&c->nc) && !native_parked_ready(&c->nc))
                return; /* round_cb calls again when a round ends */
            if (inflight <= max_inflight / 2 && evbuffer_get_length(out) <= CR_CONN_OUT_HIGH / 2) {
                conn_set_state(c, CONN_OPEN);
                continue; /* frames may be waiting in the input already */
            }
            return;
        case CONN_DRAINING:
            evbuffer_drain(bufferevent_get_input(c->bev), SIZE_MAX);
            if (inflight == 0 && evbuffer_get_length(out) == 0)
                conn_free(c);
            return;
        case CONN_DEAD:
            if (inflight == 0)
                conn_free(c);
            return;
        }
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    flow(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    flow(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    if (what & BEV_EVENT_ERROR) {
        cr_log(CR_LOG_DEBUG, "connection from %s: %s", c->peer,
               evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        if (c->state != CONN_DEAD)
            conn_set_state(c, CONN_DEAD);
    } else if (what & BEV_EVENT_EOF) {
        c->eof = true;
        bufferevent_disable(c->bev, EV_READ);
        /* A half-closed peer still gets the answers to what it sent; a partial frame is
         * dropped. */
        if (c->state == CONN_OPEN || c->state == CONN_PAUSED)
            conn_set_state(c, CONN_DRAINING);
    }
    flow(c);
}

static void completed(void *arg)
{
    flow(arg);
}

static void peer_name(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN], serv[8]; /* numeric: fits the caller's 64 bytes */

    snprintf(buf, cap, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 &&
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(buf, cap, "%s:%s", host, serv);
}

static void conn_new(struct loop *l, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    int one = 1;

    if (c)
        c->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c || !c->bev) {
        cr_log(CR_LOG_ERROR, "out of memory for a new connection");
        free(c);
        close(fd);
        atomic_fetch_sub(&l->net->open, 1);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    peer_name(fd, c->peer, sizeof c->peer);
    c->loop = l;
    c->state = CONN_OPEN;
    native_conn_init(&c->nc, l->net->ops, &l->completer, bufferevent_get_output(c->bev),
                     l->net->opt.max_frame, l->net->opt.max_inflight, CR_CONN_OUT_HIGH, completed,
                     c);
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->n_conns++;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, CR_CONN_OUT_HIGH / 2, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    cr_log(CR_LOG_DEBUG, "connection from %s on loop %u", c->peer, l->idx);
}

/* ---- loops ------------------------------------------------------------------------------- */

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    struct conn *c, *next;

    for (c = l->conns; c; c = next) {
        next = c->next;
        if (c->state != CONN_DEAD) {
            cr_log(CR_LOG_WARN,
                   "shutdown: cutting connection from %s (output not flushed "
                   "after %d ms)",
                   c->peer, CR_SHUTDOWN_GRACE_MS);
            conn_set_state(c, CONN_DEAD);
        }
        flow(c);
    }
}

static void begin_drain(struct loop *l)
{
    struct conn *c, *next;
    struct timeval grace = {CR_SHUTDOWN_GRACE_MS / 1000, (CR_SHUTDOWN_GRACE_MS % 1000) * 1000};

    l->draining = true;
    if (l->idx == 0) {
        if (l->net->listener)
            evconnlistener_free(l->net->listener);
        l->net->listener = NULL;
        l->net->listen_fd = -1;
        event_del(l->net->accept_retry_ev);
    }
    for (c = l->conns; c; c = next) {
        next = c->next;
        if (c->state == CONN_OPEN || c->state == CONN_PAUSED)
            conn_set_state(c, CONN_DRAINING);
        flow(c);
    }
    if (l->n_conns == 0)
        event_base_loopexit(l->base, NULL);
    else
        evtimer_add(l->grace_ev, &grace);
}

static void inbox_cb(evutil_socket_t unused, short what, void *arg)
{
    struct loop *l = arg;
    int fds[64];
    size_t n;

    do {
        pthread_mutex_lock(&l->inbox_mu);
        n = l->inbox_n < 64 ? l->inbox_n : 64;
        if (n)
            memcpy(fds, l->inbox + (l->inbox_n - n), n * sizeof *fds);
        l->inbox_n -= n;
        pthread_mutex_unlock(&l->inbox_mu);
        for (size_t i = 0; i < n; i++) {
            if (l->draining) {
                close(fds[i]);
                atomic_fetch_sub(&l->net->open, 1);
            } else {
                conn_new(l, fds[i]);
            }
        }
    } while (n);
    if (atomic_load(&l->stop_requested) && !l->draining)
        begin_drain(l);
}

static void complete_cb(evutil_socket_t unused, short what, void *arg)
{
    struct loop *l = arg;

    log_completer_run(&l->completer);
}

/* Parked reads whose round has ended go on (flow runs them again). */
static void round_cb(evutil_socket_t unused, short what, void *arg)
{
    struct loop *l = arg;
    struct conn *c, *next;

    for (c = l->conns; c; c = next) {
        next = c->next;
        if (native_parked(&c->nc))
            flow(c); /* may free c */
    }
}

/* The round thread (ops_round_listen): wake the loop. */
static void round_ended(void *arg)
{
    struct loop *l = arg;

    event_active(l->round_ev, EV_READ, 0);
}

/* Writer thread: wake the loop to run its completions. */
static void notify(struct log_completer *c)
{
    struct loop *l = c->data;

    event_active(l->complete_ev, EV_READ, 0);
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;

    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct event_base *net_base_new(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base = NULL;

    if (cfg && event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        base = event_base_new_with_config(cfg);
    if (cfg)
        event_config_free(cfg);
    return base;
}

static int loop_init(struct net *n, struct loop *l, unsigned idx)
{
    l->net = n;
    l->idx = idx;
    if (pthread_mutex_init(&l->inbox_mu, NULL) != 0)
        return CR_ENOMEM;
    if (log_completer_init(&l->completer, notify, l) < 0)
        return CR_ENOMEM;
    l->base = event_base_new(); /* no changelist: measured no gain with bufferevents */
    if (!l->base)
        return CR_ENOMEM;
    l->complete_ev = event_new(l->base, -1, 0, complete_cb, l);
    l->inbox_ev = event_new(l->base, -1, 0, inbox_cb, l);
    l->grace_ev = evtimer_new(l->base, grace_cb, l);
    l->round_ev = event_new(l->base, -1, 0, round_cb, l);
    if (!l->complete_ev || !l->inbox_ev || !l->grace_ev || !l->round_ev)
        return CR_ENOMEM;
    ops_round_listen(n->ops, round_ended, l);
    atomic_init(&l->stop_requested, false);
    return 0;
}

static void loop_destroy(struct loop *l)
{
    if (l->complete_ev)
        event_free(l->complete_ev);
    if (l->inbox_ev)
        event_free(l->inbox_ev);
    if (l->grace_ev)
        event_free(l->grace_ev);
    if (l->round_ev)
        event_free(l->round_ev);
    if (l->base) {
        event_base_free(l->base);
        log_completer_close(&l->completer);
        pthread_mutex_destroy(&l->inbox_mu);
    }
    for (size_t i = 0; i < l->inbox_n; i++)
        close(l->inbox[i]);
    free(l->inbox);
}

/* ---- acceptor (loop 0) ------------------------------------------------------------------- */

static void hand_off(struct loop *l, int fd)
{
    bool ok = true;

    pthread_mutex_lock(&l->inbox_mu);
    if (l->inbox_n == l->inbox_cap) {
        size_t cap = l->inbox_cap ? l->inbox_cap * 2 : 16;
        int *p = realloc(l->inbox, cap * sizeof *p);
        if (p) {
            l->inbox = p;
            l->inbox_cap = cap;
        } else {
            ok = false;
        }
    }
    if (ok)
        l->inbox[l->inbox_n++] = fd;
    pthread_mutex_unlock(&l->inbox_mu);
    if (!ok) {
        cr_log(CR_LOG_ERROR, "out of memory handing a connection to loop %u", l->idx);
        close(fd);
        atomic_fetch_sub(&l->net->open, 1);
        return;
    }
    event_active(l->inbox_ev, EV_READ, 0);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct net *n = arg;
    unsigned open = atomic_fetch_add(&n->open, 1);

    if (open >= n->opt.max_connections) {
        char peer[64];
        peer_name(fd, peer, sizeof peer);
        cr_log(CR_LOG_WARN,
               "refusing connection from %s: %u connections open "
               "(--max-connections)",
               peer, open);
        close(fd);
        atomic_fetch_sub(&n->open, 1);
        return;
    }
    hand_off(&n->loops[n->next_loop++ % n->n_loops], fd);
}

static void accept_retry_cb(evutil_socket_t unused, short what, void *arg)
{
    struct net *n = arg;

    if (n->listener)
        evconnlistener_enable(n->listener);
}

static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
    struct net *n = arg;
    struct timeval retry = {0, ACCEPT_RETRY_MS * 1000};

    cr_log(CR_LOG_ERROR, "accept failed: %s; retrying in %d ms",
           evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), ACCEPT_RETRY_MS);
    evconnlistener_disable(lis);
    evtimer_add(n->accept_retry_ev, &retry);
}

static int bind_listener(struct net *n, struct errmsg *e)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char port[8];
    int fd = -1, one = 1, rc, err = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)n->opt.port);
    rc = getaddrinfo(n->opt.host, port, &hints, &res);
    if (rc != 0)
        return errmsg_set(e, CR_EIO, "cannot resolve listen host '%s': %s", n->opt.host,
                          gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, CR_LISTEN_BACKLOG) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return errmsg_set(e, CR_EIO, "cannot listen on %s:%u: %s", n->opt.host,
                          (unsigned)n->opt.port, strerror(err));
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        n->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    n->listen_fd = fd;
    return 0;
}

/* ---- the handle -------------------------------------------------------------------------- */

int net_start(struct ops *o, const struct net_options *opt, struct net **out, struct errmsg *e)
{
    struct net *n;
    int rc = 0;

    if (evthread_use_pthreads() != 0)
        return errmsg_set(e, CR_EINTERNAL, "libevent has no pthreads support");
    n = calloc(1, sizeof *n);
    if (!n)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    n->ops = o;
    n->opt = *opt;
    n->listen_fd = -1;
    n->n_loops = opt->threads ? opt->threads : 1;
    atomic_init(&n->open, 0);
    n->loops = calloc(n->n_loops, sizeof *n->loops);
    if (!n->loops) {
        free(n);
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    }
    for (unsigned i = 0; i < n->n_loops && rc == 0; i++)
        rc = loop_init(n, &n->loops[i], i);
    if (rc < 0) {
        errmsg_set(e, rc, "cannot create the event loops");
        goto fail;
    }
    rc = bind_listener(n, e);
    if (rc < 0)
        goto fail;
    n->accept_retry_ev = evtimer_new(n->loops[0].base, accept_retry_cb, n);
    n->listener =
        evconnlistener_new(n->loops[0].base, accept_cb, n, LEV_OPT_CLOSE_ON_FREE, -1, n->listen_fd);
    if (!n->listener || !n->accept_retry_ev) {
        rc = errmsg_set(e, CR_ENOMEM, "cannot create the listener");
        goto fail;
    }
    evconnlistener_set_error_cb(n->listener, accept_error_cb);
    for (unsigned i = 0; i < n->n_loops; i++) {
        if (pthread_create(&n->loops[i].thread, NULL, loop_main, &n->loops[i]) != 0) {
            rc = errmsg_set(e, CR_EIO, "cannot start network thread %u", i);
            net_stop(n);
            net_free(n);
            return rc;
        }
        n->loops[i].started = true;
    }
    *out = n;
    return 0;
fail:
    net_free(n);
    return rc;
}

uint16_t net_port(const struct net *n)
{
    return n->port;
}

void net_stop(struct net *n)
{
    for (unsigned i = 0; i < n->n_loops; i++) {
        struct loop *l = &n->loops[i];
        if (!l->started)
            continue;
        atomic_store(&l->stop_requested, true);
        event_active(l->inbox_ev, EV_READ, 0);
    }
    for (unsigned i = 0; i < n->n_loops; i++) {
        if (n->loops[i].started)
            pthread_join(n->loops[i].thread, NULL);
        n->loops[i].started = false;
    }
}

void net_free(struct net *n)
{
    if (n->listener)
        evconnlistener_free(n->listener);
    else if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->accept_retry_ev)
        event_free(n->accept_retry_ev);
    for (unsigned i = 0; i < n->n_loops; i++)
        loop_destroy(&n->loops[i]);
    free(n->loops);
    free(n);
}
