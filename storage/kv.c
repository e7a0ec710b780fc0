/*
 * Items by primary key: key validation, row keys, point reads, range reads over sort keys,
 * scans, continuation cursors; the same range reads over an index's entries. Read-only: rows are
 * written only by apply.c, which uses the helpers at the end of this file.
 *
 * Row (the `data` database):
 *   key    u32be table id | keycodec component(pk) [| keycodec component(sk)]
 *   value  value_encode(item): the whole item, key attributes included, as given
 *
 * Long keys. A key component whose encoding is longer than CR_KEY_PREFIX bytes is stored as its
 * first CR_KEY_PREFIX bytes, a marker and a hash (keycodec.c). So:
 *   - point reads compare the row's full key attributes with the requested key;
 *   - collision policy: two different keys with the same stored key (same 240-byte prefix and
 *     same 64-bit hash) cannot both be stored. A put whose stored key is held by a row of a
 *     different full key fails with CR_EKEYTOOBIG (deterministically: every replica has the same
 *     row), and a delete or get of it sees no item. The odds are ~2^-64 per pair.
 *   - ordering consequence: rows are in value order of their keys, except that long
 *     components sharing their first CR_KEY_PREFIX encoded bytes sort together (between the
 *     shorter keys around that prefix) but in hash order among themselves. Queries and scans
 *     return rows in this stored order; pages and continuations follow it, so paging neither
 *     skips nor repeats a row.
 *   - range reads bound the rows to visit by the first CR_KEY_PREFIX encoded bytes (always a
 *     superset) and decide each row whose prefix ties with a bound by the full sort key read
 *     from the row, so every sort-key condition returns exactly the matching items.
 *
 * Continuation cursor: 1 byte CR_CURSOR_VERSION | the last returned row key (which begins with the
 * u32be table id). The next page starts strictly after that key (before it, in reverse).
 * Cursors are checked against the table, the partition and the key structure: CR_ECURSOR.
 *
 * Index reads (kv_query_index, kv_scan_index) walk the `index` database with the same code: an
 * entry key is the index's id and key followed by the table key (index.c), its value the
 * projected item, which holds every key attribute; components are cut at CR_INDEX_KEY_PREFIX.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"
#include "common/hash.h"
#include "storage/keycodec.h"

#include <string.h>

#define MAX_ROW_KEY 511

/* ---- keys ---------------------------------------------------------------------------------- */

static bool is_number(enum value_type t)
{
    return t == VT_INT || t == VT_DOUBLE || t == VT_DECIMAL;
}

/* Validates one key value against its schema type and size limit; *out gets the normalized
 * value (numbers as DECIMAL). */
static int check_key_value(enum key_type type, const struct value *v, size_t max, struct value *out)
{
    struct decimal d;
    int rc;

    switch (type) {
    case KEY_N:
        if (!is_number(v->type))
            return CR_ETYPE;
        rc = value_number_to_decimal(v, &d);
        if (rc)
            return rc;
        out->type = VT_DECIMAL;
        out->u.dec = d;
        return 0;
    case KEY_S:
        if (v->type != VT_STRING)
            return CR_ETYPE;
        break;
    case KEY_B:
        if (v->type != VT_BYTES)
            return CR_ETYPE;
        break;
    default:
        return CR_ESCHEMA;
    }
    if (v->u.s.len == 0)
        return CR_EINVAL;
    if (v->u.s.len > max)
        return CR_EKEYTOOBIG;
    *out = *v;
    return 0;
}

int kv_extract_key(const struct table_def *def, const struct value *item, bool key_only,
                   struct value *pk, struct value *sk)
{
    const struct value *a;
    struct value p, s = value_null();
    int rc;

