/*
 * The traversal machine's objects: their total order (dedup, order, group keys, within) and
 * their rendering as result values in the shapes Cosmos DB's Gremlin API returns (gremlin.h).
 * Reads the graph only to load properties.
 */
#include "query/gremlin_int.h"

#include "common/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int kind_rank(const struct gobj *o)
{
    switch (o->k) {
    case GO_VAL:
        return 0;
    case GO_ELEM:
        return o->u.el->e.kind == GREMLIN_VERTEX ? 1 : 2;
    case GO_LIST:
        return 3;
    case GO_MAP:
        return 4;
    case GO_PATH:
        return 5;
    }
    return 6;
}

static int path_compare(const struct gpath *a, const struct gpath *b)
{
    int c;

    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    for (; a && b; a = a->prev, b = b->prev) {
        c = gobj_compare(a->obj, b->obj);
        if (c)
            return c;
    }
    return 0;
}

int gobj_compare(const struct gobj *a, const struct gobj *b)
{
    int ra = kind_rank(a), rb = kind_rank(b), c;

    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a->k) {
    case GO_VAL:
        return value_compare(&a->u.v, &b->u.v);
    case GO_ELEM:
        return value_compare(&a->u.el->e.id, &b->u.el->e.id);
    case GO_LIST:
        for (size_t i = 0; i < a->u.list.n && i < b->u.list.n; i++) {
            c = gobj_compare(a->u.list.items[i], b->u.list.items[i]);
            if (c)
                return c;
        }
        return a->u.list.n < b->u.list.n ? -1 : a->u.list.n > b->u.list.n;
    case GO_MAP:
        for (size_t i = 0; i < a->u.map.n && i < b->u.map.n; i++) {
            c = gobj_compare(a->u.map.keys[i], b->u.map.keys[i]);
            if (!c)
                c = gobj_compare(a->u.map.vals[i], b->u.map.vals[i]);
            if (c)
                return c;
        }
        return a->u.map.n < b->u.map.n ? -1 : a->u.map.n > b->u.map.n;
    case GO_PATH:
        return path_compare(a->u.path, b->u.path);
    }
    return 0;
}

int gobj_load_props(const struct gremlin_graph *g, struct cr_arena *a, struct gelem *el)
{
    int rc;

    if (el->loaded)
        return 0;
    rc = g->properties(g->ctx, &el->e, a, &el->props, &el->n_props);
    if (rc)
        return rc;
    el->loaded = true;
    return 0;
}

/* ---- rendering ---- */

struct mapb {
    struct value_field *f;
    size_t n;
};

static int put_field(struct cr_arena *a, struct mapb *m, const char *name, size_t len,
                     struct value v)
{
    struct value *pv = cr_arena_alloc(a, sizeof *pv);

    if (!pv)
        return CR_ENOMEM;
    *pv = v;
    m->f[m->n++] = (struct value_field){name, len, pv};
    return 0;
}

static struct value map_value(struct mapb *m)
{
    struct value v = {.type = VT_MAP};

    v.u.map.fields = m->f;
    v.u.map.n = m->n;
    return v;
}

static int str_value(struct cr_arena *a, const struct gremlin_str *s, struct value *out)
{
    char *p = cr_arena_strndup(a, s->p ? s->p : "", s->len);

    if (!p)
        return CR_ENOMEM;
    *out = value_string(p, s->len);
    return 0;
}

