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
 *   "next_id"            u32be next object id, shared by tables, indexes, collections, graphs
 *                        and their indexes (ids start at 1 and are never reused)
 *   "stats" | u32be id   u64be item_count | u64be size_bytes of that table or index, or of a
 *                        collection (documents, row bytes) or its index (entries, entry bytes)
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

enum env_db { ENV_CATALOG, ENV_DATA, ENV_CHANGES, ENV_META, ENV_INDEX, ENV_ADJ, ENV_NDB };

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

/*
 * A walk over the keys [lo, hi) of one database (kv.c): forward from lo, or backward from hi (or
 * the end when !has_hi) down to lo; a continuation `after` (a page's last key; p == NULL from
 * the start) resumes strictly after it. visit() says whether each key visited is kept on the
 * page; a page ends after `limit` kept keys (0: no limit) or CR_MAX_PAGE_BYTES of their values,
 * and then *next is CR_CURSOR_VERSION | the last kept key (arena-allocated; NULL when the walk
 * ended). Table rows, index entries and documents are all read through it.
 */
#define CR_CURSOR_VERSION 1 /* first byte of every continuation cursor storage hands out */

struct kv_walk {
    enum env_db db;
    struct cr_buf lo, hi;
    bool has_hi, reverse;
    uint32_t limit;
    struct env_val after;
    int (*visit)(void *ctx, struct env_val key, struct env_val val, struct cr_arena *a, bool *kept);
    void *ctx;
};

/* memcmp order of two byte strings, the shorter first on a tie: LMDB's key order. */
int kv_key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* Turns b into the least key greater than every key that starts with b; false when there is
 * none (b was all 0xFF). */
bool kv_prefix_successor(struct cr_buf *b);

void kv_walk_init(struct kv_walk *w);
void kv_walk_free(struct kv_walk *w);
/* Walks w; *scanned is increased by the keys visited, kept or not. */
int kv_walk_run(struct storage_txn *t, const struct kv_walk *w, struct cr_arena *a,
                uint64_t *scanned, uint8_t **next, size_t *next_len);

/* A walk over keys that all start with base (a collection's or a graph's prefix, and more); a
 * cursor that resumes it must start with base too. */
struct kv_range {
    struct cr_buf base;
    struct kv_walk w;
};

void kv_range_init(struct kv_range *r);
void kv_range_free(struct kv_range *r);
/* Sets the walk to every key that starts with base. CR_ENOMEM. */
int kv_range_prefix(struct kv_range *r);
/* Resumes r after cur (CR_CURSOR_VERSION | a key starting with base, as kv_walk_run hands out);
 * NULL or empty: from the start. CR_ECURSOR otherwise. */
int kv_range_cursor(struct kv_range *r, const uint8_t *cur, size_t n);

/* ---- catalog.c and doc.c: collections and documents, written by apply.c only ---- */

/* Checks def (catalog_coll_check), takes its ids (the collection's, its path index's, one per
 * composite index) and writes its record with its creation index and time. *out is the stored
 * definition; its policy arrays are allocated from a. CR_ENAME, CR_EINVAL, CR_ETOOMANY,
 * CR_EEXISTS. */
int catalog_coll_create(struct storage_txn *t, const struct coll_def *def, uint64_t index,
                        int64_t time_ms, struct cr_arena *a, struct coll_def *out);
/* Removes the record and the stats of c, of its path index and of its composite indexes (not
 * the documents nor the entries: doc_drop_data). */
int catalog_coll_drop(struct storage_txn *t, const struct coll_def *c);
/* Counts the collection records (CR_MAX_COLLECTIONS bounds the walk). */
int catalog_coll_count(struct storage_txn *t, uint64_t *n);

/* An index pattern's text: a path ("[]" allowed) ending in "/?" (TAIL_SCALAR) or "/\*"
 * (TAIL_ALL); "/\*" alone is the empty path with TAIL_ALL. CR_EINVAL when malformed. */
enum pattern_tail { TAIL_SCALAR, TAIL_ALL };
int doc_pattern_parse(const char *text, size_t len, struct cr_arena *a, struct doc_path *out,
                      enum pattern_tail *tail);

/* One document mutation of entry b (MUT_DOC_*), checked completely before its first write, so
 * that a mutation error leaves nothing behind; scratch is reset by the caller. */
int doc_apply(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
              struct cr_arena *scratch, struct cr_arena *a, struct mutation_result *res);
/* Deletes every document and index entry of c. */
int doc_drop_data(struct storage_txn *t, const struct coll_def *c);

/* ---- catalog.c and graph.c: graphs, written by apply.c only ---- */

/* Checks the name, takes the graph's ids (its own, its property index's, its label index's) and
 * writes its record. CR_ENAME, CR_EEXISTS, CR_ETOOMANY. */
int catalog_graph_create(struct storage_txn *t, const char *name, uint64_t index, int64_t time_ms,
                         struct graph_def *out);
/* Removes the record of g (not its elements: graph_drop_data). */
int catalog_graph_drop(struct storage_txn *t, const struct graph_def *g);
/* One element mutation of entry b (MUT_GRAPH_*); scratch is reset by the caller. It may fail
 * with a mutation error after writing: apply runs it in a nested transaction. */
int graph_apply(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                struct cr_arena *scratch, struct cr_arena *a, struct mutation_result *res);
/* Deletes every vertex, edge, adjacency and index entry of g. */
int graph_drop_data(struct storage_txn *t, const struct graph_def *g);

/* Writes the change record of mutation `ordinal` of entry `index` (changes.c has the format). */
int changes_write(struct storage_txn *t, uint64_t index, uint16_t ordinal, enum mut_type type,
                  uint32_t table_id, const struct value *key, const struct cr_buf *item);

#endif
