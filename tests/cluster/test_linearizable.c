/*
 * Linearizability of a real cluster under faults (issue 6; docs/cluster-testing.md). Three cirrusd
 * on 127.0.0.1; client threads, each with its own connections, put, read STRONG and put
 * conditionally on a few keys with unique values, recording each operation's invocation and
 * completion times and result; a nemesis kills the leader with SIGKILL and restarts it, pauses a
 * node with SIGSTOP then resumes it, or cuts the leader off from the other nodes (cluster faults
 * in its transport) then heals it, at random moments. Afterwards the cluster is healed,
 * each key read STRONG once more, and the history of every key must be linearizable (lincheck.h),
 * which also proves no acknowledged write was lost. Beside it, on followers (nodes other than the
 * last leader seen): SESSION reads must be served at an applied index at least the client's
 * token; EVENTUAL reads must return values someone wrote, and the fraction of them older than the
 * latest write acknowledged before the read began is printed. Every wait is bounded; the servers
 * die with the test.
 *
 * Environment: CIRRUS_LIN_RUN_MS (default 20000), CIRRUS_LIN_SEED (the clients' and nemesis'
 * choices; timing still varies), CIRRUS_LIN_SNAPSHOT_ENTRIES (cirrusd's --snapshot-entries: small
 * values bring snapshot transfers into the faults), CIRRUS_LIN_BREAK=eventual-as-strong (a
 * deliberately wrong client: its STRONG reads are sent as EVENTUAL reads to any node; the check
 * must then fail).
 */
#include "client/cirrus.h"
#include "cluster_lib.h"
#include "common/error.h"
#include "lincheck.h"

#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define NODES 3
#define CLIENTS 5
#define KEYS 5
#define RUN_MS 20000
#define OP_TIMEOUT_MS 5000 /* above the longest pause and the server's own limits */
#define ELECTION_WAIT_MS 10000
#define FINAL_WAIT_MS 15000
#define BUDGET 20000000 /* lincheck steps per key: a few seconds at most */
#define VALUE_BASE 1000000000LL

/* A read beside the linearizable history: SESSION or EVENTUAL, on any node. */
struct side_read {
    int key;
    int64_t value; /* LINCHECK_ABSENT: none */
    int64_t invoke, complete;
};

struct vec {
    void *p;
    size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 256;
        void *p = realloc(v->p, cap * v->size);

        assert_non_null(p);
        v->p = p;
        v->cap = cap;
    }
    return (char *)v->p + v->size * v->n++;
}

#define CODES 64 /* -rc of the CR_E* codes counted */

struct counts {
    long writes, strong, cas_ok, cas_failed, pending, refused, switches, conn_failed;
    long session, session_behind, session_failed, eventual, read_failed;
    long unknown_by_code[CODES]; /* writes of unknown outcome, by the code they got */
};

struct client {
    int id;
    uint64_t rng;
    int home; /* the node it sends to */
    struct cirrus *conn[NODES];
    int conn_port[NODES];
    int64_t seen[KEYS]; /* the value it last saw per key: a CAS expects it */
    uint64_t token;     /* SESSION: the highest applied index it has seen */
    int64_t seq;
    struct vec ops;      /* struct lincheck_op */
    struct vec eventual; /* struct side_read */
    struct counts n;
    char behind[256]; /* the first SESSION read served behind its token */
};

static struct cluster cl;
static struct client clients[CLIENTS];
static int64_t run_end;
static atomic_int leader_hint; /* the last leader the nemesis saw, -1 if none */
static bool break_strong;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int below(uint64_t *s, int n)
{
    return (int)(next_rand(s) % (uint64_t)n);
}

static void key_item(struct cirrus_value *v, int key, int64_t val)
{
    char id[16];
    struct cirrus_value f = {0};

    snprintf(id, sizeof id, "k%d", key);
    assert_int_equal(cirrus_value_container(v, CIRRUS_MAP), 0);
    assert_int_equal(cirrus_value_string(&f, id, strlen(id)), 0);
    assert_int_equal(cirrus_map_set(v, "id", &f), 0);
    if (val != LINCHECK_ABSENT) {
        cirrus_value_int(&f, val);
        assert_int_equal(cirrus_map_set(v, "v", &f), 0);
    }
}

/* The client's connection to node i, made (again) when missing or the node has restarted on
 * another port; NULL when the node is down. */
static struct cirrus *conn_to(struct client *c, int i)
{
    int port = cluster_port(&cl, i);

