/* Items: put/get/delete, key and item validation, long keys and the collision policy, range
 * queries against an in-memory reference (property test), scans and segments, page bounds,
 * continuation checks, stats, reopen, read txn reset/renew. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "storage/keycodec.h"
#include "storage/storage_int.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* The item's "v" attribute (an INT in every test item). */
static int64_t item_v(const struct value *item)
{
    const struct value *v = value_map_get(item, "v", 1);
    struct decimal d;

    assert_non_null(v);
    if (v->type == VT_INT)
        return v->u.i;
    assert_int_equal(value_number_to_decimal(v, &d), 0);
    return (int64_t)decimal_to_double(&d);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static struct table_def table_s_s(struct fx *f, const char *name)
{
    struct table_def d;

    fx_create_table(f, name, "p", KEY_S, "s", KEY_S, &d);
    return d;
}

static int extract(const struct table_def *d, struct value item, bool key_only, struct value *pk,
                   struct value *sk)
{
    return kv_extract_key(d, &item, key_only, pk, sk);
}

/* ---- basics --------------------------------------------------------------------------------- */

static void put_get_delete(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    struct value item, pk = fx_str("user1"), sk = value_int(7);
    struct mutation m;
    struct mutation_result r;

    fx_open(&f);
    fx_create_table(&f, "items", "p", KEY_S, "n", KEY_N, &d);
    assert_int_equal(
        fx_put(&f, "items", fx_map(&f, 3, "p", pk, "n", value_int(7), "v", value_int(1))), 0);
    /* The same key given as a double and as a decimal is the same item. */
    assert_int_equal(
        fx_put(&f, "items", fx_map(&f, 3, "p", pk, "n", value_double(7.0), "v", value_int(2))), 0);
    t = fx_read(&f);
    assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), 0);
    assert_int_equal(item_v(&item), 2);
    sk = value_int(8);
    assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), CR_ENOTFOUND);
    sk = fx_str("7");
    assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), CR_ETYPE);
    storage_read_end(t);

    m = fx_del_mut("items", fx_map(&f, 2, "p", pk, "n", value_int(7)));
    m.return_old = true;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_true(r.has_old);
    assert_int_equal(item_v(&r.old), 2);
    t = fx_read(&f);
    sk = value_int(7);
    assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), CR_ENOTFOUND);
    storage_read_end(t);
    /* Deleting a missing item is not an error. */
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    assert_false(r.has_old);
    fx_close(&f);
}

