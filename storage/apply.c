/*
 * storage_apply(): the only code that writes data (DESIGN.md principle 1). All batches of one
 * call share one LMDB write transaction and one fsync (group commit); each batch runs in a
 * nested transaction, so a failing batch rolls back alone. The applied index, the table stats
 * and the change feed are written in the same transaction as the rows.
 *
 * What must never happen here, because every replica must reach the same state and results
 * from the same batches:
 *   - reading a clock or using randomness (times come from log_batch.time_ms);
 *   - I/O other than through LMDB, or depending on anything but the batches and the stored state;
 *   - turning an environment error (map full, I/O, out of memory, corruption) into a mutation's
 *     result: those differ between replicas, so they fail the whole call, nothing is applied,
 *     and the caller must not acknowledge the batches;
 *   - leaving a batch half-applied.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

static const char applied_key[] = "applied";

int storage_applied_index(struct storage_txn *t, uint64_t *out)
{
    struct env_val v;
    int rc = env_get(t, ENV_META, applied_key, sizeof applied_key - 1, &v);

    if (rc == CR_ENOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (v.n != 8)
        return CR_CORRUPT();
    *out = cr_get_u64be(v.p);
    return 0;
}

/* The deterministic outcomes of a mutation against the state: reported, never fatal. */
static bool is_mutation_error(int rc)
{
    switch (rc) {
    case CR_ECONDITION:
    case CR_ENOTABLE:
    case CR_ETABLEEXISTS:
    case CR_ETOOMANY:
    case CR_EITEMTOOBIG:
    case CR_EKEYTOOBIG:
    case CR_ETYPE:
    case CR_EMISSINGKEY:
    case CR_EINVAL:
    case CR_ENAME:
    case CR_ENESTING:
    case CR_ENUMBER:
    case CR_ESCHEMA:
        return true;
    default:
        return false;
    }
}

/* Once a mutation has written anything, its failure cannot be a clean per-mutation outcome:
 * it is reported as an environment error, which fails the whole call (apply_batch may have no
 * nested transaction to roll the write back). */
static int after_write(int rc)
{
    return is_mutation_error(rc) ? CR_EINTERNAL : rc;
}

/* Buffers reused across the mutations of one call. */
struct scratch {
    struct cr_buf key, row;
    struct cr_arena arena; /* reset per mutation */
};

static int check_condition(const struct condition *c, bool exists, struct env_val row,
                           struct cr_arena *scratch)
{
    const uint8_t *fp;
    size_t fn;
    struct value v;
    int rc;

    switch (c->type) {
    case COND_NONE:
        return 0;
    case COND_EXISTS:
        return exists ? 0 : CR_ECONDITION;
    case COND_NOT_EXISTS:
        return exists ? CR_ECONDITION : 0;
    case COND_EQUALS:
        if (!c->attr || c->attr_len == 0)
            return CR_EINVAL;
        if (!exists)
            return CR_ECONDITION;
        rc = value_map_find_encoded(row.p, row.n, c->attr, c->attr_len, &fp, &fn);
        if (rc == CR_ENOTFOUND)
            return CR_ECONDITION;
        if (rc == 0)
            rc = value_decode(fp, fn, scratch, &v);
        if (rc)
            return rc == CR_ETYPE ? CR_CORRUPT() : rc;
        return value_equal(&v, &c->value) ? 0 : CR_ECONDITION;
    default:
        return CR_EINVAL;
    }
}

/* The MAP of key attributes recorded in the change feed. */
static void key_map(const struct table_def *def, struct value *pk, struct value *sk,
                    struct value_field fields[2], struct value *out)
{
    fields[0] = (struct value_field){def->pk_name, strlen(def->pk_name), pk};
    fields[1] = (struct value_field){def->sk_name, strlen(def->sk_name), sk};
    out->type = VT_MAP;
    out->u.map.fields = fields;
    out->u.map.n = def->has_sk ? 2 : 1;
}

/* The previous item for return_old: copied out of the txn into the caller's arena. */
static int keep_old(struct env_val row, struct cr_arena *a, struct mutation_result *res)
{
    uint8_t *copy = cr_arena_alloc(a, row.n);
    int rc;

    if (!copy)
        return CR_ENOMEM;
    memcpy(copy, row.p, row.n);
    rc = value_decode(copy, row.n, a, &res->old);
    if (rc == 0)
        res->has_old = true;
    return rc;
}

