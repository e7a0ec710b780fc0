/*
 * Documents of collections and their secondary index entries: keys, rows, system properties,
 * patches, index maintenance for apply.c, and the reads a query planner builds on. This file
 * never writes the catalog (catalog.c) and writes data only when apply.c calls doc_apply or
 * doc_drop_data; everything it writes for one mutation is decided before the first write.
 *
 * Document row (the `data` database):
 *   key    u32be collection id | pk slot | component(id)
 *   value  1 byte ROW_VERSION | varint zigzag(create_ms) | varint zigzag(update_ms)
 *          | value_encode(body)
 * The pk slot is PK_UNDEFINED (0x01, below every keycodec tag, so an undefined partition key
 * sorts first) or the keycodec component of the partition key value. Components are cut at
 * CR_KEY_PREFIX with a hash tail, as table rows (kv.c), and a row whose stored key matches a
 * request is checked against the id and partition key in its body.
 *
 * The body is the document as written, with the system properties apply sets: "_etag" (a
 * STRING, etag() below: a function of the log index and the mutation's position, so it never
 * repeats) and "_ts" (INT, the entry's time_ms in whole seconds).
 *
 * Index entries (the `index` database):
 *   path index    u32be (collection id + 1) | path key | component(value) | pk slot | component(id)
 *   composite     u32be composite id | component(v1) | ... | component(vn) | pk slot |
 * component(id) value         value_encode(MAP {id, pk (absent when undefined), v}); v is the
 * indexed value, or for a composite index the ARRAY of its values The path key is the keycodec
 * encoding of an ARRAY of the path's segments: a STRING per field name, NULL for "every element of
 * an array"; paths whose key is longer than CR_DOC_PATH_KEY_MAX bytes are not indexed. Components
 * are cut at CR_INDEX_KEY_PREFIX (a composite's values at composite_prefix(n)) so that every key
 * fits LMDB's 511 bytes; the entry's value keeps the full values, and reads decide bounds on those,
 * so results are exact. A DESC component of a composite index has every byte complemented:
 * encodings are prefix-free, so that reverses their order.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"
#include "storage/keycodec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_VERSION 1
#define PK_UNDEFINED 0x01
#define MAX_KEY 511
#define MAX_INDEX_IDS (1 + CR_MAX_COMPOSITE)

/* ---- paths ---------------------------------------------------------------------------------- */

static int parse_path(const char *text, size_t len, struct cr_arena *a, bool pattern,
                      struct doc_path *out, enum pattern_tail *tail)
{
    struct doc_seg *segs;
    bool tailed = false;
    size_t n = 0, i = 0;

    if (len == 0 || len > CR_MAX_PATH_TEXT || text[0] != '/')
        return CR_EINVAL;
    segs = cr_arena_alloc(a, CR_MAX_PATH_DEPTH * sizeof *segs);
    if (!segs)
        return CR_ENOMEM;
    while (i < len) {
        struct doc_seg seg = {SEG_FIELD, NULL, 0, 0};

        if (tailed || ++i == len)
            return CR_EINVAL; /* something after the tail, or a trailing '/' */
        if (text[i] == '"') {
            char *name = cr_arena_alloc(a, len);

            if (!name)
                return CR_ENOMEM;
            seg.name = name;
            for (i++; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\' && i + 1 < len)
                    i++;
                name[seg.len++] = text[i];
            }
            if (i++ == len || (i < len && text[i] != '/'))
                return CR_EINVAL;
        } else {
            size_t start = i;

            while (i < len && text[i] != '/')
                i++;
            seg.name = text + start;
            seg.len = i - start;
            if (seg.len == 0)
                return CR_EINVAL;
            if (seg.len == 2 && memcmp(seg.name, "[]", 2) == 0) {
                seg.kind = SEG_ELEMENTS;
            } else if (seg.len == 1 && (seg.name[0] == '?' || seg.name[0] == '*')) {
                if (!pattern || i != len)
                    return CR_EINVAL; /* a wildcard only ends a pattern; quote a field so named */
                *tail = seg.name[0] == '?' ? TAIL_SCALAR : TAIL_ALL;
                tailed = true;
                continue;
            }
        }
        if (n == CR_MAX_PATH_DEPTH)
            return CR_EINVAL;
        segs[n++] = seg;
    }
    if (pattern && (!tailed || (n == 0 && *tail == TAIL_SCALAR)))
        return CR_EINVAL;
    out->segs = segs;
    out->n = n;
    return 0;
}

int doc_path_parse(const char *text, size_t len, struct cr_arena *a, struct doc_path *out)
{
    return parse_path(text, len, a, false, out, NULL);
}

int doc_pattern_parse(const char *text, size_t len, struct cr_arena *a, struct doc_path *out,
                      enum pattern_tail *tail)
{
    return parse_path(text, len, a, true, out, tail);
}

static bool seg_eq(const struct doc_seg *a, const struct doc_seg *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == SEG_POSITION)
        return a->pos == b->pos;
    return a->kind != SEG_FIELD || (a->len == b->len && memcmp(a->name, b->name, a->len) == 0);
}

/* Appends the path key of segs[0..n): the keycodec encoding of an ARRAY of STRING (field) and
 * NULL (elements) values. */
static int path_key(const struct doc_seg *segs, size_t n, struct cr_buf *out)
{
    struct value items[CR_MAX_DEPTH + 1], arr;

    if (n > CR_MAX_DEPTH)
        return CR_EINVAL;
    for (size_t i = 0; i < n; i++)
        items[i] =
            segs[i].kind == SEG_FIELD ? value_string(segs[i].name, segs[i].len) : value_null();
    arr.type = VT_ARRAY;
    arr.u.arr.items = items;
    arr.u.arr.n = n;
    return keycodec_encode(&arr, out);
}

/* The policy's patterns, parsed. */
struct doc_rules {
    bool automatic;
    size_t n;
    struct rule {
        struct doc_path path;
        enum pattern_tail tail;
        bool include;
    } * r;
};

static int rules_load(const struct indexing_policy *p, struct cr_arena *a, struct doc_rules *out)
{
    size_t n = p->n_include + p->n_exclude;

    out->automatic = p->automatic;
    out->n = n;
    out->r = cr_arena_alloc(a, (n ? n : 1) * sizeof *out->r);
    if (!out->r)
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        bool inc = i < p->n_include;
        const char *text = inc ? p->include[i] : p->exclude[i - p->n_include];
        int rc = doc_pattern_parse(text, strlen(text), a, &out->r[i].path, &out->r[i].tail);

        if (rc)
            return rc;
        out->r[i].include = inc;
    }
    return 0;
}

/* The most precise matching pattern decides: more segments, then "/?" over "/\*", then exclude
 * over include. No patterns: everything. */
static bool selected(const struct doc_rules *rs, const struct doc_seg *segs, size_t n)
{
    long best = -1;
    bool inc = false;

    if (!rs->automatic)
        return false;
    if (rs->n == 0)
        return true;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        long prec = 2 * (long)r->path.n + (r->tail == TAIL_SCALAR);
        bool match = r->tail == TAIL_SCALAR ? r->path.n == n : r->path.n <= n;

        for (size_t j = 0; match && j < r->path.n; j++)
            match = seg_eq(&r->path.segs[j], &segs[j]);
        if (match && (prec > best || (prec == best && !r->include))) {
            best = prec;
            inc = r->include;
        }
    }
    return inc;
}

int doc_rules_load(const struct indexing_policy *p, struct cr_arena *a,
                   const struct doc_rules **out)
{
    struct doc_rules *rs = cr_arena_alloc(a, sizeof *rs);
    int rc = rs ? rules_load(p, a, rs) : CR_ENOMEM;

    if (rc == 0)
        *out = rs;
    return rc;
}

