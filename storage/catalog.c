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
 *
 * Collections and graphs share the database under keys that no table name can take: their
 * records are described at "collections" and "graphs" below.
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
#define COLL_KEY 0xFF  /* first byte of a collection's record key (see "collections" below) */
#define GRAPH_KEY 0x00 /* after COLL_KEY: a graph's record key (see "graphs" below) */
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

    if (name_len == 0 || name_len > CR_MAX_NAME_LEN || (uint8_t)name[0] == COLL_KEY)
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
        if (k.n && k.p[0] == COLL_KEY) {
            rc = CR_ENOTFOUND; /* the collections follow every table */
            break;
        }
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
    *more = rc == 0 && !(k.n && k.p[0] == COLL_KEY);
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
    uint64_t count, colls;
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
    if (rc == 0)
        rc = catalog_coll_count(t, &colls);
    if (rc)
        return rc;
    if (count - colls >= CR_MAX_TABLES)
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

/* ---- collections ----------------------------------------------------------------------------
 *
 * Record (the `catalog` database), key COLL_KEY | db | 0x00 | name. COLL_KEY (0xFF) never
 * starts a table name (catalog_check_name) and never appears in UTF-8, so the collections sort
 * after every table, grouped by database, and catalog_list stops at the first of them.
 *
 *   bytes    field
 *   1        COLL_VERSION
 *   4        u32be collection id (its path index is id + 1)
 *   varint   created_index
 *   varint   created_ms, zigzag; varint updated_ms, zigzag
 *   varint   partition key path length (0: none), then the path
 *   1        flags: 1 = automatic indexing
 *   varint   number of include patterns, then each as varint length and bytes
 *   varint   number of exclude patterns, likewise
 *   varint   number of composite indexes, then each: u32be id, varint number of paths, then
 *            each path as varint length and bytes and 1 byte: 1 DESC, 0 ASC
 */

/* High bit set: catalog code from before collections reads the record as a table of an unknown
 * version and reports it as corrupt, never misreads it. */
#define COLL_VERSION 0x81
#define COLL_KEY_MAX (1 + 2 * CR_MAX_NAME_LEN + 1)

static int check_coll_name(const char *name)
{
    size_t len = strnlen(name, CR_MAX_NAME_LEN + 1);

    if (len == 0 || len > CR_MAX_NAME_LEN || strpbrk(name, "/\\?#"))
        return CR_ENAME;
    return 0;
}

static size_t coll_key(const char *db, const char *name, uint8_t *out)
{
    size_t dn = strlen(db), nn = name ? strlen(name) : 0;

    out[0] = COLL_KEY;
    memcpy(out + 1, db, dn);
    out[1 + dn] = 0;
    if (nn)
        memcpy(out + 2 + dn, name, nn);
    return 2 + dn + nn;
}

static int check_pattern(const char *p, struct cr_arena *a, bool *root)
{
    size_t len = strnlen(p, CR_MAX_PATH_TEXT + 1);
    struct doc_path path;
    enum pattern_tail tail;
    int rc;

    if (len > CR_MAX_PATH_TEXT)
        return CR_EINVAL;
    rc = doc_pattern_parse(p, len, a, &path, &tail);
    if (rc == 0 && path.n == 0 && tail == TAIL_ALL)
        *root = true;
    return rc;
}

static int check_plain_path(const char *p, struct cr_arena *a, struct doc_path *path)
{
    size_t len = strnlen(p, CR_MAX_PATH_TEXT + 1);
    int rc;

    if (len > CR_MAX_PATH_TEXT)
        return CR_EINVAL;
    rc = doc_path_parse(p, len, a, path);
    if (rc == 0 && path->n == 0)
        return CR_EINVAL;
    for (size_t i = 0; rc == 0 && i < path->n; i++)
        if (path->segs[i].kind != SEG_FIELD)
            return CR_EINVAL;
    return rc;
}

