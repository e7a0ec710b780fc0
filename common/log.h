/*
 * Logging to stderr, one line per event: "2026-01-02T03:04:05.678Z LEVEL message".
 * Thread-safe (one write(2) per line). Levels below the configured one are dropped.
 */
#ifndef CR_LOG_H
#define CR_LOG_H

/* CR_LOG_OFF as the minimum level silences every line (fuzzers, tests that provoke errors). */
enum cr_log_level { CR_LOG_DEBUG, CR_LOG_INFO, CR_LOG_WARN, CR_LOG_ERROR, CR_LOG_OFF };

void cr_log_set_level(enum cr_log_level level);
void cr_log(enum cr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
