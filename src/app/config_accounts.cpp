#include "app/config_accounts.hpp"

#include <algorithm>
#include <cctype>

#include "core/tn.hpp"

namespace stirgate::app::toml_reader {
namespace {

bool is_hex(char c)
{
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// Core's E.164 grammar, written exactly in E.164 form: the separators and national forms the
// Calls API accepts have no place in a config file.
bool valid_e164(std::string_view n)
{
    auto parsed = core::e164_number::parse(n);
    return parsed && parsed->e164() == n;
}

bool valid_account_sid(std::string_view s)
{
    return s.size() == 34 && s.substr(0, 2) == "AC" &&
           std::all_of(s.begin() + 2, s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool valid_uuid(std::string_view s)
{
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

core::number_config read_number(section& s)
{
    core::number_config out;
    auto number = s.string("number");
    if (!number) s.fail_at("number", "required");
    if (!valid_e164(*number))
        s.fail_at("number",
                  "expected an E.164 number like +14155550101, got " + show_value(*number));
    out.number = *number;
    if (auto v = s.string("attest")) {
        if (*v != "A" && *v != "B" && *v != "C")
            s.fail_at("attest", "expected \"A\", \"B\" or \"C\", got " + show_value(*v));
        out.attest = (*v)[0];
    }
    if (auto v = s.url("voice_url", {"http", "https"}, true)) out.voice_url = *v;
    if (auto v = s.url("voice_fallback_url", {"http", "https"}, true)) out.voice_fallback_url = *v;
    if (auto v = s.url("status_callback", {"http", "https"}, true)) out.status_callback = *v;
    s.finish();
    return out;
}

}  // namespace

core::account_config read_account(section& s)
{
    core::account_config out;
    auto sid = s.string("sid");
    if (!sid) s.fail_at("sid", "required");
    if (!valid_account_sid(*sid))
        s.fail_at("sid",
                  "expected AC followed by 32 lowercase hex digits, got " + show_value(*sid));
    out.sid = *sid;
    auto token = s.string("auth_token");
    // Never echo a secret into a log line.
    if (!token || token->empty()) s.fail_at("auth_token", "required and must not be empty");
    out.auth_token = *token;
    if (auto v = s.string("origid")) {
        if (!valid_uuid(*v)) s.fail_at("origid", "expected a UUID, got " + show_value(*v));
        out.origid = *v;
    }
    if (auto list = s.string_array("verified_caller_ids")) {
        for (const auto& id : *list) {
            if (!valid_e164(id))
                s.fail_at("verified_caller_ids",
                          "expected E.164 numbers like +14155550101, got " + show_value(id));
            out.verified_caller_ids.push_back(id);
        }
    }
    if (auto v = s.boolean("trusted_sbc")) out.trusted_sbc = *v;
    if (const auto* numbers = s.table_array("numbers")) {
        for (std::size_t i = 0; i < numbers->size(); ++i) {
            section n(*numbers->get(i)->as_table(),
                      s.name("numbers") + "[" + std::to_string(i) + "]", s.context());
            out.numbers.push_back(read_number(n));
        }
    }
    s.finish();
    return out;
}

}  // namespace stirgate::app::toml_reader
