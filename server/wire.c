/*
 * protobuf <-> storage structs. Validates what only the wire form can get wrong (missing kinds,
 * depth, set element types, decimal text, UTF-8); storage validates the rest (duplicates, item
 * and key sizes) before anything is proposed. Must not touch storage state or do I/O.
 */
#include "server/wire.h"

#include "common/error.h"
#include "server/ddb_hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *arena_alloc(void *data, size_t size)
{
    return cr_arena_alloc(data, size);
}

static void arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void wire_allocator(ProtobufCAllocator *pa, struct cr_arena *a)
{
    pa->alloc = arena_alloc;
    pa->free = arena_free;
    pa->allocator_data = a;
}

bool wire_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end;

    if (n == 0)
        return true; /* s may be NULL: protobuf-c leaves empty bytes fields without data */
    end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len;
        uint32_t cp;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

static int string_from_pb(const char *s, size_t n, enum value_type t, struct value *out,
                          struct errmsg *e)
{
    if (!wire_utf8_valid(s, n))
        return errmsg_set(e, CR_EINVAL, "string value is not valid UTF-8");
    out->type = t;
    out->u.s.ptr = s ? s : "";
    out->u.s.len = n;
    return 0;
}

static int decimal_from_pb(const char *s, struct value *out, struct errmsg *e)
{
    size_t n = strlen(s);
    int rc = decimal_parse(s, n, &out->u.dec);

    if (rc == CR_ENUMBER)
        return errmsg_set(e, rc,
                          "number '%.64s' has more than %d significant digits or is out "
                          "of range",
                          s, CR_DECIMAL_DIGITS);
    if (rc < 0)
        return errmsg_set(e, rc, "'%.64s' is not a number", s);
    out->type = VT_DECIMAL;
    return 0;
}

static int value_from_pb(const Cirrus__Value *pb, struct cr_arena *a, int depth, struct value *out,
                         struct errmsg *e);

static int map_from_pb(const Cirrus__MapValue *pb, struct cr_arena *a, int depth, struct value *out,
                       struct errmsg *e)
{
    struct value_field *fields = NULL;
    struct value *vals = NULL;
    int rc;

    if (depth + 1 > CR_MAX_DEPTH)
        return errmsg_set(e, CR_ENESTING, "value nesting exceeds %d levels", CR_MAX_DEPTH);
    if (pb->n_fields) {
        fields = cr_arena_alloc(a, pb->n_fields * sizeof *fields);
        vals = cr_arena_alloc(a, pb->n_fields * sizeof *vals);
        if (!fields || !vals)
            return errmsg_set(e, CR_ENOMEM, "out of memory decoding a map");
    }
    for (size_t i = 0; i < pb->n_fields; i++) {
        const Cirrus__Field *f = pb->fields[i];
        size_t n = strlen(f->name);

        if (!wire_utf8_valid(f->name, n))
            return errmsg_set(e, CR_EINVAL, "map field name is not valid UTF-8");
        if (!f->value)
            return errmsg_set(e, CR_EINVAL, "map field '%.64s' has no value", f->name);
        rc = value_from_pb(f->value, a, depth + 1, &vals[i], e);
        if (rc < 0)
            return rc;
        fields[i].name = f->name;
        fields[i].name_len = n;
        fields[i].value = &vals[i];
    }
    out->type = VT_MAP;
    out->u.map.fields = fields;
    out->u.map.n = pb->n_fields;
    return 0;
}

static const char *set_name(Cirrus__Value__KindCase k)
{
    return k == CIRRUS__VALUE__KIND_STRING_SET   ? "string set"
           : k == CIRRUS__VALUE__KIND_NUMBER_SET ? "number set"
                                                 : "binary set";
}

static bool set_element_ok(Cirrus__Value__KindCase set, Cirrus__Value__KindCase el)
{
    switch (set) {
    case CIRRUS__VALUE__KIND_STRING_SET:
        return el == CIRRUS__VALUE__KIND_STRING_VALUE;
    case CIRRUS__VALUE__KIND_NUMBER_SET:
        return el == CIRRUS__VALUE__KIND_INT_VALUE || el == CIRRUS__VALUE__KIND_DOUBLE_VALUE ||
               el == CIRRUS__VALUE__KIND_DECIMAL_VALUE;
    default:
        return el == CIRRUS__VALUE__KIND_BYTES_VALUE;
    }
}

/* ARRAY (depth-counted) or one of the three sets (flat: elements are scalars). */
static int array_from_pb(const Cirrus__ArrayValue *pb, Cirrus__Value__KindCase kind,
                         struct cr_arena *a, int depth, struct value *out, struct errmsg *e)
{
    bool is_set = kind != CIRRUS__VALUE__KIND_ARRAY_VALUE;
    struct value *items = NULL;
    int rc;

    if (!pb)
        return errmsg_set(e, CR_EINVAL, "array or set value has no elements message");
    if (!is_set && depth + 1 > CR_MAX_DEPTH)
        return errmsg_set(e, CR_ENESTING, "value nesting exceeds %d levels", CR_MAX_DEPTH);
    if (pb->n_values) {
        items = cr_arena_alloc(a, pb->n_values * sizeof *items);
        if (!items)
            return errmsg_set(e, CR_ENOMEM, "out of memory decoding an array");
    }
    for (size_t i = 0; i < pb->n_values; i++) {
        const Cirrus__Value *el = pb->values[i];

        if (is_set && !set_element_ok(kind, el->kind_case))
            return errmsg_set(e, CR_ETYPE, "%s element %zu has the wrong type", set_name(kind), i);
        rc = value_from_pb(el, a, depth + 1, &items[i], e);
        if (rc < 0)
            return rc;
    }
    out->type = kind == CIRRUS__VALUE__KIND_ARRAY_VALUE  ? VT_ARRAY
                : kind == CIRRUS__VALUE__KIND_STRING_SET ? VT_SS
                : kind == CIRRUS__VALUE__KIND_NUMBER_SET ? VT_NS
                                                         : VT_BS;
    out->u.arr.items = items;
    out->u.arr.n = pb->n_values;
    return 0;
}

/* depth: the number of arrays and maps that enclose pb. */
static int value_from_pb(const Cirrus__Value *pb, struct cr_arena *a, int depth, struct value *out,
                         struct errmsg *e)
{
    memset(out, 0, sizeof *out);
    switch (pb->kind_case) {
    case CIRRUS__VALUE__KIND_NULL_VALUE:
        out->type = VT_NULL;
        return 0;
    case CIRRUS__VALUE__KIND_BOOL_VALUE:
        *out = value_bool(pb->bool_value);
        return 0;
    case CIRRUS__VALUE__KIND_INT_VALUE:
        *out = value_int(pb->int_value);
        return 0;
    case CIRRUS__VALUE__KIND_DOUBLE_VALUE:
        *out = value_double(pb->double_value);
        return 0;
    case CIRRUS__VALUE__KIND_DECIMAL_VALUE:
        return decimal_from_pb(pb->decimal_value, out, e);
    case CIRRUS__VALUE__KIND_STRING_VALUE:
        return string_from_pb((const char *)pb->string_value.data, pb->string_value.len, VT_STRING,
                              out, e);
    case CIRRUS__VALUE__KIND_REFERENCE_VALUE:
        return string_from_pb(pb->reference_value, strlen(pb->reference_value), VT_REF, out, e);
    case CIRRUS__VALUE__KIND_BYTES_VALUE:
        *out = value_bytes(pb->bytes_value.data ? (const void *)pb->bytes_value.data : "",
                           pb->bytes_value.len);
        return 0;
    case CIRRUS__VALUE__KIND_TIMESTAMP_VALUE:
        if (!pb->timestamp_value || pb->timestamp_value->nanos < 0 ||
            pb->timestamp_value->nanos > 999999999)
            return errmsg_set(e, CR_EINVAL, "timestamp nanos must be in 0..999999999");
        out->type = VT_TIMESTAMP;
        out->u.ts.sec = pb->timestamp_value->seconds;
        out->u.ts.nsec = pb->timestamp_value->nanos;
        return 0;
    case CIRRUS__VALUE__KIND_GEOPOINT_VALUE: {
        const Cirrus__GeoPoint *g = pb->geopoint_value;
        /* Written as negated ranges so that NaN fails too. */
        if (!g || !(g->latitude >= -90.0 && g->latitude <= 90.0) ||
            !(g->longitude >= -180.0 && g->longitude <= 180.0))
            return errmsg_set(e, CR_EINVAL,
                              "geopoint needs latitude in [-90, 90] and longitude in [-180, 180]");
        out->type = VT_GEOPOINT;
        out->u.geo.lat = g->latitude;
        out->u.geo.lng = g->longitude;
        return 0;
    }
    case CIRRUS__VALUE__KIND_MAP_VALUE:
        if (!pb->map_value)
            return errmsg_set(e, CR_EINVAL, "map value has no fields message");
        return map_from_pb(pb->map_value, a, depth, out, e);
    case CIRRUS__VALUE__KIND_ARRAY_VALUE:
        return array_from_pb(pb->array_value, pb->kind_case, a, depth, out, e);
    case CIRRUS__VALUE__KIND_STRING_SET:
        return array_from_pb(pb->string_set, pb->kind_case, a, depth, out, e);
    case CIRRUS__VALUE__KIND_NUMBER_SET:
        return array_from_pb(pb->number_set, pb->kind_case, a, depth, out, e);
    case CIRRUS__VALUE__KIND_BINARY_SET:
        return array_from_pb(pb->binary_set, pb->kind_case, a, depth, out, e);
    default:
        return errmsg_set(e, CR_EINVAL, "value has no kind set (or one unknown to this server)");
    }
}

int wire_value_from_pb(const Cirrus__Value *pb, struct cr_arena *a, struct value *out,
                       struct errmsg *e)
{
    return value_from_pb(pb, a, 0, out, e);
}

