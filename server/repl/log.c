/*
 * The local log (a cluster of one): a bounded proposal queue and the single writer thread that
 * group-commits everything queued with one storage_apply. Must not be called from storage, must
 * not run completions itself (they run on the proposer's thread via its completer), and must
 * never block a proposer: log_propose only takes the queue lock.
 */
#include "server/repl/log.h"

#include "common/assert.h"
#include "common/error.h"
#include "common/log.h"
#include "server/errmsg.h"
#include "server/wire.h"

#include <string.h>

#define GROUP_ARENA_BLOCK (64 * 1024)

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
    if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        return CR_EIO;
    }
    return 0;
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

void log_close(struct log *l)
{
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->writer, NULL);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
}
