/* The in-memory stable log (memlog.h). */
#include "memlog.h"

#include "common/assert.h"

#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        abort();
    return p;
}

static void st_snapshot(void *data, struct raft_snapshot_meta *out)
{
    *out = ((struct memlog *)data)->snap;
}

static uint64_t st_last(void *data)
{
    return memlog_last(data);
}

static uint64_t st_term(void *data, uint64_t index)
{
    struct memlog *l = data;

    if (index == l->snap.index)
        return l->snap.term;
    CR_ASSERT(memlog_entry(l, index) != NULL);
    return memlog_entry(l, index)->term;
}

static size_t st_entries(void *data, uint64_t lo, uint64_t hi, size_t max_bytes,
                         struct raft_entry *out)
{
    struct memlog *l = data;
    size_t n = 0, bytes = 0;

    for (uint64_t i = lo; i < hi; i++) {
        const struct raft_entry *e = memlog_entry(l, i);

        CR_ASSERT(e != NULL);
        if (n > 0 && bytes + e->len > max_bytes)
            break;
        out[n++] = *e;
        bytes += e->len;
    }
    return n;
}

void memlog_init(struct memlog *l)
{
    memset(l, 0, sizeof *l);
    l->st.data = l;
    l->st.snapshot = st_snapshot;
    l->st.last_index = st_last;
    l->st.term = st_term;
    l->st.entries = st_entries;
}

static void truncate_from(struct memlog *l, uint64_t index)
{
    while (l->n > 0 && l->ents[l->n - 1].index >= index) {
        l->n--;
        free((void *)l->ents[l->n].data);
    }
}

static void append(struct memlog *l, const struct raft_entry *e)
{
    uint8_t *data = NULL;

    truncate_from(l, e->index);
    CR_ASSERT(e->index == memlog_last(l) + 1);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->ents = realloc(l->ents, l->cap * sizeof *l->ents);
        if (!l->ents)
            abort();
    }
    if (e->len) {
        data = xmalloc(e->len);
        memcpy(data, e->data, e->len);
    }
    l->ents[l->n] = *e;
    l->ents[l->n].data = data;
    l->n++;
}

void memlog_bootstrap(struct memlog *l, const uint64_t *voters, size_t n)
{
    struct raft_entry ents[RAFT_MAX_VOTERS];
    uint8_t bufs[RAFT_MAX_VOTERS * RAFT_CONF_LEN];

    CR_ASSERT(n <= RAFT_MAX_VOTERS && l->n == 0);
    raft_bootstrap(voters, n, ents, bufs, &l->hs);
    for (size_t k = 0; k < n; k++)
        append(l, &ents[k]);
}

void memlog_close(struct memlog *l)
{
    truncate_from(l, 0);
    free(l->ents);
}

void memlog_persist(struct memlog *l, const struct raft_ready *rd)
{
    if (rd->snapshot) {
        truncate_from(l, 0);
        l->snap = *rd->snapshot;
    }
    for (size_t k = 0; k < rd->n_entries; k++)
        append(l, &rd->entries[k]);
    if (rd->has_hard_state)
        l->hs = rd->hard_state;
}

void memlog_compact(struct memlog *l, const struct raft_snapshot_meta *meta)
{
    size_t drop;

    CR_ASSERT(meta->index >= l->snap.index && meta->index <= memlog_last(l));
    drop = (size_t)(meta->index - l->snap.index);
    for (size_t k = 0; k < drop; k++)
        free((void *)l->ents[k].data);
    memmove(l->ents, l->ents + drop, (l->n - drop) * sizeof *l->ents);
    l->n -= drop;
    l->snap = *meta;
}

uint64_t memlog_last(const struct memlog *l)
{
    return l->snap.index + l->n;
}

const struct raft_entry *memlog_entry(const struct memlog *l, uint64_t index)
{
    if (index <= l->snap.index || index > memlog_last(l))
        return NULL;
    return &l->ents[index - l->snap.index - 1];
}
