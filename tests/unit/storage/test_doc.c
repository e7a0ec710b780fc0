/* Collections and documents: path syntax, the catalog of collections, document CRUD with every
 * precondition, system properties, patches, atomic batches, dropping a collection, composite
 * indexes, long values, etags, determinism across replicas, and a property test: after random
 * writes, every index range scan (and the composite index) equals the full scan filtered and
 * sorted by a reference written here, paging resumes exactly at every position, and the
 * statistics match the entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "storage/storage_int.h"
#include "value_gen.h"

#define DB "app"

static struct coll_def coll_def(const char *name, const char *pk)
{
    struct coll_def d;

    memset(&d, 0, sizeof d);
    snprintf(d.db, sizeof d.db, "%s", DB);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.pk_path, sizeof d.pk_path, "%s", pk ? pk : "");
    d.policy.automatic = true;
    return d;
}

/* Creates the collection; returns the mutation's code (*out: the created definition). */
static int create_coll(struct fx *f, const struct coll_def *def, struct coll_def *out)
{
    struct mutation m;
    struct mutation_result r;

    memset(&m, 0, sizeof m);
    m.type = MUT_CREATE_COLLECTION;
    m.coll = *def;
    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    if (out && r.code == 0)
        *out = r.coll;
    return r.code;
}

static int drop_coll(struct fx *f, const char *name)
{
    struct mutation m;
    struct mutation_result r;

    memset(&m, 0, sizeof m);
    m.type = MUT_DROP_COLLECTION;
    snprintf(m.coll.db, sizeof m.coll.db, "%s", DB);
    snprintf(m.coll.name, sizeof m.coll.name, "%s", name);
    assert_int_equal(fx_apply(f, &m, 1, &r), 0);
    return r.code;
}

static struct mutation doc_mut(enum mut_type type, const char *coll)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = type;
    snprintf(m.coll.db, sizeof m.coll.db, "%s", DB);
    snprintf(m.coll.name, sizeof m.coll.name, "%s", coll);
    return m;
}

static struct doc_key key_of(const char *id)
{
    return (struct doc_key){false, value_null(), fx_str(id)};
}

static struct doc_key pkey_of(struct value pk, const char *id)
{
    return (struct doc_key){true, pk, fx_str(id)};
}

/* One document write in its own entry; returns its code, *r its result. */
static int write_doc(struct fx *f, enum mut_type type, const char *coll, struct value body,
                     struct mutation_result *r)
{
    struct mutation m = doc_mut(type, coll);
    struct mutation_result scratch;

    m.item = body;
    if (!r)
        r = &scratch;
    assert_int_equal(fx_apply(f, &m, 1, r), 0);
    return r->code;
}

static int apply_one(struct fx *f, struct mutation *m, struct mutation_result *r)
{
    struct mutation_result scratch;

    if (!r)
        r = &scratch;
    assert_int_equal(fx_apply(f, m, 1, r), 0);
    return r->code;
}

/* Reads a document (into the fixture's arena); returns doc_get's code. */
static int read_doc(struct fx *f, const char *coll, struct doc_key k, struct doc *out)
{
    struct storage_txn *t = fx_read(f);
    struct coll_def c;
    struct doc d;
    int rc = catalog_coll_get(t, DB, coll, &f->a, &c);

    if (rc == 0)
        rc = doc_get(t, &c, &k, &f->a, &d);
    if (rc == 0 && out) {
        assert_int_equal(value_clone(&d.body, &f->a, &out->body), 0);
        out->create_ms = d.create_ms;
        out->update_ms = d.update_ms;
        out->key = d.key;
    }
    storage_read_end(t);
    return rc;
}

static const struct value *field(const struct value *body, const char *name)
{
    return value_map_get(body, name, strlen(name));
}

static int64_t int_field(const struct doc *d, const char *name)
{
    const struct value *v = field(&d->body, name);

    assert_non_null(v);
    assert_int_equal(v->type, VT_INT);
    return v->u.i;
}

/* ---- collections ---------------------------------------------------------------------------- */

static const char *const inc_root[] = {"/*", "/a/b/?"};
static const char *const exc_a[] = {"/a/*", "/\"_etag\"/?"};
static const struct composite_path by_n_s[] = {{"/n", false}, {"/s", true}};

