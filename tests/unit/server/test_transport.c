/* The peer transport, on 127.0.0.1 ephemeral ports in one process and one event base: three
 * nodes exchange messages in every direction, in order; a restarted peer is reconnected to; a
 * corrupted frame closes only its connection and the next one works; a wrong cluster id or
 * node id is refused; a full queue drops instead of growing, whether the peer never answers the
 * hello or stops reading; faults partition (both ways or one), delay (in order, never early) and
 * lose frames of every kind, and a heal restores delivery. Every wait is bounded. */
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "server/net.h"
#include "server/repl/transport.h"

#include <event2/event.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define CLUSTER 0xc1
#define WAIT_MS 5000
#define MAX_ID 16

struct node {
    struct transport *t;
    uint64_t id;
    size_t got[MAX_ID];
    uint64_t last_ctx[MAX_ID];
    bool out_of_order;
    size_t entries_ok;
    size_t chunks_ok;               /* chunks whose bytes and fields arrived intact */
    size_t forwards_ok, results_ok; /* forward frames, each after message 150 of its sender */
    int64_t first_ms[MAX_ID];       /* when the first message from each sender arrived */
    int64_t first_age_ms[MAX_ID];   /* its age on arrival: now minus its sending stamp */
    size_t chunks, forwards;        /* every chunk and forward frame, whatever its content */
};

static struct event_base *base;

static int64_t now_ms(void);

static void on_recv(void *data, const struct raft_msg *m, uint64_t sent_ms)
{
    struct node *n = data;

    assert_int_equal(m->to, n->id);
    assert_true(m->from < MAX_ID);
    if (n->got[m->from] && m->context <= n->last_ctx[m->from])
        n->out_of_order = true;
    n->last_ctx[m->from] = m->context;
    /* a transport stamps its sender's wall clock at queueing: never in the future here (frames
     * the tests forge by hand carry none) */
    assert_true(sent_ms <= cr_wall_ms());
    if (n->got[m->from]++ == 0) {
        n->first_ms[m->from] = now_ms();
        n->first_age_ms[m->from] = (int64_t)(cr_wall_ms() - sent_ms);
    }
    if (m->type == RAFT_MSG_APPEND && m->n_entries == 2 && m->entries[1].len == 5 &&
        memcmp(m->entries[1].data, "hello", 5) == 0)
        n->entries_ok++;
}

static uint8_t chunk_data[100000];