bool doc_rules_indexed(const struct doc_rules *rs, const struct doc_path *path)
{
    struct cr_buf key;
    bool ok = path->n > 0 && path->n <= CR_MAX_DEPTH;

    for (size_t i = 0; ok && i < path->n; i++)
        ok = path->segs[i].kind != SEG_POSITION;
    if (!ok || !selected(rs, path->segs, path->n))
        return false;
    cr_buf_init(&key);
    ok = path_key(path->segs, path->n, &key) == 0 && key.len <= CR_DOC_PATH_KEY_MAX;
    cr_buf_free(&key);
    return ok;
}

bool doc_path_indexed(const struct coll_def *c, const struct doc_path *path)
{
    struct cr_arena a;
    const struct doc_rules *rs;
    bool ok;

    cr_arena_init(&a, 1024);
    ok = doc_rules_load(&c->policy, &a, &rs) == 0 && doc_rules_indexed(rs, path);
    cr_arena_free(&a);
    return ok;
}

/* The value at a path of FIELD (and POSITION) segments; NULL when absent. */
static const struct value *value_at(const struct value *v, const struct doc_seg *segs, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        if (segs[i].kind == SEG_FIELD)
            v = value_map_get(v, segs[i].name, segs[i].len);
        else if (segs[i].kind == SEG_POSITION && v->type == VT_ARRAY && segs[i].pos < v->u.arr.n)
            v = &v->u.arr.items[segs[i].pos];
        else
            v = NULL;
    }
    return v;
}

static bool is_scalar(enum value_type t)
{
    return t != VT_ARRAY && t != VT_MAP && t != VT_SS && t != VT_NS && t != VT_BS;
}

static bool is_number(enum value_type t)
{
    return t == VT_INT || t == VT_DOUBLE || t == VT_DECIMAL;
}

/* ---- keys ----------------------------------------------------------------------------------- */

static int check_id(const struct value *id)
{
    if (id->type != VT_STRING)
        return CR_ETYPE;
    if (id->u.s.len == 0 || id->u.s.len > CR_MAX_DOC_ID)
        return CR_EINVAL;
    for (size_t i = 0; i < id->u.s.len; i++) {
        char ch = id->u.s.ptr[i];

        if (ch == '/' || ch == '\\' || ch == '?' || ch == '#')
            return CR_EINVAL;
    }
    return 0;
}

static int check_pk(const struct value *pk)
{
    if (pk->type == VT_STRING)
        return pk->u.s.len > CR_MAX_PK_SIZE ? CR_EKEYTOOBIG : 0;
    return pk->type == VT_NULL || pk->type == VT_BOOL || is_number(pk->type) ? 0 : CR_ETYPE;
}

/* The collection's partition key path (n == 0: none). */
static int pk_path(const struct coll_def *c, struct cr_arena *a, struct doc_path *out)
{
    int rc;

    out->n = 0;
    if (!c->pk_path[0])
        return 0;
    rc = doc_path_parse(c->pk_path, strlen(c->pk_path), a, out);
    return rc == 0 || rc == CR_ENOMEM ? rc : CR_CORRUPT();
}

/* The key of a document body: CR_EINVAL (not a MAP, a bad id), CR_EMISSINGKEY (no id),
 * CR_ETYPE (an id that is not a STRING, a partition key that is not a scalar key type),
 * CR_EKEYTOOBIG. */
static int body_key(const struct doc_path *pkp, const struct value *body, struct doc_key *out)
{
    const struct value *id, *pk = NULL;
    int rc;

    if (body->type != VT_MAP)
        return CR_EINVAL;
    id = value_map_get(body, "id", 2);
    if (!id)
        return CR_EMISSINGKEY;
    rc = check_id(id);
    if (rc)
        return rc;
    if (pkp->n)
        pk = value_at(body, pkp->segs, pkp->n);
    if (pk && (rc = check_pk(pk)) != 0)
        return rc;
    out->id = *id;
    out->has_pk = pk != NULL;
    out->pk = pk ? *pk : value_null();
    return 0;
}

static int check_key(const struct doc_path *pkp, const struct doc_key *k)
{
    int rc = check_id(&k->id);

    if (rc == 0 && k->has_pk && pkp->n == 0)
        rc = CR_EINVAL;
    if (rc == 0 && k->has_pk)
        rc = check_pk(&k->pk);
    return rc;
}

static bool key_equal(const struct doc_key *a, const struct doc_key *b)
{
    return a->has_pk == b->has_pk && (!a->has_pk || value_equal(&a->pk, &b->pk)) &&
           value_equal(&a->id, &b->id);
}

static int pk_slot(const struct doc_key *k, size_t prefix, struct cr_buf *out, bool *truncated)
{
    *truncated = false;
    if (!k->has_pk)
        return cr_buf_putc(out, PK_UNDEFINED);
    return keycodec_encode_cut(&k->pk, prefix, out, truncated);
}

/* Appends pk slot | component(id), each cut at prefix. */
static int key_parts(const struct doc_key *k, size_t prefix, struct cr_buf *out, bool *truncated)
{
    bool t1 = false, t2 = false;
    int rc = pk_slot(k, prefix, out, &t1);

    if (rc == 0)
        rc = keycodec_encode_cut(&k->id, prefix, out, &t2);
    *truncated = t1 || t2;
    return rc;
}

static int row_key(const struct coll_def *c, const struct doc_key *k, struct cr_buf *out,
                   bool *truncated)
{
    int rc = cr_buf_put_u32be(out, c->id);

    return rc ? rc : key_parts(k, CR_KEY_PREFIX, out, truncated);
}

/* ---- rows ----------------------------------------------------------------------------------- */

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Decodes a row; *body_off (may be NULL) gets where the body's encoding starts. */
static int row_decode(struct env_val row, struct cr_arena *a, struct doc *out, size_t *body_off)
{
    const uint8_t *p = row.p, *end = row.p + row.n;
    uint64_t cms, ums;
    int rc;

    if (row.n < 1 || p[0] != ROW_VERSION)
        return CR_CORRUPT();
    p++;
    if (cr_get_varint(&p, end, &cms) || cr_get_varint(&p, end, &ums))
        return CR_CORRUPT();
    out->create_ms = unzigzag(cms);
    out->update_ms = unzigzag(ums);
    if (body_off)
        *body_off = (size_t)(p - row.p);
    rc = value_decode(p, (size_t)(end - p), a, &out->body);
    return rc == CR_ECORRUPT ? CR_CORRUPT() : rc;
}

/* The row of key k: *found false when absent or held by another key (*collision). */
static int row_find(struct storage_txn *t, const struct coll_def *c, const struct doc_path *pkp,
                    const struct doc_key *k, struct cr_buf *key, struct cr_arena *a,
                    struct env_val *row, struct doc *cur, bool *found, bool *collision)
{
    bool truncated;
    int rc = row_key(c, k, key, &truncated);

    *found = *collision = false;
    if (rc)
        return rc;
    rc = env_get(t, ENV_DATA, key->data, key->len, row);
    if (rc == CR_ENOTFOUND)
        return 0;
    if (rc == 0)
        rc = row_decode(*row, a, cur, NULL);
    if (rc == 0)
        rc = body_key(pkp, &cur->body, &cur->key);
    if (rc)
        return rc == CR_ENOMEM || rc == CR_ECORRUPT ? rc : CR_CORRUPT();
    *found = !truncated || key_equal(&cur->key, k);
    *collision = !*found;
    return 0;
}

int doc_get(struct storage_txn *t, const struct coll_def *c, const struct doc_key *key,
            struct cr_arena *a, struct doc *out)
{
    struct doc_path pkp;
    struct cr_buf k;
    struct env_val row;
    bool found = false, collision;
    int rc = pk_path(c, a, &pkp);

    if (rc == 0)
        rc = check_key(&pkp, key);
    if (rc)
        return rc;
    cr_buf_init(&k);
    rc = row_find(t, c, &pkp, key, &k, a, &row, out, &found, &collision);
    cr_buf_free(&k);
    return rc ? rc : found ? 0 : CR_ENOTFOUND;
}

