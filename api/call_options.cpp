#include "api/call_options.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "core/call_address.hpp"
#include "core/text.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace {

std::string join(std::initializer_list<std::string_view> values)
{
    std::string out;
    for (const auto v : values) {
        if (!out.empty()) out += ", ";
        out += v;
    }
    return out;
}

// One of `allowed`, compared as Twilio does (case-insensitively), passed on in its listed form.
std::optional<param_error> choice(dial_options& out, std::string_view name,
                                  const std::string& value,
                                  std::initializer_list<std::string_view> allowed)
{
    for (const auto a : allowed)
        if (core::iequals(value, a)) {
            out.emplace_back(std::string(name), std::string(a));
            return std::nullopt;
        }
    return refuse_parameter(name, std::string(name) + " must be one of " + join(allowed));
}

std::optional<param_error> range(dial_options& out, std::string_view name, const std::string& value,
                                 std::int64_t min, std::int64_t max, std::string_view unit)
{
    const auto n = core::parse_decimal(value, max);
    if (!n || *n < min)
        return refuse_parameter(name, std::string(name) + " must be an integer from " + std::to_string(min) +
                                " to " + std::to_string(max) + " " + std::string(unit));
    out.emplace_back(std::string(name), std::to_string(*n));
    return std::nullopt;
}

std::optional<param_error> digits(dial_options& out, std::string_view name,
                                  const std::string& value)
{
    const bool ok =
        value.size() <= 32 && std::all_of(value.begin(), value.end(), [](char c) {
            return (c >= '0' && c <= '9') || c == '*' || c == '#' || c == 'w' || c == 'W';
        });
    if (!ok)
        return refuse_parameter(
            name, std::string(name) + " must be at most 32 of the characters 0-9, *, #, w and W");
    out.emplace_back(std::string(name), value);
    return std::nullopt;
}

std::optional<param_error> url(dial_options& out, std::string_view name, const std::string& value,
                               const net::http_client_policy& policy)
{
    if (auto bad = check_url(name, value, policy)) return bad;
    out.emplace_back(std::string(name), value);
    return std::nullopt;
}

std::optional<param_error> method(dial_options& out, std::string_view name,
                                  const std::string& value)
{
    auto m = parse_method(value);
    if (!m) return param_error{m.err(), std::string(name) + " must be GET or POST"};
    out.emplace_back(std::string(name), *m);
    return std::nullopt;
}

std::optional<param_error> events(dial_options& out, std::string_view name,
                                  const std::vector<std::string>& values)
{
    for (const auto& event : values)
        if (auto bad = choice(out, name, event, {"in-progress", "completed", "absent"})) return bad;
    return std::nullopt;
}

// What the gateway cannot do, each with why.
struct refused_parameter {
    std::string_view name;
    std::string_view why;
};
constexpr refused_parameter refused_parameters[] = {
    {"Byoc", "is not supported: the edge chooses the trunk"},
};

// Twilio's parameters for calls to sip: and client: addresses, refused naming the parameter
// for any other To, and checked (core/call_address.hpp) for those: none is silently dropped.
std::optional<param_error> destination_options(dial_options& out, const core::form_params& form,
                                               core::address_kind to)
{
    if (auto repeated = find_repeated(form, {"CallerId", "SipAuthUsername", "SipAuthPassword"}))
        return repeated;
    const auto caller_id = value_of(form, "CallerId");
    const auto username = value_of(form, "SipAuthUsername");
    const auto password = value_of(form, "SipAuthPassword");
    if (caller_id && to == core::address_kind::phone)
        return refuse_parameter("CallerId", "CallerId is used only for sip: and client: To addresses");
    for (const auto& [name, value] : {std::pair{"SipAuthUsername", &username},
                                      std::pair{"SipAuthPassword", &password}})
        if (*value && to != core::address_kind::sip)
            return refuse_parameter(name, std::string(name) + " is used only for sip: To addresses");
    if (caller_id) {
        if (auto ok = core::check_caller_id(*caller_id); !ok)
            return refuse_parameter("CallerId", "CallerId " + ok.err().detail);
        out.emplace_back("CallerId", *caller_id);
    }
    // Twilio (error 21225): no username without its password; nor, here, the other way round.
    if (username.has_value() != password.has_value())
        return refuse_parameter(username ? "SipAuthPassword" : "SipAuthUsername",
                      "SipAuthUsername and SipAuthPassword are given together");
    for (const auto& [name, value] : {std::pair{"SipAuthUsername", &username},
                                      std::pair{"SipAuthPassword", &password}}) {
        if (!*value) continue;
        // The detail names the rule, never the value: a password must not reach a log.
        if (auto ok = core::check_sip_credential(**value); !ok)
            return refuse_parameter(name, std::string(name) + " " + ok.err().detail);
        out.emplace_back(name, **value);
    }
    return std::nullopt;
}

}  // namespace

