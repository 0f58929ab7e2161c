-- wrk script: POST one ATIS verification request (body and auth from the environment) on every
-- request of every connection.
local body = os.getenv("STIRGATE_BENCH_BODY")
local auth = os.getenv("STIRGATE_BENCH_AUTH")
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = auth

-- Answers that are not a pass are counted, so a misconfigured run cannot pass for a fast one.
-- Each wrk thread has its own Lua state; done() reads the counters through the thread objects.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

failures = 0
function response(status, headers, resp_body)
  if status ~= 200 or not string.find(resp_body, "TN%-Validation%-Passed") then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  local p = function(q) return latency:percentile(q) / 1000.0 end
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f socket_errors=%d not_passed=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    p(50), p(99), summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, failed))
end
