/*
 * Graphs: vertices, edges, their adjacency entries and indexes, written for apply.c and read by
 * the Gremlin glue and the front ends. This file never writes the catalog (catalog.c) and writes
 * data only when apply.c calls graph_apply or graph_drop_data, inside apply's nested transaction.
 *
 * Ids, labels and property keys are STRINGs whose keycodec encoding is at most CR_GRAPH_KEY_MAX
 * (== CR_INDEX_KEY_PREFIX) bytes, so they are never cut and every key below decodes back into
 * them. Property values may be long: their components are cut at CR_INDEX_KEY_PREFIX with a hash
 * tail, and reads check the full value kept in the entry.
 *
 * Element record (the `data` database):
 *   key    u32be graph id | KIND_VERTEX (0x01) | component(vertex id)
 *          u32be graph id | KIND_EDGE (0x02)   | component(edge id)
 *   value  value_encode of a MAP:
 *          vertex {label, p}; edge {label, out, in, outl, inl, p}
 *          label: STRING; out, in: the vertex ids; outl, inl: their labels;
 *          p: ARRAY of [key, property id (NULL for edges), value], keys in first-set order, the
 *          values of one key in the order they were added.
 *
 * Adjacency entry (the `adj` database), two per edge:
 *   key    u32be graph id | component(vertex) | dir | component(label) | component(neighbour)
 *          | component(edge id)
 *   value  value_encode of ARRAY [vertex label, neighbour label]
 *   dir is DIR_OUT (0x00) under the edge's out-vertex and DIR_IN (0x01) under its in-vertex, so
 *   one vertex's edges of one direction and label are one key range; a self-loop has both.
 *
 * Index entries (the `index` database):
 *   property   u32be (graph id + 1) | component(key) | component(value) cut | component(vertex)
 *              -> value_encode of ARRAY [vertex label, value]
 *   label      u32be (graph id + 2) | component(label) | component(vertex) -> empty
 *   One property entry per distinct (key, value) of a vertex (values equal under the keycodec,
 *   1 and 1.0, share it); edges are not indexed.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"
#include "storage/keycodec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND_VERTEX 0x01
#define KIND_EDGE 0x02
#define DIR_OUT 0x00
#define DIR_IN 0x01
#define MAX_KEY 511
#define ID_TEXT_MAX 48
#define LABEL_PAGE_MAX 1000 /* vertices on one page of a label scan */

_Static_assert(CR_GRAPH_KEY_MAX == CR_INDEX_KEY_PREFIX, "names are never cut in index keys");
_Static_assert(4 + 1 + 4 * CR_GRAPH_KEY_MAX <= MAX_KEY, "an adjacency key fits LMDB's");

/* ---- names, keys, records ------------------------------------------------------------------- */

/* Appends the component of an id, label or property key (the rule in storage.h). */
static int name_comp(const struct value *v, struct cr_buf *out)
{
    size_t start = out->len;
    int rc;

    if (v->type != VT_STRING)
        return CR_ETYPE;
    if (v->u.s.len == 0)
        return CR_EINVAL;
    if (v->u.s.len > CR_GRAPH_KEY_MAX)
        return CR_EKEYTOOBIG;
    rc = keycodec_encode(v, out);
    if (rc == 0 && out->len - start > CR_GRAPH_KEY_MAX) {
        out->len = start;
        return CR_EKEYTOOBIG;
    }
    return rc;
}

static int check_name(const struct value *v)
{
    struct cr_buf b;
    int rc;

    cr_buf_init(&b);
    rc = name_comp(v, &b);
    cr_buf_free(&b);
    return rc;
}

static int row_key(const struct graph_def *g, uint8_t kind, const struct value *id,
                   struct cr_buf *out)
{
    int rc;

    cr_buf_reset(out);
    rc = cr_buf_put_u32be(out, g->id);
    if (rc == 0)
        rc = cr_buf_putc(out, kind);
    return rc ? rc : name_comp(id, out);
}

static int adj_key(const struct graph_def *g, const struct value *self, uint8_t dir,
                   const struct value *label, const struct value *nbr, const struct value *eid,
                   struct cr_buf *out)
{
    int rc;

    cr_buf_reset(out);
    rc = cr_buf_put_u32be(out, g->id);
    if (rc == 0)
        rc = name_comp(self, out);
    if (rc == 0)
        rc = cr_buf_putc(out, dir);
    if (rc == 0)
        rc = name_comp(label, out);
    if (rc == 0)
        rc = name_comp(nbr, out);
    return rc ? rc : name_comp(eid, out);
}

static int label_key(const struct graph_def *g, const struct value *label, const struct value *vid,
                     struct cr_buf *out)
{
    int rc;

    cr_buf_reset(out);
    rc = cr_buf_put_u32be(out, g->id + 2);
    if (rc == 0)
        rc = name_comp(label, out);
    return rc ? rc : name_comp(vid, out);
}

static struct value pair(struct value items[2], struct value a, struct value b)
{
    struct value v = {.type = VT_ARRAY};

    items[0] = a;
    items[1] = b;
    v.u.arr.items = items;
    v.u.arr.n = 2;
    return v;
}

/* A vertex or an edge while a mutation works on it; props arena-allocated. */
struct elem {
    bool edge;
    struct value id, label, out_v, in_v, out_label, in_label;
    struct graph_prop *props;
    size_t n, cap;
};

static int elem_push(struct elem *e, struct cr_arena *a, const struct graph_prop *p)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        struct graph_prop *props = cr_arena_alloc(a, cap * sizeof *props);

        if (!props)
            return CR_ENOMEM;
        if (e->n)
            memcpy(props, e->props, e->n * sizeof *props);
        e->props = props;
        e->cap = cap;
    }
    e->props[e->n++] = *p;
    return 0;
}

