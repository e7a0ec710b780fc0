/*
 * AWS Signature Version 4 verification (sigv4.h): parse the Authorization header, rebuild the
 * canonical request and the string to sign exactly as the AWS SDKs do (botocore's
 * auth.SigV4Auth is the reference for the details the specification leaves open), derive the
 * signing key and compare signatures in constant time. Nothing here allocates beyond one
 * request's canonical form, logs, or reads the clock: the caller passes `now`.
 *
 * Canonical URI: the path as sent, dot segments and empty segments removed, then encoded
 * once more (AWS: "each path segment URI-encoded twice" for every service but S3).
 * Canonical query: each name and value decoded, re-encoded strictly (RFC 3986 unreserved
 * kept), sorted by name then value. Canonical headers: the signed names in SignedHeaders'
 * order, values with runs of whitespace collapsed to one space and trimmed, repeats joined by
 * ','.
 */
#include "server/http/sigv4.h"

#include "common/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define AMZ_DATE_LEN 16 /* yyyymmddThhmmssZ */
#define LINE_MAX_LEN 1024
#define MSG_BAD_SIGNATURE                                                                          \
    "The request signature we calculated does not match the signature you provided. Check your "   \
    "AWS Secret Access Key and signing method. Consult the service documentation for details."

/* ---- keys ---------------------------------------------------------------------------------- */

void sigv4_keys_init(struct sigv4_keys *k)
{
    memset(k, 0, sizeof *k);
}

void sigv4_keys_close(struct sigv4_keys *k)
{
    if (k->v)
        OPENSSL_cleanse(k->v, k->cap * sizeof *k->v);
    free(k->v);
    memset(k, 0, sizeof *k);
}

const char *sigv4_keys_find(const struct sigv4_keys *k, const char *id, size_t id_len)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strlen(k->v[i].id) == id_len && memcmp(k->v[i].id, id, id_len) == 0)
            return k->v[i].secret;
    }
    return NULL;
}

int sigv4_keys_add(struct sigv4_keys *k, const char *id, const char *secret, struct errmsg *e)
{
    size_t id_len = strlen(id), secret_len = strlen(secret);
    const char *old;

    if (id_len == 0 || id_len > SIGV4_KEY_ID_MAX || strcspn(id, " \t\r\n:/") != id_len)
        return errmsg_set(e, CR_EINVAL,
                          "access key id '%.40s' must be 1..%d characters without spaces, ':' "
                          "or '/'",
                          id, SIGV4_KEY_ID_MAX);
    if (secret_len == 0 || secret_len > SIGV4_SECRET_MAX)
        return errmsg_set(e, CR_EINVAL, "the secret of access key '%s' must be 1..%d bytes", id,
                          SIGV4_SECRET_MAX);
    old = sigv4_keys_find(k, id, id_len);
    if (old && strcmp(old, secret) == 0)
        return 0;
    if (old)
        return errmsg_set(e, CR_EINVAL, "access key '%s' is given twice with different secrets",
                          id);
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        struct sigv4_key *v = calloc(cap, sizeof *v);

        if (!v)
            return errmsg_set(e, CR_ENOMEM, "out of memory");
        if (k->n)
            memcpy(v, k->v, k->n * sizeof *v);
        sigv4_keys_close(&(struct sigv4_keys){k->v, k->n, k->cap}); /* wipes the old copy */
        k->v = v;
        k->cap = cap;
    }
    memcpy(k->v[k->n].id, id, id_len + 1);
    memcpy(k->v[k->n].secret, secret, secret_len + 1);
    k->n++;
    return 0;
}

int sigv4_keys_load(struct sigv4_keys *k, const char *path, struct errmsg *e)
{
    char line[LINE_MAX_LEN];
    FILE *f = fopen(path, "r");
    int lineno = 0, rc = 0;

    if (!f)
        return errmsg_set(e, CR_EIO, "--credentials: cannot read '%s': %s", path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof line, f)) {
        const char *sep = " \t\r\n";
        char *save = NULL, *id, *secret, *rest;
        struct errmsg sub;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = errmsg_set(e, CR_EINVAL, "%s:%d: line longer than %d bytes", path, lineno,
                            LINE_MAX_LEN - 2);
            break;
        }
        id = strtok_r(line, sep, &save);
        if (!id || id[0] == '#')
            continue;
        secret = strtok_r(NULL, sep, &save);
        rest = strtok_r(NULL, sep, &save);
        if (!secret || (rest && rest[0] != '#'))
            rc = errmsg_set(e, CR_EINVAL, "%s:%d: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY'", path,
                            lineno);
        else if ((rc = sigv4_keys_add(k, id, secret, &sub)) < 0)
            errmsg_set(e, rc, "%s:%d: %s", path, lineno, sub.text);
    }
    OPENSSL_cleanse(line, sizeof line);
    if (rc == 0 && ferror(f))
        rc = errmsg_set(e, CR_EIO, "--credentials: error reading '%s'", path);
    fclose(f);
    return rc;
}

