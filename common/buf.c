/* Growable byte buffer and big-endian/varint codecs. */
#include "common/buf.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

void cr_buf_init(struct cr_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cr_buf_free(struct cr_buf *b)
{
    free(b->data);
    cr_buf_init(b);
}

void cr_buf_reset(struct cr_buf *b)
{
    b->len = 0;
}

int cr_buf_reserve(struct cr_buf *b, size_t more)
{
    size_t need = b->len + more, cap = b->cap ? b->cap : 64;
    uint8_t *p;

    if (need < b->len)
        return CR_ENOMEM;
    if (need <= b->cap)
        return 0;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (!p)
        return CR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int cr_buf_append(struct cr_buf *b, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    rc = cr_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int cr_buf_putc(struct cr_buf *b, uint8_t c)
{
    return cr_buf_append(b, &c, 1);
}

int cr_buf_put_u16be(struct cr_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return cr_buf_append(b, p, 2);
}

int cr_buf_put_u32be(struct cr_buf *b, uint32_t v)
{
    uint8_t p[4];
    cr_put_u32be(p, v);
    return cr_buf_append(b, p, 4);
}

int cr_buf_put_u64be(struct cr_buf *b, uint64_t v)
{
    uint8_t p[8];
    cr_put_u64be(p, v);
    return cr_buf_append(b, p, 8);
}

size_t cr_varint_encode(uint8_t *out, uint64_t v)
{
    size_t n = 0;

    do {
        out[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            out[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

int cr_buf_put_varint(struct cr_buf *b, uint64_t v)
{
    uint8_t p[CR_VARINT_MAX];

    return cr_buf_append(b, p, cr_varint_encode(p, v));
}

uint16_t cr_get_u16be(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t cr_get_u32be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint64_t cr_get_u64be(const uint8_t *p)
{
    return ((uint64_t)cr_get_u32be(p) << 32) | cr_get_u32be(p + 4);
}

void cr_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void cr_put_u64be(uint8_t *p, uint64_t v)
{
    cr_put_u32be(p, (uint32_t)(v >> 32));
    cr_put_u32be(p + 4, (uint32_t)v);
}

int cr_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    const uint8_t *q = *p;
    uint64_t v = 0;
    unsigned shift = 0;

    while (q < end && shift < 70) {
        uint8_t c = *q++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *p = q;
            *out = v;
            return 0;
        }
        shift += 7;
    }
    return CR_ECORRUPT;
}
