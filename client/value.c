/*
 * Building, copying, comparing and freeing struct cirrus_value (cirrus.h). Pure memory work:
 * no protocol, no I/O. A failed builder leaves its output as it was documented in cirrus.h,
 * never half-built.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/cirrus.h"

void cirrus_value_null(struct cirrus_value *v)
{
    memset(v, 0, sizeof(*v));
    v->type = CIRRUS_NULL;
}

void cirrus_value_bool(struct cirrus_value *v, int b)
{
    cirrus_value_null(v);
    v->type = CIRRUS_BOOL;
    v->u.b = b != 0;
}

void cirrus_value_int(struct cirrus_value *v, int64_t i)
{
    cirrus_value_null(v);
    v->type = CIRRUS_INT;
    v->u.i = i;
}

void cirrus_value_double(struct cirrus_value *v, double d)
{
    cirrus_value_null(v);
    v->type = CIRRUS_DOUBLE;
    v->u.d = d;
}

void cirrus_value_timestamp(struct cirrus_value *v, int64_t sec, int32_t nsec)
{
    cirrus_value_null(v);
    v->type = CIRRUS_TIMESTAMP;
    v->u.ts.sec = sec;
    v->u.ts.nsec = nsec;
}

void cirrus_value_geopoint(struct cirrus_value *v, double lat, double lon)
{
    cirrus_value_null(v);
    v->type = CIRRUS_GEOPOINT;
    v->u.geo.lat = lat;
    v->u.geo.lon = lon;
}

/* Copies len bytes plus a terminating NUL so text kinds can be used as C strings. */
static int set_text(struct cirrus_value *v, enum cirrus_type type, const void *p, size_t len)
{
    char *s = malloc(len + 1);

    cirrus_value_null(v);
    if (s == NULL)
        return CR_ENOMEM;
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    v->type = type;
    v->u.str.ptr = s;
    v->u.str.len = len;
    return 0;
}

int cirrus_value_string(struct cirrus_value *v, const char *s, size_t len)
{
    return set_text(v, CIRRUS_STRING, s, len);
}

int cirrus_value_decimal(struct cirrus_value *v, const char *text)
{
    return set_text(v, CIRRUS_DECIMAL, text, strlen(text));
}

int cirrus_value_bytes(struct cirrus_value *v, const void *p, size_t len)
{
    return set_text(v, CIRRUS_BYTES, p, len);
}

int cirrus_value_ref(struct cirrus_value *v, const char *path)
{
    return set_text(v, CIRRUS_REF, path, strlen(path));
}

static int is_list(enum cirrus_type t)
{
    return t == CIRRUS_ARRAY || t == CIRRUS_STRING_SET || t == CIRRUS_NUMBER_SET ||
           t == CIRRUS_BINARY_SET;
}

int cirrus_value_container(struct cirrus_value *v, enum cirrus_type type)
{
    if (!is_list(type) && type != CIRRUS_MAP)
        return CR_EINVAL;
    cirrus_value_null(v);
    v->type = type;
    return 0;
}

