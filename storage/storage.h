/*
 * The storage engine's face: one LMDB environment per node, the catalog of tables, items by
 * primary key, range reads and scans, and apply() — the only code that writes data.
 *
 * storage knows nothing of protocols, JSON, HTTP or replication. It works on struct value
 * (value.h) and its own mutation structs below; the server decodes log entries into them.
 *
 * Threads: any number of readers (each with its own struct storage_txn), one writer (the
 * thread that calls storage_apply). Read transactions are MVCC snapshots and never block.
 *
 * Named databases in the environment:
 *   catalog   table name -> table definition
 *   data      u32be object id | keycodec(pk) [| keycodec(sk)]  ->  row (see kv.c)
 *   index     u32be index id | index key | table key  ->  projected item (see index.c)
 *   changes   u64be log index | u16be mutation ordinal -> change record (changes.c)
 *   meta      "applied" -> u64be applied log index; "next_id" -> u32be; "format" -> u32be;
 *             per-table stats (storage_int.h)
 *   adj       u32be graph id | vertex | direction | label | neighbour | edge id (graph.c)
 *
 * Collections (their definitions in `catalog`, documents in `data`, index entries in `index`)
 * are laid out in doc.c and catalog.c, graphs (vertices and edges in `data`, adjacency in `adj`,
 * property and label entries in `index`) in graph.c and catalog.c; docs/storage.md is the map.
 */
#ifndef CR_STORAGE_H
#define CR_STORAGE_H

#include "common/arena.h"
#include "common/buf.h"
#include "storage/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits, each with its named error. */
#define CR_MAX_ITEM_SIZE (400 * 1024) /* CR_EITEMTOOBIG, counted by value_ddb_size */
#define CR_MAX_PK_SIZE 2048           /* CR_EKEYTOOBIG (DynamoDB's partition key limit) */
#define CR_MAX_SK_SIZE 1024           /* CR_EKEYTOOBIG (DynamoDB's sort key limit) */
#define CR_MAX_NAME_LEN 255           /* CR_ENAME: table and key attribute names */
#define CR_MIN_TABLE_NAME_LEN 3       /* CR_ENAME, as DynamoDB */
#define CR_MAX_TABLES 2048            /* CR_ETOOMANY */
#define CR_MAX_GSI 20                 /* CR_ETOOMANY: global secondary indexes per table */
#define CR_MAX_LSI 5                  /* CR_ETOOMANY: local secondary indexes per table */
#define CR_MAX_INDEXES (CR_MAX_GSI + CR_MAX_LSI)
#define CR_MAX_PROJECTED 100        /* CR_ETOOMANY: INCLUDE attributes over a table's indexes */
#define CR_MAX_BATCH_MUTATIONS 1000 /* CR_ETOOMANY: mutations in one log entry */
#define CR_MAX_TAGS 50              /* CR_ETOOMANY: tags per table (DynamoDB's) */
#define CR_MAX_TAG_BYTES                                                                           \
    1024                                    /* CR_EINVAL: a tag key or value, in bytes (the front  \
                                               ends hold them to their service's character limits) */
#define CR_MAX_PAGE_BYTES (1024 * 1024)     /* query/scan pages stop after this much item data */
#define CR_MAX_TOKEN_LEN 64                 /* CR_EINVAL: an entry's idempotency token, in bytes */
#define CR_TOKEN_WINDOW_MS (10 * 60 * 1000) /* a token is remembered this long (DynamoDB's) */
#define CR_TOKEN_PRUNE 8                  /* expired tokens forgotten per entry that records one */
#define CR_DEFAULT_MAP_SIZE (64ULL << 30) /* LMDB map size: address space, not disk */

/* Collections and documents, each with its named error. */
#define CR_MAX_COLLECTIONS 1024           /* CR_ETOOMANY: collections over all databases */
#define CR_MAX_DOC_SIZE (2 * 1024 * 1024) /* CR_EITEMTOOBIG: a stored document's encoding */
#define CR_MAX_DOC_ID 255                 /* CR_EINVAL: id bytes (no / backslash ? #) */
#define CR_MAX_PATH_TEXT 255              /* CR_EINVAL: a path or path pattern, in bytes */
#define CR_MAX_PATH_DEPTH 32              /* CR_EINVAL: segments of a path */
#define CR_MAX_POLICY_PATHS 64            /* CR_ETOOMANY: include + exclude patterns */
#define CR_MAX_COMPOSITE 16               /* CR_ETOOMANY: composite indexes per collection */
#define CR_MAX_COMPOSITE_PATHS 8          /* CR_ETOOMANY: paths of one composite index */
#define CR_MAX_PATCH_OPS 500              /* CR_ETOOMANY: operations of one patch */
#define CR_DOC_PATH_KEY_MAX 128 /* a path whose key encoding is longer has no index entries */
#define CR_ETAG_LEN 38          /* etag bytes: a quoted 8-4-4-4-12 hex string */

struct storage;
struct storage_txn;

struct storage_options {
    size_t map_size;      /* 0: CR_DEFAULT_MAP_SIZE */
    bool no_sync;         /* --sync=none: commits are not fsync'ed (benchmarks only) */
    unsigned max_readers; /* 0: 256 */
};

/* Opens or creates the environment in dir (created if missing) and locks the directory for this
 * process. CR_ELOCKED when another process (or another open in this one) holds it; CR_EIO,
 * CR_ECORRUPT, CR_ENOMEM. On success *out must be closed with storage_close. */
int storage_open(const char *dir, const struct storage_options *opt, struct storage **out);
void storage_close(struct storage *s);

/* Read transactions. A txn may be reset (releases its snapshot, keeps its slot) and renewed
 * (new snapshot) instead of being freed: the per-connection pattern on the hot path. */
int storage_read_begin(struct storage *s, struct storage_txn **out);
void storage_read_reset(struct storage_txn *t);
int storage_read_renew(struct storage_txn *t);
void storage_read_end(struct storage_txn *t);

/* Highest applied log index as seen by this transaction (0 for a new environment). */
int storage_applied_index(struct storage_txn *t, uint64_t *out);

