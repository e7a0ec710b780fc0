/*
 * The steps that map or filter one traverser at a time (gremlin_step_each): sources and
 * mutations, has() and the other filters, moves along edges, values, maps, select, project,
 * branches. Each reads the graph only through its callbacks; a g.V() followed by hasLabel() or
 * has(key, value) asks the graph for a label scan or a property lookup instead of a full scan.
 */
#include "query/gremlin_int.h"

#include "common/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- predicates ---- */

static bool text_match(enum gpred_op op, const struct value *x, const struct value *a)
{
    const char *p = x->u.s.ptr, *q = a->u.s.ptr;
    size_t n = x->u.s.len, k = a->u.s.len;
    bool r = false;

    switch (k == 0 ? GP_EQ : op) {
    case GP_EQ: /* the empty string starts, ends and is contained in any string */
        r = true;
        break;
    case GP_STARTINGWITH:
    case GP_NOTSTARTINGWITH:
        r = k <= n && memcmp(p, q, k) == 0;
        break;
    case GP_ENDINGWITH:
    case GP_NOTENDINGWITH:
        r = k <= n && memcmp(p + n - k, q, k) == 0;
        break;
    default:
        for (size_t i = 0; i + k <= n && !r; i++)
            r = memcmp(p + i, q, k) == 0;
        break;
    }
    return op == GP_NOTSTARTINGWITH || op == GP_NOTENDINGWITH || op == GP_NOTCONTAINING ? !r : r;
}

/* Ordered comparison: defined only between values of one type rank (numbers among numbers,
 * strings among strings); *ok false otherwise, and the predicate is false. */
static int ordered(const struct gobj *x, const struct gobj *a, bool *ok)
{
    *ok = x->k == GO_VAL && a->k == GO_VAL && value_rank(x->u.v.type) == value_rank(a->u.v.type) &&
          x->u.v.type != VT_NULL;
    return *ok ? value_compare(&x->u.v, &a->u.v) : 0;
}

/* Does x satisfy op over the argument objects a[0..n)? */
static bool pred_match(enum gpred_op op, const struct gobj *x, struct gobj *const *a, size_t n)
{
    bool ok, ok2;
    int c, c2;

    switch (op) {
    case GP_EQ:
        return gobj_compare(x, a[0]) == 0;
    case GP_NEQ:
        return gobj_compare(x, a[0]) != 0;
    case GP_LT:
        c = ordered(x, a[0], &ok);
        return ok && c < 0;
    case GP_LTE:
        c = ordered(x, a[0], &ok);
        return ok && c <= 0;
    case GP_GT:
        c = ordered(x, a[0], &ok);
        return ok && c > 0;
    case GP_GTE:
        c = ordered(x, a[0], &ok);
        return ok && c >= 0;
    case GP_BETWEEN:
        c = ordered(x, a[0], &ok);
        c2 = ordered(x, a[1], &ok2);
        return ok && ok2 && c >= 0 && c2 < 0;
    case GP_INSIDE:
        c = ordered(x, a[0], &ok);
        c2 = ordered(x, a[1], &ok2);
        return ok && ok2 && c > 0 && c2 < 0;
    case GP_OUTSIDE:
        c = ordered(x, a[0], &ok);
        c2 = ordered(x, a[1], &ok2);
        return ok && ok2 && (c < 0 || c2 > 0);
    case GP_WITHIN:
    case GP_WITHOUT:
        for (size_t i = 0; i < n; i++)
            if (gobj_compare(x, a[i]) == 0)
                return op == GP_WITHIN;
        return op == GP_WITHOUT;
    default:
        if (x->k != GO_VAL || x->u.v.type != VT_STRING || a[0]->k != GO_VAL ||
            a[0]->u.v.type != VT_STRING)
            return false;
        return text_match(op, &x->u.v, &a[0]->u.v);
    }
}

/* A predicate's arguments as objects (within/without flattened). */
static int pred_args(struct gmachine *m, const struct gpred *p, struct gobj ***out, size_t *n)
{
    struct value *v;
    struct gobj **o;
    int rc;

    if (p->op == GP_WITHIN || p->op == GP_WITHOUT) {
        rc = gremlin_flat_values(m, p->args, p->n_args, &v, n);
    } else {
        v = gremlin_alloc(m, (p->n_args + 1) * sizeof *v);
        if (!v)
            return gremlin_nomem(m);
        rc = 0;
        for (size_t i = 0; i < p->n_args && !rc; i++)
            rc = gremlin_arg_value(m, &p->args[i], &v[i]);
        *n = p->n_args;
    }
    if (rc)
        return rc;
    o = gremlin_alloc(m, (*n + 1) * sizeof *o);
    if (!o)
        return gremlin_nomem(m);
    for (size_t i = 0; i < *n; i++) {
        o[i] = gremlin_obj_val(m, &v[i]);
        if (!o[i])
            return gremlin_nomem(m);
    }
    *out = o;
    return 0;
}

/* A test a value must pass: a predicate, or equality with a value (has(k, v), is(v)). */
struct test {
    enum gpred_op op;
    struct gobj **args;
    size_t n;
};

static int make_test(struct gmachine *m, const struct garg *a, struct test *t)
{
    struct value v;
    int rc;

    if (a->kind == GA_PRED) {
        t->op = a->u.pred.op;
        return pred_args(m, &a->u.pred, &t->args, &t->n);
    }
    rc = gremlin_arg_value(m, a, &v);
    if (rc)
        return rc;
    t->op = GP_EQ;
    t->n = 1;
    t->args = gremlin_alloc(m, sizeof *t->args);
    if (!t->args)
        return gremlin_nomem(m);
    t->args[0] = gremlin_obj_val(m, &v);
    return t->args[0] ? 0 : gremlin_nomem(m);
}