/* ---- index entries -------------------------------------------------------------------------- */

/* Entries of one version of a document, sorted by key, without duplicates. */
struct entries {
    struct cr_buf bytes;
    struct ent {
        const uint8_t *key; /* set by entries_sort, into bytes */
        size_t key_off, key_len, val_off, val_len;
        uint32_t id; /* the index's object id */
        bool truncated;
    } * list;
    size_t n, cap;
};

static void entries_init(struct entries *e)
{
    memset(e, 0, sizeof *e);
    cr_buf_init(&e->bytes);
}

static int ent_cmp(const void *x, const void *y)
{
    const struct ent *a = x, *b = y;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);

    if (c)
        return c;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    return a->key_off < b->key_off ? -1 : a->key_off > b->key_off; /* the first one stays */
}

static void entries_sort(struct entries *e)
{
    size_t kept = 0;

    for (size_t i = 0; i < e->n; i++)
        e->list[i].key = e->bytes.data + e->list[i].key_off;
    if (e->n > 1)
        qsort(e->list, e->n, sizeof *e->list, ent_cmp);
    for (size_t i = 0; i < e->n; i++)
        if (kept == 0 || e->list[kept - 1].key_len != e->list[i].key_len ||
            memcmp(e->list[kept - 1].key, e->list[i].key, e->list[i].key_len) != 0)
            e->list[kept++] = e->list[i];
    e->n = kept;
}

/* What the entries of one document version are built from. */
struct gen {
    const struct coll_def *c;
    const struct doc_rules *rules;
    const struct doc_key *key;
    struct cr_buf dockey; /* pk slot | component(id), cut at CR_INDEX_KEY_PREFIX */
    bool dockey_truncated;
    struct doc_seg segs[CR_MAX_DEPTH + 1];
    size_t depth;
    struct cr_arena *a;
    struct entries *out;
};

/* The entry's value: MAP {id, pk (when defined), v}. */
static int entry_value(const struct doc_key *k, const struct value *v, struct cr_buf *out)
{
    struct value_field f[3];
    struct value m, id = k->id, pk = k->pk, val = *v;
    size_t n = 0;

    f[n++] = (struct value_field){"id", 2, &id};
    if (k->has_pk)
        f[n++] = (struct value_field){"pk", 2, &pk};
    f[n++] = (struct value_field){"v", 1, &val};
    m.type = VT_MAP;
    m.u.map.fields = f;
    m.u.map.n = n;
    return value_encode(&m, out);
}

/* Appends the entry whose key is in g->out->bytes from key_off on, adding the document key and
 * the value. */
static int entry_add(struct gen *g, uint32_t id, size_t key_off, bool truncated,
                     const struct value *v)
{
    struct entries *e = g->out;
    struct ent *x;
    int rc = cr_buf_append(&e->bytes, g->dockey.data, g->dockey.len);

    if (rc)
        return rc;
    CR_ASSERT(e->bytes.len - key_off <= MAX_KEY);
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        struct ent *list = cr_arena_alloc(g->a, cap * sizeof *list);

        if (!list)
            return CR_ENOMEM;
        if (e->n)
            memcpy(list, e->list, e->n * sizeof *list);
        e->list = list;
        e->cap = cap;
    }
    x = &e->list[e->n];
    x->key_off = key_off;
    x->key_len = e->bytes.len - key_off;
    x->val_off = e->bytes.len;
    x->id = id;
    x->truncated = truncated || g->dockey_truncated;
    rc = entry_value(g->key, v, &e->bytes);
    if (rc)
        return rc;
    x->val_len = e->bytes.len - x->val_off;
    e->n++;
    return 0;
}

static int path_entry(struct gen *g, const struct value *v)
{
    struct cr_buf *b = &g->out->bytes;
    size_t start = b->len, path_start;
    bool truncated = false;
    int rc;

    if (g->depth > CR_MAX_DEPTH)
        return 0; /* deeper than any stored value can be */
    rc = cr_buf_put_u32be(b, g->c->id + 1);
    path_start = b->len;
    if (rc == 0)
        rc = path_key(g->segs, g->depth, b);
    if (rc == 0 && b->len - path_start > CR_DOC_PATH_KEY_MAX) {
        b->len = start; /* too long a path: not indexed */
        return 0;
    }
    if (rc == 0)
        rc = keycodec_encode_cut(v, CR_INDEX_KEY_PREFIX, b, &truncated);
    return rc ? rc : entry_add(g, g->c->id + 1, start, truncated, v);
}

/* Every selected scalar of v, under the path g->segs[0..depth). */
static int walk(struct gen *g, const struct value *v)
{
    int rc = 0;

    if (is_scalar(v->type))
        return g->depth && selected(g->rules, g->segs, g->depth) ? path_entry(g, v) : 0;
    if (g->depth > CR_MAX_DEPTH || (v->type != VT_MAP && v->type != VT_ARRAY))
        return 0; /* sets are not indexed; the depth is bounded by value_encode's */
    if (v->type == VT_ARRAY) {
        g->segs[g->depth++] = (struct doc_seg){SEG_ELEMENTS, NULL, 0, 0};
        for (size_t i = 0; rc == 0 && i < v->u.arr.n; i++)
            rc = walk(g, &v->u.arr.items[i]);
    } else {
        g->depth++;
        for (size_t i = 0; rc == 0 && i < v->u.map.n; i++) {
            const struct value_field *f = &v->u.map.fields[i];

            g->segs[g->depth - 1] = (struct doc_seg){SEG_FIELD, f->name, f->name_len, 0};
            rc = walk(g, f->value);
        }
    }
    g->depth--;
    return rc;
}

/* Where the values of an n-path composite index are cut: n of them and the document key fit in
 * LMDB's 511 bytes. */
static size_t composite_prefix(size_t n)
{
    size_t p = 255 / n - 10;

    return p < CR_INDEX_KEY_PREFIX ? p : CR_INDEX_KEY_PREFIX;
}

static int composite_component(const struct value *v, size_t prefix, bool desc, struct cr_buf *b,
                               bool *truncated)
{
    size_t start = b->len;
    int rc = keycodec_encode_cut(v, prefix, b, truncated);

    if (rc == 0 && desc)
        for (size_t i = start; i < b->len; i++)
            b->data[i] = (uint8_t)~b->data[i];
    return rc;
}

static int composite_entry(struct gen *g, const struct composite_def *x, const struct value *body)
{
    struct cr_buf *b = &g->out->bytes;
    struct value *vals = cr_arena_alloc(g->a, x->n * sizeof *vals), arr;
    size_t start = b->len;
    bool truncated = false;
    int rc;

    if (!vals)
        return CR_ENOMEM;
    for (size_t i = 0; i < x->n; i++) {
        struct doc_path p;
        const struct value *v;

        rc = doc_path_parse(x->paths[i].path, strlen(x->paths[i].path), g->a, &p);
        if (rc)
            return rc == CR_ENOMEM ? rc : CR_CORRUPT();
        v = value_at(body, p.segs, p.n);
        if (!v || !is_scalar(v->type))
            return 0; /* no entry unless every path holds a scalar */
        vals[i] = *v;
    }
    rc = cr_buf_put_u32be(b, x->id);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        bool cut = false;

        rc = composite_component(&vals[i], composite_prefix(x->n), x->paths[i].desc, b, &cut);
        truncated = truncated || cut;
    }
    if (rc)
        return rc;
    arr.type = VT_ARRAY;
    arr.u.arr.items = vals;
    arr.u.arr.n = x->n;
    return entry_add(g, x->id, start, truncated, &arr);
}

