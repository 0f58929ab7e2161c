// Conferences on PostgreSQL: open by name (the live-name index decides races between gateways),
// find, the edge's reports under a row lock, keyset-paged lists.

#include <string>
#include <utility>

#include "store/postgres_ops.hpp"

namespace stirgate::store::pg {
namespace {

#define STIRGATE_PG_CONFERENCE_COLUMNS                                                    \
    "sid, account_sid, friendly_name, status, date_created, date_updated, reason_ended, " \
    "call_sid_ending"

result<std::vector<conference_record>> read_all(const rows& r)
{
    std::vector<conference_record> out;
    for (int i = 0; i < r.count(); ++i) {
        conference_record c;
        c.sid = r.text(i, 0);
        c.account_sid = r.text(i, 1);
        c.friendly_name = r.text(i, 2);
        auto status = parse_conference_status(r.text(i, 3));
        if (!status) return error{errc::internal, "bad status column in conferences"};
        c.status = *status;
        c.date_created = r.integer(i, 4);
        c.date_updated = r.integer(i, 5);
        c.reason_ended = r.opt_text(i, 6);
        c.call_sid_ending = r.opt_text(i, 7);
        out.push_back(std::move(c));
    }
    return out;
}

result<std::optional<conference_record>> first(result<rows> r)
{
    if (!r) return std::move(r).err();
    auto all = read_all(*r);
    if (!all) return std::move(all).err();
    if (all->empty()) return std::optional<conference_record>();
    return std::optional<conference_record>(std::move(all->front()));
}

result<std::optional<conference_record>> live_by_name(connection& c, const std::string& account,
                                                      const std::string& name)
{
    return first(c.exec("SELECT " STIRGATE_PG_CONFERENCE_COLUMNS
                        " FROM conferences WHERE account_sid = $1 AND friendly_name = $2 AND "
                        "status <> 'completed'",
                        params().add(account).add(name)));
}

}  // namespace

result<std::optional<conference_record>> select_conference(
    connection& c, const std::optional<std::string>& account, const std::string& sid)
{
    return first(account ? c.exec("SELECT " STIRGATE_PG_CONFERENCE_COLUMNS
                                  " FROM conferences WHERE sid = $1 AND account_sid = $2",
                                  params().add(sid).add(*account))
                         : c.exec("SELECT " STIRGATE_PG_CONFERENCE_COLUMNS
                                  " FROM conferences WHERE sid = $1",
                                  params().add(sid)));
}

result<conference_record> open_conference(connection& c, const conference_record& candidate)
{
    // The live one usually exists (every participant after the first): one read.
    auto live = live_by_name(c, candidate.account_sid, candidate.friendly_name);
    if (!live) return std::move(live).err();
    if (*live) return std::move(**live);
    // Another gateway may insert it meanwhile: the unique live-name index then turns this
    // insert into nothing, and the read after it finds theirs.
    auto inserted =
        c.exec("INSERT INTO conferences (" STIRGATE_PG_CONFERENCE_COLUMNS
               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_sid, friendly_name) "
               "WHERE status <> 'completed' DO NOTHING",
               params()
                   .add(candidate.sid)
                   .add(candidate.account_sid)
                   .add(candidate.friendly_name)
                   .add(to_string(candidate.status))
                   .add(candidate.date_created)
                   .add(candidate.date_updated)
                   .add(candidate.reason_ended)
                   .add(candidate.call_sid_ending));
    if (!inserted) {
        error e = std::move(inserted).err();
        if (e.code == errc::conflict) e.detail = "conference " + candidate.sid + " exists";
        return e;
    }
    if (inserted->affected() == 1) return candidate;
    auto theirs = live_by_name(c, candidate.account_sid, candidate.friendly_name);
    if (!theirs) return std::move(theirs).err();
    // Theirs completed between the two statements: the caller may try again.
    if (!*theirs) return error{errc::conflict, "conference " + candidate.friendly_name + " ended"};
    return std::move(**theirs);
}

result<conference_record> update_conference(connection& c, const std::string& sid,
                                            const conference_update& u)
{
    auto current = first(c.exec("SELECT " STIRGATE_PG_CONFERENCE_COLUMNS
                                " FROM conferences WHERE sid = $1 FOR UPDATE",
                                params().add(sid)));
    if (!current) return std::move(current).err();
    if (!*current) return error{errc::not_found, "conference " + sid};
    const conference_record after = apply(**current, u);
    if (after == **current) return after;
    auto updated = c.run(
        "UPDATE conferences SET status = $2, date_updated = $3, reason_ended = $4, "
        "call_sid_ending = $5 WHERE sid = $1",
        params()
            .add(sid)
            .add(to_string(after.status))
            .add(after.date_updated)
            .add(after.reason_ended)
            .add(after.call_sid_ending));
    if (!updated) return std::move(updated).err();
    return after;
}

result<conference_page> list_conferences(connection& c, const std::string& account,
                                         const conference_filter& f, std::size_t page_size,
                                         const std::string& token)
{
    auto request = read_page_request(page_size, token, "CF");
    if (!request) return std::move(request).err();
    const std::optional<page_cursor>& direction = *request;
    auto found = cursor_row(c, "conferences", account, direction);
    if (!found) return std::move(found).err();
    const auto& cursor = *found;
    const bool before = direction && direction->before;

    // Only fixed fragments and parameter numbers go into the text; every value is a parameter.
    params p;
    p.add(account);
    std::string sql =
        "SELECT " STIRGATE_PG_CONFERENCE_COLUMNS " FROM conferences WHERE account_sid = $1";
    const auto next = [&p] { return "$" + std::to_string(p.size()); };
    if (f.friendly_name) sql += " AND friendly_name = " + (p.add(*f.friendly_name), next());
    if (f.status) sql += " AND status = " + (p.add(to_string(*f.status)), next());
    if (cursor) {
        p.add(cursor->first);
        const std::string created = next();
        p.add(cursor->second);
        sql += std::string(" AND (date_created, sid) ") + (before ? ">" : "<") + " (" + created +
               ", " + next() + ")";
    }
    p.add(static_cast<std::int64_t>(page_size) + 1);  // one more tells whether a page follows
    sql += before ? " ORDER BY date_created, sid LIMIT "
                  : " ORDER BY date_created DESC, sid DESC LIMIT ";
    sql += next();
    auto r = c.exec(sql.c_str(), p);
    if (!r) return std::move(r).err();
    auto rows = read_all(*r);
    if (!rows) return std::move(rows).err();
    return finish_page(std::move(*rows), page_size, direction);
}

}  // namespace stirgate::store::pg