static void collections(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("orders", "/tenant"), made, got, page[2];
    struct composite_def comp = {0, by_n_s, 2};
    struct storage_txn *t;
    struct table_def tables[4];
    size_t n;
    bool more;

    (void)state;
    fx_open(&f);
    fx_create_table(&f, "zeta", "id", KEY_S, NULL, KEY_S, NULL);
    d.policy.include = inc_root;
    d.policy.n_include = 2;
    d.policy.exclude = exc_a;
    d.policy.n_exclude = 2;
    d.policy.composite = &comp;
    d.policy.n_composite = 1;
    assert_int_equal(create_coll(&f, &d, &made), 0);
    assert_int_equal(made.created_index, f.index);
    assert_int_equal(made.created_ms, 1000 + (int64_t)f.index - 1);
    assert_int_equal(made.updated_ms, made.created_ms);
    assert_int_equal(made.policy.n_composite, 1);
    assert_int_equal(made.policy.composite[0].id, made.id + 2);
    assert_true(made.policy.composite[0].paths[1].desc);
    assert_int_equal(create_coll(&f, &d, NULL), CR_EEXISTS);

    /* Other databases are other namespaces; names follow Cosmos DB's id rule. */
    snprintf(d.db, sizeof d.db, "other");
    d.policy.n_composite = 0;
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    d = coll_def("a/b", NULL);
    assert_int_equal(create_coll(&f, &d, NULL), CR_ENAME);
    d = coll_def("", NULL);
    assert_int_equal(create_coll(&f, &d, NULL), CR_ENAME);
    d = coll_def("bad", "tenant");
    assert_int_equal(create_coll(&f, &d, NULL), CR_EINVAL);
    d = coll_def("bad", "/tags/[]");
    assert_int_equal(create_coll(&f, &d, NULL), CR_EINVAL);
    d = coll_def("bad", NULL);
    d.policy.include = inc_root + 1; /* patterns without the root */
    d.policy.n_include = 1;
    assert_int_equal(create_coll(&f, &d, NULL), CR_EINVAL);
    d.policy.include = (const char *const[]){"/a/"};
    assert_int_equal(create_coll(&f, &d, NULL), CR_EINVAL);
    assert_int_equal(catalog_coll_check(&d), CR_EINVAL);
    d = coll_def("b", NULL);
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    d = coll_def("c", NULL);
    assert_int_equal(create_coll(&f, &d, NULL), 0);

    t = fx_read(&f);
    assert_int_equal(catalog_coll_get(t, DB, "orders", &f.a, &got), 0);
    assert_int_equal(got.id, made.id);
    assert_string_equal(got.pk_path, "/tenant");
    assert_int_equal(got.policy.n_include, 2);
    assert_string_equal(got.policy.exclude[1], "/\"_etag\"/?");
    assert_int_equal(catalog_coll_get(t, "other", "missing", &f.a, &got), CR_ENOCOLL);
    /* Paginated, in name order, within the database. */
    assert_int_equal(catalog_coll_list(t, DB, NULL, &f.a, page, 2, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(page[0].name, "b");
    assert_string_equal(page[1].name, "c");
    assert_int_equal(catalog_coll_list(t, DB, "c", &f.a, page, 2, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(page[0].name, "orders");
    assert_int_equal(catalog_coll_list(t, "other", NULL, &f.a, page, 2, &n, &more), 0);
    assert_int_equal(n, 1);
    /* Tables are listed without the collections. */
    assert_int_equal(catalog_list(t, NULL, 0, tables, 4, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(tables[0].name, "zeta");
    storage_read_end(t);

    assert_int_equal(drop_coll(&f, "b"), 0);
    assert_int_equal(drop_coll(&f, "b"), CR_ENOCOLL);
    t = fx_read(&f);
    assert_int_equal(catalog_coll_get(t, DB, "b", &f.a, &got), CR_ENOCOLL);
    storage_read_end(t);
    fx_reopen(&f);
    assert_int_equal(read_doc(&f, "orders", key_of("x"), NULL), CR_ENOTFOUND);
    fx_close(&f);
}

/* Path texts in Cosmos DB's syntax: plain paths and index patterns. */
static void paths(void **state)
{
    struct cr_arena a;
    struct doc_path p;
    enum pattern_tail tail;
    const char *bad[] = {"", "a", "/", "/a/", "/a//b", "/\"open", "/\"q\"x", "/a/?", "/*/b"};
    const char *bad_pattern[] = {"/a", "/?", "/a/?/b", "/a/*/?", "/*/*"};

    (void)state;
    cr_arena_init(&a, 0);
    assert_int_equal(doc_path_parse("/a/\"b/\\\"c\"/[]", 13, &a, &p), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.segs[0].kind, SEG_FIELD);
    assert_int_equal(p.segs[1].len, 4);
    assert_memory_equal(p.segs[1].name, "b/\"c", 4);
    assert_int_equal(p.segs[2].kind, SEG_ELEMENTS);
    assert_int_equal(doc_path_parse("/\"*\"", 4, &a, &p), 0); /* a quoted star is a name */
    assert_int_equal(p.n, 1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(doc_path_parse(bad[i], strlen(bad[i]), &a, &p), CR_EINVAL);
    assert_int_equal(doc_pattern_parse("/*", 2, &a, &p, &tail), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(tail, TAIL_ALL);
    assert_int_equal(doc_pattern_parse("/tags/[]/?", 10, &a, &p, &tail), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(tail, TAIL_SCALAR);
    for (size_t i = 0; i < sizeof bad_pattern / sizeof *bad_pattern; i++)
        assert_int_equal(doc_pattern_parse(bad_pattern[i], strlen(bad_pattern[i]), &a, &p, &tail),
                         CR_EINVAL);
    cr_arena_free(&a);
}

/* ---- documents ------------------------------------------------------------------------------ */

static void crud(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("people", "/tenant");
    struct mutation_result r;
    struct doc got;
    struct mutation m;
    char etag1[CR_ETAG_LEN + 1];
    char long_id[CR_MAX_DOC_ID + 2];

    (void)state;
    fx_open(&f);
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "people",
                  fx_map(&f, 3, "id", fx_str("ann"), "tenant", fx_str("t1"), "age", value_int(30)),
                  &r),
        0);
    assert_int_equal(strlen(r.etag), CR_ETAG_LEN);
    memcpy(etag1, r.etag, sizeof etag1);
    assert_int_equal(r.update_ms, 1000 + (int64_t)f.index - 1);
    assert_int_equal(read_doc(&f, "people", pkey_of(fx_str("t1"), "ann"), &got), 0);
    assert_int_equal(int_field(&got, "age"), 30);
    assert_int_equal(int_field(&got, "_ts"), (1000 + (int64_t)f.index - 1) / 1000);
    assert_memory_equal(field(&got.body, "_etag")->u.s.ptr, etag1, CR_ETAG_LEN);
    assert_int_equal(got.create_ms, got.update_ms);
    /* The same id in another partition is another document; without the partition, not found. */
    assert_int_equal(read_doc(&f, "people", pkey_of(fx_str("t2"), "ann"), NULL), CR_ENOTFOUND);
    assert_int_equal(read_doc(&f, "people", key_of("ann"), NULL), CR_ENOTFOUND);
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "people",
                  fx_map(&f, 3, "id", fx_str("ann"), "tenant", fx_str("t1"), "age", value_int(1)),
                  &r),
        CR_EEXISTS);
    assert_int_equal(write_doc(&f, MUT_DOC_REPLACE, "people",
                               fx_map(&f, 2, "id", fx_str("bob"), "tenant", fx_str("t1")), NULL),
                     CR_ENOTFOUND);
    /* Replace: new body, new etag, the creation time kept; _etag and _ts given are ignored. */
    assert_int_equal(write_doc(&f, MUT_DOC_REPLACE, "people",
                               fx_map(&f, 4, "id", fx_str("ann"), "tenant", fx_str("t1"), "city",
                                      fx_str("Oslo"), "_ts", value_int(5)),
                               &r),
                     0);
    assert_string_not_equal(r.etag, etag1);
    assert_int_equal(read_doc(&f, "people", pkey_of(fx_str("t1"), "ann"), &got), 0);
    assert_null(field(&got.body, "age"));
    assert_non_null(field(&got.body, "city"));
    assert_int_equal(int_field(&got, "_ts"), 1);
    assert_true(got.create_ms < got.update_ms);
    /* Upsert creates and replaces. A document without the partition key path has none. */
    assert_int_equal(write_doc(&f, MUT_DOC_UPSERT, "people", fx_map(&f, 1, "id", fx_str("cy")), &r),
                     0);
    assert_int_equal(read_doc(&f, "people", key_of("cy"), &got), 0);
    assert_false(got.key.has_pk);
    assert_int_equal(write_doc(&f, MUT_DOC_UPSERT, "people",
                               fx_map(&f, 2, "id", fx_str("cy"), "v", value_int(2)), &r),
                     0);
    assert_int_equal(read_doc(&f, "people", key_of("cy"), &got), 0);
    assert_int_equal(int_field(&got, "v"), 2);
    /* Numbers as partition keys compare by value. */
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "people",
                               fx_map(&f, 2, "id", fx_str("n"), "tenant", value_int(1)), NULL),
                     0);
    assert_int_equal(read_doc(&f, "people", pkey_of(value_double(1.0), "n"), NULL), 0);

    /* Bad documents and keys. */
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "people", fx_map(&f, 1, "x", value_int(1)), NULL),
        CR_EMISSINGKEY);
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "people", fx_map(&f, 1, "id", value_int(1)), NULL), CR_ETYPE);
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "people", fx_map(&f, 1, "id", fx_str("")), NULL),
                     CR_EINVAL);
    for (const char *bad = "/\\?#"; *bad; bad++) {
        char id[4] = {'a', *bad, 'b', 0};

        assert_int_equal(
            write_doc(&f, MUT_DOC_CREATE, "people", fx_map(&f, 1, "id", fx_str(id)), NULL),
            CR_EINVAL);
    }
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "people", fx_map(&f, 1, "id", fx_str(long_id)), NULL),
        CR_EINVAL);
    long_id[CR_MAX_DOC_ID] = 0; /* 255 bytes: fine, and longer than a key component */
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "people", fx_map(&f, 1, "id", fx_str(long_id)), NULL), 0);
    assert_int_equal(read_doc(&f, "people", key_of(long_id), NULL), 0);
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "people",
                               fx_map(&f, 2, "id", fx_str("m"), "tenant", fx_map(&f, 0)), NULL),
                     CR_ETYPE);
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "nope", fx_map(&f, 1, "id", fx_str("a")), NULL),
                     CR_ENOCOLL);

    /* Delete: an absent document is no error, unless PRE_EXISTS is asked. */
    m = doc_mut(MUT_DOC_DELETE, "people");
    m.doc_key = key_of("cy");
    assert_int_equal(apply_one(&f, &m, NULL), 0);
    assert_int_equal(read_doc(&f, "people", key_of("cy"), NULL), CR_ENOTFOUND);
    assert_int_equal(apply_one(&f, &m, NULL), 0);
    m.pre.exists = PRE_EXISTS;
    assert_int_equal(apply_one(&f, &m, NULL), CR_ENOTFOUND);
    fx_close(&f);
}

