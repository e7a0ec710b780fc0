/*
 * THE internal operation interface (DESIGN.md principle 3): every front end — the native
 * protocol now, the DynamoDB, Firestore and Cosmos dialects later — translates its wire format
 * into these calls and back. C structs in and out (struct value, struct table_def, storage's
 * mutation structs); no protobuf, JSON or socket here. Errors are a CR_E* code plus specific
 * text in struct errmsg.
 *
 * Reads run synchronously on the calling thread in the connection's read transaction: each
 * read renews the snapshot if none is live, and its results borrow from it (and from the
 * arena) until ops_conn_release(). Call ops_conn_release() after every request, once its
 * results are encoded: a live snapshot pins old pages and would hide later writes.
 *
 * Writes are validated completely (names, table existence, keys, item size, batch size) BEFORE
 * anything is proposed, then encoded as one LogEntry and proposed to the log; the result comes
 * back through a callback on the thread that owns the connection's log_completer.
 *
 * Consistency: a cluster of one meets every level at once. On a Raft node (--peers), STRONG (and
 * the default) waits for a ReadIndex round that began after the read arrived (on a follower the
 * leader answers it) and for the apply of that index; one round serves every STRONG read that
 * arrived before it began, on any connection (ops_read_batch_begin). BOUNDED_STALENESS is served
 * locally within its bounds and takes the STRONG path beyond them; SESSION waits for the token's
 * apply; CONSISTENT_PREFIX and EVENTUAL never wait.
 */
#ifndef CR_SERVER_OPS_H
#define CR_SERVER_OPS_H

#include "common/arena.h"
#include "server/errmsg.h"
#include "query/gremlin.h"
#include "query/sql.h"
#include "server/repl/log.h"
#include "storage/storage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_LIST_TABLES_DEFAULT 100 /* ListTables limit 0 */
#define CR_LIST_TABLES_MAX 100     /* CR_EINVAL beyond, as DynamoDB */
#define CR_MAX_SCAN_SEGMENTS 1000000

/* Mirrors proto Consistency (the numbers are the same). OPS_DEFAULT reads as STRONG. */
enum ops_consistency {
    OPS_DEFAULT = 0,
    OPS_STRONG = 1,
    OPS_BOUNDED_STALENESS = 2,
    OPS_SESSION = 3,
    OPS_CONSISTENT_PREFIX = 4,
    OPS_EVENTUAL = 5,
};

struct ops_read_opts {
    enum ops_consistency level;
    uint64_t session_token;   /* SESSION: the applied index the client has seen */
    uint64_t max_lag_entries; /* BOUNDED_STALENESS */
    uint64_t max_lag_ms;      /* BOUNDED_STALENESS */
};

/* Reported with every read result (and every write, for the entry's index). */
struct ops_read_info {
    uint64_t applied_index; /* of the snapshot that served the read: the session token */
    uint64_t lag;           /* entries behind the commit index; 0 in a cluster of one */
};

/*
 * ReadIndex rounds shared by STRONG reads (ops.c, strong_barrier), numbered from 1 in the order
 * they begin; they may overlap (one per network thread at most) and end in any order. A read
 * that arrived when `begun` rounds had begun may be served by any round numbered above that
 * which succeeded: it began after the read arrived, and its index was applied when it ended.
 * A read joins such a round when one is running, and begins one otherwise.
 */
#define OPS_MAX_LISTENERS 128 /* event loops told when a round ends (ops_round_listen) */
#define OPS_ROUND_THREADS 1   /* round threads for parked reads (4 measured slower on 2 cores) */

struct ops_rounds {
    pthread_mutex_t mu;
    pthread_cond_t cond;    /* broadcast when a round ends */
    _Atomic uint64_t begun; /* written under mu */
    uint64_t ok;            /* the highest round that succeeded; 0: none */
    uint64_t failed;        /* the highest round that failed, with its code */
    int code;
    /* the round threads, for parked reads (ops_conn.park): started by the first one */
    pthread_t threads[OPS_ROUND_THREADS];
    size_t n_threads;
    bool started, stopping;
    bool wanted; /* a parked read waits for a round begun after now */
    pthread_cond_t wanted_cond;
    struct {
        void (*fn)(void *arg); /* called on the round thread after each of its rounds */
        void *arg;
    } listeners[OPS_MAX_LISTENERS];
    size_t n_listeners;
};

