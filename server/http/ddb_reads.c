/* DynamoDB reads: GetItem, BatchGetItem, Query and Scan (with DynamoDB-shaped pagination), of
 * a table or of one of its secondary indexes (IndexName). The legacy QueryFilter and ScanFilter
 * become filter expressions (ddb_legacy.c) and take FilterExpression's path. */
#include "common/error.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- expressions ---------------------------------------------------------------------------- */

/* The expressions a read may carry, parsed against one placeholder context. */
struct read_exprs {
    struct ddb_projection *proj; /* ProjectionExpression; NULL: all attributes */
    struct ddb_cond *filter;     /* FilterExpression; NULL: keep every item */
    struct ddb_key_cond key;     /* KeyConditionExpression (Query) */
    bool has_key;
};

enum { EXPR_PROJECTION = 1, EXPR_FILTER = 2, EXPR_KEY = 4 };

static int expression(struct ddb *d, const json_t *obj, const char *name, json_t **out)
{
    int rc = ddb_member(d, obj, name, JSON_STRING, out);

    if (rc == 0 && *out && json_string_length(*out) == 0)
        return ddb_fail(d, CR_EINVAL, "Invalid %s: The expression can not be empty;", name);
    return rc;
}

static bool present(const json_t *obj, const char *name)
{
    json_t *j = json_object_get(obj, name);

    return j && !json_is_null(j);
}

static void append(char *list, size_t size, bool used, const char *name)
{
    size_t len = strlen(list);

    if (used)
        snprintf(list + len, size - len, "%s%s", len ? ", " : "", name);
}

/* DynamoDB refuses legacy and expression parameters in one request, naming both kinds in its
 * order. KeyConditions counts only against a KeyConditionExpression. legacy: the read's legacy
 * filter parameter (QueryFilter, ScanFilter), or NULL. */
