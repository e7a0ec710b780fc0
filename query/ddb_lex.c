/*
 * The tokenizer of DynamoDB expressions: splits the text into tokens and nothing more. Keywords
 * (AND, SET, ...) are plain identifiers here; the parser recognizes them by position. It never
 * looks placeholders up and never fails on odd characters (they become TK_BAD, which the parser
 * reports as a syntax error with DynamoDB's "near" context).
 */
#include "query/ddb_int.h"
#include "common/error.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t word_end(const char *s, size_t i, size_t len)
{
    while (i < len && (is_alpha(s[i]) || is_digit(s[i])))
        i++;
    return i;
}

static enum tok_type punct(const char *s, size_t i, size_t len, size_t *n)
{
    char c = s[i], next = i + 1 < len ? s[i + 1] : '\0';

    *n = 1;
    switch (c) {
    case '(':
        return TK_LPAREN;
    case ')':
        return TK_RPAREN;
    case '[':
        return TK_LBRACKET;
    case ']':
        return TK_RBRACKET;
    case '.':
        return TK_DOT;
    case ',':
        return TK_COMMA;
    case '=':
        return TK_EQ;
    case '+':
        return TK_PLUS;
    case '-':
        return TK_MINUS;
    case '<':
        if (next == '>' || next == '=')
            *n = 2;
        return next == '>' ? TK_NE : next == '=' ? TK_LE : TK_LT;
    case '>':
        if (next == '=')
            *n = 2;
        return next == '=' ? TK_GE : TK_GT;
    default:
        return TK_BAD;
    }
}

int ddb_lex(const char *text, size_t len, struct cr_arena *a, struct tok **toks, size_t *n)
{
    /* At most one token per byte, plus TK_EOF. */
    struct tok *t = cr_arena_alloc(a, (len + 1) * sizeof *t);
    size_t k = 0, i = 0;

    if (!t)
        return CR_ENOMEM;
    while (i < len) {
        size_t start = i, end;
        enum tok_type type;

        if (is_space(text[i])) {
            i++;
            continue;
        }
        if (is_alpha(text[i])) {
            type = TK_IDENT;
            end = word_end(text, i, len);
        } else if (is_digit(text[i])) {
            type = TK_NUMBER;
            end = i;
            while (end < len && is_digit(text[end]))
                end++;
        } else if ((text[i] == '#' || text[i] == ':') && i + 1 < len &&
                   (is_alpha(text[i + 1]) || is_digit(text[i + 1]))) {
            type = text[i] == '#' ? TK_NAME : TK_VALUE;
            end = word_end(text, i + 1, len);
        } else {
            size_t w;

            type = punct(text, i, len, &w);
            end = i + w;
        }
        t[k].type = type;
        t[k].p = text + start;
        t[k].len = end - start;
        k++;
        i = end;
    }
    t[k].type = TK_EOF;
    t[k].p = text + len;
    t[k].len = 0;
    *toks = t;
    *n = k + 1;
    return 0;
}
