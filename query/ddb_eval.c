/*
 * Evaluation of ConditionExpression and FilterExpression ASTs on one item, with DynamoDB's
 * semantics: operands of different DynamoDB types never compare (the comparison is false, <> is
 * true), a missing attribute satisfies only <> and attribute_not_exists. Pure and deterministic:
 * no allocation, no I/O. Equality is value_equal, which already compares INT, DOUBLE and DECIMAL
 * numerically and sets regardless of element order.
 */
#include "query/ddb_int.h"

#include <string.h>

const char *ddb_type_name(enum value_type t)
{
    switch (t) {
    case VT_STRING:
        return "S";
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return "N";
    case VT_BYTES:
        return "B";
    case VT_SS:
        return "SS";
    case VT_NS:
        return "NS";
    case VT_BS:
        return "BS";
    case VT_MAP:
        return "M";
    case VT_ARRAY:
        return "L";
    case VT_NULL:
        return "NULL";
    case VT_BOOL:
        return "BOOL";
    default:
        return NULL;
    }
}

/* An operand's value: NULL when missing; size() results live in *tmp. */
static const struct value *operand(const struct ddb_operand *o, const struct value *item,
                                   struct value *tmp)
{
    const struct value *v;

    switch (o->kind) {
    case OPND_VALUE:
        return o->value;
    case OPND_PATH:
        return ddb_path_get(&o->path, item);
    case OPND_SIZE:
        v = ddb_path_get(&o->path, item);
        if (!v)
            return NULL;
        switch (v->type) {
        case VT_STRING:
        case VT_BYTES:
            *tmp = value_int((int64_t)v->u.s.len);
            return tmp;
        case VT_SS:
        case VT_NS:
        case VT_BS:
        case VT_ARRAY:
            *tmp = value_int((int64_t)v->u.arr.n);
            return tmp;
        case VT_MAP:
            *tmp = value_int((int64_t)v->u.map.n);
            return tmp;
        default:
            return NULL;
        }
    default:
        return NULL; /* update-only operands never reach a condition */
    }
}

static bool same_type(const struct value *a, const struct value *b)
{
    const char *ta = ddb_type_name(a->type), *tb = ddb_type_name(b->type);

    return ta && tb && !strcmp(ta, tb);
}

/* S, N and B are the ordered types. */
static bool ordered(const struct value *a)
{
    const char *t = ddb_type_name(a->type);

    return t && (!strcmp(t, "S") || !strcmp(t, "N") || !strcmp(t, "B"));
}

static bool compare(enum cmp_op op, const struct value *a, const struct value *b)
{
    int c;

    if (op == CMP_EQ || op == CMP_NE) {
        bool eq = a && b && value_equal(a, b);

        return op == CMP_EQ ? eq : !eq;
    }
    if (!a || !b || !ordered(a) || !same_type(a, b))
        return false;
    c = value_compare(a, b);
    switch (op) {
    case CMP_LT:
        return c < 0;
    case CMP_LE:
        return c <= 0;
    case CMP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool has_prefix(const struct value *v, const struct value *prefix)
{
    return v->u.s.len >= prefix->u.s.len && !memcmp(v->u.s.ptr, prefix->u.s.ptr, prefix->u.s.len);
}

static bool substring(const struct value *hay, const struct value *needle)
{
    size_t i;

    if (needle->u.s.len > hay->u.s.len)
        return false;
    for (i = 0; i + needle->u.s.len <= hay->u.s.len; i++)
        if (!memcmp(hay->u.s.ptr + i, needle->u.s.ptr, needle->u.s.len))
            return true;
    return false;
}

static bool member(const struct value *list, const struct value *x)
{
    size_t i;

    for (i = 0; i < list->u.arr.n; i++)
        if (value_equal(&list->u.arr.items[i], x))
            return true;
    return false;
}

static bool contains(const struct value *a, const struct value *b)
{
    switch (a->type) {
    case VT_STRING:
        return b->type == VT_STRING && substring(a, b);
    case VT_SS:
        return b->type == VT_STRING && member(a, b);
    case VT_BS:
        return b->type == VT_BYTES && member(a, b);
    case VT_NS:
        return !strcmp(ddb_type_name(b->type) ? ddb_type_name(b->type) : "", "N") && member(a, b);
    case VT_ARRAY:
        return member(a, b);
    default:
        return false;
    }
}

static bool eval(const struct ddb_cond *c, const struct value *item)
{
    struct value t0, t1, t2;
    const struct value *a, *b, *x;
    size_t i;

    switch (c->kind) {
    case C_OR:
        return eval(c->l, item) || eval(c->r, item);
    case C_AND:
        return eval(c->l, item) && eval(c->r, item);
    case C_NOT:
        return !eval(c->l, item);
    case C_CMP:
        return compare(c->cmp, operand(&c->args[0], item, &t0), operand(&c->args[1], item, &t1));
    case C_BETWEEN:
        x = operand(&c->args[0], item, &t0);
        a = operand(&c->args[1], item, &t1);
        b = operand(&c->args[2], item, &t2);
        if (!x || !a || !b || !ordered(x) || !same_type(x, a) || !same_type(x, b))
            return false;
        return value_compare(a, x) <= 0 && value_compare(x, b) <= 0;
    case C_IN:
        x = operand(&c->args[0], item, &t0);
        for (i = 1; x && i < c->n_args; i++)
            if (compare(CMP_EQ, x, operand(&c->args[i], item, &t1)))
                return true;
        return false;
    case C_EXISTS:
        return ddb_path_get(&c->args[0].path, item) != NULL;
    case C_NOT_EXISTS:
        return ddb_path_get(&c->args[0].path, item) == NULL;
    case C_TYPE:
        a = operand(&c->args[0], item, &t0);
        b = operand(&c->args[1], item, &t1);
        if (!a || !b || b->type != VT_STRING || !ddb_type_name(a->type))
            return false;
        return strlen(ddb_type_name(a->type)) == b->u.s.len &&
               !memcmp(ddb_type_name(a->type), b->u.s.ptr, b->u.s.len);
    case C_BEGINS:
        a = operand(&c->args[0], item, &t0);
        b = operand(&c->args[1], item, &t1);
        if (!a || !b || a->type != b->type || (a->type != VT_STRING && a->type != VT_BYTES))
            return false;
        return has_prefix(a, b);
    case C_CONTAINS:
        a = operand(&c->args[0], item, &t0);
        b = operand(&c->args[1], item, &t1);
        return a && b && contains(a, b);
    }
    return false;
}

int ddb_eval_condition(const struct ddb_cond *c, const struct value *item, bool *result,
                       struct ddb_err *err)
{
    err->code = 0;
    err->msg[0] = '\0';
    *result = eval(c, item && item->type == VT_MAP ? item : NULL);
    return 0;
}
