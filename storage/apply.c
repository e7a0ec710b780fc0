/*
 * storage_apply(): the only code that writes data (DESIGN.md principle 1). All batches of one
 * call share one LMDB write transaction and one fsync (group commit); each batch runs in a
 * nested transaction, so a failing batch rolls back alone. The applied index, the table stats,
 * the secondary index entries (index.c) and the change feed are written in the same transaction
 * as the rows; so are collections, documents and their index entries (catalog.c, doc.c), and
 * graphs with their adjacency and index entries (catalog.c, graph.c).
 *
 * What must never happen here, because every replica must reach the same state and results
 * from the same batches:
 *   - reading a clock or using randomness (times come from log_batch.time_ms);
 *   - I/O other than through LMDB, or depending on anything but the batches and the stored state;
 *   - turning an environment error (map full, I/O, out of memory, corruption) into a mutation's
 *     result: those differ between replicas, so they fail the whole call, nothing is applied,
 *     and the caller must not acknowledge the batches;
 *   - leaving a batch half-applied;
 *   - trusting a mutation hook to be anything but a pure function of its ctx and the current
 *     item: its verdicts become results, so it is held to the same rules (storage.h).
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
    case CR_EEXISTS:
    case CR_ENOCOLL:
    case CR_ENOTFOUND: /* a document, vertex or edge absent where its mutation needs it */
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
    struct cr_arena arena;   /* reset per mutation */
    struct index_plan index; /* the item's index entries */
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

/* A hook's verdict: its CR_EINVAL carries its text into the result (allocated from a). */
static int hook_result(int rc, const char *msg, struct cr_arena *a, struct mutation_result *res)
{
    if (rc == CR_EINVAL && msg[0]) {
        res->message = cr_arena_strndup(a, msg, strlen(msg));
        if (!res->message)
            return CR_ENOMEM;
    }
    return rc;
}

/* The conditions of m on the current item (NULL: absent): the legacy one, then the hook's. */
static int check_all(const struct mutation *m, bool exists, struct env_val row,
                     const struct value *current, struct scratch *sc, struct cr_arena *a,
                     struct mutation_result *res)
{
    char msg[CR_MUT_MSG_MAX] = "";
    bool ok = true;
    int rc = check_condition(&m->cond, exists, row, &sc->arena);

    if (rc == 0 && m->hook.check) {
        rc = hook_result(m->hook.check(m->hook.ctx, current, &ok, msg, sizeof msg), msg, a, res);
        if (rc == 0 && !ok)
            rc = CR_ECONDITION;
    }
    if (rc == CR_ECONDITION && current && m->return_old_on_fail) {
        if (value_clone(current, a, &res->old) < 0)
            return CR_ENOMEM;
        res->has_old = true;
    }
    return rc;
}

/* MUT_UPDATE: the hook's new item, encoded into sc->row, with the mutation's key. */
static int build_update(const struct mutation *m, const struct table_def *def,
                        const struct value *current, const struct value *pk, const struct value *sk,
                        struct scratch *sc, struct cr_arena *a, struct mutation_result *res,
                        struct value *next)
{
    char msg[CR_MUT_MSG_MAX] = "";
    struct value npk, nsk;
    int rc;

    if (!m->hook.update)
        return CR_EINVAL;
    rc = m->hook.update(m->hook.ctx, current, &sc->arena, next, msg, sizeof msg);
    rc = hook_result(rc, msg, a, res);
    if (rc == 0)
        rc = kv_encode_item(def, next, &npk, &nsk, &sc->row);
    if (rc == 0 && (!value_equal(&npk, pk) || (def->has_sk && !value_equal(&nsk, sk))))
        rc = CR_EINVAL;
    return rc;
}

/* An index key type refusal: its names copied out of the scratch arena. CR_ETYPE, CR_ENOMEM. */
static int mismatch_result(struct cr_arena *a, struct index_mismatch *m)
{
    m->index = cr_arena_strndup(a, m->index, strlen(m->index));
    m->attr = cr_arena_strndup(a, m->attr, strlen(m->attr));
    return m->index && m->attr ? CR_ETYPE : CR_ENOMEM;
}

/* PUT, DELETE, UPDATE and CHECK: one item, read, checked, then written (or removed). Every
 * clean failure happens before the first write (see after_write). check_only: stop after the
 * conditions, as for a CHECK (check_rest). */