static void key_validation(void **state)
{
    struct fx f;
    struct table_def s, n, b;
    struct value pk, sk;
    char *big = repeat('k', CR_MAX_PK_SIZE + 1);
    uint8_t bytes[3] = {0, 1, 2};

    fx_open(&f);
    fx_create_table(&f, "str", "p", KEY_S, "s", KEY_S, &s);
    fx_create_table(&f, "num", "p", KEY_N, NULL, KEY_S, &n);
    fx_create_table(&f, "bin", "p", KEY_B, NULL, KEY_S, &b);

    assert_int_equal(kv_extract_key(&s, &(struct value){.type = VT_NULL}, false, &pk, &sk),
                     CR_EINVAL);
    assert_int_equal(extract(&s, fx_map(&f, 1, "p", fx_str("a")), false, &pk, &sk), CR_EMISSINGKEY);
    assert_int_equal(extract(&s, fx_map(&f, 1, "s", fx_str("a")), false, &pk, &sk), CR_EMISSINGKEY);
    assert_int_equal(
        extract(&s, fx_map(&f, 2, "p", value_int(1), "s", fx_str("a")), false, &pk, &sk), CR_ETYPE);
    assert_int_equal(extract(&s, fx_map(&f, 2, "p", fx_str(""), "s", fx_str("a")), false, &pk, &sk),
                     CR_EINVAL);
    assert_int_equal(
        extract(&s, fx_map(&f, 2, "p", value_string(big, CR_MAX_PK_SIZE + 1), "s", fx_str("a")),
                false, &pk, &sk),
        CR_EKEYTOOBIG);
    assert_int_equal(extract(&s,
                             fx_map(&f, 2, "p", value_string(big, CR_MAX_PK_SIZE), "s",
                                    value_string(big, CR_MAX_SK_SIZE + 1)),
                             false, &pk, &sk),
                     CR_EKEYTOOBIG);
    assert_int_equal(extract(&s,
                             fx_map(&f, 2, "p", value_string(big, CR_MAX_PK_SIZE), "s",
                                    value_string(big, CR_MAX_SK_SIZE)),
                             false, &pk, &sk),
                     0);
    assert_int_equal(extract(&s,
                             fx_map(&f, 3, "p", fx_str("a"), "s", fx_str("b"), "x", value_int(1)),
                             true, &pk, &sk),
                     CR_EINVAL);
    assert_int_equal(extract(&s,
                             fx_map(&f, 3, "p", fx_str("a"), "s", fx_str("b"), "x", value_int(1)),
                             false, &pk, &sk),
                     0);
    assert_int_equal(pk.type, VT_STRING);
    assert_int_equal(sk.type, VT_STRING);

    assert_int_equal(extract(&n, fx_map(&f, 1, "p", value_int(42)), true, &pk, &sk), 0);
    assert_int_equal(pk.type, VT_DECIMAL);
    assert_int_equal(sk.type, VT_NULL);
    assert_int_equal(extract(&n, fx_map(&f, 1, "p", value_double(0.0 / 0.0)), true, &pk, &sk),
                     CR_ENUMBER);
    assert_int_equal(extract(&n, fx_map(&f, 1, "p", value_double(1.0 / 0.0)), true, &pk, &sk),
                     CR_ENUMBER);
    assert_int_equal(extract(&n, fx_map(&f, 1, "p", fx_str("1")), true, &pk, &sk), CR_ETYPE);
    assert_int_equal(extract(&b, fx_map(&f, 1, "p", value_bytes(bytes, 3)), true, &pk, &sk), 0);
    assert_int_equal(extract(&b, fx_map(&f, 1, "p", value_bytes(bytes, 0)), true, &pk, &sk),
                     CR_EINVAL);
    assert_int_equal(extract(&b, fx_map(&f, 1, "p", fx_str("x")), true, &pk, &sk), CR_ETYPE);

    /* The same rules through apply. */
    assert_int_equal(fx_put(&f, "num", fx_map(&f, 1, "q", value_int(1))), CR_EMISSINGKEY);
    assert_int_equal(fx_put(&f, "num", fx_map(&f, 1, "p", fx_str("1"))), CR_ETYPE);
    assert_int_equal(fx_put(&f, "bin", fx_map(&f, 1, "p", value_bytes(bytes, 0))), CR_EINVAL);
    assert_int_equal(fx_put(&f, "nope", fx_map(&f, 1, "p", value_int(1))), CR_ENOTABLE);
    free(big);
    fx_close(&f);
}

static void item_size_limit(void **state)
{
    struct fx f;
    struct table_def d;
    size_t len = CR_MAX_ITEM_SIZE - strlen("id") - 1 - strlen("data");
    char *data = repeat('d', len + 1);
    struct value ok, over;

    fx_open(&f);
    fx_create_table(&f, "big", "id", KEY_S, NULL, KEY_S, &d);
    ok = fx_map(&f, 2, "id", fx_str("k"), "data", value_string(data, len));
    over = fx_map(&f, 2, "id", fx_str("k"), "data", value_string(data, len + 1));
    assert_int_equal(value_ddb_size(&ok), CR_MAX_ITEM_SIZE);
    assert_int_equal(kv_check_item(&d, &ok), 0);
    assert_int_equal(kv_check_item(&d, &over), CR_EITEMTOOBIG);
    assert_int_equal(fx_put(&f, "big", over), CR_EITEMTOOBIG);
    assert_int_equal(fx_put(&f, "big", ok), 0);
    assert_int_equal(kv_check_item(&d, &(struct value){.type = VT_STRING}), CR_EINVAL);
    free(data);
    fx_close(&f);
}

/* ---- long keys ------------------------------------------------------------------------------ */

