/*
 * The printer and structural equality of parsed queries. The printed text is canonical (upper-case
 * keywords, every compound subexpression in parentheses, strings double-quoted, negative numbers
 * in parentheses) so that parsing it again gives an equal query: the round trip the tests and
 * EXPLAIN (later) rely on. Nothing here evaluates anything.
 */
#include "query/sql_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_text(struct cr_buf *b, const char *s)
{
    return cr_buf_append(b, s, strlen(s));
}

static int put_string(struct cr_buf *b, const char *s, size_t len)
{
    int rc = cr_buf_putc(b, '"');

    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];

        switch (c) {
        case '"':
            rc = put_text(b, "\\\"");
            break;
        case '\\':
            rc = put_text(b, "\\\\");
            break;
        case '\n':
            rc = put_text(b, "\\n");
            break;
        case '\r':
            rc = put_text(b, "\\r");
            break;
        case '\t':
            rc = put_text(b, "\\t");
            break;
        case '\b':
            rc = put_text(b, "\\b");
            break;
        case '\f':
            rc = put_text(b, "\\f");
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                rc = put_text(b, esc);
            } else {
                rc = cr_buf_putc(b, c);
            }
        }
    }
    return rc ? rc : cr_buf_putc(b, '"');
}

static int put_number(struct cr_buf *b, const struct value *v)
{
    char buf[40];
    double d;

    if (v->type == VT_INT) {
        snprintf(buf, sizeof buf, v->u.i < 0 ? "(%" PRId64 ")" : "%" PRId64, v->u.i);
        return put_text(b, buf);
    }
    d = sql_to_double(v);
    /* The shortest text that reads back to the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, signbit(d) ? "(%.*g)" : "%.*g", prec, d);
        if (strtod(buf + (signbit(d) ? 1 : 0), NULL) == d)
            break;
    }
    return put_text(b, buf);
}

static bool is_ident(const char *s, size_t len)
{
    if (!len || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static const char *op_text(int op)
{
    static const char *const t[] = {
        [SO_NEG] = "-",       [SO_POS] = "+",         [SO_NOT] = "NOT ", [SO_OR] = " OR ",
        [SO_AND] = " AND ",   [SO_EQ] = " = ",        [SO_NE] = " != ",  [SO_LT] = " < ",
        [SO_LE] = " <= ",     [SO_GT] = " > ",        [SO_GE] = " >= ",  [SO_ADD] = " + ",
        [SO_SUB] = " - ",     [SO_MUL] = " * ",       [SO_DIV] = " / ",  [SO_MOD] = " % ",
        [SO_CONCAT] = " || ", [SO_COALESCE] = " ?? ",
    };
    return t[op];
}

static int print_expr(struct cr_buf *b, const struct sql_expr *e);

static int print_list(struct cr_buf *b, struct sql_expr *const *v, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            rc = put_text(b, ", ");
        if (rc == 0)
            rc = print_expr(b, v[i]);
    }
    return rc;
}

static int print_expr(struct cr_buf *b, const struct sql_expr *e)
{
    int rc;

    switch (e->kind) {
    case SE_CONST:
        switch (e->v.type) {
        case VT_NULL:
            return put_text(b, "null");
        case VT_BOOL:
            return put_text(b, e->v.u.b ? "true" : "false");
        case VT_STRING:
            return put_string(b, e->v.u.s.ptr, e->v.u.s.len);
        default:
            return put_number(b, &e->v);
        }
    case SE_UNDEF:
        return put_text(b, "undefined");
    case SE_PARAM:
    case SE_IDENT:
        return cr_buf_append(b, e->name, e->name_len);
    case SE_PROP:
        if ((rc = print_expr(b, e->a)) < 0)
            return rc;
        if (is_ident(e->name, e->name_len))
            return (rc = cr_buf_putc(b, '.')) < 0 ? rc : cr_buf_append(b, e->name, e->name_len);
        if ((rc = cr_buf_putc(b, '[')) < 0 || (rc = put_string(b, e->name, e->name_len)) < 0)
            return rc;
        return cr_buf_putc(b, ']');
    case SE_INDEX:
        if ((rc = print_expr(b, e->a)) < 0 || (rc = cr_buf_putc(b, '[')) < 0 ||
            (rc = print_expr(b, e->b)) < 0)
            return rc;
        return cr_buf_putc(b, ']');
    case SE_CALL:
    case SE_AGG:
        if ((rc = put_text(b, e->kind == SE_CALL ? sql_func_name(e->op) : sql_agg_name(e->op))) <
                0 ||
            (rc = cr_buf_putc(b, '(')) < 0)
            return rc;
        rc = e->kind == SE_CALL ? print_list(b, e->args, e->n_args) : print_expr(b, e->a);
        return rc < 0 ? rc : cr_buf_putc(b, ')');
    case SE_ARRAY:
        if ((rc = cr_buf_putc(b, '[')) < 0 || (rc = print_list(b, e->args, e->n_args)) < 0)
            return rc;
        return cr_buf_putc(b, ']');
    case SE_OBJECT:
        if ((rc = cr_buf_putc(b, '{')) < 0)
            return rc;
        for (size_t i = 0; i < e->n_args; i++) {
            if ((i && (rc = put_text(b, ", ")) < 0) ||
                (rc = put_string(b, e->keys[i].name, e->keys[i].name_len)) < 0 ||
                (rc = put_text(b, ": ")) < 0 || (rc = print_expr(b, e->args[i])) < 0)
                return rc;
        }
        return cr_buf_putc(b, '}');
    default:
        break;
    }
    /* Compound expressions: always parenthesized. */
    if ((rc = cr_buf_putc(b, '(')) < 0)
        return rc;
    switch (e->kind) {
    case SE_UNARY:
        if ((rc = put_text(b, op_text(e->op))) < 0 || (rc = print_expr(b, e->a)) < 0)
            return rc;
        break;
    case SE_BINARY:
        if ((rc = print_expr(b, e->a)) < 0 || (rc = put_text(b, op_text(e->op))) < 0 ||
            (rc = print_expr(b, e->b)) < 0)
            return rc;
        break;
    case SE_BETWEEN:
        if ((rc = print_expr(b, e->a)) < 0 ||
            (rc = put_text(b, e->negate ? " NOT BETWEEN " : " BETWEEN ")) < 0 ||
            (rc = print_expr(b, e->b)) < 0 || (rc = put_text(b, " AND ")) < 0 ||
            (rc = print_expr(b, e->c)) < 0)
            return rc;
        break;
    case SE_IN:
        if ((rc = print_expr(b, e->a)) < 0 ||
            (rc = put_text(b, e->negate ? " NOT IN (" : " IN (")) < 0 ||
            (rc = print_list(b, e->args, e->n_args)) < 0 || (rc = cr_buf_putc(b, ')')) < 0)
            return rc;
        break;
    case SE_LIKE:
        if ((rc = print_expr(b, e->a)) < 0 ||
            (rc = put_text(b, e->negate ? " NOT LIKE " : " LIKE ")) < 0 ||
            (rc = print_expr(b, e->b)) < 0)
            return rc;
        if (e->c && ((rc = put_text(b, " ESCAPE ")) < 0 || (rc = print_expr(b, e->c)) < 0))
            return rc;
        break;
    default: /* SE_COND */
        if ((rc = print_expr(b, e->a)) < 0 || (rc = put_text(b, " ? ")) < 0 ||
            (rc = print_expr(b, e->b)) < 0 || (rc = put_text(b, " : ")) < 0 ||
            (rc = print_expr(b, e->c)) < 0)
            return rc;
        break;
    }
    return cr_buf_putc(b, ')');
}

