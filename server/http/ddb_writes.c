/*
 * DynamoDB writes: PutItem, UpdateItem, DeleteItem (with ConditionExpression, UpdateExpression,
 * the legacy Expected and AttributeUpdates, ReturnValues, ReturnValuesOnConditionCheckFailure,
 * ReturnConsumedCapacity, ReturnItemCollectionMetrics) and BatchWriteItem. Expressions are parsed
 * here to validate them, then travel as text in the log entry and are evaluated by apply() against
 * the current item (server/ddb_hook.h): this file must never read an item to decide a write itself.
 */
#include "common/error.h"
#include "server/ddb_hook.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- capacity and return options ------------------------------------------------------- */

int ddb_capacity_mode(struct ddb *d, const json_t *obj, enum ddb_capacity *out)
{
    json_t *j;
    const char *v;
    int rc = ddb_member(d, obj, "ReturnConsumedCapacity", JSON_STRING, &j);

    *out = DDB_CAP_NONE;
    if (rc < 0 || !j)
        return rc;
    v = json_string_value(j);
    if (strcmp(v, "TOTAL") == 0)
        *out = DDB_CAP_TOTAL;
    else if (strcmp(v, "INDEXES") == 0)
        *out = DDB_CAP_INDEXES;
    else if (strcmp(v, "NONE") != 0)
        return ddb_constraint(d, v, "returnConsumedCapacity",
                              "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]");
    return 0;
}

int ddb_metrics_mode(struct ddb *d, const json_t *obj, bool *size)
{
    json_t *j;
    const char *v;
    int rc = ddb_member(d, obj, "ReturnItemCollectionMetrics", JSON_STRING, &j);

    *size = false;
    if (rc < 0 || !j)
        return rc;
    v = json_string_value(j);
    if (strcmp(v, "SIZE") == 0)
        *size = true;
    else if (strcmp(v, "NONE") != 0)
        return ddb_constraint(d, v, "returnItemCollectionMetrics",
                              "Member must satisfy enum value set: [SIZE, NONE]");
    return 0;
}

/* Adds the value_ddb_size of every item of the partition pk of def (or of its index `index`,
 * whose items are the projected ones) to *bytes, page by page in a scratch arena. */
static int partition_bytes(struct ddb *d, const struct table_def *def, const char *index,
                           const struct value *pk, uint64_t *bytes)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct ops_query q;
    struct kv_page page;
    struct cr_arena pages;
    struct cr_buf cursor;
    int rc;

    memset(&q, 0, sizeof q);
    q.table = def->name;
    q.table_len = strlen(def->name);
    q.index = index;
    q.index_len = index ? strlen(index) : 0;
    q.pk = *pk;
    q.op = SK_ANY;
    ddb_read_opts(true, &ro);
    cr_arena_init(&pages, 0);
    cr_buf_init(&cursor);
    do {
        rc = ops_query(d->r->oc, &ro, &q, &pages, &page, &info, &d->scratch);
        for (size_t i = 0; rc == 0 && i < page.n; i++)
            *bytes += value_ddb_size(&page.items[i]);
        cr_buf_reset(&cursor);
        if (rc == 0 && page.next_len)
            rc = cr_buf_append(&cursor, page.next, page.next_len);
        q.cursor = cursor.data;
        q.cursor_len = cursor.len;
        cr_arena_reset(&pages);
    } while (rc == 0 && q.cursor_len);
    cr_buf_free(&cursor);
    cr_arena_free(&pages);
    return rc;
}

int ddb_collection_metrics(struct ddb *d, const struct table_def *def, const struct value *item,
                           json_t **out)
{
    const struct value *pk = value_map_get(item, def->pk_name, strlen(def->pk_name));
    struct index_def *idx;
    struct table_stats *stats;
    uint64_t bytes = 0;
    size_t n, lsis = 0;
    double gb;
    int rc;

    *out = NULL;
    if (def->n_indexes == 0 || !pk)
        return 0;
    rc = ops_describe_indexes(d->r->oc, def, &d->r->arena, &idx, &stats, &n, &d->scratch);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (idx[i].kind != INDEX_LSI)
            continue;
        lsis++;
        rc = partition_bytes(d, def, idx[i].key.name, pk, &bytes);
    }
    if (rc == 0 && lsis)
        rc = partition_bytes(d, def, NULL, pk, &bytes);
    ops_conn_release(d->r->oc); /* a done handler's snapshot: the loop's next request needs a
                                   fresh one */
    if (rc < 0 || !lsis)
        return rc;
    /* DynamoDB gives the collection's size as a range of whole gigabytes. */
    gb = (double)(bytes >> 30);
    *out = json_pack("{s:{s:o},s:[f,f]}", "ItemCollectionKey", def->pk_name, ddb_av_from_value(pk),
                     "SizeEstimateRangeGB", gb, gb + 1.0);
    return *out ? 0 : CR_ENOMEM;
}

