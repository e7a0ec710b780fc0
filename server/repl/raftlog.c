/* The Raft log store (raftlog.h has the on-disk layout and the contract). */
#include "server/repl/raftlog.h"

#include "common/assert.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "storage/kvenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DB_LOG, DB_META, N_DBS };

static const char *const db_names[N_DBS] = {[DB_LOG] = "log", [DB_META] = "meta"};

#define ENTRY_HDR 9 /* u64be term | u8 type */
#define HARD_LEN 24
#define SNAP_HDR 20 /* u64be index | u64be term | u32be n */

static const char key_format[] = "format", key_hard[] = "hard", key_snap[] = "snap",
                  key_peers[] = "peers";

/* ---- decoding of stored records: anything unexpected is corruption ---- */

static int decode_entry(const struct kvenv_val *k, const struct kvenv_val *v,
                        struct raft_entry *out)
{
    if (k->n != 8 || v->n < ENTRY_HDR || v->p[8] > RAFT_ENTRY_CONF)
        return CR_CORRUPT();
    out->index = cr_get_u64be(k->p);
    out->term = cr_get_u64be(v->p);
    out->type = (enum raft_entry_type)v->p[8];
    out->data = v->n > ENTRY_HDR ? v->p + ENTRY_HDR : NULL;
    out->len = v->n - ENTRY_HDR;
    return 0;
}

static int decode_snap(const struct kvenv_val *v, struct raft_snapshot_meta *out)
{
    uint32_t n;

    if (v->n < SNAP_HDR)
        return CR_CORRUPT();
    n = cr_get_u32be(v->p + 16);
    if (n > RAFT_MAX_VOTERS || v->n != SNAP_HDR + 8 * (size_t)n)
        return CR_CORRUPT();
    memset(out, 0, sizeof *out);
    out->index = cr_get_u64be(v->p);
    out->term = cr_get_u64be(v->p + 8);
    out->conf.n = n;
    for (uint32_t i = 0; i < n; i++)
        out->conf.voters[i] = cr_get_u64be(v->p + SNAP_HDR + 8 * i);
    return 0;
}

/* ---- the read side ---- */

/* A storage read failed inside a callback the core cannot hear errors from: stop the node. */
static void fatal(const char *what, int rc)
{
    cr_log(CR_LOG_ERROR, "raftlog: %s: %s; stopping", what, cr_strerror(rc));
    abort();
}

static struct kvenv_txn *reader(struct raftlog *l)
{
    int rc = 0;

    if (!l->rd)
        rc = kvenv_begin(l->env, false, &l->rd);
    else if (l->rd_stale)
        rc = kvenv_renew(l->rd);
    if (rc)
        fatal("read transaction", rc);
    l->rd_stale = false;
    return l->rd;
}

/* Drops the read snapshot so that the next read sees the latest write. */
static void reader_release(struct raftlog *l)
{
    if (l->rd && !l->rd_stale) {
        kvenv_reset(l->rd);
        l->rd_stale = true;
    }
}

static int read_entry(struct kvenv_txn *t, uint64_t index, struct raft_entry *out)
{
    uint8_t k[8];
    struct kvenv_val key = {k, 8}, v;
    int rc;

    cr_put_u64be(k, index);
    rc = kvenv_get(t, DB_LOG, k, 8, &v);
    if (rc == CR_ENOTFOUND)
        return CR_CORRUPT(); /* the log must hold every index in (snap.index, last] */
    if (rc)
        return rc;
    rc = decode_entry(&key, &v, out);
    if (rc == 0 && out->index != index)
        return CR_CORRUPT();
    return rc;
}

static void st_snapshot(void *data, struct raft_snapshot_meta *out)
{
    *out = ((struct raftlog *)data)->snap;
}

static uint64_t st_last_index(void *data)
{
    return ((struct raftlog *)data)->last;
}

static uint64_t st_term(void *data, uint64_t index)
{
    struct raftlog *l = data;
    struct raft_entry e;
    int rc;

    CR_ASSERT(index >= l->snap.index && index <= l->last);
    if (index == l->snap.index)
        return l->snap.term;
    if (index == l->last)
        return l->last_term;
    rc = read_entry(reader(l), index, &e);
    if (rc)
        fatal("reading a term", rc);
    return e.term;
}

