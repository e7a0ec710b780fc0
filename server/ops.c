/*
 * The operation interface: read consistency, full validation of writes before proposing,
 * LogEntry encoding (via wire.c) and completion of proposals. Must not write storage (only the
 * log's writer does, through storage_apply), must not know any wire format beyond the LogEntry,
 * and must not lock on the read path but where a read must wait: a STRONG read's shared ReadIndex
 * round (strong_barrier), a SESSION token not yet applied.
 */
#include "server/ops.h"
#include "server/ops_int.h"

#include "common/assert.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "server/repl/node.h"
#include "server/sqlcache.h"
#include "server/wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATS_PAGE 64 /* tables per catalog_list call when counting them */

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ops_init(struct ops *o, struct storage *s, struct log *l, const char *data_dir,
              uint64_t map_size)
{
    memset(o, 0, sizeof *o);
    o->storage = s;
    o->log = l;
    snprintf(o->data_dir, sizeof o->data_dir, "%s", data_dir);
    o->map_size = map_size ? map_size : CR_DEFAULT_MAP_SIZE;
    o->start_ns = now_ns(CLOCK_MONOTONIC);
    atomic_init(&o->connections, 0);
    atomic_init(&o->requests, 0);
    o->clustered = l && log_cluster_status(l, &(struct node_status){0});
    pthread_mutex_init(&o->rounds.mu, NULL);
    pthread_cond_init(&o->rounds.cond, NULL);
    pthread_cond_init(&o->rounds.wanted_cond, NULL);
    atomic_init(&o->rounds.begun, 0);
}

void ops_note_request(struct ops *o)
{
    atomic_fetch_add_explicit(&o->requests, 1, memory_order_relaxed);
}

void ops_conn_init(struct ops *o, struct log_completer *completer, struct ops_conn *c)
{
    c->ops = o;
    c->completer = completer;
    c->txn = NULL;
    c->live = false;
    c->arrived = 0;
    c->batch = false;
    atomic_fetch_add(&o->connections, 1);
}

void ops_read_batch_begin(struct ops_conn *c)
{
    c->arrived = atomic_load(&c->ops->rounds.begun);
    c->batch = true;
}

void ops_read_batch_end(struct ops_conn *c)
{
    c->batch = false;
}

void ops_conn_release(struct ops_conn *c)
{
    if (c->live) {
        storage_read_reset(c->txn);
        c->live = false;
    }
}

void ops_conn_close(struct ops_conn *c)
{
    ops_conn_release(c);
    if (c->txn)
        storage_read_end(c->txn);
    c->txn = NULL;
    atomic_fetch_sub(&c->ops->connections, 1);
}

/* Makes a snapshot live (renewing the connection's txn). */
int ops_snapshot(struct ops_conn *c, struct errmsg *e)
{
    int rc = 0;

    if (c->live)
        return 0;
    if (!c->txn)
        rc = storage_read_begin(c->ops->storage, &c->txn);
    else
        rc = storage_read_renew(c->txn);
    if (rc < 0)
        return errmsg_set(e, rc, "cannot open a read snapshot: %s", cr_strerror(rc));
    c->live = true;
    return 0;
}

/* CR_ENOTLEADER with where the leader is; what names what this node refused. */
static int not_leader(struct log *l, const char *what, struct errmsg *e)
{
    struct log_leader ld;

    log_leader(l, &ld);
    if (!ld.id)
        return errmsg_set(e, CR_ENOTLEADER,
                          "this node is not the leader (%s go to the leader); "
                          "no leader is known yet, retry",
                          what);
    return errmsg_set(e, CR_ENOTLEADER,
                      "this node is not the leader (%s go to the leader): the leader is node "
                      "%llu, peer address %s",
                      what, (unsigned long long)ld.id, ld.addr[0] ? ld.addr : "unknown");
}

/* Runs the next round (called and returning with rounds.mu held, released meanwhile): numbers
 * it, asks the log for a read index and its apply, records the result, wakes the waiters. */
static int run_round(struct ops *o, struct log_leader *ld)
{
    struct ops_rounds *r = &o->rounds;
    uint64_t mine = atomic_load(&r->begun) + 1;
    int rc;

    atomic_store(&r->begun, mine);
    pthread_mutex_unlock(&r->mu);
    rc = log_strong_read(o->log, ld);
    pthread_mutex_lock(&r->mu);
    if (rc == 0 && mine > r->ok)
        r->ok = mine;
    if (rc < 0 && mine > r->failed) {
        r->failed = mine;
        r->code = rc;
    }
    pthread_cond_broadcast(&r->cond);
    return rc;
}

/* The time limit of strong_barrier for a read joining another's round: that round's. */
#define ROUNDS_WAIT_MS (2 * LOG_STRONG_WAIT_MS + 1000)

/* Returns when a ReadIndex round that began after `arrived` rounds had begun (ops_rounds) has
 * ended, with its result: 0 when its index is applied, so that a snapshot taken now sees every
 * write acknowledged before the read arrived. Joins such a round when one is running, else runs
 * one itself (log_strong_read's codes, *ld naming the leader); CR_ETIMEOUT after ROUNDS_WAIT_MS
 * waiting for another's. A round that fails fails the reads that joined it. */
