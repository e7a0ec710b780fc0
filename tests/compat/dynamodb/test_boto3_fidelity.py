"""DynamoDB fidelity details with the real boto3: CreateTable's Tags, ReturnConsumedCapacity
INDEXES on writes (the table's units and each written index's), TransactWriteItems'
ClientRequestToken across concurrent first uses and a restart of the server, UpdateTable's one
index change per call, index key attributes of the wrong type, ReturnItemCollectionMetrics,
ReturnConsumedCapacity on BatchWriteItem and BatchGetItem, and which error wins when an UpdateItem
has several.

Usage: test_boto3_fidelity.py CIRRUSD [unittest args]. Shares the server fixture of test_boto3.py.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import test_boto3 as base
from test_boto3 import DynamoTest, INVALID, N, S


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


def arn(name):
    return "arn:aws:dynamodb:us-east-1:000000000000:table/" + name


class TestCreateTableTags(DynamoTest):
    def create(self, name, **kw):
        return self.c.create_table(TableName=name,
                                   KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                   AttributeDefinitions=[{"AttributeName": "id",
                                                          "AttributeType": "S"}],
                                   BillingMode="PAY_PER_REQUEST", **kw)

    def test_tags_at_creation(self):
        name = self.name()
        self.create(name, Tags=[{"Key": "team", "Value": "db"}, {"Key": "env", "Value": ""}])
        tags = self.c.list_tags_of_resource(ResourceArn=arn(name))["Tags"]
        self.assertEqual([{"Key": "env", "Value": ""}, {"Key": "team", "Value": "db"}], tags)
        self.c.tag_resource(ResourceArn=arn(name), Tags=[{"Key": "team", "Value": "x"}])
        self.c.untag_resource(ResourceArn=arn(name), TagKeys=["env"])
        tags = self.c.list_tags_of_resource(ResourceArn=arn(name))["Tags"]
        self.assertEqual([{"Key": "team", "Value": "x"}], tags)

    def test_no_tags(self):
        name = self.name()
        self.create(name)
        self.assertEqual([], self.c.list_tags_of_resource(ResourceArn=arn(name))["Tags"])

    def test_invalid_tags_create_nothing(self):
        name = self.name()
        self.assertError("ValidationException",
                         INVALID + "Tag keys starting with 'aws:' are reserved for system use: "
                         "aws:x", self.create, name=name, Tags=[{"Key": "aws:x", "Value": "v"}])
        self.assertError("ValidationException",
                         INVALID + "Too many tags: a table can have at most 50 tags",
                         self.create, name=name,
                         Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)])
        self.assertError("ValidationException", None, self.create, name=name,
                         Tags=[{"Key": "k" * 129, "Value": "v"}])
        self.assertNotIn(name, self.c.list_tables()["TableNames"])


class TestIndexCapacity(DynamoTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "cap_%d" % os.getpid()
        cls.c.create_table(
            TableName=cls.t,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"},
                                  {"AttributeName": "l", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "byg",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "KEYS_ONLY"}}],
            LocalSecondaryIndexes=[{"IndexName": "byl",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                  {"AttributeName": "l", "KeyType": "RANGE"}],
                                    "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")

    def put(self, item, mode="INDEXES"):
        return self.c.put_item(TableName=self.t, Item=item,
                               ReturnConsumedCapacity=mode)["ConsumedCapacity"]

    def test_put_without_index_keys(self):
        cap = self.put({"pk": S("a"), "sk": S("1")})
        self.assertEqual({"TableName": self.t, "CapacityUnits": 1.0,
                          "Table": {"CapacityUnits": 1.0}}, cap)

    def test_put_in_both_indexes(self):
        cap = self.put({"pk": S("a"), "sk": S("2"), "g": S("x"), "l": S("y"),
                        "big": S("z" * 3000)})
        self.assertEqual({"TableName": self.t, "CapacityUnits": 7.0,
                          "Table": {"CapacityUnits": 3.0},
                          "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 1.0}},
                          "LocalSecondaryIndexes": {"byl": {"CapacityUnits": 3.0}}}, cap)
        # TOTAL is the same sum without the breakdown.
        cap = self.put({"pk": S("a"), "sk": S("3"), "g": S("x")}, mode="TOTAL")
        self.assertEqual({"TableName": self.t, "CapacityUnits": 2.0}, cap)

    def test_update_moves_index_key(self):
        self.put({"pk": S("b"), "sk": S("1"), "g": S("x")})
        cap = self.c.update_item(TableName=self.t, Key={"pk": S("b"), "sk": S("1")},
                                 UpdateExpression="SET g = :g",
                                 ExpressionAttributeValues={":g": S("y")},
                                 ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
        # A changed index key costs a delete and a put on the index.
        self.assertEqual({"TableName": self.t, "CapacityUnits": 3.0,
                          "Table": {"CapacityUnits": 1.0},
                          "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 2.0}}}, cap)
        # An attribute the KEYS_ONLY index does not project costs it nothing, and the LSI does
        # not hold the item (no l): only the table pays.
        cap = self.c.update_item(TableName=self.t, Key={"pk": S("b"), "sk": S("1")},
                                 UpdateExpression="SET extra = :o",
                                 ExpressionAttributeValues={":o": S("v")},
                                 ReturnValues="UPDATED_NEW",
                                 ReturnConsumedCapacity="INDEXES")
        self.assertEqual({"extra": {"S": "v"}}, cap["Attributes"])
        self.assertEqual({"TableName": self.t, "CapacityUnits": 1.0,
                          "Table": {"CapacityUnits": 1.0}}, cap["ConsumedCapacity"])

    def test_delete_leaves_indexes(self):
        self.put({"pk": S("c"), "sk": S("1"), "g": S("x"), "l": S("y")})
        out = self.c.delete_item(TableName=self.t, Key={"pk": S("c"), "sk": S("1")},
                                 ReturnConsumedCapacity="INDEXES")
        self.assertNotIn("Attributes", out)
        self.assertEqual({"TableName": self.t, "CapacityUnits": 3.0,
                          "Table": {"CapacityUnits": 1.0},
                          "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 1.0}},
                          "LocalSecondaryIndexes": {"byl": {"CapacityUnits": 1.0}}},
                         out["ConsumedCapacity"])

    def test_transact_write(self):
        out = self.c.transact_write_items(
            TransactItems=[{"Put": {"TableName": self.t,
                                    "Item": {"pk": S("d"), "sk": S("1"), "g": S("x")}}},
                           {"Put": {"TableName": self.t,
                                    "Item": {"pk": S("d"), "sk": S("2")}}}],
            ReturnConsumedCapacity="INDEXES")
        self.assertEqual([{"TableName": self.t, "CapacityUnits": 6.0,
                           "Table": {"CapacityUnits": 4.0},
                           "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 2.0}}}],
                         out["ConsumedCapacity"])

    def metrics(self, pk):
        return {"ItemCollectionKey": {"pk": S(pk)}, "SizeEstimateRangeGB": [0.0, 1.0]}

    def test_item_collection_metrics(self):
        out = self.c.put_item(TableName=self.t, Item={"pk": S("m"), "sk": S("1"), "l": S("a")},
                              ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(self.metrics("m"), out["ItemCollectionMetrics"])
        out = self.c.update_item(TableName=self.t, Key={"pk": S("m"), "sk": S("1")},
                                 UpdateExpression="SET x = :x",
                                 ExpressionAttributeValues={":x": N(1)},
                                 ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(self.metrics("m"), out["ItemCollectionMetrics"])
        out = self.c.delete_item(TableName=self.t, Key={"pk": S("m"), "sk": S("1")},
                                 ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(self.metrics("m"), out["ItemCollectionMetrics"])
        out = self.c.put_item(TableName=self.t, Item={"pk": S("m"), "sk": S("1")},
                              ReturnItemCollectionMetrics="NONE")
        self.assertNotIn("ItemCollectionMetrics", out)
        out = self.c.batch_write_item(ReturnItemCollectionMetrics="SIZE", RequestItems={self.t: [
            {"PutRequest": {"Item": {"pk": S("m1"), "sk": S("1")}}},
            {"PutRequest": {"Item": {"pk": S("m1"), "sk": S("2")}}},
            {"DeleteRequest": {"Key": {"pk": S("m2"), "sk": S("1")}}}]})
        self.assertEqual({self.t: [self.metrics("m1"), self.metrics("m2")]},
                         out["ItemCollectionMetrics"])
        out = self.c.transact_write_items(ReturnItemCollectionMetrics="SIZE", TransactItems=[
            {"Put": {"TableName": self.t, "Item": {"pk": S("m3"), "sk": S("1")}}},
            {"ConditionCheck": {"TableName": self.t, "Key": {"pk": S("m1"), "sk": S("1")},
                                "ConditionExpression": "attribute_exists(pk)"}}])
        self.assertEqual({self.t: [self.metrics("m3")]}, out["ItemCollectionMetrics"])
        self.assertError("ValidationException",
                         "1 validation error detected: Value 'ALL' at "
                         "'returnItemCollectionMetrics' failed to satisfy constraint: Member "
                         "must satisfy enum value set: [SIZE, NONE]",
                         self.c.put_item, TableName=self.t, Item={"pk": S("m"), "sk": S("9")},
                         ReturnItemCollectionMetrics="ALL")
        self.absent_item("m", "9")

    def absent_item(self, pk, sk):
        out = self.c.get_item(TableName=self.t, Key={"pk": S(pk), "sk": S(sk)})
        self.assertNotIn("Item", out)

    def test_no_metrics_without_lsi(self):
        name = "nolsi_%d" % os.getpid()
        self.c.create_table(TableName=name,
                            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        out = self.c.put_item(TableName=name, Item={"id": S("a")},
                              ReturnItemCollectionMetrics="SIZE")
        self.assertNotIn("ItemCollectionMetrics", out)
        out = self.c.batch_write_item(ReturnItemCollectionMetrics="SIZE", RequestItems={
            name: [{"PutRequest": {"Item": {"id": S("b")}}}]})
        self.assertNotIn("ItemCollectionMetrics", out)

    def test_batch_write_capacity(self):
        out = self.c.batch_write_item(ReturnConsumedCapacity="INDEXES", RequestItems={self.t: [
            {"PutRequest": {"Item": {"pk": S("w"), "sk": S("1"), "g": S("x")}}},
            {"PutRequest": {"Item": {"pk": S("w"), "sk": S("2"), "big": S("b" * 1500)}}}]})
        self.assertEqual([{"TableName": self.t, "CapacityUnits": 4.0,
                           "Table": {"CapacityUnits": 3.0},
                           "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 1.0}}}],
                         out["ConsumedCapacity"])
        out = self.c.batch_write_item(ReturnConsumedCapacity="TOTAL", RequestItems={self.t: [
            {"DeleteRequest": {"Key": {"pk": S("w"), "sk": S("1")}}}]})
        self.assertEqual([{"TableName": self.t, "CapacityUnits": 2.0}], out["ConsumedCapacity"])
        out = self.c.batch_write_item(RequestItems={self.t: [
            {"DeleteRequest": {"Key": {"pk": S("w"), "sk": S("2")}}}]})
        self.assertNotIn("ConsumedCapacity", out)

    def test_batch_get_capacity(self):
        self.c.put_item(TableName=self.t, Item={"pk": S("r"), "sk": S("1"), "y": S("y" * 5000)})
        keys = [{"pk": S("r"), "sk": S("1")}, {"pk": S("r"), "sk": S("missing")}]
        out = self.c.batch_get_item(ReturnConsumedCapacity="TOTAL",
                                    RequestItems={self.t: {"Keys": keys}})
        self.assertEqual([{"TableName": self.t, "CapacityUnits": 1.5}], out["ConsumedCapacity"])
        out = self.c.batch_get_item(ReturnConsumedCapacity="INDEXES", RequestItems={
            self.t: {"Keys": keys, "ConsistentRead": True}})
        self.assertEqual([{"TableName": self.t, "CapacityUnits": 3.0,
                           "Table": {"CapacityUnits": 3.0}}], out["ConsumedCapacity"])
        out = self.c.batch_get_item(RequestItems={self.t: {"Keys": keys}})
        self.assertNotIn("ConsumedCapacity", out)


class TestIndexRules(DynamoTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "rules_%d" % os.getpid()
        cls.c.create_table(
            TableName=cls.t,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"},
                                  {"AttributeName": "l", "AttributeType": "N"}],
            GlobalSecondaryIndexes=[{"IndexName": "byg",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "KEYS_ONLY"}}],
            LocalSecondaryIndexes=[{"IndexName": "byl",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                  {"AttributeName": "l", "KeyType": "RANGE"}],
                                    "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")

    def gsi(self, name, attr):
        return {"Create": {"IndexName": name,
                           "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}],
                           "Projection": {"ProjectionType": "ALL"}}}

    def index_names(self):
        d = self.c.describe_table(TableName=self.t)["Table"]
        return sorted(x["IndexName"] for x in d.get("GlobalSecondaryIndexes", []))

    def test_one_index_change_per_update_table(self):
        limit = ("Subscriber limit exceeded: Only 1 online index can be created or deleted "
                 "simultaneously per table")
        defs = [{"AttributeName": "a", "AttributeType": "S"},
                {"AttributeName": "b", "AttributeType": "S"}]
        self.assertError("LimitExceededException", limit, self.c.update_table, TableName=self.t,
                         AttributeDefinitions=defs,
                         GlobalSecondaryIndexUpdates=[self.gsi("bya", "a"), self.gsi("byb", "b")])
        self.assertError("LimitExceededException", limit, self.c.update_table, TableName=self.t,
                         AttributeDefinitions=defs,
                         GlobalSecondaryIndexUpdates=[self.gsi("bya", "a"),
                                                      {"Delete": {"IndexName": "byg"}}])
        self.assertEqual(["byg"], self.index_names())
        self.c.update_table(TableName=self.t, AttributeDefinitions=defs[:1],
                            GlobalSecondaryIndexUpdates=[self.gsi("bya", "a")])
        self.assertEqual(["bya", "byg"], self.index_names())
        self.c.update_table(TableName=self.t,
                            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "bya"}}])
        self.assertEqual(["byg"], self.index_names())

    def mismatch(self, attr, want, got, index):
        return (INVALID + "Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s"
                % (attr, want, got, index))

    def absent(self, pk, sk):
        out = self.c.get_item(TableName=self.t, Key={"pk": S(pk), "sk": S(sk)})
        self.assertNotIn("Item", out)

    def test_put_wrong_index_key_type(self):
        self.assertError("ValidationException", self.mismatch("g", "S", "N", "byg"),
                         self.c.put_item, TableName=self.t,
                         Item={"pk": S("p"), "sk": S("1"), "g": N(5)})
        self.assertError("ValidationException", self.mismatch("l", "N", "SS", "byl"),
                         self.c.put_item, TableName=self.t,
                         Item={"pk": S("p"), "sk": S("1"), "l": {"SS": ["x"]}})
        self.absent("p", "1")
        self.assertError("ValidationException", self.mismatch("g", "S", "B", "byg"),
                         self.c.batch_write_item, RequestItems={self.t: [
                             {"PutRequest": {"Item": {"pk": S("p"), "sk": S("2")}}},
                             {"PutRequest": {"Item": {"pk": S("p"), "sk": S("3"),
                                                      "g": {"B": b"x"}}}}]})
        self.absent("p", "2")
        self.assertError("ValidationException", self.mismatch("g", "S", "N", "byg"),
                         self.c.transact_write_items, TransactItems=[
                             {"Put": {"TableName": self.t,
                                      "Item": {"pk": S("p"), "sk": S("4"), "g": N(1)}}}])
        self.absent("p", "4")
        # Without the attribute the item is written and left out of the index (sparse).
        self.c.put_item(TableName=self.t, Item={"pk": S("p"), "sk": S("5")})

    def test_empty_index_key_refused(self):
        # DynamoDB's text for an empty string (or binary) index key, from PutItem to transactions
        empty = ("One or more parameter values are not valid. A value specified for a secondary "
                 "index key is not supported. The AttributeValue for a key attribute cannot "
                 "contain an empty string value. IndexName: byg, IndexKey: g")
        self.assertError("ValidationException", empty, self.c.put_item, TableName=self.t,
                         Item={"pk": S("e"), "sk": S("1"), "g": S("")})
        self.assertError("ValidationException", empty, self.c.update_item, TableName=self.t,
                         Key={"pk": S("e"), "sk": S("2")}, UpdateExpression="SET g = :v",
                         ExpressionAttributeValues={":v": S("")})
        self.absent("e", "1")
        self.absent("e", "2")
        # an empty non-key string is fine
        self.c.put_item(TableName=self.t, Item={"pk": S("e"), "sk": S("3"), "x": S("")})

    def test_update_wrong_index_key_type(self):
        self.c.put_item(TableName=self.t, Item={"pk": S("u"), "sk": S("1"), "g": S("x")})
        self.assertError("ValidationException", self.mismatch("g", "S", "N", "byg"),
                         self.c.update_item, TableName=self.t,
                         Key={"pk": S("u"), "sk": S("1")}, UpdateExpression="SET g = :v, y = :v",
                         ExpressionAttributeValues={":v": N(1)})
        self.assertEqual({"pk": S("u"), "sk": S("1"), "g": S("x")},
                         self.c.get_item(TableName=self.t,
                                         Key={"pk": S("u"), "sk": S("1")})["Item"])
        out = self.c.query(TableName=self.t, IndexName="byg",
                           KeyConditionExpression="g = :g",
                           ExpressionAttributeValues={":g": S("x")})
        self.assertEqual(1, out["Count"])
        self.assertError("ValidationException", self.mismatch("l", "N", "S", "byl"),
                         self.c.update_item, TableName=self.t,
                         Key={"pk": S("u"), "sk": S("2")}, UpdateExpression="SET l = :v",
                         ExpressionAttributeValues={":v": S("one")})
        self.absent("u", "2")
        # In a transaction the update fails when applied: cancelled, with the reason's text.
        r = self.assertError("TransactionCanceledException", None, self.c.transact_write_items,
                             TransactItems=[
                                 {"Put": {"TableName": self.t,
                                          "Item": {"pk": S("u"), "sk": S("3")}}},
                                 {"Update": {"TableName": self.t,
                                             "Key": {"pk": S("u"), "sk": S("1")},
                                             "UpdateExpression": "SET g = :v",
                                             "ExpressionAttributeValues": {":v": N(2)}}}])
        self.assertEqual([{"Code": "None"},
                          {"Code": "ValidationError",
                           "Message": self.mismatch("g", "S", "N", "byg")}],
                         r["CancellationReasons"])
        self.absent("u", "3")


class TestErrorPrecedence(DynamoTest):
    def test_update_expression_before_condition(self):
        name = "prec_%d" % os.getpid()
        self.c.create_table(TableName=name,
                            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        bad_update = dict(UpdateExpression="ADD m :m", ExpressionAttributeValues={
            ":m": {"M": {"k": S("v")}}, ":hi": N(100), ":lo": N(0)})
        self.assertError("ValidationException",
                         "Invalid UpdateExpression: Incorrect operand type for operator or "
                         "function; operator: ADD, operand type: MAP, typeSet: "
                         "ALLOWED_FOR_ADD_OPERAND",
                         self.c.update_item, TableName=name, Key={"id": S("a")},
                         ConditionExpression="x BETWEEN :hi AND :lo", **bad_update)
        # The condition's error when the update is valid.
        self.assertError("ValidationException",
                         "Invalid ConditionExpression: The BETWEEN operator requires upper bound "
                         "to be greater than or equal to lower bound; lower bound operand: "
                         "AttributeValue: {N:100}, upper bound operand: AttributeValue: {N:0}",
                         self.c.update_item, TableName=name, Key={"id": S("a")},
                         ConditionExpression="x BETWEEN :hi AND :lo", UpdateExpression="SET m = :m",
                         ExpressionAttributeValues=bad_update["ExpressionAttributeValues"])


MISMATCH = ("DynamoDB rejected the request because you retried a request with a different "
            "payload but with an idempotent token that was already used.")


class TestClientRequestToken(DynamoTest):
    def make(self, c, name):
        c.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")

    @staticmethod
    def add(name):
        return [{"Update": {"TableName": name, "Key": {"id": S("c")},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": N(1)}}}]

    def test_concurrent_first_uses_apply_once(self):
        name = "tok_conc_%d" % os.getpid()
        self.make(self.c, name)
        errors, barrier = [], threading.Barrier(8)

        def run():
            c = base.client()
            barrier.wait()
            try:
                out = c.transact_write_items(TransactItems=self.add(name),
                                             ClientRequestToken="same-token",
                                             ReturnConsumedCapacity="TOTAL")
                self.assertEqual(1, len(out["ConsumedCapacity"]))
            except Exception as e:  # noqa: BLE001 - every failure is reported below
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], errors)
        item = self.c.get_item(TableName=name, Key={"id": S("c")})["Item"]
        self.assertEqual(N(1), item["n"])

    def test_replay_answers_as_the_first(self):
        name = "tok_replay_%d" % os.getpid()
        self.make(self.c, name)
        first = self.c.transact_write_items(TransactItems=self.add(name),
                                            ClientRequestToken="replay")
        again = self.c.transact_write_items(TransactItems=self.add(name),
                                            ClientRequestToken="replay")
        for out in (first, again):
            self.assertEqual({}, {k: v for k, v in out.items() if k != "ResponseMetadata"})
        # A failed transaction records nothing: its token stays free.
        self.assertError("TransactionCanceledException", None, self.c.transact_write_items,
                         ClientRequestToken="failed", TransactItems=[
                             {"ConditionCheck": {"TableName": name, "Key": {"id": S("c")},
                                                 "ConditionExpression": "attribute_not_exists(id)"}}])
        self.c.transact_write_items(TransactItems=self.add(name), ClientRequestToken="failed")
        item = self.c.get_item(TableName=name, Key={"id": S("c")})["Item"]
        self.assertEqual(N(2), item["n"])

    def test_token_survives_restart(self):
        data = tempfile.mkdtemp(prefix="cirrus-ddb-token-")
        port_file = os.path.join(data, "http.port")
        argv = [base.CIRRUSD, "--data", os.path.join(data, "data"), "--listen", "127.0.0.1:0",
                "--http", "127.0.0.1:0", "--http-port-file", port_file, "--sync", "full",
                "--log-level", "warn", "--threads", "2"]

        def start():
            if os.path.exists(port_file):
                os.unlink(port_file)
            server = subprocess.Popen(argv)
            deadline = time.time() + 20
            while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
                self.assertIsNone(server.poll(), "cirrusd exited")
                self.assertLess(time.time(), deadline, "cirrusd did not start")
                time.sleep(0.02)
            with open(port_file) as f:
                port = int(f.read())
            return server, boto3.client(
                "dynamodb", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                config=Config(retries={"total_max_attempts": 1}))

        def stop(server):
            server.send_signal(signal.SIGTERM)
            self.assertEqual(0, server.wait(timeout=30))

        server = None
        try:
            server, c = start()
            self.make(c, "tok")
            c.transact_write_items(TransactItems=self.add("tok"), ClientRequestToken="durable")
            stop(server)
            server, c = start()
            c.transact_write_items(TransactItems=self.add("tok"), ClientRequestToken="durable")
            self.assertEqual(N(1), c.get_item(TableName="tok", Key={"id": S("c")})["Item"]["n"])
            with self.assertRaises(ClientError) as cm:
                c.transact_write_items(ClientRequestToken="durable", TransactItems=[
                    {"Put": {"TableName": "tok", "Item": {"id": S("other")}}}])
            self.assertEqual("IdempotentParameterMismatchException",
                             cm.exception.response["Error"]["Code"])
            self.assertEqual(MISMATCH, cm.exception.response["Error"]["Message"])
            self.assertNotIn("Item", c.get_item(TableName="tok", Key={"id": S("other")}))
            stop(server)
            server = None
        finally:
            if server is not None and server.poll() is None:
                server.kill()
                server.wait()
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    base.CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
