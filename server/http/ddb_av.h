/*
 * DynamoDB AttributeValue JSON <-> struct value, and DynamoDB's own validation of values on the
 * way in (number syntax and range, empty and duplicate sets, NULL that is not true, nesting),
 * with DynamoDB's message texts. No I/O, no table knowledge: key rules live in dynamodb.c.
 *
 *   JSON                   struct value
 *   {"S": "text"}          VT_STRING            (borrows the JSON's bytes)
 *   {"N": "12.50"}         VT_DECIMAL           out: canonical text ("12.5"), also for INT and
 *                                                DOUBLE values written by other front ends
 *   {"B": "base64"}        VT_BYTES             (decoded into the arena)
 *   {"SS"|"NS"|"BS": [..]} VT_SS | VT_NS | VT_BS elements as S, N, B above
 *   {"M": {...}}           VT_MAP
 *   {"L": [...]}           VT_ARRAY
 *   {"NULL": true}         VT_NULL
 *   {"BOOL": b}            VT_BOOL
 *   out only: TIMESTAMP as S (RFC 3339), REF as S, GEOPOINT as M {latitude, longitude}
 *
 * jansson's json_t is named by its struct tag so this header does not include jansson: only
 * the files of server/http/ do.
 */
#ifndef CR_SERVER_HTTP_DDB_AV_H
#define CR_SERVER_HTTP_DDB_AV_H

#include "common/arena.h"
#include "server/errmsg.h"
#include "storage/value.h"

struct json_t;

/*
 * One AttributeValue object to *out. Strings borrow from the JSON, which must outlive *out;
 * everything else comes from the arena. Returns 0, CR_EPROTO (a JSON shape the SDK cannot
 * send: SerializationException), CR_EINVAL (ValidationException: no type or several, NULL not
 * true, an empty or duplicated set, a string that is not a number), CR_ENUMBER (more than 38
 * digits, overflow, underflow), CR_ENESTING (deeper than CR_MAX_DEPTH), CR_ENOMEM. The text
 * in e is DynamoDB's.
 */
int ddb_av_to_value(const struct json_t *av, struct cr_arena *a, struct value *out,
                    struct errmsg *e);

/* An attribute map ({"name": AttributeValue, ...}: an Item or a Key) to a VT_MAP. Same
 * errors. */
int ddb_item_to_value(const struct json_t *item, struct cr_arena *a, struct value *out,
                      struct errmsg *e);

/* A value as a new AttributeValue object (a new reference), NULL when out of memory. */
struct json_t *ddb_av_from_value(const struct value *v);

/* A VT_MAP as an attribute map (a new reference), NULL when out of memory or not a map. */
struct json_t *ddb_item_from_value(const struct value *map);

#endif
