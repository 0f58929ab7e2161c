#include "store/store.hpp"

#include <algorithm>
#include <array>
#include <future>
#include <stdexcept>

#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/sid.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace stirgate::store {
namespace {

using core::is_account_sid;
using core::is_call_sid;

constexpr std::array<std::string_view, 8> status_names{
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"};
constexpr std::array<std::string_view, 3> direction_names{"inbound", "outbound-api",
                                                          "outbound-dial"};
constexpr std::array<std::string_view, 3> conference_status_names{"init", "in-progress",
                                                                  "completed"};
constexpr std::array<std::string_view, 3> kind_names{"edge_dial", "status_callback",
                                                     "edge_control"};

template <class Enum, std::size_t N>
result<Enum> parse_name(const std::array<std::string_view, N>& names, std::string_view s,
                        std::string_view what)
{
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<Enum>(i);
    return error{errc::invalid_parameter, std::string(what) + ": " + std::string(s)};
}

bool is_http_method(std::string_view m) noexcept
{
    return m == "GET" || m == "POST";
}

// Runs an asynchronous operation and waits for its callback. The promise is shared so that a
// callback arriving after an exception here still has somewhere to write.
template <class T, class Start>
result<T> wait_for(Start&& start)
{
    auto promise = std::make_shared<std::promise<result<T>>>();
    auto future = promise->get_future();
    start([promise](result<T> r) { promise->set_value(std::move(r)); });
    return future.get();
}

// Items enter the outbox held by nobody, each item without a delivery token with a random one
// (128 bits, hex). False when the CSPRNG fails: then nothing is enqueued rather than items that
// could share a token.
bool prepare_for_enqueue(std::vector<outbox_item>& items)
{
    static constexpr char hex[] = "0123456789abcdef";
    for (auto& item : items) {
        item.claimed_by.clear();
        item.claimed_until_ms = 0;
        if (!item.delivery_token.empty()) continue;
        unsigned char raw[16];
        if (RAND_bytes(raw, sizeof raw) != 1) return false;
        std::string token = "stirgate-";
        for (const unsigned char b : raw) {
            token += hex[b >> 4];
            token += hex[b & 0x0f];
        }
        item.delivery_token = std::move(token);
    }
    return true;
}

error no_randomness()
{
    return error{errc::internal, "no randomness for outbox delivery tokens"};
}

// "" would match every unclaimed item.
error no_worker()
{
    return error{errc::invalid_parameter, "outbox worker"};
}

// Conferences' list order and cursor check, shared by finish_page's two overloads.
template <class Page, class Row>
Page finish_rows(std::vector<Row> rows, std::vector<Row> Page::*member, std::size_t page_size,
                 const std::optional<page_cursor>& cursor)
{
    const bool beyond = rows.size() > page_size;  // a neighbour in the direction read
    if (beyond) rows.resize(page_size);
    const bool before = cursor && cursor->before;
    if (before) std::reverse(rows.begin(), rows.end());
    Page page;
    auto& shown = page.*member;
    shown = std::move(rows);
    if (shown.empty()) return page;
    // The cursor's own row lies on the other side of the page from the direction read.
    const bool older = before ? true : beyond;
    const bool newer = before ? beyond : cursor.has_value();
    if (older) page.next_page_token = "PA" + shown.back().sid;
    if (newer) page.previous_page_token = "PB" + shown.front().sid;
    return page;
}

}  // namespace

std::string encode_participant(const participant_info& p)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("conference_sid");
    w.String(p.conference_sid.data(), static_cast<rapidjson::SizeType>(p.conference_sid.size()));
    w.Key("label");
    w.String(p.label.data(), static_cast<rapidjson::SizeType>(p.label.size()));
    w.Key("muted");
    w.Bool(p.muted);
    w.Key("hold");
    w.Bool(p.hold);
    w.Key("start_conference_on_enter");
    w.Bool(p.start_conference_on_enter);
    w.Key("end_conference_on_exit");
    w.Bool(p.end_conference_on_exit);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

result<participant_info> decode_participant(std::string_view text)
{
    const error damaged{errc::internal, "bad participant column"};
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsObject()) return damaged;
    const auto string_field = [&](const char* name, std::string& out) {
        const auto it = doc.FindMember(name);
        if (it == doc.MemberEnd() || !it->value.IsString()) return false;
        out.assign(it->value.GetString(), it->value.GetStringLength());
        return true;
    };
    const auto bool_field = [&](const char* name, bool& out) {
        const auto it = doc.FindMember(name);
        if (it == doc.MemberEnd() || !it->value.IsBool()) return false;
        out = it->value.GetBool();
        return true;
    };
    participant_info p;
    if (!string_field("conference_sid", p.conference_sid) || !string_field("label", p.label) ||
        !bool_field("muted", p.muted) || !bool_field("hold", p.hold) ||
        !bool_field("start_conference_on_enter", p.start_conference_on_enter) ||
        !bool_field("end_conference_on_exit", p.end_conference_on_exit))
        return damaged;
    return p;
}

