/*
 * Flags and the config file. Pure parsing into struct config: no I/O other than reading the
 * named config file, no logging, no exit() (main.c decides what a bad flag costs).
 */
#include "server/config.h"

#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 8192

/* Every setting, as `--name VALUE` on the command line and `name = value` in the file. */
#define CONFIG_KEYS(X)                                                                             \
    X("data", "DIR", "data directory (default " CR_DEFAULT_DATA_DIR ")")                           \
    X("listen", "HOST:PORT", "native protocol address (default 127.0.0.1:7070; port 0: any)")      \
    X("sync", "full|none", "fsync every commit (default full; none is for benchmarks)")            \
    X("threads", "N", "network threads (default: number of cores)")                                \
    X("max-frame", "BYTES", "largest request frame, suffix k/m/g allowed (default 16m)")           \
    X("max-connections", "N", "open connections before refusing (default 1024)")                   \
    X("max-queue", "N", "pending write proposals before CR_EOVERLOAD (default 10000)")             \
    X("max-inflight", "N", "requests in flight per connection before reading pauses (1024)")       \
    X("map-size", "BYTES", "largest size the data may grow to, suffix k/m/g (default 64g)")        \
    X("ttl-interval", "MS", "time-to-live sweep period in ms (default 1000; 0 disables expiry)")   \
    X("log-level", "LEVEL", "debug|info|warn|error (default info)")                                \
    X("port-file", "PATH", "write the bound native port to PATH once listening")                   \
    X("http", "HOST:PORT",                                                                         \
      "HTTP (DynamoDB) address (default 127.0.0.1:8000, port 0 when --listen's is 0; 'off' "       \
      "disables)")                                                                                 \
    X("http-threads", "N", "HTTP event loops (default: --threads)")                                \
    X("http-max-body", "BYTES", "largest HTTP request body, suffix k/m/g (default 16m)")           \
    X("http-port-file", "PATH", "write the bound HTTP port to PATH once listening")                \
    X("auth", "", "verify AWS SigV4 signatures on HTTP (default: any credentials accepted)")       \
    X("credentials", "FILE", "keys for --auth: 'ACCESS_KEY_ID SECRET_ACCESS_KEY' per line")        \
    X("access-key", "ID:SECRET", "a key for --auth; repeatable (visible in ps: prefer a file)")    \
    X("node-id", "N", "this node's Raft id, one of --peers (required with --peers)")               \
    X("peers", "LIST",                                                                             \
      "every voter as ID=HOST:PORT,... (Raft peer addresses, this node's own listener "            \
      "included); none: a single node")                                                            \
    X("cluster-id", "NAME", "the cluster's name; peers of another are refused (default cirrus)")   \
    X("join", "",                                                                                  \
      "first start of a node added to a running cluster: wait for the leader to add it")           \
    X("snapshot-entries", "N", "compact the Raft log past this many applied entries (10000)")

void config_defaults(struct config *out)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    memset(out, 0, sizeof *out);
    snprintf(out->data_dir, sizeof out->data_dir, "%s", CR_DEFAULT_DATA_DIR);
    snprintf(out->host, sizeof out->host, "%s", CR_DEFAULT_HOST);
    out->port = CR_DEFAULT_PORT;
    out->sync = true;
    out->threads = cores < 1 ? 1 : cores > CR_MAX_THREADS ? CR_MAX_THREADS : (unsigned)cores;
    out->max_frame = CR_DEFAULT_MAX_FRAME;
    out->max_connections = CR_DEFAULT_MAX_CONNECTIONS;
    out->max_queue = CR_DEFAULT_MAX_QUEUE;
    out->max_inflight = CR_DEFAULT_MAX_INFLIGHT;
    out->map_size = CR_DEFAULT_MAP_SIZE;
    out->ttl_interval_ms = CR_DEFAULT_TTL_INTERVAL_MS;
    out->log_level = CR_LOG_INFO;
    out->http = true;
    snprintf(out->http_host, sizeof out->http_host, "%s", CR_DEFAULT_HOST);
    out->http_port = CR_DEFAULT_HTTP_PORT;
    out->http_max_body = CR_DEFAULT_HTTP_MAX_BODY;
    snprintf(out->cluster_id, sizeof out->cluster_id, "%s", CR_DEFAULT_CLUSTER_ID);
}

