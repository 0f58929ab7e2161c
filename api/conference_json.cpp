#include "api/conference_json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/call_json.hpp"
#include "core/dates.hpp"

namespace stirgate::api {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct writer {
    json_writer& w;

    void key(std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
    void string(std::string_view k, std::string_view v)
    {
        key(k);
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    void optional(std::string_view k, const std::optional<std::string>& v)
    {
        if (v) return string(k, *v);
        key(k);
        w.Null();
    }
    void boolean(std::string_view k, bool v)
    {
        key(k);
        w.Bool(v);
    }
    void date(std::string_view k, std::int64_t t) { string(k, core::format_rfc2822(t)); }
};

std::string conference_base(std::string_view account_sid, std::string_view conference_sid)
{
    std::string out = "/2010-04-01/Accounts/";
    out += account_sid;
    out += "/Conferences/";
    out += conference_sid;
    return out;
}

}  // namespace

std::string conference_uri(std::string_view account_sid, std::string_view conference_sid)
{
    return conference_base(account_sid, conference_sid) + ".json";
}

std::string participant_uri(std::string_view account_sid, std::string_view conference_sid,
                            std::string_view call_sid)
{
    return conference_base(account_sid, conference_sid) + "/Participants/" + std::string(call_sid) +
           ".json";
}

std::string render_conference_json(const store::conference_record& c)
{
    rapidjson::StringBuffer buf;
    json_writer jw(buf);
    writer w{jw};
    jw.StartObject();
    w.string("account_sid", c.account_sid);
    w.date("date_created", c.date_created);
    w.date("date_updated", c.date_updated);
    w.string("api_version", twilio_api_version);
    w.string("friendly_name", c.friendly_name);
    w.string("region", "us1");
    w.string("sid", c.sid);
    w.string("status", store::to_string(c.status));
    w.string("uri", conference_uri(c.account_sid, c.sid));
    w.key("subresource_uris");
    jw.StartObject();
    const std::string base = conference_base(c.account_sid, c.sid);
    w.string("participants", base + "/Participants.json");
    w.string("recordings", base + "/Recordings.json");
    jw.EndObject();
    w.optional("reason_conference_ended", c.reason_ended);
    w.optional("call_sid_ending_conference", c.call_sid_ending);
    jw.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

std::string_view participant_status(store::call_status status) noexcept
{
    using store::call_status;
    switch (status) {
        case call_status::queued:
            return "queued";
        case call_status::ringing:
            return "ringing";
        case call_status::in_progress:
            return "connected";
        case call_status::completed:
            return "complete";
        case call_status::busy:
        case call_status::failed:
        case call_status::no_answer:
        case call_status::canceled:
            return "failed";
    }
    return "failed";
}

std::string render_participant_json(const store::call_record& call)
{
    const store::participant_info p = call.participant.value_or(store::participant_info{});
    rapidjson::StringBuffer buf;
    json_writer jw(buf);
    writer w{jw};
    jw.StartObject();
    w.string("account_sid", call.account_sid);
    w.string("call_sid", call.sid);
    w.optional("label", p.label.empty() ? std::nullopt : std::optional<std::string>(p.label));
    w.optional("call_sid_to_coach", std::nullopt);
    w.boolean("coaching", false);
    w.string("conference_sid", p.conference_sid);
    w.date("date_created", call.date_created);
    w.date("date_updated", call.date_updated);
    w.boolean("end_conference_on_exit", p.end_conference_on_exit);
    w.boolean("muted", p.muted);
    w.boolean("hold", p.hold);
    w.boolean("start_conference_on_enter", p.start_conference_on_enter);
    w.string("status", participant_status(call.status));
    w.string("queue_time", "0");
    w.string("uri", participant_uri(call.account_sid, p.conference_sid, call.sid));
    jw.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

}  // namespace stirgate::api
