-- bench/wrk/refresh.lua — wrk script for the refresh grant with ROTATING refresh tokens.
--
-- A refresh token is good for one use: presenting a used one fails and kills its family. So no
-- token is ever sent twice: each wrk thread owns a queue of families (its share of the lines of
-- WRK_TOKENS, one current refresh token per family); request() takes the family at the head of
-- the queue, and response() parses the rotated refresh_token out of the JSON answer and puts the
-- family back at the tail. A family is therefore in flight at most once, and its next request
-- always carries the token of the answer before. A non-200 answer drops its family.
-- At the end, the families still queued are written back to WRK_TOKENS_OUT (default: WRK_TOKENS),
-- so a warm-up run and the measured run can share one pool file. Families whose request was in
-- flight when wrk stopped are lost (at most one per connection).
--
-- Inputs (environment): WRK_TOKENS (file, one refresh token per line), WRK_BASIC
-- (base64 client_id:client_secret), WRK_THREADS (wrk -t), WRK_TOKENS_OUT (optional), WRK_SCOPE
-- (optional, sent as scope=).
-- Prints one line:
--   WRK_JSON {"requests":..,"duration_s":..,"rps":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,
--             "max_ms":..,"non2xx":..,"socket_errors":..,"rotated":..,"non200":..,
--             "no_token":..,"starved":..,"families_left":..}
local tokens_file = os.getenv("WRK_TOKENS")
local basic = os.getenv("WRK_BASIC")
local nthreads = tonumber(os.getenv("WRK_THREADS") or "")
local out_file = os.getenv("WRK_TOKENS_OUT") or tokens_file
local scope = os.getenv("WRK_SCOPE")
if tokens_file == nil or basic == nil or nthreads == nil then
  io.stderr:write("refresh.lua: WRK_TOKENS, WRK_BASIC and WRK_THREADS must be set\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. basic
wrk.headers["Accept"] = "application/json"

local suffix = ""
if scope ~= nil and scope ~= "" then
  suffix = "&scope=" .. scope:gsub(" ", "+"):gsub(":", "%%3A")
end

-- main state -------------------------------------------------------------------------------------
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- thread state (globals, so that done() can read them with thread:get) ---------------------------
queue, head, tail = {}, 1, 1
rotated, non200, no_token, starved = 0, 0, 0, 0

function init(args)
  local i = 0
  for line in io.lines(tokens_file) do
    if line ~= "" then
      if i % nthreads == tid - 1 then
        queue[tail] = line
        tail = tail + 1
      end
      i = i + 1
    end
  end
end

function request()
  if head == tail then
    -- Never reuse a token: with the pool exhausted, send one that cannot exist (answered 400,
    -- counted as an error, harmless to every family).
    starved = starved + 1
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=pool-exhausted")
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token .. suffix)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then
      io.stderr:write(string.format("refresh.lua: HTTP %d: %s\n", status, body:sub(1, 300)))
    end
    return
  end
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token == nil then
    no_token = no_token + 1
    return
  end
  rotated = rotated + 1
  queue[tail] = token
  tail = tail + 1
end

function done(summary, latency, requests)
  local totals = { rotated = 0, non200 = 0, no_token = 0, starved = 0, left = 0 }
  local out = assert(io.open(out_file, "w"))
  for _, thread in ipairs(threads) do
    local q, h, t = thread:get("queue"), thread:get("head"), thread:get("tail")
    for i = h, t - 1 do
      out:write(q[i], "\n")
      totals.left = totals.left + 1
    end
    totals.rotated = totals.rotated + thread:get("rotated")
    totals.non200 = totals.non200 + thread:get("non200")
    totals.no_token = totals.no_token + thread:get("no_token")
    totals.starved = totals.starved + thread:get("starved")
  end
  out:close()
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"socket_errors":%d,"rotated":%d,"non200":%d,"no_token":%d,"starved":%d,"families_left":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout,
    totals.rotated, totals.non200, totals.no_token, totals.starved, totals.left))
end
