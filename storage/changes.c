/*
 * The change feed: one record per applied mutation, keyed by its log index and its position in
 * the entry, written by apply.c in the same transaction as the change itself. Reads decode
 * records into the caller's arena. This file does not decide what is recorded (apply.c does).
 *
 * Key (the `changes` database): u64be log index | u16be mutation ordinal.
 * Record:
 *
 *   bytes    field
 *   1        format version, CHANGE_VERSION
 *   1        mutation type (enum mut_type)
 *   4        u32be table id
 *   varint   length of the key encoding; 0 when there is none (table mutations)
 *   ...      value_encode of the MAP of key attributes
 *   rest     value_encode of the new item (MUT_PUT); empty otherwise
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"

#include <string.h>

#define CHANGE_VERSION 1
#define CHANGE_KEY_LEN 10

int changes_write(struct storage_txn *t, uint64_t index, uint16_t ordinal, enum mut_type type,
                  uint32_t table_id, const struct value *key, const struct cr_buf *item)
{
    uint8_t k[CHANGE_KEY_LEN];
    struct cr_buf rec, kenc;
    int rc;

    cr_buf_init(&rec);
    cr_buf_init(&kenc);
    rc = key ? value_encode(key, &kenc) : 0;
    if (rc == 0)
        rc = cr_buf_putc(&rec, CHANGE_VERSION);
    if (rc == 0)
        rc = cr_buf_putc(&rec, (uint8_t)type);
    if (rc == 0)
        rc = cr_buf_put_u32be(&rec, table_id);
    if (rc == 0)
        rc = cr_buf_put_varint(&rec, kenc.len);
    if (rc == 0 && kenc.len)
        rc = cr_buf_append(&rec, kenc.data, kenc.len);
    if (rc == 0 && item && item->len)
        rc = cr_buf_append(&rec, item->data, item->len);
    if (rc == 0) {
        cr_put_u64be(k, index);
        k[8] = (uint8_t)(ordinal >> 8);
        k[9] = (uint8_t)ordinal;
        rc = env_put(t, ENV_CHANGES, k, sizeof k, rec.data, rec.len);
    }
    cr_buf_free(&kenc);
    cr_buf_free(&rec);
    return rc;
}

/* Copies the record into the arena (so the change outlives the txn) and decodes it. */
static int decode_change(struct env_val k, struct env_val v, struct cr_arena *a, struct change *c)
{
    const uint8_t *p, *end;
    uint64_t klen;
    uint8_t *copy;
    int rc;

    if (k.n != CHANGE_KEY_LEN || v.n < 7 || v.p[0] != CHANGE_VERSION ||
        (v.p[1] > MUT_DELETE && v.p[1] != MUT_UPDATE_TABLE))
        return CR_CORRUPT();
    copy = cr_arena_alloc(a, v.n);
    if (!copy)
        return CR_ENOMEM;
    memcpy(copy, v.p, v.n);
    memset(c, 0, sizeof *c);
    c->index = cr_get_u64be(k.p);
    c->ordinal = cr_get_u16be(k.p + 8);
    c->type = copy[1];
    c->table_id = cr_get_u32be(copy + 2);
    c->key = value_null();
    c->item = value_null();
    p = copy + 6;
    end = copy + v.n;
    if (cr_get_varint(&p, end, &klen) || klen > (uint64_t)(end - p))
        return CR_CORRUPT();
    if (klen) {
        rc = value_decode(p, klen, a, &c->key);
        if (rc)
            return rc;
        p += klen;
    }
    if (p < end)
        return value_decode(p, (size_t)(end - p), a, &c->item);
    return 0;
}

int changes_read(struct storage_txn *t, uint64_t from_index, struct change *out, size_t limit,
                 size_t *n, struct cr_arena *a)
{
    uint8_t start[CHANGE_KEY_LEN] = {0};
    struct env_cursor *c;
    struct env_val k = {start, sizeof start}, v;
    size_t filled = 0;
    int rc;

    *n = 0;
    if (limit == 0)
        return 0;
    rc = env_cursor_open(t, ENV_CHANGES, &c);
    if (rc)
        return rc;
    cr_put_u64be(start, from_index);
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && filled < limit;
         rc = env_cursor_get(c, ENV_NEXT, &k, &v)) {
        rc = decode_change(k, v, a, &out[filled]);
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
