/*
 * Real-cluster test helpers (cluster_lib.h): process control on top of the integration harness,
 * status and leader lookups through libcirrus. Nothing here asserts: callers decide what a
 * failure means.
 */
#include "cluster_lib.h"

#include "common/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t cluster_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cluster_now_ms(void)
{
    return cluster_now_ns() / 1000000;
}

void cluster_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static bool port_free(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    bool ok;

    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int cluster_free_ports(int n)
{
    int base = 20000 + (int)(getpid() % 2400) * CLUSTER_MAX_NODES;

    for (int tries = 0; tries < 200; tries++, base += CLUSTER_MAX_NODES) {
        bool free_ = true;

        if (base + n > 32000)
            base = 20000;
        for (int i = 0; i < n && free_; i++)
            free_ = port_free(base + i);
        if (free_)
            return base;
    }
    return -1;
}

int cluster_init(struct cluster *c, int n, const char *const *extra)
{
    char flag[128], peers[128 + 32 * CLUSTER_MAX_NODES];
    size_t len;

    memset(c, 0, sizeof *c);
    if (n < 1 || n > CLUSTER_MAX_NODES || (c->base = cluster_free_ports(n)) < 0)
        return -1;
    c->n = n;
    len = (size_t)snprintf(peers, sizeof peers, "--peers=");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(peers + len, sizeof peers - len, "%s%d=127.0.0.1:%d", i ? "," : "",
                                i + 1, c->base + i);
    for (int i = 0; i < n; i++) {
        struct harness *h = &c->nodes[i];

        harness_init(h);
        snprintf(flag, sizeof flag, "--node-id=%d", i + 1);
        harness_flag(h, flag);
        harness_flag(h, peers);
        harness_flag(h, "--http=off");
        harness_flag(h, "--threads=1");
        for (int k = 0; extra && extra[k]; k++)
            harness_flag(h, extra[k]);
    }
    return 0;
}

int cluster_start(struct cluster *c, int i)
{
    if (harness_start(&c->nodes[i]) != 0)
        return -1;
    atomic_store(&c->paused[i], false);
    atomic_store(&c->port[i], c->nodes[i].port);
    return 0;
}

int cluster_start_all(struct cluster *c)
{
    for (int i = 0; i < c->n; i++)
        if (cluster_start(c, i) != 0)
            return -1;
    return 0;
}

int cluster_stop(struct cluster *c, int i)
{
    atomic_store(&c->port[i], 0);
    if (atomic_load(&c->paused[i]))
        cluster_resume(c, i); /* a stopped process does not see SIGTERM */
    return harness_stop(&c->nodes[i]);
}

void cluster_kill(struct cluster *c, int i)
{
    atomic_store(&c->port[i], 0);
    harness_kill9(&c->nodes[i]);
    atomic_store(&c->paused[i], false);
}

void cluster_pause(struct cluster *c, int i)
{
    if (c->nodes[i].pid && kill(c->nodes[i].pid, SIGSTOP) == 0)
        atomic_store(&c->paused[i], true);
}

void cluster_resume(struct cluster *c, int i)
{
    if (c->nodes[i].pid)
        kill(c->nodes[i].pid, SIGCONT);
    atomic_store(&c->paused[i], false);
}

bool cluster_alive(struct cluster *c, int i)
{
    return harness_alive(&c->nodes[i]);
}

void cluster_destroy(struct cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        cluster_kill(c, i);
        harness_cleanup(&c->nodes[i]);
    }
    c->n = 0;
}

int cluster_port(const struct cluster *c, int i)
{
    return atomic_load(&c->port[i]);
}

int cluster_connect(const struct cluster *c, int i, int timeout_ms, struct cirrus **out)
{
    int port = cluster_port(c, i);

    *out = NULL;
    if (!port)
        return CR_ECONNECT;
    return cirrus_connect("127.0.0.1", port, timeout_ms, out);
}

int cluster_port_stats(int port, int timeout_ms, struct cirrus_stats *out)
{
    struct cirrus *conn = NULL;
    struct cirrus_result r;
    int rc;

    if (!port)
        return CR_ECONNECT;
    rc = cirrus_connect("127.0.0.1", port, timeout_ms, &conn);
    if (rc < 0)
        return rc;
    rc = cirrus_stats(conn, &r);
    if (rc == 0)
        *out = r.stats;
    cirrus_result_free(&r);
    cirrus_close(conn);
    return rc;
}

int cluster_stats(const struct cluster *c, int i, int timeout_ms, struct cirrus_stats *out)
{
    return cluster_port_stats(cluster_port(c, i), timeout_ms, out);
}

/* Of nodes 0..n-1, the one that says it leads, in the highest term, asking each node whose
 * port_of(ctx, i) is not 0 (0: down or paused); -1 after timeout_ms. */
static int leader_among(int n, int (*port_of)(void *ctx, int i), void *ctx, int timeout_ms)
{
    int64_t deadline = cluster_now_ms() + timeout_ms;

    do {
        int best = -1;
        uint64_t best_term = 0;

        for (int i = 0; i < n; i++) {
            struct cirrus_stats st;
            int port = port_of(ctx, i);

            if (!port || cluster_port_stats(port, 1000, &st) != 0)
                continue;
            if (st.role == CLUSTER_ROLE_LEADER && st.term > best_term) {
                best = i;
                best_term = st.term;
            }
        }
        if (best >= 0)
            return best;
        cluster_sleep_ms(50);
    } while (cluster_now_ms() < deadline);
    return -1;
}

static int harness_port(void *ctx, int i)
{
    struct harness *nodes = ctx;

    return harness_alive(&nodes[i]) ? nodes[i].port : 0;
}

int cluster_harness_leader(struct harness *nodes, int n, int timeout_ms)
{
    return leader_among(n, harness_port, nodes, timeout_ms);
}

static int running_port(void *ctx, int i)
{
    struct cluster *c = ctx;

    return atomic_load(&c->paused[i]) || !cluster_alive(c, i) ? 0 : cluster_port(c, i);
}

int cluster_find_leader(struct cluster *c, int timeout_ms)
{
    return leader_among(c->n, running_port, c, timeout_ms);
}

int cluster_isolate(const struct cluster *c, int i, bool on)
{
    struct cirrus_fault f[CLUSTER_MAX_NODES];
    struct cirrus_result r;
    struct cirrus *conn;
    size_t n = 0;
    int rc = cluster_connect(c, i, 2000, &conn);

    if (rc < 0)
        return rc;
    for (int j = 0; j < c->n && on; j++)
        if (j != i)
            f[n++] = (struct cirrus_fault){.peer = (uint64_t)j + 1, .drop_out = 1, .drop_in = 1};
    rc = cirrus_cluster_fault(conn, f, n, !on, &r);
    cirrus_result_free(&r);
    cirrus_close(conn);
    return rc;
}

int cluster_node_named(const struct cluster *c, const char *msg)
{
    const char *at = strstr(msg, "peer address ");
    int port;

    if (!at || sscanf(at + strlen("peer address "), "%*[^:]:%d", &port) != 1)
        return -1;
    port -= c->base;
    return port >= 0 && port < c->n ? port : -1;
}