/* Shared server state; allocated by the caller, lives for the process. */
struct ops {
    struct storage *storage;
    struct log *log;
    bool clustered; /* a Raft node: STRONG reads need ReadIndex rounds */
    char data_dir[4096];
    uint64_t map_size;
    uint64_t start_ns; /* CLOCK_MONOTONIC */
    _Atomic uint64_t connections, requests;
    struct ops_rounds rounds;
};

/* map_size: what storage was opened with (0: CR_DEFAULT_MAP_SIZE), reported by Stats. The log
 * must be initialised (log_init) before: ops_init asks it whether it is clustered. */
void ops_init(struct ops *o, struct storage *s, struct log *l, const char *data_dir,
              uint64_t map_size);

/* Stops the round thread, if parked reads started it; before the log closes. */
void ops_close(struct ops *o);

/* Registers fn(arg), called (on the round thread) after each round it runs: a front end wakes
 * the loop whose parked reads may now go on (ops_read_parked_ready). Before serving. */
void ops_round_listen(struct ops *o, void (*fn)(void *arg), void *arg);

/* Counts one request of any front end for Stats. */
void ops_note_request(struct ops *o);

/*
 * One per client connection of any front end, owned by the connection's thread. The read
 * transaction is begun lazily (one LMDB reader slot per connection: open storage with
 * max_readers above the connection limit). `completer` receives this connection's write
 * completions.
 */
struct ops_conn {
    struct ops *ops;
    struct log_completer *completer;
    struct storage_txn *txn; /* NULL until the first read */
    bool live;               /* txn holds a snapshot */
    bool batch;              /* between ops_read_batch_begin and _end */
    uint64_t arrived;        /* in a batch: ops_rounds.begun when it began */
    /* Set by a front end around a request it can park: a STRONG read with no round yet to
     * serve it then fails with CR_EPARKED (nothing done, nothing answered) instead of blocking
     * the thread, and the round thread runs the round; once ops_read_parked_ready, the front end
     * runs the request again in the same batch (arrived kept). */
    bool park;
};

/* Whether the request parked on c may run again: a round begun after its arrival has ended
 * (succeeded or failed: a failed one fails the read when it runs again). */
bool ops_read_parked_ready(struct ops_conn *c);

void ops_conn_init(struct ops *o, struct log_completer *completer, struct ops_conn *c);

/*
 * A front end brackets the requests it takes from one input buffer with these: they all arrived
 * before ops_read_batch_begin, so every STRONG read among them may be served by one ReadIndex
 * round begun after it (the first such read runs it, or joins one that began after the batch
 * did). Outside a batch, each STRONG read counts as arriving when it starts. A batch must end
 * before the front end waits for more input: a read that arrives later needs a later round.
 */
void ops_read_batch_begin(struct ops_conn *c);
void ops_read_batch_end(struct ops_conn *c);

/* Ends the snapshot of the last request; everything borrowed from it becomes invalid. */
void ops_conn_release(struct ops_conn *c);
/* Releases and ends the read transaction. In-flight writes may still complete afterwards. */
void ops_conn_close(struct ops_conn *c);

/* ---- reads: 0 or a CR_E*, with text in e ----------------------------------------------- */

/* CR_ENOTABLE. *stats may be NULL. */
int ops_describe_table(struct ops_conn *c, const struct ops_read_opts *ro, const char *table,
                       size_t table_len, struct table_def *def, struct table_stats *stats,
                       struct ops_read_info *info, struct errmsg *e);

/* The indexes of def (from ops_describe_table in the same request: its snapshot) with their
 * stats, arena-allocated; *n 0 when there are none. */
