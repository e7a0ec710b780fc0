"""DynamoDB PartiQL with the real boto3: ExecuteStatement (SELECT as Query or Scan, INSERT,
UPDATE, DELETE, parameters, pagination), BatchExecuteStatement and ExecuteTransaction, and the
errors DynamoDB gives for them.

Usage: test_boto3_partiql.py CIRRUSD [unittest args]. Shares the server fixture of test_boto3.py.
"""
import os
import sys
import unittest

import test_boto3 as base
from test_boto3 import DynamoTest, N, S

WELL_FORMED = "Statement wasn't well formed, can't be processed: "


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


class PartiQLTest(DynamoTest):
    def setUp(self):
        self.t = self.name("pq")
        self.c.create_table(TableName=self.t,
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "N"}],
                            BillingMode="PAY_PER_REQUEST")

    def run_stmt(self, statement, params=None, **kw):
        if params is not None:
            kw["Parameters"] = params
        return self.c.execute_statement(Statement=statement, **kw)

    def stmt_error(self, code, message, statement, params=None, **kw):
        return self.assertError(code, message, self.run_stmt, statement=statement, params=params,
                                **kw)

    def get(self, pk, sk):
        return self.c.get_item(TableName=self.t, Key={"pk": S(pk), "sk": N(sk)}).get("Item")

    def fill(self, pks=("a", "b"), count=10):
        for p in pks:
            for i in range(count):
                self.run_stmt('INSERT INTO "%s" VALUE {\'pk\': ?, \'sk\': ?, \'even\': ?, '
                              '\'tags\': <<\'x\', \'y\'>>, \'m\': {\'n\': %d, \'l\': [1, \'two\']}}'
                              % (self.t, i), [S(p), N(i), {"BOOL": i % 2 == 0}])


