/*
 * DynamoDB expressions: KeyConditionExpression, ConditionExpression, FilterExpression,
 * ProjectionExpression and UpdateExpression, parsed into ASTs and evaluated as pure functions over
 * struct value. No I/O, no clock, no JSON: the front end converts the request's JSON into the
 * placeholder tables below and maps CR_EINVAL to ValidationException with err->msg as message.
 *
 * One request, one context: ddb_ctx_init() with the request's ExpressionAttributeNames and
 * ExpressionAttributeValues, then ddb_parse_*() for each expression the request carries, then
 * ddb_ctx_check_unused() (DynamoDB rejects a request that supplies a name or value no expression
 * uses). Undefined placeholders are parse errors.
 *
 * Memory: everything (ASTs, results) comes from the caller's arena. ASTs and results borrow the
 * expression text, the placeholder tables and their values, and the items they were given: all
 * of those must outlive the arena's use. Nothing here frees anything; cr_arena_free does.
 *
 * Errors: every fallible function returns 0 or a negative CR_E* code and, on error, fills the
 * caller's struct ddb_err with the code and DynamoDB's message text (e.g. "Invalid
 * UpdateExpression: Syntax error; token: \"<EOF>\", near: \"= \""). Codes: CR_EINVAL for every
 * ValidationException, CR_ENOMEM when the arena cannot allocate.
 *
 * Limits (DynamoDB's): an expression string is at most DDB_EXPR_MAX_LEN bytes, has at most
 * DDB_MAX_OPERATORS operators and functions, IN takes at most DDB_MAX_IN_OPERANDS operands, and a
 * document path at most CR_MAX_DEPTH levels. The length limit also bounds the parser's recursion.
 *
 * Types: DynamoDB's S is VT_STRING, N is VT_INT, VT_DOUBLE or VT_DECIMAL (compared numerically),
 * B is VT_BYTES, SS/NS/BS are VT_SS/VT_NS/VT_BS, M is VT_MAP, L is VT_ARRAY, NULL is VT_NULL and
 * BOOL is VT_BOOL. Other value types (timestamps, geopoints, refs) have no DynamoDB type: they
 * satisfy only attribute_exists and equality with themselves.
 */
#ifndef CR_DDB_EXPR_H
#define CR_DDB_EXPR_H

#include "common/arena.h"
#include "storage/storage.h"
#include "storage/value.h"

#include <stdbool.h>
#include <stddef.h>

#define DDB_EXPR_MAX_LEN 4096
#define DDB_MAX_OPERATORS 300
#define DDB_MAX_IN_OPERANDS 100
#define DDB_ERR_MAX 512

struct ddb_err {
    int code;
    char msg[DDB_ERR_MAX]; /* NUL-terminated; "" when code is 0 */
};

/* Which request parameter an expression came from: names the expression in messages and
 * selects the grammar (conditions and filters share one). */
enum ddb_kind {
    DDB_CONDITION,
    DDB_FILTER,
    DDB_KEY_CONDITION,
    DDB_PROJECTION,
    DDB_UPDATE,
};

/* ExpressionAttributeNames entry: "#n" -> attribute name. Not NUL-terminated. */
struct ddb_name {
    const char *placeholder;
    size_t placeholder_len;
    const char *name;
    size_t name_len;
};

/* ExpressionAttributeValues entry: ":v" -> value. */
struct ddb_value {
    const char *placeholder;
    size_t placeholder_len;
    const struct value *value;
};

/* The placeholders of one request and which of them its expressions used. */
struct ddb_ctx {
    struct cr_arena *arena;
    const struct ddb_name *names;
    size_t n_names;
    const struct ddb_value *values;
    size_t n_values;
    bool *name_used;
    bool *value_used;
};

/* Table key schema: the partition key name and, when the table has one, the sort key name
 * (sk NULL otherwise). Names are not NUL-terminated. */
struct ddb_key_schema {
    const char *pk;
    size_t pk_len;
    const char *sk;
    size_t sk_len;
};

/* Binds the tables (borrowed) to the context. CR_EINVAL when a key does not start with '#' or ':'
 * ("ExpressionAttributeNames contains invalid key: Syntax error; key: \"n\""), when a name is
 * empty, or when a key is given twice; CR_ENOMEM. */
int ddb_ctx_init(struct ddb_ctx *ctx, struct cr_arena *a, const struct ddb_name *names,
                 size_t n_names, const struct ddb_value *values, size_t n_values,
                 struct ddb_err *err);

/* After every expression of the request was parsed: CR_EINVAL with "Value provided in
 * ExpressionAttributeNames unused in expressions: keys: {#a, #b}" (names are checked first, then
 * values likewise) when a placeholder went unused. */