    if (item->type != VT_MAP)
        return CR_EINVAL;
    a = value_map_get(item, def->pk_name, strlen(def->pk_name));
    if (!a)
        return CR_EMISSINGKEY;
    rc = check_key_value(def->pk_type, a, CR_MAX_PK_SIZE, &p);
    if (rc)
        return rc;
    if (def->has_sk) {
        a = value_map_get(item, def->sk_name, strlen(def->sk_name));
        if (!a)
            return CR_EMISSINGKEY;
        rc = check_key_value(def->sk_type, a, CR_MAX_SK_SIZE, &s);
        if (rc)
            return rc;
    }
    if (key_only && item->u.map.n != (def->has_sk ? 2u : 1u))
        return CR_EINVAL;
    *pk = p;
    *sk = s;
    return 0;
}

int kv_encode_item(const struct table_def *def, const struct value *item, struct value *pk,
                   struct value *sk, struct cr_buf *row)
{
    size_t start = row->len;
    int rc;

    if (item->type != VT_MAP)
        return CR_EINVAL;
    rc = kv_extract_key(def, item, false, pk, sk);
    if (rc)
        return rc;
    rc = value_encode(item, row);
    if (rc == 0 && value_ddb_size(item) > CR_MAX_ITEM_SIZE)
        rc = CR_EITEMTOOBIG;
    if (rc)
        row->len = start;
    return rc;
}

int kv_check_item(const struct table_def *def, const struct value *item)
{
    struct value pk, sk;
    struct cr_buf row;
    int rc;

    cr_buf_init(&row);
    rc = kv_encode_item(def, item, &pk, &sk, &row);
    cr_buf_free(&row);
    return rc;
}

int kv_key_components(const struct table_def *def, const struct value *pk, const struct value *sk,
                      size_t prefix, struct cr_buf *key, bool *truncated)
{
    size_t start = key->len;
    bool t1 = false, t2 = false;
    int rc = keycodec_encode_cut(pk, prefix, key, &t1);

    if (rc == 0 && def->has_sk)
        rc = keycodec_encode_cut(sk, prefix, key, &t2);
    if (rc) {
        key->len = start;
        return rc;
    }
    *truncated = t1 || t2;
    return 0;
}

int kv_row_key(const struct table_def *def, const struct value *pk, const struct value *sk,
               struct cr_buf *key, bool *truncated)
{
    size_t start = key->len;
    int rc = cr_buf_put_u32be(key, def->id);

    if (rc == 0)
        rc = kv_key_components(def, pk, sk, CR_KEY_PREFIX, key, truncated);
    if (rc) {
        key->len = start;
        return rc;
    }
    CR_ASSERT(key->len - start <= MAX_ROW_KEY);
    return 0;
}

/* Decodes the top-level attribute `name` of a row into *out (scalars borrow from the row). */
static int row_attr(struct env_val row, const char *name, struct cr_arena *a, struct value *out)
{
    const uint8_t *fp;
    size_t fn;
    int rc = value_map_find_encoded(row.p, row.n, name, strlen(name), &fp, &fn);

    if (rc == CR_ENOTFOUND || rc == CR_ETYPE)
        return CR_CORRUPT(); /* every row is a MAP holding its key */
    if (rc)
        return rc;
    return value_decode(fp, fn, a, out);
}

static int attr_equals(struct env_val row, const char *name, const struct value *want, bool *eq)
{
    struct cr_arena a;
    struct value v;
    int rc;

    cr_arena_init(&a, 256);
    rc = row_attr(row, name, &a, &v);
    if (rc == 0)
        *eq = value_equal(&v, want);
    cr_arena_free(&a);
    return rc;
}

int kv_row_find(struct storage_txn *t, const struct table_def *def, const struct cr_buf *key,
                bool truncated, const struct value *pk, const struct value *sk, struct env_val *row,
                bool *collision)
{
    bool eq = true;
    int rc = env_get(t, ENV_DATA, key->data, key->len, row);

    *collision = false;
    if (rc || !truncated)
        return rc;
    rc = attr_equals(*row, def->pk_name, pk, &eq);
    if (rc == 0 && eq && def->has_sk)
        rc = attr_equals(*row, def->sk_name, sk, &eq);
    if (rc)
        return rc;
    if (!eq) {
        *collision = true;
        return CR_ENOTFOUND;
    }
    return 0;
}