int ddb_collection_metrics_map(struct ddb *d, const struct mutation *muts, size_t n, json_t *out)
{
    json_t *map = NULL;

    for (size_t i = 0; i < n; i++) {
        const struct value *key = muts[i].type == MUT_PUT ? &muts[i].item : &muts[i].key;
        const struct table_def *def = &muts[i].table;
        json_t *one, *list;
        size_t k;
        int rc;

        if (muts[i].type == MUT_CHECK)
            continue;
        /* One entry per collection: the first write to it. */
        for (k = 0; k < i; k++) {
            const struct value *other = muts[k].type == MUT_PUT ? &muts[k].item : &muts[k].key;

            if (muts[k].type != MUT_CHECK && strcmp(muts[k].table.name, def->name) == 0 &&
                value_equal(value_map_get(other, def->pk_name, strlen(def->pk_name)),
                            value_map_get(key, def->pk_name, strlen(def->pk_name))))
                break;
        }
        if (k < i)
            continue;
        rc = ddb_collection_metrics(d, def, key, &one);
        if (rc < 0)
            return rc;
        if (!one)
            continue;
        if (!map && (!(map = json_object()) ||
                     json_object_set_new(out, "ItemCollectionMetrics", map) < 0)) {
            json_decref(one);
            return CR_ENOMEM;
        }
        list = json_object_get(map, def->name);
        if (!list && json_object_set_new(map, def->name, list = json_array()) < 0) {
            json_decref(one);
            return CR_ENOMEM;
        }
        if (json_array_append_new(list, one) < 0)
            return CR_ENOMEM;
    }
    return 0;
}

/* {"TableName", "CapacityUnits"} (and "Table" for INDEXES: there are no indexes to add). */
json_t *ddb_capacity_json(const char *table, double units, enum ddb_capacity mode)
{
    if (mode == DDB_CAP_INDEXES)
        return json_pack("{s:s,s:f,s:{s:f}}", "TableName", table, "CapacityUnits", units, "Table",
                         "CapacityUnits", units);
    return json_pack("{s:s,s:f}", "TableName", table, "CapacityUnits", units);
}

/* DynamoDB's write cost: one unit per KB (rounded up) of the larger of the item before and
 * after, at least one. */
double ddb_write_units(const struct mutation_result *res)
{
    uint64_t size = res->old_size > res->new_size ? res->old_size : res->new_size;

    return size == 0 ? 1.0 : (double)((size + 1023) / 1024);
}

int ddb_capacity_prepare(struct ddb *d, enum ddb_capacity mode, const struct table_def *def,
                         struct mutation *m, struct index_def **idx, size_t *n)
{
    struct table_stats *stats;

    *idx = NULL;
    *n = 0;
    if (mode == DDB_CAP_NONE || def->n_indexes == 0)
        return 0;
    m->return_old = m->return_new = true; /* the answer's Attributes follow ReturnValues */
    return ops_describe_indexes(d->r->oc, def, &d->r->arena, idx, &stats, n, &d->scratch);
}

static double size_units(uint64_t size)
{
    return size == 0 ? 1.0 : (double)((size + 1023) / 1024);
}

/* item's entry in idx (its fields borrowed from item) and its value_ddb_size; false when item
 * has none (sparse: no index key). */
static bool entry_size(const struct table_def *def, const struct index_def *idx,
                       const struct value *item, struct cr_arena *a, struct value *ipk,
                       struct value *isk, struct value *proj, uint64_t *size)
{
    struct value_field *f;
    size_t k = 0;

