/*
 * The Gremlin script parser: tokens to statements of steps (query/gremlin_int.h). Recursive
 * descent over a Groovy-like subset:
 *
 *   script    := sep* stmt (sep+ stmt)* sep*          sep := ';' | newline
 *   stmt      := 'g' '.' step ('.' step)*
 *   step      := NAME '(' [arg (',' arg)*] ')'       (modulators by/times/until/emit/from/to
 *                                                     attach to the step they modify)
 *   arg       := literal | '[' [arg (',' arg)*] ']' | anon | pred | token | NAME (a binding)
 *   anon      := '__' '.' step ('.' step)* | NAME '(' ... ')' ('.' step)* | 'g' '.' step ...
 *   pred      := ['P' '.' | 'TextP' '.'] PRED '(' [arg (',' arg)*] ')'
 *   token     := [('Order' | 'T' | 'Cardinality') '.'] (asc | desc | incr | decr | id | label
 *                | list | single)
 *   literal   := STRING | ['-'] NUMBER | true | false | null
 *
 * Argument kinds are checked here where the step fixes them (traversal arguments of repeat,
 * where, not, and, or, union, coalesce, optional); the rest at run time, when bindings are
 * known. Nothing here touches a graph.
 */
#include "query/gremlin_int.h"

#include "common/error.h"
#include "common/text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct step_info {
    const char *name;
    unsigned lo, hi;
};

static const struct step_info steps[] = {
#define GS_INFO(e, name, lo, hi) {name, lo, hi},
    GREMLIN_STEPS(GS_INFO)
#undef GS_INFO
};

static const struct step_info preds[] = {
#define GP_INFO(e, name, n) {name, n, n},
    GREMLIN_PREDS(GP_INFO)
#undef GP_INFO
};

const char *gremlin_step_name(enum gstep_op op)
{
    return steps[op].name;
}

struct parser {
    const struct gtok *t;
    size_t i, n;
    struct cr_arena *a;
    struct gremlin_err *err;
    int depth;
};

static const struct gtok *cur(const struct parser *ps)
{
    return &ps->t[ps->i];
}

static const struct gtok *peek(const struct parser *ps, size_t k)
{
    return ps->i + k < ps->n ? &ps->t[ps->i + k] : &ps->t[ps->n - 1];
}

static bool tok_is(const struct gtok *t, const char *word)
{
    size_t n = strlen(word);

    return t->type == GT_IDENT && t->len == n && memcmp(t->p, word, n) == 0;
}

static int expected(struct parser *ps, const char *what)
{
    const struct gtok *t = cur(ps);

    if (t->type == GT_EOF)
        return gremlin_fail(ps->err, CR_EINVAL, t->line, t->col,
                            "expected %s at %u:%u, found end of input", what, t->line, t->col);
    if (t->type == GT_NEWLINE)
        return gremlin_fail(ps->err, CR_EINVAL, t->line, t->col,
                            "expected %s at %u:%u, found end of line", what, t->line, t->col);
    return gremlin_fail(ps->err, CR_EINVAL, t->line, t->col, "expected %s at %u:%u, found '%.*s'",
                        what, t->line, t->col, t->len > 40 ? 40 : (int)t->len, t->p);
}

static int nomem(struct parser *ps)
{
    return gremlin_fail(ps->err, CR_ENOMEM, 0, 0, "%s", cr_strerror(CR_ENOMEM));
}

static int fail_at(struct parser *ps, const struct gtok *t, const char *what)
{
    return gremlin_fail(ps->err, CR_EINVAL, t->line, t->col, "%s at %u:%u", what, t->line, t->col);
}

static bool accept(struct parser *ps, enum gtok_type type)
{
    if (cur(ps)->type != type)
        return false;
    ps->i++;
    return true;
}

static int expect(struct parser *ps, enum gtok_type type, const char *what)
{
    return accept(ps, type) ? 0 : expected(ps, what);
}

static int enter(struct parser *ps)
{
    const struct gtok *t = cur(ps);

    if (++ps->depth > GREMLIN_MAX_DEPTH)
        return gremlin_fail(ps->err, CR_ENESTING, t->line, t->col,
                            "traversals, lists or predicates nested deeper than %d at %u:%u",
                            GREMLIN_MAX_DEPTH, t->line, t->col);
    return 0;
}

