/*
 * Firestore structured queries compiled into the document query language. The compiler writes
 * canonical query text with every Firestore value as a @parameter (so any value type goes
 * through, timestamps and references included) and parses it with sql_parse: the result is
 * exactly a query the SQL front end could have sent, the planner and executor need no Firestore
 * case, and the text is what EXPLAIN and the tests show. Where Cosmos DB's semantics differ from
 * Firestore's, the text says Firestore's in Cosmos terms (docs/query.md, "Firestore structured
 * queries"); the one thing SQL could not say — Firestore's total order across types, for cursors
 * and for ranges over arrays and maps — is the built-in FS_COMPARE(a, b).
 *
 * It validates as Firestore does, with Firestore's INVALID_ARGUMENT messages, and reads nothing.
 */
#include "query/fs_query.h"
#include "common/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH_SEGS 64

struct seg {
    const char *s;
    size_t len;
};

/* A parsed field path: its segments (unescaped) and its canonical text. */
struct fpath {
    struct seg *segs;
    size_t n;
    const char *canon;
    size_t canon_len;
};

struct comp {
    struct cr_arena *a;
    struct sql_err *err;
    const struct fs_query *q;
    struct cr_buf b;
    struct sql_param *params;
    size_t n_params, cap_params;
    /* inequality fields (canonical), and counts for the validation rules */
    struct fpath *ineq;
    size_t n_ineq, cap_ineq;
    unsigned n_not; /* NOT_EQUAL, NOT_IN, IS_NOT_NULL, IS_NOT_NAN */
    bool has_not_in, has_in_or_any;
};

static int fail(struct comp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct comp *c, const char *fmt, ...)
{
    va_list ap;

    memset(c->err, 0, sizeof *c->err);
    c->err->code = CR_EINVAL;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return CR_EINVAL;
}

static int nomem(struct comp *c)
{
    memset(c->err, 0, sizeof *c->err);
    c->err->code = CR_ENOMEM;
    snprintf(c->err->msg, sizeof c->err->msg, "%s", cr_strerror(CR_ENOMEM));
    return CR_ENOMEM;
}

