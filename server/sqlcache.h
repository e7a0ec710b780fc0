/*
 * Results of queries that must see every row before their first (ORDER BY not served by an
 * index, GROUP BY, DISTINCT, aggregates), kept after their first page so the following pages are
 * served from memory instead of re-running the query (ops_sql, docs/protocol.md). Bounded:
 * SQLCACHE_ENTRIES entries, SQLCACHE_BYTES of results (value_ddb_size), SQLCACHE_TTL_MS since
 * last use; the least recently used goes first. A page whose entry is gone is re-run by the
 * caller: the continuation token still says which result comes next. Process-wide, thread-safe.
 */
#ifndef CR_SERVER_SQLCACHE_H
#define CR_SERVER_SQLCACHE_H

#include "common/arena.h"
#include "storage/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQLCACHE_ENTRIES 64
#define SQLCACHE_BYTES (256u << 20)
#define SQLCACHE_TTL_MS 300000

/*
 * Keeps rows[0..n) — allocated from *rows_arena, which the cache takes over (it is left empty
 * either way) — as results first..first + n - 1 of the query run hashed `hash`, and gives the
 * entry's id (never 0). CR_EFULL when they alone exceed SQLCACHE_BYTES (nothing is kept).
 */
int sqlcache_put(uint64_t hash, uint64_t first, const struct value *rows, size_t n,
                 struct cr_arena *rows_arena, uint64_t *id);

/*
 * Copies into out (room for max) the results from position `pos` on of entry id, made for hash,
 * at most max of them and stopping after CR_MAX_PAGE_BYTES of data, deep-copied into a. *more:
 * results follow them. CR_ENOTFOUND when the entry is gone or is not for hash and pos;
 * CR_ENOMEM.
 */
int sqlcache_get(uint64_t id, uint64_t hash, uint64_t pos, size_t max, struct cr_arena *a,
                 struct value *out, size_t *n, bool *more);

#endif
