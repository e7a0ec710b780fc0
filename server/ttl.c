/*
 * The time-to-live sweeper (ttl.h): a loop thread whose timer scans the TTL-enabled tables in
 * bounded chunks and proposes conditional deletes of expired items through ops_write, with
 * completions on this loop (its own log_completer, as http.c's). Must not write storage but
 * through ops_write, must not hold the loop for more than one chunk, and must have nothing in
 * flight when ttl_stop returns.
 *
 * Position: the table being swept (by name; the next one is the first TTL-enabled table after
 * it in name order) and its scan continuation. A table dropped, recreated or with TTL disabled
 * meanwhile is simply passed over: its continuation fails or it is no longer TTL-enabled.
 *
 * An entry is all-or-nothing: when one of its deletes fails its condition (the item's expiry
 * was changed since the scan), the others are proposed again without it.
 */
#include "server/ttl.h"

#include "common/error.h"
#include "common/log.h"
#include "server/repl/node.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRITE_ARENA_BLOCK (16 * 1024)

/* One proposed entry of deletes. `keep` holds the mutations (copied from the scan's snapshot)
 * so the survivors of a failed condition can be proposed again; `arena` is the write's own. */
struct sweep_write {
    struct ttl_sweeper *s;
    struct cr_arena arena, keep;
    struct mutation *muts;
    size_t n;
    struct ops_write w;
};

struct ttl_sweeper {
    struct ops *ops;
    struct timeval interval;
    struct event_base *base;
    struct event *timer, *complete_ev, *stop_ev;
    struct log_completer completer;
    bool completer_ready;
    struct ops_conn oc;
    bool oc_ready;
    pthread_t thread;
    bool started;
    /* loop thread only */
    bool stopping;
    size_t inflight;                 /* entries proposed, not completed */
    char table[CR_MAX_NAME_LEN + 1]; /* being swept; empty: the pass starts over */
    struct cr_buf cursor;            /* its scan continuation; empty: from its start */
    struct cr_arena scratch;         /* one tick's reads */
};

size_t ttl_select(const struct value *items, size_t n, const char *attr, int64_t now_s, size_t *out)
{
    struct value now = {.type = VT_INT, .u.i = now_s};
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        const struct value *v = value_map_get(&items[i], attr, strlen(attr));

        if (v && (v->type == VT_INT || v->type == VT_DOUBLE || v->type == VT_DECIMAL) &&
            value_compare(v, &now) <= 0)
            out[k++] = i;
    }
    return k;
}

static void maybe_exit(struct ttl_sweeper *s)
{
    if (s->stopping && s->inflight == 0)
        event_base_loopexit(s->base, NULL);
}

static void write_free(struct sweep_write *sw)
{
    cr_arena_free(&sw->arena);
    cr_arena_free(&sw->keep);
    free(sw);
}

static void write_done(struct ops_write *w);

/* Proposes muts[0..n) (borrowed: copied into the entry and into a `keep` arena). On an error
 * the deletes are dropped: the next pass finds the items again. The caller releases s->oc's
 * snapshot (which ops_write takes) once done with what it borrows from it. */
static void propose(struct ttl_sweeper *s, const struct mutation *muts, size_t n)
{
    struct sweep_write *sw = calloc(1, sizeof *sw);
    struct errmsg e;
    int rc = CR_ENOMEM;

    if (!sw) {
        cr_log(CR_LOG_WARN, "ttl: out of memory proposing %zu deletes", n);
        return;
    }
    sw->s = s;
    cr_arena_init(&sw->arena, WRITE_ARENA_BLOCK);
    cr_arena_init(&sw->keep, WRITE_ARENA_BLOCK);
    sw->muts = cr_arena_alloc(&sw->keep, n * sizeof *sw->muts);
    for (size_t i = 0; sw->muts && i < n; i++) {
        struct mutation *m = &sw->muts[i];

        *m = muts[i];
        m->cond.attr = cr_arena_strndup(&sw->keep, muts[i].cond.attr, muts[i].cond.attr_len);
        if (!m->cond.attr || value_clone(&muts[i].key, &sw->keep, &m->key) < 0 ||
            value_clone(&muts[i].cond.value, &sw->keep, &m->cond.value) < 0)
            sw->muts = NULL;
    }
    sw->n = n;
    sw->w.arena = &sw->arena;
    sw->w.done = write_done;
    sw->w.data = sw;
    if (sw->muts)
        rc = ops_write(&s->oc, sw->muts, n, &sw->w, &e);
    if (rc < 0) {
        cr_log(CR_LOG_WARN, "ttl: cannot propose %zu deletes from table '%s': %s", n,
               muts[0].table.name, rc == CR_ENOMEM ? cr_strerror(rc) : e.text);
        write_free(sw);
        return;
    }
    s->inflight++;
}

