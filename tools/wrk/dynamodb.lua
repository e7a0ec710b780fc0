-- Shared by the DynamoDB wrk scripts (tools/bench-dynamodb.sh): signed-looking request headers
-- (SigV4 shape with a fixed signature; the servers under test accept any credentials) and a
-- done() that prints one machine-readable line.
local M = {}

function M.headers(target)
  return {
    ["Content-Type"] = "application/x-amz-json-1.0",
    ["X-Amz-Target"] = "DynamoDB_20120810." .. target,
    ["X-Amz-Date"] = "20260101T000000Z",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
      .. "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      .. "Signature=" .. string.rep("0123456789abcdef", 4),
  }
end

-- keys and values exactly as tools/bench-dynamodb.sh loads them
M.KEYS = tonumber(os.getenv("BENCH_KEYS") or "1000")
M.PARTS = tonumber(os.getenv("BENCH_PARTS") or "100")
M.VALUE = string.rep("v", 100)

function M.key(i) return string.format("key%06d", i) end

function M.done(summary, latency, requests)
  local s = summary
  local errors = s.errors.connect + s.errors.read + s.errors.write + s.errors.status + s.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d non2xx=%d\n",
    s.requests / (s.duration / 1e6), latency:percentile(50), latency:percentile(99),
    s.requests, errors, s.errors.status))
end

return M
