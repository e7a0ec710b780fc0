/*
 * Graphs behind ops.h: graph definitions, Gremlin scripts (query/gremlin_storage.h over the
 * connection's snapshot, their mutations proposed as one log entry) and the traversals every
 * app needs without Gremlin (neighbours, k-hop, shortest path), read straight from storage's
 * adjacency lists. Must not write storage: every change goes through the log.
 * Graph writes go through ops_write, whose check calls ops_check_graph_mutation here.
 */
#include "server/ops.h"
#include "server/ops_int.h"

#include "common/error.h"
#include "common/hash.h"
#include "query/gremlin_storage.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPAND_PAGE 1024 /* adjacency entries per graph_expand call */

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int graph_get(struct ops_conn *c, const char *name, struct graph_def *out, struct errmsg *e)
{
    int rc = catalog_graph_check_name(name);

    if (rc < 0)
        return errmsg_set(e, rc, "a graph name must be 1..%d bytes without / \\ ? #",
                          CR_MAX_NAME_LEN);
    rc = catalog_graph_get(c->txn, name, out);
    if (rc == CR_ENOCOLL)
        return errmsg_set(e, rc, "graph '%.255s' not found", name);
    if (rc < 0)
        return errmsg_set(e, rc, "reading graph '%.255s': %s", name, cr_strerror(rc));
    return 0;
}

static int check_str(const struct value *v, bool required, const char *what, struct errmsg *e)
{
    if (v->type == VT_NULL && !required)
        return 0;
    if (v->type != VT_STRING)
        return errmsg_set(e, v->type == VT_NULL ? CR_EINVAL : CR_ETYPE,
                          "a graph %s must be a string", what);
    if (v->u.s.len == 0)
        return errmsg_set(e, CR_EINVAL, "a graph %s must not be empty", what);
    return 0;
}

int ops_check_graph_mutation(struct ops_conn *c, const struct mutation *m, struct errmsg *e)
{
    const struct graph_mut *g = &m->graph;
    struct graph_def def;
    int rc;

    if (m->type < MUT_CREATE_GRAPH || m->type > MUT_GRAPH_DROP_EDGE)
        return errmsg_set(e, CR_EINVAL, "mutation type %d is not a graph mutation", (int)m->type);
    if (m->type == MUT_CREATE_GRAPH) {
        rc = catalog_graph_check_name(g->name);
        if (rc < 0)
            return errmsg_set(e, rc, "a graph name must be 1..%d bytes without / \\ ? #",
                              CR_MAX_NAME_LEN);
        rc = catalog_graph_get(c->txn, g->name, &def);
        if (rc == 0)
            return errmsg_set(e, CR_EEXISTS, "graph '%s' already exists", g->name);
        if (rc != CR_ENOCOLL)
            return errmsg_set(e, rc, "reading graph '%s': %s", g->name, cr_strerror(rc));
        return 0;
    }
    rc = graph_get(c, g->name, &def, e);
    if (rc < 0)
        return rc;
    switch (m->type) {
    case MUT_GRAPH_ADD_EDGE:
    case MUT_GRAPH_ADD_VERTEX:
        if (m->type == MUT_GRAPH_ADD_EDGE &&
            ((rc = check_str(&g->out_v, true, "edge's out-vertex", e)) < 0 ||
             (rc = check_str(&g->in_v, true, "edge's in-vertex", e)) < 0))
            return rc;
        if ((rc = check_str(&g->label, true, "label", e)) < 0)
            return rc;
        return check_str(&g->id, false, "id", e);
    case MUT_GRAPH_SET_PROPERTY:
    case MUT_GRAPH_REMOVE_PROPERTY:
        if ((rc = check_str(&g->key, true, "property key", e)) < 0)
            return rc;
        return check_str(&g->id, true, "id", e);
    case MUT_GRAPH_DROP_VERTEX:
    case MUT_GRAPH_DROP_EDGE:
        return check_str(&g->id, true, "id", e);
    default:
        return 0;
    }
}

/* ---- graph definitions --------------------------------------------------------------------- */

int ops_graph_get(struct ops_conn *c, const struct ops_read_opts *ro, const char *name,
                  struct graph_def *out, struct ops_read_info *info, struct errmsg *e)
{
    int rc = ops_read_begin(c, ro, info, e);

    return rc < 0 ? rc : graph_get(c, name, out, e);
}