/* Unsigned decimal with an optional binary k/m/g suffix when `suffix`, within [lo, hi]. */
static int parse_uint(const char *key, const char *s, bool suffix, uint64_t lo, uint64_t hi,
                      uint64_t *out, struct errmsg *e)
{
    uint64_t v = 0, mult = 1;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (UINT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (suffix && *p) {
        switch (tolower((unsigned char)*p)) {
        case 'k':
            mult = 1ull << 10;
            break;
        case 'm':
            mult = 1ull << 20;
            break;
        case 'g':
            mult = 1ull << 30;
            break;
        default:
            goto bad;
        }
        p++;
        if (tolower((unsigned char)*p) == 'i' && tolower((unsigned char)p[1]) == 'b')
            p += 2;
        else if (tolower((unsigned char)*p) == 'b')
            p++;
    }
    if (*p || v > UINT64_MAX / mult)
        goto bad;
    v *= mult;
    if (v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    return errmsg_set(e, CR_EINVAL, "--%s: '%s' is not a number in %llu..%llu", key, s,
                      (unsigned long long)lo, (unsigned long long)hi);
}

/* HOST:PORT (IPv6 hosts may be bracketed) into host (CR_CONFIG_HOST_MAX bytes) and *port. */
static int parse_address(const char *key, const char *s, char *host_out, uint16_t *port_out,
                         struct errmsg *e)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t host_len;
    uint64_t port;

    if (!colon)
        return errmsg_set(e, CR_EINVAL, "--%s: '%s' is not HOST:PORT", key, s);
    host_len = (size_t)(colon - s);
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= CR_CONFIG_HOST_MAX)
        return errmsg_set(e, CR_EINVAL, "--%s: '%s' has no valid host", key, s);
    if (parse_uint(key, colon + 1, false, 0, 65535, &port, NULL) < 0)
        return errmsg_set(e, CR_EINVAL, "--%s: '%s' has no port in 0..65535", key, s);
    memcpy(host_out, host, host_len);
    host_out[host_len] = 0;
    *port_out = (uint16_t)port;
    return 0;
}

static int set_path(char *dst, size_t cap, const char *key, const char *value, struct errmsg *e)
{
    size_t n = strlen(value);

    if (n == 0 || n >= cap)
        return errmsg_set(e, CR_EINVAL, "--%s: path must be 1..%zu bytes", key, cap - 1);
    memcpy(dst, value, n + 1);
    return 0;
}

/* "ID:SECRET", split at the first ':' (ids have none; a secret may). The secret is never
 * repeated in a message. */
static int add_access_key(struct config *c, const char *value, struct errmsg *e)
{
    const char *colon = strchr(value, ':');
    struct config_access_key *k = &c->access_keys[c->n_access_keys];
    size_t id_len = colon ? (size_t)(colon - value) : 0;

    if (c->n_access_keys == CR_CONFIG_MAX_ACCESS_KEYS)
        return errmsg_set(e, CR_EINVAL, "--access-key: more than %d keys (use --credentials)",
                          CR_CONFIG_MAX_ACCESS_KEYS);
    if (id_len == 0 || id_len > CR_CONFIG_KEY_MAX || !colon[1] ||
        strlen(colon + 1) > CR_CONFIG_KEY_MAX)
        return errmsg_set(e, CR_EINVAL, "--access-key: expected ID:SECRET, each 1..%d bytes",
                          CR_CONFIG_KEY_MAX);
    memcpy(k->id, value, id_len);
    k->id[id_len] = 0;
    snprintf(k->secret, sizeof k->secret, "%s", colon + 1);
    c->n_access_keys++;
    return 0;
}