int wire_map_from_pb(const Cirrus__MapValue *pb, struct cr_arena *a, struct value *out,
                     struct errmsg *e)
{
    memset(out, 0, sizeof *out);
    return map_from_pb(pb, a, 0, out, e);
}

/* ---- struct value -> protobuf ---------------------------------------------------------- */

static int array_to_pb(const struct value *v, struct cr_arena *a, Cirrus__ArrayValue **out)
{
    Cirrus__ArrayValue *arr = cr_arena_alloc(a, sizeof *arr);
    int rc;

    if (!arr)
        return CR_ENOMEM;
    cirrus__array_value__init(arr);
    arr->n_values = v->u.arr.n;
    if (v->u.arr.n) {
        arr->values = cr_arena_alloc(a, v->u.arr.n * sizeof *arr->values);
        if (!arr->values)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < v->u.arr.n; i++) {
        rc = wire_value_to_pb(&v->u.arr.items[i], a, &arr->values[i]);
        if (rc < 0)
            return rc;
    }
    *out = arr;
    return 0;
}

static int fields_to_pb(const struct value *v, struct cr_arena *a, Cirrus__MapValue **out)
{
    Cirrus__MapValue *m = cr_arena_alloc(a, sizeof *m);
    int rc;

    if (!m)
        return CR_ENOMEM;
    cirrus__map_value__init(m);
    m->n_fields = v->u.map.n;
    if (v->u.map.n) {
        m->fields = cr_arena_alloc(a, v->u.map.n * sizeof *m->fields);
        if (!m->fields)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < v->u.map.n; i++) {
        const struct value_field *vf = &v->u.map.fields[i];
        Cirrus__Field *f = cr_arena_alloc(a, sizeof *f);

        if (!f)
            return CR_ENOMEM;
        cirrus__field__init(f);
        f->name = cr_arena_strndup(a, vf->name, vf->name_len);
        if (!f->name)
            return CR_ENOMEM;
        rc = wire_value_to_pb(vf->value, a, &f->value);
        if (rc < 0)
            return rc;
        m->fields[i] = f;
    }
    *out = m;
    return 0;
}

int wire_value_to_pb(const struct value *v, struct cr_arena *a, Cirrus__Value **out)
{
    Cirrus__Value *pb = cr_arena_alloc(a, sizeof *pb);
    char text[CR_DECIMAL_TEXT_MAX];
    size_t n;

    if (!pb)
        return CR_ENOMEM;
    cirrus__value__init(pb);
    *out = pb;
    switch (v->type) {
    case VT_NULL:
        pb->kind_case = CIRRUS__VALUE__KIND_NULL_VALUE;
        pb->null_value = 1;
        return 0;
    case VT_BOOL:
        pb->kind_case = CIRRUS__VALUE__KIND_BOOL_VALUE;
        pb->bool_value = v->u.b;
        return 0;
    case VT_INT:
        pb->kind_case = CIRRUS__VALUE__KIND_INT_VALUE;
        pb->int_value = v->u.i;
        return 0;
    case VT_DOUBLE:
        pb->kind_case = CIRRUS__VALUE__KIND_DOUBLE_VALUE;
        pb->double_value = v->u.d;
        return 0;
    case VT_DECIMAL:
        n = decimal_format(&v->u.dec, text, sizeof text);
        if (n >= sizeof text)
            return CR_EINTERNAL;
        pb->kind_case = CIRRUS__VALUE__KIND_DECIMAL_VALUE;
        pb->decimal_value = cr_arena_strndup(a, text, n);
        return pb->decimal_value ? 0 : CR_ENOMEM;
    case VT_STRING:
        pb->kind_case = CIRRUS__VALUE__KIND_STRING_VALUE;
        pb->string_value.data = (uint8_t *)v->u.s.ptr;
        pb->string_value.len = v->u.s.len;
        return 0;
    case VT_REF:
        pb->kind_case = CIRRUS__VALUE__KIND_REFERENCE_VALUE;
        pb->reference_value = cr_arena_strndup(a, v->u.s.ptr, v->u.s.len);
        return pb->reference_value ? 0 : CR_ENOMEM;
    case VT_BYTES:
        pb->kind_case = CIRRUS__VALUE__KIND_BYTES_VALUE;
        pb->bytes_value.data = (uint8_t *)v->u.s.ptr;
        pb->bytes_value.len = v->u.s.len;
        return 0;
    case VT_TIMESTAMP:
        pb->kind_case = CIRRUS__VALUE__KIND_TIMESTAMP_VALUE;
        pb->timestamp_value = cr_arena_alloc(a, sizeof *pb->timestamp_value);
        if (!pb->timestamp_value)
            return CR_ENOMEM;
        cirrus__timestamp__init(pb->timestamp_value);
        pb->timestamp_value->seconds = v->u.ts.sec;
        pb->timestamp_value->nanos = v->u.ts.nsec;
        return 0;
    case VT_GEOPOINT:
        pb->kind_case = CIRRUS__VALUE__KIND_GEOPOINT_VALUE;
        pb->geopoint_value = cr_arena_alloc(a, sizeof *pb->geopoint_value);
        if (!pb->geopoint_value)
            return CR_ENOMEM;
        cirrus__geo_point__init(pb->geopoint_value);
        pb->geopoint_value->latitude = v->u.geo.lat;
        pb->geopoint_value->longitude = v->u.geo.lng;
        return 0;
    case VT_ARRAY:
        pb->kind_case = CIRRUS__VALUE__KIND_ARRAY_VALUE;
        return array_to_pb(v, a, &pb->array_value);
    case VT_SS:
        pb->kind_case = CIRRUS__VALUE__KIND_STRING_SET;
        return array_to_pb(v, a, &pb->string_set);
    case VT_NS:
        pb->kind_case = CIRRUS__VALUE__KIND_NUMBER_SET;
        return array_to_pb(v, a, &pb->number_set);
    case VT_BS:
        pb->kind_case = CIRRUS__VALUE__KIND_BINARY_SET;
        return array_to_pb(v, a, &pb->binary_set);
    case VT_MAP:
        pb->kind_case = CIRRUS__VALUE__KIND_MAP_VALUE;
        return fields_to_pb(v, a, &pb->map_value);
    }
    return CR_EINVAL;
}

int wire_map_to_pb(const struct value *v, struct cr_arena *a, Cirrus__MapValue **out)
{
    if (v->type != VT_MAP)
        return CR_ETYPE;
    return fields_to_pb(v, a, out);
}

/* ---- tables ---------------------------------------------------------------------------- */

static int key_attr_from_pb(const Cirrus__KeyAttribute *pb, const char *which, char *name,
                            enum key_type *type, struct errmsg *e)
{
    size_t n = strlen(pb->name);

    if (n == 0 || n > CR_MAX_NAME_LEN || !wire_utf8_valid(pb->name, n))
        return errmsg_set(e, CR_ESCHEMA, "%s key attribute name must be 1..%d bytes of UTF-8",
                          which, CR_MAX_NAME_LEN);
    switch (pb->type) {
    case CIRRUS__KEY_TYPE__KEY_TYPE_S:
        *type = KEY_S;
        break;
    case CIRRUS__KEY_TYPE__KEY_TYPE_N:
        *type = KEY_N;
        break;
    case CIRRUS__KEY_TYPE__KEY_TYPE_B:
        *type = KEY_B;
        break;
    default:
        return errmsg_set(e, CR_ESCHEMA, "%s key type %d is not S, N or B", which, (int)pb->type);
    }
    memcpy(name, pb->name, n + 1);
    return 0;
}

int wire_schema_from_pb(const Cirrus__TableSchema *pb, struct table_def *out, struct errmsg *e)
{
    size_t n = strlen(pb->name);
    int rc;

    memset(out, 0, sizeof *out);
    if (n > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME, "table name is %zu bytes; the limit is %d", n,
                          CR_MAX_NAME_LEN);
    memcpy(out->name, pb->name, n + 1);
    if (!pb->partition_key)
        return errmsg_set(e, CR_ESCHEMA, "table schema has no partition key");
    rc = key_attr_from_pb(pb->partition_key, "partition", out->pk_name, &out->pk_type, e);
    if (rc < 0)
        return rc;
    if (pb->sort_key) {
        rc = key_attr_from_pb(pb->sort_key, "sort", out->sk_name, &out->sk_type, e);
        if (rc < 0)
            return rc;
        if (strcmp(out->sk_name, out->pk_name) == 0)
            return errmsg_set(e, CR_ESCHEMA, "sort key '%s' has the partition key's name",
                              out->sk_name);
        out->has_sk = true;
    }
    return 0;
}

static Cirrus__KeyType key_type_to_pb(enum key_type t)
{
    return t == KEY_N   ? CIRRUS__KEY_TYPE__KEY_TYPE_N
           : t == KEY_B ? CIRRUS__KEY_TYPE__KEY_TYPE_B
                        : CIRRUS__KEY_TYPE__KEY_TYPE_S;
}

static Cirrus__KeyAttribute *key_attr_to_pb(const char *name, enum key_type t, struct cr_arena *a)
{
    Cirrus__KeyAttribute *k = cr_arena_alloc(a, sizeof *k);

    if (!k)
        return NULL;
    cirrus__key_attribute__init(k);
    k->name = cr_arena_strndup(a, name, strlen(name));
    k->type = key_type_to_pb(t);
    return k->name ? k : NULL;
}

int wire_schema_to_pb(const struct table_def *def, struct cr_arena *a, Cirrus__TableSchema **out)
{
    Cirrus__TableSchema *s = cr_arena_alloc(a, sizeof *s);

    if (!s)
        return CR_ENOMEM;
    cirrus__table_schema__init(s);
    s->name = cr_arena_strndup(a, def->name, strlen(def->name));
    s->partition_key = key_attr_to_pb(def->pk_name, def->pk_type, a);
    if (!s->name || !s->partition_key)
        return CR_ENOMEM;
    if (def->has_sk) {
        s->sort_key = key_attr_to_pb(def->sk_name, def->sk_type, a);
        if (!s->sort_key)
            return CR_ENOMEM;
    }
    *out = s;
    return 0;
}

