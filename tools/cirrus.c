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
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/cirrus.h"
#include "tools/csv.h"
#include "tools/json.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define DEFAULT_HOST "127.0.0.1:7070"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_POS 6
#define MAX_PARAMS 32 /* --param options of one sql command */

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
    "  create-collection NAME [--pk /path] [--indexing FILE]   FILE: a Cosmos DB\n"
    "        indexingPolicy (indexingMode, includedPaths, excludedPaths, compositeIndexes)\n"
    "  collections                             one JSON line per collection\n"
    "  drop-collection NAME\n"
    "  doc put COLL DOC [--if-match ETAG] [--create]   upsert (--if-match: only over that\n"
    "        version; --create: only when absent); prints it as stored, with _etag and _ts\n"
    "  doc get COLL ID [--pk JSON]             --pk: the partition key value, if any\n"
    "  doc delete COLL ID [--pk JSON] [--if-match ETAG]\n"
    "  doc patch COLL ID OPS [--pk JSON] [--if-match ETAG]   OPS: a JSON array of\n"
    "        {\"op\":\"set|replace|add|remove|incr\",\"path\":\"/a\",\"value\":V};\n"
    "        add to \"/arr/-\" appends; remove fails on a missing path\n"
    "  import COLL FILE.jsonl [--strict]       one document a line, written in batches;\n"
    "        bad lines are reported by number and skipped (--strict: stop); exit 1 if any\n"
    "  sql 'SELECT ... FROM COLL ...' [--param @x=JSON ...] [--max-items N]\n"
    "  explain 'SELECT ... FROM COLL ...' [--param @x=JSON ...]   the plan: index, ranges, sort\n"
    "        one JSON result a line, every page (--max-items: the page size)\n"
    "        collections, documents and queries take --db DB (default \"default\")\n"
    "  create-graph NAME                       a graph: vertices, edges, adjacency lists\n"
    "  graphs                                  one JSON line per graph\n"
    "  drop-graph NAME\n"
    "  gremlin GRAPH SCRIPT [--bind name=JSON ...]   one JSON result a line (Cosmos DB\n"
    "        shapes); the script's writes are applied as one entry\n"
    "  graph neighbors GRAPH V [--dir out|in|both] [--label L ...] [--limit N]\n"
    "  graph khop GRAPH V K [--dir D] [--label L ...]   vertices within K hops, with depths\n"
    "  graph shortest-path GRAPH A B [--dir D] [--label L ...]   the vertex ids, a line each\n"
    "  graph load GRAPH FILE                   an edge list: 'src dst' or src,dst[,label] a\n"
    "        line; vertices created on first sight; bad lines reported by number\n"
    "  graph load GRAPH --vertices V.csv [--edges E.csv] [--strict]   CSV with a header:\n"
    "        vertices id (or ~id), label, then property columns; edges src, dst (or ~from,\n"
    "        ~to), label, id, then properties; a column name:int|double|bool|string is typed;\n"
    "        an empty field sets nothing. Vertices must be new, edge endpoints must exist;\n"
    "        bad lines reported as FILE:LINE (--strict: stop); exit 1 if any\n"
    "  stats\n"
    "  add-node NODE_ID HOST:PORT              add a voter (started with --join) at its Raft peer\n"
    "                                          address; on the leader\n"
    "  remove-node NODE_ID                     remove a voter; on the leader\n"
    "  cluster-fault [--peer N ...] [--drop-out] [--drop-in] [--delay MS] [--jitter MS]\n"
    "        [--loss PCT]    this node's frames to (or from) each peer N dropped, held\n"
    "        or lost (testing); replaces those peers' faults. --heal [--peer N ...]:\n"
    "        clears them all (or those peers'); no option: prints the active faults\n"
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
    const char *db;
    const char *indexing;
    const char *if_match;
    int create;
    int strict;
    long max_items;
    const char *params[MAX_PARAMS]; /* --param, --bind or --label: a command takes one kind */
    int n_params;
    const char *dir;
    const char *vertices, *edges; /* graph load's CSV files */
    int drop_out, drop_in, heal;  /* cluster-fault (--peer goes in params) */
    long delay_ms, jitter_ms, loss_pct;
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
    O_DB,
    O_INDEXING,
    O_IF_MATCH,
    O_CREATE,
    O_PARAM,
    O_MAX_ITEMS,
    O_STRICT,
    O_BIND,
    O_DIR,
    O_LABEL,
    O_VERTICES,
    O_EDGES,
    O_PEER,
    O_DROP_OUT,
    O_DROP_IN,
    O_DELAY,
    O_JITTER,
    O_LOSS,
    O_HEAL,
};

#define OPT_BIT(id) (UINT64_C(1) << (id))
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
    {"db", O_DB, 1},
    {"indexing", O_INDEXING, 1},
    {"if-match", O_IF_MATCH, 1},
    {"create", O_CREATE, 0},
    {"param", O_PARAM, 1},
    {"max-items", O_MAX_ITEMS, 1},
    {"strict", O_STRICT, 0},
    {"bind", O_BIND, 1},
    {"dir", O_DIR, 1},
    {"label", O_LABEL, 1},
    {"vertices", O_VERTICES, 1},
    {"edges", O_EDGES, 1},
    {"peer", O_PEER, 1},
    {"drop-out", O_DROP_OUT, 0},
    {"drop-in", O_DROP_IN, 0},
    {"delay", O_DELAY, 1},
    {"jitter", O_JITTER, 1},
    {"loss", O_LOSS, 1},
    {"heal", O_HEAL, 0},
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
    case O_DB:
        o->db = arg;
        return 0;
    case O_INDEXING:
        o->indexing = arg;
        return 0;
    case O_IF_MATCH:
        o->if_match = arg;
        return 0;
    case O_CREATE:
        o->create = 1;
        return 0;
    case O_STRICT:
        o->strict = 1;
        return 0;
    case O_PARAM:
    case O_BIND:
    case O_LABEL:
    case O_PEER:
        if (o->n_params == MAX_PARAMS)
            return usage("more than %s --param, --bind or --label options", "32");
        o->params[o->n_params++] = arg;
        return 0;
    case O_MAX_ITEMS:
        return parse_long(arg, 1, 10000, &o->max_items) ? usage("bad --max-items '%s'", arg) : 0;
    case O_DIR:
        o->dir = arg;
        return 0;
    case O_VERTICES:
        o->vertices = arg;
        return 0;
    case O_EDGES:
        o->edges = arg;
        return 0;
    case O_DROP_OUT:
        o->drop_out = 1;
        return 0;
    case O_DROP_IN:
        o->drop_in = 1;
        return 0;
    case O_DELAY:
        return parse_long(arg, 0, 60000, &o->delay_ms) ? usage("bad --delay '%s'", arg) : 0;
    case O_JITTER:
        return parse_long(arg, 0, 60000, &o->jitter_ms) ? usage("bad --jitter '%s'", arg) : 0;
    case O_LOSS:
        return parse_long(arg, 0, 100, &o->loss_pct) ? usage("bad --loss '%s'", arg) : 0;
    case O_HEAL:
        o->heal = 1;
        return 0;
    }
    return EXIT_USAGE;
}

/* Parses argv into *o; *seen gets a bit per option given. 0 or EXIT_USAGE (reported). */
static int parse_args(int argc, char **argv, struct opts *o, uint64_t *seen)
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

/* ---- collections and documents ---- */

/* A Cosmos DB indexingPolicy JSON file -> *ix; its strings live in *root until json_decref.
 * 0 or EXIT_USAGE (reported). */
