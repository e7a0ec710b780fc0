/*
 * DynamoDB numbers: parsing, canonical text, conversions to and from int64 and double, and the
 * numeric order. A struct decimal is always normalized (value.h), so equal numbers have equal
 * structs and the order is sign, exponent, then digits.
 *
 * Doubles map to the shortest decimal that reads back to the same double; that is what makes
 * 0.1 (double) equal 0.1 (decimal) and what the key codec encodes. Nothing here may depend on
 * the process locale beyond the "C" decimal point that snprintf and strtod use in cirrusd (it
 * never calls setlocale).
 */
#include "storage/value.h"
#include "common/assert.h"
#include "common/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exponents are clamped far outside any range we accept so the arithmetic cannot overflow. */
#define EXP_CLAMP 1000000000

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void set_zero(struct decimal *out)
{
    memset(out, 0, sizeof *out);
}

/*
 * [+-]digits[.digits][(e|E)[+-]digits], with at least one mantissa digit on either side of the
 * point. check_range applies DynamoDB's exponent range; the digit limit always applies.
 */
static int parse(const char *s, size_t len, bool check_range, struct decimal *out)
{
    size_t i = 0, ndig = 0, int_len = 0, first_nz = SIZE_MAX, last_nz = 0, mant_end, k;
    bool neg = false, dot = false;
    int64_t e = 0, exp;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        if (is_digit(s[i])) {
            if (s[i] != '0') {
                if (first_nz == SIZE_MAX)
                    first_nz = ndig;
                last_nz = ndig;
            }
            ndig++;
            if (!dot)
                int_len++;
        } else if (s[i] == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (ndig == 0)
        return CR_EINVAL;
    mant_end = i;
    if (i < len) {
        bool eneg = false;

        if (s[i] != 'e' && s[i] != 'E')
            return CR_EINVAL;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == len)
            return CR_EINVAL;
        for (; i < len; i++) {
            if (!is_digit(s[i]))
                return CR_EINVAL;
            if (e < EXP_CLAMP)
                e = e * 10 + (s[i] - '0');
        }
        if (eneg)
            e = -e;
    }
    if (first_nz == SIZE_MAX) {
        set_zero(out);
        return 0;
    }
    if (last_nz - first_nz + 1 > CR_DECIMAL_DIGITS)
        return CR_ENUMBER;
    if (int_len > EXP_CLAMP || first_nz > EXP_CLAMP)
        return CR_ENUMBER;
    exp = (int64_t)int_len - (int64_t)first_nz + e;
    if (check_range && (exp < CR_DECIMAL_EXP_MIN || exp > CR_DECIMAL_EXP_MAX))
        return CR_ENUMBER;
    if (exp < INT16_MIN || exp > INT16_MAX)
        return CR_ENUMBER;

    memset(out, 0, sizeof *out);
    out->neg = neg;
    out->n = (uint8_t)(last_nz - first_nz + 1);
    out->exp = (int16_t)exp;
    k = 0;
    for (i = 0; i < mant_end; i++) {
        if (!is_digit(s[i]))
            continue;
        if (k >= first_nz && k <= last_nz)
            out->d[k - first_nz] = (uint8_t)(s[i] - '0');
        k++;
    }
    return 0;
}

int decimal_parse(const char *s, size_t len, struct decimal *out)
{
    return parse(s, len, true, out);
}

/* Appends c when there is room for it and the final NUL; counts it either way. */
static void emit(char *buf, size_t cap, size_t *k, char c)
{
    if (*k + 1 < cap)
        buf[*k] = c;
    (*k)++;
}