static void on_chunk(void *data, uint64_t from, const struct raftwire_chunk *c)
{
    struct node *n = data;

    n->chunks++;
    if (from == 1 && c->index == 50 && c->term == 3 && c->total == sizeof chunk_data &&
        c->offset + c->len <= sizeof chunk_data &&
        memcmp(c->data, chunk_data + c->offset, c->len) == 0)
        n->chunks_ok++;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

/* Runs the loop until pred(arg) holds (true) or ms pass (false). */
static bool run_until(bool (*pred)(void *), void *arg, int ms)
{
    struct event *wake = event_new(base, -1, EV_PERSIST, wake_cb, NULL);
    struct timeval tv = {0, 5000};
    int64_t end = now_ms() + ms;
    bool ok;

    assert_non_null(wake);
    event_add(wake, &tv);
    while (!(ok = pred(arg)) && now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(wake);
    return ok;
}

static void on_forward(void *data, const struct raftwire_frame *f)
{
    struct node *n = data;

    assert_int_equal(f->fwd.to, n->id);
    n->forwards++;
    if (f->fwd.from >= MAX_ID || n->last_ctx[f->fwd.from] != 150 || f->fwd.seq != f->fwd.from)
        return;
    if (f->kind == RAFTWIRE_FORWARD && f->fwd.len == 5 && memcmp(f->fwd.data, "write", 5) == 0)
        n->forwards_ok++;
    if (f->kind == RAFTWIRE_FORWARD_RESULT && f->fwd.index == 77 && f->fwd.term == 2)
        n->results_ok++;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static void node_start(struct node *n, uint64_t id, uint64_t cluster, uint16_t port,
                       const struct transport_options *extra)
{
    struct transport_options opt = {0};
    struct transport_callbacks cb = {
        .recv = on_recv, .chunk = on_chunk, .forward = on_forward, .data = n};

    if (extra)
        opt = *extra;
    memset(n, 0, sizeof *n);
    n->id = id;
    opt.cluster_id = cluster;
    opt.node_id = id;
    opt.listen_host = "127.0.0.1";
    opt.listen_port = port;
    if (!opt.backoff_max_ms) {
        opt.backoff_min_ms = 10;
        opt.backoff_max_ms = 100;
    }
    assert_int_equal(transport_new(base, &opt, &cb, &n->t), 0);
    assert_true(transport_port(n->t) != 0);
}

static struct raft_msg heartbeat(uint64_t from, uint64_t to, uint64_t ctx)
{
    return (struct raft_msg){
        .type = RAFT_MSG_HEARTBEAT, .from = from, .to = to, .term = 1, .context = ctx};
}

struct pair {
    struct node *a;
    uint64_t to;
};

static bool connected(void *arg)
{
    struct pair *p = arg;
    struct transport_peer_info info;

    return transport_peer_info(p->a->t, p->to, &info) == 0 && info.connected;
}

struct count {
    struct node *n;
    uint64_t from;
    size_t want;
};

static bool got_enough(void *arg)
{
    struct count *c = arg;

    return c->n->got[c->from] >= c->want;
}

static int setup(void **state)
{
    (void)state;
    cr_log_set_level(CR_LOG_OFF);
    base = net_base_new();
    return base ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    event_base_free(base);
    return 0;
}

/* Three nodes, every one sending to both others, messages delivered in order (a forward and a
 * forward result among them). */
static void test_all_directions(void **state)
{
    struct node n[3];
    static const uint8_t conf[1] = {0};
    struct raft_entry ents[2] = {
        {.term = 1, .index = 8, .data = conf, .len = 0},
        {.term = 1, .index = 9, .data = (const uint8_t *)"hello", .len = 5}};

    (void)state;
    for (int i = 0; i < 3; i++)
        node_start(&n[i], (uint64_t)i + 1, CLUSTER, 0, NULL);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                assert_int_equal(
                    transport_add_peer(n[i].t, n[j].id, "127.0.0.1", transport_port(n[j].t)), 0);
    assert_int_equal(transport_add_peer(n[0].t, 2, "127.0.0.1", 1), CR_EEXISTS);
    assert_int_equal(transport_add_peer(n[0].t, 1, "127.0.0.1", 1), CR_EINVAL);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            struct pair p = {&n[i], n[j].id};

            if (i != j)
                assert_true(run_until(connected, &p, WAIT_MS));
        }
    for (uint64_t k = 1; k <= 200; k++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                struct raft_msg m = heartbeat(n[i].id, n[j].id, k);

                if (i == j)
                    continue;
                if (k == 100) {
                    m.type = RAFT_MSG_APPEND;
                    m.index = 7;
                    m.entries = ents;
                    m.n_entries = 2;
                }
                assert_int_equal(transport_send(n[i].t, &m), 0);
                if (k == 150) {
                    struct raftwire_frame f = {.kind = RAFTWIRE_FORWARD};

                    f.fwd = (struct raftwire_forward){.from = n[i].id,
                                                      .to = n[j].id,
                                                      .seq = n[i].id,
                                                      .data = (const uint8_t *)"write",
                                                      .len = 5};
                    assert_int_equal(transport_send_forward(n[i].t, &f), 0);
                    f.kind = RAFTWIRE_FORWARD_RESULT;
                    f.fwd = (struct raftwire_forward){
                        .from = n[i].id, .to = n[j].id, .seq = n[i].id, .index = 77, .term = 2};
                    assert_int_equal(transport_send_forward(n[i].t, &f), 0);
                    f.fwd.from = n[j].id; /* not from this node */
                    assert_int_equal(transport_send_forward(n[i].t, &f), CR_EINVAL);
                    f.fwd.from = n[i].id;
                    f.kind = RAFTWIRE_HELLO; /* not a forward */
                    assert_int_equal(transport_send_forward(n[i].t, &f), CR_EINVAL);
                }
            }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            struct count c = {&n[j], n[i].id, 200};

            if (i != j)
                assert_true(run_until(got_enough, &c, WAIT_MS));
        }
    for (int i = 0; i < 3; i++) {
        struct transport_stats st;

        assert_false(n[i].out_of_order);
        assert_int_equal(n[i].entries_ok, 2);
        assert_int_equal(n[i].forwards_ok, 2);
        assert_int_equal(n[i].results_ok, 2);
        transport_get_stats(n[i].t, &st);
        assert_int_equal(st.received, 404);
        assert_int_equal(st.sent, 404);
        assert_int_equal(st.bad_frames + st.dropped_full + st.dropped_down, 0);
        assert_int_equal(st.connects, 2);
        assert_int_equal(st.accepted, 2);
    }
    for (int i = 0; i < 3; i++)
        transport_free(n[i].t);
}

struct stat_wait {
    struct node *n;
    size_t offset; /* of a counter in struct transport_stats */
    uint64_t want;
};

static bool stat_reached(void *arg)
{
    struct stat_wait *w = arg;
    struct transport_stats st;
    uint64_t v;

    transport_get_stats(w->n->t, &st);
    memcpy(&v, (const char *)&st + w->offset, sizeof v);
    return v >= w->want;
}

#define WAIT_STAT(node, field, value)                                                              \
    do {                                                                                           \
        struct stat_wait w_ = {(node), offsetof(struct transport_stats, field), (value)};          \
        assert_true(run_until(stat_reached, &w_, WAIT_MS));                                        \
    } while (0)

struct resend {
    struct node *a, *b;
    uint64_t ctx;
};

/* Sends one heartbeat a -> b per loop turn until b has one. */
static bool resend_until_got(void *arg)
{
    struct resend *r = arg;
    struct raft_msg m = heartbeat(r->a->id, r->b->id, ++r->ctx);

    if (r->b->got[r->a->id] > 0)
        return true;
    transport_send(r->a->t, &m);
    return false;
}

/* A peer that goes away and comes back on the same port is dialed again. */
static void test_peer_restart(void **state)
{
    struct node a, b;
    struct resend r = {&a, &b, 0};
    struct pair p = {&a, 2};
    struct transport_stats st;
    struct transport_peer_info info;
    struct raft_msg m = heartbeat(1, 2, 1);
    uint16_t port;

    (void)state;
    node_start(&a, 1, CLUSTER, 0, NULL);
    node_start(&b, 2, CLUSTER, 0, NULL);
    port = transport_port(b.t);
    assert_int_equal(transport_add_peer(a.t, 2, "127.0.0.1", port), 0);
    assert_true(run_until(resend_until_got, &r, WAIT_MS));
    transport_free(b.t);
    /* a notices the loss, then fails to reconnect */
    WAIT_STAT(&a, connect_failures, 2);
    assert_false(connected(&p));
    /* the backoff grew from its minimum (10 ms) and stays under its maximum (100 ms) */
    assert_int_equal(transport_peer_info(a.t, 2, &info), 0);
    assert_true(info.backoff_ms > 10 && info.backoff_ms <= 100);
    assert_int_not_equal(transport_send(a.t, &m), CR_ENOTFOUND);
    node_start(&b, 2, CLUSTER, port, NULL);
    r.ctx = 100;
    assert_true(run_until(resend_until_got, &r, WAIT_MS));
    transport_get_stats(a.t, &st);
    assert_int_equal(st.connects, 2);
    transport_free(a.t);
    transport_free(b.t);
}

/* ---- a hand-driven peer over a plain socket ---- */

static int raw_connect(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void raw_frame(int fd, const struct raftwire_frame *f)
{
    struct cr_buf b;

    cr_buf_init(&b);
    assert_int_equal(raftwire_encode(f, &b), 0);
    raw_send(fd, b.data, b.len);
    cr_buf_free(&b);
}

static void raw_hello(int fd, uint64_t cluster, uint64_t node)
{
    struct raftwire_frame f = {.kind = RAFTWIRE_HELLO, .hello = {cluster, node, RAFTWIRE_VERSION}};

    raw_frame(fd, &f);
}

/* Reads what the other side sent until it closes: returns the byte count, or -1 when it has
 * not closed within ms. */
static ssize_t raw_until_eof(int fd, int ms)
{
    ssize_t total = 0;
    int64_t end = now_ms() + ms;

    while (now_ms() < end) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char buf[4096];
        ssize_t n;

        event_base_loop(base, EVLOOP_NONBLOCK);
        if (poll(&pfd, 1, 5) <= 0)
            continue;
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return total;
        total += n;
    }
    return -1;
}

/* A corrupted frame closes its connection (after the hello reply) and is counted; a frame too
 * long and a frame of garbage with a right checksum too; a new connection then works. */
static void test_corrupt_frame(void **state)
{
    struct node a;
    struct raft_msg m = heartbeat(9, 1, 1);
    struct raftwire_frame f = {.kind = RAFTWIRE_MESSAGE, .msg = m};
    struct cr_buf b;
    struct count c = {&a, 9, 1};
    uint8_t huge[RAFTWIRE_HDR] = {0x7f, 0xff, 0xff, 0xff};
    uint8_t garbage[RAFTWIRE_HDR + 6] = {0, 0, 0, 6};
    int fd;

    (void)state;
    node_start(&a, 1, CLUSTER, 0, NULL);
    cr_buf_init(&b);
    assert_int_equal(raftwire_encode(&f, &b), 0);
    b.data[b.len - 1] ^= 1; /* the checksum no longer matches */
    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER, 9);
    WAIT_STAT(&a, accepted, 1);
    raw_send(fd, b.data, b.len);
    WAIT_STAT(&a, bad_frames, 1);
    assert_true(raw_until_eof(fd, WAIT_MS) > 0); /* a's hello came, then the close */
    close(fd);

    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER, 9);
    raw_send(fd, huge, sizeof huge);
    WAIT_STAT(&a, bad_frames, 2);
    assert_true(raw_until_eof(fd, WAIT_MS) >= 0);
    close(fd);

    memcpy(garbage + RAFTWIRE_HDR, "\xff\xff\xff\xff\xff\xff", 6);
    cr_put_u64be(garbage + 4, cr_hash64(garbage + RAFTWIRE_HDR, 6));
    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER, 9);
    raw_send(fd, garbage, sizeof garbage);
    WAIT_STAT(&a, bad_frames, 3);
    assert_true(raw_until_eof(fd, WAIT_MS) >= 0);
    close(fd);

    /* a message claiming another sender than the hello's is refused as well */
    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER, 8);
    b.data[b.len - 1] ^= 1;
    raw_send(fd, b.data, b.len);
    WAIT_STAT(&a, bad_frames, 4);
    assert_true(raw_until_eof(fd, WAIT_MS) >= 0);
    close(fd);
    assert_int_equal(a.got[9], 0);

    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER, 9);
    raw_send(fd, b.data, b.len);
    assert_true(run_until(got_enough, &c, WAIT_MS));
    close(fd);
    cr_buf_free(&b);
    transport_free(a.t);
}

