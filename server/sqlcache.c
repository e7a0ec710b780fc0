/* Buffered query results kept between pages (sqlcache.h). */
#include "server/sqlcache.h"

#include "common/error.h"
#include "storage/storage.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

struct entry {
    uint64_t id; /* 0: the slot is free */
    uint64_t hash, first;
    const struct value *rows;
    size_t n;
    uint64_t bytes;
    int64_t used_ms;  /* for the TTL */
    uint64_t used_at; /* for least-recently-used order: a counter, as milliseconds tie */
    struct cr_arena arena;
};

static struct {
    pthread_mutex_t mu;
    struct entry slots[SQLCACHE_ENTRIES];
    uint64_t bytes, next_id, uses;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop(struct entry *e)
{
    cache.bytes -= e->bytes;
    cr_arena_free(&e->arena);
    memset(e, 0, sizeof *e);
}

/* Frees expired entries, then least recently used ones until `need` more bytes and a slot fit.
 * Returns a free slot. Called with the lock held. */
static struct entry *make_room(uint64_t need, int64_t now)
{
    for (;;) {
        struct entry *free_slot = NULL, *oldest = NULL;

        for (size_t i = 0; i < SQLCACHE_ENTRIES; i++) {
            struct entry *e = &cache.slots[i];

            if (e->id && now - e->used_ms > SQLCACHE_TTL_MS)
                drop(e);
            if (!e->id)
                free_slot = e;
            else if (!oldest || e->used_at < oldest->used_at)
                oldest = e;
        }
        if (free_slot && cache.bytes + need <= SQLCACHE_BYTES)
            return free_slot;
        drop(oldest);
    }
}

int sqlcache_put(uint64_t hash, uint64_t first, const struct value *rows, size_t n,
                 struct cr_arena *rows_arena, uint64_t *id)
{
    uint64_t bytes = 0;
    struct entry *e;

    for (size_t i = 0; i < n; i++)
        bytes += value_ddb_size(&rows[i]);
    if (bytes > SQLCACHE_BYTES) {
        cr_arena_free(rows_arena);
        return CR_EFULL;
    }
    pthread_mutex_lock(&cache.mu);
    e = make_room(bytes, now_ms());
    *e = (struct entry){++cache.next_id, hash,     first,        rows,       n,
                        bytes,           now_ms(), ++cache.uses, *rows_arena};
    cache.bytes += bytes;
    *id = e->id;
    pthread_mutex_unlock(&cache.mu);
    memset(rows_arena, 0, sizeof *rows_arena); /* the entry owns its blocks now */
    return 0;
}

int sqlcache_get(uint64_t id, uint64_t hash, uint64_t pos, size_t max, struct cr_arena *a,
                 struct value *out, size_t *n, bool *more)
{
    struct entry *e = NULL;
    uint64_t bytes = 0;
    int rc = 0;

    *n = 0;
    *more = false;
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < SQLCACHE_ENTRIES && !e; i++)
        if (id && cache.slots[i].id == id)
            e = &cache.slots[i];
    if (!e || e->hash != hash || pos < e->first || pos - e->first > e->n) {
        pthread_mutex_unlock(&cache.mu);
        return CR_ENOTFOUND;
    }
    e->used_ms = now_ms();
    e->used_at = ++cache.uses;
    for (size_t i = (size_t)(pos - e->first); i < e->n && rc == 0; i++) {
        if (*n == max || bytes >= CR_MAX_PAGE_BYTES) {
            *more = true;
            break;
        }
        rc = value_clone(&e->rows[i], a, &out[*n]);
        bytes += value_ddb_size(&e->rows[i]);
        if (rc == 0)
            (*n)++;
    }
    pthread_mutex_unlock(&cache.mu);
    return rc < 0 ? rc : 0;
}
