/*
 * Read consistency levels on three real cirrusd processes (issue 6; DESIGN.md, "The replicated
 * log and consistency"): a SESSION token ahead of a follower waits for its apply, and times out
 * with CR_ETIMEOUT when it never comes; BOUNDED_STALENESS is served locally within its bounds and
 * takes the STRONG path beyond them; STRONG reads pipelined on one connection share ReadIndex
 * rounds yet never miss an acknowledged write, while other connections keep rounds running; with
 * no leader known, the DynamoDB front end answers a retryable 5xx. Every wait is bounded; the
 * servers die with the test.
 */
#include "client/cirrus.h"
#include "common/error.h"
#include "cluster_lib.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#define ELECTION_WAIT_MS 10000 /* the election timeout is 300..600 ms; ASan and 2 cores */
#define CATCH_UP_WAIT_MS 20000
#define STRONG_WAIT_MS 1000 /* LOG_STRONG_WAIT_MS */
#define PIPELINE 64
#define PIPELINED_READS 2000
#define ONE_AT_A_TIME 200

static struct harness nodes[NODES];
static int http_ports[NODES];

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
    return cluster_harness_leader(nodes, NODES, timeout_ms);
}

static void key_of(struct cirrus_value *v, int k)
{
    char key[32];
    struct cirrus_value f = {0};

    snprintf(key, sizeof key, "k%04d", k);
    assert_int_equal(cirrus_value_container(v, CIRRUS_MAP), 0);
    assert_int_equal(cirrus_value_string(&f, key, strlen(key)), 0);
    assert_int_equal(cirrus_map_set(v, "id", &f), 0);
}

/* Puts {id: k, v: val} on c; the entry's index in *index when given. */
static int put_on(struct cirrus *c, int k, int64_t val, uint64_t *index)
{
    struct cirrus_value v = {0}, f = {0};
    struct cirrus_result r;
    int rc;

    key_of(&v, k);
    cirrus_value_int(&f, val);
    assert_int_equal(cirrus_map_set(&v, "v", &f), 0);
    rc = cirrus_put_item(c, "items", &v, NULL, &r);
    if (index)
        *index = cirrus_last_applied_index(c);
    cirrus_result_free(&r);
    cirrus_value_clear(&v);
    return rc;
}

/* The value of v in a get's result; -1 when absent. */
static int64_t value_of(const struct cirrus_result *r)
{
    const struct cirrus_value *v;

    if (r->item.type != CIRRUS_MAP)
        return -1;
    v = cirrus_map_get(&r->item, "v");
    assert_non_null(v);
    assert_int_equal(v->type, CIRRUS_INT);
    return v->u.i;
}

/* Reads k on c at ro; *val -1 when absent (not an error here). */
static int get_on(struct cirrus *c, int k, const struct cirrus_read_opts *ro, int64_t *val)
{
    struct cirrus_value key = {0};
    struct cirrus_result r;
    int rc;

    key_of(&key, k);
    rc = cirrus_get_item(c, "items", &key, ro, &r);
    if (rc == CR_ENOTFOUND)
        rc = 0;
    *val = rc == 0 ? value_of(&r) : -1;
    cirrus_result_free(&r);
    cirrus_value_clear(&key);
    return rc;
}

static int get(int i, int k, const struct cirrus_read_opts *ro, int64_t *val)
{
    struct cirrus *c = conn(i);
    int rc;

    if (!c)
        return CR_ECONNECT;
    rc = get_on(c, k, ro, val);
    if (rc != 0)
        printf("node %d, level %d: %s: %s\n", i + 1, (int)ro->consistency, cr_errname(rc),
               cirrus_errmsg(c));
    cirrus_close(c);
    return rc;
}

/* Waits until node i has applied index. */
static void wait_applied(int i, uint64_t index)
{
    int64_t deadline = cluster_now_ms() + CATCH_UP_WAIT_MS;
    struct cirrus_stats st;

    while (stats(i, &st) != 0 || st.applied_index < index) {
        if (cluster_now_ms() > deadline)
            fail_msg("node %d never applied index %llu", i + 1, (unsigned long long)index);
        cluster_sleep_ms(20);
    }
}

static int read_port_file(const char *path)
{
    FILE *f = fopen(path, "r");
    int port = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%d", &port) != 1)
        port = 0;
    fclose(f);
    return port;
}

