/*
 * Graphs end to end: libcirrus against a real cirrusd. Graph definitions, Gremlin reads and
 * writes with their Cosmos DB result shapes, bindings and named errors, and the traversal
 * helpers (neighbours, k-hop, shortest path) on a small known graph and on a random graph of a
 * few hundred vertices checked against a plain BFS written here; load_graph with properties.
 */
#include "client/cirrus.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define R_VERTICES 300
#define R_EDGES 900

static struct harness srv;
static struct cirrus *cx;

static int setup(void **state)
{
    (void)state;
    harness_init(&srv);
    if (harness_start(&srv) != 0)
        return -1;
    return cirrus_connect("127.0.0.1", srv.port, 20000, &cx);
}

static int teardown(void **state)
{
    (void)state;
    cirrus_close(cx);
    harness_cleanup(&srv);
    return 0;
}

static int gremlin(const char *graph, const char *script, struct cirrus_result *r)
{
    return cirrus_gremlin(cx, graph, script, NULL, 0, 0, NULL, r);
}

static void gremlin_ok(const char *graph, const char *script)
{
    struct cirrus_result r;

    if (gremlin(graph, script, &r) != 0)
        fail_msg("%s: %s", script, cirrus_errmsg(cx));
    cirrus_result_free(&r);
}

static const char *str(const struct cirrus_value *v)
{
    assert_non_null(v);
    assert_int_equal(v->type, CIRRUS_STRING);
    return v->u.str.ptr;
}

static void create_graph(const char *name)
{
    struct cirrus_result r;

    if (cirrus_create_graph(cx, name, &r) != 0)
        fail_msg("create %s: %s", name, cirrus_errmsg(cx));
    assert_string_equal(r.graph.name, name);
    assert_true(r.graph.created_index > 0);
    cirrus_result_free(&r);
}

