"""DynamoDB secondary indexes with the real boto3: CreateTable with GlobalSecondaryIndexes and
LocalSecondaryIndexes, DescribeTable, Query and Scan with IndexName (every key operator, paging
over duplicate index keys, sparse indexes, the three projections), UpdateTable adding a GSI
(filled from the existing items) and deleting one, and the errors DynamoDB gives for them.

Usage: test_boto3_indexes.py CIRRUSD [unittest args]. Shares the server fixture of test_boto3.py.
"""
import os
import sys
import unittest

from botocore.exceptions import ClientError

import test_boto3 as base
from test_boto3 import DynamoTest, INVALID, N, S


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


def key(name, kind):
    return {"AttributeName": name, "KeyType": kind}


def attr(name, t):
    return {"AttributeName": name, "AttributeType": t}


def gsi(name, pk, sk=None, projection=None):
    ks = [key(pk, "HASH")] + ([key(sk, "RANGE")] if sk else [])
    return {"IndexName": name, "KeySchema": ks, "Projection": projection or {"ProjectionType": "ALL"}}


class TestIndexes(DynamoTest):
    """Table (pk S, sk N); GSIs byG (g S, s N; ALL), keys (g; KEYS_ONLY), inc (g, s; INCLUDE x);
    LSI byL (pk, l S; ALL)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "ix_%d" % os.getpid()
        cls.c.create_table(
            TableName=cls.t,
            KeySchema=[key("pk", "HASH"), key("sk", "RANGE")],
            AttributeDefinitions=[attr("pk", "S"), attr("sk", "N"), attr("g", "S"),
                                  attr("s", "N"), attr("l", "S")],
            GlobalSecondaryIndexes=[
                gsi("byG", "g", "s"), gsi("keys", "g", projection={"ProjectionType": "KEYS_ONLY"}),
                gsi("inc", "g", "s", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]})],
            LocalSecondaryIndexes=[gsi("byL", "pk", "l")],
            BillingMode="PAY_PER_REQUEST")
        reqs = []
        for i in range(20):
            it = {"pk": S("p%d" % (i % 2)), "sk": N(i), "x": N(i * 10), "y": S("y%d" % i)}
            if i < 16:  # 4 items lack g: the GSIs are sparse
                it["g"] = S("g%d" % (i % 2))
                it["s"] = N(i // 4)  # duplicate index sort keys
            it["l"] = S("l%02d" % (20 - i))
            reqs.append({"PutRequest": {"Item": it}})
        cls.c.batch_write_item(RequestItems={cls.t: reqs})
        # a wrong type for g: refused, as DynamoDB refuses it (test_boto3_fidelity.py has more)
        try:
            cls.c.put_item(TableName=cls.t, Item={"pk": S("p9"), "sk": N(0), "g": N(5), "s": N(1)})
            raise AssertionError("a wrong-typed index key was written")
        except ClientError as e:
            if e.response["Error"]["Code"] != "ValidationException":
                raise

    def q(self, index, expr, values, **kw):
        return self.c.query(TableName=self.t, IndexName=index, KeyConditionExpression=expr,
                            ExpressionAttributeValues=values, **kw)

    def sks(self, r):
        return [int(it["sk"]["N"]) for it in r["Items"]]

    def test_describe(self):
        t = self.c.describe_table(TableName=self.t)["Table"]
        self.assertEqual({"pk", "sk", "g", "s", "l"},
                         {a["AttributeName"] for a in t["AttributeDefinitions"]})
        g = {x["IndexName"]: x for x in t["GlobalSecondaryIndexes"]}
        self.assertEqual({"byG", "keys", "inc"}, set(g))
        self.assertEqual("ACTIVE", g["byG"]["IndexStatus"])
        self.assertEqual([key("g", "HASH"), key("s", "RANGE")], g["byG"]["KeySchema"])
        self.assertEqual(16, g["byG"]["ItemCount"])
        self.assertGreater(g["byG"]["IndexSizeBytes"], g["keys"]["IndexSizeBytes"])
        self.assertEqual({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]},
                         g["inc"]["Projection"])
        self.assertEqual({"ProjectionType": "KEYS_ONLY"}, g["keys"]["Projection"])
        self.assertTrue(g["byG"]["IndexArn"].endswith(":table/%s/index/byG" % self.t))
        lsi = t["LocalSecondaryIndexes"]
        self.assertEqual(["byL"], [x["IndexName"] for x in lsi])
        self.assertEqual(20, lsi[0]["ItemCount"])
        self.assertNotIn("IndexStatus", lsi[0])

    def test_query_gsi_operators(self):
        g0 = {":g": S("g0")}

        def v(**kw):
            return dict(g0, **{":" + k: N(x) for k, x in kw.items()})
        # g0: sk 0, 2, ..., 14; s = sk // 4: ordered by s, then by table key (pk, sk)
        self.assertEqual([0, 2, 4, 6, 8, 10, 12, 14], self.sks(self.q("byG", "g = :g", g0)))
        self.assertEqual([4, 6], self.sks(self.q("byG", "g = :g AND s = :a", v(a=1))))
        self.assertEqual([0, 2], self.sks(self.q("byG", "g = :g AND s < :a", v(a=1))))
        self.assertEqual([0, 2, 4, 6], self.sks(self.q("byG", "g = :g AND s <= :a", v(a=1))))
        self.assertEqual([12, 14], self.sks(self.q("byG", "g = :g AND s > :a", v(a=2))))
        self.assertEqual([8, 10, 12, 14], self.sks(self.q("byG", "g = :g AND s >= :a", v(a=2))))
        self.assertEqual([4, 6, 8, 10],
                         self.sks(self.q("byG", "g = :g AND s BETWEEN :a AND :b", v(a=1, b=2))))
        self.assertEqual([14, 12, 10, 8, 6, 4, 2, 0],
                         self.sks(self.q("byG", "g = :g", g0, ScanIndexForward=False)))
        r = self.c.query(TableName=self.t, IndexName="byG",
                         KeyConditions={"g": {"ComparisonOperator": "EQ",
                                              "AttributeValueList": [S("g1")]},
                                        "s": {"ComparisonOperator": "GE",
                                              "AttributeValueList": [N(3)]}})
        self.assertEqual([13, 15], self.sks(r))
        self.assertEqual([], self.q("byG", "g = :g", {":g": S("none")})["Items"])

    def test_query_lsi(self):
        p0 = {":p": S("p0")}
        r = self.q("byL", "pk = :p", p0)  # l = l20 - sk: reversed order
        self.assertEqual([18, 16, 14, 12, 10, 8, 6, 4, 2, 0], self.sks(r))
        r = self.q("byL", "pk = :p AND begins_with(l, :b)", dict(p0, **{":b": S("l0")}))
        self.assertEqual([18, 16, 14, 12], self.sks(r))
        r = self.q("byL", "pk = :p AND l BETWEEN :a AND :b",
                   dict(p0, **{":a": S("l10"), ":b": S("l14")}))
        self.assertEqual([10, 8, 6], self.sks(r))
        self.assertEqual(10, self.q("byL", "pk = :p", p0, ConsistentRead=True)["Count"])
        self.assertIn("y", r["Items"][0])  # ALL projection

    def test_paging_duplicate_index_keys(self):
        seen, start, pages = [], None, 0
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            r = self.q("byG", "g = :g", {":g": S("g1")}, Limit=3, **kw)
            seen += self.sks(r)
            pages += 1
            start = r.get("LastEvaluatedKey")
            if not start:
                break
            self.assertEqual({"g", "s", "pk", "sk"}, set(start))
        self.assertEqual([1, 3, 5, 7, 9, 11, 13, 15], seen)
        self.assertGreaterEqual(pages, 3)
        # the same through the paginator, on a KEYS_ONLY index without a sort key
        items = []
        for page in self.c.get_paginator("query").paginate(
                TableName=self.t, IndexName="keys", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": S("g0")}, PaginationConfig={"PageSize": 3}):
            items += page["Items"]
        self.assertEqual(8, len(items))
        self.assertEqual(8, len({(i["pk"]["S"], i["sk"]["N"]) for i in items}))

    def test_sparse_and_scan(self):
        r = self.c.scan(TableName=self.t, IndexName="byG")
        self.assertEqual(16, r["Count"])
        self.assertNotIn("p9", {it["pk"]["S"] for it in r["Items"]})  # g of the wrong type: refused
        seen, start = 0, None
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            r = self.c.scan(TableName=self.t, IndexName="keys", Limit=5, **kw)
            seen += r["Count"]
            start = r.get("LastEvaluatedKey")
            if not start:
                break
            self.assertEqual({"g", "pk", "sk"}, set(start))
        self.assertEqual(16, seen)
        r = self.c.scan(TableName=self.t, IndexName="byL", Select="COUNT")
        self.assertEqual(20, r["Count"])

    def test_projections(self):
        g0 = {":g": S("g0")}
        it = self.q("keys", "g = :g", g0)["Items"][0]
        self.assertEqual({"pk", "sk", "g"}, set(it))
        it = self.q("inc", "g = :g", g0)["Items"][0]
        self.assertEqual({"pk", "sk", "g", "s", "x"}, set(it))
        it = self.q("byG", "g = :g", g0, Select="ALL_PROJECTED_ATTRIBUTES")["Items"][0]
        self.assertEqual({"pk", "sk", "g", "s", "x", "y", "l"}, set(it))
        r = self.q("inc", "g = :g AND s >= :s", dict(g0, **{":s": N(0), ":x": N(100)}),
                   FilterExpression="x > :x", ProjectionExpression="sk, x")
        self.assertEqual([{"sk": N(12), "x": N(120)}, {"sk": N(14), "x": N(140)}], r["Items"])
        self.assertEqual(8, r["ScannedCount"])
        self.assertError("ValidationException",
                         INVALID + "Select type ALL_ATTRIBUTES is not supported for global "
                         "secondary index keys because its projection type is not ALL",
                         self.q, index="keys", expr="g = :g", values=g0, Select="ALL_ATTRIBUTES")

    def test_read_errors(self):
        self.assertError("ValidationException",
                         "The table does not have the specified index: nope",
                         self.q, index="nope", expr="g = :g", values={":g": S("g0")})
        self.assertError("ValidationException",
                         "The table does not have the specified index: nope",
                         self.c.scan, TableName=self.t, IndexName="nope")
        self.assertError("ValidationException",
                         "Consistent reads are not supported on global secondary indexes",
                         self.q, index="byG", expr="g = :g", values={":g": S("g0")},
                         ConsistentRead=True)
        self.assertError("ValidationException",
                         "Query condition missed key schema element: g",
                         self.q, index="byG", expr="pk = :g", values={":g": S("p0")})
        self.assertError("ValidationException",
                         "The provided starting key is invalid: The provided key element does "
                         "not match the schema",
                         self.q, index="byG", expr="g = :g", values={":g": S("g0")},
                         ExclusiveStartKey={"pk": S("p0"), "sk": N(0)})


class TestIndexSchema(DynamoTest):
    def create(self, **kw):
        args = dict(TableName=self.name(), KeySchema=[key("pk", "HASH"), key("sk", "RANGE")],
                    AttributeDefinitions=[attr("pk", "S"), attr("sk", "N"), attr("g", "S")],
                    BillingMode="PAY_PER_REQUEST")
        args.update(kw)
        return self.c.create_table(**args)

    def test_create_errors(self):
        self.assertError("ValidationException", INVALID + "Duplicate index name: dup", self.create,
                         GlobalSecondaryIndexes=[gsi("dup", "g")],
                         LocalSecondaryIndexes=[gsi("dup", "pk", "g")])
        self.assertError("ValidationException",
                         INVALID + "Index KeySchema does not have the same leading hash key as "
                         "table KeySchema for index: lsi. index hash key: g, table hash key: pk",
                         self.create, LocalSecondaryIndexes=[gsi("lsi", "g", "sk")],
                         AttributeDefinitions=[attr("pk", "S"), attr("sk", "N"), attr("g", "S")])
        self.assertError("ValidationException",
                         INVALID + "Table KeySchema does not have a range key, which is required "
                         "when specifying a LocalSecondaryIndex",
                         self.create, KeySchema=[key("pk", "HASH")],
                         AttributeDefinitions=[attr("pk", "S"), attr("g", "S")],
                         LocalSecondaryIndexes=[gsi("lsi", "pk", "g")])
        self.assertError("ValidationException",
                         INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: "
                         "[pk, sk, g, extra], keys used: [pk, sk, g]",
                         self.create, GlobalSecondaryIndexes=[gsi("gsi", "g")],
                         AttributeDefinitions=[attr("pk", "S"), attr("sk", "N"), attr("g", "S"),
                                               attr("extra", "S")])
        self.assertError("ValidationException",
                         "Invalid KeySchema: Some index key attribute have no definition",
                         self.create, GlobalSecondaryIndexes=[gsi("gsi", "nodef")])
        self.assertError("ValidationException",
                         INVALID + "ProjectionType is ALL, but NonKeyAttributes is specified",
                         self.create, GlobalSecondaryIndexes=[gsi("gsi", "g", projection={
                             "ProjectionType": "ALL", "NonKeyAttributes": ["x"]})])
        self.assertError("ValidationException",
                         INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5",
                         self.create, LocalSecondaryIndexes=[gsi("lsi%d" % i, "pk", "g")
                                                             for i in range(6)])
        self.assertError("ValidationException",
                         "1 validation error detected: Value 'x' at "
                         "'globalSecondaryIndexes.1.member.indexName' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 3",
                         self.raw.create_table, TableName=self.name(),
                         KeySchema=[key("pk", "HASH")], AttributeDefinitions=[attr("pk", "S")],
                         GlobalSecondaryIndexes=[gsi("x", "pk")], BillingMode="PAY_PER_REQUEST")

    def test_update_table_add_and_delete(self):
        name = self.create(AttributeDefinitions=[attr("pk", "S"), attr("sk", "N")])[
            "TableDescription"]["TableName"]
        for i in range(10):
            item = {"pk": S("p"), "sk": N(i)}
            if i % 3:
                item["g"] = S("g%d" % (i % 2))
            self.c.put_item(TableName=name, Item=item)
        r = self.c.update_table(
            TableName=name, AttributeDefinitions=[attr("g", "S"), attr("sk", "N")],
            GlobalSecondaryIndexUpdates=[{"Create": gsi("late", "g", "sk")}])
        idx = r["TableDescription"]["GlobalSecondaryIndexes"]
        self.assertEqual(["late"], [x["IndexName"] for x in idx])
        self.assertEqual("ACTIVE", idx[0]["IndexStatus"])
        self.assertEqual(6, idx[0]["ItemCount"])
        r = self.c.query(TableName=name, IndexName="late", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": S("g1")})
        self.assertEqual([1, 5, 7], [int(i["sk"]["N"]) for i in r["Items"]])
        self.c.put_item(TableName=name, Item={"pk": S("q"), "sk": N(3), "g": S("g1")})
        self.c.delete_item(TableName=name, Key={"pk": S("p"), "sk": N(5)})
        r = self.c.query(TableName=name, IndexName="late", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": S("g1")})
        self.assertEqual([1, 3, 7], [int(i["sk"]["N"]) for i in r["Items"]])
        self.assertError("ValidationException", INVALID + "Index with name: late already exists",
                         self.c.update_table, TableName=name,
                         AttributeDefinitions=[attr("g", "S"), attr("sk", "N")],
                         GlobalSecondaryIndexUpdates=[{"Create": gsi("late", "g", "sk")}])
        self.c.update_table(TableName=name, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "late", "ProvisionedThroughput": {
                "ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}}])
        r = self.c.update_table(TableName=name,
                                GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "late"}}])
        self.assertNotIn("GlobalSecondaryIndexes", r["TableDescription"])
        self.assertError("ValidationException",
                         "The table does not have the specified index: late",
                         self.c.query, TableName=name, IndexName="late",
                         KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": S("g1")})
        self.assertError("ResourceNotFoundException", None, self.c.update_table, TableName=name,
                         GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "late"}}])
        self.c.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
        self.c.delete_table(TableName=name)


if __name__ == "__main__":
    base.CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
