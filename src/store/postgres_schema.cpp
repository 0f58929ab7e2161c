#include "store/postgres_schema.hpp"

#include <iterator>
#include <string>

#include "store/store.hpp"

namespace stirgate::store::pg {
namespace {

// migrations[i] takes version i to i + 1. Append only: a released step never changes.
// Differences from SQLite's schema, each for PostgreSQL's sake: sids are COLLATE "C" so the
// keyset order (date_created DESC, sid DESC) is byte order whatever the database's locale;
// list columns are text[]; the outbox id is an identity column (a sequence never hands out an
// id twice, as SQLite's AUTOINCREMENT).
constexpr const char* migrations[] = {
    // 1: calls and outbox.
    R"sql(
CREATE TABLE calls (
    sid                    TEXT COLLATE "C" NOT NULL PRIMARY KEY
                           CHECK (length(sid) = 34 AND substr(sid, 1, 2) = 'CA'),
    account_sid            TEXT COLLATE "C" NOT NULL
                           CHECK (length(account_sid) = 34 AND substr(account_sid, 1, 2) = 'AC'),
    parent_call_sid        TEXT COLLATE "C",
    direction              TEXT NOT NULL
                           CHECK (direction IN ('inbound', 'outbound-api', 'outbound-dial')),
    from_number            TEXT NOT NULL,
    to_number              TEXT NOT NULL,
    status                 TEXT NOT NULL
                           CHECK (status IN ('queued', 'ringing', 'in-progress', 'completed',
                                             'busy', 'failed', 'no-answer', 'canceled')),
    date_created           BIGINT NOT NULL,
    date_updated           BIGINT NOT NULL,
    start_time             BIGINT,
    end_time               BIGINT,
    duration               BIGINT CHECK (duration IS NULL OR duration >= 0),
    url                    TEXT NOT NULL,
    method                 TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    fallback_url           TEXT NOT NULL,
    fallback_method        TEXT NOT NULL CHECK (fallback_method IN ('GET', 'POST')),
    status_callback        TEXT NOT NULL,
    status_callback_method TEXT NOT NULL CHECK (status_callback_method IN ('GET', 'POST')),
    status_callback_events TEXT[] NOT NULL,
    identity_headers       TEXT[] NOT NULL,
    attestation            TEXT CHECK (attestation IS NULL OR attestation IN ('A', 'B', 'C')),
    stir_verstat           TEXT,
    calltoken              TEXT,
    forwarded_from         TEXT
);
CREATE INDEX calls_list ON calls (account_sid, date_created, sid);
CREATE INDEX calls_by_to ON calls (account_sid, to_number, date_created, sid);
CREATE INDEX calls_by_from ON calls (account_sid, from_number, date_created, sid);
CREATE INDEX calls_by_parent ON calls (parent_call_sid, date_created, sid)
    WHERE parent_call_sid IS NOT NULL;

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('edge_dial', 'status_callback')),
    call_sid        TEXT NOT NULL CHECK (call_sid <> ''),
    target_url      TEXT NOT NULL CHECK (target_url <> ''),
    method          TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params          TEXT[] NOT NULL,  -- name, value, name, value, ...
    headers         TEXT[] NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at BIGINT NOT NULL,  -- epoch ms
    last_error      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      BIGINT NOT NULL   -- epoch ms
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key) WHERE idempotency_key <> '';
)sql",
    // 2: leased outbox items (store::claim_due) and random delivery tokens, as SQLite's 4, and
    // a NOTIFY on channel stirgate_outbox when items are queued, delivered to every listening
    // gateway at commit (a statement trigger: no extra round trip per call; notifications of
    // one transaction are merged).
    R"sql(
ALTER TABLE outbox ADD COLUMN delivery_token TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;  -- epoch ms
UPDATE outbox SET delivery_token = 'stirgate-outbox-' || id;
CREATE FUNCTION stirgate_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stirgate_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_queued AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION stirgate_outbox_notify();
)sql",
    // 3: dead letters, items given up on (store::mark_dead), as SQLite's 5.
    R"sql(