static void graphs_crud(void **state)
{
    struct cirrus_result r;

    (void)state;
    create_graph("g1");
    create_graph("g2");
    assert_int_equal(cirrus_create_graph(cx, "g1", &r), CR_EEXISTS);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_graph(cx, "bad/name", &r), CR_ENAME);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_list_graphs(cx, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.n_graphs, 2);
    assert_string_equal(r.graphs[0].name, "g1");
    assert_string_equal(r.graphs[1].name, "g2");
    cirrus_result_free(&r);
    assert_int_equal(cirrus_list_graphs(cx, NULL, 1, NULL, &r), 0);
    assert_int_equal(r.n_graphs, 1);
    assert_string_equal(r.last_evaluated, "g1");
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_graph(cx, "g2", NULL, &r), 0);
    assert_string_equal(r.graph.name, "g2");
    cirrus_result_free(&r);
    gremlin_ok("g2", "g.addV('person').property('id','x')");
    assert_int_equal(cirrus_drop_graph(cx, "g2", &r), 0);
    assert_string_equal(r.graph.name, "g2");
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_graph(cx, "g2", NULL, &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_drop_graph(cx, "g2", &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    assert_int_equal(gremlin("g2", "g.V()", &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    /* bad input is refused before anything is proposed */
    assert_int_equal(gremlin("", "g.V()", &r), CR_ENAME);
    cirrus_result_free(&r);
    {
        static const struct cirrus_edge empty[] = {{"", "x", NULL}};
        static const char *const blank[] = {""};
        struct cirrus_walk w = {CIRRUS_DIR_OUT, blank, 1, 0};

        assert_int_equal(cirrus_load_edges(cx, "g1", empty, 1, NULL, &r), CR_EINVAL);
        cirrus_result_free(&r);
        assert_int_equal(cirrus_neighbors(cx, "g1", "x", &w, NULL, &r), CR_EINVAL);
        cirrus_result_free(&r);
        assert_int_equal(gremlin("g1", "g.V().count()", &r), 0);
        assert_int_equal(r.items[0].u.i, 0);
        cirrus_result_free(&r);
    }
    /* created again, it is empty */
    create_graph("g2");
    assert_int_equal(gremlin("g2", "g.V().count()", &r), 0);
    assert_int_equal(r.n_items, 1);
    assert_int_equal(r.items[0].u.i, 0);
    cirrus_result_free(&r);
}

static void gremlin_writes_and_reads(void **state)
{
    struct cirrus_result r;
    const struct cirrus_value *v, *props, *name;

    (void)state;
    create_graph("people");
    assert_int_equal(gremlin("people",
                             "g.addV('person').property('id','a').property('name','alice')"
                             ".property('age',30)",
                             &r),
                     0);
    assert_int_equal(r.mutations, 3);
    assert_int_equal(r.n_items, 1);
    v = &r.items[0];
    assert_string_equal(str(cirrus_map_get(v, "id")), "a");
    assert_string_equal(str(cirrus_map_get(v, "label")), "person");
    assert_string_equal(str(cirrus_map_get(v, "type")), "vertex");
    cirrus_result_free(&r);
    gremlin_ok("people", "g.addV('person').property('id','b').property('name','bob');"
                         "g.addV('person').property('id','c').property('name','carol')");
    assert_int_equal(
        gremlin("people", "g.V('a').addE('knows').to(g.V('b')).property('since',2020)", &r), 0);
    assert_int_equal(r.n_items, 1);
    v = &r.items[0];
    assert_string_equal(str(cirrus_map_get(v, "type")), "edge");
    assert_string_equal(str(cirrus_map_get(v, "label")), "knows");
    assert_string_equal(str(cirrus_map_get(v, "outV")), "a");
    assert_string_equal(str(cirrus_map_get(v, "inV")), "b");
    assert_string_equal(str(cirrus_map_get(v, "outVLabel")), "person");
    assert_string_equal(str(cirrus_map_get(v, "inVLabel")), "person");
    cirrus_result_free(&r);
    gremlin_ok("people", "g.V('b').addE('knows').to(g.V('c'))");

    /* reads: the vertex shape with multi-valued properties, values, traversal */
    assert_int_equal(gremlin("people", "g.V('a')", &r), 0);
    assert_int_equal(r.n_items, 1);
    props = cirrus_map_get(&r.items[0], "properties");
    assert_non_null(props);
    name = cirrus_map_get(props, "name");
    assert_non_null(name);
    assert_int_equal(name->type, CIRRUS_ARRAY);
    assert_int_equal(name->u.list.len, 1);
    assert_string_equal(str(cirrus_map_get(&name->u.list.items[0], "value")), "alice");
    assert_non_null(cirrus_map_get(&name->u.list.items[0], "id"));
    cirrus_result_free(&r);
    assert_int_equal(gremlin("people", "g.V('a').out('knows').out('knows').values('name')", &r), 0);
    assert_int_equal(r.n_items, 1);
    assert_string_equal(str(&r.items[0]), "carol");
    assert_int_equal(r.mutations, 0);
    cirrus_result_free(&r);

    /* property, then drop an edge and a vertex */
    gremlin_ok("people", "g.V('c').property('name','caroline')");
    assert_int_equal(gremlin("people", "g.V('c').values('name')", &r), 0);
    assert_int_equal(r.n_items, 1);
    assert_string_equal(str(&r.items[0]), "caroline");
    cirrus_result_free(&r);
    gremlin_ok("people", "g.V('a').outE('knows').drop()");
    assert_int_equal(gremlin("people", "g.V('a').out().count()", &r), 0);
    assert_int_equal(r.items[0].u.i, 0);
    cirrus_result_free(&r);
    gremlin_ok("people", "g.V('c').drop()");
    assert_int_equal(gremlin("people", "g.V().count()", &r), 0);
    assert_int_equal(r.items[0].u.i, 2);
    cirrus_result_free(&r);
    assert_int_equal(gremlin("people", "g.V('b').outE().count()", &r), 0);
    assert_int_equal(r.items[0].u.i, 0); /* c's edge went with it */
    cirrus_result_free(&r);

    /* a taken id: nothing of the script is applied */
    assert_int_equal(gremlin("people",
                             "g.addV('person').property('id','z');"
                             "g.addV('person').property('id','a')",
                             &r),
                     CR_EEXISTS);
    cirrus_result_free(&r);
    assert_int_equal(gremlin("people", "g.V('z').count()", &r), 0);
    assert_int_equal(r.items[0].u.i, 0);
    cirrus_result_free(&r);
}

static void gremlin_bindings_and_errors(void **state)
{
    struct cirrus_result r;
    struct cirrus_value who = {0}, lim = {0};
    struct cirrus_binding b[2] = {{"who", &who}, {"n", &lim}};

    (void)state;
    create_graph("chain");
    gremlin_ok("chain", "g.addV('n').property('id','v0');g.addV('n').property('id','v1');"
                        "g.addV('n').property('id','v2')");
    gremlin_ok("chain",
               "g.V('v0').addE('next').to(g.V('v1'));g.V('v1').addE('next').to(g.V('v2'))");
    assert_int_equal(cirrus_value_string(&who, "v0", 2), 0);
    cirrus_value_int(&lim, 1);
    assert_int_equal(
        cirrus_gremlin(cx, "chain", "g.V(who).out('next').id().limit(n)", b, 2, 0, NULL, &r), 0);
    assert_int_equal(r.n_items, 1);
    assert_string_equal(str(&r.items[0]), "v1");
    cirrus_result_free(&r);
    /* a binding the script uses but the request lacks */
    assert_int_equal(cirrus_gremlin(cx, "chain", "g.V(who)", NULL, 0, 0, NULL, &r), CR_EINVAL);
    cirrus_result_free(&r);
    cirrus_value_clear(&who);

    /* a parse error names its position */
    assert_int_equal(gremlin("chain", "g.V('v0').out('next'", &r), CR_EINVAL);
    assert_non_null(strstr(cirrus_errmsg(cx), "1:"));
    cirrus_result_free(&r);
    assert_int_equal(gremlin("chain", "g.V().nosuchstep()", &r), CR_EINVAL);
    cirrus_result_free(&r);

    /* a run-away repeat stops on its budget */
    gremlin_ok("chain", "g.V('v2').addE('next').to(g.V('v0'))");
    assert_int_equal(cirrus_gremlin(cx, "chain", "g.V('v0').repeat(out('next')).times(100000000)",
                                    NULL, 0, 100000, NULL, &r),
                     CR_EBUDGET);
    cirrus_result_free(&r);
    /* the server still answers */
    assert_int_equal(gremlin("chain", "g.V().count()", &r), 0);
    assert_int_equal(r.items[0].u.i, 3);
    cirrus_result_free(&r);
}

/* ---- traversal helpers ---- */

static void load(const char *graph, const struct cirrus_edge *e, size_t n)
{
    struct cirrus_result r;

    for (size_t at = 0; at < n; at += 200) {
        size_t k = n - at < 200 ? n - at : 200;

        if (cirrus_load_edges(cx, graph, e + at, k, NULL, &r) != 0)
            fail_msg("load: %s", cirrus_errmsg(cx));
        cirrus_result_free(&r);
    }
}

/*   a -> b -> c -> d        a -likes-> e -> d      f (alone)       */
static void small_graph(void)
{
    static const struct cirrus_edge e[] = {
        {"a", "b", "knows"}, {"b", "c", "knows"}, {"c", "d", "knows"},
        {"a", "e", "likes"}, {"e", "d", "knows"}, {"f", "f", "self"},
    };
    struct cirrus_result r;

    create_graph("small");
    assert_int_equal(cirrus_load_edges(cx, "small", e, 6, "node", &r), 0);
    assert_int_equal(r.vertices_created, 6);
    cirrus_result_free(&r);
    /* loading again creates no vertices, only parallel edges */
    assert_int_equal(cirrus_load_edges(cx, "small", e, 1, NULL, &r), 0);
    assert_int_equal(r.vertices_created, 0);
    cirrus_result_free(&r);
    assert_int_equal(gremlin("small", "g.V('a').out('knows').count()", &r), 0);
    assert_int_equal(r.items[0].u.i, 2);
    cirrus_result_free(&r);
    assert_int_equal(gremlin("small", "g.V('a').label()", &r), 0);
    assert_string_equal(str(&r.items[0]), "node");
    cirrus_result_free(&r);
}

static void neighbors(void **state)
{
    struct cirrus_result r;
    const char *likes[] = {"likes"};
    struct cirrus_walk w = {CIRRUS_DIR_OUT, NULL, 0, 0};

    (void)state;
    small_graph();
    assert_int_equal(cirrus_neighbors(cx, "small", "a", &w, NULL, &r), 0);
    assert_int_equal(r.n_neighbors, 3); /* b twice (parallel edges), e */
    assert_string_equal(str(&r.neighbors[0].vertex), "b");
    assert_string_equal(str(&r.neighbors[0].edge_label), "knows");
    assert_string_equal(str(&r.neighbors[0].vertex_label), "node");
    assert_int_equal(r.neighbors[0].dir, CIRRUS_DIR_OUT);
    assert_string_equal(str(&r.neighbors[2].vertex), "e");
    assert_false(r.more);
    cirrus_result_free(&r);
    w.labels = likes;
    w.n_labels = 1;
    assert_int_equal(cirrus_neighbors(cx, "small", "a", &w, NULL, &r), 0);
    assert_int_equal(r.n_neighbors, 1);
    assert_string_equal(str(&r.neighbors[0].vertex), "e");
    cirrus_result_free(&r);
    w = (struct cirrus_walk){CIRRUS_DIR_IN, NULL, 0, 0};
    assert_int_equal(cirrus_neighbors(cx, "small", "d", &w, NULL, &r), 0);
    assert_int_equal(r.n_neighbors, 2);
    assert_string_equal(str(&r.neighbors[0].vertex), "c");
    assert_string_equal(str(&r.neighbors[1].vertex), "e");
    assert_int_equal(r.neighbors[0].dir, CIRRUS_DIR_IN);
    cirrus_result_free(&r);
    w = (struct cirrus_walk){CIRRUS_DIR_BOTH, NULL, 0, 1};
    assert_int_equal(cirrus_neighbors(cx, "small", "b", &w, NULL, &r), 0);
    assert_int_equal(r.n_neighbors, 1);
    assert_true(r.more);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_neighbors(cx, "small", "nobody", NULL, NULL, &r), 0);
    assert_int_equal(r.n_neighbors, 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_neighbors(cx, "nograph", "a", NULL, NULL, &r), CR_ENOCOLL);
    cirrus_result_free(&r);
}

static void khop_and_paths(void **state)
{
    struct cirrus_result r;
    struct cirrus_walk both = {CIRRUS_DIR_BOTH, NULL, 0, 0};
    struct cirrus_walk lim = {CIRRUS_DIR_OUT, NULL, 0, 2};

    (void)state;
    assert_int_equal(cirrus_khop(cx, "small", "a", 1, NULL, NULL, &r), 0);
    assert_int_equal(r.n_items, 2);
    assert_string_equal(str(&r.items[0]), "b");
    assert_string_equal(str(&r.items[1]), "e");
    assert_int_equal(r.depths[0], 1);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_khop(cx, "small", "a", 2, NULL, NULL, &r), 0);
    assert_int_equal(r.n_items, 4); /* b e c d */
    assert_string_equal(str(&r.items[3]), "d");
    assert_int_equal(r.depths[3], 2);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_khop(cx, "small", "d", 1, &both, NULL, &r), 0);
    assert_int_equal(r.n_items, 2);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_khop(cx, "small", "a", 0, NULL, NULL, &r), 0);
    assert_int_equal(r.n_items, 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_khop(cx, "small", "a", 3, &lim, NULL, &r), CR_ETOOMANY);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_shortest_path(cx, "small", "a", "d", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.n_items, 3);
    assert_string_equal(str(&r.items[0]), "a");
    assert_string_equal(str(&r.items[1]), "e");
    assert_string_equal(str(&r.items[2]), "d");
    cirrus_result_free(&r);
    /* against the edges: none; both ways: d c b a or d e a */
    assert_int_equal(cirrus_shortest_path(cx, "small", "d", "a", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.n_items, 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_shortest_path(cx, "small", "d", "a", &both, 0, NULL, &r), 0);
    assert_int_equal(r.n_items, 3);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_shortest_path(cx, "small", "a", "a", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.n_items, 1);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_shortest_path(cx, "small", "a", "f", &both, 0, NULL, &r), 0);
    assert_int_equal(r.n_items, 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_shortest_path(cx, "small", "a", "d", NULL, 2, NULL, &r), CR_EBUDGET);
    cirrus_result_free(&r);
}