std::string_view to_string(conference_status s) noexcept
{
    return conference_status_names[static_cast<std::size_t>(s)];
}

result<conference_status> parse_conference_status(std::string_view s)
{
    return parse_name<conference_status>(conference_status_names, s, "conference status");
}

result<void> validate(const conference_record& conference)
{
    if (!core::is_conference_sid(conference.sid))
        return error{errc::invalid_parameter, "conference sid"};
    if (!is_account_sid(conference.account_sid))
        return error{errc::invalid_parameter, "account_sid"};
    if (conference.friendly_name.empty() || conference.friendly_name.size() > max_friendly_name)
        return error{errc::invalid_parameter, "friendly_name"};
    return ok();
}

conference_record apply(conference_record conference, const conference_update& u)
{
    if (conference.status == conference_status::completed) return conference;  // final
    if (u.status <= conference.status) return conference;  // a late or repeated report
    conference.status = u.status;
    conference.date_updated = u.date_updated;
    if (u.status == conference_status::completed) {
        conference.reason_ended = u.reason_ended;
        conference.call_sid_ending = u.call_sid_ending;
    }
    return conference;
}

std::string_view to_string(call_status s) noexcept
{
    return status_names[static_cast<std::size_t>(s)];
}

result<call_status> parse_call_status(std::string_view s)
{
    return parse_name<call_status>(status_names, s, "call status");
}

bool is_terminal(call_status s) noexcept
{
    switch (s) {
        case call_status::completed:
        case call_status::busy:
        case call_status::failed:
        case call_status::no_answer:
        case call_status::canceled:
            return true;
        case call_status::queued:
        case call_status::ringing:
        case call_status::in_progress:
            return false;
    }
    return false;
}

std::vector<call_status> live_statuses()
{
    return {call_status::queued, call_status::ringing, call_status::in_progress};
}

std::string_view to_string(call_direction d) noexcept
{
    return direction_names[static_cast<std::size_t>(d)];
}

result<call_direction> parse_call_direction(std::string_view s)
{
    return parse_name<call_direction>(direction_names, s, "call direction");
}

std::string_view to_string(outbox_kind k) noexcept
{
    return kind_names[static_cast<std::size_t>(k)];
}

result<outbox_kind> parse_outbox_kind(std::string_view s)
{
    return parse_name<outbox_kind>(kind_names, s, "outbox kind");
}

result<void> validate(const call_record& call)
{
    const auto bad = [](std::string field) {
        return error{errc::invalid_parameter, std::move(field)};
    };
    if (!is_call_sid(call.sid)) return bad("sid");
    if (!is_account_sid(call.account_sid)) return bad("account_sid");
    if (call.parent_call_sid && !is_call_sid(*call.parent_call_sid)) return bad("parent_call_sid");
    if (!is_http_method(call.method)) return bad("method");
    if (!is_http_method(call.fallback_method)) return bad("fallback_method");
    if (!is_http_method(call.status_callback_method)) return bad("status_callback_method");
    if (call.duration && *call.duration < 0) return bad("duration");
    return ok();
}

