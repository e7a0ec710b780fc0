/*
 * Collections, documents and queries end to end: libcirrus against a real cirrusd. Every
 * operation with its preconditions and named errors, patches, and SQL paging: for streaming and
 * buffered queries alike, following continuations with every page size gives exactly the
 * results of one big page.
 */
#include "client/cirrus.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_DOCS 150 /* more than one storage read (64 documents) */

static struct harness srv;
static struct cirrus *cx;

static int setup(void **state)
{
    (void)state;
    harness_init(&srv);
    if (harness_start(&srv) != 0)
        return -1;
    return cirrus_connect("127.0.0.1", srv.port, 10000, &cx);
}

static int teardown(void **state)
{
    (void)state;
    cirrus_close(cx);
    harness_cleanup(&srv);
    return 0;
}

static void set_int(struct cirrus_value *m, const char *name, int64_t i)
{
    struct cirrus_value f = {0};

    cirrus_value_int(&f, i);
    assert_int_equal(cirrus_map_set(m, name, &f), 0);
}

static void set_str(struct cirrus_value *m, const char *name, const char *s)
{
    struct cirrus_value f = {0};

    assert_int_equal(cirrus_value_string(&f, s, strlen(s)), 0);
    assert_int_equal(cirrus_map_set(m, name, &f), 0);
}

static void doc_init(struct cirrus_value *d, const char *id)
{
    memset(d, 0, sizeof *d);
    assert_int_equal(cirrus_value_container(d, CIRRUS_MAP), 0);
    set_str(d, "id", id);
}

static int write_doc(const char *coll, enum cirrus_doc_write kind, struct cirrus_value *d,
                     const struct cirrus_doc_pre *pre, char *etag_out)
{
    struct cirrus_result r;
    int rc = cirrus_write_doc(cx, NULL, coll, kind, d, pre, &r);

    if (rc == 0) {
        assert_non_null(r.etag);
        assert_string_equal(cirrus_map_get(&r.item, "_etag")->u.str.ptr, r.etag);
        assert_non_null(cirrus_map_get(&r.item, "_ts"));
        if (etag_out)
            snprintf(etag_out, 64, "%s", r.etag);
    }
    cirrus_result_free(&r);
    return rc;
}

static void test_collections(void **state)
{
    const char *inc[] = {"/*"}, *exc[] = {"/big/*"};
    struct cirrus_composite_path cp[] = {{"/a", 0}, {"/b", 1}};
    struct cirrus_composite comp = {cp, 2};
    struct cirrus_indexing ix = {0, inc, 1, exc, 1, &comp, 1};
    const char *bad_inc[] = {"/a/?"};
    struct cirrus_indexing bad = {0, bad_inc, 1, NULL, 0, NULL, 0};
    struct cirrus_result r;
    struct cirrus_value d;

    (void)state;
    assert_int_equal(cirrus_create_collection(cx, "shop", "orders", "/tenant", &ix, &r), 0);
    assert_string_equal(r.collection.name, "orders");
    assert_string_equal(r.collection.db, "shop");
    assert_string_equal(r.collection.pk_path, "/tenant");
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_collection(cx, "shop", "orders", NULL, NULL, &r), CR_EEXISTS);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_collection(cx, "shop", "a/b", NULL, NULL, &r), CR_ENAME);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_collection(cx, "shop", "c1", "tenant", NULL, &r), CR_EINVAL);
    cirrus_result_free(&r);
    /* patterns without "/\*" are refused, as Cosmos DB does */
    assert_int_equal(cirrus_create_collection(cx, "shop", "c2", NULL, &bad, &r), CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_collection(cx, "shop", "carts", NULL, NULL, &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_create_collection(cx, NULL, "carts", NULL, NULL, &r), 0);
    assert_string_equal(r.collection.db, "default");
    assert_null(r.collection.pk_path);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_list_collections(cx, "shop", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.n_collections, 2);
    assert_string_equal(r.collections[0].name, "carts");
    assert_string_equal(r.collections[1].name, "orders");
    assert_null(r.last_evaluated);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_list_collections(cx, "shop", NULL, 1, NULL, &r), 0);
    assert_int_equal(r.n_collections, 1);
    assert_string_equal(r.last_evaluated, "carts");
    cirrus_result_free(&r);
    assert_int_equal(cirrus_list_collections(cx, "shop", "carts", 1, NULL, &r), 0);
    assert_int_equal(r.n_collections, 1);
    assert_string_equal(r.collections[0].name, "orders");
    cirrus_result_free(&r);

    doc_init(&d, "o1");
    set_str(&d, "tenant", "t1");
    assert_int_equal(write_doc("orders", CIRRUS_DOC_UPSERT, &d, NULL, NULL), CR_ENOCOLL);
    cirrus_value_clear(&d);
    assert_int_equal(cirrus_get_collection(cx, "shop", "orders", NULL, &r), 0);
    assert_int_equal(r.collection.doc_count, 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_collection(cx, "shop", "nope", NULL, &r), CR_ENOCOLL);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_drop_collection(cx, "shop", "carts", &r), 0);
    assert_string_equal(r.collection.name, "carts");
    cirrus_result_free(&r);
    assert_int_equal(cirrus_drop_collection(cx, "shop", "carts", &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_collection(cx, "shop", "carts", NULL, &r), CR_ENOCOLL);
    cirrus_result_free(&r);
}

