/*
 * The parser of the query language: tokens to an AST, then binding (names to alias slots,
 * parameters to indexes, aggregates to slots, GROUP BY references, output names). It checks
 * everything that can be checked without documents and evaluates nothing.
 *
 * Expression grammar, loosest first (docs/query.md):
 *   expr    := or ['?' expr ':' expr]
 *   or      := and (OR and)*
 *   and     := not (AND not)*
 *   not     := NOT not | cmp
 *   cmp     := coal (cmpop coal | [NOT] IN '(' expr, ... ')' | [NOT] BETWEEN coal AND coal
 *              | [NOT] LIKE coal [ESCAPE coal])*
 *   coal    := concat ('??' concat)*
 *   concat  := add ('||' add)*
 *   add     := mul (('+' | '-') mul)*
 *   mul     := unary (('*' | '/' | '%') unary)*
 *   unary   := ('-' | '+') unary | postfix
 *   postfix := primary ('.' name | '[' expr ']')*
 *   primary := number | string | true | false | null | undefined | @param | name
 *              | name '(' expr, ... ')' | '(' expr ')' | '[' expr, ... ']'
 *              | '{' (name | string) ':' expr, ... '}'
 */
#include "query/sql_int.h"
#include "common/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parser {
    struct cr_arena *a;
    struct sql_tok *toks;
    size_t n, i;
    unsigned depth;
    struct sql_err *err;
};

static const char *const keywords[] = {
    "SELECT",  "FROM", "WHERE",  "JOIN",  "IN",       "AS",    "AND",   "OR",        "NOT",
    "BETWEEN", "LIKE", "ESCAPE", "TOP",   "DISTINCT", "VALUE", "ORDER", "GROUP",     "BY",
    "ASC",     "DESC", "OFFSET", "LIMIT", "TRUE",     "FALSE", "NULL",  "UNDEFINED",
};

static bool tok_is(const struct sql_tok *t, const char *word)
{
    return t->type == ST_IDENT && strlen(word) == t->len && !strncasecmp(t->p, word, t->len);
}

static bool is_keyword(const struct sql_tok *t)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (tok_is(t, keywords[i]))
            return true;
    return false;
}

static struct sql_tok *cur(struct parser *ps)
{
    return &ps->toks[ps->i];
}

static struct sql_tok *peek(struct parser *ps, size_t k)
{
    return &ps->toks[ps->i + k < ps->n ? ps->i + k : ps->n - 1];
}

static int expected(struct parser *ps, const char *what)
{
    struct sql_tok *t = cur(ps);

    if (t->type == ST_EOF)
        return sql_fail(ps->err, CR_EINVAL, t->line, t->col,
                        "expected %s at %u:%u, found end of input", what, t->line, t->col);
    return sql_fail(ps->err, CR_EINVAL, t->line, t->col, "expected %s at %u:%u, found '%.*s'", what,
                    t->line, t->col, t->len > 40 ? 40 : (int)t->len, t->p);
}

static int nomem(struct parser *ps)
{
    return sql_fail(ps->err, CR_ENOMEM, 0, 0, "%s", cr_strerror(CR_ENOMEM));
}

static bool accept_word(struct parser *ps, const char *word)
{
    if (!tok_is(cur(ps), word))
        return false;
    ps->i++;
    return true;
}

static bool accept(struct parser *ps, enum sql_tok_type type)
{
    if (cur(ps)->type != type)
        return false;
    ps->i++;
    return true;
}

static int expect_word(struct parser *ps, const char *word)
{
    return accept_word(ps, word) ? 0 : expected(ps, word);
}

static int expect(struct parser *ps, enum sql_tok_type type, const char *what)
{
    return accept(ps, type) ? 0 : expected(ps, what);
}

/* A new node at token t; height from its children. CR_ENESTING beyond SQL_MAX_DEPTH. */
static int node(struct parser *ps, enum sql_ek kind, const struct sql_tok *t, struct sql_expr *a,
                struct sql_expr *b, struct sql_expr *c, struct sql_expr **out)
{
    struct sql_expr *e = cr_arena_calloc(ps->a, sizeof *e);
    unsigned h = 0;

    if (!e)
        return nomem(ps);
    e->kind = kind;
    e->group = -1;
    /* An expression starts where its left operand does (a prefix operator or a function name
     * starts its own). */
    e->line = a && kind != SE_UNARY && kind != SE_AGG ? a->line : t->line;
    e->col = a && kind != SE_UNARY && kind != SE_AGG ? a->col : t->col;
    e->a = a;
    e->b = b;
    e->c = c;
    if (a && a->height > h)
        h = a->height;
    if (b && b->height > h)
        h = b->height;
    if (c && c->height > h)
        h = c->height;
    e->height = h + 1;
    if (e->height > SQL_MAX_DEPTH)
        return sql_fail(ps->err, CR_ENESTING, t->line, t->col,
                        "expression nested deeper than %d at %u:%u", SQL_MAX_DEPTH, t->line,
                        t->col);
    *out = e;
    return 0;
}

/* Counts a list's elements into the node's height. */
static int list_height(struct parser *ps, struct sql_expr *e)
{
    for (size_t i = 0; i < e->n_args; i++)
        if (e->args[i]->height >= e->height)
            e->height = e->args[i]->height + 1;
    if (e->height > SQL_MAX_DEPTH)
        return sql_fail(ps->err, CR_ENESTING, e->line, e->col,
                        "expression nested deeper than %d at %u:%u", SQL_MAX_DEPTH, e->line,
                        e->col);
    return 0;
}