static int encode_elem(const struct elem *e, struct cr_arena *a, struct cr_buf *out)
{
    struct value *triples = cr_arena_alloc(a, (3 * e->n + 1) * sizeof *triples);
    struct value *arrs = cr_arena_alloc(a, (e->n + 1) * sizeof *arrs);
    struct value vals[6], rec = {.type = VT_MAP};
    struct value_field f[6];
    size_t n = 0;
    int rc;

    if (!triples || !arrs)
        return CR_ENOMEM;
    for (size_t i = 0; i < e->n; i++) {
        triples[3 * i] = e->props[i].key;
        triples[3 * i + 1] = e->props[i].id;
        triples[3 * i + 2] = e->props[i].value;
        arrs[i].type = VT_ARRAY;
        arrs[i].u.arr.items = &triples[3 * i];
        arrs[i].u.arr.n = 3;
    }
    vals[0] = e->label;
    f[n++] = (struct value_field){"label", 5, &vals[0]};
    if (e->edge) {
        vals[1] = e->out_v;
        vals[2] = e->in_v;
        vals[3] = e->out_label;
        vals[4] = e->in_label;
        f[n++] = (struct value_field){"out", 3, &vals[1]};
        f[n++] = (struct value_field){"in", 2, &vals[2]};
        f[n++] = (struct value_field){"outl", 4, &vals[3]};
        f[n++] = (struct value_field){"inl", 3, &vals[4]};
    }
    vals[5].type = VT_ARRAY;
    vals[5].u.arr.items = arrs;
    vals[5].u.arr.n = e->n;
    f[n++] = (struct value_field){"p", 1, &vals[5]};
    rec.u.map.fields = f;
    rec.u.map.n = n;
    rc = value_encode(&rec, out);
    if (rc == 0 && out->len > CR_MAX_GRAPH_ELEM)
        rc = CR_EITEMTOOBIG;
    return rc;
}

static const struct value *string_field(const struct value *m, const char *name)
{
    const struct value *v = value_map_get(m, name, strlen(name));

    return v && v->type == VT_STRING ? v : NULL;
}

/* Decodes a record of element id into *out (arena; strings borrow the txn's bytes or not, as
 * value_decode decides). */
static int decode_elem(struct env_val row, bool edge, const struct value *id, struct cr_arena *a,
                       struct elem *out)
{
    const struct value *label, *p;
    struct value m;
    int rc = value_decode(row.p, row.n, a, &m);

    memset(out, 0, sizeof *out);
    if (rc)
        return rc == CR_ENOMEM ? rc : CR_CORRUPT();
    label = string_field(&m, "label");
    p = value_map_get(&m, "p", 1);
    if (m.type != VT_MAP || !label || !p || p->type != VT_ARRAY)
        return CR_CORRUPT();
    out->edge = edge;
    out->id = *id;
    out->label = *label;
    if (edge) {
        const struct value *o = string_field(&m, "out"), *i = string_field(&m, "in");
        const struct value *ol = string_field(&m, "outl"), *il = string_field(&m, "inl");

        if (!o || !i || !ol || !il)
            return CR_CORRUPT();
        out->out_v = *o;
        out->in_v = *i;
        out->out_label = *ol;
        out->in_label = *il;
    }
    for (size_t i = 0; i < p->u.arr.n; i++) {
        const struct value *t = &p->u.arr.items[i];
        struct graph_prop prop;

        if (t->type != VT_ARRAY || t->u.arr.n != 3 || t->u.arr.items[0].type != VT_STRING)
            return CR_CORRUPT();
        prop = (struct graph_prop){t->u.arr.items[0], t->u.arr.items[1], t->u.arr.items[2]};
        rc = elem_push(out, a, &prop);
        if (rc)
            return rc;
    }
    return 0;
}

/* The element of kind and id: CR_ENOTFOUND when absent. key gets its row key. Writers ask for a
 * copy of the row: the decoded strings would otherwise borrow bytes their writes may move. */
static int load(struct storage_txn *t, const struct graph_def *g, bool edge, const struct value *id,
                bool copy, struct cr_buf *key, struct cr_arena *a, struct elem *out)
{
    struct env_val row;
    int rc = row_key(g, edge ? KIND_EDGE : KIND_VERTEX, id, key);

    if (rc == 0)
        rc = env_get(t, ENV_DATA, key->data, key->len, &row);
    if (rc == 0 && copy) {
        uint8_t *p = cr_arena_alloc(a, row.n + 1);

        if (!p)
            return CR_ENOMEM;
        memcpy(p, row.p, row.n);
        row.p = p;
    }
    return rc ? rc : decode_elem(row, edge, id, a, out);
}

int graph_id_make(uint64_t index, uint16_t ordinal, uint32_t seq, struct cr_arena *a,
                  struct value *out)
{
    char buf[ID_TEXT_MAX];
    int n =
        snprintf(buf, sizeof buf, "%016" PRIx64 "-%04x-%04" PRIx32, index, (unsigned)ordinal, seq);
    char *p = cr_arena_strndup(a, buf, (size_t)n);

    if (!p)
        return CR_ENOMEM;
    *out = value_string(p, (size_t)n);
    return 0;
}

/* ---- property index entries ----------------------------------------------------------------- */

/* A vertex's property entries, sorted by key and without duplicates. */
struct entries {
    struct cr_buf b;
    struct ent {
        const uint8_t *k; /* set by entries_sort */
        size_t koff, klen, voff, vlen;
    } * e;
    size_t n, cap;
};

static int ent_cmp(const void *x, const void *y)
{
    const struct ent *a = x, *b = y;
    int c = kv_key_cmp(a->k, a->klen, b->k, b->klen);

    return c ? c : (a->koff > b->koff) - (a->koff < b->koff); /* the first one stays */
}

