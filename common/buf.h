/*
 * A growable byte buffer. The caller owns the struct; cr_buf_free releases the bytes.
 * Append functions return 0 or CR_ENOMEM and leave the buffer unchanged on failure.
 * Big-endian helpers are the byte order of every key and frame header in Cirrus.
 */
#ifndef CR_BUF_H
#define CR_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

void cr_buf_init(struct cr_buf *b);
void cr_buf_free(struct cr_buf *b);
/* Keeps the allocation, forgets the contents. */
void cr_buf_reset(struct cr_buf *b);
/* Makes room for at least `more` further bytes. */
int cr_buf_reserve(struct cr_buf *b, size_t more);
int cr_buf_append(struct cr_buf *b, const void *p, size_t n);
int cr_buf_putc(struct cr_buf *b, uint8_t c);
int cr_buf_put_u16be(struct cr_buf *b, uint16_t v);
int cr_buf_put_u32be(struct cr_buf *b, uint32_t v);
int cr_buf_put_u64be(struct cr_buf *b, uint64_t v);
/* Unsigned LEB128 varint. */
int cr_buf_put_varint(struct cr_buf *b, uint64_t v);
/* Writes the varint of v to out (room for CR_VARINT_MAX bytes); returns its length. */
#define CR_VARINT_MAX 10
size_t cr_varint_encode(uint8_t *out, uint64_t v);

uint16_t cr_get_u16be(const uint8_t *p);
uint32_t cr_get_u32be(const uint8_t *p);
uint64_t cr_get_u64be(const uint8_t *p);
void cr_put_u32be(uint8_t *p, uint32_t v);
void cr_put_u64be(uint8_t *p, uint64_t v);
/* Reads a varint from [*p, end); advances *p. Returns 0, or CR_ECORRUPT if truncated or
 * longer than 10 bytes. */
int cr_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

#endif