/*
 * Parser recursion: parentheses and prefix operators nest without adding tree height, so they are
 * bounded on their own. The printer wraps every compound node in parentheses, which costs up to
 * two levels per node (a parenthesis and a prefix operator): allowing 2 * SQL_MAX_DEPTH + 1 keeps
 * every printed query parseable.
 */
#define PARSE_DEPTH_MAX (2 * SQL_MAX_DEPTH + 1)

static int enter(struct parser *ps, const struct sql_tok *t)
{
    if (++ps->depth > PARSE_DEPTH_MAX)
        return sql_fail(ps->err, CR_ENESTING, t->line, t->col,
                        "expression nested too deeply at %u:%u", t->line, t->col);
    return 0;
}

static int parse_expr(struct parser *ps, struct sql_expr **out);

/* Parses expr (',' expr)* up to the closing token into an arena array. */
static int parse_list(struct parser *ps, enum sql_tok_type close, const char *what,
                      struct sql_expr ***out, size_t *n)
{
    struct sql_expr **v = NULL;
    size_t k = 0, cap = 0;
    int rc;

    if (accept(ps, close)) {
        *out = NULL;
        *n = 0;
        return 0;
    }
    for (;;) {
        struct sql_expr *e;

        if ((rc = parse_expr(ps, &e)) < 0)
            return rc;
        if (k == cap) {
            struct sql_expr **nv;

            cap = cap ? cap * 2 : 4;
            if (!(nv = cr_arena_alloc(ps->a, cap * sizeof *nv)))
                return nomem(ps);
            if (k)
                memcpy(nv, v, k * sizeof *nv);
            v = nv;
        }
        v[k++] = e;
        if (accept(ps, ST_COMMA))
            continue;
        if (accept(ps, close))
            break;
        return expected(ps, what);
    }
    *out = v;
    *n = k;
    return 0;
}

static int parse_number(struct parser *ps, const struct sql_tok *t, struct value *out)
{
    char buf[64];
    double d;

    if (t->len >= sizeof buf)
        return sql_fail(ps->err, CR_EINVAL, t->line, t->col, "number too long at %u:%u: '%.20s...'",
                        t->line, t->col, t->p);
    memcpy(buf, t->p, t->len);
    buf[t->len] = '\0';
    d = strtod(buf, NULL);
    if (!isfinite(d))
        return sql_fail(ps->err, CR_EINVAL, t->line, t->col, "number out of range at %u:%u: %s",
                        t->line, t->col, buf);
    *out = sql_number(d);
    return 0;
}

static int parse_string(struct parser *ps, const struct sql_tok *t, const char **s, size_t *len)
{
    size_t bad = 0;
    int rc = sql_unescape(t, ps->a, s, len, &bad);

    if (rc == CR_ENOMEM)
        return nomem(ps);
    if (rc < 0)
        return sql_fail(ps->err, CR_EINVAL, t->line, t->col + (unsigned)bad,
                        "invalid escape sequence in string at %u:%u", t->line,
                        t->col + (unsigned)bad);
    return 0;
}

static int lookup_function(struct parser *ps, const struct sql_tok *t, enum sql_ek *kind, int *op,
                           size_t *min, size_t *max)
{
    static const struct {
        const char *name;
        size_t min, max;
    } funcs[] = {
#define SQL_FUNC_ROW(id, name, lo, hi) {name, lo, hi},
        SQL_FUNCS(SQL_FUNC_ROW)
#undef SQL_FUNC_ROW
    };
    static const char *const aggs[] = {
#define SQL_AGG_ROW(id, name) name,
        SQL_AGGS(SQL_AGG_ROW)
#undef SQL_AGG_ROW
    };

    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (tok_is(t, funcs[i].name)) {
            *kind = SE_CALL;
            *op = (int)i;
            *min = funcs[i].min;
            *max = funcs[i].max;
            return 0;
        }
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (tok_is(t, aggs[i])) {
            *kind = SE_AGG;
            *op = (int)i;
            *min = *max = 1;
            return 0;
        }
    return sql_fail(ps->err, CR_EINVAL, t->line, t->col, "unknown function '%.*s' at %u:%u",
                    t->len > 40 ? 40 : (int)t->len, t->p, t->line, t->col);
}

static int parse_call(struct parser *ps, struct sql_tok *t, struct sql_expr **out)
{
    struct sql_expr *e, **args;
    size_t n, min = 0, max = 0;
    enum sql_ek kind = SE_CALL;
    int op = 0, rc;

    if ((rc = lookup_function(ps, t, &kind, &op, &min, &max)) < 0)
        return rc;
    ps->i++; /* '(' */
    if ((rc = parse_list(ps, ST_RPAREN, "',' or ')'", &args, &n)) < 0)
        return rc;
    if (n < min || n > max) {
        size_t want = n < min ? min : max;

        return sql_fail(ps->err, CR_EINVAL, t->line, t->col,
                        "%.*s at %u:%u takes %s%zu argument%s, got %zu", (int)t->len, t->p, t->line,
                        t->col,
                        min == max ? ""
                        : n < min  ? "at least "
                                   : "at most ",
                        want, want == 1 ? "" : "s", n);
    }
    if ((rc = node(ps, kind, t, kind == SE_AGG ? args[0] : NULL, NULL, NULL, &e)) < 0)
        return rc;
    e->op = op;
    if (kind == SE_CALL) {
        e->args = args;
        e->n_args = n;
        if ((rc = list_height(ps, e)) < 0)
            return rc;
    }
    *out = e;
    return 0;
}

