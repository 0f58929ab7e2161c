#pragma once
// The pure half of POST /webhooks/incoming-call: what the edge's form says, the CallToken
// decision, the call record to store and the form the application's webhook gets. No I/O and
// no clock of their own, so each is tested alone (incoming_call_builders_test.cpp) and the SIP
// face can build the same call from an INVITE.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/form.hpp"
#include "core/tn.hpp"
#include "core/verifier.hpp"
#include "core/verstat.hpp"
#include "store/store.hpp"

namespace stirgate::webhooks {

// The edge's form, checked (DESIGN.md "Edge interface").
struct inbound_request {
    std::string call_sid;  // the edge's; "" when it sent none (the handler assigns one)
    std::string from;
    std::string to;
    core::e164_number to_number;
    std::optional<std::int64_t> sip_date;  // SipDate, seconds since the epoch
    std::vector<std::string> identities;   // one per SIP Identity header, in order
    std::optional<std::string> forwarded_from;
    // What an upstream stirgate already decided (a call forwarded between platforms).
    std::optional<std::string> upstream_verstat;
    std::optional<std::string> upstream_calltoken;
    std::optional<std::string> upstream_passport;
    // What the edge knows of the call that the application hears unchanged, in the edge's
    // order: CallerName, the From/To/Caller/Called City/State/Zip/Country set, CalledVia,
    // SipCallId, SipSourceIp, SipDomain and SipHeader_X-* fields (TWILIO-API.md section 4).
    std::vector<std::pair<std::string, std::string>> caller_details;
    // StirPassthrough=true: the edge relays a customer's own SHAKEN PASSporT unchanged (Twilio's
    // "PASSporT passthrough"); the verdict takes the -Passthrough StirVerstat values.
    bool passthrough = false;
};

// Limits on the caller details: a SipHeader_ name is "SipHeader_X-" + letters, digits and '-';
// each value at most max_caller_detail_value bytes; at most max_caller_details of them.
inline constexpr std::size_t max_caller_details = 64;
inline constexpr std::size_t max_caller_detail_value = 1024;

// Errors, first found first: invalid_parameter "CallSid" (not a CA sid), from_missing,
// to_missing, to_invalid, invalid_parameter "SipDate", invalid_parameter naming a caller
// detail past the limits above (or a malformed SipHeader_ name). Empty fields count as absent.
[[nodiscard]] result<inbound_request> read_inbound_request(const core::form_params& form);

// What STI-VS checks the Identity values against.
core::call_context verification_context(const inbound_request& request);

// The caller-ID trust the application hears (TWILIO-API.md section 6).
struct stir_fields {
    std::optional<std::string> stir_verstat;
    std::optional<std::string> passport;  // StirPassportToken
    std::optional<core::attestation> attest;
};
// No Identity value: no STIR fields at all, as Twilio sends none. `passthrough`: the
// -Passthrough values (TN-Validation-Passed-A-Passthrough, ...; a DIV chain stays -Diverted).
stir_fields stir_fields_from(const core::verification_outcome& outcome, bool passthrough = false);

struct calltoken_keys {
    const core::es256_private_key& mint;              // empty: no CallToken is minted
    std::span<const core::es256_public_key> trusted;  // for an upstream platform's token
};

struct calltoken_decision {
    std::optional<std::string> calltoken;
    // The verifier's fields, or the upstream platform's verstat and PASSporT when its token was
    // accepted (the attestation read here stays).
    stir_fields stir;
};

// An upstream StirVerstat + CallToken pair is checked against this call (its CallSid, From, To)
// and a trusted key, and relayed; a retried webhook gets the token stored the first time; else
// one is minted with `first_seen` as its iat. Errors: the CallToken checks' (400).
[[nodiscard]] result<calltoken_decision> decide_calltoken(
    const inbound_request& request, const std::optional<store::call_record>& existing,
    std::string_view account_sid, stir_fields verified, const calltoken_keys& keys,
    std::int64_t first_seen);

// The inbound call as stored before the application hears of it: ringing, the number's
// StatusCallback (Twilio's default event: completed).
store::call_record inbound_call_record(const inbound_request& request, std::string_view account_sid,
                                       const std::string& status_callback,
                                       const calltoken_decision& decision, std::int64_t now);

// The application's voice webhook form (TWILIO-API.md section 4), STIR fields and CallToken
// added when there are any.
core::form_params app_webhook_form(const inbound_request& request, std::string_view account_sid,
                                   const calltoken_decision& decision);

}  // namespace stirgate::webhooks
