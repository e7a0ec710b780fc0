/*
 * The HTTP listener: evhttp servers on loop threads of their own, routing each request to a
 * dialect (HTTP_ROUTES) and sending what the dialect answers with the headers every AWS SDK
 * checks. Must not interpret bodies (the dialects do), must not touch storage other than
 * through ops.h, and must not let one request's failure take the listener down.
 *
 * Loops: --http-threads loops (default: as many as net.c's), each a struct http_loop with its
 * own event base, its own evhttp, its own snapshot slot (ops_conn) and its own log_completer
 * (the writer thread calls notify(), which activates an event on that loop, whose callback runs
 * log_completer_run), so a request, its reads and its write completion all stay on the loop
 * that accepted its connection, and no locks are needed. They are not net.c's loops: evhttp
 * owns its connections and its listener per event base.
 *
 * Listener choice: one listening socket per loop, all in one SO_REUSEPORT group on one port
 * (bind_sockets), so the kernel spreads connections over the loops by address hash. net.c's
 * one-acceptor round-robin is better but needs a way to hand an accepted socket to an evhttp,
 * which libevent 2.1 lacks; one socket shared by every loop spreads nothing (the first loop to
 * wake accepts the whole burst of a client opening 64 connections, measured). net.c's
 * objections to SO_REUSEPORT are met in bind_sockets: one port for port 0, and a port in use
 * is an error, not a group to join. With --http-threads 1 it is one plain socket, as before.
 *
 * Limits: bodies beyond max_body are refused by evhttp before they are read (413, connection
 * closed); headers beyond MAX_HEADERS likewise (400). Keep-alive is evhttp's HTTP/1.1 default;
 * idle connections are closed after IDLE_TIMEOUT_S.
 *
 * Shutdown: http_stop tells every loop to stop accepting; each loop answers requests that
 * arrive after that with 503 and closes their connection, exits once no request of its own is
 * being served, and http_stop joins them all, so every proposed write is answered before the
 * log closes.
 */
#include "server/http/http.h"

#include "common/error.h"
#include "common/log.h"
#include "server/http/crc32.h"
#include "server/http/http_int.h"
#include "server/http/sigv4.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <event2/util.h>

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_ARENA_BLOCK (16 * 1024)
#define MAX_HEADERS (64 * 1024) /* bytes of request line and headers */
#define IDLE_TIMEOUT_S 120
#define DEFAULT_REGION "us-east-1"
_Static_assert(sizeof DEFAULT_REGION <= CR_HTTP_REGION_MAX + 1, "region fits http_req");
/* Answered requests a loop keeps, with their arena's first block, for reuse. */
#define SPARE_REQS 16

struct http_loop {
    struct http_server *server;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* owns this loop's listening socket */
    pthread_t thread;
    bool started;
    struct log_completer completer;
    bool completer_ready;
    struct event *complete_ev; /* activated by the log's writer thread */
    struct event *stop_ev;     /* activated by http_stop */
    struct ops_conn oc;        /* one snapshot slot for every HTTP connection of this loop */
    bool oc_ready;
    /* loop thread only */
    bool draining;
    size_t live; /* requests created and not yet answered */
    uint64_t seq;
    uint64_t id_seed;       /* the server's, with the loop's index mixed in: ids stay unique */
    struct http_req *spare; /* answered requests, linked through data */
    unsigned n_spare;
};

struct http_server {
    struct ops *ops;
    struct http_options opt;
    struct http_loop *loops;
    unsigned n_loops;
    uint16_t port;
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void maybe_exit(struct http_loop *l)
{
    if (l->draining && l->live == 0)
        event_base_loopexit(l->base, NULL);
}

static void free_body(const void *data, size_t len, void *extra)
{
    free((void *)data);
}

/* The decimal digits of v into out (room for 11 bytes): snprintf's cost is per request. */
static void u32_decimal(uint32_t v, char *out)
{
    char tmp[10];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *out++ = tmp[--n];
    *out = 0;
}

/* 16 upper-case hex digits of v into out, no terminator. */
static void u64_hex(uint64_t v, char *out)
{
    static const char digits[] = "0123456789ABCDEF";

    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 15];
}

static void req_recycle(struct http_loop *l, struct http_req *r)
{
    if (l->n_spare >= SPARE_REQS) {
        cr_arena_free(&r->arena);
        free(r);
        return;
    }
    cr_arena_reset(&r->arena);
    r->data = l->spare;
    l->spare = r;
    l->n_spare++;
}