static int load_indexing(const char *file, json_t **root, struct cirrus_indexing *ix)
{
    const char *const keys[2] = {"includedPaths", "excludedPaths"};
    const char **lists[2] = {NULL, NULL};
    size_t counts[2] = {0, 0};
    struct cirrus_composite *comp = NULL;
    json_error_t jerr;
    json_t *j, *mode, *automatic, *arr;
    size_t i, k;

    memset(ix, 0, sizeof(*ix));
    if ((*root = j = json_load_file(file, 0, &jerr)) == NULL) {
        fprintf(stderr, "cirrus: --indexing %s: line %d: %s\n", file, jerr.line, jerr.text);
        return EXIT_USAGE;
    }
    if (!json_is_object(j))
        return usage("--indexing %s must hold a JSON object (an indexingPolicy)", file);
    mode = json_object_get(j, "indexingMode");
    automatic = json_object_get(j, "automatic");
    if (mode != NULL &&
        (!json_is_string(mode) || (strcasecmp(json_string_value(mode), "consistent") != 0 &&
                                   strcasecmp(json_string_value(mode), "lazy") != 0 &&
                                   strcasecmp(json_string_value(mode), "none") != 0)))
        return usage("%s: indexingMode must be \"consistent\" or \"none\"", file);
    ix->none = (mode != NULL && strcasecmp(json_string_value(mode), "none") == 0) ||
               json_is_false(automatic);
    for (k = 0; k < 2; k++) {
        if ((arr = json_object_get(j, keys[k])) == NULL)
            continue;
        if (!json_is_array(arr))
            return usage("%s must be an array of {\"path\": ...}", keys[k]);
        if ((lists[k] = calloc(json_array_size(arr) + 1, sizeof(*lists[k]))) == NULL)
            return EXIT_FAIL;
        for (i = 0; i < json_array_size(arr); i++) {
            json_t *path = json_object_get(json_array_get(arr, i), "path");

            if (!json_is_string(path)) {
                free(lists[0]);
                free(lists[1]);
                return usage("%s: every entry needs a \"path\" string", keys[k]);
            }
            lists[k][counts[k]++] = json_string_value(path);
        }
    }
    ix->include = lists[0];
    ix->n_include = counts[0];
    ix->exclude = lists[1];
    ix->n_exclude = counts[1];
    if ((arr = json_object_get(j, "compositeIndexes")) == NULL)
        return 0;
    if (!json_is_array(arr) || (comp = calloc(json_array_size(arr) + 1, sizeof(*comp))) == NULL)
        return usage("%s", "compositeIndexes must be an array of arrays");
    ix->composite = comp;
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *paths = json_array_get(arr, i);
        struct cirrus_composite_path *cp;

        if (!json_is_array(paths) || (cp = calloc(json_array_size(paths) + 1, sizeof(*cp))) == NULL)
            return usage("%s", "compositeIndexes must be an array of arrays");
        comp[i].paths = cp;
        ix->n_composite = i + 1;
        for (k = 0; k < json_array_size(paths); k++) {
            json_t *p = json_array_get(paths, k), *order = json_object_get(p, "order");

            if (!json_is_string(json_object_get(p, "path")) ||
                (order != NULL && !json_is_string(order)))
                return usage("%s", "a composite path is {\"path\": ..., \"order\": ...}");
            cp[k].path = json_string_value(json_object_get(p, "path"));
            cp[k].desc = order != NULL && strcasecmp(json_string_value(order), "descending") == 0;
            comp[i].n = k + 1;
        }
    }
    return 0;
}

static void free_indexing(struct cirrus_indexing *ix)
{
    for (size_t i = 0; i < ix->n_composite; i++)
        free((void *)ix->composite[i].paths);
    free((void *)ix->composite);
    free((void *)ix->include);
    free((void *)ix->exclude);
}

static void print_collection(const struct cirrus_collection_desc *d)
{
    print_json(json_pack("{s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I}", "db", d->db, "name", d->name,
                         "partition_key", d->pk_path, "collection_id", (json_int_t)d->id,
                         "documents", (json_int_t)d->doc_count, "size_bytes",
                         (json_int_t)d->size_bytes, "created_index", (json_int_t)d->created_index));
}

static int cmd_create_collection(struct cli *cli, struct opts *o)
{
    struct cirrus_indexing ix;
    struct cirrus_result r;
    json_t *root = NULL;
    int rc = 0;

    memset(&ix, 0, sizeof(ix));
    if (o->indexing != NULL)
        rc = load_indexing(o->indexing, &root, &ix);
    if (rc == 0 && (rc = ensure_connected(cli)) == 0) {
        rc = cirrus_create_collection(cli->c, o->db, o->pos[1], o->pk,
                                      o->indexing != NULL ? &ix : NULL, &r);
        if (rc == 0)
            print_collection(&r.collection);
        cirrus_result_free(&r);
        rc = rc != 0 ? report(cli, rc) : 0;
    }
    free_indexing(&ix);
    json_decref(root);
    return rc;
}