static int strong_barrier(struct ops *o, uint64_t arrived, struct log_leader *ld)
{
    struct ops_rounds *r = &o->rounds;
    struct timespec deadline;
    int rc = 0;

    deadline = cr_deadline(ROUNDS_WAIT_MS);
    pthread_mutex_lock(&r->mu);
    while (r->ok <= arrived && atomic_load(&r->begun) > arrived) {
        if (r->failed > arrived) {
            rc = r->code;
            goto out;
        }
        if (pthread_cond_timedwait(&r->cond, &r->mu, &deadline) == ETIMEDOUT) {
            rc = CR_ETIMEOUT;
            goto out;
        }
    }
    if (r->ok > arrived)
        goto out;
    rc = run_round(o, ld);
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* A round thread: runs a round whenever a parked read wants one (and no other thread has begun
 * one since), then tells the listeners. */
static void *rounds_main(void *arg)
{
    struct ops *o = arg;
    struct ops_rounds *r = &o->rounds;
    struct log_leader ld;

    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->wanted && !r->stopping)
            pthread_cond_wait(&r->wanted_cond, &r->mu);
        if (r->stopping)
            break;
        r->wanted = false;
        run_round(o, &ld);
        for (size_t i = 0; i < r->n_listeners; i++)
            r->listeners[i].fn(r->listeners[i].arg); /* they only wake their loops */
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* A parked read's poll: 0 or the failed round's code when a round begun after `arrived` has
 * ended; else CR_EPARKED, having asked the round thread (started on first use) for a round. */
static int strong_poll(struct ops *o, uint64_t arrived)
{
    struct ops_rounds *r = &o->rounds;
    int rc = CR_EPARKED;

    pthread_mutex_lock(&r->mu);
    if (r->ok > arrived) {
        rc = 0;
    } else if (r->failed > arrived) {
        rc = r->code;
    } else {
        if (!r->started) {
            r->started = true;
            while (r->n_threads < OPS_ROUND_THREADS &&
                   pthread_create(&r->threads[r->n_threads], NULL, rounds_main, o) == 0)
                r->n_threads++;
        }
        if (r->n_threads == 0) {
            rc = CR_EIO;
        } else {
            r->wanted = true;
            pthread_cond_signal(&r->wanted_cond);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

bool ops_read_parked_ready(struct ops_conn *c)
{
    struct ops_rounds *r = &c->ops->rounds;
    bool ready;

    pthread_mutex_lock(&r->mu);
    ready = r->ok > c->arrived || r->failed > c->arrived;
    pthread_mutex_unlock(&r->mu);
    return ready;
}

void ops_round_listen(struct ops *o, void (*fn)(void *arg), void *arg)
{
    struct ops_rounds *r = &o->rounds;

    pthread_mutex_lock(&r->mu);
    CR_ASSERT(r->n_listeners < OPS_MAX_LISTENERS);
    r->listeners[r->n_listeners].fn = fn;
    r->listeners[r->n_listeners++].arg = arg;
    pthread_mutex_unlock(&r->mu);
}

void ops_close(struct ops *o)
{
    struct ops_rounds *r = &o->rounds;

    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->wanted_cond);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
}

/* A STRONG read's wait (or a BOUNDED_STALENESS read beyond its bounds): a shared ReadIndex round
 * begun after the read arrived, and the apply of its index. A parkable read (c->park) that has
 * no such round yet returns CR_EPARKED at once, its arrival kept in c->arrived. */
static int strong_wait(struct ops_conn *c, struct errmsg *e)
{
    struct log_leader ld;
    uint64_t arrived = c->batch ? c->arrived : atomic_load(&c->ops->rounds.begun);
    int rc;

    if (!c->ops->clustered)
        return 0;
    if (c->park) {
        c->arrived = arrived;
        c->batch = true; /* when it runs again, it keeps its arrival */
        rc = strong_poll(c->ops, arrived);
        if (rc == CR_EPARKED)
            return errmsg_set(e, rc, "parked until a read index round ends");
        log_leader(c->ops->log, &ld);
    } else {
        rc = strong_barrier(c->ops, arrived, &ld);
    }
    if (rc == CR_ENOTLEADER)
        return not_leader(c->ops->log, "strong reads", e);
    if (rc == CR_ETIMEOUT)
        return errmsg_set(e, rc,
                          "no read index was confirmed and applied within %d ms (a leader "
                          "change?); retry",
                          LOG_STRONG_WAIT_MS);
    if (rc < 0)
        return errmsg_set(e, rc, "cannot start a strong read: %s", cr_strerror(rc));
    return 0;
}

/* BOUNDED_STALENESS: true when this node may serve from its own snapshot: at most
 * max_lag_entries behind the commit index it knows, and the newest message it has from the
 * leader was sent (by the leader's clock) within max_lag_ms. A bound of 0 means exactly that (no
 * entry behind; a message sent this very millisecond). A follower whose messages are delayed
 * hears from the leader often, but late: the sending time says how old its view is. */
static bool within_bounds(struct ops *o, const struct ops_read_opts *ro)
{
    struct node_status st;
    uint64_t now = cr_wall_ms();

    if (!log_cluster_status(o->log, &st))
        return true;
    if (st.commit > st.applied && st.commit - st.applied > ro->max_lag_entries)
        return false;
    return st.leader_sent_ms &&
           (now <= st.leader_sent_ms || now - st.leader_sent_ms <= ro->max_lag_ms);
}

/* Starts a read at the asked consistency (DESIGN.md, "The replicated log and consistency").
 * A cluster of one is its own leader and acknowledges a write once applied, so every level is
 * met by the local snapshot and a SESSION token from the future can only come from a confused
 * client (CR_EINVAL at once). Clustered: STRONG after a shared ReadIndex round (strong_wait),
 * BOUNDED_STALENESS locally within its bounds and as STRONG beyond them, SESSION once the token
 * is applied here (at most LOG_STRONG_WAIT_MS, then CR_ETIMEOUT), the others from the local
 * snapshot as it is. */
int ops_read_begin(struct ops_conn *c, const struct ops_read_opts *ro, struct ops_read_info *info,
                   struct errmsg *e)
{
    static const struct ops_read_opts strong = {OPS_STRONG, 0, 0, 0};
    struct node_status st;
    int rc = 0;

    if (!ro)
        ro = &strong;
    if ((int)ro->level < OPS_DEFAULT || ro->level > OPS_EVENTUAL)
        return errmsg_set(e, CR_EINVAL, "consistency level %d is unknown", (int)ro->level);
    if (ro->level == OPS_DEFAULT || ro->level == OPS_STRONG ||
        (ro->level == OPS_BOUNDED_STALENESS && !within_bounds(c->ops, ro)))
        rc = strong_wait(c, e);
    else if (ro->level == OPS_SESSION && c->ops->clustered && !c->live &&
             log_wait_applied(c->ops->log, ro->session_token, LOG_STRONG_WAIT_MS) < 0)
        return errmsg_set(e, CR_ETIMEOUT,
                          "session token %llu was not applied on this server within %d ms (its "
                          "applied index is %llu); retry, or read from the node that served it",
                          (unsigned long long)ro->session_token, LOG_STRONG_WAIT_MS,
                          (unsigned long long)log_applied_index(c->ops->log));
    if (rc < 0)
        return rc;
    rc = ops_snapshot(c, e);
    if (rc < 0)
        return rc;
    rc = storage_applied_index(c->txn, &info->applied_index);
    if (rc < 0)
        return errmsg_set(e, rc, "cannot read the applied index: %s", cr_strerror(rc));
    info->lag = 0;
    if (log_cluster_status(c->ops->log, &st) && st.commit > info->applied_index)
        info->lag = st.commit - info->applied_index;
    if (ro->level == OPS_SESSION && ro->session_token > info->applied_index && !c->ops->clustered)
        return errmsg_set(
            e, CR_EINVAL, "session token %llu is ahead of this server's applied index %llu",
            (unsigned long long)ro->session_token, (unsigned long long)info->applied_index);
    if (ro->level == OPS_SESSION && ro->session_token > info->applied_index)
        return errmsg_set(e, CR_ETIMEOUT,
                          "session token %llu is ahead of this read's snapshot (applied index "
                          "%llu); retry",
                          (unsigned long long)ro->session_token,
                          (unsigned long long)info->applied_index);
    return 0;
}

static int table_get(struct ops_conn *c, const char *name, size_t len, struct table_def *def,
                     struct errmsg *e)
{
    int rc;

    if (catalog_check_name(name, len) < 0)
        return errmsg_set(
            e, CR_ENAME, "table name '%.*s' must be %d..%d characters of [A-Za-z0-9_.-]",
            (int)(len > 255 ? 255 : len), name, CR_MIN_TABLE_NAME_LEN, CR_MAX_NAME_LEN);
    rc = catalog_get(c->txn, name, len, def);
    if (rc == CR_ENOTABLE)
        return errmsg_set(e, rc, "table '%.*s' not found", (int)(len > 255 ? 255 : len), name);
    if (rc < 0)
        return errmsg_set(e, rc, "reading table '%.*s': %s", (int)(len > 255 ? 255 : len), name,
                          cr_strerror(rc));
    return 0;
}

int ops_describe_table(struct ops_conn *c, const struct ops_read_opts *ro, const char *table,
                       size_t table_len, struct table_def *def, struct table_stats *stats,
                       struct ops_read_info *info, struct errmsg *e)
{
    int rc = ops_read_begin(c, ro, info, e);

    if (rc == 0)
        rc = table_get(c, table, table_len, def, e);
    if (rc == 0 && stats) {
        rc = catalog_stats(c->txn, def, stats);
        if (rc < 0)
            errmsg_set(e, rc, "reading the statistics of table '%s': %s", def->name,
                       cr_strerror(rc));
    }
    return rc;
}

int ops_describe_indexes(struct ops_conn *c, const struct table_def *def, struct cr_arena *a,
                         struct index_def **idx, struct table_stats **stats, size_t *n,
                         struct errmsg *e)
{
    int rc = ops_snapshot(c, e);

    *n = 0;
    if (rc < 0)
        return rc;
    rc = catalog_indexes(c->txn, def, a, idx, n);
    if (rc == 0 && *n && !(*stats = cr_arena_alloc(a, *n * sizeof **stats)))
        rc = CR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < *n; i++)
        rc = catalog_stats(c->txn, &(*idx)[i].key, &(*stats)[i]);
    if (rc < 0) {
        *n = 0;
        return errmsg_set(e, rc, "reading the indexes of table '%s': %s", def->name,
                          cr_strerror(rc));
    }
    return 0;
}

int ops_describe_tags(struct ops_conn *c, const struct table_def *def, struct cr_arena *a,
                      struct table_tag **tags, size_t *n, struct errmsg *e)
{
    int rc = ops_snapshot(c, e);

    *n = 0;
    if (rc == 0)
        rc = catalog_tags(c->txn, def, a, tags, n);
    if (rc < 0)
        return errmsg_set(e, rc, "reading the tags of table '%s': %s", def->name, cr_strerror(rc));
    return 0;
}

/* The index `name` of def, read from the snapshot. CR_ENOTFOUND. */
static int index_get(struct ops_conn *c, const struct table_def *def, const char *name, size_t len,
                     struct cr_arena *a, struct index_def *out, struct errmsg *e)
{
    struct index_def *idx;
    size_t n;
    int rc = catalog_indexes(c->txn, def, a, &idx, &n);

    if (rc < 0)
        return errmsg_set(e, rc, "reading the indexes of table '%s': %s", def->name,
                          cr_strerror(rc));
    for (size_t i = 0; i < n; i++) {
        if (strlen(idx[i].key.name) == len && memcmp(idx[i].key.name, name, len) == 0) {
            *out = idx[i];
            return 0;
        }
    }
    return errmsg_set(e, CR_ENOTFOUND, "table '%s' has no index '%.*s'", def->name,
                      (int)(len > 255 ? 255 : len), name);
}

int ops_list_tables(struct ops_conn *c, const struct ops_read_opts *ro, const char *after,
                    size_t after_len, uint32_t limit, struct cr_arena *a, struct table_def **defs,
                    size_t *n, bool *more, struct ops_read_info *info, struct errmsg *e)
{
    int rc;

    *n = 0;
    *more = false;
    if (limit > CR_LIST_TABLES_MAX)
        return errmsg_set(e, CR_EINVAL, "limit %u exceeds %d", limit, CR_LIST_TABLES_MAX);
    if (limit == 0)
        limit = CR_LIST_TABLES_DEFAULT;
    rc = ops_read_begin(c, ro, info, e);
    if (rc < 0)
        return rc;
    *defs = cr_arena_alloc(a, limit * sizeof **defs);
    if (!*defs)
        return errmsg_set(e, CR_ENOMEM, "out of memory listing tables");
    rc = catalog_list(c->txn, after, after_len, *defs, limit, n, more);
    if (rc < 0)
        return errmsg_set(e, rc, "listing tables: %s", cr_strerror(rc));
    return 0;
}

static const char *key_type_name(enum key_type t)
{
    return t == KEY_S ? "a string (S)" : t == KEY_N ? "a number (N)" : "bytes (B)";
}

/* Checks one key attribute of `item` with a specific message; kv_extract_key stays the
 * authority, this only explains its verdict. */
static int check_key_attr(const struct value *item, const char *role, const char *name,
                          enum key_type type, size_t max, struct errmsg *e)
{
    const struct value *v = value_map_get(item, name, strlen(name));
    bool ok;
    size_t len;

    if (!v)
        return errmsg_set(e, CR_EMISSINGKEY, "missing %s key attribute '%s'", role, name);
    ok = type == KEY_S   ? v->type == VT_STRING
         : type == KEY_B ? v->type == VT_BYTES
                         : v->type == VT_INT || v->type == VT_DOUBLE || v->type == VT_DECIMAL;
    if (!ok)
        return errmsg_set(e, CR_ETYPE, "%s key attribute '%s' must be %s, not %s", role, name,
                          key_type_name(type), value_type_name(v->type));
    if (type == KEY_N)
        return 0;
    len = v->u.s.len;
    if (len == 0)
        return errmsg_set(e, CR_EINVAL, "%s key attribute '%s' must not be empty", role, name);
    if (len > max)
        return errmsg_set(e, CR_EKEYTOOBIG, "%s key attribute '%s' is %zu bytes; the limit is %zu",
                          role, name, len, max);
    return 0;
}

static int extract_key(const struct table_def *def, const struct value *item, bool key_only,
                       struct value *pk, struct value *sk, struct errmsg *e)
{
    int rc;

    if (item->type != VT_MAP)
        return errmsg_set(e, CR_ETYPE, "an item or key must be a map, not %s",
                          value_type_name(item->type));
    rc = check_key_attr(item, "partition", def->pk_name, def->pk_type, CR_MAX_PK_SIZE, e);
    if (rc == 0 && def->has_sk)
        rc = check_key_attr(item, "sort", def->sk_name, def->sk_type, CR_MAX_SK_SIZE, e);
    if (rc < 0)
        return rc;
    if (key_only && item->u.map.n != (def->has_sk ? 2u : 1u))
        return errmsg_set(e, CR_EINVAL, "a key of table '%s' must hold only its key attributes",
                          def->name);
    rc = kv_extract_key(def, item, key_only, pk, sk);
    if (rc == CR_ENUMBER)
        return errmsg_set(e, rc,
                          "a numeric key attribute of table '%s' is not a finite number "
                          "in range",
                          def->name);
    if (rc < 0)
        return errmsg_set(e, rc, "invalid key for table '%s': %s", def->name, cr_strerror(rc));
    return 0;
}

int ops_get_item(struct ops_conn *c, const struct ops_read_opts *ro, const char *table,
                 size_t table_len, const struct value *key, struct cr_arena *a, bool *found,
                 struct value *item, struct ops_read_info *info, struct errmsg *e)
{
    struct table_def def;
    struct value pk, sk;
    int rc;

    *found = false;
    rc = ops_read_begin(c, ro, info, e);
    if (rc == 0)
        rc = table_get(c, table, table_len, &def, e);
    if (rc == 0)
        rc = extract_key(&def, key, true, &pk, &sk, e);
    if (rc < 0)
        return rc;
    rc = kv_get(c->txn, &def, &pk, def.has_sk ? &sk : NULL, a, item);
    if (rc == CR_ENOTFOUND)
        return 0;
    if (rc < 0)
        return errmsg_set(e, rc, "reading from table '%s': %s", def.name, cr_strerror(rc));
    *found = true;
    return 0;
}

/* A query's key value to the table's key type, numbers normalized to DECIMAL as
 * kv_extract_key does for stored keys. */
static int query_key(const char *role, const char *name, enum key_type type, const struct value *in,
                     struct value *out, struct errmsg *e)
{
    bool number = in->type == VT_INT || in->type == VT_DOUBLE || in->type == VT_DECIMAL;
    bool ok = type == KEY_S ? in->type == VT_STRING : type == KEY_B ? in->type == VT_BYTES : number;

    if (!ok)
        return errmsg_set(e, CR_ETYPE, "%s key '%s' must be %s, not %s", role, name,
                          key_type_name(type), value_type_name(in->type));
    *out = *in;
    if (number && in->type != VT_DECIMAL) {
        out->type = VT_DECIMAL;
        if (value_number_to_decimal(in, &out->u.dec) < 0)
            return errmsg_set(e, CR_ENUMBER, "%s key '%s' is not a finite number in range", role,
                              name);
    }
    return 0;
}

int ops_query(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_query *q,
              struct cr_arena *a, struct kv_page *out, struct ops_read_info *info, struct errmsg *e)
{
    struct table_def table, def;
    struct index_def idx;
    struct kv_query kq;
    int rc;

    memset(out, 0, sizeof *out);
    if ((int)q->op < SK_ANY || q->op > SK_BEGINS_WITH)
        return errmsg_set(e, CR_EINVAL, "sort key condition %d is unknown", (int)q->op);
    rc = ops_read_begin(c, ro, info, e);
    if (rc == 0)
        rc = table_get(c, q->table, q->table_len, &table, e);
    if (rc == 0 && q->index)
        rc = index_get(c, &table, q->index, q->index_len, a, &idx, e);
    if (rc < 0)
        return rc;
    def = q->index ? idx.key : table; /* the key queried */
    memset(&kq, 0, sizeof kq);
    rc = query_key("partition", def.pk_name, def.pk_type, &q->pk, &kq.pk, e);
    if (rc < 0)
        return rc;
    kq.op = q->op;
    if (q->op != SK_ANY) {
        if (!def.has_sk)
            return errmsg_set(e, CR_EINVAL, "table '%s' has no sort key to put a condition on",
                              def.name);
        if (q->op == SK_BEGINS_WITH && def.sk_type == KEY_N)
            return errmsg_set(e, CR_ETYPE,
                              "begins_with needs a string or bytes sort key; "
                              "'%s' is a number",
                              def.sk_name);
        rc = query_key("sort", def.sk_name, def.sk_type, &q->sk1, &kq.sk1, e);
        if (rc == 0 && q->op == SK_BETWEEN) {
            rc = query_key("sort", def.sk_name, def.sk_type, &q->sk2, &kq.sk2, e);
            if (rc == 0 && value_compare(&kq.sk1, &kq.sk2) > 0)
                rc = errmsg_set(e, CR_EINVAL,
                                "BETWEEN bounds are reversed: the first is "
                                "greater than the second");
        }
        if (rc < 0)
            return rc;
    }
    kq.reverse = q->reverse;
    kq.limit = q->limit;
    kq.cursor = q->cursor_len ? q->cursor : NULL;
    kq.cursor_len = q->cursor_len;
    rc = q->index ? kv_query_index(c->txn, &table, &idx, &kq, a, out)
                  : kv_query(c->txn, &table, &kq, a, out);
    if (rc == CR_ECURSOR)
        return errmsg_set(e, rc, "the cursor is not a continuation of this query");
    if (rc < 0)
        return errmsg_set(e, rc, "querying table '%s': %s", def.name, cr_strerror(rc));
    return 0;
}

int ops_scan(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_scan *s,
             struct cr_arena *a, struct kv_page *out, struct ops_read_info *info, struct errmsg *e)
{
    struct table_def def;
    struct index_def idx;
    int rc;

    memset(out, 0, sizeof *out);
    if (s->total_segments > CR_MAX_SCAN_SEGMENTS)
        return errmsg_set(e, CR_EINVAL, "total_segments %u exceeds %d", s->total_segments,
                          CR_MAX_SCAN_SEGMENTS);
    if (s->segment >= (s->total_segments > 1 ? s->total_segments : 1))
        return errmsg_set(e, CR_EINVAL, "segment %u is not below total_segments %u", s->segment,
                          s->total_segments);
    rc = ops_read_begin(c, ro, info, e);
    if (rc == 0)
        rc = table_get(c, s->table, s->table_len, &def, e);
    if (rc == 0 && s->index)
        rc = index_get(c, &def, s->index, s->index_len, a, &idx, e);
    if (rc < 0)
        return rc;
    if (s->index)
        rc = kv_scan_index(c->txn, &def, &idx, s->cursor_len ? s->cursor : NULL, s->cursor_len,
                           s->limit, s->segment, s->total_segments, a, out);
    else
        rc = kv_scan(c->txn, &def, s->cursor_len ? s->cursor : NULL, s->cursor_len, s->limit,
                     s->segment, s->total_segments, a, out);
    if (rc == CR_ECURSOR)
        return errmsg_set(e, rc, "the cursor is not a continuation of this scan");
    if (rc < 0)
        return errmsg_set(e, rc, "scanning table '%s': %s", def.name, cr_strerror(rc));
    return 0;
}

/* Disk blocks used by the regular files directly in dir (LMDB's data and lock files). */
/* ---- collections and documents: reads ------------------------------------------------------ */

static int coll_get(struct ops_conn *c, const char *db, const char *name, struct cr_arena *a,
                    struct coll_def *out, struct errmsg *e)
{
    int rc = catalog_coll_get(c->txn, db, name, a, out);

    if (rc == CR_ENOCOLL)
        return errmsg_set(e, rc, "collection '%.255s' not found in database '%.255s'", name, db);
    if (rc < 0)
        return errmsg_set(e, rc, "reading collection '%.255s': %s", name, cr_strerror(rc));
    return 0;
}

int ops_get_collection(struct ops_conn *c, const struct ops_read_opts *ro, const char *db,
                       const char *name, struct cr_arena *a, struct coll_def *out,
                       struct table_stats *stats, struct ops_read_info *info, struct errmsg *e)
{
    int rc = ops_read_begin(c, ro, info, e);

    if (rc == 0)
        rc = coll_get(c, db, name, a, out, e);
    if (rc == 0 && stats && (rc = catalog_coll_stats(c->txn, out->id, stats)) < 0)
        errmsg_set(e, rc, "reading the statistics of '%s': %s", name, cr_strerror(rc));
    return rc;
}

int ops_list_collections(struct ops_conn *c, const struct ops_read_opts *ro, const char *db,
                         const char *after, uint32_t limit, struct cr_arena *a,
                         struct coll_def **out, struct table_stats **stats, size_t *n, bool *more,
                         struct ops_read_info *info, struct errmsg *e)
{
    int rc;

    *n = 0;
    *more = false;
    if (limit > OPS_LIST_COLLECTIONS_MAX)
        return errmsg_set(e, CR_EINVAL, "limit %u exceeds %d", limit, OPS_LIST_COLLECTIONS_MAX);
    if (limit == 0)
        limit = OPS_LIST_COLLECTIONS_DEFAULT;
    rc = ops_read_begin(c, ro, info, e);
    if (rc < 0)
        return rc;
    *out = cr_arena_alloc(a, limit * sizeof **out);
    if (stats)
        *stats = cr_arena_calloc(a, limit * sizeof **stats);
    if (!*out || (stats && !*stats))
        return errmsg_set(e, CR_ENOMEM, "out of memory listing collections");
    rc = catalog_coll_list(c->txn, db, after && after[0] ? after : NULL, a, *out, limit, n, more);
    for (size_t i = 0; rc == 0 && stats && i < *n; i++)
        rc = catalog_coll_stats(c->txn, (*out)[i].id, &(*stats)[i]);
    if (rc < 0) {
        *n = 0;
        return errmsg_set(e, rc, "listing collections: %s", cr_strerror(rc));
    }
    return 0;
}

static int doc_read_error(int rc, const struct coll_def *coll, struct errmsg *e)
{
    if (rc == CR_ENOTFOUND)
        return errmsg_set(e, rc, "no such document in collection '%s'", coll->name);
    if (rc == CR_ETYPE)
        return errmsg_set(e, rc, "a partition key must be null, a boolean, a number or a string");
    if (rc == CR_EINVAL)
        return errmsg_set(e, rc,
                          "invalid document key for collection '%s': an id of 1..%d bytes "
                          "without / \\ ? #, and a partition key only when the collection has "
                          "one",
                          coll->name, CR_MAX_DOC_ID);
    return errmsg_set(e, rc, "reading from collection '%s': %s", coll->name, cr_strerror(rc));
}

int ops_get_doc(struct ops_conn *c, const struct ops_read_opts *ro, const char *db,
                const char *coll, const struct doc_key *key, struct cr_arena *a, struct doc *out,
                struct ops_read_info *info, struct errmsg *e)
{
    struct coll_def def;
    int rc = ops_read_begin(c, ro, info, e);

    if (rc == 0)
        rc = coll_get(c, db, coll, a, &def, e);
    if (rc < 0)
        return rc;
    rc = doc_get(c->txn, &def, key, a, out);
    return rc < 0 ? doc_read_error(rc, &def, e) : 0;
}

/* ---- queries --------------------------------------------------------------------------------
 *
 * The continuation token (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     version (TOKEN_VERSION)
 *   1       1     kind: TOKEN_STREAM or TOKEN_RERUN
 *   2       8     xxh3 of the database, the query text and the parameters (name and value)
 *   10      8     STREAM: OFFSET rows left to skip when the current document was read
 *                 RERUN: results already returned
 *   18      8     STREAM: TOP/LIMIT rows left to return when the current document was read
 *   26      8     STREAM: results of the current document already returned (JOIN rows)
 *   34      n     STREAM: the source's position (sql_storage_save) just before the current
 *                 document was read
 *                 CACHED: the id of the results kept in sqlcache (8 bytes); offset 10 holds the
 *                 position of the next result
 *
 * A streaming page ends after a result of the "current" document; the next page reads that
 * document again with the run's skip and take as they were when it was first read, and drops the
 * results of it already returned. So no document before it is read again. The query is planned
 * again for the next page (same text, parameters and collection policy: the same plan), and the
 * position is one of that plan's source.
 */

#define TOKEN_VERSION 1
#define TOKEN_STREAM 1
#define TOKEN_RERUN 2
#define TOKEN_CACHED 3 /* a buffered run's later pages, served by sqlcache; RERUN once evicted */
#define TOKEN_HEAD 34

struct token {
    int kind;
    uint64_t hash, skip, take, drop;
    const uint8_t *cursor;
    size_t cursor_len;
};

/* The planned source of a query's documents (sql_storage_source), remembering enough about the
 * current document to name its position in a token. */
struct scan_source {
    struct sql_storage *st;
    struct sql_source inner;
    struct sql_run *run;
    struct cr_buf next_at; /* the position before the document about to be read */
    struct cr_buf cur_at;  /* the position before the current document */
    uint64_t skip_at;      /* the run's skip and take when the current document was read */
    uint64_t take_at;
    uint64_t drop; /* results of it returned so far */
    uint64_t scanned;
};

static int scan_next(void *ctx, const struct value **doc)
{
    struct scan_source *s = ctx;
    struct cr_buf swap;
    int rc;

    cr_buf_reset(&s->next_at);
    rc = sql_storage_save(s->st, &s->next_at);
    if (rc == 0)
        rc = s->inner.next(s->inner.ctx, doc);
    if (rc != 1)
        return rc;
    swap = s->cur_at;
    s->cur_at = s->next_at;
    s->next_at = swap;
    s->skip_at = s->run->skip;
    s->take_at = s->run->take;
    s->drop = 0;
    s->scanned++;
    return 1;
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int token_parse(const uint8_t *p, size_t len, struct token *out)
{
    if (len < TOKEN_HEAD || len > OPS_SQL_TOKEN_MAX || p[0] != TOKEN_VERSION ||
        (p[1] != TOKEN_STREAM && p[1] != TOKEN_RERUN && p[1] != TOKEN_CACHED) ||
        (p[1] == TOKEN_RERUN && len != TOKEN_HEAD) ||
        (p[1] == TOKEN_CACHED && len != TOKEN_HEAD + 8))
        return CR_ECURSOR;
    out->kind = p[1];
    out->hash = load_be64(p + 2);
    out->skip = load_be64(p + 10);
    out->take = load_be64(p + 18);
    out->drop = load_be64(p + 26);
    out->cursor = p + TOKEN_HEAD;
    out->cursor_len = len - TOKEN_HEAD;
    return 0;
}

static int token_write(const struct token *t, struct cr_arena *a, uint8_t **out, size_t *len)
{
    struct cr_buf b;
    int rc;

    cr_buf_init(&b);
    rc = cr_buf_putc(&b, TOKEN_VERSION);
    if (rc == 0)
        rc = cr_buf_putc(&b, (uint8_t)t->kind);
    if (rc == 0)
        rc = cr_buf_put_u64be(&b, t->hash);
    if (rc == 0)
        rc = cr_buf_put_u64be(&b, t->skip);
    if (rc == 0)
        rc = cr_buf_put_u64be(&b, t->take);
    if (rc == 0)
        rc = cr_buf_put_u64be(&b, t->drop);
    if (rc == 0 && t->cursor_len)
        rc = cr_buf_append(&b, t->cursor, t->cursor_len);
    if (rc == 0 && b.len > OPS_SQL_TOKEN_MAX)
        rc = CR_EINVAL;
    if (rc == 0 && !(*out = cr_arena_alloc(a, b.len)))
        rc = CR_ENOMEM;
    if (rc == 0) {
        memcpy(*out, b.data, b.len);
        *len = b.len;
    }
    cr_buf_free(&b);
    return rc;
}

/* What a token must match: the database, the text and the parameters. */
static int query_hash(const struct ops_sql *q, uint64_t *out)
{
    struct cr_buf b;
    int rc;

    cr_buf_init(&b);
    rc = cr_buf_append(&b, q->db, strlen(q->db) + 1);
    if (rc == 0)
        rc = cr_buf_append(&b, q->text, q->len);
    for (size_t i = 0; rc == 0 && i < q->n_params; i++) {
        rc = cr_buf_put_u64be(&b, q->params[i].name_len);
        if (rc == 0)
            rc = cr_buf_append(&b, q->params[i].name, q->params[i].name_len);
        if (rc == 0 && q->params[i].value)
            rc = value_encode(q->params[i].value, &b);
    }
    if (rc == 0)
        *out = cr_hash64(b.data, b.len);
    cr_buf_free(&b);
    return rc;
}

/*
 * Builds the document source of a query: the plan (sql_plan over the collection's indexing
 * policy and the run's parameters) executed over storage (sql_storage_source), moved to a
 * streaming token's position when one is given.
 */
static int doc_source_open(struct scan_source *s, struct ops_conn *c, const struct coll_def *coll,
                           const struct sql_plan *plan, const struct token *resume,
                           struct sql_run *run, struct cr_arena *a, struct sql_source *src)
{
    int rc;

    memset(s, 0, sizeof *s);
    s->run = run;
    cr_buf_init(&s->next_at);
    cr_buf_init(&s->cur_at);
    rc = sql_storage_source(c->txn, coll, plan, NULL, a, &s->st, &s->inner);
    if (rc == 0 && resume && resume->kind == TOKEN_STREAM)
        rc = sql_storage_restore(s->st, resume->cursor, resume->cursor_len);
    memset(src, 0, sizeof *src);
    src->ctx = s;
    src->next = scan_next;
    return rc;
}

static void doc_source_close(struct scan_source *s)
{
    if (s->st)
        sql_storage_close(s->st);
    cr_buf_free(&s->next_at);
    cr_buf_free(&s->cur_at);
}

static int sql_error(const struct sql_err *se, int rc, struct errmsg *e)
{
    if (se->msg[0])
        return errmsg_set(e, rc, "%s", se->msg);
    return errmsg_set(e, rc, "query failed: %s", cr_strerror(rc));
}

/* Appends one result (deep-copied) to the page; *full once the page holds max items or bytes. */
static int page_add(struct ops_sql_page *out, const struct value *v, size_t max, size_t *bytes,
                    struct cr_arena *a, bool *full)
{
    int rc = value_clone(v, a, &out->results[out->n]);

    if (rc < 0)
        return rc;
    out->n++;
    *bytes += value_ddb_size(v);
    *full = out->n == max || *bytes >= CR_MAX_PAGE_BYTES;
    return 0;
}

/* Ends a buffered page: a CACHED token naming id and the next position, or RERUN without an id. */
static int buffered_token(uint64_t hash, uint64_t pos, uint64_t id, struct cr_arena *a,
                          struct ops_sql_page *out)
{
    struct token next = {.kind = id ? TOKEN_CACHED : TOKEN_RERUN, .hash = hash, .skip = pos};
    uint8_t idb[8];

    if (id) {
        for (int i = 0; i < 8; i++)
            idb[i] = (uint8_t)(id >> (56 - 8 * i));
        next.cursor = idb;
        next.cursor_len = sizeof idb;
    }
    return token_write(&next, a, &out->next, &out->next_len);
}

/* The next page of a buffered run from sqlcache; CR_ENOTFOUND when it was evicted. */
static int cached_page(const struct token *resume, size_t max, struct cr_arena *a,
                       struct ops_sql_page *out)
{
    uint64_t id = load_be64(resume->cursor);
    bool more;
    int rc = sqlcache_get(id, resume->hash, resume->skip, max, a, out->results, &out->n, &more);

    if (rc == 0 && more)
        rc = buffered_token(resume->hash, resume->skip + out->n, id, a, out);
    return rc;
}

/*
 * A buffered run's page (it has every row before its first anyway): all its results from the
 * token's position on are kept, the first page answered, and the rest left in sqlcache behind a
 * CACHED token, so later pages do not run the query again.
 */
static int buffered_page(struct sql_run *run, const struct token *resume, uint64_t hash, size_t max,
                         struct cr_arena *a, struct ops_sql_page *out, struct sql_err *se)
{
    uint64_t first = resume ? resume->skip : 0, drop = first, id = 0;
    struct cr_arena keep;
    struct value *rows = NULL;
    size_t n = 0, cap = 0, bytes = 0;
    bool full = false;
    const struct value *v;
    int rc;

    cr_arena_init(&keep, 64 * 1024);
    while ((rc = sql_run_next(run, &v, se)) == 1) {
        struct value *slot;

        if (drop) {
            drop--;
            continue;
        }
        slot = cr_arena_push(&keep, (void **)&rows, &n, &cap, sizeof *rows);
        if (!slot || value_clone(v, &keep, slot) < 0) {
            rc = CR_ENOMEM;
            break;
        }
    }
    for (size_t i = 0; rc == 0 && i < n && !full; i++)
        rc = page_add(out, &rows[i], max, &bytes, a, &full);
    if (rc == 0 && out->n < n) {
        if (sqlcache_put(hash, first, rows, n, &keep, &id) < 0)
            id = 0; /* too large to keep: the next page re-runs */
        rc = buffered_token(hash, first + out->n, id, a, out);
    }
    cr_arena_free(&keep);
    return rc;
}

/* A streaming run's page (buffered runs: buffered_page). */
static int sql_page(struct sql_run *run, struct scan_source *src, const struct token *resume,
                    uint64_t hash, size_t max, struct cr_arena *a, struct ops_sql_page *out,
                    struct sql_err *se)
{
    uint64_t drop = resume ? resume->drop : 0;
    bool full = false;
    size_t bytes = 0;
    struct token next = {0};
    const struct value *v;
    int rc = 0;

    while (!full && (rc = sql_run_next(run, &v, se)) == 1) {
        src->drop++;
        if (drop) {
            drop--;
            continue;
        }
        rc = page_add(out, v, max, &bytes, a, &full);
        if (rc < 0)
            return rc;
    }
    if (!full)
        return rc; /* 0: the query is complete; or the run's error */
    next.hash = hash;
    next.kind = TOKEN_STREAM;
    next.skip = src->skip_at;
    next.take = src->take_at;
    next.drop = src->drop;
    next.cursor = src->cur_at.data;
    next.cursor_len = src->cur_at.len;
    rc = token_write(&next, a, &out->next, &out->next_len);
    if (rc < 0)
        return rc;
    /* One result more tells whether the token leads anywhere. */
    rc = sql_run_next(run, &v, se);
    if (rc == 0) {
        out->next = NULL;
        out->next_len = 0;
    }
    return rc < 0 ? rc : 0;
}

#define EXPLAIN_LEN 7

/* "EXPLAIN <query>" (the keyword in any case, then white space): the plan, not the results. */
static bool is_explain(const char *text, size_t len)
{
    return len > EXPLAIN_LEN && strncasecmp(text, "EXPLAIN", EXPLAIN_LEN) == 0 &&
           (text[EXPLAIN_LEN] == ' ' || text[EXPLAIN_LEN] == '\t' || text[EXPLAIN_LEN] == '\n' ||
            text[EXPLAIN_LEN] == '\r');
}

/* EXPLAIN's page: one result, the plan's text (sql_explain). */
static int explain_page(const struct sql_plan *plan, struct cr_arena *a, struct ops_sql_page *out,
                        struct errmsg *e)
{
    struct cr_buf b;
    char *text;
    int rc;

    cr_buf_init(&b);
    rc = sql_explain(plan, &b);
    text = rc == 0 ? cr_arena_strndup(a, (const char *)b.data, b.len) : NULL;
    if (text)
        out->results[out->n++] = value_string(text, b.len);
    cr_buf_free(&b);
    return text ? 0 : errmsg_set(e, CR_ENOMEM, "out of memory");
}

int ops_sql(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_sql *q,
            struct cr_arena *a, struct ops_sql_page *out, struct ops_read_info *info,
            struct errmsg *e)
{
    size_t max = q->max_items ? q->max_items : OPS_SQL_PAGE_DEFAULT;
    char name[CR_MAX_NAME_LEN + 1];
    struct scan_source src;
    struct sql_query *query;
    struct coll_def coll;
    struct token resume = {0};
    struct sql_source source;
    struct sql_run run;
    struct sql_err se;
    struct sql_plan plan;
    const char *from, *text = q->text;
    size_t from_len;
    uint64_t hash = 0;
    bool keyword = is_explain(q->text, q->len), explain = keyword || q->explain;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&se, 0, sizeof se);
    if (q->max_items > OPS_SQL_PAGE_MAX)
        return errmsg_set(e, CR_EINVAL, "max items %u exceeds %d", q->max_items, OPS_SQL_PAGE_MAX);
    rc = query_hash(q, &hash);
    if (rc < 0)
        return errmsg_set(e, rc, "hashing the query: %s", cr_strerror(rc));
    if (q->cont_len && (token_parse(q->cont, q->cont_len, &resume) < 0 || resume.hash != hash))
        return errmsg_set(e, CR_ECURSOR,
                          "the continuation is not from this query with these parameters");
    if (keyword) {
        /* The keyword blanked out, so positions in errors stay those of the text as sent. */
        char *copy = cr_arena_alloc(a, q->len ? q->len : 1);

        if (!copy)
            return errmsg_set(e, CR_ENOMEM, "out of memory");
        memcpy(copy, q->text, q->len);
        memset(copy, ' ', EXPLAIN_LEN);
        text = copy;
    }
    rc = sql_parse(a, text, q->len, &query, &se);
    if (rc < 0)
        return sql_error(&se, rc, e);
    from = sql_query_collection(query, &from_len);
    if (from_len > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENOCOLL, "collection '%.64s...' not found", from);
    memcpy(name, from, from_len);
    name[from_len] = 0;
    rc = ops_read_begin(c, ro, info, e);
    if (rc == 0)
        rc = coll_get(c, q->db, name, a, &coll, e);
    if (rc < 0)
        return rc;
    out->results = cr_arena_alloc(a, max * sizeof *out->results);
    if (!out->results)
        return errmsg_set(e, CR_ENOMEM, "out of memory for a page of %zu results", max);
    rc = sql_plan(a, query, &coll.policy, q->params, q->n_params, &plan, &se);
    if (rc < 0)
        return sql_error(&se, rc, e);
    if (explain)
        return explain_page(&plan, a, out, e);
    if (q->cont_len && resume.kind == TOKEN_CACHED) {
        rc = cached_page(&resume, max, a, out);
        if (rc != CR_ENOTFOUND)
            return rc < 0 ? errmsg_set(e, rc, "out of memory") : 0;
        resume.kind = TOKEN_RERUN; /* evicted: run again and skip what was returned */
    }
    rc = doc_source_open(&src, c, &coll, &plan, q->cont_len ? &resume : NULL, &run, a, &source);
    if (rc == 0)
        rc = sql_run_init(&run, query, q->params, q->n_params, &source, q->budget, &se);
    if (rc < 0) {
        doc_source_close(&src);
        return rc == CR_ECURSOR ? errmsg_set(e, rc,
                                             "the continuation does not resume in this "
                                             "collection")
                                : sql_error(&se, rc, e);
    }
    sql_storage_set_ordered(src.st, &run);
    /* A token resumes only the kind of run that wrote it (the hash makes this a formality). */
    if (q->cont_len && (resume.kind == TOKEN_STREAM) == run.buffered)
        rc = errmsg_set(e, CR_ECURSOR,
                        "the continuation is not from this query with these parameters");
    if (rc == 0 && q->cont_len && resume.kind == TOKEN_STREAM) {
        run.skip = resume.skip;
        run.take = resume.take;
    }
    if (rc == 0) {
        rc = run.buffered
                 ? buffered_page(&run, q->cont_len ? &resume : NULL, hash, max, a, out, &se)
                 : sql_page(&run, &src, q->cont_len ? &resume : NULL, hash, max, a, out, &se);
        if (rc == CR_ECURSOR)
            errmsg_set(e, rc, "the continuation does not resume in this collection");
        else if (rc < 0)
            sql_error(&se, rc, e);
    }
    out->scanned = src.scanned;
    sql_run_close(&run);
    doc_source_close(&src);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return 0;
}

static uint64_t dir_usage(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    uint64_t total = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_blocks * 512u;
    }
    closedir(d);
    return total;
}

int ops_stats(struct ops_conn *c, struct ops_stats *out, struct errmsg *e)
{
    struct ops *o = c->ops;
    struct log_stats ls;
    static const struct ops_read_opts local = {OPS_EVENTUAL, 0, 0, 0};
    struct ops_read_info info;
    struct node_status cs;
    struct table_def page[STATS_PAGE];
    char after[CR_MAX_NAME_LEN + 1] = "";
    size_t n;
    bool more = true;
    int rc;

    memset(out, 0, sizeof *out);
    rc = ops_read_begin(c, &local, &info, e); /* any node tells its own state */
    if (rc < 0)
        return rc;
    while (more) {
        rc = catalog_list(c->txn, after, strlen(after), page, STATS_PAGE, &n, &more);
        if (rc < 0)
            return errmsg_set(e, rc, "counting tables: %s", cr_strerror(rc));
        out->tables += (uint32_t)n;
        if (n == 0)
            break;
        memcpy(after, page[n - 1].name, sizeof after);
    }
    log_get_stats(o->log, &ls);
    out->applied_index = info.applied_index;
    out->connections = atomic_load(&o->connections);
    out->requests = atomic_load(&o->requests);
    out->writes = ls.writes;
    out->commits = ls.commits;
    out->uptime_ms = (now_ns(CLOCK_MONOTONIC) - o->start_ns) / 1000000u;
    out->map_size = o->map_size;
    out->used_bytes = dir_usage(o->data_dir);
    if (log_cluster_status(o->log, &cs)) {
        out->node_id = cs.id;
        out->role = OPS_ROLE_FOLLOWER + (uint32_t)cs.role;
        out->term = cs.term;
        out->leader_id = cs.leader;
        out->commit_index = cs.commit;
        out->n_voters = cs.n_voters;
        memcpy(out->voters, cs.voters, cs.n_voters * sizeof *cs.voters);
        out->snapshot_index = cs.snapshot_index;
        out->snapshots_sent = cs.snapshots_sent;
        out->snapshots_installed = cs.snapshots_installed;
    }
    return 0;
}

_Static_assert(OPS_MAX_VOTERS == RAFT_MAX_VOTERS, "ops_stats holds every voter");

int ops_change_member(struct ops_conn *c, bool remove, uint64_t id, const char *addr,
                      uint64_t *index, uint64_t voters[OPS_MAX_VOTERS], size_t *n_voters,
                      struct errmsg *e)
{
    char host[NODE_HOST_MAX];
    const char *colon = remove ? NULL : strrchr(addr, ':');
    unsigned long port = 0;
    char *end = NULL;
    struct node_status cs;
    int rc;

    if (!log_cluster_status(c->ops->log, &cs))
        return errmsg_set(e, CR_EINVAL, "this server is not part of a cluster (no --peers)");
    if (id == 0)
        return errmsg_set(e, CR_EINVAL, "node id 0 is not a node");
    if (!remove) {
        if (colon)
            port = strtoul(colon + 1, &end, 10);
        if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host || !end || *end ||
            port == 0 || port > 65535)
            return errmsg_set(e, CR_EINVAL, "peer address '%s' is not HOST:PORT", addr);
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
    }
    rc = log_change_member(c->ops->log, !remove, id, remove ? NULL : host, (uint16_t)port, index);
    if (rc == CR_ENOTLEADER)
        return not_leader(c->ops->log, "membership changes", e);
    if (rc == CR_EINVAL)
        return errmsg_set(e, rc,
                          remove ? "node %llu is not a voter, or is the last one"
                                 : "node %llu is already a voter, or the cluster is full",
                          (unsigned long long)id);
    if (rc == CR_ETIMEOUT)
        return errmsg_set(e, rc,
                          "the change was not applied within %d ms (a previous change still "
                          "pending, or no quorum)",
                          LOG_CHANGE_WAIT_MS);
    if (rc < 0)
        return errmsg_set(e, rc, "changing the membership: %s", cr_strerror(rc));
    log_cluster_status(c->ops->log, &cs);
    *n_voters = cs.n_voters;
    memcpy(voters, cs.voters, cs.n_voters * sizeof *cs.voters);
    return 0;
}

