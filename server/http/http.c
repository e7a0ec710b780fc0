/*
 * The HTTP listener: HTTP/1.1 connections on loop threads of their own, routing each request to
 * a dialect (HTTP_ROUTES) and sending what the dialect answers with the headers every AWS SDK
 * checks. Must not interpret bodies (the dialects do), must not touch storage other than
 * through ops.h, and must not let one request's failure take the listener down.
 *
 * Why not evhttp (DESIGN.md names it): per request it allocated a request object, two
 * allocations per header field in and out, a parsed URI and two evbuffers, formatted the
 * response head with printf and compared header names one lower-cased character at a time;
 * that was over half of a GetItem's CPU outside the kernel (perf, 64 connections). Framing is
 * now h1.c's (pure, fuzzed) and the connection is a read buffer, the request parsed in place,
 * and one writev per answer. It also leaves room for the WebSocket upgrade Gremlin needs.
 *
 * Loops: --http-threads loops, each a struct http_loop with its own event base, listening
 * socket, snapshot slot (ops_conn) and log_completer (the writer thread calls notify(), which
 * activates an event on that loop, whose callback runs log_completer_run), so a request, its
 * reads and its write completion all stay on the loop that accepted its connection, and no
 * locks are needed.
 *
 * Listener choice: one listening socket per loop, all in one SO_REUSEPORT group on one port
 * (bind_sockets), so the kernel spreads connections over the loops by address hash; one socket
 * shared by every loop spreads nothing (the first loop to wake accepts the whole burst of a
 * client opening 64 connections, measured). net.c's objections to SO_REUSEPORT are met in
 * bind_sockets: one port for port 0, and a port in use is an error, not a group to join.
 *
 * A connection serves one request at a time, in order (HTTP/1.1 answers pipelined requests in
 * the order they came): while a request is in flight, or an answer is still being written,
 * the connection does not read, so a client cannot make it buffer without bound. States:
 *
 *   reading --(complete request)--> busy --(reply written at once)--> reading
 *   busy --(reply partly written)--> flushing --(written)--> reading
 *   any --(Connection: close, HTTP/1.0, a refused request)--> closing: once the answer is
 *       written, FIN, then unread input is read and dropped for LINGER_S (closing a socket with
 *       unread input makes the kernel send RST, which can destroy the answer) and it is freed
 *   any --(peer gone, socket error, idle IDLE_TIMEOUT_S)--> freed; if busy, marked dead and
 *       freed by the reply (the write still completes; its answer is dropped)
 *
 * Limits: a head over MAX_HEAD bytes gets 431, a body over max_body gets the dialect's 413
 * (before it is read: the connection is closed after the answer), more than H1_MAX_FIELDS
 * fields 431.
 *
 * Shutdown: http_stop tells every loop to stop accepting; each loop closes its idle
 * connections, lets requests already being served finish (their writes commit and are
 * answered, then their connections close), exits once none is left (or CR_SHUTDOWN_GRACE_MS
 * after, for answers a client does not read), and http_stop joins them all, so every proposed
 * write is answered before the log closes.
 */
#include "server/http/http.h"

#include "common/assert.h"
#include "common/error.h"
#include "common/log.h"
#include "server/http/crc32.h"
#include "server/http/h1.h"
#include "server/http/http_int.h"
#include "server/http/sigv4.h"
#include "server/net.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <event2/util.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define REQ_ARENA_BLOCK (16 * 1024)
#define MAX_HEAD (64 * 1024) /* bytes of request line and header fields */
#define IDLE_TIMEOUT_S 120
#define LINGER_S 2
#define ACCEPT_BATCH 64
#define ACCEPT_RETRY_MS 100
#define READ_MIN 4096        /* room a read asks for at least */
#define IN_FIRST (16 * 1024) /* a connection's first input buffer */
#define IN_KEEP (64 * 1024)  /* larger input buffers are freed once empty */
#define HEAD_OUT_MAX 512     /* a response head: status line and five fields */
#define DEFAULT_REGION "us-east-1"
_Static_assert(sizeof DEFAULT_REGION <= CR_HTTP_REGION_MAX + 1, "region fits http_req");
/* Answered requests a loop keeps, with their arena's first block, for reuse. */
#define SPARE_REQS 16

