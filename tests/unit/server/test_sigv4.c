/*
 * server/http/sigv4.c: AWS's published SigV4 examples (the IAM ListUsers requests of the
 * General Reference, get-vanilla of the aws-sig-v4-test-suite) down to the canonical request,
 * signing key and signature; canonicalization edge cases; every refusal with AWS's text; the
 * constant-time comparison; the key table and the credentials file.
 */
#include "common/error.h"
#include "server/http/sigv4.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_2015 ((time_t)1440938160) /* 20150830T123600Z */
#define T_2011 ((time_t)1315611360) /* 20110909T233600Z */
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define FORM "application/x-www-form-urlencoded; charset=utf-8"
#define BAD_SIGNATURE                                                                              \
    "The request signature we calculated does not match the signature you provided. Check your "   \
    "AWS Secret Access Key and signing method. Consult the service documentation for details."

/* GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08 (General Reference,
 * "Examples of the complete Signature Version 4 signing process"). */
#define LISTUSERS_AUTH                                                                             \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "                \
    "SignedHeaders=content-type;host;x-amz-date, "                                                 \
    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

static struct sigv4_header listusers_headers[] = {
    {"Host", "iam.amazonaws.com"},
    {"Content-Type", FORM},
    {"X-Amz-Date", "20150830T123600Z"},
    {"Authorization", LISTUSERS_AUTH},
};

static const struct sigv4_request listusers = {
    .method = "GET",
    .path = "/",
    .query = "Action=ListUsers&Version=2010-05-08",
    .headers = listusers_headers,
    .n_headers = 4,
    .body = "",
    .body_len = 0,
};

static struct sigv4_keys keys;

static int setup(void **state)
{
    sigv4_keys_init(&keys);
    assert_int_equal(sigv4_keys_add(&keys, "AKIDEXAMPLE", SECRET, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    sigv4_keys_close(&keys);
    return 0;
}

/* The canonical request of req, as a C string the caller frees. */
static char *canonical(const struct sigv4_request *req, const char *signed_headers,
                       const char *payload_hash)
{
    struct cr_buf b;
    char *s;

    cr_buf_init(&b);
    assert_int_equal(
        sigv4_canonical_request(req, signed_headers, strlen(signed_headers), payload_hash, &b), 0);
    s = strndup((const char *)b.data, b.len);
    cr_buf_free(&b);
    return s;
}

static void test_listusers_steps(void **state)
{
    const char *sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
    char *cr = canonical(&listusers, "content-type;host;x-amz-date", EMPTY_SHA);
    char hex[SIGV4_HEX_LEN + 1];

    assert_string_equal(cr, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                            "content-type:" FORM "\nhost:iam.amazonaws.com\n"
                            "x-amz-date:20150830T123600Z\n\n"
                            "content-type;host;x-amz-date\n" EMPTY_SHA);
    sigv4_sha256_hex(cr, strlen(cr), hex);
    assert_string_equal(hex, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    free(cr);
    sigv4_sha256_hex("", 0, hex);
    assert_string_equal(hex, EMPTY_SHA);
    sigv4_sign(SECRET, "20150830", "us-east-1", "iam", sts, strlen(sts), hex);
    assert_string_equal(hex, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

static void test_listusers_verifies(void **state)
{
    struct sigv4_header h[4];
    struct sigv4_request req = listusers;
    struct errmsg e;

    assert_int_equal(sigv4_verify(&keys, "iam", &listusers, T_2015, &e), 0);
    /* One hex digit of the signature changed. */
    memcpy(h, listusers_headers, sizeof h);
    h[3].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date, "
                 "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d8";
    req.headers = h;
    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), CR_ESIGNATURE);
    assert_string_equal(e.text, BAD_SIGNATURE);
    /* The query is signed: another parameter order is the same request, another value not. */
    req = listusers;
    req.query = "Version=2010-05-08&Action=ListUsers";
    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), 0);
    req.query = "Action=ListGroups&Version=2010-05-08";
    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), CR_ESIGNATURE);
    /* Header names in any case, values with extra blanks. */
    memcpy(h, listusers_headers, sizeof h);
    h[0] = (struct sigv4_header){"HOST", "  iam.amazonaws.com "};
    h[1] =
        (struct sigv4_header){"content-TYPE", "application/x-www-form-urlencoded;   charset=utf-8"};
    req = listusers;
    req.headers = h;
    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), 0);
    /* A body the signature did not cover. */
    req = listusers;
    req.body = "x";
    req.body_len = 1;
    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), CR_ESIGNATURE);
}

