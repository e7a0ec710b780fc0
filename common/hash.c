#include "common/hash.h"

#include <xxhash.h>

uint64_t cr_hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}