/* Grows an array of `size`-byte elements to hold one more; 0 or CR_ENOMEM (array unchanged). */
static int grow(void **items, size_t len, size_t *cap, size_t size)
{
    size_t ncap;
    void *p;

    if (len < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    p = realloc(*items, ncap * size);
    if (p == NULL)
        return CR_ENOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

int cirrus_list_append(struct cirrus_value *list, struct cirrus_value *elem)
{
    void *items;
    int rc;

    if (!is_list(list->type))
        return CR_EINVAL;
    items = list->u.list.items;
    rc = grow(&items, list->u.list.len, &list->u.list.cap, sizeof(struct cirrus_value));
    list->u.list.items = items;
    if (rc != 0)
        return rc;
    list->u.list.items[list->u.list.len++] = *elem;
    cirrus_value_null(elem);
    return 0;
}

int cirrus_map_set(struct cirrus_value *map, const char *name, struct cirrus_value *val)
{
    struct cirrus_field *f;
    void *fields;
    char *copy;
    size_t i;
    int rc;

    if (map->type != CIRRUS_MAP)
        return CR_EINVAL;
    for (i = 0; i < map->u.map.len; i++) {
        f = &map->u.map.fields[i];
        if (strcmp(f->name, name) == 0) {
            cirrus_value_clear(&f->value);
            f->value = *val;
            cirrus_value_null(val);
            return 0;
        }
    }
    copy = strdup(name);
    if (copy == NULL)
        return CR_ENOMEM;
    fields = map->u.map.fields;
    rc = grow(&fields, map->u.map.len, &map->u.map.cap, sizeof(struct cirrus_field));
    map->u.map.fields = fields;
    if (rc != 0) {
        free(copy);
        return rc;
    }
    f = &map->u.map.fields[map->u.map.len++];
    f->name = copy;
    f->value = *val;
    cirrus_value_null(val);
    return 0;
}

const struct cirrus_value *cirrus_map_get(const struct cirrus_value *map, const char *name)
{
    size_t i;

    if (map == NULL || map->type != CIRRUS_MAP)
        return NULL;
    for (i = 0; i < map->u.map.len; i++)
        if (strcmp(map->u.map.fields[i].name, name) == 0)
            return &map->u.map.fields[i].value;
    return NULL;
}

void cirrus_value_clear(struct cirrus_value *v)
{
    size_t i;

    switch (v->type) {
    case CIRRUS_DECIMAL:
    case CIRRUS_STRING:
    case CIRRUS_BYTES:
    case CIRRUS_REF:
        free(v->u.str.ptr);
        break;
    case CIRRUS_ARRAY:
    case CIRRUS_STRING_SET:
    case CIRRUS_NUMBER_SET:
    case CIRRUS_BINARY_SET:
        for (i = 0; i < v->u.list.len; i++)
            cirrus_value_clear(&v->u.list.items[i]);
        free(v->u.list.items);
        break;
    case CIRRUS_MAP:
        for (i = 0; i < v->u.map.len; i++) {
            free(v->u.map.fields[i].name);
            cirrus_value_clear(&v->u.map.fields[i].value);
        }
        free(v->u.map.fields);
        break;
    default:
        break;
    }
    cirrus_value_null(v);
}

static int copy_at(struct cirrus_value *dst, const struct cirrus_value *src, int depth)
{
    struct cirrus_value tmp;
    size_t i;
    int rc;

    cirrus_value_null(dst);
    if (depth > CIRRUS_MAX_DEPTH)
        return CR_ENESTING;
    switch (src->type) {
    case CIRRUS_DECIMAL:
    case CIRRUS_STRING:
    case CIRRUS_BYTES:
    case CIRRUS_REF:
        return set_text(dst, src->type, src->u.str.ptr, src->u.str.len);
    case CIRRUS_ARRAY:
    case CIRRUS_STRING_SET:
    case CIRRUS_NUMBER_SET:
    case CIRRUS_BINARY_SET:
    case CIRRUS_MAP:
        cirrus_value_container(dst, src->type);
        break;
    default:
        *dst = *src;
        return 0;
    }
    if (src->type == CIRRUS_MAP) {
        for (i = 0; i < src->u.map.len; i++) {
            rc = copy_at(&tmp, &src->u.map.fields[i].value, depth + 1);
            if (rc == 0 && (rc = cirrus_map_set(dst, src->u.map.fields[i].name, &tmp)) != 0)
                cirrus_value_clear(&tmp);
            if (rc != 0)
                goto fail;
        }
        return 0;
    }
    for (i = 0; i < src->u.list.len; i++) {
        rc = copy_at(&tmp, &src->u.list.items[i], depth + 1);
        if (rc == 0 && (rc = cirrus_list_append(dst, &tmp)) != 0)
            cirrus_value_clear(&tmp);
        if (rc != 0)
            goto fail;
    }
    return 0;
fail:
    cirrus_value_clear(dst);
    return rc;
}

int cirrus_value_copy(struct cirrus_value *dst, const struct cirrus_value *src)
{
    return copy_at(dst, src, 0);
}

int cirrus_value_equal(const struct cirrus_value *a, const struct cirrus_value *b)
{
    const struct cirrus_value *bv;
    size_t i;

    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case CIRRUS_NULL:
        return 1;
    case CIRRUS_BOOL:
        return a->u.b == b->u.b;
    case CIRRUS_INT:
        return a->u.i == b->u.i;
    case CIRRUS_DOUBLE:
        return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
    case CIRRUS_DECIMAL:
    case CIRRUS_STRING:
    case CIRRUS_BYTES:
    case CIRRUS_REF:
        return a->u.str.len == b->u.str.len &&
               (a->u.str.len == 0 || memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0);
    case CIRRUS_TIMESTAMP:
        return a->u.ts.sec == b->u.ts.sec && a->u.ts.nsec == b->u.ts.nsec;
    case CIRRUS_GEOPOINT:
        return a->u.geo.lat == b->u.geo.lat && a->u.geo.lon == b->u.geo.lon;
    case CIRRUS_MAP:
        if (a->u.map.len != b->u.map.len)
            return 0;
        for (i = 0; i < a->u.map.len; i++) {
            bv = cirrus_map_get(b, a->u.map.fields[i].name);
            if (bv == NULL || !cirrus_value_equal(&a->u.map.fields[i].value, bv))
                return 0;
        }
        return 1;
    default:
        if (a->u.list.len != b->u.list.len)
            return 0;
        for (i = 0; i < a->u.list.len; i++)
            if (!cirrus_value_equal(&a->u.list.items[i], &b->u.list.items[i]))
                return 0;
        return 1;
    }
}

void cirrus_result_free(struct cirrus_result *r)
{
    size_t i;

    cirrus_value_clear(&r->item);
    for (i = 0; i < r->n_items; i++)
        cirrus_value_clear(&r->items[i]);
    free(r->items);
    free(r->cursor);
    for (i = 0; i < r->n_tables; i++)
        free(r->tables[i]);
    free(r->tables);
    free(r->last_evaluated);
    free(r->table.name);
    free(r->table.pk_name);
    free(r->table.sk_name);
    for (i = 0; i < r->n_writes; i++)
        cirrus_value_clear(&r->writes[i].old_item);
    free(r->writes);
    free(r->collection.db);
    free(r->collection.name);
    free(r->collection.pk_path);
    for (i = 0; i < r->n_collections; i++) {
        free(r->collections[i].db);
        free(r->collections[i].name);
        free(r->collections[i].pk_path);
    }
    free(r->collections);
    free(r->etag);
    free(r->graph.name);
    for (i = 0; i < r->n_graphs; i++)
        free(r->graphs[i].name);
    free(r->graphs);
    for (i = 0; i < r->n_neighbors; i++) {
        cirrus_value_clear(&r->neighbors[i].vertex);
        cirrus_value_clear(&r->neighbors[i].vertex_label);
        cirrus_value_clear(&r->neighbors[i].edge);
        cirrus_value_clear(&r->neighbors[i].edge_label);
    }
    free(r->neighbors);
    free(r->depths);
    memset(r, 0, sizeof(*r));
}