/* POST http://iam.amazonaws.com/ with the form body (the 2011 edition of the example). */
static void test_listusers_post(void **state)
{
    struct sigv4_header h[] = {
        {"Authorization",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, "
         "Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c"},
        {"host", "iam.amazonaws.com"},
        {"Content-type", FORM},
        {"x-amz-date", "20110909T233600Z"},
    };
    const char *body = "Action=ListUsers&Version=2010-05-08";
    struct sigv4_request req = {"POST", "/", NULL, h, 4, body, strlen(body)};
    struct errmsg e;

    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2011, &e), 0);
    req.body_len--;
    assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2011, &e), CR_ESIGNATURE);
}

/* aws-sig-v4-test-suite get-vanilla: service "service", region us-east-1. */
static void test_get_vanilla(void **state)
{
    struct sigv4_header h[] = {
        {"Host", "example.amazonaws.com"},
        {"X-Amz-Date", "20150830T123600Z"},
        {"Authorization",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    };
    struct sigv4_request req = {"GET", "/", "", h, 3, "", 0};
    struct errmsg e;

    assert_int_equal(sigv4_verify(&keys, "service", &req, T_2015, &e), 0);
    req.method = "POST";
    assert_int_equal(sigv4_verify(&keys, "service", &req, T_2015, &e), CR_ESIGNATURE);
}

static void check_uri(const char *path, const char *want)
{
    struct sigv4_request req = {"GET", path, NULL, NULL, 0, "", 0};
    char *cr = canonical(&req, "host", "-");
    char expect[256];

    snprintf(expect, sizeof expect, "GET\n%s\n\nhost:\n\nhost\n-", want);
    assert_string_equal(cr, expect);
    free(cr);
}

static void test_canonical_uri(void **state)
{
    check_uri("", "/");
    check_uri("/", "/");
    check_uri("/a/./b/../c//d/", "/a/c/d/");
    check_uri("/..", "/");
    check_uri("/../a/..", "/");
    check_uri("//a//", "/a/");
    check_uri("/example%20space/", "/example%2520space/"); /* encoded twice, not S3 */
    check_uri("/~user-_.x/A9", "/~user-_.x/A9");
    check_uri("/a:b@c", "/a%3Ab%40c");
}

static void check_query(const char *query, const char *want)
{
    struct sigv4_request req = {"GET", "/", query, NULL, 0, "", 0};
    char *cr = canonical(&req, "host", "-");
    char expect[256];

    snprintf(expect, sizeof expect, "GET\n/\n%s\nhost:\n\nhost\n-", want);
    assert_string_equal(cr, expect);
    free(cr);
}

static void test_canonical_query(void **state)
{
    check_query(NULL, "");
    check_query("", "");
    check_query("b=2&a=1&a=0", "a=0&a=1&b=2");
    check_query("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"); /* byte order */
    check_query("x=a%20b&y", "x=a%20b&y=");
    check_query("k=%7e+%2f", "k=~%2B%2F");
    check_query("&&a=1&", "a=1");
    check_query("%zz=1&%4", "%254=&%25zz=1");
    check_query("a=b=c", "a=b%3Dc");
    check_query("aa=1&a=2", "a=2&aa=1");
}

static void test_canonical_headers(void **state)
{
    struct sigv4_header h[] = {
        {"X-Multi", "one"}, {"My-Header", "  a   b \t c  "}, {"x-multi", " two "}, {"Host", "h"},
        {"Empty", ""},      {"Quoted", "\"a   b\""},         {"Unsigned", "nope"},
    };
    struct sigv4_request req = {"PUT", "/", NULL, h, 7, "", 0};
    char *cr = canonical(&req, "empty;host;missing;my-header;quoted;x-multi", "hash");

    assert_string_equal(cr, "PUT\n/\n\nempty:\nhost:h\nmissing:\nmy-header:a b c\n"
                            "quoted:\"a b\"\nx-multi:one,two\n\n"
                            "empty;host;missing;my-header;quoted;x-multi\nhash");
    free(cr);
}

/* listusers with one header replaced (name found case-insensitively) or removed (value NULL). */
static int verify_with(const char *name, const char *value, time_t now, struct errmsg *e)
{
    struct sigv4_header h[4];
    struct sigv4_request req = listusers;
    size_t n = 0;

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(listusers_headers[i].name, name) != 0)
            h[n++] = listusers_headers[i];
        else if (value)
            h[n++] = (struct sigv4_header){name, value};
    }
    req.headers = h;
    req.n_headers = n;
    return sigv4_verify(&keys, "iam", &req, now, e);
}