/* ---- a random graph against a BFS written here ---- */

static int adj_out[R_VERTICES][R_EDGES], n_out[R_VERTICES];
static int adj_in[R_VERTICES][R_EDGES], n_in[R_VERTICES];

static void vname(char *buf, int v)
{
    snprintf(buf, 16, "r%d", v);
}

/* Distances from s (-1: unreachable) following out-edges, in-edges, or both. */
static void bfs(int s, enum cirrus_dir dir, int *dist)
{
    int q[R_VERTICES], head = 0, tail = 0;

    for (int i = 0; i < R_VERTICES; i++)
        dist[i] = -1;
    dist[s] = 0;
    q[tail++] = s;
    while (head < tail) {
        int u = q[head++];

        for (int side = 0; side < 2; side++) {
            if ((side == 0 && dir == CIRRUS_DIR_IN) || (side == 1 && dir == CIRRUS_DIR_OUT))
                continue;
            int n = side == 0 ? n_out[u] : n_in[u];
            for (int i = 0; i < n; i++) {
                int x = side == 0 ? adj_out[u][i] : adj_in[u][i];

                if (dist[x] < 0) {
                    dist[x] = dist[u] + 1;
                    q[tail++] = x;
                }
            }
        }
    }
}

static int vnum(const struct cirrus_value *v)
{
    return atoi(str(v) + 1);
}

