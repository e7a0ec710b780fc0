/* The Raft core (server/repl/raft.h), one feature per test, on a tiny in-test network: election,
 * pre-vote, check-quorum, replication and flow control, the Figure 8 commit rule, membership
 * changes, leadership transfer, ReadIndex, snapshots and restart from persisted state. The
 * randomized version of all this is tests/cluster/sim. */
#include "common/error.h"
#include "server/repl/raft.h"
#include "../../cluster/sim/memlog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAXN 5
#define MAXQ 4096

struct node {
    struct raft r;
    struct memlog log;
    bool up;
    uint64_t sm_applied; /* the state machine's applied index: durable */
    struct raft_read_state reads[16];
    size_t n_reads;
};

struct net {
    struct node nodes[MAXN + 1]; /* 1-based */
    size_t n;
    bool pre_vote, check_quorum;
    size_t max_inflight, max_inflight_bytes;
    bool cut[MAXN + 1][MAXN + 1]; /* cut[a][b]: messages from a to b are dropped */
    int drop_type;                /* messages of this type are dropped */
    struct raft_msg q[MAXQ];      /* deep copies */
    size_t nq;
    size_t sent_to[MAXN + 1][16]; /* messages sent, per receiver and type */
};

static void msg_copy(struct raft_msg *dst, const struct raft_msg *m)
{
    *dst = *m;
    dst->entries = NULL;
    if (m->n_entries) {
        dst->entries = malloc(m->n_entries * sizeof *m->entries);
        assert_non_null(dst->entries);
        for (size_t k = 0; k < m->n_entries; k++) {
            uint8_t *d = NULL;

            if (m->entries[k].len) {
                d = malloc(m->entries[k].len);
                assert_non_null(d);
                memcpy(d, m->entries[k].data, m->entries[k].len);
            }
            dst->entries[k] = m->entries[k];
            dst->entries[k].data = d;
        }
    }
}

static void msg_free(struct raft_msg *m)
{
    for (size_t k = 0; k < m->n_entries; k++)
        free((void *)m->entries[k].data);
    free(m->entries);
}

static void start(struct net *net, uint64_t id)
{
    struct node *nd = &net->nodes[id];
    struct raft_config cfg = {
        .id = id,
        .election_ticks = 10,
        .heartbeat_ticks = 1,
        .seed = 42,
        .pre_vote = net->pre_vote,
        .check_quorum = net->check_quorum,
        .max_msg_bytes = 1 << 20,
        .max_inflight_msgs = net->max_inflight ? net->max_inflight : 8,
        .max_inflight_bytes = net->max_inflight_bytes,
        .max_apply_bytes = 1 << 20,
        .storage = &nd->log.st,
        .hard_state = nd->log.hs,
        .applied = nd->sm_applied,
    };

    assert_int_equal(raft_init(&nd->r, &cfg), 0);
    nd->up = true;
}

static void crash(struct net *net, uint64_t id)
{
    raft_close(&net->nodes[id].r);
    net->nodes[id].up = false;
}

/* Runs one node's ready loop: persist, queue the messages, apply, advance. */
static void process(struct net *net, uint64_t id)
{
    struct node *nd = &net->nodes[id];
    struct raft_ready rd;

    while (nd->up && raft_ready(&nd->r, &rd)) {
        memlog_persist(&nd->log, &rd);
        if (rd.snapshot)
            nd->sm_applied = rd.snapshot->index;
        for (size_t k = 0; k < rd.n_msgs; k++) {
            const struct raft_msg *m = &rd.msgs[k];

            assert_int_equal(m->from, id);
            net->sent_to[m->to][m->type]++;
            if (m->to > net->n || net->cut[id][m->to] || (int)m->type == net->drop_type)
                continue;
            assert_true(net->nq < MAXQ);
            msg_copy(&net->q[net->nq++], m);
        }
        for (size_t k = 0; k < rd.n_committed; k++) {
            assert_int_equal(rd.committed[k].index, nd->sm_applied + 1);
            nd->sm_applied = rd.committed[k].index;
        }
        for (size_t k = 0; k < rd.n_reads && nd->n_reads < 16; k++)
            nd->reads[nd->n_reads++] = rd.reads[k];
        raft_advance(&nd->r);
    }
}

static void process_all(struct net *net)
{
    for (uint64_t id = 1; id <= net->n; id++)
        process(net, id);
}

/* Delivers queued messages (FIFO) until none is left. */
static void deliver(struct net *net)
{
    for (int rounds = 0; rounds < 100000; rounds++) {
        struct raft_msg m;

        process_all(net);
        if (net->nq == 0)
            return;
        m = net->q[0];
        memmove(net->q, net->q + 1, --net->nq * sizeof *net->q);
        if (net->nodes[m.to].up && !net->cut[m.from][m.to])
            assert_int_equal(raft_step(&net->nodes[m.to].r, &m), 0);
        msg_free(&m);
    }
    fail_msg("messages never settle");
}

static void drop_queue(struct net *net)
{
    for (size_t k = 0; k < net->nq; k++)
        msg_free(&net->q[k]);
    net->nq = 0;
}

static void tick(struct net *net, int ticks)
{
    for (int t = 0; t < ticks; t++) {
        for (uint64_t id = 1; id <= net->n; id++)
            if (net->nodes[id].up)
                raft_tick(&net->nodes[id].r);
        deliver(net);
    }
}

