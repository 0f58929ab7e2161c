// The SIP face's mapping (src/sip/message.cpp, src/sip/redirect.cpp) on recorded messages
// (messages/*.sip) and on every PASSporT vector case sent as an INVITE: request in, response
// text out, no sockets. Responses are read back with libosip2-free string helpers, so a bug in
// the parser does not hide itself.

#include "sip/redirect.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "sip/message.hpp"
#include "sip/rate_limit.hpp"
#include "sti/trust_store.hpp"
#include "support/vectors.hpp"
#include "unit/sip/sip_test_support.hpp"

namespace {

using namespace stirgate;
using sip::action;
using sip::parse_status;
using test::recorded_sip;
using test::sip_header;
using test::sip_headers;
using test::sip_status;

constexpr std::int64_t now = test::vectors_verify_at;  // 2026-01-01T00:00:05Z
const std::string x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
const std::string origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";

std::string str(const rapidjson::Value& v, const char* key)
{
    if (!v.IsObject() || !v.HasMember(key) || !v[key].IsString()) return {};
    return {v[key].GetString(), v[key].GetStringLength()};
}

core::account_config peer_account()
{
    core::account_config a;
    a.sid = "AC0123456789abcdef0123456789abcdef";
    a.auth_token = "t";
    a.origid = origid;
    a.numbers.push_back({"+13105550100", 'A', "", "", ""});
    return a;
}

struct fixture {
    core::account_config account = peer_account();
    sti::signing_identity signer;
    sip::message_limits limits;

    fixture()
    {
        auto key = core::es256_private_key::from_pem(test::read_vector("pki/orig-sp-1234.key.pem"));
        REQUIRE(key);
        signer.key = *key;
        signer.x5u = x5u;
        signer.format.quote_ppt = false;
    }

    sip::redirect_context context(bool is_peer = true) const
    {
        sip::redirect_context c;
        c.account = is_peer ? &account : nullptr;
        c.signer = &signer;
        c.now = now;
        return c;
    }

    sip::decision run(const std::string& message, bool is_peer = true,
                      const std::string& source = "192.0.2.10", std::uint16_t port = 5060) const
    {
        return sip::decide(sip::parse_request(message, limits, source, port), context(is_peer));
    }
};

// The PASSporT of a full-form Identity value, with its signature checked against `signer`.
core::passport signed_passport(const std::string& identity, const sti::signing_identity& signer)
{
    auto header = core::parse_identity_header(identity);
    REQUIRE(header);
    CHECK(header->info == signer.x5u);
    CHECK(header->alg == std::optional<std::string>("ES256"));
    CHECK(header->ppt == std::optional<std::string>("shaken"));
    CHECK_FALSE(header->ppt_quoted);
    auto p = core::decode_passport(header->token);
    REQUIRE(p);
    CHECK(core::verify_passport(*p, signer.key.public_key()).has_value());
    CHECK(p->header.x5u == signer.x5u);
    return *p;
}

std::string with_header(std::string message, const std::string& line)
{
    // Before Content-Length, the last header in the recorded messages.
    const auto at = message.find("Content-Length:");
    const auto at_compact = message.find("\r\nl:");
    const auto pos = at != std::string::npos ? at : at_compact + 2;
    return message.insert(pos, line + "\r\n");
}

}  // namespace

