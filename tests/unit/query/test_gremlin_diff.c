/*
 * Differential test of the Gremlin machine: two seeded random graphs (2,005 vertices each,
 * several vertex and edge labels, skewed degrees, self-loops and parallel edges) and random
 * traversals, each checked against a plain reference written here over the test's own
 * adjacency arrays:
 *   - k-hop sets:  g.V(x).repeat(out('l')).times(k).dedup(), the emit() forms
 *   - walk counts: g.V(x).repeat(both()).times(k).count() (a DP over walk counts)
 *   - chains of out/in/both with label filters and has() filters, as sets and counts, from
 *     one vertex, a label scan or a property lookup
 *   - has() filters over the whole graph, with and without the graph's property index
 *   - shortest paths: repeat(both().simplePath()).until(hasId(y)).limit(1).path() against
 *     an undirected BFS: a path as long as the BFS distance, from x to y, along real edges,
 *     with no repeated vertex
 */
#include "gremlin_mem.h"

#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NV 2000      /* vertices in the random part */
#define NE 6000      /* edges */
#define N_ISOLATED 5 /* vertices with no edges, after the random part */
#define QUERIES 200  /* of each kind */
#define BUDGET 50000000u

static const char *vlabels[] = {"a", "b", "c"};
static const char *elabels[] = {"x", "y", "z"};

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* Skewed towards low indexes: P(index < k) ~ (k / n)^(1/3), so vertex 0 has a degree in the
 * hundreds and most have a few. */
static size_t rnd_skewed(size_t n)
{
    double u = (double)(rnd() >> 11) / 9007199254740992.0;

    return (size_t)(u * u * u * (double)n) % n;
}

struct ref_edge {
    size_t from, to;
    int label;
};

struct ref {
    size_t nv;
    int vlabel[NV + N_ISOLATED];
    int64_t w[NV + N_ISOLATED];
    struct ref_edge e[NE];
    size_t ne;
};

static struct ref R;
static struct gmem G;
static struct cr_arena A;

static void build(uint64_t seed)
{
    char id[32];

    rng_state = seed;
    R.nv = NV + N_ISOLATED;
    R.ne = NE;
    gmem_init(&G);
    for (size_t i = 0; i < R.nv; i++) {
        struct value v, w;

        R.vlabel[i] = (int)rnd_below(3);
        R.w[i] = (int64_t)rnd_below(100);
        snprintf(id, sizeof id, "n%zu", i);
        v = value_string(id, strlen(id));
        assert_int_equal(gmem_add_vertex(&G, &v, vlabels[R.vlabel[i]]), (long)i);
        w = value_int(R.w[i]);
        assert_int_equal(gmem_vertex_prop(&G, i, "w", &w, false), 0);
    }
    for (size_t i = 0; i < R.ne; i++) {
        R.e[i].from = rnd_skewed(NV);
        R.e[i].to = rnd_below(4) == 0 ? rnd_skewed(NV) : rnd_below(NV);
        R.e[i].label = (int)rnd_below(3);
        assert_true(gmem_add_edge(&G, NULL, elabels[R.e[i].label], R.e[i].from, R.e[i].to) >= 0);
    }
}

/* ---- the reference ---- */

enum dir { D_OUT, D_IN, D_BOTH };

/* One step of walk counts: next[w] += cur[v] for every edge v -> w in direction d whose label
 * is in mask (bit per label; 0 = any). A self-loop under BOTH counts twice, as the graph
 * yields it once per direction. */
static void ref_step(const uint64_t *cur, uint64_t *next, enum dir d, unsigned mask)
{
    memset(next, 0, R.nv * sizeof *next);
    for (size_t i = 0; i < R.ne; i++) {
        const struct ref_edge *e = &R.e[i];

        if (mask && !(mask & (1u << e->label)))
            continue;
        if (d != D_IN)
            next[e->to] += cur[e->from];
        if (d != D_OUT)
            next[e->from] += cur[e->to];
    }
}

/* Keeps counts only where the vertex passes has('w', lt(bound)) (bound < 0: no filter). */
static void ref_filter(uint64_t *c, int64_t bound)
{
    for (size_t v = 0; bound >= 0 && v < R.nv; v++)
        if (R.w[v] >= bound)
            c[v] = 0;
}