size_t decimal_format(const struct decimal *d, char *buf, size_t cap)
{
    size_t k = 0;
    int i;

    if (d->n == 0) {
        emit(buf, cap, &k, '0');
    } else {
        if (d->neg)
            emit(buf, cap, &k, '-');
        if (d->exp <= 0) {
            emit(buf, cap, &k, '0');
            emit(buf, cap, &k, '.');
            for (i = 0; i < -d->exp; i++)
                emit(buf, cap, &k, '0');
            for (i = 0; i < d->n; i++)
                emit(buf, cap, &k, (char)('0' + d->d[i]));
        } else {
            for (i = 0; i < d->n || i < d->exp; i++) {
                if (i == d->exp)
                    emit(buf, cap, &k, '.');
                emit(buf, cap, &k, i < d->n ? (char)('0' + d->d[i]) : '0');
            }
        }
    }
    if (cap > 0)
        buf[k < cap ? k : cap - 1] = '\0';
    return k;
}

void decimal_from_int64(int64_t v, struct decimal *out)
{
    /* The magnitude as unsigned so INT64_MIN needs no special case. */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint8_t rev[20];
    int n = 0, lead, i;

    set_zero(out);
    if (m == 0)
        return;
    while (m) {
        rev[n++] = (uint8_t)(m % 10);
        m /= 10;
    }
    out->neg = v < 0;
    out->exp = (int16_t)n;
    lead = 0;
    while (rev[lead] == 0)
        lead++; /* trailing zeros of the integer are not significant */
    out->n = (uint8_t)(n - lead);
    for (i = 0; i < out->n; i++)
        out->d[i] = rev[n - 1 - i];
}