static int index_to_pb(const struct index_def *x, struct cr_arena *a, Cirrus__IndexSchema **out)
{
    Cirrus__IndexSchema *pb = cr_arena_alloc(a, sizeof *pb);

    if (!pb)
        return CR_ENOMEM;
    cirrus__index_schema__init(pb);
    pb->name = cr_arena_strndup(a, x->key.name, strlen(x->key.name));
    pb->kind = x->kind == INDEX_LSI ? CIRRUS__INDEX_KIND__INDEX_KIND_LSI
                                    : CIRRUS__INDEX_KIND__INDEX_KIND_GSI;
    pb->partition_key = key_attr_to_pb(x->key.pk_name, x->key.pk_type, a);
    if (!pb->name || !pb->partition_key)
        return CR_ENOMEM;
    if (x->key.has_sk && !(pb->sort_key = key_attr_to_pb(x->key.sk_name, x->key.sk_type, a)))
        return CR_ENOMEM;
    pb->projection =
        x->projection == PROJ_KEYS_ONLY ? CIRRUS__INDEX_PROJECTION__INDEX_PROJECTION_KEYS_ONLY
        : x->projection == PROJ_INCLUDE ? CIRRUS__INDEX_PROJECTION__INDEX_PROJECTION_INCLUDE
                                        : CIRRUS__INDEX_PROJECTION__INDEX_PROJECTION_ALL;
    pb->n_include = x->n_include;
    if (x->n_include && !(pb->include = cr_arena_alloc(a, x->n_include * sizeof *pb->include)))
        return CR_ENOMEM;
    for (size_t i = 0; i < x->n_include; i++)
        if (!(pb->include[i] = cr_arena_strndup(a, x->include[i], strlen(x->include[i]))))
            return CR_ENOMEM;
    *out = pb;
    return 0;
}

/* The include names borrow from pb (unpacked into the entry's arena). */
static int index_from_pb(const Cirrus__IndexSchema *pb, struct index_def *out, struct errmsg *e)
{
    size_t n = strlen(pb->name);
    int rc;

    memset(out, 0, sizeof *out);
    if (n > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME, "index name is %zu bytes; the limit is %d", n,
                          CR_MAX_NAME_LEN);
    memcpy(out->key.name, pb->name, n + 1);
    if (pb->kind != CIRRUS__INDEX_KIND__INDEX_KIND_GSI &&
        pb->kind != CIRRUS__INDEX_KIND__INDEX_KIND_LSI)
        return errmsg_set(e, CR_ESCHEMA, "index kind %d is unknown", (int)pb->kind);
    out->kind = pb->kind == CIRRUS__INDEX_KIND__INDEX_KIND_LSI ? INDEX_LSI : INDEX_GSI;
    switch (pb->projection) {
    case CIRRUS__INDEX_PROJECTION__INDEX_PROJECTION_ALL:
        out->projection = PROJ_ALL;
        break;
    case CIRRUS__INDEX_PROJECTION__INDEX_PROJECTION_KEYS_ONLY:
        out->projection = PROJ_KEYS_ONLY;
        break;
    case CIRRUS__INDEX_PROJECTION__INDEX_PROJECTION_INCLUDE:
        out->projection = PROJ_INCLUDE;
        break;
    default:
        return errmsg_set(e, CR_ESCHEMA, "index projection %d is unknown", (int)pb->projection);
    }
    if (!pb->partition_key)
        return errmsg_set(e, CR_ESCHEMA, "index '%s' has no partition key", out->key.name);
    rc = key_attr_from_pb(pb->partition_key, "index partition", out->key.pk_name, &out->key.pk_type,
                          e);
    if (rc == 0 && pb->sort_key) {
        rc = key_attr_from_pb(pb->sort_key, "index sort", out->key.sk_name, &out->key.sk_type, e);
        out->key.has_sk = true;
    }
    if (rc < 0)
        return rc;
    if (pb->n_include > CR_MAX_PROJECTED)
        return errmsg_set(e, CR_ETOOMANY, "index '%s' projects %zu attributes; the limit is %d",
                          out->key.name, pb->n_include, CR_MAX_PROJECTED);
    for (size_t i = 0; i < pb->n_include; i++)
        if (strlen(pb->include[i]) == 0 || strlen(pb->include[i]) > CR_MAX_NAME_LEN)
            return errmsg_set(e, CR_ENAME, "projected attribute names must be 1..%d bytes",
                              CR_MAX_NAME_LEN);
    out->n_include = pb->n_include;
    out->include = (const char *const *)pb->include;
    return 0;
}

int wire_table_desc_to_pb(const struct table_def *def, const struct table_stats *stats,
                          struct cr_arena *a, Cirrus__TableDescription **out)
{
    Cirrus__TableDescription *d = cr_arena_alloc(a, sizeof *d);
    int rc;

    if (!d)
        return CR_ENOMEM;
    cirrus__table_description__init(d);
    rc = wire_schema_to_pb(def, a, &d->schema);
    if (rc < 0)
        return rc;
    d->table_id = def->id;
    d->created_ms = def->created_ms;
    d->created_index = def->created_index;
    if (stats) {
        d->item_count = stats->item_count;
        d->size_bytes = stats->size_bytes;
    }
    *out = d;
    return 0;
}

/* ---- conditions ------------------------------------------------------------------------ */

int wire_condition_from_pb(const Cirrus__WriteCondition *pb, struct cr_arena *a,
                           struct condition *out, struct errmsg *e)
{
    memset(out, 0, sizeof *out);
    out->type = COND_NONE;
    if (!pb)
        return 0;
    switch (pb->type) {
    case CIRRUS__CONDITION__CONDITION_NONE:
        return 0;
    case CIRRUS__CONDITION__CONDITION_EXISTS:
        out->type = COND_EXISTS;
        return 0;
    case CIRRUS__CONDITION__CONDITION_NOT_EXISTS:
        out->type = COND_NOT_EXISTS;
        return 0;
    case CIRRUS__CONDITION__CONDITION_EQUALS:
        out->type = COND_EQUALS;
        out->attr = pb->attribute;
        out->attr_len = strlen(pb->attribute);
        if (out->attr_len == 0)
            return errmsg_set(e, CR_EINVAL, "an EQUALS condition needs an attribute name");
        if (!pb->value)
            return errmsg_set(e, CR_EINVAL, "an EQUALS condition on '%.64s' needs a value",
                              pb->attribute);
        return wire_value_from_pb(pb->value, a, &out->value, e);
    default:
        return errmsg_set(e, CR_EINVAL, "condition type %d is unknown", (int)pb->type);
    }
}

static int condition_to_pb(const struct condition *c, struct cr_arena *a,
                           Cirrus__WriteCondition **out)
{
    Cirrus__WriteCondition *w;

    *out = NULL;
    if (c->type == COND_NONE)
        return 0;
    w = cr_arena_alloc(a, sizeof *w);
    if (!w)
        return CR_ENOMEM;
    cirrus__write_condition__init(w);
    switch (c->type) {
    case COND_EXISTS:
        w->type = CIRRUS__CONDITION__CONDITION_EXISTS;
        break;
    case COND_NOT_EXISTS:
        w->type = CIRRUS__CONDITION__CONDITION_NOT_EXISTS;
        break;
    case COND_EQUALS:
        w->type = CIRRUS__CONDITION__CONDITION_EQUALS;
        w->attribute = cr_arena_strndup(a, c->attr, c->attr_len);
        if (!w->attribute)
            return CR_ENOMEM;
        if (wire_value_to_pb(&c->value, a, &w->value) < 0)
            return CR_ENOMEM;
        break;
    default:
        return CR_EINVAL;
    }
    *out = w;
    return 0;
}

/* ---- log entries ----------------------------------------------------------------------- */

static int names_to_pb(const struct ddb_hook *h, struct cr_arena *a, Cirrus__Mutation *pb)
{
    pb->n_expression_names = h->n_names;
    if (h->n_names) {
        pb->expression_names = cr_arena_alloc(a, h->n_names * sizeof *pb->expression_names);
        if (!pb->expression_names)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < h->n_names; i++) {
        Cirrus__ExpressionName *n = cr_arena_alloc(a, sizeof *n);

        if (!n)
            return CR_ENOMEM;
        cirrus__expression_name__init(n);
        n->placeholder = cr_arena_strndup(a, h->names[i].placeholder, h->names[i].placeholder_len);
        n->name = cr_arena_strndup(a, h->names[i].name, h->names[i].name_len);
        if (!n->placeholder || !n->name)
            return CR_ENOMEM;
        pb->expression_names[i] = n;
    }
    return 0;
}

static int values_to_pb(const struct ddb_hook *h, struct cr_arena *a, Cirrus__Mutation *pb)
{
    int rc;

    pb->n_expression_values = h->n_values;
    if (h->n_values) {
        pb->expression_values = cr_arena_alloc(a, h->n_values * sizeof *pb->expression_values);
        if (!pb->expression_values)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < h->n_values; i++) {
        Cirrus__ExpressionValue *v = cr_arena_alloc(a, sizeof *v);

        if (!v)
            return CR_ENOMEM;
        cirrus__expression_value__init(v);
        v->placeholder =
            cr_arena_strndup(a, h->values[i].placeholder, h->values[i].placeholder_len);
        if (!v->placeholder)
            return CR_ENOMEM;
        rc = wire_value_to_pb(h->values[i].value, a, &v->value);
        if (rc < 0)
            return rc;
        pb->expression_values[i] = v;
    }
    return 0;
}