/* ---- writes ------------------------------------------------------------------------------ */

static int check_create(struct ops_conn *c, const struct table_def *t, struct errmsg *e)
{
    struct table_def existing;
    size_t len = strnlen(t->name, sizeof t->name);
    size_t pk_len = strnlen(t->pk_name, sizeof t->pk_name);
    size_t sk_len = strnlen(t->sk_name, sizeof t->sk_name);
    int rc;

    if (catalog_check_name(t->name, len) < 0 || len > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME,
                          "table name '%.255s' must be %d..%d characters of [A-Za-z0-9_.-]",
                          t->name, CR_MIN_TABLE_NAME_LEN, CR_MAX_NAME_LEN);
    if (pk_len == 0 || pk_len > CR_MAX_NAME_LEN ||
        (t->has_sk && (sk_len == 0 || sk_len > CR_MAX_NAME_LEN)))
        return errmsg_set(e, CR_ESCHEMA, "key attribute names must be 1..%d bytes",
                          CR_MAX_NAME_LEN);
    if ((int)t->pk_type < KEY_S || t->pk_type > KEY_B ||
        (t->has_sk && ((int)t->sk_type < KEY_S || t->sk_type > KEY_B)))
        return errmsg_set(e, CR_ESCHEMA, "key types must be S, N or B");
    if (t->has_sk && strcmp(t->pk_name, t->sk_name) == 0)
        return errmsg_set(e, CR_ESCHEMA, "sort key '%s' has the partition key's name", t->sk_name);
    rc = catalog_get(c->txn, t->name, len, &existing);
    if (rc == 0)
        return errmsg_set(e, CR_ETABLEEXISTS, "table '%s' already exists", t->name);
    if (rc != CR_ENOTABLE)
        return errmsg_set(e, rc, "reading table '%s': %s", t->name, cr_strerror(rc));
    return 0;
}

