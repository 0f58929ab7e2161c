#pragma once
// The Calls API handler tests' fixture (calls_test.cpp, conferences_test.cpp): the routes of
// add_calls_routes over a memory_store, two accounts, the vectors' signing key and CallToken
// key, a counting random source, and helpers to send requests and read what was queued.

#include "net/net.hpp"

#include <catch2/catch.hpp>

#include <map>

#include <rapidjson/document.h>

#include "api/calls.hpp"
#include "core/calltoken.hpp"
#include "core/form.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/verifier.hpp"
#include "store/memory_store.hpp"
#include "support/fixtures.hpp"
#include "support/handler_test.hpp"
#include "support/test_tls.hpp"
#include "support/vectors.hpp"

// Internal linkage: each test file that includes this has its own copy.
namespace {

namespace http = boost::beast::http;
using namespace stirgate;

using test::account_sid;
using test::account_token;
constexpr const char* other_sid = "ACfedcba9876543210fedcba9876543210";
constexpr const char* other_token = "fedcba9876543210fedcba9876543210";
constexpr const char* origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
constexpr const char* parent_sid = "CAfedcba9876543210fedcba9876543210";
constexpr const char* dial_url = "http://127.0.0.1:5070/dial";
constexpr const char* control_url = "http://127.0.0.1:5070/control";
const std::string x5u = "https://certs.example.test/sti/div-sp-5678.pem";
const std::string calls_path = std::string("/2010-04-01/Accounts/") + account_sid + "/Calls.json";

inline std::vector<core::account_config> accounts()
{
    core::account_config a;
    a.sid = account_sid;
    a.auth_token = account_token;
    a.origid = origid;
    a.numbers.push_back({"+14155550101", 'A', {}, {}, {}});
    a.numbers.push_back({"+14155550102", 'B', {}, {}, {}});
    a.verified_caller_ids = {"+13105550199"};
    core::account_config b;
    b.sid = other_sid;
    b.auth_token = other_token;
    b.origid = "0b9e3f6a-1111-4222-8333-444455556666";
    b.verified_caller_ids = {"+14155550101"};
    return {a, b};
}

inline std::string basic(std::string_view sid, std::string_view token)
{
    return "Basic " + core::base64_encode(std::string(sid) + ":" + std::string(token));
}

inline std::vector<std::string> g1_identities()
{
    const auto doc = test::load_vector_json("cases/G1_shaken_A.json");
    std::vector<std::string> out;
    for (const auto& v : doc["identity_headers"].GetArray()) out.emplace_back(v.GetString());
    return out;
}

using reply = test::routed_reply;

struct fixture {
    store::memory_store db;
    core::account_directory directory{accounts()};
    net::router routes;
    std::int64_t now = test::vectors_verify_at;
    std::uint8_t counter = 0;
    int queued = 0;  // on_queued calls: the outbox worker is woken once per stored hand-off
    std::string edge_url = dial_url;

    explicit fixture(std::string edge = dial_url,
                     net::http_client_policy url_policy = rest::default_customer_url_policy())
        : edge_url(std::move(edge))
    {
        api::calls_dependencies deps{
            directory,
            db,
            sti::signing_identity{test::vector_private_key("pki/div-sp-5678.key.pem"), x5u},
            {test::vector_public_key("pki/platform-calltoken.pub.pem")},
            3600,
            edge_url,
            [this] { return now; },
            [this](std::span<std::uint8_t> out) {
                ++counter;
                for (auto& b : out) b = counter;
            },
            [this] { ++queued; },
            std::move(url_policy)};
        deps.edge_control_url = control_url;
        api::add_calls_routes(routes, deps);
    }

    reply send(http::verb method, const std::string& target, const std::string& body = {},
               std::optional<std::string> auth = basic(account_sid, account_token),
               std::optional<std::string> content_type = "application/x-www-form-urlencoded")
    {
        net::request_context ctx;
        ctx.request = net::http_request{method, target, 11};
        if (auth) ctx.request.set(http::field::authorization, *auth);
        if (content_type && method == http::verb::post)
            ctx.request.set(http::field::content_type, *content_type);
        ctx.request.body() = body;
        ctx.request.prepare_payload();
        return test::parse_reply(test::dispatch(routes, ctx));
    }

