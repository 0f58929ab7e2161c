// STI-AS policy: attestation of originated calls and the Identity set of forwarded legs.

#include <catch2/catch.hpp>

#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "sti/signer.hpp"
#include "support/fixtures.hpp"
#include "support/vectors.hpp"

namespace {

using namespace stirgate;
using core::attestation;

constexpr std::int64_t now = test::vectors_verify_at;
const std::string x5u = "https://certs.example.test/sti/div-sp-5678.pem";
const std::string origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";

sti::signing_identity signer()
{
    return {test::vector_private_key("pki/div-sp-5678.key.pem"), x5u};
}

core::es256_public_key signer_certificate_key()
{
    return test::vector_public_key("pki/div-sp-5678.cert.pem");
}

core::account_config account()
{
    core::account_config a;
    a.sid = "AC0123456789abcdef0123456789abcdef";
    a.auth_token = "0123456789abcdef0123456789abcdef";
    a.origid = origid;
    a.numbers.push_back({"+14155550101", 'A', {}, {}, {}});
    a.numbers.push_back({"+14155550102", 'B', {}, {}, {}});
    return a;
}

core::e164_number tn(std::string_view s)
{
    auto n = core::e164_number::parse(s);
    REQUIRE(n);
    return *n;
}

std::vector<std::string> vector_identities(std::string_view file)
{
    const auto doc = test::load_vector_json(file);
    std::vector<std::string> out;
    for (const auto& v : doc["identity_headers"].GetArray()) out.emplace_back(v.GetString());
    return out;
}

// Parses an Identity value we signed, checks its parameters and signature, returns the claims.
core::passport_claims signed_claims(const std::string& value, core::passport_type ppt)
{
    auto header = core::parse_identity_header(value);
    REQUIRE(header);
    CHECK(header->info == x5u);
    REQUIRE(header->ppt);
    CHECK(*header->ppt == core::to_string(ppt));
    auto p = core::decode_passport(header->token);
    REQUIRE(p);
    CHECK(p->header.ppt == ppt);
    CHECK(p->header.x5u == x5u);
    CHECK(core::verify_passport(*p, signer_certificate_key()));
    return p->claims;
}

core::calltoken token_for(std::vector<std::string> identities, std::string to = "+14155550101")
{
    core::calltoken t;
    t.claims.call_sid = "CAfedcba9876543210fedcba9876543210";
    t.claims.from = "+13105550100";
    t.claims.to = std::move(to);
    t.claims.iat = now - 5;
    t.identity_header_tokens = std::move(identities);
    return t;
}

}  // namespace

TEST_CASE("an inventory number gets its level and any other caller ID gets B", "[api][calls]")
{
    const auto a = account();
    CHECK(sti::originating_attestation(a.numbers, tn("+14155550101")) == attestation::A);
    CHECK(sti::originating_attestation(a.numbers, tn("(415) 555-0101")) == attestation::A);
    CHECK(sti::originating_attestation(a.numbers, tn("+14155550102")) == attestation::B);
    CHECK(sti::originating_attestation(a.numbers, tn("+13105550100")) == attestation::B);
    core::account_config c = a;
    c.numbers.push_back({"+14155550103", 'C', {}, {}, {}});
    CHECK(sti::originating_attestation(c.numbers, tn("+14155550103")) == attestation::C);
}

TEST_CASE("a signing request gets the inventory policy's level at most; a trusted SBC chooses",
          "[sti]")
{
    using core::passport_identity;
    auto a = account();  // +14155550101 is A
    const auto own = passport_identity::tn("14155550101");
    const auto foreign = passport_identity::tn("13105550100");  // another account's, or nobody's
    CHECK(sti::granted_attestation(a, own, attestation::A) == attestation::A);
    // Asking for more than the policy gives signs the policy's level.
    CHECK(sti::granted_attestation(a, foreign, attestation::A) == attestation::B);
    CHECK(sti::granted_attestation(a, passport_identity::uri("sip:alice@example.com"),
                                   attestation::A) == attestation::B);
    CHECK(sti::granted_attestation(a, passport_identity::tn("not-a-tn"), attestation::A) ==
          attestation::B);
    // Asking for less is granted.
    CHECK(sti::granted_attestation(a, own, attestation::C) == attestation::C);
    CHECK(sti::granted_attestation(a, foreign, attestation::C) == attestation::C);
    a.numbers.push_back({"+14155550109", 'C', {}, {}, {}});
    CHECK(sti::granted_attestation(a, passport_identity::tn("14155550109"), attestation::A) ==
          attestation::C);
    // The operator's own SBC applies the policy itself.
    a.trusted_sbc = true;
    CHECK(sti::granted_attestation(a, foreign, attestation::A) == attestation::A);
    CHECK(sti::granted_attestation(a, passport_identity::tn("14155550109"), attestation::A) ==
          attestation::A);
}