/*
 * Snapshots (Raft, docs/raft.md "Snapshots"). storage_snapshot_write writes a consistent,
 * compacted copy of the whole environment, as of one read transaction (its applied index
 * inside), to the file at path (created or truncated, synced). storage_snapshot_install
 * replaces every database's contents with those of such a file in one write transaction:
 * readers see the old state or the new one, and the applied index becomes the snapshot's.
 * Errors: CR_EIO, CR_EFULL, CR_ECORRUPT (not a snapshot of this format), CR_ENOMEM.
 */
int storage_snapshot_write(struct storage *s, const char *path);
int storage_snapshot_install(struct storage *s, const char *path);

/* ---- catalog ---------------------------------------------------------------------------- */

enum key_type { KEY_S, KEY_N, KEY_B };

struct table_def {
    uint32_t id; /* object id, prefix of every row; never reused */
    char name[CR_MAX_NAME_LEN + 1];
    char pk_name[CR_MAX_NAME_LEN + 1];
    enum key_type pk_type;
    bool has_sk;
    char sk_name[CR_MAX_NAME_LEN + 1];
    enum key_type sk_type;
    uint64_t created_index; /* log index of the CreateTable */
    int64_t created_ms;     /* creation time, chosen by the proposer */
    uint32_t n_indexes;     /* secondary indexes (catalog_indexes reads them) */
    /* Time to live: the attribute holding an item's expiry (a number of epoch seconds); empty
     * when TTL is disabled. storage only keeps it: the server's sweeper deletes expired items
     * through the log (server/ttl.c). */
    char ttl_attr[CR_MAX_NAME_LEN + 1];
};

/* A table's tag: key 1..CR_MAX_TAG_BYTES bytes, value 0..CR_MAX_TAG_BYTES, NUL-terminated. */
struct table_tag {
    const char *key;
    const char *value;
};

enum index_kind { INDEX_GSI, INDEX_LSI };
enum index_projection { PROJ_ALL, PROJ_KEYS_ONLY, PROJ_INCLUDE };

/*
 * A secondary index of a table. Its entries hold the projected items that have the index key
 * attributes with the right types (sparse, as DynamoDB): the table key and the index key always,
 * then all other attributes (PROJ_ALL) or only the `include` ones (PROJ_INCLUDE).
 */
struct index_def {
    /* id: the index's object id (from the table id sequence; never reused); name: the index
     * name (catalog_check_name's rules); pk_* / sk_*: the index key. An LSI has the table's
     * partition key and a sort key. created_*, n_indexes: unused. */
    struct table_def key;
    enum index_kind kind;
    enum index_projection projection;
    size_t n_include;
    const char *const *include; /* PROJ_INCLUDE: NUL-terminated names, none a key attribute */
};

struct table_stats {
    uint64_t item_count;
    uint64_t size_bytes; /* sum of value_ddb_size of the items */
};

/* CR_ENOTABLE when there is no such table. */
int catalog_get(struct storage_txn *t, const char *name, size_t name_len, struct table_def *out);
/* catalog_stats of &index->key: the index's entry count and the size of its projected items. */
int catalog_stats(struct storage_txn *t, const struct table_def *def, struct table_stats *out);
/* Up to `limit` tables in name order, strictly after `after` (NULL/empty: from the start).
 * *n is set to the count filled; *more tells whether further tables exist. CR_EINVAL when
 * `after` is longer than CR_MAX_NAME_LEN. */
int catalog_list(struct storage_txn *t, const char *after, size_t after_len, struct table_def *out,
                 size_t limit, size_t *n, bool *more);
/* Name rules: 3..255 bytes of [A-Za-z0-9_.-] (DynamoDB's). CR_ENAME otherwise. */
int catalog_check_name(const char *name, size_t len);
/* The def->n_indexes indexes of the table, in creation order, decoded into the arena (*out is
 * NULL when there are none). CR_ENOTABLE when the table is gone. */
int catalog_indexes(struct storage_txn *t, const struct table_def *def, struct cr_arena *a,
                    struct index_def **out, size_t *n);
/* The tags of the table in key order (bytewise), decoded into the arena (*out is NULL when
 * there are none). CR_ENOTABLE when the table is gone. */
int catalog_tags(struct storage_txn *t, const struct table_def *def, struct cr_arena *a,
                 struct table_tag **out, size_t *n);
/* ---- collections and documents -------------------------------------------------------------
 *
 * A collection lives in a database namespace: (db, name), each 1..CR_MAX_NAME_LEN bytes without
 * NUL, '/', '\', '?' or '#' (Cosmos DB's rule for resource ids; CR_ENAME). Its documents are
 * MAPs keyed by (partition key value, id) and its index entries are kept by apply() in the
 * same transaction as the documents (doc.c has the layouts).
 *
 * Paths. The text form is Cosmos DB's: "/a/b", "/\"odd name\"/c", "/tags/[]" (each element of
 * the array at /tags); index patterns end in "/?" (the scalar at the path) or "/\*" (the path and
 * everything under it), "/\*" alone being every path. The parsed form is a list of segments.
 */

enum doc_seg_kind {
    SEG_FIELD,    /* a map field: name, len */
    SEG_ELEMENTS, /* every element of an array ("[]"): index paths only */
    SEG_POSITION, /* one element of an array, by position: patch paths only */
};

struct doc_seg {
    enum doc_seg_kind kind;
    const char *name; /* SEG_FIELD; not NUL-terminated */
    size_t len;
    uint32_t pos; /* SEG_POSITION */
};

struct doc_path {
    const struct doc_seg *segs;
    size_t n;
};

/* Parses a path's text ("/a/b", "/tags/[]"; no pattern tail) into segments allocated from the
 * arena (names borrow from text unless quoted). CR_EINVAL when malformed, longer than
 * CR_MAX_PATH_TEXT or deeper than CR_MAX_PATH_DEPTH. */
int doc_path_parse(const char *text, size_t len, struct cr_arena *a, struct doc_path *out);

struct composite_path {
    const char *path; /* a path text without "[]" or a pattern tail, NUL-terminated */
    bool desc;
};

