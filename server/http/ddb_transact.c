/*
 * DynamoDB transactions: TransactWriteItems (Put, Update, Delete, ConditionCheck as ONE log
 * entry, all-or-nothing, its conditions evaluated by apply() against the current items) and
 * TransactGetItems (every Get from one read snapshot).
 *
 * ClientRequestToken: the token and a hash of the whole request travel in the log entry, and
 * apply() records them in the same transaction as the writes (storage.h, struct log_batch), so
 * a replay within the window applies nothing, across restarts and concurrent first uses alike.
 * A replay answers success as the first call did; another request under the token is
 * IdempotentParameterMismatchException.
 *
 * Must not read an item to decide a write (apply does), and must not write but through
 * ddb_propose_token.
 */
#include "common/error.h"
#include "common/hash.h"
#include "server/ddb_hook.h"
#include "server/http/ddb_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX_LEN 36
#define CANCELLED "Transaction cancelled, please refer cancellation reasons for specific reasons"
#define ONE_ITEM "Transaction request cannot include multiple operations on one item"

/* ---- shared ------------------------------------------------------------------------------- */

/* TransactItems: an array of 1..MAX_TRANSACT objects. */
static int transact_items(struct ddb *d, json_t **items)
{
    int rc = ddb_member(d, d->in, "TransactItems", JSON_ARRAY, items);
    size_t n;

    if (rc < 0)
        return rc;
    if (!*items)
        return ddb_constraint(d, NULL, "transactItems", "Member must not be null");
    n = json_array_size(*items);
    if (n == 0 || n > MAX_TRANSACT)
        return ddb_fail(d, CR_EINVAL,
                        "1 validation error detected: Value '[%zu items]' at 'transactItems' "
                        "failed to satisfy constraint: Member must have length %s %d",
                        n, n ? "less than or equal to" : "greater than or equal to",
                        n ? MAX_TRANSACT : 1);
    return 0;
}

/* Capacity units per table, in order of first use. */
struct usage {
    const char *table[MAX_TRANSACT];
    double units[MAX_TRANSACT];
    size_t n;
};

static void usage_add(struct usage *u, const char *table, double units)
{
    size_t i;

    for (i = 0; i < u->n && strcmp(u->table[i], table) != 0; i++)
        ;
    if (i == u->n) {
        u->table[u->n] = table;
        u->units[u->n++] = 0;
    }
    u->units[i] += units;
}

/* Adds ConsumedCapacity (a list, one entry per table) to out. */
static int usage_json(const struct usage *u, enum ddb_capacity mode, json_t *out)
{
    json_t *list;

    if (mode == DDB_CAP_NONE)
        return 0;
    list = json_array();
    if (!list || json_object_set_new(out, "ConsumedCapacity", list) < 0)
        return CR_ENOMEM;
    for (size_t i = 0; i < u->n; i++)
        if (json_array_append_new(list, ddb_capacity_json(u->table[i], u->units[i], mode)) < 0)
            return CR_ENOMEM;
    return 0;
}

/* The key of an action's item (its Key, or the key attributes of its Item). */
struct target {
    const struct table_def *def;
    const struct value *item;
};

static int check_distinct(struct ddb *d, const struct target *t, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (strcmp(t[k].def->name, t[n].def->name) == 0 &&
            ddb_same_key(t[n].def, t[k].item, t[n].item))
            return ddb_fail(d, CR_EINVAL, ONE_ITEM);
    }
    return 0;
}

/* ---- TransactWriteItems ------------------------------------------------------------------- */

struct transact_write {
    struct mutation *muts;
    struct table_def *defs;
    struct index_def **idx; /* each action's table's indexes, when capacity is asked for */
    size_t *n_idx;
    size_t n;
    enum ddb_capacity capacity;
    bool metrics;      /* ReturnItemCollectionMetrics SIZE */
    const char *token; /* NULL: none */
    size_t token_len;
    uint64_t request;
};

static const char *const actions[] = {"Put", "Update", "Delete", "ConditionCheck"};
static const enum mut_type action_types[] = {MUT_PUT, MUT_UPDATE, MUT_DELETE, MUT_CHECK};

