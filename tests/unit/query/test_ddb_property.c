/*
 * Property test of query/ddb_eval.c: random conditions over random items, rendered as text and
 * parsed by the module, evaluated by it and by a small reference evaluator written here from
 * DynamoDB's rules (a separate tree, numbers as doubles, its own equality). The seed is fixed and
 * printed; a failure prints the expression.
 */
#include "ddb_test.h"

#include <stdlib.h>

#define ATTRS 5
#define VALUES 8

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const strs[] = {"", "a", "ab", "b", "ba", "abc"};

static struct value *rand_scalar(void)
{
    char text[16];

    switch (rnd(7)) {
    case 0:
        return S(strs[rnd(6)]);
    case 1:
        return N((int64_t)rnd(5) - 2);
    case 2:
        return NF((double)((int)rnd(9) - 4) / 2);
    case 3:
        snprintf(text, sizeof text, "%d.5", (int)rnd(3) - 1);
        return ND(text);
    case 4:
        return B(strs[rnd(6)]);
    case 5:
        return BOOLV(rnd(2));
    default:
        return NUL();
    }
}

static struct value *rand_value(void)
{
    switch (rnd(6)) {
    case 0:
        return L(2, rand_scalar(), rand_scalar());
    case 1:
        return rnd(2) ? SS(2, S("a"), S("ab")) : SS(1, S(strs[1 + rnd(5)]));
    default:
        return rand_scalar();
    }
}

/* ---- the reference ---- */

enum rkind { RK_S, RK_N, RK_B, RK_BOOL, RK_NULL, RK_L, RK_SS, RK_OTHER };

static enum rkind kind_of(const struct value *v)
{
    switch (v->type) {
    case VT_STRING:
        return RK_S;
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return RK_N;
    case VT_BYTES:
        return RK_B;
    case VT_BOOL:
        return RK_BOOL;
    case VT_NULL:
        return RK_NULL;
    case VT_ARRAY:
        return RK_L;
    case VT_SS:
        return RK_SS;
    default:
        return RK_OTHER;
    }
}

static double num_of(const struct value *v)
{
    return v->type == VT_INT      ? (double)v->u.i
           : v->type == VT_DOUBLE ? v->u.d
                                  : decimal_to_double(&v->u.dec);
}

static int bytes_cmp(const struct value *a, const struct value *b)
{
    size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
    int c = n ? memcmp(a->u.s.ptr, b->u.s.ptr, n) : 0;

    return c ? c : (a->u.s.len > b->u.s.len) - (a->u.s.len < b->u.s.len);
}

static bool ref_equal(const struct value *a, const struct value *b);

static bool ss_has(const struct value *set, const struct value *x)
{
    size_t i;

    for (i = 0; i < set->u.arr.n; i++)
        if (ref_equal(&set->u.arr.items[i], x))
            return true;
    return false;
}

static bool ref_equal(const struct value *a, const struct value *b)
{
    size_t i;

    if (kind_of(a) != kind_of(b))
        return false;
    switch (kind_of(a)) {
    case RK_S:
    case RK_B:
        return bytes_cmp(a, b) == 0;
    case RK_N:
        return num_of(a) == num_of(b);
    case RK_BOOL:
        return a->u.b == b->u.b;
    case RK_NULL:
        return true;
    case RK_L:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (i = 0; i < a->u.arr.n; i++)
            if (!ref_equal(&a->u.arr.items[i], &b->u.arr.items[i]))
                return false;
        return true;
    case RK_SS:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (i = 0; i < a->u.arr.n; i++)
            if (!ss_has(b, &a->u.arr.items[i]))
                return false;
        return true;
    default:
        return false;
    }
}

/* <0, 0, >0, or 2 when not comparable. */
static int ref_order(const struct value *a, const struct value *b)
{
    if (!a || !b || kind_of(a) != kind_of(b))
        return 2;
    if (kind_of(a) == RK_N)
        return (num_of(a) > num_of(b)) - (num_of(a) < num_of(b));
    if (kind_of(a) == RK_S || kind_of(a) == RK_B)
        return bytes_cmp(a, b) < 0 ? -1 : bytes_cmp(a, b) > 0;
    return 2;
}

/* ---- random conditions ---- */

enum rnode {
    R_AND,
    R_OR,
    R_NOT,
    R_CMP,
    R_BETWEEN,
    R_IN,
    R_EXISTS,
    R_NEXISTS,
    R_BEGINS,
    R_CONTAINS,
    R_SIZE,
    R_TYPE
};

struct rop {
    bool is_attr;
    int idx; /* attribute a<idx> or value :v<idx> */
};

struct rcond {
    enum rnode kind;
    int cmp; /* 0 = 1 <> 2 < 3 <= 4 > 5 >= */
    struct rcond *l, *r;
    struct rop ops[4];
    int n_ops;
};

static const char *const cmp_text[] = {"=", "<>", "<", "<=", ">", ">="};
static const char *const type_names[] = {"S", "N", "B", "BOOL", "NULL", "L", "SS"};