static void preconditions(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", NULL);
    struct mutation_result r;
    struct mutation m;
    struct doc got;
    char tag[CR_ETAG_LEN + 1];
    int64_t updated;

    (void)state;
    fx_open(&f);
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    m = doc_mut(MUT_DOC_UPSERT, "c");
    m.item = fx_map(&f, 2, "id", fx_str("x"), "v", value_int(1));
    m.pre.exists = PRE_EXISTS;
    assert_int_equal(apply_one(&f, &m, NULL), CR_ENOTFOUND);
    m.pre.exists = PRE_NOT_EXISTS;
    assert_int_equal(apply_one(&f, &m, &r), 0);
    memcpy(tag, r.etag, sizeof tag);
    updated = r.update_ms;
    assert_int_equal(apply_one(&f, &m, NULL), CR_EEXISTS);
    m.pre.exists = PRE_EXISTS;
    m.item = fx_map(&f, 2, "id", fx_str("x"), "v", value_int(2));
    /* if-match: a stale or absent etag fails; the current one passes. */
    m.pre.if_match = "\"stale\"";
    m.pre.if_match_len = 7;
    assert_int_equal(apply_one(&f, &m, NULL), CR_ECONDITION);
    m.pre.if_match = tag;
    m.pre.if_match_len = strlen(tag);
    /* update time equals */
    m.pre.has_update_ms = true;
    m.pre.update_ms = updated + 1;
    assert_int_equal(apply_one(&f, &m, NULL), CR_ECONDITION);
    m.pre.update_ms = updated;
    assert_int_equal(apply_one(&f, &m, &r), 0);
    assert_int_equal(read_doc(&f, "c", key_of("x"), &got), 0);
    assert_int_equal(int_field(&got, "v"), 2);
    /* The old etag and update time no longer match. */
    assert_int_equal(apply_one(&f, &m, NULL), CR_ECONDITION);
    m.pre.has_update_ms = false;
    assert_int_equal(apply_one(&f, &m, NULL), CR_ECONDITION);
    m = doc_mut(MUT_DOC_DELETE, "c");
    m.doc_key = key_of("x");
    m.pre.if_match = tag;
    m.pre.if_match_len = strlen(tag);
    assert_int_equal(apply_one(&f, &m, NULL), CR_ECONDITION);
    m.pre.if_match = r.etag;
    m.pre.if_match_len = strlen(r.etag);
    assert_int_equal(apply_one(&f, &m, NULL), 0);
    assert_int_equal(apply_one(&f, &m, NULL), CR_ECONDITION); /* absent: no etag matches */
    /* Replace and patch need the document whatever the preconditions say. */
    m = doc_mut(MUT_DOC_PATCH, "c");
    m.doc_key = key_of("x");
    assert_int_equal(apply_one(&f, &m, NULL), CR_ENOTFOUND);
    fx_close(&f);
}

static struct doc_seg seg(const char *name)
{
    return (struct doc_seg){SEG_FIELD, name, strlen(name), 0};
}

static struct value arr_of(struct fx *f, size_t n, ...)
{
    struct value v = {.type = VT_ARRAY};
    va_list ap;

    v.u.arr.items = cr_arena_alloc(&f->a, (n ? n : 1) * sizeof *v.u.arr.items);
    assert_non_null(v.u.arr.items);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        v.u.arr.items[i] = va_arg(ap, struct value);
    va_end(ap);
    v.u.arr.n = n;
    return v;
}

static void assert_value(const struct value *got, struct value want)
{
    assert_non_null(got);
    if (!value_equal(got, &want) || got->type != want.type)
        fail_msg("value of type %s, want %s", value_type_name(got->type),
                 value_type_name(want.type));
}

static void patches(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", "/pk");
    struct mutation m;
    struct mutation_result r;
    struct doc got;
    struct doc_seg s_n[] = {seg("n")}, s_tags[] = {seg("tags")}, s_deep[] = {seg("a"), seg("b")},
                   s_big[] = {seg("big")}, s_f[] = {seg("f")}, s_t[] = {seg("t")},
                   s_lo[] = {seg("lo")}, s_hi[] = {seg("hi")}, s_gone[] = {seg("gone")},
                   s_id[] = {seg("id")}, s_pk[] = {seg("pk")}, s_n0[] = {seg("s")},
                   s_pos[] = {seg("tags"), {SEG_POSITION, NULL, 0, 1}};
    struct patch_op ops[16];
    size_t k = 0;

    (void)state;
    fx_open(&f);
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    assert_int_equal(
        write_doc(&f, MUT_DOC_CREATE, "c",
                  fx_map(&f, 8, "id", fx_str("x"), "pk", fx_str("p"), "n", value_int(5), "tags",
                         arr_of(&f, 3, fx_str("a"), fx_str("b"), fx_str("a")), "big",
                         value_int(INT64_MAX - 1), "f", value_double(0.5), "lo", value_int(3), "hi",
                         value_int(3)),
                  NULL),
        0);
    ops[k++] = (struct patch_op){PATCH_INCREMENT, {s_n, 1}, value_int(2), false};
    ops[k++] = (struct patch_op){PATCH_INCREMENT, {s_big, 1}, value_int(10), false};
    ops[k++] = (struct patch_op){PATCH_INCREMENT, {s_f, 1}, value_int(1), false};
    ops[k++] = (struct patch_op){PATCH_ARRAY_UNION,
                                 {s_tags, 1},
                                 arr_of(&f, 3, fx_str("b"), fx_str("c"), fx_str("c")),
                                 false};
    ops[k++] = (struct patch_op){PATCH_APPEND, {s_tags, 1}, fx_str("a"), false};
    ops[k++] = (struct patch_op){PATCH_SET, {s_pos, 2}, fx_str("B"), false};
    ops[k++] = (struct patch_op){PATCH_SET, {s_deep, 2}, value_bool(true), false};
    ops[k++] = (struct patch_op){PATCH_SERVER_TIME, {s_t, 1}, value_null(), false};
    ops[k++] = (struct patch_op){PATCH_MINIMUM, {s_lo, 1}, value_double(2.5), false};
    ops[k++] = (struct patch_op){PATCH_MAXIMUM, {s_hi, 1}, value_int(1), false};
    ops[k++] = (struct patch_op){PATCH_REMOVE, {s_gone, 1}, value_null(), false};
    ops[k++] = (struct patch_op){PATCH_ARRAY_REMOVE, {s_n0, 1}, arr_of(&f, 1, value_int(1)), false};
    ops[k++] = (struct patch_op){PATCH_APPEND, {s_tags, 1}, fx_str("z"), false};
    ops[k++] = (struct patch_op){PATCH_REMOVE, {s_pos, 2}, value_null(), true};
    m = doc_mut(MUT_DOC_PATCH, "c");
    m.doc_key = pkey_of(fx_str("p"), "x");
    m.patch = ops;
    m.n_patch = k;
    m.return_new = true;
    assert_int_equal(apply_one(&f, &m, &r), 0);
    assert_true(r.has_new);
    assert_int_equal(read_doc(&f, "c", pkey_of(fx_str("p"), "x"), &got), 0);
    assert_value(field(&got.body, "n"), value_int(7));
    assert_value(field(&got.body, "big"), value_int(INT64_MAX)); /* saturates */
    assert_value(field(&got.body, "f"), value_double(1.5));
    {
        const struct value *tags = field(&got.body, "tags");
        const char *want[] = {"a", "a", "c", "a", "z"}; /* "B" at position 1 removed */

        assert_int_equal(tags->u.arr.n, 5);
        for (size_t i = 0; i < 5; i++)
            assert_value(&tags->u.arr.items[i], fx_str(want[i]));
    }
    assert_value(field(field(&got.body, "a"), "b"), value_bool(true));
    assert_int_equal(field(&got.body, "t")->type, VT_TIMESTAMP);
    assert_int_equal(field(&got.body, "t")->u.ts.sec * 1000 +
                         field(&got.body, "t")->u.ts.nsec / 1000000,
                     got.update_ms);
    assert_value(field(&got.body, "lo"), value_double(2.5));
    assert_value(field(&got.body, "hi"), value_int(3));
    assert_int_equal(field(&got.body, "s")->u.arr.n, 0); /* array remove on a missing field */
    assert_true(value_equal(&r.new_item, &got.body));

    /* Refused: a missing path with must_exist, the id, the partition key, a non-number increment,
     * a parent that is not a map. Nothing is written. */
    k = 0;
    ops[0] = (struct patch_op){PATCH_REMOVE, {s_gone, 1}, value_null(), true};
    m.n_patch = 1;
    assert_int_equal(apply_one(&f, &m, NULL), CR_EINVAL);
    ops[0] = (struct patch_op){PATCH_SET, {s_id, 1}, fx_str("y"), false};
    assert_int_equal(apply_one(&f, &m, NULL), CR_EINVAL);
    ops[0] = (struct patch_op){PATCH_SET, {s_pk, 1}, fx_str("q"), false};
    assert_int_equal(apply_one(&f, &m, NULL), CR_EINVAL);
    ops[0] = (struct patch_op){PATCH_INCREMENT, {s_n, 1}, fx_str("1"), false};
    assert_int_equal(apply_one(&f, &m, NULL), CR_EINVAL);
    {
        struct doc_seg under[] = {seg("n"), seg("x")};

        ops[0] = (struct patch_op){PATCH_SET, {under, 2}, value_int(1), false};
        assert_int_equal(apply_one(&f, &m, NULL), CR_EINVAL);
    }
    ops[0] = (struct patch_op){PATCH_APPEND, {s_n, 1}, value_int(1), false};
    assert_int_equal(apply_one(&f, &m, NULL), CR_EINVAL);
    assert_int_equal(read_doc(&f, "c", pkey_of(fx_str("p"), "x"), &got), 0);
    assert_value(field(&got.body, "n"), value_int(7));
    fx_close(&f);
}