/* Another cluster's node is refused on both sides, and so is a listener that is not the node
 * dialed; nothing from them is delivered. */
static void test_wrong_cluster_and_node(void **state)
{
    struct node a, d, b;
    struct raft_msg m = heartbeat(4, 1, 1);
    struct transport_stats st;
    int fd;

    (void)state;
    node_start(&a, 1, CLUSTER, 0, NULL);
    node_start(&d, 4, CLUSTER + 1, 0, NULL);
    node_start(&b, 2, CLUSTER, 0, NULL);
    assert_int_equal(transport_add_peer(d.t, 1, "127.0.0.1", transport_port(a.t)), 0);
    assert_int_equal(transport_add_peer(a.t, 4, "127.0.0.1", transport_port(d.t)), 0);
    WAIT_STAT(&a, refused_hellos, 2);
    WAIT_STAT(&d, refused_hellos, 2);
    WAIT_STAT(&d, connect_failures, 2);
    transport_send(d.t, &m);
    run_until(never, NULL, 50);
    assert_int_equal(a.got[4], 0);
    transport_get_stats(a.t, &st);
    assert_int_equal(st.accepted + st.connects + st.received, 0);

    /* a dials "node 5" at b's address: b answers as node 2 */
    assert_int_equal(transport_add_peer(a.t, 5, "127.0.0.1", transport_port(b.t)), 0);
    transport_get_stats(a.t, &st);
    WAIT_STAT(&a, refused_hellos, st.refused_hellos + 2);
    transport_get_stats(a.t, &st);
    assert_int_equal(st.connects, 0);

    /* a raw dialer of another cluster is closed without an answer */
    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER + 7, 9);
    assert_int_equal(raw_until_eof(fd, WAIT_MS), 0);
    close(fd);
    transport_free(a.t);
    transport_free(d.t);
    transport_free(b.t);
}

