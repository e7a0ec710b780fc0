/*
 * Three real cirrusd processes replicating through Raft on 127.0.0.1 (issue 6, phase 1): a
 * leader is elected; writes through it reach every node; a follower forwards writes to the leader
 * (conditional ones too) and serves STRONG reads after a read index from it; after kill -9 of the
 * leader the other two elect a new one within a bounded time, every acknowledged write is readable
 * there, new writes succeed; the killed node, restarted, catches up. And starts cirrusd must
 * refuse. Every wait is bounded; the servers die with the test.
 */
#include "client/cirrus.h"
#include "common/error.h"
#include "cluster_lib.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define NODES 3
#define MAX_NODES 4            /* the membership test adds a fourth */
#define ELECTION_WAIT_MS 10000 /* the election timeout is 300..600 ms; ASan and 2 cores */
#define CATCH_UP_WAIT_MS 20000
#define FIRST_WRITES 100
#define MORE_WRITES 20

static struct harness nodes[MAX_NODES];

static struct cirrus *conn(int i)
{
    struct cirrus *c = NULL;

    if (cirrus_connect("127.0.0.1", nodes[i].port, 5000, &c) != 0)
        return NULL;
    return c;
}

static int stats(int i, struct cirrus_stats *out)
{
    return cluster_port_stats(nodes[i].port, 5000, out);
}

/* The running node that says it leads, in the highest term; -1 after timeout_ms. */
static int find_leader(int timeout_ms)
{
    return cluster_harness_leader(nodes, MAX_NODES, timeout_ms);
}

static void item(struct cirrus_value *v, int k, int64_t val)
{
    char key[32];
    struct cirrus_value f = {0};

    snprintf(key, sizeof key, "k%04d", k);
    assert_int_equal(cirrus_value_container(v, CIRRUS_MAP), 0);
    assert_int_equal(cirrus_value_string(&f, key, strlen(key)), 0);
    assert_int_equal(cirrus_map_set(v, "id", &f), 0);
    if (val >= 0) {
        cirrus_value_int(&f, val);
        assert_int_equal(cirrus_map_set(v, "v", &f), 0);
    }
}

/* Puts {id: k, v: val} through node i under condition cond; the code, and the message in msg
 * if given. */
static int put_cond(int i, int k, int64_t val, enum cirrus_condition cond, char *msg, size_t cap)
{
    struct cirrus *c = conn(i);
    struct cirrus_value v = {0};
    struct cirrus_write_opts wo = {.condition = cond};
    struct cirrus_result r;
    int rc;

    if (!c)
        return CR_ECONNECT;
    item(&v, k, val);
    rc = cirrus_put_item(c, "items", &v, &wo, &r);
    if (msg)
        snprintf(msg, cap, "%s", rc ? cirrus_errmsg(c) : "");
    cirrus_result_free(&r);
    cirrus_value_clear(&v);
    cirrus_close(c);
    return rc;
}

static int put(int i, int k, int64_t val, char *msg, size_t cap)
{
    return put_cond(i, k, val, CIRRUS_COND_NONE, msg, cap);
}

/* Reads k on node i; *val -1 when absent (which is not an error here). */
static int get(int i, int k, enum cirrus_consistency level, int64_t *val, char *msg, size_t cap)
{
    struct cirrus *c = conn(i);
    struct cirrus_read_opts ro = {level, 0, 0, 0};
    struct cirrus_value key = {0};
    struct cirrus_result r;
    int rc;

    if (!c)
        return CR_ECONNECT;
    item(&key, k, -1);
    *val = -1;
    rc = cirrus_get_item(c, "items", &key, &ro, &r);
    if (rc == CR_ENOTFOUND)
        rc = 0;
    if (rc == 0 && r.item.type == CIRRUS_MAP) {
        const struct cirrus_value *v = cirrus_map_get(&r.item, "v");

        assert_non_null(v);
        assert_int_equal(v->type, CIRRUS_INT);
        *val = v->u.i;
    }
    if (msg)
        snprintf(msg, cap, "%s", rc ? cirrus_errmsg(c) : "");
    cirrus_result_free(&r);
    cirrus_value_clear(&key);
    cirrus_close(c);
    return rc;
}

