/* wire.c: every value type both ways, the rejects (depth, set types, decimals, UTF-8, missing
 * kinds), schemas, conditions and log entries, DynamoDB expressions and their hooks included. */
#include "common/error.h"
#include "server/ddb_hook.h"
#include "server/wire.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct cr_arena arena;

static int setup(void **state)
{
    cr_arena_init(&arena, 0);
    return 0;
}

static int teardown(void **state)
{
    cr_arena_free(&arena);
    return 0;
}

static struct value dec(const char *s)
{
    struct value v = {.type = VT_DECIMAL};
    assert_int_equal(decimal_parse(s, strlen(s), &v.u.dec), 0);
    return v;
}

static struct value str(const char *s)
{
    return value_string(s, strlen(s));
}

/* value -> Value -> bytes -> Value -> value, which must equal the original and keep its type. */
static void roundtrip(const struct value *v)
{
    Cirrus__Value *pb, *back_pb;
    struct value back;
    ProtobufCAllocator pa;
    struct errmsg e;
    uint8_t *buf;
    size_t len;

    assert_int_equal(wire_value_to_pb(v, &arena, &pb), 0);
    len = cirrus__value__get_packed_size(pb);
    buf = cr_arena_alloc(&arena, len + 1);
    assert_int_equal(cirrus__value__pack(pb, buf), len);
    wire_allocator(&pa, &arena);
    back_pb = cirrus__value__unpack(&pa, len, buf);
    assert_non_null(back_pb);
    assert_int_equal(wire_value_from_pb(back_pb, &arena, &back, &e), 0);
    assert_int_equal(back.type, v->type);
    assert_true(value_equal(&back, v));
}

static void test_roundtrip_every_type(void **state)
{
    struct value items[3], fields_v[3], inner_v, set_items[3];
    struct value_field fields[3], inner_f;
    struct value v;
    static const uint8_t raw[] = {0, 1, 2, 0xff};

    roundtrip(&(struct value){.type = VT_NULL});
    roundtrip(&(struct value){.type = VT_BOOL, .u.b = true});
    roundtrip(&(struct value){.type = VT_INT, .u.i = -9007199254740993LL});
    roundtrip(&(struct value){.type = VT_DOUBLE, .u.d = -0.125});
    v = dec("-12.5");
    roundtrip(&v);
    v = dec("12345678901234567890123456789012345678");
    roundtrip(&v);
    v = str("h\xc3\xa9llo \xf0\x9f\x98\x80");
    roundtrip(&v);
    v = value_bytes(raw, sizeof raw);
    roundtrip(&v);
    roundtrip(&(struct value){.type = VT_TIMESTAMP, .u.ts = {-5, 999999999}});
    roundtrip(&(struct value){.type = VT_GEOPOINT, .u.geo = {-90.0, 180.0}});
    v = (struct value){.type = VT_REF, .u.s = {"projects/p/docs/a", 17}};
    roundtrip(&v);

    items[0] = value_int(1);
    items[1] = str("two");
    items[2] = (struct value){.type = VT_NULL};
    v = (struct value){.type = VT_ARRAY, .u.arr = {items, 3}};
    roundtrip(&v);
    v = (struct value){.type = VT_ARRAY, .u.arr = {NULL, 0}};
    roundtrip(&v);

    inner_v = value_bool(true);
    inner_f = (struct value_field){"c", 1, &inner_v};
    fields_v[0] = value_int(1);
    fields_v[1] = (struct value){.type = VT_MAP, .u.map = {&inner_f, 1}};
    fields_v[2] = (struct value){.type = VT_ARRAY, .u.arr = {items, 2}};
    fields[0] = (struct value_field){"a", 1, &fields_v[0]};
    fields[1] = (struct value_field){"b", 1, &fields_v[1]};
    fields[2] = (struct value_field){"list", 4, &fields_v[2]};
    v = (struct value){.type = VT_MAP, .u.map = {fields, 3}};
    roundtrip(&v);

    set_items[0] = str("a");
    set_items[1] = str("b");
    v = (struct value){.type = VT_SS, .u.arr = {set_items, 2}};
    roundtrip(&v);
    set_items[0] = value_int(3);
    set_items[1] = dec("4.5");
    set_items[2] = value_double(6.25);
    v = (struct value){.type = VT_NS, .u.arr = {set_items, 3}};
    roundtrip(&v);
    set_items[0] = value_bytes(raw, 2);
    set_items[1] = value_bytes(raw + 2, 2);
    v = (struct value){.type = VT_BS, .u.arr = {set_items, 2}};
    roundtrip(&v);
}

