/*
 * The linearizability checker (lincheck.h): hand-made histories with a known answer (stale and
 * lost reads, concurrent writes in either order, pending operations taking effect or not,
 * conditional writes), the window a violation is reported with, the step budget; and a property
 * test against a brute-force checker that tries every order consistent with real time, on
 * thousands of random small histories — linearizable ones from a real sequential execution with
 * random intervals around each operation, and mutations of them. The two must agree on each, and
 * each reported window must itself fail the brute force.
 */
#include "lincheck.h"

#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define A LINCHECK_ABSENT
#define BUDGET 1000000

enum { R = LINCHECK_READ, W = LINCHECK_WRITE, C = LINCHECK_CAS };

/* A completed operation on key 0. */
static struct lincheck_op op(int kind, int64_t value, int64_t expected, bool ok, int64_t invoke,
                             int64_t complete)
{
    return (struct lincheck_op){.kind = (enum lincheck_kind)kind,
                                .value = value,
                                .expected = expected,
                                .ok = ok,
                                .invoke = invoke,
                                .complete = complete};
}

static struct lincheck_op pending(int kind, int64_t value, int64_t expected, int64_t invoke)
{
    return (struct lincheck_op){.kind = (enum lincheck_kind)kind,
                                .value = value,
                                .expected = expected,
                                .pending = true,
                                .invoke = invoke};
}

static enum lincheck_verdict verdict(const struct lincheck_op *ops, size_t n)
{
    struct lincheck_result r;

    assert_int_equal(lincheck_check(ops, n, BUDGET, &r), 0);
    lincheck_result_free(&r);
    return r.verdict;
}

#define LIN(...)                                                                                   \
    do {                                                                                           \
        struct lincheck_op h_[] = {__VA_ARGS__};                                                   \
        assert_int_equal(verdict(h_, sizeof h_ / sizeof h_[0]), LINCHECK_LINEARIZABLE);            \
    } while (0)
#define NOT_LIN(...)                                                                               \
    do {                                                                                           \
        struct lincheck_op h_[] = {__VA_ARGS__};                                                   \
        assert_int_equal(verdict(h_, sizeof h_ / sizeof h_[0]), LINCHECK_VIOLATION);               \
    } while (0)

static void test_reads_and_writes(void **state)
{
    (void)state;
    LIN(op(R, A, 0, 0, 0, 10));
    LIN(op(W, 1, 0, 0, 0, 10), op(R, 1, 0, 0, 20, 30));
    /* A stale read after a completed write; a read of a value nobody wrote. */
    NOT_LIN(op(W, 1, 0, 0, 0, 10), op(R, A, 0, 0, 20, 30));
    NOT_LIN(op(R, 7, 0, 0, 0, 10));
    /* A read concurrent with the write may see either. */
    LIN(op(W, 1, 0, 0, 0, 10), op(R, A, 0, 0, 5, 30));
    LIN(op(W, 1, 0, 0, 0, 10), op(R, 1, 0, 0, 5, 30));
    /* A lost write: acknowledged, then overwritten by nothing, yet the older value is back. */
    NOT_LIN(op(W, 1, 0, 0, 0, 10), op(W, 2, 0, 0, 20, 30), op(R, 1, 0, 0, 40, 50));
    /* Concurrent writes, either order; but once both are done the value no longer changes. */
    LIN(op(W, 1, 0, 0, 0, 10), op(W, 2, 0, 0, 5, 15), op(R, 1, 0, 0, 20, 30));
    LIN(op(W, 1, 0, 0, 0, 10), op(W, 2, 0, 0, 5, 15), op(R, 2, 0, 0, 20, 30));
    NOT_LIN(op(W, 1, 0, 0, 0, 10), op(W, 2, 0, 0, 5, 15), op(R, 1, 0, 0, 20, 30),
            op(R, 2, 0, 0, 40, 50));
    /* Two reads during a write: they may not go back. */
    LIN(op(W, 1, 0, 0, 0, 100), op(R, A, 0, 0, 10, 20), op(R, 1, 0, 0, 30, 40));
    NOT_LIN(op(W, 1, 0, 0, 0, 100), op(R, 1, 0, 0, 10, 20), op(R, A, 0, 0, 30, 40));
    /* Equal times are concurrent. */
    LIN(op(W, 1, 0, 0, 0, 10), op(R, A, 0, 0, 10, 20));
}

