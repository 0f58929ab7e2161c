-- Shared by the wrk scripts: counts answers that are not the expected status (and, when
-- `expect_body` is set, do not contain it), and prints one RESULT line. Each wrk thread has its
-- own Lua state, so done() reads the counters through the thread objects.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

unexpected = 0
function response(status, headers, body)
  if status ~= expect_status or (expect_body and not string.find(body, expect_body, 1, true)) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("unexpected") end
  local p = function(q) return latency:percentile(q) / 1000.0 end
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f socket_errors=%d unexpected=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    p(50), p(99), summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, failed))
end
