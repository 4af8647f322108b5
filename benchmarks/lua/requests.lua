-- wrk script for every passportoffice benchmark: one POST form body per line of a file, or a plain GET.
--
-- Environment (set by benchmarks/wrk.py):
--   BENCH_METHOD  "POST" (the default) or "GET" (discovery, JWKS: the same request every time, no body)
--   BENCH_BODIES  file with one request body per line (form-urlencoded, so never a newline inside)
--   BENCH_ONCE    "1": each body is sent at most once (refresh tokens, pending login requests);
--                 otherwise the lines are cycled (a client_credentials request is the same every time)
--   BENCH_THREADS the -t given to wrk, so each thread takes every BENCH_THREADS-th line
--   BENCH_EXPECT  space-separated statuses that count as success, e.g. "200" or "303"
-- Headers (Authorization, Content-Type, Cookie) come from wrk's -H options.
-- done() prints one line, "BENCH_RESULT {json}", with the counts and the latency percentiles.

local threads = {}
local created = 0

function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  once = os.getenv("BENCH_ONCE") == "1"
  expected = {}
  for status in string.gmatch(os.getenv("BENCH_EXPECT") or "200", "%d+") do
    expected[tonumber(status)] = true
  end
  fixed_request = nil
  if (os.getenv("BENCH_METHOD") or "POST") == "GET" then
    fixed_request = wrk.format("GET")
    once = false
  end
  bodies = {}
  if not fixed_request then
    local line_number = 0
    for line in io.lines(os.getenv("BENCH_BODIES")) do
      -- Thread i takes lines i, i+n, i+2n...: no two threads ever send the same single-use body.
      if not once or line_number % thread_count == thread_index then
        bodies[#bodies + 1] = line
      end
      line_number = line_number + 1
    end
  end
  next_body = 1
  statuses = {}
  exhausted = 0
  unexpected_sample = ""
end

function request()
  if fixed_request then
    return fixed_request
  end
  if next_body > #bodies then
    if once then
      -- Out of single-use bodies: this request will fail, and the run is reported as too short of seed.
      exhausted = exhausted + 1
      return wrk.format("POST", nil, nil, "exhausted=1")
    end
    next_body = 1
  end
  local body = bodies[next_body]
  next_body = next_body + 1
  return wrk.format("POST", nil, nil, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if not expected[status] and unexpected_sample == "" then
    unexpected_sample = key .. " " .. string.sub(body or "", 1, 300)
  end
end

local function quote(text)
  text = string.gsub(text, '[%c"\\]', function(char)
    return string.format("\\u%04x", string.byte(char))
  end)
  return '"' .. text .. '"'
end

function done(summary, latency, requests)
  local totals = {}
  local exhausted_total = 0
  local sample = ""
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      totals[status] = (totals[status] or 0) + count
    end
    exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
    local thread_sample = thread:get("unexpected_sample") or ""
    if sample == "" then
      sample = thread_sample
    end
  end
  local status_parts = {}
  for status, count in pairs(totals) do
    status_parts[#status_parts + 1] = quote(status) .. ":" .. count
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"statuses":{%s},"exhausted":%d,"unexpected_sample":%s,' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.timeout,
    table.concat(status_parts, ","), exhausted_total, quote(sample),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean
  ))
end