int kv_delete_rows(struct storage_txn *t, uint32_t table_id)
{
    uint8_t prefix[4];

    cr_put_u32be(prefix, table_id);
    return env_del_prefix(t, ENV_DATA, prefix, sizeof prefix, NULL);
}

int kv_get(struct storage_txn *t, const struct table_def *def, const struct value *pk,
           const struct value *sk, struct cr_arena *a, struct value *item)
{
    struct value p, s = value_null();
    struct cr_buf key;
    struct env_val row;
    bool truncated, collision;
    int rc = check_key_value(def->pk_type, pk, CR_MAX_PK_SIZE, &p);

    if (rc == 0 && def->has_sk)
        rc = sk ? check_key_value(def->sk_type, sk, CR_MAX_SK_SIZE, &s) : CR_EMISSINGKEY;
    if (rc)
        return rc;
    cr_buf_init(&key);
    rc = kv_row_key(def, &p, &s, &key, &truncated);
    if (rc == 0)
        rc = kv_row_find(t, def, &key, truncated, &p, &s, &row, &collision);
    cr_buf_free(&key);
    if (rc)
        return rc;
    return value_decode(row.p, row.n, a, item);
}

/* ---- pages ---------------------------------------------------------------------------------- */

/* What a range read walks: a table's rows, or an index's entries (the index key, then the
 * table key: `base`). */
struct space {
    enum env_db db;
    const struct table_def *key;  /* the id and the leading key */
    const struct table_def *base; /* index entries: the table; NULL for rows */
    size_t prefix;                /* where components are cut */
};

static void table_space(const struct table_def *def, struct space *sp)
{
    *sp = (struct space){ENV_DATA, def, NULL, CR_KEY_PREFIX};
}

static void index_space(const struct table_def *table, const struct index_def *idx,
                        struct space *sp)
{
    *sp = (struct space){ENV_INDEX, &idx->key, table, CR_INDEX_KEY_PREFIX};
}

/* A page's read: a walk (storage_int.h) whose kept rows are decoded into the page. */
struct range {
    struct kv_walk w;
    /* Decides whether a row in the visited range belongs on the page; NULL keeps them all. */
    int (*filter)(void *ctx, struct env_val key, struct env_val row, struct cr_arena *a,
                  bool *keep);
    void *ctx;
};

int kv_key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    if (c)
        return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

bool kv_prefix_successor(struct cr_buf *b)
{
    while (b->len > 0 && b->data[b->len - 1] == 0xFF)
        b->len--;
    if (b->len == 0)
        return false;
    b->data[b->len - 1]++;
    return true;
}

static int page_push(struct kv_page *out, size_t *cap, struct cr_arena *a, const struct value *v)
{
    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct value *items = cr_arena_alloc(a, ncap * sizeof *items);

        if (!items)
            return CR_ENOMEM;
        if (out->n)
            memcpy(items, out->items, out->n * sizeof *items);
        out->items = items;
        *cap = ncap;
    }
    out->items[out->n++] = *v;
    return 0;
}

/* Positions c on the first key of w to visit. */
static int walk_start(struct env_cursor *c, const struct kv_walk *w, struct env_val *k,
                      struct env_val *v)
{
    const struct env_val *after = w->after.p ? &w->after : NULL;
    int rc;

    if (!w->reverse) {
        *k = (struct env_val){w->lo.data, w->lo.len};
        if (after && kv_key_cmp(after->p, after->n, w->lo.data, w->lo.len) >= 0)
            *k = *after;
        rc = env_cursor_get(c, ENV_SEEK, k, v);
        if (rc == 0 && after && kv_key_cmp(k->p, k->n, after->p, after->n) == 0)
            rc = env_cursor_get(c, ENV_NEXT, k, v);
        return rc;
    }
    if (after && (!w->has_hi || kv_key_cmp(after->p, after->n, w->hi.data, w->hi.len) < 0))
        *k = *after;
    else if (w->has_hi)
        *k = (struct env_val){w->hi.data, w->hi.len};
    else
        return env_cursor_get(c, ENV_LAST, k, v);
    rc = env_cursor_get(c, ENV_SEEK, k, v);
    if (rc == 0)
        return env_cursor_get(c, ENV_PREV, k, v);
    if (rc == CR_ENOTFOUND)
        return env_cursor_get(c, ENV_LAST, k, v);
    return rc;
}