static const char *op_name(enum fs_op op)
{
    static const char *const names[] = {
        "LESS_THAN",
        "LESS_THAN_OR_EQUAL",
        "GREATER_THAN",
        "GREATER_THAN_OR_EQUAL",
        "EQUAL",
        "NOT_EQUAL",
        "ARRAY_CONTAINS",
        "IN",
        "ARRAY_CONTAINS_ANY",
        "NOT_IN",
        "IS_NAN",
        "IS_NULL",
        "IS_NOT_NAN",
        "IS_NOT_NULL",
    };
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

/* ---- field paths ---- */

static bool simple_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool simple_char(char ch)
{
    return simple_start(ch) || (ch >= '0' && ch <= '9');
}

static bool is_simple(const char *s, size_t len)
{
    if (!len || !simple_start(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!simple_char(s[i]))
            return false;
    return true;
}

static int bad_path(struct comp *c, const struct fs_path *p)
{
    return fail(c, "Invalid field path: '%.*s'", p->len > 100 ? 100 : (int)p->len, p->text);
}

static int parse_path(struct comp *c, const struct fs_path *p, struct fpath *out)
{
    struct seg segs[MAX_PATH_SEGS];
    struct cr_buf canon;
    size_t i = 0, n = 0;
    int rc = 0;

    if (!p->len)
        return bad_path(c, p);
    for (;;) {
        if (n == MAX_PATH_SEGS)
            return bad_path(c, p);
        if (p->text[i] == '`') {
            char *u = cr_arena_alloc(c->a, p->len + 1);
            size_t k = 0;

            if (!u)
                return nomem(c);
            for (i++;; i++) {
                if (i >= p->len)
                    return bad_path(c, p);
                if (p->text[i] == '`')
                    break;
                if (p->text[i] == '\\') {
                    if (++i >= p->len)
                        return bad_path(c, p);
                }
                u[k++] = p->text[i];
            }
            i++;
            if (!k)
                return bad_path(c, p);
            segs[n++] = (struct seg){u, k};
        } else {
            size_t start = i;

            while (i < p->len && p->text[i] != '.')
                i++;
            if (!is_simple(p->text + start, i - start))
                return bad_path(c, p);
            segs[n++] = (struct seg){p->text + start, i - start};
        }
        if (i == p->len)
            break;
        if (p->text[i] != '.' || ++i == p->len)
            return bad_path(c, p);
    }
    cr_buf_init(&canon);
    for (size_t k = 0; k < n && !rc; k++) {
        if (k)
            rc = cr_buf_putc(&canon, '.');
        if (is_simple(segs[k].s, segs[k].len)) {
            rc = rc ? rc : cr_buf_append(&canon, segs[k].s, segs[k].len);
            continue;
        }
        rc = rc ? rc : cr_buf_putc(&canon, '`');
        for (size_t j = 0; j < segs[k].len && !rc; j++) {
            if (segs[k].s[j] == '`' || segs[k].s[j] == '\\')
                rc = cr_buf_putc(&canon, '\\');
            rc = rc ? rc : cr_buf_putc(&canon, (uint8_t)segs[k].s[j]);
        }
        rc = rc ? rc : cr_buf_putc(&canon, '`');
    }
    out->segs = cr_arena_alloc(c->a, n * sizeof *out->segs);
    out->canon = rc ? NULL : cr_arena_strndup(c->a, (const char *)canon.data, canon.len);
    out->canon_len = canon.len;
    cr_buf_free(&canon);
    if (!out->segs || !out->canon)
        return nomem(c);
    memcpy(out->segs, segs, n * sizeof *segs);
    out->n = n;
    return 0;
}

static bool path_is(const struct fpath *p, const char *canon)
{
    return p->canon_len == strlen(canon) && !memcmp(p->canon, canon, p->canon_len);
}

static bool path_eq(const struct fpath *a, const struct fpath *b)
{
    return a->canon_len == b->canon_len && !memcmp(a->canon, b->canon, a->canon_len);
}

/* ---- text ---- */

static int put(struct comp *c, const char *s)
{
    return cr_buf_append(&c->b, s, strlen(s)) ? nomem(c) : 0;
}

static int put_string(struct comp *c, const char *s, size_t len)
{
    int rc = cr_buf_putc(&c->b, '"');

    for (size_t i = 0; i < len && !rc; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '"' || ch == '\\') {
            rc = cr_buf_putc(&c->b, '\\');
            rc = rc ? rc : cr_buf_putc(&c->b, ch);
        } else if (ch < 0x20) {
            char u[8];

            snprintf(u, sizeof u, "\\u%04x", ch);
            rc = cr_buf_append(&c->b, u, 6);
        } else {
            rc = cr_buf_putc(&c->b, ch);
        }
    }
    rc = rc ? rc : cr_buf_putc(&c->b, '"');
    return rc ? nomem(c) : 0;
}

/* c["seg"]["seg"]... */
static int put_path(struct comp *c, const struct fpath *p)
{
    int rc = put(c, "c");

    for (size_t i = 0; i < p->n && !rc; i++) {
        if (!(rc = put(c, "[")) && !(rc = put_string(c, p->segs[i].s, p->segs[i].len)))
            rc = put(c, "]");
    }
    return rc;
}

/* A new parameter holding v (borrowed): writes its name. */
static int put_param(struct comp *c, const struct value *v)
{
    char name[24];
    int k = snprintf(name, sizeof name, "@p%zu", c->n_params);
    struct sql_param *p;

    if (c->n_params == SQL_MAX_PARAMS)
        return fail(c, "Invalid query: more than %d values", SQL_MAX_PARAMS);
    if (c->n_params == c->cap_params) {
        size_t cap = c->cap_params ? c->cap_params * 2 : 16;
        struct sql_param *np = cr_arena_alloc(c->a, cap * sizeof *np);

        if (!np)
            return nomem(c);
        if (c->n_params)
            memcpy(np, c->params, c->n_params * sizeof *np);
        c->params = np;
        c->cap_params = cap;
    }
    p = &c->params[c->n_params++];
    if (!(p->name = cr_arena_strndup(c->a, name, (size_t)k)))
        return nomem(c);
    p->name_len = (size_t)k;
    p->value = v;
    return put(c, name);
}

static int put_value(struct comp *c, struct value v)
{
    struct value *p = cr_arena_alloc(c->a, sizeof *p);

    if (!p)
        return nomem(c);
    *p = v;
    return put_param(c, p);
}

/* ---- filters ---- */

static bool is_nan(const struct value *v)
{
    return v->type == VT_DOUBLE && isnan(v->u.d);
}

static bool is_ineq(enum fs_op op)
{
    return op == FS_LT || op == FS_LE || op == FS_GT || op == FS_GE || op == FS_NE ||
           op == FS_NOT_IN || op == FS_IS_NOT_NAN || op == FS_IS_NOT_NULL;
}

static int add_ineq(struct comp *c, const struct fpath *p)
{
    for (size_t i = 0; i < c->n_ineq; i++)
        if (path_eq(&c->ineq[i], p))
            return 0;
    if (c->n_ineq == FS_MAX_INEQUALITY)
        return fail(c, "Invalid query: inequality filters on more than %d fields",
                    FS_MAX_INEQUALITY);
    if (c->n_ineq == c->cap_ineq) {
        size_t cap = c->cap_ineq ? c->cap_ineq * 2 : 4;
        struct fpath *nv = cr_arena_alloc(c->a, cap * sizeof *nv);

        if (!nv)
            return nomem(c);
        if (c->n_ineq)
            memcpy(nv, c->ineq, c->n_ineq * sizeof *nv);
        c->ineq = nv;
        c->cap_ineq = cap;
    }
    c->ineq[c->n_ineq++] = *p;
    return 0;
}

/* Terms of the filter's disjunctive normal form, saturating above the limit. */
static size_t dnf_terms(const struct fs_filter *f)
{
    size_t n;

    switch (f->kind) {
    case FS_FIELD:
        if (f->op == FS_IN || f->op == FS_ARRAY_CONTAINS_ANY)
            return f->value.type == VT_ARRAY ? f->value.u.arr.n : 1;
        return 1;
    case FS_UNARY:
        return 1;
    case FS_AND:
        n = 1;
        for (size_t i = 0; i < f->n_subs; i++) {
            n *= dnf_terms(&f->subs[i]);
            if (n > FS_MAX_DISJUNCTIONS)
                n = FS_MAX_DISJUNCTIONS + 1;
        }
        return n;
    default:
        n = 0;
        for (size_t i = 0; i < f->n_subs; i++) {
            n += dnf_terms(&f->subs[i]);
            if (n > FS_MAX_DISJUNCTIONS)
                n = FS_MAX_DISJUNCTIONS + 1;
        }
        return n;
    }
}

/* The most filters with operator op in one term of the DNF. */
static size_t per_term(const struct fs_filter *f, enum fs_op op)
{
    size_t n = 0;

    if (f->kind == FS_FIELD)
        return f->op == op;
    if (f->kind == FS_UNARY)
        return 0;
    for (size_t i = 0; i < f->n_subs; i++) {
        size_t k = per_term(&f->subs[i], op);

        if (f->kind == FS_AND)
            n += k;
        else if (k > n)
            n = k;
    }
    return n;
}

/* Which kinds of DNF terms f has, as a set of 4 bits: bit (ac + 2 * any) set when some term
 * holds an ARRAY_CONTAINS (ac) and an ARRAY_CONTAINS_ANY (any) as said. */
static unsigned contains_terms(const struct fs_filter *f)
{
    unsigned m;

    if (f->kind == FS_FIELD)
        return f->op == FS_ARRAY_CONTAINS ? 1u << 1 : f->op == FS_ARRAY_CONTAINS_ANY ? 1u << 2 : 1u;
    if (f->kind == FS_UNARY)
        return 1u;
    m = f->kind == FS_AND ? 1u : 0u;
    for (size_t i = 0; i < f->n_subs; i++) {
        unsigned k = contains_terms(&f->subs[i]), r = 0;

        if (f->kind == FS_OR) {
            m |= k;
            continue;
        }
        for (unsigned x = 0; x < 4; x++)
            for (unsigned y = 0; y < 4; y++)
                if ((m >> x & 1) && (k >> y & 1))
                    r |= 1u << (x | y);
        m = r;
    }
    return m;
}

static int check_name_value(struct comp *c, const struct value *v)
{
    if (v->type != VT_REF)
        return fail(c, "__name__ filter value must be a Reference");
    return 0;
}

static int put_field_filter(struct comp *c, const struct fs_filter *f, const struct fpath *p)
{
    const struct value *v = &f->value;
    bool name = path_is(p, FS_NAME_FIELD);
    int rc = 0;

    switch (f->op) {
    case FS_LT:
    case FS_LE:
    case FS_GT:
    case FS_GE: {
        static const char *const sym[] = {" < ", " <= ", " > ", " >= "};

        if (v->type == VT_NULL)
            return fail(c, "Invalid query. Null supports only 'EQUAL' and 'NOT_EQUAL' "
                           "comparisons.");
        if (is_nan(v))
            return fail(c, "Invalid query. NaN supports only 'EQUAL' and 'NOT_EQUAL' "
                           "comparisons.");
        if (name && (rc = check_name_value(c, v)) < 0)
            return rc;
        if (v->type == VT_ARRAY || v->type == VT_MAP) {
            /* Cosmos DB has no order over arrays and maps: Firestore's, within the type. */
            if ((rc = put(c, v->type == VT_ARRAY ? "(IS_ARRAY(" : "(IS_OBJECT(")) < 0 ||
                (rc = put_path(c, p)) < 0 || (rc = put(c, ") AND (FS_COMPARE(")) < 0 ||
                (rc = put_path(c, p)) < 0 || (rc = put(c, ", ")) < 0 ||
                (rc = put_param(c, v)) < 0 || (rc = put(c, ")")) < 0 ||
                (rc = put(c, sym[f->op - FS_LT])) < 0 || (rc = put(c, "0))")) < 0)
                return rc;
            return 0;
        }
        /* Scalars: Cosmos DB's comparison is Firestore's (only values of v's type). */
        if ((rc = put(c, "(")) < 0 || (rc = put_path(c, p)) < 0 ||
            (rc = put(c, sym[f->op - FS_LT])) < 0 || (rc = put_param(c, v)) < 0)
            return rc;
        return put(c, ")");
    }
    case FS_EQ:
        if (name && (rc = check_name_value(c, v)) < 0)
            return rc;
        if ((rc = put(c, "(")) < 0 || (rc = put_path(c, p)) < 0 || (rc = put(c, " = ")) < 0 ||
            (rc = put_param(c, v)) < 0)
            return rc;
        return put(c, ")");
    case FS_NE:
        if (name && (rc = check_name_value(c, v)) < 0)
            return rc;
        /* NOT IN is true for a value of any other type; null and missing fields never match. */
        if ((rc = put(c, "((")) < 0 || (rc = put_path(c, p)) < 0 ||
            (rc = put(c, " NOT IN (")) < 0 || (rc = put_param(c, v)) < 0 ||
            (rc = put(c, ")) AND (NOT IS_NULL(")) < 0 || (rc = put_path(c, p)) < 0)
            return rc;
        return put(c, ")))");
    case FS_IN:
    case FS_NOT_IN:
        if ((rc = put(c, f->op == FS_IN ? "(" : "((")) < 0 || (rc = put_path(c, p)) < 0 ||
            (rc = put(c, f->op == FS_IN ? " IN (" : " NOT IN (")) < 0)
            return rc;
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (name && (rc = check_name_value(c, &v->u.arr.items[i])) < 0)
                return rc;
            if ((i && (rc = put(c, ", ")) < 0) || (rc = put_param(c, &v->u.arr.items[i])) < 0)
                return rc;
        }
        if (f->op == FS_IN)
            return put(c, "))");
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (v->u.arr.items[i].type == VT_NULL)
                return put(c, ")) AND false)"); /* null in NOT_IN: nothing matches */
        if ((rc = put(c, ")) AND (NOT IS_NULL(")) < 0 || (rc = put_path(c, p)) < 0)
            return rc;
        return put(c, ")))");
    case FS_ARRAY_CONTAINS:
        if ((rc = put(c, "ARRAY_CONTAINS(")) < 0 || (rc = put_path(c, p)) < 0 ||
            (rc = put(c, ", ")) < 0 || (rc = put_param(c, v)) < 0)
            return rc;
        return put(c, ")");
    case FS_ARRAY_CONTAINS_ANY:
        if ((rc = put(c, "(")) < 0)
            return rc;
        for (size_t i = 0; i < v->u.arr.n; i++)
            if ((i && (rc = put(c, " OR ")) < 0) || (rc = put(c, "ARRAY_CONTAINS(")) < 0 ||
                (rc = put_path(c, p)) < 0 || (rc = put(c, ", ")) < 0 ||
                (rc = put_param(c, &v->u.arr.items[i])) < 0 || (rc = put(c, ")")) < 0)
                return rc;
        return put(c, ")");
    default:
        return fail(c, "Invalid field filter operator %s", op_name(f->op));
    }
}

