/*
 * A streaming CSV reader (RFC 4180): fields separated by commas, records by LF or CRLF; a
 * field in double quotes may hold commas, line breaks and doubled quotes (""). It reads one
 * record at a time and keeps nothing of the previous one; it does not know about headers or
 * types (tools/cirrus.c does).
 */
#ifndef CIRRUS_TOOLS_CSV_H
#define CIRRUS_TOOLS_CSV_H

#include <stddef.h>
#include <stdio.h>

struct csv_reader {
    FILE *f;
    size_t line;     /* the line the last record (or error) began on, from 1 */
    char **fields;   /* the last record's fields, NUL-terminated, owned by the reader */
    size_t n;        /* how many */
    size_t bytes;    /* the last record's field bytes, NULs included */
    const char *why; /* csv_next's CR_EINVAL: what is wrong */
    size_t next_line;
    char *buf;
    size_t len, cap;
    size_t *offs;
    size_t cap_f;
};

/* Reads from f, which stays the caller's. */
void csv_init(struct csv_reader *r, FILE *f);
/*
 * The next record into r->fields[0..r->n), valid until the next call; empty lines are skipped.
 * 1: a record; 0: the end of the file; CR_EINVAL: a malformed record (r->why, r->line; the
 * rest of its line is skipped, so reading may go on); CR_ENOMEM.
 */
int csv_next(struct csv_reader *r);
void csv_close(struct csv_reader *r);

#endif
