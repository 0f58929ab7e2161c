#include "core/verstat.hpp"

#include <catch2/catch.hpp>

#include "support/vectors.hpp"

using namespace stirgate;
using namespace stirgate::core;

TEST_CASE("attestation letters parse case-sensitively", "[core][verstat]")
{
    CHECK(*parse_attestation("A") == attestation::A);
    CHECK(*parse_attestation("B") == attestation::B);
    CHECK(*parse_attestation("C") == attestation::C);
    for (const auto a : {attestation::A, attestation::B, attestation::C})
        CHECK(*parse_attestation(to_string(a)) == a);
    const auto* bad = GENERATE(as<const char*>{}, "", "a", "D", "AB", " A");
    CHECK(parse_attestation(bad).code() == errc::invalid_parameter);
}

TEST_CASE("SIP verstat has the three 3GPP values and tolerates suffixes", "[core][verstat]")
{
    CHECK(to_string(sip_verstat::tn_validation_passed) == "TN-Validation-Passed");
    CHECK(to_string(sip_verstat::tn_validation_failed) == "TN-Validation-Failed");
    CHECK(to_string(sip_verstat::no_tn_validation) == "No-TN-Validation");
    for (const auto v : {sip_verstat::tn_validation_passed, sip_verstat::tn_validation_failed,
                         sip_verstat::no_tn_validation})
        CHECK(*parse_sip_verstat(to_string(v)) == v);
    CHECK(*parse_sip_verstat("tn-validation-passed") == sip_verstat::tn_validation_passed);
    CHECK(*parse_sip_verstat("TN-Validation-Passed-A") == sip_verstat::tn_validation_passed);
    CHECK(*parse_sip_verstat("TN-Validation-Failed-Diverted") ==
          sip_verstat::tn_validation_failed);
    const auto* bad = GENERATE(as<const char*>{}, "", "TN-Validation", "TN-Validation-PassedA",
                               "Passed", "NULL");
    CHECK(parse_sip_verstat(bad).code() == errc::invalid_parameter);
}

TEST_CASE("every StirVerstat value of Twilio's table round-trips", "[core][verstat]")
{
    const char* value = GENERATE(
        "TN-Validation-Passed-A", "TN-Validation-Passed-B", "TN-Validation-Passed-C",
        "TN-Validation-Failed-A", "TN-Validation-Failed-B", "TN-Validation-Failed-C",
        "TN-Validation-Failed", "No-TN-Validation", "NULL",
        "TN-Validation-Passed-A-Diverted", "TN-Validation-Passed-B-Diverted",
        "TN-Validation-Passed-C-Diverted", "TN-Validation-Failed-A-Diverted",
        "TN-Validation-Failed-B-Diverted", "TN-Validation-Failed-C-Diverted",
        "TN-Validation-Passed-A-Passthrough", "TN-Validation-Passed-B-Passthrough",
        "TN-Validation-Passed-C-Passthrough", "TN-Validation-Failed-A-Passthrough",
        "TN-Validation-Failed-B-Passthrough", "TN-Validation-Failed-C-Passthrough",
        "TN-Validation-Failed-Diverted");
    INFO(value);
    const auto v = parse_stir_verstat(value);
    REQUIRE(v);
    CHECK(to_string(*v) == value);
}

TEST_CASE("StirVerstat parsing yields the outcome, attestation and suffix flags", "[core][verstat]")
{
    auto v = *parse_stir_verstat("TN-Validation-Passed-B-Diverted");
    CHECK(v == stir_verstat{twilio_outcome::passed, attestation::B, true, false});
    v = *parse_stir_verstat("TN-Validation-Failed-C-Passthrough");
    CHECK(v == stir_verstat{twilio_outcome::failed, attestation::C, false, true});
    v = *parse_stir_verstat("TN-Validation-Failed");
    CHECK(v == stir_verstat{twilio_outcome::failed, std::nullopt, false, false});
    CHECK(parse_stir_verstat("No-TN-Validation")->outcome == twilio_outcome::not_validated);
    CHECK(parse_stir_verstat("NULL")->outcome == twilio_outcome::undetermined);
}

