/*
 * Internals of the Gremlin subset (query/gremlin_*.c): tokens, the parsed script, the
 * machine's objects and the helpers the files share. Nothing outside query/gremlin_*.c includes
 * this header.
 */
#ifndef CR_GREMLIN_INT_H
#define CR_GREMLIN_INT_H

#include "query/gremlin.h"

#include <stdarg.h>

/* Fills err (code, position, formatted message) and returns code. */
int gremlin_fail(struct gremlin_err *err, int code, unsigned line, unsigned col, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* ---- tokens (gremlin_lex.c) ---- */

enum gtok_type {
    GT_EOF,
    GT_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* */
    GT_NUMBER, /* digits [. digits] [e [+-] digits] [lLdDfF] */
    GT_STRING, /* '...' or "..." with the quotes; escapes checked, decoded by the parser */
    GT_LPAREN,
    GT_RPAREN,
    GT_LBRACKET,
    GT_RBRACKET,
    GT_COMMA,
    GT_DOT,
    GT_MINUS,
    GT_SEMI,
    GT_NEWLINE, /* a line break outside parentheses and brackets, not right after a '.' */
    GT_BAD,     /* a character the language does not use, or an unterminated string */
};

struct gtok {
    enum gtok_type type;
    const char *p; /* into the script text */
    size_t len;
    unsigned line, col;
};

/* Splits text into tokens, the last one GT_EOF. Skips blanks and // comments. Arena-allocated;
 * CR_ENOMEM. */
int gremlin_lex(const char *text, size_t len, struct cr_arena *a, struct gtok **toks, size_t *n);

/* ---- the parsed script ---- */

/* Every step: enum, name, minimum and maximum argument count (GS_VARARGS: no maximum). One
 * list, expanded for the parser's name table and the machine's dispatch. */
#define GS_VARARGS 255
#define GREMLIN_STEPS(X)                                                                           \
    X(GS_V, "V", 0, GS_VARARGS)                                                                    \
    X(GS_E, "E", 0, GS_VARARGS)                                                                    \
    X(GS_ADDV, "addV", 0, 1)                                                                       \
    X(GS_ADDE, "addE", 1, 1)                                                                       \
    X(GS_INJECT, "inject", 0, GS_VARARGS)                                                          \
    X(GS_PROPERTY, "property", 2, 3)                                                               \
    X(GS_DROP, "drop", 0, 0)                                                                       \
    X(GS_HAS, "has", 1, 3)                                                                         \
    X(GS_HASLABEL, "hasLabel", 1, GS_VARARGS)                                                      \
    X(GS_HASID, "hasId", 1, GS_VARARGS)                                                            \
    X(GS_HASNOT, "hasNot", 1, 1)                                                                   \
    X(GS_OUT, "out", 0, GS_VARARGS)                                                                \
    X(GS_IN, "in", 0, GS_VARARGS)                                                                  \
    X(GS_BOTH, "both", 0, GS_VARARGS)                                                              \
    X(GS_OUTE, "outE", 0, GS_VARARGS)                                                              \
    X(GS_INE, "inE", 0, GS_VARARGS)                                                                \
    X(GS_BOTHE, "bothE", 0, GS_VARARGS)                                                            \
    X(GS_OUTV, "outV", 0, 0)                                                                       \
    X(GS_INV, "inV", 0, 0)                                                                         \
    X(GS_OTHERV, "otherV", 0, 0)                                                                   \
    X(GS_BOTHV, "bothV", 0, 0)                                                                     \
    X(GS_VALUES, "values", 0, GS_VARARGS)                                                          \
    X(GS_VALUEMAP, "valueMap", 0, GS_VARARGS)                                                      \
    X(GS_ID, "id", 0, 0)                                                                           \
    X(GS_LABEL, "label", 0, 0)                                                                     \
    X(GS_COUNT, "count", 0, 0)                                                                     \
    X(GS_LIMIT, "limit", 1, 1)                                                                     \
    X(GS_RANGE, "range", 2, 2)                                                                     \
    X(GS_DEDUP, "dedup", 0, 0)                                                                     \
    X(GS_ORDER, "order", 0, 0)                                                                     \
    X(GS_WHERE, "where", 1, 2)                                                                     \
    X(GS_IS, "is", 1, 1)                                                                           \
    X(GS_NOT, "not", 1, 1)                                                                         \
    X(GS_AND, "and", 1, GS_VARARGS)                                                                \
    X(GS_OR, "or", 1, GS_VARARGS)                                                                  \
    X(GS_AS, "as", 1, GS_VARARGS)                                                                  \
    X(GS_SELECT, "select", 1, GS_VARARGS)                                                          \
    X(GS_PROJECT, "project", 1, GS_VARARGS)                                                        \
    X(GS_FOLD, "fold", 0, 0)                                                                       \
    X(GS_UNFOLD, "unfold", 0, 0)                                                                   \
    X(GS_GROUP, "group", 0, 0)                                                                     \
    X(GS_GROUPCOUNT, "groupCount", 0, 0)                                                           \
    X(GS_PATH, "path", 0, 0)                                                                       \
    X(GS_SIMPLEPATH, "simplePath", 0, 0)                                                           \
    X(GS_REPEAT, "repeat", 1, 1)                                                                   \
    X(GS_UNION, "union", 0, GS_VARARGS)                                                            \
    X(GS_COALESCE, "coalesce", 1, GS_VARARGS)                                                      \
    X(GS_OPTIONAL, "optional", 1, 1)                                                               \
    X(GS_CONSTANT, "constant", 1, 1)

enum gstep_op {
#define GS_ENUM(e, name, lo, hi) e,
    GREMLIN_STEPS(GS_ENUM)
#undef GS_ENUM
        GS_COUNT_OF
};

/* Predicates: enum, name, argument count (GS_VARARGS: any, for within/without). */
#define GREMLIN_PREDS(X)                                                                           \
    X(GP_EQ, "eq", 1)                                                                              \
    X(GP_NEQ, "neq", 1)                                                                            \
    X(GP_LT, "lt", 1)                                                                              \
    X(GP_LTE, "lte", 1)                                                                            \
    X(GP_GT, "gt", 1)                                                                              \
    X(GP_GTE, "gte", 1)                                                                            \
    X(GP_BETWEEN, "between", 2)                                                                    \
    X(GP_INSIDE, "inside", 2)                                                                      \
    X(GP_OUTSIDE, "outside", 2)                                                                    \
    X(GP_WITHIN, "within", GS_VARARGS)                                                             \
    X(GP_WITHOUT, "without", GS_VARARGS)                                                           \
    X(GP_STARTINGWITH, "startingWith", 1)                                                          \
    X(GP_ENDINGWITH, "endingWith", 1)                                                              \
    X(GP_CONTAINING, "containing", 1)                                                              \
    X(GP_NOTSTARTINGWITH, "notStartingWith", 1)                                                    \
    X(GP_NOTENDINGWITH, "notEndingWith", 1)                                                        \
    X(GP_NOTCONTAINING, "notContaining", 1)

enum gpred_op {
#define GP_ENUM(e, name, n) e,
    GREMLIN_PREDS(GP_ENUM)
#undef GP_ENUM
};

/* Enum-like words: asc/desc (Order), id/label (T), list/single (Cardinality). */
enum gtoken { GK_ASC, GK_DESC, GK_ID, GK_LABEL, GK_LIST, GK_SINGLE };

struct gtrav;
struct garg;

struct gpred {
    enum gpred_op op;
    struct garg *args;
    size_t n_args;
};

enum garg_kind {
    GA_LIT,   /* v: a scalar literal */
    GA_LIST,  /* [a, b, ...]: items */
    GA_BIND,  /* name: resolved from the bindings at run time */
    GA_TRAV,  /* an anonymous traversal (__.out() or out()) */
    GA_PRED,  /* a predicate */
    GA_TOKEN, /* tok */
};

struct garg {
    enum garg_kind kind;
    unsigned line, col;
    union {
        struct value v;
        struct {
            struct garg *items;
            size_t n;
        } list;
        struct gremlin_str name;
        struct gtrav *trav;
        struct gpred pred;
        enum gtoken tok;
    } u;
};

/* A by() modulator: key NULL is the identity; order NULL is ascending. */
struct gby {
    struct garg *key;
    struct garg *order;
};

struct gstep {
    enum gstep_op op;
    unsigned line, col;
    struct garg *args;
    size_t n_args;
    struct gby *by; /* order, group, groupCount, project, select, dedup */
    size_t n_by;
    /* repeat: times (NULL: none), until and emit traversals; *_first when the modulator came
     * before repeat() (checked before the first iteration). emit with no traversal emits every
     * traverser. */
    struct garg *times;
    struct gtrav *until, *emit;
    bool has_emit, until_first, emit_first;
    /* addE */
    struct garg *from, *to;
    /* addV: the id given by a following property('id', x), folded in by the parser */
    struct garg *new_id;
};

struct gtrav {
    struct gstep *steps;
    size_t n;
};

struct gremlin_script {
    struct gtrav *stmts;
    size_t n;
};

const char *gremlin_step_name(enum gstep_op op);

/* ---- the machine's objects (gremlin_obj.c) ---- */

/* A graph element with its properties, loaded on first use. */
struct gelem {
    struct gremlin_elem e;
    const struct gremlin_prop *props;
    size_t n_props;
    bool loaded;
};

enum gobj_kind { GO_VAL, GO_ELEM, GO_LIST, GO_MAP, GO_PATH };

struct gpath;

struct gobj {
    enum gobj_kind k;
    union {
        struct value v; /* a scalar, or a list/map value taken from a property or binding */
        struct gelem *el;
        struct {
            struct gobj **items;
            size_t n;
        } list;
        struct {
            struct gobj **keys, **vals;
            size_t n;
        } map;
        const struct gpath *path;
    } u;
};

/* A traverser's history, shared between traversers: each node is one object the traverser
 * visited, with the step labels (as()) given to it there. */
struct gpath {
    const struct gpath *prev;
    struct gobj *obj;
    const struct gremlin_str *labels;
    size_t n_labels;
    size_t len; /* nodes up to and including this one */
};

/* Total order over objects: values by value_compare, then elements (vertices before edges, by
 * id), lists, maps and paths. Equal elements are the same element. */
int gobj_compare(const struct gobj *a, const struct gobj *b);

/* Loads an element's properties if not yet loaded. */
int gobj_load_props(const struct gremlin_graph *g, struct cr_arena *a, struct gelem *el);

/* Renders an object as a result value (GraphSON-like, see gremlin.h) into arena a; loads
 * properties through g as needed. Every object, element property and path entry rendered
 * spends one of *left: CR_ETOOMANY when they run out. CR_ENOMEM, or a graph error. */
int gobj_render(const struct gremlin_graph *g, struct cr_arena *a, struct gobj *o, size_t *left,
                struct value *out);

/* ---- the traversal machine (gremlin_exec.c, gremlin_step.c, gremlin_barrier.c) ---- */

struct gtr {
    struct gobj *o; /* NULL only for the start traverser of a statement */
    const struct gpath *path;
};

/* A list of traversers: malloc'd, freed with gremlin_trs_free. */
struct gtrs {
    struct gtr *v;
    size_t n, cap;
};

/* One run. Objects and paths live in a, freed when gremlin_exec returns. */
struct gmachine {
    const struct gremlin_graph *g;
    struct cr_arena a;
    const struct gremlin_binding *binds;
    size_t n_binds;
    uint64_t work, budget;
    size_t mutations;
    size_t mem;    /* bytes allocated through gremlin_alloc */
    bool over_mem; /* an allocation failed on GREMLIN_MAX_MEMORY, not on malloc */
    struct gremlin_err *err;
};

/* Allocation from the run's arena, counted against GREMLIN_MAX_MEMORY: NULL past it (then
 * gremlin_nomem reports CR_EBUDGET) or when malloc fails. */
void *gremlin_alloc(struct gmachine *m, size_t n);
void *gremlin_calloc(struct gmachine *m, size_t n);

/* Errors: each fills m->err and returns the code (gremlin_nomem: CR_ENOMEM, or CR_EBUDGET when
 * the run reached GREMLIN_MAX_MEMORY). "what" follows the step's name and
 * position; a graph callback's code is passed on with its message. */
int gremlin_step_fail(struct gmachine *m, const struct gstep *s, int code, const char *what);
int gremlin_nomem(struct gmachine *m);
int gremlin_graph_fail(struct gmachine *m, const struct gstep *s, int rc);
/* Spends units of the budget: 0, or CR_EBUDGET. */
int gremlin_charge(struct gmachine *m, const struct gstep *s, uint64_t units);

void gremlin_trs_free(struct gtrs *l);
int gremlin_trs_push(struct gmachine *m, struct gtrs *l, struct gtr t);

/* New objects in the run's arena; NULL when it cannot allocate. */
struct gobj *gremlin_obj_new(struct gmachine *m, enum gobj_kind k);
struct gobj *gremlin_obj_val(struct gmachine *m, const struct value *v);
struct gobj *gremlin_obj_elem(struct gmachine *m, const struct gremlin_elem *e);

/* Pushes the traverser that moved from t to o (o appended to t's path; o NULL is CR_ENOMEM),
 * charging one unit. */
int gremlin_emit(struct gmachine *m, const struct gstep *s, struct gtrs *out, const struct gtr *t,
                 struct gobj *o);
/* Pushes t unchanged, charging one unit. */
int gremlin_keep(struct gmachine *m, const struct gstep *s, struct gtrs *out, const struct gtr *t);

/* Runs t over in, which it takes (and frees); *out is the caller's to free. */
int gremlin_run_trav(struct gmachine *m, const struct gtrav *t, struct gtrs *in, struct gtrs *out);
/* Runs t from one traverser. */
int gremlin_run_one(struct gmachine *m, const struct gtrav *t, const struct gtr *x,
                    struct gtrs *out);
/* 1 and *o set when t yields something from x, 0 when it yields nothing, or an error. */
int gremlin_first(struct gmachine *m, const struct gtrav *t, const struct gtr *x, struct gobj **o);

/* Arguments: a literal, list or binding as a value (CR_EINVAL for an unbound name or a
 * traversal, predicate or token), as a string, as an integer; flat_values flattens list values
 * one level (hasLabel('a', 'b'), within(['a', 'b']), g.V(ids)). */
int gremlin_arg_value(struct gmachine *m, const struct garg *a, struct value *out);
int gremlin_arg_string(struct gmachine *m, const struct garg *a, struct gremlin_str *out);
int gremlin_arg_int(struct gmachine *m, const struct garg *a, int64_t *out);
int gremlin_flat_values(struct gmachine *m, const struct garg *args, size_t n, struct value **out,
                        size_t *count);
bool gremlin_str_eq(const struct gremlin_str *a, const char *p, size_t len);
bool gremlin_is_str(const struct value *v, const struct gremlin_str *s);

/* How many traversers a following limit(n) / range(lo, n) keeps; 0 when next is neither. */
size_t gremlin_limit_of(struct gmachine *m, const struct gstep *next);

/* by(): the identity (by NULL or no key), a property or map key, T.id / T.label, or a
 * traversal's first result. 1 and *out set, 0 when t has no such value, or an error. */
int gremlin_by_value(struct gmachine *m, const struct gstep *s, const struct gby *by,
                     const struct gtr *t, struct gobj **out);

/* A step over one traverser t (next: the step after s, for the scan hints). */
int gremlin_step_each(struct gmachine *m, const struct gstep *s, const struct gstep *next,
                      const struct gtr *t, struct gtrs *out);
/* count, fold, limit, range, order, dedup, group, groupCount over the whole list. */
int gremlin_barrier(struct gmachine *m, const struct gstep *s, struct gtrs *in, struct gtrs *out);

#endif