std::variant<dial_options, param_error> parse_dial_options(const core::form_params& form,
                                                           const net::http_client_policy& urls,
                                                           core::address_kind to)
{
    if (value_of(form, "ApplicationSid"))
        return param_error{{errc::application_sid_unsupported, "ApplicationSid"}, {}};
    for (const auto& r : refused_parameters)
        if (value_of(form, r.name))
            return refuse_parameter(r.name, std::string(r.name) + " " + std::string(r.why));
    if (auto repeated = find_repeated(
            form,
            {"SendDigits", "Record", "RecordingChannels", "RecordingTrack",
             "RecordingStatusCallback", "RecordingStatusCallbackMethod", "Trim", "MachineDetection",
             "MachineDetectionTimeout", "MachineDetectionSpeechThreshold",
             "MachineDetectionSpeechEndThreshold", "MachineDetectionSilenceTimeout", "AsyncAmd",
             "AsyncAmdStatusCallback", "AsyncAmdStatusCallbackMethod", "TimeLimit", "CallReason"}))
        return *std::move(repeated);

    dial_options out;
    if (auto bad = destination_options(out, form, to)) return *std::move(bad);
    const auto given = [&](std::string_view name) { return value_of(form, name); };
    std::optional<param_error> bad;
    const auto check = [&](std::string_view name, auto&& rule) {
        if (bad) return;
        if (const auto v = given(name)) bad = rule(name, *v);
    };
    const std::initializer_list<std::string_view> booleans{"true", "false"};
    check("SendDigits", [&](auto n, const auto& v) { return digits(out, n, v); });
    check("Record", [&](auto n, const auto& v) { return choice(out, n, v, booleans); });
    check("RecordingChannels", [&](auto n, const auto& v) {
        return choice(out, n, v, {"mono", "dual"});
    });
    check("RecordingTrack", [&](auto n, const auto& v) {
        return choice(out, n, v, {"inbound", "outbound", "both"});
    });
    check("RecordingStatusCallback", [&](auto n, const auto& v) { return url(out, n, v, urls); });
    check("RecordingStatusCallbackMethod",
          [&](auto n, const auto& v) { return method(out, n, v); });
    if (!bad)
        bad = events(out, "RecordingStatusCallbackEvent",
                     list_values(form, "RecordingStatusCallbackEvent"));
    check("Trim", [&](auto n, const auto& v) {
        return choice(out, n, v, {"trim-silence", "do-not-trim"});
    });
    check("MachineDetection", [&](auto n, const auto& v) {
        return choice(out, n, v, {"Enable", "DetectMessageEnd"});
    });
    check("MachineDetectionTimeout",
          [&](auto n, const auto& v) { return range(out, n, v, 3, 59, "seconds"); });
    check("MachineDetectionSpeechThreshold",
          [&](auto n, const auto& v) { return range(out, n, v, 1000, 6000, "milliseconds"); });
    check("MachineDetectionSpeechEndThreshold",
          [&](auto n, const auto& v) { return range(out, n, v, 500, 5000, "milliseconds"); });
    check("MachineDetectionSilenceTimeout",
          [&](auto n, const auto& v) { return range(out, n, v, 2000, 10000, "milliseconds"); });
    check("AsyncAmd", [&](auto n, const auto& v) { return choice(out, n, v, booleans); });
    check("AsyncAmdStatusCallback", [&](auto n, const auto& v) { return url(out, n, v, urls); });
    check("AsyncAmdStatusCallbackMethod", [&](auto n, const auto& v) { return method(out, n, v); });
    check("TimeLimit",
          [&](auto n, const auto& v) { return range(out, n, v, 1, 86400, "seconds"); });
    check("CallReason", [&](auto n, const auto& v) -> std::optional<param_error> {
        if (v.size() > 255) return refuse_parameter(n, "CallReason must be at most 255 characters");
        out.emplace_back(std::string(n), v);
        return std::nullopt;
    });
    if (bad) return *std::move(bad);
    return out;
}