static int cmd_drop_collection(struct cli *cli, struct opts *o)
{
    struct cirrus_result r;
    int rc;

    if ((rc = ensure_connected(cli)) != 0)
        return rc;
    rc = cirrus_drop_collection(cli->c, o->db, o->pos[1], &r);
    if (rc == 0)
        print_collection(&r.collection);
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_collections(struct cli *cli, struct opts *o)
{
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    char *start = NULL;
    int rc;

    if ((rc = ensure_connected(cli)) != 0)
        return rc;
    read_opts(cli, o, &ro);
    do {
        rc = cirrus_list_collections(cli->c, o->db, start, 0, &ro, &r);
        free(start);
        start = NULL;
        for (size_t i = 0; rc == 0 && i < r.n_collections; i++)
            print_collection(&r.collections[i]);
        if (rc == 0 && r.last_evaluated != NULL)
            start = strdup(r.last_evaluated);
        cirrus_result_free(&r);
    } while (rc == 0 && start != NULL);
    return rc != 0 ? report(cli, rc) : 0;
}

/* Cosmos DB's patch operations -> storage's: set, replace (a set), add ("/-" appends to the
 * array), remove (the path must exist), incr. Paths and values are owned by ops/vals. */
static int parse_patch(const char *text, struct cirrus_patch_op **ops_out,
                       struct cirrus_value **vals_out, char ***paths_out, size_t *n_out)
{
    struct cirrus_value list, *vals = NULL;
    struct cirrus_patch_op *ops = NULL;
    char **paths = NULL;
    size_t n, i;
    int rc;

    *n_out = 0;
    if ((rc = parse_value(text, "patch operations", &list)) != 0)
        return rc;
    if (list.type != CIRRUS_ARRAY || list.u.list.len == 0) {
        cirrus_value_clear(&list);
        return usage("%s", "patch operations must be a non-empty JSON array");
    }
    n = list.u.list.len;
    ops = calloc(n, sizeof(*ops));
    vals = calloc(n, sizeof(*vals));
    paths = calloc(n, sizeof(*paths));
    rc = ops == NULL || vals == NULL || paths == NULL ? EXIT_FAIL : 0;
    for (i = 0; rc == 0 && i < n; i++) {
        struct cirrus_value *e = &list.u.list.items[i];
        const struct cirrus_value *op = cirrus_map_get(e, "op"), *path = cirrus_map_get(e, "path"),
                                  *value = cirrus_map_get(e, "value");
        const char *name = op != NULL && op->type == CIRRUS_STRING ? op->u.str.ptr : "";
        size_t plen;

        if (path == NULL || path->type != CIRRUS_STRING) {
            rc = usage("patch operation %s needs a \"path\" string", name);
            break;
        }
        plen = path->u.str.len;
        if ((paths[i] = strdup(path->u.str.ptr)) == NULL) {
            rc = EXIT_FAIL;
            break;
        }
        ops[i].path = paths[i];
        if (strcmp(name, "remove") == 0) {
            ops[i].kind = CIRRUS_PATCH_REMOVE;
            ops[i].must_exist = 1;
            continue;
        }
        if (value == NULL) {
            rc = usage("patch operation '%s' needs a \"value\"", name);
            break;
        }
        if (strcmp(name, "set") == 0 || strcmp(name, "replace") == 0) {
            ops[i].kind = CIRRUS_PATCH_SET;
        } else if (strcmp(name, "incr") == 0) {
            ops[i].kind = CIRRUS_PATCH_INCREMENT;
        } else if (strcmp(name, "add") == 0) {
            ops[i].kind = CIRRUS_PATCH_SET;
            if (plen >= 2 && strcmp(paths[i] + plen - 2, "/-") == 0) {
                ops[i].kind = CIRRUS_PATCH_APPEND;
                paths[i][plen - 2] = '\0';
            }
        } else {
            rc = usage("unknown patch operation '%s' (set, replace, add, remove, incr)", name);
            break;
        }
        if ((rc = cirrus_value_copy(&vals[i], value)) != 0) {
            rc = EXIT_FAIL;
            break;
        }
        ops[i].value = &vals[i];
    }
    cirrus_value_clear(&list);
    *ops_out = ops;
    *vals_out = vals;
    *paths_out = paths;
    *n_out = n;
    return rc;
}

static void free_patch(struct cirrus_patch_op *ops, struct cirrus_value *vals, char **paths,
                       size_t n)
{
    for (size_t i = 0; vals != NULL && paths != NULL && i < n; i++) {
        cirrus_value_clear(&vals[i]);
        free(paths[i]);
    }
    free(ops);
    free(vals);
    free(paths);
}

static void print_doc_write(const struct cirrus_result *r)
{
    print_value(&r->item);
}

static int doc_put(struct cli *cli, struct opts *o)
{
    struct cirrus_doc_pre pre = {CIRRUS_DOC_ANY, o->if_match, 0, 0};
    struct cirrus_value doc;
    struct cirrus_result r;
    int rc;

    if (o->npos != 4)
        return usage("%s",
                     "usage: cirrus doc put COLLECTION DOCUMENT [--if-match ETAG] [--create]");
    if ((rc = parse_map(o->pos[3], "document", &doc)) != 0)
        return rc;
    if ((rc = ensure_connected(cli)) == 0) {
        rc = cirrus_write_doc(cli->c, o->db, o->pos[2],
                              o->create ? CIRRUS_DOC_CREATE : CIRRUS_DOC_UPSERT, &doc, &pre, &r);
        if (rc == 0)
            print_doc_write(&r);
        cirrus_result_free(&r);
        rc = rc != 0 ? report(cli, rc) : 0;
    }
    cirrus_value_clear(&doc);
    return rc;
}

static int cmd_doc(struct cli *cli, struct opts *o)
{
    struct cirrus_doc_pre pre = {CIRRUS_DOC_ANY, o->if_match, 0, 0};
    struct cirrus_doc_key key = {NULL, NULL};
    struct cirrus_read_opts ro;
    struct cirrus_value pk = {0};
    struct cirrus_patch_op *ops = NULL;
    struct cirrus_value *vals = NULL;
    struct cirrus_result r;
    char **paths = NULL;
    size_t n = 0;
    const char *act = o->npos > 1 ? o->pos[1] : "";
    int get = strcmp(act, "get") == 0, del = strcmp(act, "delete") == 0,
        patch = strcmp(act, "patch") == 0, rc;

    if (strcmp(act, "put") == 0)
        return doc_put(cli, o);
    if ((!get && !del && !patch) || o->npos != (patch ? 5 : 4))
        return usage("%s", "usage: cirrus doc put|get|delete|patch COLLECTION ... (see help)");
    if (o->create || (get && o->if_match != NULL))
        return usage("%s", "--create is for doc put, --if-match for put, delete and patch");
    key.id = o->pos[3];
    if (o->pk != NULL) {
        if ((rc = parse_value(o->pk, "--pk", &pk)) != 0)
            return rc;
        key.pk = &pk;
    }
    rc = patch ? parse_patch(o->pos[4], &ops, &vals, &paths, &n) : 0;
    if (rc == 0 && (rc = ensure_connected(cli)) == 0) {
        read_opts(cli, o, &ro);
        if (get)
            rc = cirrus_get_doc(cli->c, o->db, o->pos[2], &key, &ro, &r);
        else if (del)
            rc = cirrus_delete_doc(cli->c, o->db, o->pos[2], &key, &pre, &r);
        else
            rc = cirrus_patch_doc(cli->c, o->db, o->pos[2], &key, ops, n, &pre, &r);
        if (rc == 0 && del)
            print_write(cli, &r, 0);
        else if (rc == 0)
            print_doc_write(&r);
        cirrus_result_free(&r);
        rc = rc != 0 ? report(cli, rc) : 0;
    }
    free_patch(ops, vals, paths, n);
    cirrus_value_clear(&pk);
    return rc;
}

/* ---- import ---- */

#define IMPORT_BATCH_DOCS 500            /* documents per log entry */
#define IMPORT_BATCH_BYTES (1024 * 1024) /* JSON text per log entry */
/* A longer line is refused here: documents are at most 2 MB encoded, and a batch must stay well
 * inside the server's 16 MiB frame. */
#define IMPORT_MAX_LINE (8 * 1024 * 1024)

struct import {
    struct cli *cli;
    struct opts *o;
    struct cirrus_value docs[IMPORT_BATCH_DOCS];
    size_t lines[IMPORT_BATCH_DOCS]; /* each document's line number */
    size_t n, bytes;
    size_t imported, failed;
    int progress; /* stderr is a terminal */
    long total_bytes;
    int stop; /* --strict and a failure */
};

static void import_bad(struct import *im, size_t line, const char *why)
{
    if (im->progress)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "cirrus: import: line %zu: %s\n", line, why);
    im->failed++;
    if (im->o->strict)
        im->stop = 1;
}

/* Writes the batch in one entry; when it fails, each document alone, so every bad line is named.
 * 0, or 1 when the connection failed. */
static int import_flush(struct import *im)
{
    struct cirrus_result r;
    int rc;

    if (im->n == 0)
        return 0;
    rc = cirrus_write_docs(im->cli->c, im->o->db, im->o->pos[1], CIRRUS_DOC_UPSERT, im->docs, im->n,
                           &r);
    cirrus_result_free(&r);
    if (rc == 0) {
        im->imported += im->n;
    } else if (rc == CR_ECLOSED || rc == CR_EPROTO || rc == CR_ETIMEOUT || rc == CR_ENOCOLL) {
        return report(im->cli, rc);
    } else {
        for (size_t i = 0; i < im->n; i++) {
            rc = cirrus_write_doc(im->cli->c, im->o->db, im->o->pos[1], CIRRUS_DOC_UPSERT,
                                  &im->docs[i], NULL, &r);
            cirrus_result_free(&r);
            if (rc == 0) {
                im->imported++;
                continue;
            }
            if (rc == CR_ECLOSED || rc == CR_EPROTO || rc == CR_ETIMEOUT)
                return report(im->cli, rc);
            import_bad(im, im->lines[i], cirrus_errmsg(im->cli->c));
            if (im->o->strict)
                break;
        }
    }
    for (size_t i = 0; i < im->n; i++)
        cirrus_value_clear(&im->docs[i]);
    im->n = 0;
    im->bytes = 0;
    return 0;
}

static void import_progress(struct import *im, long done, size_t lines)
{
    int width = 30, filled;

    if (!im->progress)
        return;
    filled = im->total_bytes > 0 ? (int)((double)done / (double)im->total_bytes * width) : 0;
    if (filled > width)
        filled = width;
    fprintf(stderr, "\r[%.*s%*s] %zu lines, %zu imported, %zu bad", filled,
            "##############################", width - filled, "", lines, im->imported, im->failed);
}

static int cmd_import(struct cli *cli, struct opts *o)
{
    struct import *im;
    char *line = NULL, err[256];
    size_t cap = 0, lineno = 0;
    ssize_t len;
    FILE *f;
    int rc = 0;

    if ((f = strcmp(o->pos[2], "-") == 0 ? stdin : fopen(o->pos[2], "r")) == NULL) {
        fprintf(stderr, "cirrus: import: %s: %s\n", o->pos[2], strerror(errno));
        return EXIT_FAIL;
    }
    if ((im = calloc(1, sizeof(*im))) == NULL || (rc = ensure_connected(cli)) != 0) {
        if (f != stdin)
            fclose(f);
        free(im);
        return im == NULL ? EXIT_FAIL : rc;
    }
    im->cli = cli;
    im->o = o;
    im->progress = isatty(STDERR_FILENO);
    if (f != stdin && fseek(f, 0, SEEK_END) == 0) {
        im->total_bytes = ftell(f);
        rewind(f);
    }
    while (rc == 0 && !im->stop && (len = getline(&line, &cap, f)) >= 0) {
        struct cirrus_value *d = &im->docs[im->n];
        const struct cirrus_value *id;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strspn(line, " \t") == (size_t)len)
            continue;
        if (len > IMPORT_MAX_LINE) {
            import_bad(im, lineno, "longer than 8 MiB: too big for a document");
            continue;
        }
        if (jsonv_parse(line, d, err, sizeof(err)) != 0) {
            import_bad(im, lineno, err);
            continue;
        }
        id = cirrus_map_get(d, "id");
        if (d->type != CIRRUS_MAP || id == NULL || id->type != CIRRUS_STRING) {
            cirrus_value_clear(d);
            import_bad(im, lineno, "a document is a JSON object with a string \"id\"");
            continue;
        }
        im->lines[im->n++] = lineno;
        im->bytes += (size_t)len;
        if (im->n == IMPORT_BATCH_DOCS || im->bytes >= IMPORT_BATCH_BYTES) {
            rc = import_flush(im);
            import_progress(im, f != stdin ? ftell(f) : 0, lineno);
        }
    }
    if (rc == 0)
        rc = import_flush(im); /* with --strict, the good lines before the bad one */
    for (size_t i = 0; i < im->n; i++)
        cirrus_value_clear(&im->docs[i]);
    if (im->progress) {
        import_progress(im, im->total_bytes, lineno);
        fprintf(stderr, "\n");
    }
    if (rc == 0) {
        printf("{\"lines\":%zu,\"imported\":%zu,\"failed\":%zu}\n", lineno, im->imported,
               im->failed);
        rc = im->failed ? EXIT_FAIL : 0;
    }
    free(line);
    free(im);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* ---- graphs ---- */

