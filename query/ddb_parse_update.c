/*
 * The UpdateExpression parser:
 *   update  := clause+            (each of SET, REMOVE, ADD, DELETE at most once, any order)
 *   clause  := SET path '=' value (',' path '=' value)*
 *            | REMOVE path (',' path)*
 *            | ADD path :value (',' path :value)*
 *            | DELETE path :value (',' path :value)*
 *   value   := operand | operand '+' operand | operand '-' operand
 *   operand := path | :value | if_not_exists(path, operand) | list_append(operand, operand)
 * plus the checks DynamoDB makes before reading the item: constant operand types, key
 * attributes, overlapping target paths. Evaluation is ddb_update.c's.
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <string.h>

static const char *const clause_names[] = {"SET", "REMOVE", "ADD", "DELETE"};

/* DynamoDB's names for value types in ADD and DELETE operand errors. */
static const char *long_type_name(enum value_type t)
{
    switch (t) {
    case VT_STRING:
        return "STRING";
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return "NUMBER";
    case VT_BYTES:
        return "BINARY";
    case VT_SS:
        return "STRING_SET";
    case VT_NS:
        return "NUMBER_SET";
    case VT_BS:
        return "BINARY_SET";
    case VT_MAP:
        return "MAP";
    case VT_ARRAY:
        return "LIST";
    case VT_NULL:
        return "NULL";
    case VT_BOOL:
        return "BOOLEAN";
    default:
        return value_type_name(t);
    }
}

static bool is_number(const struct value *v)
{
    return v->type == VT_INT || v->type == VT_DOUBLE || v->type == VT_DECIMAL;
}

static bool is_set(const struct value *v)
{
    return v->type == VT_SS || v->type == VT_NS || v->type == VT_BS;
}

static int check_arith(struct parser *ps, const char *op, const struct ddb_operand *o)
{
    const char *t;

    if (o->kind != OPND_VALUE || is_number(o->value))
        return 0;
    t = ddb_type_name(o->value->type);
    return ddb_err_set(ps->err, ps->kind,
                       "Incorrect operand type for operator or function; operator or function: %s, "
                       "operand type: %s",
                       op, t ? t : value_type_name(o->value->type));
}

static int parse_set_value(struct parser *ps, struct ddb_operand **out)
{
    struct ddb_operand *a, *b, *o;
    enum tok_type t;
    int rc;

    if ((rc = ddb_parse_update_operand(ps, &a)))
        return rc;
    t = ps->toks[ps->i].type;
    if (t != TK_PLUS && t != TK_MINUS) {
        *out = a;
        return 0;
    }
    ps->i++;
    if ((rc = ddb_count_operator(ps)) || (rc = ddb_parse_update_operand(ps, &b)))
        return rc;
    if ((rc = check_arith(ps, t == TK_PLUS ? "+" : "-", a)) ||
        (rc = check_arith(ps, t == TK_PLUS ? "+" : "-", b)))
        return rc;
    o = cr_arena_calloc(ps->ctx->arena, sizeof *o);
    if (!o)
        return ddb_err_nomem(ps->err);
    o->kind = t == TK_PLUS ? OPND_PLUS : OPND_MINUS;
    o->a = a;
    o->b = b;
    *out = o;
    return 0;
}

static int parse_set_operand(struct parser *ps, enum upd_kind kind, struct ddb_operand **out)
{
    struct ddb_operand *o;
    const struct value *v;
    int rc;

    if (ps->toks[ps->i].type != TK_VALUE)
        return ddb_syntax_error(ps);
    if ((rc = ddb_parse_update_operand(ps, &o)))
        return rc;
    v = o->value;
    if (kind == U_ADD ? !(is_number(v) || is_set(v)) : !is_set(v))
        return ddb_err_set(ps->err, ps->kind,
                           "Incorrect operand type for operator or function; operator: %s, operand "
                           "type: %s, typeSet: %s",
                           kind == U_ADD ? "ADD" : "DELETE", long_type_name(v->type),
                           kind == U_ADD ? "ALLOWED_FOR_ADD_OPERAND"
                                         : "ALLOWED_FOR_DELETE_OPERAND");
    *out = o;
    return 0;
}

