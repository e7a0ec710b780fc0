/*
 * The log: a bounded proposal queue and the single writer thread that group-commits everything
 * queued with one storage_apply — proposals themselves in a cluster of one, the entries a Raft
 * node (node.h) committed when clustered. Must not be called from storage, must not run
 * completions itself (they run on the proposer's thread via its completer), and must never
 * block a proposer: log_propose only takes the queue lock (and the node's).
 */
#include "server/repl/log.h"

#include "common/assert.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "server/errmsg.h"
#include "server/repl/node.h"
#include "server/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROUP_ARENA_BLOCK (64 * 1024)

_Static_assert(LOG_LEADER_ADDR_MAX >= NODE_HOST_MAX + sizeof ":65535", "room for HOST:PORT");

int log_completer_init(struct log_completer *c, log_notify_fn notify, void *data)
{
    memset(c, 0, sizeof *c);
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return CR_ENOMEM;
    c->notify = notify;
    c->data = data;
    return 0;
}

void log_completer_close(struct log_completer *c)
{
    CR_ASSERT(c->head == NULL);
    pthread_mutex_destroy(&c->mu);
}

size_t log_completer_run(struct log_completer *c)
{
    struct log_proposal *p, *next;
    size_t n = 0;

    pthread_mutex_lock(&c->mu);
    p = c->head;
    c->head = c->tail = NULL;
    pthread_mutex_unlock(&c->mu);
    for (; p; p = next) {
        next = p->next;
        p->next = NULL;
        p->done(p);
        n++;
    }
    return n;
}

/* Writer thread: hands p back to its completer; notifies when the list was empty, since a
 * non-empty list already has a notification on its way. */
static void complete(struct log_proposal *p)
{
    struct log_completer *c = p->completer;
    bool was_empty;

    p->next = NULL;
    pthread_mutex_lock(&c->mu);
    was_empty = c->head == NULL;
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    pthread_mutex_unlock(&c->mu);
    if (was_empty)
        c->notify(c);
}

/* Copies what storage allocated from the group arena (old and new items, messages) into the
 * proposal's arena, which outlives this group. */
static int adopt_result(struct mutation_result *r, struct cr_arena *a)
{
    struct value copy;

    if (r->has_old) {
        if (value_clone(&r->old, a, &copy) < 0)
            return CR_ENOMEM;
        r->old = copy;
    }
    if (r->has_new) {
        if (value_clone(&r->new_item, a, &copy) < 0)
            return CR_ENOMEM;
        r->new_item = copy;
    }
    if (r->message) {
        r->message = cr_arena_strndup(a, r->message, strlen(r->message));
        if (!r->message)
            return CR_ENOMEM;
    }
    return 0;
}

static void adopt_results(struct log_proposal *p, struct log *l)
{
    for (size_t i = 0; i < p->n_results; i++) {
        struct mutation_result *r = &p->results[i];

        if (r->code == 0)
            atomic_fetch_add(&l->writes, 1);
        if (adopt_result(r, p->arena) < 0) {
            cr_log(CR_LOG_WARN, "log: out of memory returning the items of entry %llu",
                   (unsigned long long)p->index);
            r->has_old = r->has_new = false;
            r->message = NULL;
        }
    }
}

