/*
 * The linearizability checker (lincheck.h). Per key, the history becomes a doubly linked list of
 * call and return events in time order; the search (Lowe's version of Wing and Gong's, as in
 * Porcupine) walks it, linearizing a call when the model allows it and the pair (set of
 * operations linearized, register value) is new, undoing the last choice when it reaches the
 * return of an operation it has not linearized. Pending operations return at "infinity": reaching
 * such a return means every completed operation is linearized, and the pending ones left may
 * never take effect. Memoization makes each pair visited once, so the search is bounded by the
 * number of distinct pairs, which concurrency, not length, makes large.
 *
 * Equal times count as concurrent: an operation precedes another only if it completed strictly
 * before the other was invoked.
 */
#include "lincheck.h"

#include "common/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The register's value at a window's start: anything (see step()). */
#define ANY (LINCHECK_ABSENT + 1)
/* Every value that no read returns and no CAS expects: nothing tells such values apart. */
#define FRESH (LINCHECK_ABSENT + 2)
#define NIL (-1L)
#define NEVER INT64_MAX /* the completion of a pending operation */

/* One operation as the search sees it. */
struct sop {
    enum lincheck_kind kind;
    int64_t value, expected;
    bool ok, pending;
    int64_t invoke, complete; /* complete is NEVER when pending */
    bool fresh;               /* a pending write of FRESH */
};

/*
 * The register model: can o take effect in state s, and what state follows. From ANY (a window's
 * unknown start) a read fixes the value and a write or successful CAS sets it; a failed CAS keeps
 * ANY, forgetting that the value differs from its expected one — more permissive than any single
 * start, so a window refused from ANY is refused from every start. A pending CAS is considered
 * only as a success: as a failure it changes nothing, the same as never taking effect.
 */
static bool step(int64_t s, const struct sop *o, int64_t *next)
{
    switch (o->kind) {
    case LINCHECK_WRITE:
        *next = o->value;
        return true;
    case LINCHECK_READ:
        *next = o->value;
        return s == ANY || s == o->value;
    case LINCHECK_CAS:
        if (o->ok || o->pending) {
            *next = o->value;
            return s == ANY || s == o->expected;
        }
        *next = s;
        return s != o->expected;
    }
    return false;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/*
 * ---- the memo: the set of (operations linearized, register value) pairs seen ----
 *
 * Completed operations are numbered by invocation, pending ones after them. The completed ones
 * linearized are then a run of whole words of ones (everything invoked before the first one not
 * linearized, whose return bounds what may be linearized) followed by a few words near it; an
 * entry keeps the number of whole words, the words after them up to the last nonzero one, and the
 * pending operations' words: tens of bytes instead of a bit per operation.
 */

struct memo_item {
    uint64_t hash;
    int64_t state;
    size_t off;         /* its words in memo.words */
    uint32_t full, len; /* whole words of ones; words kept */
};

struct memo {
    uint64_t *words;
    size_t n_words, cap_words;
    struct memo_item *items;
    size_t n, cap;
    size_t *slots; /* item index + 1; 0 is empty */
    size_t n_slots;
};

static void memo_free(struct memo *m)
{
    free(m->words);
    free(m->items);
    free(m->slots);
}

static int memo_grow(struct memo *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1024, n_slots = 2 * cap;
    struct memo_item *items = realloc(m->items, cap * sizeof *items);
    size_t *slots;

    if (!items)
        return CR_ENOMEM;
    m->items = items;
    m->cap = cap;
    slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return CR_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        size_t at = m->items[i].hash & (n_slots - 1);

        while (slots[at])
            at = (at + 1) & (n_slots - 1);
        slots[at] = i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
    return 0;
}

/* 1 if the pair (full, key[0..len), state) was new and is now in the set, 0 if it was there,
 * CR_ENOMEM. */
static int memo_add(struct memo *m, uint32_t full, const uint64_t *key, uint32_t len, int64_t state,
                    uint64_t h)
{
    struct memo_item *it;
    size_t at;
    int rc;

    if (m->n == m->cap && (rc = memo_grow(m)) < 0)
        return rc;
    if (m->n_words + len > m->cap_words) {
        size_t cap = 2 * (m->cap_words + len);
        uint64_t *words = realloc(m->words, cap * sizeof *words);

        if (!words)
            return CR_ENOMEM;
        m->words = words;
        m->cap_words = cap;
    }
    for (at = h & (m->n_slots - 1); m->slots[at]; at = (at + 1) & (m->n_slots - 1)) {
        it = &m->items[m->slots[at] - 1];
        if (it->hash == h && it->state == state && it->full == full && it->len == len &&
            memcmp(m->words + it->off, key, len * sizeof *key) == 0)
            return 0;
    }
    if (len)
        memcpy(m->words + m->n_words, key, len * sizeof *key);
    m->items[m->n] = (struct memo_item){h, state, m->n_words, full, len};
    m->n_words += len;
    m->slots[at] = ++m->n;
    return 1;
}

/* ---- the search ---- */

struct ev {
    int64_t t;
    size_t op;
    bool call;
};

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->call != y->call)
        return x->call ? -1 : 1; /* equal times: concurrent */
    return x->op < y->op ? -1 : x->op > y->op;
}