static int apply_item(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                      struct scratch *sc, struct cr_arena *a, struct mutation_result *res,
                      bool check_only)
{
    const struct mutation *m = &b->muts[ordinal];
    const struct value *item = NULL;
    struct table_def def;
    struct value pk, sk, keys, current, next;
    struct value_field fields[2];
    struct env_val row = {NULL, 0};
    bool exists = false, collision = false;
    int64_t before = 0, after = 0;
    struct index_def *idx = NULL;
    size_t n_idx = 0;
    int rc = catalog_get_cstr(t, m->table.name, &def);

    if (rc == 0 && def.n_indexes && m->type != MUT_CHECK && !check_only)
        rc = catalog_indexes(t, &def, &sc->arena, &idx, &n_idx);
    if (rc == 0 && m->type == MUT_PUT)
        rc = kv_encode_item(&def, &m->item, &pk, &sk, &sc->row);
    else if (rc == 0)
        rc = kv_extract_key(&def, &m->key, true, &pk, &sk);
    if (rc == 0)
        rc = find_row(t, &def, &pk, &sk, sc, &row, &exists, &collision);
    if (rc == 0 && exists) {
        rc = value_decode(row.p, row.n, &sc->arena, &current);
        before = (int64_t)value_ddb_size(&current);
    }
    if (rc == 0)
        rc = check_all(m, exists, row, exists ? &current : NULL, sc, a, res);
    if (check_only)
        return rc;
    if (rc == 0 && collision && (m->type == MUT_PUT || m->type == MUT_UPDATE))
        rc = CR_EKEYTOOBIG;
    if (rc == 0 && m->type == MUT_UPDATE)
        rc = build_update(m, &def, exists ? &current : NULL, &pk, &sk, sc, a, res, &next);
    if (rc)
        return rc;
    item = m->type == MUT_PUT ? &m->item : m->type == MUT_UPDATE ? &next : NULL;
    res->old_size = (uint64_t)before;
    if (item) {
        after = (int64_t)value_ddb_size(item);
        res->new_size = (uint64_t)after;
    }
    /* Copies out of the txn before the write moves its pages: current and next borrow them. */
    if (exists && m->return_old && m->type != MUT_CHECK) {
        if (value_clone(&current, a, &res->old) < 0)
            return CR_ENOMEM;
        res->has_old = true;
    }
    if (item && m->return_new) {
        if (value_clone(item, a, &res->new_item) < 0)
            return CR_ENOMEM;
        res->has_new = true;
    }
    if (m->type == MUT_CHECK)
        return 0;
    if (item && n_idx) {
        rc = index_check_types(idx, n_idx, item, &res->mismatch);
        if (rc == CR_ETYPE)
            return mismatch_result(a, &res->mismatch);
    }
    sc->index.n = 0;
    if (n_idx) {
        rc =
            index_plan(t, &def, idx, n_idx, exists ? &current : NULL, item, &sc->arena, &sc->index);
        if (rc)
            return rc;
    }
    if (item)
        rc = env_put(t, ENV_DATA, sc->key.data, sc->key.len, sc->row.data, sc->row.len);
    else if (exists)
        rc = env_del(t, ENV_DATA, sc->key.data, sc->key.len);
    if (rc == 0 && (item || exists))
        rc = catalog_stats_add(t, def.id, item ? (exists ? 0 : 1) : -1, after - before);
    if (rc == 0)
        rc = index_write(t, &sc->index);
    if (rc == 0) {
        key_map(&def, &pk, &sk, fields, &keys);
        rc = changes_write(t, b->index, ordinal, item ? MUT_PUT : MUT_DELETE, def.id, &keys,
                           item ? &sc->row : NULL);
    }
    return after_write(rc);
}

/* The table mutations below run in a nested transaction (apply_batch), so they may fail cleanly
 * after writing. */
