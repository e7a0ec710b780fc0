/* Random documents, policies and queries for the planner's property tests (sql_gen.h). */
#include "sql_gen.h"
#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static struct cr_arena A;

struct cr_arena *gen_arena(void)
{
    return &A;
}

void gen_init(void)
{
    cr_arena_init(&A, 1 << 16);
}

void gen_reset(void)
{
    cr_arena_reset(&A);
}

void gen_free(void)
{
    cr_arena_free(&A);
}

/* ---- values ---- */

static const char *const STRS[] = {"",   "a",        "ab",       "abc",      "b",
                                   "ba", "\xc3\xa9", "\xc2\xbf", "\xc2\xbfx"};

/* Dense collections draw most values from a few, so that equal prefixes of composite indexes
 * still leave documents to order. */
static bool dense;

void gen_start(uint64_t seed)
{
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    dense = rnd(3) == 0;
}

uint32_t gen_rnd(uint32_t n)
{
    return rnd(n);
}

/* With long strings: strings of LONG_LEN bytes sharing all but their last byte, longer than an
 * index key keeps (storage cuts them to a prefix and a hash, so they sort by hash there). */
#define LONG_LEN 130
static bool long_strings;

void gen_long_strings(bool on)
{
    long_strings = on;
}

static struct value long_string(void)
{
    char *s = cr_arena_alloc(&A, LONG_LEN);

    assert_non_null(s);
    memset(s, 'b', LONG_LEN);
    s[LONG_LEN - 1] = (char)('a' + rnd(4));
    return value_string(s, LONG_LEN);
}

static struct value rand_scalar(void)
{
    static const double dbl[] = {-1.5, 0.5, 1.0, 2.5};
    uint32_t k = rnd(10);

    if (dense && rnd(5)) {
        k = rnd(4);
        return k < 2 ? value_int((int64_t)k) : value_string(k == 2 ? "a" : "b", 1);
    }

    switch (k) {
    case 0:
        return value_null();
    case 1:
        return value_bool(rnd(2));
    case 2:
    case 3:
    case 4:
        return value_int((int64_t)rnd(6) - 2);
    case 5:
        return value_double(dbl[rnd(4)]);
    default: {
        const char *s = STRS[rnd(sizeof STRS / sizeof *STRS)];

        if (long_strings && rnd(3) == 0)
            return long_string();
        return value_string(s, strlen(s));
    }
    }
}

static struct value *alloc_vals(size_t n)
{
    struct value *v = cr_arena_alloc(&A, (n ? n : 1) * sizeof *v);

    assert_non_null(v);
    return v;
}

static struct value make_map(const char *const *names, struct value *vals, size_t n)
{
    struct value m = {.type = VT_MAP};
    struct value_field *f = cr_arena_alloc(&A, (n ? n : 1) * sizeof *f);

    for (size_t i = 0; i < n; i++) {
        f[i].name = names[i];
        f[i].name_len = strlen(names[i]);
        f[i].value = &vals[i];
    }
    m.u.map.fields = f;
    m.u.map.n = n;
    return m;
}

static struct value make_array(struct value *items, size_t n)
{
    struct value a = {.type = VT_ARRAY};

    a.u.arr.items = items;
    a.u.arr.n = n;
    return a;
}

/* A field value: mostly a scalar, sometimes an array or an object. */
static struct value rand_field(void)
{
    uint32_t k = rnd(12);

    if (k == 0) {
        size_t n = rnd(3);
        struct value *items = alloc_vals(n);

        for (size_t i = 0; i < n; i++)
            items[i] = rand_scalar();
        return make_array(items, n);
    }
    if (k == 1) {
        static const char *const names[] = {"p"};
        struct value *v = alloc_vals(1);

        v[0] = rand_scalar();
        return make_map(names, v, 1);
    }
    return rand_scalar();
}

struct value gen_doc(size_t i)
{
    static const char *const names[] = {"a", "b", "c", "id", "items", "o", "tags"};
    struct value *vals = alloc_vals(7);
    const char *kept[7];
    struct value *kv = alloc_vals(7);
    char *id = cr_arena_alloc(&A, 16);
    size_t n = 0;