/* Applies the proposals of one drained queue (linked by ->next) as one group. */
static void apply_group(struct log *l, struct log_proposal *first, struct cr_arena *group)
{
    struct log_proposal *p, *next, **members;
    struct log_batch *batches;
    struct mutation_result **results;
    size_t n = 0, k = 0, done = 0;
    int rc = 0;

    for (p = first; p; p = p->next)
        n++;
    members = cr_arena_alloc(group, n * sizeof *members);
    batches = cr_arena_alloc(group, n * sizeof *batches);
    results = cr_arena_alloc(group, n * sizeof *results);
    if (!members || !batches || !results)
        rc = CR_ENOMEM;
    for (p = first; p; p = p->next) {
        struct errmsg e;
        struct log_batch *b;

        p->code = rc;
        if (rc < 0)
            continue;
        b = &batches[k];
        errmsg_clear(&e);
        p->code = wire_log_entry_decode(p->entry, p->len, group, b, &e);
        if (p->code == 0) {
            p->results = cr_arena_calloc(p->arena, (b->n ? b->n : 1) * sizeof *p->results);
            p->n_results = b->n;
            if (!p->results)
                p->code = CR_ENOMEM;
        }
        if (p->code < 0) {
            cr_log(CR_LOG_ERROR, "log: entry not applied: %s", errmsg_text(&e, p->code));
            continue;
        }
        b->index = l->next_index + k;
        p->index = b->index;
        results[k] = p->results;
        members[k++] = p;
    }
    if (k) {
        rc = storage_apply(l->storage, batches, k, results, group);
        if (rc < 0) {
            cr_log(CR_LOG_ERROR, "log: group of %zu entries failed to commit: %s", k,
                   cr_strerror(rc));
            atomic_fetch_add(&l->failures, 1);
            for (size_t i = 0; i < k; i++) {
                members[i]->code = rc;
                members[i]->index = 0;
                members[i]->results = NULL;
                members[i]->n_results = 0;
            }
        } else {
            l->next_index += k;
            for (size_t i = 0; i < k; i++)
                adopt_results(members[i], l);
            atomic_fetch_add(&l->commits, 1);
            atomic_fetch_add(&l->entries, k);
            atomic_store(&l->applied_index, l->next_index - 1);
        }
    }
    for (p = first; p; p = next) {
        next = p->next;
        complete(p);
        done++;
    }
    pthread_mutex_lock(&l->mu);
    l->pending -= done;
    pthread_mutex_unlock(&l->mu);
}

/* A proposal that did not make it to storage: completes it with code. */
static void fail_proposal(struct log *l, struct log_proposal *p, int code)
{
    p->code = code;
    p->index = 0;
    p->results = NULL;
    p->n_results = 0;
    complete(p);
    pthread_mutex_lock(&l->mu);
    l->pending--;
    pthread_mutex_unlock(&l->mu);
}

static void abort_nomem(uint64_t index)
{
    cr_log(CR_LOG_ERROR, "log: out of memory applying committed entry %llu",
           (unsigned long long)index);
    abort(); /* a crash: the entries are re-applied from the Raft log on restart */
}

/* Decodes committed entry e into b (index set by the caller). An entry that is not a mutation
 * (the leader's empty entry of its term, a CONF entry) or does not decode applies as nothing,
 * the same on every replica, and still consumes its index. */
static void decode_committed(const struct node_entry *e, struct cr_arena *group,
                             struct log_batch *b, struct mutation_result **res)
{
    struct log_proposal *p = e->proposal;
    struct errmsg m;
    int rc;

    memset(b, 0, sizeof *b);
    /* storage_apply wants a result array even for an entry of no mutations */
    *res = cr_arena_calloc(group, sizeof **res);
    if (!*res)
        abort_nomem(e->index);
    if (e->type != RAFT_ENTRY_NORMAL || e->len == 0)
        return;
    errmsg_clear(&m);
    rc = wire_log_entry_decode(e->data, e->len, group, b, &m);
    if (rc == CR_ENOMEM)
        abort_nomem(e->index); /* not the entry's fault: applying it as nothing would diverge */
    if (rc == 0 && b->n) {
        *res = cr_arena_calloc(p ? p->arena : group, b->n * sizeof **res);
        if (!*res)
            abort_nomem(e->index);
    }
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "log: entry %llu applies as nothing: %s", (unsigned long long)e->index,
               errmsg_text(&m, rc));
        memset(b, 0, sizeof *b);
    }
    if (p) {
        p->code = rc;
        p->results = rc == 0 ? *res : NULL;
        p->n_results = rc == 0 ? b->n : 0;
    }
}

