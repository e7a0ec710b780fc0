/*
 * libcirrus: the C client of Cirrus's native protocol (proto/cirrus.proto, docs/protocol.md).
 *
 * A connection (struct cirrus) is one TCP socket carrying frames of `u32 big-endian length |
 * serialized Request`; responses carry their request's id and may arrive out of order. This
 * header exposes only plain C types: it must never mention protobuf-c, so tools can include it
 * without the generated code. It keeps no global state; a connection belongs to one thread at a
 * time.
 *
 * Errors: every fallible function returns 0 or a negative CR_E* code (common/error.h). Codes
 * the server sent (Response.error_code) pass through unchanged. Codes made on the client side:
 *   CR_ECONNECT  the connection could not be established
 *   CR_ECLOSED   the peer closed the connection (also mid-frame) or reset it
 *   CR_ETIMEOUT  no complete response within the connection's timeout
 *   CR_EPROTO    a frame over the client's limit, a frame that does not decode, or a response
 *                of the wrong shape
 *   CR_ENOMEM    allocation failed
 *   CR_EINVAL    a bad argument (e.g. an item that is not a map)
 *   CR_ENESTING  a value nested deeper than CIRRUS_MAX_DEPTH
 * After CR_ECLOSED or CR_EPROTO the connection is unusable: close it. After CR_ETIMEOUT it may
 * be reused; a late response to the timed-out request is skipped by later synchronous calls.
 * cirrus_errmsg() describes the last error: the server's error_message when it came from the
 * server.
 */
#ifndef CIRRUS_H
#define CIRRUS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Frames larger than this are refused (CR_EPROTO) unless cirrus_set_max_frame() raises it. */
#define CIRRUS_DEFAULT_MAX_FRAME (64u * 1024u * 1024u)
/* Values nested deeper than this are refused in both directions (CR_ENESTING). */
#define CIRRUS_MAX_DEPTH 100

/* ---- values (storage/value.h's model) ---- */

enum cirrus_type {
    CIRRUS_NULL,
    CIRRUS_BOOL,
    CIRRUS_INT,
    CIRRUS_DOUBLE,
    CIRRUS_DECIMAL, /* canonical decimal text in u.str, e.g. "-12.5" */
    CIRRUS_STRING,
    CIRRUS_BYTES,
    CIRRUS_TIMESTAMP,
    CIRRUS_GEOPOINT,
    CIRRUS_REF, /* a document path in u.str */
    CIRRUS_ARRAY,
    CIRRUS_MAP,
    CIRRUS_STRING_SET, /* elements are CIRRUS_STRING */
    CIRRUS_NUMBER_SET, /* elements are CIRRUS_INT, CIRRUS_DOUBLE or CIRRUS_DECIMAL */
    CIRRUS_BINARY_SET, /* elements are CIRRUS_BYTES */
};

struct cirrus_field;

/*
 * A value owns everything it points to. Strings (decimal, string, ref) are NUL-terminated
 * and also carry their length; bytes are not terminated. A string holding a NUL byte is sent
 * only up to it (protobuf-c strings are C strings).
 * Arrays and the three sets use u.list; maps use u.map (fields in insertion order).
 * A zeroed struct is a valid CIRRUS_NULL.
 */
struct cirrus_value {
    enum cirrus_type type;
    union {
        int b;
        int64_t i;
        double d;
        struct {
            char *ptr;
            size_t len;
        } str; /* DECIMAL, STRING, BYTES, REF */
        struct {
            int64_t sec;
            int32_t nsec;
        } ts;
        struct {
            double lat;
            double lon;
        } geo;
        struct {
            struct cirrus_value *items;
            size_t len;
            size_t cap;
        } list; /* ARRAY and the sets */
        struct {
            struct cirrus_field *fields;
            size_t len;
            size_t cap;
        } map;
    } u;
};

struct cirrus_field {
    char *name;
    struct cirrus_value value;
};