static void print_graph(const struct cirrus_graph_desc *g)
{
    print_json(json_pack("{s:s, s:i, s:I, s:I}", "name", g->name, "id", (json_int_t)g->id,
                         "created_index", (json_int_t)g->created_index, "created_ms",
                         (json_int_t)g->created_ms));
}

static int graph_simple(struct cli *cli, struct opts *o,
                        int (*fn)(struct cirrus *, const char *, struct cirrus_result *))
{
    struct cirrus_result r;
    int rc;

    if ((rc = ensure_connected(cli)) != 0)
        return rc;
    rc = fn(cli->c, o->pos[1], &r);
    if (rc == 0)
        print_graph(&r.graph);
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_create_graph(struct cli *cli, struct opts *o)
{
    return graph_simple(cli, o, cirrus_create_graph);
}

static int cmd_drop_graph(struct cli *cli, struct opts *o)
{
    return graph_simple(cli, o, cirrus_drop_graph);
}

static int cmd_graphs(struct cli *cli, struct opts *o)
{
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    char *after = NULL;
    int rc;

    if ((rc = ensure_connected(cli)) != 0)
        return rc;
    read_opts(cli, o, &ro);
    do {
        rc = cirrus_list_graphs(cli->c, after, 0, &ro, &r);
        for (size_t i = 0; rc == 0 && i < r.n_graphs; i++)
            print_graph(&r.graphs[i]);
        free(after);
        after = r.last_evaluated;
        r.last_evaluated = NULL;
        cirrus_result_free(&r);
    } while (rc == 0 && after != NULL);
    free(after);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_gremlin(struct cli *cli, struct opts *o)
{
    struct cirrus_binding binds[MAX_PARAMS];
    struct cirrus_value vals[MAX_PARAMS];
    char *names[MAX_PARAMS];
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    int rc = 0, n = 0;

    for (; rc == 0 && n < o->n_params; n++) {
        const char *eq = strchr(o->params[n], '=');

        if (eq == NULL || eq == o->params[n]) {
            rc = usage("--bind must be name=JSON, not '%s'", o->params[n]);
            break;
        }
        if ((rc = parse_value(eq + 1, o->params[n], &vals[n])) != 0)
            break;
        if ((names[n] = strndup(o->params[n], (size_t)(eq - o->params[n]))) == NULL) {
            cirrus_value_clear(&vals[n]);
            rc = EXIT_FAIL;
            break;
        }
        binds[n] = (struct cirrus_binding){names[n], &vals[n]};
    }
    if (rc == 0 && (rc = ensure_connected(cli)) == 0) {
        read_opts(cli, o, &ro);
        rc = cirrus_gremlin(cli->c, o->pos[1], o->pos[2], binds, (size_t)n, 0, &ro, &r);
        for (size_t i = 0; rc == 0 && i < r.n_items; i++)
            print_value(&r.items[i]);
        cirrus_result_free(&r);
        rc = rc != 0 ? report(cli, rc) : 0;
    }
    for (int i = 0; i < n && i < o->n_params; i++) {
        cirrus_value_clear(&vals[i]);
        free(names[i]);
    }
    return rc;
}

static const char *dir_name(enum cirrus_dir d)
{
    return d == CIRRUS_DIR_IN ? "in" : d == CIRRUS_DIR_BOTH ? "both" : "out";
}

/* The walk of a graph command: --dir, --label (repeatable), --limit. 0 or EXIT_USAGE. */
static int graph_walk(const struct opts *o, struct cirrus_walk *w)
{
    memset(w, 0, sizeof(*w));
    if (o->dir == NULL || strcmp(o->dir, "out") == 0)
        w->dir = CIRRUS_DIR_OUT;
    else if (strcmp(o->dir, "in") == 0)
        w->dir = CIRRUS_DIR_IN;
    else if (strcmp(o->dir, "both") == 0)
        w->dir = CIRRUS_DIR_BOTH;
    else
        return usage("--dir is out, in or both, not '%s'", o->dir);
    w->labels = o->params;
    w->n_labels = (size_t)o->n_params;
    w->limit = (uint32_t)o->limit;
    return 0;
}

static int graph_neighbors(struct cli *cli, struct opts *o, const struct cirrus_walk *w,
                           const struct cirrus_read_opts *ro)
{
    struct cirrus_result r;
    int rc = cirrus_neighbors(cli->c, o->pos[2], o->pos[3], w, ro, &r);

    for (size_t i = 0; rc == 0 && i < r.n_neighbors; i++) {
        const struct cirrus_neighbor *x = &r.neighbors[i];
        json_t *j = json_object();
        char *v = jsonv_dumps(&x->vertex), *vl = jsonv_dumps(&x->vertex_label),
             *e = jsonv_dumps(&x->edge), *el = jsonv_dumps(&x->edge_label);

        if (j != NULL && v != NULL && vl != NULL && e != NULL && el != NULL) {
            json_object_set_new(j, "id", json_loads(v, JSON_DECODE_ANY, NULL));
            json_object_set_new(j, "label", json_loads(vl, JSON_DECODE_ANY, NULL));
            json_object_set_new(j, "edge", json_loads(e, JSON_DECODE_ANY, NULL));
            json_object_set_new(j, "edgeLabel", json_loads(el, JSON_DECODE_ANY, NULL));
            json_object_set_new(j, "direction", json_string(dir_name(x->dir)));
        }
        print_json(j);
        free(v);
        free(vl);
        free(e);
        free(el);
    }
    if (rc == 0 && r.more)
        fprintf(stderr, "cirrus: more neighbours than --limit\n");
    cirrus_result_free(&r);
    return rc;
}

static int graph_khop(struct cli *cli, struct opts *o, const struct cirrus_walk *w,
                      const struct cirrus_read_opts *ro)
{
    struct cirrus_result r;
    long k;
    int rc;

    if (parse_long(o->pos[4], 0, 1000000, &k) != 0)
        return usage("K must be a number of hops, not '%s'", o->pos[4]);
    rc = cirrus_khop(cli->c, o->pos[2], o->pos[3], (uint32_t)k, w, ro, &r);
    for (size_t i = 0; rc == 0 && i < r.n_items; i++) {
        char *id = jsonv_dumps(&r.items[i]);

        if (id != NULL)
            printf("{\"id\":%s,\"depth\":%u}\n", id, r.depths[i]);
        free(id);
    }
    cirrus_result_free(&r);
    return rc;
}

static int graph_path(struct cli *cli, struct opts *o, const struct cirrus_walk *w,
                      const struct cirrus_read_opts *ro)
{
    struct cirrus_result r;
    int rc = cirrus_shortest_path(cli->c, o->pos[2], o->pos[3], o->pos[4], w, 0, ro, &r);

    for (size_t i = 0; rc == 0 && i < r.n_items; i++)
        print_value(&r.items[i]);
    if (rc == 0 && r.n_items == 0) {
        fprintf(stderr, "cirrus: no path from %s to %s\n", o->pos[3], o->pos[4]);
        rc = EXIT_FAIL;
    }
    cirrus_result_free(&r);
    return rc;
}

/* ---- graph load ---- */

#define LOAD_BATCH_EDGES 300 /* with up to two new vertices each: inside one entry's 1000 */
#define LOAD_MAX_FIELD 1024  /* bytes of an id or a label: far above what storage takes */

struct gload {
    struct cli *cli;
    const char *graph;
    struct cirrus_edge edges[LOAD_BATCH_EDGES];
    char *text[LOAD_BATCH_EDGES]; /* each edge's line, split in place */
    size_t lines[LOAD_BATCH_EDGES];
    size_t n;
    size_t edges_loaded, vertices, failed;
    int progress;
    long total_bytes;
};

static void gload_bad(struct gload *g, size_t line, const char *why)
{
    if (g->progress)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "cirrus: graph load: line %zu: %s\n", line, why);
    g->failed++;
}

static void gload_clear(struct gload *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->text[i]);
    g->n = 0;
}

