/*
 * struct gremlin_graph over storage (gremlin_storage.h). Every read pages through storage with
 * GREMLIN_STORAGE_PAGE elements per call, handing each element to the visitor as it comes; a
 * visitor that stops ends the read. Ids, labels and keys that storage's name rule refuses (not
 * a string, empty, too long) name nothing: a read for them finds nothing, a mutation with them
 * is collected and refused by apply.
 */
#include "query/gremlin_storage.h"

#include "common/error.h"

#include <string.h>

void gremlin_storage_init(struct gremlin_storage *gs, struct storage_txn *t,
                          const struct graph_def *g, uint64_t id_base, struct cr_arena *a)
{
    memset(gs, 0, sizeof *gs);
    gs->t = t;
    gs->g = *g;
    gs->id_base = id_base;
    gs->a = a;
}

static struct gremlin_str gstr(const struct value *v)
{
    return (struct gremlin_str){v->u.s.ptr, v->u.s.len};
}

/* A storage read's refusal of a name: nothing by that name. */
static int no_such_name(int rc)
{
    return rc == CR_EINVAL || rc == CR_ETYPE || rc == CR_EKEYTOOBIG || rc == CR_ENOTFOUND ? 0 : rc;
}

static void vertex_elem(const struct value *id, const struct value *label, struct gremlin_elem *out)
{
    memset(out, 0, sizeof *out);
    out->kind = GREMLIN_VERTEX;
    out->id = *id;
    out->label = gstr(label);
}

static void edge_elem(const struct graph_edge *e, struct gremlin_elem *out)
{
    memset(out, 0, sizeof *out);
    out->kind = GREMLIN_EDGE;
    out->id = e->id;
    out->label = gstr(&e->label);
    out->out_v = e->out_v;
    out->in_v = e->in_v;
    out->out_label = gstr(&e->out_label);
    out->in_label = gstr(&e->in_label);
}

static int cb_get(void *ctx, enum gremlin_kind kind, const struct value *id, struct cr_arena *a,
                  struct gremlin_elem *out)
{
    struct gremlin_storage *gs = ctx;
    int rc;

    if (kind == GREMLIN_VERTEX) {
        struct graph_vertex v;

        rc = graph_get_vertex(gs->t, &gs->g, id, a, &v);
        if (rc == 0)
            vertex_elem(&v.id, &v.label, out);
    } else {
        struct graph_edge e;

        rc = graph_get_edge(gs->t, &gs->g, id, a, &e);
        if (rc == 0)
            edge_elem(&e, out);
    }
    if (rc == CR_EINVAL || rc == CR_ETYPE || rc == CR_EKEYTOOBIG)
        rc = CR_ENOTFOUND; /* an id no element can have */
    return rc;
}

/* rc of a visitor: 1 stops the read (returned as 1), a negative code fails it. */
static int visit(gremlin_visit_fn fn, void *arg, const struct gremlin_elem *e)
{
    int rc = fn(arg, e);

    return rc > 0 ? 1 : rc;
}

static int cb_scan(void *ctx, bool edges, const struct gremlin_str *label, struct cr_arena *a,
                   gremlin_visit_fn fn, void *arg)
{
    struct gremlin_storage *gs = ctx;
    struct value lv = label ? value_string(label->p, label->len) : value_null();
    struct graph_scan_query q = {label ? &lv : NULL, GREMLIN_STORAGE_PAGE, NULL, 0};
    int rc;

    do {
        struct graph_page p;

        rc = edges ? graph_scan_edges(gs->t, &gs->g, &q, a, &p)
                   : graph_scan_vertices(gs->t, &gs->g, &q, a, &p);
        if (rc)
            return no_such_name(rc);
        for (size_t i = 0; rc == 0 && i < p.n; i++) {
            struct gremlin_elem e;

            if (edges)
                edge_elem(&p.edges[i], &e);
            else
                vertex_elem(&p.vertices[i].id, &p.vertices[i].label, &e);
            rc = visit(fn, arg, &e);
        }
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    } while (rc == 0 && q.cursor_len);
    return rc < 0 ? rc : 0;
}

static int cb_scan_vertices(void *ctx, const struct gremlin_str *label, struct cr_arena *a,
                            gremlin_visit_fn fn, void *arg)
{
    return cb_scan(ctx, false, label, a, fn, arg);
}

static int cb_scan_edges(void *ctx, struct cr_arena *a, gremlin_visit_fn fn, void *arg)
{
    return cb_scan(ctx, true, NULL, a, fn, arg);
}

