/*
 * HTTP/1.1 request framing: heads parsed in place and chunked bodies decoded in place. See h1.h
 * for what is refused and why; RFC 9112 sections are named where a rule comes from.
 */
#include "server/http/h1.h"

#include "common/error.h"

#include <string.h>
#include <strings.h>

/*
 * RFC 9110 5.6.2: tchar, the characters of a token (methods, field names, codings): digits,
 * letters and !#$%&'*+-.^_`|~, as a bitmap over ASCII (bit c of word c / 32). test_h1 checks it
 * against that definition.
 */
static const uint32_t tchar_bits[4] = {0x00000000u, 0x03FF6CFAu, 0xC7FFFFFEu, 0x57FFFFFFu};

bool h1_is_tchar(unsigned char c)
{
    return c < 128 && (tchar_bits[c >> 5] >> (c & 31) & 1u);
}

/* Field values: visible characters, space, tab and obs-text; no CR, LF or NUL. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= ' ' && c != 0x7f);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

size_t h1_head_end(const char *buf, size_t len, size_t from)
{
    /* Resume three bytes back: the terminator may straddle two reads. */
    size_t i = from > 3 ? from - 3 : 0;

    while (i + 4 <= len) {
        const char *cr = memchr(buf + i, '\r', len - i);

        if (!cr || (size_t)(cr - buf) + 4 > len)
            return 0;
        i = (size_t)(cr - buf);
        if (memcmp(cr, "\r\n\r\n", 4) == 0)
            return i + 4;
        i++;
    }
    return 0;
}

