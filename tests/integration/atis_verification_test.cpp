// POST /stir/v1/verification end to end: a real gateway on loopback (in-process, so its clock can
// be the vectors' fixed time) fetching certificates over HTTPS from a repository started here,
// pinned with x5u_resolve. Every spec vector, every x5u failure mode, caching and ATIS errors.

#include "net/net.hpp"

#include <atomic>
#include <ctime>
#include <functional>
#include <future>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "app/gateway.hpp"
#include "core/crypto.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "support/cert_repository.hpp"
#include "support/fixtures.hpp"
#include "support/in_process_gateway.hpp"
#include "support/process.hpp"
#include "support/test_tls.hpp"
#include "support/vectors.hpp"

namespace asio = boost::asio;
using stirgate::test::basic_auth;
using stirgate::test::read_vector;
using stirgate::test::verification_body;
using stirgate::test::vector_path;

namespace {

using stirgate::test::account_sid;
constexpr const char* auth_token = stirgate::test::account_token;
constexpr std::chrono::milliseconds fetch_timeout{1000};

std::int64_t parse_http_date(const std::string& text)
{
    std::tm tm{};
    REQUIRE(strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr);
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string post(const std::string& path, const std::string& body,
                 const std::string& content_type = "application/json",
                 const std::string& auth = basic_auth(account_sid, auth_token),
                 const std::string& extra_headers = "")
{
    return "POST " + path + " HTTP/1.1\r\nHost: gw.test\r\nContent-Type: " + content_type +
           "\r\n" + (auth.empty() ? "" : "Authorization: " + auth + "\r\n") + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

rapidjson::Document json_of(const stirgate::test::http_reply& r)
{
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

// Scripted upstreams for the failure modes, each behind its own host name.
struct bad_upstreams {
    asio::io_context io;
    stirgate::test::test_ca& ca;
    stirgate::test::test_server slow;
    stirgate::test::test_server hole;
    stirgate::test::test_server huge;
    stirgate::test::test_server moved;
    std::uint16_t down_port = 0;
    std::thread thread;

    static stirgate::test::server_script script(stirgate::test::server_behaviour b)
    {
        stirgate::test::server_script s;
        s.behaviour = b;
        return s;
    }
    // A real certificate chain, a byte every 50 ms: complete only after minutes.
    static stirgate::test::server_script drip()
    {
        auto s = script(stirgate::test::server_behaviour::drip);
        s.body = read_vector("pki/orig-sp-1234.chain.pem");
        return s;
    }
    static stirgate::test::server_script redirect()
    {
        stirgate::test::server_script s;
        s.status = 302;
        s.headers = {{"Location", "https://certs.example.test/sti/orig-sp-1234.pem"}};
        return s;
    }

    explicit bad_upstreams(stirgate::test::test_ca& c)
        : ca(c),
          slow(io, drip(), ca.issue_server("slow.example.test")),
          hole(io, script(stirgate::test::server_behaviour::black_hole),
               ca.issue_server("hole.example.test")),
          huge(io, script(stirgate::test::server_behaviour::huge_body),
               ca.issue_server("huge.example.test")),
          moved(io, redirect(), ca.issue_server("moved.example.test"))
    {
        // A port nobody listens on: bind, note, close.
        asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        down_port = a.local_endpoint().port();
        a.close();
        thread = std::thread([this] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
    }
    ~bad_upstreams()
    {
        io.stop();
        thread.join();
    }
};

struct atis_gateway {
    stirgate::test::test_ca ca{"stirgate test TLS CA"};
    stirgate::test::temp_file ca_file{ca.cert_pem()};
    stirgate::test::cert_repository repo{ca.issue_server("certs.example.test")};
    bad_upstreams bad{ca};
    std::atomic<std::int64_t> now{stirgate::test::vectors_verify_at};
    std::ostringstream log;
    std::optional<stirgate::test::in_process_gateway> gw;
    std::uint16_t port = 0;

    // `adjust` edits the config before the gateway starts (more accounts, numbers).
    explicit atis_gateway(const std::function<void(stirgate::app::config&)>& adjust = {})
    {
        stirgate::test::serve_vector_certificates(repo);
        stirgate::app::config cfg = stirgate::test::vector_gateway_config(
            "atis_verification_test", ca_file.path(), repo.port());
        cfg.verify.fetch_timeout = fetch_timeout;
        for (const auto& [host, pinned] :
             {std::pair{"slow.example.test", bad.slow.port()},
              std::pair{"hole.example.test", bad.hole.port()},
              std::pair{"huge.example.test", bad.huge.port()},
              std::pair{"moved.example.test", bad.moved.port()},
              std::pair{"down.example.test", bad.down_port}})
            cfg.verify.x5u_resolve.push_back({host, 443, "127.0.0.1", pinned});
        cfg.accounts.push_back(stirgate::test::vector_account(account_sid, auth_token));
        if (adjust) adjust(cfg);

        stirgate::app::gateway_options opts;
        opts.now = [this] { return now.load(); };
        opts.log_out = &log;
        gw.emplace(std::move(cfg), std::move(opts));
        port = gw->port();
    }

    stirgate::test::http_reply exchange(const std::string& raw) { return gw->exchange(raw); }
    stirgate::test::http_reply verify(const std::vector<std::string>& identities,
                                      const std::string& request_uri = "")
    {
        return exchange(post("/stir/v1/verification",
                             verification_body("13105550100", "14155550101", now.load(),
                                               identities, request_uri)));
    }
    bool healthy()
    {
        return exchange("GET /healthz HTTP/1.1\r\nHost: gw.test\r\n\r\n").status == 200;
    }
};

// A SHAKEN PASSporT from the vectors' orig-sp-1234 key, pointing at any x5u.
std::string signed_identity(const std::string& x5u, std::int64_t iat)
{
    static const auto key =
        stirgate::core::es256_private_key::from_pem(read_vector("pki/orig-sp-1234.key.pem"));
    REQUIRE(key);
    stirgate::core::passport_claims c;
    c.iat = iat;
    c.orig = stirgate::core::passport_identity::tn("13105550100");
    c.dest.tn = {"14155550101"};
    c.attest = stirgate::core::attestation::A;
    c.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    auto jws = stirgate::core::sign_passport(c, stirgate::core::passport_type::shaken, x5u, *key);
    REQUIRE(jws);
    return stirgate::core::format_identity_header(*jws, x5u, stirgate::core::passport_type::shaken);
}

void check_verdict(const stirgate::test::http_reply& r, const char* verstat, int reason_code)
{
    REQUIRE(r.status == 200);
    const auto d = json_of(r);
    const auto& v = d["verificationResponse"];
    CHECK(std::string(v["verstat"].GetString()) == verstat);
    if (reason_code == 0) {
        CHECK_FALSE(v.HasMember("reasonCode"));
    } else {
        REQUIRE(v.HasMember("reasonCode"));
        REQUIRE(v["reasonCode"].IsInt());
        CHECK(v["reasonCode"].GetInt() == reason_code);
    }
}

// An ATIS error row: the HTTP status, the messageId and (when given) the one variable.
struct atis_error_row {
    std::string raw;
    int status;
    const char* message_id;
    const char* variable;
};

void check_atis_error(const stirgate::test::http_reply& reply, const atis_error_row& r)
{
    CHECK(reply.status == r.status);
    const auto d = json_of(reply);
    REQUIRE(d.HasMember("requestError"));
    const auto& err = d["requestError"];
    const auto& ex =
        err.HasMember("serviceException") ? err["serviceException"] : err["policyException"];
    CHECK(std::string(ex["messageId"].GetString()) == r.message_id);
    if (r.variable) {
        REQUIRE(ex["variables"].Size() == 1);
        CHECK(std::string(ex["variables"][0].GetString()) == r.variable);
    }
    if (r.status == 401) CHECK(reply.header("WWW-Authenticate").find("Basic") == 0);
}

}  // namespace

TEST_CASE("every spec vector gives its labelled verdict through POST /stir/v1/verification",
          "[integration][atis]")
{
    atis_gateway g;
    const auto manifest = stirgate::test::load_vector_json("manifest.json");
    for (const auto& entry : manifest["cases"].GetArray()) {
        const std::string id = entry["id"].GetString();
        DYNAMIC_SECTION(id)
        {
            const auto c = stirgate::test::load_vector_json(entry["file"].GetString());
            const auto& sip = c["sip"];
            const auto& canonical = sip["canonical"];
            std::vector<std::string> identities;
            for (const auto& v : c["identity_headers"].GetArray()) identities.emplace_back(v.GetString());
            const std::string body = verification_body(
                canonical["orig_tn"].GetString(), canonical["to_tn"].GetString(),
                parse_http_date(sip["date"].GetString()), identities,
                canonical["request_uri_tn"].GetString());
            const auto r = g.exchange(post("/stir/v1/verification", body));
            REQUIRE(r.status == 200);
            const auto d = json_of(r);
            const auto& v = d["verificationResponse"];
            const auto& expect = c["expect"];
            // C1's label explains itself after a space: "No-TN-Validation (SHAKEN requires ...)".
            std::string verstat = expect["atis_verstat"].GetString();
            verstat = verstat.substr(0, verstat.find(' '));
            CHECK(std::string(v["verstat"].GetString()) == verstat);
            if (expect["sip_code"].IsNull()) {
                CHECK_FALSE(v.HasMember("reasonCode"));
            } else {
                REQUIRE(v.HasMember("reasonCode"));
                CHECK(v["reasonCode"].GetInt() == expect["sip_code"].GetInt());
                CHECK(std::string(v["reasonText"].GetString()) == expect["reason"].GetString());
            }
        }
    }
}

TEST_CASE("a certificate is fetched once and then served from the cache", "[integration][atis]")
{
    atis_gateway g;
    const auto doc = stirgate::test::load_vector_json("cases/G1_shaken_A.json");
    const std::string g1 = doc["identity_headers"][0].GetString();
    g.now = stirgate::test::vectors_verify_at;
    for (int i = 0; i < 3; ++i) {
        const auto r = g.exchange(post("/stir/v1/verification",
                                       verification_body("13105550100", "14155550101",
                                                         1767225600, {g1})));
        check_verdict(r, "TN-Validation-Passed", 0);
    }
    CHECK(g.repo.requests("/sti/orig-sp-1234.pem") == 1);
}

TEST_CASE("concurrent verifications of one uncached x5u cause one fetch", "[integration][atis]")
{
    atis_gateway g;
    g.now = 1767225600 + 10;
    g.repo.put("/sti/fresh.pem", read_vector("pki/orig-sp-1234.chain.pem"));
    const std::string id = signed_identity("https://certs.example.test/sti/fresh.pem", g.now);
    std::vector<std::future<int>> results;
    for (int i = 0; i < 24; ++i)
        results.push_back(std::async(std::launch::async, [&g, &id] { return g.verify({id}).status; }));
    for (auto& f : results) CHECK(f.get() == 200);
    CHECK(g.repo.requests("/sti/fresh.pem") == 1);
    check_verdict(g.verify({id}), "TN-Validation-Passed", 0);
}

TEST_CASE("Cache-Control max-age expires on the gateway's clock", "[integration][atis]")
{
    atis_gateway g;
    g.repo.put("/sti/short.pem", read_vector("pki/orig-sp-1234.chain.pem"), "max-age=120");
    const std::string url = "https://certs.example.test/sti/short.pem";
    check_verdict(g.verify({signed_identity(url, g.now)}), "TN-Validation-Passed", 0);
    g.now += 119;
    check_verdict(g.verify({signed_identity(url, g.now)}), "TN-Validation-Passed", 0);
    CHECK(g.repo.requests("/sti/short.pem") == 1);
    g.now += 1;
    check_verdict(g.verify({signed_identity(url, g.now)}), "TN-Validation-Passed", 0);
    CHECK(g.repo.requests("/sti/short.pem") == 2);
}

TEST_CASE("each x5u failure mode answers 436 within fetch_timeout + 200 ms and the gateway stays "
          "healthy",
          "[integration][atis]")
{
    atis_gateway g;
    const char* urls[] = {
        "https://down.example.test/sti.pem",   // connection refused
        "https://hole.example.test/sti.pem",   // accepts, never answers
        "https://slow.example.test/sti.pem",   // drips one byte at a time
        "https://huge.example.test/sti.pem",   // 5 MB body
        "https://moved.example.test/sti.pem",  // redirect (never followed)
        "http://certs.example.test/sti/orig-sp-1234.pem",    // not https
        "https://certs.example.test/sti/does-not-exist.pem",  // 404
        "https://certs.example.test:9999/sti/orig-sp-1234.pem",  // port not allowed
        "https://127.0.0.1/sti/orig-sp-1234.pem",              // private address, not pinned
    };
    for (const char* url : urls) {
        INFO(url);
        const auto start = std::chrono::steady_clock::now();
        const auto r = g.verify({signed_identity(url, g.now)});
        const auto took = std::chrono::steady_clock::now() - start;
        check_verdict(r, "TN-Validation-Failed", 436);
        CHECK(std::string(json_of(r)["verificationResponse"]["reasonText"].GetString()) ==
              "Bad Identity Info");
        CHECK(took < fetch_timeout + std::chrono::milliseconds(200));
        CHECK(g.healthy());
    }
}

TEST_CASE("the ATIS endpoint answers bad requests with ATIS error bodies", "[integration][atis]")
{
    atis_gateway g;
    const std::string good = verification_body("13105550100", "14155550101", 1767225600, {"x"});
    const std::vector<atis_error_row> rows = {
        {post("/stir/v1/verification", good, "application/json", ""), 401, "POL4010", nullptr},
        {post("/stir/v1/verification", good, "application/json",
              basic_auth(account_sid, "wrong-token-wrong-token-wrong-to")),
         401, "POL4010", nullptr},
        {post("/stir/v1/verification", good, "application/json", "Bearer abc"), 401, "POL4010",
         nullptr},
        {post("/stir/v1/verification", good, "text/plain"), 415, "SVC4004", nullptr},
        {post("/stir/v1/verification", good, "application/json", basic_auth(account_sid, auth_token),
              "Accept: text/html\r\n"),
         406, "SVC4002", nullptr},
        {post("/stir/v1/verification", ""), 400, "SVC4000", nullptr},
        {post("/stir/v1/verification", "{\"verificationRequest\":"), 400, "SVC4006", nullptr},
        {post("/stir/v1/verification",
              R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1}})"),
         400, "SVC4001", "identity"},
        {post("/stir/v1/verification",
              R"({"verificationRequest":{"from":{"tn":"alice"},"to":{"tn":["14155550101"]},"time":1,"identity":"x"}})"),
         400, "SVC4005", "from.tn"},
        {"GET /stir/v1/verification HTTP/1.1\r\nHost: gw.test\r\n\r\n", 405, "POL4050", nullptr},
        {post("/stir/v1/nothing-here", good), 404, "SVC4003", nullptr},
        // Two Authorization headers, the first one valid: refused, neither is chosen.
        {post("/stir/v1/verification", good, "application/json", basic_auth(account_sid, auth_token),
              "Authorization: Basic eDp5\r\n"),
         400, "SVC4006", nullptr},
    };
    for (const auto& r : rows) {
        INFO(r.raw.substr(0, r.raw.find("\r\n\r\n")));
        check_atis_error(g.exchange(r.raw), r);
    }
    // X-RequestID is echoed.
    const auto echoed = g.exchange(post("/stir/v1/verification", good, "application/json",
                                        basic_auth(account_sid, auth_token),
                                        "X-RequestID: req-42\r\n"));
    CHECK(echoed.header("X-RequestID") == "req-42");
    CHECK(g.healthy());
}

TEST_CASE("POST /stir/v1/signing signs a PASSporT that /stir/v1/verification then passes",
          "[integration][atis]")
{
    atis_gateway g;
    const std::string now = std::to_string(g.now.load());
    const auto signed_reply = g.exchange(post(
        "/stir/v1/signing",
        R"({"signingRequest":{"attest":"B","dest":{"tn":["+1 415 555 0101"]},"iat":)" + now +
            R"(,"orig":{"tn":"13105550100"},"origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"}})",
        "application/json", basic_auth(account_sid, auth_token), "X-RequestID: s-1\r\n"));
    REQUIRE(signed_reply.status == 200);
    CHECK(signed_reply.header("X-RequestID") == "s-1");
    const auto d = json_of(signed_reply);
    const std::string identity = d["signingResponse"]["identity"].GetString();

    auto parsed = stirgate::core::parse_identity_header(identity);
    REQUIRE(parsed);
    CHECK(parsed->info == "https://certs.example.test/sti/orig-sp-1234.pem");
    CHECK(parsed->ppt == std::optional<std::string>("shaken"));
    auto p = stirgate::core::decode_passport(parsed->token);
    REQUIRE(p);
    CHECK(p->claims.dest.tn == std::vector<std::string>{"14155550101"});
    CHECK(p->claims.attest == stirgate::core::attestation::B);

    check_verdict(g.verify({identity}), "TN-Validation-Passed", 0);

    // A DIV PASSporT (3GPP ppt) for the forward of that call verifies as a chain with it.
    const auto div_reply = g.exchange(post(
        "/stir/v1/signing",
        R"({"signingRequest":{"ppt":"div","dest":{"tn":["16505550102"]},"iat":)" + now +
            R"(,"orig":{"tn":"13105550100"},"div":{"tn":"14155550101"}}})"));
    REQUIRE(div_reply.status == 200);
    const std::string div = json_of(div_reply)["signingResponse"]["identity"].GetString();
    check_verdict(g.verify({identity, div}, "16505550102"), "TN-Validation-Passed", 0);
}

TEST_CASE("POST /stir/v1/signing refuses stale times and bad claims with ATIS errors",
          "[integration][atis]")
{
    atis_gateway g;
    const auto body = [](const std::string& iat, const std::string& attest) {
        return R"({"signingRequest":{"attest":")" + attest + R"(","dest":{"tn":["14155550101"]},"iat":)" +
               iat + R"(,"orig":{"tn":"13105550100"},"origid":"x"}})";
    };
    const std::string now = std::to_string(g.now.load());
    const std::string stale = std::to_string(g.now.load() - 61);
    const std::vector<atis_error_row> rows = {
        {post("/stir/v1/signing", body(stale, "A")), 400, "SVC4005", "iat"},
        {post("/stir/v1/signing", body(std::to_string(g.now.load() + 61), "A")), 400, "SVC4005", "iat"},
        {post("/stir/v1/signing", body(now, "D")), 400, "SVC4005", "attest"},
        {post("/stir/v1/signing", R"({"signingRequest":{"attest":"A"}})"), 400, "SVC4001", "orig"},
        {post("/stir/v1/signing", body(now, "A"), "application/json", ""), 401, "POL4010", nullptr},
        {post("/stir/v1/signing",
              R"({"signingRequest":{"ppt":"rph","attest":"A","dest":{"tn":["14155550101"]},"iat":1,"orig":{"tn":"13105550100"},"origid":"x"}})"),
         400, "SVC4005", "ppt"},
    };
    for (const auto& r : rows) {
        INFO(r.raw.substr(r.raw.find("\r\n\r\n")));
        check_atis_error(g.exchange(r.raw), r);
    }
}

namespace {

constexpr const char* other_sid = "ACfedcba9876543210fedcba9876543210";
constexpr const char* other_token = "fedcba9876543210fedcba9876543210";
constexpr const char* other_origid = "0b9e3f6a-1111-4222-8333-444455556666";
constexpr const char* sbc_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr const char* sbc_token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr const char* own_origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";  // vector_account's

// The claims of the SHAKEN PASSporT that POST /stir/v1/signing returns for this request.
stirgate::core::passport_claims signed_as(atis_gateway& g, const std::string& sid,
                                          const std::string& token, const std::string& attest,
                                          const std::string& orig, const std::string& origid)
{
    const auto reply = g.exchange(post(
        "/stir/v1/signing",
        R"({"signingRequest":{"attest":")" + attest + R"(","dest":{"tn":["16505550102"]},"iat":)" +
            std::to_string(g.now.load()) + R"(,"orig":{"tn":")" + orig + R"("},"origid":")" +
            origid + R"("}})",
        "application/json", basic_auth(sid, token)));
    REQUIRE(reply.status == 200);
    auto parsed = stirgate::core::parse_identity_header(
        json_of(reply)["signingResponse"]["identity"].GetString());
    REQUIRE(parsed);
    auto p = stirgate::core::decode_passport(parsed->token);
    REQUIRE(p);
    return p->claims;
}

}  // namespace

