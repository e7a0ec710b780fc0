/*
 * AttributeValue conversion (ddb_av.h). Must not know tables or keys, must not keep state,
 * and must report every bad value with DynamoDB's text rather than crash or truncate: the
 * conversion recurses at most CR_MAX_DEPTH levels, whatever the JSON nests.
 */
#include "server/http/ddb_av.h"

#include "common/error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVALID "One or more parameter values were invalid: "

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_index(unsigned char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;

    return p ? (int)(p - b64chars) : -1;
}

/* Standard base64 with padding, as the SDKs send it. */
static int b64_decode(const char *s, size_t n, struct cr_arena *a, struct value *out,
                      struct errmsg *e)
{
    uint8_t *buf;
    size_t len = 0;

    if (n % 4)
        return errmsg_set(e, CR_EPROTO,
                          "Base64 encoded length is expected a multiple of 4 bytes but found: %zu",
                          n);
    buf = cr_arena_alloc(a, n / 4 * 3 + 1);
    if (!buf)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i += 4) {
        int v[4];

        for (int k = 0; k < 4; k++) {
            v[k] = b64_index((unsigned char)s[i + k]);
            if (s[i + k] == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '='))
                v[k] = -2;
            else if (v[k] < 0)
                return errmsg_set(e, CR_EPROTO, "Invalid Base64 character: '%c'", s[i + k]);
        }
        buf[len++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0)
            buf[len++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
        if (v[3] >= 0)
            buf[len++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
    }
    *out = value_bytes(buf, len);
    return 0;
}