struct h1_conn {
    struct http_loop *loop;
    evutil_socket_t fd;
    struct event *rev, *wev;
    bool reading, writing; /* rev / wev added */
    bool lingering;        /* answered, FIN sent: reading and dropping until EOF */
    bool closing;          /* the answer being written is the last */
    bool dead;             /* socket unusable: freed as soon as no request is in flight */
    bool dispatching;      /* process() is on the stack: a reply must not re-enter it */
    char *in;              /* bytes read and not yet consumed */
    size_t in_len, in_cap;
    size_t scanned; /* bytes of in already searched for the end of the head */
    bool have_head;
    struct h1_request head; /* of the request being read or served; points into in */
    size_t msg_len;         /* bytes of in the request being served takes */
    struct http_req *busy;  /* the request being served */
    char *out;              /* answer bytes the socket has not taken yet */
    size_t out_len, out_off, out_cap;
    struct h1_conn *prev, *next;
};

struct http_loop {
    struct http_server *server;
    struct event_base *base;
    evutil_socket_t listen_fd;
    struct event *accept_ev;
    struct event *accept_retry_ev;
    pthread_t thread;
    bool started;
    struct log_completer completer;
    bool completer_ready;
    struct event *complete_ev; /* activated by the log's writer thread */
    struct event *stop_ev;     /* activated by http_stop */
    struct event *grace_ev;
    struct ops_conn oc; /* one snapshot slot for every HTTP connection of this loop */
    bool oc_ready;
    /* loop thread only */
    bool draining, grace_over;
    size_t live; /* requests created and not yet answered */
    struct h1_conn *conns;
    size_t n_conns;
    uint64_t seq;
    uint64_t id_seed;       /* the server's, with the loop's index mixed in: ids stay unique */
    struct http_req *spare; /* answered requests, linked through data */
    unsigned n_spare;
    time_t date_at; /* the second `date` was formatted for */
    char date[40];  /* "Sun, 06 Nov 1994 08:49:37 GMT" */
};

struct http_server {
    struct ops *ops;
    struct http_options opt;
    struct http_loop *loops;
    unsigned n_loops;
    uint16_t port;
};

static void process(struct h1_conn *c);

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
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

static void maybe_exit(struct http_loop *l)
{
    if (l->draining && l->live == 0 && (l->n_conns == 0 || l->grace_over))
        event_base_loopexit(l->base, NULL);
}

/* The decimal digits of v into out (room for 21 bytes): snprintf's cost is per request. */
static size_t u64_decimal(uint64_t v, char *out)
{
    char tmp[20];
    size_t n = 0, len;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    len = n;
    while (n)
        *out++ = tmp[--n];
    *out = 0;
    return len;
}

/* 16 upper-case hex digits of v into out, no terminator. */
static void u64_hex(uint64_t v, char *out)
{
    static const char digits[] = "0123456789ABCDEF";

    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 15];
}

/* ---- connections ------------------------------------------------------------------------ */

/* Adds or removes the read and write events to match what the connection waits for. */
static void conn_update(struct h1_conn *c)
{
    bool want_read = !c->dead && !c->busy && c->out_off == c->out_len;
    bool want_write = !c->dead && c->out_off < c->out_len;

    if (want_read != c->reading) {
        struct timeval tv = {c->lingering ? LINGER_S : IDLE_TIMEOUT_S, 0};

        if (want_read)
            event_add(c->rev, &tv);
        else
            event_del(c->rev);
        c->reading = want_read;
    }
    if (want_write != c->writing) {
        if (want_write)
            event_add(c->wev, NULL);
        else
            event_del(c->wev);
        c->writing = want_write;
    }
}

