/*
 * The HTTP listener: an evhttp server on its own loop thread, routing each request to a
 * dialect (HTTP_ROUTES) and sending what the dialect answers with the headers every AWS SDK
 * checks. Must not interpret bodies (the dialects do), must not touch storage other than
 * through ops.h, and must not let one request's failure take the listener down.
 *
 * Why its own loop thread rather than net.c's loops: evhttp owns its connections and its
 * listener per event base, while net.c hands native sockets out round-robin from one
 * acceptor and keeps its loops private. Serving evhttp there would mean one evhttp per loop
 * racing for accept() on a shared socket, the very arrangement net.c's comment rejects. One
 * HTTP loop keeps the native path untouched, gives one snapshot slot (one ops_conn) for all
 * HTTP reads, and needs no locks. Writes still go through the one log: this loop owns a
 * log_completer exactly like a net.c loop does (the writer thread calls notify(), which
 * activates an event here, whose callback runs log_completer_run), so write completions
 * land on this thread. If one loop ever becomes the bottleneck, the same code runs N times
 * over N bases with SO_REUSEPORT sockets.
 *
 * Limits: bodies beyond max_body are refused by evhttp before they are read (413, connection
 * closed); headers beyond MAX_HEADERS likewise (400). Keep-alive is evhttp's HTTP/1.1 default;
 * idle connections are closed after IDLE_TIMEOUT_S.
 *
 * Shutdown: http_stop stops accepting; the loop exits once no request is being served, so
 * every proposed write is answered before the log closes.
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
#include <inttypes.h>
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

#define REQ_ARENA_BLOCK (16 * 1024)
#define MAX_HEADERS (64 * 1024) /* bytes of request line and headers */
#define IDLE_TIMEOUT_S 120
#define DEFAULT_REGION "us-east-1"

struct http_server {
    struct ops *ops;
    struct http_options opt;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    uint16_t port;
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
    uint64_t id_seed;
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

static void maybe_exit(struct http_server *h)
{
    if (h->draining && h->live == 0)
        event_base_loopexit(h->base, NULL);
}

static void free_body(const void *data, size_t len, void *extra)
{
    free((void *)data);
}

void http_reply(struct http_req *r, int status, const char *content_type, char *body, size_t len)
{
    struct http_server *h = r->server;
    struct evkeyvalq *hdrs = evhttp_request_get_output_headers(r->ev);
    struct evbuffer *buf = evbuffer_new();
    char crc[16];

    snprintf(crc, sizeof crc, "%" PRIu32, crc32_update(0, body, len));
    evhttp_add_header(hdrs, "Content-Type", content_type);
    evhttp_add_header(hdrs, "x-amzn-RequestId", r->id);
    evhttp_add_header(hdrs, "x-amz-crc32", crc);
    if (buf && len && evbuffer_add_reference(buf, body, len, free_body, NULL) == 0)
        body = NULL; /* the buffer frees it */
    free(body);
    if (!buf) {
        cr_log(CR_LOG_ERROR, "http: out of memory answering request %s", r->id);
        evhttp_send_error(r->ev, 500, NULL);
    } else {
        evhttp_send_reply(r->ev, status, reason_phrase(status), buf);
        evbuffer_free(buf);
    }
    if (r->cleanup)
        r->cleanup(r);
    cr_arena_free(&r->arena);
    free(r);
    h->live--;
    maybe_exit(h);
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

    snprintf(out, cap, "%s", DEFAULT_REGION);
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

static struct http_req *req_new(struct http_server *h, struct evhttp_request *ev)
{
    struct http_req *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    cr_arena_init(&r->arena, REQ_ARENA_BLOCK);
    r->ev = ev;
    r->oc = &h->oc;
    r->server = h;
    snprintf(r->id, sizeof r->id, "%016" PRIX64 "%016" PRIX64, h->id_seed, ++h->seq);
    parse_region(evhttp_find_header(evhttp_request_get_input_headers(ev), "Authorization"),
                 r->region, sizeof r->region);
    h->live++;
    return r;
}

static void request_cb(struct evhttp_request *ev, void *arg)
{
    struct http_server *h = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    const char *method = method_name(evhttp_request_get_command(ev));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct http_req *r;

    ops_note_request(h->ops);
    r = req_new(h, ev);
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
        ops_conn_release(&h->oc);                                                                  \
        return;                                                                                    \
    }
    HTTP_ROUTES(HTTP_ROUTE)
#undef HTTP_ROUTE
    not_found(r, method, path);
}

static void complete_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_server *h = arg;

