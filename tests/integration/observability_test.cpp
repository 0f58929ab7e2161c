// Operations on a real gateway on loopback (in-process, so its log can be captured): /metrics
// after real traffic, the per-request log line's call_sid, no secret in any log line, and
// /readyz while the store fails.

#include "net/net.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include "app/gateway.hpp"
#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "support/fixtures.hpp"
#include "support/in_process_gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace asio = boost::asio;
namespace core = stirgate::core;
using stirgate::test::read_vector;
using stirgate::test::vector_path;
using stirgate::test::basic_auth;
using stirgate::test::g1_identity;
using stirgate::test::wall_now;

namespace {

constexpr const char* account_sid = "AC0123456789abcdef0123456789abcdef";
constexpr const char* auth_token = "5ecre7a0ken0f7he0accoun70000beef";
constexpr const char* wrong_password = "n0t-the-password-but-still-secret";
constexpr const char* edge_secret = "edge-5hared-5ecre7-value";
constexpr const char* parent_sid = "CA11111111111111111111111111111111";
constexpr const char* calls_path =
    "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json";

// A std::ostream the gateway logs to while the test reads it from another thread.
class locked_log final : public std::streambuf {
public:
    std::string text()
    {
        const std::lock_guard lock(mutex_);
        return text_;
    }

protected:
    int_type overflow(int_type c) override
    {
        if (c != traits_type::eof()) {
            const std::lock_guard lock(mutex_);
            text_ += static_cast<char>(c);
        }
        return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override
    {
        const std::lock_guard lock(mutex_);
        text_.append(s, static_cast<std::size_t>(n));
        return n;
    }

private:
    std::mutex mutex_;
    std::string text_;
};

std::uint16_t unused_port()
{
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();  // closed on return: nobody listens there
}

struct observed_gateway {
    stirgate::test::temp_dir dir;
    std::uint16_t down_port = unused_port();
    locked_log log_buf;
    std::ostream log{&log_buf};
    std::optional<stirgate::test::in_process_gateway> gw;
    std::uint16_t port = 0;

    explicit observed_gateway(bool with_edge = true)
    {
        stirgate::app::config cfg;
        cfg.source = "";
        cfg.server.listen = {"127.0.0.1", 0};
        cfg.server.threads = 2;
        cfg.server.public_url = "http://gw.test";
        cfg.storage.url = "sqlite://" + (dir.path() / "stirgate.db").string();
        cfg.verify.trust_anchors = vector_path("pki/root-ca.cert.pem");
        cfg.verify.fetch_timeout = std::chrono::milliseconds(2000);
        // Certificates "come" from a port nobody listens on: every fetch fails fast.
        cfg.verify.x5u_resolve = {{"certs.example.test", 443, "127.0.0.1", down_port}};
        cfg.signing = stirgate::test::vector_signing();
        stirgate::app::calltoken_config calltoken;
        calltoken.key_file = vector_path("pki/platform-calltoken.key.pem");
        calltoken.trusted_keys = {vector_path("pki/platform-calltoken.pub.pem")};
        cfg.calltoken = calltoken;
        cfg.edge.auth_token = edge_secret;
        if (with_edge)
            cfg.edge.dial_url = "http://127.0.0.1:" + std::to_string(down_port) + "/dial";
        cfg.accounts.push_back(stirgate::test::vector_account(account_sid, auth_token));
        // The calls below without a CallToken show the caller as a verified caller ID (B).
        cfg.accounts.back().verified_caller_ids = {"+13105550100"};

        stirgate::app::gateway_options opts;
        opts.log_out = &log;
        gw.emplace(std::move(cfg), std::move(opts));
        port = gw->port();
    }