static int put_unary(struct comp *c, enum fs_op op, const struct fpath *p)
{
    static const struct value nan_v = {.type = VT_DOUBLE, .u = {.d = NAN}};
    int rc;

    switch (op) {
    case FS_IS_NULL:
        if ((rc = put(c, "IS_NULL(")) < 0 || (rc = put_path(c, p)) < 0)
            return rc;
        return put(c, ")");
    case FS_IS_NOT_NULL:
        if ((rc = put(c, "(IS_DEFINED(")) < 0 || (rc = put_path(c, p)) < 0 ||
            (rc = put(c, ") AND (NOT IS_NULL(")) < 0 || (rc = put_path(c, p)) < 0)
            return rc;
        return put(c, ")))");
    case FS_IS_NAN:
        /* NaN equals NaN in the value model, and only numbers compare with a number. */
        if ((rc = put(c, "(")) < 0 || (rc = put_path(c, p)) < 0 || (rc = put(c, " = ")) < 0 ||
            (rc = put_value(c, nan_v)) < 0)
            return rc;
        return put(c, ")");
    case FS_IS_NOT_NAN:
        if ((rc = put(c, "((")) < 0 || (rc = put_path(c, p)) < 0 ||
            (rc = put(c, " NOT IN (")) < 0 || (rc = put_value(c, nan_v)) < 0 ||
            (rc = put(c, ")) AND (NOT IS_NULL(")) < 0 || (rc = put_path(c, p)) < 0)
            return rc;
        return put(c, ")))");
    default:
        return fail(c, "Invalid unary filter operator %s", op_name(op));
    }
}