static void test_documents_and_preconditions(void **state)
{
    struct cirrus_value d, pk = {0}, other = {0};
    struct cirrus_doc_key key = {"d1", NULL}, wrong = {"d1", &other};
    struct cirrus_doc_pre pre = {0};
    struct cirrus_result r;
    char etag1[64], etag2[64];

    (void)state;
    assert_int_equal(cirrus_create_collection(cx, NULL, "people", "/team", NULL, &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_value_string(&pk, "red", 3), 0);
    assert_int_equal(cirrus_value_string(&other, "blue", 4), 0);
    key.pk = &pk;

    doc_init(&d, "d1");
    set_str(&d, "team", "red");
    set_int(&d, "age", 30);
    assert_int_equal(write_doc("people", CIRRUS_DOC_CREATE, &d, NULL, etag1), 0);
    assert_int_equal(write_doc("people", CIRRUS_DOC_CREATE, &d, NULL, NULL), CR_EEXISTS);

    assert_int_equal(cirrus_get_doc(cx, NULL, "people", &key, NULL, &r), 0);
    assert_string_equal(r.etag, etag1);
    assert_int_equal(cirrus_map_get(&r.item, "age")->u.i, 30);
    assert_true(r.update_ms > 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_doc(cx, NULL, "people", &wrong, NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);

    /* replace: if-match with a stale etag fails, with the current one succeeds */
    set_int(&d, "age", 31);
    pre.if_match = "\"00000000-0000-0000-0000-000000000000\"";
    assert_int_equal(write_doc("people", CIRRUS_DOC_REPLACE, &d, &pre, NULL), CR_ECONDITION);
    pre.if_match = etag1;
    assert_int_equal(write_doc("people", CIRRUS_DOC_REPLACE, &d, &pre, etag2), 0);
    assert_string_not_equal(etag1, etag2);
    assert_int_equal(write_doc("people", CIRRUS_DOC_UPSERT, &d, &pre, NULL), CR_ECONDITION);
    cirrus_value_clear(&d);

    doc_init(&d, "ghost");
    set_str(&d, "team", "red");
    assert_int_equal(write_doc("people", CIRRUS_DOC_REPLACE, &d, NULL, NULL), CR_ENOTFOUND);
    pre = (struct cirrus_doc_pre){CIRRUS_DOC_MUST_EXIST, NULL, 0, 0};
    assert_int_equal(write_doc("people", CIRRUS_DOC_UPSERT, &d, &pre, NULL), CR_ENOTFOUND);
    pre.exists = CIRRUS_DOC_MUST_NOT_EXIST;
    assert_int_equal(write_doc("people", CIRRUS_DOC_UPSERT, &d, &pre, NULL), 0);
    assert_int_equal(write_doc("people", CIRRUS_DOC_UPSERT, &d, &pre, NULL), CR_EEXISTS);
    cirrus_value_clear(&d);

    /* a document without an id, or with one that is not a string */
    doc_init(&d, "x");
    cirrus_value_clear(&d);
    assert_int_equal(cirrus_value_container(&d, CIRRUS_MAP), 0);
    set_int(&d, "id", 5);
    assert_int_equal(write_doc("people", CIRRUS_DOC_UPSERT, &d, NULL, NULL), CR_EINVAL);
    cirrus_value_clear(&d);
    assert_int_equal(cirrus_value_container(&d, CIRRUS_MAP), 0);
    set_int(&d, "n", 5);
    assert_int_equal(write_doc("people", CIRRUS_DOC_UPSERT, &d, NULL, NULL), CR_EINVAL);
    cirrus_value_clear(&d);

    /* delete: a stale etag fails; a missing document is no error unless it must exist */
    pre = (struct cirrus_doc_pre){CIRRUS_DOC_ANY, etag1, 0, 0};
    assert_int_equal(cirrus_delete_doc(cx, NULL, "people", &key, &pre, &r), CR_ECONDITION);
    cirrus_result_free(&r);
    pre.if_match = etag2;
    assert_int_equal(cirrus_delete_doc(cx, NULL, "people", &key, &pre, &r), 0);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_doc(cx, NULL, "people", &key, NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_delete_doc(cx, NULL, "people", &key, NULL, &r), 0);
    cirrus_result_free(&r);
    pre = (struct cirrus_doc_pre){CIRRUS_DOC_MUST_EXIST, NULL, 0, 0};
    assert_int_equal(cirrus_delete_doc(cx, NULL, "people", &key, &pre, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_delete_doc(cx, NULL, "nobody", &key, NULL, &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    cirrus_value_clear(&pk);
    cirrus_value_clear(&other);
}

static void test_patch(void **state)
{
    struct cirrus_value d, one = {0}, five = {0}, tag = {0}, big = {0};
    struct cirrus_doc_key key = {"p1", NULL};
    struct cirrus_patch_op ops[] = {
        {CIRRUS_PATCH_SET, "/a/b", &one, 0},        {CIRRUS_PATCH_INCREMENT, "/n", &five, 0},
        {CIRRUS_PATCH_APPEND, "/tags", &tag, 0},    {CIRRUS_PATCH_REMOVE, "/gone", NULL, 0},
        {CIRRUS_PATCH_MAXIMUM, "/hi", &big, 0},     {CIRRUS_PATCH_SET, "/tags/0", &five, 0},
        {CIRRUS_PATCH_SERVER_TIME, "/at", NULL, 0},
    };
    struct cirrus_patch_op bad_remove = {CIRRUS_PATCH_REMOVE, "/missing", NULL, 1};
    struct cirrus_patch_op bad_path = {CIRRUS_PATCH_SET, "a", &one, 0};
    struct cirrus_patch_op no_id = {CIRRUS_PATCH_SET, "/id", &one, 0};
    struct cirrus_doc_pre pre = {CIRRUS_DOC_ANY, "\"nope\"", 0, 0};
    const struct cirrus_value *v;
    struct cirrus_result r;

    (void)state;
    assert_int_equal(cirrus_create_collection(cx, NULL, "patched", NULL, NULL, &r), 0);
    cirrus_result_free(&r);
    cirrus_value_int(&one, 1);
    cirrus_value_int(&five, 5);
    cirrus_value_int(&big, 100);
    assert_int_equal(cirrus_value_string(&tag, "x", 1), 0);
    doc_init(&d, "p1");
    set_int(&d, "n", 10);
    set_int(&d, "gone", 1);
    set_int(&d, "hi", 7);
    assert_int_equal(write_doc("patched", CIRRUS_DOC_UPSERT, &d, NULL, NULL), 0);
    cirrus_value_clear(&d);

    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, ops, 7, NULL, &r), 0);
    assert_int_equal(cirrus_map_get(cirrus_map_get(&r.item, "a"), "b")->u.i, 1);
    assert_int_equal(cirrus_map_get(&r.item, "n")->u.i, 15);
    assert_int_equal(cirrus_map_get(&r.item, "hi")->u.i, 100);
    assert_null(cirrus_map_get(&r.item, "gone"));
    v = cirrus_map_get(&r.item, "tags");
    assert_non_null(v);
    assert_int_equal(v->type, CIRRUS_ARRAY);
    assert_int_equal(v->u.list.len, 1);
    assert_int_equal(v->u.list.items[0].u.i, 5);
    assert_int_equal(cirrus_map_get(&r.item, "at")->type, CIRRUS_TIMESTAMP);
    assert_non_null(r.etag);
    cirrus_result_free(&r);

    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, &bad_remove, 1, NULL, &r),
                     CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, &bad_path, 1, NULL, &r),
                     CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, &no_id, 1, NULL, &r), CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, ops, 0, NULL, &r), CR_EINVAL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, ops, 1, &pre, &r), CR_ECONDITION);
    cirrus_result_free(&r);
    key.id = "nobody";
    assert_int_equal(cirrus_patch_doc(cx, NULL, "patched", &key, ops, 1, NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    /* the failed patches changed nothing */
    key.id = "p1";
    assert_int_equal(cirrus_get_doc(cx, NULL, "patched", &key, NULL, &r), 0);
    assert_int_equal(cirrus_map_get(&r.item, "n")->u.i, 15);
    cirrus_result_free(&r);
    cirrus_value_clear(&tag);
}

static void test_write_docs_atomic(void **state)
{
    struct cirrus_value docs[3];
    struct cirrus_doc_key key = {"b0", NULL};
    struct cirrus_result r;

    (void)state;
    assert_int_equal(cirrus_create_collection(cx, NULL, "batch", NULL, NULL, &r), 0);
    cirrus_result_free(&r);
    doc_init(&docs[0], "b0");
    doc_init(&docs[1], "b1");
    doc_init(&docs[2], "b2");
    assert_int_equal(cirrus_write_docs(cx, NULL, "batch", CIRRUS_DOC_CREATE, &docs[1], 1, &r), 0);
    cirrus_result_free(&r);
    /* b1 exists: the create of all three fails as one, naming the document that failed */
    assert_int_equal(cirrus_write_docs(cx, NULL, "batch", CIRRUS_DOC_CREATE, docs, 3, &r),
                     CR_EEXISTS);
    assert_int_equal(r.n_writes, 3);
    assert_int_equal(r.writes[0].code, CR_EABORTED);
    assert_int_equal(r.writes[1].code, CR_EEXISTS);
    assert_int_equal(r.writes[2].code, CR_EABORTED);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_doc(cx, NULL, "batch", &key, NULL, &r), CR_ENOTFOUND);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_write_docs(cx, NULL, "batch", CIRRUS_DOC_UPSERT, docs, 3, &r), 0);
    assert_int_equal(r.n_writes, 3);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_get_collection(cx, NULL, "batch", NULL, &r), 0);
    assert_int_equal(r.collection.doc_count, 3);
    cirrus_result_free(&r);
    for (int i = 0; i < 3; i++)
        cirrus_value_clear(&docs[i]);
}