/* Appends one zeroed element to an arena array that doubles when full. */
static void *grow(struct parser *ps, void *arr, size_t *n, size_t *cap, size_t size)
{
    char *p = arr;

    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;

        p = cr_arena_alloc(ps->a, c * size);
        if (!p)
            return NULL;
        if (*n)
            memcpy(p, arr, *n * size);
        *cap = c;
    }
    memset(p + *n * size, 0, size);
    (*n)++;
    return p;
}

/* ---- literals ---- */

/* Decodes a string token (Java's escapes; '$' is literal: no GString interpolation). */
static int parse_string(struct parser *ps, const struct gtok *t, struct value *out)
{
    const char *p = t->p + 1, *end = t->p + t->len - 1;
    char *o = cr_arena_alloc(ps->a, t->len + 1), *q = o;

    if (!o)
        return nomem(ps);
    while (p < end) {
        size_t n;
        const char *esc = p;

        if (*p != '\\') {
            *q++ = *p++;
            continue;
        }
        switch (p[1]) {
        case '\'':
        case '"':
        case '\\':
        case '/':
        case '$':
            *q++ = p[1];
            break;
        case 'b':
            *q++ = '\b';
            break;
        case 'f':
            *q++ = '\f';
            break;
        case 'n':
            *q++ = '\n';
            break;
        case 'r':
            *q++ = '\r';
            break;
        case 't':
            *q++ = '\t';
            break;
        case 'u': {
            size_t took = cr_unescape_u(p, end, q, &n);

            if (took == 0)
                goto bad;
            p += took;
            q += n;
            continue;
        }
        default:
            goto bad;
        }
        p += 2;
        continue;
    bad:
        return gremlin_fail(ps->err, CR_EINVAL, t->line, t->col + (unsigned)(esc - t->p),
                            "invalid escape in string at %u:%u", t->line,
                            t->col + (unsigned)(esc - t->p));
    }
    *q = 0;
    *out = value_string(o, (size_t)(q - o));
    return 0;
}

static int parse_number(struct parser *ps, const struct gtok *t, bool neg, struct value *out)
{
    char buf[64];
    size_t len = t->len;
    bool is_double = false, is_long = false;
    char *end;

    if (len >= sizeof buf)
        return fail_at(ps, t, "number too long");
    memcpy(buf, t->p, len);
    buf[len] = 0;
    if (strchr("dDfF", buf[len - 1])) {
        is_double = true;
        buf[--len] = 0;
    } else if (strchr("lL", buf[len - 1])) {
        is_long = true;
        buf[--len] = 0;
    }
    if (strpbrk(buf, ".eE"))
        is_double = true;
    if (is_long && is_double)
        return fail_at(ps, t, "a long literal must be an integer");
    errno = 0;
    if (is_double) {
        double d = strtod(buf, &end);

        if (errno == ERANGE && isinf(d))
            return fail_at(ps, t, "number out of range");
        *out = value_double(neg ? -d : d);
        return 0;
    }
    unsigned long long u = strtoull(buf, &end, 10);

    if (errno == ERANGE || u > (unsigned long long)INT64_MAX + (neg ? 1u : 0u))
        return fail_at(ps, t, "integer out of range");
    *out = value_int(neg ? (int64_t)(0 - u) : (int64_t)u);
    return 0;
}

/* ---- traversals and arguments ---- */

static int parse_chain(struct parser *ps, struct gtrav *tr, bool first_required);
static int parse_arg(struct parser *ps, struct garg *out);

static int parse_args(struct parser *ps, struct garg **args, size_t *n, enum gtok_type close,
                      const char *close_what)
{
    size_t cap = 0;
    int rc;

    *args = NULL;
    *n = 0;
    if (accept(ps, close))
        return 0;
    for (;;) {
        struct garg *arr = grow(ps, *args, n, &cap, sizeof **args);

        if (!arr)
            return nomem(ps);
        *args = arr;
        rc = parse_arg(ps, &arr[*n - 1]);
        if (rc)
            return rc;
        if (accept(ps, close))
            return 0;
        if (!accept(ps, GT_COMMA))
            return expected(ps, close_what);
    }
}

static int find_pred(const struct gtok *t)
{
    for (size_t i = 0; i < sizeof preds / sizeof preds[0]; i++)
        if (tok_is(t, preds[i].name))
            return (int)i;
    return -1;
}

static int find_step(const struct gtok *t)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (tok_is(t, steps[i].name))
            return (int)i;
    return -1;
}

