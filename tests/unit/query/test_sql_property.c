/*
 * Property test of the query language: random WHERE expressions (comparisons, IN, BETWEEN, type
 * checks, bare operands, AND, OR, NOT) over random documents (every JSON type, missing fields),
 * rendered as text, parsed and run by the executor, against a small reference evaluator written
 * here from Cosmos DB's rules: its own value model (a tagged struct, numbers as doubles), its own
 * three-valued logic and its own type ordering. Each expression is checked twice: the documents
 * WHERE keeps, and the exact value (true, false or undefined) it has on every document. ORDER BY
 * over mixed types and GROUP BY with COUNT, SUM and MIN are checked against the reference too.
 * The seeds are fixed; a failure prints the query or the round.
 */
#include "query/sql.h"
#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define DOCS 24
#define FIELDS 3 /* a, b, c; "m" is never present */
#define CASES 3000

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* ---- the reference ---- */

enum rtype { R_UNDEF, R_NULL, R_BOOL, R_NUM, R_STR, R_ARR, R_OBJ };

/* A value: arrays are [n], objects {"x": n}. */
struct rval {
    enum rtype t;
    double n; /* NUM, and the element of ARR and OBJ */
    bool b;
    const char *s;
};

enum tri { F, T, U };

static const char *const strs[] = {"", "a", "ab", "b"};

static struct rval rand_val(bool allow_undef)
{
    struct rval v = {R_UNDEF, 0, false, NULL};

    switch (rnd(allow_undef ? 9 : 8)) {
    case 0:
        v.t = R_NULL;
        break;
    case 1:
        v.t = R_BOOL;
        v.b = rnd(2);
        break;
    case 2:
    case 3:
        v.t = R_NUM;
        v.n = (double)((int)rnd(5) - 2);
        break;
    case 4:
        v.t = R_NUM;
        v.n = (double)((int)rnd(5) - 2) + 0.5;
        break;
    case 5:
        v.t = R_STR;
        v.s = strs[rnd(4)];
        break;
    case 6:
        v.t = R_ARR;
        v.n = rnd(2);
        break;
    case 7:
        v.t = R_OBJ;
        v.n = rnd(2);
        break;
    default:
        break;
    }
    return v;
}

static int rank(enum rtype t)
{
    return (int)t;
}

/* Total order of ORDER BY: undefined < null < false < true < numbers < strings < arrays <
 * objects. */
static int rorder(const struct rval *a, const struct rval *b)
{
    if (a->t != b->t)
        return rank(a->t) < rank(b->t) ? -1 : 1;
    switch (a->t) {
    case R_BOOL:
        return (a->b > b->b) - (a->b < b->b);
    case R_STR:
        return strcmp(a->s, b->s);
    case R_NUM:
    case R_ARR:
    case R_OBJ:
        return (a->n > b->n) - (a->n < b->n);
    default:
        return 0;
    }
}

enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

static const char *const cmp_text[] = {"=", "!=", "<", "<=", ">", ">="};

static enum tri rcmp(const struct rval *a, const struct rval *b, enum cmp op)
{
    int c;

    if (a->t == R_UNDEF || b->t == R_UNDEF || a->t != b->t)
        return U;
    c = rorder(a, b);
    switch (op) {
    case C_EQ:
        return c == 0 ? T : F;
    case C_NE:
        return c != 0 ? T : F;
    default:
        break;
    }
    if (a->t == R_ARR || a->t == R_OBJ)
        return U;
    switch (op) {
    case C_LT:
        return c < 0 ? T : F;
    case C_LE:
        return c <= 0 ? T : F;
    case C_GT:
        return c > 0 ? T : F;
    default:
        return c >= 0 ? T : F;
    }
}

static enum tri rand3(enum tri a, enum tri b)
{
    if (a == F || b == F)
        return F;
    return a == T && b == T ? T : U;
}

static enum tri ror3(enum tri a, enum tri b)
{
    if (a == T || b == T)
        return T;
    return a == F && b == F ? F : U;
}

