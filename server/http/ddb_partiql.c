/*
 * DynamoDB's PartiQL operations: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.
 * query/partiql translates each statement into an ordinary DynamoDB request (Query, Scan,
 * GetItem, PutItem, UpdateItem, DeleteItem, TransactGetItems, TransactWriteItems) with
 * expression text and placeholders; this file writes that request as the JSON the operation
 * takes and runs the operation's own handler (and done handler) on it, so a statement is
 * validated, logged and applied exactly as the equivalent API call. It must not evaluate a
 * statement itself.
 *
 * The translated request replaces d->in while its operation runs; the received request and
 * every translation stay alive in d->held until the request ends.
 *
 * NextToken is opaque to clients: hex of the statement's hash then of the LastEvaluatedKey
 * JSON, which becomes the next page's ExclusiveStartKey (the storage cursor is derived from it
 * as for Query and Scan). A token from another statement is refused.
 *
 * BatchExecuteStatement runs its statements in order, each on its own: a write is proposed
 * alone and the next statement runs when it has applied, so one statement's failure is its own
 * Error and the others still apply, as in DynamoDB.
 */
#include "common/error.h"
#include "common/hash.h"
#include "query/partiql.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH_STATEMENTS 25 /* DynamoDB's BatchExecuteStatement limit */
#define MAX_TOKEN_LEN 32768
#define DUPLICATE "Duplicate primary key exists in table"

/* One statement, translated. */
struct stmt {
    struct partiql_op op;
    struct table_def def;
    const json_t *spec; /* the statement's object: Statement, Parameters, ... */
    uint64_t hash;      /* of the statement text */
};

/* An operation's state from its handler to its done handler. */
struct pq {
    struct stmt *stmts;
    size_t n, at; /* at: BatchExecuteStatement's statement being run */
    json_t *responses;
    void *inner; /* the translated operation's op_data */
};

/* ---- requests ----------------------------------------------------------------------------- */

/* Makes d->held hold the received request. */
static int hold(struct ddb *d)
{
    d->held = json_array();
    if (!d->held || json_array_append(d->held, d->in) < 0)
        return ddb_nomem(d);
    return 0;
}

/* Runs the next handler on req (a new reference, consumed). */
static int set_in(struct ddb *d, json_t *req)
{
    if (!req || json_array_append(d->held, req) < 0) {
        json_decref(req);
        return ddb_nomem(d);
    }
    json_decref(d->in);
    d->in = req;
    return 0;
}

/* Statement and Parameters of spec, parsed and translated for their table. */
static int translate(struct ddb *d, const json_t *spec, struct stmt *s)
{
    struct cr_arena *a = &d->r->arena;
    struct partiql_stmt *ps;
    struct value *params = NULL;
    struct ddb_err err;
    json_t *text, *pj, *el;
    const char *table;
    size_t len, i;
    int rc = ddb_member(d, spec, "Statement", JSON_STRING, &text);

    if (rc == 0)
        rc = ddb_member(d, spec, "Parameters", JSON_ARRAY, &pj);
    if (rc < 0)
        return rc;
    if (!text)
        return ddb_constraint(d, NULL, "statement", "Member must not be null");
    if (json_string_length(text) == 0 || json_string_length(text) > PARTIQL_MAX_LEN)
        return ddb_constraint(d, json_string_value(text), "statement",
                              json_string_length(text)
                                  ? "Member must have length less than or equal to 8192"
                                  : "Member must have length greater than or equal to 1");
    if (pj && json_array_size(pj) == 0)
        return ddb_constraint(d, "[]", "parameters",
                              "Member must have length greater than or equal to 1");
    if (pj && !(params = cr_arena_alloc(a, json_array_size(pj) * sizeof *params)))
        return ddb_nomem(d);
    json_array_foreach(pj, i, el)
    {
        rc = ddb_av_to_value(el, a, &params[i], &d->e);
        if (rc < 0) {
            d->own_text = true;
            return rc;
        }
    }
    s->spec = spec;
    s->hash = cr_hash64(json_string_value(text), json_string_length(text));
    if (partiql_parse(a, json_string_value(text), json_string_length(text), params,
                      pj ? json_array_size(pj) : 0, &ps, &err) < 0)
        return ddb_expr_fail(d, &err);
    table = partiql_stmt_table(ps, &len);
    table = cr_arena_strndup(a, table, len);
    if (!table)
        return ddb_nomem(d);
    rc = ddb_load_table(d, table, false, &s->def, NULL);
    if (rc == 0 && partiql_translate(ps, &s->def, a, &s->op, &err) < 0)
        rc = ddb_expr_fail(d, &err);
    return rc;
}

