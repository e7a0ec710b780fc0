/*
 * Clock helpers shared by the threads that wait: a monotonic millisecond count for durations, and
 * an absolute CLOCK_REALTIME deadline for pthread_cond_timedwait (whose default clock it is).
 */
#ifndef CR_COMMON_CLOCK_H
#define CR_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t cr_mono_ms(void);

/* CLOCK_REALTIME in milliseconds since 1970: comparable between processes and (clocks
 * synchronized) between machines. */
uint64_t cr_wall_ms(void);

/* The CLOCK_REALTIME instant ms milliseconds from now. */
struct timespec cr_deadline(unsigned ms);

#endif
