/*
 * cirrus-bench-graph: graph storage at scale (docs/BENCHMARKS.md, issue 5), on the storage engine
 * itself (storage/graph.c through storage_apply and graph_expand), beside the physical floor: a
 * raw LMDB cursor scan over the same adjacency entries. Builds a graph of V vertices and E edges
 * whose out-degrees follow a power law (a vertex's chance to be a source falls with its rank:
 * src = V * u^3), three edge labels; times the load (BATCH mutations per commit, in log entries of
 * CR_MAX_BATCH_MUTATIONS, fsynced unless --no-sync), 1-hop expansion of random vertices, 3-hop
 * neighbourhoods (distinct vertices within 3 hops, out-edges) and shortest paths between random
 * pairs (bidirectional BFS over both directions). It measures; it checks only that what it read is
 * consistent (every expanded edge's neighbour is a vertex it created).
 *
 * The raw scan opens the data directory's LMDB environment itself (read-only, after storage is
 * closed) and reads every entry of the `adj` database: the rate no expansion can beat.
 */
#include <inttypes.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/error.h"
#include "storage/storage.h"

#define BATCH 10000
#define SAMPLES_1HOP 20000
#define SAMPLES_3HOP 100
#define SAMPLES_PATH 100
#define ID_LEN 16

struct config {
    const char *dir;
    uint32_t vertices;
    uint32_t edges;
    bool no_sync;
};

struct bench {
    struct config cfg;
    struct storage *s;
    struct graph_def g;
    uint64_t index;
    uint64_t rng;
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rnd(struct bench *b)
{
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return b->rng;
}

static double unit(struct bench *b)
{
    return (double)(rnd(b) >> 11) / 9007199254740992.0;
}

static void vertex_id(uint32_t i, char *out)
{
    snprintf(out, ID_LEN, "v%07u", i);
}

/* The vertex number of an id this tool made, or UINT32_MAX. */
static uint32_t vertex_num(const struct value *id)
{
    uint32_t n = 0;

    if (id->type != VT_STRING || id->u.s.len != 8 || id->u.s.ptr[0] != 'v')
        return UINT32_MAX;
    for (size_t i = 1; i < 8; i++)
        n = n * 10 + (uint32_t)(id->u.s.ptr[i] - '0');
    return n;
}

/* Applies m[0..n) as log entries of at most CR_MAX_BATCH_MUTATIONS, all in one storage_apply
 * call: one transaction and one commit (the writer thread's group commit). */
static int apply(struct bench *b, struct mutation *m, size_t n, struct cr_arena *a)
{
    struct log_batch lb[BATCH / CR_MAX_BATCH_MUTATIONS + 1] = {{0}};
    struct mutation_result *res[BATCH / CR_MAX_BATCH_MUTATIONS + 1] = {NULL};
    size_t k = 0;
    int rc = 0;

    for (size_t at = 0; at < n; at += CR_MAX_BATCH_MUTATIONS, k++) {
        size_t len = n - at < CR_MAX_BATCH_MUTATIONS ? n - at : CR_MAX_BATCH_MUTATIONS;

        lb[k] = (struct log_batch){.index = ++b->index, .time_ms = 1, .muts = m + at, .n = len};
        if (!(res[k] = cr_arena_alloc(a, len * sizeof *res[k])))
            return CR_ENOMEM;
    }
    rc = storage_apply(b->s, lb, k, res, a);
    for (size_t i = 0; rc == 0 && i < k; i++)
        for (size_t j = 0; rc == 0 && j < lb[i].n; j++)
            rc = res[i][j].code;
    return rc;
}

static struct mutation graph_mut(enum mut_type type)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = type;
    snprintf(m.graph.name, sizeof m.graph.name, "bench");
    return m;
}

