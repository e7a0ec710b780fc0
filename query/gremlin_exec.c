/*
 * The traversal machine: runs a parsed script over a caller's graph (gremlin.h). Step at a
 * time: each step turns the whole list of traversers into the next list, so a repeat() is a
 * level-synchronous breadth-first search and its results come out level by level (the first
 * path that reaches a vertex is a shortest one). A traverser is an object and its path; paths
 * are shared, immutable lists. Sub-traversals (where, by, union, ...) run once per traverser.
 * This file holds the loop, the lists, arguments, budgets and repeat(); the steps themselves
 * are in gremlin_step.c (one traverser at a time) and gremlin_barrier.c (the whole list).
 *
 * Every step charges work: one unit per traverser it produces and per element the graph yields;
 * order, dedup and group charge their comparisons. A run that spends its budget, or whose
 * traverser list grows past GREMLIN_MAX_TRAVERSERS, stops with CR_EBUDGET: a repeat() on a cycle
 * without times() or until() ends there instead of running forever.
 *
 * Mutations go through the graph's callbacks in the order the steps reach them; the machine
 * never writes anything itself.
 */
#include "query/gremlin_int.h"

#include "common/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- errors, work, lists ---- */

int gremlin_step_fail(struct gmachine *m, const struct gstep *s, int code, const char *what)
{
    return gremlin_fail(m->err, code, s->line, s->col, "%s() at %u:%u: %s",
                        gremlin_step_name(s->op), s->line, s->col, what);
}

int gremlin_nomem(struct gmachine *m)
{
    if (m->over_mem)
        return gremlin_fail(m->err, CR_EBUDGET, 0, 0,
                            "the traversal holds more than %u MiB of objects and paths",
                            GREMLIN_MAX_MEMORY >> 20);
    return gremlin_fail(m->err, CR_ENOMEM, 0, 0, "%s", cr_strerror(CR_ENOMEM));
}

void *gremlin_alloc(struct gmachine *m, size_t n)
{
    if (n > GREMLIN_MAX_MEMORY - m->mem) {
        m->over_mem = true;
        return NULL;
    }
    m->mem += n;
    return cr_arena_alloc(&m->a, n);
}

void *gremlin_calloc(struct gmachine *m, size_t n)
{
    void *p = gremlin_alloc(m, n);

    if (p)
        memset(p, 0, n);
    return p;
}

/* A graph callback failed (or the run's arena did). */
int gremlin_graph_fail(struct gmachine *m, const struct gstep *s, int rc)
{
    if (rc == CR_ENOMEM)
        return gremlin_nomem(m);
    return gremlin_step_fail(m, s, rc, cr_strerror(rc));
}

int gremlin_charge(struct gmachine *m, const struct gstep *s, uint64_t units)
{
    m->work += units;
    if (m->work > m->budget)
        return gremlin_fail(m->err, CR_EBUDGET, s->line, s->col,
                            "%s() at %u:%u: the traversal exceeded its budget of %llu work units",
                            gremlin_step_name(s->op), s->line, s->col,
                            (unsigned long long)m->budget);
    return 0;
}

void gremlin_trs_free(struct gtrs *l)
{
    free(l->v);
    *l = (struct gtrs){0};
}

int gremlin_trs_push(struct gmachine *m, struct gtrs *l, struct gtr t)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct gtr *v = realloc(l->v, cap * sizeof *v);

        if (!v)
            return gremlin_nomem(m);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = t;
    return 0;
}

struct gobj *gremlin_obj_new(struct gmachine *m, enum gobj_kind k)
{
    struct gobj *o = gremlin_calloc(m, sizeof *o);

    if (o)
        o->k = k;
    return o;
}

struct gobj *gremlin_obj_val(struct gmachine *m, const struct value *v)
{
    struct gobj *o = gremlin_obj_new(m, GO_VAL);

    if (o)
        o->u.v = *v;
    return o;
}

struct gobj *gremlin_obj_elem(struct gmachine *m, const struct gremlin_elem *e)
{
    struct gobj *o = gremlin_obj_new(m, GO_ELEM);

    if (!o)
        return NULL;
    o->u.el = gremlin_calloc(m, sizeof *o->u.el);
    if (!o->u.el)
        return NULL;
    o->u.el->e = *e;
    return o;
}

/* The traverser that moved from t to o: o appended to t's path. */
int gremlin_emit(struct gmachine *m, const struct gstep *s, struct gtrs *out, const struct gtr *t,
                 struct gobj *o)
{
    struct gpath *p = gremlin_alloc(m, sizeof *p);
    int rc;