int ops_describe_indexes(struct ops_conn *c, const struct table_def *def, struct cr_arena *a,
                         struct index_def **idx, struct table_stats **stats, size_t *n,
                         struct errmsg *e);

/* The tags of def (from ops_describe_table in the same request: its snapshot), in key order,
 * arena-allocated; *n 0 when there are none. */
int ops_describe_tags(struct ops_conn *c, const struct table_def *def, struct cr_arena *a,
                      struct table_tag **tags, size_t *n, struct errmsg *e);

/* Tables in name order strictly after `after` (NULL/empty: the first). limit 0 means
 * CR_LIST_TABLES_DEFAULT; above CR_LIST_TABLES_MAX is CR_EINVAL. *defs is arena-allocated. */
int ops_list_tables(struct ops_conn *c, const struct ops_read_opts *ro, const char *after,
                    size_t after_len, uint32_t limit, struct cr_arena *a, struct table_def **defs,
                    size_t *n, bool *more, struct ops_read_info *info, struct errmsg *e);

/* key: a MAP with exactly the key attributes. *found false (and 0 returned) when there is no
 * such item. CR_ENOTABLE, and kv_extract_key's errors. */
int ops_get_item(struct ops_conn *c, const struct ops_read_opts *ro, const char *table,
                 size_t table_len, const struct value *key, struct cr_arena *a, bool *found,
                 struct value *item, struct ops_read_info *info, struct errmsg *e);

struct ops_query {
    const char *table;
    size_t table_len;
    const char *index; /* NULL: the table; else the index to read (pk, sk are its key) */
    size_t index_len;
    struct value pk;
    enum sk_op op;
    struct value sk1, sk2; /* sk2: SK_BETWEEN only */
    bool reverse;
    uint32_t limit;
    const uint8_t *cursor; /* from a previous page; NULL: first page */
    size_t cursor_len;
};

/* CR_ENOTABLE, CR_ENOTFOUND (no such index), CR_ETYPE (key values of the wrong type),
 * CR_EINVAL (a sort-key condition on a table or index without a sort key, BETWEEN backwards),
 * CR_ECURSOR. Items from an index are its projected items. */
int ops_query(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_query *q,
              struct cr_arena *a, struct kv_page *out, struct ops_read_info *info,
              struct errmsg *e);

struct ops_scan {
    const char *table;
    size_t table_len;
    const char *index; /* NULL: the table; else the index to read */
    size_t index_len;
    uint32_t limit;
    const uint8_t *cursor;
    size_t cursor_len;
    uint32_t segment, total_segments; /* total 0 or 1: the whole table */
};

/* CR_ENOTABLE, CR_ENOTFOUND (no such index), CR_EINVAL (segment out of range), CR_ECURSOR. */
int ops_scan(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_scan *s,
             struct cr_arena *a, struct kv_page *out, struct ops_read_info *info, struct errmsg *e);

/* ---- collections and documents: reads ----------------------------------------------------
 *
 * Writes to collections and documents are struct mutations given to ops_write like items:
 * MUT_CREATE_COLLECTION (coll: the whole definition), MUT_DROP_COLLECTION (coll.db, coll.name),
 * MUT_DOC_CREATE / REPLACE / UPSERT (coll.db, coll.name, item: the document, a MAP with a string
 * "id"), MUT_DOC_DELETE and MUT_DOC_PATCH (doc_key; patch), each with its preconditions `pre`.
 * ops_write checks what can be checked before proposing (CR_ENOCOLL, CR_EEXISTS for a collection,
 * catalog_coll_check's CR_ENAME / CR_EINVAL / CR_ETOOMANY, a document that is not a MAP or has no
 * string id: CR_EINVAL); apply decides the rest (a document's existence, etags). */

#define OPS_LIST_COLLECTIONS_DEFAULT 100 /* ListCollections limit 0 */
#define OPS_LIST_COLLECTIONS_MAX 1000    /* CR_EINVAL beyond */
#define OPS_SQL_PAGE_DEFAULT 100         /* ops_sql max_items 0 */
#define OPS_SQL_PAGE_MAX 10000           /* CR_EINVAL beyond */
#define OPS_SQL_TOKEN_MAX 1024           /* CR_ECURSOR beyond: a continuation's bytes */

