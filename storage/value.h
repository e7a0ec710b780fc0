/*
 * The one value model (DESIGN.md principle 4). Every layer and every dialect maps onto it.
 *
 * A struct value is a tree. Strings, bytes, references, and the element arrays of arrays, maps
 * and sets are *borrowed*: the struct holds pointers and never frees them. Values built by
 * value_decode() point into the encoded buffer and into the arena passed to it; they are valid
 * as long as both are.
 *
 * Total order (value_compare), by type rank first, as Firestore orders mixed types, then within
 * the rank:
 *
 *   rank  types                        order within the rank
 *   0     NULL                         all equal
 *   1     BOOL                         false < true
 *   2     INT, DOUBLE, DECIMAL         numerically, across the three types; NaN first (NaN ==
 *                                      NaN), -Inf < finite < +Inf; -0.0 == 0
 *   3     TIMESTAMP                    (sec, nsec)
 *   4     STRING                       bytewise on UTF-8 (memcmp, shorter prefix first)
 *   5     BYTES                        bytewise
 *   6     REF                          bytewise on the path
 *   7     GEOPOINT                     latitude, then longitude
 *   8     ARRAY                        element by element, shorter prefix first
 *   9     MAP                          fields in name order: name, then value, pair by pair;
 *                                      shorter prefix first
 *   10    SS, 11 NS, 12 BS             elements in their sorted order, as ARRAY
 *
 * value_equal(a, b) is exactly value_compare(a, b) == 0: INT 1 equals DECIMAL 1 and DOUBLE 1.0.
 *
 * A double is compared with an int64 or a decimal through its shortest round-trip decimal (the
 * shortest string that reads back to the same double, at most 17 digits), so 0.1 (double) ==
 * 0.1 (decimal). That is not the double's exact binary value: DOUBLE 2^60 equals DECIMAL
 * 1152921504606847000, not INT 1152921504606846976. Doubles among themselves, and ints among
 * themselves, compare as usual (the shortest decimal is increasing in the double).
 *
 * Maps: fields may be given in any order; value_encode() writes them sorted by name, and
 * value_decode() returns them sorted. Duplicate names are an error (CR_EINVAL) on encode.
 * Sets: value_encode() writes elements sorted and rejects duplicates (CR_EINVAL) and empty
 * sets (CR_EINVAL), as DynamoDB does.
 */
#ifndef CR_VALUE_H
#define CR_VALUE_H

#include "common/arena.h"
#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maximum nesting depth of arrays and maps (DynamoDB's limit is 32). */
#define CR_MAX_DEPTH 32

/* Decimal: DynamoDB's number. Up to 38 significant digits, value
 * (-1)^neg * 0.d[0]d[1]...d[n-1] * 10^exp, normalized: d[0] != 0 and d[n-1] != 0 unless zero
 * (n == 0, exp == 0, neg == false). DynamoDB's range, 1E-130 .. 9.99..9E+125 in magnitude, is
 * exp in [-129, 126] in this form. */
#define CR_DECIMAL_DIGITS 38
#define CR_DECIMAL_EXP_MIN (-129)
#define CR_DECIMAL_EXP_MAX 126

struct decimal {
    bool neg;
    uint8_t n;                    /* number of significant digits, 0..38 */
    int16_t exp;                  /* see above */
    uint8_t d[CR_DECIMAL_DIGITS]; /* digits 0..9, most significant first */
};

/* Parses a DynamoDB number string ("-12.5e3", "0.001", "  " is invalid). Leading zeros and
 * trailing zeros are not significant. Returns 0, CR_EINVAL if it is not a number, CR_ENUMBER if
 * it has more than 38 significant digits or is out of range (underflow too: DynamoDB rejects
 * 1E-131). */
int decimal_parse(const char *s, size_t len, struct decimal *out);
/* Writes the canonical text into buf: plain digits with no exponent, as DynamoDB prints numbers
 * ("-0.00125", "1200"). Returns the length of the text; when that is >= cap the text was cut
 * (snprintf's contract). NUL-terminates when cap > 0. The longest text is a sign, "0.", 129
 * zeros and 38 digits, or 38 digits and 88 zeros: CR_DECIMAL_TEXT_MAX holds any of them. */
#define CR_DECIMAL_TEXT_MAX 176
size_t decimal_format(const struct decimal *d, char *buf, size_t cap);
void decimal_from_int64(int64_t v, struct decimal *out);
/* Exact for DynamoDB-range values; returns CR_ENUMBER for NaN, infinities, and magnitudes out of
 * the decimal's range. */
int decimal_from_double(double v, struct decimal *out);
/* The shortest decimal that reads back to v, without DynamoDB's range check: exp may be anywhere
 * in [-323, 309] (the key codec and value_compare order every finite double this way). NaN and
 * the infinities give zero; callers handle them first. */