/* ---- hashing --------------------------------------------------------------------------------- */

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    /* Cannot fail for SHA-256 short of a broken OpenSSL; an all-zero digest never verifies. */
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
        memset(md, 0, n = 32);
    to_hex(md, n, out);
}

static void hmac(const unsigned char *key, size_t key_len, const char *data, size_t len,
                 unsigned char out[32])
{
    unsigned int n = 32;

    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, len, out, &n))
        memset(out, 0, 32);
}

void sigv4_sign(const char *secret, const char *date, const char *region, const char *service,
                const char *string_to_sign, size_t sts_len, char *out)
{
    unsigned char seed[4 + SIGV4_SECRET_MAX], k[32], sig[32];
    size_t secret_len = strlen(secret);

    if (secret_len > SIGV4_SECRET_MAX)
        secret_len = SIGV4_SECRET_MAX; /* sigv4_keys_add refuses longer ones */
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, secret_len);
    hmac(seed, 4 + secret_len, date, strlen(date), k);
    hmac(k, 32, region, strlen(region), k);
    hmac(k, 32, service, strlen(service), k);
    hmac(k, 32, TERMINATOR, strlen(TERMINATOR), k);
    hmac(k, 32, string_to_sign, sts_len, sig);
    to_hex(sig, 32, out);
    OPENSSL_cleanse(seed, sizeof seed);
    OPENSSL_cleanse(k, sizeof k);
}

bool sigv4_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && CRYPTO_memcmp(a, b, a_len) == 0;
}

/* ---- canonical request ------------------------------------------------------------------------
 */

static void put(struct cr_buf *b, const char *s, size_t n, int *rc)
{
    if (*rc == 0)
        *rc = cr_buf_append(b, s, n);
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* c as it appears in a canonical URI segment or query (out: 3 bytes); returns the length
 * written. Unreserved characters stay, anything else becomes %XX. */
static size_t encode_byte(unsigned char c, char *out)
{
    static const char digits[] = "0123456789ABCDEF";

    if (unreserved(c)) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '%';
    out[1] = digits[c >> 4];
    out[2] = digits[c & 15];
    return 3;
}

static void put_encoded(struct cr_buf *b, const char *s, size_t n, int *rc)
{
    char esc[3];

    for (size_t i = 0; i < n; i++)
        put(b, esc, encode_byte((unsigned char)s[i], esc), rc);
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes %XX escapes of s[0..n) into out (n bytes suffice); a '%' without two hex digits
 * stays itself. Returns the decoded length. */
static size_t decode(const char *s, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* The path with "." / ".." and empty segments removed (botocore's remove_dot_segments), then
 * encoded: an empty path is "/"; a trailing '/' stays when a segment remains. */
static void put_uri(struct cr_buf *b, const char *path, int *rc)
{
    size_t len = strlen(path), nseg = 0, i, cap = len / 2 + 1;
    struct {
        const char *p;
        size_t n;
    } * seg;

    if (len == 0) {
        put(b, "/", 1, rc);
        return;
    }
    seg = malloc(cap * sizeof *seg);
    if (!seg) {
        if (*rc == 0)
            *rc = CR_ENOMEM;
        return;
    }
    for (const char *p = path; p <= path + len;) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg)
                nseg--;
        } else if (n > 0 && !(n == 1 && p[0] == '.') && nseg < cap) {
            seg[nseg].p = p;
            seg[nseg++].n = n;
        }
        p += n + 1;
    }
    if (path[0] == '/')
        put(b, "/", 1, rc);
    for (i = 0; i < nseg; i++) {
        if (i)
            put(b, "/", 1, rc);
        put_encoded(b, seg[i].p, seg[i].n, rc);
    }
    if (path[len - 1] == '/' && nseg)
        put(b, "/", 1, rc);
    free(seg);
}

struct param {
    char *name, *value; /* encoded */
    size_t name_len, value_len;
};

static int param_cmp(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);

    if (c || x->name_len != y->name_len)
        return c ? c : x->name_len < y->name_len ? -1 : 1;
    n = x->value_len < y->value_len ? x->value_len : y->value_len;
    c = memcmp(x->value, y->value, n);
    return c ? c : x->value_len < y->value_len ? -1 : x->value_len > y->value_len;
}

