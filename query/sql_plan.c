/*
 * The planner: from a bound query, the collection's indexes and the run's parameters, decides how
 * the documents are read — a full scan, nothing at all, one single-path index over ranges of
 * values, or a composite index — and whether that order is already the ORDER BY order. It never
 * reads storage; sql_source.c does what the plan says (docs/query.md, "Planner and EXPLAIN").
 * Which paths have entries, and how a path's text parses, is storage's to say (doc_rules_indexed,
 * doc_path_parse): the planner asks, so a plan never names an index storage would refuse.
 *
 * The analysis works per *key*: a path expression one row binds to one value (c.a.b, or a JOIN
 * alias and fields below it, whose index path runs through "[]"), or the elements of an array
 * tested by ARRAY_CONTAINS (an "exists" key: a document may have many). For each key, range_set()
 * walks WHERE and returns a superset of the values the key can have on a row where WHERE is true:
 * a sorted list of disjoint, type-bounded ranges, or "all" when WHERE says nothing usable about
 * it. AND intersects, OR unites, NOT is pushed down (Cosmos's logic is Kleene's, where De Morgan
 * holds, and a negated comparison is the opposite comparison within the same type). An exists
 * key cannot intersect (two different elements may answer two conditions), so its AND keeps one
 * side. Because the sets are supersets and WHERE is always re-evaluated on every document read,
 * the only thing a plan must get right is to miss no document: that is what every rule below
 * protects.
 *
 * Not used yet: OR across different paths (a union of index scans), index intersection, ranges
 * over JOIN results in ORDER BY, IS_DEFINED (the index holds no arrays or objects, so it cannot
 * list every document where a path is defined).
 */
#include "query/sql_int.h"
#include "common/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGS CR_MAX_PATH_DEPTH /* longer paths are never planned on (none has entries) */
/* Paths weighed per query: each costs a walk of WHERE, so a huge query is planned on its first
 * ones only (ignoring a path only loses a chance, never a document). */
#define MAX_KEYS 64

/* ---- paths ---- */

static bool seg_equal(const struct doc_seg *a, const struct doc_seg *b)
{
    if (a->kind != SEG_FIELD || b->kind != SEG_FIELD)
        return a->kind == b->kind;
    return a->len == b->len && !memcmp(a->name, b->name, a->len);
}

static bool path_equal(const struct sql_path *a, const struct sql_path *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!seg_equal(&a->segs[i], &b->segs[i]))
            return false;
    return true;
}

static bool plain_name(const char *s, size_t len)
{
    if (len == 0 || (len == 2 && !memcmp(s, "[]", 2)) || (len == 1 && (s[0] == '?' || s[0] == '*')))
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/' || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}

/* The Cosmos text of segs, NUL-terminated. */
static int path_text(struct cr_arena *a, const struct doc_seg *segs, size_t n, const char **out)
{
    struct cr_buf b;
    char *t;
    int rc = 0;

    cr_buf_init(&b);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct doc_seg *s = &segs[i];

        rc = cr_buf_putc(&b, '/');
        if (rc == 0 && s->kind == SEG_ELEMENTS)
            rc = cr_buf_append(&b, "[]", 2);
        else if (rc == 0 && plain_name(s->name, s->len))
            rc = cr_buf_append(&b, s->name, s->len);
        else if (rc == 0) {
            rc = cr_buf_putc(&b, '"');
            for (size_t k = 0; k < s->len && rc == 0; k++) {
                if (s->name[k] == '"' || s->name[k] == '\\')
                    rc = cr_buf_putc(&b, '\\');
                if (rc == 0)
                    rc = cr_buf_putc(&b, (uint8_t)s->name[k]);
            }
            if (rc == 0)
                rc = cr_buf_putc(&b, '"');
        }
    }
    t = rc == 0 ? cr_arena_strndup(a, (const char *)b.data, b.len) : NULL;
    cr_buf_free(&b);
    if (!t)
        return CR_ENOMEM;
    *out = t;
    return 0;
}

/* ---- range sets ---- */

/* all: nothing known (not sargable); otherwise the sorted, disjoint ranges (none: no value). */
struct rset {
    bool all;
    struct sql_range *r;
    size_t n;
};

static const struct rset ALL = {true, NULL, 0};
static const struct rset NONE = {false, NULL, 0};

static int lo_cmp(const struct sql_bound *a, const struct sql_bound *b)
{
    int c;

    if (a->kind == SQL_OPEN || b->kind == SQL_OPEN)
        return (a->kind != SQL_OPEN) - (b->kind != SQL_OPEN);
    if ((c = value_compare(&a->v, &b->v)) != 0)
        return c;
    return (a->kind == SQL_EXCL) - (b->kind == SQL_EXCL);
}

static int hi_cmp(const struct sql_bound *a, const struct sql_bound *b)
{
    int c;

    if (a->kind == SQL_OPEN || b->kind == SQL_OPEN)
        return (a->kind == SQL_OPEN) - (b->kind == SQL_OPEN);
    if ((c = value_compare(&a->v, &b->v)) != 0)
        return c;
    return (a->kind == SQL_INCL) - (b->kind == SQL_INCL);
}

static bool range_empty(const struct sql_range *r)
{
    int c;

    if (r->lo.kind == SQL_OPEN || r->hi.kind == SQL_OPEN)
        return false;
    c = value_compare(&r->lo.v, &r->hi.v);
    return c > 0 || (c == 0 && (r->lo.kind == SQL_EXCL || r->hi.kind == SQL_EXCL));
}

static bool is_point(const struct sql_range *r)
{
    return r->lo.kind == SQL_INCL && r->hi.kind == SQL_INCL && value_equal(&r->lo.v, &r->hi.v);
}