/* A Value nesting `depth` arrays around an int. */
static Cirrus__Value *nested(int depth)
{
    Cirrus__Value *v = cr_arena_alloc(&arena, sizeof *v);

    cirrus__value__init(v);
    if (depth == 0) {
        v->kind_case = CIRRUS__VALUE__KIND_INT_VALUE;
        v->int_value = 1;
        return v;
    }
    v->kind_case = CIRRUS__VALUE__KIND_ARRAY_VALUE;
    v->array_value = cr_arena_alloc(&arena, sizeof *v->array_value);
    cirrus__array_value__init(v->array_value);
    v->array_value->n_values = 1;
    v->array_value->values = cr_arena_alloc(&arena, sizeof(Cirrus__Value *));
    v->array_value->values[0] = nested(depth - 1);
    return v;
}

static int from_pb(Cirrus__Value *pb, struct errmsg *e)
{
    struct value v;
    return wire_value_from_pb(pb, &arena, &v, e);
}

static void test_depth(void **state)
{
    struct errmsg e;

    assert_int_equal(from_pb(nested(32), &e), 0);
    assert_int_equal(from_pb(nested(33), &e), CR_ENESTING);
    assert_non_null(strstr(e.text, "32"));
}

static Cirrus__Value *scalar(Cirrus__Value__KindCase k)
{
    Cirrus__Value *v = cr_arena_alloc(&arena, sizeof *v);

    cirrus__value__init(v);
    v->kind_case = k;
    switch (k) {
    case CIRRUS__VALUE__KIND_STRING_VALUE:
        v->string_value.data = (uint8_t *)"s";
        v->string_value.len = 1;
        break;
    case CIRRUS__VALUE__KIND_DECIMAL_VALUE:
        v->decimal_value = "1.5";
        break;
    case CIRRUS__VALUE__KIND_BYTES_VALUE:
        v->bytes_value.data = (uint8_t *)"b";
        v->bytes_value.len = 1;
        break;
    default:
        v->int_value = 7;
        break;
    }
    return v;
}

static Cirrus__Value *set_of(Cirrus__Value__KindCase set, Cirrus__Value *a, Cirrus__Value *b)
{
    Cirrus__Value *v = cr_arena_alloc(&arena, sizeof *v);
    Cirrus__ArrayValue *arr = cr_arena_alloc(&arena, sizeof *arr);

    cirrus__value__init(v);
    cirrus__array_value__init(arr);
    arr->n_values = 2;
    arr->values = cr_arena_alloc(&arena, 2 * sizeof(Cirrus__Value *));
    arr->values[0] = a;
    arr->values[1] = b;
    v->kind_case = set;
    v->string_set = arr; /* the union's three set members share the slot */
    return v;
}

static void test_set_types(void **state)
{
    struct errmsg e;

    assert_int_equal(
        from_pb(set_of(CIRRUS__VALUE__KIND_STRING_SET, scalar(CIRRUS__VALUE__KIND_STRING_VALUE),
                       scalar(CIRRUS__VALUE__KIND_INT_VALUE)),
                &e),
        CR_ETYPE);
    assert_non_null(strstr(e.text, "string set element 1"));
    assert_int_equal(
        from_pb(set_of(CIRRUS__VALUE__KIND_NUMBER_SET, scalar(CIRRUS__VALUE__KIND_INT_VALUE),
                       scalar(CIRRUS__VALUE__KIND_DECIMAL_VALUE)),
                &e),
        0);
    assert_int_equal(
        from_pb(set_of(CIRRUS__VALUE__KIND_NUMBER_SET, scalar(CIRRUS__VALUE__KIND_INT_VALUE),
                       scalar(CIRRUS__VALUE__KIND_STRING_VALUE)),
                &e),
        CR_ETYPE);
    assert_int_equal(
        from_pb(set_of(CIRRUS__VALUE__KIND_BINARY_SET, scalar(CIRRUS__VALUE__KIND_BYTES_VALUE),
                       scalar(CIRRUS__VALUE__KIND_STRING_VALUE)),
                &e),
        CR_ETYPE);
    /* A set of arrays is not a set. */
    assert_int_equal(from_pb(set_of(CIRRUS__VALUE__KIND_STRING_SET, nested(1), nested(1)), &e),
                     CR_ETYPE);
}

