/*
 * struct cirrus_value <-> Cirrus__Value. Encoding borrows the caller's strings and allocates
 * only from the request's arena (freed in one call after packing); decoding deep-copies into
 * malloc'd values because results outlive the unpacked response. Both bound nesting depth.
 */
#include <string.h>

#include "client/pbvalue.h"

static Cirrus__Value *new_value(struct cr_arena *a)
{
    static const Cirrus__Value init = CIRRUS__VALUE__INIT;
    Cirrus__Value *pv = cr_arena_alloc(a, sizeof(*pv));

    if (pv != NULL)
        *pv = init;
    return pv;
}

static int encode_at(struct cr_arena *a, const struct cirrus_value *v, Cirrus__Value **out,
                     int depth);

static int encode_map_at(struct cr_arena *a, const struct cirrus_value *v, Cirrus__MapValue **out,
                         int depth)
{
    static const Cirrus__MapValue map_init = CIRRUS__MAP_VALUE__INIT;
    static const Cirrus__Field field_init = CIRRUS__FIELD__INIT;
    Cirrus__MapValue *pm;
    size_t i, n;
    int rc;

    if (v->type != CIRRUS_MAP)
        return CR_EINVAL;
    n = v->u.map.len;
    pm = cr_arena_alloc(a, sizeof(*pm));
    if (pm == NULL)
        return CR_ENOMEM;
    *pm = map_init;
    pm->n_fields = n;
    if (n > 0 && (pm->fields = cr_arena_alloc(a, n * sizeof(*pm->fields))) == NULL)
        return CR_ENOMEM;
    for (i = 0; i < n; i++) {
        Cirrus__Field *f = cr_arena_alloc(a, sizeof(*f));

        if (f == NULL)
            return CR_ENOMEM;
        *f = field_init;
        f->name = v->u.map.fields[i].name;
        rc = encode_at(a, &v->u.map.fields[i].value, &f->value, depth + 1);
        if (rc != 0)
            return rc;
        pm->fields[i] = f;
    }
    *out = pm;
    return 0;
}

static int set_element_ok(enum cirrus_type set, enum cirrus_type elem)
{
    switch (set) {
    case CIRRUS_STRING_SET:
        return elem == CIRRUS_STRING;
    case CIRRUS_NUMBER_SET:
        return elem == CIRRUS_INT || elem == CIRRUS_DOUBLE || elem == CIRRUS_DECIMAL;
    case CIRRUS_BINARY_SET:
        return elem == CIRRUS_BYTES;
    default:
        return 1;
    }
}

static int encode_list(struct cr_arena *a, const struct cirrus_value *v, Cirrus__ArrayValue **out,
                       int depth)
{
    static const Cirrus__ArrayValue init = CIRRUS__ARRAY_VALUE__INIT;
    Cirrus__ArrayValue *pa = cr_arena_alloc(a, sizeof(*pa));
    size_t i, n = v->u.list.len;
    int rc;

    if (pa == NULL)
        return CR_ENOMEM;
    *pa = init;
    pa->n_values = n;
    if (n > 0 && (pa->values = cr_arena_alloc(a, n * sizeof(*pa->values))) == NULL)
        return CR_ENOMEM;
    for (i = 0; i < n; i++) {
        if (!set_element_ok(v->type, v->u.list.items[i].type))
            return CR_ETYPE;
        rc = encode_at(a, &v->u.list.items[i], &pa->values[i], depth + 1);
        if (rc != 0)
            return rc;
    }
    *out = pa;
    return 0;
}

