/*
 * Secondary index entries (the `index` database): their keys, their projected values, and their
 * maintenance for apply.c — planned from an item's old and new versions, then written in the same
 * transaction as the row; filled from a table's rows when an index is added; removed with the
 * index. Reads of entries are kv.c's range reads. This file never writes rows or the catalog,
 * and never decides which index exists (catalog.c) or when a mutation applies (apply.c).
 *
 * Entry:
 *   key    u32be index id | component(index pk) [| component(index sk)]
 *                         | component(table pk) [| component(table sk)]
 *   value  value_encode(projection of the item): every key attribute of the table and of the
 *          index, then all other attributes (ALL) or the INCLUDE ones (KEYS_ONLY: none), in the
 *          item's attribute order
 *
 * Every component is cut at CR_INDEX_KEY_PREFIX (keycodec_encode_cut), so four of them fit in
 * LMDB's 511 bytes. The table key makes entry keys unique: many items may share an index key.
 * Entries sort by index key, then table key — by value, except among long components sharing
 * their first CR_INDEX_KEY_PREFIX encoded bytes (hash order, as kv.c's rows); the full keys are
 * in the value, and range reads check them (kv.c). Collision policy as rows: an item whose entry
 * key is held by another item's entry (a 64-bit hash collision) fails to write, CR_EKEYTOOBIG.
 *
 * Sparse: an item without the index key attributes, or with a value kv_extract_key refuses for
 * them (wrong type, empty, too long), has no entry. Writes of an index key attribute of the wrong
 * type or empty are refused before they get here (index_check_types, called by apply.c); items
 * stored before their index was added may still have one, and are left out of it.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"
#include "storage/keycodec.h"

#include <string.h>

int index_entry_key(const struct table_def *table, const struct index_def *idx,
                    const struct value *ipk, const struct value *isk, const struct value *pk,
                    const struct value *sk, struct cr_buf *key, bool *truncated)
{
    size_t start = key->len;
    bool t1 = false, t2 = false;
    int rc = cr_buf_put_u32be(key, idx->key.id);

    if (rc == 0)
        rc = kv_key_components(&idx->key, ipk, isk, CR_INDEX_KEY_PREFIX, key, &t1);
    if (rc == 0)
        rc = kv_key_components(table, pk, sk, CR_INDEX_KEY_PREFIX, key, &t2);
    if (rc) {
        key->len = start;
        return rc;
    }
    CR_ASSERT(key->len - start <= 4 + 4 * CR_INDEX_COMPONENT_MAX); /* LMDB's 511 */
    *truncated = t1 || t2;
    return 0;
}

static bool is_key_name(const struct table_def *k, const char *name, size_t len)
{
    return (strlen(k->pk_name) == len && memcmp(k->pk_name, name, len) == 0) ||
           (k->has_sk && strlen(k->sk_name) == len && memcmp(k->sk_name, name, len) == 0);
}

static bool projected(const struct table_def *table, const struct index_def *idx,
                      const struct value_field *f)
{
    if (idx->projection == PROJ_ALL || is_key_name(table, f->name, f->name_len) ||
        is_key_name(&idx->key, f->name, f->name_len))
        return true;
    for (size_t i = 0; idx->projection == PROJ_INCLUDE && i < idx->n_include; i++)
        if (strlen(idx->include[i]) == f->name_len &&
            memcmp(idx->include[i], f->name, f->name_len) == 0)
            return true;
    return false;
}

/* The projection of item into *out: its fields borrow from item, the array from a. */
static int project(const struct table_def *table, const struct index_def *idx,
                   const struct value *item, struct cr_arena *a, struct value *out)
{
    struct value_field *fields;
    size_t n = 0;

    if (idx->projection == PROJ_ALL) {
        *out = *item;
        return 0;
    }
    fields = cr_arena_alloc(a, (item->u.map.n ? item->u.map.n : 1) * sizeof *fields);
    if (!fields)
        return CR_ENOMEM;
    for (size_t i = 0; i < item->u.map.n; i++)
        if (projected(table, idx, &item->u.map.fields[i]))
            fields[n++] = item->u.map.fields[i];
    out->type = VT_MAP;
    out->u.map.fields = fields;
    out->u.map.n = n;
    return 0;
}

