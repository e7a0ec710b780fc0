/*
 * libFuzzer target: DynamoDB expressions (query/ddb_*). The input is parsed as every expression
 * kind with a fixed set of placeholders; whatever parses is evaluated, projected or applied to a
 * fixed item. It must never crash; every failure must carry a message; an update's result must
 * encode as a stored item.
 */
#include "common/assert.h"
#include "query/ddb_expr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct value v_n, v_s, v_b, v_l, v_ss, v_ns, v_m, v_t, item;
static struct value l_items[2], ss_items[2], ns_items[2], m_vals[2], i_vals[6];
static struct value_field m_fields[2], i_fields[6];

static void setup(void)
{
    static bool done;

    if (done)
        return;
    done = true;
    v_n = value_int(5);
    v_s = value_string("ab", 2);
    v_b = value_bytes("\x01", 1);
    v_t = value_string("S", 1);
    l_items[0] = value_int(1);
    l_items[1] = value_string("x", 1);
    v_l = (struct value){.type = VT_ARRAY, .u.arr = {l_items, 2}};
    ss_items[0] = value_string("a", 1);
    ss_items[1] = value_string("b", 1);
    v_ss = (struct value){.type = VT_SS, .u.arr = {ss_items, 2}};
    ns_items[0] = value_int(1);
    ns_items[1] = value_int(2);
    v_ns = (struct value){.type = VT_NS, .u.arr = {ns_items, 2}};
    m_vals[0] = value_int(1);
    m_vals[1] = v_l;
    m_fields[0] = (struct value_field){"x", 1, &m_vals[0]};
    m_fields[1] = (struct value_field){"y", 1, &m_vals[1]};
    v_m = (struct value){.type = VT_MAP, .u.map = {m_fields, 2}};
    i_vals[0] = value_string("k", 1);
    i_vals[1] = v_n;
    i_vals[2] = v_l;
    i_vals[3] = v_m;
    i_vals[4] = v_ss;
    i_vals[5] = v_s;
    i_fields[0] = (struct value_field){"id", 2, &i_vals[0]};
    i_fields[1] = (struct value_field){"l", 1, &i_vals[2]};
    i_fields[2] = (struct value_field){"m", 1, &i_vals[3]};
    i_fields[3] = (struct value_field){"n", 1, &i_vals[1]};
    i_fields[4] = (struct value_field){"s", 1, &i_vals[5]};
    i_fields[5] = (struct value_field){"ss", 2, &i_vals[4]};
    item = (struct value){.type = VT_MAP, .u.map = {i_fields, 6}};
}

static const struct ddb_name names[] = {
    {"#n", 2, "n", 1}, {"#m", 2, "m", 1}, {"#name", 5, "name", 4}, {"#id", 3, "id", 2}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct ddb_value values[] = {{":n", 2, &v_n}, {":s", 2, &v_s},   {":b", 2, &v_b},
                                       {":l", 2, &v_l}, {":ss", 3, &v_ss}, {":ns", 3, &v_ns},
                                       {":m", 2, &v_m}, {":t", 2, &v_t}};
    static const struct ddb_key_schema keys = {"id", 2, "n", 1};
    const char *text = (const char *)data;
    struct cr_arena a;
    struct ddb_ctx ctx;
    struct ddb_err err;
    struct value out, proj;
    struct ddb_cond *c;
    struct ddb_projection *p;
    struct ddb_update *u;
    struct ddb_key_cond kc;
    struct cr_buf buf;
    bool r;
    int rc;

    setup();
    cr_arena_init(&a, 4096);
    cr_buf_init(&buf);
    CR_ASSERT(ddb_ctx_init(&ctx, &a, names, 4, values, 8, &err) == 0);

    rc = ddb_parse_condition(&ctx, DDB_CONDITION, text, size, &c, &err);
    CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
    if (rc == 0) {
        CR_ASSERT(ddb_eval_condition(c, &item, &r, &err) == 0);
        CR_ASSERT(ddb_eval_condition(c, NULL, &r, &err) == 0);
    }
    rc = ddb_parse_key_condition(&ctx, text, size, &keys, &kc, &err);
    CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
    rc = ddb_parse_projection(&ctx, text, size, &p, &err);
    CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
    if (rc == 0)
        CR_ASSERT(ddb_project(p, &item, &a, &out) == 0);
    rc = ddb_parse_update(&ctx, text, size, &keys, &u, &err);
    CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
    if (rc == 0) {
        const struct value *olds[2] = {&item, NULL};
        size_t i;

        for (i = 0; i < 2; i++) {
            rc = ddb_apply_update(u, olds[i], &a, &out, &err);
            CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
            if (rc == 0) {
                cr_buf_reset(&buf);
                /* Duplicate set elements cannot arise; map fields are unique by construction. */
                CR_ASSERT(value_encode(&out, &buf) == 0);
                CR_ASSERT(ddb_update_project(u, &out, &a, &proj) == 0);
            }
        }
    }
    (void)ddb_ctx_check_unused(&ctx, &err);
    cr_buf_free(&buf);
    cr_arena_free(&a);
    return 0;
}
