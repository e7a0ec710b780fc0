/*
 * Invariant checks. CR_ASSERT stays on in debug and CI builds (CR_DEBUG); a failed assertion
 * prints the expression and location and aborts. CR_CORRUPT() reports storage corruption with
 * the line that found it (SQLite's SQLITE_CORRUPT_BKPT) and evaluates to CR_ECORRUPT.
 */
#ifndef CR_ASSERT_H
#define CR_ASSERT_H

#include "common/error.h"

void cr_assert_fail(const char *expr, const char *file, int line);
int cr_corrupt_at(const char *file, int line);

#ifdef CR_DEBUG
#define CR_ASSERT(e) ((e) ? (void)0 : cr_assert_fail(#e, __FILE__, __LINE__))
#else
#define CR_ASSERT(e) ((void)0)
#endif

#define CR_CORRUPT() cr_corrupt_at(__FILE__, __LINE__)

#endif
