/*
 * PartiQL for DynamoDB: translates a parsed statement (partiql_int.h) into the requests the
 * front end already runs, as partiql.h describes: expression text in ddb_expr's grammar, every
 * name a #n placeholder (so reserved words need no care) and every literal a :v placeholder.
 * Only text is produced; the ddb_expr parsers validate it when the front end runs the request,
 * so there is one grammar of conditions and one evaluator.
 */
#include "common/error.h"
#include "query/partiql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tr {
    struct cr_arena *a;
    struct ddb_err *err;
    const struct table_def *def;
    struct partiql_op *op;
    size_t cap_names, cap_values;
    char *text; /* the expression being written: DDB_EXPR_MAX_LEN + 1 bytes */
    size_t len;
};

static const char *const cmp_text[] = {"=", "<>", "<", "<=", ">", ">="};

static int fail(struct tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct tr *t, const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(t->err->msg, sizeof t->err->msg, "%s", PARTIQL_WELL_FORMED);

    va_start(ap, fmt);
    vsnprintf(t->err->msg + k, sizeof t->err->msg - (size_t)k, fmt, ap);
    va_end(ap);
    t->err->code = CR_EINVAL;
    return CR_EINVAL;
}

static int nomem(struct tr *t)
{
    t->err->code = CR_ENOMEM;
    snprintf(t->err->msg, sizeof t->err->msg, "out of memory");
    return CR_ENOMEM;
}

/* ---- text and placeholders ---------------------------------------------------------------- */

static int begin(struct tr *t)
{
    t->len = 0;
    t->text = cr_arena_alloc(t->a, DDB_EXPR_MAX_LEN + 1);
    if (!t->text)
        return nomem(t);
    t->text[0] = 0;
    return 0;
}

static int emit(struct tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int emit(struct tr *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t->text + t->len, DDB_EXPR_MAX_LEN + 1 - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= DDB_EXPR_MAX_LEN + 1 - t->len)
        return fail(t, "The statement translates to an expression longer than %d bytes",
                    DDB_EXPR_MAX_LEN);
    t->len += (size_t)n;
    return 0;
}

/* The finished text, or NULL when nothing was written. */
static const char *done(struct tr *t)
{
    return t->len ? t->text : NULL;
}

/* Grows an arena array of `size`-byte elements holding n to room for one more. */
static int room(struct tr *t, void **arr, size_t n, size_t *cap, size_t size)
{
    void *grown;

    if (n < *cap)
        return 0;
    grown = cr_arena_alloc(t->a, (*cap ? 2 * *cap : 8) * size);
    if (!grown)
        return nomem(t);
    if (n)
        memcpy(grown, *arr, n * size);
    *arr = grown;
    *cap = *cap ? 2 * *cap : 8;
    return 0;
}

static const char *placeholder(struct tr *t, char c, size_t i, size_t *len)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%c%c%zu", c, c == '#' ? 'n' : 'v', i);

    *len = (size_t)n;
    return cr_arena_strndup(t->a, buf, (size_t)n);
}

/* "#nK" for name, one placeholder per distinct name. */
static int emit_name(struct tr *t, const char *name, size_t len)
{
    struct partiql_op *op = t->op;
    size_t i;

    for (i = 0; i < op->n_names; i++)
        if (op->names[i].name_len == len && memcmp(op->names[i].name, name, len) == 0)
            break;
    if (i == op->n_names) {
        struct ddb_name *n;
        int rc = room(t, (void **)&op->names, op->n_names, &t->cap_names, sizeof *op->names);

        if (rc < 0)
            return rc;
        n = &op->names[op->n_names];
        n->name = name;
        n->name_len = len;
        n->placeholder = placeholder(t, '#', i, &n->placeholder_len);
        if (!n->placeholder)
            return nomem(t);
        op->n_names++;
    }
    return emit(t, "%s", op->names[i].placeholder);
}