static int raw_listen(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rcvbuf = 64 * 1024;

    assert_true(fd >= 0);
    /* a fixed receive buffer (no autotuning), inherited by the accepted socket */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* The queue bound: a peer that never answers the hello, then one that completes it and stops
 * reading. Messages beyond the bound are refused with CR_EOVERLOAD and counted; the queue never
 * holds more than the bound. */
static void test_queue_bound(void **state)
{
    struct transport_options opt = {.max_queue_msgs = 100,
                                    .max_queue_bytes = 1u << 20,
                                    .backoff_min_ms = 10,
                                    .backoff_max_ms = 100};
    struct node a;
    struct transport_peer_info info;
    struct transport_stats st;
    static uint8_t big[64 * 1024];
    struct raft_entry ent = {.term = 1, .index = 1, .data = big, .len = sizeof big};
    uint16_t port;
    int lfd = raw_listen(&port), fd;
    size_t refused = 0;

    (void)state;
    node_start(&a, 1, CLUSTER, 0, &opt);
    assert_int_equal(transport_add_peer(a.t, 7, "127.0.0.1", port), 0);
    run_until(never, NULL, 50); /* connected, hello sent, no answer ever */
    {
        /* a forwarded write waits for a connection known to work: refused, not queued */
        struct raftwire_frame f = {.kind = RAFTWIRE_FORWARD};

        f.fwd = (struct raftwire_forward){
            .from = 1, .to = 7, .seq = 1, .data = (const uint8_t *)"write", .len = 5};
        assert_int_equal(transport_send_forward(a.t, &f), CR_ECLOSED);
    }
    for (uint64_t k = 1; k <= 1000; k++) {
        struct raft_msg m = heartbeat(1, 7, k);
        int rc = transport_send(a.t, &m);

        assert_true(rc == 0 || rc == CR_EOVERLOAD);
        refused += rc == CR_EOVERLOAD;
    }
    assert_int_equal(refused, 900);
    assert_int_equal(transport_peer_info(a.t, 7, &info), 0);
    assert_int_equal(info.queued_msgs, 100);
    transport_get_stats(a.t, &st);
    assert_int_equal(st.dropped_full, 900);

    /* complete the handshake by hand, then never read */
    fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    raw_hello(fd, CLUSTER, 7);
    {
        struct pair p = {&a, 7};

        assert_true(run_until(connected, &p, WAIT_MS));
    }
    refused = 0;
    for (int k = 0; k < 400; k++) {
        struct raft_msg m = {.type = RAFT_MSG_APPEND,
                             .from = 1,
                             .to = 7,
                             .term = 1,
                             .entries = &ent,
                             .n_entries = 1};
        int rc = transport_send(a.t, &m);

        assert_true(rc == 0 || rc == CR_EOVERLOAD);
        refused += rc == CR_EOVERLOAD;
        event_base_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(transport_peer_info(a.t, 7, &info), 0);
        assert_true(info.connected);
        assert_true(info.queued_bytes <= opt.max_queue_bytes);
        assert_true(info.queued_msgs <= opt.max_queue_msgs);
    }
    /* 400 x 64 KiB is far more than the socket buffers (the sender's up to 4 MiB by default),
     * the output chunk and the queue hold */
    assert_true(refused >= 200);
    transport_get_stats(a.t, &st);
    assert_int_equal(st.dropped_full, 900 + refused);
    assert_int_equal(st.sent, 100 + 400 - refused);
    close(fd);
    close(lfd);
    transport_free(a.t);
}

static bool chunks_arrived(void *arg)
{
    return ((struct node *)arg)->chunks_ok == 2;
}

/* Snapshot chunks reach the chunk callback intact; a removed peer is no longer sent to. */
static void test_chunks_and_remove(void **state)
{
    struct node a, b;
    struct pair p = {&a, 2};
    struct raftwire_chunk c = {.index = 50, .term = 3, .total = sizeof chunk_data};
    struct raft_msg m = heartbeat(1, 2, 1);

    (void)state;
    for (size_t i = 0; i < sizeof chunk_data; i++)
        chunk_data[i] = (uint8_t)(i * 7);
    node_start(&a, 1, CLUSTER, 0, NULL);
    node_start(&b, 2, CLUSTER, 0, NULL);
    assert_int_equal(transport_add_peer(a.t, 2, "127.0.0.1", transport_port(b.t)), 0);
    assert_true(run_until(connected, &p, WAIT_MS));
    c.offset = 0;
    c.len = 60000;
    c.data = chunk_data;
    c.checksum = cr_hash64(c.data, c.len);
    assert_int_equal(transport_send_chunk(a.t, 2, &c), 0);
    c.offset = 60000;
    c.len = sizeof chunk_data - 60000;
    c.data = chunk_data + c.offset;
    c.checksum = cr_hash64(c.data, c.len);
    assert_int_equal(transport_send_chunk(a.t, 2, &c), 0);
    c.checksum++;
    assert_int_equal(transport_send_chunk(a.t, 2, &c), CR_EINVAL);
    assert_true(run_until(chunks_arrived, &b, WAIT_MS));
    assert_int_equal(transport_remove_peer(a.t, 2), 0);
    assert_int_equal(transport_remove_peer(a.t, 2), CR_ENOTFOUND);
    assert_int_equal(transport_send(a.t, &m), CR_ENOTFOUND);
    m.from = 3;
    assert_int_equal(transport_send(a.t, &m), CR_EINVAL); /* not from this node */
    transport_free(a.t);
    transport_free(b.t);
}

/* Handshakes are bounded in time on both sides, a connection that fails drops its queue, and a
 * newer connection from a node replaces the older one. */
static void test_timeouts_and_replacement(void **state)
{
    struct transport_options opt = {
        .handshake_ms = 100, .backoff_min_ms = 1000, .backoff_max_ms = 1000};
    struct node a;
    struct transport_stats st;
    uint16_t port;
    int lfd = raw_listen(&port), fd, fd2;

    (void)state;
    node_start(&a, 1, CLUSTER, 0, &opt);
    /* a peer that accepts the connection (backlog) but never answers the hello */
    assert_int_equal(transport_add_peer(a.t, 7, "127.0.0.1", port), 0);
    for (uint64_t k = 1; k <= 5; k++) {
        struct raft_msg m = heartbeat(1, 7, k);

        assert_int_equal(transport_send(a.t, &m), 0);
    }
    WAIT_STAT(&a, connect_failures, 1);
    transport_get_stats(a.t, &st);
    assert_int_equal(st.dropped_down, 5);
    {
        struct raft_msg m = heartbeat(1, 7, 9);

        assert_int_equal(transport_send(a.t, &m), CR_ECLOSED); /* waiting out the backoff */
    }
    /* a dialer that never says hello is closed by the listener */
    fd = raw_connect(transport_port(a.t));
    assert_int_equal(raw_until_eof(fd, WAIT_MS), 0);
    close(fd);
    /* node 9 connects twice: the first connection is closed */
    fd = raw_connect(transport_port(a.t));
    raw_hello(fd, CLUSTER, 9);
    WAIT_STAT(&a, accepted, 1);
    fd2 = raw_connect(transport_port(a.t));
    raw_hello(fd2, CLUSTER, 9);
    WAIT_STAT(&a, accepted, 2);
    assert_true(raw_until_eof(fd, WAIT_MS) > 0); /* the hello answer, then the close */
    close(fd);
    close(fd2);
    close(lfd);
    transport_free(a.t);
}

/* ---- faults ---- */

/* Starts k nodes (ids 1..k) with opt, every one a peer of every other, and waits until every
 * connection is up. */
static void mesh(struct node *n, int k, const struct transport_options *opt)
{
    for (int i = 0; i < k; i++)
        node_start(&n[i], (uint64_t)i + 1, CLUSTER, 0, opt);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            if (i != j)
                assert_int_equal(
                    transport_add_peer(n[i].t, n[j].id, "127.0.0.1", transport_port(n[j].t)), 0);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            struct pair p = {&n[i], n[j].id};

            if (i != j)
                assert_true(run_until(connected, &p, WAIT_MS));
        }
}