static int parse_object(struct parser *ps, struct sql_tok *t, struct sql_expr **out)
{
    struct sql_expr *e;
    size_t cap = 0;
    int rc;

    if ((rc = node(ps, SE_OBJECT, t, NULL, NULL, NULL, &e)) < 0)
        return rc;
    if (accept(ps, ST_RBRACE)) {
        *out = e;
        return 0;
    }
    for (;;) {
        struct sql_tok *k = cur(ps);
        const char *name;
        size_t len;

        if (k->type == ST_STRING) {
            if ((rc = parse_string(ps, k, &name, &len)) < 0)
                return rc;
        } else if (k->type == ST_IDENT) {
            name = k->p;
            len = k->len;
        } else {
            return expected(ps, "a property name");
        }
        ps->i++;
        for (size_t i = 0; i < e->n_args; i++)
            if (e->keys[i].name_len == len && !memcmp(e->keys[i].name, name, len))
                return sql_fail(ps->err, CR_EINVAL, k->line, k->col,
                                "duplicate property name '%.*s' at %u:%u", len > 40 ? 40 : (int)len,
                                name, k->line, k->col);
        if ((rc = expect(ps, ST_COLON, "':'")) < 0)
            return rc;
        if (e->n_args == cap) {
            struct sql_expr **na;
            struct value_field *nk;

            cap = cap ? cap * 2 : 4;
            na = cr_arena_alloc(ps->a, cap * sizeof *na);
            nk = cr_arena_calloc(ps->a, cap * sizeof *nk);
            if (!na || !nk)
                return nomem(ps);
            if (e->n_args) {
                memcpy(na, e->args, e->n_args * sizeof *na);
                memcpy(nk, e->keys, e->n_args * sizeof *nk);
            }
            e->args = na;
            e->keys = nk;
        }
        e->keys[e->n_args].name = name;
        e->keys[e->n_args].name_len = len;
        if ((rc = parse_expr(ps, &e->args[e->n_args])) < 0)
            return rc;
        e->n_args++;
        if (accept(ps, ST_COMMA))
            continue;
        if (accept(ps, ST_RBRACE))
            break;
        return expected(ps, "',' or '}'");
    }
    if ((rc = list_height(ps, e)) < 0)
        return rc;
    *out = e;
    return 0;
}

static int parse_primary(struct parser *ps, struct sql_expr **out)
{
    struct sql_tok *t = cur(ps);
    struct sql_expr *e = NULL;
    int rc;

    switch (t->type) {
    case ST_NUMBER:
        if ((rc = node(ps, SE_CONST, t, NULL, NULL, NULL, &e)) < 0 ||
            (rc = parse_number(ps, t, &e->v)) < 0)
            return rc;
        ps->i++;
        break;
    case ST_STRING: {
        const char *s;
        size_t len;

        if ((rc = node(ps, SE_CONST, t, NULL, NULL, NULL, &e)) < 0 ||
            (rc = parse_string(ps, t, &s, &len)) < 0)
            return rc;
        e->v = value_string(s, len);
        ps->i++;
        break;
    }
    case ST_PARAM:
        if ((rc = node(ps, SE_PARAM, t, NULL, NULL, NULL, &e)) < 0)
            return rc;
        e->name = t->p;
        e->name_len = t->len;
        ps->i++;
        break;
    case ST_LPAREN:
        ps->i++;
        if ((rc = parse_expr(ps, &e)) < 0 || (rc = expect(ps, ST_RPAREN, "')'")) < 0)
            return rc;
        break;
    case ST_LBRACKET:
        ps->i++;
        if ((rc = node(ps, SE_ARRAY, t, NULL, NULL, NULL, &e)) < 0 ||
            (rc = parse_list(ps, ST_RBRACKET, "',' or ']'", &e->args, &e->n_args)) < 0 ||
            (rc = list_height(ps, e)) < 0)
            return rc;
        break;
    case ST_LBRACE:
        ps->i++;
        if ((rc = parse_object(ps, t, &e)) < 0)
            return rc;
        break;
    case ST_IDENT:
        if (tok_is(t, "TRUE") || tok_is(t, "FALSE") || tok_is(t, "NULL")) {
            if ((rc = node(ps, SE_CONST, t, NULL, NULL, NULL, &e)) < 0)
                return rc;
            e->v = tok_is(t, "NULL") ? value_null() : value_bool(tok_is(t, "TRUE"));
            ps->i++;
            break;
        }
        if (tok_is(t, "UNDEFINED")) {
            if ((rc = node(ps, SE_UNDEF, t, NULL, NULL, NULL, &e)) < 0)
                return rc;
            ps->i++;
            break;
        }
        if (peek(ps, 1)->type == ST_LPAREN) {
            ps->i++;
            if ((rc = parse_call(ps, t, &e)) < 0)
                return rc;
            break;
        }
        if (is_keyword(t))
            return expected(ps, "an expression");
        if ((rc = node(ps, SE_IDENT, t, NULL, NULL, NULL, &e)) < 0)
            return rc;
        e->name = t->p;
        e->name_len = t->len;
        ps->i++;
        break;
    default:
        return expected(ps, "an expression");
    }
    *out = e;
    return 0;
}

