/*
 * Seeded random values for the property tests of value.c and keycodec.c. Values are drawn from
 * small pools on purpose, so that random pairs are often equal, share prefixes, or are equal
 * numbers of different types; the rest covers the edges (NaN, -0.0, subnormals, INT64_MIN,
 * decimals at both ends of the exponent range, NUL and 0xFF bytes). Header-only: each test
 * binary includes it once.
 */
#ifndef CR_TEST_VALUE_GEN_H
#define CR_TEST_VALUE_GEN_H

#include "common/arena.h"
#include "common/error.h"
#include "storage/value.h"

#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GEN_SEED UINT64_C(0x5eed0c0dec2024)

static uint64_t gen_state = GEN_SEED;

static inline void gen_seed(uint64_t seed)
{
    gen_state = seed;
    printf("# PRNG seed 0x%llx\n", (unsigned long long)seed);
}

/* splitmix64 */
static inline uint64_t gen_u64(void)
{
    uint64_t z = (gen_state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline unsigned gen_below(unsigned n)
{
    return (unsigned)(gen_u64() % n);
}

static inline int gen_sign(int c)
{
    return (c > 0) - (c < 0);
}

/* memcmp order of two byte strings, shorter prefix first */
static inline int gen_memcmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return gen_sign(c);
    return (an > bn) - (an < bn);
}

static inline int64_t gen_int(void)
{
    static const int64_t pool[] = {0,
                                   1,
                                   -1,
                                   2,
                                   10,
                                   -10,
                                   100,
                                   12,
                                   INT64_MAX,
                                   INT64_MIN,
                                   INT64_MIN + 1,
                                   (INT64_C(1) << 53) + 1,
                                   INT64_C(1) << 60,
                                   INT64_C(1152921504606847000),
                                   INT64_C(1000000000000000000)};

    switch (gen_below(3)) {
    case 0:
        return pool[gen_below(sizeof pool / sizeof pool[0])];
    case 1:
        return (int64_t)gen_below(21) - 10;
    default:
        return (int64_t)(gen_u64() >> gen_below(64));
    }
}

static inline double gen_double(void)
{
    static const double pool[] = {0.0,
                                  -0.0,
                                  1.0,
                                  -1.0,
                                  0.1,
                                  -0.1,
                                  0.5,
                                  1e23,
                                  1e-130,
                                  1e-131,
                                  9.9999999999999999e125,
                                  1e126,
                                  1e300,
                                  -1e300,
                                  5e-324,
                                  -5e-324,
                                  DBL_MIN,
                                  DBL_MAX,
                                  -DBL_MAX,
                                  1152921504606846976.0,
                                  9007199254740993.0,
                                  12.0,
                                  100.0,
                                  2.5e-10};
    uint64_t bits;
    double d;

    switch (gen_below(6)) {
    case 0:
        return NAN;
    case 1:
        return gen_below(2) ? INFINITY : -INFINITY;
    case 2:
        return pool[gen_below(sizeof pool / sizeof pool[0])];
    case 3:
        return (double)((int)gen_below(21) - 10) / (gen_below(2) ? 1.0 : 4.0);
    case 4:
        /* subnormals: exponent bits zero */
        bits = gen_u64() & ((UINT64_C(1) << 52) - 1);
        if (gen_below(2))
            bits |= UINT64_C(1) << 63;
        memcpy(&d, &bits, sizeof d);
        return d;
    default:
        bits = gen_u64();
        memcpy(&d, &bits, sizeof d);
        return d;
    }
}

static inline void gen_decimal(struct decimal *d)
{
    static const char *pool[] = {"1",
                                 "-1",
                                 "0",
                                 "0.1",
                                 "1e-130",
                                 "-1e-130",
                                 "9.9999999999999999999999999999999999999E+125",
                                 "-9.9999999999999999999999999999999999999E+125",
                                 "12",
                                 "100",
                                 "0.5",
                                 "1152921504606847000",
                                 "1152921504606846976",
                                 "9223372036854775807",
                                 "-9223372036854775808",
                                 "1e125",
                                 "12345678901234567890123456789012345678"};
    int i;

    if (gen_below(3) == 0) {
        const char *s = pool[gen_below(sizeof pool / sizeof pool[0])];
        int rc = decimal_parse(s, strlen(s), d);

        if (rc)
            abort();
        return;
    }
    memset(d, 0, sizeof *d);
    d->n = (uint8_t)(1 + (gen_below(2) ? gen_below(4) : gen_below(CR_DECIMAL_DIGITS)));
    for (i = 0; i < d->n; i++)
        d->d[i] = (uint8_t)(gen_below(2) ? gen_below(10) : 9 * gen_below(2));
    d->d[0] = (uint8_t)(1 + gen_below(9));
    d->d[d->n - 1] = (uint8_t)(1 + gen_below(9));
    switch (gen_below(4)) {
    case 0:
        d->exp = (int16_t)(CR_DECIMAL_EXP_MIN + (int)gen_below(3));
        break;
    case 1:
        d->exp = (int16_t)(CR_DECIMAL_EXP_MAX - (int)gen_below(3));
        break;
    case 2:
        d->exp = (int16_t)((int)gen_below(7) - 3);
        break;
    default:
        d->exp = (int16_t)(CR_DECIMAL_EXP_MIN +
                           (int)gen_below(CR_DECIMAL_EXP_MAX - CR_DECIMAL_EXP_MIN + 1));
    }
    d->neg = gen_below(2);
}

/* Short strings over a tiny alphabet that includes NUL, 0x01, 0xFE and 0xFF. */
static char *gen_text(struct cr_arena *a, size_t *len, size_t max)
{
    static const char alphabet[] = {'\0', '\x01', 'a', 'b', '\xfe', '\xff'};
    size_t n = gen_below((unsigned)max + 1), i;
    char *s = cr_arena_alloc(a, n + 1);

    for (i = 0; i < n; i++)
        s[i] = alphabet[gen_below(sizeof alphabet)];
    *len = n;
    return s;
}

static inline struct value gen_value(struct cr_arena *a, int depth);

/* Appends a distinct random member to a set; returns false when a duplicate came out. */
static inline bool gen_add_member(struct value *set, struct cr_arena *a)
{
    struct value m;
    size_t i;

    if (set->type == VT_SS) {
        m.type = VT_STRING;
        m.u.s.ptr = gen_text(a, &m.u.s.len, 4);
    } else if (set->type == VT_BS) {
        m.type = VT_BYTES;
        m.u.s.ptr = gen_text(a, &m.u.s.len, 4);
    } else {
        do {
            m = gen_value(a, CR_MAX_DEPTH);
        } while (m.type != VT_INT && m.type != VT_DOUBLE && m.type != VT_DECIMAL);
    }
    for (i = 0; i < set->u.arr.n; i++)
        if (value_equal(&set->u.arr.items[i], &m))
            return false;
    set->u.arr.items[set->u.arr.n++] = m;
    return true;
}

static inline struct value gen_value(struct cr_arena *a, int depth)
{
    struct value v;
    unsigned kind = gen_below(depth >= 3 ? 11 : 15), i, n;

    memset(&v, 0, sizeof v);
    switch (kind) {
    case 0:
        v.type = VT_NULL;
        break;
    case 1:
        v.type = VT_BOOL;
        v.u.b = gen_below(2);
        break;
    case 2:
        v.type = VT_INT;
        v.u.i = gen_int();
        break;
    case 3:
        v.type = VT_DOUBLE;
        v.u.d = gen_double();
        break;
    case 4:
        v.type = VT_DECIMAL;
        gen_decimal(&v.u.dec);
        break;
    case 5:
    case 6:
        v.type = kind == 5 ? VT_STRING : VT_BYTES;
        v.u.s.ptr = gen_text(a, &v.u.s.len, 6);
        break;
    case 7:
        v.type = VT_REF;
        v.u.s.ptr = gen_text(a, &v.u.s.len, 3);
        break;
    case 8:
        v.type = VT_TIMESTAMP;
        v.u.ts.sec = gen_below(2) ? (int64_t)gen_below(5) - 2 : (int64_t)gen_u64();
        v.u.ts.nsec = gen_below(2) ? (int32_t)gen_below(3) : (int32_t)gen_below(1000000000);
        break;
    case 9: {
        static const double coords[] = {NAN, -90.0, -0.0, 0.0, 1.5, 90.0, -INFINITY};
        v.type = VT_GEOPOINT;
        v.u.geo.lat = coords[gen_below(7)];
        v.u.geo.lng = coords[gen_below(7)];
        break;
    }
    case 10:
        v.type = VT_DECIMAL;
        gen_decimal(&v.u.dec);
        break;
    case 11:
        v.type = VT_ARRAY;
        v.u.arr.n = gen_below(4);
        v.u.arr.items = cr_arena_alloc(a, 4 * sizeof(struct value));
        for (i = 0; i < v.u.arr.n; i++)
            v.u.arr.items[i] = gen_value(a, depth + 1);
        break;
    case 12: {
        struct value_field *f = cr_arena_alloc(a, 4 * sizeof *f);

        v.type = VT_MAP;
        n = gen_below(4);
        v.u.map.fields = f;
        v.u.map.n = 0;
        for (i = 0; i < n; i++) {
            struct value_field g;
            size_t j;
            bool dup = false;

            g.name = gen_text(a, &g.name_len, 2);
            g.value = cr_arena_alloc(a, sizeof *g.value);
            *g.value = gen_value(a, depth + 1);
            for (j = 0; j < v.u.map.n; j++)
                dup |= f[j].name_len == g.name_len && !memcmp(f[j].name, g.name, g.name_len);
            if (!dup)
                f[v.u.map.n++] = g;
        }
        break;
    }
    default:
        v.type = kind == 13 ? VT_SS : gen_below(2) ? VT_NS : VT_BS;
        v.u.arr.items = cr_arena_alloc(a, 3 * sizeof(struct value));
        n = 1 + gen_below(3);
        for (i = 0; i < n; i++)
            gen_add_member(&v, a);
        break;
    }
    return v;
}

/* cr_log writes corruption reports to fd 2; the garbage-input loops expect thousands. */
static int gen_saved_stderr = -1;

static inline void gen_quiet(bool on)
{
    if (on) {
        int devnull = open("/dev/null", O_WRONLY);

        gen_saved_stderr = dup(2);
        dup2(devnull, 2);
        close(devnull);
    } else if (gen_saved_stderr >= 0) {
        dup2(gen_saved_stderr, 2);
        close(gen_saved_stderr);
        gen_saved_stderr = -1;
    }
}

#endif