static int encode_at(struct cr_arena *a, const struct cirrus_value *v, Cirrus__Value **out,
                     int depth)
{
    static const Cirrus__Timestamp ts_init = CIRRUS__TIMESTAMP__INIT;
    static const Cirrus__GeoPoint geo_init = CIRRUS__GEO_POINT__INIT;
    Cirrus__Value *pv;

    if (depth > CIRRUS_MAX_DEPTH)
        return CR_ENESTING;
    pv = new_value(a);
    if (pv == NULL)
        return CR_ENOMEM;
    *out = pv;
    switch (v->type) {
    case CIRRUS_NULL:
        pv->kind_case = CIRRUS__VALUE__KIND_NULL_VALUE;
        pv->null_value = 1;
        return 0;
    case CIRRUS_BOOL:
        pv->kind_case = CIRRUS__VALUE__KIND_BOOL_VALUE;
        pv->bool_value = v->u.b != 0;
        return 0;
    case CIRRUS_INT:
        pv->kind_case = CIRRUS__VALUE__KIND_INT_VALUE;
        pv->int_value = v->u.i;
        return 0;
    case CIRRUS_DOUBLE:
        pv->kind_case = CIRRUS__VALUE__KIND_DOUBLE_VALUE;
        pv->double_value = v->u.d;
        return 0;
    case CIRRUS_DECIMAL:
        pv->kind_case = CIRRUS__VALUE__KIND_DECIMAL_VALUE;
        pv->decimal_value = v->u.str.ptr;
        return 0;
    case CIRRUS_STRING:
        pv->kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
        pv->string_value.data = (uint8_t *)v->u.str.ptr;
        pv->string_value.len = v->u.str.len;
        return 0;
    case CIRRUS_REF:
        pv->kind_case = CIRRUS__VALUE__KIND_REFERENCE_VALUE;
        pv->reference_value = v->u.str.ptr;
        return 0;
    case CIRRUS_BYTES:
        pv->kind_case = CIRRUS__VALUE__KIND_BYTES_VALUE;
        pv->bytes_value.data = (uint8_t *)v->u.str.ptr;
        pv->bytes_value.len = v->u.str.len;
        return 0;
    case CIRRUS_TIMESTAMP:
        pv->kind_case = CIRRUS__VALUE__KIND_TIMESTAMP_VALUE;
        if ((pv->timestamp_value = cr_arena_alloc(a, sizeof(Cirrus__Timestamp))) == NULL)
            return CR_ENOMEM;
        *pv->timestamp_value = ts_init;
        pv->timestamp_value->seconds = v->u.ts.sec;
        pv->timestamp_value->nanos = v->u.ts.nsec;
        return 0;
    case CIRRUS_GEOPOINT:
        pv->kind_case = CIRRUS__VALUE__KIND_GEOPOINT_VALUE;
        if ((pv->geopoint_value = cr_arena_alloc(a, sizeof(Cirrus__GeoPoint))) == NULL)
            return CR_ENOMEM;
        *pv->geopoint_value = geo_init;
        pv->geopoint_value->latitude = v->u.geo.lat;
        pv->geopoint_value->longitude = v->u.geo.lon;
        return 0;
    case CIRRUS_ARRAY:
        pv->kind_case = CIRRUS__VALUE__KIND_ARRAY_VALUE;
        return encode_list(a, v, &pv->array_value, depth);
    case CIRRUS_STRING_SET:
        pv->kind_case = CIRRUS__VALUE__KIND_STRING_SET;
        return encode_list(a, v, &pv->string_set, depth);
    case CIRRUS_NUMBER_SET:
        pv->kind_case = CIRRUS__VALUE__KIND_NUMBER_SET;
        return encode_list(a, v, &pv->number_set, depth);
    case CIRRUS_BINARY_SET:
        pv->kind_case = CIRRUS__VALUE__KIND_BINARY_SET;
        return encode_list(a, v, &pv->binary_set, depth);
    case CIRRUS_MAP:
        pv->kind_case = CIRRUS__VALUE__KIND_MAP_VALUE;
        return encode_map_at(a, v, &pv->map_value, depth);
    }
    return CR_EINVAL;
}

int pbvalue_encode(struct cr_arena *a, const struct cirrus_value *v, Cirrus__Value **out)
{
    return encode_at(a, v, out, 0);
}

int pbvalue_encode_map(struct cr_arena *a, const struct cirrus_value *v, Cirrus__MapValue **out)
{
    return encode_map_at(a, v, out, 0);
}

static int decode_at(const Cirrus__Value *pv, struct cirrus_value *out, int depth);