/* On the loop thread: a proposal completed. */
static void write_done(struct ops_write *w)
{
    struct sweep_write *sw = w->data;
    struct ttl_sweeper *s = sw->s;
    size_t again = 0;

    s->inflight--;
    if (w->code < 0)
        cr_log(CR_LOG_WARN, "ttl: %zu deletes from table '%s' failed: %s", sw->n,
               sw->muts[0].table.name, cr_strerror(w->code));
    for (size_t i = 0; w->code == 0 && i < w->n; i++) {
        if (w->results[i].code == CR_EABORTED)
            sw->muts[again++] = sw->muts[i];
        else if (w->results[i].code && w->results[i].code != CR_ECONDITION)
            cr_log(CR_LOG_WARN, "ttl: a delete from table '%s' failed: %s", sw->muts[i].table.name,
                   cr_strerror(w->results[i].code));
    }
    if (again && !s->stopping) {
        propose(s, sw->muts, again);
        ops_conn_release(&s->oc);
    }
    write_free(sw);
    maybe_exit(s);
}

/* Moves s->table to the first TTL-enabled table after it, from its start (empty: none left in
 * this pass). */
static int next_table(struct ttl_sweeper *s)
{
    struct ops_read_info info;
    struct table_def *defs;
    struct errmsg e;
    size_t n;
    bool more = true;
    int rc;

    cr_buf_reset(&s->cursor);
    while (more) {
        rc = ops_list_tables(&s->oc, NULL, s->table, strlen(s->table), CR_LIST_TABLES_MAX,
                             &s->scratch, &defs, &n, &more, &info, &e);
        if (rc < 0) {
            cr_log(CR_LOG_WARN, "ttl: cannot list tables: %s", e.text);
            return rc;
        }
        for (size_t i = 0; i < n; i++)
            if (defs[i].ttl_attr[0]) {
                memcpy(s->table, defs[i].name, strlen(defs[i].name) + 1);
                return 0;
            }
        if (n == 0)
            break;
        memcpy(s->table, defs[n - 1].name, strlen(defs[n - 1].name) + 1);
    }
    s->table[0] = 0;
    return 0;
}

/* The key attributes of item, a MAP of the table's key, into *out (arena). */
static int key_of(const struct table_def *def, const struct value *item, struct cr_arena *a,
                  struct value *out)
{
    const char *names[2] = {def->pk_name, def->sk_name};
    struct value_field *f = cr_arena_alloc(a, 2 * sizeof *f);
    size_t n = def->has_sk ? 2 : 1;

    if (!f)
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct value *v = value_map_get(item, names[i], strlen(names[i]));

        if (!v)
            return CR_ECORRUPT;
        f[i] = (struct value_field){names[i], strlen(names[i]), (struct value *)v};
    }
    out->type = VT_MAP;
    out->u.map.fields = f;
    out->u.map.n = n;
    return 0;
}

/* Proposes the deletes of page's items at sel[0..n), TTL_BATCH per entry. */
static int propose_expired(struct ttl_sweeper *s, const struct table_def *def,
                           const struct kv_page *page, const size_t *sel, size_t n)
{
    struct mutation *muts = cr_arena_calloc(&s->scratch, TTL_BATCH * sizeof *muts);
    size_t attr_len = strlen(def->ttl_attr);

    if (!muts)
        return CR_ENOMEM;
    for (size_t at = 0; at < n; at += TTL_BATCH) {
        size_t k = n - at < TTL_BATCH ? n - at : TTL_BATCH;

        for (size_t i = 0; i < k; i++) {
            const struct value *item = &page->items[sel[at + i]];
            struct mutation *m = &muts[i];
            int rc = key_of(def, item, &s->scratch, &m->key);

            if (rc < 0)
                return rc;
            m->type = MUT_DELETE;
            m->table = *def;
            m->item.type = VT_NULL;
            m->cond.type = COND_EQUALS;
            m->cond.attr = def->ttl_attr;
            m->cond.attr_len = attr_len;
            m->cond.value = *value_map_get(item, def->ttl_attr, attr_len);
        }
        propose(s, muts, k);
    }
    return 0;
}

/* One chunk of the table def (s->table) from its continuation: at most *budget items, which it
 * uses up (one at least, so a tick always ends). Leaves the continuation empty when the table
 * is done or cannot be read (dropped, or recreated under its name since the last chunk). */
static int sweep_chunk(struct ttl_sweeper *s, const struct table_def *def, int64_t now,
                       uint32_t *budget)
{
    struct ops_scan sc = {.table = def->name,
                          .table_len = strlen(def->name),
                          .limit = *budget,
                          .cursor = s->cursor.data,
                          .cursor_len = s->cursor.len};
    struct ops_read_info info;
    struct kv_page page;
    struct errmsg e;
    size_t *sel, n;
    int rc = ops_scan(&s->oc, NULL, &sc, &s->scratch, &page, &info, &e);

    cr_buf_reset(&s->cursor);
    if (rc < 0)
        return 0;
    *budget -= page.scanned == 0 ? 1 : page.scanned < *budget ? (uint32_t)page.scanned : *budget;
    sel = cr_arena_alloc(&s->scratch, (page.n + 1) * sizeof *sel);
    if (!sel)
        return CR_ENOMEM;
    n = ttl_select(page.items, page.n, def->ttl_attr, now, sel);
    rc = n ? propose_expired(s, def, &page, sel, n) : 0;
    if (rc == 0 && page.next_len)
        rc = cr_buf_append(&s->cursor, page.next, page.next_len);
    return rc;
}

