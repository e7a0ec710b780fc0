-- Query of one random partition of table "benchq" (partition key "p", sort key "s"): every
-- partition holds BENCH_KEYS / BENCH_PARTS items (10 by default), all returned in one page.
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
local ddb = require("dynamodb")
local headers = ddb.headers("Query")

function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end

function request()
  local body = '{"TableName":"benchq","KeyConditionExpression":"p = :p",'
    .. '"ExpressionAttributeValues":{":p":{"S":"' .. ddb.key(math.random(0, ddb.PARTS - 1)) .. '"}}}'
  return wrk.format("POST", "/", headers, body)
end

done = ddb.done
