/*
 * The `cirrus` command-line client: one-shot commands and an interactive shell over
 * libcirrus, JSON in and out (value shapes in json.h and in --help). It parses arguments,
 * converts JSON and prints; it never speaks the protocol itself (that is libcirrus) and never
 * includes protobuf headers. Exit status: 0 success, 1 server, connection or not-found
 * errors, 2 usage errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/cirrus.h"
#include "tools/json.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define DEFAULT_HOST "127.0.0.1:7070"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_POS 4

static const char HELP[] =
    "usage: cirrus [global options] COMMAND [args]\n"
    "\n"
    "commands:\n"
    "  create-table TABLE --pk NAME:TYPE [--sk NAME:TYPE]   TYPE is S, N or B\n"
    "  delete-table TABLE\n"
    "  describe-table TABLE\n"
    "  tables                                  every table name, as one JSON array\n"
    "  put TABLE ITEM [--if-not-exists | --if-exists | --if 'ATTR=JSON'] [--return-old]\n"
    "  get TABLE KEY                           exit 1 with \"not found\" if there is no item\n"
    "  delete TABLE KEY [--if-exists | --if 'ATTR=JSON'] [--return-old]\n"
    "  query TABLE --pk JSON [--sk EXPR] [--reverse] [--limit N] [--all] [--cursor C]\n"
    "        EXPR: '= v', '< v', '<= v', '> v', '>= v', 'between v1 and v2', 'begins_with v'\n"
    "        where v is JSON, e.g. --pk '\"ann\"' --sk 'between 1 and 9'\n"
    "  scan TABLE [--limit N] [--segment I --segments N] [--all] [--cursor C]\n"
    "        query and scan print one item per line (JSON Lines); --limit is the page size,\n"
    "        --all follows cursors to the end, else a remaining cursor is printed on stderr\n"
    "  batch TABLE '[{\"put\":ITEM},{\"delete\":KEY},...]'   all or nothing\n"
    "  stats\n"
    "  ping\n"
    "  shell                                   read commands from stdin (the default on a TTY)\n"
    "  help\n"
    "\n"
    "global options:\n"
    "  --host HOST:PORT     server address (default $CIRRUS_HOST, else " DEFAULT_HOST ")\n"
    "  --consistency LEVEL  strong | bounded | session | prefix | eventual (reads)\n"
    "  --session-token N    for session reads: an applied index already seen (the shell\n"
    "                       passes the last one it saw by itself)\n"
    "  --timeout MS         per-request timeout (default 10000)\n"
    "\n"
    "values are JSON: string, integer (too big for int64: an exact decimal), real (double),\n"
    "true/false, null, array, object (a map). Other kinds are one-key objects:\n"
    "  {\"$bytes\":\"<base64>\"}         bytes\n"
    "  {\"$decimal\":\"12.50\"}          exact decimal number\n"
    "  {\"$double\":\"NaN\"}             also \"Infinity\", \"-Infinity\"\n"
    "  {\"$ts\":\"2024-05-01T12:00:00.25Z\"}  timestamp (RFC 3339)\n"
    "  {\"$geo\":[48.85, 2.35]}        geopoint [latitude, longitude]\n"
    "  {\"$ref\":\"users/ann\"}          document reference\n"
    "  {\"$ss\":[\"a\",\"b\"]}  {\"$ns\":[1,\"2.5\"]}  {\"$bs\":[\"<base64>\"]}   "
    "string/number/binary sets\n"
    "  {\"$map\":{\"$x\":1}}             a map taken literally (its only key starts with $)\n"
    "output uses the same shapes.\n"
    "\n"
    "shell: the same commands without the program name; quote with '...' or \"...\";\n"
    "  a word starting with { or [ is taken as JSON up to its closing bracket, unquoted;\n"
    "  help, quit.\n";

/* One command line, parsed. Strings point into argv. */
struct opts {
    const char *pos[MAX_POS];
    int npos;
    const char *host;
    const char *pk;
    const char *sk;
    const char *if_expr;
    const char *cursor;
    int if_exists;
    int if_not_exists;
    int return_old;
    int reverse;
    int all;
    long limit;
    long segment;
    long segments;
    long timeout_ms;
    int consistency_set;
    enum cirrus_consistency consistency;
    int token_set;
    uint64_t token;
};

/* The connection and what a session remembers between commands. */
struct cli {
    struct cirrus *c;
    const char *host;
    int port;
    int timeout_ms;
    int line_timeout_ms; /* this line's --timeout, or 0 */
    int in_shell;
    uint64_t seen_index; /* the highest applied index seen: the session token */
    struct cirrus_read_opts base_ro;
    int base_token_set;
};

enum opt_id {
    O_HOST,
    O_CONSISTENCY,
    O_TOKEN,
    O_TIMEOUT,
    O_PK,
    O_SK,
    O_IF,
    O_IF_EXISTS,
    O_IF_NOT_EXISTS,
    O_RETURN_OLD,
    O_REVERSE,
    O_ALL,
    O_LIMIT,
    O_SEGMENT,
    O_SEGMENTS,
    O_CURSOR,
};