/* Documents q000..q149: n = i, even = i % 2 == 0, tags = i % 3 strings ("t0", "t1", ...). */
static void load_query_docs(void)
{
    struct cirrus_result r;

    assert_int_equal(cirrus_create_collection(cx, NULL, "q", NULL, NULL, &r), 0);
    cirrus_result_free(&r);
    for (int i = 0; i < N_DOCS; i++) {
        struct cirrus_value d, tags = {0}, t = {0}, b = {0};
        char id[16];

        snprintf(id, sizeof id, "q%03d", i);
        doc_init(&d, id);
        set_int(&d, "n", i);
        cirrus_value_bool(&b, i % 2 == 0);
        assert_int_equal(cirrus_map_set(&d, "even", &b), 0);
        assert_int_equal(cirrus_value_container(&tags, CIRRUS_ARRAY), 0);
        for (int k = 0; k < i % 3; k++) {
            char s[8];

            snprintf(s, sizeof s, "t%d", k);
            assert_int_equal(cirrus_value_string(&t, s, strlen(s)), 0);
            assert_int_equal(cirrus_list_append(&tags, &t), 0);
        }
        assert_int_equal(cirrus_map_set(&d, "tags", &tags), 0);
        assert_int_equal(write_doc("q", CIRRUS_DOC_UPSERT, &d, NULL, NULL), 0);
        cirrus_value_clear(&d);
    }
}