int ops_graph_list(struct ops_conn *c, const struct ops_read_opts *ro, const char *after,
                   uint32_t limit, struct cr_arena *a, struct graph_def **out, size_t *n,
                   bool *more, struct ops_read_info *info, struct errmsg *e)
{
    int rc;

    if (limit > OPS_LIST_GRAPHS_MAX)
        return errmsg_set(e, CR_EINVAL, "limit %u is above %d", limit, OPS_LIST_GRAPHS_MAX);
    if (limit == 0)
        limit = OPS_LIST_GRAPHS_DEFAULT;
    rc = ops_read_begin(c, ro, info, e);
    if (rc < 0)
        return rc;
    *out = cr_arena_alloc(a, limit * sizeof **out);
    if (!*out)
        return errmsg_set(e, CR_ENOMEM, "out of memory listing graphs");
    rc = catalog_graph_list(c->txn, after && after[0] ? after : NULL, *out, limit, n, more);
    if (rc < 0)
        return errmsg_set(e, rc, "listing graphs: %s", cr_strerror(rc));
    return 0;
}

/* ---- Gremlin -------------------------------------------------------------------------------- */

/* Unique to the script among every id in the log: the high bit (apply's own ids use log
 * indexes, which never have it), the proposer's clock in microseconds and a counter. */
static uint64_t script_id_base(void)
{
    static _Atomic uint64_t counter;
    uint64_t us = realtime_ns() / 1000u;

    return (1ull << 63) | (((us << 8) | (atomic_fetch_add(&counter, 1) & 0xff)) & ~(1ull << 63));
}

int ops_gremlin(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_gremlin *q,
                struct cr_arena *a, struct ops_gremlin_out *out, struct ops_write *w,
                struct ops_read_info *info, struct errmsg *e)
{
    struct gremlin_script *s;
    struct gremlin_storage gs;
    struct gremlin_graph g;
    struct gremlin_err err;
    struct graph_def def;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&err, 0, sizeof err);
    rc = ops_read_begin(c, ro, info, e);
    if (rc == 0)
        rc = graph_get(c, q->graph, &def, e);
    if (rc < 0)
        return rc;
    rc = gremlin_parse(a, q->text, q->len, &s, &err);
    if (rc == 0) {
        gremlin_storage_init(&gs, c->txn, &def, script_id_base(), a);
        g = gremlin_storage_graph(&gs);
        rc = gremlin_exec(s, q->bindings, q->n_bindings, &g, q->budget, a, &out->results, &out->n,
                          &err);
    }
    if (rc < 0) {
        out->line = err.line;
        out->col = err.col;
        return errmsg_set(e, rc, "%s", err.msg[0] ? err.msg : cr_strerror(rc));
    }
    out->n_mutations = gs.n;
    if (gs.n == 0)
        return 0;
    if (gs.n > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY,
                          "the script made %zu mutations; one script may make at most %d", gs.n,
                          CR_MAX_BATCH_MUTATIONS);
    rc = ops_write(c, gs.muts, gs.n, w, e);
    return rc < 0 ? rc : OPS_GREMLIN_PROPOSED;
}

/* ---- traversals ------------------------------------------------------------------------------ */

/* Vertex ids seen by a search, each with its parent (the index it was reached from, or
 * UINT32_MAX) and depth; an open-addressing table of indexes into them. */
struct seen {
    struct value *ids;
    uint32_t *parent, *depth;
    size_t n, cap;
    uint32_t *slots; /* index + 1; 0: empty */
    size_t n_slots;
};