    *ipk = *isk = value_null();
    if (kv_extract_key(&idx->key, item, false, ipk, isk))
        return false;
    *proj = *item;
    *size = value_ddb_size(item);
    if (idx->projection == PROJ_ALL || item->u.map.n == 0)
        return true;
    f = cr_arena_alloc(a, item->u.map.n * sizeof *f);
    if (!f)
        return true; /* the whole item: an over-estimate rather than a failed write */
    for (size_t i = 0; i < item->u.map.n; i++) {
        const struct value_field *x = &item->u.map.fields[i];
        bool keep = false;

        for (size_t j = 0; !keep && j < 4; j++) {
            const char *nm = j == 0   ? def->pk_name
                             : j == 1 ? (def->has_sk ? def->sk_name : "")
                             : j == 2 ? idx->key.pk_name
                                      : (idx->key.has_sk ? idx->key.sk_name : "");

            keep = nm[0] && strlen(nm) == x->name_len && !memcmp(nm, x->name, x->name_len);
        }
        for (size_t j = 0; !keep && idx->projection == PROJ_INCLUDE && j < idx->n_include; j++)
            keep = strlen(idx->include[j]) == x->name_len &&
                   !memcmp(idx->include[j], x->name, x->name_len);
        if (keep)
            f[k++] = *x;
    }
    proj->type = VT_MAP;
    proj->u.map.fields = f;
    proj->u.map.n = k;
    *size = value_ddb_size(proj);
    return true;
}

/*
 * DynamoDB's index write costs: an item entering or leaving an index costs one write of its entry;
 * one whose index key changes costs a delete and a put; one that stays under the same key costs a
 * write when its projection changed. The size is the entry's (the projected item).
 */
static double index_units(const struct table_def *def, const struct index_def *idx,
                          const struct mutation_result *res, struct cr_arena *a)
{
    struct value opk, osk, npk, nsk, op, np;
    uint64_t os = 0, ns = 0;
    bool in_old = res->has_old && entry_size(def, idx, &res->old, a, &opk, &osk, &op, &os);
    bool in_new = res->has_new && entry_size(def, idx, &res->new_item, a, &npk, &nsk, &np, &ns);

    if (in_old && in_new && value_equal(&opk, &npk) && value_equal(&osk, &nsk)) {
        if (os == ns && value_equal(&op, &np))
            return 0;
        return size_units(os > ns ? os : ns);
    }
    return (in_old ? size_units(os) : 0) + (in_new ? size_units(ns) : 0);
}

int ddb_units_add(struct ddb_units *u, const struct mutation_result *res,
                  const struct table_def *def, const struct index_def *idx, size_t n, double factor,
                  struct cr_arena *a)
{
    u->table += factor * ddb_write_units(res);
    for (size_t i = 0; i < n; i++) {
        double units = index_units(def, &idx[i], res, a);
        size_t j;

        if (units == 0)
            continue;
        for (j = 0; j < u->n && strcmp(u->idx[j].name, idx[i].key.name); j++)
            ;
        if (j == u->n) {
            if (u->n == CR_MAX_INDEXES)
                return CR_EINTERNAL;
            u->idx[j].name = idx[i].key.name;
            u->idx[j].lsi = idx[i].kind == INDEX_LSI;
            u->idx[j].units = 0;
            u->n++;
        }
        u->idx[j].units += factor * units;
    }
    return 0;
}

/* {"TableName", "CapacityUnits": the sum} and, for INDEXES, "Table" and the indexes written,
 * under GlobalSecondaryIndexes and LocalSecondaryIndexes (each left out when empty). */
json_t *ddb_units_json(const char *table, const struct ddb_units *u, enum ddb_capacity mode)
{
    json_t *out, *gsi = NULL, *lsi = NULL;
    double total = u->table;

    for (size_t i = 0; i < u->n; i++)
        total += u->idx[i].units;
    out = json_pack("{s:s,s:f}", "TableName", table, "CapacityUnits", total);
    if (!out || mode != DDB_CAP_INDEXES)
        return out;
    json_object_set_new(out, "Table", json_pack("{s:f}", "CapacityUnits", u->table));
    for (size_t i = 0; i < u->n; i++) {
        json_t **map = u->idx[i].lsi ? &lsi : &gsi;

        if (!*map)
            *map = json_object();
        if (*map)
            json_object_set_new(*map, u->idx[i].name,
                                json_pack("{s:f}", "CapacityUnits", u->idx[i].units));
    }
    if (gsi)
        json_object_set_new(out, "GlobalSecondaryIndexes", gsi);
    if (lsi)
        json_object_set_new(out, "LocalSecondaryIndexes", lsi);
    return out;
}