static int check_policy(const struct indexing_policy *p, struct cr_arena *a)
{
    bool root = false;
    int rc = 0;

    if (p->n_include + p->n_exclude > CR_MAX_POLICY_PATHS || p->n_composite > CR_MAX_COMPOSITE)
        return CR_ETOOMANY;
    for (size_t i = 0; rc == 0 && i < p->n_include; i++)
        rc = check_pattern(p->include[i], a, &root);
    for (size_t i = 0; rc == 0 && i < p->n_exclude; i++)
        rc = check_pattern(p->exclude[i], a, &root);
    if (rc == 0 && p->n_include + p->n_exclude && !root)
        rc = CR_EINVAL;
    for (size_t i = 0; rc == 0 && i < p->n_composite; i++) {
        const struct composite_def *x = &p->composite[i];
        struct doc_path path;

        if (x->n < 2)
            return CR_EINVAL;
        if (x->n > CR_MAX_COMPOSITE_PATHS)
            return CR_ETOOMANY;
        for (size_t j = 0; rc == 0 && j < x->n; j++)
            rc = check_plain_path(x->paths[j].path, a, &path);
    }
    return rc;
}

int catalog_coll_check(const struct coll_def *def)
{
    struct cr_arena a;
    struct doc_path path;
    int rc = check_coll_name(def->db);

    if (rc == 0)
        rc = check_coll_name(def->name);
    if (rc)
        return rc;
    if (strnlen(def->pk_path, sizeof def->pk_path) == sizeof def->pk_path)
        return CR_EINVAL;
    cr_arena_init(&a, 1024);
    if (def->pk_path[0])
        rc = check_plain_path(def->pk_path, &a, &path);
    if (rc == 0)
        rc = check_policy(&def->policy, &a);
    cr_arena_free(&a);
    return rc;
}

static int encode_coll(const struct coll_def *c, struct cr_buf *out)
{
    const struct indexing_policy *p = &c->policy;
    int rc = cr_buf_putc(out, COLL_VERSION);

    if (rc == 0)
        rc = cr_buf_put_u32be(out, c->id);
    if (rc == 0)
        rc = cr_buf_put_varint(out, c->created_index);
    if (rc == 0)
        rc = cr_buf_put_varint(out, zigzag(c->created_ms));
    if (rc == 0)
        rc = cr_buf_put_varint(out, zigzag(c->updated_ms));
    if (rc == 0)
        rc = put_name(out, c->pk_path);
    if (rc == 0)
        rc = cr_buf_putc(out, p->automatic ? 1 : 0);
    if (rc == 0)
        rc = cr_buf_put_varint(out, p->n_include);
    for (size_t i = 0; rc == 0 && i < p->n_include; i++)
        rc = put_name(out, p->include[i]);
    if (rc == 0)
        rc = cr_buf_put_varint(out, p->n_exclude);
    for (size_t i = 0; rc == 0 && i < p->n_exclude; i++)
        rc = put_name(out, p->exclude[i]);
    if (rc == 0)
        rc = cr_buf_put_varint(out, p->n_composite);
    for (size_t i = 0; rc == 0 && i < p->n_composite; i++) {
        const struct composite_def *x = &p->composite[i];

        rc = cr_buf_put_u32be(out, x->id);
        if (rc == 0)
            rc = cr_buf_put_varint(out, x->n);
        for (size_t j = 0; rc == 0 && j < x->n; j++) {
            rc = put_name(out, x->paths[j].path);
            if (rc == 0)
                rc = cr_buf_putc(out, x->paths[j].desc ? 1 : 0);
        }
    }
    return rc;
}

/* A length-prefixed string of 1..max bytes (0..max when empty_ok) copied into the arena. */
static int decode_text(const uint8_t **p, const uint8_t *end, bool empty_ok, size_t max,
                       struct cr_arena *a, const char **out)
{
    const uint8_t *s = NULL;
    size_t len = 0;

