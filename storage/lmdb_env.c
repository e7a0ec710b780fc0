/*
 * The LMDB environment: the only file that includes lmdb.h. Opens the environment and its named
 * databases, checks the on-disk format version, runs transactions and cursors for the other
 * storage files (storage_int.h), and maps MDB_* and errno codes to CR_E* codes. It also opens
 * bare environments (kvenv.h) for stores that are not the state machine's: the Raft log.
 *
 * It must not know what the bytes it stores mean (rows, catalog, changes are other files'),
 * and must never hand an MDB_* code or an LMDB type across its interface.
 */
#include "storage/storage_int.h"

#include "common/assert.h"
#include "common/error.h"
#include "common/log.h"
#include "storage/kvenv.h"

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
    [ENV_META] = "meta",       [ENV_INDEX] = "index", [ENV_ADJ] = "adj",
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

/* Creates dir if missing, locks it for this process, then creates and opens an environment in
 * it with room for max_dbs named databases. On failure nothing is left open. */
static int env_open_locked(const char *dir, const struct storage_options *opt, unsigned max_dbs,
                           MDB_env **env, int *lock_fd)
{
    size_t map_size = opt && opt->map_size ? opt->map_size : CR_DEFAULT_MAP_SIZE;
    unsigned readers = opt && opt->max_readers ? opt->max_readers : DEFAULT_READERS;
    unsigned flags = MDB_NOTLS | (opt && opt->no_sync ? MDB_NOSYNC : 0);
    int rc = mkdir_p(dir);

    if (rc)
        return rc;
    rc = lock_dir(dir, lock_fd);
    if (rc)
        return rc;
    rc = mdb_env_create(env);
    if (rc) {
        close(*lock_fd);
        return map_error(rc);
    }
    rc = mdb_env_set_mapsize(*env, map_size);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(*env, readers);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(*env, max_dbs);
    if (rc == 0)
        rc = mdb_env_open(*env, dir, flags, 0644);
    if (rc) {
        mdb_env_close(*env);
        close(*lock_fd);
    }
    return map_error(rc);
}

int storage_open(const char *dir, const struct storage_options *opt, struct storage **out)
{
    struct storage *s = calloc(1, sizeof *s);
    int rc;

    if (!s)
        return CR_ENOMEM;
    rc = env_open_locked(dir, opt, MAX_DBS, &s->env, &s->lock_fd);
    if (rc) {
        free(s);
        return rc;
    }
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

/* ---- snapshots ---- */

int storage_snapshot_write(struct storage *s, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc;

    if (fd < 0)
        return CR_EIO;
    rc = map_error(mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT));
    if (rc == 0 && fsync(fd) != 0)
        rc = CR_EIO;
    close(fd);
    return rc;
}