void http_reply(struct http_req *r, int status, const char *content_type, char *body, size_t len)
{
    struct http_loop *l = r->loop;
    struct evkeyvalq *hdrs = evhttp_request_get_output_headers(r->ev);
    /* The request's own output buffer: evhttp_send_reply with NULL sends what is in it. */
    struct evbuffer *buf = evhttp_request_get_output_buffer(r->ev);
    char crc[16];

    u32_decimal(crc32_update(0, body, len), crc);
    evhttp_add_header(hdrs, "Content-Type", content_type);
    evhttp_add_header(hdrs, "x-amzn-RequestId", r->id);
    evhttp_add_header(hdrs, "x-amz-crc32", crc);
    if (len && evbuffer_add_reference(buf, body, len, free_body, NULL) == 0)
        body = NULL; /* the buffer frees it */
    if (body && len) {
        free(body);
        cr_log(CR_LOG_ERROR, "http: out of memory answering request %s", r->id);
        evhttp_send_error(r->ev, 500, NULL);
    } else {
        free(body);
        evhttp_send_reply(r->ev, status, reason_phrase(status), NULL);
    }
    if (r->cleanup)
        r->cleanup(r);
    req_recycle(l, r);
    l->live--;
    maybe_exit(l);
}

const char *http_header(const struct http_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

/* The region of a SigV4 Authorization header:
 * "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, ...". */
static void parse_region(const char *auth, char *out, size_t cap)
{
    const char *p = auth ? strstr(auth, "Credential=") : NULL;
    const char *start;
    size_t n;

    memcpy(out, DEFAULT_REGION, sizeof DEFAULT_REGION); /* cap is CR_HTTP_REGION_MAX + 1 */
    if (!p)
        return;
    p += strlen("Credential=");
    for (int slash = 0; slash < 2; slash++) {
        p = strchr(p, '/');
        if (!p)
            return;
        p++;
    }
    start = p;
    n = strspn(start, "abcdefghijklmnopqrstuvwxyz0123456789-");
    if (n == 0 || n >= cap || start[n] != '/')
        return;
    memcpy(out, start, n);
    out[n] = 0;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "?";
    }
}

int http_check_sigv4(struct http_req *r, const char *service, struct errmsg *e)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->ev);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
    struct sigv4_request sr = {
        .method = method_name(evhttp_request_get_command(r->ev)),
        .path = uri ? evhttp_uri_get_path(uri) : NULL,
        .query = uri ? evhttp_uri_get_query(uri) : NULL,
        .body = r->body,
        .body_len = r->body_len,
    };
    struct sigv4_header *headers;
    struct evkeyval *kv;
    size_t n = 0;

    if (!r->server->opt.keys)
        return 0;
    TAILQ_FOREACH(kv, in, next)
    {
        n++;
    }
    headers = cr_arena_alloc(&r->arena, (n ? n : 1) * sizeof *headers);
    if (!headers)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    TAILQ_FOREACH(kv, in, next)
    {
        headers[sr.n_headers++] = (struct sigv4_header){kv->key, kv->value};
    }
    sr.headers = headers;
    return sigv4_verify(r->server->opt.keys, service, &sr, time(NULL), e);
}

static void not_found(struct http_req *r, const char *method, const char *path)
{
    char text[512];
    json_t *o;
    char *body;

    snprintf(text, sizeof text, "no service answers %s %.400s", method, path);
    o = json_pack("{s:s,s:s}", "__type", "NotFound", "message", text);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    http_reply(r, 404, "application/json", body, body ? strlen(body) : 0);
}

static struct http_req *req_new(struct http_loop *l, struct evhttp_request *ev)
{
    struct http_req *r = l->spare;

    if (r) {
        struct cr_arena arena = r->arena; /* reset, its first block kept */

        l->spare = r->data;
        l->n_spare--;
        memset(r, 0, sizeof *r);
        r->arena = arena;
    } else {
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        cr_arena_init(&r->arena, REQ_ARENA_BLOCK);
    }
    r->ev = ev;
    r->oc = &l->oc;
    r->server = l->server;
    r->loop = l;
    u64_hex(l->id_seed, r->id);
    u64_hex(++l->seq, r->id + 16);
    r->id[CR_HTTP_REQUEST_ID_LEN] = 0;
    parse_region(evhttp_find_header(evhttp_request_get_input_headers(ev), "Authorization"),
                 r->region, sizeof r->region);
    l->live++;
    return r;
}