/* The expression inputs of a hooked mutation (ddb_hook.h: its ctx is a struct ddb_hook). */
static int hook_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__Mutation *pb)
{
    const struct ddb_hook *h = m->hook.ctx;
    int rc;

    if (!h)
        return m->type == MUT_UPDATE || m->type == MUT_CHECK ? CR_EINVAL : 0;
    if (h->condition) {
        pb->condition_expression = cr_arena_strndup(a, h->condition, h->condition_len);
        if (!pb->condition_expression)
            return CR_ENOMEM;
    }
    if (h->update) {
        pb->update_expression = cr_arena_strndup(a, h->update, h->update_len);
        if (!pb->update_expression)
            return CR_ENOMEM;
    }
    rc = names_to_pb(h, a, pb);
    return rc < 0 ? rc : values_to_pb(h, a, pb);
}

/* The TTL change, tags to set and tag keys to remove of an UPDATE_TABLE. */
static int ttl_tags_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__Mutation *pb)
{
    static const Cirrus__TtlChange ttl[] = {[TTL_KEEP] = CIRRUS__TTL_CHANGE__TTL_KEEP,
                                            [TTL_ENABLE] = CIRRUS__TTL_CHANGE__TTL_ENABLE,
                                            [TTL_DISABLE] = CIRRUS__TTL_CHANGE__TTL_DISABLE};
    Cirrus__Tag *tags = NULL;

    if ((unsigned)m->ttl > TTL_DISABLE || (m->ttl != TTL_KEEP && !m->ttl_attr))
        return CR_EINVAL;
    pb->ttl = ttl[m->ttl];
    if (m->ttl != TTL_KEEP &&
        !(pb->ttl_attribute = cr_arena_strndup(a, m->ttl_attr, strlen(m->ttl_attr))))
        return CR_ENOMEM;
    if (m->n_tags && (!(tags = cr_arena_alloc(a, m->n_tags * sizeof *tags)) ||
                      !(pb->tags = cr_arena_alloc(a, m->n_tags * sizeof *pb->tags))))
        return CR_ENOMEM;
    pb->n_tags = m->n_tags;
    for (size_t i = 0; i < m->n_tags; i++) {
        cirrus__tag__init(&tags[i]);
        tags[i].key = cr_arena_strndup(a, m->tags[i].key, strlen(m->tags[i].key));
        tags[i].value = cr_arena_strndup(a, m->tags[i].value, strlen(m->tags[i].value));
        if (!tags[i].key || !tags[i].value)
            return CR_ENOMEM;
        pb->tags[i] = &tags[i];
    }
    if (m->n_untag && !(pb->untag = cr_arena_alloc(a, m->n_untag * sizeof *pb->untag)))
        return CR_ENOMEM;
    pb->n_untag = m->n_untag;
    for (size_t i = 0; i < m->n_untag; i++)
        if (!(pb->untag[i] = cr_arena_strndup(a, m->untag[i], strlen(m->untag[i]))))
            return CR_ENOMEM;
    return 0;
}

/* The indexes to create and the names to drop of a table mutation. */
static int table_change_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__Mutation *pb)
{
    if (m->n_indexes && !(pb->indexes = cr_arena_alloc(a, m->n_indexes * sizeof *pb->indexes)))
        return CR_ENOMEM;
    pb->n_indexes = m->n_indexes;
    for (size_t i = 0; i < m->n_indexes; i++) {
        int rc = index_to_pb(&m->indexes[i], a, &pb->indexes[i]);

        if (rc < 0)
            return rc;
    }
    if (m->n_drop && !(pb->drop_indexes = cr_arena_alloc(a, m->n_drop * sizeof *pb->drop_indexes)))
        return CR_ENOMEM;
    pb->n_drop_indexes = m->n_drop;
    for (size_t i = 0; i < m->n_drop; i++)
        if (!(pb->drop_indexes[i] = cr_arena_strndup(a, m->drop[i], strlen(m->drop[i]))))
            return CR_ENOMEM;
    return 0;
}

/* ---- collections and documents in the log
 * --------------------------------------------------------- */

/* Copies a NUL-terminated wire string into a fixed buffer of cap bytes (NUL included). */
static int copy_name(const char *s, char *out, size_t cap, const char *what, struct errmsg *e)
{
    size_t n = strlen(s);

    if (n >= cap)
        return errmsg_set(e, CR_ENAME, "%s is %zu bytes; the limit is %zu", what, n, cap - 1);
    memcpy(out, s, n + 1);
    return 0;
}

static int composite_from_pb(const Cirrus__CompositeIndex *pb, struct cr_arena *a,
                             struct composite_def *out, struct errmsg *e)
{
    struct composite_path *paths = NULL;

    if (pb->n_paths > CR_MAX_COMPOSITE_PATHS)
        return errmsg_set(e, CR_ETOOMANY, "a composite index has %zu paths; the limit is %d",
                          pb->n_paths, CR_MAX_COMPOSITE_PATHS);
    if (pb->n_paths && !(paths = cr_arena_alloc(a, pb->n_paths * sizeof *paths)))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding a composite index");
    for (size_t i = 0; i < pb->n_paths; i++)
        paths[i] = (struct composite_path){pb->paths[i]->path, pb->paths[i]->desc};
    memset(out, 0, sizeof *out);
    out->paths = paths;
    out->n = pb->n_paths;
    return 0;
}

int wire_coll_schema_from_pb(const Cirrus__CollectionSchema *pb, struct cr_arena *a,
                             struct coll_def *out, struct errmsg *e)
{
    const Cirrus__IndexingPolicy *p = pb->indexing_policy;
    struct composite_def *comp = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    out->policy.automatic = true;
    rc = copy_name(pb->db[0] ? pb->db : WIRE_DEFAULT_DB, out->db, sizeof out->db, "database name",
                   e);
    if (rc == 0)
        rc = copy_name(pb->name, out->name, sizeof out->name, "collection name", e);
    if (rc == 0)
        rc = copy_name(pb->partition_key_path, out->pk_path, sizeof out->pk_path,
                       "partition key path", e);
    if (rc < 0 || !p)
        return rc;
    if (p->mode != CIRRUS__INDEXING_MODE__INDEXING_CONSISTENT &&
        p->mode != CIRRUS__INDEXING_MODE__INDEXING_NONE)
        return errmsg_set(e, CR_EINVAL, "indexing mode %d is unknown", (int)p->mode);
    if (p->n_included_paths + p->n_excluded_paths > CR_MAX_POLICY_PATHS)
        return errmsg_set(e, CR_ETOOMANY, "an indexing policy has more than %d paths",
                          CR_MAX_POLICY_PATHS);
    if (p->n_composite_indexes > CR_MAX_COMPOSITE)
        return errmsg_set(e, CR_ETOOMANY, "more than %d composite indexes", CR_MAX_COMPOSITE);
    if (p->n_composite_indexes &&
        !(comp = cr_arena_alloc(a, p->n_composite_indexes * sizeof *comp)))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding composite indexes");
    for (size_t i = 0; i < p->n_composite_indexes; i++) {
        rc = composite_from_pb(p->composite_indexes[i], a, &comp[i], e);
        if (rc < 0)
            return rc;
    }
    out->policy.automatic = p->mode == CIRRUS__INDEXING_MODE__INDEXING_CONSISTENT;
    out->policy.include = (const char *const *)p->included_paths;
    out->policy.n_include = p->n_included_paths;
    out->policy.exclude = (const char *const *)p->excluded_paths;
    out->policy.n_exclude = p->n_excluded_paths;
    out->policy.composite = comp;
    out->policy.n_composite = p->n_composite_indexes;
    return 0;
}

static int strings_to_pb(const char *const *in, size_t n, struct cr_arena *a, char ***out)
{
    *out = NULL;
    if (n && !(*out = cr_arena_alloc(a, n * sizeof **out)))
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!((*out)[i] = cr_arena_strndup(a, in[i], strlen(in[i]))))
            return CR_ENOMEM;
    return 0;
}

static int composite_to_pb(const struct composite_def *c, struct cr_arena *a,
                           Cirrus__CompositeIndex **out)
{
    Cirrus__CompositeIndex *x = cr_arena_alloc(a, sizeof *x);

    if (!x)
        return CR_ENOMEM;
    cirrus__composite_index__init(x);
    if (c->n && !(x->paths = cr_arena_alloc(a, c->n * sizeof *x->paths)))
        return CR_ENOMEM;
    x->n_paths = c->n;
    for (size_t i = 0; i < c->n; i++) {
        Cirrus__CompositePath *p = cr_arena_alloc(a, sizeof *p);

        if (!p)
            return CR_ENOMEM;
        cirrus__composite_path__init(p);
        p->path = cr_arena_strndup(a, c->paths[i].path, strlen(c->paths[i].path));
        if (!p->path)
            return CR_ENOMEM;
        p->desc = c->paths[i].desc;
        x->paths[i] = p;
    }
    *out = x;
    return 0;
}

