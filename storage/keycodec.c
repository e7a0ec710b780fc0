/*
 * Order-preserving key encoding: memcmp order of encodings is value_compare order of values.
 * Pure byte work; knows nothing of LMDB beyond its 511-byte key limit. Decoding reads keys that
 * came from disk, so it never reads outside [p, end) and never recurses more than
 * CR_MAX_DEPTH + 1 frames deep.
 *
 * Each component is a tag byte, whose order is the type rank of value.h, then a payload that is
 * self-delimiting, so no component's encoding is a proper prefix of another's and a
 * concatenation compares component by component.
 *
 *   tag   value          payload
 *   0x00  (end)          closes an ARRAY, MAP or set; below every tag, so shorter sorts first
 *   0x10  NULL           -
 *   0x20  false          -
 *   0x21  true           -
 *   0x30  NaN            -     (every NaN, of INT/DOUBLE/DECIMAL rank)
 *   0x31  -Inf           -
 *   0x32  negative       complement of every byte of the positive payload below
 *   0x33  zero           -     (0, -0.0, 0E+n)
 *   0x34  positive       2 bytes: exp + 0x8000, big-endian; then the digits in pairs, one
 *                        byte 1 + 10*d[i] + d[i+1] each (1..100), an odd last digit paired with
 *                        0; then 0x00
 *   0x35  +Inf           -
 *   0x40  TIMESTAMP      8 bytes sec with the sign bit flipped, big-endian; 4 bytes nsec BE
 *   0x50  STRING         the bytes with 0x00 written 0x00 0xFF, then 0x00 0x01
 *   0x60  BYTES          as STRING
 *   0x70  REF            as STRING, on the path
 *   0x80  GEOPOINT       lat, lng as 8 bytes each: NaN as 0x00 * 8; otherwise -0.0 as 0.0, and
 *                        the IEEE bits with the sign bit flipped (positive) or all bits
 *                        complemented (negative), big-endian
 *   0x90  ARRAY          each element's component, then 0x00
 *   0xA0  MAP            fields in name order: the name as a STRING component (0x50 ...), the
 *                        value's component; then 0x00
 *   0xB0  SS, 0xC0 NS, 0xD0 BS   the elements' components in value_compare order, then 0x00
 *
 * Numbers. A finite non-zero number of any of the three types is its decimal (a double's is the
 * shortest that reads back to it, decimal_from_double_wide) written as 0.d[0]d[1]... * 10^exp
 * with d[0] != 0 and no trailing zero digit, so each number has one encoding. For positives a
 * larger exp is a larger number; at equal exp the digit pairs compare as the digits do, and the
 * 0x00 terminator, below every pair byte, puts a digit string before its extensions (which are
 * larger because their last digit is not 0). Complementing the payload reverses all of this for
 * negatives, the terminator becoming 0xFF. The exponent field spans doubles' decimal exponents
 * (-323..309), not only DynamoDB's. Decoding yields a DECIMAL when exp and digits fit DynamoDB's
 * range and a DOUBLE otherwise (NaN, the infinities and doubles beyond that range).
 *
 * Strings. As tokens, 0x00 0x01 (end) < 0x00 0xFF (a NUL byte) < 0x01..0xFF (that byte), which
 * is the order "shorter first, then bytewise" of the raw strings.
 *
 * Long components (stored form, keycodec_encode_component). When the full encoding E is longer
 * than CR_KEY_PREFIX bytes it is stored as
 *     E[0 .. CR_KEY_PREFIX)  0x00 0x02  xxh3(E) as 8 bytes big-endian
 * exactly CR_KEY_COMPONENT_MAX bytes. The threshold is CR_KEY_PREFIX, not CR_KEY_COMPONENT_MAX:
 *   - Short vs long. A short component S (<= CR_KEY_PREFIX bytes) is not a prefix of a long E
 *     (encodings are prefix-free), so they differ at some byte before |S| <= CR_KEY_PREFIX, a
 *     byte the stored form keeps: the order of S and E is exactly their value order. Were
 *     components of CR_KEY_PREFIX + 1 .. CR_KEY_COMPONENT_MAX bytes stored whole, a short one
 *     could extend a long one's kept prefix and no marker could place the long one correctly
 *     among them (its hidden continuation may be smaller or larger than theirs).
 *   - Long vs long. If they differ within the first CR_KEY_PREFIX bytes, value order holds.
 *     Otherwise both continue with the same marker and are ordered by hash: consistently, but
 *     not by value, and equal only on a hash collision, which is why storage keeps the full key
 *     in the row and checks equality against it.
 *   - The cut may fall anywhere, inside a string's escape pair or a number's payload: nothing
 *     above needs the kept bytes to be whole tokens, because order is decided before the cut or
 *     by the hash. The decoder does not need token boundaries either: it parses at most
 *     CR_KEY_PREFIX bytes; a full component ends within them, and a parse that runs out exactly
 *     there must be followed by the marker (the byte after a whole component is a tag or the
 *     end of the key, never 0x00).
 * Consequence: components are ordered by value, except that long components sharing their first
 * CR_KEY_PREFIX encoded bytes are ordered by hash among themselves (they still sort together,
 * between the shorter components around that prefix). A range bound that is itself long
 * matches such a group imprecisely: callers filter against the full value.
 *
 * The cut may be shorter than CR_KEY_PREFIX (keycodec_encode_cut): index entries hold four
 * components in one LMDB key and cut each at CR_INDEX_KEY_PREFIX. Everything above holds with
 * the shorter prefix; a reader must skip such components with the same cut.
 */
