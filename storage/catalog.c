/*
 * The catalog: table definitions by name with their secondary indexes, object ids, per-table
 * and per-index stats.
 *
 * Only apply.c (through catalog_create, catalog_alter, catalog_drop, catalog_stats_add) changes
 * the catalog; the rest is read-only. TTL and tags are kept here, never acted on: expiry is the
 * server's (server/ttl.c). This file does not touch rows (kv.c) or index entries
 * (index.c) and does not decide when stats change (apply.c does, in the same transaction as the
 * rows).
 *
 * Catalog record (the `catalog` database, key = the table name's bytes):
 *
 *   bytes    field
 *   1        format version: DEF_VERSION; DEF_VERSION_INDEXES when indexes follow;
 *            DEF_VERSION_EXT when TTL or tags are set (written only then, so a table that
 *            uses neither keeps the older, shorter record)
 *   4        u32be table id
 *   1        pk type (enum key_type)
 *   1        sk type (enum key_type), or NO_SK when the table has no sort key
 *   varint   created_index
 *   varint   created_ms, zigzag-encoded
 *   varint   pk name length, then the name
 *   varint   sk name length, then the name (only with a sort key)
 *   varint   TTL attribute name length, 0 when TTL is disabled, then the name (EXT only)
 *   varint   number of indexes (INDEXES: 1.., EXT: 0..), then each index, in creation order:
 *     4        u32be index id
 *     1        kind (enum index_kind)
 *     1        pk type; 1 sk type, or NO_SK
 *     1        projection (enum index_projection)
 *     varint+  index name, pk name, sk name (only with a sort key), as above
 *     varint   number of INCLUDE attributes, then each name, as above
 *   varint   number of tags (EXT only), then each in bytewise key order: varint key length,
 *            key (1..CR_MAX_TAG_BYTES), varint value length, value (0..CR_MAX_TAG_BYTES)
 *
 * Stats (`meta`, key "stats" | u32be id): u64be item_count | u64be size_bytes; absent is zero.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

#define DEF_VERSION 1
#define DEF_VERSION_INDEXES 2
#define DEF_VERSION_EXT 3
#define NO_SK 0xFF
#define STATS_PREFIX "stats"
#define STATS_KEY_LEN (sizeof STATS_PREFIX - 1 + 4)

static const char next_id_key[] = "next_id";

static bool key_type_valid(enum key_type k)
{
    return k == KEY_S || k == KEY_N || k == KEY_B;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int catalog_check_name(const char *name, size_t len)
{
    if (len < CR_MIN_TABLE_NAME_LEN || len > CR_MAX_NAME_LEN)
        return CR_ENAME;
    for (size_t i = 0; i < len; i++)
        if (!name_char(name[i]))
            return CR_ENAME;
    return 0;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int put_name(struct cr_buf *out, const char *name)
{
    size_t len = strlen(name);
    int rc = cr_buf_put_varint(out, len);

    return rc ? rc : cr_buf_append(out, name, len);
}

static int encode_index(const struct index_def *x, struct cr_buf *out)
{
    const struct table_def *k = &x->key;
    int rc = cr_buf_put_u32be(out, k->id);

    if (rc == 0)
        rc = cr_buf_putc(out, (uint8_t)x->kind);
    if (rc == 0)
        rc = cr_buf_putc(out, (uint8_t)k->pk_type);
    if (rc == 0)
        rc = cr_buf_putc(out, k->has_sk ? (uint8_t)k->sk_type : NO_SK);
    if (rc == 0)
        rc = cr_buf_putc(out, (uint8_t)x->projection);
    if (rc == 0)
        rc = put_name(out, k->name);
    if (rc == 0)
        rc = put_name(out, k->pk_name);
    if (rc == 0 && k->has_sk)
        rc = put_name(out, k->sk_name);
    if (rc == 0)
        rc = cr_buf_put_varint(out, x->n_include);
    for (size_t i = 0; rc == 0 && i < x->n_include; i++)
        rc = put_name(out, x->include[i]);
    return rc;
}

static int encode_def(const struct table_def *def, const struct index_def *idx, size_t n,
                      const struct table_tag *tags, size_t n_tags, struct cr_buf *out)
{
    uint8_t version = def->ttl_attr[0] || n_tags ? DEF_VERSION_EXT
                      : n                        ? DEF_VERSION_INDEXES
                                                 : DEF_VERSION;
    int rc = cr_buf_putc(out, version);

    if (rc == 0)
        rc = cr_buf_put_u32be(out, def->id);
    if (rc == 0)
        rc = cr_buf_putc(out, (uint8_t)def->pk_type);
    if (rc == 0)
        rc = cr_buf_putc(out, def->has_sk ? (uint8_t)def->sk_type : NO_SK);
    if (rc == 0)
        rc = cr_buf_put_varint(out, def->created_index);
    if (rc == 0)
        rc = cr_buf_put_varint(out, zigzag(def->created_ms));
    if (rc == 0)
        rc = put_name(out, def->pk_name);
    if (rc == 0 && def->has_sk)
        rc = put_name(out, def->sk_name);
    if (rc == 0 && version == DEF_VERSION_EXT)
        rc = put_name(out, def->ttl_attr);
    if (rc == 0 && version != DEF_VERSION)
        rc = cr_buf_put_varint(out, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = encode_index(&idx[i], out);
    if (rc == 0 && version == DEF_VERSION_EXT)
        rc = cr_buf_put_varint(out, n_tags);
    for (size_t i = 0; rc == 0 && i < n_tags; i++) {
        rc = put_name(out, tags[i].key);
        if (rc == 0)
            rc = put_name(out, tags[i].value);
    }
    return rc;
}

/* A length-prefixed string of min..max bytes at *p, borrowed from the record. */
static int get_str(const uint8_t **p, const uint8_t *end, size_t min, size_t max, const uint8_t **s,
                   size_t *len)
{
    uint64_t n;

    if (cr_get_varint(p, end, &n) || n < min || n > max || n > (uint64_t)(end - *p))
        return CR_CORRUPT();
    *s = *p;
    *len = (size_t)n;
    *p += n;
    return 0;
}

