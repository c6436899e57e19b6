-- wrk script for bench/ingest.py: simulated agents, each sending its reports in seq order.
--
-- The data file (IOC_WRK_DATA) has one agent per line, six tab-separated fields: method,
-- path, bearer token (may be empty), "seq" or "plain", body prefix, body suffix. A "seq"
-- body is prefix .. seq .. suffix, where seq is the agent's round (1, 2, ...); a "plain"
-- body is the prefix alone. Byte 0x1f in a body stands for a line break. Each wrk thread
-- takes every n-th agent (n = IOC_WRK_THREADS), so no two threads send for one agent.
local counter = 0

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
  if a.seq then body = a.prefix .. round .. a.suffix end
  return wrk.format(a.method, a.path, a.headers, body)
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