struct rows {
    struct cirrus_value *v;
    size_t n;
};

/* Every result of the query, following continuations with pages of `page` (0: one big page). */
static void run_all(const char *query, const struct cirrus_sql_param *params, size_t n_params,
                    uint32_t page, struct rows *out)
{
    struct cirrus_sql q = {params, n_params, page ? page : 10000, NULL, 0, 0};
    void *cont = NULL;
    size_t pages = 0;

    out->v = NULL;
    out->n = 0;
    do {
        struct cirrus_result r;

        assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), 0);
        assert_true(r.n_items <= q.max_items);
        if (r.cursor)
            assert_int_equal(r.n_items, q.max_items); /* only a full page continues */
        out->v = realloc(out->v, (out->n + r.n_items + 1) * sizeof *out->v);
        assert_non_null(out->v);
        for (size_t i = 0; i < r.n_items; i++)
            assert_int_equal(cirrus_value_copy(&out->v[out->n++], &r.items[i]), 0);
        free(cont);
        cont = r.cursor;
        q.continuation = cont;
        q.continuation_len = r.cursor_len;
        r.cursor = NULL;
        cirrus_result_free(&r);
        assert_true(++pages <= 2 * N_DOCS * 3 + 2);
    } while (cont);
}

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        cirrus_value_clear(&r->v[i]);
    free(r->v);
}