int wire_coll_schema_to_pb(const struct coll_def *c, struct cr_arena *a,
                           Cirrus__CollectionSchema **out)
{
    Cirrus__CollectionSchema *s = cr_arena_alloc(a, sizeof *s);
    Cirrus__IndexingPolicy *p = cr_arena_alloc(a, sizeof *p);
    const struct indexing_policy *pol = &c->policy;
    int rc;

    if (!s || !p)
        return CR_ENOMEM;
    cirrus__collection_schema__init(s);
    cirrus__indexing_policy__init(p);
    s->db = cr_arena_strndup(a, c->db, strlen(c->db));
    s->name = cr_arena_strndup(a, c->name, strlen(c->name));
    s->partition_key_path = cr_arena_strndup(a, c->pk_path, strlen(c->pk_path));
    if (!s->db || !s->name || !s->partition_key_path)
        return CR_ENOMEM;
    p->mode = pol->automatic ? CIRRUS__INDEXING_MODE__INDEXING_CONSISTENT
                             : CIRRUS__INDEXING_MODE__INDEXING_NONE;
    rc = strings_to_pb(pol->include, pol->n_include, a, &p->included_paths);
    if (rc == 0)
        rc = strings_to_pb(pol->exclude, pol->n_exclude, a, &p->excluded_paths);
    if (rc < 0)
        return rc;
    p->n_included_paths = pol->n_include;
    p->n_excluded_paths = pol->n_exclude;
    if (pol->n_composite && !(p->composite_indexes = cr_arena_alloc(
                                  a, pol->n_composite * sizeof *p->composite_indexes)))
        return CR_ENOMEM;
    p->n_composite_indexes = pol->n_composite;
    for (size_t i = 0; i < pol->n_composite; i++) {
        rc = composite_to_pb(&pol->composite[i], a, &p->composite_indexes[i]);
        if (rc < 0)
            return rc;
    }
    s->indexing_policy = p;
    *out = s;
    return 0;
}

int wire_coll_desc_to_pb(const struct coll_def *c, const struct table_stats *stats,
                         struct cr_arena *a, Cirrus__CollectionDescription **out)
{
    Cirrus__CollectionDescription *d = cr_arena_alloc(a, sizeof *d);
    int rc;

    if (!d)
        return CR_ENOMEM;
    cirrus__collection_description__init(d);
    rc = wire_coll_schema_to_pb(c, a, &d->schema);
    if (rc < 0)
        return rc;
    d->collection_id = c->id;
    d->created_ms = c->created_ms;
    d->created_index = c->created_index;
    if (stats) {
        d->document_count = stats->item_count;
        d->size_bytes = stats->size_bytes;
    }
    *out = d;
    return 0;
}

int wire_doc_key_from_pb(const Cirrus__DocKey *pb, struct cr_arena *a, struct doc_key *out,
                         struct errmsg *e)
{
    size_t n;

    memset(out, 0, sizeof *out);
    if (!pb)
        return errmsg_set(e, CR_EINVAL, "a document key is missing");
    n = strlen(pb->id);
    if (n == 0 || n > CR_MAX_DOC_ID)
        return errmsg_set(e, CR_EINVAL, "a document id must be 1..%d bytes", CR_MAX_DOC_ID);
    if (!wire_utf8_valid(pb->id, n))
        return errmsg_set(e, CR_EINVAL, "a document id must be UTF-8");
    out->id = value_string(pb->id, n);
    if (!pb->partition_key)
        return 0;
    out->has_pk = true;
    return wire_value_from_pb(pb->partition_key, a, &out->pk, e);
}

int wire_doc_key_to_pb(const struct doc_key *k, struct cr_arena *a, Cirrus__DocKey **out)
{
    Cirrus__DocKey *d = cr_arena_alloc(a, sizeof *d);

    if (!d)
        return CR_ENOMEM;
    cirrus__doc_key__init(d);
    d->id = cr_arena_strndup(a, k->id.u.s.ptr, k->id.u.s.len);
    if (!d->id || (k->has_pk && wire_value_to_pb(&k->pk, a, &d->partition_key) < 0))
        return CR_ENOMEM;
    *out = d;
    return 0;
}

int wire_precond_from_pb(const Cirrus__DocPrecondition *pb, struct doc_precond *out,
                         struct errmsg *e)
{
    memset(out, 0, sizeof *out);
    out->exists = PRE_ANY;
    if (!pb)
        return 0;
    switch (pb->exists) {
    case CIRRUS__DOC_EXISTS__DOC_EXISTS_ANY:
        break;
    case CIRRUS__DOC_EXISTS__DOC_EXISTS:
        out->exists = PRE_EXISTS;
        break;
    case CIRRUS__DOC_EXISTS__DOC_NOT_EXISTS:
        out->exists = PRE_NOT_EXISTS;
        break;
    default:
        return errmsg_set(e, CR_EINVAL, "precondition %d is unknown", (int)pb->exists);
    }
    if (pb->if_match[0]) {
        out->if_match = pb->if_match;
        out->if_match_len = strlen(pb->if_match);
        if (out->if_match_len > CR_ETAG_LEN)
            return errmsg_set(e, CR_EINVAL, "an etag is at most %d bytes", CR_ETAG_LEN);
    }
    out->has_update_ms = pb->has_update_ms;
    out->update_ms = pb->update_ms;
    return 0;
}

static int precond_to_pb(const struct doc_precond *p, struct cr_arena *a,
                         Cirrus__DocPrecondition **out)
{
    static const Cirrus__DocExists exists[] = {[PRE_ANY] = CIRRUS__DOC_EXISTS__DOC_EXISTS_ANY,
                                               [PRE_EXISTS] = CIRRUS__DOC_EXISTS__DOC_EXISTS,
                                               [PRE_NOT_EXISTS] =
                                                   CIRRUS__DOC_EXISTS__DOC_NOT_EXISTS};
    Cirrus__DocPrecondition *d;

    *out = NULL;
    if ((unsigned)p->exists > PRE_NOT_EXISTS)
        return CR_EINVAL;
    if (p->exists == PRE_ANY && !p->if_match && !p->has_update_ms)
        return 0;
    d = cr_arena_alloc(a, sizeof *d);
    if (!d)
        return CR_ENOMEM;
    cirrus__doc_precondition__init(d);
    d->exists = exists[p->exists];
    if (p->if_match && !(d->if_match = cr_arena_strndup(a, p->if_match, p->if_match_len)))
        return CR_ENOMEM;
    d->has_update_ms = p->has_update_ms;
    d->update_ms = p->update_ms;
    *out = d;
    return 0;
}

static const Cirrus__PatchKind patch_kinds[] = {
    [PATCH_SET] = CIRRUS__PATCH_KIND__PATCH_SET,
    [PATCH_REMOVE] = CIRRUS__PATCH_KIND__PATCH_REMOVE,
    [PATCH_INCREMENT] = CIRRUS__PATCH_KIND__PATCH_INCREMENT,
    [PATCH_APPEND] = CIRRUS__PATCH_KIND__PATCH_APPEND,
    [PATCH_ARRAY_UNION] = CIRRUS__PATCH_KIND__PATCH_ARRAY_UNION,
    [PATCH_ARRAY_REMOVE] = CIRRUS__PATCH_KIND__PATCH_ARRAY_REMOVE,
    [PATCH_MINIMUM] = CIRRUS__PATCH_KIND__PATCH_MINIMUM,
    [PATCH_MAXIMUM] = CIRRUS__PATCH_KIND__PATCH_MAXIMUM,
    [PATCH_SERVER_TIME] = CIRRUS__PATCH_KIND__PATCH_SERVER_TIME,
};

/* The text of a patch path: "/" then each segment, a field always quoted, a position as its
 * digits (Cosmos DB's form, which wire_patch_path_parse reads back as a position). */
static int path_text(const struct doc_path *p, struct cr_arena *a, char **out)
{
    struct cr_buf b;
    int rc = 0;

    cr_buf_init(&b);
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        const struct doc_seg *s = &p->segs[i];
        char num[16];

        rc = cr_buf_append(&b, "/", 1);
        if (rc == 0 && s->kind == SEG_POSITION) {
            int len = snprintf(num, sizeof num, "%u", (unsigned)s->pos);
            rc = cr_buf_append(&b, num, (size_t)len);
        } else if (rc == 0 && s->kind == SEG_ELEMENTS) {
            rc = cr_buf_append(&b, "[]", 2);
        } else if (rc == 0) {
            rc = cr_buf_append(&b, "\"", 1);
            for (size_t j = 0; rc == 0 && j < s->len; j++) {
                if (s->name[j] == '"' || s->name[j] == '\\')
                    rc = cr_buf_append(&b, "\\", 1);
                if (rc == 0)
                    rc = cr_buf_append(&b, &s->name[j], 1);
            }
            if (rc == 0)
                rc = cr_buf_append(&b, "\"", 1);
        }
    }
    if (rc == 0 && !(*out = cr_arena_strndup(a, (const char *)b.data, b.len)))
        rc = CR_ENOMEM;
    cr_buf_free(&b);
    return rc;
}

static int patch_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__DocMutation *d)
{
    Cirrus__PatchOp *ops = NULL;

    if (m->n_patch && (!(ops = cr_arena_alloc(a, m->n_patch * sizeof *ops)) ||
                       !(d->patch = cr_arena_alloc(a, m->n_patch * sizeof *d->patch))))
        return CR_ENOMEM;
    d->n_patch = m->n_patch;
    for (size_t i = 0; i < m->n_patch; i++) {
        const struct patch_op *op = &m->patch[i];
        int rc;

        if ((unsigned)op->kind > PATCH_SERVER_TIME)
            return CR_EINVAL;
        cirrus__patch_op__init(&ops[i]);
        ops[i].kind = patch_kinds[op->kind];
        ops[i].must_exist = op->must_exist;
        rc = path_text(&op->path, a, &ops[i].path);
        if (rc == 0 && op->kind != PATCH_REMOVE && op->kind != PATCH_SERVER_TIME)
            rc = wire_value_to_pb(&op->value, a, &ops[i].value);
        if (rc < 0)
            return rc;
        d->patch[i] = &ops[i];
    }
    return 0;
}

int wire_patch_path_parse(const char *text, struct cr_arena *a, struct doc_path *out,
                          struct errmsg *e)
{
    size_t len = strlen(text);
    struct doc_seg *segs;
    int rc = doc_path_parse(text, len, a, out);

