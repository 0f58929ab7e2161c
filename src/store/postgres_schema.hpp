#pragma once
// The PostgreSQL schema and its migrations (numbered like SQLite's user_version, recorded in the
// table stirgate_schema_version). Applied at open and by `stirgate migrate`.

#include "core/error.hpp"
#include "store/postgres_connection.hpp"

namespace stirgate::store::pg {

// Schema version this code writes; a database with a higher recorded version is refused.
inline constexpr int schema_version = 5;

// Applies every missing migration with its version rows in one transaction, under an
// advisory lock so instances starting together migrate once. Returns the version now in place.
// errc::store_unavailable with the server's message when a step fails; errc::conflict when the
// database is newer than this code.
// With `apply` false nothing is changed and a database behind this code is refused too
// (errc::conflict).
[[nodiscard]] result<int> migrate(connection& c, bool apply = true);

}  // namespace stirgate::store::pg
