-- mixed.lua: wrk script for the soak (bench/soak/run.sh): a mix of what a
-- live deployment serves, one request at a time per connection.
--   wrk -s mixed.lua URL -- KEY QUESTIONS_FILE [DELAY_MS]
-- DELAY_MS (default 0: as fast as the server answers) is each connection's
-- pause between requests: a steady offered load (connections * 1000 /
-- (DELAY_MS + latency) requests a second at most) whose latency shows the server, not how
-- deep a saturated queue happens to be on a shared machine.
-- Per 100 requests: 45 chat turns in one of 200 sessions (a new question
-- each time: the store grows), 20 repeats of one popular question (the
-- answer caches), 15 searches, 10 streamed turns, 10 health checks.
-- done() prints one JSON line: requests, rps, p50/p95/p99/max (ms), non2xx,
-- socket errors.

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local qs, n = {}, 0
local k = 0
non2xx = 0

local function json_str(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == '\\' then return '\\\\' end
    return string.format('\\u%04x', c:byte())
  end)
  return '"' .. s .. '"'
end

local function urlenc(s)
  return (s:gsub('[^%w%-_%.~]', function(c) return string.format('%%%02X', c:byte()) end))
end

function init(args)
  key, qfile = args[1], args[2]
  pause = tonumber(args[3] or "0") or 0
  for line in io.lines(qfile) do
    if line:match("%S") and not line:match("^#") then
      n = n + 1
      qs[n] = line
    end
  end
  k = math.random(1, 100000)
end

function request()
  k = k + 1
  local q = qs[(k % n) + 1]
  local r = k % 100
  local h = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
  if r < 45 then
    local body = '{"message":' .. json_str(q) .. ',"session_id":"soak-' .. (k % 200) .. '"}'
    return wrk.format("POST", "/v1/chat", h, body)
  elseif r < 65 then
    return wrk.format("POST", "/v1/chat", h, '{"message":"how much is delivery to sentosa?"}')
  elseif r < 80 then
    return wrk.format("GET", "/v1/search?q=" .. urlenc(q), h)
  elseif r < 90 then
    return wrk.format("POST", "/v1/chat/stream", h, '{"message":' .. json_str(q) .. '}')
  else
    return wrk.format("GET", "/healthz", h)
  end
end

function delay()
  return pause
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local t = 0
  for _, th in ipairs(threads) do t = t + (th:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"rps":%.1f,"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, t, e.connect + e.read + e.write + e.timeout))
end
