/*
 * The document query language: a subset of Cosmos DB's NoSQL query language (docs/query.md has
 * the grammar, every function and the semantics). Pure functions over struct value: a lexer and
 * parser that build a bound query, a printer, an expression evaluator and an in-memory executor
 * that pulls documents from a caller's source, a planner that decides, from the indexes a
 * collection has (storage's indexing policy and its rules), which documents that source must
 * yield (sql_plan, sql_explain), and the source that reads a plan from a storage read transaction
 * (sql_storage_source). No writes, no sockets, no clock: the source reads what the plan says; the
 * executor filters, joins, groups, sorts and projects.
 *
 *   SELECT [DISTINCT] [TOP n] {* | VALUE expr | expr [AS name], ...}
 *   FROM coll [[AS] alias] [JOIN x IN expr]... [WHERE expr] [GROUP BY expr, ...]
 *   [ORDER BY expr [ASC | DESC], ...] [OFFSET n LIMIT m]
 *
 * Values: documents and results are struct value trees. Numbers are Cosmos's IEEE doubles:
 * INT, DOUBLE and DECIMAL are all numbers and compare numerically (value_compare); arithmetic
 * converts its operands to double, and every number the language produces (literals, arithmetic,
 * functions, SUM, AVG, COUNT) is a VT_INT when it is integral and |x| <= 2^53 and not -0, else a
 * VT_DOUBLE. "undefined" exists only inside the evaluator (a NULL value pointer); results never
 * contain it: undefined fields are left out of objects and array constructors, and an undefined
 * SELECT VALUE gives no row. Types Cosmos lacks (bytes, timestamps, geopoints, refs) are each a
 * type of their own: equal and ordered only among themselves, sorted by value_compare's ranks.
 *
 * Memory: sql_parse builds everything in the caller's arena and borrows the query text. A run
 * (sql_run_*) owns three arenas of its own, freed by sql_run_close; it borrows the query, the
 * parameter values and each document the source yields (a document must stay valid until the
 * source's next call).
 *
 * Errors: 0 or a negative CR_E* code, with struct sql_err filled in (code, position, message):
 *   CR_EINVAL    syntax errors ("expected FROM at 1:10, found 'FORM'"), unknown functions, wrong
 *                argument counts, unresolved names, misplaced aggregates, a bad TOP/OFFSET/LIMIT
 *                value, a parameter the query uses but the caller did not supply
 *   CR_ETOOLONG  query text longer than SQL_MAX_LEN
 *   CR_ENESTING  an expression tree higher than SQL_MAX_DEPTH, or parentheses and prefix
 *                operators nested more than 2 * SQL_MAX_DEPTH + 1 deep
 *   CR_ETOOMANY  more than SQL_MAX_PARAMS parameters or SQL_MAX_JOINS joins
 *   CR_EBUDGET   a run exceeded its work budget
 *   CR_ENOMEM    an arena could not allocate
 *   and whatever the source's next() returns.
 */
#ifndef CR_SQL_H
#define CR_SQL_H

#include "common/arena.h"
#include "common/buf.h"
#include "storage/storage.h"
#include "storage/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQL_MAX_LEN (256 * 1024) /* bytes of query text */
#define SQL_MAX_DEPTH 128        /* expression tree height */
#define SQL_MAX_PARAMS 256       /* distinct @parameters used by a query or supplied to a run */
#define SQL_MAX_JOINS 10         /* Cosmos DB's limit */
/* Work units a run may spend unless told otherwise: one per document read, per joined row, per
 * expression node evaluated, per comparison made by sorting, grouping and DISTINCT, per step of
 * LIKE and string searches, and per 16 bytes of strings built. */
#define SQL_DEFAULT_BUDGET 50000000u
/* Bytes of rows, sort keys and groups a buffered run (ORDER BY not served by an index, GROUP BY,
 * DISTINCT, aggregates) may hold (value_ddb_size of each copy): beyond, CR_EBUDGET. */