/* db, name: NUL-terminated. CR_ENOCOLL. *stats may be NULL. The policy's strings are in a. */
int ops_get_collection(struct ops_conn *c, const struct ops_read_opts *ro, const char *db,
                       const char *name, struct cr_arena *a, struct coll_def *out,
                       struct table_stats *stats, struct ops_read_info *info, struct errmsg *e);

/* Collections of db in name order strictly after `after` (NULL/empty: the first); limit 0 means
 * OPS_LIST_COLLECTIONS_DEFAULT, above OPS_LIST_COLLECTIONS_MAX is CR_EINVAL. *out and each
 * *stats entry (stats may be NULL) are arena-allocated. */
int ops_list_collections(struct ops_conn *c, const struct ops_read_opts *ro, const char *db,
                         const char *after, uint32_t limit, struct cr_arena *a,
                         struct coll_def **out, struct table_stats **stats, size_t *n, bool *more,
                         struct ops_read_info *info, struct errmsg *e);

/* CR_ENOCOLL, CR_ENOTFOUND (no such document), doc_get's key errors (CR_EINVAL, CR_ETYPE).
 * *out borrows from the snapshot and the arena. */
int ops_get_doc(struct ops_conn *c, const struct ops_read_opts *ro, const char *db,
                const char *coll, const struct doc_key *key, struct cr_arena *a, struct doc *out,
                struct ops_read_info *info, struct errmsg *e);

struct ops_sql {
    const char *db; /* NUL-terminated; the collection is the one FROM names */
    const char *text;
    size_t len;
    const struct sql_param *params;
    size_t n_params;
    uint32_t max_items;  /* 0: OPS_SQL_PAGE_DEFAULT */
    const uint8_t *cont; /* a previous page's continuation; NULL: the first page */
    size_t cont_len;
    uint64_t budget; /* work units per page (sql.h); 0: SQL_DEFAULT_BUDGET */
    bool explain;    /* the plan's text as the one result; so does text "EXPLAIN <query>" */
};

struct ops_sql_page {
    struct value *results; /* arena-allocated, deep copies */
    size_t n;
    uint64_t scanned; /* documents read for this page */
    uint8_t *next;    /* the continuation; NULL when the query is complete */
    size_t next_len;
};

/*
 * One page of a query (docs/query.md; docs/protocol.md, "Continuation tokens"): at most
 * max_items results, and a continuation when more may follow. A query that streams (no ORDER
 * BY, GROUP BY, DISTINCT or aggregates) resumes where the page ended: the token holds the
 * storage position and the run's OFFSET and TOP/LIMIT state. The others are re-run from the start
 * on each page, the token counting the results already returned. A token must come back with the
 * same query text and parameters (their hash is in it: CR_ECURSOR otherwise).
 * Errors: sql_parse's and sql_run's (CR_EINVAL with position, CR_ETOOLONG, CR_ENESTING,
 * CR_ETOOMANY, CR_EBUDGET), CR_ENOCOLL, CR_ECURSOR, CR_EINVAL (max_items above
 * OPS_SQL_PAGE_MAX).
 */
int ops_sql(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_sql *q,
            struct cr_arena *a, struct ops_sql_page *out, struct ops_read_info *info,
            struct errmsg *e);

#define OPS_MAX_VOTERS 16 /* RAFT_MAX_VOTERS */

struct ops_stats {
    uint64_t applied_index;
    uint32_t tables;
    uint64_t connections; /* open now, all front ends */
    uint64_t requests;    /* since start */
    uint64_t writes;      /* mutations applied successfully since start */
    uint64_t commits;     /* group commits (write transactions) since start */
    uint64_t uptime_ms;
    uint64_t map_size;
    uint64_t used_bytes; /* disk blocks of the data directory's files */
    /* Raft (clustered; all 0 in a cluster of one): role is OPS_ROLE_* */
    uint64_t node_id;
    uint32_t role;
    uint64_t term, leader_id, commit_index;
    uint64_t voters[OPS_MAX_VOTERS]; /* the configuration as applied here */
    size_t n_voters;
    uint64_t snapshot_index, snapshots_sent, snapshots_installed;
};