/* Scalar setters overwrite *v without freeing it: call them on a NULL or cleared value. */
void cirrus_value_null(struct cirrus_value *v);
void cirrus_value_bool(struct cirrus_value *v, int b);
void cirrus_value_int(struct cirrus_value *v, int64_t i);
void cirrus_value_double(struct cirrus_value *v, double d);
void cirrus_value_timestamp(struct cirrus_value *v, int64_t sec, int32_t nsec);
void cirrus_value_geopoint(struct cirrus_value *v, double lat, double lon);
/* These copy their input. 0 or CR_ENOMEM (then *v is CIRRUS_NULL). */
int cirrus_value_string(struct cirrus_value *v, const char *s, size_t len);
int cirrus_value_decimal(struct cirrus_value *v, const char *text);
int cirrus_value_bytes(struct cirrus_value *v, const void *p, size_t len);
int cirrus_value_ref(struct cirrus_value *v, const char *path);
/* An empty container of `type` (CIRRUS_ARRAY, CIRRUS_MAP or a set); CR_EINVAL for others. */
int cirrus_value_container(struct cirrus_value *v, enum cirrus_type type);
/*
 * Appends *elem to an array or set, taking ownership of its contents (*elem becomes NULL).
 * 0, CR_EINVAL (not a list), CR_ENOMEM (then *elem is unchanged and still the caller's).
 */
int cirrus_list_append(struct cirrus_value *list, struct cirrus_value *elem);
/*
 * Sets field `name` of a map (replacing a field of that name), taking ownership of *val's
 * contents (*val becomes NULL). Copies name. 0, CR_EINVAL, CR_ENOMEM (*val unchanged).
 */
int cirrus_map_set(struct cirrus_value *map, const char *name, struct cirrus_value *val);
/* The field's value, borrowed from the map; NULL if absent or if map is not a map. */
const struct cirrus_value *cirrus_map_get(const struct cirrus_value *map, const char *name);
/* Deep copy into *dst (overwritten). 0, CR_ENOMEM, CR_ENESTING (then *dst is NULL). */
int cirrus_value_copy(struct cirrus_value *dst, const struct cirrus_value *src);
/* Frees everything *v owns and makes it CIRRUS_NULL. The struct itself is the caller's. */
void cirrus_value_clear(struct cirrus_value *v);
/* Structural equality (same types, same contents, map fields in any order). */
int cirrus_value_equal(const struct cirrus_value *a, const struct cirrus_value *b);

/* ---- options ---- */

enum cirrus_consistency {
    CIRRUS_CONSISTENCY_DEFAULT, /* STRONG on the native protocol */
    CIRRUS_STRONG,
    CIRRUS_BOUNDED_STALENESS,
    CIRRUS_SESSION,
    CIRRUS_CONSISTENT_PREFIX,
    CIRRUS_EVENTUAL,
};

/* Every read call takes one; NULL means the default (STRONG). */
struct cirrus_read_opts {
    enum cirrus_consistency consistency;
    uint64_t session_token;   /* SESSION: an applied index this client has seen */
    uint64_t max_lag_entries; /* BOUNDED_STALENESS */
    uint64_t max_lag_ms;      /* BOUNDED_STALENESS */
};

enum cirrus_condition {
    CIRRUS_COND_NONE,
    CIRRUS_COND_EXISTS,
    CIRRUS_COND_NOT_EXISTS,
    CIRRUS_COND_EQUALS, /* attribute `attr` equals `value` */
};

/* Options of put, delete and batch operations; NULL means unconditional, no old item. */
struct cirrus_write_opts {
    enum cirrus_condition condition;
    const char *attr;                 /* EQUALS; borrowed for the call */
    const struct cirrus_value *value; /* EQUALS; borrowed for the call */
    int return_old;
};

enum cirrus_key_type { CIRRUS_KEY_S, CIRRUS_KEY_N, CIRRUS_KEY_B };

enum cirrus_sk_op {
    CIRRUS_SK_ANY, /* every sort key of the partition */
    CIRRUS_SK_EQ,
    CIRRUS_SK_LT,
    CIRRUS_SK_LE,
    CIRRUS_SK_GT,
    CIRRUS_SK_GE,
    CIRRUS_SK_BETWEEN, /* sk <= x <= sk_end */
    CIRRUS_SK_BEGINS_WITH,
};

