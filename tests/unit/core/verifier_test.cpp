// Focused STI-VS cases around the vectors: freshness bounds, several Identity values, div chains,
// certificate results. PASSporTs are signed here with the vector keys at chosen times; the
// certificate map is built by hand (the trust store has its own tests).

#include "core/verifier.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/verstat.hpp"
#include "support/vectors.hpp"

namespace {

using namespace stirgate;
using core::attestation;
using core::passport_type;
using core::sip_verstat;

constexpr std::int64_t now = test::vectors_verify_at;  // 2026-01-01T00:00:05Z
constexpr std::int64_t y2045 = 2366841600;

const std::string orig_x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
const std::string div_x5u = "https://certs.example.test/sti/div-sp-5678.pem";

constexpr const char* caller = "13105550100";
constexpr const char* called = "14155550101";
constexpr const char* forwarded_to = "16505550102";
constexpr const char* forwarded_again = "17075550103";

core::es256_private_key private_key(const char* file)
{
    auto key = core::es256_private_key::from_pem(test::read_vector(file));
    REQUIRE(key.has_value());
    return std::move(key).value();
}

core::verified_cert cert_for(const core::es256_private_key& key, std::string spc)
{
    return core::verified_cert{key.public_key(), std::move(spc), y2045};
}

struct fixture {
    core::es256_private_key orig_key = private_key("pki/orig-sp-1234.key.pem");
    core::es256_private_key div_key = private_key("pki/div-sp-5678.key.pem");
    core::certificate_map certs;
    core::call_context call{caller, called, called, std::nullopt};

    fixture()
    {
        certs.emplace(orig_x5u, cert_for(orig_key, "1234"));
        certs.emplace(div_x5u, cert_for(div_key, "5678"));
    }

    std::string shaken(std::int64_t iat, std::string dest = called, std::string orig = caller,
                       attestation attest = attestation::A) const
    {
        core::passport_claims c;
        c.iat = iat;
        c.orig = core::passport_identity::tn(std::move(orig));
        c.dest.tn = {std::move(dest)};
        c.attest = attest;
        c.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
        auto jws = core::sign_passport(c, passport_type::shaken, orig_x5u, orig_key);
        REQUIRE(jws.has_value());
        return core::format_identity_header(*jws, orig_x5u, passport_type::shaken);
    }

    std::string div(std::int64_t iat, std::string div_tn, std::string dest,
                    std::string orig = caller) const
    {
        core::passport_claims c;
        c.iat = iat;
        c.orig = core::passport_identity::tn(std::move(orig));
        c.dest.tn = {std::move(dest)};
        c.div = core::passport_identity::tn(std::move(div_tn));
        auto jws = core::sign_passport(c, passport_type::div, div_x5u, div_key);
        REQUIRE(jws.has_value());
        return core::format_identity_header(*jws, div_x5u, passport_type::div);
    }

    core::verification_outcome verify(const std::vector<std::string>& values,
                                      std::int64_t at = now) const
    {
        return core::verify_call(values, call, at, core::verify_policy{}, certs);
    }
};

}  // namespace

TEST_CASE("iat is fresh up to exactly 60 s old and stale at 61 s", "[core][verifier]")
{
    const fixture f;
    const auto at_60 = f.verify({f.shaken(now - 60)});
    CHECK(at_60.valid);
    CHECK(to_string(at_60.twilio) == "TN-Validation-Passed-A");

    const auto at_61 = f.verify({f.shaken(now - 61)});
    CHECK_FALSE(at_61.valid);
    CHECK(at_61.code == errc::passport_stale);
    CHECK(at_61.sip_code == 403);
    CHECK(at_61.reason == "Stale Date");
    CHECK(at_61.verstat == sip_verstat::tn_validation_failed);
    CHECK(to_string(at_61.twilio) == "No-TN-Validation");  // Twilio files freshness there
}

