// DynamoDB compatibility: the AWS SDK for JavaScript v3 (@aws-sdk/client-dynamodb and
// @aws-sdk/lib-dynamodb), unchanged, against a real cirrusd on 127.0.0.1. Covers tables
// (with paginateListTables), items, batches, Query, Scan (with paginateScan), the document
// client's marshalling, and error classes and messages. Run: CIRRUSD=... node --test test/
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BatchGetItemCommand, BatchWriteItemCommand, ConditionalCheckFailedException,
  CreateTableCommand, DeleteItemCommand, DeleteTableCommand, DescribeTableCommand,
  GetItemCommand, ListTablesCommand, PutItemCommand, QueryCommand, ResourceInUseException,
  ResourceNotFoundException, ScanCommand, paginateListTables, paginateScan,
  waitUntilTableExists, waitUntilTableNotExists,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand, BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand,
  NumberValue, PutCommand, QueryCommand as DocQueryCommand, ScanCommand as DocScanCommand,
  paginateScan as docPaginateScan,
} from "@aws-sdk/lib-dynamodb";
import { expectError, makeClient, startServer, tableName } from "./server.mjs";

const T = { timeout: 30000 }; // every test is bounded
const INVALID = "One or more parameter values were invalid: ";

let server;
let ddb;

async function createTable(sk = null, skType = "N") {
  const name = tableName();
  const KeySchema = [{ AttributeName: "id", KeyType: "HASH" }];
  const AttributeDefinitions = [{ AttributeName: "id", AttributeType: "S" }];
  if (sk) {
    KeySchema.push({ AttributeName: sk, KeyType: "RANGE" });
    AttributeDefinitions.push({ AttributeName: sk, AttributeType: skType });
  }
  await ddb.send(new CreateTableCommand({
    TableName: name, KeySchema, AttributeDefinitions, BillingMode: "PAY_PER_REQUEST",
  }));
  return name;
}

before(async () => {
  server = await startServer();
  ddb = makeClient(server);
});

after(async () => {
  ddb?.destroy();
  await server?.stop();
});