static void request_cb(struct evhttp_request *ev, void *arg)
{
    struct http_loop *l = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    const char *method = method_name(evhttp_request_get_command(ev));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct http_req *r;

    if (l->draining) {
        /* Stopping: no new work, so live only falls and the loop's exit is final. Without this
         * a request read in the same iteration as the last reply could propose a write after
         * event_base_loopexit, whose completion would then never run. */
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
        evhttp_send_error(ev, 503, NULL);
        return;
    }
    ops_note_request(l->server->ops);
    r = req_new(l, ev);
    if (!r) {
        cr_log(CR_LOG_ERROR, "http: out of memory for a request");
        evhttp_send_error(ev, 500, NULL);
        return;
    }
    r->body_len = evbuffer_get_length(in);
    r->body = r->body_len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (!r->body) {
        cr_log(CR_LOG_ERROR, "http: out of memory reading a %zu-byte body", r->body_len);
        r->body_len = 0;
        r->body = "";
    }
    if (!path || !*path)
        path = "/";
#define HTTP_ROUTE(name, match, handle)                                                            \
    if (match(r, method, path)) {                                                                  \
        handle(r);                                                                                 \
        ops_conn_release(&l->oc);                                                                  \
        return;                                                                                    \
    }
    HTTP_ROUTES(HTTP_ROUTE)
#undef HTTP_ROUTE
    not_found(r, method, path);
}

static void complete_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_loop *l = arg;

    log_completer_run(&l->completer);
}

/* Writer thread: wake the loop to run its completions. */
static void notify(struct log_completer *c)
{
    struct http_loop *l = c->data;

    event_active(l->complete_ev, EV_READ, 0);
}

static void stop_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_loop *l = arg;

    if (l->bound)
        evhttp_del_accept_socket(l->http, l->bound); /* closes this loop's socket */
    l->bound = NULL;
    l->draining = true;
    maybe_exit(l);
}

static void *loop_main(void *arg)
{
    struct http_loop *l = arg;

    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* A listening socket on host:port into *out; reuseport joins it to a SO_REUSEPORT group. */
static int listen_on(const char *host, uint16_t port, bool reuseport, evutil_socket_t *out,
                     uint16_t *bound_port)
{
    struct evutil_addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_protocol = IPPROTO_TCP,
        .ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG,
    };
    struct evutil_addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char service[8];
    int one = 1, err;
    evutil_socket_t fd;

    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (evutil_getaddrinfo(host, service, &hints, &ai) != 0 || !ai)
        return -EADDRNOTAVAIL;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* SO_KEEPALIVE, inherited by accepted sockets, as evhttp_bind_socket sets it */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        err = errno;
        if (fd >= 0)
            close(fd);
        evutil_freeaddrinfo(ai);
        return -err;
    }
    evutil_freeaddrinfo(ai);
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    *out = fd;
    return 0;
}

/*
 * Every loop listens on a socket of its own, all bound to the same port with SO_REUSEPORT: the
 * kernel spreads new connections over them by their address hash. A plain socket is bound
 * first and closed at once, so a port in use (by anyone, SO_REUSEPORT or not) is reported
 * rather than silently shared, and so a port of 0 names one ephemeral port for the group. In
 * the moment between, another process of the same user binding the same port with
 * SO_REUSEPORT would join the group: accepted as the price of spreading connections, which one
 * socket racing N loops does not do (the first loop to wake accepts a whole burst).
 */
static int bind_sockets(struct http_server *h, struct errmsg *e)
{
    evutil_socket_t fd;
    int rc = listen_on(h->opt.host, h->opt.port, false, &fd, &h->port);

    if (rc == 0 && h->n_loops > 1) {
        close(fd); /* the probe: h->port is now the group's */
        fd = -1;
    }
    for (unsigned i = 0; rc == 0 && i < h->n_loops; i++) {
        struct http_loop *l = &h->loops[i];

        if (fd < 0)
            rc = listen_on(h->opt.host, h->port, true, &fd, &h->port);
        if (rc < 0)
            break;
        l->bound = evhttp_accept_socket_with_handle(l->http, fd); /* closes fd when freed */
        if (!l->bound) {
            rc = -ENOMEM;
            close(fd);
        }
        fd = -1;
    }
    if (rc < 0)
        return errmsg_set(e, CR_EIO, "cannot listen for HTTP on %s:%u: %s", h->opt.host,
                          (unsigned)h->opt.port,
                          rc == -EADDRNOTAVAIL ? "address not usable" : strerror(-rc));
    return 0;
}