static void test_refusals(void **state)
{
    struct errmsg e;

    assert_int_equal(verify_with("Authorization", NULL, T_2015, &e), CR_ENOAUTH);
    assert_string_equal(e.text, "Request is missing Authentication Token");
    assert_int_equal(verify_with("Authorization", "Basic dXNlcjpwYXNz", T_2015, &e),
                     CR_EAUTHFORMAT);
    assert_int_equal(verify_with("Authorization", "AWS4-HMAC-SHA256X Credential=a", T_2015, &e),
                     CR_EAUTHFORMAT);
    assert_int_equal(
        verify_with("Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request",
                    T_2015, &e),
        CR_EAUTHFORMAT);
    assert_string_equal(e.text, "Authorization header requires 'Signature' parameter. "
                                "Authorization header requires 'SignedHeaders' parameter. "
                                "Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
                                "us-east-1/iam/aws4_request");
    assert_int_equal(verify_with("Authorization",
                                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/iam, "
                                 "SignedHeaders=host, Signature=00",
                                 T_2015, &e),
                     CR_EAUTHFORMAT);
    assert_int_equal(verify_with("X-Amz-Date", NULL, T_2015, &e), CR_EAUTHFORMAT);
    /* AWS echoes the whole header; errmsg keeps CR_ERRMSG_MAX - 1 bytes of it. */
    assert_int_equal(strlen(e.text), CR_ERRMSG_MAX - 1);
    assert_memory_equal(e.text,
                        "Authorization header requires existence of either a 'X-Amz-Date' or a "
                        "'Date' header. Authorization=" LISTUSERS_AUTH,
                        CR_ERRMSG_MAX - 1);
    assert_int_equal(verify_with("X-Amz-Date", "2015-08-30T12:36:00Z", T_2015, &e), CR_EAUTHFORMAT);
    assert_int_equal(verify_with("X-Amz-Date", "20151330T123600Z", T_2015, &e), CR_EAUTHFORMAT);
    assert_int_equal(verify_with("Authorization",
                                 "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20150830/us-east-1/iam/"
                                 "aws4_request, SignedHeaders=host, Signature=00",
                                 T_2015, &e),
                     CR_EUNKNOWNKEY);
    assert_string_equal(e.text, "The security token included in the request is invalid.");
    assert_int_equal(verify_with("X-Amz-Date", "20150831T123600Z", T_2015 + 86400, &e),
                     CR_ESIGNATURE);
    assert_string_equal(e.text, "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                                "version of date from HTTP: '20150830' != '20150831', from "
                                "'20150831T123600Z'.");
    assert_int_equal(verify_with("Authorization",
                                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/"
                                 "aws4_request, SignedHeaders=host, Signature=00",
                                 T_2015, &e),
                     CR_ESIGNATURE);
    assert_string_equal(e.text, "Credential should be scoped to correct service: 'iam'. ");
    assert_int_equal(verify_with("Authorization",
                                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
                                 "aws4_requesx, SignedHeaders=host, Signature=00",
                                 T_2015, &e),
                     CR_ESIGNATURE);
    assert_string_equal(e.text, "Credential should be scoped with a valid terminator: "
                                "'aws4_request', not 'aws4_requesx'. ");
    /* X-Amz-Content-Sha256 must be the body's hash (UNSIGNED-PAYLOAD is refused). */
    {
        struct sigv4_header h[5];
        struct sigv4_request req = listusers;

        memcpy(h, listusers_headers, sizeof listusers_headers);
        h[4] = (struct sigv4_header){"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"};
        req.headers = h;
        req.n_headers = 5;
        assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), CR_ESIGNATURE);
        assert_string_equal(e.text, BAD_SIGNATURE);
        h[4].value = EMPTY_SHA; /* right, and not signed: harmless */
        assert_int_equal(sigv4_verify(&keys, "iam", &req, T_2015, &e), 0);
    }
}

