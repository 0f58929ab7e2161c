#include "core/passport.hpp"

#include <algorithm>

#include <rapidjson/document.h>

#include "core/base64url.hpp"
#include "core/json.hpp"

namespace stirgate::core {
namespace {

using rapidjson::Value;

constexpr errc claims_invalid = errc::passport_claims_invalid;
constexpr errc header_invalid = errc::passport_header_invalid;

error claim_error(std::string detail) { return error{claims_invalid, std::move(detail)}; }

// {"tn":"..."} or {"uri":"..."}, nothing else (RFC 8225 section 5.2.1 "exactly one").
// `extra` names a member tolerated next to it (div's "hi").
result<passport_identity> decode_identity(const Value& obj, std::string_view claim,
                                          std::string_view extra = {})
{
    const auto* tn = find_member(obj, "tn");
    const auto* uri = find_member(obj, "uri");
    if ((tn == nullptr) == (uri == nullptr))
        return claim_error(std::string(claim) + " must hold exactly one of tn or uri");
    const std::size_t allowed = 1 + (!extra.empty() && find_member(obj, extra) != nullptr ? 1 : 0);
    if (obj.MemberCount() != allowed)
        return claim_error(std::string(claim) + " has members other than tn/uri");
    const Value& v = tn != nullptr ? *tn : *uri;
    const char* key = tn != nullptr ? ".tn" : ".uri";
    if (!v.IsString() || v.GetStringLength() == 0)
        return claim_error(std::string(claim) + key + " is not a non-empty string");
    return passport_identity{tn != nullptr ? passport_identity::kind::tn : passport_identity::kind::uri,
                             std::string(string_view_of(v))};
}

result<std::vector<std::string>> decode_string_array(const Value& v, const std::string& name)
{
    if (!v.IsArray()) return claim_error(name + " is not an array");
    std::vector<std::string> out;
    out.reserve(v.Size());
    for (const auto& e : v.GetArray()) {
        if (!e.IsString() || e.GetStringLength() == 0)
            return claim_error(name + " holds a value that is not a non-empty string");
        out.emplace_back(string_view_of(e));
    }
    return out;
}

result<passport_dest> decode_dest(const Value& claims)
{
    auto dest = get_object(claims, "dest", claims_invalid);
    if (!dest) return dest.err();
    passport_dest out;
    if (const auto* tn = find_member(**dest, "tn")) {
        auto v = decode_string_array(*tn, "dest.tn");
        if (!v) return v.err();
        out.tn = std::move(v).value();
    }
    if (const auto* uri = find_member(**dest, "uri")) {
        auto v = decode_string_array(*uri, "dest.uri");
        if (!v) return v.err();
        out.uri = std::move(v).value();
    }
    if (out.tn.empty() && out.uri.empty())
        return claim_error("dest holds no tn or uri identity");
    return out;
}

result<passport_header> decode_header(const rapidjson::Value& doc)
{
    passport_header out;
    // RFC 8225 section 8.1: a relying party rejects (here: ignores) a ppt it does not support.
    // A PASSporT without ppt is a baseline one, which a SHAKEN gateway does not validate either.
    const auto* ppt = find_member(doc, "ppt");
    if (ppt == nullptr) return error{errc::identity_ppt_unsupported, "no ppt (baseline PASSporT)"};
    if (!ppt->IsString()) return error{header_invalid, "\"ppt\" is not a string"};
    auto type = parse_passport_type(string_view_of(*ppt));
    if (!type) return type.err();
    out.ppt = *type;

    auto typ = get_string(doc, "typ", header_invalid);
    if (!typ) return typ.err();
    if (*typ != "passport") return error{header_invalid, "typ is not \"passport\""};
    auto x5u = get_string(doc, "x5u", header_invalid);
    if (!x5u) return x5u.err();
    if (x5u->empty()) return error{header_invalid, "\"x5u\" is empty"};
    out.x5u = std::string(*x5u);
    return out;
}

result<passport_claims> decode_claims(passport_type ppt, const decoded_jws& jws)
{
    auto doc = parse_json_object(jws.payload_json);
    if (!doc) return error{errc::jws_malformed, doc.err().detail};
    passport_claims out;

    // RFC 7519 NumericDate: a JSON number; "1767225600" (vector B14) and 1.7e9 are refused.
    auto iat = get_int64(*doc, "iat", claims_invalid);
    if (!iat) return iat.err();
    if (*iat < 0) return claim_error("\"iat\" is negative");
    out.iat = *iat;

    auto orig = get_object(*doc, "orig", claims_invalid);
    if (!orig) return orig.err();
    auto orig_id = decode_identity(**orig, "orig");
    if (!orig_id) return orig_id.err();
    out.orig = std::move(orig_id).value();

    auto dest = decode_dest(*doc);
    if (!dest) return dest.err();
    out.dest = std::move(dest).value();

    if (ppt == passport_type::shaken) {
        auto attest = get_string(*doc, "attest", claims_invalid);
        if (!attest) return attest.err();
        auto level = parse_attestation(*attest);
        if (!level) return claim_error("\"attest\" is not A, B or C");
        out.attest = *level;
        auto origid = get_string(*doc, "origid", claims_invalid);
        if (!origid) return origid.err();
        if (origid->empty()) return claim_error("\"origid\" is empty");
        out.origid = std::string(*origid);
    } else {
        auto div = get_object(*doc, "div", claims_invalid);
        if (!div) return div.err();
        auto div_id = decode_identity(**div, "div", "hi");
        if (!div_id) return div_id.err();
        out.div = std::move(div_id).value();
        if (const auto* hi = find_member(**div, "hi")) {
            if (!hi->IsString()) return claim_error("div.hi is not a string");
            out.div_hi = std::string(string_view_of(*hi));
        }
        // RFC 8946 section 3: opt belongs to div-o and MUST NOT appear in a div PASSporT.
        if (find_member(*doc, "opt") != nullptr) return claim_error("\"opt\" in a div PASSporT");
    }
    return out;
}

Value string_value(std::string_view s, rapidjson::Document::AllocatorType& a)
{
    return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

Value identity_value(const passport_identity& id, rapidjson::Document::AllocatorType& a)
{
    Value obj(rapidjson::kObjectType);
    obj.AddMember(Value(id.is_tn() ? "tn" : "uri", a), string_value(id.value, a), a);
    return obj;
}

Value sorted_array(std::vector<std::string> values, rapidjson::Document::AllocatorType& a)
{
    // RFC 8225 section 9: values within each dest array should be sorted lexicographically.
    std::sort(values.begin(), values.end());
    Value arr(rapidjson::kArrayType);
    for (const auto& v : values) arr.PushBack(string_value(v, a), a);
    return arr;
}

bool identity_ok(const passport_identity& id) { return !id.value.empty(); }

}  // namespace

std::string_view to_string(passport_type t) noexcept
{
    return t == passport_type::shaken ? "shaken" : "div";
}

result<passport_type> parse_passport_type(std::string_view s)
{
    if (s == "shaken") return passport_type::shaken;
    if (s == "div") return passport_type::div;
    return error{errc::identity_ppt_unsupported, "ppt \"" + std::string(s) + "\" is not supported"};
}

result<passport> decode_passport(std::string_view compact)
{
    auto jws = decode_jws(compact);
    if (!jws) return std::move(jws).err();
    return decode_passport(std::move(jws).value());
}

result<passport> decode_passport(decoded_jws jws)
{
    auto doc = parse_json_object(jws.header_json);
    if (!doc) return error{errc::jws_malformed, doc.err().detail};
    return decode_passport(std::move(jws), *doc);
}

result<passport> decode_passport(decoded_jws jws, const rapidjson::Value& header_doc)
{
    auto header = decode_header(header_doc);
    if (!header) return std::move(header).err();
    auto claims = decode_claims(header->ppt, jws);
    if (!claims) return std::move(claims).err();
    passport out;
    out.header = std::move(header).value();
    out.claims = std::move(claims).value();
    out.jws = std::move(jws);
    return out;
}

result<void> verify_passport(const passport& p, const es256_public_key& key)
{
    return verify_jws(p.jws, key);
}

std::string encode_passport_header(const passport_header& h)
{
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("alg", "ES256", a);
    doc.AddMember("ppt", string_value(to_string(h.ppt), a), a);
    doc.AddMember("typ", "passport", a);
    doc.AddMember("x5u", string_value(h.x5u, a), a);
    return write_canonical_json(doc);
}

result<std::string> encode_passport_claims(passport_type ppt, const passport_claims& c)
{
    if (!identity_ok(c.orig)) return claim_error("orig is empty");
    if (c.dest.tn.empty() && c.dest.uri.empty()) return claim_error("dest holds no identity");
    if (c.iat < 0) return claim_error("iat is negative");

    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("iat", Value(static_cast<std::int64_t>(c.iat)), a);
    doc.AddMember("orig", identity_value(c.orig, a), a);
    Value dest(rapidjson::kObjectType);
    if (!c.dest.tn.empty()) dest.AddMember("tn", sorted_array(c.dest.tn, a), a);
    if (!c.dest.uri.empty()) dest.AddMember("uri", sorted_array(c.dest.uri, a), a);
    doc.AddMember("dest", dest, a);

    if (ppt == passport_type::shaken) {
        if (!c.attest) return claim_error("attest is missing");
        if (c.origid.empty()) return claim_error("origid is missing");
        doc.AddMember("attest", string_value(to_string(*c.attest), a), a);
        doc.AddMember("origid", string_value(c.origid, a), a);
    } else {
        if (!c.div || !identity_ok(*c.div)) return claim_error("div is missing");
        Value div = identity_value(*c.div, a);
        if (c.div_hi) div.AddMember("hi", string_value(*c.div_hi, a), a);
        doc.AddMember("div", div, a);
    }
    // Members were added in any order; the canonical writer sorts them (RFC 8225 section 9).
    return write_canonical_json(doc);
}

result<std::string> sign_passport(const passport_claims& claims, passport_type ppt,
                                  std::string_view x5u, const es256_private_key& key)
{
    if (x5u.empty()) return error{header_invalid, "x5u is empty"};
    auto payload = encode_passport_claims(ppt, claims);
    if (!payload) return std::move(payload).err();
    const auto header = encode_passport_header(passport_header{ppt, std::string(x5u)});
    return sign_jws(header, *payload, key);
}

result<decoded_jws> rebuild_compact_passport(std::string_view compact, const baseline_inputs& in)
{
    // RFC 8224 section 4: compact form is the full form with header and claims left empty.
    if (compact.size() < 2 || compact.substr(0, 2) != ".." ||
        compact.find('.', 2) != std::string_view::npos)
        return error{errc::jws_malformed, "not a compact form \"..signature\" value"};
    auto sig = base64url_decode(compact.substr(2));
    if (!sig) return error{errc::jws_malformed, "signature segment: " + sig.err().detail};
    decoded_jws out;
    if (sig->size() != out.signature.size())
        return error{errc::jws_signature_malformed,
                     "signature is " + std::to_string(sig->size()) + " bytes, not 64"};
    std::copy(sig->begin(), sig->end(), reinterpret_cast<char*>(out.signature.data()));
    if (in.orig_tn.empty() || in.dest_tn.empty())
        return claim_error("orig or dest TN missing for reconstruction");
    if (in.x5u.empty()) return error{header_invalid, "info/x5u missing for reconstruction"};

    rapidjson::Document header(rapidjson::kObjectType);
    {
        auto& a = header.GetAllocator();
        header.AddMember("alg", "ES256", a);
        header.AddMember("typ", "passport", a);
        header.AddMember("x5u", string_value(in.x5u, a), a);
    }
    // Baseline claims only: encode_passport_claims would require the shaken/div extension claims.
    rapidjson::Document payload(rapidjson::kObjectType);
    {
        auto& a = payload.GetAllocator();
        payload.AddMember("iat", Value(static_cast<std::int64_t>(in.iat)), a);
        payload.AddMember("orig", identity_value(passport_identity::tn(in.orig_tn), a), a);
        Value dest(rapidjson::kObjectType);
        dest.AddMember("tn", sorted_array(in.dest_tn, a), a);
        payload.AddMember("dest", dest, a);
    }
    out.header_json = write_canonical_json(header);
    out.payload_json = write_canonical_json(payload);
    out.signing_input = base64url_encode(out.header_json) + "." + base64url_encode(out.payload_json);
    return out;
}

}  // namespace stirgate::core