/* The entries of body (NULL: none) into *out, sorted. */
static int entries_of(const struct coll_def *c, const struct doc_rules *rs,
                      const struct value *body, const struct doc_key *key, struct cr_arena *a,
                      struct entries *out)
{
    struct gen g;
    int rc = 0;

    if (!body)
        return 0;
    memset(&g, 0, sizeof g);
    g.c = c;
    g.rules = rs;
    g.key = key;
    g.a = a;
    g.out = out;
    cr_buf_init(&g.dockey);
    rc = key_parts(key, CR_INDEX_KEY_PREFIX, &g.dockey, &g.dockey_truncated);
    if (rc == 0 && rs->automatic)
        rc = walk(&g, body);
    for (size_t i = 0; rc == 0 && i < c->policy.n_composite; i++)
        rc = composite_entry(&g, &c->policy.composite[i], body);
    cr_buf_free(&g.dockey);
    if (rc == 0)
        entries_sort(out);
    return rc;
}

/* ---- writes --------------------------------------------------------------------------------- */

/* The etag of the write at (log index, ordinal): unique across the log, never reused. */
static void etag(uint64_t index, uint16_t ordinal, char out[CR_ETAG_LEN + 1])
{
    snprintf(out, CR_ETAG_LEN + 1, "\"%08" PRIx32 "-%04x-%04x-0000-%012x\"",
             (uint32_t)(index >> 32), (unsigned)((index >> 16) & 0xFFFF),
             (unsigned)(index & 0xFFFF), (unsigned)ordinal);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool is_system(const char *name, size_t len)
{
    return (len == 5 && memcmp(name, "_etag", 5) == 0) || (len == 3 && memcmp(name, "_ts", 3) == 0);
}

/* body with "_etag" and "_ts" set to the write's (any given ones are replaced). */
static int stamp(const struct value *body, const char *tag, int64_t time_ms, struct cr_arena *a,
                 struct value *out)
{
    struct value_field *f = cr_arena_alloc(a, (body->u.map.n + 2) * sizeof *f);
    struct value *vals = cr_arena_alloc(a, 2 * sizeof *vals);
    size_t n = 0;

    if (!f || !vals)
        return CR_ENOMEM;
    for (size_t i = 0; i < body->u.map.n; i++)
        if (!is_system(body->u.map.fields[i].name, body->u.map.fields[i].name_len))
            f[n++] = body->u.map.fields[i];
    vals[0] = value_string(tag, strlen(tag));
    vals[1] = value_int(floor_div(time_ms, 1000));
    f[n++] = (struct value_field){"_etag", 5, &vals[0]};
    f[n++] = (struct value_field){"_ts", 3, &vals[1]};
    out->type = VT_MAP;
    out->u.map.fields = f;
    out->u.map.n = n;
    return 0;
}

static int check_pre(const struct doc_precond *p, bool exists, const struct doc *cur)
{
    const struct value *tag;

    if (p->exists == PRE_EXISTS && !exists)
        return CR_ENOTFOUND;
    if (p->exists == PRE_NOT_EXISTS && exists)
        return CR_EEXISTS;
    if (p->exists != PRE_ANY && p->exists != PRE_EXISTS && p->exists != PRE_NOT_EXISTS)
        return CR_EINVAL;
    if (p->if_match) {
        tag = exists ? value_map_get(&cur->body, "_etag", 5) : NULL;
        if (!tag || tag->type != VT_STRING || tag->u.s.len != p->if_match_len ||
            memcmp(tag->u.s.ptr, p->if_match, p->if_match_len) != 0)
            return CR_ECONDITION;
    }
    if (p->has_update_ms && (!exists || cur->update_ms != p->update_ms))
        return CR_ECONDITION;
    return 0;
}

/* ---- patches ---- */

/* A new field name = v at the end of map (its arrays are replaced, never written in place). */
static int map_add(struct value *map, const char *name, size_t len, const struct value *v,
                   struct cr_arena *a, struct value **slot)
{
    size_t n = map->u.map.n;
    struct value_field *f = cr_arena_alloc(a, (n + 1) * sizeof *f);
    struct value *val = cr_arena_alloc(a, sizeof *val);

    if (!f || !val)
        return CR_ENOMEM;
    if (n)
        memcpy(f, map->u.map.fields, n * sizeof *f);
    *val = *v;
    f[n] = (struct value_field){name, len, val};
    map->u.map.fields = f;
    map->u.map.n = n + 1;
    if (slot)
        *slot = val;
    return 0;
}

static struct value *field_of(struct value *map, const struct doc_seg *s)
{
    for (size_t i = 0; i < map->u.map.n; i++) {
        struct value_field *f = &map->u.map.fields[i];

        if (f->name_len == s->len && memcmp(f->name, s->name, s->len) == 0)
            return f->value;
    }
    return NULL;
}

/* The container of the path's last segment. create: missing maps on the way are added.
 * CR_ENOTFOUND when a parent is missing, CR_EINVAL when one has the wrong type. */
static int parent_of(struct value *root, const struct doc_path *p, bool create, struct cr_arena *a,
                     struct value **out)
{
    struct value *cur = root;

    for (size_t i = 0; i + 1 < p->n; i++) {
        const struct doc_seg *s = &p->segs[i];
        struct value *next;

        if (s->kind == SEG_FIELD && cur->type == VT_MAP) {
            next = field_of(cur, s);
            if (!next) {
                struct value empty = {.type = VT_MAP};
                int rc;

                if (!create)
                    return CR_ENOTFOUND;
                rc = map_add(cur, s->name, s->len, &empty, a, &next);
                if (rc)
                    return rc;
            }
        } else if (s->kind == SEG_POSITION && cur->type == VT_ARRAY) {
            if (s->pos >= cur->u.arr.n)
                return create ? CR_EINVAL : CR_ENOTFOUND;
            next = &cur->u.arr.items[s->pos];
        } else {
            return CR_EINVAL;
        }
        cur = next;
    }
    *out = cur;
    return 0;
}

/* The target slot under parent (NULL: absent). CR_EINVAL when parent cannot hold it. */
static int target_of(struct value *parent, const struct doc_seg *s, struct value **out)
{
    *out = NULL;
    if (s->kind == SEG_FIELD && parent->type == VT_MAP)
        *out = field_of(parent, s);
    else if (s->kind == SEG_POSITION && parent->type == VT_ARRAY)
        *out = s->pos < parent->u.arr.n ? &parent->u.arr.items[s->pos] : NULL;
    else
        return CR_EINVAL;
    return 0;
}

static int set_path(struct value *root, const struct doc_path *p, const struct value *v,
                    struct cr_arena *a)
{
    const struct doc_seg *last = &p->segs[p->n - 1];
    struct value *parent, *slot;
    int rc = parent_of(root, p, true, a, &parent);

    if (rc == 0)
        rc = target_of(parent, last, &slot);
    if (rc)
        return rc;
    if (slot) {
        *slot = *v;
        return 0;
    }
    if (last->kind != SEG_FIELD)
        return CR_EINVAL; /* a position past the end */
    return map_add(parent, last->name, last->len, v, a, NULL);
}

static int remove_path(struct value *root, const struct doc_path *p, bool must_exist,
                       struct cr_arena *a)
{
    const struct doc_seg *last = &p->segs[p->n - 1];
    struct value *parent, *slot = NULL;
    int rc = parent_of(root, p, false, a, &parent);

    if (rc == 0)
        rc = target_of(parent, last, &slot);
    if (rc == CR_ENOTFOUND || (rc == 0 && !slot) || (rc == CR_EINVAL && !must_exist))
        return must_exist ? CR_EINVAL : 0;
    if (rc)
        return rc;
    if (parent->type == VT_MAP) {
        size_t i = 0;

        while (parent->u.map.fields[i].value != slot)
            i++;
        memmove(&parent->u.map.fields[i], &parent->u.map.fields[i + 1],
                (parent->u.map.n - i - 1) * sizeof *parent->u.map.fields);
        parent->u.map.n--;
    } else {
        memmove(slot, slot + 1, (parent->u.arr.n - last->pos - 1) * sizeof *slot);
        parent->u.arr.n--;
    }
    return 0;
}

static double as_double(const struct value *v)
{
    if (v->type == VT_INT)
        return (double)v->u.i;
    if (v->type == VT_DOUBLE)
        return v->u.d;
    return decimal_to_double(&v->u.dec);
}

/* a + b for numbers: INT saturating, DOUBLE when either is one, else exact DECIMAL. */
static int add_numbers(const struct value *a, const struct value *b, struct value *out)
{
    struct decimal x, y;
    int rc;

    if (a->type == VT_INT && b->type == VT_INT) {
        int64_t r;

        if (__builtin_add_overflow(a->u.i, b->u.i, &r))
            r = b->u.i > 0 ? INT64_MAX : INT64_MIN;
        *out = value_int(r);
        return 0;
    }
    if (a->type == VT_DOUBLE || b->type == VT_DOUBLE) {
        *out = value_double(as_double(a) + as_double(b));
        return 0;
    }
    rc = value_number_to_decimal(a, &x);
    if (rc == 0)
        rc = value_number_to_decimal(b, &y);
    if (rc == 0)
        rc = decimal_add(&x, &y, &out->u.dec);
    if (rc == 0)
        out->type = VT_DECIMAL;
    return rc;
}

static bool array_has(const struct value *arr, size_t n, const struct value *v)
{
    for (size_t i = 0; i < n; i++)
        if (value_equal(&arr[i], v))
            return true;
    return false;
}

/* The array operations' results, arena-allocated. */
static int array_op(enum patch_kind k, const struct value *cur, const struct value *operand,
                    struct cr_arena *a, struct value *out)
{
    bool is_arr = cur && cur->type == VT_ARRAY;
    size_t have = is_arr ? cur->u.arr.n : 0;
    size_t add = k == PATCH_APPEND ? 1 : operand->u.arr.n, n = 0;
    struct value *items = cr_arena_alloc(a, (have + add + 1) * sizeof *items);

    if (!items)
        return CR_ENOMEM;
    if (k == PATCH_APPEND) {
        if (cur && !is_arr)
            return CR_EINVAL;
        for (size_t i = 0; i < have; i++)
            items[n++] = cur->u.arr.items[i];
        items[n++] = *operand;
    } else if (k == PATCH_ARRAY_UNION) {
        for (size_t i = 0; i < have; i++)
            items[n++] = cur->u.arr.items[i];
        for (size_t i = 0; i < add; i++)
            if (!array_has(items, n, &operand->u.arr.items[i]))
                items[n++] = operand->u.arr.items[i];
    } else {
        for (size_t i = 0; i < have; i++)
            if (!array_has(operand->u.arr.items, add, &cur->u.arr.items[i]))
                items[n++] = cur->u.arr.items[i];
    }
    out->type = VT_ARRAY;
    out->u.arr.items = items;
    out->u.arr.n = n;
    return 0;
}

static int patch_one(struct value *root, const struct patch_op *op, int64_t time_ms,
                     struct cr_arena *a)
{
    struct value *parent, *cur = NULL, next, copy, *v = &copy;
    int rc = value_clone(&op->value, a, &copy); /* later operations may edit it in place */

    if (rc)
        return rc;
    if (op->path.n == 0 || op->path.n > CR_MAX_PATH_DEPTH)
        return CR_EINVAL;
    for (size_t i = 0; i < op->path.n; i++)
        if (op->path.segs[i].kind == SEG_ELEMENTS)
            return CR_EINVAL;
    if (op->path.segs[0].kind == SEG_FIELD &&
        ((op->path.segs[0].len == 2 && memcmp(op->path.segs[0].name, "id", 2) == 0) ||
         is_system(op->path.segs[0].name, op->path.segs[0].len)))
        return CR_EINVAL;
    if (op->kind == PATCH_REMOVE)
        return remove_path(root, &op->path, op->must_exist, a);
    rc = parent_of(root, &op->path, false, a, &parent);
    if (rc == 0)
        rc = target_of(parent, &op->path.segs[op->path.n - 1], &cur);
    if (rc && rc != CR_ENOTFOUND)
        return rc;
    switch (op->kind) {
    case PATCH_SET:
        next = *v;
        break;
    case PATCH_SERVER_TIME:
        next.type = VT_TIMESTAMP;
        next.u.ts.sec = floor_div(time_ms, 1000);
        next.u.ts.nsec = (int32_t)((time_ms - next.u.ts.sec * 1000) * 1000000);
        break;
    case PATCH_INCREMENT:
    case PATCH_MINIMUM:
    case PATCH_MAXIMUM:
        if (!is_number(v->type))
            return CR_EINVAL;
        next = *v;
        if (cur && is_number(cur->type) && op->kind == PATCH_INCREMENT)
            rc = add_numbers(cur, v, &next);
        else if (cur && is_number(cur->type))
            next =
                (op->kind == PATCH_MINIMUM ? value_compare(v, cur) < 0 : value_compare(v, cur) > 0)
                    ? *v
                    : *cur;
        if (rc)
            return rc;
        break;
    case PATCH_APPEND:
    case PATCH_ARRAY_UNION:
    case PATCH_ARRAY_REMOVE:
        if (op->kind != PATCH_APPEND && v->type != VT_ARRAY)
            return CR_EINVAL;
        rc = array_op(op->kind, cur, v, a, &next);
        if (rc)
            return rc;
        break;
    default:
        return CR_EINVAL;
    }
    return set_path(root, &op->path, &next, a);
}

static int patch(const struct mutation *m, const struct doc *cur, const struct doc_path *pkp,
                 int64_t time_ms, struct cr_arena *a, struct value *out)
{
    struct doc_key after;
    int rc;

    if (m->n_patch > CR_MAX_PATCH_OPS)
        return CR_ETOOMANY;
    rc = value_clone(&cur->body, a, out);
    for (size_t i = 0; rc == 0 && i < m->n_patch; i++)
        rc = patch_one(out, &m->patch[i], time_ms, a);
    if (rc == 0)
        rc = body_key(pkp, out, &after);
    if (rc == CR_ETYPE || rc == CR_EKEYTOOBIG || rc == CR_EMISSINGKEY ||
        (rc == 0 && !key_equal(&after, &cur->key)))
        rc = CR_EINVAL; /* the partition key may not change */
    return rc;
}

/* ---- the index diff ---- */

struct index_op {
    const struct ent *e;
    bool del; /* delete the old entry's key; else put e */
};

struct stat_delta {
    uint32_t id;
    int64_t count, size;
};

struct plan {
    struct entries old, new;
    struct index_op *ops;
    size_t n_ops;
    struct stat_delta stats[MAX_INDEX_IDS];
    size_t n_stats;
};

static void stat_add(struct plan *p, uint32_t id, int64_t count, int64_t size)
{
    size_t i = 0;

    while (i < p->n_stats && p->stats[i].id != id)
        i++;
    CR_ASSERT(i < MAX_INDEX_IDS);
    if (i == p->n_stats)
        p->stats[p->n_stats++] = (struct stat_delta){id, 0, 0};
    p->stats[i].count += count;
    p->stats[i].size += size;
}

static int key_cmp(const struct ent *a, const struct ent *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);

    if (c)
        return c;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* Merges the sorted old and new entries into deletes and puts; a new entry key that another
 * document holds (a hash collision of cut components) is CR_EKEYTOOBIG. */
static int plan_diff(struct storage_txn *t, struct plan *p, struct cr_arena *a)
{
    size_t i = 0, j = 0;

    p->ops = cr_arena_alloc(a, (p->old.n + p->new.n + 1) * sizeof *p->ops);
    if (!p->ops)
        return CR_ENOMEM;
    while (i < p->old.n || j < p->new.n) {
        const struct ent *o = i < p->old.n ? &p->old.list[i] : NULL;
        const struct ent *n = j < p->new.n ? &p->new.list[j] : NULL;
        int c = !o ? 1 : !n ? -1 : key_cmp(o, n);

        if (c < 0) {
            p->ops[p->n_ops++] = (struct index_op){o, true};
            stat_add(p, o->id, -1, -(int64_t)(o->key_len + o->val_len));
            i++;
            continue;
        }
        if (c == 0) {
            stat_add(p, o->id, 0, (int64_t)n->val_len - (int64_t)o->val_len);
            if (o->val_len != n->val_len || memcmp(p->old.bytes.data + o->val_off,
                                                   p->new.bytes.data + n->val_off, n->val_len) != 0)
                p->ops[p->n_ops++] = (struct index_op){n, false};
            i++;
            j++;
            continue;
        }
        if (n->truncated) {
            struct env_val v;
            int rc = env_get(t, ENV_INDEX, n->key, n->key_len, &v);

            if (rc == 0)
                return CR_EKEYTOOBIG;
            if (rc != CR_ENOTFOUND)
                return rc;
        }
        p->ops[p->n_ops++] = (struct index_op){n, false};
        stat_add(p, n->id, 1, (int64_t)(n->key_len + n->val_len));
        j++;
    }
    return 0;
}

static int plan_write(struct storage_txn *t, const struct plan *p)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < p->n_ops; i++) {
        const struct index_op *op = &p->ops[i];
        const struct entries *src = op->del ? &p->old : &p->new;

        if (op->del) {
            rc = env_del(t, ENV_INDEX, op->e->key, op->e->key_len);
            if (rc == CR_ENOTFOUND)
                rc = CR_CORRUPT(); /* the old version's entry must exist */
        } else {
            rc = env_put(t, ENV_INDEX, op->e->key, op->e->key_len, src->bytes.data + op->e->val_off,
                         op->e->val_len);
        }
    }
    for (size_t i = 0; rc == 0 && i < p->n_stats; i++)
        if (p->stats[i].count || p->stats[i].size)
            rc = catalog_stats_add(t, p->stats[i].id, p->stats[i].count, p->stats[i].size);
    return rc;
}