static void isolate(struct net *net, uint64_t id, bool cut)
{
    for (uint64_t k = 1; k <= MAXN; k++)
        if (k != id)
            net->cut[id][k] = net->cut[k][id] = cut;
}

static struct net *net_new(size_t n, size_t members, bool pre_vote, bool check_quorum)
{
    struct net *net = calloc(1, sizeof *net);
    uint64_t voters[MAXN];

    assert_non_null(net);
    net->n = n;
    net->pre_vote = pre_vote;
    net->check_quorum = check_quorum;
    for (size_t k = 0; k < members; k++)
        voters[k] = k + 1;
    for (uint64_t id = 1; id <= n; id++) {
        memlog_init(&net->nodes[id].log);
        if (id <= members)
            memlog_bootstrap(&net->nodes[id].log, voters, members);
        start(net, id);
    }
    process_all(net);
    return net;
}

static void net_free(struct net *net)
{
    drop_queue(net);
    for (uint64_t id = 1; id <= net->n; id++) {
        if (net->nodes[id].up)
            raft_close(&net->nodes[id].r);
        memlog_close(&net->nodes[id].log);
    }
    free(net);
}

static struct raft *R(struct net *net, uint64_t id)
{
    return &net->nodes[id].r;
}

/* Node id campaigns and wins (the others are followers with no leader). */
static void elect(struct net *net, uint64_t id)
{
    assert_int_equal(raft_campaign(R(net, id)), 0);
    deliver(net);
    assert_int_equal(raft_role(R(net, id)), RAFT_LEADER);
}

static bool election_msg(enum raft_msg_type t)
{
    return t == RAFT_MSG_VOTE || t == RAFT_MSG_VOTE_RESP || t == RAFT_MSG_PREVOTE ||
           t == RAFT_MSG_PREVOTE_RESP;
}

/* Like elect(), but every other message is dropped: the new leader's first entry stays its own.
 * Campaigns again (at most twice) if voters had already voted in the term it tried. */
static void elect_quietly(struct net *net, uint64_t id)
{
    for (int tries = 0; tries < 3 && raft_role(R(net, id)) != RAFT_LEADER; tries++) {
        assert_int_equal(raft_campaign(R(net, id)), 0);
        process_all(net);
        while (net->nq > 0) {
            struct raft_msg m = net->q[0];

            memmove(net->q, net->q + 1, --net->nq * sizeof *net->q);
            if (election_msg(m.type) && net->nodes[m.to].up)
                assert_int_equal(raft_step(R(net, m.to), &m), 0);
            msg_free(&m);
            process_all(net);
        }
    }
    assert_int_equal(raft_role(R(net, id)), RAFT_LEADER);
}

static uint64_t propose(struct net *net, uint64_t id, const char *s)
{
    uint64_t index = 0;

    assert_int_equal(raft_propose(R(net, id), (const uint8_t *)s, strlen(s), &index), 0);
    deliver(net);
    return index;
}

static size_t count_leaders(struct net *net)
{
    size_t n = 0;

    for (uint64_t id = 1; id <= net->n; id++)
        if (net->nodes[id].up && raft_role(R(net, id)) == RAFT_LEADER)
            n++;
    return n;
}

/* ---- election ---- */

static void test_single_node(void **state)
{
    struct net *net = net_new(1, 1, true, true);
    uint64_t i;

    tick(net, 25); /* elects itself within two timeouts, through pre-vote */
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER);
    i = propose(net, 1, "x");
    assert_int_equal(raft_commit(R(net, 1)), i);
    assert_int_equal(net->nodes[1].sm_applied, i);
    assert_int_equal(memlog_entry(&net->nodes[1].log, i)->len, 1);
    net_free(net);
}

static void test_election_by_timeout(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t leader = 0;

    tick(net, 30);
    assert_int_equal(count_leaders(net), 1);
    for (uint64_t id = 1; id <= 3; id++)
        if (raft_role(R(net, id)) == RAFT_LEADER)
            leader = id;
    for (uint64_t id = 1; id <= 3; id++) {
        assert_int_equal(raft_leader(R(net, id)), leader);
        assert_int_equal(raft_term(R(net, id)), raft_term(R(net, leader)));
        /* the leader's first entry of its term is committed everywhere */
        assert_int_equal(raft_commit(R(net, id)), 4);
    }
    net_free(net);
}

static void test_vote_needs_up_to_date_log(void **state)
{
    struct net *net = net_new(3, 3, false, false);

    elect(net, 1);
    isolate(net, 3, true);
    propose(net, 1, "a");
    isolate(net, 3, false);
    /* node 3 lacks a committed entry: 1 and 2 refuse it */
    assert_int_equal(raft_campaign(R(net, 3)), 0);
    deliver(net);
    assert_int_not_equal(raft_role(R(net, 3)), RAFT_LEADER);
    net_free(net);
}

static void test_prevote_keeps_rejoining_node_quiet(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t term;

    elect(net, 1);
    term = raft_term(R(net, 1));
    isolate(net, 3, true);
    tick(net, 100);                               /* node 3 times out again and again */
    assert_int_equal(raft_term(R(net, 3)), term); /* pre-votes never won: no term bump */
    isolate(net, 3, false);
    tick(net, 5);
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER);
    assert_int_equal(raft_term(R(net, 1)), term);
    assert_int_equal(raft_leader(R(net, 3)), 1);
    net_free(net);
}

