/*
 * The in-memory executor: pulls documents from the caller's source, expands JOINs (the cross
 * product of each document with the elements of the joined arrays), filters with WHERE, then
 * either streams projected rows (no ORDER BY, GROUP BY, DISTINCT or aggregates) or buffers them
 * to group, sort and de-duplicate, and finally applies OFFSET, LIMIT and TOP.
 *
 * Memory: three arenas. `doc` lives while one document is being joined (JOIN sources computed
 * from it), `row` while one candidate row is evaluated and returned, `run` for everything a
 * buffered run keeps (rows, sort keys, groups: deep copies). A streaming run therefore holds only
 * one document's worth of memory at a time.
 *
 * It never decides which documents to read: that is the planner's job (sql_plan.c); this is the
 * scan-filter-sort evaluator plans are checked against. A run told its source is ordered (the
 * plan's index order is the ORDER BY order) skips the sort.
 */
#include "query/sql_int.h"
#include "common/error.h"

#include <math.h>
#include <string.h>

struct sql_row {
    const struct value *val;   /* the projected result (never undefined) */
    const struct value **keys; /* ORDER BY values, NULL entries undefined */
    size_t seq;                /* arrival order: ties keep it */
};

struct agg_state {
    uint64_t count;
    double sum;
    bool bad; /* SUM, AVG: a non-number; MIN, MAX: an array or object */
    const struct value *best;
};

struct sql_group {
    const struct value **keys; /* GROUP BY values */
    struct agg_state *aggs;
};

static void env_init(struct sql_run *r, struct sql_env *env, struct cr_arena *a)
{
    memset(env, 0, sizeof *env);
    env->bind = r->bind;
    env->params = r->params;
    env->a = a;
    env->work = &r->work;
    env->budget = r->budget;
}

static int tick(struct sql_run *r)
{
    return ++r->work > r->budget ? CR_EBUDGET : 0;
}

static int run_error(struct sql_run *r, int rc, struct sql_err *err)
{
    if (err->code)
        return rc;
    if (rc == CR_EBUDGET && r->held > SQL_MAX_HELD)
        return sql_fail(err, rc, 0, 0,
                        "query holds more than %u MiB of rows to sort, group or deduplicate: "
                        "narrow WHERE, or index the ORDER BY path",
                        SQL_MAX_HELD >> 20);
    if (rc == CR_EBUDGET)
        return sql_fail(err, rc, 0, 0, "query exceeded its budget of %llu work units",
                        (unsigned long long)r->budget);
    if (rc == CR_ENOMEM)
        return sql_fail(err, rc, 0, 0, "%s", cr_strerror(rc));
    return sql_fail(err, rc, 0, 0, "document source failed: %s", cr_strerror(rc));
}

/* ---- TOP, OFFSET, LIMIT ---- */

static int count_of(struct sql_run *r, const struct sql_expr *e, const char *what, uint64_t *n,
                    struct sql_err *err)
{
    struct sql_env env;
    const struct value *v;
    double d;
    int rc;

    env_init(r, &env, &r->run);
    if ((rc = sql_eval(e, &env, &v)) < 0)
        return run_error(r, rc, err);
    d = v && sql_type_of(v) == SQT_NUMBER ? sql_to_double(v) : -1;
    if (!(d >= 0 && d == trunc(d) && d <= 9007199254740992.0))
        return sql_fail(err, CR_EINVAL, e->line, e->col,
                        "%s at %u:%u must be a non-negative integer", what, e->line, e->col);
    *n = (uint64_t)d;
    return 0;
}

int sql_run_init(struct sql_run *r, const struct sql_query *q, const struct sql_param *params,
                 size_t n_params, const struct sql_source *src, uint64_t budget,
                 struct sql_err *err)
{
    size_t nb = q->n_joins + 1;
    uint64_t n;
    int rc;