/* Loads the batch in one entry; when it fails, each edge alone, so every bad line is named.
 * 0, or 1 when the connection failed. */
static int gload_flush(struct gload *g)
{
    struct cirrus_result r;
    int rc;

    if (g->n == 0)
        return 0;
    rc = cirrus_load_edges(g->cli->c, g->graph, g->edges, g->n, NULL, &r);
    if (rc == 0) {
        g->edges_loaded += g->n;
        g->vertices += r.vertices_created;
    }
    cirrus_result_free(&r);
    if (rc == CR_ECLOSED || rc == CR_EPROTO || rc == CR_ETIMEOUT || rc == CR_ENOCOLL) {
        gload_clear(g);
        return report(g->cli, rc);
    }
    for (size_t i = 0; rc != 0 && i < g->n; i++) {
        int one = cirrus_load_edges(g->cli->c, g->graph, &g->edges[i], 1, NULL, &r);

        if (one == 0) {
            g->edges_loaded++;
            g->vertices += r.vertices_created;
        }
        cirrus_result_free(&r);
        if (one == CR_ECLOSED || one == CR_EPROTO || one == CR_ETIMEOUT) {
            gload_clear(g);
            return report(g->cli, one);
        }
        if (one != 0)
            gload_bad(g, g->lines[i], cirrus_errmsg(g->cli->c));
    }
    gload_clear(g);
    return 0;
}

static void gload_progress(struct gload *g, long done, size_t lines)
{
    int width = 30, filled;

    if (!g->progress)
        return;
    filled = g->total_bytes > 0 ? (int)((double)done / (double)g->total_bytes * width) : 0;
    if (filled > width)
        filled = width;
    fprintf(stderr, "\r[%.*s%*s] %zu lines, %zu edges, %zu vertices, %zu bad", filled,
            "##############################", width - filled, "", lines, g->edges_loaded,
            g->vertices, g->failed);
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* Splits one line into an edge (pointing into text): "src dst" or "src,dst[,label]". NULL, or
 * why the line is bad. */
static const char *parse_edge(char *text, struct cirrus_edge *e)
{
    char *f[4];
    int n = 0;

    if (strchr(text, ',') != NULL) {
        char *p = text;

        while (n < 4) {
            char *c = strchr(p, ',');

            if (c != NULL)
                *c = '\0';
            f[n++] = trim(p);
            if (c == NULL)
                break;
            p = c + 1;
        }
        if (n < 2 || n > 3)
            return "expected src,dst or src,dst,label";
    } else {
        char *save = NULL, *t;

        for (t = strtok_r(text, " \t", &save); t != NULL && n < 4; t = strtok_r(NULL, " \t", &save))
            f[n++] = t;
        if (n != 2)
            return "expected 'src dst' (two fields) or src,dst[,label]";
    }
    for (int i = 0; i < n; i++) {
        if (f[i][0] == '\0' && i < 2)
            return "an empty vertex id";
        if (strlen(f[i]) > LOAD_MAX_FIELD)
            return "a field longer than 1024 bytes";
    }
    e->src = f[0];
    e->dst = f[1];
    e->label = n == 3 && f[2][0] ? f[2] : NULL;
    return NULL;
}

static int graph_load(struct cli *cli, struct opts *o)
{
    struct gload *g;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    FILE *f;
    int rc = 0;

    if ((f = strcmp(o->pos[3], "-") == 0 ? stdin : fopen(o->pos[3], "r")) == NULL) {
        fprintf(stderr, "cirrus: graph load: %s: %s\n", o->pos[3], strerror(errno));
        return EXIT_FAIL;
    }
    if ((g = calloc(1, sizeof(*g))) == NULL || (rc = ensure_connected(cli)) != 0) {
        if (f != stdin)
            fclose(f);
        free(g);
        return g == NULL ? EXIT_FAIL : rc;
    }
    g->cli = cli;
    g->graph = o->pos[2];
    g->progress = isatty(STDERR_FILENO);
    if (f != stdin && fseek(f, 0, SEEK_END) == 0) {
        g->total_bytes = ftell(f);
        rewind(f);
    }
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        const char *why;
        char *t;

        lineno++;
        t = trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        if ((g->text[g->n] = strdup(t)) == NULL) {
            rc = EXIT_FAIL;
            break;
        }
        if ((why = parse_edge(g->text[g->n], &g->edges[g->n])) != NULL) {
            free(g->text[g->n]);
            gload_bad(g, lineno, why);
            continue;
        }
        g->lines[g->n++] = lineno;
        if (g->n == LOAD_BATCH_EDGES) {
            rc = gload_flush(g);
            gload_progress(g, f != stdin ? ftell(f) : 0, lineno);
        }
    }
    if (rc == 0)
        rc = gload_flush(g);
    gload_clear(g);
    if (g->progress) {
        gload_progress(g, g->total_bytes, lineno);
        fprintf(stderr, "\n");
    }
    if (rc == 0) {
        printf("{\"lines\":%zu,\"edges\":%zu,\"vertices\":%zu,\"failed\":%zu}\n", lineno,
               g->edges_loaded, g->vertices, g->failed);
        rc = g->failed ? EXIT_FAIL : 0;
    }
    free(line);
    free(g);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* ---- graph load from CSV ---- */

#define CSV_BATCH 500             /* elements in one entry: half of CR_MAX_BATCH_MUTATIONS */
#define CSV_BATCH_BYTES (1 << 20) /* field bytes in one entry */

enum col_kind { COL_ID, COL_LABEL, COL_SRC, COL_DST, COL_PROP };
enum col_type { CT_STRING, CT_INT, CT_DOUBLE, CT_BOOL };

struct csv_col {
    enum col_kind kind;
    enum col_type type;
    char *name; /* a property's key, without its type */
};

/* One file: its reader and its header. */
struct csv_file {
    const char *path;
    FILE *f;
    int edges;
    struct csv_reader r;
    struct csv_col *cols;
    size_t n_cols;
    long size;
};

/* A record kept until its batch is sent: el's strings point into mem. */
struct csv_rec {
    char *mem;
    struct cirrus_field *props;
    size_t line;
};

struct gcsv {
    struct cli *cli;
    const char *graph;
    struct csv_file *file; /* being read */
    struct cirrus_load_element els[CSV_BATCH];
    struct csv_rec recs[CSV_BATCH];
    size_t n, bytes;
    size_t records[2], loaded[2], failed; /* [0] vertices, [1] edges */
    int strict, stop, progress;
    long total, base; /* bytes of both files; of the file read before this one */
    char why[256];
};

static void gcsv_bad(struct gcsv *g, size_t line, const char *why)
{
    if (g->progress)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "cirrus: graph load: %s:%zu: %s\n", g->file->path, line, why);
    g->failed++;
    if (g->strict)
        g->stop = 1;
}

static void gcsv_clear(struct gcsv *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->recs[i].mem);
        free(g->recs[i].props);
    }
    g->n = g->bytes = 0;
}

static int gcsv_send(struct gcsv *g, size_t from, size_t n)
{
    struct cirrus_result r;
    int e = g->file->edges, rc;

    rc = cirrus_load_graph(g->cli->c, g->graph, e ? NULL : &g->els[from], e ? 0 : n,
                           e ? &g->els[from] : NULL, e ? n : 0, &r);
    if (rc == 0)
        g->loaded[e] += n;
    cirrus_result_free(&r);
    return rc;
}