static int render_props_vertex(struct cr_arena *a, const struct gelem *el, struct value *out)
{
    struct mapb m = {cr_arena_alloc(a, el->n_props * sizeof *m.f + 1), 0};
    int rc;

    if (!m.f)
        return CR_ENOMEM;
    for (size_t i = 0; i < el->n_props; i++) {
        const struct gremlin_prop *p = &el->props[i];
        size_t j, cnt = 0, k = 0;
        struct value arr = {.type = VT_ARRAY};
        char *name;

        for (j = 0; j < i; j++)
            if (el->props[j].key.len == p->key.len &&
                memcmp(el->props[j].key.p, p->key.p, p->key.len) == 0)
                break;
        if (j < i)
            continue; /* the key's values were rendered at its first occurrence */
        for (j = i; j < el->n_props; j++)
            if (el->props[j].key.len == p->key.len &&
                memcmp(el->props[j].key.p, p->key.p, p->key.len) == 0)
                cnt++;
        arr.u.arr.items = cr_arena_alloc(a, cnt * sizeof *arr.u.arr.items);
        name = cr_arena_strndup(a, p->key.p, p->key.len);
        if (!arr.u.arr.items || !name)
            return CR_ENOMEM;
        for (j = i; j < el->n_props; j++) {
            const struct gremlin_prop *q = &el->props[j];
            struct mapb pm = {cr_arena_alloc(a, 2 * sizeof *pm.f), 0};
            struct value id, val;

            if (q->key.len != p->key.len || memcmp(q->key.p, p->key.p, p->key.len) != 0)
                continue;
            if (!pm.f)
                return CR_ENOMEM;
            rc = value_clone(&q->id, a, &id);
            if (!rc)
                rc = value_clone(&q->value, a, &val);
            if (!rc)
                rc = put_field(a, &pm, "id", 2, id);
            if (!rc)
                rc = put_field(a, &pm, "value", 5, val);
            if (rc)
                return rc;
            arr.u.arr.items[k++] = map_value(&pm);
        }
        arr.u.arr.n = k;
        rc = put_field(a, &m, name, p->key.len, arr);
        if (rc)
            return rc;
    }
    *out = map_value(&m);
    return 0;
}

static int render_props_edge(struct cr_arena *a, const struct gelem *el, struct value *out)
{
    struct mapb m = {cr_arena_alloc(a, el->n_props * sizeof *m.f + 1), 0};
    int rc;

    if (!m.f)
        return CR_ENOMEM;
    for (size_t i = 0; i < el->n_props; i++) {
        const struct gremlin_prop *p = &el->props[i];
        char *name = cr_arena_strndup(a, p->key.p, p->key.len);
        struct value v;

        if (!name)
            return CR_ENOMEM;
        rc = value_clone(&p->value, a, &v);
        if (!rc)
            rc = put_field(a, &m, name, p->key.len, v);
        if (rc)
            return rc;
    }
    *out = map_value(&m);
    return 0;
}

/* Counts one more rendered value against the results' limit. */
static int spend(size_t *left, size_t n)
{
    if (*left < n)
        return CR_ETOOMANY;
    *left -= n;
    return 0;
}

static int render_elem(const struct gremlin_graph *g, struct cr_arena *a, struct gelem *el,
                       size_t *left, struct value *out)
{
    struct mapb m = {cr_arena_alloc(a, 8 * sizeof *m.f), 0};
    bool vertex = el->e.kind == GREMLIN_VERTEX;
    struct value v;
    int rc;

    if (!m.f)
        return CR_ENOMEM;
    rc = gobj_load_props(g, a, el);
    if (!rc)
        rc = spend(left, 1 + el->n_props);
    if (rc)
        return rc;
    rc = value_clone(&el->e.id, a, &v);
    if (!rc)
        rc = put_field(a, &m, "id", 2, v);
    if (!rc)
        rc = str_value(a, &el->e.label, &v);
    if (!rc)
        rc = put_field(a, &m, "label", 5, v);
    if (!rc)
        rc = put_field(a, &m, "type", 4,
                       vertex ? value_string("vertex", 6) : value_string("edge", 4));
    if (!rc && !vertex) {
        rc = str_value(a, &el->e.in_label, &v);
        if (!rc)
            rc = put_field(a, &m, "inVLabel", 8, v);
        if (!rc)
            rc = str_value(a, &el->e.out_label, &v);
        if (!rc)
            rc = put_field(a, &m, "outVLabel", 9, v);
        if (!rc)
            rc = value_clone(&el->e.in_v, a, &v);
        if (!rc)
            rc = put_field(a, &m, "inV", 3, v);
        if (!rc)
            rc = value_clone(&el->e.out_v, a, &v);
        if (!rc)
            rc = put_field(a, &m, "outV", 4, v);
    }
    if (!rc && el->n_props) {
        rc = vertex ? render_props_vertex(a, el, &v) : render_props_edge(a, el, &v);
        if (!rc)
            rc = put_field(a, &m, "properties", 10, v);
    }
    if (rc)
        return rc;
    *out = map_value(&m);
    return 0;
}

/* A map key as JSON needs it: a string as is, anything else as its text (an element by its
 * id). */
