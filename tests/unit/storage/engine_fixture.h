/*
 * Shared set-up for the storage engine tests: an environment in a fresh temporary directory
 * (removed afterwards), one-batch apply with increasing indexes, and item builders.
 * Include after cmocka.h.
 */
#ifndef CR_ENGINE_FIXTURE_H
#define CR_ENGINE_FIXTURE_H

#include "common/arena.h"
#include "common/error.h"
#include "storage/storage.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    struct storage *s;
    struct cr_arena a;
    uint64_t index; /* last log index applied through the fixture */
    size_t map_size;
};

static inline void fx_open_env(struct fx *f)
{
    struct storage_options opt = {.map_size = f->map_size, .no_sync = true, .max_readers = 0};

    assert_int_equal(storage_open(f->dir, &opt, &f->s), 0);
}

static inline void fx_open_sized(struct fx *f, size_t map_size)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cirrus-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->map_size = map_size;
    cr_arena_init(&f->a, 0);
    fx_open_env(f);
}

static inline void fx_open(struct fx *f)
{
    fx_open_sized(f, 256u << 20);
}

static inline void fx_reopen(struct fx *f)
{
    storage_close(f->s);
    fx_open_env(f);
}

static inline void fx_close(struct fx *f)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    storage_close(f->s);
    cr_arena_free(&f->a);
    d = opendir(f->dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name) < (int)sizeof path);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(f->dir), 0);
}

/* Applies one batch at the next index; returns storage_apply's code. */
static inline int fx_apply(struct fx *f, struct mutation *m, size_t n, struct mutation_result *res)
{
    struct log_batch b = {
        .index = f->index + 1, .time_ms = 1000 + (int64_t)f->index, .muts = m, .n = n};
    int rc = storage_apply(f->s, &b, 1, &res, &f->a);

    if (rc == 0)
        f->index++;
    return rc;
}

static inline struct value fx_str(const char *s)
{
    return value_string(s, strlen(s));
}

/* A MAP of n (name, struct value) pairs, allocated from the fixture's arena. */
static inline struct value fx_map(struct fx *f, size_t n, ...)
{
    struct value v = {.type = VT_MAP};
    struct value_field *fields = cr_arena_alloc(&f->a, (n ? n : 1) * sizeof *fields);
    va_list ap;

    assert_non_null(fields);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *name = va_arg(ap, const char *);
        struct value *val = cr_arena_alloc(&f->a, sizeof *val);

        assert_non_null(val);
        *val = va_arg(ap, struct value);
        fields[i] = (struct value_field){name, strlen(name), val};
    }
    va_end(ap);
    v.u.map.fields = fields;
    v.u.map.n = n;
    return v;
}

static inline struct mutation fx_create_mut(const char *name, const char *pk, enum key_type pkt,
                                            const char *sk, enum key_type skt)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "%s", name);
    snprintf(m.table.pk_name, sizeof m.table.pk_name, "%s", pk);
    m.table.pk_type = pkt;
    if (sk) {
        m.table.has_sk = true;
        snprintf(m.table.sk_name, sizeof m.table.sk_name, "%s", sk);
        m.table.sk_type = skt;
    }
    return m;
}

static inline void fx_create_table(struct fx *f, const char *name, const char *pk,
                                   enum key_type pkt, const char *sk, enum key_type skt,
                                   struct table_def *out)
{
    struct mutation m = fx_create_mut(name, pk, pkt, sk, skt);
    struct mutation_result r;

    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    if (out)
        *out = r.table;
}

static inline struct mutation fx_put_mut(const char *table, struct value item)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_PUT;
    snprintf(m.table.name, sizeof m.table.name, "%s", table);
    m.item = item;
    return m;
}

static inline struct mutation fx_del_mut(const char *table, struct value key)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_DELETE;
    snprintf(m.table.name, sizeof m.table.name, "%s", table);
    m.key = key;
    return m;
}

/* Puts one item in its own batch; returns the mutation's result code. */
static inline int fx_put(struct fx *f, const char *table, struct value item)
{
    struct mutation m = fx_put_mut(table, item);
    struct mutation_result r;

    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    return r.code;
}

static inline struct storage_txn *fx_read(struct fx *f)
{
    struct storage_txn *t;

    assert_int_equal(storage_read_begin(f->s, &t), 0);
    return t;
}

#endif