static void long_keys(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    char *pk_max = repeat('x', CR_MAX_PK_SIZE), *sk_max = repeat('y', CR_MAX_SK_SIZE);
    char *a = repeat('A', 300), *b = repeat('A', 300);
    struct value item, pk, sk;
    struct kv_query q;
    struct kv_page page;

    a[299] = '1';
    b[299] = '2';
    fx_open(&f);
    d = table_s_s(&f, "long");
    assert_int_equal(fx_put(&f, "long",
                            fx_map(&f, 3, "p", value_string(pk_max, CR_MAX_PK_SIZE), "s",
                                   value_string(sk_max, CR_MAX_SK_SIZE), "v", value_int(1))),
                     0);
    /* Two partition keys and two sort keys sharing their first 299 bytes. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(fx_put(&f, "long",
                                fx_map(&f, 3, "p", fx_str(i < 2 ? a : b), "s",
                                       fx_str(i % 2 ? a : b), "v", value_int(10 + i))),
                         0);
    t = fx_read(&f);
    pk = value_string(pk_max, CR_MAX_PK_SIZE);
    sk = value_string(sk_max, CR_MAX_SK_SIZE);
    assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), 0);
    assert_int_equal(item_v(&item), 1);
    sk = value_string(sk_max, CR_MAX_SK_SIZE - 1);
    assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), CR_ENOTFOUND);
    for (int i = 0; i < 4; i++) {
        pk = fx_str(i < 2 ? a : b);
        sk = fx_str(i % 2 ? a : b);
        assert_int_equal(kv_get(t, &d, &pk, &sk, &f.a, &item), 0);
        assert_int_equal(item_v(&item), 10 + i);
    }
    memset(&q, 0, sizeof q);
    q.pk = fx_str(a);
    assert_int_equal(kv_query(t, &d, &q, &f.a, &page), 0);
    assert_int_equal(page.n, 2);
    q.op = SK_EQ;
    q.sk1 = fx_str(b);
    assert_int_equal(kv_query(t, &d, &q, &f.a, &page), 0);
    assert_int_equal(page.n, 1);
    assert_int_equal(item_v(&page.items[0]), 10);
    q.pk = value_string(pk_max, CR_MAX_PK_SIZE);
    q.op = SK_BEGINS_WITH;
    q.sk1 = value_string(sk_max, 500);
    assert_int_equal(kv_query(t, &d, &q, &f.a, &page), 0);
    assert_int_equal(page.n, 1);
    storage_read_end(t);
    free(pk_max);
    free(sk_max);
    free(a);
    free(b);
    fx_close(&f);
}

/* A row planted at the stored key of K but holding another long key stands for a hash
 * collision: K reads as absent, a put of K is refused, a delete of K leaves the row alone. */
static void collision_policy(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    char *k1 = repeat('Z', 300), *k2 = repeat('Z', 300);
    struct value pk1, pk2, other, got, sk = value_null();
    struct cr_buf key, row;
    bool truncated, collision;
    struct env_val v;
    struct mutation m;
    struct mutation_result r;
    struct kv_query q;
    struct kv_page page;

    k1[299] = '1';
    k2[299] = '2';
    pk1 = fx_str(k1);
    pk2 = fx_str(k2);
    fx_open(&f);
    fx_create_table(&f, "coll", "p", KEY_S, NULL, KEY_S, &d);
    cr_buf_init(&key);
    cr_buf_init(&row);
    assert_int_equal(kv_row_key(&d, &pk1, &sk, &key, &truncated), 0);
    assert_true(truncated);
    other = fx_map(&f, 2, "p", pk2, "v", value_int(2));
    assert_int_equal(value_encode(&other, &row), 0);
    assert_int_equal(env_write_begin(f.s, NULL, &t), 0);
    assert_int_equal(env_put(t, ENV_DATA, key.data, key.len, row.data, row.len), 0);
    assert_int_equal(env_commit(t), 0);

    t = fx_read(&f);
    assert_int_equal(kv_get(t, &d, &pk1, &sk, &f.a, &got), CR_ENOTFOUND);
    assert_int_equal(kv_row_find(t, &d, &key, true, &pk1, &sk, &v, &collision), CR_ENOTFOUND);
    assert_true(collision);
    memset(&q, 0, sizeof q);
    q.pk = pk1;
    assert_int_equal(kv_query(t, &d, &q, &f.a, &page), 0);
    assert_int_equal(page.n, 0);
    assert_int_equal(page.scanned, 1);
    storage_read_end(t);

    assert_int_equal(fx_put(&f, "coll", fx_map(&f, 2, "p", pk1, "v", value_int(1))), CR_EKEYTOOBIG);
    m = fx_del_mut("coll", fx_map(&f, 1, "p", pk1));
    m.cond.type = COND_EXISTS;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, CR_ECONDITION);
    m.cond.type = COND_NONE;
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(r.code, 0);
    t = fx_read(&f);
    assert_int_equal(env_get(t, ENV_DATA, key.data, key.len, &v), 0);
    storage_read_end(t);
    cr_buf_free(&key);
    cr_buf_free(&row);
    free(k1);
    free(k2);
    fx_close(&f);
}

