/* config.c: defaults, flags in both spellings, the config file, precedence, bad values. */
#include "common/error.h"
#include "server/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int parse(struct config *c, enum config_action *act, struct errmsg *e, int argc,
                 const char **argv)
{
    return config_parse(argc, (char **)argv, c, act, e);
}

#define PARSE(c, act, e, ...)                                                                      \
    parse((c), (act), (e),                                                                         \
          (int)(sizeof((const char *[]){"cirrusd", __VA_ARGS__}) / sizeof(const char *)),          \
          (const char *[]){"cirrusd", __VA_ARGS__})

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void **state)
{
    struct config c;
    enum config_action act;
    struct errmsg e;
    const char *argv[] = {"cirrusd"};

    assert_int_equal(parse(&c, &act, &e, 1, argv), 0);
    assert_int_equal(act, CONFIG_RUN);
    assert_string_equal(c.data_dir, "./cirrus-data");
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 7070);
    assert_true(c.sync);
    assert_true(c.threads >= 1);
    assert_int_equal(c.max_frame, 16u << 20);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.max_queue, 10000);
    assert_int_equal(c.log_level, CR_LOG_INFO);
    assert_string_equal(c.port_file, "");
}

static void test_flags(void **state)
{
    struct config c;
    enum config_action act;
    struct errmsg e;

    assert_int_equal(PARSE(&c, &act, &e, "--data", "/tmp/x", "--listen=127.0.0.1:0", "--sync",
                           "none", "--threads=3", "--max-frame", "1m", "--max-connections", "5",
                           "--max-queue=7", "--log-level", "debug", "--port-file", "/tmp/p",
                           "--max-inflight", "9", "--map-size", "2g"),
                     0);
    assert_int_equal(c.map_size, 2ull << 30);
    assert_string_equal(c.data_dir, "/tmp/x");
    assert_int_equal(c.port, 0);
    assert_false(c.sync);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.max_frame, 1u << 20);
    assert_int_equal(c.max_connections, 5);
    assert_int_equal(c.max_queue, 7);
    assert_int_equal(c.max_inflight, 9);
    assert_int_equal(c.log_level, CR_LOG_DEBUG);
    assert_string_equal(c.port_file, "/tmp/p");
    assert_int_equal(c.http_threads, 0); /* unset: main.c uses --threads */
    assert_int_equal(PARSE(&c, &act, &e, "--http-threads", "4"), 0);
    assert_int_equal(c.http_threads, 4);
    assert_int_equal(PARSE(&c, &act, &e, "--http-threads", "0"), CR_EINVAL);
    assert_non_null(strstr(e.text, "--http-threads: '0'"));
    assert_int_equal(PARSE(&c, &act, &e, "--map-size", "1k"), CR_EINVAL); /* below 1 MiB */
    assert_int_equal(PARSE(&c, &act, &e, "--listen", "[::1]:8080"), 0);
    assert_string_equal(c.host, "::1");
    assert_int_equal(c.port, 8080);
    assert_int_equal(PARSE(&c, &act, &e, "--max-frame", "64KiB"), 0);
    assert_int_equal(c.max_frame, 65536);
}

static void test_help_version(void **state)
{
    struct config c;
    enum config_action act;
    struct errmsg e;

    assert_int_equal(PARSE(&c, &act, &e, "--threads", "2", "--help"), 0);
    assert_int_equal(act, CONFIG_HELP);
    assert_int_equal(PARSE(&c, &act, &e, "--version"), 0);
    assert_int_equal(act, CONFIG_VERSION);
}

