/*
 * The parser of DynamoDB conditions, filters and projections, and the pieces every expression
 * kind shares: the request's placeholder context, document paths, syntax errors in DynamoDB's
 * "token / near" form, and the limits. It builds ASTs from the arena and checks what DynamoDB
 * checks before reading any item; it never evaluates anything.
 *
 * Condition grammar (keywords case-insensitive, function names case-sensitive):
 *   cond    := and (OR and)*
 *   and     := not (AND not)*
 *   not     := NOT not | primary
 *   primary := '(' cond ')' | func '(' operand, ... ')'
 *            | operand cmp operand | operand BETWEEN operand AND operand
 *            | operand IN '(' operand, ... ')'
 *   operand := path | :value | size '(' path ')'
 *   path    := (ident | #name) ('.' (ident | #name) | '[' digits ']')*
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <stdio.h>
#include <string.h>

int ddb_ctx_init(struct ddb_ctx *ctx, struct cr_arena *a, const struct ddb_name *names,
                 size_t n_names, const struct ddb_value *values, size_t n_values,
                 struct ddb_err *err)
{
    size_t i, j;

    memset(ctx, 0, sizeof *ctx);
    for (i = 0; i < n_names; i++) {
        const struct ddb_name *nm = &names[i];

        if (nm->placeholder_len < 2 || nm->placeholder[0] != '#')
            return ddb_fail_plain(err, CR_EINVAL,
                                  "ExpressionAttributeNames contains invalid key: Syntax error; "
                                  "key: \"%.*s\"",
                                  (int)nm->placeholder_len, nm->placeholder);
        if (nm->name_len == 0)
            return ddb_fail_plain(err, CR_EINVAL,
                                  "ExpressionAttributeNames contains invalid value: Empty "
                                  "attribute name; key: %.*s",
                                  (int)nm->placeholder_len, nm->placeholder);
        for (j = 0; j < i; j++)
            if (names[j].placeholder_len == nm->placeholder_len &&
                !memcmp(names[j].placeholder, nm->placeholder, nm->placeholder_len))
                return ddb_fail_plain(err, CR_EINVAL,
                                      "ExpressionAttributeNames contains a duplicate key: %.*s",
                                      (int)nm->placeholder_len, nm->placeholder);
    }
    for (i = 0; i < n_values; i++) {
        const struct ddb_value *v = &values[i];

        if (v->placeholder_len < 2 || v->placeholder[0] != ':')
            return ddb_fail_plain(err, CR_EINVAL,
                                  "ExpressionAttributeValues contains invalid key: Syntax error; "
                                  "key: \"%.*s\"",
                                  (int)v->placeholder_len, v->placeholder);
        for (j = 0; j < i; j++)
            if (values[j].placeholder_len == v->placeholder_len &&
                !memcmp(values[j].placeholder, v->placeholder, v->placeholder_len))
                return ddb_fail_plain(err, CR_EINVAL,
                                      "ExpressionAttributeValues contains a duplicate key: %.*s",
                                      (int)v->placeholder_len, v->placeholder);
    }
    ctx->arena = a;
    ctx->names = names;
    ctx->n_names = n_names;
    ctx->values = values;
    ctx->n_values = n_values;
    ctx->name_used = cr_arena_calloc(a, n_names + 1);
    ctx->value_used = cr_arena_calloc(a, n_values + 1);
    if (!ctx->name_used || !ctx->value_used)
        return ddb_err_nomem(err);
    return 0;
}

/* "{#a, #b}" of the unused placeholders; false when all were used. */
static bool unused_list(char *buf, size_t cap, size_t n, const bool *used,
                        const char *(*key)(const struct ddb_ctx *, size_t, size_t *),
                        const struct ddb_ctx *ctx)
{
    size_t i, k = 0;
    bool any = false;

    k += (size_t)snprintf(buf + k, cap - k, "{");
    for (i = 0; i < n && k < cap; i++) {
        size_t len;
        const char *p;

        if (used[i])
            continue;
        p = key(ctx, i, &len);
        k += (size_t)snprintf(buf + k, cap - k, "%s%.*s", any ? ", " : "", (int)len, p);
        any = true;
    }
    if (k < cap)
        snprintf(buf + k, cap - k, "}");
    return any;
}