static int find_token(const struct gtok *t)
{
    static const struct {
        const char *word;
        enum gtoken tok;
    } words[] = {{"asc", GK_ASC}, {"incr", GK_ASC},    {"desc", GK_DESC}, {"decr", GK_DESC},
                 {"id", GK_ID},   {"label", GK_LABEL}, {"list", GK_LIST}, {"single", GK_SINGLE}};

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (tok_is(t, words[i].word))
            return (int)words[i].tok;
    return -1;
}

static int parse_pred(struct parser *ps, struct garg *out)
{
    const struct gtok *t = cur(ps);
    int k = find_pred(t), rc;

    if (k < 0)
        return expected(ps, "a predicate");
    ps->i++;
    rc = expect(ps, GT_LPAREN, "'('");
    if (rc)
        return rc;
    rc = enter(ps);
    if (rc)
        return rc;
    out->kind = GA_PRED;
    out->u.pred.op = (enum gpred_op)k;
    rc = parse_args(ps, &out->u.pred.args, &out->u.pred.n_args, GT_RPAREN, "',' or ')'");
    if (rc)
        return rc;
    ps->depth--;
    if (preds[k].lo != GS_VARARGS && out->u.pred.n_args != preds[k].lo)
        return gremlin_fail(ps->err, CR_EINVAL, t->line, t->col,
                            "%s() takes %u argument%s at %u:%u", preds[k].name, preds[k].lo,
                            preds[k].lo == 1 ? "" : "s", t->line, t->col);
    for (size_t i = 0; i < out->u.pred.n_args; i++) {
        enum garg_kind ak = out->u.pred.args[i].kind;

        if (ak != GA_LIT && ak != GA_LIST && ak != GA_BIND)
            return gremlin_fail(ps->err, CR_EINVAL, out->u.pred.args[i].line,
                                out->u.pred.args[i].col, "a predicate takes values at %u:%u",
                                out->u.pred.args[i].line, out->u.pred.args[i].col);
    }
    return 0;
}

static int parse_anon(struct parser *ps, struct garg *out)
{
    int rc = enter(ps);

    if (rc)
        return rc;
    out->kind = GA_TRAV;
    out->u.trav = cr_arena_calloc(ps->a, sizeof *out->u.trav);
    if (!out->u.trav)
        return nomem(ps);
    rc = parse_chain(ps, out->u.trav, true);
    ps->depth--;
    return rc;
}

static int parse_arg(struct parser *ps, struct garg *out)
{
    const struct gtok *t = cur(ps);
    int rc, k;

    out->line = t->line;
    out->col = t->col;
    switch (t->type) {
    case GT_STRING:
        ps->i++;
        out->kind = GA_LIT;
        return parse_string(ps, t, &out->u.v);
    case GT_NUMBER:
        ps->i++;
        out->kind = GA_LIT;
        return parse_number(ps, t, false, &out->u.v);
    case GT_MINUS:
        ps->i++;
        if (cur(ps)->type != GT_NUMBER)
            return expected(ps, "a number");
        out->kind = GA_LIT;
        return parse_number(ps, &ps->t[ps->i++], true, &out->u.v);
    case GT_LBRACKET:
        ps->i++;
        rc = enter(ps);
        if (rc)
            return rc;
        out->kind = GA_LIST;
        rc = parse_args(ps, &out->u.list.items, &out->u.list.n, GT_RBRACKET, "',' or ']'");
        if (rc)
            return rc;
        ps->depth--;
        for (size_t i = 0; i < out->u.list.n; i++) {
            enum garg_kind ak = out->u.list.items[i].kind;

            if (ak != GA_LIT && ak != GA_LIST && ak != GA_BIND)
                return gremlin_fail(ps->err, CR_EINVAL, out->u.list.items[i].line,
                                    out->u.list.items[i].col, "a list holds values at %u:%u",
                                    out->u.list.items[i].line, out->u.list.items[i].col);
        }
        return 0;
    case GT_IDENT:
        break;
    default:
        return expected(ps, "an argument");
    }
    if (tok_is(t, "true") || tok_is(t, "false") || tok_is(t, "null")) {
        ps->i++;
        out->kind = GA_LIT;
        out->u.v = tok_is(t, "null") ? value_null() : value_bool(tok_is(t, "true"));
        return 0;
    }
    if ((tok_is(t, "__") || tok_is(t, "g")) && peek(ps, 1)->type == GT_DOT)
        return parse_anon(ps, out);
    if ((tok_is(t, "P") || tok_is(t, "TextP")) && peek(ps, 1)->type == GT_DOT) {
        ps->i += 2;
        return parse_pred(ps, out);
    }
    if ((tok_is(t, "Order") || tok_is(t, "T") || tok_is(t, "Cardinality")) &&
        peek(ps, 1)->type == GT_DOT) {
        ps->i += 2;
        k = find_token(cur(ps));
        if (k < 0)
            return expected(ps, "asc, desc, incr, decr, id, label, list or single");
        ps->i++;
        out->kind = GA_TOKEN;
        out->u.tok = (enum gtoken)k;
        return 0;
    }
    if (peek(ps, 1)->type == GT_LPAREN) {
        if (find_pred(t) >= 0)
            return parse_pred(ps, out);
        return parse_anon(ps, out);
    }
    k = find_token(t);
    ps->i++;
    if (k >= 0) {
        out->kind = GA_TOKEN;
        out->u.tok = (enum gtoken)k;
        return 0;
    }
    out->kind = GA_BIND;
    out->u.name = (struct gremlin_str){t->p, t->len};
    return 0;
}