static int old_size(struct env_val row, struct cr_arena *scratch, int64_t *out)
{
    struct value old;
    int rc = value_decode(row.p, row.n, scratch, &old);

    if (rc == 0)
        *out = (int64_t)value_ddb_size(&old);
    return rc;
}

/* Finds the current row of (pk, sk) in sc->key; *exists false when absent or held by a
 * colliding key. */
static int find_row(struct storage_txn *t, const struct table_def *def, struct value *pk,
                    struct value *sk, struct scratch *sc, struct env_val *row, bool *exists,
                    bool *collision)
{
    bool truncated;
    int rc = kv_row_key(def, pk, sk, &sc->key, &truncated);

    if (rc)
        return rc;
    rc = kv_row_find(t, def, &sc->key, truncated, pk, sk, row, collision);
    *exists = rc == 0;
    return rc == CR_ENOTFOUND ? 0 : rc;
}

static int apply_put(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                     struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct table_def def;
    struct value pk, sk, keys;
    struct value_field fields[2];
    struct env_val row = {NULL, 0};
    bool exists, collision;
    int64_t before = 0, after;
    int rc = catalog_get_cstr(t, m->table.name, &def);

    if (rc == 0)
        rc = kv_encode_item(&def, &m->item, &pk, &sk, &sc->row);
    if (rc == 0)
        rc = find_row(t, &def, &pk, &sk, sc, &row, &exists, &collision);
    if (rc == 0)
        rc = check_condition(&m->cond, exists, row, &sc->arena);
    if (rc == 0 && collision)
        rc = CR_EKEYTOOBIG;
    if (rc == 0 && exists)
        rc = old_size(row, &sc->arena, &before);
    if (rc == 0 && exists && m->return_old)
        rc = keep_old(row, a, res);
    if (rc)
        return rc;
    after = (int64_t)value_ddb_size(&m->item);
    rc = env_put(t, ENV_DATA, sc->key.data, sc->key.len, sc->row.data, sc->row.len);
    if (rc == 0)
        rc = catalog_stats_add(t, def.id, exists ? 0 : 1, after - before);
    if (rc == 0) {
        key_map(&def, &pk, &sk, fields, &keys);
        rc = changes_write(t, b->index, ordinal, MUT_PUT, def.id, &keys, &sc->row);
    }
    return after_write(rc);
}

static int apply_delete(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                        struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct table_def def;
    struct value pk, sk, keys;
    struct value_field fields[2];
    struct env_val row = {NULL, 0};
    bool exists = false, collision;
    int64_t before = 0;
    int rc = catalog_get_cstr(t, m->table.name, &def);

    if (rc == 0)
        rc = kv_extract_key(&def, &m->key, true, &pk, &sk);
    if (rc == 0)
        rc = find_row(t, &def, &pk, &sk, sc, &row, &exists, &collision);
    if (rc == 0)
        rc = check_condition(&m->cond, exists, row, &sc->arena);
    if (rc == 0 && exists)
        rc = old_size(row, &sc->arena, &before);
    if (rc == 0 && exists && m->return_old)
        rc = keep_old(row, a, res);
    if (rc)
        return rc;
    if (exists)
        rc = env_del(t, ENV_DATA, sc->key.data, sc->key.len);
    if (rc == 0 && exists)
        rc = catalog_stats_add(t, def.id, -1, -before);
    if (rc == 0) {
        key_map(&def, &pk, &sk, fields, &keys);
        rc = changes_write(t, b->index, ordinal, MUT_DELETE, def.id, &keys, NULL);
    }
    return after_write(rc);
}

static int apply_create_table(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                              struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    int rc;

    if (m->cond.type != COND_NONE)
        return CR_EINVAL;
    rc = catalog_create(t, &m->table, b->index, b->time_ms, &res->table);
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_CREATE_TABLE, res->table.id, NULL, NULL);
}

static int apply_delete_table(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                              struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    int rc;

    if (m->cond.type != COND_NONE)
        return CR_EINVAL;
    rc = catalog_get_cstr(t, m->table.name, &res->table);
    if (rc == 0)
        rc = catalog_drop(t, &res->table);
    if (rc == 0)
        rc = kv_delete_rows(t, res->table.id);
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_DELETE_TABLE, res->table.id, NULL, NULL);
}

