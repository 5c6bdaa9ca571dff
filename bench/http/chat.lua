-- chat.lua: wrk script for POST /v1/chat (bench/http/run.sh drives it).
--   wrk -s chat.lua URL -- SCENARIO CONNECTIONS KEY [QUESTIONS_FILE]
-- Scenario "healthz": GET of the URL (bench/http/run.sh gives /healthz), no
-- body: the bare HTTP ceiling.
-- Without QUESTIONS_FILE every request says "hello" (the greeting template);
-- with it, each thread walks the file's lines round-robin (blank and # lines
-- skipped). No session_id is sent: every request starts a new session, so
-- session rate limits never apply (wrk's Lua API has no per-connection hook
-- that could pin a session to a connection).
-- done() prints one JSON line: {"scenario","connections","requests","rps",
-- "p50_ms","p95_ms","p99_ms","max_ms","non2xx","socket_errors",...}.

local threads = {}

local function json_str(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == '\\' then return '\\\\' end
    return string.format('\\u%04x', c:byte())
  end)
  return '"' .. s .. '"'
end

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local bodies, n, i = {}, 0, 0
-- Globals, so that done() can read them with thread:get() (it copies tables).
non2xx, degraded, llm_called, llm_blocked, answered, cache_hits, status_counts = 0, 0, 0, 0, 0, 0, {}

function init(args)
  scenario, conns, key, qfile = args[1], args[2], args[3], args[4]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (key or "")
  if qfile and qfile ~= "" then
    for line in io.lines(qfile) do
      if line:match("%S") and not line:match("^#") then
        n = n + 1
        bodies[n] = '{"message":' .. json_str(line) .. '}'
      end
    end
  else
    n = 1
    bodies[1] = '{"message":"hello"}'
  end
  i = (id or 0) * 7 -- threads start at different questions
end

function request()
  if scenario == "healthz" then
    return wrk.format("GET")
  end
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i % n) + 1])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    status_counts[status] = (status_counts[status] or 0) + 1
  elseif body then
    if body:find('"degraded":true', 1, true) then degraded = degraded + 1 end
    if body:find('"llm":{"called":true', 1, true) then
      llm_called = llm_called + 1
      -- validation refused the LLM's text: the extractive answer went out
      if not body:find('"validation":"ok"', 1, true) then llm_blocked = llm_blocked + 1 end
    end
    if body:find('"answered":true', 1, true) then answered = answered + 1 end
    -- an answer from the exact, semantic or evidence layer
    if body:find('"cached":"exact"', 1, true) or body:find('"cached":"semantic"', 1, true) or
        body:find('"cached":"evidence"', 1, true) then
      cache_hits = cache_hits + 1
    end
  end
end

function done(summary, latency, requests)
  local t = {0, 0, 0, 0, 0, 0}
  local st = {}
  for _, thread in ipairs(threads) do
    for k, name in ipairs({"non2xx", "degraded", "llm_called", "answered", "llm_blocked", "cache_hits"}) do
      t[k] = t[k] + (thread:get(name) or 0)
    end
    for code, cnt in pairs(thread:get("status_counts") or {}) do
      st[tostring(code)] = (st[tostring(code)] or 0) + cnt
    end
  end
  local parts = {}
  for code, cnt in pairs(st) do parts[#parts + 1] = json_str(code) .. ":" .. cnt end
  local e = summary.errors
  local secs = summary.duration / 1e6
  local function ms(us) return string.format("%.3f", us / 1000) end
  local conn = tonumber(threads[1] and threads[1]:get("conns") or "") or 0
  io.write(string.format(
    '{"scenario":%s,"connections":%d,"threads":%d,"duration_s":%.3f,"requests":%d,"rps":%.1f,' ..
    '"p50_ms":%s,"p95_ms":%s,"p99_ms":%s,"max_ms":%s,"mean_ms":%s,"non2xx":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_errors":%d,' ..
    '"non2xx_by_status":{%s},"answered":%d,"llm_called":%d,"llm_blocked":%d,"degraded":%d,' ..
    '"cache_hits":%d}\n',
    json_str(threads[1] and threads[1]:get("scenario") or "?"), conn, #threads, secs,
    summary.requests, summary.requests / secs,
    ms(latency:percentile(50)), ms(latency:percentile(95)), ms(latency:percentile(99)),
    ms(latency.max), ms(latency.mean), t[1], e.connect, e.read, e.write, e.timeout, e.status,
    table.concat(parts, ","), t[4], t[3], t[5], t[2], t[6]))
end