TEST_CASE("iat may be up to 5 s ahead and not 6 s", "[core][verifier]")
{
    const fixture f;
    CHECK(f.verify({f.shaken(now + 5)}).valid);
    const auto ahead_6 = f.verify({f.shaken(now + 6)});
    CHECK_FALSE(ahead_6.valid);
    CHECK(ahead_6.code == errc::passport_future);
    CHECK(ahead_6.sip_code == 403);
}

TEST_CASE("the window and skew come from the policy", "[core][verifier]")
{
    const fixture f;
    const core::verify_policy strict{.iat_window_s = 15, .future_skew_s = 0};
    CHECK(core::verify_call({{f.shaken(now - 15)}}, f.call, now, strict, f.certs).valid);
    CHECK(core::verify_call({{f.shaken(now - 16)}}, f.call, now, strict, f.certs).code ==
          errc::passport_stale);
    CHECK(core::verify_call({{f.shaken(now + 1)}}, f.call, now, strict, f.certs).code ==
          errc::passport_future);
}

TEST_CASE("the SIP Date header must be fresh as well", "[core][verifier]")
{
    fixture f;
    const auto value = f.shaken(now - 5);
    f.call.sip_date = now - 60;
    CHECK(f.verify({value}).valid);
    f.call.sip_date = now - 61;
    CHECK(f.verify({value}).code == errc::passport_stale);
    f.call.sip_date = now + 6;
    CHECK(f.verify({value}).code == errc::passport_future);
}

TEST_CASE("one verified Identity among several validates the call", "[core][verifier]")
{
    const fixture f;
    const auto good = f.shaken(now, called, caller, attestation::B);
    const auto stale = f.shaken(now - 120);
    const std::string garbage = "not-a-token;info=<https://certs.example.test/x.pem>;ppt=shaken";
    const std::string rph = good.substr(0, good.find(';')) + ";info=<" + orig_x5u + ">;ppt=rph";

    SECTION("the good one last")
    {
        const auto out = f.verify({garbage, stale, rph, good});
        CHECK(out.valid);
        CHECK(out.verstat == sip_verstat::tn_validation_passed);
        CHECK(to_string(out.twilio) == "TN-Validation-Passed-B");
        CHECK(out.attest == attestation::B);
        CHECK(out.shaken_passport == good.substr(0, good.find(';')));
        REQUIRE(out.identities.size() == 4);
        CHECK(out.identities[0].code == errc::jws_malformed);
        CHECK(out.identities[1].code == errc::passport_stale);
        CHECK(out.identities[2].ignored);
        CHECK(out.identities[2].code == errc::identity_ppt_unsupported);
        CHECK(out.identities[3].code == errc{});
        CHECK(out.code == errc{});
        CHECK(out.sip_code == 0);
    }
    SECTION("the good one first")
    {
        CHECK(f.verify({good, stale}).valid);
    }
    SECTION("all failing: the first SHAKEN value's defect is reported")
    {
        fixture g;
        g.call.caller_tn = "13105550199";
        const auto out = g.verify({g.shaken(now - 120), g.shaken(now)});
        CHECK_FALSE(out.valid);
        CHECK(out.code == errc::passport_stale);
        CHECK(out.identities[1].code == errc::passport_orig_mismatch);
    }
}

TEST_CASE("a call without usable Identity values is not validated", "[core][verifier]")
{
    const fixture f;
    const auto none = f.verify({});
    CHECK_FALSE(none.valid);
    CHECK(none.verstat == sip_verstat::no_tn_validation);
    CHECK(none.code == errc{});
    CHECK(none.sip_code == 0);
    CHECK(to_string(none.twilio) == "No-TN-Validation");
    CHECK(none.shaken_passport.empty());
}

TEST_CASE("the Identity alg parameter must be ES256 when present", "[core][verifier]")
{
    const fixture f;
    auto value = f.shaken(now);
    value.replace(value.find("alg=ES256"), 9, "alg=ES384");
    const auto out = f.verify({value});
    CHECK(out.code == errc::identity_alg_unsupported);
    CHECK(out.sip_code == 437);
    CHECK(out.reason == "Unsupported Credential");

    auto without = f.shaken(now);
    without.erase(without.find(";alg=ES256"), 10);
    CHECK(f.verify({without}).valid);
}

