/* The local log: many threads proposing at once (all complete, indexes strictly increasing and
 * consecutive, fewer group commits than proposals, correct per-mutation results), undecodable
 * entries, and the applied index across a restart. */
#include "common/error.h"
#include "server/repl/log.h"
#include "server/wire.h"
#include "tmpdir.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define THREADS 8
#define PER_THREAD 100 /* each also proposes one contended put at the end */

/* A thread's own completer, woken by a condvar. */
struct waiter {
    struct log_completer c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool notified;
    size_t done;
};

static void waiter_notify(struct log_completer *c)
{
    struct waiter *w = c->data;

    pthread_mutex_lock(&w->mu);
    w->notified = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    assert_int_equal(log_completer_init(&w->c, waiter_notify, w), 0);
}

static void waiter_close(struct waiter *w)
{
    log_completer_close(&w->c);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* Runs completions until `n` proposals have completed on this waiter. */
static void waiter_wait(struct waiter *w, size_t n)
{
    while (w->done < n) {
        pthread_mutex_lock(&w->mu);
        while (!w->notified)
            pthread_cond_wait(&w->cv, &w->mu);
        w->notified = false;
        pthread_mutex_unlock(&w->mu);
        log_completer_run(&w->c);
    }
}

struct prop {
    struct log_proposal p;
    struct cr_arena arena;
    struct waiter *w;
    int code, result;
    uint64_t index;
};

static void prop_done(struct log_proposal *p)
{
    struct prop *pr = p->data;

    pr->code = p->code;
    pr->index = p->index;
    pr->result = p->code == 0 && p->n_results == 1 ? p->results[0].code : 1;
    pr->w->done++;
}

/* Encodes a one-mutation entry into pr's arena and sets pr up for w. */
static void prop_init(struct prop *pr, struct waiter *w, const struct mutation *m)
{
    uint8_t *bytes;
    size_t len;

    memset(pr, 0, sizeof *pr);
    cr_arena_init(&pr->arena, 0);
    assert_int_equal(wire_log_entry_encode(42, m, 1, &pr->arena, &bytes, &len), 0);
    pr->w = w;
    pr->p.entry = bytes;
    pr->p.len = len;
    pr->p.arena = &pr->arena;
    pr->p.completer = &w->c;
    pr->p.done = prop_done;
    pr->p.data = pr;
}

static struct mutation put_mut(const char *key, struct value *kv, struct value_field *f,
                               enum cond_type cond)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_PUT;
    strcpy(m.table.name, "things");
    *kv = value_string(key, strlen(key));
    f->name = "k";
    f->name_len = 1;
    f->value = kv;
    m.item = (struct value){.type = VT_MAP, .u.map = {f, 1}};
    m.cond.type = cond;
    return m;
}

struct env {
    char dir[64];
    struct storage *s;
    struct log log;
};

static void env_open(struct env *env)
{
    assert_int_equal(storage_open(env->dir, NULL, &env->s), 0);
    assert_int_equal(log_init(&env->log, env->s, &(struct log_options){.max_queue = 100000}), 0);
}

static void env_close(struct env *env)
{
    log_close(&env->log);
    storage_close(env->s);
}

/* Proposes one mutation from this thread and waits for it. */
static void propose_wait(struct env *env, const struct mutation *m, struct prop *pr)
{
    struct waiter w;

    waiter_init(&w);
    prop_init(pr, &w, m);
    assert_int_equal(log_propose(&env->log, &pr->p), 0);
    waiter_wait(&w, 1);
    waiter_close(&w);
    cr_arena_free(&pr->arena);
}

static void create_things(struct env *env)
{
    struct mutation m;
    struct prop pr;

    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_TABLE;
    strcpy(m.table.name, "things");
    strcpy(m.table.pk_name, "k");
    m.table.pk_type = KEY_S;
    propose_wait(env, &m, &pr);
    assert_int_equal(pr.code, 0);
    assert_int_equal(pr.result, 0);
    assert_int_equal(pr.index, 1);
}

struct worker {
    pthread_t t;
    struct env *env;
    int id;
    struct waiter w;
    struct prop props[PER_THREAD + 1];
    char keys[PER_THREAD + 1][32];
};

static void *worker_main(void *arg)
{
    struct worker *wk = arg;

    waiter_init(&wk->w);
    /* Everything is queued before waiting, so proposals from all threads pile up. */
    for (int i = 0; i <= PER_THREAD; i++) {
        struct value kv;
        struct value_field f;
        struct mutation m;

        if (i < PER_THREAD) {
            snprintf(wk->keys[i], sizeof wk->keys[i], "t%d-%d", wk->id, i);
            m = put_mut(wk->keys[i], &kv, &f, COND_NONE);
        } else {
            m = put_mut("shared", &kv, &f, COND_NOT_EXISTS);
        }
        prop_init(&wk->props[i], &wk->w, &m);
        if (log_propose(&wk->env->log, &wk->props[i].p) != 0)
            abort();
    }
    waiter_wait(&wk->w, PER_THREAD + 1);
    waiter_close(&wk->w);
    return NULL;
}