    if (c->conn[i] && c->conn_port[i] == port)
        return c->conn[i];
    cirrus_close(c->conn[i]);
    c->conn[i] = NULL;
    if (cluster_connect(&cl, i, OP_TIMEOUT_MS, &c->conn[i]) != 0)
        return NULL;
    c->conn_port[i] = port;
    return c->conn[i];
}

static void drop_conn(struct client *c, int i)
{
    cirrus_close(c->conn[i]);
    c->conn[i] = NULL;
}

static int64_t item_value(const struct cirrus_result *r)
{
    const struct cirrus_value *v;

    if (r->item.type != CIRRUS_MAP)
        return LINCHECK_ABSENT;
    v = cirrus_map_get(&r->item, "v");
    assert_non_null(v);
    assert_int_equal(v->type, CIRRUS_INT);
    return v->u.i;
}

/* Outcomes of a call for the history. */
enum outcome { DONE, FAILED, UNKNOWN };

/* Whether rc proves the operation had no effect (left out of the history) or leaves it unknown;
 * CR_ENOTLEADER also moves the client to the node it names. */
static enum outcome classify(struct client *c, int node, int rc)
{
    if (rc == 0)
        return DONE;
    if (rc == CR_ENOTLEADER) {
        int to = cluster_node_named(&cl, cirrus_errmsg(c->conn[node]));

        c->n.refused++;
        if (to >= 0 && to != c->home) {
            c->home = to;
            c->n.switches++;
        } else {
            cluster_sleep_ms(20); /* no leader known yet */
        }
        return FAILED;
    }
    drop_conn(c, node); /* a late answer must not be taken for the next one's */
    return UNKNOWN;
}

static void write_op(struct client *c, int node, int key, bool cas)
{
    struct cirrus *conn = conn_to(c, node);
    struct cirrus_value item = {0}, exp = {0};
    struct cirrus_write_opts wo = {0};
    struct cirrus_result r;
    struct lincheck_op o = {.key = (uint64_t)key, .client = c->id, .node = node + 1};
    int rc;

    if (!conn) {
        c->n.conn_failed++;
        c->home = (c->home + 1) % NODES;
        cluster_sleep_ms(5);
        return;
    }
    o.kind = cas ? LINCHECK_CAS : LINCHECK_WRITE;
    o.value = (c->id + 1) * VALUE_BASE + ++c->seq;
    if (cas) {
        o.expected = c->seen[key];
        if (o.expected == LINCHECK_ABSENT) {
            wo.condition = CIRRUS_COND_NOT_EXISTS;
        } else {
            cirrus_value_int(&exp, o.expected);
            wo.condition = CIRRUS_COND_EQUALS;
            wo.attr = "v";
            wo.value = &exp;
        }
    }
    key_item(&item, key, o.value);
    o.invoke = cluster_now_ns();
    rc = cirrus_put_item(conn, "items", &item, &wo, &r);
    o.complete = cluster_now_ns();
    if (rc == 0)
        c->token =
            c->token > cirrus_last_applied_index(conn) ? c->token : cirrus_last_applied_index(conn);
    cirrus_result_free(&r);
    cirrus_value_clear(&item);
    if (cas && rc == CR_ECONDITION) {
        c->n.cas_failed++;
        *(struct lincheck_op *)vec_push(&c->ops) = o; /* ok = false: it read another value */
        return;
    }
    switch (classify(c, node, rc)) {
    case DONE:
        o.ok = true;
        c->seen[key] = o.value;
        if (cas)
            c->n.cas_ok++;
        else
            c->n.writes++;
        break;
    case FAILED:
        return;
    case UNKNOWN:
        o.pending = true;
        c->n.pending++;
        c->n.unknown_by_code[-rc < CODES ? -rc : 0]++;
        break;
    }
    *(struct lincheck_op *)vec_push(&c->ops) = o;
}

