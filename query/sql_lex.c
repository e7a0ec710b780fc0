/*
 * The tokenizer of the query language: splits the text into tokens with their line and column,
 * and decodes string literals. Keywords are plain identifiers here (the parser knows them by
 * position). It never fails on odd input: a stray character or an unterminated string becomes
 * ST_BAD, which the parser reports with its position.
 */
#include "query/sql_int.h"

#include "common/error.h"
#include "common/text.h"

#include <stdio.h>

int sql_fail(struct sql_err *err, int code, unsigned line, unsigned col, const char *fmt, ...)
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

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t word_end(const char *s, size_t i, size_t len)
{
    while (i < len && (is_alpha(s[i]) || is_digit(s[i])))
        i++;
    return i;
}

static size_t number_end(const char *s, size_t i, size_t len)
{
    while (i < len && is_digit(s[i]))
        i++;
    if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
        i++;
        while (i < len && is_digit(s[i]))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;

        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < len && is_digit(s[j])) {
            while (j < len && is_digit(s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

/* End of the string starting at s[i] (the quote), or 0 when it is not terminated. */
static size_t string_end(const char *s, size_t i, size_t len)
{
    char q = s[i++];

    while (i < len) {
        if (s[i] == '\\')
            i += 2;
        else if (s[i] == q)
            return i + 1;
        else
            i++;
    }
    return 0;
}

static enum sql_tok_type punct(const char *s, size_t i, size_t len, size_t *n)
{
    char c = s[i], next = i + 1 < len ? s[i + 1] : '\0';

    *n = 1;
    switch (c) {
    case '(':
        return ST_LPAREN;
    case ')':
        return ST_RPAREN;
    case '[':
        return ST_LBRACKET;
    case ']':
        return ST_RBRACKET;
    case '{':
        return ST_LBRACE;
    case '}':
        return ST_RBRACE;
    case ',':
        return ST_COMMA;
    case '.':
        return ST_DOT;
    case ':':
        return ST_COLON;
    case '=':
        return ST_EQ;
    case '+':
        return ST_PLUS;
    case '-':
        return ST_MINUS;
    case '*':
        return ST_STAR;
    case '/':
        return ST_SLASH;
    case '%':
        return ST_PERCENT;
    case '?':
        *n = next == '?' ? 2 : 1;
        return next == '?' ? ST_COALESCE : ST_QUESTION;
    case '|':
        *n = next == '|' ? 2 : 1;
        return next == '|' ? ST_CONCAT : ST_BAD;
    case '!':
        *n = next == '=' ? 2 : 1;
        return next == '=' ? ST_NE : ST_BAD;
    case '<':
        if (next == '>' || next == '=')
            *n = 2;
        return next == '>' ? ST_NE : next == '=' ? ST_LE : ST_LT;
    case '>':
        *n = next == '=' ? 2 : 1;
        return next == '=' ? ST_GE : ST_GT;
    default:
        return ST_BAD;
    }
}

int sql_lex(const char *text, size_t len, struct cr_arena *a, struct sql_tok **toks, size_t *n)
{
    /* At most one token per byte, plus ST_EOF. */
    struct sql_tok *t = cr_arena_alloc(a, (len + 1) * sizeof *t);
    size_t k = 0, i = 0, line_start = 0;
    unsigned line = 1;

    if (!t)
        return CR_ENOMEM;
    while (i < len) {
        size_t start = i, end;
        enum sql_tok_type type;
        char c = text[i];

        if (c == '\n') {
            line++;
            line_start = ++i;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        if (c == '-' && i + 1 < len && text[i + 1] == '-') {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        if (is_alpha(c)) {
            type = ST_IDENT;
            end = word_end(text, i, len);
        } else if (is_digit(c)) {
            type = ST_NUMBER;
            end = number_end(text, i, len);
        } else if (c == '@' && i + 1 < len && (is_alpha(text[i + 1]) || is_digit(text[i + 1]))) {
            type = ST_PARAM;
            end = word_end(text, i + 1, len);
        } else if (c == '"' || c == '\'') {
            end = string_end(text, i, len);
            type = end ? ST_STRING : ST_BAD;
            if (!end)
                end = len;
        } else {
            size_t w;

            type = punct(text, i, len, &w);
            end = i + w;
        }
        t[k].type = type;
        t[k].p = text + start;
        t[k].len = end - start;
        t[k].line = line;
        t[k].col = (unsigned)(start - line_start + 1);
        k++;
        /* A string may span lines: keep the line count right after it. */
        for (size_t j = start; type == ST_STRING && j < end; j++)
            if (text[j] == '\n') {
                line++;
                line_start = j + 1;
            }
        i = end;
    }
    t[k].type = ST_EOF;
    t[k].p = text + len;
    t[k].len = 0;
    t[k].line = line;
    t[k].col = (unsigned)(len - line_start + 1);
    *toks = t;
    *n = k + 1;
    return 0;
}

/* Cosmos's escapes: \' \" \\ \/ \b \f \n \r \t \uXXXX (surrogate pairs combine; a lone surrogate
 * is an error, since it cannot be UTF-8). */
int sql_unescape(const struct sql_tok *t, struct cr_arena *a, const char **s, size_t *len,
                 size_t *bad_off)
{
    const char *p = t->p + 1, *end = t->p + t->len - 1;
    /* Every escape shrinks or keeps the length: \uXXXX (6 bytes) gives at most 3 bytes, a
     * surrogate pair (12) gives 4. */
    char *o = cr_arena_alloc(a, t->len + 1), *q = o;

    if (!o)
        return CR_ENOMEM;
    while (p < end) {
        size_t n;

        if (*p != '\\') {
            *q++ = *p++;
            continue;
        }
        *bad_off = (size_t)(p - t->p);
        if (p + 1 >= end)
            return CR_EINVAL;
        switch (p[1]) {
        case '\'':
        case '"':
        case '\\':
        case '/':
            *q++ = p[1];
            break;
        case 'b':
            *q++ = '\b';
            break;
        case 'f':
            *q++ = '\f';
            break;
        case 'n':
            *q++ = '\n';
            break;
        case 'r':
            *q++ = '\r';
            break;
        case 't':
            *q++ = '\t';
            break;
        case 'u': {
            size_t took = cr_unescape_u(p, end, q, &n);

            if (took == 0)
                return CR_EINVAL;
            p += took;
            q += n;
            continue;
        }
        default:
            return CR_EINVAL;
        }
        p += 2;
    }
    *q = '\0';
    *s = o;
    *len = (size_t)(q - o);
    return 0;
}