/* After the first write only environment errors may come back (see apply.c's after_write). */
static int after_write(int rc)
{
    return rc == 0 || rc == CR_ENOMEM || rc == CR_EFULL || rc == CR_EIO || rc == CR_ECORRUPT
               ? rc
               : CR_EINTERNAL;
}

/* The change feed's key of a document: MAP {id, pk (when defined)}. */
static int change_key(const struct doc_key *k, struct value_field f[2], struct value vals[2],
                      struct value *out)
{
    vals[0] = k->id;
    vals[1] = k->pk;
    f[0] = (struct value_field){"id", 2, &vals[0]};
    f[1] = (struct value_field){"pk", 2, &vals[1]};
    out->type = VT_MAP;
    out->u.map.fields = f;
    out->u.map.n = k->has_pk ? 2 : 1;
    return 0;
}

/* The state a document write works on, gathered before anything is written. */
struct doc_write {
    struct coll_def c;
    struct doc_path pkp;
    struct doc_rules rules;
    struct doc_key key;
    struct cr_buf rowkey, row;
    struct env_val old_row;
    struct doc cur;
    bool exists;
    struct value next; /* the new body (not for a delete) */
    size_t body_off;   /* where the body starts in row */
    struct plan plan;
};

/* The stored key borrows from the old row, which the write may move: the change record needs a
 * copy. */