static bool test_value(const struct test *t, const struct value *v)
{
    struct gobj x = {.k = GO_VAL, .u.v = *v};

    return pred_match(t->op, &x, t->args, t->n);
}

/* ---- elements ---- */

static int need_elem(struct gmachine *m, const struct gstep *s, const struct gtr *t, int kind,
                     struct gelem **out)
{
    if (!t->o || t->o->k != GO_ELEM || (kind >= 0 && t->o->u.el->e.kind != (unsigned)kind))
        return gremlin_step_fail(m, s, CR_EINVAL,
                                 kind == GREMLIN_VERTEX ? "needs a vertex"
                                 : kind == GREMLIN_EDGE ? "needs an edge"
                                                        : "needs a vertex or an edge");
    *out = t->o->u.el;
    return 0;
}

static int props(struct gmachine *m, const struct gstep *s, struct gelem *el)
{
    int rc = gobj_load_props(m->g, &m->a, el);

    return rc ? gremlin_graph_fail(m, s, rc) : 0;
}

/* Is key T.id / 'id' (1), T.label / 'label' (2), or a property key (0, *key set)? */
static int key_arg(struct gmachine *m, const struct garg *a, struct gremlin_str *key, int *special)
{
    int rc;

    if (a->kind == GA_TOKEN && (a->u.tok == GK_ID || a->u.tok == GK_LABEL)) {
        *special = a->u.tok == GK_ID ? 1 : 2;
        return 0;
    }
    rc = gremlin_arg_string(m, a, key);
    if (rc)
        return rc;
    *special = gremlin_str_eq(key, "id", 2) ? 1 : gremlin_str_eq(key, "label", 5) ? 2 : 0;
    return 0;
}

static struct value label_value(const struct gremlin_elem *e)
{
    return value_string(e->label.p ? e->label.p : "", e->label.len);
}

/* Does the element pass t on key (any of its values, for a multi-valued vertex property)? With
 * t NULL: does it have the key at all? */
static int elem_test(struct gmachine *m, const struct gstep *s, struct gelem *el,
                     const struct gremlin_str *key, int special, const struct test *t, bool *res)
{
    int rc;

    *res = false;
    if (special) {
        struct value v = special == 1 ? el->e.id : label_value(&el->e);

        *res = !t || test_value(t, &v);
        return 0;
    }
    rc = props(m, s, el);
    if (rc)
        return rc;
    for (size_t i = 0; i < el->n_props && !*res; i++)
        if (gremlin_str_eq(key, el->props[i].key.p, el->props[i].key.len))
            *res = !t || test_value(t, &el->props[i].value);
    return 0;
}

/* The other end of edge e seen from vertex id vid. */
static void neighbour(const struct gremlin_elem *e, const struct value *vid,
                      struct gremlin_elem *out)
{
    bool from_out = value_equal(&e->out_v, vid);

    *out = (struct gremlin_elem){.kind = GREMLIN_VERTEX};
    out->id = from_out ? e->in_v : e->out_v;
    out->label = from_out ? e->in_label : e->out_label;
}

static void endpoint(const struct gremlin_elem *e, bool in, struct gremlin_elem *out)
{
    *out = (struct gremlin_elem){.kind = GREMLIN_VERTEX};
    out->id = in ? e->in_v : e->out_v;
    out->label = in ? e->in_label : e->out_label;
}

/* ---- visitors over the graph ---- */

struct visit {
    struct gmachine *m;
    const struct gstep *s;
    const struct gtr *from;
    struct gtrs *out;
    bool to_vertex; /* expand: yield the neighbour, not the edge */
    const struct value *vid;
    size_t stop_at; /* a scan before limit(n): stop once out holds n (0: never) */
    int rc;
};

static int visit_elem(void *arg, const struct gremlin_elem *e)
{
    struct visit *v = arg;
    struct gremlin_elem nb;

    if (v->to_vertex) {
        neighbour(e, v->vid, &nb);
        e = &nb;
    }
    v->rc = gremlin_emit(v->m, v->s, v->out, v->from, gremlin_obj_elem(v->m, e));
    if (!v->rc && v->stop_at && v->out->n >= v->stop_at)
        return 1;
    return v->rc;
}

static int visit_done(struct gmachine *m, const struct gstep *s, struct visit *v, int rc)
{
    if (v->rc)
        return v->rc;
    return rc ? gremlin_graph_fail(m, s, rc) : 0;
}

/* Fallback for a missing lookup callback: scan and test key == value. */
struct scan_filter {
    struct gmachine *m;
    const struct gstep *s;
    const struct gremlin_str *key;
    const struct value *value;
    gremlin_visit_fn fn;
    void *arg;
    int rc;
};

static int visit_filter(void *arg, const struct gremlin_elem *e)
{
    struct scan_filter *f = arg;
    struct gelem el = {.e = *e};

    f->rc = gobj_load_props(f->m->g, &f->m->a, &el);
    if (f->rc)
        return f->rc;
    for (size_t i = 0; i < el.n_props; i++)
        if (gremlin_str_eq(f->key, el.props[i].key.p, el.props[i].key.len) &&
            value_equal(&el.props[i].value, f->value))
            return f->fn(f->arg, e);
    f->rc = gremlin_charge(f->m, f->s, 1);
    return f->rc;
}

/* ---- source steps ---- */

/* g.V() followed by hasLabel(l) or has([label,] key, value): scan one label, or look the value
 * up in the property index. The has step still runs after (it is cheap and exact). */
