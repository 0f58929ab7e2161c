#include "core/error_table.hpp"

#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

using namespace stirgate;

namespace {

rapidjson::Document parse(const std::string& text)
{
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

}  // namespace

TEST_CASE("every errc has a row with a name, an error status and a known SIP code",
          "[core][error_table]")
{
    const std::set<int> sip_codes{0, 403, 436, 437, 438};
    std::set<std::string> names;
    for (int i = 1; i < errc_count; ++i) {
        const auto e = static_cast<errc>(i);
        const error_row& row = error_info(e);
        INFO("errc " << i << " " << errc_name(e));
        CHECK(row.code == e);
        const std::string name = errc_name(e);
        CHECK_FALSE(name.empty());
        CHECK(name != "unknown");
        CHECK(names.insert(name).second);  // names are unique
        CHECK(make_error_code(e).message() == name);
        CHECK(row.http_status >= 400);
        CHECK(row.http_status <= 599);
        CHECK(row.twilio_code >= 20000);
        CHECK(row.message != nullptr);
        CHECK(std::string(row.message).size() > 0);
        REQUIRE(row.atis_message_id != nullptr);
        const std::string id = row.atis_message_id;
        CHECK((id.starts_with("SVC") || id.starts_with("POL")));
        CHECK(id.size() == 7);
        CHECK(sip_codes.count(row.sip_code) == 1);
        if (row.sip_code != 0) CHECK_FALSE(sip_reason_phrase(row.sip_code).empty());
    }
}

TEST_CASE("every errc renders Twilio's four-field error body", "[core][error_table]")
{
    for (int i = 1; i < errc_count; ++i) {
        const auto e = static_cast<errc>(i);
        INFO(errc_name(e));
        const error_row& row = error_info(e);
        const auto doc = parse(render_twilio_error(error{e, "secret detail"}));
        REQUIRE(doc.IsObject());
        CHECK(doc.MemberCount() == 4);
        REQUIRE(doc.HasMember("code"));
        REQUIRE(doc["code"].IsInt());
        CHECK(doc["code"].GetInt() == row.twilio_code);
        REQUIRE(doc.HasMember("message"));
        REQUIRE(doc["message"].IsString());
        CHECK(std::string(doc["message"].GetString()) == row.message);
        REQUIRE(doc.HasMember("more_info"));
        REQUIRE(doc["more_info"].IsString());
        CHECK(std::string(doc["more_info"].GetString()) ==
              "https://www.twilio.com/docs/errors/" + std::to_string(row.twilio_code));
        REQUIRE(doc.HasMember("status"));
        REQUIRE(doc["status"].IsInt());
        CHECK(doc["status"].GetInt() == row.http_status);
    }
}

TEST_CASE("every errc renders an ATIS-1000082 error body", "[core][error_table]")
{
    for (int i = 1; i < errc_count; ++i) {
        const auto e = static_cast<errc>(i);
        INFO(errc_name(e));
        const error_row& row = error_info(e);
        const std::string id = row.atis_message_id;
        const auto doc = parse(render_atis_error(error{e, "secret detail"}, "orig"));
        REQUIRE(doc.IsObject());
        REQUIRE(doc.HasMember("requestError"));
        const auto& re = doc["requestError"];
        REQUIRE(re.IsObject());
        CHECK(re.MemberCount() == 1);
        const char* kind = id.starts_with("POL") ? "policyException" : "serviceException";
        REQUIRE(re.HasMember(kind));
        const auto& ex = re[kind];
        REQUIRE(ex.IsObject());
        REQUIRE(ex.HasMember("messageId"));
        REQUIRE(ex["messageId"].IsString());
        CHECK(ex["messageId"].GetString() == id);
        REQUIRE(ex.HasMember("text"));
        REQUIRE(ex["text"].IsString());
        CHECK(std::string(ex["text"].GetString()) == row.message);
        REQUIRE(ex.HasMember("variables"));
        REQUIRE(ex["variables"].IsArray());
        REQUIRE(ex["variables"].Size() == 1);
        CHECK(std::string(ex["variables"][0].GetString()) == "orig");
    }
}

TEST_CASE("error bodies never carry the detail", "[core][error_table]")
{
    const error e{errc::calltoken_bad_signature, "eyJhbGciOiJFUzI1NiJ9.secret"};
    CHECK(render_twilio_error(e).find("secret") == std::string::npos);
    CHECK(render_atis_error(e).find("secret") == std::string::npos);
    CHECK(render_plain_error(e).find("secret") == std::string::npos);
    const auto plain = parse(render_plain_error(e));
    CHECK(std::string(plain["error"].GetString()) == "calltoken_bad_signature");
}

TEST_CASE("Twilio's documented codes for the Calls API and CallToken errors",
          "[core][error_table]")
{
    // Every refused CallToken is 21210, whatever the defect (DESIGN.md "Twilio API details").
    for (const auto e : {errc::calltoken_malformed, errc::calltoken_bad_signature,
                         errc::calltoken_missing_claim, errc::calltoken_expired,
                         errc::calltoken_account_mismatch, errc::calltoken_hash_mismatch,
                         errc::calltoken_call_mismatch, errc::calltoken_from_mismatch}) {
        CHECK(error_info(e).twilio_code == 21210);
        CHECK(error_info(e).http_status == 400);
    }
    CHECK(error_info(errc::not_found).twilio_code == 20404);
    CHECK(error_info(errc::unauthorized).http_status == 401);
    CHECK(error_info(errc::unauthorized).twilio_code == 20003);
    // a custom message replaces the fixed text (20404 names the path)
    const auto doc = parse(render_twilio_error(error{errc::not_found}, "The requested resource "
                                                                        "/x was not found"));
    CHECK(std::string(doc["message"].GetString()) == "The requested resource /x was not found");
}

TEST_CASE("out-of-range values map to the internal row", "[core][error_table]")
{
    CHECK(error_info(static_cast<errc>(0)).code == errc::internal);
    CHECK(error_info(static_cast<errc>(errc_count)).code == errc::internal);
    CHECK(sip_reason_phrase(438) == "Invalid Identity Header");
    CHECK(sip_reason_phrase(200).empty());
}
