/*
 * Internals of the query language (query/sql_*.c): tokens, the AST, the bound query and the
 * helpers the files share. Nothing outside query/sql_*.c includes this header.
 */
#ifndef CR_SQL_INT_H
#define CR_SQL_INT_H

#include "query/sql.h"

#include <stdarg.h>

/* ---- errors ---- */

/* Fills err (code, position, formatted message) and returns code. */
int sql_fail(struct sql_err *err, int code, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- tokens (sql_lex.c) ---- */

enum sql_tok_type {
    ST_EOF,
    ST_IDENT,  /* [A-Za-z_][A-Za-z0-9_]*: names and keywords */
    ST_NUMBER, /* digits [. digits] [e [+-] digits] */
    ST_STRING, /* '...' or "..." with the quotes; escapes checked, decoded by the parser */
    ST_PARAM,  /* @[A-Za-z0-9_]+ */
    ST_LPAREN,
    ST_RPAREN,
    ST_LBRACKET,
    ST_RBRACKET,
    ST_LBRACE,
    ST_RBRACE,
    ST_COMMA,
    ST_DOT,
    ST_COLON,
    ST_QUESTION,
    ST_COALESCE, /* ?? */
    ST_EQ,
    ST_NE, /* != or <> */
    ST_LT,
    ST_LE,
    ST_GT,
    ST_GE,
    ST_PLUS,
    ST_MINUS,
    ST_STAR,
    ST_SLASH,
    ST_PERCENT,
    ST_CONCAT, /* || */
    ST_BAD,    /* a character the language does not use, or an unterminated string */
};

struct sql_tok {
    enum sql_tok_type type;
    const char *p; /* into the query text */
    size_t len;
    unsigned line, col;
};

/* Splits text into tokens, the last one ST_EOF. Skips blanks and -- comments. Arena-allocated;
 * CR_ENOMEM. */
int sql_lex(const char *text, size_t len, struct cr_arena *a, struct sql_tok **toks, size_t *n);

/* Decodes a ST_STRING token's escapes into the arena (UTF-8). CR_EINVAL with *bad_off at the
 * offending byte for an invalid escape; CR_ENOMEM. */
int sql_unescape(const struct sql_tok *t, struct cr_arena *a, const char **s, size_t *len,
                 size_t *bad_off);

/* ---- the AST ---- */

enum sql_ek {
    SE_CONST,   /* v: a scalar literal (null, bool, number, string) */
    SE_UNDEF,   /* the literal undefined */
    SE_PARAM,   /* name; slot: the query's parameter index */
    SE_IDENT,   /* name; slot: 0 the FROM alias, i + 1 the i-th JOIN alias */
    SE_PROP,    /* a.name */
    SE_INDEX,   /* a[b] (b not a string literal: that is SE_PROP) */
    SE_UNARY,   /* op a */
    SE_BINARY,  /* a op b */
    SE_BETWEEN, /* a [NOT] BETWEEN b AND c */
    SE_IN,      /* a [NOT] IN (args) */
    SE_LIKE,    /* a [NOT] LIKE b [ESCAPE c] */
    SE_COND,    /* a ? b : c */
    SE_CALL,    /* op: the function; args */
    SE_AGG,     /* op: the aggregate; a; slot: the run's aggregate index */
    SE_ARRAY,   /* [args] */
    SE_OBJECT,  /* {keys[i]: args[i]} */
};

enum sql_op {
    SO_NEG,
    SO_POS,
    SO_NOT,
    SO_OR,
    SO_AND,
    SO_EQ,
    SO_NE,
    SO_LT,
    SO_LE,
    SO_GT,
    SO_GE,
    SO_ADD,
    SO_SUB,
    SO_MUL,
    SO_DIV,
    SO_MOD,
    SO_CONCAT,
    SO_COALESCE,
};

/* Built-in functions: id, name, minimum and maximum argument count. */
#define SQL_FUNCS(X)                                                                               \
    X(SF_IS_DEFINED, "IS_DEFINED", 1, 1)                                                           \
    X(SF_IS_NULL, "IS_NULL", 1, 1)                                                                 \
    X(SF_IS_NUMBER, "IS_NUMBER", 1, 1)                                                             \
    X(SF_IS_STRING, "IS_STRING", 1, 1)                                                             \
    X(SF_IS_BOOL, "IS_BOOL", 1, 1)                                                                 \
    X(SF_IS_ARRAY, "IS_ARRAY", 1, 1)                                                               \
    X(SF_IS_OBJECT, "IS_OBJECT", 1, 1)                                                             \
    X(SF_ARRAY_CONTAINS, "ARRAY_CONTAINS", 2, 3)                                                   \
    X(SF_ARRAY_LENGTH, "ARRAY_LENGTH", 1, 1)                                                       \
    X(SF_STARTSWITH, "STARTSWITH", 2, 3)                                                           \
    X(SF_ENDSWITH, "ENDSWITH", 2, 3)                                                               \
    X(SF_CONTAINS, "CONTAINS", 2, 3)                                                               \
    X(SF_LOWER, "LOWER", 1, 1)                                                                     \
    X(SF_UPPER, "UPPER", 1, 1)                                                                     \
    X(SF_LENGTH, "LENGTH", 1, 1)                                                                   \
    X(SF_SUBSTRING, "SUBSTRING", 3, 3)                                                             \
    X(SF_CONCAT, "CONCAT", 2, 64)                                                                  \
    X(SF_ABS, "ABS", 1, 1)                                                                         \
    X(SF_FLOOR, "FLOOR", 1, 1)                                                                     \
    X(SF_CEILING, "CEILING", 1, 1)                                                                 \
    X(SF_ROUND, "ROUND", 1, 1)                                                                     \
    X(SF_FS_COMPARE, "FS_COMPARE", 2, 2)

enum sql_func {
#define SQL_FUNC_ENUM(id, name, min, max) id,
    SQL_FUNCS(SQL_FUNC_ENUM)
#undef SQL_FUNC_ENUM
        SQL_N_FUNCS
};

#define SQL_AGGS(X)                                                                                \
    X(SA_COUNT, "COUNT")                                                                           \
    X(SA_SUM, "SUM")                                                                               \
    X(SA_MIN, "MIN")                                                                               \
    X(SA_MAX, "MAX")                                                                               \
    X(SA_AVG, "AVG")

enum sql_agg {
#define SQL_AGG_ENUM(id, name) id,
    SQL_AGGS(SQL_AGG_ENUM)
#undef SQL_AGG_ENUM
};

const char *sql_func_name(int f);
const char *sql_agg_name(int f);

struct sql_expr {
    enum sql_ek kind;
    int op;      /* enum sql_op, sql_func or sql_agg */
    bool negate; /* NOT BETWEEN, NOT IN, NOT LIKE */
    int slot;    /* see enum sql_ek */
    int group;   /* index of the GROUP BY expression this equals, or -1 */
    unsigned line, col, height;
    struct value v;
    const char *name; /* IDENT, PARAM (with '@'), PROP */
    size_t name_len;
    struct sql_expr *a, *b, *c;
    struct sql_expr **args; /* CALL, IN, ARRAY, OBJECT */
    size_t n_args;
    struct value_field *keys; /* OBJECT: names only (value unused) */
};

enum sql_sel { SQL_SEL_STAR, SQL_SEL_VALUE, SQL_SEL_LIST };

struct sql_item {
    struct sql_expr *e;
    const char *alias; /* AS name, or NULL */
    size_t alias_len;
    const char *name; /* the output field name: alias, inferred, or $1, $2, ... */
    size_t name_len;
};

struct sql_join {
    const char *alias;
    size_t alias_len;
    struct sql_expr *src;
};

struct sql_order {
    struct sql_expr *e;
    bool desc;
};

struct sql_pname {
    const char *name;
    size_t len;
};

struct sql_query {
    bool distinct;
    struct sql_expr *top; /* SE_CONST or SE_PARAM, or NULL */
    enum sql_sel sel;
    struct sql_item *items; /* VALUE: one, unnamed */
    size_t n_items;
    const char *coll, *alias;
    size_t coll_len, alias_len;
    struct sql_join *joins;
    size_t n_joins;
    struct sql_expr *where;
    struct sql_expr **group;
    size_t n_group;
    struct sql_order *order;
    size_t n_order;
    struct sql_expr *offset, *limit; /* both or neither */
    /* Bound by the parser: */
    struct sql_pname *params; /* distinct parameter names, by slot */
    size_t n_params;
    struct sql_expr **aggs; /* the SE_AGG nodes of the SELECT list, by slot */
    size_t n_aggs;
    bool grouped; /* GROUP BY or aggregates: one row per group */
};

bool sql_expr_equal(const struct sql_expr *a, const struct sql_expr *b);

/* ---- the evaluator (sql_eval.c) ---- */

/* What an expression sees: the bound aliases, parameters, group values, and the work counter. */
struct sql_env {
    const struct value *const *bind;
    const struct value *const *params;
    const struct value *const *group_keys; /* grouped SELECT: GROUP BY values, or NULL */
    const struct value *const *agg_vals;   /* grouped SELECT: aggregate results, or NULL */
    struct cr_arena *a;                    /* for computed values */
    uint64_t *work, budget;
};

/* Evaluates e; *out is NULL when the result is undefined. Computed values come from env->a and
 * may borrow from documents, parameters and the query. CR_EBUDGET, CR_ENOMEM. */
int sql_eval(const struct sql_expr *e, struct sql_env *env, const struct value **out);

/* The Cosmos type class of a value, which decides what compares with what. */
enum sql_type {
    SQT_UNDEFINED,
    SQT_NULL,
    SQT_BOOL,
    SQT_NUMBER,
    SQT_STRING,
    SQT_ARRAY,
    SQT_OBJECT,
    SQT_OTHER, /* bytes, timestamp, geopoint, ref: each its own type */
};

enum sql_type sql_type_of(const struct value *v);

/* ORDER BY's total order: undefined first, then value_compare (null < false < true < numbers <
 * strings < arrays < objects, with the value model's extra types among them by rank). */
int sql_order_compare(const struct value *a, const struct value *b);

/* The number as a value: VT_INT when integral, not -0 and |d| <= 2^53, else VT_DOUBLE. */
struct value sql_number(double d);
double sql_to_double(const struct value *v);

#endif