    memset(err, 0, sizeof *err);
    memset(r, 0, sizeof *r);
    if (n_params > SQL_MAX_PARAMS)
        return sql_fail(err, CR_ETOOMANY, 0, 0, "%zu parameters, more than %d", n_params,
                        SQL_MAX_PARAMS);
    r->q = q;
    r->src = *src;
    r->budget = budget ? budget : SQL_DEFAULT_BUDGET;
    r->depth = -1;
    r->take = UINT64_MAX;
    r->buffered = q->grouped || q->n_order || q->distinct;
    cr_arena_init(&r->run, 4096);
    cr_arena_init(&r->doc, 4096);
    cr_arena_init(&r->row, 4096);
    r->params = cr_arena_calloc(&r->run, (q->n_params ? q->n_params : 1) * sizeof *r->params);
    r->bind = cr_arena_calloc(&r->run, nb * sizeof *r->bind);
    r->join_pos = cr_arena_calloc(&r->run, nb * sizeof *r->join_pos);
    r->join_src = cr_arena_calloc(&r->run, nb * sizeof *r->join_src);
    if (!r->params || !r->bind || !r->join_pos || !r->join_src) {
        rc = run_error(r, CR_ENOMEM, err);
        goto fail;
    }
    for (size_t i = 0; i < q->n_params; i++) {
        size_t k;

        for (k = 0; k < n_params; k++)
            if (params[k].name_len == q->params[i].len &&
                !memcmp(params[k].name, q->params[i].name, q->params[i].len))
                break;
        if (k == n_params || !params[k].value) {
            rc = sql_fail(err, CR_EINVAL, 0, 0, "parameter %.*s is not defined",
                          q->params[i].len > 40 ? 40 : (int)q->params[i].len, q->params[i].name);
            goto fail;
        }
        r->params[i] = params[k].value;
    }
    if (q->top) {
        if ((rc = count_of(r, q->top, "TOP", &n, err)) < 0)
            goto fail;
        r->take = n;
    }
    if (q->offset) {
        if ((rc = count_of(r, q->offset, "OFFSET", &r->skip, err)) < 0 ||
            (rc = count_of(r, q->limit, "LIMIT", &n, err)) < 0)
            goto fail;
        if (n < r->take)
            r->take = n;
    }
    return 0;
fail:
    sql_run_close(r);
    return rc;
}

void sql_run_set_ordered(struct sql_run *r)
{
    /* No sort: the run streams unless grouping or DISTINCT must see every row. */
    r->ordered = true;
    r->buffered = r->q->grouped || r->q->distinct;
}

void sql_run_close(struct sql_run *r)
{
    cr_arena_free(&r->run);
    cr_arena_free(&r->doc);
    cr_arena_free(&r->row);
    r->done = true;
}

/* ---- rows: documents times JOIN elements, filtered ---- */

static int setup_join(struct sql_run *r, size_t k)
{
    struct sql_env env;
    const struct value *v;
    int rc;

    env_init(r, &env, &r->doc);
    if ((rc = sql_eval(r->q->joins[k].src, &env, &v)) < 0)
        return rc;
    r->join_src[k] = sql_type_of(v) == SQT_ARRAY ? v : NULL;
    r->join_pos[k] = 0;
    return 0;
}

/* Binds the next row that passes WHERE: 1, 0 at the end, or an error. The row arena is reset and
 * holds WHERE's values. */