/* count heartbeats from a to b, contexts from ctx on */
static void send_n(struct node *a, struct node *b, uint64_t ctx, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        struct raft_msg m = heartbeat(a->id, b->id, ctx + k);

        assert_int_equal(transport_send(a->t, &m), 0);
    }
}

/* One snapshot chunk and one forward frame from a to b: the other frame kinds. */
static void send_other_kinds(struct node *a, struct node *b)
{
    static const uint8_t data[3] = {1, 2, 3};
    struct raftwire_chunk c = {.index = 9, .term = 1, .total = 3, .len = 3, .data = data};
    struct raftwire_frame f = {.kind = RAFTWIRE_FORWARD};

    c.checksum = cr_hash64(data, 3);
    assert_int_equal(transport_send_chunk(a->t, b->id, &c), 0);
    f.fwd = (struct raftwire_forward){
        .from = a->id, .to = b->id, .seq = 1, .data = (const uint8_t *)"write", .len = 5};
    assert_int_equal(transport_send_forward(a->t, &f), 0);
}

static void set_fault(struct node *a, struct transport_fault f)
{
    assert_int_equal(transport_set_faults(a->t, &f, 1), 0);
}

/* A partition both ways between nodes 1 and 2, node 3 unaffected: every kind of frame between 1
 * and 2 is lost and counted, on each side, while 1 and 3 talk; a heal restores 1 <-> 2. Bad
 * fault sets are refused and change nothing. */
