/*
 * AWS Signature Version 4 verification for the AWS-shaped HTTP dialects (DynamoDB now): the
 * key table, the canonical request, the signing-key chain and the verdict, each failure with
 * the code and the text AWS gives. Knows nothing of evhttp or of any dialect: http.c hands it
 * the request as plain strings. The only file of the tree that includes OpenSSL.
 *
 * What is verified: `Authorization: AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/
 * aws4_request, SignedHeaders=a;b;c, Signature=<64 hex>` with the date from X-Amz-Date
 * (yyyymmddThhmmssZ, within SIGV4_MAX_SKEW_S of the server clock). The payload is always
 * hashed; an X-Amz-Content-Sha256 header must equal that hash (UNSIGNED-PAYLOAD is refused),
 * so a signature always covers the body. Not supported: presigned URLs (query-string
 * authentication), the Date header instead of X-Amz-Date, session tokens (X-Amz-Security-Token
 * is signed like any header but not checked), SigV4A.
 */
#ifndef CR_SERVER_HTTP_SIGV4_H
#define CR_SERVER_HTTP_SIGV4_H

#include "common/buf.h"
#include "server/errmsg.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SIGV4_MAX_SKEW_S (15 * 60) /* AWS's: X-Amz-Date farther from now is expired */
#define SIGV4_KEY_ID_MAX 128       /* longest access key id (AWS allows 16..128) */
#define SIGV4_SECRET_MAX 128
#define SIGV4_HEX_LEN 64 /* a hex SHA-256, a signature */

struct sigv4_key {
    char id[SIGV4_KEY_ID_MAX + 1];
    char secret[SIGV4_SECRET_MAX + 1];
};

/* The accepted credentials. Caller-owned; sigv4_keys_close wipes the secrets and frees. */
struct sigv4_keys {
    struct sigv4_key *v;
    size_t n, cap;
};

void sigv4_keys_init(struct sigv4_keys *k);
void sigv4_keys_close(struct sigv4_keys *k);

/*
 * Adds one key. The same id twice with the same secret is accepted once; with another secret
 * it is CR_EINVAL, as are an empty or too long id or secret and whitespace or ':' in the id.
 * CR_ENOMEM. The text in e names the id, never the secret.
 */
int sigv4_keys_add(struct sigv4_keys *k, const char *id, const char *secret, struct errmsg *e);

/*
 * Adds the keys of a credentials file: one `ACCESS_KEY_ID SECRET_ACCESS_KEY` per line
 * (separated by spaces or tabs), `#` starts a comment, blank lines are ignored. CR_EIO when it
 * cannot be read, CR_EINVAL on a bad line ("creds:3: expected 'ACCESS_KEY_ID SECRET'"),
 * CR_ENOMEM. On failure k keeps the keys added before the bad line.
 */
int sigv4_keys_load(struct sigv4_keys *k, const char *path, struct errmsg *e);

/* The secret of id, or NULL. */
const char *sigv4_keys_find(const struct sigv4_keys *k, const char *id, size_t id_len);

/* A request header as received; names in any case, a name may repeat. */
struct sigv4_header {
    const char *name;
    const char *value;
};

/* The request as received, every string NUL-terminated and borrowed for the call. */
struct sigv4_request {
    const char *method;
    const char *path;  /* as sent: still percent-encoded, without the query */
    const char *query; /* as sent, without '?'; NULL or "" when none */
    const struct sigv4_header *headers;
    size_t n_headers;
    const void *body;
    size_t body_len;
};

/*
 * Verifies req's signature for `service` (the credential scope's fourth part) against keys,
 * at time `now`. Returns 0, or with AWS's text in e:
 *   CR_ENOAUTH      no Authorization header (MissingAuthenticationTokenException)
 *   CR_EAUTHFORMAT  a malformed Authorization header, no or bad X-Amz-Date
 *                   (IncompleteSignatureException)
 *   CR_EUNKNOWNKEY  the access key id is not in keys (UnrecognizedClientException)
 *   CR_ESIGNATURE   wrong signature, scope or payload hash, or X-Amz-Date more than
 *                   SIGV4_MAX_SKEW_S from now (InvalidSignatureException)
 *   CR_ENOMEM
 * The credential scope's region is not checked: any region is this server.
 */
int sigv4_verify(const struct sigv4_keys *keys, const char *service,
                 const struct sigv4_request *req, time_t now, struct errmsg *e);

/*
 * The canonical request of req for the given SignedHeaders value ("host;x-amz-date") and hex
 * payload hash, appended to out: method, canonical URI, canonical query string, canonical
 * headers, signed headers, payload hash, joined by newlines. Returns 0 or CR_ENOMEM.
 */
int sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers,
                            size_t signed_len, const char *payload_hash, struct cr_buf *out);

/* Hex SHA-256 of data into out (SIGV4_HEX_LEN + 1 bytes, NUL-terminated). */
void sigv4_sha256_hex(const void *data, size_t len, char *out);

/*
 * The signature (hex, SIGV4_HEX_LEN + 1 bytes) of string_to_sign under the key derived from
 * secret: HMAC chain over "AWS4" + secret, date (yyyymmdd), region, service, "aws4_request".
 */
void sigv4_sign(const char *secret, const char *date, const char *region, const char *service,
                const char *string_to_sign, size_t sts_len, char *out);

/* a == b, in time that depends on the lengths only, never on where the bytes differ. */
bool sigv4_equal(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
