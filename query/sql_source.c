/*
 * A plan executed over storage: the documents a struct sql_plan says to read, yielded through a
 * struct sql_source from one read transaction. Full scans read doc_scan pages; index plans read
 * each range with doc_index_scan or doc_composite_scan, one storage page at a time, and fetch
 * each entry's document with doc_get. The source never decides which documents pass WHERE (the
 * run re-evaluates it); it must only miss none, yield each once, and keep the plan's order.
 *
 * Dedup without state: a "[]" path gives a document one entry per distinct element value, so a
 * document may be met several times. It is yielded at exactly one of its entries: the first in
 * reading order among its values that lie in the plan's ranges (earliest range, then the lowest
 * value, the highest when reverse). Whether the current entry is that one is decided from the
 * fetched document alone, so the position needs no set of keys seen and stays a few hundred bytes.
 *
 * Position (sql_storage_save, sql_storage_restore), big-endian:
 *   offset  size  field
 *   0       1     SRC_POS_VERSION
 *   1       1     the access read: 0 nothing, 1 full scan, 2 index, 3 composite (after fallback)
 *   2       1     1 when every document was yielded, else 0
 *   3       4     ranges read (the plan's, or 1 for scans without ranges)
 *   7       4     the current range
 *   11      4     entries of the current page already consumed
 *   15      2     n: length of the storage cursor the current page starts at (0: range start)
 *   17      n     that cursor
 * Restoring re-reads the current page from its cursor and skips the consumed entries, so on the
 * same snapshot the next document is exactly the one that would have come; on a later snapshot,
 * writes inside that one page may shift the resumed point by the entries they added or removed.
 */
#include "query/sql_int.h"
#include "common/error.h"
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>

#define SRC_POS_VERSION 1
#define SRC_POS_HEAD 17
#define SRC_PAGE 64 /* entries per storage page unless told otherwise */

enum mode { M_EMPTY, M_FULL, M_INDEX, M_COMPOSITE };

struct sql_storage {
    struct storage_txn *t;
    const struct coll_def *c;
    const struct sql_plan *p;
    const struct doc_key *partition;
    enum mode mode;
    bool ordered;
    struct doc_path path; /* M_INDEX */
    uint32_t limit;
    size_t n_ranges, range;
    struct cr_buf cur;  /* where the current page starts (empty: the range's start) */
    struct cr_buf next; /* where the page after it starts (empty: the range is done) */
    bool loaded, done;
    size_t pos, n; /* entries of the current page consumed, and held */
    size_t skip;   /* entries still to skip after a restore */
    struct doc_page dp;
    struct doc_entry_page ep;
    struct doc doc;
    struct cr_arena page, one;
};

static bool is_scalar(const struct value *v)
{
    return v->type != VT_ARRAY && v->type != VT_MAP && v->type != VT_SS && v->type != VT_NS &&
           v->type != VT_BS;
}

/* Every bound of the plan's ranges is of its range's type: what storage checks. */
static bool ranges_fit(const struct sql_plan *p)
{
    for (size_t i = 0; i < p->n_ranges; i++) {
        const struct sql_range *r = &p->ranges[i];

        if ((r->lo.kind != SQL_OPEN && value_rank(r->lo.v.type) != r->rank) ||
            (r->hi.kind != SQL_OPEN && value_rank(r->hi.v.type) != r->rank))
            return false;
    }
    return true;
}

/* The access storage can serve: the plan's, or a full scan when storage refuses its index. */
static enum mode choose(struct sql_storage *s)
{
    const struct sql_plan *p = s->p;

    switch (p->access) {
    case SQL_EMPTY:
        return M_EMPTY;
    case SQL_INDEX_SCAN:
        s->path = (struct doc_path){p->path.segs, p->path.n};
        if (p->n_ranges == 0 || !ranges_fit(p) || !doc_path_indexed(s->c, &s->path))
            return M_FULL;
        return M_INDEX;
    case SQL_COMPOSITE:
        if (p->composite >= s->c->policy.n_composite ||
            p->n_eq > s->c->policy.composite[p->composite].n || !ranges_fit(p) ||
            (p->n_eq == s->c->policy.composite[p->composite].n && p->n_ranges))
            return M_FULL;
        for (size_t i = 0; i < p->n_eq; i++)
            if (!is_scalar(&p->eq[i]))
                return M_FULL;
        return M_COMPOSITE;
    default:
        return M_FULL;
    }
}