static int cb_expand(void *ctx, const struct value *vid, enum gremlin_dir dir,
                     const struct gremlin_str *labels, size_t n_labels, struct cr_arena *a,
                     gremlin_visit_fn fn, void *arg)
{
    struct gremlin_storage *gs = ctx;
    struct value *lv = NULL;
    struct graph_expand_query q = {*vid, (enum graph_dir)dir, NULL, 0, GREMLIN_STORAGE_PAGE, NULL,
                                   0};
    int rc;

    _Static_assert((int)GREMLIN_OUT == (int)GRAPH_OUT && (int)GREMLIN_IN == (int)GRAPH_IN &&
                       (int)GREMLIN_BOTH == (int)GRAPH_BOTH,
                   "one direction enum");
    if (n_labels && !(lv = cr_arena_alloc(a, n_labels * sizeof *lv)))
        return CR_ENOMEM;
    for (size_t i = 0; i < n_labels; i++) {
        struct value l = value_string(labels[i].p, labels[i].len);

        if (labels[i].len && labels[i].len <= CR_GRAPH_KEY_MAX)
            lv[q.n_labels++] = l; /* a label no edge can have is left out */
    }
    if (n_labels && !q.n_labels)
        return 0;
    q.labels = lv;
    do {
        struct graph_adj_page p;

        rc = graph_expand(gs->t, &gs->g, &q, a, &p);
        if (rc)
            return no_such_name(rc);
        for (size_t i = 0; rc == 0 && i < p.n; i++) {
            const struct graph_adj *x = &p.adj[i];
            bool out = x->dir == GRAPH_OUT;
            struct graph_edge e = {x->edge,
                                   x->label,
                                   out ? *vid : x->neighbour,
                                   out ? x->neighbour : *vid,
                                   out ? x->vertex_label : x->neighbour_label,
                                   out ? x->neighbour_label : x->vertex_label,
                                   NULL,
                                   0};
            struct gremlin_elem ge;

            edge_elem(&e, &ge);
            rc = visit(fn, arg, &ge);
        }
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    } while (rc == 0 && q.cursor_len);
    return rc < 0 ? rc : 0;
}

static bool added(const struct gremlin_storage *gs, enum mut_type type, const struct value *id);

/* Whether mutation m writes the properties of element e (or drops it). */
static bool targets(const struct mutation *m, const struct gremlin_elem *e)
{
    bool edge = e->kind == GREMLIN_EDGE;

    switch (m->type) {
    case MUT_GRAPH_SET_PROPERTY:
    case MUT_GRAPH_REMOVE_PROPERTY:
        return m->graph.edge == edge && value_equal(&m->graph.id, &e->id);
    case MUT_GRAPH_DROP_VERTEX:
        return !edge && value_equal(&m->graph.id, &e->id);
    case MUT_GRAPH_DROP_EDGE:
        return edge && value_equal(&m->graph.id, &e->id);
    default:
        return false;
    }
}

/* Removes the values of key (all of them, or only prop_id's when it is not VT_NULL). */
static void remove_key(struct gremlin_prop *p, size_t *n, const struct value *key,
                       const struct value *prop_id)
{
    size_t k = 0;

    for (size_t i = 0; i < *n; i++) {
        struct value pk = value_string(p[i].key.p, p[i].key.len);

        if (value_equal(&pk, key) && (prop_id->type == VT_NULL || value_equal(&p[i].id, prop_id)))
            continue;
        p[k++] = p[i];
    }
    *n = k;
}

/*
 * The properties of e as they will be once the script's entry applies: what the snapshot holds
 * (nothing for an element the script adds), then the script's own property writes to e in order.
 * A script reads its writes, as Cosmos DB's answers show them; values it adds have no property id
 * yet (apply chooses them), so they carry VT_NULL.
 */
