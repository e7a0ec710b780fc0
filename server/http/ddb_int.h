/*
 * Private to the DynamoDB dialect (server/http/dynamodb.c and its ddb_*.c files): the request
 * state every operation handler works on, and the helpers they share. dynamodb.c owns dispatch,
 * the error table and these helpers; ddb_tables.c, ddb_writes.c, ddb_transact.c and ddb_reads.c
 * hold the operations. Nothing outside server/http includes this.
 */
#ifndef CR_HTTP_DDB_INT_H
#define CR_HTTP_DDB_INT_H

#include "query/ddb_expr.h"
#include "server/http/ddb_av.h"
#include "server/http/http_int.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PENDING 1 /* a handler proposed a write; the operation's done handler answers */
#define INVALID "One or more parameter values were invalid: "
#define MAX_BATCH_WRITE 25 /* DynamoDB's BatchWriteItem limit */
#define MAX_BATCH_GET 100  /* DynamoDB's BatchGetItem limit */
#define MAX_TRANSACT 100   /* DynamoDB's TransactWriteItems and TransactGetItems limit */
#define MAX_SEGMENTS 1000000
#define ACCOUNT "000000000000"

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
    struct ops_write w;
    const char *error_type; /* overrides the exception name of an error's code */
    json_t *error_extra;    /* members added to an error's body; owned, released by finish */
    bool own_results;       /* the done handler also answers an entry whose mutations failed */
    void *op_data;          /* an operation's state from its handler to its done handler */
    json_t *held;           /* PartiQL: requests kept while `in` is a translation; released */
    bool strong; /* some read of the request is strongly consistent: the first one is, too */
};

/* ---- errors: each sets d->e with DynamoDB's text and returns the code ---- */