/* A name of min..CR_MAX_NAME_LEN bytes, copied NUL-terminated into out. */
static int decode_str(const uint8_t **p, const uint8_t *end, size_t min, char *out)
{
    const uint8_t *s = NULL;
    size_t len = 0;

    if (get_str(p, end, min, CR_MAX_NAME_LEN, &s, &len))
        return CR_ECORRUPT;
    memcpy(out, s, len);
    out[len] = 0;
    return 0;
}

static int decode_name(const uint8_t **p, const uint8_t *end, char *out)
{
    return decode_str(p, end, 1, out);
}

/* The table part of a record; *p is left at the index section (v.p + v.n when none). */
static int decode_table(const uint8_t *name, size_t name_len, struct env_val v,
                        struct table_def *out, const uint8_t **p)
{
    const uint8_t *end = v.p + v.n;
    uint64_t ms, n = 0;

    memset(out, 0, sizeof *out);
    if (name_len > CR_MAX_NAME_LEN || v.n < 7 || v.p[0] < DEF_VERSION || v.p[0] > DEF_VERSION_EXT)
        return CR_CORRUPT();
    memcpy(out->name, name, name_len);
    out->id = cr_get_u32be(v.p + 1);
    out->pk_type = v.p[5];
    out->has_sk = v.p[6] != NO_SK;
    out->sk_type = out->has_sk ? v.p[6] : KEY_S;
    if (!key_type_valid(out->pk_type) || !key_type_valid(out->sk_type))
        return CR_CORRUPT();
    *p = v.p + 7;
    if (cr_get_varint(p, end, &out->created_index) || cr_get_varint(p, end, &ms))
        return CR_CORRUPT();
    out->created_ms = unzigzag(ms);
    if (decode_name(p, end, out->pk_name))
        return CR_ECORRUPT;
    if (out->has_sk && decode_name(p, end, out->sk_name))
        return CR_ECORRUPT;
    if (v.p[0] == DEF_VERSION_EXT && decode_str(p, end, 0, out->ttl_attr))
        return CR_ECORRUPT;
    if (v.p[0] == DEF_VERSION ? *p != end
                              : cr_get_varint(p, end, &n) || n > CR_MAX_INDEXES ||
                                    (n == 0 && v.p[0] == DEF_VERSION_INDEXES))
        return CR_CORRUPT();
    out->n_indexes = (uint32_t)n;
    return 0;
}

static int decode_def(const uint8_t *name, size_t name_len, struct env_val v, struct table_def *out)
{
    const uint8_t *p;

    return decode_table(name, name_len, v, out, &p);
}