/* Copies every record of from's db into to's, in key order (both empty or emptied first). */
static int copy_db(MDB_txn *from_txn, MDB_dbi from, MDB_txn *to_txn, MDB_dbi to)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(from_txn, from, &c);

    if (rc)
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rc = mdb_put(to_txn, to, &k, &v, MDB_APPEND);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int storage_snapshot_install(struct storage *s, const char *path)
{
    static const uint8_t format_key[] = "format";
    MDB_val k = {sizeof format_key - 1, (void *)format_key}, v;
    MDB_env *snap;
    MDB_txn *from = NULL, *to = NULL;
    MDB_dbi dbi[ENV_NDB];
    int rc = mdb_env_create(&snap);

    if (rc)
        return map_error(rc);
    rc = mdb_env_set_maxdbs(snap, MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(snap, 0); /* the file's own size */
    if (rc == 0)
        rc = mdb_env_open(snap, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(snap, NULL, MDB_RDONLY, &from);
    for (int i = 0; i < ENV_NDB && rc == 0; i++)
        rc = mdb_dbi_open(from, db_names[i], 0, &dbi[i]);
    if (rc == 0)
        rc = mdb_get(from, dbi[ENV_META], &k, &v);
    if (rc == 0 && (v.mv_size != 4 || cr_get_u32be(v.mv_data) != CR_FORMAT_VERSION))
        rc = MDB_INVALID;
    if (rc == MDB_NOTFOUND)
        rc = MDB_INVALID; /* a database or the format record is missing: not our snapshot */
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, 0, &to);
    for (int i = 0; i < ENV_NDB && rc == 0; i++) {
        rc = mdb_drop(to, s->dbi[i], 0);
        if (rc == 0)
            rc = copy_db(from, dbi[i], to, s->dbi[i]);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(to);
        to = NULL;
    }
    if (to)
        mdb_txn_abort(to);
    if (from)
        mdb_txn_abort(from);
    mdb_env_close(snap);
    if (rc)
        cr_log(CR_LOG_ERROR, "storage: cannot install snapshot '%s': %s", path, mdb_strerror(rc));
    return map_error(rc);
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

/* ---- the raw operations both faces (storage_int.h's env_*, kvenv.h's kvenv_*) use ---- */

static int raw_get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, const uint8_t **p,
                   size_t *n)
{
    MDB_val key = {kn, (void *)k}, val;
    int rc = mdb_get(txn, dbi, &key, &val);

    if (rc)
        return map_error(rc);
    *p = val.mv_data;
    *n = val.mv_size;
    return 0;
}

static int raw_count(MDB_txn *txn, MDB_dbi dbi, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(txn, dbi, &st);

    if (rc)
        return map_error(rc);
    *n = st.ms_entries;
    return 0;
}

/* Deletes the keys from lo (NULL: the first) on while more(key, arg) holds; *n (may be NULL)
 * gets how many. */
static int raw_del_while(MDB_txn *txn, MDB_dbi dbi, const void *lo, size_t lon,
                         bool (*more)(const MDB_val *k, const void *arg, size_t argn),
                         const void *arg, size_t argn, uint64_t *n)
{
    MDB_cursor *c;
    MDB_val k = {lon, (void *)lo}, v;
    uint64_t count = 0;
    int rc = mdb_cursor_open(txn, dbi, &c);

    if (rc)
        return map_error(rc);
    rc = mdb_cursor_get(c, &k, &v, lo ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && more(&k, arg, argn)) {
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

static bool has_prefix(const MDB_val *k, const void *prefix, size_t pn)
{
    return k->mv_size >= pn && memcmp(k->mv_data, prefix, pn) == 0;
}

/* Whether key k is below the bound hi (NULL: no bound), in memcmp-then-length order. */
static bool below(const MDB_val *k, const void *hi, size_t hin)
{
    size_t n = k->mv_size < hin ? k->mv_size : hin;
    int c;

    if (!hi)
        return true;
    c = memcmp(k->mv_data, hi, n);
    return c < 0 || (c == 0 && k->mv_size < hin);
}

static int raw_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **out)
{
    return map_error(mdb_cursor_open(txn, dbi, out));
}

/* op: FIRST, LAST, NEXT, PREV, or SEEK (MDB_SET_RANGE) to the key given in kp and kn. */
static int raw_cursor_get(MDB_cursor *c, MDB_cursor_op op, const uint8_t **kp, size_t *kn,
                          const uint8_t **vp, size_t *vn)
{
    MDB_val key = {0, NULL}, val;
    int rc;

    if (op == MDB_SET_RANGE) {
        CR_ASSERT(*kn > 0);
        key.mv_size = *kn;
        key.mv_data = (void *)*kp;
    }
    rc = mdb_cursor_get(c, &key, &val, op);
    if (rc)
        return map_error(rc);
    *kp = key.mv_data;
    *kn = key.mv_size;
    *vp = val.mv_data;
    *vn = val.mv_size;
    return 0;
}

/* Both faces' cursor operations, by their shared numbering. */
_Static_assert(KVENV_FIRST == (int)ENV_FIRST && KVENV_LAST == (int)ENV_LAST &&
                   KVENV_NEXT == (int)ENV_NEXT && KVENV_PREV == (int)ENV_PREV &&
                   KVENV_SEEK == (int)ENV_SEEK,
               "kvenv_op and env_op number the same operations alike");
static const MDB_cursor_op cursor_ops[] = {
    [ENV_FIRST] = MDB_FIRST, [ENV_LAST] = MDB_LAST,      [ENV_NEXT] = MDB_NEXT,
    [ENV_PREV] = MDB_PREV,   [ENV_SEEK] = MDB_SET_RANGE,
};

int env_get(struct storage_txn *t, enum env_db db, const void *k, size_t kn, struct env_val *v)
{
    return raw_get(t->txn, t->s->dbi[db], k, kn, &v->p, &v->n);
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
    return raw_del_while(t->txn, t->s->dbi[db], prefix, pn, has_prefix, prefix, pn, n);
}

int env_count(struct storage_txn *t, enum env_db db, uint64_t *n)
{
    return raw_count(t->txn, t->s->dbi[db], n);
}

int env_cursor_open(struct storage_txn *t, enum env_db db, struct env_cursor **out)
{
    struct env_cursor *c = malloc(sizeof *c);
    int rc;

    if (!c)
        return CR_ENOMEM;
    rc = raw_cursor_open(t->txn, t->s->dbi[db], &c->c);
    if (rc) {
        free(c);
        return rc;
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
    return raw_cursor_get(c->c, cursor_ops[op], &k->p, &k->n, &v->p, &v->n);
}

/* ---- kvenv.h: bare environments for stores outside the state machine (the Raft log) ---- */

struct kvenv {
    MDB_env *env;
    MDB_dbi dbi[KVENV_MAX_DBS];
    size_t n_dbs;
    int lock_fd;
};

struct kvenv_txn {
    struct kvenv *e;
    MDB_txn *txn;
};

struct kvenv_cursor {
    MDB_cursor *c;
};

static int kvenv_open_dbs(struct kvenv *e, const char *const *dbs)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(e->env, NULL, 0, &txn);

    for (size_t i = 0; i < e->n_dbs && rc == 0; i++)
        rc = mdb_dbi_open(txn, dbs[i], MDB_CREATE, &e->dbi[i]);
    if (rc == 0)
        return map_error(mdb_txn_commit(txn));
    mdb_txn_abort(txn);
    return map_error(rc);
}

int kvenv_open(const char *dir, const char *const *dbs, size_t n_dbs,
               const struct storage_options *opt, struct kvenv **out)
{
    struct kvenv *e;
    int rc;

    if (n_dbs == 0 || n_dbs > KVENV_MAX_DBS)
        return CR_EINVAL;
    e = calloc(1, sizeof *e);
    if (!e)
        return CR_ENOMEM;
    e->n_dbs = n_dbs;
    rc = env_open_locked(dir, opt, KVENV_MAX_DBS, &e->env, &e->lock_fd);
    if (rc) {
        free(e);
        return rc;
    }
    rc = kvenv_open_dbs(e, dbs);
    if (rc) {
        mdb_env_close(e->env);
        close(e->lock_fd);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void kvenv_close(struct kvenv *e)
{
    if (!e)
        return;
    mdb_env_close(e->env);
    close(e->lock_fd);
    free(e);
}

int kvenv_begin(struct kvenv *e, bool write, struct kvenv_txn **out)
{
    struct kvenv_txn *t = malloc(sizeof *t);
    int rc;

    if (!t)
        return CR_ENOMEM;
    t->e = e;
    rc = mdb_txn_begin(e->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        free(t);
        return map_error(rc);
    }
    *out = t;
    return 0;
}

void kvenv_reset(struct kvenv_txn *t)
{
    mdb_txn_reset(t->txn);
}

int kvenv_renew(struct kvenv_txn *t)
{
    return map_error(mdb_txn_renew(t->txn));
}

int kvenv_commit(struct kvenv_txn *t)
{
    int rc = mdb_txn_commit(t->txn);

    free(t);
    return map_error(rc);
}

void kvenv_abort(struct kvenv_txn *t)
{
    if (!t)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

int kvenv_get(struct kvenv_txn *t, unsigned db, const void *k, size_t kn, struct kvenv_val *v)
{
    CR_ASSERT(db < t->e->n_dbs);
    return raw_get(t->txn, t->e->dbi[db], k, kn, &v->p, &v->n);
}

int kvenv_put(struct kvenv_txn *t, unsigned db, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};

    CR_ASSERT(db < t->e->n_dbs);
    if (kn == 0 || kn > (size_t)mdb_env_get_maxkeysize(t->e->env))
        return CR_EINVAL;
    return map_error(mdb_put(t->txn, t->e->dbi[db], &key, &val, 0));
}

int kvenv_del_range(struct kvenv_txn *t, unsigned db, const void *lo, size_t lon, const void *hi,
                    size_t hin, uint64_t *n)
{
    CR_ASSERT(db < t->e->n_dbs);
    return raw_del_while(t->txn, t->e->dbi[db], lo, lon, below, hi, hin, n);
}

int kvenv_count(struct kvenv_txn *t, unsigned db, uint64_t *n)
{
    CR_ASSERT(db < t->e->n_dbs);
    return raw_count(t->txn, t->e->dbi[db], n);
}

int kvenv_cursor_open(struct kvenv_txn *t, unsigned db, struct kvenv_cursor **out)
{
    struct kvenv_cursor *c = malloc(sizeof *c);
    int rc;

    CR_ASSERT(db < t->e->n_dbs);
    if (!c)
        return CR_ENOMEM;
    rc = raw_cursor_open(t->txn, t->e->dbi[db], &c->c);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void kvenv_cursor_close(struct kvenv_cursor *c)
{
    if (!c)
        return;
    mdb_cursor_close(c->c);
    free(c);
}

int kvenv_cursor_get(struct kvenv_cursor *c, enum kvenv_op op, struct kvenv_val *k,
                     struct kvenv_val *v)
{
    return raw_cursor_get(c->c, cursor_ops[op], &k->p, &k->n, &v->p, &v->n);
}
