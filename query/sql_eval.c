/*
 * The expression evaluator: one AST node over the bound aliases, as Cosmos DB defines it.
 * Undefined is a NULL value pointer and never leaves this module inside a value: constructors
 * drop undefined members. Comparisons across types, arithmetic on non-numbers and functions
 * given arguments of the wrong type give undefined; AND, OR and NOT are three-valued. Every
 * node costs one work unit, so a run-away expression stops at the run's budget.
 *
 * Nothing here reads storage or fails on data: the only errors are CR_EBUDGET and CR_ENOMEM.
 */
#include "query/sql_int.h"
#include "common/assert.h"
#include "common/error.h"

#include <math.h>
#include <string.h>

static const struct value V_TRUE = {.type = VT_BOOL, .u = {.b = true}};
static const struct value V_FALSE = {.type = VT_BOOL, .u = {.b = false}};

/* Three-valued truth: true, false, or undefined (a non-boolean counts as undefined). */
enum tri { T_FALSE, T_TRUE, T_UNDEF };

const char *sql_func_name(int f)
{
    static const char *const names[] = {
#define SQL_FUNC_NAME(id, name, lo, hi) name,
        SQL_FUNCS(SQL_FUNC_NAME)
#undef SQL_FUNC_NAME
    };
    return f >= 0 && f < SQL_N_FUNCS ? names[f] : "?";
}

const char *sql_agg_name(int f)
{
    static const char *const names[] = {
#define SQL_AGG_NAME(id, name) name,
        SQL_AGGS(SQL_AGG_NAME)
#undef SQL_AGG_NAME
    };
    return f >= 0 && f <= SA_AVG ? names[f] : "?";
}

enum sql_type sql_type_of(const struct value *v)
{
    if (!v)
        return SQT_UNDEFINED;
    switch (v->type) {
    case VT_NULL:
        return SQT_NULL;
    case VT_BOOL:
        return SQT_BOOL;
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return SQT_NUMBER;
    case VT_STRING:
        return SQT_STRING;
    case VT_ARRAY:
    case VT_SS:
    case VT_NS:
    case VT_BS:
        return SQT_ARRAY;
    case VT_MAP:
        return SQT_OBJECT;
    default:
        return SQT_OTHER;
    }
}

int sql_order_compare(const struct value *a, const struct value *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return value_compare(a, b);
}

struct value sql_number(double d)
{
    if (d == trunc(d) && fabs(d) <= 9007199254740992.0 && !(d == 0 && signbit(d)))
        return value_int((int64_t)d);
    return value_double(d);
}

double sql_to_double(const struct value *v)
{
    switch (v->type) {
    case VT_INT:
        return (double)v->u.i;
    case VT_DOUBLE:
        return v->u.d;
    case VT_DECIMAL:
        return decimal_to_double(&v->u.dec);
    default:
        return NAN;
    }
}

static int tick(struct sql_env *env)
{
    if (++*env->work > env->budget)
        return CR_EBUDGET;
    return 0;
}

/* Building a string costs one unit per 16 bytes, so the budget also bounds the memory a
 * run-away concatenation can take. */
static int charge(struct sql_env *env, size_t bytes)
{
    *env->work += bytes / 16;
    return *env->work > env->budget ? CR_EBUDGET : 0;
}

static int make(struct sql_env *env, struct value v, const struct value **out)
{
    struct value *p = cr_arena_alloc(env->a, sizeof *p);

    if (!p)
        return CR_ENOMEM;
    *p = v;
    *out = p;
    return 0;
}

static int make_number(struct sql_env *env, double d, const struct value **out)
{
    if (!isfinite(d)) {
        *out = NULL;
        return 0;
    }
    return make(env, sql_number(d), out);
}

static const struct value *from_bool(bool b)
{
    return b ? &V_TRUE : &V_FALSE;
}

static const struct value *from_tri(enum tri t)
{
    return t == T_UNDEF ? NULL : from_bool(t == T_TRUE);
}

