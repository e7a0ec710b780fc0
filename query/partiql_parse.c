/*
 * PartiQL for DynamoDB: the lexer and the recursive-descent parser that turn one statement
 * into the AST of partiql_int.h. Literals become struct values here (parameters substituted in
 * order); nothing is evaluated and nothing about the table is known yet (partiql_translate.c).
 * Recursion is bounded by CR_MAX_DEPTH levels of parentheses, NOT and literal nesting.
 */
#include "common/error.h"
#include "query/partiql_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const pq_fn_names[] = {"begins_with", "contains",      "attribute_type", "size",
                                   "list_append", "if_not_exists", "set_add",        "set_delete"};

enum tok_type {
    T_END,
    T_IDENT,  /* unquoted: a keyword, a function or a name */
    T_QIDENT, /* "quoted name" */
    T_STRING, /* 'string' */
    T_NUMBER,
    T_PARAM, /* ? */
    T_PUNCT, /* , . ( ) [ ] { } : = <> != < <= > >= + - * << >> */
};

struct tok {
    enum tok_type type;
    const char *p; /* in the statement; quoted tokens without their quotes */
    size_t len;
    bool escaped; /* a quoted token holding a doubled quote */
};

struct parser {
    struct cr_arena *a;
    struct ddb_err *err;
    const char *text, *end, *at; /* the lexer's position */
    struct tok t;                /* the current token */
    const struct value *params;
    size_t n_params, next_param;
    int depth;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(ps->err->msg, sizeof ps->err->msg, "%s", PARTIQL_WELL_FORMED);

    va_start(ap, fmt);
    vsnprintf(ps->err->msg + k, sizeof ps->err->msg - (size_t)k, fmt, ap);
    va_end(ap);
    ps->err->code = CR_EINVAL;
    return CR_EINVAL;
}

static int nomem(struct parser *ps)
{
    ps->err->code = CR_ENOMEM;
    snprintf(ps->err->msg, sizeof ps->err->msg, "out of memory");
    return CR_ENOMEM;
}

static int unexpected(struct parser *ps)
{
    if (ps->t.type == T_END)
        return fail(ps, "Unexpected end of statement");
    return fail(ps, "Unexpected token: %.*s", (int)(ps->t.len > 64 ? 64 : ps->t.len), ps->t.p);
}

/* ---- lexer -------------------------------------------------------------------------------- */

static int quoted(struct parser *ps, char q, enum tok_type type)
{
    const char *p = ps->at + 1;

    ps->t = (struct tok){type, p, 0, false};
    for (; p < ps->end; p++) {
        if (*p != q)
            continue;
        if (p + 1 < ps->end && p[1] == q) {
            ps->t.escaped = true;
            p++;
            continue;
        }
        ps->t.len = (size_t)(p - ps->t.p);
        ps->at = p + 1;
        return 0;
    }
    return fail(ps, "Unterminated %s", q == '\'' ? "string" : "quoted identifier");
}