    if (rc == CR_ENOMEM)
        return errmsg_set(e, rc, "out of memory decoding a patch path");
    if (rc < 0)
        return errmsg_set(e, CR_EINVAL, "patch path '%.64s' is malformed", text);
    segs = (struct doc_seg *)out->segs;
    for (size_t i = 0; i < out->n; i++) {
        struct doc_seg *s = &segs[i];
        bool quoted = s->name < text || s->name >= text + len;
        bool digits = s->kind == SEG_FIELD && s->len > 0 && s->len <= 9 && !quoted;

        for (size_t j = 0; digits && j < s->len; j++)
            digits = s->name[j] >= '0' && s->name[j] <= '9';
        if (s->kind == SEG_ELEMENTS)
            return errmsg_set(e, CR_EINVAL, "patch path '%.64s' has \"[]\"", text);
        if (digits) {
            s->kind = SEG_POSITION;
            s->pos = (uint32_t)strtoul(s->name, NULL, 10);
        }
    }
    return 0;
}

int wire_patch_from_pb(Cirrus__PatchOp *const *pbs, size_t n, struct cr_arena *a,
                       struct patch_op **out, struct errmsg *e)
{
    struct patch_op *ops;

    if (n == 0)
        return errmsg_set(e, CR_EINVAL, "a patch needs at least one operation");
    if (n > CR_MAX_PATCH_OPS)
        return errmsg_set(e, CR_ETOOMANY, "a patch has %zu operations; the limit is %d", n,
                          CR_MAX_PATCH_OPS);
    if (!(ops = cr_arena_calloc(a, n * sizeof *ops)))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding a patch");
    for (size_t i = 0; i < n; i++) {
        const Cirrus__PatchOp *pb = pbs[i];
        size_t k = 0;
        int rc;

        while (k <= PATCH_SERVER_TIME && patch_kinds[k] != pb->kind)
            k++;
        if (k > PATCH_SERVER_TIME)
            return errmsg_set(e, CR_EINVAL, "patch operation kind %d is unknown", (int)pb->kind);
        ops[i].kind = (enum patch_kind)k;
        ops[i].must_exist = pb->must_exist;
        ops[i].value.type = VT_NULL;
        rc = wire_patch_path_parse(pb->path, a, &ops[i].path, e);
        if (rc < 0)
            return rc;
        if (k == PATCH_REMOVE || k == PATCH_SERVER_TIME)
            continue;
        if (!pb->value)
            return errmsg_set(e, CR_EINVAL, "patch operation %zu on '%.64s' needs a value", i,
                              pb->path);
        rc = wire_value_from_pb(pb->value, a, &ops[i].value, e);
        if (rc < 0)
            return rc;
    }
    *out = ops;
    return 0;
}

/* Which mutation types carry what in DocMutation. */
static const struct {
    enum mut_type mut;
    Cirrus__MutationType pb;
} doc_types[] = {
    {MUT_CREATE_COLLECTION, CIRRUS__MUTATION_TYPE__MUTATION_CREATE_COLLECTION},
    {MUT_DROP_COLLECTION, CIRRUS__MUTATION_TYPE__MUTATION_DROP_COLLECTION},
    {MUT_DOC_CREATE, CIRRUS__MUTATION_TYPE__MUTATION_DOC_CREATE},
    {MUT_DOC_REPLACE, CIRRUS__MUTATION_TYPE__MUTATION_DOC_REPLACE},
    {MUT_DOC_UPSERT, CIRRUS__MUTATION_TYPE__MUTATION_DOC_UPSERT},
    {MUT_DOC_DELETE, CIRRUS__MUTATION_TYPE__MUTATION_DOC_DELETE},
    {MUT_DOC_PATCH, CIRRUS__MUTATION_TYPE__MUTATION_DOC_PATCH},
};

static bool has_body(enum mut_type t)
{
    return t == MUT_DOC_CREATE || t == MUT_DOC_REPLACE || t == MUT_DOC_UPSERT;
}

static int doc_mutation_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__Mutation *pb)
{
    Cirrus__DocMutation *d = cr_arena_alloc(a, sizeof *d);
    size_t i = 0;
    int rc;

    while (i < sizeof doc_types / sizeof doc_types[0] && doc_types[i].mut != m->type)
        i++;
    if (i == sizeof doc_types / sizeof doc_types[0])
        return CR_EINVAL;
    if (!d)
        return CR_ENOMEM;
    cirrus__doc_mutation__init(d);
    pb->type = doc_types[i].pb;
    pb->doc = d;
    pb->return_old = m->return_old;
    pb->return_new = m->return_new;
    rc = wire_coll_schema_to_pb(&m->coll, a, &d->collection);
    if (rc == 0 && has_body(m->type))
        rc = wire_map_to_pb(&m->item, a, &d->body);
    if (rc == 0 && (m->type == MUT_DOC_DELETE || m->type == MUT_DOC_PATCH))
        rc = wire_doc_key_to_pb(&m->doc_key, a, &d->key);
    if (rc == 0 && m->type == MUT_DOC_PATCH)
        rc = patch_to_pb(m, a, d);
    return rc < 0 ? rc : precond_to_pb(&m->pre, a, &d->precondition);
}

static int doc_mutation_from_pb(const Cirrus__Mutation *pb, struct cr_arena *a, struct mutation *m,
                                struct errmsg *e)
{
    const Cirrus__DocMutation *d = pb->doc;
    size_t i = 0;
    int rc;

    while (i < sizeof doc_types / sizeof doc_types[0] && doc_types[i].pb != pb->type)
        i++;
    m->type = doc_types[i].mut;
    if (!d || !d->collection)
        return errmsg_set(e, CR_EPROTO, "document mutation without its collection");
    rc = wire_coll_schema_from_pb(d->collection, a, &m->coll, e);
    if (rc < 0)
        return rc;
    if (has_body(m->type)) {
        if (!d->body)
            return errmsg_set(e, CR_EPROTO, "document write without a document");
        rc = wire_map_from_pb(d->body, a, &m->item, e);
    } else if (m->type == MUT_DOC_DELETE || m->type == MUT_DOC_PATCH) {
        rc = wire_doc_key_from_pb(d->key, a, &m->doc_key, e);
    }
    if (rc == 0 && m->type == MUT_DOC_PATCH) {
        struct patch_op *ops = NULL;

        rc = wire_patch_from_pb(d->patch, d->n_patch, a, &ops, e);
        m->patch = ops;
        m->n_patch = d->n_patch;
    }
    return rc < 0 ? rc : wire_precond_from_pb(d->precondition, &m->pre, e);
}

static bool is_doc_type(Cirrus__MutationType t)
{
    for (size_t i = 0; i < sizeof doc_types / sizeof doc_types[0]; i++)
        if (doc_types[i].pb == t)
            return true;
    return false;
}

/* ---- graphs in the log ---- */

static const struct {
    enum mut_type mut;
    Cirrus__MutationType pb;
} graph_types[] = {
    {MUT_CREATE_GRAPH, CIRRUS__MUTATION_TYPE__MUTATION_CREATE_GRAPH},
    {MUT_DROP_GRAPH, CIRRUS__MUTATION_TYPE__MUTATION_DROP_GRAPH},
    {MUT_GRAPH_ADD_VERTEX, CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_ADD_VERTEX},
    {MUT_GRAPH_ADD_EDGE, CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_ADD_EDGE},
    {MUT_GRAPH_SET_PROPERTY, CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_SET_PROPERTY},
    {MUT_GRAPH_REMOVE_PROPERTY, CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_REMOVE_PROPERTY},
    {MUT_GRAPH_DROP_VERTEX, CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_DROP_VERTEX},
    {MUT_GRAPH_DROP_EDGE, CIRRUS__MUTATION_TYPE__MUTATION_GRAPH_DROP_EDGE},
};
#define N_GRAPH_TYPES (sizeof graph_types / sizeof graph_types[0])

/* A present value (VT_NULL: absent) as a Value, or NULL. */
static int opt_value_to_pb(const struct value *v, struct cr_arena *a, Cirrus__Value **out)
{
    *out = NULL;
    return v->type == VT_NULL ? 0 : wire_value_to_pb(v, a, out);
}

static int graph_mutation_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__Mutation *pb)
{
    const struct graph_mut *g = &m->graph;
    Cirrus__GraphMutation *d = cr_arena_alloc(a, sizeof *d);
    size_t i = 0;
    int rc;

    while (i < N_GRAPH_TYPES && graph_types[i].mut != m->type)
        i++;
    if (i == N_GRAPH_TYPES)
        return CR_EINVAL;
    if (!d)
        return CR_ENOMEM;
    cirrus__graph_mutation__init(d);
    pb->type = graph_types[i].pb;
    pb->graph = d;
    d->graph = cr_arena_strndup(a, g->name, strnlen(g->name, sizeof g->name));
    if (!d->graph)
        return CR_ENOMEM;
    d->edge = g->edge;
    d->list = g->list;
    if ((rc = opt_value_to_pb(&g->id, a, &d->id)) < 0 ||
        (rc = opt_value_to_pb(&g->label, a, &d->label)) < 0 ||
        (rc = opt_value_to_pb(&g->out_v, a, &d->out_v)) < 0 ||
        (rc = opt_value_to_pb(&g->in_v, a, &d->in_v)) < 0 ||
        (rc = opt_value_to_pb(&g->key, a, &d->key)) < 0 ||
        (rc = opt_value_to_pb(&g->value, a, &d->value)) < 0 ||
        (rc = opt_value_to_pb(&g->prop_id, a, &d->prop_id)) < 0)
        return rc;
    if (g->n_props > CR_MAX_GRAPH_PROPS)
        return CR_EINVAL;
    if (g->n_props) {
        d->properties = cr_arena_alloc(a, g->n_props * sizeof *d->properties);
        if (!d->properties)
            return CR_ENOMEM;
    }
    for (size_t j = 0; j < g->n_props; j++) {
        Cirrus__GraphProperty *p = cr_arena_alloc(a, sizeof *p);

        if (!p)
            return CR_ENOMEM;
        cirrus__graph_property__init(p);
        if ((rc = wire_value_to_pb(&g->props[j].key, a, &p->key)) < 0 ||
            (rc = wire_value_to_pb(&g->props[j].value, a, &p->value)) < 0)
            return rc;
        d->properties[j] = p;
    }
    d->n_properties = g->n_props;
    return 0;
}

