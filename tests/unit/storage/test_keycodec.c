/*
 * storage/keycodec.c: memcmp order of encodings == value_compare order (random mixed pairs and
 * composites), decode/skip round trips, long components (order, no false equality,
 * CR_ETOOLONG), begins_with prefixes, and hostile input. Seeds are fixed and printed.
 */
#include "value_gen.h"

#include "common/buf.h"
#include "storage/keycodec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static struct value dec(const char *s)
{
    struct value v = value_null();

    v.type = VT_DECIMAL;
    assert_int_equal(decimal_parse(s, strlen(s), &v.u.dec), 0);
    return v;
}

static void enc(const struct value *v, struct cr_buf *b)
{
    cr_buf_reset(b);
    assert_int_equal(keycodec_encode(v, b), 0);
}

static void hex_of(const struct cr_buf *b, char *hex, size_t cap)
{
    size_t k;

    for (k = 0; k < b->len && 2 * k + 2 < cap; k++)
        snprintf(hex + 2 * k, 3, "%02x", b->data[k]);
    hex[2 * k] = '\0';
}

static void test_exact_bytes(void **state)
{
    struct value one[] = {value_int(1)};
    struct value arr = value_null(), ts = value_null();
    struct {
        struct value v;
        const char *hex;
    } cases[] = {
        {value_null(), "10"},
        {value_bool(false), "20"},
        {value_bool(true), "21"},
        {value_double(NAN), "30"},
        {value_double(-INFINITY), "31"},
        {value_int(0), "33"},
        {value_double(-0.0), "33"},
        {value_double(INFINITY), "35"},
        {value_int(1), "3480010b00"},
        {value_int(12), "3480020d00"},
        {value_int(-1), "327ffef4ff"},
        {dec("0.05"), "347fff3300"},
        {value_string("a\0", 2), "506100ff0001"},
        {value_bytes("", 0), "600001"},
        {arr, "9000"},
        {ts, "40800000000000000000000007"},
    };
    struct cr_buf b;
    char hex[80];
    size_t i;

    (void)state;
    cases[14].v.type = VT_ARRAY;
    cases[15].v.type = VT_TIMESTAMP;
    cases[15].v.u.ts.nsec = 7;
    cr_buf_init(&b);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enc(&cases[i].v, &b);
        hex_of(&b, hex, sizeof hex);
        assert_string_equal(hex, cases[i].hex);
    }
    arr.type = VT_ARRAY;
    arr.u.arr.items = one;
    arr.u.arr.n = 1;
    enc(&arr, &b);
    hex_of(&b, hex, sizeof hex);
    assert_string_equal(hex, "903480010b0000");
    cr_buf_free(&b);
}

/* Decodes the stored component in b and checks it equals v and that skip agrees. */
static void roundtrip(const struct value *v, const struct cr_buf *b, struct cr_arena *a)
{
    const uint8_t *p = b->data;
    struct value out;
    size_t len;

    assert_int_equal(keycodec_decode(&p, b->data + b->len, a, &out), 0);
    assert_ptr_equal(p, b->data + b->len);
    assert_true(value_equal(&out, v));
    assert_int_equal(keycodec_skip(b->data, b->data + b->len, &len), 0);
    assert_int_equal(len, b->len);
}

static void test_order_property(void **state)
{
    struct cr_arena a, d;
    struct cr_buf ea, eb, sa;
    long i, pairs = 200000;

    (void)state;
    cr_arena_init(&a, 0);
    cr_arena_init(&d, 0);
    cr_buf_init(&ea);
    cr_buf_init(&eb);
    cr_buf_init(&sa);
    gen_seed(GEN_SEED + 10);
    for (i = 0; i < pairs; i++) {
        struct value x = gen_value(&a, 0), y = gen_value(&a, 0);
        bool truncated;

        enc(&x, &ea);
        enc(&y, &eb);
        assert_int_equal(gen_memcmp(ea.data, ea.len, eb.data, eb.len), value_compare(&x, &y));
        if (i % 4 == 0) {
            cr_buf_reset(&sa);
            assert_int_equal(keycodec_encode_component(&x, &sa, &truncated), 0);
            assert_int_equal(truncated, ea.len > CR_KEY_PREFIX);
            if (!truncated) {
                assert_int_equal(gen_memcmp(ea.data, ea.len, sa.data, sa.len), 0);
                roundtrip(&x, &sa, &d);
            }
        }
        if (i % 1024 == 0) {
            cr_arena_reset(&a);
            cr_arena_reset(&d);
        }
    }
    cr_arena_free(&a);
    cr_arena_free(&d);
    cr_buf_free(&ea);
    cr_buf_free(&eb);
    cr_buf_free(&sa);
}

