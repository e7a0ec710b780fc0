/*
 * DynamoDB expressions as storage mutation hooks (storage.h, struct mutation_hook): the
 * expression inputs of one mutation as they travel in a log entry (texts and placeholder
 * tables), their parsed ASTs, and the check and update functions apply() calls with them.
 *
 * The front end parses to validate before proposing; the log's writer parses the same bytes
 * again when it decodes the entry (wire_log_entry_decode): the same input gives the same ASTs,
 * hence the same results on every replica. The hooks are pure evaluations of query/ddb_expr.
 * No I/O, no JSON, no protobuf here.
 *
 * Convention the log encoder relies on: a mutation's hook, when set, was installed by
 * ddb_hook_install, so its ctx is the struct ddb_hook whose texts go into the entry.
 *
 * Memory: a struct ddb_hook borrows its texts, tables and key; its ASTs come from the arena
 * given to ddb_hook_parse. All must outlive the mutation's apply.
 */
#ifndef CR_SERVER_DDB_HOOK_H
#define CR_SERVER_DDB_HOOK_H

#include "common/arena.h"
#include "query/ddb_expr.h"
#include "storage/storage.h"

struct ddb_hook {
    /* inputs, as in the request and in the log entry */
    const char *condition; /* ConditionExpression; NULL: none */
    size_t condition_len;
    const char *update; /* UpdateExpression; NULL: none */
    size_t update_len;
    const struct ddb_name *names;
    size_t n_names;
    const struct ddb_value *values;
    size_t n_values;
    /* set by ddb_hook_parse */
    struct value key; /* the mutation's key: added to an item the update creates */
    struct ddb_ctx ctx;
    struct ddb_cond *cond;
    struct ddb_update *upd;
};

/* Parses h's expressions for a mutation on the item with key `key` (a MAP of exactly the key
 * attributes, which no update action may touch) and checks that every placeholder was used.
 * CR_EINVAL with DynamoDB's text in err; CR_ENOMEM. */
int ddb_hook_parse(struct ddb_hook *h, const struct value *key, struct cr_arena *a,
                   struct ddb_err *err);

/* Points m's hook at h: a check when h has a condition, an update when m is a MUT_UPDATE (an
 * update with no expression keeps the item as it is, or creates it from its key). */
void ddb_hook_install(const struct ddb_hook *h, struct mutation *m);

#endif