struct composite_def {
    uint32_t id; /* object id of its entries; set by apply */
    const struct composite_path *paths;
    size_t n; /* 2..CR_MAX_COMPOSITE_PATHS */
};

/*
 * Which values of a document have index entries. automatic: every scalar (not an array, map or
 * set) at a path the patterns select, arrays' elements under "[]"; a path is selected by the most
 * precise pattern matching it — more segments first, then "/?" before "/\*" — and an exclude wins
 * a tie. With no patterns at all, "/\*" is included; otherwise "/\*" must be one of them
 * (CR_EINVAL), as Cosmos DB requires. !automatic (Cosmos DB's "none"): no path entries.
 * Composite indexes are independent of both: one entry per document whose every path holds a
 * scalar.
 */
struct indexing_policy {
    bool automatic;
    const char *const *include; /* NUL-terminated patterns */
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    const struct composite_def *composite;
    size_t n_composite;
};

struct coll_def {
    uint32_t id; /* object id: prefix of its documents; id + 1 is its path index's */
    char db[CR_MAX_NAME_LEN + 1];
    char name[CR_MAX_NAME_LEN + 1];
    char pk_path[CR_MAX_PATH_TEXT + 1]; /* "" when documents have no partition key */
    uint64_t created_index;             /* log index of the MUT_CREATE_COLLECTION */
    int64_t created_ms, updated_ms;     /* the proposer's times */
    struct indexing_policy policy;      /* arrays and strings as catalog_coll_get says */
};

/* The collection (db, name), NUL-terminated strings, with its policy decoded into the arena.
 * CR_ENOCOLL. */
int catalog_coll_get(struct storage_txn *t, const char *db, const char *name, struct cr_arena *a,
                     struct coll_def *out);
/* Up to `limit` collections of db in name order, strictly after `after` (NULL: from the start),
 * decoded into the arena. *more tells whether further ones exist. */
int catalog_coll_list(struct storage_txn *t, const char *db, const char *after, struct cr_arena *a,
                      struct coll_def *out, size_t limit, size_t *n, bool *more);
/* Statistics by object id: of a collection (c->id: documents and row bytes), of its path index
 * (c->id + 1) or of a composite index (its id): entries and entry bytes. Zero when unknown. */
int catalog_coll_stats(struct storage_txn *t, uint32_t id, struct table_stats *out);
/* Names, patterns, paths and limits of a definition, as MUT_CREATE_COLLECTION checks them:
 * CR_ENAME, CR_EINVAL, CR_ETOOMANY. Front ends call it before proposing. */
int catalog_coll_check(const struct coll_def *def);
/* Whether the automatic index has entries for path (segments SEG_FIELD and SEG_ELEMENTS):
 * what a planner asks before choosing doc_index_scan. */
bool doc_path_indexed(const struct coll_def *c, const struct doc_path *path);

/* A policy's include and exclude patterns parsed once, for a caller that asks about many paths
 * (the query planner): doc_rules_indexed(rs, path) answers as doc_path_indexed does for a
 * collection with that policy. doc_rules_load: CR_EINVAL for a malformed pattern (one
 * catalog_coll_check refuses), CR_ENOMEM; *out is allocated from the arena. */
struct doc_rules;
int doc_rules_load(const struct indexing_policy *p, struct cr_arena *a,
                   const struct doc_rules **out);
bool doc_rules_indexed(const struct doc_rules *rs, const struct doc_path *path);

/* A document's key. A document without a value at the collection's partition key path (or a
 * collection without one) has has_pk false: Cosmos DB's undefined partition key, which sorts
 * before every value. pk: NULL, BOOL, a number or a STRING (CR_ETYPE otherwise; numbers compare
 * by value, so 1 and 1.0 are the same key). id: a STRING of 1..CR_MAX_DOC_ID bytes without '/',
 * '\', '?' or '#' (CR_EINVAL). */
struct doc_key {
    bool has_pk;
    struct value pk;
    struct value id;
};

/* A stored document: its body (a MAP holding id, _etag and _ts as apply wrote them) and its
 * creation and last update times in ms (the entries' time_ms; Firestore's create and update
 * times). Everything is arena-allocated or borrowed from the read transaction. */
struct doc {
    struct doc_key key;
    struct value body;
    int64_t create_ms, update_ms;
};

/* CR_ENOTFOUND when there is no such document; the key's errors as above. */
int doc_get(struct storage_txn *t, const struct coll_def *c, const struct doc_key *key,
            struct cr_arena *a, struct doc *out);

/* Pages of reads. next: the continuation (empty when the read is complete); pass it back as
 * cursor to resume strictly after the last entry returned. A cursor of another collection, index
 * or range is CR_ECURSOR. Pages stop at limit (0: none) or CR_MAX_PAGE_BYTES of data. */
struct doc_page {
    struct doc *docs;
    size_t n;
    uint64_t scanned;
    uint8_t *next;
    size_t next_len;
};

struct doc_scan_query {
    const struct doc_key *partition; /* NULL: the whole collection; else its has_pk and pk */
    bool reverse;
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
};

/* Documents in key order: partition key (undefined first, then by value), then id bytewise. */
int doc_scan(struct storage_txn *t, const struct coll_def *c, const struct doc_scan_query *q,
             struct cr_arena *a, struct doc_page *out);

struct doc_bound {
    bool set; /* false: open */
    bool inclusive;
    struct value v;
};

/* Which values of one index path a read keeps, in value order (the keycodec order: null <
 * false < true < numbers < timestamps < strings < bytes < ...). Equality is lo == hi, both
 * inclusive. same_type: only values of type rank `rank` (value_rank: 0 null, 1 bool, 2 numbers,
 * 3 timestamps, 4 strings, ...), as Cosmos DB and Firestore compare (c.a > 5 holds for numbers
 * only); the bounds must then be of that rank, and an open bound ends at the rank's end.
 * has_prefix: only STRING values starting with prefix (STARTSWITH). */
struct doc_range {
    bool same_type;
    int rank;
    struct doc_bound lo, hi;
    bool has_prefix;
    struct value prefix;
};