static bool in_walk(const struct kv_walk *w, struct env_val k)
{
    if (w->reverse)
        return kv_key_cmp(k.p, k.n, w->lo.data, w->lo.len) >= 0;
    return !w->has_hi || kv_key_cmp(k.p, k.n, w->hi.data, w->hi.len) < 0;
}

void kv_walk_init(struct kv_walk *w)
{
    memset(w, 0, sizeof *w);
    cr_buf_init(&w->lo);
    cr_buf_init(&w->hi);
}

void kv_walk_free(struct kv_walk *w)
{
    cr_buf_free(&w->lo);
    cr_buf_free(&w->hi);
}

int kv_walk_run(struct storage_txn *t, const struct kv_walk *w, struct cr_arena *a,
                uint64_t *scanned, uint8_t **next, size_t *next_len)
{
    struct env_cursor *c;
    struct env_val k, v, last = {NULL, 0};
    size_t kept_n = 0, bytes = 0;
    bool full = false, more = false;
    int rc = env_cursor_open(t, w->db, &c);

    *next = NULL;
    *next_len = 0;
    if (rc)
        return rc;
    for (rc = walk_start(c, w, &k, &v); rc == 0 && in_walk(w, k);
         rc = env_cursor_get(c, w->reverse ? ENV_PREV : ENV_NEXT, &k, &v)) {
        bool kept = false;

        if (full) {
            more = true;
            break;
        }
        ++*scanned;
        rc = w->visit(w->ctx, k, v, a, &kept);
        if (rc)
            break;
        if (!kept)
            continue;
        kept_n++;
        bytes += v.n;
        last = k;
        full = (w->limit && kept_n == w->limit) || bytes >= CR_MAX_PAGE_BYTES;
    }
    if (rc == CR_ENOTFOUND)
        rc = 0;
    if (rc == 0 && more) {
        *next = cr_arena_alloc(a, 1 + last.n);
        if (!*next) {
            rc = CR_ENOMEM;
        } else {
            (*next)[0] = CR_CURSOR_VERSION;
            memcpy(*next + 1, last.p, last.n);
            *next_len = 1 + last.n;
        }
    }
    env_cursor_close(c);
    return rc;
}

void kv_range_init(struct kv_range *r)
{
    cr_buf_init(&r->base);
    kv_walk_init(&r->w);
}

void kv_range_free(struct kv_range *r)
{
    cr_buf_free(&r->base);
    kv_walk_free(&r->w);
}

int kv_range_prefix(struct kv_range *r)
{
    int rc = cr_buf_append(&r->w.lo, r->base.data, r->base.len);

    if (rc == 0)
        rc = cr_buf_append(&r->w.hi, r->base.data, r->base.len);
    r->w.has_hi = rc == 0 && kv_prefix_successor(&r->w.hi);
    return rc;
}

int kv_range_cursor(struct kv_range *r, const uint8_t *cur, size_t n)
{
    if (!cur || n == 0)
        return 0;
    if (n < 2 || n > 1 + MAX_ROW_KEY || cur[0] != CR_CURSOR_VERSION || n - 1 < r->base.len ||
        memcmp(cur + 1, r->base.data, r->base.len) != 0)
        return CR_ECURSOR;
    r->w.after = (struct env_val){cur + 1, n - 1};
    return 0;
}

/* read_page's visitor: the range's filter, then the row decoded onto the page. */
struct page_fill {
    const struct range *r;
    struct kv_page *out;
    size_t cap;
};

