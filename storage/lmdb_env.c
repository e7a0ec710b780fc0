/*
 * The LMDB environment: the only file that includes lmdb.h. Opens the environment and its named
 * databases, checks the on-disk format version, runs transactions and cursors for the other
 * storage files (storage_int.h), and maps MDB_* and errno codes to CR_E* codes.
 *
 * It must not know what the bytes it stores mean (rows, catalog, changes are other files'),
 * and must never hand an MDB_* code or an LMDB type across its interface.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DBS 8
#define DEFAULT_READERS 256

static const char *const db_names[ENV_NDB] = {
    [ENV_CATALOG] = "catalog", [ENV_DATA] = "data",   [ENV_CHANGES] = "changes",
    [ENV_META] = "meta",       [ENV_INDEX] = "index",
};

struct storage {
    MDB_env *env;
    MDB_dbi dbi[ENV_NDB];
    int lock_fd; /* holds an exclusive flock on DIR/cirrus.lock while open */
};

struct storage_txn {
    struct storage *s;
    MDB_txn *txn;
};

struct env_cursor {
    MDB_cursor *c;
};

static int map_error(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return CR_ENOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case ENOSPC:
        return CR_EFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return CR_ECORRUPT;
    case MDB_READERS_FULL:
        return CR_EOVERLOAD;
    case ENOMEM:
        return CR_ENOMEM;
    case EIO:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT:
    case ENOTDIR:
        return CR_EIO;
    default:
        cr_log(CR_LOG_ERROR, "lmdb: unexpected error %d: %s", rc, mdb_strerror(rc));
        return CR_EINTERNAL;
    }
}

static int mkdir_p(const char *dir)
{
    size_t len = strlen(dir);
    char *path;
    int rc = 0;

    if (len == 0)
        return CR_EINVAL;
    path = malloc(len + 1);
    if (!path)
        return CR_ENOMEM;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len && rc == 0; i++) {
        if (path[i] != '/' && path[i] != 0)
            continue;
        path[i] = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            rc = CR_EIO;
        path[i] = dir[i];
    }
    free(path);
    return rc;
}

/* Opens the named databases and checks (or, in a new environment, writes) the format version. */
static int open_dbs(struct storage *s)
{
    static const uint8_t format_key[] = "format";
    MDB_txn *txn;
    MDB_val k = {sizeof format_key - 1, (void *)format_key}, v;
    uint8_t version[4];
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);

    if (rc)
        return map_error(rc);
    for (int i = 0; i < ENV_NDB && rc == 0; i++)
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
    if (rc == 0) {
        rc = mdb_get(txn, s->dbi[ENV_META], &k, &v);
        if (rc == MDB_NOTFOUND) {
            cr_put_u32be(version, CR_FORMAT_VERSION);
            v.mv_data = version;
            v.mv_size = sizeof version;
            rc = mdb_put(txn, s->dbi[ENV_META], &k, &v, 0);
        } else if (rc == 0 && (v.mv_size != 4 || cr_get_u32be(v.mv_data) != CR_FORMAT_VERSION)) {
            cr_log(CR_LOG_ERROR, "storage: unknown format version");
            mdb_txn_abort(txn);
            return CR_CORRUPT();
        }
    }
    if (rc) {
        mdb_txn_abort(txn);
        return map_error(rc);
    }
    return map_error(mdb_txn_commit(txn));
}

/*
 * LMDB lets several processes share an environment, but Cirrus's log assumes one writer process
 * per data directory (it numbers entries from the applied index it read at start-up). A second
 * server on the same directory would interleave indexes, so it is refused. flock is released by
 * the kernel when the process dies, so a crash leaves no stale lock.
 */
static int lock_dir(const char *dir, int *fd_out)
{
    char path[4096];
    int fd;

    if (snprintf(path, sizeof path, "%s/cirrus.lock", dir) >= (int)sizeof path)
        return CR_ETOOLONG;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return CR_EIO;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        close(fd);
        return err == EWOULDBLOCK ? CR_ELOCKED : CR_EIO;
    }
    *fd_out = fd;
    return 0;
}

