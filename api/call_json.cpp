#include "api/call_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/dates.hpp"
#include "core/form.hpp"

namespace stirgate::api {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_key(json_writer& w, std::string_view k)
{
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

void write_optional_string(json_writer& w, const std::optional<std::string>& s)
{
    if (s)
        write_string(w, *s);
    else
        w.Null();
}

void write_optional_date(json_writer& w, const std::optional<std::int64_t>& t)
{
    if (t)
        write_string(w, core::format_rfc2822(*t));
    else
        w.Null();
}

void write_size(json_writer& w, std::size_t n)
{
    w.Uint64(static_cast<std::uint64_t>(n));
}

}  // namespace

std::string format_phone_number(std::string_view number)
{
    const bool nanp = number.size() == 12 && number.substr(0, 2) == "+1" &&
                      std::all_of(number.begin() + 1, number.end(), [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c)) != 0;
                      });
    if (!nanp) return std::string(number);
    std::string out = "(";
    out += number.substr(2, 3);
    out += ") ";
    out += number.substr(5, 3);
    out += '-';
    out += number.substr(8, 4);
    return out;
}

std::string call_uri(std::string_view account_sid, std::string_view call_sid)
{
    std::string out = "/2010-04-01/Accounts/";
    out += account_sid;
    out += "/Calls/";
    out += call_sid;
    out += ".json";
    return out;
}

namespace {

void write_call(json_writer& w, const store::call_record& c)
{
    const std::string uri = call_uri(c.account_sid, c.sid);
    const std::string base = uri.substr(0, uri.size() - 5);  // without ".json"
    w.StartObject();
    write_key(w, "sid");
    write_string(w, c.sid);
    write_key(w, "account_sid");
    write_string(w, c.account_sid);
    write_key(w, "parent_call_sid");
    write_optional_string(w, c.parent_call_sid);
    write_key(w, "date_created");
    write_string(w, core::format_rfc2822(c.date_created));
    write_key(w, "date_updated");
    write_string(w, core::format_rfc2822(c.date_updated));
    write_key(w, "to");
    write_string(w, c.to);
    write_key(w, "to_formatted");
    write_string(w, format_phone_number(c.to));
    write_key(w, "from");
    write_string(w, c.from);
    write_key(w, "from_formatted");
    write_string(w, format_phone_number(c.from));
    write_key(w, "phone_number_sid");  // stirgate has no IncomingPhoneNumber resources
    w.Null();
    write_key(w, "status");
    write_string(w, store::to_string(c.status));
    write_key(w, "start_time");
    write_optional_date(w, c.start_time);
    write_key(w, "end_time");
    write_optional_date(w, c.end_time);
    write_key(w, "duration");
    if (c.duration)
        write_string(w, std::to_string(*c.duration));
    else
        w.Null();
    write_key(w, "price");  // the gateway does not rate calls
    w.Null();
    write_key(w, "price_unit");
    write_string(w, "USD");
    write_key(w, "direction");
    write_string(w, store::to_string(c.direction));
    write_key(w, "answered_by");
    w.Null();
    write_key(w, "api_version");
    write_string(w, twilio_api_version);
    write_key(w, "forwarded_from");
    write_optional_string(w, c.forwarded_from);
    write_key(w, "group_sid");
    w.Null();
    write_key(w, "caller_name");
    w.Null();
    write_key(w, "queue_time");
    write_string(w, "0");
    write_key(w, "trunk_sid");
    w.Null();
    write_key(w, "uri");
    write_string(w, uri);
    write_key(w, "subresource_uris");
    w.StartObject();
    static constexpr std::array<std::pair<const char*, const char*>, 10> subresources{{
        {"notifications", "Notifications"},
        {"recordings", "Recordings"},
        {"payments", "Payments"},
        {"events", "Events"},
        {"siprec", "Siprec"},
        {"streams", "Streams"},
        {"transcriptions", "Transcriptions"},
        {"twiml_sessions", "TwimlSessions"},
        {"user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"},
        {"user_defined_messages", "UserDefinedMessages"},
    }};
    for (const auto& [key, name] : subresources) {
        write_key(w, key);
        write_string(w, base + "/" + name + ".json");
    }
    w.EndObject();
    w.EndObject();
}

}  // namespace

std::string render_call_json(const store::call_record& call)
{
    // A call renders to ~1.5 KiB: one allocation instead of the buffer's 256-byte start and
    // five regrowths.
    rapidjson::StringBuffer buf(nullptr, 2048);
    json_writer w(buf);
    write_call(w, call);
    return {buf.GetString(), buf.GetSize()};
}

std::string page_uri(std::string_view account_sid, std::string_view resource,
                     const query_params& filters, std::size_t page_size, std::size_t page,
                     std::string_view page_token)
{
    std::string out = "/2010-04-01/Accounts/";
    out += account_sid;
    out += '/';
    out += resource;
    out += ".json?";
    for (const auto& [name, value] : filters) {
        out += core::form_encode(name);
        out += '=';
        out += core::form_encode(value);
        out += '&';
    }
    out += "PageSize=" + std::to_string(page_size) + "&Page=" + std::to_string(page);
    if (!page_token.empty()) out += "&PageToken=" + core::form_encode(page_token);
    return out;
}

std::string calls_page_uri(std::string_view account_sid, const query_params& filters,
                           std::size_t page_size, std::size_t page, std::string_view page_token)
{
    return page_uri(account_sid, "Calls", filters, page_size, page, page_token);
}

std::string render_list(const list_position& p, std::string_view key,
                        const std::vector<std::string>& items)
{
    const auto uri = [&p](std::size_t page, std::string_view token) {
        return page_uri(p.account_sid, p.resource, p.filters, p.page_size, page, token);
    };
    const std::size_t start = p.page * p.page_size;
    const std::size_t end = items.empty() ? start : start + items.size() - 1;
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    write_key(w, key);
    w.StartArray();
    for (const auto& item : items) w.RawValue(item.data(), item.size(), rapidjson::kObjectType);
    w.EndArray();
    write_key(w, "end");
    write_size(w, end);
    write_key(w, "start");
    write_size(w, start);
    write_key(w, "page");
    write_size(w, p.page);
    write_key(w, "page_size");
    write_size(w, p.page_size);
    write_key(w, "first_page_uri");
    write_string(w, uri(0, {}));
    write_key(w, "next_page_uri");
    if (p.next_page_token)
        write_string(w, uri(p.page + 1, *p.next_page_token));
    else
        w.Null();
    write_key(w, "previous_page_uri");
    if (p.page > 0 && p.previous_page_token)
        write_string(w, uri(p.page - 1, *p.previous_page_token));
    else
        w.Null();
    write_key(w, "uri");
    write_string(w, uri(p.page, p.page_token));
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

std::string render_call_list(const call_list_page& p)
{
    list_position at;
    at.account_sid = p.account_sid;
    at.resource = "Calls";
    at.filters = p.filters;
    at.page_size = p.page_size;
    at.page = p.page;
    at.page_token = p.page_token;
    at.next_page_token = p.next_page_token;
    at.previous_page_token = p.previous_page_token;
    std::vector<std::string> items;
    items.reserve(p.calls.size());
    for (const auto& c : p.calls) items.push_back(render_call_json(c));
    return render_list(at, "calls", items);
}

}  // namespace stirgate::api
