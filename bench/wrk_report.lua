-- Shared by the wrk scripts: counts answers that are not the expected status (and, when
-- `expect_body` is set, do not contain it), and prints one RESULT line. Each wrk thread has its
-- own Lua state, so done() reads the counters through the thread objects.
--
-- Pacing: with STIRGATE_BENCH_RATE=R (requests/s for the whole run; use one wrk thread), every
-- request claims the next slot of a fixed schedule (one slot each 1/R s) and wrk's delay() holds
-- it until its slot comes, so the offered load is R as long as enough connections are free.
-- wrk's delay() takes whole milliseconds, so a request may leave up to 1 ms before its slot.
-- Latency is measured from the moment the request is written, as in unpaced runs.
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

local rate = tonumber(os.getenv("STIRGATE_BENCH_RATE") or "")
if rate and rate > 0 then
  local ffi = require "ffi"
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec *ts);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_slot = nil
  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now then next_slot = now end
    local wait = next_slot - now
    next_slot = next_slot + interval
    return math.floor(wait)
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