static int page_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a, bool *kept)
{
    struct page_fill *f = ctx;
    struct value item;
    bool keep = true;
    int rc = f->r->filter ? f->r->filter(f->r->ctx, k, v, a, &keep) : 0;

    if (rc || !keep)
        return rc;
    rc = value_decode(v.p, v.n, a, &item);
    if (rc == 0)
        rc = page_push(f->out, &f->cap, a, &item);
    *kept = rc == 0;
    return rc;
}

static int read_page(struct storage_txn *t, struct range *r, struct cr_arena *a,
                     struct kv_page *out)
{
    struct page_fill f = {r, out, 0};
    int rc;

    memset(out, 0, sizeof *out);
    r->w.visit = page_visit;
    r->w.ctx = &f;
    rc = kv_walk_run(t, &r->w, a, &out->scanned, &out->next, &out->next_len);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* Skips the key components of def at *p (false when they are not whole). */
static bool skip_key(const struct table_def *def, size_t prefix, const uint8_t **p,
                     const uint8_t *end)
{
    for (int i = 0; i < (def->has_sk ? 2 : 1); i++) {
        size_t len;

        if (*p == end || keycodec_skip_cut(*p, end, prefix, &len) || len == 0 ||
            len > (size_t)(end - *p))
            return false;
        *p += len;
    }
    return true;
}

/* Checks a continuation: version, object id, partition prefix, and whole key components. */
static int parse_cursor(const struct space *sp, const uint8_t *cur, size_t n,
                        const struct cr_buf *partition, struct env_val *key)
{
    const uint8_t *p, *end = cur + n;

    if (n < 1 + 4 + 1 || n > 1 + MAX_ROW_KEY || cur[0] != CR_CURSOR_VERSION)
        return CR_ECURSOR;
    if (cr_get_u32be(cur + 1) != sp->key->id)
        return CR_ECURSOR;
    if (partition && (n - 1 < partition->len || memcmp(cur + 1, partition->data, partition->len)))
        return CR_ECURSOR;
    p = cur + 5;
    if (!skip_key(sp->key, sp->prefix, &p, end) ||
        (sp->base && !skip_key(sp->base, sp->prefix, &p, end)) || p != end)
        return CR_ECURSOR;
    key->p = cur + 1;
    key->n = n - 1;
    return 0;
}

/* ---- query ---------------------------------------------------------------------------------- */

struct bound {
    struct value v;    /* normalized */
    struct cr_buf enc; /* full keycodec encoding (the prefix encoding for BEGINS_WITH) */
};

struct query_ctx {
    const struct table_def *def; /* the key queried: the table's or the index's */
    size_t prefix;               /* where its components are cut */
    struct value pk;
    bool pk_truncated;
    size_t partition_len; /* bytes of id | pk component at the start of each row key */
    enum sk_op op;
    struct bound b1, b2;
};

static size_t cut(size_t n, size_t prefix)
{
    return n < prefix ? n : prefix;
}

/* Compares the sort key of a row (its stored component `comp`, its full value in `row`) with a
 * bound. The first CR_KEY_PREFIX encoded bytes decide whenever they differ, or when the bound's
 * encoding is no longer than that (encodings are self-delimiting); otherwise the full values
 * do. */
static int cmp_bound(const struct query_ctx *q, struct env_val comp, struct env_val row,
                     const struct bound *b, struct cr_arena *a, int *out)
{
    struct value v;
    int rc;

    *out = kv_key_cmp(comp.p, cut(comp.n, q->prefix), b->enc.data, cut(b->enc.len, q->prefix));
    if (*out != 0 || b->enc.len <= q->prefix)
        return 0;
    rc = row_attr(row, q->def->sk_name, a, &v);
    if (rc == 0)
        *out = value_compare(&v, &b->v);
    return rc;
}

static int begins_with(const struct query_ctx *q, struct env_val row, struct cr_arena *a,
                       bool *keep)
{
    struct value v;
    int rc = row_attr(row, q->def->sk_name, a, &v);

    if (rc)
        return rc;
    *keep = v.type == q->b1.v.type && v.u.s.len >= q->b1.v.u.s.len &&
            memcmp(v.u.s.ptr, q->b1.v.u.s.ptr, q->b1.v.u.s.len) == 0;
    return 0;
}

static int query_filter(void *ctx, struct env_val key, struct env_val row, struct cr_arena *a,
                        bool *keep)
{
    const struct query_ctx *q = ctx;
    struct env_val comp = {key.p + q->partition_len, 0};
    int c1 = 0, c2 = 0, rc = 0;

    if (q->pk_truncated) {
        rc = attr_equals(row, q->def->pk_name, &q->pk, keep);
        if (rc || !*keep)
            return rc;
    }
    if (q->op == SK_ANY) {
        *keep = true;
        return 0;
    }
    if (q->op == SK_BEGINS_WITH)
        return begins_with(q, row, a, keep);
    /* The sort key's component alone: index entry keys continue with the table key. */
    if (keycodec_skip_cut(comp.p, key.p + key.n, q->prefix, &comp.n))
        return CR_CORRUPT();
    rc = cmp_bound(q, comp, row, &q->b1, a, &c1);
    if (rc == 0 && q->op == SK_BETWEEN)
        rc = cmp_bound(q, comp, row, &q->b2, a, &c2);
    if (rc)
        return rc;
    switch (q->op) {
    case SK_EQ:
        *keep = c1 == 0;
        break;
    case SK_LT:
        *keep = c1 < 0;
        break;
    case SK_LE:
        *keep = c1 <= 0;
        break;
    case SK_GT:
        *keep = c1 > 0;
        break;
    case SK_GE:
        *keep = c1 >= 0;
        break;
    case SK_BETWEEN:
        *keep = c1 >= 0 && c2 <= 0;
        break;
    default:
        CR_ASSERT(!"unreachable sk_op");
        *keep = false;
    }
    return 0;
}

/* Validates the query's key and sort-key condition into q. */
static int query_check(const struct table_def *def, const struct kv_query *in, struct query_ctx *q)
{
    int rc;

    if (in->op < SK_ANY || in->op > SK_BEGINS_WITH)
        return CR_EINVAL;
    if (!def->has_sk && in->op != SK_ANY)
        return CR_EINVAL;
    rc = check_key_value(def->pk_type, &in->pk, CR_MAX_PK_SIZE, &q->pk);
    if (rc || in->op == SK_ANY)
        return rc;
    if (in->op == SK_BEGINS_WITH && def->sk_type == KEY_N)
        return CR_ETYPE;
    rc = check_key_value(def->sk_type, &in->sk1, CR_MAX_SK_SIZE, &q->b1.v);
    if (rc == 0 && in->op == SK_BETWEEN) {
        rc = check_key_value(def->sk_type, &in->sk2, CR_MAX_SK_SIZE, &q->b2.v);
        if (rc == 0 && value_compare(&q->b1.v, &q->b2.v) > 0)
            rc = CR_EINVAL;
    }
    if (rc)
        return rc;
    if (in->op == SK_BEGINS_WITH)
        return keycodec_encode_prefix(&q->b1.v, &q->b1.enc);
    rc = keycodec_encode(&q->b1.v, &q->b1.enc);
    if (rc == 0 && in->op == SK_BETWEEN)
        rc = keycodec_encode(&q->b2.v, &q->b2.enc);
    return rc;
}

/* Sets the visited range: the partition, narrowed by the bounds' first CR_KEY_PREFIX bytes. */
static int query_range(const struct query_ctx *q, const struct cr_buf *partition, struct range *r)
{
    const struct bound *lo = NULL, *hi = NULL;
    int rc;

    switch (q->op) {
    case SK_EQ:
    case SK_BEGINS_WITH:
        lo = hi = &q->b1;
        break;
    case SK_LT:
    case SK_LE:
        hi = &q->b1;
        break;
    case SK_GT:
    case SK_GE:
        lo = &q->b1;
        break;
    case SK_BETWEEN:
        lo = &q->b1;
        hi = &q->b2;
        break;
    default:
        break;
    }
    rc = cr_buf_append(&r->w.lo, partition->data, partition->len);
    if (rc == 0 && lo)
        rc = cr_buf_append(&r->w.lo, lo->enc.data, cut(lo->enc.len, q->prefix));
    if (rc == 0)
        rc = cr_buf_append(&r->w.hi, partition->data, partition->len);
    if (rc == 0 && hi)
        rc = cr_buf_append(&r->w.hi, hi->enc.data, cut(hi->enc.len, q->prefix));
    if (rc == 0)
        r->w.has_hi = kv_prefix_successor(&r->w.hi);
    return rc;
}

static int query_space(struct storage_txn *t, const struct space *sp, const struct kv_query *in,
                       struct cr_arena *a, struct kv_page *out)
{
    const struct table_def *def = sp->key;
    struct query_ctx q;
    struct cr_buf partition;
    struct range r = {.filter = NULL};
    struct value no_sk = value_null();
    int rc;

