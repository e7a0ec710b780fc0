/*
 * DynamoDB ConditionExpression and UpdateExpression as apply()'s mutation hooks. Everything
 * here must stay a pure function of the hook and the current item: apply() runs it on every
 * replica and its verdicts become results (storage.h). No clock, no I/O, no global state.
 */
#include "server/ddb_hook.h"

#include "common/error.h"

#include <stdio.h>
#include <string.h>

int ddb_hook_parse(struct ddb_hook *h, const struct value *key, struct cr_arena *a,
                   struct ddb_err *err)
{
    struct ddb_key_schema keys = {NULL, 0, NULL, 0};
    int rc;

    h->key = *key;
    h->cond = NULL;
    h->upd = NULL;
    if (key->type == VT_MAP && key->u.map.n > 0) {
        keys.pk = key->u.map.fields[0].name;
        keys.pk_len = key->u.map.fields[0].name_len;
    }
    if (key->type == VT_MAP && key->u.map.n > 1) {
        keys.sk = key->u.map.fields[1].name;
        keys.sk_len = key->u.map.fields[1].name_len;
    }
    rc = ddb_ctx_init(&h->ctx, a, h->names, h->n_names, h->values, h->n_values, err);
    /* The update first: with errors in both, DynamoDB reports the UpdateExpression's. */
    if (rc == 0 && h->update)
        rc = ddb_parse_update(&h->ctx, h->update, h->update_len, &keys, &h->upd, err);
    if (rc == 0 && h->condition)
        rc = ddb_parse_condition(&h->ctx, DDB_CONDITION, h->condition, h->condition_len, &h->cond,
                                 err);
    if (rc == 0)
        rc = ddb_ctx_check_unused(&h->ctx, err);
    return rc;
}

static int check(const void *ctx, const struct value *current, bool *ok, char *msg, size_t msg_size)
{
    const struct ddb_hook *h = ctx;
    struct ddb_err err;
    int rc = ddb_eval_condition(h->cond, current, ok, &err);

    if (rc < 0)
        snprintf(msg, msg_size, "%s", err.msg);
    return rc;
}

/* The item an update creates: its key attributes, then what the update set. */
static int with_key(const struct value *key, const struct value *set, struct cr_arena *a,
                    struct value *out)
{
    size_t nk = key->u.map.n, ns = set->type == VT_MAP ? set->u.map.n : 0;
    struct value_field *f = cr_arena_alloc(a, (nk + ns + 1) * sizeof *f);

    if (!f)
        return CR_ENOMEM;
    memcpy(f, key->u.map.fields, nk * sizeof *f);
    if (ns)
        memcpy(f + nk, set->u.map.fields, ns * sizeof *f);
    out->type = VT_MAP;
    out->u.map.fields = f;
    out->u.map.n = nk + ns;
    return 0;
}

static int update(const void *ctx, const struct value *current, struct cr_arena *a,
                  struct value *next, char *msg, size_t msg_size)
{
    const struct ddb_hook *h = ctx;
    struct ddb_err err;
    struct value set;
    int rc;

    if (!h->upd) {
        set.type = VT_MAP;
        set.u.map.fields = NULL;
        set.u.map.n = 0;
        if (current)
            *next = *current;
        return current ? 0 : with_key(&h->key, &set, a, next);
    }
    rc = ddb_apply_update(h->upd, current, a, current ? next : &set, &err);
    if (rc < 0) {
        snprintf(msg, msg_size, "%s", err.msg);
        return rc;
    }
    return current ? 0 : with_key(&h->key, &set, a, next);
}

void ddb_hook_install(const struct ddb_hook *h, struct mutation *m)
{
    m->hook.ctx = h;
    m->hook.check = h->cond ? check : NULL;
    m->hook.update = m->type == MUT_UPDATE ? update : NULL;
}