int storage_open(const char *dir, const struct storage_options *opt, struct storage **out)
{
    struct storage *s;
    size_t map_size = opt && opt->map_size ? opt->map_size : CR_DEFAULT_MAP_SIZE;
    unsigned readers = opt && opt->max_readers ? opt->max_readers : DEFAULT_READERS;
    unsigned flags = MDB_NOTLS | (opt && opt->no_sync ? MDB_NOSYNC : 0);
    int rc = mkdir_p(dir);

    if (rc)
        return rc;
    s = calloc(1, sizeof *s);
    if (!s)
        return CR_ENOMEM;
    rc = lock_dir(dir, &s->lock_fd);
    if (rc) {
        free(s);
        return rc;
    }
    rc = mdb_env_create(&s->env);
    if (rc) {
        close(s->lock_fd);
        free(s);
        return map_error(rc);
    }
    rc = mdb_env_set_mapsize(s->env, map_size);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, readers);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (rc == 0)
        rc = mdb_env_open(s->env, dir, flags, 0644);
    rc = map_error(rc);
    if (rc == 0)
        rc = open_dbs(s);
    if (rc) {
        mdb_env_close(s->env);
        close(s->lock_fd);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void storage_close(struct storage *s)
{
    if (!s)
        return;
    mdb_env_close(s->env);
    close(s->lock_fd);
    free(s);
}

static int txn_begin(struct storage *s, struct storage_txn *parent, unsigned flags,
                     struct storage_txn **out)
{
    struct storage_txn *t = malloc(sizeof *t);
    int rc;

    if (!t)
        return CR_ENOMEM;
    t->s = s;
    rc = mdb_txn_begin(s->env, parent ? parent->txn : NULL, flags, &t->txn);
    if (rc) {
        free(t);
        return map_error(rc);
    }
    *out = t;
    return 0;
}

int storage_read_begin(struct storage *s, struct storage_txn **out)
{
    return txn_begin(s, NULL, MDB_RDONLY, out);
}

void storage_read_reset(struct storage_txn *t)
{
    mdb_txn_reset(t->txn);
}

int storage_read_renew(struct storage_txn *t)
{
    return map_error(mdb_txn_renew(t->txn));
}

void storage_read_end(struct storage_txn *t)
{
    if (!t)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

int env_write_begin(struct storage *s, struct storage_txn *parent, struct storage_txn **out)
{
    return txn_begin(s, parent, 0, out);
}

int env_commit(struct storage_txn *t)
{
    int rc = mdb_txn_commit(t->txn);

    free(t);
    return map_error(rc);
}

void env_abort(struct storage_txn *t)
{
    mdb_txn_abort(t->txn);
    free(t);
}

int env_get(struct storage_txn *t, enum env_db db, const void *k, size_t kn, struct env_val *v)
{
    MDB_val key = {kn, (void *)k}, val;
    int rc = mdb_get(t->txn, t->s->dbi[db], &key, &val);

    if (rc)
        return map_error(rc);
    v->p = val.mv_data;
    v->n = val.mv_size;
    return 0;
}

int env_put(struct storage_txn *t, enum env_db db, const void *k, size_t kn, const void *v,
            size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};

    return map_error(mdb_put(t->txn, t->s->dbi[db], &key, &val, 0));
}

int env_del(struct storage_txn *t, enum env_db db, const void *k, size_t kn)
{
    MDB_val key = {kn, (void *)k};

    return map_error(mdb_del(t->txn, t->s->dbi[db], &key, NULL));
}

int env_del_prefix(struct storage_txn *t, enum env_db db, const void *prefix, size_t pn,
                   uint64_t *n)
{
    MDB_cursor *c;
    MDB_val k = {pn, (void *)prefix}, v;
    uint64_t count = 0;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c);

    if (rc)
        return map_error(rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= pn && memcmp(k.mv_data, prefix, pn) == 0) {
        rc = mdb_cursor_del(c, 0);
        if (rc == 0) {
            count++;
            /* After a delete MDB_NEXT returns the entry that followed the deleted one. */
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return map_error(rc);
    if (n)
        *n = count;
    return 0;
}

int env_count(struct storage_txn *t, enum env_db db, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->s->dbi[db], &st);

    if (rc)
        return map_error(rc);
    *n = st.ms_entries;
    return 0;
}

int env_cursor_open(struct storage_txn *t, enum env_db db, struct env_cursor **out)
{
    struct env_cursor *c = malloc(sizeof *c);
    int rc;

    if (!c)
        return CR_ENOMEM;
    rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c->c);
    if (rc) {
        free(c);
        return map_error(rc);
    }
    *out = c;
    return 0;
}

void env_cursor_close(struct env_cursor *c)
{
    if (!c)
        return;
    mdb_cursor_close(c->c);
    free(c);
}

int env_cursor_get(struct env_cursor *c, enum env_op op, struct env_val *k, struct env_val *v)
{
    static const MDB_cursor_op ops[] = {
        [ENV_FIRST] = MDB_FIRST, [ENV_LAST] = MDB_LAST,      [ENV_NEXT] = MDB_NEXT,
        [ENV_PREV] = MDB_PREV,   [ENV_SEEK] = MDB_SET_RANGE,
    };
    MDB_val key = {0, NULL}, val;
    int rc;

    if (op == ENV_SEEK) {
        CR_ASSERT(k->n > 0);
        key.mv_size = k->n;
        key.mv_data = (void *)k->p;
    }
    rc = mdb_cursor_get(c->c, &key, &val, ops[op]);
    if (rc)
        return map_error(rc);
    k->p = key.mv_data;
    k->n = key.mv_size;
    v->p = val.mv_data;
    v->n = val.mv_size;
    return 0;
}
