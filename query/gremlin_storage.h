/*
 * The Gremlin machine (gremlin.h) over a graph in storage: struct gremlin_graph's callbacks
 * filled from one read transaction, reads served by storage's graph reads (graph_expand for
 * out/in/both, graph_lookup for has(), the label index for hasLabel scans), and mutations
 * collected as struct mutation in script order for the caller to propose as one log entry (or
 * to apply with storage_apply, as the tests do). Nothing here writes.
 *
 * Reads see the transaction's snapshot only: a script that writes and then reads does not see
 * its own writes (they are not applied until its entry is). Checks a mutation callback makes
 * (CR_EEXISTS for a taken vertex id, CR_ENOTFOUND for a missing endpoint) look at the snapshot
 * and at the script's earlier adds; apply checks everything again.
 *
 * Ids: a vertex or edge added without an id gets graph_id_make(id_base, position, 0), position
 * being the mutation's index in the collected array, so the entry always carries explicit ids.
 * The caller picks id_base unique to the script (apply's own generated ids use log indexes:
 * a base that is no log index, e.g. with the high bit set, never meets them).
 */
#ifndef CR_GREMLIN_STORAGE_H
#define CR_GREMLIN_STORAGE_H

#include "query/gremlin.h"
#include "storage/storage.h"

#define GREMLIN_STORAGE_PAGE 256 /* elements per storage read while a callback scans */

struct gremlin_storage {
    struct storage_txn *t;
    struct graph_def g;
    uint64_t id_base;
    struct cr_arena *a; /* the mutations, their ids, labels, keys and values */
    struct mutation *muts;
    size_t n, cap;
};

/* Sets gs up over graph g in read transaction t; mutations are allocated from a, which must
 * outlive their proposal. */
void gremlin_storage_init(struct gremlin_storage *gs, struct storage_txn *t,
                          const struct graph_def *g, uint64_t id_base, struct cr_arena *a);
/* The callbacks, valid while gs and its transaction are. */
struct gremlin_graph gremlin_storage_graph(struct gremlin_storage *gs);

#endif