static bool fatal(int rc)
{
    return rc == CR_ECLOSED || rc == CR_EPROTO || rc == CR_ETIMEOUT || rc == CR_ENOCOLL;
}

/* Sends the batch in one entry; when that fails, each record alone, so every bad line is named
 * (with --strict, up to the first). 0, or 1 when the load cannot go on. */
static int gcsv_flush(struct gcsv *g)
{
    int rc = g->n ? gcsv_send(g, 0, g->n) : 0;

    if (fatal(rc)) {
        gcsv_clear(g);
        return report(g->cli, rc);
    }
    for (size_t i = 0; rc != 0 && i < g->n; i++) {
        int one = gcsv_send(g, i, 1);

        if (fatal(one)) {
            gcsv_clear(g);
            return report(g->cli, one);
        }
        if (one != 0) {
            const struct cirrus_load_element *el = &g->els[i];

            if (one == CR_EEXISTS && !g->file->edges)
                snprintf(g->why, sizeof(g->why), "vertex '%s' exists already", el->id);
            else if (one == CR_ENOTFOUND && g->file->edges)
                snprintf(g->why, sizeof(g->why), "no vertex '%s' or no vertex '%s'", el->src,
                         el->dst);
            else
                snprintf(g->why, sizeof(g->why), "%s", cirrus_errmsg(g->cli->c));
            gcsv_bad(g, g->recs[i].line, g->why);
            if (g->strict)
                break;
        }
    }
    gcsv_clear(g);
    return 0;
}

static void gcsv_progress(struct gcsv *g, long done)
{
    int width = 30, filled;

    if (!g->progress)
        return;
    filled = g->total > 0 ? (int)((double)done / (double)g->total * width) : 0;
    if (filled > width)
        filled = width;
    fprintf(stderr, "\r[%.*s%*s] %zu vertices, %zu edges, %zu bad", filled,
            "##############################", width - filled, "", g->loaded[0], g->loaded[1],
            g->failed);
}

/* The column a header name makes: ~id and id, ~label and label, and for edges ~from/src and
 * ~to/dst (Neptune's bulk-load names beside plain ones); any other is a property. */
static enum col_kind col_kind(const char *name, int edges)
{
    if (strcmp(name, "id") == 0 || strcmp(name, "~id") == 0)
        return COL_ID;
    if (strcmp(name, "label") == 0 || strcmp(name, "~label") == 0)
        return COL_LABEL;
    if (edges && (strcmp(name, "src") == 0 || strcmp(name, "~from") == 0))
        return COL_SRC;
    if (edges && (strcmp(name, "dst") == 0 || strcmp(name, "~to") == 0))
        return COL_DST;
    return COL_PROP;
}

/* Reads and checks the header of cf. NULL, or why it is bad. */
static const char *csv_header(struct gcsv *g, struct csv_file *cf)
{
    static const struct {
        const char *name;
        enum col_type type;
    } types[] = {{"string", CT_STRING}, {"int", CT_INT},      {"long", CT_INT},
                 {"double", CT_DOUBLE}, {"float", CT_DOUBLE}, {"bool", CT_BOOL},
                 {"boolean", CT_BOOL}};
    int rc = csv_next(&cf->r), seen[COL_PROP] = {0};

    if (rc == 0)
        return "the file is empty: a header line is needed";
    if (rc < 0)
        return rc == CR_EINVAL ? cf->r.why : "out of memory";
    if ((cf->cols = calloc(cf->r.n, sizeof(*cf->cols))) == NULL)
        return "out of memory";
    cf->n_cols = cf->r.n;
    for (size_t i = 0; i < cf->r.n; i++) {
        struct csv_col *c = &cf->cols[i];
        char *colon;
        size_t t;

        /* a byte order mark, as spreadsheets write, is not part of the first name */
        const char *text =
            cf->r.fields[i] + (i == 0 && strncmp(cf->r.fields[0], "\xEF\xBB\xBF", 3) == 0 ? 3 : 0);

        if ((c->name = strdup(text)) == NULL)
            return "out of memory";
        c->type = CT_STRING;
        if ((colon = strrchr(c->name, ':')) != NULL) {
            *colon++ = '\0';
            for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
                if (strcasecmp(colon, types[t].name) == 0)
                    break;
            if (t == sizeof(types) / sizeof(types[0])) {
                snprintf(g->why, sizeof(g->why),
                         "column %zu: type '%s' is not int, double, bool or string", i + 1, colon);
                return g->why;
            }
            c->type = types[t].type;
        }
        if (c->name[0] == '\0') {
            snprintf(g->why, sizeof(g->why), "column %zu has no name", i + 1);
            return g->why;
        }
        c->kind = col_kind(c->name, cf->edges);
        for (size_t j = 0; cf->edges && c->kind == COL_PROP && j < i; j++) {
            if (cf->cols[j].kind == COL_PROP && strcmp(cf->cols[j].name, c->name) == 0) {
                snprintf(g->why, sizeof(g->why), "edge property '%s' appears twice", c->name);
                return g->why;
            }
        }
        if (c->kind != COL_PROP && (seen[c->kind]++ || c->type != CT_STRING)) {
            snprintf(g->why, sizeof(g->why), "column '%s' %s", c->name,
                     seen[c->kind] > 1 ? "appears twice" : "is a string: it takes no type");
            return g->why;
        }
    }
    if (!cf->edges && !seen[COL_ID])
        return "a vertex file needs an id (or ~id) column";
    if (cf->edges && (!seen[COL_SRC] || !seen[COL_DST]))
        return "an edge file needs src and dst (or ~from and ~to) columns";
    return NULL;
}

/* A field as a value of its column's type into v (text borrowed). NULL, or why it is bad. */
static const char *typed_value(struct gcsv *g, const struct csv_col *c, char *text,
                               struct cirrus_value *v)
{
    char *end;

    errno = 0;
    switch (c->type) {
    case CT_INT:
        v->type = CIRRUS_INT;
        v->u.i = strtoll(text, &end, 10);
        if (errno == 0 && *end == '\0' && end != text)
            return NULL;
        break;
    case CT_DOUBLE:
        v->type = CIRRUS_DOUBLE;
        v->u.d = strtod(text, &end);
        if (errno == 0 && *end == '\0' && end != text && isfinite(v->u.d))
            return NULL;
        break;
    case CT_BOOL:
        v->type = CIRRUS_BOOL;
        v->u.b = strcasecmp(text, "true") == 0;
        if (v->u.b || strcasecmp(text, "false") == 0)
            return NULL;
        break;
    case CT_STRING:
        v->type = CIRRUS_STRING;
        v->u.str.ptr = text;
        v->u.str.len = strlen(text);
        return NULL;
    }
    snprintf(g->why, sizeof(g->why), "column '%s': '%.64s' is not %s", c->name, text,
             c->type == CT_INT      ? "an int"
             : c->type == CT_DOUBLE ? "a double"
                                    : "true or false");
    return g->why;
}

/* The reader's record as the batch's next element. NULL, or why the line is bad. */
static const char *csv_element(struct gcsv *g)
{
    struct csv_file *cf = g->file;
    struct cirrus_load_element *el = &g->els[g->n];
    struct csv_rec *rec = &g->recs[g->n];
    struct cirrus_field *props;
    const char *why = NULL;
    size_t np = 0;
    char *mem;

    if (cf->r.n != cf->n_cols) {
        snprintf(g->why, sizeof(g->why), "%zu fields; the header has %zu", cf->r.n, cf->n_cols);
        return g->why;
    }
    mem = malloc(cf->r.bytes);
    props = calloc(cf->n_cols, sizeof(*props));
    if (mem == NULL || props == NULL) {
        free(mem);
        free(props);
        return "out of memory";
    }
    memcpy(mem, cf->r.fields[0], cf->r.bytes);
    memset(el, 0, sizeof(*el));
    for (size_t i = 0; why == NULL && i < cf->n_cols; i++) {
        const struct csv_col *c = &cf->cols[i];
        char *f = mem + (cf->r.fields[i] - cf->r.fields[0]), *name = c->name;

        if (c->kind == COL_PROP && f[0] != '\0') {
            props[np].name = name;
            why = typed_value(g, c, f, &props[np++].value);
        } else if (c->kind != COL_PROP && f[0] == '\0' && c->kind != COL_LABEL &&
                   !(c->kind == COL_ID && cf->edges)) {
            snprintf(g->why, sizeof(g->why), "column '%s' is empty", c->name);
            why = g->why;
        } else if (f[0] != '\0') {
            *(c->kind == COL_ID      ? &el->id
              : c->kind == COL_LABEL ? &el->label
              : c->kind == COL_SRC   ? &el->src
                                     : &el->dst) = f;
        }
    }
    if (why != NULL) {
        free(mem);
        free(props);
        return why;
    }
    el->props = props;
    el->n_props = np;
    rec->mem = mem;
    rec->props = props;
    rec->line = cf->r.line;
    g->bytes += cf->r.bytes;
    g->n++;
    return NULL;
}

