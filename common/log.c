/* stderr logging: format the whole line first so that concurrent threads never interleave. */
#include "common/log.h"
#include "common/assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static enum cr_log_level min_level = CR_LOG_INFO;

void cr_log_set_level(enum cr_log_level level)
{
    min_level = level;
}

void cr_log(enum cr_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    if (level < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 names[level]);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void cr_assert_fail(const char *expr, const char *file, int line)
{
    cr_log(CR_LOG_ERROR, "assertion failed: %s (%s:%d)", expr, file, line);
    abort();
}

int cr_corrupt_at(const char *file, int line)
{
    cr_log(CR_LOG_ERROR, "corruption detected at %s:%d", file, line);
    return CR_ECORRUPT;
}