/* Undirected BFS distances from x (-1: unreachable), over R's edges as CSR lists. */
static void ref_bfs(size_t x, int *dist)
{
    size_t *start = calloc(R.nv + 1, sizeof *start), *adj = malloc(2 * R.ne * sizeof *adj);
    size_t *fill = calloc(R.nv, sizeof *fill), *queue = malloc(R.nv * sizeof *queue);
    size_t head = 0, tail = 0;

    for (size_t i = 0; i < R.ne; i++) {
        start[R.e[i].from + 1]++;
        start[R.e[i].to + 1]++;
    }
    for (size_t v = 0; v < R.nv; v++)
        start[v + 1] += start[v];
    for (size_t i = 0; i < R.ne; i++) {
        adj[start[R.e[i].from] + fill[R.e[i].from]++] = R.e[i].to;
        adj[start[R.e[i].to] + fill[R.e[i].to]++] = R.e[i].from;
    }
    for (size_t i = 0; i < R.nv; i++)
        dist[i] = -1;
    dist[x] = 0;
    queue[tail++] = x;
    while (head < tail) {
        size_t v = queue[head++];

        for (size_t i = start[v]; i < start[v + 1]; i++)
            if (dist[adj[i]] < 0) {
                dist[adj[i]] = dist[v] + 1;
                queue[tail++] = adj[i];
            }
    }
    free(start);
    free(adj);
    free(fill);
    free(queue);
}

static bool adjacent(size_t a, size_t b)
{
    for (size_t i = 0; i < R.ne; i++)
        if ((R.e[i].from == a && R.e[i].to == b) || (R.e[i].from == b && R.e[i].to == a))
            return true;
    return false;
}

/* ---- running queries ---- */

static int exec(const char *script, struct value **out, size_t *n)
{
    struct gremlin_graph gr = gmem_graph(&G);
    struct gremlin_script *s;
    struct gremlin_err err;
    int rc;

    cr_arena_reset(&A);
    rc = gremlin_parse(&A, script, strlen(script), &s, &err);
    if (!rc)
        rc = gremlin_exec(s, NULL, 0, &gr, BUDGET, &A, out, n, &err);
    if (rc)
        fail_msg("%s: %s", script, err.msg);
    return rc;
}

static size_t vertex_index(const struct value *id)
{
    assert_int_equal(id->type, VT_STRING);
    assert_true(id->u.s.len > 1 && id->u.s.ptr[0] == 'n');
    return (size_t)strtoul(id->u.s.ptr + 1, NULL, 10);
}

/* Runs a query ending in id() (with dedup) and compares the set with want (nonzero counts). */
static void check_set(const char *script, const uint64_t *want)
{
    struct value *out;
    size_t n, expected = 0;
    bool *seen = calloc(R.nv, 1);

    exec(script, &out, &n);
    for (size_t i = 0; i < n; i++) {
        size_t v = vertex_index(&out[i]);

        if (!want[v] || seen[v])
            fail_msg("%s: n%zu %s", script, v, seen[v] ? "twice" : "not expected");
        seen[v] = true;
    }
    for (size_t v = 0; v < R.nv; v++)
        expected += want[v] != 0;
    if (n != expected)
        fail_msg("%s: %zu vertices, want %zu", script, n, expected);
    free(seen);
}

static void check_count(const char *script, uint64_t want)
{
    struct value *out;
    size_t n;

    exec(script, &out, &n);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].type, VT_INT);
    if ((uint64_t)out[0].u.i != want)
        fail_msg("%s: count %lld, want %llu", script, (long long)out[0].u.i,
                 (unsigned long long)want);
}

static const char *dir_name(enum dir d)
{
    return d == D_OUT ? "out" : d == D_IN ? "in" : "both";
}

/* "'x', 'z'" for the labels in mask. */
static void label_args(unsigned mask, char *buf, size_t cap)
{
    size_t k = 0;

    buf[0] = 0;
    for (int l = 0; l < 3; l++)
        if (mask & (1u << l))
            k += (size_t)snprintf(buf + k, cap - k, "%s'%s'", k ? ", " : "", elabels[l]);
}

static size_t pick_start(void)
{
    /* half from the skewed end (hubs), half anywhere */
    return rnd_below(2) ? rnd_skewed(NV) : rnd_below(R.nv);
}

/* ---- the tests ---- */

static void t_khop(void **state)
{
    uint64_t *cur = calloc(R.nv, sizeof *cur), *next = calloc(R.nv, sizeof *next);
    uint64_t *acc = calloc(R.nv, sizeof *acc);
    char script[256], labels[32];

    (void)state;
    for (int q = 0; q < QUERIES; q++) {
        size_t x = pick_start();
        unsigned mask = (unsigned)rnd_below(8);
        int k = 1 + (int)rnd_below(3), form = (int)rnd_below(3);

        label_args(mask, labels, sizeof labels);
        memset(cur, 0, R.nv * sizeof *cur);
        memset(acc, 0, R.nv * sizeof *acc);
        cur[x] = 1;
        if (form == 2)
            acc[x] = 1;
        for (int i = 0; i < k; i++) {
            ref_step(cur, next, D_OUT, mask);
            /* sets: walks of exactly i + 1 steps, as 0/1 (counts would overflow nothing,
             * but the set is what dedup() keeps) */
            for (size_t v = 0; v < R.nv; v++) {
                cur[v] = next[v] != 0;
                if (form && cur[v])
                    acc[v] = 1;
            }
        }
        if (form == 0)
            snprintf(script, sizeof script, "g.V('n%zu').repeat(out(%s)).times(%d).dedup().id()", x,
                     labels, k);
        else if (form == 1)
            snprintf(script, sizeof script,
                     "g.V('n%zu').repeat(out(%s)).times(%d).emit().dedup().id()", x, labels, k);
        else
            snprintf(script, sizeof script,
                     "g.V('n%zu').emit().repeat(__.out(%s)).times(%d).dedup().id()", x, labels, k);
        check_set(script, form ? acc : cur);
    }
    free(cur);
    free(next);
    free(acc);
}

