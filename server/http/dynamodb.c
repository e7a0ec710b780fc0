/*
 * The DynamoDB dialect: `POST /` with `X-Amz-Target: DynamoDB_20120810.<Op>`, JSON bodies
 * (application/x-amz-json-1.0) translated onto ops.h and back. Validation happens here first,
 * in DynamoDB's words, so SDK users see the messages DynamoDB would give; ops.c validates
 * again as the authority and its verdicts are mapped through the one error table below.
 * Must not write storage except through ops_write, must not parse expressions (that is
 * query/ddb_expr's job), and must answer every request exactly once.
 *
 * This file: dispatch (the DDB_OPS table), the error table, and the helpers every operation
 * shares (ddb_int.h). The operations live in ddb_tables.c, ddb_writes.c, ddb_transact.c and
 * ddb_reads.c. With --auth, a request's SigV4 signature is checked before anything else
 * (http_check_sigv4), as DynamoDB does.
 *
 * BatchWriteItem is applied as ONE log entry: every request is validated first, then all of
 * them apply or none does. DynamoDB itself is not atomic across a batch, but an all-or-nothing
 * batch is a valid DynamoDB outcome (UnprocessedItems is always empty), and it means a failed
 * batch never leaves half its items behind.
 *
 * PartiQL (ddb_partiql.c) translates each statement into one of the operations above and runs
 * its handlers.
 *
 * Not yet (clear ValidationException rather than silent acceptance): secondary indexes, the
 * legacy QueryFilter/ScanFilter, TTL. See docs/dynamodb.md.
 */
#include "common/error.h"
#include "common/hash.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_PREFIX "DynamoDB_20120810."
#define CONTENT_TYPE "application/x-amz-json-1.0"
#define ERROR_NS "com.amazonaws.dynamodb.v20120810#"

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
    X(CR_ENOAUTH, "MissingAuthenticationTokenException", 400,                                      \
      "Request is missing Authentication Token")                                                   \
    X(CR_EAUTHFORMAT, "IncompleteSignatureException", 400,                                         \
      "The request signature does not conform to AWS standards.")                                  \
    X(CR_EUNKNOWNKEY, "UnrecognizedClientException", 400,                                          \
      "The security token included in the request is invalid.")                                    \
    X(CR_ESIGNATURE, "InvalidSignatureException", 400,                                             \
      "The request signature we calculated does not match the signature you provided.")            \
    X(CR_EOVERLOAD, "ThrottlingException", 400,                                                    \
      "Rate of requests exceeds the allowed throughput.")                                          \
    X(CR_ESHUTDOWN, "ServiceUnavailable", 503, "The server is shutting down")                      \
    X(CR_ENOTLEADER, "ServiceUnavailable", 503,                                                    \
      "The service is currently unavailable or busy: no leader is known (an election); retry")

/* ---- errors ------------------------------------------------------------------------------ */

int ddb_fail(struct ddb *d, int code, const char *fmt, ...)
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
int ddb_constraint(struct ddb *d, const char *value, const char *path, const char *what)
{
    if (value)
        return ddb_fail(d, CR_EINVAL,
                        "1 validation error detected: Value '%.100s' at '%s' failed to satisfy "
                        "constraint: %s",
                        value, path, what);
    return ddb_fail(
        d, CR_EINVAL,
        "1 validation error detected: Value null at '%s' failed to satisfy constraint: %s", path,
        what);
}

int ddb_unsupported(struct ddb *d, const char *param)
{
    return ddb_fail(d, CR_EINVAL, "%s is not supported by this server yet", param);
}

int ddb_nomem(struct ddb *d)
{
    return ddb_fail(d, CR_ENOMEM, "out of memory");
}

static void error_body(int code, const char *own, const char *type_name, int *status, json_t **out)
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
    snprintf(type, sizeof type, ERROR_NS "%s", type_name ? type_name : name);
    *out = json_pack("{s:s,s:s}", "__type", type, "message", own ? own : text);
}

