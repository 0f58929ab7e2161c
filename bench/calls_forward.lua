-- wrk: POST a forward (Calls.json with a CallToken, form from the environment); every answer
-- must be 201.
package.path = "bench/?.lua;" .. package.path
require "wrk_report"
expect_status = 201
wrk.method = "POST"
wrk.body = os.getenv("STIRGATE_BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("STIRGATE_BENCH_AUTH")
