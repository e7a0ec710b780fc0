/*
 * cirrus-bench-docs: the document layer at scale (docs/BENCHMARKS.md, issue 4). Loads N
 * generated documents into two collections — one with automatic indexing of every path, one
 * with indexing "none" — measuring insert throughput for each, then times the same queries on
 * both: on the indexed collection the planner reads an index range, on the other every query
 * is a full scan with a filter (the peer every index is measured against). Prints a markdown
 * table with the ratios. It measures; the results it checks are only their counts.
 *
 * Documents: {"id": "d0000042", "k": 42 % K, "n": 42, "s": "<20 letters>", "tags": ["t3",
 * "t5"], "nested": {"a": 42 % 7}}; K = N / 10, so an equality on k matches 10 documents.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cirrus.h"

#define BATCH 500 /* documents per write (one log entry) */
#define MAX_RUNS 101

struct config {
    char host[256];
    int port;
    uint64_t docs;
    int runs;
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(struct cirrus *c, const char *what, int rc)
{
    fprintf(stderr, "cirrus-bench-docs: %s: %s (%s)\n", what, cr_strerror(rc), cirrus_errmsg(c));
    return 1;
}

static int set_int(struct cirrus_value *m, const char *name, int64_t i)
{
    struct cirrus_value v;

    cirrus_value_int(&v, i);
    return cirrus_map_set(m, name, &v);
}

static int set_str(struct cirrus_value *m, const char *name, const char *s)
{
    struct cirrus_value v;
    int rc = cirrus_value_string(&v, s, strlen(s));

    return rc ? rc : cirrus_map_set(m, name, &v);
}

/* Document i, as the header says. */
static int make_doc(uint64_t i, uint64_t keys, struct cirrus_value *d)
{
    struct cirrus_value tags, nested, t;
    char id[24], s[21], tag[8];
    uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
    int rc;

    for (int k = 0; k < 20; k++, x = x * 6364136223846793005ull + 1442695040888963407ull)
        s[k] = (char)('a' + (x >> 59) % 26);
    s[20] = 0;
    snprintf(id, sizeof id, "d%07" PRIu64, i);
    rc = cirrus_value_container(d, CIRRUS_MAP);
    if (rc == 0)
        rc = set_str(d, "id", id);
    if (rc == 0)
        rc = set_int(d, "k", (int64_t)(i % keys));
    if (rc == 0)
        rc = set_int(d, "n", (int64_t)i);
    if (rc == 0)
        rc = set_str(d, "s", s);
    if (rc == 0)
        rc = cirrus_value_container(&tags, CIRRUS_ARRAY);
    for (int k = 0; rc == 0 && k < 2; k++) {
        snprintf(tag, sizeof tag, "t%d", (int)((i + (uint64_t)k * 3) % 10));
        rc = cirrus_value_string(&t, tag, strlen(tag));
        if (rc == 0)
            rc = cirrus_list_append(&tags, &t);
    }
    if (rc == 0)
        rc = cirrus_map_set(d, "tags", &tags);
    if (rc == 0)
        rc = cirrus_value_container(&nested, CIRRUS_MAP);
    if (rc == 0)
        rc = set_int(&nested, "a", (int64_t)(i % 7));
    if (rc == 0)
        rc = cirrus_map_set(d, "nested", &nested);
    return rc;
}

/* Loads every document into coll; returns documents per second, or a negative value. */
static double load(struct cirrus *c, const struct config *cfg, const char *coll)
{
    struct cirrus_value docs[BATCH];
    uint64_t keys = cfg->docs / 10 ? cfg->docs / 10 : 1;
    int64_t t0 = now_ns(), last = t0;

    for (uint64_t at = 0; at < cfg->docs; at += BATCH) {
        size_t n = cfg->docs - at < BATCH ? (size_t)(cfg->docs - at) : BATCH;
        struct cirrus_result r;
        int rc = 0;

        for (size_t i = 0; i < n; i++)
            if (rc == 0)
                rc = make_doc(at + i, keys, &docs[i]);
        if (rc == 0)
            rc = cirrus_write_docs(c, NULL, coll, CIRRUS_DOC_UPSERT, docs, n, &r);
        for (size_t i = 0; i < n; i++)
            cirrus_value_clear(&docs[i]);
        if (rc) {
            fail(c, "write_docs", rc);
            return -1;
        }
        cirrus_result_free(&r);
        if (now_ns() - last > 5000000000ll) {
            last = now_ns();
            fprintf(stderr, "  %s: %" PRIu64 " of %" PRIu64 "\n", coll, at + n, cfg->docs);
        }
    }
    return (double)cfg->docs / ((double)(now_ns() - t0) / 1e9);
}

/* Runs the query to its end (pages of 1000); *results gets the count. Nanoseconds or -1. */
static int64_t run_query(struct cirrus *c, const char *text, uint64_t *results)
{
    struct cirrus_sql q = {NULL, 0, 1000, NULL, 0, 0};
    int64_t t0 = now_ns();
    void *cont = NULL;

    *results = 0;
    do {
        struct cirrus_result r;
        int rc = cirrus_sql(c, NULL, text, &q, NULL, &r);

        free(cont);
        if (rc) {
            fail(c, text, rc);
            return -1;
        }
        *results += r.n_items;
        cont = r.cursor;
        q.continuation = cont;
        q.continuation_len = r.cursor_len;
        r.cursor = NULL;
        cirrus_result_free(&r);
    } while (cont);
    return now_ns() - t0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The median of runs of text, in microseconds; -1 on failure. */
static double median_us(struct cirrus *c, const struct config *cfg, const char *text,
                        uint64_t *results)
{
    int64_t t[MAX_RUNS];

    for (int i = 0; i < cfg->runs; i++)
        if ((t[i] = run_query(c, text, results)) < 0)
            return -1;
    qsort(t, (size_t)cfg->runs, sizeof t[0], cmp_i64);
    return (double)t[cfg->runs / 2] / 1e3;
}

static int usage(void)
{
    fprintf(stderr, "usage: cirrus-bench-docs [--host HOST:PORT] [--docs N] [--runs R]\n"
                    "  --host   server (default 127.0.0.1:7070)\n"
                    "  --docs   documents per collection (default 1000000)\n"
                    "  --runs   timed runs per query, the median is reported (default 5, odd)\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 7070;
    cfg->docs = 1000000;
    cfg->runs = 5;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v)
            return usage();
        if (strcmp(argv[i], "--host") == 0) {
            const char *colon = strrchr(v, ':');

            if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg->host)
                return usage();
            snprintf(cfg->host, sizeof cfg->host, "%.*s", (int)(colon - v), v);
            cfg->port = atoi(colon + 1);
        } else if (strcmp(argv[i], "--docs") == 0) {
            cfg->docs = strtoull(v, NULL, 10);
        } else if (strcmp(argv[i], "--runs") == 0) {
            cfg->runs = atoi(v);
        } else {
            return usage();
        }
        i++;
    }
    if (cfg->docs < 1000 || cfg->runs < 1 || cfg->runs > MAX_RUNS || cfg->port <= 0)
        return usage();
    return 0;
}