/* Loads the vertices, then the edges; returns the edges' rate (edges/s) or a negative code. */
static double load(struct bench *b, double *vertex_rate)
{
    static const char *const vlabels[] = {"person", "item"};
    static const char *const elabels[] = {"knows", "likes", "follows"};
    struct mutation *m = calloc(BATCH, sizeof *m);
    char(*ids)[2][ID_LEN] = calloc(BATCH, sizeof *ids);
    struct cr_arena a;
    int64_t t0;
    int rc = 0;

    if (!m || !ids)
        return CR_ENOMEM;
    cr_arena_init(&a, 1 << 20);
    t0 = now_ns();
    for (uint32_t at = 0; rc == 0 && at < b->cfg.vertices; at += BATCH) {
        size_t n = 0;

        for (uint32_t i = at; i < b->cfg.vertices && n < BATCH; i++, n++) {
            m[n] = graph_mut(MUT_GRAPH_ADD_VERTEX);
            vertex_id(i, ids[n][0]);
            m[n].graph.id = value_string(ids[n][0], strlen(ids[n][0]));
            m[n].graph.label = value_string(vlabels[i % 2], strlen(vlabels[i % 2]));
        }
        rc = apply(b, m, n, &a);
        cr_arena_reset(&a);
    }
    *vertex_rate = (double)b->cfg.vertices / ((double)(now_ns() - t0) / 1e9);
    t0 = now_ns();
    for (uint32_t at = 0; rc == 0 && at < b->cfg.edges; at += BATCH) {
        size_t n = 0;

        for (uint32_t i = at; i < b->cfg.edges && n < BATCH; i++, n++) {
            double u = unit(b);
            uint32_t src = (uint32_t)((double)b->cfg.vertices * u * u * u);
            uint32_t dst = (uint32_t)(rnd(b) % b->cfg.vertices);
            const char *label = elabels[rnd(b) % 3];

            m[n] = graph_mut(MUT_GRAPH_ADD_EDGE);
            vertex_id(src, ids[n][0]);
            vertex_id(dst, ids[n][1]);
            m[n].graph.id = value_null(); /* generated from the log index */
            m[n].graph.label = value_string(label, strlen(label));
            m[n].graph.out_v = value_string(ids[n][0], strlen(ids[n][0]));
            m[n].graph.in_v = value_string(ids[n][1], strlen(ids[n][1]));
        }
        rc = apply(b, m, n, &a);
        cr_arena_reset(&a);
    }
    cr_arena_free(&a);
    free(m);
    free(ids);
    if (rc)
        return rc;
    return (double)b->cfg.edges / ((double)(now_ns() - t0) / 1e9);
}

/* Calls visit for every neighbour of vertex v in direction dir; returns the edges read or a
 * negative code. */
static int64_t expand(struct storage_txn *t, struct bench *b, uint32_t v, enum graph_dir dir,
                      struct cr_arena *a, void (*visit)(void *ctx, uint32_t to), void *ctx)
{
    char id[ID_LEN];
    struct graph_expand_query q;
    struct graph_adj_page p;
    int64_t n = 0;
    uint8_t *cursor = NULL;
    size_t cursor_len = 0;

    vertex_id(v, id);
    memset(&q, 0, sizeof q);
    q.vertex = value_string(id, strlen(id));
    q.dir = dir;
    do {
        int rc;

        q.cursor = cursor;
        q.cursor_len = cursor_len;
        rc = graph_expand(t, &b->g, &q, a, &p);
        if (rc)
            return rc;
        for (size_t i = 0; i < p.n; i++) {
            uint32_t to = vertex_num(&p.adj[i].neighbour);

            if (to >= b->cfg.vertices)
                return CR_ECORRUPT;
            if (visit)
                visit(ctx, to);
        }
        n += (int64_t)p.n;
        cursor = p.next;
        cursor_len = p.next_len;
    } while (cursor_len);
    return n;
}

struct frontier {
    uint32_t *v;
    size_t n;
    uint8_t *seen; /* per vertex: 0, or the side(s) that reached it */
    uint8_t side;
    bool met;
};

static void reach(void *ctx, uint32_t to)
{
    struct frontier *f = ctx;

    if (f->seen[to] & f->side)
        return;
    if (f->seen[to])
        f->met = true; /* the other side reached it: a path */
    f->seen[to] |= f->side;
    f->v[f->n++] = to;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;

    return (a > c) - (a < c);
}

/* One BFS level from cur into next (out-edges, or both directions). */
static int level(struct storage_txn *t, struct bench *b, struct frontier *cur,
                 struct frontier *next, enum graph_dir dir, struct cr_arena *a, int64_t *edges)
{
    next->n = 0;
    for (size_t i = 0; i < cur->n; i++) {
        int64_t n = expand(t, b, cur->v[i], dir, a, reach, next);

        if (n < 0)
            return (int)n;
        *edges += n;
        cr_arena_reset(a);
    }
    return 0;
}