static int entries_of(const struct graph_def *g, const struct elem *v, struct cr_arena *a,
                      struct entries *out)
{
    size_t kept = 0;

    for (size_t i = 0; i < v->n; i++) {
        struct value items[2], val = pair(items, v->label, v->props[i].value);
        struct ent x;
        int rc;

        if (out->n == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 8;
            struct ent *e = cr_arena_alloc(a, cap * sizeof *e);

            if (!e)
                return CR_ENOMEM;
            if (out->n)
                memcpy(e, out->e, out->n * sizeof *e);
            out->e = e;
            out->cap = cap;
        }
        x.koff = out->b.len;
        rc = cr_buf_put_u32be(&out->b, g->id + 1);
        if (rc == 0)
            rc = name_comp(&v->props[i].key, &out->b);
        if (rc == 0)
            rc = keycodec_encode_cut(&v->props[i].value, CR_INDEX_KEY_PREFIX, &out->b, NULL);
        if (rc == 0)
            rc = name_comp(&v->id, &out->b);
        x.klen = out->b.len - x.koff;
        x.voff = out->b.len;
        if (rc == 0)
            rc = value_encode(&val, &out->b);
        if (rc)
            return rc;
        x.vlen = out->b.len - x.voff;
        out->e[out->n++] = x;
    }
    for (size_t i = 0; i < out->n; i++)
        out->e[i].k = out->b.data + out->e[i].koff;
    if (out->n > 1)
        qsort(out->e, out->n, sizeof *out->e, ent_cmp);
    for (size_t i = 0; i < out->n; i++)
        if (kept == 0 ||
            kv_key_cmp(out->e[kept - 1].k, out->e[kept - 1].klen, out->e[i].k, out->e[i].klen))
            out->e[kept++] = out->e[i];
    out->n = kept;
    return 0;
}

/* Deletes the entries of old that new has not, puts those of new that old has not. */
static int entries_write(struct storage_txn *t, const struct entries *old,
                         const struct entries *new)
{
    size_t i = 0, j = 0;
    int rc = 0;

    while (rc == 0 && (i < old->n || j < new->n)) {
        const struct ent *o = i < old->n ? &old->e[i] : NULL, *n = j < new->n ? &new->e[j] : NULL;
        int c = !o ? 1 : !n ? -1 : kv_key_cmp(o->k, o->klen, n->k, n->klen);

        if (c < 0) {
            rc = env_del(t, ENV_INDEX, o->k, o->klen);
            if (rc == CR_ENOTFOUND)
                rc = CR_CORRUPT();
            i++;
        } else if (c > 0) {
            rc = env_put(t, ENV_INDEX, n->k, n->klen, new->b.data + n->voff, n->vlen);
            j++;
        } else {
            i++;
            j++;
        }
    }
    return rc;
}

/* ---- mutations ------------------------------------------------------------------------------ */

/* Buffers of one mutation. */
struct work {
    struct cr_buf key, rec, adj;
    struct entries old, new;
    struct cr_arena *sc;
};

/* The change record: MAP {vertex|edge: id}, with the new record when rec is set. */
static int change(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                  const struct graph_def *g, const struct elem *e, const struct cr_buf *rec)
{
    struct value id = e->id, key = {.type = VT_MAP};
    struct value_field f = {e->edge ? "edge" : "vertex", e->edge ? 4 : 6, &id};

    key.u.map.fields = &f;
    key.u.map.n = 1;
    return changes_write(t, b->index, ordinal, rec ? MUT_PUT : MUT_DELETE, g->id, &key, rec);
}

static int check_value(const struct value *v)
{
    return v->type == VT_NULL ? CR_ETYPE : 0;
}

/* The id of an added element: the mutation's, or generated. */
static int new_id(const struct log_batch *b, uint16_t ordinal, struct work *w, struct value *out)
{
    const struct value *id = &b->muts[ordinal].graph.id;

    if (id->type != VT_NULL) {
        *out = *id;
        return check_name(id);
    }
    return graph_id_make(b->index, ordinal, 0, w->sc, out);
}

static int write_vertex(struct storage_txn *t, const struct graph_def *g, struct work *w,
                        const struct elem *v)
{
    int rc = row_key(g, KIND_VERTEX, &v->id, &w->key);

    if (rc == 0)
        rc = env_put(t, ENV_DATA, w->key.data, w->key.len, w->rec.data, w->rec.len);
    if (rc == 0)
        rc = entries_of(g, v, w->sc, &w->new);
    return rc ? rc : entries_write(t, &w->old, &w->new);
}

static int add_vertex(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                      const struct graph_def *g, struct work *w, struct elem *v)
{
    const struct graph_mut *gm = &b->muts[ordinal].graph;
    struct env_val row;
    int rc = new_id(b, ordinal, w, &v->id);

    v->label = gm->label;
    if (rc == 0)
        rc = check_name(&v->label);
    if (rc == 0 && gm->n_props > CR_MAX_GRAPH_PROPS)
        rc = CR_ETOOMANY;
    for (size_t i = 0; rc == 0 && i < gm->n_props; i++) {
        struct graph_prop p = {gm->props[i].key, value_null(), gm->props[i].value};

        rc = check_name(&p.key);
        if (rc == 0)
            rc = check_value(&p.value);
        if (rc == 0)
            rc = graph_id_make(b->index, ordinal, 1 + (uint32_t)i, w->sc, &p.id);
        if (rc == 0)
            rc = elem_push(v, w->sc, &p);
    }
    if (rc == 0)
        rc = row_key(g, KIND_VERTEX, &v->id, &w->key);
    if (rc == 0) {
        rc = env_get(t, ENV_DATA, w->key.data, w->key.len, &row);
        rc = rc == 0 ? CR_EEXISTS : rc == CR_ENOTFOUND ? 0 : rc;
    }
    if (rc == 0)
        rc = encode_elem(v, w->sc, &w->rec);
    if (rc == 0)
        rc = write_vertex(t, g, w, v);
    if (rc == 0)
        rc = label_key(g, &v->label, &v->id, &w->key);
    if (rc == 0)
        rc = env_put(t, ENV_INDEX, w->key.data, w->key.len, "", 0);
    return rc;
}