/* ops_stats.role, as StatsResponse.role: enum raft_role + 1, 0 for a cluster of one. */
#define OPS_ROLE_NONE 0
#define OPS_ROLE_FOLLOWER 1 /* then PRE_CANDIDATE 2, CANDIDATE 3, LEADER 4 */

int ops_stats(struct ops_conn *c, struct ops_stats *out, struct errmsg *e);

/* Adds voter id at its Raft peer address addr ("HOST:PORT", numeric host) or removes voter id;
 * on the leader, answered once applied there. *index: the change's entry; voters (*n_voters of
 * them) as after it.
 * CR_EINVAL (a cluster of one, a bad address, adding a voter, removing a non-voter or the last
 * one), CR_ENOTLEADER (naming the leader), CR_ETIMEOUT. Blocks the calling thread. */
int ops_change_member(struct ops_conn *c, bool remove, uint64_t id, const char *addr,
                      uint64_t *index, uint64_t voters[OPS_MAX_VOTERS], size_t *n_voters,
                      struct errmsg *e);

/* ---- writes ------------------------------------------------------------------------------ */

struct ops_write;
typedef void (*ops_write_fn)(struct ops_write *w);

/*
 * One proposed write, allocated by the caller and kept (with its arena) until done() runs.
 * The arena holds the encoded entry and, written by the log's thread while in flight, the
 * results: the caller must not allocate from it until done().
 */
struct ops_write {
    /* set by the caller */
    struct cr_arena *arena;
    ops_write_fn done;
    void *data;
    /* set before done() */
    int code;                        /* 0: the entry was applied; see results. Else CR_EIO,
                                        CR_EFULL, CR_ESHUTDOWN: nothing was applied. */
    uint64_t index;                  /* the entry's log index (the session token) */
    struct mutation_result *results; /* one per mutation, when code == 0 */
    size_t n;
    /* private */
    struct log_proposal prop;
};

/*
 * Validates muts[0..n) completely, encodes them as one LogEntry (all-or-nothing, time set
 * here) and proposes it. Returns 0: w->done will run on the connection's completer thread; or
 * an error, and then done() never runs and nothing was proposed: CR_EINVAL (n == 0),
 * CR_ETOOMANY (n > CR_MAX_BATCH_MUTATIONS), CR_ENAME, CR_ESCHEMA, CR_ETABLEEXISTS,
 * CR_ENOTABLE, CR_EMISSINGKEY, CR_ETYPE, CR_EKEYTOOBIG, CR_EITEMTOOBIG, CR_ENESTING,
 * CR_ENUMBER, CR_EOVERLOAD (queue full), CR_ESHUTDOWN. The mutations are copied into the
 * entry: the caller may free them once this returns. A MUT_UPDATE needs an update hook and a
 * MUT_CHECK a condition (CR_EINVAL); hooks must come from ddb_hook_install, whose expressions
 * the caller has parsed already (ops_write encodes their text, it does not parse them).
 */
int ops_write(struct ops_conn *c, const struct mutation *muts, size_t n, struct ops_write *w,
              struct errmsg *e);
/* As ops_write, with an idempotency token of token_len bytes (1..CR_MAX_TOKEN_LEN, else
 * CR_EINVAL) and the hash of the request that carries it: the entry applies only when the token
 * was not applied within CR_TOKEN_WINDOW_MS, and its results say how it was seen
 * (mutation_result.token; storage.h, struct log_batch). */
int ops_write_token(struct ops_conn *c, const struct mutation *muts, size_t n, const char *token,
                    size_t token_len, uint64_t request_hash, struct ops_write *w, struct errmsg *e);

