/*
 * DynamoDB table operations: CreateTable, UpdateTable, DeleteTable, DescribeTable, ListTables,
 * with secondary indexes (GlobalSecondaryIndexes, LocalSecondaryIndexes); the account
 * constants DescribeEndpoints and DescribeLimits; time to live (UpdateTimeToLive,
 * DescribeTimeToLive: the setting; server/ttl.c deletes expired items); and tags (TagResource,
 * UntagResource, ListTagsOfResource). TTL and tag changes are UPDATE_TABLE mutations, checked
 * against the current setting by apply (so concurrent changes cannot both pass).
 */
#include "common/error.h"
#include "common/hash.h"
#include "server/http/ddb_int.h"
#include "server/http/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- tables -------------------------------------------------------------------------------- */

/* A UUID-shaped id derived from the table's immutable identity, stable across restarts. */
static void table_uuid(const struct table_def *def, char *out, size_t cap)
{
    uint8_t seed[16];
    uint64_t a, b;

    memcpy(seed, &def->id, 4);
    memcpy(seed + 4, &def->created_index, 8);
    memset(seed + 12, 0, 4);
    a = cr_hash64(seed, sizeof seed);
    seed[15] = 1;
    b = cr_hash64(seed, sizeof seed);
    snprintf(out, cap, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16 & 0xFFFF), (unsigned)(a & 0xFFF),
             (unsigned)(0x8000 | (b >> 48 & 0x3FFF)), (unsigned long long)(b & 0xFFFFFFFFFFFFull));
}

static json_t *key_schema_json(const struct table_def *def)
{
    json_t *ks = json_pack("[{s:s,s:s}]", "AttributeName", def->pk_name, "KeyType", "HASH");

    if (ks && def->has_sk)
        json_array_append_new(
            ks, json_pack("{s:s,s:s}", "AttributeName", def->sk_name, "KeyType", "RANGE"));
    return ks;
}

/* A table's indexes with their stats (ops_describe_indexes). */
struct indexes {
    struct index_def *idx;
    struct table_stats *stats;
    size_t n;
};

static int load_indexes(struct ddb *d, const struct table_def *def, struct indexes *out)
{
    memset(out, 0, sizeof *out);
    return ops_describe_indexes(d->r->oc, def, &d->r->arena, &out->idx, &out->stats, &out->n,
                                &d->scratch);
}

static int add_attr_def(json_t *ad, const char *name, enum key_type type)
{
    json_t *el;
    size_t i;

    json_array_foreach(ad, i, el)
    {
        if (strcmp(json_string_value(json_object_get(el, "AttributeName")), name) == 0)
            return 0;
    }
    return json_array_append_new(
        ad, json_pack("{s:s,s:s}", "AttributeName", name, "AttributeType", ddb_key_code(type)));
}

static int add_key_defs(json_t *ad, const struct table_def *k)
{
    int rc = add_attr_def(ad, k->pk_name, k->pk_type);

    return rc == 0 && k->has_sk ? add_attr_def(ad, k->sk_name, k->sk_type) : rc;
}

/* The key attributes of the table and of its indexes, each once. */
static json_t *attr_defs_json(const struct table_def *def, const struct indexes *x)
{
    json_t *ad = json_array();
    int rc = ad ? add_key_defs(ad, def) : -1;

    for (size_t i = 0; rc == 0 && i < x->n; i++)
        rc = add_key_defs(ad, &x->idx[i].key);
    if (rc == 0)
        return ad;
    json_decref(ad);
    return NULL;
}

static const char *const projection_names[] = {
    [PROJ_ALL] = "ALL", [PROJ_KEYS_ONLY] = "KEYS_ONLY", [PROJ_INCLUDE] = "INCLUDE"};

static json_t *index_json(const char *table_arn, const struct index_def *x,
                          const struct table_stats *st)
{
    char arn[1024];
    json_t *proj = json_pack("{s:s}", "ProjectionType", projection_names[x->projection]);
    json_t *j;

    if (proj && x->n_include) {
        json_t *names = json_array();

        for (size_t i = 0; names && i < x->n_include; i++)
            json_array_append_new(names, json_string(x->include[i]));
        json_object_set_new(proj, "NonKeyAttributes", names);
    }
    snprintf(arn, sizeof arn, "%s/index/%s", table_arn, x->key.name);
    j = json_pack("{s:s,s:o,s:o,s:I,s:I,s:s}", "IndexName", x->key.name, "KeySchema",
                  key_schema_json(&x->key), "Projection", proj, "IndexSizeBytes",
                  (json_int_t)st->size_bytes, "ItemCount", (json_int_t)st->item_count, "IndexArn",
                  arn);
    if (j && x->kind == INDEX_GSI) {
        json_object_set_new(j, "IndexStatus", json_string("ACTIVE"));
        json_object_set_new(j, "ProvisionedThroughput",
                            json_pack("{s:i,s:I,s:I}", "NumberOfDecreasesToday", 0,
                                      "ReadCapacityUnits", (json_int_t)0, "WriteCapacityUnits",
                                      (json_int_t)0));
    }
    return j;
}

/* GlobalSecondaryIndexes and LocalSecondaryIndexes of a description, when there are any. */
static void indexes_json(json_t *t, const char *table_arn, const struct indexes *x)
{
    static const char *const names[2] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    json_t *lists[2] = {NULL, NULL};

    for (size_t i = 0; i < x->n; i++) {
        int k = x->idx[i].kind == INDEX_LSI;

        if (!lists[k])
            lists[k] = json_array();
        json_array_append_new(lists[k], index_json(table_arn, &x->idx[i], &x->stats[i]));
    }
    for (int k = 0; k < 2; k++)
        if (lists[k])
            json_object_set_new(t, names[k], lists[k]);
}

/*
 * A TableDescription. The billing mode is not part of the catalog yet: CreateTable echoes
 * what it was given (billing, throughput), later descriptions report on-demand.
 */