static void t_walk_counts(void **state)
{
    uint64_t *cur = calloc(R.nv, sizeof *cur), *next = calloc(R.nv, sizeof *next);
    char script[256], labels[32];

    (void)state;
    for (int q = 0; q < QUERIES; q++) {
        size_t x = pick_start();
        enum dir d = (enum dir)rnd_below(3);
        unsigned mask = (unsigned)rnd_below(8);
        int k = 1 + (int)rnd_below(d == D_BOTH ? 2 : 3);
        uint64_t total = 0;

        label_args(mask, labels, sizeof labels);
        memset(cur, 0, R.nv * sizeof *cur);
        cur[x] = 1;
        for (int i = 0; i < k; i++) {
            ref_step(cur, next, d, mask);
            memcpy(cur, next, R.nv * sizeof *cur);
        }
        for (size_t v = 0; v < R.nv; v++)
            total += cur[v];
        snprintf(script, sizeof script, "g.V('n%zu').repeat(%s(%s)).times(%d).count()", x,
                 dir_name(d), labels, k);
        check_count(script, total);
    }
    free(cur);
    free(next);
}

/* Random chains of one to three moves, each with a label filter and maybe a has() filter,
 * from one vertex, a label scan or a property lookup; as a set (dedup) and as a count. */
static void t_chains(void **state)
{
    uint64_t *cur = calloc(R.nv, sizeof *cur), *next = calloc(R.nv, sizeof *next);
    char script[512], labels[32];

    (void)state;
    for (int q = 0; q < QUERIES; q++) {
        int start = (int)rnd_below(3), steps = 1 + (int)rnd_below(start == 0 ? 3 : 2);
        bool as_set = rnd_below(2);
        size_t k = 0, x = pick_start();
        uint64_t total = 0;
        int64_t w0 = (int64_t)rnd_below(100);
        int l0 = (int)rnd_below(3);

        memset(cur, 0, R.nv * sizeof *cur);
        if (start == 0) {
            cur[x] = 1;
            k += (size_t)snprintf(script + k, sizeof script - k, "g.V('n%zu')", x);
        } else if (start == 1) {
            for (size_t v = 0; v < R.nv; v++)
                cur[v] = R.vlabel[v] == l0;
            k += (size_t)snprintf(script + k, sizeof script - k, "g.V().hasLabel('%s')",
                                  vlabels[l0]);
        } else {
            for (size_t v = 0; v < R.nv; v++)
                cur[v] = R.w[v] == w0;
            k += (size_t)snprintf(script + k, sizeof script - k, "g.V().has('w', %lld)",
                                  (long long)w0);
        }
        for (int i = 0; i < steps; i++) {
            enum dir d = (enum dir)rnd_below(3);
            unsigned mask = (unsigned)rnd_below(8);
            int64_t bound = rnd_below(2) ? (int64_t)rnd_below(100) : -1;

            label_args(mask, labels, sizeof labels);
            ref_step(cur, next, d, mask);
            ref_filter(next, bound);
            memcpy(cur, next, R.nv * sizeof *cur);
            k += (size_t)snprintf(script + k, sizeof script - k, ".%s(%s)", dir_name(d), labels);
            if (bound >= 0)
                k += (size_t)snprintf(script + k, sizeof script - k, ".has('w', lt(%lld))",
                                      (long long)bound);
        }
        if (as_set) {
            snprintf(script + k, sizeof script - k, ".dedup().id()");
            check_set(script, cur);
        } else {
            for (size_t v = 0; v < R.nv; v++)
                total += cur[v];
            snprintf(script + k, sizeof script - k, ".count()");
            check_count(script, total);
        }
    }
    free(cur);
    free(next);
}