static int scan_hint(struct gmachine *m, const struct gstep *s, const struct gstep *next,
                     struct visit *v)
{
    const struct gremlin_graph *g = m->g;
    struct gremlin_str label, key;
    const struct garg *va;
    struct value val;
    int special, rc;
    bool has_label = false;

    if (next && next->op == GS_HASLABEL && next->n_args == 1 && next->args[0].kind != GA_PRED) {
        rc = gremlin_arg_value(m, &next->args[0], &val);
        if (rc)
            return rc;
        if (val.type == VT_STRING) {
            label = (struct gremlin_str){val.u.s.ptr, val.u.s.len};
            return visit_done(m, s, v, g->scan_vertices(g->ctx, &label, &m->a, visit_elem, v));
        }
    }
    if (next && next->op == GS_HAS && next->n_args >= 2) {
        size_t k = next->n_args - 2;

        va = &next->args[next->n_args - 1];
        if (k == 1) {
            rc = gremlin_arg_string(m, &next->args[0], &label);
            if (rc)
                return rc;
            has_label = true;
        }
        rc = key_arg(m, &next->args[k], &key, &special);
        if (rc)
            return rc;
        if (!special && va->kind != GA_PRED) {
            rc = gremlin_arg_value(m, va, &val);
            if (rc)
                return rc;
            if (g->lookup)
                return visit_done(
                    m, s, v,
                    g->lookup(g->ctx, has_label ? &label : NULL, &key, &val, &m->a, visit_elem, v));
            struct scan_filter f = {m, s, &key, &val, visit_elem, v, 0};

            rc = g->scan_vertices(g->ctx, has_label ? &label : NULL, &m->a, visit_filter, &f);
            if (f.rc && !v->rc)
                return f.rc == CR_EBUDGET ? f.rc : gremlin_graph_fail(m, s, f.rc);
            return visit_done(m, s, v, rc);
        }
        if (has_label)
            return visit_done(m, s, v, g->scan_vertices(g->ctx, &label, &m->a, visit_elem, v));
    }
    return visit_done(m, s, v, g->scan_vertices(g->ctx, NULL, &m->a, visit_elem, v));
}

static int step_source(struct gmachine *m, const struct gstep *s, const struct gstep *next,
                       const struct gtr *t, struct gtrs *out)
{
    enum gremlin_kind kind = s->op == GS_V ? GREMLIN_VERTEX : GREMLIN_EDGE;
    struct visit v = {m, s, t, out, false, NULL, gremlin_limit_of(m, next), 0};
    struct value *ids;
    size_t n;
    int rc;

    if (s->n_args == 0) {
        if (kind == GREMLIN_EDGE)
            return visit_done(m, s, &v, m->g->scan_edges(m->g->ctx, &m->a, visit_elem, &v));
        return scan_hint(m, s, next, &v);
    }
    rc = gremlin_flat_values(m, s->args, s->n_args, &ids, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct gremlin_elem e;

        rc = gremlin_charge(m, s, 1);
        if (rc)
            return rc;
        rc = m->g->get(m->g->ctx, kind, &ids[i], &m->a, &e);
        if (rc == CR_ENOTFOUND)
            continue;
        if (rc)
            return gremlin_graph_fail(m, s, rc);
        rc = gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &e));
        if (rc)
            return rc;
    }
    return 0;
}

static int mutation(struct gmachine *m, const struct gstep *s)
{
    if (++m->mutations > GREMLIN_MAX_MUTATIONS)
        return gremlin_fail(m->err, CR_ETOOMANY, s->line, s->col,
                            "%s() at %u:%u: more than %d mutations in one script",
                            gremlin_step_name(s->op), s->line, s->col, GREMLIN_MAX_MUTATIONS);
    return gremlin_charge(m, s, 1);
}

static int step_addv(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                     struct gtrs *out)
{
    struct gremlin_str label = {"vertex", 6};
    struct gremlin_elem e;
    struct value id;
    int rc;

    if (s->n_args) {
        rc = gremlin_arg_string(m, &s->args[0], &label);
        if (rc)
            return rc;
    }
    if (s->new_id) {
        rc = gremlin_arg_value(m, s->new_id, &id);
        if (rc)
            return rc;
    }
    rc = mutation(m, s);
    if (rc)
        return rc;
    rc = m->g->add_vertex(m->g->ctx, s->new_id ? &id : NULL, &label, &m->a, &e);
    if (rc)
        return gremlin_graph_fail(m, s, rc);
    return gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &e));
}

/* The labelled object nearest the head of a path (Pop.last), *out NULL when there is none;
 * charges the nodes walked. */
static int path_get(struct gmachine *m, const struct gstep *s, const struct gpath *p,
                    const struct gremlin_str *label, struct gobj **out)
{
    uint64_t walked = 0;

    *out = NULL;
    for (; p && !*out; p = p->prev, walked++)
        for (size_t i = p->n_labels; i > 0 && !*out; i--)
            if (gremlin_str_eq(label, p->labels[i - 1].p, p->labels[i - 1].len))
                *out = p->obj;
    return gremlin_charge(m, s, walked);
}