static int check_item(const struct table_def *def, const struct value *item, struct errmsg *e)
{
    struct value pk, sk;
    size_t size;
    int rc = extract_key(def, item, false, &pk, &sk, e);

    if (rc < 0)
        return rc;
    size = value_ddb_size(item);
    if (size > CR_MAX_ITEM_SIZE)
        return errmsg_set(e, CR_EITEMTOOBIG, "item size %zu bytes exceeds %d", size,
                          CR_MAX_ITEM_SIZE);
    rc = kv_check_item(def, item);
    if (rc == CR_ENESTING)
        return errmsg_set(e, rc, "item nesting exceeds %d levels", CR_MAX_DEPTH);
    if (rc == CR_EINVAL)
        return errmsg_set(e, rc,
                          "item is invalid: a duplicate attribute or set element, an "
                          "empty set, or a bad timestamp");
    if (rc < 0)
        return errmsg_set(e, rc, "item is invalid for table '%s': %s", def->name, cr_strerror(rc));
    return 0;
}

static int check_doc_mutation(struct ops_conn *c, const struct mutation *m, struct cr_arena *a,
                              struct errmsg *e)
{
    const struct value *id;
    struct coll_def def;
    int rc;

    if (m->type == MUT_CREATE_COLLECTION) {
        rc = catalog_coll_check(&m->coll);
        if (rc == CR_ENAME)
            return errmsg_set(e, rc,
                              "database and collection names must be 1..%d bytes without "
                              "/ \\ ? #",
                              CR_MAX_NAME_LEN);
        if (rc == CR_EINVAL)
            return errmsg_set(e, rc,
                              "invalid partition key path or indexing policy: paths are "
                              "/a/b, patterns end in /? or /*, and /* must be included when "
                              "any pattern is given");
        if (rc < 0)
            return errmsg_set(e, rc, "invalid collection definition: %s", cr_strerror(rc));
        rc = catalog_coll_get(c->txn, m->coll.db, m->coll.name, a, &def);
        if (rc == 0)
            return errmsg_set(e, CR_EEXISTS, "collection '%s' already exists in database '%s'",
                              m->coll.name, m->coll.db);
        if (rc != CR_ENOCOLL)
            return errmsg_set(e, rc, "reading collection '%s': %s", m->coll.name, cr_strerror(rc));
        return 0;
    }
    rc = coll_get(c, m->coll.db, m->coll.name, a, &def, e);
    if (rc < 0 || m->type == MUT_DROP_COLLECTION)
        return rc;
    if ((int)m->pre.exists < PRE_ANY || m->pre.exists > PRE_NOT_EXISTS)
        return errmsg_set(e, CR_EINVAL, "precondition %d is unknown", (int)m->pre.exists);
    if (m->type == MUT_DOC_DELETE || m->type == MUT_DOC_PATCH) {
        if (m->doc_key.id.type != VT_STRING)
            return errmsg_set(e, CR_EINVAL, "a document id must be a string");
        if (m->type == MUT_DOC_PATCH && (m->n_patch == 0 || m->n_patch > CR_MAX_PATCH_OPS))
            return errmsg_set(e, m->n_patch ? CR_ETOOMANY : CR_EINVAL,
                              "a patch has 1..%d operations", CR_MAX_PATCH_OPS);
        return 0;
    }
    if (m->item.type != VT_MAP)
        return errmsg_set(e, CR_EINVAL, "a document must be a JSON object, not %s",
                          value_type_name(m->item.type));
    id = value_map_get(&m->item, "id", 2);
    if (!id || id->type != VT_STRING)
        return errmsg_set(e, CR_EINVAL, "a document needs a string \"id\"");
    if (id->u.s.len == 0 || id->u.s.len > CR_MAX_DOC_ID)
        return errmsg_set(e, CR_EINVAL, "a document id must be 1..%d bytes", CR_MAX_DOC_ID);
    return 0;
}