/* Frees c, or, with a request in flight, marks it dead for http_reply to free. */
static void conn_free(struct h1_conn *c)
{
    struct http_loop *l = c->loop;

    c->dead = true;
    conn_update(c);
    if (c->busy)
        return;
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    free(c->in);
    free(c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->n_conns--;
    free(c);
    maybe_exit(l);
}

/* The answer is all written and it was the last: FIN, then drop input until EOF. */
static void conn_linger(struct h1_conn *c)
{
    if (c->loop->draining || shutdown(c->fd, SHUT_WR) < 0) {
        conn_free(c);
        return;
    }
    c->lingering = true;
    c->in_len = 0;
    /* Re-add the read event with the short timeout. */
    if (c->reading)
        event_del(c->rev);
    c->reading = false;
    conn_update(c);
}

/* Queues n bytes of output behind what is pending. Returns 0 or CR_ENOMEM. */
static int conn_queue(struct h1_conn *c, const char *p, size_t n)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (n > c->out_cap - c->out_len) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        char *q;

        while (cap - c->out_len < n)
            cap *= 2;
        q = realloc(c->out, cap);
        if (!q)
            return CR_ENOMEM;
        c->out = q;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/*
 * Writes iov[0..n) (after any pending output) to the socket as far as it takes them; the rest
 * is queued for the write event. On a socket error or no memory the connection is dead.
 */
static void conn_send(struct h1_conn *c, struct iovec *iov, int n)
{
    ssize_t w = 0;

    if (c->dead)
        return;
    if (c->out_off == c->out_len) {
        do
            w = writev(c->fd, iov, n);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            c->dead = true;
            return;
        }
        if (w < 0)
            w = 0;
    }
    for (int i = 0; i < n; i++) {
        size_t skip = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;

        w -= (ssize_t)skip;
        if (skip < iov[i].iov_len &&
            conn_queue(c, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip) < 0) {
            cr_log(CR_LOG_ERROR, "http: out of memory queueing an answer");
            c->dead = true;
            return;
        }
    }
}

/*
 * After an answer: the connection reads the next request, finishes writing, or closes. Inside
 * process() (the answer was given while serving the input) process's own tail does this, so c
 * is not freed under it.
 */
static void conn_after_answer(struct h1_conn *c)
{
    if (c->dispatching)
        return;
    if (c->dead) {
        conn_free(c);
        return;
    }
    if (c->out_off < c->out_len) {
        conn_update(c); /* the write event finishes it */
        return;
    }
    if (c->closing) {
        conn_linger(c);
        return;
    }
    process(c);
}

/* Grows the input buffer to at least need bytes, moving the parsed head's pointers along. */
static int conn_reserve(struct h1_conn *c, size_t need)
{
    size_t cap = c->in_cap ? c->in_cap : IN_FIRST;
    char *p;

    if (need <= c->in_cap)
        return 0;
    while (cap < need)
        cap *= 2;
    p = malloc(cap);
    if (!p)
        return CR_ENOMEM;
    if (c->in_len)
        memcpy(p, c->in, c->in_len);
    if (c->have_head) {
        struct h1_request *h = &c->head;
#define REBASE(ptr) ((ptr) = (ptr) ? p + ((ptr)-c->in) : NULL)
        REBASE(h->method);
        REBASE(h->path);
        REBASE(h->query);
        for (size_t i = 0; i < h->n_fields; i++) {
            REBASE(h->fields[i].name);
            REBASE(h->fields[i].value);
        }
#undef REBASE
    }
    free(c->in);
    c->in = p;
    c->in_cap = cap;
    return 0;
}

/* ---- answers ------------------------------------------------------------------------------ */

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put(p, lit, sizeof lit - 1)

