/*
 * libcirrus connections: the socket, framing (u32 big-endian length | protobuf message), the
 * synchronous calls and the pipelined interface of cirrus.h. Every wait is a poll() bounded by
 * the call's deadline; the socket is non-blocking and never raises SIGPIPE. Value conversion
 * lives in pbvalue.c; nothing here keeps global state.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/pbvalue.h"
#include "common/buf.h"

/* Queued pipelined requests are written once this much accumulates. */
#define FLUSH_AT (64u * 1024u)
#define READ_CHUNK (64u * 1024u)

struct cirrus {
    int fd;
    int timeout_ms;
    uint32_t max_frame;
    int broken; /* 0, or the CR_ECLOSED / CR_EPROTO that made the connection unusable */
    uint64_t next_id;
    uint64_t applied_index;
    uint64_t lag;
    struct cr_buf out; /* frames not yet written, from out_off */
    size_t out_off;
    struct cr_buf in; /* bytes read, not yet consumed, from in_off */
    size_t in_off;
    struct cr_arena arena; /* the request being built; reset per request */
    char errmsg[512];
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -1: no deadline. */
static int64_t deadline_of(const struct cirrus *c)
{
    return c->timeout_ms > 0 ? now_ms() + c->timeout_ms : -1;
}

static int remaining(int64_t deadline)
{
    int64_t left;

    if (deadline < 0)
        return -1;
    left = deadline - now_ms();
    return left > 0 ? (int)left : 0;
}

static int set_err(struct cirrus *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct cirrus *c, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

/* Marks the connection unusable: the byte stream is no longer in step with the frames. */
static int fail(struct cirrus *c, int code)
{
    c->broken = code;
    return code;
}

/* Waits for `events` on the socket. 0, or CR_ETIMEOUT. */
static int wait_for(struct cirrus *c, short events, int64_t deadline)
{
    struct pollfd p = {.fd = c->fd, .events = events};
    int n;

    for (;;) {
        int left = remaining(deadline);

        if (left == 0)
            return set_err(c, CR_ETIMEOUT, "timed out after %d ms", c->timeout_ms);
        n = poll(&p, 1, left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return fail(c, set_err(c, CR_ECLOSED, "poll: %s", strerror(errno)));
    }
}

static int flush_until(struct cirrus *c, int64_t deadline)
{
    ssize_t n;
    int rc;

    while (c->out_off < c->out.len) {
        n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((rc = wait_for(c, POLLOUT, deadline)) != 0)
                return rc;
            continue;
        }
        return fail(c, set_err(c, CR_ECLOSED, "send: %s", n < 0 ? strerror(errno) : "closed"));
    }
    cr_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

/*
 * Reads until one whole frame is buffered; *data and *len then point into c->in (valid until the
 * next read) and the frame is consumed. A partial frame stays buffered across a timeout, so
 * the stream stays in step.
 */
static int read_frame(struct cirrus *c, int64_t deadline, const uint8_t **data, size_t *len)
{
    ssize_t n;
    size_t have;
    uint32_t flen;
    int rc;

    for (;;) {
        have = c->in.len - c->in_off;
        if (have >= 4) {
            flen = cr_get_u32be(c->in.data + c->in_off);
            if (flen > c->max_frame)
                return fail(c, set_err(c, CR_EPROTO,
                                       "response frame of %u bytes exceeds the "
                                       "client limit of %u",
                                       flen, c->max_frame));
            if (have - 4 >= flen) {
                *data = c->in.data + c->in_off + 4;
                *len = flen;
                c->in_off += 4 + (size_t)flen;
                return 0;
            }
        }
        if (c->in_off > 0) {
            memmove(c->in.data, c->in.data + c->in_off, have);
            c->in.len = have;
            c->in_off = 0;
        }
        if (cr_buf_reserve(&c->in, READ_CHUNK) != 0)
            return set_err(c, CR_ENOMEM, "out of memory");
        n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, MSG_DONTWAIT);
        if (n > 0) {
            c->in.len += (size_t)n;
            continue;
        }
        if (n == 0)
            return fail(c, set_err(c, CR_ECLOSED, "server closed the connection%s",
                                   have > 0 ? " in the middle of a frame" : ""));
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if ((rc = wait_for(c, POLLIN, deadline)) != 0)
                return rc;
            continue;
        }
        return fail(c, set_err(c, CR_ECLOSED, "recv: %s", strerror(errno)));
    }
}

/* Flushes queued requests, then reads and decodes the next response (any id). */
static int next_response(struct cirrus *c, int64_t deadline, Cirrus__Response **out)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    int rc;

    if ((rc = flush_until(c, deadline)) != 0)
        return rc;
    if ((rc = read_frame(c, deadline, &data, &len)) != 0)
        return rc;
    *out = cirrus__response__unpack(NULL, len, data);
    if (*out == NULL)
        return fail(c, set_err(c, CR_EPROTO, "undecodable response frame of %zu bytes", len));
    c->applied_index = (*out)->applied_index;
    c->lag = (*out)->lag;
    return 0;
}

/* The code a response carries; records its message. */
static int response_code(struct cirrus *c, const Cirrus__Response *r)
{
    int code = r->error_code;

    if (code == 0)
        return set_err(c, 0, "ok");
    if (code > 0)
        return set_err(c, CR_EPROTO, "server sent a positive error code %d", code);
    if (r->error_message != NULL && r->error_message[0] != '\0')
        return set_err(c, code, "%s", r->error_message);
    return set_err(c, code, "%s", cr_strerror(code));
}

/* Assigns the request an id and queues its frame. */
static int queue(struct cirrus *c, Cirrus__Request *req)
{
    size_t size;
    int rc;

    if (c->broken)
        return set_err(c, c->broken, "connection is no longer usable");
    req->id = ++c->next_id;
    size = cirrus__request__get_packed_size(req);
    if (size > c->max_frame)
        return set_err(c, CR_EFRAMETOOBIG, "request of %zu bytes exceeds the frame limit of %u",
                       size, c->max_frame);
    if ((rc = cr_buf_reserve(&c->out, 4 + size)) != 0)
        return set_err(c, rc, "out of memory");
    cr_put_u32be(c->out.data + c->out.len, (uint32_t)size);
    cirrus__request__pack(req, c->out.data + c->out.len + 4);
    c->out.len += 4 + size;
    return 0;
}

/*
 * Sends req and waits for the response with its id. Responses with older ids are late answers
 * to timed-out calls and are skipped. On success *out is the caller's to free; the return is
 * the response's code (a failed response is still returned in *out).
 */
static int call(struct cirrus *c, Cirrus__Request *req, Cirrus__Response **out)
{
    int64_t deadline = deadline_of(c);
    Cirrus__Response *r;
    int rc;

    *out = NULL;
    rc = queue(c, req);
    cr_arena_reset(&c->arena);
    if (rc != 0)
        return rc;
    for (;;) {
        if ((rc = next_response(c, deadline, &r)) != 0)
            return rc;
        if (r->id == req->id)
            break;
        if (r->id == 0 && r->error_code < 0) {
            /* The server could not read a frame (too big, undecodable), so it could not know the
             * request's id: the error is about the connection, which the server now closes. */
            rc = response_code(c, r);
            cirrus__response__free_unpacked(r, NULL);
            return fail(c, rc);
        }
        if (r->id > req->id) {
            rc = set_err(c, CR_EPROTO, "response to unknown request %llu",
                         (unsigned long long)r->id);
            cirrus__response__free_unpacked(r, NULL);
            return fail(c, rc);
        }
        cirrus__response__free_unpacked(r, NULL);
    }
    *out = r;
    return response_code(c, r);
}

/* ---- connections ---- */