/* addE's from()/to(): a traversal (first result), a step label, or a vertex id. */
static int endpoint_arg(struct gmachine *m, const struct gstep *s, const struct garg *a,
                        const struct gtr *t, struct gelem **out)
{
    struct gobj *o = NULL;
    struct gremlin_elem e;
    struct value v;
    int rc;

    if (a->kind == GA_TRAV) {
        rc = gremlin_first(m, a->u.trav, t, &o);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return gremlin_step_fail(m, s, CR_ENOTFOUND,
                                     "the from() or to() traversal yields no vertex");
    } else {
        rc = gremlin_arg_value(m, a, &v);
        if (rc)
            return rc;
        if (v.type == VT_STRING) {
            struct gremlin_str l = {v.u.s.ptr, v.u.s.len};

            rc = path_get(m, s, t->path, &l, &o);
            if (rc)
                return rc;
        }
        if (!o) {
            rc = m->g->get(m->g->ctx, GREMLIN_VERTEX, &v, &m->a, &e);
            if (rc == CR_ENOTFOUND)
                return gremlin_step_fail(m, s, CR_ENOTFOUND,
                                         "the from() or to() vertex does not exist");
            if (rc)
                return gremlin_graph_fail(m, s, rc);
            o = gremlin_obj_elem(m, &e);
            if (!o)
                return gremlin_nomem(m);
        }
    }
    if (o->k != GO_ELEM || o->u.el->e.kind != GREMLIN_VERTEX)
        return gremlin_step_fail(m, s, CR_EINVAL, "from() and to() need vertices");
    *out = o->u.el;
    return 0;
}

static int step_adde(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                     struct gtrs *out)
{
    struct gelem *from = NULL, *to = NULL;
    struct gremlin_str label;
    struct gremlin_elem e;
    struct value id;
    int rc = gremlin_arg_string(m, &s->args[0], &label);

    if (rc)
        return rc;
    if (s->new_id) {
        rc = gremlin_arg_value(m, s->new_id, &id);
        if (rc)
            return rc;
    }
    if (s->from)
        rc = endpoint_arg(m, s, s->from, t, &from);
    else if (t->o)
        rc = need_elem(m, s, t, GREMLIN_VERTEX, &from);
    if (!rc && s->to)
        rc = endpoint_arg(m, s, s->to, t, &to);
    else if (!rc && t->o)
        rc = need_elem(m, s, t, GREMLIN_VERTEX, &to);
    if (rc)
        return rc;
    if (!from || !to)
        return gremlin_step_fail(m, s, CR_EINVAL,
                                 "addE() at the start of a traversal needs from() and to()");
    rc = mutation(m, s);
    if (rc)
        return rc;
    rc = m->g->add_edge(m->g->ctx, s->new_id ? &id : NULL, &label, &from->e, &to->e, &m->a, &e);
    if (rc)
        return gremlin_graph_fail(m, s, rc);
    return gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &e));
}

static int step_property(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                         struct gtrs *out)
{
    const struct garg *ka = &s->args[s->n_args - 2];
    bool list = false;
    struct gremlin_str key;
    struct gelem *el = NULL;
    struct value v;
    int special, rc;

    if (s->n_args == 3) {
        if (s->args[0].kind != GA_TOKEN ||
            (s->args[0].u.tok != GK_LIST && s->args[0].u.tok != GK_SINGLE))
            return gremlin_step_fail(m, s, CR_EINVAL, "the cardinality is list or single");
        list = s->args[0].u.tok == GK_LIST;
    }
    rc = need_elem(m, s, t, -1, &el);
    if (!rc)
        rc = key_arg(m, ka, &key, &special);
    if (!rc)
        rc = gremlin_arg_value(m, &s->args[s->n_args - 1], &v);
    if (rc)
        return rc;
    if (special)
        return gremlin_step_fail(m, s, CR_EINVAL, "an element's id and label cannot be changed");
    if (list && el->e.kind == GREMLIN_EDGE)
        return gremlin_step_fail(m, s, CR_EINVAL, "edge properties have single cardinality");
    rc = mutation(m, s);
    if (rc)
        return rc;
    rc = m->g->set_property(m->g->ctx, &el->e, &key, &v, list);
    if (rc)
        return gremlin_graph_fail(m, s, rc);
    el->loaded = false;
    return gremlin_keep(m, s, out, t);
}

/* ---- filters ---- */

static int step_has(struct gmachine *m, const struct gstep *s, const struct gtr *t, bool *res)
{
    struct gremlin_str key, label;
    struct value *vals, mine;
    struct test test;
    struct gelem *el = NULL;
    size_t k = s->n_args == 3 ? 1 : 0, n;
    int special, rc;

    *res = false;
    if (!t->o || t->o->k != GO_ELEM)
        return 0;
    el = t->o->u.el;
    if (s->op == GS_HASNOT || s->op == GS_HAS) {
        rc = key_arg(m, &s->args[k], &key, &special);
        if (rc)
            return rc;
        if (s->op == GS_HASNOT || s->n_args == 1) {
            rc = elem_test(m, s, el, &key, special, NULL, res);
            if (s->op == GS_HASNOT)
                *res = !*res;
            return rc;
        }
        if (k == 1) {
            rc = gremlin_arg_string(m, &s->args[0], &label);
            if (rc)
                return rc;
            if (!gremlin_str_eq(&label, el->e.label.p, el->e.label.len))
                return 0;
        }
        rc = make_test(m, &s->args[k + 1], &test);
        return rc ? rc : elem_test(m, s, el, &key, special, &test, res);
    }
    /* hasLabel / hasId: one predicate, or values of which any may match */
    if (s->args[0].kind == GA_PRED) {
        rc = make_test(m, &s->args[0], &test);
        return rc ? rc : elem_test(m, s, el, NULL, s->op == GS_HASID ? 1 : 2, &test, res);
    }
    rc = gremlin_flat_values(m, s->args, s->n_args, &vals, &n);
    if (rc)
        return rc;
    mine = s->op == GS_HASID ? el->e.id : label_value(&el->e);
    for (size_t i = 0; i < n && !*res; i++)
        *res = value_equal(&mine, &vals[i]);
    return 0;
}

static int step_is(struct gmachine *m, const struct gstep *s, const struct gtr *t, bool *res)
{
    struct test test;
    int rc = make_test(m, &s->args[0], &test);

    if (rc)
        return rc;
    *res = t->o && pred_match(test.op, t->o, test.args, test.n);
    return 0;
}