struct node {
    long prev, next, match; /* match: a call's return */
    size_t op;
    bool call;
};

/* The search's state beside the list: the operations linearized as bits (completed ones in
 * words [0, cw), pending ones in [cw, cw + pw)), with the memo key's bounds kept up to date. */
struct search {
    struct node *nodes; /* [0] is the head */
    long *stack_node;
    int64_t *stack_state;
    bool *stack_forced;
    uint64_t *bits, *key, *zobrist;
    size_t nc;       /* completed operations: 0..nc-1 */
    uint32_t cw, pw; /* words of completed and pending operations */
    uint32_t full;   /* leading words whose 64 completed operations are all linearized */
    long top;        /* the last nonzero word of completed operations, -1 if none */
    uint64_t h;      /* Zobrist hash of the set */
    /* Pending writes of FRESH are interchangeable but for their invocation, so only the earliest
     * not yet linearized may be (if a linearization uses k of them, one uses the k earliest):
     * k + 1 sets of them to try instead of 2^k. */
    size_t next_fresh, *fresh_after; /* SIZE_MAX: none */
    struct memo memo;
};

static void search_free(struct search *s)
{
    free(s->nodes);
    free(s->stack_node);
    free(s->stack_state);
    free(s->stack_forced);
    free(s->bits);
    free(s->key);
    free(s->zobrist);
    free(s->fresh_after);
    memo_free(&s->memo);
}

static void set_bit(struct search *s, size_t op)
{
    size_t w = op < s->nc ? op / 64 : s->cw + (op - s->nc) / 64;

    s->bits[w] |= 1ull << (op < s->nc ? op % 64 : (op - s->nc) % 64);
    s->h ^= s->zobrist[op];
    if (op >= s->nc)
        return;
    while (s->full < s->nc / 64 && s->bits[s->full] == UINT64_MAX)
        s->full++;
    if ((long)w > s->top)
        s->top = (long)w;
}

static void clear_bit(struct search *s, size_t op)
{
    size_t w = op < s->nc ? op / 64 : s->cw + (op - s->nc) / 64;

    s->bits[w] &= ~(1ull << (op < s->nc ? op % 64 : (op - s->nc) % 64));
    s->h ^= s->zobrist[op];
    if (op >= s->nc)
        return;
    if (w < s->full)
        s->full = (uint32_t)w;
    while (s->top >= 0 && s->bits[s->top] == 0)
        s->top--;
}

/* Adds the current set with state to the memo: 1 if new, 0 if seen, CR_ENOMEM. */
static int remember(struct search *s, int64_t state)
{
    uint32_t len = 0;

    for (long w = s->full; w <= s->top; w++)
        s->key[len++] = s->bits[w];
    for (uint32_t w = 0; w < s->pw; w++)
        s->key[len++] = s->bits[s->cw + w];
    return memo_add(&s->memo, s->full, s->key, len, state, mix(s->h ^ (uint64_t)state));
}

static void lift(struct node *nd, long c)
{
    long r = nd[c].match;

    nd[nd[c].prev].next = nd[c].next;
    nd[nd[c].next].prev = nd[c].prev; /* a call is always followed by at least its return */
    nd[nd[r].prev].next = nd[r].next;
    if (nd[r].next != NIL)
        nd[nd[r].next].prev = nd[r].prev;
}

static void unlift(struct node *nd, long c)
{
    long r = nd[c].match;

    nd[nd[r].prev].next = r;
    if (nd[r].next != NIL)
        nd[nd[r].next].prev = r;
    nd[nd[c].prev].next = c;
    nd[nd[c].next].prev = c;
}