result<void> validate(const call_update& update)
{
    const auto bad_method = [](const std::optional<std::string>& m) {
        return m && !is_http_method(*m);
    };
    if (bad_method(update.method)) return error{errc::invalid_parameter, "method"};
    if (bad_method(update.fallback_method)) return error{errc::invalid_parameter, "fallback_method"};
    if (bad_method(update.status_callback_method))
        return error{errc::invalid_parameter, "status_callback_method"};
    if (update.duration && *update.duration < 0) return error{errc::invalid_parameter, "duration"};
    return ok();
}

std::optional<std::string> status_text(const std::optional<call_status>& status)
{
    if (!status) return std::nullopt;
    return std::string(to_string(*status));
}

void apply(call_record& call, const call_update& u)
{
    if (u.status) call.status = *u.status;
    call.date_updated = u.date_updated;
    if (u.start_time) call.start_time = u.start_time;
    if (u.end_time) call.end_time = u.end_time;
    if (u.duration) call.duration = u.duration;
    if (u.url) call.url = *u.url;
    if (u.method) call.method = *u.method;
    if (u.fallback_url) call.fallback_url = *u.fallback_url;
    if (u.fallback_method) call.fallback_method = *u.fallback_method;
    if (u.status_callback) call.status_callback = *u.status_callback;
    if (u.status_callback_method) call.status_callback_method = *u.status_callback_method;
    if (u.participant) call.participant = *u.participant;
}

std::optional<error> delete_refusal(const std::string& call_sid, call_status status)
{
    if (is_terminal(status)) return std::nullopt;
    return error{errc::conflict, "call " + call_sid + " is " + std::string(to_string(status))};
}

result<void> validate(const outbox_item& item)
{
    if (item.target_url.empty()) return error{errc::invalid_parameter, "outbox target_url"};
    if (item.call_sid.empty()) return error{errc::invalid_parameter, "outbox call_sid"};
    if (!is_http_method(item.method)) return error{errc::invalid_parameter, "outbox method"};
    return ok();
}

result<void> validate(const outbox_claim& claim)
{
    if (claim.worker.empty()) return no_worker();
    if (claim.lease_ms <= 0) return error{errc::invalid_parameter, "outbox claim lease_ms"};
    return ok();
}

error not_held(std::int64_t id, bool exists, std::string_view worker)
{
    if (!exists) return error{errc::not_found, "outbox item " + std::to_string(id)};
    return error{errc::conflict,
                 "outbox item " + std::to_string(id) + " is not held by " + std::string(worker)};
}

result<page_cursor> parse_page_token(std::string_view token, std::string_view prefix)
{
    if (token.size() < 2 || (token.substr(0, 2) != "PA" && token.substr(0, 2) != "PB") ||
        !core::is_sid(token.substr(2), prefix))
        return error{errc::invalid_parameter, "PageToken"};
    return page_cursor{std::string(token.substr(2)), token[1] == 'B'};
}

result<std::optional<page_cursor>> read_page_request(std::size_t page_size,
                                                     std::string_view token,
                                                     std::string_view prefix)
{
    if (page_size == 0 || page_size > max_page_size)
        return error{errc::invalid_parameter, "PageSize"};
    if (token.empty()) return std::optional<page_cursor>();
    auto cursor = parse_page_token(token, prefix);
    if (!cursor) return std::move(cursor).err();
    return std::optional<page_cursor>(std::move(*cursor));
}

call_page finish_page(std::vector<call_record> rows, std::size_t page_size,
                      const std::optional<page_cursor>& cursor)
{
    return finish_rows(std::move(rows), &call_page::calls, page_size, cursor);
}

error foreign_page_token(std::string_view table)
{
    const std::string_view row = table.substr(0, table.size() - 1);  // "calls" -> "call"
    return error{errc::invalid_parameter,
                 "PageToken names no " + std::string(row) + " of this account"};
}

conference_page finish_page(std::vector<conference_record> rows, std::size_t page_size,
                            const std::optional<page_cursor>& cursor)
{
    return finish_rows(std::move(rows), &conference_page::conferences, page_size, cursor);
}

