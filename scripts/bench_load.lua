-- wrk script for scripts/bench_load.py: prints one JSON line with the p50 and p95 latency
-- (wrk's own --latency report stops at 50/75/90/99), the request count and every kind of
-- error. Anything but a 200 is an error here: wrk itself only counts statuses above 399,
-- so a 302 to the sign-in page (a wrong session cookie) would otherwise pass as a success.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  first_status = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_status == 0 then
      first_status = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    local status = thread:get("first_status")
    if first == 0 and status ~= 0 then
      first = status
    end
  end
  local e = summary.errors
  -- Latencies are in microseconds, the duration too.
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, '
    .. '"p99_ms": %.2f, "max_ms": %.2f, "non_200": %d, "first_non_200_status": %d, '
    .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    bad, first, e.connect, e.read, e.write, e.timeout))
end
