/*
 * Conversions between the protobuf messages of proto/cirrus.proto and storage's C structs:
 * Value/MapValue <-> struct value, TableSchema <-> struct table_def, WriteCondition <->
 * struct condition, LogEntry <-> struct log_batch (DynamoDB expressions included: decoding parses
 * them into mutation hooks, server/ddb_hook.h). Validation of what storage cannot see in a
 * struct value (a Value with no kind, nesting depth, set element types, decimal text, UTF-8)
 * happens here, with a named error and specific text. No I/O, no storage access.
 *
 * Memory: every function allocates from the arena it is given, nothing else; results borrow
 * from their input (strings of an unpacked message stay where protobuf-c put them) and from
 * the arena, so both must outlive the result. Nothing needs freeing besides the arena.
 *
 * Limitation: protobuf-c hands strings over NUL-terminated, so a string containing U+0000 is
 * read up to its first NUL. Bytes values have no such limit.
 */
#ifndef CR_SERVER_WIRE_H
#define CR_SERVER_WIRE_H

#include "cirrus.pb-c.h"
#include "common/arena.h"
#include "server/errmsg.h"
#include "storage/storage.h"

#include <protobuf-c/protobuf-c.h>

/* A protobuf-c allocator that takes from the arena and never frees (the arena does). */
void wire_allocator(ProtobufCAllocator *pa, struct cr_arena *a);

/* Value -> struct value. Errors: CR_EINVAL (no kind set, bad timestamp or geopoint, bad UTF-8,
 * a field with no value, bad decimal text), CR_ENUMBER (decimal out of range or > 38 digits),
 * CR_ENESTING (containers deeper than CR_MAX_DEPTH), CR_ETYPE (a set element of the wrong type),
 * CR_ENOMEM. Numbers keep their wire type (INT, DOUBLE or DECIMAL). */
int wire_value_from_pb(const Cirrus__Value *pb, struct cr_arena *a, struct value *out,
                       struct errmsg *e);
/* MapValue -> a VT_MAP value (the form of items and keys); the map itself is depth 1. */
int wire_map_from_pb(const Cirrus__MapValue *pb, struct cr_arena *a, struct value *out,
                     struct errmsg *e);

/* struct value -> Value / MapValue (v must be a VT_MAP for the latter: CR_ETYPE). CR_ENOMEM. */
int wire_value_to_pb(const struct value *v, struct cr_arena *a, Cirrus__Value **out);
int wire_map_to_pb(const struct value *v, struct cr_arena *a, Cirrus__MapValue **out);

/* TableSchema -> the name and key schema of *out (the rest zeroed). CR_ESCHEMA (no partition
 * key, an empty or too long key attribute name, an unknown key type, sort key named as the
 * partition key), CR_ENAME (table name longer than CR_MAX_NAME_LEN). */
int wire_schema_from_pb(const Cirrus__TableSchema *pb, struct table_def *out, struct errmsg *e);
int wire_schema_to_pb(const struct table_def *def, struct cr_arena *a, Cirrus__TableSchema **out);
/* stats may be NULL (counts reported as 0). */
int wire_table_desc_to_pb(const struct table_def *def, const struct table_stats *stats,
                          struct cr_arena *a, Cirrus__TableDescription **out);

/* WriteCondition (NULL: none) <-> struct condition. CR_EINVAL: an unknown type, an EQUALS with no
 * attribute or no value. */
int wire_condition_from_pb(const Cirrus__WriteCondition *pb, struct cr_arena *a,
                           struct condition *out, struct errmsg *e);

/* Encodes a LogEntry of the mutations into arena bytes *out / *len; a mutation's hook, when
 * set, must come from ddb_hook_install (its expression texts are what gets encoded). CR_ENOMEM,
 * CR_EINVAL (a mutation type or value that cannot be encoded, an update or check without a
 * hook). */
int wire_log_entry_encode(int64_t time_ms, const struct mutation *muts, size_t n,
                          struct cr_arena *a, uint8_t **out, size_t *len);
/* An entry's idempotency token (struct log_batch): text NULL for none; borrowed. */
struct wire_token {
    const char *text;
    size_t len;
    uint64_t request_hash;
};
/* As wire_log_entry_encode, with a token. */
int wire_log_entry_encode_token(int64_t time_ms, const struct wire_token *token,
                                const struct mutation *muts, size_t n, struct cr_arena *a,
                                uint8_t **out, size_t *len);
/* Decodes LogEntry bytes into out->time_ms, out->muts, out->n and the token (out->token NULL
 * when none; it borrows from the arena) (out->index is left to the
 * caller), parsing each mutation's expressions into a hook whose ASTs live in the arena.
 * CR_EPROTO when the bytes are not a LogEntry; the value errors above, or CR_EINVAL for an
 * expression that does not parse, otherwise. */
int wire_log_entry_decode(const uint8_t *p, size_t len, struct cr_arena *a, struct log_batch *out,
                          struct errmsg *e);

/* ---- collections and documents ---- */

#define WIRE_DEFAULT_DB "default" /* the database of a request that names none */

/* CollectionSchema -> *out's db (empty: WIRE_DEFAULT_DB), name, partition key path and policy
 * (borrowing pb's strings). CR_ENAME (a name or path too long for coll_def), CR_ETOOMANY (over
 * the policy limits), CR_EINVAL (an unknown indexing mode), CR_ENOMEM. The rest of the rules are
 * catalog_coll_check's. */
int wire_coll_schema_from_pb(const Cirrus__CollectionSchema *pb, struct cr_arena *a,
                             struct coll_def *out, struct errmsg *e);
int wire_coll_schema_to_pb(const struct coll_def *c, struct cr_arena *a,
                           Cirrus__CollectionSchema **out);
/* stats may be NULL (counts reported as 0). CR_ENOMEM. */
int wire_coll_desc_to_pb(const struct coll_def *c, const struct table_stats *stats,
                         struct cr_arena *a, Cirrus__CollectionDescription **out);
/* DocKey -> struct doc_key: CR_EINVAL (missing, an id of 0 or more than CR_MAX_DOC_ID bytes or
 * not UTF-8) and the value errors of the partition key. */
int wire_doc_key_from_pb(const Cirrus__DocKey *pb, struct cr_arena *a, struct doc_key *out,
                         struct errmsg *e);
int wire_doc_key_to_pb(const struct doc_key *k, struct cr_arena *a, Cirrus__DocKey **out);
/* DocPrecondition (NULL: none) -> struct doc_precond, borrowing the etag. CR_EINVAL. */
int wire_precond_from_pb(const Cirrus__DocPrecondition *pb, struct doc_precond *out,
                         struct errmsg *e);
/* A patch path's text ("/a/b", "/tags/0") -> segments, an unquoted all-digit segment being an
 * array position (quote a field named by digits: "/\"0\""). CR_EINVAL ("[]", malformed). */
int wire_patch_path_parse(const char *text, struct cr_arena *a, struct doc_path *out,
                          struct errmsg *e);
/* PatchOp list -> struct patch_op array (*out arena-allocated). CR_EINVAL (none, an unknown kind,
 * a bad path, a missing value), CR_ETOOMANY (more than CR_MAX_PATCH_OPS), value errors. */
int wire_patch_from_pb(Cirrus__PatchOp *const *ops, size_t n, struct cr_arena *a,
                       struct patch_op **out, struct errmsg *e);

/* True when [s, s+n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool wire_utf8_valid(const char *s, size_t n);

#endif