static void seen_free(struct seen *s)
{
    free(s->ids);
    free(s->parent);
    free(s->depth);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static uint64_t id_hash(const struct value *v)
{
    return cr_hash64(v->u.s.ptr, v->u.s.len);
}

static bool id_eq(const struct value *a, const struct value *b)
{
    return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
}

/* The index of id, or -1. */
static long seen_find(const struct seen *s, const struct value *id)
{
    if (!s->n_slots)
        return -1;
    for (size_t i = id_hash(id) & (s->n_slots - 1);; i = (i + 1) & (s->n_slots - 1)) {
        uint32_t x = s->slots[i];

        if (!x)
            return -1;
        if (id_eq(&s->ids[x - 1], id))
            return (long)(x - 1);
    }
}

static int seen_grow(struct seen *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256, n_slots = cap * 2;
    struct value *ids = realloc(s->ids, cap * sizeof *ids);
    uint32_t *parent, *depth, *slots;

    if (!ids)
        return CR_ENOMEM;
    s->ids = ids;
    if (!(parent = realloc(s->parent, cap * sizeof *parent)))
        return CR_ENOMEM;
    s->parent = parent;
    if (!(depth = realloc(s->depth, cap * sizeof *depth)))
        return CR_ENOMEM;
    s->depth = depth;
    if (!(slots = calloc(n_slots, sizeof *slots)))
        return CR_ENOMEM;
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    s->cap = cap;
    for (size_t j = 0; j < s->n; j++) {
        size_t i = id_hash(&s->ids[j]) & (n_slots - 1);

        while (slots[i])
            i = (i + 1) & (n_slots - 1);
        slots[i] = (uint32_t)(j + 1);
    }
    return 0;
}

/* Adds id (copied into a) unless present: *added tells. */
static int seen_add(struct seen *s, const struct value *id, uint32_t parent, uint32_t depth,
                    struct cr_arena *a, bool *added)
{
    size_t i;
    int rc;

    *added = false;
    if (seen_find(s, id) >= 0)
        return 0;
    if (s->n == s->cap && (rc = seen_grow(s)) < 0)
        return rc;
    rc = value_clone(id, a, &s->ids[s->n]);
    if (rc < 0)
        return rc;
    s->parent[s->n] = parent;
    s->depth[s->n] = depth;
    for (i = id_hash(id) & (s->n_slots - 1); s->slots[i]; i = (i + 1) & (s->n_slots - 1))
        ;
    s->slots[i] = (uint32_t)(s->n + 1);
    s->n++;
    *added = true;
    return 0;
}

/* One traversal's context: its graph, filters, the adjacency entries read so far. */
struct walk {
    struct ops_conn *c;
    struct graph_def def;
    const struct ops_graph_walk *q;
    struct cr_arena scratch; /* one expansion's pages */
    uint64_t scanned;
};

typedef int (*neighbour_fn)(void *arg, const struct graph_adj *adj);

/* Calls fn for every adjacency entry of vid in dir; fn returns 0 to go on, 1 to stop. */
static int expand(struct walk *w, const struct value *vid, enum graph_dir dir, neighbour_fn fn,
                  void *arg, struct errmsg *e)
{
    struct graph_expand_query eq;
    struct graph_adj_page page;
    int rc = 0;

    memset(&eq, 0, sizeof eq);
    eq.vertex = *vid;
    eq.dir = dir;
    eq.labels = w->q->labels;
    eq.n_labels = w->q->n_labels;
    eq.limit = EXPAND_PAGE;
    cr_arena_reset(&w->scratch);
    do {
        rc = graph_expand(w->c->txn, &w->def, &eq, &w->scratch, &page);
        if (rc < 0)
            return errmsg_set(e, rc, "expanding a vertex: %s", cr_strerror(rc));
        w->scanned += page.n;
        if (w->scanned > OPS_GRAPH_MAX_SCANNED)
            return errmsg_set(e, CR_EBUDGET, "the traversal read more than %llu adjacency entries",
                              (unsigned long long)OPS_GRAPH_MAX_SCANNED);
        for (size_t i = 0; i < page.n; i++) {
            rc = fn(arg, &page.adj[i]);
            if (rc != 0)
                return rc < 0 ? errmsg_set(e, rc, "%s", cr_strerror(rc)) : 0;
        }
        eq.cursor = page.next;
        eq.cursor_len = page.next_len;
    } while (page.next_len);
    return 0;
}

static int walk_begin(struct walk *w, struct ops_conn *c, const struct ops_read_opts *ro,
                      const struct ops_graph_walk *q, struct ops_read_info *info, struct errmsg *e)
{
    int rc;

    memset(w, 0, sizeof *w);
    w->c = c;
    w->q = q;
    if ((int)q->dir < GRAPH_OUT || q->dir > GRAPH_BOTH)
        return errmsg_set(e, CR_EINVAL, "direction %d is unknown", (int)q->dir);
    rc = check_str(&q->vertex, true, "vertex id", e);
    for (size_t i = 0; rc == 0 && i < q->n_labels; i++)
        rc = check_str(&q->labels[i], true, "edge label", e);
    if (rc == 0)
        rc = ops_read_begin(c, ro, info, e);
    if (rc == 0)
        rc = graph_get(c, q->graph, &w->def, e);
    if (rc == 0)
        cr_arena_init(&w->scratch, 64 * 1024);
    return rc;
}

struct collect {
    struct cr_arena *a;
    struct graph_adj *adj;
    size_t n, cap, limit;
    bool more;
};

static int collect_one(void *arg, const struct graph_adj *adj)
{
    struct collect *k = arg;
    struct graph_adj *x;
    int rc;

    if (k->n == k->limit) {
        k->more = true;
        return 1;
    }
    x = cr_arena_push(k->a, (void **)&k->adj, &k->n, &k->cap, sizeof *x);
    if (!x)
        return CR_ENOMEM;
    x->dir = adj->dir;
    if ((rc = value_clone(&adj->edge, k->a, &x->edge)) < 0 ||
        (rc = value_clone(&adj->label, k->a, &x->label)) < 0 ||
        (rc = value_clone(&adj->vertex_label, k->a, &x->vertex_label)) < 0 ||
        (rc = value_clone(&adj->neighbour, k->a, &x->neighbour)) < 0 ||
        (rc = value_clone(&adj->neighbour_label, k->a, &x->neighbour_label)) < 0)
        return rc;
    return 0;
}

int ops_graph_neighbors(struct ops_conn *c, const struct ops_read_opts *ro,
                        const struct ops_graph_walk *q, struct cr_arena *a, struct graph_adj **out,
                        size_t *n, bool *more, struct ops_read_info *info, struct errmsg *e)
{
    struct collect k = {a, NULL, 0, 0, q->limit ? q->limit : OPS_NEIGHBORS_DEFAULT, false};
    struct walk w;
    int rc;

    if (q->limit > OPS_NEIGHBORS_MAX)
        return errmsg_set(e, CR_EINVAL, "limit %u is above %d", q->limit, OPS_NEIGHBORS_MAX);
    rc = walk_begin(&w, c, ro, q, info, e);
    if (rc < 0)
        return rc;
    rc = expand(&w, &q->vertex, q->dir, collect_one, &k, e);
    cr_arena_free(&w.scratch);
    *out = k.adj;
    *n = k.n;
    *more = k.more;
    return rc;
}

/* One BFS level's expansion: adds each new neighbour to `s` at depth + 1. */
struct level {
    struct seen *s;
    struct cr_arena *a;
    uint32_t from, depth;
    size_t limit;             /* 0: none */
    const struct seen *other; /* bidirectional: the other side's vertices */
    bool forward;             /* s is the forward side */
    long fi, bi;              /* the best meeting vertex in the forward and backward sides */
    uint64_t best;            /* the length of the path through it; UINT64_MAX: none */
};

static int level_one(void *arg, const struct graph_adj *adj)
{
    struct level *l = arg;
    bool added;
    int rc;

    if (l->limit && l->s->n >= l->limit && seen_find(l->s, &adj->neighbour) < 0)
        return CR_ETOOMANY;
    rc = seen_add(l->s, &adj->neighbour, l->from, l->depth + 1, l->a, &added);
    if (rc < 0 || !added || !l->other)
        return rc;
    long o = seen_find(l->other, &adj->neighbour);
    if (o >= 0 && (uint64_t)l->depth + 1 + l->other->depth[o] < l->best) {
        l->best = (uint64_t)l->depth + 1 + l->other->depth[o];
        l->fi = l->forward ? (long)l->s->n - 1 : o;
        l->bi = l->forward ? o : (long)l->s->n - 1;
    }
    return 0;
}

int ops_graph_khop(struct ops_conn *c, const struct ops_read_opts *ro,
                   const struct ops_graph_walk *q, uint32_t k, struct cr_arena *a,
                   struct value **out, uint32_t **depths, size_t *n, struct ops_read_info *info,
                   struct errmsg *e)
{
    size_t limit = q->limit ? q->limit : OPS_KHOP_DEFAULT;
    struct seen s;
    struct walk w;
    bool added;
    size_t begin = 0, end;
    int rc;

    if (q->limit > OPS_KHOP_MAX)
        return errmsg_set(e, CR_EINVAL, "limit %u is above %d", q->limit, OPS_KHOP_MAX);
    rc = walk_begin(&w, c, ro, q, info, e);
    if (rc < 0)
        return rc;
    memset(&s, 0, sizeof s);
    rc = seen_add(&s, &q->vertex, UINT32_MAX, 0, a, &added);
    for (uint32_t d = 0; rc == 0 && d < k && begin < s.n; d++) {
        end = s.n;
        for (size_t i = begin; rc == 0 && i < end; i++) {
            struct level l = {&s, a, (uint32_t)i, d, limit + 1, NULL, true, -1, -1, UINT64_MAX};

            rc = expand(&w, &s.ids[i], q->dir, level_one, &l, e);
        }
        begin = end;
    }
    if (rc == CR_ETOOMANY)
        rc = errmsg_set(e, rc, "more than %zu vertices within %u hops", limit, k);
    if (rc == 0) {
        *n = s.n - 1;
        *out = cr_arena_alloc(a, (*n ? *n : 1) * sizeof **out);
        *depths = cr_arena_alloc(a, (*n ? *n : 1) * sizeof **depths);
        if (!*out || !*depths)
            rc = errmsg_set(e, CR_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < *n; i++) {
            (*out)[i] = s.ids[i + 1];
            (*depths)[i] = s.depth[i + 1];
        }
    }
    seen_free(&s);
    cr_arena_free(&w.scratch);
    return rc;
}

static enum graph_dir reverse_dir(enum graph_dir d)
{
    return d == GRAPH_OUT ? GRAPH_IN : d == GRAPH_IN ? GRAPH_OUT : GRAPH_BOTH;
}

/* Expands every vertex of s's last level [*begin, s->n) once; *begin moves past it. A path
 * through a vertex both sides hold, found while one whole level is expanded, is a shortest one
 * when it is the shortest found in that level: before it no vertex was in both, so the distance
 * exceeded the two depths' sum, and this level finds every path one longer. */
static int bfs_level(struct walk *w, struct seen *s, const struct seen *other, bool forward,
                     enum graph_dir dir, size_t *begin, uint64_t max_nodes, struct cr_arena *a,
                     struct level *best, struct errmsg *e)
{
    size_t end = s->n;
    int rc = 0;

    for (size_t i = *begin; rc == 0 && i < end; i++) {
        struct level l = {s, a, (uint32_t)i, s->depth[i], 0, other, forward, -1, -1, best->best};

        rc = expand(w, &s->ids[i], dir, level_one, &l, e);
        if (rc == 0 && l.fi >= 0) {
            best->best = l.best;
            best->fi = l.fi;
            best->bi = l.bi;
        }
        if (rc == 0 && s->n + other->n > max_nodes)
            rc = errmsg_set(e, CR_EBUDGET,
                            "the shortest-path search visited more than %llu vertices",
                            (unsigned long long)max_nodes);
    }
    *begin = end;
    return rc;
}

int ops_graph_shortest_path(struct ops_conn *c, const struct ops_read_opts *ro,
                            const struct ops_graph_walk *q, const struct value *to,
                            uint64_t max_nodes, struct cr_arena *a, struct value **path, size_t *n,
                            uint64_t *visited, struct ops_read_info *info, struct errmsg *e)
{
    struct seen f, b;
    struct walk w;
    struct level best = {NULL, NULL, 0, 0, 0, NULL, true, -1, -1, UINT64_MAX};
    size_t fbeg = 0, bbeg = 0;
    bool added;
    int rc;

    *n = 0;
    *visited = 0;
    if (!max_nodes)
        max_nodes = OPS_PATH_DEFAULT_NODES;
    rc = check_str(to, true, "vertex id", e);
    if (rc == 0)
        rc = walk_begin(&w, c, ro, q, info, e);
    if (rc < 0)
        return rc;
    memset(&f, 0, sizeof f);
    memset(&b, 0, sizeof b);
    rc = seen_add(&f, &q->vertex, UINT32_MAX, 0, a, &added);
    if (rc == 0)
        rc = seen_add(&b, to, UINT32_MAX, 0, a, &added);
    if (rc == 0 && id_eq(&q->vertex, to)) {
        struct graph_vertex v;

        rc = graph_get_vertex(c->txn, &w.def, to, &w.scratch, &v);
        if (rc == 0) {
            best.best = 0;
            best.fi = 0;
            best.bi = 0;
        } else if (rc == CR_ENOTFOUND) {
            rc = 0;
        }
    }
    /* Expand the smaller frontier a whole level at a time; stop once the best meeting found
     * cannot be beaten by another level (both frontiers' depths sum past it). */
    while (rc == 0 && best.fi < 0 && fbeg < f.n && bbeg < b.n) {
        if (f.n - fbeg <= b.n - bbeg)
            rc = bfs_level(&w, &f, &b, true, q->dir, &fbeg, max_nodes, a, &best, e);
        else
            rc = bfs_level(&w, &b, &f, false, reverse_dir(q->dir), &bbeg, max_nodes, a, &best, e);
    }
    *visited = f.n + b.n;
    if (rc == 0 && best.fi >= 0) {
        long fi = best.fi, bi = best.bi;

        *n = (size_t)best.best + 1;
        *path = cr_arena_alloc(a, *n * sizeof **path);
        if (!*path) {
            rc = errmsg_set(e, CR_ENOMEM, "out of memory");
        } else {
            size_t at = f.depth[fi];

            for (long x = fi;; x = (long)f.parent[x], at--) {
                (*path)[at] = f.ids[x];
                if (f.parent[x] == UINT32_MAX)
                    break;
            }
            at = f.depth[fi];
            for (long x = bi; b.parent[x] != UINT32_MAX;) {
                x = (long)b.parent[x];
                (*path)[++at] = b.ids[x];
            }
        }
    }
    seen_free(&f);
    seen_free(&b);
    cr_arena_free(&w.scratch);
    return rc;
}

/* ---- bulk load ------------------------------------------------------------------------------- */

int ops_graph_load(struct ops_conn *c, const char *graph, const struct ops_load_edge *edges,
                   size_t n, const char *vlabel, struct cr_arena *a, struct ops_write *w,
                   uint32_t *vertices, struct errmsg *e)
{
    struct graph_def def;
    struct seen s;
    struct mutation *muts;
    size_t n_muts = 0, nv = 0;
    struct value vl;
    int rc;

    *vertices = 0;
    if (n == 0)
        return errmsg_set(e, CR_EINVAL, "a load needs at least one edge");
    if (n > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu edges in one load; the limit is %d", n,
                          CR_MAX_BATCH_MUTATIONS);
    vlabel = vlabel && vlabel[0] ? vlabel : OPS_GRAPH_DEFAULT_VLABEL;
    vl = value_string(vlabel, strlen(vlabel));
    rc = ops_snapshot(c, e);
    if (rc == 0)
        rc = graph_get(c, graph, &def, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct errmsg why;

        if ((rc = check_str(&edges[i].src, true, "vertex id", &why)) < 0 ||
            (rc = check_str(&edges[i].dst, true, "vertex id", &why)) < 0 ||
            (rc = check_str(&edges[i].label, false, "edge label", &why)) < 0)
            return errmsg_set(e, rc, "edge %zu: %s", i, why.text);
    }
    muts = cr_arena_calloc(a, 3 * n * sizeof *muts);
    if (!muts)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    memset(&s, 0, sizeof s);
    /* Vertices first, in order of first sight, then the edges. */
    for (size_t i = 0; rc == 0 && i < 2 * n; i++) {
        const struct value *id = i % 2 ? &edges[i / 2].dst : &edges[i / 2].src;
        struct graph_vertex v;
        bool added;

        rc = seen_add(&s, id, 0, 0, a, &added);
        if (rc < 0 || !added)
            continue;
        rc = graph_get_vertex(c->txn, &def, id, a, &v);
        if (rc == 0)
            continue;
        if (rc != CR_ENOTFOUND)
            break;
        rc = 0;
        muts[n_muts].type = MUT_GRAPH_ADD_VERTEX;
        nv++;
        memcpy(muts[n_muts].graph.name, def.name, sizeof def.name);
        muts[n_muts].graph.id = *id;
        muts[n_muts].graph.label = vl;
        n_muts++;
    }
    seen_free(&s);
    if (rc < 0)
        return errmsg_set(e, rc, "reading vertices: %s", cr_strerror(rc));
    for (size_t i = 0; i < n; i++) {
        struct graph_mut *g = &muts[n_muts].graph;

        muts[n_muts].type = MUT_GRAPH_ADD_EDGE;
        memcpy(g->name, def.name, sizeof def.name);
        g->id.type = VT_NULL;
        g->out_v = edges[i].src;
        g->in_v = edges[i].dst;
        g->label = edges[i].label.type == VT_NULL
                       ? value_string(OPS_GRAPH_DEFAULT_ELABEL, strlen(OPS_GRAPH_DEFAULT_ELABEL))
                       : edges[i].label;
        n_muts++;
    }
    for (size_t i = 0; i < n_muts; i++) {
        struct graph_mut *g = &muts[i].graph;

        if (muts[i].type == MUT_GRAPH_ADD_VERTEX)
            g->out_v.type = g->in_v.type = VT_NULL;
        g->key.type = g->value.type = g->prop_id.type = VT_NULL;
    }
    if (n_muts > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY,
                          "%zu edges and %zu new vertices make %zu mutations; the limit is %d", n,
                          nv, n_muts, CR_MAX_BATCH_MUTATIONS);
    rc = ops_write(c, muts, n_muts, w, e);
    if (rc == 0)
        *vertices = (uint32_t)nv;
    return rc;
}

/* Why element x (a vertex or an edge) cannot be loaded: 0, or the error set in e. */
static int check_element(const struct ops_load_element *x, bool edge, struct errmsg *e)
{
    int rc;

    if ((rc = check_str(&x->id, !edge, "id", e)) < 0 ||
        (rc = check_str(&x->label, false, "label", e)) < 0)
        return rc;
    if (edge && ((rc = check_str(&x->src, true, "edge's out-vertex", e)) < 0 ||
                 (rc = check_str(&x->dst, true, "edge's in-vertex", e)) < 0))
        return rc;
    for (size_t i = 0; i < x->n_props; i++) {
        const struct value *v = &x->props[i].value;

        if ((rc = check_str(&x->props[i].key, true, "property key", e)) < 0)
            return rc;
        if (v->type == VT_NULL || v->type >= VT_ARRAY)
            return errmsg_set(e, CR_EINVAL, "property '%.*s' must be a scalar",
                              (int)x->props[i].key.u.s.len, x->props[i].key.u.s.ptr);
        for (size_t j = 0; edge && j < i; j++)
            if (value_equal(&x->props[j].key, &x->props[i].key))
                return errmsg_set(e, CR_EINVAL, "an edge property key repeats");
    }
    return 0;
}

int ops_graph_load_elements(struct ops_conn *c, const char *graph,
                            const struct ops_load_element *vertices, size_t nv,
                            const struct ops_load_element *edges, size_t ne, struct cr_arena *a,
                            struct ops_write *w, struct errmsg *e)
{
    struct graph_def def;
    struct mutation *muts;
    int rc;

    if (nv + ne == 0)
        return errmsg_set(e, CR_EINVAL, "a load needs at least one vertex or edge");
    if (nv + ne > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu vertices and edges in one load; the limit is %d",
                          nv + ne, CR_MAX_BATCH_MUTATIONS);
    rc = ops_snapshot(c, e);
    if (rc == 0)
        rc = graph_get(c, graph, &def, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nv + ne; i++) {
        struct errmsg why;

        rc = check_element(i < nv ? &vertices[i] : &edges[i - nv], i >= nv, &why);
        if (rc < 0)
            return errmsg_set(e, rc, "%s %zu: %s", i < nv ? "vertex" : "edge", i < nv ? i : i - nv,
                              why.text);
    }
    muts = cr_arena_calloc(a, (nv + ne) * sizeof *muts);
    if (!muts)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < nv + ne; i++) {
        const struct ops_load_element *x = i < nv ? &vertices[i] : &edges[i - nv];
        const char *dl = i < nv ? OPS_GRAPH_DEFAULT_VLABEL : OPS_GRAPH_DEFAULT_ELABEL;
        struct graph_mut *g = &muts[i].graph;

        muts[i].type = i < nv ? MUT_GRAPH_ADD_VERTEX : MUT_GRAPH_ADD_EDGE;
        memcpy(g->name, def.name, sizeof def.name);
        g->id = x->id;
        g->label = x->label.type == VT_NULL ? value_string(dl, strlen(dl)) : x->label;
        g->out_v.type = g->in_v.type = VT_NULL;
        if (i >= nv) {
            g->out_v = x->src;
            g->in_v = x->dst;
        }
        g->props = x->props;
        g->n_props = x->n_props;
        g->key.type = g->value.type = g->prop_id.type = VT_NULL;
    }
    return ops_write(c, muts, nv + ne, w, e);
}