/* "1=127.0.0.1:7171,2=127.0.0.1:7172": ids 1..2^63, each once, at most CR_CONFIG_MAX_PEERS. */
static int parse_peers(struct config *c, const char *value, struct errmsg *e)
{
    char item[CR_CONFIG_HOST_MAX + 32];
    const char *p = value;

    c->n_peers = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        struct config_peer *peer = &c->peers[c->n_peers];
        char *eq;
        uint64_t id;

        if (c->n_peers == CR_CONFIG_MAX_PEERS)
            return errmsg_set(e, CR_EINVAL, "--peers: more than %d peers", CR_CONFIG_MAX_PEERS);
        if (len == 0 || len >= sizeof item)
            return errmsg_set(e, CR_EINVAL, "--peers: expected ID=HOST:PORT,... in '%s'", value);
        memcpy(item, p, len);
        item[len] = 0;
        eq = strchr(item, '=');
        if (!eq)
            return errmsg_set(e, CR_EINVAL, "--peers: '%s' is not ID=HOST:PORT", item);
        *eq = 0;
        if (parse_uint("peers", item, false, 1, INT64_MAX, &id, e) < 0)
            return CR_EINVAL;
        if (parse_address("peers", eq + 1, peer->host, &peer->port, e) < 0)
            return CR_EINVAL;
        if (peer->port == 0)
            return errmsg_set(e, CR_EINVAL, "--peers: node %llu needs a port",
                              (unsigned long long)id);
        for (unsigned i = 0; i < c->n_peers; i++)
            if (c->peers[i].id == id)
                return errmsg_set(e, CR_EINVAL, "--peers: node %llu appears twice",
                                  (unsigned long long)id);
        peer->id = id;
        c->n_peers++;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int config_set(struct config *c, const char *key, const char *value, struct errmsg *e)
{
    uint64_t v;
    int rc;

    if (strcmp(key, "data") == 0)
        return set_path(c->data_dir, sizeof c->data_dir, key, value, e);
    if (strcmp(key, "port-file") == 0)
        return set_path(c->port_file, sizeof c->port_file, key, value, e);
    if (strcmp(key, "listen") == 0)
        return parse_address(key, value, c->host, &c->port, e);
    if (strcmp(key, "http-port-file") == 0)
        return set_path(c->http_port_file, sizeof c->http_port_file, key, value, e);
    if (strcmp(key, "http") == 0) {
        c->http_set = true;
        c->http = strcmp(value, "off") != 0 && value[0] != 0;
        return c->http ? parse_address(key, value, c->http_host, &c->http_port, e) : 0;
    }
    if (strcmp(key, "http-max-body") == 0) {
        rc = parse_uint(key, value, true, CR_MIN_HTTP_MAX_BODY, CR_MAX_HTTP_MAX_BODY, &v, e);
        if (rc == 0)
            c->http_max_body = (size_t)v;
        return rc;
    }
    if (strcmp(key, "credentials") == 0)
        return set_path(c->credentials, sizeof c->credentials, key, value, e);
    if (strcmp(key, "access-key") == 0)
        return add_access_key(c, value, e);
    if (strcmp(key, "auth") == 0 || strcmp(key, "join") == 0) {
        bool *flag = key[0] == 'a' ? &c->auth : &c->join;

        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return errmsg_set(e, CR_EINVAL, "--%s: '%s' is not on or off", key, value);
        *flag = strcmp(value, "on") == 0;
        return 0;
    }
    if (strcmp(key, "sync") == 0) {
        if (strcmp(value, "full") == 0)
            c->sync = true;
        else if (strcmp(value, "none") == 0)
            c->sync = false;
        else
            return errmsg_set(e, CR_EINVAL, "--sync: '%s' is not full or none", value);
        return 0;
    }
    if (strcmp(key, "log-level") == 0) {
        static const char *names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++) {
            if (strcmp(value, names[i]) == 0) {
                c->log_level = (enum cr_log_level)i;
                return 0;
            }
        }
        return errmsg_set(e, CR_EINVAL, "--log-level: '%s' is not debug, info, warn or error",
                          value);
    }
    if (strcmp(key, "threads") == 0) {
        rc = parse_uint(key, value, false, 1, CR_MAX_THREADS, &v, e);
        if (rc == 0)
            c->threads = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "http-threads") == 0) {
        rc = parse_uint(key, value, false, 1, CR_MAX_THREADS, &v, e);
        if (rc == 0)
            c->http_threads = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "max-frame") == 0) {
        rc = parse_uint(key, value, true, CR_MIN_MAX_FRAME, CR_MAX_MAX_FRAME, &v, e);
        if (rc == 0)
            c->max_frame = (size_t)v;
        return rc;
    }
    if (strcmp(key, "max-connections") == 0) {
        rc = parse_uint(key, value, false, 1, 1000000, &v, e);
        if (rc == 0)
            c->max_connections = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "max-queue") == 0) {
        rc = parse_uint(key, value, false, 1, 10000000, &v, e);
        if (rc == 0)
            c->max_queue = (size_t)v;
        return rc;
    }
    if (strcmp(key, "map-size") == 0) {
        rc = parse_uint(key, value, true, CR_MIN_MAP_SIZE, CR_MAX_MAP_SIZE, &v, e);
        if (rc == 0)
            c->map_size = (size_t)v;
        return rc;
    }
    if (strcmp(key, "ttl-interval") == 0) {
        rc = parse_uint(key, value, false, 0, CR_MAX_TTL_INTERVAL_MS, &v, e);
        if (rc == 0)
            c->ttl_interval_ms = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "node-id") == 0)
        return parse_uint(key, value, false, 1, INT64_MAX, &c->node_id, e);
    if (strcmp(key, "snapshot-entries") == 0)
        return parse_uint(key, value, false, 1, INT64_MAX, &c->snapshot_entries, e);
    if (strcmp(key, "peers") == 0)
        return parse_peers(c, value, e);
    if (strcmp(key, "cluster-id") == 0) {
        size_t n = strlen(value);

        if (n == 0 || n > CR_CONFIG_CLUSTER_MAX)
            return errmsg_set(e, CR_EINVAL, "--cluster-id: a name of 1..%d bytes",
                              CR_CONFIG_CLUSTER_MAX);
        memcpy(c->cluster_id, value, n + 1);
        return 0;
    }
    if (strcmp(key, "max-inflight") == 0) {
        rc = parse_uint(key, value, false, 1, 65536, &v, e);
        if (rc == 0)
            c->max_inflight = (unsigned)v;
        return rc;
    }
    return errmsg_set(e, CR_EINVAL, "unknown setting '%s'", key);
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = 0;
    return s;
}