#define SQL_MAX_HELD (64u << 20)
#define SQL_ERR_MAX 256

struct sql_err {
    int code;
    unsigned line, col; /* 1-based position in the text; 0 when the error has none */
    char msg[SQL_ERR_MAX];
};

/* A parsed and bound query (names resolved, aggregates placed, output names given). */
struct sql_query;

/* Parses text (not NUL-terminated). The query borrows text. */
int sql_parse(struct cr_arena *a, const char *text, size_t len, struct sql_query **out,
              struct sql_err *err);

/* Appends the canonical text of q to out: keywords upper-case, every compound subexpression in
 * parentheses, strings double-quoted. Parsing it gives a query equal to q (sql_query_equal).
 * CR_ENOMEM. */
int sql_print(const struct sql_query *q, struct cr_buf *out);

/* Same clauses, same expressions (numbers by value, names exactly), positions ignored. */
bool sql_query_equal(const struct sql_query *a, const struct sql_query *b);

/* The collection named in FROM (not NUL-terminated). */
const char *sql_query_collection(const struct sql_query *q, size_t *len);

/* A query parameter; name includes the '@'. */
struct sql_param {
    const char *name;
    size_t name_len;
    const struct value *value;
};

/* Where documents come from: next() sets *doc and returns 1, returns 0 at the end, or a negative
 * CR_E* code, which the run passes on. *doc must stay valid until next() is called again. */
struct sql_source {
    void *ctx;
    int (*next)(void *ctx, const struct value **doc);
};

struct sql_group;
struct sql_row;

/* One execution of a query. Fields are private to query/sql_exec.c; the struct is public so the
 * caller can own it (a page of results is a few sql_run_next calls; the state needed to go on is
 * all here: the current document, the JOIN cursors, how many rows were skipped and returned). */
struct sql_run {
    const struct sql_query *q;
    struct sql_source src;
    const struct value **params; /* by the query's parameter index */
    struct cr_arena run, doc, row;
    uint64_t work, budget;
    uint64_t held;             /* bytes of values a buffered run has copied (SQL_MAX_HELD) */
    const struct value **bind; /* current document and JOIN elements */
    size_t *join_pos;          /* next element per JOIN level */
    const struct value **join_src;
    int depth; /* JOIN levels bound for the current document; -1 before the first */
    bool buffered, loaded, done;
    bool ordered;        /* the source yields rows in ORDER BY order: no sort */
    uint64_t skip, take; /* OFFSET left to skip; rows left to return (TOP and LIMIT) */
    struct sql_row *rows;
    size_t n_rows, cap_rows, pos;
    struct sql_group *groups;
    size_t n_groups, cap_groups;
};

/* Binds the parameters (each name the query uses must be given; extra ones are ignored) and
 * evaluates TOP, OFFSET and LIMIT. budget 0 means SQL_DEFAULT_BUDGET. On error nothing needs
 * closing. */
int sql_run_init(struct sql_run *r, const struct sql_query *q, const struct sql_param *params,
                 size_t n_params, const struct sql_source *src, uint64_t budget,
                 struct sql_err *err);

/* The next result: returns 1 and sets *out, 0 when there are no more, or an error (after which
 * only sql_run_close is allowed). *out is valid until the next sql_run_next or sql_run_close and
 * may borrow from the source's current document. Queries without ORDER BY, GROUP BY, DISTINCT or
 * aggregates stream: each call reads only as many documents as it needs. */
int sql_run_next(struct sql_run *r, const struct value **out, struct sql_err *err);

/* The source already yields documents in ORDER BY order (a plan's `ordered`): the run does not
 * sort and, without DISTINCT, streams, so TOP and LIMIT stop reading early. Call it after
 * sql_run_init, before the first sql_run_next. */
void sql_run_set_ordered(struct sql_run *r);

void sql_run_close(struct sql_run *r);