/* Starts the three voters (HTTP on an ephemeral port each); returns the leader, with table
 * "items" created through it and applied everywhere. */
static int start_three(void)
{
    int base = cluster_free_ports(NODES), leader;
    struct cirrus_result r;
    struct cirrus *c;
    char flag[320];
    int64_t deadline;

    for (int i = 0; i < NODES; i++) {
        harness_init(&nodes[i]);
        snprintf(flag, sizeof flag, "--node-id=%d", i + 1);
        harness_flag(&nodes[i], flag);
        snprintf(flag, sizeof flag, "--peers=1=127.0.0.1:%d,2=127.0.0.1:%d,3=127.0.0.1:%d", base,
                 base + 1, base + 2);
        harness_flag(&nodes[i], flag);
        snprintf(flag, sizeof flag, "--http-port-file=%.255s.http", nodes[i].dir);
        harness_flag(&nodes[i], flag);
        harness_flag(&nodes[i], "--http-threads=1");
        harness_flag(&nodes[i], "--threads=2");
    }
    for (int i = 0; i < NODES; i++) {
        assert_int_equal(harness_start(&nodes[i]), 0);
        snprintf(flag, sizeof flag, "%.255s.http", nodes[i].dir);
        deadline = cluster_now_ms() + CATCH_UP_WAIT_MS; /* written once the HTTP listener is up */
        while ((http_ports[i] = read_port_file(flag)) == 0) {
            assert_true(cluster_now_ms() < deadline);
            cluster_sleep_ms(20);
        }
        unlink(flag);
    }
    leader = find_leader(ELECTION_WAIT_MS);
    assert_true(leader >= 0);
    c = conn(leader);
    assert_non_null(c);
    assert_int_equal(cirrus_create_table(c, "items", "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r),
                     0);
    cirrus_result_free(&r);
    for (int i = 0; i < NODES; i++)
        wait_applied(i, cirrus_last_applied_index(c));
    cirrus_close(c);
    return leader;
}

static void stop_all(void)
{
    for (int i = 0; i < NODES; i++)
        assert_int_equal(harness_stop(&nodes[i]), 0);
}

/* One DynamoDB call on node i's HTTP port: the status, the body in body. */
static int ddb_call(int i, const char *op, const char *json, char *body, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_ports[i])};
    char req[1024], resp[4096];
    size_t n = 0;
    ssize_t got;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    struct timeval tv = {10, 0};
    const char *b;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof req,
             "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
             "Content-Type: application/x-amz-json-1.0\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             op, strlen(json), json);
    if (send(fd, req, strlen(req), 0) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    while (n < sizeof resp - 1 && (got = recv(fd, resp + n, sizeof resp - 1 - n, 0)) > 0)
        n += (size_t)got;
    close(fd);
    resp[n] = 0;
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        return -1;
    b = strstr(resp, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
    return status;
}

/* SESSION: a token the follower has not applied yet makes the read wait for it, and the read
 * then sees the write whose index it is; a token nobody reaches fails with CR_ETIMEOUT after
 * LOG_STRONG_WAIT_MS. A token already applied is served at once. */
static void test_session(void **state)
{
    int leader = start_three(), follower = (leader + 1) % NODES;
    struct cirrus *lc = conn(leader), *fc = conn(follower);
    struct cirrus_read_opts ro = {CIRRUS_SESSION, 0, 0, 0};
    struct cirrus_stats st;
    struct cirrus_value key = {0};
    struct cirrus_result r;
    uint64_t index, id;
    int64_t t0, val;
    int code;

    (void)state;
    assert_non_null(lc);
    assert_non_null(fc);
    for (int k = 0; k < 10; k++) {
        /* The read is sent with the index the write will take, before the write. */
        assert_int_equal(stats(follower, &st), 0);
        ro.session_token = st.applied_index + 1;
        key_of(&key, k);
        assert_int_equal(cirrus_send_get(fc, "items", &key, &ro, &id), 0);
        assert_int_equal(cirrus_flush(fc), 0);
        cirrus_value_clear(&key);
        assert_int_equal(put_on(lc, k, k + 100, &index), 0);
        assert_int_equal(index, ro.session_token);
        assert_int_equal(cirrus_recv(fc, &id, &code), 0);
        assert_int_equal(code, 0);
        assert_true(cirrus_last_applied_index(fc) >= index);
        /* ... and the next read with that token sees the write. */
        assert_int_equal(get_on(fc, k, &ro, &val), 0);
        assert_int_equal(val, k + 100);
    }

    ro.session_token = cirrus_last_applied_index(lc) + 1000000;
    t0 = cluster_now_ms();
    key_of(&key, 0);
    assert_int_equal(cirrus_get_item(fc, "items", &key, &ro, &r), CR_ETIMEOUT);
    assert_true(cluster_now_ms() - t0 >= STRONG_WAIT_MS - 50);
    assert_non_null(strstr(cirrus_errmsg(fc), "session token"));
    cirrus_result_free(&r);
    cirrus_value_clear(&key);

    cirrus_close(lc);
    cirrus_close(fc);
    stop_all();
}

/* BOUNDED_STALENESS within its bounds is served by a follower cut off from the others (as
 * EVENTUAL and an applied SESSION token are); beyond max_lag_ms it takes the STRONG path, which
 * has no leader to answer. With no leader known, the DynamoDB front end answers a write with 503
 * ServiceUnavailable (an SDK retries it). */
static void test_bounded_and_no_leader(void **state)
{
    int leader = start_three(), follower = (leader + 1) % NODES, other = (leader + 2) % NODES;
    struct cirrus_read_opts loose = {
        .consistency = CIRRUS_BOUNDED_STALENESS, .max_lag_entries = 1000000, .max_lag_ms = 600000};
    struct cirrus_read_opts tight = {
        .consistency = CIRRUS_BOUNDED_STALENESS, .max_lag_entries = 1000000, .max_lag_ms = 100};
    struct cirrus_read_opts strong = {CIRRUS_STRONG, 0, 0, 0};
    struct cirrus_read_opts eventual = {CIRRUS_EVENTUAL, 0, 0, 0};
    struct cirrus_read_opts session = {CIRRUS_SESSION, 0, 0, 0};
    struct cirrus *lc = conn(leader);
    struct cirrus_stats st;
    char body[4096];
    uint64_t index;
    int64_t val, deadline;
    int rc, status;

    (void)state;
    assert_non_null(lc);
    assert_int_equal(put_on(lc, 1, 11, &index), 0);
    cirrus_close(lc);
    wait_applied(follower, index);
    assert_int_equal(get(follower, 1, &loose, &val), 0);
    assert_int_equal(val, 11);
    assert_int_equal(get(follower, 1, &tight, &val), 0); /* heartbeats keep the contact fresh */
    assert_int_equal(val, 11);

    /* Cut the follower off: the leader and the other stop. */
    assert_int_equal(kill(nodes[leader].pid, SIGSTOP), 0);
    assert_int_equal(kill(nodes[other].pid, SIGSTOP), 0);
    cluster_sleep_ms(300);
    assert_int_equal(get(follower, 1, &eventual, &val), 0);
    assert_int_equal(val, 11);
    assert_int_equal(get(follower, 1, &loose, &val), 0);
    assert_int_equal(val, 11);
    rc = get(follower, 1, &tight, &val);
    assert_true(rc == CR_ETIMEOUT || rc == CR_ENOTLEADER);
    rc = get(follower, 1, &strong, &val);
    assert_true(rc == CR_ETIMEOUT || rc == CR_ENOTLEADER);

    session.session_token = index;
    assert_int_equal(get(follower, 1, &session, &val), 0);
    assert_int_equal(val, 11);

    /* Its election timeout passes: no leader is known. A STRONG read waits for a winner (1 s),
     * then CR_ETIMEOUT. The DynamoDB front end reads the table's definition STRONG before a
     * write (ddb_load_table): that times out first, a 500 InternalServerError; a write that got
     * past it would be held for a leader (3 s), then refused with CR_ENOTLEADER, a 503
     * ServiceUnavailable. An SDK retries both. */
    deadline = cluster_now_ms() + ELECTION_WAIT_MS;
    while (stats(follower, &st) != 0 || st.leader_id != 0) {
        assert_true(cluster_now_ms() < deadline);
        cluster_sleep_ms(50);
    }
    rc = get(follower, 1, &tight, &val);
    assert_true(rc == CR_ETIMEOUT || rc == CR_ENOTLEADER);
    status = ddb_call(follower, "PutItem",
                      "{\"TableName\":\"items\",\"Item\":{\"id\":{\"S\":\"k0002\"}}}", body,
                      sizeof body);
    assert_true(status == 500 || status == 503);
    assert_true(strstr(body, "InternalServerError") || strstr(body, "ServiceUnavailable"));
    status = ddb_call(follower, "GetItem",
                      "{\"TableName\":\"items\",\"Key\":{\"id\":{\"S\":\"k0001\"}},"
                      "\"ConsistentRead\":true}",
                      body, sizeof body);
    assert_true(status == 500 || status == 503);

    /* Back together: a leader again, and the tight bound is met again. */
    assert_int_equal(kill(nodes[leader].pid, SIGCONT), 0);
    assert_int_equal(kill(nodes[other].pid, SIGCONT), 0);
    assert_true(find_leader(ELECTION_WAIT_MS) >= 0);
    deadline = cluster_now_ms() + ELECTION_WAIT_MS;
    while (get(follower, 1, &tight, &val) != 0)
        assert_true(cluster_now_ms() < deadline);
    assert_int_equal(val, 11);
    stop_all();
}

struct hammer {
    int node;
    atomic_bool stop;
    uint64_t reads;
    int failed;
    pthread_t thread;
    bool running;
};

/* Static, so that teardown stops them when an assertion left the test early. */
static struct hammer hammers[2];

static void hammers_stop(void)
{
    for (int i = 0; i < 2; i++) {
        if (!hammers[i].running)
            continue;
        atomic_store(&hammers[i].stop, true);
        pthread_join(hammers[i].thread, NULL);
        hammers[i].running = false;
    }
}

/* Another connection's STRONG reads, one at a time, so that rounds are running when the test's
 * reads arrive. */
static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    struct cirrus_read_opts strong = {CIRRUS_STRONG, 0, 0, 0};
    struct cirrus *c = conn(h->node);
    int64_t val;

    if (!c) {
        h->failed = CR_ECONNECT;
        return NULL;
    }
    while (!atomic_load(&h->stop) && h->failed == 0) {
        h->failed = get_on(c, 9999, &strong, &val);
        h->reads++;
    }
    cirrus_close(c);
    return NULL;
}