/* A Value that must be a non-empty string (an id, label or key), or absent when optional. */
static int graph_str_from_pb(const Cirrus__Value *pb, bool required, const char *what,
                             struct cr_arena *a, struct value *out, struct errmsg *e)
{
    int rc;

    out->type = VT_NULL;
    if (!pb) {
        if (required)
            return errmsg_set(e, CR_EPROTO, "graph mutation without its %s", what);
        return 0;
    }
    rc = wire_value_from_pb(pb, a, out, e);
    if (rc < 0)
        return rc;
    if (out->type != VT_STRING)
        return errmsg_set(e, CR_ETYPE, "a graph %s must be a string, not %s", what,
                          value_type_name(out->type));
    if (out->u.s.len == 0)
        return errmsg_set(e, CR_EINVAL, "a graph %s must not be empty", what);
    return 0;
}

static int graph_props_from_pb(const Cirrus__GraphMutation *d, struct cr_arena *a,
                               struct graph_mut *g, struct errmsg *e)
{
    struct graph_prop *props = NULL;
    int rc;

    if (d->n_properties > CR_MAX_GRAPH_PROPS)
        return errmsg_set(e, CR_ETOOMANY, "%zu properties; the limit is %d", d->n_properties,
                          CR_MAX_GRAPH_PROPS);
    if (d->n_properties && !(props = cr_arena_alloc(a, d->n_properties * sizeof *props)))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding graph properties");
    for (size_t i = 0; i < d->n_properties; i++) {
        const Cirrus__GraphProperty *p = d->properties[i];

        rc = graph_str_from_pb(p->key, true, "property key", a, &props[i].key, e);
        if (rc < 0)
            return rc;
        if (!p->value)
            return errmsg_set(e, CR_EPROTO, "graph property without a value");
        rc = wire_value_from_pb(p->value, a, &props[i].value, e);
        if (rc < 0)
            return rc;
        if (props[i].value.type == VT_NULL)
            return errmsg_set(e, CR_ETYPE, "a graph property value must not be null");
        props[i].id.type = VT_NULL;
    }
    g->props = props;
    g->n_props = d->n_properties;
    return 0;
}

static int graph_mutation_from_pb(const Cirrus__Mutation *pb, struct cr_arena *a,
                                  struct mutation *m, struct errmsg *e)
{
    const Cirrus__GraphMutation *d = pb->graph;
    struct graph_mut *g = &m->graph;
    size_t i = 0, len;
    int rc = 0;

    while (i < N_GRAPH_TYPES && graph_types[i].pb != pb->type)
        i++;
    m->type = graph_types[i].mut;
    if (!d)
        return errmsg_set(e, CR_EPROTO, "graph mutation without its graph");
    len = strlen(d->graph);
    if (len == 0 || len > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME, "a graph name must be 1..%d bytes", CR_MAX_NAME_LEN);
    memcpy(g->name, d->graph, len + 1);
    g->id.type = g->label.type = g->out_v.type = g->in_v.type = VT_NULL;
    g->key.type = g->value.type = g->prop_id.type = VT_NULL;
    g->edge = d->edge;
    g->list = d->list;
    switch (m->type) {
    case MUT_CREATE_GRAPH:
    case MUT_DROP_GRAPH:
        return 0;
    case MUT_GRAPH_ADD_EDGE:
    case MUT_GRAPH_ADD_VERTEX:
        if (m->type == MUT_GRAPH_ADD_EDGE &&
            ((rc = graph_str_from_pb(d->out_v, true, "edge's out-vertex", a, &g->out_v, e)) < 0 ||
             (rc = graph_str_from_pb(d->in_v, true, "edge's in-vertex", a, &g->in_v, e)) < 0))
            return rc;
        if ((rc = graph_str_from_pb(d->id, false, "element id", a, &g->id, e)) < 0 ||
            (rc = graph_str_from_pb(d->label, true, "label", a, &g->label, e)) < 0)
            return rc;
        return graph_props_from_pb(d, a, g, e);
    case MUT_GRAPH_SET_PROPERTY:
    case MUT_GRAPH_REMOVE_PROPERTY:
        if ((rc = graph_str_from_pb(d->id, true, "element id", a, &g->id, e)) < 0 ||
            (rc = graph_str_from_pb(d->key, true, "property key", a, &g->key, e)) < 0)
            return rc;
        if (m->type == MUT_GRAPH_REMOVE_PROPERTY) {
            if (d->prop_id)
                rc = wire_value_from_pb(d->prop_id, a, &g->prop_id, e);
            return rc;
        }
        if (!d->value)
            return errmsg_set(e, CR_EPROTO, "set-property mutation without a value");
        rc = wire_value_from_pb(d->value, a, &g->value, e);
        if (rc == 0 && g->value.type == VT_NULL)
            return errmsg_set(e, CR_ETYPE, "a graph property value must not be null");
        return rc;
    default: /* MUT_GRAPH_DROP_VERTEX, MUT_GRAPH_DROP_EDGE */
        return graph_str_from_pb(d->id, true, "element id", a, &g->id, e);
    }
}

static bool is_graph_type(Cirrus__MutationType t)
{
    for (size_t i = 0; i < N_GRAPH_TYPES; i++)
        if (graph_types[i].pb == t)
            return true;
    return false;
}

static int mutation_to_pb(const struct mutation *m, struct cr_arena *a, Cirrus__Mutation *pb)
{
    int rc;

    cirrus__mutation__init(pb);
    switch (m->type) {
    case MUT_CREATE_TABLE:
        pb->type = CIRRUS__MUTATION_TYPE__MUTATION_CREATE_TABLE;
        rc = wire_schema_to_pb(&m->table, a, &pb->schema);
        if (rc == 0)
            rc = table_change_to_pb(m, a, pb);
        return rc < 0 ? rc : ttl_tags_to_pb(m, a, pb); /* CreateTable's Tags */
    case MUT_UPDATE_TABLE:
        pb->type = CIRRUS__MUTATION_TYPE__MUTATION_UPDATE_TABLE;
        rc = table_change_to_pb(m, a, pb);
        if (rc == 0)
            rc = ttl_tags_to_pb(m, a, pb);
        if (rc < 0)
            return rc;
        break;
    case MUT_DELETE_TABLE:
        pb->type = CIRRUS__MUTATION_TYPE__MUTATION_DELETE_TABLE;
        break;
    case MUT_PUT:
        pb->type = CIRRUS__MUTATION_TYPE__MUTATION_PUT;
        rc = wire_map_to_pb(&m->item, a, &pb->item);
        if (rc < 0)
            return rc;
        break;
    case MUT_DELETE:
    case MUT_UPDATE:
    case MUT_CHECK:
        pb->type = m->type == MUT_DELETE   ? CIRRUS__MUTATION_TYPE__MUTATION_DELETE
                   : m->type == MUT_UPDATE ? CIRRUS__MUTATION_TYPE__MUTATION_UPDATE
                                           : CIRRUS__MUTATION_TYPE__MUTATION_CHECK;
        rc = wire_map_to_pb(&m->key, a, &pb->key);
        if (rc < 0)
            return rc;
        break;
    default:
        if (m->type >= MUT_CREATE_GRAPH && m->type <= MUT_GRAPH_DROP_EDGE)
            return graph_mutation_to_pb(m, a, pb);
        return doc_mutation_to_pb(m, a, pb);
    }
    pb->table = cr_arena_strndup(a, m->table.name, strlen(m->table.name));
    if (!pb->table)
        return CR_ENOMEM;
    pb->return_old = m->return_old;
    pb->return_new = m->return_new;
    pb->return_old_on_condition_failure = m->return_old_on_fail;
    rc = hook_to_pb(m, a, pb);
    return rc < 0 ? rc : condition_to_pb(&m->cond, a, &pb->condition);
}

int wire_log_entry_encode(int64_t time_ms, const struct mutation *muts, size_t n,
                          struct cr_arena *a, uint8_t **out, size_t *len)
{
    struct wire_token none = {NULL, 0, 0};

    return wire_log_entry_encode_token(time_ms, &none, muts, n, a, out, len);
}

int wire_log_entry_encode_token(int64_t time_ms, const struct wire_token *token,
                                const struct mutation *muts, size_t n, struct cr_arena *a,
                                uint8_t **out, size_t *len)
{
    Cirrus__LogEntry entry = CIRRUS__LOG_ENTRY__INIT;
    Cirrus__Mutation *pbs = NULL;
    uint8_t *buf;
    size_t size;
    int rc;

    entry.time_ms = time_ms;
    if (token->text) {
        entry.client_token.data = (uint8_t *)token->text;
        entry.client_token.len = token->len;
        entry.request_hash = token->request_hash;
    }
    entry.n_mutations = n;
    if (n) {
        pbs = cr_arena_alloc(a, n * sizeof *pbs);
        entry.mutations = cr_arena_alloc(a, n * sizeof *entry.mutations);
        if (!pbs || !entry.mutations)
            return CR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rc = mutation_to_pb(&muts[i], a, &pbs[i]);
        if (rc < 0)
            return rc;
        entry.mutations[i] = &pbs[i];
    }
    size = cirrus__log_entry__get_packed_size(&entry);
    buf = cr_arena_alloc(a, size ? size : 1);
    if (!buf)
        return CR_ENOMEM;
    *len = cirrus__log_entry__pack(&entry, buf);
    *out = buf;
    return 0;
}

