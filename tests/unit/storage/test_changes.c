/* The change feed and the applied index: records per applied mutation, in log order, none for a
 * failed entry; reading from an index with a limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"

static void feed_content(void **state)
{
    struct fx f;
    struct table_def d;
    struct mutation m[3];
    struct mutation_result r[3];
    struct storage_txn *t;
    struct change c[16];
    size_t n;
    uint64_t applied;
    struct mutation drop;

    fx_open(&f);
    t = fx_read(&f);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(changes_read(t, 0, c, 16, &n, &f.a), 0);
    assert_int_equal(n, 0);
    storage_read_end(t);

    fx_create_table(&f, "feed", "p", KEY_S, "s", KEY_N, &d); /* index 1 */
    m[0] =
        fx_put_mut("feed", fx_map(&f, 3, "p", fx_str("a"), "s", value_int(1), "x", fx_str("one")));
    m[1] = fx_put_mut("feed", fx_map(&f, 2, "p", fx_str("a"), "s", value_int(2)));
    m[2] = fx_del_mut("feed", fx_map(&f, 2, "p", fx_str("a"), "s", value_int(1)));
    assert_int_equal(fx_apply(&f, m, 3, r), 0); /* index 2 */
    /* Index 3 fails as a whole: a/1 is gone so m[0] passes, a/2 exists so m[1] fails. */
    m[0].cond.type = COND_NOT_EXISTS;
    m[1].cond.type = COND_NOT_EXISTS;
    assert_int_equal(fx_apply(&f, m, 2, r), 0);
    assert_int_equal(r[0].code, CR_EABORTED);
    assert_int_equal(r[1].code, CR_ECONDITION);
    memset(&drop, 0, sizeof drop);
    drop.type = MUT_DELETE_TABLE;
    snprintf(drop.table.name, sizeof drop.table.name, "feed");
    assert_int_equal(fx_apply(&f, &drop, 1, r), 0); /* index 4 */

    t = fx_read(&f);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, 4);
    assert_int_equal(changes_read(t, 0, c, 16, &n, &f.a), 0);
    assert_int_equal(n, 5);
    storage_read_end(t); /* changes are copied into the arena: usable after the txn */

    assert_int_equal(c[0].index, 1);
    assert_int_equal(c[0].type, MUT_CREATE_TABLE);
    assert_int_equal(c[0].table_id, d.id);
    assert_int_equal(c[0].key.type, VT_NULL);

    assert_int_equal(c[1].index, 2);
    assert_int_equal(c[1].ordinal, 0);
    assert_int_equal(c[1].type, MUT_PUT);
    assert_int_equal(c[1].table_id, d.id);
    assert_int_equal(c[1].key.type, VT_MAP);
    assert_int_equal(c[1].key.u.map.n, 2);
    {
        struct value want_p = fx_str("a"), want_s = value_int(1), want_x = fx_str("one");

        assert_true(value_equal(value_map_get(&c[1].key, "p", 1), &want_p));
        assert_true(value_equal(value_map_get(&c[1].key, "s", 1), &want_s));
        assert_true(value_equal(value_map_get(&c[1].item, "x", 1), &want_x));
    }
    assert_int_equal(c[2].index, 2);
    assert_int_equal(c[2].ordinal, 1);
    assert_int_equal(c[2].type, MUT_PUT);
    assert_int_equal(c[3].index, 2);
    assert_int_equal(c[3].ordinal, 2);
    assert_int_equal(c[3].type, MUT_DELETE);
    assert_int_equal(c[3].item.type, VT_NULL);
    assert_int_equal(c[3].key.u.map.n, 2);
    assert_int_equal(c[4].index, 4);
    assert_int_equal(c[4].type, MUT_DELETE_TABLE);
    assert_int_equal(c[4].table_id, d.id);

    /* From an index, with a limit. */
    t = fx_read(&f);
    assert_int_equal(changes_read(t, 2, c, 2, &n, &f.a), 0);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].index, 2);
    assert_int_equal(c[0].ordinal, 0);
    assert_int_equal(c[1].ordinal, 1);
    assert_int_equal(changes_read(t, 3, c, 16, &n, &f.a), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].index, 4);
    assert_int_equal(changes_read(t, 5, c, 16, &n, &f.a), 0);
    assert_int_equal(n, 0);
    assert_int_equal(changes_read(t, 0, c, 0, &n, &f.a), 0);
    assert_int_equal(n, 0);
    storage_read_end(t);
    fx_close(&f);
}

static void feed_survives_reopen(void **state)
{
    struct fx f;
    struct storage_txn *t;
    struct change c[4];
    size_t n;

    fx_open(&f);
    fx_create_table(&f, "feed", "p", KEY_S, NULL, KEY_S, NULL);
    assert_int_equal(fx_put(&f, "feed", fx_map(&f, 1, "p", fx_str("k"))), 0);
    fx_reopen(&f);
    t = fx_read(&f);
    assert_int_equal(changes_read(t, 0, c, 4, &n, &f.a), 0);
    assert_int_equal(n, 2);
    assert_int_equal(c[1].index, 2);
    assert_int_equal(c[1].type, MUT_PUT);
    storage_read_end(t);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feed_content),
        cmocka_unit_test(feed_survives_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
