/*
 * The catalog: table definitions by name, table ids, per-table stats.
 *
 * Only apply.c (through catalog_create, catalog_drop, catalog_stats_add) changes the catalog; the
 * rest is read-only. This file does not touch rows (kv.c) and does not decide when stats change
 * (apply.c does, in the same transaction as the rows).
 *
 * Catalog record (the `catalog` database, key = the table name's bytes):
 *
 *   bytes    field
 *   1        format version, DEF_VERSION
 *   4        u32be table id
 *   1        pk type (enum key_type)
 *   1        sk type (enum key_type), or NO_SK when the table has no sort key
 *   varint   created_index
 *   varint   created_ms, zigzag-encoded
 *   varint   pk name length, then the name
 *   varint   sk name length, then the name (only with a sort key)
 *
 * Stats (`meta`, key "stats" | u32be id): u64be item_count | u64be size_bytes; absent is zero.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"

#include <string.h>

#define DEF_VERSION 1
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

static int encode_def(const struct table_def *def, struct cr_buf *out)
{
    size_t pk_len = strlen(def->pk_name);
    size_t sk_len = def->has_sk ? strlen(def->sk_name) : 0;
    int rc = cr_buf_putc(out, DEF_VERSION);

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
        rc = cr_buf_put_varint(out, pk_len);
    if (rc == 0)
        rc = cr_buf_append(out, def->pk_name, pk_len);
    if (rc == 0 && def->has_sk) {
        rc = cr_buf_put_varint(out, sk_len);
        if (rc == 0)
            rc = cr_buf_append(out, def->sk_name, sk_len);
    }
    return rc;
}

static int decode_name(const uint8_t **p, const uint8_t *end, char *out)
{
    uint64_t len;

    if (cr_get_varint(p, end, &len) || len == 0 || len > CR_MAX_NAME_LEN ||
        len > (uint64_t)(end - *p))
        return CR_CORRUPT();
    memcpy(out, *p, len);
    out[len] = 0;
    *p += len;
    return 0;
}

static int decode_def(const uint8_t *name, size_t name_len, struct env_val v, struct table_def *out)
{
    const uint8_t *p = v.p, *end = v.p + v.n;
    uint64_t ms;

    memset(out, 0, sizeof *out);
    if (name_len > CR_MAX_NAME_LEN || v.n < 7 || p[0] != DEF_VERSION)
        return CR_CORRUPT();
    memcpy(out->name, name, name_len);
    out->id = cr_get_u32be(p + 1);
    out->pk_type = p[5];
    out->has_sk = p[6] != NO_SK;
    out->sk_type = out->has_sk ? p[6] : KEY_S;
    if (!key_type_valid(out->pk_type) || !key_type_valid(out->sk_type))
        return CR_CORRUPT();
    p += 7;
    if (cr_get_varint(&p, end, &out->created_index) || cr_get_varint(&p, end, &ms))
        return CR_CORRUPT();
    out->created_ms = unzigzag(ms);
    if (decode_name(&p, end, out->pk_name))
        return CR_ECORRUPT;
    if (out->has_sk && decode_name(&p, end, out->sk_name))
        return CR_ECORRUPT;
    if (p != end)
        return CR_CORRUPT();
    return 0;
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

int catalog_create(struct storage_txn *t, const struct table_def *def, uint64_t index,
                   int64_t time_ms, struct table_def *out)
{
    struct table_def d;
    struct cr_buf rec;
    uint64_t count;
    uint32_t id = 0;
    uint8_t next[4];
    int rc = check_def(def);

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
    rc = next_id(t, &id);
    if (rc)
        return rc;
    if (id == UINT32_MAX)
        return CR_ETOOMANY;

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

    cr_buf_init(&rec);
    rc = encode_def(&d, &rec);
    if (rc == 0)
        rc = env_put(t, ENV_CATALOG, d.name, strlen(d.name), rec.data, rec.len);
    cr_buf_free(&rec);
    if (rc)
        return rc;
    cr_put_u32be(next, id + 1);
    rc = env_put(t, ENV_META, next_id_key, sizeof next_id_key - 1, next, sizeof next);
    if (rc)
        return rc;
    *out = d;
    return 0;
}

int catalog_drop(struct storage_txn *t, const struct table_def *def)
{
    uint8_t key[STATS_KEY_LEN];
    int rc = env_del(t, ENV_CATALOG, def->name, strlen(def->name));

    if (rc)
        return rc;
    stats_key(def->id, key);
    rc = env_del(t, ENV_META, key, sizeof key);
    return rc == CR_ENOTFOUND ? 0 : rc;
}
