/*
 * The DynamoDB dialect: `POST /` with `X-Amz-Target: DynamoDB_20120810.<Op>`, JSON bodies
 * (application/x-amz-json-1.0) translated onto ops.h and back. Validation happens here first,
 * in DynamoDB's words, so SDK users see the messages DynamoDB would give; ops.c validates
 * again as the authority and its verdicts are mapped through the one error table below.
 * Must not write storage except through ops_write, must not parse expressions (that is
 * query/ddb_expr's job), and must answer every request exactly once.
 *
 * BatchWriteItem is applied as ONE log entry: every request is validated first, then all of
 * them apply or none does. DynamoDB itself is not atomic across a batch, but an all-or-nothing
 * batch is a valid DynamoDB outcome (UnprocessedItems is always empty), and it means a failed
 * batch never leaves half its items behind.
 *
 * Not yet (clear ValidationException rather than silent acceptance): expressions
 * (ConditionExpression, KeyConditionExpression, FilterExpression, ProjectionExpression,
 * UpdateExpression) until query/ddb_expr lands, secondary indexes, and any Expected other
 * than one Exists/EQ test. See docs/dynamodb.md.
 */
#include "common/error.h"
#include "common/hash.h"
#include "server/http/ddb_av.h"
#include "server/http/http_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING 1 /* a handler proposed a write; write_done answers */
#define TARGET_PREFIX "DynamoDB_20120810."
#define CONTENT_TYPE "application/x-amz-json-1.0"
#define ERROR_NS "com.amazonaws.dynamodb.v20120810#"
#define INVALID "One or more parameter values were invalid: "
#define MAX_BATCH_WRITE 25 /* DynamoDB's BatchWriteItem limit */
#define MAX_BATCH_GET 100  /* DynamoDB's BatchGetItem limit */
#define MAX_SEGMENTS 1000000
#define ACCOUNT "000000000000"

/*
 * CR_E* -> DynamoDB error: (code, exception name, HTTP status, DynamoDB's default message).
 * The default text is used when the error comes from below (ops.c speaks Cirrus, not
 * DynamoDB); errors found here carry their own DynamoDB text. Anything else is a 500
 * InternalServerError.
 */
#define DDB_ERRORS(X)                                                                              \
    X(CR_ENOTABLE, "ResourceNotFoundException", 400, "Requested resource not found")               \
    X(CR_ETABLEEXISTS, "ResourceInUseException", 400, "Table already exists")                      \
    X(CR_ECONDITION, "ConditionalCheckFailedException", 400, "The conditional request failed")     \
    X(CR_EITEMTOOBIG, "ValidationException", 400,                                                  \
      "Item size has exceeded the maximum allowed size")                                           \
    X(CR_EKEYTOOBIG, "ValidationException", 400,                                                   \
      INVALID "Size of a key attribute has exceeded the maximum size limit")                       \
    X(CR_ETYPE, "ValidationException", 400, "The provided key element does not match the schema")  \
    X(CR_EMISSINGKEY, "ValidationException", 400,                                                  \
      "The provided key element does not match the schema")                                        \
    X(CR_EINVAL, "ValidationException", 400, "One or more parameter values were invalid")          \
    X(CR_ENESTING, "ValidationException", 400, "Nesting Levels have exceeded supported limits")    \
    X(CR_ENUMBER, "ValidationException", 400,                                                      \
      "Number overflow. Attempting to store a number with magnitude larger than supported range")  \
    X(CR_ETOOMANY, "ValidationException", 400, "Too many items requested")                         \
    X(CR_ENAME, "ValidationException", 400, "Invalid table or attribute name")                     \
    X(CR_ESCHEMA, "ValidationException", 400, "Invalid KeySchema")                                 \
    X(CR_ECURSOR, "ValidationException", 400,                                                      \
      "The provided starting key is invalid: The provided key element does not match the schema")  \
    X(CR_EFRAMETOOBIG, "ValidationException", 413, "Request size exceeds the limit")               \
    X(CR_EPROTO, "SerializationException", 400, "Malformed request")                               \
    X(CR_EUNKNOWNOP, "UnknownOperationException", 400, "Unknown operation")                        \
    X(CR_EOVERLOAD, "ThrottlingException", 400,                                                    \
      "Rate of requests exceeds the allowed throughput.")                                          \
    X(CR_ESHUTDOWN, "ServiceUnavailable", 503, "The server is shutting down")

struct ddb;
typedef int (*ddb_op_fn)(struct ddb *d, json_t **out);

struct ddb {
    struct http_req *r;
    json_t *in;
    size_t op;
    struct errmsg e;
    bool own_text;         /* e.text is DynamoDB's words */
    struct errmsg scratch; /* Cirrus texts from ops.c: never shown */
    struct table_def def;  /* the table of a single-table operation */
    struct table_stats stats;
    json_t *billing;    /* CreateTable: BillingMode, echoed; borrowed from in */
    json_t *throughput; /* CreateTable: ProvisionedThroughput, echoed; borrowed from in */
    bool return_old;
    struct ops_write w;
};

/* ---- errors ------------------------------------------------------------------------------ */

static int fail(struct ddb *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ddb *d, int code, const char *fmt, ...)
{
    va_list ap;

    d->e.code = code;
    va_start(ap, fmt);
    vsnprintf(d->e.text, sizeof d->e.text, fmt, ap);
    va_end(ap);
    d->own_text = true;
    return code;
}

/* "1 validation error detected: Value 'x' at 'path' failed to satisfy constraint: ..." */
static int constraint(struct ddb *d, const char *value, const char *path, const char *what)
{
    if (value)
        return fail(d, CR_EINVAL,
                    "1 validation error detected: Value '%.100s' at '%s' failed to satisfy "
                    "constraint: %s",
                    value, path, what);
    return fail(d, CR_EINVAL,
                "1 validation error detected: Value null at '%s' failed to satisfy constraint: %s",
                path, what);
}

static int unsupported(struct ddb *d, const char *param)
{
    return fail(d, CR_EINVAL, "%s is not supported by this server yet", param);
}

static int nomem(struct ddb *d)
{
    return fail(d, CR_ENOMEM, "out of memory");
}