static int next(struct parser *ps)
{
    static const char *const two[] = {"<>", "!=", "<=", ">=", "<<", ">>"};
    const char *p = ps->at;

    while (p < ps->end && isspace((unsigned char)*p))
        p++;
    ps->at = p;
    if (p == ps->end) {
        ps->t = (struct tok){T_END, p, 0, false};
        return 0;
    }
    if (*p == '\'' || *p == '"')
        return quoted(ps, *p, *p == '\'' ? T_STRING : T_QIDENT);
    if (isalpha((unsigned char)*p) || *p == '_') {
        while (p < ps->end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        ps->t = (struct tok){T_IDENT, ps->at, (size_t)(p - ps->at), false};
    } else if (isdigit((unsigned char)*p) ||
               (*p == '.' && p + 1 < ps->end && isdigit((unsigned char)p[1]))) {
        while (p < ps->end && (isdigit((unsigned char)*p) || *p == '.'))
            p++;
        if (p < ps->end && (*p == 'e' || *p == 'E')) {
            p++;
            if (p < ps->end && (*p == '+' || *p == '-'))
                p++;
            while (p < ps->end && isdigit((unsigned char)*p))
                p++;
        }
        ps->t = (struct tok){T_NUMBER, ps->at, (size_t)(p - ps->at), false};
    } else if (*p == '?') {
        ps->t = (struct tok){T_PARAM, p++, 1, false};
    } else {
        size_t n = 0;

        for (size_t i = 0; i < sizeof two / sizeof two[0] && p + 1 < ps->end; i++)
            if (p[0] == two[i][0] && p[1] == two[i][1])
                n = 2;
        if (!n && !strchr(",.()[]{}:=<>+-*", *p))
            return fail(ps, "Unexpected character: %c", *p);
        ps->t = (struct tok){T_PUNCT, p, n ? n : 1, false};
        p += n ? n : 1;
    }
    ps->at = p;
    return 0;
}

static bool is_punct(const struct parser *ps, const char *s)
{
    return ps->t.type == T_PUNCT && ps->t.len == strlen(s) && memcmp(ps->t.p, s, ps->t.len) == 0;
}

static bool is_word(const struct parser *ps, const char *w)
{
    return ps->t.type == T_IDENT && ps->t.len == strlen(w) &&
           strncasecmp(ps->t.p, w, ps->t.len) == 0;
}

/* Consumes the punctuation or keyword s when it is the current token. */
static bool accept(struct parser *ps, const char *s, int *rc)
{
    bool ok = isalpha((unsigned char)s[0]) ? is_word(ps, s) : is_punct(ps, s);

    *rc = ok ? next(ps) : 0;
    return ok;
}

static int expect(struct parser *ps, const char *s)
{
    int rc;

    if (!accept(ps, s, &rc))
        return unexpected(ps);
    return rc;
}

/* The text of a quoted token with its doubled quotes undone. */
static const char *unquote(struct parser *ps, size_t *len)
{
    char *s, q = ps->t.type == T_STRING ? '\'' : '"';
    size_t n = 0;

    *len = ps->t.len;
    if (!ps->t.escaped)
        return ps->t.p;
    s = cr_arena_alloc(ps->a, ps->t.len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < ps->t.len; i++) {
        s[n++] = ps->t.p[i];
        if (ps->t.p[i] == q)
            i++;
    }
    *len = n;
    return s;
}

/* ---- AST ---------------------------------------------------------------------------------- */

static struct pq_node_s *node(struct parser *ps, enum pq_node type, size_t n)
{
    struct pq_node_s *nd = cr_arena_calloc(ps->a, sizeof *nd);

    if (nd && n && !(nd->args = cr_arena_calloc(ps->a, n * sizeof *nd->args)))
        return NULL;
    if (nd) {
        nd->type = type;
        nd->n = n;
    }
    return nd;
}

/* Appends child to a node's args (grown by doubling from the arena). */
static int push(struct parser *ps, struct pq_node_s ***args, size_t *n, struct pq_node_s *child)
{
    if ((*n & (*n - 1)) == 0) {
        struct pq_node_s **grown = cr_arena_alloc(ps->a, (*n ? 2 * *n : 1) * sizeof *grown);

        if (!grown)
            return nomem(ps);
        if (*n)
            memcpy(grown, *args, *n * sizeof *grown);
        *args = grown;
    }
    (*args)[(*n)++] = child;
    return 0;
}

/* ---- literals ----------------------------------------------------------------------------- */

static int literal(struct parser *ps, struct value *out);

static int param(struct parser *ps, struct value *out)
{
    if (ps->next_param == ps->n_params)
        return fail(ps, "Number of parameters in request and statement don't match.");
    *out = ps->params[ps->next_param++];
    return next(ps);
}

static int number(struct parser *ps, bool neg, struct value *out)
{
    char buf[160];
    int rc;

    if (ps->t.len + 2 > sizeof buf)
        return fail(ps, "Invalid number: %.40s", ps->t.p);
    snprintf(buf, sizeof buf, "%s%.*s", neg ? "-" : "", (int)ps->t.len, ps->t.p);
    out->type = VT_DECIMAL;
    rc = decimal_parse(buf, strlen(buf), &out->u.dec);
    if (rc == CR_ENUMBER)
        return fail(ps, "Number overflow or too many significant digits: %.40s", buf);
    if (rc < 0)
        return fail(ps, "Invalid number: %.40s", buf);
    return next(ps);
}

/* Elements of [..], <<..>> or {..} up to `close`, into a growing array. */
static int elements(struct parser *ps, const char *close, bool map, struct value **items,
                    struct value_field **fields, size_t *n)
{
    size_t cap = 0;
    int rc = 0;

    *n = 0;
    if (++ps->depth > CR_MAX_DEPTH)
        return fail(ps, "Nesting Levels have exceeded supported limits");
    if (accept(ps, close, &rc) || rc < 0)
        goto out;
    for (;;) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            void *grown = cr_arena_alloc(ps->a, ncap * (map ? sizeof **fields : sizeof **items));

            if (!grown)
                return nomem(ps);
            if (cap)
                memcpy(grown, map ? (void *)*fields : (void *)*items,
                       cap * (map ? sizeof **fields : sizeof **items));
            if (map)
                *fields = grown;
            else
                *items = grown;
            cap = ncap;
        }
        if (map) {
            struct value_field *f = &(*fields)[*n];

            if (ps->t.type != T_STRING)
                return unexpected(ps);
            f->name = unquote(ps, &f->name_len);
            f->value = cr_arena_alloc(ps->a, sizeof *f->value);
            if (!f->name || !f->value)
                return nomem(ps);
            rc = next(ps);
            if (rc == 0)
                rc = expect(ps, ":");
            if (rc == 0)
                rc = literal(ps, f->value);
        } else {
            rc = literal(ps, &(*items)[*n]);
        }
        if (rc < 0)
            return rc;
        (*n)++;
        if (accept(ps, close, &rc) || rc < 0)
            break;
        rc = expect(ps, ",");
        if (rc < 0)
            return rc;
    }
