// The inbound half of the product end to end, on loopback: a real `stirgate serve`, a test SIP
// edge (edge_receiver and signed posts from here), a customer application over HTTPS with a test
// CA (app_server) and an STI certificate repository (cert_repository, pinned with x5u_resolve).
// PASSporTs are minted here with the vectors' keys and the wall clock, since the gateway runs on
// real time. The application's signature is checked with an independent Python implementation
// of Twilio's validateRequest, and the dialled Identity values with PyJWT and with the gateway's
// own ATIS verification endpoint.
//
// STIRGATE_E2E_TRANSCRIPT=FILE writes one full inbound -> forward exchange, as the application
// saw it, to FILE.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/base64url.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/twilio_signature.hpp"
#include "support/app_server.hpp"
#include "support/cert_repository.hpp"
#include "support/edge_receiver.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tls.hpp"
#include "support/vectors.hpp"

namespace core = stirgate::core;
using stirgate::test::app_route;
using stirgate::test::app_server;
using stirgate::test::child_process;
using stirgate::test::gateway_process;
using stirgate::test::pyjwt_verifies;
using stirgate::test::read_vector;
using stirgate::test::vector_path;
using stirgate::test::wall_now;

namespace {

using stirgate::test::account_sid;
using stirgate::test::edge_secret;
constexpr const char* auth_token = stirgate::test::account_token;
constexpr const char* caller = "+13105550100";
constexpr const char* number = "+14155550101";         // app up
constexpr const char* number_down = "+14155550102";    // voice_url refuses connections
constexpr const char* number_slow = "+14155550103";    // voice_url answers after app_timeout
constexpr const char* forward_to = "+16505550102";
constexpr const char* incoming_path = "/webhooks/incoming-call";
constexpr const char* twiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                              "<Response><Dial><Number>+16505550102</Number></Dial></Response>";
constexpr const char* twiml_type = "application/xml; charset=utf-8";
constexpr const char* fallback_twiml = "<Response><Say>Sorry.</Say></Response>";
constexpr int app_timeout_ms = 1500;

// Everything the gateway talks to, and its configuration.
struct world {
    stirgate::test::temp_dir dir;
    stirgate::test::test_ca ca{"stirgate e2e test CA"};
    std::string ca_file = dir.write("test-ca.pem", ca.cert_pem());
    stirgate::test::cert_repository repo{ca.issue_server("certs.example.test")};
    stirgate::test::edge_receiver edge;
    app_server app{ca.issue_server("app.example.test")};
    std::uint16_t down_port = stirgate::test::reserve_port();
    std::uint16_t callback_port = stirgate::test::reserve_port();

    world()
    {
        repo.put("/sti/orig-sp-1234.pem", read_vector("pki/orig-sp-1234.chain.pem"));
        repo.put("/sti/div-sp-5678.pem", read_vector("pki/div-sp-5678.chain.pem"));
        app.route("/voice", app_route{200, twiml_type, twiml, {}, 0});
        app.route("/fallback", app_route{200, "text/xml", fallback_twiml, {}, 0});
        app.route("/slow", app_route{200, "text/xml", twiml,
                                     std::chrono::milliseconds(app_timeout_ms + 1500), 0});
    }

    std::string callback_url() const
    {
        return "https://127.0.0.1:" + std::to_string(callback_port) + "/status";
    }

