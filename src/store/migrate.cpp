#include "store/migrate.hpp"

#include <stdexcept>

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace stirgate::store {

int migrate_schema(std::string_view url, const std::string& password)
{
    open_options options;
    options.password = password;  // migrate stays true: applying the schema is the point
    const auto opened = open_store(url, options);
    if (const auto* pg = dynamic_cast<const postgres_store*>(opened.get()))
        return pg->schema_version();
    if (dynamic_cast<const sqlite_store*>(opened.get())) return sqlite_store::schema_version;
    throw std::runtime_error("storage url: this store has no schema");
}

}  // namespace stirgate::store