/* Paging with every page size from 1 to the result count (and one above) equals one page. */
static void check_paging(const char *query, const struct cirrus_sql_param *params, size_t n_params,
                         size_t expect)
{
    struct rows all, paged;

    run_all(query, params, n_params, 0, &all);
    assert_int_equal(all.n, expect);
    for (uint32_t page = 1; page <= all.n + 1; page++) {
        run_all(query, params, n_params, page, &paged);
        assert_int_equal(paged.n, all.n);
        for (size_t i = 0; i < all.n; i++)
            assert_true(cirrus_value_equal(&paged.v[i], &all.v[i]));
        rows_free(&paged);
    }
    rows_free(&all);
}

static void test_sql_paging(void **state)
{
    struct cirrus_value lo = {0};
    struct cirrus_sql_param p = {"@lo", &lo};
    struct rows r;

    (void)state;
    load_query_docs();
    cirrus_value_int(&lo, 25);
    /* streaming: a filter with a parameter */
    check_paging("SELECT * FROM q WHERE q.n >= @lo", &p, 1, N_DOCS - 25);
    /* streaming with several rows per document (JOIN): pages end inside a document */
    check_paging("SELECT q.id, t FROM q JOIN t IN q.tags", NULL, 0, N_DOCS);
    /* streaming with OFFSET/LIMIT and TOP carried across pages */
    check_paging("SELECT VALUE q.n FROM q OFFSET 3 LIMIT 20", NULL, 0, 20);
    check_paging("SELECT TOP 7 VALUE t FROM q JOIN t IN q.tags", NULL, 0, 7);
    /* buffered: ORDER BY, DISTINCT, GROUP BY, aggregates re-run and skip */
    check_paging("SELECT VALUE q.n FROM q WHERE q.even ORDER BY q.n DESC", NULL, 0, N_DOCS / 2);
    check_paging("SELECT DISTINCT VALUE t FROM q JOIN t IN q.tags", NULL, 0, 2);
    check_paging("SELECT VALUE COUNT(1) FROM q", NULL, 0, 1);

    /* through the planner's index scans: a range that also gives the ORDER BY order (the run
     * streams), and array elements (one document reached by several entries comes once) */
    check_paging("SELECT VALUE q.n FROM q WHERE q.n >= 100 ORDER BY q.n", NULL, 0, N_DOCS - 100);
    check_paging("SELECT VALUE q.id FROM q WHERE ARRAY_CONTAINS(q.tags, 't1')", NULL, 0,
                 N_DOCS / 3);
    run_all("SELECT VALUE q.n FROM q WHERE q.n >= 100 ORDER BY q.n", NULL, 0, 0, &r);
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(r.v[i].u.i, 100 + (int64_t)i);
    rows_free(&r);
    run_all("SELECT VALUE q.n FROM q WHERE q.even ORDER BY q.n DESC", NULL, 0, 0, &r);
    assert_int_equal(r.v[0].u.i, N_DOCS - 2);
    assert_int_equal(r.v[N_DOCS / 2 - 1].u.i, 0);
    rows_free(&r);
    run_all("SELECT VALUE COUNT(1) FROM q WHERE q.n < @lo", &p, 1, 0, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].u.i, 25);
    rows_free(&r);
}

