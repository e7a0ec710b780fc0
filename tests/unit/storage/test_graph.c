/* Graphs in storage: the catalog of graphs, every element mutation and its errors, generated
 * ids, dropping a vertex with exactly its edges and entries, atomic batches, the change feed,
 * dropping a graph, two replicas reaching the same bytes, and a property test: after random
 * writes over a graph with skewed degrees, every expand equals a filter over all edges, property
 * and label lookups equal filtered scans, records equal a model kept here, and paging resumes
 * exactly at every position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "storage/storage_int.h"
#include "value_gen.h"

/* ---- builders ---- */

static struct mutation gmut(enum mut_type type, const char *graph)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = type;
    snprintf(m.graph.name, sizeof m.graph.name, "%s", graph);
    return m;
}

static struct value sv(const char *s)
{
    return s ? fx_str(s) : value_null();
}

static struct mutation add_v(const char *g, const char *id, const char *label)
{
    struct mutation m = gmut(MUT_GRAPH_ADD_VERTEX, g);

    m.graph.id = sv(id);
    m.graph.label = sv(label);
    return m;
}

static struct mutation add_e(const char *g, const char *id, const char *label, const char *from,
                             const char *to)
{
    struct mutation m = gmut(MUT_GRAPH_ADD_EDGE, g);

    m.graph.id = sv(id);
    m.graph.label = sv(label);
    m.graph.out_v = sv(from);
    m.graph.in_v = sv(to);
    return m;
}

static struct mutation set_p(const char *g, bool edge, const char *id, const char *key,
                             struct value v, bool list)
{
    struct mutation m = gmut(MUT_GRAPH_SET_PROPERTY, g);

    m.graph.edge = edge;
    m.graph.id = sv(id);
    m.graph.key = sv(key);
    m.graph.value = v;
    m.graph.list = list;
    return m;
}

static struct mutation rem_p(const char *g, bool edge, const char *id, const char *key,
                             struct value pid)
{
    struct mutation m = gmut(MUT_GRAPH_REMOVE_PROPERTY, g);

    m.graph.edge = edge;
    m.graph.id = sv(id);
    m.graph.key = sv(key);
    m.graph.prop_id = pid;
    return m;
}

static struct mutation drop(enum mut_type type, const char *g, const char *id)
{
    struct mutation m = gmut(type, g);

    m.graph.id = sv(id);
    return m;
}

/* Applies one mutation in its own entry; its result code. */
static int one(struct fx *f, struct mutation m, struct mutation_result *out)
{
    struct mutation_result r;

    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    if (out)
        *out = r;
    return r.code;
}

static struct graph_def create_graph(struct fx *f, const char *name)
{
    struct mutation_result r;

    assert_int_equal(one(f, gmut(MUT_CREATE_GRAPH, name), &r), 0);
    assert_string_equal(r.graph.name, name);
    return r.graph;
}

static bool str_is(const struct value *v, const char *s)
{
    return v->type == VT_STRING && v->u.s.len == strlen(s) &&
           memcmp(v->u.s.ptr, s, v->u.s.len) == 0;
}

/* Entries of a database whose keys start with the u32be id. */
static uint64_t count_prefix(struct fx *f, enum env_db db, uint32_t id)
{
    struct storage_txn *t = fx_read(f);
    struct env_cursor *c;
    struct env_val k, v;
    uint8_t prefix[4];
    uint64_t n = 0;
    int rc;

    cr_put_u32be(prefix, id);
    k = (struct env_val){prefix, 4};
    assert_int_equal(env_cursor_open(t, db, &c), 0);
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && k.n >= 4 && !memcmp(k.p, prefix, 4);
         rc = env_cursor_get(c, ENV_NEXT, &k, &v))
        n++;
    env_cursor_close(c);
    storage_read_end(t);
    return n;
}

/* The vertex, copied out of the read transaction into the fixture's arena. */
static int get_v(struct fx *f, const struct graph_def *g, const char *id, struct graph_vertex *out)
{
    struct storage_txn *t = fx_read(f);
    struct value v = fx_str(id);
    int rc = graph_get_vertex(t, g, &v, &f->a, out);

    if (rc == 0) {
        struct graph_prop *props = cr_arena_alloc(&f->a, (out->n_props + 1) * sizeof *props);

        assert_non_null(props);
        assert_int_equal(value_clone(&out->label, &f->a, &out->label), 0);
        for (size_t i = 0; i < out->n_props; i++) {
            assert_int_equal(value_clone(&out->props[i].key, &f->a, &props[i].key), 0);
            assert_int_equal(value_clone(&out->props[i].id, &f->a, &props[i].id), 0);
            assert_int_equal(value_clone(&out->props[i].value, &f->a, &props[i].value), 0);
        }
        out->props = props;
    }
    storage_read_end(t);
    return rc;
}

static int get_e(struct fx *f, const struct graph_def *g, const char *id)
{
    struct storage_txn *t = fx_read(f);
    struct value v = fx_str(id);
    struct graph_edge e;
    int rc = graph_get_edge(t, g, &v, &f->a, &e);

    storage_read_end(t);
    return rc;
}

/* Number of edges of v in direction dir (every label). */
static size_t degree(struct fx *f, const struct graph_def *g, const char *v, enum graph_dir dir)
{
    struct storage_txn *t = fx_read(f);
    struct graph_expand_query q = {.vertex = fx_str(v), .dir = dir};
    struct graph_adj_page p;

    assert_int_equal(graph_expand(t, g, &q, &f->a, &p), 0);
    assert_int_equal(p.next_len, 0);
    storage_read_end(t);
    return p.n;
}

/* ---- tests ---- */