static int parse_postfix(struct parser *ps, struct sql_expr **out)
{
    struct sql_expr *e, *n;
    int rc;

    if ((rc = parse_primary(ps, &e)) < 0)
        return rc;
    for (;;) {
        struct sql_tok *t = cur(ps);

        if (accept(ps, ST_DOT)) {
            struct sql_tok *name = cur(ps);

            if (name->type != ST_IDENT)
                return expected(ps, "a property name");
            ps->i++;
            if ((rc = node(ps, SE_PROP, t, e, NULL, NULL, &n)) < 0)
                return rc;
            n->name = name->p;
            n->name_len = name->len;
        } else if (accept(ps, ST_LBRACKET)) {
            struct sql_expr *ix;

            if ((rc = parse_expr(ps, &ix)) < 0 || (rc = expect(ps, ST_RBRACKET, "']'")) < 0)
                return rc;
            if (ix->kind == SE_CONST && ix->v.type == VT_STRING) {
                if ((rc = node(ps, SE_PROP, t, e, NULL, NULL, &n)) < 0)
                    return rc;
                n->name = ix->v.u.s.ptr;
                n->name_len = ix->v.u.s.len;
            } else if ((rc = node(ps, SE_INDEX, t, e, ix, NULL, &n)) < 0) {
                return rc;
            }
        } else {
            break;
        }
        e = n;
    }
    *out = e;
    return 0;
}

static int parse_unary(struct parser *ps, struct sql_expr **out)
{
    struct sql_tok *t = cur(ps);
    struct sql_expr *a;
    int rc;

    if (t->type != ST_MINUS && t->type != ST_PLUS)
        return parse_postfix(ps, out);
    if ((rc = enter(ps, t)) < 0)
        return rc;
    ps->i++;
    if ((rc = parse_unary(ps, &a)) < 0)
        return rc;
    ps->depth--;
    /* A negative number literal is a constant, so that printing and parsing again agree. */
    if (t->type == ST_MINUS && a->kind == SE_CONST &&
        (a->v.type == VT_INT || a->v.type == VT_DOUBLE)) {
        a->v = sql_number(-sql_to_double(&a->v));
        a->line = t->line;
        a->col = t->col;
        *out = a;
        return 0;
    }
    if ((rc = node(ps, SE_UNARY, t, a, NULL, NULL, out)) < 0)
        return rc;
    (*out)->op = t->type == ST_MINUS ? SO_NEG : SO_POS;
    return 0;
}

typedef int (*level_fn)(struct parser *ps, struct sql_expr **out);

/* One left-associative binary level: operand (op operand)*. ops maps token types to operators. */
static int parse_level(struct parser *ps, level_fn operand, const enum sql_tok_type *toks,
                       const enum sql_op *ops, size_t n_ops, struct sql_expr **out)
{
    struct sql_expr *l, *r, *e;
    int rc;

    if ((rc = operand(ps, &l)) < 0)
        return rc;
    for (;;) {
        struct sql_tok *t = cur(ps);
        size_t k;

        for (k = 0; k < n_ops && t->type != toks[k]; k++)
            ;
        if (k == n_ops)
            break;
        ps->i++;
        if ((rc = operand(ps, &r)) < 0 || (rc = node(ps, SE_BINARY, t, l, r, NULL, &e)) < 0)
            return rc;
        e->op = ops[k];
        l = e;
    }
    *out = l;
    return 0;
}

static int parse_mul(struct parser *ps, struct sql_expr **out)
{
    static const enum sql_tok_type t[] = {ST_STAR, ST_SLASH, ST_PERCENT};
    static const enum sql_op o[] = {SO_MUL, SO_DIV, SO_MOD};

    return parse_level(ps, parse_unary, t, o, 3, out);
}

static int parse_add(struct parser *ps, struct sql_expr **out)
{
    static const enum sql_tok_type t[] = {ST_PLUS, ST_MINUS};
    static const enum sql_op o[] = {SO_ADD, SO_SUB};

    return parse_level(ps, parse_mul, t, o, 2, out);
}

static int parse_concat(struct parser *ps, struct sql_expr **out)
{
    static const enum sql_tok_type t[] = {ST_CONCAT};
    static const enum sql_op o[] = {SO_CONCAT};

    return parse_level(ps, parse_add, t, o, 1, out);
}

static int parse_coal(struct parser *ps, struct sql_expr **out)
{
    static const enum sql_tok_type t[] = {ST_COALESCE};
    static const enum sql_op o[] = {SO_COALESCE};

    return parse_level(ps, parse_concat, t, o, 1, out);
}

