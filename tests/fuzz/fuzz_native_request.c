/*
 * libFuzzer target: one native-protocol frame body as the server reads it — protobuf unpack into
 * the request arena, then every value, key, condition and schema in it through wire.c's
 * validation. Never a crash or an out-of-bounds read; whatever converts must convert back to
 * protobuf and again to an equal value.
 */
#include "common/assert.h"
#include "server/wire.h"

#include "cirrus.pb-c.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void map_round_trip(const Cirrus__MapValue *pb, struct cr_arena *a)
{
    struct value v, again;
    Cirrus__MapValue *back;
    struct errmsg e;

    if (!pb || wire_map_from_pb(pb, a, &v, &e))
        return;
    CR_ASSERT(wire_map_to_pb(&v, a, &back) == 0);
    CR_ASSERT(wire_map_from_pb(back, a, &again, &e) == 0);
    CR_ASSERT(value_equal(&v, &again));
}

static void value_check(const Cirrus__Value *pb, struct cr_arena *a)
{
    struct value v;
    struct errmsg e;

    if (pb)
        wire_value_from_pb(pb, a, &v, &e);
}

static void condition_check(const Cirrus__WriteCondition *pb, struct cr_arena *a)
{
    struct condition c;
    struct errmsg e;

    wire_condition_from_pb(pb, a, &c, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cr_arena a;
    ProtobufCAllocator pa;
    Cirrus__Request *req;
    struct table_def def;
    struct errmsg e;

    cr_arena_init(&a, 16384);
    wire_allocator(&pa, &a);
    req = cirrus__request__unpack(&pa, size, data);
    if (req) {
        switch (req->op_case) {
        case CIRRUS__REQUEST__OP_CREATE_TABLE:
            if (req->create_table->schema)
                wire_schema_from_pb(req->create_table->schema, &def, &e);
            break;
        case CIRRUS__REQUEST__OP_PUT_ITEM:
            map_round_trip(req->put_item->item, &a);
            condition_check(req->put_item->condition, &a);
            break;
        case CIRRUS__REQUEST__OP_GET_ITEM:
            map_round_trip(req->get_item->key, &a);
            break;
        case CIRRUS__REQUEST__OP_DELETE_ITEM:
            map_round_trip(req->delete_item->key, &a);
            condition_check(req->delete_item->condition, &a);
            break;
        case CIRRUS__REQUEST__OP_QUERY:
            value_check(req->query->partition_key, &a);
            value_check(req->query->sort_key, &a);
            value_check(req->query->sort_key_end, &a);
            break;
        case CIRRUS__REQUEST__OP_BATCH_WRITE:
            for (size_t i = 0; i < req->batch_write->n_ops; i++) {
                const Cirrus__WriteOp *op = req->batch_write->ops[i];
                if (op->op_case == CIRRUS__WRITE_OP__OP_PUT) {
                    map_round_trip(op->put->item, &a);
                    condition_check(op->put->condition, &a);
                } else if (op->op_case == CIRRUS__WRITE_OP__OP_DELETE) {
                    map_round_trip(op->delete_->key, &a);
                }
            }
            break;
        default:
            break;
        }
    }
    cr_arena_free(&a);
    return 0;
}