static enum tri to_tri(const struct value *v)
{
    if (!v || v->type != VT_BOOL)
        return T_UNDEF;
    return v->u.b ? T_TRUE : T_FALSE;
}

static enum tri tri_not(enum tri t)
{
    return t == T_UNDEF ? T_UNDEF : t == T_TRUE ? T_FALSE : T_TRUE;
}

/* Same Cosmos type (the value model's extra types: same rank). */
static bool same_type(const struct value *a, const struct value *b)
{
    enum sql_type ta = sql_type_of(a), tb = sql_type_of(b);

    if (ta != tb || ta == SQT_UNDEFINED)
        return false;
    return ta != SQT_OTHER || value_rank(a->type) == value_rank(b->type);
}

static enum tri compare(const struct value *a, const struct value *b, enum sql_op op)
{
    int c;

    if (!same_type(a, b))
        return T_UNDEF;
    if (op == SO_EQ || op == SO_NE)
        return (value_equal(a, b) == (op == SO_EQ)) ? T_TRUE : T_FALSE;
    if (sql_type_of(a) == SQT_ARRAY || sql_type_of(a) == SQT_OBJECT)
        return T_UNDEF;
    c = value_compare(a, b);
    switch (op) {
    case SO_LT:
        return c < 0 ? T_TRUE : T_FALSE;
    case SO_LE:
        return c <= 0 ? T_TRUE : T_FALSE;
    case SO_GT:
        return c > 0 ? T_TRUE : T_FALSE;
    default:
        return c >= 0 ? T_TRUE : T_FALSE;
    }
}

/* ---- UTF-8 and case ---- */

/* Decodes one code point at s[*i] and advances; an invalid byte is taken as itself (0x80..0xFF
 * are not valid starts, so such bytes only ever equal themselves). */
static uint32_t next_cp(const char *s, size_t len, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i, n;
    uint32_t cp;

    if (p[0] < 0x80) {
        *i += 1;
        return p[0];
    }
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        *i += 1;
        return 0x110000u + p[0];
    }
    if (left < n) {
        *i += 1;
        return 0x110000u + p[0];
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *i += 1;
            return 0x110000u + p[0];
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    *i += n;
    return cp;
}

/* Simple case mapping for ASCII, Latin-1, basic Greek and Cyrillic: every pair has the same
 * UTF-8 length, so a mapped string keeps its byte length. */
static uint32_t to_lower(uint32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
        (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    return c;
}

static uint32_t to_upper(uint32_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7) ||
        (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) || (c >= 0x430 && c <= 0x44F))
        return c - 0x20;
    return c;
}

/* Writes a mapped copy of s into the arena (same length, see above). */
static int map_case(struct sql_env *env, const struct value *s, bool upper, const char **out)
{
    const char *p = s->u.s.ptr;
    size_t len = s->u.s.len, i = 0;
    char *o;
    int rc;

    if ((rc = charge(env, len)) < 0)
        return rc;
    if (!(o = cr_arena_alloc(env->a, len + 1)))
        return CR_ENOMEM;
    while (i < len) {
        size_t start = i;
        uint32_t cp = next_cp(p, len, &i), m = upper ? to_upper(cp) : to_lower(cp);

        if (m == cp) {
            memcpy(o + start, p + start, i - start);
        } else if (m < 0x80) {
            o[start] = (char)m;
        } else {
            o[start] = (char)(0xC0 | (m >> 6));
            o[start + 1] = (char)(0x80 | (m & 0x3F));
        }
    }
    o[len] = '\0';
    *out = o;
    return 0;
}

static size_t cp_count(const char *s, size_t len)
{
    size_t i = 0, n = 0;

    while (i < len) {
        next_cp(s, len, &i);
        n++;
    }
    return n;
}

/* ---- LIKE ---- */

enum pat_kind { P_LIT, P_ONE, P_ANY, P_SET };

struct pat {
    enum pat_kind kind;
    bool neg;
    uint32_t cp;
    const char *set; /* P_SET: the bytes between '[' (after '^') and ']' */
    size_t set_len;
};