    if (get_str(p, end, empty_ok ? 0 : 1, max, &s, &len))
        return CR_ECORRUPT;
    *out = cr_arena_strndup(a, (const char *)s, len);
    return *out ? 0 : CR_ENOMEM;
}

static int decode_patterns(const uint8_t **p, const uint8_t *end, struct cr_arena *a,
                           const char *const **out, size_t *n)
{
    const char **list = NULL;
    uint64_t count;

    if (cr_get_varint(p, end, &count) || count > CR_MAX_POLICY_PATHS)
        return CR_CORRUPT();
    if (count && !(list = cr_arena_alloc(a, count * sizeof *list)))
        return CR_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        int rc = decode_text(p, end, false, CR_MAX_PATH_TEXT, a, &list[i]);

        if (rc)
            return rc;
    }
    *out = list;
    *n = (size_t)count;
    return 0;
}

static int decode_composites(const uint8_t **p, const uint8_t *end, struct cr_arena *a,
                             struct indexing_policy *out)
{
    struct composite_def *list = NULL;
    uint64_t count, n;
    int rc;

    if (cr_get_varint(p, end, &count) || count > CR_MAX_COMPOSITE)
        return CR_CORRUPT();
    if (count && !(list = cr_arena_alloc(a, count * sizeof *list)))
        return CR_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct composite_path *paths;

        if (end - *p < 4)
            return CR_CORRUPT();
        list[i].id = cr_get_u32be(*p);
        *p += 4;
        if (cr_get_varint(p, end, &n) || n < 2 || n > CR_MAX_COMPOSITE_PATHS)
            return CR_CORRUPT();
        paths = cr_arena_alloc(a, n * sizeof *paths);
        if (!paths)
            return CR_ENOMEM;
        for (size_t j = 0; j < n; j++) {
            rc = decode_text(p, end, false, CR_MAX_PATH_TEXT, a, &paths[j].path);
            if (rc)
                return rc;
            if (*p == end || **p > 1)
                return CR_CORRUPT();
            paths[j].desc = *(*p)++ == 1;
        }
        list[i].paths = paths;
        list[i].n = (size_t)n;
    }
    out->composite = list;
    out->n_composite = (size_t)count;
    return 0;
}

/* A record at key k (COLL_KEY | db | 0 | name) into *out, its policy in the arena. */
static int decode_coll(struct env_val k, struct env_val v, struct cr_arena *a, struct coll_def *out)
{
    const uint8_t *p = v.p, *end = v.p + v.n, *sep;
    const char *pk = NULL;
    uint64_t cms, ums;
    size_t dn, nn;
    int rc;

    memset(out, 0, sizeof *out);
    sep = k.n > 1 ? memchr(k.p + 1, 0, k.n - 1) : NULL;
    if (!sep || k.p[0] != COLL_KEY)
        return CR_CORRUPT();
    dn = (size_t)(sep - k.p - 1);
    nn = k.n - dn - 2;
    if (dn == 0 || nn == 0 || dn > CR_MAX_NAME_LEN || nn > CR_MAX_NAME_LEN || v.n < 5 ||
        p[0] != COLL_VERSION)
        return CR_CORRUPT();
    memcpy(out->db, k.p + 1, dn);
    memcpy(out->name, sep + 1, nn);
    out->id = cr_get_u32be(p + 1);
    p += 5;
    if (cr_get_varint(&p, end, &out->created_index) || cr_get_varint(&p, end, &cms) ||
        cr_get_varint(&p, end, &ums))
        return CR_CORRUPT();
    out->created_ms = unzigzag(cms);
    out->updated_ms = unzigzag(ums);
    rc = decode_text(&p, end, true, CR_MAX_PATH_TEXT, a, &pk);
    if (rc)
        return rc;
    memcpy(out->pk_path, pk, strlen(pk) + 1);
    if (p == end || *p > 1)
        return CR_CORRUPT();
    out->policy.automatic = *p++ == 1;
    rc = decode_patterns(&p, end, a, &out->policy.include, &out->policy.n_include);
    if (rc == 0)
        rc = decode_patterns(&p, end, a, &out->policy.exclude, &out->policy.n_exclude);
    if (rc == 0)
        rc = decode_composites(&p, end, a, &out->policy);
    if (rc == 0 && p != end)
        rc = CR_CORRUPT();
    return rc;
}

