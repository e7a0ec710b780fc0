/*
 * libFuzzer target: the Gremlin subset (query/gremlin_*). The input is a script. When it parses,
 * it runs with a small budget and two bindings over a fixed graph of three vertices on a cycle
 * (a -knows-> b -knows-> c -likes-> a, and a self-loop on c) whose mutation callbacks accept
 * everything and change nothing. It must never crash, never run away, and every failure must
 * carry a message.
 */
#include "common/assert.h"
#include "common/error.h"
#include "query/gremlin.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fixed {
    struct gremlin_elem v[3], e[4];
    struct gremlin_prop props[3][2];
    struct gremlin_prop eprop;
};

static struct gremlin_str S(const char *s) {
    return (struct gremlin_str){s, strlen(s)};
}

static void
make(struct fixed *f)
{
    static const char *ids[] = {"a", "b", "c"};
    static const char *labels[] = {"person", "person", "thing"};
    static const int ends[4][2] = {{0, 1}, {1, 2}, {2, 0}, {2, 2}};
    static const char *elabels[] = {"knows", "knows", "likes", "self"};
    static const char *eids[] = {"e1", "e2", "e3", "e4"};

    memset(f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        f->v[i].kind = GREMLIN_VERTEX;
        f->v[i].id = value_string(ids[i], 1);
        f->v[i].label = S(labels[i]);
        f->props[i][0] = (struct gremlin_prop){S("name"), value_int(2 * i), f->v[i].id};
        f->props[i][1] = (struct gremlin_prop){S("age"), value_int(2 * i + 1), value_int(20 + i)};
    }
    for (int i = 0; i < 4; i++) {
        f->e[i].kind = GREMLIN_EDGE;
        f->e[i].id = value_string(eids[i], 2);
        f->e[i].label = S(elabels[i]);
        f->e[i].out_v = f->v[ends[i][0]].id;
        f->e[i].in_v = f->v[ends[i][1]].id;
        f->e[i].out_label = f->v[ends[i][0]].label;
        f->e[i].in_label = f->v[ends[i][1]].label;
    }
    f->eprop = (struct gremlin_prop){S("weight"), value_null(), value_double(0.5)};
}

static int find(struct fixed *f, enum gremlin_kind kind, const struct value *id)
{
    const struct gremlin_elem *arr = kind == GREMLIN_VERTEX ? f->v : f->e;
    int n = kind == GREMLIN_VERTEX ? 3 : 4;

    for (int i = 0; i < n; i++)
        if (value_equal(&arr[i].id, id))
            return i;
    return -1;
}

static int get(void *ctx, enum gremlin_kind kind, const struct value *id, struct cr_arena *a,
               struct gremlin_elem *out)
{
    struct fixed *f = ctx;
    int i = find(f, kind, id);

    (void)a;
    if (i < 0)
        return CR_ENOTFOUND;
    *out = kind == GREMLIN_VERTEX ? f->v[i] : f->e[i];
    return 0;
}

static bool label_in(const struct gremlin_str *l, const struct gremlin_str *ls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ls[i].len == l->len && memcmp(ls[i].p, l->p, l->len) == 0)
            return true;
    return n == 0;
}

static int scan_vertices(void *ctx, const struct gremlin_str *label, struct cr_arena *a,
                         gremlin_visit_fn fn, void *arg)
{
    struct fixed *f = ctx;

    (void)a;
    for (int i = 0; i < 3; i++) {
        int rc;

        if (label && !label_in(&f->v[i].label, label, 1))
            continue;
        rc = fn(arg, &f->v[i]);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static int scan_edges(void *ctx, struct cr_arena *a, gremlin_visit_fn fn, void *arg)
{
    struct fixed *f = ctx;

    (void)a;
    for (int i = 0; i < 4; i++) {
        int rc = fn(arg, &f->e[i]);

        if (rc)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static int expand(void *ctx, const struct value *vid, enum gremlin_dir dir,
                  const struct gremlin_str *labels, size_t n_labels, struct cr_arena *a,
                  gremlin_visit_fn fn, void *arg)
{
    struct fixed *f = ctx;

    (void)a;
    for (int d = 0; d < 2; d++) {
        if ((d == 0 && dir == GREMLIN_IN) || (d == 1 && dir == GREMLIN_OUT))
            continue;
        for (int i = 0; i < 4; i++) {
            const struct value *end = d == 0 ? &f->e[i].out_v : &f->e[i].in_v;
            int rc;

            if (!value_equal(end, vid) || !label_in(&f->e[i].label, labels, n_labels))
                continue;
            rc = fn(arg, &f->e[i]);
            if (rc)
                return rc < 0 ? rc : 0;
        }
    }
    return 0;
}

static int properties(void *ctx, const struct gremlin_elem *e, struct cr_arena *a,
                      const struct gremlin_prop **props, size_t *n)
{
    struct fixed *f = ctx;
    int i = find(f, e->kind, &e->id);

    (void)a;
    *props = NULL;
    *n = 0;
    if (i >= 0 && e->kind == GREMLIN_VERTEX) {
        *props = f->props[i];
        *n = 2;
    } else if (i >= 0) {
        *props = &f->eprop;
        *n = 1;
    }
    return 0;
}

static int add_vertex(void *ctx, const struct value *id, const struct gremlin_str *label,
                      struct cr_arena *a, struct gremlin_elem *out)
{
    (void)ctx;
    (void)a;
    *out = (struct gremlin_elem){.kind = GREMLIN_VERTEX, .label = *label};
    out->id = id ? *id : value_string("new", 3);
    return 0;
}

static int add_edge(void *ctx, const struct value *id, const struct gremlin_str *label,
                    const struct gremlin_elem *from, const struct gremlin_elem *to,
                    struct cr_arena *a, struct gremlin_elem *out)
{
    (void)ctx;
    (void)a;
    *out = (struct gremlin_elem){.kind = GREMLIN_EDGE, .label = *label};
    out->id = id ? *id : value_string("newe", 4);
    out->out_v = from->id;
    out->in_v = to->id;
    out->out_label = from->label;
    out->in_label = to->label;
    return 0;
}

static int set_property(void *ctx, const struct gremlin_elem *e, const struct gremlin_str *key,
                        const struct value *value, bool list)
{
    (void)ctx;
    (void)e;
    (void)key;
    (void)value;
    (void)list;
    return 0;
}

static int drop(void *ctx, const struct gremlin_elem *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fixed f;
    struct gremlin_graph g = {&f,   get,        scan_vertices, scan_edges,   expand, properties,
                              NULL, add_vertex, add_edge,      set_property, drop};
    struct value bv[2] = {value_string("a", 1), value_int(21)};
    struct gremlin_binding b[2] = {{"x", 1, &bv[0]}, {"n", 1, &bv[1]}};
    struct gremlin_script *s;
    struct gremlin_err err;
    struct cr_arena a;
    struct value *out;
    size_t n;
    int rc;

    make(&f);
    cr_arena_init(&a, 4096);
    rc = gremlin_parse(&a, (const char *)data, size, &s, &err);
    CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
    if (rc == 0) {
        rc = gremlin_exec(s, b, 2, &g, 20000, &a, &out, &n, &err);
        CR_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
    }
    cr_arena_free(&a);
    return 0;
}