static void test_scalar_rejects(void **state)
{
    Cirrus__Value v = CIRRUS__VALUE__INIT;
    Cirrus__Timestamp ts = CIRRUS__TIMESTAMP__INIT;
    Cirrus__GeoPoint geo = CIRRUS__GEO_POINT__INIT;
    struct errmsg e;
    struct value out;

    assert_int_equal(from_pb(&v, &e), CR_EINVAL); /* no kind */
    v.kind_case = CIRRUS__VALUE__KIND_DECIMAL_VALUE;
    v.decimal_value = "1.2.3";
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    v.decimal_value = "";
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    v.decimal_value = "123456789012345678901234567890123456789";
    assert_int_equal(from_pb(&v, &e), CR_ENUMBER);
    v.decimal_value = "1e200";
    assert_int_equal(from_pb(&v, &e), CR_ENUMBER);
    v.decimal_value = "-0.000125";
    assert_int_equal(wire_value_from_pb(&v, &arena, &out, &e), 0);
    assert_int_equal(out.type, VT_DECIMAL);

    v.kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
    v.string_value.data = (uint8_t *)"bad \xff utf8";
    v.string_value.len = strlen("bad \xff utf8");
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    v.kind_case = CIRRUS__VALUE__KIND_TIMESTAMP_VALUE;
    v.timestamp_value = &ts;
    ts.nanos = 1000000000;
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    ts.nanos = -1;
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    v.kind_case = CIRRUS__VALUE__KIND_GEOPOINT_VALUE;
    v.geopoint_value = &geo;
    geo.latitude = 90.5;
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    geo.latitude = NAN;
    assert_int_equal(from_pb(&v, &e), CR_EINVAL);
    v.kind_case = CIRRUS__VALUE__KIND_NULL_VALUE;
    v.null_value = 0; /* any value of the field means NULL */
    assert_int_equal(wire_value_from_pb(&v, &arena, &out, &e), 0);
    assert_int_equal(out.type, VT_NULL);
}

static void test_map_rejects(void **state)
{
    Cirrus__MapValue m = CIRRUS__MAP_VALUE__INIT;
    Cirrus__Field f = CIRRUS__FIELD__INIT;
    Cirrus__Field *fp = &f;
    struct value out;
    struct errmsg e;

    m.n_fields = 1;
    m.fields = &fp;
    f.name = "x";
    assert_int_equal(wire_map_from_pb(&m, &arena, &out, &e), CR_EINVAL); /* no value */
    assert_non_null(strstr(e.text, "'x' has no value"));
    f.value = scalar(CIRRUS__VALUE__KIND_INT_VALUE);
    f.name = "\xc0\x80";
    assert_int_equal(wire_map_from_pb(&m, &arena, &out, &e), CR_EINVAL);
    f.name = "ok";
    assert_int_equal(wire_map_from_pb(&m, &arena, &out, &e), 0);
    assert_int_equal(out.type, VT_MAP);
    assert_int_equal(out.u.map.n, 1);
}

static void test_utf8(void **state)
{
    assert_true(wire_utf8_valid("", 0));
    assert_true(wire_utf8_valid("\xe2\x82\xac", 3));
    assert_true(wire_utf8_valid("\xf4\x8f\xbf\xbf", 4));
    assert_false(wire_utf8_valid("\xc0\x80", 2));         /* overlong */
    assert_false(wire_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(wire_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(wire_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(wire_utf8_valid("\x80", 1));
}

static void test_schema(void **state)
{
    Cirrus__TableSchema s = CIRRUS__TABLE_SCHEMA__INIT, *back;
    Cirrus__KeyAttribute pk = CIRRUS__KEY_ATTRIBUTE__INIT, sk = CIRRUS__KEY_ATTRIBUTE__INIT;
    struct table_def def, def2;
    struct errmsg e;
    char longname[300];

    s.name = "users";
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), CR_ESCHEMA);
    s.partition_key = &pk;
    pk.name = "id";
    pk.type = CIRRUS__KEY_TYPE__KEY_TYPE_N;
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), 0);
    assert_false(def.has_sk);
    assert_int_equal(def.pk_type, KEY_N);
    s.sort_key = &sk;
    sk.name = "id";
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), CR_ESCHEMA);
    sk.name = "";
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), CR_ESCHEMA);
    sk.name = "ts";
    sk.type = (Cirrus__KeyType)7;
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), CR_ESCHEMA);
    sk.type = CIRRUS__KEY_TYPE__KEY_TYPE_B;
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), 0);
    assert_true(def.has_sk);
    assert_string_equal(def.sk_name, "ts");
    assert_int_equal(def.sk_type, KEY_B);

    assert_int_equal(wire_schema_to_pb(&def, &arena, &back), 0);
    assert_int_equal(wire_schema_from_pb(back, &def2, &e), 0);
    assert_string_equal(def2.name, "users");
    assert_string_equal(def2.pk_name, "id");
    assert_int_equal(def2.pk_type, KEY_N);
    assert_string_equal(def2.sk_name, "ts");

    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    s.name = longname;
    assert_int_equal(wire_schema_from_pb(&s, &def, &e), CR_ENAME);
}