/* ---- graphs (ops_graph.c) --------------------------------------------------------------------
 *
 * Graph writes are struct mutations (MUT_CREATE_GRAPH ... MUT_GRAPH_DROP_EDGE, operands in
 * `graph`) proposed with ops_write, whose check asks the snapshot what it can tell (the name,
 * CR_EEXISTS for a graph that exists, CR_ENOCOLL for one that does not, id and label types);
 * apply decides the rest. Reads
 * (Gremlin, neighbours, k-hop, shortest path) are served from the connection's snapshot at the
 * asked consistency; a missing graph is CR_ENOCOLL. */

#define OPS_LIST_GRAPHS_DEFAULT 100
#define OPS_LIST_GRAPHS_MAX 1000          /* CR_EINVAL beyond */
#define OPS_NEIGHBORS_DEFAULT 1000        /* ops_graph_neighbors limit 0 */
#define OPS_NEIGHBORS_MAX 100000          /* CR_EINVAL beyond */
#define OPS_KHOP_DEFAULT 100000           /* ops_graph_khop limit 0: vertices */
#define OPS_KHOP_MAX 1000000              /* CR_EINVAL beyond */
#define OPS_PATH_DEFAULT_NODES 1000000    /* ops_graph_shortest_path max_nodes 0 */
#define OPS_GRAPH_MAX_SCANNED 50000000ull /* adjacency entries one traversal reads: CR_EBUDGET */
#define OPS_GRAPH_DEFAULT_VLABEL "vertex" /* ops_graph_load: vertices created on first sight */
#define OPS_GRAPH_DEFAULT_ELABEL "edge"   /* ops_graph_load: edges given no label */
#define OPS_GREMLIN_PROPOSED 1            /* ops_gremlin: a write is in flight */
#define OPS_GREMLIN_MAX_BINDINGS 1024     /* CR_ETOOMANY beyond */

/* name NUL-terminated. CR_ENOCOLL. */
int ops_graph_get(struct ops_conn *c, const struct ops_read_opts *ro, const char *name,
                  struct graph_def *out, struct ops_read_info *info, struct errmsg *e);
/* Graphs in name order strictly after `after` (NULL/empty: the first); limit 0 means
 * OPS_LIST_GRAPHS_DEFAULT, above OPS_LIST_GRAPHS_MAX is CR_EINVAL. *out arena-allocated. */
int ops_graph_list(struct ops_conn *c, const struct ops_read_opts *ro, const char *after,
                   uint32_t limit, struct cr_arena *a, struct graph_def **out, size_t *n,
                   bool *more, struct ops_read_info *info, struct errmsg *e);

struct ops_gremlin {
    const char *graph; /* NUL-terminated */
    const char *text;
    size_t len;
    const struct gremlin_binding *bindings;
    size_t n_bindings;
    uint64_t budget; /* 0: GREMLIN_DEFAULT_BUDGET */
};

struct ops_gremlin_out {
    struct value *results; /* arena-allocated, Cosmos DB shapes (query/gremlin.h) */
    size_t n;
    size_t n_mutations; /* proposed as one entry */
    unsigned line, col; /* an error's position in the script; 0 when it has none */
};

/*
 * Runs a script over the graph's snapshot (gremlin_storage). Returns 0 when it wrote nothing:
 * *out holds the results. OPS_GREMLIN_PROPOSED when it collected mutations: they were proposed
 * as one entry through w (whose arena must be a, set by the caller with its done), the results
 * are in *out already, and w->done runs once the entry is applied (its results say whether it
 * was). Errors: gremlin_parse's and gremlin_exec's (CR_EINVAL with the position, CR_ETOOLONG,
 * CR_ENESTING, CR_ETOOMANY, CR_EBUDGET, CR_ENOTFOUND, CR_EEXISTS), CR_ENOCOLL, CR_ETOOMANY
 * (more than CR_MAX_BATCH_MUTATIONS mutations), ops_write's.
 */
int ops_gremlin(struct ops_conn *c, const struct ops_read_opts *ro, const struct ops_gremlin *q,
                struct cr_arena *a, struct ops_gremlin_out *out, struct ops_write *w,
                struct ops_read_info *info, struct errmsg *e);