static void catalog_of_graphs(void **state)
{
    struct fx f;
    struct graph_def a, b, got, list[4];
    struct mutation_result r;
    struct storage_txn *t;
    struct table_def tables[4];
    struct mutation cm;
    size_t n;
    bool more;
    uint64_t colls;

    (void)state;
    fx_open(&f);
    fx_create_table(&f, "tab", "pk", KEY_S, NULL, KEY_S, NULL);
    b = create_graph(&f, "beta");
    a = create_graph(&f, "alpha");
    assert_int_equal(a.id, b.id + 3); /* a graph takes three ids: elements, properties, labels */
    assert_int_equal(a.created_index, f.index);
    assert_int_equal(one(&f, gmut(MUT_CREATE_GRAPH, "alpha"), NULL), CR_EEXISTS);
    assert_int_equal(one(&f, gmut(MUT_CREATE_GRAPH, "a/b"), NULL), CR_ENAME);
    assert_int_equal(one(&f, gmut(MUT_CREATE_GRAPH, ""), NULL), CR_ENAME);
    cm = gmut(MUT_CREATE_COLLECTION, "x");
    snprintf(cm.coll.db, sizeof cm.coll.db, "db");
    snprintf(cm.coll.name, sizeof cm.coll.name, "c");
    cm.coll.policy.automatic = true;
    assert_int_equal(one(&f, cm, &r), 0);
    assert_int_equal(r.coll.id, a.id + 3);

    t = fx_read(&f);
    assert_int_equal(catalog_graph_get(t, "alpha", &got), 0);
    assert_int_equal(got.id, a.id);
    assert_int_equal(got.created_ms, a.created_ms);
    assert_int_equal(catalog_graph_get(t, "gamma", &got), CR_ENOCOLL);
    assert_int_equal(catalog_graph_list(t, NULL, list, 4, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_string_equal(list[0].name, "alpha");
    assert_string_equal(list[1].name, "beta");
    assert_int_equal(catalog_graph_list(t, NULL, list, 1, &n, &more), 0);
    assert_true(n == 1 && more);
    assert_int_equal(catalog_graph_list(t, "alpha", list, 4, &n, &more), 0);
    assert_true(n == 1 && !more);
    assert_string_equal(list[0].name, "beta");
    /* Tables and collections do not see graphs, nor graphs them. */
    assert_int_equal(catalog_list(t, NULL, 0, tables, 4, &n, &more), 0);
    assert_true(n == 1 && !more);
    assert_int_equal(catalog_coll_count(t, &colls), 0);
    assert_int_equal(colls, 1);
    storage_read_end(t);

    assert_int_equal(one(&f, gmut(MUT_DROP_GRAPH, "alpha"), &r), 0);
    assert_int_equal(r.graph.id, a.id);
    assert_int_equal(one(&f, gmut(MUT_DROP_GRAPH, "alpha"), NULL), CR_ENOCOLL);
    assert_int_equal(one(&f, add_v("alpha", "x", "l"), NULL), CR_ENOCOLL);
    t = fx_read(&f);
    assert_int_equal(catalog_graph_get(t, "alpha", &got), CR_ENOCOLL);
    assert_int_equal(catalog_graph_list(t, NULL, list, 4, &n, &more), 0);
    assert_int_equal(n, 1);
    storage_read_end(t);
    fx_close(&f);
}

static void elements(void **state)
{
    struct fx f;
    struct graph_def g;
    struct graph_vertex v;
    struct mutation_result r;
    struct mutation m;
    struct value gen, n = value_int(7);
    char longid[200];
    struct graph_prop props[2] = {{fx_str("name"), value_null(), fx_str("ann")},
                                  {fx_str("name"), value_null(), fx_str("anne")}};

    (void)state;
    fx_open(&f);
    g = create_graph(&f, "g");
    m = add_v("g", "a", "person");
    m.graph.props = props;
    m.graph.n_props = 2;
    assert_int_equal(one(&f, m, &r), 0);
    assert_true(str_is(&r.graph_elem, "a"));
    assert_int_equal(one(&f, add_v("g", "a", "person"), NULL), CR_EEXISTS);
    assert_int_equal(one(&f, add_v("g", "b", "person"), NULL), 0);
    assert_int_equal(one(&f, add_v("g", "c", ""), NULL), CR_EINVAL);
    m = add_v("g", "d", "person");
    m.graph.id = value_int(1);
    assert_int_equal(one(&f, m, NULL), CR_ETYPE);
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    assert_int_equal(one(&f, add_v("g", longid, "person"), NULL), CR_EKEYTOOBIG);
    m = add_v("g", "d", "person");
    props[0].value = value_null();
    m.graph.props = props;
    m.graph.n_props = 1;
    assert_int_equal(one(&f, m, NULL), CR_ETYPE);

    /* Generated ids: from the entry's index and the mutation's position. */
    assert_int_equal(one(&f, add_v("g", NULL, "thing"), &r), 0);
    assert_int_equal(graph_id_make(f.index, 0, 0, &f.a, &gen), 0);
    assert_true(value_equal(&r.graph_elem, &gen));
    assert_int_equal(gen.u.s.len, 26);

    assert_int_equal(get_v(&f, &g, "a", &v), 0);
    assert_true(str_is(&v.label, "person"));
    assert_int_equal(v.n_props, 2);
    assert_true(str_is(&v.props[0].value, "ann") && str_is(&v.props[1].value, "anne"));
    assert_false(value_equal(&v.props[0].id, &v.props[1].id));
    assert_int_equal(get_v(&f, &g, "zz", &v), CR_ENOTFOUND);

    /* Edges. */
    assert_int_equal(one(&f, add_e("g", "e1", "knows", "a", "b"), NULL), 0);
    assert_int_equal(one(&f, add_e("g", "e1", "knows", "b", "a"), NULL), CR_EEXISTS);
    assert_int_equal(one(&f, add_e("g", "e2", "knows", "a", "nobody"), NULL), CR_ENOTFOUND);
    assert_int_equal(one(&f, add_e("g", "e2", "knows", "nobody", "a"), NULL), CR_ENOTFOUND);
    assert_int_equal(one(&f, add_e("g", "e2", "", "a", "b"), NULL), CR_EINVAL);
    m = add_e("g", "e2", "knows", "a", "b");
    props[0] = (struct graph_prop){fx_str("w"), value_null(), n};
    props[1] = (struct graph_prop){fx_str("w"), value_null(), n};
    m.graph.props = props;
    m.graph.n_props = 2;
    assert_int_equal(one(&f, m, NULL), CR_EINVAL); /* one value per key on an edge */
    m.graph.n_props = 1;
    assert_int_equal(one(&f, m, NULL), 0);
    assert_int_equal(one(&f, add_e("g", NULL, "self", "b", "b"), &r), 0);
    assert_int_equal(get_e(&f, &g, "e1"), 0);
    assert_int_equal(get_e(&f, &g, "e3"), CR_ENOTFOUND);
    {
        struct storage_txn *t = fx_read(&f);
        struct graph_edge e;
        struct value id = fx_str("e2");

        assert_int_equal(graph_get_edge(t, &g, &id, &f.a, &e), 0);
        assert_true(str_is(&e.out_v, "a") && str_is(&e.in_v, "b") && str_is(&e.label, "knows"));
        assert_true(str_is(&e.out_label, "person") && str_is(&e.in_label, "person"));
        assert_int_equal(e.n_props, 1);
        assert_true(value_equal(&e.props[0].value, &n));
        storage_read_end(t);
    }
    assert_int_equal(degree(&f, &g, "a", GRAPH_OUT), 2);
    assert_int_equal(degree(&f, &g, "a", GRAPH_IN), 0);
    assert_int_equal(degree(&f, &g, "b", GRAPH_IN), 3); /* e1, e2, the self-loop */
    assert_int_equal(degree(&f, &g, "b", GRAPH_BOTH), 4);
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), 6);

    /* Drop an edge: its record and both entries. */
    assert_int_equal(one(&f, drop(MUT_GRAPH_DROP_EDGE, "g", "e1"), NULL), 0);
    assert_int_equal(one(&f, drop(MUT_GRAPH_DROP_EDGE, "g", "e1"), NULL), CR_ENOTFOUND);
    assert_int_equal(get_e(&f, &g, "e1"), CR_ENOTFOUND);
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), 4);
    assert_int_equal(degree(&f, &g, "a", GRAPH_OUT), 1);
    assert_int_equal(one(&f, drop(MUT_GRAPH_DROP_VERTEX, "g", "zz"), NULL), CR_ENOTFOUND);
    fx_close(&f);
}