static int put_filter(struct comp *c, const struct fs_filter *f, unsigned depth)
{
    struct fpath p;
    enum fs_op op = f->op;
    int rc;

    if (depth > FS_MAX_DEPTH)
        return fail(c, "Invalid query: filters nested deeper than %d", FS_MAX_DEPTH);
    if (f->kind == FS_AND || f->kind == FS_OR) {
        if (!f->n_subs)
            return fail(c, "A composite filter must have at least one filter");
        if ((rc = put(c, "(")) < 0)
            return rc;
        for (size_t i = 0; i < f->n_subs; i++)
            if ((i && (rc = put(c, f->kind == FS_AND ? " AND " : " OR ")) < 0) ||
                (rc = put_filter(c, &f->subs[i], depth + 1)) < 0)
                return rc;
        return put(c, ")");
    }
    if ((rc = parse_path(c, &f->field, &p)) < 0)
        return rc;
    if (f->kind == FS_UNARY) {
        if (op < FS_IS_NAN)
            return fail(c, "Invalid unary filter operator %s", op_name(op));
    } else {
        if (op > FS_NOT_IN || op < FS_LT)
            return fail(c, "Invalid field filter operator %s", op_name(op));
        /* Equality with null or NaN is the unary filter (as the SDKs send it). */
        if ((op == FS_EQ || op == FS_NE) && (f->value.type == VT_NULL || is_nan(&f->value)) &&
            !path_is(&p, FS_NAME_FIELD))
            op = f->value.type == VT_NULL ? (op == FS_EQ ? FS_IS_NULL : FS_IS_NOT_NULL)
                                          : (op == FS_EQ ? FS_IS_NAN : FS_IS_NOT_NAN);
        if (op == FS_IN || op == FS_NOT_IN || op == FS_ARRAY_CONTAINS_ANY) {
            if (f->value.type != VT_ARRAY || !f->value.u.arr.n)
                return fail(c, "Invalid Query. A non-empty array is required for '%s' filters.",
                            op_name(op));
            if (op == FS_NOT_IN && f->value.u.arr.n > FS_MAX_NOT_IN)
                return fail(c, "'NOT_IN' supports up to %d comparison values.", FS_MAX_NOT_IN);
        }
    }
    if (op == FS_NE || op == FS_NOT_IN || op == FS_IS_NOT_NAN || op == FS_IS_NOT_NULL)
        c->n_not++;
    if (op == FS_NOT_IN)
        c->has_not_in = true;
    if (op == FS_IN || op == FS_ARRAY_CONTAINS_ANY)
        c->has_in_or_any = true;
    if (is_ineq(op) && (rc = add_ineq(c, &p)) < 0)
        return rc;
    if (op >= FS_IS_NAN)
        return put_unary(c, op, &p);
    return put_field_filter(c, f, &p);
}

