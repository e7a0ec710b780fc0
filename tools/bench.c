/*
 * cirrus-bench: a load generator over libcirrus's pipelined interface. N threads, one
 * connection each, P requests in flight per connection, a get:put mix over K keys; reports
 * throughput and send->receive latency percentiles from a log-linear histogram. Gets are sent
 * at one consistency level (--consistency; SESSION carries the last applied index the
 * connection saw). It stops by itself (a request count and a time limit); it measures, it never
 * checks data.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cirrus.h"

#define SUB_BITS 5
#define SUB (1u << SUB_BITS)
#define BUCKETS (64u * SUB)
/* Send times of in-flight requests, indexed by id: far more slots than requests in flight. */
#define RING 65536u
#define MAX_PIPELINE 4096
#define KEY_LEN 16

struct config {
    char host[256];
    int port;
    int connections;
    int pipeline;
    uint64_t requests; /* 0: no count limit */
    double duration_s; /* the time limit */
    unsigned get_weight;
    unsigned put_weight;
    uint64_t keys;
    size_t value_size;
    const char *table;
    int load;
    int json;
    int timeout_ms;
    struct cirrus_read_opts read; /* of every get */
};

struct hist {
    uint64_t counts[BUCKETS];
    uint64_t total;
    uint64_t max;
};