static int parse_cmp(struct parser *ps, struct sql_expr **out)
{
    static const enum sql_tok_type toks[] = {ST_EQ, ST_NE, ST_LT, ST_LE, ST_GT, ST_GE};
    static const enum sql_op ops[] = {SO_EQ, SO_NE, SO_LT, SO_LE, SO_GT, SO_GE};
    struct sql_expr *l, *e;
    int rc;

    if ((rc = parse_coal(ps, &l)) < 0)
        return rc;
    for (;;) {
        struct sql_tok *t = cur(ps);
        bool negate = false;
        size_t k;

        for (k = 0; k < 6 && t->type != toks[k]; k++)
            ;
        if (k < 6) {
            struct sql_expr *r;

            ps->i++;
            if ((rc = parse_coal(ps, &r)) < 0 || (rc = node(ps, SE_BINARY, t, l, r, NULL, &e)) < 0)
                return rc;
            e->op = ops[k];
            l = e;
            continue;
        }
        if (tok_is(t, "NOT") && (tok_is(peek(ps, 1), "IN") || tok_is(peek(ps, 1), "BETWEEN") ||
                                 tok_is(peek(ps, 1), "LIKE"))) {
            negate = true;
            ps->i++;
        }
        if (accept_word(ps, "IN")) {
            if ((rc = expect(ps, ST_LPAREN, "'('")) < 0 ||
                (rc = node(ps, SE_IN, t, l, NULL, NULL, &e)) < 0 ||
                (rc = parse_list(ps, ST_RPAREN, "',' or ')'", &e->args, &e->n_args)) < 0 ||
                (rc = list_height(ps, e)) < 0)
                return rc;
            if (!e->n_args)
                return sql_fail(ps->err, CR_EINVAL, t->line, t->col,
                                "IN at %u:%u needs at least one value", t->line, t->col);
        } else if (accept_word(ps, "BETWEEN")) {
            struct sql_expr *lo, *hi;

            if ((rc = parse_coal(ps, &lo)) < 0 || (rc = expect_word(ps, "AND")) < 0 ||
                (rc = parse_coal(ps, &hi)) < 0 || (rc = node(ps, SE_BETWEEN, t, l, lo, hi, &e)) < 0)
                return rc;
        } else if (accept_word(ps, "LIKE")) {
            struct sql_expr *pat, *esc = NULL;

            if ((rc = parse_coal(ps, &pat)) < 0)
                return rc;
            if (accept_word(ps, "ESCAPE") && (rc = parse_coal(ps, &esc)) < 0)
                return rc;
            if ((rc = node(ps, SE_LIKE, t, l, pat, esc, &e)) < 0)
                return rc;
        } else {
            break;
        }
        e->negate = negate;
        l = e;
    }
    *out = l;
    return 0;
}

static int parse_not(struct parser *ps, struct sql_expr **out)
{
    struct sql_tok *t = cur(ps);
    struct sql_expr *a;
    int rc;

    if (!tok_is(t, "NOT"))
        return parse_cmp(ps, out);
    if ((rc = enter(ps, t)) < 0)
        return rc;
    ps->i++;
    if ((rc = parse_not(ps, &a)) < 0 || (rc = node(ps, SE_UNARY, t, a, NULL, NULL, out)) < 0)
        return rc;
    ps->depth--;
    (*out)->op = SO_NOT;
    return 0;
}

static int parse_and(struct parser *ps, struct sql_expr **out)
{
    struct sql_expr *l, *r, *e;
    int rc;

    if ((rc = parse_not(ps, &l)) < 0)
        return rc;
    while (tok_is(cur(ps), "AND")) {
        struct sql_tok *t = cur(ps);

        ps->i++;
        if ((rc = parse_not(ps, &r)) < 0 || (rc = node(ps, SE_BINARY, t, l, r, NULL, &e)) < 0)
            return rc;
        e->op = SO_AND;
        l = e;
    }
    *out = l;
    return 0;
}

static int parse_or(struct parser *ps, struct sql_expr **out)
{
    struct sql_expr *l, *r, *e;
    int rc;

    if ((rc = parse_and(ps, &l)) < 0)
        return rc;
    while (tok_is(cur(ps), "OR")) {
        struct sql_tok *t = cur(ps);

        ps->i++;
        if ((rc = parse_and(ps, &r)) < 0 || (rc = node(ps, SE_BINARY, t, l, r, NULL, &e)) < 0)
            return rc;
        e->op = SO_OR;
        l = e;
    }
    *out = l;
    return 0;
}

static int parse_expr(struct parser *ps, struct sql_expr **out)
{
    struct sql_tok *t = cur(ps);
    struct sql_expr *c, *a, *b;
    int rc;

    if ((rc = enter(ps, t)) < 0)
        return rc;
    if ((rc = parse_or(ps, &c)) < 0)
        return rc;
    t = cur(ps);
    if (accept(ps, ST_QUESTION)) {
        if ((rc = parse_expr(ps, &a)) < 0 || (rc = expect(ps, ST_COLON, "':'")) < 0 ||
            (rc = parse_expr(ps, &b)) < 0 || (rc = node(ps, SE_COND, t, c, a, b, &c)) < 0)
            return rc;
    }
    ps->depth--;
    *out = c;
    return 0;
}

/* A name that is not a keyword (aliases). */
static int parse_name(struct parser *ps, const char *what, const char **name, size_t *len)
{
    struct sql_tok *t = cur(ps);

    if (t->type != ST_IDENT || is_keyword(t))
        return expected(ps, what);
    *name = t->p;
    *len = t->len;
    ps->i++;
    return 0;
}

/* TOP, OFFSET and LIMIT take a non-negative integer or a parameter. */
static int parse_count(struct parser *ps, const char *what, struct sql_expr **out)
{
    struct sql_tok *t = cur(ps);
    int rc;

    if (t->type != ST_NUMBER && t->type != ST_PARAM)
        return expected(ps, what);
    if ((rc = parse_primary(ps, out)) < 0)
        return rc;
    if (t->type == ST_NUMBER && (*out)->v.type != VT_INT)
        return sql_fail(ps->err, CR_EINVAL, t->line, t->col, "expected %s at %u:%u, found '%.*s'",
                        what, t->line, t->col, (int)t->len, t->p);
    return 0;
}