static int run(struct bench *b)
{
    struct storage_txn *t;
    struct cr_arena a;
    uint32_t nv = b->cfg.vertices;
    uint8_t *seen = calloc(nv, 1);
    uint32_t *bufs[4] = {malloc(nv * sizeof(uint32_t)), malloc(nv * sizeof(uint32_t)),
                         malloc(nv * sizeof(uint32_t)), malloc(nv * sizeof(uint32_t))};
    int64_t lat3[SAMPLES_3HOP], latp[SAMPLES_PATH], t0, edges = 0, reached = 0;
    int found = 0, rc;

    if (!seen || !bufs[0] || !bufs[1] || !bufs[2] || !bufs[3])
        return CR_ENOMEM;
    cr_arena_init(&a, 1 << 20);
    if ((rc = storage_read_begin(b->s, &t)) != 0)
        return rc;
    /* 1-hop: out-edges of random vertices */
    t0 = now_ns();
    for (int i = 0; i < SAMPLES_1HOP; i++) {
        int64_t n = expand(t, b, (uint32_t)(rnd(b) % nv), GRAPH_OUT, &a, NULL, NULL);

        if (n < 0)
            return (int)n;
        edges += n;
        cr_arena_reset(&a);
    }
    printf("| 1-hop out, %d random vertices | %.0f edges/s | %.1f us per vertex | %" PRId64
           " edges |\n",
           SAMPLES_1HOP, (double)edges / ((double)(now_ns() - t0) / 1e9),
           (double)(now_ns() - t0) / 1e3 / SAMPLES_1HOP, edges);
    /* 3-hop: distinct vertices within 3 hops over out-edges */
    edges = 0;
    t0 = now_ns();
    for (int i = 0; i < SAMPLES_3HOP; i++) {
        struct frontier f[2] = {{bufs[0], 0, seen, 1, false}, {bufs[1], 0, seen, 1, false}};
        int64_t q0 = now_ns();

        memset(seen, 0, nv);
        reach(&f[0], (uint32_t)(rnd(b) % nv));
        reached += 1;
        for (int hop = 0; hop < 3; hop++) {
            if ((rc = level(t, b, &f[hop % 2], &f[(hop + 1) % 2], GRAPH_OUT, &a, &edges)) != 0)
                return rc;
            reached += (int64_t)f[(hop + 1) % 2].n;
        }
        lat3[i] = now_ns() - q0;
    }
    qsort(lat3, SAMPLES_3HOP, sizeof lat3[0], cmp_i64);
    printf("| 3-hop out neighbourhood, %d random vertices | %.0f edges/s | %.2f ms p50, %.2f ms "
           "p99 | %.0f vertices on average |\n",
           SAMPLES_3HOP, (double)edges / ((double)(now_ns() - t0) / 1e9),
           (double)lat3[SAMPLES_3HOP / 2] / 1e6, (double)lat3[SAMPLES_3HOP * 99 / 100] / 1e6,
           (double)reached / SAMPLES_3HOP);
    /* shortest paths: bidirectional BFS, both directions, the smaller frontier first */
    for (int i = 0; i < SAMPLES_PATH; i++) {
        struct frontier f[2][2] = {{{bufs[0], 0, seen, 1, false}, {bufs[1], 0, seen, 1, false}},
                                   {{bufs[2], 0, seen, 2, false}, {bufs[3], 0, seen, 2, false}}};
        int cur[2] = {0, 0};
        bool met = false;
        int64_t q0 = now_ns();

        memset(seen, 0, nv);
        reach(&f[0][0], (uint32_t)(rnd(b) % nv));
        reach(&f[1][0], (uint32_t)(rnd(b) % nv));
        met = f[1][0].met;
        for (int depth = 0; !met && depth < 12; depth++) {
            int side = f[0][cur[0]].n <= f[1][cur[1]].n ? 0 : 1;
            struct frontier *from = &f[side][cur[side]], *to = &f[side][1 - cur[side]];

            if (from->n == 0)
                break;
            to->met = false;
            if ((rc = level(t, b, from, to, GRAPH_BOTH, &a, &edges)) != 0)
                return rc;
            met = to->met;
            cur[side] = 1 - cur[side];
        }
        found += met;
        latp[i] = now_ns() - q0;
    }
    qsort(latp, SAMPLES_PATH, sizeof latp[0], cmp_i64);
    printf("| shortest path (bidirectional BFS), %d random pairs | %d found | %.2f ms p50, %.2f ms "
           "p99 | |\n",
           SAMPLES_PATH, found, (double)latp[SAMPLES_PATH / 2] / 1e6,
           (double)latp[SAMPLES_PATH * 99 / 100] / 1e6);
    storage_read_end(t);
    cr_arena_free(&a);
    free(seen);
    for (int i = 0; i < 4; i++)
        free(bufs[i]);
    return 0;
}

