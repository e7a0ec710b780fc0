/*
 * DynamoDB's PartiQL subset, one statement over one table, parsed and TRANSLATED into the
 * requests the DynamoDB front end already executes: GetItem, Query, Scan, PutItem, UpdateItem
 * and DeleteItem, their expressions written as query/ddb_expr.h text with their own placeholder
 * tables (#n0.., :v0..). There is no PartiQL evaluator: whatever a statement means, it means
 * through ddb_expr's parsers and apply()'s hooks.
 *
 *   SELECT {* | path [, path ...]} FROM "table"[."index"] [WHERE cond]
 *          [ORDER BY key [ASC | DESC]]
 *   INSERT INTO "table" VALUE {'name': value, ...}
 *   UPDATE "table" {SET path = value [, ...] | REMOVE path [, ...]} ... WHERE cond
 *          [RETURNING {ALL | MODIFIED} {OLD | NEW} *]
 *   DELETE FROM "table" WHERE cond [RETURNING ALL OLD *]
 *
 *   value: 'string' | number | true | false | null | ? | [value, ...] | {'k': value, ...} |
 *          <<value, ...>> (a string or number set) | path | value + value | value - value |
 *          list_append(v, v) | if_not_exists(path, v) | set_add(path, v) | set_delete(path, v)
 *   cond:  value {= | <> | != | < | <= | > | >=} value | cond AND cond | cond OR cond | NOT cond |
 *          (cond) | value [NOT] BETWEEN value AND value | value [NOT] IN [value, ...] |
 *          path IS [NOT] MISSING | path IS [NOT] NULL | begins_with(path, v) |
 *          contains(path, v) | attribute_type(path, 'S') | size(path) op value
 *   path:  name | "name" then .name | ."name" | [integer] ...
 *
 * Keywords and function names are case-insensitive; names are not. `?` takes the next of the
 * request's Parameters, in order.
 *
 * Translation (partiql_translate, once the table's key schema is known):
 *   SELECT: an equality on the partition key among the WHERE's top-level AND terms makes a Query
 *     (key condition: that equality and at most one sort-key term, =, <, <=, >, >=, BETWEEN or
 *     begins_with); otherwise a Scan. Every other term is the FilterExpression. WHERE that is
 *     exactly equalities on every key attribute also gives the key, for a GetItem.
 *   INSERT: a put of the item with attribute_not_exists(pk).
 *   UPDATE: the WHERE's key equalities are the key, the rest the condition, with
 *     attribute_exists(pk) (an UPDATE never creates an item). SET and REMOVE become one
 *     UpdateExpression; `SET p = set_add(p, v)` is ADD, `set_delete` DELETE.
 *   DELETE: the key as UPDATE; extra terms give attribute_not_exists(pk) OR (terms), so a missing
 *     item deletes nothing and succeeds, as DynamoDB's does.
 *
 * Errors: CR_EINVAL with DynamoDB's text in err ("Statement wasn't well formed, can't be
 * processed: ..."), CR_ENOMEM. Memory: everything from the caller's arena; results borrow the
 * statement text and the parameters.
 */
#ifndef CR_PARTIQL_H
#define CR_PARTIQL_H

#include "common/arena.h"
#include "query/ddb_expr.h"
#include "storage/storage.h"
#include "storage/value.h"

#include <stdbool.h>
#include <stddef.h>

#define PARTIQL_MAX_LEN 8192 /* DynamoDB's Statement length limit */

enum partiql_kind { PARTIQL_SELECT, PARTIQL_INSERT, PARTIQL_UPDATE, PARTIQL_DELETE };

/* RETURNING: as UpdateItem's ReturnValues. */
enum partiql_returning {
    PARTIQL_RET_NONE,
    PARTIQL_RET_ALL_OLD,
    PARTIQL_RET_MODIFIED_OLD,
    PARTIQL_RET_ALL_NEW,
    PARTIQL_RET_MODIFIED_NEW,
};

/* A parsed statement. */
struct partiql_stmt;

/* Parses text with its parameters. Errors: syntax (unexpected token or end), unknown functions,
 * literals DynamoDB refuses (bad numbers, empty or mixed sets, duplicate map keys), nesting
 * beyond CR_MAX_DEPTH, a statement longer than PARTIQL_MAX_LEN, and a parameter count that
 * differs from the statement's `?`s: CR_EINVAL; CR_ENOMEM. */
int partiql_parse(struct cr_arena *a, const char *text, size_t len, const struct value *params,
                  size_t n_params, struct partiql_stmt **out, struct ddb_err *err);

/* The table the statement names (not NUL-terminated): its key schema is translate's input. */
const char *partiql_stmt_table(const struct partiql_stmt *s, size_t *len);

/* The translation: NUL-terminated expression texts (NULL: none) over one placeholder table. */
struct partiql_op {
    enum partiql_kind kind;
    /* SELECT */
    const char *index; /* FROM "table"."index" (not NUL-terminated); NULL: the table */
    size_t index_len;
    const char *projection;    /* NULL: every attribute */
    size_t n_projection_names; /* names[0..n) are the projection's alone (a GetItem's) */
    const char *key_condition; /* NULL: a Scan */
    const char *filter;
    bool reverse; /* ORDER BY ... DESC */
    bool get;     /* the WHERE is exactly the key: `key` is set, no filter */
    /* INSERT: the item; UPDATE, DELETE and a `get` SELECT: the key (a MAP of the key
     * attributes) */
    struct value item;
    struct value key;
    const char *update;
    const char *condition;
    enum partiql_returning returning;
    struct ddb_name *names;
    size_t n_names;
    struct ddb_value *values;
    size_t n_values;
};

/* Translates s for the table def. Errors (CR_EINVAL): an UPDATE or DELETE whose WHERE lacks an
 * equality on a key attribute ("Where clause does not contain a mandatory equality on all key
 * attributes"), ORDER BY on something other than the sort key of a Query, an INSERT item that
 * is not a map; an expression longer than DDB_EXPR_MAX_LEN. CR_ENOMEM. The texts are checked by
 * ddb_expr's parsers when the front end runs them. */
int partiql_translate(const struct partiql_stmt *s, const struct table_def *def, struct cr_arena *a,
                      struct partiql_op *out, struct ddb_err *err);

#endif
