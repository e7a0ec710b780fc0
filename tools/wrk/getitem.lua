-- GetItem of a random preloaded key (table "bench", partition key "id").
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
local ddb = require("dynamodb")
local headers = ddb.headers("GetItem")

function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end

function request()
  local body = '{"TableName":"bench","Key":{"id":{"S":"' .. ddb.key(math.random(0, ddb.KEYS - 1)) .. '"}}}'
  return wrk.format("POST", "/", headers, body)
end

done = ddb.done