/* The same partition without pre-vote: the rejoining node's higher term deposes the leader. */
static void test_without_prevote_rejoin_disrupts(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    uint64_t term;

    elect(net, 1);
    term = raft_term(R(net, 1));
    isolate(net, 3, true);
    tick(net, 100);
    assert_true(raft_term(R(net, 3)) > term);
    isolate(net, 3, false);
    tick(net, 1);
    assert_true(raft_term(R(net, 1)) > term);
    net_free(net);
}

/* Node 3 loses only its link to the leader; node 2 still hears the leader, so (check-quorum's
 * lease) it ignores node 3's pre-votes although node 3's log is as good as its own. */
static void test_lease_ignores_disruptive_candidate(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t term;

    elect(net, 1);
    term = raft_term(R(net, 1));
    net->cut[1][3] = net->cut[3][1] = true;
    tick(net, 100);
    assert_true(net->sent_to[2][RAFT_MSG_PREVOTE] > 0);
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER);
    assert_int_equal(raft_term(R(net, 1)), term);
    assert_int_equal(raft_term(R(net, 2)), term);
    net_free(net);
}

static void test_check_quorum_steps_down(void **state)
{
    struct net *net = net_new(3, 3, true, true);

    elect(net, 1);
    isolate(net, 1, true);
    tick(net, 10);
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER); /* still within the first period */
    tick(net, 10);
    assert_int_equal(raft_role(R(net, 1)), RAFT_FOLLOWER);
    /* the majority side elects a new leader */
    tick(net, 30);
    assert_true(raft_role(R(net, 2)) == RAFT_LEADER || raft_role(R(net, 3)) == RAFT_LEADER);
    net_free(net);
}

static void test_without_check_quorum_leader_stays(void **state)
{
    struct net *net = net_new(3, 3, true, false);

    elect(net, 1);
    isolate(net, 1, true);
    tick(net, 40);
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER);
    net_free(net);
}

/* ---- replication and commit ---- */

static void test_replication_and_commit(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t i;

    elect(net, 1);
    i = propose(net, 1, "hello");
    for (uint64_t id = 1; id <= 3; id++) {
        const struct raft_entry *e = memlog_entry(&net->nodes[id].log, i);

        assert_non_null(e);
        assert_memory_equal(e->data, "hello", 5);
        assert_int_equal(raft_commit(R(net, id)), i);
        assert_int_equal(net->nodes[id].sm_applied, i);
    }
    /* a minority is enough to lose nothing but not to commit */
    isolate(net, 2, true);
    isolate(net, 3, true);
    assert_int_equal(raft_propose(R(net, 1), (const uint8_t *)"z", 1, &i), 0);
    deliver(net);
    assert_int_equal(raft_commit(R(net, 1)), i - 1);
    net_free(net);
}

static void test_propose_on_follower_fails(void **state)
{
    struct net *net = net_new(3, 3, true, true);

    elect(net, 1);
    assert_int_equal(raft_propose(R(net, 2), (const uint8_t *)"x", 1, NULL), CR_EINVAL);
    net_free(net);
}

/* Figure 8 of the Raft paper: a leader must not commit an entry of an earlier term by counting
 * its replicas, only by committing an entry of its own term after it. */
static void test_figure8_no_commit_of_old_term(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    struct raft_msg m = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1};
    struct raft_entry e = {
        .term = 2, .index = 4, .type = RAFT_ENTRY_NORMAL, .data = (const uint8_t *)"old", .len = 3};

    /* node 1 holds entry 4 of term 2, which nobody else has; it restarts at term 2 */
    crash(net, 1);
    {
        struct raft_ready rd = {
            .entries = &e, .n_entries = 1, .has_hard_state = true, .hard_state = {2, 0, 3}};

        memlog_persist(&net->nodes[1].log, &rd);
    }
    start(net, 1);
    elect_quietly(net, 1); /* term 3; its empty entry is index 5 */
    assert_int_equal(raft_term(R(net, 1)), 3);
    /* node 2 now holds entry 4 (of term 2): a majority, but of an older term */
    m.term = 3;
    m.index = 4;
    assert_int_equal(raft_step(R(net, 1), &m), 0);
    assert_int_equal(raft_commit(R(net, 1)), 3);
    /* node 2 holds entry 5, of term 3: both commit */
    m.index = 5;
    assert_int_equal(raft_step(R(net, 1), &m), 0);
    assert_int_equal(raft_commit(R(net, 1)), 5);
    process(net, 1);
    drop_queue(net);
    net_free(net);
}

/* Figure 8 of the Raft paper, played out on five nodes: entry 7 of term 2 reaches a majority
 * under the leader of term 4, is (rightly) not committed, and is then overwritten by the leader
 * of term 5 — which would have lost a committed entry had term 4 counted replicas. */