static void t_has_filters(void **state)
{
    static const char *ops[] = {"eq",  "neq",     "lt",     "lte",     "gt",
                                "gte", "between", "inside", "outside", "within"};
    char script[256];

    (void)state;
    for (int q = 0; q < QUERIES; q++) {
        int op = (int)rnd_below(10), l = (int)rnd_below(4);
        int64_t a = (int64_t)rnd_below(100), b = (int64_t)rnd_below(100);
        uint64_t want = 0;

        G.no_lookup = rnd_below(2);
        for (size_t v = 0; v < R.nv; v++) {
            int64_t w = R.w[v];
            bool pass = false;

            if (l < 3 && R.vlabel[v] != l)
                continue;
            switch (op) {
            case 0:
                pass = w == a;
                break;
            case 1:
                pass = w != a;
                break;
            case 2:
                pass = w < a;
                break;
            case 3:
                pass = w <= a;
                break;
            case 4:
                pass = w > a;
                break;
            case 5:
                pass = w >= a;
                break;
            case 6:
                pass = w >= a && w < b;
                break;
            case 7:
                pass = w > a && w < b;
                break;
            case 8:
                pass = w < a || w > b;
                break;
            default:
                pass = w == a || w == b;
                break;
            }
            want += pass;
        }
        if (l < 3 && op == 0)
            snprintf(script, sizeof script, "g.V().has('%s', 'w', %lld).count()", vlabels[l],
                     (long long)a);
        else if (op < 6)
            snprintf(script, sizeof script, "g.V()%s%s%s.has('w', %s(%lld)).count()",
                     l < 3 ? ".hasLabel('" : "", l < 3 ? vlabels[l] : "", l < 3 ? "')" : "",
                     ops[op], (long long)a);
        else
            snprintf(script, sizeof script, "g.V()%s%s%s.has('w', %s(%lld, %lld)).count()",
                     l < 3 ? ".hasLabel('" : "", l < 3 ? vlabels[l] : "", l < 3 ? "')" : "",
                     ops[op], (long long)a, (long long)b);
        check_count(script, want);
    }
    G.no_lookup = false;
}

static void t_shortest_path(void **state)
{
    int *dist = malloc(R.nv * sizeof *dist);
    char script[256];
    int found = 0;

    (void)state;
    for (int q = 0; q < QUERIES; q++) {
        size_t x = pick_start(), y, n, len;
        struct value *out;
        const struct value *objs;

        ref_bfs(x, dist);
        /* a target 1 to 3 hops away (deeper ones enumerate too many simple paths for a unit
         * test's budget), or an isolated vertex when x has no such neighbourhood */
        y = R.nv;
        for (int tries = 0; tries < 50 && y == R.nv; tries++) {
            size_t c = rnd_below(R.nv);

            if (dist[c] >= 1 && dist[c] <= 3)
                y = c;
        }
        if (y == R.nv)
            continue;
        snprintf(script, sizeof script,
                 "g.V('n%zu').repeat(both().simplePath()).until(hasId('n%zu')).limit(1).path()", x,
                 y);
        exec(script, &out, &n);
        assert_int_equal(n, 1);
        objs = value_map_get(&out[0], "objects", 7);
        assert_non_null(objs);
        len = objs->u.arr.n;
        if (len != (size_t)dist[y] + 1)
            fail_msg("%s: path of %zu vertices, BFS distance %d", script, len, dist[y]);
        for (size_t i = 0; i < len; i++) {
            size_t v = vertex_index(value_map_get(&objs->u.arr.items[i], "id", 2));

            if (i == 0)
                assert_int_equal(v, x);
            if (i == len - 1)
                assert_int_equal(v, y);
            if (i > 0) {
                size_t u = vertex_index(value_map_get(&objs->u.arr.items[i - 1], "id", 2));

                assert_true(adjacent(u, v));
            }
            for (size_t j = 0; j < i; j++)
                assert_true(v != vertex_index(value_map_get(&objs->u.arr.items[j], "id", 2)));
        }
        found++;
    }
    assert_true(found > QUERIES / 2);
    /* unreachable: an isolated vertex reaches nothing, and the search ends empty */
    snprintf(script, sizeof script,
             "g.V('n%d').repeat(both().simplePath()).until(hasId('n0')).limit(1).path()", NV);
    {
        struct value *out;
        size_t n;

        exec(script, &out, &n);
        assert_int_equal(n, 0);
    }
    free(dist);
}

static int setup_seed(uint64_t seed)
{
    cr_arena_init(&A, 1 << 20);
    build(seed);
    return 0;
}

static int setup_a(void **state)
{
    (void)state;
    return setup_seed(0x9E3779B97F4A7C15ull);
}

static int setup_b(void **state)
{
    (void)state;
    return setup_seed(20261122);
}

static int teardown(void **state)
{
    (void)state;
    gmem_free(&G);
    cr_arena_free(&A);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_khop),          cmocka_unit_test(t_walk_counts),
        cmocka_unit_test(t_chains),        cmocka_unit_test(t_has_filters),
        cmocka_unit_test(t_shortest_path),
    };

    /* the same traversals over two random graphs */
    return cmocka_run_group_tests(tests, setup_a, teardown) |
           cmocka_run_group_tests(tests, setup_b, teardown);
}