static int check_filter(struct comp *c, const struct fs_filter *f)
{
    size_t n = dnf_terms(f);

    if (n > FS_MAX_DISJUNCTIONS)
        return fail(c,
                    "Invalid Query. The query has more than %d disjunctions in its disjunctive "
                    "normal form.",
                    FS_MAX_DISJUNCTIONS);
    if (per_term(f, FS_ARRAY_CONTAINS) > 1)
        return fail(c, "Invalid Query. Queries only support a single array-contains filter per "
                       "disjunction.");
    if (per_term(f, FS_ARRAY_CONTAINS_ANY) > 1)
        return fail(c, "Invalid Query. Queries only support a single array-contains-any filter "
                       "per disjunction.");
    if (contains_terms(f) & 1u << 3)
        return fail(c, "Invalid Query. 'ARRAY_CONTAINS_ANY' cannot be combined with "
                       "'ARRAY_CONTAINS' in the same disjunction.");
    if (c->n_not > 1)
        return fail(c, "Invalid Query. A query may use at most one 'NOT_EQUAL', 'NOT_IN', "
                       "'IS_NOT_NULL' or 'IS_NOT_NAN' filter.");
    if (c->has_not_in && c->has_in_or_any)
        return fail(c, "Invalid Query. 'NOT_IN' cannot be used in the same query with 'IN' or "
                       "'ARRAY_CONTAINS_ANY'.");
    return 0;
}

/* ---- ordering ---- */

struct okey {
    struct fpath p;
    bool desc;
};

/* Field paths segment by segment, each bytewise, a prefix first. */
static int cmp_paths(const void *x, const void *y)
{
    const struct fpath *a = x, *b = y;

    for (size_t i = 0; i < a->n && i < b->n; i++) {
        size_t n = a->segs[i].len < b->segs[i].len ? a->segs[i].len : b->segs[i].len;
        int r = memcmp(a->segs[i].s, b->segs[i].s, n);

        if (r || a->segs[i].len != b->segs[i].len)
            return r ? r : a->segs[i].len < b->segs[i].len ? -1 : 1;
    }
    return (a->n > b->n) - (a->n < b->n);
}

/* Explicit orderBy; the inequality fields it lacks, in field path order (by segments); __name__;
 * each added key with the direction of the last one given (ascending without any). */
static int build_order(struct comp *c, struct okey **out, size_t *n)
{
    const struct fs_query *q = c->q;
    size_t cap = q->n_order + c->n_ineq + 1, k = 0;
    struct okey *o = cr_arena_alloc(c->a, cap * sizeof *o);
    bool desc = false, have_name = false;
    int rc;

    if (!o)
        return nomem(c);
    for (size_t i = 0; i < q->n_order; i++) {
        if ((rc = parse_path(c, &q->order_by[i].field, &o[k].p)) < 0)
            return rc;
        for (size_t j = 0; j < k; j++)
            if (path_eq(&o[j].p, &o[k].p))
                return fail(c, "Order by clause cannot contain duplicate fields: %s", o[k].p.canon);
        o[k].desc = desc = q->order_by[i].desc;
        have_name |= path_is(&o[k].p, FS_NAME_FIELD);
        k++;
    }
    if (c->n_ineq > 1)
        qsort(c->ineq, c->n_ineq, sizeof *c->ineq, cmp_paths);
    for (size_t i = 0; i < c->n_ineq; i++) {
        bool dup = path_is(&c->ineq[i], FS_NAME_FIELD);

        for (size_t j = 0; j < k && !dup; j++)
            dup = path_eq(&o[j].p, &c->ineq[i]);
        if (dup)
            continue;
        o[k].p = c->ineq[i];
        o[k++].desc = desc;
    }
    if (!have_name) {
        o[k].p.segs = cr_arena_alloc(c->a, sizeof *o[k].p.segs);
        if (!o[k].p.segs)
            return nomem(c);
        o[k].p.segs[0] = (struct seg){FS_NAME_FIELD, strlen(FS_NAME_FIELD)};
        o[k].p.n = 1;
        o[k].p.canon = FS_NAME_FIELD;
        o[k].p.canon_len = strlen(FS_NAME_FIELD);
        o[k++].desc = desc;
    }
    *out = o;
    *n = k;
    return 0;
}

/* ---- cursors ---- */

/* Whether name (a reference) lies in the query's scope: a document of a collection named
 * collection_id directly under parent, or anywhere below it for all_descendants. */
static bool in_scope(const struct fs_query *q, const struct value *v)
{
    const char *s = v->u.s.ptr;
    size_t len = v->u.s.len, n_segs = 1, last = 0, prev = 0;

    if (len <= q->parent_len + 1 || memcmp(s, q->parent, q->parent_len) || s[q->parent_len] != '/')
        return false;
    s += q->parent_len + 1;
    len -= q->parent_len + 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/') {
            if (i == last || i + 1 == len)
                return false; /* an empty segment */
            prev = last;
            last = i + 1;
            n_segs++;
        }
    /* collection/document pairs; the collection is the segment at prev */
    if (n_segs % 2 || (!q->all_descendants && n_segs != 2))
        return false;
    return last - 1 - prev == q->collection_id_len &&
           !memcmp(s + prev, q->collection_id, q->collection_id_len);
}

/* Rows after (start) or before (end) the cursor position, over the ordering's prefix. */
static int put_cursor(struct comp *c, const struct fs_cursor *cur, bool start, const struct okey *o,
                      size_t n_order)
{
    /* start: keep > (or >= when before); end: keep < (or <= when !before) */
    bool inclusive = start ? cur->before : !cur->before;
    int rc;

    if (cur->n > n_order)
        return fail(c,
                    "Too many cursor values specified. The specified order by clause has %zu "
                    "fields.",
                    n_order);
    if (!cur->n)
        return fail(c, "Invalid cursor: it has no values");
    for (size_t i = 0; i < cur->n; i++)
        if (path_is(&o[i].p, FS_NAME_FIELD) &&
            (cur->values[i].type != VT_REF || !in_scope(c->q, &cur->values[i])))
            return fail(c, "Cursor position is outside the range of the original query");
    if ((rc = put(c, " AND (")) < 0)
        return rc;
    for (size_t i = 0; i < cur->n; i++) {
        bool gt = start != o[i].desc; /* the kept side is "greater" in value order */
        bool last = i + 1 == cur->n;

        if ((rc = put(c, "(FS_COMPARE(")) < 0 || (rc = put_path(c, &o[i].p)) < 0 ||
            (rc = put(c, ", ")) < 0 || (rc = put_param(c, &cur->values[i])) < 0 ||
            (rc = put(c, gt ? ") > 0" : ") < 0")) < 0)
            return rc;
        if (last && !inclusive)
            break;
        if ((rc = put(c, " OR (")) < 0 || (rc = put_path(c, &o[i].p)) < 0 ||
            (rc = put(c, " = ")) < 0 || (rc = put_param(c, &cur->values[i])) < 0 ||
            (rc = put(c, last ? ")" : " AND ")) < 0)
            return rc;
    }
    /* Each value but the last left "(A OR (E AND " open; the last "(A". */
    for (size_t i = 0; i < cur->n; i++)
        if ((rc = put(c, i + 1 == cur->n ? ")" : "))")) < 0)
            return rc;
    return put(c, ")");
}