/* Whether the order storage gives is the value order the plan counts on. Index keys cut long
 * values to a prefix with a hash tail (docs/storage.md), and values sharing that prefix come in
 * hash order: strings, bytes and references over a range that is not one value, numbers too in a
 * composite index of six paths or more (its components are cut shortest), and the later paths of a
 * composite whenever ORDER BY names more than one. Where that can happen the run sorts. */
static bool order_exact(const struct sql_storage *s)
{
    const struct sql_plan *p = s->p;
    size_t n_paths = s->mode == M_COMPOSITE ? s->c->policy.composite[p->composite].n : 1;

    if (!p->q || p->q->n_order == 0)
        return true;
    if (s->mode == M_COMPOSITE && p->q->n_order > 1 && p->n_eq + 1 < n_paths)
        return false;
    for (size_t i = 0; i < p->n_ranges; i++) {
        const struct sql_range *r = &p->ranges[i];
        bool point = r->lo.kind == SQL_INCL && r->hi.kind == SQL_INCL &&
                     value_compare(&r->lo.v, &r->hi.v) == 0;

        if (!point &&
            (r->rank == value_rank(VT_STRING) || r->rank == value_rank(VT_BYTES) ||
             r->rank == value_rank(VT_REF) || (n_paths >= 6 && r->rank == value_rank(VT_INT))))
            return false;
    }
    return true;
}

static struct doc_range doc_range_of(const struct sql_plan *p, size_t i)
{
    struct doc_range d;

    memset(&d, 0, sizeof d);
    if (i < p->n_ranges) {
        const struct sql_range *r = &p->ranges[i];

        d.same_type = true;
        d.rank = r->rank;
        d.lo = (struct doc_bound){r->lo.kind != SQL_OPEN, r->lo.kind == SQL_INCL, r->lo.v};
        d.hi = (struct doc_bound){r->hi.kind != SQL_OPEN, r->hi.kind == SQL_INCL, r->hi.v};
    }
    return d;
}

/* Reads the page at s->cur of the current range into s->page. */
static int fetch(struct sql_storage *s)
{
    const uint8_t *next = NULL;
    size_t next_len = 0;
    int rc;

    cr_arena_reset(&s->page);
    if (s->mode == M_FULL) {
        struct doc_scan_query q = {s->partition, false, s->limit, s->cur.data, s->cur.len};

        rc = doc_scan(s->t, s->c, &q, &s->page, &s->dp);
        s->n = s->dp.n;
        next = s->dp.next;
        next_len = s->dp.next_len;
    } else if (s->mode == M_INDEX) {
        struct doc_index_query q = {s->path,       doc_range_of(s->p, s->range),
                                    s->p->reverse, s->limit,
                                    s->cur.data,   s->cur.len};

        rc = doc_index_scan(s->t, s->c, &q, &s->page, &s->ep);
        s->n = s->ep.n;
        next = s->ep.next;
        next_len = s->ep.next_len;
    } else {
        struct doc_composite_query q = {
            s->p->composite, s->p->eq, s->p->n_eq,  doc_range_of(s->p, s->range),
            s->p->reverse,   s->limit, s->cur.data, s->cur.len};

        rc = doc_composite_scan(s->t, s->c, &q, &s->page, &s->ep);
        s->n = s->ep.n;
        next = s->ep.next;
        next_len = s->ep.next_len;
    }
    if (rc < 0)
        return rc;
    cr_buf_reset(&s->next);
    if (next_len && (rc = cr_buf_append(&s->next, next, next_len)) < 0)
        return rc;
    s->loaded = true;
    s->pos = 0;
    return 0;
}

/* Moves past a fully consumed page: to the next page of the range, or to the next range. */
static int advance(struct sql_storage *s)
{
    int rc;

    cr_buf_reset(&s->cur);
    if (s->next.len) {
        if ((rc = cr_buf_append(&s->cur, s->next.data, s->next.len)) < 0)
            return rc;
    } else if (++s->range == s->n_ranges) {
        s->done = true;
    }
    s->loaded = false;
    return 0;
}

static bool same_key(const struct doc_key *a, const struct doc_key *b)
{
    return a->has_pk == b->has_pk && (!a->has_pk || value_equal(&a->pk, &b->pk)) &&
           value_equal(&a->id, &b->id);
}

/* (range, value) before (rb, vb) in the plan's reading order. */
static bool reads_before(const struct sql_plan *p, size_t ra, const struct value *va, size_t rb,
                         const struct value *vb)
{
    int c;

    if (ra != rb)
        return ra < rb;
    c = value_compare(va, vb);
    return p->reverse ? c > 0 : c < 0;
}