/* keycodec_rank_tags: every encoding starts inside its rank's tag range, and the ranges of
 * different ranks are disjoint and ordered as the ranks. */
static void test_rank_tags(void **state)
{
    struct cr_arena a;
    struct cr_buf e;

    (void)state;
    cr_arena_init(&a, 0);
    cr_buf_init(&e);
    gen_seed(GEN_SEED + 11);
    for (int i = 0; i < 20000; i++) {
        struct value x = gen_value(&a, 0);
        uint8_t first, last;

        enc(&x, &e);
        keycodec_rank_tags(x.type, &first, &last);
        assert_true(first <= e.data[0] && e.data[0] <= last);
        if (i % 1024 == 0)
            cr_arena_reset(&a);
    }
    for (int t = VT_NULL; t <= VT_BS; t++)
        for (int u = VT_NULL; u <= VT_BS; u++) {
            uint8_t f1, l1, f2, l2;

            keycodec_rank_tags((enum value_type)t, &f1, &l1);
            keycodec_rank_tags((enum value_type)u, &f2, &l2);
            assert_true(f1 <= l1);
            if (value_rank((enum value_type)t) < value_rank((enum value_type)u))
                assert_true(l1 < f2);
            else if (value_rank((enum value_type)t) == value_rank((enum value_type)u))
                assert_true(f1 == f2 && l1 == l2);
        }
    cr_arena_free(&a);
    cr_buf_free(&e);
}

/* Pools of numbers whose order is subtle: every pair, both directions. */
static void test_number_order(void **state)
{
    const char *decs[] = {"-1e125",
                          "-12345678901234567890123456789012345678",
                          "-100",
                          "-99.5",
                          "-1",
                          "-0.99",
                          "-1e-130",
                          "0",
                          "1e-130",
                          "1.1e-130",
                          "0.099",
                          "0.1",
                          "0.10000000000000001",
                          "0.11",
                          "1",
                          "1.5",
                          "9",
                          "10",
                          "10.5",
                          "99",
                          "100",
                          "9223372036854775807",
                          "9223372036854775808",
                          "1e125",
                          "9.9999999999999999999999999999999999999E+125"};
    const double dbls[] = {-INFINITY, -1e300, -2.5, -0.1, -5e-324, -0.0,  0.0,      5e-324, 1e-300,
                           0.1,       1,      9.5,  1e23, 1e126,   1e300, INFINITY, NAN};
    const int64_t ints[] = {INT64_MIN, -101, -1, 0, 1, 9, 10, 11, 99, 100, INT64_MAX};
    struct value v[64];
    struct cr_buf ea, eb;
    size_t n = 0, i, j;

    (void)state;
    for (i = 0; i < sizeof decs / sizeof decs[0]; i++)
        v[n++] = dec(decs[i]);
    for (i = 0; i < sizeof dbls / sizeof dbls[0]; i++)
        v[n++] = value_double(dbls[i]);
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++)
        v[n++] = value_int(ints[i]);
    cr_buf_init(&ea);
    cr_buf_init(&eb);
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            enc(&v[i], &ea);
            enc(&v[j], &eb);
            assert_int_equal(gen_memcmp(ea.data, ea.len, eb.data, eb.len),
                             value_compare(&v[i], &v[j]));
        }
    }
    cr_buf_free(&ea);
    cr_buf_free(&eb);
}