bool sql_range_contains(const struct sql_range *r, const struct value *v)
{
    int c;

    if (!v || sql_type_of(v) == SQT_ARRAY || sql_type_of(v) == SQT_OBJECT ||
        value_rank(v->type) != r->rank)
        return false;
    if (r->lo.kind != SQL_OPEN) {
        c = value_compare(v, &r->lo.v);
        if (c < 0 || (c == 0 && r->lo.kind == SQL_EXCL))
            return false;
    }
    if (r->hi.kind != SQL_OPEN) {
        c = value_compare(v, &r->hi.v);
        if (c > 0 || (c == 0 && r->hi.kind == SQL_EXCL))
            return false;
    }
    return true;
}

static int range_order(const void *pa, const void *pb)
{
    const struct sql_range *a = pa, *b = pb;

    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return lo_cmp(&a->lo, &b->lo);
}

struct planner {
    struct cr_arena *a;
    const struct sql_query *q;
    const struct value **params; /* by the query's slot; NULL: not given */
    uint64_t work;
    int rc; /* the first error (CR_ENOMEM, CR_EBUDGET), sticky */
};

static struct sql_range *alloc_ranges(struct planner *pl, size_t n)
{
    struct sql_range *r = cr_arena_alloc(pl->a, (n ? n : 1) * sizeof *r);

    if (!r && !pl->rc)
        pl->rc = CR_ENOMEM;
    return r;
}

/* Null and bool have one and two values: a range over them is rewritten as the points it holds,
 * so `c.a != true` is the equality `= false`. */
static size_t canon_small(const struct sql_range *r, struct sql_range *out)
{
    struct value vals[2];
    size_t nv = 0, k = 0;

    if (r->rank == 0) {
        vals[nv++] = value_null();
    } else {
        vals[nv++] = value_bool(false);
        vals[nv++] = value_bool(true);
    }
    for (size_t i = 0; i < nv; i++)
        if (sql_range_contains(r, &vals[i])) {
            if (k && out[k - 1].hi.v.type == VT_BOOL) {
                out[k - 1].hi.v = vals[i]; /* [false, true] */
                continue;
            }
            out[k].rank = r->rank;
            out[k].lo = out[k].hi = (struct sql_bound){SQL_INCL, vals[i]};
            k++;
        }
    return k;
}

/* s with empty ranges dropped, null and bool ranges as points, sorted and merged (a new array). */
static struct rset normalize(struct planner *pl, struct rset s)
{
    struct sql_range *v;
    size_t k = 0;

    if (s.all || s.n == 0)
        return s;
    if (!(v = alloc_ranges(pl, 2 * s.n)))
        return ALL;
    for (size_t i = 0; i < s.n; i++) {
        if (s.r[i].rank <= 1)
            k += canon_small(&s.r[i], &v[k]);
        else if (!range_empty(&s.r[i]))
            v[k++] = s.r[i];
    }
    qsort(v, k, sizeof *v, range_order);
    s.r = v;
    s.n = 0;
    for (size_t i = 0; i < k; i++) {
        struct sql_range *last = s.n ? &s.r[s.n - 1] : NULL;
        bool joins = false;

        if (last && last->rank == v[i].rank) {
            if (last->hi.kind == SQL_OPEN || v[i].lo.kind == SQL_OPEN) {
                joins = true;
            } else {
                int c = value_compare(&v[i].lo.v, &last->hi.v);

                joins =
                    c < 0 || (c == 0 && (last->hi.kind == SQL_INCL || v[i].lo.kind == SQL_INCL));
            }
        }
        if (joins) {
            if (hi_cmp(&v[i].hi, &last->hi) > 0)
                last->hi = v[i].hi;
        } else {
            s.r[s.n++] = v[i];
        }
    }
    return s;
}

static struct rset rs_union(struct planner *pl, struct rset a, struct rset b)
{
    struct rset u = {false, NULL, a.n + b.n};

    if (a.all || b.all)
        return ALL;
    if (!(u.r = alloc_ranges(pl, u.n)))
        return ALL;
    if (a.n)
        memcpy(u.r, a.r, a.n * sizeof *u.r);
    if (b.n)
        memcpy(u.r + a.n, b.r, b.n * sizeof *u.r);
    return normalize(pl, u);
}

static struct rset rs_intersect(struct planner *pl, struct rset a, struct rset b)
{
    struct rset x = {false, NULL, 0};
    size_t i = 0, j = 0;

    if (a.all)
        return b;
    if (b.all)
        return a;
    if (!(x.r = alloc_ranges(pl, a.n + b.n)))
        return ALL;
    while (i < a.n && j < b.n) {
        const struct sql_range *p = &a.r[i], *q = &b.r[j];
        struct sql_range m;
        int c;

        if (p->rank != q->rank) {
            if (p->rank < q->rank)
                i++;
            else
                j++;
            continue;
        }
        m.rank = p->rank;
        m.lo = lo_cmp(&p->lo, &q->lo) >= 0 ? p->lo : q->lo;
        m.hi = hi_cmp(&p->hi, &q->hi) <= 0 ? p->hi : q->hi;
        if (!range_empty(&m))
            x.r[x.n++] = m;
        c = hi_cmp(&p->hi, &q->hi);
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    return normalize(pl, x);
}

static struct rset rs_ranges(struct planner *pl, const struct sql_range *r, size_t n)
{
    struct rset s = {false, alloc_ranges(pl, n), n};

    if (!s.r)
        return ALL;
    memcpy(s.r, r, n * sizeof *r);
    return normalize(pl, s);
}

static struct sql_bound bound(enum sql_bound_kind k, const struct value *v)
{
    struct sql_bound b = {k, value_null()};

    if (v)
        b.v = *v;
    return b;
}

static bool scalar(const struct value *v)
{
    enum sql_type t = sql_type_of(v);

    return t != SQT_UNDEFINED && t != SQT_ARRAY && t != SQT_OBJECT;
}

/* key OP k over one type. Arrays and objects: equality is not in a scalar index (all), order
 * comparisons are never true (none). */
static struct rset cmp_set(struct planner *pl, enum sql_op op, const struct value *k)
{
    struct sql_range r[2];
    const struct sql_bound open = bound(SQL_OPEN, NULL);

