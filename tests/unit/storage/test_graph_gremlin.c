/*
 * The Gremlin machine over storage (query/gremlin_storage.c) against the in-memory reference
 * graph (tests/unit/query/gremlin_mem.c): one seeded random graph (skewed degrees, several
 * labels, self-loops and parallel edges, list and single properties) built in both, then a few
 * hundred random read traversals whose results must be equal as multisets (the two graphs
 * yield elements in different orders), and mutating scripts whose collected mutations, applied
 * with storage_apply, leave storage answering as the reference does; and what the glue decides
 * itself (a taken id, the ids of adds without one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../query/gremlin_mem.h"
#include "engine_fixture.h"
#include "query/gremlin_storage.h"
#include "value_gen.h"

#define NV 1200
#define NE 4000
#define QUERIES 400
#define BUDGET 50000000u

static const char *const vlabels[] = {"a", "b", "c"};
static const char *const elabels[] = {"x", "y", "z"};

struct world {
    struct fx f;
    struct graph_def g;
    struct gmem mem;
    struct cr_arena run; /* scripts and results, per script */
};

static size_t skewed(size_t n)
{
    double u = (double)gen_below(1u << 30) / (double)(1u << 30);

    return (size_t)((double)n * u * u * u);
}

static struct value id_of(struct cr_arena *a, char prefix, size_t i)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%c%zu", prefix, i);

    return value_string(cr_arena_strndup(a, buf, (size_t)n), (size_t)n);
}

/* Applies the collected mutations in one entry; every one must succeed. */
static void apply_all(struct fx *f, struct mutation *m, size_t n)
{
    struct mutation_result *r = cr_arena_alloc(&f->a, (n + 1) * sizeof *r);

    assert_non_null(r);
    if (n == 0)
        return;
    assert_int_equal(fx_apply(f, m, n, r), 0);
    for (size_t i = 0; i < n; i++)
        if (r[i].code)
            fail_msg("mutation %zu: %s", i, cr_strerror(r[i].code));
}

