#pragma once
// sqlite_store internals: the schema, as numbered migrations recorded in PRAGMA user_version.

#include <string_view>

#include <sqlite3.h>

namespace stirgate::store::sqlite {

// Applies every migration from the database's user_version up to sqlite_store::schema_version,
// each with its version bump in one transaction. Throws std::runtime_error (one line naming
// `url`) for a database newer than this code or a failed step.
// With `apply` false nothing is changed and a database behind this code is refused too.
void migrate(sqlite3* db, std::string_view url, bool apply = true);

}  // namespace stirgate::store::sqlite