static int next_row(struct sql_run *r)
{
    const struct sql_query *q = r->q;
    int nj = (int)q->n_joins, rc;

    for (;;) {
        if (r->depth < 0) {
            const struct value *doc;

            cr_arena_reset(&r->doc);
            if ((rc = r->src.next(r->src.ctx, &doc)) <= 0)
                return rc;
            if ((rc = tick(r)) < 0)
                return rc;
            r->bind[0] = doc;
            r->depth = 0;
            if (nj && (rc = setup_join(r, 0)) < 0)
                return rc;
        } else if (r->depth == nj) {
            struct sql_env env;
            const struct value *w;

            r->depth = nj - 1;
            cr_arena_reset(&r->row);
            if (!q->where)
                return 1;
            env_init(r, &env, &r->row);
            if ((rc = sql_eval(q->where, &env, &w)) < 0)
                return rc;
            if (w && w->type == VT_BOOL && w->u.b)
                return 1;
        } else {
            size_t k = (size_t)r->depth;
            const struct value *src = r->join_src[k];

            if (src && r->join_pos[k] < src->u.arr.n) {
                if ((rc = tick(r)) < 0)
                    return rc;
                r->bind[k + 1] = &src->u.arr.items[r->join_pos[k]++];
                r->depth++;
                if (r->depth < nj && (rc = setup_join(r, (size_t)r->depth)) < 0)
                    return rc;
            } else {
                r->depth--;
            }
        }
    }
}

/* The SELECT list over the bound row (or a group, when env has group values). *out NULL: the
 * row has no result (SELECT VALUE of undefined). */
static int project(struct sql_run *r, struct sql_env *env, const struct value **out)
{
    const struct sql_query *q = r->q;
    struct value_field *f;
    struct value *m;
    size_t k = 0;
    int rc;

    if (q->sel == SQL_SEL_STAR) {
        *out = r->bind[0];
        return 0;
    }
    if (q->sel == SQL_SEL_VALUE)
        return sql_eval(q->items[0].e, env, out);
    f = cr_arena_alloc(env->a, q->n_items * sizeof *f);
    m = cr_arena_alloc(env->a, sizeof *m);
    if (!f || !m)
        return CR_ENOMEM;
    for (size_t i = 0; i < q->n_items; i++) {
        const struct value *v;

        if ((rc = sql_eval(q->items[i].e, env, &v)) < 0)
            return rc;
        if (!v)
            continue;
        f[k].name = q->items[i].name;
        f[k].name_len = q->items[i].name_len;
        f[k].value = (struct value *)v;
        k++;
    }
    m->type = VT_MAP;
    m->u.map.fields = f;
    m->u.map.n = k;
    *out = m;
    return 0;
}

/* ---- buffering ---- */

static int clone(struct sql_run *r, const struct value *v, const struct value **out)
{
    struct value *c;
    int rc;

    if (!v) {
        *out = NULL;
        return 0;
    }
    r->held += value_ddb_size(v);
    if (r->held > SQL_MAX_HELD)
        return CR_EBUDGET;
    if (!(c = cr_arena_alloc(&r->run, sizeof *c)))
        return CR_ENOMEM;
    if ((rc = value_clone(v, &r->run, c)) < 0)
        return rc;
    *out = c;
    return 0;
}

static int push_row(struct sql_run *r, const struct value *v, const struct value **keys)
{
    if (r->n_rows == r->cap_rows) {
        size_t cap = r->cap_rows ? r->cap_rows * 2 : 64;
        struct sql_row *nr = cr_arena_alloc(&r->run, cap * sizeof *nr);

        if (!nr)
            return CR_ENOMEM;
        if (r->n_rows)
            memcpy(nr, r->rows, r->n_rows * sizeof *nr);
        r->rows = nr;
        r->cap_rows = cap;
    }
    r->rows[r->n_rows].val = v;
    r->rows[r->n_rows].keys = keys;
    r->rows[r->n_rows].seq = r->n_rows;
    r->n_rows++;
    return 0;
}

static int load_rows(struct sql_run *r)
{
    const struct sql_query *q = r->q;
    int rc;

    while ((rc = next_row(r)) == 1) {
        struct sql_env env;
        const struct value *v, **keys = NULL;

        env_init(r, &env, &r->row);
        if ((rc = project(r, &env, &v)) < 0)
            return rc;
        if (!v)
            continue;
        if (q->n_order && !(keys = cr_arena_alloc(&r->run, q->n_order * sizeof *keys)))
            return CR_ENOMEM;
        for (size_t i = 0; i < q->n_order; i++) {
            const struct value *k;

            if ((rc = sql_eval(q->order[i].e, &env, &k)) < 0 || (rc = clone(r, k, &keys[i])) < 0)
                return rc;
        }
        if ((rc = clone(r, v, &v)) < 0 || (rc = push_row(r, v, keys)) < 0)
            return rc;
    }
    return rc;
}

