/*
 * Runs a real cirrusd for integration tests: a fresh data directory, an ephemeral loopback port
 * (--listen 127.0.0.1:0 --port-file), start, stop with SIGTERM, kill -9, restart on the same data.
 * The cirrusd binary is CIRRUSD_PATH (set by CMake) unless the CIRRUSD environment variable names
 * another.
 */
#ifndef CR_TEST_HARNESS_H
#define CR_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct harness {
    char dir[256]; /* the data directory (removed by harness_cleanup) */
    char port_file[300];
    pid_t pid; /* 0 when not running */
    int port;
    char extra[8][128]; /* extra flags for every start */
    int n_extra;
};

/* Makes the data directory; starts nothing. */
void harness_init(struct harness *h);
/* Adds a flag passed to cirrusd on every start. */
void harness_flag(struct harness *h, const char *flag);
/* Starts cirrusd and waits (up to 10 s) for it to listen. Returns 0 or -1. */
int harness_start(struct harness *h);
/* SIGTERM and wait; returns cirrusd's exit status (0 on a clean stop), or -1 if it died by a
 * signal. */
int harness_stop(struct harness *h);
/* SIGKILL and reap. */
void harness_kill9(struct harness *h);
/* True while the process is alive. */
bool harness_alive(struct harness *h);
/* Stops the server if running and removes the data directory. */
void harness_cleanup(struct harness *h);
/* A TCP connection to the server on loopback, or -1. */
int harness_connect(struct harness *h);

#endif