    snprintf(id, 16, "d%03zu", i);
    vals[0] = rand_field();
    vals[1] = rand_field();
    vals[2] = rnd(4) ? value_int((int64_t)rnd(4)) : rand_scalar();
    vals[3] = value_string(id, strlen(id));
    {
        size_t ni = rnd(4);
        struct value *items = alloc_vals(ni);

        for (size_t j = 0; j < ni; j++) {
            static const char *const xy[] = {"x", "y"};
            struct value *v = alloc_vals(2);

            v[0] = rand_scalar();
            v[1] = rand_scalar();
            items[j] = rnd(6) ? make_map(xy, v, 1 + rnd(2)) : rand_scalar();
        }
        vals[4] = make_array(items, ni);
    }
    {
        static const char *const pq[] = {"p", "q"};
        struct value *v = alloc_vals(2);

        v[0] = rand_field();
        v[1] = rand_scalar();
        vals[5] = rnd(6) ? make_map(pq, v, 2) : rand_scalar();
    }
    {
        size_t nt = rnd(5);
        struct value *items = alloc_vals(nt);

        for (size_t j = 0; j < nt; j++)
            items[j] = rnd(8) ? rand_scalar() : rand_field();
        vals[6] = rnd(8) ? make_array(items, nt) : rand_scalar();
    }
    for (size_t f = 0; f < 7; f++) {
        if (f != 3 && rnd(5) == 0)
            continue; /* missing */
        kept[n] = names[f];
        kv[n++] = vals[f];
    }
    return make_map(kept, kv, n);
}

/* ---- text ---- */

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    t->n += (size_t)vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
    va_end(ap);
    assert_true(t->n < sizeof t->s);
}

void gen_add_value(struct text *t, const struct value *v)
{
    switch (v->type) {
    case VT_NULL:
        add(t, "null");
        break;
    case VT_BOOL:
        add(t, v->u.b ? "true" : "false");
        break;
    case VT_INT:
        add(t, "%lld", (long long)v->u.i);
        break;
    case VT_DOUBLE:
        add(t, "%.17g", v->u.d);
        break;
    case VT_STRING:
        add(t, "\"%.*s\"", (int)v->u.s.len, v->u.s.ptr);
        break;
    case VT_ARRAY:
        add(t, "[");
        for (size_t i = 0; i < v->u.arr.n; i++) {
            add(t, i ? ", " : "");
            gen_add_value(t, &v->u.arr.items[i]);
        }
        add(t, "]");
        break;
    case VT_MAP:
        add(t, "{");
        for (size_t i = 0; i < v->u.map.n; i++) {
            add(t, "%s\"%.*s\": ", i ? ", " : "", (int)v->u.map.fields[i].name_len,
                v->u.map.fields[i].name);
            gen_add_value(t, v->u.map.fields[i].value);
        }
        add(t, "}");
        break;
    default:
        add(t, "?");
    }
}

/* ---- queries ---- */

static const char *rand_path(struct gen *g)
{
    static const char *const root[] = {"c.a", "c.b", "c.c", "c.o.p", "c.o.q", "c.m", "c[\"a\"]"};
    const char *p;

    if (g->join == 1 && rnd(3) == 0)
        p = "t";
    else if (g->join == 2 && rnd(3) == 0)
        p = rnd(2) ? "t.x" : "t.y";
    else
        p = root[rnd(7)];
    if (g->n_used < 8)
        g->used[g->n_used++] = p;
    return p;
}

/* A literal, inline or as a parameter. */
static void add_lit(struct gen *g, struct text *t, struct value v)
{
    if (g->n_params < MAX_PARAMS && rnd(3) == 0) {
        struct value *pv = alloc_vals(1);
        size_t i = g->n_params++;

        *pv = v;
        snprintf(g->names[i], sizeof g->names[i], "@p%zu", i);
        g->params[i] = (struct sql_param){g->names[i], strlen(g->names[i]), pv};
        add(t, "%s", g->names[i]);
        return;
    }
    gen_add_value(t, &v);
}

static struct value rand_str(void)
{
    const char *s = STRS[rnd(sizeof STRS / sizeof *STRS)];

    if (long_strings && rnd(3) == 0)
        return long_string();

    return value_string(s, strlen(s));
}