int ddb_ctx_check_unused(const struct ddb_ctx *ctx, struct ddb_err *err);

/* A parsed ConditionExpression or FilterExpression. */
struct ddb_cond;

/* kind is DDB_CONDITION or DDB_FILTER (it names the expression in messages). Errors: syntax
 * errors, undefined placeholders, reserved words used as names, unknown functions, wrong operand
 * counts or constant operand types, paths deeper than CR_MAX_DEPTH, the limits above, an empty
 * expression: CR_EINVAL; CR_ENOMEM. */
int ddb_parse_condition(struct ddb_ctx *ctx, enum ddb_kind kind, const char *text, size_t len,
                        struct ddb_cond **out, struct ddb_err *err);

/* Evaluates the condition on item (a VT_MAP, or NULL when the item does not exist: every path is
 * then missing). Comparisons between different DynamoDB types are false (<> true); a missing
 * operand makes a comparison false (<> true). Never fails today: returns 0. */
int ddb_eval_condition(const struct ddb_cond *c, const struct value *item, bool *result,
                       struct ddb_err *err);

/* A KeyConditionExpression mapped onto storage's range read: op is SK_ANY when it names only the
 * partition key; sk1 (and sk2 for SK_BETWEEN) are copies of the placeholder values. Checking the
 * values' types against the table's attribute definitions is the caller's job. */
struct ddb_key_cond {
    struct value pk;
    enum sk_op op;
    struct value sk1, sk2;
};

/* Errors (CR_EINVAL), besides the parse errors of ddb_parse_condition: an operator other than =,
 * <, <=, >, >=, BETWEEN, begins_with and one AND ("Invalid operator used in
 * KeyConditionExpression: OR"), a non-equality or missing condition on the partition key, a
 * condition on a non-key or nested attribute, two conditions on one key, begins_with on a
 * non-string, non-binary value. */
int ddb_parse_key_condition(struct ddb_ctx *ctx, const char *text, size_t len,
                            const struct ddb_key_schema *keys, struct ddb_key_cond *out,
                            struct ddb_err *err);

/* A parsed ProjectionExpression: a list of document paths. */
struct ddb_projection;

/* Errors (CR_EINVAL): syntax, undefined names, reserved words, value placeholders, overlapping
 * or conflicting paths ("Two document paths overlap with each other; ..."). */
int ddb_parse_projection(struct ddb_ctx *ctx, const char *text, size_t len,
                         struct ddb_projection **out, struct ddb_err *err);

/* A new VT_MAP (arena-allocated containers; leaves borrow from item) with only the projected
 * paths that exist in item. Nested paths keep their structure; list elements selected by index
 * come back in index order, compacted. item NULL gives an empty map. CR_ENOMEM. */
int ddb_project(const struct ddb_projection *p, const struct value *item, struct cr_arena *a,
                struct value *out);

/* A parsed UpdateExpression. */
struct ddb_update;

/* keys: the table's key attributes, which no action may touch ("Cannot update attribute id. This
 * attribute is part of the key"). Errors (CR_EINVAL): syntax, placeholders, reserved words, a
 * clause given twice, overlapping or conflicting target paths, constant operands of the wrong
 * type (ADD takes a number or a set, DELETE a set, + and - numbers, list_append lists). */
int ddb_parse_update(struct ddb_ctx *ctx, const char *text, size_t len,
                     const struct ddb_key_schema *keys, struct ddb_update **out,
                     struct ddb_err *err);

/* Applies the update to old_item (a VT_MAP, or NULL when UpdateItem creates the item: the caller
 * adds the key attributes to the result). Every operand is read from old_item, as DynamoDB does.
 * *new_item is an arena-allocated VT_MAP that borrows unchanged parts of old_item. Runtime
 * errors (CR_EINVAL): an operand path missing ("The provided expression refers to an attribute
 * that does not exist in the item"), operands of the wrong type ("An operand in the update
 * expression has an incorrect data type"), a target below a missing or non-container attribute
 * ("The document path provided in the update expression is invalid for update"), a number
 * result beyond 38 digits or DynamoDB's range, nesting deeper than CR_MAX_DEPTH. CR_ENOMEM. */
int ddb_apply_update(const struct ddb_update *u, const struct value *old_item, struct cr_arena *a,
                     struct value *new_item, struct ddb_err *err);

/* ReturnValues UPDATED_OLD / UPDATED_NEW: item (the old or the new one) projected onto the
 * paths the update's actions target, as ddb_project does. CR_ENOMEM. */
int ddb_update_project(const struct ddb_update *u, const struct value *item, struct cr_arena *a,
                       struct value *out);

#endif