/* ---- range queries: property test ----------------------------------------------------------- */

#define PROP_ITEMS 60
#define PROP_PARTS 3
#define PROP_TRIALS 600

struct ref_item {
    struct value sk;
    char *buf;         /* owns the bytes of a string sort key */
    struct cr_buf enc; /* stored key component: the order rows come back in */
    int64_t v;
};

static struct value prop_string(void)
{
    static const char alpha[] = {'a', 'b', 'c', '\0'};
    size_t base = 0, extra = 0, len;
    char fill = 0, *s;

    switch (rnd_below(5)) {
    case 0:
    case 1:
        extra = 1 + rnd_below(5);
        break;
    case 2: /* around the truncation threshold */
        fill = 'm';
        base = 230 + rnd_below(20);
        extra = rnd_below(4);
        break;
    case 3: /* long, sharing a 300-byte prefix */
        fill = 'L';
        base = 300;
        extra = rnd_below(7);
        break;
    default: /* very long, sharing the same prefix */
        fill = 'L';
        base = 300 + rnd_below(CR_MAX_SK_SIZE - 310);
        extra = rnd_below(3);
        break;
    }
    len = base + extra;
    s = malloc(len + 1);
    assert_non_null(s);
    memset(s, fill, base);
    for (size_t i = base; i < len; i++)
        s[i] = alpha[rnd_below(rnd_below(8) == 0 ? 4 : 3)];
    return value_string(s, len);
}

static struct value prop_number(struct cr_arena *a)
{
    struct value v;
    char text[32];
    int64_t i = (int64_t)rnd_below(101) - 50;

    switch (rnd_below(3)) {
    case 0:
        return value_int(i);
    case 1:
        return value_double((double)i / 4.0);
    default:
        snprintf(text, sizeof text, "%lld.%03u", (long long)i, (unsigned)rnd_below(1000));
        v.type = VT_DECIMAL;
        assert_int_equal(decimal_parse(text, strlen(text), &v.u.dec), 0);
        (void)a;
        return v;
    }
}

static bool ref_match(const struct kv_query *q, const struct value *sk)
{
    int c1 = q->op == SK_ANY ? 0 : value_compare(sk, &q->sk1);

    switch (q->op) {
    case SK_ANY:
        return true;
    case SK_EQ:
        return c1 == 0;
    case SK_LT:
        return c1 < 0;
    case SK_LE:
        return c1 <= 0;
    case SK_GT:
        return c1 > 0;
    case SK_GE:
        return c1 >= 0;
    case SK_BETWEEN:
        return c1 >= 0 && value_compare(sk, &q->sk2) <= 0;
    case SK_BEGINS_WITH:
        return sk->u.s.len >= q->sk1.u.s.len &&
               memcmp(sk->u.s.ptr, q->sk1.u.s.ptr, q->sk1.u.s.len) == 0;
    }
    return false;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const struct ref_item *a = pa, *b = pb;
    size_t n = a->enc.len < b->enc.len ? a->enc.len : b->enc.len;
    int c = memcmp(a->enc.data, b->enc.data, n);

    return c ? c : (a->enc.len > b->enc.len) - (a->enc.len < b->enc.len);
}