    stirgate::test::http_reply exchange(const std::string& raw) { return gw->exchange(raw); }
    stirgate::test::http_reply get(const std::string& path)
    {
        return exchange("GET " + path + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    }
    stirgate::test::http_reply post_form(const std::string& path, const core::form_params& form,
                                         const std::string& extra_headers)
    {
        const std::string body = core::format_form(form);
        return exchange("POST " + path + " HTTP/1.1\r\nHost: gw.test\r\n" + extra_headers +
                        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    stirgate::test::http_reply create_call(const core::form_params& form,
                                           const std::string& password = auth_token)
    {
        return post_form(calls_path, form,
                         "Authorization: " + basic_auth(account_sid, password) + "\r\n");
    }
};

std::string mint(const std::vector<std::string>& identities)
{
    return stirgate::test::mint_calltoken(parent_sid, account_sid, identities, wall_now());
}

core::form_params call_form(const std::string& token = {})
{
    core::form_params f;
    f.add("To", "+16505550102");
    f.add("From", "+13105550100");
    f.add("Url", "https://app.example.test/twiml");
    if (!token.empty()) f.add("CallToken", token);
    return f;
}

std::string sid_of(const stirgate::test::http_reply& r)
{
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.HasMember("sid"));
    REQUIRE(d["sid"].IsString());
    return d["sid"].GetString();
}

std::string verification_request(const std::string& identity, std::int64_t now)
{
    const std::string body =
        stirgate::test::verification_body("13105550100", "14155550101", now, {identity});
    return "POST /stir/v1/verification HTTP/1.1\r\nHost: gw.test\r\nContent-Type: "
           "application/json\r\nAuthorization: " +
           basic_auth(account_sid, auth_token) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string signed_identity(std::int64_t iat)
{
    auto key = core::es256_private_key::from_pem(read_vector("pki/orig-sp-1234.key.pem"));
    REQUIRE(key);
    core::passport_claims c;
    c.iat = iat;
    c.orig = core::passport_identity::tn("13105550100");
    c.dest.tn = {"14155550101"};
    c.attest = core::attestation::A;
    c.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    const std::string x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
    auto jws = core::sign_passport(c, core::passport_type::shaken, x5u, *key);
    REQUIRE(jws);
    return core::format_identity_header(*jws, x5u, core::passport_type::shaken);
}

// The value of the sample `series` (the text before the space), -1 when absent.
double sample(const std::string& metrics, const std::string& series)
{
    const std::string needle = "\n" + series + " ";
    const auto at = ("\n" + metrics).find(needle);
    if (at == std::string::npos) return -1;
    const auto start = at + needle.size() - 1;  // "\n" was prepended
    return std::stod(metrics.substr(start, metrics.find('\n', start) - start));
}

template <class Pred>
bool eventually(Pred pred, std::chrono::seconds limit = std::chrono::seconds(15))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
}

}  // namespace

TEST_CASE("GET /metrics exposes the counters that real traffic moved", "[integration][metrics]")
{
    observed_gateway g;
    const auto before = g.get("/metrics");
    REQUIRE(before.status == 200);
    CHECK(before.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(sample(before.body, R"(stirgate_signatures_total{ppt="shaken"})") == 0);

    CHECK(g.get("/healthz").status == 200);
    CHECK(g.get("/healthz").status == 200);
    CHECK(g.get("/no/such/path/123").status == 404);
    CHECK(g.create_call(call_form()).status == 201);                       // SHAKEN B
    CHECK(g.create_call(call_form(mint({g1_identity()}))).status == 201);  // keeps SHAKEN, + DIV
    CHECK(g.create_call(call_form(), wrong_password).status == 401);
    const auto verdict = g.exchange(verification_request(signed_identity(wall_now()), wall_now()));
    CHECK(verdict.status == 200);

    // Both calls queued an edge hand-off to a port nobody listens on: each attempt fails.
    std::string m;
    REQUIRE(eventually([&] {
        m = g.get("/metrics").body;
        return sample(m,
                      R"(stirgate_webhook_deliveries_total{kind="edge_dial",result="failed"})") >=
               2;
    }));
    INFO(m);
    CHECK(
        sample(m, R"(stirgate_http_requests_total{route="/healthz",method="GET",status="200"})") ==
        2);
    CHECK(
        sample(m, R"(stirgate_http_requests_total{route="unmatched",method="GET",status="404"})") ==
        1);
    CHECK(
        sample(
            m,
            R"(stirgate_http_requests_total{route="/2010-04-01/Accounts/{AccountSid}/Calls.json",method="POST",status="201"})") ==
        2);
    CHECK(
        sample(
            m,
            R"(stirgate_http_requests_total{route="/2010-04-01/Accounts/{AccountSid}/Calls.json",method="POST",status="401"})") ==
        1);
    CHECK(m.find("/no/such/path") == std::string::npos);  // routes, never raw paths
    CHECK(
        sample(m,
               R"(stirgate_http_request_duration_seconds_count{route="/healthz",method="GET"})") ==
        2);
    CHECK(
        sample(
            m,
            R"(stirgate_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="+Inf"})") ==
        2);
    CHECK(sample(m, R"(stirgate_signatures_total{ppt="shaken"})") == 1);
    CHECK(sample(m, R"(stirgate_signatures_total{ppt="div"})") == 1);
    CHECK(
        sample(
            m,
            R"(stirgate_verifications_total{verstat="TN-Validation-Failed",reason="x5u_fetch_failed"})") ==
        1);
    CHECK(sample(m, R"(stirgate_cert_cache_total{result="miss"})") == 1);
    CHECK(sample(m, R"(stirgate_cert_fetch_failures_total{reason="fetch"})") == 1);
    CHECK(sample(m, "stirgate_outbox_depth") == 2);
    CHECK(sample(m, "stirgate_outbox_lag_seconds") >= 0);  // due now or waiting for a retry
    CHECK(sample(m, "stirgate_store_connections") == 1);    // SQLite's writer
    CHECK(sample(m, "stirgate_store_connections_up") == 1);
    CHECK(sample(m, "stirgate_store_jobs_total") >= 4);  // two inserts, claims, this scrape's
    CHECK(sample(m, "stirgate_store_jobs_waiting") >= 0);
    CHECK(sample(m, "stirgate_store_queue_wait_seconds_total") >= 0);
    CHECK(sample(m, R"(stirgate_store_errors_total{kind="database"})") == 0);
    CHECK(sample(m, R"(stirgate_store_errors_total{kind="refused"})") == 0);
    CHECK(sample(m, "stirgate_open_connections") >= 1);  // the scrape's own connection
    CHECK(sample(m, "stirgate_log_lines_dropped_total") == 0);
    CHECK(m.find("# TYPE stirgate_http_request_duration_seconds histogram\n") != std::string::npos);
    // Every series once (GET and POST of one pattern are two routes, yet distinct series).
    std::set<std::string> series;
    std::istringstream lines(m);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        INFO(line);
        CHECK(series.insert(line.substr(0, line.rfind(' '))).second);
    }
    CHECK(g.get("/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json").status ==
          401);
    CHECK(
        sample(
            g.get("/metrics").body,
            R"(stirgate_http_request_duration_seconds_count{route="/2010-04-01/Accounts/{AccountSid}/Calls.json",method="GET"})") ==
        1);
}

TEST_CASE("request log lines name the CallSid and no log line carries a secret",
          "[integration][metrics]")
{
    observed_gateway g;
    const std::string token = mint({g1_identity()});
    const std::string identity = signed_identity(wall_now());
    const std::string edge_signature = "c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw==";

    const auto created = g.create_call(call_form(token));
    REQUIRE(created.status == 201);
    const std::string sid = sid_of(created);
    const std::string call_path =
        "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls/" + sid + ".json";
    CHECK(g.exchange("GET " + call_path + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                     basic_auth(account_sid, auth_token) + "\r\n\r\n")
              .status == 200);
    CHECK(g.create_call(call_form(token), wrong_password).status == 401);
    CHECK(g.exchange(verification_request(identity, wall_now())).status == 200);

    // A SIP password, accepted into a dial form and refused: in no log line either way.
    const std::string sip_password = "5ip-pa55word-never-logged";
    core::form_params sip_call;
    sip_call.add("To", "sip:alice@pbx.example.test");
    sip_call.add("From", "+13105550100");
    sip_call.add("Url", "https://app.example.test/twiml");
    sip_call.add("SipAuthUsername", "alice");
    sip_call.add("SipAuthPassword", sip_password);
    const auto sip_created = g.create_call(sip_call);
    REQUIRE(sip_created.status == 201);
    const std::string sip_sid = sid_of(sip_created);
    auto sip_refused = call_form();
    sip_refused.add("SipAuthPassword", sip_password);
    CHECK(g.create_call(sip_refused).status == 400);

    core::form_params inbound;
    inbound.add("CallSid", "CA22222222222222222222222222222222");
    inbound.add("From", "+13105550100");
    inbound.add("To", "+14155550101");
    inbound.add("Identity", identity);
    inbound.add("CallToken", token);
    const auto refused = g.post_form("/webhooks/incoming-call", inbound,
                                     "X-Twilio-Signature: " + edge_signature + "\r\n");
    CHECK(refused.status >= 400);
    // The same secrets in headers and the query of an unknown path.
    CHECK(g.exchange("GET /nope?token=" + std::string(auth_token) +
                     " HTTP/1.1\r\nHost: gw.test\r\nIdentity: " + identity +
                     "\r\nAuthorization: " + basic_auth(account_sid, wrong_password) +
                     "\r\nX-Twilio-Signature: " + edge_signature + "\r\n\r\n")
              .status == 404);

    // Wait for the outbox's failed hand-off line, which names the call too, and for the last
    // request's line (info lines reach the log in batches, a few ms after the reply).
    REQUIRE(eventually([&] {
        const std::string text = g.log_buf.text();
        return text.find("outbox delivery failed") != std::string::npos &&
               text.find("\"status\":404") != std::string::npos;
    }));
    const std::string log = g.log_buf.text();
    INFO(log);

    bool saw_created = false;
    bool saw_fetched = false;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        rapidjson::Document d;
        d.Parse(line.c_str(), line.size());
        REQUIRE_FALSE(d.HasParseError());
        const auto msg = d.FindMember("msg");
        const auto status = d.FindMember("status");
        if (msg != d.MemberEnd() && std::string(msg->value.GetString()) == "request" &&
            status != d.MemberEnd() && status->value.IsInt() && status->value.GetInt() == 201) {
            REQUIRE(d.HasMember("call_sid"));
            const std::string created_sid = d["call_sid"].GetString();
            CHECK((created_sid == sid || created_sid == sip_sid));
            saw_created = saw_created || created_sid == sid;
        }
        if (msg != d.MemberEnd() && std::string(msg->value.GetString()) == "request" &&
            status != d.MemberEnd() && status->value.IsInt() && status->value.GetInt() == 200 &&
            d.HasMember("route") && d["route"].IsString() &&
            std::string(d["route"].GetString()).find("{CallSid}") != std::string::npos) {
            REQUIRE(d.HasMember("call_sid"));
            CHECK(std::string(d["call_sid"].GetString()) == sid);
            saw_fetched = true;
        }
        if (msg != d.MemberEnd() &&
            std::string(msg->value.GetString()) == "outbox delivery failed") {
            const std::string dialled_sid = d["call_sid"].GetString();
            CHECK((dialled_sid == sid || dialled_sid == sip_sid));
        }
    }
    CHECK(saw_created);
    CHECK(saw_fetched);

