/*
 * cirrus-experiment: what each read consistency level costs and what it returns on a Raft
 * cluster, and how long a leader's death stops writes (docs/consistency.md, issue 6 item 5).
 *
 *   consistency  one writer sets a few keys to increasing values through the leader; readers
 *                read them on one follower at each level in turn. A read is stale when it returns
 *                a value below the highest one whose write was acknowledged before the read was
 *                sent. Per level: reads, errors, stale reads, latency p50/p99, reads per second;
 *                a table on stdout, DIR/consistency.csv and DIR/consistency.svg.
 *   failover     writers write through the followers; the leader is killed (kill -9, through the
 *                cirrus-cluster script); the time from the kill until a write succeeds again is
 *                measured, every acknowledged write is then read back at STRONG, and the killed
 *                node is restarted. Repeated; DIR/failover.csv.
 *
 * It touches nothing but its own table ("experiment") and, for failover, the nodes it is told
 * to kill and restart. Every wait is bounded; a run stops by itself. It draws only its own
 * chart: no plotting library.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "client/cirrus.h"

#define TABLE "experiment"
#define MAX_KEYS 64
#define MAX_READERS 16
#define MAX_NODES 9
#define MAX_ROUNDS 20
#define KEY_LEN 48
#define ROLE_LEADER 4
#define REQUEST_MS 2000     /* per read or write of the consistency run */
#define FAILOVER_REQ_MS 500 /* per write in a failover: a hung one must not hide the new leader */
#define SETTLE_S 20         /* a leader elected, a restarted node back, the follower caught up */
#define FAILOVER_LIMIT_S 15 /* from the kill until a write succeeds again, or the round fails */

extern char **environ;

enum { LEVELS = 5 };

static const struct {
    enum cirrus_consistency level;
    const char *name;  /* in the table and the CSV */
    const char *label; /* under the chart's bars */
} levels[LEVELS] = {
    {CIRRUS_STRONG, "strong", "strong"},
    {CIRRUS_BOUNDED_STALENESS, "bounded_staleness", "bounded"},
    {CIRRUS_SESSION, "session", "session"},
    {CIRRUS_CONSISTENT_PREFIX, "consistent_prefix", "prefix"},
    {CIRRUS_EVENTUAL, "eventual", "eventual"},
};

struct addr {
    char host[256];
    int port;
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void sleep_ms(int ms)
{
    sleep_ns((int64_t)ms * 1000000);
}

/* "HOST:PORT" into a; 0 or CR_EINVAL. */
static int parse_addr(const char *spec, struct addr *a)
{
    const char *colon = strrchr(spec, ':');
    char *end;
    long port;
    size_t len;

    if (!colon || colon == spec)
        return CR_EINVAL;
    len = (size_t)(colon - spec);
    if (len >= sizeof a->host)
        return CR_EINVAL;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 1 || port > 65535)
        return CR_EINVAL;
    memcpy(a->host, spec, len);
    a->host[len] = '\0';
    a->port = (int)port;
    return 0;
}

/* A non-negative integer option in [lo, hi]; 0 or CR_EINVAL. */
static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return CR_EINVAL;
    *out = v;
    return 0;
}

static int connect_addr(const struct addr *a, int timeout_ms, struct cirrus **out)
{
    return cirrus_connect(a->host, a->port, timeout_ms, out);
}

/* A code after which the connection is unusable (libcirrus: close it). */
static int broken(int rc)
{
    return rc == CR_ECLOSED || rc == CR_EPROTO || rc == CR_ECONNECT;
}

/* Puts {"id": key, "v": v}. 0 or any cirrus_put_item code. */
static int put_value(struct cirrus *c, const char *key, int64_t v)
{
    struct cirrus_value item = {0}, f = {0};
    struct cirrus_result r;
    int rc;

    memset(&r, 0, sizeof r);
    rc = cirrus_value_container(&item, CIRRUS_MAP);
    if (rc == 0)
        rc = cirrus_value_string(&f, key, strlen(key));
    if (rc == 0)
        rc = cirrus_map_set(&item, "id", &f);
    if (rc == 0) {
        cirrus_value_int(&f, v);
        rc = cirrus_map_set(&item, "v", &f);
    }
    if (rc == 0)
        rc = cirrus_put_item(c, TABLE, &item, NULL, &r);
    cirrus_result_free(&r);
    cirrus_value_clear(&f);
    cirrus_value_clear(&item);
    return rc;
}

/* The "v" of item `key` at read options ro into *v; CR_ENOTFOUND when there is no such item,
 * CR_EPROTO when the item has no integer "v", or any cirrus_get_item code. */
static int get_value(struct cirrus *c, const char *key, const struct cirrus_read_opts *ro,
                     int64_t *v)
{
    struct cirrus_value k = {0}, f = {0};
    struct cirrus_result r;
    const struct cirrus_value *got;
    int rc;

    memset(&r, 0, sizeof r);
    rc = cirrus_value_container(&k, CIRRUS_MAP);
    if (rc == 0)
        rc = cirrus_value_string(&f, key, strlen(key));
    if (rc == 0)
        rc = cirrus_map_set(&k, "id", &f);
    if (rc == 0)
        rc = cirrus_get_item(c, TABLE, &k, ro, &r);
    if (rc == 0) {
        got = cirrus_map_get(&r.item, "v");
        if (got && got->type == CIRRUS_INT)
            *v = got->u.i;
        else
            rc = CR_EPROTO;
    }
    cirrus_result_free(&r);
    cirrus_value_clear(&f);
    cirrus_value_clear(&k);
    return rc;
}