static int print_clauses(const struct sql_query *q, struct cr_buf *b)
{
    int rc;

    if ((rc = put_text(b, q->distinct ? "SELECT DISTINCT " : "SELECT ")) < 0)
        return rc;
    if (q->top && ((rc = put_text(b, "TOP ")) < 0 || (rc = print_expr(b, q->top)) < 0 ||
                   (rc = cr_buf_putc(b, ' ')) < 0))
        return rc;
    if (q->sel == SQL_SEL_STAR) {
        rc = cr_buf_putc(b, '*');
    } else if (q->sel == SQL_SEL_VALUE) {
        rc = (rc = put_text(b, "VALUE ")) < 0 ? rc : print_expr(b, q->items[0].e);
    } else {
        for (size_t i = 0; i < q->n_items && rc == 0; i++) {
            const struct sql_item *it = &q->items[i];

            if ((i && (rc = put_text(b, ", ")) < 0) || (rc = print_expr(b, it->e)) < 0)
                return rc;
            if (it->alias && ((rc = put_text(b, " AS ")) < 0 ||
                              (rc = cr_buf_append(b, it->alias, it->alias_len)) < 0))
                return rc;
        }
    }
    if (rc < 0 || (rc = put_text(b, " FROM ")) < 0 ||
        (rc = cr_buf_append(b, q->coll, q->coll_len)) < 0 || (rc = cr_buf_putc(b, ' ')) < 0 ||
        (rc = cr_buf_append(b, q->alias, q->alias_len)) < 0)
        return rc;
    for (size_t i = 0; i < q->n_joins; i++)
        if ((rc = put_text(b, " JOIN ")) < 0 ||
            (rc = cr_buf_append(b, q->joins[i].alias, q->joins[i].alias_len)) < 0 ||
            (rc = put_text(b, " IN ")) < 0 || (rc = print_expr(b, q->joins[i].src)) < 0)
            return rc;
    if (q->where && ((rc = put_text(b, " WHERE ")) < 0 || (rc = print_expr(b, q->where)) < 0))
        return rc;
    if (q->n_group &&
        ((rc = put_text(b, " GROUP BY ")) < 0 || (rc = print_list(b, q->group, q->n_group)) < 0))
        return rc;
    for (size_t i = 0; i < q->n_order; i++)
        if ((rc = put_text(b, i ? ", " : " ORDER BY ")) < 0 ||
            (rc = print_expr(b, q->order[i].e)) < 0 ||
            (rc = put_text(b, q->order[i].desc ? " DESC" : " ASC")) < 0)
            return rc;
    if (q->offset && ((rc = put_text(b, " OFFSET ")) < 0 || (rc = print_expr(b, q->offset)) < 0 ||
                      (rc = put_text(b, " LIMIT ")) < 0 || (rc = print_expr(b, q->limit)) < 0))
        return rc;
    return 0;
}