static void rand_pred(struct gen *g, struct text *t, int depth)
{
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">="};
    static const char *const types[] = {"IS_NUMBER", "IS_STRING", "IS_BOOL", "IS_NULL",
                                        "IS_DEFINED"};
    uint32_t k = depth >= 3 ? rnd(8) : rnd(12);

    switch (k) {
    case 0:
    case 1:
        if (rnd(5) == 0) {
            add_lit(g, t, rand_scalar());
            add(t, " %s %s", ops[rnd(6)], rand_path(g));
        } else {
            add(t, "%s %s ", rand_path(g), ops[rnd(6)]);
            add_lit(g, t, rnd(12) ? rand_scalar() : rand_field());
        }
        break;
    case 2:
        add(t, "%s %sBETWEEN ", rand_path(g), rnd(5) ? "" : "NOT ");
        add_lit(g, t, rand_scalar());
        add(t, " AND ");
        add_lit(g, t, rand_scalar());
        break;
    case 3: {
        size_t n = 1 + rnd(3);

        add(t, "%s %sIN (", rand_path(g), rnd(6) ? "" : "NOT ");
        for (size_t i = 0; i < n; i++) {
            add(t, i ? ", " : "");
            add_lit(g, t, rand_scalar());
        }
        add(t, ")");
        break;
    }
    case 4:
        add(t, "STARTSWITH(%s, ", rand_path(g));
        add_lit(g, t, rnd(8) ? rand_str() : rand_scalar());
        add(t, "%s)", rnd(5) ? "" : rnd(2) ? ", true" : ", false");
        break;
    case 5:
        if (rnd(2)) {
            add(t, "ARRAY_CONTAINS(c.tags, ");
            add_lit(g, t, rand_scalar());
            add(t, ")");
        } else {
            static const char *const x[] = {"x"};
            struct value *v = alloc_vals(1);

            v[0] = rand_scalar();
            add(t, "ARRAY_CONTAINS(c.items, ");
            add_lit(g, t, rnd(2) ? make_map(x, v, 1) : v[0]);
            add(t, "%s)", rnd(2) ? ", true" : "");
        }
        break;
    case 6:
        if (rnd(2)) {
            add(t, "%s(%s)", types[rnd(5)], rand_path(g));
            break;
        }
        /* Two conditions on elements of one array: different elements may answer them. */
        add(t, "(ARRAY_CONTAINS(c.tags, ");
        add_lit(g, t, rand_scalar());
        if (g->join == 1 && rnd(2)) {
            add(t, ") AND t = ");
            add_lit(g, t, rand_scalar());
            add(t, ")");
        } else {
            add(t, ") %s ARRAY_CONTAINS(c.tags, ", rnd(4) ? "AND" : "OR");
            add_lit(g, t, rand_scalar());
            add(t, "))");
        }
        break;
    case 7:
        add(t, "%s = %s", rand_path(g), rand_path(g));
        break;
    case 8:
    case 9:
        add(t, "(");
        rand_pred(g, t, depth + 1);
        add(t, " AND ");
        rand_pred(g, t, depth + 1);
        add(t, ")");
        break;
    case 10:
        add(t, "(");
        rand_pred(g, t, depth + 1);
        add(t, " OR ");
        rand_pred(g, t, depth + 1);
        add(t, ")");
        break;
    default:
        add(t, "NOT (");
        rand_pred(g, t, depth + 1);
        add(t, ")");
        break;
    }
}

/* A conjunction over the paths of a composite index: each one restricted (equal, a range, a type
 * check), so that the index can serve, and sometimes an ORDER BY along its columns. */
static void composite_pred(struct gen *g, struct text *t, const struct composite_def *x,
                           struct text *order, struct text *sel, size_t *n_order)
{
    size_t n_eq = rnd((uint32_t)x->n + 1);
    bool flip = rnd(2);

