// Test helper: starts a real cirrusd (path in $CIRRUSD) on ephemeral 127.0.0.1 ports in a
// temporary data directory, and builds AWS SDK v3 clients pointed at it. Not a test itself.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 30000;

export async function startServer() {
  const bin = process.env.CIRRUSD;
  if (!bin || !fs.existsSync(bin)) throw new Error(`set CIRRUSD to the cirrusd binary (got ${bin})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cirrus-ddb-js-"));
  const portFile = path.join(dir, "native.port");
  const httpPortFile = path.join(dir, "http.port");
  const proc = spawn(bin, ["--data", path.join(dir, "data"), "--listen", "127.0.0.1:0",
    "--port-file", portFile, "--http", "127.0.0.1:0", "--http-port-file", httpPortFile,
    "--sync", "none", "--log-level", "warn", "--threads", "2"], { stdio: ["ignore", "inherit", "inherit"] });
  let exited = null;
  const exit = new Promise((resolve) => proc.on("exit", (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const deadline = Date.now() + START_TIMEOUT_MS;
  let port = 0;
  while (!port) {
    if (exited) throw new Error(`cirrusd exited during start: ${JSON.stringify(exited)}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("cirrusd did not write its HTTP port in time");
    }
    if (fs.existsSync(httpPortFile)) port = parseInt(fs.readFileSync(httpPortFile, "utf8"), 10) || 0;
    if (!port) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    // SIGTERM, then the exit status: a clean shutdown is part of what is tested.
    async stop() {
      if (!exited) proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
      const status = await exit;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      if (status.code !== 0) throw new Error(`cirrusd exited with ${JSON.stringify(status)}`);
    },
  };
}

export function makeClient(server, region = "us-east-1") {
  return new DynamoDBClient({
    endpoint: server.endpoint,
    region,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    maxAttempts: 1,
    requestHandler: { requestTimeout: 10000, connectionTimeout: 5000 },
  });
}

let counter = 0;
export function tableName(prefix = "js") {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

// Awaits fn() and checks it fails with the named error (and message, when given).
export async function expectError(assert, fn, name, message) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${name}, but the call succeeded`);
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(err.message, message);
    else assert.equal(err.message, message);
  }
  assert.equal(err.$metadata.httpStatusCode, name === "InternalServerError" ? 500 : 400);
  return err;
}