TEST_CASE("without div PASSporTs dest may match To or the Request-URI", "[core][verifier]")
{
    fixture f;
    f.call.to_tn = "19995550000";  // To rewritten, Request-URI still the signed number
    CHECK(f.verify({f.shaken(now)}).valid);
    f.call.to_tn = called;
    f.call.request_uri_tn = "19995550000";
    CHECK(f.verify({f.shaken(now)}).valid);
    f.call.to_tn = "19995550000";
    CHECK(f.verify({f.shaken(now)}).code == errc::passport_dest_mismatch);
}

TEST_CASE("certificate results decide after the cheaper checks", "[core][verifier]")
{
    fixture f;
    const auto value = f.shaken(now);

    SECTION("a URL that was not fetched is a failed dereference")
    {
        f.certs.clear();
        const auto out = f.verify({value});
        CHECK(out.code == errc::x5u_fetch_failed);
        CHECK(out.sip_code == 436);
        CHECK(to_string(out.twilio) == "TN-Validation-Failed-A");
    }
    SECTION("the trust store's verdict is passed on")
    {
        f.certs.insert_or_assign(orig_x5u, result<core::verified_cert>(errc::cert_revoked));
        const auto out = f.verify({value});
        CHECK(out.code == errc::cert_revoked);
        CHECK(out.sip_code == 437);
    }
    SECTION("a key that did not sign gives an invalid signature")
    {
        f.certs.insert_or_assign(orig_x5u, cert_for(f.div_key, "5678"));
        const auto out = f.verify({value});
        CHECK(out.code == errc::jws_signature_invalid);
        CHECK(out.sip_code == 438);
        CHECK(out.reason == "Invalid Identity Header");
    }
    SECTION("a stale PASSporT is reported as stale even when its certificate is bad")
    {
        f.certs.clear();
        CHECK(f.verify({f.shaken(now - 61)}).code == errc::passport_stale);
    }
    SECTION("iat after the certificate's notAfter")
    {
        f.certs.insert_or_assign(orig_x5u, core::verified_cert{f.orig_key.public_key(), "1234",
                                                               now - 10});
        CHECK(f.verify({value}).code == errc::cert_expired);
    }
}

TEST_CASE("a div chain must reach the Request-URI", "[core][verifier]")
{
    fixture f;
    f.call.request_uri_tn = forwarded_to;

    SECTION("SHAKEN to the called number plus one div to the new target")
    {
        const auto out = f.verify({f.shaken(now), f.div(now, called, forwarded_to)});
        CHECK(out.valid);
        CHECK(out.div_verstat == sip_verstat::tn_validation_passed);
        CHECK(to_string(out.twilio) == "TN-Validation-Passed-A-Diverted");
    }
    SECTION("Identity headers are unordered: the div may come first")
    {
        CHECK(f.verify({f.div(now, called, forwarded_to), f.shaken(now)}).valid);
    }
    SECTION("two diversions")
    {
        f.call.request_uri_tn = forwarded_again;
        const auto out = f.verify({f.shaken(now), f.div(now, forwarded_to, forwarded_again),
                                   f.div(now, called, forwarded_to)});
        CHECK(out.valid);
        CHECK(out.div_verstat == sip_verstat::tn_validation_passed);
    }
    SECTION("an outermost dest other than the Request-URI")
    {
        f.call.request_uri_tn = forwarded_again;
        const auto out = f.verify({f.shaken(now), f.div(now, called, forwarded_to)});
        CHECK_FALSE(out.valid);
        CHECK(out.code == errc::passport_dest_mismatch);
        CHECK(out.sip_code == 438);
        CHECK(out.div_verstat == sip_verstat::tn_validation_failed);
        CHECK(to_string(out.twilio) == "TN-Validation-Failed-A-Diverted");
    }
    SECTION("a div PASSporT alone anchors on nothing")
    {
        const auto out = f.verify({f.div(now, called, forwarded_to)});
        CHECK_FALSE(out.valid);
        CHECK(out.code == errc::div_chain_broken);
        CHECK(to_string(out.twilio) == "TN-Validation-Failed-Diverted");
    }
    SECTION("a failing SHAKEN PASSporT fails the chain with its own code")
    {
        const auto out = f.verify({f.shaken(now + 6), f.div(now, called, forwarded_to)});
        CHECK(out.code == errc::passport_future);
        CHECK(to_string(out.twilio) == "No-TN-Validation");
    }
    SECTION("a bad div signature fails the chain")
    {
        f.certs.insert_or_assign(div_x5u, cert_for(f.orig_key, "1234"));
        const auto out = f.verify({f.shaken(now), f.div(now, called, forwarded_to)});
        CHECK_FALSE(out.valid);
        CHECK(out.code == errc::jws_signature_invalid);
        CHECK(out.identities[1].code == errc::jws_signature_invalid);
    }
}