static void test_bad_flags(void **state)
{
    struct config c;
    enum config_action act;
    struct errmsg e;

    assert_int_equal(PARSE(&c, &act, &e, "--bogus", "1"), CR_EINVAL);
    assert_non_null(strstr(e.text, "unknown flag '--bogus'"));
    assert_int_equal(PARSE(&c, &act, &e, "--threads"), CR_EINVAL);
    assert_non_null(strstr(e.text, "needs a value"));
    assert_int_equal(PARSE(&c, &act, &e, "--threads", "0"), CR_EINVAL);
    assert_non_null(strstr(e.text, "--threads: '0'"));
    assert_int_equal(PARSE(&c, &act, &e, "--threads", "2x"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--threads", "-1"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--max-frame", "10"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--max-frame", "2g"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--max-queue", "99999999999999999999999"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--sync", "sometimes"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--log-level", "loud"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--listen", "7070"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--listen", "localhost:70000"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--listen", ":7070"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--data", ""), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "stray"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--version=1"), CR_EINVAL);
}

static void test_file_and_precedence(void **state)
{
    char path[] = "/tmp/cirrus-config-XXXXXX";
    int fd = mkstemp(path);
    struct config c;
    enum config_action act;
    struct errmsg e;

    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# a comment\n"
                     "\n"
                     "  threads = 4   # trailing comment\n"
                     "max-queue=50\n"
                     "listen = 127.0.0.1:9000\n"
                     "sync = none\n");
    /* The file is read first wherever --config appears; flags override it. */
    assert_int_equal(PARSE(&c, &act, &e, "--threads", "2", "--config", path), 0);
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.max_queue, 50);
    assert_int_equal(c.port, 9000);
    assert_false(c.sync);

    write_file(path, "threads = 4\nfrobnicate = 1\n");
    assert_int_equal(PARSE(&c, &act, &e, "--config", path), CR_EINVAL);
    assert_non_null(strstr(e.text, ":2: unknown setting 'frobnicate'"));
    write_file(path, "threads 4\n");
    assert_int_equal(PARSE(&c, &act, &e, "--config", path), CR_EINVAL);
    assert_non_null(strstr(e.text, ":1: expected 'key = value'"));
    write_file(path, "threads = zero\n");
    assert_int_equal(PARSE(&c, &act, &e, "--config", path), CR_EINVAL);
    write_file(path, "config = /etc/other\n");
    assert_int_equal(PARSE(&c, &act, &e, "--config", path), CR_EINVAL);
    unlink(path);
    assert_int_equal(PARSE(&c, &act, &e, "--config", path), CR_EIO);
}

static void test_auth(void **state)
{
    char path[] = "/tmp/cirrus-config-XXXXXX";
    int fd = mkstemp(path);
    struct config c;
    enum config_action act;
    struct errmsg e;

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(PARSE(&c, &act, &e, "--data", "/tmp/x"), 0);
    assert_false(c.auth);
    assert_int_equal(c.n_access_keys, 0);
    assert_string_equal(c.credentials, "");
    /* --auth is a switch: no value on the command line; it needs keys. */
    assert_int_equal(PARSE(&c, &act, &e, "--auth", "--access-key", "AKID:se:cret"), 0);
    assert_true(c.auth);
    assert_int_equal(c.n_access_keys, 1);
    assert_string_equal(c.access_keys[0].id, "AKID");
    assert_string_equal(c.access_keys[0].secret, "se:cret");
    assert_int_equal(PARSE(&c, &act, &e, "--credentials=/etc/keys", "--auth"), 0);
    assert_true(c.auth);
    assert_string_equal(c.credentials, "/etc/keys");
    assert_int_equal(PARSE(&c, &act, &e, "--auth"), CR_EINVAL);
    assert_string_equal(e.text, "--auth needs --credentials FILE or --access-key ID:SECRET");
    assert_int_equal(PARSE(&c, &act, &e, "--auth=maybe", "--access-key", "A:B"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--access-key", "nocolon"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--access-key", ":secret"), CR_EINVAL);
    assert_int_equal(PARSE(&c, &act, &e, "--access-key", "AKID:"), CR_EINVAL);
    assert_null(strstr(e.text, "AKID")); /* never echo a key back */

    /* The file: on|off, keys accumulate with the flags', --auth=off overrides. */
    write_file(path, "auth = on\naccess-key = AKID1:s1\ncredentials = /etc/keys\n");
    assert_int_equal(PARSE(&c, &act, &e, "--config", path, "--access-key", "AKID2:s2"), 0);
    assert_true(c.auth);
    assert_int_equal(c.n_access_keys, 2);
    assert_string_equal(c.access_keys[0].id, "AKID1");
    assert_string_equal(c.access_keys[1].secret, "s2");
    assert_int_equal(PARSE(&c, &act, &e, "--config", path, "--auth=off"), 0);
    assert_false(c.auth);
    unlink(path);

    /* At most CR_CONFIG_MAX_ACCESS_KEYS on the command line. */
    {
        const char *argv[2 * CR_CONFIG_MAX_ACCESS_KEYS + 3] = {"cirrusd"};
        char keys[CR_CONFIG_MAX_ACCESS_KEYS + 1][16];
        int n = 1;

        for (int i = 0; i <= CR_CONFIG_MAX_ACCESS_KEYS; i++) {
            snprintf(keys[i], sizeof keys[i], "K%d:s", i);
            argv[n++] = "--access-key";
            argv[n++] = keys[i];
        }
        assert_int_equal(parse(&c, &act, &e, n - 2, argv), 0);
        assert_int_equal(c.n_access_keys, CR_CONFIG_MAX_ACCESS_KEYS);
        assert_int_equal(parse(&c, &act, &e, n, argv), CR_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_file_and_precedence),
        cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