/* Sets o[k] to v (a new reference, consumed); false when v is NULL or on failure. */
static bool put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

static bool put_text(json_t *o, const char *k, const char *text)
{
    return !text || put(o, k, json_string(text));
}

/* Copies the member k of from, when present. */
static bool copy(json_t *o, const json_t *from, const char *k)
{
    json_t *v = json_object_get(from, k);

    return !v || json_object_set(o, k, v) == 0;
}

/* names[0..n_names) and values[0..n_values) as ExpressionAttributeNames and Values. */
static bool placeholders(const struct partiql_op *op, size_t n_names, size_t n_values, json_t *req)
{
    json_t *names = n_names ? json_object() : NULL, *values = n_values ? json_object() : NULL;
    bool ok = (!n_names || put(req, "ExpressionAttributeNames", names)) &&
              (!n_values || put(req, "ExpressionAttributeValues", values));

    for (size_t i = 0; ok && i < n_names; i++)
        ok = put(names, op->names[i].placeholder,
                 json_stringn(op->names[i].name, op->names[i].name_len));
    for (size_t i = 0; ok && i < n_values; i++)
        ok = put(values, op->values[i].placeholder, ddb_av_from_value(op->values[i].value));
    return ok;
}

/* The request s translates to: a Query or Scan for a SELECT, or a GetItem when `get`; a
 * PutItem, UpdateItem or DeleteItem for a write. NULL when out of memory. */
static json_t *request(const struct stmt *s, bool get)
{
    static const char *const returning[] = {NULL, "ALL_OLD", "UPDATED_OLD", "ALL_NEW",
                                            "UPDATED_NEW"};
    const struct partiql_op *op = &s->op;
    json_t *req = json_pack("{s:s}", "TableName", s->def.name);
    bool ok = req != NULL;

    if (ok && get) {
        ok = put(req, "Key", ddb_item_from_value(&op->key)) &&
             put_text(req, "ProjectionExpression", op->projection) &&
             placeholders(op, op->n_projection_names, 0, req);
    } else if (ok && op->kind == PARTIQL_SELECT) {
        ok = put_text(req, "KeyConditionExpression", op->key_condition) &&
             put_text(req, "FilterExpression", op->filter) &&
             put_text(req, "ProjectionExpression", op->projection) &&
             (!op->index || put(req, "IndexName", json_stringn(op->index, op->index_len))) &&
             (!op->reverse || put(req, "ScanIndexForward", json_false())) &&
             placeholders(op, op->n_names, op->n_values, req);
    } else if (ok) {
        ok = (op->kind == PARTIQL_INSERT ? put(req, "Item", ddb_item_from_value(&op->item))
                                         : put(req, "Key", ddb_item_from_value(&op->key))) &&
             put_text(req, "UpdateExpression", op->update) &&
             put_text(req, "ConditionExpression", op->condition) &&
             put_text(req, "ReturnValues", returning[op->returning]) &&
             placeholders(op, op->n_names, op->n_values, req);
    }
    if (!ok) {
        json_decref(req);
        return NULL;
    }
    return req;
}

/* ---- NextToken ---------------------------------------------------------------------------- */