/* ---- index helpers -------------------------------------------------------------------------- */

/* Every entry of an index scan, following its cursor with pages of `limit`. */
static size_t index_all(struct fx *f, struct storage_txn *t, const struct coll_def *c,
                        struct doc_index_query q, uint32_t limit, struct doc_entry *out, size_t cap)
{
    struct doc_entry_page p;
    size_t n = 0;

    q.limit = limit;
    q.cursor = NULL;
    q.cursor_len = 0;
    do {
        assert_int_equal(doc_index_scan(t, c, &q, &f->a, &p), 0);
        assert_true(!limit || p.n <= limit);
        assert_true(n + p.n <= cap);
        if (p.n)
            memcpy(out + n, p.entries, p.n * sizeof *out);
        n += p.n;
        q.cursor = p.next;
        q.cursor_len = p.next_len;
    } while (p.next_len);
    return n;
}

static size_t index_count(struct fx *f, const char *coll, const char *path_text)
{
    struct storage_txn *t = fx_read(f);
    struct coll_def c;
    struct doc_index_query q;
    struct doc_entry out[64];
    size_t n;

    memset(&q, 0, sizeof q);
    assert_int_equal(catalog_coll_get(t, DB, coll, &f->a, &c), 0);
    assert_int_equal(doc_path_parse(path_text, strlen(path_text), &f->a, &q.path), 0);
    n = index_all(f, t, &c, q, 0, out, 64);
    storage_read_end(t);
    return n;
}

/* Entries in the index database under an object id. */
static size_t raw_entries(struct fx *f, uint32_t id)
{
    struct storage_txn *t = fx_read(f);
    struct env_cursor *c;
    uint8_t prefix[4];
    struct env_val k = {prefix, 4}, v;
    size_t n = 0;
    int rc;

    cr_put_u32be(prefix, id);
    assert_int_equal(env_cursor_open(t, ENV_INDEX, &c), 0);
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && k.n >= 4 && !memcmp(k.p, prefix, 4);
         rc = env_cursor_get(c, ENV_NEXT, &k, &v))
        n++;
    env_cursor_close(c);
    storage_read_end(t);
    return n;
}

static size_t raw_rows(struct fx *f, uint32_t id)
{
    struct storage_txn *t = fx_read(f);
    struct env_cursor *c;
    uint8_t prefix[4];
    struct env_val k = {prefix, 4}, v;
    size_t n = 0;
    int rc;

    cr_put_u32be(prefix, id);
    assert_int_equal(env_cursor_open(t, ENV_DATA, &c), 0);
    for (rc = env_cursor_get(c, ENV_SEEK, &k, &v); rc == 0 && k.n >= 4 && !memcmp(k.p, prefix, 4);
         rc = env_cursor_get(c, ENV_NEXT, &k, &v))
        n++;
    env_cursor_close(c);
    storage_read_end(t);
    return n;
}

/* A batch that fails on its last mutation writes nothing: documents, entries, stats. */
static void atomic_batch(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", NULL), made;
    struct mutation m[3];
    struct mutation_result r[3];
    struct table_stats st;
    struct storage_txn *t;

    (void)state;
    fx_open(&f);
    assert_int_equal(create_coll(&f, &d, &made), 0);
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "c",
                               fx_map(&f, 2, "id", fx_str("old"), "v", value_int(1)), NULL),
                     0);
    m[0] = doc_mut(MUT_DOC_CREATE, "c");
    m[0].item = fx_map(&f, 2, "id", fx_str("new"), "v", value_int(2));
    m[1] = doc_mut(MUT_DOC_DELETE, "c");
    m[1].doc_key = key_of("old");
    m[2] = doc_mut(MUT_DOC_UPSERT, "c");
    m[2].item = fx_map(&f, 2, "id", fx_str("other"), "v", value_int(3));
    m[2].pre.exists = PRE_EXISTS;
    assert_int_equal(fx_apply(&f, m, 3, r), 0);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(r[1].code, CR_EABORTED);
    assert_int_equal(r[2].code, CR_ENOTFOUND);
    assert_int_equal(read_doc(&f, "c", key_of("new"), NULL), CR_ENOTFOUND);
    assert_int_equal(read_doc(&f, "c", key_of("old"), NULL), 0);
    assert_int_equal(index_count(&f, "c", "/v"), 1);
    t = fx_read(&f);
    assert_int_equal(catalog_coll_stats(t, made.id, &st), 0);
    assert_int_equal(st.item_count, 1);
    storage_read_end(t);
    /* Without the failing precondition the batch applies as a whole. */
    m[2].pre.exists = PRE_ANY;
    assert_int_equal(fx_apply(&f, m, 3, r), 0);
    assert_int_equal(r[0].code + r[1].code + r[2].code, 0);
    assert_string_not_equal(r[0].etag, r[2].etag);
    assert_int_equal(read_doc(&f, "c", key_of("old"), NULL), CR_ENOTFOUND);
    assert_int_equal(index_count(&f, "c", "/v"), 2);
    assert_int_equal(index_count(&f, "c", "/id"), 2);
    t = fx_read(&f);
    assert_int_equal(catalog_coll_stats(t, made.id, &st), 0);
    assert_int_equal(st.item_count, 2);
    storage_read_end(t);
    fx_close(&f);
}

static void drop_removes_everything(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", "/p"), made, again;
    struct composite_def comp = {0, by_n_s, 2};
    struct table_stats st;
    struct storage_txn *t;
    struct change ch[64];
    size_t n;

    (void)state;
    fx_open(&f);
    d.policy.composite = &comp;
    d.policy.n_composite = 1;
    assert_int_equal(create_coll(&f, &d, &made), 0);
    for (int i = 0; i < 10; i++) {
        char id[8];

        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "c",
                                   fx_map(&f, 4, "id", fx_str(id), "p", value_int(i % 3), "n",
                                          value_int(i), "s", fx_str(id)),
                                   NULL),
                         0);
    }
    assert_int_equal(raw_rows(&f, made.id), 10);
    assert_int_equal(raw_entries(&f, made.id + 1), 60); /* id, p, n, s, _etag, _ts */
    assert_int_equal(raw_entries(&f, made.id + 2), 10);
    t = fx_read(&f); /* the statistics follow the entries */
    assert_int_equal(catalog_coll_stats(t, made.id, &st), 0);
    assert_int_equal(st.item_count, 10);
    assert_int_equal(catalog_coll_stats(t, made.id + 1, &st), 0);
    assert_int_equal(st.item_count, 60);
    assert_int_equal(catalog_coll_stats(t, made.id + 2, &st), 0);
    assert_int_equal(st.item_count, 10);
    storage_read_end(t);
    assert_int_equal(drop_coll(&f, "c"), 0);
    assert_int_equal(raw_rows(&f, made.id), 0);
    assert_int_equal(raw_entries(&f, made.id + 1), 0);
    assert_int_equal(raw_entries(&f, made.id + 2), 0);
    t = fx_read(&f);
    assert_int_equal(catalog_coll_stats(t, made.id, &st), 0);
    assert_int_equal(st.item_count, 0);
    assert_int_equal(catalog_coll_stats(t, made.id + 1, &st), 0);
    assert_int_equal(st.item_count, 0);
    /* The change feed: the creation, ten writes with their keys and bodies, the drop. */
    assert_int_equal(changes_read(t, 0, ch, 64, &n, &f.a), 0);
    assert_int_equal(n, 12);
    assert_int_equal(ch[0].type, MUT_CREATE_TABLE);
    assert_int_equal(ch[0].table_id, made.id);
    assert_int_equal(ch[1].type, MUT_PUT);
    assert_value(field(&ch[1].key, "id"), fx_str("d0"));
    assert_value(field(&ch[1].key, "pk"), value_int(0));
    assert_value(field(&ch[1].item, "s"), fx_str("d0"));
    assert_non_null(field(&ch[1].item, "_etag"));
    assert_int_equal(ch[11].type, MUT_DELETE_TABLE);
    storage_read_end(t);
    /* A collection created again under the name starts empty, with new ids. */
    assert_int_equal(create_coll(&f, &d, &again), 0);
    assert_true(again.id > made.id + 2);
    assert_int_equal(read_doc(&f, "c", pkey_of(value_int(0), "d0"), NULL), CR_ENOTFOUND);
    fx_close(&f);
}

