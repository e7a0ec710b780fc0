/* Hand-built native-protocol frames for black-box tests. */
#include "rawproto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int raw_write(int fd, const void *p, size_t n)
{
    const uint8_t *q = p;

    while (n) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

int raw_send(int fd, const Cirrus__Request *req)
{
    size_t n = cirrus__request__get_packed_size(req);
    uint8_t *buf = malloc(n + 4);
    int rc;

    if (!buf)
        return -1;
    buf[0] = (uint8_t)(n >> 24);
    buf[1] = (uint8_t)(n >> 16);
    buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    cirrus__request__pack(req, buf + 4);
    rc = raw_write(fd, buf, n + 4);
    free(buf);
    return rc;
}

static int read_full(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

Cirrus__Response *raw_recv(int fd, int timeout_ms)
{
    uint8_t hdr[4], *body;
    uint32_t n;
    Cirrus__Response *r;

    if (read_full(fd, hdr, 4, timeout_ms))
        return NULL;
    n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
    if (n > (64u << 20))
        return NULL;
    body = malloc(n ? n : 1);
    if (!body)
        return NULL;
    if (read_full(fd, body, n, timeout_ms)) {
        free(body);
        return NULL;
    }
    r = cirrus__response__unpack(NULL, n, body);
    free(body);
    return r;
}

int raw_wait_closed(int fd, int timeout_ms)
{
    uint8_t buf[4096];

    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return 0;
        r = read(fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 1;
        if (r < 0 && errno != EINTR)
            return 1;
    }
}

Cirrus__Response *raw_call(int fd, Cirrus__Request *req)
{
    if (raw_send(fd, req))
        return NULL;
    return raw_recv(fd, 10000);
}

static Cirrus__Value *new_value(Cirrus__Value__KindCase k)
{
    Cirrus__Value *v = malloc(sizeof *v);
    cirrus__value__init(v);
    v->kind_case = k;
    return v;
}

Cirrus__Value *raw_str(const char *s)
{
    Cirrus__Value *v = new_value(CIRRUS__VALUE__KIND_STRING_VALUE);
    v->string_value.len = strlen(s);
    v->string_value.data = (uint8_t *)strdup(s);
    return v;
}

Cirrus__Value *raw_int(int64_t i)
{
    Cirrus__Value *v = new_value(CIRRUS__VALUE__KIND_INT_VALUE);
    v->int_value = i;
    return v;
}

Cirrus__Value *raw_dec(const char *s)
{
    Cirrus__Value *v = new_value(CIRRUS__VALUE__KIND_DECIMAL_VALUE);
    v->decimal_value = strdup(s);
    return v;
}

Cirrus__Value *raw_bytes(const void *p, size_t n)
{
    Cirrus__Value *v = new_value(CIRRUS__VALUE__KIND_BYTES_VALUE);
    v->bytes_value.data = malloc(n ? n : 1);
    memcpy(v->bytes_value.data, p, n);
    v->bytes_value.len = n;
    return v;
}

Cirrus__MapValue *raw_mapvalue(size_t n, const char *const *names, Cirrus__Value **values)
{
    Cirrus__MapValue *m = malloc(sizeof *m);
    cirrus__map_value__init(m);
    m->n_fields = n;
    m->fields = calloc(n ? n : 1, sizeof *m->fields);
    for (size_t i = 0; i < n; i++) {
        Cirrus__Field *f = malloc(sizeof *f);
        cirrus__field__init(f);
        f->name = strdup(names[i]);
        f->value = values[i];
        m->fields[i] = f;
    }
    return m;
}

Cirrus__Value *raw_map(size_t n, const char *const *names, Cirrus__Value **values)
{
    Cirrus__Value *v = new_value(CIRRUS__VALUE__KIND_MAP_VALUE);
    v->map_value = raw_mapvalue(n, names, values);
    return v;
}

void raw_mapvalue_free(Cirrus__MapValue *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_fields; i++) {
        free(m->fields[i]->name);
        raw_value_free(m->fields[i]->value);
        free(m->fields[i]);
    }
    free(m->fields);
    free(m);
}

void raw_value_free(Cirrus__Value *v)
{
    if (!v)
        return;
    switch (v->kind_case) {
    case CIRRUS__VALUE__KIND_STRING_VALUE:
        free(v->string_value.data);
        break;
    case CIRRUS__VALUE__KIND_DECIMAL_VALUE:
        free(v->decimal_value);
        break;
    case CIRRUS__VALUE__KIND_BYTES_VALUE:
        free(v->bytes_value.data);
        break;
    case CIRRUS__VALUE__KIND_MAP_VALUE:
        raw_mapvalue_free(v->map_value);
        break;
    case CIRRUS__VALUE__KIND_ARRAY_VALUE:
        for (size_t i = 0; i < v->array_value->n_values; i++)
            raw_value_free(v->array_value->values[i]);
        free(v->array_value->values);
        free(v->array_value);
        break;
    default:
        break;
    }
    free(v);
}