static bool has_edge(int u, int x, enum cirrus_dir dir)
{
    for (int i = 0; dir != CIRRUS_DIR_IN && i < n_out[u]; i++)
        if (adj_out[u][i] == x)
            return true;
    for (int i = 0; dir != CIRRUS_DIR_OUT && i < n_in[u]; i++)
        if (adj_in[u][i] == x)
            return true;
    return false;
}

static void random_graph(void **state)
{
    static struct cirrus_edge e[R_EDGES];
    static char names[R_EDGES][2][16];
    unsigned seed = 12345;
    int dist[R_VERTICES], long_paths = 0;

    (void)state;
    create_graph("rand");
    for (int i = 0; i < R_EDGES; i++) {
        /* skewed: low numbers are hubs */
        int u = (int)((unsigned)rand_r(&seed) % R_VERTICES);
        int x = (int)((unsigned)rand_r(&seed) % (1 + (unsigned)rand_r(&seed) % R_VERTICES));

        vname(names[i][0], u);
        vname(names[i][1], x);
        e[i] = (struct cirrus_edge){names[i][0], names[i][1], NULL};
        adj_out[u][n_out[u]++] = x;
        adj_in[x][n_in[x]++] = u;
    }
    load("rand", e, R_EDGES);
    for (int t = 0; t < 60; t++) {
        int s = (int)((unsigned)rand_r(&seed) % R_VERTICES);
        int d = (int)((unsigned)rand_r(&seed) % R_VERTICES);
        enum cirrus_dir dir = (enum cirrus_dir)(t % 3);
        struct cirrus_walk w = {dir, NULL, 0, 0};
        uint32_t k = 1 + (uint32_t)t % 4;
        struct cirrus_result r;
        char sn[16], dn[16];
        int expect = 0;

        if (n_out[s] + n_in[s] == 0)
            continue; /* a vertex never seen does not exist */
        vname(sn, s);
        vname(dn, d);
        bfs(s, dir, dist);
        if (cirrus_khop(cx, "rand", sn, k, &w, NULL, &r) != 0)
            fail_msg("khop: %s", cirrus_errmsg(cx));
        for (int i = 0; i < R_VERTICES; i++)
            expect += i != s && dist[i] > 0 && dist[i] <= (int)k;
        assert_int_equal(r.n_items, expect);
        for (size_t i = 0; i < r.n_items; i++)
            assert_int_equal(dist[vnum(&r.items[i])], (int)r.depths[i]);
        cirrus_result_free(&r);

        if (cirrus_shortest_path(cx, "rand", sn, dn, &w, 0, NULL, &r) != 0)
            fail_msg("path: %s", cirrus_errmsg(cx));
        if (n_out[d] + n_in[d] == 0 || dist[d] < 0) {
            assert_int_equal(r.n_items, 0);
        } else {
            assert_int_equal(r.n_items, dist[d] + 1);
            long_paths += dist[d] >= 3;
            assert_int_equal(vnum(&r.items[0]), s);
            assert_int_equal(vnum(&r.items[r.n_items - 1]), d);
            for (size_t i = 0; i + 1 < r.n_items; i++)
                assert_true(has_edge(vnum(&r.items[i]), vnum(&r.items[i + 1]), dir));
        }
        cirrus_result_free(&r);
    }
    assert_true(long_paths >= 5); /* the graph is neither trivial nor disconnected */
}