/* n STRONG gets of key k pipelined on c, PIPELINE in flight; each must be served from a snapshot
 * holding entry `index` (the pipelined interface drops the items: their applied index tells). */
static void pipelined_gets(struct cirrus *c, int k, uint64_t index, int n)
{
    struct cirrus_read_opts strong = {CIRRUS_STRONG, 0, 0, 0};
    struct cirrus_value key = {0};
    int sent = 0, done = 0, inflight = 0, code;
    uint64_t id;

    key_of(&key, k);
    while (done < n) {
        while (sent < n && inflight < PIPELINE) {
            assert_int_equal(cirrus_send_get(c, "items", &key, &strong, &id), 0);
            sent++;
            inflight++;
        }
        assert_int_equal(cirrus_flush(c), 0);
        assert_int_equal(cirrus_recv(c, &id, &code), 0);
        assert_int_equal(code, 0);
        assert_true(cirrus_last_applied_index(c) >= index);
        inflight--;
        done++;
    }
    cirrus_value_clear(&key);
}

/* STRONG reads pipelined on one connection, on the leader and on a follower, each see the write
 * acknowledged just before them, while another connection keeps rounds running on the same node
 * (a round that began before a read arrived must not serve it). And they share rounds: many
 * pipelined reads take far less than as many one-at-a-time reads. */