    memset(&q, 0, sizeof q);
    cr_buf_init(&q.b1.enc);
    cr_buf_init(&q.b2.enc);
    cr_buf_init(&partition);
    kv_walk_init(&r.w);
    q.def = def;
    q.prefix = sp->prefix;
    q.op = in->op;
    rc = query_check(def, in, &q);
    if (rc == 0) {
        struct table_def pk_only = *def;

        pk_only.has_sk = false;
        rc = cr_buf_put_u32be(&partition, def->id);
        if (rc == 0)
            rc =
                kv_key_components(&pk_only, &q.pk, &no_sk, sp->prefix, &partition, &q.pk_truncated);
    }
    if (rc == 0) {
        q.partition_len = partition.len;
        rc = query_range(&q, &partition, &r);
    }
    if (rc == 0 && in->cursor && in->cursor_len)
        rc = parse_cursor(sp, in->cursor, in->cursor_len, &partition, &r.w.after);
    if (rc == 0) {
        r.w.db = sp->db;
        r.w.reverse = in->reverse;
        r.w.limit = in->limit;
        r.filter = query_filter;
        r.ctx = &q;
        rc = read_page(t, &r, a, out);
    }
    kv_walk_free(&r.w);
    cr_buf_free(&partition);
    cr_buf_free(&q.b1.enc);
    cr_buf_free(&q.b2.enc);
    return rc;
}

int kv_query(struct storage_txn *t, const struct table_def *def, const struct kv_query *in,
             struct cr_arena *a, struct kv_page *out)
{
    struct space sp;

