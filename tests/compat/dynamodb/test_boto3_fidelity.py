"""DynamoDB fidelity details with the real boto3: CreateTable's Tags, and ReturnConsumedCapacity
INDEXES on writes (the table's units and each written index's).

Usage: test_boto3_fidelity.py CIRRUSD [unittest args]. Shares the server fixture of test_boto3.py.
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


if __name__ == "__main__":
    base.CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