static void test_strong_shared(void **state)
{
    int leader = start_three(), follower = (leader + 1) % NODES;
    struct cirrus_read_opts strong = {CIRRUS_STRONG, 0, 0, 0};
    struct cirrus *lc = conn(leader), *rc[2] = {conn(leader), conn(follower)};
    uint64_t index = 0;
    int64_t t0, one, many, val;

    (void)state;
    assert_non_null(lc);
    for (int i = 0; i < 2; i++) {
        assert_non_null(rc[i]);
        memset(&hammers[i], 0, sizeof hammers[i]);
        hammers[i].node = i == 0 ? leader : follower;
        atomic_init(&hammers[i].stop, false);
        assert_int_equal(pthread_create(&hammers[i].thread, NULL, hammer_run, &hammers[i]), 0);
        hammers[i].running = true;
    }
    for (int k = 0; k < 50; k++) {
        assert_int_equal(put_on(lc, 7, k, &index), 0);
        pipelined_gets(rc[k % 2], 7, index, 16);
    }
    hammers_stop();
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hammers[i].failed, 0);
        assert_true(hammers[i].reads > 0);
    }

    /* Sharing, on the follower: one read per round, then PIPELINED_READS in flight by PIPELINE. */
    t0 = cluster_now_ms();
    for (int k = 0; k < ONE_AT_A_TIME; k++) {
        assert_int_equal(get_on(rc[1], 7, &strong, &val), 0);
        assert_int_equal(val, 49);
    }
    one = cluster_now_ms() - t0;
    t0 = cluster_now_ms();
    pipelined_gets(rc[1], 7, index, PIPELINED_READS);
    many = cluster_now_ms() - t0;
    printf("follower STRONG reads: %d one at a time in %lld ms, %d pipelined in %lld ms\n",
           ONE_AT_A_TIME, (long long)one, PIPELINED_READS, (long long)many);
    /* Unshared, the pipelined ones would take about PIPELINED_READS / ONE_AT_A_TIME times as long
     * as the others (10x); shared, about PIPELINED_READS / PIPELINE rounds (well under 1x). */
    assert_true(many * ONE_AT_A_TIME * 4 < one * PIPELINED_READS);

    cirrus_close(lc);
    cirrus_close(rc[0]);
    cirrus_close(rc[1]);
    stop_all();
}