static void test_pending(void **state)
{
    (void)state;
    /* A write with no end may take effect at any time after its start, or never. */
    LIN(pending(W, 1, 0, 0), op(R, A, 0, 0, 10, 20));
    LIN(pending(W, 1, 0, 0), op(R, 1, 0, 0, 10, 20));
    LIN(pending(W, 1, 0, 0), op(R, A, 0, 0, 10, 20), op(R, 1, 0, 0, 30, 40));
    NOT_LIN(pending(W, 1, 0, 0), op(R, 1, 0, 0, 10, 20), op(R, A, 0, 0, 30, 40));
    /* Not before its start. */
    NOT_LIN(op(R, 1, 0, 0, 0, 10), pending(W, 1, 0, 20));
    /* Pending writes, two of them, in either order. */
    LIN(pending(W, 1, 0, 0), pending(W, 2, 0, 0), op(R, 2, 0, 0, 10, 20), op(R, 1, 0, 0, 30, 40));
    LIN(pending(W, 1, 0, 0), pending(W, 2, 0, 0), op(R, 1, 0, 0, 10, 20), op(R, 2, 0, 0, 30, 40));
    NOT_LIN(pending(W, 1, 0, 0), pending(W, 2, 0, 0), op(R, 1, 0, 0, 10, 20),
            op(R, 2, 0, 0, 30, 40), op(R, 1, 0, 0, 50, 60));
    /* A pending read says nothing. */
    LIN(op(W, 1, 0, 0, 0, 10), pending(R, 5, 0, 20));
    /* A pending CAS applies only where its condition holds. */
    LIN(op(W, 1, 0, 0, 0, 10), pending(C, 2, 1, 20), op(R, 2, 0, 0, 30, 40));
    NOT_LIN(op(W, 1, 0, 0, 0, 10), pending(C, 2, 3, 20), op(R, 2, 0, 0, 30, 40));
    NOT_LIN(op(W, 1, 0, 0, 0, 10), pending(C, 2, 1, 20), op(R, 2, 0, 0, 30, 40),
            op(R, 1, 0, 0, 50, 60));
}

static void test_cas(void **state)
{
    (void)state;
    LIN(op(C, 1, A, true, 0, 10), op(R, 1, 0, 0, 20, 30));
    LIN(op(W, 1, 0, 0, 0, 10), op(C, 2, 1, true, 20, 30), op(R, 2, 0, 0, 40, 50));
    LIN(op(W, 1, 0, 0, 0, 10), op(C, 2, 3, false, 20, 30), op(R, 1, 0, 0, 40, 50));
    /* A CAS that failed although the value was the one it expected. */
    NOT_LIN(op(W, 1, 0, 0, 0, 10), op(C, 2, 1, false, 20, 30));
    NOT_LIN(op(C, 1, A, false, 0, 10));
    /* Two creations of an absent key cannot both succeed... */
    NOT_LIN(op(C, 1, A, true, 0, 10), op(C, 2, A, true, 20, 30));
    NOT_LIN(op(C, 1, A, true, 0, 10), op(C, 2, A, true, 5, 30));
    /* ...and one of two concurrent ones may lose either way. */
    LIN(op(C, 1, A, true, 0, 10), op(C, 2, A, false, 5, 30), op(R, 1, 0, 0, 40, 50));
    LIN(op(C, 1, A, false, 0, 10), op(C, 2, A, true, 5, 30), op(R, 2, 0, 0, 40, 50));
    /* A failed CAS proves a concurrent write happened before it. */
    LIN(op(W, 1, 0, 0, 0, 10), op(W, 2, 0, 0, 15, 40), op(C, 3, 1, false, 20, 30),
        op(R, 2, 0, 0, 50, 60));
    NOT_LIN(op(W, 1, 0, 0, 0, 10), op(W, 2, 0, 0, 25, 40), op(C, 3, 1, false, 12, 20));
}

