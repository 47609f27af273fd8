-- bench/wrk/pool.lua — wrk script: form POSTs that each carry the next token of a pool file,
-- round-robin (e.g. introspection over many distinct access tokens).
--
-- Body of each request: WRK_BODY_PREFIX .. token .. WRK_BODY_SUFFIX. Every thread reads the
-- whole file and starts at its own offset, so the threads walk different parts of the pool.
-- With WRK_EXPECT set (a Lua pattern, e.g. '"active":%s*true'), every 200 answer must match it;
-- the ones that do not are counted as "unexpected" (so a 200 {"active":false} is not a success).
--
-- Inputs (environment): WRK_TOKENS (file, one token per line), WRK_BASIC (base64
-- client_id:client_secret), WRK_BODY_PREFIX (default "token="), WRK_BODY_SUFFIX (default ""),
-- WRK_THREADS (wrk -t, default 1), WRK_EXPECT (optional).
-- Prints one line:
--   WRK_JSON {"requests":..,"duration_s":..,"rps":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,
--             "max_ms":..,"non2xx":..,"socket_errors":..,"pool":..,"checked":..,"unexpected":..}
local tokens_file = os.getenv("WRK_TOKENS")
local basic = os.getenv("WRK_BASIC")
local prefix = os.getenv("WRK_BODY_PREFIX") or "token="
local suffix = os.getenv("WRK_BODY_SUFFIX") or ""
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
local expect = os.getenv("WRK_EXPECT")
if expect == "" then expect = nil end
if tokens_file == nil or basic == nil then
  io.stderr:write("pool.lua: WRK_TOKENS and WRK_BASIC must be set\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. basic
wrk.headers["Accept"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

bodies, count, next_index = {}, 0, 1
checked, unexpected = 0, 0

-- The main state checks one request (wrk's script_verify_request) without calling init().
local function load()
  for line in io.lines(tokens_file) do
    if line ~= "" then
      count = count + 1
      bodies[count] = prefix .. line .. suffix
    end
  end
  if count == 0 then
    io.stderr:write("pool.lua: no tokens in " .. tokens_file .. "\n")
    os.exit(2)
  end
end

function init(args)
  load()
  next_index = math.floor((tid - 1) * count / nthreads) + 1
end

function request()
  if count == 0 then load() end
  local body = bodies[next_index]
  next_index = next_index % count + 1
  return wrk.format(nil, nil, nil, body)
end

if expect ~= nil then
  function response(status, headers, body)
    if status == 200 then
      checked = checked + 1
      if not body:find(expect) then
        unexpected = unexpected + 1
        if unexpected <= 3 then
          io.stderr:write("pool.lua: unexpected answer: " .. body:sub(1, 300) .. "\n")
        end
      end
    end
  end
end

function done(summary, latency, requests)
  local total_checked, total_unexpected = 0, 0
  for _, thread in ipairs(threads) do
    total_checked = total_checked + thread:get("checked")
    total_unexpected = total_unexpected + thread:get("unexpected")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"socket_errors":%d,"pool":%d,"checked":%d,"unexpected":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout,
    threads[1] and threads[1]:get("count") or 0, total_checked, total_unexpected))
end
