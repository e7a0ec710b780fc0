/*
 * Private to storage/: the thin wrapper over LMDB that lmdb_env.c implements (so no other file
 * includes lmdb.h), and the helpers the storage files share. Nothing outside storage/ includes
 * this header.
 *
 * Transactions: a struct storage_txn is either a read txn (storage_read_begin) or a write txn
 * (env_write_begin, possibly nested in a parent write txn). The same get/put/cursor calls work
 * on both; puts and deletes need a write txn. While a nested txn is open its parent must not be
 * used (LMDB's rule).
 *
 * Bytes returned by env_get and cursors are owned by LMDB: valid until the next update in the
 * same write txn, or until a read txn is reset or ended.
 *
 * Meta keys (the `meta` database):
 *   "format"             u32be on-disk format version (CR_FORMAT_VERSION)
 *   "applied"            u64be index of the last applied log entry
 *   "next_id"            u32be next object id, shared by tables and indexes (ids start at 1
 *                        and are never reused)
 *   "stats" | u32be id   u64be item_count | u64be size_bytes of that table or index
 *   "tok:" | token       u64be request hash | u64be time_ms: an idempotency token (apply.c)
 *   "tok@" | u64be time_ms | token   empty: the same tokens in the order they expire
 */
#ifndef CR_STORAGE_INT_H
#define CR_STORAGE_INT_H

#include "storage/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_FORMAT_VERSION 1u

enum env_db { ENV_CATALOG, ENV_DATA, ENV_CHANGES, ENV_META, ENV_INDEX, ENV_NDB };

struct env_val {
    const uint8_t *p;
    size_t n;
};

/* Write txns: parent NULL for the top-level txn. CR_EFULL, CR_EIO, CR_ENOMEM. */
int env_write_begin(struct storage *s, struct storage_txn *parent, struct storage_txn **out);
/* Commits and frees t, whatever the outcome. CR_EFULL, CR_EIO, CR_ENOMEM. */
int env_commit(struct storage_txn *t);
/* Discards and frees t. */
void env_abort(struct storage_txn *t);

/* CR_ENOTFOUND when the key is absent. */
int env_get(struct storage_txn *t, enum env_db db, const void *k, size_t kn, struct env_val *v);
/* Inserts or overwrites. CR_EFULL when the map is full. */
int env_put(struct storage_txn *t, enum env_db db, const void *k, size_t kn, const void *v,
            size_t vn);
/* CR_ENOTFOUND when the key is absent. */
int env_del(struct storage_txn *t, enum env_db db, const void *k, size_t kn);
/* Deletes every key that starts with prefix; *n (may be NULL) gets how many. */
int env_del_prefix(struct storage_txn *t, enum env_db db, const void *prefix, size_t pn,
                   uint64_t *n);
/* Number of entries in the database, as this txn sees it. */
int env_count(struct storage_txn *t, enum env_db db, uint64_t *n);

struct env_cursor;

enum env_op {
    ENV_FIRST,
    ENV_LAST,
    ENV_NEXT,
    ENV_PREV,
    ENV_SEEK, /* the first key >= *k (k is input and output) */
};

int env_cursor_open(struct storage_txn *t, enum env_db db, struct env_cursor **out);
void env_cursor_close(struct env_cursor *c);
/* Moves the cursor and returns the entry under it. CR_ENOTFOUND past either end. */
int env_cursor_get(struct env_cursor *c, enum env_op op, struct env_val *k, struct env_val *v);

/* ---- shared by catalog.c, kv.c, apply.c --------------------------------------------------- */

/* Looks up a table by a NUL-terminated name (as in struct table_def). CR_ENOTABLE. */
int catalog_get_cstr(struct storage_txn *t, const char *name, struct table_def *out);
/* Validates def (name, key schema) and its indexes idx[0..n_idx) (names, key schemas, limits),
 * assigns the next ids (the table's, then one per index) and writes the definition with its
 * creation index and time. out_idx[0..n_idx) get the indexes with their ids (their include
 * names still borrow from idx). CR_ENAME, CR_ESCHEMA, CR_ETABLEEXISTS, CR_ETOOMANY. */
int catalog_create(struct storage_txn *t, const struct table_def *def, const struct index_def *idx,
                   size_t n_idx, uint64_t index, int64_t time_ms, struct table_def *out,
                   struct index_def *out_idx);
/* Applies the MUT_UPDATE_TABLE m to def and rewrites the definition (not the entries:
 * index.c): drops the GSIs named m->drop, adds the GSIs m->indexes with new ids, changes the
 * TTL setting, sets then removes tags. dropped[i] and added[i] get the dropped and added index
 * definitions; *out the table as it is now (also when the TTL change is refused). Scratch from
 * a. CR_ESCHEMA (an unknown index name, an LSI, an invalid or duplicate index), CR_ENAME,
 * CR_ETOOMANY (indexes or tags), CR_EINVAL (a TTL change that does not fit the current setting,
 * see enum ttl_change; a tag key or value out of bounds). */