static struct graph_hit_page lookup(struct fx *f, struct storage_txn *t, const struct graph_def *g,
                                    const char *label, const char *key, struct value v)
{
    struct value l = label ? fx_str(label) : value_null();
    struct graph_lookup_query q = {.label = label ? &l : NULL, .key = fx_str(key), .value = v};
    struct graph_hit_page p;

    assert_int_equal(graph_lookup(t, g, &q, &f->a, &p), 0);
    return p;
}

static void properties(void **state)
{
    struct fx f;
    struct graph_def g;
    struct graph_vertex v;
    struct graph_hit_page p;
    struct storage_txn *t;
    struct mutation_result r;
    struct value pid;

    (void)state;
    fx_open(&f);
    g = create_graph(&f, "g");
    assert_int_equal(one(&f, add_v("g", "a", "person"), NULL), 0);
    assert_int_equal(one(&f, add_v("g", "b", "place"), NULL), 0);
    assert_int_equal(one(&f, add_e("g", "e", "at", "a", "b"), NULL), 0);
    assert_int_equal(one(&f, set_p("g", false, "a", "x", value_int(1), false), NULL), 0);
    assert_int_equal(one(&f, set_p("g", false, "a", "y", fx_str("s"), false), NULL), 0);
    assert_int_equal(one(&f, set_p("g", false, "a", "x", value_int(2), true), &r), 0);
    assert_int_equal(graph_id_make(f.index, 0, 1, &f.a, &pid), 0);
    assert_int_equal(get_v(&f, &g, "a", &v), 0);
    /* Keys in first-set order, the values of one key together in the order they were added. */
    assert_int_equal(v.n_props, 3);
    assert_true(str_is(&v.props[0].key, "x") && v.props[0].value.u.i == 1);
    assert_true(str_is(&v.props[1].key, "x") && v.props[1].value.u.i == 2);
    assert_true(value_equal(&v.props[1].id, &pid));
    assert_true(str_is(&v.props[2].key, "y"));
    assert_int_equal(one(&f, set_p("g", false, "b", "x", value_double(2.0), false), NULL), 0);

    t = fx_read(&f);
    p = lookup(&f, t, &g, NULL, "x", value_int(2));
    assert_int_equal(p.n, 2);
    assert_true(str_is(&p.hits[0].id, "a") && str_is(&p.hits[1].id, "b"));
    p = lookup(&f, t, &g, "place", "x", value_int(2));
    assert_int_equal(p.n, 1);
    assert_true(str_is(&p.hits[0].id, "b") && str_is(&p.hits[0].label, "place"));
    p = lookup(&f, t, &g, NULL, "x", value_int(1));
    assert_int_equal(p.n, 1);
    storage_read_end(t);

    /* Single cardinality replaces every value of the key, in its place. */
    assert_int_equal(one(&f, set_p("g", false, "a", "x", value_int(3), false), NULL), 0);
    assert_int_equal(get_v(&f, &g, "a", &v), 0);
    assert_int_equal(v.n_props, 2);
    assert_true(str_is(&v.props[0].key, "x") && v.props[0].value.u.i == 3);
    t = fx_read(&f);
    assert_int_equal(lookup(&f, t, &g, NULL, "x", value_int(1)).n, 0);
    assert_int_equal(lookup(&f, t, &g, NULL, "x", value_int(2)).n, 1);
    assert_int_equal(lookup(&f, t, &g, NULL, "x", value_int(3)).n, 1);
    storage_read_end(t);

    /* Remove: one value by its id, or every value of a key. */
    assert_int_equal(one(&f, set_p("g", false, "a", "x", value_int(4), true), NULL), 0);
    assert_int_equal(get_v(&f, &g, "a", &v), 0);
    assert_int_equal(v.n_props, 3);
    assert_int_equal(one(&f, rem_p("g", false, "a", "x", v.props[0].id), NULL), 0);
    assert_int_equal(get_v(&f, &g, "a", &v), 0);
    assert_int_equal(v.n_props, 2);
    assert_true(v.props[0].value.u.i == 4);
    assert_int_equal(one(&f, rem_p("g", false, "a", "nothing", value_null()), NULL), 0);
    assert_int_equal(one(&f, rem_p("g", false, "a", "x", value_null()), NULL), 0);
    assert_int_equal(get_v(&f, &g, "a", &v), 0);
    assert_int_equal(v.n_props, 1);
    assert_true(str_is(&v.props[0].key, "y"));
    t = fx_read(&f);
    assert_int_equal(lookup(&f, t, &g, NULL, "x", value_int(4)).n, 0);
    assert_int_equal(lookup(&f, t, &g, NULL, "y", fx_str("s")).n, 1);
    storage_read_end(t);
    assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + 1), 2); /* a.y = s, b.x = 2.0 */

    /* Edges: one value per key; errors. */
    assert_int_equal(one(&f, set_p("g", true, "e", "w", value_int(1), false), NULL), 0);
    assert_int_equal(one(&f, set_p("g", true, "e", "w", value_int(2), false), NULL), 0);
    assert_int_equal(one(&f, set_p("g", true, "e", "w", value_int(3), true), NULL), CR_EINVAL);
    assert_int_equal(one(&f, set_p("g", true, "nope", "w", value_int(3), false), NULL),
                     CR_ENOTFOUND);
    assert_int_equal(one(&f, set_p("g", false, "nope", "w", value_int(3), false), NULL),
                     CR_ENOTFOUND);
    assert_int_equal(one(&f, set_p("g", false, "a", "w", value_null(), false), NULL), CR_ETYPE);
    assert_int_equal(one(&f, set_p("g", false, "a", "", value_int(1), false), NULL), CR_EINVAL);
    assert_int_equal(one(&f, rem_p("g", true, "nope", "w", value_null()), NULL), CR_ENOTFOUND);
    t = fx_read(&f);
    {
        struct graph_edge e;
        struct value id = fx_str("e");

        assert_int_equal(graph_get_edge(t, &g, &id, &f.a, &e), 0);
        assert_int_equal(e.n_props, 1);
        assert_int_equal(e.props[0].value.u.i, 2);
        assert_int_equal(e.props[0].id.type, VT_NULL);
    }
    /* Edges have no property entries. */
    storage_read_end(t);
    assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + 1), 2);
    fx_close(&f);
}