TEST_CASE("values outside Twilio's table are refused", "[core][verstat]")
{
    const auto* bad = GENERATE(as<const char*>{}, "", "null", "tn-validation-passed-a",
                               "TN-Validation-Passed", "TN-Validation-Passed-D",
                               "TN-Validation-Passed-A-", "TN-Validation-Passed-AB",
                               "TN-Validation-Passed-A-Diverted-Passthrough",
                               "TN-Validation-Passed-Diverted", "No-TN-Validation-A",
                               "TN-Validation-Failed-A-Forwarded", "TN-Validation-Passed-A ");
    INFO(bad);
    CHECK(parse_stir_verstat(bad).code() == errc::invalid_parameter);
}

TEST_CASE("the gateway's outcomes render as Twilio values", "[core][verstat]")
{
    CHECK(to_string(stir_verstat{twilio_outcome::passed, attestation::A, false, false}) ==
          "TN-Validation-Passed-A");
    CHECK(to_string(stir_verstat{twilio_outcome::failed, attestation::B, true, false}) ==
          "TN-Validation-Failed-B-Diverted");
    CHECK(to_string(stir_verstat{twilio_outcome::failed, std::nullopt, true, false}) ==
          "TN-Validation-Failed-Diverted");
    // not_validated ignores whatever else is set
    CHECK(to_string(stir_verstat{twilio_outcome::not_validated, attestation::A, true, false}) ==
          "No-TN-Validation");
    CHECK(to_string(stir_verstat{}) == "No-TN-Validation");
}

TEST_CASE("only Passed-A counts as verified for client SDKs", "[core][verstat]")
{
    CHECK(is_verified_a(*parse_stir_verstat("TN-Validation-Passed-A")));
    CHECK(is_verified_a(*parse_stir_verstat("TN-Validation-Passed-A-Diverted")));
    CHECK_FALSE(is_verified_a(*parse_stir_verstat("TN-Validation-Passed-B")));
    CHECK_FALSE(is_verified_a(*parse_stir_verstat("TN-Validation-Failed-A")));
}

TEST_CASE("every case vector's expected verstat strings parse", "[core][verstat]")
{
    const char* name = GENERATE(
        "B10_revoked_cert.json", "B11_no_tnauthlist.json", "B12_x5u_unreachable.json",
        "B13_alg_none.json", "B14_iat_string.json", "B15_der_signature.json",
        "B16_div_chain_broken.json", "B17_div_orig_changed.json", "B18_div_compact_form.json",
        "B19_future_iat.json", "B1_bad_signature.json", "B2_stale_iat.json",
        "B3_orig_mismatch.json", "B4_unsupported_ppt.json", "B5_ppt_param_header_mismatch.json",
        "B6_malformed_base64.json", "B7_dest_mismatch.json", "B8_info_x5u_mismatch.json",
        "B9_untrusted_cert.json", "C1_baseline_compact_reconstruct.json", "G1_shaken_A.json",
        "G2_shaken_B_quoted_ppt.json", "G3_shaken_C_from_only.json", "G4_shaken_plus_div.json",
        "G5_noncanonical_json_valid_sig.json");
    INFO(name);
    const auto doc = test::load_vector_json(std::string("cases/") + name);
    const auto& expect = doc["expect"];
    if (expect.HasMember("twilio_stirverstat") && expect["twilio_stirverstat"].IsString()) {
        const std::string s = expect["twilio_stirverstat"].GetString();
        const auto v = parse_stir_verstat(s);
        REQUIRE(v);
        CHECK(to_string(*v) == s);
    }
    for (const char* key : {"atis_verstat", "atis_verstat_div"}) {
        if (!expect.HasMember(key) || !expect[key].IsString()) continue;
        // C1 annotates its value after a space
        const std::string s = expect[key].GetString();
        CHECK(parse_sip_verstat(s.substr(0, s.find(' '))));
    }
}