/* where(traversal), where(P over step labels), where(label, P over step labels) */
static int step_where(struct gmachine *m, const struct gstep *s, const struct gtr *t, bool *res)
{
    const struct gpred *p;
    struct gobj *x = t->o, **args;
    struct value *v;
    size_t n;
    int rc;

    if (s->args[0].kind == GA_TRAV) {
        struct gobj *o;

        rc = gremlin_first(m, s->args[0].u.trav, t, &o);
        *res = rc == 1;
        return rc < 0 ? rc : 0;
    }
    *res = false;
    if (s->n_args == 2) {
        struct gremlin_str l = {s->args[0].u.v.u.s.ptr, s->args[0].u.v.u.s.len};

        rc = path_get(m, s, t->path, &l, &x);
        if (rc || !x)
            return rc;
    }
    p = &s->args[s->n_args - 1].u.pred;
    if (p->op == GP_WITHIN || p->op == GP_WITHOUT)
        rc = gremlin_flat_values(m, p->args, p->n_args, &v, &n);
    else {
        n = p->n_args;
        v = gremlin_alloc(m, (n + 1) * sizeof *v);
        rc = v ? 0 : gremlin_nomem(m);
        for (size_t i = 0; i < n && !rc; i++)
            rc = gremlin_arg_value(m, &p->args[i], &v[i]);
    }
    if (rc)
        return rc;
    args = gremlin_alloc(m, (n + 1) * sizeof *args);
    if (!args)
        return gremlin_nomem(m);
    for (size_t i = 0; i < n; i++) {
        struct gremlin_str l;

        if (v[i].type != VT_STRING)
            return gremlin_step_fail(m, s, CR_EINVAL, "a predicate in where() names step labels");
        l = (struct gremlin_str){v[i].u.s.ptr, v[i].u.s.len};
        rc = path_get(m, s, t->path, &l, &args[i]);
        if (rc || !args[i])
            return rc;
    }
    *res = x && pred_match(p->op, x, args, n);
    return 0;
}

static int cmp_obj(const void *a, const void *b)
{
    return gobj_compare(*(struct gobj *const *)a, *(struct gobj *const *)b);
}

/* No object twice on the path: sorted, then neighbours compared, so a long path costs
 * n log n (charged), not n^2. */
static int simple_path(struct gmachine *m, const struct gstep *s, const struct gpath *p, bool *res)
{
    size_t n = p ? p->len : 0, k = 0;
    struct gobj **objs;
    uint64_t cost = n;
    int rc;

    for (size_t x = n; x > 1; x >>= 1)
        cost += n;
    rc = gremlin_charge(m, s, cost);
    if (rc)
        return rc;
    objs = malloc((n + 1) * sizeof *objs);
    if (!objs)
        return gremlin_nomem(m);
    for (; p; p = p->prev)
        objs[k++] = p->obj;
    qsort(objs, n, sizeof *objs, cmp_obj);
    *res = true;
    for (size_t i = 1; i < n && *res; i++)
        *res = gobj_compare(objs[i - 1], objs[i]) != 0;
    free(objs);
    return 0;
}

static int step_filter(struct gmachine *m, const struct gstep *s, const struct gtr *t, bool *res)
{
    struct gobj *o;
    int rc = 0;

    switch (s->op) {
    case GS_HAS:
    case GS_HASLABEL:
    case GS_HASID:
    case GS_HASNOT:
        return step_has(m, s, t, res);
    case GS_IS:
        return step_is(m, s, t, res);
    case GS_WHERE:
        return step_where(m, s, t, res);
    case GS_NOT:
        rc = gremlin_first(m, s->args[0].u.trav, t, &o);
        *res = rc == 0;
        return rc < 0 ? rc : 0;
    case GS_AND:
    case GS_OR:
        *res = s->op == GS_AND;
        for (size_t i = 0; i < s->n_args; i++) {
            rc = gremlin_first(m, s->args[i].u.trav, t, &o);
            if (rc < 0)
                return rc;
            if ((rc == 1) != (s->op == GS_AND)) {
                *res = !*res;
                break;
            }
        }
        return 0;
    case GS_SIMPLEPATH:
        return simple_path(m, s, t->path, res);
    default:
        return CR_EINTERNAL;
    }
}

/* ---- maps from one traverser ---- */

static int step_expand(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                       struct gtrs *out)
{
    static const enum gremlin_dir dirs[] = {
        [GS_OUT] = GREMLIN_OUT,  [GS_IN] = GREMLIN_IN,  [GS_BOTH] = GREMLIN_BOTH,
        [GS_OUTE] = GREMLIN_OUT, [GS_INE] = GREMLIN_IN, [GS_BOTHE] = GREMLIN_BOTH,
    };
    struct visit v = {m, s, t, out, s->op <= GS_BOTH, NULL, 0, 0};
    struct gremlin_str *labels;
    struct value *lv;
    struct gelem *el = NULL;
    size_t n;
    int rc = need_elem(m, s, t, GREMLIN_VERTEX, &el);

    if (!rc)
        rc = gremlin_flat_values(m, s->args, s->n_args, &lv, &n);
    if (rc)
        return rc;
    labels = gremlin_alloc(m, (n + 1) * sizeof *labels);
    if (!labels)
        return gremlin_nomem(m);
    for (size_t i = 0; i < n; i++) {
        if (lv[i].type != VT_STRING)
            return gremlin_step_fail(m, s, CR_EINVAL, "edge labels are strings");
        labels[i] = (struct gremlin_str){lv[i].u.s.ptr, lv[i].u.s.len};
    }
    v.vid = &el->e.id;
    rc = m->g->expand(m->g->ctx, &el->e.id, dirs[s->op], labels, n, &m->a, visit_elem, &v);
    return visit_done(m, s, &v, rc);
}