/* ops[0..n): the completed operations by invocation, then the pending ones. */
static int search_init(struct search *s, const struct sop *ops, size_t n)
{
    struct ev *evs = malloc((2 * n + 1) * sizeof *evs);
    size_t words;

    memset(s, 0, sizeof *s);
    while (s->nc < n && !ops[s->nc].pending)
        s->nc++;
    s->cw = (uint32_t)((s->nc + 63) / 64);
    s->pw = (uint32_t)((n - s->nc + 63) / 64);
    s->top = -1;
    words = s->cw + s->pw + 1;
    s->nodes = malloc((2 * n + 1) * sizeof *s->nodes);
    s->stack_node = malloc((n + 1) * sizeof *s->stack_node);
    s->stack_state = malloc((n + 1) * sizeof *s->stack_state);
    s->stack_forced = malloc((n + 1) * sizeof *s->stack_forced);
    s->bits = calloc(words, sizeof *s->bits);
    s->key = malloc(words * sizeof *s->key);
    s->zobrist = malloc((n + 1) * sizeof *s->zobrist);
    s->fresh_after = malloc((n + 1) * sizeof *s->fresh_after);
    if (!evs || !s->nodes || !s->stack_node || !s->stack_state || !s->stack_forced || !s->bits ||
        !s->key || !s->zobrist || !s->fresh_after) {
        free(evs);
        search_free(s);
        return CR_ENOMEM;
    }
    s->next_fresh = SIZE_MAX;
    for (size_t i = n; i-- > 0;) {
        s->fresh_after[i] = s->next_fresh;
        if (ops[i].fresh)
            s->next_fresh = i;
    }
    for (size_t i = 0; i < n; i++) {
        evs[2 * i] = (struct ev){ops[i].invoke, i, true};
        evs[2 * i + 1] = (struct ev){ops[i].complete, i, false};
        s->zobrist[i] = mix(i + 1);
    }
    qsort(evs, 2 * n, sizeof *evs, ev_cmp);
    /* The stack is scratch until the search starts: where each operation returns. */
    for (size_t i = 0; i < 2 * n; i++)
        if (!evs[i].call)
            s->stack_node[evs[i].op] = (long)i + 1;
    s->nodes[0] = (struct node){NIL, n > 0 ? 1 : NIL, NIL, 0, false};
    for (size_t i = 0; i < 2 * n; i++)
        s->nodes[i + 1] =
            (struct node){(long)i, i + 1 < 2 * n ? (long)i + 2 : NIL,
                          evs[i].call ? s->stack_node[evs[i].op] : NIL, evs[i].op, evs[i].call};
    free(evs);
    return 0;
}

/* Reads (but from ANY, which they fix) and failed CASes never change the register: one that may
 * take effect now may as well (move it here from wherever a linearization has it), so the search
 * tries nothing else here, and fails here if the set with it has failed. */
static bool forcing(const struct sop *o, int64_t state)
{
    return (o->kind == LINCHECK_READ && state != ANY) ||
           (o->kind == LINCHECK_CAS && !o->ok && !o->pending);
}

/* The verdict on ops[0..n) from register value init, within budget steps (added to *steps). */
static int search_run(const struct sop *ops, size_t n, int64_t init, uint64_t budget,
                      uint64_t *steps, enum lincheck_verdict *v)
{
    struct search s;
    size_t sp = 0;
    uint64_t used = 0;
    int64_t state = init;
    long e;
    int rc = search_init(&s, ops, n);

    if (rc < 0)
        return rc;
    *v = LINCHECK_LINEARIZABLE;
    e = s.nodes[0].next;
    while (s.nodes[0].next != NIL) {
        struct node *nd = &s.nodes[e];
        size_t op = nd->op;
        bool back = false;

        if (++used > budget) {
            *v = LINCHECK_UNDECIDED;
            break;
        }
        if (nd->call) {
            int64_t next;

            if ((!ops[op].fresh || op == s.next_fresh) && step(state, &ops[op], &next)) {
                set_bit(&s, op);
                rc = remember(&s, next);
                if (rc < 0)
                    break;
                if (rc == 1) {
                    s.stack_node[sp] = e;
                    s.stack_forced[sp] = forcing(&ops[op], state);
                    s.stack_state[sp++] = state;
                    state = next;
                    if (ops[op].fresh)
                        s.next_fresh = s.fresh_after[op];
                    lift(s.nodes, e);
                    e = s.nodes[0].next;
                    continue;
                }
                clear_bit(&s, op);
                back = forcing(&ops[op], state);
            }
            if (!back) {
                e = nd->next;
                continue;
            }
        } else if (ops[op].complete == NEVER) {
            break; /* only pending operations are left: they may never take effect */
        }
        /* Undo the last choice, and the forced ones before it. */
        do {
            if (sp == 0) {
                *v = LINCHECK_VIOLATION;
                break;
            }
            back = s.stack_forced[--sp];
            e = s.stack_node[sp];
            state = s.stack_state[sp];
            op = s.nodes[e].op;
            clear_bit(&s, op);
            if (ops[op].fresh)
                s.next_fresh = op;
            unlift(s.nodes, e);
        } while (back);
        if (*v == LINCHECK_VIOLATION)
            break;
        e = s.nodes[e].next;
    }
    *steps += used;
    search_free(&s);
    return rc < 0 ? rc : 0;
}

