#include "core/atis.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/tn.hpp"

namespace stirgate::core {
namespace {

error missing(const char* path) { return {errc::missing_parameter, path}; }
error invalid(const char* path) { return {errc::invalid_parameter, path}; }

// A TN member given as a tel:/sip: URI or a number; canonical digits, or nothing.
std::optional<std::string> canonical(std::string_view text)
{
    auto tn = text.find('<') != std::string_view::npos ? tn_from_name_addr(text)
                                                       : canonicalize_tn(text);
    if (!tn) return std::nullopt;
    return std::move(*tn);
}

}  // namespace

result<atis_verification_request> parse_atis_verification_request(std::string_view body)
{
    auto doc = parse_json_object(body);
    if (!doc) return error{errc::body_unparseable, "body"};
    const rapidjson::Value* req = find_member(*doc, "verificationRequest");
    if (!req) return missing("verificationRequest");
    if (!req->IsObject()) return invalid("verificationRequest");

    atis_verification_request out;

    const rapidjson::Value* from = find_member(*req, "from");
    if (!from) return missing("from");
    const rapidjson::Value* from_tn = find_member(*from, "tn");
    if (!from_tn) return from->IsObject() ? missing("from.tn") : invalid("from");
    if (!from_tn->IsString()) return invalid("from.tn");
    auto caller = canonical(string_view_of(*from_tn));
    if (!caller) return invalid("from.tn");
    out.from_tn = std::move(*caller);

    const rapidjson::Value* to = find_member(*req, "to");
    if (!to) return missing("to");
    const rapidjson::Value* to_tn = find_member(*to, "tn");
    if (!to_tn) return to->IsObject() ? missing("to.tn") : invalid("to");
    if (to_tn->IsString()) {  // 3GPP form: one string
        auto tn = canonical(string_view_of(*to_tn));
        if (!tn) return invalid("to.tn");
        out.to_tns.push_back(std::move(*tn));
    } else if (to_tn->IsArray()) {
        if (to_tn->Empty() || to_tn->Size() > atis_max_identities) return invalid("to.tn");
        for (const auto& v : to_tn->GetArray()) {
            if (!v.IsString()) return invalid("to.tn");
            auto tn = canonical(string_view_of(v));
            if (!tn) return invalid("to.tn");
            out.to_tns.push_back(std::move(*tn));
        }
    } else {
        return invalid("to.tn");
    }

    const rapidjson::Value* time = find_member(*req, "time");
    if (!time) return missing("time");
    if (!time->IsInt64() || time->GetInt64() < 0) return invalid("time");
    out.time = time->GetInt64();

    const rapidjson::Value* identity = find_member(*req, "identity");
    const rapidjson::Value* identities = find_member(*req, "identities");
    if (identity && identities) return invalid("identities");
    if (identity) {
        if (!identity->IsString() || identity->GetStringLength() == 0) return invalid("identity");
        out.identities.emplace_back(string_view_of(*identity));
    } else if (identities) {
        if (!identities->IsArray() || identities->Empty() ||
            identities->Size() > atis_max_identities)
            return invalid("identities");
        for (const auto& v : identities->GetArray()) {
            if (!v.IsString() || v.GetStringLength() == 0) return invalid("identities");
            out.identities.emplace_back(string_view_of(v));
        }
    } else {
        return missing("identity");
    }

    if (const rapidjson::Value* ruri = find_member(*req, "requestUri")) {
        if (!ruri->IsString()) return invalid("requestUri");
        auto tn = canonical(string_view_of(*ruri));
        if (!tn) return invalid("requestUri");
        out.request_uri_tn = std::move(*tn);
    } else {
        out.request_uri_tn = out.to_tns.front();
    }
    return out;
}

result<atis_signing_request> parse_atis_signing_request(std::string_view body)
{
    auto doc = parse_json_object(body);
    if (!doc) return error{errc::body_unparseable, "body"};
    const rapidjson::Value* req = find_member(*doc, "signingRequest");
    if (!req) return missing("signingRequest");
    if (!req->IsObject()) return invalid("signingRequest");

    atis_signing_request out;
    if (const rapidjson::Value* ppt = find_member(*req, "ppt")) {
        if (!ppt->IsString()) return invalid("ppt");
        auto type = parse_passport_type(string_view_of(*ppt));
        if (!type) return invalid("ppt");
        out.ppt = *type;
    }
    passport_claims& c = out.claims;

    const rapidjson::Value* orig = find_member(*req, "orig");
    if (!orig) return missing("orig");
    const rapidjson::Value* orig_tn = find_member(*orig, "tn");
    if (!orig_tn) return orig->IsObject() ? missing("orig.tn") : invalid("orig");
    if (!orig_tn->IsString()) return invalid("orig.tn");
    auto caller = canonical(string_view_of(*orig_tn));
    if (!caller) return invalid("orig.tn");
    c.orig = passport_identity::tn(std::move(*caller));

    const rapidjson::Value* dest = find_member(*req, "dest");
    if (!dest) return missing("dest");
    const rapidjson::Value* dest_tn = find_member(*dest, "tn");
    if (!dest_tn) return dest->IsObject() ? missing("dest.tn") : invalid("dest");
    if (!dest_tn->IsArray() || dest_tn->Empty() || dest_tn->Size() > atis_max_identities)
        return invalid("dest.tn");
    for (const auto& v : dest_tn->GetArray()) {
        if (!v.IsString()) return invalid("dest.tn");
        auto tn = canonical(string_view_of(v));
        if (!tn) return invalid("dest.tn");
        c.dest.tn.push_back(std::move(*tn));
    }

    const rapidjson::Value* iat = find_member(*req, "iat");
    if (!iat) return missing("iat");
    if (!iat->IsInt64() || iat->GetInt64() < 0) return invalid("iat");
    c.iat = iat->GetInt64();

    if (out.ppt == passport_type::shaken) {
        const rapidjson::Value* attest = find_member(*req, "attest");
        if (!attest) return missing("attest");
        if (!attest->IsString()) return invalid("attest");
        auto level = parse_attestation(string_view_of(*attest));
        if (!level) return invalid("attest");
        c.attest = *level;
        const rapidjson::Value* origid = find_member(*req, "origid");
        if (!origid) return missing("origid");
        if (!origid->IsString() || origid->GetStringLength() == 0 ||
            origid->GetStringLength() > 128)
            return invalid("origid");
        c.origid = std::string(string_view_of(*origid));
    } else {
        // RFC 8946 section 3: a div PASSporT names the diverting identity and nothing else.
        if (find_member(*req, "attest") || find_member(*req, "origid")) return invalid("ppt");
        const rapidjson::Value* div = find_member(*req, "div");
        if (!div) return missing("div");
        const rapidjson::Value* div_tn = find_member(*div, "tn");
        if (!div_tn) return div->IsObject() ? missing("div.tn") : invalid("div");
        if (!div_tn->IsString()) return invalid("div.tn");
        auto tn = canonical(string_view_of(*div_tn));
        if (!tn) return invalid("div.tn");
        c.div = passport_identity::tn(std::move(*tn));
    }
    return out;
}

std::string render_atis_signing_response(std::string_view identity)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("signingResponse");
    w.StartObject();
    w.Key("identity");
    w.String(identity.data(), static_cast<rapidjson::SizeType>(identity.size()));
    w.EndObject();
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

call_context to_call_context(const atis_verification_request& r)
{
    call_context c;
    c.caller_tn = r.from_tn;
    c.to_tn = r.to_tns.front();
    c.request_uri_tn = r.request_uri_tn;
    c.sip_date = r.time;
    return c;
}

std::string render_atis_verification_response(const verification_outcome& outcome)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("verificationResponse");
    w.StartObject();
    w.Key("verstat");
    const std::string_view verstat = to_string(outcome.verstat);
    w.String(verstat.data(), static_cast<rapidjson::SizeType>(verstat.size()));
    if (!outcome.valid && outcome.sip_code != 0) {
        w.Key("reasonCode");
        w.Int(outcome.sip_code);
        w.Key("reasonText");
        w.String(outcome.reason.c_str(), static_cast<rapidjson::SizeType>(outcome.reason.size()));
    }
    w.EndObject();
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

}  // namespace stirgate::core