static void test_figure8_scenario(void **state)
{
    struct net *net = net_new(5, 5, false, false);
    struct raft_entry x = {2, 7, RAFT_ENTRY_NORMAL, (const uint8_t *)"x", 1};
    struct raft_msg app = {.type = RAFT_MSG_APPEND,
                           .from = 1,
                           .to = 3,
                           .term = 4,
                           .index = 6,
                           .log_term = 2,
                           .entries = &x,
                           .n_entries = 1,
                           .commit = 6};
    struct raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .to = 1, .term = 4, .index = 7};

    elect(net, 1); /* term 2; everyone holds 1..6 */
    /* (a) entry 7 of term 2 reaches node 2 only */
    for (uint64_t k = 3; k <= 5; k++)
        net->cut[1][k] = net->cut[k][1] = true;
    propose(net, 1, "x");
    assert_int_equal(raft_commit(R(net, 1)), 6);
    crash(net, 1);
    memset(net->cut, 0, sizeof net->cut);
    /* (b) node 5 leads term 3 with votes of 3 and 4, appends its own entry 7, crashes */
    elect_quietly(net, 5);
    assert_int_equal(raft_term(R(net, 5)), 3);
    assert_int_equal(memlog_entry(&net->nodes[5].log, 7)->term, 3);
    crash(net, 5);
    /* (c) node 1 leads term 4 and gets entry 7 of term 2 onto node 3: a majority (1, 2, 3) */
    start(net, 1);
    elect_quietly(net, 1);
    assert_int_equal(raft_term(R(net, 1)), 4);
    assert_int_equal(raft_step(R(net, 3), &app), 0);
    process(net, 3);
    drop_queue(net);
    assert_int_equal(memlog_entry(&net->nodes[3].log, 7)->term, 2);
    ack.from = 2;
    assert_int_equal(raft_step(R(net, 1), &ack), 0);
    ack.from = 3;
    assert_int_equal(raft_step(R(net, 1), &ack), 0);
    assert_int_equal(raft_commit(R(net, 1)), 6); /* not of term 4: not committed */
    process(net, 1);
    drop_queue(net);
    crash(net, 1);
    /* (d) node 5 (last entry of term 3) wins term 5 and overwrites entry 7 everywhere */
    start(net, 5);
    for (int tries = 0; tries < 3 && raft_role(R(net, 5)) != RAFT_LEADER; tries++) {
        assert_int_equal(raft_campaign(R(net, 5)), 0);
        deliver(net);
    }
    assert_int_equal(raft_role(R(net, 5)), RAFT_LEADER);
    for (uint64_t k = 2; k <= 4; k++)
        assert_int_equal(memlog_entry(&net->nodes[k].log, 7)->term, 3);
    assert_true(raft_commit(R(net, 5)) >= 8);
    net_free(net);
}

/* A follower's divergent, uncommitted suffix is replaced by the leader's. */
static void test_conflicting_suffix_replaced(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    uint64_t i;

    elect(net, 1);
    isolate(net, 1, true);
    raft_propose(R(net, 1), (const uint8_t *)"lost1", 5, NULL);
    raft_propose(R(net, 1), (const uint8_t *)"lost2", 5, NULL);
    deliver(net);
    elect(net, 2);
    i = propose(net, 2, "kept");
    isolate(net, 1, false);
    tick(net, 3);
    assert_int_equal(raft_role(R(net, 1)), RAFT_FOLLOWER);
    assert_int_equal(memlog_last(&net->nodes[1].log), i);
    assert_memory_equal(memlog_entry(&net->nodes[1].log, i)->data, "kept", 4);
    assert_int_equal(raft_commit(R(net, 1)), i);
    net_free(net);
}

/* A late duplicate of an older APPEND (the network reorders) must not cut the log short. */
static void test_stale_append_keeps_longer_log(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    struct raft_entry e;
    struct raft_msg m = {.type = RAFT_MSG_APPEND,
                         .from = 1,
                         .to = 2,
                         .index = 4,
                         .log_term = 2,
                         .entries = &e,
                         .n_entries = 1};
    uint64_t last;

    elect(net, 1);
    isolate(net, 3, true);
    net->cut[2][1] = true; /* entries 5 and 6 stay uncommitted on node 2 */
    propose(net, 1, "a");
    propose(net, 1, "b");
    last = raft_last_index(R(net, 2));
    assert_int_equal(last, 6);
    assert_int_equal(raft_commit(R(net, 2)), 4);
    e = *memlog_entry(&net->nodes[2].log, 5);
    m.term = raft_term(R(net, 1));
    m.commit = 4;
    assert_int_equal(raft_step(R(net, 2), &m), 0);
    process(net, 2);
    drop_queue(net);
    assert_int_equal(raft_last_index(R(net, 2)), last);
    assert_int_equal(memlog_last(&net->nodes[2].log), last);
    net_free(net);
}

/* A follower commits no further than the last entry the APPEND proved it shares with the leader:
 * beyond that its log may hold a stale suffix of an older term. */