static void test_fault_partition(void **state)
{
    struct node n[3];
    struct transport_fault bad[2] = {{.peer = 2, .drop_out = true}, {.peer = 2, .drop_in = true}};
    struct transport_fault got[TRANSPORT_MAX_PEERS];
    struct transport_stats st;
    struct count c31 = {&n[0], 3, 50}, c13 = {&n[2], 1, 50}, c12 = {&n[1], 1, 10},
                 c21 = {&n[0], 2, 10};
    size_t k;

    (void)state;
    mesh(n, 3, NULL);
    set_fault(&n[0], (struct transport_fault){.peer = 2, .drop_out = true, .drop_in = true});
    /* refused: a peer twice, peer 0, this node, a rate above 100, a delay above the limit */
    assert_int_equal(transport_set_faults(n[0].t, bad, 2), CR_EINVAL);
    bad[1] = (struct transport_fault){.peer = 0, .drop_in = true};
    assert_int_equal(transport_set_faults(n[0].t, bad, 2), CR_EINVAL);
    bad[1].peer = 1;
    assert_int_equal(transport_set_faults(n[0].t, bad, 2), CR_EINVAL);
    bad[1] = (struct transport_fault){.peer = 3, .loss_pct = 101};
    assert_int_equal(transport_set_faults(n[0].t, bad, 2), CR_EINVAL);
    bad[1] = (struct transport_fault){.peer = 3, .delay_ms = TRANSPORT_MAX_FAULT_MS + 1};
    assert_int_equal(transport_set_faults(n[0].t, bad, 2), CR_EINVAL);
    transport_get_faults(n[0].t, got, &k);
    assert_int_equal(k, 1);
    assert_true(got[0].peer == 2 && got[0].drop_out && got[0].drop_in && !got[0].delay_ms);

    send_n(&n[0], &n[1], 1, 50);
    send_other_kinds(&n[0], &n[1]);
    send_n(&n[1], &n[0], 1, 50);
    send_other_kinds(&n[1], &n[0]);
    send_n(&n[0], &n[2], 1, 50);
    send_n(&n[2], &n[0], 1, 50);
    assert_true(run_until(got_enough, &c31, WAIT_MS));
    assert_true(run_until(got_enough, &c13, WAIT_MS));
    WAIT_STAT(&n[0], fault_dropped_in, 52);
    run_until(never, NULL, 50);
    transport_get_stats(n[0].t, &st);
    assert_int_equal(st.fault_dropped_out, 52);
    assert_int_equal(st.fault_dropped_in, 52);
    assert_int_equal(st.received, 50); /* from node 3 only */
    assert_int_equal(n[0].got[2] + n[0].chunks + n[0].forwards, 0);
    assert_int_equal(n[1].got[1] + n[1].chunks + n[1].forwards, 0);
    transport_get_stats(n[1].t, &st);
    assert_int_equal(st.fault_dropped_out + st.fault_dropped_in, 0); /* node 2 has no fault */

    assert_int_equal(transport_set_faults(n[0].t, NULL, 0), 0);
    transport_get_faults(n[0].t, got, &k);
    assert_int_equal(k, 0);
    send_n(&n[0], &n[1], 100, 10);
    send_n(&n[1], &n[0], 100, 10);
    assert_true(run_until(got_enough, &c12, WAIT_MS));
    assert_true(run_until(got_enough, &c21, WAIT_MS));
    for (int i = 0; i < 3; i++)
        transport_free(n[i].t);
}