static bool in_set(const struct pat *p, uint32_t c)
{
    size_t i = 0;
    bool hit = false;

    while (i < p->set_len) {
        uint32_t lo = next_cp(p->set, p->set_len, &i), hi = lo;

        if (i + 1 < p->set_len && p->set[i] == '-') {
            i++;
            hi = next_cp(p->set, p->set_len, &i);
        }
        if (c >= lo && c <= hi)
            hit = true;
    }
    return hit != p->neg;
}

static bool pat_one(const struct pat *p, uint32_t c)
{
    return p->kind == P_ONE || (p->kind == P_LIT && p->cp == c) ||
           (p->kind == P_SET && in_set(p, c));
}

/* Compiles the pattern: % any run, _ one character, [abc] [a-z] [^a] one of a set; the escape
 * character makes the next one literal. An unclosed '[' is a literal. */
static int compile_like(struct sql_env *env, const struct value *pat, uint32_t esc, bool has_esc,
                        struct pat **out, size_t *n)
{
    const char *s = pat->u.s.ptr;
    size_t len = pat->u.s.len, i = 0, k = 0;
    struct pat *v = cr_arena_alloc(env->a, (len + 1) * sizeof *v);

    if (!v)
        return CR_ENOMEM;
    while (i < len) {
        uint32_t c = next_cp(s, len, &i);
        struct pat *p = &v[k++];

        memset(p, 0, sizeof *p);
        if (has_esc && c == esc && i < len) {
            p->kind = P_LIT;
            p->cp = next_cp(s, len, &i);
        } else if (c == '%') {
            p->kind = P_ANY;
        } else if (c == '_') {
            p->kind = P_ONE;
        } else if (c == '[' && memchr(s + i, ']', len - i)) {
            const char *close = memchr(s + i, ']', len - i);

            p->kind = P_SET;
            if (s[i] == '^' && s + i + 1 <= close) {
                p->neg = true;
                i++;
            }
            p->set = s + i;
            p->set_len = (size_t)(close - (s + i));
            i = (size_t)(close - s) + 1;
        } else {
            p->kind = P_LIT;
            p->cp = c;
        }
    }
    *out = v;
    *n = k;
    return 0;
}

/* Greedy match with backtracking to the last %: O(len * pattern), one work unit per step. */
static int like_match(struct sql_env *env, const struct value *str, const struct pat *p, size_t np,
                      bool *match)
{
    const char *s = str->u.s.ptr;
    size_t len = str->u.s.len, si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;
    int rc;

    while (si < len) {
        size_t next = si;
        uint32_t c = next_cp(s, len, &next);

        if ((rc = tick(env)) < 0)
            return rc;
        if (pi < np && p[pi].kind != P_ANY && pat_one(&p[pi], c)) {
            si = next;
            pi++;
        } else if (pi < np && p[pi].kind == P_ANY) {
            star_p = pi++;
            star_s = si;
        } else if (star_p != SIZE_MAX) {
            pi = star_p + 1;
            next_cp(s, len, &star_s);
            si = star_s;
        } else {
            *match = false;
            return 0;
        }
    }
    while (pi < np && p[pi].kind == P_ANY)
        pi++;
    *match = pi == np;
    return 0;
}

static int eval_like(const struct sql_expr *e, struct sql_env *env, enum tri *out)
{
    const struct value *s, *pat, *esc = NULL;
    uint32_t esc_cp = 0;
    struct pat *p;
    size_t np;
    bool m;
    int rc;

    *out = T_UNDEF;
    if ((rc = sql_eval(e->a, env, &s)) < 0 || (rc = sql_eval(e->b, env, &pat)) < 0 ||
        (e->c && (rc = sql_eval(e->c, env, &esc)) < 0))
        return rc;
    if (sql_type_of(s) != SQT_STRING || sql_type_of(pat) != SQT_STRING)
        return 0;
    if (e->c) {
        size_t i = 0;

        if (sql_type_of(esc) != SQT_STRING || esc->u.s.len == 0)
            return 0;
        esc_cp = next_cp(esc->u.s.ptr, esc->u.s.len, &i);
        if (i != esc->u.s.len)
            return 0;
    }
    if ((rc = compile_like(env, pat, esc_cp, e->c != NULL, &p, &np)) < 0 ||
        (rc = like_match(env, s, p, np, &m)) < 0)
        return rc;
    *out = m != e->negate ? T_TRUE : T_FALSE;
    return 0;
}

