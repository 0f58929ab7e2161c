// POST /webhooks/incoming-call through the router: edge signature over the rebuilt public URL,
// STI-VS of the Identity fields with the vectors' chains, CallToken minting (idempotent per
// CallSid) and validation, the stored inbound call, and delivery to the application with
// fallback. The application and the x5u host are scripted http_client doubles.

#include "net/net.hpp"

#include <catch2/catch.hpp>

#include <map>

#include <rapidjson/document.h>

#include "core/calltoken.hpp"
#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "sti/cert_cache.hpp"
#include "sti/trust_store.hpp"
#include "store/memory_store.hpp"
#include "support/fixtures.hpp"
#include "support/handler_test.hpp"
#include "support/test_tls.hpp"
#include "support/vectors.hpp"
#include "webhooks/incoming_call.hpp"

namespace {

namespace asio = boost::asio;
using namespace stirgate;

using test::account_sid;
using test::account_token;
constexpr const char* edge_token = "edge-secret-token";
constexpr const char* call_sid = "CA00112233445566778899aabbccddeeff";
constexpr const char* voice_url = "https://app.example.test/voice";
constexpr const char* fallback_url = "https://app.example.test/fallback";
constexpr const char* target = "/webhooks/incoming-call";
constexpr const char* twiml = "<Response><Say>hi</Say></Response>";

// Serves canned replies by URL and records every request.
class scripted_client final : public net::http_client {
public:
    std::map<std::string, result<net::http_reply>> replies;
    std::vector<net::http_request_spec> seen;

    asio::awaitable<result<net::http_reply>> request(net::http_request_spec spec) override
    {
        seen.push_back(spec);
        const auto it = replies.find(spec.url);
        if (it == replies.end()) co_return net::http_reply{404, {}, "not found"};
        co_return it->second;
    }
};

std::vector<std::string> identities_of(const char* file)
{
    const auto doc = test::load_vector_json(file);
    std::vector<std::string> out;
    for (const auto& v : doc["identity_headers"].GetArray()) out.emplace_back(v.GetString());
    return out;
}

core::es256_private_key calltoken_key()
{
    return test::vector_private_key("pki/platform-calltoken.key.pem");
}

struct fixture {
    store::memory_store db;
    scripted_client x5u_host;
    scripted_client app;
    sti::trust_store trust = sti::trust_store::load(
        test::vector_path("pki/root-ca.cert.pem"),
        {test::vector_path("pki/intermediate-ca.crl.pem"), test::vector_path("pki/root-ca.crl.pem")});
    std::int64_t now = test::vectors_verify_at;
    sti::cert_cache certificates{x5u_host, trust, [this] { return now; }, sti::cert_cache_policy{}};
    sti::call_verifier verifier{certificates, core::verify_policy{}, [this] { return now; }};
    core::account_ptr account;
    core::es256_private_key key = calltoken_key();
    net::router routes;
    std::string last_call_sid;  // ctx.call_sid of the last request (logged by the server)

    explicit fixture(std::vector<net::cidr_block> trusted = {}, std::string status_callback = {})
    {
        const auto map = test::load_vector_json("pki/x5u_map.json");
        for (const auto& m : map.GetObject()) {
            const std::string url = m.name.GetString();
            if (url.rfind("https://", 0) != 0) continue;
            x5u_host.replies[url] =
                net::http_reply{200, {}, test::read_vector(m.value.GetString())};
        }
        app.replies[voice_url] =
            net::http_reply{200, {{"Content-Type", "application/xml"}}, twiml};

        auto a = std::make_shared<core::account_config>();
        a->sid = account_sid;
        a->auth_token = account_token;
        a->numbers.push_back({"+14155550101", 'A', voice_url, fallback_url, status_callback});
        a->numbers.push_back({"+16505550102", 'A', voice_url, fallback_url, {}});
        account = a;

        webhooks::incoming_call_dependencies deps{
            [this](std::string_view e164) -> core::account_ptr {
                for (const auto& n : account->numbers)
                    if (n.number == e164) return account;
                return nullptr;
            },
            db,
            verifier,
            app,
            edge_token,
            "",
            std::move(trusted),
            key,
            {key.public_key()},
            [this] { return now; },
            [](std::span<std::uint8_t> out) {
                for (auto& b : out) b = 0x42;
            }};
        webhooks::add_incoming_call_routes(routes, deps);
    }

    net::http_response post(const core::form_params& form, std::optional<std::string> signature,
                            std::string_view host = "gw.example.test",
                            const std::string& peer = "203.0.113.9",
                            std::vector<std::pair<std::string, std::string>> headers = {})
    {
        auto ctx = test::form_post(target, host, form, signature, peer, headers);
        auto res = test::dispatch(routes, ctx);
        last_call_sid = ctx.call_sid;
        return res;
    }