static void drop_vertex_exactly(void **state)
{
    struct fx f;
    struct graph_def g;
    uint64_t adj, props, labels;
    struct mutation m;
    struct graph_prop p[3] = {{fx_str("k"), value_null(), value_int(1)},
                              {fx_str("k"), value_null(), value_int(2)},
                              {fx_str("j"), value_null(), fx_str("x")}};

    (void)state;
    fx_open(&f);
    g = create_graph(&f, "g");
    create_graph(&f, "other");
    m = add_v("g", "hub", "h");
    m.graph.props = p;
    m.graph.n_props = 3;
    assert_int_equal(one(&f, m, NULL), 0);
    for (int i = 0; i < 5; i++) {
        char id[8];

        snprintf(id, sizeof id, "n%d", i);
        m = add_v("g", id, "n");
        m.graph.props = p;
        m.graph.n_props = 1;
        assert_int_equal(one(&f, m, NULL), 0);
        assert_int_equal(one(&f, add_e("g", NULL, "to", "hub", id), NULL), 0);
        assert_int_equal(one(&f, add_e("g", NULL, i % 2 ? "from" : "to", id, "hub"), NULL), 0);
    }
    assert_int_equal(one(&f, add_e("g", NULL, "to", "n1", "n2"), NULL), 0);
    assert_int_equal(one(&f, add_e("g", "loop", "self", "hub", "hub"), NULL), 0);
    assert_int_equal(one(&f, add_e("g", "loop2", "self", "hub", "hub"), NULL), 0);
    assert_int_equal(one(&f, add_v("other", "hub", "h"), NULL), 0);
    assert_int_equal(one(&f, add_e("other", NULL, "to", "hub", "hub"), NULL), 0);
    adj = count_prefix(&f, ENV_ADJ, g.id);
    props = count_prefix(&f, ENV_INDEX, g.id + 1);
    labels = count_prefix(&f, ENV_INDEX, g.id + 2);
    assert_int_equal(adj, 2 * 13);
    assert_int_equal(props, 3 + 5);
    assert_int_equal(labels, 6);
    assert_int_equal(degree(&f, &g, "hub", GRAPH_BOTH), 14); /* 10 edges, 2 loops twice */

    assert_int_equal(one(&f, drop(MUT_GRAPH_DROP_VERTEX, "g", "hub"), NULL), 0);
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), adj - 2 * 12);
    assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + 1), props - 3);
    assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + 2), labels - 1);
    assert_int_equal(count_prefix(&f, ENV_DATA, g.id), 5 + 1);
    assert_int_equal(get_e(&f, &g, "loop"), CR_ENOTFOUND);
    assert_int_equal(degree(&f, &g, "n1", GRAPH_BOTH), 1);
    assert_int_equal(degree(&f, &g, "n2", GRAPH_IN), 1);
    assert_int_equal(degree(&f, &g, "hub", GRAPH_BOTH), 0);
    /* The other graph's vertex of the same id keeps its edge. */
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id + 3), 2);

    /* Dropping the graph removes everything it holds, and nothing else. */
    assert_int_equal(one(&f, gmut(MUT_DROP_GRAPH, "g"), NULL), 0);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(count_prefix(&f, ENV_DATA, g.id + i), 0);
        assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + i), 0);
    }
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), 0);
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id + 3), 2);
    assert_int_equal(count_prefix(&f, ENV_DATA, g.id + 3), 2);
    fx_close(&f);
}