/* A read at level on node; records STRONG ones in the history and the others beside it. */
static void read_op(struct client *c, int node, int key, enum cirrus_consistency level)
{
    struct cirrus *conn;
    struct cirrus_read_opts ro = {level, 0, 0, 0};
    struct cirrus_value k = {0};
    struct cirrus_result r;
    int64_t invoke, complete, value;
    uint64_t applied;
    bool strong = level == CIRRUS_STRONG;
    int rc;

    if (strong && break_strong) {
        node = below(&c->rng, NODES);
        ro.consistency = CIRRUS_EVENTUAL;
    }
    if (level == CIRRUS_SESSION)
        ro.session_token = c->token;
    conn = conn_to(c, node);
    if (!conn) {
        c->n.conn_failed++;
        if (node == c->home)
            c->home = (c->home + 1) % NODES;
        cluster_sleep_ms(5);
        return;
    }
    key_item(&k, key, LINCHECK_ABSENT);
    invoke = cluster_now_ns();
    rc = cirrus_get_item(conn, "items", &k, &ro, &r);
    complete = cluster_now_ns();
    cirrus_value_clear(&k);
    if (rc == CR_ENOTFOUND)
        rc = 0;
    value = rc == 0 ? item_value(&r) : LINCHECK_ABSENT;
    applied = rc == 0 ? cirrus_last_applied_index(conn) : 0;
    cirrus_result_free(&r);
    if (rc != 0) {
        if (level == CIRRUS_SESSION)
            c->n.session_failed++;
        else
            c->n.read_failed++;
        if (strong)
            classify(c, node, rc);
        else if (rc != CR_ENOTLEADER)
            drop_conn(c, node);
        return; /* a read that did not answer says nothing */
    }
    if (level == CIRRUS_SESSION) {
        c->n.session++;
        if (applied < ro.session_token && !c->behind[0])
            snprintf(c->behind, sizeof c->behind,
                     "client %d: SESSION read on node %d served at applied index %" PRIu64
                     " below its token %" PRIu64,
                     c->id, node + 1, applied, ro.session_token);
        if (applied < ro.session_token)
            c->n.session_behind++;
    }
    if (applied > c->token)
        c->token = applied;
    if (strong) {
        c->n.strong++;
        c->seen[key] = value;
        *(struct lincheck_op *)vec_push(&c->ops) =
            (struct lincheck_op){(uint64_t)key, LINCHECK_READ, value,    0,     false,
                                 false,         invoke,        complete, c->id, node + 1};
    } else if (level == CIRRUS_EVENTUAL) {
        c->n.eventual++;
        *(struct side_read *)vec_push(&c->eventual) =
            (struct side_read){key, value, invoke, complete};
    }
}

/* A random node other than the last leader seen. */
static int follower(struct client *c)
{
    int leader = atomic_load(&leader_hint), i = below(&c->rng, NODES);

    return i == leader ? (i + 1 + below(&c->rng, NODES - 1)) % NODES : i;
}

static void *client_main(void *arg)
{
    struct client *c = arg;

    while (cluster_now_ms() < run_end) {
        int key = below(&c->rng, KEYS), p = below(&c->rng, 100);

        if (p < 35)
            write_op(c, c->home, key, false);
        else if (p < 50)
            write_op(c, c->home, key, true);
        else if (p < 80)
            read_op(c, c->home, key, CIRRUS_STRONG);
        else if (p < 90)
            read_op(c, follower(c), key, CIRRUS_SESSION);
        else
            read_op(c, follower(c), key, CIRRUS_EVENTUAL);
    }
    for (int i = 0; i < NODES; i++)
        drop_conn(c, i);
    return NULL;
}

/* ---- the nemesis ---- */

struct nemesis {
    uint64_t rng;
    int kills, pauses, partitions, failures;
    int64_t t0;
};

static void say(const struct nemesis *n, const char *what, int node)
{
    printf("nemesis %6.3f s: %s node %d\n", (double)(cluster_now_ms() - n->t0) / 1e3, what,
           node + 1);
    fflush(stdout);
}

/* Sleeps ms, or until the run ends when that is sooner. */
static void nap(int ms)
{
    int64_t left = run_end - cluster_now_ms();

    cluster_sleep_ms(left < ms ? (left > 0 ? (int)left : 0) : ms);
}

/* Every 0.8 to 2.5 s, one of: kill -9 the leader and restart it; SIGSTOP a node and SIGCONT it;
 * cut the leader off from the others and heal it. */