/* ---- SELECT ---- */

/* A projection's tree of paths: a node is either taken whole or built from its children. */
struct pnode {
    struct seg name;
    bool whole;
    struct pnode *kids;
    size_t n_kids, cap;
    const struct fpath *path; /* whole: the path to read */
};

static int pnode_add(struct comp *c, struct pnode *root, const struct fpath *p)
{
    struct pnode *n = root;

    for (size_t i = 0; i < p->n && !n->whole; i++) {
        size_t k;

        for (k = 0; k < n->n_kids; k++)
            if (n->kids[k].name.len == p->segs[i].len &&
                !memcmp(n->kids[k].name.s, p->segs[i].s, p->segs[i].len))
                break;
        if (k == n->n_kids) {
            if (n->n_kids == n->cap) {
                size_t cap = n->cap ? n->cap * 2 : 4;
                struct pnode *nk = cr_arena_calloc(c->a, cap * sizeof *nk);

                if (!nk)
                    return nomem(c);
                if (n->n_kids)
                    memcpy(nk, n->kids, n->n_kids * sizeof *nk);
                n->kids = nk;
                n->cap = cap;
            }
            memset(&n->kids[k], 0, sizeof n->kids[k]);
            n->kids[k].name = p->segs[i];
            n->n_kids++;
        }
        n = &n->kids[k];
    }
    if (!n->whole) {
        n->whole = true;
        n->path = p;
        n->n_kids = 0;
    }
    return 0;
}

static int put_defined_any(struct comp *c, const struct pnode *n, bool *first)
{
    int rc;

    if (n->whole) {
        if ((rc = put(c, *first ? "IS_DEFINED(" : " OR IS_DEFINED(")) < 0 ||
            (rc = put_path(c, n->path)) < 0)
            return rc;
        *first = false;
        return put(c, ")");
    }
    for (size_t i = 0; i < n->n_kids; i++)
        if ((rc = put_defined_any(c, &n->kids[i], first)) < 0)
            return rc;
    return 0;
}

/* The object of n's children; a map none of whose selected fields exist is left out. */
static int put_pnode(struct comp *c, const struct pnode *n, bool top)
{
    bool first = true;
    int rc;

    if (n->whole)
        return put_path(c, n->path);
    if (!top && ((rc = put(c, "((")) < 0 || (rc = put_defined_any(c, n, &first)) < 0 ||
                 (rc = put(c, ") ? ")) < 0))
        return rc;
    if ((rc = put(c, "{")) < 0)
        return rc;
    for (size_t i = 0; i < n->n_kids; i++)
        if ((i && (rc = put(c, ", ")) < 0) ||
            (rc = put_string(c, n->kids[i].name.s, n->kids[i].name.len)) < 0 ||
            (rc = put(c, ": ")) < 0 || (rc = put_pnode(c, &n->kids[i], false)) < 0)
            return rc;
    if ((rc = put(c, "}")) < 0)
        return rc;
    return top ? 0 : put(c, " : undefined)");
}

static int put_select(struct comp *c)
{
    const struct fs_query *q = c->q;
    struct pnode root;
    struct fpath *name = cr_arena_alloc(c->a, sizeof *name);
    int rc;

    memset(&root, 0, sizeof root);
    if (!name)
        return nomem(c);
    if (q->n_aggs) {
        if ((rc = put(c, "SELECT VALUE {")) < 0)
            return rc;
        for (size_t i = 0; i < q->n_aggs; i++) {
            char key[32];
            struct fpath p;

            if (q->aggs[i].kind == FS_COUNT)
                continue;
            snprintf(key, sizeof key, "\"a%zu\": ", i);
            if ((rc = parse_path(c, &q->aggs[i].field, &p)) < 0)
                return rc;
            if ((c->b.len && c->b.data[c->b.len - 1] != '{' && (rc = put(c, ", ")) < 0) ||
                (rc = put(c, key)) < 0 || (rc = put_path(c, &p)) < 0)
                return rc;
        }
        return put(c, "}");
    }
    if (!q->has_select)
        return put(c, "SELECT *");
    {
        struct fs_path np = {FS_NAME_FIELD, strlen(FS_NAME_FIELD)};

        if ((rc = parse_path(c, &np, name)) < 0 || (rc = pnode_add(c, &root, name)) < 0)
            return rc;
    }
    for (size_t i = 0; i < q->n_select; i++) {
        struct fpath *p = cr_arena_alloc(c->a, sizeof *p);

        if (!p)
            return nomem(c);
        if ((rc = parse_path(c, &q->select[i], p)) < 0 || (rc = pnode_add(c, &root, p)) < 0)
            return rc;
    }
    if ((rc = put(c, "SELECT VALUE ")) < 0)
        return rc;
    return put_pnode(c, &root, true);
}

