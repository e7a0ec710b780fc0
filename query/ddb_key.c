/*
 * KeyConditionExpression: parsed with the condition grammar, then checked against the table's
 * key schema and mapped onto storage's range read (enum sk_op). Only "pk = :v", optionally AND
 * one of "sk = < <= > >= :v", "sk BETWEEN :a AND :b", "begins_with(sk, :v)" pass. Reads no
 * item and evaluates nothing.
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <string.h>

/* One leaf condition, normalized to "key op values". */
struct key_term {
    const struct ddb_elem *key;
    enum sk_op op;
    const struct value *v1, *v2;
};

static const char *const cmp_text[] = {"=", "<>", "<", "<=", ">", ">="};

static int bad_operator(struct ddb_err *err, const char *op)
{
    return ddb_fail_plain(err, CR_EINVAL, "Invalid operator used in KeyConditionExpression: %s",
                          op);
}

static int not_supported(struct ddb_err *err)
{
    return ddb_fail_plain(err, CR_EINVAL, "Query key condition not supported");
}

static enum sk_op flip(enum cmp_op op)
{
    switch (op) {
    case CMP_LT:
        return SK_GT;
    case CMP_LE:
        return SK_GE;
    case CMP_GT:
        return SK_LT;
    case CMP_GE:
        return SK_LE;
    default:
        return SK_EQ;
    }
}

static enum sk_op direct(enum cmp_op op)
{
    switch (op) {
    case CMP_LT:
        return SK_LT;
    case CMP_LE:
        return SK_LE;
    case CMP_GT:
        return SK_GT;
    case CMP_GE:
        return SK_GE;
    default:
        return SK_EQ;
    }
}

static int key_path(const struct ddb_operand *o, const struct ddb_elem **key, struct ddb_err *err)
{
    if (o->kind == OPND_SIZE)
        return bad_operator(err, "size");
    if (o->kind != OPND_PATH)
        return not_supported(err);
    if (o->path.n != 1)
        return ddb_err_set(err, DDB_KEY_CONDITION,
                           "KeyConditionExpressions cannot have conditions on nested attributes");
    *key = &o->path.e[0];
    return 0;
}

static int const_value(const struct ddb_operand *o, const struct value **v, struct ddb_err *err)
{
    if (o->kind == OPND_SIZE)
        return bad_operator(err, "size");
    if (o->kind != OPND_VALUE)
        return not_supported(err);
    *v = o->value;
    return 0;
}

static int term(const struct ddb_cond *c, struct key_term *t, struct ddb_err *err)
{
    int rc;

    memset(t, 0, sizeof *t);
    switch (c->kind) {
    case C_CMP:
        if (c->cmp == CMP_NE)
            return bad_operator(err, cmp_text[c->cmp]);
        if (c->args[0].kind == OPND_VALUE) {
            t->op = flip(c->cmp);
            if ((rc = key_path(&c->args[1], &t->key, err)))
                return rc;
            return const_value(&c->args[0], &t->v1, err);
        }
        t->op = direct(c->cmp);
        if ((rc = key_path(&c->args[0], &t->key, err)))
            return rc;
        return const_value(&c->args[1], &t->v1, err);
    case C_BETWEEN:
        t->op = SK_BETWEEN;
        if ((rc = key_path(&c->args[0], &t->key, err)) ||
            (rc = const_value(&c->args[1], &t->v1, err)))
            return rc;
        return const_value(&c->args[2], &t->v2, err);
    case C_BEGINS:
        t->op = SK_BEGINS_WITH;
        if ((rc = key_path(&c->args[0], &t->key, err)))
            return rc;
        return const_value(&c->args[1], &t->v1, err);
    case C_OR:
        return bad_operator(err, "OR");
    case C_NOT:
        return bad_operator(err, "NOT");
    case C_IN:
        return bad_operator(err, "IN");
    case C_EXISTS:
        return bad_operator(err, "attribute_exists");
    case C_NOT_EXISTS:
        return bad_operator(err, "attribute_not_exists");
    case C_TYPE:
        return bad_operator(err, "attribute_type");
    case C_CONTAINS:
        return bad_operator(err, "contains");
    case C_AND:
        break;
    }
    return ddb_fail_plain(err, CR_EINVAL, "Conditions can be of length 1 or 2 only");
}

static bool is_key(const struct ddb_elem *e, const char *name, size_t len)
{
    return name && e->name_len == len && !memcmp(e->name, name, len);
}

int ddb_parse_key_condition(struct ddb_ctx *ctx, const char *text, size_t len,
                            const struct ddb_key_schema *keys, struct ddb_key_cond *out,
                            struct ddb_err *err)
{
    struct ddb_cond *c, *leaves[2];
    struct key_term t[2];
    const struct key_term *pk = NULL, *sk = NULL;
    size_t n, i;
    bool has_pk = false;
    int rc = ddb_parse_condition(ctx, DDB_KEY_CONDITION, text, len, &c, err);

    if (rc)
        return rc;
    if (c->kind == C_AND) {
        if (c->l->kind == C_AND || c->r->kind == C_AND)
            return ddb_fail_plain(err, CR_EINVAL, "Conditions can be of length 1 or 2 only");
        leaves[0] = c->l;
        leaves[1] = c->r;
        n = 2;
    } else {
        leaves[0] = c;
        n = 1;
    }
    for (i = 0; i < n; i++) {
        if ((rc = term(leaves[i], &t[i], err)))
            return rc;
        if (is_key(t[i].key, keys->pk, keys->pk_len))
            has_pk = true;
    }
    for (i = 0; i < n; i++) {
        if (is_key(t[i].key, keys->pk, keys->pk_len)) {
            if (pk)
                return ddb_fail_plain(err, CR_EINVAL,
                                      "KeyConditionExpressions must only contain one condition "
                                      "per key");
            if (t[i].op != SK_EQ)
                return not_supported(err);
            pk = &t[i];
        } else if (is_key(t[i].key, keys->sk, keys->sk_len)) {
            if (sk)
                return ddb_fail_plain(err, CR_EINVAL,
                                      "KeyConditionExpressions must only contain one condition "
                                      "per key");
            sk = &t[i];
        } else if (!has_pk) {
            return ddb_fail_plain(err, CR_EINVAL, "Query condition missed key schema element: %.*s",
                                  (int)keys->pk_len, keys->pk);
        } else if (keys->sk) {
            return ddb_fail_plain(err, CR_EINVAL, "Query condition missed key schema element: %.*s",
                                  (int)keys->sk_len, keys->sk);
        } else {
            return not_supported(err);
        }
    }
    if (!pk)
        return ddb_fail_plain(err, CR_EINVAL, "Query condition missed key schema element: %.*s",
                              (int)keys->pk_len, keys->pk);
    memset(out, 0, sizeof *out);
    out->pk = *pk->v1;
    out->op = SK_ANY;
    if (sk) {
        out->op = sk->op;
        out->sk1 = *sk->v1;
        if (sk->v2)
            out->sk2 = *sk->v2;
    }
    return 0;
}