    if (!o || !p)
        return gremlin_nomem(m);
    *p = (struct gpath){t->path, o, NULL, 0, t->path ? t->path->len + 1 : 1};
    rc = gremlin_charge(m, s, 1);
    if (rc)
        return rc;
    return gremlin_trs_push(m, out, (struct gtr){o, p});
}

int gremlin_keep(struct gmachine *m, const struct gstep *s, struct gtrs *out, const struct gtr *t)
{
    int rc = gremlin_charge(m, s, 1);

    return rc ? rc : gremlin_trs_push(m, out, *t);
}

/* Runs t from one traverser. */
int gremlin_run_one(struct gmachine *m, const struct gtrav *t, const struct gtr *x,
                    struct gtrs *out)
{
    struct gtrs in = {0};
    int rc = gremlin_trs_push(m, &in, *x);

    if (rc)
        return rc;
    return gremlin_run_trav(m, t, &in, out);
}

/* 1 and *o set when t yields something from x, 0 when it yields nothing. */
int gremlin_first(struct gmachine *m, const struct gtrav *t, const struct gtr *x, struct gobj **o)
{
    struct gtrs out = {0};
    int rc = gremlin_run_one(m, t, x, &out);

    if (rc == 0 && out.n) {
        *o = out.v[0].o;
        rc = 1;
    }
    gremlin_trs_free(&out);
    return rc;
}

/* ---- arguments ---- */

int gremlin_arg_value(struct gmachine *m, const struct garg *a, struct value *out)
{
    switch (a->kind) {
    case GA_LIT:
        *out = a->u.v;
        return 0;
    case GA_BIND:
        for (size_t i = 0; i < m->n_binds; i++)
            if (m->binds[i].name_len == a->u.name.len &&
                memcmp(m->binds[i].name, a->u.name.p, a->u.name.len) == 0) {
                *out = *m->binds[i].value;
                return 0;
            }
        return gremlin_fail(m->err, CR_EINVAL, a->line, a->col,
                            "'%.*s' at %u:%u is neither a step, a token nor a supplied binding",
                            a->u.name.len > 40 ? 40 : (int)a->u.name.len, a->u.name.p, a->line,
                            a->col);
    case GA_LIST:
        out->type = VT_ARRAY;
        out->u.arr.n = a->u.list.n;
        out->u.arr.items = gremlin_alloc(m, (a->u.list.n + 1) * sizeof(struct value));
        if (!out->u.arr.items)
            return gremlin_nomem(m);
        for (size_t i = 0; i < a->u.list.n; i++) {
            int rc = gremlin_arg_value(m, &a->u.list.items[i], &out->u.arr.items[i]);

            if (rc)
                return rc;
        }
        return 0;
    default:
        return gremlin_fail(m->err, CR_EINVAL, a->line, a->col, "expected a value at %u:%u",
                            a->line, a->col);
    }
}

int gremlin_arg_string(struct gmachine *m, const struct garg *a, struct gremlin_str *out)
{
    struct value v;
    int rc = gremlin_arg_value(m, a, &v);

    if (rc)
        return rc;
    if (v.type != VT_STRING)
        return gremlin_fail(m->err, CR_EINVAL, a->line, a->col, "expected a string at %u:%u",
                            a->line, a->col);
    *out = (struct gremlin_str){v.u.s.ptr, v.u.s.len};
    return 0;
}

int gremlin_arg_int(struct gmachine *m, const struct garg *a, int64_t *out)
{
    struct value v;
    int rc = gremlin_arg_value(m, a, &v);

    if (rc)
        return rc;
    if (v.type != VT_INT)
        return gremlin_fail(m->err, CR_EINVAL, a->line, a->col, "expected an integer at %u:%u",
                            a->line, a->col);
    *out = v.u.i;
    return 0;
}

/* The values of args, with list values flattened one level (hasLabel('a', 'b'), within(['a',
 * 'b']), g.V(ids) with a list binding). */
int gremlin_flat_values(struct gmachine *m, const struct garg *args, size_t n, struct value **out,
                        size_t *count)
{
    size_t total = 0, k = 0;
    struct value *v = gremlin_alloc(m, (n + 1) * sizeof *v), *r;
    int rc;

    if (!v)
        return gremlin_nomem(m);
    for (size_t i = 0; i < n; i++) {
        rc = gremlin_arg_value(m, &args[i], &v[i]);
        if (rc)
            return rc;
        total += v[i].type == VT_ARRAY ? v[i].u.arr.n : 1;
    }
    r = gremlin_alloc(m, (total + 1) * sizeof *r);
    if (!r)
        return gremlin_nomem(m);
    for (size_t i = 0; i < n; i++) {
        if (v[i].type != VT_ARRAY) {
            r[k++] = v[i];
            continue;
        }
        for (size_t j = 0; j < v[i].u.arr.n; j++)
            r[k++] = v[i].u.arr.items[j];
    }
    *out = r;
    *count = total;
    return 0;
}