    if (!k)
        return NONE; /* comparing with undefined is undefined */
    if (!scalar(k))
        return op == SO_EQ || op == SO_NE ? ALL : NONE;
    r[0].rank = r[1].rank = value_rank(k->type);
    r[0].lo = r[1].lo = open;
    r[0].hi = r[1].hi = open;
    switch (op) {
    case SO_EQ:
        r[0].lo = r[0].hi = bound(SQL_INCL, k);
        return rs_ranges(pl, r, 1);
    case SO_NE:
        r[0].hi = bound(SQL_EXCL, k);
        r[1].lo = bound(SQL_EXCL, k);
        return rs_ranges(pl, r, 2);
    case SO_LT:
    case SO_LE:
        r[0].hi = bound(op == SO_LT ? SQL_EXCL : SQL_INCL, k);
        return rs_ranges(pl, r, 1);
    default:
        r[0].lo = bound(op == SO_GT ? SQL_EXCL : SQL_INCL, k);
        return rs_ranges(pl, r, 1);
    }
}

static enum sql_op negate_op(enum sql_op op)
{
    switch (op) {
    case SO_EQ:
        return SO_NE;
    case SO_NE:
        return SO_EQ;
    case SO_LT:
        return SO_GE;
    case SO_LE:
        return SO_GT;
    case SO_GT:
        return SO_LE;
    default:
        return SO_LT;
    }
}

static enum sql_op mirror_op(enum sql_op op)
{
    switch (op) {
    case SO_LT:
        return SO_GT;
    case SO_LE:
        return SO_GE;
    case SO_GT:
        return SO_LT;
    case SO_GE:
        return SO_LE;
    default:
        return op;
    }
}

/* Strings starting with prefix: [prefix, successor), the successor being prefix with trailing
 * 0xFF bytes dropped and the last byte incremented (none: up to the last string). With neg, the
 * strings that do not start with it. */
static struct rset prefix_set(struct planner *pl, const struct value *p, bool neg)
{
    struct sql_range r[2];
    size_t n = p->u.s.len;
    char *succ;

    while (n && (unsigned char)p->u.s.ptr[n - 1] == 0xFF)
        n--;
    if (n && !(succ = cr_arena_alloc(pl->a, n))) {
        pl->rc = CR_ENOMEM;
        return ALL;
    }
    r[0].rank = r[1].rank = value_rank(VT_STRING);
    r[0].lo = bound(SQL_INCL, p);
    r[0].hi = bound(SQL_OPEN, NULL);
    if (n) {
        struct value sv;

        memcpy(succ, p->u.s.ptr, n);
        succ[n - 1] = (char)((unsigned char)succ[n - 1] + 1);
        sv = value_string(succ, n);
        r[0].hi = bound(SQL_EXCL, &sv);
    }
    if (!neg)
        return rs_ranges(pl, r, 1);
    r[1] = r[0];
    r[0].lo = bound(SQL_OPEN, NULL);
    r[0].hi = bound(SQL_EXCL, p);
    if (r[1].hi.kind == SQL_OPEN)
        return rs_ranges(pl, r, 1);
    r[1].lo = r[1].hi;
    r[1].lo.kind = SQL_INCL;
    r[1].hi = bound(SQL_OPEN, NULL);
    return rs_ranges(pl, r, 2);
}

static struct rset type_set(struct planner *pl, enum value_type t)
{
    struct sql_range r = {value_rank(t), bound(SQL_OPEN, NULL), bound(SQL_OPEN, NULL)};