static int emit_value(struct tr *t, const struct value *v)
{
    struct partiql_op *op = t->op;
    struct ddb_value *dv;
    int rc = room(t, (void **)&op->values, op->n_values, &t->cap_values, sizeof *op->values);

    if (rc < 0)
        return rc;
    dv = &op->values[op->n_values];
    dv->value = v;
    dv->placeholder = placeholder(t, ':', op->n_values, &dv->placeholder_len);
    if (!dv->placeholder)
        return nomem(t);
    op->n_values++;
    return emit(t, "%s", dv->placeholder);
}

static int emit_path(struct tr *t, const struct pq_node_s *p)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < p->path_n; i++) {
        if (!p->path[i].name)
            rc = emit(t, "[%u]", (unsigned)p->path[i].index);
        else if (i)
            rc = emit(t, ".");
        if (rc == 0 && p->path[i].name)
            rc = emit_name(t, p->path[i].name, p->path[i].len);
    }
    return rc;
}

/* ---- conditions --------------------------------------------------------------------------- */

static int cond(struct tr *t, const struct pq_node_s *n, int prec);

static int operand(struct tr *t, const struct pq_node_s *n)
{
    int rc;

    if (n->type == PQ_PATH)
        return emit_path(t, n);
    if (n->type == PQ_VALUE)
        return emit_value(t, n->value);
    if (n->type != PQ_CALL || n->fn != PQ_FN_SIZE)
        return fail(t, "Unsupported operand in a condition: only attribute paths, values and "
                       "size() compare");
    if (n->n != 1 || n->args[0]->type != PQ_PATH)
        return fail(t, "size takes one attribute path");
    rc = emit(t, "size(");
    if (rc == 0)
        rc = emit_path(t, n->args[0]);
    return rc < 0 ? rc : emit(t, ")");
}

/* Binding strength in ddb_expr's grammar: a node weaker than its context is parenthesized
 * (and only then: ddb_expr refuses redundant parentheses). */
enum { P_OR = 1, P_AND, P_NOT, P_ATOM };

static int strength(const struct pq_node_s *n)
{
    if (n->type == PQ_OR)
        return P_OR;
    if (n->type == PQ_AND)
        return P_AND;
    if (n->type == PQ_NOT || (n->neg && n->type != PQ_IS))
        return P_NOT;
    return P_ATOM;
}

static int binary(struct tr *t, const struct pq_node_s *n, const char *word, int prec)
{
    int rc = cond(t, n->args[0], prec);

    if (rc == 0)
        rc = emit(t, " %s ", word);
    return rc < 0 ? rc : cond(t, n->args[1], prec);
}

static int is_test(struct tr *t, const struct pq_node_s *n)
{
    static const struct value null_type = {.type = VT_STRING, .u.s = {"NULL", 4}};
    int rc;

    if (n->args[0]->type != PQ_PATH)
        return fail(t, "IS MISSING and IS NULL take an attribute path");
    if (n->op == PQ_IS_MISSING) {
        rc = emit(t, n->neg ? "attribute_exists(" : "attribute_not_exists(");
        if (rc == 0)
            rc = emit_path(t, n->args[0]);
        return rc < 0 ? rc : emit(t, ")");
    }
    rc = emit(t, n->neg ? "NOT attribute_type(" : "attribute_type(");
    if (rc == 0)
        rc = emit_path(t, n->args[0]);
    if (rc == 0)
        rc = emit(t, ", ");
    if (rc == 0)
        rc = emit_value(t, &null_type);
    return rc < 0 ? rc : emit(t, ")");
}

static int node_cond(struct tr *t, const struct pq_node_s *n);

static int cond(struct tr *t, const struct pq_node_s *n, int prec)
{
    bool wrap = strength(n) < prec;
    int rc = wrap ? emit(t, "(") : 0;

    if (rc == 0)
        rc = node_cond(t, n);
    return rc < 0 || !wrap ? rc : emit(t, ")");
}