int ddb_attributes_to_get(struct ddb *d, const json_t *obj, json_t **out);
int ddb_check_key(struct ddb *d, const struct table_def *def, const struct value *m, bool in_item);
int ddb_constraint(struct ddb *d, const char *value, const char *path, const char *what);
int ddb_fail(struct ddb *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ddb_flag(struct ddb *d, const json_t *obj, const char *name, bool *out);
json_t *ddb_item_json(const struct value *item, const json_t *only);
const char *ddb_json_type_name(const json_t *j);
const char *ddb_key_code(enum key_type t);
json_t *ddb_key_json(const struct table_def *def, const struct value *item);
int ddb_key_or_item(struct ddb *d, const json_t *obj, const char *name, const char *path,
                    const struct table_def *def, bool in_item, struct value *out);
int ddb_load_table(struct ddb *d, const char *name, bool describe, struct table_def *def,
                   struct table_stats *stats);
int ddb_member(struct ddb *d, const json_t *obj, const char *name, json_type type, json_t **out);
int ddb_nomem(struct ddb *d);
int ddb_propose(struct ddb *d, const struct mutation *muts, size_t n);
/* As ddb_propose, with an idempotency token (NULL: none) and its request's hash: see
 * ops_write_token. */
int ddb_propose_token(struct ddb *d, const struct mutation *muts, size_t n, const char *token,
                      size_t token_len, uint64_t request_hash);
void ddb_read_opts(bool consistent, struct ops_read_opts *ro);
int ddb_reject(struct ddb *d, const json_t *obj, const char *const *names);
int ddb_table_name(struct ddb *d, const json_t *obj, const char *name, const char *path,
                   const char **out);
bool ddb_type_matches(enum key_type t, enum value_type v);
/* DynamoDB's ValidationException for an index key attribute of the wrong type, as text and as
 * d's error. */
void ddb_mismatch_text(const struct index_mismatch *m, char *buf, size_t size);
int ddb_mismatch_fail(struct ddb *d, const struct index_mismatch *m);
/* The same check before proposing a whole item of def (apply() checks again: an update's new
 * item exists only there, and an index may be added in between). */
int ddb_check_index_types(struct ddb *d, const struct table_def *def, const struct value *item);
int ddb_unsupported(struct ddb *d, const char *param);

/* ---- expressions (query/ddb_expr.h) ---- */

/* Binds obj's ExpressionAttributeNames and ExpressionAttributeValues to ctx. `expressions`: the
 * request carries at least one expression; placeholders without one are DynamoDB's
 * ValidationException. After parsing every expression, call ddb_expr_done (unused
 * placeholders are errors too). */
int ddb_expr_ctx(struct ddb *d, const json_t *obj, bool expressions, struct ddb_ctx *ctx);
int ddb_expr_done(struct ddb *d, const struct ddb_ctx *ctx);
/* An expression error, in DynamoDB's words, as d's error. */
int ddb_expr_fail(struct ddb *d, const struct ddb_err *err);

bool ddb_same_key(const struct table_def *def, const struct value *a, const struct value *b);
int ddb_request_items(struct ddb *d, json_t **items);

/* Expressions and write options (ddb_writes.c), shared with ddb_transact.c. */
struct ddb_hook;
enum ddb_capacity { DDB_CAP_NONE, DDB_CAP_TOTAL, DDB_CAP_INDEXES };
int ddb_capacity_mode(struct ddb *d, const json_t *obj, enum ddb_capacity *out);
json_t *ddb_capacity_json(const char *table, double units, enum ddb_capacity mode);
double ddb_write_units(const struct mutation_result *res);
/* The write capacity of one table in a request: the table's units and each index's (DynamoDB's
 * ReturnConsumedCapacity INDEXES breakdown; TOTAL reports their sum). */
struct ddb_units {
    double table;
    size_t n;
    struct {
        const char *name;
        bool lsi;
        double units;
    } idx[CR_MAX_INDEXES];
};
/* For a write m of def whose capacity is asked for: def's indexes into *idx (arena; *n 0 when
 * none), and m set to return its old and new items, from which index costs are computed. */
int ddb_capacity_prepare(struct ddb *d, enum ddb_capacity mode, const struct table_def *def,
                         struct mutation *m, struct index_def **idx, size_t *n);
/* Adds factor times the cost of the written res (of a table with indexes idx[0..n)) to u. */
int ddb_units_add(struct ddb_units *u, const struct mutation_result *res,
                  const struct table_def *def, const struct index_def *idx, size_t n, double factor,
                  struct cr_arena *a);
json_t *ddb_units_json(const char *table, const struct ddb_units *u, enum ddb_capacity mode);
int ddb_old_on_fail(struct ddb *d, const json_t *obj, const char *path, bool *out);
/* ReturnItemCollectionMetrics of obj: *size true for SIZE. */
int ddb_metrics_mode(struct ddb *d, const json_t *obj, bool *size);
/* ItemCollectionMetrics ({ItemCollectionKey, SizeEstimateRangeGB}) of the collection (the
 * partition) of item, a key or an item of def, into *out (a new reference); NULL when def has
 * no local secondary index. Reads the collection as it is now, so call it from a done handler
 * (after the write); ends the snapshot it reads. */
int ddb_collection_metrics(struct ddb *d, const struct table_def *def, const struct value *item,
                           json_t **out);
/* The metrics of each collection written by muts[0..n) (of the tables in their `table`), as
 * out's "ItemCollectionMetrics" {table: [metrics, ...]}; nothing when no table has an LSI. */
int ddb_collection_metrics_map(struct ddb *d, const struct mutation *muts, size_t n, json_t *out);
/* Condition (and, for an update, update) expression of obj with its placeholders, parsed for m
 * and installed as m's hook (h must live as long as m). */
int ddb_write_exprs(struct ddb *d, const json_t *obj, struct mutation *m, struct ddb_hook *h);

/* ---- legacy conditions (ddb_legacy.c): Expected, QueryFilter and ScanFilter (and, with the
 * writer, AttributeUpdates) rewritten as expressions with generated placeholders ---- */

/* An expression being written, with its placeholder tables (arena-allocated, sized by
 * ddb_legacy_init's slots; one pair of tables may serve several texts). */
struct ddb_legacy {
    struct ddb *d;
    char *text; /* the expression being written: DDB_EXPR_MAX_LEN + 1 bytes */
    size_t len;
    struct ddb_name *names;
    size_t n_names;
    struct ddb_value *values;
    size_t n_values;
    bool filter; /* QueryFilter/ScanFilter: values are type-checked against their operator */
};

/* Placeholders the conditions of conds (Expected, QueryFilter, ScanFilter) can need. */
size_t ddb_legacy_slots(const json_t *conds);
int ddb_legacy_init(struct ddb *d, struct ddb_legacy *l, size_t slots);
/* Starts a new text in l. */
int ddb_legacy_text(struct ddb_legacy *l);
int ddb_legacy_emit(struct ddb_legacy *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes a new placeholder "#<prefix>N" for attr, or ":<prefix>N" for the AttributeValue av. */
int ddb_legacy_name(struct ddb_legacy *l, const char *prefix, const char *attr);
int ddb_legacy_value(struct ddb_legacy *l, const char *prefix, const json_t *av);
/* Expected joined by ConditionalOperator cop (NULL: AND) as a new text of l. */
int ddb_legacy_expected(struct ddb_legacy *l, const json_t *exp, const json_t *cop);
/* obj's filter `name` (QueryFilter or ScanFilter) joined by its ConditionalOperator, parsed as a
 * FilterExpression into *out (NULL: no filter); *filter is the member (NULL when absent). */
int ddb_legacy_filter(struct ddb *d, const json_t *obj, const char *name, json_t **filter,
                      struct ddb_cond **out);

/* ---- operations: a handler returns 0 with *out, PENDING after proposing a write (its done
 * handler then builds *out from d->w), or an error ---- */

int ddb_done_create_table(struct ddb *d, json_t **out);
int ddb_done_delete_table(struct ddb *d, json_t **out);
int ddb_op_create_table(struct ddb *d, json_t **out);
int ddb_op_delete_table(struct ddb *d, json_t **out);
int ddb_op_describe_table(struct ddb *d, json_t **out);
int ddb_op_update_table(struct ddb *d, json_t **out);
int ddb_done_update_table(struct ddb *d, json_t **out);
int ddb_op_list_tables(struct ddb *d, json_t **out);
int ddb_op_describe_endpoints(struct ddb *d, json_t **out);
int ddb_op_describe_limits(struct ddb *d, json_t **out);
int ddb_op_tag_resource(struct ddb *d, json_t **out);
int ddb_op_untag_resource(struct ddb *d, json_t **out);
int ddb_op_list_tags_of_resource(struct ddb *d, json_t **out);
int ddb_done_tags(struct ddb *d, json_t **out);
int ddb_op_update_time_to_live(struct ddb *d, json_t **out);
int ddb_done_update_time_to_live(struct ddb *d, json_t **out);
int ddb_op_describe_time_to_live(struct ddb *d, json_t **out);
int ddb_done_batch_write_item(struct ddb *d, json_t **out);
int ddb_done_item_write(struct ddb *d, json_t **out);
int ddb_op_batch_get_item(struct ddb *d, json_t **out);
int ddb_op_batch_write_item(struct ddb *d, json_t **out);
int ddb_op_delete_item(struct ddb *d, json_t **out);
int ddb_op_get_item(struct ddb *d, json_t **out);
int ddb_op_put_item(struct ddb *d, json_t **out);
int ddb_op_query(struct ddb *d, json_t **out);
int ddb_op_scan(struct ddb *d, json_t **out);
int ddb_op_update_item(struct ddb *d, json_t **out);
int ddb_done_transact_write_items(struct ddb *d, json_t **out);
int ddb_op_transact_get_items(struct ddb *d, json_t **out);
int ddb_op_transact_write_items(struct ddb *d, json_t **out);
int ddb_done_batch_execute_statement(struct ddb *d, json_t **out);
int ddb_done_execute_statement(struct ddb *d, json_t **out);
int ddb_done_execute_transaction(struct ddb *d, json_t **out);
int ddb_op_batch_execute_statement(struct ddb *d, json_t **out);
int ddb_op_execute_statement(struct ddb *d, json_t **out);
int ddb_op_execute_transaction(struct ddb *d, json_t **out);

#endif