/* A path's index entries whose values `range` keeps, in value order (reversed: descending), then
 * document key. */
struct doc_index_query {
    struct doc_path path;
    struct doc_range range;
    bool reverse;
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
};

/* One index entry: the document's key and the indexed value (for a composite index, an ARRAY
 * of its paths' values). */
struct doc_entry {
    struct doc_key key;
    struct value value;
};

struct doc_entry_page {
    struct doc_entry *entries;
    size_t n;
    uint64_t scanned;
    uint8_t *next;
    size_t next_len;
};

/* CR_EINVAL: a path doc_path_indexed refuses, a bound not of `rank` with same_type, a prefix that
 * is not a STRING. An empty page when lo > hi. */
int doc_index_scan(struct storage_txn *t, const struct coll_def *c, const struct doc_index_query *q,
                   struct cr_arena *a, struct doc_entry_page *out);

/* The entries of composite index `index` (its position in c->policy.composite) whose first n_eq
 * values equal eq[0..n_eq) and whose next value `range` keeps (when n_eq is less than the index's
 * path count; else range must keep everything), in the index's order (each path ASC or DESC;
 * reverse: against it), then document key. CR_EINVAL when index or n_eq is out of range, an eq
 * value is not a scalar, or the range is as doc_index_scan refuses. */
struct doc_composite_query {
    size_t index;
    const struct value *eq;
    size_t n_eq;
    struct doc_range range;
    bool reverse;
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
};

int doc_composite_scan(struct storage_txn *t, const struct coll_def *c,
                       const struct doc_composite_query *q, struct cr_arena *a,
                       struct doc_entry_page *out);

/* A patch: operations applied in order to the current document (MUT_DOC_PATCH). path may not
 * touch id, _etag, _ts or the partition key (CR_EINVAL). SET creates missing parent maps; a
 * parent that is not a map, or a position out of range, is CR_EINVAL. The array operations treat a
 * missing or non-array target as Firestore does. */
enum patch_kind {
    PATCH_SET,          /* path = value */
    PATCH_REMOVE,       /* delete path; absent: nothing, or CR_EINVAL when must_exist */
    PATCH_INCREMENT,    /* path += value (a number); a missing or non-number target becomes value;
                           INT overflow saturates, a DOUBLE on either side gives a DOUBLE */
    PATCH_APPEND,       /* append value to the array at path (missing: [value]) */
    PATCH_ARRAY_UNION,  /* append each element of value (an ARRAY) not already present */
    PATCH_ARRAY_REMOVE, /* remove every element equal to one of value's (an ARRAY) */
    PATCH_MINIMUM,      /* path = min(path, value); a missing or non-number target becomes value */
    PATCH_MAXIMUM,      /* path = max(path, value), likewise */
    PATCH_SERVER_TIME,  /* path = the entry's time_ms as a TIMESTAMP (resolved by the proposer's
                           clock, written in the entry, so apply stays deterministic) */
};

struct patch_op {
    enum patch_kind kind;
    struct doc_path path;
    struct value value;
    bool must_exist; /* PATCH_REMOVE: Cosmos DB's remove fails on a missing path */
};

/* Preconditions of a document write, checked after the mutation's own rule (CREATE: absent,
 * REPLACE and PATCH: present). */
enum doc_exists { PRE_ANY, PRE_EXISTS, PRE_NOT_EXISTS };

struct doc_precond {
    enum doc_exists exists; /* PRE_EXISTS failing: CR_ENOTFOUND; PRE_NOT_EXISTS: CR_EEXISTS */
    const char *if_match;   /* NULL: none; else the document's etag must be these bytes */
    size_t if_match_len;    /* (an absent document fails it): CR_ECONDITION */
    bool has_update_ms;     /* the document exists and was last written at update_ms: */
    int64_t update_ms;      /* CR_ECONDITION otherwise */
};

/* ---- items ------------------------------------------------------------------------------ */

/* An item is a VT_MAP value; its key attributes are the table's pk (and sk). */

/* Extracts and validates the key of `item` (or of a key-only map) for `def`: presence
 * (CR_EMISSINGKEY), type (CR_ETYPE: KEY_S wants STRING, KEY_N any number, KEY_B BYTES), size
 * (CR_EKEYTOOBIG; empty strings and bytes are CR_EINVAL, as DynamoDB). Numbers are normalized to
 * DECIMAL in *pk / *sk. sk is left VT_NULL for a table without a sort key; a key-only map with
 * attributes other than the key is CR_EINVAL when key_only is set. */
int kv_extract_key(const struct table_def *def, const struct value *item, bool key_only,
                   struct value *pk, struct value *sk);

/* Validates a whole item for `def`: a MAP, its key (kv_extract_key), nesting and set rules
 * (value_encode's), and size (CR_EITEMTOOBIG). The front ends call it before proposing. */
int kv_check_item(const struct table_def *def, const struct value *item);

/* Reads the item with key (pk, sk); sk is ignored (may be NULL) for a table without a sort key.
 * *item is decoded into the arena and borrows from the transaction: valid until the txn is reset
 * or ended, or the arena freed. CR_ENOTFOUND; a key kv_extract_key would refuse gets its error. */
int kv_get(struct storage_txn *t, const struct table_def *def, const struct value *pk,
           const struct value *sk, struct cr_arena *a, struct value *item);

enum sk_op { SK_ANY, SK_EQ, SK_LT, SK_LE, SK_GT, SK_GE, SK_BETWEEN, SK_BEGINS_WITH };

struct kv_query {
    struct value pk;
    enum sk_op op;
    struct value sk1, sk2; /* sk2 for SK_BETWEEN only; sk1 unused for SK_ANY */
    bool reverse;
    uint32_t limit; /* 0: no limit other than CR_MAX_PAGE_BYTES */
    /* Opaque continuation from a previous page's kv_page.next (NULL/0: from the start). */
    const uint8_t *cursor;
    size_t cursor_len;
};

