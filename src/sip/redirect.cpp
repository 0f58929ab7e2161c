#include "sip/redirect.hpp"

#include <array>
#include <cstdio>

#include "core/dates.hpp"
#include "core/passport.hpp"
#include "core/text.hpp"
#include "core/tn.hpp"
#include "core/verstat.hpp"

namespace stirgate::sip {
namespace {

constexpr std::string_view allow = "INVITE, ACK, OPTIONS";

// RFC 3261 and its extensions' methods: known, so 405 rather than 501 (RFC 3261 s.21.4.6, 21.5.2).
constexpr std::array<std::string_view, 11> other_known_methods = {
    "BYE",    "CANCEL", "REGISTER", "SUBSCRIBE", "NOTIFY", "INFO",
    "UPDATE", "PRACK",  "REFER",    "MESSAGE",   "PUBLISH"};

// Header values come from libosip2's serialisation, which never yields a line break; this keeps
// it so whatever a future parser lets through (a response must not gain header lines).
void append_value(std::string& out, std::string_view v)
{
    for (const char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
}

void append_header(std::string& out, std::string_view name, std::string_view value)
{
    out += name;
    out += ": ";
    append_value(out, value);
    out += "\r\n";
}

decision reply(const request& req, int status, std::string_view reason, std::string note,
               std::span<const header_line> extra = {})
{
    decision d;
    d.what = action::reply;
    d.status = status;
    d.note = std::move(note);
    d.response = render_response(req, status, reason, extra);
    return d;
}

// The caller (RFC 8224 section 12.1, ATIS-1000074): the first P-Asserted-Identity that holds a
// TN, else From.
std::optional<std::string> caller_tn(const request& req)
{
    for (const auto& pai : req.asserted_identities)
        if (auto tn = core::tn_from_name_addr(pai)) return *tn;
    if (auto tn = core::tn_from_name_addr(req.from)) return *tn;
    return std::nullopt;
}

// The callee: the Request-URI (the number being called now), else To.
std::optional<std::string> callee_tn(const request& req)
{
    if (auto tn = core::canonicalize_tn(req.request_uri)) return *tn;
    if (auto tn = core::tn_from_name_addr(req.to)) return *tn;
    return std::nullopt;
}

std::string contact_of(std::string_view uri)
{
    return "<" + std::string(uri) + ">";
}

decision sign_invite(const request& req, const redirect_context& ctx)
{
    const std::array<header_line, 1> contact_only{{{"Contact", contact_of(req.request_uri)}}};
    // RFC 8224 section 6.1: an authentication service without authority for the call adds no
    // Identity and lets the request go on.
    if (!ctx.signer || !ctx.signer->key)
        return reply(req, 302, "Moved Temporarily", "not signed: no [signing]", contact_only);
    const auto orig = caller_tn(req);
    const auto dest = callee_tn(req);
    if (!orig || !dest)
        return reply(req, 302, "Moved Temporarily", "not signed: caller or callee is not a TN",
                     contact_only);

    std::int64_t iat = ctx.now;
    if (req.date) {
        auto date = core::parse_sip_date(core::trim(*req.date));
        if (!date) return reply(req, 400, "Bad Date", "malformed Date");
        // RFC 8224 section 6.1 step 3: never sign a Date outside the freshness window.
        const std::int64_t skew = ctx.now - *date;
        if (skew > ctx.iat_window_s || -skew > ctx.iat_window_s)
            return reply(req, 403, "Stale Date", "Date outside the freshness window");
        iat = *date;
    }

    const auto orig_id = core::passport_identity::tn(*orig);
    // The Calls API's inventory policy; an SBC may ask for a lower level with Attestation-Info
    // (3GPP TS 24.229), and a trusted_sbc account gets what it asks for (as the ATIS API).
    core::attestation attest = sti::inventory_attestation(*ctx.account, orig_id);
    if (req.attestation_info) {
        if (auto asked = core::parse_attestation(core::trim(*req.attestation_info)))
            attest = sti::granted_attestation(*ctx.account, orig_id, *asked);
    }
    auto identity = sti::sign_shaken(*ctx.signer, attest, *orig, *dest, ctx.account->origid, iat);
    if (!identity)
        return reply(req, 500, "Server Internal Error", "signing failed: " + identity.err().detail);
    const std::array<header_line, 2> headers{
        {{"Contact", contact_of(req.request_uri)}, {"Identity", std::move(*identity)}}};
    return reply(req, 302, "Moved Temporarily", "signed " + std::string(core::to_string(attest)),
                 headers);
}

decision invite(const request& req, const redirect_context& ctx)
{
    if (req.identities.empty()) return sign_invite(req, ctx);
    decision d;
    d.what = action::verify;
    d.identities = req.identities;
    d.call.caller_tn = caller_tn(req).value_or("");
    if (auto to = core::tn_from_name_addr(req.to)) d.call.to_tn = *to;
    if (auto ruri = core::canonicalize_tn(req.request_uri)) d.call.request_uri_tn = *ruri;
    if (req.date) {
        auto date = core::parse_sip_date(core::trim(*req.date));
        if (!date) return reply(req, 400, "Bad Date", "malformed Date");
        d.call.sip_date = *date;
    }
    return d;
}

}  // namespace

std::string to_tag_for(const request& req)
{
    // FNV-1a: a tag needs uniqueness per dialog, not secrecy (RFC 3261 section 19.3).
    std::uint64_t h = 14695981039346656037ull;
    for (const std::string* part : {&req.call_id, &req.from_tag, &req.top_branch}) {
        for (const char c : *part) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ull;
        }
        h ^= 0xff;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return std::string("sg") + buf;
}

std::string render_response(const request& req, int status, std::string_view reason,
                            std::span<const header_line> extra)
{
    std::string out = "SIP/2.0 " + std::to_string(status) + " ";
    out += reason;
    out += "\r\n";
    for (const auto& via : req.vias) append_header(out, "Via", via);
    if (!req.from.empty()) append_header(out, "From", req.from);
    if (!req.to.empty()) {
        // RFC 3261 section 8.2.6.2: a UAS adds a To tag to every response but 100.
        std::string to = req.to;
        if (!req.to_has_tag && status != 100) to += ";tag=" + to_tag_for(req);
        append_header(out, "To", to);
    }
    if (!req.call_id.empty()) append_header(out, "Call-ID", req.call_id);
    if (!req.cseq.empty()) append_header(out, "CSeq", req.cseq);
    for (const auto& h : extra) append_header(out, h.name, h.value);
    out += "Server: stirgate\r\nContent-Length: 0\r\n\r\n";
    return out;
}

std::string with_verstat(std::string_view uri, std::string_view value)
{
    const auto colon = uri.find(':');
    if (colon == std::string_view::npos) return std::string(uri);
    const std::string scheme = core::ascii_lower(uri.substr(0, colon));
    // Parameters of `part` (split on ';') without any verstat, then verstat=value.
    const auto rebuild = [&](std::string_view part) {
        std::string out;
        std::size_t pos = 0;
        bool first = true;
        while (pos <= part.size()) {
            auto semi = part.find(';', pos);
            if (semi == std::string_view::npos) semi = part.size();
            const std::string_view piece = part.substr(pos, semi - pos);
            if (first || !core::istarts_with(piece, "verstat=")) {
                if (!first) out += ';';
                out += piece;
            }
            first = false;
            pos = semi + 1;
        }
        out += ";verstat=";
        out += value;
        return out;
    };
    if (scheme == "sip" || scheme == "sips") {
        const auto at = uri.find('@', colon + 1);
        if (at == std::string_view::npos || at == colon + 1) return std::string(uri);
        return std::string(uri.substr(0, colon + 1)) +
               rebuild(uri.substr(colon + 1, at - colon - 1)) + std::string(uri.substr(at));
    }
    if (scheme == "tel")
        return std::string(uri.substr(0, colon + 1)) + rebuild(uri.substr(colon + 1));
    return std::string(uri);
}

decision decide(const parse_result& parsed, const redirect_context& ctx)
{
    const request& req = parsed.req;
    if (parsed.status == parse_status::not_a_request) {
        decision d;
        d.note = parsed.problem;
        return d;
    }
    // RFC 3261 section 17.2.1: an ACK is never answered (it ends the 302's transaction).
    if (req.method == "ACK") {
        decision d;
        d.note = "ACK";
        return d;
    }
    // Strangers learn nothing else, however their message looks.
    if (!ctx.account) return reply(req, 403, "Forbidden", "source is not a [[sip.peers]] cidr");
    switch (parsed.status) {
        case parse_status::too_large:
            return reply(req, 513, "Message Too Large", parsed.problem);
        case parse_status::too_many_headers:
            return reply(req, 400, "Too Many Headers", parsed.problem);
        case parse_status::malformed:
            return reply(req, 400, "Bad Request", parsed.problem);
        case parse_status::ok:
        case parse_status::not_a_request:
            break;
    }
    if (req.method == "INVITE") return invite(req, ctx);
    const std::array<header_line, 1> allow_header{{{"Allow", std::string(allow)}}};
    if (req.method == "OPTIONS") return reply(req, 200, "OK", "OPTIONS", allow_header);
    for (const auto m : other_known_methods)
        if (req.method == m) return reply(req, 405, "Method Not Allowed", req.method, allow_header);
    return reply(req, 501, "Not Implemented", "unknown method", allow_header);
}

std::string verified_response(const request& req, const core::verification_outcome& outcome,
                              bool passthrough)
{
    core::stir_verstat twilio = outcome.twilio;
    twilio.passthrough = passthrough;
    std::vector<header_line> headers;
    headers.reserve(req.identities.size() + 3);
    headers.push_back(
        {"Contact", contact_of(with_verstat(req.request_uri, core::to_string(outcome.verstat)))});
    headers.push_back({"X-Twilio-VerStat", core::to_string(twilio)});
    for (const auto& value : req.identities) headers.push_back({"Identity", value});
    if (!outcome.valid && outcome.sip_code != 0) {
        // RFC 9410: the call goes on, the failure rides in a Reason header.
        headers.push_back({"Reason", "STIR;cause=" + std::to_string(outcome.sip_code) + ";text=\"" +
                                         outcome.reason + "\""});
    }
    return render_response(req, 302, "Moved Temporarily", headers);
}

}  // namespace stirgate::sip