static void test_many_threads(void **state)
{
    struct env env;
    static struct worker wk[THREADS];
    static bool seen[THREADS * (PER_THREAD + 1) + 2];
    const size_t total = THREADS * (PER_THREAD + 1);
    struct log_stats st;
    size_t winners = 0;

    snprintf(env.dir, sizeof env.dir, "%s", test_tmpdir());
    env_open(&env);
    create_things(&env);
    for (int i = 0; i < THREADS; i++) {
        wk[i].env = &env;
        wk[i].id = i;
        assert_int_equal(pthread_create(&wk[i].t, NULL, worker_main, &wk[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(wk[i].t, NULL);

    for (int i = 0; i < THREADS; i++) {
        uint64_t last = 0;
        for (int j = 0; j <= PER_THREAD; j++) {
            struct prop *pr = &wk[i].props[j];
            assert_int_equal(pr->code, 0);
            /* One thread's proposals are applied in the order it made them. */
            assert_true(pr->index > last);
            last = pr->index;
            /* Indexes are consecutive after the CreateTable's 1 and used once. */
            assert_true(pr->index >= 2 && pr->index <= total + 1);
            assert_false(seen[pr->index]);
            seen[pr->index] = true;
            if (j < PER_THREAD) {
                assert_int_equal(pr->result, 0);
            } else if (pr->result == 0) {
                winners++;
            } else {
                assert_int_equal(pr->result, CR_ECONDITION);
            }
            cr_arena_free(&pr->arena);
        }
    }
    assert_int_equal(winners, 1);
    log_get_stats(&env.log, &st);
    assert_int_equal(st.applied_index, total + 1);
    assert_int_equal(st.entries, total + 1);
    assert_int_equal(st.writes, total - (THREADS - 1) + 1);
    assert_true(st.commits < total); /* group commit happened */
    fprintf(stderr, "    %zu proposals from %d threads in %llu group commits\n", total, THREADS,
            (unsigned long long)st.commits);
    env_close(&env);
    test_rmtree(env.dir);
}

static void test_bad_entry_and_restart(void **state)
{
    struct env env;
    struct waiter w;
    struct prop bad, good;
    struct value kv;
    struct value_field f;
    struct mutation m;

    snprintf(env.dir, sizeof env.dir, "%s", test_tmpdir());
    env_open(&env);
    create_things(&env);

    /* An entry that does not decode fails alone and consumes no index. */
    waiter_init(&w);
    m = put_mut("a", &kv, &f, COND_NONE);
    prop_init(&bad, &w, &m);
    bad.p.entry = (const uint8_t *)"\xff\xff\xff";
    bad.p.len = 3;
    prop_init(&good, &w, &m);
    assert_int_equal(log_propose(&env.log, &bad.p), 0);
    assert_int_equal(log_propose(&env.log, &good.p), 0);
    waiter_wait(&w, 2);
    waiter_close(&w);
    assert_int_equal(bad.code, CR_EPROTO);
    assert_int_equal(good.code, 0);
    assert_int_equal(good.index, 2);
    cr_arena_free(&bad.arena);
    cr_arena_free(&good.arena);
    assert_int_equal(log_applied_index(&env.log), 2);

    /* The applied index survives a restart and indexes continue after it. */
    env_close(&env);
    env_open(&env);
    assert_int_equal(log_applied_index(&env.log), 2);
    m = put_mut("b", &kv, &f, COND_NONE);
    propose_wait(&env, &m, &good);
    assert_int_equal(good.code, 0);
    assert_int_equal(good.index, 3);
    env_close(&env);
    test_rmtree(env.dir);
}

static void test_overload(void **state)
{
    struct env env;
    struct waiter w;
    static struct prop props[64];
    struct value kv;
    struct value_field f;
    struct mutation m;
    size_t accepted = 0, refused = 0;

    snprintf(env.dir, sizeof env.dir, "%s", test_tmpdir());
    assert_int_equal(storage_open(env.dir, NULL, &env.s), 0);
    assert_int_equal(log_init(&env.log, env.s, &(struct log_options){.max_queue = 2}), 0);
    waiter_init(&w);
    m = put_mut("x", &kv, &f, COND_NONE);
    /* The table does not exist: every accepted proposal fails with CR_ENOTABLE, quickly. */
    for (int i = 0; i < 64; i++) {
        prop_init(&props[i], &w, &m);
        int rc = log_propose(&env.log, &props[i].p);
        assert_true(rc == 0 || rc == CR_EOVERLOAD);
        rc == 0 ? accepted++ : refused++;
    }
    waiter_wait(&w, accepted);
    waiter_close(&w);
    for (int i = 0; i < 64; i++)
        cr_arena_free(&props[i].arena);
    fprintf(stderr, "    max_queue 2: %zu accepted, %zu refused\n", accepted, refused);
    assert_true(accepted >= 2);
    env_close(&env);
    test_rmtree(env.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_threads),
        cmocka_unit_test(test_bad_entry_and_restart),
        cmocka_unit_test(test_overload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