/* One index of the index section at *p; names are copied into the arena. */
static int decode_index(const uint8_t **p, const uint8_t *end, struct cr_arena *a,
                        struct index_def *out)
{
    struct table_def *k = &out->key;
    const uint8_t *q = *p;
    char name[CR_MAX_NAME_LEN + 1];
    char **include = NULL;
    uint64_t n;

    memset(out, 0, sizeof *out);
    if (end - q < 8)
        return CR_CORRUPT();
    k->id = cr_get_u32be(q);
    out->kind = q[4];
    k->pk_type = q[5];
    k->has_sk = q[6] != NO_SK;
    k->sk_type = k->has_sk ? q[6] : KEY_S;
    out->projection = q[7];
    q += 8;
    if ((out->kind != INDEX_GSI && out->kind != INDEX_LSI) || !key_type_valid(k->pk_type) ||
        !key_type_valid(k->sk_type) || out->projection > PROJ_INCLUDE)
        return CR_CORRUPT();
    if (decode_name(&q, end, k->name) || decode_name(&q, end, k->pk_name) ||
        (k->has_sk && decode_name(&q, end, k->sk_name)))
        return CR_ECORRUPT;
    if (cr_get_varint(&q, end, &n) || n > CR_MAX_PROJECTED)
        return CR_CORRUPT();
    if (n) {
        include = cr_arena_alloc(a, n * sizeof *include);
        if (!include)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (decode_name(&q, end, name))
            return CR_ECORRUPT;
        include[i] = cr_arena_strndup(a, name, strlen(name));
        if (!include[i])
            return CR_ENOMEM;
    }
    out->n_include = n;
    out->include = (const char *const *)include;
    *p = q;
    return 0;
}

/* The tag section at *p (DEF_VERSION_EXT), decoded into the arena. */
static int decode_tags(const uint8_t **p, const uint8_t *end, struct cr_arena *a,
                       struct table_tag **out, size_t *n)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t kn = 0, vn = 0;
    uint64_t count;

    if (cr_get_varint(p, end, &count) || count > CR_MAX_TAGS)
        return CR_CORRUPT();
    if (count && !(*out = cr_arena_alloc(a, count * sizeof **out)))
        return CR_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        if (get_str(p, end, 1, CR_MAX_TAG_BYTES, &k, &kn) ||
            get_str(p, end, 0, CR_MAX_TAG_BYTES, &v, &vn))
            return CR_ECORRUPT;
        (*out)[i].key = cr_arena_strndup(a, (const char *)k, kn);
        (*out)[i].value = cr_arena_strndup(a, (const char *)v, vn);
        if (!(*out)[i].key || !(*out)[i].value)
            return CR_ENOMEM;
    }
    *n = (size_t)count;
    return 0;
}

/* The variable parts of def's record, decoded into the arena: its indexes, and its tags when
 * tags is not NULL. CR_ENOTABLE when the table is gone (or is another table of that name). */
static int read_record(struct storage_txn *t, const struct table_def *def, struct cr_arena *a,
                       struct index_def **idx, size_t *n_idx, struct table_tag **tags,
                       size_t *n_tags)
{
    struct table_def d;
    struct env_val v;
    const uint8_t *p, *end;
    int rc = env_get(t, ENV_CATALOG, def->name, strlen(def->name), &v);

    *idx = NULL;
    *n_idx = 0;
    if (tags) {
        *tags = NULL;
        *n_tags = 0;
    }
    if (rc == CR_ENOTFOUND)
        return CR_ENOTABLE;
    if (rc == 0)
        rc = decode_table((const uint8_t *)def->name, strlen(def->name), v, &d, &p);
    if (rc)
        return rc;
    if (d.id != def->id)
        return CR_ENOTABLE;
    end = v.p + v.n;
    if (d.n_indexes) {
        *idx = cr_arena_alloc(a, d.n_indexes * sizeof **idx);
        if (!*idx)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < d.n_indexes; i++) {
        rc = decode_index(&p, end, a, &(*idx)[i]);
        if (rc)
            return rc;
    }
    *n_idx = d.n_indexes;
    if (v.p[0] != DEF_VERSION_EXT)
        return p == end ? 0 : CR_CORRUPT();
    if (!tags)
        return 0;
    rc = decode_tags(&p, end, a, tags, n_tags);
    if (rc == 0 && p != end)
        rc = CR_CORRUPT();
    return rc;
}