    reply create(const core::form_params& form,
                 std::optional<std::string> auth = basic(account_sid, account_token))
    {
        return send(http::verb::post, calls_path, core::format_form(form), std::move(auth));
    }

    std::size_t calls_stored()
    {
        auto page = db.list_calls(account_sid, {}, store::max_page_size, "");
        REQUIRE(page);
        return page->calls.size();
    }

    std::size_t outbox_depth()
    {
        auto d = db.depth();
        REQUIRE(d);
        return *d;
    }
};

inline core::form_params simple_call(std::string from = "+14155550101")
{
    core::form_params f;
    f.add("To", "+16505550102");
    f.add("From", std::move(from));
    f.add("Url", "https://app.example.test/twiml");
    return f;
}

inline std::string mint(const core::es256_private_key& key, std::vector<std::string> identities,
                 std::int64_t iat, std::string account = account_sid)
{
    core::calltoken_mint_params p;
    p.call_sid = parent_sid;
    p.from = "+13105550100";
    p.to = "+14155550101";
    p.account_sid = std::move(account);
    auto v = core::mint_calltoken(p, identities, key, iat);
    REQUIRE(v);
    return *v;
}

inline core::form_params forward(std::string token, std::string from = "+13105550100")
{
    core::form_params f;
    f.add("To", "+16505550102");
    f.add("From", std::move(from));
    f.add("Url", "https://app.example.test/twiml/forward");
    f.add("CallToken", std::move(token));
    return f;
}

inline void check_twilio_error(const reply& r, unsigned status, int code)
{
    INFO(r.body);
    CHECK(r.status == status);
    REQUIRE(r.json.IsObject());
    CHECK(r.json.MemberCount() == 4);
    REQUIRE(r.json.HasMember("code"));
    REQUIRE(r.json["code"].IsInt());
    CHECK(r.json["code"].GetInt() == code);
    REQUIRE(r.json.HasMember("message"));
    CHECK(r.json["message"].IsString());
    REQUIRE(r.json.HasMember("more_info"));
    REQUIRE(r.json["more_info"].IsString());
    CHECK(std::string(r.json["more_info"].GetString()) ==
          "https://www.twilio.com/docs/errors/" + std::to_string(code));
    REQUIRE(r.json.HasMember("status"));
    REQUIRE(r.json["status"].IsInt());
    CHECK(r.json["status"].GetInt() == static_cast<int>(status));
}

inline std::string str(const rapidjson::Value& obj, const char* name)
{
    REQUIRE(obj.HasMember(name));
    REQUIRE(obj[name].IsString());
    return obj[name].GetString();
}

inline core::passport decoded(const std::string& identity)
{
    auto h = core::parse_identity_header(identity);
    REQUIRE(h);
    auto p = core::decode_passport(h->token);
    REQUIRE(p);
    return *p;
}

inline std::vector<std::string> params_named(const store::outbox_item& item, std::string_view name)
{
    std::vector<std::string> out;
    for (const auto& [k, v] : item.params)
        if (k == name) out.push_back(v);
    return out;
}

// What a verifier downstream of the new leg concludes, given both signers' certificates as
// validated: the outbound set must verify as one chain ending at the new To.
inline core::verification_outcome verify_outbound(const std::vector<std::string>& identities,
                                           std::int64_t now)
{
    core::certificate_map certs;
    constexpr std::int64_t y2045 = 2366841600;
    certs.insert_or_assign(
        "https://certs.example.test/sti/orig-sp-1234.pem",
        core::verified_cert{test::vector_public_key("pki/orig-sp-1234.cert.pem"), "1234", y2045});
    certs.insert_or_assign(
        x5u, core::verified_cert{test::vector_public_key("pki/div-sp-5678.cert.pem"), "5678", y2045});
    const core::call_context call{"13105550100", "16505550102", "16505550102", std::nullopt};
    return core::verify_call(identities, call, now, core::verify_policy{}, certs);
}

inline store::outbox_item only_outbox_item(fixture& f)
{
    auto items = f.db.due_items(f.now * 1000 + 1, 10);
    REQUIRE(items);
    REQUIRE(items->size() == 1);
    return items->front();
}

}  // namespace
