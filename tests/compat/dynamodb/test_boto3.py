"""DynamoDB compatibility: the real boto3 SDK, unchanged, against a real cirrusd.

Usage: test_boto3.py CIRRUSD [unittest args]. Starts cirrusd on ephemeral loopback ports in a
temporary data directory and checks results, error types and DynamoDB's message texts.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CIRRUSD = None
SERVER = None
PORT = None
DATA = None
INVALID = "One or more parameter values were invalid: "


def setUpModule():
    global SERVER, PORT, DATA
    DATA = tempfile.mkdtemp(prefix="cirrus-ddb-")
    port_file = os.path.join(DATA, "http.port")
    SERVER = subprocess.Popen(
        [CIRRUSD, "--data", os.path.join(DATA, "data"), "--listen", "127.0.0.1:0",
         "--http", "127.0.0.1:0", "--http-port-file", port_file, "--sync", "none",
         "--log-level", "warn", "--threads", "2"])
    deadline = time.time() + 20
    while not os.path.exists(port_file):
        if SERVER.poll() is not None or time.time() > deadline:
            raise RuntimeError("cirrusd did not start")
        time.sleep(0.05)
    PORT = int(open(port_file).read())


def tearDownModule():
    SERVER.send_signal(signal.SIGTERM)
    rc = SERVER.wait(timeout=30)
    shutil.rmtree(DATA, ignore_errors=True)
    if rc != 0:
        raise RuntimeError("cirrusd exited with %d" % rc)


def client(region="us-east-1", validate=True):
    return boto3.client(
        "dynamodb", endpoint_url="http://127.0.0.1:%d" % PORT, region_name=region,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(parameter_validation=validate, retries={"total_max_attempts": 1}))


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


class DynamoTest(unittest.TestCase):
    counter = 0

    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.raw = client(validate=False)  # lets invalid input reach the server

    def name(self, prefix="t"):
        DynamoTest.counter += 1
        return "%s_%s_%d" % (prefix, self.id().split(".")[-1][:40], DynamoTest.counter)

    def make_table(self, sk=None, pk_type="S", sk_type="N"):
        name = self.name()
        ks = [{"AttributeName": "id", "KeyType": "HASH"}]
        ad = [{"AttributeName": "id", "AttributeType": pk_type}]
        if sk:
            ks.append({"AttributeName": sk, "KeyType": "RANGE"})
            ad.append({"AttributeName": sk, "AttributeType": sk_type})
        self.c.create_table(TableName=name, KeySchema=ks, AttributeDefinitions=ad,
                            BillingMode="PAY_PER_REQUEST")
        return name

    def assertError(self, code, message, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        err = cm.exception.response["Error"]
        self.assertEqual(code, err["Code"], err)
        if message is not None:
            self.assertEqual(message, err["Message"])
        return cm.exception.response


class TestTables(DynamoTest):
    def test_create_describe_delete(self):
        name = self.name()
        d = self.c.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST")["TableDescription"]
        self.assertEqual(name, d["TableName"])
        self.assertEqual("ACTIVE", d["TableStatus"])
        self.assertEqual("PAY_PER_REQUEST", d["BillingModeSummary"]["BillingMode"])
        self.assertEqual([{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}], d["KeySchema"])
        self.c.get_waiter("table_exists").wait(TableName=name)
        t = self.c.describe_table(TableName=name)["Table"]
        self.assertEqual("ACTIVE", t["TableStatus"])
        self.assertEqual(0, t["ItemCount"])
        self.assertEqual(0, t["TableSizeBytes"])
        self.assertEqual("arn:aws:dynamodb:us-east-1:000000000000:table/" + name, t["TableArn"])
        self.assertRegex(t["TableId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(t["TableId"], self.c.describe_table(TableName=name)["Table"]["TableId"])
        self.assertEqual(t["TableId"], d["TableId"])
        self.assertLess(abs(t["CreationDateTime"].timestamp() - time.time()), 300)
        self.assertEqual([{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "sk", "AttributeType": "N"}],
                         t["AttributeDefinitions"])
        self.c.put_item(TableName=name, Item={"pk": S("a"), "sk": N(1), "v": S("xyz")})
        t = self.c.describe_table(TableName=name)["Table"]
        self.assertEqual(1, t["ItemCount"])
        self.assertGreater(t["TableSizeBytes"], 0)
        d = self.c.delete_table(TableName=name)["TableDescription"]
        self.assertEqual("DELETING", d["TableStatus"])
        self.assertEqual(1, d["ItemCount"])
        self.c.get_waiter("table_not_exists").wait(TableName=name)
        self.assertError("ResourceNotFoundException",
                         "Requested resource not found: Table: %s not found" % name,
                         self.c.describe_table, TableName=name)
        self.assertError("ResourceNotFoundException",
                         "Requested resource not found: Table: %s not found" % name,
                         self.c.delete_table, TableName=name)

    def test_provisioned_echo_and_region(self):
        name = self.name()
        d = client("eu-west-3").create_table(
            TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "B"}],
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
        d = d["TableDescription"]
        self.assertEqual(5, d["ProvisionedThroughput"]["ReadCapacityUnits"])
        self.assertEqual(7, d["ProvisionedThroughput"]["WriteCapacityUnits"])
        self.assertEqual("PROVISIONED", d["BillingModeSummary"]["BillingMode"])
        self.assertEqual("arn:aws:dynamodb:eu-west-3:000000000000:table/" + name, d["TableArn"])

    def test_create_existing(self):
        name = self.make_table()
        self.assertError("ResourceInUseException", "Table already exists: " + name,
                         self.c.create_table, TableName=name,
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")

    def test_create_validation(self):
        hash_id = [{"AttributeName": "id", "KeyType": "HASH"}]
        def_id = [{"AttributeName": "id", "AttributeType": "S"}]
        cases = [
            (dict(KeySchema=[{"AttributeName": "id", "KeyType": "RANGE"}], AttributeDefinitions=def_id),
             "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
            (dict(KeySchema=hash_id + [{"AttributeName": "r", "KeyType": "HASH"}],
                  AttributeDefinitions=def_id + [{"AttributeName": "r", "AttributeType": "S"}]),
             "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"),
            (dict(KeySchema=hash_id, AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}]),
             "Invalid KeySchema: Some index key attribute have no definition"),
            (dict(KeySchema=hash_id, AttributeDefinitions=def_id + [{"AttributeName": "x", "AttributeType": "S"}]),
             INVALID + "Number of attributes in KeySchema does not exactly match number of "
                       "attributes defined in AttributeDefinitions"),
            (dict(KeySchema=hash_id, AttributeDefinitions=def_id),
             INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when "
                       "BillingMode is PROVISIONED"),
            (dict(KeySchema=hash_id, AttributeDefinitions=def_id, BillingMode="PAY_PER_REQUEST",
                  ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
             INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                       "BillingMode is PAY_PER_REQUEST"),
            (dict(KeySchema=hash_id, AttributeDefinitions=def_id, BillingMode="PAY_PER_REQUEST",
                  GlobalSecondaryIndexes=[{"IndexName": "gsi1",
                                           "KeySchema": [{"AttributeName": "nodef",
                                                          "KeyType": "HASH"}],
                                           "Projection": {"ProjectionType": "ALL"}}]),
             "Invalid KeySchema: Some index key attribute have no definition"),
        ]
        for kw, message in cases:
            with self.subTest(message=message):
                self.assertError("ValidationException", message, self.c.create_table,
                                 TableName=self.name(), **kw)
        self.assertError("ValidationException",
                         "1 validation error detected: Value 'X' at "
                         "'attributeDefinitions.1.member.attributeType' failed to satisfy "
                         "constraint: Member must satisfy enum value set: [B, N, S]",
                         self.raw.create_table, TableName=self.name(), KeySchema=hash_id,
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "X"}],
                         BillingMode="PAY_PER_REQUEST")
        self.assertError("ValidationException",
                         "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 3",
                         self.raw.create_table, TableName="ab", KeySchema=hash_id,
                         AttributeDefinitions=def_id, BillingMode="PAY_PER_REQUEST")
        self.assertError("ValidationException",
                         "1 validation error detected: Value 'a b c' at 'tableName' failed to "
                         "satisfy constraint: Member must satisfy regular expression pattern: "
                         "[a-zA-Z0-9_.-]+",
                         self.raw.create_table, TableName="a b c", KeySchema=hash_id,
                         AttributeDefinitions=def_id, BillingMode="PAY_PER_REQUEST")
        self.assertError("ValidationException",
                         "1 validation error detected: Value null at 'keySchema' failed to "
                         "satisfy constraint: Member must not be null",
                         self.raw.create_table, TableName=self.name(),
                         AttributeDefinitions=def_id, BillingMode="PAY_PER_REQUEST")

    def test_list_tables(self):
        prefix = "lst_%d_" % os.getpid()
        names = []
        for i in range(3):
            names.append(prefix + str(i))
            self.c.create_table(TableName=names[-1],
                                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                BillingMode="PAY_PER_REQUEST")
        all_names = self.c.list_tables()["TableNames"]
        self.assertEqual(sorted(all_names), all_names)
        for n in names:
            self.assertIn(n, all_names)
        page = self.c.list_tables(ExclusiveStartTableName=names[0], Limit=1)
        self.assertEqual([names[1]], page["TableNames"])
        self.assertEqual(names[1], page["LastEvaluatedTableName"])
        seen = []
        for p in self.c.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}):
            seen += p["TableNames"]
        self.assertEqual(all_names, seen)
        self.assertError("ValidationException",
                         "1 validation error detected: Value '0' at 'limit' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 1",
                         self.raw.list_tables, Limit=0)
        self.assertError("ValidationException",
                         "1 validation error detected: Value '101' at 'limit' failed to satisfy "
                         "constraint: Member must have value less than or equal to 100",
                         self.raw.list_tables, Limit=101)


class TestItems(DynamoTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "items_%d" % os.getpid()
        cls.c.create_table(TableName=cls.t, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST")

    def put(self, item, **kw):
        return self.raw.put_item(TableName=self.t, Item=item, **kw)

    def test_all_types_round_trip(self):
        item = {"id": S("all"), "s": S("héllo"), "n": N("-012.50"), "big": N("1" * 38),
                "tiny": N("1E-130"), "b": {"B": b"\x00\xff\x10"}, "ss": {"SS": ["b", "a"]},
                "ns": {"NS": ["3", "1.5", "-2"]}, "bs": {"BS": [b"\x01", b"\x00"]},
                "m": {"M": {"k": S("v"), "inner": {"M": {"x": N(1)}}}},
                "l": {"L": [S("x"), N(2), {"NULL": True}, {"BOOL": False}, {"L": []}]},
                "nul": {"NULL": True}, "t": {"BOOL": True}, "empty": S("")}
        self.c.put_item(TableName=self.t, Item=item)
        for consistent in (True, False):
            got = self.c.get_item(TableName=self.t, Key={"id": S("all")},
                                  ConsistentRead=consistent)["Item"]
            self.assertEqual("héllo", got["s"]["S"])
            self.assertEqual("-12.5", got["n"]["N"])
            self.assertEqual("1" * 38, got["big"]["N"])
            self.assertEqual("0." + "0" * 129 + "1", got["tiny"]["N"])
            self.assertEqual(b"\x00\xff\x10", got["b"]["B"])
            self.assertEqual({"a", "b"}, set(got["ss"]["SS"]))
            self.assertEqual({"3", "1.5", "-2"}, set(got["ns"]["NS"]))
            self.assertEqual({b"\x00", b"\x01"}, set(got["bs"]["BS"]))
            self.assertEqual(item["m"], got["m"])
            self.assertEqual([S("x"), N(2), {"NULL": True}, {"BOOL": False}, {"L": []}],
                             got["l"]["L"])
            self.assertEqual({"NULL": True}, got["nul"])
            self.assertEqual({"BOOL": True}, got["t"])
            self.assertEqual(S(""), got["empty"])
        got = self.c.get_item(TableName=self.t, Key={"id": S("all")},
                              AttributesToGet=["s", "t", "missing"])["Item"]
        self.assertEqual({"s": S("héllo"), "t": {"BOOL": True}}, got)
        self.assertNotIn("Item", self.c.get_item(TableName=self.t, Key={"id": S("none")}))

    def test_numbers(self):
        cases = [
            ("1" * 39, "Attempting to store more than 38 significant digits in a Number"),
            ("1E+126", "Number overflow. Attempting to store a number with magnitude larger "
                       "than supported range"),
            ("1E-131", "Number underflow. Attempting to store a number with magnitude smaller "
                       "than supported range"),
            ("abc", "The parameter cannot be converted to a numeric value: abc"),
        ]
        for text, message in cases:
            with self.subTest(text=text):
                self.assertError("ValidationException", message, self.put,
                                 item={"id": S("n"), "x": N(text)})
        self.put({"id": S("n"), "x": N("9.9999999999999999999999999999999999999E+125")})

    def test_value_validation(self):
        cases = [
            ({"SS": []}, INVALID + "An string set  may not be empty"),
            ({"NS": []}, INVALID + "An number set  may not be empty"),
            ({"SS": ["a", "a"]}, INVALID + "Input collection [a, a] contains duplicates."),
            ({"NS": ["1", "1.0"]}, INVALID + "Input collection [1, 1.0] contains duplicates."),
            ({"NULL": False}, INVALID + "Null attribute value types must have the value of true"),
            ({}, INVALID + "Supplied AttributeValue is empty, must contain exactly one of the "
                           "supported datatypes"),
            ({"S": "a", "N": "1"}, INVALID + "Supplied AttributeValue has more than one "
                                             "datatypes set, must contain exactly one of the "
                                             "supported datatypes"),
        ]
        for av, message in cases:
            with self.subTest(av=av):
                self.assertError("ValidationException", message, self.put,
                                 item={"id": S("v"), "x": av})
        deep = S("leaf")
        for _ in range(40):
            deep = {"M": {"d": deep}}
        self.assertError("ValidationException", "Nesting Levels have exceeded supported limits",
                         self.put, item={"id": S("v"), "x": deep})
        self.assertError("ValidationException", "Item size has exceeded the maximum allowed size",
                         self.put, item={"id": S("v"), "x": S("x" * (400 * 1024))})
        self.assertNotIn("Item", self.c.get_item(TableName=self.t, Key={"id": S("v")}))

    def test_key_validation(self):
        self.assertError("ValidationException",
                         INVALID + "Type mismatch for key id expected: S actual: N",
                         self.put, item={"id": N(1)})
        self.assertError("ValidationException", INVALID + "Missing the key id in the item",
                         self.put, item={"x": N(1)})
        self.assertError("ValidationException",
                         "One or more parameter values are not valid. The AttributeValue for a "
                         "key attribute cannot contain an empty string value. Key: id",
                         self.put, item={"id": S("")})
        self.assertError("ValidationException",
                         INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes",
                         self.put, item={"id": S("k" * 2049)})
        for key in ({"id": N(1)}, {"other": S("a")}, {"id": S("a"), "x": S("b")}):
            with self.subTest(key=key):
                self.assertError("ValidationException",
                                 "The provided key element does not match the schema",
                                 self.c.get_item, TableName=self.t, Key=key)
                self.assertError("ValidationException",
                                 "The provided key element does not match the schema",
                                 self.c.delete_item, TableName=self.t, Key=key)

    def test_missing_table(self):
        for fn, kw in ((self.c.put_item, {"Item": {"id": S("a")}}),
                       (self.c.get_item, {"Key": {"id": S("a")}}),
                       (self.c.delete_item, {"Key": {"id": S("a")}})):
            self.assertError("ResourceNotFoundException", "Requested resource not found", fn,
                             TableName="no_such_table", **kw)

    def test_return_values_and_delete(self):
        r = self.c.put_item(TableName=self.t, Item={"id": S("rv"), "v": N(1)}, ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", r)
        r = self.c.put_item(TableName=self.t, Item={"id": S("rv"), "v": N(2)}, ReturnValues="ALL_OLD")
        self.assertEqual({"id": S("rv"), "v": N(1)}, r["Attributes"])
        r = self.c.put_item(TableName=self.t, Item={"id": S("rv"), "v": N(3)})
        self.assertNotIn("Attributes", r)
        self.assertError("ValidationException", "ReturnValues can only be ALL_OLD or NONE",
                         self.c.put_item, TableName=self.t, Item={"id": S("rv")},
                         ReturnValues="ALL_NEW")
        r = self.c.delete_item(TableName=self.t, Key={"id": S("rv")}, ReturnValues="ALL_OLD")
        self.assertEqual({"id": S("rv"), "v": N(3)}, r["Attributes"])
        r = self.c.delete_item(TableName=self.t, Key={"id": S("rv")}, ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", r)
        self.assertNotIn("Item", self.c.get_item(TableName=self.t, Key={"id": S("rv")}))

    def test_expected(self):
        self.c.put_item(TableName=self.t, Item={"id": S("cond"), "v": N(1)},
                        Expected={"id": {"Exists": False}})
        self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                         self.c.put_item, TableName=self.t, Item={"id": S("cond"), "v": N(2)},
                         Expected={"id": {"Exists": False}})
        self.c.put_item(TableName=self.t, Item={"id": S("cond"), "v": N(2)},
                        Expected={"v": {"Value": N(1)}})
        self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                         self.c.delete_item, TableName=self.t, Key={"id": S("cond")},
                         Expected={"v": {"ComparisonOperator": "EQ",
                                         "AttributeValueList": [N(1)]}})
        got = self.c.get_item(TableName=self.t, Key={"id": S("cond")})["Item"]
        self.assertEqual(N(2), got["v"])


class TestBatches(DynamoTest):
    def test_batch_write_and_get(self):
        a, b = self.make_table(), self.make_table(sk="n")
        self.c.put_item(TableName=a, Item={"id": S("gone")})
        r = self.c.batch_write_item(RequestItems={
            a: [{"PutRequest": {"Item": {"id": S(str(i)), "v": N(i)}}} for i in range(10)] +
               [{"DeleteRequest": {"Key": {"id": S("gone")}}}],
            b: [{"PutRequest": {"Item": {"id": S("x"), "n": N(i)}}} for i in range(5)]})
        self.assertEqual({}, r["UnprocessedItems"])
        r = self.c.batch_get_item(RequestItems={
            a: {"Keys": [{"id": S(str(i))} for i in range(10)] + [{"id": S("gone")}]},
            b: {"Keys": [{"id": S("x"), "n": N(i)} for i in range(3)], "ConsistentRead": True,
                "AttributesToGet": ["n"]}})
        self.assertEqual({}, r["UnprocessedKeys"])
        self.assertEqual(sorted(str(i) for i in range(10)),
                         sorted(it["id"]["S"] for it in r["Responses"][a]))
        self.assertEqual(sorted([{"n": N(i)} for i in range(3)], key=str),
                         sorted(r["Responses"][b], key=str))

    def test_batch_limits_and_atomicity(self):
        a = self.make_table()
        self.assertError("ValidationException",
                         "Too many items requested for the BatchWriteItem call",
                         self.raw.batch_write_item, RequestItems={
                             a: [{"PutRequest": {"Item": {"id": S(str(i))}}} for i in range(26)]})
        self.assertError("ValidationException", "Provided list of item keys contains duplicates",
                         self.c.batch_write_item, RequestItems={
                             a: [{"PutRequest": {"Item": {"id": S("d")}}},
                                 {"DeleteRequest": {"Key": {"id": S("d")}}}]})
        self.assertError("ValidationException",
                         INVALID + "Type mismatch for key id expected: S actual: N",
                         self.c.batch_write_item, RequestItems={
                             a: [{"PutRequest": {"Item": {"id": S("ok")}}},
                                 {"PutRequest": {"Item": {"id": N(1)}}}]})
        self.assertNotIn("Item", self.c.get_item(TableName=a, Key={"id": S("ok")}))
        self.assertError("ResourceNotFoundException", "Requested resource not found",
                         self.c.batch_write_item, RequestItems={
                             "no_such_table": [{"PutRequest": {"Item": {"id": S("x")}}}]})
        self.assertError("ValidationException",
                         "Too many items requested for the BatchGetItem call",
                         self.raw.batch_get_item, RequestItems={
                             a: {"Keys": [{"id": S(str(i))} for i in range(101)]}})
        self.assertError("ValidationException", "Provided list of item keys contains duplicates",
                         self.c.batch_get_item, RequestItems={
                             a: {"Keys": [{"id": S("k")}, {"id": S("k")}]}})
        self.assertError("ResourceNotFoundException", "Requested resource not found",
                         self.c.batch_get_item, RequestItems={
                             "no_such_table": {"Keys": [{"id": S("k")}]}})


class TestQueryScan(DynamoTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "qs_%d" % os.getpid()
        cls.c.create_table(TableName=cls.t,
                           KeySchema=[{"AttributeName": "id", "KeyType": "HASH"},
                                      {"AttributeName": "n", "KeyType": "RANGE"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                                 {"AttributeName": "n", "AttributeType": "N"}],
                           BillingMode="PAY_PER_REQUEST")
        for p in ("a", "b", "c"):
            reqs = [{"PutRequest": {"Item": {"id": S(p), "n": N(i), "v": S(p * 3)}}}
                    for i in range(20)]
            cls.c.batch_write_item(RequestItems={cls.t: reqs})

    def query(self, **kw):
        kc = {"id": {"ComparisonOperator": "EQ", "AttributeValueList": [S("b")]}}
        kc.update(kw.pop("sk", {}))
        return self.c.query(TableName=self.t, KeyConditions=kc, **kw)

    def ns(self, r):
        return [int(it["n"]["N"]) for it in r["Items"]]

    def test_key_conditions(self):
        def cond(op, *vals):
            return {"sk": {"n": {"ComparisonOperator": op,
                                 "AttributeValueList": [N(v) for v in vals]}}}
        self.assertEqual(list(range(20)), self.ns(self.query()))
        self.assertEqual([7], self.ns(self.query(**cond("EQ", 7))))
        self.assertEqual([0, 1, 2], self.ns(self.query(**cond("LT", 3))))
        self.assertEqual([0, 1, 2, 3], self.ns(self.query(**cond("LE", 3))))
        self.assertEqual([18, 19], self.ns(self.query(**cond("GT", 17))))
        self.assertEqual([17, 18, 19], self.ns(self.query(**cond("GE", 17))))
        self.assertEqual([5, 6, 7], self.ns(self.query(**cond("BETWEEN", 5, 7))))
        self.assertEqual(list(range(19, -1, -1)), self.ns(self.query(ScanIndexForward=False)))
        r = self.query(Select="COUNT")
        self.assertEqual(20, r["Count"])
        self.assertEqual(20, r["ScannedCount"])
        self.assertNotIn("Items", r)

    def test_begins_with(self):
        t = self.make_table(sk="s", sk_type="S")
        for s in ("apple", "apricot", "banana"):
            self.c.put_item(TableName=t, Item={"id": S("p"), "s": S(s)})
        r = self.c.query(TableName=t, KeyConditions={
            "id": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]},
            "s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("ap")]}})
        self.assertEqual(["apple", "apricot"], [it["s"]["S"] for it in r["Items"]])

    def test_paging(self):
        for forward in (True, False):
            seen, esk, pages = [], None, 0
            while True:
                kw = {"Limit": 6, "ScanIndexForward": forward}
                if esk:
                    kw["ExclusiveStartKey"] = esk
                r = self.query(**kw)
                pages += 1
                seen += self.ns(r)
                esk = r.get("LastEvaluatedKey")
                if not esk:
                    break
                self.assertEqual({"id": S("b"), "n": N(seen[-1])}, esk)
            expect = list(range(20)) if forward else list(range(19, -1, -1))
            self.assertEqual(expect, seen)
            self.assertEqual(4, pages)
        pages = self.c.get_paginator("query").paginate(
            TableName=self.t, PaginationConfig={"PageSize": 7},
            KeyConditions={"id": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]}})
        self.assertEqual(list(range(20)), [int(it["n"]["N"]) for p in pages for it in p["Items"]])
        r = self.query(ExclusiveStartKey={"id": S("b"), "n": N("4.5")})
        self.assertEqual(list(range(5, 20)), self.ns(r))

    def test_query_validation(self):
        kc_a = {"id": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]}}
        self.assertError("ValidationException", "Query condition missed key schema element: id",
                         self.c.query, TableName=self.t, KeyConditions={
                             "n": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}})
        self.assertError("ValidationException", "Query key condition not supported",
                         self.c.query, TableName=self.t, KeyConditions={
                             "id": {"ComparisonOperator": "GT", "AttributeValueList": [S("a")]}})
        self.assertError("ValidationException",
                         "Either the KeyConditions or KeyConditionExpression parameter must be "
                         "specified in the request.", self.c.query, TableName=self.t)
        self.assertError("ValidationException",
                         INVALID + "Condition parameter type does not match schema type",
                         self.c.query, TableName=self.t, KeyConditions={
                             "id": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}})
        self.assertError("ValidationException",
                         INVALID + "Invalid number of argument(s) for the BETWEEN ComparisonOperator",
                         self.c.query, TableName=self.t, KeyConditions=dict(kc_a, n={
                             "ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1)]}))
        self.assertError("ValidationException",
                         "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                         "bound to be greater than or equal to lower bound",
                         self.c.query, TableName=self.t, KeyConditions=dict(kc_a, n={
                             "ComparisonOperator": "BETWEEN", "AttributeValueList": [N(5), N(1)]}))
        self.assertError("ValidationException",
                         "1 validation error detected: Value '0' at 'limit' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 1",
                         self.raw.query, TableName=self.t, KeyConditions=kc_a, Limit=0)
        self.assertError("ValidationException",
                         "The provided starting key is invalid: The provided key element does "
                         "not match the schema", self.c.query, TableName=self.t,
                         KeyConditions=kc_a, ExclusiveStartKey={"id": S("a")})
        self.assertError("ResourceNotFoundException", "Requested resource not found",
                         self.c.query, TableName="no_such_table", KeyConditions=kc_a)

    def test_scan(self):
        r = self.c.scan(TableName=self.t)
        self.assertEqual(60, r["Count"])
        self.assertEqual(60, r["ScannedCount"])
        self.assertNotIn("LastEvaluatedKey", r)
        keys = [(it["id"]["S"], int(it["n"]["N"])) for it in r["Items"]]
        self.assertEqual(sorted(keys), keys)
        seen = []
        for p in self.c.get_paginator("scan").paginate(TableName=self.t,
                                                      PaginationConfig={"PageSize": 7}):
            seen += [(it["id"]["S"], int(it["n"]["N"])) for it in p["Items"]]
        self.assertEqual(keys, seen)
        parts = []
        for seg in range(4):
            got = []
            for p in self.c.get_paginator("scan").paginate(
                    TableName=self.t, Segment=seg, TotalSegments=4,
                    PaginationConfig={"PageSize": 5}):
                got += [(it["id"]["S"], int(it["n"]["N"])) for it in p["Items"]]
            parts += got
        self.assertEqual(sorted(keys), sorted(parts))
        self.assertEqual(60, self.c.scan(TableName=self.t, Select="COUNT")["Count"])
        self.assertEqual(60, self.c.scan(TableName=self.t, ConsistentRead=True)["Count"])

    def test_scan_validation(self):
        self.assertError("ValidationException",
                         "The Segment parameter is required but was not present in the request "
                         "when parameter TotalSegments is present",
                         self.c.scan, TableName=self.t, TotalSegments=2)
        self.assertError("ValidationException",
                         "The Segment parameter is zero-based and must be less than parameter "
                         "TotalSegments: Segment: 2 is not less than TotalSegments: 2",
                         self.c.scan, TableName=self.t, Segment=2, TotalSegments=2)
        self.assertError("ResourceNotFoundException", "Requested resource not found",
                         self.c.scan, TableName="no_such_table")


class TestProtocol(unittest.TestCase):
    def post(self, conn, target, body, headers=None):
        h = {"Content-Type": "application/x-amz-json-1.0"}
        if target:
            h["X-Amz-Target"] = target
        h.update(headers or {})
        conn.request("POST", "/", body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r, data

    def test_headers_keepalive_and_errors(self):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        r, body = self.post(conn, "DynamoDB_20120810.ListTables", b"{}")
        self.assertEqual(200, r.status)
        self.assertEqual("application/x-amz-json-1.0", r.getheader("Content-Type"))
        self.assertEqual(str(zlib.crc32(body)), r.getheader("x-amz-crc32"))
        self.assertRegex(r.getheader("x-amzn-RequestId"), r"^[0-9A-F]{32}$")
        first_id = r.getheader("x-amzn-RequestId")
        r, body = self.post(conn, "DynamoDB_20120810.NoSuchOp", b"{}")  # same connection
        self.assertEqual(400, r.status)
        self.assertNotEqual(first_id, r.getheader("x-amzn-RequestId"))
        self.assertIn(b"com.amazonaws.dynamodb.v20120810#UnknownOperationException", body)
        r, body = self.post(conn, "DynamoDB_20120810.ListTables", b"{not json")
        self.assertEqual(400, r.status)
        self.assertIn(b"#SerializationException", body)
        self.assertEqual(str(zlib.crc32(body)), r.getheader("x-amz-crc32"))
        r, body = self.post(conn, "DynamoDB_20120810.DescribeTable", b"[1]")
        self.assertIn(b"#SerializationException", body)
        r, body = self.post(conn, "DynamoDB_20120810.DescribeTable", b'{"TableName": 5}')
        self.assertIn(b"#SerializationException", body)
        r, body = self.post(conn, None, b"{}")
        self.assertEqual(404, r.status)
        conn.request("GET", "/v1/projects/p/databases/d/documents")
        r = conn.getresponse()
        self.assertEqual(404, r.status)
        self.assertIn(b'"message"', r.read())
        conn.close()

    def test_body_limit(self):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                  b"Content-Length: %d\r\n\r\n" % (17 << 20))
        reply = s.recv(4096)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply)
        self.assertIn("TableNames", client().list_tables())  # still serving


class TestLoops(unittest.TestCase):
    """Several HTTP loops (--http-threads, default --threads: 2 for the shared server) on one
    port: writes on one connection are read on others, request ids stay unique, and a stop
    answers every write already proposed on any loop."""

    def raw(self, conn, op, body):
        conn.request("POST", "/", body=json.dumps(body),
                     headers={"Content-Type": "application/x-amz-json-1.0",
                              "X-Amz-Target": "DynamoDB_20120810." + op})
        r = conn.getresponse()
        data = r.read()
        return (r.status, r.getheader("x-amzn-RequestId"),
                json.loads(data) if r.status != 503 else data)

    def make(self, port, name):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        status, _, out = self.raw(conn, "CreateTable", {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]})
        self.assertEqual(200, status, out)
        conn.close()

    def test_many_connections(self):
        name = "loops_many"
        self.make(PORT, name)
        conns = [http.client.HTTPConnection("127.0.0.1", PORT, timeout=10) for _ in range(16)]
        ids = set()
        for i, conn in enumerate(conns):
            status, rid, _ = self.raw(conn, "PutItem", {"TableName": name,
                                                        "Item": {"id": S(str(i)), "n": N(i)}})
            self.assertEqual(200, status)
            ids.add(rid)
            # read on another connection, likely another loop: the write is visible there
            other = conns[(i + 7) % len(conns)]
            status, rid, out = self.raw(other, "GetItem", {"TableName": name,
                                                           "Key": {"id": S(str(i))}})
            self.assertEqual(200, status)
            self.assertEqual({"id": S(str(i)), "n": N(i)}, out["Item"])
            ids.add(rid)
        self.assertEqual(32, len(ids))
        for conn in conns:
            conn.close()

    def test_stop_answers_every_proposed_write(self):
        data = tempfile.mkdtemp(prefix="cirrus-ddb-loops-")
        port_file = os.path.join(data, "http.port")
        argv = [CIRRUSD, "--data", os.path.join(data, "data"), "--listen", "127.0.0.1:0",
                "--http", "127.0.0.1:0", "--http-port-file", port_file, "--sync", "full",
                "--log-level", "warn", "--threads", "2", "--http-threads", "4"]

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
                return server, int(f.read())

        try:
            server, port = start()
            self.make(port, "stop")
            acked = [[] for _ in range(16)]
            failures = []

            def writer(k):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    for i in range(100000):
                        key = "%d-%d" % (k, i)
                        status, _, out = self.raw(conn, "PutItem", {
                            "TableName": "stop", "Item": {"id": S(key)}})
                        if status == 503:
                            return  # read after the stop: refused, not written
                        if status != 200:
                            failures.append((status, out))
                            return
                        acked[k].append(key)
                except (OSError, http.client.HTTPException, ValueError):
                    return  # the server went away between requests: nothing was acknowledged

            threads = [threading.Thread(target=writer, args=(k,)) for k in range(16)]
            for t in threads:
                t.start()
            while sum(len(a) for a in acked) < 200:
                time.sleep(0.01)
            server.send_signal(signal.SIGTERM)
            self.assertEqual(0, server.wait(timeout=30))
            for t in threads:
                t.join(timeout=30)
            self.assertEqual([], failures)
            server, port = start()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for key in [key for a in acked for key in a]:
                status, _, out = self.raw(conn, "GetItem", {"TableName": "stop",
                                                            "Key": {"id": S(key)}})
                self.assertEqual(200, status)
                self.assertEqual({"id": S(key)}, out.get("Item"), key)
            conn.close()
            server.send_signal(signal.SIGTERM)
            self.assertEqual(0, server.wait(timeout=30))
        finally:
            shutil.rmtree(data, ignore_errors=True)


def call_raw(op, body):
    """One request over plain HTTP, for parameters older botocore models lack (the system's
    1.29 has no ReturnValuesOnConditionCheckFailure on single-item writes): (status, JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    conn.request("POST", "/", body=json.dumps(body),
                 headers={"Content-Type": "application/x-amz-json-1.0",
                          "X-Amz-Target": "DynamoDB_20120810." + op})
    r = conn.getresponse()
    out = json.loads(r.read())
    conn.close()
    return r.status, out


class TestConditionalWrites(DynamoTest):
    """ConditionExpression, UpdateItem, legacy Expected/AttributeUpdates, ReturnValues and
    ReturnConsumedCapacity: conditions and updates are evaluated by apply() in the log."""

    def assertFailedWithItem(self, op, body, item):
        status, out = call_raw(op, dict(body, ReturnValuesOnConditionCheckFailure="ALL_OLD"))
        self.assertEqual(400, status)
        self.assertEqual("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                         out["__type"])
        self.assertEqual("The conditional request failed", out["message"])
        self.assertEqual(item, out.get("Item"))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "cond_%d" % os.getpid()
        cls.c.create_table(TableName=cls.t, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST")

    def get(self, key):
        return self.c.get_item(TableName=self.t, Key={"id": S(key)}, ConsistentRead=True).get("Item")

    def update(self, key, **kw):
        return self.c.update_item(TableName=self.t, Key={"id": S(key)}, **kw)

    def test_put_and_delete_conditions(self):
        self.c.put_item(TableName=self.t, Item={"id": S("p"), "v": N(1)},
                        ConditionExpression="attribute_not_exists(id)")
        self.assertFailedWithItem("PutItem", {"TableName": self.t, "Item": {"id": S("p"), "v": N(2)},
                                              "ConditionExpression": "attribute_not_exists(id)"},
                                  {"id": S("p"), "v": N(1)})
        r = self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                             self.c.put_item, TableName=self.t, Item={"id": S("p")},
                             ConditionExpression="#v > :v", ExpressionAttributeNames={"#v": "v"},
                             ExpressionAttributeValues={":v": N(5)})
        self.assertNotIn("Item", r)
        r = self.c.put_item(TableName=self.t, Item={"id": S("p"), "v": N(2)},
                            ConditionExpression="#v < :v AND size(id) = :one",
                            ExpressionAttributeNames={"#v": "v"},
                            ExpressionAttributeValues={":v": N(5), ":one": N(1)},
                            ReturnValues="ALL_OLD")
        self.assertEqual({"id": S("p"), "v": N(1)}, r["Attributes"])
        self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                         self.c.delete_item, TableName=self.t, Key={"id": S("p")},
                         ConditionExpression="v = :v", ExpressionAttributeValues={":v": N(1)})
        r = self.c.delete_item(TableName=self.t, Key={"id": S("p")}, ReturnValues="ALL_OLD",
                               ConditionExpression="v IN (:a, :b)",
                               ExpressionAttributeValues={":a": N(2), ":b": N(3)})
        self.assertEqual({"id": S("p"), "v": N(2)}, r["Attributes"])
        self.assertIsNone(self.get("p"))
        # A condition on an absent item sees every attribute missing.
        self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                         self.c.delete_item, TableName=self.t, Key={"id": S("p")},
                         ConditionExpression="attribute_exists(id)")

    def test_expression_validation(self):
        cases = [
            (dict(ConditionExpression="v = :v", ExpressionAttributeValues={":v": N(1), ":x": N(2)}),
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"),
            (dict(ConditionExpression="v = :nope"),
             "Invalid ConditionExpression: An expression attribute value used in expression is "
             "not defined; attribute value: :nope"),
            (dict(ExpressionAttributeNames={"#a": "a"}),
             "ExpressionAttributeNames can only be specified when using expressions"),
            (dict(ExpressionAttributeValues={":a": N(1)}),
             "ExpressionAttributeValues can only be specified when using expressions"),
            (dict(ConditionExpression="attribute_not_exists(id)", Expected={"id": {"Exists": False}}),
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"),
        ]
        for kw, message in cases:
            with self.subTest(kw=kw):
                self.assertError("ValidationException", message, self.c.put_item,
                                 TableName=self.t, Item={"id": S("x")}, **kw)
        r = self.assertError("ValidationException", None, self.c.put_item, TableName=self.t,
                             Item={"id": S("x")}, ConditionExpression="v = = 1")
        self.assertTrue(r["Error"]["Message"].startswith("Invalid ConditionExpression: Syntax error"))
        self.assertError("ValidationException", "ReturnValues can only be ALL_OLD or NONE",
                         self.c.delete_item, TableName=self.t, Key={"id": S("x")},
                         ReturnValues="UPDATED_NEW")
        status, out = call_raw("PutItem", {"TableName": self.t, "Item": {"id": S("x")},
                                           "ReturnValuesOnConditionCheckFailure": "SOME"})
        self.assertEqual((400, "1 validation error detected: Value 'SOME' at "
                               "'returnValuesOnConditionCheckFailure' failed to satisfy constraint: "
                               "Member must satisfy enum value set: [ALL_OLD, NONE]"),
                         (status, out["message"]))
        self.assertIsNone(self.get("x"))

    def test_update_item(self):
        r = self.update("u", UpdateExpression="SET a = :a, n = :zero",
                        ExpressionAttributeValues={":a": S("x"), ":zero": N(0)},
                        ReturnValues="ALL_NEW")
        self.assertEqual({"id": S("u"), "a": S("x"), "n": N(0)}, r["Attributes"])
        for want in (1, 2):
            r = self.update("u", UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": N(1)},
                            ReturnValues="UPDATED_NEW")
            self.assertEqual({"n": N(want)}, r["Attributes"])
        r = self.update("u", UpdateExpression="SET n = n + :one, l = list_append(if_not_exists(l, :e), :v)",
                        ExpressionAttributeValues={":one": N(1), ":e": {"L": []}, ":v": {"L": [S("q")]}},
                        ReturnValues="UPDATED_OLD")
        self.assertEqual({"n": N(2)}, r["Attributes"])
        r = self.update("u", UpdateExpression="REMOVE a", ReturnValues="ALL_OLD")
        self.assertEqual({"id": S("u"), "a": S("x"), "n": N(3), "l": {"L": [S("q")]}}, r["Attributes"])
        self.assertNotIn("Attributes", self.update("u", UpdateExpression="SET b = :b",
                                                   ExpressionAttributeValues={":b": {"BOOL": True}}))
        self.assertEqual({"id": S("u"), "n": N(3), "l": {"L": [S("q")]}, "b": {"BOOL": True}},
                         self.get("u"))
        # No UpdateExpression: the item is created from its key (or left as it is).
        self.update("bare")
        self.assertEqual({"id": S("bare")}, self.get("bare"))

    def test_update_conditions_and_errors(self):
        self.update("e", UpdateExpression="SET s = :s", ExpressionAttributeValues={":s": S("text")})
        self.assertFailedWithItem("UpdateItem", {
            "TableName": self.t, "Key": {"id": S("e")}, "UpdateExpression": "SET s = :s",
            "ConditionExpression": "s = :old",
            "ExpressionAttributeValues": {":s": S("new"), ":old": S("other")}},
            {"id": S("e"), "s": S("text")})
        upd = self.c.update_item
        key = {"id": S("e")}
        self.assertError("ValidationException",
                         "An operand in the update expression has an incorrect data type",
                         upd, TableName=self.t, Key=key, UpdateExpression="SET s = s + :one",
                         ExpressionAttributeValues={":one": N(1)})
        self.assertError("ValidationException",
                         "The provided expression refers to an attribute that does not exist in "
                         "the item",
                         upd, TableName=self.t, Key=key, UpdateExpression="SET t = nothere + :one",
                         ExpressionAttributeValues={":one": N(1)})
        self.assertError("ValidationException",
                         INVALID + "Cannot update attribute id. This attribute is part of the key",
                         upd, TableName=self.t, Key=key, UpdateExpression="SET id = :s",
                         ExpressionAttributeValues={":s": S("z")})
        self.assertError("ValidationException",
                         "Item size to update has exceeded the maximum allowed size",
                         upd, TableName=self.t, Key=key, UpdateExpression="SET big = :b",
                         ExpressionAttributeValues={":b": S("x" * (400 * 1024))})
        self.assertEqual({"id": S("e"), "s": S("text")}, self.get("e"))
        # A failed condition on an absent item creates nothing.
        self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                         upd, TableName=self.t, Key={"id": S("absent")},
                         UpdateExpression="SET a = :a", ConditionExpression="attribute_exists(id)",
                         ExpressionAttributeValues={":a": N(1)})
        self.assertIsNone(self.get("absent"))

    def test_legacy_expected(self):
        self.c.put_item(TableName=self.t, Item={"id": S("l"), "n": N(5), "s": S("hello"),
                                                "ss": {"SS": ["a", "b"]}})
        ok = [
            {"n": {"ComparisonOperator": "GT", "AttributeValueList": [N(4)]}},
            {"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1), N(5)]}},
            {"n": {"ComparisonOperator": "IN", "AttributeValueList": [N(9), N(5)]}},
            {"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("he")]}},
            {"ss": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("a")]}},
            {"ss": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [S("z")]}},
            {"s": {"ComparisonOperator": "NOT_NULL"}, "zz": {"ComparisonOperator": "NULL"}},
            {"n": {"ComparisonOperator": "NE", "AttributeValueList": [N(1)]},
             "s": {"Value": S("hello")}},
            {"n": {"Exists": True, "Value": N(5)}, "zz": {"Exists": False}},
        ]
        for exp in ok:
            with self.subTest(exp=exp):
                self.c.put_item(TableName=self.t, Item={"id": S("l"), "n": N(5), "s": S("hello"),
                                                        "ss": {"SS": ["a", "b"]}}, Expected=exp)
        self.c.put_item(TableName=self.t, Item={"id": S("l"), "n": N(5), "s": S("hello"),
                                                "ss": {"SS": ["a", "b"]}}, ConditionalOperator="OR",
                        Expected={"n": {"ComparisonOperator": "LT", "AttributeValueList": [N(0)]},
                                  "s": {"ComparisonOperator": "EQ", "AttributeValueList": [S("hello")]}})
        self.assertError("ConditionalCheckFailedException", "The conditional request failed",
                         self.c.put_item, TableName=self.t, Item={"id": S("l")},
                         Expected={"n": {"ComparisonOperator": "LT", "AttributeValueList": [N(0)]},
                                   "s": {"ComparisonOperator": "EQ",
                                         "AttributeValueList": [S("hello")]}})
        self.assertError("ValidationException",
                         INVALID + "Invalid number of argument(s) for the BETWEEN ComparisonOperator",
                         self.c.put_item, TableName=self.t, Item={"id": S("l")},
                         Expected={"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1)]}})
        self.assertEqual(N(5), self.get("l")["n"])

    def test_attribute_updates(self):
        self.c.put_item(TableName=self.t, Item={"id": S("au"), "gone": S("x"), "ss": {"SS": ["a", "b"]},
                                                "n": N(1)})
        r = self.c.update_item(TableName=self.t, Key={"id": S("au")}, ReturnValues="ALL_NEW",
                               AttributeUpdates={"p": {"Value": S("v")},
                                                 "q": {"Action": "PUT", "Value": N(2)},
                                                 "gone": {"Action": "DELETE"},
                                                 "ss": {"Action": "DELETE", "Value": {"SS": ["a"]}},
                                                 "n": {"Action": "ADD", "Value": N(4)}},
                               Expected={"n": {"Value": N(1)}})
        self.assertEqual({"id": S("au"), "p": S("v"), "q": N(2), "ss": {"SS": ["b"]}, "n": N(5)},
                         r["Attributes"])
        self.assertError("ValidationException",
                         INVALID + "Only DELETE action is allowed when no attribute value is specified",
                         self.c.update_item, TableName=self.t, Key={"id": S("au")},
                         AttributeUpdates={"p": {"Action": "PUT"}})

    def test_consumed_capacity(self):
        r = self.c.put_item(TableName=self.t, Item={"id": S("cap"), "x": S("a" * 1500)},
                            ReturnConsumedCapacity="TOTAL")
        self.assertEqual({"TableName": self.t, "CapacityUnits": 2.0}, r["ConsumedCapacity"])
        r = self.c.update_item(TableName=self.t, Key={"id": S("cap")}, ReturnConsumedCapacity="INDEXES",
                               UpdateExpression="SET y = :y", ExpressionAttributeValues={":y": S("b" * 2000)})
        self.assertEqual({"TableName": self.t, "CapacityUnits": 4.0, "Table": {"CapacityUnits": 4.0}},
                         r["ConsumedCapacity"])
        r = self.c.delete_item(TableName=self.t, Key={"id": S("cap")}, ReturnConsumedCapacity="TOTAL")
        self.assertEqual(4.0, r["ConsumedCapacity"]["CapacityUnits"])
        r = self.c.delete_item(TableName=self.t, Key={"id": S("cap")}, ReturnConsumedCapacity="TOTAL")
        self.assertEqual(1.0, r["ConsumedCapacity"]["CapacityUnits"])
        self.assertNotIn("ConsumedCapacity", self.c.put_item(TableName=self.t, Item={"id": S("cap")},
                                                             ReturnConsumedCapacity="NONE"))


class TestTransactions(DynamoTest):
    CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons "

    def get(self, table, key):
        return self.c.get_item(TableName=table, Key={"id": S(key)}, ConsistentRead=True).get("Item")

    def test_write_all_actions(self):
        a, b = self.make_table(), self.make_table()
        self.c.put_item(TableName=a, Item={"id": S("upd"), "n": N(1)})
        self.c.put_item(TableName=a, Item={"id": S("del")})
        self.c.put_item(TableName=b, Item={"id": S("chk"), "ok": {"BOOL": True}})
        r = self.c.transact_write_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
            {"Put": {"TableName": a, "Item": {"id": S("new")},
                     "ConditionExpression": "attribute_not_exists(id)"}},
            {"Update": {"TableName": a, "Key": {"id": S("upd")}, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": N(1)}}},
            {"Delete": {"TableName": a, "Key": {"id": S("del")}}},
            {"ConditionCheck": {"TableName": b, "Key": {"id": S("chk")},
                                "ConditionExpression": "#ok = :t",
                                "ExpressionAttributeNames": {"#ok": "ok"},
                                "ExpressionAttributeValues": {":t": {"BOOL": True}}}},
        ])
        self.assertEqual(sorted([{"TableName": a, "CapacityUnits": 6.0},
                                 {"TableName": b, "CapacityUnits": 2.0}], key=str),
                         sorted(r["ConsumedCapacity"], key=str))
        self.assertEqual({"id": S("new")}, self.get(a, "new"))
        self.assertEqual(N(2), self.get(a, "upd")["n"])
        self.assertIsNone(self.get(a, "del"))
        self.assertEqual({"id": S("chk"), "ok": {"BOOL": True}}, self.get(b, "chk"))

    def test_cancelled(self):
        a = self.make_table()
        self.c.put_item(TableName=a, Item={"id": S("x"), "v": N(1), "s": S("s")})
        r = self.assertError("TransactionCanceledException", self.CANCELLED + "[ConditionalCheckFailed, None]",
                             self.c.transact_write_items, TransactItems=[
                                 {"Update": {"TableName": a, "Key": {"id": S("x")},
                                             "UpdateExpression": "SET v = :two",
                                             "ConditionExpression": "v = :two",
                                             "ExpressionAttributeValues": {":two": N(2)},
                                             "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                                 {"Put": {"TableName": a, "Item": {"id": S("y")}}}])
        self.assertEqual([{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
                           "Item": {"id": S("x"), "v": N(1), "s": S("s")}}, {"Code": "None"}],
                         r["CancellationReasons"])
        self.assertIsNone(self.get(a, "y"))
        r = self.assertError("TransactionCanceledException",
                             self.CANCELLED + "[None, ConditionalCheckFailed]",
                             self.c.transact_write_items, TransactItems=[
                                 {"Put": {"TableName": a, "Item": {"id": S("y")}}},
                                 {"ConditionCheck": {"TableName": a, "Key": {"id": S("nobody")},
                                                     "ConditionExpression": "attribute_exists(id)"}}])
        self.assertNotIn("Item", r["CancellationReasons"][1])
        r = self.assertError("TransactionCanceledException", self.CANCELLED + "[ValidationError]",
                             self.c.transact_write_items, TransactItems=[
                                 {"Update": {"TableName": a, "Key": {"id": S("x")},
                                             "UpdateExpression": "SET v = s + :one",
                                             "ExpressionAttributeValues": {":one": N(1)}}}])
        self.assertEqual([{"Code": "ValidationError",
                           "Message": "An operand in the update expression has an incorrect data type"}],
                         r["CancellationReasons"])
        self.assertIsNone(self.get(a, "y"))
        self.assertEqual(N(1), self.get(a, "x")["v"])

    def test_validation(self):
        a = self.make_table()
        self.assertError("ValidationException",
                         "Transaction request cannot include multiple operations on one item",
                         self.c.transact_write_items, TransactItems=[
                             {"Put": {"TableName": a, "Item": {"id": S("same"), "v": N(1)}}},
                             {"Delete": {"TableName": a, "Key": {"id": S("same")}}}])
        r = self.assertError("ValidationException", None, self.raw.transact_write_items,
                             TransactItems=[{"Put": {"TableName": a, "Item": {"id": S(str(i))}}}
                                            for i in range(101)])
        self.assertIn("Member must have length less than or equal to 100", r["Error"]["Message"])
        self.assertError("ValidationException",
                         "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"SET\"",
                         self.c.transact_write_items, TransactItems=[
                             {"Update": {"TableName": a, "Key": {"id": S("k")},
                                         "UpdateExpression": "SET"}}])
        self.assertError("ResourceNotFoundException", "Requested resource not found",
                         self.c.transact_write_items, TransactItems=[
                             {"Put": {"TableName": "no_such_table", "Item": {"id": S("k")}}}])
        self.assertError("ValidationException",
                         "Transaction request cannot include multiple operations on one item",
                         self.c.transact_get_items, TransactItems=[
                             {"Get": {"TableName": a, "Key": {"id": S("k")}}},
                             {"Get": {"TableName": a, "Key": {"id": S("k")}}}])
        self.assertIsNone(self.get(a, "same"))

    def test_idempotency(self):
        a = self.make_table()
        items = [{"Update": {"TableName": a, "Key": {"id": S("c")}, "UpdateExpression": "ADD n :one",
                             "ExpressionAttributeValues": {":one": N(1)}}}]
        for _ in range(3):
            self.c.transact_write_items(TransactItems=items, ClientRequestToken="tok-%s" % a)
        self.assertEqual(N(1), self.get(a, "c")["n"])
        self.assertError("IdempotentParameterMismatchException", None,
                         self.c.transact_write_items, ClientRequestToken="tok-%s" % a,
                         TransactItems=[{"Put": {"TableName": a, "Item": {"id": S("other")}}}])
        self.assertIsNone(self.get(a, "other"))
        self.c.transact_write_items(TransactItems=items, ClientRequestToken="tok2-%s" % a)
        self.assertEqual(N(2), self.get(a, "c")["n"])

    def test_get(self):
        a, b = self.make_table(), self.make_table()
        self.c.put_item(TableName=a, Item={"id": S("1"), "x": N(1), "m": {"M": {"k": S("v"), "j": S("w")}}})
        self.c.put_item(TableName=b, Item={"id": S("2"), "y": S("big" * 2000)})
        r = self.c.transact_get_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
            {"Get": {"TableName": a, "Key": {"id": S("1")}, "ProjectionExpression": "#m.k, x",
                     "ExpressionAttributeNames": {"#m": "m"}}},
            {"Get": {"TableName": a, "Key": {"id": S("missing")}}},
            {"Get": {"TableName": b, "Key": {"id": S("2")}}}])
        self.assertEqual({"x": N(1), "m": {"M": {"k": S("v")}}}, r["Responses"][0]["Item"])
        self.assertEqual({}, r["Responses"][1])
        self.assertEqual(S("big" * 2000), r["Responses"][2]["Item"]["y"])
        self.assertEqual(sorted([{"TableName": a, "CapacityUnits": 4.0},
                                 {"TableName": b, "CapacityUnits": 4.0}], key=str),
                         sorted(r["ConsumedCapacity"], key=str))


if __name__ == "__main__":
    CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