static void atomic_batches(void **state)
{
    struct fx f;
    struct graph_def g;
    struct mutation m[4];
    struct mutation_result r[4];
    struct change ch[8];
    struct storage_txn *t;
    size_t n;
    uint64_t first;

    (void)state;
    fx_open(&f);
    g = create_graph(&f, "g");
    m[0] = add_v("g", "a", "l");
    m[1] = add_v("g", "b", "l");
    m[2] = add_e("g", "e", "x", "a", "b");
    m[3] = add_e("g", "f", "x", "a", "c");
    assert_int_equal(fx_apply(&f, m, 4, r), 0);
    assert_int_equal(r[3].code, CR_ENOTFOUND);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].code, CR_EABORTED);
    assert_int_equal(count_prefix(&f, ENV_DATA, g.id), 0);
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), 0);
    assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + 2), 0);

    m[3] = add_e("g", NULL, "x", "b", "a");
    first = f.index + 1;
    assert_int_equal(fx_apply(&f, m, 4, r), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].code, 0);
    assert_int_equal(count_prefix(&f, ENV_DATA, g.id), 4);
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), 4);

    /* The change feed: one record per mutation, keyed by element. */
    t = fx_read(&f);
    assert_int_equal(changes_read(t, first, ch, 8, &n, &f.a), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ch[0].type, MUT_PUT);
    assert_int_equal(ch[0].table_id, g.id);
    assert_true(str_is(value_map_get(&ch[0].key, "vertex", 6), "a"));
    assert_true(str_is(value_map_get(&ch[2].key, "edge", 4), "e"));
    assert_true(str_is(value_map_get(&ch[2].item, "out", 3), "a"));
    assert_int_equal(ch[3].ordinal, 3);
    storage_read_end(t);
    assert_int_equal(one(&f, drop(MUT_GRAPH_DROP_VERTEX, "g", "a"), NULL), 0);
    t = fx_read(&f);
    assert_int_equal(changes_read(t, f.index, ch, 8, &n, &f.a), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].type, MUT_DELETE);
    assert_true(str_is(value_map_get(&ch[0].key, "vertex", 6), "a"));
    storage_read_end(t);
    fx_close(&f);
}

/* Every key and value of database db, in order, as one byte string (malloc'ed). */
static size_t dump(struct fx *f, enum env_db db, uint8_t **out)
{
    struct storage_txn *t = fx_read(f);
    struct env_cursor *c;
    struct env_val k, v;
    struct cr_buf b;
    int rc;

    cr_buf_init(&b);
    assert_int_equal(env_cursor_open(t, db, &c), 0);
    for (rc = env_cursor_get(c, ENV_FIRST, &k, &v); rc == 0;
         rc = env_cursor_get(c, ENV_NEXT, &k, &v)) {
        assert_int_equal(cr_buf_put_varint(&b, k.n), 0);
        assert_int_equal(cr_buf_append(&b, k.p, k.n), 0);
        assert_int_equal(cr_buf_put_varint(&b, v.n), 0);
        assert_int_equal(cr_buf_append(&b, v.p, v.n), 0);
    }
    assert_int_equal(rc, CR_ENOTFOUND);
    env_cursor_close(c);
    storage_read_end(t);
    *out = b.data;
    return b.len;
}

/* Two replicas applying the same entries, generated ids included, reach the same bytes. */
static void deterministic(void **state)
{
    struct fx f[2];
    struct mutation m[40];
    struct mutation_result r[2][40];
    struct value ids[10];

    (void)state;
    fx_open(&f[0]);
    fx_open(&f[1]);
    for (int step = 0; step < 4; step++) {
        size_t n = 0;

        if (step == 0)
            m[n++] = gmut(MUT_CREATE_GRAPH, "g");
        for (int i = 0; step == 1 && i < 10; i++) {
            m[n] = add_v("g", NULL, i % 2 ? "odd" : "even");
            assert_int_equal(graph_id_make(f[0].index + 1, (uint16_t)n, 0, &f[0].a, &ids[i]), 0);
            n++;
        }
        for (int i = 0; step == 2 && i < 30; i++) {
            m[n] = add_e("g", NULL, i % 3 ? "x" : "y", NULL, NULL);
            m[n].graph.out_v = ids[(i * 7) % 10];
            m[n].graph.in_v = ids[(i * 3) % 10];
            n++;
            if (i % 4 == 0) {
                m[n] = set_p("g", false, NULL, "k", value_int(i % 5), i % 8 == 0);
                m[n++].graph.id = ids[i % 10];
            }
        }
        if (step == 3) {
            m[n] = drop(MUT_GRAPH_DROP_VERTEX, "g", NULL);
            m[n++].graph.id = ids[3];
        }
        for (int k = 0; k < 2; k++) {
            assert_int_equal(fx_apply(&f[k], m, n, r[k]), 0);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(r[k][i].code, 0);
                if (step > 0)
                    assert_true(value_equal(&r[k][i].graph_elem, &r[0][i].graph_elem));
            }
        }
    }
    for (enum env_db db = 0; db < ENV_NDB; db++) {
        uint8_t *a, *b;
        size_t na = dump(&f[0], db, &a), nb = dump(&f[1], db, &b);

        assert_true(na > 0);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        free(a);
        free(b);
    }
    fx_close(&f[0]);
    fx_close(&f[1]);
}

/* ---- the property test: a model kept here ---- */

#define NV 2500
#define NE 12000
#define NKEYS 4
#define NLABELS 3

static const char *const vlabels[NLABELS] = {"person", "place", "thing"};
static const char *const elabels[NLABELS] = {"knows", "likes", "at"};
static const char *const keys[NKEYS] = {"k0", "k1", "k2", "name"};

struct mprop {
    int key;
    struct value value, id;
};

struct mvertex {
    char id[16];
    int label;
    bool alive;
    struct mprop *p;
    size_t n, cap;
};