/* Loads one file's records in batches. 0, or 1 when the load cannot go on. */
static int gcsv_file(struct gcsv *g, struct csv_file *cf)
{
    int rc = 0, got;

    g->file = cf;
    while (rc == 0 && !g->stop && (got = csv_next(&cf->r)) != 0) {
        const char *why;

        if (got == CR_ENOMEM) {
            fprintf(stderr, "cirrus: graph load: out of memory\n");
            return EXIT_FAIL;
        }
        g->records[cf->edges]++;
        why = got < 0 ? cf->r.why : csv_element(g);
        if (why != NULL)
            gcsv_bad(g, cf->r.line, why);
        if (g->n == CSV_BATCH || g->bytes >= CSV_BATCH_BYTES || g->stop) {
            rc = gcsv_flush(g);
            gcsv_progress(g, g->base + ftell(cf->f));
        }
    }
    if (rc == 0)
        rc = gcsv_flush(g);
    g->base += cf->size;
    return rc;
}

static int csv_open(struct gcsv *g, struct csv_file *cf, const char *path, int edges)
{
    const char *why;

    cf->path = path;
    cf->edges = edges;
    if ((cf->f = fopen(path, "r")) == NULL) {
        fprintf(stderr, "cirrus: graph load: %s: %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    if (fseek(cf->f, 0, SEEK_END) == 0) {
        cf->size = ftell(cf->f);
        rewind(cf->f);
    }
    g->total += cf->size;
    csv_init(&cf->r, cf->f);
    if ((why = csv_header(g, cf)) != NULL) {
        fprintf(stderr, "cirrus: graph load: %s:%zu: %s\n", path, cf->r.line ? cf->r.line : 1, why);
        return EXIT_FAIL;
    }
    return 0;
}

static void csv_file_close(struct csv_file *cf)
{
    for (size_t i = 0; i < cf->n_cols; i++)
        free(cf->cols[i].name);
    free(cf->cols);
    csv_close(&cf->r);
    if (cf->f != NULL)
        fclose(cf->f);
}

/* graph load GRAPH --vertices V.csv [--edges E.csv]: both headers are checked before anything
 * is sent; vertices load before edges. */
static int graph_load_csv(struct cli *cli, struct opts *o)
{
    struct csv_file files[2];
    struct gcsv *g = calloc(1, sizeof(*g));
    int rc = g == NULL ? EXIT_FAIL : 0;

    memset(files, 0, sizeof(files));
    for (int i = 0; rc == 0 && i < 2; i++)
        if ((i ? o->edges : o->vertices) != NULL)
            rc = csv_open(g, &files[i], i ? o->edges : o->vertices, i);
    if (rc == 0)
        rc = ensure_connected(cli);
    if (rc == 0) {
        g->cli = cli;
        g->graph = o->pos[2];
        g->strict = o->strict;
        g->progress = isatty(STDERR_FILENO);
    }
    for (int i = 0; rc == 0 && !g->stop && i < 2; i++)
        if (files[i].f != NULL)
            rc = gcsv_file(g, &files[i]);
    if (g != NULL && g->progress) {
        gcsv_progress(g, g->total);
        fprintf(stderr, "\n");
    }
    if (rc == 0) {
        printf("{\"vertex_records\":%zu,\"edge_records\":%zu,\"vertices\":%zu,\"edges\":%zu,"
               "\"failed\":%zu}\n",
               g->records[0], g->records[1], g->loaded[0], g->loaded[1], g->failed);
        rc = g->failed ? EXIT_FAIL : 0;
    }
    for (int i = 0; i < 2; i++)
        csv_file_close(&files[i]);
    free(g);
    return rc;
}

static int cmd_graph(struct cli *cli, struct opts *o)
{
    const char *act = o->npos > 1 ? o->pos[1] : "";
    int nb = strcmp(act, "neighbors") == 0, kh = strcmp(act, "khop") == 0,
        sp = strcmp(act, "shortest-path") == 0, ld = strcmp(act, "load") == 0, rc;
    struct cirrus_read_opts ro;
    struct cirrus_walk w;

    if (ld && (o->vertices != NULL || o->edges != NULL)) {
        if (o->npos != 3 || o->dir != NULL || o->n_params > 0 || o->limit)
            return usage("%s", "usage: cirrus graph load GRAPH --vertices V.csv [--edges E.csv] "
                               "[--strict]");
        return graph_load_csv(cli, o);
    }
    if ((!nb && !kh && !sp && !ld) || o->npos != (nb ? 4 : 5 - ld))
        return usage("%s", "usage: cirrus graph neighbors|khop|shortest-path|load GRAPH ... "
                           "(see help)");
    if (ld && (o->dir != NULL || o->n_params > 0 || o->limit))
        return usage("%s", "graph load takes no --dir, --label or --limit");
    if (ld)
        return graph_load(cli, o);
    if ((rc = graph_walk(o, &w)) != 0 || (rc = ensure_connected(cli)) != 0)
        return rc;
    read_opts(cli, o, &ro);
    rc = nb   ? graph_neighbors(cli, o, &w, &ro)
         : kh ? graph_khop(cli, o, &w, &ro)
              : graph_path(cli, o, &w, &ro);
    return rc > 0 ? rc : rc < 0 ? report(cli, rc) : 0;
}

/* ---- sql ---- */

/* Runs the query through every page; explain: its plan instead, printed as text. */
static int run_sql(struct cli *cli, struct opts *o, bool explain)
{
    struct cirrus_sql_param params[MAX_PARAMS];
    struct cirrus_value vals[MAX_PARAMS];
    char *names[MAX_PARAMS];
    struct cirrus_sql q = {params, 0, (uint32_t)o->max_items, NULL, 0, explain};
    struct cirrus_read_opts ro;
    struct cirrus_result r;
    void *cont = NULL;
    int rc = 0, n = 0;

    for (; rc == 0 && n < o->n_params; n++) {
        const char *eq = strchr(o->params[n], '=');

        if (o->params[n][0] != '@' || eq == NULL || eq == o->params[n] + 1) {
            rc = usage("--param must be @name=JSON, not '%s'", o->params[n]);
            break;
        }
        if ((rc = parse_value(eq + 1, o->params[n], &vals[n])) != 0)
            break;
        if ((names[n] = strndup(o->params[n], (size_t)(eq - o->params[n]))) == NULL) {
            cirrus_value_clear(&vals[n]);
            rc = EXIT_FAIL;
            break;
        }
        params[n] = (struct cirrus_sql_param){names[n], &vals[n]};
    }
    q.n_params = (size_t)n;
    if (rc == 0 && (rc = ensure_connected(cli)) == 0) {
        read_opts(cli, o, &ro);
        do {
            rc = cirrus_sql(cli->c, o->db, o->pos[1], &q, &ro, &r);
            for (size_t i = 0; rc == 0 && i < r.n_items; i++) {
                if (explain && r.items[i].type == CIRRUS_STRING)
                    fputs(r.items[i].u.str.ptr, stdout);
                else
                    print_value(&r.items[i]);
            }
            free(cont);
            cont = r.cursor;
            q.continuation = cont;
            q.continuation_len = r.cursor_len;
            r.cursor = NULL;
            cirrus_result_free(&r);
        } while (rc == 0 && cont != NULL);
        free(cont);
        rc = rc != 0 ? report(cli, rc) : 0;
    }
    for (int i = 0; i < (int)q.n_params; i++) {
        cirrus_value_clear(&vals[i]);
        free(names[i]);
    }
    return rc;
}

static int cmd_sql(struct cli *cli, struct opts *o)
{
    return run_sql(cli, o, false);
}

/* EXPLAIN's plan: which index the query reads, its ranges, and what remains to filter or sort. */
static int cmd_explain(struct cli *cli, struct opts *o)
{
    return run_sql(cli, o, true);
}

static json_t *voters_json(const struct cirrus_stats *s)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < s->n_voters; i++)
        json_array_append_new(a, json_integer((json_int_t)s->voters[i]));
    return a;
}