bool gremlin_str_eq(const struct gremlin_str *a, const char *p, size_t len)
{
    return a->len == len && (len == 0 || memcmp(a->p, p, len) == 0);
}

bool gremlin_is_str(const struct value *v, const struct gremlin_str *s)
{
    return v->type == VT_STRING && gremlin_str_eq(s, v->u.s.ptr, v->u.s.len);
}

/* How many traversers a following limit(n) or range(lo, n) keeps (0: no such step). A step
 * whose output only grows in order (a scan, repeat's levels) may stop once it has that many:
 * the limit would drop the rest anyway. */
size_t gremlin_limit_of(struct gmachine *m, const struct gstep *next)
{
    int64_t hi = 0;
    struct value v;

    if (!next || (next->op != GS_LIMIT && next->op != GS_RANGE))
        return 0;
    if (gremlin_arg_value(m, &next->args[next->n_args - 1], &v) == 0 && v.type == VT_INT &&
        v.u.i > 0)
        hi = v.u.i;
    *m->err = (struct gremlin_err){0};
    return (size_t)hi;
}

/* ---- repeat ---- */

static int test_trav(struct gmachine *m, const struct gtrav *t, const struct gtr *x, bool *res)
{
    struct gobj *o;
    int rc;

    if (!t) {
        *res = true;
        return 0;
    }
    rc = gremlin_first(m, t, x, &o);
    *res = rc == 1;
    return rc < 0 ? rc : 0;
}

static int step_repeat(struct gmachine *m, const struct gstep *s, size_t need, struct gtrs *in,
                       struct gtrs *out)
{
    struct gtrs cur = {0}, next = {0};
    int64_t times = -1;
    int rc = 0;
    bool stop, emit;

    if (s->times) {
        rc = gremlin_arg_int(m, s->times, &times);
        if (rc)
            return rc;
        if (times < 0)
            return gremlin_step_fail(m, s, CR_EINVAL, "times(n) needs n >= 0");
    }
    for (size_t i = 0; i < in->n && !rc; i++) {
        stop = false;
        emit = false;
        if (s->until_first)
            rc = test_trav(m, s->until, &in->v[i], &stop);
        if (!rc && !stop && s->emit_first)
            rc = test_trav(m, s->emit, &in->v[i], &emit);
        if (!rc && (stop || emit))
            rc = gremlin_trs_push(m, out, in->v[i]);
        if (!rc && !stop)
            rc = gremlin_trs_push(m, &cur, in->v[i]);
    }
    /* need: a limit follows; the levels come out in order, so stop once it is met */
    for (int64_t loop = 1; !rc && cur.n && (times < 0 || loop <= times) && (!need || out->n < need);
         loop++) {
        rc = gremlin_run_trav(m, s->args[0].u.trav, &cur, &next);
        cur = (struct gtrs){0};
        for (size_t i = 0; i < next.n && !rc; i++) {
            stop = loop == times;
            emit = false;
            if (!stop && s->until)
                rc = test_trav(m, s->until, &next.v[i], &stop);
            if (!rc && !stop && s->has_emit)
                rc = test_trav(m, s->emit, &next.v[i], &emit);
            if (!rc && (stop || emit))
                rc = gremlin_trs_push(m, out, next.v[i]);
            if (!rc && !stop)
                rc = gremlin_trs_push(m, &cur, next.v[i]);
        }
        gremlin_trs_free(&next);
        if (!rc && cur.n > GREMLIN_MAX_TRAVERSERS)
            rc = gremlin_fail(m->err, CR_EBUDGET, s->line, s->col,
                              "repeat() at %u:%u: more than %u traversers", s->line, s->col,
                              GREMLIN_MAX_TRAVERSERS);
        if (!rc)
            rc = gremlin_charge(m, s, 1);
    }
    /* times(0): no iteration, the traversers pass through */
    for (size_t i = 0; times == 0 && i < cur.n && !rc; i++)
        rc = gremlin_trs_push(m, out, cur.v[i]);
    gremlin_trs_free(&cur);
    return rc;
}

