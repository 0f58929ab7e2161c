#include "store/migrate.hpp"

#include <stdexcept>

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace stirgate::store {

int migrate_schema(std::string_view url)
{
    const auto opened = open_store(url);
    if (const auto* pg = dynamic_cast<const postgres_store*>(opened.get()))
        return pg->schema_version();
    if (dynamic_cast<const sqlite_store*>(opened.get())) return sqlite_store::schema_version;
    throw std::runtime_error("storage url: this store has no schema");
}

}  // namespace stirgate::store