/* A response body being dumped: one malloc'd block, grown by doubling. */
struct body_buf {
    char *p;
    size_t len, cap;
};

#define BODY_FIRST_CAP                                                                             \
    512 /* most responses fit: one malloc, no copy (json_dumps grows from 16 bytes, then copies)   \
         */

static int body_append(const char *s, size_t n, void *data)
{
    struct body_buf *b = data;

    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : BODY_FIRST_CAP;
        char *p;

        while (cap - b->len < n)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* Answers d's request: out (consumed) on success, else the error in d->e. */
static void finish(struct ddb *d, int rc, json_t *out)
{
    int status = 200;
    struct body_buf body = {0};

    if (rc < 0) {
        json_decref(out);
        error_body(rc, d->own_text && d->e.code == rc ? d->e.text : NULL, d->error_type, &status,
                   &out);
        if (out && d->error_extra)
            json_object_update(out, d->error_extra);
    }
    json_decref(d->error_extra);
    d->error_extra = NULL;
    if (!out || json_dump_callback(out, body_append, &body, JSON_COMPACT) < 0 || !body.len) {
        free(body.p);
        status = 500;
        body.p = strdup("{\"__type\":\"" ERROR_NS "InternalServerError\",\"message\":\"out of "
                        "memory\"}");
        body.len = body.p ? strlen(body.p) : 0;
    }
    json_decref(out);
    http_reply(d->r, status, CONTENT_TYPE, body.p, body.len);
}

/* ---- request members --------------------------------------------------------------------- */

const char *ddb_json_type_name(const json_t *j)
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
int ddb_member(struct ddb *d, const json_t *obj, const char *name, json_type type, json_t **out)
{
    json_t *j = json_object_get(obj, name);
    bool ok;

    *out = NULL;
    if (!j || json_is_null(j))
        return 0;
    ok = type == JSON_TRUE ? json_is_boolean(j) : json_typeof(j) == type;
    if (!ok)
        return ddb_fail(d, CR_EPROTO, "Unexpected %s for member %s", ddb_json_type_name(j), name);
    *out = j;
    return 0;
}

int ddb_flag(struct ddb *d, const json_t *obj, const char *name, bool *out)
{
    json_t *j;
    int rc = ddb_member(d, obj, name, JSON_TRUE, &j);

    *out = j && json_is_true(j);
    return rc;
}

/* Fails when any of the named members is present: parameters this slice does not support. */
int ddb_reject(struct ddb *d, const json_t *obj, const char *const *names)
{
    for (; *names; names++) {
        json_t *j = json_object_get(obj, *names);

        if (j && !json_is_null(j))
            return ddb_unsupported(d, *names);
    }
    return 0;
}

int ddb_table_name(struct ddb *d, const json_t *obj, const char *name, const char *path,
                   const char **out)
{
    json_t *j;
    const char *s;
    size_t n;
    int rc = ddb_member(d, obj, name, JSON_STRING, &j);

    if (rc < 0)
        return rc;
    if (!j)
        return ddb_constraint(d, NULL, path, "Member must not be null");
    s = json_string_value(j);
    n = json_string_length(j);
    if (n < CR_MIN_TABLE_NAME_LEN)
        return ddb_constraint(d, s, path, "Member must have length greater than or equal to 3");
    if (n > CR_MAX_NAME_LEN)
        return ddb_constraint(d, s, path, "Member must have length less than or equal to 255");
    if (catalog_check_name(s, n) < 0)
        return ddb_constraint(d, s, path,
                              "Member must satisfy regular expression pattern: "
                              "[a-zA-Z0-9_.-]+");
    *out = s;
    return 0;
}

void ddb_read_opts(bool consistent, struct ops_read_opts *ro)
{
    memset(ro, 0, sizeof *ro);
    ro->level = consistent ? OPS_STRONG : OPS_EVENTUAL;
}

/* Whether any read of request `in` of operation `op` asks for strong consistency: ConsistentRead
 * at the top (GetItem, Query, Scan, ExecuteStatement), per table (BatchGetItem) or per statement
 * (BatchExecuteStatement); transactional reads always. */
static bool wants_strong(const char *op, const json_t *in)
{
    const json_t *items = json_object_get(in, "RequestItems"),
                 *stmts = json_object_get(in, "Statements"), *v;
    const char *key;
    size_t i;

    if (strcmp(op, "TransactGetItems") == 0 || strcmp(op, "ExecuteTransaction") == 0 ||
        json_is_true(json_object_get(in, "ConsistentRead")))
        return true;
    json_object_foreach((json_t *)items, key,
                        v) if (json_is_true(json_object_get(v, "ConsistentRead"))) return true;
    json_array_foreach(stmts, i,
                       v) if (json_is_true(json_object_get(v, "ConsistentRead"))) return true;
    return false;
}

/* Loads `name` into def. `describe`: the missing-table text DescribeTable and DeleteTable
 * give, else the item operations'. The first read of a request opens the snapshot all its reads
 * share, so it is taken at the request's strongest level: after a ReadIndex round when some read
 * is STRONG, else from the node's own state (writes are checked again where they apply); a table
 * this node does not have yet is looked for again after a round, so that one just created
 * through another node is found. */
int ddb_load_table(struct ddb *d, const char *name, bool describe, struct table_def *def,
                   struct table_stats *stats)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    int rc;

    ddb_read_opts(d->strong, &ro);
    rc = ops_describe_table(d->r->oc, &ro, name, strlen(name), def, stats, &info, &d->scratch);
    if (rc == CR_ENOTABLE && !d->strong && d->r->oc->ops->clustered) {
        /* not here yet (a table just created through another node): ask again at STRONG, on a
         * new snapshot (nothing of the request borrows from this one yet) */
        ops_conn_release(d->r->oc);
        ddb_read_opts(true, &ro);
        rc = ops_describe_table(d->r->oc, &ro, name, strlen(name), def, stats, &info, &d->scratch);
    }

    if (rc == CR_ENOTABLE && describe)
        return ddb_fail(d, rc, "Requested resource not found: Table: %s not found", name);
    if (rc == CR_ENOTABLE)
        return ddb_fail(d, rc, "Requested resource not found");
    return rc;
}