/* A query that sorts without an index (here: on an expression) has all its rows before its
 * first page; its later pages come from the kept results: nothing is read again. */
static void test_buffered_pages_kept(void **state)
{
    const char *query = "SELECT VALUE q.n FROM q ORDER BY -q.n";
    struct cirrus_sql q = {NULL, 0, 40, NULL, 0, 0};
    struct cirrus_result r;
    void *cont = NULL;
    size_t cont_len;
    int64_t want = N_DOCS - 1;
    int pages = 0;

    (void)state;
    do {
        assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), 0);
        if (pages++ == 0)
            assert_int_equal(r.scanned, N_DOCS); /* the first page read the collection */
        else
            assert_int_equal(r.scanned, 0);
        for (size_t i = 0; i < r.n_items; i++)
            assert_int_equal(r.items[i].u.i, want--);
        free(cont);
        cont = r.cursor;
        q.continuation = cont;
        q.continuation_len = r.cursor_len;
        r.cursor = NULL;
        cirrus_result_free(&r);
    } while (cont);
    assert_int_equal(want, -1);
    assert_int_equal(pages, (N_DOCS + 39) / 40);

    /* Once its kept results are evicted (64 newer buffered queries), a token still resumes: the
     * query runs again and skips what was returned. */
    q.continuation = NULL;
    q.continuation_len = 0;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), 0);
    cont = r.cursor;
    cont_len = r.cursor_len;
    r.cursor = NULL;
    cirrus_result_free(&r);
    for (int i = 0; i < 64; i++) {
        char other[96];
        struct cirrus_sql q1 = {NULL, 0, 1, NULL, 0, 0};

        snprintf(other, sizeof other, "SELECT VALUE q.n FROM q ORDER BY -q.n + %d", i);
        assert_int_equal(cirrus_sql(cx, NULL, other, &q1, NULL, &r), 0);
        assert_non_null(r.cursor);
        cirrus_result_free(&r);
    }
    q.continuation = cont;
    q.continuation_len = cont_len;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), 0);
    assert_int_equal(r.scanned, N_DOCS);
    assert_int_equal(r.n_items, 40);
    assert_int_equal(r.items[0].u.i, N_DOCS - 41);
    cirrus_result_free(&r);
    free(cont);
}

/* EXPLAIN <query>: one result, the plan's text; the index is chosen for equality. */
static void test_explain(void **state)
{
    struct cirrus_sql q = {NULL, 0, 10, NULL, 0, 0};
    struct cirrus_result r;

    (void)state;
    assert_int_equal(cirrus_sql(cx, NULL, "explain SELECT * FROM q WHERE q.n = 5", &q, NULL, &r),
                     0);
    assert_int_equal(r.n_items, 1);
    assert_int_equal(r.items[0].type, CIRRUS_STRING);
    assert_non_null(strstr(r.items[0].u.str.ptr, "access: index /n"));
    cirrus_result_free(&r);
    assert_int_equal(
        cirrus_sql(cx, NULL, "EXPLAIN SELECT * FROM q WHERE LOWER(q.id) = 'x'", &q, NULL, &r), 0);
    assert_non_null(strstr(r.items[0].u.str.ptr, "access: full scan"));
    cirrus_result_free(&r);
    /* the request's flag does the same; errors keep the query's own positions */
    q.explain = 1;
    assert_int_equal(cirrus_sql(cx, NULL, "SELECT * FROM q WHERE q.n > 5", &q, NULL, &r), 0);
    assert_non_null(strstr(r.items[0].u.str.ptr, "access: index /n"));
    cirrus_result_free(&r);
    assert_int_equal(cirrus_sql(cx, NULL, "SELECT * FORM q", &q, NULL, &r), CR_EINVAL);
    assert_non_null(strstr(cirrus_errmsg(cx), "1:10"));
}