static int apply_create_table(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                              struct scratch *sc, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct index_def *idx = NULL;
    int rc;

    if (m->cond.type != COND_NONE || m->ttl != TTL_KEEP || m->n_untag || m->n_drop)
        return CR_EINVAL;
    if (m->n_indexes > CR_MAX_INDEXES || m->n_tags > CR_MAX_TAGS)
        return CR_ETOOMANY;
    if (m->n_indexes) {
        idx = cr_arena_alloc(&sc->arena, m->n_indexes * sizeof *idx);
        if (!idx)
            return CR_ENOMEM;
    }
    rc = catalog_create(t, &m->table, m->indexes, m->n_indexes, b->index, b->time_ms, &res->table,
                        idx);
    if (rc == 0 && m->n_tags) {
        /* CreateTable's Tags: set on the new record as UPDATE_TABLE sets them, so both share
         * their checks and their record. */
        struct mutation tm;
        struct table_def def = res->table;

        memset(&tm, 0, sizeof tm);
        tm.type = MUT_UPDATE_TABLE;
        tm.ttl = TTL_KEEP;
        tm.tags = m->tags;
        tm.n_tags = m->n_tags;
        rc = catalog_alter(t, &def, &tm, &sc->arena, &res->table, NULL, NULL);
    }
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_CREATE_TABLE, res->table.id, NULL, NULL);
}

static int apply_delete_table(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                              struct scratch *sc, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct index_def *idx = NULL;
    size_t n = 0;
    int rc;

    if (m->cond.type != COND_NONE)
        return CR_EINVAL;
    rc = catalog_get_cstr(t, m->table.name, &res->table);
    if (rc == 0)
        rc = catalog_indexes(t, &res->table, &sc->arena, &idx, &n);
    if (rc == 0)
        rc = catalog_drop(t, &res->table);
    if (rc == 0)
        rc = kv_delete_rows(t, res->table.id);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = index_drop(t, idx[i].key.id);
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_DELETE_TABLE, res->table.id, NULL, NULL);
}

static int apply_update_table(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                              struct scratch *sc, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct index_def *dropped, *added;
    struct table_def def;
    int rc;

    if (m->cond.type != COND_NONE)
        return CR_EINVAL;
    if (m->n_indexes > CR_MAX_INDEXES || m->n_drop > CR_MAX_INDEXES || m->n_tags > CR_MAX_TAGS)
        return CR_ETOOMANY;
    dropped = cr_arena_alloc(&sc->arena, (m->n_drop + 1) * sizeof *dropped);
    added = cr_arena_alloc(&sc->arena, (m->n_indexes + 1) * sizeof *added);
    if (!dropped || !added)
        return CR_ENOMEM;
    rc = catalog_get_cstr(t, m->table.name, &def);
    if (rc == 0)
        rc = catalog_alter(t, &def, m, &sc->arena, &res->table, dropped, added);
    for (size_t i = 0; rc == 0 && i < m->n_drop; i++)
        rc = index_drop(t, dropped[i].key.id);
    for (size_t i = 0; rc == 0 && i < m->n_indexes; i++)
        rc = index_build(t, &res->table, &added[i]);
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_UPDATE_TABLE, res->table.id, NULL, NULL);
}

/* Collections: created with their ids, or dropped with their documents and index entries. The
 * result's definition is read back into `a`, so it does not borrow from the mutation. */
static int apply_create_collection(struct storage_txn *t, const struct log_batch *b,
                                   uint16_t ordinal, struct scratch *sc, struct cr_arena *a,
                                   struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct coll_def made;
    int rc = catalog_coll_create(t, &m->coll, b->index, b->time_ms, &sc->arena, &made);

    if (rc == 0)
        rc = catalog_coll_get(t, made.db, made.name, a, &res->coll);
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_CREATE_TABLE, made.id, NULL, NULL);
}

static int apply_drop_collection(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                                 struct cr_arena *a, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    int rc = catalog_coll_get(t, m->coll.db, m->coll.name, a, &res->coll);

    if (rc == 0)
        rc = catalog_coll_drop(t, &res->coll);
    if (rc == 0)
        rc = doc_drop_data(t, &res->coll);
    if (rc)
        return rc;
    return changes_write(t, b->index, ordinal, MUT_DELETE_TABLE, res->coll.id, NULL, NULL);
}

/* Graphs: created with their ids, or dropped with everything they hold. */
static int apply_create_graph(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                              struct mutation_result *res)
{
    int rc =
        catalog_graph_create(t, b->muts[ordinal].graph.name, b->index, b->time_ms, &res->graph);

    return rc ? rc
              : changes_write(t, b->index, ordinal, MUT_CREATE_TABLE, res->graph.id, NULL, NULL);
}