static int cb_properties(void *ctx, const struct gremlin_elem *e, struct cr_arena *a,
                         const struct gremlin_prop **props, size_t *n)
{
    struct gremlin_storage *gs = ctx;
    bool edge = e->kind == GREMLIN_EDGE;
    struct graph_prop *gp = NULL;
    struct gremlin_prop *out = NULL;
    size_t np = 0, cap = 0, k = 0;
    int rc = 0;

    *props = NULL;
    *n = 0;
    if (!added(gs, edge ? MUT_GRAPH_ADD_EDGE : MUT_GRAPH_ADD_VERTEX, &e->id)) {
        if (!edge) {
            struct graph_vertex v;

            rc = graph_get_vertex(gs->t, &gs->g, &e->id, a, &v);
            gp = v.props;
            np = v.n_props;
        } else {
            struct graph_edge x;

            rc = graph_get_edge(gs->t, &gs->g, &e->id, a, &x);
            gp = x.props;
            np = x.n_props;
        }
        if (rc)
            return no_such_name(rc);
    }
    for (size_t i = 0; i < np; i++) {
        struct gremlin_prop *slot = cr_arena_push(a, (void **)&out, &k, &cap, sizeof *out);

        if (!slot)
            return CR_ENOMEM;
        *slot = (struct gremlin_prop){gstr(&gp[i].key), gp[i].id, gp[i].value};
    }
    for (size_t i = 0; i < gs->n; i++) {
        const struct mutation *m = &gs->muts[i];
        struct gremlin_prop *slot;

        if (!targets(m, e))
            continue;
        if (m->type == MUT_GRAPH_DROP_VERTEX || m->type == MUT_GRAPH_DROP_EDGE) {
            k = 0;
            continue;
        }
        if (m->type == MUT_GRAPH_REMOVE_PROPERTY) {
            remove_key(out, &k, &m->graph.key, &m->graph.prop_id);
            continue;
        }
        if (edge || !m->graph.list) {
            struct value all = value_null();

            remove_key(out, &k, &m->graph.key, &all);
        }
        if (!(slot = cr_arena_push(a, (void **)&out, &k, &cap, sizeof *out)))
            return CR_ENOMEM;
        *slot = (struct gremlin_prop){gstr(&m->graph.key), value_null(), m->graph.value};
    }
    *props = out;
    *n = k;
    return 0;
}

static int cb_lookup(void *ctx, const struct gremlin_str *label, const struct gremlin_str *key,
                     const struct value *value, struct cr_arena *a, gremlin_visit_fn fn, void *arg)
{
    struct gremlin_storage *gs = ctx;
    struct value lv = label ? value_string(label->p, label->len) : value_null();
    struct graph_lookup_query q = {
        label ? &lv : NULL, value_string(key->p, key->len), *value, GREMLIN_STORAGE_PAGE, NULL, 0};
    int rc;

    do {
        struct graph_hit_page p;

        rc = graph_lookup(gs->t, &gs->g, &q, a, &p);
        if (rc)
            return no_such_name(rc);
        for (size_t i = 0; rc == 0 && i < p.n; i++) {
            struct gremlin_elem e;

            vertex_elem(&p.hits[i].id, &p.hits[i].label, &e);
            rc = visit(fn, arg, &e);
        }
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    } while (rc == 0 && q.cursor_len);
    return rc < 0 ? rc : 0;
}

/* ---- mutations ---- */

static int push(struct gremlin_storage *gs, enum mut_type type, struct mutation **out)
{
    struct mutation *m;

    if (gs->n == gs->cap) {
        size_t cap = gs->cap ? 2 * gs->cap : 16;
        struct mutation *muts = cr_arena_alloc(gs->a, cap * sizeof *muts);

        if (!muts)
            return CR_ENOMEM;
        if (gs->n)
            memcpy(muts, gs->muts, gs->n * sizeof *muts);
        gs->muts = muts;
        gs->cap = cap;
    }
    m = &gs->muts[gs->n++];
    memset(m, 0, sizeof *m);
    m->type = type;
    memcpy(m->graph.name, gs->g.name, sizeof m->graph.name);
    *out = m;
    return 0;
}

static int copy(struct gremlin_storage *gs, const struct value *v, struct value *out)
{
    return value_clone(v, gs->a, out) < 0 ? CR_ENOMEM : 0;
}

static int copy_str(struct gremlin_storage *gs, const struct gremlin_str *s, struct value *out)
{
    struct value v = value_string(s->p ? s->p : "", s->len);

    return copy(gs, &v, out);
}

/* Whether the script added a vertex (kind VERTEX) or an edge with this id. */
static bool added(const struct gremlin_storage *gs, enum mut_type type, const struct value *id)
{
    for (size_t i = 0; i < gs->n; i++)
        if (gs->muts[i].type == type && value_equal(&gs->muts[i].graph.id, id))
            return true;
    return false;
}

static int exists(struct gremlin_storage *gs, bool edge, const struct value *id, struct cr_arena *a,
                  bool *out)
{
    int rc;

    *out = added(gs, edge ? MUT_GRAPH_ADD_EDGE : MUT_GRAPH_ADD_VERTEX, id);
    if (*out)
        return 0;
    if (edge) {
        struct graph_edge e;

        rc = graph_get_edge(gs->t, &gs->g, id, a, &e);
    } else {
        struct graph_vertex v;

        rc = graph_get_vertex(gs->t, &gs->g, id, a, &v);
    }
    *out = rc == 0;
    return rc == 0 ? 0 : no_such_name(rc);
}