#include "storage/keycodec.h"
#include "common/assert.h"
#include "common/error.h"
#include "common/hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    K_END = 0x00,
    K_NULL = 0x10,
    K_FALSE = 0x20,
    K_TRUE = 0x21,
    K_NAN = 0x30,
    K_NEGINF = 0x31,
    K_NEG = 0x32,
    K_ZERO = 0x33,
    K_POS = 0x34,
    K_POSINF = 0x35,
    K_TIMESTAMP = 0x40,
    K_STRING = 0x50,
    K_BYTES = 0x60,
    K_REF = 0x70,
    K_GEOPOINT = 0x80,
    K_ARRAY = 0x90,
    K_MAP = 0xA0,
    K_SS = 0xB0,
    K_NS = 0xC0,
    K_BS = 0xD0,
};

#define EXP_BIAS 0x8000
/* Doubles' decimal exponents lie within this; anything beyond is corruption. */
#define WIDE_EXP_MAX 400
#define NSEC_MAX 999999999
#define LONG_MARKER_0 0x00
#define LONG_MARKER_1 0x02
#define LONG_TAIL 10 /* marker + 8-byte hash */

static int put_escaped(struct cr_buf *out, const char *s, size_t len, bool terminate)
{
    static const uint8_t nul[2] = {0x00, 0xFF}, end[2] = {0x00, 0x01};
    const char *p = s, *stop = s + len;
    int rc = 0;

    while (p < stop && !rc) {
        const char *z = memchr(p, 0, (size_t)(stop - p));
        size_t run = z ? (size_t)(z - p) : (size_t)(stop - p);

        rc = cr_buf_append(out, p, run);
        p += run;
        if (z && !rc) {
            rc = cr_buf_append(out, nul, 2);
            p++;
        }
    }
    if (!rc && terminate)
        rc = cr_buf_append(out, end, 2);
    return rc;
}

static int put_string(struct cr_buf *out, uint8_t tag, const char *s, size_t len)
{
    int rc = cr_buf_putc(out, tag);

    return rc ? rc : put_escaped(out, s, len, true);
}

static int put_number(const struct value *v, struct cr_buf *out)
{
    uint8_t p[4 + CR_DECIMAL_DIGITS / 2];
    struct decimal d;
    size_t k = 0, i;
    uint16_t e;

    if (v->type == VT_DOUBLE && isnan(v->u.d))
        return cr_buf_putc(out, K_NAN);
    if (v->type == VT_DOUBLE && isinf(v->u.d))
        return cr_buf_putc(out, v->u.d < 0 ? K_NEGINF : K_POSINF);
    if (v->type == VT_INT) {
        decimal_from_int64(v->u.i, &d);
    } else if (v->type == VT_DOUBLE) {
        decimal_from_double_wide(v->u.d, &d);
    } else {
        if (!decimal_is_normal(&v->u.dec))
            return CR_EINVAL;
        d = v->u.dec;
    }
    if (d.n == 0)
        return cr_buf_putc(out, K_ZERO);
    e = (uint16_t)(d.exp + EXP_BIAS);
    p[k++] = d.neg ? K_NEG : K_POS;
    p[k++] = (uint8_t)(e >> 8);
    p[k++] = (uint8_t)e;
    for (i = 0; i < d.n; i += 2)
        p[k++] = (uint8_t)(1 + 10 * d.d[i] + (i + 1 < d.n ? d.d[i + 1] : 0));
    p[k++] = 0x00;
    if (d.neg)
        for (i = 1; i < k; i++)
            p[i] = (uint8_t)~p[i];
    return cr_buf_append(out, p, k);
}

