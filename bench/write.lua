-- wrk script: one write per request, unique per thread and counter, same payload size for
-- both systems.
--   BENCH_SYSTEM=berth  POST /api/jobs   {"command": "<payload>"}                 (201 expected)
--   BENCH_SYSTEM=etcd   POST /v3/kv/put  {"key": b64("bench/<id>"), "value": b64(<payload>)}
-- BENCH_PAYLOAD_BYTES (default 128) is the size of the command / value before any encoding.
-- Each thread builds its own payload: "<run>-t<thread>-<counter>-xxxx…" padded to the size.

local system = os.getenv("BENCH_SYSTEM") or "berth"
local size = tonumber(os.getenv("BENCH_PAYLOAD_BYTES") or "128")
local run = os.getenv("BENCH_RUN_ID") or "r"

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1)
      .. (b and b64chars:sub(c3 + 1, c3 + 1) or "=") .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  tid = tid or 0
end

local function payload()
  counter = counter + 1
  local head = string.format("%s-t%d-%d-", run, tid, counter)
  if #head >= size then return head:sub(1, size) end
  return head .. string.rep("x", size - #head)
end

function request()
  local p = payload()
  if system == "etcd" then
    local key = string.format("bench/%s-t%d-%d", run, tid, counter)
    local body = '{"key":"' .. b64(key) .. '","value":"' .. b64(p) .. '"}'
    return wrk.format("POST", "/v3/kv/put", headers, body)
  end
  return wrk.format("POST", "/api/jobs", headers, '{"command":"' .. p .. '"}')
end