int ddb_old_on_fail(struct ddb *d, const json_t *obj, const char *path, bool *out)
{
    json_t *j;
    const char *v;
    int rc = ddb_member(d, obj, "ReturnValuesOnConditionCheckFailure", JSON_STRING, &j);

    *out = false;
    if (rc < 0 || !j)
        return rc;
    v = json_string_value(j);
    *out = strcmp(v, "ALL_OLD") == 0;
    if (!*out && strcmp(v, "NONE") != 0)
        return ddb_constraint(d, v, path, "Member must satisfy enum value set: [ALL_OLD, NONE]");
    return 0;
}

enum return_values { RV_NONE, RV_ALL_OLD, RV_UPDATED_OLD, RV_ALL_NEW, RV_UPDATED_NEW };

/* ReturnValues: PutItem and DeleteItem take NONE and ALL_OLD, UpdateItem all five. */
static int return_values(struct ddb *d, enum mut_type type, enum return_values *out)
{
    static const char *const names[] = {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"};
    json_t *j;
    int rc = ddb_member(d, d->in, "ReturnValues", JSON_STRING, &j);

    *out = RV_NONE;
    if (rc < 0 || !j)
        return rc;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(json_string_value(j), names[i]) != 0)
            continue;
        *out = (enum return_values)i;
        if (type != MUT_UPDATE && *out != RV_NONE && *out != RV_ALL_OLD)
            return ddb_fail(d, CR_EINVAL, "ReturnValues can only be ALL_OLD or NONE");
        return 0;
    }
    return ddb_constraint(d, json_string_value(j), "returnValues",
                          "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, "
                          "NONE, UPDATED_NEW]");
}

/* ---- expressions ---------------------------------------------------------------------------- */

/* Parses h for m (reporting DynamoDB's text) and installs it as m's hook. */
static int install(struct ddb *d, struct mutation *m, struct ddb_hook *h)
{
    struct ddb_err err;
    int rc;

    if (!h->condition && !h->update && m->type != MUT_UPDATE && m->type != MUT_CHECK)
        return 0;
    rc = ddb_hook_parse(h, m->type == MUT_PUT ? &m->item : &m->key, &d->r->arena, &err);
    if (rc < 0)
        return ddb_expr_fail(d, &err);
    ddb_hook_install(h, m);
    return 0;
}

static int string_member(struct ddb *d, const json_t *obj, const char *name, const char **s,
                         size_t *len)
{
    json_t *j;
    int rc = ddb_member(d, obj, name, JSON_STRING, &j);

    *s = j ? json_string_value(j) : NULL;
    *len = j ? json_string_length(j) : 0;
    return rc;
}

int ddb_write_exprs(struct ddb *d, const json_t *obj, struct mutation *m, struct ddb_hook *h)
{
    struct ddb_ctx ctx;
    int rc;

    memset(h, 0, sizeof *h);
    rc = string_member(d, obj, "ConditionExpression", &h->condition, &h->condition_len);
    if (rc == 0 && m->type == MUT_UPDATE)
        rc = string_member(d, obj, "UpdateExpression", &h->update, &h->update_len);
    if (rc == 0)
        rc = ddb_expr_ctx(d, obj, h->condition || h->update, &ctx);
    if (rc < 0)
        return rc;
    h->names = ctx.names;
    h->n_names = ctx.n_names;
    h->values = ctx.values;
    h->n_values = ctx.n_values;
    if (rc == 0 && m->type == MUT_CHECK && !h->condition)
        rc = ddb_constraint(d, NULL, "conditionExpression", "Member must not be null");
    return rc < 0 ? rc : install(d, m, h);
}

/* ---- legacy conditions and updates, rewritten as expressions (ddb_legacy.c) ------------- */

/* AttributeUpdates as an UpdateExpression: PUT -> SET, DELETE -> REMOVE (no value) or DELETE,
 * ADD -> ADD. */