/* ---- functions ---- */

static bool is_array(const struct value *v)
{
    return sql_type_of(v) == SQT_ARRAY;
}

static bool is_string(const struct value *v)
{
    return sql_type_of(v) == SQT_STRING;
}

static bool is_number(const struct value *v)
{
    return sql_type_of(v) == SQT_NUMBER;
}

/* Cosmos equality as a plain yes/no (undefined counts as no). */
static bool equals(const struct value *a, const struct value *b)
{
    return compare(a, b, SO_EQ) == T_TRUE;
}

static bool partial_match(const struct value *elem, const struct value *v)
{
    if (v->type != VT_MAP || elem->type != VT_MAP)
        return equals(elem, v);
    for (size_t i = 0; i < v->u.map.n; i++) {
        const struct value_field *f = &v->u.map.fields[i];

        if (!equals(value_map_get(elem, f->name, f->name_len), f->value))
            return false;
    }
    return true;
}

static int fn_array_contains(const struct value *const *a, size_t n, const struct value **out)
{
    bool partial = false;

    *out = NULL;
    if (!is_array(a[0]))
        return 0;
    if (n == 3) {
        if (!a[2] || a[2]->type != VT_BOOL)
            return 0;
        partial = a[2]->u.b;
    }
    *out = &V_FALSE;
    if (!a[1])
        return 0;
    for (size_t i = 0; i < a[0]->u.arr.n; i++)
        if (partial ? partial_match(&a[0]->u.arr.items[i], a[1])
                    : equals(&a[0]->u.arr.items[i], a[1])) {
            *out = &V_TRUE;
            break;
        }
    return 0;
}

static bool contains_bytes(const char *s, size_t sl, const char *t, size_t tl)
{
    for (size_t i = 0; i + tl <= sl; i++)
        if (!memcmp(s + i, t, tl))
            return true;
    return false;
}

/* STARTSWITH, ENDSWITH, CONTAINS: strings, and an optional ignore-case flag. */
static int fn_match(struct sql_env *env, int f, const struct value *const *a, size_t n,
                    const struct value **out)
{
    const char *s, *t;
    size_t sl, tl;
    bool ic = false, r;
    int rc;

    *out = NULL;
    if (!is_string(a[0]) || !is_string(a[1]))
        return 0;
    if (n == 3) {
        if (!a[2] || a[2]->type != VT_BOOL)
            return 0;
        ic = a[2]->u.b;
    }
    s = a[0]->u.s.ptr;
    sl = a[0]->u.s.len;
    t = a[1]->u.s.ptr;
    tl = a[1]->u.s.len;
    if (ic &&
        ((rc = map_case(env, a[0], false, &s)) < 0 || (rc = map_case(env, a[1], false, &t)) < 0))
        return rc;
    /* A byte search costs up to sl * tl: charged in 64-byte units. */
    *env->work += (sl / 64 + 1) * (tl / 64 + 1);
    if (*env->work > env->budget)
        return CR_EBUDGET;
    if (tl > sl)
        r = false;
    else if (f == SF_STARTSWITH)
        r = !memcmp(s, t, tl);
    else if (f == SF_ENDSWITH)
        r = !memcmp(s + sl - tl, t, tl);
    else
        r = contains_bytes(s, sl, t, tl);
    *out = from_bool(r);
    return 0;
}

/* SUBSTRING(s, start, length), zero-based, in code points; start below 0 counts from 0, length
 * below 0 gives "". Fractions are truncated. */