static int mixing(struct ddb *d, const json_t *obj, const char *legacy, const json_t *only, bool pe,
                  bool fe, bool kce)
{
    char non[128] = "", expr[128] = "";

    append(non, sizeof non, only != NULL, "AttributesToGet");
    append(non, sizeof non, legacy && present(obj, legacy), legacy);
    append(non, sizeof non, legacy && present(obj, "ConditionalOperator"), "ConditionalOperator");
    append(non, sizeof non, kce && present(obj, "KeyConditions"), "KeyConditions");
    append(expr, sizeof expr, pe, "ProjectionExpression");
    append(expr, sizeof expr, fe, "FilterExpression");
    append(expr, sizeof expr, kce, "KeyConditionExpression");
    if (!non[0] || !expr[0])
        return 0;
    return ddb_fail(d, CR_EINVAL,
                    "Can not use both expression and non-expression parameters in the same "
                    "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                    non, expr);
}

/* A QueryFilter may not name the queried key's attributes. */
static int filter_keys(struct ddb *d, const struct table_def *key, const json_t *filter)
{
    const char *k = json_object_get(filter, key->pk_name)                  ? key->pk_name
                    : key->has_sk && json_object_get(filter, key->sk_name) ? key->sk_name
                                                                           : NULL;

    if (!k)
        return 0;
    return ddb_fail(d, CR_EINVAL,
                    "QueryFilter can only contain non-primary key attributes: Primary key "
                    "attribute: %s",
                    k);
}

/* The key condition's values must have the key attributes' types. */
static int check_key_cond(struct ddb *d, const struct table_def *def, const struct ddb_key_cond *k)
{
    bool ok = ddb_type_matches(def->pk_type, k->pk.type);

    if (ok && k->op != SK_ANY)
        ok = ddb_type_matches(def->sk_type, k->sk1.type) &&
             (k->op != SK_BETWEEN || ddb_type_matches(def->sk_type, k->sk2.type));
    if (!ok)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Condition parameter type does not match schema type");
    if (k->op == SK_BETWEEN && value_compare(&k->sk1, &k->sk2) > 0)
        return ddb_fail(d, CR_EINVAL,
                        "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                        "bound to be greater than or equal to lower bound");
    return 0;
}

/* Parses the expressions of obj that `which` allows (EXPR_*), with their placeholders, into x;
 * with EXPR_FILTER, the legacy QueryFilter (with EXPR_KEY) or ScanFilter stands in for a
 * FilterExpression. only: the legacy AttributesToGet, which cannot be combined with an
 * expression. key: the key a KeyConditionExpression names (the table's, or the queried
 * index's). */
static int read_exprs(struct ddb *d, const json_t *obj, unsigned which, const json_t *only,
                      const struct table_def *key, struct read_exprs *x)
{
    const char *legacy = !(which & EXPR_FILTER) ? NULL
                         : (which & EXPR_KEY)   ? "QueryFilter"
                                                : "ScanFilter";
    json_t *pe = NULL, *fe = NULL, *kce = NULL, *lf = NULL;
    struct ddb_ctx ctx;
    struct ddb_err err;
    int rc = expression(d, obj, "ProjectionExpression", &pe);

    memset(x, 0, sizeof *x);
    if (rc == 0 && (which & EXPR_FILTER))
        rc = expression(d, obj, "FilterExpression", &fe);
    if (rc == 0 && (which & EXPR_KEY))
        rc = expression(d, obj, "KeyConditionExpression", &kce);
    if (rc == 0)
        rc = mixing(d, obj, legacy, only, pe, fe, kce);
    if (rc == 0 && legacy)
        rc = ddb_legacy_filter(d, obj, legacy, &lf, &x->filter);
    if (rc == 0 && lf && (which & EXPR_KEY))
        rc = filter_keys(d, key, lf);
    if (rc < 0)
        return rc;
    rc = ddb_expr_ctx(d, obj, pe || fe || kce, &ctx);
    if (rc < 0 || !(pe || fe || kce))
        return rc;
    if (kce) {
        const struct table_def *def = key;
        struct ddb_key_schema ks = {def->pk_name, strlen(def->pk_name),
                                    def->has_sk ? def->sk_name : NULL,
                                    def->has_sk ? strlen(def->sk_name) : 0};

        if (ddb_parse_key_condition(&ctx, json_string_value(kce), json_string_length(kce), &ks,
                                    &x->key, &err) < 0)
            return ddb_expr_fail(d, &err);
        x->has_key = true;
    }
    if (fe && ddb_parse_condition(&ctx, DDB_FILTER, json_string_value(fe), json_string_length(fe),
                                  &x->filter, &err) < 0)
        return ddb_expr_fail(d, &err);
    if (pe && ddb_parse_projection(&ctx, json_string_value(pe), json_string_length(pe), &x->proj,
                                   &err) < 0)
        return ddb_expr_fail(d, &err);
    rc = ddb_expr_done(d, &ctx);
    if (rc == 0 && x->has_key)
        rc = check_key_cond(d, key, &x->key);
    return rc;
}

/* An item as the response shows it: projected by the expression, or by AttributesToGet. */
static json_t *item_out(struct ddb *d, const struct read_exprs *x, const struct value *item,
                        const json_t *only)
{
    struct value projected;

    if (!x->proj)
        return ddb_item_json(item, only);
    if (ddb_project(x->proj, item, &d->r->arena, &projected) < 0)
        return NULL;
    return ddb_item_json(&projected, NULL);
}

/* ---- single items -------------------------------------------------------------------------- */

int ddb_op_get_item(struct ddb *d, json_t **out)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct value key, item;
    struct read_exprs x;
    const char *name = NULL;
    json_t *only = NULL, *got;
    bool consistent = false, found = false;
    int rc;

    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_flag(d, d->in, "ConsistentRead", &consistent);
    if (rc == 0)
        rc = ddb_attributes_to_get(d, d->in, &only);
    if (rc == 0)
        rc = read_exprs(d, d->in, EXPR_PROJECTION, only, &d->def, &x); /* key: unused */
    if (rc == 0)
        rc = ddb_load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = ddb_key_or_item(d, d->in, "Key", "key", &d->def, false, &key);
    if (rc < 0)
        return rc;
    ddb_read_opts(consistent, &ro);
    rc = ops_get_item(d->r->oc, &ro, name, strlen(name), &key, &d->r->arena, &found, &item, &info,
                      &d->scratch);
    if (rc < 0)
        return rc;
    *out = json_object();
    if (!*out)
        return ddb_nomem(d);
    if (found &&
        (!(got = item_out(d, &x, &item, only)) || json_object_set_new(*out, "Item", got) < 0))
        return ddb_nomem(d);
    return 0;
}

/* ---- batches ------------------------------------------------------------------------------- */
/* DynamoDB's read cost of one item: a unit per 4 KB (rounded up; a missing item costs one),
 * half of it for an eventually consistent read. */
static double read_units(const struct value *item, bool consistent)
{
    size_t size = item ? value_ddb_size(item) : 0;
    double units = size == 0 ? 1.0 : (double)((size + 4095) / 4096);

    return consistent ? units : units / 2;
}

static int batch_get_table(struct ddb *d, const char *table, json_t *spec, json_t *responses,
                           enum ddb_capacity capacity, json_t *consumed)
{
    double units = 0;
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct value *keys;
    struct read_exprs x;
    json_t *list = NULL, *only = NULL, *found_items, *k;
    bool consistent = false, found = false;
    size_t i;
    int rc;

    if (!json_is_object(spec))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s in RequestItems", ddb_json_type_name(spec));
    rc = ddb_member(d, spec, "Keys", JSON_ARRAY, &list);
    if (rc == 0)
        rc = ddb_flag(d, spec, "ConsistentRead", &consistent);
    if (rc == 0)
        rc = ddb_attributes_to_get(d, spec, &only);
    if (rc == 0)
        rc = read_exprs(d, spec, EXPR_PROJECTION, only, &d->def, &x); /* key: unused */
    if (rc < 0)
        return rc;
    if (!list || json_array_size(list) == 0)
        return ddb_constraint(d, list ? "[]" : NULL, "requestItems.member.keys",
                              "Member must have length greater than or equal to 1");
    rc = ddb_load_table(d, table, false, &d->def, NULL);
    if (rc < 0)
        return rc;
    keys = cr_arena_alloc(&d->r->arena, json_array_size(list) * sizeof *keys);
    if (!keys)
        return ddb_nomem(d);
    json_array_foreach(list, i, k)
    {
        if (!json_is_object(k))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in Keys", ddb_json_type_name(k));
        rc = ddb_item_to_value(k, &d->r->arena, &keys[i], &d->e);
        if (rc < 0) {
            d->own_text = true;
            return rc;
        }
        rc = ddb_check_key(d, &d->def, &keys[i], false);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (ddb_same_key(&d->def, &keys[j], &keys[i]))
                return ddb_fail(d, CR_EINVAL, "Provided list of item keys contains duplicates");
        }
    }
    found_items = json_array();
    if (!found_items || json_object_set_new(responses, table, found_items) < 0)
        return ddb_nomem(d);
    ddb_read_opts(consistent, &ro);
    for (i = 0; i < json_array_size(list); i++) {
        struct value item;

        rc = ops_get_item(d->r->oc, &ro, table, strlen(table), &keys[i], &d->r->arena, &found,
                          &item, &info, &d->scratch);
        if (rc < 0)
            return rc;
        units += read_units(found ? &item : NULL, consistent);
        if (found && json_array_append_new(found_items, item_out(d, &x, &item, only)) < 0)
            return ddb_nomem(d);
    }
    if (capacity != DDB_CAP_NONE &&
        json_array_append_new(consumed, ddb_capacity_json(table, units, capacity)) < 0)
        return ddb_nomem(d);
    return 0;
}

