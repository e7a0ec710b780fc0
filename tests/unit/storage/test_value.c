/*
 * storage/value.c: the total order, equality across number types, the stored item encoding
 * (exact bytes, round trips, canonical form, hostile input), field lookup in encoded maps,
 * DynamoDB item sizes. Property tests use the fixed seed printed at start.
 */
#include "value_gen.h"

#include "common/buf.h"

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

static struct value str(const char *s)
{
    return value_string(s, strlen(s));
}

static struct value ts(int64_t sec, int32_t nsec)
{
    struct value v = value_null();

    v.type = VT_TIMESTAMP;
    v.u.ts.sec = sec;
    v.u.ts.nsec = nsec;
    return v;
}

static struct value geo(double lat, double lng)
{
    struct value v = value_null();

    v.type = VT_GEOPOINT;
    v.u.geo.lat = lat;
    v.u.geo.lng = lng;
    return v;
}

static struct value list(enum value_type t, struct value *items, size_t n)
{
    struct value v = value_null();

    v.type = t;
    v.u.arr.items = items;
    v.u.arr.n = n;
    return v;
}

static struct value map(struct value_field *f, size_t n)
{
    struct value v = value_null();

    v.type = VT_MAP;
    v.u.map.fields = f;
    v.u.map.n = n;
    return v;
}

static void encode_ok(const struct value *v, struct cr_buf *b)
{
    cr_buf_reset(b);
    assert_int_equal(value_encode(v, b), 0);
}

static void test_rank_and_names(void **state)
{
    enum value_type t;

    (void)state;
    assert_int_equal(value_rank(VT_INT), value_rank(VT_DECIMAL));
    assert_int_equal(value_rank(VT_DOUBLE), 2);
    assert_int_equal(value_rank(VT_BS), 12);
    for (t = VT_NULL; t <= VT_BS; t++)
        assert_string_not_equal(value_type_name(t), "unknown");
    assert_string_equal(value_type_name(VT_NS), "number set");
}

static void test_numbers_across_types(void **state)
{
    struct value one_i = value_int(1), one_d = value_double(1.0), one_x = dec("1.000");
    struct value tenth_d = value_double(0.1), tenth_x = dec("0.1");
    struct value nan = value_double(NAN), nan2 = value_double(-NAN), ninf = value_double(-INFINITY);
    struct value pz = value_double(0.0), nz = value_double(-0.0), zi = value_int(0), zx = dec("-0");
    struct value big_i = value_int(INT64_C(1) << 60), big_d = value_double(0x1p60);
    struct value big_x = dec("1152921504606847000");

    (void)state;
    assert_true(value_equal(&one_i, &one_d));
    assert_true(value_equal(&one_i, &one_x));
    assert_true(value_equal(&one_d, &one_x));
    assert_true(value_equal(&tenth_d, &tenth_x));
    assert_true(value_equal(&nan, &nan2));
    assert_int_equal(value_compare(&nan, &ninf), -1);
    assert_int_equal(value_compare(&ninf, &zi), -1);
    assert_true(value_equal(&pz, &nz));
    assert_true(value_equal(&nz, &zi));
    assert_true(value_equal(&zi, &zx));
    /* a double is its shortest decimal text: 2^60 reads "1.152921504606847e18" */
    assert_true(value_equal(&big_d, &big_x));
    assert_int_equal(value_compare(&big_i, &big_d), -1);
}

