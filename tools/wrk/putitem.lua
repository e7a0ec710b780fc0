-- PutItem of a random key with a 100-byte string value (table "bench").
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
local ddb = require("dynamodb")
local headers = ddb.headers("PutItem")

function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end

function request()
  local body = '{"TableName":"bench","Item":{"id":{"S":"' .. ddb.key(math.random(0, ddb.KEYS - 1))
    .. '"},"v":{"S":"' .. ddb.VALUE .. '"}}}'
  return wrk.format("POST", "/", headers, body)
end

done = ddb.done