struct kv_page {
    struct value *items; /* arena-allocated, in key order (reversed if asked); they borrow
                            from the transaction as kv_get's item does */
    size_t n;
    uint64_t scanned; /* rows read, matching or not */
    /* Continuation: empty when the read is complete. Arena-allocated. */
    uint8_t *next;
    size_t next_len;
};

/* Items of one partition in sort-key order, filtered by the sort-key condition. The page ends at
 * limit items or CR_MAX_PAGE_BYTES of item data, whichever is first, with a continuation when
 * more may follow. Errors: CR_ECURSOR (a continuation that is not from this table and key),
 * CR_ETYPE (sk1/sk2 of the wrong type; begins_with on a number), CR_EINVAL (BETWEEN with
 * sk1 > sk2; a sort-key condition on a table without a sort key), and kv_extract_key's errors
 * for pk, sk1 and sk2 themselves (CR_EKEYTOOBIG, empty strings CR_EINVAL, CR_ENUMBER).
 * Items come in stored key order: value order, except among long sort keys sharing their first
 * CR_KEY_PREFIX encoded bytes (hash order; see kv.c). */
int kv_query(struct storage_txn *t, const struct table_def *def, const struct kv_query *q,
             struct cr_arena *a, struct kv_page *out);

/* All items of the table in key order, paged like kv_query (limit 0: page-size bound only).
 * segment/total_segments split the table into disjoint parts by hash of the partition key
 * (DynamoDB's parallel scan); total_segments 0 or 1 means one part. */
int kv_scan(struct storage_txn *t, const struct table_def *def, const uint8_t *cursor,
            size_t cursor_len, uint32_t limit, uint32_t segment, uint32_t total_segments,
            struct cr_arena *a, struct kv_page *out);

/* The continuation that resumes a query or scan of `def` strictly after (before, in reverse)
 * the item whose key is `key` (a MAP of exactly the key attributes): how a front end turns a
 * key-shaped position (DynamoDB's ExclusiveStartKey) into a cursor for kv_query / kv_scan.
 * The item need not exist. *out is arena-allocated. kv_extract_key's errors; CR_ENOMEM. */
int kv_cursor_from_key(const struct table_def *def, const struct value *key, struct cr_arena *a,
                       uint8_t **out, size_t *out_len);

/* The same three over the entries of an index of `table`: q's keys are the index's; items are
 * the projected items, ordered by index key, then table key (stored order, as above, with long
 * components cut at CR_INDEX_KEY_PREFIX encoded bytes); the cursor key holds the index key and
 * the table key attributes (each attribute once). Errors as kv_query / kv_scan /
 * kv_cursor_from_key. */
int kv_query_index(struct storage_txn *t, const struct table_def *table,
                   const struct index_def *idx, const struct kv_query *q, struct cr_arena *a,
                   struct kv_page *out);
int kv_scan_index(struct storage_txn *t, const struct table_def *table, const struct index_def *idx,
                  const uint8_t *cursor, size_t cursor_len, uint32_t limit, uint32_t segment,
                  uint32_t total_segments, struct cr_arena *a, struct kv_page *out);
int kv_cursor_from_index_key(const struct table_def *table, const struct index_def *idx,
                             const struct value *key, struct cr_arena *a, uint8_t **out,
                             size_t *out_len);

/* ---- graphs ---------------------------------------------------------------------------------
 *
 * A graph holds vertices (id, label, properties: several values per key, each with its own
 * property id, as Gremlin's vertex properties) and edges (id, label, out-vertex, in-vertex,
 * properties: one value per key). graph.c has the layouts; docs/storage.md is the map.
 *
 * Names follow the collection rule (1..CR_MAX_NAME_LEN bytes without NUL, '/', '\', '?', '#':
 * CR_ENAME); a missing graph is CR_ENOCOLL. Ids, labels and property keys are STRINGs of at least
 * one byte (CR_EINVAL; another type: CR_ETYPE) whose key encoding is at most CR_GRAPH_KEY_MAX
 * bytes (about that many bytes of text; CR_EKEYTOOBIG), so they are kept whole in every key.
 * Property values are any value (CR_ETYPE for VT_NULL). Ids an add leaves out are generated by
 * apply from the log index and the mutation's position (graph_id_make), never from a clock.
 */
#define CR_MAX_GRAPHS 1024                  /* CR_ETOOMANY: graphs */
#define CR_GRAPH_KEY_MAX 116                /* CR_EKEYTOOBIG: encoded id, label or property key */
#define CR_MAX_GRAPH_ELEM (2 * 1024 * 1024) /* CR_EITEMTOOBIG: a vertex or edge record */
#define CR_MAX_GRAPH_PROPS 1000             /* CR_ETOOMANY: property values of one element */

struct graph_def {
    uint32_t id; /* object id of its vertices and edges (data, adj); id + 1: its property index,
                    id + 2: its label index */
    char name[CR_MAX_NAME_LEN + 1];
    uint64_t created_index; /* log index of the MUT_CREATE_GRAPH */
    int64_t created_ms;     /* the proposer's time */
};

/* The graph named name (NUL-terminated). CR_ENOCOLL. */
int catalog_graph_get(struct storage_txn *t, const char *name, struct graph_def *out);
/* Up to `limit` graphs in name order (bytewise), strictly after `after` (NULL: from the start).
 * *more tells whether further ones exist. CR_EINVAL for an invalid `after`. */
int catalog_graph_list(struct storage_txn *t, const char *after, struct graph_def *out,
                       size_t limit, size_t *n, bool *more);
/* The name rule above: CR_ENAME. Front ends call it before proposing. */
int catalog_graph_check_name(const char *name);

/* One property value: key and value; id, the property id (vertices; VT_NULL for edges). */
struct graph_prop {
    struct value key;
    struct value id;
    struct value value;
};

/* A vertex or an edge, decoded into the arena (strings may borrow from the transaction, valid
 * until it is reset or ended). Properties in the order their keys were first set, values of one
 * key in the order they were added. */
struct graph_vertex {
    struct value id, label;
    struct graph_prop *props;
    size_t n_props;
};