describe("tables", () => {
  it("creates, describes and deletes a table", T, async () => {
    const name = tableName();
    const created = await ddb.send(new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "N" }],
      BillingMode: "PAY_PER_REQUEST",
    }));
    const d = created.TableDescription;
    assert.equal(d.TableName, name);
    assert.equal(d.TableStatus, "ACTIVE");
    assert.equal(d.BillingModeSummary.BillingMode, "PAY_PER_REQUEST");
    assert.deepEqual(d.KeySchema, [{ AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" }]);
    assert.ok(d.CreationDateTime instanceof Date);
    assert.ok(Math.abs(d.CreationDateTime.getTime() - Date.now()) < 300000);

    const waited = await waitUntilTableExists({ client: ddb, maxWaitTime: 25, minDelay: 1, maxDelay: 2 }, { TableName: name });
    assert.equal(waited.state, "SUCCESS");
    const t = (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
    assert.equal(t.TableStatus, "ACTIVE");
    assert.equal(t.ItemCount, 0);
    assert.equal(t.TableSizeBytes, 0);
    assert.equal(t.TableArn, `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`);
    assert.match(t.TableId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(t.TableId, d.TableId);
    assert.deepEqual(t.AttributeDefinitions, [{ AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "N" }]);

    await ddb.send(new PutItemCommand({ TableName: name, Item: { pk: { S: "a" }, sk: { N: "1" } } }));
    const t2 = (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
    assert.equal(t2.ItemCount, 1);
    assert.ok(t2.TableSizeBytes > 0);

    const del = (await ddb.send(new DeleteTableCommand({ TableName: name }))).TableDescription;
    assert.equal(del.TableStatus, "DELETING");
    assert.equal(del.ItemCount, 1);
    const gone = await waitUntilTableNotExists({ client: ddb, maxWaitTime: 25, minDelay: 1, maxDelay: 2 }, { TableName: name });
    assert.equal(gone.state, "SUCCESS");
    const err = await expectError(assert, () => ddb.send(new DescribeTableCommand({ TableName: name })),
      "ResourceNotFoundException", `Requested resource not found: Table: ${name} not found`);
    assert.ok(err instanceof ResourceNotFoundException);
  });

  it("reports the region of the credential scope in the ARN", T, async () => {
    const name = await createTable();
    const eu = makeClient(server, "eu-west-1");
    try {
      const t = (await eu.send(new DescribeTableCommand({ TableName: name }))).Table;
      assert.equal(t.TableArn, `arn:aws:dynamodb:eu-west-1:000000000000:table/${name}`);
    } finally {
      eu.destroy();
    }
  });

  it("refuses a duplicate table and bad names", T, async () => {
    const name = await createTable();
    const err = await expectError(assert, () => ddb.send(new CreateTableCommand({
      TableName: name, KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    })), "ResourceInUseException", `Table already exists: ${name}`);
    assert.ok(err instanceof ResourceInUseException);
    await expectError(assert, () => ddb.send(new DescribeTableCommand({ TableName: "ab" })),
      "ValidationException", "1 validation error detected: Value 'ab' at 'tableName' failed to "
        + "satisfy constraint: Member must have length greater than or equal to 3");
    await expectError(assert, () => ddb.send(new DeleteTableCommand({ TableName: "no_such_table_js" })),
      "ResourceNotFoundException", "Requested resource not found: Table: no_such_table_js not found");
  });

  it("lists tables in byte order, page by page with paginateListTables", T, async () => {
    const prefix = `lt_${process.pid}_`;
    const names = [];
    for (const s of ["c", "a", "e", "b", "d"]) {
      const name = prefix + s;
      await ddb.send(new CreateTableCommand({
        TableName: name, KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }));
      names.push(name);
    }
    names.sort();
    const first = await ddb.send(new ListTablesCommand({ Limit: 2, ExclusiveStartTableName: prefix }));
    assert.deepEqual(first.TableNames, names.slice(0, 2));
    assert.equal(first.LastEvaluatedTableName, names[1]);

    const seen = [];
    let pages = 0;
    for await (const page of paginateListTables({ client: ddb, pageSize: 2 }, {})) {
      pages += 1;
      assert.ok(page.TableNames.length <= 2);
      seen.push(...page.TableNames);
    }
    assert.ok(pages >= 3, `${pages} pages`);
    assert.deepEqual(seen.filter((n) => n.startsWith(prefix)), names);
    assert.deepEqual([...seen].sort(), seen, "byte order across pages");
    assert.equal(new Set(seen).size, seen.length, "no table twice");

    await expectError(assert, () => ddb.send(new ListTablesCommand({ Limit: 101 })),
      "ValidationException", "1 validation error detected: Value '101' at 'limit' failed to "
        + "satisfy constraint: Member must have value less than or equal to 100");
    for (const n of names) await ddb.send(new DeleteTableCommand({ TableName: n }));
  });
});

describe("items", () => {
  let t;
  before(async () => { t = await createTable(); });

  it("puts, gets and deletes items of every type", T, async () => {
    const item = {
      id: { S: "all" }, s: { S: "" }, n: { N: "012.50" }, b: { B: new Uint8Array([0, 1, 2, 255]) },
      ss: { SS: ["b", "a"] }, ns: { NS: ["10", "2", "-1.5"] }, bs: { BS: [new Uint8Array([2]), new Uint8Array([1])] },
      m: { M: { x: { L: [{ S: "y" }, { N: "1" }, { NULL: true }, { BOOL: false }] } } },
    };
    const put = await ddb.send(new PutItemCommand({ TableName: t, Item: item }));
    assert.equal(put.Attributes, undefined);
    const got = (await ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "all" } }, ConsistentRead: true }))).Item;
    assert.deepEqual(got.id, { S: "all" });
    assert.deepEqual(got.s, { S: "" });
    assert.deepEqual(got.n, { N: "12.5" }, "numbers come back in canonical form");
    assert.deepEqual([...got.b.B], [0, 1, 2, 255]);
    assert.deepEqual([...got.ss.SS].sort(), ["a", "b"]);
    assert.deepEqual([...got.ns.NS].sort(), ["-1.5", "10", "2"]);
    assert.deepEqual(got.bs.BS.map((x) => x[0]).sort(), [1, 2]);
    assert.deepEqual(got.m, item.m);

    const proj = (await ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "all" } }, AttributesToGet: ["n", "missing"] }))).Item;
    assert.deepEqual(proj, { n: { N: "12.5" } });

    const old = await ddb.send(new PutItemCommand({ TableName: t, Item: { id: { S: "all" }, v: { N: "2" } }, ReturnValues: "ALL_OLD" }));
    assert.deepEqual(old.Attributes.n, { N: "12.5" });
    const del = await ddb.send(new DeleteItemCommand({ TableName: t, Key: { id: { S: "all" } }, ReturnValues: "ALL_OLD" }));
    assert.deepEqual(del.Attributes, { id: { S: "all" }, v: { N: "2" } });
    const none = await ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "all" } } }));
    assert.equal(none.Item, undefined);
  });

  it("fails a legacy Expected condition with ConditionalCheckFailedException", T, async () => {
    await ddb.send(new PutItemCommand({ TableName: t, Item: { id: { S: "cond" }, v: { N: "1" } } }));
    const err = await expectError(assert, () => ddb.send(new PutItemCommand({
      TableName: t, Item: { id: { S: "cond" }, v: { N: "2" } }, Expected: { id: { Exists: false } },
    })), "ConditionalCheckFailedException", "The conditional request failed");
    assert.ok(err instanceof ConditionalCheckFailedException);
    await ddb.send(new PutItemCommand({
      TableName: t, Item: { id: { S: "cond" }, v: { N: "3" } }, Expected: { v: { Value: { N: "1" } } },
    }));
    await expectError(assert, () => ddb.send(new DeleteItemCommand({
      TableName: t, Key: { id: { S: "cond" } },
      Expected: { v: { ComparisonOperator: "EQ", AttributeValueList: [{ N: "1" }] } },
    })), "ConditionalCheckFailedException", "The conditional request failed");
    const got = (await ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "cond" } } }))).Item;
    assert.deepEqual(got.v, { N: "3" }, "a failed condition changes nothing");
  });

  it("names validation errors with DynamoDB's messages", T, async () => {
    await expectError(assert, () => ddb.send(new PutItemCommand({ TableName: t, Item: { x: { N: "1" } } })),
      "ValidationException", `${INVALID}Missing the key id in the item`);
    await expectError(assert, () => ddb.send(new PutItemCommand({ TableName: t, Item: { id: { N: "1" } } })),
      "ValidationException", `${INVALID}Type mismatch for key id expected: S actual: N`);
    await expectError(assert, () => ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "a" }, x: { S: "b" } } })),
      "ValidationException", "The provided key element does not match the schema");
    await expectError(assert, () => ddb.send(new PutItemCommand({ TableName: t, Item: { id: { S: "a" } }, ReturnValues: "ALL_NEW" })),
      "ValidationException", "ReturnValues can only be ALL_OLD or NONE");
    await expectError(assert, () => ddb.send(new PutItemCommand({ TableName: t, Item: { id: { S: "big" }, x: { S: "x".repeat(400 * 1024) } } })),
      "ValidationException", "Item size has exceeded the maximum allowed size");
    await expectError(assert, () => ddb.send(new GetItemCommand({ TableName: "no_such_table_js", Key: { id: { S: "a" } } })),
      "ResourceNotFoundException", "Requested resource not found");
  });
});