/* Steps whose arguments can only be traversals say so at parse time, with the position. */
static int need_trav(struct parser *ps, const struct garg *a, const char *step)
{
    if (a->kind == GA_TRAV)
        return 0;
    return gremlin_fail(ps->err, CR_EINVAL, a->line, a->col, "%s() takes traversals at %u:%u", step,
                        a->line, a->col);
}

static int check_step(struct parser *ps, const struct gstep *s)
{
    const char *name = steps[s->op].name;
    int rc = 0;

    switch (s->op) {
    case GS_REPEAT:
    case GS_NOT:
    case GS_OPTIONAL:
    case GS_AND:
    case GS_OR:
    case GS_UNION:
    case GS_COALESCE:
        for (size_t i = 0; i < s->n_args && !rc; i++)
            rc = need_trav(ps, &s->args[i], name);
        return rc;
    case GS_WHERE:
        if (s->n_args == 1 && (s->args[0].kind == GA_TRAV || s->args[0].kind == GA_PRED))
            return 0;
        if (s->n_args == 2 && s->args[0].kind == GA_LIT && s->args[0].u.v.type == VT_STRING &&
            s->args[1].kind == GA_PRED)
            return 0;
        return gremlin_fail(ps->err, CR_EINVAL, s->line, s->col,
                            "where() takes a traversal, a predicate, or a label and a predicate "
                            "at %u:%u",
                            s->line, s->col);
    default:
        return 0;
    }
}

/* property('id', x) right after addV/addE (and its other property steps) gives the new
 * element's id instead of setting a property. */
static bool fold_id(struct gtrav *tr, struct gstep *s)
{
    const struct garg *k = &s->args[0];
    bool is_id = (k->kind == GA_TOKEN && k->u.tok == GK_ID) ||
                 (k->kind == GA_LIT && k->u.v.type == VT_STRING && k->u.v.u.s.len == 2 &&
                  memcmp(k->u.v.u.s.ptr, "id", 2) == 0);
    size_t i = tr->n;

    if (s->n_args != 2 || !is_id)
        return false;
    while (i > 0 && tr->steps[i - 1].op == GS_PROPERTY)
        i--;
    if (i == 0 || (tr->steps[i - 1].op != GS_ADDV && tr->steps[i - 1].op != GS_ADDE) ||
        tr->steps[i - 1].new_id)
        return false;
    tr->steps[i - 1].new_id = &s->args[1];
    return true;
}

struct pending {
    struct gtrav *until, *emit;
    bool has_until, has_emit;
    const struct gtok *at;
};