int ddb_op_batch_get_item(struct ddb *d, json_t **out)
{
    json_t *items, *spec, *responses, *consumed = NULL;
    enum ddb_capacity capacity;
    const char *table;
    size_t n = 0;
    int rc = ddb_request_items(d, &items);

    if (rc == 0)
        rc = ddb_capacity_mode(d, d->in, &capacity);
    if (rc < 0)
        return rc;
    json_object_foreach(items, table, spec)
    {
        json_t *keys = json_is_object(spec) ? json_object_get(spec, "Keys") : NULL;

        n += json_is_array(keys) ? json_array_size(keys) : 0;
    }
    if (n > MAX_BATCH_GET)
        return ddb_fail(d, CR_ETOOMANY, "Too many items requested for the BatchGetItem call");
    *out = json_pack("{s:{},s:{}}", "Responses", "UnprocessedKeys");
    if (!*out)
        return ddb_nomem(d);
    responses = json_object_get(*out, "Responses");
    if (capacity != DDB_CAP_NONE &&
        (!(consumed = json_array()) || json_object_set_new(*out, "ConsumedCapacity", consumed) < 0))
        return ddb_nomem(d);
    json_object_foreach(items, table, spec)
    {
        if (catalog_check_name(table, strlen(table)) < 0)
            return ddb_constraint(
                d, table, "requestItems.key",
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        rc = batch_get_table(d, table, spec, responses, capacity, consumed);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- query and scan ------------------------------------------------------------------------ */

struct page_opts {
    const struct index_def *idx; /* the index read; NULL: the table */
    const struct table_def *key; /* the key read: the table's or the index's */
    bool fetch; /* an LSI read with Select ALL_ATTRIBUTES: items come from the table */
    struct ops_read_opts ro;
    uint32_t limit;
    bool count_only;
    json_t *only;
    uint8_t *cursor;
    size_t cursor_len;
    struct read_exprs x;
};

/* IndexName: the index of d->def to read, into *out (NULL when the request reads the table). */
static int index_of(struct ddb *d, struct index_def **out)
{
    struct index_def *idx;
    struct table_stats *stats;
    const char *name = NULL;
    size_t n;
    int rc;

    *out = NULL;
    if (!json_object_get(d->in, "IndexName"))
        return 0;
    rc = ddb_table_name(d, d->in, "IndexName", "indexName", &name);
    if (rc == 0)
        rc = ops_describe_indexes(d->r->oc, &d->def, &d->r->arena, &idx, &stats, &n, &d->scratch);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(idx[i].key.name, name) == 0) {
            *out = &idx[i];
            return 0;
        }
    }
    return ddb_fail(d, CR_EINVAL, "The table does not have the specified index: %s", name);
}

/* ExclusiveStartKey: the key of the last item of the previous page (for an index, its key and
 * the table's), as a cursor. */
static int start_key(struct ddb *d, const json_t *esk, struct page_opts *p)
{
    struct value key;
    int rc = ddb_item_to_value(esk, &d->r->arena, &key, &d->e);

    if (rc < 0) {
        d->own_text = true;
        return rc;
    }
    if (p->idx)
        rc = kv_cursor_from_index_key(&d->def, p->idx, &key, &d->r->arena, &p->cursor,
                                      &p->cursor_len);
    else if ((rc = ddb_check_key(d, &d->def, &key, false)) == 0)
        rc = kv_cursor_from_key(&d->def, &key, &d->r->arena, &p->cursor, &p->cursor_len);
    if (rc < 0)
        return ddb_fail(d, CR_ECURSOR,
                        "The provided starting key is invalid: The provided key "
                        "element does not match the schema");
    return 0;
}

/* Select for a table or an index read. */
static int select_opt(struct ddb *d, const json_t *select, struct page_opts *p)
{
    const char *s = select ? json_string_value(select) : NULL;
    bool partial = p->idx && p->idx->projection != PROJ_ALL;

    if (!s)
        return 0;
    if (strcmp(s, "COUNT") == 0)
        p->count_only = true;
    else if (strcmp(s, "ALL_PROJECTED_ATTRIBUTES") == 0 && !p->idx)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Select type ALL_PROJECTED_ATTRIBUTES is "
                                "supported only for index queries");
    else if (strcmp(s, "SPECIFIC_ATTRIBUTES") == 0 && !p->only && !p->x.proj)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Select type SPECIFIC_ATTRIBUTES requires "
                                "AttributesToGet or ProjectionExpression");
    else if (strcmp(s, "ALL_ATTRIBUTES") == 0 && partial && p->idx->kind == INDEX_GSI)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Select type ALL_ATTRIBUTES is not supported for global "
                                "secondary index %s because its projection type is not ALL",
                        p->idx->key.name);
    else if (strcmp(s, "ALL_ATTRIBUTES") == 0)
        p->fetch = partial;
    else if (strcmp(s, "SPECIFIC_ATTRIBUTES") != 0 && strcmp(s, "ALL_PROJECTED_ATTRIBUTES") != 0)
        return ddb_constraint(d, s, "select",
                              "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, "
                              "COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]");
    return 0;
}