struct graph_edge {
    struct value id, label;
    struct value out_v, in_v;         /* the edge goes from out_v to in_v */
    struct value out_label, in_label; /* their vertex labels */
    struct graph_prop *props;
    size_t n_props;
};

/* CR_ENOTFOUND; an id of the wrong type or size gets its error as above. */
int graph_get_vertex(struct storage_txn *t, const struct graph_def *g, const struct value *id,
                     struct cr_arena *a, struct graph_vertex *out);
int graph_get_edge(struct storage_txn *t, const struct graph_def *g, const struct value *id,
                   struct cr_arena *a, struct graph_edge *out);

/* Pages of reads, as documents' (struct doc_page): limit (0: none) and CR_MAX_PAGE_BYTES; next
 * (empty when complete) resumes strictly after the last element returned; a cursor of another
 * graph, vertex, direction or read is CR_ECURSOR. */
struct graph_scan_query {
    const struct value *label; /* NULL: every element; vertices: served by the label index */
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
};

struct graph_page {
    struct graph_vertex *vertices; /* graph_scan_vertices */
    struct graph_edge *edges;      /* graph_scan_edges */
    size_t n;
    uint64_t scanned;
    uint8_t *next;
    size_t next_len;
};

/* Vertices in id order (bytewise), all or one label's (then still in id order; such a page
 * also ends after 1000 vertices). */
int graph_scan_vertices(struct storage_txn *t, const struct graph_def *g,
                        const struct graph_scan_query *q, struct cr_arena *a,
                        struct graph_page *out);
/* Edges in id order; with a label, the others are read and skipped (edges have no label index). */
int graph_scan_edges(struct storage_txn *t, const struct graph_def *g,
                     const struct graph_scan_query *q, struct cr_arena *a, struct graph_page *out);

enum graph_dir { GRAPH_OUT, GRAPH_IN, GRAPH_BOTH };

/* The edges of one vertex by direction and labels, from its adjacency entries only: O(degree).
 * Order: out-edges before in-edges, then label, neighbour id, edge id (bytewise). A self-loop is
 * an out-edge and an in-edge. A vertex that does not exist has no edges (no error). */
struct graph_expand_query {
    struct value vertex;
    enum graph_dir dir;
    const struct value *labels; /* n_labels == 0: every label */
    size_t n_labels;
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
};

/* One adjacency entry: the edge, seen from `vertex`. */
struct graph_adj {
    enum graph_dir dir; /* GRAPH_OUT: vertex is the edge's out-vertex */
    struct value edge, label;
    struct value vertex_label;
    struct value neighbour, neighbour_label;
};

struct graph_adj_page {
    struct graph_adj *adj;
    size_t n;
    uint64_t scanned;
    uint8_t *next;
    size_t next_len;
};

/* CR_EINVAL: dir out of range, more than CR_MAX_GRAPH_PROPS labels; ids and labels as above. */
int graph_expand(struct storage_txn *t, const struct graph_def *g,
                 const struct graph_expand_query *q, struct cr_arena *a,
                 struct graph_adj_page *out);

/* has(label?, key, value): the vertices having a value of key equal (value_equal) to value, with
 * label when label is set, from the property index; in vertex id order. */
struct graph_lookup_query {
    const struct value *label;
    struct value key, value;
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
};

struct graph_hit {
    struct value id, label;
};

struct graph_hit_page {
    struct graph_hit *hits;
    size_t n;
    uint64_t scanned;
    uint8_t *next;
    size_t next_len;
};

int graph_lookup(struct storage_txn *t, const struct graph_def *g,
                 const struct graph_lookup_query *q, struct cr_arena *a,
                 struct graph_hit_page *out);

/* The id apply generates for the element (seq 0) or property value (seq 1..) that mutation
 * `ordinal` of entry `index` adds without one: a STRING "xxxxxxxxxxxxxxxx-oooo-ssss" (hex), unique
 * across the log. A proposer that must name an element before its entry has an index (the
 * Gremlin glue) may call it with a base of its own. Allocated from a. */
int graph_id_make(uint64_t index, uint16_t ordinal, uint32_t seq, struct cr_arena *a,
                  struct value *out);

/* A graph mutation's operands (struct mutation's `graph`). name: the graph. */
struct graph_mut {
    char name[CR_MAX_NAME_LEN + 1];
    struct value id;          /* the element; VT_NULL on an add: generated (graph_id_make, seq 0) */
    struct value label;       /* adds */
    struct value out_v, in_v; /* MUT_GRAPH_ADD_EDGE */
    /* Adds: initial properties, in order (their ids are generated: seq 1, 2, ...); a vertex
     * key may repeat (several values), an edge key may not (CR_EINVAL). */
    const struct graph_prop *props;
    size_t n_props;
    bool edge;            /* SET/REMOVE_PROPERTY: the element is an edge */
    struct value key;     /* SET/REMOVE_PROPERTY */
    struct value value;   /* SET_PROPERTY */
    bool list;            /* SET_PROPERTY on a vertex: append; else replace every value of key */
    struct value prop_id; /* REMOVE_PROPERTY: VT_NULL: every value of key; else only this one */
};

/* ---- mutations and apply ---------------------------------------------------------------- */

/* MUT_UPDATE builds the new item from the current one with hook.update and writes it as a put
 * (the change feed records it as MUT_PUT). MUT_CHECK only evaluates its conditions and writes
 * nothing, not even a change record. MUT_UPDATE_TABLE adds indexes (filled from the table's
 * items in the same transaction) and drops indexes (with their entries), changes the TTL
 * setting and sets and removes tags. */