/* Puts (del false) or deletes the two adjacency entries of edge e. */
static int edge_adj(struct storage_txn *t, const struct graph_def *g, struct work *w,
                    const struct elem *e, bool del)
{
    int rc = 0;

    for (int side = 0; rc == 0 && side < 2; side++) {
        const struct value *self = side ? &e->in_v : &e->out_v, *nbr = side ? &e->out_v : &e->in_v;
        const struct value *sl = side ? &e->in_label : &e->out_label;
        const struct value *nl = side ? &e->out_label : &e->in_label;
        struct value items[2], val = pair(items, *sl, *nl);

        rc = adj_key(g, self, side ? DIR_IN : DIR_OUT, &e->label, nbr, &e->id, &w->key);
        if (rc == 0 && del) {
            rc = env_del(t, ENV_ADJ, w->key.data, w->key.len);
            if (rc == CR_ENOTFOUND)
                rc = CR_CORRUPT(); /* every edge has both entries */
            continue;
        }
        cr_buf_reset(&w->adj);
        if (rc == 0)
            rc = value_encode(&val, &w->adj);
        if (rc == 0)
            rc = env_put(t, ENV_ADJ, w->key.data, w->key.len, w->adj.data, w->adj.len);
    }
    return rc;
}

static int add_edge(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                    const struct graph_def *g, struct work *w, struct elem *e)
{
    const struct graph_mut *gm = &b->muts[ordinal].graph;
    struct elem ends[2];
    struct env_val row;
    int rc = new_id(b, ordinal, w, &e->id);

    e->edge = true;
    e->label = gm->label;
    e->out_v = gm->out_v;
    e->in_v = gm->in_v;
    if (rc == 0)
        rc = check_name(&e->label);
    if (rc == 0)
        rc = check_name(&e->out_v);
    if (rc == 0)
        rc = check_name(&e->in_v);
    if (rc == 0 && gm->n_props > CR_MAX_GRAPH_PROPS)
        rc = CR_ETOOMANY;
    for (size_t i = 0; rc == 0 && i < gm->n_props; i++) {
        struct graph_prop p = {gm->props[i].key, value_null(), gm->props[i].value};

        rc = check_name(&p.key);
        if (rc == 0)
            rc = check_value(&p.value);
        for (size_t j = 0; rc == 0 && j < e->n; j++)
            if (value_equal(&e->props[j].key, &p.key))
                rc = CR_EINVAL; /* an edge holds one value per key */
        if (rc == 0)
            rc = elem_push(e, w->sc, &p);
    }
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = load(t, g, false, i ? &e->in_v : &e->out_v, true, &w->key, w->sc, &ends[i]);
    if (rc)
        return rc;
    e->out_label = ends[0].label;
    e->in_label = ends[1].label;
    rc = row_key(g, KIND_EDGE, &e->id, &w->key);
    if (rc == 0) {
        rc = env_get(t, ENV_DATA, w->key.data, w->key.len, &row);
        rc = rc == 0 ? CR_EEXISTS : rc == CR_ENOTFOUND ? 0 : rc;
    }
    if (rc == 0)
        rc = encode_elem(e, w->sc, &w->rec);
    if (rc == 0)
        rc = env_put(t, ENV_DATA, w->key.data, w->key.len, w->rec.data, w->rec.len);
    return rc ? rc : edge_adj(t, g, w, e, false);
}

/* SET_PROPERTY and REMOVE_PROPERTY: the element's new property list, then its record. */
static int change_props(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                        const struct graph_def *g, struct work *w, struct elem *e)
{
    const struct mutation *m = &b->muts[ordinal];
    const struct graph_mut *gm = &m->graph;
    bool set = m->type == MUT_GRAPH_SET_PROPERTY;
    struct graph_prop *old;
    size_t n_old, first;
    int rc = load(t, g, gm->edge, &gm->id, true, &w->key, w->sc, e);

    if (rc == 0)
        rc = check_name(&gm->key);
    if (rc == 0 && set)
        rc = check_value(&gm->value);
    if (rc == 0 && set && gm->edge && gm->list)
        rc = CR_EINVAL;
    if (rc == 0 && !gm->edge)
        rc = entries_of(g, e, w->sc, &w->old);
    if (rc)
        return rc;
    old = e->props;
    n_old = first = e->n;
    e->props = NULL;
    e->n = e->cap = 0;
    for (size_t i = 0; rc == 0 && i < n_old; i++) {
        bool match = value_equal(&old[i].key, &gm->key);

        if (match && first == n_old)
            first = i;
        if (match && (set ? !gm->list
                          : gm->prop_id.type == VT_NULL || value_equal(&old[i].id, &gm->prop_id)))
            continue;
        rc = elem_push(e, w->sc, &old[i]);
    }
    if (rc == 0 && set) {
        struct graph_prop p = {gm->key, value_null(), gm->value};
        size_t at = gm->list || first == n_old ? e->n : first;

        /* Values stay grouped by key, keys in first-set order: a replaced key keeps its place
         * (every value before `first` was kept), an appended value follows its key's last. */
        for (size_t i = 0; gm->list && i < e->n; i++)
            if (value_equal(&e->props[i].key, &gm->key))
                at = i + 1;
        if (!gm->edge)
            rc = graph_id_make(b->index, ordinal, 1, w->sc, &p.id);
        if (rc == 0)
            rc = elem_push(e, w->sc, &p);
        if (rc == 0) {
            memmove(&e->props[at + 1], &e->props[at], (e->n - 1 - at) * sizeof *e->props);
            e->props[at] = p;
        }
    }
    if (rc == 0 && e->n > CR_MAX_GRAPH_PROPS)
        rc = CR_ETOOMANY;
    if (rc == 0)
        rc = encode_elem(e, w->sc, &w->rec);
    if (rc == 0 && gm->edge)
        rc = row_key(g, KIND_EDGE, &e->id, &w->key);
    if (rc == 0 && gm->edge)
        rc = env_put(t, ENV_DATA, w->key.data, w->key.len, w->rec.data, w->rec.len);
    else if (rc == 0)
        rc = write_vertex(t, g, w, e);
    return rc;
}