static int step_edge_vertex(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                            struct gtrs *out)
{
    struct gremlin_elem v;
    struct gelem *el = NULL;
    int rc = need_elem(m, s, t, GREMLIN_EDGE, &el);

    if (rc)
        return rc;
    switch (s->op) {
    case GS_OUTV:
    case GS_INV:
        endpoint(&el->e, s->op == GS_INV, &v);
        return gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &v));
    case GS_BOTHV:
        endpoint(&el->e, false, &v);
        rc = gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &v));
        if (rc)
            return rc;
        endpoint(&el->e, true, &v);
        return gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &v));
    default: {
        /* otherV: the end the traverser did not come from */
        const struct gpath *prev = t->path ? t->path->prev : NULL;
        bool came_out = prev && prev->obj->k == GO_ELEM &&
                        prev->obj->u.el->e.kind == GREMLIN_VERTEX &&
                        value_equal(&prev->obj->u.el->e.id, &el->e.out_v);

        endpoint(&el->e, came_out, &v);
        return gremlin_emit(m, s, out, t, gremlin_obj_elem(m, &v));
    }
    }
}

static int step_values(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                       struct gtrs *out)
{
    struct gelem *el = NULL;
    struct value *keys;
    size_t n;
    int rc = need_elem(m, s, t, -1, &el);

    if (!rc)
        rc = gremlin_flat_values(m, s->args, s->n_args, &keys, &n);
    if (!rc)
        rc = props(m, s, el);
    if (rc)
        return rc;
    for (size_t k = 0; k < (n ? n : 1); k++) {
        for (size_t i = 0; i < el->n_props; i++) {
            const struct gremlin_prop *p = &el->props[i];

            if (n && !gremlin_is_str(&keys[k], &p->key))
                continue;
            rc = gremlin_emit(m, s, out, t, gremlin_obj_val(m, &p->value));
            if (rc)
                return rc;
        }
    }
    return 0;
}

static struct gobj *str_obj(struct gmachine *m, const char *p, size_t len)
{
    struct value v = value_string(p, len);

    return gremlin_obj_val(m, &v);
}

static int step_valuemap(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                         struct gtrs *out)
{
    struct gobj *o = gremlin_obj_new(m, GO_MAP);
    bool with_tokens = false;
    struct value *keys;
    struct gelem *el = NULL;
    size_t n, k0 = 0, cap;
    int rc = need_elem(m, s, t, -1, &el);

    if (rc)
        return rc;
    if (s->n_args && s->args[0].kind == GA_LIT && s->args[0].u.v.type == VT_BOOL) {
        with_tokens = s->args[0].u.v.u.b;
        k0 = 1;
    }
    rc = gremlin_flat_values(m, k0 ? s->args + k0 : s->args, s->n_args - k0, &keys, &n);
    if (!rc)
        rc = props(m, s, el);
    if (rc)
        return rc;
    cap = el->n_props + 2;
    if (!o || !(o->u.map.keys = gremlin_alloc(m, cap * sizeof(struct gobj *))) ||
        !(o->u.map.vals = gremlin_alloc(m, cap * sizeof(struct gobj *))))
        return gremlin_nomem(m);
    if (with_tokens) {
        struct value lv = label_value(&el->e);

        o->u.map.keys[0] = str_obj(m, "id", 2);
        o->u.map.vals[0] = gremlin_obj_val(m, &el->e.id);
        o->u.map.keys[1] = str_obj(m, "label", 5);
        o->u.map.vals[1] = gremlin_obj_val(m, &lv);
        o->u.map.n = 2;
    }
    for (size_t i = 0; i < el->n_props; i++) {
        const struct gremlin_prop *p = &el->props[i];
        struct gobj *list = NULL;
        size_t j, k;

        for (k = 0; k < n && !gremlin_is_str(&keys[k], &p->key); k++)
            ;
        if (n && k == n)
            continue;
        for (j = with_tokens ? 2 : 0; j < o->u.map.n; j++)
            if (gremlin_is_str(&o->u.map.keys[j]->u.v, &p->key))
                break;
        if (el->e.kind == GREMLIN_EDGE) {
            o->u.map.keys[o->u.map.n] = str_obj(m, p->key.p, p->key.len);
            o->u.map.vals[o->u.map.n++] = gremlin_obj_val(m, &p->value);
            if (!o->u.map.keys[o->u.map.n - 1] || !o->u.map.vals[o->u.map.n - 1])
                return gremlin_nomem(m);
            continue;
        }
        if (j == o->u.map.n) {
            list = gremlin_obj_new(m, GO_LIST);
            if (!list || !(list->u.list.items = gremlin_alloc(m, el->n_props * sizeof(void *))))
                return gremlin_nomem(m);
            o->u.map.keys[o->u.map.n] = str_obj(m, p->key.p, p->key.len);
            o->u.map.vals[o->u.map.n++] = list;
            if (!o->u.map.keys[j])
                return gremlin_nomem(m);
        }
        list = o->u.map.vals[j];
        list->u.list.items[list->u.list.n++] = gremlin_obj_val(m, &p->value);
    }
    for (size_t j = 0; j < o->u.map.n; j++)
        if (!o->u.map.keys[j] || !o->u.map.vals[j])
            return gremlin_nomem(m);
    return gremlin_emit(m, s, out, t, o);
}