struct first {
    const struct sql_plan *p;
    size_t range;
    const struct value *v; /* NULL: none yet */
};

/* The first (range, value) in reading order among the scalars at segs[0..n) under v: the values
 * storage gives entries to, an array's elements under "[]". */
static void first_of(struct first *f, const struct value *v, const struct doc_seg *segs, size_t n)
{
    if (n == 0) {
        if (!is_scalar(v))
            return;
        for (size_t i = 0; i < f->p->n_ranges; i++)
            if (sql_range_contains(&f->p->ranges[i], v)) {
                if (!f->v || reads_before(f->p, i, v, f->range, f->v)) {
                    f->range = i;
                    f->v = v;
                }
                return; /* the ranges are disjoint */
            }
        return;
    }
    if (segs[0].kind == SEG_ELEMENTS) {
        if (v->type == VT_ARRAY)
            for (size_t i = 0; i < v->u.arr.n; i++)
                first_of(f, &v->u.arr.items[i], segs + 1, n - 1);
        return;
    }
    if (v->type == VT_MAP)
        for (size_t i = 0; i < v->u.map.n; i++) {
            const struct value_field *fd = &v->u.map.fields[i];

            if (fd->name_len == segs[0].len && !memcmp(fd->name, segs[0].name, fd->name_len))
                first_of(f, fd->value, segs + 1, n - 1);
        }
}

/* Whether entry e of the current range gives a document to yield; *doc is set when it does. */
static int take_entry(struct sql_storage *s, const struct doc_entry *e, const struct value **doc)
{
    const struct sql_plan *p = s->p;
    const struct value *v = &e->value;
    int rc;

    *doc = NULL;
    if (s->partition && (s->partition->has_pk != e->key.has_pk ||
                         (e->key.has_pk && !value_equal(&s->partition->pk, &e->key.pk))))
        return 0;
    if (s->mode == M_COMPOSITE)
        v = v->type == VT_ARRAY && p->n_eq < v->u.arr.n ? &v->u.arr.items[p->n_eq] : NULL;
    if (s->range < p->n_ranges && (!v || !sql_range_contains(&p->ranges[s->range], v)))
        return 0;
    cr_arena_reset(&s->one);
    rc = doc_get(s->t, s->c, &e->key, &s->one, &s->doc);
    if (rc == CR_ENOTFOUND)
        return 0; /* cannot happen in one snapshot; never yield what is not there */
    if (rc < 0)
        return rc;
    if (!same_key(&s->doc.key, &e->key))
        return 0;
    if (s->mode == M_INDEX && p->dedup) {
        struct first f = {p, 0, NULL};

        first_of(&f, &s->doc.body, s->path.segs, s->path.n);
        if (!f.v || f.range != s->range || value_compare(f.v, v) != 0)
            return 0; /* yielded, or to be yielded, at another of its entries */
    }
    *doc = &s->doc.body;
    return 0;
}

static int storage_next(void *ctx, const struct value **doc)
{
    struct sql_storage *s = ctx;
    int rc;

    for (;;) {
        if (s->done)
            return 0;
        if (!s->loaded && (rc = fetch(s)) < 0)
            return rc;
        if (s->pos == s->n) {
            if ((rc = advance(s)) < 0)
                return rc;
            continue;
        }
        if (s->skip) {
            s->skip--;
            s->pos++;
            continue;
        }
        if (s->mode == M_FULL) {
            *doc = &s->dp.docs[s->pos++].body;
            return 1;
        }
        if ((rc = take_entry(s, &s->ep.entries[s->pos++], doc)) < 0)
            return rc;
        if (*doc)
            return 1;
    }
}

static bool same_path(const struct doc_path *a, const struct sql_path *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->segs[i].kind != b->segs[i].kind || a->segs[i].len != b->segs[i].len ||
            (a->segs[i].len && memcmp(a->segs[i].name, b->segs[i].name, a->segs[i].len)))
            return false;
    return true;
}

/* The partition WHERE pins, when it binds the collection's partition key path to one value of a
 * partition key's type (NULL otherwise, or when it cannot say). */
static const struct doc_key *pinned(const struct coll_def *c, const struct sql_plan *p,
                                    struct cr_arena *a)
{
    struct doc_path pk;
    struct doc_key *k;

