#pragma once
// sqlite_store internals: the store's operations, each run by the writer thread inside the
// batch transaction (its own SAVEPOINT around it). Calls are in sqlite_calls.cpp, the outbox in
// sqlite_outbox.cpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sqlite_connection.hpp"
#include "store/store.hpp"

namespace stirgate::store::sqlite {

// --- calls ---
[[nodiscard]] result<std::optional<call_record>> select_call(
    connection& c, const std::optional<std::string>& account, const std::string& sid);
[[nodiscard]] result<std::vector<std::int64_t>> run_insert_call(connection& c,
                                                                const call_record& call,
                                                                std::vector<outbox_item>& items,
                                                                const insert_limits& limits = {});
[[nodiscard]] result<call_record> run_update_call(connection& c, const std::string& sid,
                                                  const call_update& u,
                                                  std::vector<outbox_item>& items);
[[nodiscard]] result<void> run_delete_call(connection& c, const std::string& account,
                                           const std::string& sid);
[[nodiscard]] result<call_page> run_list_calls(connection& c, const std::string& account,
                                               const call_filter& f, std::size_t page_size,
                                               const std::string& token);

// The (date_created, sid) of a list's PA/PB cursor, a row of `table` ("calls", "conferences")
// that must belong to the account (errc::invalid_parameter otherwise); none without a cursor.
[[nodiscard]] result<std::optional<std::pair<std::int64_t, std::string>>> cursor_row(
    connection& c, std::string_view table, const std::string& account,
    const std::optional<page_cursor>& direction);

// --- conferences (sqlite_conferences.cpp) ---
[[nodiscard]] result<std::optional<conference_record>> select_conference(
    connection& c, const std::optional<std::string>& account, const std::string& sid);
[[nodiscard]] result<conference_record> run_open_conference(connection& c,
                                                            const conference_record& candidate);
[[nodiscard]] result<conference_record> run_update_conference(connection& c,
                                                              const std::string& sid,
                                                              const conference_update& u);
[[nodiscard]] result<conference_page> run_list_conferences(connection& c,
                                                           const std::string& account,
                                                           const conference_filter& f,
                                                           std::size_t page_size,
                                                           const std::string& token);

// --- outbox ---
// Items with an empty call_sid get default_call_sid. Returns the ids in order.
[[nodiscard]] result<std::vector<std::int64_t>> insert_items(
    connection& c, std::vector<outbox_item>& items, const std::string& default_call_sid);
[[nodiscard]] result<std::vector<outbox_item>> run_due_items(connection& c, std::int64_t now_ms,
                                                             std::size_t limit);
[[nodiscard]] result<std::vector<outbox_item>> run_claim_due(connection& c,
                                                             const outbox_claim& claim);
[[nodiscard]] result<void> run_mark_delivered(connection& c, std::int64_t id,
                                              const std::string& worker);
[[nodiscard]] result<void> run_mark_failed(connection& c, std::int64_t id,
                                           const std::string& worker, std::int64_t next_ms,
                                           const std::string& last_error);
[[nodiscard]] result<void> run_mark_dead(connection& c, std::int64_t id, const std::string& worker,
                                         std::int64_t now_ms, const std::string& last_error);
[[nodiscard]] result<std::size_t> run_release_claims(connection& c, const std::string& worker);
[[nodiscard]] result<outbox_summary> run_summarise_outbox(connection& c, std::int64_t now_ms);

}  // namespace stirgate::store::sqlite