/* ---- keys and items ------------------------------------------------------------------------ */

/* DynamoDB's type name of a value of type t (timestamps and references read as strings). */
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

const char *ddb_key_code(enum key_type t)
{
    return t == KEY_S ? "S" : t == KEY_N ? "N" : "B";
}

void ddb_mismatch_text(const struct index_mismatch *m, char *buf, size_t size)
{
    if (m->empty) {
        snprintf(buf, size,
                 "One or more parameter values are not valid. A value specified for a secondary "
                 "index key is not supported. The AttributeValue for a key attribute cannot "
                 "contain an empty %s value. IndexName: %s, IndexKey: %s",
                 m->expected == KEY_S ? "string" : "binary", m->index, m->attr);
        return;
    }
    snprintf(buf, size,
             INVALID "Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s",
             m->attr, ddb_key_code(m->expected), type_code(m->actual), m->index);
}

int ddb_mismatch_fail(struct ddb *d, const struct index_mismatch *m)
{
    char text[CR_ERRMSG_MAX];

    ddb_mismatch_text(m, text, sizeof text);
    return ddb_fail(d, CR_ETYPE, "%s", text);
}

int ddb_check_index_types(struct ddb *d, const struct table_def *def, const struct value *item)
{
    struct index_mismatch m;
    struct index_def *idx;
    struct table_stats *stats;
    size_t n;
    int rc;

    if (def->n_indexes == 0)
        return 0;
    rc = ops_describe_indexes(d->r->oc, def, &d->r->arena, &idx, &stats, &n, &d->scratch);
    if (rc < 0)
        return rc;
    return index_check_types(idx, n, item, &m) == CR_ETYPE ? ddb_mismatch_fail(d, &m) : 0;
}