int catalog_alter(struct storage_txn *t, const struct table_def *def, const struct mutation *m,
                  struct cr_arena *a, struct table_def *out, struct index_def *dropped,
                  struct index_def *added);
/* Removes the definition and the stats of def (not its rows: kv_delete_rows; nor its indexes'
 * entries and stats: index_drop). */
int catalog_drop(struct storage_txn *t, const struct table_def *def);
/* Removes the stats of a table or index id. */
int catalog_stats_drop(struct storage_txn *t, uint32_t id);
/* Adds the deltas to the table's stats. */
int catalog_stats_add(struct storage_txn *t, uint32_t id, int64_t count, int64_t size);

/* Appends component(pk) [| component(sk)] to key, each cut at `prefix` (keycodec_encode_cut).
 * *truncated tells whether either was cut. pk and sk must be normalized by kv_extract_key. */
int kv_key_components(const struct table_def *def, const struct value *pk, const struct value *sk,
                      size_t prefix, struct cr_buf *key, bool *truncated);
/* Appends the row key of (pk, sk) to key: u32be id | component(pk) [| component(sk)].
 * *truncated tells whether either component was cut to prefix + hash. pk and sk must be
 * normalized by kv_extract_key. */
int kv_row_key(const struct table_def *def, const struct value *pk, const struct value *sk,
               struct cr_buf *key, bool *truncated);
/* Validates item as kv_check_item does, normalizes its key into *pk and *sk, and appends its
 * encoding (the row value) to row. */
int kv_encode_item(const struct table_def *def, const struct value *item, struct value *pk,
                   struct value *sk, struct cr_buf *row);
/* Reads the row at key. When truncated, the row's full key is compared with (pk, sk) and a row
 * of another key (a hash collision) sets *collision and returns CR_ENOTFOUND. */
int kv_row_find(struct storage_txn *t, const struct table_def *def, const struct cr_buf *key,
                bool truncated, const struct value *pk, const struct value *sk, struct env_val *row,
                bool *collision);
/* Deletes every row of the table. */
int kv_delete_rows(struct storage_txn *t, uint32_t table_id);

/* ---- index.c: index entries, written by apply.c only ---- */

/* One item's entries in the indexes of a table, computed from its old and new versions before
 * any write (the versions may borrow from pages a write moves), then written. */
struct index_plan {
    struct cr_buf bytes; /* entry keys and values; reused across mutations */
    size_t n;
    struct index_step {
        uint32_t id;
        size_t old_off, old_len; /* old_len 0: the old item had no entry */
        size_t key_off, key_len; /* key_len 0: the new item has none */
        size_t val_off, val_len;
        int64_t count, size; /* stats deltas */
    } steps[CR_MAX_INDEXES];
};

void index_plan_init(struct index_plan *p);
void index_plan_free(struct index_plan *p);
/* Plans the entries of the item whose old version is `old` and new version `item` (NULL:
 * absent) in idx[0..n), with scratch from a. CR_EKEYTOOBIG when a new entry's stored key is held
 * by another item's entry (a hash collision of long components, as kv.c's rows); CR_ENOMEM. */
int index_plan(struct storage_txn *t, const struct table_def *table, const struct index_def *idx,
               size_t n, const struct value *old, const struct value *item, struct cr_arena *a,
               struct index_plan *p);
/* Writes a plan: removes old entries, puts new ones, updates the indexes' stats. */
int index_write(struct storage_txn *t, const struct index_plan *p);
/* Fills a new index from the table's items. CR_EKEYTOOBIG as index_plan. */
int index_build(struct storage_txn *t, const struct table_def *table, const struct index_def *idx);
/* Removes every entry and the stats of an index. */
int index_drop(struct storage_txn *t, uint32_t index_id);
/* Appends the stored key of an entry: u32be index id | index key | table key, every component
 * cut at CR_INDEX_KEY_PREFIX. ipk/isk, pk/sk normalized by kv_extract_key. */
int index_entry_key(const struct table_def *table, const struct index_def *idx,
                    const struct value *ipk, const struct value *isk, const struct value *pk,
                    const struct value *sk, struct cr_buf *key, bool *truncated);

/* Writes the change record of mutation `ordinal` of entry `index` (changes.c has the format). */
int changes_write(struct storage_txn *t, uint64_t index, uint16_t ordinal, enum mut_type type,
                  uint32_t table_id, const struct value *key, const struct cr_buf *item);

#endif
