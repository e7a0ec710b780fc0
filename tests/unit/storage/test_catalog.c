/* The catalog: create, get, list with paging, delete, name and schema rules, ids, the format
 * version check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "storage/storage_int.h"

static void create_get_list(void **state)
{
    static const char *names[] = {"delta", "alpha", "echo", "charlie", "bravo"};
    static const char *sorted[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    struct fx f;
    struct table_def def, page[2];
    struct storage_txn *t;
    size_t n, seen = 0;
    bool more = true;
    char after[CR_MAX_NAME_LEN + 1] = "";

    fx_open(&f);
    for (size_t i = 0; i < 5; i++)
        fx_create_table(&f, names[i], "id", KEY_S, i % 2 ? "ts" : NULL, KEY_N, NULL);
    t = fx_read(&f);
    assert_int_equal(catalog_get(t, "charlie", 7, &def), 0);
    assert_string_equal(def.name, "charlie");
    assert_string_equal(def.pk_name, "id");
    assert_true(def.has_sk);
    assert_string_equal(def.sk_name, "ts");
    assert_int_equal(def.sk_type, KEY_N);
    assert_int_equal(def.id, 4);
    assert_int_equal(def.created_index, 4);
    assert_int_equal(def.created_ms, 1003);
    assert_int_equal(catalog_get(t, "zulu", 4, &def), CR_ENOTABLE);
    assert_int_equal(catalog_get(t, "", 0, &def), CR_ENOTABLE);

    while (more) {
        assert_int_equal(catalog_list(t, after, strlen(after), page, 2, &n, &more), 0);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(page[i].name, sorted[seen + i]);
        seen += n;
        if (n)
            snprintf(after, sizeof after, "%s", page[n - 1].name);
    }
    assert_int_equal(seen, 5);
    assert_int_equal(catalog_list(t, NULL, 0, page, 0, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_true(more);
    {
        char big[CR_MAX_NAME_LEN + 2];

        memset(big, 'z', sizeof big);
        assert_int_equal(catalog_list(t, big, sizeof big, page, 2, &n, &more), CR_EINVAL);
    }
    assert_int_equal(catalog_list(t, "echo", 4, page, 2, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    storage_read_end(t);
    fx_close(&f);
}

static void name_rules(void **state)
{
    char long_name[300];

    memset(long_name, 'a', sizeof long_name);
    assert_int_equal(catalog_check_name("abc", 3), 0);
    assert_int_equal(catalog_check_name("A-z_0.9", 7), 0);
    assert_int_equal(catalog_check_name("ab", 2), CR_ENAME);
    assert_int_equal(catalog_check_name("a b", 3), CR_ENAME);
    assert_int_equal(catalog_check_name("abc/", 4), CR_ENAME);
    assert_int_equal(catalog_check_name("caf\xc3\xa9", 5), CR_ENAME);
    assert_int_equal(catalog_check_name(long_name, 255), 0);
    assert_int_equal(catalog_check_name(long_name, 256), CR_ENAME);
}

static void create_errors(void **state)
{
    struct fx f;
    struct mutation m[6];
    struct mutation_result r[6];

    fx_open(&f);
    fx_create_table(&f, "taken", "id", KEY_S, NULL, KEY_S, NULL);
    m[0] = fx_create_mut("taken", "id", KEY_S, NULL, KEY_S);
    m[1] = fx_create_mut("no", "id", KEY_S, NULL, KEY_S);
    m[2] = fx_create_mut("good", "", KEY_S, NULL, KEY_S);
    m[3] = fx_create_mut("good", "id", KEY_S, "id", KEY_N);
    m[4] = fx_create_mut("good", "id", (enum key_type)7, NULL, KEY_S);
    m[5] = fx_create_mut("good", "id", KEY_S, "", KEY_N);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(fx_apply(&f, &m[i], 1, &r[i]), 0);
    assert_int_equal(r[0].code, CR_ETABLEEXISTS);
    assert_int_equal(r[1].code, CR_ENAME);
    assert_int_equal(r[2].code, CR_ENAME);
    assert_int_equal(r[3].code, CR_ESCHEMA);
    assert_int_equal(r[4].code, CR_ESCHEMA);
    assert_int_equal(r[5].code, CR_ENAME);

    /* Two creates of one name in one batch: the second fails and takes the first with it. */
    m[0] = fx_create_mut("twice", "id", KEY_S, NULL, KEY_S);
    m[1] = m[0];
    assert_int_equal(fx_apply(&f, m, 2, r), 0);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(r[1].code, CR_ETABLEEXISTS);
    {
        struct storage_txn *t = fx_read(&f);
        struct table_def d;

        assert_int_equal(catalog_get(t, "twice", 5, &d), CR_ENOTABLE);
        storage_read_end(t);
    }
    fx_close(&f);
}