/* A query: every pointer is borrowed for the call. */
struct cirrus_query {
    const struct cirrus_value *pk;
    enum cirrus_sk_op op;
    const struct cirrus_value *sk;
    const struct cirrus_value *sk_end;
    int reverse;
    uint32_t limit;     /* 0: the server's default */
    const void *cursor; /* a previous result's cursor, or NULL to start */
    size_t cursor_len;
};

struct cirrus_scan {
    uint32_t limit;
    const void *cursor;
    size_t cursor_len;
    uint32_t segment;        /* parallel scan: this segment of total_segments */
    uint32_t total_segments; /* 0: not segmented */
};

/* One operation of a batch: a put of `value` (an item) or a delete of `value` (a key). */
struct cirrus_write_op {
    int is_delete;
    const char *table;
    const struct cirrus_value *value;
    struct cirrus_write_opts opts;
};

/* ---- collections and documents (docs/protocol.md, "Documents") ---- */

/* An empty db names the database "default". */

struct cirrus_composite_path {
    const char *path; /* "/a/b" */
    int desc;
};

struct cirrus_composite {
    const struct cirrus_composite_path *paths;
    size_t n;
};

/* Cosmos DB's indexingPolicy; NULL in create_collection: every path indexed. */
struct cirrus_indexing {
    int none;                   /* indexingMode "none": no path entries */
    const char *const *include; /* patterns ending in "/?" or "/\*" */
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    const struct cirrus_composite *composite;
    size_t n_composite;
};

enum cirrus_doc_write {
    CIRRUS_DOC_UPSERT,
    CIRRUS_DOC_CREATE,  /* CR_EEXISTS when the document exists */
    CIRRUS_DOC_REPLACE, /* CR_ENOTFOUND when it does not */
};

enum cirrus_doc_exists {
    CIRRUS_DOC_ANY,
    CIRRUS_DOC_MUST_EXIST,     /* CR_ENOTFOUND otherwise */
    CIRRUS_DOC_MUST_NOT_EXIST, /* CR_EEXISTS otherwise */
};

/* Preconditions of a document write; NULL: none. Failing if_match or update_ms: CR_ECONDITION. */
struct cirrus_doc_pre {
    enum cirrus_doc_exists exists;
    const char *if_match; /* NULL: none; else the document's _etag */
    int has_update_ms;
    int64_t update_ms;
};

/* A document's key: its id and, in a collection with a partition key path, the value there
 * (NULL: the document has none). Borrowed for the call. */
struct cirrus_doc_key {
    const char *id;
    const struct cirrus_value *pk;
};

enum cirrus_patch_kind {
    CIRRUS_PATCH_SET,
    CIRRUS_PATCH_REMOVE,
    CIRRUS_PATCH_INCREMENT,
    CIRRUS_PATCH_APPEND,
    CIRRUS_PATCH_ARRAY_UNION,
    CIRRUS_PATCH_ARRAY_REMOVE,
    CIRRUS_PATCH_MINIMUM,
    CIRRUS_PATCH_MAXIMUM,
    CIRRUS_PATCH_SERVER_TIME, /* the write's time; value unused */
};

/* path: "/a/b", an all-digit segment being an array position ("/tags/0"). */
struct cirrus_patch_op {
    enum cirrus_patch_kind kind;
    const char *path;
    const struct cirrus_value *value; /* not for REMOVE and SERVER_TIME */
    int must_exist;                   /* REMOVE: a missing path fails the patch */
};

struct cirrus_sql_param {
    const char *name; /* with its '@' */
    const struct cirrus_value *value;
};

/* A query's options; NULL: no parameters, the server's page size, the first page. */
struct cirrus_sql {
    const struct cirrus_sql_param *params;
    size_t n_params;
    uint32_t max_items;       /* 0: 100 */
    const void *continuation; /* a previous page's out->cursor */
    size_t continuation_len;
    int explain; /* nonzero: one result, the plan's text (EXPLAIN) */
};