/* Keys are independent; the report names the one that fails, with its smallest window. */
static void test_report(void **state)
{
    struct lincheck_op h[210];
    struct lincheck_result r;
    size_t n = 0;

    (void)state;
    for (int i = 0; i < 100; i++) {
        h[n] = op(W, i + 1, 0, 0, i * 100, i * 100 + 10);
        h[n++].key = 7;
        h[n] = op(R, i + 1, 0, 0, i * 100 + 20, i * 100 + 30);
        h[n++].key = 7;
    }
    h[n] = op(W, 500, 0, 0, 0, 5);
    h[n++].key = 3;
    assert_int_equal(lincheck_check(h, n, BUDGET, &r), 0);
    assert_int_equal(r.verdict, LINCHECK_LINEARIZABLE);
    assert_int_equal(r.keys, 2);
    lincheck_result_free(&r);

    /* A stale read in the middle of key 7: the window is the write it missed and itself. */
    h[101].value = 50;
    assert_int_equal(lincheck_check(h, n, BUDGET, &r), 0);
    lincheck_print(stdout, h, &r);
    assert_int_equal(r.verdict, LINCHECK_VIOLATION);
    assert_int_equal(r.key, 7);
    assert_true(r.from_any_state);
    assert_int_equal(r.n_window, 2);
    assert_int_equal(r.window[0], 100);
    assert_int_equal(r.window[1], 101);
    assert_int_equal(r.window_end, h[101].complete);
    lincheck_result_free(&r);

    /* A read of a value nobody wrote after another write: from any state, the two. */
    h[1].value = 999;
    h[101].value = 51;
    assert_int_equal(lincheck_check(h, n, BUDGET, &r), 0);
    assert_int_equal(r.verdict, LINCHECK_VIOLATION);
    assert_true(r.from_any_state);
    assert_int_equal(r.n_window, 2);
    assert_int_equal(r.window[0], 0);
    assert_int_equal(r.window[1], 1);
    lincheck_result_free(&r);

    /* The same as the first operation: no value at the start explains less than the start. */
    assert_int_equal(lincheck_check(h + 1, 1, BUDGET, &r), 0);
    assert_int_equal(r.verdict, LINCHECK_VIOLATION);
    assert_false(r.from_any_state);
    assert_int_equal(r.n_window, 1);
    assert_int_equal(r.window[0], 0);
    lincheck_result_free(&r);
}

static void test_budget_and_errors(void **state)
{
    struct lincheck_op h[40];
    struct lincheck_result r;

    (void)state;
    /* Many concurrent writes, then reads going back and forth between two values: refuting it
     * takes every subset of the writes. */
    for (int i = 0; i < 20; i++)
        h[i] = op(W, i + 1, 0, 0, 0, 1000);
    for (int i = 0; i < 20; i++)
        h[20 + i] = op(R, i % 2 + 1, 0, 0, 10 + 2 * i, 11 + 2 * i);
    assert_int_equal(lincheck_check(h, 40, 1000, &r), 0);
    assert_int_equal(r.verdict, LINCHECK_UNDECIDED);
    assert_int_equal(r.key, 0);
    assert_true(r.steps > 1000);
    lincheck_print(stdout, h, &r);
    lincheck_result_free(&r);

    h[0] = op(W, 1, 0, 0, 10, 5);
    assert_int_equal(lincheck_check(h, 1, BUDGET, &r), CR_EINVAL);
    h[0] = op(W, A, 0, 0, 0, 5);
    assert_int_equal(lincheck_check(h, 1, BUDGET, &r), CR_EINVAL);
    h[0] = op(R, LINCHECK_MIN_VALUE - 1, 0, 0, 0, 5);
    assert_int_equal(lincheck_check(h, 1, BUDGET, &r), CR_EINVAL);
    h[0] = op(7, 1, 0, 0, 0, 5);
    assert_int_equal(lincheck_check(h, 1, BUDGET, &r), CR_EINVAL);
    assert_int_equal(lincheck_check(h, 0, BUDGET, &r), 0);
    assert_int_equal(r.verdict, LINCHECK_LINEARIZABLE);
}

/* ---- the brute force ---- */

#define MAX_OPS 7
#define KEYS 2
#define LONG_OPS 1000

struct brute {
    const struct lincheck_op *ops;
    size_t n;
    int64_t cut; /* operations completing after it are pending */
    bool placed[MAX_OPS];
    int64_t state[KEYS];
};

static bool is_pending(const struct brute *b, size_t i)
{
    return b->ops[i].pending || b->ops[i].complete > b->cut;
}

/* Places one more operation, every way real time allows; true once every completed operation is
 * placed (pending ones left out never took effect). */