out:
    ps->depth--;
    return rc;
}

/* Sets hold strings, numbers or bytes (from parameters), one type, no duplicates. */
static int make_set(struct parser *ps, struct value *items, size_t n, struct value *out)
{
    enum value_type t;
    size_t *order = NULL;
    int rc;

    if (n == 0)
        return fail(ps, "Empty sets are not supported");
    t = items[0].type == VT_STRING  ? VT_SS
        : items[0].type == VT_BYTES ? VT_BS
        : (items[0].type == VT_DECIMAL || items[0].type == VT_INT || items[0].type == VT_DOUBLE)
            ? VT_NS
            : VT_NULL;
    for (size_t i = 0; i < n && t != VT_NULL; i++) {
        enum value_type e = items[i].type;

        if (t == VT_SS   ? e != VT_STRING
            : t == VT_BS ? e != VT_BYTES
                         : !(e == VT_DECIMAL || e == VT_INT || e == VT_DOUBLE))
            t = VT_NULL;
    }
    if (t == VT_NULL)
        return fail(ps, "A set holds strings, numbers or binaries, all of one type");
    out->type = t;
    out->u.arr.items = items;
    out->u.arr.n = n;
    rc = value_sort_order(out, &order);
    free(order);
    if (rc == CR_ENOMEM)
        return nomem(ps);
    return rc < 0 ? fail(ps, "Duplicate value in a set") : 0;
}

static int literal(struct parser *ps, struct value *out)
{
    struct value_field *fields = NULL;
    struct value *items = NULL;
    size_t n = 0;
    int rc;

    if (ps->t.type == T_PARAM)
        return param(ps, out);
    if (ps->t.type == T_NUMBER)
        return number(ps, false, out);
    if (ps->t.type == T_STRING) {
        const char *s = unquote(ps, &n);

        if (!s)
            return nomem(ps);
        *out = value_string(s, n);
        return next(ps);
    }
    if (is_punct(ps, "-")) {
        rc = next(ps);
        if (rc < 0)
            return rc;
        return ps->t.type == T_NUMBER ? number(ps, true, out) : unexpected(ps);
    }
    if (is_word(ps, "true") || is_word(ps, "false")) {
        *out = value_bool(is_word(ps, "true"));
        return next(ps);
    }
    if (is_word(ps, "null")) {
        *out = value_null();
        return next(ps);
    }
    if (accept(ps, "[", &rc) || rc < 0) {
        if (rc == 0)
            rc = elements(ps, "]", false, &items, NULL, &n);
        out->type = VT_ARRAY;
        out->u.arr.items = items;
        out->u.arr.n = n;
        return rc;
    }
    if (accept(ps, "<<", &rc) || rc < 0) {
        if (rc == 0)
            rc = elements(ps, ">>", false, &items, NULL, &n);
        return rc < 0 ? rc : make_set(ps, items, n, out);
    }
    if (accept(ps, "{", &rc) || rc < 0) {
        size_t *order = NULL;

        if (rc == 0)
            rc = elements(ps, "}", true, NULL, &fields, &n);
        if (rc < 0)
            return rc;
        out->type = VT_MAP;
        out->u.map.fields = fields;
        out->u.map.n = n;
        rc = value_sort_order(out, &order);
        free(order);
        if (rc == CR_ENOMEM)
            return nomem(ps);
        return rc < 0 ? fail(ps, "Duplicate key in a map") : 0;
    }
    return unexpected(ps);
}