static int decode_map_at(const Cirrus__MapValue *pm, struct cirrus_value *out, int depth)
{
    struct cirrus_value tmp;
    size_t i;
    int rc;

    cirrus_value_container(out, CIRRUS_MAP);
    if (depth > CIRRUS_MAX_DEPTH)
        return CR_ENESTING;
    for (i = 0; pm != NULL && i < pm->n_fields; i++) {
        rc = decode_at(pm->fields[i]->value, &tmp, depth + 1);
        if (rc == 0 && (rc = cirrus_map_set(out, pm->fields[i]->name, &tmp)) != 0)
            cirrus_value_clear(&tmp);
        if (rc != 0) {
            cirrus_value_clear(out);
            return rc;
        }
    }
    return 0;
}

static int decode_list(const Cirrus__ArrayValue *pa, enum cirrus_type type,
                       struct cirrus_value *out, int depth)
{
    struct cirrus_value tmp;
    size_t i;
    int rc;

    cirrus_value_container(out, type);
    for (i = 0; pa != NULL && i < pa->n_values; i++) {
        rc = decode_at(pa->values[i], &tmp, depth + 1);
        if (rc == 0 && (rc = cirrus_list_append(out, &tmp)) != 0)
            cirrus_value_clear(&tmp);
        if (rc != 0) {
            cirrus_value_clear(out);
            return rc;
        }
    }
    return 0;
}

static int decode_at(const Cirrus__Value *pv, struct cirrus_value *out, int depth)
{
    cirrus_value_null(out);
    if (depth > CIRRUS_MAX_DEPTH)
        return CR_ENESTING;
    if (pv == NULL)
        return 0;
    switch (pv->kind_case) {
    case CIRRUS__VALUE__KIND_BOOL_VALUE:
        cirrus_value_bool(out, pv->bool_value);
        return 0;
    case CIRRUS__VALUE__KIND_INT_VALUE:
        cirrus_value_int(out, pv->int_value);
        return 0;
    case CIRRUS__VALUE__KIND_DOUBLE_VALUE:
        cirrus_value_double(out, pv->double_value);
        return 0;
    case CIRRUS__VALUE__KIND_DECIMAL_VALUE:
        return cirrus_value_decimal(out, pv->decimal_value);
    case CIRRUS__VALUE__KIND_STRING_VALUE:
        return cirrus_value_string(out, (const char *)pv->string_value.data, pv->string_value.len);
    case CIRRUS__VALUE__KIND_REFERENCE_VALUE:
        return cirrus_value_ref(out, pv->reference_value);
    case CIRRUS__VALUE__KIND_BYTES_VALUE:
        return cirrus_value_bytes(out, pv->bytes_value.data, pv->bytes_value.len);
    case CIRRUS__VALUE__KIND_TIMESTAMP_VALUE:
        if (pv->timestamp_value == NULL)
            cirrus_value_timestamp(out, 0, 0);
        else
            cirrus_value_timestamp(out, pv->timestamp_value->seconds, pv->timestamp_value->nanos);
        return 0;
    case CIRRUS__VALUE__KIND_GEOPOINT_VALUE:
        if (pv->geopoint_value == NULL)
            cirrus_value_geopoint(out, 0, 0);
        else
            cirrus_value_geopoint(out, pv->geopoint_value->latitude, pv->geopoint_value->longitude);
        return 0;
    case CIRRUS__VALUE__KIND_ARRAY_VALUE:
        return decode_list(pv->array_value, CIRRUS_ARRAY, out, depth);
    case CIRRUS__VALUE__KIND_STRING_SET:
        return decode_list(pv->string_set, CIRRUS_STRING_SET, out, depth);
    case CIRRUS__VALUE__KIND_NUMBER_SET:
        return decode_list(pv->number_set, CIRRUS_NUMBER_SET, out, depth);
    case CIRRUS__VALUE__KIND_BINARY_SET:
        return decode_list(pv->binary_set, CIRRUS_BINARY_SET, out, depth);
    case CIRRUS__VALUE__KIND_MAP_VALUE:
        return decode_map_at(pv->map_value, out, depth);
    default:
        return 0;
    }
}

int pbvalue_decode(const Cirrus__Value *pv, struct cirrus_value *out)
{
    return decode_at(pv, out, 0);
}

int pbvalue_decode_map(const Cirrus__MapValue *pm, struct cirrus_value *out)
{
    return decode_map_at(pm, out, 0);
}