static const char *http_date(struct http_loop *l)
{
    time_t now = time(NULL);
    struct tm tm;

    if (now != l->date_at && gmtime_r(&now, &tm)) {
        strftime(l->date, sizeof l->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        l->date_at = now;
    }
    return l->date;
}

/*
 * Writes an answer: status line, Content-Type, Content-Length, x-amzn-RequestId, x-amz-crc32
 * (CRC-32 of the body), Date, and Connection when it differs from the version's default.
 * head_only leaves the body out (HEAD). id may be NULL (answers to unparsable requests).
 */
static void send_answer(struct h1_conn *c, int status, const char *content_type, const char *id,
                        const char *body, size_t len, bool head_only)
{
    char head[HEAD_OUT_MAX], num[24], *p = head;
    const char *reason = reason_phrase(status);
    struct iovec iov[2];
    bool keep = !c->closing;
    int minor = c->have_head && c->head.minor == 0 ? 0 : 1;
    size_t ct_len = strlen(content_type);

    CR_ASSERT(status >= 100 && status <= 999 && ct_len < 100);
    p = minor ? PUT_LIT(p, "HTTP/1.1 ") : PUT_LIT(p, "HTTP/1.0 ");
    u64_decimal((uint64_t)status, num);
    p = put(p, num, 3);
    *p++ = ' ';
    p = put(p, reason, strlen(reason));
    p = PUT_LIT(p, "\r\nContent-Type: ");
    p = put(p, content_type, ct_len);
    p = PUT_LIT(p, "\r\nContent-Length: ");
    p = put(p, num, u64_decimal(len, num));
    if (id) {
        p = PUT_LIT(p, "\r\nx-amzn-RequestId: ");
        p = put(p, id, CR_HTTP_REQUEST_ID_LEN);
    }
    p = PUT_LIT(p, "\r\nx-amz-crc32: ");
    p = put(p, num, u64_decimal(crc32_update(0, body, len), num));
    p = PUT_LIT(p, "\r\nDate: ");
    p = put(p, http_date(c->loop), strlen(c->loop->date));
    if (!keep)
        p = PUT_LIT(p, "\r\nConnection: close");
    else if (minor == 0)
        p = PUT_LIT(p, "\r\nConnection: keep-alive");
    p = PUT_LIT(p, "\r\n\r\n");
    iov[0] = (struct iovec){head, (size_t)(p - head)};
    iov[1] = (struct iovec){(void *)body, len};
    conn_send(c, iov, head_only || !len ? 1 : 2);
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
    struct h1_conn *c = r->conn;

    if (r->cleanup)
        r->cleanup(r);
    if (!c->head.keep_alive || l->draining)
        c->closing = true;
    send_answer(c, status, content_type, r->id, body, len, strcmp(c->head.method, "HEAD") == 0);
    free(body);
    /* The request's bytes are consumed; a pipelined next request moves to the front. */
    c->in_len -= c->msg_len;
    memmove(c->in, c->in + c->msg_len, c->in_len);
    c->have_head = false;
    c->scanned = 0;
    c->msg_len = 0;
    c->busy = NULL;
    req_recycle(l, r);
    l->live--;
    conn_after_answer(c);
    maybe_exit(l);
}

const char *http_header(const struct http_req *r, const char *name)
{
    return h1_field(r->head, name);
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

int http_check_sigv4(struct http_req *r, const char *service, struct errmsg *e)
{
    const struct h1_request *h = r->head;
    struct sigv4_request sr = {
        .method = h->method,
        .path = h->path,
        .query = h->query,
        .body = r->body,
        .body_len = r->body_len,
    };
    struct sigv4_header *headers;

    if (!r->server->opt.keys)
        return 0;
    headers = cr_arena_alloc(&r->arena, (h->n_fields ? h->n_fields : 1) * sizeof *headers);
    if (!headers)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < h->n_fields; i++)
        headers[sr.n_headers++] = (struct sigv4_header){h->fields[i].name, h->fields[i].value};
    sr.headers = headers;
    return sigv4_verify(r->server->opt.keys, service, &sr, time(NULL), e);
}

/* An answer from here rather than a dialect: JSON {"__type", "message"}. */
static void send_plain(struct h1_conn *c, int status, const char *type, const char *message)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"__type\":\"%s\",\"message\":\"%s\"}", type, message);

    send_answer(c, status, "application/json", NULL, body, (size_t)n, false);
}

static void not_found(struct http_req *r)
{
    char text[512], *body;
    int n;

    /* The path is a token of visible characters (h1.c): only '"' and '\' need escaping, and
     * neither is worth keeping in an error text. */
    n = snprintf(text, sizeof text, "{\"__type\":\"NotFound\",\"message\":\"no service answers %s ",
                 r->head->method);
    for (const char *p = r->head->path; *p && n < (int)sizeof text - 4; p++) {
        if (*p != '"' && *p != '\\')
            text[n++] = *p;
    }
    memcpy(text + n, "\"}", 3);
    n += 2;
    body = strdup(text);
    http_reply(r, 404, "application/json", body, body ? (size_t)n : 0);
}