    return rs_ranges(pl, &r, 1);
}

/* ---- constants ---- */

/* e refers to no alias and no aggregate, and every parameter it uses has a value. */
static bool constant(const struct planner *pl, const struct sql_expr *e)
{
    if (!e)
        return true;
    if (e->kind == SE_IDENT || e->kind == SE_AGG || (e->kind == SE_PARAM && !pl->params[e->slot]))
        return false;
    if (!constant(pl, e->a) || !constant(pl, e->b) || !constant(pl, e->c))
        return false;
    for (size_t i = 0; i < e->n_args; i++)
        if (!constant(pl, e->args[i]))
            return false;
    return true;
}

/* *ok: e is a constant, *v its value (NULL: undefined). */
static void const_value(struct planner *pl, const struct sql_expr *e, bool *ok,
                        const struct value **v)
{
    struct sql_env env;
    int rc;

    *ok = false;
    if (!constant(pl, e))
        return;
    memset(&env, 0, sizeof env);
    env.params = pl->params;
    env.a = pl->a;
    env.work = &pl->work;
    env.budget = SQL_DEFAULT_BUDGET;
    if ((rc = sql_eval(e, &env, v)) < 0) {
        if (!pl->rc)
            pl->rc = rc;
        return;
    }
    *ok = true;
}

/* ---- keys ---- */

struct key {
    const struct sql_expr *e; /* the path (exists: the array's path) */
    bool exists;              /* ARRAY_CONTAINS: some element of the array at e */
    bool root;                /* fields of the FROM alias only: one value per document */
    struct sql_path path;     /* the index path (exists: ending in "[]") */
    struct rset s;
};

/* Index segments of a path expression: fields from the FROM alias; a JOIN alias is every element
 * of its source. false when e is not such a path. */
static bool segs_of(const struct sql_query *q, const struct sql_expr *e, struct doc_seg *segs,
                    size_t *n)
{
    switch (e->kind) {
    case SE_IDENT:
        if (e->slot == 0) {
            *n = 0;
            return true;
        }
        if (!segs_of(q, q->joins[e->slot - 1].src, segs, n) || *n == MAX_SEGS)
            return false;
        segs[(*n)++] = (struct doc_seg){SEG_ELEMENTS, NULL, 0, 0};
        return true;
    case SE_PROP:
        if (!segs_of(q, e->a, segs, n) || *n == MAX_SEGS)
            return false;
        segs[(*n)++] = (struct doc_seg){SEG_FIELD, e->name, e->name_len, 0};
        return true;
    default:
        return false;
    }
}

static bool same_key(const struct key *k, const struct sql_expr *e, bool exists)
{
    return k->exists == exists && sql_expr_equal(k->e, e);
}

/* The range set of key k on rows where e is true (neg: where e is false). */
static struct rset range_set(struct planner *pl, const struct key *k, const struct sql_expr *e,
                             bool neg)
{
    const struct value *v, *w;
    enum sql_op op;
    bool ok, ok2;

    if (pl->rc)
        return ALL;
    switch (e->kind) {
    case SE_UNARY:
        return e->op == SO_NOT ? range_set(pl, k, e->a, !neg) : ALL;
    case SE_BINARY:
        if (e->op == SO_AND || e->op == SO_OR) {
            struct rset a = range_set(pl, k, e->a, neg), b = range_set(pl, k, e->b, neg);

            if ((e->op == SO_OR) != neg)
                return rs_union(pl, a, b);
            if (!k->exists)
                return rs_intersect(pl, a, b);
            /* Different elements may answer the two sides: keep one, the narrower. */
            if (a.all || (!b.all && b.n < a.n))
                return b;
            return a;
        }
        if (k->exists || e->op < SO_EQ || e->op > SO_GE)
            return ALL;
        op = neg ? negate_op((enum sql_op)e->op) : (enum sql_op)e->op;
        if (sql_expr_equal(e->a, k->e)) {
            const_value(pl, e->b, &ok, &v);
            return ok ? cmp_set(pl, op, v) : ALL;
        }
        if (sql_expr_equal(e->b, k->e)) {
            const_value(pl, e->a, &ok, &v);
            return ok ? cmp_set(pl, mirror_op(op), v) : ALL;
        }
        return ALL;
    case SE_BETWEEN:
        if (k->exists || !sql_expr_equal(e->a, k->e))
            return ALL;
        const_value(pl, e->b, &ok, &v);
        const_value(pl, e->c, &ok2, &w);
        if (!ok || !ok2)
            return ALL;
        if (neg == e->negate) /* true: x >= lo and x <= hi, both of x's type */
            return rs_intersect(pl, cmp_set(pl, SO_GE, v), cmp_set(pl, SO_LE, w));
        return rs_union(pl, cmp_set(pl, SO_LT, v), cmp_set(pl, SO_GT, w));
    case SE_IN: {
        struct sql_range *pts;
        size_t n = 0;

        if (k->exists || neg != e->negate || !sql_expr_equal(e->a, k->e))
            return ALL; /* NOT IN holds for values of every type */
        if (!(pts = alloc_ranges(pl, e->n_args)))
            return ALL;
        for (size_t i = 0; i < e->n_args; i++) {
            const_value(pl, e->args[i], &ok, &v);
            if (!ok || (v && !scalar(v)))
                return ALL;
            if (!v)
                continue; /* equal to nothing */
            pts[n].rank = value_rank(v->type);
            pts[n].lo = pts[n].hi = bound(SQL_INCL, v);
            n++;
        }
        return rs_ranges(pl, pts, n);
    }
    case SE_CALL:
        break;
    default:
        return ALL;
    }
    /* Functions: the flag of STARTSWITH and ARRAY_CONTAINS must be a boolean, else undefined. */
    if (e->n_args == 3) {
        const_value(pl, e->args[2], &ok, &w);
        if (!ok)
            return ALL;
        if (!w || w->type != VT_BOOL)
            return e->op == SF_STARTSWITH || e->op == SF_ARRAY_CONTAINS ? NONE : ALL;
    } else {
        w = NULL;
    }
    switch (e->op) {
    case SF_ARRAY_CONTAINS:
        if (!k->exists || neg || !sql_expr_equal(e->args[0], k->e))
            return ALL;
        const_value(pl, e->args[1], &ok, &v);
        if (!ok)
            return ALL;
        if (!v)
            return NONE; /* ARRAY_CONTAINS(arr, undefined) is false */
        /* An element that equals v (partial matching changes only objects). */
        return scalar(v) ? cmp_set(pl, SO_EQ, v) : ALL;
    case SF_STARTSWITH:
        if (k->exists || !sql_expr_equal(e->args[0], k->e))
            return ALL;
        if (w && w->u.b)
            return ALL; /* ignoring case: no single range */
        const_value(pl, e->args[1], &ok, &v);
        if (!ok)
            return ALL;
        if (sql_type_of(v) != SQT_STRING)
            return NONE;
        return prefix_set(pl, v, neg);
    case SF_IS_NUMBER:
    case SF_IS_STRING:
    case SF_IS_BOOL:
    case SF_IS_NULL:
        if (k->exists || neg || !sql_expr_equal(e->args[0], k->e))
            return ALL;
        return type_set(pl, e->op == SF_IS_NUMBER   ? VT_INT
                            : e->op == SF_IS_STRING ? VT_STRING
                            : e->op == SF_IS_BOOL   ? VT_BOOL
                                                    : VT_NULL);
    default:
        return ALL;
    }
}

struct keys {
    struct key *v;
    size_t n, cap;
};

static int add_key(struct planner *pl, struct keys *ks, const struct sql_expr *e, bool exists)
{
    struct doc_seg tmp[MAX_SEGS], *segs;
    struct key *k;
    size_t n;

    for (size_t i = 0; i < ks->n; i++)
        if (same_key(&ks->v[i], e, exists))
            return 0;
    if (ks->n == MAX_KEYS)
        return 0;
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 8;
        struct key *nv = cr_arena_alloc(pl->a, cap * sizeof *nv);

        if (!nv)
            return CR_ENOMEM;
        if (ks->n)
            memcpy(nv, ks->v, ks->n * sizeof *nv);
        ks->v = nv;
        ks->cap = cap;
    }
    if (!segs_of(pl->q, e, tmp, &n) || n + exists == 0 || n + exists > MAX_SEGS)
        return 0; /* not a path: nothing to plan on */
    if (exists)
        tmp[n++] = (struct doc_seg){SEG_ELEMENTS, NULL, 0, 0};
    if (!(segs = cr_arena_alloc(pl->a, n * sizeof *segs)))
        return CR_ENOMEM;
    memcpy(segs, tmp, n * sizeof *segs);
    k = &ks->v[ks->n++];
    memset(k, 0, sizeof *k);
    k->e = e;
    k->exists = exists;
    k->root = true;
    for (size_t i = 0; i < n; i++)
        k->root = k->root && segs[i].kind == SEG_FIELD;
    k->path.segs = segs;
    k->path.n = n;
    return path_text(pl->a, segs, n, &k->path.text);
}