static void error_body(int code, const char *own, int *status, json_t **out)
{
    const char *name = "InternalServerError", *text = "Internal server error";
    char type[128];

    *status = 500;
    switch (code) {
#define DDB_ERROR_CASE(c, n, s, m)                                                                 \
    case c:                                                                                        \
        name = n;                                                                                  \
        *status = s;                                                                               \
        text = m;                                                                                  \
        break;
        DDB_ERRORS(DDB_ERROR_CASE)
#undef DDB_ERROR_CASE
    default:
        break;
    }
    snprintf(type, sizeof type, ERROR_NS "%s", name);
    *out = json_pack("{s:s,s:s}", "__type", type, "message", own ? own : text);
}

/* Answers d's request: out (consumed) on success, else the error in d->e. */
static void finish(struct ddb *d, int rc, json_t *out)
{
    int status = 200;
    char *body;

    if (rc < 0) {
        json_decref(out);
        error_body(rc, d->own_text && d->e.code == rc ? d->e.text : NULL, &status, &out);
    }
    body = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (!body) {
        status = 500;
        body = strdup("{\"__type\":\"" ERROR_NS "InternalServerError\",\"message\":\"out of "
                      "memory\"}");
    }
    http_reply(d->r, status, CONTENT_TYPE, body, body ? strlen(body) : 0);
}

/* ---- request members --------------------------------------------------------------------- */

static const char *json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "START_OBJECT";
    case JSON_ARRAY:
        return "START_ARRAY";
    case JSON_STRING:
        return "VALUE_STRING";
    case JSON_INTEGER:
    case JSON_REAL:
        return "VALUE_NUMBER";
    case JSON_TRUE:
    case JSON_FALSE:
        return "VALUE_BOOLEAN";
    default:
        return "VALUE_NULL";
    }
}

/* Member `name` of obj: *out NULL when absent (or JSON null); SerializationException when it
 * is of another JSON type than `type` (JSON_TRUE stands for any boolean). */
static int member(struct ddb *d, const json_t *obj, const char *name, json_type type, json_t **out)
{
    json_t *j = json_object_get(obj, name);
    bool ok;

    *out = NULL;
    if (!j || json_is_null(j))
        return 0;
    ok = type == JSON_TRUE ? json_is_boolean(j) : json_typeof(j) == type;
    if (!ok)
        return fail(d, CR_EPROTO, "Unexpected %s for member %s", json_type_name(j), name);
    *out = j;
    return 0;
}

static int flag(struct ddb *d, const json_t *obj, const char *name, bool *out)
{
    json_t *j;
    int rc = member(d, obj, name, JSON_TRUE, &j);

    *out = j && json_is_true(j);
    return rc;
}

/* Fails when any of the named members is present: parameters this slice does not support. */
static int reject(struct ddb *d, const json_t *obj, const char *const *names)
{
    for (; *names; names++) {
        json_t *j = json_object_get(obj, *names);

        if (j && !json_is_null(j))
            return unsupported(d, *names);
    }
    return 0;
}

static int table_name(struct ddb *d, const json_t *obj, const char *name, const char *path,
                      const char **out)
{
    json_t *j;
    const char *s;
    size_t n;
    int rc = member(d, obj, name, JSON_STRING, &j);

    if (rc < 0)
        return rc;
    if (!j)
        return constraint(d, NULL, path, "Member must not be null");
    s = json_string_value(j);
    n = json_string_length(j);
    if (n < CR_MIN_TABLE_NAME_LEN)
        return constraint(d, s, path, "Member must have length greater than or equal to 3");
    if (n > CR_MAX_NAME_LEN)
        return constraint(d, s, path, "Member must have length less than or equal to 255");
    if (catalog_check_name(s, n) < 0)
        return constraint(d, s, path,
                          "Member must satisfy regular expression pattern: "
                          "[a-zA-Z0-9_.-]+");
    *out = s;
    return 0;
}

static void read_opts(bool consistent, struct ops_read_opts *ro)
{
    memset(ro, 0, sizeof *ro);
    ro->level = consistent ? OPS_STRONG : OPS_EVENTUAL;
}

/* Loads `name` into def. `describe`: the missing-table text DescribeTable and DeleteTable
 * give, else the item operations'. */
static int load_table(struct ddb *d, const char *name, bool describe, struct table_def *def,
                      struct table_stats *stats)
{
    struct ops_read_info info;
    int rc = ops_describe_table(d->r->oc, NULL, name, strlen(name), def, stats, &info, &d->scratch);

    if (rc == CR_ENOTABLE && describe)
        return fail(d, rc, "Requested resource not found: Table: %s not found", name);
    if (rc == CR_ENOTABLE)
        return fail(d, rc, "Requested resource not found");
    return rc;
}

/* ---- keys and items ------------------------------------------------------------------------ */

static const char *type_code(enum value_type t)
{
    switch (t) {
    case VT_NULL:
        return "NULL";
    case VT_BOOL:
        return "BOOL";
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
    case VT_GEOPOINT:
        return "M";
    case VT_ARRAY:
        return "L";
    default:
        return "S";
    }
}

static const char *key_code(enum key_type t)
{
    return t == KEY_S ? "S" : t == KEY_N ? "N" : "B";
}

static bool type_matches(enum key_type t, enum value_type v)
{
    return t == KEY_S   ? v == VT_STRING
           : t == KEY_B ? v == VT_BYTES
                        : (v == VT_DECIMAL || v == VT_INT || v == VT_DOUBLE);
}

/* One key attribute of an item (in_item) or of a key. */
static int check_key_attr(struct ddb *d, const struct value *m, const char *name,
                          enum key_type type, bool hash, bool in_item)
{
    const struct value *v = value_map_get(m, name, strlen(name));

    if (!v)
        return in_item
                   ? fail(d, CR_EMISSINGKEY, INVALID "Missing the key %s in the item", name)
                   : fail(d, CR_EMISSINGKEY, "The provided key element does not match the schema");
    if (!type_matches(type, v->type))
        return in_item
                   ? fail(d, CR_ETYPE, INVALID "Type mismatch for key %s expected: %s actual: %s",
                          name, key_code(type), type_code(v->type))
                   : fail(d, CR_ETYPE, "The provided key element does not match the schema");
    if (type == KEY_N)
        return 0;
    if (v->u.s.len == 0)
        return fail(d, CR_EINVAL,
                    "One or more parameter values are not valid. The AttributeValue for a key "
                    "attribute cannot contain an empty %s value. Key: %s",
                    type == KEY_S ? "string" : "binary", name);
    if (hash && v->u.s.len > CR_MAX_PK_SIZE)
        return fail(d, CR_EKEYTOOBIG,
                    INVALID "Size of hashkey has exceeded the maximum size limit of2048 bytes");
    if (!hash && v->u.s.len > CR_MAX_SK_SIZE)
        return fail(d, CR_EKEYTOOBIG,
                    INVALID "Aggregated size of all range keys has exceeded "
                            "the size limit of 1024 bytes");
    return 0;
}