struct worker {
    const struct config *cfg;
    pthread_t thread;
    pthread_barrier_t *start;
    const int64_t *deadline_ns;
    int index;
    uint64_t quota;
    struct cirrus *c;
    uint64_t gets, puts, not_found, errors;
    int fatal; /* 0, or the CR_E* code that stopped this worker */
    char errmsg[256];
    struct hist hist;
    uint64_t rng;
    struct {
        uint64_t id;
        int64_t sent_ns;
    } ring[RING];
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static unsigned bucket_of(uint64_t v)
{
    unsigned msb, e;

    if (v < 2 * SUB)
        return (unsigned)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    e = msb - SUB_BITS;
    return (e + 1) * SUB + (unsigned)(v >> e) - SUB;
}

/* The upper edge of a bucket: percentiles are reported pessimistically, within ~3%. */
static uint64_t bucket_top(unsigned b)
{
    unsigned e;

    if (b < 2 * SUB)
        return b;
    e = b / SUB - 1;
    return (((uint64_t)(b % SUB + SUB) + 1) << e) - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
    unsigned b = bucket_of(v);

    h->counts[b < BUCKETS ? b : BUCKETS - 1]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(struct hist *into, const struct hist *from)
{
    unsigned i;

    for (i = 0; i < BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    if (from->max > into->max)
        into->max = from->max;
}

static uint64_t hist_pct(const struct hist *h, double p)
{
    uint64_t want = (uint64_t)(p * (double)h->total + 0.999999), seen = 0;
    unsigned i;

    if (h->total == 0)
        return 0;
    for (i = 0; i < BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want)
            return bucket_top(i) < h->max ? bucket_top(i) : h->max;
    }
    return h->max;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/*
 * Request values built on the stack, pointing at caller buffers: the library borrows them
 * while encoding, so nothing is allocated per request and nothing is freed.
 */
struct request_values {
    char key[32]; /* KEY_LEN bytes used: keys stay below 10^13 */
    struct cirrus_field key_field;
    struct cirrus_field item_fields[2];
    struct cirrus_value key_map;
    struct cirrus_value item;
};

static void values_init(struct request_values *rv, char *payload, size_t payload_len)
{
    static char k[] = "k", v[] = "v";

    memset(rv, 0, sizeof(*rv));
    rv->key_field.name = k;
    rv->key_field.value.type = CIRRUS_STRING;
    rv->key_field.value.u.str.ptr = rv->key;
    rv->key_field.value.u.str.len = KEY_LEN;
    rv->key_map.type = CIRRUS_MAP;
    rv->key_map.u.map.fields = &rv->key_field;
    rv->key_map.u.map.len = 1;
    rv->item_fields[0] = rv->key_field;
    rv->item_fields[1].name = v;
    rv->item_fields[1].value.type = CIRRUS_BYTES;
    rv->item_fields[1].value.u.str.ptr = payload;
    rv->item_fields[1].value.u.str.len = payload_len;
    rv->item.type = CIRRUS_MAP;
    rv->item.u.map.fields = rv->item_fields;
    rv->item.u.map.len = 2;
}

static void values_key(struct request_values *rv, uint64_t k)
{
    snprintf(rv->key, sizeof(rv->key), "key%013" PRIu64, k);
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    const struct config *cfg = w->cfg;
    struct request_values rv;
    struct cirrus_read_opts ro = cfg->read;
    char *payload = malloc(cfg->value_size + 1);
    uint64_t sent = 0, inflight = 0, id, slot;
    unsigned weight = cfg->get_weight + cfg->put_weight;
    int stopping = 0, code, rc = 0, is_get;
    int64_t t;

    pthread_barrier_wait(w->start);
    if (payload == NULL || w->c == NULL) {
        w->fatal = CR_ENOMEM;
        free(payload);
        return NULL;
    }
    memset(payload, 'x', cfg->value_size);
    values_init(&rv, payload, cfg->value_size);
    for (;;) {
        while (!stopping && inflight < (uint64_t)cfg->pipeline &&
               (w->quota == 0 || sent < w->quota)) {
            values_key(&rv, next_rand(&w->rng) % cfg->keys);
            is_get = next_rand(&w->rng) % weight < cfg->get_weight;
            t = now_ns();
            ro.session_token = cirrus_last_applied_index(w->c);
            if (is_get)
                rc = cirrus_send_get(w->c, cfg->table, &rv.key_map, &ro, &id);
            else
                rc = cirrus_send_put(w->c, cfg->table, &rv.item, &id);
            if (rc != 0)
                goto fatal;
            w->ring[id % RING].id = id;
            w->ring[id % RING].sent_ns = t;
            if (is_get)
                w->gets++;
            else
                w->puts++;
            sent++;
            inflight++;
        }
        if (inflight == 0)
            break;
        if ((rc = cirrus_recv(w->c, &id, &code)) != 0)
            goto fatal;
        t = now_ns();
        slot = id % RING;
        if (w->ring[slot].id == id)
            hist_add(&w->hist, (uint64_t)(t - w->ring[slot].sent_ns));
        inflight--;
        if (code == CR_ENOTFOUND)
            w->not_found++;
        else if (code != 0 && w->errors++ == 0)
            snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s", cr_errname(code), cirrus_errmsg(w->c));
        if (t >= *w->deadline_ns)
            stopping = 1;
        if (w->quota != 0 && sent >= w->quota)
            stopping = 1;
    }
    free(payload);
    return NULL;
fatal:
    w->fatal = rc;
    snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s", cr_errname(rc), cirrus_errmsg(w->c));
    free(payload);
    return NULL;
}

/* Creates the table if it is missing. 0 or a CR_E* code (reported). */
static int ensure_table(struct cirrus *c, const struct config *cfg)
{
    struct cirrus_result r;
    int rc = cirrus_describe_table(c, cfg->table, NULL, &r);

    cirrus_result_free(&r);
    if (rc == CR_ENOTABLE) {
        rc = cirrus_create_table(c, cfg->table, "k", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r);
        cirrus_result_free(&r);
        if (rc == CR_ETABLEEXISTS)
            rc = 0;
    }
    if (rc != 0)
        fprintf(stderr, "cirrus-bench: table '%s': %s: %s\n", cfg->table, cr_errname(rc),
                cirrus_errmsg(c));
    return rc;
}

static const struct {
    const char *name;
    enum cirrus_consistency level;
} LEVELS[] = {
    {"strong", CIRRUS_STRONG},     {"bounded", CIRRUS_BOUNDED_STALENESS},
    {"session", CIRRUS_SESSION},   {"prefix", CIRRUS_CONSISTENT_PREFIX},
    {"eventual", CIRRUS_EVENTUAL},
};

static const char *level_name(enum cirrus_consistency level)
{
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++)
        if (LEVELS[i].level == level)
            return LEVELS[i].name;
    return "strong";
}

/* Puts every key once, pipelined on one connection. */
static int preload(struct cirrus *c, const struct config *cfg)
{
    struct request_values rv;
    char *payload = malloc(cfg->value_size + 1);
    uint64_t next = 0, inflight = 0, id;
    int rc = 0, code;

    if (payload == NULL)
        return CR_ENOMEM;
    memset(payload, 'x', cfg->value_size);
    values_init(&rv, payload, cfg->value_size);
    while (rc == 0 && (next < cfg->keys || inflight > 0)) {
        while (rc == 0 && next < cfg->keys && inflight < (uint64_t)cfg->pipeline * 4) {
            values_key(&rv, next++);
            if ((rc = cirrus_send_put(c, cfg->table, &rv.item, &id)) == 0)
                inflight++;
        }
        if (rc == 0 && (rc = cirrus_recv(c, &id, &code)) == 0) {
            inflight--;
            rc = code;
        }
    }
    if (rc != 0)
        fprintf(stderr, "cirrus-bench: preload: %s: %s\n", cr_errname(rc), cirrus_errmsg(c));
    free(payload);
    return rc;
}

static const char HELP[] =
    "usage: cirrus-bench [options]\n"
    "  --host HOST:PORT     server (default 127.0.0.1:7070)\n"
    "  --connections N      threads, one connection each (default 4)\n"
    "  --pipeline P         requests in flight per connection (default 16, max 4096)\n"
    "  --requests R         total requests (default 100000 unless --duration is given)\n"
    "  --duration S         time limit in seconds (default 60; the run stops at either)\n"
    "  --mix G:P            get:put ratio (default 90:10)\n"
    "  --consistency L      of the gets: strong (the default), bounded, session, prefix,\n"
    "                       eventual\n"
    "  --max-lag N:MS       bounded: at most N entries and MS ms behind (default 100:1000)\n"
    "  --keys K             key space (default 10000)\n"
    "  --value-size B       bytes per value (default 100)\n"
    "  --table NAME         table, created (pk k:S) if missing (default bench)\n"
    "  --no-load            don't preload the K keys first\n"
    "  --timeout MS         per-request timeout (default 10000)\n"
    "  --json               print the result as one JSON object\n";

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "cirrus-bench: bad %s '%s' (try --help)\n", what, arg);
    return 2;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_config(int argc, char **argv, struct config *cfg)
{
    uint64_t v;
    const char *colon;
    char *end;
    int i, requests_set = 0, duration_set = 0;

    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 7070;
    cfg->connections = 4;
    cfg->pipeline = 16;
    cfg->requests = 100000;
    cfg->duration_s = 60;
    cfg->get_weight = 90;
    cfg->put_weight = 10;
    cfg->keys = 10000;
    cfg->value_size = 100;
    cfg->table = "bench";
    cfg->load = 1;
    cfg->timeout_ms = 10000;
    cfg->read.consistency = CIRRUS_STRONG;
    cfg->read.max_lag_entries = 100;
    cfg->read.max_lag_ms = 1000;
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(HELP, stdout);
            return 1;
        } else if (strcmp(opt, "--no-load") == 0) {
            cfg->load = 0;
            continue;
        } else if (strcmp(opt, "--json") == 0) {
            cfg->json = 1;
            continue;
        }
        if (arg == NULL)
            return bad("option (missing value)", opt);
        i++;
        if (strcmp(opt, "--host") == 0) {
            colon = strrchr(arg, ':');
            if (colon == NULL || (size_t)(colon - arg) >= sizeof(cfg->host) ||
                parse_u64(colon + 1, 1, 65535, &v) != 0)
                return bad("--host", arg);
            memcpy(cfg->host, arg, (size_t)(colon - arg));
            cfg->host[colon - arg] = '\0';
            cfg->port = (int)v;
        } else if (strcmp(opt, "--connections") == 0) {
            if (parse_u64(arg, 1, 1024, &v) != 0)
                return bad(opt, arg);
            cfg->connections = (int)v;
        } else if (strcmp(opt, "--pipeline") == 0) {
            if (parse_u64(arg, 1, MAX_PIPELINE, &v) != 0)
                return bad(opt, arg);
            cfg->pipeline = (int)v;
        } else if (strcmp(opt, "--requests") == 0) {
            if (parse_u64(arg, 1, UINT64_MAX / 2, &cfg->requests) != 0)
                return bad(opt, arg);
            requests_set = 1;
        } else if (strcmp(opt, "--duration") == 0) {
            errno = 0;
            cfg->duration_s = strtod(arg, &end);
            if (errno != 0 || end == arg || *end != '\0' || !(cfg->duration_s > 0) ||
                cfg->duration_s > 86400)
                return bad(opt, arg);
            duration_set = 1;
        } else if (strcmp(opt, "--mix") == 0) {
            unsigned g, p;
            int n = 0;

            if (sscanf(arg, "%u:%u%n", &g, &p, &n) != 2 || arg[n] != '\0' || g + p == 0 ||
                g > 1000000 || p > 1000000)
                return bad(opt, arg);
            cfg->get_weight = g;
            cfg->put_weight = p;
        } else if (strcmp(opt, "--consistency") == 0) {
            size_t k = 0;

            while (k < sizeof LEVELS / sizeof LEVELS[0] && strcmp(arg, LEVELS[k].name) != 0)
                k++;
            if (k == sizeof LEVELS / sizeof LEVELS[0])
                return bad(opt, arg);
            cfg->read.consistency = LEVELS[k].level;
        } else if (strcmp(opt, "--max-lag") == 0) {
            unsigned long long n, ms;
            int len = 0;

            if (sscanf(arg, "%llu:%llu%n", &n, &ms, &len) != 2 || arg[len] != '\0' || arg[0] == '-')
                return bad(opt, arg);
            cfg->read.max_lag_entries = n;
            cfg->read.max_lag_ms = ms;
        } else if (strcmp(opt, "--keys") == 0) {
            if (parse_u64(arg, 1, 9999999999999ULL, &cfg->keys) != 0)
                return bad(opt, arg);
        } else if (strcmp(opt, "--value-size") == 0) {
            if (parse_u64(arg, 0, 16u * 1024 * 1024, &v) != 0)
                return bad(opt, arg);
            cfg->value_size = (size_t)v;
        } else if (strcmp(opt, "--table") == 0) {
            cfg->table = arg;
        } else if (strcmp(opt, "--timeout") == 0) {
            if (parse_u64(arg, 1, 3600000, &v) != 0)
                return bad(opt, arg);
            cfg->timeout_ms = (int)v;
        } else {
            return bad("option", opt);
        }
    }
    if (duration_set && !requests_set)
        cfg->requests = 0;
    return 0;
}