static int grow(struct parser *ps, void **v, size_t n, size_t *cap, size_t size)
{
    void *nv;

    if (n < *cap)
        return 0;
    *cap = *cap ? *cap * 2 : 4;
    if (!(nv = cr_arena_alloc(ps->a, *cap * size)))
        return nomem(ps);
    if (n)
        memcpy(nv, *v, n * size);
    *v = nv;
    return 0;
}

static int parse_select(struct parser *ps, struct sql_query *q)
{
    size_t cap = 0;
    int rc;

    if ((rc = expect_word(ps, "SELECT")) < 0)
        return rc;
    q->distinct = accept_word(ps, "DISTINCT");
    if (accept_word(ps, "TOP") &&
        (rc = parse_count(ps, "a number or parameter after TOP", &q->top)) < 0)
        return rc;
    if (accept(ps, ST_STAR)) {
        q->sel = SQL_SEL_STAR;
        return 0;
    }
    if (accept_word(ps, "VALUE")) {
        q->sel = SQL_SEL_VALUE;
        if (!(q->items = cr_arena_calloc(ps->a, sizeof *q->items)))
            return nomem(ps);
        q->n_items = 1;
        return parse_expr(ps, &q->items[0].e);
    }
    q->sel = SQL_SEL_LIST;
    for (;;) {
        struct sql_item *it;

        if ((rc = grow(ps, (void **)&q->items, q->n_items, &cap, sizeof *q->items)) < 0)
            return rc;
        it = &q->items[q->n_items++];
        memset(it, 0, sizeof *it);
        if ((rc = parse_expr(ps, &it->e)) < 0)
            return rc;
        if (accept_word(ps, "AS")) {
            if ((rc = parse_name(ps, "a name after AS", &it->alias, &it->alias_len)) < 0)
                return rc;
        } else if (cur(ps)->type == ST_IDENT && !is_keyword(cur(ps))) {
            it->alias = cur(ps)->p;
            it->alias_len = cur(ps)->len;
            ps->i++;
        }
        if (!accept(ps, ST_COMMA))
            return 0;
    }
}

static int parse_query(struct parser *ps, struct sql_query *q)
{
    size_t cap;
    int rc;

    if ((rc = parse_select(ps, q)) < 0 || (rc = expect_word(ps, "FROM")) < 0 ||
        (rc = parse_name(ps, "a collection name", &q->coll, &q->coll_len)) < 0)
        return rc;
    q->alias = q->coll;
    q->alias_len = q->coll_len;
    if (accept_word(ps, "AS")) {
        if ((rc = parse_name(ps, "an alias after AS", &q->alias, &q->alias_len)) < 0)
            return rc;
    } else if (cur(ps)->type == ST_IDENT && !is_keyword(cur(ps))) {
        q->alias = cur(ps)->p;
        q->alias_len = cur(ps)->len;
        ps->i++;
    }
    cap = 0;
    while (tok_is(cur(ps), "JOIN")) {
        struct sql_tok *t = cur(ps);
        struct sql_join *j;

        ps->i++;
        if (q->n_joins == SQL_MAX_JOINS)
            return sql_fail(ps->err, CR_ETOOMANY, t->line, t->col, "more than %d JOINs at %u:%u",
                            SQL_MAX_JOINS, t->line, t->col);
        if ((rc = grow(ps, (void **)&q->joins, q->n_joins, &cap, sizeof *q->joins)) < 0)
            return rc;
        j = &q->joins[q->n_joins++];
        if ((rc = parse_name(ps, "an alias after JOIN", &j->alias, &j->alias_len)) < 0 ||
            (rc = expect_word(ps, "IN")) < 0 || (rc = parse_expr(ps, &j->src)) < 0)
            return rc;
    }
    if (accept_word(ps, "WHERE") && (rc = parse_expr(ps, &q->where)) < 0)
        return rc;
    if (accept_word(ps, "GROUP")) {
        if ((rc = expect_word(ps, "BY")) < 0)
            return rc;
        cap = 0;
        do {
            if ((rc = grow(ps, (void **)&q->group, q->n_group, &cap, sizeof *q->group)) < 0 ||
                (rc = parse_expr(ps, &q->group[q->n_group++])) < 0)
                return rc;
        } while (accept(ps, ST_COMMA));
    }
    if (accept_word(ps, "ORDER")) {
        if ((rc = expect_word(ps, "BY")) < 0)
            return rc;
        cap = 0;
        do {
            struct sql_order *o;

            if ((rc = grow(ps, (void **)&q->order, q->n_order, &cap, sizeof *q->order)) < 0)
                return rc;
            o = &q->order[q->n_order++];
            if ((rc = parse_expr(ps, &o->e)) < 0)
                return rc;
            o->desc = accept_word(ps, "DESC");
            if (!o->desc)
                accept_word(ps, "ASC");
        } while (accept(ps, ST_COMMA));
    }
    if (accept_word(ps, "OFFSET")) {
        if ((rc = parse_count(ps, "a number or parameter after OFFSET", &q->offset)) < 0 ||
            (rc = expect_word(ps, "LIMIT")) < 0 ||
            (rc = parse_count(ps, "a number or parameter after LIMIT", &q->limit)) < 0)
            return rc;
    }
    if (cur(ps)->type != ST_EOF)
        return expected(ps, q->offset ? "end of query" : "a clause or end of query");
    return 0;
}

