// Twilio's OutgoingCallerIds list and fetch, read from the accounts' verified caller IDs.

#include "api/outgoing_caller_ids.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "core/base64url.hpp"
#include "support/fixtures.hpp"
#include "support/handler_test.hpp"

namespace {

namespace http = boost::beast::http;
using namespace stirgate;
using test::account_sid;
using test::account_token;

constexpr const char* other_sid = "ACfedcba9876543210fedcba9876543210";
constexpr const char* other_token = "fedcba9876543210fedcba9876543210";
const std::string base = std::string("/2010-04-01/Accounts/") + account_sid + "/OutgoingCallerIds";

std::vector<core::account_config> accounts()
{
    core::account_config a;
    a.sid = account_sid;
    a.auth_token = account_token;
    a.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    a.verified_caller_ids = {"+13105550199", "+12125550123", "+442071838750"};
    core::account_config b;
    b.sid = other_sid;
    b.auth_token = other_token;
    b.origid = "0b9e3f6a-1111-4222-8333-444455556666";
    b.verified_caller_ids = {"+15105550100"};
    return {a, b};
}

struct fixture {
    core::account_directory directory{accounts()};
    net::router routes;

    fixture() { api::add_outgoing_caller_id_routes(routes, {directory, nullptr}); }

    test::routed_reply get(const std::string& target, const std::string& sid = account_sid,
                           const std::string& token = account_token)
    {
        net::request_context ctx;
        ctx.request = net::http_request{http::verb::get, target, 11};
        ctx.request.set(http::field::authorization,
                        "Basic " + core::base64_encode(sid + ":" + token));
        return test::parse_reply(test::dispatch(routes, ctx));
    }
};

std::vector<std::string> numbers_of(const test::routed_reply& r)
{
    std::vector<std::string> out;
    for (const auto& c : r.json["outgoing_caller_ids"].GetArray())
        out.emplace_back(c["phone_number"].GetString());
    return out;
}

}  // namespace

TEST_CASE("an account's verified caller IDs are listed and fetched in Twilio's shape",
          "[api][caller-ids]")
{
    fixture f;
    const auto all = f.get(base + ".json");
    INFO(all.body);
    REQUIRE(all.status == 200);
    CHECK(numbers_of(all) ==
          std::vector<std::string>{"+12125550123", "+13105550199", "+442071838750"});
    const auto& first = all.json["outgoing_caller_ids"][0];
    const std::string sid = first["sid"].GetString();
    CHECK(sid == api::outgoing_caller_id_sid(account_sid, "+12125550123"));
    CHECK(sid.size() == 34);
    CHECK(sid.rfind("PN", 0) == 0);
    CHECK(std::string(first["account_sid"].GetString()) == account_sid);
    CHECK(std::string(first["friendly_name"].GetString()) == "(212) 555-0123");
    CHECK(first["date_created"].IsNull());
    CHECK(std::string(first["uri"].GetString()) == base + "/" + sid + ".json");
    CHECK(std::string(all.json["uri"].GetString()) == base + ".json?PageSize=50&Page=0");
    CHECK(all.json["next_page_uri"].IsNull());

    const auto one = f.get(base + "/" + sid + ".json");
    REQUIRE(one.status == 200);
    CHECK(one.body == [&] {
        // The fetched object is the listed one.
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        first.Accept(w);
        return std::string(buf.GetString());
    }());

    // Filters, and another account's caller ID is unknown here.
    CHECK(numbers_of(f.get(base + ".json?PhoneNumber=%2B13105550199")) ==
          std::vector<std::string>{"+13105550199"});
    CHECK(numbers_of(f.get(base + ".json?FriendlyName=%28212%29%20555-0123")) ==
          std::vector<std::string>{"+12125550123"});
    const std::string foreign = api::outgoing_caller_id_sid(other_sid, "+15105550100");
    CHECK(f.get(base + "/" + foreign + ".json").status == 404);
    CHECK(f.get(base + "/PN00000000000000000000000000000000.json").status == 404);
    CHECK(f.get(base + ".json", other_sid, other_token).status == 403);
    CHECK(f.get(base + ".json", account_sid, "wrong").status == 401);
}

TEST_CASE("caller IDs page by PageSize with next and previous page URIs", "[api][caller-ids]")
{
    fixture f;
    std::vector<std::string> seen;
    std::string target = base + ".json?PageSize=2";
    std::string last;
    for (int guard = 0; guard < 5; ++guard) {
        const auto r = f.get(target);
        INFO(r.body);
        REQUIRE(r.status == 200);
        for (auto& n : numbers_of(r)) seen.push_back(n);
        last = target;
        if (r.json["next_page_uri"].IsNull()) break;
        target = r.json["next_page_uri"].GetString();
    }
    CHECK(seen == std::vector<std::string>{"+12125550123", "+13105550199", "+442071838750"});
    const auto page1 = f.get(last);
    REQUIRE(page1.json["previous_page_uri"].IsString());
    const auto back = f.get(page1.json["previous_page_uri"].GetString());
    CHECK(numbers_of(back) == std::vector<std::string>{"+12125550123", "+13105550199"});
    // A page number needs its token, and a token its page.
    CHECK(f.get(base + ".json?PageSize=2&Page=1").status == 400);
    CHECK(f.get(base + ".json?PageSize=2&Page=1&PageToken=PA2").status == 400);
    CHECK(f.get(base + ".json?PageSize=0").status == 400);
}