    // Signed as the edge signs: over http://Host + target.
    net::http_response send(const core::form_params& form)
    {
        return post(form, core::twilio_signature(edge_token,
                                                 std::string("http://gw.example.test") + target,
                                                 form));
    }

    std::size_t calls_stored()
    {
        auto page = db.list_calls(account_sid, {}, 100, "");
        REQUIRE(page);
        return page->calls.size();
    }

    core::form_params delivered(std::size_t i = 0)
    {
        REQUIRE(app.seen.size() > i);
        auto f = core::parse_form(app.seen[i].body);
        REQUIRE(f);
        return *f;
    }
};

core::form_params edge_form(const std::vector<std::string>& identities,
                            std::string to = "+14155550101")
{
    core::form_params f;
    f.add("CallSid", call_sid);
    f.add("From", "+13105550100");
    f.add("To", std::move(to));
    f.add("CallStatus", "ringing");
    f.add("Direction", "inbound");
    for (const auto& v : identities) f.add("Identity", v);
    f.add("SipDate", "Thu, 01 Jan 2026 00:00:00 GMT");
    return f;
}

std::optional<std::string> header_of(const net::http_request_spec& spec, std::string_view name)
{
    for (const auto& [n, v] : spec.headers)
        if (n == name) return v;
    return std::nullopt;
}

}  // namespace

TEST_CASE("A good SHAKEN call reaches the application verified, signed and with a CallToken",
          "[webhooks][incoming]")
{
    fixture f;
    const auto identities = identities_of("cases/G1_shaken_A.json");
    const auto res = f.send(edge_form(identities));
    REQUIRE(res.result_int() == 200);
    CHECK(res.body() == twiml);
    CHECK(res[boost::beast::http::field::content_type] == "application/xml");

    REQUIRE(f.app.seen.size() == 1);
    const auto& spec = f.app.seen[0];
    CHECK(spec.url == voice_url);
    const auto form = f.delivered();
    CHECK(form.get("StirVerstat") == "TN-Validation-Passed-A");
    CHECK(form.get("AccountSid") == account_sid);
    CHECK(form.get("Direction") == "inbound");
    CHECK(form.get("ApiVersion") == "2010-04-01");
    CHECK(form.get("Caller") == "+13105550100");
    CHECK(form.get("Called") == "+14155550101");
    const auto passport = form.get("StirPassportToken");
    REQUIRE(passport);
    CHECK(identities[0].rfind(*passport, 0) == 0);

    const auto signature = header_of(spec, "X-Twilio-Signature");
    REQUIRE(signature);
    CHECK(core::check_twilio_signature(account_token, voice_url, form, *signature));

    const auto value = form.get("CallToken");
    REQUIRE(value);
    auto token = core::decode_calltoken(*value);
    REQUIRE(token);
    CHECK(token->identity_header_tokens == identities);
    std::vector<core::es256_public_key> trusted{f.key.public_key()};
    CHECK(core::validate_calltoken(*token, trusted, account_sid, "+13105550100", f.now, 3600));

    auto stored = f.db.find_call(call_sid);
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->direction == store::call_direction::inbound);
    CHECK((*stored)->status == store::call_status::ringing);
    CHECK((*stored)->identity_headers == identities);
    CHECK((*stored)->stir_verstat == "TN-Validation-Passed-A");
    CHECK((*stored)->attestation == core::attestation::A);
}

TEST_CASE("A bad or missing edge signature is refused and nothing is stored",
          "[webhooks][incoming]")
{
    fixture f;
    const auto form = edge_form(identities_of("cases/G1_shaken_A.json"));
    CHECK(f.post(form, core::twilio_signature("wrong", std::string("http://gw.example.test") +
                                                           target, form))
              .result_int() == 403);
    const auto missing = f.post(form, std::nullopt);
    CHECK(missing.result_int() == 403);
    rapidjson::Document body;
    body.Parse(missing.body().c_str());
    REQUIRE(body.IsObject());
    CHECK(body["code"].GetInt() == 20003);
    CHECK(f.calls_stored() == 0);
    CHECK(f.app.seen.empty());
}

TEST_CASE("X-Forwarded headers count only when the peer is a trusted proxy",
          "[webhooks][incoming]")
{
    const auto form = edge_form(identities_of("cases/G1_shaken_A.json"));
    const std::string public_url = std::string("https://gw.example.com") + target;
    const auto sig = core::twilio_signature(edge_token, public_url, form);
    const std::vector<std::pair<std::string, std::string>> fwd{
        {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "gw.example.com"}};

    fixture untrusted({*net::parse_cidr("10.0.0.0/8")});
    CHECK(untrusted.post(form, sig, "10.0.0.5:8080", "203.0.113.9", fwd).result_int() == 403);
    CHECK(untrusted.calls_stored() == 0);

    fixture trusted({*net::parse_cidr("10.0.0.0/8")});
    CHECK(trusted.post(form, sig, "10.0.0.5:8080", "10.1.2.3", fwd).result_int() == 200);
}

