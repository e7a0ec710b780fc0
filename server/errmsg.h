/*
 * A named error with specific human text, as every front end reports it: the code is a CR_E*
 * (common/error.h), the text says what exactly was wrong ("table 'users' not found"). Filled by
 * wire.c and ops.c, read by native.c and, later, the HTTP dialects. No allocation: the text is
 * cut at CR_ERRMSG_MAX - 1 bytes.
 */
#ifndef CR_SERVER_ERRMSG_H
#define CR_SERVER_ERRMSG_H

#define CR_ERRMSG_MAX 256

struct errmsg {
    int code;
    char text[CR_ERRMSG_MAX];
};

/* Sets e (when not NULL) to code and the formatted text; returns code, so that
 * `return errmsg_set(e, CR_ENOTABLE, "table '%s' not found", name);` reads naturally. */
int errmsg_set(struct errmsg *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears e to code 0 and empty text. */
void errmsg_clear(struct errmsg *e);

/* The text of e, or cr_strerror(code) when e carries no specific text. */
const char *errmsg_text(const struct errmsg *e, int code);

#endif