static void test_log_entry(void **state)
{
    struct mutation m[4];
    struct value kv, vv, cv;
    struct value_field kf[2];
    struct log_batch b;
    struct errmsg e;
    uint8_t *bytes;
    size_t len;

    memset(m, 0, sizeof m);
    m[0].type = MUT_CREATE_TABLE;
    strcpy(m[0].table.name, "things");
    strcpy(m[0].table.pk_name, "k");
    m[0].table.pk_type = KEY_S;

    kv = str("key1");
    vv = value_int(5);
    kf[0] = (struct value_field){"k", 1, &kv};
    kf[1] = (struct value_field){"v", 1, &vv};
    m[1].type = MUT_PUT;
    strcpy(m[1].table.name, "things");
    m[1].item = (struct value){.type = VT_MAP, .u.map = {kf, 2}};
    cv = value_int(4);
    m[1].cond = (struct condition){COND_EQUALS, "v", 1, cv};
    m[1].return_old = true;

    m[2].type = MUT_DELETE;
    strcpy(m[2].table.name, "things");
    m[2].key = (struct value){.type = VT_MAP, .u.map = {kf, 1}};
    m[2].cond.type = COND_EXISTS;

    m[3].type = MUT_DELETE_TABLE;
    strcpy(m[3].table.name, "things");

    assert_int_equal(wire_log_entry_encode(1234567, m, 4, &arena, &bytes, &len), 0);
    assert_int_equal(wire_log_entry_decode(bytes, len, &arena, &b, &e), 0);
    assert_int_equal(b.time_ms, 1234567);
    assert_int_equal(b.n, 4);
    assert_int_equal(b.muts[0].type, MUT_CREATE_TABLE);
    assert_string_equal(b.muts[0].table.name, "things");
    assert_string_equal(b.muts[0].table.pk_name, "k");
    assert_int_equal(b.muts[1].type, MUT_PUT);
    assert_true(value_equal(&b.muts[1].item, &m[1].item));
    assert_int_equal(b.muts[1].cond.type, COND_EQUALS);
    assert_int_equal(b.muts[1].cond.attr_len, 1);
    assert_true(value_equal(&b.muts[1].cond.value, &cv));
    assert_true(b.muts[1].return_old);
    assert_int_equal(b.muts[2].type, MUT_DELETE);
    assert_true(value_equal(&b.muts[2].key, &m[2].key));
    assert_int_equal(b.muts[2].cond.type, COND_EXISTS);
    assert_int_equal(b.muts[3].type, MUT_DELETE_TABLE);
    assert_string_equal(b.muts[3].table.name, "things");

    assert_int_equal(wire_log_entry_decode((const uint8_t *)"\xff\xff", 2, &arena, &b, &e),
                     CR_EPROTO);
}

static void assert_index_equal(const struct index_def *a, const struct index_def *b)
{
    assert_string_equal(a->key.name, b->key.name);
    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->key.pk_name, b->key.pk_name);
    assert_int_equal(a->key.pk_type, b->key.pk_type);
    assert_int_equal(a->key.has_sk, b->key.has_sk);
    if (a->key.has_sk) {
        assert_string_equal(a->key.sk_name, b->key.sk_name);
        assert_int_equal(a->key.sk_type, b->key.sk_type);
    }
    assert_int_equal(a->projection, b->projection);
    assert_int_equal(a->n_include, b->n_include);
    for (size_t i = 0; i < a->n_include; i++)
        assert_string_equal(a->include[i], b->include[i]);
}

/* Table mutations carry their indexes: CreateTable with a GSI and an LSI, UpdateTable adding a
 * GSI and dropping another. */
static void test_log_entry_indexes(void **state)
{
    static const char *const include[] = {"a", "bee"};
    static const char *const drop[] = {"old-index"};
    struct index_def idx[2];
    struct mutation m[2];
    struct log_batch b;
    struct errmsg e;
    uint8_t *bytes;
    size_t len;

    (void)state;
    memset(idx, 0, sizeof idx);
    strcpy(idx[0].key.name, "by_g");
    idx[0].kind = INDEX_GSI;
    strcpy(idx[0].key.pk_name, "g");
    idx[0].key.pk_type = KEY_N;
    idx[0].projection = PROJ_INCLUDE;
    idx[0].include = include;
    idx[0].n_include = 2;
    strcpy(idx[1].key.name, "by_l");
    idx[1].kind = INDEX_LSI;
    strcpy(idx[1].key.pk_name, "k");
    strcpy(idx[1].key.sk_name, "l");
    idx[1].key.has_sk = true;
    idx[1].key.sk_type = KEY_B;
    idx[1].projection = PROJ_KEYS_ONLY;
    memset(m, 0, sizeof m);
    m[0].type = MUT_CREATE_TABLE;
    strcpy(m[0].table.name, "things");
    strcpy(m[0].table.pk_name, "k");
    strcpy(m[0].table.sk_name, "s");
    m[0].table.has_sk = true;
    m[0].indexes = idx;
    m[0].n_indexes = 2;
    m[1].type = MUT_UPDATE_TABLE;
    strcpy(m[1].table.name, "things");
    m[1].indexes = idx;
    m[1].n_indexes = 1;
    m[1].drop = drop;
    m[1].n_drop = 1;

    assert_int_equal(wire_log_entry_encode(7, m, 2, &arena, &bytes, &len), 0);
    assert_int_equal(wire_log_entry_decode(bytes, len, &arena, &b, &e), 0);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.muts[0].type, MUT_CREATE_TABLE);
    assert_int_equal(b.muts[0].n_indexes, 2);
    assert_index_equal(&b.muts[0].indexes[0], &idx[0]);
    assert_index_equal(&b.muts[0].indexes[1], &idx[1]);
    assert_int_equal(b.muts[0].n_drop, 0);
    assert_int_equal(b.muts[1].type, MUT_UPDATE_TABLE);
    assert_string_equal(b.muts[1].table.name, "things");
    assert_int_equal(b.muts[1].n_indexes, 1);
    assert_index_equal(&b.muts[1].indexes[0], &idx[0]);
    assert_int_equal(b.muts[1].n_drop, 1);
    assert_string_equal(b.muts[1].drop[0], "old-index");
    assert_null(b.token);
    assert_int_equal(b.token_len, 0);
}