/* A bound: an existing sort key, a prefix of one (begins_with), or a fresh random one. */
static struct value prop_bound(struct ref_item *items, size_t n, bool numeric, bool prefix,
                               struct cr_arena *a)
{
    struct value v;

    if (rnd_below(2) == 0)
        return numeric ? prop_number(a) : prop_string();
    v = items[rnd_below(n)].sk;
    if (prefix)
        v.u.s.len = 1 + rnd_below(v.u.s.len);
    if (!numeric) {
        char *copy = malloc(v.u.s.len + 1);

        assert_non_null(copy);
        memcpy(copy, v.u.s.ptr, v.u.s.len);
        v.u.s.ptr = copy;
    }
    return v;
}

static void free_bound(struct value *v)
{
    if (v->type == VT_STRING)
        free((char *)v->u.s.ptr);
}

static void prop_run(bool numeric)
{
    struct fx f;
    struct table_def d;
    struct ref_item items[PROP_PARTS][PROP_ITEMS];
    struct value pks[PROP_PARTS];
    char *long_a = repeat('P', CR_MAX_PK_SIZE), *long_b = repeat('P', CR_MAX_PK_SIZE);
    struct mutation muts[PROP_ITEMS];
    struct mutation_result res[PROP_ITEMS];
    struct cr_arena qa;
    int64_t next_v = 0;
    size_t pages = 0, checked = 0;

    long_b[CR_MAX_PK_SIZE - 1] = 'Q';
    pks[0] = fx_str("part");
    pks[1] = value_string(long_a, CR_MAX_PK_SIZE);
    pks[2] = value_string(long_b, CR_MAX_PK_SIZE);
    fx_open(&f);
    fx_create_table(&f, "prop", "p", KEY_S, "s", numeric ? KEY_N : KEY_S, &d);
    cr_arena_init(&qa, 0);

    for (size_t p = 0; p < PROP_PARTS; p++) {
        for (size_t i = 0; i < PROP_ITEMS; i++) {
            struct ref_item *it = &items[p][i];
            bool dup;

            do {
                it->sk = numeric ? prop_number(&f.a) : prop_string();
                dup = false;
                for (size_t j = 0; j < i && !dup; j++)
                    dup = value_equal(&items[p][j].sk, &it->sk);
                if (dup && !numeric)
                    free((char *)it->sk.u.s.ptr);
            } while (dup);
            it->buf = numeric ? NULL : (char *)it->sk.u.s.ptr;
            it->v = next_v++;
            cr_buf_init(&it->enc);
            assert_int_equal(keycodec_encode_component(&it->sk, &it->enc, NULL), 0);
            muts[i] =
                fx_put_mut("prop", fx_map(&f, 3, "p", pks[p], "s", it->sk, "v", value_int(it->v)));
        }
        assert_int_equal(fx_apply(&f, muts, PROP_ITEMS, res), 0);
        for (size_t i = 0; i < PROP_ITEMS; i++)
            assert_int_equal(res[i].code, 0);
        qsort(items[p], PROP_ITEMS, sizeof items[p][0], ref_cmp);
    }

    for (int trial = 0; trial < PROP_TRIALS; trial++) {
        size_t p = rnd_below(PROP_PARTS), nexp = 0, got = 0;
        int64_t expect[PROP_ITEMS];
        struct kv_query q;
        struct storage_txn *t = fx_read(&f);
        uint8_t *cursor = NULL;
        size_t cursor_len = 0;

        memset(&q, 0, sizeof q);
        q.pk = pks[p];
        q.op = (enum sk_op)rnd_below(numeric ? SK_BEGINS_WITH : SK_BEGINS_WITH + 1);
        q.reverse = rnd_below(2);
        q.limit = (uint32_t)rnd_below(8);
        if (q.op != SK_ANY)
            q.sk1 = prop_bound(items[p], PROP_ITEMS, numeric, q.op == SK_BEGINS_WITH, &f.a);
        if (q.op == SK_BETWEEN) {
            q.sk2 = prop_bound(items[p], PROP_ITEMS, numeric, false, &f.a);
            if (value_compare(&q.sk1, &q.sk2) > 0) {
                struct value tmp = q.sk1;

                q.sk1 = q.sk2;
                q.sk2 = tmp;
            }
        }
        for (size_t i = 0; i < PROP_ITEMS; i++) {
            const struct ref_item *it = &items[p][q.reverse ? PROP_ITEMS - 1 - i : i];

            if (ref_match(&q, &it->sk))
                expect[nexp++] = it->v;
        }
        do {
            struct kv_page page;

            q.cursor = cursor;
            q.cursor_len = cursor_len;
            assert_int_equal(kv_query(t, &d, &q, &qa, &page), 0);
            assert_true(q.limit == 0 || page.n <= q.limit);
            assert_true(page.scanned >= page.n);
            for (size_t i = 0; i < page.n; i++) {
                assert_true(got < nexp);
                assert_int_equal(item_v(&page.items[i]), expect[got]);
                got++;
            }
            cursor = page.next;
            cursor_len = page.next_len;
            pages++;
            assert_true(pages < 100000);
        } while (cursor_len > 0);
        assert_int_equal(got, nexp);
        checked += nexp;
        storage_read_end(t);
        if (!numeric) {
            free_bound(&q.sk1);
            if (q.op == SK_BETWEEN)
                free_bound(&q.sk2);
        }
        cr_arena_reset(&qa);
    }
    assert_true(checked > PROP_TRIALS); /* the trials did match items */

    for (size_t p = 0; p < PROP_PARTS; p++)
        for (size_t i = 0; i < PROP_ITEMS; i++) {
            cr_buf_free(&items[p][i].enc);
            free(items[p][i].buf);
        }
    cr_arena_free(&qa);
    free(long_a);
    free(long_b);
    fx_close(&f);
}