static int create_table(struct cirrus *c)
{
    struct cirrus_result r;
    int rc = cirrus_create_table(c, TABLE, "id", CIRRUS_KEY_S, NULL, CIRRUS_KEY_S, &r);

    cirrus_result_free(&r);
    return rc == CR_ETABLEEXISTS ? 0 : rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of n sorted samples; 0 when there are none. */
static uint32_t quantile(const uint32_t *v, size_t n, double q)
{
    size_t rank;

    if (n == 0)
        return 0;
    rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

/* ---- consistency ---- */

struct cons_config {
    struct addr leader, follower;
    double seconds; /* per level */
    int keys, readers, write_interval_ms;
    long rate; /* reads per second over all readers; 0: as fast as they are answered */
    long max_lag_entries, max_lag_ms, delay_ms;
    const char *out;
};

struct cons_shared {
    const struct cons_config *cfg;
    _Atomic int64_t acked[MAX_KEYS]; /* the highest acknowledged value of each key */
    _Atomic uint64_t token;          /* the leader's applied index after the latest ack */
    atomic_int stop;
    uint64_t writes, write_errors;
    int fatal;
    char err[256];
    char last_write_err[256]; /* the last failed write's message */
};

struct reader {
    struct cons_shared *sh;
    pthread_t thread;
    struct cirrus_read_opts ro;
    int64_t deadline;
    uint64_t rng;
    uint32_t *lat_us;
    size_t n, cap;
    uint64_t stale, errors;
    int fatal;
    char err[256];
    char last_err[256]; /* the last failed read's message */
};

struct level_result {
    uint64_t reads, errors, stale;
    double stale_pct, p50_ms, p99_ms, per_s;
};

static void key_name(char *buf, int k)
{
    snprintf(buf, KEY_LEN, "k%02d", k);
}

/* Sets keys to increasing values through the leader, one every write_interval_ms (or as fast
 * as acknowledgments come when slower), until told to stop. */
static void *writer_main(void *arg)
{
    struct cons_shared *sh = arg;
    const struct cons_config *cfg = sh->cfg;
    struct cirrus *c;
    int64_t v = cfg->keys, next = now_ns();
    char key[KEY_LEN];
    int rc;

    rc = connect_addr(&cfg->leader, REQUEST_MS, &c);
    if (rc < 0) {
        snprintf(sh->err, sizeof sh->err, "writer: cannot connect to the leader: %s",
                 cr_strerror(rc));
        sh->fatal = rc;
        return NULL;
    }
    while (!atomic_load(&sh->stop)) {
        int64_t wait = next - now_ns();

        if (wait > 0)
            sleep_ns(wait);
        else
            next -= wait; /* behind (slow acknowledgments): no burst to catch up */
        next += (int64_t)cfg->write_interval_ms * 1000000;
        v++;
        key_name(key, (int)(v % cfg->keys));
        rc = put_value(c, key, v);
        if (rc < 0) {
            sh->write_errors++;
            snprintf(sh->last_write_err, sizeof sh->last_write_err, "%s", cirrus_errmsg(c));
            if (broken(rc)) {
                snprintf(sh->err, sizeof sh->err, "writer: %s", cirrus_errmsg(c));
                sh->fatal = rc;
                break;
            }
            continue;
        }
        sh->writes++;
        /* acked before token: a reader that loads acked and then token holds a token at
         * least as new as that write (SESSION) */
        atomic_store(&sh->acked[v % cfg->keys], v);
        atomic_store(&sh->token, cirrus_last_applied_index(c));
    }
    cirrus_close(c);
    return NULL;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int record_latency(struct reader *r, int64_t ns)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4096;
        uint32_t *p = realloc(r->lat_us, cap * sizeof *p);

        if (!p)
            return CR_ENOMEM;
        r->lat_us = p;
        r->cap = cap;
    }
    r->lat_us[r->n++] = (uint32_t)(ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000);
    return 0;
}

/* Reads random keys on the follower at one level until the deadline. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    const struct cons_config *cfg = r->sh->cfg;
    struct cirrus_read_opts ro = r->ro;
    struct cirrus *c;
    char key[KEY_LEN];
    int64_t next = now_ns(), interval = cfg->rate ? 1000000000LL * cfg->readers / cfg->rate : 0;
    int rc;

    rc = connect_addr(&cfg->follower, REQUEST_MS, &c);
    if (rc < 0) {
        snprintf(r->err, sizeof r->err, "reader: cannot connect to the follower: %s",
                 cr_strerror(rc));
        r->fatal = rc;
        return NULL;
    }
    while (now_ns() < r->deadline) {
        int k = (int)(next_rand(&r->rng) % (uint64_t)cfg->keys);
        int64_t hi, got = 0, t0, wait = next - now_ns();

        if (wait > 0)
            sleep_ns(wait);
        else
            next -= wait;
        next += interval;
        hi = atomic_load(&r->sh->acked[k]);
        ro.session_token = atomic_load(&r->sh->token);
        key_name(key, k);
        t0 = now_ns();
        rc = get_value(c, key, &ro, &got);
        if (rc == CR_ENOTFOUND)
            rc = 0; /* never written yet here: value 0, stale if an ack came before */
        if (rc < 0) {
            r->errors++;
            snprintf(r->last_err, sizeof r->last_err, "%s", cirrus_errmsg(c));
            if (broken(rc)) {
                snprintf(r->err, sizeof r->err, "reader: %s", cirrus_errmsg(c));
                r->fatal = rc;
                break;
            }
            continue;
        }
        rc = record_latency(r, now_ns() - t0);
        if (rc < 0) {
            snprintf(r->err, sizeof r->err, "reader: out of memory");
            r->fatal = rc;
            break;
        }
        if (got < hi)
            r->stale++;
    }
    cirrus_close(c);
    return NULL;
}