/* GROUP BY keys are equal when both are undefined or value_compare says so. */
static int keys_compare(const struct value *const *a, const struct value *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = sql_order_compare(a[i], b[i]);

        if (c)
            return c;
    }
    return 0;
}

/* The group for these keys, created when new. Groups are kept sorted by their keys. */
static int find_group(struct sql_run *r, const struct value **keys, struct sql_group **out)
{
    const struct sql_query *q = r->q;
    size_t lo = 0, hi = r->n_groups;
    struct sql_group *g;
    int rc;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = keys_compare(keys, r->groups[mid].keys, q->n_group);

        if ((rc = tick(r)) < 0)
            return rc;
        if (c == 0) {
            *out = &r->groups[mid];
            return 0;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (r->n_groups == r->cap_groups) {
        size_t cap = r->cap_groups ? r->cap_groups * 2 : 16;
        struct sql_group *ng = cr_arena_alloc(&r->run, cap * sizeof *ng);

        if (!ng)
            return CR_ENOMEM;
        if (r->n_groups)
            memcpy(ng, r->groups, r->n_groups * sizeof *ng);
        r->groups = ng;
        r->cap_groups = cap;
    }
    memmove(&r->groups[lo + 1], &r->groups[lo], (r->n_groups - lo) * sizeof *r->groups);
    r->n_groups++;
    g = &r->groups[lo];
    g->keys = cr_arena_alloc(&r->run, (q->n_group ? q->n_group : 1) * sizeof *g->keys);
    g->aggs = cr_arena_calloc(&r->run, (q->n_aggs ? q->n_aggs : 1) * sizeof *g->aggs);
    if (!g->keys || !g->aggs)
        return CR_ENOMEM;
    for (size_t i = 0; i < q->n_group; i++)
        if ((rc = clone(r, keys[i], &g->keys[i])) < 0)
            return rc;
    *out = g;
    return 0;
}

static int agg_update(struct sql_run *r, int kind, struct agg_state *s, const struct value *v)
{
    enum sql_type t = sql_type_of(v);
    int c;

    if (t == SQT_UNDEFINED)
        return 0;
    switch (kind) {
    case SA_COUNT:
        s->count++;
        return 0;
    case SA_SUM:
    case SA_AVG:
        if (t != SQT_NUMBER) {
            s->bad = true;
            return 0;
        }
        s->sum += sql_to_double(v);
        s->count++;
        return 0;
    default:
        if (t == SQT_ARRAY || t == SQT_OBJECT) {
            s->bad = true;
            return 0;
        }
        if (s->best) {
            c = value_compare(v, s->best);
            if (kind == SA_MIN ? c >= 0 : c <= 0)
                return 0;
        }
        return clone(r, v, &s->best);
    }
}

static int agg_final(struct sql_env *env, int kind, const struct agg_state *s,
                     const struct value **out)
{
    double d;
    struct value *v;

    *out = NULL;
    switch (kind) {
    case SA_COUNT:
        d = (double)s->count;
        break;
    case SA_SUM:
        if (s->bad)
            return 0;
        d = s->sum;
        break;
    case SA_AVG:
        if (s->bad || !s->count)
            return 0;
        d = s->sum / (double)s->count;
        break;
    default:
        *out = s->bad ? NULL : s->best;
        return 0;
    }
    if (!isfinite(d))
        return 0;
    if (!(v = cr_arena_alloc(env->a, sizeof *v)))
        return CR_ENOMEM;
    *v = sql_number(d);
    *out = v;
    return 0;
}

static int load_groups(struct sql_run *r)
{
    const struct sql_query *q = r->q;
    const struct value **keys = NULL, **aggv;
    struct sql_group *g;
    int rc;

    if (q->n_group && !(keys = cr_arena_alloc(&r->run, q->n_group * sizeof *keys)))
        return CR_ENOMEM;
    /* Aggregates without GROUP BY: one group, even over no rows. */
    if (!q->n_group && (rc = find_group(r, keys, &g)) < 0)
        return rc;
    while ((rc = next_row(r)) == 1) {
        struct sql_env env;

        env_init(r, &env, &r->row);
        for (size_t i = 0; i < q->n_group; i++)
            if ((rc = sql_eval(q->group[i], &env, &keys[i])) < 0)
                return rc;
        if ((rc = find_group(r, keys, &g)) < 0)
            return rc;
        for (size_t i = 0; i < q->n_aggs; i++) {
            const struct value *v;

            if ((rc = sql_eval(q->aggs[i]->a, &env, &v)) < 0 ||
                (rc = agg_update(r, q->aggs[i]->op, &g->aggs[i], v)) < 0)
                return rc;
        }
    }
    if (rc < 0)
        return rc;
    if (!(aggv = cr_arena_alloc(&r->run, (q->n_aggs ? q->n_aggs : 1) * sizeof *aggv)))
        return CR_ENOMEM;
    for (size_t gi = 0; gi < r->n_groups; gi++) {
        struct sql_env env;
        const struct value *v;

        g = &r->groups[gi];
        cr_arena_reset(&r->row);
        env_init(r, &env, &r->row);
        env.group_keys = g->keys;
        env.agg_vals = aggv;
        for (size_t i = 0; i < q->n_aggs; i++)
            if ((rc = agg_final(&env, q->aggs[i]->op, &g->aggs[i], &aggv[i])) < 0)
                return rc;
        if ((rc = project(r, &env, &v)) < 0)
            return rc;
        if (v && ((rc = clone(r, v, &v)) < 0 || (rc = push_row(r, v, NULL)) < 0))
            return rc;
    }
    return 0;
}

/* ---- sorting and DISTINCT ---- */

struct sorter {
    struct sql_run *r;
    int (*cmp)(const struct sorter *s, const struct sql_row *a, const struct sql_row *b);
    int rc;
};

static int order_cmp(const struct sorter *s, const struct sql_row *a, const struct sql_row *b)
{
    const struct sql_query *q = s->r->q;

    for (size_t i = 0; i < q->n_order; i++) {
        int c = sql_order_compare(a->keys[i], b->keys[i]);

        if (c)
            return q->order[i].desc ? -c : c;
    }
    return 0;
}

static int value_cmp(const struct sorter *s, const struct sql_row *a, const struct sql_row *b)
{
    (void)s;
    return value_compare(a->val, b->val);
}

/* Stable merge sort; one work unit per comparison. */
static void merge_sort(struct sorter *s, struct sql_row *v, struct sql_row *tmp, size_t n)
{
    size_t mid = n / 2, i = 0, j = mid, k = 0;

    if (n < 2 || s->rc)
        return;
    merge_sort(s, v, tmp, mid);
    merge_sort(s, v + mid, tmp, n - mid);
    while (i < mid && j < n) {
        int c;

        if (!s->rc && tick(s->r) < 0)
            s->rc = CR_EBUDGET;
        c = s->rc ? 0 : s->cmp(s, &v[j], &v[i]);
        if (c < 0 || (c == 0 && v[j].seq < v[i].seq))
            tmp[k++] = v[j++];
        else
            tmp[k++] = v[i++];
    }
    while (i < mid)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int sort_rows(struct sql_run *r, struct sql_row *v, size_t n,
                     int (*cmp)(const struct sorter *, const struct sql_row *,
                                const struct sql_row *))
{
    struct sorter s = {r, cmp, 0};
    struct sql_row *tmp;

    if (n < 2)
        return 0;
    if (!(tmp = cr_arena_alloc(&r->run, n * sizeof *tmp)))
        return CR_ENOMEM;
    merge_sort(&s, v, tmp, n);
    return s.rc;
}

/* Keeps the first of every run of equal results, in the current order. */
static int distinct(struct sql_run *r)
{
    struct sql_row *by_val;
    bool *drop;
    size_t k = 0;
    int rc;

    if (r->n_rows < 2)
        return 0;
    by_val = cr_arena_alloc(&r->run, r->n_rows * sizeof *by_val);
    drop = cr_arena_calloc(&r->run, r->n_rows * sizeof *drop);
    if (!by_val || !drop)
        return CR_ENOMEM;
    for (size_t i = 0; i < r->n_rows; i++) {
        by_val[i] = r->rows[i];
        by_val[i].seq = i; /* position in the current order */
    }
    if ((rc = sort_rows(r, by_val, r->n_rows, value_cmp)) < 0)
        return rc;
    for (size_t i = 1; i < r->n_rows; i++)
        if (value_equal(by_val[i].val, by_val[i - 1].val))
            drop[by_val[i].seq] = true;
    for (size_t i = 0; i < r->n_rows; i++)
        if (!drop[i])
            r->rows[k++] = r->rows[i];
    r->n_rows = k;
    return 0;
}

static int load(struct sql_run *r)
{
    int rc = r->q->grouped ? load_groups(r) : load_rows(r);

    if (rc < 0)
        return rc;
    if (r->q->n_order && !r->ordered && (rc = sort_rows(r, r->rows, r->n_rows, order_cmp)) < 0)
        return rc;
    return r->q->distinct ? distinct(r) : 0;
}

int sql_run_next(struct sql_run *r, const struct value **out, struct sql_err *err)
{
    int rc;

    memset(err, 0, sizeof *err);
    if (r->done)
        return 0;
    if (r->buffered && !r->loaded) {
        if ((rc = load(r)) < 0) {
            r->done = true;
            return run_error(r, rc, err);
        }
        r->loaded = true;
    }
    for (;;) {
        const struct value *v;

        if (r->take == 0)
            break;
        if (r->buffered) {
            if (r->pos == r->n_rows)
                break;
            v = r->rows[r->pos++].val;
        } else {
            struct sql_env env;

            if ((rc = next_row(r)) < 0) {
                r->done = true;
                return run_error(r, rc, err);
            }
            if (rc == 0)
                break;
            env_init(r, &env, &r->row);
            if ((rc = project(r, &env, &v)) < 0) {
                r->done = true;
                return run_error(r, rc, err);
            }
            if (!v)
                continue;
        }
        if (r->skip) {
            r->skip--;
            continue;
        }
        r->take--;
        *out = v;
        return 1;
    }
    r->done = true;
    return 0;
}

int sql_exec(const struct sql_query *q, const struct sql_param *params, size_t n_params,
             const struct sql_source *src, uint64_t budget, struct cr_arena *a, struct value **out,
             size_t *n, struct sql_err *err)
{
    struct sql_run r;
    struct value *v = NULL;
    size_t k = 0, cap = 0;
    const struct value *row;
    int rc;

    if ((rc = sql_run_init(&r, q, params, n_params, src, budget, err)) < 0)
        return rc;
    while ((rc = sql_run_next(&r, &row, err)) == 1) {
        if (k == cap) {
            struct value *nv;

            cap = cap ? cap * 2 : 16;
            if (!(nv = cr_arena_alloc(a, cap * sizeof *nv))) {
                rc = run_error(&r, CR_ENOMEM, err);
                break;
            }
            if (k)
                memcpy(nv, v, k * sizeof *nv);
            v = nv;
        }
        if ((rc = value_clone(row, a, &v[k])) < 0) {
            rc = run_error(&r, rc, err);
            break;
        }
        k++;
    }
    sql_run_close(&r);
    if (rc < 0)
        return rc;
    *out = v;
    *n = k;
    return 0;
}