static json_t *make_token(const struct stmt *s, const json_t *last_key)
{
    char *key = json_dumps(last_key, JSON_COMPACT | JSON_SORT_KEYS), *hex;
    size_t n = key ? strlen(key) : 0;
    json_t *token = NULL;

    hex = key ? malloc(16 + 2 * n + 1) : NULL;
    if (hex) {
        snprintf(hex, 17, "%016llx", (unsigned long long)s->hash);
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 16 + 2 * i, 3, "%02x", (unsigned char)key[i]);
        token = json_string(hex);
    }
    free(hex);
    free(key);
    return token;
}

/* NextToken as the ExclusiveStartKey of req. */
static int start_key(struct ddb *d, const struct stmt *s, const json_t *token, json_t *req)
{
    const char *t = json_string_value(token);
    size_t n = json_string_length(token), k;
    char prefix[17], *key;
    json_t *j = NULL;

    snprintf(prefix, sizeof prefix, "%016llx", (unsigned long long)s->hash);
    if (n < 16 || n > MAX_TOKEN_LEN || n % 2 || memcmp(t, prefix, 16) != 0)
        return ddb_fail(d, CR_EINVAL, "Invalid NextToken");
    key = cr_arena_alloc(&d->r->arena, (n - 16) / 2 + 1);
    if (!key)
        return ddb_nomem(d);
    for (k = 0; k < (n - 16) / 2; k++) {
        unsigned v;

        if (sscanf(t + 16 + 2 * k, "%2x", &v) != 1)
            break;
        key[k] = (char)v;
    }
    if (k == (n - 16) / 2)
        j = json_loadb(key, k, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return ddb_fail(d, CR_EINVAL, "Invalid NextToken");
    }
    return put(req, "ExclusiveStartKey", j) ? 0 : ddb_nomem(d);
}

/* ---- running the translation -------------------------------------------------------------- */

/* Proposes s's write (req is its request, consumed). PENDING: st is d's op_data again, the
 * write's own state in st->inner. */
static int propose_write(struct ddb *d, struct pq *st, const struct stmt *s, json_t *req)
{
    json_t *unused = NULL;
    int rc = set_in(d, req);

    if (rc == 0 && s->op.kind == PARTIQL_INSERT)
        rc = ddb_op_put_item(d, &unused);
    else if (rc == 0 && s->op.kind == PARTIQL_UPDATE)
        rc = ddb_op_update_item(d, &unused);
    else if (rc == 0)
        rc = ddb_op_delete_item(d, &unused);
    if (rc == PENDING) {
        st->inner = d->op_data;
        d->op_data = st;
    }
    return rc;
}

/* The applied write's answer (PutItem's, UpdateItem's or DeleteItem's) into *res. An INSERT
 * whose condition failed found its key taken. */
static int written(struct ddb *d, struct pq *st, const struct stmt *s, json_t **res)
{
    int rc;

    d->op_data = st->inner;
    rc = ddb_done_item_write(d, res);
    d->op_data = st;
    if (rc == CR_ECONDITION && s->op.kind == PARTIQL_INSERT) {
        d->error_type = "DuplicateItemException";
        return ddb_fail(d, rc, DUPLICATE);
    }
    return rc;
}

/* A SELECT's page (Query's or Scan's answer, consumed) as ExecuteStatement's. */
static int page_out(struct ddb *d, const struct stmt *s, json_t *page, json_t **out)
{
    json_t *last = json_object_get(page, "LastEvaluatedKey");
    bool ok;

    *out = json_pack("{s:O}", "Items", json_object_get(page, "Items"));
    ok = *out && (!last || (put(*out, "NextToken", make_token(s, last)) &&
                            json_object_set(*out, "LastEvaluatedKey", last) == 0));
    json_decref(page);
    return ok ? 0 : ddb_nomem(d);
}

/* A write's answer (consumed) as ExecuteStatement's: Items holds RETURNING's attributes. */
static int write_out(struct ddb *d, json_t *res, json_t **out)
{
    json_t *attrs = json_object_get(res, "Attributes");
    bool ok;

    *out = json_pack("{s:[]}", "Items");
    ok = *out && (!attrs || json_array_append(json_object_get(*out, "Items"), attrs) == 0) &&
         copy(*out, res, "ConsumedCapacity");
    json_decref(res);
    return ok ? 0 : ddb_nomem(d);
}

