/*
 * The in-memory collection (sql_memcoll.h). Written apart from the planner, from storage's
 * documented rules: its own pattern matcher, its own range test, its own entry walk.
 */
#include "sql_memcoll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_DEPTH 16

struct mc_seg {
    const char *name;
    size_t len;
    bool elements;
};

struct mc_path {
    struct mc_seg segs[MC_DEPTH];
    size_t n;
};

struct mc_entry {
    size_t path, doc;
    const struct value *v;
};

struct mc_centry {
    const struct value **vals;
    size_t doc;
};

struct mc_comp {
    struct mc_path *paths;
    struct mc_centry *e;
    size_t n;
};

/* ---- patterns: "/a/b/?", "/a/\*", "/\*", "/tags/[]/?" (plain names only) ---- */

static bool parse(const char *t, struct mc_path *p, char *tail)
{
    const char *s = t;

    p->n = 0;
    *tail = 0;
    if (*s != '/')
        return false;
    while (*s == '/') {
        const char *e = strchr(s + 1, '/');
        size_t len = e ? (size_t)(e - s - 1) : strlen(s + 1);

        if (len == 0 || *tail || p->n == MC_DEPTH)
            return false;
        if (!e && len == 1 && (s[1] == '?' || s[1] == '*')) {
            *tail = s[1];
            break;
        }
        p->segs[p->n].name = s + 1;
        p->segs[p->n].len = len;
        p->segs[p->n].elements = len == 2 && !memcmp(s + 1, "[]", 2);
        p->n++;
        s += 1 + len;
    }
    return true;
}

static bool seg_eq(const struct mc_seg *a, const struct mc_seg *b)
{
    return a->elements == b->elements &&
           (a->elements || (a->len == b->len && !memcmp(a->name, b->name, a->len)));
}

static bool selected(const struct indexing_policy *ix, const struct mc_seg *segs, size_t n)
{
    int best = -1;
    bool inc = false;

    if (!ix->automatic)
        return false;
    if (ix->n_include + ix->n_exclude == 0)
        return true;
    for (size_t i = 0; i < ix->n_include + ix->n_exclude; i++) {
        bool include = i < ix->n_include;
        struct mc_path p;
        char tail;
        int prec;
        bool match;

        if (!parse(include ? ix->include[i] : ix->exclude[i - ix->n_include], &p, &tail))
            continue;
        prec = 2 * (int)p.n + (tail == '?');
        match = tail == '?' ? p.n == n : p.n <= n;
        for (size_t j = 0; match && j < p.n; j++)
            match = seg_eq(&p.segs[j], &segs[j]);
        if (match && (prec > best || (prec == best && !include))) {
            best = prec;
            inc = include;
        }
    }
    return inc;
}

bool memcoll_indexed(const struct memcoll *m, const struct doc_seg *segs, size_t n)
{
    struct mc_seg s[MC_DEPTH];

    if (n == 0 || n > MC_DEPTH)
        return false;
    for (size_t i = 0; i < n; i++)
        s[i] = (struct mc_seg){segs[i].name, segs[i].len, segs[i].kind == SEG_ELEMENTS};
    return selected(m->ix, s, n);
}

/* ---- entries ---- */

static bool is_scalar(const struct value *v)
{
    return v->type != VT_ARRAY && v->type != VT_MAP && v->type != VT_SS && v->type != VT_NS &&
           v->type != VT_BS;
}

static size_t path_id(struct memcoll *m, const struct mc_seg *segs, size_t n)
{
    for (size_t i = 0; i < m->n_paths; i++) {
        bool same = m->paths[i].n == n;

        for (size_t j = 0; same && j < n; j++)
            same = seg_eq(&m->paths[i].segs[j], &segs[j]);
        if (same)
            return i;
    }
    if (m->n_paths == m->cap_paths) {
        m->cap_paths = m->cap_paths ? 2 * m->cap_paths : 16;
        m->paths = realloc(m->paths, m->cap_paths * sizeof *m->paths);
    }
    m->paths[m->n_paths].n = n;
    memcpy(m->paths[m->n_paths].segs, segs, n * sizeof *segs);
    return m->n_paths++;
}

static void walk(struct memcoll *m, size_t doc, const struct value *v, struct mc_seg *segs,
                 size_t n)
{
    if (is_scalar(v)) {
        if (n && selected(m->ix, segs, n)) {
            if (m->n_ents == m->cap_ents) {
                m->cap_ents = m->cap_ents ? 2 * m->cap_ents : 256;
                m->ents = realloc(m->ents, m->cap_ents * sizeof *m->ents);
            }
            m->ents[m->n_ents++] = (struct mc_entry){path_id(m, segs, n), doc, v};
        }
        return;
    }
    if (n == MC_DEPTH)
        return;
    if (v->type == VT_ARRAY) {
        segs[n] = (struct mc_seg){NULL, 0, true};
        for (size_t i = 0; i < v->u.arr.n; i++)
            walk(m, doc, &v->u.arr.items[i], segs, n + 1);
    } else if (v->type == VT_MAP) {
        for (size_t i = 0; i < v->u.map.n; i++) {
            segs[n] = (struct mc_seg){v->u.map.fields[i].name, v->u.map.fields[i].name_len, false};
            walk(m, doc, v->u.map.fields[i].value, segs, n + 1);
        }
    }
}