/* A key map {id: s}. */
static struct value key_of(const char *s)
{
    struct value_field *f = cr_arena_alloc(&arena, sizeof *f);
    struct value *v = cr_arena_alloc(&arena, sizeof *v);

    assert_non_null(f);
    assert_non_null(v);
    *v = str(s);
    *f = (struct value_field){"id", 2, v};
    return (struct value){.type = VT_MAP, .u.map = {f, 1}};
}

/* An entry's idempotency token and request hash travel with it; none decodes as NULL. */
static void test_log_entry_token(void **state)
{
    struct wire_token tok = {"tok-1", 5, 0xfeedface12345678ull};
    struct mutation m;
    struct log_batch b;
    struct errmsg e;
    uint8_t *bytes;
    size_t len;

    (void)state;
    memset(&m, 0, sizeof m);
    m.type = MUT_DELETE;
    strcpy(m.table.name, "things");
    m.key = key_of("a");
    assert_int_equal(wire_log_entry_encode_token(9, &tok, &m, 1, &arena, &bytes, &len), 0);
    assert_int_equal(wire_log_entry_decode(bytes, len, &arena, &b, &e), 0);
    assert_int_equal(b.time_ms, 9);
    assert_int_equal(b.token_len, 5);
    assert_memory_equal(b.token, "tok-1", 5);
    assert_int_equal(b.request_hash, 0xfeedface12345678ull);
    assert_int_equal(b.n, 1);
}

/* Expressions travel as text with their placeholders and come back parsed into hooks that
 * evaluate as the originals do. */
static void test_log_entry_expressions(void **state)
{
    static const struct value one = {.type = VT_INT, .u.i = 1};
    static const struct ddb_name names[] = {{"#n", 2, "n", 1}};
    static const struct ddb_value values[] = {{":one", 4, &one}};
    struct ddb_hook h = {.condition = "attribute_not_exists(#n) OR #n < :one",
                         .condition_len = 37,
                         .update = "ADD #n :one",
                         .update_len = 11,
                         .names = names,
                         .n_names = 1,
                         .values = values,
                         .n_values = 1};
    struct ddb_hook c = {.condition = "attribute_exists(id)", .condition_len = 20};
    struct ddb_err err;
    struct mutation m[2];
    struct log_batch b;
    struct errmsg e;
    struct value next;
    const struct ddb_hook *got;
    uint8_t *bytes;
    size_t len;
    bool ok;
    char msg[CR_MUT_MSG_MAX];

    memset(m, 0, sizeof m);
    m[0].type = MUT_UPDATE;
    snprintf(m[0].table.name, sizeof m[0].table.name, "tbl");
    m[0].key = key_of("k");
    m[0].item.type = VT_NULL;
    m[0].return_new = true;
    m[0].return_old_on_fail = true;
    assert_int_equal(ddb_hook_parse(&h, &m[0].key, &arena, &err), 0);
    ddb_hook_install(&h, &m[0]);
    m[1].type = MUT_CHECK;
    snprintf(m[1].table.name, sizeof m[1].table.name, "tbl");
    m[1].key = key_of("j");
    m[1].item.type = VT_NULL;
    assert_int_equal(ddb_hook_parse(&c, &m[1].key, &arena, &err), 0);
    ddb_hook_install(&c, &m[1]);

    assert_int_equal(wire_log_entry_encode(5, m, 2, &arena, &bytes, &len), 0);
    assert_int_equal(wire_log_entry_decode(bytes, len, &arena, &b, &e), 0);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.muts[0].type, MUT_UPDATE);
    assert_true(b.muts[0].return_new);
    assert_true(b.muts[0].return_old_on_fail);
    assert_false(b.muts[0].return_old);
    got = b.muts[0].hook.ctx;
    assert_non_null(got);
    assert_memory_equal(got->condition, h.condition, h.condition_len);
    assert_int_equal(got->update_len, h.update_len);
    assert_int_equal(got->n_names, 1);
    assert_int_equal(got->n_values, 1);
    assert_true(value_equal(got->values[0].value, &one));
    assert_true(value_equal(&b.muts[0].key, &m[0].key));

    /* The decoded hooks: an absent item passes the check and is created with its key. */
    assert_int_equal(b.muts[0].hook.check(got, NULL, &ok, msg, sizeof msg), 0);
    assert_true(ok);
    assert_int_equal(b.muts[0].hook.update(got, NULL, &arena, &next, msg, sizeof msg), 0);
    assert_true(value_equal(value_map_get(&next, "id", 2), value_map_get(&m[0].key, "id", 2)));
    assert_true(value_equal(value_map_get(&next, "n", 1), &one));
    assert_int_equal(b.muts[1].type, MUT_CHECK);
    assert_null(b.muts[1].hook.update);
    assert_int_equal(b.muts[1].hook.check(b.muts[1].hook.ctx, NULL, &ok, msg, sizeof msg), 0);
    assert_false(ok);

    /* An update or check without its hook cannot be encoded. */
    m[1].hook.ctx = NULL;
    assert_int_equal(wire_log_entry_encode(5, &m[1], 1, &arena, &bytes, &len), CR_EINVAL);
}