int config_load_file(struct config *c, const char *path, struct errmsg *e)
{
    char line[LINE_MAX_LEN];
    FILE *f = fopen(path, "r");
    int lineno = 0, rc = 0;

    if (!f)
        return errmsg_set(e, CR_EIO, "--config: cannot read '%s': %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char *hash, *eq, *key, *value;
        struct errmsg sub;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = errmsg_set(e, CR_EINVAL, "%s:%d: line longer than %d bytes", path, lineno,
                            LINE_MAX_LEN - 2);
            break;
        }
        hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        key = trim(line);
        if (!*key)
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            rc = errmsg_set(e, CR_EINVAL, "%s:%d: expected 'key = value'", path, lineno);
            break;
        }
        *eq = 0;
        value = trim(eq + 1);
        key = trim(key);
        if (strcmp(key, "config") == 0) {
            rc = errmsg_set(e, CR_EINVAL, "%s:%d: 'config' cannot be set in a config file", path,
                            lineno);
            break;
        }
        rc = config_set(c, key, value, &sub);
        if (rc < 0) {
            errmsg_set(e, rc, "%s:%d: %s", path, lineno, sub.text);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = errmsg_set(e, CR_EIO, "--config: error reading '%s'", path);
    fclose(f);
    return rc;
}

static bool is_key(const char *name)
{
#define CONFIG_IS_KEY(k, arg, help)                                                                \
    if (strcmp(name, k) == 0)                                                                      \
        return true;
    CONFIG_KEYS(CONFIG_IS_KEY)
#undef CONFIG_IS_KEY
    return false;
}

/* A switch: a key documented without an argument, given as `--name` alone. */
static bool is_switch(const char *name)
{
#define CONFIG_IS_SWITCH(k, arg, help)                                                             \
    if (strcmp(name, k) == 0)                                                                      \
        return !arg[0];
    CONFIG_KEYS(CONFIG_IS_SWITCH)
#undef CONFIG_IS_SWITCH
    return false;
}

/*
 * Splits argv[*i] ("--name=value" or "--name value") into name and value. The name is copied
 * to `name` (cap bytes); *value points into argv. Advances *i past a separate value.
 */
