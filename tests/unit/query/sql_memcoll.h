/*
 * An in-memory collection for planner tests: documents plus the index entries an indexing policy
 * gives them, kept as storage keeps them — single-path entries (path, scalar value, document)
 * sorted by path, then value in the cross-type order, then document; arrays' elements under
 * "[]"; one composite entry per document whose every path holds a scalar, sorted by the
 * index's columns (each ASC or DESC). A scan reads what a plan says (its access path, ranges and
 * direction) and feeds the executor, as sql_source.c does over storage. It decides on its own, from
 * the policy, which paths are indexed: a plan that reads a path the policy does not index fails.
 */
#ifndef CR_SQL_MEMCOLL_H
#define CR_SQL_MEMCOLL_H

#include "query/sql.h"

struct mc_path;
struct mc_entry;
struct mc_comp;

struct memcoll {
    const struct value *docs; /* borrowed */
    size_t n_docs;
    const struct indexing_policy *ix; /* borrowed */
    struct cr_arena a;
    struct mc_path *paths; /* distinct entry paths */
    size_t n_paths, cap_paths;
    struct mc_entry *ents;
    size_t n_ents, cap_ents;
    struct mc_comp *comp; /* per composite index */
};

/* 0, or -1 with a message in err (a pattern it cannot read). */
int memcoll_init(struct memcoll *m, const struct value *docs, size_t n,
                 const struct indexing_policy *ix, char *err, size_t cap);
void memcoll_close(struct memcoll *m);

/* Whether the policy gives single-path entries at path (segments as a plan gives them). */
bool memcoll_indexed(const struct memcoll *m, const struct doc_seg *segs, size_t n);

/* The documents a plan reads, in order. */
struct memcoll_scan {
    const struct memcoll *m;
    size_t *docs;
    size_t n, pos;
    size_t entries; /* index entries visited */
};

/* 0, or -1 with a message in err: the plan reads an index the collection does not have. */
int memcoll_scan_init(struct memcoll_scan *s, const struct memcoll *m, const struct sql_plan *p,
                      char *err, size_t cap);
void memcoll_scan_close(struct memcoll_scan *s);
/* Runs q over the documents the scan reads, as over storage: the run told the source is
 * ordered when the plan says so. Results are deep-copied into a. sql_exec's errors. */
int memcoll_exec(struct memcoll_scan *s, const struct sql_plan *p, const struct sql_query *q,
                 const struct sql_param *params, size_t n_params, struct cr_arena *a,
                 struct value **out, size_t *n, struct sql_err *err);

#endif
