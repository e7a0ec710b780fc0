/*
 * DynamoDB's legacy conditions rewritten as condition expressions: Expected (PutItem,
 * UpdateItem, DeleteItem), QueryFilter and ScanFilter, each joined by ConditionalOperator. One
 * ComparisonOperator table and one writer serve all three, so a legacy condition means exactly
 * what its expression form means: the expression parser and evaluator (query/ddb_expr.h) do the
 * rest. The writer also serves AttributeUpdates (ddb_writes.c). Placeholders are generated
 * (#<p>N, :<p>N); they never meet a user's, because DynamoDB refuses legacy and expression
 * parameters in one request. This file never evaluates anything itself.
 */
#include "common/error.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the writer ---------------------------------------------------------------------------- */

size_t ddb_legacy_slots(const json_t *conds)
{
    const char *k;
    json_t *e;
    size_t n = 0;

    json_object_foreach((json_t *)conds, k, e)
    {
        json_t *list = json_object_get(e, "AttributeValueList");

        n += 1 + (json_is_array(list) ? json_array_size(list) : 0);
    }
    return n;
}

int ddb_legacy_init(struct ddb *d, struct ddb_legacy *l, size_t slots)
{
    memset(l, 0, sizeof *l);
    l->d = d;
    l->names = cr_arena_alloc(&d->r->arena, (slots ? slots : 1) * sizeof *l->names);
    l->values = cr_arena_alloc(&d->r->arena, (slots ? slots : 1) * sizeof *l->values);
    return l->names && l->values ? 0 : ddb_nomem(d);
}

int ddb_legacy_text(struct ddb_legacy *l)
{
    l->len = 0;
    l->text = cr_arena_alloc(&l->d->r->arena, DDB_EXPR_MAX_LEN + 1);
    if (!l->text)
        return ddb_nomem(l->d);
    l->text[0] = 0;
    return 0;
}

int ddb_legacy_emit(struct ddb_legacy *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(l->text + l->len, DDB_EXPR_MAX_LEN + 1 - l->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= DDB_EXPR_MAX_LEN + 1 - l->len)
        return ddb_fail(l->d, CR_EINVAL, INVALID "the condition or update is too long");
    l->len += (size_t)n;
    return 0;
}

static const char *placeholder(struct ddb_legacy *l, const char *prefix, size_t i)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%s%zu", prefix, i);

    return cr_arena_strndup(&l->d->r->arena, buf, (size_t)n);
}

int ddb_legacy_name(struct ddb_legacy *l, const char *prefix, const char *attr)
{
    const char *ph = placeholder(l, prefix, l->n_names);

    if (!ph)
        return ddb_nomem(l->d);
    l->names[l->n_names++] = (struct ddb_name){ph, strlen(ph), attr, strlen(attr)};
    return ddb_legacy_emit(l, "%s", ph);
}

/* av as a value placeholder; *out (may be NULL) is the value. */
static int value(struct ddb_legacy *l, const char *prefix, const json_t *av,
                 const struct value **out)
{
    struct value *v = cr_arena_alloc(&l->d->r->arena, sizeof *v);
    const char *ph = placeholder(l, prefix, l->n_values);
    int rc;

    if (!v || !ph)
        return ddb_nomem(l->d);
    rc = ddb_av_to_value(av, &l->d->r->arena, v, &l->d->e);
    if (rc < 0) {
        l->d->own_text = true;
        return rc;
    }
    l->values[l->n_values++] = (struct ddb_value){ph, strlen(ph), v};
    if (out)
        *out = v;
    return ddb_legacy_emit(l, "%s", ph);
}

int ddb_legacy_value(struct ddb_legacy *l, const char *prefix, const json_t *av)
{
    return value(l, prefix, av, NULL);
}

/* ---- ComparisonOperator -------------------------------------------------------------------- */