static int node_cond(struct tr *t, const struct pq_node_s *n)
{
    int rc = 0;

    switch (n->type) {
    case PQ_CMP:
        rc = operand(t, n->args[0]);
        if (rc == 0)
            rc = emit(t, " %s ", cmp_text[n->op]);
        return rc < 0 ? rc : operand(t, n->args[1]);
    case PQ_AND:
        return binary(t, n, "AND", P_AND);
    case PQ_OR:
        return binary(t, n, "OR", P_OR);
    case PQ_NOT:
        rc = emit(t, "NOT ");
        return rc < 0 ? rc : cond(t, n->args[0], P_NOT);
    case PQ_BETWEEN:
    case PQ_IN:
        rc = emit(t, n->neg ? "NOT " : "");
        for (size_t i = 0; rc == 0 && i < n->n; i++) {
            const char *sep = i == 0                  ? ""
                              : n->type == PQ_BETWEEN ? (i == 1 ? " BETWEEN " : " AND ")
                              : i == 1                ? " IN ("
                                                      : ", ";

            rc = emit(t, "%s", sep);
            if (rc == 0)
                rc = operand(t, n->args[i]);
        }
        return rc < 0 || n->type != PQ_IN ? rc : emit(t, ")");
    case PQ_IS:
        return is_test(t, n);
    case PQ_CALL:
        if (n->fn != PQ_FN_BEGINS_WITH && n->fn != PQ_FN_CONTAINS && n->fn != PQ_FN_ATTRIBUTE_TYPE)
            break;
        if (n->n != 2)
            return fail(t, "%s takes two arguments", pq_fn_names[n->fn]);
        rc = emit(t, "%s(", pq_fn_names[n->fn]);
        if (rc == 0)
            rc = operand(t, n->args[0]);
        if (rc == 0)
            rc = emit(t, ", ");
        if (rc == 0)
            rc = operand(t, n->args[1]);
        return rc < 0 ? rc : emit(t, ")");
    default:
        break;
    }
    return fail(t, "Expected a condition in the WHERE clause");
}

/* ---- keys --------------------------------------------------------------------------------- */

/* The top-level AND terms of the WHERE clause. */
static int terms(struct tr *t, struct pq_node_s *n, struct pq_node_s ***out, size_t *count,
                 size_t *cap)
{
    int rc;

    if (n && n->type == PQ_AND) {
        rc = terms(t, n->args[0], out, count, cap);
        return rc < 0 ? rc : terms(t, n->args[1], out, count, cap);
    }
    if (!n)
        return 0;
    rc = room(t, (void **)out, *count, cap, sizeof **out);
    if (rc == 0)
        (*out)[(*count)++] = n;
    return rc;
}

static bool is_attr(const struct pq_node_s *n, const char *name)
{
    return n->type == PQ_PATH && n->path_n == 1 && n->path[0].name &&
           n->path[0].len == strlen(name) && memcmp(n->path[0].name, name, n->path[0].len) == 0;
}

static bool type_matches(enum key_type k, const struct value *v)
{
    return k == KEY_S   ? v->type == VT_STRING
           : k == KEY_B ? v->type == VT_BYTES
                        : (v->type == VT_DECIMAL || v->type == VT_INT || v->type == VT_DOUBLE);
}

/* `name = value` (either way round): the value, else NULL. */
static const struct value *key_equality(const struct pq_node_s *n, const char *name)
{
    if (n->type != PQ_CMP || n->op != PQ_EQ)
        return NULL;
    if (is_attr(n->args[0], name) && n->args[1]->type == PQ_VALUE)
        return n->args[1]->value;
    if (is_attr(n->args[1], name) && n->args[0]->type == PQ_VALUE)
        return n->args[0]->value;
    return NULL;
}

