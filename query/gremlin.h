/*
 * The Gremlin subset for graphs (docs/gremlin.md lists every step, predicate, result shape and
 * limit). Pure functions over struct value: a lexer and parser that turn a script into
 * traversals, and a traversal machine that runs them over a graph the caller supplies as a
 * struct of callbacks (struct gremlin_graph), exactly as query/sql.h runs over a document
 * source. No storage, no I/O, no clock: the machine reads through the callbacks and emits
 * mutations (add vertex, add edge, set property, drop) through them in script order; the caller
 * applies them (later: proposes them to the log).
 *
 * Script: statements separated by ';' or newlines (a line starting with '.' continues the one
 * before); the last statement's results are the script's results. Every statement is a
 * traversal starting with g. (V, E, addV, addE, inject). Names that are not steps, predicates
 * or tokens are bindings: they are resolved at run time from the caller's map.
 *
 * Results: struct value trees shaped as Cosmos DB's Gremlin API returns them (GraphSON-like
 * JSON): a vertex is {"id", "label", "type": "vertex", "properties": {k: [{"id", "value"}]}}, an
 * edge {"id", "label", "type": "edge", "inVLabel", "outVLabel", "inV", "outV", "properties":
 * {k: v}} ("properties" left out when there are none), a path {"labels": [[..]..], "objects":
 * [..]}; everything else is the value itself (numbers, strings, lists, maps).
 *
 * Memory: gremlin_parse builds the script in the caller's arena and borrows the text. A run
 * allocates from an arena it owns, freed when gremlin_exec returns; results are deep-copied into
 * the caller's arena. Elements and properties the graph returns must stay valid until the run
 * ends (borrowed from a read transaction, or allocated from the arena the callback is given).
 *
 * Errors: 0 or a negative CR_E* code, with struct gremlin_err filled in (code, position,
 * message):
 *   CR_EINVAL    syntax errors ("expected ')' at 1:12, found ','"), unknown steps, wrong
 *                argument counts or types, a binding the script uses but the caller did not
 *                supply, a modulator (by, times, until, emit, from, to) with no step to modify,
 *                a step applied to the wrong kind of object (addE from a non-vertex), changing
 *                an id
 *   CR_ENOTFOUND addE's from/to vertex does not exist
 *   CR_ETOOLONG  script longer than GREMLIN_MAX_LEN
 *   CR_ENESTING  traversals, lists or predicates nested deeper than GREMLIN_MAX_DEPTH
 *   CR_ETOOMANY  more than GREMLIN_MAX_STATEMENTS statements, more than GREMLIN_MAX_RESULTS
 *                results or GREMLIN_MAX_RESULT_VALUES values in them, more than
 *                GREMLIN_MAX_MUTATIONS mutations in one script
 *   CR_EBUDGET   the run spent its work budget, more than GREMLIN_MAX_TRAVERSERS traversers
 *                were alive after one step, or its objects and paths took more than
 *                GREMLIN_MAX_MEMORY bytes (a run-away repeat() stops here)
 *   CR_ENOMEM    an arena could not allocate
 *   and whatever a graph callback returns.
 */
#ifndef CR_GREMLIN_H
#define CR_GREMLIN_H

#include "common/arena.h"
#include "storage/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GREMLIN_MAX_LEN (64 * 1024) /* bytes of script text */
#define GREMLIN_MAX_DEPTH 32        /* nested traversals, lists and predicates */
#define GREMLIN_MAX_STATEMENTS 64   /* statements in one script */
#define GREMLIN_MAX_RESULTS 100000  /* results of the last statement */
/* Values in all results together: each object, element property and path entry counts one (a
 * path of n vertices with p properties each is about n * (p + 2)). */
#define GREMLIN_MAX_RESULT_VALUES 1000000
#define GREMLIN_MAX_MUTATIONS 10000     /* mutations emitted by one script */
#define GREMLIN_MAX_TRAVERSERS 1000000u /* traversers alive after any one step */
#define GREMLIN_MAX_MEMORY (256u << 20) /* bytes of objects and paths one run may hold */
/* Work units a run may spend unless told otherwise: one per traverser a step produces or keeps,
 * per element or edge the graph yields, per comparison made by order, dedup and group, per
 * repeat() iteration, per path node walked to find a step label, and n log n for simplePath()
 * over a path of n. */
#define GREMLIN_DEFAULT_BUDGET 10000000u
#define GREMLIN_ERR_MAX 256

struct gremlin_err {
    int code;
    unsigned line, col; /* 1-based position in the text; 0 when the error has none */
    char msg[GREMLIN_ERR_MAX];
};

/* ---- the graph interface ---- */

enum gremlin_kind { GREMLIN_VERTEX, GREMLIN_EDGE };
enum gremlin_dir { GREMLIN_OUT, GREMLIN_IN, GREMLIN_BOTH };

/* A string that need not be NUL-terminated. */
struct gremlin_str {
    const char *p;
    size_t len;
};