static void test_number_decode_types(void **state)
{
    struct {
        struct value v;
        enum value_type type;
    } cases[] = {
        {value_int(5), VT_DECIMAL},         {value_int(INT64_MIN), VT_DECIMAL},
        {value_double(0.1), VT_DECIMAL},    {value_double(-0.0), VT_DECIMAL},
        {value_double(1e300), VT_DOUBLE},   {value_double(-5e-324), VT_DOUBLE},
        {value_double(NAN), VT_DOUBLE},     {value_double(INFINITY), VT_DOUBLE},
        {value_double(DBL_MAX), VT_DOUBLE}, {dec("1e-130"), VT_DECIMAL},
    };
    struct cr_arena a;
    struct cr_buf b;
    size_t i;

    (void)state;
    cr_arena_init(&a, 0);
    cr_buf_init(&b);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *p;
        struct value out;

        enc(&cases[i].v, &b);
        p = b.data;
        assert_int_equal(keycodec_decode(&p, b.data + b.len, &a, &out), 0);
        assert_int_equal(out.type, cases[i].type);
        assert_true(value_equal(&out, &cases[i].v));
        if (out.type == VT_DOUBLE && !isnan(out.u.d))
            assert_true(out.u.d == cases[i].v.u.d);
    }
    cr_arena_free(&a);
    cr_buf_free(&b);
}

/* Concatenated (pk, sk) keys compare as the pairs do, and decode back component by component. */
static void test_composite_property(void **state)
{
    struct cr_arena a, d;
    struct cr_buf ka, kb;
    long i;

    (void)state;
    cr_arena_init(&a, 0);
    cr_arena_init(&d, 0);
    cr_buf_init(&ka);
    cr_buf_init(&kb);
    gen_seed(GEN_SEED + 11);
    for (i = 0; i < 60000; i++) {
        struct value x[2] = {gen_value(&a, 0), gen_value(&a, 0)};
        struct value y[2] = {gen_value(&a, 0), gen_value(&a, 0)};
        const uint8_t *p;
        struct value out;
        int want;

        if (gen_below(4) == 0)
            y[0] = x[0];
        want = value_compare(&x[0], &y[0]);
        if (!want)
            want = value_compare(&x[1], &y[1]);
        cr_buf_reset(&ka);
        cr_buf_reset(&kb);
        assert_int_equal(keycodec_encode_component(&x[0], &ka, NULL), 0);
        assert_int_equal(keycodec_encode_component(&x[1], &ka, NULL), 0);
        assert_int_equal(keycodec_encode_component(&y[0], &kb, NULL), 0);
        assert_int_equal(keycodec_encode_component(&y[1], &kb, NULL), 0);
        assert_int_equal(gen_memcmp(ka.data, ka.len, kb.data, kb.len), want);
        p = ka.data;
        assert_int_equal(keycodec_decode(&p, ka.data + ka.len, &d, &out), 0);
        assert_true(value_equal(&out, &x[0]));
        assert_int_equal(keycodec_decode(&p, ka.data + ka.len, &d, &out), 0);
        assert_true(value_equal(&out, &x[1]));
        assert_ptr_equal(p, ka.data + ka.len);
        if (i % 1024 == 0) {
            cr_arena_reset(&a);
            cr_arena_reset(&d);
        }
    }
    cr_arena_free(&a);
    cr_arena_free(&d);
    cr_buf_free(&ka);
    cr_buf_free(&kb);
}

/* Strings and byte strings around the truncation length, sharing long prefixes, some with NULs
 * (escape pairs) right at the cut, some nested in arrays. */
static struct value gen_long(struct cr_arena *a, const char *base, size_t base_len)
{
    struct value v = value_null(), *inner;
    size_t keep = base_len - gen_below(80), tail = gen_below(60), i;
    char *s = cr_arena_alloc(a, keep + tail + 1);

    memcpy(s, base, keep);
    for (i = 0; i < tail; i++)
        s[keep + i] = "\0\0a\xff"[gen_below(4)];
    v.type = gen_below(2) ? VT_STRING : VT_BYTES;
    v.u.s.ptr = s;
    v.u.s.len = keep + tail;
    if (gen_below(4) == 0) {
        inner = cr_arena_alloc(a, sizeof *inner);
        *inner = v;
        v.type = VT_ARRAY;
        v.u.arr.items = inner;
        v.u.arr.n = 1;
    }
    return v;
}

