/*
 * The value model: total order, equality, the stored item encoding, DynamoDB size accounting,
 * deep copies. Pure functions over memory; nothing here touches LMDB or knows about protocols.
 * value_decode() reads bytes that came from disk and must stay safe on any input: it never
 * reads outside [p, p+n), never recurses more than CR_MAX_DEPTH + 1 frames deep, and accepts
 * exactly one encoding per value (canonical varints, sorted maps and sets), so that equal values
 * have equal bytes.
 *
 * Stored item encoding. Each value is one tag byte and a payload. Varints are unsigned LEB128
 * in their shortest form; zigzag(x) maps signed to unsigned (0, -1, 1, -2 -> 0, 1, 2, 3).
 *
 *   tag   type        payload
 *   0x00  NULL        -
 *   0x01  BOOL false  -
 *   0x02  BOOL true   -
 *   0x03  INT         varint zigzag(i)
 *   0x04  DOUBLE      8 bytes: IEEE-754 bits, big-endian (-0.0 and NaN payloads kept)
 *   0x05  DECIMAL     1 byte  n | 0x80 when negative (n = significant digits, 0..38)
 *                     1 byte  exp - CR_DECIMAL_EXP_MIN (exp -129..126 fills 0..255 exactly)
 *                     ceil(n/2) bytes: digits two per byte, high nibble first; when n is odd
 *                     the last low nibble is 0. Zero is 0x05 0x00 0x81.
 *   0x06  STRING      varint length, UTF-8 bytes
 *   0x07  BYTES       varint length, bytes
 *   0x08  REF         varint length, path bytes
 *   0x09  TIMESTAMP   varint zigzag(sec), varint nsec (< 1e9)
 *   0x0A  GEOPOINT    8 bytes lat, 8 bytes lng (as DOUBLE)
 *   0x0B  ARRAY       varint count, varint body length L, then L bytes: count values
 *   0x0C  MAP         varint count, varint body length L, then L bytes: count fields, each
 *                     varint name length, name bytes, value; names strictly increasing
 *                     (bytewise, shorter prefix first)
 *   0x0D  SS          as ARRAY; elements STRING, count >= 1, strictly increasing
 *   0x0E  NS          as ARRAY; elements INT, DOUBLE or DECIMAL, count >= 1, strictly
 *                     increasing by value_compare (so 1 and 1.0 cannot both be members)
 *   0x0F  BS          as ARRAY; elements BYTES, count >= 1, strictly increasing
 *
 * The body length lets value_map_find_encoded() step over a field of any type without looking
 * inside it. Every container, sets included, counts as one level of nesting; at most
 * CR_MAX_DEPTH levels.
 */
#include "storage/value.h"
#include "common/assert.h"
#include "common/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum tag {
    T_NULL,
    T_FALSE,
    T_TRUE,
    T_INT,
    T_DOUBLE,
    T_DECIMAL,
    T_STRING,
    T_BYTES,
    T_REF,
    T_TIMESTAMP,
    T_GEOPOINT,
    T_ARRAY,
    T_MAP,
    T_SS,
    T_NS,
    T_BS,
};

#define NSEC_MAX 999999999

int value_rank(enum value_type t)
{
    switch (t) {
    case VT_NULL:
        return 0;
    case VT_BOOL:
        return 1;
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return 2;
    case VT_TIMESTAMP:
        return 3;
    case VT_STRING:
        return 4;
    case VT_BYTES:
        return 5;
    case VT_REF:
        return 6;
    case VT_GEOPOINT:
        return 7;
    case VT_ARRAY:
        return 8;
    case VT_MAP:
        return 9;
    case VT_SS:
        return 10;
    case VT_NS:
        return 11;
    case VT_BS:
        return 12;
    }
    return 13;
}