static struct pq *new_pq(struct ddb *d, size_t n)
{
    struct pq *st = cr_arena_calloc(&d->r->arena, sizeof *st);

    if (st && !(st->stmts = cr_arena_calloc(&d->r->arena, n * sizeof *st->stmts)))
        return NULL;
    if (st)
        st->n = n;
    return st;
}

/* ---- ExecuteStatement --------------------------------------------------------------------- */

int ddb_op_execute_statement(struct ddb *d, json_t **out)
{
    struct pq *st = new_pq(d, 1);
    const json_t *in = d->in;
    json_t *token = NULL, *req, *page = NULL;
    struct stmt *s;
    int rc;

    if (!st)
        return ddb_nomem(d);
    d->op_data = st;
    s = st->stmts;
    rc = hold(d);
    if (rc == 0)
        rc = ddb_member(d, in, "NextToken", JSON_STRING, &token);
    if (rc == 0)
        rc = translate(d, in, s);
    if (rc < 0)
        return rc;
    req = request(s, false);
    if (!req)
        return ddb_nomem(d);
    if (s->op.kind != PARTIQL_SELECT) {
        if (!copy(req, in, "ReturnConsumedCapacity") ||
            !copy(req, in, "ReturnValuesOnConditionCheckFailure")) {
            json_decref(req);
            return ddb_nomem(d);
        }
        return propose_write(d, st, s, req);
    }
    rc = copy(req, in, "ConsistentRead") && copy(req, in, "Limit") ? 0 : ddb_nomem(d);
    if (rc == 0 && token)
        rc = start_key(d, s, token, req);
    if (rc < 0) {
        json_decref(req);
        return rc;
    }
    rc = set_in(d, req);
    if (rc == 0)
        rc = s->op.key_condition ? ddb_op_query(d, &page) : ddb_op_scan(d, &page);
    if (rc < 0) {
        json_decref(page);
        return rc;
    }
    return page_out(d, s, page, out);
}

int ddb_done_execute_statement(struct ddb *d, json_t **out)
{
    struct pq *st = d->op_data;
    json_t *res = NULL;
    int rc = written(d, st, st->stmts, &res);

    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    return write_out(d, res, out);
}

/* ---- BatchExecuteStatement ---------------------------------------------------------------- */

static const char *batch_code(const struct stmt *s, int rc)
{
    switch (rc) {
    case CR_ECONDITION:
        return s->op.kind == PARTIQL_INSERT ? "DuplicateItem" : "ConditionalCheckFailed";
    case CR_ENOTABLE:
        return "ResourceNotFound";
    case CR_EOVERLOAD:
        return "ThrottlingError";
    case CR_EINTERNAL:
    case CR_ENOMEM:
    case CR_EIO:
    case CR_EFULL:
    case CR_ECORRUPT:
    case CR_ESHUTDOWN:
    case CR_ENOTLEADER:
        return "InternalServerError";
    default:
        return "ValidationError";
    }
}

/* Appends statement s's response: its Item (res, consumed: GetItem's answer), or its Error when
 * rc failed; the error is then cleared from d for the next statement. */
static int batch_response(struct ddb *d, struct pq *st, const struct stmt *s, int rc, json_t *res)
{
    json_t *r = json_object(), *err = NULL, *item = json_object_get(res, "Item");
    bool ok = r && (!s->def.name[0] || put(r, "TableName", json_string(s->def.name)));

    if (ok && item)
        ok = json_object_set(r, "Item", item) == 0;
    if (ok && rc < 0) {
        const char *text = d->own_text && d->e.code == rc ? d->e.text
                           : rc == CR_ECONDITION          ? "The conditional request failed"
                                                          : cr_strerror(rc);

        err = json_pack("{s:s,s:s}", "Code", batch_code(s, rc), "Message", text);
        ok = put(r, "Error", err) && copy(err, d->error_extra, "Item");
        d->e.code = 0;
        d->own_text = false;
        d->error_type = NULL;
        json_decref(d->error_extra);
        d->error_extra = NULL;
    }
    json_decref(res);
    if (!ok || json_array_append_new(st->responses, r) < 0)
        return ddb_nomem(d);
    return 0;
}