static int ent_cmp(const void *pa, const void *pb)
{
    const struct mc_entry *a = pa, *b = pb;
    int c;

    if (a->path != b->path)
        return a->path < b->path ? -1 : 1;
    if ((c = value_compare(a->v, b->v)) != 0)
        return c;
    return (a->doc > b->doc) - (a->doc < b->doc);
}

static const struct composite_def *sort_ix; /* qsort has no context */

static int centry_cmp(const void *pa, const void *pb)
{
    const struct mc_centry *a = pa, *b = pb;

    for (size_t i = 0; i < sort_ix->n; i++) {
        int c = value_compare(a->vals[i], b->vals[i]);

        if (c)
            return sort_ix->paths[i].desc ? -c : c;
    }
    return (a->doc > b->doc) - (a->doc < b->doc);
}

static const struct value *value_at(const struct value *v, const struct mc_path *p)
{
    for (size_t i = 0; v && i < p->n; i++)
        v = v->type == VT_MAP ? value_map_get(v, p->segs[i].name, p->segs[i].len) : NULL;
    return v;
}

int memcoll_init(struct memcoll *m, const struct value *docs, size_t n,
                 const struct indexing_policy *ix, char *err, size_t cap)
{
    struct mc_seg segs[MC_DEPTH];

    memset(m, 0, sizeof *m);
    m->docs = docs;
    m->n_docs = n;
    m->ix = ix;
    cr_arena_init(&m->a, 4096);
    for (size_t i = 0; i < n; i++)
        walk(m, i, &docs[i], segs, 0);
    if (m->n_ents)
        qsort(m->ents, m->n_ents, sizeof *m->ents, ent_cmp);
    m->comp = cr_arena_calloc(&m->a, (ix->n_composite + 1) * sizeof *m->comp);
    for (size_t c = 0; c < ix->n_composite; c++) {
        const struct composite_def *x = &ix->composite[c];
        struct mc_comp *mc = &m->comp[c];

        mc->paths = cr_arena_alloc(&m->a, x->n * sizeof *mc->paths);
        mc->e = cr_arena_alloc(&m->a, (n + 1) * sizeof *mc->e);
        for (size_t j = 0; j < x->n; j++) {
            char tail;

            if (!parse(x->paths[j].path, &mc->paths[j], &tail) || tail) {
                snprintf(err, cap, "bad composite path %s", x->paths[j].path);
                memcoll_close(m);
                return -1;
            }
        }
        for (size_t d = 0; d < n; d++) {
            const struct value **vals = cr_arena_alloc(&m->a, x->n * sizeof *vals);
            bool all = true;

            for (size_t j = 0; j < x->n && all; j++)
                all = (vals[j] = value_at(&docs[d], &mc->paths[j])) && is_scalar(vals[j]);
            if (all)
                mc->e[mc->n++] = (struct mc_centry){vals, d};
        }
        sort_ix = x;
        qsort(mc->e, mc->n, sizeof *mc->e, centry_cmp);
    }
    return 0;
}

void memcoll_close(struct memcoll *m)
{
    free(m->paths);
    free(m->ents);
    cr_arena_free(&m->a);
    memset(m, 0, sizeof *m);
}

/* ---- scans ---- */

static bool in_range(const struct sql_range *r, const struct value *v)
{
    int c;

    if (!is_scalar(v) || value_rank(v->type) != r->rank)
        return false;
    if (r->lo.kind != SQL_OPEN &&
        ((c = value_compare(v, &r->lo.v)) < 0 || (c == 0 && r->lo.kind == SQL_EXCL)))
        return false;
    if (r->hi.kind != SQL_OPEN &&
        ((c = value_compare(v, &r->hi.v)) > 0 || (c == 0 && r->hi.kind == SQL_EXCL)))
        return false;
    return true;
}

static void push(struct memcoll_scan *s, size_t doc, bool *seen)
{
    if (seen) {
        if (seen[doc])
            return;
        seen[doc] = true;
    }
    s->docs[s->n++] = doc;
}