static bool place(struct brute *b)
{
    bool all = true;

    for (size_t i = 0; i < b->n; i++)
        if (!b->placed[i] && !is_pending(b, i))
            all = false;
    if (all)
        return true;
    for (size_t i = 0; i < b->n; i++) {
        const struct lincheck_op *o = &b->ops[i];
        int64_t *s = &b->state[o->key], before = *s;
        bool ok = true, p = is_pending(b, i);

        if (b->placed[i] || (p && o->kind == LINCHECK_READ))
            continue;
        for (size_t j = 0; j < b->n && ok; j++)
            if (!b->placed[j] && j != i && !is_pending(b, j) && b->ops[j].complete < o->invoke)
                ok = false; /* j completed before i began: j goes first */
        if (!ok)
            continue;
        switch (o->kind) {
        case LINCHECK_READ:
            ok = *s == o->value;
            break;
        case LINCHECK_WRITE:
            *s = o->value;
            break;
        case LINCHECK_CAS:
            if (p) { /* it runs here: applies if it may, else fails and changes nothing */
                if (*s == o->expected)
                    *s = o->value;
            } else if (o->ok) {
                ok = *s == o->expected;
                *s = o->value;
            } else {
                ok = *s != o->expected;
            }
            break;
        }
        if (ok) {
            b->placed[i] = true;
            if (place(b))
                return true;
            b->placed[i] = false;
        }
        *s = before;
    }
    return false;
}

/* Whether ops[0..n) (keys < KEYS) cut at cut is linearizable from init on every key. */
static bool brute_from(const struct lincheck_op *ops, size_t n, int64_t cut, int64_t init)
{
    struct brute b = {ops, n, cut, {0}, {0}};

    for (int k = 0; k < KEYS; k++)
        b.state[k] = init;
    return place(&b);
}

/* ...from some value at the start: absent, one of the values in the history, or another. */
static bool brute_any(const struct lincheck_op *ops, size_t n, int64_t cut)
{
    if (brute_from(ops, n, cut, A) || brute_from(ops, n, cut, 1000000))
        return true;
    for (size_t i = 0; i < n; i++)
        if (brute_from(ops, n, cut, ops[i].value) ||
            (ops[i].kind == LINCHECK_CAS && brute_from(ops, n, cut, ops[i].expected)))
            return true;
    return false;
}

/* ---- random histories ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t below(int64_t n)
{
    return (int64_t)(next_rand() % (uint64_t)n);
}

/* A value: small ones repeat, which the checker must handle too (unless unique); or a fresh
 * one. */
static int64_t value(int64_t *fresh, bool unique)
{
    return below(3) == 0 && !unique ? below(3) + 1 : (*fresh)++;
}

/* n operations of a real sequential execution on KEYS registers, each at its own point in time
 * with a random interval around it (up to spread either side); one in pending_1_in pending
 * (having taken effect or not). Unique: every value written is new (as in the cluster test). */
static void sequential_wide(struct lincheck_op *h, size_t n, int64_t spread, int pending_1_in,
                            bool unique)
{
    int64_t st[KEYS] = {A, A}, t = 0, fresh = 10;

    for (size_t i = 0; i < n; i++) {
        struct lincheck_op *o = &h[i];
        bool effect = true;
        int64_t *s;

        t += below(10) + 1;
        memset(o, 0, sizeof *o);
        o->key = (uint64_t)below(KEYS);
        o->kind = (enum lincheck_kind)below(3);
        o->invoke = t - below(spread);
        o->complete = t + below(spread);
        o->client = (int)i;
        s = &st[o->key];
        if (below(pending_1_in) == 0) {
            o->pending = true;
            effect = below(2) == 0;
        }
        switch (o->kind) {
        case LINCHECK_READ:
            o->value = *s;
            break;
        case LINCHECK_WRITE:
            o->value = value(&fresh, unique);
            if (effect)
                *s = o->value;
            break;
        case LINCHECK_CAS:
            o->value = value(&fresh, unique);
            o->expected = below(2) ? *s : below(3) == 0 ? A : below(4) + 1;
            o->ok = *s == o->expected;
            if (effect && o->ok)
                *s = o->value;
            break;
        }
    }
}

static void sequential(struct lincheck_op *h, size_t n)
{
    sequential_wide(h, n, 40, 6, false);
}