/* The keys WHERE's predicates test, in the order they appear. */
static int collect_keys(struct planner *pl, struct keys *ks, const struct sql_expr *e)
{
    int rc;

    switch (e->kind) {
    case SE_UNARY:
        return e->op == SO_NOT ? collect_keys(pl, ks, e->a) : 0;
    case SE_BINARY:
        if (e->op == SO_AND || e->op == SO_OR) {
            if ((rc = collect_keys(pl, ks, e->a)) < 0)
                return rc;
            return collect_keys(pl, ks, e->b);
        }
        if (e->op < SO_EQ || e->op > SO_GE)
            return 0;
        if ((rc = add_key(pl, ks, e->a, false)) < 0)
            return rc;
        return add_key(pl, ks, e->b, false);
    case SE_BETWEEN:
    case SE_IN:
        return add_key(pl, ks, e->a, false);
    case SE_CALL:
        switch (e->op) {
        case SF_ARRAY_CONTAINS:
            return add_key(pl, ks, e->args[0], true);
        case SF_STARTSWITH:
        case SF_IS_NUMBER:
        case SF_IS_STRING:
        case SF_IS_BOOL:
        case SF_IS_NULL:
            return add_key(pl, ks, e->args[0], false);
        default:
            return 0;
        }
    default:
        return 0;
    }
}

/* ---- indexes ---- */

/* Storage's rules for the policy's patterns, and each composite index's paths parsed. */
struct rules {
    const struct doc_rules *paths;
    struct sql_path **comp; /* per composite index: its parsed paths */
};

static int load_rules(struct planner *pl, const struct indexing_policy *ix, struct rules *rs,
                      struct sql_err *err)
{
    int rc = doc_rules_load(ix, pl->a, &rs->paths);

    if (rc == CR_EINVAL)
        return sql_fail(err, rc, 0, 0, "bad index path pattern in the indexing policy");
    if (rc < 0)
        return rc;
    rs->comp = cr_arena_alloc(pl->a, (ix->n_composite ? ix->n_composite : 1) * sizeof *rs->comp);
    if (!rs->comp)
        return CR_ENOMEM;
    for (size_t i = 0; i < ix->n_composite; i++) {
        const struct composite_def *c = &ix->composite[i];

        if (!(rs->comp[i] = cr_arena_alloc(pl->a, (c->n ? c->n : 1) * sizeof *rs->comp[i])))
            return CR_ENOMEM;
        for (size_t j = 0; j < c->n; j++) {
            struct sql_path *p = &rs->comp[i][j];
            struct doc_path dp;
            const char *t = c->paths[j].path;

            rc = doc_path_parse(t, strlen(t), pl->a, &dp);
            for (size_t s = 0; rc == 0 && s < dp.n; s++)
                if (dp.segs[s].kind != SEG_FIELD)
                    rc = CR_EINVAL;
            if (rc == CR_EINVAL)
                return sql_fail(err, rc, 0, 0, "bad composite index path '%.64s'", t);
            if (rc < 0)
                return rc;
            *p = (struct sql_path){dp.segs, dp.n, t};
        }
    }
    return 0;
}

/* Whether the single-path index has entries for path p: storage's answer. */
static bool indexed(const struct rules *rs, const struct sql_path *p)
{
    const struct doc_path dp = {p->segs, p->n};

    return doc_rules_indexed(rs->paths, &dp);
}

/* ---- choosing ---- */

enum cls { CLS_NONE, CLS_TYPE, CLS_ONE_SIDED, CLS_BOUNDED };

struct sql_plan_cand {
    enum sql_access access; /* INDEX_SCAN or COMPOSITE */
    const struct key *k;    /* INDEX_SCAN */
    size_t composite, n_eq; /* COMPOSITE */
    const struct value *eq;
    struct rset s; /* the ranges (COMPOSITE: of path n_eq; all when every path is equal) */
    int n_equal;   /* paths bound to one value */
    enum cls cls;  /* the weakest range of s, beyond those */
    bool ordered, reverse;
    size_t pos;
};

static enum cls cls_of(const struct rset *s)
{
    enum cls c = CLS_BOUNDED;

    if (s->all)
        return CLS_NONE;
    for (size_t i = 0; i < s->n; i++) {
        int open = (s->r[i].lo.kind == SQL_OPEN) + (s->r[i].hi.kind == SQL_OPEN);
        enum cls ci = open == 0 ? CLS_BOUNDED : open == 1 ? CLS_ONE_SIDED : CLS_TYPE;

        if (ci < c)
            c = ci;
    }
    return c;
}

static bool all_points(const struct rset *s)
{
    if (s->all || s->n == 0)
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (!is_point(&s->r[i]))
            return false;
    return true;
}

/* Better first: more equal paths, a path of the document's own over array elements (with no
 * statistics, an element value is the likelier to be shared by many documents), a stronger range,
 * the ORDER BY order, fewer ranges, a single-path index, then the first in the query (or in the
 * declaration of composites). */