static void test_skew(void **state)
{
    struct errmsg e;

    assert_int_equal(sigv4_verify(&keys, "iam", &listusers, T_2015 + 15 * 60, &e), 0);
    assert_int_equal(sigv4_verify(&keys, "iam", &listusers, T_2015 - 15 * 60, &e), 0);
    assert_int_equal(sigv4_verify(&keys, "iam", &listusers, T_2015 + 15 * 60 + 1, &e),
                     CR_ESIGNATURE);
    assert_string_equal(e.text, "Signature expired: 20150830T123600Z is now earlier than "
                                "20150830T123601Z (20150830T125101Z - 15 min.)");
    assert_int_equal(sigv4_verify(&keys, "iam", &listusers, T_2015 - 3600, &e), CR_ESIGNATURE);
    assert_string_equal(e.text, "Signature not yet current: 20150830T123600Z is still later "
                                "than 20150830T115100Z (20150830T113600Z + 15 min.)");
}

static void test_equal(void **state)
{
    const char *a = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    char b[SIGV4_HEX_LEN + 1];

    assert_true(sigv4_equal(a, 64, a, 64));
    assert_true(sigv4_equal("", 0, "", 0));
    memcpy(b, a, sizeof b);
    b[0] = '6';
    assert_false(sigv4_equal(a, 64, b, 64));
    memcpy(b, a, sizeof b);
    b[63] = '8';
    assert_false(sigv4_equal(a, 64, b, 64));
    assert_false(sigv4_equal(a, 64, a, 63));
    assert_false(sigv4_equal(a, 63, a, 64));
    assert_false(sigv4_equal(a, 64, "", 0));
}

static void test_keys(void **state)
{
    struct sigv4_keys k;
    struct errmsg e;
    char id[16];

    sigv4_keys_init(&k);
    assert_int_equal(sigv4_keys_add(&k, "AKID1", "s1", &e), 0);
    assert_int_equal(sigv4_keys_add(&k, "AKID1", "s1", &e), 0);
    assert_int_equal(sigv4_keys_add(&k, "AKID1", "s2", &e), CR_EINVAL);
    assert_string_equal(e.text, "access key 'AKID1' is given twice with different secrets");
    assert_int_equal(sigv4_keys_add(&k, "", "s", &e), CR_EINVAL);
    assert_int_equal(sigv4_keys_add(&k, "A:B", "s", &e), CR_EINVAL);
    assert_int_equal(sigv4_keys_add(&k, "A B", "s", &e), CR_EINVAL);
    assert_int_equal(sigv4_keys_add(&k, "AKID2", "", &e), CR_EINVAL);
    for (int i = 0; i < 40; i++) { /* grows past its first allocation */
        snprintf(id, sizeof id, "K%d", i);
        assert_int_equal(sigv4_keys_add(&k, id, id, &e), 0);
    }
    assert_int_equal(k.n, 41);
    assert_string_equal(sigv4_keys_find(&k, "AKID1", 5), "s1");
    assert_string_equal(sigv4_keys_find(&k, "K39", 3), "K39");
    assert_null(sigv4_keys_find(&k, "AKID", 4));
    assert_null(sigv4_keys_find(&k, "AKID12", 6));
    sigv4_keys_close(&k);
}

static void test_load(void **state)
{
    char path[] = "/tmp/cirrus-sigv4-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    struct sigv4_keys k;
    struct errmsg e;

    assert_non_null(f);
    fputs("# keys\n\n  AKID1 secret1\nAKID2\tse#cret2   # comment\n", f);
    fclose(f);
    sigv4_keys_init(&k);
    assert_int_equal(sigv4_keys_load(&k, path, &e), 0);
    assert_int_equal(k.n, 2);
    assert_string_equal(sigv4_keys_find(&k, "AKID1", 5), "secret1");
    assert_string_equal(sigv4_keys_find(&k, "AKID2", 5), "se#cret2");
    f = fopen(path, "w");
    fputs("AKID3 s3\nAKID4 s4 extra\n", f);
    fclose(f);
    assert_int_equal(sigv4_keys_load(&k, path, &e), CR_EINVAL);
    assert_non_null(strstr(e.text, ":2: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY'"));
    f = fopen(path, "w");
    fputs("AKID1 other\n", f);
    fclose(f);
    assert_int_equal(sigv4_keys_load(&k, path, &e), CR_EINVAL);
    assert_non_null(strstr(e.text, ":1: access key 'AKID1' is given twice"));
    unlink(path);
    assert_int_equal(sigv4_keys_load(&k, path, &e), CR_EIO);
    sigv4_keys_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listusers_steps),
        cmocka_unit_test(test_listusers_verifies),
        cmocka_unit_test(test_listusers_post),
        cmocka_unit_test(test_get_vanilla),
        cmocka_unit_test(test_canonical_uri),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_skew),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