/* One value of every kind, strictly increasing in the total order. */
static void test_order_table(void **state)
{
    struct value arr1[] = {value_int(1)}, arr2[] = {value_int(1), value_null()},
                 arr3[] = {value_int(2)};
    struct value e1 = value_int(1), e2 = value_int(2);
    struct value_field m1[] = {{"a", 1, &e1}}, m2[] = {{"a", 1, &e2}},
                       m3[] = {{"a", 1, &e2}, {"b", 1, &e1}}, m4[] = {{"b", 1, &e1}};
    struct value ss1[] = {str("a")}, ss2[] = {str("b"), str("a")}, ss3[] = {str("b")};
    struct value ns1[] = {value_int(5)}, bs1[] = {value_bytes("", 0)};
    struct value ref = value_null();
    struct value order[40];
    size_t n = 0, i, j;

    (void)state;
    ref.type = VT_REF;
    ref.u.s.ptr = "p";
    ref.u.s.len = 1;
    order[n++] = value_null();
    order[n++] = value_bool(false);
    order[n++] = value_bool(true);
    order[n++] = value_double(NAN);
    order[n++] = value_double(-INFINITY);
    order[n++] = dec("-9.9999999999999999999999999999999999999E+125");
    order[n++] = value_int(INT64_MIN);
    order[n++] = value_int(-2);
    order[n++] = dec("-1.5");
    order[n++] = dec("-1e-130");
    order[n++] = value_double(-0.0);
    order[n++] = dec("1e-130");
    order[n++] = value_double(0.1);
    order[n++] = dec("0.10000000000000001");
    order[n++] = value_int(1);
    order[n++] = dec("1.0000000000000000000000000000000000001");
    order[n++] = value_int(INT64_MAX);
    order[n++] = dec("9.9999999999999999999999999999999999999E+125");
    order[n++] = value_double(1e300);
    order[n++] = value_double(INFINITY);
    order[n++] = ts(-1, 999999999);
    order[n++] = ts(0, 0);
    order[n++] = str("");
    order[n++] = value_string("\0", 1);
    order[n++] = str("a");
    order[n++] = value_string("a\0", 2);
    order[n++] = str("ab");
    order[n++] = str("\xff");
    order[n++] = value_bytes("a", 1);
    order[n++] = ref;
    order[n++] = geo(NAN, 5);
    order[n++] = geo(-1, 5);
    order[n++] = geo(0, -1);
    order[n++] = list(VT_ARRAY, NULL, 0);
    order[n++] = list(VT_ARRAY, arr1, 1);
    order[n++] = list(VT_ARRAY, arr2, 2);
    order[n++] = list(VT_ARRAY, arr3, 1);
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            assert_int_equal(value_compare(&order[i], &order[j]), (i > j) - (i < j));

    n = 0;
    order[n++] = map(NULL, 0);
    order[n++] = map(m1, 1);
    order[n++] = map(m2, 1);
    order[n++] = map(m3, 2);
    order[n++] = map(m4, 1);
    order[n++] = list(VT_SS, ss1, 1);
    order[n++] = list(VT_SS, ss2, 2); /* unsorted in memory: compares as {a, b} */
    order[n++] = list(VT_SS, ss3, 1);
    order[n++] = list(VT_NS, ns1, 1);
    order[n++] = list(VT_BS, bs1, 1);
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            assert_int_equal(value_compare(&order[i], &order[j]), (i > j) - (i < j));
}

static void test_compare_total_order(void **state)
{
    struct cr_arena a;
    long i, pairs = 200000, triples = 60000;

    (void)state;
    cr_arena_init(&a, 0);
    gen_seed(GEN_SEED);
    for (i = 0; i < pairs; i++) {
        struct value x = gen_value(&a, 0), y = gen_value(&a, 0);
        int c = value_compare(&x, &y);

        assert_true(c >= -1 && c <= 1);
        assert_int_equal(c, -value_compare(&y, &x));
        assert_int_equal(value_compare(&x, &x), 0);
        assert_int_equal(value_equal(&x, &y), c == 0);
        if (i % 1024 == 0)
            cr_arena_reset(&a);
    }
    for (i = 0; i < triples; i++) {
        struct value t[3] = {gen_value(&a, 0), gen_value(&a, 0), gen_value(&a, 0)};
        int ab = value_compare(&t[0], &t[1]), bc = value_compare(&t[1], &t[2]);
        int ac = value_compare(&t[0], &t[2]);

        if (ab <= 0 && bc <= 0)
            assert_true(ac <= 0);
        if (ab >= 0 && bc >= 0)
            assert_true(ac >= 0);
        if (ab == 0)
            assert_int_equal(ac, bc);
        if (i % 1024 == 0)
            cr_arena_reset(&a);
    }
    cr_arena_free(&a);
}

