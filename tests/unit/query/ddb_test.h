/*
 * Shared helpers of the query/ddb_* tests: value constructors over one arena and a request
 * fixture (placeholders, context, error). Everything lives in the test arena `T`, freed by
 * ddb_test_teardown.
 */
#ifndef CR_DDB_TEST_H
#define CR_DDB_TEST_H

#include "query/ddb_expr.h"
#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct cr_arena T;

struct req {
    struct ddb_name names[32];
    size_t nn;
    struct ddb_value vals[32];
    size_t nv;
    struct ddb_ctx ctx;
    struct ddb_err err;
};

static struct req R;

static inline int ddb_test_setup(void **state)
{
    (void)state;
    cr_arena_init(&T, 4096);
    memset(&R, 0, sizeof R);
    return 0;
}

static inline int ddb_test_teardown(void **state)
{
    (void)state;
    cr_arena_free(&T);
    return 0;
}

static inline struct value *vnew(struct value v)
{
    struct value *p = cr_arena_alloc(&T, sizeof *p);

    *p = v;
    return p;
}

static inline struct value *S(const char *s)
{
    return vnew(value_string(s, strlen(s)));
}

static inline struct value *N(int64_t i)
{
    return vnew(value_int(i));
}

static inline struct value *NF(double d)
{
    return vnew(value_double(d));
}

static inline struct value *ND(const char *text)
{
    struct value v;

    v.type = VT_DECIMAL;
    assert_int_equal(decimal_parse(text, strlen(text), &v.u.dec), 0);
    return vnew(v);
}

static inline struct value *B(const char *s)
{
    return vnew(value_bytes(s, strlen(s)));
}

static inline struct value *BOOLV(bool b)
{
    return vnew(value_bool(b));
}

static inline struct value *NUL(void)
{
    return vnew(value_null());
}

/* A list, or a set when type is VT_SS/VT_NS/VT_BS: n element pointers follow. */
static inline struct value *LT(enum value_type type, int n, ...)
{
    struct value v, *items = cr_arena_alloc(&T, (size_t)n * sizeof *items + 1);
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++)
        items[i] = *va_arg(ap, struct value *);
    va_end(ap);
    v.type = type;
    v.u.arr.items = items;
    v.u.arr.n = (size_t)n;
    return vnew(v);
}

#define L(n, ...) LT(VT_ARRAY, n, __VA_ARGS__)
#define SS(n, ...) LT(VT_SS, n, __VA_ARGS__)
#define NS(n, ...) LT(VT_NS, n, __VA_ARGS__)
#define BS(n, ...) LT(VT_BS, n, __VA_ARGS__)

static inline struct value *L0(void)
{
    struct value v;

    v.type = VT_ARRAY;
    v.u.arr.items = NULL;
    v.u.arr.n = 0;
    return vnew(v);
}

/* A map: n pairs of (const char *name, struct value *value) follow. */
static inline struct value *M(int n, ...)
{
    struct value v;
    struct value_field *f = cr_arena_alloc(&T, (size_t)n * sizeof *f + 1);
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        f[i].name = va_arg(ap, const char *);
        f[i].name_len = strlen(f[i].name);
        f[i].value = va_arg(ap, struct value *);
    }
    va_end(ap);
    v.type = VT_MAP;
    v.u.map.fields = f;
    v.u.map.n = (size_t)n;
    return vnew(v);
}

static inline void name(const char *ph, const char *n)
{
    R.names[R.nn].placeholder = ph;
    R.names[R.nn].placeholder_len = strlen(ph);
    R.names[R.nn].name = n;
    R.names[R.nn].name_len = strlen(n);
    R.nn++;
}

static inline void val(const char *ph, const struct value *v)
{
    R.vals[R.nv].placeholder = ph;
    R.vals[R.nv].placeholder_len = strlen(ph);
    R.vals[R.nv].value = v;
    R.nv++;
}

/* Binds the placeholders given so far; resets them for the next request. */
static inline void ctx(void)
{
    assert_int_equal(ddb_ctx_init(&R.ctx, &T, R.names, R.nn, R.vals, R.nv, &R.err), 0);
}

static inline void reset_req(void)
{
    memset(&R, 0, sizeof R);
}

/* Evaluates a condition against item; fails the test on a parse error. */
static inline bool cond_on(const char *expr, const struct value *item)
{
    struct ddb_cond *c;
    bool r = false;

    ctx();
    if (ddb_parse_condition(&R.ctx, DDB_CONDITION, expr, strlen(expr), &c, &R.err) != 0)
        fail_msg("parse \"%s\": %s", expr, R.err.msg);
    assert_int_equal(ddb_eval_condition(c, item, &r, &R.err), 0);
    return r;
}

/* Parse error message of a condition (kind given). */
static inline const char *cond_error(enum ddb_kind kind, const char *expr)
{
    struct ddb_cond *c;

    ctx();
    assert_int_equal(ddb_parse_condition(&R.ctx, kind, expr, strlen(expr), &c, &R.err), CR_EINVAL);
    assert_int_equal(R.err.code, CR_EINVAL);
    return R.err.msg;
}

#endif