static int write_action(struct ddb *d, json_t *el, struct mutation *m, struct table_def *def)
{
    struct ddb_hook *h = cr_arena_calloc(&d->r->arena, sizeof *h);
    const char *name = NULL;
    json_t *act = NULL, *j;
    size_t which = 0, found = 0;
    int rc;

    if (!h)
        return ddb_nomem(d);
    if (!json_is_object(el))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s in TransactItems", ddb_json_type_name(el));
    for (size_t i = 0; i < 4; i++) {
        rc = ddb_member(d, el, actions[i], JSON_OBJECT, &j);
        if (rc < 0)
            return rc;
        if (j) {
            act = j;
            which = i;
            found++;
        }
    }
    if (found != 1)
        return ddb_fail(d, CR_EINVAL,
                        "TransactItems can only contain one of Check, Put, Update or Delete");
    memset(m, 0, sizeof *m);
    m->type = action_types[which];
    m->item.type = VT_NULL;
    m->key.type = VT_NULL;
    rc = ddb_table_name(d, act, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, def, NULL);
    if (rc == 0 && m->type == MUT_PUT)
        rc = ddb_key_or_item(d, act, "Item", "item", def, true, &m->item);
    else if (rc == 0)
        rc = ddb_key_or_item(d, act, "Key", "key", def, false, &m->key);
    if (rc == 0 && m->type == MUT_UPDATE && !json_object_get(act, "UpdateExpression"))
        rc = ddb_constraint(d, NULL, "updateExpression", "Member must not be null");
    if (rc == 0)
        rc = ddb_old_on_fail(d, act, "returnValuesOnConditionCheckFailure", &m->return_old_on_fail);
    if (rc == 0)
        rc = ddb_write_exprs(d, act, m, h);
    if (rc == 0)
        m->table = *def;
    return rc;
}

/* ClientRequestToken: 1..36 characters. */
static int client_token(struct ddb *d, struct transact_write *tw)
{
    json_t *j;
    char *body;
    int rc = ddb_member(d, d->in, "ClientRequestToken", JSON_STRING, &j);

    tw->token = NULL;
    if (rc < 0 || !j)
        return rc;
    if (json_string_length(j) < 1 || json_string_length(j) > TOKEN_MAX_LEN)
        return ddb_constraint(d, json_string_value(j), "clientRequestToken",
                              json_string_length(j) ? "Member must have length less than or "
                                                      "equal to 36"
                                                    : "Member must have length greater than or "
                                                      "equal to 1");
    body = json_dumps(d->in, JSON_COMPACT | JSON_SORT_KEYS);
    if (!body)
        return ddb_nomem(d);
    tw->token = json_string_value(j);
    tw->token_len = json_string_length(j);
    tw->request = cr_hash64(body, strlen(body));
    free(body);
    return 0;
}

int ddb_op_transact_write_items(struct ddb *d, json_t **out)
{
    struct transact_write *tw = cr_arena_calloc(&d->r->arena, sizeof *tw);
    struct target *targets;
    json_t *items, *el;
    size_t i;
    int rc;

    if (!tw)
        return ddb_nomem(d);
    d->op_data = tw;
    rc = transact_items(d, &items);
    if (rc == 0)
        rc = client_token(d, tw);
    if (rc == 0)
        rc = ddb_capacity_mode(d, d->in, &tw->capacity);
    if (rc == 0)
        rc = ddb_metrics_mode(d, d->in, &tw->metrics);
    if (rc < 0)
        return rc;
    tw->n = json_array_size(items);
    tw->muts = cr_arena_alloc(&d->r->arena, tw->n * sizeof *tw->muts);
    tw->defs = cr_arena_alloc(&d->r->arena, tw->n * sizeof *tw->defs);
    tw->idx = cr_arena_calloc(&d->r->arena, tw->n * sizeof *tw->idx);
    tw->n_idx = cr_arena_calloc(&d->r->arena, tw->n * sizeof *tw->n_idx);
    targets = cr_arena_alloc(&d->r->arena, tw->n * sizeof *targets);
    if (!tw->muts || !tw->defs || !tw->idx || !tw->n_idx || !targets)
        return ddb_nomem(d);
    json_array_foreach(items, i, el)
    {
        struct mutation *m = &tw->muts[i];

        rc = write_action(d, el, m, &tw->defs[i]);
        if (rc == 0 && m->type == MUT_PUT)
            rc = ddb_check_index_types(d, &tw->defs[i], &m->item);
        if (rc == 0 && m->type != MUT_CHECK)
            rc = ddb_capacity_prepare(d, tw->capacity, &tw->defs[i], m, &tw->idx[i], &tw->n_idx[i]);
        if (rc < 0)
            return rc;
        targets[i] = (struct target){&tw->defs[i], m->type == MUT_PUT ? &m->item : &m->key};
        rc = check_distinct(d, targets, i);
        if (rc < 0)
            return rc;
    }
    d->own_results = true;
    return ddb_propose_token(d, tw->muts, tw->n, tw->token, tw->token_len, tw->request);
}