static int drop_edge(struct storage_txn *t, const struct graph_def *g, struct work *w,
                     const struct value *id, struct elem *e)
{
    int rc = load(t, g, true, id, true, &w->key, w->sc, e);

    if (rc == 0)
        rc = env_del(t, ENV_DATA, w->key.data, w->key.len);
    return rc ? rc : edge_adj(t, g, w, e, true);
}

/* One adjacency entry, decoded from its key. */
struct adj_ent {
    uint8_t dir;
    struct value label, nbr, eid;
};

/* Decodes an adjacency key whose vertex component ends at `from`. */
static int adj_decode(struct env_val k, size_t from, struct cr_arena *a, struct adj_ent *out)
{
    const uint8_t *p = k.p + from, *end = k.p + k.n;
    int rc;

    if (p >= end || *p > DIR_IN)
        return CR_CORRUPT();
    out->dir = *p++;
    rc = keycodec_decode(&p, end, a, &out->label);
    if (rc == 0)
        rc = keycodec_decode(&p, end, a, &out->nbr);
    if (rc == 0)
        rc = keycodec_decode(&p, end, a, &out->eid);
    if (rc == CR_ENOMEM)
        return rc;
    if (rc || p != end || out->label.type != VT_STRING || out->nbr.type != VT_STRING ||
        out->eid.type != VT_STRING)
        return CR_CORRUPT();
    return 0;
}

struct collect {
    size_t from; /* where the dir byte is */
    struct adj_ent *e;
    size_t n, cap;
};

static int collect_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a,
                         bool *kept)
{
    struct collect *c = ctx;

    (void)v;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct adj_ent *e = cr_arena_alloc(a, cap * sizeof *e);

        if (!e)
            return CR_ENOMEM;
        if (c->n)
            memcpy(e, c->e, c->n * sizeof *e);
        c->e = e;
        c->cap = cap;
    }
    *kept = true;
    return adj_decode(k, c->from, a, &c->e[c->n++]);
}

static int drop_vertex(struct storage_txn *t, const struct graph_def *g, struct work *w,
                       const struct value *id, struct elem *v)
{
    struct collect c = {0, NULL, 0, 0};
    struct kv_walk walk;
    struct elem none;
    uint64_t scanned = 0;
    uint8_t *next = NULL;
    size_t next_len = 0;
    int rc = load(t, g, false, id, true, &w->key, w->sc, v);

    if (rc)
        return rc;
    rc = env_del(t, ENV_DATA, w->key.data, w->key.len);
    if (rc == 0)
        rc = entries_of(g, v, w->sc, &w->old);
    if (rc == 0)
        rc = entries_write(t, &w->old, &w->new);
    if (rc == 0)
        rc = label_key(g, &v->label, &v->id, &w->key);
    if (rc == 0)
        rc = env_del(t, ENV_INDEX, w->key.data, w->key.len);
    if (rc)
        return rc == CR_ENOTFOUND ? CR_CORRUPT() : rc;
    /* Its edges: every adjacency entry under it, read whole before the first delete. */
    kv_walk_init(&walk);
    walk.db = ENV_ADJ;
    walk.visit = collect_visit;
    walk.ctx = &c;
    rc = cr_buf_put_u32be(&walk.lo, g->id);
    if (rc == 0)
        rc = name_comp(id, &walk.lo);
    c.from = walk.lo.len;
    if (rc == 0)
        rc = cr_buf_append(&walk.hi, walk.lo.data, walk.lo.len);
    walk.has_hi = kv_prefix_successor(&walk.hi);
    do {
        if (next)
            walk.after = (struct env_val){next + 1, next_len - 1};
        if (rc == 0)
            rc = kv_walk_run(t, &walk, w->sc, &scanned, &next, &next_len);
    } while (rc == 0 && next);
    kv_walk_free(&walk);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        const struct adj_ent *x = &c.e[i];

        if (x->dir == DIR_IN && value_equal(&x->nbr, id))
            continue; /* a self-loop: dropped with its out-entry */
        rc = drop_edge(t, g, w, &x->eid, &none);
    }
    return rc;
}

int graph_apply(struct storage_txn *t, const struct log_batch *b, uint16_t ordinal,
                struct cr_arena *scratch, struct cr_arena *a, struct mutation_result *res)
{
    const struct mutation *m = &b->muts[ordinal];
    struct graph_def g;
    struct work w;
    struct elem e;
    bool dropped = m->type == MUT_GRAPH_DROP_VERTEX || m->type == MUT_GRAPH_DROP_EDGE;
    int rc = catalog_graph_get(t, m->graph.name, &g);