/* One-way partitions: drop_out loses 1 -> 2 and keeps 2 -> 1; drop_in the reverse. */
static void test_fault_one_way(void **state)
{
    struct node n[2];
    struct transport_stats st;
    struct count c21 = {&n[0], 2, 20}, c12 = {&n[1], 1, 20};

    (void)state;
    mesh(n, 2, NULL);
    set_fault(&n[0], (struct transport_fault){.peer = 2, .drop_out = true});
    send_n(&n[0], &n[1], 1, 20);
    send_n(&n[1], &n[0], 1, 20);
    assert_true(run_until(got_enough, &c21, WAIT_MS));
    run_until(never, NULL, 50);
    assert_int_equal(n[1].got[1], 0);
    transport_get_stats(n[0].t, &st);
    assert_int_equal(st.fault_dropped_out, 20);
    assert_int_equal(st.sent, 0);

    set_fault(&n[0], (struct transport_fault){.peer = 2, .drop_in = true});
    send_n(&n[0], &n[1], 1, 20);
    send_n(&n[1], &n[0], 100, 20);
    assert_true(run_until(got_enough, &c12, WAIT_MS));
    WAIT_STAT(&n[0], fault_dropped_in, 20);
    assert_int_equal(n[0].got[2], 20); /* the 20 of the first round only */
    for (int i = 0; i < 2; i++)
        transport_free(n[i].t);
}

/* A delay holds frames at least delay_ms, in order (jitter included), within the queue bounds;
 * frames sent after a heal while some are held go behind them; a lost connection drops them. */
