/*
 * Conversion between struct cirrus_value (cirrus.h) and the generated protobuf Value. Private
 * to client/: only the .c files of client/ include this header and "cirrus.pb-c.h". No I/O here.
 */
#ifndef CIRRUS_PBVALUE_H
#define CIRRUS_PBVALUE_H

#include "cirrus.pb-c.h"
#include "client/cirrus.h"
#include "common/arena.h"

/*
 * Builds the protobuf form of v with every node allocated from arena a; strings and bytes are
 * borrowed from v, so v must outlive the packing. 0, CR_ENOMEM, CR_ENESTING, CR_ETYPE (a set
 * element of the wrong kind), CR_EINVAL (an unknown type).
 */
int pbvalue_encode(struct cr_arena *a, const struct cirrus_value *v, Cirrus__Value **out);
/* The same for a map (CR_EINVAL if v is not a CIRRUS_MAP). */
int pbvalue_encode_map(struct cr_arena *a, const struct cirrus_value *v, Cirrus__MapValue **out);

/*
 * Deep-copies a decoded protobuf value into *out (malloc'd; the caller clears it). A value
 * with no kind set decodes as NULL. 0, CR_ENOMEM, CR_ENESTING; on failure *out is NULL.
 */
int pbvalue_decode(const Cirrus__Value *pv, struct cirrus_value *out);
/* The same for a map; a NULL pm decodes as an empty map. */
int pbvalue_decode_map(const Cirrus__MapValue *pm, struct cirrus_value *out);

#endif