static int fn_substring(struct sql_env *env, const struct value *const *a, const struct value **out)
{
    const char *s;
    size_t len, i = 0, from, to;
    double start, count;

    *out = NULL;
    if (!is_string(a[0]) || !is_number(a[1]) || !is_number(a[2]))
        return 0;
    s = a[0]->u.s.ptr;
    len = a[0]->u.s.len;
    start = trunc(sql_to_double(a[1]));
    count = trunc(sql_to_double(a[2]));
    if (isnan(start) || isnan(count))
        return 0;
    if (start < 0)
        start = 0;
    for (double k = 0; k < start && i < len; k++)
        next_cp(s, len, &i);
    from = i;
    for (double k = 0; k < count && i < len; k++)
        next_cp(s, len, &i);
    to = i;
    return make(env, value_string(s + from, to - from), out);
}

static int fn_concat(struct sql_env *env, const struct value *const *a, size_t n,
                     const struct value **out)
{
    size_t total = 0, k = 0;
    char *o;
    int rc;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!is_string(a[i]))
            return 0;
        total += a[i]->u.s.len;
    }
    if ((rc = charge(env, total)) < 0)
        return rc;
    if (!(o = cr_arena_alloc(env->a, total + 1)))
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(o + k, a[i]->u.s.ptr, a[i]->u.s.len);
        k += a[i]->u.s.len;
    }
    return make(env, value_string(o, total), out);
}

static int eval_call(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    const struct value *a[64];
    int rc, c;
    enum sql_type t;

    CR_ASSERT(e->n_args <= 64);
    for (size_t i = 0; i < e->n_args; i++)
        if ((rc = sql_eval(e->args[i], env, &a[i])) < 0)
            return rc;
    t = sql_type_of(a[0]);
    *out = NULL;
    switch (e->op) {
    case SF_IS_DEFINED:
        *out = from_bool(t != SQT_UNDEFINED);
        return 0;
    case SF_IS_NULL:
        *out = from_bool(t == SQT_NULL);
        return 0;
    case SF_IS_NUMBER:
        *out = from_bool(t == SQT_NUMBER);
        return 0;
    case SF_IS_STRING:
        *out = from_bool(t == SQT_STRING);
        return 0;
    case SF_IS_BOOL:
        *out = from_bool(t == SQT_BOOL);
        return 0;
    case SF_IS_ARRAY:
        *out = from_bool(t == SQT_ARRAY);
        return 0;
    case SF_IS_OBJECT:
        *out = from_bool(t == SQT_OBJECT);
        return 0;
    case SF_ARRAY_CONTAINS:
        return fn_array_contains(a, e->n_args, out);
    case SF_ARRAY_LENGTH:
        return t == SQT_ARRAY ? make_number(env, (double)a[0]->u.arr.n, out) : 0;
    case SF_STARTSWITH:
    case SF_ENDSWITH:
    case SF_CONTAINS:
        return fn_match(env, e->op, a, e->n_args, out);
    case SF_LOWER:
    case SF_UPPER: {
        const char *s;

        if (t != SQT_STRING)
            return 0;
        if ((rc = map_case(env, a[0], e->op == SF_UPPER, &s)) < 0)
            return rc;
        return make(env, value_string(s, a[0]->u.s.len), out);
    }
    case SF_LENGTH:
        return t == SQT_STRING
                   ? make_number(env, (double)cp_count(a[0]->u.s.ptr, a[0]->u.s.len), out)
                   : 0;
    case SF_SUBSTRING:
        return fn_substring(env, a, out);
    case SF_CONCAT:
        return fn_concat(env, a, e->n_args, out);
    case SF_ABS:
        return t == SQT_NUMBER ? make_number(env, fabs(sql_to_double(a[0])), out) : 0;
    case SF_FLOOR:
        return t == SQT_NUMBER ? make_number(env, floor(sql_to_double(a[0])), out) : 0;
    case SF_CEILING:
        return t == SQT_NUMBER ? make_number(env, ceil(sql_to_double(a[0])), out) : 0;
    case SF_ROUND:
        /* round() rounds halves away from zero, as Cosmos's ROUND does. */
        return t == SQT_NUMBER ? make_number(env, round(sql_to_double(a[0])), out) : 0;
    case SF_FS_COMPARE:
        /* Firestore's total order across types (query/fs_query.c: cursors, ranges on arrays and
         * maps), which is the value model's. */
        if (!a[0] || !a[1])
            return 0;
        c = value_compare(a[0], a[1]);
        return make_number(env, (double)((c > 0) - (c < 0)), out);
    }
    return 0;
}