/* add-node ID HOST:PORT, remove-node ID: a membership change on the leader. */
static int cmd_member(struct cli *cli, struct opts *o)
{
    bool remove = strcmp(o->pos[0], "remove-node") == 0;
    struct cirrus_result r;
    long id;
    int rc;

    if (parse_long(o->pos[1], 1, LONG_MAX, &id) != 0)
        return usage("bad node id '%s'", o->pos[1]);
    rc = ensure_connected(cli);
    if (rc != 0)
        return rc;
    rc = cirrus_cluster_member(cli->c, remove, (uint64_t)id, remove ? NULL : o->pos[2], &r);
    if (rc == 0)
        print_json(json_pack("{s:I, s:o}", "index", (json_int_t)r.change_index, "voters",
                             voters_json(&r.stats)));
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

/* cluster-fault: sets (or clears, or only shows) this node's injected network faults, then
 * prints those active: {"faults":[{"peer":2,"drop_out":true,...}]}. */
static int cmd_cluster_fault(struct cli *cli, struct opts *o)
{
    struct cirrus_fault f[CIRRUS_MAX_FAULTS];
    struct cirrus_result r;
    bool faulty = o->drop_out || o->drop_in || o->delay_ms || o->jitter_ms || o->loss_pct;
    json_t *a;
    long id;
    int rc;

    if (o->heal && faulty)
        return usage("%s", "--heal takes no fault options");
    if (faulty && o->n_params == 0)
        return usage("%s", "name the peers with --peer N (or use --heal)");
    if (o->n_params > CIRRUS_MAX_FAULTS)
        return usage("more than %s --peer options", "16");
    for (int i = 0; i < o->n_params; i++) {
        if (parse_long(o->params[i], 1, LONG_MAX, &id) != 0)
            return usage("bad --peer '%s'", o->params[i]);
        f[i] = (struct cirrus_fault){.peer = (uint64_t)id,
                                     .drop_out = o->drop_out,
                                     .drop_in = o->drop_in,
                                     .delay_ms = (uint32_t)o->delay_ms,
                                     .jitter_ms = (uint32_t)o->jitter_ms,
                                     .loss_pct = (uint32_t)o->loss_pct};
    }
    rc = ensure_connected(cli);
    if (rc != 0)
        return rc;
    rc = cirrus_cluster_fault(cli->c, f, (size_t)o->n_params, o->heal && o->n_params == 0, &r);
    if (rc == 0) {
        a = json_array();
        for (size_t i = 0; a && i < r.n_faults; i++) {
            const struct cirrus_fault *x = &r.faults[i];

            json_array_append_new(
                a, json_pack("{s:I, s:b, s:b, s:I, s:I, s:I}", "peer", (json_int_t)x->peer,
                             "drop_out", x->drop_out, "drop_in", x->drop_in, "delay_ms",
                             (json_int_t)x->delay_ms, "jitter_ms", (json_int_t)x->jitter_ms,
                             "loss_pct", (json_int_t)x->loss_pct));
        }
        print_json(json_pack("{s:o}", "faults", a));
    }
    cirrus_result_free(&r);
    return rc != 0 ? report(cli, rc) : 0;
}

static int cmd_stats(struct cli *cli, struct opts *o)
{
    struct cirrus_result r;
    struct cirrus_stats *s = &r.stats;
    static const char *roles[] = {"", "follower", "pre-candidate", "candidate", "leader"};
    json_t *j;
    int rc = ensure_connected(cli);

    if (rc != 0)
        return rc;
    rc = cirrus_stats(cli->c, &r);
    if (rc == 0) {
        j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "applied_index",
                      (json_int_t)s->applied_index, "tables", (json_int_t)s->tables, "connections",
                      (json_int_t)s->connections, "requests", (json_int_t)s->requests, "writes",
                      (json_int_t)s->writes, "commits", (json_int_t)s->commits, "uptime_ms",
                      (json_int_t)s->uptime_ms, "map_size", (json_int_t)s->map_size, "used_bytes",
                      (json_int_t)s->used_bytes);
        if (j && s->role)
            json_object_set_new(
                j, "raft",
                json_pack("{s:I, s:s, s:I, s:I, s:I, s:o, s:I, s:I, s:I}", "node_id",
                          (json_int_t)s->node_id, "role", s->role < 5 ? roles[s->role] : "unknown",
                          "term", (json_int_t)s->term, "leader_id", (json_int_t)s->leader_id,
                          "commit_index", (json_int_t)s->commit_index, "voters", voters_json(s),
                          "snapshot_index", (json_int_t)s->snapshot_index, "snapshots_sent",
                          (json_int_t)s->snapshots_sent, "snapshots_installed",
                          (json_int_t)s->snapshots_installed));
        print_json(j);
    }
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
    uint64_t opts;
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
    {"create-collection", 1, OPT_BIT(O_DB) | OPT_BIT(O_PK) | OPT_BIT(O_INDEXING),
     cmd_create_collection, "create-collection NAME [--db DB] [--pk /path] [--indexing FILE]"},
    {"collections", 0, OPT_BIT(O_DB), cmd_collections, "collections [--db DB]"},
    {"drop-collection", 1, OPT_BIT(O_DB), cmd_drop_collection, "drop-collection NAME [--db DB]"},
    {"doc", -1, OPT_BIT(O_DB) | OPT_BIT(O_PK) | OPT_BIT(O_IF_MATCH) | OPT_BIT(O_CREATE), cmd_doc,
     "doc put|get|delete|patch COLLECTION ..."},
    {"import", 2, OPT_BIT(O_DB) | OPT_BIT(O_STRICT), cmd_import,
     "import COLLECTION FILE.jsonl [--db DB] [--strict]"},
    {"sql", 1, OPT_BIT(O_DB) | OPT_BIT(O_PARAM) | OPT_BIT(O_MAX_ITEMS), cmd_sql,
     "sql 'SELECT ... FROM COLLECTION ...' [--db DB] [--param @x=JSON ...] [--max-items N]"},
    {"explain", 1, OPT_BIT(O_DB) | OPT_BIT(O_PARAM), cmd_explain,
     "explain 'SELECT ... FROM COLLECTION ...' [--db DB] [--param @x=JSON ...]"},
    {"create-graph", 1, 0, cmd_create_graph, "create-graph NAME"},
    {"drop-graph", 1, 0, cmd_drop_graph, "drop-graph NAME"},
    {"graphs", 0, 0, cmd_graphs, "graphs"},
    {"gremlin", 2, OPT_BIT(O_BIND), cmd_gremlin, "gremlin GRAPH SCRIPT [--bind name=JSON ...]"},
    {"graph", -1,
     OPT_BIT(O_DIR) | OPT_BIT(O_LABEL) | OPT_BIT(O_LIMIT) | OPT_BIT(O_VERTICES) | OPT_BIT(O_EDGES) |
         OPT_BIT(O_STRICT),
     cmd_graph, "graph neighbors|khop|shortest-path|load GRAPH ..."},
    {"stats", 0, 0, cmd_stats, "stats"},
    {"add-node", 2, 0, cmd_member, "add-node NODE_ID HOST:PORT"},
    {"remove-node", 1, 0, cmd_member, "remove-node NODE_ID"},
    {"cluster-fault", 0,
     OPT_BIT(O_PEER) | OPT_BIT(O_DROP_OUT) | OPT_BIT(O_DROP_IN) | OPT_BIT(O_DELAY) |
         OPT_BIT(O_JITTER) | OPT_BIT(O_LOSS) | OPT_BIT(O_HEAL),
     cmd_cluster_fault,
     "cluster-fault [--peer N ...] [--drop-out] [--drop-in] [--delay MS] [--jitter MS] "
     "[--loss PCT] | --heal [--peer N ...]"},
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
    uint64_t seen;
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
    if (cmd->npos >= 0 && o.npos - 1 != cmd->npos) {
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
    uint64_t seen;
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