/* Every entry of the adj database, raw: entries per second. */
static double raw_scan(const char *dir, uint64_t *entries)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    int64_t t0;
    int rc = mdb_env_create(&env);

    *entries = 0;
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 16);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, CR_DEFAULT_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "adj", 0, &dbi);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &c);
    if (rc) {
        fprintf(stderr, "cirrus-bench-graph: raw scan: %s\n", mdb_strerror(rc));
        return -1;
    }
    t0 = now_ns();
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        ++*entries;
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return (double)*entries / ((double)(now_ns() - t0) / 1e9);
}

static int usage(void)
{
    fprintf(stderr, "usage: cirrus-bench-graph --dir EMPTY_DIR [--vertices V] [--edges E] "
                    "[--no-sync]\n"
                    "  defaults: 200000 vertices, 1000000 edges, every commit fsynced\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct bench b = {.cfg = {NULL, 200000, 1000000, false}, .rng = 0x9E3779B97F4A7C15ull};
    struct storage_options so = {0};
    struct mutation m = graph_mut(MUT_CREATE_GRAPH);
    struct storage_txn *t;
    struct cr_arena a;
    double vrate, erate, raw;
    uint64_t entries;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-sync") == 0)
            b.cfg.no_sync = true;
        else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
            b.cfg.dir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--vertices") == 0)
            b.cfg.vertices = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--edges") == 0)
            b.cfg.edges = (uint32_t)strtoul(argv[++i], NULL, 10);
        else
            return usage();
    }
    if (!b.cfg.dir || b.cfg.vertices < 100 || b.cfg.vertices > 9999999 || b.cfg.edges < 1)
        return usage();
    so.no_sync = b.cfg.no_sync;
    if ((rc = storage_open(b.cfg.dir, &so, &b.s)) != 0) {
        fprintf(stderr, "cirrus-bench-graph: open %s: %s\n", b.cfg.dir, cr_strerror(rc));
        return 1;
    }
    cr_arena_init(&a, 4096);
    rc = apply(&b, &m, 1, &a);
    if (rc == 0 && (rc = storage_read_begin(b.s, &t)) == 0) {
        rc = catalog_graph_get(t, "bench", &b.g);
        storage_read_end(t);
    }
    cr_arena_free(&a);
    erate = rc ? rc : load(&b, &vrate);
    if (rc || erate < 0) {
        fprintf(stderr, "cirrus-bench-graph: load: %s\n", cr_strerror(rc ? rc : (int)erate));
        return 1;
    }
    printf("%" PRIu32 " vertices, %" PRIu32
           " edges (power-law out-degrees, 3 labels), %d mutations "
           "per commit (log entries of %d), %s\n\n",
           b.cfg.vertices, b.cfg.edges, BATCH, CR_MAX_BATCH_MUTATIONS,
           b.cfg.no_sync ? "no fsync" : "every commit fsynced");
    printf("| | rate | latency | |\n|---|---|---|---|\n");
    printf("| load vertices | %.0f vertices/s | | |\n", vrate);
    printf("| load edges (edge record, out- and in-adjacency) | %.0f edges/s | | |\n", erate);
    if ((rc = run(&b)) != 0) {
        fprintf(stderr, "cirrus-bench-graph: %s\n", cr_strerror(rc));
        return 1;
    }
    storage_close(b.s);
    raw = raw_scan(b.cfg.dir, &entries);
    if (raw < 0)
        return 1;
    printf("| raw LMDB cursor scan of the adj database (the floor) | %.0f entries/s | | %" PRIu64
           " entries |\n",
           raw, entries);
    return 0;
}