int main(int argc, char **argv)
{
    /* %1$s the collection, %2$lu a key in the middle, %3$lu the middle n, %4$lu n at 90% */
    static const struct {
        const char *name, *fmt;
        int expect; /* results; -1: whatever the data gives */
    } queries[] = {
        {"equality (10 results)", "SELECT * FROM %1$s c WHERE c.k = %2$lu", 10},
        {"range (100 results)", "SELECT * FROM %1$s c WHERE c.n >= %3$lu AND c.n < %3$lu + 100",
         100},
        {"range, ORDER BY, TOP 10", "SELECT TOP 10 * FROM %1$s c WHERE c.n > %4$lu ORDER BY c.n",
         10},
        {"ARRAY_CONTAINS (1 in 5) AND equality",
         "SELECT c.id FROM %1$s c WHERE ARRAY_CONTAINS(c.tags, 't3') AND c.k = %2$lu", -1},
        {"STARTSWITH (1 in 676)", "SELECT c.id FROM %1$s c WHERE STARTSWITH(c.s, 'qz')", -1},
    };
    struct cirrus_indexing none = {1, NULL, 0, NULL, 0, NULL, 0};
    struct config cfg;
    struct cirrus *c;
    struct cirrus_result r;
    double rate_auto, rate_none;
    int rc = parse_args(argc, argv, &cfg);

    if (rc)
        return rc;
    rc = cirrus_connect(cfg.host, cfg.port, 600000, &c);
    if (rc) {
        fprintf(stderr, "cirrus-bench-docs: connect %s:%d: %s\n", cfg.host, cfg.port,
                cr_strerror(rc));
        return 1;
    }
    if ((rc = cirrus_create_collection(c, NULL, "bench_auto", NULL, NULL, &r)) != 0)
        return fail(c, "create_collection", rc);
    cirrus_result_free(&r);
    if ((rc = cirrus_create_collection(c, NULL, "bench_none", NULL, &none, &r)) != 0)
        return fail(c, "create_collection", rc);
    cirrus_result_free(&r);
    rate_auto = load(c, &cfg, "bench_auto");
    rate_none = rate_auto < 0 ? -1 : load(c, &cfg, "bench_none");
    if (rate_none < 0)
        return 1;
    printf("%" PRIu64 " documents per collection, writes of %d documents (one log entry "
           "each), one connection\n\n",
           cfg.docs, BATCH);
    printf("| inserts | documents/s | ratio |\n|---|---|---|\n");
    printf("| automatic indexing (every path) | %.0f | %.2f |\n", rate_auto, rate_auto / rate_none);
    printf("| indexing none | %.0f | 1.00 |\n\n", rate_none);
    printf("| query (median of %d, ms) | indexed | full scan (indexing none) | full scan / "
           "indexed | results |\n|---|---|---|---|---|\n",
           cfg.runs);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        unsigned long key = (unsigned long)(cfg.docs / 10 / 2 + 42),
                      mid = (unsigned long)(cfg.docs / 2), top = (unsigned long)(cfg.docs / 10 * 9);
        char t_auto[512], t_none[512];
        uint64_t n_auto, n_none;
        double a, b;

        snprintf(t_auto, sizeof t_auto, queries[i].fmt, "bench_auto", key, mid, top);
        snprintf(t_none, sizeof t_none, queries[i].fmt, "bench_none", key, mid, top);
        a = median_us(c, &cfg, t_auto, &n_auto);
        b = a < 0 ? -1 : median_us(c, &cfg, t_none, &n_none);
        if (b < 0)
            return 1;
        if (n_auto != n_none || (queries[i].expect >= 0 && n_auto != (uint64_t)queries[i].expect)) {
            fprintf(stderr,
                    "cirrus-bench-docs: %s: %" PRIu64 " results indexed, %" PRIu64 " scanned\n",
                    queries[i].name, n_auto, n_none);
            return 1;
        }
        printf("| %s | %.2f | %.1f | %.0f | %" PRIu64 " |\n", queries[i].name, a / 1e3, b / 1e3,
               b / a, n_auto);
    }
    cirrus_close(c);
    return 0;
}