static void test_follower_commit_bounded_by_append(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    struct raft_entry stale[3];
    struct raft_ready rd = {
        .entries = stale, .n_entries = 3, .has_hard_state = true, .hard_state = {2, 0, 3}};
    struct raft_msg m = {.type = RAFT_MSG_APPEND,
                         .from = 1,
                         .to = 2,
                         .term = 3,
                         .index = 4,
                         .log_term = 2,
                         .commit = 6};

    for (int k = 0; k < 3; k++)
        stale[k] = (struct raft_entry){2, 4 + k, RAFT_ENTRY_NORMAL, (const uint8_t *)"s", 1};
    crash(net, 2);
    memlog_persist(&net->nodes[2].log, &rd);
    start(net, 2);
    process(net, 2);
    assert_int_equal(raft_step(R(net, 2), &m), 0);
    assert_int_equal(raft_commit(R(net, 2)), 4);
    assert_true(raft_ready(R(net, 2), &rd));
    assert_int_equal(rd.n_msgs, 1);
    assert_int_equal(rd.msgs[0].type, RAFT_MSG_APPEND_RESP);
    assert_false(rd.msgs[0].reject);
    assert_int_equal(rd.msgs[0].index, 4);
    raft_advance(R(net, 2));
    /* a mismatching prev is rejected with a hint where the terms may agree */
    m.index = 6;
    m.log_term = 3;
    assert_int_equal(raft_step(R(net, 2), &m), 0);
    assert_true(raft_ready(R(net, 2), &rd));
    assert_true(rd.msgs[0].reject);
    assert_int_equal(rd.msgs[0].reject_hint, 6);
    assert_int_equal(rd.msgs[0].log_term, 2);
    raft_advance(R(net, 2));
    net_free(net);
}

static size_t appends_to(struct net *net, uint64_t id)
{
    size_t n = 0;

    for (size_t k = 0; k < net->nq; k++)
        if (net->q[k].to == id && net->q[k].type == RAFT_MSG_APPEND && net->q[k].n_entries > 0)
            n++;
    return n;
}

static void test_flow_control_inflight_msgs(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    const struct raft_progress *pr;

    net->max_inflight = 3;
    crash(net, 1);
    start(net, 1);
    process(net, 1);
    elect(net, 1);
    pr = raft_progress(R(net, 1), 2);
    assert_int_equal(pr->state, RAFT_REPLICATE);
    for (int k = 0; k < 10; k++)
        assert_int_equal(raft_propose(R(net, 1), (const uint8_t *)"e", 1, NULL), 0);
    process(net, 1);
    /* the first proposal's APPEND went out alone, then two more: the window is full */
    assert_int_equal(appends_to(net, 2), 3);
    assert_int_equal(pr->infl_n, 3);
    deliver(net); /* the answers open the window and everything arrives */
    assert_int_equal(raft_commit(R(net, 2)), raft_last_index(R(net, 1)));
    net_free(net);
}

static void test_flow_control_inflight_bytes(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    char big[100];

    memset(big, 'b', sizeof big);
    net->max_inflight_bytes = 250;
    crash(net, 1);
    start(net, 1);
    process(net, 1);
    elect(net, 1);
    for (int k = 0; k < 10; k++)
        assert_int_equal(raft_propose(R(net, 1), (const uint8_t *)big, sizeof big, NULL), 0);
    process(net, 1);
    /* 100 + 100 + 100 bytes: the third APPEND reaches the 250 byte budget */
    assert_int_equal(appends_to(net, 2), 3);
    deliver(net);
    assert_int_equal(memlog_last(&net->nodes[3].log), raft_last_index(R(net, 1)));
    assert_int_equal(raft_commit(R(net, 1)), raft_last_index(R(net, 1)));
    tick(net, 1); /* the window was full when the commit advanced: the heartbeat carries it */
    assert_int_equal(raft_commit(R(net, 3)), raft_last_index(R(net, 1)));
    net_free(net);
}

static void test_lost_appends_recovered(void **state)
{
    struct net *net = net_new(3, 3, false, false);
    const struct raft_progress *pr;

    elect(net, 1);
    isolate(net, 3, true);
    propose(net, 1, "a");
    /* node 3 missed an entry: after a rejection it is probed */
    isolate(net, 3, false);
    net->cut[3][1] = true; /* its answers are lost */
    propose(net, 1, "b");
    pr = raft_progress(R(net, 1), 3);
    assert_int_equal(pr->state, RAFT_REPLICATE);
    assert_true(pr->match < raft_last_index(R(net, 1)));
    net->cut[3][1] = false;
    propose(net, 1, "c"); /* rejected (gap) -> probe -> caught up */
    assert_int_equal(pr->state, RAFT_REPLICATE);
    assert_int_equal(pr->match, raft_last_index(R(net, 1)));
    /* an APPEND lost, then the rejection of the next one: the heartbeat answer repairs it */
    net->cut[1][3] = true;
    propose(net, 1, "d");
    net->cut[1][3] = false;
    net->cut[3][1] = true;
    propose(net, 1, "e"); /* gap: node 3 rejects, but the rejection is lost */
    net->cut[3][1] = false;
    tick(net, 1); /* heartbeat answer: the leader finds the gap and probes */
    assert_int_equal(raft_progress(R(net, 1), 3)->match, raft_last_index(R(net, 1)));
    net_free(net);
}

/* ---- restart ---- */