struct medge {
    char id[16];
    int label, from, to;
    bool alive;
};

struct model {
    struct mvertex v[NV];
    struct medge e[NE];
    int nv, ne;
};

static struct value rand_value(void)
{
    uint64_t r = gen_below(10);

    if (r < 5)
        return value_int((int64_t)gen_below(6));
    if (r < 6)
        return value_double((double)gen_below(6)); /* equal to the INT of the same number */
    return r < 9 ? sv((const char *[]){"s0", "s1", "s2"}[gen_below(3)]) : value_bool(true);
}

static void mprop_insert(struct mvertex *v, size_t at, struct mprop p)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 4;
        v->p = realloc(v->p, v->cap * sizeof *v->p);
        assert_non_null(v->p);
    }
    memmove(&v->p[at + 1], &v->p[at], (v->n - at) * sizeof *v->p);
    v->p[at] = p;
    v->n++;
}

/* A vertex drawn with skew: low indexes much more often (degrees follow a power law). */
static int skewed(const struct model *md)
{
    double u = (double)gen_below(1u << 30) / (double)(1u << 30);

    return (int)((double)md->nv * u * u * u);
}

static int live_vertex(const struct model *md, bool skew)
{
    for (int tries = 0; tries < 100; tries++) {
        int i = skew ? skewed(md) : (int)gen_below((uint64_t)md->nv);

        if (md->v[i].alive)
            return i;
    }
    return -1;
}

/* Draws one valid mutation, applies it to the model, and returns it (ordinal: its position in
 * its entry, index: the entry's log index, for the ids apply generates). */
static struct mutation random_mut(struct fx *f, struct model *md, uint64_t index, uint16_t ordinal)
{
    uint64_t r = gen_below(100);
    int a, b;

    if (md->nv < NV && (r < 15 || md->nv < 50)) {
        struct mvertex *v = &md->v[md->nv++];

        snprintf(v->id, sizeof v->id, "v%d", md->nv - 1);
        v->label = (int)gen_below(NLABELS);
        v->alive = true;
        return add_v("g", v->id, vlabels[v->label]);
    }
    a = live_vertex(md, true);
    b = live_vertex(md, false);
    if (r < 60 && md->ne < NE && a >= 0 && b >= 0) {
        struct medge *e = &md->e[md->ne++];

        snprintf(e->id, sizeof e->id, "e%d", md->ne - 1);
        e->label = (int)gen_below(NLABELS);
        e->from = gen_below(2) ? a : b;
        e->to = e->from == a ? b : a;
        e->alive = true;
        return add_e("g", e->id, elabels[e->label], md->v[e->from].id, md->v[e->to].id);
    }
    if (r < 68 && md->ne > 0) {
        int i = (int)gen_below((uint64_t)md->ne);

        if (md->e[i].alive) {
            md->e[i].alive = false;
            return drop(MUT_GRAPH_DROP_EDGE, "g", md->e[i].id);
        }
    }
    if (r >= 68 && r < 70 && b >= 0) {
        md->v[b].alive = false;
        for (int i = 0; i < md->ne; i++)
            if (md->e[i].alive && (md->e[i].from == b || md->e[i].to == b))
                md->e[i].alive = false;
        return drop(MUT_GRAPH_DROP_VERTEX, "g", md->v[b].id);
    }
    if (b < 0)
        b = live_vertex(md, false);
    assert_true(b >= 0);
    {
        struct mvertex *v = &md->v[b];
        int k = (int)gen_below(NKEYS);
        bool list = gen_below(2);
        struct mprop p = {k, rand_value(), value_null()};
        size_t at = v->n, first = v->n, kept = 0;

        if (r < 85 || v->n == 0) {
            assert_int_equal(graph_id_make(index, ordinal, 1, &f->a, &p.id), 0);
            for (size_t i = 0; i < v->n; i++)
                if (v->p[i].key == k) {
                    first = i < first ? i : first;
                    at = i + 1;
                }
            if (!list) {
                for (size_t i = 0; i < v->n; i++)
                    if (v->p[i].key != k)
                        v->p[kept++] = v->p[i];
                v->n = kept;
                at = first; /* every value before it was kept; v->n when the key was absent */
            }
            mprop_insert(v, at, p);
            return set_p("g", false, v->id, keys[k], p.value, list);
        }
        /* Remove: one value by id, or a key. */
        {
            size_t i = gen_below(v->n);
            bool by_id = gen_below(2);
            struct mprop victim = v->p[i];

            for (size_t j = 0; j < v->n; j++)
                if (v->p[j].key != victim.key || (by_id && !value_equal(&v->p[j].id, &victim.id)))
                    v->p[kept++] = v->p[j];
            v->n = kept;
            return rem_p("g", false, v->id, keys[victim.key], by_id ? victim.id : value_null());
        }
    }
}

static int bytecmp(const char *a, const char *b)
{
    return strcmp(a, b); /* unsigned bytes, shorter prefix first: the keycodec string order */
}

struct adj_exp {
    int dir;
    const char *label, *nbr, *eid;
};

static int adj_exp_cmp(const void *x, const void *y)
{
    const struct adj_exp *a = x, *b = y;
    int c;

    if (a->dir != b->dir)
        return a->dir - b->dir;
    if ((c = bytecmp(a->label, b->label)) != 0)
        return c;
    if ((c = bytecmp(a->nbr, b->nbr)) != 0)
        return c;
    return bytecmp(a->eid, b->eid);
}

static int str_cmp_p(const void *x, const void *y)
{
    return bytecmp(*(const char *const *)x, *(const char *const *)y);
}