static const char *name_key(const struct ddb_ctx *ctx, size_t i, size_t *len)
{
    *len = ctx->names[i].placeholder_len;
    return ctx->names[i].placeholder;
}

static const char *value_key(const struct ddb_ctx *ctx, size_t i, size_t *len)
{
    *len = ctx->values[i].placeholder_len;
    return ctx->values[i].placeholder;
}

int ddb_ctx_check_unused(const struct ddb_ctx *ctx, struct ddb_err *err)
{
    char keys[400];

    if (unused_list(keys, sizeof keys, ctx->n_names, ctx->name_used, name_key, ctx))
        return ddb_fail_plain(err, CR_EINVAL,
                              "Value provided in ExpressionAttributeNames unused in expressions: "
                              "keys: %s",
                              keys);
    if (unused_list(keys, sizeof keys, ctx->n_values, ctx->value_used, value_key, ctx))
        return ddb_fail_plain(err, CR_EINVAL,
                              "Value provided in ExpressionAttributeValues unused in expressions: "
                              "keys: %s",
                              keys);
    return 0;
}

/* ---- tokens and errors ---- */

static struct tok *peek(struct parser *ps)
{
    return &ps->toks[ps->i];
}

static struct tok *peek2(struct parser *ps)
{
    return &ps->toks[ps->i + 1 < ps->n ? ps->i + 1 : ps->i];
}

static struct tok *next(struct parser *ps)
{
    struct tok *t = &ps->toks[ps->i];

    if (t->type != TK_EOF)
        ps->i++;
    return t;
}

bool ddb_tok_is_word(const struct tok *t, const char *word)
{
    size_t i, n = strlen(word);

    if (t->type != TK_IDENT || t->len != n)
        return false;
    for (i = 0; i < n; i++) {
        char c = t->p[i];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != word[i])
            return false;
    }
    return true;
}

static bool tok_is_func(const struct tok *t, const char *name)
{
    return t->type == TK_IDENT && t->len == strlen(name) && !memcmp(t->p, name, t->len);
}

/*
 * DynamoDB's "near" is the source text from the token before the offending one through the token
 * after it, both included, with the whitespace between as written. At the end of input the token
 * after is <EOF>, which ends at the end of the text, so trailing blanks show ("SET a = " gives
 * near "= ").
 */
int ddb_syntax_error(struct parser *ps)
{
    const struct tok *t = peek(ps);
    const struct tok *prev = ps->i > 0 ? &ps->toks[ps->i - 1] : t;
    const struct tok *after = peek2(ps);
    const char *near_end = after->p + after->len;

    if (t->type == TK_EOF)
        return ddb_err_set(ps->err, ps->kind, "Syntax error; token: \"<EOF>\", near: \"%.*s\"",
                           (int)(near_end - prev->p), prev->p);
    return ddb_err_set(ps->err, ps->kind, "Syntax error; token: \"%.*s\", near: \"%.*s\"",
                       (int)t->len, t->p, (int)(near_end - prev->p), prev->p);
}

static int expect(struct parser *ps, enum tok_type type)
{
    if (peek(ps)->type != type)
        return ddb_syntax_error(ps);
    next(ps);
    return 0;
}

int ddb_count_operator(struct parser *ps)
{
    if (++ps->operators > DDB_MAX_OPERATORS)
        return ddb_err_set(ps->err, ps->kind,
                           "The expression contains too many operators; operator count: %d",
                           ps->operators);
    return 0;
}

