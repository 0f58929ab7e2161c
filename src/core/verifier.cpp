#include "core/verifier.hpp"

#include <algorithm>
#include <cstddef>

#include "core/base64url.hpp"
#include "core/error_table.hpp"
#include "core/identity_header.hpp"
#include "core/json.hpp"
#include "core/jws.hpp"
#include "core/passport.hpp"
#include "core/tn.hpp"

namespace stirgate::core {
namespace {

// One Identity value on its way through the checks. Errors are kept per stage so that the code
// reported is the one of the earliest stage that failed (STIR-SHAKEN.md section 8: syntax ->
// freshness -> identity binding -> certificate -> signature), whatever order we compute in.
struct candidate {
    identity_result* out = nullptr;
    std::optional<passport_type> type;  // from the ppt parameter; unset for baseline/ignored
    bool decoded = false;               // header and claims could be read
    passport pp;                        // valid when decoded
    std::string digest;                 // the token as received ("h.p.s")
    bool signature_malformed = false;   // not 64 raw bytes: reported at the signature stage
    std::string signature_detail;

    // errc{} when fine (error's default is errc::internal, hence the explicit initialisers).
    error syntax{errc{}};      // parse, decode, header checks
    error freshness{errc{}};
    error binding{errc{}};     // orig/dest, or the div chain link
    error credential{errc{}};  // certificate, then signature

    bool referenced = false;  // some div PASSporT extends this one (RFC 8946 section 4.2)
    bool fresh_as_outermost = false;  // iat within the normal window, not the chained one