/* Limit, Select, ConsistentRead, AttributesToGet, ExclusiveStartKey and the expressions
 * (`which`: EXPR_*) of a read of d->def or of its index idx (NULL): shared by Query and Scan. */
static int page_opts(struct ddb *d, unsigned which, const struct index_def *idx,
                     struct page_opts *p)
{
    json_t *limit = NULL, *select = NULL, *esk = NULL;
    bool consistent = false;
    int rc;

    memset(p, 0, sizeof *p);
    p->idx = idx;
    p->key = idx ? &idx->key : &d->def;
    rc = ddb_member(d, d->in, "Limit", JSON_INTEGER, &limit);
    if (rc == 0)
        rc = ddb_member(d, d->in, "Select", JSON_STRING, &select);
    if (rc == 0)
        rc = ddb_flag(d, d->in, "ConsistentRead", &consistent);
    if (rc == 0)
        rc = ddb_attributes_to_get(d, d->in, &p->only);
    if (rc == 0)
        rc = ddb_member(d, d->in, "ExclusiveStartKey", JSON_OBJECT, &esk);
    if (rc == 0)
        rc = read_exprs(d, d->in, which, p->only, p->key, &p->x);
    if (rc < 0)
        return rc;
    if (consistent && idx && idx->kind == INDEX_GSI)
        return ddb_fail(d, CR_EINVAL,
                        "Consistent reads are not supported on global secondary indexes");
    ddb_read_opts(consistent, &p->ro);
    if (limit) {
        json_int_t v = json_integer_value(limit);
        char text[32];

        snprintf(text, sizeof text, "%lld", (long long)v);
        if (v < 1)
            return ddb_constraint(d, text, "limit",
                                  "Member must have value greater than or equal to 1");
        p->limit = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    rc = select_opt(d, select, p);
    return rc == 0 && esk ? start_key(d, esk, p) : rc;
}

/* The table's item behind an index entry (p->fetch); *item is left as is when it is gone. */
static int fetch(struct ddb *d, const struct page_opts *p, struct value *item)
{
    struct value_field *f = cr_arena_alloc(&d->r->arena, 2 * sizeof *f);
    struct value key = {.type = VT_MAP}, got;
    struct ops_read_info info;
    const struct table_def *t = &d->def;
    bool found = false;
    int rc;

    if (!f)
        return ddb_nomem(d);
    f[0] =
        (struct value_field){t->pk_name, strlen(t->pk_name),
                             (struct value *)value_map_get(item, t->pk_name, strlen(t->pk_name))};
    f[1] =
        (struct value_field){t->sk_name, strlen(t->sk_name),
                             (struct value *)value_map_get(item, t->sk_name, strlen(t->sk_name))};
    key.u.map.fields = f;
    key.u.map.n = t->has_sk ? 2 : 1;
    rc = ops_get_item(d->r->oc, &p->ro, t->name, strlen(t->name), &key, &d->r->arena, &found, &got,
                      &info, &d->scratch);
    if (rc == 0 && found)
        *item = got;
    return rc;
}

/* The attribute map of a LastEvaluatedKey: the table's key, and an index's key. */
static json_t *last_key(struct ddb *d, const struct page_opts *p, const struct value *item)
{
    json_t *k = ddb_key_json(&d->def, item), *ik = p->idx ? ddb_key_json(&p->idx->key, item) : NULL;

    if (k && p->idx && (!ik || json_object_update(k, ik) < 0)) {
        json_decref(k);
        k = NULL;
    }
    json_decref(ik);
    return k;
}

/*
 * The response page. As DynamoDB does, the filter runs after Limit and the page bound:
 * ScannedCount is every item read, Count those the filter kept, and LastEvaluatedKey the key
 * of the last item read, kept or not.
 */
static int page_json(struct ddb *d, const struct page_opts *p, const struct kv_page *page,
                     json_t **out)
{
    json_t *items = p->count_only ? NULL : json_array();
    size_t kept = 0;

    if (!p->count_only && !items)
        return ddb_nomem(d);
    for (size_t i = 0; i < page->n; i++) {
        bool keep = true;
        struct ddb_err err;
        int rc = p->fetch ? fetch(d, p, &page->items[i]) : 0;

        if (rc < 0) {
            json_decref(items);
            return rc;
        }
        if (p->x.filter && ddb_eval_condition(p->x.filter, &page->items[i], &keep, &err) < 0) {
            json_decref(items);
            return ddb_expr_fail(d, &err);
        }
        if (!keep)
            continue;
        kept++;
        if (items && json_array_append_new(items, item_out(d, &p->x, &page->items[i], p->only))) {
            json_decref(items);
            return ddb_nomem(d);
        }
    }
    *out = json_pack("{s:I,s:I}", "Count", (json_int_t)kept, "ScannedCount", (json_int_t)page->n);
    if (*out && items)
        json_object_set_new(*out, "Items", items);
    else
        json_decref(items);
    if (*out && page->next_len && page->n)
        json_object_set_new(*out, "LastEvaluatedKey", last_key(d, p, &page->items[page->n - 1]));
    return *out ? 0 : ddb_nomem(d);
}

static const struct {
    const char *name;
    enum sk_op op;
    size_t args;
} key_ops[] = {
    {"EQ", SK_EQ, 1},
    {"LT", SK_LT, 1},
    {"LE", SK_LE, 1},
    {"GT", SK_GT, 1},
    {"GE", SK_GE, 1},
    {"BETWEEN", SK_BETWEEN, 2},
    {"BEGINS_WITH", SK_BEGINS_WITH, 1},
};

/* One KeyConditions entry: its operator and values, type-checked against the key. */
static int key_condition(struct ddb *d, const char *attr, const json_t *cond, enum key_type type,
                         enum sk_op *op, struct value *v1, struct value *v2)
{
    const char *name = json_string_value(json_object_get(cond, "ComparisonOperator"));
    json_t *list = json_object_get(cond, "AttributeValueList");
    size_t k;
    int rc;