static bool type_fits(enum key_type t, enum value_type v)
{
    if (t == KEY_N)
        return v == VT_INT || v == VT_DOUBLE || v == VT_DECIMAL;
    return v == (t == KEY_S ? VT_STRING : VT_BYTES);
}

int index_check_types(const struct index_def *idx, size_t n, const struct value *item,
                      struct index_mismatch *out)
{
    out->index = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct table_def *k = &idx[i].key;

        if (out->index && strcmp(k->name, out->index) >= 0)
            continue; /* a mismatch in an index earlier by name is already known */
        for (int part = 0; part < (k->has_sk ? 2 : 1); part++) {
            const char *name = part ? k->sk_name : k->pk_name;
            enum key_type want = part ? k->sk_type : k->pk_type;
            const struct value *v = value_map_get(item, name, strlen(name));
            bool empty = v && type_fits(want, v->type) && want != KEY_N && v->u.s.len == 0;

            if (v && (!type_fits(want, v->type) || empty)) {
                *out = (struct index_mismatch){k->name, name, want, v->type, empty};
                break;
            }
        }
    }
    return out->index ? CR_ETYPE : 0;
}

/* The entry of item in idx, appended to buf: *key_len 0 when it has none; with val (may be
 * NULL: the key and size only) its value after the key. *size: the projection's value_ddb_size. */
static int entry(const struct table_def *table, const struct index_def *idx,
                 const struct value *item, struct cr_arena *a, struct cr_buf *buf, bool val,
                 size_t *key_len, size_t *val_len, uint64_t *size, bool *truncated)
{
    struct value ipk, isk = value_null(), pk, sk = value_null(), proj;
    size_t start = buf->len;
    int rc;

    *key_len = *val_len = 0;
    *size = 0;
    *truncated = false;
    if (!item || kv_extract_key(&idx->key, item, false, &ipk, &isk))
        return 0; /* sparse */
    rc = kv_extract_key(table, item, false, &pk, &sk);
    if (rc == 0)
        rc = index_entry_key(table, idx, &ipk, &isk, &pk, &sk, buf, truncated);
    if (rc == 0)
        rc = project(table, idx, item, a, &proj);
    if (rc)
        return rc == CR_ENOMEM ? rc : CR_CORRUPT(); /* stored items have valid keys */
    *key_len = buf->len - start;
    *size = value_ddb_size(&proj);
    if (!val)
        return 0;
    rc = value_encode(&proj, buf);
    if (rc)
        return rc == CR_ENOMEM ? rc : CR_CORRUPT();
    *val_len = buf->len - start - *key_len;
    return 0;
}

/* A new entry key held by an entry other than `mine` (NULL: none) is another item's. */
static int check_free(struct storage_txn *t, const uint8_t *key, size_t len, const uint8_t *mine,
                      size_t mine_len)
{
    struct env_val v;
    int rc = env_get(t, ENV_INDEX, key, len, &v);

    if (rc == CR_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    return mine && mine_len == len && memcmp(mine, key, len) == 0 ? 0 : CR_EKEYTOOBIG;
}

void index_plan_init(struct index_plan *p)
{
    cr_buf_init(&p->bytes);
    p->n = 0;
}

void index_plan_free(struct index_plan *p)
{
    cr_buf_free(&p->bytes);
}

int index_plan(struct storage_txn *t, const struct table_def *table, const struct index_def *idx,
               size_t n, const struct value *old, const struct value *item, struct cr_arena *a,
               struct index_plan *p)
{
    CR_ASSERT(n <= CR_MAX_INDEXES);
    cr_buf_reset(&p->bytes);
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        struct index_step *s = &p->steps[i];
        uint64_t old_size, new_size;
        size_t unused;
        bool truncated;
        int rc;

        memset(s, 0, sizeof *s);
        s->id = idx[i].key.id;
        s->old_off = p->bytes.len;
        rc = entry(table, &idx[i], old, a, &p->bytes, false, &s->old_len, &unused, &old_size,
                   &truncated);
        if (rc)
            return rc;
        s->key_off = p->bytes.len;
        rc = entry(table, &idx[i], item, a, &p->bytes, true, &s->key_len, &s->val_len, &new_size,
                   &truncated);
        if (rc)
            return rc;
        s->val_off = s->key_off + s->key_len;
        if (s->key_len && truncated) {
            rc = check_free(t, p->bytes.data + s->key_off, s->key_len,
                            s->old_len ? p->bytes.data + s->old_off : NULL, s->old_len);
            if (rc)
                return rc;
        }
        s->count = (s->key_len != 0) - (s->old_len != 0);
        s->size = (int64_t)new_size - (int64_t)old_size;
    }
    return 0;
}