static json_t *table_json(struct ddb *d, const struct table_def *def,
                          const struct table_stats *stats, const struct indexes *x,
                          const char *status)
{
    char arn[512], uuid[40];
    double created = (double)def->created_ms / 1000.0;
    bool provisioned = d->billing && strcmp(json_string_value(d->billing), "PROVISIONED") == 0;
    json_t *t, *tp;

    if (!d->billing && d->throughput)
        provisioned = true;
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:" ACCOUNT ":table/%s", d->r->region, def->name);
    table_uuid(def, uuid, sizeof uuid);
    tp = json_pack("{s:i,s:I,s:I}", "NumberOfDecreasesToday", 0, "ReadCapacityUnits", (json_int_t)0,
                   "WriteCapacityUnits", (json_int_t)0);
    if (tp && provisioned && d->throughput) {
        json_object_set(tp, "ReadCapacityUnits",
                        json_object_get(d->throughput, "ReadCapacityUnits"));
        json_object_set(tp, "WriteCapacityUnits",
                        json_object_get(d->throughput, "WriteCapacityUnits"));
    }
    t = json_pack("{s:o,s:s,s:o,s:s,s:f,s:o,s:I,s:I,s:s,s:s}", "AttributeDefinitions",
                  attr_defs_json(def, x), "TableName", def->name, "KeySchema", key_schema_json(def),
                  "TableStatus", status, "CreationDateTime", created, "ProvisionedThroughput", tp,
                  "TableSizeBytes", (json_int_t)(stats ? stats->size_bytes : 0), "ItemCount",
                  (json_int_t)(stats ? stats->item_count : 0), "TableArn", arn, "TableId", uuid);
    if (t && !provisioned)
        json_object_set_new(t, "BillingModeSummary",
                            json_pack("{s:s,s:f}", "BillingMode", "PAY_PER_REQUEST",
                                      "LastUpdateToPayPerRequestDateTime", created));
    if (t && provisioned)
        json_object_set_new(t, "BillingModeSummary",
                            json_pack("{s:s}", "BillingMode", "PROVISIONED"));
    if (t)
        indexes_json(t, arn, x);
    return t;
}

static int attr_type(struct ddb *d, const json_t *ad, const char *name, enum key_type *out)
{
    json_t *el;
    size_t i;

    json_array_foreach(ad, i, el)
    {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        const char *t = json_string_value(json_object_get(el, "AttributeType"));

        if (n && t && strcmp(n, name) == 0) {
            *out = t[0] == 'S' ? KEY_S : t[0] == 'N' ? KEY_N : KEY_B;
            return 0;
        }
    }
    return ddb_fail(d, CR_ESCHEMA,
                    "Invalid KeySchema: Some index key attribute have no definition");
}

static int check_definitions(struct ddb *d, const json_t *ad)
{
    json_t *el, *other;
    size_t i, k;
    char path[96];

    if (json_array_size(ad) == 0)
        return ddb_constraint(d, "[]", "attributeDefinitions",
                              "Member must have length greater than or equal to 1");
    json_array_foreach(ad, i, el)
    {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        const char *t = json_string_value(json_object_get(el, "AttributeType"));

        if (!json_is_object(el))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in AttributeDefinitions",
                            ddb_json_type_name(el));
        snprintf(path, sizeof path, "attributeDefinitions.%zu.member.attributeName", i + 1);
        if (!n || !*n)
            return ddb_constraint(d, NULL, path, "Member must not be null");
        snprintf(path, sizeof path, "attributeDefinitions.%zu.member.attributeType", i + 1);
        if (!t || (strcmp(t, "S") && strcmp(t, "N") && strcmp(t, "B")))
            return ddb_constraint(d, t, path, "Member must satisfy enum value set: [B, N, S]");
        json_array_foreach(ad, k, other)
        {
            const char *o = json_string_value(json_object_get(other, "AttributeName"));

            if (k > i && o && strcmp(o, n) == 0)
                return ddb_fail(d, CR_EINVAL,
                                INVALID "Duplicate AttributeName in AttributeDefinitions: %s", n);
        }
    }
    return 0;
}

/* A KeySchema (of the table, or of an index: `at` prefixes the paths) into t's key. */
static int key_schema(struct ddb *d, const json_t *ks, const json_t *ad, const char *at,
                      struct table_def *t)
{
    char where[160];
    json_t *el;
    size_t i;
    int rc;

    snprintf(where, sizeof where, "%skeySchema", at);
    if (json_array_size(ks) == 0)
        return ddb_constraint(d, "[]", where, "Member must have length greater than or equal to 1");
    if (json_array_size(ks) > 2)
        return ddb_constraint(d, "[...]", where, "Member must have length less than or equal to 2");
    json_array_foreach(ks, i, el)
    {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        const char *kt = json_string_value(json_object_get(el, "KeyType"));
        char path[256];

        snprintf(path, sizeof path, "%s.%zu.member.attributeName", where, i + 1);
        if (!n || !*n)
            return ddb_constraint(d, NULL, path, "Member must not be null");
        if (strlen(n) > CR_MAX_NAME_LEN)
            return ddb_constraint(d, n, path, "Member must have length less than or equal to 255");
        snprintf(path, sizeof path, "%s.%zu.member.keyType", where, i + 1);
        if (!kt || (strcmp(kt, "HASH") && strcmp(kt, "RANGE")))
            return ddb_constraint(d, kt, path, "Member must satisfy enum value set: [HASH, RANGE]");
        if (i == 0 && strcmp(kt, "HASH"))
            return ddb_fail(d, CR_ESCHEMA,
                            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
        if (i == 1 && strcmp(kt, "RANGE"))
            return ddb_fail(
                d, CR_ESCHEMA,
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
        snprintf(i ? t->sk_name : t->pk_name, sizeof t->pk_name, "%s", n);
    }
    t->has_sk = json_array_size(ks) == 2;
    if (t->has_sk && strcmp(t->pk_name, t->sk_name) == 0)
        return ddb_fail(d, CR_ESCHEMA,
                        "Both the Hash Key and the Range Key element in the KeySchema "
                        "have the same name");
    rc = attr_type(d, ad, t->pk_name, &t->pk_type);
    if (rc == 0 && t->has_sk)
        rc = attr_type(d, ad, t->sk_name, &t->sk_type);
    return rc;
}

/* ---- secondary indexes ------------------------------------------------------------------- */

/* Projection {ProjectionType, NonKeyAttributes} of an index; `at` prefixes the paths. */
static int projection(struct ddb *d, const json_t *spec, const char *at, struct index_def *x)
{
    json_t *p = json_object_get(spec, "Projection"), *nka, *el;
    const char *type;
    const char **names;
    char path[192];
    size_t i;

    snprintf(path, sizeof path, "%sprojection", at);
    if (!json_is_object(p))
        return ddb_constraint(d, NULL, path, "Member must not be null");
    type = json_string_value(json_object_get(p, "ProjectionType"));
    nka = json_object_get(p, "NonKeyAttributes");
    if (!type)
        type = "ALL";
    for (i = 0; i < 3 && strcmp(type, projection_names[i]); i++)
        ;
    snprintf(path, sizeof path, "%sprojection.projectionType", at);
    if (i == 3)
        return ddb_constraint(d, type, path,
                              "Member must satisfy enum value set: [INCLUDE, KEYS_ONLY, ALL]");
    x->projection = (enum index_projection)i;
    if (nka && x->projection != PROJ_INCLUDE)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "ProjectionType is %s, but NonKeyAttributes is specified", type);
    if (x->projection != PROJ_INCLUDE)
        return 0;
    if (!json_is_array(nka) || json_array_size(nka) == 0)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "NonKeyAttributes must be specified when ProjectionType is "
                                "INCLUDE");
    if (json_array_size(nka) > CR_MAX_PROJECTED)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "The number of NonKeyAttributes exceeds the limit of %d",
                        CR_MAX_PROJECTED);
    names = cr_arena_alloc(&d->r->arena, json_array_size(nka) * sizeof *names);
    if (!names)
        return ddb_nomem(d);
    json_array_foreach(nka, i, el)
    {
        const char *n = json_string_value(el);

        if (!n || !*n || strlen(n) > CR_MAX_NAME_LEN)
            return ddb_fail(d, CR_EINVAL, INVALID "NonKeyAttributes must be 1..255 characters");
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], n) == 0)
                return ddb_fail(d, CR_EINVAL, INVALID "Duplicate NonKeyAttribute %s", n);
        names[i] = n; /* borrowed from d->in, which outlives the proposal */
    }
    x->n_include = json_array_size(nka);
    x->include = names;
    return 0;
}

