/*
 * Applying a parsed UpdateExpression to an item, as DynamoDB does: every operand is read from the
 * old item, then the actions write a copy of it. The copy duplicates containers (maps, lists,
 * sets) into the arena and borrows everything else from the old item and the placeholder values;
 * the old item is never written. All or nothing: on error the caller discards the copy.
 *
 * Order inside one update: REMOVE targets (and DELETEs that empty a set) are first marked with a
 * tombstone, SET/ADD/DELETE then write at the old positions (a list index past the end appends),
 * and the tombstones are swept last. So list indexes in REMOVE and SET both name elements of the
 * old list, and target paths never overlap (the parser rejects that), so no write lands under a
 * tombstone.
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <string.h>

/* A removed map field or list element: a REF pointing here (items never hold REFs of ours). */
static const char tombstone[1];

static bool is_tombstone(const struct value *v)
{
    return v->type == VT_REF && v->u.s.ptr == tombstone;
}

static void set_tombstone(struct value *v)
{
    v->type = VT_REF;
    v->u.s.ptr = tombstone;
    v->u.s.len = 0;
}

static int invalid_path(struct ddb_err *err)
{
    return ddb_fail_plain(err, CR_EINVAL,
                          "The document path provided in the update expression is invalid for "
                          "update");
}

static int bad_type(struct ddb_err *err)
{
    return ddb_fail_plain(err, CR_EINVAL,
                          "An operand in the update expression has an incorrect data type");
}

/* ---- copying ---- */