int catalog_coll_get(struct storage_txn *t, const char *db, const char *name, struct cr_arena *a,
                     struct coll_def *out)
{
    uint8_t key[COLL_KEY_MAX];
    struct env_val k, v;
    int rc;

    if (check_coll_name(db) || check_coll_name(name))
        return CR_ENOCOLL;
    k = (struct env_val){key, coll_key(db, name, key)};
    rc = env_get(t, ENV_CATALOG, k.p, k.n, &v);
    if (rc == CR_ENOTFOUND)
        return CR_ENOCOLL;
    return rc ? rc : decode_coll(k, v, a, out);
}

int catalog_coll_list(struct storage_txn *t, const char *db, const char *after, struct cr_arena *a,
                      struct coll_def *out, size_t limit, size_t *n, bool *more)
{
    uint8_t key[COLL_KEY_MAX];
    size_t prefix_len, filled = 0;
    struct env_cursor *c;
    struct env_val k, v;
    int rc;

    *n = 0;
    *more = false;
    if (check_coll_name(db) || (after && check_coll_name(after)))
        return CR_EINVAL;
    prefix_len = coll_key(db, NULL, key);
    k = (struct env_val){key, after ? coll_key(db, after, key) : prefix_len};
    rc = env_cursor_open(t, ENV_CATALOG, &c);
    if (rc)
        return rc;
    rc = env_cursor_get(c, ENV_SEEK, &k, &v);
    if (rc == 0 && after && k.n == prefix_len + strlen(after) &&
        memcmp(k.p + prefix_len, after, strlen(after)) == 0)
        rc = env_cursor_get(c, ENV_NEXT, &k, &v);
    for (; rc == 0; rc = env_cursor_get(c, ENV_NEXT, &k, &v)) {
        if (k.n <= prefix_len || memcmp(k.p, key, prefix_len) != 0)
            break;
        if (filled == limit) {
            *more = true;
            break;
        }
        rc = decode_coll(k, v, a, &out[filled]);
        if (rc)
            break;
        filled++;
    }
    env_cursor_close(c);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    *n = filled;
    return 0;
}

int catalog_coll_stats(struct storage_txn *t, uint32_t id, struct table_stats *out)
{
    return read_stats(t, id, out);
}

int catalog_coll_count(struct storage_txn *t, uint64_t *n)
{
    uint8_t start = COLL_KEY;
    struct env_cursor *c;
    struct env_val k = {&start, 1}, v;
    int rc = env_cursor_open(t, ENV_CATALOG, &c);

    *n = 0;
    if (rc)
        return rc;
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && k.n && k.p[0] == COLL_KEY;
         rc = env_cursor_get(c, ENV_NEXT, &k, &v))
        if (k.n > 1 && k.p[1] != GRAPH_KEY)
            ++*n;
    env_cursor_close(c);
    return rc == CR_ENOTFOUND ? 0 : rc;
}