static int attribute_updates(struct ddb *d, const json_t *upd, struct ddb_legacy *l)
{
    static const char *const clauses[] = {"SET", "REMOVE", "ADD", "DELETE"};
    const char *attr;
    json_t *u;
    int rc;

    for (size_t c = 0; c < 4; c++) {
        size_t n = 0;

        json_object_foreach((json_t *)upd, attr, u)
        {
            json_t *act, *val;
            const char *a;
            size_t which;

            if (!json_is_object(u))
                return ddb_fail(d, CR_EPROTO, "Unexpected %s in AttributeUpdates",
                                ddb_json_type_name(u));
            rc = ddb_member(d, u, "Action", JSON_STRING, &act);
            if (rc == 0)
                rc = ddb_member(d, u, "Value", JSON_OBJECT, &val);
            if (rc < 0)
                return rc;
            a = act ? json_string_value(act) : "PUT";
            if (!strcmp(a, "PUT"))
                which = 0;
            else if (!strcmp(a, "DELETE"))
                which = val ? 3 : 1;
            else if (!strcmp(a, "ADD"))
                which = 2;
            else
                return ddb_constraint(d, a, "attributeUpdates.action",
                                      "Member must satisfy enum value set: [ADD, PUT, DELETE]");
            if (which != 1 && !val)
                return ddb_fail(d, CR_EINVAL,
                                INVALID "Only DELETE action is allowed when no attribute value "
                                        "is specified");
            if (which != c)
                continue;
            rc = ddb_legacy_emit(l, n++ ? ", " : l->len ? " %s " : "%s ", clauses[c]);
            if (rc == 0)
                rc = ddb_legacy_name(l, "#u", attr);
            if (rc == 0 && which != 1)
                rc = ddb_legacy_emit(l, c == 0 ? " = " : " ");
            if (rc == 0 && which != 1)
                rc = ddb_legacy_value(l, ":u", val);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Expected, ConditionalOperator, AttributeUpdates into h. */
static int legacy(struct ddb *d, struct mutation *m, struct ddb_hook *h)
{
    struct ddb_legacy l;
    json_t *exp, *cop, *upd;
    int rc = ddb_member(d, d->in, "Expected", JSON_OBJECT, &exp);

    if (rc == 0)
        rc = ddb_member(d, d->in, "ConditionalOperator", JSON_STRING, &cop);
    if (rc == 0)
        rc = ddb_member(d, d->in, "AttributeUpdates", JSON_OBJECT, &upd);
    if (rc < 0)
        return rc;
    if (upd && m->type != MUT_UPDATE)
        return ddb_fail(d, CR_EPROTO, "Unknown member AttributeUpdates");
    rc = ddb_legacy_init(d, &l, ddb_legacy_slots(exp) + json_object_size(upd) + 1);
    if (rc < 0)
        return rc;
    memset(h, 0, sizeof *h);
    if (exp && json_object_size(exp)) {
        rc = ddb_legacy_expected(&l, exp, cop);
        h->condition = l.text;
        h->condition_len = l.len;
    }
    if (rc == 0 && upd && json_object_size(upd)) {
        rc = ddb_legacy_text(&l);
        if (rc == 0)
            rc = attribute_updates(d, upd, &l);
        h->update = l.text;
        h->update_len = l.len;
    }
    h->names = l.names;
    h->n_names = l.n_names;
    h->values = l.values;
    h->n_values = l.n_values;
    return rc < 0 ? rc : install(d, m, h);
}

/* Expected / ConditionalOperator / AttributeUpdates, or the expression parameters: DynamoDB
 * refuses a mix. */
static int conditions(struct ddb *d, struct mutation *m, struct ddb_hook *h)
{
    static const char *const legacy_names[] = {"AttributeUpdates", "ConditionalOperator",
                                               "Expected", NULL};
    static const char *const expr_names[] = {"ConditionExpression", "ExpressionAttributeNames",
                                             "ExpressionAttributeValues", "UpdateExpression", NULL};
    const char *const *lists[2] = {legacy_names, expr_names};
    char used[2][160] = {"", ""};

    for (int k = 0; k < 2; k++) {
        for (const char *const *n = lists[k]; *n; n++) {
            json_t *j = json_object_get(d->in, *n);
            size_t len = strlen(used[k]);

            if (j && !json_is_null(j))
                snprintf(used[k] + len, sizeof used[k] - len, "%s%s", len ? ", " : "", *n);
        }
    }
    if (used[0][0] && used[1][0])
        return ddb_fail(d, CR_EINVAL,
                        "Can not use both expression and non-expression parameters in the same "
                        "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                        used[0], used[1]);
    return used[0][0] ? legacy(d, m, h) : ddb_write_exprs(d, d->in, m, h);
}

/* ---- PutItem, UpdateItem, DeleteItem ------------------------------------------------------- */

/* One item write from its handler to its done handler. */
struct item_write {
    struct mutation mut;
    struct ddb_hook hook;
    enum return_values rv;
    enum ddb_capacity capacity;
    bool metrics;          /* ReturnItemCollectionMetrics SIZE */
    struct index_def *idx; /* the table's indexes, when capacity is asked for */
    size_t n_idx;
};

static int item_write(struct ddb *d, enum mut_type type)
{
    struct item_write *iw = cr_arena_calloc(&d->r->arena, sizeof *iw);
    struct mutation *m;
    const char *name = NULL;
    int rc;

    if (!iw)
        return ddb_nomem(d);
    d->op_data = iw;
    m = &iw->mut;
    m->type = type;
    m->item.type = VT_NULL;
    m->key.type = VT_NULL;
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, &d->def, NULL);
    if (rc == 0 && type == MUT_PUT) {
        rc = ddb_key_or_item(d, d->in, "Item", "item", &d->def, true, &m->item);
        if (rc == 0)
            rc = ddb_check_index_types(d, &d->def, &m->item);
    } else if (rc == 0)
        rc = ddb_key_or_item(d, d->in, "Key", "key", &d->def, false, &m->key);
    if (rc == 0)
        rc = return_values(d, type, &iw->rv);
    if (rc == 0)
        rc = ddb_old_on_fail(d, d->in, "returnValuesOnConditionCheckFailure",
                             &m->return_old_on_fail);
    if (rc == 0)
        rc = ddb_capacity_mode(d, d->in, &iw->capacity);
    if (rc == 0)
        rc = ddb_metrics_mode(d, d->in, &iw->metrics);
    if (rc == 0)
        rc = conditions(d, m, &iw->hook);
    if (rc < 0)
        return rc;
    m->table = d->def;
    m->return_old = iw->rv == RV_ALL_OLD || iw->rv == RV_UPDATED_OLD;
    m->return_new = iw->rv == RV_ALL_NEW || iw->rv == RV_UPDATED_NEW;
    rc = ddb_capacity_prepare(d, iw->capacity, &d->def, m, &iw->idx, &iw->n_idx);
    if (rc < 0)
        return rc;
    d->own_results = true;
    return ddb_propose(d, m, 1);
}

int ddb_op_put_item(struct ddb *d, json_t **out)
{
    (void)out;
    return item_write(d, MUT_PUT);
}

int ddb_op_update_item(struct ddb *d, json_t **out)
{
    (void)out;
    return item_write(d, MUT_UPDATE);
}

int ddb_op_delete_item(struct ddb *d, json_t **out)
{
    (void)out;
    return item_write(d, MUT_DELETE);
}

/* A failed item write, in DynamoDB's words; the current item goes with a failed condition when
 * ReturnValuesOnConditionCheckFailure asked for it. */
static int item_error(struct ddb *d, const struct item_write *iw, const struct mutation_result *res)
{
    if (res->code == CR_ECONDITION && res->has_old)
        d->error_extra = json_pack("{s:o}", "Item", ddb_item_from_value(&res->old));
    if (res->code == CR_EITEMTOOBIG && iw->mut.type == MUT_UPDATE)
        return ddb_fail(d, res->code, "Item size to update has exceeded the maximum allowed size");
    if (res->code == CR_ENOTABLE)
        return ddb_fail(d, res->code, "Requested resource not found");
    if (res->code == CR_ETYPE && res->mismatch.index)
        return ddb_mismatch_fail(d, &res->mismatch);
    if (res->message)
        return ddb_fail(d, res->code, "%s", res->message);
    return res->code;
}

/* The Attributes ReturnValues asked for: NULL for none. */
static int attributes(const struct item_write *iw, const struct mutation_result *res,
                      struct cr_arena *a, json_t **out)
{
    const struct value *v = NULL;
    struct value proj;
    int rc;

    *out = NULL;
    if ((iw->rv == RV_ALL_OLD || iw->rv == RV_UPDATED_OLD) && res->has_old)
        v = &res->old;
    if ((iw->rv == RV_ALL_NEW || iw->rv == RV_UPDATED_NEW) && res->has_new)
        v = &res->new_item;
    if (!v)
        return 0;
    if (iw->rv == RV_UPDATED_OLD || iw->rv == RV_UPDATED_NEW) {
        if (!iw->hook.upd)
            return 0;
        rc = ddb_update_project(iw->hook.upd, v, a, &proj);
        if (rc < 0)
            return rc;
        if (proj.u.map.n == 0)
            return 0;
        v = &proj;
    }
    *out = ddb_item_from_value(v);
    return *out ? 0 : CR_ENOMEM;
}

/* PutItem, UpdateItem and DeleteItem: {} with the Attributes and ConsumedCapacity asked for. */
int ddb_done_item_write(struct ddb *d, json_t **out)
{
    const struct item_write *iw = d->op_data;
    const struct mutation_result *res = &d->w.results[0];
    json_t *attrs = NULL, *cap = NULL, *metrics = NULL;
    int rc;

    if (d->w.n != 1)
        return ddb_fail(d, CR_EINTERNAL, "the log returned %zu results", d->w.n);
    if (res->code)
        return item_error(d, iw, res);
    if (iw->metrics) {
        rc = ddb_collection_metrics(
            d, &d->def, iw->mut.type == MUT_PUT ? &iw->mut.item : &iw->mut.key, &metrics);
        if (rc < 0)
            return rc;
    }
    if (attributes(iw, res, &d->r->arena, &attrs) < 0) {
        json_decref(metrics);
        return ddb_nomem(d);
    }
    if (iw->capacity != DDB_CAP_NONE) {
        struct ddb_units *u = cr_arena_calloc(&d->r->arena, sizeof *u);

        if (!u || ddb_units_add(u, res, &d->def, iw->idx, iw->n_idx, 1, &d->r->arena) < 0)
            return ddb_nomem(d);
        cap = ddb_units_json(d->def.name, u, iw->capacity);
    }
    *out = json_object();
    if (*out && attrs)
        json_object_set_new(*out, "Attributes", attrs);
    if (*out && cap)
        json_object_set_new(*out, "ConsumedCapacity", cap);
    if (*out && metrics)
        json_object_set_new(*out, "ItemCollectionMetrics", metrics);
    if (!*out) {
        json_decref(attrs);
        json_decref(cap);
        json_decref(metrics);
    }
    return *out ? 0 : ddb_nomem(d);
}

/* ---- batches ------------------------------------------------------------------------------- */

bool ddb_same_key(const struct table_def *def, const struct value *a, const struct value *b)
{
    const struct value *pa = value_map_get(a, def->pk_name, strlen(def->pk_name));
    const struct value *pb = value_map_get(b, def->pk_name, strlen(def->pk_name));

    if (!value_equal(pa, pb))
        return false;
    if (!def->has_sk)
        return true;
    return value_equal(value_map_get(a, def->sk_name, strlen(def->sk_name)),
                       value_map_get(b, def->sk_name, strlen(def->sk_name)));
}

int ddb_request_items(struct ddb *d, json_t **items)
{
    int rc = ddb_member(d, d->in, "RequestItems", JSON_OBJECT, items);

    if (rc < 0)
        return rc;
    if (!*items)
        return ddb_constraint(d, NULL, "requestItems", "Member must not be null");
    if (json_object_size(*items) == 0)
        return ddb_constraint(d, "{}", "requestItems",
                              "Member must have length greater than or equal to 1");
    return 0;
}

static int batch_entry(struct ddb *d, const char *table, json_t *req, struct mutation *m)
{
    json_t *put, *del;
    int rc;

    if (!json_is_object(req))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s in RequestItems", ddb_json_type_name(req));
    rc = ddb_member(d, req, "PutRequest", JSON_OBJECT, &put);
    if (rc == 0)
        rc = ddb_member(d, req, "DeleteRequest", JSON_OBJECT, &del);
    if (rc < 0)
        return rc;
    if ((put != NULL) == (del != NULL))
        return ddb_fail(d, CR_EINVAL,
                        "Supplied WriteRequest must contain exactly one of "
                        "PutRequest or DeleteRequest");
    memset(m, 0, sizeof *m);
    m->table = d->def;
    if (put) {
        m->type = MUT_PUT;
        m->key.type = VT_NULL;
        rc = ddb_key_or_item(d, put, "Item", "item", &d->def, true, &m->item);
        return rc < 0 ? rc : ddb_check_index_types(d, &d->def, &m->item);
    }
    m->type = MUT_DELETE;
    m->item.type = VT_NULL;
    return ddb_key_or_item(d, del, "Key", "key", &d->def, false, &m->key);
}

/* One BatchWriteItem from its handler to its done handler. */
struct batch_write {
    struct mutation *muts;
    size_t n;
    enum ddb_capacity capacity;
    bool metrics;
    struct index_def **idx; /* each write's table's indexes, when capacity is asked for */
    size_t *n_idx;
};

int ddb_op_batch_write_item(struct ddb *d, json_t **out)
{
    struct batch_write *bw = cr_arena_calloc(&d->r->arena, sizeof *bw);
    struct mutation *muts;
    json_t *items, *list, *req;
    const char *table;
    size_t n = 0, i;
    int rc = ddb_request_items(d, &items);

    if (!bw)
        return ddb_nomem(d);
    d->op_data = bw;
    if (rc == 0)
        rc = ddb_capacity_mode(d, d->in, &bw->capacity);
    if (rc == 0)
        rc = ddb_metrics_mode(d, d->in, &bw->metrics);
    if (rc < 0)
        return rc;
    json_object_foreach(items, table, list)
    {
        if (!json_is_array(list))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in RequestItems",
                            ddb_json_type_name(list));
        if (json_array_size(list) == 0)
            return ddb_constraint(d, "[]", "requestItems",
                                  "Map value must satisfy constraint: [Member must have length "
                                  "greater than or equal to 1]");
        n += json_array_size(list);
    }
    if (n > MAX_BATCH_WRITE)
        return ddb_fail(d, CR_ETOOMANY, "Too many items requested for the BatchWriteItem call");
    muts = cr_arena_alloc(&d->r->arena, n * sizeof *muts);
    bw->idx = cr_arena_calloc(&d->r->arena, n * sizeof *bw->idx);
    bw->n_idx = cr_arena_calloc(&d->r->arena, n * sizeof *bw->n_idx);
    if (!muts || !bw->idx || !bw->n_idx)
        return ddb_nomem(d);
    n = 0;
    json_object_foreach(items, table, list)
    {
        size_t first = n;

        if (catalog_check_name(table, strlen(table)) < 0)
            return ddb_constraint(
                d, table, "requestItems.key",
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        rc = ddb_load_table(d, table, false, &d->def, NULL);
        if (rc < 0)
            return rc;
        json_array_foreach(list, i, req)
        {
            rc = batch_entry(d, table, req, &muts[n]);
            if (rc == 0)
                rc = ddb_capacity_prepare(d, bw->capacity, &d->def, &muts[n], &bw->idx[n],
                                          &bw->n_idx[n]);
            if (rc < 0)
                return rc;
            for (size_t k = first; k < n; k++) {
                const struct value *a = muts[k].type == MUT_PUT ? &muts[k].item : &muts[k].key;
                const struct value *b = muts[n].type == MUT_PUT ? &muts[n].item : &muts[n].key;

                if (ddb_same_key(&d->def, a, b))
                    return ddb_fail(d, CR_EINVAL, "Provided list of item keys contains duplicates");
            }
            n++;
        }
    }
    bw->muts = muts;
    bw->n = n;
    return ddb_propose(d, muts, n);
}

int ddb_done_batch_write_item(struct ddb *d, json_t **out)
{
    const struct batch_write *bw = d->op_data;
    const char **tables = cr_arena_calloc(&d->r->arena, bw->n * sizeof *tables);
    struct ddb_units *units = cr_arena_calloc(&d->r->arena, bw->n * sizeof *units);
    json_t *list;
    size_t n = 0;
    int rc;

    if (d->w.n != bw->n)
        return ddb_fail(d, CR_EINTERNAL, "the log returned %zu results", d->w.n);
    *out = json_pack("{s:{}}", "UnprocessedItems");
    if (!*out || !tables || !units)
        return ddb_nomem(d);
    if (bw->metrics) {
        rc = ddb_collection_metrics_map(d, bw->muts, bw->n, *out);
        if (rc < 0)
            return rc == CR_ENOMEM ? ddb_nomem(d) : rc;
    }
    if (bw->capacity == DDB_CAP_NONE)
        return 0;
    /* Each write costs what it would alone (PutItem, DeleteItem), summed per table. */
    for (size_t i = 0; i < bw->n; i++) {
        const struct table_def *def = &bw->muts[i].table;
        size_t k;

        for (k = 0; k < n && strcmp(tables[k], def->name); k++)
            ;
        n += k == n;
        tables[k] = def->name;
        if (ddb_units_add(&units[k], &d->w.results[i], def, bw->idx[i], bw->n_idx[i], 1,
                          &d->r->arena) < 0)
            return ddb_nomem(d);
    }
    list = json_array();
    if (!list || json_object_set_new(*out, "ConsumedCapacity", list) < 0)
        return ddb_nomem(d);
    for (size_t k = 0; k < n; k++)
        if (json_array_append_new(list, ddb_units_json(tables[k], &units[k], bw->capacity)) < 0)
            return ddb_nomem(d);
    return 0;
}