    if (rc)
        return rc;
    memset(&w, 0, sizeof w);
    memset(&e, 0, sizeof e);
    cr_buf_init(&w.key);
    cr_buf_init(&w.rec);
    cr_buf_init(&w.adj);
    cr_buf_init(&w.old.b);
    cr_buf_init(&w.new.b);
    w.sc = scratch;
    switch (m->type) {
    case MUT_GRAPH_ADD_VERTEX:
        rc = add_vertex(t, b, ordinal, &g, &w, &e);
        break;
    case MUT_GRAPH_ADD_EDGE:
        rc = add_edge(t, b, ordinal, &g, &w, &e);
        break;
    case MUT_GRAPH_SET_PROPERTY:
    case MUT_GRAPH_REMOVE_PROPERTY:
        rc = change_props(t, b, ordinal, &g, &w, &e);
        break;
    case MUT_GRAPH_DROP_VERTEX:
        rc = drop_vertex(t, &g, &w, &m->graph.id, &e);
        break;
    case MUT_GRAPH_DROP_EDGE:
        rc = drop_edge(t, &g, &w, &m->graph.id, &e);
        break;
    default:
        rc = CR_EINVAL;
    }
    if (rc == 0)
        rc = value_clone(&e.id, a, &res->graph_elem);
    if (rc == 0)
        rc = change(t, b, ordinal, &g, &e, dropped ? NULL : &w.rec);
    cr_buf_free(&w.key);
    cr_buf_free(&w.rec);
    cr_buf_free(&w.adj);
    cr_buf_free(&w.old.b);
    cr_buf_free(&w.new.b);
    return rc;
}

int graph_drop_data(struct storage_txn *t, const struct graph_def *g)
{
    uint8_t prefix[4];
    int rc;

    cr_put_u32be(prefix, g->id);
    rc = env_del_prefix(t, ENV_DATA, prefix, sizeof prefix, NULL);
    if (rc == 0)
        rc = env_del_prefix(t, ENV_ADJ, prefix, sizeof prefix, NULL);
    for (uint32_t i = 1; rc == 0 && i <= 2; i++) {
        cr_put_u32be(prefix, g->id + i);
        rc = env_del_prefix(t, ENV_INDEX, prefix, sizeof prefix, NULL);
    }
    return rc;
}

/* ---- reads ---------------------------------------------------------------------------------- */

static void to_vertex(const struct elem *e, struct graph_vertex *out)
{
    *out = (struct graph_vertex){e->id, e->label, e->props, e->n};
}

static void to_edge(const struct elem *e, struct graph_edge *out)
{
    *out = (struct graph_edge){e->id,        e->label,    e->out_v, e->in_v,
                               e->out_label, e->in_label, e->props, e->n};
}

int graph_get_vertex(struct storage_txn *t, const struct graph_def *g, const struct value *id,
                     struct cr_arena *a, struct graph_vertex *out)
{
    struct cr_buf key;
    struct elem e;
    int rc;

    cr_buf_init(&key);
    rc = load(t, g, false, id, false, &key, a, &e);
    cr_buf_free(&key);
    if (rc == 0)
        to_vertex(&e, out);
    return rc;
}

int graph_get_edge(struct storage_txn *t, const struct graph_def *g, const struct value *id,
                   struct cr_arena *a, struct graph_edge *out)
{
    struct cr_buf key;
    struct elem e;
    int rc;

    cr_buf_init(&key);
    rc = load(t, g, true, id, false, &key, a, &e);
    cr_buf_free(&key);
    if (rc == 0)
        to_edge(&e, out);
    return rc;
}

static int run(struct storage_txn *t, struct kv_range *r, enum env_db db, uint32_t limit,
               const uint8_t *cursor, size_t cursor_len, struct cr_arena *a, uint64_t *scanned,
               uint8_t **next, size_t *next_len)
{
    int rc = kv_range_prefix(r);

    r->w.db = db;
    r->w.limit = limit;
    if (rc == 0)
        rc = kv_range_cursor(r, cursor, cursor_len);
    return rc ? rc : kv_walk_run(t, &r->w, a, scanned, next, next_len);
}

struct scan_ctx {
    struct storage_txn *t;
    const struct graph_def *g;
    const struct value *label;
    size_t id_at; /* where the element id's component starts in a key */
    struct graph_page *out;
    size_t cap;
};

static int decode_id(struct env_val k, size_t at, struct cr_arena *a, struct value *id)
{
    const uint8_t *p = k.p + at;
    int rc = at < k.n ? keycodec_decode(&p, k.p + k.n, a, id) : CR_ECORRUPT;

    if (rc == CR_ENOMEM)
        return rc;
    return rc || p != k.p + k.n || id->type != VT_STRING ? CR_CORRUPT() : 0;
}

static int vertex_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a,
                        bool *kept)
{
    struct scan_ctx *s = ctx;
    struct graph_vertex *slot;
    struct value id;
    struct elem e;
    int rc = decode_id(k, s->id_at, a, &id);

    if (rc == 0 && s->label) {
        struct cr_buf key;

        cr_buf_init(&key);
        rc = load(s->t, s->g, false, &id, false, &key, a, &e);
        cr_buf_free(&key);
        if (rc == CR_ENOTFOUND)
            rc = CR_CORRUPT(); /* a label entry without its vertex */
    } else if (rc == 0) {
        rc = decode_elem(v, false, &id, a, &e);
    }
    if (rc)
        return rc;
    slot = cr_arena_push(a, (void **)&s->out->vertices, &s->out->n, &s->cap, sizeof *slot);
    if (!slot)
        return CR_ENOMEM;
    to_vertex(&e, slot);
    *kept = true;
    return 0;
}