static void ids_never_reused(void **state)
{
    struct fx f;
    struct table_def a, b, a2;
    struct mutation m;
    struct mutation_result r;

    fx_open(&f);
    fx_create_table(&f, "aaa", "id", KEY_S, NULL, KEY_S, &a);
    fx_create_table(&f, "bbb", "id", KEY_S, NULL, KEY_S, &b);
    assert_int_equal(a.id, 1);
    assert_int_equal(b.id, 2);
    memset(&m, 0, sizeof m);
    m.type = MUT_DELETE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "aaa");
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.table.id, 1);
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_ENOTABLE);
    fx_reopen(&f);
    fx_create_table(&f, "aaa", "id", KEY_S, NULL, KEY_S, &a2);
    assert_int_equal(a2.id, 3);
    fx_close(&f);
}

#define ROWS 900

static void delete_table_removes_rows(void **state)
{
    struct fx f;
    struct table_def keep, gone;
    struct mutation m;
    struct mutation_result r;
    struct storage_txn *t;
    struct kv_page page;
    struct table_stats st;

    fx_open(&f);
    fx_create_table(&f, "gone", "id", KEY_S, NULL, KEY_S, &gone);
    fx_create_table(&f, "keep", "id", KEY_S, NULL, KEY_S, &keep);
    /* Enough rows to span many pages, so the range delete crosses page boundaries. */
    for (int table = 0; table < 2; table++) {
        struct mutation puts[ROWS];
        struct mutation_result res[ROWS];

        for (int i = 0; i < ROWS; i++) {
            char k[16], *id;

            snprintf(k, sizeof k, "k%04d", i);
            id = cr_arena_strndup(&f.a, k, 5);
            puts[i] = fx_put_mut(table ? "keep" : "gone",
                                 fx_map(&f, 2, "id", fx_str(id), "pad", fx_str(id)));
        }
        assert_int_equal(fx_apply(&f, puts, ROWS, res), 0);
        assert_int_equal(res[ROWS - 1].code, 0);
    }
    memset(&m, 0, sizeof m);
    m.type = MUT_DELETE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "gone");
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);

    t = fx_read(&f);
    assert_int_equal(kv_scan(t, &gone, NULL, 0, 0, 0, 0, &f.a, &page), 0);
    assert_int_equal(page.n, 0);
    assert_int_equal(catalog_stats(t, &gone, &st), 0);
    assert_int_equal(st.item_count, 0);
    assert_int_equal(kv_scan(t, &keep, NULL, 0, 0, 0, 0, &f.a, &page), 0);
    assert_int_equal(page.n, ROWS);
    assert_int_equal(catalog_stats(t, &keep, &st), 0);
    assert_int_equal(st.item_count, ROWS);
    storage_read_end(t);
    assert_int_equal(fx_put(&f, "gone", fx_map(&f, 1, "id", fx_str("x"))), CR_ENOTABLE);
    fx_close(&f);
}