static void test_restart_from_persisted_state(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t i, term;

    elect(net, 1);
    i = propose(net, 1, "durable");
    term = raft_term(R(net, 1));
    crash(net, 2);
    start(net, 2);
    assert_int_equal(raft_term(R(net, 2)), term);
    assert_int_equal(raft_commit(R(net, 2)), i);
    assert_int_equal(raft_last_index(R(net, 2)), i);
    assert_int_equal(raft_applied(R(net, 2)), i);
    assert_int_equal(raft_conf(R(net, 2))->n, 3);
    /* the vote survives a crash: node 2 voted for 1 in this term and won't vote for 3 */
    {
        struct raft_msg v = {
            .type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = term, .index = i, .log_term = term};
        struct raft_ready rd;

        assert_int_equal(raft_step(R(net, 2), &v), 0);
        assert_true(raft_ready(R(net, 2), &rd));
        assert_int_equal(rd.n_msgs, 1);
        assert_int_equal(rd.msgs[0].type, RAFT_MSG_VOTE_RESP);
        assert_true(rd.msgs[0].reject);
        raft_advance(R(net, 2));
    }
    crash(net, 1);
    tick(net, 40);
    assert_int_equal(count_leaders(net), 1);
    net_free(net);
}

/* ---- membership ---- */

static void test_add_voter(void **state)
{
    struct net *net = net_new(4, 3, true, true);
    uint64_t i;

    static uint8_t big[RAFT_CONF_MAX_CONTEXT + 1];
    static const char addr[] = "127.0.0.1:7174";
    uint8_t data[RAFT_CONF_LEN + sizeof addr];
    enum raft_conf_op op;
    uint64_t node;

    elect(net, 1);
    assert_false(raft_conf(R(net, 4))->n);
    assert_int_equal(raft_propose_conf_ctx(R(net, 1), RAFT_CONF_ADD, 4, big, sizeof big, NULL),
                     CR_EINVAL);
    /* a context (the driver's: a peer address) rides in the entry, ignored by the core */
    assert_int_equal(
        raft_propose_conf_ctx(R(net, 1), RAFT_CONF_ADD, 4, (const uint8_t *)addr, sizeof addr, &i),
        0);
    raft_conf_encode(data, RAFT_CONF_ADD, 4);
    memcpy(data + RAFT_CONF_LEN, addr, sizeof addr);
    assert_int_equal(raft_conf_decode(data, sizeof data, &op, &node), 0);
    assert_true(op == RAFT_CONF_ADD && node == 4);
    assert_int_equal(raft_conf_decode(data, RAFT_CONF_LEN - 1, &op, &node), CR_EPROTO);
    /* one change at a time */
    assert_int_equal(raft_propose_conf(R(net, 1), RAFT_CONF_ADD, 5, NULL), CR_EOVERLOAD);
    deliver(net);
    tick(net, 3);
    for (uint64_t id = 1; id <= 4; id++) {
        assert_int_equal(raft_conf(R(net, id))->n, 4);
        assert_true(raft_applied(R(net, id)) >= i);
    }
    /* four voters: a quorum is three */
    isolate(net, 3, true);
    isolate(net, 4, true);
    raft_propose(R(net, 1), (const uint8_t *)"x", 1, &i);
    deliver(net);
    assert_true(raft_commit(R(net, 1)) < i);
    isolate(net, 4, false);
    tick(net, 2);
    assert_int_equal(raft_commit(R(net, 1)), i);
    net_free(net);
}

static void test_remove_voter(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t i;

    elect(net, 1);
    assert_int_equal(raft_propose_conf(R(net, 1), RAFT_CONF_REMOVE, 9, NULL), CR_EINVAL);
    assert_int_equal(raft_propose_conf(R(net, 1), RAFT_CONF_REMOVE, 3, NULL), 0);
    deliver(net);
    tick(net, 2);
    assert_int_equal(raft_conf(R(net, 1))->n, 2);
    assert_null(raft_progress(R(net, 1), 3));
    /* two voters: 1 and 2 commit without 3 */
    crash(net, 3);
    i = propose(net, 1, "y");
    assert_int_equal(raft_commit(R(net, 1)), i);
    net_free(net);
}

static void test_removed_node_cannot_disrupt(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t term;

    elect(net, 1);
    isolate(net, 3, true); /* node 3 never learns it was removed */
    assert_int_equal(raft_propose_conf(R(net, 1), RAFT_CONF_REMOVE, 3, NULL), 0);
    deliver(net);
    tick(net, 2);
    assert_int_equal(raft_conf(R(net, 1))->n, 2);
    assert_int_equal(raft_conf(R(net, 3))->n, 3);
    term = raft_term(R(net, 1));
    isolate(net, 3, false);
    tick(net, 100); /* node 3 hears no heartbeat and keeps trying */
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER);
    assert_int_equal(raft_term(R(net, 1)), term);
    assert_int_equal(raft_term(R(net, 2)), term);
    assert_true(net->sent_to[1][RAFT_MSG_PREVOTE] > 0);
    net_free(net);
}

static void test_leader_removes_itself(void **state)
{
    struct net *net = net_new(3, 3, true, true);

    elect(net, 1);
    assert_int_equal(raft_propose_conf(R(net, 1), RAFT_CONF_REMOVE, 1, NULL), 0);
    deliver(net);
    tick(net, 2);
    assert_int_equal(raft_role(R(net, 1)), RAFT_FOLLOWER);
    assert_int_equal(raft_campaign(R(net, 1)), CR_EINVAL);
    tick(net, 40);
    assert_true(raft_role(R(net, 2)) == RAFT_LEADER || raft_role(R(net, 3)) == RAFT_LEADER);
    net_free(net);
}

