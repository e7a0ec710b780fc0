/*
 * The CLI's JSON <-> value mapping (shapes documented in json.h), with its own base64 and
 * RFC 3339 code. It only converts: no I/O, no protocol. Errors are reported as text for the
 * user, never printed here.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tools/json.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return CR_EINVAL;
}

/* ---- base64 ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t jsonv_base64_encode(const uint8_t *p, size_t n, char *out)
{
    size_t i, o = 0;
    uint32_t w;

    for (i = 0; i + 3 <= n; i += 3) {
        w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = B64[w >> 18];
        out[o++] = B64[(w >> 12) & 63];
        out[o++] = B64[(w >> 6) & 63];
        out[o++] = B64[w & 63];
    }
    if (n - i == 1) {
        w = (uint32_t)p[i] << 16;
        out[o++] = B64[w >> 18];
        out[o++] = B64[(w >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = B64[w >> 18];
        out[o++] = B64[(w >> 12) & 63];
        out[o++] = B64[(w >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_digit(char ch)
{
    const char *p = ch != '\0' ? strchr(B64, ch) : NULL;

    return p != NULL ? (int)(p - B64) : -1;
}

int jsonv_base64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
    uint8_t *buf;
    uint32_t w = 0;
    size_t i, o = 0, bits = 0;
    int d;

    if (len % 4 == 0 && len >= 2 && s[len - 1] == '=')
        len -= s[len - 2] == '=' ? 2 : 1;
    if (len % 4 == 1)
        return CR_EINVAL;
    buf = malloc(len * 3 / 4 + 1);
    if (buf == NULL)
        return CR_ENOMEM;
    for (i = 0; i < len; i++) {
        if ((d = b64_digit(s[i])) < 0) {
            free(buf);
            return CR_EINVAL;
        }
        w = w << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(w >> bits);
        }
    }
    /* Leftover bits must be zero, so each byte string has exactly one encoding. */
    if ((w & ((1u << bits) - 1)) != 0) {
        free(buf);
        return CR_EINVAL;
    }
    *out = buf;
    *outlen = o;
    return 0;
}