static int connect_one(struct cirrus *c, const struct addrinfo *ai, int64_t deadline)
{
    int fd, err = 0, one = 1;
    socklen_t elen = sizeof(err);

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            err = errno;
            close(fd);
            return -err;
        }
        c->fd = fd;
        if (wait_for(c, POLLOUT, deadline) != 0) {
            c->fd = -1;
            close(fd);
            return -ETIMEDOUT;
        }
        c->fd = -1;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
            err = errno;
        if (err != 0) {
            close(fd);
            return -err;
        }
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int cirrus_connect(const char *host, int port, int timeout_ms, struct cirrus **out)
{
    struct addrinfo hints, *res, *ai;
    char portstr[16];
    struct cirrus *c;
    int64_t deadline;
    int fd = -ETIMEDOUT, gai;

    *out = NULL;
    if (host == NULL || port <= 0 || port > 65535)
        return CR_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return CR_ENOMEM;
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->max_frame = CIRRUS_DEFAULT_MAX_FRAME;
    cr_buf_init(&c->out);
    cr_buf_init(&c->in);
    cr_arena_init(&c->arena, 4096);
    deadline = deadline_of(c);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%d", port);
    gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        cirrus_close(c);
        return CR_ECONNECT;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = connect_one(c, ai, deadline);
        if (fd >= 0)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        cirrus_close(c);
        return CR_ECONNECT;
    }
    c->fd = fd;
    c->broken = 0;
    set_err(c, 0, "ok");
    *out = c;
    return 0;
}

void cirrus_close(struct cirrus *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    cr_buf_free(&c->out);
    cr_buf_free(&c->in);
    cr_arena_free(&c->arena);
    free(c);
}

