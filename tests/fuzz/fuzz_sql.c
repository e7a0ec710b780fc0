/*
 * libFuzzer target: the document query language (query/sql_*). The input is a query text. When
 * it parses, its printed text must parse to an equal query (the printer's round trip), and the
 * query runs with a small budget over a few fixed documents and parameters. It must never crash,
 * and every failure must carry a message.
 */
#include "common/assert.h"
#include "query/sql.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
    const struct value *docs;
    size_t n, i;
};

static int src_next(void *ctx, const struct value **doc)
{
    struct src *s = ctx;

    if (s->i == s->n)
        return 0;
    *doc = &s->docs[s->i++];
    return 1;
}

static void check(int rc, const struct sql_err *err)
{
    CR_ASSERT(rc >= 0 || (err->code == rc && err->msg[0]));
}

/* Two documents: {"id": "a", "n": 1, "s": "x", "t": [1, "y", null], "o": {"n": 2.5}} and
 * {"id": "b", "n": null}. */
static void make_docs(struct value *docs, struct value *scratch, struct value_field *f)
{
    scratch[0] = value_string("a", 1);
    scratch[1] = value_int(1);
    scratch[2] = value_string("x", 1);
    scratch[3] = value_int(1);
    scratch[4] = value_string("y", 1);
    scratch[5] = value_null();
    scratch[6].type = VT_ARRAY;
    scratch[6].u.arr.items = &scratch[3];
    scratch[6].u.arr.n = 3;
    scratch[7] = value_double(2.5);
    f[0] = (struct value_field){"n", 1, &scratch[7]};
    scratch[8].type = VT_MAP;
    scratch[8].u.map.fields = &f[0];
    scratch[8].u.map.n = 1;
    f[1] = (struct value_field){"id", 2, &scratch[0]};
    f[2] = (struct value_field){"n", 1, &scratch[1]};
    f[3] = (struct value_field){"s", 1, &scratch[2]};
    f[4] = (struct value_field){"t", 1, &scratch[6]};
    f[5] = (struct value_field){"o", 1, &scratch[8]};
    docs[0].type = VT_MAP;
    docs[0].u.map.fields = &f[1];
    docs[0].u.map.n = 5;
    scratch[9] = value_string("b", 1);
    scratch[10] = value_null();
    f[6] = (struct value_field){"id", 2, &scratch[9]};
    f[7] = (struct value_field){"n", 1, &scratch[10]};
    docs[1].type = VT_MAP;
    docs[1].u.map.fields = &f[6];
    docs[1].u.map.n = 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct value docs[2], scratch[11], pv[3], *out;
    struct value_field f[8];
    struct sql_param params[3];
    struct cr_arena a;
    struct sql_query *q, *q2;
    struct sql_err err;
    struct cr_buf b;
    struct src s = {docs, 2, 0};
    struct sql_source so = {&s, src_next};
    size_t n;
    int rc;

    make_docs(docs, scratch, f);
    pv[0] = value_int(2);
    pv[1] = value_string("x", 1);
    pv[2] = value_null();
    params[0] = (struct sql_param){"@n", 2, &pv[0]};
    params[1] = (struct sql_param){"@s", 2, &pv[1]};
    params[2] = (struct sql_param){"@p", 2, &pv[2]};
    cr_arena_init(&a, 4096);
    cr_buf_init(&b);
    rc = sql_parse(&a, (const char *)data, size, &q, &err);
    check(rc, &err);
    if (rc == 0) {
        CR_ASSERT(sql_print(q, &b) == 0);
        rc = sql_parse(&a, (const char *)b.data, b.len, &q2, &err);
        CR_ASSERT(rc == 0 && sql_query_equal(q, q2));
        rc = sql_exec(q, params, 3, &so, 20000, &a, &out, &n, &err);
        check(rc, &err);
    }
    cr_buf_free(&b);
    cr_arena_free(&a);
    return 0;
}