    const std::string jws = core::parse_identity_header(identity)->token;
    const std::vector<std::string> secrets = {
        auth_token,
        wrong_password,
        edge_secret,
        core::base64_encode(std::string(account_sid) + ":" + auth_token),
        core::base64_encode(std::string(account_sid) + ":" + wrong_password),
        token,
        core::decode_calltoken(token)->parent_call_info_token,
        identity,
        jws.substr(jws.rfind('.') + 1),  // the signature alone
        edge_signature,
        sip_password,
    };
    for (const auto& s : secrets) {
        INFO("secret: " << s);
        CHECK(log.find(s) == std::string::npos);
    }
}

TEST_CASE("/readyz answers 503 while the store cannot write and 200 once a write commits again",
          "[integration][metrics]")
{
    observed_gateway g(false);
    REQUIRE(g.get("/readyz").status == 200);
    REQUIRE(g.create_call(call_form()).status == 201);

    // Files of this process may not grow past one byte: the next SQLite write fails as on a
    // full disk. SIGXFSZ would kill the process instead of failing the write.
    struct rlimit saved {};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    struct sigaction ignore {
    }, old_action{};
    ignore.sa_handler = SIG_IGN;
    REQUIRE(sigaction(SIGXFSZ, &ignore, &old_action) == 0);
    struct rlimit tiny = saved;
    tiny.rlim_cur = 1;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &tiny) == 0);
    const int failed_status = g.create_call(call_form()).status;
    const int ready_while_failing = g.get("/readyz").status;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    REQUIRE(sigaction(SIGXFSZ, &old_action, nullptr) == 0);

    CHECK(failed_status == 503);
    CHECK(ready_while_failing == 503);
    CHECK(g.create_call(call_form()).status == 201);
    CHECK(g.get("/readyz").status == 200);
}