/* A term a Query can take as its sort-key condition. */
static bool sk_term(const struct table_def *def, const struct pq_node_s *n)
{
    const char *sk = def->sk_name;

    if (!def->has_sk)
        return false;
    if (n->type == PQ_CMP && n->op != PQ_NE) {
        int side = is_attr(n->args[0], sk) ? 1 : is_attr(n->args[1], sk) ? 0 : -1;

        return side >= 0 && n->args[side]->type == PQ_VALUE &&
               type_matches(def->sk_type, n->args[side]->value);
    }
    if (n->type == PQ_BETWEEN && !n->neg)
        return is_attr(n->args[0], sk) && n->args[1]->type == PQ_VALUE &&
               n->args[2]->type == PQ_VALUE && type_matches(def->sk_type, n->args[1]->value) &&
               type_matches(def->sk_type, n->args[2]->value);
    if (n->type == PQ_CALL && n->fn == PQ_FN_BEGINS_WITH && n->n == 2)
        return def->sk_type != KEY_N && is_attr(n->args[0], sk) && n->args[1]->type == PQ_VALUE &&
               type_matches(def->sk_type, n->args[1]->value);
    return false;
}

/* A key term as a key condition: the key on the left. */
static int emit_key_term(struct tr *t, const struct pq_node_s *n, const char *key)
{
    static const int flipped[] = {PQ_EQ, PQ_NE, PQ_GT, PQ_GE, PQ_LT, PQ_LE};
    int rc;

    if (n->type != PQ_CMP || is_attr(n->args[0], key))
        return cond(t, n, P_ATOM);
    rc = operand(t, n->args[1]);
    if (rc == 0)
        rc = emit(t, " %s ", cmp_text[flipped[n->op]]);
    return rc < 0 ? rc : operand(t, n->args[0]);
}

/* The key map {pk: v[, sk: v]}. */
static int key_map(struct tr *t, const struct value *pk, const struct value *sk)
{
    struct value_field *f = cr_arena_alloc(t->a, 2 * sizeof *f);
    const char *names[2] = {t->def->pk_name, t->def->sk_name};
    const struct value *vals[2] = {pk, sk};
    size_t n = sk ? 2 : 1;

    if (!f)
        return nomem(t);
    for (size_t i = 0; i < n; i++) {
        f[i].name = cr_arena_strndup(t->a, names[i], strlen(names[i]));
        f[i].name_len = strlen(names[i]);
        f[i].value = (struct value *)vals[i];
        if (!f[i].name)
            return nomem(t);
    }
    t->op->key.type = VT_MAP;
    t->op->key.u.map.fields = f;
    t->op->key.u.map.n = n;
    return 0;
}

/* Writes the terms not marked used, ANDed, into the current text; `and`: the text goes on
 * after an AND. */
static int rest(struct tr *t, struct pq_node_s **ts, size_t n, const bool *used, bool and)
{
    size_t left = 0, k = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        left += !used[i];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (used[i])
            continue;
        rc = emit(t, k++ ? " AND " : "");
        if (rc == 0)
            rc = cond(t, ts[i], and || left > 1 ? P_AND : P_OR);
    }
    return rc;
}

/* ---- statements --------------------------------------------------------------------------- */

static int select_op(struct tr *t, const struct partiql_stmt *s, struct pq_node_s **ts, size_t n,
                     bool *used)
{
    const struct table_def *def = t->def;
    struct partiql_op *op = t->op;
    const struct value *pk = NULL, *sk = NULL;
    size_t ip = n, is = n;
    int rc = 0;

    if (s->proj) {
        rc = begin(t);
        for (size_t i = 0; rc == 0 && i < s->n_proj; i++) {
            rc = emit(t, i ? ", " : "");
            if (rc == 0)
                rc = emit_path(t, s->proj[i]);
        }
        op->projection = done(t);
        op->n_projection_names = op->n_names;
    }
    for (size_t i = 0; i < n && !s->index && ip == n; i++)
        if ((pk = key_equality(ts[i], def->pk_name)) && type_matches(def->pk_type, pk))
            ip = i;
    for (size_t i = 0; i < n && ip < n && is == n; i++)
        if (i != ip && sk_term(def, ts[i]))
            is = i;
    if (rc == 0 && ip < n) {
        used[ip] = true;
        rc = begin(t);
        if (rc == 0)
            rc = emit_key_term(t, ts[ip], def->pk_name);
        if (rc == 0 && is < n) {
            used[is] = true;
            rc = emit(t, " AND ");
            if (rc == 0)
                rc = emit_key_term(t, ts[is], def->sk_name);
        }
        op->key_condition = done(t);
        sk = is < n ? key_equality(ts[is], def->sk_name) : NULL;
        op->get = n == (def->has_sk ? 2u : 1u) && (!def->has_sk || sk);
        if (rc == 0 && op->get)
            rc = key_map(t, pk, sk);
    }
    if (rc == 0)
        rc = begin(t);
    if (rc == 0)
        rc = rest(t, ts, n, used, false);
    op->filter = done(t);
    if (rc < 0 || !s->order)
        return rc;
    if (!op->key_condition ||
        !(is_attr(s->order, def->pk_name) || (def->has_sk && is_attr(s->order, def->sk_name))))
        return fail(t, "ORDER BY needs a WHERE clause with an equality on the partition key, "
                       "and orders by a key attribute");
    op->reverse = s->desc;
    return 0;
}

