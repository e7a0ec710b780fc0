/*
 * The in-memory test graph (gremlin_mem.h): the reference implementation of the Gremlin graph
 * interface, simple enough to trust. Property lookups and edge gets are linear scans.
 */
#include "gremlin_mem.h"

#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gmem_init(struct gmem *g)
{
    memset(g, 0, sizeof *g);
    cr_arena_init(&g->a, 64 * 1024);
}

void gmem_free(struct gmem *g)
{
    for (size_t i = 0; i < g->n_v; i++) {
        free(g->v[i].props);
        free(g->v[i].out);
        free(g->v[i].in);
    }
    for (size_t i = 0; i < g->n_e; i++)
        free(g->e[i].props);
    free(g->v);
    free(g->e);
    free(g->vhash);
    cr_arena_free(&g->a);
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    void *p;
    size_t c;

    if (n < *cap)
        return 0;
    c = *cap ? *cap * 2 : 8;
    p = realloc(*arr, c * size);
    if (!p)
        return CR_ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

static int gen_id(struct gmem *g, char prefix, struct value *out)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%c%llu", prefix, (unsigned long long)++g->next_id);
    char *p = cr_arena_strndup(&g->a, buf, (size_t)n);

    if (!p)
        return CR_ENOMEM;
    *out = value_string(p, (size_t)n);
    return 0;
}

static int str_copy(struct gmem *g, const char *p, size_t len, struct gremlin_str *out)
{
    char *q = cr_arena_strndup(&g->a, p ? p : "", len);

    if (!q)
        return CR_ENOMEM;
    *out = (struct gremlin_str){q, len};
    return 0;
}