static void test_long_components(void **state)
{
    struct cr_arena a, d;
    struct cr_buf fa, fb, sa, sb, key;
    char base[260];
    long i, longs = 0, same_prefix = 0;
    size_t k;

    (void)state;
    cr_arena_init(&a, 0);
    cr_arena_init(&d, 0);
    cr_buf_init(&fa);
    cr_buf_init(&fb);
    cr_buf_init(&sa);
    cr_buf_init(&sb);
    cr_buf_init(&key);
    gen_seed(GEN_SEED + 12);
    for (k = 0; k < sizeof base; k++)
        base[k] = k % 17 == 0 ? '\0' : (char)('a' + gen_below(2));
    for (i = 0; i < 40000; i++) {
        struct value x = gen_long(&a, base, sizeof base), y = gen_long(&a, base, sizeof base);
        bool tx, ty;
        int cmp = value_compare(&x, &y), got;

        enc(&x, &fa);
        enc(&y, &fb);
        cr_buf_reset(&sa);
        cr_buf_reset(&sb);
        assert_int_equal(keycodec_encode_component(&x, &sa, &tx), 0);
        assert_int_equal(keycodec_encode_component(&y, &sb, &ty), 0);
        assert_int_equal(tx, fa.len > CR_KEY_PREFIX);
        assert_int_equal(ty, fb.len > CR_KEY_PREFIX);
        assert_true(sa.len <= CR_KEY_COMPONENT_MAX);
        if (tx) {
            assert_int_equal(sa.len, CR_KEY_COMPONENT_MAX);
            assert_memory_equal(sa.data, fa.data, CR_KEY_PREFIX);
            longs++;
        }
        got = gen_memcmp(sa.data, sa.len, sb.data, sb.len);
        if (tx && ty && memcmp(sa.data, sb.data, CR_KEY_PREFIX) == 0) {
            /* same kept prefix: ordered by hash, equal only when the values are */
            assert_int_equal(got == 0, cmp == 0);
            same_prefix++;
        } else {
            assert_int_equal(got, cmp);
        }
        if (tx) {
            const uint8_t *p = sa.data;
            struct value out;
            size_t len;

            assert_int_equal(keycodec_decode(&p, sa.data + sa.len, &d, &out), CR_ETOOLONG);
            assert_ptr_equal(p, sa.data + sa.len);
            assert_int_equal(keycodec_skip(sa.data, sa.data + sa.len, &len), 0);
            assert_int_equal(len, CR_KEY_COMPONENT_MAX);
            /* a long partition key followed by a sort key: the sort key still decodes */
            cr_buf_reset(&key);
            assert_int_equal(cr_buf_append(&key, sa.data, sa.len), 0);
            assert_int_equal(keycodec_encode_component(&y, &key, NULL), 0);
            p = key.data;
            assert_int_equal(keycodec_decode(&p, key.data + key.len, &d, &out), CR_ETOOLONG);
            if (!ty) {
                assert_int_equal(keycodec_decode(&p, key.data + key.len, &d, &out), 0);
                assert_true(value_equal(&out, &y));
            }
        } else {
            roundtrip(&x, &sa, &d);
        }
        if (i % 256 == 0) {
            cr_arena_reset(&a);
            cr_arena_reset(&d);
        }
    }
    printf("# %ld long components, %ld pairs sharing the kept prefix\n", longs, same_prefix);
    assert_true(longs > 1000 && same_prefix > 100);
    cr_arena_free(&a);
    cr_arena_free(&d);
    cr_buf_free(&fa);
    cr_buf_free(&fb);
    cr_buf_free(&sa);
    cr_buf_free(&sb);
    cr_buf_free(&key);
}

static void test_prefix(void **state)
{
    struct value p = value_string("a\0", 2), w = value_string("a\0b", 3);
    struct value other = value_string("a\x01", 2), n = value_int(1);
    struct cr_buf bp, bw;

    (void)state;
    cr_buf_init(&bp);
    cr_buf_init(&bw);
    assert_int_equal(keycodec_encode_prefix(&p, &bp), 0);
    enc(&w, &bw);
    assert_true(bw.len > bp.len);
    assert_memory_equal(bw.data, bp.data, bp.len);
    enc(&p, &bw);
    assert_memory_equal(bw.data, bp.data, bp.len);
    enc(&other, &bw);
    assert_memory_not_equal(bw.data, bp.data, bp.len);
    assert_int_equal(keycodec_encode_prefix(&n, &bp), CR_ETYPE);
    cr_buf_free(&bp);
    cr_buf_free(&bw);
}