struct ops_graph_walk {
    const char *graph; /* NUL-terminated */
    struct value vertex;
    enum graph_dir dir;
    const struct value *labels; /* edge labels; n_labels 0: every one */
    size_t n_labels;
    uint32_t limit; /* neighbours, or k-hop vertices; 0: the default */
};

/* The adjacency entries of one vertex (a missing vertex has none), at most limit; *more when
 * the limit cut them. CR_ENOCOLL, CR_EINVAL (limit), graph_expand's errors. */
int ops_graph_neighbors(struct ops_conn *c, const struct ops_read_opts *ro,
                        const struct ops_graph_walk *q, struct cr_arena *a, struct graph_adj **out,
                        size_t *n, bool *more, struct ops_read_info *info, struct errmsg *e);

/* The distinct vertices within k hops of q->vertex (itself excluded), in BFS order, with their
 * depths. CR_ETOOMANY when more than the limit; CR_EBUDGET past OPS_GRAPH_MAX_SCANNED entries. */
int ops_graph_khop(struct ops_conn *c, const struct ops_read_opts *ro,
                   const struct ops_graph_walk *q, uint32_t k, struct cr_arena *a,
                   struct value **out, uint32_t **depths, size_t *n, struct ops_read_info *info,
                   struct errmsg *e);

/* An unweighted shortest path from q->vertex to `to` by bidirectional BFS (the backward search
 * follows edges the other way); *n 0 when there is none. CR_EBUDGET when more than max_nodes
 * (0: OPS_PATH_DEFAULT_NODES) vertices were visited. *visited: how many were. */
int ops_graph_shortest_path(struct ops_conn *c, const struct ops_read_opts *ro,
                            const struct ops_graph_walk *q, const struct value *to,
                            uint64_t max_nodes, struct cr_arena *a, struct value **path, size_t *n,
                            uint64_t *visited, struct ops_read_info *info, struct errmsg *e);

struct ops_load_edge {
    struct value src, dst; /* STRING ids */
    struct value label;    /* VT_NULL: OPS_GRAPH_DEFAULT_ELABEL */
};

/* Adds edges[0..n) as one entry, first adding (with vlabel, NULL: OPS_GRAPH_DEFAULT_VLABEL)
 * every endpoint the snapshot does not hold; *vertices: how many. CR_ETOOMANY beyond
 * CR_MAX_BATCH_MUTATIONS mutations in all; as ops_write otherwise. */
int ops_graph_load(struct ops_conn *c, const char *graph, const struct ops_load_edge *edges,
                   size_t n, const char *vlabel, struct cr_arena *a, struct ops_write *w,
                   uint32_t *vertices, struct errmsg *e);

/* A vertex or an edge of ops_graph_load_elements: STRING id (VT_NULL: generated, edges only),
 * label (VT_NULL: OPS_GRAPH_DEFAULT_VLABEL / _ELABEL), src and dst (edges), and properties
 * (scalar values; an edge key may not repeat). */
struct ops_load_element {
    struct value id, label;
    struct value src, dst;
    const struct graph_prop *props;
    size_t n_props;
};

/* Adds vertices[0..nv), then edges[0..ne), as one entry (all or nothing). A vertex id the graph
 * holds fails it at apply (CR_EEXISTS), and so does an edge whose endpoints are missing
 * (CR_ENOTFOUND): the CSV loader names its vertices, it never creates them. CR_EINVAL (nothing
 * to load, an empty or non-string id, label or key, a property that is not a scalar),
 * CR_ETOOMANY (nv + ne > CR_MAX_BATCH_MUTATIONS), CR_ENOCOLL; as ops_write otherwise. */
int ops_graph_load_elements(struct ops_conn *c, const char *graph,
                            const struct ops_load_element *vertices, size_t nv,
                            const struct ops_load_element *edges, size_t ne, struct cr_arena *a,
                            struct ops_write *w, struct errmsg *e);

#endif
