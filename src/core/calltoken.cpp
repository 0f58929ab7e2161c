#include "core/calltoken.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/base64url.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "core/tn.hpp"

namespace stirgate::core {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

error malformed(std::string detail) { return error{errc::calltoken_malformed, std::move(detail)}; }

// Twilio writes iat as a JSON string of epoch seconds; a JSON integer is taken too. At most 12
// digits (year 33658) keeps later arithmetic far from overflow.
result<std::int64_t> parse_iat(const rapidjson::Value& payload)
{
    const rapidjson::Value* v = find_member(payload, "iat");
    if (v == nullptr) return malformed("iat missing");
    if (v->IsInt64()) {
        const std::int64_t n = v->GetInt64();
        if (n < 0 || n > 999'999'999'999) return malformed("iat out of range");
        return n;
    }
    if (!v->IsString()) return malformed("iat is neither a string nor an integer");
    const std::string_view s = string_view_of(*v);
    if (s.empty() || s.size() > 12) return malformed("iat is not epoch seconds");
    std::int64_t n = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return malformed("iat is not epoch seconds");
        n = n * 10 + (c - '0');
    }
    return n;
}

// An optional string member: absent is fine, present with another type is not.
result<std::optional<std::string>> optional_string(const rapidjson::Value& obj,
                                                   std::string_view name)
{
    const rapidjson::Value* v = find_member(obj, name);
    if (v == nullptr) return std::optional<std::string>{};
    if (!v->IsString()) return malformed(std::string(name) + " is not a string");
    return std::optional<std::string>{std::string(string_view_of(*v))};
}

result<std::string> required_string(const rapidjson::Value& obj, std::string_view name)
{
    auto s = get_string(obj, name, errc::calltoken_malformed);
    if (!s) return std::move(s).err();
    return std::string(*s);
}

// The hash joins values with LF (DESIGN.md), so a value holding a LF could pass for two; a SIP
// header value never contains a raw line break (RFC 3261 section 7.3.1), so such a value is
// refused wherever it could enter.
bool any_line_break(std::span<const std::string> values)
{
    for (const auto& v : values)
        if (v.find_first_of("\r\n") != std::string::npos) return true;
    return false;
}

}  // namespace

std::string identity_header_tokens_sha256(std::span<const std::string> identity_header_tokens)
{
    std::string joined;
    for (std::size_t i = 0; i < identity_header_tokens.size(); ++i) {
        if (i != 0) joined.push_back('\n');
        joined += identity_header_tokens[i];
    }
    const auto digest = sha256(joined);
    return base64url_encode(std::span<const std::uint8_t>(digest.data(), digest.size()));
}

std::string encode_calltoken_value(std::string_view parent_call_info_token,
                                   std::span<const std::string> identity_header_tokens)
{
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("parentCallInfoToken");
    write_string(w, parent_call_info_token);
    w.Key("identityHeaderTokens");
    w.StartArray();
    for (const auto& t : identity_header_tokens) write_string(w, t);
    w.EndArray();
    w.EndObject();
    return encode_uri_component(std::string_view(buf.GetString(), buf.GetSize()));
}

result<std::string> mint_calltoken(const calltoken_mint_params& params,
                                   std::span<const std::string> identity_header_tokens,
                                   const es256_private_key& platform_key, std::int64_t now)
{
    if (any_line_break(identity_header_tokens))
        return error{errc::invalid_parameter, "Identity value contains a line break"};
    // Header and the first four claims keep Twilio's exact shape and order (TWILIO-API.md s.7.3);
    // the two binding claims come after them, which Twilio-style consumers ignore.
    rapidjson::StringBuffer header_buf;
    {
        json_writer w(header_buf);
        w.StartObject();
        w.Key("alg");
        w.String("ES256");
        if (params.kid) {
            w.Key("kid");
            write_string(w, *params.kid);
        }
        w.EndObject();
    }
    rapidjson::StringBuffer payload_buf;
    {
        json_writer w(payload_buf);
        w.StartObject();
        w.Key("callSid");
        write_string(w, params.call_sid);
        w.Key("from");
        write_string(w, params.from);
        w.Key("to");
        write_string(w, params.to);
        w.Key("iat");
        write_string(w, std::to_string(now));  // Twilio: a string, not a NumericDate
        w.Key("accountSid");
        write_string(w, params.account_sid);
        w.Key("identityHeaderTokensSha256");
        write_string(w, identity_header_tokens_sha256(identity_header_tokens));
        w.EndObject();
    }
    auto jwt = sign_jws(std::string_view(header_buf.GetString(), header_buf.GetSize()),
                        std::string_view(payload_buf.GetString(), payload_buf.GetSize()),
                        platform_key);
    if (!jwt) return std::move(jwt).err();
    return encode_calltoken_value(*jwt, identity_header_tokens);
}

result<calltoken> decode_calltoken(std::string_view value)
{
    // Some HTTP stacks percent-decode one layer too many; JSON text never starts with '%'.
    if (!value.empty() && value.front() == '{') return decode_calltoken_json(value);
    auto json = decode_uri_component(value);
    if (!json) return malformed("bad percent-encoding: " + json.err().detail);
    return decode_calltoken_json(*json);
}