static int table_name_from_pb(const char *name, struct table_def *out, struct errmsg *e)
{
    size_t n = strlen(name);

    if (n > CR_MAX_NAME_LEN)
        return errmsg_set(e, CR_ENAME, "table name is %zu bytes; the limit is %d", n,
                          CR_MAX_NAME_LEN);
    memcpy(out->name, name, n + 1);
    return 0;
}

/* The expression inputs of pb, parsed into a hook installed on m (ddb_hook.h). */
static int hook_from_pb(const Cirrus__Mutation *pb, struct cr_arena *a, struct mutation *m,
                        struct errmsg *e)
{
    struct ddb_hook *h;
    struct ddb_name *names = NULL;
    struct ddb_value *values = NULL;
    struct value *vals = NULL;
    struct ddb_err err;
    int rc;

    if (!pb->condition_expression[0] && !pb->update_expression[0] && m->type != MUT_UPDATE) {
        if (m->type == MUT_CHECK)
            return errmsg_set(e, CR_EPROTO, "check mutation without a condition");
        return 0;
    }
    h = cr_arena_calloc(a, sizeof *h);
    if (pb->n_expression_names)
        names = cr_arena_alloc(a, pb->n_expression_names * sizeof *names);
    if (pb->n_expression_values) {
        values = cr_arena_alloc(a, pb->n_expression_values * sizeof *values);
        vals = cr_arena_alloc(a, pb->n_expression_values * sizeof *vals);
    }
    if (!h || (pb->n_expression_names && !names) || (pb->n_expression_values && !vals) ||
        (pb->n_expression_values && !values))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding expressions");
    for (size_t i = 0; i < pb->n_expression_names; i++) {
        const Cirrus__ExpressionName *n = pb->expression_names[i];

        names[i] =
            (struct ddb_name){n->placeholder, strlen(n->placeholder), n->name, strlen(n->name)};
    }
    for (size_t i = 0; i < pb->n_expression_values; i++) {
        const Cirrus__ExpressionValue *v = pb->expression_values[i];

        if (!v->value)
            return errmsg_set(e, CR_EPROTO, "expression value '%.64s' has no value",
                              v->placeholder);
        rc = wire_value_from_pb(v->value, a, &vals[i], e);
        if (rc < 0)
            return rc;
        values[i] = (struct ddb_value){v->placeholder, strlen(v->placeholder), &vals[i]};
    }
    if (pb->condition_expression[0]) {
        h->condition = pb->condition_expression;
        h->condition_len = strlen(pb->condition_expression);
    }
    if (pb->update_expression[0]) {
        h->update = pb->update_expression;
        h->update_len = strlen(pb->update_expression);
    }
    h->names = names;
    h->n_names = pb->n_expression_names;
    h->values = values;
    h->n_values = pb->n_expression_values;
    rc = ddb_hook_parse(h, m->type == MUT_PUT ? &m->item : &m->key, a, &err);
    if (rc < 0)
        return errmsg_set(e, rc, "%s", err.msg);
    ddb_hook_install(h, m);
    return 0;
}

static int table_change_from_pb(const Cirrus__Mutation *pb, struct cr_arena *a, struct mutation *m,
                                struct errmsg *e)
{
    struct index_def *idx = NULL;

    if (pb->n_indexes > CR_MAX_INDEXES || pb->n_drop_indexes > CR_MAX_INDEXES)
        return errmsg_set(e, CR_ETOOMANY, "more than %d indexes in one table mutation",
                          CR_MAX_INDEXES);
    if (pb->n_indexes && !(idx = cr_arena_alloc(a, pb->n_indexes * sizeof *idx)))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding indexes");
    for (size_t i = 0; i < pb->n_indexes; i++) {
        int rc = index_from_pb(pb->indexes[i], &idx[i], e);

        if (rc < 0)
            return rc;
    }
    m->indexes = idx;
    m->n_indexes = pb->n_indexes;
    m->drop = (const char *const *)pb->drop_indexes;
    m->n_drop = pb->n_drop_indexes;
    return 0;
}

static int ttl_tags_from_pb(const Cirrus__Mutation *pb, struct cr_arena *a, struct mutation *m,
                            struct errmsg *e)
{
    struct table_tag *tags = NULL;

    switch (pb->ttl) {
    case CIRRUS__TTL_CHANGE__TTL_KEEP:
        m->ttl = TTL_KEEP;
        break;
    case CIRRUS__TTL_CHANGE__TTL_ENABLE:
    case CIRRUS__TTL_CHANGE__TTL_DISABLE:
        m->ttl = pb->ttl == CIRRUS__TTL_CHANGE__TTL_ENABLE ? TTL_ENABLE : TTL_DISABLE;
        m->ttl_attr = pb->ttl_attribute;
        break;
    default:
        return errmsg_set(e, CR_EPROTO, "TTL change %d is unknown", (int)pb->ttl);
    }
    if (pb->n_tags > CR_MAX_TAGS)
        return errmsg_set(e, CR_ETOOMANY, "more than %d tags in one table mutation", CR_MAX_TAGS);
    if (pb->n_tags && !(tags = cr_arena_alloc(a, pb->n_tags * sizeof *tags)))
        return errmsg_set(e, CR_ENOMEM, "out of memory decoding tags");
    for (size_t i = 0; i < pb->n_tags; i++)
        tags[i] = (struct table_tag){pb->tags[i]->key, pb->tags[i]->value};
    m->tags = tags;
    m->n_tags = pb->n_tags;
    m->untag = (const char *const *)pb->untag;
    m->n_untag = pb->n_untag;
    return 0;
}

static int mutation_from_pb(const Cirrus__Mutation *pb, struct cr_arena *a, struct mutation *m,
                            struct errmsg *e)
{
    int rc;

    memset(m, 0, sizeof *m);
    m->item.type = VT_NULL;
    m->key.type = VT_NULL;
    m->return_old = pb->return_old;
    m->return_new = pb->return_new;
    m->return_old_on_fail = pb->return_old_on_condition_failure;
    switch (pb->type) {
    case CIRRUS__MUTATION_TYPE__MUTATION_CREATE_TABLE:
        m->type = MUT_CREATE_TABLE;
        if (!pb->schema)
            return errmsg_set(e, CR_EPROTO, "create-table mutation without a schema");
        rc = wire_schema_from_pb(pb->schema, &m->table, e);
        if (rc == 0)
            rc = table_change_from_pb(pb, a, m, e);
        return rc < 0 ? rc : ttl_tags_from_pb(pb, a, m, e);
    case CIRRUS__MUTATION_TYPE__MUTATION_UPDATE_TABLE:
        m->type = MUT_UPDATE_TABLE;
        rc = table_change_from_pb(pb, a, m, e);
        if (rc == 0)
            rc = ttl_tags_from_pb(pb, a, m, e);
        return rc < 0 ? rc : table_name_from_pb(pb->table, &m->table, e);
    case CIRRUS__MUTATION_TYPE__MUTATION_DELETE_TABLE:
        m->type = MUT_DELETE_TABLE;
        return table_name_from_pb(pb->table, &m->table, e);
    case CIRRUS__MUTATION_TYPE__MUTATION_PUT:
        m->type = MUT_PUT;
        if (!pb->item)
            return errmsg_set(e, CR_EPROTO, "put mutation without an item");
        rc = wire_map_from_pb(pb->item, a, &m->item, e);
        break;
    case CIRRUS__MUTATION_TYPE__MUTATION_DELETE:
    case CIRRUS__MUTATION_TYPE__MUTATION_UPDATE:
    case CIRRUS__MUTATION_TYPE__MUTATION_CHECK:
        m->type = pb->type == CIRRUS__MUTATION_TYPE__MUTATION_DELETE   ? MUT_DELETE
                  : pb->type == CIRRUS__MUTATION_TYPE__MUTATION_UPDATE ? MUT_UPDATE
                                                                       : MUT_CHECK;
        if (!pb->key)
            return errmsg_set(e, CR_EPROTO, "%s mutation without a key",
                              m->type == MUT_DELETE   ? "delete"
                              : m->type == MUT_UPDATE ? "update"
                                                      : "check");
        rc = wire_map_from_pb(pb->key, a, &m->key, e);
        break;
    default:
        if (is_doc_type(pb->type))
            return doc_mutation_from_pb(pb, a, m, e);
        if (is_graph_type(pb->type))
            return graph_mutation_from_pb(pb, a, m, e);
        return errmsg_set(e, CR_EPROTO, "mutation type %d is unknown", (int)pb->type);
    }
    if (rc == 0)
        rc = table_name_from_pb(pb->table, &m->table, e);
    if (rc == 0)
        rc = wire_condition_from_pb(pb->condition, a, &m->cond, e);
    if (rc == 0)
        rc = hook_from_pb(pb, a, m, e);
    return rc;
}

int wire_log_entry_decode(const uint8_t *p, size_t len, struct cr_arena *a, struct log_batch *out,
                          struct errmsg *e)
{
    ProtobufCAllocator pa;
    Cirrus__LogEntry *entry;
    int rc;

    wire_allocator(&pa, a);
    entry = cirrus__log_entry__unpack(&pa, len, p);
    if (!entry)
        return errmsg_set(e, CR_EPROTO, "log entry does not unpack");
    out->time_ms = entry->time_ms;
    out->token = entry->client_token.len ? (const char *)entry->client_token.data : NULL;
    out->token_len = entry->client_token.len;
    out->request_hash = entry->request_hash;
    out->n = entry->n_mutations;
    out->muts = NULL;
    if (out->n) {
        out->muts = cr_arena_alloc(a, out->n * sizeof *out->muts);
        if (!out->muts)
            return errmsg_set(e, CR_ENOMEM, "out of memory decoding a log entry");
    }
    for (size_t i = 0; i < out->n; i++) {
        rc = mutation_from_pb(entry->mutations[i], a, &out->muts[i], e);
        if (rc < 0)
            return rc;
    }
    return 0;
}
