#include "core/verstat.hpp"

#include "core/text.hpp"

#include <array>
#include <cctype>

namespace stirgate::core {
namespace {

constexpr std::string_view passed_prefix = "TN-Validation-Passed";
constexpr std::string_view failed_prefix = "TN-Validation-Failed";
constexpr std::string_view no_validation = "No-TN-Validation";
constexpr std::string_view null_value = "NULL";
constexpr std::string_view diverted_suffix = "-Diverted";
constexpr std::string_view passthrough_suffix = "-Passthrough";

}  // namespace

result<attestation> parse_attestation(std::string_view s)
{
    if (s == "A") return attestation::A;
    if (s == "B") return attestation::B;
    if (s == "C") return attestation::C;
    return error{errc::invalid_parameter, "attestation must be A, B or C"};
}

std::string_view to_string(attestation a) noexcept
{
    switch (a) {
    case attestation::A: return "A";
    case attestation::B: return "B";
    case attestation::C: return "C";
    }
    return "C";
}

std::string_view to_string(sip_verstat v) noexcept
{
    switch (v) {
    case sip_verstat::tn_validation_passed: return passed_prefix;
    case sip_verstat::tn_validation_failed: return failed_prefix;
    case sip_verstat::no_tn_validation: return no_validation;
    }
    return no_validation;
}

result<sip_verstat> parse_sip_verstat(std::string_view s)
{
    constexpr std::array values{sip_verstat::tn_validation_passed,
                                sip_verstat::tn_validation_failed, sip_verstat::no_tn_validation};
    for (const auto v : values) {
        const std::string_view text = to_string(v);
        if (!istarts_with(s, text)) continue;
        if (s.size() == text.size() || s[text.size()] == '-') return v;
    }
    return error{errc::invalid_parameter, "unknown verstat value"};
}

std::string to_string(const stir_verstat& v)
{
    std::string out;
    switch (v.outcome) {
    case twilio_outcome::not_validated: return std::string(no_validation);
    case twilio_outcome::undetermined: return std::string(null_value);
    case twilio_outcome::passed: out = passed_prefix; break;
    case twilio_outcome::failed: out = failed_prefix; break;
    }
    if (v.attest) {
        out += '-';
        out += to_string(*v.attest);
    }
    if (v.diverted)
        out += diverted_suffix;
    else if (v.passthrough)
        out += passthrough_suffix;
    return out;
}

result<stir_verstat> parse_stir_verstat(std::string_view s)
{
    const error unknown{errc::invalid_parameter, "unknown StirVerstat value"};
    stir_verstat v;
    if (s == no_validation) return v;
    if (s == null_value) {
        v.outcome = twilio_outcome::undetermined;
        return v;
    }
    std::string_view rest;
    if (s.starts_with(passed_prefix)) {
        v.outcome = twilio_outcome::passed;
        rest = s.substr(passed_prefix.size());
    } else if (s.starts_with(failed_prefix)) {
        v.outcome = twilio_outcome::failed;
        rest = s.substr(failed_prefix.size());
    } else {
        return unknown;
    }
    if (rest.ends_with(diverted_suffix)) {
        v.diverted = true;
        rest.remove_suffix(diverted_suffix.size());
    } else if (rest.ends_with(passthrough_suffix)) {
        v.passthrough = true;
        rest.remove_suffix(passthrough_suffix.size());
    }
    if (!rest.empty()) {
        if (rest.size() != 2 || rest[0] != '-') return unknown;
        auto a = parse_attestation(rest.substr(1));
        if (!a) return unknown;
        v.attest = *a;
    }
    // Twilio always names the attestation of a passed call.
    if (v.outcome == twilio_outcome::passed && !v.attest) return unknown;
    return v;
}

bool is_verified_a(const stir_verstat& v) noexcept
{
    return v.outcome == twilio_outcome::passed && v.attest == attestation::A;
}

}  // namespace stirgate::core