/* One element of GlobalSecondaryIndexes or LocalSecondaryIndexes, or a GSI Create. */
static int index_spec(struct ddb *d, const json_t *spec, const json_t *ad, enum index_kind kind,
                      const char *at, struct index_def *x)
{
    const char *name = NULL;
    char path[192];
    json_t *ks;
    int rc;

    memset(x, 0, sizeof *x);
    x->kind = kind;
    if (!json_is_object(spec))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s in an index list", ddb_json_type_name(spec));
    snprintf(path, sizeof path, "%sindexName", at);
    rc = ddb_table_name(d, spec, "IndexName", path, &name);
    if (rc < 0)
        return rc;
    snprintf(x->key.name, sizeof x->key.name, "%s", name);
    ks = json_object_get(spec, "KeySchema");
    if (!json_is_array(ks)) {
        snprintf(path, sizeof path, "%skeySchema", at);
        return ddb_constraint(d, NULL, path, "Member must not be null");
    }
    rc = key_schema(d, ks, ad, at, &x->key);
    return rc < 0 ? rc : projection(d, spec, at, x);
}

/* Adds name to the distinct names used[0..*n). */
static void use_attr(const char **used, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(used[i], name) == 0)
            return;
    used[(*n)++] = name;
}

/* AttributeDefinitions must define exactly the key attributes of the table and its indexes
 * (key_schema found a definition for each of them). */
static int check_used(struct ddb *d, const json_t *ad, const struct table_def *t,
                      const struct index_def *idx, size_t n)
{
    const char *used[2 + 2 * CR_MAX_INDEXES];
    char defined[1024], keys[1024];
    size_t nu = 0, off = 0;
    json_t *el;
    size_t i;

    use_attr(used, &nu, t->pk_name);
    if (t->has_sk)
        use_attr(used, &nu, t->sk_name);
    for (i = 0; i < n; i++) {
        use_attr(used, &nu, idx[i].key.pk_name);
        if (idx[i].key.has_sk)
            use_attr(used, &nu, idx[i].key.sk_name);
    }
    if (json_array_size(ad) == nu)
        return 0;
    if (n == 0)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Number of attributes in KeySchema does not exactly match "
                                "number of attributes defined in AttributeDefinitions");
    defined[0] = keys[0] = 0;
    json_array_foreach(ad, i, el)
    {
        if (off < sizeof defined)
            off += (size_t)snprintf(defined + off, sizeof defined - off, "%s%s", i ? ", " : "",
                                    json_string_value(json_object_get(el, "AttributeName")));
    }
    off = 0;
    for (i = 0; i < nu && off < sizeof keys; i++)
        off += (size_t)snprintf(keys + off, sizeof keys - off, "%s%s", i ? ", " : "", used[i]);
    return ddb_fail(d, CR_EINVAL,
                    INVALID "Some AttributeDefinitions are not used. AttributeDefinitions: [%s], "
                            "keys used: [%s]",
                    defined, keys);
}

/* The rules across a table's indexes: unique names, LSI keys, limits. */
static int check_indexes(struct ddb *d, const struct table_def *t, const struct index_def *idx,
                         size_t n)
{
    size_t gsi = 0, lsi = 0, projected = 0;

    for (size_t i = 0; i < n; i++) {
        const struct index_def *x = &idx[i];

        for (size_t j = 0; j < i; j++)
            if (strcmp(idx[j].key.name, x->key.name) == 0)
                return ddb_fail(d, CR_EINVAL, INVALID "Duplicate index name: %s", x->key.name);
        if (x->kind == INDEX_LSI && !t->has_sk)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "Table KeySchema does not have a range key, which is "
                                    "required when specifying a LocalSecondaryIndex");
        if (x->kind == INDEX_LSI && strcmp(x->key.pk_name, t->pk_name))
            return ddb_fail(d, CR_EINVAL,
                            INVALID "Index KeySchema does not have the same leading hash key as "
                                    "table KeySchema for index: %s. index hash key: %s, table "
                                    "hash key: %s",
                            x->key.name, x->key.pk_name, t->pk_name);
        if (x->kind == INDEX_LSI && !x->key.has_sk)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "Index KeySchema must have a range key for index: %s",
                            x->key.name);
        gsi += x->kind == INDEX_GSI;
        lsi += x->kind == INDEX_LSI;
        projected += x->n_include;
    }
    if (lsi > CR_MAX_LSI)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Number of LocalSecondaryIndexes exceeds per-table limit of %d",
                        CR_MAX_LSI);
    if (gsi > CR_MAX_GSI)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "GlobalSecondaryIndex count exceeds the per-table limit of %d",
                        CR_MAX_GSI);
    if (projected > CR_MAX_PROJECTED)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "The number of projected attributes of all secondary indexes "
                                "exceeds the per-table limit of %d",
                        CR_MAX_PROJECTED);
    return 0;
}