/* The AttributeValue types an operator's values may have (filters check them). */
enum {
    T_S = 1 << 0,
    T_N = 1 << 1,
    T_B = 1 << 2,
    T_BOOL = 1 << 3,
    T_NULL = 1 << 4,
    T_SET = 1 << 5,
    T_M = 1 << 6,
    T_L = 1 << 7,
    T_SCALAR = T_S | T_N | T_B,
    T_ANY = 0xff,
};

/* Legacy ComparisonOperators: the expression form of each, how many values it takes (-1: one
 * or more) and of which types. */
static const struct {
    const char *op, *infix; /* infix: "name <infix> value"; NULL: another form */
    int args;
    unsigned types;
} comparisons[] = {
    {"EQ", "=", 1, T_ANY},
    {"NE", "<>", 1, T_ANY},
    {"LE", "<=", 1, T_SCALAR},
    {"LT", "<", 1, T_SCALAR},
    {"GE", ">=", 1, T_SCALAR},
    {"GT", ">", 1, T_SCALAR},
    {"NOT_NULL", NULL, 0, T_ANY},
    {"NULL", NULL, 0, T_ANY},
    {"CONTAINS", NULL, 1, T_SCALAR | T_BOOL | T_NULL},
    {"NOT_CONTAINS", NULL, 1, T_SCALAR | T_BOOL | T_NULL},
    {"BEGINS_WITH", NULL, 1, T_S | T_B},
    {"IN", NULL, -1, T_SCALAR},
    {"BETWEEN", NULL, 2, T_SCALAR},
};

#define N_COMPARISONS (sizeof comparisons / sizeof comparisons[0])

static unsigned type_of(const struct value *v)
{
    switch (v->type) {
    case VT_STRING:
        return T_S;
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return T_N;
    case VT_BYTES:
        return T_B;
    case VT_BOOL:
        return T_BOOL;
    case VT_NULL:
        return T_NULL;
    case VT_SS:
    case VT_NS:
    case VT_BS:
        return T_SET;
    case VT_MAP:
        return T_M;
    case VT_ARRAY:
        return T_L;
    default:
        return 0;
    }
}

/* The next value of a comparison; a filter's must have a type the operator takes. */
static int operand(struct ddb_legacy *l, size_t k, const json_t *av)
{
    const struct value *v;
    int rc = value(l, ":l", av, &v);

    if (rc < 0 || !l->filter || (type_of(v) & comparisons[k].types))
        return rc;
    return ddb_fail(l->d, CR_EINVAL,
                    INVALID "ComparisonOperator %s is not valid for %s AttributeValue type",
                    comparisons[k].op, json_object_iter_key(json_object_iter((json_t *)av)));
}