/* TransactionCanceledException: one reason per action, in order. */
static int cancelled(struct ddb *d, const struct transact_write *tw)
{
    char codes[CR_ERRMSG_MAX] = "";
    json_t *reasons = json_array();

    if (!reasons)
        return ddb_nomem(d);
    for (size_t i = 0; i < d->w.n; i++) {
        const struct mutation_result *r = &d->w.results[i];
        const char *code = "None";
        json_t *reason;
        size_t len = strlen(codes);

        if (r->code == CR_ECONDITION)
            code = "ConditionalCheckFailed";
        else if (r->code && r->code != CR_EABORTED)
            code = "ValidationError";
        reason = json_pack("{s:s}", "Code", code);
        if (reason && r->code == CR_ECONDITION)
            json_object_set_new(reason, "Message", json_string("The conditional request failed"));
        else if (reason && strcmp(code, "ValidationError") == 0 && r->mismatch.index) {
            char text[CR_ERRMSG_MAX];

            ddb_mismatch_text(&r->mismatch, text, sizeof text);
            json_object_set_new(reason, "Message", json_string(text));
        } else if (reason && strcmp(code, "ValidationError") == 0)
            json_object_set_new(reason, "Message",
                                json_string(r->message ? r->message : cr_strerror(r->code)));
        if (reason && r->code == CR_ECONDITION && r->has_old && tw->muts[i].return_old_on_fail)
            json_object_set_new(reason, "Item", ddb_item_from_value(&r->old));
        if (!reason || json_array_append_new(reasons, reason) < 0) {
            json_decref(reasons);
            return ddb_nomem(d);
        }
        snprintf(codes + len, sizeof codes - len, "%s%s", i ? ", " : "", code);
    }
    d->error_extra = json_pack("{s:o}", "CancellationReasons", reasons);
    d->error_type = "TransactionCanceledException";
    return ddb_fail(d, CR_ECONDITION, CANCELLED " [%s]", codes);
}

/* A replay of an applied request: success, as the first answer, without its writes. DynamoDB
 * then reports the read capacity of checking the items: per table, two units per action (one
 * transactional read of up to 4 KB; the items' sizes are not weighed). */
static int replayed(struct ddb *d, const struct transact_write *tw, json_t **out)
{
    struct usage u = {{NULL}, {0}, 0};

    *out = json_object();
    if (!*out)
        return ddb_nomem(d);
    for (size_t i = 0; i < tw->n; i++)
        usage_add(&u, tw->defs[i].name, 2.0);
    return usage_json(&u, tw->capacity, *out) < 0 ? ddb_nomem(d) : 0;
}

int ddb_done_transact_write_items(struct ddb *d, json_t **out)
{
    const struct transact_write *tw = d->op_data;
    const char **tables = cr_arena_calloc(&d->r->arena, tw->n * sizeof *tables);
    struct ddb_units *units = cr_arena_calloc(&d->r->arena, tw->n * sizeof *units);
    json_t *list;
    size_t n = 0;

    if (d->w.n != tw->n)
        return ddb_fail(d, CR_EINTERNAL, "the log returned %zu results", d->w.n);
    if (!tables || !units)
        return ddb_nomem(d);
    if (d->w.n && d->w.results[0].token == TOKEN_MISMATCH) {
        d->error_type = "IdempotentParameterMismatchException";
        return ddb_fail(d, CR_EINVAL,
                        "DynamoDB rejected the request because you retried a request with a "
                        "different payload but with an idempotent token that was already used.");
    }
    if (d->w.n && d->w.results[0].token == TOKEN_REPLAY)
        return replayed(d, tw, out);
    for (size_t i = 0; i < d->w.n; i++) {
        size_t k;

        if (d->w.results[i].code)
            return cancelled(d, tw);
        for (k = 0; k < n && strcmp(tables[k], tw->defs[i].name); k++)
            ;
        n += k == n;
        tables[k] = tw->defs[i].name;
        /* Transactional writes cost twice the units of plain ones, on the indexes too. */
        if (ddb_units_add(&units[k], &d->w.results[i], &tw->defs[i], tw->idx[i], tw->n_idx[i], 2,
                          &d->r->arena) < 0)
            return ddb_nomem(d);
    }
    *out = json_object();
    if (!*out)
        return ddb_nomem(d);
    if (tw->metrics) {
        int rc = ddb_collection_metrics_map(d, tw->muts, tw->n, *out);

        if (rc < 0)
            return rc == CR_ENOMEM ? ddb_nomem(d) : rc;
    }
    if (tw->capacity == DDB_CAP_NONE)
        return 0;
    list = json_array();
    if (!list || json_object_set_new(*out, "ConsumedCapacity", list) < 0)
        return ddb_nomem(d);
    for (size_t k = 0; k < n; k++)
        if (json_array_append_new(list, ddb_units_json(tables[k], &units[k], tw->capacity)) < 0)
            return ddb_nomem(d);
    return 0;
}