/* Waits until node i serves keys [from, to) with v == k * 10 to EVENTUAL reads. */
static void wait_items(int i, int from, int to)
{
    int64_t deadline = cluster_now_ms() + CATCH_UP_WAIT_MS;

    for (int k = from; k < to; k++) {
        int64_t val = -1;

        while (get(i, k, CIRRUS_EVENTUAL, &val, NULL, 0) != 0 || val != (int64_t)k * 10) {
            if (cluster_now_ms() > deadline)
                fail_msg("node %d never served k%04d (got %lld)", i + 1, k, (long long)val);
            cluster_sleep_ms(20);
        }
    }
}

static void start(int i)
{
    assert_int_equal(harness_start(&nodes[i]), 0);
}

/* Node i (0-based) of a cluster whose peer ports start at base: the three initial voters in
 * --peers, and with join the fourth too (which starts empty and waits to be added). */
static void configure(int i, int base, bool join)
{
    char flag[160];

    harness_init(&nodes[i]);
    snprintf(flag, sizeof flag, "--node-id=%d", i + 1);
    harness_flag(&nodes[i], flag);
    snprintf(flag, sizeof flag, "--peers=1=127.0.0.1:%d,2=127.0.0.1:%d,3=127.0.0.1:%d", base,
             base + 1, base + 2);
    if (join)
        snprintf(flag + strlen(flag), sizeof flag - strlen(flag), ",%d=127.0.0.1:%d", i + 1,
                 base + i);
    harness_flag(&nodes[i], flag);
    if (join)
        harness_flag(&nodes[i], "--join");
    harness_flag(&nodes[i], "--http=off");
    harness_flag(&nodes[i], "--threads=1");
}

/* Starts the three initial voters (with one extra flag if given); returns the leader they
 * elect, with table "items". */
