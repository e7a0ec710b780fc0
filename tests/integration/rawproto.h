/*
 * Raw native-protocol access for tests that must send what a well-behaved client never would:
 * hand-built frames, garbage, truncation. Uses the generated protobuf-c code directly.
 */
#ifndef CR_TEST_RAWPROTO_H
#define CR_TEST_RAWPROTO_H

#include "cirrus.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Writes all n bytes; 0 or -1. */
int raw_write(int fd, const void *p, size_t n);
/* Sends a 4-byte big-endian length and the packed request. 0 or -1. */
int raw_send(int fd, const Cirrus__Request *req);
/* Receives one response frame within timeout_ms; NULL on close, timeout or garbage. Free with
 * cirrus__response__free_unpacked(r, NULL). */
Cirrus__Response *raw_recv(int fd, int timeout_ms);
/* True when the peer closes the connection within timeout_ms (reads and discards data). */
int raw_wait_closed(int fd, int timeout_ms);
/* One request, one response. */
Cirrus__Response *raw_call(int fd, Cirrus__Request *req);

/* Value builders; they allocate with malloc and are freed with raw_value_free. */
Cirrus__Value *raw_str(const char *s);
Cirrus__Value *raw_int(int64_t i);
Cirrus__Value *raw_dec(const char *s);
Cirrus__Value *raw_bytes(const void *p, size_t n);
Cirrus__Value *raw_map(size_t n, const char *const *names, Cirrus__Value **values);
void raw_value_free(Cirrus__Value *v);
/* A MapValue of n fields (names copied; values owned by the map). */
Cirrus__MapValue *raw_mapvalue(size_t n, const char *const *names, Cirrus__Value **values);
void raw_mapvalue_free(Cirrus__MapValue *m);

#endif
