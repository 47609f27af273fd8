-- bench/wrk/collect.lua — wrk script that collects a string field of the JSON answers, e.g.
-- 10,000 distinct access tokens from the token endpoint in a second or two.
--
-- Sends the same form POST (WRK_BODY, HTTP Basic WRK_BASIC) until each thread has WRK_WANT /
-- WRK_THREADS values of WRK_FIELD from 200 answers, then stops that thread; writes the values,
-- one per line, to WRK_OUT. Answers in flight when a thread stops are dropped.
-- Inputs (environment): WRK_BODY, WRK_BASIC, WRK_FIELD (default access_token), WRK_WANT,
-- WRK_THREADS (wrk -t), WRK_OUT.
-- Prints one line: COLLECT_JSON {"requests":..,"duration_s":..,"collected":..,"non200":..}
local body = os.getenv("WRK_BODY")
local basic = os.getenv("WRK_BASIC")
local field = os.getenv("WRK_FIELD") or "access_token"
local want = tonumber(os.getenv("WRK_WANT") or "")
local nthreads = tonumber(os.getenv("WRK_THREADS") or "")
local out_file = os.getenv("WRK_OUT")
if body == nil or basic == nil or want == nil or nthreads == nil or out_file == nil then
  io.stderr:write("collect.lua: WRK_BODY, WRK_BASIC, WRK_WANT, WRK_THREADS and WRK_OUT must be set\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. basic
wrk.headers["Accept"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

values, n, non200 = {}, 0, 0
local share = math.ceil(want / nthreads)
local pattern = '"' .. field .. '"%s*:%s*"([^"]+)"'

function response(status, headers, answer)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then
      io.stderr:write(string.format("collect.lua: HTTP %d: %s\n", status, answer:sub(1, 300)))
    end
    return
  end
  if n < share then
    local value = answer:match(pattern)
    if value ~= nil then
      n = n + 1
      values[n] = value
    end
  end
  if n >= share then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(out_file, "w"))
  local collected, bad = 0, 0
  for _, thread in ipairs(threads) do
    local got = thread:get("values")
    for i = 1, thread:get("n") do
      if collected < want then
        out:write(got[i], "\n")
        collected = collected + 1
      end
    end
    bad = bad + thread:get("non200")
  end
  out:close()
  io.write(string.format('COLLECT_JSON {"requests":%d,"duration_s":%.3f,"collected":%d,"non200":%d}\n',
    summary.requests, summary.duration / 1e6, collected, bad))
end