static int start_three(int base, const char *extra)
{
    struct cirrus_result r;
    struct cirrus *c;
    int leader;

    for (int i = 0; i < NODES; i++) {
        configure(i, base, false);
        if (extra)
            harness_flag(&nodes[i], extra);
    }
    for (int i = 0; i < NODES; i++)
        start(i);
    leader = find_leader(ELECTION_WAIT_MS);
    assert_true(leader >= 0);
    c = conn(leader);
    assert_non_null(c);
    assert_int_equal(cirrus_create_table(c, "items", "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r),
                     0);
    cirrus_result_free(&r);
    cirrus_close(c);
    return leader;
}

static void test_three_nodes(void **state)
{
    char msg[512];
    int leader, next, follower, killed;
    struct cirrus_stats st;
    int64_t t0, val;

    (void)state;
    /* An election; the leader's status names itself, commits the bootstrap entries. */
    t0 = cluster_now_ms();
    leader = start_three(cluster_free_ports(MAX_NODES), NULL);
    printf("leader: node %d after %lld ms\n", leader + 1, (long long)(cluster_now_ms() - t0));
    assert_int_equal(stats(leader, &st), 0);
    assert_int_equal(st.leader_id, (uint64_t)leader + 1);
    assert_true(st.term >= 2);
    assert_true(st.commit_index >= NODES);
    assert_int_equal(st.n_voters, NODES);

    /* Writes through the leader reach every node. */
    t0 = cluster_now_ms();
    for (int k = 0; k < FIRST_WRITES; k++)
        assert_int_equal(put(leader, k, (int64_t)k * 10, NULL, 0), 0);
    printf("%d writes through the leader in %lld ms\n", FIRST_WRITES,
           (long long)(cluster_now_ms() - t0));
    for (int i = 0; i < NODES; i++)
        wait_items(i, 0, FIRST_WRITES);
    for (int i = 0; i < NODES; i++) {
        assert_int_equal(stats(i, &st), 0);
        assert_int_equal(st.leader_id, (uint64_t)leader + 1);
        assert_true(st.applied_index >= FIRST_WRITES);
    }

    /* A follower forwards writes to the leader and acknowledges them once it has applied them
     * itself; a conditional write's verdict comes back from the follower's own apply. A write
     * to a table just created through the leader, which the follower may not have applied yet,
     * is taken too (the follower looks again after a ReadIndex round). */
    follower = (leader + 1) % NODES;
    {
        struct cirrus *c = conn(leader), *f = conn(follower);
        struct cirrus_value v = {0};
        struct cirrus_result r;

        assert_non_null(c);
        assert_non_null(f);
        assert_int_equal(
            cirrus_create_table(c, "fresh", "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r), 0);
        cirrus_result_free(&r);
        item(&v, 1, 10);
        assert_int_equal(cirrus_put_item(f, "fresh", &v, NULL, &r), 0);
        cirrus_result_free(&r);
        cirrus_value_clear(&v);
        cirrus_close(c);
        cirrus_close(f);
    }
    assert_int_equal(put(follower, 9999, 1, msg, sizeof msg), 0);
    assert_int_equal(get(follower, 9999, CIRRUS_EVENTUAL, &val, NULL, 0), 0);
    assert_int_equal(val, 1);
    assert_int_equal(get(leader, 9999, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 1);
    assert_int_equal(put_cond(follower, 9999, 2, CIRRUS_COND_NOT_EXISTS, msg, sizeof msg),
                     CR_ECONDITION);
    assert_int_equal(put_cond(follower, 9997, 3, CIRRUS_COND_NOT_EXISTS, msg, sizeof msg), 0);
    assert_int_equal(get(leader, 9999, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 1);

    /* STRONG reads on a follower (a read index from the leader): a write acknowledged by the
     * leader is seen by the next STRONG read on every node, every time. */
    for (int k = 0; k < 20; k++) {
        int on = (leader + 1 + k % 2) % NODES;

        assert_int_equal(put(leader, 5000 + k, k, NULL, 0), 0);
        assert_int_equal(get(on, 5000 + k, CIRRUS_STRONG, &val, msg, sizeof msg), 0);
        assert_int_equal(val, k);
    }
    /* kill -9 the leader: the two others elect one of themselves, in bounded time. A write
     * sent to a survivor during the election waits for it instead of failing (one sent the very
     * moment the leader dies may be lost with it: CR_ETIMEOUT, outcome unknown). */
    killed = leader;
    harness_kill9(&nodes[killed]);
    t0 = cluster_now_ms();
    cluster_sleep_ms(200); /* the survivors' connections to the dead leader are closed */
    assert_int_equal(put((killed + 1) % NODES, 8000, 8, msg, sizeof msg), 0);
    printf("a write sent at the kill acknowledged after %lld ms\n",
           (long long)(cluster_now_ms() - t0));
    next = find_leader(ELECTION_WAIT_MS);
    assert_true(next >= 0);
    assert_int_not_equal(next, killed);
    printf("new leader: node %d %lld ms after the kill\n", next + 1,
           (long long)(cluster_now_ms() - t0));

    /* Every acknowledged write is there (STRONG, on the new leader), and new writes succeed. */
    for (int k = 0; k < FIRST_WRITES; k++) {
        assert_int_equal(get(next, k, CIRRUS_STRONG, &val, msg, sizeof msg), 0);
        assert_int_equal(val, (int64_t)k * 10);
    }
    assert_int_equal(get(next, 8000, CIRRUS_STRONG, &val, msg, sizeof msg), 0);
    assert_int_equal(val, 8);
    for (int k = FIRST_WRITES; k < FIRST_WRITES + MORE_WRITES; k++)
        assert_int_equal(put(next, k, (int64_t)k * 10, msg, sizeof msg), 0);
    for (int i = 0; i < NODES; i++)
        if (i != killed)
            wait_items(i, 0, FIRST_WRITES + MORE_WRITES);

    /* The killed node restarts from its data and catches up as a follower. */
    t0 = cluster_now_ms();
    start(killed);
    wait_items(killed, 0, FIRST_WRITES + MORE_WRITES);
    printf("node %d caught up %lld ms after its restart\n", killed + 1,
           (long long)(cluster_now_ms() - t0));
    assert_int_equal(stats(killed, &st), 0);
    assert_int_not_equal(st.role, CLUSTER_ROLE_LEADER);
    assert_true(st.leader_id != 0 && st.leader_id != (uint64_t)killed + 1);
    assert_int_equal(put(killed, 9998, 1, NULL, 0), 0); /* forwarded to the new leader */
    assert_int_equal(get(next, 9998, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 1);

    /* A clean stop of every node. */
    for (int i = 0; i < NODES; i++)
        assert_int_equal(harness_stop(&nodes[i]), 0);
}

/* A membership change through node i; the code, the voters after it in *n_voters. */
static int member(int i, bool remove, uint64_t id, const char *addr, size_t *n_voters, char *msg,
                  size_t cap)
{
    struct cirrus *c = conn(i);
    struct cirrus_result r;
    int rc;

    if (!c)
        return CR_ECONNECT;
    rc = cirrus_cluster_member(c, remove, id, addr, &r);
    snprintf(msg, cap, "%s", rc ? cirrus_errmsg(c) : "");
    *n_voters = r.stats.n_voters;
    cirrus_result_free(&r);
    cirrus_close(c);
    return rc;
}

/* A fourth node started with --join is added at run time, catches up, takes writes (forwarded);
 * a voter is removed, and the cluster of {leader, the other, the new one} then survives kill -9
 * of its leader. Bad changes are refused with the right codes. */
static void test_membership(void **state)
{
    int base = cluster_free_ports(MAX_NODES), leader, other, removed, next;
    char addr[64], msg[512];
    struct cirrus_stats st;
    size_t n;
    int64_t val;

    (void)state;
    leader = start_three(base, NULL);
    for (int k = 0; k < 20; k++)
        assert_int_equal(put(leader, k, (int64_t)k * 10, NULL, 0), 0);

    /* Node 4 starts empty, waiting; it is added through the leader and catches up. */
    configure(3, base, true);
    start(3);
    assert_int_equal(stats(3, &st), 0);
    assert_int_equal(st.n_voters, 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", base + 3);
    other = (leader + 1) % NODES;
    assert_int_equal(member(other, false, 4, addr, &n, msg, sizeof msg), CR_ENOTLEADER);
    assert_int_equal(member(leader, false, 4, "127.0.0.1", &n, msg, sizeof msg), CR_EINVAL);
    assert_int_equal(member(leader, false, 4, addr, &n, msg, sizeof msg), 0);
    assert_int_equal(n, 4);
    assert_int_equal(member(leader, false, 4, addr, &n, msg, sizeof msg), CR_EINVAL);
    wait_items(3, 0, 20);
    assert_int_equal(stats(3, &st), 0);
    assert_int_equal(st.n_voters, 4);
    assert_int_equal(st.leader_id, (uint64_t)leader + 1);
    assert_int_equal(put(3, 20, 200, msg, sizeof msg), 0); /* forwarded to the leader */
    assert_int_equal(get(leader, 20, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 200);

    /* Remove the third initial node; it is stopped, and the three left carry on. */
    removed = (leader + 2) % NODES;
    assert_int_equal(member(leader, true, 9, NULL, &n, msg, sizeof msg), CR_EINVAL);
    assert_int_equal(member(leader, true, (uint64_t)removed + 1, NULL, &n, msg, sizeof msg), 0);
    assert_int_equal(n, 3);
    assert_int_equal(harness_stop(&nodes[removed]), 0);
    for (int k = 21; k < 30; k++)
        assert_int_equal(put(leader, k, (int64_t)k * 10, NULL, 0), 0);
    wait_items(3, 0, 30);
    wait_items(other, 0, 30);

    /* kill -9 the leader: of the voters left, node 4 and the other elect one of themselves. */
    harness_kill9(&nodes[leader]);
    next = find_leader(ELECTION_WAIT_MS);
    assert_true(next == 3 || next == other);
    for (int k = 0; k < 30; k++) {
        assert_int_equal(get(next, k, CIRRUS_STRONG, &val, msg, sizeof msg), 0);
        assert_int_equal(val, (int64_t)k * 10);
    }
    assert_int_equal(put(next == 3 ? other : 3, 30, 300, msg, sizeof msg), 0);
    assert_int_equal(get(next, 30, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 300);
}

/* Waits until node i's stats satisfy pred; fails the test after CATCH_UP_WAIT_MS. */
static void wait_stats(int i, bool (*pred)(const struct cirrus_stats *), const char *what)
{
    int64_t deadline = cluster_now_ms() + CATCH_UP_WAIT_MS;
    struct cirrus_stats st;

    while (stats(i, &st) != 0 || !pred(&st)) {
        if (cluster_now_ms() > deadline)
            fail_msg("node %d: %s never happened", i + 1, what);
        cluster_sleep_ms(50);
    }
}

static bool compacted(const struct cirrus_stats *st)
{
    return st->snapshot_index > 0;
}

static bool installed(const struct cirrus_stats *st)
{
    return st->snapshots_installed > 0;
}

/* With a small compaction threshold, a follower stopped while the leader takes 300 writes
 * finds the log compacted past it when it restarts: it gets a snapshot, installs it, and serves
 * everything, then takes new entries; killed and restarted, it starts from what it installed. */
static void test_snapshots(void **state)
{
    int base = cluster_free_ports(MAX_NODES), leader, lagging;
    struct cirrus_stats st;
    char msg[512];

    (void)state;
    leader = start_three(base, "--snapshot-entries=50");
    lagging = (leader + 1) % NODES;
    assert_int_equal(harness_stop(&nodes[lagging]), 0);
    for (int k = 0; k < 300; k++)
        assert_int_equal(put(leader, k, (int64_t)k * 10, NULL, 0), 0);
    wait_stats(leader, compacted, "a compaction");
    start(lagging);
    wait_items(lagging, 0, 300);
    wait_stats(lagging, installed, "a snapshot install");
    assert_int_equal(stats(lagging, &st), 0);
    assert_true(st.snapshot_index >= 50);
    assert_int_equal(stats(leader, &st), 0);
    assert_true(st.snapshots_sent >= 1);
    assert_int_equal(put(leader, 300, 3000, NULL, 0), 0);
    wait_items(lagging, 300, 301);
    harness_kill9(&nodes[lagging]);
    start(lagging);
    wait_items(lagging, 0, 301);
    assert_int_equal(put(lagging, 301, 3010, msg, sizeof msg), 0);
    wait_items(leader, 301, 302);
}

/* A single node's data seeds a cluster of one (--peers naming itself alone); a second node
 * started with --join is added, receives the data as a snapshot, and takes writes. A seed with
 * other voters in --peers is refused (their data could differ). */
static void test_seed(void **state)
{
    int base = cluster_free_ports(MAX_NODES);
    char flag[128], addr[64], msg[512];
    size_t n;
    int64_t val;

    (void)state;
    harness_init(&nodes[0]);
    harness_flag(&nodes[0], "--http=off");
    start(0);
    {
        struct cirrus *c = conn(0);
        struct cirrus_result r;

        assert_non_null(c);
        assert_int_equal(
            cirrus_create_table(c, "items", "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r), 0);
        cirrus_result_free(&r);
        cirrus_close(c);
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(put(0, k, (int64_t)k * 10, NULL, 0), 0);
    assert_int_equal(harness_stop(&nodes[0]), 0);
    harness_flag(&nodes[0], "--node-id=1");
    snprintf(flag, sizeof flag, "--peers=1=127.0.0.1:%d,2=127.0.0.1:%d", base, base + 1);
    harness_flag(&nodes[0], flag);
    assert_int_equal(harness_start(&nodes[0]), -1); /* two voters: refused */
    nodes[0].n_extra--;
    snprintf(flag, sizeof flag, "--peers=1=127.0.0.1:%d", base);
    harness_flag(&nodes[0], flag);
    start(0);
    assert_int_equal(find_leader(ELECTION_WAIT_MS), 0);
    assert_int_equal(get(0, 9, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 90);

    harness_init(&nodes[1]); /* its peers: the seed and itself */
    harness_flag(&nodes[1], "--node-id=2");
    snprintf(flag, sizeof flag, "--peers=1=127.0.0.1:%d,2=127.0.0.1:%d", base, base + 1);
    harness_flag(&nodes[1], flag);
    harness_flag(&nodes[1], "--join");
    harness_flag(&nodes[1], "--http=off");
    start(1);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", base + 1);
    assert_int_equal(member(0, false, 2, addr, &n, msg, sizeof msg), 0);
    assert_int_equal(n, 2);
    wait_items(1, 0, 10);
    assert_int_equal(put(1, 10, 100, msg, sizeof msg), 0);
    assert_int_equal(get(0, 10, CIRRUS_STRONG, &val, NULL, 0), 0);
    assert_int_equal(val, 100);
}

/* Settings cirrusd must refuse at start: --peers without this node in it, --join alone, and a data
 * directory a single node (no --peers) has written, whose applied index no Raft log accounts for.
 */
static void test_refused_starts(void **state)
{
    struct harness *h = &nodes[0];
    struct cirrus *c;
    struct cirrus_result r;
    int base = cluster_free_ports(MAX_NODES);
    char peers[128];

    (void)state;
    snprintf(peers, sizeof peers, "--peers=1=127.0.0.1:%d,2=127.0.0.1:%d", base, base + 1);
    harness_init(h);
    harness_flag(h, "--http=off");
    harness_flag(h, peers);
    assert_int_equal(harness_start(h), -1); /* no --node-id */
    harness_flag(h, "--node-id=3");
    assert_int_equal(harness_start(h), -1); /* not among the peers */
    harness_cleanup(h);

    harness_init(h);
    harness_flag(h, "--http=off");
    harness_flag(h, "--join");
    assert_int_equal(harness_start(h), -1); /* --join without --peers */
    harness_cleanup(h);

    harness_init(h);
    harness_flag(h, "--http=off");
    assert_int_equal(harness_start(h), 0);
    c = conn(0);
    assert_non_null(c);
    assert_int_equal(cirrus_create_table(c, "items", "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r),
                     0);
    cirrus_result_free(&r);
    cirrus_close(c);
    assert_int_equal(harness_stop(h), 0);
    harness_flag(h, peers);
    harness_flag(h, "--node-id=1");
    assert_int_equal(harness_start(h), -1);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_NODES; i++)
        if (nodes[i].dir[0]) {
            harness_kill9(&nodes[i]);
            harness_cleanup(&nodes[i]);
        }
    memset(nodes, 0, sizeof nodes);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_three_nodes, teardown),
        cmocka_unit_test_teardown(test_membership, teardown),
        cmocka_unit_test_teardown(test_snapshots, teardown),
        cmocka_unit_test_teardown(test_seed, teardown),
        cmocka_unit_test_teardown(test_refused_starts, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
