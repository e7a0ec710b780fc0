/*
 * Snapshot transfer: a copy thread and a chunk pump on the sending side, an ordered file writer
 * on the receiving side (snapshot.h).
 */
#include "server/repl/snapshot.h"

#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum copy_state { COPY_RUNNING, COPY_DONE, COPY_FAILED };

struct snap_out {
    struct raft_msg msg;
    char path[SNAP_PATH_MAX];
    char ctx[RAFTWIRE_MAX_CHUNK_CTX];
    size_t ctx_len;
    snap_write_fn write;
    void *data;
    pthread_t thread;
    _Atomic int copy; /* enum copy_state */
    int fd;
    uint64_t total, off;
    uint8_t *buf; /* one chunk */
};

static void *copy_main(void *arg)
{
    struct snap_out *o = arg;
    int rc = o->write(o->data, o->path);

    if (rc < 0)
        cr_log(CR_LOG_ERROR, "raft: cannot write a snapshot for node %llu: %s",
               (unsigned long long)o->msg.to, cr_strerror(rc));
    atomic_store(&o->copy, rc < 0 ? COPY_FAILED : COPY_DONE);
    return NULL;
}

int snap_out_start(const char *dir, const struct raft_msg *m, snap_write_fn write, void *data,
                   const char *ctx, struct snap_out **out)
{
    struct snap_out *o = calloc(1, sizeof *o);

    if (!o)
        return CR_ENOMEM;
    o->msg = *m;
    o->msg.entries = NULL; /* a SNAPSHOT message carries none */
    o->msg.n_entries = 0;
    o->write = write;
    o->data = data;
    o->fd = -1;
    o->ctx_len = strlen(ctx);
    if (o->ctx_len > sizeof o->ctx)
        o->ctx_len = 0; /* the receiver learns the peers from its own --peers and log */
    memcpy(o->ctx, ctx, o->ctx_len);
    if (snprintf(o->path, sizeof o->path, "%s/snapshot-out-%llu.mdb", dir,
                 (unsigned long long)m->to) >= (int)sizeof o->path) {
        free(o);
        return CR_ETOOLONG;
    }
    o->buf = malloc(RAFTWIRE_MAX_CHUNK);
    if (!o->buf) {
        free(o);
        return CR_ENOMEM;
    }
    atomic_init(&o->copy, COPY_RUNNING);
    if (pthread_create(&o->thread, NULL, copy_main, o) != 0) {
        free(o->buf);
        free(o);
        return CR_EIO;
    }
    *out = o;
    return 0;
}

uint64_t snap_out_peer(const struct snap_out *o)
{
    return o->msg.to;
}

/* Opens the finished copy; false when it cannot be read. */
static bool open_copy(struct snap_out *o)
{
    struct stat st;

    o->fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (o->fd < 0 || fstat(o->fd, &st) != 0 || st.st_size <= 0)
        return false;
    o->total = (uint64_t)st.st_size;
    return true;
}

enum snap_state snap_out_pump(struct snap_out *o, struct transport *t, uint64_t self)
{
    struct transport_peer_info info;
    int copy = atomic_load(&o->copy);

    if (copy == COPY_RUNNING)
        return SNAP_MORE;
    if (copy == COPY_FAILED || (o->fd < 0 && !open_copy(o)))
        return SNAP_FAILED;
    while (o->off < o->total) {
        struct raftwire_chunk c = {.index = o->msg.snapshot.index,
                                   .term = o->msg.snapshot.term,
                                   .offset = o->off,
                                   .total = o->total,
                                   .data = o->buf};
        ssize_t got;
        int rc;

        if (transport_peer_info(t, o->msg.to, &info) < 0)
            return SNAP_FAILED;
        if (info.queued_bytes >= SNAP_QUEUE_ROOM)
            return SNAP_MORE;
        c.len = o->total - o->off < RAFTWIRE_MAX_CHUNK ? o->total - o->off : RAFTWIRE_MAX_CHUNK;
        got = pread(o->fd, o->buf, c.len, (off_t)o->off);
        if (got != (ssize_t)c.len)
            return SNAP_FAILED;
        c.checksum = cr_hash64(o->buf, c.len);
        if (o->off == 0) {
            c.ctx = (const uint8_t *)o->ctx;
            c.ctx_len = o->ctx_len;
        }
        rc = transport_send_chunk(t, o->msg.to, &c);
        if (rc == CR_EOVERLOAD)
            return SNAP_MORE;
        if (rc < 0)
            return SNAP_FAILED;
        o->off += c.len;
    }
    o->msg.from = self;
    return transport_send(t, &o->msg) == 0 ? SNAP_SENT : SNAP_FAILED;
}

void snap_out_free(struct snap_out *o)
{
    if (!o)
        return;
    pthread_join(o->thread, NULL);
    if (o->fd >= 0)
        close(o->fd);
    unlink(o->path);
    free(o->buf);
    free(o);
}

int snap_in_init(struct snap_in *in, const char *dir)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    if (snprintf(in->path, sizeof in->path, "%s/snapshot-in.mdb", dir) >= (int)sizeof in->path)
        return CR_ETOOLONG;
    return 0;
}

void snap_in_reset(struct snap_in *in)
{
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    in->complete = false;
    in->from = in->index = in->term = in->total = in->next = 0;
    unlink(in->path);
}

bool snap_in_chunk(struct snap_in *in, uint64_t from, const struct raftwire_chunk *c)
{
    if (c->offset == 0) {
        snap_in_reset(in);
        in->fd = open(in->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (in->fd < 0) {
            cr_log(CR_LOG_ERROR, "raft: cannot create '%s' for a snapshot", in->path);
            return false;
        }
        in->from = from;
        in->index = c->index;
        in->term = c->term;
        in->total = c->total;
        memcpy(in->ctx, c->ctx, c->ctx_len);
        in->ctx[c->ctx_len] = 0;
    } else if (in->fd < 0 || in->complete || from != in->from || c->index != in->index ||
               c->term != in->term || c->total != in->total || c->offset != in->next) {
        if (in->fd >= 0)
            snap_in_reset(in); /* a chunk lost on the way: the sender starts over */
        return false;
    }
    if (pwrite(in->fd, c->data, c->len, (off_t)c->offset) != (ssize_t)c->len) {
        cr_log(CR_LOG_ERROR, "raft: cannot write a snapshot chunk to '%s'", in->path);
        snap_in_reset(in);
        return false;
    }
    in->next += c->len;
    if (in->next < in->total)
        return false;
    if (fsync(in->fd) != 0) {
        snap_in_reset(in);
        return false;
    }
    in->complete = true;
    return true;
}

bool snap_in_ready(const struct snap_in *in, const struct raft_msg *m)
{
    return in->complete && in->from == m->from && in->index == m->snapshot.index &&
           in->term == m->snapshot.term;
}