/* Collections and documents in the log: every document mutation with its preconditions and
 * patch operations survives encode + decode; bad ones are refused by decode. */
static void test_log_entry_documents(void **state)
{
    static const char *const inc[] = {"/*"}, *const exc[] = {"/big/?"};
    static const struct composite_path cps[] = {{"/a", false}, {"/b", true}};
    struct composite_def comp = {0, cps, 2};
    struct mutation m[5];
    struct value id, n5, body;
    struct value_field bf[1];
    struct doc_seg segs[2] = {{SEG_FIELD, "tags", 4, 0}, {SEG_POSITION, NULL, 0, 3}};
    struct patch_op ops[2];
    struct log_batch b;
    struct errmsg e;
    uint8_t *bytes;
    size_t len;

    memset(m, 0, sizeof m);
    m[0].type = MUT_CREATE_COLLECTION;
    strcpy(m[0].coll.db, "shop");
    strcpy(m[0].coll.name, "orders");
    strcpy(m[0].coll.pk_path, "/tenant");
    m[0].coll.policy = (struct indexing_policy){true, inc, 1, exc, 1, &comp, 1};

    id = str("o1");
    bf[0] = (struct value_field){"id", 2, &id};
    body = (struct value){.type = VT_MAP, .u.map = {bf, 1}};
    m[1].type = MUT_DOC_REPLACE;
    strcpy(m[1].coll.db, "shop");
    strcpy(m[1].coll.name, "orders");
    m[1].item = body;
    m[1].return_new = true;
    m[1].pre = (struct doc_precond){PRE_EXISTS, "\"etag\"", 6, true, 99};

    n5 = value_int(5);
    ops[0] = (struct patch_op){PATCH_INCREMENT, {segs, 1}, n5, false};
    ops[1] = (struct patch_op){PATCH_REMOVE, {segs, 2}, {.type = VT_NULL}, true};
    m[2].type = MUT_DOC_PATCH;
    strcpy(m[2].coll.db, "shop");
    strcpy(m[2].coll.name, "orders");
    m[2].doc_key = (struct doc_key){true, str("t1"), id};
    m[2].patch = ops;
    m[2].n_patch = 2;

    m[3].type = MUT_DOC_DELETE;
    strcpy(m[3].coll.db, "shop");
    strcpy(m[3].coll.name, "orders");
    m[3].doc_key = (struct doc_key){false, {.type = VT_NULL}, id};
    m[3].pre.exists = PRE_NOT_EXISTS;

    m[4].type = MUT_DROP_COLLECTION;
    strcpy(m[4].coll.db, "shop");
    strcpy(m[4].coll.name, "orders");

    assert_int_equal(wire_log_entry_encode(7, m, 5, &arena, &bytes, &len), 0);
    assert_int_equal(wire_log_entry_decode(bytes, len, &arena, &b, &e), 0);
    assert_int_equal(b.n, 5);
    assert_int_equal(b.muts[0].type, MUT_CREATE_COLLECTION);
    assert_string_equal(b.muts[0].coll.db, "shop");
    assert_string_equal(b.muts[0].coll.pk_path, "/tenant");
    assert_true(b.muts[0].coll.policy.automatic);
    assert_int_equal(b.muts[0].coll.policy.n_include, 1);
    assert_string_equal(b.muts[0].coll.policy.exclude[0], "/big/?");
    assert_int_equal(b.muts[0].coll.policy.n_composite, 1);
    assert_int_equal(b.muts[0].coll.policy.composite[0].n, 2);
    assert_string_equal(b.muts[0].coll.policy.composite[0].paths[1].path, "/b");
    assert_true(b.muts[0].coll.policy.composite[0].paths[1].desc);

    assert_int_equal(b.muts[1].type, MUT_DOC_REPLACE);
    assert_string_equal(b.muts[1].coll.name, "orders");
    assert_true(value_equal(&b.muts[1].item, &body));
    assert_true(b.muts[1].return_new);
    assert_int_equal(b.muts[1].pre.exists, PRE_EXISTS);
    assert_int_equal(b.muts[1].pre.if_match_len, 6);
    assert_memory_equal(b.muts[1].pre.if_match, "\"etag\"", 6);
    assert_true(b.muts[1].pre.has_update_ms);
    assert_int_equal(b.muts[1].pre.update_ms, 99);

    assert_int_equal(b.muts[2].type, MUT_DOC_PATCH);
    assert_true(b.muts[2].doc_key.has_pk);
    assert_true(value_equal(&b.muts[2].doc_key.pk, &m[2].doc_key.pk));
    assert_true(value_equal(&b.muts[2].doc_key.id, &id));
    assert_int_equal(b.muts[2].n_patch, 2);
    assert_int_equal(b.muts[2].patch[0].kind, PATCH_INCREMENT);
    assert_true(value_equal(&b.muts[2].patch[0].value, &n5));
    assert_int_equal(b.muts[2].patch[1].kind, PATCH_REMOVE);
    assert_true(b.muts[2].patch[1].must_exist);
    assert_int_equal(b.muts[2].patch[1].path.n, 2);
    assert_int_equal(b.muts[2].patch[1].path.segs[0].kind, SEG_FIELD);
    assert_memory_equal(b.muts[2].patch[1].path.segs[0].name, "tags", 4);
    assert_int_equal(b.muts[2].patch[1].path.segs[1].kind, SEG_POSITION);
    assert_int_equal(b.muts[2].patch[1].path.segs[1].pos, 3);

    assert_int_equal(b.muts[3].type, MUT_DOC_DELETE);
    assert_false(b.muts[3].doc_key.has_pk);
    assert_int_equal(b.muts[3].pre.exists, PRE_NOT_EXISTS);
    assert_null(b.muts[3].pre.if_match);
    assert_int_equal(b.muts[4].type, MUT_DROP_COLLECTION);
    assert_string_equal(b.muts[4].coll.name, "orders");

    /* decode validates: a patch path with "[]", an unknown kind, an empty id, a missing body */
    {
        Cirrus__LogEntry entry = CIRRUS__LOG_ENTRY__INIT;
        Cirrus__Mutation mu = CIRRUS__MUTATION__INIT, *mus[1] = {&mu};
        Cirrus__DocMutation dm = CIRRUS__DOC_MUTATION__INIT;
        Cirrus__CollectionSchema cs = CIRRUS__COLLECTION_SCHEMA__INIT;
        Cirrus__DocKey key = CIRRUS__DOC_KEY__INIT;
        Cirrus__PatchOp op = CIRRUS__PATCH_OP__INIT, *opp[1] = {&op};
        uint8_t buf[512];

        entry.mutations = mus;
        entry.n_mutations = 1;
        mu.doc = &dm;
        dm.collection = &cs;
        cs.name = "orders";
        mu.type = CIRRUS__MUTATION_TYPE__MUTATION_DOC_PATCH;
        dm.key = &key;
        key.id = "o1";
        dm.patch = opp;
        dm.n_patch = 1;
        op.kind = CIRRUS__PATCH_KIND__PATCH_REMOVE;
        op.path = "/tags/[]";
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EINVAL);
        op.path = "/tags";
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), 0);
        assert_string_equal(b.muts[0].coll.db, WIRE_DEFAULT_DB);
        op.kind = (Cirrus__PatchKind)42;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EINVAL);
        op.kind = CIRRUS__PATCH_KIND__PATCH_SET; /* a SET without a value */
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EINVAL);
        op.kind = CIRRUS__PATCH_KIND__PATCH_REMOVE;
        key.id = "";
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EINVAL);
        mu.type = CIRRUS__MUTATION_TYPE__MUTATION_DOC_UPSERT;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EPROTO);
        mu.doc = NULL;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EPROTO);
    }
}