CREATE TABLE outbox_dead (
    id              BIGINT NOT NULL PRIMARY KEY,  -- the outbox item's id
    kind            TEXT NOT NULL,
    call_sid        TEXT NOT NULL,
    target_url      TEXT NOT NULL,
    method          TEXT NOT NULL,
    params          TEXT[] NOT NULL,
    headers         TEXT[] NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      BIGINT NOT NULL,  -- epoch ms
    delivery_token  TEXT NOT NULL,
    dead_at         BIGINT NOT NULL   -- epoch ms
);
)sql",
    // 4: outbox kind edge_control (Calls API update: hang up, redirect), as SQLite's 6.
    R"sql(
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('edge_dial', 'status_callback', 'edge_control'));
)sql",
    // 5: conferences and their participants (issue #14 item 2), as SQLite's 7.
    R"sql(
ALTER TABLE calls ADD COLUMN conference_sid TEXT;
ALTER TABLE calls ADD COLUMN participant TEXT;
CREATE INDEX calls_by_conference ON calls (conference_sid, date_created, sid)
    WHERE conference_sid IS NOT NULL;
CREATE TABLE conferences (
    sid             TEXT NOT NULL PRIMARY KEY
                    CHECK (length(sid) = 34 AND substr(sid, 1, 2) = 'CF'),
    account_sid     TEXT NOT NULL
                    CHECK (length(account_sid) = 34 AND substr(account_sid, 1, 2) = 'AC'),
    friendly_name   TEXT NOT NULL CHECK (friendly_name <> ''),
    status          TEXT NOT NULL CHECK (status IN ('init', 'in-progress', 'completed')),
    date_created    BIGINT NOT NULL,
    date_updated    BIGINT NOT NULL,
    reason_ended    TEXT,
    call_sid_ending TEXT
);
CREATE UNIQUE INDEX conferences_live_name ON conferences (account_sid, friendly_name)
    WHERE status <> 'completed';
CREATE INDEX conferences_list ON conferences (account_sid, date_created, sid);
)sql",
};
static_assert(std::size(migrations) == static_cast<std::size_t>(schema_version),
              "one migration per schema version");

// Any constant: the key of the advisory lock that serialises migrations between instances.
constexpr const char* lock_sql = "SELECT pg_advisory_xact_lock(7215340917)";

result<void> step(connection& c, const char* sql, const std::string& what)
{
    auto r = c.run_script(sql);
    if (!r) {
        (void)c.run("ROLLBACK");
        return error{errc::store_unavailable, what + ": " + r.err().detail};
    }
    return ok();
}

}  // namespace

result<int> migrate(connection& c, bool apply)
{
    if (auto r = step(c, "BEGIN", "migration"); !r) return std::move(r).err();
    if (auto r = step(c, lock_sql, "migration lock"); !r) return std::move(r).err();
    if (!apply) {  // only look: a database never migrated has no version table yet
        auto exists = c.exec("SELECT to_regclass('stirgate_schema_version') IS NOT NULL");
        if (!exists || exists->text(0, 0) != "t") {
            (void)c.run("ROLLBACK");
            if (!exists) return std::move(exists).err();
            return error{errc::conflict, *schema_refusal(0, schema_version, false)};
        }
    } else if (auto r = step(c,
                      "CREATE TABLE IF NOT EXISTS stirgate_schema_version ("
                      "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                      "schema version table");
        !r)
        return std::move(r).err();
    auto found = c.exec("SELECT coalesce(max(version), 0) FROM stirgate_schema_version");
    if (!found) {
        (void)c.run("ROLLBACK");
        return std::move(found).err();
    }
    const auto version = static_cast<int>(found->integer(0, 0));
    if (auto refused = schema_refusal(version, schema_version, apply)) {
        (void)c.run("ROLLBACK");
        return error{errc::conflict, *refused};
    }
    for (int v = version; v < schema_version; ++v) {
        const std::string what = "migration to schema version " + std::to_string(v + 1);
        if (auto r = step(c, migrations[v], what); !r) return std::move(r).err();
        auto bump = c.run("INSERT INTO stirgate_schema_version (version) VALUES ($1)",
                          params().add(std::int64_t{v + 1}));
        if (!bump) {
            (void)c.run("ROLLBACK");
            return error{errc::store_unavailable, what + ": " + bump.err().detail};
        }
    }
    if (auto r = step(c, "COMMIT", "migration commit"); !r) return std::move(r).err();
    return schema_version;
}

}  // namespace stirgate::store::pg