struct cirrus_collection_desc {
    char *db;
    char *name;
    char *pk_path; /* NULL: no partition key */
    uint32_t id;
    uint64_t doc_count;
    uint64_t size_bytes;
    int64_t created_ms;
    uint64_t created_index;
};

/* ---- graphs ---- */

struct cirrus_graph_desc {
    char *name;
    uint32_t id;
    int64_t created_ms;
    uint64_t created_index;
};

enum cirrus_dir { CIRRUS_DIR_OUT, CIRRUS_DIR_IN, CIRRUS_DIR_BOTH };

/* A traversal's filters; NULL: out-edges of every label, the server's limit. */
struct cirrus_walk {
    enum cirrus_dir dir;
    const char *const *labels; /* edge labels; n_labels 0: every label */
    size_t n_labels;
    uint32_t limit; /* neighbors: entries (0: 1000); khop: vertices (0: 100000) */
};

struct cirrus_binding {
    const char *name;
    const struct cirrus_value *value;
};

/* One adjacency entry: the neighbour and the edge that leads there. */
struct cirrus_neighbor {
    struct cirrus_value vertex, vertex_label, edge, edge_label;
    enum cirrus_dir dir; /* CIRRUS_DIR_OUT: the edge leaves the vertex asked about */
};

/* An edge to load; label NULL or "": "edge". */
struct cirrus_edge {
    const char *src, *dst, *label;
};

#define CIRRUS_LOAD_MAX_EDGES 1000 /* edges with their new vertices in one cirrus_load_edges */

/* A vertex (src and dst NULL) or an edge to cirrus_load_graph. id: a vertex's, required; an
 * edge's, NULL or "": generated. label NULL or "": "vertex" / "edge". props: scalar values
 * (name: the key, not empty); an edge key may not repeat. */
struct cirrus_load_element {
    const char *id, *label;
    const char *src, *dst;
    const struct cirrus_field *props;
    size_t n_props;
};

/* ---- results ---- */

struct cirrus_table_desc {
    char *name;
    char *pk_name;
    enum cirrus_key_type pk_type;
    char *sk_name; /* NULL: no sort key */
    enum cirrus_key_type sk_type;
    uint32_t table_id;
    uint64_t item_count;
    uint64_t size_bytes;
    int64_t created_ms;
    uint64_t created_index;
};

struct cirrus_write_result {
    int code;                     /* 0 or a CR_E* code */
    struct cirrus_value old_item; /* CIRRUS_NULL unless return_old found one */
};

#define CIRRUS_MAX_VOTERS 16
#define CIRRUS_MAX_FAULTS 16 /* one per peer */

/* Network faults injected into a node's peer transport (testing; docs/raft.md, "Faults in the
 * transport"). */
struct cirrus_fault {
    uint64_t peer;                /* another node's id */
    int drop_out, drop_in;        /* frames to / from peer dropped */
    uint32_t delay_ms, jitter_ms; /* frames to peer held delay + uniform [0, jitter] ms */
    uint32_t loss_pct;            /* frames to peer lost at this rate, 0..100 */
};

struct cirrus_stats {
    uint64_t applied_index;
    uint32_t tables;
    uint64_t connections;
    uint64_t requests;
    uint64_t writes;
    uint64_t commits;
    uint64_t uptime_ms;
    uint64_t map_size;
    uint64_t used_bytes;
    /* Raft, all 0 on a server without --peers; role: 1 follower, 2 pre-candidate, 3
     * candidate, 4 leader */
    uint64_t node_id;
    uint32_t role;
    uint64_t term, leader_id, commit_index;
    uint64_t voters[CIRRUS_MAX_VOTERS]; /* the configuration as the node has applied it */
    size_t n_voters;
    uint64_t snapshot_index;      /* the Raft log starts after it */
    uint64_t snapshots_sent;      /* transfers completed to followers */
    uint64_t snapshots_installed; /* received and installed */
};

