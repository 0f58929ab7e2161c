-- wrk: POST the edge's incoming-call webhook (form with a SHAKEN Identity, and its
-- X-Twilio-Signature, from the environment). Every answer must be 200 with the test app's TwiML
-- for a call whose Identity verified (bench/app_stub answers "verified" only then).
package.path = "bench/?.lua;" .. package.path
require "wrk_report"
expect_status = 200
expect_body = "<Say>verified</Say>"
wrk.method = "POST"
wrk.body = os.getenv("STIRGATE_BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = os.getenv("STIRGATE_BENCH_SIGNATURE")