int catalog_indexes(struct storage_txn *t, const struct table_def *def, struct cr_arena *a,
                    struct index_def **out, size_t *n)
{
    return read_record(t, def, a, out, n, NULL, NULL);
}

int catalog_tags(struct storage_txn *t, const struct table_def *def, struct cr_arena *a,
                 struct table_tag **out, size_t *n)
{
    struct index_def *idx;
    size_t n_idx;

    return read_record(t, def, a, &idx, &n_idx, out, n);
}

int catalog_get(struct storage_txn *t, const char *name, size_t name_len, struct table_def *out)
{
    struct env_val v;
    int rc;

    if (name_len == 0 || name_len > CR_MAX_NAME_LEN)
        return CR_ENOTABLE;
    rc = env_get(t, ENV_CATALOG, name, name_len, &v);
    if (rc == CR_ENOTFOUND)
        return CR_ENOTABLE;
    if (rc)
        return rc;
    return decode_def((const uint8_t *)name, name_len, v, out);
}

int catalog_get_cstr(struct storage_txn *t, const char *name, struct table_def *out)
{
    size_t len = strnlen(name, CR_MAX_NAME_LEN + 1);

    return catalog_get(t, name, len, out);
}

int catalog_list(struct storage_txn *t, const char *after, size_t after_len, struct table_def *out,
                 size_t limit, size_t *n, bool *more)
{
    struct env_cursor *c;
    struct env_val k = {(const uint8_t *)after, after_len}, v;
    size_t filled = 0;
    int rc;

    if (after && after_len > CR_MAX_NAME_LEN)
        return CR_EINVAL;
    rc = env_cursor_open(t, ENV_CATALOG, &c);
    if (rc)
        return rc;
    if (after && after_len > 0) {
        rc = env_cursor_get(c, ENV_SEEK, &k, &v);
        if (rc == 0 && k.n == after_len && memcmp(k.p, after, after_len) == 0)
            rc = env_cursor_get(c, ENV_NEXT, &k, &v);
    } else {
        rc = env_cursor_get(c, ENV_FIRST, &k, &v);
    }
    while (rc == 0 && filled < limit) {
        rc = decode_def(k.p, k.n, v, &out[filled]);
        if (rc)
            break;
        filled++;
        rc = env_cursor_get(c, ENV_NEXT, &k, &v);
    }
    env_cursor_close(c);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    *n = filled;
    *more = rc == 0;
    return 0;
}

static void stats_key(uint32_t id, uint8_t key[STATS_KEY_LEN])
{
    memcpy(key, STATS_PREFIX, sizeof STATS_PREFIX - 1);
    cr_put_u32be(key + sizeof STATS_PREFIX - 1, id);
}