static size_t st_entries(void *data, uint64_t lo, uint64_t hi, size_t max_bytes,
                         struct raft_entry *out)
{
    struct raftlog *l = data;
    struct kvenv_cursor *c;
    uint8_t k[8];
    struct kvenv_val key = {k, 8}, v;
    size_t n = 0, bytes = 0;
    int rc;

    CR_ASSERT(lo > l->snap.index && lo < hi && hi <= l->last + 1);
    rc = kvenv_cursor_open(reader(l), DB_LOG, &c);
    if (rc)
        fatal("opening a cursor", rc);
    cr_put_u64be(k, lo);
    rc = kvenv_cursor_get(c, KVENV_SEEK, &key, &v);
    for (uint64_t i = lo; i < hi && rc == 0; i++) {
        if (i > lo)
            rc = kvenv_cursor_get(c, KVENV_NEXT, &key, &v);
        if (rc == 0)
            rc = decode_entry(&key, &v, &out[n]);
        if (rc == 0 && out[n].index != i)
            rc = CR_CORRUPT();
        if (rc)
            break;
        if (n > 0 && bytes + out[n].len > max_bytes)
            break;
        bytes += out[n].len;
        n++;
    }
    kvenv_cursor_close(c);
    if (rc)
        fatal("reading entries", rc == CR_ENOTFOUND ? CR_CORRUPT() : rc);
    return n;
}

/* ---- open ---- */

static int load(struct raftlog *l, struct kvenv_txn *t)
{
    struct kvenv_cursor *c;
    struct kvenv_val k, v;
    struct raft_entry first, last;
    uint64_t count = 0;
    int rc = kvenv_get(t, DB_META, key_hard, sizeof key_hard - 1, &v);

    if (rc == 0) {
        if (v.n != HARD_LEN)
            return CR_CORRUPT();
        l->hs.term = cr_get_u64be(v.p);
        l->hs.vote = cr_get_u64be(v.p + 8);
        l->hs.commit = cr_get_u64be(v.p + 16);
    } else if (rc != CR_ENOTFOUND) {
        return rc;
    }
    rc = kvenv_get(t, DB_META, key_snap, sizeof key_snap - 1, &v);
    if (rc == 0)
        rc = decode_snap(&v, &l->snap);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    l->last = l->snap.index;
    l->last_term = l->snap.term;
    rc = kvenv_cursor_open(t, DB_LOG, &c);
    if (rc)
        return rc;
    rc = kvenv_cursor_get(c, KVENV_FIRST, &k, &v);
    if (rc == 0)
        rc = decode_entry(&k, &v, &first);
    if (rc == 0)
        rc = kvenv_cursor_get(c, KVENV_LAST, &k, &v);
    if (rc == 0)
        rc = decode_entry(&k, &v, &last);
    kvenv_cursor_close(c);
    if (rc == CR_ENOTFOUND)
        return 0; /* no entries */
    if (rc)
        return rc;
    /* contiguous right after the snapshot: keys are unique, so the count settles it */
    rc = kvenv_count(t, DB_LOG, &count);
    if (rc)
        return rc;
    if (first.index != l->snap.index + 1 || last.index < first.index ||
        count != last.index - first.index + 1)
        return CR_CORRUPT();
    l->last = last.index;
    l->last_term = last.term;
    return 0;
}

int raftlog_open(struct raftlog *l, const char *dir, const struct raftlog_options *opt)
{
    struct storage_options eo = {0};
    struct kvenv_txn *t;
    struct kvenv_val v;
    uint8_t version[4];
    char path[4096];
    int rc;

    memset(l, 0, sizeof *l);
    if (snprintf(path, sizeof path, "%s/%s", dir, RAFTLOG_SUBDIR) >= (int)sizeof path)
        return CR_ETOOLONG;
    if (opt) {
        eo.map_size = opt->map_size;
        eo.no_sync = opt->no_sync;
    }
    eo.max_readers = 8;
    rc = kvenv_open(path, db_names, N_DBS, &eo, &l->env);
    if (rc)
        return rc;
    rc = kvenv_begin(l->env, true, &t);
    if (rc) {
        kvenv_close(l->env);
        return rc;
    }
    rc = kvenv_get(t, DB_META, key_format, sizeof key_format - 1, &v);
    if (rc == CR_ENOTFOUND) {
        cr_put_u32be(version, RAFTLOG_FORMAT);
        rc = kvenv_put(t, DB_META, key_format, sizeof key_format - 1, version, 4);
    } else if (rc == 0 && (v.n != 4 || cr_get_u32be(v.p) != RAFTLOG_FORMAT)) {
        cr_log(CR_LOG_ERROR, "raftlog: unknown format version");
        rc = CR_CORRUPT();
    }
    if (rc == 0)
        rc = load(l, t);
    if (rc == 0)
        rc = kvenv_commit(t);
    else
        kvenv_abort(t);
    if (rc) {
        kvenv_close(l->env);
        memset(l, 0, sizeof *l);
        return rc;
    }
    l->st.data = l;
    l->st.snapshot = st_snapshot;
    l->st.last_index = st_last_index;
    l->st.term = st_term;
    l->st.entries = st_entries;
    return 0;
}