/* The whole run in one call: every result deep-copied into a (an arena-allocated array, *n of
 * them). */
int sql_exec(const struct sql_query *q, const struct sql_param *params, size_t n_params,
             const struct sql_source *src, uint64_t budget, struct cr_arena *a, struct value **out,
             size_t *n, struct sql_err *err);

/* ---- the planner (sql_plan.c; docs/query.md, "Planner and EXPLAIN") ----
 *
 * Paths are Cosmos DB's: "/a/b", "/tags/[]" (every element of the array at /tags), a segment in
 * double quotes when it is not a plain name ("/\"odd/name\"/x"). Index patterns end in "/?" (the
 * scalar at the path) or "/\*" (the path and everything below it); "/\*" alone is every path.
 */

/* A path the planner reads an index of: storage's segments (SEG_FIELD, SEG_ELEMENTS) and the
 * Cosmos text. Which paths have entries is storage's decision (doc_rules_indexed over the
 * collection's struct indexing_policy), never the planner's. */
struct sql_path {
    const struct doc_seg *segs;
    size_t n;
    const char *text; /* NUL-terminated */
};

enum sql_bound_kind {
    SQL_OPEN, /* unbounded: up to the end of the range's type, never beyond */
    SQL_INCL,
    SQL_EXCL,
};

struct sql_bound {
    enum sql_bound_kind kind;
    struct value v; /* INCL, EXCL: a value of the range's type */
};

/* A range of index values of ONE type (Cosmos compares only within a type: c.a > 5 holds for
 * numbers only): rank is value_rank() of that type (0 null, 1 bool, 2 numbers, 3 timestamps,
 * 4 strings, 5 bytes, 6 refs, 7 geopoints), and lo and hi bound it within the type in
 * value_compare order. A point (equality) is lo == hi, both INCL. */
struct sql_range {
    int rank;
    struct sql_bound lo, hi;
};

/* v has r's type and lies within its bounds. */
bool sql_range_contains(const struct sql_range *r, const struct value *v);

enum sql_access {
    SQL_FULL_SCAN,  /* every document */
    SQL_EMPTY,      /* no document can pass WHERE: read nothing */
    SQL_INDEX_SCAN, /* path's entries in ranges */
    SQL_COMPOSITE,  /* a composite index: equal values on its first n_eq paths, then ranges */
};

struct sql_plan_cand; /* a candidate the planner weighed, for EXPLAIN */

/* A plain field path WHERE binds to one scalar (c.pk = 5): every row that passes has it there. */
struct sql_point {
    struct sql_path path;
    struct value v;
};

/* How to read a query's documents. The source must yield every document that has an entry in the
 * ranges, each document once, in this order: the ranges one after the other as listed (sorted,
 * disjoint, in reading order), entries within a range in index order — for INDEX_SCAN ascending
 * values, descending when reverse; for COMPOSITE the index's declared order (each path ASC or
 * DESC), backwards when reverse — then by document key. Documents come whole and the run
 * re-evaluates all of WHERE on each (the index only narrows the candidates), so reading a
 * superset is always correct; only the order matters when `ordered`. */
struct sql_plan {
    enum sql_access access;
    struct sql_path path;           /* INDEX_SCAN: the index's path (may contain "[]") */
    size_t composite;               /* COMPOSITE: its position in policy->composite */
    const struct value *eq;         /* COMPOSITE: values of its first n_eq paths (scalars) */
    size_t n_eq;                    /* COMPOSITE */
    const struct sql_range *ranges; /* INDEX_SCAN: at least one; COMPOSITE: ranges of path n_eq */
    size_t n_ranges;                /* (COMPOSITE: none means that path is not restricted) */
    bool reverse; /* INDEX_SCAN: descending values; COMPOSITE: against its declared order */
    bool dedup;   /* a "[]" path: a document may have several entries; yield it once */
    bool ordered; /* rows come in ORDER BY order: call sql_run_set_ordered */
    bool sort;    /* ORDER BY still needs the run's sort (ORDER BY and !ordered) */
    const struct sql_query *q;
    const struct indexing_policy *policy;
    const struct sql_plan_cand *cands; /* the usable indexes, best first (the chosen one) */
    size_t n_cands;
    const struct sql_point *points; /* a source may read only the partition a point names */
    size_t n_points;
};