/* Runs the readers at one level for cfg->seconds and sums them up into *res. */
static int run_level(struct cons_shared *sh, int li, struct level_result *res)
{
    const struct cons_config *cfg = sh->cfg;
    struct reader rd[MAX_READERS];
    uint32_t *all = NULL;
    size_t n = 0, i, at = 0;
    int64_t t0 = now_ns(), elapsed;
    int rc = 0, started;

    memset(rd, 0, sizeof rd);
    memset(res, 0, sizeof *res);
    for (started = 0; started < cfg->readers; started++) {
        struct reader *r = &rd[started];

        r->sh = sh;
        r->ro.consistency = levels[li].level;
        r->ro.max_lag_entries = (uint64_t)cfg->max_lag_entries;
        r->ro.max_lag_ms = (uint64_t)cfg->max_lag_ms;
        r->deadline = t0 + (int64_t)(cfg->seconds * 1e9);
        r->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(li * MAX_READERS + started + 1);
        if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
            fprintf(stderr, "cirrus-experiment: cannot start a reader thread\n");
            rc = CR_ENOMEM;
            break;
        }
    }
    for (i = 0; i < (size_t)started; i++)
        pthread_join(rd[i].thread, NULL);
    elapsed = now_ns() - t0;
    for (i = 0; i < (size_t)started; i++) {
        if (rd[i].fatal && !rc) {
            fprintf(stderr, "cirrus-experiment: %s: %s\n", levels[li].name, rd[i].err);
            rc = rd[i].fatal;
        }
        n += rd[i].n;
        res->stale += rd[i].stale;
        res->errors += rd[i].errors;
        if (rd[i].errors)
            fprintf(stderr, "cirrus-experiment: %s: %" PRIu64 " reads failed; the last: %s\n",
                    levels[li].name, rd[i].errors, rd[i].last_err);
    }
    if (n)
        all = malloc(n * sizeof *all);
    if (n && !all && !rc)
        rc = CR_ENOMEM;
    for (i = 0; i < (size_t)started; i++) {
        if (all)
            memcpy(all + at, rd[i].lat_us, rd[i].n * sizeof *all);
        at += rd[i].n;
        free(rd[i].lat_us);
    }
    if (rc < 0) {
        free(all);
        return rc;
    }
    if (all)
        qsort(all, n, sizeof *all, cmp_u32);
    res->reads = n;
    res->stale_pct = n ? 100.0 * (double)res->stale / (double)n : 0;
    res->p50_ms = quantile(all, n, 0.50) / 1000.0;
    res->p99_ms = quantile(all, n, 0.99) / 1000.0;
    res->per_s = (double)n / ((double)elapsed / 1e9);
    free(all);
    return 0;
}

/* Writes every key once through the leader and waits (bounded) until the follower serves
 * them at STRONG: the table and the keys exist there before any level is measured. */
static int cons_setup(struct cons_shared *sh)
{
    const struct cons_config *cfg = sh->cfg;
    struct cirrus_read_opts strong = {CIRRUS_STRONG, 0, 0, 0};
    struct cirrus *lc = NULL, *fc = NULL;
    int64_t deadline = now_ns() + (int64_t)SETTLE_S * 1000000000, got;
    char key[KEY_LEN];
    int rc, k;

    rc = connect_addr(&cfg->leader, REQUEST_MS, &lc);
    if (rc == 0)
        rc = create_table(lc);
    for (k = 0; rc == 0 && k < cfg->keys; k++) {
        key_name(key, k);
        rc = put_value(lc, key, k);
        atomic_store(&sh->acked[k], k);
    }
    if (rc < 0) {
        fprintf(stderr, "cirrus-experiment: setup on the leader %s:%d: %s\n", cfg->leader.host,
                cfg->leader.port, lc ? cirrus_errmsg(lc) : cr_strerror(rc));
        cirrus_close(lc);
        return rc;
    }
    atomic_store(&sh->token, cirrus_last_applied_index(lc));
    cirrus_close(lc);
    for (k = 0; k < cfg->keys;) {
        if (!fc)
            rc = connect_addr(&cfg->follower, REQUEST_MS, &fc);
        if (rc == 0) {
            key_name(key, k);
            rc = get_value(fc, key, &strong, &got);
        }
        if (rc == 0 && got >= k) {
            k++;
            continue;
        }
        if (now_ns() > deadline) {
            fprintf(stderr,
                    "cirrus-experiment: the follower %s:%d does not serve key %d "
                    "within %d s: %s\n",
                    cfg->follower.host, cfg->follower.port, k, SETTLE_S,
                    fc ? cirrus_errmsg(fc) : cr_strerror(rc));
            cirrus_close(fc);
            return rc < 0 ? rc : CR_ETIMEOUT;
        }
        if (rc < 0 && broken(rc)) {
            cirrus_close(fc);
            fc = NULL;
        }
        sleep_ms(50);
    }
    cirrus_close(fc);
    return 0;
}

