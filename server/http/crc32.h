/*
 * CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, initial and final XOR
 * 0xFFFFFFFF): the checksum DynamoDB puts in `x-amz-crc32` and the AWS SDKs verify. Pure
 * function, no state, no allocation.
 */
#ifndef CR_SERVER_HTTP_CRC32_H
#define CR_SERVER_HTTP_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a checksum: crc32_update(0, p, n) is the CRC-32 of p; feeding the bytes in pieces
 * (crc = crc32_update(crc, piece, len) for each) gives the same result. */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

#endif