static int apply_drop_graph(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                            struct mutation_result *res)
{
    int rc = catalog_graph_get(t, b->muts[ordinal].graph.name, &res->graph);

    if (rc == 0)
        rc = catalog_graph_drop(t, &res->graph);
    if (rc == 0)
        rc = graph_drop_data(t, &res->graph);
    return rc ? rc
              : changes_write(t, b->index, ordinal, MUT_DELETE_TABLE, res->graph.id, NULL, NULL);
}

/* ---- idempotency tokens (struct log_batch) ----
 *
 * In the meta database, two records per token:
 *   "tok:" | token              -> u64be request hash | u64be time_ms of the entry that set it
 *   "tok@" | u64be time_ms | token -> empty: the tokens in the order they expire
 */

static const char token_rec[] = "tok:", token_exp[] = "tok@";

#define TOKEN_PREFIX 4
#define TOKEN_KEY_MAX (TOKEN_PREFIX + 8 + CR_MAX_TOKEN_LEN)

static size_t token_key(uint8_t *out, const char *prefix, const int64_t *time_ms, const char *token,
                        size_t len)
{
    size_t n = TOKEN_PREFIX;

    memcpy(out, prefix, TOKEN_PREFIX);
    if (time_ms) {
        cr_put_u64be(out + n, (uint64_t)*time_ms);
        n += 8;
    }
    memcpy(out + n, token, len);
    return n + len;
}

/* The entry's token against its record: TOKEN_NONE when absent or expired (*expired_at gets
 * the expired record's time, or -1), else TOKEN_REPLAY or TOKEN_MISMATCH. */
static int token_check(struct storage_txn *t, const struct log_batch *b, enum token_outcome *out,
                       int64_t *expired_at)
{
    uint8_t key[TOKEN_KEY_MAX];
    struct env_val v;
    int64_t at;
    int rc = env_get(t, ENV_META, key, token_key(key, token_rec, NULL, b->token, b->token_len), &v);

    *out = TOKEN_NONE;
    *expired_at = -1;
    if (rc == CR_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.n != 16)
        return CR_CORRUPT();
    at = (int64_t)cr_get_u64be(v.p + 8);
    /* An entry older than the record (a proposer's clock stepped back) is within the window. */
    if (b->time_ms - at >= CR_TOKEN_WINDOW_MS) {
        *expired_at = at;
        return 0;
    }
    *out = cr_get_u64be(v.p) == b->request_hash ? TOKEN_REPLAY : TOKEN_MISMATCH;
    return 0;
}

/* Forgets up to CR_TOKEN_PRUNE tokens that expired by now_ms, oldest first. */
static int token_prune(struct storage_txn *t, int64_t now_ms)
{
    uint8_t keys[CR_TOKEN_PRUNE][TOKEN_KEY_MAX];
    size_t lens[CR_TOKEN_PRUNE], n = 0;
    struct env_cursor *c;
    struct env_val k = {(const uint8_t *)token_exp, TOKEN_PREFIX}, v;
    int rc = env_cursor_open(t, ENV_META, &c);

    if (rc)
        return rc;
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && n < CR_TOKEN_PRUNE;
         rc = env_cursor_get(c, ENV_NEXT, &k, &v)) {
        if (k.n < TOKEN_PREFIX || memcmp(k.p, token_exp, TOKEN_PREFIX) != 0)
            break;
        if (k.n <= TOKEN_PREFIX + 8 || k.n > TOKEN_KEY_MAX) {
            rc = CR_CORRUPT();
            break;
        }
        if (now_ms - (int64_t)cr_get_u64be(k.p + TOKEN_PREFIX) < CR_TOKEN_WINDOW_MS)
            break;
        memcpy(keys[n], k.p, k.n);
        lens[n++] = k.n;
    }
    env_cursor_close(c);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint8_t rec[TOKEN_KEY_MAX];
        size_t len = lens[i] - TOKEN_PREFIX - 8;

        rc = env_del(t, ENV_META, keys[i], lens[i]);
        if (rc == 0)
            rc = env_del(
                t, ENV_META, rec,
                token_key(rec, token_rec, NULL, (const char *)keys[i] + TOKEN_PREFIX + 8, len));
        if (rc)
            return rc == CR_ENOTFOUND ? CR_CORRUPT() : rc;
    }
    return 0;
}