static int read_stats(struct storage_txn *t, uint32_t id, struct table_stats *out)
{
    uint8_t key[STATS_KEY_LEN];
    struct env_val v;
    int rc;

    stats_key(id, key);
    rc = env_get(t, ENV_META, key, sizeof key, &v);
    if (rc == CR_ENOTFOUND) {
        out->item_count = 0;
        out->size_bytes = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (v.n != 16)
        return CR_CORRUPT();
    out->item_count = cr_get_u64be(v.p);
    out->size_bytes = cr_get_u64be(v.p + 8);
    return 0;
}

int catalog_stats(struct storage_txn *t, const struct table_def *def, struct table_stats *out)
{
    return read_stats(t, def->id, out);
}

int catalog_stats_add(struct storage_txn *t, uint32_t id, int64_t count, int64_t size)
{
    uint8_t key[STATS_KEY_LEN], val[16];
    struct table_stats st = {0, 0};
    int rc = read_stats(t, id, &st);

    if (rc)
        return rc;
    if ((count < 0 && st.item_count < (uint64_t)-count) ||
        (size < 0 && st.size_bytes < (uint64_t)-size))
        return CR_CORRUPT();
    st.item_count += (uint64_t)count;
    st.size_bytes += (uint64_t)size;
    stats_key(id, key);
    cr_put_u64be(val, st.item_count);
    cr_put_u64be(val + 8, st.size_bytes);
    return env_put(t, ENV_META, key, sizeof key, val, sizeof val);
}

/* Attribute names: 1..CR_MAX_NAME_LEN bytes, NUL-terminated within the array. */
static int check_attr_name(const char *name)
{
    size_t len = strnlen(name, CR_MAX_NAME_LEN + 1);

    return len == 0 || len > CR_MAX_NAME_LEN ? CR_ENAME : 0;
}

static int check_def(const struct table_def *def)
{
    int rc = catalog_check_name(def->name, strnlen(def->name, CR_MAX_NAME_LEN + 1));

    if (rc == 0)
        rc = check_attr_name(def->pk_name);
    if (rc == 0 && def->has_sk)
        rc = check_attr_name(def->sk_name);
    if (rc)
        return rc;
    if (!key_type_valid(def->pk_type) || (def->has_sk && !key_type_valid(def->sk_type)))
        return CR_ESCHEMA;
    if (def->has_sk && strcmp(def->pk_name, def->sk_name) == 0)
        return CR_ESCHEMA;
    return 0;
}

static bool key_of(const struct table_def *k, const char *name, enum key_type *out)
{
    if (strcmp(k->pk_name, name) == 0)
        *out = k->pk_type;
    else if (k->has_sk && strcmp(k->sk_name, name) == 0)
        *out = k->sk_type;
    else
        return false;
    return true;
}

/* The type an attribute has as a key of the table or of one of idx[0..n), if any. */
static bool key_attr_type(const struct table_def *def, const struct index_def *idx, size_t n,
                          const char *name, enum key_type *out)
{
    if (key_of(def, name, out))
        return true;
    for (size_t i = 0; i < n; i++)
        if (key_of(&idx[i].key, name, out))
            return true;
    return false;
}

/* Index i of idx[0..n) against the table and the indexes before it: names, key schema (one type
 * per attribute name across the table and its indexes), projection. CR_ENAME, CR_ESCHEMA. */
static int check_index(const struct table_def *def, const struct index_def *idx, size_t i)
{
    const struct index_def *x = &idx[i];
    const struct table_def *k = &x->key;
    enum key_type type;
    int rc = catalog_check_name(k->name, strnlen(k->name, CR_MAX_NAME_LEN + 1));

    if (rc == 0)
        rc = check_attr_name(k->pk_name);
    if (rc == 0 && k->has_sk)
        rc = check_attr_name(k->sk_name);
    if (rc)
        return rc;
    if (!key_type_valid(k->pk_type) || (k->has_sk && !key_type_valid(k->sk_type)) ||
        (k->has_sk && strcmp(k->pk_name, k->sk_name) == 0))
        return CR_ESCHEMA;
    if (x->kind == INDEX_LSI && (!def->has_sk || !k->has_sk || strcmp(k->pk_name, def->pk_name)))
        return CR_ESCHEMA;
    if ((x->kind != INDEX_GSI && x->kind != INDEX_LSI) || x->projection > PROJ_INCLUDE ||
        (x->projection == PROJ_INCLUDE) != (x->n_include > 0))
        return CR_ESCHEMA;
    for (size_t j = 0; j < i; j++)
        if (strcmp(idx[j].key.name, k->name) == 0)
            return CR_ESCHEMA;
    if ((key_attr_type(def, idx, i, k->pk_name, &type) && type != k->pk_type) ||
        (k->has_sk && key_attr_type(def, idx, i, k->sk_name, &type) && type != k->sk_type))
        return CR_ESCHEMA;
    for (size_t j = 0; j < x->n_include; j++) {
        rc = check_attr_name(x->include[j]);
        if (rc)
            return rc;
    }
    return 0;
}

/* All indexes of a table: each one, and the limits over them. */
static int check_indexes(const struct table_def *def, const struct index_def *idx, size_t n)
{
    size_t gsi = 0, lsi = 0, projected = 0;

    for (size_t i = 0; i < n; i++) {
        int rc = check_index(def, idx, i);

        if (rc)
            return rc;
        gsi += idx[i].kind == INDEX_GSI;
        lsi += idx[i].kind == INDEX_LSI;
        projected += idx[i].n_include;
    }
    return gsi > CR_MAX_GSI || lsi > CR_MAX_LSI || projected > CR_MAX_PROJECTED ? CR_ETOOMANY : 0;
}

static int next_id(struct storage_txn *t, uint32_t *id)
{
    struct env_val v;
    int rc = env_get(t, ENV_META, next_id_key, sizeof next_id_key - 1, &v);

    if (rc == CR_ENOTFOUND) {
        *id = 1;
        return 0;
    }
    if (rc)
        return rc;
    if (v.n != 4)
        return CR_CORRUPT();
    *id = cr_get_u32be(v.p);
    return *id == 0 ? CR_CORRUPT() : 0;
}

/* Takes n consecutive ids; *first gets the first. CR_ETOOMANY when the id space is spent. */
static int take_ids(struct storage_txn *t, uint32_t n, uint32_t *first)
{
    uint8_t next[4];
    int rc = next_id(t, first);

    if (rc)
        return rc;
    if (*first > UINT32_MAX - n)
        return CR_ETOOMANY;
    cr_put_u32be(next, *first + n);
    return env_put(t, ENV_META, next_id_key, sizeof next_id_key - 1, next, sizeof next);
}

static int write_def(struct storage_txn *t, const struct table_def *def,
                     const struct index_def *idx, size_t n, const struct table_tag *tags,
                     size_t n_tags)
{
    struct cr_buf rec;
    int rc;

    cr_buf_init(&rec);
    rc = encode_def(def, idx, n, tags, n_tags, &rec);
    if (rc == 0)
        rc = env_put(t, ENV_CATALOG, def->name, strlen(def->name), rec.data, rec.len);
    cr_buf_free(&rec);
    return rc;
}

int catalog_create(struct storage_txn *t, const struct table_def *def, const struct index_def *idx,
                   size_t n_idx, uint64_t index, int64_t time_ms, struct table_def *out,
                   struct index_def *out_idx)
{
    struct table_def d;
    uint64_t count;
    uint32_t id = 0;
    int rc = check_def(def);

    if (rc == 0)
        rc = check_indexes(def, idx, n_idx);
    if (rc)
        return rc;
    rc = catalog_get_cstr(t, def->name, &d);
    if (rc == 0)
        return CR_ETABLEEXISTS;
    if (rc != CR_ENOTABLE)
        return rc;
    rc = env_count(t, ENV_CATALOG, &count);
    if (rc)
        return rc;
    if (count >= CR_MAX_TABLES)
        return CR_ETOOMANY;
    rc = take_ids(t, 1 + (uint32_t)n_idx, &id);
    if (rc)
        return rc;

    memset(&d, 0, sizeof d);
    memcpy(d.name, def->name, strlen(def->name));
    memcpy(d.pk_name, def->pk_name, strlen(def->pk_name));
    d.pk_type = def->pk_type;
    d.has_sk = def->has_sk;
    if (d.has_sk) {
        memcpy(d.sk_name, def->sk_name, strlen(def->sk_name));
        d.sk_type = def->sk_type;
    }
    d.id = id;
    d.created_index = index;
    d.created_ms = time_ms;
    d.n_indexes = (uint32_t)n_idx;
    for (size_t i = 0; i < n_idx; i++) {
        out_idx[i] = idx[i];
        out_idx[i].key.id = id + 1 + (uint32_t)i;
    }
    rc = write_def(t, &d, out_idx, n_idx, NULL, 0);
    if (rc)
        return rc;
    *out = d;
    return 0;
}

/* m's TTL change applied to out (the table as it is). CR_ENAME for a bad attribute name;
 * CR_EINVAL, out untouched, when the change does not fit the current setting. */
static int alter_ttl(const struct mutation *m, struct table_def *out)
{
    if (m->ttl == TTL_KEEP)
        return 0;
    if ((m->ttl != TTL_ENABLE && m->ttl != TTL_DISABLE) || !m->ttl_attr)
        return CR_EINVAL;
    if (check_attr_name(m->ttl_attr))
        return CR_ENAME;
    if (m->ttl == TTL_ENABLE ? out->ttl_attr[0] != 0 : strcmp(out->ttl_attr, m->ttl_attr) != 0)
        return CR_EINVAL;
    if (m->ttl == TTL_ENABLE)
        memcpy(out->ttl_attr, m->ttl_attr, strlen(m->ttl_attr) + 1);
    else
        out->ttl_attr[0] = 0;
    return 0;
}

static int tag_cmp(const void *a, const void *b)
{
    return strcmp(((const struct table_tag *)a)->key, ((const struct table_tag *)b)->key);
}

/* The tags cur[0..n) with m's tags set and its untag keys removed, into *out (arena), in key
 * order. CR_EINVAL for a key or value out of bounds, CR_ETOOMANY beyond CR_MAX_TAGS. */
static int alter_tags(const struct mutation *m, const struct table_tag *cur, size_t n,
                      struct cr_arena *a, struct table_tag **out, size_t *n_out)
{
    struct table_tag *next = cr_arena_alloc(a, (n + m->n_tags + 1) * sizeof *next);
    size_t kept = 0;

    if (!next)
        return CR_ENOMEM;
    if (n)
        memcpy(next, cur, n * sizeof *cur);
    for (size_t i = 0; i < m->n_tags; i++) {
        const struct table_tag *tag = &m->tags[i];
        size_t kn = strnlen(tag->key, CR_MAX_TAG_BYTES + 1), j = 0;

        if (kn == 0 || kn > CR_MAX_TAG_BYTES ||
            strnlen(tag->value, CR_MAX_TAG_BYTES + 1) > CR_MAX_TAG_BYTES)
            return CR_EINVAL;
        while (j < n && strcmp(next[j].key, tag->key))
            j++;
        next[j] = *tag;
        n += j == n;
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = 0;

        while (i < m->n_untag && strcmp(m->untag[i], next[j].key))
            i++;
        if (i == m->n_untag)
            next[kept++] = next[j];
    }
    if (kept > CR_MAX_TAGS)
        return CR_ETOOMANY;
    qsort(next, kept, sizeof *next, tag_cmp);
    *out = next;
    *n_out = kept;
    return 0;
}

int catalog_alter(struct storage_txn *t, const struct table_def *def, const struct mutation *m,
                  struct cr_arena *a, struct table_def *out, struct index_def *dropped,
                  struct index_def *added)
{
    struct index_def *cur, *next;
    struct table_tag *tags, *next_tags;
    size_t n, n_tags, n_next_tags, kept = 0;
    uint32_t id = 0;
    int rc = read_record(t, def, a, &cur, &n, &tags, &n_tags);

    if (rc)
        return rc;
    *out = *def;
    rc = alter_ttl(m, out);
    if (rc == 0)
        rc = alter_tags(m, tags, n_tags, a, &next_tags, &n_next_tags);
    if (rc)
        return rc;
    next = cr_arena_alloc(a, (n + m->n_indexes + 1) * sizeof *next);
    if (!next)
        return CR_ENOMEM;
    for (size_t i = 0; i < m->n_drop; i++) {
        size_t j = 0;

        while (j < n && (!cur[j].key.id || strcmp(cur[j].key.name, m->drop[i])))
            j++;
        if (j == n || cur[j].kind != INDEX_GSI)
            return CR_ESCHEMA; /* unknown (or dropped twice), or an LSI: fixed at creation */
        dropped[i] = cur[j];
        cur[j].key.id = 0;
    }
    for (size_t j = 0; j < n; j++)
        if (cur[j].key.id)
            next[kept++] = cur[j];
    for (size_t i = 0; i < m->n_indexes; i++) {
        if (m->indexes[i].kind != INDEX_GSI)
            return CR_ESCHEMA; /* LSIs are created with their table */
        next[kept + i] = m->indexes[i];
    }
    rc = check_indexes(def, next, kept + m->n_indexes);
    if (rc == 0 && m->n_indexes)
        rc = take_ids(t, (uint32_t)m->n_indexes, &id);
    if (rc)
        return rc;
    for (size_t i = 0; i < m->n_indexes; i++) {
        next[kept + i].key.id = id + (uint32_t)i;
        added[i] = next[kept + i];
    }
    out->n_indexes = (uint32_t)(kept + m->n_indexes);
    return write_def(t, out, next, kept + m->n_indexes, next_tags, n_next_tags);
}

int catalog_drop(struct storage_txn *t, const struct table_def *def)
{
    int rc = env_del(t, ENV_CATALOG, def->name, strlen(def->name));

    if (rc)
        return rc;
    return catalog_stats_drop(t, def->id);
}

int catalog_stats_drop(struct storage_txn *t, uint32_t id)
{
    uint8_t key[STATS_KEY_LEN];
    int rc;

    stats_key(id, key);
    rc = env_del(t, ENV_META, key, sizeof key);
    return rc == CR_ENOTFOUND ? 0 : rc;
}