static int cand_order(const void *pa, const void *pb)
{
    const struct sql_plan_cand *a = pa, *b = pb;
    bool ea = a->access == SQL_INDEX_SCAN && !a->k->root,
         eb = b->access == SQL_INDEX_SCAN && !b->k->root;

    if (a->n_equal != b->n_equal)
        return a->n_equal > b->n_equal ? -1 : 1;
    if (ea != eb)
        return ea ? 1 : -1;
    if (a->cls != b->cls)
        return a->cls > b->cls ? -1 : 1;
    if (a->ordered != b->ordered)
        return a->ordered ? -1 : 1;
    if (a->s.n != b->s.n)
        return a->s.n < b->s.n ? -1 : 1;
    if (a->access != b->access)
        return a->access == SQL_INDEX_SCAN ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

struct ord {
    const struct sql_expr *e;
    bool desc;
};

static const struct key *find_key(const struct keys *ks, const struct sql_expr *e)
{
    for (size_t i = 0; i < ks->n; i++)
        if (!ks->v[i].exists && sql_expr_equal(ks->v[i].e, e))
            return &ks->v[i];
    return NULL;
}

static const struct key *find_root_key(const struct keys *ks, const struct sql_path *p)
{
    for (size_t i = 0; i < ks->n; i++)
        if (ks->v[i].root && !ks->v[i].exists && path_equal(&ks->v[i].path, p))
            return &ks->v[i];
    return NULL;
}

/* The composite index i as a candidate: every one of its paths must be restricted by WHERE to
 * scalars (documents without an entry could pass otherwise); the leading ones bound to one value
 * are its equality prefix, the next one's ranges follow. */
static int composite_cand(struct planner *pl, const struct indexing_policy *ix,
                          const struct rules *rs, const struct keys *ks, const struct ord *ord,
                          size_t n_ord, size_t i, struct sql_plan_cand *c, bool *usable)
{
    const struct composite_def *x = &ix->composite[i];
    const struct key *k[CR_MAX_DEPTH];
    struct value *eq;
    bool flip = false;

    *usable = false;
    if (x->n == 0 || x->n > CR_MAX_DEPTH)
        return 0;
    for (size_t j = 0; j < x->n; j++)
        if (!(k[j] = find_root_key(ks, &rs->comp[i][j])) || k[j]->s.all)
            return 0;
    memset(c, 0, sizeof *c);
    c->access = SQL_COMPOSITE;
    c->composite = c->pos = i;
    while (c->n_eq < x->n && k[c->n_eq]->s.n == 1 && is_point(&k[c->n_eq]->s.r[0]))
        c->n_eq++;
    if (!(eq = cr_arena_alloc(pl->a, (c->n_eq ? c->n_eq : 1) * sizeof *eq)))
        return CR_ENOMEM;
    for (size_t j = 0; j < c->n_eq; j++)
        eq[j] = k[j]->s.r[0].lo.v;
    c->eq = eq;
    c->n_equal = (int)c->n_eq;
    c->s = c->n_eq < x->n ? k[c->n_eq]->s : ALL;
    c->cls = cls_of(&c->s);
    c->ordered = n_ord == 0;
    if (n_ord && n_ord <= x->n - c->n_eq) {
        c->ordered = true;
        for (size_t t = 0; t < n_ord && c->ordered; t++) {
            struct doc_seg segs[MAX_SEGS];
            struct sql_path p = {segs, 0, NULL};
            bool f = ord[t].desc != x->paths[c->n_eq + t].desc;

            c->ordered = segs_of(pl->q, ord[t].e, segs, &p.n) &&
                         path_equal(&p, &rs->comp[i][c->n_eq + t]) && (t == 0 || f == flip);
            flip = f;
        }
        c->reverse = c->ordered && flip;
    }
    *usable = true;
    return 0;
}

/* The keys of plain field paths WHERE binds to one value. */
static int add_points(struct planner *pl, const struct keys *ks, struct sql_plan *out)
{
    struct sql_point *pts = cr_arena_alloc(pl->a, (ks->n ? ks->n : 1) * sizeof *pts);

    if (!pts)
        return CR_ENOMEM;
    for (size_t i = 0; i < ks->n; i++) {
        const struct key *k = &ks->v[i];

        if (k->root && !k->exists && !k->s.all && k->s.n == 1 && is_point(&k->s.r[0]))
            pts[out->n_points++] = (struct sql_point){k->path, k->s.r[0].lo.v};
    }
    out->points = pts;
    return 0;
}

static int plan_fail(struct sql_err *err, int rc)
{
    return err->code ? rc : sql_fail(err, rc, 0, 0, "%s", cr_strerror(rc));
}

/* The ranges of s in reading order: descending when desc. */
static void set_ranges(struct sql_plan *p, const struct rset *s, bool desc, struct sql_range *buf)
{
    for (size_t i = 0; i < s->n; i++)
        buf[i] = s->r[desc ? s->n - 1 - i : i];
    p->ranges = buf;
    p->n_ranges = s->n;
}

int sql_plan(struct cr_arena *a, const struct sql_query *q, const struct indexing_policy *ix,
             const struct sql_param *params, size_t n_params, struct sql_plan *out,
             struct sql_err *err)
{
    struct planner pl = {a, q, NULL, 0, 0};
    struct keys ks = {NULL, 0, 0};
    struct rules rs;
    struct ord *ord;
    struct sql_plan_cand *cands;
    struct sql_range *buf;
    size_t n_ord = 0, n_cands = 0;
    int rc;

    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    out->q = q;
    out->policy = ix;
    pl.params = cr_arena_calloc(a, (q->n_params ? q->n_params : 1) * sizeof *pl.params);
    ord = cr_arena_alloc(a, (q->n_order ? q->n_order : 1) * sizeof *ord);
    if (!pl.params || !ord)
        return plan_fail(err, CR_ENOMEM);
    for (size_t i = 0; i < q->n_params; i++)
        for (size_t k = 0; k < n_params; k++)
            if (params[k].name_len == q->params[i].len &&
                !memcmp(params[k].name, q->params[i].name, q->params[i].len))
                pl.params[i] = params[k].value;
    if ((rc = load_rules(&pl, ix, &rs, err)) < 0)
        return plan_fail(err, rc);
    if (q->where && (rc = collect_keys(&pl, &ks, q->where)) < 0)
        return plan_fail(err, rc);
    for (size_t i = 0; i < ks.n; i++) {
        struct key *k = &ks.v[i];

        k->s = range_set(&pl, k, q->where, false);
        if (pl.rc)
            return plan_fail(err, pl.rc);
        if (!k->s.all && k->s.n == 0) {
            out->access = SQL_EMPTY;
            out->ordered = q->n_order > 0;
            return 0;
        }
    }
    if ((rc = add_points(&pl, &ks, out)) < 0)
        return plan_fail(err, rc);
    /* ORDER BY keys bound to one value by WHERE do not order anything. */
    for (size_t i = 0; i < q->n_order; i++) {
        const struct key *k = find_key(&ks, q->order[i].e);

        if (!(k && all_points(&k->s) && k->s.n == 1)) {
            ord[n_ord].e = q->order[i].e;
            ord[n_ord++].desc = q->order[i].desc;
        }
    }
    cands = cr_arena_alloc(a, (ks.n + ix->n_composite + 1) * sizeof *cands);
    if (!cands)
        return plan_fail(err, CR_ENOMEM);
    for (size_t i = 0; i < ks.n; i++) {
        const struct key *k = &ks.v[i];
        struct sql_plan_cand *c = &cands[n_cands];

        if (k->s.all || !indexed(&rs, &k->path))
            continue;
        memset(c, 0, sizeof *c);
        c->access = SQL_INDEX_SCAN;
        c->k = k;
        c->s = k->s;
        c->pos = i;
        if (all_points(&k->s)) {
            c->n_equal = 1;
        } else {
            c->cls = cls_of(&k->s);
        }
        c->ordered = n_ord == 0 || (n_ord == 1 && k->root && sql_expr_equal(ord[0].e, k->e));
        c->reverse = n_ord == 1 && c->ordered && ord[0].desc;
        n_cands++;
    }
    for (size_t i = 0; i < ix->n_composite; i++) {
        bool usable;

        if ((rc = composite_cand(&pl, ix, &rs, &ks, ord, n_ord, i, &cands[n_cands], &usable)) < 0)
            return plan_fail(err, rc);
        n_cands += usable;
    }
    qsort(cands, n_cands, sizeof *cands, cand_order);
    out->cands = cands;
    out->n_cands = n_cands;
    if (n_cands == 0) {
        out->access = SQL_FULL_SCAN;
        out->ordered = q->n_order > 0 && n_ord == 0;
        out->sort = q->n_order > 0 && !out->ordered;
        return 0;
    }
    out->access = cands[0].access;
    out->reverse = cands[0].reverse;
    out->ordered = q->n_order > 0 && cands[0].ordered;
    out->sort = q->n_order > 0 && !out->ordered;
    if (!(buf = alloc_ranges(&pl, cands[0].s.n)))
        return plan_fail(err, CR_ENOMEM);
    if (out->access == SQL_INDEX_SCAN) {
        const struct key *k = cands[0].k;

        out->path = k->path;
        out->dedup = !k->root;
        set_ranges(out, &cands[0].s, out->reverse, buf);
    } else {
        const struct composite_def *x = &ix->composite[cands[0].composite];

        out->composite = cands[0].composite;
        out->eq = cands[0].eq;
        out->n_eq = cands[0].n_eq;
        if (!cands[0].s.all)
            set_ranges(out, &cands[0].s, x->paths[out->n_eq].desc != out->reverse, buf);
    }
    return 0;
}

/* ---- EXPLAIN ---- */

static int put(struct cr_buf *b, const char *s)
{
    return cr_buf_append(b, s, strlen(s));
}

static int put_value(struct cr_buf *b, const struct value *v)
{
    char t[48];

    switch (v->type) {
    case VT_NULL:
        return put(b, "null");
    case VT_BOOL:
        return put(b, v->u.b ? "true" : "false");
    case VT_INT:
        snprintf(t, sizeof t, "%" PRId64, v->u.i);
        return put(b, t);
    case VT_DOUBLE:
    case VT_DECIMAL:
        snprintf(t, sizeof t, "%.17g", sql_to_double(v));
        return put(b, t);
    case VT_STRING: {
        int rc = cr_buf_putc(b, '"');

        for (size_t i = 0; i < v->u.s.len && rc == 0; i++) {
            unsigned char c = (unsigned char)v->u.s.ptr[i];

            if (c == '"' || c == '\\') {
                snprintf(t, sizeof t, "\\%c", c);
                rc = put(b, t);
            } else if (c < 0x20 || c == 0x7F) {
                snprintf(t, sizeof t, "\\u%04x", c);
                rc = put(b, t);
            } else {
                rc = cr_buf_putc(b, c);
            }
        }
        return rc ? rc : cr_buf_putc(b, '"');
    }
    default:
        snprintf(t, sizeof t, "<%s>", value_type_name(v->type));
        return put(b, t);
    }
}

static const char *rank_name(int rank)
{
    static const char *const n[] = {"null",   "bool",  "number", "timestamp",
                                    "string", "bytes", "ref",    "geopoint"};

    return rank >= 0 && rank < 8 ? n[rank] : "?";
}

/* "= 5", "number (5 ..)", "string [\"ab\" .. \"ac\")", "number (..)". */
static int put_range(struct cr_buf *b, const struct sql_range *r)
{
    int rc;

    if (is_point(r))
        return (rc = put(b, "= ")) < 0 ? rc : put_value(b, &r->lo.v);
    if ((rc = put(b, rank_name(r->rank))) < 0 ||
        (rc = put(b, r->lo.kind == SQL_INCL ? " [" : " (")) < 0)
        return rc;
    if (r->lo.kind != SQL_OPEN && ((rc = put_value(b, &r->lo.v)) < 0 || (rc = put(b, " ")) < 0))
        return rc;
    if ((rc = put(b, "..")) < 0)
        return rc;
    if (r->hi.kind != SQL_OPEN && ((rc = put(b, " ")) < 0 || (rc = put_value(b, &r->hi.v)) < 0))
        return rc;
    return put(b, r->hi.kind == SQL_INCL ? "]" : ")");
}

static int put_ranges(struct cr_buf *b, const struct sql_range *r, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++)
        if ((i && (rc = put(b, ", ")) < 0) || (rc = put_range(b, &r[i])) < 0)
            return rc;
    return rc;
}