/* ---- operators ---- */

static int eval_arith(enum sql_op op, const struct value *l, const struct value *r,
                      struct sql_env *env, const struct value **out)
{
    double x, y, z;

    *out = NULL;
    if (!is_number(l) || !is_number(r))
        return 0;
    x = sql_to_double(l);
    y = sql_to_double(r);
    switch (op) {
    case SO_ADD:
        z = x + y;
        break;
    case SO_SUB:
        z = x - y;
        break;
    case SO_MUL:
        z = x * y;
        break;
    case SO_DIV:
        z = x / y;
        break;
    default:
        z = fmod(x, y);
        break;
    }
    return make_number(env, z, out);
}

static int eval_binary(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    const struct value *l, *r;
    enum tri tl, tr;
    int rc;

    if ((rc = sql_eval(e->a, env, &l)) < 0)
        return rc;
    switch (e->op) {
    case SO_AND:
    case SO_OR:
        tl = to_tri(l);
        /* false AND x is false, true OR x is true, whatever x is. */
        if (tl == (e->op == SO_AND ? T_FALSE : T_TRUE)) {
            *out = l;
            return 0;
        }
        if ((rc = sql_eval(e->b, env, &r)) < 0)
            return rc;
        tr = to_tri(r);
        if (tr == (e->op == SO_AND ? T_FALSE : T_TRUE))
            *out = r;
        else
            *out = tl == T_UNDEF || tr == T_UNDEF ? NULL : r;
        return 0;
    case SO_COALESCE:
        if (l) {
            *out = l;
            return 0;
        }
        return sql_eval(e->b, env, out);
    default:
        break;
    }
    if ((rc = sql_eval(e->b, env, &r)) < 0)
        return rc;
    switch (e->op) {
    case SO_EQ:
    case SO_NE:
    case SO_LT:
    case SO_LE:
    case SO_GT:
    case SO_GE:
        *out = from_tri(compare(l, r, e->op));
        return 0;
    case SO_CONCAT: {
        const struct value *pair[2] = {l, r};

        return fn_concat(env, pair, 2, out);
    }
    default:
        return eval_arith(e->op, l, r, env, out);
    }
}

static int eval_in(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    const struct value *x, *v;
    bool hit = false;
    int rc;

    if ((rc = sql_eval(e->a, env, &x)) < 0)
        return rc;
    *out = NULL;
    if (!x)
        return 0;
    for (size_t i = 0; i < e->n_args && !hit; i++) {
        if ((rc = sql_eval(e->args[i], env, &v)) < 0)
            return rc;
        hit = equals(x, v);
    }
    *out = from_bool(hit != e->negate);
    return 0;
}

static int eval_between(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    const struct value *x, *lo, *hi;
    enum tri ge, le, r;
    int rc;

    if ((rc = sql_eval(e->a, env, &x)) < 0 || (rc = sql_eval(e->b, env, &lo)) < 0 ||
        (rc = sql_eval(e->c, env, &hi)) < 0)
        return rc;
    ge = compare(x, lo, SO_GE);
    le = compare(x, hi, SO_LE);
    if (ge == T_FALSE || le == T_FALSE)
        r = T_FALSE;
    else if (ge == T_UNDEF || le == T_UNDEF)
        r = T_UNDEF;
    else
        r = T_TRUE;
    *out = from_tri(e->negate ? tri_not(r) : r);
    return 0;
}