static void query_property_strings(void **state)
{
    rng_state = 0x9E3779B97F4A7C15ULL;
    prop_run(false);
}

static void query_property_numbers(void **state)
{
    rng_state = 0xD1B54A32D192ED03ULL;
    prop_run(true);
}

static void query_errors(void **state)
{
    struct fx f;
    struct table_def s, n, nosk, other;
    struct storage_txn *t;
    struct kv_query q;
    struct kv_page page;
    uint8_t garbage[] = {1, 0, 0, 0, 1, 0x50, 'a'};

    fx_open(&f);
    s = table_s_s(&f, "str");
    fx_create_table(&f, "num", "p", KEY_S, "s", KEY_N, &n);
    fx_create_table(&f, "nosk", "p", KEY_S, NULL, KEY_S, &nosk);
    other = table_s_s(&f, "other");
    for (int i = 0; i < 5; i++) {
        char k[4] = {'k', (char)('0' + i), 0};

        assert_int_equal(
            fx_put(&f, "str", fx_map(&f, 3, "p", fx_str("a"), "s", fx_str(k), "v", value_int(i))),
            0);
        assert_int_equal(
            fx_put(&f, "other", fx_map(&f, 3, "p", fx_str("a"), "s", fx_str(k), "v", value_int(i))),
            0);
    }
    t = fx_read(&f);
    memset(&q, 0, sizeof q);
    q.pk = fx_str("a");
    q.op = SK_BETWEEN;
    q.sk1 = fx_str("z");
    q.sk2 = fx_str("a");
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), CR_EINVAL);
    q.sk1 = value_int(1);
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), CR_ETYPE);
    q.op = SK_BEGINS_WITH;
    assert_int_equal(kv_query(t, &n, &q, &f.a, &page), CR_ETYPE);
    q.op = SK_EQ;
    q.sk1 = fx_str("a");
    assert_int_equal(kv_query(t, &nosk, &q, &f.a, &page), CR_EINVAL);
    q.pk = value_int(3);
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), CR_ETYPE);

    /* Continuations: garbage, another table's, another partition's. */
    memset(&q, 0, sizeof q);
    q.pk = fx_str("a");
    q.limit = 2;
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), 0);
    assert_int_equal(page.n, 2);
    assert_true(page.next_len > 0);
    q.cursor = page.next;
    q.cursor_len = page.next_len;
    assert_int_equal(kv_query(t, &other, &q, &f.a, &page), CR_ECURSOR);
    q.pk = fx_str("b");
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), CR_ECURSOR);
    q.pk = fx_str("a");
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), 0);
    assert_int_equal(page.n, 2);
    assert_int_equal(item_v(&page.items[0]), 2);
    q.cursor = garbage;
    q.cursor_len = sizeof garbage;
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), CR_ECURSOR);
    q.cursor_len = 3;
    assert_int_equal(kv_query(t, &s, &q, &f.a, &page), CR_ECURSOR);
    assert_int_equal(kv_scan(t, &s, garbage, sizeof garbage, 0, 0, 0, &f.a, &page), CR_ECURSOR);
    assert_int_equal(kv_scan(t, &s, NULL, 0, 0, 4, 4, &f.a, &page), CR_EINVAL);
    storage_read_end(t);
    fx_close(&f);
}

