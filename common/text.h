/*
 * Small text helpers shared by the query languages' lexers (query/sql_lex.c, gremlin_parse.c):
 * JSON-style \u escapes decoded to UTF-8.
 */
#ifndef CR_COMMON_TEXT_H
#define CR_COMMON_TEXT_H

#include <stddef.h>

/*
 * The "\uXXXX" escape at p (p[0] == '\\', p[1] == 'u'; end bounds the text), followed by its low
 * surrogate escape when it is a high surrogate, written to out as UTF-8 (room for 4 bytes):
 * returns how many bytes of the text it took (6 or 12) and sets *written, or returns 0 when it is
 * malformed (not four hex digits, a lone or reversed surrogate).
 */
size_t cr_unescape_u(const char *p, const char *end, char *out, size_t *written);

#endif