std::variant<conference_options, param_error> parse_conference_options(
    const core::form_params& form, const net::http_client_policy& urls)
{
    static constexpr std::string_view refused_prefixes[] = {
        "ConferenceStatusCallback", "ConferenceRecordingStatusCallback"};
    for (const auto& p : form)
        for (const auto prefix : refused_prefixes)
            if (p.name.rfind(prefix, 0) == 0 && !p.value.empty())
                return refuse_parameter(p.name, p.name + " is not supported: this gateway does not deliver "
                                               "the conference's own callbacks");
    for (const std::string_view name : {"Coaching", "CallSidToCoach"})
        if (value_of(form, name))
            return refuse_parameter(name, std::string(name) + " is not supported: coaching is not "
                                                    "available on this gateway");
    for (const std::string_view name : {"Region", "ClientNotificationUrl"})
        if (value_of(form, name))
            return refuse_parameter(name, std::string(name) + " is not supported: the edge chooses it");
    if (auto repeated = find_repeated(
            form, {"Label", "Muted", "StartConferenceOnEnter", "EndConferenceOnExit", "Beep",
                   "EarlyMedia", "WaitUrl", "WaitMethod", "MaxParticipants", "ConferenceRecord",
                   "ConferenceTrim", "JitterBufferSize", "AmdStatusCallback",
                   "AmdStatusCallbackMethod"}))
        return *std::move(repeated);

    conference_options out;
    if (const auto label = value_of(form, "Label")) {
        if (label->size() > 128 || !core::has_no_control_characters(*label))
            return refuse_parameter("Label", "Label must be at most 128 printable characters");
        out.label = *label;
    }
    const auto flag = [&](std::string_view name, bool& into) -> std::optional<param_error> {
        const auto v = value_of(form, name);
        if (!v) return std::nullopt;
        const auto b = parse_boolean(*v);
        if (!b) return refuse_parameter(name, std::string(name) + " must be true or false");
        into = *b;
        return std::nullopt;
    };
    if (auto bad = flag("Muted", out.muted)) return *std::move(bad);
    if (auto bad = flag("StartConferenceOnEnter", out.start_conference_on_enter))
        return *std::move(bad);
    if (auto bad = flag("EndConferenceOnExit", out.end_conference_on_exit)) return *std::move(bad);

    dial_options& dial = out.dial;
    std::optional<param_error> bad;
    const auto check = [&](std::string_view name, auto&& rule) {
        if (bad) return;
        if (const auto v = value_of(form, name)) bad = rule(name, *v);
    };
    const std::initializer_list<std::string_view> booleans{"true", "false"};
    check("Beep", [&](auto n, const auto& v) {
        return choice(dial, n, v, {"true", "false", "onEnter", "onExit"});
    });
    check("EarlyMedia", [&](auto n, const auto& v) { return choice(dial, n, v, booleans); });
    check("WaitUrl", [&](auto n, const auto& v) { return url(dial, n, v, urls); });
    check("WaitMethod", [&](auto n, const auto& v) { return method(dial, n, v); });
    check("MaxParticipants",
          [&](auto n, const auto& v) { return range(dial, n, v, 2, 250, "participants"); });
    check("ConferenceRecord", [&](auto n, const auto& v) {
        return choice(dial, n, v, {"true", "false", "record-from-start", "do-not-record"});
    });
    check("ConferenceTrim", [&](auto n, const auto& v) {
        return choice(dial, n, v, {"trim-silence", "do-not-trim"});
    });
    check("JitterBufferSize", [&](auto n, const auto& v) {
        return choice(dial, n, v, {"off", "small", "medium", "large"});
    });
    check("AmdStatusCallback", [&](auto n, const auto& v) { return url(dial, n, v, urls); });
    check("AmdStatusCallbackMethod", [&](auto n, const auto& v) { return method(dial, n, v); });
    if (bad) return *std::move(bad);
    return out;
}

}  // namespace stirgate::api
