/*
 * Document paths: lookup in an item, and the overlap and conflict rules DynamoDB applies to the
 * paths of one projection or one update. Reads items only; never allocates.
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <stdio.h>
#include <string.h>

bool ddb_elem_equal(const struct ddb_elem *a, const struct ddb_elem *b)
{
    if (a->is_index != b->is_index)
        return false;
    if (a->is_index)
        return a->index == b->index;
    return a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len);
}

const struct value *ddb_path_get(const struct ddb_path *p, const struct value *item)
{
    const struct value *v = item;
    size_t i;

    for (i = 0; i < p->n && v; i++) {
        const struct ddb_elem *e = &p->e[i];

        if (e->is_index)
            v = v->type == VT_ARRAY && e->index < v->u.arr.n ? &v->u.arr.items[e->index] : NULL;
        else
            v = value_map_get(v, e->name, e->name_len);
    }
    return v;
}

/* "[a, b, [2]]" into buf (cut to fit). */
static void path_text(const struct ddb_path *p, char *buf, size_t cap)
{
    size_t i, k = 0;

    k += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < p->n && k < cap; i++) {
        const struct ddb_elem *e = &p->e[i];
        const char *sep = i ? ", " : "";

        if (e->is_index)
            k += (size_t)snprintf(buf + k, cap - k, "%s[%u]", sep, (unsigned)e->index);
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%.*s", sep, (int)e->name_len, e->name);
    }
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

int ddb_paths_check(const struct ddb_path *const *paths, size_t n, enum ddb_kind kind,
                    struct ddb_err *err)
{
    char one[200], two[200];
    size_t i, j, k;

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            const struct ddb_path *a = paths[i], *b = paths[j];
            size_t m = a->n < b->n ? a->n : b->n;
            const char *what;

            for (k = 0; k < m && ddb_elem_equal(&a->e[k], &b->e[k]); k++)
                ;
            if (k == m)
                what = "overlap";
            else if (a->e[k].is_index != b->e[k].is_index)
                what = "conflict";
            else
                continue;
            path_text(a, one, sizeof one);
            path_text(b, two, sizeof two);
            return ddb_err_set(err, kind,
                               "Two document paths %s with each other; must remove or rewrite one "
                               "of these paths; path one: %s, path two: %s",
                               what, one, two);
        }
    }
    return 0;
}
