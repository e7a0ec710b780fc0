"""DynamoDB Time to Live and tags with the real boto3: UpdateTimeToLive and DescribeTimeToLive
(with DynamoDB's errors), expiry by the server's sweeper (the fixture server runs with the
default --ttl-interval of 1 s: expired items go within a few seconds, items whose expiry is in
the future, missing or not a number stay, and an item whose expiry is moved into the future
before a sweep survives), and TagResource, UntagResource and ListTagsOfResource with DynamoDB's
limits.

Usage: test_boto3_ttl.py CIRRUSD [unittest args]. Shares the server fixture of test_boto3.py.
"""
import os
import sys
import time
import unittest

import test_boto3 as base
from test_boto3 import DynamoTest, INVALID, N, S

SWEEP_WAIT = 5.0  # seconds: several sweeps at the default 1 s interval


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


class TestTimeToLive(DynamoTest):
    def spec(self, enabled, attr="exp"):
        return {"Enabled": enabled, "AttributeName": attr}

    def ids(self, name):
        items = self.c.scan(TableName=name, ConsistentRead=True)["Items"]
        return sorted(it["id"]["S"] for it in items)

    def wait_for(self, name, expected):
        deadline = time.time() + SWEEP_WAIT
        while self.ids(name) != expected and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(expected, self.ids(name))

    def test_describe_and_update(self):
        name = self.make_table()
        d = self.c.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        self.assertEqual({"TimeToLiveStatus": "DISABLED"}, d)
        r = self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(True))
        self.assertEqual(self.spec(True), r["TimeToLiveSpecification"])
        d = self.c.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        self.assertEqual({"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}, d)
        r = self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(False))
        self.assertEqual(self.spec(False), r["TimeToLiveSpecification"])
        d = self.c.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        self.assertEqual("DISABLED", d["TimeToLiveStatus"])
        # enabling again, on another attribute, is allowed once disabled
        self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(True, "e2"))
        d = self.c.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        self.assertEqual("e2", d["AttributeName"])

    def test_errors(self):
        name = self.make_table()
        u = self.c.update_time_to_live
        self.assertError("ValidationException", "TimeToLive is already disabled", u,
                         TableName=name, TimeToLiveSpecification=self.spec(False))
        u(TableName=name, TimeToLiveSpecification=self.spec(True))
        self.assertError("ValidationException", "TimeToLive is already enabled", u,
                         TableName=name, TimeToLiveSpecification=self.spec(True))
        different = ("TimeToLive is active on a different AttributeName: current AttributeName "
                     "is exp")
        self.assertError("ValidationException", different, u, TableName=name,
                         TimeToLiveSpecification=self.spec(True, "other"))
        self.assertError("ValidationException", different, u, TableName=name,
                         TimeToLiveSpecification=self.spec(False, "other"))
        self.assertError("ResourceNotFoundException",
                         "Requested resource not found: Table: ttl_nope not found", u,
                         TableName="ttl_nope", TimeToLiveSpecification=self.spec(True))
        self.assertError("ResourceNotFoundException",
                         "Requested resource not found: Table: ttl_nope not found",
                         self.c.describe_time_to_live, TableName="ttl_nope")
        self.assertError("ValidationException",
                         "1 validation error detected: Value null at 'timeToLiveSpecification' "
                         "failed to satisfy constraint: Member must not be null",
                         self.raw.update_time_to_live, TableName=name)
        self.assertError("ValidationException",
                         "1 validation error detected: Value '' at "
                         "'timeToLiveSpecification.attributeName' failed to satisfy constraint: "
                         "Member must have length greater than or equal to 1",
                         self.raw.update_time_to_live, TableName=name,
                         TimeToLiveSpecification=self.spec(True, ""))
        self.assertError("ValidationException", None, self.raw.update_time_to_live,
                         TableName=name, TimeToLiveSpecification={"AttributeName": "exp"})

    def test_expiry(self):
        name = self.make_table()
        now = int(time.time())
        items = {"past": N(now - 100), "now": N(now), "future": N(now + 3600),
                 "decimal": N("%d.5" % (now - 10)), "string": S(str(now - 100)),
                 "missing": None, "extend": N(now - 50)}
        for k, exp in items.items():
            it = {"id": S(k), "v": N(1)}
            if exp:
                it["exp"] = exp
            self.c.put_item(TableName=name, Item=it)
        # expired, but moved into the future before TTL is enabled (so before any sweep)
        self.c.update_item(TableName=name, Key={"id": S("extend")},
                           UpdateExpression="SET exp = :e",
                           ExpressionAttributeValues={":e": N(now + 3600)})
        self.assertEqual(7, len(self.ids(name)))  # nothing is swept without TTL
        self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(True))
        self.wait_for(name, ["extend", "future", "missing", "string"])
        # the deletes are ordinary deletes: the table's count follows
        t = self.c.describe_table(TableName=name)["Table"]
        self.assertEqual(4, t["ItemCount"])

    def test_expiry_with_sort_key_and_index(self):
        name = self.name()
        self.c.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"},
                       {"AttributeName": "n", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "n", "AttributeType": "N"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "byG",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")
        self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(True))
        now = int(time.time())
        reqs = [{"PutRequest": {"Item": {"id": S("a"), "n": N(i), "g": S("g"),
                                         "exp": N(now - 1 if i % 2 else now + 3600)}}}
                for i in range(20)]
        self.c.batch_write_item(RequestItems={name: reqs})
        deadline = time.time() + SWEEP_WAIT
        while time.time() < deadline:
            r = self.c.query(TableName=name, IndexName="byG", KeyConditionExpression="g = :g",
                             ExpressionAttributeValues={":g": S("g")})
            if r["Count"] == 10:
                break
            time.sleep(0.1)
        self.assertEqual([i for i in range(20) if i % 2 == 0],
                         sorted(int(it["n"]["N"]) for it in r["Items"]))

    def test_disabled_stops_expiry(self):
        name = self.make_table()
        self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(True))
        self.c.update_time_to_live(TableName=name, TimeToLiveSpecification=self.spec(False))
        self.c.put_item(TableName=name, Item={"id": S("old"), "exp": N(1000)})
        time.sleep(2.5)
        self.assertEqual(["old"], self.ids(name))