static int next_flag(int argc, char **argv, int *i, char *name, size_t cap, const char **value,
                     struct errmsg *e)
{
    const char *arg = argv[*i], *eq;
    size_t n;

    if (strncmp(arg, "--", 2) != 0 || !arg[2])
        return errmsg_set(e, CR_EINVAL, "unexpected argument '%s' (see --help)", arg);
    arg += 2;
    eq = strchr(arg, '=');
    n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= cap)
        return errmsg_set(e, CR_EINVAL, "unknown flag '%s' (see --help)", argv[*i]);
    memcpy(name, arg, n);
    name[n] = 0;
    if (strcmp(name, "help") == 0 || strcmp(name, "version") == 0) {
        *value = NULL;
        return eq ? errmsg_set(e, CR_EINVAL, "--%s takes no value", name) : 0;
    }
    if (strcmp(name, "config") != 0 && !is_key(name))
        return errmsg_set(e, CR_EINVAL, "unknown flag '--%s' (see --help)", name);
    if (eq) {
        *value = eq + 1;
    } else if (is_switch(name)) {
        *value = "on";
    } else {
        if (*i + 1 >= argc)
            return errmsg_set(e, CR_EINVAL, "--%s needs a value", name);
        *value = argv[++*i];
    }
    return 0;
}

int config_parse(int argc, char **argv, struct config *out, enum config_action *action,
                 struct errmsg *e)
{
    char name[64];
    const char *value;
    int i, rc;

    config_defaults(out);
    *action = CONFIG_RUN;
    /* First pass: --help, --version, syntax, and the config file, which flags override. */
    for (i = 1; i < argc; i++) {
        rc = next_flag(argc, argv, &i, name, sizeof name, &value, e);
        if (rc < 0)
            return rc;
        if (strcmp(name, "help") == 0) {
            *action = CONFIG_HELP;
            return 0;
        }
        if (strcmp(name, "version") == 0) {
            *action = CONFIG_VERSION;
            return 0;
        }
    }
    for (i = 1; i < argc; i++) {
        rc = next_flag(argc, argv, &i, name, sizeof name, &value, e);
        if (rc == 0 && strcmp(name, "config") == 0)
            rc = config_load_file(out, value, e);
        if (rc < 0)
            return rc;
    }
    for (i = 1; i < argc; i++) {
        rc = next_flag(argc, argv, &i, name, sizeof name, &value, e);
        if (rc == 0 && strcmp(name, "config") != 0)
            rc = config_set(out, name, value, e);
        if (rc < 0)
            return rc;
    }
    if (!out->http_set && out->port == 0)
        out->http_port = 0;
    if (out->n_peers) {
        bool found = false;

        for (unsigned k = 0; k < out->n_peers; k++)
            found |= out->peers[k].id == out->node_id;
        if (!out->node_id)
            return errmsg_set(e, CR_EINVAL, "--peers needs --node-id N, one of its ids");
        if (!found)
            return errmsg_set(e, CR_EINVAL, "--node-id %llu is not among --peers",
                              (unsigned long long)out->node_id);
    }
    if (out->join && !out->n_peers)
        return errmsg_set(e, CR_EINVAL, "--join needs --peers (the nodes to hear from)");
    if (out->auth && !out->credentials[0] && out->n_access_keys == 0)
        return errmsg_set(e, CR_EINVAL,
                          "--auth needs --credentials FILE or --access-key ID:SECRET");
    return 0;
}

void config_usage(FILE *f)
{
    fprintf(f, "usage: cirrusd [--config FILE] [--FLAG VALUE ...]\n\n"
               "Cirrus database server " CR_VERSION ". Flags (also 'name = value' in FILE):\n");
#define CONFIG_USAGE(k, arg, help) fprintf(f, "  --%-16s %-10s %s\n", k, arg, help);
    CONFIG_KEYS(CONFIG_USAGE)
#undef CONFIG_USAGE
    fprintf(f, "  --%-16s %-10s %s\n", "config", "FILE", "read settings from FILE first");
    fprintf(f, "  --%-16s %-10s %s\n", "help", "", "print this text");
    fprintf(f, "  --%-16s %-10s %s\n", "version", "", "print the version");
}
