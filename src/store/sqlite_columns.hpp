#pragma once
// sqlite_store internals: binding parameters and reading columns (indexes as SQLite counts
// them), and the JSON text of list columns (status_callback_events, identity_headers, params,
// headers).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

#include "store/store.hpp"

namespace stirgate::store::sqlite {

void bind(sqlite3_stmt* s, int i, std::string_view v);
void bind(sqlite3_stmt* s, int i, std::int64_t v);
void bind(sqlite3_stmt* s, int i, const std::optional<std::string>& v);  // none: NULL
void bind(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v);

std::string column_text(sqlite3_stmt* s, int i);
std::optional<std::string> column_opt_text(sqlite3_stmt* s, int i);  // NULL: none
std::int64_t column_int(sqlite3_stmt* s, int i);
std::optional<std::int64_t> column_opt_int(sqlite3_stmt* s, int i);

std::string encode_strings(const std::vector<std::string>& values);  // ["a","b"]
std::string encode_pairs(const std::vector<name_value>& values);     // [["n","v"],...]
// Only this store writes these columns, so a shape mismatch means a damaged database:
// errc::internal.
[[nodiscard]] result<std::vector<std::string>> decode_strings(std::string_view text);
[[nodiscard]] result<std::vector<name_value>> decode_pairs(std::string_view text);

}  // namespace stirgate::store::sqlite