static int value_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Replaces by FRESH each value written that no read of s[0..n) returns and no CAS expects, and
 * marks the pending writes of FRESH. Exact: no operation can tell such values apart, or from
 * the values it compares with. CR_ENOMEM. */
static int freshen(struct sop *s, size_t n)
{
    int64_t *seen = malloc((2 * n + 1) * sizeof *seen);
    size_t k = 0;

    if (!seen)
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == LINCHECK_READ)
            seen[k++] = s[i].value;
        if (s[i].kind == LINCHECK_CAS)
            seen[k++] = s[i].expected;
    }
    qsort(seen, k, sizeof *seen, value_cmp);
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == LINCHECK_READ || bsearch(&s[i].value, seen, k, sizeof *seen, value_cmp))
            continue;
        s[i].value = FRESH;
        s[i].fresh = s[i].pending && s[i].kind == LINCHECK_WRITE;
    }
    free(seen);
    return 0;
}

/*
 * The verdict on the operations ops[idx[0..n)] (by invocation) cut at time cut: those completing
 * after it count as pending (and reads among them are dropped), as do pending ones.
 */
static int check_sub(const struct lincheck_op *ops, const size_t *idx, size_t n, int64_t cut,
                     int64_t init, uint64_t budget, uint64_t *steps, enum lincheck_verdict *v)
{
    struct sop *s = malloc((n + 1) * sizeof *s);
    size_t m = 0;
    int rc;

    if (!s)
        return CR_ENOMEM;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const struct lincheck_op *o = &ops[idx[i]];
            bool pending = o->pending || o->complete > cut;

            if (pending != (pass == 1) || (pending && o->kind == LINCHECK_READ))
                continue;
            s[m++] = (struct sop){o->kind,
                                  o->value,
                                  o->expected,
                                  o->ok,
                                  pending,
                                  o->invoke,
                                  pending ? NEVER : o->complete,
                                  false};
        }
    rc = freshen(s, m);
    if (rc == 0)
        rc = search_run(s, m, init, budget, steps, v);
    free(s);
    return rc;
}

/* ---- the window of a violation ---- */

/* Sorting indexes by (a, b): qsort has no context argument, so the keys travel with them. */
struct rank {
    int64_t a, b;
    size_t i;
};

