/* The one xxhash wrapper: 64-bit XXH3 of a byte range. Stable across versions and platforms. */
#ifndef CR_HASH_H
#define CR_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t cr_hash64(const void *data, size_t len);

#endif