void cirrus_set_timeout(struct cirrus *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

void cirrus_set_max_frame(struct cirrus *c, uint32_t bytes)
{
    c->max_frame = bytes;
}

const char *cirrus_errmsg(const struct cirrus *c)
{
    return c->errmsg;
}

uint64_t cirrus_last_applied_index(const struct cirrus *c)
{
    return c->applied_index;
}

uint64_t cirrus_last_lag(const struct cirrus *c)
{
    return c->lag;
}

/* ---- request pieces (all from c->arena) ---- */

static void *alloc(struct cirrus *c, size_t n)
{
    return cr_arena_alloc(&c->arena, n);
}

#define NEW(c, type, init, var)                                                                    \
    do {                                                                                           \
        static const type var##_init = init;                                                       \
        if ((var = alloc(c, sizeof(type))) == NULL)                                                \
            return set_err(c, CR_ENOMEM, "out of memory");                                         \
        *var = var##_init;                                                                         \
    } while (0)

static int bad_arg(struct cirrus *c, int rc, const char *what)
{
    return set_err(c, rc, "%s: %s", what, cr_strerror(rc));
}

static int make_read(struct cirrus *c, const struct cirrus_read_opts *ro, Cirrus__ReadOptions **out)
{
    Cirrus__ReadOptions *r;

    *out = NULL;
    if (ro == NULL)
        return 0;
    NEW(c, Cirrus__ReadOptions, CIRRUS__READ_OPTIONS__INIT, r);
    r->consistency = (Cirrus__Consistency)ro->consistency;
    r->session_token = ro->session_token;
    r->max_lag_entries = ro->max_lag_entries;
    r->max_lag_ms = ro->max_lag_ms;
    *out = r;
    return 0;
}

static int make_cond(struct cirrus *c, const struct cirrus_write_opts *wo,
                     Cirrus__WriteCondition **out)
{
    Cirrus__WriteCondition *w;
    int rc;

    *out = NULL;
    if (wo == NULL || wo->condition == CIRRUS_COND_NONE)
        return 0;
    NEW(c, Cirrus__WriteCondition, CIRRUS__WRITE_CONDITION__INIT, w);
    w->type = (Cirrus__Condition)wo->condition;
    if (wo->condition == CIRRUS_COND_EQUALS) {
        if (wo->attr == NULL || wo->value == NULL)
            return bad_arg(c, CR_EINVAL, "condition");
        w->attribute = (char *)wo->attr;
        if ((rc = pbvalue_encode(&c->arena, wo->value, &w->value)) != 0)
            return bad_arg(c, rc, "condition value");
    }
    *out = w;
    return 0;
}

static int make_put(struct cirrus *c, const char *table, const struct cirrus_value *item,
                    const struct cirrus_write_opts *wo, Cirrus__PutItemRequest **out)
{
    Cirrus__PutItemRequest *p;
    int rc;

    NEW(c, Cirrus__PutItemRequest, CIRRUS__PUT_ITEM_REQUEST__INIT, p);
    p->table = (char *)table;
    if ((rc = pbvalue_encode_map(&c->arena, item, &p->item)) != 0)
        return bad_arg(c, rc, "item");
    if ((rc = make_cond(c, wo, &p->condition)) != 0)
        return rc;
    p->return_old = wo != NULL && wo->return_old;
    *out = p;
    return 0;
}

static int make_delete(struct cirrus *c, const char *table, const struct cirrus_value *key,
                       const struct cirrus_write_opts *wo, Cirrus__DeleteItemRequest **out)
{
    Cirrus__DeleteItemRequest *d;
    int rc;

    NEW(c, Cirrus__DeleteItemRequest, CIRRUS__DELETE_ITEM_REQUEST__INIT, d);
    d->table = (char *)table;
    if ((rc = pbvalue_encode_map(&c->arena, key, &d->key)) != 0)
        return bad_arg(c, rc, "key");
    if ((rc = make_cond(c, wo, &d->condition)) != 0)
        return rc;
    d->return_old = wo != NULL && wo->return_old;
    *out = d;
    return 0;
}

static int make_get(struct cirrus *c, const char *table, const struct cirrus_value *key,
                    const struct cirrus_read_opts *ro, Cirrus__GetItemRequest **out)
{
    Cirrus__GetItemRequest *g;
    int rc;

    NEW(c, Cirrus__GetItemRequest, CIRRUS__GET_ITEM_REQUEST__INIT, g);
    g->table = (char *)table;
    if ((rc = pbvalue_encode_map(&c->arena, key, &g->key)) != 0)
        return bad_arg(c, rc, "key");
    if ((rc = make_read(c, ro, &g->read)) != 0)
        return rc;
    *out = g;
    return 0;
}

/* ---- result pieces ---- */

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

static int take_table(struct cirrus *c, const Cirrus__TableDescription *td,
                      struct cirrus_table_desc *out)
{
    const Cirrus__TableSchema *s;

    if (td == NULL)
        return 0;
    out->table_id = td->table_id;
    out->item_count = td->item_count;
    out->size_bytes = td->size_bytes;
    out->created_ms = td->created_ms;
    out->created_index = td->created_index;
    s = td->schema;
    if (s == NULL)
        return 0;
    out->name = strdup(s->name);
    if (out->name == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    if (s->partition_key != NULL) {
        out->pk_name = strdup(s->partition_key->name);
        out->pk_type = (enum cirrus_key_type)s->partition_key->type;
        if (out->pk_name == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
    }
    if (s->sort_key != NULL) {
        out->sk_name = strdup(s->sort_key->name);
        out->sk_type = (enum cirrus_key_type)s->sort_key->type;
        if (out->sk_name == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
    }
    return 0;
}

static int take_map(struct cirrus *c, const Cirrus__MapValue *m, struct cirrus_value *out)
{
    int rc;

    if (m == NULL)
        return 0;
    rc = pbvalue_decode_map(m, out);
    return rc != 0 ? set_err(c, rc, "decoding an item: %s", cr_strerror(rc)) : 0;
}

static int take_items(struct cirrus *c, const Cirrus__QueryResponse *q, struct cirrus_result *out)
{
    size_t i;
    int rc;

    if (q == NULL)
        return 0;
    out->scanned = q->scanned;
    if (q->cursor.len > 0) {
        if ((out->cursor = malloc(q->cursor.len)) == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
        memcpy(out->cursor, q->cursor.data, q->cursor.len);
        out->cursor_len = q->cursor.len;
    }
    if (q->n_items == 0)
        return 0;
    if ((out->items = calloc(q->n_items, sizeof(*out->items))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < q->n_items; i++) {
        if ((rc = take_map(c, q->items[i], &out->items[i])) != 0)
            return rc;
        out->n_items = i + 1;
    }
    return 0;
}

static int take_collection(struct cirrus *c, const Cirrus__CollectionDescription *d,
                           struct cirrus_collection_desc *out)
{
    const Cirrus__CollectionSchema *s;

    if (d == NULL)
        return 0;
    out->id = d->collection_id;
    out->doc_count = d->document_count;
    out->size_bytes = d->size_bytes;
    out->created_ms = d->created_ms;
    out->created_index = d->created_index;
    s = d->schema;
    if (s == NULL)
        return 0;
    out->db = strdup(s->db);
    out->name = strdup(s->name);
    out->pk_path = dup_or_null(s->partition_key_path);
    if (out->db == NULL || out->name == NULL || (s->partition_key_path[0] && !out->pk_path))
        return set_err(c, CR_ENOMEM, "out of memory");
    return 0;
}

static int take_collections(struct cirrus *c, const Cirrus__ListCollectionsResponse *l,
                            struct cirrus_result *out)
{
    size_t i;
    int rc;

    if (l->last_evaluated[0] && (out->last_evaluated = strdup(l->last_evaluated)) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    if (l->n_collections == 0)
        return 0;
    if ((out->collections = calloc(l->n_collections, sizeof(*out->collections))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < l->n_collections; i++) {
        out->n_collections = i + 1;
        if ((rc = take_collection(c, l->collections[i], &out->collections[i])) != 0)
            return rc;
    }
    return 0;
}

static int take_doc(struct cirrus *c, const Cirrus__DocumentResponse *d, struct cirrus_result *out)
{
    out->update_ms = d->update_ms;
    if (d->etag[0] && (out->etag = strdup(d->etag)) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    return take_map(c, d->document, &out->item);
}

static int take_results(struct cirrus *c, const Cirrus__SqlResponse *s, struct cirrus_result *out)
{
    size_t i;
    int rc;

    out->scanned = s->scanned;
    if (s->continuation.len > 0) {
        if ((out->cursor = malloc(s->continuation.len)) == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
        memcpy(out->cursor, s->continuation.data, s->continuation.len);
        out->cursor_len = s->continuation.len;
    }
    if (s->n_results == 0)
        return 0;
    if ((out->items = calloc(s->n_results, sizeof(*out->items))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < s->n_results; i++) {
        if ((rc = pbvalue_decode(s->results[i], &out->items[i])) != 0)
            return set_err(c, rc, "decoding a result: %s", cr_strerror(rc));
        out->n_items = i + 1;
    }
    return 0;
}

static int take_tables(struct cirrus *c, const Cirrus__ListTablesResponse *l,
                       struct cirrus_result *out)
{
    size_t i;

    if (l == NULL)
        return 0;
    if (l->n_tables > 0 && (out->tables = calloc(l->n_tables, sizeof(char *))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < l->n_tables; i++) {
        if ((out->tables[i] = strdup(l->tables[i])) == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
        out->n_tables = i + 1;
    }
    out->last_evaluated = dup_or_null(l->last_evaluated);
    if (l->last_evaluated != NULL && l->last_evaluated[0] != '\0' && out->last_evaluated == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    return 0;
}

static int take_results_of(struct cirrus *c, Cirrus__WriteResult *const *results, size_t n,
                           struct cirrus_result *out)
{
    size_t i;
    int rc;

    if (n == 0)
        return 0;
    if ((out->writes = calloc(n, sizeof(*out->writes))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        out->writes[i].code = results[i]->error_code;
        out->n_writes = i + 1;
        if ((rc = take_map(c, results[i]->old_item, &out->writes[i].old_item)) != 0)
            return rc;
    }
    return 0;
}

static int take_writes(struct cirrus *c, const Cirrus__BatchWriteResponse *b,
                       struct cirrus_result *out)
{
    return b == NULL ? 0 : take_results_of(c, b->results, b->n_results, out);
}

static void take_voters(const uint64_t *v, size_t n, struct cirrus_stats *out)
{
    out->n_voters = n < CIRRUS_MAX_VOTERS ? n : CIRRUS_MAX_VOTERS;
    if (out->n_voters)
        memcpy(out->voters, v, out->n_voters * sizeof *v);
}

static void take_faults(const Cirrus__ClusterFaultResponse *m, struct cirrus_result *out)
{
    size_t n = m->n_faults < CIRRUS_MAX_FAULTS ? m->n_faults : CIRRUS_MAX_FAULTS;

    for (size_t i = 0; i < n; i++) {
        const Cirrus__ClusterFault *f = m->faults[i];

        out->faults[i] = (struct cirrus_fault){.peer = f->peer,
                                               .drop_out = f->drop_out,
                                               .drop_in = f->drop_in,
                                               .delay_ms = f->delay_ms,
                                               .jitter_ms = f->jitter_ms,
                                               .loss_pct = f->loss_pct};
    }
    out->n_faults = n;
}

static void take_stats(const Cirrus__StatsResponse *s, struct cirrus_stats *out)
{
    if (s == NULL)
        return;
    out->applied_index = s->applied_index;
    out->tables = s->tables;
    out->connections = s->connections;
    out->requests = s->requests;
    out->writes = s->writes;
    out->commits = s->commits;
    out->uptime_ms = s->uptime_ms;
    out->map_size = s->map_size;
    out->used_bytes = s->used_bytes;
    out->node_id = s->node_id;
    out->role = s->role;
    out->term = s->term;
    out->leader_id = s->leader_id;
    out->commit_index = s->commit_index;
    take_voters(s->voters, s->n_voters, out);
    out->snapshot_index = s->snapshot_index;
    out->snapshots_sent = s->snapshots_sent;
    out->snapshots_installed = s->snapshots_installed;
}

/*
 * Checks that a successful response carries the expected result (NOT_SET is accepted: an
 * empty message of proto3 may be sent as nothing). Copies what it carries into *out. Frees r.
 */
static int take_graph_desc(struct cirrus *c, const Cirrus__GraphDescription *d,
                           struct cirrus_graph_desc *out)
{
    if (d == NULL)
        return 0;
    out->id = d->graph_id;
    out->created_ms = d->created_ms;
    out->created_index = d->created_index;
    if ((out->name = strdup(d->name)) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    return 0;
}

static int take_values(struct cirrus *c, Cirrus__Value *const *v, size_t n,
                       struct cirrus_result *out)
{
    size_t i;
    int rc;

    if (n == 0)
        return 0;
    if ((out->items = calloc(n, sizeof(*out->items))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        if ((rc = pbvalue_decode(v[i], &out->items[i])) != 0)
            return set_err(c, rc, "decoding a result: %s", cr_strerror(rc));
        out->n_items = i + 1;
    }
    return 0;
}

static int take_graphs(struct cirrus *c, const Cirrus__ListGraphsResponse *l,
                       struct cirrus_result *out)
{
    size_t i;
    int rc;

    if (l->last_evaluated[0] && (out->last_evaluated = strdup(l->last_evaluated)) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    if (l->n_graphs == 0)
        return 0;
    if ((out->graphs = calloc(l->n_graphs, sizeof(*out->graphs))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < l->n_graphs; i++) {
        out->n_graphs = i + 1;
        if ((rc = take_graph_desc(c, l->graphs[i], &out->graphs[i])) != 0)
            return rc;
    }
    return 0;
}

static int take_neighbors(struct cirrus *c, const Cirrus__NeighborsResponse *nr,
                          struct cirrus_result *out)
{
    size_t i;
    int rc = 0;

    out->more = nr->more;
    if (nr->n_neighbors == 0)
        return 0;
    if ((out->neighbors = calloc(nr->n_neighbors, sizeof(*out->neighbors))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (i = 0; i < nr->n_neighbors && rc == 0; i++) {
        const Cirrus__Neighbor *x = nr->neighbors[i];
        struct cirrus_neighbor *y = &out->neighbors[i];

        out->n_neighbors = i + 1;
        y->dir = x->direction == CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_IN ? CIRRUS_DIR_IN
                                                                             : CIRRUS_DIR_OUT;
        if (x->vertex == NULL || x->vertex_label == NULL || x->edge == NULL ||
            x->edge_label == NULL)
            return set_err(c, CR_EPROTO, "a neighbour without its vertex or edge");
        if ((rc = pbvalue_decode(x->vertex, &y->vertex)) == 0 &&
            (rc = pbvalue_decode(x->vertex_label, &y->vertex_label)) == 0 &&
            (rc = pbvalue_decode(x->edge, &y->edge)) == 0)
            rc = pbvalue_decode(x->edge_label, &y->edge_label);
    }
    return rc != 0 ? set_err(c, rc, "decoding a neighbour: %s", cr_strerror(rc)) : 0;
}

/* The results of the graph requests. */
static int take_graph(struct cirrus *c, const Cirrus__Response *r, struct cirrus_result *out)
{
    int rc;

    switch (r->result_case) {
    case CIRRUS__RESPONSE__RESULT_CREATE_GRAPH:
        return take_graph_desc(c, r->create_graph->graph, &out->graph);
    case CIRRUS__RESPONSE__RESULT_DROP_GRAPH:
        return take_graph_desc(c, r->drop_graph->graph, &out->graph);
    case CIRRUS__RESPONSE__RESULT_GET_GRAPH:
        return take_graph_desc(c, r->get_graph->graph, &out->graph);
    case CIRRUS__RESPONSE__RESULT_LIST_GRAPHS:
        return take_graphs(c, r->list_graphs, out);
    case CIRRUS__RESPONSE__RESULT_GREMLIN:
        out->mutations = r->gremlin->mutations;
        return take_values(c, r->gremlin->results, r->gremlin->n_results, out);
    case CIRRUS__RESPONSE__RESULT_NEIGHBORS:
        return take_neighbors(c, r->neighbors, out);
    case CIRRUS__RESPONSE__RESULT_KHOP:
        if (r->khop->n_depths != r->khop->n_vertices)
            return set_err(c, CR_EPROTO, "k-hop depths do not match its vertices");
        if (r->khop->n_depths) {
            if ((out->depths = malloc(r->khop->n_depths * sizeof(*out->depths))) == NULL)
                return set_err(c, CR_ENOMEM, "out of memory");
            memcpy(out->depths, r->khop->depths, r->khop->n_depths * sizeof(*out->depths));
        }
        return take_values(c, r->khop->vertices, r->khop->n_vertices, out);
    case CIRRUS__RESPONSE__RESULT_SHORTEST_PATH:
        out->scanned = r->shortest_path->visited;
        rc = take_values(c, r->shortest_path->path, r->shortest_path->n_path, out);
        return rc;
    case CIRRUS__RESPONSE__RESULT_LOAD_EDGES:
        out->vertices_created = r->load_edges->vertices;
        return 0;
    case CIRRUS__RESPONSE__RESULT_LOAD_GRAPH:
        out->vertices_created = r->load_graph->vertices;
        out->edges_created = r->load_graph->edges;
        return 0;
    default:
        return 0;
    }
}

static int finish(struct cirrus *c, int rc, Cirrus__Response *r, Cirrus__Response__ResultCase want,
                  struct cirrus_result *out)
{
    int trc = 0;

    if (r == NULL)
        return rc;
    if (r->result_case != want && r->result_case != CIRRUS__RESPONSE__RESULT__NOT_SET) {
        if (rc == 0)
            rc = fail(c, set_err(c, CR_EPROTO, "response of the wrong kind (%d, wanted %d)",
                                 (int)r->result_case, (int)want));
        cirrus__response__free_unpacked(r, NULL);
        return rc;
    }
    if (out != NULL && r->result_case == want) {
        switch (want) {
        case CIRRUS__RESPONSE__RESULT_CREATE_TABLE:
            trc = take_table(c, r->create_table->table, &out->table);
            break;
        case CIRRUS__RESPONSE__RESULT_DELETE_TABLE:
            trc = take_table(c, r->delete_table->table, &out->table);
            break;
        case CIRRUS__RESPONSE__RESULT_DESCRIBE_TABLE:
            trc = take_table(c, r->describe_table->table, &out->table);
            break;
        case CIRRUS__RESPONSE__RESULT_LIST_TABLES:
            trc = take_tables(c, r->list_tables, out);
            break;
        case CIRRUS__RESPONSE__RESULT_PUT_ITEM:
            trc = take_map(c, r->put_item->old_item, &out->item);
            break;
        case CIRRUS__RESPONSE__RESULT_GET_ITEM:
            trc = take_map(c, r->get_item->item, &out->item);
            break;
        case CIRRUS__RESPONSE__RESULT_DELETE_ITEM:
            trc = take_map(c, r->delete_item->old_item, &out->item);
            break;
        case CIRRUS__RESPONSE__RESULT_QUERY:
            trc = take_items(c, r->query, out);
            break;
        case CIRRUS__RESPONSE__RESULT_SCAN:
            trc = take_items(c, r->scan, out);
            break;
        case CIRRUS__RESPONSE__RESULT_BATCH_WRITE:
            trc = take_writes(c, r->batch_write, out);
            break;
        case CIRRUS__RESPONSE__RESULT_STATS:
            take_stats(r->stats, &out->stats);
            break;
        case CIRRUS__RESPONSE__RESULT_CLUSTER_MEMBER:
            out->change_index = r->cluster_member->index;
            take_voters(r->cluster_member->voters, r->cluster_member->n_voters, &out->stats);
            break;
        case CIRRUS__RESPONSE__RESULT_CLUSTER_FAULT:
            take_faults(r->cluster_fault, out);
            break;
        case CIRRUS__RESPONSE__RESULT_CREATE_COLLECTION:
            trc = take_collection(c, r->create_collection->collection, &out->collection);
            break;
        case CIRRUS__RESPONSE__RESULT_DROP_COLLECTION:
            trc = take_collection(c, r->drop_collection->collection, &out->collection);
            break;
        case CIRRUS__RESPONSE__RESULT_GET_COLLECTION:
            trc = take_collection(c, r->get_collection->collection, &out->collection);
            break;
        case CIRRUS__RESPONSE__RESULT_LIST_COLLECTIONS:
            trc = take_collections(c, r->list_collections, out);
            break;
        case CIRRUS__RESPONSE__RESULT_WRITE_DOCUMENT:
            trc = take_doc(c, r->write_document, out);
            break;
        case CIRRUS__RESPONSE__RESULT_GET_DOCUMENT:
            trc = take_doc(c, r->get_document, out);
            break;
        case CIRRUS__RESPONSE__RESULT_PATCH_DOCUMENT:
            trc = take_doc(c, r->patch_document, out);
            break;
        case CIRRUS__RESPONSE__RESULT_WRITE_DOCUMENTS:
            trc =
                take_results_of(c, r->write_documents->results, r->write_documents->n_results, out);
            break;
        case CIRRUS__RESPONSE__RESULT_SQL:
            trc = take_results(c, r->sql, out);
            break;
        default:
            trc = take_graph(c, r, out);
            break;
        }
    }
    cirrus__response__free_unpacked(r, NULL);
    return rc != 0 ? rc : trc;
}

/* Every call starts here: an empty result and an empty arena for the request. */
static void start(struct cirrus *c, struct cirrus_result *out)
{
    cr_arena_reset(&c->arena);
    if (out != NULL)
        memset(out, 0, sizeof(*out));
}

/* ---- synchronous calls ---- */

int cirrus_ping(struct cirrus *c)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__PingRequest ping = CIRRUS__PING_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, NULL);
    req.op_case = CIRRUS__REQUEST__OP_PING;
    req.ping = &ping;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_PING, NULL);
}

int cirrus_create_table(struct cirrus *c, const char *name, const char *pk_name,
                        enum cirrus_key_type pk_type, const char *sk_name,
                        enum cirrus_key_type sk_type, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__CreateTableRequest ct = CIRRUS__CREATE_TABLE_REQUEST__INIT;
    Cirrus__TableSchema schema = CIRRUS__TABLE_SCHEMA__INIT;
    Cirrus__KeyAttribute pk = CIRRUS__KEY_ATTRIBUTE__INIT, sk = CIRRUS__KEY_ATTRIBUTE__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if (name == NULL || pk_name == NULL)
        return set_err(c, CR_EINVAL, "a table needs a name and a partition key");
    schema.name = (char *)name;
    pk.name = (char *)pk_name;
    pk.type = (Cirrus__KeyType)pk_type;
    schema.partition_key = &pk;
    if (sk_name != NULL) {
        sk.name = (char *)sk_name;
        sk.type = (Cirrus__KeyType)sk_type;
        schema.sort_key = &sk;
    }
    ct.schema = &schema;
    req.op_case = CIRRUS__REQUEST__OP_CREATE_TABLE;
    req.create_table = &ct;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_CREATE_TABLE, out);
}

int cirrus_delete_table(struct cirrus *c, const char *name, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__DeleteTableRequest dt = CIRRUS__DELETE_TABLE_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    dt.table = (char *)name;
    req.op_case = CIRRUS__REQUEST__OP_DELETE_TABLE;
    req.delete_table = &dt;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_DELETE_TABLE, out);
}

int cirrus_describe_table(struct cirrus *c, const char *name, const struct cirrus_read_opts *ro,
                          struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__DescribeTableRequest dt = CIRRUS__DESCRIBE_TABLE_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    dt.table = (char *)name;
    if ((rc = make_read(c, ro, &dt.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_DESCRIBE_TABLE;
    req.describe_table = &dt;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_DESCRIBE_TABLE, out);
}

int cirrus_list_tables(struct cirrus *c, const char *exclusive_start, uint32_t limit,
                       const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ListTablesRequest lt = CIRRUS__LIST_TABLES_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if (exclusive_start != NULL)
        lt.exclusive_start = (char *)exclusive_start;
    lt.limit = limit;
    if ((rc = make_read(c, ro, &lt.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_LIST_TABLES;
    req.list_tables = &lt;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_LIST_TABLES, out);
}

int cirrus_put_item(struct cirrus *c, const char *table, const struct cirrus_value *item,
                    const struct cirrus_write_opts *wo, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if ((rc = make_put(c, table, item, wo, &req.put_item)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_PUT_ITEM;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_PUT_ITEM, out);
}

int cirrus_get_item(struct cirrus *c, const char *table, const struct cirrus_value *key,
                    const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__Response *r;
    int rc, found;

    start(c, out);
    if ((rc = make_get(c, table, key, ro, &req.get_item)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_GET_ITEM;
    rc = call(c, &req, &r);
    found = r != NULL && r->result_case == CIRRUS__RESPONSE__RESULT_GET_ITEM &&
            r->get_item->item != NULL;
    rc = finish(c, rc, r, CIRRUS__RESPONSE__RESULT_GET_ITEM, out);
    if (rc == 0 && !found)
        return set_err(c, CR_ENOTFOUND, "item not found");
    return rc;
}

int cirrus_delete_item(struct cirrus *c, const char *table, const struct cirrus_value *key,
                       const struct cirrus_write_opts *wo, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if ((rc = make_delete(c, table, key, wo, &req.delete_item)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_DELETE_ITEM;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_DELETE_ITEM, out);
}

int cirrus_query(struct cirrus *c, const char *table, const struct cirrus_query *q,
                 const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__QueryRequest qr = CIRRUS__QUERY_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if (q == NULL || q->pk == NULL)
        return set_err(c, CR_EINVAL, "a query needs a partition key value");
    qr.table = (char *)table;
    if ((rc = pbvalue_encode(&c->arena, q->pk, &qr.partition_key)) != 0)
        return bad_arg(c, rc, "partition key");
    qr.op = (Cirrus__SortKeyOp)q->op;
    if (q->op != CIRRUS_SK_ANY) {
        if (q->sk == NULL || (q->op == CIRRUS_SK_BETWEEN && q->sk_end == NULL))
            return bad_arg(c, CR_EINVAL, "sort key condition");
        if ((rc = pbvalue_encode(&c->arena, q->sk, &qr.sort_key)) != 0)
            return bad_arg(c, rc, "sort key");
        if (q->op == CIRRUS_SK_BETWEEN &&
            (rc = pbvalue_encode(&c->arena, q->sk_end, &qr.sort_key_end)) != 0)
            return bad_arg(c, rc, "sort key end");
    }
    qr.reverse = q->reverse != 0;
    qr.limit = q->limit;
    qr.cursor.data = (uint8_t *)q->cursor;
    qr.cursor.len = q->cursor != NULL ? q->cursor_len : 0;
    if ((rc = make_read(c, ro, &qr.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_QUERY;
    req.query = &qr;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_QUERY, out);
}

int cirrus_scan(struct cirrus *c, const char *table, const struct cirrus_scan *s,
                const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ScanRequest sr = CIRRUS__SCAN_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    sr.table = (char *)table;
    if (s != NULL) {
        sr.limit = s->limit;
        sr.cursor.data = (uint8_t *)s->cursor;
        sr.cursor.len = s->cursor != NULL ? s->cursor_len : 0;
        sr.segment = s->segment;
        sr.total_segments = s->total_segments;
    }
    if ((rc = make_read(c, ro, &sr.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_SCAN;
    req.scan = &sr;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_SCAN, out);
}

int cirrus_batch_write(struct cirrus *c, const struct cirrus_write_op *ops, size_t n,
                       struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__BatchWriteRequest bw = CIRRUS__BATCH_WRITE_REQUEST__INIT;
    Cirrus__Response *r;
    size_t i;
    int rc;

    start(c, out);
    if (n > 0 && (bw.ops = alloc(c, n * sizeof(*bw.ops))) == NULL)
        return bad_arg(c, CR_ENOMEM, "batch");
    for (i = 0; i < n; i++) {
        Cirrus__WriteOp *op;

        NEW(c, Cirrus__WriteOp, CIRRUS__WRITE_OP__INIT, op);
        if (ops[i].is_delete) {
            op->op_case = CIRRUS__WRITE_OP__OP_DELETE;
            rc = make_delete(c, ops[i].table, ops[i].value, &ops[i].opts, &op->delete_);
        } else {
            op->op_case = CIRRUS__WRITE_OP__OP_PUT;
            rc = make_put(c, ops[i].table, ops[i].value, &ops[i].opts, &op->put);
        }
        if (rc != 0)
            return rc;
        bw.ops[i] = op;
    }
    bw.n_ops = n;
    req.op_case = CIRRUS__REQUEST__OP_BATCH_WRITE;
    req.batch_write = &bw;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_BATCH_WRITE, out);
}

int cirrus_stats(struct cirrus *c, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__StatsRequest st = CIRRUS__STATS_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    req.op_case = CIRRUS__REQUEST__OP_STATS;
    req.stats = &st;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_STATS, out);
}

int cirrus_cluster_fault(struct cirrus *c, const struct cirrus_fault *f, size_t n, int heal,
                         struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ClusterFaultRequest m = CIRRUS__CLUSTER_FAULT_REQUEST__INIT;
    Cirrus__ClusterFault items[CIRRUS_MAX_FAULTS], *ptrs[CIRRUS_MAX_FAULTS];
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if (n > CIRRUS_MAX_FAULTS)
        return set_err(c, CR_EINVAL, "faults for more than %d peers", CIRRUS_MAX_FAULTS);
    for (size_t i = 0; i < n; i++) {
        cirrus__cluster_fault__init(&items[i]);
        items[i].peer = f[i].peer;
        items[i].drop_out = f[i].drop_out != 0;
        items[i].drop_in = f[i].drop_in != 0;
        items[i].delay_ms = f[i].delay_ms;
        items[i].jitter_ms = f[i].jitter_ms;
        items[i].loss_pct = f[i].loss_pct;
        ptrs[i] = &items[i];
    }
    m.faults = ptrs;
    m.n_faults = n;
    m.heal = heal != 0;
    req.op_case = CIRRUS__REQUEST__OP_CLUSTER_FAULT;
    req.cluster_fault = &m;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_CLUSTER_FAULT, out);
}

int cirrus_cluster_member(struct cirrus *c, int remove, uint64_t node_id, const char *address,
                          struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ClusterMemberRequest m = CIRRUS__CLUSTER_MEMBER_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    m.remove = remove != 0;
    m.node_id = node_id;
    m.address = (char *)(address ? address : "");
    req.op_case = CIRRUS__REQUEST__OP_CLUSTER_MEMBER;
    req.cluster_member = &m;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_CLUSTER_MEMBER, out);
}

/* ---- collections and documents ---- */

static int make_indexing(struct cirrus *c, const struct cirrus_indexing *ix,
                         Cirrus__IndexingPolicy **out)
{
    Cirrus__IndexingPolicy *p;
    size_t i, k;

    *out = NULL;
    if (ix == NULL)
        return 0;
    NEW(c, Cirrus__IndexingPolicy, CIRRUS__INDEXING_POLICY__INIT, p);
    p->mode = ix->none ? CIRRUS__INDEXING_MODE__INDEXING_NONE
                       : CIRRUS__INDEXING_MODE__INDEXING_CONSISTENT;
    p->included_paths = (char **)ix->include;
    p->n_included_paths = ix->n_include;
    p->excluded_paths = (char **)ix->exclude;
    p->n_excluded_paths = ix->n_exclude;
    if (ix->n_composite > 0 &&
        (p->composite_indexes = alloc(c, ix->n_composite * sizeof(*p->composite_indexes))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    p->n_composite_indexes = ix->n_composite;
    for (i = 0; i < ix->n_composite; i++) {
        Cirrus__CompositeIndex *x;

        NEW(c, Cirrus__CompositeIndex, CIRRUS__COMPOSITE_INDEX__INIT, x);
        if (ix->composite[i].n > 0 &&
            (x->paths = alloc(c, ix->composite[i].n * sizeof(*x->paths))) == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
        x->n_paths = ix->composite[i].n;
        for (k = 0; k < ix->composite[i].n; k++) {
            Cirrus__CompositePath *cp;

            NEW(c, Cirrus__CompositePath, CIRRUS__COMPOSITE_PATH__INIT, cp);
            cp->path = (char *)ix->composite[i].paths[k].path;
            cp->desc = ix->composite[i].paths[k].desc != 0;
            x->paths[k] = cp;
        }
        p->composite_indexes[i] = x;
    }
    *out = p;
    return 0;
}

static int make_key(struct cirrus *c, const struct cirrus_doc_key *key, Cirrus__DocKey **out)
{
    Cirrus__DocKey *k;
    int rc;

    if (key == NULL || key->id == NULL)
        return bad_arg(c, CR_EINVAL, "a document key needs an id");
    NEW(c, Cirrus__DocKey, CIRRUS__DOC_KEY__INIT, k);
    k->id = (char *)key->id;
    if (key->pk != NULL && (rc = pbvalue_encode(&c->arena, key->pk, &k->partition_key)) != 0)
        return bad_arg(c, rc, "partition key");
    *out = k;
    return 0;
}

static int make_pre(struct cirrus *c, const struct cirrus_doc_pre *pre,
                    Cirrus__DocPrecondition **out)
{
    Cirrus__DocPrecondition *p;

    *out = NULL;
    if (pre == NULL)
        return 0;
    NEW(c, Cirrus__DocPrecondition, CIRRUS__DOC_PRECONDITION__INIT, p);
    p->exists = (Cirrus__DocExists)pre->exists;
    if (pre->if_match != NULL)
        p->if_match = (char *)pre->if_match;
    p->has_update_ms = pre->has_update_ms != 0;
    p->update_ms = pre->update_ms;
    *out = p;
    return 0;
}

static char *str_or_empty(const char *s)
{
    return (char *)(s != NULL ? s : "");
}

int cirrus_create_collection(struct cirrus *c, const char *db, const char *name,
                             const char *pk_path, const struct cirrus_indexing *ix,
                             struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__CreateCollectionRequest cc = CIRRUS__CREATE_COLLECTION_REQUEST__INIT;
    Cirrus__CollectionSchema schema = CIRRUS__COLLECTION_SCHEMA__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if (name == NULL)
        return set_err(c, CR_EINVAL, "a collection needs a name");
    schema.db = str_or_empty(db);
    schema.name = (char *)name;
    schema.partition_key_path = str_or_empty(pk_path);
    if ((rc = make_indexing(c, ix, &schema.indexing_policy)) != 0)
        return rc;
    cc.schema = &schema;
    req.op_case = CIRRUS__REQUEST__OP_CREATE_COLLECTION;
    req.create_collection = &cc;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_CREATE_COLLECTION, out);
}

int cirrus_drop_collection(struct cirrus *c, const char *db, const char *name,
                           struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__DropCollectionRequest dc = CIRRUS__DROP_COLLECTION_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    dc.db = str_or_empty(db);
    dc.name = str_or_empty(name);
    req.op_case = CIRRUS__REQUEST__OP_DROP_COLLECTION;
    req.drop_collection = &dc;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_DROP_COLLECTION, out);
}

int cirrus_get_collection(struct cirrus *c, const char *db, const char *name,
                          const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__GetCollectionRequest gc = CIRRUS__GET_COLLECTION_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    gc.db = str_or_empty(db);
    gc.name = str_or_empty(name);
    if ((rc = make_read(c, ro, &gc.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_GET_COLLECTION;
    req.get_collection = &gc;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_GET_COLLECTION, out);
}

int cirrus_list_collections(struct cirrus *c, const char *db, const char *exclusive_start,
                            uint32_t limit, const struct cirrus_read_opts *ro,
                            struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ListCollectionsRequest lc = CIRRUS__LIST_COLLECTIONS_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    lc.db = str_or_empty(db);
    lc.exclusive_start = str_or_empty(exclusive_start);
    lc.limit = limit;
    if ((rc = make_read(c, ro, &lc.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_LIST_COLLECTIONS;
    req.list_collections = &lc;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_LIST_COLLECTIONS, out);
}

int cirrus_write_doc(struct cirrus *c, const char *db, const char *coll, enum cirrus_doc_write kind,
                     const struct cirrus_value *doc, const struct cirrus_doc_pre *pre,
                     struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__WriteDocumentRequest w = CIRRUS__WRITE_DOCUMENT_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    if (doc == NULL || doc->type != CIRRUS_MAP)
        return bad_arg(c, CR_EINVAL, "a document must be a map");
    w.db = str_or_empty(db);
    w.collection = str_or_empty(coll);
    w.kind = (Cirrus__DocWriteKind)kind;
    if ((rc = pbvalue_encode_map(&c->arena, doc, &w.document)) != 0)
        return bad_arg(c, rc, "document");
    if ((rc = make_pre(c, pre, &w.precondition)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_WRITE_DOCUMENT;
    req.write_document = &w;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_WRITE_DOCUMENT, out);
}

int cirrus_write_docs(struct cirrus *c, const char *db, const char *coll,
                      enum cirrus_doc_write kind, const struct cirrus_value *docs, size_t n,
                      struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__WriteDocumentsRequest w = CIRRUS__WRITE_DOCUMENTS_REQUEST__INIT;
    Cirrus__Response *r;
    size_t i;
    int rc;

    start(c, out);
    w.db = str_or_empty(db);
    w.collection = str_or_empty(coll);
    w.kind = (Cirrus__DocWriteKind)kind;
    if (n > 0 && (w.documents = alloc(c, n * sizeof(*w.documents))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    w.n_documents = n;
    for (i = 0; i < n; i++) {
        if (docs[i].type != CIRRUS_MAP)
            return bad_arg(c, CR_EINVAL, "a document must be a map");
        if ((rc = pbvalue_encode_map(&c->arena, &docs[i], &w.documents[i])) != 0)
            return bad_arg(c, rc, "document");
    }
    req.op_case = CIRRUS__REQUEST__OP_WRITE_DOCUMENTS;
    req.write_documents = &w;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_WRITE_DOCUMENTS, out);
}

int cirrus_get_doc(struct cirrus *c, const char *db, const char *coll,
                   const struct cirrus_doc_key *key, const struct cirrus_read_opts *ro,
                   struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__GetDocumentRequest g = CIRRUS__GET_DOCUMENT_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    g.db = str_or_empty(db);
    g.collection = str_or_empty(coll);
    if ((rc = make_key(c, key, &g.key)) != 0 || (rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_GET_DOCUMENT;
    req.get_document = &g;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_GET_DOCUMENT, out);
}

int cirrus_delete_doc(struct cirrus *c, const char *db, const char *coll,
                      const struct cirrus_doc_key *key, const struct cirrus_doc_pre *pre,
                      struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__DeleteDocumentRequest d = CIRRUS__DELETE_DOCUMENT_REQUEST__INIT;
    Cirrus__Response *r;
    int rc;

    start(c, out);
    d.db = str_or_empty(db);
    d.collection = str_or_empty(coll);
    if ((rc = make_key(c, key, &d.key)) != 0 || (rc = make_pre(c, pre, &d.precondition)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_DELETE_DOCUMENT;
    req.delete_document = &d;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_DELETE_DOCUMENT, out);
}

int cirrus_patch_doc(struct cirrus *c, const char *db, const char *coll,
                     const struct cirrus_doc_key *key, const struct cirrus_patch_op *ops, size_t n,
                     const struct cirrus_doc_pre *pre, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__PatchDocumentRequest p = CIRRUS__PATCH_DOCUMENT_REQUEST__INIT;
    Cirrus__Response *r;
    size_t i;
    int rc;

    start(c, out);
    p.db = str_or_empty(db);
    p.collection = str_or_empty(coll);
    if ((rc = make_key(c, key, &p.key)) != 0 || (rc = make_pre(c, pre, &p.precondition)) != 0)
        return rc;
    if (n > 0 && (p.ops = alloc(c, n * sizeof(*p.ops))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    p.n_ops = n;
    for (i = 0; i < n; i++) {
        Cirrus__PatchOp *op;

        NEW(c, Cirrus__PatchOp, CIRRUS__PATCH_OP__INIT, op);
        op->kind = (Cirrus__PatchKind)ops[i].kind;
        op->path = str_or_empty(ops[i].path);
        op->must_exist = ops[i].must_exist != 0;
        if (ops[i].value != NULL && (rc = pbvalue_encode(&c->arena, ops[i].value, &op->value)) != 0)
            return bad_arg(c, rc, "patch value");
        p.ops[i] = op;
    }
    req.op_case = CIRRUS__REQUEST__OP_PATCH_DOCUMENT;
    req.patch_document = &p;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_PATCH_DOCUMENT, out);
}

int cirrus_sql(struct cirrus *c, const char *db, const char *query, const struct cirrus_sql *q,
               const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__SqlRequest s = CIRRUS__SQL_REQUEST__INIT;
    Cirrus__Response *r;
    size_t i;
    int rc;

    start(c, out);
    if (query == NULL)
        return set_err(c, CR_EINVAL, "no query");
    s.db = str_or_empty(db);
    s.query = (char *)query;
    if ((rc = make_read(c, ro, &s.read)) != 0)
        return rc;
    if (q != NULL) {
        s.max_items = q->max_items;
        s.explain = q->explain != 0;
        s.continuation.data = (uint8_t *)q->continuation;
        s.continuation.len = q->continuation != NULL ? q->continuation_len : 0;
        if (q->n_params > 0 && (s.params = alloc(c, q->n_params * sizeof(*s.params))) == NULL)
            return set_err(c, CR_ENOMEM, "out of memory");
        s.n_params = q->n_params;
        for (i = 0; i < q->n_params; i++) {
            Cirrus__SqlParameter *p;

            NEW(c, Cirrus__SqlParameter, CIRRUS__SQL_PARAMETER__INIT, p);
            if (q->params[i].name == NULL || q->params[i].value == NULL)
                return bad_arg(c, CR_EINVAL, "a parameter needs a name and a value");
            p->name = (char *)q->params[i].name;
            if ((rc = pbvalue_encode(&c->arena, q->params[i].value, &p->value)) != 0)
                return bad_arg(c, rc, "parameter value");
            s.params[i] = p;
        }
    }
    req.op_case = CIRRUS__REQUEST__OP_SQL;
    req.sql = &s;
    rc = call(c, &req, &r);
    return finish(c, rc, r, CIRRUS__RESPONSE__RESULT_SQL, out);
}

/* ---- graphs ---- */

static int graph_name_call(struct cirrus *c, Cirrus__Request *req,
                           Cirrus__Response__ResultCase want, struct cirrus_result *out)
{
    Cirrus__Response *r;
    int rc = call(c, req, &r);

    return finish(c, rc, r, want, out);
}

int cirrus_create_graph(struct cirrus *c, const char *name, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__CreateGraphRequest g = CIRRUS__CREATE_GRAPH_REQUEST__INIT;

    start(c, out);
    g.name = str_or_empty(name);
    req.op_case = CIRRUS__REQUEST__OP_CREATE_GRAPH;
    req.create_graph = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_CREATE_GRAPH, out);
}

int cirrus_drop_graph(struct cirrus *c, const char *name, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__DropGraphRequest g = CIRRUS__DROP_GRAPH_REQUEST__INIT;

    start(c, out);
    g.name = str_or_empty(name);
    req.op_case = CIRRUS__REQUEST__OP_DROP_GRAPH;
    req.drop_graph = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_DROP_GRAPH, out);
}

int cirrus_get_graph(struct cirrus *c, const char *name, const struct cirrus_read_opts *ro,
                     struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__GetGraphRequest g = CIRRUS__GET_GRAPH_REQUEST__INIT;
    int rc;

    start(c, out);
    g.name = str_or_empty(name);
    if ((rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_GET_GRAPH;
    req.get_graph = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_GET_GRAPH, out);
}

int cirrus_list_graphs(struct cirrus *c, const char *exclusive_start, uint32_t limit,
                       const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ListGraphsRequest g = CIRRUS__LIST_GRAPHS_REQUEST__INIT;
    int rc;

    start(c, out);
    g.exclusive_start = str_or_empty(exclusive_start);
    g.limit = limit;
    if ((rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_LIST_GRAPHS;
    req.list_graphs = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_LIST_GRAPHS, out);
}

int cirrus_gremlin(struct cirrus *c, const char *graph, const char *script,
                   const struct cirrus_binding *bindings, size_t n_bindings, uint64_t budget,
                   const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__GremlinRequest g = CIRRUS__GREMLIN_REQUEST__INIT;
    size_t i;
    int rc;

    start(c, out);
    if (script == NULL)
        return set_err(c, CR_EINVAL, "no script");
    g.graph = str_or_empty(graph);
    g.script = (char *)script;
    g.budget = budget;
    if ((rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    if (n_bindings > 0 && (g.bindings = alloc(c, n_bindings * sizeof(*g.bindings))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    g.n_bindings = n_bindings;
    for (i = 0; i < n_bindings; i++) {
        Cirrus__GremlinBinding *b;

        NEW(c, Cirrus__GremlinBinding, CIRRUS__GREMLIN_BINDING__INIT, b);
        if (bindings[i].name == NULL || bindings[i].value == NULL)
            return bad_arg(c, CR_EINVAL, "a binding needs a name and a value");
        b->name = (char *)bindings[i].name;
        if ((rc = pbvalue_encode(&c->arena, bindings[i].value, &b->value)) != 0)
            return bad_arg(c, rc, "binding value");
        g.bindings[i] = b;
    }
    req.op_case = CIRRUS__REQUEST__OP_GREMLIN;
    req.gremlin = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_GREMLIN, out);
}

static Cirrus__GraphDirection dir_to_pb(const struct cirrus_walk *w)
{
    if (w == NULL || w->dir == CIRRUS_DIR_OUT)
        return CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_OUT;
    return w->dir == CIRRUS_DIR_IN ? CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_IN
                                   : CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_BOTH;
}

/* A vertex id as a string Value, in the call's arena. */
static int vertex_value(struct cirrus *c, const char *id, Cirrus__Value **out)
{
    Cirrus__Value *v;

    if (id == NULL)
        return set_err(c, CR_EINVAL, "a vertex id is needed");
    NEW(c, Cirrus__Value, CIRRUS__VALUE__INIT, v);
    v->kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
    v->string_value.data = (uint8_t *)id;
    v->string_value.len = strlen(id);
    *out = v;
    return 0;
}

int cirrus_neighbors(struct cirrus *c, const char *graph, const char *vertex,
                     const struct cirrus_walk *w, const struct cirrus_read_opts *ro,
                     struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__NeighborsRequest g = CIRRUS__NEIGHBORS_REQUEST__INIT;
    int rc;

    start(c, out);
    g.graph = str_or_empty(graph);
    if ((rc = vertex_value(c, vertex, &g.vertex)) != 0 || (rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    g.direction = dir_to_pb(w);
    if (w != NULL) {
        g.labels = (char **)w->labels;
        g.n_labels = w->labels != NULL ? w->n_labels : 0;
        g.limit = w->limit;
    }
    req.op_case = CIRRUS__REQUEST__OP_NEIGHBORS;
    req.neighbors = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_NEIGHBORS, out);
}

int cirrus_khop(struct cirrus *c, const char *graph, const char *vertex, uint32_t k,
                const struct cirrus_walk *w, const struct cirrus_read_opts *ro,
                struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__KHopRequest g = CIRRUS__KHOP_REQUEST__INIT;
    int rc;

    start(c, out);
    g.graph = str_or_empty(graph);
    g.k = k;
    if ((rc = vertex_value(c, vertex, &g.vertex)) != 0 || (rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    g.direction = dir_to_pb(w);
    if (w != NULL) {
        g.labels = (char **)w->labels;
        g.n_labels = w->labels != NULL ? w->n_labels : 0;
        g.limit = w->limit;
    }
    req.op_case = CIRRUS__REQUEST__OP_KHOP;
    req.khop = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_KHOP, out);
}

int cirrus_shortest_path(struct cirrus *c, const char *graph, const char *from, const char *to,
                         const struct cirrus_walk *w, uint64_t max_nodes,
                         const struct cirrus_read_opts *ro, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__ShortestPathRequest g = CIRRUS__SHORTEST_PATH_REQUEST__INIT;
    int rc;

    start(c, out);
    g.graph = str_or_empty(graph);
    g.max_nodes = max_nodes;
    if ((rc = vertex_value(c, from, &g.from)) != 0 || (rc = vertex_value(c, to, &g.to)) != 0 ||
        (rc = make_read(c, ro, &g.read)) != 0)
        return rc;
    g.direction = dir_to_pb(w);
    if (w != NULL) {
        g.labels = (char **)w->labels;
        g.n_labels = w->labels != NULL ? w->n_labels : 0;
    }
    req.op_case = CIRRUS__REQUEST__OP_SHORTEST_PATH;
    req.shortest_path = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_SHORTEST_PATH, out);
}

int cirrus_load_edges(struct cirrus *c, const char *graph, const struct cirrus_edge *edges,
                      size_t n, const char *vertex_label, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__LoadEdgesRequest g = CIRRUS__LOAD_EDGES_REQUEST__INIT;
    size_t i;

    start(c, out);
    g.graph = str_or_empty(graph);
    g.vertex_label = str_or_empty(vertex_label);
    if (n > 0 && (g.edges = alloc(c, n * sizeof(*g.edges))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    g.n_edges = n;
    for (i = 0; i < n; i++) {
        Cirrus__LoadEdge *e;

        NEW(c, Cirrus__LoadEdge, CIRRUS__LOAD_EDGE__INIT, e);
        if (edges[i].src == NULL || edges[i].dst == NULL)
            return bad_arg(c, CR_EINVAL, "an edge needs both ends");
        e->src = (char *)edges[i].src;
        e->dst = (char *)edges[i].dst;
        e->label = str_or_empty(edges[i].label);
        g.edges[i] = e;
    }
    req.op_case = CIRRUS__REQUEST__OP_LOAD_EDGES;
    req.load_edges = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_LOAD_EDGES, out);
}

/* ---- pipelined calls ---- */

static int send_queued(struct cirrus *c, Cirrus__Request *req, uint64_t *id)
{
    int rc = queue(c, req);

    cr_arena_reset(&c->arena);
    if (rc != 0)
        return rc;
    *id = req->id;
    if (c->out.len - c->out_off >= FLUSH_AT)
        return flush_until(c, deadline_of(c));
    return 0;
}

int cirrus_send_get(struct cirrus *c, const char *table, const struct cirrus_value *key,
                    const struct cirrus_read_opts *ro, uint64_t *id)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    int rc;

    start(c, NULL);
    if ((rc = make_get(c, table, key, ro, &req.get_item)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_GET_ITEM;
    return send_queued(c, &req, id);
}

int cirrus_send_put(struct cirrus *c, const char *table, const struct cirrus_value *item,
                    uint64_t *id)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    int rc;

    start(c, NULL);
    if ((rc = make_put(c, table, item, NULL, &req.put_item)) != 0)
        return rc;
    req.op_case = CIRRUS__REQUEST__OP_PUT_ITEM;
    return send_queued(c, &req, id);
}

int cirrus_flush(struct cirrus *c)
{
    if (c->broken)
        return set_err(c, c->broken, "connection is no longer usable");
    return flush_until(c, deadline_of(c));
}

int cirrus_recv(struct cirrus *c, uint64_t *id, int *code)
{
    Cirrus__Response *r;
    int rc;

    if (c->broken)
        return set_err(c, c->broken, "connection is no longer usable");
    if ((rc = next_response(c, deadline_of(c), &r)) != 0)
        return rc;
    *id = r->id;
    *code = response_code(c, r);
    cirrus__response__free_unpacked(r, NULL);
    return 0;
}

/* One vertex (edge 0) or edge as its wire form, in the call's arena. */
static int load_element(struct cirrus *c, const struct cirrus_load_element *x, int edge,
                        Cirrus__LoadProperty ***props, size_t *n_props)
{
    int rc;

    if (x->id == NULL && !edge)
        return bad_arg(c, CR_EINVAL, "a vertex needs an id");
    if (edge && (x->src == NULL || x->dst == NULL))
        return bad_arg(c, CR_EINVAL, "an edge needs both ends");
    *n_props = x->n_props;
    if (x->n_props > 0 && (*props = alloc(c, x->n_props * sizeof(**props))) == NULL)
        return set_err(c, CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < x->n_props; i++) {
        Cirrus__LoadProperty *p;

        NEW(c, Cirrus__LoadProperty, CIRRUS__LOAD_PROPERTY__INIT, p);
        if (x->props[i].name == NULL)
            return bad_arg(c, CR_EINVAL, "a property needs a key");
        p->key = x->props[i].name;
        if ((rc = pbvalue_encode(&c->arena, &x->props[i].value, &p->value)) != 0)
            return set_err(c, rc, "property '%s': bad value", x->props[i].name);
        (*props)[i] = p;
    }
    return 0;
}

int cirrus_load_graph(struct cirrus *c, const char *graph,
                      const struct cirrus_load_element *vertices, size_t nv,
                      const struct cirrus_load_element *edges, size_t ne, struct cirrus_result *out)
{
    Cirrus__Request req = CIRRUS__REQUEST__INIT;
    Cirrus__LoadGraphRequest g = CIRRUS__LOAD_GRAPH_REQUEST__INIT;
    int rc;

    start(c, out);
    g.graph = str_or_empty(graph);
    if ((nv > 0 && (g.vertices = alloc(c, nv * sizeof(*g.vertices))) == NULL) ||
        (ne > 0 && (g.edges = alloc(c, ne * sizeof(*g.edges))) == NULL))
        return set_err(c, CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < nv; i++) {
        Cirrus__LoadVertex *v;

        NEW(c, Cirrus__LoadVertex, CIRRUS__LOAD_VERTEX__INIT, v);
        if ((rc = load_element(c, &vertices[i], 0, &v->properties, &v->n_properties)) != 0)
            return rc;
        v->id = (char *)vertices[i].id;
        v->label = str_or_empty(vertices[i].label);
        g.vertices[i] = v;
        g.n_vertices = i + 1;
    }
    for (size_t i = 0; i < ne; i++) {
        Cirrus__LoadGraphEdge *e;

        NEW(c, Cirrus__LoadGraphEdge, CIRRUS__LOAD_GRAPH_EDGE__INIT, e);
        if ((rc = load_element(c, &edges[i], 1, &e->properties, &e->n_properties)) != 0)
            return rc;
        e->src = (char *)edges[i].src;
        e->dst = (char *)edges[i].dst;
        e->id = str_or_empty(edges[i].id);
        e->label = str_or_empty(edges[i].label);
        g.edges[i] = e;
        g.n_edges = i + 1;
    }
    req.op_case = CIRRUS__REQUEST__OP_LOAD_GRAPH;
    req.load_graph = &g;
    return graph_name_call(c, &req, CIRRUS__RESPONSE__RESULT_LOAD_GRAPH, out);
}