static struct value *values[VALUES];
static struct value *type_values[7];

static struct rop rand_op(void)
{
    struct rop o;

    o.is_attr = rnd(2);
    o.idx = (int)rnd(o.is_attr ? ATTRS + 1 : VALUES); /* a5 never exists */
    return o;
}

static struct rcond *rand_cond(int depth)
{
    struct rcond *c = cr_arena_calloc(&T, sizeof *c);
    int i;

    c->kind = (enum rnode)(depth > 3 ? 3 + rnd(9) : rnd(12));
    c->cmp = (int)rnd(6);
    switch (c->kind) {
    case R_AND:
    case R_OR:
        c->l = rand_cond(depth + 1);
        c->r = rand_cond(depth + 1);
        break;
    case R_NOT:
        c->l = rand_cond(depth + 1);
        break;
    default:
        c->n_ops = c->kind == R_BETWEEN ? 3 : c->kind == R_IN ? 2 + (int)rnd(3) : 2;
        for (i = 0; i < c->n_ops; i++)
            c->ops[i] = rand_op();
        if (c->kind != R_CMP && c->kind != R_BETWEEN && c->kind != R_IN)
            c->ops[0].is_attr = true; /* functions take a path first */
        if (c->kind == R_TYPE) {
            c->ops[1].is_attr = false;
            c->ops[1].idx = (int)rnd(7);
        }
        if (c->kind == R_SIZE)
            c->ops[1].is_attr = false;
        break;
    }
    return c;
}

static size_t render_op(char *buf, size_t cap, struct rop o)
{
    return (size_t)snprintf(buf, cap, o.is_attr ? "a%d" : ":v%d", o.idx);
}

static size_t render(const struct rcond *c, char *buf, size_t cap)
{
    size_t k = 0;
    int i;

#define PUT(...) (k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__))
#define OP(o) (k += render_op(buf + k, k < cap ? cap - k : 0, o))
    switch (c->kind) {
    case R_AND:
    case R_OR:
        PUT("(");
        k += render(c->l, buf + k, cap - k);
        PUT(c->kind == R_AND ? " AND " : " OR ");
        k += render(c->r, buf + k, cap - k);
        PUT(")");
        break;
    case R_NOT: /* AND and OR bring their own parentheses; more would be redundant */
        PUT(c->l->kind == R_AND || c->l->kind == R_OR ? "NOT " : "NOT (");
        k += render(c->l, buf + k, cap - k);
        PUT(c->l->kind == R_AND || c->l->kind == R_OR ? "" : ")");
        break;
    case R_CMP:
        OP(c->ops[0]);
        PUT(" %s ", cmp_text[c->cmp]);
        OP(c->ops[1]);
        break;
    case R_BETWEEN:
        OP(c->ops[0]);
        PUT(" BETWEEN ");
        OP(c->ops[1]);
        PUT(" AND ");
        OP(c->ops[2]);
        break;
    case R_IN:
        OP(c->ops[0]);
        PUT(" IN (");
        for (i = 1; i < c->n_ops; i++) {
            PUT(i > 1 ? ", " : "");
            OP(c->ops[i]);
        }
        PUT(")");
        break;
    case R_SIZE:
        PUT("size(");
        OP(c->ops[0]);
        PUT(") %s ", cmp_text[c->cmp]);
        OP(c->ops[1]);
        break;
    case R_TYPE:
        PUT("attribute_type(");
        OP(c->ops[0]);
        PUT(", :t%d)", c->ops[1].idx);
        break;
    default:
        PUT("%s(", c->kind == R_EXISTS    ? "attribute_exists"
                   : c->kind == R_NEXISTS ? "attribute_not_exists"
                   : c->kind == R_BEGINS  ? "begins_with"
                                          : "contains");
        OP(c->ops[0]);
        if (c->kind == R_BEGINS || c->kind == R_CONTAINS) {
            PUT(", ");
            OP(c->ops[1]);
        }
        PUT(")");
        break;
    }
    return k;
#undef PUT
#undef OP
}

static const struct value *ref_operand(struct rop o, const struct value *item)
{
    char n[8];

    if (!o.is_attr)
        return values[o.idx];
    snprintf(n, sizeof n, "a%d", o.idx);
    return item ? value_map_get(item, n, strlen(n)) : NULL;
}

static bool ref_cmp(int cmp, const struct value *a, const struct value *b)
{
    int o;

    if (cmp == 0)
        return a && b && ref_equal(a, b);
    if (cmp == 1)
        return !(a && b && ref_equal(a, b));
    o = ref_order(a, b);
    if (o == 2)
        return false;
    return cmp == 2 ? o < 0 : cmp == 3 ? o <= 0 : cmp == 4 ? o > 0 : o >= 0;
}