static int put_composite(struct cr_buf *b, const struct indexing_policy *ix, size_t i)
{
    char t[32];
    int rc;

    snprintf(t, sizeof t, "composite #%zu (", i);
    if ((rc = put(b, t)) < 0)
        return rc;
    for (size_t j = 0; j < ix->composite[i].n; j++)
        if ((j && (rc = put(b, ", ")) < 0) || (rc = put(b, ix->composite[i].paths[j].path)) < 0 ||
            (rc = put(b, ix->composite[i].paths[j].desc ? " DESC" : " ASC")) < 0)
            return rc;
    return put(b, ")");
}

/* The WHERE clause as the canonical printer writes it: the text after "WHERE " of a query that
 * has nothing else. */
static int put_filter(struct cr_buf *b, const struct sql_query *q)
{
    struct sql_query f;
    struct cr_buf t;
    size_t skip = strlen("SELECT * FROM c c WHERE ");
    int rc;

    if (!q->where)
        return put(b, "none");
    memset(&f, 0, sizeof f);
    f.sel = SQL_SEL_STAR;
    f.coll = f.alias = "c";
    f.coll_len = f.alias_len = 1;
    f.where = q->where;
    cr_buf_init(&t);
    rc = sql_print(&f, &t);
    if (rc == 0)
        rc = cr_buf_append(b, t.data + skip, t.len - skip);
    cr_buf_free(&t);
    return rc;
}