static int write_cons_csv(const struct cons_config *cfg, const struct level_result *res,
                          const char *path)
{
    FILE *f = fopen(path, "w");
    int i;

    if (!f)
        return CR_EIO;
    fprintf(f, "level,reads,errors,stale,stale_pct,p50_ms,p99_ms,reads_per_s,delay_ms,"
               "seconds,readers,rate\n");
    for (i = 0; i < LEVELS; i++)
        fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,%.1f,%ld,%.1f,%d,%ld\n",
                levels[i].name, res[i].reads, res[i].errors, res[i].stale, res[i].stale_pct,
                res[i].p50_ms, res[i].p99_ms, res[i].per_s, cfg->delay_ms, cfg->seconds,
                cfg->readers, cfg->rate);
    return fclose(f) == 0 ? 0 : CR_EIO;
}

/* The smallest 1, 2 or 5 times a power of ten at or above v (the top of a chart's axis). */
static double nice_ceil(double v)
{
    double p = 1, steps[] = {1, 2, 5, 10};
    int i;

    if (v <= 0)
        return 1;
    while (p * 10 <= v)
        p *= 10;
    while (p > v)
        p /= 10;
    for (i = 0; i < 4; i++)
        if (steps[i] * p >= v)
            return steps[i] * p;
    return 10 * p;
}

/* The chart's geometry, in SVG user units (pixels) */
#define SVG_W 760
#define SVG_H 340
#define PANEL_W 330
#define PLOT_TOP 60
#define PLOT_H 200

/* One panel of the chart: a bar per level of values[i], from x0 (PANEL_W wide). */
static void svg_panel(FILE *f, int x0, const char *title, const char *unit, const double *values,
                      const char *color)
{
    double top = 0;
    int i, bar_w = 40, gap = (PANEL_W - 40 - LEVELS * bar_w) / LEVELS;
    int base = PLOT_TOP + PLOT_H;

    for (i = 0; i < LEVELS; i++)
        if (values[i] > top)
            top = values[i];
    top = nice_ceil(top);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n", x0, PLOT_TOP - 25,
            title);
    for (i = 0; i <= 2; i++) {
        int y = base - PLOT_H * i / 2;

        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>\n"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">%g%s</text>\n",
                x0 + 40, y, x0 + PANEL_W, y, x0 + 36, y + 4, top * i / 2, unit);
    }
    for (i = 0; i < LEVELS; i++) {
        int h = (int)lround(PLOT_H * values[i] / top);
        int x = x0 + 40 + gap / 2 + i * (bar_w + gap);

        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%.*f</text>\n"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%s</text>\n",
                x, base - h, bar_w, h, color, x + bar_w / 2, base - h - 4, values[i] >= 10 ? 0 : 2,
                values[i], x + bar_w / 2, base + 16, levels[i].label);
    }
}

static int write_cons_svg(const struct cons_config *cfg, const struct level_result *res,
                          const char *path)
{
    double stale[LEVELS], p99[LEVELS];
    FILE *f = fopen(path, "w");
    int i;

    if (!f)
        return CR_EIO;
    for (i = 0; i < LEVELS; i++) {
        stale[i] = res[i].stale_pct;
        p99[i] = res[i].p99_ms;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"13\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            SVG_W, SVG_H);
    svg_panel(f, 20, "stale reads (% of reads)", "%", stale, "#d9534f");
    svg_panel(f, 40 + PANEL_W + 20, "read latency p99 (ms)", "", p99, "#337ab7");
    fprintf(f,
            "<text x=\"20\" y=\"%d\" font-size=\"11\">reads on a follower with %ld ms of injected "
            "delay; %d readers (%ld reads/s in all; 0: unpaced), %.1f s per level; one writer "
            "through the leader</text>\n"
            "</svg>\n",
            SVG_H - 15, cfg->delay_ms, cfg->readers, cfg->rate, cfg->seconds);
    return fclose(f) == 0 ? 0 : CR_EIO;
}

static int out_path(char *buf, size_t len, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
        return CR_EINVAL;
    return 0;
}

static int make_out_dir(const char *dir)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "cirrus-experiment: cannot create %s: %s\n", dir, strerror(errno));
        return CR_EIO;
    }
    return 0;
}