static int check_mutation(struct ops_conn *c, const struct mutation *m, struct table_def *cached,
                          struct cr_arena *a, struct errmsg *e)
{
    size_t len = strnlen(m->table.name, sizeof m->table.name);
    struct value pk, sk;
    int rc;

    if (m->n_indexes > CR_MAX_INDEXES || m->n_drop > CR_MAX_INDEXES)
        return errmsg_set(e, CR_ETOOMANY, "more than %d indexes in one table mutation",
                          CR_MAX_INDEXES);
    if (m->n_tags > CR_MAX_TAGS)
        return errmsg_set(e, CR_ETOOMANY, "more than %d tags in one table mutation", CR_MAX_TAGS);
    if (m->ttl != TTL_KEEP && (!m->ttl_attr || !m->ttl_attr[0] ||
                               strnlen(m->ttl_attr, CR_MAX_NAME_LEN + 1) > CR_MAX_NAME_LEN))
        return errmsg_set(e, CR_ENAME, "a TTL attribute name must be 1..%d bytes", CR_MAX_NAME_LEN);
    if (m->type == MUT_CREATE_TABLE)
        return check_create(c, &m->table, e);
    if (m->type >= MUT_CREATE_COLLECTION && m->type <= MUT_DOC_PATCH)
        return check_doc_mutation(c, m, a, e);
    if (m->type >= MUT_CREATE_GRAPH && m->type <= MUT_GRAPH_DROP_EDGE)
        return ops_check_graph_mutation(c, m, e);
    if (m->type != MUT_DELETE_TABLE && m->type != MUT_PUT && m->type != MUT_DELETE &&
        m->type != MUT_UPDATE && m->type != MUT_CHECK && m->type != MUT_UPDATE_TABLE)
        return errmsg_set(e, CR_EINVAL, "mutation type %d is unknown", (int)m->type);
    if ((m->type == MUT_UPDATE && !m->hook.update) ||
        (m->type == MUT_CHECK && !m->hook.check && m->cond.type == COND_NONE))
        return errmsg_set(e, CR_EINVAL, "an %s needs %s",
                          m->type == MUT_UPDATE ? "update" : "check",
                          m->type == MUT_UPDATE ? "an update hook" : "a condition");
    if (!cached->name[0] || strcmp(cached->name, m->table.name) != 0) {
        rc = table_get(c, m->table.name, len, cached, e);
        if (rc < 0) {
            cached->name[0] = 0;
            return rc;
        }
    }
    if (m->cond.type == COND_EQUALS && (m->cond.attr_len == 0 || !m->cond.attr))
        return errmsg_set(e, CR_EINVAL, "an EQUALS condition needs an attribute name");
    if ((int)m->cond.type < COND_NONE || m->cond.type > COND_EQUALS)
        return errmsg_set(e, CR_EINVAL, "condition type %d is unknown", (int)m->cond.type);
    if (m->type == MUT_PUT)
        return check_item(cached, &m->item, e);
    if (m->type == MUT_DELETE || m->type == MUT_UPDATE || m->type == MUT_CHECK)
        return extract_key(cached, &m->key, true, &pk, &sk, e);
    return 0;
}