static int put_cand(struct cr_buf *b, const struct sql_plan *p, const struct sql_plan_cand *c)
{
    static const char *const cls[] = {"", "whole type", "one-sided range", "bounded range"};
    char t[64];
    int rc;

    if (c->access == SQL_INDEX_SCAN)
        rc = (rc = put(b, "index ")) < 0 ? rc : put(b, c->k->path.text);
    else
        rc = put_composite(b, p->policy, c->composite);
    if (rc < 0)
        return rc;
    snprintf(t, sizeof t, ": %d equal, %s%s%zu range%s%s", c->n_equal, cls[c->cls],
             c->cls ? ", " : "", c->s.all ? (size_t)0 : c->s.n, c->s.n == 1 ? "" : "s",
             c->ordered && p->q->n_order ? ", ordered" : "");
    return put(b, t);
}

int sql_explain(const struct sql_plan *p, struct cr_buf *out)
{
    size_t start = out->len;
    struct cr_buf *b = out;
    int rc = 0;

    switch (p->access) {
    case SQL_FULL_SCAN:
        rc = put(b, "access: full scan\n");
        break;
    case SQL_EMPTY:
        rc = put(b, "access: empty (WHERE is never true)\n");
        break;
    case SQL_INDEX_SCAN:
        if ((rc = put(b, "access: index ")) < 0 || (rc = put(b, p->path.text)) < 0 ||
            (rc = put(b, "\nranges: ")) < 0 || (rc = put_ranges(b, p->ranges, p->n_ranges)) < 0 ||
            (rc = put(b, p->reverse ? "\nscan: descending\n" : "\nscan: ascending\n")) < 0)
            break;
        if (p->dedup)
            rc = put(b, "dedup: yes\n");
        break;
    case SQL_COMPOSITE: {
        const struct composite_def *x = &p->policy->composite[p->composite];

        if ((rc = put(b, "access: ")) < 0 || (rc = put_composite(b, p->policy, p->composite)) < 0 ||
            (rc = put(b, "\n")) < 0)
            break;
        for (size_t i = 0; i < p->n_eq && rc == 0; i++)
            if ((rc = put(b, i ? ", " : "equal: ")) == 0 && (rc = put(b, x->paths[i].path)) == 0 &&
                (rc = put(b, " = ")) == 0)
                rc = put_value(b, &p->eq[i]);
        if (rc == 0 && p->n_eq)
            rc = put(b, "\n");
        if (rc == 0 && p->n_ranges &&
            ((rc = put(b, "ranges: ")) < 0 || (rc = put(b, x->paths[p->n_eq].path)) < 0 ||
             (rc = put(b, " ")) < 0 || (rc = put_ranges(b, p->ranges, p->n_ranges)) < 0 ||
             (rc = put(b, "\n")) < 0))
            break;
        if (rc == 0)
            rc = put(b, p->reverse ? "scan: backward\n" : "scan: forward\n");
        break;
    }
    }
    if (rc == 0)
        rc = put(b, !p->q->n_order ? "order: none\n"
                    : p->ordered   ? "order: as read (no sort)\n"
                                   : "order: sort\n");
    if (rc == 0 && (rc = put(b, "filter: ")) == 0 && (rc = put_filter(b, p->q)) == 0)
        rc = put(b, "\n");
    for (size_t i = 0; i < p->n_cands && rc == 0; i++)
        if ((rc = put(b, i ? "; " : "candidates: ")) < 0 || (rc = put_cand(b, p, &p->cands[i])) < 0)
            break;
    if (rc == 0 && p->n_cands)
        rc = put(b, "\n");
    if (rc < 0)
        out->len = start;
    return rc;
}