/* ---- expressions -------------------------------------------------------------------------- */

static int condition(struct parser *ps, struct pq_node_s **out);

/* name | "name", then .name | ."name" | [n] ... */
static int path(struct parser *ps, struct pq_node_s **out)
{
    struct pq_node_s *nd = node(ps, PQ_PATH, 0);
    size_t cap = 0;
    int rc = 0;

    if (!nd)
        return nomem(ps);
    for (bool first = true;; first = false) {
        struct pq_elem e = {NULL, 0, 0};

        if (!first && accept(ps, "[", &rc)) {
            char *end;
            unsigned long v;

            if (rc < 0)
                return rc;
            if (ps->t.type != T_NUMBER)
                return unexpected(ps);
            v = strtoul(ps->t.p, &end, 10);
            if (end != ps->t.p + ps->t.len || v > UINT32_MAX)
                return fail(ps, "Invalid list index: %.*s", (int)ps->t.len, ps->t.p);
            e.index = (uint32_t)v;
            rc = next(ps);
            if (rc == 0)
                rc = expect(ps, "]");
        } else if (first || accept(ps, ".", &rc)) {
            if (rc < 0)
                return rc;
            if (ps->t.type != T_IDENT && ps->t.type != T_QIDENT)
                return unexpected(ps);
            e.name = unquote(ps, &e.len);
            if (!e.name)
                return nomem(ps);
            if (e.len == 0)
                return fail(ps, "Empty attribute name");
            rc = next(ps);
        } else {
            break;
        }
        if (rc < 0)
            return rc;
        if (nd->path_n == cap) {
            struct pq_elem *grown = cr_arena_alloc(ps->a, (cap ? 2 * cap : 4) * sizeof *grown);

            if (!grown)
                return nomem(ps);
            if (cap)
                memcpy(grown, nd->path, cap * sizeof *grown);
            nd->path = grown;
            cap = cap ? 2 * cap : 4;
        }
        nd->path[nd->path_n++] = e;
        if (nd->path_n > CR_MAX_DEPTH)
            return fail(ps, "Nesting Levels have exceeded supported limits");
    }
    *out = nd;
    return 0;
}

static int call(struct parser *ps, struct pq_node_s **out)
{
    struct pq_node_s *nd;
    size_t fn;
    int rc;

    for (fn = 0; fn < sizeof pq_fn_names / sizeof pq_fn_names[0]; fn++)
        if (is_word(ps, pq_fn_names[fn]))
            break;
    if (fn == sizeof pq_fn_names / sizeof pq_fn_names[0])
        return fail(ps, "Unsupported function: %.*s", (int)(ps->t.len > 64 ? 64 : ps->t.len),
                    ps->t.p);
    if (!(nd = node(ps, PQ_CALL, 0)))
        return nomem(ps);
    nd->fn = (enum pq_fn)fn;
    rc = next(ps);
    if (rc == 0)
        rc = expect(ps, "(");
    while (rc == 0) {
        struct pq_node_s *arg;

        rc = condition(ps, &arg);
        if (rc == 0)
            rc = push(ps, &nd->args, &nd->n, arg);
        if (rc < 0 || accept(ps, ")", &rc))
            break;
        rc = expect(ps, ",");
    }
    *out = nd;
    return rc;
}