static void free_batches(struct node_batch *b)
{
    for (struct node_batch *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

/* An entry a snapshot already applied (one installed after it was handed out): its proposal's
 * results are not known here, only that the write is in. */
static void skipped(struct log *l, struct log_proposal *p)
{
    if (p)
        fail_proposal(l, p, CR_ETIMEOUT);
}

/* Clustered: applies every committed entry of the batches (linked by ->next) in one
 * storage_apply, at their Raft indexes, then completes the proposals among them. Entries at or
 * below the applied index (a snapshot installed since they were handed out) are skipped. */
static void apply_committed(struct log *l, struct node_batch *first, struct cr_arena *group)
{
    struct node_batch *b;
    struct log_batch *batches;
    struct mutation_result **results;
    const struct node_entry **entries;
    size_t n = 0, k = 0, done = 0, muts = 0;
    uint64_t applied = atomic_load(&l->applied_index);
    int rc = 0;

    for (b = first; b; b = b->next)
        n += b->n;
    batches = cr_arena_alloc(group, n * sizeof *batches);
    results = cr_arena_alloc(group, n * sizeof *results);
    entries = cr_arena_alloc(group, n * sizeof *entries);
    if (!batches || !results || !entries)
        abort_nomem(first->e[0].index);
    for (b = first; b; b = b->next) {
        for (size_t i = 0; i < b->n; i++) {
            const struct node_entry *e = &b->e[i];

            if (e->index <= applied) {
                skipped(l, e->proposal);
                continue;
            }
            applied = e->index;
            decode_committed(e, group, &batches[k], &results[k]);
            batches[k].index = e->index;
            entries[k++] = e;
        }
    }
    if (k == 0) {
        free_batches(first);
        return;
    }
    for (size_t i = 0; i < k; i++)
        muts += batches[i].n;
    /* Entries of no mutation only (a new leader's empty entry, CONF entries) are not written:
     * storage_apply has nothing to do for them, and on restart they are handed out again, as
     * harmless as ever. The in-memory applied index still moves past them. */
    if (muts) {
        rc = storage_apply(l->storage, batches, k, results, group);
        if (rc < 0) {
            /* Committed entries must be applied, in order, on every replica: stop, and let the
             * restart apply them again from the Raft log. */
            cr_log(CR_LOG_ERROR, "log: cannot apply committed entries %llu..%llu: %s",
                   (unsigned long long)batches[0].index, (unsigned long long)batches[k - 1].index,
                   cr_strerror(rc));
            abort();
        }
        atomic_fetch_add(&l->commits, 1);
    }
    atomic_fetch_add(&l->entries, k);
    atomic_store(&l->applied_index, applied);
    for (size_t i = 0; i < k; i++) {
        struct log_proposal *p = entries[i]->proposal;

        if (!p)
            continue;
        p->index = p->code == 0 ? entries[i]->index : 0;
        if (p->code == 0)
            adopt_results(p, l);
        complete(p);
        done++;
    }
    pthread_mutex_lock(&l->mu);
    l->pending -= done;
    pthread_cond_broadcast(&l->applied);
    pthread_mutex_unlock(&l->mu);
    free_batches(first);
}

/* Reads storage's applied index: what is durable. 0 when it cannot be read. */
static uint64_t durable_index(struct log *l)
{
    struct storage_txn *t;
    uint64_t applied = 0;

    if (storage_read_begin(l->storage, &t) == 0) {
        if (storage_applied_index(t, &applied) < 0)
            applied = 0;
        storage_read_end(t);
    }
    return applied;
}

/* On the writer thread: the state machine becomes the snapshot's; its applied index too. */
static void install(struct log *l, const char *path)
{
    int rc = storage_snapshot_install(l->storage, path);

    if (rc == 0)
        atomic_store(&l->applied_index, durable_index(l));
    pthread_mutex_lock(&l->mu);
    l->install_rc = rc;
    l->install_done = true;
    pthread_cond_broadcast(&l->applied);
    pthread_mutex_unlock(&l->mu);
}

static void *cluster_writer_main(void *arg)
{
    struct log *l = arg;
    struct cr_arena group;
    struct node_batch *batch;

    cr_arena_init(&group, GROUP_ARENA_BLOCK);
    for (;;) {
        pthread_mutex_lock(&l->mu);
        while (!l->ahead && !l->stopping)
            pthread_cond_wait(&l->cond, &l->mu);
        batch = l->ahead;
        l->ahead = l->atail = NULL;
        l->queued_entries = 0;
        pthread_cond_broadcast(&l->space);
        pthread_mutex_unlock(&l->mu);
        if (!batch)
            break; /* stopping and drained */
        while (batch) {
            struct node_batch *run = NULL, **tail = &run;

            while (batch && !batch->snapshot) {
                *tail = batch;
                tail = &batch->next;
                batch = batch->next;
            }
            *tail = NULL;
            if (run) {
                apply_committed(l, run, &group);
                cr_arena_reset(&group);
            }
            if (batch) { /* an install request: everything before it is applied */
                struct node_batch *req = batch;

                batch = req->next;
                install(l, req->snapshot);
                free(req);
            }
        }
    }
    cr_arena_free(&group);
    return NULL;
}

/* node_sink.committed, on the node's thread. */
static void sink_committed(void *data, struct node_batch *b)
{
    struct log *l = data;

    pthread_mutex_lock(&l->mu);
    while (l->queued_entries >= LOG_MAX_APPLY_QUEUE && !l->stopping)
        pthread_cond_wait(&l->space, &l->mu);
    if (l->atail)
        l->atail->next = b;
    else
        l->ahead = b;
    l->atail = b;
    l->queued_entries += b->n;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

/* node_sink.install, on the node's thread: queued behind what it handed before, waited for. */
static int sink_install(void *data, const char *path)
{
    struct log *l = data;
    struct node_batch *b = calloc(1, sizeof *b);
    int rc;

    if (!b)
        return CR_ENOMEM;
    b->snapshot = path;
    pthread_mutex_lock(&l->mu);
    l->install_done = false;
    if (l->atail)
        l->atail->next = b;
    else
        l->ahead = b;
    l->atail = b;
    pthread_cond_signal(&l->cond);
    while (!l->install_done)
        pthread_cond_wait(&l->applied, &l->mu);
    rc = l->install_rc;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

/* node_sink.write_snapshot, on a transfer's copy thread: LMDB copies are safe beside writes. */
static int sink_snapshot(void *data, const char *path)
{
    struct log *l = data;

    return storage_snapshot_write(l->storage, path);
}

static uint64_t sink_durable(void *data)
{
    return durable_index(data);
}

/* node_sink.failed, on the node's thread (or log_close's). */
static void sink_failed(void *data, struct log_proposal *p, int code)
{
    fail_proposal(data, p, code);
}

static void *writer_main(void *arg)
{
    struct log *l = arg;
    struct cr_arena group;
    struct log_proposal *batch;

    cr_arena_init(&group, GROUP_ARENA_BLOCK);
    for (;;) {
        pthread_mutex_lock(&l->mu);
        while (!l->head && !l->stopping)
            pthread_cond_wait(&l->cond, &l->mu);
        batch = l->head;
        l->head = l->tail = NULL;
        pthread_mutex_unlock(&l->mu);
        if (!batch)
            break; /* stopping and drained */
        apply_group(l, batch, &group);
        cr_arena_reset(&group);
    }
    cr_arena_free(&group);
    return NULL;
}

int log_init(struct log *l, struct storage *s, const struct log_options *opt)
{
    struct storage_txn *t;
    uint64_t applied = 0;
    int rc;

    memset(l, 0, sizeof *l);
    l->storage = s;
    l->max_queue = opt && opt->max_queue ? opt->max_queue : 10000;
    rc = storage_read_begin(s, &t);
    if (rc < 0)
        return rc;
    rc = storage_applied_index(t, &applied);
    storage_read_end(t);
    if (rc < 0)
        return rc;
    l->next_index = applied + 1;
    atomic_init(&l->applied_index, applied);
    if (pthread_mutex_init(&l->mu, NULL) != 0)
        return CR_ENOMEM;
    if (pthread_cond_init(&l->cond, NULL) != 0) {
        pthread_mutex_destroy(&l->mu);
        return CR_ENOMEM;
    }
    if (pthread_cond_init(&l->space, NULL) != 0) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        return CR_ENOMEM;
    }
    if (pthread_cond_init(&l->applied, NULL) != 0) {
        pthread_cond_destroy(&l->space);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        return CR_ENOMEM;
    }
    if (pthread_create(&l->writer, NULL, opt && opt->cluster ? cluster_writer_main : writer_main,
                       l) != 0) {
        rc = CR_EIO;
        goto fail;
    }
    if (opt && opt->cluster) {
        struct node_options no = *opt->cluster;
        struct node_sink sink = {
            l, sink_committed, sink_failed, sink_durable, sink_install, sink_snapshot};

        no.applied = applied;
        rc = node_start(&no, &sink, &l->node);
        if (rc < 0) {
            pthread_mutex_lock(&l->mu);
            l->stopping = true;
            pthread_cond_broadcast(&l->cond);
            pthread_mutex_unlock(&l->mu);
            pthread_join(l->writer, NULL);
            goto fail;
        }
    }
    return 0;
fail:
    pthread_cond_destroy(&l->applied);
    pthread_cond_destroy(&l->space);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    return rc;
}

int log_propose(struct log *l, struct log_proposal *p)
{
    int rc = 0;

    CR_ASSERT(p->completer && p->done && p->arena);
    p->next = NULL;
    p->code = 0;
    p->index = 0;
    p->results = NULL;
    p->n_results = 0;
    pthread_mutex_lock(&l->mu);
    if (l->stopping) {
        rc = CR_ESHUTDOWN;
    } else if (l->pending >= l->max_queue) {
        rc = CR_EOVERLOAD;
    } else if (l->node) {
        l->pending++;
    } else {
        if (l->tail)
            l->tail->next = p;
        else
            l->head = p;
        l->tail = p;
        l->pending++;
        pthread_cond_signal(&l->cond);
    }
    pthread_mutex_unlock(&l->mu);
    if (rc == 0 && l->node) {
        rc = node_propose(l->node, p);
        if (rc < 0) {
            pthread_mutex_lock(&l->mu);
            l->pending--;
            pthread_mutex_unlock(&l->mu);
        }
    }
    return rc;
}

uint64_t log_applied_index(struct log *l)
{
    return atomic_load(&l->applied_index);
}

void log_get_stats(struct log *l, struct log_stats *out)
{
    out->applied_index = atomic_load(&l->applied_index);
    out->commits = atomic_load(&l->commits);
    out->entries = atomic_load(&l->entries);
    out->writes = atomic_load(&l->writes);
    out->failures = atomic_load(&l->failures);
}

bool log_cluster_status(struct log *l, struct node_status *out)
{
    if (!l->node)
        return false;
    node_get_status(l->node, out);
    out->applied = atomic_load(&l->applied_index);
    return true;
}

void log_leader(struct log *l, struct log_leader *out)
{
    struct node_status st;
    struct node_peer peer;

    memset(out, 0, sizeof *out);
    if (!l->node)
        return;
    node_get_status(l->node, &st);
    out->id = st.leader;
    if (st.leader && node_peer(l->node, st.leader, &peer))
        snprintf(out->addr, sizeof out->addr, "%s:%u", peer.host, (unsigned)peer.port);
}

int log_change_member(struct log *l, bool add, uint64_t id, const char *host, uint16_t port,
                      uint64_t *index)
{
    struct node_peer peer = {.id = id, .port = port};

    if (!l->node)
        return CR_EINVAL;
    if (add && snprintf(peer.host, sizeof peer.host, "%s", host) >= (int)sizeof peer.host)
        return CR_EINVAL;
    return node_change_member(l->node, add ? RAFT_CONF_ADD : RAFT_CONF_REMOVE, &peer,
                              LOG_CHANGE_WAIT_MS, index);
}

int log_wait_applied(struct log *l, uint64_t index, unsigned timeout_ms)
{
    struct timespec deadline;
    int rc = 0;

    if (atomic_load(&l->applied_index) >= index)
        return 0;
    deadline = cr_deadline(timeout_ms);
    pthread_mutex_lock(&l->mu);
    while (atomic_load(&l->applied_index) < index && rc == 0)
        if (pthread_cond_timedwait(&l->applied, &l->mu, &deadline) == ETIMEDOUT)
            rc = CR_ETIMEOUT;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int log_strong_read(struct log *l, struct log_leader *out)
{
    uint64_t index;
    int rc;

    if (!l->node)
        return 0;
    rc = node_read_index(l->node, LOG_STRONG_WAIT_MS, &index);
    if (rc == CR_ENOTLEADER)
        log_leader(l, out);
    if (rc < 0)
        return rc;
    return log_wait_applied(l, index, LOG_STRONG_WAIT_MS);
}

void log_close(struct log *l)
{
    if (l->node) {
        node_stop(l->node); /* fails what it still held: nothing more comes from it */
        l->node = NULL;
    }
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->writer, NULL);
    pthread_cond_destroy(&l->applied);
    pthread_cond_destroy(&l->space);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
}

int log_set_faults(struct log *l, const struct transport_fault *f, size_t n)
{
    if (!l->node)
        return CR_EINVAL;
    return node_set_faults(l->node, f, n);
}

int log_get_faults(struct log *l, struct transport_fault *out, size_t *n)
{
    if (!l->node)
        return CR_EINVAL;
    node_get_faults(l->node, out, n);
    return 0;
}