    table_space(def, &sp);
    return query_space(t, &sp, in, a, out);
}

int kv_query_index(struct storage_txn *t, const struct table_def *table,
                   const struct index_def *idx, const struct kv_query *in, struct cr_arena *a,
                   struct kv_page *out)
{
    struct space sp;

    index_space(table, idx, &sp);
    return query_space(t, &sp, in, a, out);
}

/* ---- scan ----------------------------------------------------------------------------------- */

struct scan_ctx {
    uint32_t segment, total;
    size_t prefix;
};

static int scan_filter(void *ctx, struct env_val key, struct env_val row, struct cr_arena *a,
                       bool *keep)
{
    const struct scan_ctx *s = ctx;
    size_t len;

    if (keycodec_skip_cut(key.p + 4, key.p + key.n, s->prefix, &len))
        return CR_CORRUPT();
    *keep = cr_hash64(key.p + 4, len) % s->total == s->segment;
    return 0;
}

static int scan_space(struct storage_txn *t, const struct space *sp, const uint8_t *cursor,
                      size_t cursor_len, uint32_t limit, uint32_t segment, uint32_t total_segments,
                      struct cr_arena *a, struct kv_page *out)
{
    struct scan_ctx sc = {segment, total_segments, sp->prefix};
    struct range r = {.filter = NULL};
    uint8_t id[4];
    int rc;