/* GlobalSecondaryIndexes or LocalSecondaryIndexes of a CreateTable, appended to idx[*n]
 * (room for CR_MAX_INDEXES). */
static int index_list(struct ddb *d, const char *member, const char *path, enum index_kind kind,
                      const json_t *ad, struct index_def *idx, size_t *n)
{
    size_t max = kind == INDEX_GSI ? CR_MAX_GSI : CR_MAX_LSI;
    json_t *list, *el;
    size_t i;
    int rc = ddb_member(d, d->in, member, JSON_ARRAY, &list);

    if (rc < 0 || !list)
        return rc;
    if (json_array_size(list) == 0)
        return ddb_fail(d, CR_EINVAL, INVALID "List of %s is empty", member);
    if (json_array_size(list) > max)
        return kind == INDEX_GSI
                   ? ddb_fail(d, CR_EINVAL,
                              INVALID "GlobalSecondaryIndex count exceeds the per-table limit "
                                      "of %d",
                              CR_MAX_GSI)
                   : ddb_fail(d, CR_EINVAL,
                              INVALID "Number of LocalSecondaryIndexes exceeds per-table limit "
                                      "of %d",
                              CR_MAX_LSI);
    json_array_foreach(list, i, el)
    {
        char at[96];

        snprintf(at, sizeof at, "%s.%zu.member.", path, i + 1);
        rc = index_spec(d, el, ad, kind, at, &idx[*n]);
        if (rc < 0)
            return rc;
        (*n)++;
    }
    return 0;
}

static int billing(struct ddb *d)
{
    json_t *tp;
    int rc = ddb_member(d, d->in, "BillingMode", JSON_STRING, &d->billing);
    const char *mode = d->billing ? json_string_value(d->billing) : "PROVISIONED";

    if (rc == 0)
        rc = ddb_member(d, d->in, "ProvisionedThroughput", JSON_OBJECT, &d->throughput);
    if (rc < 0)
        return rc;
    tp = d->throughput;
    if (strcmp(mode, "PROVISIONED") && strcmp(mode, "PAY_PER_REQUEST"))
        return ddb_constraint(d, mode, "billingMode",
                              "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]");
    if (strcmp(mode, "PAY_PER_REQUEST") == 0 && tp)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Neither ReadCapacityUnits nor WriteCapacityUnits can "
                                "be specified when BillingMode is PAY_PER_REQUEST");
    if (strcmp(mode, "PROVISIONED") == 0) {
        json_t *rcu = tp ? json_object_get(tp, "ReadCapacityUnits") : NULL;
        json_t *wcu = tp ? json_object_get(tp, "WriteCapacityUnits") : NULL;

        if (!tp)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "ReadCapacityUnits and WriteCapacityUnits must both "
                                    "be specified when BillingMode is PROVISIONED");
        if (!json_is_integer(rcu) || !json_is_integer(wcu))
            return ddb_constraint(d, NULL, "provisionedThroughput.readCapacityUnits",
                                  "Member must not be null");
        if (json_integer_value(rcu) < 1 || json_integer_value(wcu) < 1)
            return ddb_fail(d, CR_EINVAL,
                            INVALID "ProvisionedThroughput capacity units must be "
                                    "greater than or equal to 1");
    }
    return 0;
}

static int request_tags(struct ddb *d, const json_t *list, struct mutation *m);

/* Tags, when given, are set by the same entry that creates the table (apply stores them in the
 * new table's record), checked as TagResource checks them. */
int ddb_op_create_table(struct ddb *d, json_t **out)
{
    struct index_def *idx;
    struct mutation mut;
    const char *name = NULL;
    json_t *ks = NULL, *ad = NULL, *tags = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_CREATE_TABLE;
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_member(d, d->in, "KeySchema", JSON_ARRAY, &ks);
    if (rc == 0)
        rc = ddb_member(d, d->in, "AttributeDefinitions", JSON_ARRAY, &ad);
    if (rc < 0)
        return rc;
    if (!ks)
        return ddb_constraint(d, NULL, "keySchema", "Member must not be null");
    if (!ad)
        return ddb_constraint(d, NULL, "attributeDefinitions", "Member must not be null");
    idx = cr_arena_alloc(&d->r->arena, CR_MAX_INDEXES * sizeof *idx);
    if (!idx)
        return ddb_nomem(d);
    rc = check_definitions(d, ad);
    if (rc == 0)
        rc = key_schema(d, ks, ad, "", &mut.table);
    if (rc == 0)
        rc = index_list(d, "LocalSecondaryIndexes", "localSecondaryIndexes", INDEX_LSI, ad, idx,
                        &mut.n_indexes);
    if (rc == 0)
        rc = index_list(d, "GlobalSecondaryIndexes", "globalSecondaryIndexes", INDEX_GSI, ad, idx,
                        &mut.n_indexes);
    if (rc == 0)
        rc = check_indexes(d, &mut.table, idx, mut.n_indexes);
    if (rc == 0)
        rc = check_used(d, ad, &mut.table, idx, mut.n_indexes);
    if (rc == 0)
        rc = billing(d);
    if (rc == 0)
        rc = ddb_member(d, d->in, "Tags", JSON_ARRAY, &tags);
    if (rc == 0 && tags)
        rc = request_tags(d, tags, &mut);
    if (rc < 0)
        return rc;
    mut.indexes = idx;
    snprintf(mut.table.name, sizeof mut.table.name, "%s", name);
    rc = ddb_propose(d, &mut, 1);
    if (rc == CR_ETABLEEXISTS)
        return ddb_fail(d, rc, "Table already exists: %s", name);
    return rc;
}

