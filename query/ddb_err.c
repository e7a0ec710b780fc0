/*
 * Error messages of the DynamoDB expression module: DynamoDB's text, formatted into the caller's
 * struct ddb_err. Nothing here decides what is an error; the parsers and evaluators do.
 */
#include "query/ddb_int.h"
#include "common/error.h"

#include <stdio.h>
#include <string.h>

const char *ddb_kind_name(enum ddb_kind kind)
{
    switch (kind) {
    case DDB_CONDITION:
        return "ConditionExpression";
    case DDB_FILTER:
        return "FilterExpression";
    case DDB_KEY_CONDITION:
        return "KeyConditionExpression";
    case DDB_PROJECTION:
        return "ProjectionExpression";
    case DDB_UPDATE:
        return "UpdateExpression";
    }
    return "Expression";
}

int ddb_err_set(struct ddb_err *err, enum ddb_kind kind, const char *fmt, ...)
{
    va_list ap;
    int k;

    err->code = CR_EINVAL;
    k = snprintf(err->msg, sizeof err->msg, "Invalid %s: ", ddb_kind_name(kind));
    va_start(ap, fmt);
    vsnprintf(err->msg + k, sizeof err->msg - (size_t)k, fmt, ap);
    va_end(ap);
    return CR_EINVAL;
}

int ddb_fail_plain(struct ddb_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int ddb_err_nomem(struct ddb_err *err)
{
    return ddb_fail_plain(err, CR_ENOMEM, "%s", cr_strerror(CR_ENOMEM));
}