static int new_id(struct gremlin_storage *gs, const struct value *id, struct value *out)
{
    if (id)
        return copy(gs, id, out);
    return graph_id_make(gs->id_base, (uint16_t)gs->n, 0, gs->a, out);
}

static int cb_add_vertex(void *ctx, const struct value *id, const struct gremlin_str *label,
                         struct cr_arena *a, struct gremlin_elem *out)
{
    struct gremlin_storage *gs = ctx;
    struct mutation *m;
    struct value vid, lab;
    bool taken = false;
    int rc = new_id(gs, id, &vid);

    if (rc == 0)
        rc = exists(gs, false, &vid, a, &taken);
    if (rc == 0 && taken)
        rc = CR_EEXISTS;
    if (rc == 0)
        rc = copy_str(gs, label, &lab);
    if (rc == 0)
        rc = push(gs, MUT_GRAPH_ADD_VERTEX, &m);
    if (rc)
        return rc;
    m->graph.id = vid;
    m->graph.label = lab;
    vertex_elem(&m->graph.id, &m->graph.label, out);
    return 0;
}

static int cb_add_edge(void *ctx, const struct value *id, const struct gremlin_str *label,
                       const struct gremlin_elem *from, const struct gremlin_elem *to,
                       struct cr_arena *a, struct gremlin_elem *out)
{
    struct gremlin_storage *gs = ctx;
    struct mutation *m;
    struct value eid, lab, ov, iv;
    bool have_from = false, have_to = false;
    int rc = exists(gs, false, &from->id, a, &have_from);

    if (rc == 0)
        rc = exists(gs, false, &to->id, a, &have_to);
    if (rc == 0 && (!have_from || !have_to))
        rc = CR_ENOTFOUND;
    if (rc == 0)
        rc = new_id(gs, id, &eid);
    if (rc == 0 && id) {
        bool taken = false;

        rc = exists(gs, true, &eid, a, &taken);
        if (rc == 0 && taken)
            rc = CR_EEXISTS;
    }
    if (rc == 0)
        rc = copy_str(gs, label, &lab);
    if (rc == 0)
        rc = copy(gs, &from->id, &ov);
    if (rc == 0)
        rc = copy(gs, &to->id, &iv);
    if (rc == 0)
        rc = push(gs, MUT_GRAPH_ADD_EDGE, &m);
    if (rc)
        return rc;
    m->graph.id = eid;
    m->graph.label = lab;
    m->graph.out_v = ov;
    m->graph.in_v = iv;
    memset(out, 0, sizeof *out);
    out->kind = GREMLIN_EDGE;
    out->id = eid;
    out->label = gstr(&lab);
    out->out_v = ov;
    out->in_v = iv;
    out->out_label = from->label;
    out->in_label = to->label;
    return 0;
}

static int cb_set_property(void *ctx, const struct gremlin_elem *e, const struct gremlin_str *key,
                           const struct value *value, bool list)
{
    struct gremlin_storage *gs = ctx;
    struct mutation *m;
    struct value id, k, v;
    int rc = copy(gs, &e->id, &id);

    if (rc == 0)
        rc = copy_str(gs, key, &k);
    if (rc == 0)
        rc = copy(gs, value, &v);
    if (rc == 0)
        rc = push(gs, MUT_GRAPH_SET_PROPERTY, &m);
    if (rc)
        return rc;
    m->graph.edge = e->kind == GREMLIN_EDGE;
    m->graph.id = id;
    m->graph.key = k;
    m->graph.value = v;
    m->graph.list = list;
    return 0;
}

static int cb_drop(void *ctx, const struct gremlin_elem *e)
{
    struct gremlin_storage *gs = ctx;
    struct mutation *m;
    struct value id;
    int rc = copy(gs, &e->id, &id);

    if (rc == 0)
        rc = push(gs, e->kind == GREMLIN_EDGE ? MUT_GRAPH_DROP_EDGE : MUT_GRAPH_DROP_VERTEX, &m);
    if (rc == 0)
        m->graph.id = id;
    return rc;
}

struct gremlin_graph gremlin_storage_graph(struct gremlin_storage *gs)
{
    struct gremlin_graph gr = {
        .ctx = gs,
        .get = cb_get,
        .scan_vertices = cb_scan_vertices,
        .scan_edges = cb_scan_edges,
        .expand = cb_expand,
        .properties = cb_properties,
        .lookup = cb_lookup,
        .add_vertex = cb_add_vertex,
        .add_edge = cb_add_edge,
        .set_property = cb_set_property,
        .drop = cb_drop,
    };

    return gr;
}