static void test_log_entry_graphs(void **state)
{
    struct mutation m[8];
    struct graph_prop props[2];
    struct log_batch b;
    struct errmsg e;
    uint8_t *bytes;
    size_t len;
    static const enum mut_type types[8] = {MUT_CREATE_GRAPH,          MUT_GRAPH_ADD_VERTEX,
                                           MUT_GRAPH_ADD_EDGE,        MUT_GRAPH_SET_PROPERTY,
                                           MUT_GRAPH_REMOVE_PROPERTY, MUT_GRAPH_DROP_EDGE,
                                           MUT_GRAPH_DROP_VERTEX,     MUT_DROP_GRAPH};

    (void)state;
    memset(m, 0, sizeof m);
    for (size_t i = 0; i < 8; i++) {
        m[i].type = types[i];
        strcpy(m[i].graph.name, "social");
    }
    props[0] = (struct graph_prop){str("name"), {.type = VT_NULL}, str("alice")};
    props[1] = (struct graph_prop){str("age"), {.type = VT_NULL}, value_int(30)};
    m[1].graph.id = str("a");
    m[1].graph.label = str("person");
    m[1].graph.props = props;
    m[1].graph.n_props = 2;
    m[2].graph.label = str("knows"); /* no id: apply generates one */
    m[2].graph.out_v = str("a");
    m[2].graph.in_v = str("b");
    m[3].graph.id = str("a");
    m[3].graph.key = str("nick");
    m[3].graph.value = str("al");
    m[3].graph.list = true;
    m[4].graph.id = str("e1");
    m[4].graph.edge = true;
    m[4].graph.key = str("since");
    m[5].graph.id = str("e1");
    m[6].graph.id = str("a");

    assert_int_equal(wire_log_entry_encode(3, m, 8, &arena, &bytes, &len), 0);
    assert_int_equal(wire_log_entry_decode(bytes, len, &arena, &b, &e), 0);
    assert_int_equal(b.n, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(b.muts[i].type, types[i]);
        assert_string_equal(b.muts[i].graph.name, "social");
    }
    assert_true(value_equal(&b.muts[1].graph.id, &m[1].graph.id));
    assert_true(value_equal(&b.muts[1].graph.label, &m[1].graph.label));
    assert_int_equal(b.muts[1].graph.n_props, 2);
    assert_true(value_equal(&b.muts[1].graph.props[0].key, &props[0].key));
    assert_true(value_equal(&b.muts[1].graph.props[1].value, &props[1].value));
    assert_int_equal(b.muts[2].graph.id.type, VT_NULL);
    assert_true(value_equal(&b.muts[2].graph.out_v, &m[2].graph.out_v));
    assert_true(value_equal(&b.muts[2].graph.in_v, &m[2].graph.in_v));
    assert_true(b.muts[3].graph.list);
    assert_true(value_equal(&b.muts[3].graph.value, &m[3].graph.value));
    assert_true(b.muts[4].graph.edge);
    assert_int_equal(b.muts[4].graph.prop_id.type, VT_NULL);
    assert_true(value_equal(&b.muts[5].graph.id, &m[5].graph.id));

    /* decode validates: an edge without its in-vertex, a non-string id, an empty label, a null
     * property value, no graph message, an empty graph name */
    {
        Cirrus__LogEntry entry = CIRRUS__LOG_ENTRY__INIT;
        Cirrus__Mutation mu = CIRRUS__MUTATION__INIT, *mus[1] = {&mu};
        Cirrus__GraphMutation gm = CIRRUS__GRAPH_MUTATION__INIT;
        Cirrus__Value out_v = CIRRUS__VALUE__INIT, label = CIRRUS__VALUE__INIT;
        Cirrus__Value num = CIRRUS__VALUE__INIT, nul = CIRRUS__VALUE__INIT;
        Cirrus__GraphProperty p = CIRRUS__GRAPH_PROPERTY__INIT, *pp[1] = {&p};
        uint8_t buf[512];

        entry.mutations = mus;
        entry.n_mutations = 1;
        mu.graph = &gm;
        mu.type = CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_ADD_EDGE;
        gm.graph = "social";
        out_v.kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
        out_v.string_value = (ProtobufCBinaryData){1, (uint8_t *)"a"};
        label.kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
        label.string_value = (ProtobufCBinaryData){5, (uint8_t *)"knows"};
        num.kind_case = CIRRUS__VALUE__KIND_INT_VALUE;
        num.int_value = 7;
        nul.kind_case = CIRRUS__VALUE__KIND_NULL_VALUE;
        gm.out_v = &out_v;
        gm.label = &label;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EPROTO);
        gm.in_v = &out_v;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), 0);
        assert_int_equal(b.muts[0].type, MUT_GRAPH_ADD_EDGE);
        gm.id = &num;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_ETYPE);
        gm.id = NULL;
        label.string_value.len = 0;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EINVAL);
        label.string_value.len = 5;
        gm.properties = pp;
        gm.n_properties = 1;
        p.key = &label;
        p.value = &nul;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_ETYPE);
        gm.n_properties = 0;
        gm.graph = "";
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_ENAME);
        mu.graph = NULL;
        len = cirrus__log_entry__pack(&entry, buf);
        assert_int_equal(wire_log_entry_decode(buf, len, &arena, &b, &e), CR_EPROTO);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_set_types),
        cmocka_unit_test(test_scalar_rejects),
        cmocka_unit_test(test_map_rejects),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_log_entry),
        cmocka_unit_test(test_log_entry_expressions),
        cmocka_unit_test(test_log_entry_indexes),
        cmocka_unit_test(test_log_entry_token),
        cmocka_unit_test(test_log_entry_documents),
        cmocka_unit_test(test_log_entry_graphs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