TEST_CASE("ATIS signing applies the Calls API's attestation policy; only a trusted_sbc account "
          "chooses its level",
          "[integration][atis]")
{
    using stirgate::core::attestation;
    atis_gateway g([](stirgate::app::config& cfg) {
        cfg.accounts[0].numbers.push_back({"+13105550100", 'A', {}, {}, {}});
        cfg.accounts[0].numbers.push_back({"+13105550101", 'B', {}, {}, {}});
        auto other = stirgate::test::vector_account(other_sid, other_token);
        other.origid = other_origid;
        cfg.accounts.push_back(other);
        auto sbc = stirgate::test::vector_account(sbc_sid, sbc_token);
        sbc.trusted_sbc = true;
        cfg.accounts.push_back(sbc);
    });

    // The hostile request: another account asks for A on this account's number, with this
    // account's origid. It is signed B (the policy for a number it does not hold) with its own.
    auto c = signed_as(g, other_sid, other_token, "A", "13105550100", own_origid);
    CHECK(c.attest == attestation::B);
    CHECK(c.origid == other_origid);
    CHECK(c.orig.value == "13105550100");
    // Any number at all: B as well.
    CHECK(signed_as(g, other_sid, other_token, "A", "12125550123", other_origid).attest ==
          attestation::B);

    // The owner gets its inventory's level, never more, and less when it asks for less.
    CHECK(signed_as(g, account_sid, auth_token, "A", "13105550100", own_origid).attest ==
          attestation::A);
    CHECK(signed_as(g, account_sid, auth_token, "A", "13105550101", own_origid).attest ==
          attestation::B);
    CHECK(signed_as(g, account_sid, auth_token, "C", "13105550100", own_origid).attest ==
          attestation::C);

    // The operator's SBC signs what it asks for, origid included.
    c = signed_as(g, sbc_sid, sbc_token, "A", "12125550123", other_origid);
    CHECK(c.attest == attestation::A);
    CHECK(c.origid == other_origid);
}