/* s[0..n) as an unsigned decimal without sign or spaces, at most 2^63 - 1. */
static bool parse_length(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Does the comma-separated list `value` hold the token `tok` (case-insensitive)? */
static bool list_has(const char *value, const char *tok)
{
    size_t n = strlen(tok);

    for (const char *p = value; *p;) {
        size_t len;

        while (*p == ',' || is_ows(*p))
            p++;
        len = strcspn(p, ",");
        while (len && is_ows(p[len - 1]))
            len--;
        if (len == n && strncasecmp(p, tok, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

/*
 * The path of a request target without its query: origin-form ("/a/b") as it is; absolute-form
 * ("http://host:8000/a/b", which RFC 9112 3.2.2 says a server must accept) without its scheme and
 * authority, "/" when nothing follows them. Other forms (asterisk, authority) are returned as
 * they are: no route matches them.
 */
static const char *origin_path(const char *target)
{
    const char *p;

    if (strncasecmp(target, "http://", 7) == 0)
        p = target + 7;
    else if (strncasecmp(target, "https://", 8) == 0)
        p = target + 8;
    else
        return target;
    p = strchr(p, '/');
    return p ? p : "/";
}

/* The request line "METHOD SP target SP HTTP/1.x", NUL-terminated in place at line[len]. */
static int parse_request_line(char *line, size_t len, struct h1_request *req)
{
    char *sp1 = memchr(line, ' ', len);
    char *target, *sp2, *version, *q;

    if (!sp1 || sp1 == line)
        return CR_EPROTO;
    for (char *p = line; p < sp1; p++) {
        if (!h1_is_tchar((unsigned char)*p))
            return CR_EPROTO;
    }
    target = sp1 + 1;
    sp2 = memchr(target, ' ', len - (size_t)(target - line));
    if (!sp2 || sp2 == target)
        return CR_EPROTO;
    for (char *p = target; p < sp2; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return CR_EPROTO;
    }
    version = sp2 + 1;
    if ((size_t)(line + len - version) != 8 || memcmp(version, "HTTP/", 5) != 0 ||
        version[5] < '0' || version[5] > '9' || version[6] != '.' || version[7] < '0' ||
        version[7] > '9')
        return CR_EPROTO;
    *sp1 = 0;
    *sp2 = 0;
    req->method = line;
    q = strchr(target, '?');
    req->query = NULL;
    if (q) {
        *q = 0;
        req->query = q + 1;
    }
    req->path = origin_path(target);
    if (version[5] != '1' || version[7] > '1') {
        req->minor = -1;
        return CR_EUNKNOWNOP;
    }
    req->minor = version[7] - '0';
    return 0;
}

/* One field line "name: value" of len bytes, NUL-terminated in place. */
static int parse_field(char *line, size_t len, struct h1_request *req)
{
    char *colon = memchr(line, ':', len);
    char *v, *end = line + len;

    if (!colon || colon == line)
        return CR_EPROTO;
    for (char *p = line; p < colon; p++) {
        if (!h1_is_tchar((unsigned char)*p))
            return CR_EPROTO; /* also whitespace before the colon (RFC 9112 5.1) */
    }
    for (char *p = colon + 1; p < end; p++) {
        if (!is_value_char((unsigned char)*p))
            return CR_EPROTO;
    }
    if (req->n_fields == H1_MAX_FIELDS)
        return CR_ETOOMANY;
    v = colon + 1;
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;
    *colon = 0;
    *end = 0;
    req->fields[req->n_fields++] = (struct h1_field){line, v};
    return 0;
}

/* The framing fields: Content-Length, Transfer-Encoding, Connection, Expect. */
static int read_framing(struct h1_request *req)
{
    const char *connection = NULL;
    bool has_te = false;

    for (size_t i = 0; i < req->n_fields; i++) {
        const char *name = req->fields[i].name, *value = req->fields[i].value;

        if (strcasecmp(name, "Content-Length") == 0) {
            uint64_t n;

            if (!parse_length(value, strlen(value), &n) ||
                (req->has_length && n != req->content_length))
                return CR_EPROTO;
            req->content_length = n;
            req->has_length = true;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            /* Only "chunked", once (RFC 9112 6.1): anything else cannot be framed here. */
            if (has_te || strcasecmp(value, "chunked") != 0)
                return has_te ? CR_EPROTO : CR_EUNKNOWNOP;
            has_te = true;
        } else if (strcasecmp(name, "Connection") == 0) {
            connection = value;
        } else if (strcasecmp(name, "Expect") == 0) {
            if (strcasecmp(value, "100-continue") == 0)
                req->expect_continue = true;
        }
    }
    if (has_te && req->has_length)
        return CR_EPROTO; /* RFC 9112 6.3: a smuggling attempt, refused outright */
    req->chunked = has_te;
    if (req->minor == 1)
        req->keep_alive = !(connection && list_has(connection, "close"));
    else
        req->keep_alive = connection && list_has(connection, "keep-alive");
    return 0;
}

int h1_parse_head(char *buf, size_t head_len, struct h1_request *req)
{
    char *p = buf, *end = buf + head_len - 2; /* the final CRLF ends the field section */
    bool first = true;
    int rc;

    memset(req, 0, sizeof *req);
    req->head_len = head_len;
    while (p < end) {
        char *cr = memchr(p, '\r', (size_t)(end - p));
        size_t len;

        if (!cr || cr[1] != '\n')
            return CR_EPROTO;   /* a bare CR, or a line not ended by CRLF */
        len = (size_t)(cr - p); /* a bare LF or a NUL fails the character checks below */
        if (first) {
            rc = parse_request_line(p, len, req);
            if (rc < 0)
                return rc;
            first = false;
        } else {
            if (is_ows(*p))
                return CR_EPROTO; /* obs-fold (RFC 9112 5.2) */
            rc = parse_field(p, len, req);
            if (rc < 0)
                return rc;
        }
        p = cr + 2;
    }
    if (first)
        return CR_EPROTO;
    return read_framing(req);
}

const char *h1_field(const struct h1_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_fields; i++) {
        if (strcasecmp(req->fields[i].name, name) == 0)
            return req->fields[i].value;
    }
    return NULL;
}

/* The end of the line starting at p (the index of its CR, whose LF follows), or -1 when the
 * line has not all arrived, or CR_EPROTO when it holds a bare CR or LF. */
static int64_t line_end(const char *buf, size_t len, size_t p)
{
    for (size_t i = p; i < len; i++) {
        if (buf[i] == '\n')
            return CR_EPROTO;
        if (buf[i] == '\r') {
            if (i + 1 >= len)
                return -1;
            return buf[i + 1] == '\n' ? (int64_t)i : CR_EPROTO;
        }
    }
    return -1;
}

/* A chunk-size line "1a3[;ext]" in buf[p..e): its size, or CR_EPROTO. */
static int64_t chunk_size(const char *buf, size_t p, size_t e)
{
    uint64_t v = 0;
    size_t i = p;

    for (; i < e; i++) {
        char c = buf[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;

        if (d < 0)
            break;
        if (v > (INT64_MAX >> 4))
            return CR_EPROTO;
        v = (v << 4) | (uint64_t)d;
    }
    if (i == p)
        return CR_EPROTO;
    while (i < e && is_ows(buf[i]))
        i++;
    if (i < e && buf[i] != ';')
        return CR_EPROTO;
    return (int64_t)v;
}

/*
 * One pass over a chunked body: with decode false it only checks that all of it is there and
 * how long it is; with decode true (only after a checking pass said so) it also moves each
 * chunk's data down to where the decoded body continues.
 */
static int64_t dechunk_pass(char *buf, size_t len, size_t max_body, size_t *body_len, bool decode)
{
    size_t p = 0, out = 0;

    for (;;) {
        int64_t e = line_end(buf, len, p), size;

        if (e < -1)
            return e;
        if (e < 0)
            return 0;
        size = chunk_size(buf, p, (size_t)e);
        if (size < 0)
            return size;
        p = (size_t)e + 2;
        if ((uint64_t)size > max_body - out)
            return CR_EFRAMETOOBIG;
        if (size == 0)
            break;
        if (len - p < (uint64_t)size + 2)
            return 0;
        if (buf[p + (size_t)size] != '\r' || buf[p + (size_t)size + 1] != '\n')
            return CR_EPROTO;
        if (decode)
            memmove(buf + out, buf + p, (size_t)size);
        out += (size_t)size;
        p += (size_t)size + 2;
    }
    /* Trailer fields, ignored, up to the empty line. */
    for (;;) {
        int64_t e = line_end(buf, len, p);

        if (e < -1)
            return e;
        if (e < 0)
            return 0;
        if ((size_t)e == p)
            break;
        if (!memchr(buf + p, ':', (size_t)e - p))
            return CR_EPROTO;
        p = (size_t)e + 2;
    }
    *body_len = out;
    return (int64_t)(p + 2);
}

int64_t h1_dechunk(char *buf, size_t len, size_t max_body, size_t *body_len)
{
    int64_t n = dechunk_pass(buf, len, max_body, body_len, false);

    if (n > 0)
        dechunk_pass(buf, len, max_body, body_len, true);
    return n;
}