static int run_consistency(const struct cons_config *cfg)
{
    struct cons_shared *sh = calloc(1, sizeof *sh);
    struct level_result res[LEVELS];
    char csv[4096], svg[4096];
    pthread_t writer;
    int rc, i;

    if (!sh)
        return CR_ENOMEM;
    sh->cfg = cfg;
    rc = out_path(csv, sizeof csv, cfg->out, "consistency.csv");
    if (rc == 0)
        rc = out_path(svg, sizeof svg, cfg->out, "consistency.svg");
    if (rc == 0)
        rc = make_out_dir(cfg->out);
    if (rc == 0)
        rc = cons_setup(sh);
    if (rc < 0) {
        free(sh);
        return rc;
    }
    if (pthread_create(&writer, NULL, writer_main, sh) != 0) {
        free(sh);
        return CR_ENOMEM;
    }
    printf("reads on %s:%d (injected delay %ld ms), writes through %s:%d, %.1f s per level, "
           "%d readers, paced at %ld reads/s (0: unpaced)\n",
           cfg->follower.host, cfg->follower.port, cfg->delay_ms, cfg->leader.host,
           cfg->leader.port, cfg->seconds, cfg->readers, cfg->rate);
    printf("%-18s %8s %7s %7s %8s %9s %9s %9s\n", "level", "reads", "errors", "stale", "stale%",
           "p50 ms", "p99 ms", "reads/s");
    for (i = 0; i < LEVELS && rc == 0 && !sh->fatal; i++) {
        rc = run_level(sh, i, &res[i]);
        if (rc == 0)
            printf("%-18s %8" PRIu64 " %7" PRIu64 " %7" PRIu64 " %8.2f %9.2f %9.2f %9.0f\n",
                   levels[i].name, res[i].reads, res[i].errors, res[i].stale, res[i].stale_pct,
                   res[i].p50_ms, res[i].p99_ms, res[i].per_s);
        fflush(stdout);
    }
    atomic_store(&sh->stop, 1);
    pthread_join(writer, NULL);
    if (sh->fatal) {
        fprintf(stderr, "cirrus-experiment: %s\n", sh->err);
        rc = rc < 0 ? rc : sh->fatal;
    }
    if (rc == 0) {
        printf("writes acknowledged: %" PRIu64 " (%" PRIu64 " failed%s%s)\n", sh->writes,
               sh->write_errors, sh->write_errors ? "; the last: " : "", sh->last_write_err);
        rc = write_cons_csv(cfg, res, csv);
        if (rc == 0)
            rc = write_cons_svg(cfg, res, svg);
        if (rc < 0)
            fprintf(stderr, "cirrus-experiment: cannot write %s or %s\n", csv, svg);
        else
            printf("wrote %s and %s\n", csv, svg);
    }
    if (rc == 0 && res[0].stale) {
        fprintf(stderr, "cirrus-experiment: STRONG returned %" PRIu64 " stale reads\n",
                res[0].stale);
        rc = CR_EINVAL;
    }
    free(sh);
    return rc;
}

/* ---- failover ---- */

struct fo_config {
    struct addr nodes[MAX_NODES];
    uint64_t ids[MAX_NODES]; /* each node's Raft id, from its stats */
    int n, rounds;
    const char *script, *dir, *out;
};

struct acked {
    int64_t *seq;
    size_t n, cap;
};

struct fwriter {
    const struct addr *node;
    pthread_t thread;
    int round, index;
    atomic_int stop;
    _Atomic int64_t dead_ns;  /* when the kill returned; 0 before */
    _Atomic int64_t first_ns; /* completion of the first success sent after dead_ns; 0: none */
    atomic_uint_fast64_t acks;
    struct acked acked;
    int fatal;
};

static void fo_key(char *buf, int round, int writer, int64_t seq)
{
    snprintf(buf, KEY_LEN, "f%d-%d-%" PRId64, round, writer, seq);
}

/* Writes fresh keys through one node as fast as they are acknowledged, reconnecting when the
 * node drops the connection, until told to stop. */
static void *fwriter_main(void *arg)
{
    struct fwriter *w = arg;
    struct cirrus *c = NULL;
    char key[KEY_LEN];
    int64_t seq = 0;

    while (!atomic_load(&w->stop)) {
        int64_t sent, dead;
        int rc = 0;

        if (!c)
            rc = connect_addr(w->node, FAILOVER_REQ_MS, &c);
        if (rc < 0) {
            sleep_ms(10);
            continue;
        }
        fo_key(key, w->round, w->index, ++seq);
        sent = now_ns();
        rc = put_value(c, key, seq);
        if (rc < 0) {
            if (broken(rc)) {
                cirrus_close(c);
                c = NULL;
            }
            sleep_ms(5);
            continue;
        }
        if (w->acked.n == w->acked.cap) {
            size_t cap = w->acked.cap ? 2 * w->acked.cap : 1024;
            int64_t *p = realloc(w->acked.seq, cap * sizeof *p);

            if (!p) {
                w->fatal = CR_ENOMEM;
                break;
            }
            w->acked.seq = p;
            w->acked.cap = cap;
        }
        w->acked.seq[w->acked.n++] = seq;
        atomic_fetch_add(&w->acks, 1);
        dead = atomic_load(&w->dead_ns);
        if (dead && sent >= dead && !atomic_load(&w->first_ns))
            atomic_store(&w->first_ns, now_ns());
    }
    cirrus_close(c);
    return NULL;
}

/* Runs `script --dir DIR verb NODE` and waits for it; 0 when it exits 0. */
static int run_script(const struct fo_config *cfg, const char *verb, uint64_t node)
{
    char num[24];
    char *argv[] = {(char *)cfg->script, "--dir", (char *)cfg->dir, (char *)verb, num, NULL};
    pid_t pid;
    int status;

    snprintf(num, sizeof num, "%" PRIu64, node);
    status = posix_spawn(&pid, cfg->script, NULL, NULL, argv, environ);
    if (status != 0) {
        fprintf(stderr, "cirrus-experiment: cannot run %s: %s\n", cfg->script, strerror(status));
        return CR_EIO;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return CR_EIO;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cirrus-experiment: %s %s %s failed\n", cfg->script, verb, num);
        return CR_EIO;
    }
    return 0;
}

/* Asks every node for its status: 0 and *leader when every node answers and names the same
 * leader and exactly one says it leads; CR_ETIMEOUT otherwise (not yet: ask again). */