/* ---- scans, pages, stats -------------------------------------------------------------------- */

#define SCAN_ITEMS 300

static void scan_paging_and_segments(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    struct mutation muts[SCAN_ITEMS];
    struct mutation_result res[SCAN_ITEMS];
    int seen[SCAN_ITEMS];
    char keys[SCAN_ITEMS][8];
    int64_t prev = -1;
    size_t total = 0;
    struct kv_page page;

    fx_open(&f);
    d = table_s_s(&f, "scan");
    for (int i = 0; i < SCAN_ITEMS; i++) {
        snprintf(keys[i], sizeof keys[i], "%04d", i);
        muts[i] = fx_put_mut("scan", fx_map(&f, 3, "p", fx_str(keys[i / 3 * 3]), "s",
                                            fx_str(keys[i]), "v", value_int(i)));
    }
    assert_int_equal(fx_apply(&f, muts, SCAN_ITEMS, res), 0);
    t = fx_read(&f);

    /* One segment, pages of 7: every item once, in key order. */
    page.next = NULL;
    page.next_len = 0;
    do {
        assert_int_equal(kv_scan(t, &d, page.next, page.next_len, 7, 0, 0, &f.a, &page), 0);
        assert_true(page.n <= 7);
        for (size_t i = 0; i < page.n; i++) {
            int64_t v = item_v(&page.items[i]);

            assert_true(v > prev);
            prev = v;
            total++;
        }
    } while (page.next_len);
    assert_int_equal(total, SCAN_ITEMS);

    /* Four segments: disjoint, their union is the table, items of a partition together. */
    memset(seen, 0, sizeof seen);
    for (uint32_t seg = 0; seg < 4; seg++) {
        size_t in_seg = 0;

        page.next = NULL;
        page.next_len = 0;
        do {
            assert_int_equal(kv_scan(t, &d, page.next, page.next_len, 5, seg, 4, &f.a, &page), 0);
            for (size_t i = 0; i < page.n; i++) {
                int64_t v = item_v(&page.items[i]);

                seen[v] = (int)seg + 1;
                in_seg++;
            }
        } while (page.next_len);
        assert_true(in_seg > 0 && in_seg < SCAN_ITEMS);
    }
    for (int i = 0; i < SCAN_ITEMS; i++) {
        assert_true(seen[i] > 0);
        assert_int_equal(seen[i], seen[i / 3 * 3]);
    }
    storage_read_end(t);
    fx_close(&f);
}

