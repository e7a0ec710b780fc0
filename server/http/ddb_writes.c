/* DynamoDB writes: PutItem, DeleteItem, BatchWriteItem. */
#include "common/error.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- single items -------------------------------------------------------------------------- */

/* ReturnValues of PutItem and DeleteItem. */
static int return_values(struct ddb *d)
{
    json_t *j;
    const char *v;
    int rc = ddb_member(d, d->in, "ReturnValues", JSON_STRING, &j);

    if (rc < 0 || !j)
        return rc;
    v = json_string_value(j);
    if (strcmp(v, "ALL_OLD") == 0)
        d->return_old = true;
    else if (!strcmp(v, "UPDATED_OLD") || !strcmp(v, "ALL_NEW") || !strcmp(v, "UPDATED_NEW"))
        return ddb_fail(d, CR_EINVAL, "ReturnValues can only be ALL_OLD or NONE");
    else if (strcmp(v, "NONE") != 0)
        return ddb_constraint(d, v, "returnValues",
                              "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, "
                              "NONE, UPDATED_NEW]");
    return 0;
}

/*
 * The legacy Expected parameter, as far as storage's one condition reaches: a single entry
 * that is {"Exists": false} on the partition key (the item must not exist), {"Exists": true,
 * "Value": v} / {"Value": v} / {"ComparisonOperator": "EQ", "AttributeValueList": [v]}
 * (the attribute must equal v).
 */
static int expected(struct ddb *d, struct condition *c)
{
    json_t *exp, *ex, *val, *cmp, *list;
    const char *attr;
    int rc = ddb_member(d, d->in, "Expected", JSON_OBJECT, &exp);

    memset(c, 0, sizeof *c);
    if (rc < 0 || !exp || json_object_size(exp) == 0)
        return rc;
    if (json_object_size(exp) > 1)
        return ddb_unsupported(d, "Expected with more than one attribute");
    attr = json_object_iter_key(json_object_iter(exp));
    ex = json_object_get(json_object_iter_value(json_object_iter(exp)), "Exists");
    val = json_object_get(json_object_iter_value(json_object_iter(exp)), "Value");
    cmp = json_object_get(json_object_iter_value(json_object_iter(exp)), "ComparisonOperator");
    list = json_object_get(json_object_iter_value(json_object_iter(exp)), "AttributeValueList");
    if (json_is_false(ex)) {
        if (val)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "Value cannot be used when Exists is false for "
                                    "Attribute: %s",
                            attr);
        if (strcmp(attr, d->def.pk_name) != 0)
            return ddb_unsupported(d, "Expected Exists=false on a non-key attribute");
        c->type = COND_NOT_EXISTS;
        return 0;
    }
    if (cmp && (!json_is_string(cmp) || strcmp(json_string_value(cmp), "EQ") != 0))
        return ddb_unsupported(d, "Expected with a ComparisonOperator other than EQ");
    if (cmp) {
        if (!json_is_array(list) || json_array_size(list) != 1)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "Invalid number of argument(s) for the EQ "
                                    "ComparisonOperator");
        val = json_array_get(list, 0);
    }
    if (!val)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Value must be provided when Exists is true for "
                                "Attribute: %s",
                        attr);
    c->type = COND_EQUALS;
    c->attr = attr;
    c->attr_len = strlen(attr);
    rc = ddb_av_to_value(val, &d->r->arena, &c->value, &d->e);
    if (rc < 0)
        d->own_text = true;
    return rc;
}

static const char *const write_later[] = {"ConditionExpression", "ExpressionAttributeNames",
                                          "ExpressionAttributeValues", "ConditionalOperator", NULL};

int ddb_op_put_item(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char *name = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_PUT;
    mut.key.type = VT_NULL;
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_reject(d, d->in, write_later);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = ddb_key_or_item(d, d->in, "Item", "item", &d->def, true, &mut.item);
    if (rc == 0)
        rc = return_values(d);
    if (rc == 0)
        rc = expected(d, &mut.cond);
    if (rc < 0)
        return rc;
    mut.table = d->def;
    mut.return_old = d->return_old;
    return ddb_propose(d, &mut, 1);
}

int ddb_op_delete_item(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char *name = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DELETE;
    mut.item.type = VT_NULL;
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_reject(d, d->in, write_later);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = ddb_key_or_item(d, d->in, "Key", "key", &d->def, false, &mut.key);
    if (rc == 0)
        rc = return_values(d);
    if (rc == 0)
        rc = expected(d, &mut.cond);
    if (rc < 0)
        return rc;
    mut.table = d->def;
    mut.return_old = d->return_old;
    return ddb_propose(d, &mut, 1);
}

/* PutItem and DeleteItem: {} or the old item under Attributes. */
int ddb_done_item_write(struct ddb *d, json_t **out)
{
    const struct mutation_result *res = &d->w.results[0];

    *out = json_object();
    if (*out && d->return_old && res->has_old)
        json_object_set_new(*out, "Attributes", ddb_item_from_value(&res->old));
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
        return ddb_key_or_item(d, put, "Item", "item", &d->def, true, &m->item);
    }
    m->type = MUT_DELETE;
    m->item.type = VT_NULL;
    return ddb_key_or_item(d, del, "Key", "key", &d->def, false, &m->key);
}

int ddb_op_batch_write_item(struct ddb *d, json_t **out)
{
    struct mutation *muts;
    json_t *items, *list, *req;
    const char *table;
    size_t n = 0, i;
    int rc = ddb_request_items(d, &items);

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
    if (!muts)
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
    return ddb_propose(d, muts, n);
}

int ddb_done_batch_write_item(struct ddb *d, json_t **out)
{
    *out = json_pack("{s:{}}", "UnprocessedItems");
    return *out ? 0 : ddb_nomem(d);
}