/* The timer: one bounded step of the sweep, from where the last one stopped to the end of the
 * budget or of the pass over the tables (the next tick starts the next pass). */
static void tick(evutil_socket_t unused, short what, void *arg)
{
    struct ttl_sweeper *s = arg;
    struct table_def def;
    struct ops_read_info info;
    struct errmsg e;
    uint32_t budget = TTL_SCAN_BUDGET;
    int64_t now = (int64_t)time(NULL); /* the proposer's clock (DESIGN.md principle 1) */
    struct node_status st;
    int rc = 0;

    if (s->stopping || s->inflight)
        return;
    if (log_cluster_status(s->ops->log, &st) && st.role != RAFT_LEADER) {
        /* Only the leader sweeps: a follower's deletes would be forwarded to the leader, which
         * proposes the same ones itself. A new leader starts its pass over. */
        s->table[0] = 0;
        cr_buf_reset(&s->cursor);
        return;
    }
    if (!s->table[0])
        rc = next_table(s);
    while (rc == 0 && budget > 0 && s->table[0]) {
        if (ops_describe_table(&s->oc, NULL, s->table, strlen(s->table), &def, NULL, &info, &e) ==
                0 &&
            def.ttl_attr[0])
            rc = sweep_chunk(s, &def, now, &budget);
        else
            cr_buf_reset(&s->cursor);
        if (rc == 0 && s->cursor.len == 0)
            rc = next_table(s);
    }
    if (rc < 0)
        cr_log(CR_LOG_WARN, "ttl: sweeping table '%s': %s", s->table, cr_strerror(rc));
    ops_conn_release(&s->oc);
    cr_arena_reset(&s->scratch);
}

static void complete_cb(evutil_socket_t unused, short what, void *arg)
{
    struct ttl_sweeper *s = arg;

    log_completer_run(&s->completer);
}

/* Writer thread: wake the loop to run its completions. */
static void notify(struct log_completer *c)
{
    struct ttl_sweeper *s = c->data;

    event_active(s->complete_ev, EV_READ, 0);
}

static void stop_cb(evutil_socket_t unused, short what, void *arg)
{
    struct ttl_sweeper *s = arg;

    s->stopping = true;
    event_del(s->timer);
    maybe_exit(s);
}

static void *loop_main(void *arg)
{
    struct ttl_sweeper *s = arg;

    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int ttl_start(struct ops *o, unsigned interval_ms, struct ttl_sweeper **out, struct errmsg *e)
{
    struct ttl_sweeper *s;
    int rc;

    if (evthread_use_pthreads() != 0)
        return errmsg_set(e, CR_EINTERNAL, "libevent has no pthreads support");
    s = calloc(1, sizeof *s);
    if (!s)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    s->ops = o;
    s->interval.tv_sec = interval_ms / 1000;
    s->interval.tv_usec = (interval_ms % 1000) * 1000;
    cr_buf_init(&s->cursor);
    cr_arena_init(&s->scratch, WRITE_ARENA_BLOCK);
    if (log_completer_init(&s->completer, notify, s) < 0) {
        ttl_free(s);
        return errmsg_set(e, CR_ENOMEM, "cannot create the TTL completer");
    }
    s->completer_ready = true;
    ops_conn_init(o, &s->completer, &s->oc);
    s->oc_ready = true;
    s->base = event_base_new();
    if (s->base) {
        s->timer = event_new(s->base, -1, EV_PERSIST, tick, s);
        s->complete_ev = event_new(s->base, -1, 0, complete_cb, s);
        s->stop_ev = event_new(s->base, -1, 0, stop_cb, s);
    }
    if (!s->base || !s->timer || !s->complete_ev || !s->stop_ev ||
        event_add(s->timer, &s->interval) < 0) {
        rc = errmsg_set(e, CR_ENOMEM, "cannot create the TTL event loop");
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
        rc = errmsg_set(e, CR_EIO, "cannot start the TTL thread");
        goto fail;
    }
    s->started = true;
    *out = s;
    return 0;
fail:
    ttl_free(s);
    return rc;
}

void ttl_stop(struct ttl_sweeper *s)
{
    if (!s->started)
        return;
    event_active(s->stop_ev, EV_READ, 0);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void ttl_free(struct ttl_sweeper *s)
{
    if (s->timer)
        event_free(s->timer);
    if (s->complete_ev)
        event_free(s->complete_ev);
    if (s->stop_ev)
        event_free(s->stop_ev);
    if (s->oc_ready)
        ops_conn_close(&s->oc);
    if (s->base)
        event_base_free(s->base);
    if (s->completer_ready)
        log_completer_close(&s->completer);
    cr_buf_free(&s->cursor);
    cr_arena_free(&s->scratch);
    free(s);
}