result<calltoken> decode_calltoken_json(std::string_view json)
{
    auto doc = parse_json_object(json);
    if (!doc) return malformed("not a JSON object: " + doc.err().detail);

    calltoken out;
    auto parent = required_string(*doc, "parentCallInfoToken");
    if (!parent) return std::move(parent).err();
    out.parent_call_info_token = std::move(*parent);

    auto tokens = get_array(*doc, "identityHeaderTokens", errc::calltoken_malformed);
    if (!tokens) return std::move(tokens).err();
    for (const auto& t : (*tokens)->GetArray()) {
        if (!t.IsString()) return malformed("identityHeaderTokens holds a non-string");
        out.identity_header_tokens.emplace_back(string_view_of(t));
    }
    if (any_line_break(out.identity_header_tokens))
        return malformed("identityHeaderTokens value contains a line break");

    auto jws = decode_jws(out.parent_call_info_token);
    if (!jws) {
        return malformed(std::string("parentCallInfoToken: ") + errc_name(jws.code()) + ": " +
                         jws.err().detail);
    }
    out.jws = std::move(*jws);

    auto header = parse_json_object(out.jws.header_json);
    if (!header) return malformed("parentCallInfoToken header: " + header.err().detail);
    auto kid = optional_string(*header, "kid");
    if (!kid) return std::move(kid).err();
    out.kid = std::move(*kid);

    auto payload = parse_json_object(out.jws.payload_json);
    if (!payload) return malformed("parentCallInfoToken payload: " + payload.err().detail);
    auto call_sid = required_string(*payload, "callSid");
    if (!call_sid) return std::move(call_sid).err();
    auto from = required_string(*payload, "from");
    if (!from) return std::move(from).err();
    auto to = required_string(*payload, "to");
    if (!to) return std::move(to).err();
    auto iat = parse_iat(*payload);
    if (!iat) return std::move(iat).err();
    auto account = optional_string(*payload, "accountSid");
    if (!account) return std::move(account).err();
    auto hash = optional_string(*payload, "identityHeaderTokensSha256");
    if (!hash) return std::move(hash).err();

    out.claims = calltoken_claims{
        .call_sid = std::move(*call_sid),
        .from = std::move(*from),
        .to = std::move(*to),
        .iat = *iat,
        .account_sid = std::move(*account),
        .identity_header_tokens_sha256 = std::move(*hash),
    };
    return out;
}

result<void> verify_calltoken_signature(const calltoken& token,
                                        std::span<const es256_public_key> trusted_keys)
{
    // Any configured key may have signed it (key rotation); kid is informational only.
    for (const auto& key : trusted_keys)
        if (verify_jws(token.jws, key)) return ok();
    return error{errc::calltoken_bad_signature, "no trusted key verifies parentCallInfoToken"};
}

result<void> check_calltoken_parent(const calltoken& token, const known_parent_call& parent,
                                    std::string_view account_sid)
{
    const std::string sid = token.claims.call_sid;
    if (parent.account_sid != account_sid)
        return error{errc::calltoken_parent_mismatch,
                     "parent call " + sid + " belongs to another account"};
    if (!same_tn(parent.from, token.claims.from) || !same_tn(parent.to, token.claims.to))
        return error{errc::calltoken_parent_mismatch,
                     "parent call " + sid + " has another From or To than the token"};
    if (!parent.live)
        return error{errc::calltoken_parent_ended,
                     "parent call " + sid + " is " + std::string(parent.status)};
    return ok();
}

result<void> check_calltoken_from(const calltoken& token, std::string_view request_from)
{
    if (!same_tn(token.claims.from, request_from))
        return error{errc::calltoken_from_mismatch, "From differs from the CallToken's from"};
    return ok();
}

result<void> check_calltoken_call(const calltoken& token, std::string_view call_sid,
                                  std::string_view from, std::string_view to)
{
    if (token.claims.call_sid != call_sid)
        return error{errc::calltoken_call_mismatch, "callSid differs from the request's CallSid"};
    if (!same_tn(token.claims.from, from))
        return error{errc::calltoken_call_mismatch, "from differs from the request's From"};
    if (!same_tn(token.claims.to, to))
        return error{errc::calltoken_call_mismatch, "to differs from the request's To"};
    return ok();
}

result<void> validate_calltoken(const calltoken& token,
                                std::span<const es256_public_key> trusted_keys,
                                std::string_view account_sid, std::string_view request_from,
                                std::int64_t now, std::int64_t max_age_s,
                                std::int64_t future_skew_s)
{
    if (auto r = verify_calltoken_signature(token, trusted_keys); !r) return r;

    const calltoken_claims& c = token.claims;
    if (!c.account_sid) return error{errc::calltoken_missing_claim, "accountSid absent"};
    if (!c.identity_header_tokens_sha256)
        return error{errc::calltoken_missing_claim, "identityHeaderTokensSha256 absent"};

    if (now - c.iat > max_age_s) return error{errc::calltoken_expired, "older than max_age_s"};
    if (c.iat - now > future_skew_s) return error{errc::calltoken_expired, "iat in the future"};

    if (*c.account_sid != account_sid)
        return error{errc::calltoken_account_mismatch, "accountSid is another account's"};

    if (any_line_break(token.identity_header_tokens) ||
        !constant_time_equal(*c.identity_header_tokens_sha256,
                             identity_header_tokens_sha256(token.identity_header_tokens)))
        return error{errc::calltoken_hash_mismatch, "identityHeaderTokens edited or spliced"};

    return check_calltoken_from(token, request_from);
}

}  // namespace stirgate::core