/* The description of the table a write just changed, read after the write. A done handler runs
 * outside the request's read scope (http.c releases the snapshot after the handler, not after
 * the completion), so it ends the snapshot it opens: the loop's next request must not see a
 * stale one. */
static int describe_written(struct ddb *d, const char *name, json_t **out)
{
    struct indexes x;
    int rc = ddb_load_table(d, name, true, &d->def, &d->stats);

    if (rc == 0)
        rc = load_indexes(d, &d->def, &x);
    if (rc == 0)
        *out =
            json_pack("{s:o}", "TableDescription", table_json(d, &d->def, &d->stats, &x, "ACTIVE"));
    ops_conn_release(d->r->oc);
    if (rc < 0)
        return rc;
    return *out ? 0 : ddb_nomem(d);
}

int ddb_done_create_table(struct ddb *d, json_t **out)
{
    return describe_written(d, d->w.results[0].table.name, out);
}

/* ---- UpdateTable ------------------------------------------------------------------------- */

static const struct index_def *find_index(const struct indexes *x, const char *name)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->idx[i].key.name, name) == 0)
            return &x->idx[i];
    return NULL;
}

/* One GlobalSecondaryIndexUpdates element: a Create appended to m's indexes (add), a Delete to
 * its drops, an Update (of throughput: nothing to keep) checked and accepted. */
static int gsi_update(struct ddb *d, const json_t *el, size_t i, const json_t *ad,
                      const struct indexes *cur, struct mutation *m, struct index_def *add,
                      const char **drop)
{
    json_t *create = json_object_get(el, "Create"), *del = json_object_get(el, "Delete");
    json_t *upd = json_object_get(el, "Update");
    const struct index_def *found;
    const char *name = NULL;
    char at[96];
    int rc;

    if (!json_is_object(el) || (create != NULL) + (del != NULL) + (upd != NULL) != 1)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "One of GlobalSecondaryIndexUpdate.Create, Update or Delete "
                                "must be specified");
    if (create) {
        struct index_def *x = &add[m->n_indexes];

        snprintf(at, sizeof at, "globalSecondaryIndexUpdates.%zu.member.create.", i + 1);
        if (!ad)
            return ddb_fail(d, CR_EINVAL,
                            "Invalid KeySchema: Some index key attribute have no definition");
        rc = index_spec(d, create, ad, INDEX_GSI, at, x);
        if (rc < 0)
            return rc;
        if (find_index(cur, x->key.name))
            return ddb_fail(d, CR_EINVAL, INVALID "Index with name: %s already exists",
                            x->key.name);
        m->n_indexes++;
        return 0;
    }
    snprintf(at, sizeof at, "globalSecondaryIndexUpdates.%zu.member.%s.indexName", i + 1,
             del ? "delete" : "update");
    rc = ddb_table_name(d, del ? del : upd, "IndexName", at, &name);
    if (rc < 0)
        return rc;
    found = find_index(cur, name);
    if (!found || found->kind != INDEX_GSI)
        return ddb_fail(d, CR_ENOTABLE, "Requested resource not found: Index: %s not found", name);
    if (del)
        drop[m->n_drop++] = name;
    return 0;
}

/* The indexes cur will have once m applies, into next (for the rules across them). */
static void indexes_after(const struct indexes *cur, const struct mutation *m, struct indexes *next)
{
    next->n = 0;
    for (size_t i = 0; i < cur->n; i++) {
        size_t j = 0;

        while (j < m->n_drop && strcmp(m->drop[j], cur->idx[i].key.name))
            j++;
        if (j == m->n_drop)
            next->idx[next->n++] = cur->idx[i];
    }
    for (size_t i = 0; i < m->n_indexes; i++)
        next->idx[next->n++] = m->indexes[i];
}

/* GSIs are created (and filled from the table's items) or deleted at once: IndexStatus is
 * ACTIVE in the answer. BillingMode and ProvisionedThroughput are accepted and not kept. */
int ddb_op_update_table(struct ddb *d, json_t **out)
{
    struct mutation mut;
    struct indexes cur, next;
    struct index_def *add;
    const char **drop;
    const char *name = NULL;
    json_t *ad = NULL, *updates = NULL, *bm = NULL, *tp = NULL, *el;
    size_t i, n;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_UPDATE_TABLE;
    rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_member(d, d->in, "AttributeDefinitions", JSON_ARRAY, &ad);
    if (rc == 0)
        rc = ddb_member(d, d->in, "GlobalSecondaryIndexUpdates", JSON_ARRAY, &updates);
    if (rc == 0)
        rc = ddb_member(d, d->in, "BillingMode", JSON_STRING, &bm);
    if (rc == 0)
        rc = ddb_member(d, d->in, "ProvisionedThroughput", JSON_OBJECT, &tp);
    if (rc == 0 && ad)
        rc = check_definitions(d, ad);
    if (rc < 0)
        return rc;
    if (!updates && !bm && !tp)
        return ddb_fail(d, CR_EINVAL,
                        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                        "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is "
                        "required");
    rc = ddb_load_table(d, name, true, &d->def, &d->stats);
    if (rc == 0)
        rc = load_indexes(d, &d->def, &cur);
    if (rc < 0)
        return rc;
    n = json_array_size(updates) + 1;
    add = cr_arena_alloc(&d->r->arena, n * sizeof *add);
    drop = cr_arena_alloc(&d->r->arena, n * sizeof *drop);
    next.idx = cr_arena_alloc(&d->r->arena, (cur.n + n) * sizeof *next.idx);
    if (!add || !drop || !next.idx)
        return ddb_nomem(d);
    mut.indexes = add;
    mut.drop = drop;
    json_array_foreach(updates, i, el)
    {
        rc = gsi_update(d, el, i, ad, &cur, &mut, add, drop);
        if (rc < 0)
            return rc;
    }
    /* DynamoDB builds or removes one index at a time, so one call may change only one. */
    if (mut.n_indexes + mut.n_drop > 1) {
        d->error_type = "LimitExceededException";
        return ddb_fail(d, CR_ETOOMANY,
                        "Subscriber limit exceeded: Only 1 online index can be created or deleted "
                        "simultaneously per table");
    }
    indexes_after(&cur, &mut, &next);
    rc = check_indexes(d, &d->def, next.idx, next.n);
    if (rc < 0)
        return rc;
    if (mut.n_indexes == 0 && mut.n_drop == 0) {
        *out = json_pack("{s:o}", "TableDescription",
                         table_json(d, &d->def, &d->stats, &cur, "ACTIVE"));
        return *out ? 0 : ddb_nomem(d);
    }
    snprintf(mut.table.name, sizeof mut.table.name, "%s", name);
    return ddb_propose(d, &mut, 1);
}