TEST_CASE("A diverted call gets the Diverted verstat", "[webhooks][incoming]")
{
    fixture f;
    const auto res = f.send(edge_form(identities_of("cases/G4_shaken_plus_div.json"),
                                      "+16505550102"));
    REQUIRE(res.result_int() == 200);
    CHECK(f.delivered().get("StirVerstat") == "TN-Validation-Passed-A-Diverted");
}

TEST_CASE("A call without Identity carries no STIR fields", "[webhooks][incoming]")
{
    fixture f;
    const auto res = f.send(edge_form({}));
    REQUIRE(res.result_int() == 200);
    const auto form = f.delivered();
    CHECK_FALSE(form.contains("StirVerstat"));
    CHECK_FALSE(form.contains("StirPassportToken"));
    CHECK(form.contains("CallToken"));
}

TEST_CASE("An application that is down is replaced by its fallback URL, then 502",
          "[webhooks][incoming]")
{
    fixture f;
    f.app.replies[voice_url] = error{errc::upstream_unreachable, "down"};
    f.app.replies[fallback_url] =
        net::http_reply{200, {{"Content-Type", "text/xml"}}, "<Response/>"};
    const auto res = f.send(edge_form({}));
    REQUIRE(res.result_int() == 200);
    CHECK(res.body() == "<Response/>");
    REQUIRE(f.app.seen.size() == 2);
    CHECK(f.app.seen[1].url == fallback_url);

    fixture g;
    g.app.replies[voice_url] = net::http_reply{500, {}, "oops"};
    g.app.replies[fallback_url] = error{errc::upstream_timeout, "slow"};
    CHECK(g.send(edge_form({})).result_int() == 502);
    CHECK(g.calls_stored() == 1);
}

TEST_CASE("A retried webhook stores one call and yields the same CallToken",
          "[webhooks][incoming]")
{
    fixture f;
    const auto form = edge_form(identities_of("cases/G1_shaken_A.json"));
    REQUIRE(f.send(form).result_int() == 200);
    f.now += 3;
    REQUIRE(f.send(form).result_int() == 200);
    CHECK(f.calls_stored() == 1);
    CHECK(f.delivered(0).get("CallToken") == f.delivered(1).get("CallToken"));
}

TEST_CASE("An upstream CallToken is validated against this call instead of minting",
          "[webhooks][incoming]")
{
    fixture f;
    core::calltoken_mint_params p{call_sid, "+13105550100", "+14155550101", account_sid, {}};
    auto token = core::mint_calltoken(p, {}, f.key, f.now);
    REQUIRE(token);
    auto form = edge_form({});
    form.add("StirVerstat", "TN-Validation-Passed-B");
    form.add("CallToken", *token);
    REQUIRE(f.send(form).result_int() == 200);
    CHECK(f.delivered().get("CallToken") == *token);
    CHECK(f.delivered().get("StirVerstat") == "TN-Validation-Passed-B");

    fixture g;
    auto other = edge_form({}, "+16505550102");
    other.add("StirVerstat", "TN-Validation-Passed-B");
    other.add("CallToken", *token);  // describes a call to another number
    CHECK(g.send(other).result_int() == 400);
    CHECK(g.calls_stored() == 0);
}

TEST_CASE("Unknown numbers and missing parameters are refused", "[webhooks][incoming]")
{
    fixture f;
    CHECK(f.send(edge_form({}, "+12125550100")).result_int() == 404);
    core::form_params no_from;
    no_from.add("To", "+14155550101");
    CHECK(f.send(no_from).result_int() == 400);
    CHECK(f.calls_stored() == 0);
}

TEST_CASE("parse_sip_date reads RFC 1123 dates", "[webhooks][incoming]")
{
    CHECK(webhooks::parse_sip_date("Thu, 01 Jan 2026 00:00:00 GMT").value() == 1767225600);
    CHECK(webhooks::parse_sip_date("Sat, 29 Feb 2020 12:34:56 GMT").value() == 1582979696);
    CHECK_FALSE(webhooks::parse_sip_date("Thu, 01 Jan 2026 00:00:00 UTC"));
    CHECK_FALSE(webhooks::parse_sip_date("yesterday"));
}

TEST_CASE("The inbound call keeps the number's StatusCallback and the request names its CallSid",
          "[webhooks][incoming]")
{
    fixture f({}, "https://app.example.test/status");
    REQUIRE(f.send(edge_form({})).result_int() == 200);
    CHECK(f.last_call_sid == call_sid);
    auto page = f.db.list_calls(account_sid, {}, 100, "");
    REQUIRE(page);
    REQUIRE(page->calls.size() == 1);
    CHECK(page->calls[0].status_callback == "https://app.example.test/status");
    CHECK(page->calls[0].status_callback_method == "POST");
}