const char *value_type_name(enum value_type t)
{
    switch (t) {
    case VT_NULL:
        return "null";
    case VT_BOOL:
        return "bool";
    case VT_INT:
        return "int";
    case VT_DOUBLE:
        return "double";
    case VT_DECIMAL:
        return "decimal";
    case VT_STRING:
        return "string";
    case VT_BYTES:
        return "bytes";
    case VT_TIMESTAMP:
        return "timestamp";
    case VT_GEOPOINT:
        return "geopoint";
    case VT_REF:
        return "ref";
    case VT_ARRAY:
        return "array";
    case VT_MAP:
        return "map";
    case VT_SS:
        return "string set";
    case VT_NS:
        return "number set";
    case VT_BS:
        return "binary set";
    }
    return "unknown";
}

static bool is_set(enum value_type t)
{
    return t == VT_SS || t == VT_NS || t == VT_BS;
}

static bool is_number(enum value_type t)
{
    return t == VT_INT || t == VT_DOUBLE || t == VT_DECIMAL;
}

static int sign3(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* Bytewise, shorter prefix first; memcmp is not called with n == 0 (pointers may be NULL). */
static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return c < 0 ? -1 : 1;
    return (an > bn) - (an < bn);
}

/* NaN first and equal to itself; -0.0 == 0.0. */
static int double_cmp(double a, double b)
{
    if (isnan(a))
        return isnan(b) ? 0 : -1;
    if (isnan(b))
        return 1;
    return (a > b) - (a < b);
}

/* Where a number sits before its digits matter: 0 NaN, 1 -Inf, 2 finite, 3 +Inf. */
static int number_class(const struct value *v)
{
    if (v->type != VT_DOUBLE || isfinite(v->u.d))
        return 2;
    if (isnan(v->u.d))
        return 0;
    return v->u.d < 0 ? 1 : 3;
}

static void to_wide_decimal(const struct value *v, struct decimal *d)
{
    if (v->type == VT_INT)
        decimal_from_int64(v->u.i, d);
    else if (v->type == VT_DOUBLE)
        decimal_from_double_wide(v->u.d, d);
    else
        *d = v->u.dec;
}

/*
 * Same-type pairs compare directly; that agrees with the decimal route because the shortest
 * round-trip decimal is strictly increasing in the double. Mixed pairs go through decimals, so
 * a double equals exactly the integers and decimals its shortest text spells.
 */
static int number_cmp(const struct value *a, const struct value *b)
{
    int ca = number_class(a), cb = number_class(b);
    struct decimal da, db;

    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (ca != 2)
        return 0;
    if (a->type == VT_INT && b->type == VT_INT)
        return sign3(a->u.i, b->u.i);
    if (a->type == VT_DOUBLE && b->type == VT_DOUBLE)
        return double_cmp(a->u.d, b->u.d);
    to_wide_decimal(a, &da);
    to_wide_decimal(b, &db);
    return decimal_compare(&da, &db);
}

static size_t container_len(const struct value *v)
{
    return v->type == VT_MAP ? v->u.map.n : v->u.arr.n;
}

/* Order of two members of one MAP (by name) or set (by value). */
static int member_cmp(const struct value *v, size_t i, size_t j)
{
    if (v->type == VT_MAP) {
        const struct value_field *f = v->u.map.fields;
        return bytes_cmp(f[i].name, f[i].name_len, f[j].name, f[j].name_len);
    }
    return value_compare(&v->u.arr.items[i], &v->u.arr.items[j]);
}

static bool strictly_sorted(const struct value *v)
{
    size_t i, n = container_len(v);

    for (i = 1; i < n; i++)
        if (member_cmp(v, i - 1, i) >= 0)
            return false;
    return true;
}

/*
 * The member after `cur` in sorted order (the first one when first is set), or n. Unsorted
 * containers are walked by selection, O(n^2) but allocation-free, because value_compare cannot
 * fail; members equal to an earlier one are skipped.
 */
static size_t next_member(const struct value *v, bool sorted, size_t cur, bool first)
{
    size_t i, best = container_len(v), n = best;

    if (sorted)
        return first ? 0 : cur + 1;
    for (i = 0; i < n; i++) {
        if (!first && member_cmp(v, i, cur) <= 0)
            continue;
        if (best == n || member_cmp(v, i, best) < 0)
            best = i;
    }
    return best;
}