static int step_id_label(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                         struct gtrs *out)
{
    struct gelem *el = NULL;
    struct value v;
    int rc = need_elem(m, s, t, -1, &el);

    if (rc)
        return rc;
    v = s->op == GS_ID ? el->e.id : label_value(&el->e);
    return gremlin_emit(m, s, out, t, gremlin_obj_val(m, &v));
}

static int step_as(struct gmachine *m, const struct gstep *s, const struct gtr *t, struct gtrs *out)
{
    const struct gpath *h = t->path;
    size_t n0 = h ? h->n_labels : 0;
    struct gpath *p = gremlin_alloc(m, sizeof *p);
    struct gremlin_str *labels = gremlin_alloc(m, (n0 + s->n_args) * sizeof *labels);
    int rc;

    if (!p || !labels || !t->o)
        return t->o ? gremlin_nomem(m) : gremlin_step_fail(m, s, CR_EINVAL, "nothing to label");
    if (n0)
        memcpy(labels, h->labels, n0 * sizeof *labels);
    for (size_t i = 0; i < s->n_args; i++) {
        rc = gremlin_arg_string(m, &s->args[i], &labels[n0 + i]);
        if (rc)
            return rc;
    }
    if (h && h->obj == t->o)
        *p = (struct gpath){h->prev, h->obj, labels, n0 + s->n_args, h->len};
    else
        *p = (struct gpath){h, t->o, labels + n0, s->n_args, h ? h->len + 1 : 1};
    rc = gremlin_charge(m, s, 1 + n0); /* the labels copied */
    return rc ? rc : gremlin_trs_push(m, out, (struct gtr){t->o, p});
}

/* by(): the identity, a property key (or a map key), T.id / T.label, or a traversal's first
 * result. 1 and *out set, or 0 when the traverser has no such value. */
int gremlin_by_value(struct gmachine *m, const struct gstep *s, const struct gby *by,
                     const struct gtr *t, struct gobj **out)
{
    struct gremlin_str key;
    struct value v;
    int special, rc;

    if (!by || !by->key) {
        *out = t->o;
        return 1;
    }
    if (by->key->kind == GA_TRAV)
        return gremlin_first(m, by->key->u.trav, t, out);
    rc = key_arg(m, by->key, &key, &special);
    if (rc)
        return rc;
    if (t->o->k == GO_MAP && !special) {
        for (size_t i = 0; i < t->o->u.map.n; i++)
            if (t->o->u.map.keys[i]->k == GO_VAL &&
                gremlin_is_str(&t->o->u.map.keys[i]->u.v, &key)) {
                *out = t->o->u.map.vals[i];
                return 1;
            }
        return 0;
    }
    if (t->o->k != GO_ELEM)
        return 0;
    if (special) {
        v = special == 1 ? t->o->u.el->e.id : label_value(&t->o->u.el->e);
        *out = gremlin_obj_val(m, &v);
        return *out ? 1 : gremlin_nomem(m);
    }
    rc = props(m, s, t->o->u.el);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->o->u.el->n_props; i++) {
        const struct gremlin_prop *p = &t->o->u.el->props[i];

        if (gremlin_str_eq(&key, p->key.p, p->key.len)) {
            *out = gremlin_obj_val(m, &p->value);
            return *out ? 1 : gremlin_nomem(m);
        }
    }
    return 0;
}

static int step_select(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                       struct gtrs *out)
{
    struct gobj *res = NULL, *o;
    int rc;

    if (s->n_args > 1) {
        res = gremlin_obj_new(m, GO_MAP);
        if (!res || !(res->u.map.keys = gremlin_alloc(m, s->n_args * sizeof(void *))) ||
            !(res->u.map.vals = gremlin_alloc(m, s->n_args * sizeof(void *))))
            return gremlin_nomem(m);
    }
    for (size_t i = 0; i < s->n_args; i++) {
        struct gremlin_str l;
        struct gtr sel;

        rc = gremlin_arg_string(m, &s->args[i], &l);
        if (rc)
            return rc;
        o = NULL;
        if (t->o && t->o->k == GO_MAP)
            for (size_t j = 0; j < t->o->u.map.n && !o; j++)
                if (t->o->u.map.keys[j]->k == GO_VAL &&
                    gremlin_is_str(&t->o->u.map.keys[j]->u.v, &l))
                    o = t->o->u.map.vals[j];
        if (!o) {
            rc = path_get(m, s, t->path, &l, &o);
            if (rc)
                return rc;
        }
        if (!o)
            return 0;
        sel = (struct gtr){o, t->path};
        rc = gremlin_by_value(m, s, s->n_by ? &s->by[i % s->n_by] : NULL, &sel, &o);
        if (rc <= 0)
            return rc;
        if (!res)
            return gremlin_emit(m, s, out, t, o);
        res->u.map.keys[res->u.map.n] = str_obj(m, l.p, l.len);
        res->u.map.vals[res->u.map.n++] = o;
        if (!res->u.map.keys[res->u.map.n - 1])
            return gremlin_nomem(m);
    }
    return gremlin_emit(m, s, out, t, res);
}

static int step_project(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                        struct gtrs *out)
{
    struct gobj *res = gremlin_obj_new(m, GO_MAP), *o;
    int rc;

    if (!res || !(res->u.map.keys = gremlin_alloc(m, s->n_args * sizeof(void *))) ||
        !(res->u.map.vals = gremlin_alloc(m, s->n_args * sizeof(void *))))
        return gremlin_nomem(m);
    for (size_t i = 0; i < s->n_args; i++) {
        struct gremlin_str k;

        rc = gremlin_arg_string(m, &s->args[i], &k);
        if (rc)
            return rc;
        rc = gremlin_by_value(m, s, s->n_by ? &s->by[i % s->n_by] : NULL, t, &o);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue; /* no value: the key is left out */
        res->u.map.keys[res->u.map.n] = str_obj(m, k.p, k.len);
        res->u.map.vals[res->u.map.n++] = o;
        if (!res->u.map.keys[res->u.map.n - 1])
            return gremlin_nomem(m);
    }
    return gremlin_emit(m, s, out, t, res);
}

