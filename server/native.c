/*
 * The native protocol: frame parsing, Request -> ops.h calls, results -> Response frames.
 * Must not touch sockets or loops (net.c does), must not decide validity itself beyond the
 * message shape (ops.c and wire.c do), and must never let bad input crash, half-apply, or
 * allocate beyond the frame limit.
 */
#include "server/native.h"

#include "common/assert.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "server/repl/transport.h"
#include "server/wire.h"

#include <stdlib.h>
#include <string.h>

#define PENDING 1 /* handler result: a write was proposed; the response comes later */

struct native_req {
    struct native_conn *nc;
    struct cr_arena arena; /* the unpacked request, its values, the log entry, the response */
    uint64_t id;
    Cirrus__Request__OpCase op;
    const char *table; /* for the text of apply-time errors; points into the request */
    Cirrus__TableDescription *deleted; /* delete_table: the table as it was */
    struct graph_req *graph;           /* graph requests: their state */
    struct ops_write w;
    struct native_req *next;
};

/* Copies a protobuf-c INIT value into a fresh arena object. */
static void *pb_new(struct cr_arena *a, const void *init, size_t size)
{
    void *p = cr_arena_alloc(a, size);

    if (p)
        memcpy(p, init, size);
    return p;
}
#define PB_NEW(a, T, INIT) ((T *)pb_new((a), &(const T)INIT, sizeof(T)))

/* A repeated uint64 field's copy of v[0..n) in the arena: false when it cannot allocate. */
static bool pb_u64s(struct cr_arena *a, const uint64_t *v, size_t n, uint64_t **out, size_t *n_out)
{
    *out = n ? cr_arena_alloc(a, n * sizeof *v) : NULL;
    if (n && !*out)
        return false;
    if (n)
        memcpy(*out, v, n * sizeof *v);
    *n_out = n;
    return true;
}

static int nomem(struct errmsg *e)
{
    return errmsg_set(e, CR_ENOMEM, "out of memory building the response");
}

/* ---- requests and responses ------------------------------------------------------------ */

static struct native_req *req_get(struct native_conn *nc)
{
    struct native_req *r = nc->cache;

    if (r) {
        nc->cache = r->next;
        nc->n_cache--;
    } else {
        r = malloc(sizeof *r);
        if (!r)
            return NULL;
        cr_arena_init(&r->arena, CR_NATIVE_REQ_ARENA_BLOCK);
    }
    r->nc = nc;
    r->id = 0;
    r->op = CIRRUS__REQUEST__OP__NOT_SET;
    r->table = "";
    r->deleted = NULL;
    r->graph = NULL;
    r->next = NULL;
    return r;
}

static void req_put(struct native_conn *nc, struct native_req *r)
{
    if (nc->n_cache < CR_NATIVE_REQ_CACHE) {
        cr_arena_reset(&r->arena);
        r->next = nc->cache;
        nc->cache = r;
        nc->n_cache++;
    } else {
        cr_arena_free(&r->arena);
        free(r);
    }
}

/* Appends `u32be length | Response` to the output in one reserved region (no extra copy). */
static void send_response(struct native_conn *nc, const Cirrus__Response *resp)
{
    size_t size = cirrus__response__get_packed_size(resp);
    struct evbuffer_iovec v;

    CR_ASSERT(size <= UINT32_MAX);
    if (evbuffer_reserve_space(nc->out, size + 4, &v, 1) < 1 || v.iov_len < size + 4) {
        cr_log(CR_LOG_ERROR, "native: no memory for a %zu-byte response to request %llu", size,
               (unsigned long long)resp->id);
        return;
    }
    cr_put_u32be(v.iov_base, (uint32_t)size);
    cirrus__response__pack(resp, (uint8_t *)v.iov_base + 4);
    v.iov_len = size + 4;
    evbuffer_commit_space(nc->out, &v, 1);
}

/* Turns resp into an error response; text comes from e when it describes this code. */
static void set_error(Cirrus__Response *resp, int code, const struct errmsg *e)
{
    resp->error_code = code;
    resp->error_name = (char *)cr_errname(code);
    resp->error_message = (char *)errmsg_text(e, code);
    resp->result_case = CIRRUS__RESPONSE__RESULT__NOT_SET;
}

static void send_error(struct native_conn *nc, uint64_t id, int code, const struct errmsg *e)
{
    Cirrus__Response resp = CIRRUS__RESPONSE__INIT;

    resp.id = id;
    resp.applied_index = log_applied_index(nc->oc.ops->log);
    set_error(&resp, code, e);
    send_response(nc, &resp);
}

static void read_opts(const Cirrus__ReadOptions *pb, struct ops_read_opts *out)
{
    memset(out, 0, sizeof *out);
    out->level = OPS_DEFAULT;
    if (!pb)
        return;
    out->level = (enum ops_consistency)pb->consistency;
    out->session_token = pb->session_token;
    out->max_lag_entries = pb->max_lag_entries;
    out->max_lag_ms = pb->max_lag_ms;
}

/* A table name from the wire into a struct table_def's name. */
static int table_name(const char *name, struct table_def *def, struct errmsg *e)
{
    size_t n = strlen(name);

    if (n > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME, "table name is %zu bytes; the limit is %d", n,
                          CR_MAX_NAME_LEN);
    memcpy(def->name, name, n + 1);
    return 0;
}

/* A query or scan page as the response body both share. */
static int page_to_pb(const struct kv_page *page, struct cr_arena *a, Cirrus__QueryResponse **out,
                      struct errmsg *e)
{
    Cirrus__QueryResponse *q = PB_NEW(a, Cirrus__QueryResponse, CIRRUS__QUERY_RESPONSE__INIT);

    if (!q)
        return nomem(e);
    *out = q;
    q->n_items = page->n;
    q->scanned = page->scanned;
    q->cursor.data = page->next;
    q->cursor.len = page->next_len;
    if (page->n) {
        q->items = cr_arena_alloc(a, page->n * sizeof *q->items);
        if (!q->items)
            return nomem(e);
    }
    for (size_t i = 0; i < page->n; i++) {
        if (wire_map_to_pb(&page->items[i], a, &q->items[i]) < 0)
            return nomem(e);
    }
    return 0;
}

/* ---- reads ------------------------------------------------------------------------------ */

static int op_ping(struct native_req *r, Cirrus__PingRequest *m, Cirrus__Response *resp,
                   struct errmsg *e)
{
    resp->ping = PB_NEW(&r->arena, Cirrus__PingResponse, CIRRUS__PING_RESPONSE__INIT);
    if (!resp->ping)
        return nomem(e);
    resp->result_case = CIRRUS__RESPONSE__RESULT_PING;
    resp->applied_index = log_applied_index(r->nc->oc.ops->log);
    return 0;
}