#define OPT_BIT(id) (1u << (id))
#define GLOBAL_OPTS                                                                                \
    (OPT_BIT(O_HOST) | OPT_BIT(O_CONSISTENCY) | OPT_BIT(O_TOKEN) | OPT_BIT(O_TIMEOUT))

static const struct {
    const char *name;
    enum opt_id id;
    int has_arg;
} OPTIONS[] = {
    {"host", O_HOST, 1},
    {"consistency", O_CONSISTENCY, 1},
    {"session-token", O_TOKEN, 1},
    {"timeout", O_TIMEOUT, 1},
    {"pk", O_PK, 1},
    {"sk", O_SK, 1},
    {"if", O_IF, 1},
    {"if-exists", O_IF_EXISTS, 0},
    {"if-not-exists", O_IF_NOT_EXISTS, 0},
    {"return-old", O_RETURN_OLD, 0},
    {"reverse", O_REVERSE, 0},
    {"all", O_ALL, 0},
    {"limit", O_LIMIT, 1},
    {"segment", O_SEGMENT, 1},
    {"segments", O_SEGMENTS, 1},
    {"cursor", O_CURSOR, 1},
};

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "cirrus: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try 'cirrus help')\n");
    return EXIT_USAGE;
}

/* Reports a failed call; 1. A connection the error made unusable is dropped, so the shell's
 * next command connects afresh. */