static void nemesis_run(struct nemesis *n)
{
    nap(1000 + below(&n->rng, 1000));
    while (cluster_now_ms() < run_end - 1000) {
        int i, what = below(&n->rng, 3);

        i = what == 1 ? below(&n->rng, NODES) : cluster_find_leader(&cl, 3000);
        if (i < 0) {
            nap(200);
            continue;
        }
        if (what == 0) {
            cluster_kill(&cl, i);
            say(n, "kill -9 the leader,", i);
            n->kills++;
            cluster_sleep_ms(300 + below(&n->rng, 1200));
            if (cluster_start(&cl, i) != 0)
                n->failures++;
            say(n, "restarted", i);
        } else if (what == 1) {
            cluster_pause(&cl, i);
            say(n, "SIGSTOP", i);
            n->pauses++;
            cluster_sleep_ms(300 + below(&n->rng, 1700));
            cluster_resume(&cl, i);
            say(n, "SIGCONT", i);
        } else {
            if (cluster_isolate(&cl, i, true) != 0)
                n->failures++;
            say(n, "isolate the leader,", i);
            n->partitions++;
            cluster_sleep_ms(500 + below(&n->rng, 2000));
            if (cluster_isolate(&cl, i, false) != 0)
                n->failures++;
            say(n, "heal", i);
        }
        atomic_store(&leader_hint, cluster_find_leader(&cl, 2000));
        nap(800 + below(&n->rng, 1700));
    }
}

/* ---- after the run ---- */

/* Every node unpaused and without faults. The nemesis restarts each node it kills: one that is
 * gone exited by itself (a crash, whose report the node wrote above). */
static void heal(void)
{
    for (int i = 0; i < NODES; i++) {
        int rc;

        cluster_resume(&cl, i);
        if (!cluster_alive(&cl, i))
            fail_msg("node %d exited during the run", i + 1);
        rc = cluster_isolate(&cl, i, false);
        if (rc != 0)
            fail_msg("healing node %d: %s (the node is %s)", i + 1, cr_strerror(rc),
                     cluster_alive(&cl, i) ? "alive" : "gone");
    }
}

/* A STRONG read of each key, retried until one answers, added to the history (after every
 * client's operations, so every acknowledged write must show). */
static void final_reads(struct vec *ops)
{
    int64_t deadline = cluster_now_ms() + FINAL_WAIT_MS;

    for (int key = 0; key < KEYS; key++) {
        for (;;) {
            int leader = cluster_find_leader(&cl, ELECTION_WAIT_MS);
            struct cirrus *conn = NULL;
            struct cirrus_read_opts ro = {CIRRUS_STRONG, 0, 0, 0};
            struct cirrus_value k = {0};
            struct cirrus_result r;
            struct lincheck_op o = {
                .key = (uint64_t)key, .kind = LINCHECK_READ, .client = -1, .node = leader + 1};
            int rc = CR_ECONNECT;

            if (leader >= 0 && cluster_connect(&cl, leader, OP_TIMEOUT_MS, &conn) == 0) {
                key_item(&k, key, LINCHECK_ABSENT);
                o.invoke = cluster_now_ns();
                rc = cirrus_get_item(conn, "items", &k, &ro, &r);
                o.complete = cluster_now_ns();
                if (rc == CR_ENOTFOUND)
                    rc = 0;
                if (rc == 0)
                    o.value = item_value(&r);
                cirrus_result_free(&r);
                cirrus_value_clear(&k);
            }
            cirrus_close(conn);
            if (rc == 0) {
                *(struct lincheck_op *)vec_push(ops) = o;
                break;
            }
            if (cluster_now_ms() > deadline)
                fail_msg("no STRONG read of k%d answered after healing (%s)", key, cr_strerror(rc));
            cluster_sleep_ms(50);
        }
    }
}

/* The writer of each value, by value: values are unique. */
static const struct lincheck_op *writer_of(const struct lincheck_op *ops, size_t n, int64_t v)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind != LINCHECK_READ && ops[i].value == v)
            return &ops[i];
    return NULL;
}

/*
 * EVENTUAL reads: a value must be absent or written by an operation invoked before the read
 * completed (else a phantom: fails the test). Stale: older than the latest write acknowledged
 * before the read began — absent, or written by an operation that completed before that write was
 * invoked (so certainly ordered before it). Returns the count of stale reads.
 */
static long staleness(const struct lincheck_op *ops, size_t n, const struct side_read *rd,
                      size_t n_rd)
{
    long stale = 0;

    for (size_t i = 0; i < n_rd; i++) {
        const struct lincheck_op *latest = NULL, *w;

        for (size_t j = 0; j < n; j++) {
            const struct lincheck_op *o = &ops[j];

            if (o->key != (uint64_t)rd[i].key || o->kind == LINCHECK_READ || o->pending || !o->ok ||
                o->complete >= rd[i].invoke)
                continue;
            if (!latest || o->complete > latest->complete)
                latest = o;
        }
        if (rd[i].value == LINCHECK_ABSENT) {
            stale += latest != NULL;
            continue;
        }
        w = writer_of(ops, n, rd[i].value);
        if (!w || w->key != (uint64_t)rd[i].key || w->invoke > rd[i].complete)
            fail_msg("an EVENTUAL read of k%d returned %" PRId64 ", which no write explains",
                     rd[i].key, rd[i].value);
        if (latest && w != latest && !w->pending && w->complete < latest->invoke)
            stale++;
    }
    return stale;
}