static int parse_action(struct parser *ps, enum upd_kind kind, struct ddb_action *a)
{
    enum tok_type t = ps->toks[ps->i].type;
    int rc;

    a->kind = kind;
    a->operand = NULL;
    if (t != TK_IDENT && t != TK_NAME)
        return ddb_syntax_error(ps);
    if ((rc = ddb_parse_path(ps, &a->path)))
        return rc;
    switch (kind) {
    case U_SET:
        if (ps->toks[ps->i].type != TK_EQ)
            return ddb_syntax_error(ps);
        ps->i++;
        return parse_set_value(ps, &a->operand);
    case U_ADD:
    case U_DELETE:
        return parse_set_operand(ps, kind, &a->operand);
    case U_REMOVE:
        break;
    }
    return 0;
}

static int check_keys(struct parser *ps, const struct ddb_action *acts, size_t n,
                      const struct ddb_key_schema *keys)
{
    size_t i;

    for (i = 0; keys && i < n; i++) {
        const struct ddb_elem *e = &acts[i].path.e[0];

        if ((keys->pk && e->name_len == keys->pk_len && !memcmp(e->name, keys->pk, e->name_len)) ||
            (keys->sk && e->name_len == keys->sk_len && !memcmp(e->name, keys->sk, e->name_len)))
            return ddb_fail_plain(ps->err, CR_EINVAL,
                                  "One or more parameter values were invalid: Cannot update "
                                  "attribute %.*s. This attribute is part of the key",
                                  (int)e->name_len, e->name);
    }
    return 0;
}

int ddb_parse_update(struct ddb_ctx *ctx, const char *text, size_t len,
                     const struct ddb_key_schema *keys, struct ddb_update **out,
                     struct ddb_err *err)
{
    struct parser ps;
    struct ddb_update *u;
    const struct ddb_path **paths;
    bool seen[4] = {false, false, false, false};
    size_t i;
    int rc = ddb_parser_init(&ps, ctx, DDB_UPDATE, text, len, err);

    if (rc)
        return rc;
    u = cr_arena_calloc(ctx->arena, sizeof *u);
    /* Every action takes at least one token. */
    if (!u || !(u->actions = cr_arena_alloc(ctx->arena, ps.n * sizeof *u->actions)))
        return ddb_err_nomem(err);
    while (ps.toks[ps.i].type != TK_EOF) {
        enum upd_kind kind;

        for (i = 0; i < 4; i++)
            if (ddb_tok_is_word(&ps.toks[ps.i], clause_names[i]))
                break;
        if (i == 4)
            return ddb_syntax_error(&ps);
        kind = (enum upd_kind)i;
        if (seen[kind])
            return ddb_err_set(err, DDB_UPDATE,
                               "The \"%s\" section can only be used once in an update expression;",
                               clause_names[kind]);
        seen[kind] = true;
        ps.i++;
        for (;;) {
            if ((rc = parse_action(&ps, kind, &u->actions[u->n])))
                return rc;
            u->n++;
            if (ps.toks[ps.i].type != TK_COMMA)
                break;
            ps.i++;
        }
    }
    if ((rc = check_keys(&ps, u->actions, u->n, keys)))
        return rc;
    paths = cr_arena_alloc(ctx->arena, u->n * sizeof *paths);
    if (!paths)
        return ddb_err_nomem(err);
    for (i = 0; i < u->n; i++)
        paths[i] = &u->actions[i].path;
    if ((rc = ddb_paths_check(paths, u->n, DDB_UPDATE, err)))
        return rc;
    if (ddb_ptree_build(paths, u->n, ctx->arena, &u->targets))
        return ddb_err_nomem(err);
    *out = u;
    return 0;
}