static int key_text(const struct gobj *k, struct cr_arena *a, const char **p, size_t *len)
{
    const struct value *v = k->k == GO_ELEM ? &k->u.el->e.id : k->k == GO_VAL ? &k->u.v : NULL;
    char buf[64];
    int n;

    if (v && v->type == VT_STRING) {
        *p = cr_arena_strndup(a, v->u.s.ptr, v->u.s.len);
        *len = v->u.s.len;
        return *p ? 0 : CR_ENOMEM;
    }
    if (!v)
        n = snprintf(buf, sizeof buf, "%s", k->k == GO_LIST ? "[list]" : "[map]");
    else if (v->type == VT_INT)
        n = snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
    else if (v->type == VT_DOUBLE)
        n = snprintf(buf, sizeof buf, "%.17g", v->u.d);
    else if (v->type == VT_BOOL)
        n = snprintf(buf, sizeof buf, "%s", v->u.b ? "true" : "false");
    else if (v->type == VT_NULL)
        n = snprintf(buf, sizeof buf, "null");
    else
        n = snprintf(buf, sizeof buf, "[%s]", value_type_name(v->type));
    *p = cr_arena_strndup(a, buf, (size_t)n);
    *len = (size_t)n;
    return *p ? 0 : CR_ENOMEM;
}

static int render_path(const struct gremlin_graph *g, struct cr_arena *a, const struct gpath *p,
                       size_t *left, struct value *out)
{
    size_t n = p ? p->len : 0;
    struct value labels = {.type = VT_ARRAY}, objects = {.type = VT_ARRAY};
    struct mapb m = {cr_arena_alloc(a, 2 * sizeof *m.f), 0};
    int rc;

    labels.u.arr.items = cr_arena_alloc(a, (n + 1) * sizeof(struct value));
    objects.u.arr.items = cr_arena_alloc(a, (n + 1) * sizeof(struct value));
    if (!m.f || !labels.u.arr.items || !objects.u.arr.items)
        return CR_ENOMEM;
    labels.u.arr.n = objects.u.arr.n = n;
    for (size_t i = n; i > 0; i--, p = p->prev) {
        struct value *l = &labels.u.arr.items[i - 1];

        l->type = VT_ARRAY;
        l->u.arr.n = p->n_labels;
        l->u.arr.items = cr_arena_alloc(a, (p->n_labels + 1) * sizeof(struct value));
        if (!l->u.arr.items)
            return CR_ENOMEM;
        for (size_t j = 0; j < p->n_labels; j++) {
            rc = str_value(a, &p->labels[j], &l->u.arr.items[j]);
            if (rc)
                return rc;
        }
        rc = gobj_render(g, a, p->obj, left, &objects.u.arr.items[i - 1]);
        if (rc)
            return rc;
    }
    rc = put_field(a, &m, "labels", 6, labels);
    if (!rc)
        rc = put_field(a, &m, "objects", 7, objects);
    if (rc)
        return rc;
    *out = map_value(&m);
    return 0;
}

int gobj_render(const struct gremlin_graph *g, struct cr_arena *a, struct gobj *o, size_t *left,
                struct value *out)
{
    int rc = spend(left, 1);

    if (rc)
        return rc;
    switch (o->k) {
    case GO_VAL:
        return value_clone(&o->u.v, a, out);
    case GO_ELEM:
        return render_elem(g, a, o->u.el, left, out);
    case GO_LIST:
        out->type = VT_ARRAY;
        out->u.arr.n = o->u.list.n;
        out->u.arr.items = cr_arena_alloc(a, (o->u.list.n + 1) * sizeof(struct value));
        if (!out->u.arr.items)
            return CR_ENOMEM;
        for (size_t i = 0; i < o->u.list.n; i++) {
            rc = gobj_render(g, a, o->u.list.items[i], left, &out->u.arr.items[i]);
            if (rc)
                return rc;
        }
        return 0;
    case GO_MAP: {
        struct mapb m = {cr_arena_alloc(a, (o->u.map.n + 1) * sizeof *m.f), 0};

        if (!m.f)
            return CR_ENOMEM;
        for (size_t i = 0; i < o->u.map.n; i++) {
            const char *name;
            size_t len;
            struct value v;

            rc = key_text(o->u.map.keys[i], a, &name, &len);
            if (!rc)
                rc = gobj_render(g, a, o->u.map.vals[i], left, &v);
            if (!rc)
                rc = put_field(a, &m, name, len, v);
            if (rc)
                return rc;
        }
        *out = map_value(&m);
        return 0;
    }
    case GO_PATH:
        return render_path(g, a, o->u.path, left, out);
    }
    return CR_EINTERNAL;
}