static void test_nesting_and_invalid(void **state)
{
    struct value levels[CR_MAX_DEPTH + 1], one = value_int(1), v = value_null();
    struct value_field dup[] = {{"a", 1, &one}, {"a", 1, &one}};
    struct value set_dup[] = {value_int(1), dec("1")};
    struct cr_buf b;
    struct cr_arena a;
    const uint8_t *p;
    struct value out;
    uint8_t *deep;
    size_t i, n = 100000;

    (void)state;
    cr_buf_init(&b);
    cr_arena_init(&a, 0);
    for (i = 0; i <= CR_MAX_DEPTH; i++) {
        levels[i] = value_null();
        levels[i].type = VT_ARRAY;
        levels[i].u.arr.items = i < CR_MAX_DEPTH ? &levels[i + 1] : NULL;
        levels[i].u.arr.n = i < CR_MAX_DEPTH;
    }
    enc(&levels[1], &b);
    p = b.data;
    assert_int_equal(keycodec_decode(&p, b.data + b.len, &a, &out), 0);
    cr_buf_reset(&b);
    assert_int_equal(keycodec_encode(&levels[0], &b), CR_ENESTING);
    assert_int_equal(b.len, 0);
    memset(levels, 0, sizeof levels);
    gen_quiet(true);
    deep = malloc(n);
    memset(deep, 0x90, n);
    p = deep;
    assert_int_equal(keycodec_decode(&p, deep + n, &a, &out), CR_ECORRUPT);
    assert_int_equal(keycodec_skip(deep, deep + CR_MAX_DEPTH + 1, &i), CR_ECORRUPT);
    free(deep);
    gen_quiet(false);

    v.type = VT_MAP;
    v.u.map.fields = dup;
    v.u.map.n = 2;
    assert_int_equal(keycodec_encode(&v, &b), CR_EINVAL);
    v.type = VT_NS;
    v.u.arr.items = set_dup;
    v.u.arr.n = 2;
    assert_int_equal(keycodec_encode_component(&v, &b, NULL), CR_EINVAL);
    v.type = VT_TIMESTAMP;
    v.u.ts.nsec = 1000000000;
    assert_int_equal(keycodec_encode(&v, &b), CR_EINVAL);
    assert_int_equal(b.len, 0);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

/* Truncations always fail; mutations never crash, and whatever decodes has the length skip
 * reports. */
static void test_hostile_input(void **state)
{
    struct cr_arena a, d;
    struct cr_buf b;
    char base[260];
    long i;
    size_t k;

    (void)state;
    cr_arena_init(&a, 0);
    cr_arena_init(&d, 0);
    cr_buf_init(&b);
    gen_seed(GEN_SEED + 13);
    for (k = 0; k < sizeof base; k++)
        base[k] = (char)gen_u64();
    gen_quiet(true);
    for (i = 0; i < 4000; i++) {
        struct value v = i % 5 ? gen_value(&a, 0) : gen_long(&a, base, sizeof base), out;
        uint8_t *copy;

        cr_buf_reset(&b);
        assert_int_equal(keycodec_encode_component(&v, &b, NULL), 0);
        copy = malloc(b.len);
        for (k = 0; k < b.len; k++) {
            const uint8_t *p = copy;
            size_t len;

            memcpy(copy, b.data, k);
            assert_int_equal(keycodec_decode(&p, copy + k, &d, &out), CR_ECORRUPT);
            assert_int_equal(keycodec_skip(copy, copy + k, &len), CR_ECORRUPT);
        }
        for (k = 0; k < 8; k++) {
            const uint8_t *p = copy;
            size_t len, at = gen_below((unsigned)b.len);
            int rc;

            memcpy(copy, b.data, b.len);
            copy[at] = (uint8_t)(gen_below(2) ? gen_u64() : copy[at] ^ (1u << gen_below(8)));
            rc = keycodec_decode(&p, copy + b.len, &d, &out);
            if (rc == 0 || rc == CR_ETOOLONG) {
                assert_int_equal(keycodec_skip(copy, copy + b.len, &len), 0);
                assert_int_equal(len, (size_t)(p - copy));
            }
        }
        free(copy);
        cr_arena_reset(&a);
        cr_arena_reset(&d);
    }
    gen_quiet(false);
    cr_arena_free(&a);
    cr_arena_free(&d);
    cr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),         cmocka_unit_test(test_order_property),
        cmocka_unit_test(test_number_order),        cmocka_unit_test(test_rank_tags),
        cmocka_unit_test(test_number_decode_types), cmocka_unit_test(test_composite_property),
        cmocka_unit_test(test_long_components),     cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_nesting_and_invalid), cmocka_unit_test(test_hostile_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
