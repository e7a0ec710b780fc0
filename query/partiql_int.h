/*
 * Private to query/partiql_*.c: the statement AST partiql_parse.c builds and
 * partiql_translate.c walks. Literals are already struct values (parameters substituted), so the
 * translator only chooses placeholders and writes ddb_expr text.
 */
#ifndef CR_PARTIQL_INT_H
#define CR_PARTIQL_INT_H

#include "query/partiql.h"

#include <stdint.h>

#define PARTIQL_WELL_FORMED "Statement wasn't well formed, can't be processed: "

enum pq_node {
    PQ_PATH,    /* path, path_n */
    PQ_VALUE,   /* value */
    PQ_CMP,     /* op, args[0..2) */
    PQ_AND,     /* args[0..2) */
    PQ_OR,      /* args[0..2) */
    PQ_NOT,     /* args[0] */
    PQ_BETWEEN, /* neg, args[0..3) */
    PQ_IN,      /* neg, args[0] IN args[1..n) */
    PQ_IS,      /* neg, op (PQ_IS_MISSING / PQ_IS_NULL), args[0] */
    PQ_CALL,    /* fn, args */
    PQ_ARITH,   /* op '+' or '-', args[0..2) */
};

enum pq_cmp { PQ_EQ, PQ_NE, PQ_LT, PQ_LE, PQ_GT, PQ_GE };
enum { PQ_IS_MISSING, PQ_IS_NULL };

/* Functions, by the ddb_expr name they are written as. */
enum pq_fn {
    PQ_FN_BEGINS_WITH,
    PQ_FN_CONTAINS,
    PQ_FN_ATTRIBUTE_TYPE,
    PQ_FN_SIZE,
    PQ_FN_LIST_APPEND,
    PQ_FN_IF_NOT_EXISTS,
    PQ_FN_SET_ADD,
    PQ_FN_SET_DELETE,
};

/* One path element: a name (not NUL-terminated), or a list index when name is NULL. */
struct pq_elem {
    const char *name;
    size_t len;
    uint32_t index;
};

struct pq_node_s {
    enum pq_node type;
    int op;
    bool neg;
    enum pq_fn fn;
    struct pq_elem *path;
    size_t path_n;
    const struct value *value;
    struct pq_node_s **args;
    size_t n;
};

/* UPDATE's actions: SET path = value, or REMOVE path (value NULL). */
struct pq_action {
    struct pq_node_s *path;
    struct pq_node_s *value;
};

struct partiql_stmt {
    enum partiql_kind kind;
    const char *table, *index; /* index NULL: the table */
    size_t table_len, index_len;
    struct pq_node_s **proj; /* SELECT's paths; NULL: * */
    size_t n_proj;
    struct pq_node_s *where; /* NULL: none */
    struct pq_node_s *order; /* ORDER BY path; NULL: none */
    bool desc;
    const struct value *item; /* INSERT */
    struct pq_action *actions;
    size_t n_actions;
    enum partiql_returning returning;
};

/* Function names as ddb_expr writes them (lower case), indexed by enum pq_fn. */
extern const char *const pq_fn_names[];

#endif
