#pragma once
// The one place where an errc becomes an HTTP status, a Twilio error code, an ATIS message id
// and (for verification outcomes) a SIP reason code. Handlers never choose a status themselves.

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace stirgate {

struct error_row {
    errc code;
    int http_status;             // status sent on the Twilio, ATIS and edge APIs
    int twilio_code;             // Twilio error catalogue number
    const char* atis_message_id; // ATIS-1000082 serviceException/policyException id
    int sip_code;                // RFC 8224 response code for verification failures, 0 if none
    const char* message;         // fixed client-facing text (never the detail)
};

// Row for an errc; every errc has one (a unit test walks them all).
const error_row& error_info(errc e) noexcept;

// RFC 8224 reason phrase of a SIP code (403, 428, 436, 437, 438), empty for others.
std::string_view sip_reason_phrase(int sip_code) noexcept;

// Twilio's four-field error body: {"code","message","more_info","status"}.
// `message` overrides the fixed text where Twilio puts request data in it (20404's path).
std::string render_twilio_error(const error& e, std::string_view message = {});

// ATIS-1000082 error body: {"requestError":{"serviceException"|"policyException":
// {"messageId","text","variables":[...]}}}; `variable` names the offending field if known.
std::string render_atis_error(const error& e, std::string_view variable = {});

// Plain JSON body for gateway-own routes: {"error":"<errc name>","message":"<fixed text>"}.
std::string render_plain_error(const error& e);

}  // namespace stirgate