static struct http_req *req_new(struct http_loop *l, struct h1_conn *c)
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
    r->conn = c;
    r->head = &c->head;
    r->oc = &l->oc;
    r->server = l->server;
    r->loop = l;
    r->body = "";
    u64_hex(l->id_seed, r->id);
    u64_hex(++l->seq, r->id + 16);
    r->id[CR_HTTP_REQUEST_ID_LEN] = 0;
    parse_region(h1_field(&c->head, "Authorization"), r->region, sizeof r->region);
    l->live++;
    c->busy = r;
    return r;
}

/*
 * Refuses the request being read (its head parsed, or not when status is 400 or 431 before
 * one) and closes the connection after the answer: what follows cannot be framed. A dialect
 * that owns the request answers in its own shape.
 */
static void refuse(struct h1_conn *c, int status, int code, const char *message)
{
    struct http_loop *l = c->loop;

    c->closing = true;
    if (c->have_head && (code == CR_EFRAMETOOBIG || code == CR_EPROTO)) {
        struct http_req *r = req_new(l, c);

        if (r) {
            c->msg_len = c->in_len; /* all of it is dropped */
#define HTTP_ROUTE(name, match, handle, refusal)                                                   \
    if (match(r, c->head.method, c->head.path)) {                                                  \
        refusal(r, code, message);                                                                 \
        return;                                                                                    \
    }
            HTTP_ROUTES(HTTP_ROUTE)
#undef HTTP_ROUTE
            c->busy = NULL;
            req_recycle(l, r);
            l->live--;
        }
    }
    send_plain(c, status, status == 413 ? "PayloadTooLarge" : "BadRequest", message);
    conn_after_answer(c);
}

static void dispatch(struct h1_conn *c, char *body, size_t body_len)
{
    struct http_loop *l = c->loop;
    struct http_req *r;

    ops_note_request(l->server->ops);
    r = req_new(l, c);
    if (!r) {
        cr_log(CR_LOG_ERROR, "http: out of memory for a request");
        c->closing = true;
        send_plain(c, 500, "InternalServerError", "out of memory");
        conn_after_answer(c);
        return;
    }
    r->body = body;
    r->body_len = body_len;
#define HTTP_ROUTE(name, match, handle, refusal)                                                   \
    if (match(r, c->head.method, c->head.path)) {                                                  \
        handle(r);                                                                                 \
        ops_conn_release(&l->oc);                                                                  \
        return;                                                                                    \
    }
    HTTP_ROUTES(HTTP_ROUTE)
#undef HTTP_ROUTE
    not_found(r);
}

/* Sends "100 Continue" for a request whose client waits for it before sending its body. */
static void send_continue(struct h1_conn *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct iovec iov = {(void *)cont, sizeof cont - 1};

    conn_send(c, &iov, 1);
}

/*
 * Takes the next request from the input if all of it is there: dispatches it (1), waits for
 * more input (0), or refuses it (-1).
 */
