/*
 * A per-request arena: bump allocation from chained blocks, freed in one call.
 * Allocations are 16-byte aligned. cr_arena_reset keeps the first block for reuse, so a
 * connection that resets its arena per request allocates nothing in the steady state.
 * Returns NULL only when malloc does.
 */
#ifndef CR_ARENA_H
#define CR_ARENA_H

#include <stddef.h>

struct cr_arena_block;

struct cr_arena {
    struct cr_arena_block *head;
    size_t block_size;
};

void cr_arena_init(struct cr_arena *a, size_t block_size);
void *cr_arena_alloc(struct cr_arena *a, size_t n);
void *cr_arena_calloc(struct cr_arena *a, size_t n);
/* Copies n bytes and appends a NUL (the copy is usable as a C string). */
char *cr_arena_strndup(struct cr_arena *a, const char *s, size_t n);
/* Appends one element of `size` bytes to the arena array *items (*n used of *cap), doubling it
 * (from 16) when full: returns the new element, or NULL when the arena is out of memory. */
void *cr_arena_push(struct cr_arena *a, void **items, size_t *n, size_t *cap, size_t size);
void cr_arena_reset(struct cr_arena *a);
void cr_arena_free(struct cr_arena *a);

#endif