static int dup_tree(const struct value *src, struct cr_arena *a, struct value *out)
{
    size_t i;
    int rc;

    *out = *src;
    switch (src->type) {
    case VT_MAP: {
        struct value_field *f = cr_arena_alloc(a, src->u.map.n * sizeof *f + 1);
        struct value *vals = cr_arena_alloc(a, src->u.map.n * sizeof *vals + 1);

        if (!f || !vals)
            return CR_ENOMEM;
        for (i = 0; i < src->u.map.n; i++) {
            f[i] = src->u.map.fields[i];
            f[i].value = &vals[i];
            if ((rc = dup_tree(src->u.map.fields[i].value, a, &vals[i])))
                return rc;
        }
        out->u.map.fields = f;
        return 0;
    }
    case VT_ARRAY:
    case VT_SS:
    case VT_NS:
    case VT_BS: {
        struct value *items = cr_arena_alloc(a, src->u.arr.n * sizeof *items + 1);

        if (!items)
            return CR_ENOMEM;
        for (i = 0; i < src->u.arr.n; i++)
            if ((rc = dup_tree(&src->u.arr.items[i], a, &items[i])))
                return rc;
        out->u.arr.items = items;
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- evaluating operands against the old item ---- */

static int add_numbers(const struct value *x, const struct value *y, bool minus, struct value *out,
                       struct ddb_err *err)
{
    struct decimal dx, dy, r;
    int rc;

    if (value_number_to_decimal(x, &dx) || value_number_to_decimal(y, &dy))
        return bad_type(err);
    rc = minus ? decimal_sub(&dx, &dy, &r) : decimal_add(&dx, &dy, &r);
    if (rc) {
        int top = dx.exp > dy.exp ? dx.exp : dy.exp;

        if (top >= CR_DECIMAL_EXP_MAX)
            return ddb_fail_plain(err, CR_EINVAL,
                                  "Number overflow. Attempting to store a number with magnitude "
                                  "larger than supported range");
        return ddb_fail_plain(err, CR_EINVAL,
                              "Attempting to store more than 38 significant digits in a Number");
    }
    out->type = VT_DECIMAL;
    out->u.dec = r;
    return 0;
}

static bool is_number(const struct value *v)
{
    return v->type == VT_INT || v->type == VT_DOUBLE || v->type == VT_DECIMAL;
}

static int eval_operand(const struct ddb_operand *o, const struct value *old, struct cr_arena *a,
                        struct value *out, struct ddb_err *err)
{
    struct value x, y;
    const struct value *v;
    int rc;

    switch (o->kind) {
    case OPND_VALUE:
        *out = *o->value;
        return 0;
    case OPND_PATH:
        v = ddb_path_get(&o->path, old);
        if (!v)
            return ddb_fail_plain(err, CR_EINVAL,
                                  "The provided expression refers to an attribute that does not "
                                  "exist in the item");
        *out = *v;
        return 0;
    case OPND_IF_NOT_EXISTS:
        v = ddb_path_get(&o->path, old);
        if (v) {
            *out = *v;
            return 0;
        }
        return eval_operand(o->b, old, a, out, err);
    case OPND_PLUS:
    case OPND_MINUS:
        if ((rc = eval_operand(o->a, old, a, &x, err)) ||
            (rc = eval_operand(o->b, old, a, &y, err)))
            return rc;
        if (!is_number(&x) || !is_number(&y))
            return bad_type(err);
        return add_numbers(&x, &y, o->kind == OPND_MINUS, out, err);
    case OPND_LIST_APPEND: {
        struct value *items;

        if ((rc = eval_operand(o->a, old, a, &x, err)) ||
            (rc = eval_operand(o->b, old, a, &y, err)))
            return rc;
        if (x.type != VT_ARRAY || y.type != VT_ARRAY)
            return bad_type(err);
        items = cr_arena_alloc(a, (x.u.arr.n + y.u.arr.n) * sizeof *items + 1);
        if (!items)
            return ddb_err_nomem(err);
        if (x.u.arr.n)
            memcpy(items, x.u.arr.items, x.u.arr.n * sizeof *items);
        if (y.u.arr.n)
            memcpy(items + x.u.arr.n, y.u.arr.items, y.u.arr.n * sizeof *items);
        out->type = VT_ARRAY;
        out->u.arr.items = items;
        out->u.arr.n = x.u.arr.n + y.u.arr.n;
        return 0;
    }
    case OPND_SIZE:
        break;
    }
    return bad_type(err); /* size() never parses in an update */
}

static bool in_set(const struct value *set, const struct value *x)
{
    size_t i;

    for (i = 0; i < set->u.arr.n; i++)
        if (value_equal(&set->u.arr.items[i], x))
            return true;
    return false;
}

/* cur (+) or (-) the elements of v: a new set, n == 0 when DELETE emptied it. */
static int set_op(const struct value *cur, const struct value *v, bool add, struct cr_arena *a,
                  struct value *out, struct ddb_err *err)
{
    struct value *items = cr_arena_alloc(a, (cur->u.arr.n + v->u.arr.n) * sizeof *items + 1);
    size_t i, n = 0;

    if (!items)
        return ddb_err_nomem(err);
    for (i = 0; i < cur->u.arr.n; i++)
        if (add || !in_set(v, &cur->u.arr.items[i]))
            items[n++] = cur->u.arr.items[i];
    for (i = 0; add && i < v->u.arr.n; i++)
        if (!in_set(cur, &v->u.arr.items[i]))
            items[n++] = v->u.arr.items[i];
    out->type = cur->type;
    out->u.arr.items = items;
    out->u.arr.n = n;
    return 0;
}

/* What one action writes: *remove when it removes its target, *skip when it does nothing. */
static int action_result(const struct ddb_action *act, const struct value *old, struct cr_arena *a,
                         struct value *out, bool *remove, bool *skip, struct ddb_err *err)
{
    const struct value *cur = ddb_path_get(&act->path, old);
    const struct value *v = act->operand ? act->operand->value : NULL;
    int rc;

    *remove = *skip = false;
    switch (act->kind) {
    case U_SET:
        return eval_operand(act->operand, old, a, out, err);
    case U_REMOVE:
        *remove = true;
        return 0;
    case U_ADD:
        if (!cur) {
            *out = *v;
            return 0;
        }
        if (is_number(cur) && is_number(v))
            return add_numbers(cur, v, false, out, err);
        if (cur->type != v->type || (v->type != VT_SS && v->type != VT_NS && v->type != VT_BS))
            return bad_type(err);
        return set_op(cur, v, true, a, out, err);
    case U_DELETE:
        if (!cur) {
            *skip = true;
            return 0;
        }
        if (cur->type != v->type)
            return bad_type(err);
        if ((rc = set_op(cur, v, false, a, out, err)))
            return rc;
        *remove = out->u.arr.n == 0;
        return 0;
    }
    return 0;
}

/* ---- writing the copy ---- */

/* The container holding path's last element: NULL with *missing when an intermediate element
 * does not exist, NULL without it when one has the wrong type. */
static struct value *parent_of(struct value *item, const struct ddb_path *p, bool *missing)
{
    struct value *v = item;
    size_t i;

    *missing = false;
    for (i = 0; i + 1 < p->n; i++) {
        const struct ddb_elem *e = &p->e[i];
        struct value *next = NULL;
        size_t k;

        if (e->is_index) {
            if (v->type != VT_ARRAY)
                return NULL;
            if (e->index < v->u.arr.n)
                next = &v->u.arr.items[e->index];
        } else {
            if (v->type != VT_MAP)
                return NULL;
            for (k = 0; k < v->u.map.n; k++)
                if (v->u.map.fields[k].name_len == e->name_len &&
                    !memcmp(v->u.map.fields[k].name, e->name, e->name_len))
                    next = v->u.map.fields[k].value;
        }
        if (!next || is_tombstone(next)) {
            *missing = true;
            return NULL;
        }
        v = next;
    }
    return v;
}

static struct value *map_slot(struct value *map, const struct ddb_elem *e)
{
    size_t k;

    for (k = 0; k < map->u.map.n; k++)
        if (map->u.map.fields[k].name_len == e->name_len &&
            !memcmp(map->u.map.fields[k].name, e->name, e->name_len))
            return map->u.map.fields[k].value;
    return NULL;
}

static int write_value(struct value *item, const struct ddb_path *p, const struct value *nv,
                       struct cr_arena *a, struct ddb_err *err)
{
    const struct ddb_elem *last = &p->e[p->n - 1];
    struct value *parent, *slot;
    bool missing;

    parent = parent_of(item, p, &missing);
    if (!parent)
        return invalid_path(err);
    if (last->is_index) {
        struct value *items;

        if (parent->type != VT_ARRAY)
            return invalid_path(err);
        if (last->index < parent->u.arr.n) {
            parent->u.arr.items[last->index] = *nv;
            return 0;
        }
        items = cr_arena_alloc(a, (parent->u.arr.n + 1) * sizeof *items);
        if (!items)
            return ddb_err_nomem(err);
        if (parent->u.arr.n)
            memcpy(items, parent->u.arr.items, parent->u.arr.n * sizeof *items);
        items[parent->u.arr.n] = *nv;
        parent->u.arr.items = items;
        parent->u.arr.n++;
        return 0;
    }
    if (parent->type != VT_MAP)
        return invalid_path(err);
    slot = map_slot(parent, last);
    if (!slot) {
        struct value_field *f = cr_arena_alloc(a, (parent->u.map.n + 1) * sizeof *f);

        slot = cr_arena_alloc(a, sizeof *slot);
        if (!f || !slot)
            return ddb_err_nomem(err);
        if (parent->u.map.n)
            memcpy(f, parent->u.map.fields, parent->u.map.n * sizeof *f);
        f[parent->u.map.n].name = last->name;
        f[parent->u.map.n].name_len = last->name_len;
        f[parent->u.map.n].value = slot;
        parent->u.map.fields = f;
        parent->u.map.n++;
    }
    *slot = *nv;
    return 0;
}

/* Marks path's target removed; a missing target is a no-op. */
static int mark_removed(struct value *item, const struct ddb_path *p, struct ddb_err *err)
{
    const struct ddb_elem *last = &p->e[p->n - 1];
    struct value *parent, *slot;
    bool missing;

    parent = parent_of(item, p, &missing);
    if (!parent)
        return missing ? 0 : invalid_path(err);
    if (last->is_index) {
        if (parent->type != VT_ARRAY)
            return invalid_path(err);
        if (last->index < parent->u.arr.n)
            set_tombstone(&parent->u.arr.items[last->index]);
        return 0;
    }
    if (parent->type != VT_MAP)
        return invalid_path(err);
    slot = map_slot(parent, last);
    if (slot)
        set_tombstone(slot);
    return 0;
}

/* Drops tombstones from the tree; returns its nesting depth (containers count one level). */
static int sweep(struct value *v)
{
    size_t i, k = 0;
    int depth = 0, d;

    switch (v->type) {
    case VT_MAP:
        for (i = 0; i < v->u.map.n; i++) {
            if (is_tombstone(v->u.map.fields[i].value))
                continue;
            d = sweep(v->u.map.fields[i].value);
            depth = d > depth ? d : depth;
            if (k != i) /* borrowed subtrees hold no tombstones and are never written */
                v->u.map.fields[k] = v->u.map.fields[i];
            k++;
        }
        if (k != v->u.map.n)
            v->u.map.n = k;
        return depth + 1;
    case VT_ARRAY:
        for (i = 0; i < v->u.arr.n; i++) {
            if (is_tombstone(&v->u.arr.items[i]))
                continue;
            d = sweep(&v->u.arr.items[i]);
            depth = d > depth ? d : depth;
            if (k != i)
                v->u.arr.items[k] = v->u.arr.items[i];
            k++;
        }
        if (k != v->u.arr.n)
            v->u.arr.n = k;
        return depth + 1;
    case VT_SS:
    case VT_NS:
    case VT_BS:
        return 1;
    default:
        return 0;
    }
}

int ddb_apply_update(const struct ddb_update *u, const struct value *old_item, struct cr_arena *a,
                     struct value *new_item, struct ddb_err *err)
{
    struct value *results, item;
    bool *remove, *skip;
    size_t i;
    int rc;

    err->code = 0;
    err->msg[0] = '\0';
    if (old_item && old_item->type != VT_MAP)
        old_item = NULL;
    results = cr_arena_alloc(a, u->n * sizeof *results + 1);
    remove = cr_arena_alloc(a, u->n * sizeof *remove + 1);
    skip = cr_arena_alloc(a, u->n * sizeof *skip + 1);
    if (!results || !remove || !skip)
        return ddb_err_nomem(err);
    for (i = 0; i < u->n; i++)
        if ((rc = action_result(&u->actions[i], old_item, a, &results[i], &remove[i], &skip[i],
                                err)))
            return rc;
    if (old_item) {
        if (dup_tree(old_item, a, &item))
            return ddb_err_nomem(err);
    } else {
        item.type = VT_MAP;
        item.u.map.fields = NULL;
        item.u.map.n = 0;
    }
    for (i = 0; i < u->n; i++)
        if (remove[i] && (rc = mark_removed(&item, &u->actions[i].path, err)))
            return rc;
    for (i = 0; i < u->n; i++)
        if (!remove[i] && !skip[i] &&
            (rc = write_value(&item, &u->actions[i].path, &results[i], a, err)))
            return rc;
    if (sweep(&item) > CR_MAX_DEPTH)
        return ddb_fail_plain(err, CR_EINVAL, "Nesting Levels have exceeded supported limits");
    *new_item = item;
    return 0;
}