static int stable_key(struct doc_key *k, struct cr_arena *a)
{
    struct value id, pk = value_null();
    int rc = value_clone(&k->id, a, &id);

    if (rc == 0 && k->has_pk)
        rc = value_clone(&k->pk, a, &pk);
    if (rc == 0) {
        k->id = id;
        k->pk = pk;
    }
    return rc;
}

static int prepare(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                   struct cr_arena *sc, struct cr_arena *a, struct doc_write *w,
                   struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    bool writes = m->type != MUT_DOC_DELETE, collision = false;
    char tag[CR_ETAG_LEN + 1];
    struct value body;
    int rc = catalog_coll_get(t, m->coll.db, m->coll.name, sc, &w->c);

    if (rc == 0)
        rc = pk_path(&w->c, sc, &w->pkp);
    if (rc == 0)
        rc = rules_load(&w->c.policy, sc, &w->rules);
    if (rc == CR_EINVAL)
        return CR_CORRUPT(); /* patterns are checked when the collection is created */
    if (rc)
        return rc;
    if (m->type == MUT_DOC_DELETE || m->type == MUT_DOC_PATCH) {
        w->key = m->doc_key;
        rc = check_key(&w->pkp, &w->key);
    } else {
        rc = body_key(&w->pkp, &m->item, &w->key);
    }
    if (rc == 0)
        rc = row_find(t, &w->c, &w->pkp, &w->key, &w->rowkey, sc, &w->old_row, &w->cur, &w->exists,
                      &collision);
    if (rc == 0 && w->exists)
        rc = stable_key(&w->cur.key, sc);
    if (rc)
        return rc;
    if (m->type == MUT_DOC_CREATE && w->exists)
        return CR_EEXISTS;
    if ((m->type == MUT_DOC_REPLACE || m->type == MUT_DOC_PATCH) && !w->exists)
        return CR_ENOTFOUND;
    rc = check_pre(&m->pre, w->exists, &w->cur);
    if (rc)
        return rc;
    if (collision && writes)
        return CR_EKEYTOOBIG;
    if (w->exists && m->return_old) {
        rc = value_clone(&w->cur.body, a, &res->old);
        if (rc)
            return rc;
        res->has_old = true;
    }
    if (!writes)
        return entries_of(&w->c, &w->rules, w->exists ? &w->cur.body : NULL, &w->cur.key, sc,
                          &w->plan.old);
    if (m->type == MUT_DOC_PATCH)
        rc = patch(m, &w->cur, &w->pkp, b->time_ms, sc, &body);
    else
        body = m->item;
    etag(b->index, ordinal, tag);
    if (rc == 0)
        rc = stamp(&body, tag, b->time_ms, sc, &w->next);
    if (rc == 0)
        rc = cr_buf_putc(&w->row, ROW_VERSION);
    if (rc == 0)
        rc = cr_buf_put_varint(&w->row, zigzag(w->exists ? w->cur.create_ms : b->time_ms));
    if (rc == 0)
        rc = cr_buf_put_varint(&w->row, zigzag(b->time_ms));
    w->body_off = w->row.len;
    if (rc == 0)
        rc = value_encode(&w->next, &w->row);
    if (rc == 0 && w->row.len - w->body_off > CR_MAX_DOC_SIZE)
        rc = CR_EITEMTOOBIG;
    if (rc == 0 && m->return_new) {
        rc = value_clone(&w->next, a, &res->new_item);
        res->has_new = rc == 0;
    }
    if (rc == 0)
        rc = entries_of(&w->c, &w->rules, w->exists ? &w->cur.body : NULL, &w->cur.key, sc,
                        &w->plan.old);
    if (rc == 0)
        rc = entries_of(&w->c, &w->rules, &w->next,
                        m->type == MUT_DOC_PATCH ? &w->cur.key : &w->key, sc, &w->plan.new);
    if (rc == 0) {
        memcpy(res->etag, tag, sizeof tag);
        res->update_ms = b->time_ms;
    }
    return rc;
}