/* A vertex or an edge as the graph yields it: no properties (those come from properties(), on
 * demand, so expanding a vertex reads only its adjacency entries). Ids are any scalar value
 * (Cosmos DB's are strings). For edges, out_v/in_v are the endpoints and out_label/in_label
 * their vertex labels; unused for vertices. */
struct gremlin_elem {
    enum gremlin_kind kind;
    struct value id;
    struct gremlin_str label;
    struct value out_v, in_v;
    struct gremlin_str out_label, in_label;
};

/* One property value. A vertex may hold several under one key (list cardinality), each with
 * its own id; an edge holds at most one per key and its id is unused. */
struct gremlin_prop {
    struct gremlin_str key;
    struct value id;
    struct value value;
};

/* Visitor for scans: returns 0 to go on, 1 to stop early, or a negative CR_E* code, which the
 * scanning callback returns unchanged. */
typedef int (*gremlin_visit_fn)(void *arg, const struct gremlin_elem *e);

/* The graph, as callbacks. a is the run's arena: a callback may allocate what it returns from
 * it. Every callback returns 0 or a negative CR_E* code (which the run passes on). */
struct gremlin_graph {
    void *ctx;
    /* Element by id: 0, or CR_ENOTFOUND when there is none. */
    int (*get)(void *ctx, enum gremlin_kind kind, const struct value *id, struct cr_arena *a,
               struct gremlin_elem *out);
    /* Every vertex, or only those with the given label when label is not NULL. */
    int (*scan_vertices)(void *ctx, const struct gremlin_str *label, struct cr_arena *a,
                         gremlin_visit_fn fn, void *arg);
    int (*scan_edges)(void *ctx, struct cr_arena *a, gremlin_visit_fn fn, void *arg);
    /* The edges of vertex vid in direction dir (OUT: vid is their out-vertex; BOTH: out-edges,
     * then in-edges; a self-loop is yielded once per direction), only those whose label is one
     * of labels[0..n_labels) when n_labels > 0. Storage serves this as one cursor range per
     * (vertex, direction, label). */
    int (*expand)(void *ctx, const struct value *vid, enum gremlin_dir dir,
                  const struct gremlin_str *labels, size_t n_labels, struct cr_arena *a,
                  gremlin_visit_fn fn, void *arg);
    /* Properties of an element, in a stable order (keys in first-set order, values of one key
     * in insertion order). */
    int (*properties)(void *ctx, const struct gremlin_elem *e, struct cr_arena *a,
                      const struct gremlin_prop **props, size_t *n);
    /* Vertices (with the given label when label is not NULL) having a property key equal to
     * value (value_equal), served from a property index. May be NULL: the machine then scans
     * and filters. */
    int (*lookup)(void *ctx, const struct gremlin_str *label, const struct gremlin_str *key,
                  const struct value *value, struct cr_arena *a, gremlin_visit_fn fn, void *arg);
    /* Mutations, in script order. id NULL: the graph chooses one (the proposer resolves it, as
     * DESIGN.md requires of anything non-deterministic). add_vertex fails with CR_EEXISTS when
     * the id is taken; add_edge with CR_ENOTFOUND when an endpoint is missing. */
    int (*add_vertex)(void *ctx, const struct value *id, const struct gremlin_str *label,
                      struct cr_arena *a, struct gremlin_elem *out);
    int (*add_edge)(void *ctx, const struct value *id, const struct gremlin_str *label,
                    const struct gremlin_elem *from, const struct gremlin_elem *to,
                    struct cr_arena *a, struct gremlin_elem *out);
    /* list: append a value (vertices only); otherwise replace every value of key. */
    int (*set_property)(void *ctx, const struct gremlin_elem *e, const struct gremlin_str *key,
                        const struct value *value, bool list);
    /* Drops an element; a vertex goes with all its edges. CR_ENOTFOUND is ignored by the run
     * (an element dropped twice in one traversal). */
    int (*drop)(void *ctx, const struct gremlin_elem *e);
};

/* ---- scripts ---- */

struct gremlin_script;

/* Parses text (not NUL-terminated). The script borrows text. */
int gremlin_parse(struct cr_arena *a, const char *text, size_t len, struct gremlin_script **out,
                  struct gremlin_err *err);

/* A script parameter (binding): name without decoration, as the Gremlin server's "bindings". */
struct gremlin_binding {
    const char *name;
    size_t name_len;
    const struct value *value;
};

/* Runs every statement of s in order; the results of the last one are deep-copied into a (an
 * arena-allocated array, *n of them). budget 0 means GREMLIN_DEFAULT_BUDGET; it covers the
 * whole script. On error *out and *n are unset, and mutations already emitted stay emitted (the
 * caller decides whether to apply them: a log entry is built only from a script that succeeded).
 */
int gremlin_exec(const struct gremlin_script *s, const struct gremlin_binding *bindings,
                 size_t n_bindings, const struct gremlin_graph *g, uint64_t budget,
                 struct cr_arena *a, struct value **out, size_t *n, struct gremlin_err *err);

#endif