static uint64_t ordered_double(double d)
{
    uint64_t u;

    if (isnan(d))
        return 0;
    if (d == 0)
        d = 0.0; /* -0.0 == 0.0 */
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static double unordered_double(uint64_t u)
{
    double d;

    if (u == 0)
        return NAN;
    u = (u >> 63) ? u & ~(UINT64_C(1) << 63) : ~u;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int encode(const struct value *v, struct cr_buf *out, int depth);

static int encode_container(const struct value *v, struct cr_buf *out, int depth)
{
    static const uint8_t tags[] = {
        [VT_ARRAY] = K_ARRAY, [VT_MAP] = K_MAP, [VT_SS] = K_SS, [VT_NS] = K_NS, [VT_BS] = K_BS};
    size_t n = v->type == VT_MAP ? v->u.map.n : v->u.arr.n, *order = NULL, i;
    int rc;

    if (depth >= CR_MAX_DEPTH)
        return CR_ENESTING;
    if (v->type != VT_ARRAY) {
        rc = value_sort_order(v, &order);
        if (rc)
            return rc;
    }
    rc = cr_buf_putc(out, tags[v->type]);
    for (i = 0; i < n && !rc; i++) {
        size_t k = order ? order[i] : i;

        if (v->type == VT_MAP) {
            const struct value_field *f = &v->u.map.fields[k];

            rc = put_string(out, K_STRING, f->name, f->name_len);
            if (!rc)
                rc = encode(f->value, out, depth + 1);
        } else {
            rc = encode(&v->u.arr.items[k], out, depth + 1);
        }
    }
    if (!rc)
        rc = cr_buf_putc(out, K_END);
    free(order);
    return rc;
}

static int encode(const struct value *v, struct cr_buf *out, int depth)
{
    int rc;

    switch (v->type) {
    case VT_NULL:
        return cr_buf_putc(out, K_NULL);
    case VT_BOOL:
        return cr_buf_putc(out, v->u.b ? K_TRUE : K_FALSE);
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        return put_number(v, out);
    case VT_TIMESTAMP:
        if (v->u.ts.nsec < 0 || v->u.ts.nsec > NSEC_MAX)
            return CR_EINVAL;
        rc = cr_buf_putc(out, K_TIMESTAMP);
        if (!rc)
            rc = cr_buf_put_u64be(out, (uint64_t)v->u.ts.sec ^ (UINT64_C(1) << 63));
        return rc ? rc : cr_buf_put_u32be(out, (uint32_t)v->u.ts.nsec);
    case VT_STRING:
        return put_string(out, K_STRING, v->u.s.ptr, v->u.s.len);
    case VT_BYTES:
        return put_string(out, K_BYTES, v->u.s.ptr, v->u.s.len);
    case VT_REF:
        return put_string(out, K_REF, v->u.s.ptr, v->u.s.len);
    case VT_GEOPOINT:
        rc = cr_buf_putc(out, K_GEOPOINT);
        if (!rc)
            rc = cr_buf_put_u64be(out, ordered_double(v->u.geo.lat));
        return rc ? rc : cr_buf_put_u64be(out, ordered_double(v->u.geo.lng));
    case VT_ARRAY:
    case VT_MAP:
    case VT_SS:
    case VT_NS:
    case VT_BS:
        return encode_container(v, out, depth);
    }
    return CR_EINVAL;
}

int keycodec_encode(const struct value *v, struct cr_buf *out)
{
    size_t start = out->len;
    int rc = encode(v, out, 0);

    if (rc)
        out->len = start;
    return rc;
}

int keycodec_encode_cut(const struct value *v, size_t prefix, struct cr_buf *out, bool *truncated)
{
    size_t start = out->len, full;
    uint8_t tail[LONG_TAIL];
    int rc = encode(v, out, 0);

    if (truncated)
        *truncated = false;
    if (rc) {
        out->len = start;
        return rc;
    }
    full = out->len - start;
    if (full <= prefix)
        return 0;
    tail[0] = LONG_MARKER_0;
    tail[1] = LONG_MARKER_1;
    cr_put_u64be(tail + 2, cr_hash64(out->data + start, full));
    out->len = start + prefix;
    rc = cr_buf_append(out, tail, sizeof tail);
    if (rc) {
        out->len = start;
        return rc;
    }
    if (truncated)
        *truncated = true;
    return 0;
}

int keycodec_encode_component(const struct value *v, struct cr_buf *out, bool *truncated)
{
    return keycodec_encode_cut(v, CR_KEY_PREFIX, out, truncated);
}

int keycodec_encode_prefix(const struct value *v, struct cr_buf *out)
{
    size_t start = out->len;
    int rc;

    if (v->type != VT_STRING && v->type != VT_BYTES)
        return CR_ETYPE;
    rc = cr_buf_putc(out, v->type == VT_STRING ? K_STRING : K_BYTES);
    if (!rc)
        rc = put_escaped(out, v->u.s.ptr, v->u.s.len, false);
    if (rc)
        out->len = start;
    return rc;
}

void keycodec_rank_tags(enum value_type t, uint8_t *first, uint8_t *last)
{
    static const uint8_t tags[][2] = {
        [VT_NULL] = {K_NULL, K_NULL},
        [VT_BOOL] = {K_FALSE, K_TRUE},
        [VT_INT] = {K_NAN, K_POSINF},
        [VT_DOUBLE] = {K_NAN, K_POSINF},
        [VT_DECIMAL] = {K_NAN, K_POSINF},
        [VT_STRING] = {K_STRING, K_STRING},
        [VT_BYTES] = {K_BYTES, K_BYTES},
        [VT_TIMESTAMP] = {K_TIMESTAMP, K_TIMESTAMP},
        [VT_GEOPOINT] = {K_GEOPOINT, K_GEOPOINT},
        [VT_REF] = {K_REF, K_REF},
        [VT_ARRAY] = {K_ARRAY, K_ARRAY},
        [VT_MAP] = {K_MAP, K_MAP},
        [VT_SS] = {K_SS, K_SS},
        [VT_NS] = {K_NS, K_NS},
        [VT_BS] = {K_BS, K_BS},
    };

    *first = tags[t][0];
    *last = tags[t][1];
}

/*
 * Decoding. With a == NULL the parser only measures. eof records that a failure was running out
 * of input rather than a bad byte: at the CR_KEY_PREFIX bound that means a long component.
 * Failures are plain CR_ECORRUPT and are not logged here: keys also arrive from clients inside
 * continuation cursors, where malformed bytes are bad input, not corruption. Callers that read
 * stored keys report corruption with CR_CORRUPT().
 */
struct parser {
    const uint8_t *p, *end;
    struct cr_arena *a;
    bool eof;
};

static int need(struct parser *ps, size_t n)
{
    if (n > (size_t)(ps->end - ps->p)) {
        ps->eof = true;
        return CR_ECORRUPT;
    }
    return 0;
}

static int parse(struct parser *ps, int depth, struct value *out);

/* An escaped, terminated run; on success *s and *len are the unescaped copy (when decoding). */
static int parse_escaped(struct parser *ps, const char **s, size_t *len)
{
    const uint8_t *start = ps->p, *q;
    size_t n = 0;
    char *copy;

    for (;;) {
        if (need(ps, 1))
            return CR_ECORRUPT;
        if (*ps->p != 0) {
            ps->p++;
            n++;
            continue;
        }
        if (need(ps, 2))
            return CR_ECORRUPT;
        if (ps->p[1] == 0x01)
            break;
        if (ps->p[1] != 0xFF)
            return CR_ECORRUPT;
        ps->p += 2;
        n++;
    }
    ps->p += 2;
    if (!ps->a)
        return 0;
    copy = cr_arena_alloc(ps->a, n + 1);
    if (!copy)
        return CR_ENOMEM;
    *s = copy;
    *len = n;
    for (q = start; n; n--) {
        *copy++ = (char)*q;
        q += *q ? 1 : 2;
    }
    *copy = '\0';
    return 0;
}

static int parse_number(struct parser *ps, uint8_t tag, struct value *out)
{
    uint8_t x = tag == K_NEG ? 0xFF : 0x00, b;
    struct decimal d;
    int exp;

    if (need(ps, 2))
        return CR_ECORRUPT;
    exp = (((ps->p[0] ^ x) << 8) | (ps->p[1] ^ x)) - EXP_BIAS;
    ps->p += 2;
    memset(&d, 0, sizeof d);
    for (;;) {
        if (need(ps, 1))
            return CR_ECORRUPT;
        b = *ps->p++ ^ x;
        if (b == 0)
            break;
        if (b > 100 || d.n >= CR_DECIMAL_DIGITS)
            return CR_ECORRUPT;
        d.d[d.n++] = (uint8_t)((b - 1) / 10);
        d.d[d.n++] = (uint8_t)((b - 1) % 10);
    }
    if (d.n && d.d[d.n - 1] == 0)
        d.n--; /* an odd digit count pads its last pair with 0 */
    if (d.n == 0 || d.d[0] == 0 || d.d[d.n - 1] == 0 || exp < -WIDE_EXP_MAX || exp > WIDE_EXP_MAX)
        return CR_ECORRUPT;
    d.neg = tag == K_NEG;
    d.exp = (int16_t)exp;
    if (!out)
        return 0;
    if (decimal_is_normal(&d)) {
        out->type = VT_DECIMAL;
        out->u.dec = d;
        return 0;
    }
    out->type = VT_DOUBLE;
    out->u.d = decimal_to_double(&d);
    return d.n <= 17 && isfinite(out->u.d) && out->u.d != 0 ? 0 : CR_ECORRUPT;
}

/* Appends one element to an arena array that doubles when full. */
static int grow(struct cr_arena *a, void **items, size_t *cap, size_t n, size_t size)
{
    void *bigger;

    if (n < *cap)
        return 0;
    *cap = *cap ? 2 * *cap : 4;
    bigger = cr_arena_alloc(a, *cap * size);
    if (!bigger)
        return CR_ENOMEM;
    if (n)
        memcpy(bigger, *items, n * size);
    *items = bigger;
    return 0;
}

static int parse_container(struct parser *ps, uint8_t tag, int depth, struct value *out)
{
    struct value *items = NULL, scratch;
    struct value_field *fields = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if (depth >= CR_MAX_DEPTH)
        return CR_ECORRUPT;
    for (;;) {
        if (need(ps, 1))
            return CR_ECORRUPT;
        if (*ps->p == K_END) {
            ps->p++;
            break;
        }
        if (tag == K_MAP) {
            const char *name = NULL;
            size_t name_len = 0;
            struct value *val = &scratch;

            if (*ps->p++ != K_STRING)
                return CR_ECORRUPT;
            rc = parse_escaped(ps, &name, &name_len);
            if (!rc && out) {
                rc = grow(ps->a, (void **)&fields, &cap, n, sizeof *fields);
                val = rc ? NULL : cr_arena_alloc(ps->a, sizeof *val);
                if (!rc && !val)
                    rc = CR_ENOMEM;
            }
            if (!rc)
                rc = parse(ps, depth + 1, out ? val : NULL);
            if (rc)
                return rc;
            if (out)
                fields[n] = (struct value_field){name, name_len, val};
        } else {
            if (out) {
                rc = grow(ps->a, (void **)&items, &cap, n, sizeof *items);
                if (rc)
                    return rc;
            }
            rc = parse(ps, depth + 1, out ? &items[n] : NULL);
            if (rc)
                return rc;
        }
        n++;
    }
    if (!out)
        return 0;
    if (tag == K_MAP) {
        out->type = VT_MAP;
        out->u.map.fields = fields;
        out->u.map.n = n;
    } else {
        out->type = tag == K_ARRAY ? VT_ARRAY : tag == K_SS ? VT_SS : tag == K_NS ? VT_NS : VT_BS;
        out->u.arr.items = items;
        out->u.arr.n = n;
    }
    /* Encoders write members sorted and distinct; anything else is not an encoding. */
    if (tag != K_ARRAY) {
        size_t *order;

        rc = value_sort_order(out, &order);
        if (rc == CR_EINVAL || order) {
            free(order);
            return rc == CR_ENOMEM ? rc : CR_ECORRUPT;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int parse(struct parser *ps, int depth, struct value *out)
{
    struct value v;
    const char *s = NULL;
    size_t len = 0;
    uint8_t tag;
    int rc;

    if (need(ps, 1))
        return CR_ECORRUPT;
    tag = *ps->p++;
    memset(&v, 0, sizeof v);
    switch (tag) {
    case K_NULL:
        v.type = VT_NULL;
        break;
    case K_FALSE:
    case K_TRUE:
        v.type = VT_BOOL;
        v.u.b = tag == K_TRUE;
        break;
    case K_NAN:
    case K_NEGINF:
    case K_POSINF:
        v.type = VT_DOUBLE;
        v.u.d = tag == K_NAN ? NAN : tag == K_NEGINF ? -INFINITY : INFINITY;
        break;
    case K_ZERO:
        v.type = VT_DECIMAL;
        break;
    case K_NEG:
    case K_POS:
        rc = parse_number(ps, tag, out ? &v : NULL);
        if (rc)
            return rc;
        break;
    case K_TIMESTAMP:
        if (need(ps, 12))
            return CR_ECORRUPT;
        v.type = VT_TIMESTAMP;
        v.u.ts.sec = (int64_t)(cr_get_u64be(ps->p) ^ (UINT64_C(1) << 63));
        if (cr_get_u32be(ps->p + 8) > NSEC_MAX)
            return CR_ECORRUPT;
        v.u.ts.nsec = (int32_t)cr_get_u32be(ps->p + 8);
        ps->p += 12;
        break;
    case K_STRING:
    case K_BYTES:
    case K_REF:
        rc = parse_escaped(ps, &s, &len);
        if (rc)
            return rc;
        v.type = tag == K_STRING ? VT_STRING : tag == K_BYTES ? VT_BYTES : VT_REF;
        v.u.s.ptr = s;
        v.u.s.len = len;
        break;
    case K_GEOPOINT:
        if (need(ps, 16))
            return CR_ECORRUPT;
        v.type = VT_GEOPOINT;
        v.u.geo.lat = unordered_double(cr_get_u64be(ps->p));
        v.u.geo.lng = unordered_double(cr_get_u64be(ps->p + 8));
        ps->p += 16;
        break;
    case K_ARRAY:
    case K_MAP:
    case K_SS:
    case K_NS:
    case K_BS:
        return parse_container(ps, tag, depth, out);
    default:
        return CR_ECORRUPT;
    }
    if (out)
        *out = v;
    return 0;
}

/* One stored component at [p, end), cut at `prefix`: 0 with its length, CR_ETOOLONG (length
 * set) for a long one. */
static int component(const uint8_t *p, const uint8_t *end, size_t prefix, struct cr_arena *a,
                     struct value *out, size_t *len)
{
    size_t avail = (size_t)(end - p);
    struct parser ps = {p, avail > prefix ? p + prefix : end, a, false};
    int rc = parse(&ps, 0, out);

    if (!rc) {
        *len = (size_t)(ps.p - p);
        return 0;
    }
    if (rc != CR_ECORRUPT)
        return rc;
    if (!ps.eof || avail < prefix + LONG_TAIL || p[prefix] != LONG_MARKER_0 ||
        p[prefix + 1] != LONG_MARKER_1)
        return CR_ECORRUPT;
    *len = prefix + LONG_TAIL;
    return CR_ETOOLONG;
}

int keycodec_decode(const uint8_t **p, const uint8_t *end, struct cr_arena *a, struct value *out)
{
    size_t len = 0;
    int rc;

    CR_ASSERT(a != NULL);
    rc = component(*p, end, CR_KEY_PREFIX, a, out, &len);
    if (!rc || rc == CR_ETOOLONG)
        *p += len;
    return rc;
}

int keycodec_skip_cut(const uint8_t *p, const uint8_t *end, size_t prefix, size_t *len)
{
    int rc = component(p, end, prefix, NULL, NULL, len);

    return rc == CR_ETOOLONG ? 0 : rc;
}

int keycodec_skip(const uint8_t *p, const uint8_t *end, size_t *len)
{
    return keycodec_skip_cut(p, end, CR_KEY_PREFIX, len);
}
