/*
 * What http.c offers the dialects (dynamodb.c, later firestore.c and cosmos.c): the request
 * being served and the one way to answer it. Private to server/http/.
 *
 * Lifecycle of a struct http_req: http.c creates it for each routed request, with the body
 * pulled up into one contiguous block, and calls the dialect's handler on the loop thread.
 * The handler must eventually call http_reply exactly once: before returning (reads), or from
 * a write's completion, which ops.h runs on this same loop thread. http_reply frees the
 * request and its arena. Reads must be finished with the snapshot before the handler returns:
 * http.c calls ops_conn_release right after it.
 */
#ifndef CR_SERVER_HTTP_INT_H
#define CR_SERVER_HTTP_INT_H

#include "common/arena.h"
#include "server/ops.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h1_conn;
struct h1_request;
struct http_loop;

#define CR_HTTP_REQUEST_ID_LEN 32
#define CR_HTTP_REGION_MAX 32

struct http_req {
    struct h1_conn *conn;          /* the connection it arrived on */
    const struct h1_request *head; /* its method, target and header fields; valid until reply */
    struct ops_conn *oc;           /* the loop's: reads and writes go through it */
    struct cr_arena arena;         /* freed by http_reply; owned by a write while it is in flight */
    const char *body;              /* not NUL-terminated; valid until http_reply */
    size_t body_len;
    char id[CR_HTTP_REQUEST_ID_LEN + 1]; /* x-amzn-RequestId */
    char region[CR_HTTP_REGION_MAX + 1]; /* from the SigV4 credential scope, else us-east-1 */
    void *data;                          /* the dialect's */
    void (*cleanup)(struct http_req *r); /* the dialect's, run by http_reply; may be NULL */
    struct http_server *server;
    struct http_loop *loop; /* the loop serving r: its thread runs the handler and the reply */
};

/* A header of the request, NULL when absent. */
const char *http_header(const struct http_req *r, const char *name);

/*
 * With --auth, verifies r's AWS Signature Version 4 for `service` (the credential scope's
 * service, "dynamodb") against the server's keys and the clock; without, returns 0 at once.
 * Errors (sigv4_verify's, with AWS's text in e): CR_ENOAUTH, CR_EAUTHFORMAT, CR_EUNKNOWNKEY,
 * CR_ESIGNATURE, CR_ENOMEM. Each dialect decides where in its dispatch to call it.
 */
int http_check_sigv4(struct http_req *r, const char *service, struct errmsg *e);

/*
 * Sends the response and frees r. Takes ownership of body (malloc'd, freed once written; may
 * be NULL when len is 0). Adds Content-Type, x-amzn-RequestId and x-amz-crc32 (CRC-32 of the
 * body). Safe when the client has gone away meanwhile: the response is then dropped.
 */
void http_reply(struct http_req *r, int status, const char *content_type, char *body, size_t len);

/* ---- dialects: a matcher (does this request belong to me?), a handler, and a refusal -------
 *
 * The refusal answers, in the dialect's own error shape, a request that http.c will not hand
 * to the handler: code CR_EFRAMETOOBIG (a body over --http-max-body: 413) or CR_EPROTO (a body
 * whose framing is malformed: 400), with a message for the client. It must call http_reply;
 * r->body is empty. The connection is closed after the answer: its remaining input cannot be
 * framed. */

bool dynamodb_match(const struct http_req *r, const char *method, const char *path);
void dynamodb_handle(struct http_req *r);
void dynamodb_refuse(struct http_req *r, int code, const char *message);

/* Every dialect, in the order they are tried. One list, expanded in http.c's router. */
#define HTTP_ROUTES(X) X(dynamodb, dynamodb_match, dynamodb_handle, dynamodb_refuse)

#endif
