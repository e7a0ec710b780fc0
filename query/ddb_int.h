/*
 * Internals of the DynamoDB expression module (query/ddb_*.c): tokens, ASTs, document paths and
 * the helpers the files share. Nothing outside query/ddb_*.c includes this header.
 */
#ifndef CR_DDB_INT_H
#define CR_DDB_INT_H

#include "query/ddb_expr.h"

#include <stdarg.h>
#include <stdint.h>

/* ---- errors (ddb_err.c) ---- */

/* "Invalid <Kind>: " + the formatted text, code CR_EINVAL. Returns CR_EINVAL. */
int ddb_err_set(struct ddb_err *err, enum ddb_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The formatted text alone, with the given code. Returns code. */
int ddb_fail_plain(struct ddb_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ddb_err_nomem(struct ddb_err *err);
const char *ddb_kind_name(enum ddb_kind kind);

/* ---- reserved words (ddb_reserved.c) ---- */

/* Case-insensitive membership in DynamoDB's reserved word list. */
bool ddb_is_reserved(const char *s, size_t len);

/* ---- tokens (ddb_lex.c) ---- */

enum tok_type {
    TK_EOF,
    TK_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* */
    TK_NAME,   /* #[A-Za-z0-9_]+ */
    TK_VALUE,  /* :[A-Za-z0-9_]+ */
    TK_NUMBER, /* [0-9]+ (list indexes only) */
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_DOT,
    TK_COMMA,
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_PLUS,
    TK_MINUS,
    TK_BAD, /* any other character */
};

struct tok {
    enum tok_type type;
    const char *p; /* into the expression text */
    size_t len;
};

/* Splits text into tokens, the last one TK_EOF (p at the end, len 0). Arena-allocated. */
int ddb_lex(const char *text, size_t len, struct cr_arena *a, struct tok **toks, size_t *n);

/* ---- paths ---- */

struct ddb_elem {
    bool is_index;
    uint32_t index;
    const char *name; /* resolved: the attribute name, not the placeholder */
    size_t name_len;
};

struct ddb_path {
    struct ddb_elem *e;
    size_t n; /* >= 1; e[0] is a name */
};

/* Equal elements (same kind, same name or index). */
bool ddb_elem_equal(const struct ddb_elem *a, const struct ddb_elem *b);
/* Checks every pair of paths: one a prefix of the other is an overlap, the same position a name
 * in one and an index in the other a conflict; both CR_EINVAL with DynamoDB's message. */
int ddb_paths_check(const struct ddb_path *const *paths, size_t n, enum ddb_kind kind,
                    struct ddb_err *err);
/* The value at path in item (a MAP or NULL); NULL when missing. */
const struct value *ddb_path_get(const struct ddb_path *p, const struct value *item);

/* ---- operands and conditions ---- */

enum opnd_kind {
    OPND_PATH,
    OPND_VALUE,
    OPND_SIZE,          /* size(path) */
    OPND_IF_NOT_EXISTS, /* if_not_exists(path, a) (update only) */
    OPND_LIST_APPEND,   /* list_append(a, b) (update only) */
    OPND_PLUS,          /* a + b (update only) */
    OPND_MINUS,         /* a - b (update only) */
};

struct ddb_operand {
    enum opnd_kind kind;
    struct ddb_path path;      /* PATH, SIZE, IF_NOT_EXISTS */
    const struct value *value; /* VALUE */
    const char *text;          /* VALUE: the placeholder, for messages */
    size_t text_len;
    struct ddb_operand *a, *b; /* IF_NOT_EXISTS (b), LIST_APPEND, PLUS, MINUS */
};

enum cond_kind {
    C_OR,
    C_AND,
    C_NOT,
    C_CMP,     /* cmp between args[0] and args[1] */
    C_BETWEEN, /* args[0] BETWEEN args[1] AND args[2] */
    C_IN,      /* args[0] IN (args[1..]) */
    C_EXISTS,
    C_NOT_EXISTS,
    C_TYPE,
    C_BEGINS,
    C_CONTAINS,
};

enum cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

struct ddb_cond {
    enum cond_kind kind;
    enum cmp_op cmp;
    struct ddb_cond *l, *r; /* OR, AND (both), NOT (l) */
    struct ddb_operand *args;
    size_t n_args;
    bool parens; /* written inside parentheses (key conditions allow them) */
};

/* DynamoDB type names ("S", "N", ..., "NULL", "BOOL"); NULL for types DynamoDB lacks. */
const char *ddb_type_name(enum value_type t);

/* ---- the parser (ddb_parse.c) ---- */

struct parser {
    struct ddb_ctx *ctx;
    enum ddb_kind kind;
    struct tok *toks;
    size_t n, i;
    int operators;
    struct ddb_err *err;
};

int ddb_parser_init(struct parser *ps, struct ddb_ctx *ctx, enum ddb_kind kind, const char *text,
                    size_t len, struct ddb_err *err);
int ddb_parse_path(struct parser *ps, struct ddb_path *out);
/* An operand of the update grammar: path, :value, or a function of operands. */
int ddb_parse_update_operand(struct parser *ps, struct ddb_operand **out);
/* Syntax error at the current token. */
int ddb_syntax_error(struct parser *ps);
/* Counts one operator or function against DDB_MAX_OPERATORS. */
int ddb_count_operator(struct parser *ps);
/* The condition grammar; ps at the first token; consumes through TK_EOF. */
int ddb_parse_condition_tokens(struct parser *ps, struct ddb_cond **out);
bool ddb_tok_is_word(const struct tok *t, const char *word);

/* ---- projection trees (ddb_project.c) ---- */

struct pnode;
/* Builds the projection tree of n non-conflicting paths (checked by ddb_paths_check). */
int ddb_ptree_build(const struct ddb_path *const *paths, size_t n, struct cr_arena *a,
                    struct pnode **out);
int ddb_ptree_project(const struct pnode *root, const struct value *item, struct cr_arena *a,
                      struct value *out);

struct ddb_projection {
    struct pnode *root;
};

/* ---- updates ---- */

enum upd_kind { U_SET, U_REMOVE, U_ADD, U_DELETE };

struct ddb_action {
    enum upd_kind kind;
    struct ddb_path path;
    struct ddb_operand *operand; /* SET: the value; ADD, DELETE: a VALUE operand */
};

struct ddb_update {
    struct ddb_action *actions;
    size_t n;
    struct pnode *targets; /* projection tree of every action's path */
};

#endif
