"""DynamoDB read expressions with the real boto3: KeyConditionExpression, FilterExpression and
ProjectionExpression on GetItem, BatchGetItem, Query and Scan, their placeholders, and the
errors DynamoDB gives for them.

Usage: test_boto3_reads.py CIRRUSD [unittest args]. Shares the server fixture of test_boto3.py.
"""
import os
import sys
import unittest

import test_boto3 as base
from test_boto3 import DynamoTest, INVALID, N, S


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


class TestReadExpressions(DynamoTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "rx_%d" % os.getpid()
        cls.c.create_table(TableName=cls.t,
                           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                 {"AttributeName": "sk", "AttributeType": "N"}],
                           BillingMode="PAY_PER_REQUEST")
        for p in ("x", "y"):
            reqs = [{"PutRequest": {"Item": {
                "pk": S(p), "sk": N(i), "even": {"BOOL": i % 2 == 0}, "name": S("n%02d" % i),
                "tags": {"SS": ["t%d" % (i % 3), "all"]},
                "info": {"M": {"size": N(i * 10), "list": {"L": [N(i), S("z")]}}}}}}
                for i in range(25)]
            cls.c.batch_write_item(RequestItems={cls.t: reqs})

    def sks(self, r):
        return [int(it["sk"]["N"]) for it in r["Items"]]

    def q(self, expr, values, **kw):
        return self.c.query(TableName=self.t, KeyConditionExpression=expr,
                            ExpressionAttributeValues=values, **kw)

    def q_error(self, message, expr, values, **kw):
        return self.assertError("ValidationException", message,
                                lambda: self.q(expr, values, **kw))

    def test_key_condition_expression(self):
        x = {":p": S("x")}
        self.assertEqual(list(range(25)), self.sks(self.q("pk = :p", x)))
        self.assertEqual([3], self.sks(self.q("pk = :p AND sk = :v", dict(x, **{":v": N(3)}))))
        self.assertEqual([0, 1], self.sks(self.q("pk = :p AND sk < :v", dict(x, **{":v": N(2)}))))
        self.assertEqual([22, 23, 24],
                         self.sks(self.q("pk = :p AND sk >= :v", dict(x, **{":v": N(22)}))))
        self.assertEqual([5, 6, 7], self.sks(self.q("pk = :p AND sk BETWEEN :a AND :b",
                                                    dict(x, **{":a": N(5), ":b": N(7)}))))
        self.assertEqual([24, 23], self.sks(self.q("#k = :p", x, ScanIndexForward=False, Limit=2,
                                                   ExpressionAttributeNames={"#k": "pk"})))

    def test_key_condition_errors(self):
        self.q_error(INVALID + "Condition parameter type does not match schema type",
                     "pk = :p", {":p": N(1)})
        self.q_error("Value provided in ExpressionAttributeValues unused in expressions: "
                     "keys: {:z}", "pk = :p", {":p": S("x"), ":z": S("x")})
        self.q_error("Can not use both expression and non-expression parameters in the same "
                     "request: Non-expression parameters: {KeyConditions} Expression "
                     "parameters: {KeyConditionExpression}",
                     "pk = :p", {":p": S("x")}, KeyConditions={
                         "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("x")]}})
        r = self.q_error(None, "pk = :p OR sk = :p", {":p": S("x")})
        self.assertIn("KeyConditionExpression", r["Error"]["Message"])
        self.assertError("ValidationException",
                         "ExpressionAttributeValues can only be specified when using expressions",
                         self.c.scan, TableName=self.t, ExpressionAttributeValues={":p": S("x")})

    def test_filter_counts_and_paging(self):
        x = {":p": S("x"), ":t": {"BOOL": True}}
        r = self.q("pk = :p", x, FilterExpression="even = :t")
        self.assertEqual(list(range(0, 25, 2)), self.sks(r))
        self.assertEqual(13, r["Count"])
        self.assertEqual(25, r["ScannedCount"])
        # Limit counts items read before the filter; LastEvaluatedKey is the last one read.
        r = self.q("pk = :p", x, FilterExpression="even = :t", Limit=5)
        self.assertEqual([0, 2, 4], self.sks(r))
        self.assertEqual(5, r["ScannedCount"])
        self.assertEqual({"pk": S("x"), "sk": N(4)}, r["LastEvaluatedKey"])
        r = self.q("pk = :p", x, FilterExpression="even = :t", Limit=5,
                   ExclusiveStartKey={"pk": S("x"), "sk": N(5)})
        self.assertEqual([6, 8, 10], self.sks(r))
        r = self.q("pk = :p", dict(x, **{":s": N(100)}), Select="COUNT",
                   FilterExpression="info.#size >= :s AND even = :t",
                   ExpressionAttributeNames={"#size": "size"})  # size is a reserved word
        self.assertEqual(len([i for i in range(10, 25) if i % 2 == 0]), r["Count"])
        self.assertNotIn("Items", r)

    def test_filter_functions(self):
        def scan(expr, values=None, names=None):
            kw = {"FilterExpression": expr}
            if values:
                kw["ExpressionAttributeValues"] = values
            if names:
                kw["ExpressionAttributeNames"] = names
            items = []
            for page in self.c.get_paginator("scan").paginate(TableName=self.t, **kw):
                items += page["Items"]
            return sorted({(it["pk"]["S"], int(it["sk"]["N"])) for it in items})
        self.assertEqual([("x", 7), ("y", 7)], scan("sk = :v", {":v": N(7)}))
        self.assertEqual(50, len(scan("attribute_exists(info.#l[1])", names={"#l": "list"})))
        self.assertEqual([], scan("attribute_not_exists(#n)", names={"#n": "name"}))
        self.assertEqual(18, len(scan("contains(tags, :t)", {":t": S("t0")})))
        self.assertEqual(20, len(scan("begins_with(#n, :b)", {":b": S("n1")}, {"#n": "name"})))
        self.assertEqual([("x", 1), ("x", 3), ("y", 1), ("y", 3)],
                         scan("sk IN (:a, :b, :c) AND NOT even = :t",
                              {":a": N(1), ":b": N(3), ":c": N(4), ":t": {"BOOL": True}}))
        self.assertEqual(50, len(scan("size(tags) = :two", {":two": N(2)})))
        self.assertEqual(50, len(scan("attribute_type(info, :m)", {":m": S("M")})))
        self.assertError("ValidationException",
                         "Invalid FilterExpression: Attribute name is a reserved keyword; "
                         "reserved keyword: name",
                         self.c.scan, TableName=self.t, FilterExpression="name = :v",
                         ExpressionAttributeValues={":v": S("n01")})

    def test_projection(self):
        key = {"pk": S("x"), "sk": N(4)}
        got = self.c.get_item(TableName=self.t, Key=key,
                              ProjectionExpression="#n, info.#l[1], tags",
                              ExpressionAttributeNames={"#n": "name", "#l": "list"})["Item"]
        self.assertEqual({"name": S("n04"), "info": {"M": {"list": {"L": [S("z")]}}},
                          "tags": {"SS": ["all", "t1"]}}, got)
        r = self.q("pk = :p AND sk < :v", {":p": S("y"), ":v": N(2)}, ProjectionExpression="sk")
        self.assertEqual([{"sk": N(0)}, {"sk": N(1)}], r["Items"])
        r = self.c.batch_get_item(RequestItems={self.t: {
            "Keys": [key, {"pk": S("y"), "sk": N(1)}], "ProjectionExpression": "pk, even"}})
        self.assertEqual(sorted([{"pk": S("x"), "even": {"BOOL": True}},
                                 {"pk": S("y"), "even": {"BOOL": False}}],
                                key=lambda it: it["pk"]["S"]),
                         sorted(r["Responses"][self.t], key=lambda it: it["pk"]["S"]))
        self.assertError("ValidationException",
                         "Can not use both expression and non-expression parameters in the same "
                         "request: Non-expression parameters: {AttributesToGet} Expression "
                         "parameters: {ProjectionExpression}",
                         self.c.get_item, TableName=self.t, Key=key, ProjectionExpression="sk",
                         AttributesToGet=["sk"])
        self.assertError("ValidationException",
                         "Invalid ProjectionExpression: An expression attribute name used in "
                         "the document path is not defined; attribute name: #x",
                         self.c.get_item, TableName=self.t, Key=key, ProjectionExpression="#x")
        self.assertError("ValidationException",
                         "Value provided in ExpressionAttributeNames unused in expressions: "
                         "keys: {#u}",
                         self.c.get_item, TableName=self.t, Key=key, ProjectionExpression="sk",
                         ExpressionAttributeNames={"#u": "unused"})


class TestLegacyFilters(DynamoTest):
    """QueryFilter and ScanFilter with ConditionalOperator: every ComparisonOperator, AND/OR,
    Limit and the counts, and DynamoDB's errors for them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = "lf_%d" % os.getpid()
        cls.c.create_table(TableName=cls.t,
                           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                 {"AttributeName": "sk", "AttributeType": "N"}],
                           BillingMode="PAY_PER_REQUEST")
        for p in ("x", "y"):
            reqs = []
            for i in range(10):
                item = {"pk": S(p), "sk": N(i), "n": N(i), "b": {"B": bytes([i])},
                        "s": S("%s%d" % ("ab" if i < 5 else "cd", i)),
                        "tags": {"SS": ["t%d" % (i % 3), "all"]}, "l": {"L": [N(i), S("z")]}}
                if i % 2 == 0:
                    item["opt"] = S("o")
                reqs.append({"PutRequest": {"Item": item}})
            cls.c.batch_write_item(RequestItems={cls.t: reqs})

    @staticmethod
    def cond(op, *values):
        c = {"ComparisonOperator": op}
        if values:
            c["AttributeValueList"] = list(values)
        return c

    def scan(self, flt, **kw):
        r = self.c.scan(TableName=self.t, ScanFilter=flt, **kw)
        return sorted({int(it["sk"]["N"]) for it in r["Items"]}), r

    def query(self, flt, **kw):
        r = self.c.query(TableName=self.t, QueryFilter=flt, KeyConditions={
            "pk": self.cond("EQ", S("x"))}, **kw)
        return [int(it["sk"]["N"]) for it in r.get("Items", [])], r

    def test_every_comparison_operator(self):
        c = self.cond
        cases = [
            ({"n": c("EQ", N(3))}, [3]),
            ({"n": c("NE", N(3))}, [0, 1, 2, 4, 5, 6, 7, 8, 9]),
            ({"n": c("LE", N(2))}, [0, 1, 2]),
            ({"n": c("LT", N(2))}, [0, 1]),
            ({"n": c("GE", N(8))}, [8, 9]),
            ({"n": c("GT", N(8))}, [9]),
            ({"opt": c("NOT_NULL")}, [0, 2, 4, 6, 8]),
            ({"opt": c("NULL")}, [1, 3, 5, 7, 9]),
            ({"tags": c("CONTAINS", S("t1"))}, [1, 4, 7]),
            ({"l": c("CONTAINS", N(5))}, [5]),
            ({"tags": c("NOT_CONTAINS", S("t0"))}, [1, 2, 4, 5, 7, 8]),
            ({"s": c("BEGINS_WITH", S("ab"))}, [0, 1, 2, 3, 4]),
            ({"n": c("IN", N(1), N(3), N(11))}, [1, 3]),
            ({"n": c("BETWEEN", N(3), N(5))}, [3, 4, 5]),
            ({"b": c("EQ", {"B": bytes([2])})}, [2]),
            ({"s": c("GT", S("cd7"))}, [8, 9]),
        ]
        for flt, want in cases:
            with self.subTest(flt=flt):
                got, r = self.scan(flt)
                self.assertEqual(want, got)
                self.assertEqual(2 * len(want), r["Count"])
                self.assertEqual(20, r["ScannedCount"])
                got, r = self.query(flt)
                self.assertEqual(want, got)
                self.assertEqual(10, r["ScannedCount"])

    def test_and_or(self):
        c = self.cond
        flt = {"n": c("GE", N(5)), "opt": c("NOT_NULL")}
        self.assertEqual([6, 8], self.scan(flt)[0])
        self.assertEqual([6, 8], self.scan(flt, ConditionalOperator="AND")[0])
        self.assertEqual([0, 2, 4, 5, 6, 7, 8, 9], self.scan(flt, ConditionalOperator="OR")[0])
        self.assertEqual([0, 2, 4, 5, 6, 7, 8, 9], self.query(flt, ConditionalOperator="OR")[0])
        got, _ = self.scan({"n": c("LT", N(2))}, AttributesToGet=["sk", "n"])
        self.assertEqual([0, 1], got)

    def test_limit_and_counts(self):
        flt = {"opt": self.cond("NOT_NULL")}
        got, r = self.query(flt, Limit=5)
        self.assertEqual([0, 2, 4], got)
        self.assertEqual(3, r["Count"])
        self.assertEqual(5, r["ScannedCount"])
        self.assertEqual({"pk": S("x"), "sk": N(4)}, r["LastEvaluatedKey"])
        got, r = self.query(flt, Limit=5, ExclusiveStartKey=r["LastEvaluatedKey"])
        self.assertEqual([6, 8], got)
        got, r = self.query(flt, Select="COUNT")
        self.assertEqual((5, 10), (r["Count"], r["ScannedCount"]))
        self.assertNotIn("Items", r)
        _, r = self.scan(flt, Limit=3)
        self.assertEqual(3, r["ScannedCount"])
        self.assertLessEqual(r["Count"], 3)
        self.assertIn("LastEvaluatedKey", r)

    def test_errors(self):
        c = self.cond
        mix = ("Can not use both expression and non-expression parameters in the same request: "
               "Non-expression parameters: {%s} Expression parameters: {%s}")
        without = "ConditionalOperator cannot be used without Filter or Expected"
        two = "ConditionalOperator can only be used when Filter or Expected has two or more elements"

        def scan_error(message, **kw):
            self.assertError("ValidationException", message, self.c.scan, TableName=self.t, **kw)

        def query_error(message, **kw):
            kw.setdefault("KeyConditions", {"pk": c("EQ", S("x"))})
            if kw["KeyConditions"] is None:
                del kw["KeyConditions"]
            self.assertError("ValidationException", message, self.c.query, TableName=self.t,
                             **kw)

        query_error("QueryFilter can only contain non-primary key attributes: Primary key "
                    "attribute: sk", QueryFilter={"sk": c("GT", N(1))})
        query_error("QueryFilter can only contain non-primary key attributes: Primary key "
                    "attribute: pk", QueryFilter={"n": c("GT", N(1)), "pk": c("EQ", S("x"))})
        scan_error(mix % ("ScanFilter", "FilterExpression"), ScanFilter={"n": c("NOT_NULL")},
                   FilterExpression="n = :v", ExpressionAttributeValues={":v": N(1)})
        scan_error(mix % ("ConditionalOperator", "FilterExpression"), ConditionalOperator="OR",
                   FilterExpression="n = :v", ExpressionAttributeValues={":v": N(1)})
        scan_error(mix % ("AttributesToGet, ScanFilter, ConditionalOperator",
                          "ProjectionExpression, FilterExpression"),
                   AttributesToGet=["n"], ScanFilter={"n": c("NOT_NULL")},
                   ConditionalOperator="AND", FilterExpression="n = :v",
                   ProjectionExpression="s", ExpressionAttributeValues={":v": N(1)})
        query_error(mix % ("QueryFilter, ConditionalOperator, KeyConditions",
                           "ProjectionExpression, FilterExpression, KeyConditionExpression"),
                    QueryFilter={"n": c("NOT_NULL")}, ConditionalOperator="AND",
                    KeyConditionExpression="pk = :p", FilterExpression="n = :v",
                    ProjectionExpression="s",
                    ExpressionAttributeValues={":p": S("x"), ":v": N(1)})
        query_error(mix % ("QueryFilter", "KeyConditionExpression"), KeyConditions=None,
                    QueryFilter={"n": c("NOT_NULL")}, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": S("x")})
        scan_error("ExpressionAttributeValues can only be specified when using expressions",
                   ScanFilter={"n": c("NOT_NULL")}, ExpressionAttributeValues={":v": N(1)})
        scan_error(without, ConditionalOperator="AND")
        scan_error(without, ConditionalOperator="OR", ScanFilter={})
        scan_error(two, ConditionalOperator="AND", ScanFilter={"n": c("NOT_NULL")})
        query_error(without, ConditionalOperator="AND")
        query_error(two, ConditionalOperator="OR", QueryFilter={"n": c("NOT_NULL")})
        query_error(without, KeyConditions=None, ConditionalOperator="AND")
        scan_error("1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to "
                   "satisfy constraint: Member must satisfy enum value set: [AND, OR]",
                   ConditionalOperator="XOR",
                   ScanFilter={"n": c("NOT_NULL"), "s": c("NOT_NULL")})
        scan_error("1 validation error detected: Value 'FOO' at "
                   "'scanFilter.n.member.comparisonOperator' failed to satisfy constraint: "
                   "Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, "
                   "EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]",
                   ScanFilter={"n": c("FOO", N(1))})
        scan_error(INVALID + "Invalid number of argument(s) for the EQ ComparisonOperator",
                   ScanFilter={"n": c("EQ", N(1), N(2))})
        query_error(INVALID + "Invalid number of argument(s) for the NULL ComparisonOperator",
                    QueryFilter={"n": c("NULL", N(1))})
        scan_error(INVALID + "Invalid number of argument(s) for the IN ComparisonOperator",
                   ScanFilter={"n": c("IN")})
        scan_error(INVALID + "ComparisonOperator LT is not valid for SS AttributeValue type",
                   ScanFilter={"tags": c("LT", {"SS": ["a"]})})
        query_error(INVALID + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue "
                    "type", QueryFilter={"n": c("BEGINS_WITH", N(1))})
        scan_error(INVALID + "ComparisonOperator CONTAINS is not valid for M AttributeValue type",
                   ScanFilter={"l": c("CONTAINS", {"M": {}})})
        scan_error(INVALID + "ComparisonOperator BETWEEN is not valid for BOOL AttributeValue "
                   "type", ScanFilter={"n": c("BETWEEN", {"BOOL": True}, {"BOOL": True})})


if __name__ == "__main__":
    base.CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