int ddb_done_update_table(struct ddb *d, json_t **out)
{
    return describe_written(d, d->w.results[0].table.name, out);
}

int ddb_op_delete_table(struct ddb *d, json_t **out)
{
    struct mutation mut;
    struct indexes *x = cr_arena_alloc(&d->r->arena, sizeof *x);
    const char *name = NULL;
    int rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);

    if (!x)
        return ddb_nomem(d);
    if (rc == 0)
        rc = ddb_load_table(d, name, true, &d->def, &d->stats);
    if (rc == 0)
        rc = load_indexes(d, &d->def, x);
    if (rc < 0)
        return rc;
    d->op_data = x;
    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DELETE_TABLE;
    mut.table = d->def;
    return ddb_propose(d, &mut, 1);
}

int ddb_done_delete_table(struct ddb *d, json_t **out)
{
    *out = json_pack("{s:o}", "TableDescription",
                     table_json(d, &d->def, &d->stats, d->op_data, "DELETING"));
    return *out ? 0 : ddb_nomem(d);
}

int ddb_op_describe_table(struct ddb *d, json_t **out)
{
    struct indexes x;
    const char *name = NULL;
    int rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);

    if (rc == 0)
        rc = ddb_load_table(d, name, true, &d->def, &d->stats);
    if (rc == 0)
        rc = load_indexes(d, &d->def, &x);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:o}", "Table", table_json(d, &d->def, &d->stats, &x, "ACTIVE"));
    return *out ? 0 : ddb_nomem(d);
}

int ddb_op_list_tables(struct ddb *d, json_t **out)
{
    struct ops_read_info info;
    struct table_def *defs;
    json_t *limit_j, *names;
    const char *after = "";
    json_int_t limit = CR_LIST_TABLES_MAX;
    size_t n;
    bool more;
    int rc;

    if (json_object_get(d->in, "ExclusiveStartTableName")) {
        rc = ddb_table_name(d, d->in, "ExclusiveStartTableName", "exclusiveStartTableName", &after);
        if (rc < 0)
            return rc;
    }
    rc = ddb_member(d, d->in, "Limit", JSON_INTEGER, &limit_j);
    if (rc < 0)
        return rc;
    if (limit_j) {
        char text[32];

        limit = json_integer_value(limit_j);
        snprintf(text, sizeof text, "%lld", (long long)limit);
        if (limit < 1)
            return ddb_constraint(d, text, "limit",
                                  "Member must have value greater than or equal to 1");
        if (limit > CR_LIST_TABLES_MAX)
            return ddb_constraint(d, text, "limit",
                                  "Member must have value less than or equal to 100");
    }
    rc = ops_list_tables(d->r->oc, NULL, after, strlen(after), (uint32_t)limit, &d->r->arena, &defs,
                         &n, &more, &info, &d->scratch);
    if (rc < 0)
        return rc;
    names = json_array();
    for (size_t i = 0; names && i < n; i++)
        json_array_append_new(names, json_string(defs[i].name));
    *out = json_pack("{s:o}", "TableNames", names);
    if (*out && more && n)
        json_object_set_new(*out, "LastEvaluatedTableName", json_string(defs[n - 1].name));
    return *out ? 0 : ddb_nomem(d);
}

/* ---- account constants ------------------------------------------------------------------- */

#define ENDPOINT_CACHE_MINUTES 1440 /* DynamoDB's own answer: one day */
#define ACCOUNT_MAX_CAPACITY 80000  /* DynamoDB's default account quotas (RCU and WCU) */
#define TABLE_MAX_CAPACITY 40000    /* DynamoDB's default per-table quotas (RCU and WCU) */
#define MAX_HOST_LEN 255

/* The endpoint is the one the client reached: its Host header (this server, as it knows it). */
int ddb_op_describe_endpoints(struct ddb *d, json_t **out)
{
    const char *host = http_header(d->r, "Host");
    char address[MAX_HOST_LEN + 1];

    if (host && *host && strlen(host) <= MAX_HOST_LEN)
        snprintf(address, sizeof address, "%s", host);
    else
        snprintf(address, sizeof address, "127.0.0.1:%u", (unsigned)http_port(d->r->server));
    *out = json_pack("{s:[{s:s,s:i}]}", "Endpoints", "Address", address, "CachePeriodInMinutes",
                     ENDPOINT_CACHE_MINUTES);
    return *out ? 0 : ddb_nomem(d);
}

int ddb_op_describe_limits(struct ddb *d, json_t **out)
{
    *out = json_pack("{s:I,s:I,s:I,s:I}", "AccountMaxReadCapacityUnits",
                     (json_int_t)ACCOUNT_MAX_CAPACITY, "AccountMaxWriteCapacityUnits",
                     (json_int_t)ACCOUNT_MAX_CAPACITY, "TableMaxReadCapacityUnits",
                     (json_int_t)TABLE_MAX_CAPACITY, "TableMaxWriteCapacityUnits",
                     (json_int_t)TABLE_MAX_CAPACITY);
    return *out ? 0 : ddb_nomem(d);
}

/* ---- tags ---------------------------------------------------------------------------------- */

/*
 * ResourceArn must be a table ARN, arn:aws:dynamodb:<region>:<account>:table/<name>, of an
 * existing table (any region and account: a local server has one of each). Loads d->def.
 */