/* attr <op> list, as an expression. path: where DynamoDB reports an unknown operator. */
static int comparison(struct ddb_legacy *l, const char *attr, const char *op, const json_t *list,
                      const char *path)
{
    size_t n = json_array_size(list), i, k;
    int rc;

    for (k = 0; k < N_COMPARISONS; k++)
        if (strcmp(comparisons[k].op, op) == 0)
            break;
    if (k == N_COMPARISONS)
        return ddb_constraint(l->d, op, path,
                              "Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, "
                              "NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]");
    if (list && !json_is_array(list))
        return ddb_fail(l->d, CR_EPROTO, "Unexpected %s for member AttributeValueList",
                        ddb_json_type_name(list));
    if (comparisons[k].args < 0 ? n == 0 : n != (size_t)comparisons[k].args)
        return ddb_fail(l->d, CR_EINVAL,
                        INVALID "Invalid number of argument(s) for the %s ComparisonOperator", op);
    if (comparisons[k].infix) {
        rc = ddb_legacy_name(l, "#l", attr);
        if (rc == 0)
            rc = ddb_legacy_emit(l, " %s ", comparisons[k].infix);
        return rc < 0 ? rc : operand(l, k, json_array_get(list, 0));
    }
    if (!strcmp(op, "NOT_NULL") || !strcmp(op, "NULL")) {
        rc = ddb_legacy_emit(l, "%s(", op[1] == 'O' ? "attribute_exists" : "attribute_not_exists");
        if (rc == 0)
            rc = ddb_legacy_name(l, "#l", attr);
        return rc < 0 ? rc : ddb_legacy_emit(l, ")");
    }
    if (!strcmp(op, "IN") || !strcmp(op, "BETWEEN")) {
        rc = ddb_legacy_name(l, "#l", attr);
        if (rc == 0)
            rc = ddb_legacy_emit(l, op[0] == 'I' ? " IN (" : " BETWEEN ");
        for (i = 0; rc == 0 && i < n; i++) {
            if (i)
                rc = ddb_legacy_emit(l, op[0] == 'I' ? ", " : " AND ");
            if (rc == 0)
                rc = operand(l, k, json_array_get(list, i));
        }
        return rc < 0 || op[0] != 'I' ? rc : ddb_legacy_emit(l, ")");
    }
    rc = ddb_legacy_emit(l, "%s(",
                         !strcmp(op, "BEGINS_WITH") ? "begins_with"
                         : !strcmp(op, "CONTAINS")  ? "contains"
                                                    : "NOT contains");
    if (rc == 0)
        rc = ddb_legacy_name(l, "#l", attr);
    if (rc == 0)
        rc = ddb_legacy_emit(l, ", ");
    if (rc == 0)
        rc = operand(l, k, json_array_get(list, 0));
    return rc < 0 ? rc : ddb_legacy_emit(l, ")");
}

/* ---- Expected, QueryFilter, ScanFilter ----------------------------------------------------- */

/* ConditionalOperator's value: "AND" when absent. */
static int conditional_operator(struct ddb *d, const json_t *cop, const char **op)
{
    *op = cop ? json_string_value(cop) : "AND";
    if (strcmp(*op, "AND") != 0 && strcmp(*op, "OR") != 0)
        return ddb_constraint(d, *op, "conditionalOperator",
                              "Member must satisfy enum value set: [AND, OR]");
    return 0;
}

/* One entry of Expected: {Exists, Value} or {ComparisonOperator, AttributeValueList}. */
static int expected_entry(struct ddb_legacy *l, const char *attr, const json_t *e)
{
    json_t *ex, *val, *cmp, *list;
    struct ddb *d = l->d;
    int rc;

    if (!json_is_object(e))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s in Expected", ddb_json_type_name(e));
    rc = ddb_member(d, e, "Exists", JSON_TRUE, &ex);
    if (rc == 0)
        rc = ddb_member(d, e, "Value", JSON_OBJECT, &val);
    if (rc == 0)
        rc = ddb_member(d, e, "ComparisonOperator", JSON_STRING, &cmp);
    if (rc == 0)
        rc = ddb_member(d, e, "AttributeValueList", JSON_ARRAY, &list);
    if (rc < 0)
        return rc;
    if (cmp && (ex || val))
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Exists and Value cannot be used with ComparisonOperator for "
                                "Attribute: %s",
                        attr);
    if (cmp)
        return comparison(l, attr, json_string_value(cmp), list, "expected.comparisonOperator");
    if (list)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "AttributeValueList can only be used with a ComparisonOperator "
                                "for Attribute: %s",
                        attr);
    if (ex && json_is_false(ex)) {
        if (val)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "Value cannot be used when Exists is false for Attribute: %s",
                            attr);
        rc = ddb_legacy_emit(l, "attribute_not_exists(");
        if (rc == 0)
            rc = ddb_legacy_name(l, "#l", attr);
        return rc < 0 ? rc : ddb_legacy_emit(l, ")");
    }
    if (!val)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Value must be provided when Exists is true for Attribute: %s",
                        attr);
    rc = ddb_legacy_name(l, "#l", attr);
    if (rc == 0)
        rc = ddb_legacy_emit(l, " = ");
    return rc < 0 ? rc : ddb_legacy_value(l, ":l", val);
}