static int next_request(struct h1_conn *c)
{
    const size_t max_body = c->loop->server->opt.max_body;
    struct h1_request *h = &c->head;
    size_t body_len;
    int64_t n;

    if (!c->have_head) {
        size_t skip = 0, end;
        int rc;

        /* RFC 9112 2.2: empty lines before a request line are ignored. */
        while (skip + 2 <= c->in_len && c->in[skip] == '\r' && c->in[skip + 1] == '\n')
            skip += 2;
        if (skip) {
            c->in_len -= skip;
            memmove(c->in, c->in + skip, c->in_len);
            c->scanned = 0;
        }
        end = h1_head_end(c->in, c->in_len, c->scanned);
        c->scanned = c->in_len;
        if (end == 0 && c->in_len < MAX_HEAD)
            return 0;
        if (end == 0 || end > MAX_HEAD) {
            refuse(c, 431, CR_ETOOLONG, "the request head exceeds 65536 bytes");
            return -1;
        }
        rc = h1_parse_head(c->in, end, h);
        if (rc < 0) {
            refuse(c,
                   rc == CR_ETOOMANY     ? 431
                   : rc == CR_EUNKNOWNOP ? (h->minor < 0 ? 505 : 501)
                                         : 400,
                   rc,
                   rc == CR_ETOOMANY     ? "too many header fields"
                   : rc == CR_EUNKNOWNOP ? "unsupported HTTP version or transfer coding"
                                         : "malformed request head");
            return -1;
        }
        c->have_head = true;
        if (h->has_length && h->content_length > max_body) {
            char text[128];

            snprintf(text, sizeof text, "Request size %llu exceeds the limit of %zu bytes",
                     (unsigned long long)h->content_length, max_body);
            refuse(c, 413, CR_EFRAMETOOBIG, text);
            return -1;
        }
        if (h->expect_continue && h->minor == 1 &&
            c->in_len - h->head_len < (h->chunked ? 1 : h->content_length))
            send_continue(c);
    }
    if (h->chunked) {
        n = h1_dechunk(c->in + h->head_len, c->in_len - h->head_len, max_body, &body_len);
        if (n == 0 && c->in_len - h->head_len > 2 * max_body + MAX_HEAD)
            n = CR_EFRAMETOOBIG; /* chunk framing beyond any sane overhead */
        if (n < 0) {
            refuse(c, n == CR_EFRAMETOOBIG ? 413 : 400, (int)n,
                   n == CR_EFRAMETOOBIG ? "Request size exceeds the limit"
                                        : "malformed chunked body");
            return -1;
        }
        if (n == 0)
            return 0;
        c->msg_len = h->head_len + (size_t)n;
    } else {
        body_len = h->has_length ? (size_t)h->content_length : 0;
        c->msg_len = h->head_len + body_len;
        if (c->in_len < c->msg_len) {
            if (conn_reserve(c, c->msg_len) < 0) {
                refuse(c, 413, CR_EFRAMETOOBIG, "no memory for the request body");
                return -1;
            }
            return 0;
        }
    }
    dispatch(c, c->in + h->head_len, body_len);
    return 1;
}

/* Serves every complete request in the input, one at a time. May free c. */
static void process(struct h1_conn *c)
{
    c->dispatching = true;
    while (!c->busy && !c->dead && !c->closing && c->out_off == c->out_len) {
        if (next_request(c) <= 0)
            break;
    }
    c->dispatching = false;
    if (c->dead && !c->busy) {
        conn_free(c);
        return;
    }
    if (!c->busy && c->closing && c->out_off == c->out_len) {
        conn_linger(c);
        return;
    }
    if (!c->busy && c->in_len == 0 && c->in_cap > IN_KEEP) {
        free(c->in); /* a large body has gone: do not keep its buffer per connection */
        c->in = NULL;
        c->in_cap = 0;
    }
    conn_update(c);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h1_conn *c = arg;
    struct http_loop *l = c->loop;
    ssize_t n;

    if (what & EV_TIMEOUT) {
        conn_free(c); /* idle, or lingering long enough */
        return;
    }
    if (c->lingering) {
        char sink[4096];

        do
            n = read(fd, sink, sizeof sink);
        while (n < 0 && errno == EINTR);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            conn_free(c);
        return;
    }
    if (c->in_cap - c->in_len < READ_MIN && conn_reserve(c, c->in_len + READ_MIN) < 0) {
        cr_log(CR_LOG_ERROR, "http: out of memory reading a request");
        conn_free(c);
        return;
    }
    do
        n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
    while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        conn_free(c); /* EOF: not between requests, or a half request, both end here */
        return;
    }
    if (n > 0)
        c->in_len += (size_t)n;
    /* Every request in the input arrived before this point: the STRONG reads among those served
     * now share a ReadIndex round begun after it (ops_read_batch_begin). */
    ops_read_batch_begin(&l->oc);
    process(c); /* may free c */
    ops_read_batch_end(&l->oc);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h1_conn *c = arg;
    ssize_t n;

    do
        n = write(fd, c->out + c->out_off, c->out_len - c->out_off);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        conn_free(c);
        return;
    }
    if (n > 0)
        c->out_off += (size_t)n;
    if (c->out_off < c->out_len)
        return;
    c->out_off = c->out_len = 0;
    conn_after_answer(c);
}

