/*
 * The Gremlin script tokenizer: splits a script into tokens with their line and column. Strings
 * are only delimited here (escapes are checked and decoded by the parser); numbers are only
 * recognised. A line break is a token only where it can end a statement: outside parentheses
 * and brackets, and not right after a '.', so a chain may go on on the next line when that line
 * starts with '.' (the parser skips the break) or the line before ends with one.
 */
#include "query/gremlin_int.h"

#include "common/error.h"

#include <stdio.h>
#include <string.h>

int gremlin_fail(struct gremlin_err *err, int code, unsigned line, unsigned col, const char *fmt,
                 ...)
{
    va_list ap;

    err->code = code;
    err->line = line;
    err->col = col;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

struct lexer {
    const char *p, *end;
    unsigned line, col;
    struct gtok *toks;
    size_t n, cap;
    struct cr_arena *a;
};

static int push(struct lexer *lx, enum gtok_type type, const char *p, size_t len, unsigned line,
                unsigned col)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 64;
        struct gtok *t = cr_arena_alloc(lx->a, cap * sizeof *t);

        if (!t)
            return CR_ENOMEM;
        if (lx->n)
            memcpy(t, lx->toks, lx->n * sizeof *t);
        lx->toks = t;
        lx->cap = cap;
    }
    lx->toks[lx->n++] = (struct gtok){type, p, len, line, col};
    return 0;
}

static void advance(struct lexer *lx, size_t k)
{
    while (k-- && lx->p < lx->end) {
        if (*lx->p == '\n') {
            lx->line++;
            lx->col = 1;
        } else {
            lx->col++;
        }
        lx->p++;
    }
}

/* Length of the string token starting at p (quote included), or 0 when unterminated. */
static size_t string_len(const char *p, const char *end)
{
    const char *q = p + 1;

    while (q < end && *q != *p) {
        if (*q == '\\') {
            if (q + 1 == end)
                return 0;
            q++;
        }
        q++;
    }
    return q < end ? (size_t)(q - p + 1) : 0;
}

static size_t number_len(const char *p, const char *end)
{
    const char *q = p;

    while (q < end && is_digit(*q))
        q++;
    if (q + 1 < end && *q == '.' && is_digit(q[1])) {
        q++;
        while (q < end && is_digit(*q))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        const char *r = q + 1;

        if (r < end && (*r == '+' || *r == '-'))
            r++;
        if (r < end && is_digit(*r)) {
            q = r;
            while (q < end && is_digit(*q))
                q++;
        }
    }
    if (q < end && *q && strchr("lLdDfF", *q))
        q++;
    return (size_t)(q - p);
}

int gremlin_lex(const char *text, size_t len, struct cr_arena *a, struct gtok **toks, size_t *n)
{
    struct lexer lx = {text, text + len, 1, 1, NULL, 0, 0, a};
    int depth = 0, rc;

    while (lx.p < lx.end) {
        const char *p = lx.p;
        unsigned line = lx.line, col = lx.col;
        enum gtok_type type;
        size_t k = 1;
        char c = *p;

        if (c == '\n') {
            bool after_dot = lx.n && lx.toks[lx.n - 1].type == GT_DOT;
            bool after_nl = lx.n && lx.toks[lx.n - 1].type == GT_NEWLINE;

            if (depth == 0 && lx.n && !after_dot && !after_nl) {
                rc = push(&lx, GT_NEWLINE, p, 1, line, col);
                if (rc)
                    return rc;
            }
            advance(&lx, 1);
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            advance(&lx, 1);
            continue;
        }
        if (c == '/' && p + 1 < lx.end && p[1] == '/') {
            while (lx.p < lx.end && *lx.p != '\n')
                advance(&lx, 1);
            continue;
        }
        if (is_ident_start(c)) {
            type = GT_IDENT;
            while (p + k < lx.end && (is_ident_start(p[k]) || is_digit(p[k])))
                k++;
        } else if (is_digit(c)) {
            type = GT_NUMBER;
            k = number_len(p, lx.end);
        } else if (c == '\'' || c == '"') {
            k = string_len(p, lx.end);
            type = k ? GT_STRING : GT_BAD;
            if (!k)
                k = 1;
        } else {
            switch (c) {
            case '(':
                type = GT_LPAREN;
                depth++;
                break;
            case ')':
                type = GT_RPAREN;
                depth = depth ? depth - 1 : 0;
                break;
            case '[':
                type = GT_LBRACKET;
                depth++;
                break;
            case ']':
                type = GT_RBRACKET;
                depth = depth ? depth - 1 : 0;
                break;
            case ',':
                type = GT_COMMA;
                break;
            case '.':
                type = GT_DOT;
                break;
            case '-':
                type = GT_MINUS;
                break;
            case ';':
                type = GT_SEMI;
                break;
            default:
                type = GT_BAD;
                break;
            }
        }
        rc = push(&lx, type, p, k, line, col);
        if (rc)
            return rc;
        advance(&lx, k);
    }
    rc = push(&lx, GT_EOF, lx.p, 0, lx.line, lx.col);
    if (rc)
        return rc;
    *toks = lx.toks;
    *n = lx.n;
    return 0;
}