static int modulate(struct parser *ps, struct gtrav *tr, const struct gtok *name, struct garg *args,
                    size_t n, struct pending *pend)
{
    struct gstep *last = tr->n ? &tr->steps[tr->n - 1] : NULL;
    enum gstep_op op = last ? last->op : GS_COUNT_OF;

    if (tok_is(name, "by")) {
        size_t cap = last ? last->n_by : 0, max = 0;
        struct gby *by;

        switch (op) {
        case GS_ORDER:
        case GS_PROJECT:
        case GS_SELECT:
            max = GS_VARARGS;
            break;
        case GS_GROUP:
            max = 2;
            break;
        case GS_GROUPCOUNT:
        case GS_DEDUP:
            max = 1;
            break;
        default:
            return fail_at(ps, name,
                           "by() modulates order, group, groupCount, project, select "
                           "or dedup");
        }
        if (last->n_by >= max || n > 2)
            return fail_at(ps, name, "too many by() modulators or arguments");
        by = grow(ps, last->by, &last->n_by, &cap, sizeof *by);
        if (!by)
            return nomem(ps);
        last->by = by;
        by = &by[last->n_by - 1];
        if (n == 1 && args[0].kind == GA_TOKEN &&
            (args[0].u.tok == GK_ASC || args[0].u.tok == GK_DESC))
            by->order = &args[0];
        else if (n >= 1)
            by->key = &args[0];
        if (n == 2)
            by->order = &args[1];
        if (by->order && (by->order->kind != GA_TOKEN ||
                          (by->order->u.tok != GK_ASC && by->order->u.tok != GK_DESC)))
            return fail_at(ps, name, "expected asc, desc, incr or decr in by()");
        if (by->order && op != GS_ORDER)
            return fail_at(ps, name, "a sort order in by() modulates order()");
        return 0;
    }
    if (tok_is(name, "times")) {
        if (op != GS_REPEAT || last->times || n != 1)
            return fail_at(ps, name, "times(n) modulates repeat()");
        last->times = &args[0];
        return 0;
    }
    if (tok_is(name, "until") || tok_is(name, "emit")) {
        bool until = tok_is(name, "until");

        if (n > 1 || (until && n == 0) || (n == 1 && args[0].kind != GA_TRAV))
            return fail_at(ps, name,
                           until ? "until() takes one traversal"
                                 : "emit() takes at most one traversal");
        if (op == GS_REPEAT && (until ? last->until == NULL : !last->has_emit)) {
            if (until)
                last->until = args[0].u.trav;
            else {
                last->has_emit = true;
                last->emit = n ? args[0].u.trav : NULL;
            }
            return 0;
        }
        if (until ? pend->has_until : pend->has_emit)
            return fail_at(ps, name, until ? "until() given twice" : "emit() given twice");
        pend->at = name;
        if (until) {
            pend->has_until = true;
            pend->until = args[0].u.trav;
        } else {
            pend->has_emit = true;
            pend->emit = n ? args[0].u.trav : NULL;
        }
        return 0;
    }
    /* from / to: addE's own property steps may come between */
    size_t i = tr->n;

    while (i > 0 && tr->steps[i - 1].op == GS_PROPERTY)
        i--;
    last = i ? &tr->steps[i - 1] : NULL;
    if (!last || last->op != GS_ADDE || n != 1)
        return fail_at(ps, name, "from(x) and to(x) modulate addE()");
    if (tok_is(name, "from") ? last->from != NULL : last->to != NULL)
        return fail_at(ps, name, "from() or to() given twice");
    if (tok_is(name, "from"))
        last->from = &args[0];
    else
        last->to = &args[0];
    return 0;
}

static bool is_modulator(const struct gtok *t)
{
    return tok_is(t, "by") || tok_is(t, "times") || tok_is(t, "until") || tok_is(t, "emit") ||
           tok_is(t, "from") || tok_is(t, "to");
}

static int parse_step(struct parser *ps, struct gtrav *tr, size_t *cap, struct pending *pend)
{
    const struct gtok *name = cur(ps);
    struct garg *args;
    size_t n;
    int k, rc;

    if (name->type != GT_IDENT)
        return expected(ps, "a step");
    k = find_step(name);
    if (k < 0 && !is_modulator(name))
        return gremlin_fail(ps->err, CR_EINVAL, name->line, name->col,
                            "unknown step '%.*s' at %u:%u", name->len > 40 ? 40 : (int)name->len,
                            name->p, name->line, name->col);
    ps->i++;
    rc = expect(ps, GT_LPAREN, "'('");
    if (rc)
        return rc;
    rc = parse_args(ps, &args, &n, GT_RPAREN, "',' or ')'");
    if (rc)
        return rc;
    if (k < 0)
        return modulate(ps, tr, name, args, n, pend);
    if (n < steps[k].lo || n > steps[k].hi)
        return gremlin_fail(ps->err, CR_EINVAL, name->line, name->col,
                            "wrong number of arguments to %s() at %u:%u", steps[k].name, name->line,
                            name->col);
    if (pend->has_until || pend->has_emit) {
        if (k != GS_REPEAT)
            return fail_at(ps, pend->at, "until() or emit() before a step that is not repeat()");
    }
    struct gstep s = {.op = (enum gstep_op)k, .line = name->line, .col = name->col};

    s.args = args;
    s.n_args = n;
    if (k == GS_REPEAT) {
        s.until = pend->until;
        s.until_first = pend->has_until;
        s.has_emit = pend->has_emit;
        s.emit = pend->emit;
        s.emit_first = pend->has_emit;
        *pend = (struct pending){0};
    }
    rc = check_step(ps, &s);
    if (rc)
        return rc;
    if (k == GS_PROPERTY && fold_id(tr, &s))
        return 0;
    struct gstep *arr = grow(ps, tr->steps, &tr->n, cap, sizeof *arr);

    if (!arr)
        return nomem(ps);
    tr->steps = arr;
    arr[tr->n - 1] = s;
    return 0;
}

