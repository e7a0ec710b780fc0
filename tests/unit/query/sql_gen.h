/*
 * Random material for the planner's property tests (test_sql_plan_property.c over the in-memory
 * collection, test_sql_storage.c over real storage): documents of mixed types with missing
 * fields, nested objects and arrays; indexing policies (everything, include or exclude patterns,
 * none) with composite indexes; queries whose WHERE, JOIN, ORDER BY, TOP, OFFSET, LIMIT,
 * DISTINCT and aggregates exercise every planner rule; and the helpers that compare results.
 * One seeded generator (gen_start), so a seed names a case. Values come from one arena
 * (gen_arena), freed by gen_free.
 */
#ifndef CR_SQL_GEN_H
#define CR_SQL_GEN_H

#include "query/sql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_PARAMS 16

struct text {
    char s[16384];
    size_t n;
};

struct gen {
    int join; /* 0 none, 1 JOIN t IN c.tags, 2 JOIN t IN c.items */
    struct sql_param params[MAX_PARAMS];
    char names[MAX_PARAMS][8];
    size_t n_params;
    const char *used[8]; /* paths the WHERE tests, for ORDER BY to reuse */
    size_t n_used;
};

struct query {
    struct text full, cut; /* with and without TOP, OFFSET and LIMIT */
    size_t n_order;
    bool grouped;
    struct gen g;
};

struct policy {
    struct indexing_policy ix;
    const char *inc[8], *exc[8];
    struct composite_def comp[3];
    struct composite_path cpaths[3][3];
};

struct all_src {
    const struct value *docs;
    size_t n, i;
};

/* The shared arena every generated value lives in: gen_init, gen_reset between cases, gen_free. */
struct cr_arena *gen_arena(void);
void gen_init(void);
void gen_reset(void);
void gen_free(void);

/* Seeds the generator for one case (and decides whether its values are dense). */
void gen_start(uint64_t seed);
/* From now on, some strings are long ones sharing a long prefix (off by default). */
void gen_long_strings(bool on);
uint32_t gen_rnd(uint32_t n);

/* Document i: a MAP with "id" = "d<i>" and random fields a, b, c, items, o, tags. */
struct value gen_doc(size_t i);
void gen_policy(struct policy *p);
void gen_print_policy(const struct policy *p);
/* A random query over collection c for policy ix, with its parameters in q->g. */
void gen_query(struct query *q, const struct indexing_policy *ix);

void gen_add_value(struct text *t, const struct value *v);
void gen_show_rows(const char *what, const struct value *v, size_t n);

/* A source over docs[0..n) in order. */
int gen_all_next(void *ctx, const struct value **doc);
/* Both undefined, or equal in value_compare. */
int gen_order_eq(const struct value *a, const struct value *b);
/* Every row of p is among those of full, each used once. */
bool gen_submultiset(const struct value *p, size_t np, const struct value *full, size_t nf);

#endif