/* ---- binding ---- */

struct binder {
    struct parser *ps;
    struct sql_query *q;
    size_t n_aliases; /* visible alias slots */
    bool aggs_ok;     /* inside the SELECT list, not inside an aggregate */
    size_t cap_aggs;
};

static bool alias_is(const struct sql_query *q, size_t slot, const char *name, size_t len)
{
    const char *s = slot ? q->joins[slot - 1].alias : q->alias;
    size_t n = slot ? q->joins[slot - 1].alias_len : q->alias_len;

    return n == len && !memcmp(s, name, len);
}

static int bind_param(struct binder *b, struct sql_expr *e)
{
    struct sql_query *q = b->q;
    size_t i;

    for (i = 0; i < q->n_params; i++)
        if (q->params[i].len == e->name_len && !memcmp(q->params[i].name, e->name, e->name_len))
            break;
    if (i == q->n_params) {
        if (q->n_params == SQL_MAX_PARAMS)
            return sql_fail(b->ps->err, CR_ETOOMANY, e->line, e->col,
                            "more than %d parameters at %u:%u", SQL_MAX_PARAMS, e->line, e->col);
        if (!(q->n_params & (q->n_params - 1)) || !q->n_params) {
            struct sql_pname *np =
                cr_arena_alloc(b->ps->a, (q->n_params ? q->n_params * 2 : 4) * sizeof *np);
            if (!np)
                return nomem(b->ps);
            if (q->n_params)
                memcpy(np, q->params, q->n_params * sizeof *np);
            q->params = np;
        }
        q->params[q->n_params].name = e->name;
        q->params[q->n_params].len = e->name_len;
        q->n_params++;
    }
    e->slot = (int)i;
    return 0;
}

static int bind_expr(struct binder *b, struct sql_expr *e)
{
    struct sql_query *q = b->q;
    int rc;

    if (!e)
        return 0;
    switch (e->kind) {
    case SE_IDENT:
        for (size_t s = 0; s < b->n_aliases; s++)
            if (alias_is(q, s, e->name, e->name_len)) {
                e->slot = (int)s;
                return 0;
            }
        return sql_fail(b->ps->err, CR_EINVAL, e->line, e->col,
                        "identifier '%.*s' at %u:%u could not be resolved",
                        e->name_len > 40 ? 40 : (int)e->name_len, e->name, e->line, e->col);
    case SE_PARAM:
        return bind_param(b, e);
    case SE_AGG:
        if (!b->aggs_ok)
            return sql_fail(b->ps->err, CR_EINVAL, e->line, e->col,
                            "aggregate %s at %u:%u is allowed only in the SELECT list, and not "
                            "inside another aggregate",
                            sql_agg_name(e->op), e->line, e->col);
        if (q->n_aggs == b->cap_aggs) {
            struct sql_expr **na;

            b->cap_aggs = b->cap_aggs ? b->cap_aggs * 2 : 4;
            if (!(na = cr_arena_alloc(b->ps->a, b->cap_aggs * sizeof *na)))
                return nomem(b->ps);
            if (q->n_aggs)
                memcpy(na, q->aggs, q->n_aggs * sizeof *na);
            q->aggs = na;
        }
        e->slot = (int)q->n_aggs;
        q->aggs[q->n_aggs++] = e;
        b->aggs_ok = false;
        rc = bind_expr(b, e->a);
        b->aggs_ok = true;
        return rc;
    default:
        break;
    }
    if ((rc = bind_expr(b, e->a)) < 0 || (rc = bind_expr(b, e->b)) < 0 ||
        (rc = bind_expr(b, e->c)) < 0)
        return rc;
    for (size_t i = 0; i < e->n_args; i++)
        if ((rc = bind_expr(b, e->args[i])) < 0)
            return rc;
    return 0;
}

/* In a grouped SELECT, marks subexpressions equal to a GROUP BY expression; any alias reference
 * outside them and outside aggregates is an error. */
static int bind_grouped(struct binder *b, struct sql_expr *e)
{
    struct sql_query *q = b->q;
    int rc;

    if (!e || e->kind == SE_AGG)
        return 0;
    for (size_t g = 0; g < q->n_group; g++)
        if (sql_expr_equal(e, q->group[g])) {
            e->group = (int)g;
            return 0;
        }
    if (e->kind == SE_IDENT)
        return sql_fail(b->ps->err, CR_EINVAL, e->line, e->col,
                        "'%.*s' at %u:%u is neither in GROUP BY nor inside an aggregate",
                        e->name_len > 40 ? 40 : (int)e->name_len, e->name, e->line, e->col);
    if ((rc = bind_grouped(b, e->a)) < 0 || (rc = bind_grouped(b, e->b)) < 0 ||
        (rc = bind_grouped(b, e->c)) < 0)
        return rc;
    for (size_t i = 0; i < e->n_args; i++)
        if ((rc = bind_grouped(b, e->args[i])) < 0)
            return rc;
    return 0;
}

