/*
 * cirrusd's settings: defaults, then the config file (--config FILE), then command-line flags,
 * each later source overriding the earlier. Parsing only: nothing here opens storage, binds a
 * socket or logs; main.c turns a bad configuration into a message and exit status 2.
 *
 * Config file: one `key = value` per line, keys are the flag names without the dashes
 * ("max-frame = 1048576"), `#` starts a comment, blank lines are ignored. Switches (`--auth`)
 * take no value on the command line (`--auth=off` turns one off) and on|off in the file.
 * Repeatable settings (`access-key`) accumulate from the file and the flags.
 */
#ifndef CR_SERVER_CONFIG_H
#define CR_SERVER_CONFIG_H

#include "common/log.h"
#include "server/errmsg.h"
#include "storage/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CR_VERSION "0.1.0"

/* Defaults and bounds of every limit; each has a flag of the same name. */
#define CR_DEFAULT_DATA_DIR "./cirrus-data"
#define CR_DEFAULT_HOST "127.0.0.1"
#define CR_DEFAULT_PORT 7070
#define CR_DEFAULT_MAX_FRAME (16u << 20)     /* --max-frame: CR_EFRAMETOOBIG beyond */
#define CR_MIN_MAX_FRAME 1024u               /* room for any Response with an error */
#define CR_MAX_MAX_FRAME (1u << 30)          /* a frame length is a u32; keep it sane */
#define CR_DEFAULT_MAX_CONNECTIONS 1024      /* --max-connections: refused beyond */
#define CR_DEFAULT_MAX_QUEUE 10000           /* --max-queue: CR_EOVERLOAD beyond */
#define CR_DEFAULT_MAX_INFLIGHT 1024         /* --max-inflight: per connection; reading pauses */
#define CR_MAX_THREADS 256                   /* --threads upper bound */
#define CR_MIN_MAP_SIZE (1ull << 20)         /* --map-size bounds; default CR_DEFAULT_MAP_SIZE */
#define CR_MAX_MAP_SIZE (1ull << 44)         /* storage beyond it: CR_EFULL */
#define CR_DEFAULT_HTTP_PORT 8000            /* --http: the DynamoDB Local port */
#define CR_DEFAULT_HTTP_MAX_BODY (16u << 20) /* --http-max-body: DynamoDB's largest request */
#define CR_MIN_HTTP_MAX_BODY 1024u
#define CR_MAX_HTTP_MAX_BODY (1u << 30)
#define CR_DEFAULT_TTL_INTERVAL_MS 1000u /* --ttl-interval: expiry sweep period; 0: off */
#define CR_MAX_TTL_INTERVAL_MS 86400000u /* a day */
#define CR_CONFIG_PATH_MAX 4096
#define CR_CONFIG_HOST_MAX 256
#define CR_CONFIG_MAX_ACCESS_KEYS 16 /* --access-key, repeated; more go in --credentials */
#define CR_CONFIG_KEY_MAX 128        /* longest access key id, longest secret */
#define CR_CONFIG_MAX_PEERS 16       /* --peers entries (RAFT_MAX_VOTERS) */
#define CR_CONFIG_CLUSTER_MAX 64     /* --cluster-id bytes */
#define CR_DEFAULT_CLUSTER_ID "cirrus"

struct config {
    char data_dir[CR_CONFIG_PATH_MAX];
    char host[CR_CONFIG_HOST_MAX]; /* --listen HOST:PORT, split; IPv6 without brackets */
    uint16_t port;                 /* 0: ephemeral, the bound port is reported */
    bool sync;                     /* --sync full (true) | none */
    unsigned threads;              /* network loops; --threads, default: online cores */
    size_t max_frame;
    unsigned max_connections;
    size_t max_queue;
    unsigned max_inflight;
    size_t map_size;          /* LMDB map size: the data's upper bound (CR_EFULL beyond) */
    unsigned ttl_interval_ms; /* time-to-live sweep period (ttl.c); 0: no expiry */
    enum cr_log_level log_level;
    char port_file[CR_CONFIG_PATH_MAX]; /* empty: none */
    bool http;                          /* --http off disables the HTTP listener */
    bool http_set;                      /* --http given; unset with an ephemeral --listen port
                                           means an ephemeral HTTP port too, so servers started
                                           side by side (tests) never fight over 8000 */
    char http_host[CR_CONFIG_HOST_MAX]; /* --http HOST:PORT, split like --listen */
    uint16_t http_port;                 /* 0: ephemeral */
    unsigned http_threads;              /* HTTP event loops; 0 (the default): as many as threads */
    size_t http_max_body;               /* 413 beyond */
    char http_port_file[CR_CONFIG_PATH_MAX];
    bool auth;                            /* --auth: verify SigV4 on HTTP; off accepts anyone */
    char credentials[CR_CONFIG_PATH_MAX]; /* --credentials FILE; empty: none */
    struct config_access_key {            /* --access-key ID:SECRET, each adds one */
        char id[CR_CONFIG_KEY_MAX + 1];
        char secret[CR_CONFIG_KEY_MAX + 1];
    } access_keys[CR_CONFIG_MAX_ACCESS_KEYS];
    unsigned n_access_keys;
    /* Raft (issue 6): no --peers, no cluster (a cluster of one on the single-node writer) */
    uint64_t node_id;    /* --node-id N, required with --peers */
    struct config_peer { /* --peers ID=HOST:PORT,... (peer transport) */
        uint64_t id;
        char host[CR_CONFIG_HOST_MAX];
        uint16_t port;
    } peers[CR_CONFIG_MAX_PEERS];
    unsigned n_peers;
    char cluster_id[CR_CONFIG_CLUSTER_MAX + 1]; /* --cluster-id NAME */
    bool join; /* --join: an empty log that waits to be added, not a bootstrap from --peers */
    uint64_t snapshot_entries; /* --snapshot-entries N; 0: NODE_DEFAULT_COMPACT */
};

enum config_action { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION };

/* Fills *out with the defaults. */
void config_defaults(struct config *out);

/*
 * Parses argv (argv[0] is the program) over the defaults, reading the --config file first
 * when one is named. Returns 0 and sets *action, or CR_EINVAL with the reason in e
 * ("--threads: 'x' is not a number in 1..256", "cirrus.conf:3: unknown key 'foo'", "--auth
 * needs --credentials FILE or --access-key ID:SECRET").
 */
int config_parse(int argc, char **argv, struct config *out, enum config_action *action,
                 struct errmsg *e);

/* Applies one `key = value` setting (flag name without dashes). Used for the file and flags. */
int config_set(struct config *c, const char *key, const char *value, struct errmsg *e);

/* Reads a config file into c. CR_EIO when it cannot be read, CR_EINVAL on a bad line. */
int config_load_file(struct config *c, const char *path, struct errmsg *e);

void config_usage(FILE *f);

#endif