    if (!json_is_object(cond) || !name)
        return ddb_constraint(d, NULL, "keyConditions.member.comparisonOperator",
                              "Member must not be null");
    for (k = 0; k < sizeof key_ops / sizeof key_ops[0]; k++) {
        if (strcmp(key_ops[k].name, name) == 0)
            break;
    }
    if (k == sizeof key_ops / sizeof key_ops[0])
        return ddb_fail(d, CR_EINVAL, "Query key condition not supported");
    if (!json_is_array(list) || json_array_size(list) != key_ops[k].args)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Invalid number of argument(s) for the %s "
                                "ComparisonOperator",
                        name);
    *op = key_ops[k].op;
    rc = ddb_av_to_value(json_array_get(list, 0), &d->r->arena, v1, &d->e);
    if (rc == 0 && key_ops[k].args == 2)
        rc = ddb_av_to_value(json_array_get(list, 1), &d->r->arena, v2, &d->e);
    if (rc < 0) {
        d->own_text = true;
        return rc;
    }
    if (!ddb_type_matches(type, v1->type) ||
        (key_ops[k].args == 2 && !ddb_type_matches(type, v2->type)))
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Condition parameter type does not match schema type");
    if (*op == SK_BEGINS_WITH && type == KEY_N)
        return ddb_fail(d, CR_EINVAL, "Query key condition not supported");
    if (*op == SK_BETWEEN && value_compare(v1, v2) > 0)
        return ddb_fail(
            d, CR_EINVAL,
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to "
            "be greater than or equal to lower bound");
    return 0;
}