static json_t *b64_encode(const uint8_t *p, size_t n)
{
    size_t cap = (n + 2) / 3 * 4, len = 0;
    char *s = malloc(cap + 1);
    json_t *j;

    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);

        s[len++] = b64chars[v >> 18 & 63];
        s[len++] = b64chars[v >> 12 & 63];
        s[len++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        s[len++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    j = json_stringn(s, len);
    free(s);
    return j;
}

/* Which of DynamoDB's three texts a number decimal_parse found out of range deserves. */
static int number_range_error(const char *s, size_t n, struct errmsg *e)
{
    size_t i = 0, digits = 0, int_digits = 0, first = 0, last = 0, sig = 0;
    bool dot = false, seen = false;
    long exp = 0;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'); i++) {
        if (s[i] == '.') {
            dot = true;
            continue;
        }
        if (!dot)
            int_digits++;
        if (s[i] != '0') {
            if (!seen)
                first = digits;
            seen = true;
            last = digits;
        }
        digits++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E'))
        exp = strtol(s + i + 1, NULL, 10);
    /* Only the sign of the magnitude matters below: saturate so the sum cannot overflow. */
    if (exp > 1000000000L)
        exp = 1000000000L;
    if (exp < -1000000000L)
        exp = -1000000000L;
    if (seen)
        sig = last - first + 1;
    if (sig > CR_DECIMAL_DIGITS)
        return errmsg_set(e, CR_ENUMBER,
                          "Attempting to store more than 38 significant digits in a Number");
    if ((long)int_digits - (long)first + exp > 0)
        return errmsg_set(e, CR_ENUMBER,
                          "Number overflow. Attempting to store a number with magnitude larger "
                          "than supported range");
    return errmsg_set(e, CR_ENUMBER,
                      "Number underflow. Attempting to store a number with magnitude smaller "
                      "than supported range");
}

static int number(const json_t *j, struct value *out, struct errmsg *e)
{
    const char *s;
    size_t n;
    int rc;

    if (!json_is_string(j))
        return errmsg_set(e, CR_EPROTO, "NUMBER_VALUE cannot be converted to String");
    s = json_string_value(j);
    n = json_string_length(j);
    out->type = VT_DECIMAL;
    rc = decimal_parse(s, n, &out->u.dec);
    if (rc == CR_ENUMBER)
        return number_range_error(s, n, e);
    if (rc < 0)
        return errmsg_set(e, CR_EINVAL,
                          "The parameter cannot be converted to a numeric value: %.*s",
                          (int)(n > 200 ? 200 : n), s);
    return 0;
}

static int scalar(char type, const json_t *j, struct cr_arena *a, struct value *out,
                  struct errmsg *e)
{
    if (type == 'N')
        return number(j, out, e);
    if (!json_is_string(j))
        return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
    if (type == 'S') {
        *out = value_string(json_string_value(j), json_string_length(j));
        return 0;
    }
    return b64_decode(json_string_value(j), json_string_length(j), a, out, e);
}

/* "[a, b, a]" as DynamoDB prints a set with duplicates, cut to fit the message. */
static void set_text(const json_t *arr, char *buf, size_t cap)
{
    size_t len = 0, i;
    json_t *el;

    len += (size_t)snprintf(buf, cap, "[");
    json_array_foreach(arr, i, el)
    {
        if (len >= cap)
            break;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                                json_is_string(el) ? json_string_value(el) : "?");
    }
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

static int set(const char *type, const json_t *arr, struct cr_arena *a, struct value *out,
               struct errmsg *e)
{
    static const char *empty[] = {INVALID "An string set  may not be empty",
                                  INVALID "An number set  may not be empty",
                                  INVALID "Binary sets should not be empty"};
    int kind = type[0] == 'S' ? 0 : type[0] == 'N' ? 1 : 2;
    size_t n, i, *order = NULL;
    json_t *el;
    int rc;

    if (!json_is_array(arr))
        return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
    n = json_array_size(arr);
    if (n == 0)
        return errmsg_set(e, CR_EINVAL, "%s", empty[kind]);
    out->type = kind == 0 ? VT_SS : kind == 1 ? VT_NS : VT_BS;
    out->u.arr.n = n;
    out->u.arr.items = cr_arena_alloc(a, n * sizeof *out->u.arr.items);
    if (!out->u.arr.items)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    json_array_foreach(arr, i, el)
    {
        rc = scalar(type[0], el, a, &out->u.arr.items[i], e);
        if (rc < 0)
            return rc;
    }
    rc = value_sort_order(out, &order);
    free(order);
    if (rc == CR_EINVAL) {
        char list[160];

        set_text(arr, list, sizeof list);
        return errmsg_set(e, CR_EINVAL, INVALID "Input collection %s contains duplicates.", list);
    }
    return rc < 0 ? errmsg_set(e, rc, "out of memory") : 0;
}

static int convert(const json_t *av, int depth, struct cr_arena *a, struct value *out,
                   struct errmsg *e);

static int map(const json_t *obj, int depth, struct cr_arena *a, struct value *out,
               struct errmsg *e)
{
    size_t n, i = 0;
    const char *name;
    json_t *v;

    if (!json_is_object(obj))
        return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
    n = json_object_size(obj);
    out->type = VT_MAP;
    out->u.map.n = n;
    out->u.map.fields = n ? cr_arena_alloc(a, n * sizeof *out->u.map.fields) : NULL;
    if (n && !out->u.map.fields)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    json_object_foreach((json_t *)obj, name, v)
    {
        struct value_field *f = &out->u.map.fields[i++];
        int rc;

        f->name = name;
        f->name_len = strlen(name);
        f->value = cr_arena_alloc(a, sizeof *f->value);
        if (!f->value)
            return errmsg_set(e, CR_ENOMEM, "out of memory");
        rc = convert(v, depth, a, f->value, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int list(const json_t *arr, int depth, struct cr_arena *a, struct value *out,
                struct errmsg *e)
{
    size_t n, i;
    json_t *el;

    if (!json_is_array(arr))
        return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
    n = json_array_size(arr);
    out->type = VT_ARRAY;
    out->u.arr.n = n;
    out->u.arr.items = n ? cr_arena_alloc(a, n * sizeof *out->u.arr.items) : NULL;
    if (n && !out->u.arr.items)
        return errmsg_set(e, CR_ENOMEM, "out of memory");
    json_array_foreach(arr, i, el)
    {
        int rc = convert(el, depth, a, &out->u.arr.items[i], e);

        if (rc < 0)
            return rc;
    }
    return 0;
}

/* depth: containers (M, L) already entered above this value. */
static int convert(const json_t *av, int depth, struct cr_arena *a, struct value *out,
                   struct errmsg *e)
{
    const char *type;
    json_t *v;

    if (!json_is_object(av))
        return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
    if (json_object_size(av) == 0)
        return errmsg_set(e, CR_EINVAL,
                          INVALID "Supplied AttributeValue is empty, must contain exactly one of "
                                  "the supported datatypes");
    if (json_object_size(av) > 1)
        return errmsg_set(e, CR_EINVAL,
                          INVALID "Supplied AttributeValue has more than one datatypes set, must "
                                  "contain exactly one of the supported datatypes");
    json_object_foreach((json_t *)av, type, v)
    {
        if (strcmp(type, "S") == 0 || strcmp(type, "N") == 0 || strcmp(type, "B") == 0)
            return scalar(type[0], v, a, out, e);
        if (strcmp(type, "SS") == 0 || strcmp(type, "NS") == 0 || strcmp(type, "BS") == 0)
            return set(type, v, a, out, e);
        if (strcmp(type, "NULL") == 0) {
            if (!json_is_boolean(v))
                return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
            if (!json_is_true(v))
                return errmsg_set(e, CR_EINVAL,
                                  INVALID "Null attribute value types must have the value of true");
            *out = value_null();
            return 0;
        }
        if (strcmp(type, "BOOL") == 0) {
            if (!json_is_boolean(v))
                return errmsg_set(e, CR_EPROTO, "Unexpected value type in payload");
            *out = value_bool(json_is_true(v));
            return 0;
        }
        if (strcmp(type, "M") == 0 || strcmp(type, "L") == 0) {
            if (depth + 1 >= CR_MAX_DEPTH)
                return errmsg_set(e, CR_ENESTING, "Nesting Levels have exceeded supported limits");
            return type[0] == 'M' ? map(v, depth + 1, a, out, e) : list(v, depth + 1, a, out, e);
        }
    }
    return errmsg_set(e, CR_EINVAL,
                      INVALID "Supplied AttributeValue is empty, must contain exactly one of the "
                              "supported datatypes");
}

int ddb_av_to_value(const json_t *av, struct cr_arena *a, struct value *out, struct errmsg *e)
{
    return convert(av, 0, a, out, e);
}

int ddb_item_to_value(const json_t *item, struct cr_arena *a, struct value *out, struct errmsg *e)
{
    return map(item, 0, a, out, e);
}

static json_t *number_json(const struct value *v)
{
    struct decimal d;
    char text[CR_DECIMAL_TEXT_MAX];

    if (v->type == VT_INT)
        decimal_from_int64(v->u.i, &d);
    else if (v->type == VT_DOUBLE)
        decimal_from_double_wide(v->u.d, &d);
    else
        d = v->u.dec;
    decimal_format(&d, text, sizeof text);
    return json_string(text);
}

static json_t *timestamp_json(const struct value *v)
{
    char text[64];
    struct tm tm;
    time_t t = (time_t)v->u.ts.sec;

    if (!gmtime_r(&t, &tm))
        return json_string("");
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)v->u.ts.nsec);
    return json_string(text);
}

/* The payload of an AttributeValue: what goes under its type key. */
static json_t *payload(const struct value *v, const char **type)
{
    json_t *j;

    switch (v->type) {
    case VT_NULL:
        *type = "NULL";
        return json_true();
    case VT_BOOL:
        *type = "BOOL";
        return json_boolean(v->u.b);
    case VT_INT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        *type = "N";
        return number_json(v);
    case VT_STRING:
    case VT_REF:
        *type = "S";
        return json_stringn(v->u.s.ptr, v->u.s.len);
    case VT_BYTES:
        *type = "B";
        return b64_encode((const uint8_t *)v->u.s.ptr, v->u.s.len);
    case VT_TIMESTAMP:
        *type = "S";
        return timestamp_json(v);
    case VT_GEOPOINT: {
        char lat[32], lng[32];

        *type = "M";
        snprintf(lat, sizeof lat, "%.17g", v->u.geo.lat);
        snprintf(lng, sizeof lng, "%.17g", v->u.geo.lng);
        return json_pack("{s:{s:s},s:{s:s}}", "latitude", "N", lat, "longitude", "N", lng);
    }
    case VT_MAP:
        *type = "M";
        return ddb_item_from_value(v);
    case VT_ARRAY:
    case VT_SS:
    case VT_NS:
    case VT_BS:
        *type = v->type == VT_ARRAY ? "L"
                : v->type == VT_SS  ? "SS"
                : v->type == VT_NS  ? "NS"
                                    : "BS";
        j = json_array();
        for (size_t i = 0; j && i < v->u.arr.n; i++) {
            const char *t;
            json_t *el = v->type == VT_ARRAY ? ddb_av_from_value(&v->u.arr.items[i])
                                             : payload(&v->u.arr.items[i], &t);
            if (!el || json_array_append_new(j, el) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    }
    return NULL;
}

json_t *ddb_av_from_value(const struct value *v)
{
    const char *type = "NULL";
    json_t *p = payload(v, &type);
    json_t *o = p ? json_object() : NULL;

    if (!o) {
        json_decref(p);
        return NULL;
    }
    if (json_object_set_new(o, type, p) < 0) { /* set_new consumes p even when it fails */
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ddb_item_from_value(const struct value *map)
{
    json_t *o;

    if (map->type != VT_MAP)
        return NULL;
    o = json_object();
    for (size_t i = 0; o && i < map->u.map.n; i++) {
        const struct value_field *f = &map->u.map.fields[i];
        json_t *av = ddb_av_from_value(f->value);

        if (!av || json_object_setn_new(o, f->name, f->name_len, av) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