int ddb_parser_init(struct parser *ps, struct ddb_ctx *ctx, enum ddb_kind kind, const char *text,
                    size_t len, struct ddb_err *err)
{
    size_t i;
    int rc;

    memset(ps, 0, sizeof *ps);
    ps->ctx = ctx;
    ps->kind = kind;
    ps->err = err;
    err->code = 0;
    err->msg[0] = '\0';
    if (len > DDB_EXPR_MAX_LEN)
        return ddb_err_set(
            err, kind,
            "Expression size has exceeded the maximum allowed size; expression size: "
            "%zu",
            len);
    for (i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            break;
    if (i == len)
        return ddb_err_set(err, kind, "The expression can not be empty;");
    rc = ddb_lex(text, len, ctx->arena, &ps->toks, &ps->n);
    return rc ? ddb_err_nomem(err) : 0;
}

/* ---- placeholders and paths ---- */

static int lookup_name(struct parser *ps, const struct tok *t, const char **name, size_t *len)
{
    size_t i;

    for (i = 0; i < ps->ctx->n_names; i++) {
        const struct ddb_name *nm = &ps->ctx->names[i];

        if (nm->placeholder_len == t->len && !memcmp(nm->placeholder, t->p, t->len)) {
            ps->ctx->name_used[i] = true;
            *name = nm->name;
            *len = nm->name_len;
            return 0;
        }
    }
    return ddb_err_set(ps->err, ps->kind,
                       "An expression attribute name used in the document path is not defined; "
                       "attribute name: %.*s",
                       (int)t->len, t->p);
}

static int lookup_value(struct parser *ps, const struct tok *t, const struct value **out)
{
    size_t i;

    for (i = 0; i < ps->ctx->n_values; i++) {
        const struct ddb_value *v = &ps->ctx->values[i];

        if (v->placeholder_len == t->len && !memcmp(v->placeholder, t->p, t->len)) {
            ps->ctx->value_used[i] = true;
            *out = v->value;
            return 0;
        }
    }
    return ddb_err_set(ps->err, ps->kind,
                       "An expression attribute value used in expression is not defined; "
                       "attribute value: %.*s",
                       (int)t->len, t->p);
}

static int name_elem(struct parser *ps, struct ddb_elem *e)
{
    struct tok *t = peek(ps);

    e->is_index = false;
    if (t->type == TK_NAME) {
        next(ps);
        return lookup_name(ps, t, &e->name, &e->name_len);
    }
    if (t->type != TK_IDENT)
        return ddb_syntax_error(ps);
    if (ddb_is_reserved(t->p, t->len))
        return ddb_err_set(ps->err, ps->kind,
                           "Attribute name is a reserved keyword; reserved keyword: %.*s",
                           (int)t->len, t->p);
    next(ps);
    e->name = t->p;
    e->name_len = t->len;
    return 0;
}

/* List indexes above this are syntax errors (DynamoDB's lists are far shorter anyway). */
#define INDEX_DIGITS_MAX 9

int ddb_parse_path(struct parser *ps, struct ddb_path *out)
{
    struct ddb_elem elems[CR_MAX_DEPTH + 1];
    size_t n = 0;
    int rc;

    for (;;) {
        struct ddb_elem e;

        if (n == 0 || peek(ps)->type == TK_DOT) {
            if (n > 0)
                next(ps);
            rc = name_elem(ps, &e);
        } else if (peek(ps)->type == TK_LBRACKET) {
            struct tok *num;
            size_t i;

            next(ps);
            num = peek(ps);
            if (num->type != TK_NUMBER || num->len > INDEX_DIGITS_MAX)
                return ddb_syntax_error(ps);
            next(ps);
            e.is_index = true;
            e.index = 0;
            e.name = NULL;
            e.name_len = 0;
            for (i = 0; i < num->len; i++)
                e.index = e.index * 10 + (uint32_t)(num->p[i] - '0');
            rc = expect(ps, TK_RBRACKET);
        } else {
            break;
        }
        if (rc)
            return rc;
        if (n == CR_MAX_DEPTH)
            return ddb_err_set(ps->err, ps->kind,
                               "The document path has too many nesting levels; nesting levels: %d",
                               CR_MAX_DEPTH + 1);
        elems[n++] = e;
    }
    out->e = cr_arena_alloc(ps->ctx->arena, n * sizeof *out->e);
    if (!out->e)
        return ddb_err_nomem(ps->err);
    memcpy(out->e, elems, n * sizeof *out->e);
    out->n = n;
    return 0;
}

/* ---- operands ---- */

static struct ddb_operand *new_operand(struct parser *ps, enum opnd_kind kind)
{
    struct ddb_operand *o = cr_arena_calloc(ps->ctx->arena, sizeof *o);

    if (o)
        o->kind = kind;
    return o;
}

static int func_args_error(struct parser *ps, const struct tok *fn, size_t n)
{
    return ddb_err_set(ps->err, ps->kind,
                       "Incorrect number of operands for operator or function; operator or "
                       "function: %.*s, number of operands: %zu",
                       (int)fn->len, fn->p, n);
}

static int needs_path(struct parser *ps, const char *fn)
{
    return ddb_err_set(ps->err, ps->kind,
                       "Operator or function requires a document path; operator or function: %s",
                       fn);
}

static int operand_type_error(struct parser *ps, const char *fn, const struct value *v)
{
    const char *t = ddb_type_name(v->type);

    return ddb_err_set(ps->err, ps->kind,
                       "Incorrect operand type for operator or function; operator or function: %s, "
                       "operand type: %s",
                       fn, t ? t : value_type_name(v->type));
}

static int parse_value_operand(struct parser *ps, struct ddb_operand **out)
{
    struct tok *t = next(ps);
    struct ddb_operand *o = new_operand(ps, OPND_VALUE);
    int rc;

    if (!o)
        return ddb_err_nomem(ps->err);
    rc = lookup_value(ps, t, &o->value);
    if (rc)
        return rc;
    o->text = t->p;
    o->text_len = t->len;
    *out = o;
    return 0;
}

static int parse_path_operand(struct parser *ps, enum opnd_kind kind, struct ddb_operand **out)
{
    struct ddb_operand *o = new_operand(ps, kind);

    if (!o)
        return ddb_err_nomem(ps->err);
    *out = o;
    return ddb_parse_path(ps, &o->path);
}

static int parse_cond_operand(struct parser *ps, struct ddb_operand **out);

/* Comma-separated operands up to ')' (consumed); the '(' is already consumed. */
static int parse_args(struct parser *ps, bool update, struct ddb_operand ***args, size_t *n,
                      size_t max)
{
    struct ddb_operand **v = cr_arena_alloc(ps->ctx->arena, (max + 1) * sizeof *v);
    size_t k = 0;
    int rc;

    if (!v)
        return ddb_err_nomem(ps->err);
    for (;;) {
        if (k == max + 1)
            break;
        rc = update ? ddb_parse_update_operand(ps, &v[k]) : parse_cond_operand(ps, &v[k]);
        if (rc)
            return rc;
        k++;
        if (peek(ps)->type != TK_COMMA)
            break;
        next(ps);
    }
    *args = v;
    *n = k;
    if (k > max)
        return 0; /* the caller reports the count */
    return expect(ps, TK_RPAREN);
}

static int parse_size(struct parser *ps, struct ddb_operand **out)
{
    struct tok *fn = next(ps);
    struct ddb_operand **args;
    size_t n;
    int rc;

    next(ps); /* '(' */
    if ((rc = ddb_count_operator(ps)) || (rc = parse_args(ps, false, &args, &n, 1)))
        return rc;
    if (n != 1)
        return func_args_error(ps, fn, n);
    if (args[0]->kind != OPND_PATH)
        return needs_path(ps, "size");
    args[0]->kind = OPND_SIZE;
    *out = args[0];
    return 0;
}

static int parse_cond_operand(struct parser *ps, struct ddb_operand **out)
{
    struct tok *t = peek(ps);

    if (t->type == TK_VALUE)
        return parse_value_operand(ps, out);
    if (t->type == TK_IDENT && peek2(ps)->type == TK_LPAREN) {
        if (tok_is_func(t, "size"))
            return parse_size(ps, out);
        return ddb_err_set(ps->err, ps->kind, "Invalid function name; function: %.*s", (int)t->len,
                           t->p);
    }
    if (t->type == TK_IDENT || t->type == TK_NAME)
        return parse_path_operand(ps, OPND_PATH, out);
    return ddb_syntax_error(ps);
}

int ddb_parse_update_operand(struct parser *ps, struct ddb_operand **out)
{
    struct tok *t = peek(ps);
    struct ddb_operand **args, *o;
    size_t n;
    int rc;
    bool ine;

    if (t->type == TK_VALUE)
        return parse_value_operand(ps, out);
    if (t->type != TK_IDENT || peek2(ps)->type != TK_LPAREN) {
        if (t->type == TK_IDENT || t->type == TK_NAME)
            return parse_path_operand(ps, OPND_PATH, out);
        return ddb_syntax_error(ps);
    }
    ine = tok_is_func(t, "if_not_exists");
    if (!ine && !tok_is_func(t, "list_append")) {
        static const char *const cond_funcs[] = {"attribute_exists", "attribute_not_exists",
                                                 "attribute_type",   "begins_with",
                                                 "contains",         "size"};
        size_t i;

        for (i = 0; i < sizeof cond_funcs / sizeof cond_funcs[0]; i++)
            if (tok_is_func(t, cond_funcs[i]))
                return ddb_err_set(ps->err, ps->kind,
                                   "The function is not allowed in an update expression; "
                                   "function: %s",
                                   cond_funcs[i]);
        return ddb_err_set(ps->err, ps->kind, "Invalid function name; function: %.*s", (int)t->len,
                           t->p);
    }
    next(ps);
    next(ps);
    if ((rc = ddb_count_operator(ps)) || (rc = parse_args(ps, true, &args, &n, 2)))
        return rc;
    if (n != 2)
        return func_args_error(ps, t, n);
    o = new_operand(ps, ine ? OPND_IF_NOT_EXISTS : OPND_LIST_APPEND);
    if (!o)
        return ddb_err_nomem(ps->err);
    if (ine) {
        if (args[0]->kind != OPND_PATH)
            return needs_path(ps, "if_not_exists");
        o->path = args[0]->path;
        o->b = args[1];
    } else {
        size_t i;

        for (i = 0; i < 2; i++)
            if (args[i]->kind == OPND_VALUE && args[i]->value->type != VT_ARRAY)
                return operand_type_error(ps, "list_append", args[i]->value);
        o->a = args[0];
        o->b = args[1];
    }
    *out = o;
    return 0;
}

/* ---- conditions ---- */

static struct ddb_cond *new_cond(struct parser *ps, enum cond_kind kind)
{
    struct ddb_cond *c = cr_arena_calloc(ps->ctx->arena, sizeof *c);

    if (c)
        c->kind = kind;
    return c;
}

static int parse_or(struct parser *ps, struct ddb_cond **out);

static bool is_cmp(const struct tok *t, enum cmp_op *op)
{
    switch (t->type) {
    case TK_EQ:
        *op = CMP_EQ;
        return true;
    case TK_NE:
        *op = CMP_NE;
        return true;
    case TK_LT:
        *op = CMP_LT;
        return true;
    case TK_LE:
        *op = CMP_LE;
        return true;
    case TK_GT:
        *op = CMP_GT;
        return true;
    case TK_GE:
        *op = CMP_GE;
        return true;
    default:
        return false;
    }
}

static const struct {
    const char *name;
    enum cond_kind kind;
    size_t nargs;
} cond_funcs[] = {
    {"attribute_exists", C_EXISTS, 1}, {"attribute_not_exists", C_NOT_EXISTS, 1},
    {"attribute_type", C_TYPE, 2},     {"begins_with", C_BEGINS, 2},
    {"contains", C_CONTAINS, 2},
};

static bool valid_type_name(const struct value *v)
{
    static const char *const names[] = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (v->u.s.len == strlen(names[i]) && !memcmp(v->u.s.ptr, names[i], v->u.s.len))
            return true;
    return false;
}

static int parse_function(struct parser *ps, struct ddb_cond **out)
{
    struct tok *fn = peek(ps);
    struct ddb_operand **args;
    struct ddb_cond *c;
    size_t i, n;
    int rc;

    for (i = 0; i < sizeof cond_funcs / sizeof cond_funcs[0]; i++)
        if (tok_is_func(fn, cond_funcs[i].name))
            break;
    if (i == sizeof cond_funcs / sizeof cond_funcs[0])
        return ddb_err_set(ps->err, ps->kind, "Invalid function name; function: %.*s", (int)fn->len,
                           fn->p);
    next(ps);
    next(ps);
    if ((rc = ddb_count_operator(ps)) ||
        (rc = parse_args(ps, false, &args, &n, cond_funcs[i].nargs)))
        return rc;
    if (n != cond_funcs[i].nargs)
        return func_args_error(ps, fn, n);
    if (args[0]->kind != OPND_PATH)
        return needs_path(ps, cond_funcs[i].name);
    if (n == 2 && args[1]->kind == OPND_VALUE) {
        const struct value *v = args[1]->value;

        if (cond_funcs[i].kind == C_TYPE) {
            if (v->type != VT_STRING)
                return operand_type_error(ps, cond_funcs[i].name, v);
            if (!valid_type_name(v))
                return ddb_err_set(ps->err, ps->kind,
                                   "Invalid attribute type name found; type: %.*s, valid types: "
                                   "{ B,NULL,SS,BOOL,L,BS,N,NS,S,M }",
                                   (int)v->u.s.len, v->u.s.ptr);
        } else if (cond_funcs[i].kind == C_BEGINS && v->type != VT_STRING && v->type != VT_BYTES) {
            return operand_type_error(ps, cond_funcs[i].name, v);
        }
    }
    c = new_cond(ps, cond_funcs[i].kind);
    if (!c)
        return ddb_err_nomem(ps->err);
    c->n_args = n;
    /* parse_args returned an array of pointers; keep the operands contiguous for evaluation. */
    c->args = cr_arena_alloc(ps->ctx->arena, n * sizeof *c->args);
    if (!c->args)
        return ddb_err_nomem(ps->err);
    for (i = 0; i < n; i++)
        c->args[i] = *args[i];
    if (is_cmp(peek(ps), &c->cmp) || ddb_tok_is_word(peek(ps), "BETWEEN") ||
        ddb_tok_is_word(peek(ps), "IN"))
        return ddb_err_set(ps->err, ps->kind,
                           "The function is not allowed to be used this way in an expression; "
                           "function: %.*s",
                           (int)fn->len, fn->p);
    *out = c;
    return 0;
}

/* Text of a constant for the BETWEEN bounds message: "{N:5}", "{S:abc}". */
static void describe(const struct value *v, char *buf, size_t cap)
{
    char num[CR_DECIMAL_TEXT_MAX];
    struct decimal d;

    if (v->type == VT_STRING) {
        snprintf(buf, cap, "{S:%.*s}", (int)(v->u.s.len > 100 ? 100 : v->u.s.len), v->u.s.ptr);
    } else if (value_number_to_decimal(v, &d) == 0) {
        decimal_format(&d, num, sizeof num);
        snprintf(buf, cap, "{N:%s}", num);
    } else {
        snprintf(buf, cap, "{%s}", ddb_type_name(v->type) ? ddb_type_name(v->type) : "?");
    }
}

static int check_between_bounds(struct parser *ps, const struct ddb_operand *lo,
                                const struct ddb_operand *hi)
{
    char a[CR_DECIMAL_TEXT_MAX + 8], b[CR_DECIMAL_TEXT_MAX + 8];
    const char *ta, *tb;

    if (lo->kind != OPND_VALUE || hi->kind != OPND_VALUE)
        return 0;
    ta = ddb_type_name(lo->value->type);
    tb = ddb_type_name(hi->value->type);
    if (!ta || !tb || strcmp(ta, tb) != 0 ||
        (strcmp(ta, "S") && strcmp(ta, "N") && strcmp(ta, "B")))
        return 0;
    if (value_compare(lo->value, hi->value) <= 0)
        return 0;
    describe(lo->value, a, sizeof a);
    describe(hi->value, b, sizeof b);
    return ddb_err_set(ps->err, ps->kind,
                       "The BETWEEN operator requires upper bound to be greater than or equal to "
                       "lower bound; lower bound operand: AttributeValue: %s, upper bound operand: "
                       "AttributeValue: %s",
                       a, b);
}

static int parse_comparison(struct parser *ps, struct ddb_cond **out)
{
    struct ddb_operand *first, **rest = NULL;
    struct ddb_cond *c;
    size_t i, n = 0;
    enum cmp_op op;
    int rc;

    if ((rc = parse_cond_operand(ps, &first)))
        return rc;
    if (is_cmp(peek(ps), &op)) {
        next(ps);
        c = new_cond(ps, C_CMP);
        rest = cr_arena_alloc(ps->ctx->arena, sizeof *rest);
        if (!c || !rest)
            return ddb_err_nomem(ps->err);
        c->cmp = op;
        n = 1;
        rc = parse_cond_operand(ps, &rest[0]);
    } else if (ddb_tok_is_word(peek(ps), "BETWEEN")) {
        next(ps);
        c = new_cond(ps, C_BETWEEN);
        rest = cr_arena_alloc(ps->ctx->arena, 2 * sizeof *rest);
        if (!c || !rest)
            return ddb_err_nomem(ps->err);
        n = 2;
        if (!(rc = parse_cond_operand(ps, &rest[0]))) {
            if (!ddb_tok_is_word(peek(ps), "AND"))
                return ddb_syntax_error(ps);
            next(ps);
            if (!(rc = parse_cond_operand(ps, &rest[1])))
                rc = check_between_bounds(ps, rest[0], rest[1]);
        }
    } else if (ddb_tok_is_word(peek(ps), "IN")) {
        struct tok *in = next(ps);

        c = new_cond(ps, C_IN);
        if (!c)
            return ddb_err_nomem(ps->err);
        if ((rc = expect(ps, TK_LPAREN)) ||
            (rc = parse_args(ps, false, &rest, &n, DDB_MAX_IN_OPERANDS)))
            return rc;
        if (n > DDB_MAX_IN_OPERANDS)
            return ddb_err_set(ps->err, ps->kind,
                               "Too many operands for operator or function; operator or function: "
                               "%.*s, number of operands: %zu",
                               (int)in->len, in->p, n);
    } else {
        return ddb_syntax_error(ps);
    }
    if (rc || (rc = ddb_count_operator(ps)))
        return rc;
    c->n_args = n + 1;
    c->args = cr_arena_alloc(ps->ctx->arena, c->n_args * sizeof *c->args);
    if (!c->args)
        return ddb_err_nomem(ps->err);
    c->args[0] = *first;
    for (i = 0; i < n; i++)
        c->args[i + 1] = *rest[i];
    *out = c;
    return 0;
}

static int parse_primary(struct parser *ps, struct ddb_cond **out)
{
    struct tok *t = peek(ps);
    int rc;

    if (t->type == TK_LPAREN) {
        next(ps);
        if ((rc = parse_or(ps, out)))
            return rc;
        if ((*out)->parens)
            return ddb_err_set(ps->err, ps->kind, "The expression has redundant parentheses;");
        if ((rc = expect(ps, TK_RPAREN)))
            return rc;
        (*out)->parens = true;
        return 0;
    }
    if (t->type == TK_IDENT && peek2(ps)->type == TK_LPAREN && !tok_is_func(t, "size"))
        return parse_function(ps, out);
    return parse_comparison(ps, out);
}

static int parse_not(struct parser *ps, struct ddb_cond **out)
{
    struct ddb_cond *c;
    int rc;

    if (!ddb_tok_is_word(peek(ps), "NOT"))
        return parse_primary(ps, out);
    next(ps);
    if ((rc = ddb_count_operator(ps)))
        return rc;
    c = new_cond(ps, C_NOT);
    if (!c)
        return ddb_err_nomem(ps->err);
    if ((rc = parse_not(ps, &c->l)))
        return rc;
    *out = c;
    return 0;
}

static int parse_binary(struct parser *ps, const char *word, enum cond_kind kind,
                        int (*operand)(struct parser *, struct ddb_cond **), struct ddb_cond **out)
{
    struct ddb_cond *l;
    int rc;

    if ((rc = operand(ps, &l)))
        return rc;
    while (ddb_tok_is_word(peek(ps), word)) {
        struct ddb_cond *c;

        next(ps);
        if ((rc = ddb_count_operator(ps)))
            return rc;
        c = new_cond(ps, kind);
        if (!c)
            return ddb_err_nomem(ps->err);
        c->l = l;
        if ((rc = operand(ps, &c->r)))
            return rc;
        l = c;
    }
    *out = l;
    return 0;
}

static int parse_and(struct parser *ps, struct ddb_cond **out)
{
    return parse_binary(ps, "AND", C_AND, parse_not, out);
}

static int parse_or(struct parser *ps, struct ddb_cond **out)
{
    return parse_binary(ps, "OR", C_OR, parse_and, out);
}

int ddb_parse_condition_tokens(struct parser *ps, struct ddb_cond **out)
{
    int rc = parse_or(ps, out);

    if (rc)
        return rc;
    return peek(ps)->type == TK_EOF ? 0 : ddb_syntax_error(ps);
}

int ddb_parse_condition(struct ddb_ctx *ctx, enum ddb_kind kind, const char *text, size_t len,
                        struct ddb_cond **out, struct ddb_err *err)
{
    struct parser ps;
    int rc = ddb_parser_init(&ps, ctx, kind, text, len, err);

    return rc ? rc : ddb_parse_condition_tokens(&ps, out);
}

/* ---- projections ---- */

int ddb_parse_projection(struct ddb_ctx *ctx, const char *text, size_t len,
                         struct ddb_projection **out, struct ddb_err *err)
{
    struct parser ps;
    struct ddb_path **paths;
    struct ddb_projection *p;
    size_t n = 0;
    int rc = ddb_parser_init(&ps, ctx, DDB_PROJECTION, text, len, err);

    if (rc)
        return rc;
    /* Each path takes at least one token and one comma. */
    paths = cr_arena_alloc(ctx->arena, (ps.n / 2 + 1) * sizeof *paths);
    p = cr_arena_calloc(ctx->arena, sizeof *p);
    if (!paths || !p)
        return ddb_err_nomem(err);
    for (;;) {
        paths[n] = cr_arena_alloc(ctx->arena, sizeof **paths);
        if (!paths[n])
            return ddb_err_nomem(err);
        if (peek(&ps)->type != TK_IDENT && peek(&ps)->type != TK_NAME)
            return ddb_syntax_error(&ps);
        if ((rc = ddb_parse_path(&ps, paths[n])))
            return rc;
        n++;
        if (peek(&ps)->type == TK_EOF)
            break;
        if ((rc = expect(&ps, TK_COMMA)))
            return rc;
    }
    if ((rc = ddb_paths_check((const struct ddb_path *const *)paths, n, DDB_PROJECTION, err)))
        return rc;
    if (ddb_ptree_build((const struct ddb_path *const *)paths, n, ctx->arena, &p->root))
        return ddb_err_nomem(err);
    *out = p;
    return 0;
}