void decimal_from_double_wide(double v, struct decimal *out);
/* Nearest double. */
double decimal_to_double(const struct decimal *d);
/* Orders any two normalized decimals, wide ones included. Returns <0, 0, >0. */
int decimal_compare(const struct decimal *a, const struct decimal *b);
/* Normalized and within DynamoDB's range: what decimal_parse produces. */
bool decimal_is_normal(const struct decimal *d);
/* Exact sums for DynamoDB's arithmetic (UpdateExpression SET a = a + :v, ADD). The operands
 * are normalized decimals in DynamoDB's range. Returns 0, or CR_ENUMBER when the exact result
 * needs more than 38 significant digits or falls outside DynamoDB's range (DynamoDB rounds
 * neither); *out is unchanged on error and may alias an operand. */
int decimal_add(const struct decimal *a, const struct decimal *b, struct decimal *out);
/* a - b, as decimal_add. */
int decimal_sub(const struct decimal *a, const struct decimal *b, struct decimal *out);

enum value_type {
    VT_NULL,
    VT_BOOL,
    VT_INT,
    VT_DOUBLE,
    VT_DECIMAL,
    VT_STRING,
    VT_BYTES,
    VT_TIMESTAMP,
    VT_GEOPOINT,
    VT_REF,
    VT_ARRAY,
    VT_MAP,
    VT_SS,
    VT_NS,
    VT_BS,
};

struct value;

struct value_field {
    const char *name; /* not NUL-terminated */
    size_t name_len;
    struct value *value;
};

struct value {
    enum value_type type;
    union {
        bool b;
        int64_t i;
        double d;
        struct decimal dec;
        struct {
            const char *ptr;
            size_t len;
        } s; /* STRING (UTF-8), BYTES, REF */
        struct {
            int64_t sec;
            int32_t nsec; /* 0..999999999 */
        } ts;
        struct {
            double lat, lng;
        } geo;
        struct {
            struct value *items;
            size_t n;
        } arr; /* ARRAY, SS, NS, BS */
        struct {
            struct value_field *fields;
            size_t n;
        } map;
    } u;
};

/* Type rank in the total order above (0..12). */
int value_rank(enum value_type t);
const char *value_type_name(enum value_type t);

int value_compare(const struct value *a, const struct value *b);
bool value_equal(const struct value *a, const struct value *b);

/* INT, DOUBLE or DECIMAL to a decimal (see the header comment for doubles). CR_ETYPE for a
 * non-number, CR_ENUMBER for NaN, infinities or out-of-range doubles. */
int value_number_to_decimal(const struct value *v, struct decimal *out);

/* The order value_encode() writes a MAP's fields (by name) or a set's elements (by
 * value_compare) in. *order is NULL when they are already strictly increasing, else a malloc'd
 * array of the n member indexes in that order, which the caller frees. CR_EINVAL when two members
 * are equal (duplicate field name or set element), CR_ENOMEM. */
int value_sort_order(const struct value *v, size_t **order);

/* Top-level field of a MAP by name; NULL when absent or when v is not a MAP. */
const struct value *value_map_get(const struct value *v, const char *name, size_t name_len);

/*
 * The stored item encoding: appends the encoding of v to out. Errors: CR_EINVAL (duplicate map
 * field or set element, empty set, set element of the wrong type, invalid timestamp, unnormalized
 * decimal), CR_ENESTING (deeper than CR_MAX_DEPTH), CR_ENOMEM; on error out is unchanged. The
 * format is the table in value.c's header comment; containers carry their byte length so a
 * reader can skip a field without decoding it.
 */
int value_encode(const struct value *v, struct cr_buf *out);

/* Decodes one value from [p, p+n). Strings and bytes point into p; element arrays are allocated
 * from the arena. Returns 0, CR_ECORRUPT on any malformed or trailing input, CR_ENOMEM. */
int value_decode(const uint8_t *p, size_t n, struct cr_arena *a, struct value *out);

/* Finds the top-level field `name` of an encoded MAP without decoding the rest: on success
 * *fp and *fn are the field value's encoding (decode it with value_decode). CR_ENOTFOUND when the
 * map has no such field, CR_ETYPE when the encoding is not a MAP, CR_ECORRUPT when malformed. */
int value_map_find_encoded(const uint8_t *p, size_t n, const char *name, size_t name_len,
                           const uint8_t **fp, size_t *fn);

/*
 * The size DynamoDB charges for an item (a MAP of attributes): for each attribute, the UTF-8
 * length of its name plus the size of its value, where
 *   STRING, BYTES, REF: length; NULL, BOOL: 1; number: 1 + ceil(significant digits / 2), with
 *   INT and DOUBLE counted through value_number_to_decimal; TIMESTAMP 8; GEOPOINT 16;
 *   ARRAY/MAP: 3 + for each element 1 + its size (plus the field name's length for MAP);
 *   sets: the sum of their elements' sizes.
 * For a non-MAP, the size of the value alone.
 */
size_t value_ddb_size(const struct value *v);

/* Deep copy of v into the arena (strings included). Returns 0 or CR_ENOMEM. */
int value_clone(const struct value *v, struct cr_arena *a, struct value *out);

/* Constructors for the scalar cases (no allocation). */
struct value value_null(void);
struct value value_bool(bool b);
struct value value_int(int64_t i);
struct value value_double(double d);
struct value value_string(const char *s, size_t len);
struct value value_bytes(const void *p, size_t len);

#endif