enum mut_type {
    MUT_CREATE_TABLE,
    MUT_DELETE_TABLE,
    MUT_PUT,
    MUT_DELETE,
    MUT_UPDATE,
    MUT_CHECK,
    MUT_UPDATE_TABLE,
    /* Collections and documents (doc.c). A collection is created with its definition in
     * `coll` and dropped with its documents and index entries. Document writes apply their
     * preconditions (`pre`), stamp the system properties (_etag, _ts, the create and update
     * times) and keep the collection's indexes. The change feed records a written document as
     * MUT_PUT and a deleted one as MUT_DELETE, with the collection's id and the key
     * {id, pk} (pk absent when undefined); a collection's creation and drop as
     * MUT_CREATE_TABLE and MUT_DELETE_TABLE with its id. */
    MUT_CREATE_COLLECTION,
    MUT_DROP_COLLECTION,
    MUT_DOC_CREATE,  /* `item`; CR_EEXISTS when the document exists */
    MUT_DOC_REPLACE, /* `item`; CR_ENOTFOUND when it does not */
    MUT_DOC_UPSERT,  /* `item` */
    MUT_DOC_DELETE,  /* `doc_key`; an absent document is no error (PRE_EXISTS makes it one) */
    MUT_DOC_PATCH,   /* `doc_key`, `patch`; CR_ENOTFOUND when the document does not exist */
    /* Graphs (graph.c), operands in `graph`. A graph is created empty and dropped with all it
     * holds. Element mutations need the graph (CR_ENOCOLL) and keep its adjacency entries and
     * indexes in the same transaction. The change feed records a written vertex or edge as
     * MUT_PUT with its record, a dropped one as MUT_DELETE, with the graph's id and the key
     * {vertex: id} or {edge: id}; a graph's creation and drop as MUT_CREATE_TABLE and
     * MUT_DELETE_TABLE. */
    MUT_CREATE_GRAPH,
    MUT_DROP_GRAPH,
    MUT_GRAPH_ADD_VERTEX,      /* CR_EEXISTS when the id is taken */
    MUT_GRAPH_ADD_EDGE,        /* CR_ENOTFOUND without both vertices; CR_EEXISTS (edge id) */
    MUT_GRAPH_SET_PROPERTY,    /* CR_ENOTFOUND without the element; CR_EINVAL: list on an edge */
    MUT_GRAPH_REMOVE_PROPERTY, /* CR_ENOTFOUND without the element; an absent value is none */
    MUT_GRAPH_DROP_VERTEX,     /* with all its edges; CR_ENOTFOUND */
    MUT_GRAPH_DROP_EDGE,       /* CR_ENOTFOUND */
};

enum cond_type {
    COND_NONE,
    COND_EXISTS,     /* the item exists */
    COND_NOT_EXISTS, /* the item does not exist */
    COND_EQUALS,     /* the item exists and its top-level attribute `attr` equals `value` */
};

/* MUT_UPDATE_TABLE's TTL change. Enabling needs TTL disabled (CR_EINVAL otherwise); disabling
 * needs it enabled on the same attribute (CR_EINVAL otherwise). A refused change reports the
 * table as it is in the result, so the front end can say why. */
enum ttl_change { TTL_KEEP, TTL_ENABLE, TTL_DISABLE };

struct condition {
    enum cond_type type;
    const char *attr;
    size_t attr_len;
    struct value value;
};

#define CR_MUT_MSG_MAX 512 /* a hook's message, NUL included */

/*
 * A precondition and a transformation supplied by the layer above (the server installs
 * DynamoDB expressions here), evaluated by apply against the item's current state inside the
 * batch's transaction. storage sees only these functions and the opaque ctx. They must be pure
 * functions of (ctx, current) — no clock, no I/O, no state of their own — because apply's
 * determinism rests on them. current is NULL when the item does not exist.
 *
 * check (NULL: none; PUT, DELETE, UPDATE, CHECK): sets *ok; false fails the mutation with
 *   CR_ECONDITION.
 * update (MUT_UPDATE, required): builds *next, a MAP, from current, allocating from a (apply's
 *   per-mutation scratch; next may borrow from current). Its key attributes must equal the
 *   mutation's key (CR_EINVAL otherwise).
 * Both return 0; CR_EINVAL when the item makes the operation impossible, with text in msg
 * (NUL-terminated, at most msg_size bytes), which becomes the mutation's result and message;
 * or CR_ENOMEM, which fails the whole apply call like any environment error.
 */
struct mutation_hook {
    int (*check)(const void *ctx, const struct value *current, bool *ok, char *msg,
                 size_t msg_size);
    int (*update)(const void *ctx, const struct value *current, struct cr_arena *a,
                  struct value *next, char *msg, size_t msg_size);
    const void *ctx;
};

struct mutation {
    enum mut_type type;
    /* MUT_CREATE_TABLE: name and key schema in `table` (id, created_*, n_indexes are set by
     * apply). Others: `table.name` names the table; apply looks it up. */
    struct table_def table;
    /* MUT_CREATE_TABLE, MUT_UPDATE_TABLE: indexes to create (their ids are set by apply). */
    const struct index_def *indexes;
    size_t n_indexes;
    /* MUT_UPDATE_TABLE: names of indexes to drop (NUL-terminated), dropped before the adds. */
    const char *const *drop;
    size_t n_drop;
    /* MUT_UPDATE_TABLE: the TTL change and its attribute (1..CR_MAX_NAME_LEN bytes). */
    enum ttl_change ttl;
    const char *ttl_attr;
    /* MUT_CREATE_TABLE, MUT_UPDATE_TABLE: tags to set (added, or their value replaced), then
     * (MUT_UPDATE_TABLE only) tag keys to remove (absent ones are ignored). More than CR_MAX_TAGS
     * tags after both: CR_ETOOMANY. */
    const struct table_tag *tags;
    size_t n_tags;
    const char *const *untag;
    size_t n_untag;
    struct value item; /* MUT_PUT: the whole item (a MAP) */
    struct value key;  /* MUT_DELETE, MUT_UPDATE, MUT_CHECK: a MAP holding the key attributes */
    struct condition cond;
    struct mutation_hook hook;
    bool return_old;         /* put/delete/update: hand back the previous item in the result */
    bool return_new;         /* put/update: hand back the new item */
    bool return_old_on_fail; /* CR_ECONDITION: hand back the current item, if any */
    /* Collections and documents: `coll` is the whole definition for MUT_CREATE_COLLECTION
     * (its ids and times are set by apply), else only coll.db and coll.name are read. return_old
     * and return_new hand back the document bodies. */
    struct coll_def coll;
    struct doc_key doc_key;
    const struct patch_op *patch;
    size_t n_patch;
    struct doc_precond pre;
    struct graph_mut graph; /* graph mutations (MUT_CREATE_GRAPH, MUT_DROP_GRAPH: graph.name) */
};