int sql_print(const struct sql_query *q, struct cr_buf *out)
{
    size_t len = out->len;
    int rc = print_clauses(q, out);

    if (rc < 0)
        out->len = len;
    return rc;
}

/* ---- equality ---- */

static bool same_name(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || !memcmp(a, b, al));
}

static bool opt_equal(const struct sql_expr *a, const struct sql_expr *b)
{
    return (!a && !b) || (a && b && sql_expr_equal(a, b));
}

bool sql_expr_equal(const struct sql_expr *a, const struct sql_expr *b)
{
    if (a->kind != b->kind || a->op != b->op || a->negate != b->negate || a->n_args != b->n_args)
        return false;
    switch (a->kind) {
    case SE_CONST:
        if (a->v.type != b->v.type &&
            !(sql_type_of(&a->v) == SQT_NUMBER && sql_type_of(&b->v) == SQT_NUMBER))
            return false;
        if (!value_equal(&a->v, &b->v))
            return false;
        break;
    case SE_IDENT:
    case SE_PARAM:
    case SE_PROP:
        if (!same_name(a->name, a->name_len, b->name, b->name_len))
            return false;
        break;
    default:
        break;
    }
    if (!opt_equal(a->a, b->a) || !opt_equal(a->b, b->b) || !opt_equal(a->c, b->c))
        return false;
    for (size_t i = 0; i < a->n_args; i++) {
        if (!sql_expr_equal(a->args[i], b->args[i]))
            return false;
        if (a->kind == SE_OBJECT &&
            !same_name(a->keys[i].name, a->keys[i].name_len, b->keys[i].name, b->keys[i].name_len))
            return false;
    }
    return true;
}

bool sql_query_equal(const struct sql_query *a, const struct sql_query *b)
{
    if (a->distinct != b->distinct || a->sel != b->sel || a->n_items != b->n_items ||
        a->n_joins != b->n_joins || a->n_group != b->n_group || a->n_order != b->n_order ||
        !opt_equal(a->top, b->top) || !opt_equal(a->where, b->where) ||
        !opt_equal(a->offset, b->offset) || !opt_equal(a->limit, b->limit) ||
        !same_name(a->coll, a->coll_len, b->coll, b->coll_len) ||
        !same_name(a->alias, a->alias_len, b->alias, b->alias_len))
        return false;
    for (size_t i = 0; i < a->n_items; i++)
        if (!sql_expr_equal(a->items[i].e, b->items[i].e) ||
            !same_name(a->items[i].name, a->items[i].name_len, b->items[i].name,
                       b->items[i].name_len))
            return false;
    for (size_t i = 0; i < a->n_joins; i++)
        if (!same_name(a->joins[i].alias, a->joins[i].alias_len, b->joins[i].alias,
                       b->joins[i].alias_len) ||
            !sql_expr_equal(a->joins[i].src, b->joins[i].src))
            return false;
    for (size_t i = 0; i < a->n_group; i++)
        if (!sql_expr_equal(a->group[i], b->group[i]))
            return false;
    for (size_t i = 0; i < a->n_order; i++)
        if (a->order[i].desc != b->order[i].desc || !sql_expr_equal(a->order[i].e, b->order[i].e))
            return false;
    return true;
}