static int members_cmp(const struct value *a, const struct value *b)
{
    bool sa = strictly_sorted(a), sb = strictly_sorted(b);
    size_t na = container_len(a), nb = container_len(b);
    size_t ia = next_member(a, sa, 0, true), ib = next_member(b, sb, 0, true);

    while (ia < na && ib < nb) {
        int c;

        if (a->type == VT_MAP) {
            const struct value_field *fa = &a->u.map.fields[ia], *fb = &b->u.map.fields[ib];

            c = bytes_cmp(fa->name, fa->name_len, fb->name, fb->name_len);
            if (!c)
                c = value_compare(fa->value, fb->value);
        } else {
            c = value_compare(&a->u.arr.items[ia], &b->u.arr.items[ib]);
        }
        if (c)
            return c;
        ia = next_member(a, sa, ia, false);
        ib = next_member(b, sb, ib, false);
    }
    return (ia < na) - (ib < nb);
}

int value_compare(const struct value *a, const struct value *b)
{
    int ra = value_rank(a->type), rb = value_rank(b->type), c;
    size_t i;

    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a->type) {
    case VT_NULL:
        return 0;
    case VT_BOOL:
        return (a->u.b > b->u.b) - (a->u.b < b->u.b);
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return number_cmp(a, b);
    case VT_TIMESTAMP:
        c = sign3(a->u.ts.sec, b->u.ts.sec);
        return c ? c : sign3(a->u.ts.nsec, b->u.ts.nsec);
    case VT_STRING:
    case VT_BYTES:
    case VT_REF:
        return bytes_cmp(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
    case VT_GEOPOINT:
        c = double_cmp(a->u.geo.lat, b->u.geo.lat);
        return c ? c : double_cmp(a->u.geo.lng, b->u.geo.lng);
    case VT_ARRAY:
        for (i = 0; i < a->u.arr.n && i < b->u.arr.n; i++) {
            c = value_compare(&a->u.arr.items[i], &b->u.arr.items[i]);
            if (c)
                return c;
        }
        return (a->u.arr.n > b->u.arr.n) - (a->u.arr.n < b->u.arr.n);
    case VT_MAP:
    case VT_SS:
    case VT_NS:
    case VT_BS:
        return members_cmp(a, b);
    }
    return 0;
}

bool value_equal(const struct value *a, const struct value *b)
{
    return value_compare(a, b) == 0;
}

int value_number_to_decimal(const struct value *v, struct decimal *out)
{
    switch (v->type) {
    case VT_INT:
        decimal_from_int64(v->u.i, out);
        return 0;
    case VT_DOUBLE:
        return decimal_from_double(v->u.d, out);
    case VT_DECIMAL:
        *out = v->u.dec;
        return 0;
    default:
        return CR_ETYPE;
    }
}

const struct value *value_map_get(const struct value *v, const char *name, size_t name_len)
{
    size_t i;

    if (v->type != VT_MAP)
        return NULL;
    for (i = 0; i < v->u.map.n; i++) {
        const struct value_field *f = &v->u.map.fields[i];
        if (bytes_cmp(f->name, f->name_len, name, name_len) == 0)
            return f->value;
    }
    return NULL;
}