/* ---- expressions ---- */

enum ekind { K_CMP, K_IN, K_BETWEEN, K_DEFINED, K_ISTYPE, K_BARE, K_AND, K_OR, K_NOT };

/* An operand: a field (0..FIELDS-1, FIELDS for the missing one) or a literal. */
struct opnd {
    int field; /* -1: literal */
    struct rval lit;
};

struct expr {
    enum ekind k;
    enum cmp op;
    enum rtype type; /* K_ISTYPE */
    struct opnd x, y[3];
    int ny;
    struct expr *l, *r;
};

static struct expr pool[64];
static int pool_n;

static struct opnd rand_opnd(void)
{
    struct opnd o;

    o.field = rnd(3) ? (int)rnd(FIELDS + 1) : -1;
    o.lit = rand_val(false);
    return o;
}

static struct expr *rand_expr(int depth)
{
    struct expr *e = &pool[pool_n++];
    uint32_t k = depth >= 3 ? rnd(6) : rnd(9);

    memset(e, 0, sizeof *e);
    e->k = (enum ekind)k;
    e->op = (enum cmp)rnd(6);
    e->type = (enum rtype)(1 + rnd(6));
    e->x = rand_opnd();
    e->ny = 1 + (int)rnd(3);
    for (int i = 0; i < 3; i++)
        e->y[i] = rand_opnd();
    if (e->k == K_AND || e->k == K_OR || e->k == K_NOT)
        e->l = rand_expr(depth + 1);
    if (e->k == K_AND || e->k == K_OR)
        e->r = rand_expr(depth + 1);
    return e;
}

static struct rval opnd_val(const struct opnd *o, const struct rval *doc)
{
    struct rval u = {R_UNDEF, 0, false, NULL};

    if (o->field < 0)
        return o->lit;
    return o->field < FIELDS ? doc[o->field] : u;
}

static enum tri reval(const struct expr *e, const struct rval *doc)
{
    struct rval x = opnd_val(&e->x, doc), y;
    bool hit = false;

    switch (e->k) {
    case K_CMP:
        y = opnd_val(&e->y[0], doc);
        return rcmp(&x, &y, e->op);
    case K_IN:
        if (x.t == R_UNDEF)
            return U;
        for (int i = 0; i < e->ny; i++)
            hit |= rcmp(&x, &e->y[i].lit, C_EQ) == T;
        return hit ? T : F;
    case K_BETWEEN: {
        struct rval lo = opnd_val(&e->y[0], doc), hi = opnd_val(&e->y[1], doc);

        return rand3(rcmp(&x, &lo, C_GE), rcmp(&x, &hi, C_LE));
    }
    case K_DEFINED:
        return x.t != R_UNDEF ? T : F;
    case K_ISTYPE:
        return x.t == e->type ? T : F;
    case K_BARE:
        return x.t != R_BOOL ? U : x.b ? T : F;
    case K_AND:
        return rand3(reval(e->l, doc), reval(e->r, doc));
    case K_OR:
        return ror3(reval(e->l, doc), reval(e->r, doc));
    default: {
        enum tri t = reval(e->l, doc);

        return t == U ? U : t == T ? F : T;
    }
    }
}

/* ---- rendering ---- */

struct out {
    char *p;
    size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < o->cap - o->len);
    o->len += (size_t)k;
}

static void render_val(struct out *o, const struct rval *v)
{
    switch (v->t) {
    case R_NULL:
        put(o, "null");
        break;
    case R_BOOL:
        put(o, v->b ? "true" : "false");
        break;
    case R_NUM:
        put(o, "%g", v->n);
        break;
    case R_STR:
        put(o, "\"%s\"", v->s);
        break;
    case R_ARR:
        put(o, "[%g]", v->n);
        break;
    case R_OBJ:
        put(o, "{\"x\": %g}", v->n);
        break;
    default:
        put(o, "undefined");
    }
}