static int commit(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                  struct doc_write *w)
{
    bool writes = b->muts[ordinal].type != MUT_DOC_DELETE;
    int64_t before = w->exists ? (int64_t)w->old_row.n : 0, after = (int64_t)w->row.len;
    struct value_field f[2];
    struct value vals[2], key;
    struct cr_buf body;
    int rc = 0;

    if (writes)
        rc = env_put(t, ENV_DATA, w->rowkey.data, w->rowkey.len, w->row.data, w->row.len);
    else if (w->exists)
        rc = env_del(t, ENV_DATA, w->rowkey.data, w->rowkey.len);
    if (rc == 0 && (writes || w->exists))
        rc = catalog_stats_add(t, w->c.id, writes ? (w->exists ? 0 : 1) : -1,
                               writes ? after - before : -before);
    if (rc == 0)
        rc = plan_write(t, &w->plan);
    if (rc == 0)
        rc = change_key(w->exists ? &w->cur.key : &w->key, f, vals, &key);
    if (writes)
        body = (struct cr_buf){w->row.data + w->body_off, w->row.len - w->body_off, 0};
    if (rc == 0)
        rc = changes_write(t, b->index, ordinal, writes ? MUT_PUT : MUT_DELETE, w->c.id, &key,
                           writes ? &body : NULL);
    return after_write(rc);
}

int doc_apply(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
              struct cr_arena *scratch, struct cr_arena *a, struct mutation_result *res)
{
    struct doc_write w;
    int rc;

    memset(&w, 0, sizeof w);
    cr_buf_init(&w.rowkey);
    cr_buf_init(&w.row);
    entries_init(&w.plan.old);
    entries_init(&w.plan.new);
    rc = prepare(t, b, ordinal, scratch, a, &w, res);
    if (rc == 0)
        rc = plan_diff(t, &w.plan, scratch);
    if (rc == 0)
        rc = commit(t, b, ordinal, &w);
    if (rc) {
        res->etag[0] = 0;
        res->update_ms = 0;
    }
    cr_buf_free(&w.rowkey);
    cr_buf_free(&w.row);
    cr_buf_free(&w.plan.old.bytes);
    cr_buf_free(&w.plan.new.bytes);
    return rc;
}

int doc_drop_data(struct storage_txn *t, const struct coll_def *c)
{
    uint8_t prefix[4];
    int rc;

    cr_put_u32be(prefix, c->id);
    rc = env_del_prefix(t, ENV_DATA, prefix, sizeof prefix, NULL);
    cr_put_u32be(prefix, c->id + 1);
    if (rc == 0)
        rc = env_del_prefix(t, ENV_INDEX, prefix, sizeof prefix, NULL);
    for (size_t i = 0; rc == 0 && i < c->policy.n_composite; i++) {
        cr_put_u32be(prefix, c->policy.composite[i].id);
        rc = env_del_prefix(t, ENV_INDEX, prefix, sizeof prefix, NULL);
    }
    return rc;
}

/* ---- reads ---------------------------------------------------------------------------------- */

struct scan_ctx {
    const struct doc_path *pkp;
    const struct doc_key *partition;
    struct doc_page *out;
    size_t cap;
};

static int scan_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a, bool *kept)
{
    struct scan_ctx *s = ctx;
    struct doc d, *slot;
    int rc = row_decode(v, a, &d, NULL);

    (void)k;
    if (rc == 0)
        rc = body_key(s->pkp, &d.body, &d.key);
    if (rc)
        return rc == CR_ENOMEM || rc == CR_ECORRUPT ? rc : CR_CORRUPT();
    if (s->partition && (s->partition->has_pk != d.key.has_pk ||
                         (d.key.has_pk && !value_equal(&s->partition->pk, &d.key.pk))))
        return 0; /* a long partition key sharing the stored prefix and hash */
    slot = cr_arena_push(a, (void **)&s->out->docs, &s->out->n, &s->cap, sizeof *slot);
    if (!slot)
        return CR_ENOMEM;
    *slot = d;
    *kept = true;
    return 0;
}

int doc_scan(struct storage_txn *t, const struct coll_def *c, const struct doc_scan_query *q,
             struct cr_arena *a, struct doc_page *out)
{
    struct doc_path pkp;
    struct scan_ctx s = {&pkp, q->partition, out, 0};
    struct kv_range r;
    bool truncated;
    int rc = pk_path(c, a, &pkp);