static void too_many_tables(void **state)
{
    struct fx f;
    struct mutation *m = calloc(CR_MAX_TABLES + 1, sizeof *m);
    struct mutation_result *r = calloc(CR_MAX_TABLES + 1, sizeof *r);
    struct log_batch b[4];
    struct mutation_result *res[4];
    size_t start[5] = {0, 1000, 2000, CR_MAX_TABLES, CR_MAX_TABLES + 1};

    assert_non_null(m);
    assert_non_null(r);
    fx_open(&f);
    for (size_t i = 0; i <= CR_MAX_TABLES; i++) {
        char name[16];

        snprintf(name, sizeof name, "t%05zu", i);
        m[i] = fx_create_mut(name, "id", KEY_S, NULL, KEY_S);
    }
    /* Four batches in one call: CR_MAX_TABLES creates, then the one too many. */
    for (size_t i = 0; i < 4; i++) {
        b[i] =
            (struct log_batch){.index = i + 1, .muts = m + start[i], .n = start[i + 1] - start[i]};
        res[i] = r + start[i];
    }
    assert_int_equal(storage_apply(f.s, b, 4, res, &f.a), 0);
    for (size_t i = 0; i < CR_MAX_TABLES; i++)
        assert_int_equal(r[i].code, 0);
    assert_int_equal(r[CR_MAX_TABLES].code, CR_ETOOMANY);
    fx_close(&f);
    free(m);
    free(r);
}

static void format_version_checked(void **state)
{
    struct fx f;
    struct storage_txn *t;
    struct storage *s;
    struct storage_options opt = {.map_size = 1u << 20};
    uint8_t v[4] = {0, 0, 0, 99};

    fx_open(&f);
    assert_int_equal(env_write_begin(f.s, NULL, &t), 0);
    assert_int_equal(env_put(t, ENV_META, "format", 6, v, sizeof v), 0);
    assert_int_equal(env_commit(t), 0);
    storage_close(f.s);
    assert_int_equal(storage_open(f.dir, &opt, &s), CR_ECORRUPT);
    f.s = NULL;
    fx_close(&f);
}

/* One server per data directory: a second open is refused while the first is open, and works
 * once it is closed. */
static void directory_locked_while_open(void **state)
{
    struct fx f;
    struct storage *s;
    struct storage_options opt = {.map_size = 1u << 20};

    fx_open(&f);
    assert_int_equal(storage_open(f.dir, &opt, &s), CR_ELOCKED);
    storage_close(f.s);
    assert_int_equal(storage_open(f.dir, &opt, &s), 0);
    f.s = s;
    fx_close(&f);
}

/* A record of the first format (version 1: no indexes, TTL or tags), written as an old server
 * wrote it, still reads; a table that uses neither TTL nor tags keeps writing it. */
static void old_record_reads(void **state)
{
    struct fx f;
    struct storage_txn *t;
    struct table_def def;
    struct table_tag *tags;
    struct env_val v;
    struct cr_buf rec;
    size_t n = 1;

    fx_open(&f);
    cr_buf_init(&rec);
    assert_int_equal(cr_buf_putc(&rec, 1), 0);
    assert_int_equal(cr_buf_put_u32be(&rec, 7), 0);
    assert_int_equal(cr_buf_putc(&rec, KEY_S), 0);
    assert_int_equal(cr_buf_putc(&rec, 0xFF), 0);
    assert_int_equal(cr_buf_put_varint(&rec, 5), 0);
    assert_int_equal(cr_buf_put_varint(&rec, 4000), 0); /* zigzag(2000) */
    assert_int_equal(cr_buf_put_varint(&rec, 2), 0);
    assert_int_equal(cr_buf_append(&rec, "id", 2), 0);
    assert_int_equal(env_write_begin(f.s, NULL, &t), 0);
    assert_int_equal(env_put(t, ENV_CATALOG, "old", 3, rec.data, rec.len), 0);
    assert_int_equal(env_commit(t), 0);
    cr_buf_free(&rec);

    t = fx_read(&f);
    assert_int_equal(catalog_get(t, "old", 3, &def), 0);
    assert_int_equal(def.id, 7);
    assert_string_equal(def.pk_name, "id");
    assert_false(def.has_sk);
    assert_int_equal(def.created_index, 5);
    assert_int_equal(def.created_ms, 2000);
    assert_string_equal(def.ttl_attr, "");
    assert_int_equal(catalog_tags(t, &def, &f.a, &tags, &n), 0);
    assert_int_equal(n, 0);
    storage_read_end(t);

    fx_create_table(&f, "plain", "id", KEY_S, NULL, KEY_S, NULL);
    t = fx_read(&f);
    assert_int_equal(env_get(t, ENV_CATALOG, "plain", 5, &v), 0);
    assert_int_equal(v.p[0], 1);
    storage_read_end(t);
    fx_close(&f);
}

static struct mutation alter_mut(const char *table)
{
    struct mutation m;