static struct cirrus_field field(const char *name, enum cirrus_type type, int64_t i, double d,
                                 const char *text)
{
    struct cirrus_field f;

    memset(&f, 0, sizeof(f));
    f.name = (char *)name;
    f.value.type = type;
    if (type == CIRRUS_INT)
        f.value.u.i = i;
    else if (type == CIRRUS_DOUBLE)
        f.value.u.d = d;
    else if (type == CIRRUS_STRING) {
        f.value.u.str.ptr = (char *)text;
        f.value.u.str.len = strlen(text);
    }
    return f;
}

static int64_t count(const char *script)
{
    struct cirrus_result r;
    int64_t n;

    assert_int_equal(gremlin("lg", script, &r), 0);
    assert_int_equal(r.n_items, 1);
    n = r.items[0].u.i;
    cirrus_result_free(&r);
    return n;
}

/* load_graph: vertices and edges with typed properties in one entry; each failure applies
 * nothing of its entry. */
static void load_graph_elements(void **state)
{
    struct cirrus_field vp[] = {field("age", CIRRUS_INT, 42, 0, NULL),
                                field("tag", CIRRUS_STRING, 0, 0, "x"),
                                field("tag", CIRRUS_STRING, 0, 0, "y")};
    struct cirrus_field ep[] = {field("w", CIRRUS_DOUBLE, 0, 2.5, NULL),
                                field("w", CIRRUS_DOUBLE, 0, 1.0, NULL)};
    struct cirrus_load_element v[] = {{"v1", "person", NULL, NULL, vp, 3},
                                      {"v2", NULL, NULL, NULL, NULL, 0}};
    struct cirrus_load_element e[] = {{"e1", "knows", "v1", "v2", ep, 1}};
    struct cirrus_load_element nv[] = {{"v3", NULL, NULL, NULL, NULL, 0},
                                       {"v1", NULL, NULL, NULL, NULL, 0}};
    struct cirrus_load_element ne[] = {{NULL, NULL, "v1", "ghost", NULL, 0}};
    struct cirrus_load_element twice[] = {{NULL, NULL, "v1", "v2", ep, 2}};
    struct cirrus_load_element empty[] = {{NULL, NULL, "", "v2", NULL, 0}};
    struct cirrus_load_element *many = calloc(1001, sizeof(*many));
    struct cirrus_result r;

    (void)state;
    create_graph("lg");
    assert_int_equal(cirrus_load_graph(cx, "lg", v, 2, e, 1, &r), 0);
    assert_int_equal(r.vertices_created, 2);
    assert_int_equal(r.edges_created, 1);
    cirrus_result_free(&r);
    assert_int_equal(count("g.V('v1').has('age', 42).count()"), 1);
    assert_int_equal(count("g.V('v1').values('tag').count()"), 2);
    assert_int_equal(count("g.V('v2').hasLabel('vertex').count()"), 1);
    assert_int_equal(count("g.E('e1').has('w', 2.5).hasLabel('knows').inV().hasId('v2').count()"),
                     1);
    assert_int_equal(cirrus_load_graph(cx, "lg", nv, 2, NULL, 0, &r), CR_EEXISTS);
    cirrus_result_free(&r);
    assert_int_equal(count("g.V('v3').count()"), 0);
    assert_int_equal(cirrus_load_graph(cx, "lg", NULL, 0, ne, 1, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_load_graph(cx, "lg", NULL, 0, twice, 1, &r), CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_load_graph(cx, "lg", NULL, 0, empty, 1, &r), CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_load_graph(cx, "lg", NULL, 0, NULL, 0, &r), CR_EINVAL);
    cirrus_result_free(&r);
    assert_non_null(many);
    for (size_t i = 0; i < 1001; i++)
        many[i].id = "m";
    assert_int_equal(cirrus_load_graph(cx, "lg", many, 1001, NULL, 0, &r), CR_ETOOMANY);
    cirrus_result_free(&r);
    free(many);
    assert_int_equal(cirrus_load_graph(cx, "nograph", v, 1, NULL, 0, &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    assert_int_equal(count("g.E().count()"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(graphs_crud),
        cmocka_unit_test(gremlin_writes_and_reads),
        cmocka_unit_test(gremlin_bindings_and_errors),
        cmocka_unit_test(neighbors),
        cmocka_unit_test(khop_and_paths),
        cmocka_unit_test(random_graph),
        cmocka_unit_test(load_graph_elements),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