static void proposal_done(struct log_proposal *p)
{
    struct ops_write *w = p->data;

    w->code = p->code;
    w->index = p->index;
    w->results = p->results;
    w->n = p->n_results;
    w->done(w);
}

int ops_write(struct ops_conn *c, const struct mutation *muts, size_t n, struct ops_write *w,
              struct errmsg *e)
{
    return ops_write_token(c, muts, n, NULL, 0, 0, w, e);
}

/* Validates every mutation against the snapshot (check_mutation); the failing one named. */
static int check_mutations(struct ops_conn *c, const struct mutation *muts, size_t n,
                           struct cr_arena *a, struct errmsg *e)
{
    struct table_def cached;
    int rc;

    cached.name[0] = 0;
    for (size_t i = 0; i < n; i++) {
        rc = check_mutation(c, &muts[i], &cached, a, e);
        if (rc < 0) {
            if (n > 1 && e) {
                char text[CR_ERRMSG_MAX];
                memcpy(text, e->text, sizeof text);
                errmsg_set(e, rc, "operation %zu: %s", i, text);
            }
            return rc;
        }
    }
    return 0;
}

int ops_write_token(struct ops_conn *c, const struct mutation *muts, size_t n, const char *token,
                    size_t token_len, uint64_t request_hash, struct ops_write *w, struct errmsg *e)
{
    struct wire_token wt = {token, token_len, request_hash};
    uint8_t *entry;
    size_t len;
    bool fresh;
    int rc;

    if (token && (token_len == 0 || token_len > CR_MAX_TOKEN_LEN))
        return errmsg_set(e, CR_EINVAL, "an idempotency token has 1 to %d bytes", CR_MAX_TOKEN_LEN);
    if (n == 0)
        return errmsg_set(e, CR_EINVAL, "a write needs at least one operation");
    if (n > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu operations in one write; the limit is %d", n,
                          CR_MAX_BATCH_MUTATIONS);
    fresh = !c->live;
    rc = ops_snapshot(c, e);
    if (rc == 0)
        rc = check_mutations(c, muts, n, w->arena, e);
    if (rc == CR_ENOTABLE && fresh && c->ops->clustered) {
        /* A table created through another node may not be applied here yet: look again after
         * a ReadIndex round, on a new snapshot (nothing borrows from this one, it is ours). */
        ops_conn_release(c);
        rc = strong_wait(c, e);
        if (rc == 0)
            rc = ops_snapshot(c, e);
        if (rc == 0)
            rc = check_mutations(c, muts, n, w->arena, e);
    }
    if (rc < 0)
        return rc;
    rc = wire_log_entry_encode_token((int64_t)(now_ns(CLOCK_REALTIME) / 1000000u), &wt, muts, n,
                                     w->arena, &entry, &len);
    if (rc < 0)
        return errmsg_set(e, rc, "encoding the log entry: %s", cr_strerror(rc));
    memset(&w->prop, 0, sizeof w->prop);
    w->prop.entry = entry;
    w->prop.len = len;
    w->prop.arena = w->arena;
    w->prop.completer = c->completer;
    w->prop.done = proposal_done;
    w->prop.data = w;
    rc = log_propose(c->ops->log, &w->prop);
    if (rc == CR_EOVERLOAD)
        return errmsg_set(e, rc, "the write queue is full (%zu pending); retry later",
                          c->ops->log->max_queue);
    if (rc == CR_ESHUTDOWN)
        return errmsg_set(e, rc, "the server is shutting down");
    if (rc == CR_ENOTLEADER)
        return not_leader(c->ops->log, "writes", e);
    if (rc < 0)
        return errmsg_set(e, rc, "proposing the write: %s", cr_strerror(rc));
    return 0;
}