static void test_encode_exact_bytes(void **state)
{
    struct value null_item[] = {value_null()};
    struct value b = value_bool(true), f = value_bool(false);
    struct value_field fields[] = {{"b", 1, &f}, {"a", 1, &b}};
    struct {
        struct value v;
        const char *hex;
    } cases[] = {
        {value_null(), "00"},
        {value_bool(true), "02"},
        {value_int(0), "0300"},
        {value_int(-1), "0301"},
        {value_int(1), "0302"},
        {value_int(64), "038001"},
        {value_double(1.0), "043ff0000000000000"},
        {value_double(-0.0), "048000000000000000"},
        {dec("0"), "050081"},
        {dec("-12.5"), "058383125"
                       "0"},
        {dec("1e-130"), "05010010"},
        {str("ab"), "06026162"},
        {value_bytes("", 0), "0700"},
        {ts(-1, 5), "090105"},
        {list(VT_ARRAY, null_item, 1), "0b010100"},
        {map(fields, 2), "0c0206016102016201"},
    };
    struct cr_buf buf;
    char hex[64];
    size_t i, k;

    (void)state;
    cr_buf_init(&buf);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        encode_ok(&cases[i].v, &buf);
        for (k = 0; k < buf.len && 2 * k + 2 < sizeof hex; k++)
            snprintf(hex + 2 * k, 3, "%02x", buf.data[k]);
        hex[2 * k] = '\0';
        assert_string_equal(hex, cases[i].hex);
    }
    cr_buf_free(&buf);
}

static void test_encode_roundtrip_property(void **state)
{
    struct cr_arena a, d;
    struct cr_buf b1, b2;
    long i;

    (void)state;
    cr_arena_init(&a, 0);
    cr_arena_init(&d, 0);
    cr_buf_init(&b1);
    cr_buf_init(&b2);
    gen_seed(GEN_SEED + 1);
    for (i = 0; i < 60000; i++) {
        struct value v = gen_value(&a, 0), out, copy;

        encode_ok(&v, &b1);
        assert_int_equal(value_decode(b1.data, b1.len, &d, &out), 0);
        assert_true(value_equal(&out, &v));
        encode_ok(&out, &b2); /* one encoding per value: decode then encode is the identity */
        assert_int_equal(gen_memcmp(b1.data, b1.len, b2.data, b2.len), 0);
        assert_int_equal(value_clone(&out, &a, &copy), 0);
        assert_true(value_equal(&copy, &v));
        if (i % 512 == 0) {
            cr_arena_reset(&a);
            cr_arena_reset(&d);
        }
    }
    cr_arena_free(&a);
    cr_arena_free(&d);
    cr_buf_free(&b1);
    cr_buf_free(&b2);
}

/* Every truncation fails; every one-byte mutation is either rejected or decodes to a value that
 * encodes back to exactly the mutated bytes. Never a crash (ASan/UBSan watch). */
static void test_decode_hostile_input(void **state)
{
    struct cr_arena a, d;
    struct cr_buf b, back;
    uint8_t *copy;
    long i;
    size_t k;

    (void)state;
    cr_arena_init(&a, 0);
    cr_arena_init(&d, 0);
    cr_buf_init(&b);
    cr_buf_init(&back);
    gen_seed(GEN_SEED + 2);
    gen_quiet(true);
    for (i = 0; i < 3000; i++) {
        struct value v = gen_value(&a, 0), out;

        encode_ok(&v, &b);
        copy = malloc(b.len);
        for (k = 0; k < b.len; k++) {
            memcpy(copy, b.data, k); /* exactly k bytes, so ASan sees any overread */
            assert_int_not_equal(value_decode(copy, k, &d, &out), 0);
        }
        for (k = 0; k < 8; k++) {
            size_t at = gen_below((unsigned)b.len);

            memcpy(copy, b.data, b.len);
            copy[at] = (uint8_t)(gen_below(3) ? gen_u64() : copy[at] ^ (1u << gen_below(8)));
            if (value_decode(copy, b.len, &d, &out) == 0) {
                cr_buf_reset(&back);
                assert_int_equal(value_encode(&out, &back), 0);
                assert_int_equal(gen_memcmp(back.data, back.len, copy, b.len), 0);
            }
        }
        free(copy);
        cr_arena_reset(&a);
        cr_arena_reset(&d);
    }
    for (i = 0; i < 20000; i++) {
        uint8_t junk[24];
        size_t n = gen_below(sizeof junk + 1);
        struct value out;

        for (k = 0; k < n; k++)
            junk[k] = (uint8_t)(gen_below(2) ? gen_below(16) : gen_u64());
        (void)value_decode(junk, n, &d, &out);
        cr_arena_reset(&d);
    }
    gen_quiet(false);
    cr_arena_free(&a);
    cr_arena_free(&d);
    cr_buf_free(&b);
    cr_buf_free(&back);
}

