-- wrk: POST one ATIS signing request (body and auth from the environment); every answer must be
-- 200 with a signed Identity.
package.path = "bench/?.lua;" .. package.path
require "wrk_report"
expect_status = 200
expect_body = "signingResponse"
wrk.method = "POST"
wrk.body = os.getenv("STIRGATE_BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("STIRGATE_BENCH_AUTH")