static void report(const struct config *cfg, struct worker *w, double elapsed)
{
    uint64_t gets = 0, puts = 0, not_found = 0, errors = 0, ops;
    struct hist *h = calloc(1, sizeof(*h));
    int i;

    if (h == NULL)
        return;
    for (i = 0; i < cfg->connections; i++) {
        gets += w[i].gets;
        puts += w[i].puts;
        not_found += w[i].not_found;
        errors += w[i].errors;
        hist_merge(h, &w[i].hist);
    }
    ops = h->total;
    if (cfg->json) {
        printf("{\"host\":\"%s:%d\",\"table\":\"%s\",\"connections\":%d,\"pipeline\":%d,"
               "\"consistency\":\"%s\",\"get_weight\":%u,\"put_weight\":%u,\"keys\":%" PRIu64
               ",\"value_size\":%zu,"
               "\"ops\":%" PRIu64 ",\"gets\":%" PRIu64 ",\"puts\":%" PRIu64
               ",\"not_found\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"elapsed_s\":%.3f,"
               "\"ops_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
               "\"max_us\":%.1f}\n",
               cfg->host, cfg->port, cfg->table, cfg->connections, cfg->pipeline,
               level_name(cfg->read.consistency), cfg->get_weight, cfg->put_weight, cfg->keys,
               cfg->value_size, ops, gets, puts, not_found, errors, elapsed, (double)ops / elapsed,
               hist_pct(h, 0.50) / 1e3, hist_pct(h, 0.99) / 1e3, hist_pct(h, 0.999) / 1e3,
               h->max / 1e3);
    } else {
        printf("cirrus-bench  %s:%d table %s\n", cfg->host, cfg->port, cfg->table);
        printf("load          %d connections x %d in flight, get:put %u:%u, %" PRIu64
               " keys, %zu-byte values, %s gets\n",
               cfg->connections, cfg->pipeline, cfg->get_weight, cfg->put_weight, cfg->keys,
               cfg->value_size, level_name(cfg->read.consistency));
        printf("ops           %" PRIu64 " (gets %" PRIu64 ", puts %" PRIu64 ", not found %" PRIu64
               ", errors %" PRIu64 ")\n",
               ops, gets, puts, not_found, errors);
        printf("elapsed       %.3f s\n", elapsed);
        printf("throughput    %.0f ops/s\n", (double)ops / elapsed);
        printf("latency (us)  p50 %.1f  p99 %.1f  p999 %.1f  max %.1f\n", hist_pct(h, 0.50) / 1e3,
               hist_pct(h, 0.99) / 1e3, hist_pct(h, 0.999) / 1e3, h->max / 1e3);
    }
    free(h);
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct worker *w;
    struct cirrus *c;
    pthread_barrier_t start;
    int64_t t0, t1, deadline = 0;
    int i, rc, status = 0;

    if ((rc = parse_config(argc, argv, &cfg)) != 0)
        return rc == 1 ? 0 : rc;
    rc = cirrus_connect(cfg.host, cfg.port, cfg.timeout_ms, &c);
    if (rc != 0) {
        fprintf(stderr, "cirrus-bench: %s: cannot connect to %s:%d\n", cr_errname(rc), cfg.host,
                cfg.port);
        return 1;
    }
    rc = ensure_table(c, &cfg);
    if (rc == 0 && cfg.load)
        rc = preload(c, &cfg);
    cirrus_close(c);
    if (rc != 0)
        return 1;

    w = calloc((size_t)cfg.connections, sizeof(*w));
    if (w == NULL)
        return 1;
    pthread_barrier_init(&start, NULL, (unsigned)cfg.connections + 1);
    for (i = 0; i < cfg.connections; i++) {
        w[i].cfg = &cfg;
        w[i].start = &start;
        w[i].deadline_ns = &deadline;
        w[i].index = i;
        w[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        if (cfg.requests > 0)
            w[i].quota = cfg.requests / (uint64_t)cfg.connections +
                         ((uint64_t)i < cfg.requests % (uint64_t)cfg.connections);
        if (cfg.requests > 0 && w[i].quota == 0)
            w[i].quota = 1;
        rc = cirrus_connect(cfg.host, cfg.port, cfg.timeout_ms, &w[i].c);
        if (rc != 0)
            fprintf(stderr, "cirrus-bench: connection %d: %s\n", i, cr_errname(rc));
        pthread_create(&w[i].thread, NULL, run_worker, &w[i]);
    }
    t0 = now_ns();
    deadline = t0 + (int64_t)(cfg.duration_s * 1e9);
    pthread_barrier_wait(&start);
    for (i = 0; i < cfg.connections; i++)
        pthread_join(w[i].thread, NULL);
    t1 = now_ns();
    pthread_barrier_destroy(&start);

    report(&cfg, w, (double)(t1 - t0) / 1e9);
    for (i = 0; i < cfg.connections; i++) {
        if (w[i].fatal != 0 || w[i].errors != 0) {
            fprintf(stderr, "cirrus-bench: connection %d: %s%s\n", i,
                    w[i].fatal != 0 ? "stopped: " : "first error: ", w[i].errmsg);
            status = 1;
        }
        cirrus_close(w[i].c);
    }
    free(w);
    return status;
}