/*
 * What a call returns. Each call zeroes *out first and fills the fields listed beside them;
 * everything in it is owned by the result and freed by cirrus_result_free(), which is safe
 * after any call, failed or not (a failed batch still carries its per-op codes).
 */
struct cirrus_result {
    struct cirrus_value item;           /* get: the item; put/delete + return_old: the old one */
    struct cirrus_value *items;         /* query, scan */
    size_t n_items;                     /* query, scan */
    uint64_t scanned;                   /* query, scan: items examined */
    void *cursor;                       /* query, scan: pass back to continue; NULL: done */
    size_t cursor_len;                  /* query, scan */
    char **tables;                      /* list_tables */
    size_t n_tables;                    /* list_tables */
    char *last_evaluated;               /* list_tables: start of the next page; NULL: done */
    struct cirrus_table_desc table;     /* create_table, delete_table, describe_table */
    struct cirrus_write_result *writes; /* batch_write, write_docs: one per op, in order */
    size_t n_writes;                    /* batch_write, write_docs */
    struct cirrus_stats stats;          /* stats; cluster_member: voters, n_voters */
    uint64_t change_index;              /* cluster_member: the change's log entry */
    struct cirrus_collection_desc collection;   /* create/drop/get_collection */
    struct cirrus_collection_desc *collections; /* list_collections (last_evaluated too) */
    size_t n_collections;                       /* list_collections */
    char *etag;        /* document writes and get_doc (item: the document); NULL: none */
    int64_t update_ms; /* document writes and get_doc */
    struct cirrus_graph_desc graph;    /* create/drop/get_graph */
    struct cirrus_graph_desc *graphs;  /* list_graphs (last_evaluated too) */
    size_t n_graphs;                   /* list_graphs */
    uint32_t mutations;                /* gremlin: mutations applied */
    struct cirrus_neighbor *neighbors; /* neighbors */
    size_t n_neighbors;                /* neighbors */
    int more;                          /* neighbors: the limit cut the list */
    uint32_t *depths;                  /* khop: one per item */
    uint32_t vertices_created;         /* load_edges, load_graph (vertices added) */
    uint32_t edges_created;            /* load_graph */
    /* cluster_fault: the node's active faults */
    struct cirrus_fault faults[CIRRUS_MAX_FAULTS];
    size_t n_faults;
};

void cirrus_result_free(struct cirrus_result *r);

/* ---- connections ---- */

struct cirrus;

/*
 * Connects to host:port within timeout_ms (also the default for every later call; <= 0 means
 * wait forever). *out is the caller's until cirrus_close(). CR_ECONNECT (resolution, refusal,
 * or timeout while connecting), CR_ENOMEM, CR_EINVAL.
 */
int cirrus_connect(const char *host, int port, int timeout_ms, struct cirrus **out);
/* Closes the socket and frees the connection. NULL is allowed. */
void cirrus_close(struct cirrus *c);
void cirrus_set_timeout(struct cirrus *c, int timeout_ms);
void cirrus_set_max_frame(struct cirrus *c, uint32_t bytes);
/* The last error's text; "ok" after a success. Owned by c, valid until its next call. */
const char *cirrus_errmsg(const struct cirrus *c);
/* The serving replica's applied index from the last response: the SESSION token. */
uint64_t cirrus_last_applied_index(const struct cirrus *c);
/* How many entries the serving replica was behind its commit index, from the last response. */
uint64_t cirrus_last_lag(const struct cirrus *c);

/* ---- synchronous calls: send one request, wait for its response ---- */
/* Don't call these while asynchronous requests are outstanding (CR_EPROTO if one answers). */

int cirrus_ping(struct cirrus *c);
/* sk_name NULL: no sort key. Fills out->table. CR_ETABLEEXISTS, CR_ENAME, CR_ESCHEMA. */
int cirrus_create_table(struct cirrus *c, const char *name, const char *pk_name,
                        enum cirrus_key_type pk_type, const char *sk_name,
                        enum cirrus_key_type sk_type, struct cirrus_result *out);