/* ---- leadership transfer ---- */

static void test_leader_transfer(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t term;

    elect(net, 1);
    term = raft_term(R(net, 1));
    net->cut[1][3] = true; /* node 3 is behind: it gets caught up first */
    propose(net, 1, "a");
    net->cut[1][3] = false;
    assert_int_equal(raft_transfer_leader(R(net, 1), 1), CR_EINVAL);
    assert_int_equal(raft_transfer_leader(R(net, 2), 3), CR_EINVAL);
    assert_int_equal(raft_transfer_leader(R(net, 1), 3), 0);
    assert_int_equal(raft_propose(R(net, 1), (const uint8_t *)"x", 1, NULL), CR_EOVERLOAD);
    deliver(net);
    assert_int_equal(raft_role(R(net, 3)), RAFT_LEADER);
    assert_int_equal(raft_term(R(net, 3)), term + 1);
    assert_int_equal(raft_role(R(net, 1)), RAFT_FOLLOWER);
    net_free(net);
}

static void test_leader_transfer_times_out(void **state)
{
    struct net *net = net_new(3, 3, true, true);

    elect(net, 1);
    crash(net, 3);
    assert_int_equal(raft_transfer_leader(R(net, 1), 3), 0);
    deliver(net);
    assert_int_equal(raft_propose(R(net, 1), (const uint8_t *)"x", 1, NULL), CR_EOVERLOAD);
    tick(net, 10);
    assert_int_equal(raft_role(R(net, 1)), RAFT_LEADER);
    assert_int_equal(raft_propose(R(net, 1), (const uint8_t *)"x", 1, NULL), 0);
    deliver(net);
    net_free(net);
}

/* ---- ReadIndex ---- */

static void test_read_index_waits_for_heartbeat_quorum(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t i;

    elect(net, 1);
    i = propose(net, 1, "w");
    isolate(net, 1, true);
    assert_int_equal(raft_read_index(R(net, 1), 77), 0);
    deliver(net);
    tick(net, 3);
    assert_int_equal(net->nodes[1].n_reads, 0); /* no quorum, no answer */
    isolate(net, 1, false);
    tick(net, 1);
    assert_int_equal(net->nodes[1].n_reads, 1);
    assert_int_equal(net->nodes[1].reads[0].context, 77);
    assert_int_equal(net->nodes[1].reads[0].index, i);
    net_free(net);
}

static void test_read_index_batched(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    size_t before;

    elect(net, 1);
    propose(net, 1, "w");
    before = net->sent_to[2][RAFT_MSG_HEARTBEAT];
    for (uint64_t ctx = 1; ctx <= 3; ctx++)
        assert_int_equal(raft_read_index(R(net, 1), ctx), 0);
    deliver(net);
    /* three reads, one heartbeat round */
    assert_int_equal(net->sent_to[2][RAFT_MSG_HEARTBEAT] - before, 1);
    assert_int_equal(net->nodes[1].n_reads, 3);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(net->nodes[1].reads[k].context, k + 1);
        assert_int_equal(net->nodes[1].reads[k].index, raft_commit(R(net, 1)));
    }
    net_free(net);
}

static void test_read_index_on_follower(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    uint64_t i;

    elect(net, 1);
    i = propose(net, 1, "w");
    assert_int_equal(raft_read_index(R(net, 3), 5), 0);
    deliver(net);
    assert_int_equal(net->nodes[3].n_reads, 1);
    assert_int_equal(net->nodes[3].reads[0].context, 5);
    assert_int_equal(net->nodes[3].reads[0].index, i);
    assert_int_equal(net->nodes[1].n_reads, 0);
    net_free(net);
}

static void test_read_index_needs_entry_of_term(void **state)
{
    struct net *net = net_new(3, 3, false, false);

    assert_int_equal(raft_read_index(R(net, 1), 1), CR_EINVAL); /* no leader known */
    elect_quietly(net, 1);
    assert_int_equal(raft_read_index(R(net, 1), 1), CR_EOVERLOAD);
    tick(net, 2);
    assert_int_equal(raft_read_index(R(net, 1), 1), 0);
    deliver(net);
    tick(net, 1);
    assert_int_equal(net->nodes[1].n_reads, 1);
    net_free(net);
}

/* ---- snapshots and compaction ---- */

static void test_snapshot_to_lagging_follower(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    struct raft_snapshot_meta meta;
    uint64_t i = 0;

    elect(net, 1);
    crash(net, 3);
    for (int k = 0; k < 5; k++)
        i = propose(net, 1, "s");
    raft_compact_meta(R(net, 1), &meta);
    assert_int_equal(meta.index, i);
    assert_int_equal(meta.conf.n, 3);
    memlog_compact(&net->nodes[1].log, &meta);
    start(net, 3);
    tick(net, 2);
    assert_true(net->sent_to[3][RAFT_MSG_SNAPSHOT] > 0);
    /* the driver installed it: the follower's log starts after the snapshot */
    assert_int_equal(net->nodes[3].log.snap.index, i);
    assert_int_equal(net->nodes[3].sm_applied, i);
    raft_report_snapshot(R(net, 1), 3, true);
    i = propose(net, 1, "after");
    tick(net, 2);
    assert_int_equal(raft_commit(R(net, 3)), i);
    assert_int_equal(net->nodes[3].sm_applied, i);
    assert_memory_equal(memlog_entry(&net->nodes[3].log, i)->data, "after", 5);
    /* and it restarts from it */
    crash(net, 3);
    start(net, 3);
    assert_int_equal(raft_conf(R(net, 3))->n, 3);
    assert_int_equal(raft_commit(R(net, 3)), i);
    net_free(net);
}