/* Bottom-up merge sort of member indexes; stable, and needs no comparator context. */
static void sort_members(const struct value *v, size_t *idx, size_t *tmp, size_t n)
{
    size_t width, lo, i, j, k, mid, hi;

    for (width = 1; width < n; width *= 2) {
        for (lo = 0; lo < n; lo += 2 * width) {
            mid = lo + width < n ? lo + width : n;
            hi = lo + 2 * width < n ? lo + 2 * width : n;
            i = lo;
            j = mid;
            for (k = lo; k < hi; k++) {
                if (i < mid && (j >= hi || member_cmp(v, idx[i], idx[j]) <= 0))
                    tmp[k] = idx[i++];
                else
                    tmp[k] = idx[j++];
            }
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

int value_sort_order(const struct value *v, size_t **order)
{
    size_t n = container_len(v), i, *idx;

    CR_ASSERT(v->type == VT_MAP || is_set(v->type));
    *order = NULL;
    if (strictly_sorted(v))
        return 0;
    idx = malloc(2 * n * sizeof *idx);
    if (!idx)
        return CR_ENOMEM;
    for (i = 0; i < n; i++)
        idx[i] = i;
    sort_members(v, idx, idx + n, n);
    for (i = 1; i < n; i++) {
        if (member_cmp(v, idx[i - 1], idx[i]) == 0) {
            free(idx);
            return CR_EINVAL;
        }
    }
    *order = idx;
    return 0;
}

static uint64_t zigzag(int64_t v)
{
    return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static int64_t unzigzag(uint64_t u)
{
    return (u & 1) ? (int64_t) ~(u >> 1) : (int64_t)(u >> 1);
}

static uint64_t double_bits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof u);
    return u;
}

/* Inserts the varint of v at offset `at`, shifting what follows. */
static int insert_varint(struct cr_buf *b, size_t at, uint64_t v)
{
    uint8_t tmp[CR_VARINT_MAX];
    size_t k = cr_varint_encode(tmp, v);
    int rc = cr_buf_reserve(b, k);

    if (rc)
        return rc;
    memmove(b->data + at + k, b->data + at, b->len - at);
    memcpy(b->data + at, tmp, k);
    b->len += k;
    return 0;
}

static int encode(const struct value *v, struct cr_buf *out, int depth);

static bool set_member_ok(enum value_type set, enum value_type t)
{
    if (set == VT_SS)
        return t == VT_STRING;
    if (set == VT_NS)
        return is_number(t);
    return t == VT_BYTES;
}

static int encode_container(const struct value *v, struct cr_buf *out, int depth)
{
    static const uint8_t tags[] = {
        [VT_ARRAY] = T_ARRAY, [VT_MAP] = T_MAP, [VT_SS] = T_SS, [VT_NS] = T_NS, [VT_BS] = T_BS};
    size_t n = container_len(v), *order = NULL, body, i;
    int rc;

    if (depth >= CR_MAX_DEPTH)
        return CR_ENESTING;
    if (is_set(v->type)) {
        if (n == 0)
            return CR_EINVAL;
        for (i = 0; i < n; i++)
            if (!set_member_ok(v->type, v->u.arr.items[i].type))
                return CR_EINVAL;
    }
    if (v->type != VT_ARRAY) {
        rc = value_sort_order(v, &order);
        if (rc)
            return rc;
    }
    rc = cr_buf_putc(out, tags[v->type]);
    if (!rc)
        rc = cr_buf_put_varint(out, n);
    body = out->len;
    for (i = 0; i < n && !rc; i++) {
        size_t k = order ? order[i] : i;

        if (v->type == VT_MAP) {
            const struct value_field *f = &v->u.map.fields[k];

            rc = cr_buf_put_varint(out, f->name_len);
            if (!rc)
                rc = cr_buf_append(out, f->name, f->name_len);
            if (!rc)
                rc = encode(f->value, out, depth + 1);
        } else {
            rc = encode(&v->u.arr.items[k], out, depth + 1);
        }
    }
    if (!rc)
        rc = insert_varint(out, body, out->len - body);
    free(order);
    return rc;
}

static int encode_decimal(const struct decimal *d, struct cr_buf *out)
{
    uint8_t p[3 + CR_DECIMAL_DIGITS / 2];
    size_t k = 0;
    int i;

    if (!decimal_is_normal(d))
        return CR_EINVAL;
    p[k++] = T_DECIMAL;
    p[k++] = (uint8_t)(d->n | (d->neg ? 0x80 : 0));
    p[k++] = (uint8_t)(d->exp - CR_DECIMAL_EXP_MIN);
    for (i = 0; i < d->n; i += 2)
        p[k++] = (uint8_t)(d->d[i] << 4 | (i + 1 < d->n ? d->d[i + 1] : 0));
    return cr_buf_append(out, p, k);
}

static int encode_bytes(uint8_t tag, const char *s, size_t len, struct cr_buf *out)
{
    int rc = cr_buf_putc(out, tag);

    if (!rc)
        rc = cr_buf_put_varint(out, len);
    if (!rc)
        rc = cr_buf_append(out, s, len);
    return rc;
}

static int encode(const struct value *v, struct cr_buf *out, int depth)
{
    int rc;

    switch (v->type) {
    case VT_NULL:
        return cr_buf_putc(out, T_NULL);
    case VT_BOOL:
        return cr_buf_putc(out, v->u.b ? T_TRUE : T_FALSE);
    case VT_INT:
        rc = cr_buf_putc(out, T_INT);
        return rc ? rc : cr_buf_put_varint(out, zigzag(v->u.i));
    case VT_DOUBLE:
        rc = cr_buf_putc(out, T_DOUBLE);
        return rc ? rc : cr_buf_put_u64be(out, double_bits(v->u.d));
    case VT_DECIMAL:
        return encode_decimal(&v->u.dec, out);
    case VT_STRING:
        return encode_bytes(T_STRING, v->u.s.ptr, v->u.s.len, out);
    case VT_BYTES:
        return encode_bytes(T_BYTES, v->u.s.ptr, v->u.s.len, out);
    case VT_REF:
        return encode_bytes(T_REF, v->u.s.ptr, v->u.s.len, out);
    case VT_TIMESTAMP:
        if (v->u.ts.nsec < 0 || v->u.ts.nsec > NSEC_MAX)
            return CR_EINVAL;
        rc = cr_buf_putc(out, T_TIMESTAMP);
        if (!rc)
            rc = cr_buf_put_varint(out, zigzag(v->u.ts.sec));
        return rc ? rc : cr_buf_put_varint(out, (uint64_t)v->u.ts.nsec);
    case VT_GEOPOINT:
        rc = cr_buf_putc(out, T_GEOPOINT);
        if (!rc)
            rc = cr_buf_put_u64be(out, double_bits(v->u.geo.lat));
        return rc ? rc : cr_buf_put_u64be(out, double_bits(v->u.geo.lng));
    case VT_ARRAY:
    case VT_MAP:
    case VT_SS:
    case VT_NS:
    case VT_BS:
        return encode_container(v, out, depth);
    }
    return CR_EINVAL;
}

int value_encode(const struct value *v, struct cr_buf *out)
{
    size_t start = out->len;
    int rc = encode(v, out, 0);

    if (rc)
        out->len = start;
    return rc;
}

struct reader {
    const uint8_t *p, *end;
    struct cr_arena *a;
};

/* Shortest-form LEB128 only: an overlong or overflowing varint is corruption. */
static int get_varint(struct reader *r, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;

    for (;;) {
        uint8_t c;

        if (r->p == r->end)
            return CR_CORRUPT();
        c = *r->p++;
        if (shift == 63 && c > 1)
            return CR_CORRUPT();
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            if (c == 0 && shift)
                return CR_CORRUPT();
            *out = v;
            return 0;
        }
        shift += 7;
    }
}

/* A varint that counts bytes still in the reader. */
static int get_len(struct reader *r, size_t *out)
{
    uint64_t v;
    int rc = get_varint(r, &v);

    if (rc)
        return rc;
    if (v > (uint64_t)(r->end - r->p))
        return CR_CORRUPT();
    *out = (size_t)v;
    return 0;
}

static int get_fixed(struct reader *r, size_t n, const uint8_t **out)
{
    if (n > (size_t)(r->end - r->p))
        return CR_CORRUPT();
    *out = r->p;
    r->p += n;
    return 0;
}

static double get_double(const uint8_t *p)
{
    uint64_t u = cr_get_u64be(p);
    double d;

    memcpy(&d, &u, sizeof d);
    return d;
}

static int decode(struct reader *r, int depth, struct value *out);

static int decode_decimal(struct reader *r, struct decimal *d)
{
    const uint8_t *p = NULL;
    int rc = get_fixed(r, 2, &p), i;

    if (rc)
        return rc;
    memset(d, 0, sizeof *d);
    d->n = p[0] & 0x7f;
    d->neg = (p[0] & 0x80) != 0;
    d->exp = (int16_t)(p[1] + CR_DECIMAL_EXP_MIN);
    if (d->n > CR_DECIMAL_DIGITS)
        return CR_CORRUPT();
    rc = get_fixed(r, (d->n + 1u) / 2, &p);
    if (rc)
        return rc;
    for (i = 0; i < d->n; i++)
        d->d[i] = (uint8_t)(i % 2 ? p[i / 2] & 0x0f : p[i / 2] >> 4);
    if ((d->n % 2 && (p[d->n / 2] & 0x0f)) || !decimal_is_normal(d))
        return CR_CORRUPT();
    return 0;
}

static int decode_container(struct reader *r, int depth, uint8_t tag, struct value *out)
{
    static const enum value_type types[] = {
        [T_ARRAY] = VT_ARRAY, [T_MAP] = VT_MAP, [T_SS] = VT_SS, [T_NS] = VT_NS, [T_BS] = VT_BS};
    struct reader body;
    uint64_t n;
    size_t len = 0, i;
    int rc;

    if (depth >= CR_MAX_DEPTH)
        return CR_CORRUPT();
    rc = get_varint(r, &n);
    if (!rc)
        rc = get_len(r, &len);
    if (rc)
        return rc;
    body = (struct reader){r->p, r->p + len, r->a};
    r->p += len;
    out->type = types[tag];
    /* Every value takes at least one byte and every field two, which bounds the allocation. */
    if (n > len / (tag == T_MAP ? 2 : 1))
        return CR_CORRUPT();
    if (tag == T_MAP) {
        struct value_field *f = NULL;
        struct value *vals = NULL;

        if (n) {
            f = cr_arena_alloc(r->a, n * sizeof *f);
            vals = cr_arena_alloc(r->a, n * sizeof *vals);
            if (!f || !vals)
                return CR_ENOMEM;
        }
        for (i = 0; i < n; i++) {
            const uint8_t *name = NULL;

            rc = get_len(&body, &f[i].name_len);
            if (!rc)
                rc = get_fixed(&body, f[i].name_len, &name);
            if (!rc)
                rc = decode(&body, depth + 1, &vals[i]);
            if (rc)
                return rc;
            f[i].name = (const char *)name;
            f[i].value = &vals[i];
        }
        out->u.map.fields = f;
        out->u.map.n = (size_t)n;
    } else {
        struct value *items = NULL;

        if (n) {
            items = cr_arena_alloc(r->a, n * sizeof *items);
            if (!items)
                return CR_ENOMEM;
        }
        for (i = 0; i < n; i++) {
            rc = decode(&body, depth + 1, &items[i]);
            if (rc)
                return rc;
            if (tag != T_ARRAY && !set_member_ok(out->type, items[i].type))
                return CR_CORRUPT();
        }
        out->u.arr.items = items;
        out->u.arr.n = (size_t)n;
    }
    if (body.p != body.end)
        return CR_CORRUPT();
    if (tag != T_ARRAY && !strictly_sorted(out))
        return CR_CORRUPT();
    if (tag != T_ARRAY && tag != T_MAP && n == 0)
        return CR_CORRUPT();
    return 0;
}

static int decode(struct reader *r, int depth, struct value *out)
{
    const uint8_t *p = NULL;
    uint64_t u;
    size_t len = 0;
    uint8_t tag;
    int rc;

    if (r->p == r->end)
        return CR_CORRUPT();
    tag = *r->p++;
    memset(out, 0, sizeof *out);
    switch (tag) {
    case T_NULL:
        out->type = VT_NULL;
        return 0;
    case T_FALSE:
    case T_TRUE:
        out->type = VT_BOOL;
        out->u.b = tag == T_TRUE;
        return 0;
    case T_INT:
        out->type = VT_INT;
        rc = get_varint(r, &u);
        out->u.i = unzigzag(u);
        return rc;
    case T_DOUBLE:
        out->type = VT_DOUBLE;
        rc = get_fixed(r, 8, &p);
        if (!rc)
            out->u.d = get_double(p);
        return rc;
    case T_DECIMAL:
        out->type = VT_DECIMAL;
        return decode_decimal(r, &out->u.dec);
    case T_STRING:
    case T_BYTES:
    case T_REF:
        out->type = tag == T_STRING ? VT_STRING : tag == T_BYTES ? VT_BYTES : VT_REF;
        rc = get_len(r, &len);
        if (!rc)
            rc = get_fixed(r, len, &p);
        if (rc)
            return rc;
        out->u.s.ptr = (const char *)p;
        out->u.s.len = len;
        return 0;
    case T_TIMESTAMP:
        out->type = VT_TIMESTAMP;
        rc = get_varint(r, &u);
        if (rc)
            return rc;
        out->u.ts.sec = unzigzag(u);
        rc = get_varint(r, &u);
        if (rc)
            return rc;
        if (u > NSEC_MAX)
            return CR_CORRUPT();
        out->u.ts.nsec = (int32_t)u;
        return 0;
    case T_GEOPOINT:
        out->type = VT_GEOPOINT;
        rc = get_fixed(r, 16, &p);
        if (rc)
            return rc;
        out->u.geo.lat = get_double(p);
        out->u.geo.lng = get_double(p + 8);
        return 0;
    case T_ARRAY:
    case T_MAP:
    case T_SS:
    case T_NS:
    case T_BS:
        return decode_container(r, depth, tag, out);
    }
    return CR_CORRUPT();
}

int value_decode(const uint8_t *p, size_t n, struct cr_arena *a, struct value *out)
{
    struct reader r = {p, p + n, a};
    int rc = decode(&r, 0, out);

    if (!rc && r.p != r.end)
        rc = CR_CORRUPT();
    return rc;
}

/* Steps over one value using only tags and lengths: no recursion, no allocation. */
static int skip(struct reader *r)
{
    const uint8_t *p = NULL;
    uint64_t u;
    size_t len = 0;
    int rc;

    if (r->p == r->end)
        return CR_CORRUPT();
    switch (*r->p++) {
    case T_NULL:
    case T_FALSE:
    case T_TRUE:
        return 0;
    case T_INT:
        return get_varint(r, &u);
    case T_DOUBLE:
        return get_fixed(r, 8, &p);
    case T_DECIMAL:
        rc = get_fixed(r, 2, &p);
        return rc ? rc : get_fixed(r, ((p[0] & 0x7fu) + 1) / 2, &p);
    case T_STRING:
    case T_BYTES:
    case T_REF:
        rc = get_len(r, &len);
        return rc ? rc : get_fixed(r, len, &p);
    case T_TIMESTAMP:
        rc = get_varint(r, &u);
        return rc ? rc : get_varint(r, &u);
    case T_GEOPOINT:
        return get_fixed(r, 16, &p);
    case T_ARRAY:
    case T_MAP:
    case T_SS:
    case T_NS:
    case T_BS:
        rc = get_varint(r, &u);
        if (!rc)
            rc = get_len(r, &len);
        return rc ? rc : get_fixed(r, len, &p);
    }
    return CR_CORRUPT();
}

int value_map_find_encoded(const uint8_t *p, size_t n, const char *name, size_t name_len,
                           const uint8_t **fp, size_t *fn)
{
    struct reader r = {p, p + n, NULL};
    uint64_t count, i;
    size_t len = 0;
    int rc;

    if (n == 0 || p[0] > T_BS)
        return CR_CORRUPT();
    if (p[0] != T_MAP)
        return CR_ETYPE;
    r.p++;
    rc = get_varint(&r, &count);
    if (!rc)
        rc = get_len(&r, &len);
    if (rc)
        return rc;
    if (r.p + len != r.end)
        return CR_CORRUPT();
    for (i = 0; i < count; i++) {
        const uint8_t *fname, *start;
        size_t flen = 0;
        int c;

        rc = get_len(&r, &flen);
        if (!rc)
            rc = get_fixed(&r, flen, &fname);
        start = r.p;
        if (!rc)
            rc = skip(&r);
        if (rc)
            return rc;
        c = bytes_cmp(fname, flen, name, name_len);
        if (c == 0) {
            *fp = start;
            *fn = (size_t)(r.p - start);
            return 0;
        }
        if (c > 0)
            return CR_ENOTFOUND; /* names are sorted */
    }
    return r.p == r.end ? CR_ENOTFOUND : CR_CORRUPT();
}

static size_t number_size(const struct value *v)
{
    struct decimal d;

    if (v->type == VT_DOUBLE && !isfinite(v->u.d))
        return 1;
    to_wide_decimal(v, &d);
    return 1 + (d.n + 1u) / 2;
}

static size_t ddb_size(const struct value *v, bool top)
{
    size_t size = 0, i;

    switch (v->type) {
    case VT_NULL:
    case VT_BOOL:
        return 1;
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return number_size(v);
    case VT_STRING:
    case VT_BYTES:
    case VT_REF:
        return v->u.s.len;
    case VT_TIMESTAMP:
        return 8;
    case VT_GEOPOINT:
        return 16;
    case VT_ARRAY:
        for (i = 0; i < v->u.arr.n; i++)
            size += 1 + ddb_size(&v->u.arr.items[i], false);
        return 3 + size;
    case VT_MAP:
        for (i = 0; i < v->u.map.n; i++)
            size += (top ? 0 : 1) + v->u.map.fields[i].name_len +
                    ddb_size(v->u.map.fields[i].value, false);
        return (top ? 0 : 3) + size;
    case VT_SS:
    case VT_NS:
    case VT_BS:
        for (i = 0; i < v->u.arr.n; i++)
            size += ddb_size(&v->u.arr.items[i], false);
        return size;
    }
    return 0;
}

size_t value_ddb_size(const struct value *v)
{
    return ddb_size(v, true);
}

int value_clone(const struct value *v, struct cr_arena *a, struct value *out)
{
    size_t i;
    int rc;

    *out = *v;
    switch (v->type) {
    case VT_STRING:
    case VT_BYTES:
    case VT_REF:
        out->u.s.ptr = cr_arena_strndup(a, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
        return out->u.s.ptr ? 0 : CR_ENOMEM;
    case VT_ARRAY:
    case VT_SS:
    case VT_NS:
    case VT_BS:
        if (v->u.arr.n == 0)
            return 0;
        out->u.arr.items = cr_arena_alloc(a, v->u.arr.n * sizeof *out->u.arr.items);
        if (!out->u.arr.items)
            return CR_ENOMEM;
        for (i = 0; i < v->u.arr.n; i++) {
            rc = value_clone(&v->u.arr.items[i], a, &out->u.arr.items[i]);
            if (rc)
                return rc;
        }
        return 0;
    case VT_MAP:
        if (v->u.map.n == 0)
            return 0;
        out->u.map.fields = cr_arena_alloc(a, v->u.map.n * sizeof *out->u.map.fields);
        if (!out->u.map.fields)
            return CR_ENOMEM;
        for (i = 0; i < v->u.map.n; i++) {
            const struct value_field *f = &v->u.map.fields[i];
            struct value_field *g = &out->u.map.fields[i];

            g->name_len = f->name_len;
            g->name = cr_arena_strndup(a, f->name ? f->name : "", f->name_len);
            g->value = cr_arena_alloc(a, sizeof *g->value);
            if (!g->name || !g->value)
                return CR_ENOMEM;
            rc = value_clone(f->value, a, g->value);
            if (rc)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

struct value value_null(void)
{
    struct value v;

    memset(&v, 0, sizeof v);
    v.type = VT_NULL;
    return v;
}

struct value value_bool(bool b)
{
    struct value v = value_null();

    v.type = VT_BOOL;
    v.u.b = b;
    return v;
}

struct value value_int(int64_t i)
{
    struct value v = value_null();

    v.type = VT_INT;
    v.u.i = i;
    return v;
}

struct value value_double(double d)
{
    struct value v = value_null();

    v.type = VT_DOUBLE;
    v.u.d = d;
    return v;
}

struct value value_string(const char *s, size_t len)
{
    struct value v = value_null();

    v.type = VT_STRING;
    v.u.s.ptr = s;
    v.u.s.len = len;
    return v;
}

struct value value_bytes(const void *p, size_t len)
{
    struct value v = value_null();

    v.type = VT_BYTES;
    v.u.s.ptr = p;
    v.u.s.len = len;
    return v;
}