static int rank_cmp(const void *x, const void *y)
{
    const struct rank *p = x, *q = y;

    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

/* Sorts idx[0..n) by (a(op), b(op)); CR_ENOMEM. */
static int sort_idx(const struct lincheck_op *ops, size_t *idx, size_t n,
                    int64_t (*a)(const struct lincheck_op *),
                    int64_t (*b)(const struct lincheck_op *))
{
    struct rank *r = malloc((n + 1) * sizeof *r);

    if (!r)
        return CR_ENOMEM;
    for (size_t k = 0; k < n; k++)
        r[k] = (struct rank){a(&ops[idx[k]]), b(&ops[idx[k]]), idx[k]};
    qsort(r, n, sizeof *r, rank_cmp);
    for (size_t k = 0; k < n; k++)
        idx[k] = r[k].i;
    free(r);
    return 0;
}

static int64_t invoke_of(const struct lincheck_op *o)
{
    return o->invoke;
}

static int64_t complete_of(const struct lincheck_op *o)
{
    return o->complete;
}

static int64_t key_of(const struct lincheck_op *o)
{
    return (int64_t)(o->key ^ (1ull << 63)); /* unsigned order */
}

static bool counts(const struct lincheck_op *o, int64_t cut)
{
    return !(o->kind == LINCHECK_READ && (o->pending || o->complete > cut));
}

/* Sets the result's window to the operations of idx[0..n) (by invocation) that the check at cut
 * uses. */
static int set_window(struct lincheck_result *r, const struct lincheck_op *ops, const size_t *idx,
                      size_t n, int64_t cut, bool any)
{
    r->window = malloc((n + 1) * sizeof *r->window);
    if (!r->window)
        return CR_ENOMEM;
    r->n_window = 0;
    for (size_t i = 0; i < n; i++)
        if (counts(&ops[idx[i]], cut))
            r->window[r->n_window++] = idx[i];
    r->window_end = cut;
    r->from_any_state = any;
    return 0;
}

/*
 * g[0..n): one key's operations (by invocation), not linearizable. Finds the shortest failing
 * prefix (cut at a completion: linearizability is closed under prefixes, so a binary search),
 * then the latest quiescent point before its last operation from which the rest still fails from
 * any register value. Falls back to the whole history when a check runs out of budget.
 */
static int minimize(const struct lincheck_op *ops, size_t *g, size_t n, uint64_t budget,
                    struct lincheck_result *r)
{
    size_t *done = malloc((n + 1) * sizeof *done), *win = malloc((n + 1) * sizeof *win);
    int64_t *maxc = malloc((n + 1) * sizeof *maxc), cut;
    size_t m = 0, lo = 0, hi, np = 0, culprit_at = 0;
    enum lincheck_verdict v;
    int rc = 0;

    if (!done || !win || !maxc) {
        rc = CR_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!ops[g[i]].pending)
            done[m++] = g[i];
    rc = sort_idx(ops, done, m, complete_of, invoke_of);
    if (rc < 0)
        goto out;
    hi = m ? m - 1 : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        rc = check_sub(ops, g, n, ops[done[mid]].complete, LINCHECK_ABSENT, budget, &r->steps, &v);
        if (rc < 0)
            goto out;
        if (v == LINCHECK_UNDECIDED) {
            rc = set_window(r, ops, g, n, INT64_MAX, false);
            goto out;
        }
        if (v == LINCHECK_VIOLATION)
            hi = mid;
        else
            lo = mid + 1;
    }
    cut = m ? ops[done[lo]].complete : INT64_MAX;
    /* The prefix: g is by invocation, so it is g[0..np). */
    while (np < n && ops[g[np]].invoke <= cut)
        np++;
    for (size_t i = 0; i < np; i++)
        if (m && g[i] == done[lo])
            culprit_at = i;
    /* maxc[j]: the latest completion (by cut) among g[0..j); g[j]'s invocation is a quiescent
     * point when it is later. Walk j down from the culprit: the first window that fails is the
     * smallest. */
    maxc[0] = INT64_MIN;
    for (size_t i = 0; i < np; i++) {
        const struct lincheck_op *o = &ops[g[i]];

        maxc[i + 1] = maxc[i];
        if (!o->pending && o->complete <= cut && o->complete > maxc[i])
            maxc[i + 1] = o->complete;
    }
    for (size_t j = culprit_at + 1; j-- > 0;) {
        int64_t s = ops[g[j]].invoke;
        size_t w = 0;

        if ((j > 0 && ops[g[j - 1]].invoke == s) || maxc[j] >= s)
            continue;
        for (size_t i = 0; i < np; i++) {
            const struct lincheck_op *o = &ops[g[i]];

            if (i >= j || o->pending || o->complete > cut)
                win[w++] = g[i];
        }
        rc = check_sub(ops, win, w, cut, ANY, budget, &r->steps, &v);
        if (rc < 0)
            goto out;
        if (v == LINCHECK_VIOLATION) {
            rc = set_window(r, ops, win, w, cut, true);
            goto out;
        }
    }
    rc = set_window(r, ops, g, np, cut, false);
out:
    free(done);
    free(win);
    free(maxc);
    return rc;
}

/* ---- the interface ---- */

static bool valid_value(int64_t v)
{
    return v == LINCHECK_ABSENT || v >= LINCHECK_MIN_VALUE;
}