/* The key of an UPDATE or DELETE: equalities on every key attribute. */
static int write_key(struct tr *t, struct pq_node_s **ts, size_t n, bool *used)
{
    const struct table_def *def = t->def;
    const struct value *kv[2] = {NULL, NULL};
    const char *names[2] = {def->pk_name, def->has_sk ? def->sk_name : NULL};

    for (size_t k = 0; k < 2 && names[k]; k++) {
        for (size_t i = 0; i < n && !kv[k]; i++) {
            if (!used[i] && (kv[k] = key_equality(ts[i], names[k])))
                used[i] = true;
        }
        if (!kv[k])
            return fail(t, "Where clause does not contain a mandatory equality on all key "
                           "attributes");
    }
    return key_map(t, kv[0], kv[1]);
}

static bool same_path(const struct pq_node_s *a, const struct pq_node_s *b)
{
    if (a->type != PQ_PATH || b->type != PQ_PATH || a->path_n != b->path_n)
        return false;
    for (size_t i = 0; i < a->path_n; i++) {
        const struct pq_elem *x = &a->path[i], *y = &b->path[i];

        if ((x->name == NULL) != (y->name == NULL) || x->len != y->len || x->index != y->index ||
            (x->name && memcmp(x->name, y->name, x->len) != 0))
            return false;
    }
    return true;
}

/* A SET value: paths, values, + and -, list_append and if_not_exists. */
static int set_value(struct tr *t, const struct pq_node_s *n)
{
    int rc;

    if (n->type == PQ_PATH)
        return emit_path(t, n);
    if (n->type == PQ_VALUE)
        return emit_value(t, n->value);
    if (n->type == PQ_ARITH) {
        rc = set_value(t, n->args[0]);
        if (rc == 0)
            rc = emit(t, " %c ", n->op);
        return rc < 0 ? rc : set_value(t, n->args[1]);
    }
    if (n->type != PQ_CALL || (n->fn != PQ_FN_LIST_APPEND && n->fn != PQ_FN_IF_NOT_EXISTS))
        return fail(t, "Unsupported value in SET: use values, paths, +, -, list_append, "
                       "if_not_exists, set_add or set_delete");
    if (n->n != 2)
        return fail(t, "%s takes two arguments", pq_fn_names[n->fn]);
    rc = emit(t, "%s(", pq_fn_names[n->fn]);
    if (rc == 0)
        rc = set_value(t, n->args[0]);
    if (rc == 0)
        rc = emit(t, ", ");
    if (rc == 0)
        rc = set_value(t, n->args[1]);
    return rc < 0 ? rc : emit(t, ")");
}

/* The UpdateExpression clause an action belongs to. */
enum clause { C_SET, C_REMOVE, C_ADD, C_DELETE };

static enum clause clause_of(const struct pq_action *a)
{
    if (!a->value)
        return C_REMOVE;
    if (a->value->type == PQ_CALL && a->value->fn == PQ_FN_SET_ADD)
        return C_ADD;
    if (a->value->type == PQ_CALL && a->value->fn == PQ_FN_SET_DELETE)
        return C_DELETE;
    return C_SET;
}