bool ddb_type_matches(enum key_type t, enum value_type v)
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
        return in_item ? ddb_fail(d, CR_EMISSINGKEY, INVALID "Missing the key %s in the item", name)
                       : ddb_fail(d, CR_EMISSINGKEY,
                                  "The provided key element does not match the schema");
    if (!ddb_type_matches(type, v->type))
        return in_item
                   ? ddb_fail(d, CR_ETYPE,
                              INVALID "Type mismatch for key %s expected: %s actual: %s", name,
                              ddb_key_code(type), type_code(v->type))
                   : ddb_fail(d, CR_ETYPE, "The provided key element does not match the schema");
    if (type == KEY_N)
        return 0;
    if (v->u.s.len == 0)
        return ddb_fail(d, CR_EINVAL,
                        "One or more parameter values are not valid. The AttributeValue for a key "
                        "attribute cannot contain an empty %s value. Key: %s",
                        type == KEY_S ? "string" : "binary", name);
    if (hash && v->u.s.len > CR_MAX_PK_SIZE)
        return ddb_fail(d, CR_EKEYTOOBIG,
                        INVALID "Size of hashkey has exceeded the maximum size limit of2048 bytes");
    if (!hash && v->u.s.len > CR_MAX_SK_SIZE)
        return ddb_fail(d, CR_EKEYTOOBIG,
                        INVALID "Aggregated size of all range keys has exceeded "
                                "the size limit of 1024 bytes");
    return 0;
}

/* A key map (exactly the key attributes) or a whole item, in DynamoDB's words. */
int ddb_check_key(struct ddb *d, const struct table_def *def, const struct value *m, bool in_item)
{
    int rc;

    if (!in_item && m->u.map.n != (def->has_sk ? 2u : 1u))
        return ddb_fail(d, CR_EINVAL, "The provided key element does not match the schema");
    rc = check_key_attr(d, m, def->pk_name, def->pk_type, true, in_item);
    if (rc == 0 && def->has_sk)
        rc = check_key_attr(d, m, def->sk_name, def->sk_type, false, in_item);
    if (rc == 0 && in_item && value_ddb_size(m) > CR_MAX_ITEM_SIZE)
        rc = ddb_fail(d, CR_EITEMTOOBIG, "Item size has exceeded the maximum allowed size");
    return rc;
}

/* An attribute map member (Item, Key, ExclusiveStartKey) converted and checked for def. */
int ddb_key_or_item(struct ddb *d, const json_t *obj, const char *name, const char *path,
                    const struct table_def *def, bool in_item, struct value *out)
{
    json_t *j;
    int rc = ddb_member(d, obj, name, JSON_OBJECT, &j);

    if (rc < 0)
        return rc;
    if (!j)
        return ddb_constraint(d, NULL, path, "Member must not be null");
    rc = ddb_item_to_value(j, &d->r->arena, out, &d->e);
    if (rc < 0) {
        d->own_text = true;
        return rc;
    }
    return ddb_check_key(d, def, out, in_item);
}

/* The key attributes of an item as an attribute map (LastEvaluatedKey). */
json_t *ddb_key_json(const struct table_def *def, const struct value *item)
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
int ddb_attributes_to_get(struct ddb *d, const json_t *obj, json_t **out)
{
    json_t *j, *el;
    size_t i;
    int rc = ddb_member(d, obj, "AttributesToGet", JSON_ARRAY, &j);

    *out = j;
    if (rc < 0 || !j)
        return rc;
    if (json_array_size(j) == 0)
        return ddb_constraint(d, "[]", "attributesToGet",
                              "Member must have length greater than or equal to 1");
    json_array_foreach(j, i, el)
    {
        if (!json_is_string(el))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in AttributesToGet",
                            ddb_json_type_name(el));
    }
    return 0;
}

json_t *ddb_item_json(const struct value *item, const json_t *only)
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

/* ---- expressions ---------------------------------------------------------------------------- */

int ddb_expr_fail(struct ddb *d, const struct ddb_err *err)
{
    return ddb_fail(d, err->code, "%s", err->msg);
}