static void test_snapshot_failure_retried(void **state)
{
    struct net *net = net_new(3, 3, true, true);
    struct raft_snapshot_meta meta;

    elect(net, 1);
    crash(net, 3);
    propose(net, 1, "s");
    raft_compact_meta(R(net, 1), &meta);
    memlog_compact(&net->nodes[1].log, &meta);
    start(net, 3);
    net->drop_type = RAFT_MSG_SNAPSHOT;
    tick(net, 2);
    assert_int_equal(raft_progress(R(net, 1), 3)->state, RAFT_SNAPSHOT);
    tick(net, 3);
    assert_int_equal(raft_progress(R(net, 1), 3)->state, RAFT_SNAPSHOT); /* paused */
    assert_int_equal(net->sent_to[3][RAFT_MSG_SNAPSHOT], 1);
    raft_report_snapshot(R(net, 1), 3, false);
    assert_int_equal(raft_progress(R(net, 1), 3)->state, RAFT_PROBE);
    net->drop_type = 0;
    tick(net, 3);
    assert_int_equal(raft_progress(R(net, 1), 3)->match, raft_last_index(R(net, 1)));
    net_free(net);
}

static void test_conf_codec_and_config(void **state)
{
    uint8_t buf[RAFT_CONF_LEN];
    enum raft_conf_op op;
    uint64_t node;
    struct memlog l;
    struct raft r;
    struct raft_config cfg = {
        .id = 1, .election_ticks = 10, .heartbeat_ticks = 10, .max_inflight_msgs = 1};

    raft_conf_encode(buf, RAFT_CONF_REMOVE, 0x0102030405060708ull);
    assert_int_equal(raft_conf_decode(buf, sizeof buf, &op, &node), 0);
    assert_int_equal(op, RAFT_CONF_REMOVE);
    assert_int_equal(node, 0x0102030405060708ull);
    assert_int_equal(raft_conf_decode(buf, 3, &op, &node), CR_EPROTO);
    buf[0] = 7;
    assert_int_equal(raft_conf_decode(buf, sizeof buf, &op, &node), CR_EPROTO);
    memlog_init(&l);
    cfg.storage = &l.st;
    assert_int_equal(raft_init(&r, &cfg), CR_EINVAL); /* heartbeat not below election */
    cfg.heartbeat_ticks = 1;
    cfg.max_inflight_msgs = RAFT_MAX_INFLIGHT + 1;
    assert_int_equal(raft_init(&r, &cfg), CR_EINVAL);
    cfg.max_inflight_msgs = 1;
    cfg.applied = 1; /* beyond the commit index */
    assert_int_equal(raft_init(&r, &cfg), CR_EINVAL);
    cfg.applied = 0;
    assert_int_equal(raft_init(&r, &cfg), 0);
    assert_int_equal(raft_campaign(&r), CR_EINVAL); /* not a voter yet */
    raft_close(&r);
    memlog_close(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_node),
        cmocka_unit_test(test_election_by_timeout),
        cmocka_unit_test(test_vote_needs_up_to_date_log),
        cmocka_unit_test(test_prevote_keeps_rejoining_node_quiet),
        cmocka_unit_test(test_without_prevote_rejoin_disrupts),
        cmocka_unit_test(test_lease_ignores_disruptive_candidate),
        cmocka_unit_test(test_check_quorum_steps_down),
        cmocka_unit_test(test_without_check_quorum_leader_stays),
        cmocka_unit_test(test_replication_and_commit),
        cmocka_unit_test(test_propose_on_follower_fails),
        cmocka_unit_test(test_figure8_no_commit_of_old_term),
        cmocka_unit_test(test_figure8_scenario),
        cmocka_unit_test(test_conflicting_suffix_replaced),
        cmocka_unit_test(test_stale_append_keeps_longer_log),
        cmocka_unit_test(test_follower_commit_bounded_by_append),
        cmocka_unit_test(test_flow_control_inflight_msgs),
        cmocka_unit_test(test_flow_control_inflight_bytes),
        cmocka_unit_test(test_lost_appends_recovered),
        cmocka_unit_test(test_restart_from_persisted_state),
        cmocka_unit_test(test_add_voter),
        cmocka_unit_test(test_remove_voter),
        cmocka_unit_test(test_removed_node_cannot_disrupt),
        cmocka_unit_test(test_leader_removes_itself),
        cmocka_unit_test(test_leader_transfer),
        cmocka_unit_test(test_leader_transfer_times_out),
        cmocka_unit_test(test_read_index_waits_for_heartbeat_quorum),
        cmocka_unit_test(test_read_index_batched),
        cmocka_unit_test(test_read_index_on_follower),
        cmocka_unit_test(test_read_index_needs_entry_of_term),
        cmocka_unit_test(test_snapshot_to_lagging_follower),
        cmocka_unit_test(test_snapshot_failure_retried),
        cmocka_unit_test(test_conf_codec_and_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