static void composite(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", NULL), c;
    struct composite_def comp = {0, by_n_s, 2};
    struct storage_txn *t;
    struct doc_composite_query q;
    struct doc_entry_page p;
    struct value eq = value_int(1);
    const char *ids[] = {"a", "b", "c", "d", "e"};
    const int ns[] = {2, 1, 1, 1, 0};
    const char *ss[] = {"x", "y", "z", "x", "q"};

    (void)state;
    fx_open(&f);
    d.policy.composite = &comp;
    d.policy.n_composite = 1;
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "c",
                                   fx_map(&f, 3, "id", fx_str(ids[i]), "n", value_int(ns[i]), "s",
                                          fx_str(ss[i])),
                                   NULL),
                         0);
    /* No entry without every path; none for a non-scalar. */
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "c",
                               fx_map(&f, 2, "id", fx_str("f"), "n", value_int(1)), NULL),
                     0);
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "c",
                               fx_map(&f, 3, "id", fx_str("g"), "n", value_int(1), "s",
                                      arr_of(&f, 1, fx_str("x"))),
                               NULL),
                     0);
    t = fx_read(&f);
    assert_int_equal(catalog_coll_get(t, DB, "c", &f.a, &c), 0);
    memset(&q, 0, sizeof q);
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), 0);
    /* n ASC, s DESC: (0,q) (1,z) (1,y) (1,x) (2,x) */
    {
        const char *want[] = {"e", "c", "b", "d", "a"};

        assert_int_equal(p.n, 5);
        for (size_t i = 0; i < 5; i++) {
            assert_value(&p.entries[i].key.id, fx_str(want[i]));
            assert_int_equal(p.entries[i].value.u.arr.n, 2);
        }
    }
    q.eq = &eq;
    q.n_eq = 1;
    q.reverse = true;
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), 0);
    {
        const char *want[] = {"d", "b", "c"};

        assert_int_equal(p.n, 3);
        for (size_t i = 0; i < 3; i++)
            assert_value(&p.entries[i].key.id, fx_str(want[i]));
    }
    q.limit = 1;
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), 0);
    assert_int_equal(p.n, 1);
    q.cursor = p.next;
    q.cursor_len = p.next_len;
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), 0);
    assert_value(&p.entries[0].key.id, fx_str("b"));
    q.n_eq = 0; /* a cursor of another range */
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), 0);
    q.eq = &(struct value){.type = VT_INT, .u.i = 2};
    q.n_eq = 1;
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), CR_ECURSOR);
    q.index = 1;
    assert_int_equal(doc_composite_scan(t, &c, &q, &f.a, &p), CR_EINVAL);
    storage_read_end(t);
    fx_close(&f);
}

/* Values longer than an index key keeps: exact equality, ranges and prefixes; errors. */
static void long_values(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", NULL), c;
    static const char *const exc[] = {"/hidden/?"};
    static const char *const inc[] = {"/*"};
    static char big[CR_MAX_DOC_SIZE + 1], s[4][260];
    struct doc_seg p_s[] = {seg("s")}, p_hidden[] = {seg("hidden")};
    struct doc_index_query q;
    struct doc_entry_page p;
    struct storage_txn *t;
    bool seen[4] = {false};

    (void)state;
    fx_open(&f);
    d.policy.include = inc;
    d.policy.n_include = 1;
    d.policy.exclude = exc;
    d.policy.n_exclude = 1;
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    for (int i = 0; i < 4; i++) {
        char id[4] = {'l', (char)('0' + i), 0, 0};

        memset(s[i], 'x', 250);
        s[i][250] = (char)('a' + i);
        s[i][251] = 0;
        assert_int_equal(
            write_doc(&f, MUT_DOC_CREATE, "c",
                      fx_map(&f, 3, "id", fx_str(id), "s", fx_str(s[i]), "hidden", value_int(i)),
                      NULL),
            0);
    }
    memset(big, 'b', CR_MAX_DOC_SIZE);
    assert_int_equal(write_doc(&f, MUT_DOC_CREATE, "c",
                               fx_map(&f, 2, "id", fx_str("big"), "s", fx_str(big)), NULL),
                     CR_EITEMTOOBIG);
    t = fx_read(&f);
    assert_int_equal(catalog_coll_get(t, DB, "c", &f.a, &c), 0);
    memset(&q, 0, sizeof q);
    q.path = (struct doc_path){p_s, 1};
    q.range.lo = q.range.hi = (struct doc_bound){true, true, fx_str(s[1])};
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), 0);
    assert_int_equal(p.n, 1);
    assert_value(&p.entries[0].key.id, fx_str("l1"));
    assert_value(&p.entries[0].value, fx_str(s[1]));
    q.range.lo.inclusive = false;
    q.range.hi = (struct doc_bound){false, false, value_null()};
    q.range.same_type = true;
    q.range.rank = value_rank(VT_STRING);
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), 0);
    assert_int_equal(p.n, 2); /* in hash order among themselves: docs/storage.md */
    for (size_t i = 0; i < p.n; i++)
        seen[p.entries[i].key.id.u.s.ptr[1] - '0'] = true;
    assert_true(seen[2] && seen[3]);
    q.range.lo.set = false;
    q.range.has_prefix = true;
    q.range.prefix = value_string(s[0], 250);
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), 0);
    assert_int_equal(p.n, 4);
    /* Refused: a path the policy excludes, a prefix that is not a string, two type ranks. */
    q.path = (struct doc_path){p_hidden, 1};
    assert_false(doc_path_indexed(&c, &q.path));
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), CR_EINVAL);
    q.path = (struct doc_path){p_s, 1};
    q.range.prefix = value_int(1);
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), CR_EINVAL);
    q.range.has_prefix = false;
    q.range.lo = (struct doc_bound){true, true, value_int(1)};
    q.range.hi = (struct doc_bound){true, true, fx_str("a")};
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), CR_EINVAL);
    q.range.same_type = false; /* across ranks in the value order: numbers then strings */
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), 0);
    assert_int_equal(p.n, 0);
    q.range.hi.v = fx_str("y");
    assert_int_equal(doc_index_scan(t, &c, &q, &f.a, &p), 0);
    assert_int_equal(p.n, 4);
    storage_read_end(t);
    fx_close(&f);
}

/* ---- the property test ---------------------------------------------------------------------- */

#define N_IDS 40
#define N_OPS 3000
#define MAX_ENTRIES 4096

static struct value gen_scalar(void)
{
    static const char *strs[] = {"", "a", "ab", "b", "ba", "c", "a\0b"};

    switch (gen_below(9)) {
    case 0:
        return value_null();
    case 1:
        return value_bool(gen_below(2));
    case 2:
    case 3:
        return value_int((int64_t)gen_below(6) - 2);
    case 4:
        return value_double(gen_below(2) ? 1.0 : 2.5); /* 1.0 equals INT 1 */
    default: {
        unsigned i = gen_below(7);

        return value_string(strs[i], i == 6 ? 3 : strlen(strs[i]));
    }
    }
}

static struct value gen_array(struct fx *f, int depth)
{
    size_t n = gen_below(4);
    struct value v = {.type = VT_ARRAY};