static int resource_table(struct ddb *d)
{
    static const char prefix[] = "arn:aws:dynamodb:";
    char name[CR_MAX_NAME_LEN + 1];
    const char *arn = NULL, *p, *region_end, *account_end;
    size_t n;
    json_t *j;
    int rc = ddb_member(d, d->in, "ResourceArn", JSON_STRING, &j);

    if (rc < 0)
        return rc;
    if (!j)
        return ddb_constraint(d, NULL, "resourceArn", "Member must not be null");
    arn = json_string_value(j);
    n = strlen(arn);
    if (n < 1)
        return ddb_constraint(d, arn, "resourceArn",
                              "Member must have length greater than or equal to 1");
    if (n > 1283)
        return ddb_constraint(d, arn, "resourceArn",
                              "Member must have length less than or equal to 1283");
    p = arn + strlen(prefix);
    region_end = strncmp(arn, prefix, strlen(prefix)) == 0 ? strchr(p, ':') : NULL;
    account_end = region_end && region_end > p ? strchr(region_end + 1, ':') : NULL;
    if (!account_end || account_end == region_end + 1 || strncmp(account_end + 1, "table/", 6))
        return ddb_fail(d, CR_EINVAL, "Invalid TableArn: Invalid ResourceArn provided as input %s",
                        arn);
    p = account_end + 7;
    n = strlen(p);
    if (n < CR_MIN_TABLE_NAME_LEN || n > CR_MAX_NAME_LEN || catalog_check_name(p, n) < 0)
        return ddb_fail(d, CR_EINVAL, "Invalid TableArn: Invalid ResourceArn provided as input %s",
                        arn);
    memcpy(name, p, n + 1);
    rc = ddb_load_table(d, name, false, &d->def, &d->stats);
    if (rc == CR_ENOTABLE)
        return ddb_fail(d, rc, "Requested resource not found: ResourceArn: %s not found", arn);
    return rc;
}

#define MAX_TAG_KEY 128   /* characters, DynamoDB's */
#define MAX_TAG_VALUE 256 /* characters */
#define TAG_PATTERN                                                                                \
    "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"

/* Characters of a UTF-8 string (its bytes that do not continue a sequence). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* DynamoDB's tag alphabet: letters, numbers, white space and _ . : / = + - @ (any non-ASCII
 * character is taken for a letter). */
static bool tag_chars_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x80 && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
            !(c >= '0' && c <= '9') && !strchr(" \t\n\r_.:/=+-@", c))
            return false;
    }
    return true;
}

/* One tag key or value of a request at `path`: its length in lo..hi characters, its alphabet,
 * no NUL inside. Keys under the reserved aws: prefix are refused. */
static int tag_string(struct ddb *d, const json_t *j, const char *path, size_t lo, size_t hi,
                      bool key, const char **out)
{
    char what[64];
    size_t n;

    if (!j)
        return ddb_constraint(d, NULL, path, "Member must not be null");
    if (!json_is_string(j))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s at %s", ddb_json_type_name(j), path);
    *out = json_string_value(j);
    n = utf8_chars(*out);
    if (strlen(*out) != json_string_length(j) || !tag_chars_ok(*out))
        return ddb_constraint(d, *out, path, TAG_PATTERN);
    if (n < lo || n > hi) {
        snprintf(what, sizeof what, "Member must have length %s or equal to %zu",
                 n < lo ? "greater than" : "less than", n < lo ? lo : hi);
        return ddb_constraint(d, *out, path, what);
    }
    if (key && strncasecmp(*out, "aws:", 4) == 0)
        return ddb_fail(d, CR_EINVAL,
                        INVALID "Tag keys starting with 'aws:' are reserved for "
                                "system use: %s",
                        *out);
    return 0;
}

/* A required, non-empty list member of the request (Tags, TagKeys). */
static int tag_list(struct ddb *d, const char *name, const char *path, json_t **out)
{
    int rc = ddb_member(d, d->in, name, JSON_ARRAY, out);

    if (rc < 0)
        return rc;
    if (!*out)
        return ddb_constraint(d, NULL, path, "Member must not be null");
    if (json_array_size(*out) == 0)
        return ddb_constraint(d, "[]", path, "Member must have length greater than or equal to 1");
    return 0;
}

/* The Tags list of a TagResource or CreateTable request into m->tags (arena): at most CR_MAX_TAGS
 * (a duplicate key counts, and the last value wins), each key and value checked. */
static int request_tags(struct ddb *d, const json_t *list, struct mutation *m)
{
    struct table_tag *tags;
    json_t *el;
    char path[64];
    size_t i;
    int rc;

    if (json_array_size(list) > CR_MAX_TAGS)
        return ddb_fail(d, CR_EINVAL, INVALID "Too many tags: a table can have at most %d tags",
                        CR_MAX_TAGS);
    if (json_array_size(list) == 0)
        return 0;
    tags = cr_arena_alloc(&d->r->arena, json_array_size(list) * sizeof *tags);
    if (!tags)
        return ddb_nomem(d);
    json_array_foreach(list, i, el)
    {
        if (!json_is_object(el))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in Tags", ddb_json_type_name(el));
        snprintf(path, sizeof path, "tags.%zu.member.key", i + 1);
        rc = tag_string(d, json_object_get(el, "Key"), path, 1, MAX_TAG_KEY, true, &tags[i].key);
        snprintf(path, sizeof path, "tags.%zu.member.value", i + 1);
        if (rc == 0)
            rc = tag_string(d, json_object_get(el, "Value"), path, 0, MAX_TAG_VALUE, false,
                            &tags[i].value);
        if (rc < 0)
            return rc;
    }
    m->tags = tags;
    m->n_tags = json_array_size(list);
    return 0;
}

/* Proposes the tag change m of d->def. */
static int propose_tags(struct ddb *d, struct mutation *m)
{
    m->type = MUT_UPDATE_TABLE;
    snprintf(m->table.name, sizeof m->table.name, "%s", d->def.name);
    d->own_results = true;
    return ddb_propose(d, m, 1);
}

/* Tags are added, or their value replaced; more than CR_MAX_TAGS in all is refused by apply. */
int ddb_op_tag_resource(struct ddb *d, json_t **out)
{
    struct mutation mut;
    json_t *list;
    int rc = tag_list(d, "Tags", "tags", &list);

    (void)out;
    if (rc == 0)
        rc = resource_table(d);
    if (rc < 0)
        return rc;
    memset(&mut, 0, sizeof mut);
    rc = request_tags(d, list, &mut);
    return rc < 0 ? rc : propose_tags(d, &mut);
}