/* Records the applied entry's token (replacing a record that expired at expired_at, when not
 * -1), then prunes. */
static int token_record(struct storage_txn *t, const struct log_batch *b, int64_t expired_at)
{
    uint8_t key[TOKEN_KEY_MAX], val[16];
    int rc = 0;

    if (expired_at != -1)
        rc = env_del(t, ENV_META, key,
                     token_key(key, token_exp, &expired_at, b->token, b->token_len));
    if (rc == 0) {
        cr_put_u64be(val, b->request_hash);
        cr_put_u64be(val + 8, (uint64_t)b->time_ms);
        rc = env_put(t, ENV_META, key, token_key(key, token_rec, NULL, b->token, b->token_len), val,
                     sizeof val);
    }
    if (rc == 0)
        rc = env_put(t, ENV_META, key,
                     token_key(key, token_exp, &b->time_ms, b->token, b->token_len), "", 0);
    if (rc == 0)
        rc = token_prune(t, b->time_ms);
    return rc == CR_ENOTFOUND ? CR_CORRUPT() : rc;
}

static void scratch_reset(struct scratch *sc)
{
    cr_buf_reset(&sc->key);
    cr_buf_reset(&sc->row);
    cr_arena_reset(&sc->arena);
}

static int apply_one(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                     struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    scratch_reset(sc);
    switch (b->muts[ordinal].type) {
    case MUT_CREATE_TABLE:
        return apply_create_table(t, b, ordinal, sc, res);
    case MUT_DELETE_TABLE:
        return apply_delete_table(t, b, ordinal, sc, res);
    case MUT_UPDATE_TABLE:
        return apply_update_table(t, b, ordinal, sc, res);
    case MUT_PUT:
    case MUT_DELETE:
    case MUT_UPDATE:
    case MUT_CHECK:
        return apply_item(t, b, ordinal, sc, a, res, false);
    case MUT_CREATE_COLLECTION:
        return apply_create_collection(t, b, ordinal, sc, a, res);
    case MUT_DROP_COLLECTION:
        return apply_drop_collection(t, b, ordinal, a, res);
    case MUT_DOC_CREATE:
    case MUT_DOC_REPLACE:
    case MUT_DOC_UPSERT:
    case MUT_DOC_DELETE:
    case MUT_DOC_PATCH:
        return doc_apply(t, b, ordinal, &sc->arena, a, res);
    case MUT_CREATE_GRAPH:
        return apply_create_graph(t, b, ordinal, res);
    case MUT_DROP_GRAPH:
        return apply_drop_graph(t, b, ordinal, res);
    case MUT_GRAPH_ADD_VERTEX:
    case MUT_GRAPH_ADD_EDGE:
    case MUT_GRAPH_SET_PROPERTY:
    case MUT_GRAPH_REMOVE_PROPERTY:
    case MUT_GRAPH_DROP_VERTEX:
    case MUT_GRAPH_DROP_EDGE:
        return graph_apply(t, b, ordinal, &sc->arena, a, res);
    default:
        return CR_EINVAL;
    }
}

/* Marks every mutation of a failed batch: `failed` reports code and keeps its message, old
 * item, table and index mismatch, the others CR_EABORTED. failed == n reports code on all of them
 * (a batch-level error). */
static void fail_batch(struct mutation_result *res, size_t n, size_t failed, int code)
{
    struct mutation_result keep;

    memset(&keep, 0, sizeof keep);
    if (failed < n) {
        keep.message = res[failed].message;
        keep.has_old = res[failed].has_old;
        keep.old = res[failed].old;
        keep.table = res[failed].table;
        keep.mismatch = res[failed].mismatch;
        keep.coll = res[failed].coll;
        keep.graph = res[failed].graph;
    }
    memset(res, 0, n * sizeof *res);
    for (size_t i = 0; i < n; i++)
        res[i].code = failed == n || i == failed ? code : CR_EABORTED;
    if (failed < n) {
        keep.code = code;
        res[failed] = keep;
    }
}

static bool is_item_mutation(enum mut_type t)
{
    return t == MUT_PUT || t == MUT_DELETE || t == MUT_UPDATE || t == MUT_CHECK;
}