static size_t id_hash(const struct value *id)
{
    const unsigned char *p = (const unsigned char *)&id->u.i;
    size_t n = sizeof id->u.i, h = 1469598103934665603ull;

    if (id->type == VT_STRING) {
        p = (const unsigned char *)id->u.s.ptr;
        n = id->u.s.len;
    } else if (id->type != VT_INT) {
        return 0; /* other id types share one chain: correct, only slower */
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* The slot of id: where it is, or the empty slot where it would go. */
static size_t hash_slot(const struct gmem *g, const struct value *id)
{
    size_t mask = g->cap_hash - 1, i = id_hash(id) & mask;

    while (g->vhash[i] && !value_equal(&g->v[g->vhash[i] - 1].id, id))
        i = (i + 1) & mask;
    return i;
}

static int hash_put(struct gmem *g, size_t v)
{
    if (2 * (g->n_v + 1) > g->cap_hash) {
        size_t cap = g->cap_hash ? 2 * g->cap_hash : 64, *old = g->vhash;

        g->vhash = calloc(cap, sizeof *g->vhash);
        if (!g->vhash) {
            g->vhash = old;
            return CR_ENOMEM;
        }
        free(old);
        g->cap_hash = cap;
        for (size_t i = 0; i < g->n_v; i++)
            if (i != v)
                g->vhash[hash_slot(g, &g->v[i].id)] = i + 1;
    }
    g->vhash[hash_slot(g, &g->v[v].id)] = v + 1;
    return 0;
}

long gmem_find_vertex(const struct gmem *g, const struct value *id)
{
    size_t i;

    if (!g->cap_hash)
        return -1;
    i = hash_slot(g, id);
    if (!g->vhash[i] || g->v[g->vhash[i] - 1].dead)
        return -1;
    return (long)g->vhash[i] - 1;
}

static long find_edge(const struct gmem *g, const struct value *id)
{
    for (size_t i = 0; i < g->n_e; i++)
        if (!g->e[i].dead && value_equal(&g->e[i].id, id))
            return (long)i;
    return -1;
}

static long add_vertex(struct gmem *g, const struct value *id, const char *label, size_t len)
{
    struct gmem_vertex *v;

    if (grow((void **)&g->v, &g->cap_v, g->n_v, sizeof *g->v))
        return -1;
    v = &g->v[g->n_v];
    memset(v, 0, sizeof *v);
    if ((id ? value_clone(id, &g->a, &v->id) : gen_id(g, 'v', &v->id)) ||
        str_copy(g, label, len, &v->label) || hash_put(g, g->n_v))
        return -1;
    return (long)g->n_v++;
}

long gmem_add_vertex(struct gmem *g, const struct value *id, const char *label)
{
    return add_vertex(g, id, label, strlen(label));
}

static long add_edge(struct gmem *g, const struct value *id, const char *label, size_t len,
                     size_t from, size_t to)
{
    struct gmem_vertex *f = &g->v[from], *t = &g->v[to];
    struct gmem_edge *e;

    if (grow((void **)&g->e, &g->cap_e, g->n_e, sizeof *g->e) ||
        grow((void **)&f->out, &f->cap_out, f->n_out, sizeof *f->out) ||
        grow((void **)&t->in, &t->cap_in, t->n_in, sizeof *t->in))
        return -1;
    e = &g->e[g->n_e];
    memset(e, 0, sizeof *e);
    if ((id ? value_clone(id, &g->a, &e->id) : gen_id(g, 'e', &e->id)) ||
        str_copy(g, label, len, &e->label))
        return -1;
    e->from = from;
    e->to = to;
    f->out[f->n_out++] = g->n_e;
    t->in[t->n_in++] = g->n_e;
    return (long)g->n_e++;
}

long gmem_add_edge(struct gmem *g, const struct value *id, const char *label, size_t from,
                   size_t to)
{
    return add_edge(g, id, label, strlen(label), from, to);
}

static int set_prop(struct gmem *g, struct gremlin_prop **props, size_t *n, size_t *cap,
                    const char *key, size_t klen, const struct value *value, bool list)
{
    struct gremlin_prop *p = NULL;
    size_t k = 0;
    int rc;

    if (!list) {
        /* single: the key keeps the place of its first value */
        for (size_t i = 0; i < *n; i++) {
            bool same = (*props)[i].key.len == klen && memcmp((*props)[i].key.p, key, klen) == 0;

            if (!same || !p)
                (*props)[k++] = (*props)[i];
            if (same && !p)
                p = &(*props)[k - 1];
        }
        *n = k;
        if (p) {
            rc = value_clone(value, &g->a, &p->value);
            return rc ? rc : gen_id(g, 'p', &p->id);
        }
    }
    rc = grow((void **)props, cap, *n, sizeof **props);
    if (rc)
        return rc;
    p = &(*props)[*n];
    memset(p, 0, sizeof *p);
    rc = str_copy(g, key, klen, &p->key);
    if (!rc)
        rc = value_clone(value, &g->a, &p->value);
    if (!rc)
        rc = gen_id(g, 'p', &p->id);
    if (!rc)
        (*n)++;
    return rc;
}

int gmem_vertex_prop(struct gmem *g, size_t v, const char *key, const struct value *value,
                     bool list)
{
    struct gmem_vertex *x = &g->v[v];

    return set_prop(g, &x->props, &x->n_props, &x->cap_props, key, strlen(key), value, list);
}

int gmem_edge_prop(struct gmem *g, size_t e, const char *key, const struct value *value)
{
    struct gmem_edge *x = &g->e[e];

    return set_prop(g, &x->props, &x->n_props, &x->cap_props, key, strlen(key), value, false);
}

/* ---- the interface ---- */

static void vertex_elem(const struct gmem *g, size_t i, struct gremlin_elem *out)
{
    *out = (struct gremlin_elem){.kind = GREMLIN_VERTEX, .id = g->v[i].id, .label = g->v[i].label};
}

static void edge_elem(const struct gmem *g, size_t i, struct gremlin_elem *out)
{
    const struct gmem_edge *e = &g->e[i];

    *out = (struct gremlin_elem){.kind = GREMLIN_EDGE, .id = e->id, .label = e->label};
    out->out_v = g->v[e->from].id;
    out->in_v = g->v[e->to].id;
    out->out_label = g->v[e->from].label;
    out->in_label = g->v[e->to].label;
}

static bool label_is(const struct gremlin_str *l, const struct gremlin_str *want)
{
    return l->len == want->len && memcmp(l->p, want->p, l->len) == 0;
}

static int cb_get(void *ctx, enum gremlin_kind kind, const struct value *id, struct cr_arena *a,
                  struct gremlin_elem *out)
{
    struct gmem *g = ctx;
    long i;

    (void)a;
    g->n_get++;
    i = kind == GREMLIN_VERTEX ? gmem_find_vertex(g, id) : find_edge(g, id);
    if (i < 0)
        return CR_ENOTFOUND;
    if (kind == GREMLIN_VERTEX)
        vertex_elem(g, (size_t)i, out);
    else
        edge_elem(g, (size_t)i, out);
    return 0;
}

static int cb_scan_vertices(void *ctx, const struct gremlin_str *label, struct cr_arena *a,
                            gremlin_visit_fn fn, void *arg)
{
    struct gmem *g = ctx;
    struct gremlin_elem e;

    (void)a;
    g->n_scan++;
    for (size_t i = 0; i < g->n_v; i++) {
        int rc;

        if (g->v[i].dead || (label && !label_is(&g->v[i].label, label)))
            continue;
        vertex_elem(g, i, &e);
        rc = fn(arg, &e);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static int cb_scan_edges(void *ctx, struct cr_arena *a, gremlin_visit_fn fn, void *arg)
{
    struct gmem *g = ctx;
    struct gremlin_elem e;

    (void)a;
    g->n_scan++;
    for (size_t i = 0; i < g->n_e; i++) {
        int rc;

        if (g->e[i].dead)
            continue;
        edge_elem(g, i, &e);
        rc = fn(arg, &e);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static int cb_expand(void *ctx, const struct value *vid, enum gremlin_dir dir,
                     const struct gremlin_str *labels, size_t n_labels, struct cr_arena *a,
                     gremlin_visit_fn fn, void *arg)
{
    struct gmem *g = ctx;
    long v = gmem_find_vertex(g, vid);
    struct gremlin_elem e;

    (void)a;
    g->n_expand++;
    if (v < 0)
        return 0;
    for (int d = 0; d < 2; d++) {
        const size_t *list = d == 0 ? g->v[v].out : g->v[v].in;
        size_t n = d == 0 ? g->v[v].n_out : g->v[v].n_in;

        if ((d == 0 && dir == GREMLIN_IN) || (d == 1 && dir == GREMLIN_OUT))
            continue;
        for (size_t i = 0; i < n; i++) {
            const struct gmem_edge *x = &g->e[list[i]];
            bool match = n_labels == 0;
            int rc;

            for (size_t k = 0; k < n_labels && !match; k++)
                match = label_is(&x->label, &labels[k]);
            if (x->dead || !match)
                continue;
            edge_elem(g, list[i], &e);
            rc = fn(arg, &e);
            if (rc)
                return rc < 0 ? rc : 0;
        }
    }
    return 0;
}

static int cb_properties(void *ctx, const struct gremlin_elem *e, struct cr_arena *a,
                         const struct gremlin_prop **props, size_t *n)
{
    struct gmem *g = ctx;
    long i = e->kind == GREMLIN_VERTEX ? gmem_find_vertex(g, &e->id) : find_edge(g, &e->id);
    const struct gremlin_prop *src;
    struct gremlin_prop *copy;

    g->n_props++;
    if (i < 0) {
        *props = NULL;
        *n = 0;
        return 0;
    }
    src = e->kind == GREMLIN_VERTEX ? g->v[i].props : g->e[i].props;
    *n = e->kind == GREMLIN_VERTEX ? g->v[i].n_props : g->e[i].n_props;
    copy = cr_arena_alloc(a, (*n + 1) * sizeof *copy);
    if (!copy)
        return CR_ENOMEM;
    if (*n)
        memcpy(copy, src, *n * sizeof *copy);
    *props = copy;
    return 0;
}

static int cb_lookup(void *ctx, const struct gremlin_str *label, const struct gremlin_str *key,
                     const struct value *value, struct cr_arena *a, gremlin_visit_fn fn, void *arg)
{
    struct gmem *g = ctx;
    struct gremlin_elem e;

    (void)a;
    g->n_lookup++;
    for (size_t i = 0; i < g->n_v; i++) {
        const struct gmem_vertex *v = &g->v[i];
        bool match = false;
        int rc;

        if (v->dead || (label && !label_is(&v->label, label)))
            continue;
        for (size_t k = 0; k < v->n_props && !match; k++)
            match = label_is(&v->props[k].key, key) && value_equal(&v->props[k].value, value);
        if (!match)
            continue;
        vertex_elem(g, i, &e);
        rc = fn(arg, &e);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static int cb_add_vertex(void *ctx, const struct value *id, const struct gremlin_str *label,
                         struct cr_arena *a, struct gremlin_elem *out)
{
    struct gmem *g = ctx;
    long i;

    (void)a;
    g->n_mutations++;
    if (id && gmem_find_vertex(g, id) >= 0)
        return CR_EEXISTS;
    i = add_vertex(g, id, label->p, label->len);
    if (i < 0)
        return CR_ENOMEM;
    vertex_elem(g, (size_t)i, out);
    return 0;
}

static int cb_add_edge(void *ctx, const struct value *id, const struct gremlin_str *label,
                       const struct gremlin_elem *from, const struct gremlin_elem *to,
                       struct cr_arena *a, struct gremlin_elem *out)
{
    struct gmem *g = ctx;
    long f = gmem_find_vertex(g, &from->id), t = gmem_find_vertex(g, &to->id), i;

    (void)a;
    g->n_mutations++;
    if (f < 0 || t < 0)
        return CR_ENOTFOUND;
    if (id && find_edge(g, id) >= 0)
        return CR_EEXISTS;
    i = add_edge(g, id, label->p, label->len, (size_t)f, (size_t)t);
    if (i < 0)
        return CR_ENOMEM;
    edge_elem(g, (size_t)i, out);
    return 0;
}

static int cb_set_property(void *ctx, const struct gremlin_elem *e, const struct gremlin_str *key,
                           const struct value *value, bool list)
{
    struct gmem *g = ctx;
    long i = e->kind == GREMLIN_VERTEX ? gmem_find_vertex(g, &e->id) : find_edge(g, &e->id);

    g->n_mutations++;
    if (i < 0)
        return CR_ENOTFOUND;
    if (e->kind == GREMLIN_VERTEX)
        return set_prop(g, &g->v[i].props, &g->v[i].n_props, &g->v[i].cap_props, key->p, key->len,
                        value, list);
    return set_prop(g, &g->e[i].props, &g->e[i].n_props, &g->e[i].cap_props, key->p, key->len,
                    value, false);
}

static int cb_drop(void *ctx, const struct gremlin_elem *e)
{
    struct gmem *g = ctx;
    long i;

    g->n_mutations++;
    if (e->kind == GREMLIN_EDGE) {
        i = find_edge(g, &e->id);
        if (i < 0)
            return CR_ENOTFOUND;
        g->e[i].dead = true;
        return 0;
    }
    i = gmem_find_vertex(g, &e->id);
    if (i < 0)
        return CR_ENOTFOUND;
    g->v[i].dead = true;
    for (size_t k = 0; k < g->v[i].n_out; k++)
        g->e[g->v[i].out[k]].dead = true;
    for (size_t k = 0; k < g->v[i].n_in; k++)
        g->e[g->v[i].in[k]].dead = true;
    return 0;
}

struct gremlin_graph gmem_graph(struct gmem *g)
{
    struct gremlin_graph gr = {
        .ctx = g,
        .get = cb_get,
        .scan_vertices = cb_scan_vertices,
        .scan_edges = cb_scan_edges,
        .expand = cb_expand,
        .properties = cb_properties,
        .lookup = g->no_lookup ? NULL : cb_lookup,
        .add_vertex = cb_add_vertex,
        .add_edge = cb_add_edge,
        .set_property = cb_set_property,
        .drop = cb_drop,
    };

    return gr;
}