static int cluster_settled(const struct fo_config *cfg, uint64_t *leader)
{
    uint64_t named = 0;
    int i, leaders = 0;

    for (i = 0; i < cfg->n; i++) {
        struct cirrus *c = NULL;
        struct cirrus_result r;
        int rc = connect_addr(&cfg->nodes[i], FAILOVER_REQ_MS, &c);

        memset(&r, 0, sizeof r);
        if (rc == 0)
            rc = cirrus_stats(c, &r);
        cirrus_close(c);
        if (rc < 0) {
            cirrus_result_free(&r);
            return CR_ETIMEOUT;
        }
        if (r.stats.role == ROLE_LEADER)
            leaders++;
        if (!r.stats.leader_id || (named && r.stats.leader_id != named)) {
            cirrus_result_free(&r);
            return CR_ETIMEOUT;
        }
        named = r.stats.leader_id;
        cirrus_result_free(&r);
    }
    if (leaders != 1)
        return CR_ETIMEOUT;
    *leader = named;
    return 0;
}

static int wait_settled(const struct fo_config *cfg, uint64_t *leader)
{
    int64_t deadline = now_ns() + (int64_t)SETTLE_S * 1000000000;

    while (cluster_settled(cfg, leader) < 0) {
        if (now_ns() > deadline) {
            fprintf(stderr,
                    "cirrus-experiment: the cluster has no leader every node agrees on "
                    "within %d s\n",
                    SETTLE_S);
            return CR_ETIMEOUT;
        }
        sleep_ms(100);
    }
    return 0;
}

static int node_index(const struct fo_config *cfg, uint64_t id)
{
    int i;

    for (i = 0; i < cfg->n; i++)
        if (cfg->ids[i] == id)
            return i;
    return -1;
}

/* Reads back, at STRONG through `via`, every acknowledged write of the writers; *lost counts
 * the missing or wrong ones. A read that keeps failing fails the check (CR_ETIMEOUT). */
static int verify(const struct addr *via, struct fwriter *ws, int nw, uint64_t *lost)
{
    struct cirrus_read_opts strong = {CIRRUS_STRONG, 0, 0, 0};
    struct cirrus *c = NULL;
    char key[KEY_LEN];
    int i, rc = 0;

    *lost = 0;
    for (i = 0; i < nw; i++) {
        size_t j;

        for (j = 0; j < ws[i].acked.n; j++) {
            int64_t got = 0;
            int tries;

            fo_key(key, ws[i].round, ws[i].index, ws[i].acked.seq[j]);
            for (tries = 0; tries < 20; tries++) {
                if (!c && (rc = connect_addr(via, REQUEST_MS, &c)) < 0) {
                    sleep_ms(100);
                    continue;
                }
                rc = get_value(c, key, &strong, &got);
                if (rc == 0 || rc == CR_ENOTFOUND)
                    break;
                if (broken(rc)) {
                    cirrus_close(c);
                    c = NULL;
                }
                sleep_ms(100);
            }
            if (rc == CR_ENOTFOUND || (rc == 0 && got != ws[i].acked.seq[j])) {
                fprintf(stderr, "cirrus-experiment: acknowledged write %s is %s\n", key,
                        rc ? "lost" : "wrong");
                (*lost)++;
                rc = 0;
            }
            if (rc < 0) {
                fprintf(stderr, "cirrus-experiment: cannot read %s back: %s\n", key,
                        cr_strerror(rc));
                cirrus_close(c);
                return rc;
            }
        }
    }
    cirrus_close(c);
    return 0;
}

struct round_result {
    uint64_t killed, leader;
    double failover_ms, kill_ms; /* kill_ms: the kill command, until the node was gone */
    uint64_t acked, lost;
};

/* One round: writers through every follower, kill -9 of the leader, the time until a write
 * succeeds again, the read-back, the restart. ws receives the writers (kept for the final
 * read-back). */
static int fo_round(const struct fo_config *cfg, int round, struct fwriter *ws, int *nw,
                    struct round_result *res)
{
    uint64_t leader, lost;
    int64_t t0, deadline, first = 0;
    int i, li, rc = 0, started = 0;

    memset(res, 0, sizeof *res);
    *nw = 0;
    rc = wait_settled(cfg, &leader);
    if (rc < 0)
        return rc;
    li = node_index(cfg, leader);
    if (li < 0) {
        fprintf(stderr, "cirrus-experiment: leader %" PRIu64 " is not among --nodes\n", leader);
        return CR_EINVAL;
    }
    res->killed = leader;
    for (i = 0; i < cfg->n; i++) {
        struct fwriter *w = &ws[*nw];

        if (i == li)
            continue;
        memset(w, 0, sizeof *w);
        w->node = &cfg->nodes[i];
        w->round = round;
        w->index = i + 1;
        if (pthread_create(&w->thread, NULL, fwriter_main, w) != 0) {
            rc = CR_ENOMEM;
            break;
        }
        (*nw)++;
    }
    /* a load that runs before the kill: every writer has been acknowledged a few times */
    deadline = now_ns() + (int64_t)SETTLE_S * 1000000000;
    while (rc == 0 && !started) {
        started = 1;
        for (i = 0; i < *nw; i++)
            if (atomic_load(&ws[i].acks) < 10)
                started = 0;
        if (!started && now_ns() > deadline) {
            fprintf(stderr, "cirrus-experiment: writes are not acknowledged before the kill\n");
            rc = CR_ETIMEOUT;
        }
        if (!started)
            sleep_ms(20);
    }
    t0 = now_ns();
    if (rc == 0)
        rc = run_script(cfg, "kill", leader);
    if (rc == 0) {
        int64_t dead = now_ns();

        res->kill_ms = (double)(dead - t0) / 1e6;
        for (i = 0; i < *nw; i++)
            atomic_store(&ws[i].dead_ns, dead);
        deadline = dead + (int64_t)FAILOVER_LIMIT_S * 1000000000;
        while (!first && now_ns() < deadline) {
            for (i = 0; i < *nw; i++) {
                int64_t f = atomic_load(&ws[i].first_ns);

                if (f && (!first || f < first))
                    first = f;
            }
            if (!first)
                sleep_ms(5);
        }
        if (!first) {
            fprintf(stderr, "cirrus-experiment: no write succeeded within %d s of the kill\n",
                    FAILOVER_LIMIT_S);
            rc = CR_ETIMEOUT;
        }
        sleep_ms(300); /* writes under the new leader, read back below */
    }
    for (i = 0; i < *nw; i++) {
        atomic_store(&ws[i].stop, 1);
        pthread_join(ws[i].thread, NULL);
        if (ws[i].fatal && rc == 0)
            rc = ws[i].fatal;
        res->acked += ws[i].acked.n;
    }
    if (rc < 0)
        return rc;
    res->failover_ms = (double)(first - t0) / 1e6;
    rc = verify(ws[0].node, ws, *nw, &lost);
    if (rc < 0)
        return rc;
    res->lost = lost;
    rc = run_script(cfg, "restart", leader);
    if (rc == 0)
        rc = wait_settled(cfg, &res->leader);
    return rc;
}

