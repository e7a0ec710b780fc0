/*
 * RFC 4180 records, one at a time (csv.h). Fields are kept in one buffer, NUL-separated, with
 * their offsets; pointers are made only once the record is whole, as the buffer may move.
 */
#include "tools/csv.h"

#include "common/error.h"

#include <stdlib.h>
#include <string.h>

void csv_init(struct csv_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->next_line = 1;
}

void csv_close(struct csv_reader *r)
{
    free(r->buf);
    free(r->offs);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

static int put(struct csv_reader *r, char ch)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        char *b = realloc(r->buf, cap);

        if (!b)
            return CR_ENOMEM;
        r->buf = b;
        r->cap = cap;
    }
    r->buf[r->len++] = ch;
    return 0;
}

/* Ends the field being read (at r->len) and starts the next one. */
static int end_field(struct csv_reader *r)
{
    int rc = put(r, '\0');

    if (rc < 0)
        return rc;
    if (r->n + 1 >= r->cap_f) {
        size_t cap = r->cap_f ? 2 * r->cap_f : 16;
        size_t *o = realloc(r->offs, cap * sizeof *o);

        if (!o)
            return CR_ENOMEM;
        r->offs = o;
        r->cap_f = cap;
    }
    r->offs[++r->n] = r->len;
    return 0;
}

/* Skips to the end of the physical line after a malformed record. */
static void skip_line(struct csv_reader *r, int ch)
{
    while (ch != EOF && ch != '\n')
        ch = getc(r->f);
    if (ch == '\n')
        r->next_line++;
}

static int bad(struct csv_reader *r, const char *why, int ch)
{
    r->why = why;
    skip_line(r, ch);
    return CR_EINVAL;
}

int csv_next(struct csv_reader *r)
{
    enum { START, PLAIN, QUOTED, CLOSED } st;
    int ch, rc;

    for (;;) {
        r->len = r->n = 0;
        r->line = r->next_line;
        if (!r->offs) {
            if (!(r->offs = malloc(16 * sizeof *r->offs)))
                return CR_ENOMEM;
            r->cap_f = 16;
        }
        r->offs[0] = 0;
        st = START;
        while ((ch = getc(r->f)) != EOF) {
            if (st == QUOTED) {
                if (ch == '"')
                    st = CLOSED;
                else if ((rc = put(r, (char)ch)) < 0)
                    return rc;
                if (ch == '\n')
                    r->next_line++;
                continue;
            }
            if (ch == '\n') {
                r->next_line++;
                break;
            }
            if (ch == '\r') {
                int nx = getc(r->f);

                if (nx == '\n') {
                    r->next_line++;
                    break;
                }
                if (nx != EOF)
                    ungetc(nx, r->f);
                if (st == CLOSED)
                    return bad(r, "a character after a closing quote", nx);
                if ((rc = put(r, '\r')) < 0)
                    return rc;
                st = PLAIN;
                continue;
            }
            if (ch == ',') {
                if ((rc = end_field(r)) < 0)
                    return rc;
                st = START;
            } else if (ch == '"' && st == START) {
                st = QUOTED;
            } else if (ch == '"' && st == CLOSED) {
                if ((rc = put(r, '"')) < 0) /* a doubled quote inside quotes */
                    return rc;
                st = QUOTED;
            } else if (ch == '"') {
                return bad(r, "a quote inside an unquoted field", ch);
            } else if (st == CLOSED) {
                return bad(r, "a character after a closing quote", ch);
            } else {
                if ((rc = put(r, (char)ch)) < 0)
                    return rc;
                st = PLAIN;
            }
        }
        if (st == QUOTED) {
            r->why = "a quoted field is not closed at the end of the file";
            return CR_EINVAL;
        }
        if (ch == EOF && r->len == 0 && r->n == 0 && st == START)
            return 0;
        if (r->len == 0 && r->n == 0 && st == START)
            continue; /* an empty line */
        if ((rc = end_field(r)) < 0)
            return rc;
        break;
    }
    free(r->fields);
    if (!(r->fields = malloc(r->n * sizeof *r->fields)))
        return CR_ENOMEM;
    for (size_t i = 0; i < r->n; i++)
        r->fields[i] = r->buf + r->offs[i];
    r->bytes = r->len;
    return 1;
}
