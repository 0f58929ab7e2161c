#include "sti/signer.hpp"

#include <algorithm>
#include <optional>

#include "core/identity_header.hpp"
#include "core/passport.hpp"

namespace stirgate::sti {
namespace {

result<std::string> sign_identity(const signing_identity& signer, core::passport_type ppt,
                                  const core::passport_claims& claims)
{
    if (!signer.key) return error{errc::key_invalid, "no [signing] key"};
    auto jws = core::sign_passport(claims, ppt, signer.x5u, signer.key);
    if (!jws) return std::move(jws).err();
    if (signer.on_signed) signer.on_signed(ppt);
    return core::format_identity_header(*jws, signer.x5u, ppt, signer.format);
}

// An Identity value of the token, decoded far enough to order the chain.
struct kept_passport {
    std::string value;  // the Identity header value exactly as received
    core::passport p;
};

bool dest_contains(const core::passport_dest& dest, const core::passport_identity& id)
{
    const auto& list = id.is_tn() ? dest.tn : dest.uri;
    for (const auto& v : list)
        if (v == id.value) return true;
    return false;
}

}  // namespace

core::attestation originating_attestation(std::span<const core::number_config> inventory,
                                          const core::e164_number& from)
{
    for (const auto& n : inventory) {
        auto number = core::e164_number::parse(n.number);
        if (!number || *number != from) continue;
        auto level = core::parse_attestation(std::string_view(&n.attest, 1));
        return level ? *level : core::attestation::B;
    }
    return core::attestation::B;
}

core::attestation inventory_attestation(const core::account_config& account,
                                        const core::passport_identity& orig)
{
    // PASSporT TNs are canonical digits without '+' (RFC 8224 section 8); the inventory is E.164.
    if (orig.is_tn()) {
        if (auto from = core::e164_number::parse("+" + orig.value))
            return originating_attestation(account.numbers, *from);
    }
    return core::attestation::B;
}

core::attestation granted_attestation(const core::account_config& account,
                                      const core::passport_identity& orig,
                                      core::attestation requested)
{
    if (account.trusted_sbc) return requested;
    // A < B < C in the enum: the weaker (later) of the two levels.
    return std::max(inventory_attestation(account, orig), requested);
}

result<std::string> sign_shaken(const signing_identity& signer, core::attestation attest,
                                std::string orig_tn, std::string dest_tn, std::string origid,
                                std::int64_t iat)
{
    core::passport_claims c;
    c.iat = iat;
    c.orig = core::passport_identity::tn(std::move(orig_tn));
    c.dest.tn.push_back(std::move(dest_tn));
    c.attest = attest;
    c.origid = std::move(origid);
    return sign_identity(signer, core::passport_type::shaken, c);
}

result<outbound_identity> sign_originated_call(const signing_identity& signer,
                                               std::string_view origid,
                                               std::span<const core::number_config> inventory,
                                               const core::e164_number& from,
                                               const core::e164_number& to, std::int64_t now)
{
    outbound_identity out;
    out.attestation = originating_attestation(inventory, from);
    auto shaken = sign_shaken(signer, out.attestation, from.digits(), to.digits(),
                              std::string(origid), now);
    if (!shaken) return std::move(shaken).err();
    out.identity_headers.push_back(std::move(*shaken));
    return out;
}

result<outbound_identity> sign_forwarded_call(const signing_identity& signer,
                                              std::string_view origid,
                                              const core::calltoken& token,
                                              const core::e164_number& from,
                                              const core::e164_number& to, std::int64_t now)
{
    auto diverting = core::canonicalize_tn(token.claims.to);
    if (!diverting) return error{errc::tn_invalid, "CallToken to is not a TN"};

    std::optional<kept_passport> shaken;
    std::vector<kept_passport> divs;
    for (const auto& value : token.identity_header_tokens) {
        auto header = core::parse_identity_header(value);
        if (!header || header->compact) continue;
        auto p = core::decode_passport(header->token);
        if (!p) continue;
        if (p->header.ppt == core::passport_type::shaken) {
            if (!shaken) shaken = kept_passport{value, std::move(*p)};
        } else {
            divs.push_back(kept_passport{value, std::move(*p)});
        }
    }

    outbound_identity out;
    core::passport_identity orig;
    if (shaken) {
        out.attestation = shaken->p.claims.attest.value_or(core::attestation::C);
        orig = shaken->p.claims.orig;
        out.identity_headers.push_back(shaken->value);
        // RFC 8946 section 3: each DIV's div is a dest of the PASSporT before it. Walk the chain
        // from the SHAKEN PASSporT; DIVs that link nowhere keep their arrival order after it.
        std::vector<const core::passport_dest*> dests{&shaken->p.claims.dest};
        std::vector<bool> used(divs.size(), false);
        for (bool progressed = true; progressed;) {
            progressed = false;
            for (std::size_t i = 0; i < divs.size(); ++i) {
                if (used[i] || !divs[i].p.claims.div) continue;
                bool linked = false;
                for (const auto* d : dests)
                    linked = linked || dest_contains(*d, *divs[i].p.claims.div);
                if (!linked) continue;
                used[i] = true;
                progressed = true;
                dests.push_back(&divs[i].p.claims.dest);
                out.identity_headers.push_back(divs[i].value);
            }
        }
        for (std::size_t i = 0; i < divs.size(); ++i)
            if (!used[i]) out.identity_headers.push_back(divs[i].value);
    } else {
        // No SHAKEN PASSporT came in (DESIGN.md "Twilio API details"): the gateway attests C
        // for the caller it cannot vouch for, towards the number that forwards. Inbound DIVs
        // without their SHAKEN cannot verify and are not forwarded.
        out.attestation = core::attestation::C;
        auto caller = core::canonicalize_tn(token.claims.from);
        orig = core::passport_identity::tn(caller ? *caller : from.digits());
        auto c = sign_shaken(signer, core::attestation::C, from.digits(), *diverting,
                             std::string(origid), now);
        if (!c) return std::move(c).err();
        out.identity_headers.push_back(std::move(*c));
    }

    core::passport_claims div;
    div.iat = now;
    div.orig = std::move(orig);
    div.dest.tn.push_back(to.digits());
    div.div = core::passport_identity::tn(std::move(*diverting));
    auto signed_div = sign_identity(signer, core::passport_type::div, div);
    if (!signed_div) return std::move(signed_div).err();
    out.identity_headers.push_back(std::move(*signed_div));
    return out;
}

}  // namespace stirgate::sti
