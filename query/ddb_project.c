/*
 * ProjectionExpression results (and ReturnValues UPDATED_OLD/UPDATED_NEW, which project onto an
 * update's target paths): the paths become a tree, merged by common prefix, and the tree is
 * walked over an item to build a new, smaller item. Containers of the result come from the arena;
 * leaves are shallow copies that borrow from the item. Reads the item; never changes it.
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

struct pnode {
    struct ddb_elem elem;
    bool leaf;          /* a path ends here: take the whole value */
    struct pnode *kids; /* first child; all children are names or all indexes */
    struct pnode *next; /* next sibling, in the order the paths named them */
    size_t n_kids;
};

int ddb_ptree_build(const struct ddb_path *const *paths, size_t n, struct cr_arena *a,
                    struct pnode **out)
{
    struct pnode *root = cr_arena_calloc(a, sizeof *root);
    size_t i, j;

    if (!root)
        return CR_ENOMEM;
    for (i = 0; i < n; i++) {
        struct pnode *node = root;

        for (j = 0; j < paths[i]->n; j++) {
            struct pnode *k, **tail = &node->kids;

            for (k = node->kids; k; k = k->next) {
                if (ddb_elem_equal(&k->elem, &paths[i]->e[j]))
                    break;
                tail = &k->next;
            }
            if (!k) {
                k = cr_arena_calloc(a, sizeof *k);
                if (!k)
                    return CR_ENOMEM;
                k->elem = paths[i]->e[j];
                *tail = k;
                node->n_kids++;
            }
            node = k;
        }
        node->leaf = true;
    }
    *out = root;
    return 0;
}

static int by_index(const void *a, const void *b)
{
    const struct pnode *x = *(const struct pnode *const *)a, *y = *(const struct pnode *const *)b;

    return x->elem.index < y->elem.index ? -1 : x->elem.index > y->elem.index;
}

/* The projection of src under node's children into *out; *present false when nothing of it
 * exists in src. */
static int project(const struct pnode *node, const struct value *src, struct cr_arena *a,
                   struct value *out, bool *present);

static int take(const struct pnode *k, const struct value *src, struct cr_arena *a,
                struct value *out, bool *present)
{
    if (k->leaf) {
        *out = *src;
        *present = true;
        return 0;
    }
    return project(k, src, a, out, present);
}

static int project_map(const struct pnode *node, const struct value *src, struct cr_arena *a,
                       struct value *out, bool *present)
{
    struct value_field *f = cr_arena_alloc(a, node->n_kids * sizeof *f + 1);
    const struct pnode *k;
    size_t n = 0;
    int rc;

    if (!f)
        return CR_ENOMEM;
    for (k = node->kids; k; k = k->next) {
        const struct value *v = value_map_get(src, k->elem.name, k->elem.name_len);
        struct value *nv;
        bool here;

        if (!v)
            continue;
        nv = cr_arena_alloc(a, sizeof *nv);
        if (!nv)
            return CR_ENOMEM;
        if ((rc = take(k, v, a, nv, &here)))
            return rc;
        if (!here)
            continue;
        f[n].name = k->elem.name;
        f[n].name_len = k->elem.name_len;
        f[n].value = nv;
        n++;
    }
    out->type = VT_MAP;
    out->u.map.fields = f;
    out->u.map.n = n;
    *present = n > 0;
    return 0;
}

static int project_list(const struct pnode *node, const struct value *src, struct cr_arena *a,
                        struct value *out, bool *present)
{
    const struct pnode **order = cr_arena_alloc(a, node->n_kids * sizeof *order + 1);
    struct value *items = cr_arena_alloc(a, node->n_kids * sizeof *items + 1);
    const struct pnode *k;
    size_t i = 0, n = 0;
    int rc;

    if (!order || !items)
        return CR_ENOMEM;
    for (k = node->kids; k; k = k->next)
        order[i++] = k;
    qsort(order, node->n_kids, sizeof *order, by_index);
    for (i = 0; i < node->n_kids; i++) {
        bool here;

        if (order[i]->elem.index >= src->u.arr.n)
            break;
        if ((rc = take(order[i], &src->u.arr.items[order[i]->elem.index], a, &items[n], &here)))
            return rc;
        if (here)
            n++;
    }
    out->type = VT_ARRAY;
    out->u.arr.items = items;
    out->u.arr.n = n;
    *present = n > 0;
    return 0;
}

static int project(const struct pnode *node, const struct value *src, struct cr_arena *a,
                   struct value *out, bool *present)
{
    *present = false;
    if (!node->kids)
        return 0;
    if (!node->kids->elem.is_index && src->type == VT_MAP)
        return project_map(node, src, a, out, present);
    if (node->kids->elem.is_index && src->type == VT_ARRAY)
        return project_list(node, src, a, out, present);
    return 0;
}

int ddb_ptree_project(const struct pnode *root, const struct value *item, struct cr_arena *a,
                      struct value *out)
{
    bool present;

    out->type = VT_MAP;
    out->u.map.fields = NULL;
    out->u.map.n = 0;
    if (!item || item->type != VT_MAP)
        return 0;
    return project_map(root, item, a, out, &present);
}

int ddb_project(const struct ddb_projection *p, const struct value *item, struct cr_arena *a,
                struct value *out)
{
    return ddb_ptree_project(p->root, item, a, out);
}

int ddb_update_project(const struct ddb_update *u, const struct value *item, struct cr_arena *a,
                       struct value *out)
{
    return ddb_ptree_project(u->targets, item, a, out);
}
