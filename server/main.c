/*
 * cirrusd: parse the configuration, open storage, start the log's writer (and with --peers its
 * Raft node), the network loops and the TTL sweeper, report readiness, wait for SIGTERM/SIGINT,
 * then stop in dependency order: network (in-flight requests finish), sweeper (its proposals
 * complete), log (queue drained), storage. Owns process-level concerns only (signals, exit codes,
 * the port file); everything else lives in the modules it starts.
 */
#include "common/error.h"
#include "common/log.h"
#include "server/config.h"
#include "server/http/http.h"
#include "server/http/sigv4.h"
#include "server/net.h"
#include "server/ops.h"
#include "server/repl/log.h"
#include "server/repl/node.h"
#include "server/ttl.h"
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READER_SLACK 64 /* LMDB reader slots beyond one per connection */

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* Writes "<port>\n" atomically (temp file + rename) so a reader never sees a partial line. */
static int write_port_file(const char *path, uint16_t port)
{
    char tmp[CR_CONFIG_PATH_MAX + 16], line[16];
    int fd, n;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    n = snprintf(line, sizeof line, "%u\n", (unsigned)port);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, line, (size_t)n) != n || close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return -err;
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return -err;
    }
    return 0;
}

/* --auth's keys: --access-key flags, then the --credentials file. The config's copies of the
 * secrets are wiped once taken. Returns 0, CR_EINVAL or CR_EIO with the reason in e, CR_ENOMEM. */