static int run_failover(struct fo_config *cfg)
{
    static struct fwriter ws[MAX_ROUNDS][MAX_NODES];
    struct round_result res[MAX_ROUNDS];
    double ms[MAX_ROUNDS];
    int nws[MAX_ROUNDS] = {0};
    char csv[4096];
    uint64_t lost_total = 0, lost_again = 0, leader;
    int r, i, done = 0, rc;
    FILE *f;

    rc = out_path(csv, sizeof csv, cfg->out, "failover.csv");
    if (rc == 0)
        rc = make_out_dir(cfg->out);
    for (i = 0; rc == 0 && i < cfg->n; i++) {
        struct cirrus *c = NULL;
        struct cirrus_result st;

        memset(&st, 0, sizeof st);
        rc = connect_addr(&cfg->nodes[i], REQUEST_MS, &c);
        if (rc == 0)
            rc = cirrus_stats(c, &st);
        if (rc == 0 && i == 0)
            rc = create_table(c);
        if (rc < 0)
            fprintf(stderr, "cirrus-experiment: node %s:%d: %s\n", cfg->nodes[i].host,
                    cfg->nodes[i].port, c ? cirrus_errmsg(c) : cr_strerror(rc));
        else
            cfg->ids[i] = st.stats.node_id;
        cirrus_result_free(&st);
        cirrus_close(c);
    }
    if (rc < 0)
        return rc;
    printf("%-6s %-7s %-11s %12s %8s %8s %6s\n", "round", "killed", "new leader", "failover ms",
           "kill ms", "acked", "lost");
    for (r = 0; r < cfg->rounds && rc == 0; r++) {
        rc = fo_round(cfg, r + 1, ws[r], &nws[r], &res[r]);
        if (rc == 0) {
            printf("%-6d %-7" PRIu64 " %-11" PRIu64 " %12.0f %8.0f %8" PRIu64 " %6" PRIu64 "\n",
                   r + 1, res[r].killed, res[r].leader, res[r].failover_ms, res[r].kill_ms,
                   res[r].acked, res[r].lost);
            fflush(stdout);
            ms[done++] = res[r].failover_ms;
            lost_total += res[r].lost;
        }
    }
    /* every acknowledged write of every round, once more, after all the failovers */
    if (rc == 0)
        rc = wait_settled(cfg, &leader);
    if (rc == 0 && node_index(cfg, leader) < 0)
        rc = CR_EINVAL;
    for (r = 0; rc == 0 && r < done; r++) {
        uint64_t lost;

        rc = verify(&cfg->nodes[node_index(cfg, leader)], ws[r], nws[r], &lost);
        lost_again += lost;
    }
    for (r = 0; r < cfg->rounds; r++)
        for (i = 0; i < nws[r]; i++)
            free(ws[r][i].acked.seq);
    if (done) {
        qsort(ms, (size_t)done, sizeof *ms, cmp_double);
        printf("failover over %d rounds: min %.0f ms, median %.0f ms, max %.0f ms; "
               "acknowledged writes lost: %" PRIu64 " (at the end: %" PRIu64 ")\n",
               done, ms[0], (ms[(done - 1) / 2] + ms[done / 2]) / 2, ms[done - 1], lost_total,
               lost_again);
        f = fopen(csv, "w");
        if (!f)
            return CR_EIO;
        fprintf(f, "round,killed,new_leader,failover_ms,kill_ms,acked,lost\n");
        for (r = 0; r < done; r++)
            fprintf(f, "%d,%" PRIu64 ",%" PRIu64 ",%.1f,%.1f,%" PRIu64 ",%" PRIu64 "\n", r + 1,
                    res[r].killed, res[r].leader, res[r].failover_ms, res[r].kill_ms, res[r].acked,
                    res[r].lost);
        if (fclose(f) != 0)
            return CR_EIO;
        printf("wrote %s\n", csv);
    }
    if (rc == 0 && (lost_total || lost_again))
        rc = CR_EINVAL;
    return rc;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: cirrus-experiment consistency --leader HOST:PORT --follower HOST:PORT\n"
        "           [--seconds S] [--keys K] [--readers R] [--write-interval-ms MS]\n"
        "           [--rate R] [--max-lag-entries N] [--max-lag-ms MS] [--delay-ms MS]\n"
        "           [--out DIR]\n"
        "       cirrus-experiment failover --nodes HOST:PORT,... --cluster SCRIPT --dir DIR\n"
        "           [--rounds N] [--out DIR]\n"
        "consistency: reads on the follower at each level while one writer writes through\n"
        "  the leader (defaults: 5 s per level, 8 keys, 2 readers, a write every 5 ms,\n"
        "  bounded staleness 10 entries / 100 ms). --rate: reads per second over all\n"
        "  readers (default 0: each reader sends its next read when answered).\n"
        "  --delay-ms only labels the results.\n"
        "  Writes DIR/consistency.csv and DIR/consistency.svg (DIR default .).\n"
        "failover: node I of --nodes is node I of the cirrus-cluster SCRIPT in DIR; kills the\n"
        "  leader, measures until a write succeeds again, reads every acknowledged write back,\n"
        "  restarts the node; N rounds (default 3, at most %d). Writes DIR/failover.csv.\n"
        "Exit: 0 done; 1 a failure, a stale STRONG read or a lost write; 2 usage.\n",
        MAX_ROUNDS);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "cirrus-experiment: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    usage(stderr);
    return 2;
}

