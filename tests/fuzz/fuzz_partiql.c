/*
 * libFuzzer target: PartiQL statements (query/partiql_*). The input is parsed with a fixed set
 * of parameters and, when it parses, translated for a table with a partition and a sort key;
 * every text the translation produces goes through ddb_expr's parsers. It must never crash, and
 * every failure must carry a message.
 */
#include "common/assert.h"
#include "query/partiql.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed parse of one translated text must say why. */
static void check(int rc, const struct ddb_err *err)
{
    CR_ASSERT(rc == 0 || (err->code == rc && err->msg[0]));
}

static void parse_texts(const struct partiql_op *op, struct cr_arena *a)
{
    static const struct ddb_key_schema keys = {"pk", 2, "sk", 2};
    struct ddb_ctx ctx;
    struct ddb_err err;
    struct ddb_cond *c;
    struct ddb_update *u;
    struct ddb_projection *p;
    struct ddb_key_cond kc;

    if (ddb_ctx_init(&ctx, a, op->names, op->n_names, op->values, op->n_values, &err) < 0)
        return;
    if (op->projection)
        check(ddb_parse_projection(&ctx, op->projection, strlen(op->projection), &p, &err), &err);
    if (op->key_condition)
        check(ddb_parse_key_condition(&ctx, op->key_condition, strlen(op->key_condition), &keys,
                                      &kc, &err),
              &err);
    if (op->filter)
        check(ddb_parse_condition(&ctx, DDB_FILTER, op->filter, strlen(op->filter), &c, &err),
              &err);
    if (op->condition)
        check(ddb_parse_condition(&ctx, DDB_CONDITION, op->condition, strlen(op->condition), &c,
                                  &err),
              &err);
    if (op->update)
        check(ddb_parse_update(&ctx, op->update, strlen(op->update), &keys, &u, &err), &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct value params[3];
    struct table_def def;
    struct cr_arena a;
    struct partiql_stmt *s;
    struct partiql_op op;
    struct ddb_err err;
    int rc;

    params[0] = value_string("k", 1);
    params[1] = value_int(3);
    params[2] = value_bool(true);
    memset(&def, 0, sizeof def);
    strcpy(def.name, "t");
    strcpy(def.pk_name, "pk");
    strcpy(def.sk_name, "sk");
    def.pk_type = KEY_S;
    def.has_sk = true;
    def.sk_type = KEY_N;
    cr_arena_init(&a, 4096);
    /* The statement takes as many parameters as it has question marks, up to three. */
    for (size_t n = 0; n <= 3; n++) {
        rc = partiql_parse(&a, (const char *)data, size, params, n, &s, &err);
        check(rc, &err);
        if (rc < 0)
            continue;
        rc = partiql_translate(s, &def, &a, &op, &err);
        check(rc, &err);
        if (rc == 0)
            parse_texts(&op, &a);
    }
    cr_arena_free(&a);
    return 0;
}