    for (size_t j = 0; j < x->n; j++) {
        const char *p = x->paths[j].path[1] == 'o'   ? "c.o.p"
                        : x->paths[j].path[1] == 'a' ? "c.a"
                        : x->paths[j].path[1] == 'b' ? "c.b"
                                                     : "c.c";

        add(t, "%s", j ? " AND " : "");
        if (j < n_eq) {
            add(t, "%s = ", p);
            add_lit(g, t, rand_scalar());
        } else if (j > n_eq && rnd(4) == 0) {
            /* Not restricted to scalars: the index may miss documents that pass. */
            uint32_t u = rnd(3);

            if (u == 0) {
                add(t, "IS_DEFINED(%s)", p);
            } else if (u == 1) {
                add(t, "(%s > ", p);
                add_lit(g, t, rand_scalar());
                add(t, " OR c.id = \"d001\")");
            } else {
                add(t, "NOT (%s IN (", p);
                add_lit(g, t, rand_scalar());
                add(t, "))");
            }
        } else if (rnd(j == n_eq ? 2 : 3) == 0) {
            /* Several ranges on one column. */
            if (rnd(2)) {
                add(t, "%s != ", p);
                add_lit(g, t, rand_scalar());
            } else {
                add(t, "%s IN (0, \"b\", ", p);
                add_lit(g, t, rand_scalar());
                add(t, ")");
            }
        } else if (rnd(3)) {
            static const char *const ops[] = {"<", "<=", ">", ">="};

            add(t, "%s %s ", p, ops[rnd(4)]);
            add_lit(g, t, rand_scalar());
        } else {
            add(t, rnd(2) ? "IS_NUMBER(%s)" : "IS_STRING(%s)", p);
        }
        if (j >= n_eq && rnd(j == n_eq ? 4 : 2) && *n_order < 3) {
            bool desc = x->paths[j].desc != flip; /* the index's order, or all reversed */

            if (rnd(6) == 0)
                desc = !desc; /* mixed: the index cannot give this order */

            add(order, "%s%s %s", *n_order ? ", " : " ORDER BY ", p, desc ? "DESC" : "ASC");
            add(sel, "%s\"k%zu\": %s", *n_order ? ", " : "VALUE {", *n_order, p);
            (*n_order)++;
        }
    }
    if (rnd(3) == 0) {
        add(t, " AND ");
        rand_pred(g, t, 1);
    }
}

void gen_query(struct query *q, const struct indexing_policy *ix)
{
    static const char *const keys[] = {"c.a", "c.b", "c.c", "c.o.p"};
    struct gen *g = &q->g;
    struct text where = {{0}, 0}, order = {{0}, 0}, sel = {{0}, 0};
    const char *from, *row;
    bool distinct = rnd(6) == 0, top = rnd(5) == 0, offset = rnd(5) == 0;
    unsigned top_n = rnd(6), off = rnd(4), lim = rnd(6);

    memset(q, 0, sizeof *q);
    g->join = rnd(4) == 0 ? 1 + (int)rnd(2) : 0;
    from = g->join == 1   ? "FROM c JOIN t IN c.tags"
           : g->join == 2 ? "FROM c JOIN t IN c.items"
                          : "FROM c";
    row = g->join ? "[c.id, t]" : "c.id";
    if (ix->n_composite && rnd(3) == 0) {
        composite_pred(g, &where, &ix->composite[rnd((uint32_t)ix->n_composite)], &order, &sel,
                       &q->n_order);
        if (q->n_order)
            add(&sel, ", \"r\": %s}", row);
    } else {
        if (rnd(8))
            rand_pred(g, &where, 0);
        q->n_order = rnd(5) < 2 ? 1 + rnd(2) : 0;
        for (size_t i = 0; i < q->n_order; i++) {
            const char *k = g->n_used && rnd(2) ? g->used[rnd((uint32_t)g->n_used)] : keys[rnd(4)];

            add(&order, "%s%s %s", i ? ", " : " ORDER BY ", k, rnd(2) ? "ASC" : "DESC");
            add(&sel, "%s\"k%zu\": %s", i ? ", " : "VALUE {", i, k);
        }
        if (q->n_order)
            add(&sel, ", \"r\": %s}", row);
    }
    q->grouped = !q->n_order && rnd(8) == 0;
    if (q->grouped)
        add(&sel, rnd(2) ? "VALUE COUNT(1)" : "c.c AS k, COUNT(1) AS n, MIN(c.a) AS lo");
    else if (!q->n_order && !g->join && rnd(4) == 0)
        add(&sel, "*");
    else if (!q->n_order)
        add(&sel, "VALUE %s", row);
    if (q->grouped && sel.s[0] == 'c') {
        add(&order, " GROUP BY c.c");
        distinct = false;
    }
    for (int pass = 0; pass < 2; pass++) {
        struct text *t = pass ? &q->cut : &q->full;

        add(t, "SELECT %s", distinct ? "DISTINCT " : "");
        if (top && !pass)
            add(t, "TOP %u ", top_n);
        add(t, "%s %s%s%s%s", sel.s, from, where.n ? " WHERE " : "", where.s, order.s);
        if (offset && !pass)
            add(t, " OFFSET %u LIMIT %u", off, lim);
    }
}

