#pragma once
// One error vocabulary for the whole program (STYLE.md section 2).
// errc plugs into std::error_code through a category defined here, so core stays Boost-free.
// Every enumerator has one row in error_table.cpp (HTTP status, Twilio code, ATIS id, SIP code).

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace stirgate {

enum class errc {
    // Requests and HTTP
    bad_request = 1,          // unparseable HTTP request
    not_found,                // no route / unknown resource
    method_not_allowed,       // route exists, method does not
    payload_too_large,        // body over the limit
    header_too_large,         // header block over the limit
    uri_too_long,             // request line over the limit
    request_timeout,          // client too slow
    unsupported_media_type,   // wrong Content-Type
    not_acceptable,           // Accept excludes JSON
    length_required,          // no Content-Length for a body
    missing_parameter,        // a required field is absent
    invalid_parameter,        // a field has a bad value
    body_unparseable,         // JSON/form body does not parse
    body_missing,             // a body is required and none came
    unauthorized,             // missing or wrong credentials
    forbidden,                // authenticated but not allowed (other account's resource)
    rate_limited,
    service_unavailable,      // draining or store down
    internal,                 // a bug: never the client's fault

    // Encodings
    base64url_invalid,        // character outside A-Z a-z 0-9 - _ , or padding
    json_invalid,             // not JSON, or not the expected shape
    form_invalid,             // bad application/x-www-form-urlencoded
    percent_encoding_invalid, // bad %XX escape

    // Keys and crypto
    key_invalid,              // not a P-256 key, or unreadable PEM
    crypto_failure,           // OpenSSL failed where it should not (detail has the reason)

    // JWS / PASSporT / Identity header
    jws_malformed,            // not three base64url segments, or header/payload not JSON objects
    jws_alg_unsupported,      // alg other than ES256 (including "none")
    jws_signature_malformed,  // signature not 64 raw bytes (e.g. DER)
    jws_signature_invalid,    // ECDSA verification failed
    identity_header_malformed,// Identity value does not follow RFC 8224 grammar
    identity_alg_unsupported, // alg parameter other than ES256
    identity_ppt_unsupported, // ppt we do not handle: header is ignored, not failed
    identity_ppt_mismatch,    // ppt parameter differs from the PASSporT header ppt
    identity_info_mismatch,   // info URI differs from x5u
    identity_compact_form,    // compact form where full form is required (SHAKEN, div)
    passport_header_invalid,  // typ/x5u/ppt missing or wrong in the JOSE header
    passport_claims_invalid,  // a claim is missing or of the wrong type
    passport_stale,           // iat older than the freshness window
    passport_future,          // iat too far in the future
    passport_orig_mismatch,   // orig differs from the caller (PAI/From)
    passport_dest_mismatch,   // dest does not contain the called number
    div_chain_broken,         // div PASSporT links to no earlier dest
    div_orig_changed,         // div PASSporT alters orig

    // Certificates (issue 3 fills these in)
    x5u_fetch_failed,         // x5u could not be dereferenced (436)
    x5u_refused,              // x5u URL or address refused by policy (436)
    cert_untrusted,           // chain does not reach a trust anchor (437)
    cert_expired,             // outside validity (437)
    cert_revoked,             // on a CRL (437)
    cert_no_tnauthlist,       // leaf lacks TNAuthList (437)

    // Telephone numbers
    tn_invalid,               // not a telephone number

    // CallToken
    calltoken_malformed,      // not percent-encoded JSON of the expected shape
    calltoken_bad_signature,  // parentCallInfoToken not signed by a trusted key
    calltoken_missing_claim,  // accountSid or identityHeaderTokensSha256 absent
    calltoken_expired,        // older than max_age_s
    calltoken_account_mismatch,
    calltoken_hash_mismatch,  // identityHeaderTokens edited or spliced
    calltoken_from_mismatch,  // From differs from the token's caller
    calltoken_call_mismatch,  // callSid/to differ from the request it claims to describe
    calltoken_parent_mismatch,  // the parent call we know has another account, From or To
    calltoken_parent_ended,     // the parent call we know is no longer live
    calltoken_leg_limit,        // the parent call already has its maximum of forwarded legs
    caller_id_unverified,       // From is none of the account's numbers or verified caller IDs

    // Webhook signatures
    signature_missing,        // no X-Twilio-Signature
    signature_invalid,        // X-Twilio-Signature does not match

    // Twilio Calls API parameters
    to_missing,
    to_invalid,
    from_missing,
    from_invalid,
    url_invalid,
    method_invalid,
    timeout_invalid,
    call_state_invalid,  // the call's status does not allow the update (ended, or answered)
    application_sid_unsupported,  // ApplicationSid: TwiML apps are not hosted here

    // Configuration and upstreams
    config_invalid,
    upstream_timeout,
    upstream_tls,
    upstream_unreachable,
    upstream_bad_response,
    upstream_refused,         // outbound URL, scheme, port, host or address refused by policy
    conflict,                 // the resource already exists, or is not in the state the change needs
    store_unavailable,
};

// Keep in step with the last enumerator; tests walk [1, errc_count).
inline constexpr int errc_count = static_cast<int>(errc::store_unavailable) + 1;

const std::error_category& stirgate_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// Stable snake_case name of an errc, as logged and shown in `reason` fields.
const char* errc_name(errc e) noexcept;

// An errc plus a detail for logs (OpenSSL reason, URL, field name). Never shown to clients
// verbatim: clients get the fixed message of the error table.
struct error {
    errc code = errc::internal;
    std::string detail;

    error() = default;
    error(errc c, std::string d = {}) : code(c), detail(std::move(d)) {}  // NOLINT: implicit on purpose
};

// Value or error. std::expected is C++23 and boost::system::result needs Boost 1.78.
// Default-constructible because Boost 1.74's co_spawn builds T() on its error path.
template <class T>
class [[nodiscard]] result {
public:
    result() : v_(error{errc::internal, "default-constructed result"}) {}
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
    result(error e) : v_(std::in_place_index<1>, std::move(e)) {}       // NOLINT
    result(errc c) : v_(std::in_place_index<1>, error{c}) {}            // NOLINT

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { assert(has_value()); return std::get<0>(v_); }
    const T& value() const& { assert(has_value()); return std::get<0>(v_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const error& err() const& { assert(!has_value()); return std::get<1>(v_); }
    error&& err() && { assert(!has_value()); return std::get<1>(std::move(v_)); }
    errc code() const noexcept { return has_value() ? errc{} : std::get<1>(v_).code; }

private:
    std::variant<T, error> v_;
};

// result<void>: success or error.
template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error e) : e_(std::move(e)), ok_(false) {}  // NOLINT
    result(errc c) : e_(error{c}), ok_(false) {}       // NOLINT

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const error& err() const& { assert(!ok_); return e_; }
    error&& err() && { assert(!ok_); return std::move(e_); }
    errc code() const noexcept { return ok_ ? errc{} : e_.code; }

private:
    error e_;
    bool ok_ = true;
};

inline result<void> ok() { return {}; }

}  // namespace stirgate

template <>
struct std::is_error_code_enum<stirgate::errc> : std::true_type {};
