/*
 * libFuzzer target: bytes as they arrive on an HTTP connection, through h1.c as http.c uses it:
 * the end of the head, the head parsed in place, then the body framed (chunked, or by length).
 * Never a crash or a read outside the input; every field parsed lies inside the head; a chunked
 * body decodes to no more bytes than it took, and decoding is all-or-nothing.
 */
#include "common/assert.h"
#include "server/http/h1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const char *p, const char *buf, size_t len)
{
    return p >= buf && p < buf + len && memchr(p, 0, (size_t)(buf + len - p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1), *copy = malloc(size ? size : 1);
    struct h1_request req;
    size_t end, body_len;
    int64_t n;

    CR_ASSERT(buf && copy);
    memcpy(buf, data, size);
    end = h1_head_end(buf, size, 0);
    CR_ASSERT(end <= size);
    if (end && h1_parse_head(buf, end, &req) == 0) {
        CR_ASSERT(req.head_len == end && (req.minor == 0 || req.minor == 1));
        CR_ASSERT(inside(req.method, buf, end));
        CR_ASSERT(inside(req.path, buf, end) || strcmp(req.path, "/") == 0); /* absolute-form */
        CR_ASSERT(!req.query || inside(req.query, buf, end));
        CR_ASSERT(!(req.chunked && req.has_length));
        for (size_t i = 0; i < req.n_fields; i++)
            CR_ASSERT(inside(req.fields[i].name, buf, end) &&
                      inside(req.fields[i].value, buf, end));
    }
    /* The rest (or all of it, when there is no head) as a chunked body. */
    memcpy(copy, buf + end, size - end);
    n = h1_dechunk(buf + end, size - end, 1 << 16, &body_len);
    CR_ASSERT(n <= (int64_t)(size - end));
    if (n > 0)
        CR_ASSERT(body_len <= (size_t)n && body_len <= 1 << 16);
    else
        CR_ASSERT(memcmp(copy, buf + end, size - end) == 0);
    free(copy);
    free(buf);
    return 0;
}