/* Plans q over a collection indexed as policy says (its patterns answered by storage's
 * doc_rules_indexed, its composite indexes by position), with the run's parameters (a parameter
 * without a value makes the predicates that use it unusable; it is not an error here). Everything
 * is allocated from a; the plan borrows q, policy and the parameter values. CR_EINVAL (with err)
 * for a malformed pattern or composite path in policy, CR_ENOMEM. */
int sql_plan(struct cr_arena *a, const struct sql_query *q, const struct indexing_policy *policy,
             const struct sql_param *params, size_t n_params, struct sql_plan *out,
             struct sql_err *err);

/* Appends EXPLAIN's text of p to out: one "name: value" line per fact, in a fixed order
 * (docs/query.md). CR_ENOMEM. */
int sql_explain(const struct sql_plan *p, struct cr_buf *out);

/* ---- a plan read from storage (sql_source.c; docs/query.md, "Reading a plan from storage") ----
 *
 * The source yields the documents plan p reads from collection c in read transaction t: a full
 * scan, or each of the plan's ranges in order over its index (a composite index: the entries with
 * the plan's equal values whose next value lies in the range), each document fetched from its
 * entry and yielded once; of one partition when opts->partition is set (its has_pk and pk) or
 * when one of the plan's points is c's partition key path.
 * When storage cannot serve the plan's index (doc_path_indexed refuses the path, or the plan
 * names a composite index c does not have) it falls back to a full scan: never wrong, slower,
 * and then not in the plan's order (sql_storage_set_ordered does nothing).
 *
 * Memory: the source state comes from a; storage pages and documents from arenas of its own,
 * freed by sql_storage_close. A yielded document is valid until the next call of next(). It
 * borrows t, c and p, which must outlive it. next() returns storage's errors (CR_ECURSOR for a
 * position that does not fit the storage's cursors, CR_ENOMEM, CR_EIO, CR_ECORRUPT).
 */
struct sql_storage;

struct sql_storage_opts {
    const struct doc_key *partition; /* NULL: every partition */
    uint32_t page;                   /* entries per storage page; 0: a default */
};

/* CR_ENOMEM. On success *out must be closed with sql_storage_close; *src reads it. */
int sql_storage_source(struct storage_txn *t, const struct coll_def *c, const struct sql_plan *p,
                       const struct sql_storage_opts *opts, struct cr_arena *a,
                       struct sql_storage **out, struct sql_source *src);

/* Tells r the rows come in ORDER BY order (sql_run_set_ordered) when the plan says so, the source
 * reads it as planned, and no value the order rests on can be cut in the index keys (long strings
 * and bytes sharing a key prefix come in hash order; docs/query.md): else the run sorts. Call
 * after sql_run_init, before the first sql_run_next. */
void sql_storage_set_ordered(const struct sql_storage *s, struct sql_run *r);

/* Whether the source reads a full scan in place of the plan's index. */
bool sql_storage_fallback(const struct sql_storage *s);

/* Appends the source's position to out: where the document after the last one yielded is (at
 * most 17 + 512 bytes; the format is in sql_source.c and docs/query.md). CR_ENOMEM. */
int sql_storage_save(const struct sql_storage *s, struct cr_buf *out);

/* Moves a source of the same collection and plan to a saved position: the next document is the
 * one that followed it. CR_ECURSOR when pos is malformed or from another access path; CR_ENOMEM. */
int sql_storage_restore(struct sql_storage *s, const uint8_t *pos, size_t len);

void sql_storage_close(struct sql_storage *s);

#endif