/* One entry of a QueryFilter or ScanFilter: {ComparisonOperator, AttributeValueList}. */
static int filter_entry(struct ddb_legacy *l, const char *attr, const json_t *e, const char *name)
{
    char path[64 + CR_MAX_NAME_LEN];
    json_t *cmp, *list;
    int rc;

    if (!json_is_object(e))
        return ddb_fail(l->d, CR_EPROTO, "Unexpected %s in %s", ddb_json_type_name(e), name);
    rc = ddb_member(l->d, e, "ComparisonOperator", JSON_STRING, &cmp);
    if (rc == 0)
        rc = ddb_member(l->d, e, "AttributeValueList", JSON_ARRAY, &list);
    if (rc < 0)
        return rc;
    /* DynamoDB's path: "scanFilter.<attr>.member.comparisonOperator". */
    snprintf(path, sizeof path, "%c%s.%.*s.member.comparisonOperator", name[0] + 'a' - 'A',
             name + 1, CR_MAX_NAME_LEN, attr);
    if (!cmp)
        return ddb_constraint(l->d, NULL, path, "Member must not be null");
    return comparison(l, attr, json_string_value(cmp), list, path);
}

/* The entries of conds joined by op, each in parentheses, into a new text of l. */
static int conditions(struct ddb_legacy *l, const json_t *conds, const char *op, const char *name)
{
    const char *attr;
    json_t *e;
    size_t n = 0;
    int rc = ddb_legacy_text(l);

    json_object_foreach((json_t *)conds, attr, e)
    {
        if (rc == 0)
            rc = ddb_legacy_emit(l, n++ ? ") %s (" : "(", op);
        if (rc == 0)
            rc = name ? filter_entry(l, attr, e, name) : expected_entry(l, attr, e);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : ddb_legacy_emit(l, ")");
}

int ddb_legacy_expected(struct ddb_legacy *l, const json_t *exp, const json_t *cop)
{
    const char *op;
    int rc = conditional_operator(l->d, cop, &op);

    l->filter = false;
    return rc < 0 ? rc : conditions(l, exp, op, NULL);
}

int ddb_legacy_filter(struct ddb *d, const json_t *obj, const char *name, json_t **filter,
                      struct ddb_cond **out)
{
    struct ddb_legacy l;
    struct ddb_ctx ctx;
    struct ddb_err err;
    json_t *cop;
    const char *op = "AND";
    size_t n;
    int rc = ddb_member(d, obj, name, JSON_OBJECT, filter);

    *out = NULL;
    if (rc == 0)
        rc = ddb_member(d, obj, "ConditionalOperator", JSON_STRING, &cop);
    if (rc == 0 && cop)
        rc = conditional_operator(d, cop, &op);
    if (rc < 0)
        return rc;
    n = *filter ? json_object_size(*filter) : 0;
    if (cop && n == 0)
        return ddb_fail(d, CR_EINVAL,
                        "ConditionalOperator cannot be used without Filter or "
                        "Expected");
    if (cop && n == 1)
        return ddb_fail(d, CR_EINVAL,
                        "ConditionalOperator can only be used when Filter or "
                        "Expected has two or more elements");
    if (n == 0)
        return 0;
    rc = ddb_legacy_init(d, &l, ddb_legacy_slots(*filter));
    if (rc < 0)
        return rc;
    l.filter = true;
    rc = conditions(&l, *filter, op, name);
    if (rc < 0)
        return rc;
    if (ddb_ctx_init(&ctx, &d->r->arena, l.names, l.n_names, l.values, l.n_values, &err) < 0 ||
        ddb_parse_condition(&ctx, DDB_FILTER, l.text, l.len, out, &err) < 0)
        return ddb_expr_fail(d, &err);
    return 0;
}