/* ---- RFC 3339 ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based). */
static int64_t days_from_date(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void date_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;

    while (n-- > 0) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

int jsonv_ts_parse(const char *s, int64_t *sec, int32_t *nsec)
{
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0, n = 0, scale = 0;
    const char *p = s;

    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return CR_EINVAL;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return CR_EINVAL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return CR_EINVAL;
        for (; *p >= '0' && *p <= '9'; p++, scale++)
            if (scale < 9)
                n = n * 10 + (*p - '0');
        for (; scale < 9; scale++)
            n *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return CR_EINVAL;
    } else {
        return CR_EINVAL;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 60)
        return CR_EINVAL;
    /* A leap second (":60") is folded onto the next second, as most clocks do. */
    *sec =
        days_from_date(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
    *nsec = n;
    return 0;
}

int jsonv_ts_format(int64_t sec, int32_t nsec, char *buf, size_t len)
{
    int64_t days = sec / 86400, rem = sec % 86400, y;
    char frac[12] = "";
    int m, d, i;

    if (nsec < 0 || nsec > 999999999)
        return CR_EINVAL;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    date_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return CR_EINVAL;
    if (nsec > 0) {
        snprintf(frac, sizeof(frac), ".%09d", (int)nsec);
        for (i = 9; frac[i] == '0'; i--)
            frac[i] = '\0';
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", (int)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), frac);
    return 0;
}

/* ---- JSON -> value ---- */

static int decimal_text_ok(const char *s)
{
    int digits_seen = 0;

    if (*s == '-' || *s == '+')
        s++;
    for (; *s >= '0' && *s <= '9'; s++)
        digits_seen = 1;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits_seen = 1;
    if (!digits_seen)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (*s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static int from_json_at(const json_t *j, struct cirrus_value *out, char *err, size_t errlen,
                        int depth);

static int bytes_from(const json_t *j, struct cirrus_value *out, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t n;
    int rc;

    if (!json_is_string(j))
        return fail(err, errlen, "$bytes needs a base64 string");
    rc = jsonv_base64_decode(json_string_value(j), json_string_length(j), &buf, &n);
    if (rc == CR_EINVAL)
        return fail(err, errlen, "invalid base64 in $bytes: \"%s\"", json_string_value(j));
    if (rc != 0)
        return rc;
    rc = cirrus_value_bytes(out, buf, n);
    free(buf);
    return rc;
}

static int decimal_from(const json_t *j, struct cirrus_value *out, char *err, size_t errlen)
{
    if (!json_is_string(j) || !decimal_text_ok(json_string_value(j)))
        return fail(err, errlen,
                    "$decimal needs a number as a string, e.g. {\"$decimal\":\"1.5\"}");
    return cirrus_value_decimal(out, json_string_value(j));
}

static int double_from(const json_t *j, struct cirrus_value *out, char *err, size_t errlen)
{
    const char *s = json_string_value(j);

    if (json_is_number(j))
        cirrus_value_double(out, json_number_value(j));
    else if (s != NULL && strcmp(s, "NaN") == 0)
        cirrus_value_double(out, NAN);
    else if (s != NULL && strcmp(s, "Infinity") == 0)
        cirrus_value_double(out, INFINITY);
    else if (s != NULL && strcmp(s, "-Infinity") == 0)
        cirrus_value_double(out, -INFINITY);
    else
        return fail(err, errlen, "$double needs a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
    return 0;
}

static int set_from(const json_t *j, enum cirrus_type type, const char *key,
                    struct cirrus_value *out, char *err, size_t errlen, int depth)
{
    struct cirrus_value elem;
    const json_t *e;
    size_t i;
    int rc;

    if (!json_is_array(j))
        return fail(err, errlen, "%s needs an array", key);
    cirrus_value_container(out, type);
    json_array_foreach(j, i, e)
    {
        if (type == CIRRUS_STRING_SET && json_is_string(e))
            rc = cirrus_value_string(&elem, json_string_value(e), json_string_length(e));
        else if (type == CIRRUS_BINARY_SET)
            rc = bytes_from(e, &elem, err, errlen);
        else if (type == CIRRUS_NUMBER_SET && json_is_string(e))
            rc = decimal_from(e, &elem, err, errlen);
        else if (type == CIRRUS_NUMBER_SET && (json_is_number(e) || json_is_object(e))) {
            rc = from_json_at(e, &elem, err, errlen, depth + 1);
            if (rc == 0 && elem.type != CIRRUS_INT && elem.type != CIRRUS_DOUBLE &&
                elem.type != CIRRUS_DECIMAL) {
                cirrus_value_clear(&elem);
                rc = fail(err, errlen, "$ns elements must be numbers");
            }
        } else
            rc = fail(err, errlen, "%s element %zu has the wrong type", key, i);
        if (rc == 0 && (rc = cirrus_list_append(out, &elem)) != 0)
            cirrus_value_clear(&elem);
        if (rc != 0) {
            cirrus_value_clear(out);
            return rc;
        }
    }
    return 0;
}

static int map_from(const json_t *j, struct cirrus_value *out, char *err, size_t errlen, int depth)
{
    struct cirrus_value elem;
    const char *k;
    json_t *e;
    int rc;

    cirrus_value_container(out, CIRRUS_MAP);
    json_object_foreach((json_t *)j, k, e)
    {
        rc = from_json_at(e, &elem, err, errlen, depth + 1);
        if (rc == 0 && (rc = cirrus_map_set(out, k, &elem)) != 0)
            cirrus_value_clear(&elem);
        if (rc != 0) {
            cirrus_value_clear(out);
            return rc;
        }
    }
    return 0;
}

static int special_from(const char *key, const json_t *j, struct cirrus_value *out, char *err,
                        size_t errlen, int depth)
{
    if (strcmp(key, "$bytes") == 0)
        return bytes_from(j, out, err, errlen);
    if (strcmp(key, "$decimal") == 0)
        return decimal_from(j, out, err, errlen);
    if (strcmp(key, "$double") == 0)
        return double_from(j, out, err, errlen);
    if (strcmp(key, "$ts") == 0) {
        int64_t sec;
        int32_t nsec;

        if (json_is_object(j) && json_object_size(j) == 2 &&
            json_is_integer(json_object_get(j, "seconds")) &&
            json_is_integer(json_object_get(j, "nanos"))) {
            sec = json_integer_value(json_object_get(j, "seconds"));
            nsec = (int32_t)json_integer_value(json_object_get(j, "nanos"));
        } else if (!json_is_string(j) || jsonv_ts_parse(json_string_value(j), &sec, &nsec) != 0)
            return fail(err, errlen, "$ts needs RFC 3339 text, e.g. \"2024-05-01T12:00:00Z\"");
        cirrus_value_timestamp(out, sec, nsec);
        return 0;
    }
    if (strcmp(key, "$geo") == 0) {
        if (!json_is_array(j) || json_array_size(j) != 2 || !json_is_number(json_array_get(j, 0)) ||
            !json_is_number(json_array_get(j, 1)))
            return fail(err, errlen, "$geo needs [latitude, longitude]");
        cirrus_value_geopoint(out, json_number_value(json_array_get(j, 0)),
                              json_number_value(json_array_get(j, 1)));
        return 0;
    }
    if (strcmp(key, "$ref") == 0) {
        if (!json_is_string(j))
            return fail(err, errlen, "$ref needs a path string");
        return cirrus_value_ref(out, json_string_value(j));
    }
    if (strcmp(key, "$ss") == 0)
        return set_from(j, CIRRUS_STRING_SET, key, out, err, errlen, depth);
    if (strcmp(key, "$ns") == 0)
        return set_from(j, CIRRUS_NUMBER_SET, key, out, err, errlen, depth);
    if (strcmp(key, "$bs") == 0)
        return set_from(j, CIRRUS_BINARY_SET, key, out, err, errlen, depth);
    if (strcmp(key, "$map") == 0) {
        if (!json_is_object(j))
            return fail(err, errlen, "$map needs an object");
        return map_from(j, out, err, errlen, depth);
    }
    return fail(err, errlen,
                "unknown shape {\"%s\":...} (write {\"$map\":{...}} for a map "
                "whose only key starts with $)",
                key);
}

static int from_json_at(const json_t *j, struct cirrus_value *out, char *err, size_t errlen,
                        int depth)
{
    struct cirrus_value elem;
    const char *key;
    size_t i;
    json_t *e;
    int rc;

    cirrus_value_null(out);
    if (depth > CIRRUS_MAX_DEPTH)
        return fail(err, errlen, "nested deeper than %d levels", CIRRUS_MAX_DEPTH);
    switch (json_typeof(j)) {
    case JSON_NULL:
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        cirrus_value_bool(out, json_is_true(j));
        return 0;
    case JSON_INTEGER:
        cirrus_value_int(out, json_integer_value(j));
        return 0;
    case JSON_REAL:
        cirrus_value_double(out, json_real_value(j));
        return 0;
    case JSON_STRING:
        return cirrus_value_string(out, json_string_value(j), json_string_length(j));
    case JSON_ARRAY:
        cirrus_value_container(out, CIRRUS_ARRAY);
        json_array_foreach(j, i, e)
        {
            rc = from_json_at(e, &elem, err, errlen, depth + 1);
            if (rc == 0 && (rc = cirrus_list_append(out, &elem)) != 0)
                cirrus_value_clear(&elem);
            if (rc != 0) {
                cirrus_value_clear(out);
                return rc;
            }
        }
        return 0;
    case JSON_OBJECT:
        if (json_object_size(j) == 1) {
            json_object_foreach((json_t *)j, key, e)
            {
                if (key[0] == '$')
                    return special_from(key, e, out, err, errlen, depth);
            }
        }
        return map_from(j, out, err, errlen, depth);
    }
    return fail(err, errlen, "unsupported JSON value");
}

int jsonv_from_json(const json_t *j, struct cirrus_value *out, char *err, size_t errlen)
{
    int rc = from_json_at(j, out, err, errlen, 0);

    if (rc == CR_ENOMEM)
        fail(err, errlen, "out of memory");
    return rc;
}

/* True when the integer literal [s, s+n) does not fit an int64. */
static int int_overflows(const char *s, size_t n)
{
    char buf[32];
    long long v;

    if (n >= sizeof(buf))
        return 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    v = strtoll(buf, NULL, 10);
    (void)v;
    return errno == ERANGE;
}

char *jsonv_rewrite_bigints(const char *text)
{
    size_t n = strlen(text), i = 0, o = 0, start, cap = n + 1;
    char *out = malloc(cap), *grown;
    int integer;

    if (out == NULL)
        return NULL;
    while (i < n) {
        if (text[i] == '"') {
            out[o++] = text[i++];
            while (i < n && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < n)
                    out[o++] = text[i++];
                out[o++] = text[i++];
            }
            if (i < n)
                out[o++] = text[i++];
            continue;
        }
        if (text[i] != '-' && (text[i] < '0' || text[i] > '9')) {
            out[o++] = text[i++];
            continue;
        }
        start = i;
        integer = 1;
        for (i++; i < n && strchr("0123456789.eE+-", text[i]) != NULL; i++)
            if (strchr(".eE+-", text[i]) != NULL)
                integer = 0;
        if (integer && int_overflows(text + start, i - start)) {
            cap += 16;
            if ((grown = realloc(out, cap)) == NULL) {
                free(out);
                return NULL;
            }
            out = grown;
            o +=
                (size_t)sprintf(out + o, "{\"$decimal\":\"%.*s\"}", (int)(i - start), text + start);
        } else {
            memcpy(out + o, text + start, i - start);
            o += i - start;
        }
    }
    out[o] = '\0';
    return out;
}

static int parse_flags(const char *text, size_t flags, struct cirrus_value *out, size_t *used,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j;
    int rc;

    cirrus_value_null(out);
    j = json_loads(text, flags | JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        return fail(err, errlen, "bad JSON: %s (at offset %d)", jerr.text, jerr.position);
    if (used != NULL)
        *used = (size_t)jerr.position;
    rc = jsonv_from_json(j, out, err, errlen);
    json_decref(j);
    return rc;
}

int jsonv_parse(const char *text, struct cirrus_value *out, char *err, size_t errlen)
{
    char *rewritten = jsonv_rewrite_bigints(text);
    int rc;

    if (rewritten == NULL) {
        cirrus_value_null(out);
        return CR_ENOMEM;
    }
    rc = parse_flags(rewritten, 0, out, NULL, err, errlen);
    free(rewritten);
    return rc;
}

int jsonv_parse_prefix(const char *text, struct cirrus_value *out, const char **end, char *err,
                       size_t errlen)
{
    size_t used = 0;
    int rc = parse_flags(text, JSON_DISABLE_EOF_CHECK, out, &used, err, errlen);

    *end = text + used;
    return rc;
}

/* ---- value -> JSON text ---- */

static int put(struct cr_buf *b, const char *s)
{
    return cr_buf_append(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if it is not valid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0)
        len = 2, cp = p[0] & 0x1F;
    else if ((p[0] & 0xF0) == 0xE0)
        len = 3, cp = p[0] & 0x0F;
    else if ((p[0] & 0xF8) == 0xF0)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return len;
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD so the output always parses. */
static int put_string(struct cr_buf *b, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    char esc[8];
    size_t i = 0, len;
    int rc = cr_buf_putc(b, '"');

    while (rc == 0 && i < n) {
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)p[i];
            esc[2] = '\0';
            rc = put(b, esc);
            i++;
        } else if (p[i] < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
            rc = put(b, p[i] == '\n' ? "\\n" : p[i] == '\t' ? "\\t" : p[i] == '\r' ? "\\r" : esc);
            i++;
        } else if ((len = utf8_len(p + i, n - i)) == 0) {
            rc = put(b, "\\ufffd");
            i++;
        } else {
            rc = cr_buf_append(b, p + i, len);
            i += len;
        }
    }
    return rc != 0 ? rc : cr_buf_putc(b, '"');
}

/* {"key": then the caller's value, then put(b, "}"). */
static int put_wrap(struct cr_buf *b, const char *key)
{
    int rc = put(b, "{\"");

    if (rc == 0 && (rc = put(b, key)) == 0)
        rc = put(b, "\":");
    return rc;
}

/* The shortest %g text that reads back as the same double, always marked as a real. */
static int put_double(struct cr_buf *b, double d)
{
    char buf[40];
    int prec;

    if (isnan(d))
        return put(b, "{\"$double\":\"NaN\"}");
    if (isinf(d))
        return put(b, d > 0 ? "{\"$double\":\"Infinity\"}" : "{\"$double\":\"-Infinity\"}");
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strpbrk(buf, ".e") == NULL)
        strcat(buf, ".0");
    return put(b, buf);
}

static int put_b64(struct cr_buf *b, const char *p, size_t n)
{
    size_t need = 4 * ((n + 2) / 3) + 3;
    int rc = cr_buf_reserve(b, need);

    if (rc != 0)
        return rc;
    b->data[b->len++] = '"';
    b->len += jsonv_base64_encode((const uint8_t *)p, n, (char *)b->data + b->len);
    b->data[b->len++] = '"';
    return 0;
}

static int put_value(struct cr_buf *b, const struct cirrus_value *v);

static int put_list(struct cr_buf *b, const struct cirrus_value *v)
{
    const struct cirrus_value *e;
    int rc = cr_buf_putc(b, '[');
    size_t i;

    for (i = 0; rc == 0 && i < v->u.list.len; i++) {
        e = &v->u.list.items[i];
        if (i > 0 && (rc = cr_buf_putc(b, ',')) != 0)
            break;
        if (v->type == CIRRUS_BINARY_SET && e->type == CIRRUS_BYTES)
            rc = put_b64(b, e->u.str.ptr, e->u.str.len);
        else if (v->type == CIRRUS_NUMBER_SET && e->type == CIRRUS_DECIMAL)
            rc = put_string(b, e->u.str.ptr, e->u.str.len);
        else
            rc = put_value(b, e);
    }
    return rc != 0 ? rc : cr_buf_putc(b, ']');
}

static int put_map(struct cr_buf *b, const struct cirrus_value *v)
{
    int literal = v->u.map.len == 1 && v->u.map.fields[0].name[0] == '$';
    int rc = literal ? put_wrap(b, "$map") : 0;
    size_t i;

    if (rc == 0)
        rc = cr_buf_putc(b, '{');
    for (i = 0; rc == 0 && i < v->u.map.len; i++) {
        if (i > 0 && (rc = cr_buf_putc(b, ',')) != 0)
            break;
        if ((rc = put_string(b, v->u.map.fields[i].name, strlen(v->u.map.fields[i].name))) == 0 &&
            (rc = cr_buf_putc(b, ':')) == 0)
            rc = put_value(b, &v->u.map.fields[i].value);
    }
    if (rc == 0)
        rc = cr_buf_putc(b, '}');
    return rc != 0 || !literal ? rc : cr_buf_putc(b, '}');
}

static int put_value(struct cr_buf *b, const struct cirrus_value *v)
{
    char buf[64];
    int rc;

    switch (v->type) {
    case CIRRUS_NULL:
        return put(b, "null");
    case CIRRUS_BOOL:
        return put(b, v->u.b ? "true" : "false");
    case CIRRUS_INT:
        snprintf(buf, sizeof(buf), "%lld", (long long)v->u.i);
        return put(b, buf);
    case CIRRUS_DOUBLE:
        return put_double(b, v->u.d);
    case CIRRUS_STRING:
        return put_string(b, v->u.str.ptr, v->u.str.len);
    case CIRRUS_ARRAY:
        return put_list(b, v);
    case CIRRUS_MAP:
        return put_map(b, v);
    case CIRRUS_DECIMAL:
        rc = put_wrap(b, "$decimal");
        if (rc == 0)
            rc = put_string(b, v->u.str.ptr, v->u.str.len);
        break;
    case CIRRUS_REF:
        rc = put_wrap(b, "$ref");
        if (rc == 0)
            rc = put_string(b, v->u.str.ptr, v->u.str.len);
        break;
    case CIRRUS_BYTES:
        rc = put_wrap(b, "$bytes");
        if (rc == 0)
            rc = put_b64(b, v->u.str.ptr, v->u.str.len);
        break;
    case CIRRUS_TIMESTAMP:
        rc = put_wrap(b, "$ts");
        if (rc != 0)
            break;
        if (jsonv_ts_format(v->u.ts.sec, v->u.ts.nsec, buf, sizeof(buf)) == 0) {
            rc = put_string(b, buf, strlen(buf));
            break;
        }
        snprintf(buf, sizeof(buf), "{\"seconds\":%lld,\"nanos\":%d}", (long long)v->u.ts.sec,
                 (int)v->u.ts.nsec);
        rc = put(b, buf);
        break;
    case CIRRUS_GEOPOINT:
        rc = put_wrap(b, "$geo");
        if (rc == 0)
            rc = cr_buf_putc(b, '[');
        if (rc == 0)
            rc = put_double(b, v->u.geo.lat);
        if (rc == 0)
            rc = cr_buf_putc(b, ',');
        if (rc == 0)
            rc = put_double(b, v->u.geo.lon);
        if (rc == 0)
            rc = cr_buf_putc(b, ']');
        break;
    case CIRRUS_STRING_SET:
    case CIRRUS_NUMBER_SET:
    case CIRRUS_BINARY_SET:
        rc = put_wrap(b, v->type == CIRRUS_STRING_SET   ? "$ss"
                         : v->type == CIRRUS_NUMBER_SET ? "$ns"
                                                        : "$bs");
        if (rc == 0)
            rc = put_list(b, v);
        break;
    default:
        return CR_EINVAL;
    }
    return rc != 0 ? rc : cr_buf_putc(b, '}');
}

char *jsonv_dumps(const struct cirrus_value *v)
{
    struct cr_buf b;

    cr_buf_init(&b);
    if (put_value(&b, v) != 0 || cr_buf_putc(&b, '\0') != 0) {
        cr_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}
