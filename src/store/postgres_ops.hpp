#pragma once
// The store's operations as statements on one PostgreSQL connection, run by a connection thread
// of postgres_store. Write operations run inside the transaction the thread opened for the job
// (postgres_store.cpp commits or rolls back); each mirrors the SQLite store's operation of the
// same name, so both engines answer alike (store_behaviour.hpp checks that).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/store.hpp"

namespace stirgate::store::pg {

// postgres_calls.cpp
[[nodiscard]] result<std::optional<call_record>> select_call(connection& c,
                                                             const std::optional<std::string>& account,
                                                             const std::string& sid);
// With limits that apply (parent_checks_apply) the call is inserted at once unless its parent
// is stored; a stored parent is then locked and checked, in the job's transaction or, when
// `in_transaction` is false (no items, a one-statement job), in one of its own.
[[nodiscard]] result<std::vector<std::int64_t>> insert_call(connection& c, const call_record& call,
                                                           const std::vector<outbox_item>& items,
                                                           const insert_limits& limits = {},
                                                           bool in_transaction = true);
// Locks the row (SELECT ... FOR UPDATE) before checking only_from, so concurrent updates from
// several instances apply one after the other and none is lost.
[[nodiscard]] result<call_record> update_call(connection& c, const std::string& sid,
                                              const call_update& u,
                                              const std::vector<outbox_item>& items);
[[nodiscard]] result<void> delete_call(connection& c, const std::string& account,
                                       const std::string& sid);
[[nodiscard]] result<call_page> list_calls(connection& c, const std::string& account,
                                           const call_filter& f, std::size_t page_size,
                                           const std::string& token);

// The (date_created, sid) of a list's PA/PB cursor, a row of `table` ("calls", "conferences")
// that must belong to the account (errc::invalid_parameter otherwise); none without a cursor.
[[nodiscard]] result<std::optional<std::pair<std::int64_t, std::string>>> cursor_row(
    connection& c, std::string_view table, const std::string& account,
    const std::optional<page_cursor>& direction);

// postgres_conferences.cpp
[[nodiscard]] result<std::optional<conference_record>> select_conference(
    connection& c, const std::optional<std::string>& account, const std::string& sid);
// INSERT ... ON CONFLICT DO NOTHING on the live-name index, so first participants racing on
// two gateways open one conference.
[[nodiscard]] result<conference_record> open_conference(connection& c,
                                                        const conference_record& candidate);
// Under the row lock, as update_call.
[[nodiscard]] result<conference_record> update_conference(connection& c, const std::string& sid,
                                                          const conference_update& u);
[[nodiscard]] result<conference_page> list_conferences(connection& c, const std::string& account,
                                                       const conference_filter& f,
                                                       std::size_t page_size,
                                                       const std::string& token);

// postgres_outbox.cpp
// Items with an empty call_sid get default_call_sid.
[[nodiscard]] result<std::vector<std::int64_t>> insert_items(connection& c,
                                                             const std::vector<outbox_item>& items,
                                                             const std::string& default_call_sid);
[[nodiscard]] result<std::vector<outbox_item>> due_items(connection& c, std::int64_t now_ms,
                                                         std::size_t limit);
// FOR UPDATE SKIP LOCKED: gateways claiming at the same time each take different items
// instead of queueing behind one another's row locks.
[[nodiscard]] result<std::vector<outbox_item>> claim_due(connection& c, const outbox_claim& claim);
[[nodiscard]] result<void> mark_delivered(connection& c, std::int64_t id,
                                          const std::string& worker);
[[nodiscard]] result<void> mark_failed(connection& c, std::int64_t id, const std::string& worker,
                                       std::int64_t next_ms, const std::string& last_error);
[[nodiscard]] result<void> mark_dead(connection& c, std::int64_t id, const std::string& worker,
                                     std::int64_t now_ms, const std::string& last_error);
[[nodiscard]] result<std::size_t> release_claims(connection& c, const std::string& worker);
[[nodiscard]] result<outbox_summary> summarise_outbox(connection& c, std::int64_t now_ms);

}  // namespace stirgate::store::pg