    v.u.arr.items = cr_arena_alloc(&f->a, (n ? n : 1) * sizeof *v.u.arr.items);
    assert_non_null(v.u.arr.items);
    for (size_t i = 0; i < n; i++)
        v.u.arr.items[i] = depth < 2 && gen_below(6) == 0 ? gen_array(f, depth + 1) : gen_scalar();
    v.u.arr.n = n;
    return v;
}

static struct value gen_any(struct fx *f)
{
    unsigned k = gen_below(6);

    if (k == 0)
        return gen_array(f, 0);
    if (k == 1)
        return fx_map(f, 2, "b", gen_scalar(), "c", gen_array(f, 1));
    return gen_scalar();
}

static struct value gen_pk(bool *has)
{
    static const char *strs[] = {"t1", "t2"};
    unsigned k = gen_below(5);

    *has = k != 0;
    if (k == 1)
        return value_int(7);
    if (k == 2)
        return value_null();
    return fx_str(strs[k % 2]);
}

static struct value gen_body(struct fx *f, const char *id, bool has_pk, struct value pk)
{
    struct value_field *fields = cr_arena_alloc(&f->a, 6 * sizeof *fields);
    struct value *vals = cr_arena_alloc(&f->a, 6 * sizeof *vals);
    const char *names[] = {"a", "n", "s", "tags"};
    size_t n = 0;

    assert_non_null(fields);
    assert_non_null(vals);
    vals[n] = fx_str(id);
    fields[n] = (struct value_field){"id", 2, &vals[n]};
    n++;
    if (has_pk) {
        vals[n] = pk;
        fields[n] = (struct value_field){"p", 1, &vals[n]};
        n++;
    }
    for (size_t i = 0; i < 4; i++) {
        if (gen_below(5) == 0)
            continue;
        vals[n] = i == 3 ? gen_array(f, 0) : i == 0 ? gen_any(f) : gen_scalar();
        fields[n] = (struct value_field){names[i], strlen(names[i]), &vals[n]};
        n++;
    }
    return (struct value){.type = VT_MAP, .u.map = {fields, n}};
}

/* What the test believes exists: ids 0..N_IDS-1, each with its partition key. */
struct model {
    size_t patched, compared; /* successful patches, index entries checked */
    bool exists[N_IDS];
    bool has_pk[N_IDS];
    struct value pk[N_IDS];
};

static const char *id_name(unsigned i)
{
    static char names[N_IDS][8];

    snprintf(names[i], sizeof names[i], "d%02u", i);
    return names[i];
}

static void random_op(struct fx *f, struct model *mo, const char *coll)
{
    unsigned i = gen_below(N_IDS);
    struct doc_key key = {mo->has_pk[i], mo->pk[i], fx_str(id_name(i))};
    struct mutation m;
    struct mutation_result r;
    struct patch_op ops[2];
    static struct doc_seg s_n[] = {{SEG_FIELD, "n", 1, 0}}, s_tags[] = {{SEG_FIELD, "tags", 4, 0}},
                          s_ab[] = {{SEG_FIELD, "a", 1, 0}, {SEG_FIELD, "b", 1, 0}};
    unsigned k = gen_below(6);
    bool has_pk;
    struct value pk;
    int want;

    if (k <= 2) {
        enum mut_type types[] = {MUT_DOC_CREATE, MUT_DOC_REPLACE, MUT_DOC_UPSERT};

        /* A fresh document takes a new partition key; an existing one keeps its own. */
        pk = mo->exists[i] ? mo->pk[i] : gen_pk(&has_pk);
        if (mo->exists[i])
            has_pk = mo->has_pk[i];
        m = doc_mut(types[k], coll);
        m.item = gen_body(f, id_name(i), has_pk, pk);
        want = k == 0 && mo->exists[i] ? CR_EEXISTS : k == 1 && !mo->exists[i] ? CR_ENOTFOUND : 0;
        assert_int_equal(apply_one(f, &m, &r), want);
        if (want == 0) {
            mo->exists[i] = true;
            mo->has_pk[i] = has_pk;
            mo->pk[i] = pk;
        }
        return;
    }
    if (k == 3) {
        m = doc_mut(MUT_DOC_DELETE, coll);
        m.doc_key = key;
        assert_int_equal(apply_one(f, &m, NULL), 0);
        mo->exists[i] = false;
        return;
    }
    m = doc_mut(MUT_DOC_PATCH, coll);
    m.doc_key = key;
    m.patch = ops;
    m.n_patch = 2;
    ops[0] = (struct patch_op){PATCH_SET, {s_ab, 2}, gen_scalar(), false};
    if (gen_below(2))
        ops[1] = (struct patch_op){gen_below(2) ? PATCH_ARRAY_UNION : PATCH_ARRAY_REMOVE,
                                   {s_tags, 1},
                                   gen_array(f, 1),
                                   false};
    else
        ops[1] = (struct patch_op){PATCH_REMOVE, {s_n, 1}, value_null(), false};
    r.code = apply_one(f, &m, &r);
    /* SET a.b fails when a exists and is not a map. */
    assert_true(r.code == (mo->exists[i] ? r.code : CR_ENOTFOUND));
    assert_true(r.code == 0 || r.code == CR_EINVAL || r.code == CR_ENOTFOUND);
    mo->patched += r.code == 0;
}

static int key_order(const struct doc_key *a, const struct doc_key *b)
{
    int c;

    if (a->has_pk != b->has_pk)
        return a->has_pk ? 1 : -1;
    if (a->has_pk && (c = value_compare(&a->pk, &b->pk)) != 0)
        return c;
    return gen_memcmp((const uint8_t *)a->id.u.s.ptr, a->id.u.s.len, (const uint8_t *)b->id.u.s.ptr,
                      b->id.u.s.len);
}

static int entry_order(const void *x, const void *y)
{
    const struct doc_entry *a = x, *b = y;
    int c = value_compare(&a->value, &b->value);

    return c ? c : key_order(&a->key, &b->key);
}

/* The scalars at a path of the reference's own walk: FIELD and ELEMENTS segments. */
static void values_at(const struct value *v, const struct doc_seg *segs, size_t n,
                      const struct doc_key *key, struct doc_entry *out, size_t *count)
{
    if (n == 0) {
        if (v->type != VT_ARRAY && v->type != VT_MAP) {
            assert_true(*count < MAX_ENTRIES);
            out[(*count)++] = (struct doc_entry){*key, *v};
        }
        return;
    }
    if (segs[0].kind == SEG_FIELD) {
        const struct value *c = value_map_get(v, segs[0].name, segs[0].len);

        if (c)
            values_at(c, segs + 1, n - 1, key, out, count);
    } else if (v->type == VT_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            values_at(&v->u.arr.items[i], segs + 1, n - 1, key, out, count);
    }
}

static bool ref_keeps(const struct doc_range *q, const struct value *v)
{
    int c;

    if (q->same_type && value_rank(v->type) != q->rank)
        return false;
    if (q->has_prefix && (v->type != VT_STRING || v->u.s.len < q->prefix.u.s.len ||
                          memcmp(v->u.s.ptr, q->prefix.u.s.ptr, q->prefix.u.s.len) != 0))
        return false;
    if (q->lo.set && ((c = value_compare(v, &q->lo.v)) < 0 || (c == 0 && !q->lo.inclusive)))
        return false;
    if (q->hi.set && ((c = value_compare(v, &q->hi.v)) > 0 || (c == 0 && !q->hi.inclusive)))
        return false;
    return true;
}

/* The reference: every document of the full scan, its values at the path, filtered, sorted by
 * (value, document key), one entry per equal (value, document). */
static size_t reference(const struct doc_page *all, const struct doc_index_query *q,
                        struct doc_entry *out)
{
    size_t n = 0, kept = 0;

    for (size_t i = 0; i < all->n; i++)
        values_at(&all->docs[i].body, q->path.segs, q->path.n, &all->docs[i].key, out, &n);
    for (size_t i = 0; i < n; i++)
        if (ref_keeps(&q->range, &out[i].value))
            out[kept++] = out[i];
    qsort(out, kept, sizeof *out, entry_order);
    n = kept;
    kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || entry_order(&out[kept - 1], &out[i]) != 0)
            out[kept++] = out[i];
    if (q->reverse)
        for (size_t i = 0; i < kept / 2; i++) {
            struct doc_entry tmp = out[i];

            out[i] = out[kept - 1 - i];
            out[kept - 1 - i] = tmp;
        }
    return kept;
}