/* The legacy KeyConditions on `key` (the table's or the index's). */
static int key_conditions(struct ddb *d, const struct table_def *key, struct ops_query *q)
{
    json_t *kc, *cond;
    const char *attr;
    bool have_pk = false;
    int rc = ddb_member(d, d->in, "KeyConditions", JSON_OBJECT, &kc);

    if (rc < 0)
        return rc;
    if (!kc)
        return ddb_fail(d, CR_EINVAL,
                        "Either the KeyConditions or KeyConditionExpression parameter "
                        "must be specified in the request.");
    if (json_object_size(kc) > 2)
        return ddb_fail(d, CR_EINVAL, "Conditions can be of length 1 or 2 only");
    json_object_foreach(kc, attr, cond)
    {
        enum sk_op op;
        struct value dummy;

        if (strcmp(attr, key->pk_name) == 0) {
            rc = key_condition(d, attr, cond, key->pk_type, &op, &q->pk, &dummy);
            if (rc == 0 && op != SK_EQ)
                rc = ddb_fail(d, CR_EINVAL, "Query key condition not supported");
            have_pk = true;
        } else if (key->has_sk && strcmp(attr, key->sk_name) == 0) {
            rc = key_condition(d, attr, cond, key->sk_type, &q->op, &q->sk1, &q->sk2);
        } else {
            rc = ddb_fail(d, CR_EINVAL, "Query condition missed key schema element: %s",
                          key->pk_name);
        }
        if (rc < 0)
            return rc;
    }
    if (!have_pk)
        return ddb_fail(d, CR_EINVAL, "Query condition missed key schema element: %s",
                        key->pk_name);
    return 0;
}