/* ---- aggregations ---- */

static int check_aggs(struct comp *c, const char ***alias)
{
    const struct fs_query *q = c->q;
    const char **al;

    if (q->n_aggs > FS_MAX_AGGS)
        return fail(c, "Aggregations are limited to a maximum of %d", FS_MAX_AGGS);
    if (!(al = cr_arena_alloc(c->a, (q->n_aggs ? q->n_aggs : 1) * sizeof *al)))
        return nomem(c);
    for (size_t i = 0; i < q->n_aggs; i++) {
        const struct fs_agg *g = &q->aggs[i];
        char buf[32];

        if (g->kind == FS_COUNT && g->up_to < 0)
            return fail(c, "up_to must be greater than zero, was %lld", (long long)g->up_to);
        if (g->alias) {
            if (!g->alias_len)
                return fail(c, "Aggregation alias must not be empty");
            al[i] = cr_arena_strndup(c->a, g->alias, g->alias_len);
        } else {
            int k = snprintf(buf, sizeof buf, "field_%zu", i + 1);

            al[i] = cr_arena_strndup(c->a, buf, (size_t)k);
        }
        if (!al[i])
            return nomem(c);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(al[i], al[j]))
                return fail(c, "Aggregation aliases must be unique: '%s'", al[i]);
    }
    *alias = al;
    return 0;
}

/* ---- the query ---- */

static int put_scope(struct comp *c)
{
    const struct fs_query *q = c->q;
    size_t n = q->parent_len + 1 + (q->all_descendants ? 0 : q->collection_id_len + 1);
    char *lo = cr_arena_alloc(c->a, n), *hi = cr_arena_alloc(c->a, n);
    struct value vlo, vhi;
    int rc;

    /* Names starting with prefix "parent/" (or "parent/collection/"): between the prefix and
     * the prefix with its last '/' made '0', the byte after it. */
    if (!lo || !hi)
        return nomem(c);
    memcpy(lo, q->parent, q->parent_len);
    lo[q->parent_len] = '/';
    if (!q->all_descendants) {
        memcpy(lo + q->parent_len + 1, q->collection_id, q->collection_id_len);
        lo[n - 1] = '/';
    }
    memcpy(hi, lo, n);
    hi[n - 1] = '0';
    vlo.type = vhi.type = VT_REF;
    vlo.u.s.ptr = lo;
    vhi.u.s.ptr = hi;
    vlo.u.s.len = vhi.u.s.len = n;
    if ((rc = put(c, "(c[\"" FS_NAME_FIELD "\"] > ")) < 0 || (rc = put_value(c, vlo)) < 0 ||
        (rc = put(c, ") AND (c[\"" FS_NAME_FIELD "\"] < ")) < 0 || (rc = put_value(c, vhi)) < 0)
        return rc;
    return put(c, ")");
}

static int check_parent(struct comp *c)
{
    const struct fs_query *q = c->q;
    bool ok = false;
    static const char docs[] = "/documents";

    for (size_t i = 0; i + sizeof docs - 1 <= q->parent_len; i++)
        if (!memcmp(q->parent + i, docs, sizeof docs - 1) &&
            (i + sizeof docs - 1 == q->parent_len || q->parent[i + sizeof docs - 1] == '/')) {
            ok = true;
            break;
        }
    if (!ok || q->parent_len < 9 || memcmp(q->parent, "projects/", 9))
        return fail(c, "Invalid parent: '%.*s'", q->parent_len > 100 ? 100 : (int)q->parent_len,
                    q->parent);
    if (!q->collection_id_len || memchr(q->collection_id, '/', q->collection_id_len))
        return fail(c, "Invalid collection id: '%.*s'",
                    q->collection_id_len > 100 ? 100 : (int)q->collection_id_len, q->collection_id);
    return 0;
}