static int name_items(struct binder *b)
{
    struct sql_query *q = b->q;
    unsigned unnamed = 0;

    for (size_t i = 0; i < q->n_items; i++) {
        struct sql_item *it = &q->items[i];

        if (it->alias) {
            it->name = it->alias;
            it->name_len = it->alias_len;
        } else if (it->e->kind == SE_IDENT || it->e->kind == SE_PROP) {
            it->name = it->e->name;
            it->name_len = it->e->name_len;
        } else {
            char buf[16];
            int k = snprintf(buf, sizeof buf, "$%u", ++unnamed);

            if (!(it->name = cr_arena_strndup(b->ps->a, buf, (size_t)k)))
                return nomem(b->ps);
            it->name_len = (size_t)k;
        }
        for (size_t j = 0; j < i; j++)
            if (q->items[j].name_len == it->name_len &&
                !memcmp(q->items[j].name, it->name, it->name_len))
                return sql_fail(b->ps->err, CR_EINVAL, it->e->line, it->e->col,
                                "duplicate output name '%.*s' at %u:%u",
                                it->name_len > 40 ? 40 : (int)it->name_len, it->name, it->e->line,
                                it->e->col);
    }
    return 0;
}

static int bind_query(struct parser *ps, struct sql_query *q)
{
    struct binder b = {.ps = ps, .q = q};
    int rc;

    for (size_t j = 0; j < q->n_joins; j++) {
        struct sql_join *jn = &q->joins[j];

        for (size_t s = 0; s <= j; s++)
            if (alias_is(q, s, jn->alias, jn->alias_len))
                return sql_fail(ps->err, CR_EINVAL, jn->src->line, jn->src->col,
                                "alias '%.*s' is declared twice",
                                jn->alias_len > 40 ? 40 : (int)jn->alias_len, jn->alias);
        b.n_aliases = j + 1;
        if ((rc = bind_expr(&b, jn->src)) < 0)
            return rc;
    }
    b.n_aliases = q->n_joins + 1;
    if ((rc = bind_expr(&b, q->top)) < 0 || (rc = bind_expr(&b, q->offset)) < 0 ||
        (rc = bind_expr(&b, q->limit)) < 0 || (rc = bind_expr(&b, q->where)) < 0)
        return rc;
    for (size_t i = 0; i < q->n_group; i++)
        if ((rc = bind_expr(&b, q->group[i])) < 0)
            return rc;
    for (size_t i = 0; i < q->n_order; i++)
        if ((rc = bind_expr(&b, q->order[i].e)) < 0)
            return rc;
    b.aggs_ok = true;
    for (size_t i = 0; i < q->n_items; i++)
        if ((rc = bind_expr(&b, q->items[i].e)) < 0)
            return rc;
    q->grouped = q->n_group > 0 || q->n_aggs > 0;
    if (q->sel == SQL_SEL_STAR && q->n_joins)
        return sql_fail(ps->err, CR_EINVAL, 1, 1, "SELECT * is only valid with a single input set");
    if (q->grouped) {
        if (q->sel == SQL_SEL_STAR)
            return sql_fail(ps->err, CR_EINVAL, 1, 1, "SELECT * is not valid with GROUP BY");
        if (q->n_order)
            return sql_fail(ps->err, CR_EINVAL, q->order[0].e->line, q->order[0].e->col,
                            "ORDER BY at %u:%u is not supported with GROUP BY or aggregates",
                            q->order[0].e->line, q->order[0].e->col);
        for (size_t i = 0; i < q->n_items; i++)
            if ((rc = bind_grouped(&b, q->items[i].e)) < 0)
                return rc;
    }
    return q->sel == SQL_SEL_LIST ? name_items(&b) : 0;
}

int sql_parse(struct cr_arena *a, const char *text, size_t len, struct sql_query **out,
              struct sql_err *err)
{
    struct parser ps = {.a = a, .err = err};
    struct sql_query *q;
    int rc;

    memset(err, 0, sizeof *err);
    if (len > SQL_MAX_LEN)
        return sql_fail(err, CR_ETOOLONG, 0, 0, "query text is %zu bytes, more than %d", len,
                        SQL_MAX_LEN);
    if ((rc = sql_lex(text, len, a, &ps.toks, &ps.n)) < 0)
        return nomem(&ps);
    for (size_t i = 0; i < ps.n; i++)
        if (ps.toks[i].type == ST_BAD) {
            struct sql_tok *t = &ps.toks[i];

            if (t->p[0] == '"' || t->p[0] == '\'')
                return sql_fail(err, CR_EINVAL, t->line, t->col, "unterminated string at %u:%u",
                                t->line, t->col);
            if (t->p[0] > ' ' && t->p[0] < 0x7f)
                return sql_fail(err, CR_EINVAL, t->line, t->col,
                                "unexpected character '%c' at %u:%u", t->p[0], t->line, t->col);
            return sql_fail(err, CR_EINVAL, t->line, t->col, "unexpected byte 0x%02x at %u:%u",
                            (unsigned char)t->p[0], t->line, t->col);
        }
    if (!(q = cr_arena_calloc(a, sizeof *q)))
        return nomem(&ps);
    if ((rc = parse_query(&ps, q)) < 0 || (rc = bind_query(&ps, q)) < 0)
        return rc;
    *out = q;
    return 0;
}

const char *sql_query_collection(const struct sql_query *q, size_t *len)
{
    *len = q->coll_len;
    return q->coll;
}