std::optional<std::string> schema_refusal(int found, int current, bool apply)
{
    if (found > current)
        return "database schema version " + std::to_string(found) +
               " is newer than this stirgate supports (" + std::to_string(current) +
               "); run a newer stirgate or restore a backup";
    if (found < current && !apply)
        return "database schema version " + std::to_string(found) + " is older than this "
               "stirgate's (" + std::to_string(current) +
               ") and [storage] migrate = false: run `stirgate migrate --config FILE` first";
    return std::nullopt;
}

std::unique_ptr<store> open_store(std::string_view url, const open_options& options)
{
    if (url.rfind("sqlite://", 0) == 0) {
        if (!options.password.empty())
            throw std::runtime_error("storage url: a password is for postgresql:// only");
        sqlite_options o;
        o.migrate = options.migrate;
        return std::make_unique<sqlite_store>(url, o);
    }
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        postgres_options o;
        o.migrate = options.migrate;
        o.password = options.password;
        return std::make_unique<postgres_store>(url, o);
    }
    throw std::runtime_error(
        "storage url: expected sqlite:///PATH, sqlite://:memory: or postgresql://...");
}

bool parent_checks_apply(const call_record& call, const insert_limits& limits) noexcept
{
    return (limits.max_legs_per_parent > 0 || limits.check_parent) &&
           call.parent_call_sid.has_value();
}

result<void> check_stored_parent(const call_record& call, const insert_limits& limits,
                                 const call_record& parent,
                                 const std::function<result<std::size_t>()>& count_legs)
{
    if (limits.check_parent)
        if (auto ok = limits.check_parent(parent); !ok) return ok;
    if (limits.max_legs_per_parent == 0) return {};
    auto children = count_legs();
    if (!children) return std::move(children).err();
    if (*children < limits.max_legs_per_parent) return {};
    return error{errc::calltoken_leg_limit, "parent call " + call.parent_call_sid.value_or("") +
                                                " already has " + std::to_string(*children) +
                                                " forwarded calls"};
}

// --- asynchronous forms ---------------------------------------------------------------------

void store::insert_call(call_record call, callback<void> done)
{
    do_insert_call(std::move(call), {}, {},
                   [done = std::move(done)](result<std::vector<std::int64_t>> r) {
                       if (r)
                           done(ok());
                       else
                           done(std::move(r).err());
                   });
}

void store::insert_call_with_outbox(call_record call, std::vector<outbox_item> items,
                                    callback<std::vector<std::int64_t>> done)
{
    insert_call_with_outbox(std::move(call), std::move(items), {}, std::move(done));
}

void store::insert_call_with_outbox(call_record call, std::vector<outbox_item> items,
                                    insert_limits limits, callback<std::vector<std::int64_t>> done)
{
    if (!prepare_for_enqueue(items)) return done(no_randomness());
    do_insert_call(std::move(call), std::move(items), limits, std::move(done));
}

void store::get_call(std::string account_sid, std::string call_sid,
                     callback<std::optional<call_record>> done)
{
    do_get_call(std::move(account_sid), std::move(call_sid), std::move(done));
}

void store::find_call(std::string call_sid, callback<std::optional<call_record>> done)
{
    do_get_call(std::nullopt, std::move(call_sid), std::move(done));
}

void store::update_call_status(std::string call_sid, call_update update, callback<call_record> done)
{
    do_update_call_status(std::move(call_sid), std::move(update), {}, std::move(done));
}

void store::update_call_status_with_outbox(std::string call_sid, call_update update,
                                           std::vector<outbox_item> items,
                                           callback<call_record> done)
{
    if (!prepare_for_enqueue(items)) return done(no_randomness());
    do_update_call_status(std::move(call_sid), std::move(update), std::move(items),
                          std::move(done));
}

void store::delete_call(std::string account_sid, std::string call_sid, callback<void> done)
{
    do_delete_call(std::move(account_sid), std::move(call_sid), std::move(done));
}