    if (!c->pk_path[0] || !p->n_points ||
        doc_path_parse(c->pk_path, strlen(c->pk_path), a, &pk) != 0)
        return NULL;
    for (size_t i = 0; i < p->n_points; i++) {
        const struct value *v = &p->points[i].v;

        if (!same_path(&pk, &p->points[i].path))
            continue;
        if (!(v->type == VT_NULL || v->type == VT_BOOL ||
              value_rank(v->type) == value_rank(VT_INT) ||
              (v->type == VT_STRING && v->u.s.len <= CR_MAX_PK_SIZE)))
            return NULL;
        if (!(k = cr_arena_calloc(a, sizeof *k)))
            return NULL; /* only a chance lost */
        k->has_pk = true;
        k->pk = *v;
        return k;
    }
    return NULL;
}

int sql_storage_source(struct storage_txn *t, const struct coll_def *c, const struct sql_plan *p,
                       const struct sql_storage_opts *o, struct cr_arena *a,
                       struct sql_storage **out, struct sql_source *src)
{
    struct sql_storage *s = cr_arena_calloc(a, sizeof *s);

    if (!s)
        return CR_ENOMEM;
    s->t = t;
    s->c = c;
    s->p = p;
    s->partition = o && o->partition ? o->partition : pinned(c, p, a);
    s->limit = o && o->page ? o->page : SRC_PAGE;
    s->mode = choose(s);
    s->ordered = p->ordered && (s->mode == M_FULL ? p->access == SQL_FULL_SCAN : order_exact(s));
    s->n_ranges = s->mode == M_EMPTY ? 0 : s->mode != M_FULL && p->n_ranges ? p->n_ranges : 1;
    s->done = s->n_ranges == 0;
    cr_buf_init(&s->cur);
    cr_buf_init(&s->next);
    cr_arena_init(&s->page, 0);
    cr_arena_init(&s->one, 0);
    *out = s;
    src->ctx = s;
    src->next = storage_next;
    return 0;
}

void sql_storage_set_ordered(const struct sql_storage *s, struct sql_run *r)
{
    if (s->ordered)
        sql_run_set_ordered(r);
}

bool sql_storage_fallback(const struct sql_storage *s)
{
    return s->mode == M_FULL && s->p->access != SQL_FULL_SCAN;
}

int sql_storage_save(const struct sql_storage *s, struct cr_buf *out)
{
    uint8_t head[SRC_POS_HEAD];
    const struct cr_buf *cur = &s->cur;
    size_t range = s->range, used = (s->loaded ? s->pos : 0) + s->skip;
    bool done = s->done;
    size_t start = out->len;
    int rc;

    if (s->loaded && s->pos == s->n && !s->skip) { /* the page is consumed: point past it */
        cur = &s->next;
        used = 0;
        if (!s->next.len && ++range == s->n_ranges)
            done = true;
    }
    if (done) {
        cur = NULL;
        range = used = 0;
    }
    head[0] = SRC_POS_VERSION;
    head[1] = (uint8_t)s->mode;
    head[2] = done;
    cr_put_u32be(head + 3, (uint32_t)s->n_ranges);
    cr_put_u32be(head + 7, (uint32_t)range);
    cr_put_u32be(head + 11, (uint32_t)used);
    head[15] = (uint8_t)((cur ? cur->len : 0) >> 8);
    head[16] = (uint8_t)(cur ? cur->len : 0);
    rc = cr_buf_append(out, head, sizeof head);
    if (rc == 0 && cur && cur->len)
        rc = cr_buf_append(out, cur->data, cur->len);
    if (rc < 0)
        out->len = start;
    return rc;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int sql_storage_restore(struct sql_storage *s, const uint8_t *pos, size_t len)
{
    size_t n_cur;
    uint32_t range;

    if (len < SRC_POS_HEAD || pos[0] != SRC_POS_VERSION || pos[1] != (uint8_t)s->mode ||
        pos[2] > 1 || get_u32(pos + 3) != s->n_ranges)
        return CR_ECURSOR;
    range = get_u32(pos + 7);
    n_cur = (size_t)pos[15] << 8 | pos[16];
    if (len != SRC_POS_HEAD + n_cur || (!pos[2] && range >= s->n_ranges))
        return CR_ECURSOR;
    cr_buf_reset(&s->cur);
    if (n_cur && cr_buf_append(&s->cur, pos + SRC_POS_HEAD, n_cur) < 0)
        return CR_ENOMEM;
    s->done = pos[2] || s->n_ranges == 0;
    s->range = range;
    s->skip = get_u32(pos + 11);
    s->loaded = false;
    s->pos = s->n = 0;
    return 0;
}

void sql_storage_close(struct sql_storage *s)
{
    if (!s)
        return;
    cr_buf_free(&s->cur);
    cr_buf_free(&s->next);
    cr_arena_free(&s->page);
    cr_arena_free(&s->one);
}
