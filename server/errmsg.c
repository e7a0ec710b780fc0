/* errmsg.h's three helpers: formatting only, no allocation, no logging. */
#include "server/errmsg.h"

#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

int errmsg_set(struct errmsg *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return code;
}

void errmsg_clear(struct errmsg *e)
{
    e->code = 0;
    e->text[0] = 0;
}

const char *errmsg_text(const struct errmsg *e, int code)
{
    if (e && e->code == code && e->text[0])
        return e->text;
    return cr_strerror(code);
}