int catalog_coll_create(struct storage_txn *t, const struct coll_def *def, uint64_t index,
                        int64_t time_ms, struct cr_arena *a, struct coll_def *out)
{
    uint8_t key[COLL_KEY_MAX];
    struct composite_def *comp = NULL;
    struct cr_buf rec;
    struct env_val v;
    uint64_t count;
    uint32_t id = 0;
    size_t kn, nc = def->policy.n_composite;
    int rc = catalog_coll_check(def);

    if (rc)
        return rc;
    kn = coll_key(def->db, def->name, key);
    rc = env_get(t, ENV_CATALOG, key, kn, &v);
    if (rc == 0)
        return CR_EEXISTS;
    if (rc != CR_ENOTFOUND)
        return rc;
    rc = catalog_coll_count(t, &count);
    if (rc == 0 && count >= CR_MAX_COLLECTIONS)
        rc = CR_ETOOMANY;
    if (rc == 0)
        rc = take_ids(t, 2 + (uint32_t)nc, &id);
    if (rc)
        return rc;
    if (nc && !(comp = cr_arena_alloc(a, nc * sizeof *comp)))
        return CR_ENOMEM;
    *out = *def;
    out->id = id;
    out->created_index = index;
    out->created_ms = out->updated_ms = time_ms;
    for (size_t i = 0; i < nc; i++) {
        comp[i] = def->policy.composite[i];
        comp[i].id = id + 2 + (uint32_t)i;
    }
    out->policy.composite = comp;
    cr_buf_init(&rec);
    rc = encode_coll(out, &rec);
    if (rc == 0)
        rc = env_put(t, ENV_CATALOG, key, kn, rec.data, rec.len);
    cr_buf_free(&rec);
    return rc;
}

int catalog_coll_drop(struct storage_txn *t, const struct coll_def *c)
{
    uint8_t key[COLL_KEY_MAX];
    int rc = env_del(t, ENV_CATALOG, key, coll_key(c->db, c->name, key));

    if (rc == 0)
        rc = catalog_stats_drop(t, c->id);
    if (rc == 0)
        rc = catalog_stats_drop(t, c->id + 1);
    for (size_t i = 0; rc == 0 && i < c->policy.n_composite; i++)
        rc = catalog_stats_drop(t, c->policy.composite[i].id);
    return rc;
}

/* ---- graphs ---------------------------------------------------------------------------------
 *
 * Record (the `catalog` database), key COLL_KEY | GRAPH_KEY | name. No collection key has a 0x00
 * second byte (a database name is never empty), so graphs sort after the tables and before the
 * collections, and catalog_list stops at them as it does at collections.
 *
 *   bytes    field
 *   1        GRAPH_VERSION
 *   4        u32be graph id (id + 1: its property index; id + 2: its label index)
 *   varint   created_index
 *   varint   created_ms, zigzag
 */

/* High bit set, as COLL_VERSION: older binaries report the record corrupt, never misread it. */
#define GRAPH_VERSION 0x82
#define GRAPH_KEY_MAX (2 + CR_MAX_NAME_LEN)
#define GRAPH_IDS 3

int catalog_graph_check_name(const char *name)
{
    return check_coll_name(name);
}

static size_t graph_key(const char *name, uint8_t *out)
{
    size_t n = name ? strlen(name) : 0;

    out[0] = COLL_KEY;
    out[1] = GRAPH_KEY;
    if (n)
        memcpy(out + 2, name, n);
    return 2 + n;
}

static int decode_graph(struct env_val k, struct env_val v, struct graph_def *out)
{
    const uint8_t *p = v.p + 5, *end = v.p + v.n;
    uint64_t ms;

    memset(out, 0, sizeof *out);
    if (k.n < 3 || k.n > GRAPH_KEY_MAX || k.p[0] != COLL_KEY || k.p[1] != GRAPH_KEY || v.n < 5 ||
        v.p[0] != GRAPH_VERSION)
        return CR_CORRUPT();
    memcpy(out->name, k.p + 2, k.n - 2);
    out->id = cr_get_u32be(v.p + 1);
    if (cr_get_varint(&p, end, &out->created_index) || cr_get_varint(&p, end, &ms) || p != end)
        return CR_CORRUPT();
    out->created_ms = unzigzag(ms);
    return 0;
}

int catalog_graph_get(struct storage_txn *t, const char *name, struct graph_def *out)
{
    uint8_t key[GRAPH_KEY_MAX];
    struct env_val k, v;
    int rc;

    if (check_coll_name(name))
        return CR_ENOCOLL;
    k = (struct env_val){key, graph_key(name, key)};
    rc = env_get(t, ENV_CATALOG, k.p, k.n, &v);
    if (rc == CR_ENOTFOUND)
        return CR_ENOCOLL;
    return rc ? rc : decode_graph(k, v, out);
}