/* ---- indexes ---- */

void gen_policy(struct policy *p)
{
    static const char *const ex[] = {"/a/?",          "/b/*", "/tags/*",   "/o/p/?",
                                     "/items/[]/x/?", "/c/?", "/tags/[]/?"};
    static const char *const in[] = {"/a/?",       "/b/?",          "/c/?",     "/o/*",
                                     "/tags/[]/?", "/items/[]/x/?", "/items/*", "/o/p/?"};
    static const char *const cp[] = {"/a", "/b", "/c", "/o/p"};
    uint32_t kind = rnd(8);

    memset(p, 0, sizeof *p);
    p->ix.automatic = kind != 7;
    p->ix.include = p->inc;
    p->ix.exclude = p->exc;
    if (kind >= 2 && kind < 5) {
        p->inc[p->ix.n_include++] = "/*";
        for (size_t i = 0; i < 7; i++)
            if (rnd(3) == 0)
                p->exc[p->ix.n_exclude++] = ex[i];
    } else if (kind >= 5 && kind < 7) {
        p->exc[p->ix.n_exclude++] = "/*";
        for (size_t i = 0; i < 8 && p->ix.n_include < 8; i++)
            if (rnd(2) == 0)
                p->inc[p->ix.n_include++] = in[i];
    }
    p->ix.composite = p->comp;
    p->ix.n_composite = rnd(3);
    for (size_t c = 0; c < p->ix.n_composite; c++) {
        size_t n = 2 + rnd(2);
        bool used[4] = {false, false, false, false};

        for (size_t j = 0; j < n; j++) {
            uint32_t k;

            do
                k = rnd(4);
            while (used[k]);
            used[k] = true;
            p->cpaths[c][j] = (struct composite_path){cp[k], rnd(2) == 0};
        }
        p->comp[c] = (struct composite_def){0, p->cpaths[c], n};
    }
}

void gen_print_policy(const struct policy *p)
{
    fprintf(stderr, "policy: automatic=%d include:", p->ix.automatic);
    for (size_t i = 0; i < p->ix.n_include; i++)
        fprintf(stderr, " %s", p->inc[i]);
    fprintf(stderr, " exclude:");
    for (size_t i = 0; i < p->ix.n_exclude; i++)
        fprintf(stderr, " %s", p->exc[i]);
    for (size_t c = 0; c < p->ix.n_composite; c++) {
        fprintf(stderr, " composite#%zu(", c);
        for (size_t j = 0; j < p->comp[c].n; j++)
            fprintf(stderr, "%s%s %s", j ? ", " : "", p->cpaths[c][j].path,
                    p->cpaths[c][j].desc ? "DESC" : "ASC");
        fprintf(stderr, ")");
    }
    fprintf(stderr, "\n");
}

/* ---- running and comparing ---- */

int gen_all_next(void *ctx, const struct value **doc)
{
    struct all_src *s = ctx;

    if (s->i == s->n)
        return 0;
    *doc = &s->docs[s->i++];
    return 1;
}

int gen_order_eq(const struct value *a, const struct value *b)
{
    if (!a || !b)
        return !a && !b;
    return value_compare(a, b) == 0;
}

/* Every row of p is among those of full, each used once. */
bool gen_submultiset(const struct value *p, size_t np, const struct value *full, size_t nf)
{
    bool *used = calloc(nf + 1, sizeof *used);
    bool ok = true;

    for (size_t i = 0; i < np && ok; i++) {
        size_t j;

        for (j = 0; j < nf; j++)
            if (!used[j] && value_equal(&p[i], &full[j]))
                break;
        ok = j < nf;
        if (ok)
            used[j] = true;
    }
    free(used);
    return ok;
}

void gen_show_rows(const char *what, const struct value *v, size_t n)
{
    fprintf(stderr, "%s (%zu):", what, n);
    for (size_t i = 0; i < n && i < 40; i++) {
        struct text t = {{0}, 0};

        gen_add_value(&t, &v[i]);
        fprintf(stderr, " %s", t.s);
    }
    fprintf(stderr, "\n");
}