/* Mutations that fail cleanly only before their first write (apply_item, doc_apply), so a batch
 * of one of them needs no nested transaction. */
static bool is_single_write(enum mut_type t)
{
    return is_item_mutation(t) || (t >= MUT_DOC_CREATE && t <= MUT_DOC_PATCH);
}

/*
 * After mutation `failed` of a batch failed, in the batch's transaction as it stands (nothing
 * more is written, and it is aborted next): the conditions of the item mutations after it, so
 * that each one that would fail reports its own code, as DynamoDB's CancellationReasons give a
 * reason for every failing action, not only the first. The others stay CR_EABORTED.
 * Deterministic like the rest: reads of the same state.
 */
static int check_rest(struct storage_txn *t, const struct log_batch *b, size_t failed,
                      struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    for (size_t j = failed + 1; j < b->n; j++) {
        const struct mutation *m = &b->muts[j];
        int rc;

        if (!is_item_mutation(m->type) || (m->cond.type == COND_NONE && !m->hook.check))
            continue;
        scratch_reset(sc);
        memset(&res[j], 0, sizeof res[j]);
        rc = apply_item(t, b, (uint16_t)j, sc, a, &res[j], true);
        if (rc && !is_mutation_error(rc))
            return rc;
        res[j].code = rc ? rc : CR_EABORTED;
    }
    return 0;
}

/* Applies one batch in a txn nested in parent. Returns 0 when the batch was applied or failed
 * cleanly (its results say which), or the environment error that must fail the whole call.
 *
 * A batch of one item or document mutation needs no nested txn: such a mutation fails cleanly
 * only before its first write (after_write, doc_apply), so there is nothing to roll back. This
 * is the common case (every single-item write), and it saves LMDB's nested-txn set-up and its
 * dirty-page merge, a large share of the writer's time when many small entries are grouped. */
static int apply_batch(struct storage *s, struct storage_txn *parent, const struct log_batch *b,
                       struct scratch *sc, struct cr_arena *a, struct mutation_result *res)
{
    enum token_outcome seen = TOKEN_NONE;
    int64_t expired_at = -1;
    struct storage_txn *t;
    int rc;

    memset(res, 0, b->n * sizeof *res);
    if (b->n > CR_MAX_BATCH_MUTATIONS) {
        fail_batch(res, b->n, b->n, CR_ETOOMANY);
        return 0;
    }
    if (b->token && (b->token_len == 0 || b->token_len > CR_MAX_TOKEN_LEN)) {
        fail_batch(res, b->n, b->n, CR_EINVAL);
        return 0;
    }
    if (b->token) {
        rc = token_check(parent, b, &seen, &expired_at);
        if (rc)
            return rc;
        if (seen == TOKEN_MISMATCH)
            fail_batch(res, b->n, b->n, CR_EINVAL);
        for (size_t i = 0; i < b->n; i++)
            res[i].token = seen;
        if (seen != TOKEN_NONE)
            return 0;
    }
    if (b->n == 1 && is_single_write(b->muts[0].type)) {
        rc = apply_one(parent, b, 0, sc, a, &res[0]);
        if (rc && !is_mutation_error(rc))
            return rc;
        if (rc) {
            fail_batch(res, 1, 0, rc);
            return 0;
        }
        return b->token ? token_record(parent, b, expired_at) : 0;
    }
    rc = env_write_begin(s, parent, &t);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        rc = apply_one(t, b, (uint16_t)i, sc, a, &res[i]);
        if (rc == 0)
            continue;
        if (is_mutation_error(rc)) {
            fail_batch(res, b->n, i, rc);
            rc = check_rest(t, b, i, sc, a, res);
        }
        env_abort(t);
        return rc;
    }
    if (b->token)
        rc = token_record(t, b, expired_at);
    if (rc) {
        env_abort(t);
        return rc;
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
    res = calloc(total ? total : 1, sizeof *res); /* entries of no mutations still pass through */
    if (!res)
        return CR_ENOMEM;
    rc = env_write_begin(s, NULL, &t);
    if (rc) {
        free(res);
        return rc;
    }
    cr_buf_init(&sc.key);
    cr_buf_init(&sc.row);
    cr_arena_init(&sc.arena, 4096);
    index_plan_init(&sc.index);
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
    index_plan_free(&sc.index);
    free(res);
    return rc;
}
