-- wrk script for bench/ingest.py: simulated agents, each sending its reports in seq order.
--
-- The data file (IOC_WRK_DATA) has one agent per line, six tab-separated fields: method,
-- path, bearer token (may be empty), "seq" or "plain", body prefix, body suffix. A "seq"
-- body is prefix .. seq .. suffix, where seq is the agent's round (1, 2, ...); a "plain"
-- body is the prefix alone. Byte 0x1f in a body stands for a line break. Each wrk thread
-- takes every n-th agent (n = IOC_WRK_THREADS), so no two threads send for one agent.
--
-- Paced (IOC_WRK_RATE requests/s in all, > 0): each thread sends its share on a fixed
-- schedule, as agents report at their own moments whatever the collector does: a request
-- whose moment has passed (every connection was waiting for an answer) goes at once.
-- IOC_WRK_SEQ0 is added to every seq (a second load on agents that have reported).
local counter = 0
local seq0 = tonumber(os.getenv("IOC_WRK_SEQ0") or "0")
local rate = tonumber(os.getenv("IOC_WRK_RATE") or "0")

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local nthreads = tonumber(os.getenv("IOC_WRK_THREADS"))
  agents = {}
  local i = 0
  for line in io.lines(os.getenv("IOC_WRK_DATA")) do
    if i % nthreads == tid then
      local method, path, token, kind, prefix, suffix =
        line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      if method == nil then error("bad line " .. (i + 1) .. " in " .. os.getenv("IOC_WRK_DATA")) end
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
        headers["Content-Type"] = "application/json"
      end
      table.insert(agents, { method = method, path = path, headers = headers,
                             seq = kind == "seq", prefix = prefix:gsub("\31", "\n"),
                             suffix = suffix:gsub("\31", "\n") })
    end
    i = i + 1
  end
  sent = 0
end

function request()
  local n = #agents
  local a = agents[(sent % n) + 1]
  local round = math.floor(sent / n) + 1
  sent = sent + 1
  local body = a.prefix
  if a.seq then body = a.prefix .. (seq0 + round) .. a.suffix end
  return wrk.format(a.method, a.path, a.headers, body)
end

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } ioc_timespec;
    int clock_gettime(int clk_id, ioc_timespec *tp);
  ]]
  local ts = ffi.new("ioc_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 * tonumber(os.getenv("IOC_WRK_THREADS")) / rate
  local next_at = nil

  function delay()
    local t = now_ms()
    if next_at == nil then next_at = t end
    local wait = next_at - t
    next_at = next_at + interval
    if wait > 0 then return wait end
    return 0
  end
end

function response(status, headers, body)
  if status >= 300 then
    io.stderr:write("HTTP " .. status .. ": " .. body:sub(1, 200) .. "\n")
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    "{\"requests\": %d, \"duration_us\": %d, \"status_errors\": %d, \"connect_errors\": %d, " ..
    "\"read_errors\": %d, \"write_errors\": %d, \"timeouts\": %d, \"p50_us\": %d, " ..
    "\"p99_us\": %d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
