/*
 * DynamoDB table operations: CreateTable, DeleteTable, DescribeTable, ListTables; the account
 * constants DescribeEndpoints and DescribeLimits; and tags (TagResource, UntagResource,
 * ListTagsOfResource), which are not stored yet.
 */
#include "common/error.h"
#include "common/hash.h"
#include "server/http/ddb_int.h"
#include "server/http/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static json_t *attr_defs_json(const struct table_def *def)
{
    json_t *ad = json_pack("[{s:s,s:s}]", "AttributeName", def->pk_name, "AttributeType",
                           ddb_key_code(def->pk_type));

    if (ad && def->has_sk)
        json_array_append_new(ad, json_pack("{s:s,s:s}", "AttributeName", def->sk_name,
                                            "AttributeType", ddb_key_code(def->sk_type)));
    return ad;
}

/*
 * A TableDescription. The billing mode is not part of the catalog yet: CreateTable echoes
 * what it was given (billing, throughput), later descriptions report on-demand.
 */
static json_t *table_json(struct ddb *d, const struct table_def *def,
                          const struct table_stats *stats, const char *status)
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
                  attr_defs_json(def), "TableName", def->name, "KeySchema", key_schema_json(def),
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

static int key_schema(struct ddb *d, const json_t *ks, const json_t *ad, struct table_def *t)
{
    json_t *el;
    size_t i;
    int rc;

    if (json_array_size(ks) == 0)
        return ddb_constraint(d, "[]", "keySchema",
                              "Member must have length greater than or equal to 1");
    if (json_array_size(ks) > 2)
        return ddb_constraint(d, "[...]", "keySchema",
                              "Member must have length less than or equal to 2");
    json_array_foreach(ks, i, el)
    {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        const char *kt = json_string_value(json_object_get(el, "KeyType"));
        char path[64];

        snprintf(path, sizeof path, "keySchema.%zu.member.attributeName", i + 1);
        if (!n || !*n)
            return ddb_constraint(d, NULL, path, "Member must not be null");
        if (strlen(n) > CR_MAX_NAME_LEN)
            return ddb_constraint(d, n, path, "Member must have length less than or equal to 255");
        snprintf(path, sizeof path, "keySchema.%zu.member.keyType", i + 1);
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
    if (rc == 0 && json_array_size(ad) != json_array_size(ks))
        rc = ddb_fail(d, CR_EINVAL,
                      INVALID "Number of attributes in KeySchema does not exactly match "
                              "number of attributes defined in AttributeDefinitions");
    return rc;
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

int ddb_op_create_table(struct ddb *d, json_t **out)
{
    static const char *const later[] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes", NULL};
    struct mutation mut;
    const char *name = NULL;
    json_t *ks = NULL, *ad = NULL;
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
    rc = check_definitions(d, ad);
    if (rc == 0)
        rc = ddb_reject(d, d->in, later);
    if (rc == 0)
        rc = key_schema(d, ks, ad, &mut.table);
    if (rc == 0)
        rc = billing(d);
    if (rc < 0)
        return rc;
    snprintf(mut.table.name, sizeof mut.table.name, "%s", name);
    rc = ddb_propose(d, &mut, 1);
    if (rc == CR_ETABLEEXISTS)
        return ddb_fail(d, rc, "Table already exists: %s", name);
    return rc;
}

int ddb_done_create_table(struct ddb *d, json_t **out)
{
    struct table_stats empty = {0, 0};

    *out = json_pack("{s:o}", "TableDescription",
                     table_json(d, &d->w.results[0].table, &empty, "ACTIVE"));
    return *out ? 0 : ddb_nomem(d);
}

int ddb_op_delete_table(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char *name = NULL;
    int rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);

    if (rc == 0)
        rc = ddb_load_table(d, name, true, &d->def, &d->stats);
    if (rc < 0)
        return rc;
    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DELETE_TABLE;
    mut.table = d->def;
    return ddb_propose(d, &mut, 1);
}

int ddb_done_delete_table(struct ddb *d, json_t **out)
{
    *out = json_pack("{s:o}", "TableDescription", table_json(d, &d->def, &d->stats, "DELETING"));
    return *out ? 0 : ddb_nomem(d);
}

int ddb_op_describe_table(struct ddb *d, json_t **out)
{
    const char *name = NULL;
    int rc = ddb_table_name(d, d->in, "TableName", "tableName", &name);

    if (rc == 0)
        rc = ddb_load_table(d, name, true, &d->def, &d->stats);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:o}", "Table", table_json(d, &d->def, &d->stats, "ACTIVE"));
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

/* ---- tags: not stored yet ---------------------------------------------------------------- */

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

/* TagResource and UntagResource: the table must exist; storing tags needs a catalog field. */
static int tags_unsupported(struct ddb *d, const char *list, const char *path, const char *op)
{
    json_t *j;
    int rc = ddb_member(d, d->in, list, JSON_ARRAY, &j);

    if (rc < 0)
        return rc;
    if (!j)
        return ddb_constraint(d, NULL, path, "Member must not be null");
    rc = resource_table(d);
    if (rc < 0)
        return rc;
    return ddb_fail(d, CR_EINVAL, "%s is not supported by this server yet: tags are not stored",
                    op);
}

int ddb_op_tag_resource(struct ddb *d, json_t **out)
{
    (void)out;
    return tags_unsupported(d, "Tags", "tags", "TagResource");
}

int ddb_op_untag_resource(struct ddb *d, json_t **out)
{
    (void)out;
    return tags_unsupported(d, "TagKeys", "tagKeys", "UntagResource");
}

/* No tag is ever stored, so an existing table has none (CreateTable's Tags are ignored). */
int ddb_op_list_tags_of_resource(struct ddb *d, json_t **out)
{
    json_t *token;
    int rc = ddb_member(d, d->in, "NextToken", JSON_STRING, &token);

    if (rc == 0)
        rc = resource_table(d);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:[]}", "Tags");
    return *out ? 0 : ddb_nomem(d);
}