/* One random change, which may or may not break linearizability. */
static void mutate(struct lincheck_op *h, size_t n)
{
    struct lincheck_op *o = &h[below((int64_t)n)];
    int64_t d;

    switch (below(6)) {
    case 0:
        o->value = below(3) == 0 ? A : below(4) + 1;
        if (o->kind != LINCHECK_READ && o->value == A)
            o->value = 1;
        break;
    case 1:
        o->ok = !o->ok;
        break;
    case 2: /* move it in time */
        d = below(80) - 40;
        o->invoke += d;
        o->complete += d;
        break;
    case 3: /* shrink its interval */
        o->complete = o->invoke + below(o->complete - o->invoke + 1);
        break;
    case 4:
        o->pending = !o->pending;
        break;
    default:
        o->key = (o->key + 1) % KEYS;
        break;
    }
}

/* Checks h both ways; on a violation the reported window must fail the brute force itself. */
static void agree(const struct lincheck_op *h, size_t n, int round, int *violations)
{
    struct lincheck_result r;
    struct lincheck_op w[MAX_OPS];
    bool lin = brute_from(h, n, INT64_MAX, A);

    assert_int_equal(lincheck_check(h, n, BUDGET, &r), 0);
    if (r.verdict != (lin ? LINCHECK_LINEARIZABLE : LINCHECK_VIOLATION)) {
        lincheck_print(stdout, h, &r);
        fail_msg("round %d: brute force says %s, lincheck %d", round,
                 lin ? "linearizable" : "not linearizable", (int)r.verdict);
    }
    if (!lin) {
        (*violations)++;
        assert_true(r.n_window >= 1 && r.n_window <= n);
        for (size_t i = 0; i < r.n_window; i++) {
            w[i] = h[r.window[i]];
            assert_true(w[i].key == r.key);
        }
        if (r.from_any_state)
            assert_false(brute_any(w, r.n_window, r.window_end));
        else
            assert_false(brute_from(w, r.n_window, r.window_end, A));
    }
    lincheck_result_free(&r);
}

static void test_against_brute_force(void **state)
{
    struct lincheck_op h[MAX_OPS];
    int violations = 0, rounds = 20000;

    (void)state;
    for (int round = 0; round < rounds; round++) {
        size_t n = (size_t)below(MAX_OPS) + 1;

        sequential(h, n);
        if (round % 2 == 0) {
            bool lin = brute_from(h, n, INT64_MAX, A);

            if (!lin)
                fail_msg("round %d: a sequential execution is not linearizable", round);
        } else {
            for (int k = (int)below(3); k >= 0; k--)
                mutate(h, n);
        }
        agree(h, n, round, &violations);
    }
    printf("%d random histories, %d not linearizable, lincheck agreed on each\n", rounds,
           violations);
    /* The mutations must produce a fair share of violations, or the test proves little. */
    assert_true(violations > rounds / 20);
}

/* Long histories (several words of bits per memo entry): sequential executions with unique
 * values, about 6 operations in flight per key and a few pending ones, are linearizable; a read of
 * "absent" appended after them is not, and its window ends with it (a long window: these
 * histories have few quiescent points). */
static void test_long_histories(void **state)
{
    static struct lincheck_op h[LONG_OPS + 1];
    struct lincheck_result r;
    uint64_t steps = 0;

    (void)state;
    for (int round = 0; round < 20; round++) {
        size_t n = LONG_OPS / 2 + (size_t)below(LONG_OPS / 2);
        bool written = false;

        sequential_wide(h, n, 60, 40, true);
        assert_int_equal(lincheck_check(h, n, BUDGET, &r), 0);
        if (r.verdict != LINCHECK_LINEARIZABLE)
            lincheck_print(stdout, h, &r);
        assert_int_equal(r.verdict, LINCHECK_LINEARIZABLE);
        steps += r.steps;
        lincheck_result_free(&r);
        for (size_t i = 0; i < n; i++)
            written |= !h[i].pending && h[i].key == 0 && h[i].kind == LINCHECK_WRITE;
        if (!written)
            continue;
        h[n] = op(R, A, 0, 0, h[n - 1].invoke + 10000, h[n - 1].invoke + 10001);
        assert_int_equal(lincheck_check(h, n + 1, 50 * BUDGET, &r), 0);
        assert_int_equal(r.verdict, LINCHECK_VIOLATION);
        assert_int_equal(r.key, 0);
        assert_int_equal(r.window[r.n_window - 1], n);
        steps += r.steps;
        lincheck_result_free(&r);
    }
    printf("20 histories of up to %d operations, and a violation added to each, in %llu steps\n",
           LONG_OPS, (unsigned long long)steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_and_writes),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_cas),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_budget_and_errors),
        cmocka_unit_test(test_against_brute_force),
        cmocka_unit_test(test_long_histories),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