/* expand(v, dir, labels) read page by page with `limit` into out (arena). */
static size_t expand_all(struct fx *f, struct storage_txn *t, const struct graph_def *g,
                         const char *v, enum graph_dir dir, const struct value *labels, size_t nl,
                         uint32_t limit, struct graph_adj **out)
{
    struct graph_expand_query q = {fx_str(v), dir, labels, nl, limit, NULL, 0};
    struct graph_adj *all = NULL;
    size_t n = 0, cap = 0;

    for (;;) {
        struct graph_adj_page p;

        assert_int_equal(graph_expand(t, g, &q, &f->a, &p), 0);
        if (limit)
            assert_true(p.n <= limit);
        if (n + p.n > cap) {
            cap = 2 * (n + p.n) + 16;
            all = realloc(all, cap * sizeof *all);
            assert_non_null(all);
        }
        if (p.n)
            memcpy(all + n, p.adj, p.n * sizeof *all);
        n += p.n;
        if (!p.next_len)
            break;
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    }
    *out = all;
    return n;
}

static void check_expand(struct fx *f, struct storage_txn *t, const struct graph_def *g,
                         const struct model *md, int vi)
{
    const struct mvertex *v = &md->v[vi];
    struct adj_exp *exp = malloc((size_t)(2 * md->ne + 1) * sizeof *exp);

    assert_non_null(exp);
    for (int d = 0; d < 3; d++) {
        for (int ls = 0; ls < 4; ls++) {
            /* label sets: none (all), {one}, {two}, {one, one again, another} */
            int l1 = (int)gen_below(NLABELS), l2 = (int)gen_below(NLABELS);
            struct value labels[3] = {sv(elabels[l1]), sv(elabels[l2]), sv(elabels[l1])};
            size_t nl = ls == 0 ? 0 : ls == 1 ? 1 : ls == 2 ? 2 : 3, n = 0, got_n;
            struct graph_adj *got;

            for (int i = 0; i < md->ne; i++) {
                const struct medge *e = &md->e[i];
                bool lab = nl == 0 || e->label == l1 || (nl > 1 && e->label == l2);

                if (!e->alive || !lab)
                    continue;
                if (d != GRAPH_IN && e->from == vi)
                    exp[n++] = (struct adj_exp){0, elabels[e->label], md->v[e->to].id, e->id};
                if (d != GRAPH_OUT && e->to == vi)
                    exp[n++] = (struct adj_exp){1, elabels[e->label], md->v[e->from].id, e->id};
            }
            qsort(exp, n, sizeof *exp, adj_exp_cmp);
            for (size_t li = 0; li < 3; li++) {
                static const uint32_t limits[] = {0, 1, 3};

                got_n = expand_all(f, t, g, v->id, (enum graph_dir)d, labels, nl, limits[li], &got);
                assert_int_equal(got_n, n);
                for (size_t i = 0; i < n; i++) {
                    assert_int_equal(got[i].dir, exp[i].dir ? GRAPH_IN : GRAPH_OUT);
                    assert_true(str_is(&got[i].label, exp[i].label));
                    assert_true(str_is(&got[i].neighbour, exp[i].nbr));
                    assert_true(str_is(&got[i].edge, exp[i].eid));
                    assert_true(str_is(&got[i].vertex_label, vlabels[v->label]));
                }
                free(got);
            }
        }
    }
    free(exp);
}

/* Every vertex read by its record equals the model. */
static void check_vertex(struct fx *f, struct storage_txn *t, const struct graph_def *g,
                         const struct model *md, int vi)
{
    const struct mvertex *v = &md->v[vi];
    struct value id = fx_str(v->id);
    struct graph_vertex got;

    if (!v->alive) {
        assert_int_equal(graph_get_vertex(t, g, &id, &f->a, &got), CR_ENOTFOUND);
        return;
    }
    assert_int_equal(graph_get_vertex(t, g, &id, &f->a, &got), 0);
    assert_true(str_is(&got.label, vlabels[v->label]));
    assert_int_equal(got.n_props, v->n);
    for (size_t i = 0; i < v->n; i++) {
        assert_true(str_is(&got.props[i].key, keys[v->p[i].key]));
        assert_true(value_equal(&got.props[i].value, &v->p[i].value));
        assert_int_equal(got.props[i].value.type == VT_DOUBLE, v->p[i].value.type == VT_DOUBLE);
        assert_true(value_equal(&got.props[i].id, &v->p[i].id));
    }
}

static void check_lookup(struct fx *f, struct storage_txn *t, const struct graph_def *g,
                         const struct model *md, int k, struct value val, int label)
{
    const char **exp = malloc((size_t)md->nv * sizeof *exp);
    struct value lv = label >= 0 ? sv(vlabels[label]) : value_null();
    struct graph_lookup_query q = {label >= 0 ? &lv : NULL, fx_str(keys[k]), val, 0, NULL, 0};
    size_t n = 0, got = 0;

    assert_non_null(exp);
    for (int i = 0; i < md->nv; i++) {
        const struct mvertex *v = &md->v[i];
        bool hit = false;

        for (size_t j = 0; v->alive && j < v->n && !hit; j++)
            hit = v->p[j].key == k && value_equal(&v->p[j].value, &val);
        if (hit && (label < 0 || v->label == label))
            exp[n++] = v->id;
    }
    qsort(exp, n, sizeof *exp, str_cmp_p);
    q.limit = (uint32_t)gen_below(4);
    for (;;) {
        struct graph_hit_page p;

        assert_int_equal(graph_lookup(t, g, &q, &f->a, &p), 0);
        for (size_t i = 0; i < p.n; i++, got++) {
            assert_true(got < n);
            assert_true(str_is(&p.hits[i].id, exp[got]));
        }
        if (!p.next_len)
            break;
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    }
    assert_int_equal(got, n);
    free(exp);
}

