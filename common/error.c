/* The error table's two lookups. */
#include "common/error.h"

const char *cr_strerror(int code)
{
    switch (code) {
    case CR_OK:
        return "ok";
#define CR_ERROR_MSG(name, c, msg)                                                                 \
    case c:                                                                                        \
        return msg;
        CR_ERRORS(CR_ERROR_MSG)
#undef CR_ERROR_MSG
    }
    return "unknown error";
}

const char *cr_errname(int code)
{
    switch (code) {
    case CR_OK:
        return "CR_OK";
#define CR_ERROR_NAME(name, c, msg)                                                                \
    case c:                                                                                        \
        return #name;
        CR_ERRORS(CR_ERROR_NAME)
#undef CR_ERROR_NAME
    }
    return "CR_EUNKNOWN";
}