int ddb_expr_ctx(struct ddb *d, const json_t *obj, bool expressions, struct ddb_ctx *ctx)
{
    struct ddb_name *names = NULL;
    struct ddb_value *values = NULL;
    json_t *jn = NULL, *jv = NULL, *el;
    const char *key;
    struct ddb_err err;
    size_t i = 0;
    int rc = ddb_member(d, obj, "ExpressionAttributeNames", JSON_OBJECT, &jn);

    if (rc == 0)
        rc = ddb_member(d, obj, "ExpressionAttributeValues", JSON_OBJECT, &jv);
    if (rc < 0)
        return rc;
    if (!expressions && jn)
        return ddb_fail(d, CR_EINVAL,
                        "ExpressionAttributeNames can only be specified when using expressions");
    if (!expressions && jv)
        return ddb_fail(d, CR_EINVAL,
                        "ExpressionAttributeValues can only be specified when using expressions");
    if (jn && json_object_size(jn) == 0)
        return ddb_fail(d, CR_EINVAL, "ExpressionAttributeNames must not be empty");
    if (jv && json_object_size(jv) == 0)
        return ddb_fail(d, CR_EINVAL, "ExpressionAttributeValues must not be empty");
    if (jn && !(names = cr_arena_alloc(&d->r->arena, json_object_size(jn) * sizeof *names)))
        return ddb_nomem(d);
    if (jv && !(values = cr_arena_alloc(&d->r->arena, json_object_size(jv) * sizeof *values)))
        return ddb_nomem(d);
    json_object_foreach(jn, key, el)
    {
        if (!json_is_string(el))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in ExpressionAttributeNames",
                            ddb_json_type_name(el));
        names[i++] =
            (struct ddb_name){key, strlen(key), json_string_value(el), json_string_length(el)};
    }
    i = 0;
    json_object_foreach(jv, key, el)
    {
        struct value *v = cr_arena_alloc(&d->r->arena, sizeof *v);

        if (!v)
            return ddb_nomem(d);
        rc = ddb_av_to_value(el, &d->r->arena, v, &d->e);
        if (rc < 0) {
            d->own_text = true;
            return rc;
        }
        values[i++] = (struct ddb_value){key, strlen(key), v};
    }
    rc = ddb_ctx_init(ctx, &d->r->arena, names, jn ? json_object_size(jn) : 0, values,
                      jv ? json_object_size(jv) : 0, &err);
    return rc < 0 ? ddb_expr_fail(d, &err) : 0;
}

int ddb_expr_done(struct ddb *d, const struct ddb_ctx *ctx)
{
    struct ddb_err err;

    return ddb_ctx_check_unused(ctx, &err) < 0 ? ddb_expr_fail(d, &err) : 0;
}

static void write_done(struct ops_write *w);

int ddb_propose(struct ddb *d, const struct mutation *muts, size_t n)
{
    return ddb_propose_token(d, muts, n, NULL, 0, 0);
}

