// Runs every PASSporT case of tests/vectors/manifest.json through the whole STI-VS: SIP header
// canonicalisation (core/tn), certificate validation (sti/trust_store, x5u served from
// pki/x5u_map.json, no network) and verify_call, at the vectors' fixed clock (TEST-VECTORS.md
// sections 2-4).

#include "core/verifier.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error_table.hpp"
#include "core/tn.hpp"
#include "core/verstat.hpp"
#include "sti/trust_store.hpp"
#include "support/vectors.hpp"

namespace {

using namespace stirgate;
using stirgate::test::load_vector_json;
using stirgate::test::read_vector;

std::string str(const rapidjson::Value& obj, const char* name)
{
    const auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || !it->value.IsString()) return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

// RFC 7231 section 7.1.1.1 IMF-fixdate, as in the vectors' SIP Date headers
// ("Thu, 01 Jan 2026 00:00:00 GMT"). Test-only: the vectors use nothing else.
std::optional<std::int64_t> parse_imf_fixdate(std::string_view s)
{
    static constexpr std::array<std::string_view, 12> months{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (s.size() != 29 || s.substr(25) != " GMT") return std::nullopt;
    auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    unsigned month = 0;
    for (unsigned i = 0; i < 12; ++i) {
        if (s.substr(8, 3) == months[i]) month = i + 1;
    }
    if (month == 0) return std::nullopt;
    using namespace std::chrono;
    const year_month_day ymd{year{num(12, 4)}, std::chrono::month{month},
                             day{static_cast<unsigned>(num(5, 2))}};
    return std::int64_t{sys_days{ymd}.time_since_epoch().count()} * 86400 + num(17, 2) * 3600 +
           num(20, 2) * 60 + num(23, 2);
}

std::string canonical_or_empty(result<std::string> tn) { return tn ? *tn : std::string{}; }

}  // namespace

TEST_CASE("the IMF-fixdate helper reads the vectors' Date headers", "[core][vectors]")
{
    CHECK(parse_imf_fixdate("Thu, 01 Jan 2026 00:00:00 GMT") == 1767225600);
    CHECK(parse_imf_fixdate("Wed, 31 Dec 2025 23:58:05 GMT") == 1767225485);
    CHECK_FALSE(parse_imf_fixdate("yesterday").has_value());
}

TEST_CASE("every PASSporT vector case gives its labelled outcome", "[core][vectors]")
{
    const auto manifest = load_vector_json("manifest.json");
    const auto x5u_map = load_vector_json("pki/x5u_map.json");
    const std::int64_t verify_at = manifest["verify_at"].GetInt64();
    REQUIRE(verify_at == test::vectors_verify_at);

    // TEST-VECTORS.md section 2: the root is the only anchor; both CRLs are configured.
    auto store = sti::trust_store::from_memory(
        read_vector("pki/root-ca.cert.pem"),
        {read_vector("pki/intermediate-ca.crl.pem"), read_vector("pki/root-ca.crl.pem")});
    REQUIRE(store.has_value());

    const auto& cases = manifest["cases"];
    REQUIRE(cases.Size() >= 25);
    for (const auto& entry : cases.GetArray()) {
        const std::string id = str(entry, "id");
        DYNAMIC_SECTION(id)
        {
            const auto doc = load_vector_json(str(entry, "file"));
            const auto& sip = doc["sip"];
            const auto& expect = entry["expect"];

            // Caller: P-Asserted-Identity when present, else From (RFC 8224 section 12.1).
            const std::string pai = str(sip, "p_asserted_identity");
            core::call_context call;
            call.caller_tn = canonical_or_empty(
                core::tn_from_name_addr(pai.empty() ? str(sip, "from") : pai));
            call.to_tn = canonical_or_empty(core::tn_from_name_addr(str(sip, "to")));
            call.request_uri_tn = canonical_or_empty(core::canonicalize_tn(str(sip, "request_uri")));
            call.sip_date = parse_imf_fixdate(str(sip, "date"));
            REQUIRE(call.sip_date.has_value());

            // The extraction agrees with the case's own canonical values.
            const auto& canonical = sip["canonical"];
            CHECK(call.caller_tn == str(canonical, "orig_tn"));
            CHECK(call.to_tn == str(canonical, "to_tn"));
            CHECK(call.request_uri_tn == str(canonical, "request_uri_tn"));

            std::vector<std::string> identities;
            for (const auto& v : doc["identity_headers"].GetArray()) {
                identities.emplace_back(v.GetString(), v.GetStringLength());
            }

            // The "certificate repository": x5u_map.json, a URL absent from it is an HTTP 404.
            core::certificate_map certificates;
            for (const auto& url : core::required_x5u(identities)) {
                const std::string file = str(x5u_map, url.c_str());
                if (file.empty()) {
                    certificates.emplace(url, error{errc::x5u_fetch_failed, "HTTP 404"});
                } else {
                    certificates.emplace(url, store->verify_chain(read_vector(file), verify_at));
                }
            }

            const auto outcome =
                core::verify_call(identities, call, verify_at, core::verify_policy{}, certificates);
            CAPTURE(outcome.code == errc{} ? "none" : errc_name(outcome.code), outcome.reason);
            std::string per_identity;
            for (const auto& r : outcome.identities) {
                per_identity += r.ppt + (r.ignored ? " ignored " : " ") +
                                (r.code == errc{} ? "ok" : errc_name(r.code)) + " (" + r.detail + "); ";
            }
            CAPTURE(per_identity);

            const bool expect_valid = expect["valid"].GetBool();
            const std::string atis = str(expect, "atis_verstat");
            if (id.rfind("C1_", 0) == 0) {
                // RFC 8224 baseline compact form: the signature verifies over the claims rebuilt
                // from the SIP request, but SHAKEN does not count it (No-TN-Validation).
                REQUIRE(outcome.identities.size() == 1);
                CHECK(outcome.identities[0].ignored);
                CHECK((outcome.identities[0].code == errc{}) == expect_valid);
                CHECK_FALSE(outcome.valid);
                CHECK(atis.rfind(std::string(core::to_string(outcome.verstat)), 0) == 0);
                CHECK(outcome.verstat == core::sip_verstat::no_tn_validation);
                CHECK(outcome.sip_code == 0);
                CHECK(to_string(outcome.twilio) == "No-TN-Validation");
                continue;
            }

            CHECK(outcome.valid == expect_valid);
            const int expect_sip = expect["sip_code"].IsInt() ? expect["sip_code"].GetInt() : 0;
            CHECK(outcome.sip_code == expect_sip);
            if (expect_sip != 0) CHECK(outcome.reason == str(expect, "reason"));
            CHECK(core::to_string(outcome.verstat) == atis);
            if (expect.HasMember("atis_verstat_div")) {
                REQUIRE(outcome.div_verstat.has_value());
                CHECK(core::to_string(*outcome.div_verstat) == str(expect, "atis_verstat_div"));
            } else {
                CHECK_FALSE(outcome.div_verstat.has_value());
            }
            CHECK(core::to_string(outcome.twilio) == str(expect, "twilio_stirverstat"));

            // Valid calls hand on the SHAKEN PASSporT exactly as received (StirPassportToken).
            if (expect_valid) {
                const auto& first = doc["passports"][0];
                CHECK(outcome.shaken_passport == str(first, "jws"));
                REQUIRE(outcome.attest.has_value());
                CHECK(core::to_string(*outcome.attest) == str(first["decoded"]["payload"], "attest"));
                // The SPC of each signer's TNAuthList is in the outcome (orig-sp-1234 signs
                // SHAKEN, div-sp-5678 the DIV).
                CHECK(outcome.identities[0].spc == "1234");
                if (outcome.identities.size() > 1) CHECK(outcome.identities[1].spc == "5678");
            }
        }
    }
}