    memset(out, 0, sizeof *out);
    if (rc == 0 && q->partition && q->partition->has_pk)
        rc = pkp.n ? check_pk(&q->partition->pk) : CR_EINVAL;
    if (rc)
        return rc;
    kv_range_init(&r);
    rc = cr_buf_put_u32be(&r.base, c->id);
    if (rc == 0 && q->partition)
        rc = pk_slot(q->partition, CR_KEY_PREFIX, &r.base, &truncated);
    if (rc == 0)
        rc = cr_buf_append(&r.w.lo, r.base.data, r.base.len);
    if (rc == 0)
        rc = cr_buf_append(&r.w.hi, r.base.data, r.base.len);
    if (rc == 0) {
        r.w.has_hi = kv_prefix_successor(&r.w.hi);
        r.w.db = ENV_DATA;
        r.w.reverse = q->reverse;
        r.w.limit = q->limit;
        r.w.visit = scan_visit;
        r.w.ctx = &s;
        rc = kv_range_cursor(&r, q->cursor, q->cursor_len);
    }
    if (rc == 0)
        rc = kv_walk_run(t, &r.w, a, &out->scanned, &out->next, &out->next_len);
    kv_range_free(&r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* Decodes an entry's value into its document key and indexed value. */
static int entry_decode(struct env_val v, struct cr_arena *a, struct doc_entry *out)
{
    struct value m;
    const struct value *id, *pk, *val;
    int rc = value_decode(v.p, v.n, a, &m);

    if (rc)
        return rc == CR_ENOMEM ? rc : CR_CORRUPT();
    id = value_map_get(&m, "id", 2);
    pk = value_map_get(&m, "pk", 2);
    val = value_map_get(&m, "v", 1);
    if (!id || !val)
        return CR_CORRUPT();
    out->key.id = *id;
    out->key.has_pk = pk != NULL;
    out->key.pk = pk ? *pk : value_null();
    out->value = *val;
    return 0;
}

/* A type rank's first type (value_rank), for its tags; -1 when no type has that rank. */
static int rank_type(int rank)
{
    for (int t = VT_NULL; t <= VT_BS; t++)
        if (value_rank((enum value_type)t) == rank)
            return t;
    return -1;
}

static int check_range(const struct doc_range *r)
{
    if (r->has_prefix && r->prefix.type != VT_STRING)
        return CR_EINVAL;
    if (!r->same_type)
        return 0;
    if (rank_type(r->rank) < 0 || (r->lo.set && value_rank(r->lo.v.type) != r->rank) ||
        (r->hi.set && value_rank(r->hi.v.type) != r->rank) ||
        (r->has_prefix && value_rank(VT_STRING) != r->rank))
        return CR_EINVAL;
    return 0;
}

static bool range_keeps(const struct doc_range *r, const struct value *v)
{
    int c;

    if (r->same_type && value_rank(v->type) != r->rank)
        return false;
    if (r->has_prefix && (v->type != VT_STRING || v->u.s.len < r->prefix.u.s.len ||
                          memcmp(v->u.s.ptr, r->prefix.u.s.ptr, r->prefix.u.s.len) != 0))
        return false;
    if (r->lo.set && ((c = value_compare(v, &r->lo.v)) < 0 || (c == 0 && !r->lo.inclusive)))
        return false;
    if (r->hi.set && ((c = value_compare(v, &r->hi.v)) > 0 || (c == 0 && !r->hi.inclusive)))
        return false;
    return true;
}

struct entry_ctx {
    const struct doc_range *range;
    const struct value *eq; /* composite reads: the first n_eq values, then the range's */
    size_t n_eq;
    bool composite;
    struct doc_entry_page *out;
    size_t cap;
};

static bool entry_keeps(const struct entry_ctx *x, const struct value *v)
{
    if (!x->composite)
        return range_keeps(x->range, v);
    if (v->type != VT_ARRAY || v->u.arr.n < x->n_eq)
        return false;
    for (size_t i = 0; i < x->n_eq; i++)
        if (!value_equal(&v->u.arr.items[i], &x->eq[i]))
            return false;
    return x->n_eq == v->u.arr.n || range_keeps(x->range, &v->u.arr.items[x->n_eq]);
}

static int entry_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a,
                       bool *kept)
{
    struct entry_ctx *x = ctx;
    struct doc_entry e, *slot;
    int rc = entry_decode(v, a, &e);

    (void)k;
    if (rc)
        return rc;
    if (!entry_keeps(x, &e.value))
        return 0;
    slot = cr_arena_push(a, (void **)&x->out->entries, &x->out->n, &x->cap, sizeof *slot);
    if (!slot)
        return CR_ENOMEM;
    *slot = e;
    *kept = true;
    return 0;
}

/* Appends base | the first `cut` bytes of v's encoding (its prefix encoding for STARTSWITH),
 * complemented for a DESC component. */
static int bound_key(const struct cr_buf *base, const struct value *v, bool prefix, bool desc,
                     size_t cut, struct cr_buf *out)
{
    size_t start;
    int rc = cr_buf_append(out, base->data, base->len);

    start = out->len;
    if (rc == 0)
        rc = prefix ? keycodec_encode_prefix(v, out) : keycodec_encode(v, out);
    if (rc == 0 && out->len - start > cut)
        out->len = start + cut;
    for (size_t i = start; rc == 0 && desc && i < out->len; i++)
        out->data[i] = (uint8_t)~out->data[i];
    return rc;
}

/* Raises r->lo to key, or (hi) lowers r->hi to the successor of key. */
static int narrow(struct kv_range *r, struct cr_buf *key, bool hi)
{
    if (!hi) {
        if (kv_key_cmp(key->data, key->len, r->w.lo.data, r->w.lo.len) <= 0)
            return 0;
        cr_buf_reset(&r->w.lo);
        return cr_buf_append(&r->w.lo, key->data, key->len);
    }
    if (!kv_prefix_successor(key) ||
        (r->w.has_hi && kv_key_cmp(key->data, key->len, r->w.hi.data, r->w.hi.len) >= 0))
        return 0;
    cr_buf_reset(&r->w.hi);
    r->w.has_hi = true;
    return cr_buf_append(&r->w.hi, key->data, key->len);
}

/*
 * Sets r's [lo, hi) to the keys after r->base whose next component can hold a value rg keeps: a
 * superset, since components are cut at `cut` bytes (entry_visit decides each entry on its full
 * value). For a DESC component (complemented bytes) the upper bound gives the lower key and the
 * rank's last tag the first one.
 */
static int component_range(const struct doc_range *rg, bool desc, size_t cut, struct kv_range *r)
{
    const struct doc_bound *low = desc ? &rg->hi : &rg->lo, *high = desc ? &rg->lo : &rg->hi;
    struct cr_buf key;
    int rc = cr_buf_append(&r->w.lo, r->base.data, r->base.len);

    cr_buf_init(&key);
    if (rc == 0)
        rc = cr_buf_append(&r->w.hi, r->base.data, r->base.len);
    r->w.has_hi = rc == 0 && kv_prefix_successor(&r->w.hi);
    if (rc == 0 && rg->same_type) {
        uint8_t first, last;

        keycodec_rank_tags((enum value_type)rank_type(rg->rank), &first, &last);
        rc = cr_buf_append(&key, r->base.data, r->base.len);
        if (rc == 0)
            rc = cr_buf_putc(&key, desc ? (uint8_t)~last : first);
        if (rc == 0)
            rc = narrow(r, &key, false);
        key.len = r->base.len;
        if (rc == 0)
            rc = cr_buf_putc(&key, desc ? (uint8_t)~first : last);
        if (rc == 0)
            rc = narrow(r, &key, true);
    }
    for (int side = 0; rc == 0 && side < 3; side++) {
        const struct doc_bound *b = side == 0 ? low : high;

        if (side < 2 && !b->set)
            continue;
        if (side == 2 && !rg->has_prefix)
            continue;
        cr_buf_reset(&key);
        rc = bound_key(&r->base, side == 2 ? &rg->prefix : &b->v, side == 2, desc, cut, &key);
        if (rc == 0 && side != 1)
            rc = narrow(r, &key, false);
        if (rc == 0 && side != 0)
            rc = narrow(r, &key, true); /* last: it turns key into its successor */
    }
    cr_buf_free(&key);
    return rc;
}

/* Runs r over the `index` database into out, with the cursor. */
static int entries_run(struct storage_txn *t, struct kv_range *r, struct entry_ctx *x, bool reverse,
                       uint32_t limit, const uint8_t *cursor, size_t cursor_len, struct cr_arena *a,
                       struct doc_entry_page *out)
{
    int rc;

    r->w.db = ENV_INDEX;
    r->w.reverse = reverse;
    r->w.limit = limit;
    r->w.visit = entry_visit;
    r->w.ctx = x;
    rc = kv_range_cursor(r, cursor, cursor_len);
    if (rc == 0)
        rc = kv_walk_run(t, &r->w, a, &out->scanned, &out->next, &out->next_len);
    return rc;
}

int doc_index_scan(struct storage_txn *t, const struct coll_def *c, const struct doc_index_query *q,
                   struct cr_arena *a, struct doc_entry_page *out)
{
    struct entry_ctx x = {&q->range, NULL, 0, false, out, 0};
    struct kv_range r;
    int rc;

    memset(out, 0, sizeof *out);
    if (!doc_path_indexed(c, &q->path))
        return CR_EINVAL;
    rc = check_range(&q->range);
    if (rc)
        return rc;
    kv_range_init(&r);
    rc = cr_buf_put_u32be(&r.base, c->id + 1);
    if (rc == 0)
        rc = path_key(q->path.segs, q->path.n, &r.base);
    if (rc == 0)
        rc = component_range(&q->range, false, CR_INDEX_KEY_PREFIX, &r);
    if (rc == 0)
        rc = entries_run(t, &r, &x, q->reverse, q->limit, q->cursor, q->cursor_len, a, out);
    kv_range_free(&r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

static bool range_open(const struct doc_range *r)
{
    return !r->same_type && !r->lo.set && !r->hi.set && !r->has_prefix;
}

int doc_composite_scan(struct storage_txn *t, const struct coll_def *c,
                       const struct doc_composite_query *q, struct cr_arena *a,
                       struct doc_entry_page *out)
{
    struct entry_ctx x = {&q->range, q->eq, q->n_eq, true, out, 0};
    const struct composite_def *ix;
    struct kv_range r;
    size_t cut;
    int rc;

    memset(out, 0, sizeof *out);
    if (q->index >= c->policy.n_composite || q->n_eq > c->policy.composite[q->index].n)
        return CR_EINVAL;
    ix = &c->policy.composite[q->index];
    cut = composite_prefix(ix->n);
    if ((q->n_eq == ix->n && !range_open(&q->range)) || check_range(&q->range))
        return CR_EINVAL;
    for (size_t i = 0; i < q->n_eq; i++)
        if (!is_scalar(q->eq[i].type))
            return CR_EINVAL;
    kv_range_init(&r);
    rc = cr_buf_put_u32be(&r.base, ix->id);
    for (size_t i = 0; rc == 0 && i < q->n_eq; i++) {
        bool truncated;

        rc = composite_component(&q->eq[i], cut, ix->paths[i].desc, &r.base, &truncated);
    }
    if (rc == 0)
        rc = component_range(&q->range, q->n_eq < ix->n && ix->paths[q->n_eq].desc, cut, &r);
    if (rc == 0)
        rc = entries_run(t, &r, &x, q->reverse, q->limit, q->cursor, q->cursor_len, a, out);
    kv_range_free(&r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