static int loop_init(struct http_server *h, unsigned idx, uint64_t id_seed, struct errmsg *e)
{
    struct http_loop *l = &h->loops[idx];
    const struct http_options *opt = &h->opt;
    struct event_config *cfg;

    l->server = h;
    l->id_seed = id_seed + idx;
    if (log_completer_init(&l->completer, notify, l) < 0)
        return errmsg_set(e, CR_ENOMEM, "cannot create the HTTP completer");
    l->completer_ready = true;
    ops_conn_init(h->ops, &l->completer, &l->oc);
    l->oc_ready = true;
    /* The changelist folds the epoll_ctl calls of one iteration into their net effect: evhttp
     * turns reading off and on again around every request. Safe here: no fd is dup()ed. */
    cfg = event_config_new();
    if (cfg && event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        l->base = event_base_new_with_config(cfg);
    if (cfg)
        event_config_free(cfg);
    if (l->base) {
        l->http = evhttp_new(l->base);
        l->complete_ev = event_new(l->base, -1, 0, complete_cb, l);
        l->stop_ev = event_new(l->base, -1, 0, stop_cb, l);
    }
    if (!l->base || !l->http || !l->complete_ev || !l->stop_ev)
        return errmsg_set(e, CR_ENOMEM, "cannot create the HTTP event loop");
    evhttp_set_max_body_size(l->http, (ev_ssize_t)opt->max_body);
    evhttp_set_max_headers_size(l->http, MAX_HEADERS);
    evhttp_set_timeout(l->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(l->http, request_cb, l);
    return 0;
}

int http_start(struct ops *o, const struct http_options *opt, struct http_server **out,
               struct errmsg *e)
{
    struct http_server *h;
    struct timespec now;
    uint64_t id_seed;
    unsigned n = opt->threads ? opt->threads : 1;
    int rc;

    if (evthread_use_pthreads() != 0)
        return errmsg_set(e, CR_EINTERNAL, "libevent has no pthreads support");
    h = calloc(1, sizeof *h);
    if (!h)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    h->loops = calloc(n, sizeof *h->loops);
    if (!h->loops) {
        free(h);
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    }
    h->n_loops = n;
    h->ops = o;
    h->opt = *opt;
    clock_gettime(CLOCK_REALTIME, &now);
    /* Loops add their index: keep the low byte clear so ids differ in it alone. */
    id_seed = (((uint64_t)now.tv_sec << 20) ^ (uint64_t)now.tv_nsec) << 8;
    for (unsigned i = 0; i < n; i++) {
        rc = loop_init(h, i, id_seed, e);
        if (rc < 0)
            goto fail;
    }
    rc = bind_sockets(h, e);
    if (rc < 0)
        goto fail;
    for (unsigned i = 0; i < n; i++) {
        struct http_loop *l = &h->loops[i];

        if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
            rc = errmsg_set(e, CR_EIO, "cannot start an HTTP thread");
            http_stop(h);
            goto fail;
        }
        l->started = true;
    }
    *out = h;
    return 0;
fail:
    http_free(h);
    return rc;
}

uint16_t http_port(const struct http_server *h)
{
    return h->port;
}

void http_stop(struct http_server *h)
{
    for (unsigned i = 0; i < h->n_loops; i++) {
        if (h->loops[i].started)
            event_active(h->loops[i].stop_ev, EV_READ, 0);
    }
    for (unsigned i = 0; i < h->n_loops; i++) {
        if (h->loops[i].started)
            pthread_join(h->loops[i].thread, NULL);
        h->loops[i].started = false;
    }
}

static void loop_free(struct http_loop *l)
{
    while (l->spare) {
        struct http_req *r = l->spare;

        l->spare = r->data;
        cr_arena_free(&r->arena);
        free(r);
    }
    if (l->http)
        evhttp_free(l->http); /* closes its listener and every connection left */
    if (l->complete_ev)
        event_free(l->complete_ev);
    if (l->stop_ev)
        event_free(l->stop_ev);
    if (l->oc_ready)
        ops_conn_close(&l->oc);
    if (l->base)
        event_base_free(l->base);
    if (l->completer_ready)
        log_completer_close(&l->completer);
}

void http_free(struct http_server *h)
{
    for (unsigned i = 0; i < h->n_loops; i++)
        loop_free(&h->loops[i]);
    free(h->loops);
    free(h);
}
