/*
 * Order-preserving encoding of typed keys: memcmp order of encodings == value_compare order of
 * values, so LMDB's default comparator sorts rows by key value.
 *
 * Every value type is encodable (secondary indexes of documents need them all); table keys use
 * STRING, number and BYTES. Numbers of all three types (INT, DOUBLE, DECIMAL) share one numeric
 * encoding, so they compare numerically with each other; decoding a number yields a DECIMAL
 * (or a DOUBLE for NaN and the infinities), equal under value_equal to what was encoded.
 *
 * Each encoded component is self-delimiting, so a composite key (partition key, sort key) is
 * the concatenation of its components and compares component by component.
 *
 * Long components. LMDB keys are at most 511 bytes. A component whose full encoding is longer
 * than CR_KEY_PREFIX is stored as its first CR_KEY_PREFIX bytes, the 2-byte marker 0x00 0x02 and
 * the 8-byte xxh3 of the full encoding: exactly CR_KEY_COMPONENT_MAX bytes. (The threshold is
 * CR_KEY_PREFIX so that no stored short component can extend a long one's kept prefix: see
 * keycodec.c.) Consequence: components are ordered by value, except among long components that
 * share their first CR_KEY_PREFIX encoded bytes, which are ordered by hash. Equality of such a
 * key is checked against the full key kept in the row (storage does this). The full table is in
 * keycodec.c.
 */
#ifndef CR_KEYCODEC_H
#define CR_KEYCODEC_H

#include "common/buf.h"
#include "storage/value.h"

#include <stdbool.h>

/* Longest stored component encoding; two of them plus a 4-byte object id fit in 511 bytes. */
#define CR_KEY_COMPONENT_MAX 250
#define CR_KEY_PREFIX (CR_KEY_COMPONENT_MAX - 10)
/* Index entries: four components (index key, table key) plus the 4-byte id fit in 511 bytes. */
#define CR_INDEX_COMPONENT_MAX 126
#define CR_INDEX_KEY_PREFIX (CR_INDEX_COMPONENT_MAX - 10)

/* Appends the full (never truncated) order-preserving encoding of v. CR_ENESTING when deeper than
 * CR_MAX_DEPTH, CR_EINVAL for an invalid value (duplicate map field or set element, timestamp
 * nsec out of range, unnormalized decimal), CR_ENOMEM. On error out is unchanged. */
int keycodec_encode(const struct value *v, struct cr_buf *out);

/* Appends the stored form of v: the full encoding, or prefix + marker + hash when that is longer
 * than CR_KEY_PREFIX. *truncated tells which (may be NULL). Errors as keycodec_encode. */
int keycodec_encode_component(const struct value *v, struct cr_buf *out, bool *truncated);
/* The same with the cut at `prefix` bytes (CR_KEY_PREFIX or CR_INDEX_KEY_PREFIX): the stored
 * component is at most prefix + 10 bytes. */
int keycodec_encode_cut(const struct value *v, size_t prefix, struct cr_buf *out, bool *truncated);

/* Appends the encoding of a STRING or BYTES value without its terminator: every key whose
 * component begins with v's bytes starts with these bytes (begins_with range reads). A long
 * stored component keeps only CR_KEY_PREFIX bytes, so when this prefix is longer, a range read
 * uses its first CR_KEY_PREFIX bytes and filters on the full value. CR_ETYPE for other types. */
int keycodec_encode_prefix(const struct value *v, struct cr_buf *out);

/* The first and last tag byte of the encodings of t's type rank (value_rank): every encoding
 * of a value of that rank starts with a byte in [*first, *last], and no other rank's does, so a
 * range read can be held to one type (numbers: NaN .. +Inf). */
void keycodec_rank_tags(enum value_type t, uint8_t *first, uint8_t *last);

/* Decodes one stored component (keycodec_encode_component's output) from [*p, end), advancing *p
 * past it. Strings and bytes are allocated from the arena (escapes are removed). CR_ECORRUPT when
 * malformed, CR_ENOMEM; CR_ETOOLONG when the component is a truncated long one (its value is only
 * in the row): *p is still advanced past it. A full keycodec_encode() output longer than
 * CR_KEY_PREFIX is not a stored form and is not accepted. Errors are not logged: a caller that
 * read the key from storage reports corruption itself (CR_CORRUPT()). */
int keycodec_decode(const uint8_t **p, const uint8_t *end, struct cr_arena *a, struct value *out);

/* Length of the stored component at [p, end) without decoding it (CR_KEY_COMPONENT_MAX for a long
 * one); CR_ECORRUPT when malformed. */
int keycodec_skip(const uint8_t *p, const uint8_t *end, size_t *len);
/* The same for a component stored with keycodec_encode_cut(prefix). */
int keycodec_skip_cut(const uint8_t *p, const uint8_t *end, size_t prefix, size_t *len);

#endif