int ddb_propose_token(struct ddb *d, const struct mutation *muts, size_t n, const char *token,
                      size_t token_len, uint64_t request_hash)
{
    int rc;

    d->w.arena = &d->r->arena;
    d->w.done = write_done;
    d->w.data = d;
    rc = ops_write_token(d->r->oc, muts, n, token, token_len, request_hash, &d->w, &d->scratch);
    return rc < 0 ? rc : PENDING;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* Every operation: (X-Amz-Target name, handler, completion of its write or NULL for reads). */
#define DDB_OPS(X)                                                                                 \
    X(CreateTable, ddb_op_create_table, ddb_done_create_table)                                     \
    X(DeleteTable, ddb_op_delete_table, ddb_done_delete_table)                                     \
    X(DescribeTable, ddb_op_describe_table, NULL)                                                  \
    X(UpdateTable, ddb_op_update_table, ddb_done_update_table)                                     \
    X(ListTables, ddb_op_list_tables, NULL)                                                        \
    X(PutItem, ddb_op_put_item, ddb_done_item_write)                                               \
    X(GetItem, ddb_op_get_item, NULL)                                                              \
    X(DeleteItem, ddb_op_delete_item, ddb_done_item_write)                                         \
    X(UpdateItem, ddb_op_update_item, ddb_done_item_write)                                         \
    X(TransactWriteItems, ddb_op_transact_write_items, ddb_done_transact_write_items)              \
    X(TransactGetItems, ddb_op_transact_get_items, NULL)                                           \
    X(BatchWriteItem, ddb_op_batch_write_item, ddb_done_batch_write_item)                          \
    X(BatchGetItem, ddb_op_batch_get_item, NULL)                                                   \
    X(Query, ddb_op_query, NULL)                                                                   \
    X(Scan, ddb_op_scan, NULL)                                                                     \
    X(DescribeEndpoints, ddb_op_describe_endpoints, NULL)                                          \
    X(DescribeLimits, ddb_op_describe_limits, NULL)                                                \
    X(TagResource, ddb_op_tag_resource, ddb_done_tags)                                             \
    X(UntagResource, ddb_op_untag_resource, ddb_done_tags)                                         \
    X(UpdateTimeToLive, ddb_op_update_time_to_live, ddb_done_update_time_to_live)                  \
    X(DescribeTimeToLive, ddb_op_describe_time_to_live, NULL)                                      \
    X(ListTagsOfResource, ddb_op_list_tags_of_resource, NULL)                                      \
    X(ExecuteStatement, ddb_op_execute_statement, ddb_done_execute_statement)                      \
    X(BatchExecuteStatement, ddb_op_batch_execute_statement, ddb_done_batch_execute_statement)     \
    X(ExecuteTransaction, ddb_op_execute_transaction, ddb_done_execute_transaction)

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
            return ddb_fail(d, code, "Table already exists: %s", d->w.results[i].table.name);
        if (code == CR_ETYPE && d->w.results[i].mismatch.index)
            return ddb_mismatch_fail(d, &d->w.results[i].mismatch);
        return code;
    }
    return d->w.n ? 0 : ddb_fail(d, CR_EINTERNAL, "the log returned no result");
}

/* On the loop thread, via the HTTP loop's completer. */
static void write_done(struct ops_write *w)
{
    struct ddb *d = w->data;
    json_t *out = NULL;
    int rc = w->code;

    if (rc == 0 && !d->own_results)
        rc = result_error(d);
    if (rc == 0)
        rc = ops_table[d->op].done(d, &out);
    if (rc != PENDING) /* a done handler may propose the next write of its operation */
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
    json_decref(d->held);
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
    rc = http_check_sigv4(r, "dynamodb", &d->e);
    if (rc < 0) {
        d->own_text = true;
        finish(d, rc, NULL);
        return;
    }
    for (i = 0; i < n && strcmp(ops_table[i].name, op) != 0; i++)
        ;
    if (i == n) {
        finish(d, ddb_fail(d, CR_EUNKNOWNOP, "Unknown operation: %.100s", op), NULL);
        return;
    }
    d->op = i;
    d->in = json_loadb(r->body, r->body_len, 0, &err);
    if (!d->in) {
        finish(d, ddb_fail(d, CR_EPROTO, "Malformed JSON body: %s", err.text), NULL);
        return;
    }
    if (!json_is_object(d->in)) {
        finish(d, ddb_fail(d, CR_EPROTO, "Start of structure or map expected"), NULL);
        return;
    }
    d->strong = wants_strong(op, d->in);
    rc = ops_table[i].handle(d, &out);
    if (rc != PENDING)
        finish(d, rc, out);
}

void dynamodb_refuse(struct http_req *r, int code, const char *message)
{
    struct ddb *d = cr_arena_calloc(&r->arena, sizeof *d);

    if (!d) {
        http_reply(r, 500, CONTENT_TYPE, NULL, 0);
        return;
    }
    d->r = r;
    r->data = d;
    r->cleanup = cleanup;
    finish(d, ddb_fail(d, code, "%s", message), NULL);
}