static int op_describe_table(struct native_req *r, Cirrus__DescribeTableRequest *m,
                             Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct table_def def;
    struct table_stats stats;
    Cirrus__DescribeTableResponse *d;
    int rc;

    read_opts(m->read, &ro);
    rc = ops_describe_table(&r->nc->oc, &ro, m->table, strlen(m->table), &def, &stats, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    d = PB_NEW(&r->arena, Cirrus__DescribeTableResponse, CIRRUS__DESCRIBE_TABLE_RESPONSE__INIT);
    if (!d || wire_table_desc_to_pb(&def, &stats, &r->arena, &d->table) < 0)
        return nomem(e);
    resp->result_case = CIRRUS__RESPONSE__RESULT_DESCRIBE_TABLE;
    resp->describe_table = d;
    return 0;
}

static int op_list_tables(struct native_req *r, Cirrus__ListTablesRequest *m,
                          Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct table_def *defs;
    Cirrus__ListTablesResponse *l;
    size_t n;
    bool more;
    int rc;

    read_opts(m->read, &ro);
    rc = ops_list_tables(&r->nc->oc, &ro, m->exclusive_start, strlen(m->exclusive_start), m->limit,
                         &r->arena, &defs, &n, &more, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    l = PB_NEW(&r->arena, Cirrus__ListTablesResponse, CIRRUS__LIST_TABLES_RESPONSE__INIT);
    if (!l)
        return nomem(e);
    l->n_tables = n;
    if (n) {
        l->tables = cr_arena_alloc(&r->arena, n * sizeof *l->tables);
        if (!l->tables)
            return nomem(e);
    }
    for (size_t i = 0; i < n; i++)
        l->tables[i] = defs[i].name;
    if (more && n)
        l->last_evaluated = defs[n - 1].name;
    resp->result_case = CIRRUS__RESPONSE__RESULT_LIST_TABLES;
    resp->list_tables = l;
    return 0;
}

static int op_get_item(struct native_req *r, Cirrus__GetItemRequest *m, Cirrus__Response *resp,
                       struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct value key, item;
    Cirrus__GetItemResponse *g;
    bool found;
    int rc;

    if (!m->key)
        return errmsg_set(e, CR_EINVAL, "get_item needs a key");
    rc = wire_map_from_pb(m->key, &r->arena, &key, e);
    if (rc < 0)
        return rc;
    read_opts(m->read, &ro);
    rc = ops_get_item(&r->nc->oc, &ro, m->table, strlen(m->table), &key, &r->arena, &found, &item,
                      &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    g = PB_NEW(&r->arena, Cirrus__GetItemResponse, CIRRUS__GET_ITEM_RESPONSE__INIT);
    if (!g || (found && wire_map_to_pb(&item, &r->arena, &g->item) < 0))
        return nomem(e);
    resp->result_case = CIRRUS__RESPONSE__RESULT_GET_ITEM;
    resp->get_item = g;
    return 0;
}

static int op_query(struct native_req *r, Cirrus__QueryRequest *m, Cirrus__Response *resp,
                    struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct ops_query q;
    struct kv_page page;
    int rc;

    memset(&q, 0, sizeof q);
    if (!m->partition_key)
        return errmsg_set(e, CR_EINVAL, "query needs a partition_key");
    if ((unsigned)m->op > CIRRUS__SORT_KEY_OP__SK_BEGINS_WITH)
        return errmsg_set(e, CR_EINVAL, "sort key condition %d is unknown", (int)m->op);
    q.op = (enum sk_op)m->op;
    if (q.op != SK_ANY && !m->sort_key)
        return errmsg_set(e, CR_EINVAL, "a sort key condition needs sort_key");
    if (q.op == SK_BETWEEN && !m->sort_key_end)
        return errmsg_set(e, CR_EINVAL, "BETWEEN needs sort_key_end");
    rc = wire_value_from_pb(m->partition_key, &r->arena, &q.pk, e);
    if (rc == 0 && q.op != SK_ANY)
        rc = wire_value_from_pb(m->sort_key, &r->arena, &q.sk1, e);
    if (rc == 0 && q.op == SK_BETWEEN)
        rc = wire_value_from_pb(m->sort_key_end, &r->arena, &q.sk2, e);
    if (rc < 0)
        return rc;
    q.table = m->table;
    q.table_len = strlen(m->table);
    q.reverse = m->reverse;
    q.limit = m->limit;
    q.cursor = m->cursor.data;
    q.cursor_len = m->cursor.len;
    read_opts(m->read, &ro);
    rc = ops_query(&r->nc->oc, &ro, &q, &r->arena, &page, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    rc = page_to_pb(&page, &r->arena, &resp->query, e);
    if (rc < 0)
        return rc;
    resp->result_case = CIRRUS__RESPONSE__RESULT_QUERY;
    return 0;
}

static int op_scan(struct native_req *r, Cirrus__ScanRequest *m, Cirrus__Response *resp,
                   struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info;
    struct ops_scan s;
    struct kv_page page;
    int rc;

    memset(&s, 0, sizeof s);
    s.table = m->table;
    s.table_len = strlen(m->table);
    s.limit = m->limit;
    s.cursor = m->cursor.data;
    s.cursor_len = m->cursor.len;
    s.segment = m->segment;
    s.total_segments = m->total_segments;
    read_opts(m->read, &ro);
    rc = ops_scan(&r->nc->oc, &ro, &s, &r->arena, &page, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    rc = page_to_pb(&page, &r->arena, &resp->scan, e);
    if (rc < 0)
        return rc;
    resp->result_case = CIRRUS__RESPONSE__RESULT_SCAN;
    return 0;
}

static int op_stats(struct native_req *r, Cirrus__StatsRequest *m, Cirrus__Response *resp,
                    struct errmsg *e)
{
    struct ops_stats st;
    Cirrus__StatsResponse *s;
    int rc = ops_stats(&r->nc->oc, &st, e);

    resp->applied_index = st.applied_index;
    if (rc < 0)
        return rc;
    s = PB_NEW(&r->arena, Cirrus__StatsResponse, CIRRUS__STATS_RESPONSE__INIT);
    if (!s)
        return nomem(e);
    s->applied_index = st.applied_index;
    s->tables = st.tables;
    s->connections = st.connections;
    s->requests = st.requests;
    s->writes = st.writes;
    s->commits = st.commits;
    s->uptime_ms = st.uptime_ms;
    s->map_size = st.map_size;
    s->used_bytes = st.used_bytes;
    s->node_id = st.node_id;
    s->role = st.role;
    s->term = st.term;
    s->leader_id = st.leader_id;
    s->commit_index = st.commit_index;
    if (!pb_u64s(&r->arena, st.voters, st.n_voters, &s->voters, &s->n_voters))
        return nomem(e);
    s->snapshot_index = st.snapshot_index;
    s->snapshots_sent = st.snapshots_sent;
    s->snapshots_installed = st.snapshots_installed;
    resp->result_case = CIRRUS__RESPONSE__RESULT_STATS;
    resp->stats = s;
    return 0;
}

static int op_cluster_member(struct native_req *r, Cirrus__ClusterMemberRequest *m,
                             Cirrus__Response *resp, struct errmsg *e)
{
    Cirrus__ClusterMemberResponse *out;
    uint64_t voters[OPS_MAX_VOTERS], index = 0;
    size_t n = 0;
    int rc =
        ops_change_member(&r->nc->oc, m->remove, m->node_id, m->address, &index, voters, &n, e);

    if (rc < 0)
        return rc;
    out = PB_NEW(&r->arena, Cirrus__ClusterMemberResponse, CIRRUS__CLUSTER_MEMBER_RESPONSE__INIT);
    if (!out)
        return nomem(e);
    out->index = index;
    if (!pb_u64s(&r->arena, voters, n, &out->voters, &out->n_voters))
        return nomem(e);
    resp->result_case = CIRRUS__RESPONSE__RESULT_CLUSTER_MEMBER;
    resp->cluster_member = out;
    return 0;
}

/* Merges the request's faults into this node's active set (each listed peer's entry replaced;
 * heal: the set emptied first) and answers with the set now active. Two requests at once on one
 * node may lose one's change: the tool is for tests driven by one script. */
static int op_cluster_fault(struct native_req *r, Cirrus__ClusterFaultRequest *m,
                            Cirrus__Response *resp, struct errmsg *e)
{
    struct log *l = r->nc->oc.ops->log;
    struct transport_fault f[TRANSPORT_MAX_PEERS];
    Cirrus__ClusterFaultResponse *out;
    size_t n = 0, i, j;
    int rc = log_get_faults(l, f, &n);

    if (rc < 0)
        return errmsg_set(e, rc, "this server is not part of a cluster (no --peers): no faults");
    if (m->heal)
        n = 0;
    for (i = 0; i < m->n_faults; i++) {
        const Cirrus__ClusterFault *in = m->faults[i];

        for (j = 0; j < n && f[j].peer != in->peer; j++)
            ;
        if (j == TRANSPORT_MAX_PEERS)
            return errmsg_set(e, CR_EINVAL, "faults for more than %d peers", TRANSPORT_MAX_PEERS);
        f[j] = (struct transport_fault){.peer = in->peer,
                                        .drop_out = in->drop_out,
                                        .drop_in = in->drop_in,
                                        .delay_ms = in->delay_ms,
                                        .jitter_ms = in->jitter_ms,
                                        .loss_pct = in->loss_pct};
        n += j == n;
    }
    if ((m->heal || m->n_faults) && (rc = log_set_faults(l, f, n)) < 0)
        return errmsg_set(e, rc,
                          "bad fault: the peer must be another node, loss at most 100%%, delay "
                          "and jitter at most %d ms",
                          TRANSPORT_MAX_FAULT_MS);
    log_get_faults(l, f, &n);
    out = PB_NEW(&r->arena, Cirrus__ClusterFaultResponse, CIRRUS__CLUSTER_FAULT_RESPONSE__INIT);
    if (!out || !(out->faults = cr_arena_alloc(&r->arena, (n ? n : 1) * sizeof *out->faults)))
        return nomem(e);
    for (i = 0; i < n; i++) {
        Cirrus__ClusterFault *o =
            PB_NEW(&r->arena, Cirrus__ClusterFault, CIRRUS__CLUSTER_FAULT__INIT);

        if (!o)
            return nomem(e);
        o->peer = f[i].peer;
        o->drop_out = f[i].drop_out;
        o->drop_in = f[i].drop_in;
        o->delay_ms = f[i].delay_ms;
        o->jitter_ms = f[i].jitter_ms;
        o->loss_pct = f[i].loss_pct;
        out->faults[i] = o;
    }
    out->n_faults = n;
    resp->result_case = CIRRUS__RESPONSE__RESULT_CLUSTER_FAULT;
    resp->cluster_fault = out;
    return 0;
}

/* ---- writes ------------------------------------------------------------------------------ */

struct graph_req;
static void write_done(struct ops_write *w);
static int graph_write_result(struct graph_req *g, Cirrus__Response *resp, struct errmsg *e);

static int propose(struct native_req *r, const struct mutation *muts, size_t n, struct errmsg *e)
{
    int rc;

    r->w.arena = &r->arena;
    r->w.done = write_done;
    r->w.data = r;
    rc = ops_write(&r->nc->oc, muts, n, &r->w, e);
    return rc < 0 ? rc : PENDING;
}

static int put_mutation(struct native_req *r, const Cirrus__PutItemRequest *m, struct mutation *mut,
                        struct errmsg *e)
{
    int rc;

    memset(mut, 0, sizeof *mut);
    mut->type = MUT_PUT;
    mut->key.type = VT_NULL;
    mut->return_old = m->return_old;
    if (!m->item)
        return errmsg_set(e, CR_EINVAL, "put needs an item");
    rc = table_name(m->table, &mut->table, e);
    if (rc == 0)
        rc = wire_map_from_pb(m->item, &r->arena, &mut->item, e);
    if (rc == 0)
        rc = wire_condition_from_pb(m->condition, &r->arena, &mut->cond, e);
    return rc;
}

static int delete_mutation(struct native_req *r, const Cirrus__DeleteItemRequest *m,
                           struct mutation *mut, struct errmsg *e)
{
    int rc;

    memset(mut, 0, sizeof *mut);
    mut->type = MUT_DELETE;
    mut->item.type = VT_NULL;
    mut->return_old = m->return_old;
    if (!m->key)
        return errmsg_set(e, CR_EINVAL, "delete needs a key");
    rc = table_name(m->table, &mut->table, e);
    if (rc == 0)
        rc = wire_map_from_pb(m->key, &r->arena, &mut->key, e);
    if (rc == 0)
        rc = wire_condition_from_pb(m->condition, &r->arena, &mut->cond, e);
    return rc;
}

static int op_create_table(struct native_req *r, Cirrus__CreateTableRequest *m,
                           Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_CREATE_TABLE;
    if (!m->schema)
        return errmsg_set(e, CR_ESCHEMA, "create_table needs a schema");
    r->table = m->schema->name;
    rc = wire_schema_from_pb(m->schema, &mut.table, e);
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_delete_table(struct native_req *r, Cirrus__DeleteTableRequest *m,
                           Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_info info;
    struct table_def def;
    struct table_stats stats;
    struct mutation mut;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DELETE_TABLE;
    r->table = m->table;
    rc = table_name(m->table, &mut.table, e);
    if (rc == 0)
        rc = ops_describe_table(&r->nc->oc, NULL, m->table, strlen(m->table), &def, &stats, &info,
                                e);
    if (rc < 0)
        return rc;
    if (wire_table_desc_to_pb(&def, &stats, &r->arena, &r->deleted) < 0)
        return nomem(e);
    return propose(r, &mut, 1, e);
}

static int op_put_item(struct native_req *r, Cirrus__PutItemRequest *m, Cirrus__Response *resp,
                       struct errmsg *e)
{
    struct mutation mut;
    int rc = put_mutation(r, m, &mut, e);

    r->table = m->table;
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_delete_item(struct native_req *r, Cirrus__DeleteItemRequest *m,
                          Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    int rc = delete_mutation(r, m, &mut, e);

    r->table = m->table;
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_batch_write(struct native_req *r, Cirrus__BatchWriteRequest *m,
                          Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation *muts;
    int rc = 0;

    if (m->n_ops == 0)
        return errmsg_set(e, CR_EINVAL, "batch_write needs at least one operation");
    if (m->n_ops > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu operations in one batch; the limit is %d", m->n_ops,
                          CR_MAX_BATCH_MUTATIONS);
    muts = cr_arena_alloc(&r->arena, m->n_ops * sizeof *muts);
    if (!muts)
        return nomem(e);
    for (size_t i = 0; i < m->n_ops && rc == 0; i++) {
        const Cirrus__WriteOp *op = m->ops[i];

        if (op->op_case == CIRRUS__WRITE_OP__OP_PUT)
            rc = put_mutation(r, op->put, &muts[i], e);
        else if (op->op_case == CIRRUS__WRITE_OP__OP_DELETE)
            rc = delete_mutation(r, op->delete_, &muts[i], e);
        else
            rc = errmsg_set(e, CR_EUNKNOWNOP, "has neither put nor delete");
        if (rc < 0) {
            char text[CR_ERRMSG_MAX];
            memcpy(text, e->text, sizeof text);
            errmsg_set(e, rc, "operation %zu: %s", i, text);
        }
    }
    return rc < 0 ? rc : propose(r, muts, m->n_ops, e);
}

/* ---- collections and documents ----------------------------------------------------------- */

static const char *db_name(const char *db)
{
    return db[0] ? db : WIRE_DEFAULT_DB;
}

/* Names the collection of a document request in mut->coll (db and name only). */
static int coll_names(struct native_req *r, const char *db, const char *name, struct mutation *mut,
                      struct errmsg *e)
{
    Cirrus__CollectionSchema s = CIRRUS__COLLECTION_SCHEMA__INIT;

    s.db = (char *)db;
    s.name = (char *)name;
    r->table = name;
    return wire_coll_schema_from_pb(&s, &r->arena, &mut->coll, e);
}

static int op_create_collection(struct native_req *r, Cirrus__CreateCollectionRequest *m,
                                Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_CREATE_COLLECTION;
    if (!m->schema)
        return errmsg_set(e, CR_EINVAL, "create_collection needs a schema");
    r->table = m->schema->name;
    rc = wire_coll_schema_from_pb(m->schema, &r->arena, &mut.coll, e);
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_drop_collection(struct native_req *r, Cirrus__DropCollectionRequest *m,
                              Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DROP_COLLECTION;
    rc = coll_names(r, m->db, m->name, &mut, e);
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_get_collection(struct native_req *r, Cirrus__GetCollectionRequest *m,
                             Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct coll_def def;
    struct table_stats stats;
    Cirrus__CollectionResponse *c;
    int rc;

    read_opts(m->read, &ro);
    rc = ops_get_collection(&r->nc->oc, &ro, db_name(m->db), m->name, &r->arena, &def, &stats,
                            &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    c = PB_NEW(&r->arena, Cirrus__CollectionResponse, CIRRUS__COLLECTION_RESPONSE__INIT);
    if (!c || wire_coll_desc_to_pb(&def, &stats, &r->arena, &c->collection) < 0)
        return nomem(e);
    resp->result_case = CIRRUS__RESPONSE__RESULT_GET_COLLECTION;
    resp->get_collection = c;
    return 0;
}

static int op_list_collections(struct native_req *r, Cirrus__ListCollectionsRequest *m,
                               Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct coll_def *defs;
    struct table_stats *stats;
    Cirrus__ListCollectionsResponse *l;
    size_t n;
    bool more;
    int rc;

    read_opts(m->read, &ro);
    rc = ops_list_collections(&r->nc->oc, &ro, db_name(m->db), m->exclusive_start, m->limit,
                              &r->arena, &defs, &stats, &n, &more, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    l = PB_NEW(&r->arena, Cirrus__ListCollectionsResponse, CIRRUS__LIST_COLLECTIONS_RESPONSE__INIT);
    if (!l || (n && !(l->collections = cr_arena_alloc(&r->arena, n * sizeof *l->collections))))
        return nomem(e);
    l->n_collections = n;
    for (size_t i = 0; i < n; i++)
        if (wire_coll_desc_to_pb(&defs[i], &stats[i], &r->arena, &l->collections[i]) < 0)
            return nomem(e);
    if (more && n)
        l->last_evaluated = defs[n - 1].name;
    resp->result_case = CIRRUS__RESPONSE__RESULT_LIST_COLLECTIONS;
    resp->list_collections = l;
    return 0;
}

static int op_write_document(struct native_req *r, Cirrus__WriteDocumentRequest *m,
                             Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    int rc;

    memset(&mut, 0, sizeof mut);
    switch (m->kind) {
    case CIRRUS__DOC_WRITE_KIND__DOC_WRITE_UPSERT:
        mut.type = MUT_DOC_UPSERT;
        break;
    case CIRRUS__DOC_WRITE_KIND__DOC_WRITE_CREATE:
        mut.type = MUT_DOC_CREATE;
        break;
    case CIRRUS__DOC_WRITE_KIND__DOC_WRITE_REPLACE:
        mut.type = MUT_DOC_REPLACE;
        break;
    default:
        return errmsg_set(e, CR_EINVAL, "document write kind %d is unknown", (int)m->kind);
    }
    mut.return_new = true;
    if (!m->document)
        return errmsg_set(e, CR_EINVAL, "write_document needs a document");
    rc = coll_names(r, m->db, m->collection, &mut, e);
    if (rc == 0)
        rc = wire_map_from_pb(m->document, &r->arena, &mut.item, e);
    if (rc == 0)
        rc = wire_precond_from_pb(m->precondition, &mut.pre, e);
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_delete_document(struct native_req *r, Cirrus__DeleteDocumentRequest *m,
                              Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DOC_DELETE;
    rc = coll_names(r, m->db, m->collection, &mut, e);
    if (rc == 0)
        rc = wire_doc_key_from_pb(m->key, &r->arena, &mut.doc_key, e);
    if (rc == 0)
        rc = wire_precond_from_pb(m->precondition, &mut.pre, e);
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_patch_document(struct native_req *r, Cirrus__PatchDocumentRequest *m,
                             Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation mut;
    struct patch_op *ops = NULL;
    int rc;

    memset(&mut, 0, sizeof mut);
    mut.type = MUT_DOC_PATCH;
    mut.return_new = true;
    rc = coll_names(r, m->db, m->collection, &mut, e);
    if (rc == 0)
        rc = wire_doc_key_from_pb(m->key, &r->arena, &mut.doc_key, e);
    if (rc == 0)
        rc = wire_patch_from_pb(m->ops, m->n_ops, &r->arena, &ops, e);
    if (rc == 0)
        rc = wire_precond_from_pb(m->precondition, &mut.pre, e);
    mut.patch = ops;
    mut.n_patch = m->n_ops;
    return rc < 0 ? rc : propose(r, &mut, 1, e);
}

static int op_write_documents(struct native_req *r, Cirrus__WriteDocumentsRequest *m,
                              Cirrus__Response *resp, struct errmsg *e)
{
    struct mutation *muts;
    enum mut_type type;
    int rc = 0;

    switch (m->kind) {
    case CIRRUS__DOC_WRITE_KIND__DOC_WRITE_UPSERT:
        type = MUT_DOC_UPSERT;
        break;
    case CIRRUS__DOC_WRITE_KIND__DOC_WRITE_CREATE:
        type = MUT_DOC_CREATE;
        break;
    case CIRRUS__DOC_WRITE_KIND__DOC_WRITE_REPLACE:
        type = MUT_DOC_REPLACE;
        break;
    default:
        return errmsg_set(e, CR_EINVAL, "document write kind %d is unknown", (int)m->kind);
    }
    if (m->n_documents == 0)
        return errmsg_set(e, CR_EINVAL, "write_documents needs at least one document");
    if (m->n_documents > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu documents in one write; the limit is %d",
                          m->n_documents, CR_MAX_BATCH_MUTATIONS);
    muts = cr_arena_calloc(&r->arena, m->n_documents * sizeof *muts);
    if (!muts)
        return nomem(e);
    for (size_t i = 0; i < m->n_documents && rc == 0; i++) {
        muts[i].type = type;
        rc = coll_names(r, m->db, m->collection, &muts[i], e);
        if (rc == 0)
            rc = wire_map_from_pb(m->documents[i], &r->arena, &muts[i].item, e);
        if (rc < 0) {
            char text[CR_ERRMSG_MAX];
            memcpy(text, e->text, sizeof text);
            errmsg_set(e, rc, "document %zu: %s", i, text);
        }
    }
    return rc < 0 ? rc : propose(r, muts, m->n_documents, e);
}

/* A document as a DocumentResponse. */
static int doc_response(struct native_req *r, const struct value *body, const char *etag,
                        int64_t update_ms, Cirrus__DocumentResponse **out, struct errmsg *e)
{
    Cirrus__DocumentResponse *d =
        PB_NEW(&r->arena, Cirrus__DocumentResponse, CIRRUS__DOCUMENT_RESPONSE__INIT);

    if (!d || (body && wire_map_to_pb(body, &r->arena, &d->document) < 0))
        return nomem(e);
    d->etag = (char *)etag;
    d->update_ms = update_ms;
    *out = d;
    return 0;
}

static int op_get_document(struct native_req *r, Cirrus__GetDocumentRequest *m,
                           Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct doc_key key;
    struct doc d;
    const struct value *etag;
    char *tag;
    int rc;

    rc = wire_doc_key_from_pb(m->key, &r->arena, &key, e);
    if (rc < 0)
        return rc;
    read_opts(m->read, &ro);
    rc = ops_get_doc(&r->nc->oc, &ro, db_name(m->db), m->collection, &key, &r->arena, &d, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    etag = value_map_get(&d.body, "_etag", 5);
    tag = etag && etag->type == VT_STRING
              ? cr_arena_strndup(&r->arena, etag->u.s.ptr, etag->u.s.len)
              : "";
    if (!tag)
        return nomem(e);
    rc = doc_response(r, &d.body, tag, d.update_ms, &resp->get_document, e);
    resp->result_case = CIRRUS__RESPONSE__RESULT_GET_DOCUMENT;
    return rc;
}

static int op_sql(struct native_req *r, Cirrus__SqlRequest *m, Cirrus__Response *resp,
                  struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct sql_param *params = NULL;
    struct value *vals = NULL;
    struct ops_sql q;
    struct ops_sql_page page;
    Cirrus__SqlResponse *s;
    int rc;

    if (m->n_params > SQL_MAX_PARAMS)
        return errmsg_set(e, CR_ETOOMANY, "%zu parameters; the limit is %d", m->n_params,
                          SQL_MAX_PARAMS);
    if (m->n_params && (!(params = cr_arena_alloc(&r->arena, m->n_params * sizeof *params)) ||
                        !(vals = cr_arena_alloc(&r->arena, m->n_params * sizeof *vals))))
        return nomem(e);
    for (size_t i = 0; i < m->n_params; i++) {
        const Cirrus__SqlParameter *p = m->params[i];

        if (p->name[0] != '@')
            return errmsg_set(e, CR_EINVAL, "parameter '%.64s' must start with '@'", p->name);
        if (!p->value)
            return errmsg_set(e, CR_EINVAL, "parameter '%.64s' has no value", p->name);
        rc = wire_value_from_pb(p->value, &r->arena, &vals[i], e);
        if (rc < 0)
            return rc;
        params[i] = (struct sql_param){p->name, strlen(p->name), &vals[i]};
    }
    memset(&q, 0, sizeof q);
    q.db = db_name(m->db);
    q.text = m->query;
    q.len = strlen(m->query);
    q.params = params;
    q.n_params = m->n_params;
    q.max_items = m->max_items;
    q.explain = m->explain;
    q.cont = m->continuation.data;
    q.cont_len = m->continuation.len;
    read_opts(m->read, &ro);
    rc = ops_sql(&r->nc->oc, &ro, &q, &r->arena, &page, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    s = PB_NEW(&r->arena, Cirrus__SqlResponse, CIRRUS__SQL_RESPONSE__INIT);
    if (!s || (page.n && !(s->results = cr_arena_alloc(&r->arena, page.n * sizeof *s->results))))
        return nomem(e);
    s->n_results = page.n;
    for (size_t i = 0; i < page.n; i++)
        if (wire_value_to_pb(&page.results[i], &r->arena, &s->results[i]) < 0)
            return nomem(e);
    s->continuation.data = page.next;
    s->continuation.len = page.next_len;
    s->scanned = page.scanned;
    resp->result_case = CIRRUS__RESPONSE__RESULT_SQL;
    resp->sql = s;
    return 0;
}

/* The text of a mutation's apply-time failure. */
static int result_error(const struct native_req *r, int code, struct errmsg *e)
{
    switch (code) {
    case CR_ETABLEEXISTS:
        return errmsg_set(e, code, "table '%.255s' already exists", r->table);
    case CR_ENOTABLE:
        return errmsg_set(e, code, "table '%.255s' not found", r->table);
    case CR_ENOCOLL:
        return errmsg_set(e, code, "collection '%.255s' not found", r->table);
    case CR_EEXISTS:
        return errmsg_set(e, code, "%s already exists in '%.255s'",
                          r->op == CIRRUS__REQUEST__OP_CREATE_COLLECTION ? "the collection"
                                                                         : "the document",
                          r->table);
    case CR_ENOTFOUND:
        return errmsg_set(e, code, "no such document in collection '%.255s'", r->table);
    case CR_ECONDITION:
        return errmsg_set(e, code, "a precondition failed (etag or update time)");
    default:
        return errmsg_set(e, code, "%s", cr_strerror(code));
    }
}

static int old_item(struct native_req *r, const struct mutation_result *res, Cirrus__MapValue **out,
                    struct errmsg *e)
{
    *out = NULL;
    if (res->has_old && wire_map_to_pb(&res->old, &r->arena, out) < 0)
        return nomem(e);
    return 0;
}

static int batch_results(struct native_req *r, Cirrus__Response *resp, struct errmsg *e)
{
    Cirrus__BatchWriteResponse *b;
    int first = 0;
    size_t at = 0;

    b = PB_NEW(&r->arena, Cirrus__BatchWriteResponse, CIRRUS__BATCH_WRITE_RESPONSE__INIT);
    if (!b)
        return nomem(e);
    b->n_results = r->w.n;
    b->results = cr_arena_alloc(&r->arena, (r->w.n ? r->w.n : 1) * sizeof *b->results);
    if (!b->results)
        return nomem(e);
    for (size_t i = 0; i < r->w.n; i++) {
        const struct mutation_result *res = &r->w.results[i];
        Cirrus__WriteResult *wr =
            PB_NEW(&r->arena, Cirrus__WriteResult, CIRRUS__WRITE_RESULT__INIT);

        if (!wr || old_item(r, res, &wr->old_item, e) < 0)
            return nomem(e);
        wr->error_code = res->code;
        wr->error_name = (char *)cr_errname(res->code);
        if (res->code && (first == 0 || first == CR_EABORTED) && res->code != first) {
            first = res->code;
            at = i;
        }
        b->results[i] = wr;
    }
    if (r->op == CIRRUS__REQUEST__OP_WRITE_DOCUMENTS) {
        Cirrus__WriteDocumentsResponse *d = PB_NEW(&r->arena, Cirrus__WriteDocumentsResponse,
                                                   CIRRUS__WRITE_DOCUMENTS_RESPONSE__INIT);

        if (!d)
            return nomem(e);
        d->n_results = b->n_results;
        d->results = b->results;
        resp->result_case = CIRRUS__RESPONSE__RESULT_WRITE_DOCUMENTS;
        resp->write_documents = d;
    } else {
        resp->result_case = CIRRUS__RESPONSE__RESULT_BATCH_WRITE;
        resp->batch_write = b;
    }
    if (first)
        return errmsg_set(e, first, "operation %zu failed: %s; nothing was written", at,
                          cr_strerror(first));
    return 0;
}

/* The response of an applied single-operation write (or its apply-time error). */
static int write_result(struct native_req *r, Cirrus__Response *resp, struct errmsg *e)
{
    const struct mutation_result *res = &r->w.results[0];
    int rc;

    if (r->graph)
        return graph_write_result(r->graph, resp, e);
    if (r->op == CIRRUS__REQUEST__OP_BATCH_WRITE || r->op == CIRRUS__REQUEST__OP_WRITE_DOCUMENTS)
        return batch_results(r, resp, e);
    if (r->w.n < 1)
        return errmsg_set(e, CR_EINTERNAL, "the log returned no result");
    if (res->code < 0)
        return result_error(r, res->code, e);
    switch (r->op) {
    case CIRRUS__REQUEST__OP_CREATE_TABLE:
        resp->create_table =
            PB_NEW(&r->arena, Cirrus__CreateTableResponse, CIRRUS__CREATE_TABLE_RESPONSE__INIT);
        if (!resp->create_table ||
            wire_table_desc_to_pb(&res->table, NULL, &r->arena, &resp->create_table->table) < 0)
            return nomem(e);
        resp->result_case = CIRRUS__RESPONSE__RESULT_CREATE_TABLE;
        return 0;
    case CIRRUS__REQUEST__OP_DELETE_TABLE:
        resp->delete_table =
            PB_NEW(&r->arena, Cirrus__DeleteTableResponse, CIRRUS__DELETE_TABLE_RESPONSE__INIT);
        if (!resp->delete_table)
            return nomem(e);
        resp->delete_table->table = r->deleted;
        resp->result_case = CIRRUS__RESPONSE__RESULT_DELETE_TABLE;
        return 0;
    case CIRRUS__REQUEST__OP_PUT_ITEM:
        resp->put_item =
            PB_NEW(&r->arena, Cirrus__PutItemResponse, CIRRUS__PUT_ITEM_RESPONSE__INIT);
        if (!resp->put_item)
            return nomem(e);
        rc = old_item(r, res, &resp->put_item->old_item, e);
        resp->result_case = CIRRUS__RESPONSE__RESULT_PUT_ITEM;
        return rc;
    case CIRRUS__REQUEST__OP_DELETE_ITEM:
        resp->delete_item =
            PB_NEW(&r->arena, Cirrus__DeleteItemResponse, CIRRUS__DELETE_ITEM_RESPONSE__INIT);
        if (!resp->delete_item)
            return nomem(e);
        rc = old_item(r, res, &resp->delete_item->old_item, e);
        resp->result_case = CIRRUS__RESPONSE__RESULT_DELETE_ITEM;
        return rc;
    case CIRRUS__REQUEST__OP_CREATE_COLLECTION:
    case CIRRUS__REQUEST__OP_DROP_COLLECTION: {
        Cirrus__CollectionResponse *c =
            PB_NEW(&r->arena, Cirrus__CollectionResponse, CIRRUS__COLLECTION_RESPONSE__INIT);

        if (!c || wire_coll_desc_to_pb(&res->coll, NULL, &r->arena, &c->collection) < 0)
            return nomem(e);
        if (r->op == CIRRUS__REQUEST__OP_CREATE_COLLECTION) {
            resp->create_collection = c;
            resp->result_case = CIRRUS__RESPONSE__RESULT_CREATE_COLLECTION;
        } else {
            resp->drop_collection = c;
            resp->result_case = CIRRUS__RESPONSE__RESULT_DROP_COLLECTION;
        }
        return 0;
    }
    case CIRRUS__REQUEST__OP_WRITE_DOCUMENT:
        resp->result_case = CIRRUS__RESPONSE__RESULT_WRITE_DOCUMENT;
        return doc_response(r, res->has_new ? &res->new_item : NULL, res->etag, res->update_ms,
                            &resp->write_document, e);
    case CIRRUS__REQUEST__OP_PATCH_DOCUMENT:
        resp->result_case = CIRRUS__RESPONSE__RESULT_PATCH_DOCUMENT;
        return doc_response(r, res->has_new ? &res->new_item : NULL, res->etag, res->update_ms,
                            &resp->patch_document, e);
    case CIRRUS__REQUEST__OP_DELETE_DOCUMENT:
        resp->result_case = CIRRUS__RESPONSE__RESULT_DELETE_DOCUMENT;
        return doc_response(r, NULL, "", 0, &resp->delete_document, e);
    default:
        return errmsg_set(e, CR_EINTERNAL, "write completion for a non-write request");
    }
}

/* On the loop thread, via the connection's completer. */
static void write_done(struct ops_write *w)
{
    struct native_req *r = w->data;
    struct native_conn *nc = r->nc;
    Cirrus__Response resp = CIRRUS__RESPONSE__INIT;
    struct errmsg e;
    int rc;

    errmsg_clear(&e);
    resp.id = r->id;
    if (w->code < 0) {
        resp.applied_index = log_applied_index(nc->oc.ops->log);
        rc = errmsg_set(&e, w->code, "the write was not applied: %s", cr_strerror(w->code));
    } else {
        resp.applied_index = w->index;
        rc = write_result(r, &resp, &e);
    }
    if (rc < 0) {
        Cirrus__Response__ResultCase keep = resp.result_case;
        set_error(&resp, rc, &e);
        if ((r->op == CIRRUS__REQUEST__OP_BATCH_WRITE ||
             r->op == CIRRUS__REQUEST__OP_WRITE_DOCUMENTS) &&
            w->code == 0)
            resp.result_case = keep; /* the per-operation results say which one failed */
    }
    send_response(nc, &resp);
    CR_ASSERT(nc->inflight > 0);
    nc->inflight--;
    req_put(nc, r);
    nc->completed(nc->arg);
}

/* ---- graphs ------------------------------------------------------------------------------ */

/* A graph request's state while its write is in flight, allocated before it is proposed. */
struct graph_req {
    struct native_req *r;
    const char *graph;
    struct ops_gremlin_out grem;
    uint32_t vertices, edges; /* load_edges */
};

static struct graph_req *graph_req_new(struct native_req *r, const char *graph)
{
    struct graph_req *g = cr_arena_calloc(&r->arena, sizeof *g);

    if (g) {
        g->r = r;
        g->graph = graph;
        r->table = graph;
        r->graph = g;
        r->w.arena = &r->arena;
        r->w.data = r;
        r->w.done = write_done;
    }
    return g;
}

static int graph_desc_to_pb(const struct graph_def *d, struct cr_arena *a,
                            Cirrus__GraphDescription **out)
{
    Cirrus__GraphDescription *g =
        PB_NEW(a, Cirrus__GraphDescription, CIRRUS__GRAPH_DESCRIPTION__INIT);

    if (!g || !(g->name = cr_arena_strndup(a, d->name, strnlen(d->name, sizeof d->name))))
        return CR_ENOMEM;
    g->graph_id = d->id;
    g->created_ms = d->created_ms;
    g->created_index = d->created_index;
    *out = g;
    return 0;
}

static int graph_response(struct native_req *r, const struct graph_def *d, Cirrus__Response *resp,
                          struct errmsg *e)
{
    Cirrus__GraphResponse *g =
        PB_NEW(&r->arena, Cirrus__GraphResponse, CIRRUS__GRAPH_RESPONSE__INIT);

    if (!g || graph_desc_to_pb(d, &r->arena, &g->graph) < 0)
        return nomem(e);
    switch (r->op) {
    case CIRRUS__REQUEST__OP_CREATE_GRAPH:
        resp->result_case = CIRRUS__RESPONSE__RESULT_CREATE_GRAPH;
        resp->create_graph = g;
        break;
    case CIRRUS__REQUEST__OP_DROP_GRAPH:
        resp->result_case = CIRRUS__RESPONSE__RESULT_DROP_GRAPH;
        resp->drop_graph = g;
        break;
    default:
        resp->result_case = CIRRUS__RESPONSE__RESULT_GET_GRAPH;
        resp->get_graph = g;
        break;
    }
    return 0;
}

static int gremlin_response(struct native_req *r, const struct ops_gremlin_out *o,
                            Cirrus__Response *resp, struct errmsg *e)
{
    Cirrus__GremlinResponse *g =
        PB_NEW(&r->arena, Cirrus__GremlinResponse, CIRRUS__GREMLIN_RESPONSE__INIT);

    if (!g || (o->n && !(g->results = cr_arena_alloc(&r->arena, o->n * sizeof *g->results))))
        return nomem(e);
    g->n_results = o->n;
    for (size_t i = 0; i < o->n; i++)
        if (wire_value_to_pb(&o->results[i], &r->arena, &g->results[i]) < 0)
            return nomem(e);
    g->mutations = (uint32_t)o->n_mutations;
    resp->result_case = CIRRUS__RESPONSE__RESULT_GREMLIN;
    resp->gremlin = g;
    return 0;
}

/* The first failing mutation's code (not CR_EABORTED when another says why), as an error. */
static int graph_apply_error(struct native_req *r, struct errmsg *e)
{
    int first = 0;
    size_t at = 0;

    for (size_t i = 0; i < r->w.n; i++) {
        int code = r->w.results[i].code;

        if (code && (first == 0 || first == CR_EABORTED) && code != first) {
            first = code;
            at = i;
        }
    }
    if (!first)
        return 0;
    switch (first) {
    case CR_ENOCOLL:
        return errmsg_set(e, first, "graph '%.255s' not found", r->table);
    case CR_EEXISTS:
        if (r->op == CIRRUS__REQUEST__OP_CREATE_GRAPH)
            return errmsg_set(e, first, "graph '%.255s' already exists", r->table);
        return errmsg_set(e, first, "mutation %zu: the element already exists; nothing was written",
                          at);
    case CR_ENOTFOUND:
        return errmsg_set(e, first, "mutation %zu: no such element; nothing was written", at);
    default:
        return errmsg_set(e, first, "mutation %zu failed: %s; nothing was written", at,
                          cr_strerror(first));
    }
}

static int graph_write_result(struct graph_req *g, Cirrus__Response *resp, struct errmsg *e)
{
    struct native_req *r = g->r;
    Cirrus__LoadEdgesResponse *l;
    Cirrus__LoadGraphResponse *lg;
    int rc;

    if (r->w.n < 1)
        return errmsg_set(e, CR_EINTERNAL, "the log returned no result");
    rc = graph_apply_error(r, e);
    if (rc < 0)
        return rc;
    switch (r->op) {
    case CIRRUS__REQUEST__OP_CREATE_GRAPH:
    case CIRRUS__REQUEST__OP_DROP_GRAPH:
        return graph_response(r, &r->w.results[0].graph, resp, e);
    case CIRRUS__REQUEST__OP_GREMLIN:
        return gremlin_response(r, &g->grem, resp, e);
    case CIRRUS__REQUEST__OP_LOAD_EDGES:
        l = PB_NEW(&r->arena, Cirrus__LoadEdgesResponse, CIRRUS__LOAD_EDGES_RESPONSE__INIT);
        if (!l)
            return nomem(e);
        l->vertices = g->vertices;
        l->edges = g->edges;
        resp->result_case = CIRRUS__RESPONSE__RESULT_LOAD_EDGES;
        resp->load_edges = l;
        return 0;
    case CIRRUS__REQUEST__OP_LOAD_GRAPH:
        lg = PB_NEW(&r->arena, Cirrus__LoadGraphResponse, CIRRUS__LOAD_GRAPH_RESPONSE__INIT);
        if (!lg)
            return nomem(e);
        lg->vertices = g->vertices;
        lg->edges = g->edges;
        resp->result_case = CIRRUS__RESPONSE__RESULT_LOAD_GRAPH;
        resp->load_graph = lg;
        return 0;
    default:
        return errmsg_set(e, CR_EINTERNAL, "graph write completion for another request");
    }
}

static int graph_propose(struct native_req *r, const char *graph, enum mut_type type,
                         struct errmsg *e)
{
    struct graph_req *g = graph_req_new(r, graph);
    struct mutation mut;
    size_t len = strlen(graph);
    int rc;

    if (!g)
        return nomem(e);
    if (len == 0 || len > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME, "a graph name must be 1..%d bytes", CR_MAX_NAME_LEN);
    memset(&mut, 0, sizeof mut);
    mut.type = type;
    memcpy(mut.graph.name, graph, len + 1);
    rc = ops_write(&r->nc->oc, &mut, 1, &r->w, e);
    return rc < 0 ? rc : PENDING;
}

static int op_create_graph(struct native_req *r, Cirrus__CreateGraphRequest *m,
                           Cirrus__Response *resp, struct errmsg *e)
{
    (void)resp;
    return graph_propose(r, m->name, MUT_CREATE_GRAPH, e);
}

static int op_drop_graph(struct native_req *r, Cirrus__DropGraphRequest *m, Cirrus__Response *resp,
                         struct errmsg *e)
{
    (void)resp;
    return graph_propose(r, m->name, MUT_DROP_GRAPH, e);
}

static int op_get_graph(struct native_req *r, Cirrus__GetGraphRequest *m, Cirrus__Response *resp,
                        struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct graph_def def;
    int rc;

    read_opts(m->read, &ro);
    rc = ops_graph_get(&r->nc->oc, &ro, m->name, &def, &info, e);
    resp->applied_index = info.applied_index;
    return rc < 0 ? rc : graph_response(r, &def, resp, e);
}

static int op_list_graphs(struct native_req *r, Cirrus__ListGraphsRequest *m,
                          Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct graph_def *defs;
    Cirrus__ListGraphsResponse *l;
    size_t n;
    bool more;
    int rc;

    read_opts(m->read, &ro);
    rc = ops_graph_list(&r->nc->oc, &ro, m->exclusive_start, m->limit, &r->arena, &defs, &n, &more,
                        &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    l = PB_NEW(&r->arena, Cirrus__ListGraphsResponse, CIRRUS__LIST_GRAPHS_RESPONSE__INIT);
    if (!l || (n && !(l->graphs = cr_arena_alloc(&r->arena, n * sizeof *l->graphs))))
        return nomem(e);
    l->n_graphs = n;
    for (size_t i = 0; i < n; i++)
        if (graph_desc_to_pb(&defs[i], &r->arena, &l->graphs[i]) < 0)
            return nomem(e);
    if (more && n)
        l->last_evaluated = l->graphs[n - 1]->name;
    resp->result_case = CIRRUS__RESPONSE__RESULT_LIST_GRAPHS;
    resp->list_graphs = l;
    return 0;
}

static int op_gremlin(struct native_req *r, Cirrus__GremlinRequest *m, Cirrus__Response *resp,
                      struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct gremlin_binding *b = NULL;
    struct value *vals = NULL;
    struct ops_gremlin q;
    struct graph_req *g = graph_req_new(r, m->graph);
    int rc;

    if (!g)
        return nomem(e);
    if (m->n_bindings > OPS_GREMLIN_MAX_BINDINGS)
        return errmsg_set(e, CR_ETOOMANY, "%zu bindings; the limit is %d", m->n_bindings,
                          OPS_GREMLIN_MAX_BINDINGS);
    if (m->n_bindings && (!(b = cr_arena_alloc(&r->arena, m->n_bindings * sizeof *b)) ||
                          !(vals = cr_arena_alloc(&r->arena, m->n_bindings * sizeof *vals))))
        return nomem(e);
    for (size_t i = 0; i < m->n_bindings; i++) {
        const Cirrus__GremlinBinding *p = m->bindings[i];

        if (!p->name[0])
            return errmsg_set(e, CR_EINVAL, "binding %zu has no name", i);
        if (!p->value)
            return errmsg_set(e, CR_EINVAL, "binding '%.64s' has no value", p->name);
        rc = wire_value_from_pb(p->value, &r->arena, &vals[i], e);
        if (rc < 0)
            return rc;
        b[i] = (struct gremlin_binding){p->name, strlen(p->name), &vals[i]};
    }
    memset(&q, 0, sizeof q);
    q.graph = m->graph;
    q.text = m->script;
    q.len = strlen(m->script);
    q.bindings = b;
    q.n_bindings = m->n_bindings;
    q.budget = m->budget;
    read_opts(m->read, &ro);
    rc = ops_gremlin(&r->nc->oc, &ro, &q, &r->arena, &g->grem, &r->w, &info, e);
    resp->applied_index = info.applied_index;
    if (rc == OPS_GREMLIN_PROPOSED)
        return PENDING;
    if (rc < 0)
        return rc;
    return gremlin_response(r, &g->grem, resp, e);
}

static enum graph_dir dir_from_pb(Cirrus__GraphDirection d)
{
    return d == CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_OUT    ? GRAPH_OUT
           : d == CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_IN   ? GRAPH_IN
           : d == CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_BOTH ? GRAPH_BOTH
                                                                : (enum graph_dir) - 1;
}

/* The common part of the traversal requests. */
static int walk_from_pb(struct native_req *r, const char *graph, const Cirrus__Value *vertex,
                        Cirrus__GraphDirection dir, char **labels, size_t n_labels,
                        struct ops_graph_walk *q, struct errmsg *e)
{
    struct value *l = NULL;

    memset(q, 0, sizeof *q);
    q->graph = graph;
    if (!vertex)
        return errmsg_set(e, CR_EINVAL, "the request needs a vertex id");
    if (n_labels > CR_MAX_GRAPH_PROPS)
        return errmsg_set(e, CR_ETOOMANY, "%zu labels; the limit is %d", n_labels,
                          CR_MAX_GRAPH_PROPS);
    if (n_labels && !(l = cr_arena_alloc(&r->arena, n_labels * sizeof *l)))
        return nomem(e);
    for (size_t i = 0; i < n_labels; i++)
        l[i] = value_string(labels[i], strlen(labels[i]));
    q->labels = l;
    q->n_labels = n_labels;
    q->dir = dir_from_pb(dir);
    return wire_value_from_pb(vertex, &r->arena, &q->vertex, e);
}

static Cirrus__Value *value_pb(struct native_req *r, const struct value *v)
{
    Cirrus__Value *pb = NULL;

    return wire_value_to_pb(v, &r->arena, &pb) < 0 ? NULL : pb;
}

static int op_neighbors(struct native_req *r, Cirrus__NeighborsRequest *m, Cirrus__Response *resp,
                        struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct ops_graph_walk q;
    struct graph_adj *adj;
    Cirrus__NeighborsResponse *nr;
    size_t n;
    bool more;
    int rc;

    rc = walk_from_pb(r, m->graph, m->vertex, m->direction, m->labels, m->n_labels, &q, e);
    if (rc < 0)
        return rc;
    q.limit = m->limit;
    read_opts(m->read, &ro);
    rc = ops_graph_neighbors(&r->nc->oc, &ro, &q, &r->arena, &adj, &n, &more, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    nr = PB_NEW(&r->arena, Cirrus__NeighborsResponse, CIRRUS__NEIGHBORS_RESPONSE__INIT);
    if (!nr || (n && !(nr->neighbors = cr_arena_alloc(&r->arena, n * sizeof *nr->neighbors))))
        return nomem(e);
    for (size_t i = 0; i < n; i++) {
        Cirrus__Neighbor *x = PB_NEW(&r->arena, Cirrus__Neighbor, CIRRUS__NEIGHBOR__INIT);

        if (!x || !(x->vertex = value_pb(r, &adj[i].neighbour)) ||
            !(x->vertex_label = value_pb(r, &adj[i].neighbour_label)) ||
            !(x->edge = value_pb(r, &adj[i].edge)) || !(x->edge_label = value_pb(r, &adj[i].label)))
            return nomem(e);
        x->direction = adj[i].dir == GRAPH_OUT ? CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_OUT
                                               : CIRRUS__GRAPH_DIRECTION__GRAPH_DIRECTION_IN;
        nr->neighbors[i] = x;
    }
    nr->n_neighbors = n;
    nr->more = more;
    resp->result_case = CIRRUS__RESPONSE__RESULT_NEIGHBORS;
    resp->neighbors = nr;
    return 0;
}

static int op_khop(struct native_req *r, Cirrus__KHopRequest *m, Cirrus__Response *resp,
                   struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct ops_graph_walk q;
    struct value *ids;
    uint32_t *depths;
    Cirrus__KHopResponse *k;
    size_t n;
    int rc;

    rc = walk_from_pb(r, m->graph, m->vertex, m->direction, m->labels, m->n_labels, &q, e);
    if (rc < 0)
        return rc;
    q.limit = m->limit;
    read_opts(m->read, &ro);
    rc = ops_graph_khop(&r->nc->oc, &ro, &q, m->k, &r->arena, &ids, &depths, &n, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    k = PB_NEW(&r->arena, Cirrus__KHopResponse, CIRRUS__KHOP_RESPONSE__INIT);
    if (!k || (n && !(k->vertices = cr_arena_alloc(&r->arena, n * sizeof *k->vertices))))
        return nomem(e);
    for (size_t i = 0; i < n; i++)
        if (!(k->vertices[i] = value_pb(r, &ids[i])))
            return nomem(e);
    k->n_vertices = n;
    k->depths = depths;
    k->n_depths = n;
    resp->result_case = CIRRUS__RESPONSE__RESULT_KHOP;
    resp->khop = k;
    return 0;
}

static int op_shortest_path(struct native_req *r, Cirrus__ShortestPathRequest *m,
                            Cirrus__Response *resp, struct errmsg *e)
{
    struct ops_read_opts ro;
    struct ops_read_info info = {0, 0};
    struct ops_graph_walk q;
    struct value to, *path = NULL;
    Cirrus__ShortestPathResponse *s;
    uint64_t visited;
    size_t n;
    int rc;

    rc = walk_from_pb(r, m->graph, m->from, m->direction, m->labels, m->n_labels, &q, e);
    if (rc < 0)
        return rc;
    if (!m->to)
        return errmsg_set(e, CR_EINVAL, "shortest_path needs a target vertex");
    rc = wire_value_from_pb(m->to, &r->arena, &to, e);
    if (rc < 0)
        return rc;
    read_opts(m->read, &ro);
    rc = ops_graph_shortest_path(&r->nc->oc, &ro, &q, &to, m->max_nodes, &r->arena, &path, &n,
                                 &visited, &info, e);
    resp->applied_index = info.applied_index;
    if (rc < 0)
        return rc;
    s = PB_NEW(&r->arena, Cirrus__ShortestPathResponse, CIRRUS__SHORTEST_PATH_RESPONSE__INIT);
    if (!s || (n && !(s->path = cr_arena_alloc(&r->arena, n * sizeof *s->path))))
        return nomem(e);
    for (size_t i = 0; i < n; i++)
        if (!(s->path[i] = value_pb(r, &path[i])))
            return nomem(e);
    s->n_path = n;
    s->found = n > 0;
    s->visited = visited;
    resp->result_case = CIRRUS__RESPONSE__RESULT_SHORTEST_PATH;
    resp->shortest_path = s;
    return 0;
}

static int op_load_edges(struct native_req *r, Cirrus__LoadEdgesRequest *m, Cirrus__Response *resp,
                         struct errmsg *e)
{
    struct graph_req *g = graph_req_new(r, m->graph);
    struct ops_load_edge *edges = NULL;
    int rc;

    (void)resp;
    if (!g)
        return nomem(e);
    if (m->n_edges > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu edges in one load; the limit is %d", m->n_edges,
                          CR_MAX_BATCH_MUTATIONS);
    if (m->n_edges && !(edges = cr_arena_alloc(&r->arena, m->n_edges * sizeof *edges)))
        return nomem(e);
    for (size_t i = 0; i < m->n_edges; i++) {
        const Cirrus__LoadEdge *x = m->edges[i];

        edges[i].src = value_string(x->src, strlen(x->src));
        edges[i].dst = value_string(x->dst, strlen(x->dst));
        edges[i].label.type = VT_NULL;
        if (x->label[0])
            edges[i].label = value_string(x->label, strlen(x->label));
    }
    g->edges = (uint32_t)m->n_edges;
    rc = ops_graph_load(&r->nc->oc, m->graph, edges, m->n_edges, m->vertex_label, &r->arena, &r->w,
                        &g->vertices, e);
    return rc < 0 ? rc : PENDING;
}

/* A string field as an id or label: empty is VT_NULL (the default). */
static struct value str_or_null(const char *s)
{
    struct value v;

    if (s[0])
        return value_string(s, strlen(s));
    v.type = VT_NULL;
    return v;
}

/* The wire form of one vertex or edge: its properties decoded (each value checked by
 * wire_value_from_pb), the rest as str_or_null; ops_graph_load_elements checks what remains. */
static int element_from_pb(struct native_req *r, Cirrus__LoadProperty *const *props, size_t n,
                           struct ops_load_element *x, struct errmsg *e)
{
    struct graph_prop *p = NULL;
    int rc;

    if (n && !(p = cr_arena_calloc(&r->arena, n * sizeof *p)))
        return nomem(e);
    for (size_t i = 0; i < n; i++) {
        if (!props[i]->value)
            return errmsg_set(e, CR_EINVAL, "property '%s' has no value", props[i]->key);
        rc = wire_value_from_pb(props[i]->value, &r->arena, &p[i].value, e);
        if (rc < 0)
            return rc;
        p[i].key = value_string(props[i]->key, strlen(props[i]->key));
        p[i].id.type = VT_NULL;
    }
    x->props = p;
    x->n_props = n;
    return 0;
}

static int op_load_graph(struct native_req *r, Cirrus__LoadGraphRequest *m, Cirrus__Response *resp,
                         struct errmsg *e)
{
    struct graph_req *g = graph_req_new(r, m->graph);
    struct ops_load_element *v = NULL, *ed = NULL;
    int rc;

    (void)resp;
    if (!g)
        return nomem(e);
    if (m->n_vertices + m->n_edges > CR_MAX_BATCH_MUTATIONS)
        return errmsg_set(e, CR_ETOOMANY, "%zu vertices and edges in one load; the limit is %d",
                          m->n_vertices + m->n_edges, CR_MAX_BATCH_MUTATIONS);
    if ((m->n_vertices && !(v = cr_arena_calloc(&r->arena, m->n_vertices * sizeof *v))) ||
        (m->n_edges && !(ed = cr_arena_calloc(&r->arena, m->n_edges * sizeof *ed))))
        return nomem(e);
    for (size_t i = 0; i < m->n_vertices; i++) {
        const Cirrus__LoadVertex *x = m->vertices[i];

        v[i].id = str_or_null(x->id);
        v[i].label = str_or_null(x->label);
        v[i].src.type = v[i].dst.type = VT_NULL;
        rc = element_from_pb(r, x->properties, x->n_properties, &v[i], e);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < m->n_edges; i++) {
        const Cirrus__LoadGraphEdge *x = m->edges[i];

        ed[i].id = str_or_null(x->id);
        ed[i].label = str_or_null(x->label);
        ed[i].src = str_or_null(x->src);
        ed[i].dst = str_or_null(x->dst);
        rc = element_from_pb(r, x->properties, x->n_properties, &ed[i], e);
        if (rc < 0)
            return rc;
    }
    g->vertices = (uint32_t)m->n_vertices;
    g->edges = (uint32_t)m->n_edges;
    rc = ops_graph_load_elements(&r->nc->oc, m->graph, v, m->n_vertices, ed, m->n_edges, &r->arena,
                                 &r->w, e);
    return rc < 0 ? rc : PENDING;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* Every request type: (oneof case, Request field, handler). One list, expanded in dispatch. */
#define NATIVE_OPS(X)                                                                              \
    X(PING, ping, op_ping)                                                                         \
    X(CREATE_TABLE, create_table, op_create_table)                                                 \
    X(DELETE_TABLE, delete_table, op_delete_table)                                                 \
    X(DESCRIBE_TABLE, describe_table, op_describe_table)                                           \
    X(LIST_TABLES, list_tables, op_list_tables)                                                    \
    X(PUT_ITEM, put_item, op_put_item)                                                             \
    X(GET_ITEM, get_item, op_get_item)                                                             \
    X(DELETE_ITEM, delete_item, op_delete_item)                                                    \
    X(QUERY, query, op_query)                                                                      \
    X(SCAN, scan, op_scan)                                                                         \
    X(BATCH_WRITE, batch_write, op_batch_write)                                                    \
    X(STATS, stats, op_stats)                                                                      \
    X(CREATE_COLLECTION, create_collection, op_create_collection)                                  \
    X(DROP_COLLECTION, drop_collection, op_drop_collection)                                        \
    X(GET_COLLECTION, get_collection, op_get_collection)                                           \
    X(LIST_COLLECTIONS, list_collections, op_list_collections)                                     \
    X(WRITE_DOCUMENT, write_document, op_write_document)                                           \
    X(GET_DOCUMENT, get_document, op_get_document)                                                 \
    X(DELETE_DOCUMENT, delete_document, op_delete_document)                                        \
    X(PATCH_DOCUMENT, patch_document, op_patch_document)                                           \
    X(SQL, sql, op_sql)                                                                            \
    X(WRITE_DOCUMENTS, write_documents, op_write_documents)                                        \
    X(CREATE_GRAPH, create_graph, op_create_graph)                                                 \
    X(DROP_GRAPH, drop_graph, op_drop_graph)                                                       \
    X(GET_GRAPH, get_graph, op_get_graph)                                                          \
    X(LIST_GRAPHS, list_graphs, op_list_graphs)                                                    \
    X(GREMLIN, gremlin, op_gremlin)                                                                \
    X(NEIGHBORS, neighbors, op_neighbors)                                                          \
    X(KHOP, khop, op_khop)                                                                         \
    X(SHORTEST_PATH, shortest_path, op_shortest_path)                                              \
    X(LOAD_EDGES, load_edges, op_load_edges)                                                       \
    X(LOAD_GRAPH, load_graph, op_load_graph)                                                       \
    X(CLUSTER_MEMBER, cluster_member, op_cluster_member)                                           \
    X(CLUSTER_FAULT, cluster_fault, op_cluster_fault)

static int dispatch(struct native_req *r, Cirrus__Request *req, Cirrus__Response *resp,
                    struct errmsg *e)
{
    switch (req->op_case) {
#define NATIVE_DISPATCH(CASE, field, fn)                                                           \
    case CIRRUS__REQUEST__OP_##CASE:                                                               \
        return fn(r, req->field, resp, e);
        NATIVE_OPS(NATIVE_DISPATCH)
#undef NATIVE_DISPATCH
    default:
        return errmsg_set(e, CR_EUNKNOWNOP, "request %llu has no operation this server knows",
                          (unsigned long long)req->id);
    }
}

/* The simple reads that may park (ops_conn.park) rather than block their thread for a round:
 * their handlers do nothing before the read begins, so they can run again from the start. */
static bool parkable(int op)
{
    return op == CIRRUS__REQUEST__OP_GET_ITEM || op == CIRRUS__REQUEST__OP_QUERY ||
           op == CIRRUS__REQUEST__OP_SCAN || op == CIRRUS__REQUEST__OP_GET_DOCUMENT;
}

/* Handles one frame; false when its request parked (nothing answered: run it again later). */
static bool handle_frame(struct native_conn *nc, const uint8_t *p, size_t len)
{
    Cirrus__Response resp = CIRRUS__RESPONSE__INIT;
    ProtobufCAllocator pa;
    Cirrus__Request *req;
    struct native_req *r = req_get(nc);
    struct errmsg e;
    int rc;

    errmsg_clear(&e);
    if (!r) {
        ops_note_request(nc->oc.ops);
        errmsg_set(&e, CR_ENOMEM, "out of memory for a request");
        send_error(nc, 0, CR_ENOMEM, &e);
        return true;
    }
    wire_allocator(&pa, &r->arena);
    req = cirrus__request__unpack(&pa, len, p);
    if (!req) {
        ops_note_request(nc->oc.ops);
        errmsg_set(&e, CR_EPROTO, "a frame of %zu bytes is not a Request message", len);
        send_error(nc, 0, CR_EPROTO, &e);
        req_put(nc, r);
        return true;
    }
    r->id = req->id;
    r->op = req->op_case;
    resp.id = req->id;
    nc->oc.park = parkable(req->op_case);
    rc = dispatch(r, req, &resp, &e);
    nc->oc.park = false;
    if (rc == CR_EPARKED) {
        ops_conn_release(&nc->oc);
        req_put(nc, r);
        return false;
    }
    ops_note_request(nc->oc.ops);
    if (rc == PENDING) {
        /* The arena now belongs to the log until write_done. */
        nc->inflight++;
        ops_conn_release(&nc->oc);
        return true;
    }
    if (rc < 0) {
        if (!resp.applied_index)
            resp.applied_index = log_applied_index(nc->oc.ops->log);
        set_error(&resp, rc, &e);
    }
    send_response(nc, &resp);
    ops_conn_release(&nc->oc); /* after encoding: results borrowed from the snapshot */
    req_put(nc, r);
    return true;
}

static enum native_status read_frames(struct native_conn *nc, struct evbuffer *in)
{
    for (;;) {
        uint8_t hdr[4];
        size_t avail;
        uint32_t len;
        const uint8_t *p;

        if (nc->inflight >= nc->max_inflight || evbuffer_get_length(nc->out) >= nc->out_high)
            return NATIVE_BLOCKED;
        avail = evbuffer_get_length(in);
        if (avail < 4)
            return NATIVE_MORE;
        evbuffer_copyout(in, hdr, 4);
        len = cr_get_u32be(hdr);
        if (len > nc->max_frame) {
            struct errmsg e;
            errmsg_set(&e, CR_EFRAMETOOBIG,
                       "frame of %u bytes exceeds the limit of %zu bytes "
                       "(--max-frame)",
                       len, nc->max_frame);
            send_error(nc, 0, CR_EFRAMETOOBIG, &e);
            evbuffer_drain(in, avail);
            return NATIVE_CLOSE;
        }
        if (avail - 4 < len)
            return NATIVE_MORE;
        p = evbuffer_pullup(in, 4 + (ssize_t)len);
        if (!p) {
            struct errmsg e;
            errmsg_set(&e, CR_ENOMEM, "out of memory reading a %u-byte frame", len);
            send_error(nc, 0, CR_ENOMEM, &e);
        } else if (!handle_frame(nc, p + 4, len)) {
            nc->parked = true; /* the frame stays at the head of the input */
            return NATIVE_BLOCKED;
        }
        evbuffer_drain(in, 4 + (size_t)len);
    }
}

/* The frames taken in one call all arrived before it: their STRONG reads share a ReadIndex
 * round (ops_read_batch_begin). */
enum native_status native_read(struct native_conn *nc, struct evbuffer *in)
{
    enum native_status st;

    if (nc->parked) {
        /* Reading stopped while parked (the connection was paused), so everything in the input
         * arrived before the batch began: it all goes on with the batch's arrival. */
        if (!native_parked_ready(nc))
            return NATIVE_BLOCKED;
        nc->parked = false;
    } else {
        ops_read_batch_begin(&nc->oc);
    }
    st = read_frames(nc, in);
    if (!nc->parked)
        ops_read_batch_end(&nc->oc);
    return st;
}

void native_conn_init(struct native_conn *nc, struct ops *o, struct log_completer *completer,
                      struct evbuffer *out, size_t max_frame, size_t max_inflight, size_t out_high,
                      void (*completed)(void *), void *arg)
{
    memset(nc, 0, sizeof *nc);
    ops_conn_init(o, completer, &nc->oc);
    nc->out = out;
    nc->max_frame = max_frame;
    nc->max_inflight = max_inflight;
    nc->out_high = out_high;
    nc->completed = completed;
    nc->arg = arg;
}

void native_conn_close(struct native_conn *nc)
{
    struct native_req *r, *next;

    CR_ASSERT(nc->inflight == 0);
    for (r = nc->cache; r; r = next) {
        next = r->next;
        cr_arena_free(&r->arena);
        free(r);
    }
    nc->cache = NULL;
    nc->n_cache = 0;
    ops_conn_close(&nc->oc);
}
