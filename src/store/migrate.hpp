#pragma once
// `stirgate migrate`: applies the schema of the store a [storage] url names.

#include <string>
#include <string_view>

namespace stirgate::store {

// Opens the store (which applies every missing migration), closes it and returns the schema
// version now in the database. Throws std::runtime_error with one line (as open_store).
// `password`: as open_options::password.
int migrate_schema(std::string_view url, const std::string& password = {});

}  // namespace stirgate::store