TEST_CASE("a SHAKEN PASSporT that a div extends may be older than the window",
          "[core][verifier]")
{
    fixture f;
    f.call.request_uri_tn = forwarded_to;
    // RFC 8946 section 4.2 step 6: the outermost div gets the normal window, the innermost a
    // longer one (policy.chained_window_s, 600 s by default).
    CHECK(f.verify({f.shaken(now - 300), f.div(now, called, forwarded_to)}).valid);
    CHECK(f.verify({f.shaken(now - 601), f.div(now, called, forwarded_to)}).code ==
          errc::passport_stale);
    CHECK(f.verify({f.shaken(now), f.div(now - 61, called, forwarded_to)}).code ==
          errc::passport_stale);

    fixture plain;
    CHECK(plain.verify({plain.shaken(now - 300)}).code == errc::passport_stale);

    SECTION("a forged div does not stretch the window of a SHAKEN PASSporT naming the R-URI")
    {
        // Replay: an old SHAKEN PASSporT to the Request-URI plus a div "extending" it whose
        // signature does not verify (signed with a key other than its certificate's).
        fixture g;
        g.call.request_uri_tn = called;
        g.certs.insert_or_assign(div_x5u, cert_for(g.orig_key, "1234"));
        const auto out = g.verify({g.shaken(now - 300), g.div(now, called, forwarded_to)});
        CHECK_FALSE(out.valid);
        CHECK(out.div_verstat == sip_verstat::tn_validation_failed);
    }
}

TEST_CASE("required_x5u lists each certificate the verification will need", "[core][verifier]")
{
    const fixture f;
    const auto shaken = f.shaken(now);
    const auto token = shaken.substr(0, shaken.find(';'));
    const std::vector<std::string> values{
        shaken,
        f.div(now, called, forwarded_to),
        f.shaken(now - 1),                                                  // same x5u again
        token + ";info=<https://certs.example.test/rph.pem>;ppt=rph",       // ignored
        "..c2ln;info=<https://certs.example.test/compact.pem>;ppt=shaken",  // refused unfetched
        "..c2ln;info=<https://certs.example.test/baseline.pem>",            // RFC 8224 baseline
        "garbage",
    };
    CHECK(core::required_x5u(values) ==
          std::vector<std::string>{orig_x5u, div_x5u, "https://certs.example.test/baseline.pem"});
}

TEST_CASE("verification reasons follow RFC 8224 with Invalid PASSporT for token defects",
          "[core][verifier]")
{
    CHECK(core::verification_reason(errc::passport_claims_invalid) == "Invalid PASSporT");
    CHECK(core::verification_reason(errc::identity_ppt_mismatch) == "Invalid PASSporT");
    CHECK(core::verification_reason(errc::identity_compact_form) == "Invalid PASSporT");
    CHECK(core::verification_reason(errc::jws_signature_invalid) == "Invalid Identity Header");
    CHECK(core::verification_reason(errc::passport_stale) == "Stale Date");
    CHECK(core::verification_reason(errc::x5u_fetch_failed) == "Bad Identity Info");
    CHECK(core::verification_reason(errc::cert_untrusted) == "Unsupported Credential");
}