int index_write(struct storage_txn *t, const struct index_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct index_step *s = &p->steps[i];
        const uint8_t *b = p->bytes.data;
        bool same = s->old_len && s->old_len == s->key_len &&
                    memcmp(b + s->old_off, b + s->key_off, s->key_len) == 0;
        int rc = 0;

        if (s->old_len && !same) {
            rc = env_del(t, ENV_INDEX, b + s->old_off, s->old_len);
            if (rc == CR_ENOTFOUND)
                rc = CR_CORRUPT(); /* the old item's entry must exist */
        }
        if (rc == 0 && s->key_len)
            rc = env_put(t, ENV_INDEX, b + s->key_off, s->key_len, b + s->val_off, s->val_len);
        if (rc == 0 && (s->count || s->size))
            rc = catalog_stats_add(t, s->id, s->count, s->size);
        if (rc)
            return rc;
    }
    return 0;
}

int index_build(struct storage_txn *t, const struct table_def *table, const struct index_def *idx)
{
    struct env_cursor *c;
    struct env_val k, v;
    struct cr_arena a;
    struct cr_buf buf;
    uint8_t prefix[4];
    int64_t count = 0, size = 0;
    int rc = env_cursor_open(t, ENV_DATA, &c);

    if (rc)
        return rc;
    cr_arena_init(&a, 4096);
    cr_buf_init(&buf);
    cr_put_u32be(prefix, table->id);
    k = (struct env_val){prefix, sizeof prefix};
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v);
         rc == 0 && k.n >= sizeof prefix && memcmp(k.p, prefix, sizeof prefix) == 0;
         rc = env_cursor_get(c, ENV_NEXT, &k, &v)) {
        struct value item;
        size_t key_len, val_len;
        uint64_t item_size;
        bool truncated;

        cr_arena_reset(&a);
        cr_buf_reset(&buf);
        rc = value_decode(v.p, v.n, &a, &item);
        if (rc == 0)
            rc = entry(table, idx, &item, &a, &buf, true, &key_len, &val_len, &item_size,
                       &truncated);
        if (rc == 0 && key_len && truncated)
            rc = check_free(t, buf.data, key_len, NULL, 0);
        if (rc == 0 && key_len)
            rc = env_put(t, ENV_INDEX, buf.data, key_len, buf.data + key_len, val_len);
        if (rc)
            break;
        count += key_len != 0;
        size += key_len ? (int64_t)item_size : 0;
    }
    env_cursor_close(c);
    cr_arena_free(&a);
    cr_buf_free(&buf);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    return count ? catalog_stats_add(t, idx->key.id, count, size) : 0;
}

int index_drop(struct storage_txn *t, uint32_t index_id)
{
    uint8_t prefix[4];
    int rc;

    cr_put_u32be(prefix, index_id);
    rc = env_del_prefix(t, ENV_INDEX, prefix, sizeof prefix, NULL);
    return rc ? rc : catalog_stats_drop(t, index_id);
}