    if (total_segments > 1 ? segment >= total_segments : segment != 0)
        return CR_EINVAL;
    kv_walk_init(&r.w);
    cr_put_u32be(id, sp->key->id);
    rc = cr_buf_append(&r.w.lo, id, sizeof id);
    if (rc == 0)
        rc = cr_buf_append(&r.w.hi, id, sizeof id);
    if (rc == 0)
        r.w.has_hi = kv_prefix_successor(&r.w.hi);
    if (rc == 0 && cursor && cursor_len)
        rc = parse_cursor(sp, cursor, cursor_len, NULL, &r.w.after);
    if (rc == 0) {
        r.w.db = sp->db;
        r.w.limit = limit;
        if (total_segments > 1) {
            r.filter = scan_filter;
            r.ctx = &sc;
        }
        rc = read_page(t, &r, a, out);
    }
    kv_walk_free(&r.w);
    return rc;
}

int kv_scan(struct storage_txn *t, const struct table_def *def, const uint8_t *cursor,
            size_t cursor_len, uint32_t limit, uint32_t segment, uint32_t total_segments,
            struct cr_arena *a, struct kv_page *out)
{
    struct space sp;

    table_space(def, &sp);
    return scan_space(t, &sp, cursor, cursor_len, limit, segment, total_segments, a, out);
}

int kv_scan_index(struct storage_txn *t, const struct table_def *table, const struct index_def *idx,
                  const uint8_t *cursor, size_t cursor_len, uint32_t limit, uint32_t segment,
                  uint32_t total_segments, struct cr_arena *a, struct kv_page *out)
{
    struct space sp;

    index_space(table, idx, &sp);
    return scan_space(t, &sp, cursor, cursor_len, limit, segment, total_segments, a, out);
}

/* A continuation holding key (CR_CURSOR_VERSION | the key bytes), arena-allocated. */
static int cursor_of(const struct cr_buf *key, struct cr_arena *a, uint8_t **out, size_t *out_len)
{
    *out = cr_arena_alloc(a, key->len + 1);
    if (!*out)
        return CR_ENOMEM;
    (*out)[0] = CR_CURSOR_VERSION;
    memcpy(*out + 1, key->data, key->len);
    *out_len = key->len + 1;
    return 0;
}

int kv_cursor_from_key(const struct table_def *def, const struct value *key, struct cr_arena *a,
                       uint8_t **out, size_t *out_len)
{
    struct value pk, sk = value_null();
    struct cr_buf row;
    bool truncated;
    int rc = kv_extract_key(def, key, true, &pk, &sk);

    if (rc)
        return rc;
    cr_buf_init(&row);
    rc = kv_row_key(def, &pk, &sk, &row, &truncated);
    if (rc == 0)
        rc = cursor_of(&row, a, out, out_len);
    cr_buf_free(&row);
    return rc;
}

/* Distinct attribute names of the index key and the table key. */
static size_t index_key_names(const struct table_def *table, const struct index_def *idx)
{
    const char *names[4] = {table->pk_name, table->has_sk ? table->sk_name : NULL, idx->key.pk_name,
                            idx->key.has_sk ? idx->key.sk_name : NULL};
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        bool seen = !names[i];

        for (int j = 0; j < i && !seen; j++)
            seen = names[j] && strcmp(names[i], names[j]) == 0;
        n += !seen;
    }
    return n;
}

int kv_cursor_from_index_key(const struct table_def *table, const struct index_def *idx,
                             const struct value *key, struct cr_arena *a, uint8_t **out,
                             size_t *out_len)
{
    struct value ipk, isk = value_null(), pk, sk = value_null();
    struct cr_buf entry;
    bool truncated;
    int rc = kv_extract_key(&idx->key, key, false, &ipk, &isk);

    if (rc == 0)
        rc = kv_extract_key(table, key, false, &pk, &sk);
    if (rc == 0 && key->u.map.n != index_key_names(table, idx))
        rc = CR_EINVAL;
    if (rc)
        return rc;
    cr_buf_init(&entry);
    rc = index_entry_key(table, idx, &ipk, &isk, &pk, &sk, &entry, &truncated);
    if (rc == 0)
        rc = cursor_of(&entry, a, out, out_len);
    cr_buf_free(&entry);
    return rc;
}