static bool ref_eval(const struct rcond *c, const struct value *item)
{
    const struct value *x = c->n_ops ? ref_operand(c->ops[0], item) : NULL, *y;
    int i;

    switch (c->kind) {
    case R_AND:
        return ref_eval(c->l, item) && ref_eval(c->r, item);
    case R_OR:
        return ref_eval(c->l, item) || ref_eval(c->r, item);
    case R_NOT:
        return !ref_eval(c->l, item);
    case R_CMP:
        return ref_cmp(c->cmp, x, ref_operand(c->ops[1], item));
    case R_BETWEEN: {
        const struct value *lo = ref_operand(c->ops[1], item), *hi = ref_operand(c->ops[2], item);
        int a = ref_order(lo, x), b = ref_order(x, hi);

        return a != 2 && b != 2 && a <= 0 && b <= 0;
    }
    case R_IN:
        for (i = 1; i < c->n_ops; i++)
            if (x && ref_cmp(0, x, ref_operand(c->ops[i], item)))
                return true;
        return false;
    case R_EXISTS:
        return x != NULL;
    case R_NEXISTS:
        return x == NULL;
    case R_BEGINS:
        y = ref_operand(c->ops[1], item);
        if (!x || !y || kind_of(x) != kind_of(y) || (kind_of(x) != RK_S && kind_of(x) != RK_B))
            return false;
        return y->u.s.len <= x->u.s.len && !memcmp(x->u.s.ptr, y->u.s.ptr, y->u.s.len);
    case R_CONTAINS:
        y = ref_operand(c->ops[1], item);
        if (!x || !y)
            return false;
        if (kind_of(x) == RK_S) {
            size_t j;

            if (kind_of(y) != RK_S)
                return false;
            for (j = 0; j + y->u.s.len <= x->u.s.len; j++)
                if (!memcmp(x->u.s.ptr + j, y->u.s.ptr, y->u.s.len))
                    return true;
            return false;
        }
        if (kind_of(x) == RK_SS || kind_of(x) == RK_L) {
            size_t j;

            for (j = 0; j < x->u.arr.n; j++)
                if (ref_equal(&x->u.arr.items[j], y))
                    return true;
        }
        return false;
    case R_SIZE: {
        struct value sz;

        if (!x)
            return c->cmp == 1;
        switch (kind_of(x)) {
        case RK_S:
        case RK_B:
            sz = value_int((int64_t)x->u.s.len);
            break;
        case RK_L:
        case RK_SS:
            sz = value_int((int64_t)x->u.arr.n);
            break;
        default:
            return c->cmp == 1;
        }
        return ref_cmp(c->cmp, &sz, ref_operand(c->ops[1], item));
    }
    case R_TYPE:
        return x && (int)kind_of(x) == c->ops[1].idx;
    }
    return false;
}

static void test_random_conditions(void **state)
{
    static char vnames[VALUES][8], tnames[7][8], anames[ATTRS][8];
    const uint64_t seed = 0x5eed2024u;
    int round, i, checked = 0;

    (void)state;
    rng = seed;
    print_message("seed %llu\n", (unsigned long long)seed);
    for (i = 0; i < ATTRS; i++)
        snprintf(anames[i], sizeof anames[i], "a%d", i);
    for (round = 0; round < 300; round++) {
        struct value *item = NULL;
        int c;

        cr_arena_reset(&T);
        reset_req();
        for (i = 0; i < VALUES; i++) {
            snprintf(vnames[i], sizeof vnames[i], ":v%d", i);
            values[i] = rand_value();
            val(vnames[i], values[i]);
        }
        for (i = 0; i < 7; i++) {
            snprintf(tnames[i], sizeof tnames[i], ":t%d", i);
            type_values[i] = S(type_names[i]);
            val(tnames[i], type_values[i]);
        }
        if (rnd(8)) {
            struct value_field *f = cr_arena_alloc(&T, ATTRS * sizeof *f);
            size_t n = 0;

            for (i = 0; i < ATTRS; i++) {
                if (!rnd(5))
                    continue;
                f[n].name = anames[i];
                f[n].name_len = strlen(anames[i]);
                f[n].value = rand_value();
                n++;
            }
            item = vnew((struct value){.type = VT_MAP, .u.map = {f, n}});
        }
        for (c = 0; c < 40; c++) {
            struct rcond *rc = rand_cond(0);
            struct ddb_cond *parsed;
            char text[DDB_EXPR_MAX_LEN];
            bool got;

            if (render(rc, text, sizeof text) >= sizeof text)
                continue;
            ctx();
            if (ddb_parse_condition(&R.ctx, DDB_FILTER, text, strlen(text), &parsed, &R.err)) {
                /* Only the checks of constant operands may refuse a generated condition. */
                if (!strstr(R.err.msg, "BETWEEN operator requires") &&
                    !strstr(R.err.msg, "Incorrect operand type"))
                    fail_msg("parse \"%s\": %s", text, R.err.msg);
                continue;
            }
            assert_int_equal(ddb_eval_condition(parsed, item, &got, &R.err), 0);
            if (got != ref_eval(rc, item))
                fail_msg("\"%s\": module %d, reference %d (round %d)", text, got, !got, round);
            checked++;
        }
    }
    assert_true(checked > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_conditions, ddb_test_setup, ddb_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