void decimal_from_double_wide(double v, struct decimal *out)
{
    char buf[40];
    int lo = 1, hi = 17, rc;

    if (v == 0 || !isfinite(v)) {
        set_zero(out);
        return;
    }
    /* If p digits read back to v then so do p + 1 (the nearest (p+1)-digit decimal is at least
     * as close as the nearest p-digit one), so the shortest precision can be bisected. */
    while (lo < hi) {
        int mid = (lo + hi) / 2;

        snprintf(buf, sizeof buf, "%.*e", mid - 1, v);
        if (strtod(buf, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(buf, sizeof buf, "%.*e", lo - 1, v);
    rc = parse(buf, strlen(buf), false, out);
    CR_ASSERT(rc == 0); /* %e of a finite double has at most 17 digits and a 3-digit exponent */
    (void)rc;
}

int decimal_from_double(double v, struct decimal *out)
{
    struct decimal d;

    if (!isfinite(v))
        return CR_ENUMBER;
    decimal_from_double_wide(v, &d);
    if (d.n && (d.exp < CR_DECIMAL_EXP_MIN || d.exp > CR_DECIMAL_EXP_MAX))
        return CR_ENUMBER;
    *out = d;
    return 0;
}

double decimal_to_double(const struct decimal *d)
{
    char buf[64];
    size_t k = 0;
    int i;

    if (d->n == 0)
        return 0.0;
    if (d->neg)
        buf[k++] = '-';
    buf[k++] = '0';
    buf[k++] = '.';
    for (i = 0; i < d->n && i < CR_DECIMAL_DIGITS; i++)
        buf[k++] = (char)('0' + d->d[i]);
    snprintf(buf + k, sizeof buf - k, "e%d", d->exp);
    return strtod(buf, NULL);
}

bool decimal_is_normal(const struct decimal *d)
{
    int i;

    if (d->n == 0)
        return !d->neg && d->exp == 0;
    if (d->n > CR_DECIMAL_DIGITS || d->exp < CR_DECIMAL_EXP_MIN || d->exp > CR_DECIMAL_EXP_MAX)
        return false;
    if (d->d[0] == 0 || d->d[d->n - 1] == 0)
        return false;
    for (i = 0; i < d->n; i++)
        if (d->d[i] > 9)
            return false;
    return true;
}

static int sign_of(const struct decimal *d)
{
    return d->n == 0 ? 0 : d->neg ? -1 : 1;
}

int decimal_compare(const struct decimal *a, const struct decimal *b)
{
    int sa = sign_of(a), sb = sign_of(b), mag = 0, i, n;

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    if (a->exp != b->exp) {
        mag = a->exp < b->exp ? -1 : 1;
    } else {
        n = a->n < b->n ? a->n : b->n;
        for (i = 0; i < n && !mag; i++)
            if (a->d[i] != b->d[i])
                mag = a->d[i] < b->d[i] ? -1 : 1;
        if (!mag && a->n != b->n)
            mag = a->n < b->n ? -1 : 1;
    }
    return sa * mag;
}

/*
 * Digit places: digit i of d stands for 10^(exp - 1 - i). Inputs in DynamoDB's range have places
 * in [CR_DECIMAL_EXP_MIN - CR_DECIMAL_DIGITS, CR_DECIMAL_EXP_MAX - 1], so a sum fits in
 * SUM_PLACES digits plus a carry.
 */
#define SUM_PLACES (CR_DECIMAL_EXP_MAX - CR_DECIMAL_EXP_MIN + CR_DECIMAL_DIGITS + 2)

/* Adds the magnitude of d (sign -1 subtracts) into acc, indexed by place - lo. */
static void accumulate(int *acc, int lo, const struct decimal *d, int sign)
{
    int i;

    for (i = 0; i < d->n; i++)
        acc[d->exp - 1 - i - lo] += sign * d->d[i];
}

int decimal_add(const struct decimal *a, const struct decimal *b, struct decimal *out)
{
    int acc[SUM_PLACES + 1], lo, hi, top, bottom, i, carry, sign_a, sign_b;
    struct decimal r;
    const struct decimal *big, *small;

    if (a->n == 0 || b->n == 0) {
        r = a->n == 0 ? *b : *a;
        *out = r;
        return 0;
    }
    if (a->n > CR_DECIMAL_DIGITS || b->n > CR_DECIMAL_DIGITS || a->exp > CR_DECIMAL_EXP_MAX ||
        b->exp > CR_DECIMAL_EXP_MAX || a->exp < CR_DECIMAL_EXP_MIN || b->exp < CR_DECIMAL_EXP_MIN)
        return CR_ENUMBER;
    /* Subtract the smaller magnitude from the bigger one so the accumulator stays >= 0. */
    sign_a = a->neg ? -1 : 1;
    sign_b = b->neg ? -1 : 1;
    big = a;
    small = b;
    {
        struct decimal ma = *a, mb = *b;

        ma.neg = mb.neg = false;
        if (decimal_compare(&ma, &mb) < 0) {
            big = b;
            small = a;
        }
    }
    lo = a->exp - a->n < b->exp - b->n ? a->exp - a->n : b->exp - b->n;
    hi = a->exp > b->exp ? a->exp : b->exp; /* one place above the highest digit, for a carry */
    CR_ASSERT(hi - lo <= SUM_PLACES);
    memset(acc, 0, sizeof acc);
    accumulate(acc, lo, big, 1);
    accumulate(acc, lo, small, sign_a == sign_b ? 1 : -1);
    carry = 0;
    for (i = 0; i <= hi - lo; i++) {
        acc[i] += carry;
        carry = 0;
        while (acc[i] < 0) {
            acc[i] += 10;
            carry--;
        }
        while (acc[i] > 9) {
            acc[i] -= 10;
            carry++;
        }
    }
    CR_ASSERT(carry == 0);
    top = hi - lo;
    while (top >= 0 && acc[top] == 0)
        top--;
    if (top < 0) {
        set_zero(out);
        return 0;
    }
    bottom = 0;
    while (acc[bottom] == 0)
        bottom++;
    if (top - bottom + 1 > CR_DECIMAL_DIGITS)
        return CR_ENUMBER;
    memset(&r, 0, sizeof r);
    r.neg = big->neg;
    r.n = (uint8_t)(top - bottom + 1);
    r.exp = (int16_t)(top + lo + 1);
    for (i = 0; i < r.n; i++)
        r.d[i] = (uint8_t)acc[top - i];
    if (r.exp > CR_DECIMAL_EXP_MAX || r.exp < CR_DECIMAL_EXP_MIN)
        return CR_ENUMBER;
    *out = r;
    return 0;
}

int decimal_sub(const struct decimal *a, const struct decimal *b, struct decimal *out)
{
    struct decimal nb = *b;

    if (nb.n)
        nb.neg = !nb.neg;
    return decimal_add(a, &nb, out);
}