int memcoll_scan_init(struct memcoll_scan *s, const struct memcoll *m, const struct sql_plan *p,
                      char *err, size_t cap)
{
    size_t max = m->n_ents + m->n_docs + 1;
    bool *seen = NULL;

    memset(s, 0, sizeof *s);
    s->m = m;
    switch (p->access) {
    case SQL_EMPTY:
        return 0;
    case SQL_FULL_SCAN:
        s->docs = malloc((m->n_docs + 1) * sizeof *s->docs);
        for (size_t i = 0; i < m->n_docs; i++)
            s->docs[s->n++] = i;
        return 0;
    case SQL_INDEX_SCAN: {
        struct mc_seg segs[MC_DEPTH];
        size_t lo = 0, hi, pid = SIZE_MAX;

        if (!memcoll_indexed(m, p->path.segs, p->path.n)) {
            snprintf(err, cap, "the plan reads %s, which the policy does not index", p->path.text);
            return -1;
        }
        if (p->n_ranges == 0) {
            snprintf(err, cap, "an index scan without ranges");
            return -1;
        }
        for (size_t i = 0; i < p->path.n; i++)
            segs[i] = (struct mc_seg){p->path.segs[i].name, p->path.segs[i].len,
                                      p->path.segs[i].kind == SEG_ELEMENTS};
        for (size_t i = 0; i < m->n_paths && pid == SIZE_MAX; i++) {
            bool same = m->paths[i].n == p->path.n;

            for (size_t j = 0; same && j < p->path.n; j++)
                same = seg_eq(&m->paths[i].segs[j], &segs[j]);
            if (same)
                pid = i;
        }
        s->docs = malloc(max * sizeof *s->docs);
        if (p->dedup)
            seen = calloc(m->n_docs + 1, sizeof *seen);
        while (lo < m->n_ents && m->ents[lo].path != pid)
            lo++;
        for (hi = lo; hi < m->n_ents && m->ents[hi].path == pid; hi++)
            ;
        for (size_t r = 0; r < p->n_ranges; r++)
            for (size_t k = 0; k < hi - lo; k++) {
                const struct mc_entry *e = &m->ents[p->reverse ? hi - 1 - k : lo + k];

                s->entries++;
                if (in_range(&p->ranges[r], e->v))
                    push(s, e->doc, seen);
            }
        free(seen);
        return 0;
    }
    case SQL_COMPOSITE: {
        const struct mc_comp *c;
        size_t passes = p->n_ranges ? p->n_ranges : 1;

        if (p->composite >= m->ix->n_composite || p->n_eq > m->ix->composite[p->composite].n ||
            (p->n_ranges && p->n_eq >= m->ix->composite[p->composite].n)) {
            snprintf(err, cap, "a composite scan beyond the index");
            return -1;
        }
        c = &m->comp[p->composite];
        s->docs = malloc(max * sizeof *s->docs);
        for (size_t r = 0; r < passes; r++)
            for (size_t k = 0; k < c->n; k++) {
                const struct mc_centry *e = &c->e[p->reverse ? c->n - 1 - k : k];
                bool ok = true;

                s->entries++;
                for (size_t j = 0; j < p->n_eq && ok; j++)
                    ok = value_compare(e->vals[j], &p->eq[j]) == 0;
                if (ok && p->n_ranges)
                    ok = in_range(&p->ranges[r], e->vals[p->n_eq]);
                if (ok)
                    push(s, e->doc, NULL);
            }
        return 0;
    }
    }
    return -1;
}

void memcoll_scan_close(struct memcoll_scan *s)
{
    free(s->docs);
    memset(s, 0, sizeof *s);
}

static int scan_next(void *ctx, const struct value **doc)
{
    struct memcoll_scan *s = ctx;

    if (s->pos == s->n)
        return 0;
    *doc = &s->m->docs[s->docs[s->pos++]];
    return 1;
}

int memcoll_exec(struct memcoll_scan *s, const struct sql_plan *p, const struct sql_query *q,
                 const struct sql_param *params, size_t n_params, struct cr_arena *a,
                 struct value **out, size_t *n, struct sql_err *err)
{
    struct sql_source src = {s, scan_next};
    struct sql_run r;
    const struct value *row;
    size_t k = 0, cap = 16;
    struct value *v = cr_arena_alloc(a, cap * sizeof *v);
    int rc;

    if ((rc = sql_run_init(&r, q, params, n_params, &src, 0, err)) < 0)
        return rc;
    if (p->ordered)
        sql_run_set_ordered(&r);
    while ((rc = sql_run_next(&r, &row, err)) == 1) {
        if (k == cap) {
            struct value *nv = cr_arena_alloc(a, 2 * cap * sizeof *nv);

            memcpy(nv, v, k * sizeof *v);
            v = nv;
            cap *= 2;
        }
        if ((rc = value_clone(row, a, &v[k++])) < 0)
            break;
    }
    sql_run_close(&r);
    *out = v;
    *n = k;
    return rc < 0 ? rc : 0;
}
