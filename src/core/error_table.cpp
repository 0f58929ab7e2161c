#include "core/error_table.hpp"

#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stirgate {
namespace {

// ATIS ids: spec/STIR-SHAKEN.md section 12.4. Twilio codes: spec/TWILIO-API.md section 2.1.
// SIP codes: spec/STIR-SHAKEN.md sections 8 and 10 (0 = not a verification failure).
constexpr std::array rows{
    error_row{errc::bad_request, 400, 20001, "SVC4006", 0, "The request could not be parsed"},
    error_row{errc::not_found, 404, 20404, "SVC4003", 0, "The requested resource was not found"},
    error_row{errc::method_not_allowed, 405, 20004, "POL4050", 0, "Method not allowed"},
    error_row{errc::payload_too_large, 413, 20001, "SVC4005", 0, "Request body too large"},
    error_row{errc::header_too_large, 431, 20001, "SVC4005", 0, "Request header fields too large"},
    error_row{errc::uri_too_long, 414, 20001, "SVC4005", 0, "Request URI too long"},
    error_row{errc::request_timeout, 408, 20001, "SVC4000", 0, "Request timed out"},
    error_row{errc::unsupported_media_type, 415, 20001, "SVC4004", 0,
              "Unsupported request body type"},
    error_row{errc::not_acceptable, 406, 20001, "SVC4002",
              0, "Requested response body type is not supported"},
    error_row{errc::length_required, 411, 20001, "SVC4007", 0,
              "Missing mandatory Content-Length header"},
    error_row{errc::missing_parameter, 400, 20001, "SVC4001", 0, "Missing mandatory parameter"},
    error_row{errc::invalid_parameter, 400, 20001, "SVC4005", 0, "Invalid parameter value"},
    error_row{errc::body_unparseable, 400, 20001, "SVC4006", 0, "Failed to parse message body"},
    error_row{errc::body_missing, 400, 20001, "SVC4000", 0, "Missing request body"},
    error_row{errc::unauthorized, 401, 20003, "POL4010", 0, "Authenticate"},
    error_row{errc::forbidden, 403, 20003, "POL4030", 0, "Permission denied"},
    error_row{errc::rate_limited, 429, 20429, "POL4290", 0, "Too Many Requests"},
    error_row{errc::service_unavailable, 503, 20503, "POL5030", 0, "Service unavailable"},
    error_row{errc::internal, 500, 20500, "POL5000", 0, "Internal server error"},

    error_row{errc::base64url_invalid, 400, 20001, "SVC4005", 438, "Invalid base64url encoding"},
    error_row{errc::json_invalid, 400, 20001, "SVC4006", 438, "Invalid JSON"},
    error_row{errc::form_invalid, 400, 20001, "SVC4006", 0, "Invalid form encoding"},
    error_row{errc::percent_encoding_invalid, 400, 20001, "SVC4006", 0,
              "Invalid percent encoding"},

    error_row{errc::key_invalid, 500, 20500, "POL5000", 0, "Internal server error"},
    error_row{errc::crypto_failure, 500, 20500, "POL5000", 0, "Internal server error"},

    error_row{errc::jws_malformed, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},
    error_row{errc::jws_alg_unsupported, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},
    error_row{errc::jws_signature_malformed, 400, 20001, "SVC4005", 438,
              "Invalid Identity Header"},
    error_row{errc::jws_signature_invalid, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},
    error_row{errc::identity_header_malformed, 400, 20001, "SVC4005", 438,
              "Invalid Identity Header"},
    error_row{errc::identity_alg_unsupported, 400, 20001, "SVC4005", 437,
              "Unsupported Credential"},
    error_row{errc::identity_ppt_unsupported, 400, 20001, "SVC4005", 0,
              "Unsupported PASSporT type"},
    error_row{errc::identity_ppt_mismatch, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},
    error_row{errc::identity_info_mismatch, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},
    error_row{errc::identity_compact_form, 400, 20001, "SVC4005", 438, "Invalid PASSporT"},
    error_row{errc::passport_header_invalid, 400, 20001, "SVC4005", 438,
              "Invalid Identity Header"},
    error_row{errc::passport_claims_invalid, 400, 20001, "SVC4005", 438, "Invalid PASSporT"},
    error_row{errc::passport_stale, 400, 20001, "SVC4005", 403, "Stale Date"},
    error_row{errc::passport_future, 400, 20001, "SVC4005", 403, "Stale Date"},
    error_row{errc::passport_orig_mismatch, 400, 20001, "SVC4005", 438,
              "Invalid Identity Header"},
    error_row{errc::passport_dest_mismatch, 400, 20001, "SVC4005", 438,
              "Invalid Identity Header"},
    error_row{errc::div_chain_broken, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},
    error_row{errc::div_orig_changed, 400, 20001, "SVC4005", 438, "Invalid Identity Header"},

    error_row{errc::x5u_fetch_failed, 400, 20001, "SVC4005", 436, "Bad Identity Info"},
    error_row{errc::x5u_refused, 400, 20001, "SVC4005", 436, "Bad Identity Info"},
    error_row{errc::cert_untrusted, 400, 20001, "SVC4005", 437, "Unsupported Credential"},
    error_row{errc::cert_expired, 400, 20001, "SVC4005", 437, "Unsupported Credential"},
    error_row{errc::cert_revoked, 400, 20001, "SVC4005", 437, "Unsupported Credential"},
    error_row{errc::cert_no_tnauthlist, 400, 20001, "SVC4005", 437, "Unsupported Credential"},

    error_row{errc::tn_invalid, 400, 21217, "SVC4005", 438,
              "Phone number does not appear to be valid"},

    // Every refused CallToken is Twilio's 21210 ('From' phone number not verified), with a
    // message naming the defect: apps fall back to their own number on exactly this code
    // (spec/TWILIO-API.md, DESIGN.md "Twilio API details").
    error_row{errc::calltoken_malformed, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: not a CallToken"},
    error_row{errc::calltoken_bad_signature, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: signature not trusted"},
    error_row{errc::calltoken_missing_claim, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: required claim missing"},
    error_row{errc::calltoken_expired, 400, 21210, "SVC4005", 0, "Invalid CallToken: expired"},
    error_row{errc::calltoken_account_mismatch, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: issued to another account"},
    error_row{errc::calltoken_hash_mismatch, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: identityHeaderTokens do not match"},
    error_row{errc::calltoken_from_mismatch, 400, 21210, "SVC4005", 0,
              "The 'From' number does not match the CallToken"},
    error_row{errc::calltoken_call_mismatch, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: does not describe this call"},
    error_row{errc::calltoken_parent_mismatch, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: does not match its parent call"},
    error_row{errc::calltoken_parent_ended, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: the parent call has ended"},
    error_row{errc::calltoken_leg_limit, 400, 21210, "SVC4005", 0,
              "Invalid CallToken: the parent call has been forwarded too often"},
    error_row{errc::caller_id_unverified, 400, 21210, "SVC4005", 0,
              "The source phone number provided, From, is not yet verified for your account"},

    error_row{errc::signature_missing, 403, 20003, "POL4030", 0,
              "Missing X-Twilio-Signature"},
    error_row{errc::signature_invalid, 403, 20003, "POL4030", 0,
              "Invalid X-Twilio-Signature"},

    error_row{errc::to_missing, 400, 21201, "SVC4001", 0, "No 'To' number is specified"},
    error_row{errc::to_invalid, 400, 21211, "SVC4005", 0, "The 'To' number is not valid"},
    error_row{errc::from_missing, 400, 21213, "SVC4001", 0,
              "No 'From' number is specified"},
    error_row{errc::from_invalid, 400, 21212, "SVC4005", 0,
              "The 'From' number is not a valid phone number"},
    error_row{errc::url_invalid, 400, 21205, "SVC4005", 0, "Url is not a valid URL"},
    error_row{errc::method_invalid, 400, 21209, "SVC4005", 0, "Method must be GET or POST"},
    error_row{errc::timeout_invalid, 400, 21208, "SVC4005", 0,
              "Timeout must be an integer between 1 and 600"},
    error_row{errc::call_state_invalid, 400, 21220, "SVC4005", 0,
              "Call is not in a valid state for this update"},
    error_row{errc::application_sid_unsupported, 400, 21218, "SVC4005", 0,
              "ApplicationSid is not supported: give Url or Twiml"},

    error_row{errc::config_invalid, 500, 20500, "POL5000", 0, "Internal server error"},
    error_row{errc::upstream_timeout, 504, 20500, "POL5000", 0, "Upstream timed out"},
    error_row{errc::upstream_tls, 502, 20500, "POL5000", 0, "Upstream TLS failure"},
    error_row{errc::upstream_unreachable, 502, 20500, "POL5000", 0, "Upstream unreachable"},
    error_row{errc::upstream_bad_response, 502, 20500, "POL5000", 0,
              "Upstream sent a bad response"},
    error_row{errc::upstream_refused, 502, 20500, "POL5000", 0,
              "Upstream address refused by policy"},
    error_row{errc::conflict, 409, 20001, "SVC4000", 0,
              "Conflict with the current state of the resource"},
    error_row{errc::store_unavailable, 503, 20500, "POL5030", 0, "Storage unavailable"},
};

static_assert(rows.size() == errc_count - 1, "every errc needs exactly one row");

constexpr bool rows_in_enum_order()
{
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (static_cast<int>(rows[i].code) != static_cast<int>(i) + 1) return false;
    return true;
}
static_assert(rows_in_enum_order(), "error rows must follow the errc declaration order");

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

const error_row& error_info(errc e) noexcept
{
    const auto i = static_cast<int>(e);
    if (i <= 0 || i >= errc_count) return rows[static_cast<std::size_t>(errc::internal) - 1];
    return rows[static_cast<std::size_t>(i) - 1];
}

std::string_view sip_reason_phrase(int sip_code) noexcept
{
    switch (sip_code) {
    case 403: return "Stale Date";
    case 428: return "Use Identity Header";
    case 436: return "Bad Identity Info";
    case 437: return "Unsupported Credential";
    case 438: return "Invalid Identity Header";
    default: return {};
    }
}

std::string render_twilio_error(const error& e, std::string_view message)
{
    const error_row& row = error_info(e.code);
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("code");
    w.Int(row.twilio_code);
    w.Key("message");
    write_string(w, message.empty() ? std::string_view(row.message) : message);
    w.Key("more_info");
    write_string(w, "https://www.twilio.com/docs/errors/" + std::to_string(row.twilio_code));
    w.Key("status");
    w.Int(row.http_status);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

std::string render_atis_error(const error& e, std::string_view variable)
{
    const error_row& row = error_info(e.code);
    const std::string_view id = row.atis_message_id;
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("requestError");
    w.StartObject();
    w.Key(id.substr(0, 3) == "POL" ? "policyException" : "serviceException");
    w.StartObject();
    w.Key("messageId");
    write_string(w, id);
    w.Key("text");
    write_string(w, row.message);
    w.Key("variables");
    w.StartArray();
    if (!variable.empty()) write_string(w, variable);
    w.EndArray();
    w.EndObject();
    w.EndObject();
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

std::string render_plain_error(const error& e)
{
    const error_row& row = error_info(e.code);
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("error");
    w.String(errc_name(e.code));
    w.Key("message");
    w.String(row.message);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

}  // namespace stirgate
