-- wrk script for the kopilka benchmarks. One script, the workload chosen by KB_MODE:
--
--   prefix   GET /clients/?phone=79NN%&limit=10        (a 7912%-shaped prefix, NN random)
--   email    GET /clients/?email=<exact email>          (an existing client's email)
--   infix    GET /clients/?phone=%NNNN%&limit=10        (%4567%-shaped, NNNN random)
--   balance  GET /clients/{id}/balance/
--   coupons  GET /clients/{id}/coupons/                 (a client that holds a coupon)
--   orders   POST /fiscal/orders/  a sale of 3 items spending 1 point, accruing on the rest,
--            with an externalId unique per request: KB_TAG (per run) + thread id + counter
--   mix      80% reads (prefix, email, balance, coupons in turn) and 20% orders
--   settings GET /loyalty/settings/                     (a light endpoint: auth cost dominates)
--   dashboard GET /reports/dashboard/?days=30           (the merchant cabinet's dashboard)
--
-- Environment: KB_MODE, KB_AUTH (the Authorization header value), KB_KEYS (the key file
-- written by kopilka-gen: "id phone email coupon_client_id" per line), KB_TAG (unique per run).
-- done() prints one JSON line starting with "KBRESULT " that the driver (bench/run.py) reads.

local mode = os.getenv("KB_MODE") or "prefix"
local auth = os.getenv("KB_AUTH") or ""
local keys_path = os.getenv("KB_KEYS") or ""
local tag = os.getenv("KB_TAG") or tostring(os.time())
local API = "/ext/api/v1"

local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

local ids, phones, emails, coupon_ids = {}, {}, {}, {}
local counter = 0
local hdr_get, hdr_post
local items = {
  { "Капучино", 250 }, { "Круассан", 180 }, { "Чизкейк", 320 }, { "Латте", 270 },
  { "Сэндвич с курицей", 390 }, { "Морс клюквенный", 150 },
}

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  local f = io.open(keys_path, "r")
  if f then
    for line in f:lines() do
      local id, phone, email, coupon = line:match("^(%d+) (%d+) (%S+) (%d+)$")
      if id then
        table.insert(ids, id)
        table.insert(phones, phone)
        if email ~= "-" then table.insert(emails, email) end
        if coupon ~= "0" then table.insert(coupon_ids, coupon) end
      end
    end
    f:close()
  end
  if #ids == 0 then
    ids, phones, emails, coupon_ids = { "1" }, { "79000012345" }, { "none@example.com" }, { "1" }
  end
  if #coupon_ids == 0 then coupon_ids = ids end
  if #emails == 0 then emails = { "none@example.com" } end
  hdr_get = { ["Authorization"] = auth }
  hdr_post = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
end

local function pick(t) return t[math.random(#t)] end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function get(path) return wrk.format("GET", API .. path, hdr_get) end

local function order()
  counter = counter + 1
  local ext = string.format("b-%s-%d-%d", tag, tid or 0, counter)
  local parts, total = {}, 0
  for i = 1, 3 do
    local it = items[math.random(#items)]
    total = total + it[2]
    parts[i] = string.format('{"name":"%s","price":%d,"quantity":1}', it[1], it[2])
  end
  local body = string.format(
    '{"order":{"externalId":"%s","receiptType":"sale","amountCard":%d,"customerPhone":"%s",' ..
    '"items":[%s]},"amount":1,"currency":"points"}',
    ext, total - 1, pick(phones), table.concat(parts, ","))
  return wrk.format("POST", API .. "/fiscal/orders/", hdr_post, body)
end

local reads = {
  prefix = function() return get(string.format("/clients/?phone=79%02d%%25&limit=10", math.random(0, 99))) end,
  email = function() return get("/clients/?email=" .. urlencode(pick(emails))) end,
  infix = function() return get(string.format("/clients/?phone=%%25%04d%%25&limit=10", math.random(0, 9999))) end,
  balance = function() return get("/clients/" .. pick(ids) .. "/balance/") end,
  coupons = function() return get("/clients/" .. pick(coupon_ids) .. "/coupons/") end,
  settings = function() return get("/loyalty/settings/") end,
  dashboard = function() return get("/reports/dashboard/?days=30") end,
}
local mix_reads = { reads.prefix, reads.email, reads.balance, reads.coupons }
local mix_n = 0

function request()
  if mode == "orders" then return order() end
  if mode == "mix" then
    mix_n = mix_n + 1
    if math.random(100) <= 20 then return order() end
    return mix_reads[(mix_n % 4) + 1]()
  end
  return (reads[mode] or reads.prefix)()
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'KBRESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"bytes":%d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout,
    summary.bytes))
end
