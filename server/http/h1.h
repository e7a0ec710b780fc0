/*
 * HTTP/1.1 request framing (RFC 9112), as pure functions over a buffer: the request line and
 * header fields of a head, the body's length, and chunked bodies. No sockets, no allocation:
 * http.c owns the buffer and the connection; the fuzz target drives these directly.
 *
 * A head is parsed in place once it is complete (its blank line has arrived): the parser writes
 * NUL terminators over the delimiters so every field is a C string pointing into the buffer.
 * Strict where leniency would let two parsers disagree about where a request ends (request
 * smuggling): a Content-Length that is not all digits, two different Content-Lengths, a
 * Transfer-Encoding other than "chunked", both Transfer-Encoding and Content-Length, obs-fold
 * continuation lines, whitespace before a field's colon and bare LF line ends are refused.
 */
#ifndef CR_SERVER_HTTP_H1_H
#define CR_SERVER_HTTP_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H1_MAX_FIELDS 64 /* header fields a request may carry */

struct h1_field {
    const char *name;  /* as sent (case kept); compare with strcasecmp */
    const char *value; /* leading and trailing whitespace removed */
};

struct h1_request {
    const char *method;
    const char *path;  /* the request target up to '?', still percent-encoded; of an
                          absolute-form target ("http://host/p") only the path ("/p") */
    const char *query; /* after '?', NULL when there is none */
    int minor;         /* HTTP/1.<minor>: 0 or 1 */
    struct h1_field fields[H1_MAX_FIELDS];
    size_t n_fields;
    size_t head_len;         /* bytes of the head, through its blank line */
    uint64_t content_length; /* meaningful when has_length */
    bool has_length;
    bool chunked;
    bool keep_alive;      /* HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive */
    bool expect_continue; /* "Expect: 100-continue" */
};

/* Is c a token character (RFC 9110 5.6.2: method names, field names, coding names)? */
bool h1_is_tchar(unsigned char c);

/*
 * Looks for the end of a head in buf[0..len): the length of the head through its blank line,
 * or 0 when it has not all arrived. `from` is where the previous call stopped looking (0 at
 * first), so a head arriving in many reads is scanned once.
 */
size_t h1_head_end(const char *buf, size_t len, size_t from);

/*
 * Parses the complete head buf[0..head_len) (head_len from h1_head_end) into req, in place.
 * Returns 0, or:
 *   CR_EPROTO      malformed (answer 400)
 *   CR_ETOOMANY    more than H1_MAX_FIELDS fields (431)
 *   CR_EUNKNOWNOP  a transfer coding other than chunked (501), or HTTP other than 1.0 and 1.1
 *                  (505: req->minor is then -1)
 */
int h1_parse_head(char *buf, size_t head_len, struct h1_request *req);

/* The value of the first field called name (case-insensitive), NULL when absent. */
const char *h1_field(const struct h1_request *req, const char *name);

/*
 * A chunked body in buf[0..len) (the bytes after the head). When all of it has arrived
 * (through the last chunk and any trailer fields) decodes it in place to buf[0..*body_len) and
 * returns the number of bytes of buf the encoded body took; returns 0 when more is needed and
 * leaves buf untouched. Errors: CR_EPROTO (malformed), CR_EFRAMETOOBIG (the decoded body
 * would exceed max_body; detected as soon as a chunk size says so).
 */
int64_t h1_dechunk(char *buf, size_t len, size_t max_body, size_t *body_len);

#endif