int ddb_op_query(struct ddb *d, json_t **out)
{
    struct index_def *idx = NULL;
    struct ops_read_info info;
    struct ops_query q;
    struct page_opts p;
    struct kv_page page;
    const char *name = NULL;
    json_t *fwd;
    int rc;

    memset(&q, 0, sizeof q);
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_member(d, d->in, "ScanIndexForward", JSON_TRUE, &fwd);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = index_of(d, &idx);
    if (rc == 0)
        rc = page_opts(d, EXPR_PROJECTION | EXPR_FILTER | EXPR_KEY, idx, &p);
    if (rc == 0 && !p.x.has_key)
        rc = key_conditions(d, p.key, &q);
    if (rc < 0)
        return rc;
    if (p.x.has_key) {
        q.pk = p.x.key.pk;
        q.op = p.x.key.op;
        q.sk1 = p.x.key.sk1;
        q.sk2 = p.x.key.sk2;
    }
    q.table = name;
    q.table_len = strlen(name);
    if (idx) {
        q.index = idx->key.name;
        q.index_len = strlen(idx->key.name);
    }
    q.reverse = fwd && json_is_false(fwd);
    q.limit = p.limit;
    q.cursor = p.cursor;
    q.cursor_len = p.cursor_len;
    rc = ops_query(d->r->oc, &p.ro, &q, &d->r->arena, &page, &info, &d->scratch);
    if (rc < 0)
        return rc;
    return page_json(d, &p, &page, out);
}

static int segments(struct ddb *d, uint32_t *segment, uint32_t *total)
{
    json_t *seg = NULL, *tot = NULL;
    char text[32];
    int rc = ddb_member(d, d->in, "Segment", JSON_INTEGER, &seg);

    if (rc == 0)
        rc = ddb_member(d, d->in, "TotalSegments", JSON_INTEGER, &tot);
    if (rc < 0)
        return rc;
    *segment = 0;
    *total = 0;
    if (seg && !tot)
        return ddb_fail(d, CR_EINVAL,
                        "The TotalSegments parameter is required but was not present "
                        "in the request when Segment parameter is present");
    if (tot && !seg)
        return ddb_fail(d, CR_EINVAL,
                        "The Segment parameter is required but was not present in the "
                        "request when parameter TotalSegments is present");
    if (!seg)
        return 0;
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(tot));
    if (json_integer_value(tot) < 1)
        return ddb_constraint(d, text, "totalSegments",
                              "Member must have value greater than or equal to 1");
    if (json_integer_value(tot) > MAX_SEGMENTS)
        return ddb_constraint(d, text, "totalSegments",
                              "Member must have value less than or equal to 1000000");
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(seg));
    if (json_integer_value(seg) < 0)
        return ddb_constraint(d, text, "segment",
                              "Member must have value greater than or equal to 0");
    if (json_integer_value(seg) >= json_integer_value(tot))
        return ddb_fail(d, CR_EINVAL,
                        "The Segment parameter is zero-based and must be less than parameter "
                        "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                        (long long)json_integer_value(seg), (long long)json_integer_value(tot));
    *segment = (uint32_t)json_integer_value(seg);
    *total = (uint32_t)json_integer_value(tot);
    return 0;
}

int ddb_op_scan(struct ddb *d, json_t **out)
{
    struct index_def *idx = NULL;
    struct ops_read_info info;
    struct ops_scan s;
    struct page_opts p;
    struct kv_page page;
    const char *name = NULL;
    int rc;

    memset(&s, 0, sizeof s);
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = segments(d, &s.segment, &s.total_segments);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = index_of(d, &idx);
    if (rc == 0)
        rc = page_opts(d, EXPR_PROJECTION | EXPR_FILTER, idx, &p);
    if (rc < 0)
        return rc;
    s.table = name;
    s.table_len = strlen(name);
    if (idx) {
        s.index = idx->key.name;
        s.index_len = strlen(idx->key.name);
    }
    s.limit = p.limit;
    s.cursor = p.cursor;
    s.cursor_len = p.cursor_len;
    rc = ops_scan(d->r->oc, &p.ro, &s, &d->r->arena, &page, &info, &d->scratch);
    if (rc < 0)
        return rc;
    return page_json(d, &p, &page, out);
}