static int compile(struct comp *c, struct fs_compiled *out)
{
    const struct fs_query *q = c->q;
    struct fs_cursor flip[2];
    const struct fs_cursor *start = q->start_at, *end = q->end_at;
    struct okey *o = NULL;
    struct fs_key *keys;
    size_t n_o = 0;
    bool agg_unordered;
    int rc;

    if ((rc = check_parent(c)) < 0)
        return rc;
    if (q->limit < -1)
        return fail(c, "limit is negative");
    if (q->offset < 0)
        return fail(c, "offset is negative");
    if (q->limit_to_last && (q->limit < 0 || !q->n_order))
        return fail(c, "limitToLast queries require specifying at least one orderBy() clause "
                       "and a limit");
    if ((rc = check_aggs(c, &out->alias)) < 0 || (rc = put_select(c)) < 0 ||
        (rc = put(c, " FROM c WHERE ")) < 0 || (rc = put_scope(c)) < 0)
        return rc;
    if (q->where) {
        if ((rc = put(c, " AND ")) < 0 || (rc = put_filter(c, q->where, 0)) < 0 ||
            (rc = check_filter(c, q->where)) < 0)
            return rc;
    }
    if ((rc = build_order(c, &o, &n_o)) < 0)
        return rc;
    if (q->limit_to_last) {
        /* Read backwards: reversed keys, the cursors swapped with their sides. */
        for (size_t i = 0; i < n_o; i++)
            o[i].desc = !o[i].desc;
        if (q->end_at) {
            flip[0] = *q->end_at;
            flip[0].before = !flip[0].before;
        }
        if (q->start_at) {
            flip[1] = *q->start_at;
            flip[1].before = !flip[1].before;
        }
        start = q->end_at ? &flip[0] : NULL;
        end = q->start_at ? &flip[1] : NULL;
    }
    /* Documents without a value for an ordered field are not in the result. */
    for (size_t i = 0; i < n_o; i++)
        if (!path_is(&o[i].p, FS_NAME_FIELD) &&
            ((rc = put(c, " AND IS_DEFINED(")) < 0 || (rc = put_path(c, &o[i].p)) < 0 ||
             (rc = put(c, ")")) < 0))
            return rc;
    if ((start && (rc = put_cursor(c, start, true, o, n_o)) < 0) ||
        (end && (rc = put_cursor(c, end, false, o, n_o)) < 0))
        return rc;
    /* An aggregation over the whole result needs no order. */
    agg_unordered = q->n_aggs && !start && !end && !q->offset && q->limit < 0;
    if (!agg_unordered) {
        if ((rc = put(c, " ORDER BY ")) < 0)
            return rc;
        for (size_t i = 0; i < n_o; i++)
            if ((i && (rc = put(c, ", ")) < 0) || (rc = put_path(c, &o[i].p)) < 0 ||
                (rc = put(c, o[i].desc ? " DESC" : " ASC")) < 0)
                return rc;
    }
    if (q->offset || q->limit >= 0) {
        char buf[64];

        snprintf(buf, sizeof buf, " OFFSET %lld LIMIT %lld", (long long)q->offset,
                 q->limit >= 0 ? (long long)q->limit : 9007199254740992LL);
        if ((rc = put(c, buf)) < 0)
            return rc;
    }
    if (!(keys = cr_arena_alloc(c->a, n_o * sizeof *keys)))
        return nomem(c);
    for (size_t i = 0; i < n_o; i++) {
        keys[i].path = o[i].p.canon;
        keys[i].desc = o[i].desc;
    }
    out->order = keys;
    out->n_order = n_o;
    out->reverse = q->limit_to_last;
    out->aggs = q->aggs;
    out->n_aggs = q->n_aggs;
    return 0;
}

int fs_compile(struct cr_arena *a, const struct fs_query *q, struct fs_compiled *out,
               struct sql_err *err)
{
    struct comp c;
    char *text;
    int rc;

    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    c.a = a;
    c.err = err;
    c.q = q;
    cr_buf_init(&c.b);
    if ((rc = compile(&c, out)) < 0)
        goto done;
    if (!(text = cr_arena_strndup(a, (const char *)c.b.data, c.b.len))) {
        rc = nomem(&c);
        goto done;
    }
    out->text = text;
    out->text_len = c.b.len;
    out->params = c.params;
    out->n_params = c.n_params;
    rc = sql_parse(a, text, c.b.len, &out->q, err);
done:
    cr_buf_free(&c.b);
    return rc;
}

/* ---- aggregation results ---- */

void fs_agg_init(struct fs_agg_state *s, const struct fs_compiled *c)
{
    memset(s, 0, sizeof *s);
    s->c = c;
}

static double num(const struct value *v)
{
    switch (v->type) {
    case VT_INT:
        return (double)v->u.i;
    case VT_DOUBLE:
        return v->u.d;
    default:
        return decimal_to_double(&v->u.dec);
    }
}

void fs_agg_add(struct fs_agg_state *s, const struct value *row)
{
    for (size_t i = 0; i < s->c->n_aggs && i < FS_MAX_AGGS; i++) {
        struct fs_agg_acc *acc = &s->acc[i];
        char key[32];
        int k;
        const struct value *v;

        acc->count++;
        if (s->c->aggs[i].kind == FS_COUNT)
            continue;
        k = snprintf(key, sizeof key, "a%zu", i);
        v = value_map_get(row, key, (size_t)k);
        if (!v || (v->type != VT_INT && v->type != VT_DOUBLE && v->type != VT_DECIMAL))
            continue;
        acc->n_num++;
        if (v->type == VT_INT && !acc->is_double) {
            int64_t r;

            if (!__builtin_add_overflow(acc->isum, v->u.i, &r)) {
                acc->isum = r;
                continue;
            }
            acc->is_double = true;
            acc->dsum = (double)acc->isum;
        } else if (!acc->is_double) {
            acc->is_double = true;
            acc->dsum = (double)acc->isum;
        }
        acc->dsum += num(v);
    }
}

int fs_agg_result(const struct fs_agg_state *s, struct cr_arena *a, struct value *out)
{
    size_t n = s->c->n_aggs;
    struct value_field *f = cr_arena_alloc(a, (n ? n : 1) * sizeof *f);
    struct value *vals = cr_arena_alloc(a, (n ? n : 1) * sizeof *vals);

    if (!f || !vals)
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct fs_agg *g = &s->c->aggs[i];
        const struct fs_agg_acc *acc = &s->acc[i];
        double sum = acc->is_double ? acc->dsum : (double)acc->isum;

        switch (g->kind) {
        case FS_COUNT:
            vals[i] = value_int((int64_t)(g->up_to > 0 && acc->count > (uint64_t)g->up_to
                                              ? (uint64_t)g->up_to
                                              : acc->count));
            break;
        case FS_SUM:
            vals[i] = acc->is_double ? value_double(acc->dsum) : value_int(acc->isum);
            break;
        default:
            vals[i] = acc->n_num ? value_double(sum / (double)acc->n_num) : value_null();
            break;
        }
        f[i].name = s->c->alias[i];
        f[i].name_len = strlen(s->c->alias[i]);
        f[i].value = &vals[i];
    }
    out->type = VT_MAP;
    out->u.map.fields = f;
    out->u.map.n = n;
    return 0;
}