static void render_opnd(struct out *o, const struct opnd *x)
{
    static const char *const names[] = {"c.a", "c[\"b\"]", "c.c", "c.m"};

    if (x->field >= 0)
        put(o, "%s", names[x->field]);
    else
        render_val(o, &x->lit);
}

static void render(struct out *o, const struct expr *e)
{
    static const char *const types[] = {"",          "IS_NULL",  "IS_BOOL",  "IS_NUMBER",
                                        "IS_STRING", "IS_ARRAY", "IS_OBJECT"};

    switch (e->k) {
    case K_CMP:
        render_opnd(o, &e->x);
        put(o, " %s ", cmp_text[e->op]);
        render_opnd(o, &e->y[0]);
        break;
    case K_IN:
        render_opnd(o, &e->x);
        put(o, " IN (");
        for (int i = 0; i < e->ny; i++) {
            put(o, i ? ", " : "");
            render_val(o, &e->y[i].lit);
        }
        put(o, ")");
        break;
    case K_BETWEEN:
        render_opnd(o, &e->x);
        put(o, " BETWEEN ");
        render_opnd(o, &e->y[0]);
        put(o, " AND ");
        render_opnd(o, &e->y[1]);
        break;
    case K_DEFINED:
        put(o, "IS_DEFINED(");
        render_opnd(o, &e->x);
        put(o, ")");
        break;
    case K_ISTYPE:
        put(o, "%s(", types[e->type]);
        render_opnd(o, &e->x);
        put(o, ")");
        break;
    case K_BARE:
        render_opnd(o, &e->x);
        break;
    case K_AND:
    case K_OR:
        put(o, "(");
        render(o, e->l);
        put(o, e->k == K_AND ? ") AND (" : ") OR (");
        render(o, e->r);
        put(o, ")");
        break;
    default:
        put(o, "NOT (");
        render(o, e->l);
        put(o, ")");
    }
}

/* ---- documents as struct value ---- */

static struct cr_arena A;

static struct value to_value(const struct rval *r)
{
    struct value v;

    switch (r->t) {
    case R_NULL:
        return value_null();
    case R_BOOL:
        return value_bool(r->b);
    case R_NUM:
        /* Integral numbers come as INT, others as DOUBLE, as a JSON decoder would give them. */
        return r->n == (double)(int64_t)r->n ? value_int((int64_t)r->n) : value_double(r->n);
    case R_STR:
        return value_string(r->s, strlen(r->s));
    case R_ARR: {
        struct value *item = cr_arena_alloc(&A, sizeof *item);

        *item = value_int((int64_t)r->n);
        v.type = VT_ARRAY;
        v.u.arr.items = item;
        v.u.arr.n = 1;
        return v;
    }
    default: {
        struct value_field *f = cr_arena_alloc(&A, sizeof *f);
        struct value *x = cr_arena_alloc(&A, sizeof *x);

        *x = value_int((int64_t)r->n);
        f->name = "x";
        f->name_len = 1;
        f->value = x;
        v.type = VT_MAP;
        v.u.map.fields = f;
        v.u.map.n = 1;
        return v;
    }
    }
}

static void build_docs(struct rval ref[DOCS][FIELDS], struct value *docs)
{
    static const char *const names[] = {"a", "b", "c"};

    for (int d = 0; d < DOCS; d++) {
        struct value_field *f = cr_arena_alloc(&A, (FIELDS + 1) * sizeof *f);
        size_t k = 0;

        f[k].name = "id";
        f[k].name_len = 2;
        f[k].value = cr_arena_alloc(&A, sizeof(struct value));
        *f[k].value = value_int(d);
        k++;
        for (int i = 0; i < FIELDS; i++) {
            ref[d][i] = rand_val(true);
            if (ref[d][i].t == R_UNDEF)
                continue;
            f[k].name = names[i];
            f[k].name_len = 1;
            f[k].value = cr_arena_alloc(&A, sizeof(struct value));
            *f[k].value = to_value(&ref[d][i]);
            k++;
        }
        docs[d].type = VT_MAP;
        docs[d].u.map.fields = f;
        docs[d].u.map.n = k;
    }
}

