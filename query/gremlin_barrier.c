/*
 * The barrier steps, which need the whole list of traversers: count, fold, limit, range,
 * order, dedup, group and groupCount. Sorting is a stable merge sort over traverser indexes,
 * charged one work unit per comparison; dedup and group sort by their keys and walk the runs of
 * equal keys, so the first traverser of each run is the earliest one.
 */
#include "query/gremlin_int.h"

#include "common/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- barriers: steps over the whole list ---- */

/* Stable merge sort of idx[0..n) by cmp. */
struct sorter {
    int (*cmp)(void *ctx, size_t a, size_t b);
    void *ctx;
    uint64_t comparisons;
};

static void merge_sort(struct sorter *so, size_t *idx, size_t *tmp, size_t n)
{
    size_t h = n / 2, i = 0, j = h, k = 0;

    if (n < 2)
        return;
    merge_sort(so, idx, tmp, h);
    merge_sort(so, idx + h, tmp, n - h);
    while (i < h && j < n) {
        so->comparisons++;
        tmp[k++] = so->cmp(so->ctx, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    }
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

/* Sort keys: keys[i * n_keys + j] is traverser i's j-th key (NULL: missing, first). */
struct keyed {
    struct gobj **keys;
    size_t n_keys;
    const bool *desc;
};

static int keyed_cmp(void *ctx, size_t a, size_t b)
{
    const struct keyed *k = ctx;

    for (size_t j = 0; j < k->n_keys; j++) {
        const struct gobj *x = k->keys[a * k->n_keys + j], *y = k->keys[b * k->n_keys + j];
        int c = !x || !y ? (x != NULL) - (y != NULL) : gobj_compare(x, y);

        if (c)
            return k->desc && k->desc[j] ? -c : c;
    }
    return 0;
}

/* Computes keys for every traverser (by modulators, or the identity when there are none) and
 * sorts idx by them. */
static int sort_by(struct gmachine *m, const struct gstep *s, const struct gtrs *in,
                   const struct gby *by, size_t n_by, struct keyed *k, size_t **idx)
{
    size_t nk = n_by ? n_by : 1, *tmp;
    bool *desc = gremlin_calloc(m, nk);
    struct sorter so = {keyed_cmp, k, 0};
    int rc;

    k->keys = gremlin_calloc(m, (in->n * nk + 1) * sizeof *k->keys);
    k->n_keys = nk;
    k->desc = desc;
    *idx = malloc((in->n + 1) * sizeof **idx);
    tmp = malloc((in->n + 1) * sizeof *tmp);
    if (!desc || !k->keys || !*idx || !tmp) {
        free(*idx);
        free(tmp);
        return gremlin_nomem(m);
    }
    for (size_t j = 0; j < n_by; j++)
        desc[j] = by[j].order && by[j].order->u.tok == GK_DESC;
    for (size_t i = 0; i < in->n; i++) {
        (*idx)[i] = i;
        for (size_t j = 0; j < nk; j++) {
            struct gobj *o = NULL;

            rc = gremlin_by_value(m, s, n_by ? &by[j] : NULL, &in->v[i], &o);
            if (rc < 0) {
                free(*idx);
                free(tmp);
                return rc;
            }
            k->keys[i * nk + j] = rc ? o : NULL;
        }
    }
    merge_sort(&so, *idx, tmp, in->n);
    free(tmp);
    rc = gremlin_charge(m, s, so.comparisons);
    if (rc)
        free(*idx);
    return rc;
}

static int barrier_order(struct gmachine *m, const struct gstep *s, struct gtrs *in,
                         struct gtrs *out)
{
    struct keyed k;
    size_t *idx;
    int rc = sort_by(m, s, in, s->by, s->n_by, &k, &idx);

    if (rc)
        return rc;
    for (size_t i = 0; i < in->n && !rc; i++)
        rc = gremlin_trs_push(m, out, in->v[idx[i]]);
    free(idx);
    return rc;
}

static int barrier_dedup(struct gmachine *m, const struct gstep *s, struct gtrs *in,
                         struct gtrs *out)
{
    struct keyed k;
    size_t *idx;
    bool *first;
    int rc = sort_by(m, s, in, s->by, s->n_by, &k, &idx);

    if (rc)
        return rc;
    first = calloc(in->n + 1, 1);
    if (!first) {
        free(idx);
        return gremlin_nomem(m);
    }
    /* the sort is stable: the first of each run of equal keys is the earliest traverser */
    for (size_t i = 0; i < in->n; i++)
        first[idx[i]] = i == 0 || keyed_cmp(&k, idx[i - 1], idx[i]) != 0;
    for (size_t i = 0; i < in->n && !rc; i++)
        if (first[i])
            rc = gremlin_trs_push(m, out, in->v[i]);
    free(first);
    free(idx);
    return rc;
}

static bool reduces(const struct gtrav *t)
{
    return t->n && (t->steps[t->n - 1].op == GS_COUNT || t->steps[t->n - 1].op == GS_FOLD);
}

static struct gobj *list_obj(struct gmachine *m, size_t cap)
{
    struct gobj *o = gremlin_obj_new(m, GO_LIST);

    if (o && !(o->u.list.items = gremlin_alloc(m, (cap + 1) * sizeof(void *))))
        return NULL;
    return o;
}

/* group().by(key).by(value) and groupCount().by(key): one map, keys in their sort order. */
static int barrier_group(struct gmachine *m, const struct gstep *s, struct gtrs *in,
                         struct gtrs *out)
{
    const struct gby *vby = s->op == GS_GROUP && s->n_by > 1 ? &s->by[1] : NULL;
    struct gobj *res = gremlin_obj_new(m, GO_MAP);
    struct gtr start = {0};
    struct keyed k;
    size_t *idx;
    int rc = sort_by(m, s, in, s->by, s->n_by ? 1 : 0, &k, &idx);

    if (rc)
        return rc;
    if (!res || !(res->u.map.keys = gremlin_alloc(m, (in->n + 1) * sizeof(void *))) ||
        !(res->u.map.vals = gremlin_alloc(m, (in->n + 1) * sizeof(void *)))) {
        free(idx);
        return gremlin_nomem(m);
    }
    for (size_t i = 0, j; i < in->n && !rc; i = j) {
        struct gobj *key = k.keys[idx[i]], *val = NULL;
        struct gtrs members = {0};

        for (j = i + 1; j < in->n && keyed_cmp(&k, idx[i], idx[j]) == 0; j++)
            ;
        if (!key)
            continue; /* traversers without the key are left out */
        if (s->op == GS_GROUPCOUNT) {
            struct value c = value_int((int64_t)(j - i));

            val = gremlin_obj_val(m, &c);
        } else if (vby && vby->key && vby->key->kind == GA_TRAV) {
            struct gtrs r = {0};

            for (size_t x = i; x < j && !rc; x++)
                rc = gremlin_trs_push(m, &members, in->v[idx[x]]);
            if (!rc)
                rc = gremlin_run_trav(m, vby->key->u.trav, &members, &r);
            gremlin_trs_free(&members);
            if (!rc && reduces(vby->key->u.trav) && r.n == 1) {
                val = r.v[0].o;
            } else if (!rc) {
                val = list_obj(m, r.n);
                for (size_t x = 0; val && x < r.n; x++)
                    val->u.list.items[val->u.list.n++] = r.v[x].o;
            }
            gremlin_trs_free(&r);
        } else {
            val = list_obj(m, j - i);
            for (size_t x = i; val && x < j && !rc; x++) {
                struct gobj *o;

                rc = gremlin_by_value(m, s, vby, &in->v[idx[x]], &o);
                if (rc == 1)
                    val->u.list.items[val->u.list.n++] = o;
                rc = rc < 0 ? rc : 0;
            }
        }
        if (!rc && !val)
            rc = gremlin_nomem(m);
        if (!rc) {
            res->u.map.keys[res->u.map.n] = key;
            res->u.map.vals[res->u.map.n++] = val;
        }
    }
    free(idx);
    return rc ? rc : gremlin_emit(m, s, out, &start, res);
}

int gremlin_barrier(struct gmachine *m, const struct gstep *s, struct gtrs *in, struct gtrs *out)
{
    struct gtr start = {0};
    int64_t lo = 0, hi = -1;
    struct gobj *o;
    int rc;

    switch (s->op) {
    case GS_COUNT: {
        struct value c = value_int((int64_t)in->n);

        return gremlin_emit(m, s, out, &start, gremlin_obj_val(m, &c));
    }
    case GS_FOLD:
        o = list_obj(m, in->n);
        for (size_t i = 0; o && i < in->n; i++)
            o->u.list.items[o->u.list.n++] = in->v[i].o;
        return gremlin_emit(m, s, out, &start, o);
    case GS_LIMIT:
    case GS_RANGE:
        if (s->op == GS_LIMIT) {
            rc = gremlin_arg_int(m, &s->args[0], &hi);
        } else {
            rc = gremlin_arg_int(m, &s->args[0], &lo);
            if (!rc)
                rc = gremlin_arg_int(m, &s->args[1], &hi);
        }
        if (rc)
            return rc;
        if (lo < 0)
            return gremlin_step_fail(m, s, CR_EINVAL, "the low end of a range is not negative");
        for (size_t i = (size_t)lo; i < in->n && (hi < 0 || i < (uint64_t)hi) && !rc; i++)
            rc = gremlin_trs_push(m, out, in->v[i]);
        return rc;
    case GS_ORDER:
        return barrier_order(m, s, in, out);
    case GS_DEDUP:
        return barrier_dedup(m, s, in, out);
    default:
        return barrier_group(m, s, in, out);
    }
}