static struct doc_bound gen_bound(void)
{
    struct doc_bound b = {gen_below(3) != 0, gen_below(2), gen_scalar()};

    return b;
}

/* Random bounds, prefix and type rank; with same_type, the bounds of another rank dropped. */
static struct doc_range gen_range(void)
{
    struct doc_range r;

    memset(&r, 0, sizeof r);
    r.lo = gen_bound();
    r.hi = gen_below(3) ? gen_bound() : r.lo;
    r.has_prefix = gen_below(5) == 0;
    r.prefix = gen_below(2) ? fx_str("a") : fx_str("");
    r.same_type = gen_below(2);
    if (r.same_type) {
        r.rank = r.has_prefix ? value_rank(VT_STRING)
                 : r.lo.set   ? value_rank(r.lo.v.type)
                 : r.hi.set   ? value_rank(r.hi.v.type)
                              : (int)gen_below(5);
        r.lo.set = r.lo.set && value_rank(r.lo.v.type) == r.rank;
        r.hi.set = r.hi.set && value_rank(r.hi.v.type) == r.rank;
    }
    if (r.lo.set && r.hi.set && value_compare(&r.lo.v, &r.hi.v) > 0) {
        struct doc_bound tmp = r.lo;

        r.lo = r.hi;
        r.hi = tmp;
    }
    return r;
}

static int composite_order(const void *x, const void *y)
{
    const struct doc_entry *a = x, *b = y;
    int c = value_compare(&a->value.u.arr.items[0], &b->value.u.arr.items[0]);

    if (c == 0)
        c = -value_compare(&a->value.u.arr.items[1], &b->value.u.arr.items[1]); /* s DESC */
    return c ? c : key_order(&a->key, &b->key);
}

/* The composite index (n ASC, s DESC) against the full scan: every document with scalars at both
 * paths, those with n == eq when n_eq is 1, in the index's order. */
static void check_composite(struct fx *f, struct storage_txn *t, const struct coll_def *c,
                            const struct doc_page *all, struct doc_entry *want,
                            struct doc_entry *got)
{
    for (int round = 0; round < 12; round++) {
        struct doc_composite_query q;
        struct doc_entry_page p;
        struct value eq = gen_scalar();
        size_t nw = 0, ng = 0;

        memset(&q, 0, sizeof q);
        q.eq = &eq;
        q.n_eq = round % 2;
        q.reverse = round % 4 >= 2;
        q.limit = round >= 4 ? 1 : 0;
        if (round >= 6) /* a range on n (ASC) or, after n's value, on s (DESC) */
            q.range = gen_range();
        for (size_t i = 0; i < all->n; i++) {
            const struct value *n = field(&all->docs[i].body, "n");
            const struct value *sv = field(&all->docs[i].body, "s");
            struct value *pair;

            if (!n || !sv || (q.n_eq && !value_equal(n, &eq)) ||
                !ref_keeps(&q.range, q.n_eq ? sv : n))
                continue;
            pair = cr_arena_alloc(&f->a, 2 * sizeof *pair);
            assert_non_null(pair);
            pair[0] = *n;
            pair[1] = *sv;
            want[nw++] =
                (struct doc_entry){all->docs[i].key, {.type = VT_ARRAY, .u.arr = {pair, 2}}};
        }
        qsort(want, nw, sizeof *want, composite_order);
        do {
            assert_int_equal(doc_composite_scan(t, c, &q, &f->a, &p), 0);
            assert_true(ng + p.n <= nw);
            for (size_t i = 0; i < p.n; i++, ng++) {
                const struct doc_entry *w = &want[q.reverse ? nw - 1 - ng : ng];

                assert_true(key_order(&p.entries[i].key, &w->key) == 0);
                assert_true(value_equal(&p.entries[i].value, &w->value));
            }
            q.cursor = p.next;
            q.cursor_len = p.next_len;
        } while (p.next_len);
        assert_int_equal(ng, nw);
    }
}

static void check_indexes(struct fx *f, struct model *mo, const char *coll)
{
    static struct doc_seg p_n[] = {{SEG_FIELD, "n", 1, 0}}, p_s[] = {{SEG_FIELD, "s", 1, 0}},
                          p_tags[] = {{SEG_FIELD, "tags", 4, 0}, {SEG_ELEMENTS, NULL, 0, 0}},
                          p_ab[] = {{SEG_FIELD, "a", 1, 0}, {SEG_FIELD, "b", 1, 0}},
                          p_p[] = {{SEG_FIELD, "p", 1, 0}}, p_a[] = {{SEG_FIELD, "a", 1, 0}},
                          p_ac[] = {{SEG_FIELD, "a", 1, 0},
                                    {SEG_FIELD, "c", 1, 0},
                                    {SEG_ELEMENTS, NULL, 0, 0}};
    static const struct doc_path paths[] = {{p_n, 1}, {p_s, 1}, {p_tags, 2}, {p_ab, 2}, {p_p, 1}};
    static struct doc_entry want[MAX_ENTRIES], got[MAX_ENTRIES];
    struct storage_txn *t = fx_read(f);
    struct doc_scan_query sq;
    struct doc_page all;
    struct coll_def c;
    size_t live = 0;

    assert_int_equal(catalog_coll_get(t, DB, coll, &f->a, &c), 0);
    memset(&sq, 0, sizeof sq);
    assert_int_equal(doc_scan(t, &c, &sq, &f->a, &all), 0);
    assert_int_equal(all.next_len, 0);
    for (size_t i = 0; i < N_IDS; i++)
        live += mo->exists[i];
    assert_int_equal(all.n, live);
    {
        struct table_stats st;

        assert_int_equal(catalog_coll_stats(t, c.id, &st), 0);
        assert_int_equal(st.item_count, live);
    }
    for (size_t i = 1; i < all.n; i++)
        assert_true(key_order(&all.docs[i - 1].key, &all.docs[i].key) < 0);
    /* Excluded paths have no index: /a (under "/a/ *") and /a/c/[]; /a/b is included back. */
    assert_false(doc_path_indexed(&c, &(struct doc_path){p_a, 1}));
    assert_false(doc_path_indexed(&c, &(struct doc_path){p_ac, 3}));
    check_composite(f, t, &c, &all, want, got);
    for (size_t pi = 0; pi < sizeof paths / sizeof *paths; pi++) {
        for (int round = 0; round < 12; round++) {
            struct doc_index_query q;
            size_t nw, ng;

            memset(&q, 0, sizeof q);
            q.path = paths[pi];
            if (round > 0) {
                q.range = gen_range();
                q.reverse = gen_below(2);
            }
            nw = reference(&all, &q, want);
            mo->compared += nw;
            for (uint32_t limit = 0; limit <= 3; limit += 1 + (limit == 1)) {
                ng = index_all(f, t, &c, q, limit, got, MAX_ENTRIES);
                assert_int_equal(ng, nw);
                for (size_t i = 0; i < nw; i++) {
                    assert_true(key_order(&got[i].key, &want[i].key) == 0);
                    assert_true(value_equal(&got[i].value, &want[i].value));
                }
            }
        }
    }
    storage_read_end(t);
}

/* Cursors of doc_scan resume exactly at every position, in both directions and per partition. */
static void check_scan_paging(struct fx *f, const char *coll)
{
    struct storage_txn *t = fx_read(f);
    struct doc_scan_query q;
    struct doc_page all, p;
    struct doc_key part = {true, fx_str("t1"), value_null()};
    struct coll_def c;

    assert_int_equal(catalog_coll_get(t, DB, coll, &f->a, &c), 0);
    for (int variant = 0; variant < 3; variant++) {
        size_t at = 0;

        memset(&q, 0, sizeof q);
        q.reverse = variant == 1;
        q.partition = variant == 2 ? &part : NULL;
        assert_int_equal(doc_scan(t, &c, &q, &f->a, &all), 0);
        if (variant == 2)
            for (size_t i = 0; i < all.n; i++)
                assert_true(all.docs[i].key.has_pk && value_equal(&all.docs[i].key.pk, &part.pk));
        q.limit = 1;
        do {
            assert_int_equal(doc_scan(t, &c, &q, &f->a, &p), 0);
            for (size_t i = 0; i < p.n; i++, at++) {
                assert_true(at < all.n);
                assert_true(key_order(&p.docs[i].key, &all.docs[at].key) == 0);
            }
            q.cursor = p.next;
            q.cursor_len = p.next_len;
        } while (p.next_len);
        assert_int_equal(at, all.n);
    }
    q.cursor = (const uint8_t *)"\x01\x00\x00\x00\x00";
    q.cursor_len = 5;
    assert_int_equal(doc_scan(t, &c, &q, &f->a, &p), CR_ECURSOR);
    storage_read_end(t);
}