struct src {
    const struct value *docs;
    size_t i;
};

static int src_next(void *ctx, const struct value **doc)
{
    struct src *s = ctx;

    if (s->i == DOCS)
        return 0;
    *doc = &s->docs[s->i++];
    return 1;
}

static void run(const char *text, const struct value *docs, struct value **out, size_t *n)
{
    struct sql_query *q;
    struct sql_err err;
    struct src s = {docs, 0};
    struct sql_source so = {&s, src_next};

    if (sql_parse(&A, text, strlen(text), &q, &err) < 0 ||
        sql_exec(q, NULL, 0, &so, 0, &A, out, n, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
}

static void test_where_vs_reference(void **state)
{
    static char buf[8192];
    struct rval ref[DOCS][FIELDS];
    struct value docs[DOCS];
    uint64_t seed = 0x5eed5ca1ab1e0001ull;
    size_t kept = 0, undefs = 0;

    (void)state;
    rng = seed;
    printf("seed %llu\n", (unsigned long long)seed);
    for (int c = 0; c < CASES; c++) {
        struct out o = {buf, 0, sizeof buf};
        struct expr *e;
        struct value *res;
        size_t n, k = 0;
        enum tri want[DOCS];

        if (c % 100 == 0) {
            cr_arena_reset(&A);
            build_docs(ref, docs);
        }
        pool_n = 0;
        e = rand_expr(0);
        for (int d = 0; d < DOCS; d++)
            want[d] = reval(e, ref[d]);

        /* The rows WHERE keeps: exactly those where the reference says true. */
        put(&o, "SELECT VALUE c.id FROM c WHERE ");
        render(&o, e);
        run(buf, docs, &res, &n);
        for (int d = 0; d < DOCS; d++) {
            if (want[d] != T)
                continue;
            if (k >= n || res[k].u.i != d)
                fail_msg("case %d: %s\n  document %d should pass", c, buf, d);
            k++;
        }
        if (k != n)
            fail_msg("case %d: %s\n  document %lld should not pass", c, buf, (long long)res[k].u.i);
        kept += n;

        /* The value itself, undefined (a missing field) included. A bare operand is its own
         * value: AND true turns it into the truth value WHERE sees. */
        o.len = 0;
        put(&o, "SELECT VALUE {\"r\": ");
        render(&o, e);
        put(&o, e->k == K_BARE ? " AND true} FROM c" : "} FROM c");
        run(buf, docs, &res, &n);
        assert_int_equal(n, DOCS);
        for (int d = 0; d < DOCS; d++) {
            const struct value *r = value_map_get(&res[d], "r", 1);
            enum tri got = !r ? U : r->type != VT_BOOL ? (enum tri)99 : r->u.b ? T : F;

            if (got != want[d])
                fail_msg("case %d: %s\n  document %d: got %d, want %d (0 false, 1 true, 2 "
                         "undefined)",
                         c, buf, d, (int)got, (int)want[d]);
            undefs += got == U;
        }
    }
    /* The generator exercises all three outcomes. */
    assert_true(kept > CASES);
    assert_true(undefs > CASES);
}

static void test_order_by_vs_reference(void **state)
{
    struct rval ref[DOCS][FIELDS];
    struct value docs[DOCS], *res;
    size_t n;

    (void)state;
    rng = 0x0bde5eedull;
    for (int round = 0; round < 200; round++) {
        int want[DOCS];
        bool desc = round & 1;

        cr_arena_reset(&A);
        build_docs(ref, docs);
        /* Insertion sort: stable, so ties keep document order, as the executor's do. */
        for (int d = 0; d < DOCS; d++) {
            int j = d;

            while (j > 0) {
                int c = rorder(&ref[want[j - 1]][0], &ref[d][0]);

                if (desc ? c >= 0 : c <= 0)
                    break;
                want[j] = want[j - 1];
                j--;
            }
            want[j] = d;
        }
        run(desc ? "SELECT VALUE c.id FROM c ORDER BY c.a DESC"
                 : "SELECT VALUE c.id FROM c ORDER BY c.a",
            docs, &res, &n);
        assert_int_equal(n, DOCS);
        for (int d = 0; d < DOCS; d++)
            if (res[d].u.i != want[d])
                fail_msg("round %d (%s): position %d has document %lld, want %d", round,
                         desc ? "DESC" : "ASC", d, (long long)res[d].u.i, want[d]);
    }
}

/* Checks one field of a result row against the reference (R_UNDEF: the field is absent). */
static void expect_field(const struct value *row, const char *name, const struct rval *want,
                         int round, size_t g)
{
    const struct value *got = value_map_get(row, name, strlen(name));
    struct value w;

    if (want->t == R_UNDEF) {
        if (got)
            fail_msg("round %d, group %zu: %s should be undefined", round, g, name);
        return;
    }
    w = to_value(want);
    if (!got || !value_equal(got, &w))
        fail_msg("round %d, group %zu: %s differs from the reference", round, g, name);
}

/* GROUP BY with COUNT, SUM and MIN against a reference grouping: groups in key order (undefined
 * first), SUM undefined once a non-number is seen, MIN over null < booleans < numbers < strings
 * and undefined once an array or object is seen. */
static void test_group_by_vs_reference(void **state)
{
    struct rval ref[DOCS][FIELDS];
    struct value docs[DOCS], *res;
    size_t n;

    (void)state;
    rng = 0x960bull;
    for (int round = 0; round < 200; round++) {
        struct rval keys[DOCS], sums[DOCS], mins[DOCS];
        int counts[DOCS], order[DOCS];
        bool bad_sum[DOCS], bad_min[DOCS];
        size_t ng = 0;

        cr_arena_reset(&A);
        build_docs(ref, docs);
        for (int d = 0; d < DOCS; d++) {
            const struct rval *k = &ref[d][0], *b = &ref[d][1];
            size_t g;

            for (g = 0; g < ng && rorder(&keys[g], k) != 0; g++)
                ;
            if (g == ng) {
                keys[g] = *k;
                counts[g] = 0;
                sums[g] = (struct rval){R_NUM, 0, false, NULL};
                mins[g] = (struct rval){R_UNDEF, 0, false, NULL};
                bad_sum[g] = bad_min[g] = false;
                ng++;
            }
            counts[g]++;
            if (b->t == R_UNDEF)
                continue;
            if (b->t == R_NUM)
                sums[g].n += b->n;
            else
                bad_sum[g] = true;
            if (b->t == R_ARR || b->t == R_OBJ)
                bad_min[g] = true;
            else if (mins[g].t == R_UNDEF || rorder(b, &mins[g]) < 0)
                mins[g] = *b;
        }
        for (size_t g = 0; g < ng; g++) {
            size_t j = g;

            while (j > 0 && rorder(&keys[order[j - 1]], &keys[g]) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = (int)g;
        }
        run("SELECT c.a AS k, COUNT(1) AS n, SUM(c.b) AS s, MIN(c.b) AS m FROM c GROUP BY c.a",
            docs, &res, &n);
        assert_int_equal(n, ng);
        for (size_t i = 0; i < ng; i++) {
            int g = order[i];
            struct rval cnt = {R_NUM, counts[g], false, NULL};
            struct rval none = {R_UNDEF, 0, false, NULL};

            expect_field(&res[i], "k", &keys[g], round, i);
            expect_field(&res[i], "n", &cnt, round, i);
            expect_field(&res[i], "s", bad_sum[g] ? &none : &sums[g], round, i);
            expect_field(&res[i], "m", bad_min[g] ? &none : &mins[g], round, i);
        }
    }
}

static int setup(void **state)
{
    (void)state;
    cr_arena_init(&A, 1 << 16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_arena_free(&A);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_where_vs_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_by_vs_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by_vs_reference, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
