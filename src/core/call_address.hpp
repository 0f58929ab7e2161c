#pragma once
// Where a Twilio call goes or comes from: a phone number, a SIP address or a Voice SDK client
// (Twilio's Calls resource: To is "the phone number, SIP address, or client identifier you're
// calling"). Only a phone number is a TN, so only a call to one can carry a PASSporT; the
// other two are checked strictly here and otherwise kept as given.
//
// Grammar (hostile input: no whitespace, control bytes or non-ASCII anywhere):
//   sip:user@host[:port][;param[=value]]...[?name=value[&name=value]...]
//     RFC 3261 section 25.1 character sets; at most 255 characters before '?' and 1024 after
//     it (Twilio "Making SIP Calls": a SIP URI under 255 characters, headers under 1024);
//     host a DNS name (RFC 1123 labels, last one not numeric), a dotted quad or an [IPv6]
//     literal; port 1..65535; no %XX escape of a control character (no CR/LF smuggled
//     into a SIP header). No password in the URI (SipAuthPassword carries it). sips: is
//     refused: Twilio documents sip: with ;transport=tls and ;secure=true instead.
//   client:name
//     1..256 printable ASCII characters without delims or unwise ones (< > # % " { } | \ ^
//     [ ] `), as Twilio's error 31105 describes a client name.
// The scheme is matched in any case; text() keeps the address exactly as given.
// Sources: twilio.com/docs/voice/make-calls (To), /docs/voice/api/sip-making-calls (limits,
// transport, secure=true, From as the SIP From user), /docs/voice/twiml/sip (callerId),
// /docs/api/errors/31105 (client names), /docs/api/errors/21221..21225 (SipAuth*).

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/tn.hpp"

namespace stirgate::core {

enum class address_kind { phone, sip, client };
class call_address;
using phone_parser = result<e164_number> (*)(std::string_view);

// A sip: or client: address by the grammar above; anything else goes to `phone` (the API's
// plausibility rules; e164_number::parse by default). Refused: the phone parser's error
// (tn_invalid) for a number; invalid_parameter for a SIP or client address, or another scheme
// (sips:, sim:), with a detail that names the fault and never echoes the input.
[[nodiscard]] result<call_address> parse_call_address(std::string_view text,
                                                      phone_parser phone = &e164_number::parse);

inline constexpr std::size_t max_sip_uri_chars = 255;
inline constexpr std::size_t max_sip_headers_chars = 1024;
inline constexpr std::size_t max_client_name_chars = 256;

class call_address final {
public:
    call_address() = default;  // empty; only for containers and result<T>
    explicit call_address(e164_number number);

    address_kind kind() const noexcept { return kind_; }
    bool is_phone() const noexcept { return kind_ == address_kind::phone; }
    // Only for is_phone().
    const e164_number& number() const noexcept { return number_; }
    // The E.164 form of a number ("+14155550101"); a SIP or client address as given.
    const std::string& text() const noexcept { return text_; }

    friend result<call_address> parse_call_address(std::string_view, phone_parser);

private:
    call_address(address_kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}
    address_kind kind_ = address_kind::phone;
    e164_number number_;
    std::string text_;
};

// Twilio's CallerId for a sip:/client: call: a client or SIP address by the grammar above, or
// 1..255 of A-Z a-z 0-9 + - _ . (Twilio's <Sip> callerId: "any alphanumeric string", those
// characters, no whitespace). invalid_parameter otherwise.
[[nodiscard]] result<void> check_caller_id(std::string_view text);

// SipAuthUsername / SipAuthPassword: 1..255 printable ASCII characters except '"' and '\'
// (they go into a quoted digest parameter; Twilio: fewer than 256 characters, none "not
// allowed in SIP"). invalid_parameter otherwise; the detail never holds the value.
[[nodiscard]] result<void> check_sip_credential(std::string_view text);

}  // namespace stirgate::core