static void property(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("prop", "/p");
    struct model mo;
    static const char *const inc[] = {"/*", "/a/b/?"};
    static const char *const exc[] = {"/a/*", "/\"_etag\"/?"};
    struct composite_def comp = {0, by_n_s, 2};

    (void)state;
    gen_seed(GEN_SEED);
    fx_open(&f);
    memset(&mo, 0, sizeof mo);
    d.policy.include = inc;
    d.policy.n_include = 2;
    d.policy.exclude = exc;
    d.policy.n_exclude = 2;
    d.policy.composite = &comp;
    d.policy.n_composite = 1;
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    for (int i = 0; i < N_OPS; i++) {
        random_op(&f, &mo, "prop");
        if (i % 250 == 249) {
            check_indexes(&f, &mo, "prop");
            cr_arena_reset(&f.a);
        }
    }
    check_scan_paging(&f, "prop");
    fx_reopen(&f);
    check_indexes(&f, &mo, "prop");
    {
        struct storage_txn *t = fx_read(&f);
        struct table_stats path_st, comp_st;
        struct coll_def c;

        assert_int_equal(catalog_coll_get(t, DB, "prop", &f.a, &c), 0);
        assert_int_equal(catalog_coll_stats(t, c.id + 1, &path_st), 0);
        assert_int_equal(catalog_coll_stats(t, c.id + 2, &comp_st), 0);
        storage_read_end(t);
        assert_int_equal(path_st.item_count, raw_entries(&f, c.id + 1));
        assert_int_equal(comp_st.item_count, raw_entries(&f, c.id + 2));
        assert_true(comp_st.item_count > 0);
    }
    assert_true(mo.patched > N_OPS / 20); /* the test exercised what it claims */
    /* Deleting every document leaves no entry behind, on any path. */
    for (unsigned i = 0; i < N_IDS; i++) {
        struct mutation m = doc_mut(MUT_DOC_DELETE, "prop");

        m.doc_key = (struct doc_key){mo.has_pk[i], mo.pk[i], fx_str(id_name(i))};
        m.pre.exists = mo.exists[i] ? PRE_EXISTS : PRE_ANY;
        assert_int_equal(apply_one(&f, &m, NULL), 0);
    }
    {
        struct storage_txn *t = fx_read(&f);
        struct coll_def c;

        assert_int_equal(catalog_coll_get(t, DB, "prop", &f.a, &c), 0);
        storage_read_end(t);
        assert_int_equal(raw_rows(&f, c.id), 0);
        assert_int_equal(raw_entries(&f, c.id + 1), 0);
        assert_int_equal(raw_entries(&f, c.id + 2), 0);
    }
    assert_true(mo.compared > N_OPS);
    fx_close(&f);
}

/* The same entries on two replicas give the same results, etags, bodies and times. */
static void deterministic(void **state)
{
    struct fx f[2];
    struct coll_def d = coll_def("c", "/p");
    struct doc_seg s_t[] = {seg("t")}, s_n[] = {seg("n")};
    struct patch_op ops[2];
    struct mutation m[3];
    struct mutation_result r[2][3];
    struct doc_page pages[2];
    size_t applied = 0, stamped = 0;

    (void)state;
    for (int k = 0; k < 2; k++) {
        fx_open(&f[k]);
        assert_int_equal(create_coll(&f[k], &d, NULL), 0);
    }
    ops[0] = (struct patch_op){PATCH_SERVER_TIME, {s_t, 1}, value_null(), false};
    ops[1] = (struct patch_op){PATCH_INCREMENT, {s_n, 1}, value_double(0.5), false};
    for (int round = 0; round < 20; round++) {
        char id[8];

        snprintf(id, sizeof id, "d%d", round % 4);
        m[0] = doc_mut(MUT_DOC_UPSERT, "c");
        m[0].item =
            fx_map(&f[0], 3, "id", fx_str(id), "p", value_int(round % 2), "n", value_int(round));
        m[1] = doc_mut(MUT_DOC_PATCH, "c");
        m[1].doc_key = pkey_of(value_int(round % 2), id);
        m[1].patch = ops;
        m[1].n_patch = 2;
        m[2] = doc_mut(round % 5 == 4 ? MUT_DOC_DELETE : MUT_DOC_PATCH, "c");
        m[2].doc_key = m[1].doc_key;
        m[2].patch = ops;
        m[2].n_patch = 1;
        for (int k = 0; k < 2; k++)
            assert_int_equal(fx_apply(&f[k], m, 3, r[k]), 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(r[0][i].code, r[1][i].code);
            assert_string_equal(r[0][i].etag, r[1][i].etag);
        }
        applied += r[0][0].code == 0;
    }
    for (int k = 0; k < 2; k++) {
        struct storage_txn *t = fx_read(&f[k]);
        struct doc_scan_query q;
        struct coll_def c;

        memset(&q, 0, sizeof q);
        assert_int_equal(catalog_coll_get(t, DB, "c", &f[k].a, &c), 0);
        assert_int_equal(doc_scan(t, &c, &q, &f[k].a, &pages[k]), 0);
        for (size_t i = 0; i < pages[k].n; i++) { /* outlive the transaction */
            struct value copy;

            assert_int_equal(value_clone(&pages[k].docs[i].body, &f[k].a, &copy), 0);
            pages[k].docs[i].body = copy;
        }
        storage_read_end(t);
    }
    assert_int_equal(pages[0].n, 3); /* d3 was deleted last */
    assert_int_equal(pages[0].n, pages[1].n);
    for (size_t i = 0; i < pages[0].n; i++) {
        assert_true(value_equal(&pages[0].docs[i].body, &pages[1].docs[i].body));
        assert_int_equal(pages[0].docs[i].create_ms, pages[1].docs[i].create_ms);
        assert_int_equal(pages[0].docs[i].update_ms, pages[1].docs[i].update_ms);
        stamped += field(&pages[0].docs[i].body, "t") != NULL;
    }
    assert_int_equal(applied, 20);
    assert_int_equal(stamped, 3);
    for (int k = 0; k < 2; k++)
        fx_close(&f[k]);
}

/* Every write gets a new etag, never one seen before, and the body carries it. */
static void etags(void **state)
{
    struct fx f;
    struct coll_def d = coll_def("c", NULL);
    static char seen[200][CR_ETAG_LEN + 1];
    struct mutation_result r;
    struct doc got;

    (void)state;
    fx_open(&f);
    assert_int_equal(create_coll(&f, &d, NULL), 0);
    for (int i = 0; i < 200; i++) {
        char id[8];

        snprintf(id, sizeof id, "x%d", i % 3);
        assert_int_equal(write_doc(&f, MUT_DOC_UPSERT, "c",
                                   fx_map(&f, 2, "id", fx_str(id), "i", value_int(i)), &r),
                         0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[j], r.etag);
        memcpy(seen[i], r.etag, sizeof seen[i]);
        assert_int_equal(read_doc(&f, "c", key_of(id), &got), 0);
        assert_int_equal(field(&got.body, "_etag")->u.s.len, CR_ETAG_LEN);
        assert_memory_equal(field(&got.body, "_etag")->u.s.ptr, r.etag, CR_ETAG_LEN);
    }
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths),
        cmocka_unit_test(collections),
        cmocka_unit_test(crud),
        cmocka_unit_test(preconditions),
        cmocka_unit_test(patches),
        cmocka_unit_test(atomic_batch),
        cmocka_unit_test(drop_removes_everything),
        cmocka_unit_test(composite),
        cmocka_unit_test(long_values),
        cmocka_unit_test(property),
        cmocka_unit_test(etags),
        cmocka_unit_test(deterministic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
