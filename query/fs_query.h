/*
 * Firestore structured queries (REST StructuredQuery and RunAggregationQuery) compiled into the
 * document query language, so the Firestore front end runs them with the same planner and
 * executor as SQL (docs/query.md, "Firestore structured queries"). Pure functions: no storage, no
 * JSON; the front end decodes the request into struct fs_query and its Values into struct value.
 *
 * The documents a compiled query reads: each is a MAP of the Firestore document's fields, plus
 * FS_NAME_FIELD ("__name__", a name Firestore reserves, so no user field has it) holding the
 * document's full resource name as a VT_REF ("projects/p/databases/d/documents/users/alice").
 * The source the front end gives the run yields the documents of every collection named
 * collection_id (one collection for a plain query: the parent's; for all_descendants, those at
 * any depth); the compiled WHERE narrows names to the parent's subtree. Firestore values map onto
 * struct value one to one: integerValue VT_INT, doubleValue VT_DOUBLE, timestampValue
 * VT_TIMESTAMP, bytesValue VT_BYTES, referenceValue VT_REF (the full name), geoPointValue
 * VT_GEOPOINT, arrayValue VT_ARRAY, mapValue VT_MAP.
 *
 * Memory: fs_compile allocates everything from the caller's arena and borrows the request's
 * strings and values. Errors: 0, or CR_EINVAL with err->msg Firestore's INVALID_ARGUMENT text
 * (the front end answers 400 INVALID_ARGUMENT with it), or CR_ENOMEM.
 */
#ifndef CR_FS_QUERY_H
#define CR_FS_QUERY_H

#include "query/sql.h"

#define FS_NAME_FIELD "__name__"
#define FS_MAX_DISJUNCTIONS 30 /* terms of the filter's disjunctive normal form */
#define FS_MAX_NOT_IN 10       /* values of a NOT_IN */
#define FS_MAX_INEQUALITY 10   /* fields with inequality filters */
#define FS_MAX_DEPTH 16        /* composite filters nested */
#define FS_MAX_AGGS 5          /* aggregations of one RunAggregationQuery */

/* FieldFilter and UnaryFilter operators. */
enum fs_op {
    FS_LT,
    FS_LE,
    FS_GT,
    FS_GE,
    FS_EQ,
    FS_NE,
    FS_ARRAY_CONTAINS,
    FS_IN,
    FS_ARRAY_CONTAINS_ANY,
    FS_NOT_IN,
    FS_IS_NAN,
    FS_IS_NULL,
    FS_IS_NOT_NAN,
    FS_IS_NOT_NULL,
};

enum fs_filter_kind { FS_FIELD, FS_UNARY, FS_AND, FS_OR };

/* A field path in Firestore's syntax: dot-separated segments, each a simple name
 * ([A-Za-z_][A-Za-z0-9_]*) or back-quoted (`x.y`, with \` and \\ escapes). Not NUL-terminated. */
struct fs_path {
    const char *text;
    size_t len;
};

struct fs_filter {
    enum fs_filter_kind kind;
    enum fs_op op;                /* FIELD, UNARY */
    struct fs_path field;         /* FIELD, UNARY */
    struct value value;           /* FIELD; a VT_ARRAY for IN, NOT_IN and ARRAY_CONTAINS_ANY */
    const struct fs_filter *subs; /* AND, OR: at least one */
    size_t n_subs;
};

struct fs_order {
    struct fs_path field;
    bool desc;
};

/* A cursor: values for a prefix of the query's ordering (the explicit orderBy and the implicit
 * fields after it). startAt: before true is "at", false "after"; endAt: before true is
 * "before", false "at". */
struct fs_cursor {
    const struct value *values;
    size_t n;
    bool before;
};

enum fs_agg_kind { FS_COUNT, FS_SUM, FS_AVG };

struct fs_agg {
    enum fs_agg_kind kind;
    const char *alias; /* NULL: "field_1", "field_2", ... as Firestore names them */
    size_t alias_len;
    struct fs_path field; /* SUM, AVG */
    int64_t up_to;        /* COUNT: 0 when not given */
};

struct fs_query {
    const char *parent; /* "projects/p/databases/d/documents[/coll/doc...]" */
    size_t parent_len;
    const char *collection_id;
    size_t collection_id_len;
    bool all_descendants;          /* a collection-group query */
    const struct fs_filter *where; /* NULL: none */
    const struct fs_order *order_by;
    size_t n_order;
    const struct fs_cursor *start_at, *end_at; /* NULL: none */
    int64_t offset;                            /* 0: none */
    int64_t limit;                             /* -1: none */
    bool limit_to_last;                        /* the SDKs' limitToLast: see fs_compiled.reverse */
    bool has_select; /* a projection: only FS_NAME_FIELD and these fields */
    const struct fs_path *select;
    size_t n_select;
    const struct fs_agg *aggs; /* a RunAggregationQuery when n_aggs > 0 */
    size_t n_aggs;
};

/* One ordering key of the compiled query: explicit, then implicit. */
struct fs_key {
    const char *path; /* canonical field path, NUL-terminated ("a.`x.y`", "__name__") */
    bool desc;
};

struct fs_compiled {
    struct sql_query *q;
    const char *text; /* the SQL q was parsed from, NUL-terminated */
    size_t text_len;
    struct sql_param *params; /* pass to sql_run_init (sql_plan too) */
    size_t n_params;
    const struct fs_key *order; /* the full ordering, after limit_to_last's reversal */
    size_t n_order;
    /* limit_to_last: the query reads in reverse order; the caller returns the rows it gets
     * (at most limit) backwards. */
    bool reverse;
    /* Aggregations: each row is a MAP with "a0".."a<n-1>" holding the aggregated fields (absent
     * when missing); fold the rows with fs_agg_*. */
    const struct fs_agg *aggs;
    size_t n_aggs;
    const char **alias; /* per aggregation, NUL-terminated */
};

/* Validates q as Firestore does and compiles it. err->msg holds the INVALID_ARGUMENT message. */
int fs_compile(struct cr_arena *a, const struct fs_query *q, struct fs_compiled *out,
               struct sql_err *err);

/* ---- aggregation results ---- */

struct fs_agg_acc {
    uint64_t count;
    int64_t isum;
    double dsum; /* doubles, and the integers once isum overflowed */
    bool is_double;
    uint64_t n_num;
};

struct fs_agg_state {
    const struct fs_compiled *c;
    struct fs_agg_acc acc[FS_MAX_AGGS];
};

void fs_agg_init(struct fs_agg_state *s, const struct fs_compiled *c);
/* Folds one row of the compiled query's run. */
void fs_agg_add(struct fs_agg_state *s, const struct value *row);
/* The result: a MAP alias -> value, allocated from a. COUNT: an integer capped at up_to; SUM: an
 * integer when every value was one and the sum fits in int64, else a double (0 over no values);
 * AVG: a double, or null over no values. Non-numeric values are ignored. CR_ENOMEM. */
int fs_agg_result(const struct fs_agg_state *s, struct cr_arena *a, struct value *out);

#endif