/* Decodes s[0..n) (into scratch, n bytes) and encodes it strictly into enc (room for 3n
 * bytes); returns the encoded length. */
static size_t reencode(const char *s, size_t n, char *scratch, char *enc)
{
    size_t out = 0;

    n = decode(s, n, scratch);
    for (size_t i = 0; i < n; i++)
        out += encode_byte((unsigned char)scratch[i], enc + out);
    return out;
}

static void put_query(struct cr_buf *b, const char *query, int *rc)
{
    size_t len = query ? strlen(query) : 0, n = 0, i;
    struct param *params;
    char *enc, *scratch, *out;

    if (len == 0)
        return;
    params = malloc((len / 2 + 1) * sizeof *params);
    enc = malloc(3 * len + 1);
    scratch = malloc(len + 1);
    if (!params || !enc || !scratch) {
        if (*rc == 0)
            *rc = CR_ENOMEM;
        goto done;
    }
    out = enc;
    for (const char *p = query; p <= query + len; p++) {
        size_t pair = strcspn(p, "&"), name = strcspn(p, "=&");

        if (pair > 0) {
            params[n].name = out;
            params[n].name_len = reencode(p, name, scratch, out);
            out += params[n].name_len;
            params[n].value = out;
            params[n].value_len =
                name < pair ? reencode(p + name + 1, pair - name - 1, scratch, out) : 0;
            out += params[n++].value_len;
        }
        p += pair;
    }
    qsort(params, n, sizeof *params, param_cmp);
    for (i = 0; i < n; i++) {
        if (i)
            put(b, "&", 1, rc);
        put(b, params[i].name, params[i].name_len, rc);
        put(b, "=", 1, rc);
        put(b, params[i].value, params[i].value_len, rc);
    }
done:
    free(params);
    free(enc);
    free(scratch);
}

/* A header value with leading and trailing whitespace removed and inner runs made one space. */
static void put_trimmed(struct cr_buf *b, const char *v, int *rc)
{
    bool first = true;

    while (*v) {
        size_t n;

        while (isspace((unsigned char)*v))
            v++;
        n = 0;
        while (v[n] && !isspace((unsigned char)v[n]))
            n++;
        if (n == 0)
            break;
        if (!first)
            put(b, " ", 1, rc);
        put(b, v, n, rc);
        first = false;
        v += n;
    }
}

int sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers,
                            size_t signed_len, const char *payload_hash, struct cr_buf *out)
{
    const char *p = signed_headers, *end = signed_headers + signed_len;
    int rc = 0;

    put(out, req->method, strlen(req->method), &rc);
    put(out, "\n", 1, &rc);
    put_uri(out, req->path ? req->path : "", &rc);
    put(out, "\n", 1, &rc);
    put_query(out, req->query, &rc);
    put(out, "\n", 1, &rc);
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t n = semi ? (size_t)(semi - p) : (size_t)(end - p);
        bool seen = false;

        put(out, p, n, &rc);
        put(out, ":", 1, &rc);
        for (size_t i = 0; i < req->n_headers; i++) {
            const struct sigv4_header *h = &req->headers[i];

            if (strlen(h->name) != n || strncasecmp(h->name, p, n) != 0)
                continue;
            if (seen)
                put(out, ",", 1, &rc);
            put_trimmed(out, h->value, &rc);
            seen = true;
        }
        put(out, "\n", 1, &rc);
        p += n + 1;
    }
    put(out, "\n", 1, &rc);
    put(out, signed_headers, signed_len, &rc);
    put(out, "\n", 1, &rc);
    put(out, payload_hash, strlen(payload_hash), &rc);
    return rc;
}

/* ---- verification ---------------------------------------------------------------------------- */