static void build(struct world *w)
{
    struct mutation batch[100];
    size_t nb = 0;

    gen_seed(GEN_SEED ^ 0x6e);
    for (size_t i = 0; i < NV + NE; i++) {
        struct mutation *m = &batch[nb++];
        struct value k = fx_str(gen_below(2) ? "w" : "tag"), val = value_int((int64_t)gen_below(5));

        memset(m, 0, sizeof *m);
        snprintf(m->graph.name, sizeof m->graph.name, "g");
        if (i < NV) {
            const char *label = vlabels[gen_below(3)];
            struct graph_prop *p = cr_arena_alloc(&w->f.a, 2 * sizeof *p);

            m->type = MUT_GRAPH_ADD_VERTEX;
            m->graph.id = id_of(&w->f.a, 'v', i);
            m->graph.label = fx_str(label);
            assert_int_equal(gmem_add_vertex(&w->mem, &m->graph.id, label), (long)i);
            p[0] = (struct graph_prop){fx_str("w"), value_null(), val};
            p[1] =
                (struct graph_prop){fx_str("tag"), value_null(), fx_str(gen_below(2) ? "p" : "q")};
            m->graph.props = p;
            m->graph.n_props = 1 + gen_below(2);
            for (size_t j = 0; j < m->graph.n_props; j++) {
                char key[8];

                snprintf(key, sizeof key, "%.*s", (int)p[j].key.u.s.len, p[j].key.u.s.ptr);
                assert_int_equal(gmem_vertex_prop(&w->mem, i, key, &p[j].value, true), 0);
            }
        } else if (gen_below(10) < 8) {
            size_t e = i - NV, from = skewed(NV), to = gen_below(5) ? gen_below(NV) : from;
            const char *label = elabels[gen_below(3)];

            m->type = MUT_GRAPH_ADD_EDGE;
            m->graph.id = id_of(&w->f.a, 'e', e);
            m->graph.label = fx_str(label);
            m->graph.out_v = id_of(&w->f.a, 'v', from);
            m->graph.in_v = id_of(&w->f.a, 'v', to);
            assert_true(gmem_add_edge(&w->mem, &m->graph.id, label, from, to) >= 0);
        } else {
            /* A property change of a random vertex, list or single. */
            size_t v = gen_below(NV);
            bool list = gen_below(2);
            char key[8];

            m->type = MUT_GRAPH_SET_PROPERTY;
            m->graph.id = id_of(&w->f.a, 'v', v);
            m->graph.key = k;
            m->graph.value = val;
            m->graph.list = list;
            snprintf(key, sizeof key, "%.*s", (int)k.u.s.len, k.u.s.ptr);
            assert_int_equal(gmem_vertex_prop(&w->mem, v, key, &val, list), 0);
        }
        if (nb == 100 || i + 1 == NV + NE) {
            apply_all(&w->f, batch, nb);
            nb = 0;
        }
    }
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    struct mutation m;
    struct mutation_result r;

    assert_non_null(w);
    fx_open_sized(&w->f, 1u << 30);
    gmem_init(&w->mem);
    cr_arena_init(&w->run, 0);
    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_GRAPH;
    snprintf(m.graph.name, sizeof m.graph.name, "g");
    assert_int_equal(fx_apply(&w->f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    w->g = r.graph;
    build(w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    gmem_free(&w->mem);
    cr_arena_free(&w->run);
    fx_close(&w->f);
    free(w);
    return 0;
}

/* Runs script over g; its results sorted (value order), copied into the run arena. */
static int run(struct world *w, const struct gremlin_graph *g, const char *script,
               struct value **out, size_t *n)
{
    struct gremlin_script *s;
    struct gremlin_err err;
    int rc = gremlin_parse(&w->run, script, strlen(script), &s, &err);

    if (rc == 0)
        rc = gremlin_exec(s, NULL, 0, g, BUDGET, &w->run, out, n, &err);
    if (rc)
        fail_msg("%s: %s", script, err.msg);
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && value_compare(&(*out)[j - 1], &(*out)[j]) > 0; j--) {
            struct value x = (*out)[j];

            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = x;
        }
    return rc;
}

/* The script over both graphs gives equal multisets of results. */
static void same(struct world *w, const char *script)
{
    struct gremlin_graph mg = gmem_graph(&w->mem), sg;
    struct gremlin_storage gs;
    struct storage_txn *t = fx_read(&w->f);
    struct value *a, *b;
    size_t na, nb;

    gremlin_storage_init(&gs, t, &w->g, 1ull << 63, &w->run);
    sg = gremlin_storage_graph(&gs);
    run(w, &mg, script, &a, &na);
    run(w, &sg, script, &b, &nb);
    if (na != nb)
        fail_msg("%s: %zu results in memory, %zu in storage", script, na, nb);
    for (size_t i = 0; i < na; i++)
        if (!value_equal(&a[i], &b[i]))
            fail_msg("%s: result %zu differs", script, i);
    assert_int_equal(gs.n, 0);
    storage_read_end(t);
    cr_arena_reset(&w->run);
}

static void random_traversals(void **state)
{
    struct world *w = *state;
    char script[512];
    size_t nonempty = 0;

    for (int q = 0; q < QUERIES; q++) {
        size_t v = gen_below(4) ? skewed(NV) : gen_below(NV);
        const char *el = elabels[gen_below(3)], *el2 = elabels[gen_below(3)];
        const char *vl = vlabels[gen_below(3)];
        const char *dir = (const char *[]){"out", "in", "both"}[gen_below(3)];
        const char *dir2 = (const char *[]){"out", "in", "both"}[gen_below(3)];
        int val = (int)gen_below(5);

        switch (q % 12) {
        case 0:
            snprintf(script, sizeof script, "g.V('v%zu').%s('%s').id()", v, dir, el);
            break;
        case 1:
            snprintf(script, sizeof script, "g.V('v%zu').%s().%s('%s', '%s').id()", v, dir, dir2,
                     el, el2);
            break;
        case 2:
            snprintf(script, sizeof script, "g.V().hasLabel('%s').%s('%s').dedup().id()", vl, dir,
                     el);
            break;
        case 3:
            snprintf(script, sizeof script, "g.V().has('w', %d).id()", val);
            break;
        case 4:
            snprintf(script, sizeof script, "g.V().has('%s', 'tag', 'p').%s().values('w')", vl,
                     dir);
            break;
        case 5:
            snprintf(script, sizeof script, "g.V('v%zu').%sE('%s').otherV().label()", v, dir, el);
            break;
        case 6:
            snprintf(script, sizeof script, "g.V('v%zu').repeat(%s()).times(2).dedup().count()", v,
                     dir);
            break;
        case 7:
            snprintf(script, sizeof script, "g.E().hasLabel('%s').count()", el);
            break;
        case 8:
            snprintf(script, sizeof script, "g.V('v%zu').%s().has('w', gt(%d)).values('tag')", v,
                     dir, val);
            break;
        case 9:
            snprintf(script, sizeof script, "g.V('v%zu', 'v%zu').valueMap()", v,
                     (size_t)gen_below(NV));
            break;
        case 10:
            snprintf(script, sizeof script, "g.V('v%zu').outE().inV().outE('%s').id()", v, el);
            break;
        default:
            snprintf(script, sizeof script,
                     "g.V().has('w', within(%d, %d)).hasLabel('%s').both('%s').groupCount()."
                     "by(label)",
                     val, (val + 2) % 5, vl, el);
            break;
        }
        {
            struct gremlin_graph mg = gmem_graph(&w->mem);
            struct value *out;
            size_t n;

            run(w, &mg, script, &out, &n);
            nonempty += n > 0;
            cr_arena_reset(&w->run);
        }
        same(w, script);
    }
    assert_true(nonempty > QUERIES / 2); /* most traversals find something */
}

/* A mutating script over both: its mutations applied to storage leave both answering alike.
 * same_results: the script's own answers must agree too (a script reads its own writes; use a
 * step whose answer carries no property ids, which the two graphs choose differently). */
static void mutate_checked(struct world *w, const char *script, bool same_results)
{
    struct gremlin_graph mg = gmem_graph(&w->mem), sg;
    struct gremlin_storage gs;
    struct storage_txn *t = fx_read(&w->f);
    struct value *a, *b;
    size_t na, nb;

    gremlin_storage_init(&gs, t, &w->g, (1ull << 63) | w->f.index, &w->f.a);
    sg = gremlin_storage_graph(&gs);
    run(w, &mg, script, &a, &na);
    run(w, &sg, script, &b, &nb);
    if (same_results && na != nb)
        fail_msg("%s: %zu results in memory, %zu in storage", script, na, nb);
    for (size_t i = 0; same_results && i < na; i++)
        if (!value_equal(&a[i], &b[i]))
            fail_msg("%s: result %zu differs", script, i);
    storage_read_end(t);
    assert_true(gs.n > 0);
    apply_all(&w->f, gs.muts, gs.n);
    cr_arena_reset(&w->run);
}

static void mutate(struct world *w, const char *script)
{
    mutate_checked(w, script, false);
}

static void mutations(void **state)
{
    struct world *w = *state;

    mutate(w, "g.addV('a').property('id', 'n1').property('w', 3).property(list, 'tag', 'p')");
    mutate(w, "g.addV('b').property('id', 'n2')");
    mutate(w, "g.V('n1').addE('x').to(g.V('n2')).property('w', 7)");
    mutate(w, "g.V('v0').outE('y').drop()");
    mutate(w, "g.V('v1').drop()");
    mutate(w, "g.V().has('w', 4).property('w', 9)");
    mutate(w, "g.V('v2', 'v3').property(list, 'tag', 'r')");
    same(w, "g.V('n1').valueMap()");
    same(w, "g.V('n1').outE().values('w')");
    same(w, "g.V('n1').out().id()");
    same(w, "g.V('v0').outE().label()");
    same(w, "g.V().count()");
    same(w, "g.E().count()");
    same(w, "g.V('v1').count()");
    same(w, "g.V().has('w', 9).id()");
    same(w, "g.V().has('w', 4).count()");
    same(w, "g.V().has('tag', 'r').id()");
    same(w, "g.V('v2', 'v3').valueMap()");
    same(w, "g.V().both().dedup().count()");
}

/* A script's answer shows its own writes: properties of what it adds, replaced and appended
 * values, removed ones, before its entry is applied. */
static void reads_own_writes(void **state)
{
    struct world *w = *state;

    mutate_checked(w,
                   "g.addV('a').property('id', 'o1').property('w', 3).property(list, 'tag', 'p')"
                   ".property(list, 'tag', 'q').valueMap()",
                   true);
    mutate_checked(w, "g.V('o1').property('w', 4).property(list, 'tag', 'r').valueMap()", true);
    mutate_checked(w, "g.V('o1').property('w', 5).values('w')", true);
    mutate_checked(w,
                   "g.addV('b').property('id', 'o2').addE('x').from(g.V('o1')).property('k', 1)"
                   ".property('k', 2).values('k')",
                   true);
    same(w, "g.V('o1').valueMap()");
    same(w, "g.V('o2').inE('x').values('k')");
}

/* What the glue checks and chooses itself: a taken id, and the ids of adds without one. */
static void glue(void **state)
{
    struct world *w = *state;
    struct gremlin_storage gs;
    struct gremlin_graph sg;
    struct gremlin_script *s;
    struct gremlin_err err;
    struct storage_txn *t = fx_read(&w->f);
    struct value *out, want;
    size_t n;
    const char *taken = "g.addV('a').property('id', 'v5')";
    const char *twice = "g.addV('a').property('id', 'new').addV('a').property('id', 'new')";
    const char *fresh = "g.addV('a').as('p').addV('b').addE('x').from('p')";

    gremlin_storage_init(&gs, t, &w->g, 1ull << 63, &w->run);
    sg = gremlin_storage_graph(&gs);
    assert_int_equal(gremlin_parse(&w->run, taken, strlen(taken), &s, &err), 0);
    assert_int_equal(gremlin_exec(s, NULL, 0, &sg, BUDGET, &w->run, &out, &n, &err), CR_EEXISTS);
    assert_int_equal(gremlin_parse(&w->run, twice, strlen(twice), &s, &err), 0);
    assert_int_equal(gremlin_exec(s, NULL, 0, &sg, BUDGET, &w->run, &out, &n, &err), CR_EEXISTS);
    gremlin_storage_init(&gs, t, &w->g, 1ull << 63, &w->run);
    assert_int_equal(gremlin_parse(&w->run, fresh, strlen(fresh), &s, &err), 0);
    assert_int_equal(gremlin_exec(s, NULL, 0, &sg, BUDGET, &w->run, &out, &n, &err), 0);
    assert_int_equal(gs.n, 3);
    assert_int_equal(gs.muts[2].type, MUT_GRAPH_ADD_EDGE);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(graph_id_make(1ull << 63, (uint16_t)i, 0, &w->run, &want), 0);
        assert_true(value_equal(&gs.muts[i].graph.id, &want));
    }
    assert_true(value_equal(&gs.muts[2].graph.out_v, &gs.muts[0].graph.id));
    assert_true(value_equal(&gs.muts[2].graph.in_v, &gs.muts[1].graph.id));
    storage_read_end(t);
    cr_arena_reset(&w->run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_traversals),
        cmocka_unit_test(mutations),
        cmocka_unit_test(reads_own_writes),
        cmocka_unit_test(glue),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