static void conn_new(struct http_loop *l, evutil_socket_t fd)
{
    struct h1_conn *c = calloc(1, sizeof *c);
    int one = 1;

    if (c) {
        c->rev = event_new(l->base, fd, EV_READ | EV_PERSIST, read_cb, c);
        c->wev = event_new(l->base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
    }
    if (!c || !c->rev || !c->wev) {
        cr_log(CR_LOG_ERROR, "http: out of memory for a connection");
        if (c && c->rev)
            event_free(c->rev);
        if (c && c->wev)
            event_free(c->wev);
        free(c);
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->loop = l;
    c->fd = fd;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->n_conns++;
    conn_update(c);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    struct http_loop *l = arg;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        evutil_socket_t fd = accept(lfd, NULL, NULL);

        if (fd >= 0) {
            if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0)
                close(fd);
            else
                conn_new(l, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};

            cr_log(CR_LOG_WARN, "http: accept: %s; pausing %d ms", strerror(errno),
                   ACCEPT_RETRY_MS);
            event_del(l->accept_ev);
            event_add(l->accept_retry_ev, &tv);
        }
        return;
    }
}

static void accept_retry_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_loop *l = arg;

    if (!l->draining)
        event_add(l->accept_ev, NULL);
}

/* ---- loops -------------------------------------------------------------------------------- */

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

static void grace_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_loop *l = arg;

    l->grace_over = true;
    maybe_exit(l);
}

static void stop_cb(evutil_socket_t unused, short what, void *arg)
{
    struct http_loop *l = arg;
    struct timeval tv = {CR_SHUTDOWN_GRACE_MS / 1000, (CR_SHUTDOWN_GRACE_MS % 1000) * 1000};
    struct h1_conn *c, *next;

    event_del(l->accept_ev);
    event_del(l->accept_retry_ev);
    close(l->listen_fd);
    l->listen_fd = -1;
    l->draining = true;
    for (c = l->conns; c; c = next) {
        next = c->next;
        c->closing = true;
        if (!c->busy && c->out_off == c->out_len)
            conn_free(c); /* idle or mid-request: nothing of it was proposed */
    }
    event_add(l->grace_ev, &tv);
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
    /* SO_KEEPALIVE is inherited by accepted sockets: dead peers are found eventually. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) < 0 || listen(fd, CR_LISTEN_BACKLOG) < 0 ||
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
        l->listen_fd = fd;
        l->accept_ev = event_new(l->base, fd, EV_READ | EV_PERSIST, accept_cb, l);
        if (!l->accept_ev || event_add(l->accept_ev, NULL) < 0)
            rc = -ENOMEM;
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

    l->server = h;
    l->id_seed = id_seed + idx;
    if (log_completer_init(&l->completer, notify, l) < 0)
        return errmsg_set(e, CR_ENOMEM, "cannot create the HTTP completer");
    l->completer_ready = true;
    ops_conn_init(h->ops, &l->completer, &l->oc);
    l->oc_ready = true;
    l->base = net_base_new();
    if (l->base) {
        l->complete_ev = event_new(l->base, -1, 0, complete_cb, l);
        l->stop_ev = event_new(l->base, -1, 0, stop_cb, l);
        l->grace_ev = evtimer_new(l->base, grace_cb, l);
        l->accept_retry_ev = evtimer_new(l->base, accept_retry_cb, l);
    }
    if (!l->base || !l->complete_ev || !l->stop_ev || !l->grace_ev || !l->accept_retry_ev)
        return errmsg_set(e, CR_ENOMEM, "cannot create the HTTP event loop");
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
    for (unsigned i = 0; i < n; i++)
        h->loops[i].listen_fd = -1;
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
    while (l->conns) {
        struct h1_conn *c = l->conns;

        CR_ASSERT(!c->busy); /* the log has stopped: every request was answered */
        conn_free(c);
    }
    while (l->spare) {
        struct http_req *r = l->spare;

        l->spare = r->data;
        cr_arena_free(&r->arena);
        free(r);
    }
    if (l->accept_ev)
        event_free(l->accept_ev);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    if (l->accept_retry_ev)
        event_free(l->accept_retry_ev);
    if (l->grace_ev)
        event_free(l->grace_ev);
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