static int report(struct cli *cli, int rc)
{
    fprintf(stderr, "cirrus: %s: %s\n", cr_errname(rc),
            cli->c != NULL ? cirrus_errmsg(cli->c) : cr_strerror(rc));
    if (rc == CR_ECLOSED || rc == CR_EPROTO) {
        cirrus_close(cli->c);
        cli->c = NULL;
    }
    return EXIT_FAIL;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_consistency(const char *s, enum cirrus_consistency *out)
{
    static const struct {
        const char *name;
        enum cirrus_consistency level;
    } levels[] = {
        {"strong", CIRRUS_STRONG},     {"bounded", CIRRUS_BOUNDED_STALENESS},
        {"session", CIRRUS_SESSION},   {"prefix", CIRRUS_CONSISTENT_PREFIX},
        {"eventual", CIRRUS_EVENTUAL},
    };
    size_t i;

    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcasecmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return -1;
}

static int set_opt(struct opts *o, enum opt_id id, const char *arg)
{
    unsigned long long token;
    char *end;

    switch (id) {
    case O_HOST:
        o->host = arg;
        return 0;
    case O_CONSISTENCY:
        o->consistency_set = 1;
        return parse_consistency(arg, &o->consistency) ? usage("unknown consistency '%s'", arg) : 0;
    case O_TOKEN:
        errno = 0;
        token = strtoull(arg, &end, 10);
        if (errno != 0 || end == arg || *end != '\0')
            return usage("bad --session-token '%s'", arg);
        o->token_set = 1;
        o->token = token;
        return 0;
    case O_TIMEOUT:
        return parse_long(arg, 1, 86400000, &o->timeout_ms) ? usage("bad --timeout '%s'", arg) : 0;
    case O_PK:
        o->pk = arg;
        return 0;
    case O_SK:
        o->sk = arg;
        return 0;
    case O_IF:
        o->if_expr = arg;
        return 0;
    case O_IF_EXISTS:
        o->if_exists = 1;
        return 0;
    case O_IF_NOT_EXISTS:
        o->if_not_exists = 1;
        return 0;
    case O_RETURN_OLD:
        o->return_old = 1;
        return 0;
    case O_REVERSE:
        o->reverse = 1;
        return 0;
    case O_ALL:
        o->all = 1;
        return 0;
    case O_LIMIT:
        return parse_long(arg, 1, UINT32_MAX, &o->limit) ? usage("bad --limit '%s'", arg) : 0;
    case O_SEGMENT:
        return parse_long(arg, 0, UINT32_MAX, &o->segment) ? usage("bad --segment '%s'", arg) : 0;
    case O_SEGMENTS:
        return parse_long(arg, 1, UINT32_MAX, &o->segments) ? usage("bad --segments '%s'", arg) : 0;
    case O_CURSOR:
        o->cursor = arg;
        return 0;
    }
    return EXIT_USAGE;
}

/* Parses argv into *o; *seen gets a bit per option given. 0 or EXIT_USAGE (reported). */
static int parse_args(int argc, char **argv, struct opts *o, unsigned *seen)
{
    const char *name, *arg, *eq;
    size_t i, nlen;
    int k, rc;

    memset(o, 0, sizeof(*o));
    o->segment = -1;
    *seen = 0;
    for (k = 0; k < argc; k++) {
        if (strncmp(argv[k], "--", 2) != 0 || argv[k][2] == '\0') {
            if (o->npos == MAX_POS)
                return usage("too many arguments at '%s'", argv[k]);
            o->pos[o->npos++] = argv[k];
            continue;
        }
        name = argv[k] + 2;
        eq = strchr(name, '=');
        nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        for (i = 0; i < sizeof(OPTIONS) / sizeof(OPTIONS[0]); i++)
            if (strlen(OPTIONS[i].name) == nlen && strncmp(OPTIONS[i].name, name, nlen) == 0)
                break;
        if (i == sizeof(OPTIONS) / sizeof(OPTIONS[0]))
            return usage("unknown option '%s'", argv[k]);
        arg = NULL;
        if (OPTIONS[i].has_arg) {
            if (eq != NULL)
                arg = eq + 1;
            else if (k + 1 < argc)
                arg = argv[++k];
            else
                return usage("option '%s' needs a value", argv[k]);
        } else if (eq != NULL) {
            return usage("option '%s' takes no value", argv[k]);
        }
        if ((rc = set_opt(o, OPTIONS[i].id, arg)) != 0)
            return rc;
        *seen |= OPT_BIT(OPTIONS[i].id);
    }
    return 0;
}

/* ---- helpers over values ---- */

static int parse_value(const char *text, const char *what, struct cirrus_value *out)
{
    char err[256];

    if (jsonv_parse(text, out, err, sizeof(err)) != 0) {
        fprintf(stderr, "cirrus: %s: %s\n", what, err);
        return EXIT_USAGE;
    }
    return 0;
}

static int parse_map(const char *text, const char *what, struct cirrus_value *out)
{
    int rc = parse_value(text, what, out);

    if (rc == 0 && out->type != CIRRUS_MAP) {
        cirrus_value_clear(out);
        return usage("%s must be a JSON object", what);
    }
    return rc;
}

static void print_value(const struct cirrus_value *v)
{
    char *s = jsonv_dumps(v);

    if (s == NULL) {
        fprintf(stderr, "cirrus: out of memory\n");
        return;
    }
    printf("%s\n", s);
    free(s);
}

static void print_json(json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

static const char *key_type_name(enum cirrus_key_type t)
{
    return t == CIRRUS_KEY_N ? "N" : t == CIRRUS_KEY_B ? "B" : "S";
}

static void print_table(const struct cirrus_table_desc *t)
{
    char created[48] = "";
    json_t *j;

    jsonv_ts_format(t->created_ms / 1000, (int32_t)(t->created_ms % 1000) * 1000000, created,
                    sizeof(created));
    j = json_pack("{s:s?, s:{s:s?, s:s}, s:I, s:I, s:I, s:s, s:I, s:I}", "name", t->name,
                  "partition_key", "name", t->pk_name, "type", key_type_name(t->pk_type),
                  "table_id", (json_int_t)t->table_id, "item_count", (json_int_t)t->item_count,
                  "size_bytes", (json_int_t)t->size_bytes, "created", created, "created_ms",
                  (json_int_t)t->created_ms, "created_index", (json_int_t)t->created_index);
    if (j != NULL && t->sk_name != NULL)
        json_object_set_new(
            j, "sort_key",
            json_pack("{s:s, s:s}", "name", t->sk_name, "type", key_type_name(t->sk_type)));
    print_json(j);
}

/* The read options of this command: base options, overridden by the line's own. */
static void read_opts(struct cli *cli, const struct opts *o, struct cirrus_read_opts *ro)
{
    *ro = cli->base_ro;
    if (o->consistency_set)
        ro->consistency = o->consistency;
    if (o->token_set)
        ro->session_token = o->token;
    else if (!cli->base_token_set)
        ro->session_token = cli->seen_index;
}

static void note_index(struct cli *cli)
{
    uint64_t idx = cirrus_last_applied_index(cli->c);

    if (idx > cli->seen_index)
        cli->seen_index = idx;
}

/* ---- commands ---- */

/* Connects on first use, after the command has checked its arguments. 0 or 1. */
static int ensure_connected(struct cli *cli)
{
    int rc;

    if (cli->c == NULL) {
        rc = cirrus_connect(cli->host, cli->port, cli->timeout_ms, &cli->c);
        if (rc != 0) {
            fprintf(stderr, "cirrus: %s: cannot connect to %s:%d\n", cr_errname(rc), cli->host,
                    cli->port);
            return EXIT_FAIL;
        }
    }
    cirrus_set_timeout(cli->c, cli->line_timeout_ms > 0 ? cli->line_timeout_ms : cli->timeout_ms);
    return 0;
}

static int parse_key_def(const char *def, const char *what, char **name, enum cirrus_key_type *type)
{
    const char *colon = def != NULL ? strrchr(def, ':') : NULL;

    if (colon == NULL || colon == def || colon[1] == '\0' || colon[2] != '\0' ||
        strchr("SNB", colon[1]) == NULL)
        return usage("%s must be NAME:S, NAME:N or NAME:B", what);
    *type = colon[1] == 'N' ? CIRRUS_KEY_N : colon[1] == 'B' ? CIRRUS_KEY_B : CIRRUS_KEY_S;
    *name = strndup(def, (size_t)(colon - def));
    return *name == NULL ? EXIT_FAIL : 0;
}

static int cmd_create_table(struct cli *cli, struct opts *o)
{
    struct cirrus_result r;
    enum cirrus_key_type pkt, skt = CIRRUS_KEY_S;
    char *pk = NULL, *sk = NULL;
    int rc;

    if (o->pk == NULL)
        return usage("%s needs --pk NAME:TYPE", "create-table");
    if ((rc = parse_key_def(o->pk, "--pk", &pk, &pkt)) != 0)
        return rc;
    if (o->sk != NULL && (rc = parse_key_def(o->sk, "--sk", &sk, &skt)) != 0) {
        free(pk);
        return rc;
    }
    rc = ensure_connected(cli);
    if (rc != 0) {
        free(pk);
        free(sk);
        return rc;
    }
    rc = cirrus_create_table(cli->c, o->pos[1], pk, pkt, sk, skt, &r);
    free(pk);
    free(sk);
    if (rc == 0)
        print_table(&r.table);
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_delete_table(struct cli *cli, struct opts *o)
{
    struct cirrus_result r;
    int rc = ensure_connected(cli);

    if (rc != 0)
        return rc;
    rc = cirrus_delete_table(cli->c, o->pos[1], &r);
    if (rc == 0)
        print_table(&r.table);
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_describe_table(struct cli *cli, struct opts *o)
{
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    int rc;

    if ((rc = ensure_connected(cli)) != 0)
        return rc;
    read_opts(cli, o, &ro);
    rc = cirrus_describe_table(cli->c, o->pos[1], &ro, &r);
    if (rc == 0)
        print_table(&r.table);
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_tables(struct cli *cli, struct opts *o)
{
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    json_t *names;
    char *start = NULL;
    size_t i;
    int rc;

    if ((rc = ensure_connected(cli)) != 0)
        return rc;
    if ((names = json_array()) == NULL)
        return EXIT_FAIL;
    read_opts(cli, o, &ro);
    do {
        rc = cirrus_list_tables(cli->c, start, 0, &ro, &r);
        free(start);
        start = NULL;
        for (i = 0; rc == 0 && i < r.n_tables; i++)
            json_array_append_new(names, json_string(r.tables[i]));
        if (rc == 0 && r.last_evaluated != NULL)
            start = strdup(r.last_evaluated);
        cirrus_result_free(&r);
    } while (rc == 0 && start != NULL);
    if (rc != 0) {
        json_decref(names);
        return report(cli, rc);
    }
    print_json(names);
    return 0;
}

/* Fills the write options from --if-exists, --if-not-exists, --if, --return-old. */
static int write_opts(const struct opts *o, struct cirrus_write_opts *wo, char **attr,
                      struct cirrus_value *val)
{
    const char *eq;

    memset(wo, 0, sizeof(*wo));
    *attr = NULL;
    cirrus_value_null(val);
    wo->return_old = o->return_old;
    if (o->if_exists + o->if_not_exists + (o->if_expr != NULL) > 1)
        return usage("%s", "give at most one of --if-exists, --if-not-exists, --if");
    if (o->if_exists)
        wo->condition = CIRRUS_COND_EXISTS;
    if (o->if_not_exists)
        wo->condition = CIRRUS_COND_NOT_EXISTS;
    if (o->if_expr == NULL)
        return 0;
    eq = strchr(o->if_expr, '=');
    if (eq == NULL || eq == o->if_expr)
        return usage("--if needs ATTR=JSON, got '%s'", o->if_expr);
    if (parse_value(eq + 1, "--if", val) != 0)
        return EXIT_USAGE;
    *attr = strndup(o->if_expr, (size_t)(eq - o->if_expr));
    if (*attr == NULL) {
        cirrus_value_clear(val);
        return EXIT_FAIL;
    }
    wo->condition = CIRRUS_COND_EQUALS;
    wo->attr = *attr;
    wo->value = val;
    return 0;
}

static void print_write(struct cli *cli, const struct cirrus_result *r, int return_old)
{
    char *old;

    if (!return_old) {
        printf("{\"applied_index\":%" PRIu64 "}\n", cirrus_last_applied_index(cli->c));
        return;
    }
    old = jsonv_dumps(&r->item);
    printf("{\"applied_index\":%" PRIu64 ",\"old\":%s}\n", cirrus_last_applied_index(cli->c),
           old != NULL ? old : "null");
    free(old);
}

static int cmd_put_or_delete(struct cli *cli, struct opts *o, int is_delete)
{
    struct cirrus_write_opts wo;
    struct cirrus_value item, cond;
    struct cirrus_result r;
    char *attr;
    int rc;

    if ((rc = write_opts(o, &wo, &attr, &cond)) != 0)
        return rc;
    if ((rc = parse_map(o->pos[2], is_delete ? "key" : "item", &item)) != 0) {
        free(attr);
        cirrus_value_clear(&cond);
        return rc;
    }
    if ((rc = ensure_connected(cli)) != 0)
        goto out;
    if (is_delete)
        rc = cirrus_delete_item(cli->c, o->pos[1], &item, &wo, &r);
    else
        rc = cirrus_put_item(cli->c, o->pos[1], &item, &wo, &r);
    if (rc == 0)
        print_write(cli, &r, o->return_old);
    cirrus_result_free(&r);
    rc = rc != 0 ? report(cli, rc) : 0;
out:
    cirrus_value_clear(&item);
    cirrus_value_clear(&cond);
    free(attr);
    return rc;
}

static int cmd_put(struct cli *cli, struct opts *o)
{
    return cmd_put_or_delete(cli, o, 0);
}

static int cmd_delete(struct cli *cli, struct opts *o)
{
    if (o->if_not_exists)
        return usage("%s", "delete takes --if-exists or --if, not --if-not-exists");
    return cmd_put_or_delete(cli, o, 1);
}

static int cmd_get(struct cli *cli, struct opts *o)
{
    struct cirrus_read_opts ro;
    struct cirrus_value key;
    struct cirrus_result r;
    int rc;

    if ((rc = parse_map(o->pos[2], "key", &key)) != 0)
        return rc;
    if ((rc = ensure_connected(cli)) != 0) {
        cirrus_value_clear(&key);
        return rc;
    }
    read_opts(cli, o, &ro);
    rc = cirrus_get_item(cli->c, o->pos[1], &key, &ro, &r);
    if (rc == 0)
        print_value(&r.item);
    cirrus_result_free(&r);
    cirrus_value_clear(&key);
    return rc != 0 ? report(cli, rc) : 0;
}

/* Parses a --sk expression into op, sk and sk_end (cleared by the caller). */
static int parse_sk(const char *expr, enum cirrus_sk_op *op, struct cirrus_value *sk,
                    struct cirrus_value *sk_end)
{
    static const struct {
        const char *text;
        enum cirrus_sk_op op;
    } ops[] = {
        {"between", CIRRUS_SK_BETWEEN},
        {"begins_with", CIRRUS_SK_BEGINS_WITH},
        {"<=", CIRRUS_SK_LE},
        {">=", CIRRUS_SK_GE},
        {"=", CIRRUS_SK_EQ},
        {"<", CIRRUS_SK_LT},
        {">", CIRRUS_SK_GT},
    };
    const char *p = expr, *end;
    char err[256], *text;
    size_t i, n;
    int rc = 0;

    while (*p == ' ')
        p++;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0)
            break;
    if (i == sizeof(ops) / sizeof(ops[0]))
        return usage("--sk must start with =, <, <=, >, >=, between or begins_with: '%s'", expr);
    *op = ops[i].op;
    p += strlen(ops[i].text);
    if (*op != CIRRUS_SK_BETWEEN)
        return parse_value(p, "--sk", sk);
    if ((text = jsonv_rewrite_bigints(p)) == NULL)
        return EXIT_FAIL;
    if (jsonv_parse_prefix(text, sk, &end, err, sizeof(err)) != 0) {
        fprintf(stderr, "cirrus: --sk: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    end += strspn(end, " \t");
    n = strspn(end + 3, " \t");
    if (strncasecmp(end, "and", 3) != 0 || n == 0) {
        rc = usage("--sk between needs 'between V1 and V2': '%s'", expr);
        goto out;
    }
    if (jsonv_parse_prefix(end + 3 + n, sk_end, &end, err, sizeof(err)) != 0) {
        fprintf(stderr, "cirrus: --sk: %s\n", err);
        rc = EXIT_USAGE;
    } else if (end[strspn(end, " \t")] != '\0') {
        rc = usage("--sk: unexpected text after the second value: '%s'", end);
    }
out:
    free(text);
    return rc;
}

static int decode_cursor(const char *text, uint8_t **cursor, size_t *len)
{
    *cursor = NULL;
    *len = 0;
    if (text == NULL)
        return 0;
    if (jsonv_base64_decode(text, strlen(text), cursor, len) != 0)
        return usage("--cursor must be the base64 text printed by a previous page: '%s'", text);
    return 0;
}

/* Prints a page's items; keeps the page's cursor for the next call. */
static int print_page(struct cirrus_result *r, uint8_t **cursor, size_t *len)
{
    size_t i;

    for (i = 0; i < r->n_items; i++)
        print_value(&r->items[i]);
    free(*cursor);
    *cursor = r->cursor;
    *len = r->cursor_len;
    r->cursor = NULL;
    r->cursor_len = 0;
    return 0;
}

/* After the last page shown: tells the user how to go on. */
static void print_more(const uint8_t *cursor, size_t len)
{
    char *b64;

    if (cursor == NULL)
        return;
    b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (b64 == NULL)
        return;
    jsonv_base64_encode(cursor, len, b64);
    fflush(stdout);
    fprintf(stderr, "# more: --cursor %s\n", b64);
    free(b64);
}

/* One page of a query or a scan from `cursor`: the request's own call. */
typedef int (*page_fn)(struct cli *cli, void *req, const struct cirrus_read_opts *ro,
                       const uint8_t *cursor, size_t len, struct cirrus_result *r);

/* Prints pages from `cursor` (owned; freed here) as JSON Lines, following the continuation with
 * --all, and the cursor left over on stderr. */
static int print_pages(struct cli *cli, struct opts *o, page_fn fetch, void *req, uint8_t *cursor,
                       size_t len)
{
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    int rc;

    read_opts(cli, o, &ro);
    do {
        rc = fetch(cli, req, &ro, cursor, len, &r);
        if (rc == 0)
            print_page(&r, &cursor, &len);
        cirrus_result_free(&r);
    } while (rc == 0 && o->all && cursor != NULL);
    if (rc == 0)
        print_more(cursor, len);
    free(cursor);
    return rc != 0 ? report(cli, rc) : 0;
}

struct query_req {
    const char *table;
    struct cirrus_query q;
};

static int query_page(struct cli *cli, void *req, const struct cirrus_read_opts *ro,
                      const uint8_t *cursor, size_t len, struct cirrus_result *r)
{
    struct query_req *qr = req;

    qr->q.cursor = cursor;
    qr->q.cursor_len = len;
    return cirrus_query(cli->c, qr->table, &qr->q, ro, r);
}

struct scan_req {
    const char *table;
    struct cirrus_scan s;
};

static int scan_page(struct cli *cli, void *req, const struct cirrus_read_opts *ro,
                     const uint8_t *cursor, size_t len, struct cirrus_result *r)
{
    struct scan_req *sr = req;

    sr->s.cursor = cursor;
    sr->s.cursor_len = len;
    return cirrus_scan(cli->c, sr->table, &sr->s, ro, r);
}

static int cmd_query(struct cli *cli, struct opts *o)
{
    struct cirrus_value pk, sk, sk_end;
    struct query_req req;
    struct cirrus_query *q = &req.q;
    uint8_t *cursor;
    size_t len;
    int rc;

    memset(&req, 0, sizeof(req));
    req.table = o->pos[1];
    cirrus_value_null(&sk);
    cirrus_value_null(&sk_end);
    if (o->pk == NULL)
        return usage("%s needs --pk JSON", "query");
    if ((rc = parse_value(o->pk, "--pk", &pk)) != 0)
        return rc;
    if (o->sk != NULL && (rc = parse_sk(o->sk, &q->op, &sk, &sk_end)) != 0)
        goto out;
    if ((rc = decode_cursor(o->cursor, &cursor, &len)) != 0)
        goto out;
    if ((rc = ensure_connected(cli)) != 0) {
        free(cursor);
        goto out;
    }
    q->pk = &pk;
    q->sk = &sk;
    q->sk_end = &sk_end;
    q->reverse = o->reverse;
    q->limit = (uint32_t)o->limit;
    rc = print_pages(cli, o, query_page, &req, cursor, len);
out:
    cirrus_value_clear(&pk);
    cirrus_value_clear(&sk);
    cirrus_value_clear(&sk_end);
    return rc;
}

static int cmd_scan(struct cli *cli, struct opts *o)
{
    struct scan_req req;
    struct cirrus_scan *s = &req.s;
    uint8_t *cursor;
    size_t len;
    int rc;

    memset(&req, 0, sizeof(req));
    req.table = o->pos[1];
    if ((o->segment >= 0) != (o->segments > 0))
        return usage("%s", "--segment and --segments go together");
    if (o->segments > 0 && o->segment >= o->segments)
        return usage("%s", "--segment must be below --segments");
    if ((rc = decode_cursor(o->cursor, &cursor, &len)) != 0)
        return rc;
    if ((rc = ensure_connected(cli)) != 0) {
        free(cursor);
        return rc;
    }
    s->limit = (uint32_t)o->limit;
    if (o->segments > 0) {
        s->segment = (uint32_t)o->segment;
        s->total_segments = (uint32_t)o->segments;
    }
    return print_pages(cli, o, scan_page, &req, cursor, len);
}

static int cmd_batch(struct cli *cli, struct opts *o)
{
    struct cirrus_write_op *ops = NULL;
    struct cirrus_value list, *e;
    struct cirrus_result r;
    size_t i, n;
    int rc;

    if ((rc = parse_value(o->pos[2], "batch", &list)) != 0)
        return rc;
    if (list.type != CIRRUS_ARRAY) {
        rc = usage("%s", "batch needs a JSON array of {\"put\":ITEM} and {\"delete\":KEY}");
        goto out;
    }
    n = list.u.list.len;
    if (n > 0 && (ops = calloc(n, sizeof(*ops))) == NULL) {
        rc = EXIT_FAIL;
        goto out;
    }
    for (i = 0; i < n; i++) {
        e = &list.u.list.items[i];
        ops[i].table = o->pos[1];
        if (e->type == CIRRUS_MAP && e->u.map.len == 1 &&
            e->u.map.fields[0].value.type == CIRRUS_MAP &&
            (strcmp(e->u.map.fields[0].name, "put") == 0 ||
             strcmp(e->u.map.fields[0].name, "delete") == 0)) {
            ops[i].is_delete = e->u.map.fields[0].name[0] == 'd';
            ops[i].value = &e->u.map.fields[0].value;
            continue;
        }
        fprintf(stderr,
                "cirrus: batch operation %zu is not {\"put\":{...}} or "
                "{\"delete\":{...}}\n",
                i);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = ensure_connected(cli)) != 0)
        goto out;
    rc = cirrus_batch_write(cli->c, ops, n, &r);
    if (r.n_writes > 0 || rc == 0) {
        printf("{\"applied_index\":%" PRIu64 ",\"results\":[", cirrus_last_applied_index(cli->c));
        for (i = 0; i < r.n_writes; i++)
            printf("%s\"%s\"", i > 0 ? "," : "", cr_errname(r.writes[i].code));
        printf("]}\n");
    }
    cirrus_result_free(&r);
    rc = rc != 0 ? report(cli, rc) : 0;
out:
    free(ops);
    cirrus_value_clear(&list);
    return rc;
}

static int cmd_stats(struct cli *cli, struct opts *o)
{
    struct cirrus_result r;
    struct cirrus_stats *s = &r.stats;
    int rc = ensure_connected(cli);

    if (rc != 0)
        return rc;
    rc = cirrus_stats(cli->c, &r);
    if (rc == 0)
        print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "applied_index",
                             (json_int_t)s->applied_index, "tables", (json_int_t)s->tables,
                             "connections", (json_int_t)s->connections, "requests",
                             (json_int_t)s->requests, "writes", (json_int_t)s->writes, "commits",
                             (json_int_t)s->commits, "uptime_ms", (json_int_t)s->uptime_ms,
                             "map_size", (json_int_t)s->map_size, "used_bytes",
                             (json_int_t)s->used_bytes));
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_ping(struct cli *cli, struct opts *o)
{
    int rc = ensure_connected(cli);

    if (rc != 0)
        return rc;
    rc = cirrus_ping(cli->c);
    if (rc != 0)
        return report(cli, rc);
    printf("{\"ok\":true,\"applied_index\":%" PRIu64 ",\"lag\":%" PRIu64 "}\n",
           cirrus_last_applied_index(cli->c), cirrus_last_lag(cli->c));
    return 0;
}

#define WRITE_OPTS                                                                                 \
    (OPT_BIT(O_IF) | OPT_BIT(O_IF_EXISTS) | OPT_BIT(O_IF_NOT_EXISTS) | OPT_BIT(O_RETURN_OLD))
#define PAGE_OPTS (OPT_BIT(O_LIMIT) | OPT_BIT(O_ALL) | OPT_BIT(O_CURSOR))

static const struct command {
    const char *name;
    int npos; /* positional arguments after the command name */
    unsigned opts;
    int (*run)(struct cli *cli, struct opts *o);
    const char *usage;
} COMMANDS[] = {
    {"create-table", 1, OPT_BIT(O_PK) | OPT_BIT(O_SK), cmd_create_table,
     "create-table TABLE --pk NAME:TYPE [--sk NAME:TYPE]"},
    {"delete-table", 1, 0, cmd_delete_table, "delete-table TABLE"},
    {"describe-table", 1, 0, cmd_describe_table, "describe-table TABLE"},
    {"tables", 0, 0, cmd_tables, "tables"},
    {"put", 2, WRITE_OPTS, cmd_put, "put TABLE ITEM"},
    {"get", 2, 0, cmd_get, "get TABLE KEY"},
    {"delete", 2, WRITE_OPTS, cmd_delete, "delete TABLE KEY"},
    {"query", 1, OPT_BIT(O_PK) | OPT_BIT(O_SK) | OPT_BIT(O_REVERSE) | PAGE_OPTS, cmd_query,
     "query TABLE --pk JSON [--sk EXPR]"},
    {"scan", 1, OPT_BIT(O_SEGMENT) | OPT_BIT(O_SEGMENTS) | PAGE_OPTS, cmd_scan, "scan TABLE"},
    {"batch", 2, 0, cmd_batch, "batch TABLE JSON_ARRAY"},
    {"stats", 0, 0, cmd_stats, "stats"},
    {"ping", 0, 0, cmd_ping, "ping"},
};

static const struct command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

/* Splits "HOST:PORT", "[V6]:PORT" or "HOST" (port 7070). Returns 0 or EXIT_USAGE. */
static int parse_host(const char *spec, char *host, size_t hostlen, int *port)
{
    const char *colon, *h = spec;
    size_t n;
    long p = 7070;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return usage("bad --host '%s'", spec);
        h = spec + 1;
        n = (size_t)(close - h);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(spec, ':');
        if (colon != NULL && strchr(spec, ':') != colon)
            colon = NULL; /* a bare IPv6 address */
        n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    }
    if (n == 0 || n >= hostlen || (colon != NULL && parse_long(colon + 1, 1, 65535, &p) != 0))
        return usage("bad --host '%s' (want HOST:PORT)", spec);
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

static int run_line(struct cli *cli, int argc, char **argv);

/* ---- the shell ---- */

/*
 * A word that starts with { or [ is JSON typed bare: it is copied as is up to its matching
 * bracket, so `put users {"id": "a b"}` works without shell quoting. Returns the end.
 */
static const char *copy_json(const char *p, char *word, size_t *w)
{
    int depth = 0, in_str = 0;

    for (; *p != '\0'; p++) {
        word[(*w)++] = *p;
        if (in_str) {
            if (*p == '\\' && p[1] != '\0')
                word[(*w)++] = *++p;
            else if (*p == '"')
                in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return p;
}

/*
 * Splits a line like a POSIX shell would for words: quotes and backslashes, no expansion;
 * bare JSON objects and arrays stay whole (copy_json).
 */
static int tokenize(const char *line, char ***argv_out, int *argc_out)
{
    size_t cap = 8, len = strlen(line);
    char **argv = malloc(cap * sizeof(char *)), *word = malloc(len + 1), **grown;
    const char *p = line;
    int argc = 0, in_word;
    size_t w;

    if (argv == NULL || word == NULL)
        goto nomem;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0' || *p == '#')
            break;
        w = 0;
        in_word = 1;
        if (*p == '{' || *p == '[')
            p = copy_json(p, word, &w);
        while (in_word && *p != '\0') {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');

                if (q == NULL)
                    goto unterminated;
                memcpy(word + w, p + 1, (size_t)(q - p - 1));
                w += (size_t)(q - p - 1);
                p = q + 1;
            } else if (*p == '"') {
                for (p++; *p != '"'; p++) {
                    if (*p == '\0')
                        goto unterminated;
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                        p++;
                    word[w++] = *p;
                }
                p++;
            } else if (*p == '\\' && p[1] != '\0') {
                word[w++] = p[1];
                p += 2;
            } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                in_word = 0;
            } else {
                word[w++] = *p++;
            }
        }
        if ((size_t)argc + 1 >= cap) {
            cap *= 2;
            if ((grown = realloc(argv, cap * sizeof(char *))) == NULL)
                goto nomem;
            argv = grown;
        }
        if ((argv[argc] = strndup(word, w)) == NULL)
            goto nomem;
        argc++;
    }
    free(word);
    argv[argc] = NULL;
    *argv_out = argv;
    *argc_out = argc;
    return 0;
unterminated:
    fprintf(stderr, "cirrus: unterminated quote\n");
    while (argc > 0)
        free(argv[--argc]);
    free(argv);
    free(word);
    return EXIT_USAGE;
nomem:
    fprintf(stderr, "cirrus: out of memory\n");
    while (argc > 0)
        free(argv[--argc]);
    free(argv);
    free(word);
    return EXIT_FAIL;
}

static int shell(struct cli *cli)
{
    int tty = isatty(STDIN_FILENO), argc, i, status = 0, quit = 0;
    char *line = NULL, **argv;
    size_t cap = 0;

    cli->in_shell = 1;
    if (tty)
        printf("cirrus shell on %s:%d; 'help' lists commands, 'quit' leaves.\n", cli->host,
               cli->port);
    for (;;) {
        if (tty) {
            printf("cirrus> ");
            fflush(stdout);
        }
        if (getline(&line, &cap, stdin) < 0)
            break;
        if (tokenize(line, &argv, &argc) != 0) {
            status = EXIT_USAGE;
            continue;
        }
        quit = argc > 0 && (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0);
        if (argc > 0 && !quit)
            status = run_line(cli, argc, argv);
        for (i = 0; i < argc; i++)
            free(argv[i]);
        free(argv);
        fflush(stdout);
        if (quit)
            break;
    }
    if (tty && !quit)
        printf("\n");
    free(line);
    return status;
}

/* ---- dispatch ---- */

/* Runs one parsed command line (argv without the program name). The exit status. */
static int run_line(struct cli *cli, int argc, char **argv)
{
    const struct command *cmd;
    struct opts o;
    unsigned seen;
    int rc;

    if ((rc = parse_args(argc, argv, &o, &seen)) != 0)
        return rc;
    if (o.npos == 0)
        return usage("%s", "no command given");
    if (strcmp(o.pos[0], "help") == 0) {
        fputs(HELP, stdout);
        return 0;
    }
    if (strcmp(o.pos[0], "shell") == 0)
        return cli->in_shell ? usage("%s", "already in the shell") : shell(cli);
    if ((cmd = find_command(o.pos[0])) == NULL)
        return usage("unknown command '%s'", o.pos[0]);
    if (o.npos - 1 != cmd->npos) {
        fprintf(stderr, "cirrus: usage: cirrus %s\n", cmd->usage);
        return EXIT_USAGE;
    }
    if ((seen & ~(cmd->opts | GLOBAL_OPTS)) != 0)
        return usage("an option given does not apply to '%s'", cmd->name);
    if (cli->in_shell && o.host != NULL)
        return usage("%s", "--host cannot change inside the shell");
    cli->line_timeout_ms = (int)o.timeout_ms;
    rc = cmd->run(cli, &o);
    if (cli->c != NULL)
        note_index(cli);
    fflush(stdout);
    return rc;
}

int main(int argc, char **argv)
{
    char host[256];
    struct cli cli;
    struct opts o;
    unsigned seen;
    const char *spec;
    int rc;

    memset(&cli, 0, sizeof(cli));
    if ((rc = parse_args(argc - 1, argv + 1, &o, &seen)) != 0)
        return rc;
    spec = o.host != NULL ? o.host : getenv("CIRRUS_HOST");
    if (spec == NULL || spec[0] == '\0')
        spec = DEFAULT_HOST;
    if ((rc = parse_host(spec, host, sizeof(host), &cli.port)) != 0)
        return rc;
    cli.host = host;
    cli.timeout_ms = o.timeout_ms > 0 ? (int)o.timeout_ms : DEFAULT_TIMEOUT_MS;
    cli.base_ro.consistency = o.consistency_set ? o.consistency : CIRRUS_CONSISTENCY_DEFAULT;
    cli.base_ro.session_token = o.token;
    cli.base_token_set = o.token_set;
    if (o.npos == 0 && isatty(STDIN_FILENO))
        rc = shell(&cli);
    else
        rc = run_line(&cli, argc - 1, argv + 1);
    cirrus_close(cli.c);
    return rc;
}