/* ---- TransactGetItems --------------------------------------------------------------------- */

/* One Get: its table, key and optional projection. */
static int get_action(struct ddb *d, json_t *el, struct table_def *def, struct value *key,
                      struct ddb_projection **proj)
{
    struct ddb_ctx ctx;
    struct ddb_err err;
    const char *name = NULL;
    json_t *get, *pe;
    int rc;

    *proj = NULL;
    if (!json_is_object(el))
        return ddb_fail(d, CR_EPROTO, "Unexpected %s in TransactItems", ddb_json_type_name(el));
    rc = ddb_member(d, el, "Get", JSON_OBJECT, &get);
    if (rc < 0)
        return rc;
    if (!get)
        return ddb_constraint(d, NULL, "transactItems.member.get", "Member must not be null");
    rc = ddb_table_name(d, get, "TableName", "tableName", &name);
    if (rc == 0)
        rc = ddb_load_table(d, name, false, def, NULL);
    if (rc == 0)
        rc = ddb_key_or_item(d, get, "Key", "key", def, false, key);
    if (rc == 0)
        rc = ddb_member(d, get, "ProjectionExpression", JSON_STRING, &pe);
    if (rc == 0)
        rc = ddb_expr_ctx(d, get, pe != NULL, &ctx);
    if (rc < 0 || !pe)
        return rc;
    rc = ddb_parse_projection(&ctx, json_string_value(pe), json_string_length(pe), proj, &err);
    return rc < 0 ? ddb_expr_fail(d, &err) : ddb_expr_done(d, &ctx);
}

/* DynamoDB's transactional read cost: two units per 4 KB (rounded up), at least two. */
static double read_units(const struct value *item)
{
    size_t size = item ? value_ddb_size(item) : 0;

    return size == 0 ? 2.0 : 2.0 * (double)((size + 4095) / 4096);
}

int ddb_op_transact_get_items(struct ddb *d, json_t **out)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct usage u = {{NULL}, {0}, 0};
    struct table_def *defs;
    struct value *keys;
    struct target *targets;
    struct ddb_projection **projs;
    enum ddb_capacity capacity;
    json_t *items, *el, *responses;
    size_t i, n;
    int rc = transact_items(d, &items);

    if (rc == 0)
        rc = ddb_capacity_mode(d, d->in, &capacity);
    if (rc < 0)
        return rc;
    n = json_array_size(items);
    defs = cr_arena_alloc(&d->r->arena, n * sizeof *defs);
    keys = cr_arena_alloc(&d->r->arena, n * sizeof *keys);
    targets = cr_arena_alloc(&d->r->arena, n * sizeof *targets);
    projs = cr_arena_alloc(&d->r->arena, n * sizeof *projs);
    if (!defs || !keys || !targets || !projs)
        return ddb_nomem(d);
    json_array_foreach(items, i, el)
    {
        rc = get_action(d, el, &defs[i], &keys[i], &projs[i]);
        if (rc < 0)
            return rc;
        targets[i] = (struct target){&defs[i], &keys[i]};
        rc = check_distinct(d, targets, i);
        if (rc < 0)
            return rc;
    }
    /* Every get reads the connection's one live snapshot until the request ends. */
    ddb_read_opts(true, &ro);
    *out = json_object();
    responses = json_array();
    if (!*out || !responses || json_object_set_new(*out, "Responses", responses) < 0)
        return ddb_nomem(d);
    for (i = 0; i < n; i++) {
        struct value item, shown;
        bool found;
        json_t *r;

        rc = ops_get_item(d->r->oc, &ro, defs[i].name, strlen(defs[i].name), &keys[i], &d->r->arena,
                          &found, &item, &info, &d->scratch);
        if (rc < 0)
            return rc;
        usage_add(&u, defs[i].name, read_units(found ? &item : NULL));
        shown = item;
        if (found && projs[i] && ddb_project(projs[i], &item, &d->r->arena, &shown) < 0)
            return ddb_nomem(d);
        r = found ? json_pack("{s:o}", "Item", ddb_item_from_value(&shown)) : json_object();
        if (!r || json_array_append_new(responses, r) < 0)
            return ddb_nomem(d);
    }
    return usage_json(&u, capacity, *out) < 0 ? ddb_nomem(d) : 0;
}