TEST_CASE("an INVITE without Identity from a peer is signed into a 302 to the Request-URI", "[sip]")
{
    const fixture f;
    const std::string invite = recorded_sip("invite_sign_pai.sip");
    const auto d = f.run(invite);
    REQUIRE(d.what == action::reply);
    const std::string& res = d.response;
    INFO(res);
    CHECK(res.rfind("SIP/2.0 302 Moved Temporarily\r\n", 0) == 0);
    CHECK(d.status == 302);
    // RFC 3261 section 8.2.6.2: Via (all, in order; rport filled, RFC 3581), From, Call-ID and
    // CSeq copied; To gains a tag.
    const auto vias = sip_headers(res, "Via");
    REQUIRE(vias.size() == 2);
    CHECK(vias[0] == "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060");
    CHECK(vias[1] == "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKnashds8;received=198.51.100.7");
    CHECK(sip_header(res, "From") ==
          "\"Alice\" <sip:+13105550100@sbc.example.test;user=phone>;tag=1928301774");
    const std::string to = sip_header(res, "To");
    CHECK(to.rfind("<sip:+14155550101@platform.example.test;user=phone>;tag=sg", 0) == 0);
    CHECK(sip_header(res, "Call-ID") == "a84b4c76e66710@pc33.example.test");
    CHECK(sip_header(res, "CSeq") == "314159 INVITE");
    CHECK(sip_header(res, "Contact") == "<sip:+14155550101@stirgate.example.test;user=phone>");
    CHECK(sip_header(res, "Content-Length") == "0");
    CHECK(res.size() >= 4);
    CHECK(res.substr(res.size() - 4) == "\r\n\r\n");

    const auto identities = sip_headers(res, "Identity");
    REQUIRE(identities.size() == 1);
    // DESIGN.md "SIP face": full form, info=<x5u>;alg=ES256;ppt=shaken.
    CHECK_THAT(identities[0], Catch::EndsWith(";info=<" + x5u + ">;alg=ES256;ppt=shaken"));
    const auto p = signed_passport(identities[0], f.signer);
    // orig: the first P-Asserted-Identity holding a TN (not From); dest: the Request-URI.
    CHECK(p.claims.orig == core::passport_identity::tn("13105550199"));
    CHECK(p.claims.dest.tn == std::vector<std::string>{"14155550101"});
    CHECK(p.claims.iat == now);
    CHECK(p.claims.origid == origid);
    // Not a number of the account: the inventory policy gives B, as the Calls API does.
    CHECK(p.claims.attest == core::attestation::B);
    CHECK(d.note == "signed B");
}

TEST_CASE("a caller from the account's inventory gets its level; From serves when no PAI", "[sip]")
{
    const fixture f;
    // Compact header names, a tel: Request-URI, a national From and a To that has its tag.
    const std::string invite = recorded_sip("invite_sign_from.sip");
    const auto d = f.run(invite, true, "203.0.113.5", 40000);
    REQUIRE(d.what == action::reply);
    const std::string& res = d.response;
    INFO(res);
    CHECK(d.status == 302);
    CHECK(sip_header(res, "Via") ==
          "SIP/2.0/TCP sbc.example.test;branch=z9hG4bK-from-only;received=203.0.113.5");
    CHECK(sip_header(res, "To") == "\"Bob\" <sip:+14155550101@platform.example.test>;tag=already");
    CHECK(sip_header(res, "Contact") == "<tel:+14155550101>");
    const auto identities = sip_headers(res, "Identity");
    REQUIRE(identities.size() == 1);
    const auto p = signed_passport(identities[0], f.signer);
    CHECK(p.claims.orig == core::passport_identity::tn("13105550100"));
    CHECK(p.claims.dest.tn == std::vector<std::string>{"14155550101"});
    CHECK(p.claims.attest == core::attestation::A);

    SECTION("Attestation-Info may lower the level, never raise it")
    {
        const auto lower = f.run(with_header(invite, "Attestation-Info: C"));
        const auto p2 = signed_passport(sip_header(lower.response, "Identity"), f.signer);
        CHECK(p2.claims.attest == core::attestation::C);
        const auto pai = f.run(
            with_header(with_header(recorded_sip("invite_sign_pai.sip"), "Attestation-Info: A"),
                        "X-Ignored: 1"));
        const auto p3 = signed_passport(sip_header(pai.response, "Identity"), f.signer);
        CHECK(p3.claims.attest == core::attestation::B);  // 13105550199 is not the account's
        const auto junk = f.run(with_header(invite, "Attestation-Info: Z"));
        CHECK(signed_passport(sip_header(junk.response, "Identity"), f.signer).claims.attest ==
              core::attestation::A);
    }
    SECTION("a trusted_sbc account gets the level it asks for")
    {
        fixture trusted;
        trusted.account.trusted_sbc = true;
        const auto asked =
            trusted.run(with_header(recorded_sip("invite_sign_pai.sip"), "Attestation-Info: A"));
        CHECK(
            signed_passport(sip_header(asked.response, "Identity"), trusted.signer).claims.attest ==
            core::attestation::A);
    }
    SECTION("a fresh Date becomes iat; a stale one is refused 403, a malformed one 400")
    {
        const auto dated = f.run(with_header(invite, "Date: Thu, 01 Jan 2026 00:00:00 GMT"));
        CHECK(signed_passport(sip_header(dated.response, "Identity"), f.signer).claims.iat ==
              1767225600);
        const auto stale = f.run(with_header(invite, "Date: Wed, 31 Dec 2025 23:58:00 GMT"));
        CHECK(sip_status(stale.response) == 403);
        CHECK(stale.response.rfind("SIP/2.0 403 Stale Date\r\n", 0) == 0);
        CHECK(sip_headers(stale.response, "Identity").empty());
        const auto bad = f.run(with_header(invite, "Date: yesterday"));
        CHECK(sip_status(bad.response) == 400);
    }
}