/* The parts of an Authorization header; pointers into it, not NUL-terminated. */
struct auth {
    const char *credential, *signed_headers, *signature;
    size_t credential_len, signed_len, signature_len;
};

static const char *header(const struct sigv4_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static int parse_auth(const char *value, struct auth *a, struct errmsg *e)
{
    const char *p = value;
    size_t alg = strlen(ALGORITHM);

    memset(a, 0, sizeof *a);
    if (strncmp(p, ALGORITHM, alg) != 0 || (p[alg] && !isspace((unsigned char)p[alg])))
        return errmsg_set(e, CR_EAUTHFORMAT, "Unsupported Authorization Type");
    for (p += alg; *p;) {
        size_t n;

        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        n = strcspn(p, ", \t");
        if (strncmp(p, "Credential=", 11) == 0) {
            a->credential = p + 11;
            a->credential_len = n - 11;
        } else if (strncmp(p, "SignedHeaders=", 14) == 0) {
            a->signed_headers = p + 14;
            a->signed_len = n - 14;
        } else if (strncmp(p, "Signature=", 10) == 0) {
            a->signature = p + 10;
            a->signature_len = n - 10;
        }
        p += n;
    }
    if (a->credential_len && a->signed_len && a->signature_len)
        return 0;
    return errmsg_set(e, CR_EAUTHFORMAT, "%s%s%sAuthorization=%s",
                      a->credential_len ? ""
                                        : "Authorization header requires 'Credential' "
                                          "parameter. ",
                      a->signature_len ? ""
                                       : "Authorization header requires 'Signature' "
                                         "parameter. ",
                      a->signed_len ? ""
                                    : "Authorization header requires 'SignedHeaders' "
                                      "parameter. ",
                      value);
}

/* yyyymmddThhmmssZ to seconds since the epoch; -1 when malformed. */
static time_t parse_amz_date(const char *s)
{
    struct tm tm;
    int v[6], width[6] = {4, 2, 2, 2, 2, 2};
    const char *p = s;

    if (strlen(s) != AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        if (i == 3)
            p++; /* the 'T' */
        for (int j = 0; j < width[i]; j++, p++) {
            if (!isdigit((unsigned char)*p))
                return -1;
            v[i] = v[i] * 10 + (*p - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    return timegm(&tm);
}

static void format_amz_date(time_t t, char out[AMZ_DATE_LEN + 1])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

static int check_skew(const char *amz_date, time_t t, time_t now, struct errmsg *e)
{
    char bound[AMZ_DATE_LEN + 1], at[AMZ_DATE_LEN + 1];

    format_amz_date(now, at);
    if (t < now - SIGV4_MAX_SKEW_S) {
        format_amz_date(now - SIGV4_MAX_SKEW_S, bound);
        return errmsg_set(e, CR_ESIGNATURE,
                          "Signature expired: %s is now earlier than %s (%s - 15 min.)", amz_date,
                          bound, at);
    }
    if (t > now + SIGV4_MAX_SKEW_S) {
        format_amz_date(now + SIGV4_MAX_SKEW_S, bound);
        return errmsg_set(e, CR_ESIGNATURE,
                          "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                          amz_date, bound, at);
    }
    return 0;
}

/* The credential scope "AKID/yyyymmdd/region/service/aws4_request", split in five. */
static int split_scope(const struct auth *a, const char *part[5], size_t len[5], struct errmsg *e)
{
    const char *p = a->credential, *end = a->credential + a->credential_len;

    for (int i = 0; i < 5; i++) {
        const char *slash = i < 4 ? memchr(p, '/', (size_t)(end - p)) : NULL;

        part[i] = p;
        len[i] = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if ((i < 4 && !slash) || len[i] == 0)
            return errmsg_set(e, CR_EAUTHFORMAT,
                              "Credential should be scoped to a valid region, not '%.*s'. ",
                              (int)a->credential_len, a->credential);
        p = slash ? slash + 1 : end;
    }
    if (memchr(part[4], '/', len[4]))
        return errmsg_set(e, CR_EAUTHFORMAT,
                          "Credential should be scoped with a valid terminator: 'aws4_request', "
                          "not '%.*s'. ",
                          (int)len[4], part[4]);
    return 0;
}

int sigv4_verify(const struct sigv4_keys *keys, const char *service,
                 const struct sigv4_request *req, time_t now, struct errmsg *e)
{
    const char *authorization = header(req, "Authorization");
    const char *amz_date = header(req, "X-Amz-Date");
    const char *content_sha = header(req, "X-Amz-Content-Sha256");
    const char *part[5], *secret;
    char payload[SIGV4_HEX_LEN + 1], cr_hash[SIGV4_HEX_LEN + 1], sig[SIGV4_HEX_LEN + 1];
    char date[9], region[64];
    size_t len[5];
    struct auth a;
    struct cr_buf b;
    time_t t;
    int rc;

    if (!authorization)
        return errmsg_set(e, CR_ENOAUTH, "Request is missing Authentication Token");
    rc = parse_auth(authorization, &a, e);
    if (rc < 0)
        return rc;
    if (!amz_date)
        return errmsg_set(e, CR_EAUTHFORMAT,
                          "Authorization header requires existence of either a 'X-Amz-Date' or "
                          "a 'Date' header. Authorization=%s",
                          authorization);
    t = parse_amz_date(amz_date);
    if (t == (time_t)-1)
        return errmsg_set(e, CR_EAUTHFORMAT,
                          "Date must be in ISO-8601 'basic format'. Got '%.40s'. See "
                          "http://en.wikipedia.org/wiki/ISO_8601",
                          amz_date);
    rc = split_scope(&a, part, len, e);
    if (rc < 0)
        return rc;
    secret = sigv4_keys_find(keys, part[0], len[0]);
    if (!secret)
        return errmsg_set(e, CR_EUNKNOWNKEY,
                          "The security token included in the request is "
                          "invalid.");
    if (len[1] != 8 || memcmp(part[1], amz_date, 8) != 0)
        return errmsg_set(e, CR_ESIGNATURE,
                          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                          "of date from HTTP: '%.*s' != '%.8s', from '%s'.",
                          (int)(len[1] < 16 ? len[1] : 16), part[1], amz_date, amz_date);
    if (len[3] != strlen(service) || memcmp(part[3], service, len[3]) != 0)
        return errmsg_set(e, CR_ESIGNATURE,
                          "Credential should be scoped to correct service: '%s'. ", service);
    if (len[4] != strlen(TERMINATOR) || memcmp(part[4], TERMINATOR, len[4]) != 0)
        return errmsg_set(e, CR_ESIGNATURE,
                          "Credential should be scoped with a valid terminator: 'aws4_request', "
                          "not '%.*s'. ",
                          (int)(len[4] < 32 ? len[4] : 32), part[4]);
    if (len[2] >= sizeof region)
        return errmsg_set(e, CR_ESIGNATURE, MSG_BAD_SIGNATURE);
    rc = check_skew(amz_date, t, now, e);
    if (rc < 0)
        return rc;
    sigv4_sha256_hex(req->body, req->body_len, payload);
    if (content_sha && strcmp(content_sha, payload) != 0)
        return errmsg_set(e, CR_ESIGNATURE, MSG_BAD_SIGNATURE);

    cr_buf_init(&b);
    rc = sigv4_canonical_request(req, a.signed_headers, a.signed_len, payload, &b);
    if (rc == 0) {
        sigv4_sha256_hex(b.data, b.len, cr_hash);
        cr_buf_reset(&b);
        rc = cr_buf_append(&b, ALGORITHM "\n", strlen(ALGORITHM) + 1);
    }
    if (rc == 0) {
        char line[AMZ_DATE_LEN + 2];

        snprintf(line, sizeof line, "%s\n", amz_date);
        put(&b, line, strlen(line), &rc);
        put(&b, part[1], len[1] + 1 + len[2] + 1 + len[3] + 1 + len[4], &rc); /* the scope */
        put(&b, "\n", 1, &rc);
        put(&b, cr_hash, SIGV4_HEX_LEN, &rc);
    }
    if (rc < 0) {
        cr_buf_free(&b);
        return errmsg_set(e, rc, "out of memory");
    }
    memcpy(date, part[1], 8);
    date[8] = 0;
    memcpy(region, part[2], len[2]);
    region[len[2]] = 0;
    sigv4_sign(secret, date, region, service, (const char *)b.data, b.len, sig);
    cr_buf_free(&b);
    if (!sigv4_equal(sig, SIGV4_HEX_LEN, a.signature, a.signature_len))
        return errmsg_set(e, CR_ESIGNATURE, MSG_BAD_SIGNATURE);
    return 0;
}