static int primary(struct parser *ps, struct pq_node_s **out)
{
    struct value *v;
    int rc;

    if (accept(ps, "(", &rc)) {
        if (rc < 0)
            return rc;
        if (++ps->depth > CR_MAX_DEPTH)
            return fail(ps, "Nesting Levels have exceeded supported limits");
        rc = condition(ps, out);
        ps->depth--;
        return rc < 0 ? rc : expect(ps, ")");
    }
    if (ps->t.type == T_QIDENT)
        return path(ps, out);
    if (ps->t.type == T_IDENT && !is_word(ps, "true") && !is_word(ps, "false") &&
        !is_word(ps, "null")) {
        const char *after = ps->at;

        while (after < ps->end && isspace((unsigned char)*after))
            after++;
        return after < ps->end && *after == '(' ? call(ps, out) : path(ps, out);
    }
    if (!(*out = node(ps, PQ_VALUE, 0)) || !(v = cr_arena_alloc(ps->a, sizeof *v)))
        return nomem(ps);
    (*out)->value = v;
    return literal(ps, v);
}

static int additive(struct parser *ps, struct pq_node_s **out)
{
    int rc = primary(ps, out);

    while (rc == 0 && (is_punct(ps, "+") || is_punct(ps, "-"))) {
        struct pq_node_s *nd = node(ps, PQ_ARITH, 2);

        if (!nd)
            return nomem(ps);
        nd->op = ps->t.p[0];
        nd->args[0] = *out;
        rc = next(ps);
        if (rc == 0)
            rc = primary(ps, &nd->args[1]);
        *out = nd;
    }
    return rc;
}

static const struct {
    const char *text;
    enum pq_cmp op;
} cmps[] = {{"=", PQ_EQ},  {"<>", PQ_NE}, {"!=", PQ_NE}, {"<", PQ_LT},
            {"<=", PQ_LE}, {">", PQ_GT},  {">=", PQ_GE}};

/* add [op add | [NOT] BETWEEN add AND add | [NOT] IN (list) | IS [NOT] MISSING|NULL] */
static int predicate(struct parser *ps, struct pq_node_s **out)
{
    struct pq_node_s *left, *nd;
    bool neg = false;
    int rc = additive(ps, &left);

    *out = left;
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof cmps / sizeof cmps[0]; i++) {
        if (!is_punct(ps, cmps[i].text))
            continue;
        if (!(nd = node(ps, PQ_CMP, 2)))
            return nomem(ps);
        nd->op = (int)cmps[i].op;
        nd->args[0] = left;
        *out = nd;
        rc = next(ps);
        return rc < 0 ? rc : additive(ps, &nd->args[1]);
    }
    if (is_word(ps, "IS")) {
        if (!(nd = node(ps, PQ_IS, 1)))
            return nomem(ps);
        nd->args[0] = left;
        *out = nd;
        rc = next(ps);
        if (rc == 0 && accept(ps, "NOT", &rc))
            nd->neg = true;
        if (rc < 0)
            return rc;
        if (!is_word(ps, "MISSING") && !is_word(ps, "NULL"))
            return unexpected(ps);
        nd->op = is_word(ps, "MISSING") ? PQ_IS_MISSING : PQ_IS_NULL;
        return next(ps);
    }
    if (accept(ps, "NOT", &rc)) {
        if (rc < 0)
            return rc;
        neg = true;
        if (!is_word(ps, "BETWEEN") && !is_word(ps, "IN"))
            return unexpected(ps);
    }
    if (accept(ps, "BETWEEN", &rc)) {
        if (rc < 0 || !(nd = node(ps, PQ_BETWEEN, 3)))
            return rc < 0 ? rc : nomem(ps);
        nd->neg = neg;
        nd->args[0] = left;
        *out = nd;
        rc = additive(ps, &nd->args[1]);
        if (rc == 0)
            rc = expect(ps, "AND");
        return rc < 0 ? rc : additive(ps, &nd->args[2]);
    }
    if (accept(ps, "IN", &rc)) {
        const char *close = is_punct(ps, "[") ? "]" : ")";

        if (rc < 0 || !(nd = node(ps, PQ_IN, 0)))
            return rc < 0 ? rc : nomem(ps);
        nd->neg = neg;
        *out = nd;
        rc = push(ps, &nd->args, &nd->n, left);
        if (rc == 0)
            rc = expect(ps, close[0] == ']' ? "[" : "(");
        while (rc == 0) {
            struct pq_node_s *v;

            rc = additive(ps, &v);
            if (rc == 0)
                rc = push(ps, &nd->args, &nd->n, v);
            if (rc < 0 || accept(ps, close, &rc))
                break;
            rc = expect(ps, ",");
        }
    }
    return rc;
}