static bool valid(const struct lincheck_op *o)
{
    if (o->kind != LINCHECK_READ && o->kind != LINCHECK_WRITE && o->kind != LINCHECK_CAS)
        return false;
    if (!valid_value(o->value) || (o->kind != LINCHECK_READ && o->value == LINCHECK_ABSENT))
        return false;
    if (o->kind == LINCHECK_CAS && !valid_value(o->expected))
        return false;
    return o->pending || (o->complete >= o->invoke && o->complete < INT64_MAX);
}

int lincheck_check(const struct lincheck_op *ops, size_t n, uint64_t budget,
                   struct lincheck_result *out)
{
    size_t *idx;
    int rc = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++)
        if (!valid(&ops[i]))
            return CR_EINVAL;
    idx = malloc((n + 1) * sizeof *idx);
    if (!idx)
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    if (sort_idx(ops, idx, n, key_of, invoke_of) < 0) {
        free(idx);
        return CR_ENOMEM;
    }
    out->verdict = LINCHECK_LINEARIZABLE;
    for (size_t lo = 0, hi; lo < n; lo = hi) {
        enum lincheck_verdict v;

        for (hi = lo + 1; hi < n && ops[idx[hi]].key == ops[idx[lo]].key;)
            hi++;
        out->keys++;
        rc = check_sub(ops, idx + lo, hi - lo, INT64_MAX, LINCHECK_ABSENT, budget, &out->steps, &v);
        if (rc < 0)
            break;
        if (v == LINCHECK_LINEARIZABLE)
            continue;
        out->verdict = v;
        out->key = ops[idx[lo]].key;
        if (v == LINCHECK_VIOLATION)
            rc = minimize(ops, idx + lo, hi - lo, budget, out);
        break;
    }
    free(idx);
    if (rc < 0) {
        lincheck_result_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void lincheck_result_free(struct lincheck_result *r)
{
    free(r->window);
    r->window = NULL;
    r->n_window = 0;
}

static void print_value(FILE *f, int64_t v)
{
    if (v == LINCHECK_ABSENT)
        fprintf(f, "absent");
    else
        fprintf(f, "%" PRId64, v);
}

void lincheck_print(FILE *f, const struct lincheck_op *ops, const struct lincheck_result *r)
{
    int64_t t0;

    if (r->verdict == LINCHECK_LINEARIZABLE) {
        fprintf(f, "lincheck: %zu keys linearizable (%" PRIu64 " steps)\n", r->keys, r->steps);
        return;
    }
    if (r->verdict == LINCHECK_UNDECIDED) {
        fprintf(
            f, "lincheck: key %" PRIu64 " undecided: the step budget ran out (%" PRIu64 " steps)\n",
            r->key, r->steps);
        return;
    }
    fprintf(f,
            "lincheck: key %" PRIu64 " is NOT linearizable; the smallest failing window (%zu "
            "ops, %s):\n",
            r->key, r->n_window,
            r->from_any_state ? "from any value at its start" : "from the start, key absent");
    if (!r->n_window)
        return;
    t0 = ops[r->window[0]].invoke;
    fprintf(f, "  %-7s %-5s %12s %12s  %s\n", "client", "node", "invoke ms", "complete ms",
            "operation");
    for (size_t i = 0; i < r->n_window; i++) {
        const struct lincheck_op *o = &ops[r->window[i]];
        bool pending = o->pending || o->complete > r->window_end;

        fprintf(f, "  %-7d ", o->client);
        if (o->node)
            fprintf(f, "%-5d ", o->node);
        else
            fprintf(f, "%-5s ", "-");
        fprintf(f, "%12.3f ", (double)(o->invoke - t0) / 1e6);
        if (pending)
            fprintf(f, "%12s  ", "-");
        else
            fprintf(f, "%12.3f  ", (double)(o->complete - t0) / 1e6);
        switch (o->kind) {
        case LINCHECK_READ:
            fprintf(f, "read -> ");
            print_value(f, o->value);
            break;
        case LINCHECK_WRITE:
            fprintf(f, "write ");
            print_value(f, o->value);
            break;
        case LINCHECK_CAS:
            fprintf(f, "cas ");
            print_value(f, o->expected);
            fprintf(f, " -> ");
            print_value(f, o->value);
            if (!pending)
                fprintf(f, o->ok ? ": ok" : ": failed");
            break;
        }
        if (o->pending)
            fprintf(f, " (outcome unknown)");
        else if (pending)
            fprintf(f, " (completes after the window)");
        fprintf(f, "\n");
    }
}
