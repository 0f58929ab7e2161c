#pragma once
// The SIP Identity header field value (RFC 8224 section 4, base64url erratum 6499 applied):
//   signed-identity-digest ;info=<absoluteURI> [;alg=ES256] [;ppt=shaken|"shaken"] *(;generic-param)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/passport.hpp"

namespace stirgate::core {

struct identity_param {
    std::string name;   // lower-cased (parameter names are case-insensitive, RFC 3261 section 7.3.1)
    std::string value;  // as written (quotes kept); empty when the parameter has no value
};

// One parsed Identity value. Owns its bytes.
struct identity_header {
    std::string token;               // "h.p.s" (full form) or "..s" (compact form), unvalidated
    bool compact = false;            // RFC 8224 section 4: header and claims omitted ("..sig")
    std::string info;                // the URI inside <...>
    std::optional<std::string> alg;  // as written; absent means ES256 (RFC 8224 section 4.1)
    std::optional<std::string> ppt;  // one pair of surrounding double quotes removed
    bool ppt_quoted = false;         // ppt="shaken" rather than ppt=shaken
    std::vector<identity_param> other_params;  // unknown generic-params, in order (ignored)
};

// Parses one Identity header value. Tolerates LWS (spaces, tabs, folded lines) around the value,
// ';' and '=', case-insensitive parameter names, quoted or bare ppt, and any unknown parameters.
// The token itself is only split off here (up to the first ';' or whitespace); decode_jws checks
// its base64url, so a bad character is reported as jws_malformed with a precise detail.
// errc::identity_header_malformed: empty token, missing/duplicate info, info not <absoluteURI>,
// duplicate alg/ppt, an empty parameter, bad quoting, junk after a value.
[[nodiscard]] result<identity_header> parse_identity_header(std::string_view value);

// Drops a leading "Identity:" or compact "y:" header name (case-insensitive, spaces around the
// colon allowed, LWS after it dropped) from a pasted header line; returns the input unchanged when
// there is none.
std::string_view strip_identity_header_name(std::string_view line);

struct identity_format_options {
    // ATIS/Twilio examples write ppt="shaken"; secsipidx/libstirshaken write ppt=shaken.
    // Receivers accept both (STIR-SHAKEN.md section 3.2); we default to the quoted form.
    bool quote_ppt = true;
};

// "<jws>;info=<info>;alg=ES256;ppt=\"<ppt>\"" (RFC 8224 section 4, full form).
std::string format_identity_header(std::string_view jws, std::string_view info, passport_type ppt,
                                   identity_format_options opts = {});

}  // namespace stirgate::core
