/*
 * Cirrus error codes: one table, expanded wherever codes, names or messages are needed.
 *
 * A fallible function returns int: 0 on success or a negative CR_E* code. Codes are converted
 * only at edges: storage maps MDB_* here, each front end maps these to its own wire errors.
 * The numeric values are part of the native protocol (Response.error_code): append new codes
 * at the end, never renumber.
 */
#ifndef CR_ERROR_H
#define CR_ERROR_H

#define CR_ERRORS(X)                                                                               \
    X(CR_EINTERNAL, -1, "internal error")                                                          \
    X(CR_ENOMEM, -2, "out of memory")                                                              \
    X(CR_EINVAL, -3, "invalid argument")                                                           \
    X(CR_ENOTFOUND, -4, "not found")                                                               \
    X(CR_ETABLEEXISTS, -5, "table already exists")                                                 \
    X(CR_ENOTABLE, -6, "table not found")                                                          \
    X(CR_ECONDITION, -7, "the conditional request failed")                                         \
    X(CR_EITEMTOOBIG, -8, "item size has exceeded the maximum allowed size")                       \
    X(CR_EKEYTOOBIG, -9, "key attribute value exceeds the maximum allowed size")                   \
    X(CR_ETYPE, -10, "value has the wrong type")                                                   \
    X(CR_EMISSINGKEY, -11, "a key attribute is missing")                                           \
    X(CR_EIO, -12, "input/output error")                                                           \
    X(CR_ECORRUPT, -13, "data is corrupt")                                                         \
    X(CR_EFULL, -14, "storage is full")                                                            \
    X(CR_EPROTO, -15, "malformed request")                                                         \
    X(CR_EFRAMETOOBIG, -16, "frame exceeds the maximum size")                                      \
    X(CR_EUNKNOWNOP, -17, "unknown operation")                                                     \
    X(CR_EOVERLOAD, -18, "server overloaded, retry later")                                         \
    X(CR_ESHUTDOWN, -19, "server is shutting down")                                                \
    X(CR_ECURSOR, -20, "invalid continuation cursor")                                              \
    X(CR_ENESTING, -21, "nesting depth exceeds the limit")                                         \
    X(CR_ENUMBER, -22, "number is out of range or has too many significant digits")                \
    X(CR_ETOOMANY, -23, "too many operations in one request")                                      \
    X(CR_EABORTED, -24, "batch aborted: another operation in it failed")                           \
    X(CR_ETIMEOUT, -25, "operation timed out")                                                     \
    X(CR_ECONNECT, -26, "connection failed")                                                       \
    X(CR_ENAME, -27, "invalid name")                                                               \
    X(CR_ETOOLONG, -28, "value exceeds a length limit")                                            \
    X(CR_ECLOSED, -29, "connection closed")                                                        \
    X(CR_ESCHEMA, -30, "invalid key schema")                                                       \
    X(CR_ELOCKED, -31, "the data directory is in use by another process")                          \
    X(CR_ENOAUTH, -32, "the request carries no credentials")                                       \
    X(CR_EAUTHFORMAT, -33, "the request's credentials are malformed")                              \
    X(CR_EUNKNOWNKEY, -34, "unknown access key")                                                   \
    X(CR_ESIGNATURE, -35, "the request signature does not match or has expired")                   \
    X(CR_EBUDGET, -36, "the query exceeded its execution budget")                                  \
    X(CR_EEXISTS, -37, "already exists")                                                           \
    X(CR_ENOCOLL, -38, "collection not found")                                                     \
    X(CR_ENOTLEADER, -39, "not the leader")                                                        \
    X(CR_EPARKED, -40, "parked until a read index round ends (internal: never answered)")

enum cr_error {
    CR_OK = 0,
#define CR_ERROR_ENUM(name, code, msg) name = code,
    CR_ERRORS(CR_ERROR_ENUM)
#undef CR_ERROR_ENUM
};

/* The message for any code; "unknown error" for a code not in the table. Never NULL. */
const char *cr_strerror(int code);

/* The symbolic name ("CR_ENOTABLE") of any code; "CR_OK" for 0, "CR_EUNKNOWN" otherwise. */
const char *cr_errname(int code);

#endif
