// The Twilio Calls API against the real `stirgate serve` on loopback, with a recording edge
// receiver: forwarding with a CallToken (SHAKEN + DIV to the edge, each verified by PyJWT), the
// refusals that must leave nothing stored or dialled, and the durable hand-off when the edge is
// down, also across a gateway restart.

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/twilio_signature.hpp"
#include "support/edge_receiver.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace core = stirgate::core;
using stirgate::test::basic_auth;
using stirgate::test::g1_identity;
using stirgate::test::gateway_process;
using stirgate::test::pyjwt_verifies;
using stirgate::test::vector_path;
using stirgate::test::wall_now;

namespace {

using stirgate::test::account_sid;
constexpr const char* auth_token = stirgate::test::account_token;
constexpr const char* other_account_sid = "ACfedcba9876543210fedcba9876543210";
using stirgate::test::edge_secret;
constexpr const char* parent_sid = "CAfedcba9876543210fedcba9876543210";

std::string config_text(std::uint16_t edge_port)
{
    return stirgate::test::forwarding_config(edge_port, "sqlite://calls.db") +
           "[[accounts.numbers]]\nnumber = \"+14155550101\"\nattest = \"A\"\n" +
           "voice_url = \"https://app.example.test/voice\"\n" +
           "[[accounts]]\nsid = \"" + other_account_sid +
           "\"\nauth_token = \"ffffffffffffffffffffffffffffffff\"\n" +
           "origid = \"5c2d4e8a-9f10-4b3f-8b1e-2a7d1c0e9b55\"\n";
}

struct reply {
    int status = 0;
    rapidjson::Document json;
    std::string body;
};

reply send(std::uint16_t port, const std::string& raw)
{
    const auto r = stirgate::test::http_exchange(port, raw);
    REQUIRE(r);
    reply out;
    out.status = r->status;
    out.body = r->body;
    out.json.Parse(r->body.c_str(), r->body.size());
    return out;
}

reply create_call(std::uint16_t port, const core::form_params& form)
{
    const std::string body = core::format_form(form);
    return send(port, "POST /2010-04-01/Accounts/" + std::string(account_sid) +
                          "/Calls.json HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                          basic_auth(account_sid, auth_token) +
                          "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body);
}

reply get(std::uint16_t port, const std::string& path)
{
    return send(port, "GET " + path + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                          basic_auth(account_sid, auth_token) + "\r\n\r\n");
}

std::string mint(const std::vector<std::string>& identities, std::int64_t iat,
                 const std::string& account = account_sid,
                 const char* signer = "platform-calltoken.key.pem")
{
    return stirgate::test::mint_calltoken(parent_sid, account, identities, iat, signer);
}

core::form_params forward_form(const std::string& token, const std::string& from = "+13105550100")
{
    core::form_params f;
    f.add("To", "+16505550102");
    f.add("From", from);
    f.add("Url", "https://app.example.test/twiml/forward");
    f.add("CallToken", token);
    return f;
}

std::vector<std::string> all(const core::form_params& f, const char* name) { return f.all(name); }

}  // namespace

TEST_CASE("a forward with a good CallToken dials the edge with SHAKEN then a verifiable DIV",
          "[integration][calls]")
{
    stirgate::test::temp_dir dir;
    stirgate::test::edge_receiver edge;
    auto gw = gateway_process::start(dir.write("stirgate.toml", config_text(edge.port())));

    const auto created = create_call(gw.port(), forward_form(mint({g1_identity()}, wall_now())));
    INFO(created.body);
    REQUIRE(created.status == 201);
    const std::string sid = created.json["sid"].GetString();
    CHECK(std::string(created.json["parent_call_sid"].GetString()) == parent_sid);
    CHECK(std::string(created.json["status"].GetString()) == "queued");
    CHECK(std::string(created.json["from"].GetString()) == "+13105550100");

    REQUIRE(edge.wait_for(1, std::chrono::seconds(10)));
    const auto dial = edge.requests().front();
    CHECK(dial.method == "POST");
    CHECK(dial.target == "/dial");
    auto form = core::parse_form(dial.body);
    REQUIRE(form);
    CHECK(form->get("CallSid") == sid);
    CHECK(form->get("AccountSid") == std::string(account_sid));
    CHECK(form->get("ParentCallSid") == std::string(parent_sid));
    CHECK(form->get("From") == std::string("+13105550100"));
    CHECK(form->get("To") == std::string("+16505550102"));
    // Signed for the edge with the edge token over the dial URL.
    CHECK(core::check_twilio_signature(edge_secret,
                                       "http://127.0.0.1:" + std::to_string(edge.port()) + "/dial",
                                       *form, dial.header("X-Twilio-Signature")));

    const auto identities = all(*form, "Identity");
    REQUIRE(identities.size() == 2);
    CHECK(identities[0] == g1_identity());  // the inbound SHAKEN PASSporT, unchanged
    auto div_header = core::parse_identity_header(identities[1]);
    REQUIRE(div_header);
    CHECK(div_header->info == "https://certs.example.test/sti/div-sp-5678.pem");
    auto div = core::decode_passport(div_header->token);
    REQUIRE(div);
    CHECK(div->header.ppt == core::passport_type::div);
    CHECK(div->claims.orig.value == "13105550100");
    CHECK(div->claims.dest.tn == std::vector<std::string>{"16505550102"});
    REQUIRE(div->claims.div.has_value());
    CHECK(div->claims.div->value == "14155550101");
    CHECK(std::abs(div->claims.iat - wall_now()) < 60);  // signed now (DESIGN.md)

    // Every Identity value verifies with an independent verifier and its signer's key.
    auto shaken_header = core::parse_identity_header(identities[0]);
    REQUIRE(shaken_header);
    CHECK(pyjwt_verifies(shaken_header->token, vector_path("pki/orig-sp-1234.pub.pem")));
    CHECK(pyjwt_verifies(div_header->token, vector_path("pki/div-sp-5678.pub.pem")));
    CHECK_FALSE(pyjwt_verifies(div_header->token, vector_path("pki/orig-sp-1234.pub.pem")));

    // The stored call is there to fetch.
    const auto fetched =
        get(gw.port(), "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls/" + sid + ".json");
    CHECK(fetched.status == 200);
    CHECK(std::string(fetched.json["sid"].GetString()) == sid);
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("bad CallTokens are refused with Twilio codes and nothing is stored or dialled",
          "[integration][calls]")
{
    stirgate::test::temp_dir dir;
    stirgate::test::edge_receiver edge;
    auto gw = gateway_process::start(dir.write("stirgate.toml", config_text(edge.port())));
    const std::int64_t now = wall_now();

    // identityHeaderTokens edited after minting: the bound hash no longer matches.
    const std::string good = mint({g1_identity()}, now);
    auto json = core::decode_uri_component(good);
    REQUIRE(json);
    std::string edited = *json;
    const auto at = edited.find("ppt=shaken");
    REQUIRE(at != std::string::npos);
    edited.replace(at, 10, "ppt=shaken;x=1");
    const std::string tampered = core::encode_uri_component(edited);

    struct row {
        const char* name;
        core::form_params form;
        int status;
        int code;
    };
    const std::vector<row> rows = {
        {"From differs from the token's caller", forward_form(good, "+13105550199"), 400, 21210},
        {"tampered identityHeaderTokens", forward_form(tampered), 400, 21210},
        {"stale token", forward_form(mint({g1_identity()}, now - 7200)), 400, 21210},
        {"another account's token", forward_form(mint({g1_identity()}, now, other_account_sid)),
         400, 21210},
        {"untrusted signing key",
         forward_form(mint({g1_identity()}, now, account_sid, "orig-sp-1234.key.pem")), 400, 21210},
        {"garbage token", forward_form("%7Bnot-json"), 400, 21210},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        const auto res = create_call(gw.port(), r.form);
        CHECK(res.status == r.status);
        REQUIRE(res.json.IsObject());
        CHECK(res.json["code"].GetInt() == r.code);
        CHECK(res.json["status"].GetInt() == r.status);
        CHECK(res.json.HasMember("more_info"));
    }
    const auto list = get(gw.port(), "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls.json");
    REQUIRE(list.status == 200);
    CHECK(list.json["calls"].Size() == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // longer than the outbox poll
    CHECK(edge.requests().empty());
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("a leg queued while the edge is down is delivered once it is up, also after a restart",
          "[integration][calls]")
{
    stirgate::test::temp_dir dir;
    const std::uint16_t edge_port = stirgate::test::reserve_port();  // nobody listens yet
    const auto config = dir.write("stirgate.toml", config_text(edge_port));
    core::form_params originate;
    originate.add("To", "+16505550102");
    originate.add("From", "+14155550101");
    originate.add("Url", "https://app.example.test/twiml");

    auto gw = gateway_process::start(config);
    const auto first = create_call(gw.port(), originate);
    REQUIRE(first.status == 201);
    const std::string first_sid = first.json["sid"].GetString();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a failed attempt or two
    {
        stirgate::test::edge_receiver edge(edge_port);
        REQUIRE(edge.wait_for(1, std::chrono::seconds(20)));
        auto form = core::parse_form(edge.requests().front().body);
        REQUIRE(form);
        CHECK(form->get("CallSid") == first_sid);
    }

    // The edge goes down again; a second leg is queued; the gateway restarts; the edge returns.
    const auto second = create_call(gw.port(), originate);
    REQUIRE(second.status == 201);
    const std::string second_sid = second.json["sid"].GetString();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK(gw.stop() == std::optional<int>(0));

    stirgate::test::edge_receiver edge(edge_port);
    auto restarted = gateway_process::start(config);
    REQUIRE(edge.wait_for(1, std::chrono::seconds(20)));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const auto received = edge.requests();
    REQUIRE(received.size() == 1);  // delivered once, and the first leg not again
    auto form = core::parse_form(received.front().body);
    REQUIRE(form);
    CHECK(form->get("CallSid") == second_sid);
    // The call itself survived the restart too.
    CHECK(get(restarted.port(), "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls/" +
                                  second_sid + ".json")
              .status == 200);
    CHECK(restarted.stop() == std::optional<int>(0));
}

TEST_CASE("the real gateway signs C plus a DIV for a token without SHAKEN and A or B without a "
          "token; it pages lists and refuses bad credentials",
          "[integration][calls]")
{
    stirgate::test::temp_dir dir;
    stirgate::test::edge_receiver edge;
    auto gw = gateway_process::start(dir.write("stirgate.toml", config_text(edge.port())));

    const auto shaken_of = [](const std::string& identity) {
        auto h = core::parse_identity_header(identity);
        REQUIRE(h);
        auto p = core::decode_passport(h->token);
        REQUIRE(p);
        return *p;
    };
    const auto dialled_identities = [&edge](std::size_t n) {
        REQUIRE(edge.wait_for(n, std::chrono::seconds(10)));
        auto form = core::parse_form(edge.requests()[n - 1].body);
        REQUIRE(form);
        return form->all("Identity");
    };

    // A CallToken whose call had no Identity header: SHAKEN C by the gateway, then the DIV.
    REQUIRE(create_call(gw.port(), forward_form(mint({}, wall_now()))).status == 201);
    auto ids = dialled_identities(1);
    REQUIRE(ids.size() == 2);
    const auto c = shaken_of(ids[0]);
    CHECK(c.header.ppt == core::passport_type::shaken);
    CHECK(c.claims.attest == core::attestation::C);
    CHECK(c.claims.dest.tn == std::vector<std::string>{"14155550101"});  // the parent's To
    CHECK(c.claims.origid == "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55");
    CHECK(shaken_of(ids[1]).header.ppt == core::passport_type::div);

    // Originated: the inventory number gets its A; a verified caller ID gets B.
    core::form_params own;
    own.add("To", "+16505550102");
    own.add("From", "+14155550101");
    own.add("Url", "https://app.example.test/twiml");
    REQUIRE(create_call(gw.port(), own).status == 201);
    ids = dialled_identities(2);
    REQUIRE(ids.size() == 1);
    CHECK(shaken_of(ids[0]).claims.attest == core::attestation::A);
    core::form_params other;
    other.add("To", "+16505550102");
    other.add("From", "+12125550123");
    other.add("Url", "https://app.example.test/twiml");
    REQUIRE(create_call(gw.port(), other).status == 201);
    ids = dialled_identities(3);
    REQUIRE(ids.size() == 1);
    CHECK(shaken_of(ids[0]).claims.attest == core::attestation::B);

    // Two more calls, then page through all five two at a time by following next_page_uri.
    REQUIRE(create_call(gw.port(), own).status == 201);
    REQUIRE(create_call(gw.port(), other).status == 201);
    std::set<std::string> seen;
    std::string next = "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls.json?PageSize=2";
    int pages = 0;
    while (!next.empty() && pages < 10) {
        const auto page = get(gw.port(), next);
        REQUIRE(page.status == 200);
        for (const auto& call : page.json["calls"].GetArray()) seen.insert(call["sid"].GetString());
        next = page.json["next_page_uri"].IsNull() ? "" : page.json["next_page_uri"].GetString();
        ++pages;
    }
    CHECK(pages == 3);
    CHECK(seen.size() == 5);

    // Credentials: none, wrong token, and another account's path.
    const std::string path = "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls.json";
    const auto none = send(gw.port(), "GET " + path + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    CHECK(none.status == 401);
    CHECK(none.json["code"].GetInt() == 20003);
    const auto wrong = send(gw.port(), "GET " + path + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                                         basic_auth(account_sid, "not-the-token") + "\r\n\r\n");
    CHECK(wrong.status == 401);
    const auto foreign = get(gw.port(), "/2010-04-01/Accounts/" + std::string(other_account_sid) +
                                          "/Calls.json");
    CHECK(foreign.status == 403);
    CHECK(foreign.json["code"].GetInt() == 20003);
    const auto unknown = get(gw.port(), "/2010-04-01/Accounts/" + std::string(account_sid) +
                                          "/Calls/CA00000000000000000000000000000000.json");
    CHECK(unknown.status == 404);
    CHECK(unknown.json["code"].GetInt() == 20404);
    CHECK(gw.stop() == std::optional<int>(0));
}