static void test_sql_errors(void **state)
{
    struct cirrus_value lo = {0}, hi = {0};
    struct cirrus_sql_param p = {"@lo", &lo}, p2 = {"@lo", &hi};
    struct cirrus_sql q = {&p, 1, 2, NULL, 0, 0};
    struct cirrus_result r, r2;
    const char *query = "SELECT VALUE q.n FROM q WHERE q.n >= @lo";

    (void)state;
    cirrus_value_int(&lo, 1);
    cirrus_value_int(&hi, 2);
    assert_int_equal(cirrus_sql(cx, NULL, "SELECT * FORM q", NULL, NULL, &r), CR_EINVAL);
    assert_non_null(strstr(cirrus_errmsg(cx), "1:10"));
    cirrus_result_free(&r);
    assert_int_equal(cirrus_sql(cx, NULL, "SELECT * FROM nowhere", NULL, NULL, &r), CR_ENOCOLL);
    cirrus_result_free(&r);
    assert_int_equal(cirrus_sql(cx, NULL, query, NULL, NULL, &r), CR_EINVAL); /* @lo missing */
    cirrus_result_free(&r);

    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), 0);
    assert_int_equal(r.n_items, 2);
    assert_non_null(r.cursor);
    /* the token only resumes the same query with the same parameters */
    q.continuation = r.cursor;
    q.continuation_len = r.cursor_len;
    q.params = &p2;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r2), CR_ECURSOR);
    cirrus_result_free(&r2);
    q.params = &p;
    assert_int_equal(cirrus_sql(cx, NULL, "SELECT VALUE q.n FROM q", &q, NULL, &r2), CR_ECURSOR);
    cirrus_result_free(&r2);
    q.continuation_len = 3;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r2), CR_ECURSOR);
    cirrus_result_free(&r2);
    q.continuation_len = r.cursor_len;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r2), 0);
    assert_int_equal(r2.items[0].u.i, 3);
    cirrus_result_free(&r2);
    cirrus_result_free(&r);

    q.continuation = NULL;
    q.continuation_len = 0;
    /* consistency as for items: a session token from the future is refused */
    {
        struct cirrus_read_opts ro = {CIRRUS_SESSION, 1u << 30, 0, 0};

        assert_int_equal(cirrus_sql(cx, NULL, query, &q, &ro, &r), CR_EINVAL);
        cirrus_result_free(&r);
        ro = (struct cirrus_read_opts){CIRRUS_SESSION, cirrus_last_applied_index(cx), 0, 0};
        assert_int_equal(cirrus_sql(cx, NULL, query, &q, &ro, &r), 0);
        assert_int_equal(r.n_items, 2);
        cirrus_result_free(&r);
        ro.consistency = CIRRUS_EVENTUAL;
        assert_int_equal(cirrus_get_collection(cx, NULL, "q", &ro, &r), 0);
        assert_int_equal(r.collection.doc_count, N_DOCS);
        cirrus_result_free(&r);
    }
    q.max_items = 100000;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), CR_EINVAL);
    cirrus_result_free(&r);
    /* an exactly full last page has no continuation */
    q.max_items = N_DOCS - 1;
    assert_int_equal(cirrus_sql(cx, NULL, query, &q, NULL, &r), 0);
    assert_int_equal(r.n_items, N_DOCS - 1);
    assert_null(r.cursor);
    cirrus_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collections), cmocka_unit_test(test_documents_and_preconditions),
        cmocka_unit_test(test_patch),       cmocka_unit_test(test_write_docs_atomic),
        cmocka_unit_test(test_sql_paging),  cmocka_unit_test(test_buffered_pages_kept),
        cmocka_unit_test(test_explain),     cmocka_unit_test(test_sql_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