static int eval_array(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    struct value *items = cr_arena_alloc(env->a, (e->n_args ? e->n_args : 1) * sizeof *items);
    size_t k = 0;
    int rc;

    if (!items)
        return CR_ENOMEM;
    for (size_t i = 0; i < e->n_args; i++) {
        const struct value *v;

        if ((rc = sql_eval(e->args[i], env, &v)) < 0)
            return rc;
        if (v)
            items[k++] = *v;
    }
    return make(env, (struct value){.type = VT_ARRAY, .u = {.arr = {items, k}}}, out);
}

static int eval_object(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    struct value_field *f = cr_arena_alloc(env->a, (e->n_args ? e->n_args : 1) * sizeof *f);
    size_t k = 0;
    int rc;

    if (!f)
        return CR_ENOMEM;
    for (size_t i = 0; i < e->n_args; i++) {
        const struct value *v;

        if ((rc = sql_eval(e->args[i], env, &v)) < 0)
            return rc;
        if (!v)
            continue;
        f[k].name = e->keys[i].name;
        f[k].name_len = e->keys[i].name_len;
        f[k].value = (struct value *)v;
        k++;
    }
    return make(env, (struct value){.type = VT_MAP, .u = {.map = {f, k}}}, out);
}

static const struct value *index_value(const struct value *base, const struct value *ix)
{
    if (is_array(base) && is_number(ix)) {
        double d = sql_to_double(ix);

        if (d >= 0 && d == trunc(d) && d < (double)base->u.arr.n)
            return &base->u.arr.items[(size_t)d];
        return NULL;
    }
    if (base && base->type == VT_MAP && is_string(ix))
        return value_map_get(base, ix->u.s.ptr, ix->u.s.len);
    return NULL;
}

int sql_eval(const struct sql_expr *e, struct sql_env *env, const struct value **out)
{
    const struct value *a, *b;
    enum tri t;
    int rc;

    if ((rc = tick(env)) < 0)
        return rc;
    if (env->group_keys && e->group >= 0) {
        *out = env->group_keys[e->group];
        return 0;
    }
    switch (e->kind) {
    case SE_CONST:
        *out = &e->v;
        return 0;
    case SE_UNDEF:
        *out = NULL;
        return 0;
    case SE_PARAM:
        *out = env->params[e->slot];
        return 0;
    case SE_IDENT:
        *out = env->bind[e->slot];
        return 0;
    case SE_AGG:
        CR_ASSERT(env->agg_vals);
        *out = env->agg_vals[e->slot];
        return 0;
    case SE_PROP:
        if ((rc = sql_eval(e->a, env, &a)) < 0)
            return rc;
        *out = a && a->type == VT_MAP ? value_map_get(a, e->name, e->name_len) : NULL;
        return 0;
    case SE_INDEX:
        if ((rc = sql_eval(e->a, env, &a)) < 0 || (rc = sql_eval(e->b, env, &b)) < 0)
            return rc;
        *out = index_value(a, b);
        return 0;
    case SE_UNARY:
        if ((rc = sql_eval(e->a, env, &a)) < 0)
            return rc;
        if (e->op == SO_NOT) {
            *out = from_tri(tri_not(to_tri(a)));
            return 0;
        }
        *out = NULL;
        if (!is_number(a))
            return 0;
        return make_number(env, e->op == SO_NEG ? -sql_to_double(a) : sql_to_double(a), out);
    case SE_BINARY:
        return eval_binary(e, env, out);
    case SE_BETWEEN:
        return eval_between(e, env, out);
    case SE_IN:
        return eval_in(e, env, out);
    case SE_LIKE:
        if ((rc = eval_like(e, env, &t)) < 0)
            return rc;
        *out = from_tri(t);
        return 0;
    case SE_COND:
        if ((rc = sql_eval(e->a, env, &a)) < 0)
            return rc;
        return sql_eval(to_tri(a) == T_TRUE ? e->b : e->c, env, out);
    case SE_CALL:
        return eval_call(e, env, out);
    case SE_ARRAY:
        return eval_array(e, env, out);
    case SE_OBJECT:
        return eval_object(e, env, out);
    }
    return CR_EINTERNAL;
}
