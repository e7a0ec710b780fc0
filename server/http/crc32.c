/*
 * CRC-32 with a 256-entry table built once on first use (thread-safe through pthread_once).
 * Must stay bit-compatible with zlib's crc32(): the SDKs reject a response whose x-amz-crc32
 * differs.
 */
#include "server/http/crc32.h"

#include <pthread.h>

#define CRC32_POLY 0xEDB88320u

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c & 1) ? CRC32_POLY ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;

    pthread_once(&table_once, table_build);
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ b[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