TEST_CASE("without authority to sign, the INVITE is redirected with no Identity", "[sip]")
{
    const fixture f;
    // RFC 8224 section 6.1: a caller that is not a TN cannot be attested.
    const auto anon = f.run(recorded_sip("invite_sign_not_tn.sip"));
    CHECK(sip_status(anon.response) == 302);
    CHECK(sip_header(anon.response, "Contact") == "<sip:+14155550101@stirgate.example.test>");
    CHECK(sip_headers(anon.response, "Identity").empty());
    // No [signing] key.
    fixture unsigned_face;
    unsigned_face.signer.key = {};
    const auto none = unsigned_face.run(recorded_sip("invite_sign_from.sip"));
    CHECK(sip_status(none.response) == 302);
    CHECK(sip_headers(none.response, "Identity").empty());
}

TEST_CASE("OPTIONS is 200, ACK is absorbed, other methods 405 or 501, strangers 403", "[sip]")
{
    const fixture f;
    const auto options = f.run(recorded_sip("options.sip"));
    REQUIRE(options.what == action::reply);
    CHECK(options.response.rfind("SIP/2.0 200 OK\r\n", 0) == 0);
    CHECK(sip_header(options.response, "Allow") == "INVITE, ACK, OPTIONS");
    CHECK(sip_header(options.response, "CSeq") == "10 OPTIONS");

    CHECK(f.run(recorded_sip("ack.sip")).what == action::absorb);
    CHECK(f.run(recorded_sip("ack.sip"), false).what == action::absorb);

    std::string bye = recorded_sip("options.sip");
    bye.replace(0, 7, "BYE");
    bye.replace(bye.find("10 OPTIONS"), 10, "10 BYE");
    const auto b = f.run(bye);
    CHECK(b.response.rfind("SIP/2.0 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(sip_header(b.response, "Allow") == "INVITE, ACK, OPTIONS");
    std::string foo = bye;
    foo.replace(0, 3, "FOO");
    foo.replace(foo.find("10 BYE"), 6, "10 FOO");
    CHECK(sip_status(f.run(foo).response) == 501);

    for (const char* name : {"options.sip", "invite_sign_pai.sip", "bad_cseq.sip"}) {
        INFO(name);
        const auto refused = f.run(recorded_sip(name), false);
        CHECK(refused.response.rfind("SIP/2.0 403 Forbidden\r\n", 0) == 0);
        CHECK(sip_headers(refused.response, "Identity").empty());
    }
}

TEST_CASE("malformed, oversized and non-SIP input: 400, 513 or nothing, never a throw", "[sip]")
{
    const fixture f;
    SECTION("a request line with broken headers is 400, with what could be copied")
    {
        const auto bad = f.run(recorded_sip("bad_cseq.sip"));
        CHECK(bad.response.rfind("SIP/2.0 400 Bad Request\r\n", 0) == 0);
        CHECK(sip_header(bad.response, "Call-ID") == "bad-cseq@sbc.example.test");
        std::string no_call_id = recorded_sip("options.sip");
        no_call_id.erase(no_call_id.find("Call-ID:"),
                         no_call_id.find("CSeq:") - no_call_id.find("Call-ID:"));
        CHECK(sip_status(f.run(no_call_id).response) == 400);
        const std::string broken =
            "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            "From: garbage\r\nCSeq: nope\r\n\r\n";
        CHECK(sip_status(f.run(broken).response) == 400);
        const std::string nul =
            std::string(
                "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\0y\r\n",
                104) +
            "CSeq: 1 OPTIONS\r\n\r\n";
        CHECK(sip_status(f.run(nul).response) == 400);
    }
    SECTION("more header lines than max_headers is 400")
    {
        std::string many = recorded_sip("options.sip");
        for (int i = 0; i < 70; ++i) many = with_header(many, "X-Pad-" + std::to_string(i) + ": 1");
        const auto d = f.run(many);
        CHECK(d.response.rfind("SIP/2.0 400 Too Many Headers\r\n", 0) == 0);
        CHECK(sip_header(d.response, "CSeq") == "10 OPTIONS");
    }
    SECTION("a message over max_message_bytes is 513, by its size or its Content-Length")
    {
        std::string big =
            with_header(recorded_sip("options.sip"), "X-Pad: " + std::string(20000, 'a'));
        auto d = f.run(big);
        CHECK(d.response.rfind("SIP/2.0 513 Message Too Large\r\n", 0) == 0);
        CHECK(sip_header(d.response, "Call-ID") == "keepalive-1@sbc.example.test");
        std::string declared = recorded_sip("options.sip");
        declared.replace(declared.find("Content-Length: 0"), 17, "Content-Length: 99999");
        CHECK(sip_status(f.run(declared).response) == 513);
        // Cut mid-header, as a datagram past the limit arrives: still 513.
        CHECK(sip_status(f.run(big.substr(0, f.limits.max_message_bytes + 1)).response) == 513);
    }
    SECTION("garbage and responses are not requests: nothing is sent")
    {
        for (const std::string& junk :
             {std::string("hello world\r\n\r\n"), std::string("\x16\x03\x01\x02\x00", 5),
              std::string("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n"),
              std::string(), std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}) {
            const auto parsed = sip::parse_request(junk, f.limits, "127.0.0.1", 5060);
            CHECK(parsed.status == parse_status::not_a_request);
            CHECK(f.run(junk).what == action::absorb);
        }
    }
    SECTION("random damage to recorded messages never throws and never answers garbage")
    {
        std::mt19937 rng(15);
        const std::vector<std::string> seeds{recorded_sip("invite_sign_pai.sip"),
                                             recorded_sip("options.sip"),
                                             recorded_sip("invite_sign_from.sip")};
        for (int i = 0; i < 3000; ++i) {
            std::string m = seeds[static_cast<std::size_t>(i) % seeds.size()];
            const int edits = 1 + static_cast<int>(rng() % 8);
            for (int e = 0; e < edits && !m.empty(); ++e) {
                const std::size_t at = rng() % m.size();
                switch (rng() % 3) {
                    case 0:
                        m[at] = static_cast<char>(rng() % 256);
                        break;
                    case 1:
                        m.erase(at, rng() % 16);
                        break;
                    default:
                        m.insert(at, std::string(rng() % 8, static_cast<char>(rng() % 256)));
                        break;
                }
            }
            const auto d = f.run(m);
            if (d.what == action::reply) {
                CHECK(d.response.rfind("SIP/2.0 ", 0) == 0);
                CHECK(d.response.substr(d.response.size() - 4) == "\r\n\r\n");
            }
        }
    }
}

TEST_CASE("a retransmitted request gets the same To tag, another call another", "[sip]")
{
    const fixture f;
    const std::string invite = recorded_sip("options.sip");
    const auto a = sip_header(f.run(invite).response, "To");
    CHECK(a == sip_header(f.run(invite).response, "To"));
    std::string other = invite;
    other.replace(other.find("keepalive-1"), 11, "keepalive-2");
    CHECK(a != sip_header(f.run(other).response, "To"));
}

TEST_CASE("verstat goes into the Request-URI's user part, replacing one from upstream", "[sip]")
{
    using sip::with_verstat;
    CHECK(with_verstat("sip:+14155550101@gw.example.test;user=phone", "TN-Validation-Passed") ==
          "sip:+14155550101;verstat=TN-Validation-Passed@gw.example.test;user=phone");
    CHECK(with_verstat("sip:+14155550101;verstat=TN-Validation-Passed;isub=1@gw.example.test",
                       "TN-Validation-Failed") ==
          "sip:+14155550101;isub=1;verstat=TN-Validation-Failed@gw.example.test");
    CHECK(with_verstat("sips:+14155550101;VERSTAT=x@h", "No-TN-Validation") ==
          "sips:+14155550101;verstat=No-TN-Validation@h");
    CHECK(with_verstat("tel:+14155550101;verstat=x", "TN-Validation-Passed") ==
          "tel:+14155550101;verstat=TN-Validation-Passed");
    CHECK(with_verstat("sip:gw.example.test", "TN-Validation-Passed") == "sip:gw.example.test");
    CHECK(with_verstat("urn:service:sos", "TN-Validation-Passed") == "urn:service:sos");
}

TEST_CASE("every PASSporT vector case sent as an INVITE gets its verstat in a 302", "[sip]")
{
    const fixture f;
    const auto manifest = test::load_vector_json("manifest.json");
    const auto x5u_map = test::load_vector_json("pki/x5u_map.json");
    auto store = sti::trust_store::from_memory(test::read_vector("pki/root-ca.cert.pem"),
                                               {test::read_vector("pki/intermediate-ca.crl.pem"),
                                                test::read_vector("pki/root-ca.crl.pem")});
    REQUIRE(store.has_value());

    for (const auto& entry : manifest["cases"].GetArray()) {
        const std::string id = str(entry, "id");
        DYNAMIC_SECTION(id)
        {
            const auto doc = test::load_vector_json(str(entry, "file"));
            const auto& s = doc["sip"];
            const auto& expect = entry["expect"];
            std::vector<std::string> identities;
            for (const auto& v : doc["identity_headers"].GetArray())
                identities.emplace_back(v.GetString(), v.GetStringLength());

            std::string invite = "INVITE " + str(s, "request_uri") +
                                 " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-" +
                                 id + "\r\nMax-Forwards: 70\r\nFrom: " + str(s, "from") +
                                 "\r\nTo: " + str(s, "to") + "\r\nCall-ID: " + id +
                                 "@vectors.test\r\nCSeq: 1 INVITE\r\n";
            if (!str(s, "p_asserted_identity").empty())
                invite += "P-Asserted-Identity: " + str(s, "p_asserted_identity") + "\r\n";
            if (!str(s, "diversion").empty())
                invite += "Diversion: " + str(s, "diversion") + "\r\n";
            invite += "Date: " + str(s, "date") + "\r\n";
            for (const auto& v : identities) invite += "Identity: " + v + "\r\n";
            invite += "Content-Length: 0\r\n\r\n";

            const auto parsed = sip::parse_request(invite, f.limits, "127.0.0.1", 5062);
            REQUIRE(parsed.status == parse_status::ok);
            auto d = sip::decide(parsed, f.context());
            REQUIRE(d.what == action::verify);
            // The call the verifier sees is the one the case names.
            const auto& canonical = s["canonical"];
            CHECK(d.call.caller_tn == str(canonical, "orig_tn"));
            CHECK(d.call.to_tn == str(canonical, "to_tn"));
            CHECK(d.call.request_uri_tn == str(canonical, "request_uri_tn"));
            CHECK(d.identities == identities);

            core::certificate_map certificates;
            for (const auto& url : core::required_x5u(d.identities)) {
                const std::string file = str(x5u_map, url.c_str());
                if (file.empty())
                    certificates.emplace(url, error{errc::x5u_fetch_failed, "HTTP 404"});
                else
                    certificates.emplace(url, store->verify_chain(test::read_vector(file), now));
            }
            const auto outcome =
                core::verify_call(d.identities, d.call, now, core::verify_policy{}, certificates);
            const std::string res = sip::verified_response(parsed.req, outcome);
            INFO(res);
            CHECK(sip_status(res) == 302);
            const bool baseline = id.rfind("C1_", 0) == 0;
            const std::string atis = baseline ? "No-TN-Validation" : str(expect, "atis_verstat");
            const std::string twilio =
                baseline ? "No-TN-Validation" : str(expect, "twilio_stirverstat");
            const std::string contact = sip_header(res, "Contact");
            CHECK_THAT(contact, Catch::Contains(";verstat=" + atis + "@"));
            CHECK(contact.rfind("<" + str(s, "request_uri").substr(0, 16), 0) == 0);
            CHECK(sip_header(res, "X-Twilio-VerStat") == twilio);
            CHECK(sip_headers(res, "Identity") == identities);
            // The same verdict for a passthrough peer: -Passthrough unless -Diverted or nothing
            // was validated (TWILIO-API.md section 6).
            const std::string relayed = sip::verified_response(parsed.req, outcome, true);
            const bool suffixed = twilio != "No-TN-Validation" &&
                                  twilio.find("-Diverted") == std::string::npos;
            CHECK(sip_header(relayed, "X-Twilio-VerStat") ==
                  (suffixed ? twilio + "-Passthrough" : twilio));
            CHECK(sip_header(relayed, "Contact") == contact);
            CHECK(sip_headers(relayed, "Identity") == identities);
            const int code =
                !baseline && expect["sip_code"].IsInt() ? expect["sip_code"].GetInt() : 0;
            if (code == 0) {
                CHECK(sip_header(res, "Reason").empty());
            } else {
                CHECK(sip_header(res, "Reason") == "STIR;cause=" + std::to_string(code) +
                                                       ";text=\"" + str(expect, "reason") + "\"");
            }
        }
    }
}

TEST_CASE("stream framing: header block end and Content-Length", "[sip]")
{
    CHECK(sip::header_block_end("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\nrest") == 31u);
    CHECK_FALSE(sip::header_block_end("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n"));
    CHECK(sip::content_length("X\r\nContent-Length:  12 \r\n\r\n") == 12u);
    CHECK(sip::content_length("X\r\ncontent-length: 7\r\n\r\n") == 7u);
    CHECK(sip::content_length("X\r\nl:3\r\n\r\n") == 3u);
    CHECK(sip::content_length("X\r\nVia: x\r\n\r\n") == 0u);  // absent: no body
    CHECK_FALSE(sip::content_length("X\r\nContent-Length: -1\r\n\r\n"));
    CHECK_FALSE(sip::content_length("X\r\nContent-Length: 99999999999\r\n\r\n"));
    CHECK_FALSE(sip::content_length("X\r\nContent-Length: 1e3\r\n\r\n"));
}

TEST_CASE("the per-source rate admits a second's worth, then refills", "[sip]")
{
    using clock = std::chrono::steady_clock;
    const clock::time_point t0{};
    sip::source_rate rate(3, 4);
    CHECK(rate.allow("10.0.0.1", t0));
    CHECK(rate.allow("10.0.0.1", t0));
    CHECK(rate.allow("10.0.0.1", t0));
    CHECK_FALSE(rate.allow("10.0.0.1", t0));
    CHECK(rate.allow("10.0.0.2", t0));  // each address has its own bucket
    CHECK(rate.allow("10.0.0.1", t0 + std::chrono::milliseconds(340)));
    CHECK_FALSE(rate.allow("10.0.0.1", t0 + std::chrono::milliseconds(340)));
    // The table stays bounded under many sources.
    for (int i = 0; i < 100; ++i) (void)rate.allow("10.1.0." + std::to_string(i), t0);
    CHECK(rate.tracked() <= 4);
    sip::source_rate unlimited(0);
    for (int i = 0; i < 1000; ++i) CHECK(unlimited.allow("10.0.0.1", t0));
}
