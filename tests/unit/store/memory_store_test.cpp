// The store contract (store_behaviour.hpp) against the in-memory store used by handler tests.

#include "store/memory_store.hpp"

#include "unit/store/conference_behaviour.hpp"
#include "unit/store/outbox_behaviour.hpp"

namespace {

using stirgate::store::memory_store;

std::unique_ptr<stirgate::store::store> make_memory_store()
{
    return std::make_unique<memory_store>();
}

}  // namespace

TEST_CASE("memory store: calls are stored, read, isolated by account and updated", "[store]")
{
    stirgate::test::store_calls_behaviour(make_memory_store);
}

TEST_CASE("memory store: conferences open by name, move forward, list; participants ride on calls",
          "[store][conference]")
{
    stirgate::test::store_conference_behaviour(make_memory_store);
}

TEST_CASE("memory store: lists are newest first, filtered and paged by keyset", "[store]")
{
    stirgate::test::store_list_behaviour(make_memory_store);
}

TEST_CASE("memory store: the outbox orders, retries, deletes and deduplicates", "[store]")
{
    stirgate::test::store_outbox_behaviour(make_memory_store);
}

TEST_CASE("memory store: outbox leases keep workers sharing the store apart", "[store]")
{
    stirgate::test::store_lease_behaviour(make_memory_store);
}

TEST_CASE("memory store: a call and its outbox items are stored atomically", "[store]")
{
    stirgate::test::store_atomic_behaviour(make_memory_store);
}

TEST_CASE("memory store: is always healthy", "[store]")
{
    memory_store s;
    CHECK(s.healthy());
}