void store::list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                       std::string page_token, callback<call_page> done)
{
    do_list_calls(std::move(account_sid), std::move(filter), page_size, std::move(page_token),
                  std::move(done));
}

void store::open_conference(conference_record candidate, callback<conference_record> done)
{
    if (auto v = validate(candidate); !v) return done(std::move(v).err());
    do_open_conference(std::move(candidate), std::move(done));
}

void store::get_conference(std::optional<std::string> account_sid, std::string conference_sid,
                           callback<std::optional<conference_record>> done)
{
    do_get_conference(std::move(account_sid), std::move(conference_sid), std::move(done));
}

void store::update_conference(std::string conference_sid, conference_update update,
                              callback<conference_record> done)
{
    do_update_conference(std::move(conference_sid), std::move(update), std::move(done));
}

void store::list_conferences(std::string account_sid, conference_filter filter,
                             std::size_t page_size, std::string page_token,
                             callback<conference_page> done)
{
    do_list_conferences(std::move(account_sid), std::move(filter), page_size,
                        std::move(page_token), std::move(done));
}

void store::enqueue(std::vector<outbox_item> items, callback<std::vector<std::int64_t>> done)
{
    if (!prepare_for_enqueue(items)) return done(no_randomness());
    do_enqueue(std::move(items), std::move(done));
}

void store::due_items(std::int64_t now_ms, std::size_t limit,
                      callback<std::vector<outbox_item>> done)
{
    do_due_items(now_ms, limit, std::move(done));
}

void store::claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done)
{
    if (auto v = validate(claim); !v) return done(std::move(v).err());
    do_claim_due(std::move(claim), std::move(done));
}

void store::mark_delivered(std::int64_t id, std::string worker, callback<void> done)
{
    if (worker.empty()) return done(no_worker());
    do_mark_delivered(id, std::move(worker), std::move(done));
}

void store::mark_failed(std::int64_t id, std::string worker, std::int64_t next_attempt_at_ms,
                        std::string last_error, callback<void> done)
{
    if (worker.empty()) return done(no_worker());
    do_mark_failed(id, std::move(worker), next_attempt_at_ms, std::move(last_error),
                   std::move(done));
}

void store::mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                      std::string last_error, callback<void> done)
{
    if (worker.empty()) return done(no_worker());
    do_mark_dead(id, std::move(worker), now_ms, std::move(last_error), std::move(done));
}

void store::release_claims(std::string worker, callback<std::size_t> done)
{
    if (worker.empty()) return done(no_worker());
    do_release_claims(std::move(worker), std::move(done));
}

void store::summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done)
{
    do_summarise_outbox(now_ms, std::move(done));
}

// --- blocking forms -------------------------------------------------------------------------

result<void> store::insert_call(call_record call)
{
    return wait_for<void>([&](callback<void> cb) { insert_call(std::move(call), std::move(cb)); });
}

result<std::vector<std::int64_t>> store::insert_call_with_outbox(call_record call,
                                                                 std::vector<outbox_item> items,
                                                                 insert_limits limits)
{
    return wait_for<std::vector<std::int64_t>>([&](callback<std::vector<std::int64_t>> cb) {
        insert_call_with_outbox(std::move(call), std::move(items), limits, std::move(cb));
    });
}

result<std::optional<call_record>> store::get_call(std::string account_sid, std::string call_sid)
{
    return wait_for<std::optional<call_record>>([&](callback<std::optional<call_record>> cb) {
        get_call(std::move(account_sid), std::move(call_sid), std::move(cb));
    });
}

result<std::optional<call_record>> store::find_call(std::string call_sid)
{
    return wait_for<std::optional<call_record>>([&](callback<std::optional<call_record>> cb) {
        find_call(std::move(call_sid), std::move(cb));
    });
}

result<call_record> store::update_call_status(std::string call_sid, call_update update)
{
    return wait_for<call_record>([&](callback<call_record> cb) {
        update_call_status(std::move(call_sid), std::move(update), std::move(cb));
    });
}