static int apply_one(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                     struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    cr_buf_reset(&sc->key);
    cr_buf_reset(&sc->row);
    cr_arena_reset(&sc->arena);
    switch (b->muts[ordinal].type) {
    case MUT_CREATE_TABLE:
        return apply_create_table(t, b, ordinal, res);
    case MUT_DELETE_TABLE:
        return apply_delete_table(t, b, ordinal, res);
    case MUT_PUT:
        return apply_put(t, b, ordinal, sc, a, res);
    case MUT_DELETE:
        return apply_delete(t, b, ordinal, sc, a, res);
    default:
        return CR_EINVAL;
    }
}

/* Marks every mutation of a failed batch: `failed` reports code, the others CR_EABORTED.
 * failed == n reports code on all of them (a batch-level error). */
static void fail_batch(struct mutation_result *res, size_t n, size_t failed, int code)
{
    memset(res, 0, n * sizeof *res);
    for (size_t i = 0; i < n; i++)
        res[i].code = failed == n || i == failed ? code : CR_EABORTED;
}

/* Applies one batch in a txn nested in parent. Returns 0 when the batch was applied or failed
 * cleanly (its results say which), or the environment error that must fail the whole call.
 *
 * A batch of one put or delete needs no nested txn: such a mutation fails cleanly only before
 * its first write (after_write), so there is nothing to roll back. This is the common case
 * (every single-item write), and it saves LMDB's nested-txn set-up and its dirty-page merge,
 * a large share of the writer's time when many small entries are grouped. */
static int apply_batch(struct storage *s, struct storage_txn *parent, const struct log_batch *b,
                       struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    struct storage_txn *t;
    int rc;

    memset(res, 0, b->n * sizeof *res);
    if (b->n > CR_MAX_BATCH_MUTATIONS) {
        fail_batch(res, b->n, b->n, CR_ETOOMANY);
        return 0;
    }
    if (b->n == 1 && (b->muts[0].type == MUT_PUT || b->muts[0].type == MUT_DELETE)) {
        rc = apply_one(parent, b, 0, sc, a, &res[0]);
        if (rc && !is_mutation_error(rc))
            return rc;
        res[0].code = rc;
        return 0;
    }
    rc = env_write_begin(s, parent, &t);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        rc = apply_one(t, b, (uint16_t)i, sc, a, &res[i]);
        if (rc == 0)
            continue;
        env_abort(t);
        if (!is_mutation_error(rc))
            return rc;
        fail_batch(res, b->n, i, rc);
        return 0;
    }
    return env_commit(t);
}

int storage_apply(struct storage *s, const struct log_batch *batches, size_t n,
                  struct mutation_result **results, struct cr_arena *a)
{
    struct storage_txn *t;
    struct mutation_result *res = NULL;
    struct scratch sc;
    size_t total = 0, at = 0;
    uint64_t last = 0;
    uint8_t applied[8];
    int rc;

    for (size_t i = 0; i < n; i++)
        total += batches[i].n;
    if (total) {
        res = calloc(total, sizeof *res);
        if (!res)
            return CR_ENOMEM;
    }
    rc = env_write_begin(s, NULL, &t);
    if (rc) {
        free(res);
        return rc;
    }
    cr_buf_init(&sc.key);
    cr_buf_init(&sc.row);
    cr_arena_init(&sc.arena, 4096);
    rc = storage_applied_index(t, &last);
    for (size_t i = 0; i < n && rc == 0; i++) {
        CR_ASSERT(batches[i].index > last);
        last = batches[i].index;
        rc = apply_batch(s, t, &batches[i], &sc, a, res + at);
        at += batches[i].n;
    }
    if (rc == 0 && n > 0) {
        cr_put_u64be(applied, last);
        rc = env_put(t, ENV_META, applied_key, sizeof applied_key - 1, applied, sizeof applied);
    }
    if (rc == 0)
        rc = env_commit(t);
    else
        env_abort(t);
    if (rc == 0) {
        at = 0;
        for (size_t i = 0; i < n; i++) {
            if (batches[i].n)
                memcpy(results[i], res + at, batches[i].n * sizeof *res);
            at += batches[i].n;
        }
    }
    cr_buf_free(&sc.key);
    cr_buf_free(&sc.row);
    cr_arena_free(&sc.arena);
    free(res);
    return rc;
}