static void test_nesting(void **state)
{
    struct value levels[CR_MAX_DEPTH + 2], out;
    struct cr_buf b;
    struct cr_arena a;
    uint8_t *deep;
    size_t i, n = 100000;

    (void)state;
    cr_buf_init(&b);
    cr_arena_init(&a, 0);
    /* levels[i] holds levels[i + 1]; levels[CR_MAX_DEPTH] is the innermost empty array */
    for (i = 0; i <= CR_MAX_DEPTH; i++)
        levels[i] = list(VT_ARRAY, i < CR_MAX_DEPTH ? &levels[i + 1] : NULL, i < CR_MAX_DEPTH);
    assert_int_equal(value_encode(&levels[1], &b), 0); /* CR_MAX_DEPTH arrays deep */
    assert_int_equal(value_decode(b.data, b.len, &a, &out), 0);
    cr_buf_reset(&b);
    assert_int_equal(value_encode(&levels[0], &b), CR_ENESTING);
    assert_int_equal(b.len, 0);

    /* The same too-deep shape written by hand, and a very deep one: rejected, no deep recursion */
    gen_quiet(true);
    for (i = 0; i <= CR_MAX_DEPTH; i++) {
        /* array header: tag, count, body length (each level's body is the 3-byte headers below) */
        uint8_t hdr[3] = {0x0b, i < CR_MAX_DEPTH, (uint8_t)(3 * (CR_MAX_DEPTH - i))};

        assert_int_equal(cr_buf_append(&b, hdr, 3), 0);
    }
    assert_int_equal(value_decode(b.data, b.len, &a, &out), CR_ECORRUPT);
    deep = malloc(n);
    memset(deep, 0x0b, n);
    assert_int_equal(value_decode(deep, n, &a, &out), CR_ECORRUPT);
    gen_quiet(false);
    free(deep);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

static void test_invalid_values(void **state)
{
    struct value one = value_int(1);
    struct value_field dup[] = {{"a", 1, &one}, {"b", 1, &one}, {"a", 1, &one}};
    struct value ss_dup[] = {str("x"), str("y"), str("x")}, ss_int[] = {str("x"), value_int(1)};
    struct value ns_dup[] = {value_int(1), value_double(1.0)};
    struct value bad_dec = value_null(), v;
    struct cr_buf b;

    (void)state;
    cr_buf_init(&b);
    assert_int_equal(cr_buf_append(&b, "zz", 2), 0);
    v = map(dup, 3);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    v = list(VT_SS, ss_dup, 3);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    v = list(VT_SS, ss_int, 2);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    v = list(VT_NS, ns_dup, 2);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    v = list(VT_BS, NULL, 0);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    v = ts(0, 1000000000);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    v = ts(0, -1);
    assert_int_equal(value_encode(&v, &b), CR_EINVAL);
    bad_dec.type = VT_DECIMAL;
    bad_dec.u.dec.n = 2;
    bad_dec.u.dec.d[0] = 1; /* trailing zero digit: not normalized */
    assert_int_equal(value_encode(&bad_dec, &b), CR_EINVAL);
    assert_int_equal(b.len, 2); /* failures leave the buffer as it was */
    assert_memory_equal(b.data, "zz", 2);
    cr_buf_free(&b);
}

static void test_sorted_on_encode(void **state)
{
    struct value one = value_int(1), two = value_int(2), three = value_int(3), out;
    struct value_field f[] = {{"b", 1, &two}, {"ab", 2, &three}, {"a", 1, &one}};
    struct value ns[] = {value_double(2.5), value_int(-3), dec("1e-5")};
    struct value v = map(f, 3), s = list(VT_NS, ns, 3);
    struct cr_buf b;
    struct cr_arena a;

    (void)state;
    cr_buf_init(&b);
    cr_arena_init(&a, 0);
    encode_ok(&v, &b);
    assert_int_equal(value_decode(b.data, b.len, &a, &out), 0);
    assert_int_equal(out.u.map.n, 3);
    assert_memory_equal(out.u.map.fields[0].name, "a", 1);
    assert_memory_equal(out.u.map.fields[1].name, "ab", 2);
    assert_memory_equal(out.u.map.fields[2].name, "b", 1);
    assert_int_equal(out.u.map.fields[2].value->u.i, 2);
    assert_ptr_equal(value_map_get(&v, "ab", 2), &three);
    assert_null(value_map_get(&v, "c", 1));
    assert_null(value_map_get(&one, "a", 1));
    encode_ok(&s, &b);
    assert_int_equal(value_decode(b.data, b.len, &a, &out), 0);
    assert_int_equal(out.type, VT_NS);
    assert_int_equal(out.u.arr.items[0].type, VT_INT);
    assert_int_equal(out.u.arr.items[1].type, VT_DECIMAL);
    assert_int_equal(out.u.arr.items[2].type, VT_DOUBLE);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

static void test_map_find_encoded(void **state)
{
    struct value one = value_int(1), s = str("hello"), inner_items[] = {value_int(7), str("x")};
    struct value inner = list(VT_ARRAY, inner_items, 2), out;
    struct value_field f[] = {{"zeta", 4, &s}, {"alpha", 5, &one}, {"list", 4, &inner}};
    struct value v = map(f, 3);
    const uint8_t *fp;
    size_t fn, k;
    struct cr_buf b;
    struct cr_arena a;
    long i;

    (void)state;
    cr_buf_init(&b);
    cr_arena_init(&a, 0);
    encode_ok(&v, &b);
    assert_int_equal(value_map_find_encoded(b.data, b.len, "list", 4, &fp, &fn), 0);
    assert_int_equal(value_decode(fp, fn, &a, &out), 0);
    assert_true(value_equal(&out, &inner));
    assert_int_equal(value_map_find_encoded(b.data, b.len, "zeta", 4, &fp, &fn), 0);
    assert_int_equal(value_decode(fp, fn, &a, &out), 0);
    assert_true(value_equal(&out, &s));
    assert_int_equal(value_map_find_encoded(b.data, b.len, "beta", 4, &fp, &fn), CR_ENOTFOUND);
    assert_int_equal(value_map_find_encoded(b.data, b.len, "zz", 2, &fp, &fn), CR_ENOTFOUND);
    assert_int_equal(value_map_find_encoded(b.data, b.len, "", 0, &fp, &fn), CR_ENOTFOUND);
    encode_ok(&inner, &b);
    assert_int_equal(value_map_find_encoded(b.data, b.len, "a", 1, &fp, &fn), CR_ETYPE);

    /* against value_map_get on random maps, and never out of bounds on their truncations */
    gen_seed(GEN_SEED + 3);
    gen_quiet(true);
    for (i = 0; i < 20000; i++) {
        struct value m;
        const struct value *want;
        char name[2];
        size_t name_len = gen_below(3);
        int rc;

        do {
            m = gen_value(&a, 0);
        } while (m.type != VT_MAP);
        for (k = 0; k < name_len; k++)
            name[k] = "\0ab"[gen_below(3)];
        encode_ok(&m, &b);
        want = value_map_get(&m, name, name_len);
        rc = value_map_find_encoded(b.data, b.len, name, name_len, &fp, &fn);
        if (!want) {
            assert_int_equal(rc, CR_ENOTFOUND);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(value_decode(fp, fn, &a, &out), 0);
            assert_true(value_equal(&out, want));
        }
        for (k = 0; k < b.len && i % 8 == 0; k++) {
            uint8_t *copy = malloc(k + 1);

            memcpy(copy, b.data, k);
            rc = value_map_find_encoded(copy, k, name, name_len, &fp, &fn);
            if (rc == 0)
                assert_true(fp >= copy && fp + fn <= copy + k);
            free(copy);
        }
        cr_arena_reset(&a);
    }
    gen_quiet(false);
    cr_arena_free(&a);
    cr_buf_free(&b);
}

/* DynamoDB's published rules (value.h): names plus values, numbers 1 + digits/2. */
static void test_ddb_size(void **state)
{
    struct value n123 = dec("123"), s = str("abc"), t = value_bool(true), nul = value_null();
    struct value big = dec("12345678901234567890123456789012345678"), i = value_int(-1000);
    struct value d = value_double(0.1), empty_str = str("");
    struct value items[] = {str("ab"), value_int(1)}, arr = list(VT_ARRAY, items, 2);
    struct value_field inner_f[] = {{"k", 1, &s}};
    struct value inner = map(inner_f, 1);
    struct value ss_items[] = {str("a"), str("bcd")}, ss = list(VT_SS, ss_items, 2);
    struct value_field f[] = {{"id", 2, &n123},  {"name", 4, &s},  {"ok", 2, &t},
                              {"none", 4, &nul}, {"arr", 3, &arr}, {"m", 1, &inner},
                              {"tags", 4, &ss}};
    struct value item = map(f, 7), only = map(inner_f, 1);

    (void)state;
    assert_int_equal(value_ddb_size(&n123), 3);
    assert_int_equal(value_ddb_size(&big), 20);
    assert_int_equal(value_ddb_size(&i), 2);
    assert_int_equal(value_ddb_size(&d), 2);
    assert_int_equal(value_ddb_size(&empty_str), 0);
    assert_int_equal(value_ddb_size(&arr), 3 + (1 + 2) + (1 + 2));
    assert_int_equal(value_ddb_size(&ss), 4);
    assert_int_equal(value_ddb_size(&only), 1 + 3); /* a top-level map is an item */
    /* id 2+3, name 4+3, ok 2+1, none 4+1, arr 3+9, m 1+(3+1+1+3), tags 4+4 */
    assert_int_equal(value_ddb_size(&item), 5 + 7 + 3 + 5 + 12 + 9 + 8);
}

static void test_number_to_decimal(void **state)
{
    struct value v = value_double(0.1), s = str("1");
    struct decimal d;
    char text[CR_DECIMAL_TEXT_MAX];

    (void)state;
    assert_int_equal(value_number_to_decimal(&v, &d), 0);
    decimal_format(&d, text, sizeof text);
    assert_string_equal(text, "0.1");
    v = value_int(INT64_MIN);
    assert_int_equal(value_number_to_decimal(&v, &d), 0);
    decimal_format(&d, text, sizeof text);
    assert_string_equal(text, "-9223372036854775808");
    v = value_double(NAN);
    assert_int_equal(value_number_to_decimal(&v, &d), CR_ENUMBER);
    v = value_double(1e300);
    assert_int_equal(value_number_to_decimal(&v, &d), CR_ENUMBER);
    assert_int_equal(value_number_to_decimal(&s, &d), CR_ETYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_and_names),
        cmocka_unit_test(test_numbers_across_types),
        cmocka_unit_test(test_order_table),
        cmocka_unit_test(test_compare_total_order),
        cmocka_unit_test(test_encode_exact_bytes),
        cmocka_unit_test(test_encode_roundtrip_property),
        cmocka_unit_test(test_decode_hostile_input),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_sorted_on_encode),
        cmocka_unit_test(test_map_find_encoded),
        cmocka_unit_test(test_ddb_size),
        cmocka_unit_test(test_number_to_decimal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