static int step_inject(struct gmachine *m, const struct gstep *s, struct gtrs *in, struct gtrs *out)
{
    struct gtr start = {0};
    int rc = 0;

    for (size_t i = 0; i < s->n_args && !rc; i++) {
        struct value v;

        rc = gremlin_arg_value(m, &s->args[i], &v);
        if (!rc)
            rc = gremlin_emit(m, s, out, &start, gremlin_obj_val(m, &v));
    }
    for (size_t i = 0; i < in->n && !rc; i++)
        if (in->v[i].o)
            rc = gremlin_trs_push(m, out, in->v[i]);
    return rc;
}

static int run_step(struct gmachine *m, const struct gstep *s, const struct gstep *next,
                    struct gtrs *in, struct gtrs *out)
{
    int rc = 0;

    switch (s->op) {
    case GS_COUNT:
    case GS_FOLD:
    case GS_LIMIT:
    case GS_RANGE:
    case GS_ORDER:
    case GS_DEDUP:
    case GS_GROUP:
    case GS_GROUPCOUNT:
        return gremlin_barrier(m, s, in, out);
    case GS_REPEAT:
        return step_repeat(m, s, gremlin_limit_of(m, next), in, out);
    case GS_INJECT:
        return step_inject(m, s, in, out);
    default:
        break;
    }
    for (size_t i = 0; i < in->n && !rc; i++) {
        if (!in->v[i].o && s->op != GS_V && s->op != GS_E && s->op != GS_ADDV && s->op != GS_ADDE)
            return gremlin_step_fail(m, s, CR_EINVAL, "a traversal cannot start with this step");
        rc = gremlin_step_each(m, s, next, &in->v[i], out);
    }
    return rc;
}

/* Runs t over in (which it takes and frees); *out is the caller's to free. */
int gremlin_run_trav(struct gmachine *m, const struct gtrav *t, struct gtrs *in, struct gtrs *out)
{
    struct gtrs cur = *in;
    int rc;

    *in = (struct gtrs){0};
    for (size_t i = 0; i < t->n; i++) {
        const struct gstep *s = &t->steps[i];
        struct gtrs next = {0};

        rc = run_step(m, s, i + 1 < t->n ? &t->steps[i + 1] : NULL, &cur, &next);
        gremlin_trs_free(&cur);
        if (!rc && next.n > GREMLIN_MAX_TRAVERSERS)
            rc = gremlin_fail(m->err, CR_EBUDGET, s->line, s->col,
                              "%s() at %u:%u: more than %u traversers", gremlin_step_name(s->op),
                              s->line, s->col, GREMLIN_MAX_TRAVERSERS);
        if (rc) {
            gremlin_trs_free(&next);
            return rc;
        }
        cur = next;
    }
    *out = cur;
    return 0;
}

int gremlin_exec(const struct gremlin_script *s, const struct gremlin_binding *bindings,
                 size_t n_bindings, const struct gremlin_graph *g, uint64_t budget,
                 struct cr_arena *a, struct value **out, size_t *n, struct gremlin_err *err)
{
    struct gmachine m = {.g = g,
                         .binds = bindings,
                         .n_binds = n_bindings,
                         .budget = budget ? budget : GREMLIN_DEFAULT_BUDGET,
                         .err = err};
    struct gtrs res = {0};
    int rc = 0;

    *err = (struct gremlin_err){0};
    cr_arena_init(&m.a, 64 * 1024);
    for (size_t i = 0; i < s->n && !rc; i++) {
        struct gtrs in = {0};

        gremlin_trs_free(&res);
        rc = gremlin_trs_push(&m, &in, (struct gtr){0});
        if (!rc)
            rc = gremlin_run_trav(&m, &s->stmts[i], &in, &res);
    }
    if (!rc && res.n > GREMLIN_MAX_RESULTS)
        rc = gremlin_fail(err, CR_ETOOMANY, 0, 0, "more than %d results", GREMLIN_MAX_RESULTS);
    if (!rc) {
        *out = cr_arena_alloc(a, (res.n + 1) * sizeof **out);
        if (!*out)
            rc = gremlin_nomem(&m);
    }
    for (size_t i = 0, left = GREMLIN_MAX_RESULT_VALUES; !rc && i < res.n; i++) {
        rc = gobj_render(g, a, res.v[i].o, &left, &(*out)[i]);
        if (rc == CR_ETOOMANY)
            rc = gremlin_fail(err, rc, 0, 0, "the results hold more than %d values",
                              GREMLIN_MAX_RESULT_VALUES);
        else if (rc)
            rc = rc == CR_ENOMEM
                     ? gremlin_nomem(&m)
                     : gremlin_fail(err, rc, 0, 0, "rendering results: %s", cr_strerror(rc));
    }
    if (!rc)
        *n = res.n;
    gremlin_trs_free(&res);
    cr_arena_free(&m.a);
    return rc;
}