/* Runs the statements from st->at on: PENDING when one of them proposed a write. */
static int batch_run(struct ddb *d, struct pq *st, json_t **out)
{
    for (; st->at < st->n; st->at++) {
        struct stmt *s = &st->stmts[st->at];
        const json_t *spec = s->spec;
        json_t *res = NULL, *req = NULL;
        bool read = false;
        int rc = translate(d, spec, s);

        read = rc == 0 && s->op.kind == PARTIQL_SELECT;
        if (read && !s->op.get)
            rc = ddb_fail(d, CR_EINVAL,
                          "Select statements in a batch must specify equalities on all key "
                          "attributes, and nothing else, in their WHERE clause");
        if (rc == 0 && !(req = request(s, read)))
            rc = ddb_nomem(d);
        if (rc == 0 &&
            !copy(req, spec, read ? "ConsistentRead" : "ReturnValuesOnConditionCheckFailure")) {
            json_decref(req);
            rc = ddb_nomem(d);
        }
        if (rc == 0 && read) {
            rc = set_in(d, req);
            if (rc == 0)
                rc = ddb_op_get_item(d, &res);
        } else if (rc == 0) {
            rc = propose_write(d, st, s, req);
            if (rc == PENDING)
                return rc;
        }
        rc = batch_response(d, st, s, rc, res);
        if (rc < 0)
            return rc;
    }
    *out = json_pack("{s:O}", "Responses", st->responses);
    return *out ? 0 : ddb_nomem(d);
}

/* Statements (name, 1..max objects) of the request into a new struct pq. */
static int statements(struct ddb *d, const char *name, const char *path, size_t max,
                      struct pq **out)
{
    json_t *list, *el;
    size_t i, n;
    char what[64];
    int rc = hold(d);

    if (rc == 0)
        rc = ddb_member(d, d->in, name, JSON_ARRAY, &list);
    if (rc < 0)
        return rc;
    if (!list)
        return ddb_constraint(d, NULL, path, "Member must not be null");
    n = json_array_size(list);
    snprintf(what, sizeof what, "Member must have length %s %zu",
             n ? "less than or equal to" : "greater than or equal to", n ? max : 1);
    if (n == 0 || n > max)
        return ddb_constraint(d, n ? "[...]" : "[]", path, what);
    if (!(*out = new_pq(d, n)))
        return ddb_nomem(d);
    json_array_foreach(list, i, el)
    {
        if (!json_is_object(el))
            return ddb_fail(d, CR_EPROTO, "Unexpected %s in %s", ddb_json_type_name(el), name);
        (*out)->stmts[i].spec = el;
    }
    d->op_data = *out;
    return 0;
}

int ddb_op_batch_execute_statement(struct ddb *d, json_t **out)
{
    struct pq *st = NULL;
    int rc = statements(d, "Statements", "statements", MAX_BATCH_STATEMENTS, &st);

    if (rc < 0)
        return rc;
    st->responses = json_array();
    if (!st->responses || json_array_append_new(d->held, st->responses) < 0)
        return ddb_nomem(d);
    return batch_run(d, st, out);
}

int ddb_done_batch_execute_statement(struct ddb *d, json_t **out)
{
    struct pq *st = d->op_data;
    const struct stmt *s = &st->stmts[st->at];
    json_t *res = NULL;
    int rc = written(d, st, s, &res);

    json_decref(res);
    rc = batch_response(d, st, s, rc, NULL);
    if (rc < 0)
        return rc;
    st->at++;
    return batch_run(d, st, out);
}

/* ---- ExecuteTransaction ------------------------------------------------------------------- */

