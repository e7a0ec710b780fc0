// DynamoDB compatibility, account-level operations through the AWS SDK for JavaScript v3
// against a real cirrusd on 127.0.0.1: DescribeEndpoints (the Host the client reached),
// DescribeLimits (DynamoDB's default quotas), and tags: TagResource and UntagResource change
// them, ListTagsOfResource lists them (a new table has CreateTable's Tags).
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import {
  CreateTableCommand, DescribeEndpointsCommand, DescribeLimitsCommand, ListTagsOfResourceCommand,
  TagResourceCommand, UntagResourceCommand,
} from "@aws-sdk/client-dynamodb";
import { expectError, makeClient, startServer, tableName } from "./server.mjs";

const T = { timeout: 30000 };

let server;
let ddb;

before(async () => {
  server = await startServer();
  ddb = makeClient(server);
});

after(async () => {
  ddb?.destroy();
  await server?.stop();
});

// One raw DynamoDB JSON call, for headers the SDK does not let us choose.
function rawCall(op, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({
      host: "127.0.0.1", port: server.port, method: "POST", path: "/", timeout: 10000,
      headers: {
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": `DynamoDB_20120810.${op}`,
        "Content-Length": Buffer.byteLength(data), ...headers,
      },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(data);
  });
}

describe("DescribeEndpoints and DescribeLimits", () => {
  it("names the endpoint the client reached, cached for a day", T, async () => {
    const r = await ddb.send(new DescribeEndpointsCommand({}));
    assert.deepEqual(r.Endpoints, [{ Address: `127.0.0.1:${server.port}`, CachePeriodInMinutes: 1440 }]);
    const raw = await rawCall("DescribeEndpoints", {}, { Host: "ddb.example.test:4567" });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body, { Endpoints: [{ Address: "ddb.example.test:4567", CachePeriodInMinutes: 1440 }] });
  });

  it("reports DynamoDB's default account and table limits", T, async () => {
    const r = await ddb.send(new DescribeLimitsCommand({}));
    assert.equal(r.AccountMaxReadCapacityUnits, 80000);
    assert.equal(r.AccountMaxWriteCapacityUnits, 80000);
    assert.equal(r.TableMaxReadCapacityUnits, 40000);
    assert.equal(r.TableMaxWriteCapacityUnits, 40000);
  });
});

describe("tags", () => {
  let name;
  let arn;
  before(async () => {
    name = tableName("tags");
    const d = (await ddb.send(new CreateTableCommand({
      TableName: name, KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST", Tags: [{ Key: "team", Value: "storage" }],
    }))).TableDescription;
    arn = d.TableArn;
    assert.equal(arn, `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`);
  });

  it("lists the tags CreateTable set", T, async () => {
    const r = await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    assert.deepEqual(r.Tags, [{ Key: "team", Value: "storage" }]);
    assert.equal(r.NextToken, undefined);
    const other = `arn:aws:dynamodb:eu-west-1:123456789012:table/${name}`;
    assert.deepEqual((await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: other }))).Tags,
      [{ Key: "team", Value: "storage" }]);
  });

  it("adds, replaces and removes tags", T, async () => {
    await ddb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "k", Value: "v" }, { Key: "a", Value: "" }] }));
    await ddb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "k", Value: "w" }] }));
    assert.deepEqual((await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags,
      [{ Key: "a", Value: "" }, { Key: "k", Value: "w" }, { Key: "team", Value: "storage" }]);
    await ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ["a", "k", "never"] }));
    assert.deepEqual((await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags,
      [{ Key: "team", Value: "storage" }]);
    await expectError(assert, () => ddb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "aws:k", Value: "v" }] })),
      "ValidationException", "One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved for system use: aws:k");
  });

  it("names a missing table and a malformed ARN", T, async () => {
    const missing = "arn:aws:dynamodb:us-east-1:000000000000:table/no_such_table_js";
    for (const send of [
      () => ddb.send(new ListTagsOfResourceCommand({ ResourceArn: missing })),
      () => ddb.send(new TagResourceCommand({ ResourceArn: missing, Tags: [{ Key: "k", Value: "v" }] })),
      () => ddb.send(new UntagResourceCommand({ ResourceArn: missing, TagKeys: ["k"] })),
    ]) {
      await expectError(assert, send, "ResourceNotFoundException",
        `Requested resource not found: ResourceArn: ${missing} not found`);
    }
    for (const bad of ["not-an-arn", "arn:aws:dynamodb:us-east-1:000000000000:stream/x",
      "arn:aws:s3:us-east-1:000000000000:table/abc", "arn:aws:dynamodb:us-east-1:000000000000:table/a"]) {
      await expectError(assert, () => ddb.send(new ListTagsOfResourceCommand({ ResourceArn: bad })),
        "ValidationException", `Invalid TableArn: Invalid ResourceArn provided as input ${bad}`);
    }
    const raw = await rawCall("TagResource", { ResourceArn: arn });
    assert.equal(raw.status, 400);
    assert.equal(raw.body.__type, "com.amazonaws.dynamodb.v20120810#ValidationException");
    assert.equal(raw.body.message, "1 validation error detected: Value null at 'tags' failed to satisfy "
      + "constraint: Member must not be null");
  });
});