static void page_byte_bound(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    size_t big = 100 * 1024, total = 0, pages = 0;
    char *data = repeat('b', big);
    struct kv_query q;
    struct kv_page page;

    fx_open(&f);
    d = table_s_s(&f, "pages");
    for (int i = 0; i < 25; i++) {
        char k[8];

        snprintf(k, sizeof k, "%02d", i);
        assert_int_equal(fx_put(&f, "pages",
                                fx_map(&f, 4, "p", fx_str("a"), "s", fx_str(k), "v", value_int(i),
                                       "data", value_string(data, big))),
                         0);
    }
    t = fx_read(&f);
    memset(&q, 0, sizeof q);
    q.pk = fx_str("a");
    do {
        assert_int_equal(kv_query(t, &d, &q, &f.a, &page), 0);
        assert_true(page.n >= 1 && page.n <= 11);
        for (size_t i = 0; i < page.n; i++)
            assert_int_equal(item_v(&page.items[i]), (int64_t)total++);
        q.cursor = page.next;
        q.cursor_len = page.next_len;
        pages++;
    } while (page.next_len);
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);
    storage_read_end(t);
    free(data);
    fx_close(&f);
}

static void stats_follow_writes(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    struct table_stats st;
    struct value a1, a2, b1;
    struct mutation m;
    struct mutation_result r;

    fx_open(&f);
    d = table_s_s(&f, "stats");
    a1 = fx_map(&f, 3, "p", fx_str("a"), "s", fx_str("1"), "x", fx_str("hello"));
    a2 = fx_map(&f, 3, "p", fx_str("a"), "s", fx_str("1"), "x", fx_str("hello, world"));
    b1 = fx_map(&f, 2, "p", fx_str("b"), "s", fx_str("1"));
    assert_int_equal(fx_put(&f, "stats", a1), 0);
    assert_int_equal(fx_put(&f, "stats", b1), 0);
    t = fx_read(&f);
    assert_int_equal(catalog_stats(t, &d, &st), 0);
    assert_int_equal(st.item_count, 2);
    assert_int_equal(st.size_bytes, value_ddb_size(&a1) + value_ddb_size(&b1));
    storage_read_end(t);

    assert_int_equal(fx_put(&f, "stats", a2), 0);
    m = fx_del_mut("stats", fx_map(&f, 2, "p", fx_str("b"), "s", fx_str("1")));
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    assert_int_equal(fx_apply(&f, &m, 1, &r), 0);
    t = fx_read(&f);
    assert_int_equal(catalog_stats(t, &d, &st), 0);
    assert_int_equal(st.item_count, 1);
    assert_int_equal(st.size_bytes, value_ddb_size(&a2));
    storage_read_end(t);
    fx_close(&f);
}

static void reopen_and_renew(void **state)
{
    struct fx f;
    struct table_def d;
    struct storage_txn *t;
    struct value item, pk = fx_str("a"), sk1 = fx_str("1"), sk2 = fx_str("2");
    uint64_t applied;

    fx_open(&f);
    d = table_s_s(&f, "keep");
    assert_int_equal(fx_put(&f, "keep", fx_map(&f, 3, "p", pk, "s", sk1, "v", value_int(1))), 0);
    fx_reopen(&f);
    t = fx_read(&f);
    assert_int_equal(kv_get(t, &d, &pk, &sk1, &f.a, &item), 0);
    assert_int_equal(item_v(&item), 1);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, 2);

    /* The snapshot does not move until the txn is reset and renewed. */
    assert_int_equal(fx_put(&f, "keep", fx_map(&f, 3, "p", pk, "s", sk2, "v", value_int(2))), 0);
    assert_int_equal(kv_get(t, &d, &pk, &sk2, &f.a, &item), CR_ENOTFOUND);
    storage_read_reset(t);
    assert_int_equal(storage_read_renew(t), 0);
    assert_int_equal(kv_get(t, &d, &pk, &sk2, &f.a, &item), 0);
    assert_int_equal(item_v(&item), 2);
    assert_int_equal(storage_applied_index(t, &applied), 0);
    assert_int_equal(applied, 3);
    storage_read_end(t);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_delete),           cmocka_unit_test(key_validation),
        cmocka_unit_test(item_size_limit),          cmocka_unit_test(long_keys),
        cmocka_unit_test(collision_policy),         cmocka_unit_test(query_property_strings),
        cmocka_unit_test(query_property_numbers),   cmocka_unit_test(query_errors),
        cmocka_unit_test(scan_paging_and_segments), cmocka_unit_test(page_byte_bound),
        cmocka_unit_test(stats_follow_writes),      cmocka_unit_test(reopen_and_renew),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