class TestTags(DynamoTest):
    def arn(self, name):
        return self.c.describe_table(TableName=name)["Table"]["TableArn"]

    def tags(self, arn):
        return {t["Key"]: t["Value"] for t in self.c.list_tags_of_resource(ResourceArn=arn)["Tags"]}

    def test_tag_list_untag(self):
        name = self.make_table()
        arn = self.arn(name)
        self.assertEqual([], self.c.list_tags_of_resource(ResourceArn=arn)["Tags"])
        self.c.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "db"},
                                                   {"Key": "env", "Value": ""}])
        self.assertEqual({"team": "db", "env": ""}, self.tags(arn))
        self.c.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "storage"},
                                                   {"Key": "a b:c/d=e+f-g@h_i.j", "Value": "x"}])
        self.assertEqual({"team": "storage", "env": "", "a b:c/d=e+f-g@h_i.j": "x"},
                         self.tags(arn))
        self.c.untag_resource(ResourceArn=arn, TagKeys=["env", "never-set"])
        self.assertEqual({"team": "storage", "a b:c/d=e+f-g@h_i.j": "x"}, self.tags(arn))
        # tags survive other table changes
        self.c.update_time_to_live(TableName=name,
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": "e"})
        self.assertEqual({"team": "storage", "a b:c/d=e+f-g@h_i.j": "x"}, self.tags(arn))
        self.assertEqual("ENABLED", self.c.describe_time_to_live(TableName=name)
                         ["TimeToLiveDescription"]["TimeToLiveStatus"])
        # a table recreated under the same name starts without tags
        self.c.delete_table(TableName=name)
        self.c.create_table(TableName=name,
                            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        self.assertEqual({}, self.tags(arn))

    def test_limits(self):
        name = self.make_table()
        arn = self.arn(name)
        self.c.tag_resource(ResourceArn=arn,
                            Tags=[{"Key": "k%02d" % i, "Value": "v"} for i in range(30)])
        self.c.tag_resource(ResourceArn=arn,
                            Tags=[{"Key": "k%02d" % i, "Value": "w"} for i in range(20, 50)])
        self.assertEqual(50, len(self.tags(arn)))
        too_many = INVALID + "Too many tags: a table can have at most 50 tags"
        self.assertError("ValidationException", too_many, self.c.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "k50", "Value": "v"}])
        self.assertEqual(50, len(self.tags(arn)))
        self.c.untag_resource(ResourceArn=arn, TagKeys=["k%02d" % i for i in range(50)])
        self.assertEqual({}, self.tags(arn))
        self.assertError("ValidationException", too_many, self.c.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "k%02d" % i, "Value": "v"} for i in range(51)])
        self.c.tag_resource(ResourceArn=arn, Tags=[{"Key": "k" * 128, "Value": "v" * 256},
                                                   {"Key": "\u00e9t\u00e9", "Value": "\u00e9"}])
        self.assertEqual({"k" * 128: "v" * 256, "\u00e9t\u00e9": "\u00e9"}, self.tags(arn))
        self.assertError("ValidationException",
                         "1 validation error detected: Value '%s' at 'tags.1.member.key' failed "
                         "to satisfy constraint: Member must have length less than or equal to "
                         "128" % ("k" * 100), self.raw.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "k" * 129, "Value": "v"}])
        self.assertError("ValidationException", None, self.raw.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "k", "Value": "v" * 257}])
        self.assertError("ValidationException", None, self.raw.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "", "Value": "v"}])
        self.assertError("ValidationException", None, self.raw.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "bad#key", "Value": "v"}])
        reserved = INVALID + "Tag keys starting with 'aws:' are reserved for system use: AWS:x"
        self.assertError("ValidationException", reserved, self.c.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "AWS:x", "Value": "v"}])
        self.assertError("ValidationException", None, self.c.untag_resource, ResourceArn=arn,
                         TagKeys=["aws:created"])
        self.assertError("ValidationException",
                         "1 validation error detected: Value '[]' at 'tags' failed to satisfy "
                         "constraint: Member must have length greater than or equal to 1",
                         self.raw.tag_resource, ResourceArn=arn, Tags=[])
        self.assertError("ValidationException", None, self.raw.tag_resource, ResourceArn=arn)

    def test_missing_table(self):
        arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tag_nope"
        msg = "Requested resource not found: ResourceArn: %s not found" % arn
        self.assertError("ResourceNotFoundException", msg, self.c.tag_resource, ResourceArn=arn,
                         Tags=[{"Key": "k", "Value": "v"}])
        self.assertError("ResourceNotFoundException", msg, self.c.untag_resource,
                         ResourceArn=arn, TagKeys=["k"])
        self.assertError("ResourceNotFoundException", msg, self.c.list_tags_of_resource,
                         ResourceArn=arn)
        self.assertError("ValidationException",
                         "Invalid TableArn: Invalid ResourceArn provided as input arn:nope",
                         self.c.tag_resource, ResourceArn="arn:nope",
                         Tags=[{"Key": "k", "Value": "v"}])


if __name__ == "__main__":
    base.CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
