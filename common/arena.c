/* Bump allocator over a chain of malloc'd blocks; large requests get a block of their own. */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cr_arena_block {
    struct cr_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void cr_arena_init(struct cr_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 16384;
}

void *cr_arena_alloc(struct cr_arena *a, size_t n)
{
    struct cr_arena_block *b = a->head;
    size_t size;

    if (n > SIZE_MAX - 15)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (b && b->size - b->used >= n) {
        void *p = b->data + b->used;
        b->used += n;
        return p;
    }
    size = n > a->block_size ? n : a->block_size;
    if (size > SIZE_MAX - sizeof *b)
        return NULL;
    b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    b->used = n;
    if (a->head && size == n) {
        /* An oversized block goes behind the current one so its free space stays usable. */
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b->next = a->head;
        a->head = b;
    }
    return b->data;
}

void *cr_arena_calloc(struct cr_arena *a, size_t n)
{
    void *p = cr_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *cr_arena_strndup(struct cr_arena *a, const char *s, size_t n)
{
    char *p = cr_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void cr_arena_reset(struct cr_arena *a)
{
    struct cr_arena_block *b = a->head, *keep = NULL;

    while (b) {
        struct cr_arena_block *next = b->next;
        if (!keep && b->size == a->block_size) {
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

void cr_arena_free(struct cr_arena *a)
{
    cr_arena_reset(a);
    free(a->head);
    a->head = NULL;
}

void *cr_arena_push(struct cr_arena *a, void **items, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        void *bigger = cr_arena_alloc(a, ncap * size);

        if (!bigger)
            return NULL;
        if (*n)
            memcpy(bigger, *items, *n * size);
        *items = bigger;
        *cap = ncap;
    }
    return (char *)*items + (*n)++ * size;
}