void raftlog_close(struct raftlog *l)
{
    kvenv_abort(l->rd);
    kvenv_close(l->env);
    free(l->buf);
    memset(l, 0, sizeof *l);
}

const struct raft_storage *raftlog_storage(struct raftlog *l)
{
    return &l->st;
}

void raftlog_hard_state(const struct raftlog *l, struct raft_hard_state *out)
{
    *out = l->hs;
}

uint64_t raftlog_last_index(const struct raftlog *l)
{
    return l->last;
}

/* ---- the write side ---- */

static int put_snap(struct kvenv_txn *t, const struct raft_snapshot_meta *s)
{
    uint8_t v[SNAP_HDR + 8 * RAFT_MAX_VOTERS];

    cr_put_u64be(v, s->index);
    cr_put_u64be(v + 8, s->term);
    cr_put_u32be(v + 16, (uint32_t)s->conf.n);
    for (size_t i = 0; i < s->conf.n; i++)
        cr_put_u64be(v + SNAP_HDR + 8 * i, s->conf.voters[i]);
    return kvenv_put(t, DB_META, key_snap, sizeof key_snap - 1, v, SNAP_HDR + 8 * s->conf.n);
}

static int put_hard(struct kvenv_txn *t, const struct raft_hard_state *hs)
{
    uint8_t v[HARD_LEN];

    cr_put_u64be(v, hs->term);
    cr_put_u64be(v + 8, hs->vote);
    cr_put_u64be(v + 16, hs->commit);
    return kvenv_put(t, DB_META, key_hard, sizeof key_hard - 1, v, HARD_LEN);
}

static int put_entry(struct raftlog *l, struct kvenv_txn *t, const struct raft_entry *e)
{
    uint8_t k[8];

    if (ENTRY_HDR + e->len > l->buf_cap) {
        size_t cap = 2 * (ENTRY_HDR + e->len);
        uint8_t *p = realloc(l->buf, cap);

        if (!p)
            return CR_ENOMEM;
        l->buf = p;
        l->buf_cap = cap;
    }
    cr_put_u64be(l->buf, e->term);
    l->buf[8] = (uint8_t)e->type;
    if (e->len)
        memcpy(l->buf + ENTRY_HDR, e->data, e->len);
    cr_put_u64be(k, e->index);
    return kvenv_put(t, DB_LOG, k, 8, l->buf, ENTRY_HDR + e->len);
}

/* Deletes the log entries with index >= from. */
static int del_from(struct kvenv_txn *t, uint64_t from)
{
    uint8_t k[8];

    cr_put_u64be(k, from);
    return kvenv_del_range(t, DB_LOG, k, 8, NULL, 0, NULL);
}

static bool conf_valid(const struct raft_conf *c)
{
    return c->n <= RAFT_MAX_VOTERS;
}