describe("batches", () => {
  let t;
  before(async () => { t = await createTable("n", "N"); });

  it("writes and reads a batch across keys", T, async () => {
    const puts = [];
    for (let i = 0; i < 25; i++) puts.push({ PutRequest: { Item: { id: { S: "p" }, n: { N: String(i) }, v: { S: `v${i}` } } } });
    const w = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [t]: puts } }));
    assert.deepEqual(w.UnprocessedItems, {});
    const keys = [{ id: { S: "p" }, n: { N: "3" } }, { id: { S: "p" }, n: { N: "24" } }, { id: { S: "p" }, n: { N: "99" } }];
    const r = await ddb.send(new BatchGetItemCommand({ RequestItems: { [t]: { Keys: keys, ConsistentRead: true } } }));
    assert.deepEqual(r.UnprocessedKeys, {});
    assert.deepEqual(r.Responses[t].map((it) => it.v.S).sort(), ["v24", "v3"]);

    const mixed = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [t]: [
      { DeleteRequest: { Key: { id: { S: "p" }, n: { N: "3" } } } },
      { PutRequest: { Item: { id: { S: "q" }, n: { N: "1" } } } },
    ] } }));
    assert.deepEqual(mixed.UnprocessedItems, {});
    const r2 = await ddb.send(new BatchGetItemCommand({ RequestItems: { [t]: { Keys: keys.slice(0, 1).concat([{ id: { S: "q" }, n: { N: "1" } }]) } } }));
    assert.deepEqual(r2.Responses[t].map((it) => it.id.S), ["q"]);
  });

  it("refuses duplicate keys and too many requests, writing nothing", T, async () => {
    await expectError(assert, () => ddb.send(new BatchWriteItemCommand({ RequestItems: { [t]: [
      { PutRequest: { Item: { id: { S: "dup" }, n: { N: "1" } } } },
      { PutRequest: { Item: { id: { S: "dup" }, n: { N: "1" } } } },
    ] } })), "ValidationException", "Provided list of item keys contains duplicates");
    const puts = [];
    for (let i = 0; i < 26; i++) puts.push({ PutRequest: { Item: { id: { S: "many" }, n: { N: String(i) } } } });
    await expectError(assert, () => ddb.send(new BatchWriteItemCommand({ RequestItems: { [t]: puts } })),
      "ValidationException", "Too many items requested for the BatchWriteItem call");
    const r = await ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "dup" }, n: { N: "1" } } }));
    assert.equal(r.Item, undefined);
  });
});