static void test_fault_delay(void **state)
{
    struct transport_options opt = {
        .max_queue_msgs = 100, .backoff_min_ms = 10, .backoff_max_ms = 100};
    struct node n[2];
    struct transport_peer_info info;
    struct transport_stats st;
    struct count c = {&n[1], 1, 60};
    size_t refused = 0;
    int64_t t0;

    (void)state;
    mesh(n, 2, &opt);
    set_fault(&n[0], (struct transport_fault){.peer = 2, .delay_ms = 200, .jitter_ms = 50});
    t0 = now_ms();
    send_n(&n[0], &n[1], 1, 40);
    send_other_kinds(&n[0], &n[1]);
    assert_int_equal(transport_peer_info(n[0].t, 2, &info), 0);
    assert_int_equal(info.held_msgs, 42);
    assert_true(info.held_bytes > 0);
    assert_int_equal(info.queued_msgs, 0);
    run_until(never, NULL, 100);
    assert_int_equal(n[1].got[1] + n[1].chunks + n[1].forwards, 0);
    /* heal while 42 are held: the next 20 go behind them, and the queue bound counts them all */
    assert_int_equal(transport_set_faults(n[0].t, NULL, 0), 0);
    for (uint64_t k = 41; k <= 100; k++) {
        struct raft_msg m = heartbeat(1, 2, k);
        int rc = transport_send(n[0].t, &m);

        assert_true(rc == 0 || rc == CR_EOVERLOAD);
        refused += rc == CR_EOVERLOAD;
    }
    /* 42 held + 60 sent with room for 100: the last 2 refused, unless some were released */
    assert_true(refused <= 2);
    c.want = 100 - refused;
    assert_true(run_until(got_enough, &c, WAIT_MS));
    assert_true(n[1].first_ms[1] - t0 >= 200);
    assert_true(n[1].first_age_ms[1] >= 200); /* stamped when queued, not when released */
    assert_false(n[1].out_of_order);
    assert_int_equal(n[1].chunks, 1);
    assert_int_equal(n[1].forwards, 1);
    transport_get_stats(n[0].t, &st);
    assert_int_equal(st.fault_delayed, 42 + 58 - refused + 2);
    assert_int_equal(transport_peer_info(n[0].t, 2, &info), 0);
    assert_int_equal(info.held_msgs + info.held_bytes, 0);
    /* a lost connection drops what was held with the queue */
    set_fault(&n[0], (struct transport_fault){.peer = 2, .delay_ms = 1000});
    send_n(&n[0], &n[1], 200, 5);
    transport_free(n[1].t);
    WAIT_STAT(&n[0], connect_failures, 1);
    assert_int_equal(transport_peer_info(n[0].t, 2, &info), 0);
    assert_int_equal(info.held_msgs + info.held_bytes, 0);
    transport_get_stats(n[0].t, &st);
    assert_int_equal(st.dropped_down, 5);
    transport_free(n[0].t);
}

/* Loss at 30% over 2000 frames: the count lost is within 6 standard deviations (about 20) of
 * 600, and exactly the others arrive; 100% loses everything. */
static void test_fault_loss(void **state)
{
    struct node n[2];
    struct transport_stats st;
    struct count c = {&n[1], 1, 0};

    (void)state;
    mesh(n, 2, NULL);
    set_fault(&n[0], (struct transport_fault){.peer = 2, .loss_pct = 30});
    send_n(&n[0], &n[1], 1, 2000);
    transport_get_stats(n[0].t, &st);
    assert_true(st.fault_lost >= 600 - 120 && st.fault_lost <= 600 + 120);
    assert_int_equal(st.sent + st.fault_lost, 2000);
    c.want = 2000 - st.fault_lost;
    assert_true(run_until(got_enough, &c, WAIT_MS));
    assert_false(n[1].out_of_order);
    set_fault(&n[0], (struct transport_fault){.peer = 2, .loss_pct = 100});
    send_n(&n[0], &n[1], 3000, 100);
    send_other_kinds(&n[0], &n[1]);
    run_until(never, NULL, 50);
    assert_int_equal(n[1].got[1], c.want);
    assert_int_equal(n[1].chunks + n[1].forwards, 0);
    for (int i = 0; i < 2; i++)
        transport_free(n[i].t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_directions),
        cmocka_unit_test(test_peer_restart),
        cmocka_unit_test(test_corrupt_frame),
        cmocka_unit_test(test_wrong_cluster_and_node),
        cmocka_unit_test(test_queue_bound),
        cmocka_unit_test(test_chunks_and_remove),
        cmocka_unit_test(test_timeouts_and_replacement),
        cmocka_unit_test(test_fault_partition),
        cmocka_unit_test(test_fault_one_way),
        cmocka_unit_test(test_fault_delay),
        cmocka_unit_test(test_fault_loss),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