static int load_keys(struct config *cfg, struct sigv4_keys *keys, struct errmsg *e)
{
    int rc = 0;

    for (unsigned i = 0; i < cfg->n_access_keys && rc == 0; i++) {
        struct errmsg sub;

        rc = sigv4_keys_add(keys, cfg->access_keys[i].id, cfg->access_keys[i].secret, &sub);
        if (rc < 0)
            errmsg_set(e, rc, "--access-key: %s", sub.text);
    }
    memset(cfg->access_keys, 0, sizeof cfg->access_keys);
    if (rc == 0 && cfg->credentials[0])
        rc = sigv4_keys_load(keys, cfg->credentials, e);
    return rc;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

int main(int argc, char **argv)
{
    static const char *sync_names[] = {"none", "full"};
    struct timespec started;
    struct config cfg;
    enum config_action action;
    struct errmsg e;
    struct storage_options so;
    struct storage *storage = NULL;
    struct log log;
    struct node_peer peers[CR_CONFIG_MAX_PEERS];
    struct node_options node_opt;
    struct ops ops;
    struct net_options no;
    struct net *net = NULL;
    struct http_options ho;
    struct http_server *http = NULL;
    struct ttl_sweeper *ttl = NULL;
    struct sigv4_keys keys;
    char http_addr[CR_CONFIG_HOST_MAX + 16] = "off";
    sigset_t sigs;
    int rc, sig = 0;

    clock_gettime(CLOCK_MONOTONIC, &started);
    errmsg_clear(&e);
    if (config_parse(argc, argv, &cfg, &action, &e) < 0) {
        fprintf(stderr, "cirrusd: %s\n", e.text);
        return 2;
    }
    if (action == CONFIG_HELP) {
        config_usage(stdout);
        return 0;
    }
    if (action == CONFIG_VERSION) {
        printf("cirrusd " CR_VERSION "\n");
        return 0;
    }
    cr_log_set_level(cfg.log_level);
    sigv4_keys_init(&keys);
    if (cfg.auth && load_keys(&cfg, &keys, &e) < 0) {
        fprintf(stderr, "cirrusd: %s\n", e.text);
        sigv4_keys_close(&keys);
        return 2;
    }

    /* Signals are taken synchronously by this thread alone; every thread created after this
     * inherits the mask. SIGPIPE is ignored: a vanished peer is an error return, not a death. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    rc = make_dir(cfg.data_dir);
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "cannot create data directory '%s': %s", cfg.data_dir, strerror(-rc));
        sigv4_keys_close(&keys);
        return 1;
    }
    memset(&so, 0, sizeof so);
    so.no_sync = !cfg.sync;
    so.map_size = cfg.map_size;
    if (!cfg.http_threads)
        cfg.http_threads = cfg.threads;
    /* a reader slot per native connection, per loop (net.c's and HTTP's), and the TTL sweep */
    so.max_readers = cfg.max_connections + cfg.threads + cfg.http_threads + 1 + READER_SLACK;
    rc = storage_open(cfg.data_dir, &so, &storage);
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "cannot open storage in '%s': %s", cfg.data_dir, cr_strerror(rc));
        sigv4_keys_close(&keys);
        return 1;
    }
    if (cfg.n_peers) {
        for (unsigned i = 0; i < cfg.n_peers; i++) {
            peers[i].id = cfg.peers[i].id;
            snprintf(peers[i].host, sizeof peers[i].host, "%s", cfg.peers[i].host);
            peers[i].port = cfg.peers[i].port;
        }
        memset(&node_opt, 0, sizeof node_opt);
        node_opt.id = cfg.node_id;
        node_opt.cluster_name = cfg.cluster_id;
        node_opt.join = cfg.join;
        node_opt.compact_entries = cfg.snapshot_entries;
        node_opt.peers = peers;
        node_opt.n_peers = cfg.n_peers;
        node_opt.data_dir = cfg.data_dir;
        node_opt.no_sync = !cfg.sync;
    }
    rc = log_init(&log, storage,
                  &(struct log_options){.max_queue = cfg.max_queue,
                                        .cluster = cfg.n_peers ? &node_opt : NULL});
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "cannot start the log: %s", cr_strerror(rc));
        storage_close(storage);
        sigv4_keys_close(&keys);
        return 1;
    }
    ops_init(&ops, storage, &log, cfg.data_dir, so.map_size);

    no.host = cfg.host;
    no.port = cfg.port;
    no.threads = cfg.threads;
    no.max_connections = cfg.max_connections;
    no.max_frame = cfg.max_frame;
    no.max_inflight = cfg.max_inflight;
    rc = net_start(&ops, &no, &net, &e);
    if (rc < 0) {
        cr_log(CR_LOG_ERROR, "%s", errmsg_text(&e, rc));
        log_close(&log);
        storage_close(storage);
        sigv4_keys_close(&keys);
        return 1;
    }
    if (cfg.http) {
        ho.host = cfg.http_host;
        ho.port = cfg.http_port;
        ho.max_body = cfg.http_max_body;
        ho.threads = cfg.http_threads;
        ho.keys = cfg.auth ? &keys : NULL;
        rc = http_start(&ops, &ho, &http, &e);
        if (rc < 0) {
            cr_log(CR_LOG_ERROR, "%s", errmsg_text(&e, rc));
            net_stop(net);
            log_close(&log);
            net_free(net);
            storage_close(storage);
            sigv4_keys_close(&keys);
            return 1;
        }
        snprintf(http_addr, sizeof http_addr, "%s:%u", cfg.http_host, (unsigned)http_port(http));
        if (cfg.auth)
            cr_log(CR_LOG_INFO, "http: SigV4 verification on, %zu access keys", keys.n);
    }
    /* Every node runs the sweeper; on a Raft node only the leader sweeps (ttl.c skips a tick
     * elsewhere), so expired items are deleted once, through the log, wherever they are. */
    if (cfg.ttl_interval_ms) {
        rc = ttl_start(&ops, cfg.ttl_interval_ms, &ttl, &e);
        if (rc < 0) {
            cr_log(CR_LOG_ERROR, "%s", errmsg_text(&e, rc));
            net_stop(net);
            if (http)
                http_stop(http);
            log_close(&log);
            if (http)
                http_free(http);
            net_free(net);
            storage_close(storage);
            sigv4_keys_close(&keys);
            return 1;
        }
    }
    if (cfg.port_file[0]) {
        rc = write_port_file(cfg.port_file, net_port(net));
        if (rc < 0)
            cr_log(CR_LOG_ERROR, "cannot write port file '%s': %s", cfg.port_file, strerror(-rc));
    }
    if (http && cfg.http_port_file[0]) {
        rc = write_port_file(cfg.http_port_file, http_port(http));
        if (rc < 0)
            cr_log(CR_LOG_ERROR, "cannot write port file '%s': %s", cfg.http_port_file,
                   strerror(-rc));
    }
    cr_log(CR_LOG_INFO,
           "cirrusd ready: native %s:%u, http %s, data %s, sync %s, applied index %llu, in %.1f ms",
           cfg.host, (unsigned)net_port(net), http_addr, cfg.data_dir, sync_names[cfg.sync],
           (unsigned long long)log_applied_index(&log), elapsed_ms(&started));
    if (cfg.n_peers)
        cr_log(CR_LOG_INFO, "raft: node %llu of cluster '%s', %u peers given%s",
               (unsigned long long)cfg.node_id, cfg.cluster_id, cfg.n_peers,
               cfg.join ? ", waiting to be added" : "");

    while (sigwait(&sigs, &sig) != 0)
        ;
    clock_gettime(CLOCK_MONOTONIC, &started);
    cr_log(CR_LOG_INFO, "cirrusd stopping on %s: finishing in-flight requests",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    net_stop(net);
    if (http)
        http_stop(http);
    if (ttl)
        ttl_stop(ttl);
    ops_close(&ops); /* the round thread of parked reads, before the log it asks goes */
    log_close(&log);
    if (ttl)
        ttl_free(ttl);
    if (http)
        http_free(http);
    net_free(net);
    storage_close(storage);
    sigv4_keys_close(&keys);
    cr_log(CR_LOG_INFO, "cirrusd stopped: applied index %llu, in %.1f ms",
           (unsigned long long)log_applied_index(&log), elapsed_ms(&started));
    return 0;
}