/* s as one of TransactGetItems' or TransactWriteItems' actions. */
static json_t *action(const struct stmt *s)
{
    static const char *const names[] = {"Get", "Put", "Update", "Delete"};
    json_t *req = request(s, s->op.kind == PARTIQL_SELECT);
    json_t *act = req ? json_pack("{s:o}", names[s->op.kind], req) : NULL;

    if (act && s->op.kind != PARTIQL_SELECT &&
        !copy(req, s->spec, "ReturnValuesOnConditionCheckFailure")) {
        json_decref(act);
        return NULL;
    }
    return act;
}

int ddb_op_execute_transaction(struct ddb *d, json_t **out)
{
    const json_t *in = d->in;
    struct pq *st = NULL;
    json_t *items, *req;
    size_t reads = 0;
    int rc = statements(d, "TransactStatements", "transactStatements", MAX_TRANSACT, &st);

    for (size_t i = 0; rc == 0 && i < st->n; i++) {
        struct stmt *s = &st->stmts[i];

        rc = translate(d, s->spec, s);
        if (rc == 0 && s->op.kind == PARTIQL_SELECT && !s->op.get)
            rc = ddb_fail(d, CR_EINVAL,
                          "Select statements in a transaction must specify equalities on all key "
                          "attributes, and nothing else, in their WHERE clause");
        if (rc == 0 && s->op.returning != PARTIQL_RET_NONE)
            rc = ddb_fail(d, CR_EINVAL, "RETURNING is not supported in a transaction");
        reads += rc == 0 && s->op.kind == PARTIQL_SELECT;
    }
    if (rc < 0)
        return rc;
    if (reads && reads != st->n)
        return ddb_fail(d, CR_EINVAL, "A transaction's statements must be all reads or all writes");
    req = json_pack("{s:[]}", "TransactItems");
    items = json_object_get(req, "TransactItems");
    rc = req && copy(req, in, "ClientRequestToken") && copy(req, in, "ReturnConsumedCapacity")
             ? 0
             : CR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < st->n; i++)
        if (json_array_append_new(items, action(&st->stmts[i])) < 0)
            rc = CR_ENOMEM;
    if (rc < 0) {
        json_decref(req);
        return ddb_nomem(d);
    }
    rc = set_in(d, req);
    if (rc == 0 && reads)
        return ddb_op_transact_get_items(d, out);
    if (rc == 0)
        rc = ddb_op_transact_write_items(d, out);
    if (rc == PENDING) {
        st->inner = d->op_data;
        d->op_data = st;
    }
    return rc;
}

/* A cancelled transaction's INSERTs whose condition failed found their keys taken: their
 * reasons say DuplicateItem, and so does the message. */
static int duplicates(struct ddb *d, const struct pq *st)
{
    json_t *reasons = json_object_get(d->error_extra, "CancellationReasons"), *r;
    char codes[CR_ERRMSG_MAX] = "";
    size_t i;

    json_array_foreach(reasons, i, r)
    {
        size_t len = strlen(codes);

        if (i < st->n && st->stmts[i].op.kind == PARTIQL_INSERT &&
            strcmp(json_string_value(json_object_get(r, "Code")), "ConditionalCheckFailed") == 0) {
            json_object_set_new(r, "Code", json_string("DuplicateItem"));
            json_object_set_new(r, "Message", json_string(DUPLICATE));
        }
        snprintf(codes + len, sizeof codes - len, "%s%s", i ? ", " : "",
                 json_string_value(json_object_get(r, "Code")));
    }
    return ddb_fail(d, CR_ECONDITION,
                    "Transaction cancelled, please refer cancellation reasons for specific "
                    "reasons [%s]",
                    codes);
}

int ddb_done_execute_transaction(struct ddb *d, json_t **out)
{
    struct pq *st = d->op_data;
    int rc;

    d->op_data = st->inner;
    rc = ddb_done_transact_write_items(d, out);
    d->op_data = st;
    return rc == CR_ECONDITION && d->error_extra ? duplicates(d, st) : rc;
}