    std::string config_path(int app_timeout = app_timeout_ms)
    {
        const auto pki = [](const char* f) {
            return "\"" + vector_path(std::string("pki/") + f) + "\"";
        };
        const auto q = [](const std::string& s) { return "\"" + s + "\""; };
        const std::string text =
            std::string("[server]\nlisten = \"127.0.0.1:8080\"\nthreads = 2\n") +
            "drain_timeout_ms = 3000\n"
            // Loopback is not a proxy here: X-Forwarded-* from the test must be ignored.
            "trusted_proxies = [\"192.0.2.10/32\"]\n" +
            "[storage]\nurl = \"sqlite://calls.db\"\n" +
            "[signing]\nkey_file = " + pki("div-sp-5678.key.pem") +
            "\nx5u = \"https://certs.example.test/sti/div-sp-5678.pem\"\nchain_file = " +
            pki("div-sp-5678.chain.pem") + "\n" +
            "[calltoken]\nkey_file = " + pki("platform-calltoken.key.pem") +
            "\ntrusted_keys = [" + pki("platform-calltoken.pub.pem") + "]\n" +
            "[verify]\ntrust_anchors = " + pki("root-ca.cert.pem") + "\nfetch_ca_file = " +
            q(ca_file) + "\nx5u_resolve = [\"certs.example.test:443:127.0.0.1:" +
            std::to_string(repo.port()) + "\"]\n" +
            "[network]\nallow_private_addresses = true\nwebhook_ca_file = " + q(ca_file) + "\n" +
            "[webhooks]\napp_timeout_ms = " + std::to_string(app_timeout) +
            "\nretry_base_ms = 100\nretry_cap_ms = 400\n" +
            "[edge]\nauth_token = \"" + edge_secret + "\"\ndial_url = \"http://127.0.0.1:" +
            std::to_string(edge.port()) + "/dial\"\ncontrol_url = \"http://127.0.0.1:" +
            std::to_string(edge.port()) + "/control\"\n" +
            "[[accounts]]\nsid = \"" + account_sid + "\"\nauth_token = \"" + auth_token +
            "\"\norigid = \"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"\n" +
            "[[accounts.numbers]]\nnumber = \"" + number + "\"\nattest = \"A\"\nvoice_url = " +
            q(app.url("/voice")) + "\nvoice_fallback_url = " + q(app.url("/fallback")) + "\n" +
            "[[accounts.numbers]]\nnumber = \"" + number_down + "\"\nvoice_url = \"https://127.0.0.1:" +
            std::to_string(down_port) + "/voice\"\nvoice_fallback_url = " +
            q(app.url("/fallback")) + "\n" +
            "[[accounts.numbers]]\nnumber = \"" + number_slow + "\"\nvoice_url = " +
            q(app.url("/slow")) + "\nvoice_fallback_url = " + q(app.url("/fallback")) + "\n";
        return dir.write("stirgate.toml", text);
    }
};

// ---- PASSporTs minted now with the vectors' keys ------------------------------------------------

core::es256_private_key vector_key(const char* file)
{
    auto k = core::es256_private_key::from_pem(read_vector(std::string("pki/") + file));
    REQUIRE(k);
    return *k;
}

std::string shaken_identity(const std::string& dest_tn, std::int64_t iat)
{
    core::passport_claims c;
    c.iat = iat;
    c.orig = core::passport_identity::tn("13105550100");
    c.dest.tn = {dest_tn};
    c.attest = core::attestation::A;
    c.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    const std::string x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
    auto jws = core::sign_passport(c, core::passport_type::shaken, x5u,
                                   vector_key("orig-sp-1234.key.pem"));
    REQUIRE(jws);
    return core::format_identity_header(*jws, x5u, core::passport_type::shaken);
}

// A DIV PASSporT from the vectors' forwarding provider: the call to `div_tn` went on to `dest_tn`.
std::string div_identity(const std::string& div_tn, const std::string& dest_tn, std::int64_t iat)
{
    core::passport_claims c;
    c.iat = iat;
    c.orig = core::passport_identity::tn("13105550100");
    c.dest.tn = {dest_tn};
    c.div = core::passport_identity::tn(div_tn);
    const std::string x5u = "https://certs.example.test/sti/div-sp-5678.pem";
    auto jws = core::sign_passport(c, core::passport_type::div, x5u,
                                   vector_key("div-sp-5678.key.pem"));
    REQUIRE(jws);
    return core::format_identity_header(*jws, x5u, core::passport_type::div);
}

// ---- the edge's side -----------------------------------------------------------------------

std::string edge_post(const std::string& path, const core::form_params& form,
                      const std::string& signature, const std::string& extra_headers = "")
{
    const std::string body = core::format_form(form);
    return "POST " + path + " HTTP/1.1\r\nHost: gw.test\r\n" +
           "Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: " + signature +
           "\r\n" + extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
}

// Signed as the edge signs: over the URL it used (Host gw.test, plain HTTP).
std::string signed_edge_post(const std::string& path, const core::form_params& form)
{
    return edge_post(path, form, core::twilio_signature(edge_secret, "http://gw.test" + path, form));
}

stirgate::test::http_reply roundtrip(std::uint16_t port, const std::string& raw)
{
    stirgate::test::http_connection c(port, std::chrono::seconds(10));
    REQUIRE(c.send(raw));
    auto reply = c.read_reply();
    REQUIRE(reply.has_value());
    return *reply;
}

core::form_params incoming_form(const std::string& call_sid, const std::string& to,
                                const std::vector<std::string>& identities)
{
    core::form_params f;
    f.add("CallSid", call_sid);
    f.add("From", caller);
    f.add("To", to);
    f.add("CallStatus", "ringing");
    f.add("Direction", "inbound");
    // Caller details the edge knows reach the app as they are (and are covered by its signature).
    f.add("CallerName", "ALICE EXAMPLE");
    f.add("FromState", "CA");
    f.add("SipHeader_X-Customer-Ref", "42");
    for (const auto& id : identities) f.add("Identity", id);
    return f;
}

std::string basic_auth()
{
    return stirgate::test::basic_auth(account_sid, auth_token);
}

std::string api_get(const std::string& path)
{
    return "GET " + path + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " + basic_auth() +
           "\r\n\r\n";
}

std::string calls_path()
{
    return "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls.json";
}

std::size_t stored_calls(std::uint16_t port)
{
    const auto r = roundtrip(port, api_get(calls_path()));
    REQUIRE(r.status == 200);
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    REQUIRE((d.IsObject() && d.HasMember("calls") && d["calls"].IsArray()));
    return d["calls"].Size();
}

// ---- independent checks ----------------------------------------------------------------------

std::string run_python(const std::string& program, const std::vector<std::string>& args)
{
    std::vector<std::string> argv{"-c", program};
    argv.insert(argv.end(), args.begin(), args.end());
    auto proc = child_process::spawn("/usr/bin/python3", argv);
    const auto code = proc.wait(std::chrono::seconds(30));
    INFO(proc.stderr_text());
    REQUIRE(code == std::optional<int>(0));
    std::string out = proc.stdout_text();
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// Twilio's validateRequest for a form POST (spec/TWILIO-API.md section 8), written in Python
// from the description, sharing no code with the gateway: the URL, then each parameter name
// (sorted byte-wise) followed by its values (sorted), HMAC-SHA1 with the auth token, base64.
std::string twilio_python_signature(const std::string& token, const std::string& url,
                                    const std::string& raw_body)
{
    return run_python(
        "import sys, hmac, hashlib, base64, urllib.parse\n"
        "token, url, body = sys.argv[1:4]\n"
        "pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=False)\n"
        "s = url\n"
        "for name in sorted({k for k, _ in pairs}):\n"
        "    for value in sorted(v for k, v in pairs if k == name):\n"
        "        s += name + value\n"
        "mac = hmac.new(token.encode('utf-8'), s.encode('utf-8'), hashlib.sha1).digest()\n"
        "print(base64.b64encode(mac).decode('ascii'))\n",
        {token, url, raw_body});
}

std::string trim(const std::string& s, std::size_t keep = 48)
{
    return s.size() <= keep ? s : s.substr(0, keep) + "...(" + std::to_string(s.size()) + " chars)";
}

void check_signed_by_account(const stirgate::test::received_request& r, const std::string& url)
{
    INFO(r.body);
    const std::string sent = r.header("X-Twilio-Signature");
    REQUIRE_FALSE(sent.empty());
    CHECK(sent == twilio_python_signature(auth_token, url, r.body));
    CHECK(sent != twilio_python_signature("ffffffffffffffffffffffffffffffff", url, r.body));
}

}  // namespace

TEST_CASE("an inbound call with a good SHAKEN PASSporT reaches the app signed with a CallToken "
          "that forwards the call with a SHAKEN and DIV pair that verifies",
          "[e2e][integration][webhooks]")
{
    world w;
    auto gw = gateway_process::start(w.config_path());
    const std::string call_sid = "CA00000000000000000000000000000e2e";
    const std::string shaken = shaken_identity("14155550101", wall_now());

    // 1. The edge posts the incoming call; the app's TwiML comes back as the answer. Its retry
    // below uses the same edge connection, so the same gateway I/O thread (and idle pool).
    const auto form = incoming_form(call_sid, number, {shaken});
    const std::string edge_request = signed_edge_post(incoming_path, form);
    stirgate::test::http_connection edge_conn(gw.port(), std::chrono::seconds(10));
    REQUIRE(edge_conn.send(edge_request));
    const auto answer_read = edge_conn.read_reply();
    REQUIRE(answer_read);
    const auto answer = *answer_read;
    INFO(answer.body);
    REQUIRE(answer.status == 200);
    CHECK(answer.body == twiml);
    CHECK(answer.header("Content-Type") == twiml_type);

    // 2. What the application received.
    const auto hooks = w.app.requests("/voice");
    REQUIRE(hooks.size() == 1);
    const auto& hook = hooks[0];
    CHECK(hook.method == "POST");
    CHECK(hook.header("Content-Type") == "application/x-www-form-urlencoded");
    check_signed_by_account(hook, w.app.url("/voice"));
    auto fields = core::parse_form(hook.body);
    REQUIRE(fields);
    CHECK(fields->get("CallSid") == call_sid);
    CHECK(fields->get("AccountSid") == std::string(account_sid));
    CHECK(fields->get("ApiVersion") == std::string("2010-04-01"));
    CHECK(fields->get("Direction") == std::string("inbound"));
    CHECK(fields->get("CallStatus") == std::string("ringing"));
    CHECK(fields->get("From") == std::string(caller));
    CHECK(fields->get("To") == std::string(number));
    CHECK(fields->get("StirVerstat") == std::string("TN-Validation-Passed-A"));
    CHECK(fields->get("CallerName") == std::string("ALICE EXAMPLE"));
    CHECK(fields->get("FromState") == std::string("CA"));
    CHECK(fields->get("SipHeader_X-Customer-Ref") == std::string("42"));
    // The bare JWS, without the Identity header's parameters.
    auto parsed_shaken = core::parse_identity_header(shaken);
    REQUIRE(parsed_shaken);
    CHECK(fields->get("StirPassportToken") == parsed_shaken->token);
    const auto calltoken = fields->get("CallToken");
    REQUIRE(calltoken);
    REQUIRE_FALSE(calltoken->empty());

    // 3. The edge retries the same webhook: one stored call, the same CallToken.
    REQUIRE(edge_conn.send(edge_request));
    const auto again = edge_conn.read_reply();
    REQUIRE(again);
    REQUIRE(again->status == 200);
    REQUIRE(w.app.requests("/voice").size() == 2);
    auto fields_again = core::parse_form(w.app.requests("/voice")[1].body);
    REQUIRE(fields_again);
    CHECK(fields_again->get("CallToken") == calltoken);
    CHECK(stored_calls(gw.port()) == 1);
    // Both webhooks went over one kept-alive TLS connection.
    CHECK(w.app.connections() == 1);

    // 4. The application forwards the call with that CallToken through the Calls API.
    core::form_params forward;
    forward.add("To", forward_to);
    forward.add("From", caller);
    forward.add("Url", w.app.url("/forward"));
    forward.add("CallToken", *calltoken);
    const std::string forward_body = core::format_form(forward);
    const std::string forward_request =
        "POST " + calls_path() + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " + basic_auth() +
        "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
        std::to_string(forward_body.size()) + "\r\n\r\n" + forward_body;
    const auto created = roundtrip(gw.port(), forward_request);
    INFO(created.body);
    REQUIRE(created.status == 201);
    rapidjson::Document call;
    call.Parse(created.body.c_str(), created.body.size());
    REQUIRE((call.IsObject() && call.HasMember("sid") && call["sid"].IsString()));
    const std::string forwarded_sid = call["sid"].GetString();
    CHECK(std::string(call["parent_call_sid"].GetString()) == call_sid);

    // 5. The edge is dialled with the inbound SHAKEN PASSporT and a new DIV.
    REQUIRE(w.edge.wait_for(1, std::chrono::seconds(10)));
    const auto dial = w.edge.requests().front();
    auto dial_form = core::parse_form(dial.body);
    REQUIRE(dial_form);
    CHECK(dial_form->get("CallSid") == forwarded_sid);
    const auto identities = dial_form->all("Identity");
    REQUIRE(identities.size() == 2);
    CHECK(identities[0] == shaken);
    auto div_header = core::parse_identity_header(identities[1]);
    REQUIRE(div_header);
    auto div = core::decode_passport(div_header->token);
    REQUIRE(div);
    CHECK(div->header.ppt == core::passport_type::div);
    CHECK(div->claims.orig.value == "13105550100");
    CHECK(div->claims.dest.tn == std::vector<std::string>{"16505550102"});
    REQUIRE(div->claims.div);
    CHECK(div->claims.div->value == "14155550101");
    CHECK(pyjwt_verifies(parsed_shaken->token, vector_path("pki/orig-sp-1234.pub.pem")));
    CHECK(pyjwt_verifies(div_header->token, vector_path("pki/div-sp-5678.pub.pem")));
    // ...and the pair passes a full STI-VS (chain, TNAuthList, DIV chain) at the gateway's own
    // ATIS endpoint, as the next hop's verifier would run it.
    rapidjson::StringBuffer json;
    rapidjson::Writer<rapidjson::StringBuffer> wj(json);
    wj.StartObject();
    wj.Key("verificationRequest");
    wj.StartObject();
    wj.Key("from");
    wj.StartObject();
    wj.Key("tn");
    wj.String("13105550100");
    wj.EndObject();
    wj.Key("to");
    wj.StartObject();
    wj.Key("tn");
    wj.StartArray();
    wj.String("14155550101");
    wj.EndArray();
    wj.EndObject();
    wj.Key("time");
    wj.Int64(wall_now());
    wj.Key("identities");
    wj.StartArray();
    for (const auto& id : identities) wj.String(id.c_str());
    wj.EndArray();
    wj.Key("requestUri");
    wj.String("16505550102");
    wj.EndObject();
    wj.EndObject();
    const std::string verify_body = json.GetString();
    INFO(verify_body);
    const auto verdict = roundtrip(
        gw.port(), "POST /stir/v1/verification HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                     basic_auth() + "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(verify_body.size()) + "\r\n\r\n" + verify_body);
    INFO(verdict.body);
    CHECK(verdict.status == 200);
    CHECK(verdict.body.find("\"verstat\":\"TN-Validation-Passed\"") != std::string::npos);
    CHECK(gw.stop() == std::optional<int>(0));

    // The note of issue 5: one full exchange as the application saw it.
    if (const char* file = std::getenv("STIRGATE_E2E_TRANSCRIPT")) {
        std::ofstream out(file);
        out << "== 1. Webhook the application received ==\n"
            << hook.method << " " << hook.target << " HTTP/1.1  (at " << w.app.url("/voice")
            << ")\n";
        for (const auto& [n, v] : hook.headers) out << n << ": " << v << "\n";
        out << "\nform fields:\n";
        for (const auto& [n, v] : fields->entries()) out << "  " << n << " = " << trim(v) << "\n";
        out << "\nX-Twilio-Signature recomputed independently (Python, validateRequest rule): "
            << twilio_python_signature(auth_token, w.app.url("/voice"), hook.body) << "\n";
        out << "\n== 2. The application's answer, relayed to the edge ==\n"
            << "HTTP/1.1 " << answer.status << "\nContent-Type: " << answer.header("Content-Type")
            << "\n\n" << answer.body << "\n";
        out << "\n== 3. The application forwards with the CallToken ==\n"
            << "POST " << calls_path() << " HTTP/1.1\nAuthorization: Basic (AccountSid:AuthToken)\n"
            << "Content-Type: application/x-www-form-urlencoded\n\nform fields:\n";
        for (const auto& [n, v] : forward.entries()) out << "  " << n << " = " << trim(v) << "\n";
        out << "\nHTTP/1.1 " << created.status << "\n" << created.body << "\n";
        out << "\n== 4. What the SIP edge was dialled with ==\n"
            << dial.method << " " << dial.target << "\n";
        for (const auto& [n, v] : dial_form->entries()) out << "  " << n << " = " << trim(v, 72) << "\n";
        out << "\nDIV claims: orig " << div->claims.orig.value << ", dest "
            << div->claims.dest.tn.front() << ", div " << div->claims.div->value
            << "; PyJWT verifies SHAKEN and DIV; gateway STI-VS: " << trim(verdict.body, 200)
            << "\n";
    }
}

TEST_CASE("an edge request with a bad signature, or signed over spoofed X-Forwarded-* headers "
          "from an untrusted address, is refused and stores nothing",
          "[e2e][integration][webhooks]")
{
    world w;
    auto gw = gateway_process::start(w.config_path());
    const auto form = incoming_form("CA00000000000000000000000000000bad", number,
                                    {shaken_identity("14155550101", wall_now())});

    const auto forged = roundtrip(
        gw.port(), edge_post(incoming_path, form,
                           core::twilio_signature("not-the-edge-secret",
                                                  "http://gw.test/webhooks/incoming-call", form)));
    CHECK(forged.status == 403);
    const auto missing = roundtrip(gw.port(), edge_post(incoming_path, form, ""));
    CHECK(missing.status == 403);

    // Signed over the URL the spoofed headers describe: the gateway does not believe them.
    const std::string spoofed_headers =
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n";
    const auto spoofed = roundtrip(
        gw.port(),
        edge_post(incoming_path, form,
                  core::twilio_signature(edge_secret, "https://evil.example/webhooks/incoming-call",
                                         form),
                  spoofed_headers));
    CHECK(spoofed.status == 403);

    // A call-status report with a bad signature changes nothing either.
    core::form_params status;
    status.add("CallSid", "CA00000000000000000000000000000bad");
    status.add("CallStatus", "completed");
    CHECK(roundtrip(gw.port(), edge_post("/webhooks/call-status", status, "bm9wZQ==")).status == 403);

    CHECK(w.app.requests("/voice").empty());
    CHECK(stored_calls(gw.port()) == 0);

    // The same spoofed headers with a signature over the real URL: they were simply ignored.
    const auto honest = roundtrip(gw.port(), edge_post(incoming_path, form,
                                                    core::twilio_signature(
                                                        edge_secret,
                                                        "http://gw.test/webhooks/incoming-call",
                                                        form),
                                                    spoofed_headers));
    CHECK(honest.status == 200);
    CHECK(stored_calls(gw.port()) == 1);
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("when the app is down or slower than app_timeout the fallback URL answers",
          "[e2e][integration][webhooks]")
{
    world w;
    auto gw = gateway_process::start(w.config_path());

    // Down: nothing listens on the voice URL's port.
    const auto down = roundtrip(gw.port(), signed_edge_post(incoming_path,
                                                         incoming_form("CA000000000000000000000000000d0111",
                                                                       number_down, {})));
    CHECK(down.status == 200);
    CHECK(down.body == fallback_twiml);

    // Slow: the voice URL answers after app_timeout_ms; the fallback answers instead.
    const auto started = std::chrono::steady_clock::now();
    const auto slow = roundtrip(gw.port(), signed_edge_post(incoming_path,
                                                         incoming_form("CA000000000000000000000000000510e1",
                                                                       number_slow, {})));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(slow.status == 200);
    CHECK(slow.body == fallback_twiml);
    CHECK(took >= std::chrono::milliseconds(app_timeout_ms));
    CHECK(took < std::chrono::milliseconds(app_timeout_ms + 2500));  // not the app's 3 s
    CHECK(w.app.requests("/slow").size() == 1);

    // Both fallback requests are the same signed webhook, signed for the fallback URL.
    const auto fallbacks = w.app.requests("/fallback");
    REQUIRE(fallbacks.size() == 2);
    for (const auto& r : fallbacks) check_signed_by_account(r, w.app.url("/fallback"));
    auto f = core::parse_form(fallbacks[1].body);
    REQUIRE(f);
    CHECK(f->get("To") == std::string(number_slow));
    CHECK(f->get("CallToken"));
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("a diverted call gets a -Diverted verstat and a call without Identity no STIR fields",
          "[e2e][integration][webhooks]")
{
    world w;
    auto gw = gateway_process::start(w.config_path());
    const auto now = wall_now();

    // Dialled +16505550199 at another provider, which diverted it to our number with a DIV.
    auto diverted = incoming_form("CA00000000000000000000000000d1e1e1", number,
                                  {shaken_identity("16505550199", now),
                                   div_identity("16505550199", "14155550101", now)});
    diverted.add("ForwardedFrom", "+16505550199");
    REQUIRE(roundtrip(gw.port(), signed_edge_post(incoming_path, diverted)).status == 200);

    const auto plain = roundtrip(gw.port(), signed_edge_post(
                                             incoming_path,
                                             incoming_form("CA000000000000000000000000000000ff",
                                                           number, {})));
    REQUIRE(plain.status == 200);

    const auto hooks = w.app.requests("/voice");
    REQUIRE(hooks.size() == 2);
    auto with_div = core::parse_form(hooks[0].body);
    REQUIRE(with_div);
    CHECK(with_div->get("StirVerstat") == std::string("TN-Validation-Passed-A-Diverted"));
    CHECK(with_div->get("ForwardedFrom") == std::string("+16505550199"));
    CHECK(with_div->get("StirPassportToken"));
    auto without = core::parse_form(hooks[1].body);
    REQUIRE(without);
    CHECK_FALSE(without->get("StirVerstat"));
    CHECK_FALSE(without->get("StirPassportToken"));
    CHECK(without->get("CallToken"));  // an inbound call still gets one
    for (const auto& h : hooks) check_signed_by_account(h, w.app.url("/voice"));
    CHECK(gw.stop() == std::optional<int>(0));
}

// An inbound call `parent`, forwarded by the app with a StatusCallback to w.callback_url() for
// "ringing", and the edge's report that the forwarded call rings: the callback is now owed.
// Returns the forwarded call's sid.
std::string owe_status_callback(world& w, const gateway_process& gw, const std::string& parent)
{
    REQUIRE(roundtrip(gw.port(), signed_edge_post(incoming_path,
                                               incoming_form(parent, number,
                                                             {shaken_identity("14155550101",
                                                                              wall_now())})))
                .status == 200);
    auto hook = core::parse_form(w.app.requests("/voice").at(0).body);
    REQUIRE(hook);
    core::form_params forward;
    forward.add("To", forward_to);
    forward.add("From", caller);
    forward.add("Url", w.app.url("/forward"));
    forward.add("CallToken", hook->get("CallToken").value_or(""));
    forward.add("StatusCallback", w.callback_url());
    forward.add("StatusCallbackEvent", "ringing");
    const std::string body = core::format_form(forward);
    const auto created = roundtrip(
        gw.port(), "POST " + calls_path() + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                     basic_auth() +
                     "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
    INFO(created.body);
    REQUIRE(created.status == 201);
    rapidjson::Document call;
    call.Parse(created.body.c_str(), created.body.size());
    const std::string sid = call["sid"].GetString();

    // The edge reports ringing: the callback is owed.
    core::form_params ringing;
    ringing.add("CallSid", sid);
    ringing.add("CallStatus", "ringing");
    REQUIRE(roundtrip(gw.port(), signed_edge_post("/webhooks/call-status", ringing)).status == 200);
    return sid;
}

TEST_CASE("a StatusCallback owed while the app was down is delivered after a gateway restart, "
          "signed, with one idempotency token for every attempt",
          "[e2e][integration][webhooks]")
{
    world w;
    const std::string config = w.config_path();
    auto gw = gateway_process::start(config);

    // An inbound call, forwarded with a StatusCallback on a port where nothing listens yet.
    const std::string parent = "CA0000000000000000000000000000ca11";
    const std::string sid = owe_status_callback(w, gw, parent);
    const auto stopped = gw.stop();
    INFO("stdout: " << gw.stdout_text() << "\nstderr: " << gw.stderr_text());
    CHECK(stopped == std::optional<int>(0));

    // Restarted on the same data; the app comes up and fails once before it acknowledges.
    auto restarted = gateway_process::start(config);
    app_server callbacks(w.ca.issue_server("app.example.test"), w.callback_port);
    callbacks.route("/status", app_route{204, "text/plain", "", {}, 1});
    REQUIRE(callbacks.wait_for("/status", 2, std::chrono::seconds(15)));
    const auto received = callbacks.requests("/status");
    const std::string token = received[0].header("I-Twilio-Idempotency-Token");
    CHECK_FALSE(token.empty());
    for (const auto& r : received) {
        CHECK(r.header("I-Twilio-Idempotency-Token") == token);
        check_signed_by_account(r, w.callback_url());
        auto f = core::parse_form(r.body);
        REQUIRE(f);
        CHECK(f->get("CallSid") == sid);
        CHECK(f->get("CallStatus") == std::string("ringing"));
        CHECK(f->get("StirStatus") == std::string("A"));  // the inbound call's attestation
        CHECK(f->get("ParentCallSid") == parent);
    }
    CHECK(restarted.stop() == std::optional<int>(0));
}

TEST_CASE("SIGTERM does not wait out a StatusCallback to an app that never answers: the gateway "
          "exits after the outbox's stop bound and delivers the callback after the restart",
          "[e2e][integration][webhooks]")
{
    world w;
    // 60 s, the largest app_timeout_ms: waiting it out would take the exit far past the outbox's
    // 10 s stop bound (the limit this test checks).
    const std::string config = w.config_path(60000);
    // The app's port accepts connections (the kernel's backlog) and never answers, so the
    // delivery stays in flight until the gateway gives it up.
    const int hole = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(hole >= 0);
    const int on = 1;
    ::setsockopt(hole, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(w.callback_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(hole, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(hole, 16) == 0);

    auto gw = gateway_process::start(config);
    const std::string sid =
        owe_status_callback(w, gw, "CA0000000000000000000000000000ca12");
    pollfd connected{hole, POLLIN, 0};
    REQUIRE(::poll(&connected, 1, 15000) == 1);  // the delivery has connected and waits

    const auto signalled = std::chrono::steady_clock::now();
    CHECK(gw.stop() == std::optional<int>(0));
    const auto exit_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - signalled)
                            .count();
    INFO(gw.stdout_text());
    // drain_timeout 3 s + stop bound 10 s, with room for a loaded sanitizer build.
    CHECK(exit_s < 35);
    CHECK(gw.stdout_text().find("exiting with outbound deliveries in flight") !=
          std::string::npos);
    ::close(hole);

    // The item stayed queued: the restarted gateway delivers it once the app answers.
    auto restarted = gateway_process::start(config);
    app_server callbacks(w.ca.issue_server("app.example.test"), w.callback_port);
    callbacks.route("/status", app_route{204, "text/plain", "", {}, 0});
    REQUIRE(callbacks.wait_for("/status", 1, std::chrono::seconds(15)));
    auto f = core::parse_form(callbacks.requests("/status").at(0).body);
    REQUIRE(f);
    CHECK(f->get("CallSid") == sid);
    CHECK(f->get("CallStatus") == std::string("ringing"));
    CHECK(restarted.stop() == std::optional<int>(0));
}

TEST_CASE("a forwarding app written with twilio-python runs unchanged against stirgate: forward "
          "into a conference with the CallToken, mute and kick the participant, redirect and "
          "end the inbound call, the token refused after, paging, delete",
          "[e2e][integration][webhooks][twilio-python]")
{
    world w;
    auto gw = gateway_process::start(w.config_path());
    const std::string call_sid = "CA00000000000000000000000000000a99";
    const std::string shaken = shaken_identity("14155550101", wall_now());

    // The edge brings the call in and reports it answered; the app's webhook has the CallToken.
    const auto answer =
        roundtrip(gw.port(), signed_edge_post(incoming_path, incoming_form(call_sid, number, {shaken})));
    REQUIRE(answer.status == 200);
    const auto hooks = w.app.requests("/voice");
    REQUIRE(hooks.size() == 1);
    const auto hook = core::parse_form(hooks[0].body);
    REQUIRE(hook);
    const auto calltoken = hook->get("CallToken");
    REQUIRE(calltoken);
    core::form_params answered;
    answered.add("CallSid", call_sid);
    answered.add("CallStatus", "in-progress");
    REQUIRE(roundtrip(gw.port(), signed_edge_post("/webhooks/call-status", answered)).status == 200);

    // The application, with Twilio's library and only the base URL changed.
    const std::string app_script =
        std::string(STIRGATE_SOURCE_DIR) + "/tests/integration/apps/twilio_forwarding_app.py";
    const std::string out =
        run_python("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
                   "run_name='__main__')",
                   {app_script, "http://127.0.0.1:" + std::to_string(gw.port()), account_sid,
                    auth_token, call_sid, *calltoken, caller, forward_to, w.app.url("/forward")});
    INFO(out);
    rapidjson::Document d;
    d.Parse(out.c_str(), out.size());
    REQUIRE(d.IsObject());
    const std::string leg_sid = d["leg"]["sid"].GetString();
    CHECK(std::string(d["leg"]["parent_call_sid"].GetString()) == call_sid);
    CHECK(std::string(d["leg"]["status"].GetString()) == "queued");
    const std::string conference_sid = d["leg"]["conference_sid"].GetString();
    CHECK(conference_sid.rfind("CF", 0) == 0);
    CHECK(std::string(d["leg"]["label"].GetString()) == "agent");
    CHECK(std::string(d["leg"]["participant_status"].GetString()) == "queued");
    CHECK(std::string(d["conference"]["friendly_name"].GetString()) == "Support-Room");
    CHECK(std::string(d["conference"]["status"].GetString()) == "init");
    REQUIRE(d["participants"].Size() == 1);
    CHECK(std::string(d["participants"][0].GetString()) == leg_sid);
    CHECK(std::string(d["by_label"].GetString()) == leg_sid);
    CHECK(d["muted"].GetBool());
    CHECK(d["kicked"].GetBool());
    CHECK(d["after_kick"].Size() == 0);
    CHECK(std::string(d["redirected"].GetString()) == "in-progress");
    CHECK(std::string(d["ended"]["status"].GetString()) == "completed");
    // The forward of a call that has ended is refused with the code apps fall back on.
    REQUIRE(d["again"].IsObject());
    CHECK(d["again"]["status"].GetInt() == 400);
    CHECK(d["again"]["code"].GetInt() == 21210);
    CHECK(std::string(d["again"]["message"].GetString()).find("is completed") != std::string::npos);
    REQUIRE(d["redirect_ended"].IsObject());
    CHECK(d["redirect_ended"]["code"].GetInt() == 21220);
    // Newest first, one per page, every call once.
    REQUIRE(d["listed"].IsArray());
    REQUIRE(d["listed"].Size() == 2);
    CHECK(std::string(d["listed"][0].GetString()) == leg_sid);
    CHECK(std::string(d["listed"][1].GetString()) == call_sid);
    CHECK(d["pages"][0].Size() == 1);
    CHECK(d["pages"][1].Size() == 1);
    // previous_page_uri leads back to the first page.
    REQUIRE(d["back"].Size() == 1);
    CHECK(std::string(d["back"][0].GetString()) == leg_sid);
    CHECK(d["deleted"].GetBool());
    REQUIRE(d["fetch_deleted"].IsObject());
    CHECK(d["fetch_deleted"]["code"].GetInt() == 20404);

    // The edge got the leg (SHAKEN + a DIV that verifies independently), then one signed
    // control message per action on the inbound call.
    REQUIRE(w.edge.wait_for(5, std::chrono::seconds(10)));
    std::vector<core::form_params> controls;
    std::vector<std::string> participant_actions;
    bool dialled = false;
    for (const auto& r : w.edge.requests()) {
        auto form = core::parse_form(r.body);
        REQUIRE(form);
        const std::string url = "http://127.0.0.1:" + std::to_string(w.edge.port()) + r.target;
        CHECK(r.header("X-Twilio-Signature") == core::twilio_signature(edge_secret, url, *form));
        if (r.target == "/dial") {
            CHECK(form->get("CallSid") == leg_sid);
            const auto identities = form->all("Identity");
            REQUIRE(identities.size() == 2);
            CHECK(identities[0] == shaken);
            auto div = core::parse_identity_header(identities[1]);
            REQUIRE(div);
            CHECK(pyjwt_verifies(div->token, vector_path("pki/div-sp-5678.pub.pem")));
            CHECK(form->get("Conference") == std::string("Support-Room"));
            CHECK(form->get("ConferenceSid") == conference_sid);
            dialled = true;
        } else if (form->get("CallSid") == leg_sid) {
            // The participant's mute and kick, about the conference it is in.
            CHECK(r.target == "/control");
            CHECK(form->get("ConferenceSid") == conference_sid);
            participant_actions.push_back(form->get("Action").value_or(""));
        } else {
            CHECK(r.target == "/control");
            CHECK(form->get("CallSid") == call_sid);
            CHECK(form->get("AccountSid") == std::string(account_sid));
            controls.push_back(*form);
        }
    }
    CHECK(dialled);
    REQUIRE(controls.size() == 2);
    std::vector<std::string> actions;
    for (const auto& c : controls) {
        const std::string action = c.get("Action").value_or("");
        actions.push_back(action);
        if (action == "redirect")
            CHECK(c.get("Twiml") == std::string("<Response><Say>Moved</Say></Response>"));
        else
            CHECK(c.get("CallStatus") == std::string("completed"));
    }
    std::sort(actions.begin(), actions.end());
    CHECK(actions == std::vector<std::string>{"hangup", "redirect"});
    std::sort(participant_actions.begin(), participant_actions.end());
    CHECK(participant_actions == std::vector<std::string>{"kick", "participant"});
}

