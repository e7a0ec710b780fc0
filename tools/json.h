/*
 * JSON <-> struct cirrus_value for the CLI (jansson). Only tools/ include jansson; libcirrus
 * never sees JSON. Functions are prefixed jsonv_ ("JSON values") to stay clear of jansson's
 * json_ namespace.
 *
 * Plain JSON maps onto values: string -> STRING, integer -> INT (an integer literal too big
 * for int64 -> DECIMAL text), real -> DOUBLE, true/false -> BOOL, null -> NULL, array ->
 * ARRAY, object -> MAP. The other kinds are one-key objects (the same shapes are printed):
 *   {"$bytes":"<base64>"}        BYTES (standard alphabet, padding optional on input)
 *   {"$decimal":"-12.5e3"}       DECIMAL (exact text)
 *   {"$double":"NaN"}            DOUBLE, also "Infinity", "-Infinity" or a number
 *   {"$ts":"2024-05-01T12:00:00.5Z"}  TIMESTAMP (RFC 3339, offsets allowed, up to 9 digits;
 *                                     {"$ts":{"seconds":S,"nanos":N}} outside years 0..9999)
 *   {"$geo":[lat, lon]}          GEOPOINT
 *   {"$ref":"users/ann"}         REF
 *   {"$ss":["a","b"]}            STRING_SET
 *   {"$ns":[1, 2.5, "1.5"]}      NUMBER_SET (strings are decimal text)
 *   {"$bs":["<base64>"]}         BINARY_SET
 *   {"$map":{...}}               a MAP taken literally (for a map whose only key starts with $)
 * Any other one-key object whose key starts with "$" is an error, so typos don't become data.
 */
#ifndef CIRRUS_TOOLS_JSON_H
#define CIRRUS_TOOLS_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "client/cirrus.h"

/*
 * Parses one whole JSON text into *out (the caller clears it). 0, or CR_EINVAL with a message
 * in err (errlen bytes); then *out is NULL.
 */
int jsonv_parse(const char *text, struct cirrus_value *out, char *err, size_t errlen);
/*
 * Parses the JSON value at the start of text, which must already be rewritten by
 * jsonv_rewrite_bigints; *end points just after it. Same errors as jsonv_parse.
 */
int jsonv_parse_prefix(const char *text, struct cirrus_value *out, const char **end, char *err,
                       size_t errlen);
/*
 * A malloc'd copy of JSON text where each integer literal too big for int64 is replaced by
 * {"$decimal":"<digits>"} (jansson refuses such integers). NULL when out of memory.
 */
char *jsonv_rewrite_bigints(const char *text);
/* Converts a parsed JSON value. Same contract as jsonv_parse. */
int jsonv_from_json(const json_t *j, struct cirrus_value *out, char *err, size_t errlen);
/*
 * Compact one-line JSON text of v (the caller free()s it); NULL when out of memory. Written
 * here rather than by jansson so doubles print in their shortest exact form ("0.1", "1.0")
 * and invalid UTF-8 from other front ends prints as U+FFFD instead of failing.
 */
char *jsonv_dumps(const struct cirrus_value *v);

/* Base64 of n bytes into out (room for 4 * ((n + 2) / 3) + 1), NUL-terminated; the length. */
size_t jsonv_base64_encode(const uint8_t *p, size_t n, char *out);
/* Decodes base64 text into a malloc'd buffer (the caller frees it). 0, CR_EINVAL, CR_ENOMEM. */
int jsonv_base64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen);
/* RFC 3339 text -> seconds and nanoseconds since the epoch (UTC). 0 or CR_EINVAL. */
int jsonv_ts_parse(const char *s, int64_t *sec, int32_t *nsec);
/* Seconds and nanoseconds -> "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (fraction without trailing
 * zeros). 0, or CR_EINVAL when out of the years 0000..9999 or nsec out of range. */
int jsonv_ts_format(int64_t sec, int32_t nsec, char *buf, size_t len);

#endif