/* Fills out->table. CR_ENOTABLE. */
int cirrus_delete_table(struct cirrus *c, const char *name, struct cirrus_result *out);
/* Fills out->table. CR_ENOTABLE. */
int cirrus_describe_table(struct cirrus *c, const char *name, const struct cirrus_read_opts *ro,
                          struct cirrus_result *out);
/* Names after exclusive_start (NULL: from the first), at most limit (0: server default).
 * Fills out->tables and out->last_evaluated. */
int cirrus_list_tables(struct cirrus *c, const char *exclusive_start, uint32_t limit,
                       const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* item must be a CIRRUS_MAP. With return_old, out->item is the replaced item (NULL if none).
 * CR_ENOTABLE, CR_ECONDITION, CR_EMISSINGKEY, CR_ETYPE, CR_EITEMTOOBIG, CR_EKEYTOOBIG. */
int cirrus_put_item(struct cirrus *c, const char *table, const struct cirrus_value *item,
                    const struct cirrus_write_opts *wo, struct cirrus_result *out);
/* key must be a CIRRUS_MAP of the key attributes. Fills out->item.
 * CR_ENOTFOUND when there is no such item; CR_ENOTABLE, CR_EMISSINGKEY, CR_ETYPE. */
int cirrus_get_item(struct cirrus *c, const char *table, const struct cirrus_value *key,
                    const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* Like put; deleting a missing item succeeds (out->item stays NULL). */
int cirrus_delete_item(struct cirrus *c, const char *table, const struct cirrus_value *key,
                       const struct cirrus_write_opts *wo, struct cirrus_result *out);
/* Fills out->items, scanned and cursor. CR_ENOTABLE, CR_ECURSOR, CR_ETYPE. */
int cirrus_query(struct cirrus *c, const char *table, const struct cirrus_query *q,
                 const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* Fills out->items, scanned and cursor. CR_ENOTABLE, CR_ECURSOR, CR_EINVAL. */
int cirrus_scan(struct cirrus *c, const char *table, const struct cirrus_scan *s,
                const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* All or nothing. Fills out->writes (also on failure, when the server sent them): the op
 * that failed has its code, the others CR_EABORTED. CR_ETOOMANY and every put/delete code. */
int cirrus_batch_write(struct cirrus *c, const struct cirrus_write_op *ops, size_t n,
                       struct cirrus_result *out);
/* Fills out->stats. */
int cirrus_stats(struct cirrus *c, struct cirrus_result *out);

/* Adds node_id as a voter whose Raft peer address is address ("HOST:PORT"; the node was started
 * with --join), or removes voter node_id (address unused), on the leader; returns once the
 * change is applied there. Fills out->change_index and out->stats.voters. CR_ENOTLEADER (the
 * message names the leader), CR_EINVAL (a cluster of one, a bad address, adding a voter,
 * removing a non-voter or the last one), CR_ETIMEOUT (not applied in time). */
int cirrus_cluster_member(struct cirrus *c, int remove, uint64_t node_id, const char *address,
                          struct cirrus_result *out);

/* Injects network faults into the connected node's peer transport (testing): each f[i] replaces
 * the faults toward its peer (an entry with no fault clears that peer), the other peers keep
 * theirs; heal clears every peer first; n 0 and no heal only asks. Fills out->faults and
 * out->n_faults with the faults now active. CR_EINVAL: a server without a cluster, a peer 0 or
 * that node itself, loss above 100, a delay or jitter above 60000 ms, n above
 * CIRRUS_MAX_FAULTS. */
int cirrus_cluster_fault(struct cirrus *c, const struct cirrus_fault *f, size_t n, int heal,
                         struct cirrus_result *out);

/* Collections. CR_EEXISTS, CR_ENAME, CR_EINVAL (a bad path or pattern), CR_ETOOMANY. Fills
 * out->collection. pk_path NULL: no partition key; ix NULL: every path indexed. */
int cirrus_create_collection(struct cirrus *c, const char *db, const char *name,
                             const char *pk_path, const struct cirrus_indexing *ix,
                             struct cirrus_result *out);
/* Drops the collection with its documents. CR_ENOCOLL. Fills out->collection. */
int cirrus_drop_collection(struct cirrus *c, const char *db, const char *name,
                           struct cirrus_result *out);
/* CR_ENOCOLL. Fills out->collection with its document count and size. */
int cirrus_get_collection(struct cirrus *c, const char *db, const char *name,
                          const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* Collections of db after exclusive_start (NULL: the first), at most limit (0: 100). Fills
 * out->collections and out->last_evaluated. */
int cirrus_list_collections(struct cirrus *c, const char *db, const char *exclusive_start,
                            uint32_t limit, const struct cirrus_read_opts *ro,
                            struct cirrus_result *out);

/* Documents. doc must be a CIRRUS_MAP with a string "id". Fills out->item (the document as
 * stored, with _etag and _ts), out->etag and out->update_ms. CR_ENOCOLL, CR_EEXISTS, CR_ENOTFOUND,
 * CR_ECONDITION, CR_EINVAL, CR_ETYPE, CR_EITEMTOOBIG. */
int cirrus_write_doc(struct cirrus *c, const char *db, const char *coll, enum cirrus_doc_write kind,
                     const struct cirrus_value *doc, const struct cirrus_doc_pre *pre,
                     struct cirrus_result *out);
/* Writes docs[0..n) (n <= 1000) all or nothing, in one log entry. Fills out->writes: the
 * failing document has its code, the others CR_EABORTED. */
int cirrus_write_docs(struct cirrus *c, const char *db, const char *coll,
                      enum cirrus_doc_write kind, const struct cirrus_value *docs, size_t n,
                      struct cirrus_result *out);
/* Fills out->item, out->etag, out->update_ms. CR_ENOTFOUND, CR_ENOCOLL, CR_EINVAL. */
int cirrus_get_doc(struct cirrus *c, const char *db, const char *coll,
                   const struct cirrus_doc_key *key, const struct cirrus_read_opts *ro,
                   struct cirrus_result *out);
/* Deleting a missing document succeeds unless pre asks it to exist. CR_ENOCOLL, CR_ECONDITION. */
int cirrus_delete_doc(struct cirrus *c, const char *db, const char *coll,
                      const struct cirrus_doc_key *key, const struct cirrus_doc_pre *pre,
                      struct cirrus_result *out);
/* Applies ops in order, all or nothing. Fills out like cirrus_write_doc. CR_ENOTFOUND,
 * CR_ECONDITION, CR_EINVAL (a bad path or operand), CR_ETOOMANY. */
int cirrus_patch_doc(struct cirrus *c, const char *db, const char *coll,
                     const struct cirrus_doc_key *key, const struct cirrus_patch_op *ops, size_t n,
                     const struct cirrus_doc_pre *pre, struct cirrus_result *out);
/* One page of a query of the collection FROM names (docs/query.md). Fills out->items (one
 * value per result), out->scanned and out->cursor (the continuation; NULL: done). Parse errors
 * are CR_EINVAL with the position in cirrus_errmsg(); CR_ENOCOLL, CR_ECURSOR, CR_EBUDGET. */
int cirrus_sql(struct cirrus *c, const char *db, const char *query, const struct cirrus_sql *q,
               const struct cirrus_read_opts *ro, struct cirrus_result *out);

/* Graphs (docs/gremlin.md). Fills out->graph. CR_EEXISTS, CR_ENAME. */
int cirrus_create_graph(struct cirrus *c, const char *name, struct cirrus_result *out);
/* Drops the graph with all it holds. CR_ENOCOLL. Fills out->graph. */
int cirrus_drop_graph(struct cirrus *c, const char *name, struct cirrus_result *out);
/* CR_ENOCOLL. Fills out->graph. */
int cirrus_get_graph(struct cirrus *c, const char *name, const struct cirrus_read_opts *ro,
                     struct cirrus_result *out);
/* Graphs after exclusive_start (NULL: the first), at most limit (0: 100). Fills out->graphs and
 * out->last_evaluated. */
int cirrus_list_graphs(struct cirrus *c, const char *exclusive_start, uint32_t limit,
                       const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* Runs a Gremlin script; its mutations are applied as one log entry before it answers. Fills
 * out->items (Cosmos DB shapes) and out->mutations. budget 0: the server's. Parse errors are
 * CR_EINVAL with their position in cirrus_errmsg(); CR_ENOCOLL, CR_EBUDGET, CR_ETOOMANY,
 * CR_ENOTFOUND, CR_EEXISTS. */
int cirrus_gremlin(struct cirrus *c, const char *graph, const char *script,
                   const struct cirrus_binding *bindings, size_t n_bindings, uint64_t budget,
                   const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* The adjacency entries of vertex. Fills out->neighbors and out->more. */
int cirrus_neighbors(struct cirrus *c, const char *graph, const char *vertex,
                     const struct cirrus_walk *w, const struct cirrus_read_opts *ro,
                     struct cirrus_result *out);
/* The distinct vertices within k hops (vertex excluded), in BFS order: out->items (ids) and
 * out->depths. CR_ETOOMANY beyond the limit. */
int cirrus_khop(struct cirrus *c, const char *graph, const char *vertex, uint32_t k,
                const struct cirrus_walk *w, const struct cirrus_read_opts *ro,
                struct cirrus_result *out);
/* An unweighted shortest path: out->items, the vertex ids from `from` to `to` (none: no path),
 * out->scanned the vertices visited. CR_EBUDGET beyond max_nodes (0: 1000000). w->limit unused. */
int cirrus_shortest_path(struct cirrus *c, const char *graph, const char *from, const char *to,
                         const struct cirrus_walk *w, uint64_t max_nodes,
                         const struct cirrus_read_opts *ro, struct cirrus_result *out);
/* Adds edges[0..n) in one log entry, first creating (with vertex_label, NULL: "vertex") the
 * endpoints the graph lacks: out->vertices_created. At most CIRRUS_LOAD_MAX_EDGES mutations in
 * all (CR_ETOOMANY). */
int cirrus_load_edges(struct cirrus *c, const char *graph, const struct cirrus_edge *edges,
                      size_t n, const char *vertex_label, struct cirrus_result *out);
/* Adds vertices[0..nv), then edges[0..ne), with their properties, in one log entry (all or
 * nothing): out->vertices_created, out->edges_created. A vertex id the graph holds is
 * CR_EEXISTS; an edge whose endpoints are missing (neither in the graph nor in this call) is
 * CR_ENOTFOUND. At most CIRRUS_LOAD_MAX_EDGES elements in all (CR_ETOOMANY); CR_EINVAL for an
 * empty id or key, or a property value that is not a scalar. */
int cirrus_load_graph(struct cirrus *c, const char *graph,
                      const struct cirrus_load_element *vertices, size_t nv,
                      const struct cirrus_load_element *edges, size_t ne,
                      struct cirrus_result *out);

/* ---- pipelined calls ---- */
/*
 * cirrus_send_* queue a request without waiting and give its id; queued bytes go out when
 * 64 KiB accumulate, on cirrus_flush(), or on cirrus_recv(). cirrus_recv() waits for the next
 * response of any outstanding request and gives its id and code (0 or the server's CR_E*);
 * its result body is dropped: this interface is for load, not data. Keep the number in
 * flight bounded: the server stops reading when its output backs up.
 * Send errors: CR_ENOMEM, CR_EINVAL, CR_ENESTING, and I/O errors when a flush happens.
 * cirrus_recv errors: CR_ECLOSED, CR_ETIMEOUT, CR_EPROTO.
 */
int cirrus_send_get(struct cirrus *c, const char *table, const struct cirrus_value *key,
                    const struct cirrus_read_opts *ro, uint64_t *id);
int cirrus_send_put(struct cirrus *c, const char *table, const struct cirrus_value *item,
                    uint64_t *id);
int cirrus_flush(struct cirrus *c);
int cirrus_recv(struct cirrus *c, uint64_t *id, int *code);

#endif