static int main_consistency(int argc, char **argv)
{
    struct cons_config cfg = {.seconds = 5,
                              .keys = 8,
                              .readers = 2,
                              .write_interval_ms = 5,
                              .max_lag_entries = 10,
                              .max_lag_ms = 100,
                              .out = "."};
    int i, have_leader = 0, have_follower = 0;
    long v;

    for (i = 2; i < argc; i += 2) {
        const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

        if (!a)
            return usage_error("option needs a value", o);
        if (strcmp(o, "--leader") == 0 && parse_addr(a, &cfg.leader) == 0)
            have_leader = 1;
        else if (strcmp(o, "--follower") == 0 && parse_addr(a, &cfg.follower) == 0)
            have_follower = 1;
        else if (strcmp(o, "--seconds") == 0 && parse_num(a, 1, 3600, &v) == 0)
            cfg.seconds = (double)v;
        else if (strcmp(o, "--keys") == 0 && parse_num(a, 1, MAX_KEYS, &v) == 0)
            cfg.keys = (int)v;
        else if (strcmp(o, "--readers") == 0 && parse_num(a, 1, MAX_READERS, &v) == 0)
            cfg.readers = (int)v;
        else if (strcmp(o, "--write-interval-ms") == 0 && parse_num(a, 0, 10000, &v) == 0)
            cfg.write_interval_ms = (int)v;
        else if (strcmp(o, "--max-lag-entries") == 0 && parse_num(a, 0, 1L << 30, &v) == 0)
            cfg.max_lag_entries = v;
        else if (strcmp(o, "--max-lag-ms") == 0 && parse_num(a, 0, 1L << 30, &v) == 0)
            cfg.max_lag_ms = v;
        else if (strcmp(o, "--rate") == 0 && parse_num(a, 0, 10000000, &v) == 0)
            cfg.rate = v;
        else if (strcmp(o, "--delay-ms") == 0 && parse_num(a, 0, 1L << 30, &v) == 0)
            cfg.delay_ms = v;
        else if (strcmp(o, "--out") == 0)
            cfg.out = a;
        else
            return usage_error("bad option or value", o);
    }
    if (!have_leader || !have_follower)
        return usage_error("consistency needs --leader and --follower", NULL);
    return run_consistency(&cfg) < 0 ? 1 : 0;
}

static int parse_nodes(const char *list, struct fo_config *cfg)
{
    char buf[4096], *save = NULL, *tok;

    if (strlen(list) >= sizeof buf)
        return CR_EINVAL;
    strcpy(buf, list);
    cfg->n = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (cfg->n == MAX_NODES || parse_addr(tok, &cfg->nodes[cfg->n]) < 0)
            return CR_EINVAL;
        cfg->n++;
    }
    return cfg->n >= 3 ? 0 : CR_EINVAL;
}

static int main_failover(int argc, char **argv)
{
    struct fo_config cfg = {.rounds = 3, .out = "."};
    int i, have_nodes = 0;
    long v;

    for (i = 2; i < argc; i += 2) {
        const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

        if (!a)
            return usage_error("option needs a value", o);
        if (strcmp(o, "--nodes") == 0 && parse_nodes(a, &cfg) == 0)
            have_nodes = 1;
        else if (strcmp(o, "--cluster") == 0)
            cfg.script = a;
        else if (strcmp(o, "--dir") == 0)
            cfg.dir = a;
        else if (strcmp(o, "--rounds") == 0 && parse_num(a, 1, MAX_ROUNDS, &v) == 0)
            cfg.rounds = (int)v;
        else if (strcmp(o, "--out") == 0)
            cfg.out = a;
        else
            return usage_error("bad option or value (--nodes takes 3 to 9 addresses)", o);
    }
    if (!have_nodes || !cfg.script || !cfg.dir)
        return usage_error("failover needs --nodes, --cluster and --dir", NULL);
    return run_failover(&cfg) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "consistency") == 0)
        return main_consistency(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "failover") == 0)
        return main_failover(argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