    log_completer_run(&h->completer);
}

/* Writer thread: wake the loop to run its completions. */
static void notify(struct log_completer *c)
{
    struct http_server *h = c->data;

    event_active(h->complete_ev, EV_READ, 0);
}

static void stop_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_server *h = arg;

    if (h->bound)
        evhttp_del_accept_socket(h->http, h->bound);
    h->bound = NULL;
    h->draining = true;
    maybe_exit(h);
}

static void *loop_main(void *arg)
{
    struct http_server *h = arg;

    event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int bind_socket(struct http_server *h, struct errmsg *e)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    evutil_socket_t fd;

    errno = 0;
    h->bound = evhttp_bind_socket_with_handle(h->http, h->opt.host, h->opt.port);
    if (!h->bound)
        return errmsg_set(e, CR_EIO, "cannot listen for HTTP on %s:%u: %s", h->opt.host,
                          (unsigned)h->opt.port, errno ? strerror(errno) : "address not usable");
    fd = evhttp_bound_socket_get_fd(h->bound);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int http_start(struct ops *o, const struct http_options *opt, struct http_server **out,
               struct errmsg *e)
{
    struct http_server *h;
    struct timespec now;
    int rc;

    if (evthread_use_pthreads() != 0)
        return errmsg_set(e, CR_EINTERNAL, "libevent has no pthreads support");
    h = calloc(1, sizeof *h);
    if (!h)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    h->ops = o;
    h->opt = *opt;
    clock_gettime(CLOCK_REALTIME, &now);
    h->id_seed = ((uint64_t)now.tv_sec << 20) ^ (uint64_t)now.tv_nsec;
    if (log_completer_init(&h->completer, notify, h) < 0) {
        free(h);
        return errmsg_set(e, CR_ENOMEM, "cannot create the HTTP completer");
    }
    h->completer_ready = true;
    ops_conn_init(o, &h->completer, &h->oc);
    h->oc_ready = true;
    h->base = event_base_new();
    if (h->base) {
        h->http = evhttp_new(h->base);
        h->complete_ev = event_new(h->base, -1, 0, complete_cb, h);
        h->stop_ev = event_new(h->base, -1, 0, stop_cb, h);
    }
    if (!h->base || !h->http || !h->complete_ev || !h->stop_ev) {
        rc = errmsg_set(e, CR_ENOMEM, "cannot create the HTTP event loop");
        goto fail;
    }
    evhttp_set_max_body_size(h->http, (ev_ssize_t)opt->max_body);
    evhttp_set_max_headers_size(h->http, MAX_HEADERS);
    evhttp_set_timeout(h->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(h->http, request_cb, h);
    rc = bind_socket(h, e);
    if (rc < 0)
        goto fail;
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0) {
        rc = errmsg_set(e, CR_EIO, "cannot start the HTTP thread");
        goto fail;
    }
    h->started = true;
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
    if (!h->started)
        return;
    event_active(h->stop_ev, EV_READ, 0);
    pthread_join(h->thread, NULL);
    h->started = false;
}

void http_free(struct http_server *h)
{
    if (h->http)
        evhttp_free(h->http); /* closes the listener and every connection left */
    if (h->complete_ev)
        event_free(h->complete_ev);
    if (h->stop_ev)
        event_free(h->stop_ev);
    if (h->oc_ready)
        ops_conn_close(&h->oc);
    if (h->base)
        event_base_free(h->base);
    if (h->completer_ready)
        log_completer_close(&h->completer);
    free(h);
}