/* Waits until node i has applied the table's creation: a follower checks the table on its own
 * copy before it forwards a write (CR_ENOTABLE), which is not what this test is about. */
static void wait_table(int i)
{
    int64_t deadline = cluster_now_ms() + ELECTION_WAIT_MS;
    struct cirrus_read_opts ro = {CIRRUS_EVENTUAL, 0, 0, 0};

    for (;;) {
        struct cirrus *conn;
        struct cirrus_result r;
        int rc = cluster_connect(&cl, i, OP_TIMEOUT_MS, &conn);

        if (rc == 0) {
            rc = cirrus_describe_table(conn, "items", &ro, &r);
            cirrus_result_free(&r);
        }
        cirrus_close(conn);
        if (rc == 0)
            return;
        if (cluster_now_ms() > deadline)
            fail_msg("node %d never had the table (%s)", i + 1, cr_strerror(rc));
        cluster_sleep_ms(20);
    }
}

static void test_linearizable(void **state)
{
    const char *run = getenv("CIRRUS_LIN_RUN_MS"), *seed_env = getenv("CIRRUS_LIN_SEED");
    const char *brk = getenv("CIRRUS_LIN_BREAK"), *snap = getenv("CIRRUS_LIN_SNAPSHOT_ENTRIES");
    char snap_flag[64];
    const char *extra[2] = {NULL, NULL};
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)cluster_now_ns();
    struct vec ops = {.size = sizeof(struct lincheck_op)};
    struct vec eventual = {.size = sizeof(struct side_read)};
    struct nemesis nem = {.rng = seed * 31 + 7};
    struct counts sum = {0};
    pthread_t th[CLIENTS];
    struct lincheck_result res;
    enum lincheck_verdict verdict;
    struct cirrus *conn;
    struct cirrus_result r;
    int leader, run_ms = run ? atoi(run) : RUN_MS;
    int64_t t0, t_check;
    long stale;

    (void)state;
    if (!seed)
        seed = 1;
    break_strong = brk && strcmp(brk, "eventual-as-strong") == 0;
    printf("seed %" PRIu64 " (CIRRUS_LIN_SEED), %d ms of faults%s%s%s\n", seed, run_ms,
           break_strong ? ", STRONG reads sent as EVENTUAL (CIRRUS_LIN_BREAK)" : "",
           snap ? ", --snapshot-entries=" : "", snap ? snap : "");
    if (snap) {
        snprintf(snap_flag, sizeof snap_flag, "--snapshot-entries=%s", snap);
        extra[0] = snap_flag;
    }
    assert_int_equal(cluster_init(&cl, NODES, extra), 0);
    assert_int_equal(cluster_start_all(&cl), 0);
    leader = cluster_find_leader(&cl, ELECTION_WAIT_MS);
    assert_true(leader >= 0);
    atomic_store(&leader_hint, leader);
    assert_int_equal(cluster_connect(&cl, leader, OP_TIMEOUT_MS, &conn), 0);
    assert_int_equal(cirrus_create_table(conn, "items", "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r),
                     0);
    cirrus_result_free(&r);
    cirrus_close(conn);
    for (int i = 0; i < NODES; i++)
        wait_table(i);

    t0 = cluster_now_ms();
    nem.t0 = t0;
    run_end = t0 + run_ms;
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &clients[i];

        memset(c, 0, sizeof *c);
        c->id = i;
        c->rng = seed * 1000003 + (uint64_t)i * 7919 + 1;
        c->home = i % NODES;
        c->ops.size = sizeof(struct lincheck_op);
        c->eventual.size = sizeof(struct side_read);
        for (int k = 0; k < KEYS; k++)
            c->seen[k] = LINCHECK_ABSENT;
        assert_int_equal(pthread_create(&th[i], NULL, client_main, c), 0);
    }
    /* The nemesis runs on this thread: a node dies with the thread that started it
     * (PR_SET_PDEATHSIG), and the ones it restarts must outlive the run. */
    nemesis_run(&nem);
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(nem.failures, 0);

    heal();
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &clients[i];
        struct counts *n = &c->n;

        for (size_t k = 0; k < c->ops.n; k++)
            *(struct lincheck_op *)vec_push(&ops) = ((struct lincheck_op *)c->ops.p)[k];
        for (size_t k = 0; k < c->eventual.n; k++)
            *(struct side_read *)vec_push(&eventual) = ((struct side_read *)c->eventual.p)[k];
        sum.writes += n->writes;
        sum.strong += n->strong;
        sum.cas_ok += n->cas_ok;
        sum.cas_failed += n->cas_failed;
        sum.pending += n->pending;
        sum.refused += n->refused;
        sum.switches += n->switches;
        sum.conn_failed += n->conn_failed;
        sum.session += n->session;
        sum.session_behind += n->session_behind;
        sum.session_failed += n->session_failed;
        sum.eventual += n->eventual;
        sum.read_failed += n->read_failed;
        for (int k = 0; k < CODES; k++)
            sum.unknown_by_code[k] += n->unknown_by_code[k];
        free(c->ops.p);
        free(c->eventual.p);
        if (c->behind[0])
            printf("%s\n", c->behind);
    }
    final_reads(&ops);
    for (int i = 0; i < NODES; i++)
        if (!cluster_alive(&cl, i))
            fail_msg("node %d exited after the run", i + 1);

    t_check = cluster_now_ms();
    assert_int_equal(lincheck_check(ops.p, ops.n, BUDGET, &res), 0);
    t_check = cluster_now_ms() - t_check;
    stale = staleness(ops.p, ops.n, eventual.p, eventual.n);
    printf("history: %zu ops on %d keys in %.1f s: %ld writes, %ld cas (%ld ok, %ld failed), %ld "
           "STRONG reads, %ld outcome unknown, %d final reads; %ld refused CR_ENOTLEADER (%ld "
           "switches), %ld failed reads, %ld connects failed; nemesis: %d kills, %d pauses, %d "
           "partitions\n",
           ops.n, KEYS, (double)run_ms / 1e3, sum.writes, sum.cas_ok + sum.cas_failed, sum.cas_ok,
           sum.cas_failed, sum.strong, sum.pending, KEYS, sum.refused, sum.switches,
           sum.read_failed, sum.conn_failed, nem.kills, nem.pauses, nem.partitions);
    printf("outcome unknown:");
    for (int k = 0; k < CODES; k++)
        if (sum.unknown_by_code[k])
            printf(" %ld %s;", sum.unknown_by_code[k], k ? cr_strerror(-k) : "other");
    printf("\n");
    printf("SESSION reads: %ld served, %ld behind their token, %ld failed\n", sum.session,
           sum.session_behind, sum.session_failed);
    printf("EVENTUAL reads: %ld, %ld stale (%.2f%%: older than the latest write acknowledged "
           "before the read began)\n",
           sum.eventual, stale, sum.eventual ? 100.0 * (double)stale / (double)sum.eventual : 0.0);
    printf("lincheck: %" PRIu64 " steps in %lld ms\n", res.steps, (long long)t_check);
    lincheck_print(stdout, ops.p, &res);
    fflush(stdout);
    verdict = res.verdict;
    lincheck_result_free(&res);
    free(ops.p);
    free(eventual.p);
    assert_int_equal(verdict, LINCHECK_LINEARIZABLE);
    assert_int_equal(sum.session_behind, 0);
    /* The run must have done something under faults to prove anything. */
    assert_true(sum.writes + sum.cas_ok > 100 && sum.strong > 100);
    assert_true(run_ms < 10000 || nem.kills + nem.pauses + nem.partitions >= 2);
}

/* The node a CR_ENOTLEADER message names (server/ops.c's wording), which the clients follow. */
static void test_node_named(void **state)
{
    struct cluster c = {.n = NODES, .base = 21000};

    (void)state;
    assert_int_equal(cluster_node_named(&c, "this node is not the leader (writes go to the "
                                            "leader): the leader is node 2, peer address "
                                            "127.0.0.1:21001"),
                     1);
    assert_int_equal(cluster_node_named(&c, "... peer address 127.0.0.1:21000"), 0);
    assert_int_equal(cluster_node_named(&c, "... peer address 127.0.0.1:21003"), -1);
    assert_int_equal(cluster_node_named(&c, "... peer address unknown"), -1);
    assert_int_equal(cluster_node_named(&c, "this node is not the leader (writes go to the "
                                            "leader); no leader is known yet, retry"),
                     -1);
}

static int teardown(void **state)
{
    (void)state;
    cluster_destroy(&cl);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_named),
        cmocka_unit_test_teardown(test_linearizable, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