TEST_CASE("an originated call gets one SHAKEN PASSporT with the policy's attestation",
          "[api][calls]")
{
    const auto a = account();
    auto out = sti::sign_originated_call(signer(), a.origid, a.numbers, tn("+14155550101"),
                                         tn("+16505550102"), now);
    REQUIRE(out);
    CHECK(out->attestation == attestation::A);
    REQUIRE(out->identity_headers.size() == 1);
    const auto c = signed_claims(out->identity_headers[0], core::passport_type::shaken);
    CHECK(c.iat == now);
    CHECK(c.orig == core::passport_identity::tn("14155550101"));
    CHECK(c.dest.tn == std::vector<std::string>{"16505550102"});
    CHECK(c.attest == attestation::A);
    CHECK(c.origid == origid);

    auto unknown = sti::sign_originated_call(signer(), a.origid, a.numbers, tn("+13105550100"),
                                             tn("+16505550102"), now);
    REQUIRE(unknown);
    CHECK(unknown->attestation == attestation::B);
    CHECK(signed_claims(unknown->identity_headers[0], core::passport_type::shaken).attest ==
          attestation::B);
}

TEST_CASE("signing without a key fails cleanly", "[api][calls]")
{
    const auto a = account();
    auto out = sti::sign_originated_call(sti::signing_identity{}, a.origid, a.numbers,
                                         tn("+14155550101"), tn("+16505550102"), now);
    REQUIRE_FALSE(out);
    CHECK(out.code() == errc::key_invalid);
}

TEST_CASE("a forwarded call keeps the inbound SHAKEN PASSporT and adds a DIV", "[api][calls]")
{
    const auto inbound = vector_identities("cases/G1_shaken_A.json");
    auto out = sti::sign_forwarded_call(signer(), origid, token_for(inbound), tn("+13105550100"),
                                        tn("+16505550102"), now);
    REQUIRE(out);
    CHECK(out->attestation == attestation::A);
    REQUIRE(out->identity_headers.size() == 2);
    CHECK(out->identity_headers[0] == inbound[0]);
    const auto div = signed_claims(out->identity_headers[1], core::passport_type::div);
    CHECK(div.iat == now);  // DESIGN.md: a DIV's iat is the time it is signed
    CHECK(div.orig == core::passport_identity::tn("13105550100"));
    CHECK(div.dest.tn == std::vector<std::string>{"16505550102"});
    REQUIRE(div.div);
    CHECK(*div.div == core::passport_identity::tn("14155550101"));
    CHECK_FALSE(div.attest);
}

TEST_CASE("a forwarded call puts the chain in order: SHAKEN, inbound DIVs, the new DIV",
          "[api][calls]")
{
    // G4: 13105550100 -> 14155550101, diverted to our number 16505550102, forwarded again.
    const auto inbound = vector_identities("cases/G4_shaken_plus_div.json");
    REQUIRE(inbound.size() == 2);
    const std::vector<std::string> reversed{inbound[1], inbound[0]};
    auto out = sti::sign_forwarded_call(signer(), origid, token_for(reversed, "+16505550102"),
                                        tn("+13105550100"), tn("+12125550199"), now);
    REQUIRE(out);
    REQUIRE(out->identity_headers.size() == 3);
    CHECK(out->identity_headers[0] == inbound[0]);
    CHECK(out->identity_headers[1] == inbound[1]);
    const auto div = signed_claims(out->identity_headers[2], core::passport_type::div);
    CHECK(div.orig == core::passport_identity::tn("13105550100"));
    CHECK(div.dest.tn == std::vector<std::string>{"12125550199"});
    CHECK(*div.div == core::passport_identity::tn("16505550102"));
    CHECK(out->attestation == attestation::A);
}

TEST_CASE("a forwarded call without a SHAKEN PASSporT gets SHAKEN C and a DIV", "[api][calls]")
{
    auto out = sti::sign_forwarded_call(signer(), origid, token_for({}), tn("+13105550100"),
                                        tn("+16505550102"), now);
    REQUIRE(out);
    CHECK(out->attestation == attestation::C);
    REQUIRE(out->identity_headers.size() == 2);
    const auto c = signed_claims(out->identity_headers[0], core::passport_type::shaken);
    CHECK(c.attest == attestation::C);
    CHECK(c.orig == core::passport_identity::tn("13105550100"));
    CHECK(c.dest.tn == std::vector<std::string>{"14155550101"});  // the parent call's To
    CHECK(c.origid == origid);
    CHECK(c.iat == now);
    const auto div = signed_claims(out->identity_headers[1], core::passport_type::div);
    CHECK(div.orig == core::passport_identity::tn("13105550100"));
    CHECK(div.dest.tn == std::vector<std::string>{"16505550102"});
    CHECK(*div.div == core::passport_identity::tn("14155550101"));
}

TEST_CASE("undecodable Identity values of a token are not forwarded", "[api][calls]")
{
    auto out = sti::sign_forwarded_call(signer(), origid,
                                        token_for({"garbage;info=<https://x.test/a.pem>"}),
                                        tn("+13105550100"), tn("+16505550102"), now);
    REQUIRE(out);
    CHECK(out->attestation == attestation::C);
    CHECK(out->identity_headers.size() == 2);
}
