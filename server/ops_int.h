/*
 * What ops.c and ops_graph.c share, private to them: the read snapshot, a read's start at its
 * consistency level, and the graph half of a write's checks.
 */
#ifndef CR_SERVER_OPS_INT_H
#define CR_SERVER_OPS_INT_H

#include "server/ops.h"

/* Opens (or renews) the connection's read snapshot unless it is live. */
int ops_snapshot(struct ops_conn *c, struct errmsg *e);

/* Starts a read at ro's level (NULL: STRONG): a strong read's ReadIndex round when clustered,
 * the snapshot, the applied index and lag into info, a session token's check. */
int ops_read_begin(struct ops_conn *c, const struct ops_read_opts *ro, struct ops_read_info *info,
                   struct errmsg *e);

/* ops_write's check of one graph mutation (MUT_CREATE_GRAPH ... MUT_GRAPH_DROP_EDGE) against the
 * snapshot: the name, CR_EEXISTS for a graph that exists, CR_ENOCOLL for one that does not, id
 * and label types. */
int ops_check_graph_mutation(struct ops_conn *c, const struct mutation *m, struct errmsg *e);

#endif
