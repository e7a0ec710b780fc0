/*
 * Helpers for tests against a real Raft cluster: N cirrusd processes on 127.0.0.1 (tests/
 * integration/harness.h starts each one), their peer ports, starting, stopping, killing, pausing
 * and resuming nodes, isolating one from the others, reading their status, finding the leader,
 * and finding the node a CR_ENOTLEADER message names. Every wait is bounded. Nodes die with the
 * test process.
 *
 * Threads: process control (init, start, stop, kill, pause, resume, alive, destroy) and
 * cluster_find_leader belong to one thread at a time, and a node dies with the thread that
 * started it (the harness's PR_SET_PDEATHSIG): start nodes from a thread that outlives them, such
 * as the test's main thread. cluster_port, cluster_connect, cluster_stats, cluster_isolate and
 * cluster_node_named may be called from any thread meanwhile.
 */
#ifndef CR_CLUSTER_LIB_H
#define CR_CLUSTER_LIB_H

#include "client/cirrus.h"
#include "harness.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CLUSTER_MAX_NODES 5
#define CLUSTER_ROLE_LEADER 4 /* StatsResponse.role */

struct cluster {
    struct harness nodes[CLUSTER_MAX_NODES];
    int n;
    int base;                           /* node i (0-based) has Raft peer port base + i */
    atomic_int port[CLUSTER_MAX_NODES]; /* native port; 0 while the node is down */
    atomic_bool paused[CLUSTER_MAX_NODES];
};

int64_t cluster_now_ms(void);
int64_t cluster_now_ns(void); /* CLOCK_MONOTONIC */
void cluster_sleep_ms(int ms);

/* n consecutive free ports from a pid-dependent start, CLUSTER_MAX_NODES apart from the next
 * pid's; below Linux's ephemeral range (32768 up), where the nodes' own outgoing connections could
 * hold one. -1 if none. For tests that configure their nodes themselves. */
int cluster_free_ports(int n);

/*
 * Configures n nodes (n <= CLUSTER_MAX_NODES) on free consecutive peer ports below the ephemeral
 * range, chosen from the pid so that tests side by side differ: every node a voter in --peers,
 * HTTP off, one network thread, plus extra flags (NULL-terminated list, may be NULL). Makes the
 * data directories; starts nothing. 0, or -1 when no free ports were found.
 */
int cluster_init(struct cluster *c, int n, const char *const *extra);
/* Starts node i and waits (up to 10 s) for it to listen. 0 or -1. */
int cluster_start(struct cluster *c, int i);
/* Starts every node; 0 or -1. */
int cluster_start_all(struct cluster *c);
/* SIGTERM and wait; cirrusd's exit status, -1 if it died by a signal. */
int cluster_stop(struct cluster *c, int i);
/* SIGKILL and reap (a paused node too). */
void cluster_kill(struct cluster *c, int i);
/* SIGSTOP, SIGCONT: a paused node is alive but answers nothing. */
void cluster_pause(struct cluster *c, int i);
void cluster_resume(struct cluster *c, int i);
bool cluster_alive(struct cluster *c, int i);
/* Kills every node and removes the data directories. */
void cluster_destroy(struct cluster *c);

int cluster_port(const struct cluster *c, int i);
/* A connection to node i with timeout_ms for connecting and each call; CR_ECONNECT when it is
 * down. */
int cluster_connect(const struct cluster *c, int i, int timeout_ms, struct cirrus **out);
/* Node i's status through a new connection; a client code (CR_ECONNECT when down). */
int cluster_stats(const struct cluster *c, int i, int timeout_ms, struct cirrus_stats *out);
/* The status of the node listening on native port `port` (0: down, CR_ECONNECT). */
int cluster_port_stats(int port, int timeout_ms, struct cirrus_stats *out);
/* For tests that run their own harness array: the running node of nodes[0..n) that says it
 * leads, in the highest term; -1 after timeout_ms. */
int cluster_harness_leader(struct harness *nodes, int n, int timeout_ms);
/* The running, unpaused node that says it leads, in the highest term; -1 after timeout_ms. */
int cluster_find_leader(struct cluster *c, int timeout_ms);
/* Cuts node i off from every other node (its transport drops frames to and from each of them),
 * or with on false heals every fault of node i (cirrus_cluster_fault). A client code. */
int cluster_isolate(const struct cluster *c, int i, bool on);
/* The node a CR_ENOTLEADER message names by its peer address ("peer address HOST:PORT"), or -1
 * when it names none (no leader known) or one outside the cluster. */
int cluster_node_named(const struct cluster *c, const char *msg);

#endif