/* A key map (exactly the key attributes) or a whole item, in DynamoDB's words. */
static int check_key(struct ddb *d, const struct table_def *def, const struct value *m,
                     bool in_item)
{
    int rc;

    if (!in_item && m->u.map.n != (def->has_sk ? 2u : 1u))
        return fail(d, CR_EINVAL, "The provided key element does not match the schema");
    rc = check_key_attr(d, m, def->pk_name, def->pk_type, true, in_item);
    if (rc == 0 && def->has_sk)
        rc = check_key_attr(d, m, def->sk_name, def->sk_type, false, in_item);
    if (rc == 0 && in_item && value_ddb_size(m) > CR_MAX_ITEM_SIZE)
        rc = fail(d, CR_EITEMTOOBIG, "Item size has exceeded the maximum allowed size");
    return rc;
}

/* An attribute map member (Item, Key, ExclusiveStartKey) converted and checked for def. */
static int key_or_item(struct ddb *d, const json_t *obj, const char *name, const char *path,
                       const struct table_def *def, bool in_item, struct value *out)
{
    json_t *j;
    int rc = member(d, obj, name, JSON_OBJECT, &j);

    if (rc < 0)
        return rc;
    if (!j)
        return constraint(d, NULL, path, "Member must not be null");
    rc = ddb_item_to_value(j, &d->r->arena, out, &d->e);
    if (rc < 0) {
        d->own_text = true;
        return rc;
    }
    return check_key(d, def, out, in_item);
}