    memset(&m, 0, sizeof m);
    m.type = MUT_UPDATE_TABLE;
    snprintf(m.table.name, sizeof m.table.name, "%s", table);
    return m;
}

/* MUT_UPDATE_TABLE's TTL change: allowed transitions only; a refused one reports the table. */
static int set_ttl(struct fx *f, enum ttl_change c, const char *attr, struct mutation_result *r)
{
    struct mutation m = alter_mut("ttl");

    m.ttl = c;
    m.ttl_attr = attr;
    assert_int_equal(fx_apply(f, &m, 1, r), 0);
    return r->code;
}

static void ttl_and_tags(void **state)
{
    static const struct table_tag set1[] = {{"team", "db"}, {"env", ""}, {"team", "storage"}};
    static const char *const unset[] = {"env", "never"};
    struct table_tag many[CR_MAX_TAGS];
    char keys[CR_MAX_TAGS][8];
    struct fx f;
    struct storage_txn *t;
    struct table_def def;
    struct table_tag *tags;
    struct mutation_result r;
    struct mutation m;
    struct env_val v;
    size_t n;

    fx_open(&f);
    fx_create_table(&f, "ttl", "id", KEY_S, "n", KEY_N, NULL);
    assert_int_equal(set_ttl(&f, TTL_DISABLE, "exp", &r), CR_EINVAL);
    assert_int_equal(set_ttl(&f, TTL_ENABLE, "exp", &r), 0);
    assert_string_equal(r.table.ttl_attr, "exp");
    assert_int_equal(set_ttl(&f, TTL_ENABLE, "exp", &r), CR_EINVAL);
    assert_string_equal(r.table.ttl_attr, "exp");
    assert_int_equal(set_ttl(&f, TTL_DISABLE, "other", &r), CR_EINVAL);
    assert_int_equal(set_ttl(&f, TTL_ENABLE, "", &r), CR_ENAME);

    m = alter_mut("ttl");
    m.tags = set1;
    m.n_tags = 3;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    fx_reopen(&f); /* the record round-trips through the file */
    t = fx_read(&f);
    assert_int_equal(catalog_get(t, "ttl", 3, &def), 0);
    assert_string_equal(def.ttl_attr, "exp");
    assert_true(def.has_sk);
    assert_string_equal(def.sk_name, "n");
    assert_int_equal(catalog_tags(t, &def, &f.a, &tags, &n), 0);
    assert_int_equal(n, 2); /* key order; the later value of a repeated key wins */
    assert_string_equal(tags[0].key, "env");
    assert_string_equal(tags[0].value, "");
    assert_string_equal(tags[1].key, "team");
    assert_string_equal(tags[1].value, "storage");
    assert_int_equal(env_get(t, ENV_CATALOG, "ttl", 3, &v), 0);
    assert_int_equal(v.p[0], 3);
    storage_read_end(t);

    for (size_t i = 0; i < CR_MAX_TAGS; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02zu", i);
        many[i] = (struct table_tag){keys[i], "v"};
    }
    m = alter_mut("ttl");
    m.tags = many;
    m.n_tags = CR_MAX_TAGS;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_ETOOMANY); /* 52 in all */
    m.n_tags = CR_MAX_TAGS - 2;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);

    m = alter_mut("ttl");
    m.untag = unset;
    m.n_untag = 2;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    t = fx_read(&f);
    assert_int_equal(catalog_get(t, "ttl", 3, &def), 0);
    assert_int_equal(catalog_tags(t, &def, &f.a, &tags, &n), 0);
    assert_int_equal(n, CR_MAX_TAGS - 1);
    assert_string_equal(tags[0].key, "k00");
    assert_string_equal(tags[n - 1].key, "team");
    storage_read_end(t);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_get_list),
        cmocka_unit_test(name_rules),
        cmocka_unit_test(create_errors),
        cmocka_unit_test(ids_never_reused),
        cmocka_unit_test(delete_table_removes_rows),
        cmocka_unit_test(too_many_tables),
        cmocka_unit_test(format_version_checked),
        cmocka_unit_test(directory_locked_while_open),
        cmocka_unit_test(old_record_reads),
        cmocka_unit_test(ttl_and_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
