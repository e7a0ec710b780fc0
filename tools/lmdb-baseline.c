/*
 * lmdb-baseline: the comparison point for durable-put throughput in docs/BENCHMARKS.md. It
 * does N puts straight into LMDB, one write transaction per put, committed with LMDB's default
 * flags (so every commit fsyncs), with cirrus-bench's key and value shapes. It measures raw
 * LMDB only: no server, no log, no group commit. It writes to a fresh directory, removed
 * afterwards unless --keep is given.
 */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] = "usage: lmdb-baseline [--puts N] [--value-size B] [--dir DIR] [--keep]\n"
                           "  --puts N        puts, one fsynced write transaction each (default "
                           "10000)\n"
                           "  --value-size B  bytes per value (default 100)\n"
                           "  --dir DIR       parent directory for the database (default /tmp)\n"
                           "  --keep          don't delete the database afterwards\n";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int check(int rc, const char *what)
{
    if (rc != 0)
        fprintf(stderr, "lmdb-baseline: %s: %s\n", what, mdb_strerror(rc));
    return rc;
}

static int parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno != 0 || end == s || *end != '\0' || s[0] == '-' || *out > max ? -1 : 0;
}

static void remove_db(const char *dir)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    unsigned long long puts = 10000, value_size = 100, i;
    const char *parent = "/tmp";
    char dir[4096], key[32];
    MDB_env *env = NULL;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    char *value;
    double t0, t1;
    int a, keep = 0, rc;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--keep") == 0) {
            keep = 1;
        } else if (strcmp(argv[a], "--puts") == 0 && a + 1 < argc) {
            if (parse_size(argv[++a], 1000000000ULL, &puts) != 0 || puts == 0)
                return fprintf(stderr, "lmdb-baseline: bad --puts\n"), 2;
        } else if (strcmp(argv[a], "--value-size") == 0 && a + 1 < argc) {
            if (parse_size(argv[++a], 16ULL * 1024 * 1024, &value_size) != 0)
                return fprintf(stderr, "lmdb-baseline: bad --value-size\n"), 2;
        } else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc) {
            parent = argv[++a];
        } else {
            fputs(HELP, strcmp(argv[a], "--help") == 0 ? stdout : stderr);
            return strcmp(argv[a], "--help") == 0 ? 0 : 2;
        }
    }
    snprintf(dir, sizeof(dir), "%s/lmdb-baseline.XXXXXX", parent);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "lmdb-baseline: mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    value = malloc(value_size + 1);
    if (value == NULL)
        return 1;
    memset(value, 'x', value_size);

    rc = check(mdb_env_create(&env), "mdb_env_create");
    /* Room for every put with generous page overhead, plus slack. */
    if (rc == 0)
        rc = check(mdb_env_set_mapsize(env, (size_t)(puts * (value_size + 64) * 3 + (64u << 20))),
                   "mdb_env_set_mapsize");
    if (rc == 0)
        rc = check(mdb_env_open(env, dir, 0, 0644), "mdb_env_open");
    if (rc == 0 && (rc = check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin")) == 0) {
        if ((rc = check(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open")) == 0)
            rc = check(mdb_txn_commit(txn), "mdb_txn_commit");
        else
            mdb_txn_abort(txn);
    }
    t0 = now_s();
    for (i = 0; rc == 0 && i < puts; i++) {
        snprintf(key, sizeof(key), "key%013llu", i);
        k.mv_data = key;
        k.mv_size = strlen(key);
        v.mv_data = value;
        v.mv_size = value_size;
        if ((rc = check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin")) != 0)
            break;
        if ((rc = check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put")) != 0) {
            mdb_txn_abort(txn);
            break;
        }
        rc = check(mdb_txn_commit(txn), "mdb_txn_commit");
    }
    t1 = now_s();
    if (rc == 0)
        printf("lmdb-baseline: %llu puts of %llu-byte values, one fsynced txn each: %.3f s, "
               "%.0f puts/s\n",
               puts, value_size, t1 - t0, (double)puts / (t1 - t0));
    if (env != NULL)
        mdb_env_close(env);
    free(value);
    if (!keep)
        remove_db(dir);
    else
        printf("lmdb-baseline: kept %s\n", dir);
    return rc == 0 ? 0 : 1;
}