static int action(struct tr *t, const struct pq_action *a, enum clause c)
{
    const struct pq_node_s *v = a->value;
    int rc = emit_path(t, a->path);

    if (rc < 0 || c == C_REMOVE)
        return rc;
    if (c == C_SET) {
        rc = emit(t, " = ");
        return rc < 0 ? rc : set_value(t, v);
    }
    if (v->n != 2 || !same_path(v->args[0], a->path) || v->args[1]->type != PQ_VALUE)
        return fail(t, "%s takes the attribute being set and a set value: SET s = %s(s, <<...>>)",
                    pq_fn_names[v->fn], pq_fn_names[v->fn]);
    rc = emit(t, " ");
    return rc < 0 ? rc : emit_value(t, v->args[1]->value);
}

static int update_text(struct tr *t, const struct partiql_stmt *s)
{
    static const char *const words[] = {"SET", "REMOVE", "ADD", "DELETE"};
    int rc = begin(t);

    for (int c = C_SET; rc == 0 && c <= C_DELETE; c++) {
        size_t k = 0;

        for (size_t i = 0; rc == 0 && i < s->n_actions; i++) {
            if (clause_of(&s->actions[i]) != (enum clause)c)
                continue;
            rc = emit(t, k++ ? ", " : t->len ? " %s " : "%s ", words[c]);
            if (rc == 0)
                rc = action(t, &s->actions[i], (enum clause)c);
        }
    }
    t->op->update = done(t);
    return rc;
}

static int exists_test(struct tr *t, bool exists)
{
    int rc = emit(t, exists ? "attribute_exists(" : "attribute_not_exists(");

    if (rc == 0)
        rc = emit_name(t, t->def->pk_name, strlen(t->def->pk_name));
    return rc < 0 ? rc : emit(t, ")");
}

int partiql_translate(const struct partiql_stmt *s, const struct table_def *def, struct cr_arena *a,
                      struct partiql_op *out, struct ddb_err *err)
{
    struct tr t = {a, err, def, out, 0, 0, NULL, 0};
    struct pq_node_s **ts = NULL;
    size_t n = 0, cap = 0;
    bool *used;
    int rc;

    memset(out, 0, sizeof *out);
    err->code = 0;
    err->msg[0] = 0;
    out->kind = s->kind;
    out->item.type = VT_NULL;
    out->key.type = VT_NULL;
    out->returning = s->returning;
    out->index = s->index;
    out->index_len = s->index_len;
    rc = terms(&t, s->where, &ts, &n, &cap);
    if (rc < 0)
        return rc;
    used = cr_arena_calloc(a, n + 1);
    if (!used)
        return nomem(&t);
    switch (s->kind) {
    case PARTIQL_SELECT:
        return select_op(&t, s, ts, n, used);
    case PARTIQL_INSERT:
        out->item = *s->item;
        rc = begin(&t);
        rc = rc < 0 ? rc : exists_test(&t, false);
        out->condition = done(&t);
        return rc;
    case PARTIQL_UPDATE:
        rc = write_key(&t, ts, n, used);
        if (rc == 0)
            rc = update_text(&t, s);
        if (rc == 0)
            rc = begin(&t);
        if (rc == 0)
            rc = exists_test(&t, true);
        if (rc == 0 && n > (def->has_sk ? 2u : 1u))
            rc = emit(&t, " AND ");
        break;
    case PARTIQL_DELETE:
        rc = write_key(&t, ts, n, used);
        if (rc == 0)
            rc = begin(&t);
        if (rc == 0 && n > (def->has_sk ? 2u : 1u)) {
            rc = exists_test(&t, false);
            if (rc == 0)
                rc = emit(&t, " OR ");
        }
        break;
    }
    if (rc == 0)
        rc = rest(&t, ts, n, used, s->kind == PARTIQL_UPDATE);
    out->condition = done(&t);
    return rc;
}