/* Keys that are not set are ignored, as DynamoDB does. */
int ddb_op_untag_resource(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char **keys;
    json_t *list, *el;
    char path[64];
    size_t i;
    int rc = tag_list(d, "TagKeys", "tagKeys", &list);

    (void)out;
    if (rc == 0)
        rc = resource_table(d);
    if (rc < 0)
        return rc;
    keys = cr_arena_alloc(&d->r->arena, json_array_size(list) * sizeof *keys);
    if (!keys)
        return ddb_nomem(d);
    json_array_foreach(list, i, el)
    {
        snprintf(path, sizeof path, "tagKeys.%zu.member", i + 1);
        rc = tag_string(d, el, path, 1, MAX_TAG_KEY, true, &keys[i]);
        if (rc < 0)
            return rc;
    }
    memset(&mut, 0, sizeof mut);
    mut.untag = keys;
    mut.n_untag = json_array_size(list);
    return propose_tags(d, &mut);
}

/* TagResource and UntagResource answer nothing; their entry's failure is the table's. */
int ddb_done_tags(struct ddb *d, json_t **out)
{
    const struct mutation_result *res = &d->w.results[0];

    if (res->code == CR_ETOOMANY)
        return ddb_fail(d, CR_EINVAL, INVALID "Too many tags: a table can have at most %d tags",
                        CR_MAX_TAGS);
    if (res->code == CR_ENOTABLE)
        return ddb_fail(d, res->code, "Requested resource not found");
    if (res->code)
        return res->code;
    *out = json_object();
    return *out ? 0 : ddb_nomem(d);
}

/* All tags at once: at most CR_MAX_TAGS, so NextToken is never needed (and is accepted). */
int ddb_op_list_tags_of_resource(struct ddb *d, json_t **out)
{
    struct table_tag *tags = NULL;
    json_t *token, *list;
    size_t n = 0;
    int rc = ddb_member(d, d->in, "NextToken", JSON_STRING, &token);

    if (rc == 0)
        rc = resource_table(d);
    if (rc == 0)
        rc = ops_describe_tags(d->r->oc, &d->def, &d->r->arena, &tags, &n, &d->scratch);
    if (rc < 0)
        return rc;
    list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list,
                              json_pack("{s:s,s:s}", "Key", tags[i].key, "Value", tags[i].value));
    *out = json_pack("{s:o}", "Tags", list);
    return *out ? 0 : ddb_nomem(d);
}

/* ---- time to live ------------------------------------------------------------------------ */

/* UpdateTimeToLive's request, kept for its answer. */
struct ttl_spec {
    bool enabled;
    const char *attr;
};

int ddb_op_update_time_to_live(struct ddb *d, json_t **out)
{
    struct ttl_spec *spec = cr_arena_alloc(&d->r->arena, sizeof *spec);
    struct mutation mut;
    const char *name = NULL;
    json_t *j, *enabled, *attr;
    size_t n;
    int rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);

    (void)out;
    if (!spec)
        return ddb_nomem(d);
    if (rc == 0)
        rc = ddb_member(d, d->in, "TimeToLiveSpecification", JSON_OBJECT, &j);
    if (rc < 0)
        return rc;
    if (!j)
        return ddb_constraint(d, NULL, "timeToLiveSpecification", "Member must not be null");
    rc = ddb_member(d, j, "Enabled", JSON_TRUE, &enabled);
    if (rc == 0)
        rc = ddb_member(d, j, "AttributeName", JSON_STRING, &attr);
    if (rc < 0)
        return rc;
    if (!enabled)
        return ddb_constraint(d, NULL, "timeToLiveSpecification.enabled",
                              "Member must not be null");
    if (!attr)
        return ddb_constraint(d, NULL, "timeToLiveSpecification.attributeName",
                              "Member must not be null");
    spec->enabled = json_is_true(enabled);
    spec->attr = json_string_value(attr);
    n = strlen(spec->attr);
    if (n == 0 || n > CR_MAX_NAME_LEN || n != json_string_length(attr))
        return ddb_constraint(d, spec->attr, "timeToLiveSpecification.attributeName",
                              n == 0 ? "Member must have length greater than or equal to 1"
                                     : "Member must have length less than or equal to 255");
    rc = ddb_load_table(d, name, true, &d->def, NULL);
    if (rc < 0)
        return rc;
    memset(&mut, 0, sizeof mut);
    mut.type = MUT_UPDATE_TABLE;
    snprintf(mut.table.name, sizeof mut.table.name, "%s", name);
    mut.ttl = spec->enabled ? TTL_ENABLE : TTL_DISABLE;
    mut.ttl_attr = spec->attr;
    d->op_data = spec;
    d->own_results = true;
    return ddb_propose(d, &mut, 1);
}

/* A refused change reports the setting apply saw (the result's table), in DynamoDB's words. */
int ddb_done_update_time_to_live(struct ddb *d, json_t **out)
{
    const struct mutation_result *res = &d->w.results[0];
    const struct ttl_spec *spec = d->op_data;
    const char *cur = res->table.ttl_attr;

    if (res->code == CR_EINVAL && cur[0] && strcmp(cur, spec->attr))
        return ddb_fail(d, CR_EINVAL,
                        "TimeToLive is active on a different AttributeName: current "
                        "AttributeName is %s",
                        cur);
    if (res->code == CR_EINVAL)
        return ddb_fail(d, CR_EINVAL, "TimeToLive is already %s",
                        spec->enabled ? "enabled" : "disabled");
    if (res->code == CR_ENOTABLE)
        return ddb_fail(d, res->code, "Requested resource not found: Table: %s not found",
                        d->def.name);
    if (res->code)
        return res->code;
    *out = json_pack("{s:{s:b,s:s}}", "TimeToLiveSpecification", "Enabled", spec->enabled,
                     "AttributeName", spec->attr);
    return *out ? 0 : ddb_nomem(d);
}

int ddb_op_describe_time_to_live(struct ddb *d, json_t **out)
{
    const char *name = NULL;
    int rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);

    if (rc == 0)
        rc = ddb_load_table(d, name, true, &d->def, NULL);
    if (rc < 0)
        return rc;
    if (d->def.ttl_attr[0])
        *out = json_pack("{s:{s:s,s:s}}", "TimeToLiveDescription", "TimeToLiveStatus", "ENABLED",
                         "AttributeName", d->def.ttl_attr);
    else
        *out = json_pack("{s:{s:s}}", "TimeToLiveDescription", "TimeToLiveStatus", "DISABLED");
    return *out ? 0 : ddb_nomem(d);
}