/* Scans (vertices, vertices of a label, edges) page by page at a limit equal the full read. */
static void check_scans(struct fx *f, struct storage_txn *t, const struct graph_def *g,
                        const struct model *md, uint32_t limit)
{
    const char **exp = malloc((size_t)(md->nv + md->ne + 1) * sizeof *exp);

    assert_non_null(exp);
    for (int what = 0; what < 2 + NLABELS; what++) {
        struct value lv = what >= 2 ? sv(vlabels[what - 2]) : value_null();
        struct graph_scan_query q = {what >= 2 ? &lv : NULL, limit, NULL, 0};
        size_t n = 0, got = 0;

        if (what == 1) {
            for (int i = 0; i < md->ne; i++)
                if (md->e[i].alive)
                    exp[n++] = md->e[i].id;
        } else {
            for (int i = 0; i < md->nv; i++)
                if (md->v[i].alive && (what == 0 || md->v[i].label == what - 2))
                    exp[n++] = md->v[i].id;
        }
        qsort(exp, n, sizeof *exp, str_cmp_p);
        for (;;) {
            struct graph_page p;

            if (what == 1)
                assert_int_equal(graph_scan_edges(t, g, &q, &f->a, &p), 0);
            else
                assert_int_equal(graph_scan_vertices(t, g, &q, &f->a, &p), 0);
            if (limit)
                assert_true(p.n <= limit);
            for (size_t i = 0; i < p.n; i++, got++) {
                assert_true(got < n);
                assert_true(str_is(what == 1 ? &p.edges[i].id : &p.vertices[i].id, exp[got]));
            }
            if (!p.next_len)
                break;
            q.cursor = p.next;
            q.cursor_len = p.next_len;
        }
        assert_int_equal(got, n);
    }
    free(exp);
}

static void property(void **state)
{
    struct fx f;
    struct graph_def g;
    struct model *md = calloc(1, sizeof *md);
    struct mutation batch[64];
    struct mutation_result res[64];
    struct storage_txn *t;
    uint64_t live_edges = 0, live_vertices = 0;

    (void)state;
    assert_non_null(md);
    gen_seed(GEN_SEED ^ 0x67);
    fx_open_sized(&f, 1u << 30);
    g = create_graph(&f, "g");
    while (md->ne < NE - 64) {
        size_t n = 1 + gen_below(64);

        for (size_t i = 0; i < n; i++)
            batch[i] = random_mut(&f, md, f.index + 1, (uint16_t)i);
        assert_int_equal(fx_apply(&f, batch, n, res), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(res[i].code, 0);
    }
    for (int i = 0; i < md->ne; i++)
        live_edges += md->e[i].alive;
    for (int i = 0; i < md->nv; i++)
        live_vertices += md->v[i].alive;
    printf("# %llu vertices, %llu edges, %zu out-edges of v0\n", (unsigned long long)live_vertices,
           (unsigned long long)live_edges, degree(&f, &g, "v0", GRAPH_OUT));
    assert_int_equal(count_prefix(&f, ENV_ADJ, g.id), 2 * live_edges);
    assert_int_equal(count_prefix(&f, ENV_DATA, g.id), live_edges + live_vertices);
    assert_int_equal(count_prefix(&f, ENV_INDEX, g.id + 2), live_vertices);

    t = fx_read(&f);
    for (int i = 0; i < md->nv; i++)
        check_vertex(&f, t, &g, md, i);
    for (int i = 0; i < 150; i++) {
        int v = live_vertex(md, i % 2 == 0);

        if (v >= 0)
            check_expand(&f, t, &g, md, v);
    }
    /* The busiest vertices (the skew's), read also one entry per page: every cursor position. */
    for (int i = 0; i < 5; i++)
        if (md->v[i].alive)
            check_expand(&f, t, &g, md, i);
    for (int k = 0; k < NKEYS; k++)
        for (int i = 0; i < 12; i++)
            check_lookup(&f, t, &g, md, k, rand_value(), (int)gen_below(NLABELS + 1) - 1);
    check_scans(&f, t, &g, md, 0);
    check_scans(&f, t, &g, md, 1);
    check_scans(&f, t, &g, md, 97);
    {
        /* A cursor of another read is refused. */
        struct graph_scan_query q = {NULL, 1, NULL, 0};
        struct graph_page p;
        struct graph_expand_query xq = {fx_str("v0"), GRAPH_OUT, NULL, 0, 0, NULL, 0};
        struct graph_adj_page ap;
        struct value other;

        assert_int_equal(graph_scan_edges(t, &g, &q, &f.a, &p), 0);
        assert_true(p.next_len > 0);
        q.cursor = p.next;
        q.cursor_len = p.next_len;
        assert_int_equal(graph_scan_vertices(t, &g, &q, &f.a, &p), CR_ECURSOR);
        xq.cursor = q.cursor;
        xq.cursor_len = q.cursor_len;
        assert_int_equal(graph_expand(t, &g, &xq, &f.a, &ap), CR_ECURSOR);
        /* An out-expand's cursor, given to an in-expand or another label's, is refused. */
        xq.cursor = NULL;
        xq.cursor_len = 0;
        xq.limit = 1;
        assert_int_equal(graph_expand(t, &g, &xq, &f.a, &ap), 0);
        assert_true(ap.n == 1 && ap.next_len > 0);
        other = fx_str(str_is(&ap.adj[0].label, "at") ? "knows" : "at");
        xq.cursor = ap.next;
        xq.cursor_len = ap.next_len;
        assert_int_equal(graph_expand(t, &g, &xq, &f.a, &ap), 0);
        xq.dir = GRAPH_BOTH;
        assert_int_equal(graph_expand(t, &g, &xq, &f.a, &ap), 0);
        xq.dir = GRAPH_IN;
        assert_int_equal(graph_expand(t, &g, &xq, &f.a, &ap), CR_ECURSOR);
        xq.dir = GRAPH_OUT;
        xq.labels = &other;
        xq.n_labels = 1;
        assert_int_equal(graph_expand(t, &g, &xq, &f.a, &ap), CR_ECURSOR);
    }
    storage_read_end(t);
    for (int i = 0; i < md->nv; i++)
        free(md->v[i].p);
    free(md);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalog_of_graphs), cmocka_unit_test(elements),
        cmocka_unit_test(properties),        cmocka_unit_test(drop_vertex_exactly),
        cmocka_unit_test(atomic_batches),    cmocka_unit_test(deterministic),
        cmocka_unit_test(property),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