static int step_unfold(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                       struct gtrs *out)
{
    struct gobj *o = t->o;
    int rc = 0;

    if (o->k == GO_LIST) {
        for (size_t i = 0; i < o->u.list.n && !rc; i++)
            rc = gremlin_emit(m, s, out, t, o->u.list.items[i]);
        return rc;
    }
    if (o->k == GO_PATH) {
        size_t n = o->u.path ? o->u.path->len : 0;
        struct gobj **objs = gremlin_alloc(m, (n + 1) * sizeof *objs);
        const struct gpath *p = o->u.path;

        if (!objs)
            return gremlin_nomem(m);
        for (size_t i = n; i > 0; i--, p = p->prev)
            objs[i - 1] = p->obj;
        for (size_t i = 0; i < n && !rc; i++)
            rc = gremlin_emit(m, s, out, t, objs[i]);
        return rc;
    }
    if (o->k == GO_VAL && o->u.v.type == VT_ARRAY) {
        for (size_t i = 0; i < o->u.v.u.arr.n && !rc; i++)
            rc = gremlin_emit(m, s, out, t, gremlin_obj_val(m, &o->u.v.u.arr.items[i]));
        return rc;
    }
    if (o->k == GO_MAP) {
        for (size_t i = 0; i < o->u.map.n && !rc; i++) {
            struct gobj *e = gremlin_obj_new(m, GO_MAP);

            if (!e)
                return gremlin_nomem(m);
            e->u.map.keys = &o->u.map.keys[i];
            e->u.map.vals = &o->u.map.vals[i];
            e->u.map.n = 1;
            rc = gremlin_emit(m, s, out, t, e);
        }
        return rc;
    }
    return gremlin_keep(m, s, out, t);
}

static int step_branch(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                       struct gtrs *out)
{
    for (size_t i = 0; i < s->n_args; i++) {
        struct gtrs r = {0};
        int rc = gremlin_run_one(m, s->args[i].u.trav, t, &r);

        for (size_t j = 0; j < r.n && !rc; j++)
            rc = gremlin_keep(m, s, out, &r.v[j]);
        gremlin_trs_free(&r);
        if (rc)
            return rc;
        if (s->op == GS_COALESCE && r.n == 0 && i + 1 < s->n_args)
            continue;
        if (s->op == GS_COALESCE)
            return 0;
    }
    return 0;
}

static int step_optional(struct gmachine *m, const struct gstep *s, const struct gtr *t,
                         struct gtrs *out)
{
    struct gtrs r = {0};
    int rc = gremlin_run_one(m, s->args[0].u.trav, t, &r);

    for (size_t j = 0; j < r.n && !rc; j++)
        rc = gremlin_keep(m, s, out, &r.v[j]);
    if (!rc && r.n == 0)
        rc = gremlin_keep(m, s, out, t);
    gremlin_trs_free(&r);
    return rc;
}

/* ---- the step loop ---- */

int gremlin_step_each(struct gmachine *m, const struct gstep *s, const struct gstep *next,
                      const struct gtr *t, struct gtrs *out)
{
    struct value v;
    bool pass;
    int rc;

    switch (s->op) {
    case GS_V:
    case GS_E:
        return step_source(m, s, next, t, out);
    case GS_ADDV:
        return step_addv(m, s, t, out);
    case GS_ADDE:
        return step_adde(m, s, t, out);
    case GS_PROPERTY:
        return step_property(m, s, t, out);
    case GS_DROP: {
        struct gelem *el = NULL;

        rc = need_elem(m, s, t, -1, &el);
        if (!rc)
            rc = mutation(m, s);
        if (rc)
            return rc;
        rc = m->g->drop(m->g->ctx, &el->e);
        return rc && rc != CR_ENOTFOUND ? gremlin_graph_fail(m, s, rc) : 0;
    }
    case GS_OUT:
    case GS_IN:
    case GS_BOTH:
    case GS_OUTE:
    case GS_INE:
    case GS_BOTHE:
        return step_expand(m, s, t, out);
    case GS_OUTV:
    case GS_INV:
    case GS_OTHERV:
    case GS_BOTHV:
        return step_edge_vertex(m, s, t, out);
    case GS_VALUES:
        return step_values(m, s, t, out);
    case GS_VALUEMAP:
        return step_valuemap(m, s, t, out);
    case GS_ID:
    case GS_LABEL:
        return step_id_label(m, s, t, out);
    case GS_AS:
        return step_as(m, s, t, out);
    case GS_SELECT:
        return step_select(m, s, t, out);
    case GS_PROJECT:
        return step_project(m, s, t, out);
    case GS_UNFOLD:
        return step_unfold(m, s, t, out);
    case GS_PATH: {
        struct gobj *o = gremlin_obj_new(m, GO_PATH);

        if (o)
            o->u.path = t->path;
        return gremlin_emit(m, s, out, t, o);
    }
    case GS_UNION:
    case GS_COALESCE:
        return step_branch(m, s, t, out);
    case GS_OPTIONAL:
        return step_optional(m, s, t, out);
    case GS_CONSTANT:
        rc = gremlin_arg_value(m, &s->args[0], &v);
        return rc ? rc : gremlin_emit(m, s, out, t, gremlin_obj_val(m, &v));
    default:
        rc = step_filter(m, s, t, &pass);
        if (rc)
            return rc;
        return pass ? gremlin_keep(m, s, out, t) : 0;
    }
}