describe("query and scan", () => {
  let t;
  before(async () => {
    t = await createTable("ts", "N");
    const puts = [];
    for (const pk of ["a", "b"]) {
      for (let i = 1; i <= 5; i++) puts.push({ PutRequest: { Item: { id: { S: pk }, ts: { N: String(i) }, v: { S: `${pk}${i}` } } } });
    }
    await ddb.send(new BatchWriteItemCommand({ RequestItems: { [t]: puts } }));
  });

  it("queries with legacy KeyConditions, forwards, backwards and by page", T, async () => {
    const r = await ddb.send(new QueryCommand({
      TableName: t,
      KeyConditions: {
        id: { ComparisonOperator: "EQ", AttributeValueList: [{ S: "a" }] },
        ts: { ComparisonOperator: "GT", AttributeValueList: [{ N: "2" }] },
      },
    }));
    assert.deepEqual(r.Items.map((i) => i.v.S), ["a3", "a4", "a5"]);
    assert.equal(r.Count, 3);
    assert.equal(r.ScannedCount, 3);
    assert.equal(r.LastEvaluatedKey, undefined);

    const between = await ddb.send(new QueryCommand({
      TableName: t, ScanIndexForward: false, Limit: 2,
      KeyConditions: {
        id: { ComparisonOperator: "EQ", AttributeValueList: [{ S: "b" }] },
        ts: { ComparisonOperator: "BETWEEN", AttributeValueList: [{ N: "2" }, { N: "4" }] },
      },
    }));
    assert.deepEqual(between.Items.map((i) => i.v.S), ["b4", "b3"]);
    assert.deepEqual(between.LastEvaluatedKey, { id: { S: "b" }, ts: { N: "3" } });
    const rest = await ddb.send(new QueryCommand({
      TableName: t, ScanIndexForward: false, Limit: 2, ExclusiveStartKey: between.LastEvaluatedKey,
      KeyConditions: {
        id: { ComparisonOperator: "EQ", AttributeValueList: [{ S: "b" }] },
        ts: { ComparisonOperator: "BETWEEN", AttributeValueList: [{ N: "2" }, { N: "4" }] },
      },
    }));
    assert.deepEqual(rest.Items.map((i) => i.v.S), ["b2"]);

    const count = await ddb.send(new QueryCommand({
      TableName: t, Select: "COUNT",
      KeyConditions: { id: { ComparisonOperator: "EQ", AttributeValueList: [{ S: "a" }] } },
    }));
    assert.equal(count.Count, 5);
    assert.equal(count.Items, undefined);

    await expectError(assert, () => ddb.send(new QueryCommand({
      TableName: t, KeyConditions: { ts: { ComparisonOperator: "EQ", AttributeValueList: [{ N: "1" }] } },
    })), "ValidationException", /Query condition missed key schema element/);
  });

  it("queries with KeyConditionExpression", T, async () => {
    const r = await ddb.send(new QueryCommand({
      TableName: t, KeyConditionExpression: "#k = :k AND ts >= :lo",
      ExpressionAttributeNames: { "#k": "id" },
      ExpressionAttributeValues: { ":k": { S: "a" }, ":lo": { N: "4" } },
    }));
    assert.deepEqual(r.Items.map((i) => i.v.S), ["a4", "a5"]);
  });

  it("scans every item exactly once with paginateScan", T, async () => {
    const seen = [];
    let pages = 0;
    for await (const page of paginateScan({ client: ddb, pageSize: 3 }, { TableName: t, ConsistentRead: true })) {
      pages += 1;
      assert.ok(page.Items.length <= 3);
      seen.push(...page.Items.map((i) => i.v.S));
    }
    assert.ok(pages >= 4, `${pages} pages`);
    assert.deepEqual([...seen].sort(), ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4", "b5"]);

    const segs = [];
    for (const Segment of [0, 1]) {
      const r = await ddb.send(new ScanCommand({ TableName: t, Segment, TotalSegments: 2 }));
      segs.push(...r.Items.map((i) => i.v.S));
    }
    assert.equal(segs.length, 10, "parallel scan segments partition the table");
    await expectError(assert, () => ddb.send(new ScanCommand({ TableName: t, Segment: 2, TotalSegments: 2 })),
      "ValidationException");
  });
});

describe("document client (lib-dynamodb)", () => {
  let t;
  let doc;
  before(async () => {
    t = await createTable("n", "N");
    doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
  });

  it("round-trips numbers, sets, nested maps and binary", T, async () => {
    const item = {
      id: "doc", n: 1, price: 12.5, neg: -3, flag: true, nothing: null, empty: "",
      tags: new Set(["red", "blue"]), nums: new Set([3, 1, 2]),
      bin: new Uint8Array([9, 8, 7]),
      nested: { a: { b: [1, "two", { c: false }], d: {} }, list: [] },
      gone: undefined,
    };
    await doc.send(new PutCommand({ TableName: t, Item: item }));
    const raw = (await ddb.send(new GetItemCommand({ TableName: t, Key: { id: { S: "doc" }, n: { N: "1" } } }))).Item;
    assert.deepEqual(raw.price, { N: "12.5" });
    assert.deepEqual([...raw.tags.SS].sort(), ["blue", "red"]);
    assert.deepEqual([...raw.nums.NS].sort(), ["1", "2", "3"]);
    assert.equal(raw.gone, undefined);

    const got = (await doc.send(new GetCommand({ TableName: t, Key: { id: "doc", n: 1 }, ConsistentRead: true }))).Item;
    assert.equal(got.price, 12.5);
    assert.equal(got.neg, -3);
    assert.equal(got.flag, true);
    assert.equal(got.nothing, null);
    assert.equal(got.empty, "");
    assert.ok(got.tags instanceof Set);
    assert.deepEqual([...got.tags].sort(), ["blue", "red"]);
    assert.deepEqual([...got.nums].sort(), [1, 2, 3]);
    assert.deepEqual([...got.bin], [9, 8, 7]);
    assert.deepEqual(got.nested, { a: { b: [1, "two", { c: false }], d: {} }, list: [] });
  });

  it("keeps 38-digit numbers exact with NumberValue", T, async () => {
    const big = "12345678901234567890123456789012345678";
    await doc.send(new PutCommand({ TableName: t, Item: { id: "big", n: 1, v: NumberValue.from(big), small: NumberValue.from("0.000000000000000000000000000001") } }));
    // from() stores its options on the base client's config: wrapping needs a base of its own.
    const base = makeClient(server);
    const wrapped = DynamoDBDocumentClient.from(base, { unmarshallOptions: { wrapNumbers: true } });
    const got = (await wrapped.send(new GetCommand({ TableName: t, Key: { id: "big", n: 1 } }))).Item;
    base.destroy();
    assert.equal(got.v.toString(), big);
    assert.equal(got.small.toString(), "0.000000000000000000000000000001");
    const plain = (await doc.send(new GetCommand({ TableName: t, Key: { id: "big", n: 1 } }))).Item;
    assert.equal(plain.v, BigInt(big), "integers beyond 2^53 come back as BigInt, not rounded");
  });

  it("batches, queries, scans and deletes through the document client", T, async () => {
    const puts = [1, 2, 3, 4].map((n) => ({ PutRequest: { Item: { id: "q", n, sq: n * n } } }));
    await doc.send(new BatchWriteCommand({ RequestItems: { [t]: puts } }));
    const g = await doc.send(new BatchGetCommand({ RequestItems: { [t]: { Keys: [{ id: "q", n: 2 }, { id: "q", n: 4 }] } } }));
    assert.deepEqual(g.Responses[t].map((i) => i.sq).sort((a, b) => a - b), [4, 16]);

    const q = await doc.send(new DocQueryCommand({
      TableName: t,
      KeyConditions: {
        id: { ComparisonOperator: "EQ", AttributeValueList: ["q"] },
        n: { ComparisonOperator: "LE", AttributeValueList: [3] },
      },
      ScanIndexForward: false,
    }));
    assert.deepEqual(q.Items.map((i) => i.n), [3, 2, 1]);

    const ids = [];
    for await (const page of docPaginateScan({ client: doc, pageSize: 2 }, { TableName: t })) ids.push(...page.Items.map((i) => `${i.id}/${i.n}`));
    assert.ok(ids.includes("q/4") && ids.includes("doc/1"));

    await doc.send(new DeleteCommand({ TableName: t, Key: { id: "q", n: 1 } }));
    assert.equal((await doc.send(new GetCommand({ TableName: t, Key: { id: "q", n: 1 } }))).Item, undefined);
    const s = await doc.send(new DocScanCommand({ TableName: t, Select: "COUNT" }));
    assert.equal(s.Count, ids.length - 1);
    await expectError(assert, () => doc.send(new PutCommand({ TableName: t, Item: { id: "q", n: 2 }, Expected: { id: { Exists: false } } })),
      "ConditionalCheckFailedException", "The conditional request failed");
  });
});