int raftlog_save(struct raftlog *l, const struct raft_ready *rd)
{
    struct raft_snapshot_meta snap = rd->snapshot ? *rd->snapshot : l->snap;
    uint64_t last = rd->snapshot ? snap.index : l->last;
    uint64_t last_term = rd->snapshot ? snap.term : l->last_term;
    struct kvenv_txn *t;
    int rc;

    if (!conf_valid(&snap.conf))
        return CR_EINVAL;
    if (rd->n_entries) {
        uint64_t first = rd->entries[0].index;

        if (first <= snap.index || first > last + 1)
            return CR_EINVAL;
        for (size_t k = 0; k < rd->n_entries; k++)
            if (rd->entries[k].index != first + k || rd->entries[k].type > RAFT_ENTRY_CONF ||
                (rd->entries[k].len && !rd->entries[k].data))
                return CR_EINVAL;
        last = rd->entries[rd->n_entries - 1].index;
        last_term = rd->entries[rd->n_entries - 1].term;
    }
    if (!rd->snapshot && !rd->n_entries && !rd->has_hard_state)
        return 0;
    reader_release(l);
    rc = kvenv_begin(l->env, true, &t);
    if (rc)
        return rc;
    if (rd->snapshot) {
        rc = kvenv_del_range(t, DB_LOG, NULL, 0, NULL, 0, NULL);
        if (rc == 0)
            rc = put_snap(t, &snap);
    }
    if (rc == 0 && rd->n_entries)
        rc = del_from(t, rd->entries[0].index);
    for (size_t k = 0; k < rd->n_entries && rc == 0; k++)
        rc = put_entry(l, t, &rd->entries[k]);
    if (rc == 0 && rd->has_hard_state)
        rc = put_hard(t, &rd->hard_state);
    if (rc) {
        kvenv_abort(t);
        return rc;
    }
    rc = kvenv_commit(t);
    if (rc)
        return rc;
    l->snap = snap;
    l->last = last;
    l->last_term = last_term;
    if (rd->has_hard_state)
        l->hs = rd->hard_state;
    return 0;
}

int raftlog_compact(struct raftlog *l, const struct raft_snapshot_meta *meta)
{
    struct kvenv_txn *t;
    struct raft_entry e;
    uint8_t hi[8];
    int rc;

    if (meta->index < l->snap.index || meta->index > l->last || !conf_valid(&meta->conf))
        return CR_EINVAL;
    if (meta->index == l->snap.index)
        return 0;
    reader_release(l);
    rc = kvenv_begin(l->env, true, &t);
    if (rc)
        return rc;
    rc = read_entry(t, meta->index, &e);
    if (rc == 0 && e.term != meta->term)
        rc = CR_EINVAL;
    cr_put_u64be(hi, meta->index + 1);
    if (rc == 0)
        rc = kvenv_del_range(t, DB_LOG, NULL, 0, hi, 8, NULL);
    if (rc == 0)
        rc = put_snap(t, meta);
    if (rc) {
        kvenv_abort(t);
        return rc;
    }
    rc = kvenv_commit(t);
    if (rc == 0)
        l->snap = *meta;
    return rc;
}

int raftlog_truncate(struct raftlog *l, uint64_t from)
{
    struct kvenv_txn *t;
    struct raft_entry e = {.term = l->snap.term};
    int rc;

    if (from <= l->snap.index || from <= l->hs.commit)
        return CR_EINVAL;
    if (from > l->last)
        return 0;
    reader_release(l);
    rc = kvenv_begin(l->env, true, &t);
    if (rc)
        return rc;
    rc = del_from(t, from);
    if (rc == 0 && from - 1 > l->snap.index)
        rc = read_entry(t, from - 1, &e);
    if (rc) {
        kvenv_abort(t);
        return rc;
    }
    rc = kvenv_commit(t);
    if (rc == 0) {
        l->last = from - 1;
        l->last_term = e.term;
    }
    return rc;
}

int raftlog_set_peers(struct raftlog *l, const char *text)
{
    struct kvenv_txn *t;
    int rc;

    reader_release(l);
    rc = kvenv_begin(l->env, true, &t);
    if (rc)
        return rc;
    rc = kvenv_put(t, DB_META, key_peers, sizeof key_peers - 1, text, strlen(text));
    if (rc) {
        kvenv_abort(t);
        return rc;
    }
    return kvenv_commit(t);
}

int raftlog_peers(struct raftlog *l, char *buf, size_t cap)
{
    struct kvenv_txn *t;
    struct kvenv_val v;
    int rc;

    buf[0] = 0;
    reader_release(l);
    rc = kvenv_begin(l->env, false, &t);
    if (rc)
        return rc;
    rc = kvenv_get(t, DB_META, key_peers, sizeof key_peers - 1, &v);
    if (rc == 0 && v.n >= cap)
        rc = CR_CORRUPT();
    if (rc == 0) {
        memcpy(buf, v.p, v.n);
        buf[v.n] = 0;
    }
    kvenv_abort(t);
    return rc == CR_ENOTFOUND ? 0 : rc;
}