int catalog_graph_list(struct storage_txn *t, const char *after, struct graph_def *out,
                       size_t limit, size_t *n, bool *more)
{
    uint8_t key[GRAPH_KEY_MAX];
    size_t filled = 0, after_len = after ? strlen(after) : 0;
    struct env_cursor *c;
    struct env_val k, v;
    int rc;

    *n = 0;
    *more = false;
    if (after && check_coll_name(after))
        return CR_EINVAL;
    k = (struct env_val){key, graph_key(after, key)};
    rc = env_cursor_open(t, ENV_CATALOG, &c);
    if (rc)
        return rc;
    rc = env_cursor_get(c, ENV_SEEK, &k, &v);
    if (rc == 0 && after && k.n == 2 + after_len && memcmp(k.p + 2, after, after_len) == 0)
        rc = env_cursor_get(c, ENV_NEXT, &k, &v);
    for (; rc == 0; rc = env_cursor_get(c, ENV_NEXT, &k, &v)) {
        if (k.n < 3 || k.p[0] != COLL_KEY || k.p[1] != GRAPH_KEY)
            break;
        if (filled == limit) {
            *more = true;
            break;
        }
        rc = decode_graph(k, v, &out[filled]);
        if (rc)
            break;
        filled++;
    }
    env_cursor_close(c);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    *n = filled;
    return 0;
}

static int graph_count(struct storage_txn *t, uint64_t *n)
{
    uint8_t start[2] = {COLL_KEY, GRAPH_KEY};
    struct env_cursor *c;
    struct env_val k = {start, 2}, v;
    int rc = env_cursor_open(t, ENV_CATALOG, &c);

    *n = 0;
    if (rc)
        return rc;
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v);
         rc == 0 && k.n > 2 && k.p[0] == COLL_KEY && k.p[1] == GRAPH_KEY;
         rc = env_cursor_get(c, ENV_NEXT, &k, &v))
        ++*n;
    env_cursor_close(c);
    return rc == CR_ENOTFOUND ? 0 : rc;
}

int catalog_graph_create(struct storage_txn *t, const char *name, uint64_t index, int64_t time_ms,
                         struct graph_def *out)
{
    uint8_t key[GRAPH_KEY_MAX];
    struct cr_buf rec;
    struct env_val v;
    uint64_t count;
    size_t kn;
    int rc = check_coll_name(name);

    if (rc)
        return rc;
    kn = graph_key(name, key);
    rc = env_get(t, ENV_CATALOG, key, kn, &v);
    if (rc == 0)
        return CR_EEXISTS;
    if (rc != CR_ENOTFOUND)
        return rc;
    rc = graph_count(t, &count);
    if (rc == 0 && count >= CR_MAX_GRAPHS)
        rc = CR_ETOOMANY;
    memset(out, 0, sizeof *out);
    if (rc == 0)
        rc = take_ids(t, GRAPH_IDS, &out->id);
    if (rc)
        return rc;
    memcpy(out->name, name, kn - 2);
    out->created_index = index;
    out->created_ms = time_ms;
    cr_buf_init(&rec);
    rc = cr_buf_putc(&rec, GRAPH_VERSION);
    if (rc == 0)
        rc = cr_buf_put_u32be(&rec, out->id);
    if (rc == 0)
        rc = cr_buf_put_varint(&rec, index);
    if (rc == 0)
        rc = cr_buf_put_varint(&rec, zigzag(time_ms));
    if (rc == 0)
        rc = env_put(t, ENV_CATALOG, key, kn, rec.data, rec.len);
    cr_buf_free(&rec);
    return rc;
}

int catalog_graph_drop(struct storage_txn *t, const struct graph_def *g)
{
    uint8_t key[GRAPH_KEY_MAX];

    return env_del(t, ENV_CATALOG, key, graph_key(g->name, key));
}