static int negation(struct parser *ps, struct pq_node_s **out)
{
    int rc;

    if (!accept(ps, "NOT", &rc))
        return predicate(ps, out);
    if (rc < 0)
        return rc;
    if (++ps->depth > CR_MAX_DEPTH)
        return fail(ps, "Nesting Levels have exceeded supported limits");
    if (!(*out = node(ps, PQ_NOT, 1)))
        return nomem(ps);
    rc = negation(ps, &(*out)->args[0]);
    ps->depth--;
    return rc;
}

/* Left-associative chains of one binary operator over `sub`. */
static int chain(struct parser *ps, const char *word, enum pq_node type,
                 int (*sub)(struct parser *, struct pq_node_s **), struct pq_node_s **out)
{
    int rc = sub(ps, out);

    while (rc == 0 && accept(ps, word, &rc)) {
        struct pq_node_s *nd = node(ps, type, 2);

        if (rc < 0)
            return rc;
        if (!nd)
            return nomem(ps);
        nd->args[0] = *out;
        *out = nd;
        rc = sub(ps, &nd->args[1]);
    }
    return rc;
}

static int conjunction(struct parser *ps, struct pq_node_s **out)
{
    return chain(ps, "AND", PQ_AND, negation, out);
}

static int condition(struct parser *ps, struct pq_node_s **out)
{
    return chain(ps, "OR", PQ_OR, conjunction, out);
}

/* ---- statements --------------------------------------------------------------------------- */

static int name_token(struct parser *ps, const char **name, size_t *len)
{
    if (ps->t.type != T_QIDENT && ps->t.type != T_IDENT)
        return unexpected(ps);
    *name = unquote(ps, len);
    if (!*name)
        return nomem(ps);
    return next(ps);
}

static int where(struct parser *ps, struct partiql_stmt *s, bool required)
{
    int rc;

    if (accept(ps, "WHERE", &rc))
        return rc < 0 ? rc : condition(ps, &s->where);
    return required ? unexpected(ps) : rc;
}

static int select_stmt(struct parser *ps, struct partiql_stmt *s)
{
    int rc;

    s->kind = PARTIQL_SELECT;
    if (accept(ps, "*", &rc)) {
        if (rc < 0)
            return rc;
    } else {
        do {
            struct pq_node_s *p;

            rc = path(ps, &p);
            if (rc == 0)
                rc = push(ps, &s->proj, &s->n_proj, p);
        } while (rc == 0 && accept(ps, ",", &rc) && rc == 0);
        if (rc < 0)
            return rc;
    }
    rc = expect(ps, "FROM");
    if (rc == 0)
        rc = name_token(ps, &s->table, &s->table_len);
    if (rc == 0 && accept(ps, ".", &rc) && rc == 0)
        rc = name_token(ps, &s->index, &s->index_len);
    if (rc == 0)
        rc = where(ps, s, false);
    if (rc == 0 && accept(ps, "ORDER", &rc) && rc == 0) {
        rc = expect(ps, "BY");
        if (rc == 0)
            rc = path(ps, &s->order);
        if (rc == 0 && accept(ps, "DESC", &rc))
            s->desc = true;
        else if (rc == 0)
            accept(ps, "ASC", &rc);
    }
    return rc;
}

static int insert_stmt(struct parser *ps, struct partiql_stmt *s)
{
    struct value *item = cr_arena_alloc(ps->a, sizeof *item);
    int rc = expect(ps, "INTO");

    s->kind = PARTIQL_INSERT;
    if (!item)
        return nomem(ps);
    if (rc == 0)
        rc = name_token(ps, &s->table, &s->table_len);
    if (rc == 0)
        rc = expect(ps, "VALUE");
    if (rc == 0 && !is_punct(ps, "{") && ps->t.type != T_PARAM)
        return unexpected(ps);
    if (rc == 0)
        rc = literal(ps, item);
    if (rc == 0 && item->type != VT_MAP)
        rc = fail(ps, "INSERT takes one item: a map of attribute names to values");
    s->item = item;
    return rc;
}