int graph_scan_vertices(struct storage_txn *t, const struct graph_def *g,
                        const struct graph_scan_query *q, struct cr_arena *a,
                        struct graph_page *out)
{
    struct scan_ctx s = {t, g, q->label, 0, out, 0};
    struct kv_range r;
    enum env_db db = q->label ? ENV_INDEX : ENV_DATA;
    uint32_t limit = q->limit;
    int rc;

    memset(out, 0, sizeof *out);
    kv_range_init(&r);
    rc = cr_buf_put_u32be(&r.base, q->label ? g->id + 2 : g->id);
    if (rc == 0 && q->label)
        rc = name_comp(q->label, &r.base);
    else if (rc == 0)
        rc = cr_buf_putc(&r.base, KIND_VERTEX);
    s.id_at = r.base.len;
    r.w.visit = vertex_visit;
    r.w.ctx = &s;
    /* Label entries are empty, so the walk's byte bound never ends a label scan's page: a count
     * does. */
    if (q->label && (q->limit == 0 || q->limit > LABEL_PAGE_MAX))
        limit = LABEL_PAGE_MAX;
    if (rc == 0)
        rc = run(t, &r, db, limit, q->cursor, q->cursor_len, a, &out->scanned, &out->next,
                 &out->next_len);
    kv_range_free(&r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

static int edge_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a, bool *kept)
{
    struct scan_ctx *s = ctx;
    struct graph_edge *slot;
    struct value id;
    struct elem e;
    int rc = decode_id(k, s->id_at, a, &id);

    if (rc == 0)
        rc = decode_elem(v, true, &id, a, &e);
    if (rc || (s->label && !value_equal(s->label, &e.label)))
        return rc;
    slot = cr_arena_push(a, (void **)&s->out->edges, &s->out->n, &s->cap, sizeof *slot);
    if (!slot)
        return CR_ENOMEM;
    to_edge(&e, slot);
    *kept = true;
    return 0;
}

int graph_scan_edges(struct storage_txn *t, const struct graph_def *g,
                     const struct graph_scan_query *q, struct cr_arena *a, struct graph_page *out)
{
    struct scan_ctx s = {t, g, q->label, 0, out, 0};
    struct kv_range r;
    int rc = q->label ? check_name(q->label) : 0;

    memset(out, 0, sizeof *out);
    if (rc)
        return rc;
    kv_range_init(&r);
    rc = cr_buf_put_u32be(&r.base, g->id);
    if (rc == 0)
        rc = cr_buf_putc(&r.base, KIND_EDGE);
    s.id_at = r.base.len;
    r.w.visit = edge_visit;
    r.w.ctx = &s;
    if (rc == 0)
        rc = run(t, &r, ENV_DATA, q->limit, q->cursor, q->cursor_len, a, &out->scanned, &out->next,
                 &out->next_len);
    kv_range_free(&r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

struct expand_ctx {
    size_t from;
    struct graph_adj_page *out;
    size_t cap;
    struct env_val last; /* the last kept key */
};

static int adj_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a, bool *kept)
{
    struct expand_ctx *x = ctx;
    struct graph_adj *slot;
    struct adj_ent e;
    struct value labels;
    int rc = adj_decode(k, x->from, a, &e);

    if (rc == 0) {
        rc = value_decode(v.p, v.n, a, &labels);
        if (rc == 0 && (labels.type != VT_ARRAY || labels.u.arr.n != 2))
            rc = CR_ECORRUPT;
        if (rc && rc != CR_ENOMEM)
            rc = CR_CORRUPT();
    }
    if (rc)
        return rc;
    slot = cr_arena_push(a, (void **)&x->out->adj, &x->out->n, &x->cap, sizeof *slot);
    if (!slot)
        return CR_ENOMEM;
    *slot = (struct graph_adj){e.dir == DIR_OUT ? GRAPH_OUT : GRAPH_IN,
                               e.eid,
                               e.label,
                               labels.u.arr.items[0],
                               e.nbr,
                               labels.u.arr.items[1]};
    x->last = k;
    *kept = true;
    return 0;
}

static int label_cmp(const void *x, const void *y)
{
    const struct cr_buf *a = x, *b = y;

    return kv_key_cmp(a->data, a->len, b->data, b->len);
}

/* Sets page's continuation to resume after the last kept key. */
static int resume_after(struct env_val last, struct cr_arena *a, struct graph_adj_page *out)
{
    out->next = cr_arena_alloc(a, 1 + last.n);
    if (!out->next)
        return CR_ENOMEM;
    out->next[0] = CR_CURSOR_VERSION;
    memcpy(out->next + 1, last.p, last.n);
    out->next_len = 1 + last.n;
    return 0;
}

/* Appends to pre[] the key prefix of each range an expand reads, in key order: for each
 * direction asked (out, then in), the whole direction or one range per label, labels in
 * encoded order, each once. */
static int expand_ranges(const struct graph_expand_query *q, const struct cr_buf *base,
                         struct cr_buf *labels, size_t n_labels, struct cr_buf *pre, size_t *n)
{
    int rc = 0;

    if (n_labels > 1)
        qsort(labels, n_labels, sizeof *labels, label_cmp);
    for (uint8_t dir = DIR_OUT; rc == 0 && dir <= DIR_IN; dir++) {
        if ((dir == DIR_OUT && q->dir == GRAPH_IN) || (dir == DIR_IN && q->dir == GRAPH_OUT))
            continue;
        for (size_t i = 0; rc == 0 && i < (n_labels ? n_labels : 1); i++) {
            struct cr_buf *b = &pre[*n];

            if (i && label_cmp(&labels[i], &labels[i - 1]) == 0)
                continue;
            cr_buf_init(b);
            ++*n;
            rc = cr_buf_append(b, base->data, base->len);
            if (rc == 0)
                rc = cr_buf_putc(b, dir);
            if (rc == 0 && n_labels)
                rc = cr_buf_append(b, labels[i].data, labels[i].len);
        }
    }
    return rc;
}

/* One page walks the ranges in turn; its cursor is the last key returned, which every later
 * range lies after, and must lie in one of the ranges (CR_ECURSOR otherwise). */
int graph_expand(struct storage_txn *t, const struct graph_def *g,
                 const struct graph_expand_query *q, struct cr_arena *a, struct graph_adj_page *out)
{
    struct expand_ctx x = {0, out, 0, {NULL, 0}};
    struct cr_buf *labels = NULL, *pre = NULL;
    struct kv_range r;
    size_t n_labels = 0, n_pre = 0;
    bool cursor_ok = false;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (q->dir > GRAPH_BOTH || q->n_labels > CR_MAX_GRAPH_PROPS)
        return CR_EINVAL;
    labels = cr_arena_alloc(a, (q->n_labels + 1) * sizeof *labels);
    pre = cr_arena_alloc(a, 2 * (q->n_labels + 1) * sizeof *pre);
    if (!labels || !pre)
        return CR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < q->n_labels; i++) {
        cr_buf_init(&labels[i]);
        n_labels++;
        rc = name_comp(&q->labels[i], &labels[i]);
    }
    kv_range_init(&r);
    if (rc == 0)
        rc = cr_buf_put_u32be(&r.base, g->id);
    if (rc == 0)
        rc = name_comp(&q->vertex, &r.base);
    x.from = r.base.len;
    if (rc == 0)
        rc = expand_ranges(q, &r.base, labels, n_labels, pre, &n_pre);
    if (rc == 0)
        rc = kv_range_cursor(&r, q->cursor, q->cursor_len);
    for (size_t i = 0; rc == 0 && r.w.after.p && i < n_pre; i++)
        cursor_ok = cursor_ok ||
                    (r.w.after.n > pre[i].len && memcmp(r.w.after.p, pre[i].data, pre[i].len) == 0);
    if (rc == 0 && r.w.after.p && !cursor_ok)
        rc = CR_ECURSOR;
    r.w.db = ENV_ADJ;
    r.w.visit = adj_visit;
    r.w.ctx = &x;
    for (size_t i = 0; rc == 0 && i < n_pre && !out->next; i++) {
        if (q->limit && out->n == q->limit) {
            /* Full at the end of a range: the next page resumes after its last entry. */
            rc = resume_after(x.last, a, out);
            break;
        }
        cr_buf_reset(&r.w.lo);
        cr_buf_reset(&r.w.hi);
        rc = cr_buf_append(&r.w.lo, pre[i].data, pre[i].len);
        if (rc == 0)
            rc = cr_buf_append(&r.w.hi, pre[i].data, pre[i].len);
        r.w.has_hi = rc == 0 && kv_prefix_successor(&r.w.hi);
        r.w.limit = q->limit ? q->limit - (uint32_t)out->n : 0;
        if (rc == 0)
            rc = kv_walk_run(t, &r.w, a, &out->scanned, &out->next, &out->next_len);
    }
    kv_range_free(&r);
    for (size_t i = 0; i < n_labels; i++)
        cr_buf_free(&labels[i]);
    for (size_t i = 0; i < n_pre; i++)
        cr_buf_free(&pre[i]);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

struct lookup_ctx {
    const struct value *label, *value;
    size_t id_at;
    struct graph_hit_page *out;
    size_t cap;
};

static int hit_visit(void *ctx, struct env_val k, struct env_val v, struct cr_arena *a, bool *kept)
{
    struct lookup_ctx *x = ctx;
    struct graph_hit *slot;
    struct value id, lv;
    int rc = decode_id(k, x->id_at, a, &id);

    if (rc == 0) {
        rc = value_decode(v.p, v.n, a, &lv);
        if (rc == 0 && (lv.type != VT_ARRAY || lv.u.arr.n != 2))
            rc = CR_ECORRUPT;
        if (rc && rc != CR_ENOMEM)
            rc = CR_CORRUPT();
    }
    if (rc)
        return rc;
    if (!value_equal(&lv.u.arr.items[1], x->value) ||
        (x->label && !value_equal(&lv.u.arr.items[0], x->label)))
        return 0; /* a long value sharing the cut prefix and hash, or another label */
    slot = cr_arena_push(a, (void **)&x->out->hits, &x->out->n, &x->cap, sizeof *slot);
    if (!slot)
        return CR_ENOMEM;
    *slot = (struct graph_hit){id, lv.u.arr.items[0]};
    *kept = true;
    return 0;
}

int graph_lookup(struct storage_txn *t, const struct graph_def *g,
                 const struct graph_lookup_query *q, struct cr_arena *a, struct graph_hit_page *out)
{
    struct lookup_ctx x = {q->label, &q->value, 0, out, 0};
    struct kv_range r;
    int rc = q->label ? check_name(q->label) : 0;

    memset(out, 0, sizeof *out);
    if (rc == 0)
        rc = check_value(&q->value);
    if (rc)
        return rc;
    kv_range_init(&r);
    rc = cr_buf_put_u32be(&r.base, g->id + 1);
    if (rc == 0)
        rc = name_comp(&q->key, &r.base);
    if (rc == 0)
        rc = keycodec_encode_cut(&q->value, CR_INDEX_KEY_PREFIX, &r.base, NULL);
    x.id_at = r.base.len;
    r.w.visit = hit_visit;
    r.w.ctx = &x;
    if (rc == 0)
        rc = run(t, &r, ENV_INDEX, q->limit, q->cursor, q->cursor_len, a, &out->scanned, &out->next,
                 &out->next_len);
    kv_range_free(&r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