/* Time to live on a cluster: the leader's sweeper deletes an expired item through the log, so it
 * disappears from every node; an item written through a follower expires the same way. A
 * strongly consistent GetItem on a follower sees the deletion at once (a ReadIndex round). */
static void test_ttl(void **state)
{
    int leader = start_three(), follower = (leader + 1) % NODES;
    char body[4096], item[256];
    int64_t deadline;

    (void)state;
    assert_int_equal(ddb_call(leader, "CreateTable",
                              "{\"TableName\":\"ttl_t\",\"AttributeDefinitions\":[{"
                              "\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],"
                              "\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
                              "\"BillingMode\":\"PAY_PER_REQUEST\"}",
                              body, sizeof body),
                     200);
    assert_int_equal(ddb_call(follower, "UpdateTimeToLive",
                              "{\"TableName\":\"ttl_t\",\"TimeToLiveSpecification\":{"
                              "\"Enabled\":true,\"AttributeName\":\"exp\"}}",
                              body, sizeof body),
                     200);
    /* expired a minute ago: one through the leader, one through a follower; one not yet */
    for (int k = 0; k < 3; k++) {
        snprintf(item, sizeof item,
                 "{\"TableName\":\"ttl_t\",\"Item\":{\"id\":{\"S\":\"i%d\"},"
                 "\"exp\":{\"N\":\"%lld\"}}}",
                 k, (long long)time(NULL) + (k == 2 ? 3600 : -60));
        assert_int_equal(ddb_call(k == 1 ? follower : leader, "PutItem", item, body, sizeof body),
                         200);
    }
    deadline = cluster_now_ms() + CATCH_UP_WAIT_MS;
    for (int i = 0; i < NODES; i++)
        for (int k = 0; k < 3; k++) {
            snprintf(item, sizeof item,
                     "{\"TableName\":\"ttl_t\",\"Key\":{\"id\":{\"S\":\"i%d\"}},"
                     "\"ConsistentRead\":%s}",
                     k, i == follower ? "true" : "false");
            for (;;) {
                assert_int_equal(ddb_call(i, "GetItem", item, body, sizeof body), 200);
                if ((strstr(body, "\"Item\"") != NULL) == (k == 2))
                    break;
                assert_true(cluster_now_ms() < deadline);
                cluster_sleep_ms(100);
            }
        }
    stop_all();
}

static int teardown(void **state)
{
    (void)state;
    hammers_stop();
    for (int i = 0; i < NODES; i++) {
        if (nodes[i].pid)
            kill(nodes[i].pid, SIGCONT);
        harness_cleanup(&nodes[i]);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_session, teardown),
        cmocka_unit_test_teardown(test_bounded_and_no_leader, teardown),
        cmocka_unit_test_teardown(test_strong_shared, teardown),
        cmocka_unit_test_teardown(test_ttl, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