static int returning(struct parser *ps, struct partiql_stmt *s)
{
    bool all, old;
    int rc;

    if (!accept(ps, "RETURNING", &rc) || rc < 0)
        return rc;
    all = is_word(ps, "ALL");
    if (!all && !is_word(ps, "MODIFIED"))
        return unexpected(ps);
    rc = next(ps);
    old = is_word(ps, "OLD");
    if (rc == 0 && !old && !is_word(ps, "NEW"))
        return unexpected(ps);
    if (rc == 0)
        rc = next(ps);
    if (rc == 0)
        rc = expect(ps, "*");
    if (rc == 0 && s->kind == PARTIQL_DELETE && !(all && old))
        return fail(ps, "DELETE supports only RETURNING ALL OLD *");
    s->returning = all ? (old ? PARTIQL_RET_ALL_OLD : PARTIQL_RET_ALL_NEW)
                       : (old ? PARTIQL_RET_MODIFIED_OLD : PARTIQL_RET_MODIFIED_NEW);
    return rc;
}

static int update_stmt(struct parser *ps, struct partiql_stmt *s)
{
    size_t cap = 0;
    int rc = name_token(ps, &s->table, &s->table_len);

    s->kind = PARTIQL_UPDATE;
    while (rc == 0 && (is_word(ps, "SET") || is_word(ps, "REMOVE"))) {
        bool set = is_word(ps, "SET");

        rc = next(ps);
        do {
            struct pq_action act = {NULL, NULL};

            if (rc == 0)
                rc = path(ps, &act.path);
            if (rc == 0 && set)
                rc = expect(ps, "=");
            if (rc == 0 && set)
                rc = additive(ps, &act.value);
            if (rc < 0)
                return rc;
            if (s->n_actions == cap) {
                struct pq_action *grown =
                    cr_arena_alloc(ps->a, (cap ? 2 * cap : 4) * sizeof *grown);

                if (!grown)
                    return nomem(ps);
                if (cap)
                    memcpy(grown, s->actions, cap * sizeof *grown);
                s->actions = grown;
                cap = cap ? 2 * cap : 4;
            }
            s->actions[s->n_actions++] = act;
        } while (accept(ps, ",", &rc) && rc == 0);
    }
    if (rc == 0 && s->n_actions == 0)
        return unexpected(ps);
    if (rc == 0)
        rc = where(ps, s, true);
    return rc < 0 ? rc : returning(ps, s);
}

static int delete_stmt(struct parser *ps, struct partiql_stmt *s)
{
    int rc = expect(ps, "FROM");

    s->kind = PARTIQL_DELETE;
    if (rc == 0)
        rc = name_token(ps, &s->table, &s->table_len);
    if (rc == 0)
        rc = where(ps, s, true);
    return rc < 0 ? rc : returning(ps, s);
}

int partiql_parse(struct cr_arena *a, const char *text, size_t len, const struct value *params,
                  size_t n_params, struct partiql_stmt **out, struct ddb_err *err)
{
    struct parser ps = {a,      err,      text, text + len, text, {T_END, text, 0, false},
                        params, n_params, 0,    0};
    struct partiql_stmt *s = cr_arena_calloc(a, sizeof *s);
    int rc;

    err->code = 0;
    err->msg[0] = 0;
    if (!s)
        return nomem(&ps);
    if (len > PARTIQL_MAX_LEN)
        return fail(&ps, "Statement length exceeds the limit of %d", PARTIQL_MAX_LEN);
    rc = next(&ps);
    if (rc < 0)
        return rc;
    if (accept(&ps, "SELECT", &rc))
        rc = rc < 0 ? rc : select_stmt(&ps, s);
    else if (accept(&ps, "INSERT", &rc))
        rc = rc < 0 ? rc : insert_stmt(&ps, s);
    else if (accept(&ps, "UPDATE", &rc))
        rc = rc < 0 ? rc : update_stmt(&ps, s);
    else if (accept(&ps, "DELETE", &rc))
        rc = rc < 0 ? rc : delete_stmt(&ps, s);
    else
        rc = unexpected(&ps);
    if (rc == 0 && ps.t.type != T_END)
        rc = unexpected(&ps);
    if (rc == 0 && ps.next_param != n_params)
        rc = fail(&ps, "Number of parameters in request and statement don't match.");
    if (rc < 0)
        return rc;
    *out = s;
    return 0;
}

const char *partiql_stmt_table(const struct partiql_stmt *s, size_t *len)
{
    *len = s->table_len;
    return s->table;
}