/*
 * One log entry: a batch applied all-or-nothing.
 *
 * An entry may carry an idempotency token (DynamoDB's ClientRequestToken) and the hash of the
 * request it came from. When the entry applies, the token is recorded with the hash and the
 * entry's time_ms in the same transaction. A later entry with the same token, less than
 * CR_TOKEN_WINDOW_MS after the recorded time (by the entries' own times, never a clock),
 * applies nothing: with the same hash each of its results is 0 with token TOKEN_REPLAY, with
 * another hash CR_EINVAL with TOKEN_MISMATCH. A failed entry records nothing; an expired record
 * is replaced. Each entry that records a token forgets up to CR_TOKEN_PRUNE expired ones.
 */
struct log_batch {
    uint64_t index;  /* the entry's log index: strictly increasing across calls */
    int64_t time_ms; /* the proposer's clock for this entry (creation times, token window) */
    struct mutation *muts;
    size_t n;
    const char *token; /* NULL: none; else token_len bytes, 1..CR_MAX_TOKEN_LEN (CR_EINVAL) */
    size_t token_len;
    uint64_t request_hash;
};

enum token_outcome {
    TOKEN_NONE,     /* no token, or a token not seen within the window */
    TOKEN_REPLAY,   /* the same request was applied under this token: nothing applied now */
    TOKEN_MISMATCH, /* another request was applied under this token: refused, CR_EINVAL */
};

/* A written item's index key attribute of another type than its index's, or an empty string or
 * binary one (CR_ETYPE). */
struct index_mismatch {
    const char *index; /* NULL: none */
    const char *attr;
    enum key_type expected;
    enum value_type actual;
    bool empty; /* the type fits, the value is empty: DynamoDB keys are never empty */
};

/* CR_ETYPE when an index key attribute of item (the new version of a written item) has another
 * type than its index of idx[0..n) says, or is an empty string or binary (absent attributes are
 * fine: sparse); *out names the index and attribute (borrowed from idx) and the two types: of
 * several such indexes, the first by name, as DynamoDB reports it. apply() refuses such writes;
 * front ends may check first to answer before proposing. */
int index_check_types(const struct index_def *idx, size_t n, const struct value *item,
                      struct index_mismatch *out);

struct mutation_result {
    /* 0, CR_ECONDITION, CR_EABORTED (the entry failed because of another mutation), or the
     * validation error of this mutation (CR_ENOTABLE, CR_ETABLEEXISTS, CR_EITEMTOOBIG, ...). */
    int code;
    bool has_old;
    struct value old; /* when return_old (or return_old_on_fail and the mutation failed
                         its condition) and the item existed; arena-allocated */
    bool has_new;
    struct value new_item;    /* when return_new and the mutation wrote; arena-allocated */
    const char *message;      /* NULL, or a hook's text for this mutation's code; arena */
    uint64_t old_size;        /* value_ddb_size of the item before (0: absent) and after (0: */
    uint64_t new_size;        /* absent or not written): what capacity accounting needs */
    struct table_def table;   /* the created (MUT_CREATE_TABLE), deleted (MUT_DELETE_TABLE) or
                                 altered (MUT_UPDATE_TABLE, as it is now; also when its TTL
                                 change was refused) definition */
    enum token_outcome token; /* the entry's idempotency token, the same on all its results */
    struct index_mismatch mismatch; /* CR_ETYPE from an index key; names from the arena */
    struct coll_def coll;           /* the created or dropped collection (policy strings: arena) */
    char etag[CR_ETAG_LEN + 1]; /* a written document's new etag, NUL-terminated; "" otherwise */
    int64_t update_ms;          /* a written document's update time */
    struct graph_def graph;     /* the created or dropped graph */
    struct value graph_elem;    /* the element a graph mutation wrote (its generated id); arena */
};

/*
 * Applies entries in one LMDB write transaction and one fsync (group commit). Each entry is
 * all-or-nothing: when any of its mutations fails, none of them takes effect, the failing one
 * reports its code, each later item mutation whose conditions fail on the state the batch had
 * reached reports its own (every failing action has its reason), and the others CR_EABORTED;
 * the entry still consumes its index. An entry of
 * more than CR_MAX_BATCH_MUTATIONS fails with CR_ETOOMANY on every mutation. A put or update
 * whose new item has an index key attribute of another type than its index's fails with
 * CR_ETYPE and names them (mismatch). The failing
 * mutation keeps its message, its old item (return_old_on_fail), its table and its mismatch. The
 * applied index and the change feed records (one per mutation of each applied entry but MUT_CHECK,
 * a delete of a missing item included) are written in the same transaction.
 *
 * results[i] points at an array of batches[i].n results; old and new items and messages are
 * allocated from `a`.
 * Deterministic: the same batches on the same state give the same state and results.
 * Returns 0 when the transaction committed, or the environment error that made it fail (CR_EFULL,
 * CR_EIO, CR_ENOMEM, CR_ECORRUPT; never a per-mutation code):
 * then nothing was applied and the result arrays are untouched.
 */
int storage_apply(struct storage *s, const struct log_batch *batches, size_t n,
                  struct mutation_result **results, struct cr_arena *a);

/* ---- change feed ------------------------------------------------------------------------ */

struct change {
    uint64_t index;
    uint16_t ordinal; /* position of the mutation in its entry */
    enum mut_type type;
    uint32_t table_id;
    struct value key;  /* MAP of key attributes (PUT/DELETE) */
    struct value item; /* PUT: the new item; otherwise VT_NULL */
};

/* Up to `limit` changes with index >= from_index, in log order, decoded into the arena (they
 * do not borrow from the transaction). *n is set to the count filled. */
int changes_read(struct storage_txn *t, uint64_t from_index, struct change *out, size_t limit,
                 size_t *n, struct cr_arena *a);

#endif
