/*
 * An in-memory graph behind the Gremlin interface (query/gremlin.h), for tests: vertices and
 * edges in arrays, adjacency as per-vertex lists of edge indexes, mutations applied at once.
 * Ids are any scalar value; generated ids are strings "v1", "e2", property ids "p3". Dropped
 * elements stay in the arrays, marked dead, so indexes stay stable. Vertices are found by id
 * through a hash table; edges by a linear scan. Everything it hands to a run
 * (labels, ids, property arrays) stays valid until gmem_free: property arrays are copied into the
 * run's arena, since a later set_property may move them.
 */
#ifndef CR_GREMLIN_MEM_H
#define CR_GREMLIN_MEM_H

#include "query/gremlin.h"

struct gmem_vertex {
    struct value id;
    struct gremlin_str label;
    struct gremlin_prop *props;
    size_t n_props, cap_props;
    size_t *out, n_out, cap_out; /* edge indexes */
    size_t *in, n_in, cap_in;
    bool dead;
};

struct gmem_edge {
    struct value id;
    struct gremlin_str label;
    size_t from, to; /* vertex indexes */
    struct gremlin_prop *props;
    size_t n_props, cap_props;
    bool dead;
};

struct gmem {
    struct gmem_vertex *v;
    size_t n_v, cap_v;
    struct gmem_edge *e;
    size_t n_e, cap_e;
    size_t *vhash, cap_hash; /* vertex index + 1 by id hash (open addressing); 0: empty */
    uint64_t next_id;
    struct cr_arena a; /* ids, labels, keys and values */
    /* call counters, for tests that check which callback served a step */
    size_t n_get, n_scan, n_lookup, n_expand, n_props, n_mutations;
    bool no_lookup; /* gmem_graph() leaves lookup NULL: the machine's fallback scan */
};

void gmem_init(struct gmem *g);
void gmem_free(struct gmem *g);

/* The interface over g. */
struct gremlin_graph gmem_graph(struct gmem *g);

/* Direct builders for tests (no Gremlin): return the new index, or -1 on CR_ENOMEM. Ids and
 * strings are copied. */
long gmem_add_vertex(struct gmem *g, const struct value *id, const char *label);
long gmem_add_edge(struct gmem *g, const struct value *id, const char *label, size_t from,
                   size_t to);
int gmem_vertex_prop(struct gmem *g, size_t v, const char *key, const struct value *value,
                     bool list);
int gmem_edge_prop(struct gmem *g, size_t e, const char *key, const struct value *value);

/* Index of the live vertex with this id, or -1. */
long gmem_find_vertex(const struct gmem *g, const struct value *id);

#endif
