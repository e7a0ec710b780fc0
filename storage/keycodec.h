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
 * than CR_KEY_COMPONENT_MAX is stored as its first CR_KEY_PREFIX bytes, a 2-byte marker that
 * sorts after any continuation of a shorter component, and the 8-byte xxh3 of the full encoding.
 * Consequence: components are ordered by value, except among long components that share their
 * first CR_KEY_PREFIX encoded bytes, which are ordered by hash. Equality of such a key is
 * checked against the full key kept in the row (storage does this). The full table is in
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

/* Appends the full (never truncated) order-preserving encoding of v. CR_ENESTING when deeper than
 * CR_MAX_DEPTH, CR_ENOMEM. */
int keycodec_encode(const struct value *v, struct cr_buf *out);

/* Appends the stored form of v: the full encoding, or prefix + marker + hash when that is longer
 * than CR_KEY_COMPONENT_MAX. *truncated tells which (may be NULL). */
int keycodec_encode_component(const struct value *v, struct cr_buf *out, bool *truncated);

/* Appends the encoding of a STRING or BYTES value without its terminator: every key whose
 * component begins with v's bytes starts with these bytes (begins_with range reads). CR_ETYPE for
 * other types. */
int keycodec_encode_prefix(const struct value *v, struct cr_buf *out);

/* Decodes one component from [*p, end), advancing *p past it. Strings and bytes are allocated from
 * the arena (escapes are removed). CR_ECORRUPT when malformed; CR_ETOOLONG when the component is
 * a truncated long one (its value is only in the row). */
int keycodec_decode(const uint8_t **p, const uint8_t *end, struct cr_arena *a, struct value *out);

/* Length of the component at [p, end) without decoding it; CR_ECORRUPT when malformed. */
int keycodec_skip(const uint8_t *p, const uint8_t *end, size_t *len);

#endif
