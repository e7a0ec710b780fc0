/*
 * lincheck: decides whether a recorded history of operations on registers is linearizable
 * (Herlihy and Wing), by the search of Wing and Gong with Lowe's memoization of (operations
 * linearized, register value) pairs, one key at a time (a history is linearizable iff each key's
 * is). The model is one register per key: a write sets it, a read returns its value or "absent",
 * a conditional write (compare-and-set) sets it only when it holds the expected value (or is
 * absent, when the expected value is LINCHECK_ABSENT) and tells whether it did.
 *
 * What the caller records (docs/cluster-testing.md):
 *  - every operation that completed, with its result, invocation and completion times;
 *  - operations whose outcome is unknown (a timeout, a lost connection, an error that does not
 *    prove nothing was applied) as pending: they have no end, and may take effect at any time
 *    after their invocation, or never. A pending read says nothing and is ignored;
 *  - NOT the operations that certainly had no effect (refused before anything was applied).
 *
 * It reads no clock and does no I/O except lincheck_print(). The search is bounded by a step
 * budget per key; past it the verdict is LINCHECK_UNDECIDED, never a guess.
 */
#ifndef CR_LINCHECK_H
#define CR_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The value of an absent key (a read that found nothing; a CAS that requires the key absent).
 * Other values are at least LINCHECK_MIN_VALUE: the checker uses the few between internally. */
#define LINCHECK_ABSENT INT64_MIN
#define LINCHECK_MIN_VALUE (INT64_MIN + 3)

enum lincheck_kind {
    LINCHECK_READ,
    LINCHECK_WRITE,
    LINCHECK_CAS,
};

struct lincheck_op {
    uint64_t key; /* keys are independent registers, all absent at the start */
    enum lincheck_kind kind;
    int64_t value;    /* READ: the value read (LINCHECK_ABSENT: none); WRITE, CAS: the new value */
    int64_t expected; /* CAS: the value required (LINCHECK_ABSENT: the key must be absent) */
    bool ok;          /* CAS: true if it applied, false if its condition failed */
    bool pending;     /* the outcome is unknown: complete and ok are ignored */
    int64_t invoke;   /* nanoseconds on one monotonic clock */
    int64_t complete; /* >= invoke, below INT64_MAX */
    int client;       /* who ran it, for reports */
    int node;         /* the node asked (1-based), for reports; 0: not said */
};

enum lincheck_verdict {
    LINCHECK_LINEARIZABLE,
    LINCHECK_VIOLATION,
    LINCHECK_UNDECIDED, /* the step budget ran out on some key */
};

/*
 * The verdict, and for a violation the smallest window that shows it: the operations of one key
 * (indexes into the caller's array, by invocation) from a quiescent point (no operation completed
 * by window_end spans it) to window_end, the completion of the first operation no linearization
 * can reach. Operations of the window that complete after window_end (or never) count as
 * pending. With from_any_state the window is not linearizable from any value of the register at
 * its start; otherwise it starts with the history, from the absent register. Owned by the
 * result: lincheck_result_free().
 */
struct lincheck_result {
    enum lincheck_verdict verdict;
    uint64_t key; /* VIOLATION, UNDECIDED: the first key (by key order) that failed */
    size_t *window;
    size_t n_window;
    int64_t window_end;
    bool from_any_state;
    size_t keys;    /* keys checked */
    uint64_t steps; /* search steps in all, the window's search included */
};

/*
 * Checks ops[0..n) with at most budget search steps per key (a step tries one operation at one
 * point; a few million take about a second). Fills *out (zeroed first).
 * CR_EINVAL: an operation of an unknown kind, completing before its invocation, with a value
 * below LINCHECK_MIN_VALUE other than LINCHECK_ABSENT, or writing LINCHECK_ABSENT; CR_ENOMEM.
 * Then *out holds nothing to free.
 */
int lincheck_check(const struct lincheck_op *ops, size_t n, uint64_t budget,
                   struct lincheck_result *out);

void lincheck_result_free(struct lincheck_result *r);

/* Writes the verdict and, for a violation, the window, one operation a line, times in ms from the
 * window's first invocation. */
void lincheck_print(FILE *f, const struct lincheck_op *ops, const struct lincheck_result *r);

#endif