result<call_record> store::update_call_status_with_outbox(std::string call_sid, call_update update,
                                                          std::vector<outbox_item> items)
{
    return wait_for<call_record>([&](callback<call_record> cb) {
        update_call_status_with_outbox(std::move(call_sid), std::move(update), std::move(items),
                                       std::move(cb));
    });
}

result<call_page> store::list_calls(std::string account_sid, call_filter filter,
                                    std::size_t page_size, std::string page_token)
{
    return wait_for<call_page>([&](callback<call_page> cb) {
        list_calls(std::move(account_sid), std::move(filter), page_size, std::move(page_token),
                   std::move(cb));
    });
}

result<void> store::delete_call(std::string account_sid, std::string call_sid)
{
    return wait_for<void>([&](callback<void> cb) {
        delete_call(std::move(account_sid), std::move(call_sid), std::move(cb));
    });
}

result<conference_record> store::open_conference(conference_record candidate)
{
    return wait_for<conference_record>(
        [&](callback<conference_record> cb) { open_conference(std::move(candidate), std::move(cb)); });
}

result<std::optional<conference_record>> store::get_conference(
    std::optional<std::string> account_sid, std::string conference_sid)
{
    return wait_for<std::optional<conference_record>>(
        [&](callback<std::optional<conference_record>> cb) {
            get_conference(std::move(account_sid), std::move(conference_sid), std::move(cb));
        });
}

result<conference_record> store::update_conference(std::string conference_sid,
                                                   conference_update update)
{
    return wait_for<conference_record>([&](callback<conference_record> cb) {
        update_conference(std::move(conference_sid), std::move(update), std::move(cb));
    });
}

result<conference_page> store::list_conferences(std::string account_sid, conference_filter filter,
                                                std::size_t page_size, std::string page_token)
{
    return wait_for<conference_page>([&](callback<conference_page> cb) {
        list_conferences(std::move(account_sid), std::move(filter), page_size,
                         std::move(page_token), std::move(cb));
    });
}

result<std::vector<std::int64_t>> store::enqueue(std::vector<outbox_item> items)
{
    return wait_for<std::vector<std::int64_t>>(
        [&](callback<std::vector<std::int64_t>> cb) { enqueue(std::move(items), std::move(cb)); });
}

result<std::vector<outbox_item>> store::due_items(std::int64_t now_ms, std::size_t limit)
{
    return wait_for<std::vector<outbox_item>>(
        [&](callback<std::vector<outbox_item>> cb) { due_items(now_ms, limit, std::move(cb)); });
}

result<std::vector<outbox_item>> store::claim_due(outbox_claim claim)
{
    return wait_for<std::vector<outbox_item>>(
        [&](callback<std::vector<outbox_item>> cb) { claim_due(std::move(claim), std::move(cb)); });
}

result<void> store::mark_delivered(std::int64_t id, std::string worker)
{
    return wait_for<void>(
        [&](callback<void> cb) { mark_delivered(id, std::move(worker), std::move(cb)); });
}

result<void> store::mark_failed(std::int64_t id, std::string worker,
                                std::int64_t next_attempt_at_ms, std::string last_error)
{
    return wait_for<void>([&](callback<void> cb) {
        mark_failed(id, std::move(worker), next_attempt_at_ms, std::move(last_error),
                    std::move(cb));
    });
}

result<void> store::mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                              std::string last_error)
{
    return wait_for<void>([&](callback<void> cb) {
        mark_dead(id, std::move(worker), now_ms, std::move(last_error), std::move(cb));
    });
}

result<std::size_t> store::release_claims(std::string worker)
{
    return wait_for<std::size_t>(
        [&](callback<std::size_t> cb) { release_claims(std::move(worker), std::move(cb)); });
}

result<outbox_summary> store::summarise_outbox(std::int64_t now_ms)
{
    return wait_for<outbox_summary>(
        [&](callback<outbox_summary> cb) { summarise_outbox(now_ms, std::move(cb)); });
}

result<std::size_t> store::depth()
{
    auto summary = summarise_outbox(0);
    if (!summary) return std::move(summary).err();
    return summary->items;
}

}  // namespace stirgate::store