    bool ok_before_binding() const { return !bad(syntax) && !bad(freshness); }
    bool ok_before_credential() const { return ok_before_binding() && !bad(binding); }
    bool ok() const { return ok_before_credential() && !bad(credential); }
    const error& first_error() const
    {
        if (bad(syntax)) return syntax;
        if (bad(freshness)) return freshness;
        if (bad(binding)) return binding;
        return credential;
    }
    static bool bad(const error& e) { return e.code != errc{}; }
};

bool is_shaken(const candidate& c) { return c.type == passport_type::shaken; }
bool is_div(const candidate& c) { return c.type == passport_type::div; }

// RFC 8224 section 8: compare canonical forms byte for byte. The call side is canonical
// already; a signer that wrote "+1..." in a claim is read leniently.
bool tn_matches(std::string_view claim_tn, std::string_view canonical)
{
    if (canonical.empty()) return false;
    if (claim_tn == canonical) return true;
    auto c = canonicalize_tn(claim_tn);
    return c && *c == canonical;
}

bool dest_has_tn(const passport_dest& dest, std::string_view canonical)
{
    return std::any_of(dest.tn.begin(), dest.tn.end(),
                       [&](const std::string& t) { return tn_matches(t, canonical); });
}

// RFC 8946 section 4.2 step 2: `div` names a value of the earlier PASSporT's dest.
bool div_links_to(const candidate& later, const candidate& earlier)
{
    if (!later.decoded || !earlier.decoded || &later == &earlier) return false;
    if (!later.pp.claims.div) return false;
    const passport_identity& d = *later.pp.claims.div;
    const passport_dest& dest = earlier.pp.claims.dest;
    if (d.is_tn()) {
        return std::any_of(dest.tn.begin(), dest.tn.end(), [&](const std::string& t) {
            if (t == d.value) return true;
            auto a = canonicalize_tn(t);
            auto b = canonicalize_tn(d.value);
            return a && b && *a == *b;
        });
    }
    return std::find(dest.uri.begin(), dest.uri.end(), d.value) != dest.uri.end();
}

// Splits "h.p.s" and decodes what the later stages need, without decode_jws's early refusal
// of a non-64-byte signature: a DER signature (vector B15) is a signature failure, reported
// after freshness and binding, and the attestation must still be readable for Twilio's value.
void decode_full_form(candidate& c, const identity_header& ih)
{
    const std::string& token = ih.token;
    const auto first = token.find('.');
    const auto second = first == std::string::npos ? first : token.find('.', first + 1);
    if (second == std::string::npos || token.find('.', second + 1) != std::string::npos) {
        c.syntax = error{errc::jws_malformed, "token is not three segments"};
        return;
    }
    const std::string_view h(token.data(), first);
    const std::string_view p(token.data() + first + 1, second - first - 1);
    const std::string_view s(token.data() + second + 1, token.size() - second - 1);
    if (h.empty() || p.empty()) {
        c.syntax = error{errc::jws_malformed, "empty header or payload segment"};
        return;
    }
    auto header_json = base64url_decode(h);
    if (!header_json) {
        c.syntax = error{errc::jws_malformed, "header segment: " + header_json.err().detail};
        return;
    }
    auto payload_json = base64url_decode(p);
    if (!payload_json) {
        c.syntax = error{errc::jws_malformed, "payload segment: " + payload_json.err().detail};
        return;
    }
    auto sig = base64url_decode(s);
    if (!sig) {
        c.syntax = error{errc::jws_malformed, "signature segment: " + sig.err().detail};
        return;
    }

    // Header checks that must precede decode_passport: alg (RFC 7518 section 3.4, "none" and
    // others refused) and the ppt parameter against the header ppt (RFC 8224 section 4.1).
    auto header_doc = parse_json_object(*header_json);
    if (!header_doc) {
        c.syntax = error{errc::jws_malformed, "header: " + header_doc.err().detail};
        return;
    }
    auto alg = get_string(*header_doc, "alg", errc::jws_alg_unsupported);
    if (!alg) {
        c.syntax = alg.err();
        return;
    }
    if (*alg != "ES256") {
        c.syntax = error{errc::jws_alg_unsupported, "alg \"" + std::string(*alg) + "\""};
        return;
    }
    const auto* header_ppt = find_member(*header_doc, "ppt");
    if (header_ppt == nullptr || !header_ppt->IsString() ||
        string_view_of(*header_ppt) != *ih.ppt) {
        c.syntax = error{errc::identity_ppt_mismatch, "ppt parameter differs from header ppt"};
        return;
    }

    decoded_jws jws;
    jws.signing_input = std::string(token.data(), second);
    jws.header_json = std::move(*header_json);
    jws.payload_json = std::move(*payload_json);
    if (sig->size() == jws.signature.size()) {
        std::copy(sig->begin(), sig->end(), reinterpret_cast<char*>(jws.signature.data()));
    } else {
        c.signature_malformed = true;
        c.signature_detail = "signature is " + std::to_string(sig->size()) + " bytes, not 64";
    }
    auto pp = decode_passport(std::move(jws), *header_doc);
    if (!pp) {
        c.syntax = std::move(pp).err();
        return;
    }
    c.pp = std::move(pp).value();
    c.decoded = true;
    c.digest = token;
    if (is_shaken(c)) c.out->attest = c.pp.claims.attest;

    // RFC 8224 section 4.1: x5u equals info by simple string comparison (RFC 3986 s.6.2.1).
    if (c.pp.header.x5u != ih.info) {
        c.syntax = error{errc::identity_info_mismatch, "x5u differs from info"};
    }
}

// RFC 8224 section 4: baseline compact form, rebuilt from the SIP request and checked when
// its certificate is at hand. Reported per identity only: SHAKEN does not count it.
void verify_baseline(candidate& c, const identity_header& ih, const call_context& call,
                     const certificate_map& certificates)
{
    c.out->ignored = true;
    if (!ih.compact || !call.sip_date) {
        c.out->code = errc::identity_ppt_unsupported;
        return;
    }
    baseline_inputs in;
    in.iat = *call.sip_date;
    in.orig_tn = call.caller_tn;
    in.dest_tn = {call.to_tn};
    in.x5u = ih.info;
    auto jws = rebuild_compact_passport(ih.token, in);
    const auto cert = certificates.find(ih.info);
    if (!jws) {
        c.out->code = jws.code();
    } else if (cert == certificates.end()) {
        c.out->code = errc::x5u_fetch_failed;
    } else if (!cert->second) {
        c.out->code = cert->second.code();
    } else {
        c.out->code = verify_jws(*jws, cert->second->key).code();
    }
}

void check_freshness(candidate& c, const call_context& call, std::int64_t now,
                     const verify_policy& policy)
{
    // RFC 8224 section 6.2 step 4 with STIR-SHAKEN.md 13.4/13.7: stale beyond the window, or
    // ahead of our clock beyond a small skew. A PASSporT that a div extends may be older.
    const std::int64_t window = c.referenced ? std::max(policy.chained_window_s,
                                                        policy.iat_window_s)
                                             : policy.iat_window_s;
    const std::int64_t iat = c.pp.claims.iat;
    c.fresh_as_outermost = now - iat <= policy.iat_window_s;
    if (now - iat > window) {
        c.freshness = error{errc::passport_stale, "iat " + std::to_string(now - iat) + " s old"};
    } else if (iat - now > policy.future_skew_s) {
        c.freshness = error{errc::passport_future, "iat " + std::to_string(iat - now) + " s ahead"};
    } else if (call.sip_date) {
        // The Date header must be fresh too; it need not equal iat (iat is what was signed).
        const std::int64_t date = *call.sip_date;
        if (now - date > policy.iat_window_s) {
            c.freshness = error{errc::passport_stale, "Date header too old"};
        } else if (date - now > policy.future_skew_s) {
            c.freshness = error{errc::passport_future, "Date header in the future"};
        }
    }
}

void check_credential(candidate& c, const certificate_map& certificates)
{
    const auto it = certificates.find(c.pp.header.x5u);
    if (it == certificates.end()) {
        c.credential = error{errc::x5u_fetch_failed, "certificate not fetched"};
        return;
    }
    if (!it->second) {
        c.credential = it->second.err();
        return;
    }
    const verified_cert& cert = *it->second;
    c.out->spc = cert.spc;
    // STIR-SHAKEN.md section 9.2: the credential must also cover the signing time.
    if (c.pp.claims.iat > cert.not_after) {
        c.credential = error{errc::cert_expired, "iat after the certificate's notAfter"};
        return;
    }
    if (c.signature_malformed) {
        c.credential = error{errc::jws_signature_malformed, c.signature_detail};
        return;
    }
    auto v = verify_passport(c.pp, cert.key);
    if (!v) c.credential = std::move(v).err();
}

// Twilio's table (TWILIO-API.md section 6): a signature or credential failure is
// TN-Validation-Failed; syntax, freshness and binding problems are No-TN-Validation.
bool is_credential_failure(errc e)
{
    switch (e) {
    case errc::jws_signature_invalid:
    case errc::jws_signature_malformed:
    case errc::key_invalid:
    case errc::identity_alg_unsupported:
    case errc::x5u_fetch_failed:
    case errc::x5u_refused:
    case errc::cert_untrusted:
    case errc::cert_expired:
    case errc::cert_revoked:
    case errc::cert_no_tnauthlist:
    case errc::div_chain_broken:
    case errc::div_orig_changed:
        return true;
    default:
        return false;
    }
}

}  // namespace

std::string_view verification_reason(errc code) noexcept
{
    switch (code) {
    case errc::identity_ppt_mismatch:
    case errc::identity_compact_form:
    case errc::passport_claims_invalid:
        return "Invalid PASSporT";
    default:
        return sip_reason_phrase(error_info(code).sip_code);
    }
}

std::vector<std::string> required_x5u(std::span<const std::string> identity_values)
{
    std::vector<std::string> out;
    for (const auto& value : identity_values) {
        auto ih = parse_identity_header(value);
        if (!ih) continue;
        // Unsupported extensions are ignored (RFC 8224 section 6.2 step 1); shaken/div and
        // baseline (no ppt) identities name a certificate.
        if (ih->ppt && !parse_passport_type(*ih->ppt)) continue;
        if (ih->compact && ih->ppt) continue;  // refused before any fetch (RFC 8588 s.3)
        if (std::find(out.begin(), out.end(), ih->info) == out.end()) out.push_back(ih->info);
    }
    return out;
}

namespace {

struct call_facts {
    bool any_usable = false;  // some value is one we validate (not only ignored extensions)
    bool diverted = false;    // some value is a div PASSporT
};

// Stage 1, syntax: each Identity value parsed and, for SHAKEN/DIV in full form, decoded.
call_facts parse_candidates(std::span<const std::string> identity_values,
                            const call_context& call, const certificate_map& certificates,
                            std::vector<candidate>& cands)
{
    call_facts facts;
    for (std::size_t i = 0; i < identity_values.size(); ++i) {
        candidate& c = cands[i];
        auto ih = parse_identity_header(identity_values[i]);
        if (!ih) {
            // Not even the ppt can be read: a broken header of unknown kind, counted as a
            // failed SHAKEN attempt (RFC 8224 section 6.2.2: 438).
            c.syntax = std::move(ih).err();
            facts.any_usable = true;
            continue;
        }
        c.out->x5u = ih->info;
        if (!ih->ppt) {
            c.out->ppt.clear();
            verify_baseline(c, *ih, call, certificates);
            continue;
        }
        c.out->ppt = *ih->ppt;
        auto type = parse_passport_type(*ih->ppt);
        if (!type) {
            c.out->ignored = true;  // RFC 8224 section 6.2 step 1
            c.out->code = errc::identity_ppt_unsupported;
            continue;
        }
        c.type = *type;
        facts.any_usable = true;
        if (is_div(c)) facts.diverted = true;
        if (ih->alg && *ih->alg != "ES256") {
            // RFC 8224 section 6.2.2: an algorithm we cannot use is an unsupported credential.
            c.syntax = error{errc::identity_alg_unsupported, "alg parameter " + *ih->alg};
            continue;
        }
        if (ih->compact) {
            // RFC 8588 section 3 and RFC 8946 section 3: full form only (vector B18).
            c.syntax = error{errc::identity_compact_form, "compact form for ppt " + *ih->ppt};
            continue;
        }
        decode_full_form(c, *ih);
    }
    return facts;
}

// Which PASSporTs some div extends: they get the chained freshness window.
void mark_referenced(std::vector<candidate>& cands)
{
    for (auto& later : cands) {
        if (!is_div(later) || !later.decoded) continue;
        for (auto& earlier : cands) {
            if (div_links_to(later, earlier) && earlier.pp.claims.orig == later.pp.claims.orig) {
                earlier.referenced = true;
            }
        }
    }
}

// Stage 3, identity binding: SHAKEN orig/dest against the call, DIV links along the chain.
void check_binding(candidate& c, std::span<const candidate> cands, const call_context& call,
                   bool diverted)
{
    const passport_claims& claims = c.pp.claims;
    if (is_shaken(c)) {
        // RFC 8224 section 6.2 step 2 / RFC 8588: orig is the caller's TN (PAI, else From).
        if (!claims.orig.is_tn() || !tn_matches(claims.orig.value, call.caller_tn)) {
            c.binding = error{errc::passport_orig_mismatch, "orig is not the caller"};
        } else if (!diverted && !dest_has_tn(claims.dest, call.to_tn) &&
                   !dest_has_tn(claims.dest, call.request_uri_tn)) {
            // STIR-SHAKEN.md section 13.5: To or Request-URI when the call is not diverted;
            // with div PASSporTs the chain decides which dest must be the Request-URI.
            c.binding = error{errc::passport_dest_mismatch, "dest holds neither To nor R-URI"};
        }
        return;
    }
    // RFC 8946 section 4.2 steps 2 and 5: link to an earlier dest, orig unchanged.
    bool linked = false;
    bool same_orig = false;
    for (const auto& earlier : cands) {
        if (!div_links_to(c, earlier)) continue;
        linked = true;
        if (earlier.pp.claims.orig == claims.orig) same_orig = true;
    }
    if (!linked) {
        c.binding = error{errc::div_chain_broken, "div names no earlier dest"};
    } else if (!same_orig) {
        c.binding = error{errc::div_orig_changed, "orig differs along the chain"};
    }
}

// Stages 2 to 4 in cost order; each runs only where the cheaper ones passed.
void check_candidates(std::vector<candidate>& cands, const call_context& call, std::int64_t now,
                      const verify_policy& policy, const certificate_map& certificates,
                      bool diverted)
{
    for (auto& c : cands) {
        if (c.decoded && !candidate::bad(c.syntax)) check_freshness(c, call, now, policy);
    }
    for (auto& c : cands) {
        if (c.decoded && c.ok_before_binding()) check_binding(c, cands, call, diverted);
    }
    for (auto& c : cands) {
        if (c.decoded && c.ok_before_credential()) check_credential(c, certificates);
    }
    for (auto& c : cands) {
        if (c.out->ignored) continue;
        c.out->code = c.first_error().code;
        c.out->detail = c.first_error().detail;
        c.out->sip_code = c.out->code == errc{} ? 0 : error_info(c.out->code).sip_code;
    }
}

struct verdict {
    const candidate* chosen = nullptr;  // the SHAKEN PASSporT the outcome reports
    bool valid = false;
    bool valid_through_div = false;
};

// RFC 8946 section 4.2 step 3: a verified SHAKEN PASSporT, extended by verified div
// PASSporTs, must reach a dest equal to the Request-URI.
verdict judge_diverted_call(std::span<const candidate> cands, const call_context& call)
{
    verdict v;
    std::vector<const candidate*> root(cands.size(), nullptr);
    for (std::size_t i = 0; i < cands.size(); ++i) {
        if (is_shaken(cands[i]) && cands[i].ok()) root[i] = &cands[i];
    }
    for (bool grew = true; grew;) {  // at most one pass per div
        grew = false;
        for (std::size_t i = 0; i < cands.size(); ++i) {
            if (root[i] || !is_div(cands[i]) || !cands[i].ok()) continue;
            for (std::size_t j = 0; j < cands.size(); ++j) {
                if (root[j] && div_links_to(cands[i], cands[j]) &&
                    cands[j].pp.claims.orig == cands[i].pp.claims.orig) {
                    root[i] = root[j];
                    grew = true;
                    break;
                }
            }
        }
    }
    // The chain's end is held to the normal window (RFC 8946 section 4.2 step 6): the longer
    // one only applies to PASSporTs that a verified div extends, so a forged div cannot
    // stretch the replay window of an old SHAKEN PASSporT that names the Request-URI.
    for (std::size_t i = 0; i < cands.size() && !v.valid; ++i) {
        if (root[i] && cands[i].fresh_as_outermost &&
            dest_has_tn(cands[i].pp.claims.dest, call.request_uri_tn)) {
            v.valid = true;
            v.valid_through_div = is_div(cands[i]);
            v.chosen = root[i];
        }
    }
    return v;
}

// Verdict. Without div PASSporTs any verified SHAKEN PASSporT validates the call (RFC 8224
// section 6.2.1); with them, the chain decides. The reported PASSporT falls back to the first
// verified SHAKEN one, then to the first that is not ignored and not a div.
verdict judge_call(std::span<const candidate> cands, const call_context& call, bool diverted)
{
    const auto first_verified_shaken = [&]() -> const candidate* {
        for (const auto& c : cands) {
            if (is_shaken(c) && c.ok()) return &c;
        }
        return nullptr;
    };
    verdict v;
    if (!diverted) {
        v.chosen = first_verified_shaken();
        v.valid = v.chosen != nullptr;
    } else {
        v = judge_diverted_call(cands, call);
    }
    if (!v.chosen) v.chosen = first_verified_shaken();
    if (!v.chosen) {
        for (const auto& c : cands) {
            if (!c.out->ignored && !is_div(c)) {
                v.chosen = &c;
                break;
            }
        }
    }
    return v;
}

// The first defective div's code, or `otherwise`.
errc first_div_failure(std::span<const candidate> cands, errc otherwise)
{
    for (const auto& c : cands) {
        if (is_div(c) && c.out->code != errc{}) return c.out->code;
    }
    return otherwise;
}

// A call that did not validate although something was usable: which code it reports, and
// whether Twilio counts it as a credential failure (TN-Validation-Failed).
void report_failure(verification_outcome& outcome, std::span<const candidate> cands,
                    const candidate* chosen)
{
    outcome.verstat = sip_verstat::tn_validation_failed;
    errc code = errc{};
    bool credential_class = true;
    if (chosen && chosen->ok()) {
        // The SHAKEN PASSporT holds but its div chain does not: the first defective div, or an
        // outermost dest that is not the Request-URI. Twilio reports the whole call as failed.
        code = first_div_failure(cands, errc::passport_dest_mismatch);
    } else if (chosen) {
        code = chosen->out->code;
        credential_class = is_credential_failure(code);
    } else {
        // Only div PASSporTs, none anchored on a SHAKEN one.
        code = first_div_failure(cands, errc::div_chain_broken);
    }
    outcome.code = code;
    outcome.sip_code = error_info(code).sip_code;
    outcome.reason = std::string(verification_reason(code));
    outcome.twilio.outcome =
        credential_class ? twilio_outcome::failed : twilio_outcome::not_validated;
}

}  // namespace

verification_outcome verify_call(std::span<const std::string> identity_values,
                                 const call_context& call, std::int64_t now,
                                 const verify_policy& policy, const certificate_map& certificates)
{
    verification_outcome outcome;
    outcome.identities.resize(identity_values.size());
    std::vector<candidate> cands(identity_values.size());
    for (std::size_t i = 0; i < cands.size(); ++i) cands[i].out = &outcome.identities[i];

    const call_facts facts = parse_candidates(identity_values, call, certificates, cands);
    mark_referenced(cands);
    check_candidates(cands, call, now, policy, certificates, facts.diverted);
    const verdict v = judge_call(cands, call, facts.diverted);

    if (v.chosen && v.chosen->decoded) {
        outcome.shaken_passport = v.chosen->digest;
        outcome.attest = v.chosen->pp.claims.attest;
    }
    outcome.twilio.attest = outcome.attest;
    outcome.twilio.diverted = facts.diverted;
    const bool any_div_decoded =
        std::any_of(cands.begin(), cands.end(), [](const candidate& c) {
            return is_div(c) && c.decoded;
        });
    if (any_div_decoded) {
        outcome.div_verstat = v.valid_through_div ? sip_verstat::tn_validation_passed
                                                  : sip_verstat::tn_validation_failed;
    }

    if (v.valid) {
        outcome.valid = true;
        outcome.verstat = sip_verstat::tn_validation_passed;
        outcome.twilio.outcome = twilio_outcome::passed;
    } else if (!facts.any_usable) {
        // Nothing we validate: no Identity at all, or only ignored ones (vector B4, C1).
        outcome.verstat = sip_verstat::no_tn_validation;
        outcome.twilio.outcome = twilio_outcome::not_validated;
        if (!identity_values.empty()) outcome.code = errc::identity_ppt_unsupported;
    } else {
        report_failure(outcome, cands, v.chosen);
    }
    return outcome;
}

}  // namespace stirgate::core