/* The key attributes of an item as an attribute map (LastEvaluatedKey). */
static json_t *key_json(const struct table_def *def, const struct value *item)
{
    json_t *o = json_object();
    const char *names[2] = {def->pk_name, def->has_sk ? def->sk_name : NULL};

    for (int i = 0; o && i < 2 && names[i]; i++) {
        const struct value *v = value_map_get(item, names[i], strlen(names[i]));
        json_t *av = v ? ddb_av_from_value(v) : NULL;

        if (!av || json_object_set_new(o, names[i], av) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* AttributesToGet (the legacy projection): keeps the named top-level attributes. */
static int attributes_to_get(struct ddb *d, const json_t *obj, json_t **out)
{
    json_t *j, *el;
    size_t i;
    int rc = member(d, obj, "AttributesToGet", JSON_ARRAY, &j);

    *out = j;
    if (rc < 0 || !j)
        return rc;
    if (json_array_size(j) == 0)
        return constraint(d, "[]", "attributesToGet",
                          "Member must have length greater than or equal to 1");
    json_array_foreach(j, i, el)
    {
        if (!json_is_string(el))
            return fail(d, CR_EPROTO, "Unexpected %s in AttributesToGet", json_type_name(el));
    }
    return 0;
}

static json_t *item_json(const struct value *item, const json_t *only)
{
    json_t *o = ddb_item_from_value(item);
    const char *name = NULL;
    json_t *v, *el;
    void *tmp;
    size_t i;

    if (!o || !only)
        return o;
    json_object_foreach_safe(o, tmp, name, v)
    {
        bool keep = false;

        json_array_foreach(only, i, el)
        {
            keep = keep || strcmp(json_string_value(el), name) == 0;
        }
        if (!keep)
            json_object_del(o, name);
    }
    return o;
}

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
                           key_code(def->pk_type));

    if (ad && def->has_sk)
        json_array_append_new(ad, json_pack("{s:s,s:s}", "AttributeName", def->sk_name,
                                            "AttributeType", key_code(def->sk_type)));
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
    return fail(d, CR_ESCHEMA, "Invalid KeySchema: Some index key attribute have no definition");
}

static int check_definitions(struct ddb *d, const json_t *ad)
{
    json_t *el, *other;
    size_t i, k;
    char path[96];

    if (json_array_size(ad) == 0)
        return constraint(d, "[]", "attributeDefinitions",
                          "Member must have length greater than or equal to 1");
    json_array_foreach(ad, i, el)
    {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        const char *t = json_string_value(json_object_get(el, "AttributeType"));

        if (!json_is_object(el))
            return fail(d, CR_EPROTO, "Unexpected %s in AttributeDefinitions", json_type_name(el));
        snprintf(path, sizeof path, "attributeDefinitions.%zu.member.attributeName", i + 1);
        if (!n || !*n)
            return constraint(d, NULL, path, "Member must not be null");
        snprintf(path, sizeof path, "attributeDefinitions.%zu.member.attributeType", i + 1);
        if (!t || (strcmp(t, "S") && strcmp(t, "N") && strcmp(t, "B")))
            return constraint(d, t, path, "Member must satisfy enum value set: [B, N, S]");
        json_array_foreach(ad, k, other)
        {
            const char *o = json_string_value(json_object_get(other, "AttributeName"));

            if (k > i && o && strcmp(o, n) == 0)
                return fail(d, CR_EINVAL,
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
        return constraint(d, "[]", "keySchema",
                          "Member must have length greater than or equal to 1");
    if (json_array_size(ks) > 2)
        return constraint(d, "[...]", "keySchema",
                          "Member must have length less than or equal to 2");
    json_array_foreach(ks, i, el)
    {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        const char *kt = json_string_value(json_object_get(el, "KeyType"));
        char path[64];

        snprintf(path, sizeof path, "keySchema.%zu.member.attributeName", i + 1);
        if (!n || !*n)
            return constraint(d, NULL, path, "Member must not be null");
        if (strlen(n) > CR_MAX_NAME_LEN)
            return constraint(d, n, path, "Member must have length less than or equal to 255");
        snprintf(path, sizeof path, "keySchema.%zu.member.keyType", i + 1);
        if (!kt || (strcmp(kt, "HASH") && strcmp(kt, "RANGE")))
            return constraint(d, kt, path, "Member must satisfy enum value set: [HASH, RANGE]");
        if (i == 0 && strcmp(kt, "HASH"))
            return fail(d, CR_ESCHEMA,
                        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
        if (i == 1 && strcmp(kt, "RANGE"))
            return fail(d, CR_ESCHEMA,
                        "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
        snprintf(i ? t->sk_name : t->pk_name, sizeof t->pk_name, "%s", n);
    }
    t->has_sk = json_array_size(ks) == 2;
    if (t->has_sk && strcmp(t->pk_name, t->sk_name) == 0)
        return fail(d, CR_ESCHEMA,
                    "Both the Hash Key and the Range Key element in the KeySchema "
                    "have the same name");
    rc = attr_type(d, ad, t->pk_name, &t->pk_type);
    if (rc == 0 && t->has_sk)
        rc = attr_type(d, ad, t->sk_name, &t->sk_type);
    if (rc == 0 && json_array_size(ad) != json_array_size(ks))
        rc = fail(d, CR_EINVAL,
                  INVALID "Number of attributes in KeySchema does not exactly match "
                          "number of attributes defined in AttributeDefinitions");
    return rc;
}

static int billing(struct ddb *d)
{
    json_t *tp;
    int rc = member(d, d->in, "BillingMode", JSON_STRING, &d->billing);
    const char *mode = d->billing ? json_string_value(d->billing) : "PROVISIONED";

    if (rc == 0)
        rc = member(d, d->in, "ProvisionedThroughput", JSON_OBJECT, &d->throughput);
    if (rc < 0)
        return rc;
    tp = d->throughput;
    if (strcmp(mode, "PROVISIONED") && strcmp(mode, "PAY_PER_REQUEST"))
        return constraint(d, mode, "billingMode",
                          "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]");
    if (strcmp(mode, "PAY_PER_REQUEST") == 0 && tp)
        return fail(d, CR_EINVAL,
                    INVALID "Neither ReadCapacityUnits nor WriteCapacityUnits can "
                            "be specified when BillingMode is PAY_PER_REQUEST");
    if (strcmp(mode, "PROVISIONED") == 0) {
        json_t *rcu = tp ? json_object_get(tp, "ReadCapacityUnits") : NULL;
        json_t *wcu = tp ? json_object_get(tp, "WriteCapacityUnits") : NULL;

        if (!tp)
            return fail(d, CR_EINVAL,
                        INVALID "ReadCapacityUnits and WriteCapacityUnits must both "
                                "be specified when BillingMode is PROVISIONED");
        if (!json_is_integer(rcu) || !json_is_integer(wcu))
            return constraint(d, NULL, "provisionedThroughput.readCapacityUnits",
                              "Member must not be null");
        if (json_integer_value(rcu) < 1 || json_integer_value(wcu) < 1)
            return fail(d, CR_EINVAL,
                        INVALID "ProvisionedThroughput capacity units must be "
                                "greater than or equal to 1");
    }
    return 0;
}

static void write_done(struct ops_write *w);

static int propose(struct ddb *d, const struct mutation *muts, size_t n)
{
    int rc;

    d->w.arena = &d->r->arena;
    d->w.done = write_done;
    d->w.data = d;
    rc = ops_write(d->r->oc, muts, n, &d->w, &d->scratch);
    return rc < 0 ? rc : PENDING;
}

static int op_create_table(struct ddb *d, json_t **out)
{
    static const char *const later[] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes", NULL};
    struct mutation mut;
    const char *name = NULL;
    json_t *ks = NULL, *ad = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_CREATE_TABLE;
    rc = table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = member(d, d->in, "KeySchema", JSON_ARRAY, &ks);
    if (rc == 0)
        rc = member(d, d->in, "AttributeDefinitions", JSON_ARRAY, &ad);
    if (rc < 0)
        return rc;
    if (!ks)
        return constraint(d, NULL, "keySchema", "Member must not be null");
    if (!ad)
        return constraint(d, NULL, "attributeDefinitions", "Member must not be null");
    rc = check_definitions(d, ad);
    if (rc == 0)
        rc = reject(d, d->in, later);
    if (rc == 0)
        rc = key_schema(d, ks, ad, &mut.table);
    if (rc == 0)
        rc = billing(d);
    if (rc < 0)
        return rc;
    snprintf(mut.table.name, sizeof mut.table.name, "%s", name);
    rc = propose(d, &mut, 1);
    if (rc == CR_ETABLEEXISTS)
        return fail(d, rc, "Table already exists: %s", name);
    return rc;
}

static int done_create_table(struct ddb *d, json_t **out)
{
    struct table_stats empty = {0, 0};

    *out = json_pack("{s:o}", "TableDescription",
                     table_json(d, &d->w.results[0].table, &empty, "ACTIVE"));
    return *out ? 0 : nomem(d);
}

static int op_delete_table(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char *name = NULL;
    int rc = table_name(d, d->in, "TableName", "tableName", &name);

    if (rc == 0)
        rc = load_table(d, name, true, &d->def, &d->stats);
    if (rc < 0)
        return rc;
    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DELETE_TABLE;
    mut.table = d->def;
    return propose(d, &mut, 1);
}

static int done_delete_table(struct ddb *d, json_t **out)
{
    *out = json_pack("{s:o}", "TableDescription", table_json(d, &d->def, &d->stats, "DELETING"));
    return *out ? 0 : nomem(d);
}

static int op_describe_table(struct ddb *d, json_t **out)
{
    const char *name = NULL;
    int rc = table_name(d, d->in, "TableName", "tableName", &name);

    if (rc == 0)
        rc = load_table(d, name, true, &d->def, &d->stats);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:o}", "Table", table_json(d, &d->def, &d->stats, "ACTIVE"));
    return *out ? 0 : nomem(d);
}

static int op_list_tables(struct ddb *d, json_t **out)
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
        rc = table_name(d, d->in, "ExclusiveStartTableName", "exclusiveStartTableName", &after);
        if (rc < 0)
            return rc;
    }
    rc = member(d, d->in, "Limit", JSON_INTEGER, &limit_j);
    if (rc < 0)
        return rc;
    if (limit_j) {
        char text[32];

        limit = json_integer_value(limit_j);
        snprintf(text, sizeof text, "%lld", (long long)limit);
        if (limit < 1)
            return constraint(d, text, "limit",
                              "Member must have value greater than or equal to 1");
        if (limit > CR_LIST_TABLES_MAX)
            return constraint(d, text, "limit", "Member must have value less than or equal to 100");
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
    return *out ? 0 : nomem(d);
}

/* ---- single items -------------------------------------------------------------------------- */

/* ReturnValues of PutItem and DeleteItem. */
static int return_values(struct ddb *d)
{
    json_t *j;
    const char *v;
    int rc = member(d, d->in, "ReturnValues", JSON_STRING, &j);

    if (rc < 0 || !j)
        return rc;
    v = json_string_value(j);
    if (strcmp(v, "ALL_OLD") == 0)
        d->return_old = true;
    else if (!strcmp(v, "UPDATED_OLD") || !strcmp(v, "ALL_NEW") || !strcmp(v, "UPDATED_NEW"))
        return fail(d, CR_EINVAL, "ReturnValues can only be ALL_OLD or NONE");
    else if (strcmp(v, "NONE") != 0)
        return constraint(d, v, "returnValues",
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
    int rc = member(d, d->in, "Expected", JSON_OBJECT, &exp);

    memset(c, 0, sizeof *c);
    if (rc < 0 || !exp || json_object_size(exp) == 0)
        return rc;
    if (json_object_size(exp) > 1)
        return unsupported(d, "Expected with more than one attribute");
    attr = json_object_iter_key(json_object_iter(exp));
    ex = json_object_get(json_object_iter_value(json_object_iter(exp)), "Exists");
    val = json_object_get(json_object_iter_value(json_object_iter(exp)), "Value");
    cmp = json_object_get(json_object_iter_value(json_object_iter(exp)), "ComparisonOperator");
    list = json_object_get(json_object_iter_value(json_object_iter(exp)), "AttributeValueList");
    if (json_is_false(ex)) {
        if (val)
            return fail(d, CR_EINVAL,
                        INVALID "Value cannot be used when Exists is false for "
                                "Attribute: %s",
                        attr);
        if (strcmp(attr, d->def.pk_name) != 0)
            return unsupported(d, "Expected Exists=false on a non-key attribute");
        c->type = COND_NOT_EXISTS;
        return 0;
    }
    if (cmp && (!json_is_string(cmp) || strcmp(json_string_value(cmp), "EQ") != 0))
        return unsupported(d, "Expected with a ComparisonOperator other than EQ");
    if (cmp) {
        if (!json_is_array(list) || json_array_size(list) != 1)
            return fail(d, CR_EINVAL,
                        INVALID "Invalid number of argument(s) for the EQ "
                                "ComparisonOperator");
        val = json_array_get(list, 0);
    }
    if (!val)
        return fail(d, CR_EINVAL,
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

static int op_put_item(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char *name = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_PUT;
    mut.key.type = VT_NULL;
    rc = table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = reject(d, d->in, write_later);
    if (rc == 0)
        rc = load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = key_or_item(d, d->in, "Item", "item", &d->def, true, &mut.item);
    if (rc == 0)
        rc = return_values(d);
    if (rc == 0)
        rc = expected(d, &mut.cond);
    if (rc < 0)
        return rc;
    mut.table = d->def;
    mut.return_old = d->return_old;
    return propose(d, &mut, 1);
}

static int op_delete_item(struct ddb *d, json_t **out)
{
    struct mutation mut;
    const char *name = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DELETE;
    mut.item.type = VT_NULL;
    rc = table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = reject(d, d->in, write_later);
    if (rc == 0)
        rc = load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = key_or_item(d, d->in, "Key", "key", &d->def, false, &mut.key);
    if (rc == 0)
        rc = return_values(d);
    if (rc == 0)
        rc = expected(d, &mut.cond);
    if (rc < 0)
        return rc;
    mut.table = d->def;
    mut.return_old = d->return_old;
    return propose(d, &mut, 1);
}

/* PutItem and DeleteItem: {} or the old item under Attributes. */
static int done_item_write(struct ddb *d, json_t **out)
{
    const struct mutation_result *res = &d->w.results[0];

    *out = json_object();
    if (*out && d->return_old && res->has_old)
        json_object_set_new(*out, "Attributes", ddb_item_from_value(&res->old));
    return *out ? 0 : nomem(d);
}

static const char *const read_later[] = {"ProjectionExpression", "ExpressionAttributeNames", NULL};

static int op_get_item(struct ddb *d, json_t **out)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct value key, item;
    const char *name = NULL;
    json_t *only;
    bool consistent = false, found = false;
    int rc;

    rc = table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = reject(d, d->in, read_later);
    if (rc == 0)
        rc = flag(d, d->in, "ConsistentRead", &consistent);
    if (rc == 0)
        rc = attributes_to_get(d, d->in, &only);
    if (rc == 0)
        rc = load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = key_or_item(d, d->in, "Key", "key", &d->def, false, &key);
    if (rc < 0)
        return rc;
    read_opts(consistent, &ro);
    rc = ops_get_item(d->r->oc, &ro, name, strlen(name), &key, &d->r->arena, &found, &item, &info,
                      &d->scratch);
    if (rc < 0)
        return rc;
    *out = json_object();
    if (*out && found)
        json_object_set_new(*out, "Item", item_json(&item, only));
    return *out ? 0 : nomem(d);
}

/* ---- batches ------------------------------------------------------------------------------- */

static bool same_key(const struct table_def *def, const struct value *a, const struct value *b)
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

static int request_items(struct ddb *d, json_t **items)
{
    int rc = member(d, d->in, "RequestItems", JSON_OBJECT, items);

    if (rc < 0)
        return rc;
    if (!*items)
        return constraint(d, NULL, "requestItems", "Member must not be null");
    if (json_object_size(*items) == 0)
        return constraint(d, "{}", "requestItems",
                          "Member must have length greater than or equal to 1");
    return 0;
}

static int batch_entry(struct ddb *d, const char *table, json_t *req, struct mutation *m)
{
    json_t *put, *del;
    int rc;

    if (!json_is_object(req))
        return fail(d, CR_EPROTO, "Unexpected %s in RequestItems", json_type_name(req));
    rc = member(d, req, "PutRequest", JSON_OBJECT, &put);
    if (rc == 0)
        rc = member(d, req, "DeleteRequest", JSON_OBJECT, &del);
    if (rc < 0)
        return rc;
    if ((put != NULL) == (del != NULL))
        return fail(d, CR_EINVAL,
                    "Supplied WriteRequest must contain exactly one of "
                    "PutRequest or DeleteRequest");
    memset(m, 0, sizeof *m);
    m->table = d->def;
    if (put) {
        m->type = MUT_PUT;
        m->key.type = VT_NULL;
        return key_or_item(d, put, "Item", "item", &d->def, true, &m->item);
    }
    m->type = MUT_DELETE;
    m->item.type = VT_NULL;
    return key_or_item(d, del, "Key", "key", &d->def, false, &m->key);
}

static int op_batch_write_item(struct ddb *d, json_t **out)
{
    struct mutation *muts;
    json_t *items, *list, *req;
    const char *table;
    size_t n = 0, i;
    int rc = request_items(d, &items);

    if (rc < 0)
        return rc;
    json_object_foreach(items, table, list)
    {
        if (!json_is_array(list))
            return fail(d, CR_EPROTO, "Unexpected %s in RequestItems", json_type_name(list));
        if (json_array_size(list) == 0)
            return constraint(d, "[]", "requestItems",
                              "Map value must satisfy constraint: [Member must have length "
                              "greater than or equal to 1]");
        n += json_array_size(list);
    }
    if (n > MAX_BATCH_WRITE)
        return fail(d, CR_ETOOMANY, "Too many items requested for the BatchWriteItem call");
    muts = cr_arena_alloc(&d->r->arena, n * sizeof *muts);
    if (!muts)
        return nomem(d);
    n = 0;
    json_object_foreach(items, table, list)
    {
        size_t first = n;

        if (catalog_check_name(table, strlen(table)) < 0)
            return constraint(d, table, "requestItems.key",
                              "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        rc = load_table(d, table, false, &d->def, NULL);
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

                if (same_key(&d->def, a, b))
                    return fail(d, CR_EINVAL, "Provided list of item keys contains duplicates");
            }
            n++;
        }
    }
    return propose(d, muts, n);
}

static int done_batch_write_item(struct ddb *d, json_t **out)
{
    *out = json_pack("{s:{}}", "UnprocessedItems");
    return *out ? 0 : nomem(d);
}

static int batch_get_table(struct ddb *d, const char *table, json_t *spec, json_t *responses)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct value *keys;
    json_t *list = NULL, *only, *found_items, *k;
    bool consistent = false, found = false;
    size_t i;
    int rc;

    if (!json_is_object(spec))
        return fail(d, CR_EPROTO, "Unexpected %s in RequestItems", json_type_name(spec));
    rc = reject(d, spec, read_later);
    if (rc == 0)
        rc = member(d, spec, "Keys", JSON_ARRAY, &list);
    if (rc == 0)
        rc = flag(d, spec, "ConsistentRead", &consistent);
    if (rc == 0)
        rc = attributes_to_get(d, spec, &only);
    if (rc < 0)
        return rc;
    if (!list || json_array_size(list) == 0)
        return constraint(d, list ? "[]" : NULL, "requestItems.member.keys",
                          "Member must have length greater than or equal to 1");
    rc = load_table(d, table, false, &d->def, NULL);
    if (rc < 0)
        return rc;
    keys = cr_arena_alloc(&d->r->arena, json_array_size(list) * sizeof *keys);
    if (!keys)
        return nomem(d);
    json_array_foreach(list, i, k)
    {
        if (!json_is_object(k))
            return fail(d, CR_EPROTO, "Unexpected %s in Keys", json_type_name(k));
        rc = ddb_item_to_value(k, &d->r->arena, &keys[i], &d->e);
        if (rc < 0) {
            d->own_text = true;
            return rc;
        }
        rc = check_key(d, &d->def, &keys[i], false);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (same_key(&d->def, &keys[j], &keys[i]))
                return fail(d, CR_EINVAL, "Provided list of item keys contains duplicates");
        }
    }
    found_items = json_array();
    if (!found_items || json_object_set_new(responses, table, found_items) < 0)
        return nomem(d);
    read_opts(consistent, &ro);
    for (i = 0; i < json_array_size(list); i++) {
        struct value item;

        rc = ops_get_item(d->r->oc, &ro, table, strlen(table), &keys[i], &d->r->arena, &found,
                          &item, &info, &d->scratch);
        if (rc < 0)
            return rc;
        if (found && json_array_append_new(found_items, item_json(&item, only)) < 0)
            return nomem(d);
    }
    return 0;
}

static int op_batch_get_item(struct ddb *d, json_t **out)
{
    json_t *items, *spec, *responses;
    const char *table;
    size_t n = 0;
    int rc = request_items(d, &items);

    if (rc < 0)
        return rc;
    json_object_foreach(items, table, spec)
    {
        json_t *keys = json_is_object(spec) ? json_object_get(spec, "Keys") : NULL;

        n += json_is_array(keys) ? json_array_size(keys) : 0;
    }
    if (n > MAX_BATCH_GET)
        return fail(d, CR_ETOOMANY, "Too many items requested for the BatchGetItem call");
    *out = json_pack("{s:{},s:{}}", "Responses", "UnprocessedKeys");
    if (!*out)
        return nomem(d);
    responses = json_object_get(*out, "Responses");
    json_object_foreach(items, table, spec)
    {
        if (catalog_check_name(table, strlen(table)) < 0)
            return constraint(d, table, "requestItems.key",
                              "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        rc = batch_get_table(d, table, spec, responses);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- query and scan ------------------------------------------------------------------------ */

struct page_opts {
    struct ops_read_opts ro;
    uint32_t limit;
    bool count_only;
    json_t *only;
    uint8_t *cursor;
    size_t cursor_len;
};

/* Limit, Select, ConsistentRead, AttributesToGet, ExclusiveStartKey: shared by Query and Scan. */
static int page_opts(struct ddb *d, struct page_opts *p)
{
    json_t *limit = NULL, *select = NULL, *esk = NULL;
    bool consistent = false;
    int rc;

    memset(p, 0, sizeof *p);
    rc = member(d, d->in, "Limit", JSON_INTEGER, &limit);
    if (rc == 0)
        rc = member(d, d->in, "Select", JSON_STRING, &select);
    if (rc == 0)
        rc = flag(d, d->in, "ConsistentRead", &consistent);
    if (rc == 0)
        rc = attributes_to_get(d, d->in, &p->only);
    if (rc == 0)
        rc = member(d, d->in, "ExclusiveStartKey", JSON_OBJECT, &esk);
    if (rc < 0)
        return rc;
    read_opts(consistent, &p->ro);
    if (limit) {
        json_int_t v = json_integer_value(limit);
        char text[32];

        snprintf(text, sizeof text, "%lld", (long long)v);
        if (v < 1)
            return constraint(d, text, "limit",
                              "Member must have value greater than or equal to 1");
        p->limit = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    if (select) {
        const char *s = json_string_value(select);

        if (strcmp(s, "COUNT") == 0)
            p->count_only = true;
        else if (strcmp(s, "ALL_PROJECTED_ATTRIBUTES") == 0)
            return fail(d, CR_EINVAL,
                        INVALID "Select type ALL_PROJECTED_ATTRIBUTES is "
                                "supported only for index queries");
        else if (strcmp(s, "SPECIFIC_ATTRIBUTES") == 0 && !p->only)
            return unsupported(d, "Select SPECIFIC_ATTRIBUTES without AttributesToGet");
        else if (strcmp(s, "SPECIFIC_ATTRIBUTES") != 0 && strcmp(s, "ALL_ATTRIBUTES") != 0)
            return constraint(d, s, "select",
                              "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, "
                              "COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]");
    }
    if (esk) {
        struct value key;

        rc = ddb_item_to_value(esk, &d->r->arena, &key, &d->e);
        if (rc < 0) {
            d->own_text = true;
            return rc;
        }
        rc = check_key(d, &d->def, &key, false);
        if (rc == 0)
            rc = kv_cursor_from_key(&d->def, &key, &d->r->arena, &p->cursor, &p->cursor_len);
        if (rc < 0)
            return fail(d, CR_ECURSOR,
                        "The provided starting key is invalid: The provided key "
                        "element does not match the schema");
    }
    return 0;
}

static int page_json(struct ddb *d, const struct page_opts *p, const struct kv_page *page,
                     json_t **out)
{
    json_t *items = NULL;

    if (!p->count_only) {
        items = json_array();
        for (size_t i = 0; items && i < page->n; i++) {
            if (json_array_append_new(items, item_json(&page->items[i], p->only)) < 0) {
                json_decref(items);
                items = NULL;
            }
        }
        if (!items)
            return nomem(d);
    }
    *out = json_pack("{s:I,s:I}", "Count", (json_int_t)page->n, "ScannedCount",
                     (json_int_t)page->scanned);
    if (*out && items)
        json_object_set_new(*out, "Items", items);
    else
        json_decref(items);
    if (*out && page->next_len && page->n)
        json_object_set_new(*out, "LastEvaluatedKey", key_json(&d->def, &page->items[page->n - 1]));
    return *out ? 0 : nomem(d);
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
        return constraint(d, NULL, "keyConditions.member.comparisonOperator",
                          "Member must not be null");
    for (k = 0; k < sizeof key_ops / sizeof key_ops[0]; k++) {
        if (strcmp(key_ops[k].name, name) == 0)
            break;
    }
    if (k == sizeof key_ops / sizeof key_ops[0])
        return fail(d, CR_EINVAL, "Query key condition not supported");
    if (!json_is_array(list) || json_array_size(list) != key_ops[k].args)
        return fail(d, CR_EINVAL,
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
    if (!type_matches(type, v1->type) || (key_ops[k].args == 2 && !type_matches(type, v2->type)))
        return fail(d, CR_EINVAL, INVALID "Condition parameter type does not match schema type");
    if (*op == SK_BEGINS_WITH && type == KEY_N)
        return fail(d, CR_EINVAL, "Query key condition not supported");
    if (*op == SK_BETWEEN && value_compare(v1, v2) > 0)
        return fail(d, CR_EINVAL,
                    "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to "
                    "be greater than or equal to lower bound");
    return 0;
}

static int key_conditions(struct ddb *d, struct ops_query *q)
{
    json_t *kc, *cond;
    const char *attr;
    bool have_pk = false;
    int rc = member(d, d->in, "KeyConditions", JSON_OBJECT, &kc);

    if (rc < 0)
        return rc;
    if (!kc)
        return fail(d, CR_EINVAL,
                    "Either the KeyConditions or KeyConditionExpression parameter "
                    "must be specified in the request.");
    if (json_object_size(kc) > 2)
        return fail(d, CR_EINVAL, "Conditions can be of length 1 or 2 only");
    json_object_foreach(kc, attr, cond)
    {
        enum sk_op op;
        struct value dummy;

        if (strcmp(attr, d->def.pk_name) == 0) {
            rc = key_condition(d, attr, cond, d->def.pk_type, &op, &q->pk, &dummy);
            if (rc == 0 && op != SK_EQ)
                rc = fail(d, CR_EINVAL, "Query key condition not supported");
            have_pk = true;
        } else if (d->def.has_sk && strcmp(attr, d->def.sk_name) == 0) {
            rc = key_condition(d, attr, cond, d->def.sk_type, &q->op, &q->sk1, &q->sk2);
        } else {
            rc =
                fail(d, CR_EINVAL, "Query condition missed key schema element: %s", d->def.pk_name);
        }
        if (rc < 0)
            return rc;
    }
    if (!have_pk)
        return fail(d, CR_EINVAL, "Query condition missed key schema element: %s", d->def.pk_name);
    return 0;
}

static int op_query(struct ddb *d, json_t **out)
{
    static const char *const later[] = {"IndexName",
                                        "FilterExpression",
                                        "ProjectionExpression",
                                        "ExpressionAttributeNames",
                                        "ExpressionAttributeValues",
                                        "QueryFilter",
                                        "ConditionalOperator",
                                        NULL};
    struct ops_read_info info;
    struct ops_query q;
    struct page_opts p;
    struct kv_page page;
    const char *name = NULL;
    json_t *fwd;
    int rc;

    memset(&q, 0, sizeof q);
    rc = table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0 && json_object_get(d->in, "KeyConditionExpression"))
        rc = unsupported(d, "KeyConditionExpression (use KeyConditions)");
    if (rc == 0)
        rc = reject(d, d->in, later);
    if (rc == 0)
        rc = member(d, d->in, "ScanIndexForward", JSON_TRUE, &fwd);
    if (rc == 0)
        rc = load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = key_conditions(d, &q);
    if (rc == 0)
        rc = page_opts(d, &p);
    if (rc < 0)
        return rc;
    q.table = name;
    q.table_len = strlen(name);
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
    int rc = member(d, d->in, "Segment", JSON_INTEGER, &seg);

    if (rc == 0)
        rc = member(d, d->in, "TotalSegments", JSON_INTEGER, &tot);
    if (rc < 0)
        return rc;
    *segment = 0;
    *total = 0;
    if (seg && !tot)
        return fail(d, CR_EINVAL,
                    "The TotalSegments parameter is required but was not present "
                    "in the request when Segment parameter is present");
    if (tot && !seg)
        return fail(d, CR_EINVAL,
                    "The Segment parameter is required but was not present in the "
                    "request when parameter TotalSegments is present");
    if (!seg)
        return 0;
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(tot));
    if (json_integer_value(tot) < 1)
        return constraint(d, text, "totalSegments",
                          "Member must have value greater than or equal to 1");
    if (json_integer_value(tot) > MAX_SEGMENTS)
        return constraint(d, text, "totalSegments",
                          "Member must have value less than or equal to 1000000");
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(seg));
    if (json_integer_value(seg) < 0)
        return constraint(d, text, "segment", "Member must have value greater than or equal to 0");
    if (json_integer_value(seg) >= json_integer_value(tot))
        return fail(d, CR_EINVAL,
                    "The Segment parameter is zero-based and must be less than parameter "
                    "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                    (long long)json_integer_value(seg), (long long)json_integer_value(tot));
    *segment = (uint32_t)json_integer_value(seg);
    *total = (uint32_t)json_integer_value(tot);
    return 0;
}

static int op_scan(struct ddb *d, json_t **out)
{
    static const char *const later[] = {"IndexName",
                                        "FilterExpression",
                                        "ProjectionExpression",
                                        "ExpressionAttributeNames",
                                        "ExpressionAttributeValues",
                                        "ScanFilter",
                                        "ConditionalOperator",
                                        NULL};
    struct ops_read_info info;
    struct ops_scan s;
    struct page_opts p;
    struct kv_page page;
    const char *name = NULL;
    int rc;

    memset(&s, 0, sizeof s);
    rc = table_name(d, d->in, "TableName", "tableName", &name);
    if (rc == 0)
        rc = reject(d, d->in, later);
    if (rc == 0)
        rc = segments(d, &s.segment, &s.total_segments);
    if (rc == 0)
        rc = load_table(d, name, false, &d->def, NULL);
    if (rc == 0)
        rc = page_opts(d, &p);
    if (rc < 0)
        return rc;
    s.table = name;
    s.table_len = strlen(name);
    s.limit = p.limit;
    s.cursor = p.cursor;
    s.cursor_len = p.cursor_len;
    rc = ops_scan(d->r->oc, &p.ro, &s, &d->r->arena, &page, &info, &d->scratch);
    if (rc < 0)
        return rc;
    return page_json(d, &p, &page, out);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* Every operation: (X-Amz-Target name, handler, completion of its write or NULL for reads). */
#define DDB_OPS(X)                                                                                 \
    X(CreateTable, op_create_table, done_create_table)                                             \
    X(DeleteTable, op_delete_table, done_delete_table)                                             \
    X(DescribeTable, op_describe_table, NULL)                                                      \
    X(ListTables, op_list_tables, NULL)                                                            \
    X(PutItem, op_put_item, done_item_write)                                                       \
    X(GetItem, op_get_item, NULL)                                                                  \
    X(DeleteItem, op_delete_item, done_item_write)                                                 \
    X(BatchWriteItem, op_batch_write_item, done_batch_write_item)                                  \
    X(BatchGetItem, op_batch_get_item, NULL)                                                       \
    X(Query, op_query, NULL)                                                                       \
    X(Scan, op_scan, NULL)

static const struct {
    const char *name;
    ddb_op_fn handle, done;
} ops_table[] = {
#define DDB_OP_ENTRY(name, handle, done) {#name, handle, done},
    DDB_OPS(DDB_OP_ENTRY)
#undef DDB_OP_ENTRY
};

/* The failure of an applied entry: the first mutation's own code (others say ABORTED). */
static int result_error(struct ddb *d)
{
    for (size_t i = 0; i < d->w.n; i++) {
        int code = d->w.results[i].code;

        if (code == 0 || code == CR_EABORTED)
            continue;
        if (code == CR_ETABLEEXISTS)
            return fail(d, code, "Table already exists: %s", d->w.results[i].table.name);
        return code;
    }
    return d->w.n ? 0 : fail(d, CR_EINTERNAL, "the log returned no result");
}

/* On the loop thread, via the HTTP loop's completer. */
static void write_done(struct ops_write *w)
{
    struct ddb *d = w->data;
    json_t *out = NULL;
    int rc = w->code;

    if (rc == 0)
        rc = result_error(d);
    if (rc == 0)
        rc = ops_table[d->op].done(d, &out);
    finish(d, rc, out);
}

bool dynamodb_match(const struct http_req *r, const char *method, const char *path)
{
    const char *target = http_header(r, "X-Amz-Target");

    return strcmp(method, "POST") == 0 && strcmp(path, "/") == 0 && target &&
           strncmp(target, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0;
}

static void cleanup(struct http_req *r)
{
    struct ddb *d = r->data;

    json_decref(d->in);
}

void dynamodb_handle(struct http_req *r)
{
    struct ddb *d = cr_arena_calloc(&r->arena, sizeof *d);
    const char *op = http_header(r, "X-Amz-Target") + strlen(TARGET_PREFIX);
    json_error_t err;
    json_t *out = NULL;
    size_t i, n = sizeof ops_table / sizeof ops_table[0];
    int rc;

    if (!d) {
        http_reply(r, 500, CONTENT_TYPE, NULL, 0);
        return;
    }
    d->r = r;
    r->data = d;
    r->cleanup = cleanup;
    for (i = 0; i < n && strcmp(ops_table[i].name, op) != 0; i++)
        ;
    if (i == n) {
        finish(d, fail(d, CR_EUNKNOWNOP, "Unknown operation: %.100s", op), NULL);
        return;
    }
    d->op = i;
    d->in = json_loadb(r->body, r->body_len, 0, &err);
    if (!d->in) {
        finish(d, fail(d, CR_EPROTO, "Malformed JSON body: %s", err.text), NULL);
        return;
    }
    if (!json_is_object(d->in)) {
        finish(d, fail(d, CR_EPROTO, "Start of structure or map expected"), NULL);
        return;
    }
    rc = ops_table[i].handle(d, &out);
    if (rc != PENDING)
        finish(d, rc, out);
}