class TestExecuteStatement(PartiQLTest):
    def test_insert_select_literals(self):
        r = self.run_stmt("INSERT INTO \"%s\" VALUE {'pk': 'k', 'sk': 1, 's': 'it''s', "
                          "'n': -12.50, 'b': true, 'z': null, 'l': [1, 'a', [true]], "
                          "'m': {'x': {'y': 2}}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>}" % self.t)
        self.assertEqual([], r["Items"])
        self.assertEqual({"pk": S("k"), "sk": N(1), "s": S("it's"), "n": N("-12.5"),
                          "b": {"BOOL": True}, "z": {"NULL": True},
                          "l": {"L": [N(1), S("a"), {"L": [{"BOOL": True}]}]},
                          "m": {"M": {"x": {"M": {"y": N(2)}}}}, "ss": {"SS": ["a", "b"]},
                          "ns": {"NS": ["1", "2"]}}, self.get("k", 1))
        r = self.run_stmt('SELECT s, m.x.y, l[2] FROM "%s" WHERE pk = \'k\' AND sk = 1' % self.t)
        self.assertEqual([{"s": S("it's"), "m": {"M": {"x": {"M": {"y": N(2)}}}},
                           "l": {"L": [{"L": [{"BOOL": True}]}]}}], r["Items"])

    def test_insert_duplicate(self):
        stmt = "INSERT INTO \"%s\" VALUE {'pk': ?, 'sk': ?}" % self.t
        self.run_stmt(stmt, [S("d"), N(1)])
        self.stmt_error("DuplicateItemException", "Duplicate primary key exists in table", stmt,
                        [S("d"), N(1)])

    def test_select_query_and_scan(self):
        self.fill()
        r = self.run_stmt('SELECT * FROM "%s" WHERE pk = ?' % self.t, [S("a")])
        self.assertEqual(list(range(10)), [int(i["sk"]["N"]) for i in r["Items"]])
        r = self.run_stmt('SELECT sk FROM "%s" WHERE "pk" = \'b\' AND sk BETWEEN 3 AND 5 '
                          'ORDER BY sk DESC' % self.t)
        self.assertEqual([{"sk": N(5)}, {"sk": N(4)}, {"sk": N(3)}], r["Items"])
        r = self.run_stmt('SELECT sk FROM "%s" WHERE pk = \'a\' AND sk >= 7 AND even = true'
                          % self.t)
        self.assertEqual([{"sk": N(8)}], r["Items"])
        # No partition-key equality: a Scan with the whole WHERE as its filter.
        r = self.run_stmt('SELECT pk, sk FROM "%s" WHERE sk = 3 OR sk = 4' % self.t)
        self.assertEqual(4, len(r["Items"]))
        r = self.run_stmt('SELECT * FROM "%s" WHERE contains(tags, \'x\') AND m.n < 2 AND '
                          'begins_with(pk, \'b\') AND attribute_type(m, \'M\') AND '
                          'size(m.l) = 2 AND m.zz IS MISSING AND m.l[1] IS NOT MISSING AND '
                          'sk IN [0, 1, 9] AND NOT even = false' % self.t)
        self.assertEqual([("b", 0)], [(i["pk"]["S"], int(i["sk"]["N"])) for i in r["Items"]])
        r = self.run_stmt('SELECT * FROM "%s"' % self.t)
        self.assertEqual(20, len(r["Items"]))

    def test_pagination(self):
        self.fill(count=7)
        seen, token, pages = [], None, 0
        while True:
            kw = {"Limit": 3}
            if token:
                kw["NextToken"] = token
            r = self.run_stmt('SELECT sk FROM "%s" WHERE pk = ?' % self.t, [S("a")], **kw)
            seen += [int(i["sk"]["N"]) for i in r["Items"]]
            pages += 1
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(list(range(7)), seen)
        self.assertGreaterEqual(pages, 3)
        items, token = [], None
        while True:  # a Scan, paged
            kw = {"NextToken": token} if token else {}
            r = self.run_stmt('SELECT * FROM "%s"' % self.t, Limit=4, **kw)
            items += r["Items"]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(14, len(items))
        r = self.run_stmt('SELECT sk FROM "%s" WHERE pk = \'a\'' % self.t, Limit=2,
                          ConsistentRead=True)
        self.stmt_error("ValidationException", "Invalid NextToken", 'SELECT * FROM "%s"' % self.t,
                        NextToken=r["NextToken"])

    def test_update(self):
        self.fill(pks=("u",), count=1)
        self.run_stmt('UPDATE "%s" SET n = 1, s = \'x\' SET m.n = m.n + 5 REMOVE even '
                      'SET tags = set_add(tags, <<\'z\'>>) WHERE pk = \'u\' AND sk = 0' % self.t)
        item = self.get("u", 0)
        self.assertEqual(N(1), item["n"])
        self.assertEqual(N(5), item["m"]["M"]["n"])
        self.assertNotIn("even", item)
        self.assertEqual(["x", "y", "z"], sorted(item["tags"]["SS"]))
        r = self.run_stmt('UPDATE "%s" SET n = n + ? WHERE pk = ? AND sk = ? AND n = 1 '
                          'RETURNING MODIFIED NEW *' % self.t, [N(2), S("u"), N(0)])
        self.assertEqual([{"n": N(3)}], r["Items"])
        r = self.run_stmt('UPDATE "%s" SET l = list_append(m.l, [3]), '
                          'c = if_not_exists(c, 0) SET tags = set_delete(tags, <<\'x\'>>) '
                          'WHERE pk = \'u\' AND sk = 0 RETURNING ALL OLD *' % self.t)
        self.assertEqual(N(3), r["Items"][0]["n"])
        item = self.get("u", 0)
        self.assertEqual({"L": [N(1), S("two"), N(3)]}, item["l"])
        self.assertEqual(["y", "z"], sorted(item["tags"]["SS"]))
        # The condition fails, and UPDATE never creates an item.
        upd = 'UPDATE "%s" SET n = 0 WHERE pk = ' % self.t
        self.stmt_error("ConditionalCheckFailedException", None, upd + "'u' AND sk = 0 AND n = 99")
        self.stmt_error("ConditionalCheckFailedException", None, upd + "'nope' AND sk = 0")
        self.assertIsNone(self.get("nope", 0))
        # Over plain HTTP: the system's botocore (1.29) lacks this parameter, so it always runs.
        status, out = base.call_raw("ExecuteStatement", {
            "Statement": upd + "'u' AND sk = 0 AND n = 9",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
        self.assertEqual(400, status)
        self.assertTrue(out["__type"].endswith("#ConditionalCheckFailedException"), out)
        self.assertEqual(N(3), out["Item"]["n"])
        self.stmt_error("ValidationException", "One or more parameter values were invalid: Cannot "
                        "update attribute sk. This attribute is part of the key",
                        'UPDATE "%s" SET sk = 2 WHERE pk = \'u\' AND sk = 0' % self.t)

    def test_delete(self):
        self.fill(pks=("d",), count=3)
        self.assertEqual([], self.run_stmt(
            'DELETE FROM "%s" WHERE pk = \'d\' AND sk = 0' % self.t)["Items"])
        self.assertIsNone(self.get("d", 0))
        # A missing item: success, nothing deleted.
        self.run_stmt('DELETE FROM "%s" WHERE pk = \'d\' AND sk = 0 AND even = true' % self.t)
        self.stmt_error("ConditionalCheckFailedException", None,
                        'DELETE FROM "%s" WHERE pk = \'d\' AND sk = 1 AND even = true' % self.t)
        r = self.run_stmt('DELETE FROM "%s" WHERE pk = ? AND sk = ? RETURNING ALL OLD *'
                          % self.t, [S("d"), N(2)])
        self.assertEqual(N(2), r["Items"][0]["sk"])
        self.assertIsNotNone(self.get("d", 1))

    def test_errors(self):
        def invalid(message, statement, params=None, **kw):
            return self.stmt_error("ValidationException", message, statement,
                                    params, **kw)
        invalid(WELL_FORMED + "Unexpected token: FROMM", 'SELECT * FROMM "%s"' % self.t)
        invalid(WELL_FORMED + "Unexpected end of statement", 'SELECT * FROM "%s" WHERE' % self.t)
        invalid(WELL_FORMED + "Number of parameters in request and statement don't match.",
                'SELECT * FROM "%s" WHERE pk = ?' % self.t, [S("a"), S("b")])
        invalid(WELL_FORMED + "Number of parameters in request and statement don't match.",
                'SELECT * FROM "%s" WHERE pk = ?' % self.t)
        invalid(WELL_FORMED + "Where clause does not contain a mandatory equality on all key "
                "attributes", 'DELETE FROM "%s" WHERE pk = \'a\'' % self.t)
        invalid(WELL_FORMED + "Unsupported function: frobnicate",
                'SELECT * FROM "%s" WHERE frobnicate(a)' % self.t)
        invalid("One or more parameter values were invalid: Missing the key sk in the item",
                "INSERT INTO \"%s\" VALUE {'pk': 'a'}" % self.t)
        self.stmt_error("ResourceNotFoundException", None, 'SELECT * FROM "nope_%d"' % os.getpid())
        self.assertError("ValidationException", None, self.raw.execute_statement, Statement="")


class TestBatchExecuteStatement(PartiQLTest):
    def test_writes_then_reads(self):
        ins = "INSERT INTO \"%s\" VALUE {'pk': ?, 'sk': ?, 'v': ?}" % self.t
        r = self.c.batch_execute_statement(Statements=[
            {"Statement": ins, "Parameters": [S("b"), N(1), N(10)]},
            {"Statement": ins, "Parameters": [S("b"), N(2), N(20)]},
            {"Statement": ins, "Parameters": [S("b"), N(1), N(30)]},  # duplicate
            {"Statement": 'UPDATE "%s" SET v = 0 WHERE pk = \'b\' AND sk = 2 AND v = 99'
             % self.t},
            {"Statement": 'SELECT * FROM "%s" WHERE pk = \'b\'' % self.t},
        ])["Responses"]
        self.assertNotIn("Error", r[0])
        self.assertNotIn("Error", r[1])
        self.assertEqual("DuplicateItem", r[2]["Error"]["Code"])
        self.assertEqual("ConditionalCheckFailed", r[3]["Error"]["Code"])
        self.assertEqual("ValidationError", r[4]["Error"]["Code"])
        self.assertEqual(self.t, r[0]["TableName"])
        self.assertEqual(N(10), self.get("b", 1)["v"])
        r = self.c.batch_execute_statement(Statements=[
            {"Statement": 'SELECT v FROM "%s" WHERE pk = ? AND sk = ?' % self.t,
             "Parameters": [S("b"), N(sk)], "ConsistentRead": True} for sk in (1, 2, 3)]
            + [{"Statement": 'SELECT * FROM "%s" WHERE pk = \'b\' AND sk = 1 AND' % self.t}]
            + [{"Statement": 'SELECT * FROM "nope_%d" WHERE pk = \'b\' AND sk = 1'
                % os.getpid()}])["Responses"]
        self.assertEqual({"v": N(10)}, r[0]["Item"])
        self.assertEqual({"v": N(20)}, r[1]["Item"])
        self.assertNotIn("Item", r[2])
        self.assertEqual("ValidationError", r[3]["Error"]["Code"])
        self.assertEqual("ResourceNotFound", r[4]["Error"]["Code"])

    def test_limits(self):
        self.assertError("ValidationException", None, self.raw.batch_execute_statement,
                         Statements=[])
        stmt = {"Statement": 'SELECT * FROM "%s" WHERE pk = \'a\' AND sk = 1' % self.t}
        self.assertError("ValidationException", None, self.c.batch_execute_statement,
                         Statements=[stmt] * 26)


class TestExecuteTransaction(PartiQLTest):
    def test_writes_and_reads(self):
        ins = "INSERT INTO \"%s\" VALUE {'pk': ?, 'sk': ?, 'v': ?}" % self.t
        self.c.execute_transaction(TransactStatements=[
            {"Statement": ins, "Parameters": [S("t"), N(1), N(1)]},
            {"Statement": ins, "Parameters": [S("t"), N(2), N(2)]},
        ], ClientRequestToken="tok-%d" % os.getpid())
        r = self.c.execute_transaction(TransactStatements=[
            {"Statement": 'SELECT v FROM "%s" WHERE pk = \'t\' AND sk = 1' % self.t},
            {"Statement": 'SELECT * FROM "%s" WHERE pk = \'t\' AND sk = 9' % self.t},
        ])
        self.assertEqual([{"Item": {"v": N(1)}}, {}], r["Responses"])
        # All or nothing: the failed INSERT cancels the UPDATE.
        try:
            self.c.execute_transaction(TransactStatements=[
                {"Statement": 'UPDATE "%s" SET v = 5 WHERE pk = \'t\' AND sk = 2' % self.t},
                {"Statement": ins, "Parameters": [S("t"), N(1), N(0)]},
            ])
            self.fail("no error")
        except base.ClientError as e:
            self.assertEqual("TransactionCanceledException", e.response["Error"]["Code"])
            self.assertIn("[None, DuplicateItem]", e.response["Error"]["Message"])
            self.assertEqual(["None", "DuplicateItem"],
                             [x["Code"] for x in e.response["CancellationReasons"]])
        self.assertEqual(N(2), self.get("t", 2)["v"])
        self.c.execute_transaction(TransactStatements=[
            {"Statement": 'UPDATE "%s" SET v = v + 1 WHERE pk = \'t\' AND sk = 2' % self.t},
            {"Statement": 'DELETE FROM "%s" WHERE pk = \'t\' AND sk = 1' % self.t},
        ])
        self.assertEqual(N(3), self.get("t", 2)["v"])
        self.assertIsNone(self.get("t", 1))

    def test_errors(self):
        sel = {"Statement": 'SELECT * FROM "%s" WHERE pk = \'t\' AND sk = 1' % self.t}
        upd = {"Statement": 'UPDATE "%s" SET v = 1 WHERE pk = \'t\' AND sk = 1' % self.t}
        self.assertError("ValidationException", None, self.c.execute_transaction,
                         TransactStatements=[sel, upd])
        self.assertError("ValidationException", None, self.c.execute_transaction,
                         TransactStatements=[upd, upd])
        self.assertError("ValidationException", None, self.c.execute_transaction,
                         TransactStatements=[{"Statement": 'SELECT * FROM "%s"' % self.t}])


if __name__ == "__main__":
    base.CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