/* A chain of steps: [g. | __.] step (. step)*. */
static int parse_chain(struct parser *ps, struct gtrav *tr, bool anon)
{
    struct pending pend = {0};
    size_t cap = 0;
    int rc;

    if ((tok_is(cur(ps), "g") || tok_is(cur(ps), "__")) && peek(ps, 1)->type == GT_DOT) {
        bool is_g = tok_is(cur(ps), "g");

        ps->i += 2;
        if (is_g) {
            int k = find_step(cur(ps));

            if (k != GS_V && k != GS_E && k != GS_ADDV && k != GS_ADDE && k != GS_INJECT)
                return expected(ps, "V, E, addV, addE or inject after 'g.'");
        }
    } else if (!anon) {
        return expected(ps, "'g.'");
    }
    for (;;) {
        rc = parse_step(ps, tr, &cap, &pend);
        if (rc)
            return rc;
        if (cur(ps)->type == GT_NEWLINE && peek(ps, 1)->type == GT_DOT)
            ps->i++;
        if (!accept(ps, GT_DOT))
            break;
    }
    if (pend.has_until || pend.has_emit)
        return fail_at(ps, pend.at, "until() or emit() without repeat()");
    return 0;
}

int gremlin_parse(struct cr_arena *a, const char *text, size_t len, struct gremlin_script **out,
                  struct gremlin_err *err)
{
    struct parser ps = {.a = a, .err = err};
    struct gremlin_script *s;
    struct gtok *toks;
    size_t cap = 0;
    int rc;

    *err = (struct gremlin_err){0};
    if (len > GREMLIN_MAX_LEN)
        return gremlin_fail(err, CR_ETOOLONG, 0, 0, "script is %zu bytes, longer than %d", len,
                            GREMLIN_MAX_LEN);
    rc = gremlin_lex(text, len, a, &toks, &ps.n);
    if (rc)
        return gremlin_fail(err, rc, 0, 0, "%s", cr_strerror(rc));
    ps.t = toks;
    for (size_t i = 0; i < ps.n; i++) {
        if (toks[i].type == GT_BAD)
            return gremlin_fail(err, CR_EINVAL, toks[i].line, toks[i].col,
                                toks[i].p[0] == '"' || toks[i].p[0] == '\''
                                    ? "unterminated string at %u:%u"
                                    : "unexpected character at %u:%u",
                                toks[i].line, toks[i].col);
    }
    s = cr_arena_calloc(a, sizeof *s);
    if (!s)
        return nomem(&ps);
    for (;;) {
        while (accept(&ps, GT_SEMI) || accept(&ps, GT_NEWLINE))
            ;
        if (cur(&ps)->type == GT_EOF)
            break;
        if (s->n == GREMLIN_MAX_STATEMENTS)
            return gremlin_fail(err, CR_ETOOMANY, cur(&ps)->line, cur(&ps)->col,
                                "more than %d statements", GREMLIN_MAX_STATEMENTS);
        struct gtrav *arr = grow(&ps, s->stmts, &s->n, &cap, sizeof *arr);

        if (!arr)
            return nomem(&ps);
        s->stmts = arr;
        rc = parse_chain(&ps, &arr[s->n - 1], false);
        if (rc)
            return rc;
        if (cur(&ps)->type != GT_EOF && cur(&ps)->type != GT_SEMI && cur(&ps)->type != GT_NEWLINE)
            return expected(&ps, "'.', ';' or end of line");
    }
    if (s->n == 0)
        return gremlin_fail(err, CR_EINVAL, 1, 1, "empty script");
    *out = s;
    return 0;
}
