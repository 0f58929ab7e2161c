// sqlite_store: the schema as numbered migrations, applied at open (docs/design.md "Storage and
// the outbox" describes the current version).

#include "store/sqlite_schema.hpp"

#include <cstddef>
#include <iterator>
#include <string>

#include "store/sqlite_connection.hpp"
#include "store/sqlite_store.hpp"

namespace stirgate::store::sqlite {
namespace {

// migrations[i] takes user_version i to i + 1. Append only: a released step never changes.
constexpr const char* migrations[] = {
    // 1: calls and outbox.
    R"sql(
CREATE TABLE calls (
    sid                    TEXT NOT NULL PRIMARY KEY
                           CHECK (length(sid) = 34 AND substr(sid, 1, 2) = 'CA'),
    account_sid            TEXT NOT NULL
                           CHECK (length(account_sid) = 34 AND substr(account_sid, 1, 2) = 'AC'),
    parent_call_sid        TEXT,
    direction              TEXT NOT NULL
                           CHECK (direction IN ('inbound', 'outbound-api', 'outbound-dial')),
    from_number            TEXT NOT NULL,
    to_number              TEXT NOT NULL,
    status                 TEXT NOT NULL
                           CHECK (status IN ('queued', 'ringing', 'in-progress', 'completed',
                                             'busy', 'failed', 'no-answer', 'canceled')),
    date_created           INTEGER NOT NULL,
    date_updated           INTEGER NOT NULL,
    start_time             INTEGER,
    end_time               INTEGER,
    duration               INTEGER CHECK (duration IS NULL OR duration >= 0),
    url                    TEXT NOT NULL,
    method                 TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    fallback_url           TEXT NOT NULL,
    fallback_method        TEXT NOT NULL CHECK (fallback_method IN ('GET', 'POST')),
    status_callback        TEXT NOT NULL,
    status_callback_method TEXT NOT NULL CHECK (status_callback_method IN ('GET', 'POST')),
    status_callback_events TEXT NOT NULL,  -- JSON array of strings
    identity_headers       TEXT NOT NULL,  -- JSON array of strings, in order
    attestation            TEXT CHECK (attestation IS NULL OR attestation IN ('A', 'B', 'C')),
    stir_verstat           TEXT,
    calltoken_claims       TEXT,
    forwarded_from         TEXT
);
-- Twilio list order and filters, each keyed by account first (lists never cross accounts).
CREATE INDEX calls_list ON calls (account_sid, date_created DESC, sid DESC);
CREATE INDEX calls_by_to ON calls (account_sid, to_number, date_created DESC, sid DESC);
CREATE INDEX calls_by_from ON calls (account_sid, from_number, date_created DESC, sid DESC);
CREATE INDEX calls_by_status ON calls (account_sid, status, date_created DESC, sid DESC);
CREATE INDEX calls_by_parent ON calls (account_sid, parent_call_sid, date_created DESC, sid DESC)
    WHERE parent_call_sid IS NOT NULL;

-- AUTOINCREMENT: ids of delivered (deleted) items are never handed out again.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('edge_dial', 'status_callback')),
    call_sid        TEXT NOT NULL CHECK (call_sid <> ''),
    target_url      TEXT NOT NULL CHECK (target_url <> ''),
    method          TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params          TEXT NOT NULL,  -- JSON array of [name, value]
    headers         TEXT NOT NULL,  -- JSON array of [name, value]
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,  -- epoch ms
    last_error      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      INTEGER NOT NULL   -- epoch ms
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key) WHERE idempotency_key <> '';
)sql",
    // 2: fewer index pages written per call (bench/PROFILE.md "Forward": 15 -> 9 WAL pages for
    // a call committed alone, 2.9 -> 2.4 in a batch of 32). SQLite walks an ascending index
    // backwards for ORDER BY ... DESC at no cost, while a DESC index puts each new call at the
    // left end of its range, where full leaves are rebalanced with their siblings.
    // calls_by_status goes: a status has 8 values and changes through a call's life (each change
    // rewrote the entry); a Status filter walks calls_list newest first. calls_by_parent drops
    // the account prefix: the few children of one parent are checked against the row's account.
    R"sql(
DROP INDEX calls_by_status;
DROP INDEX calls_by_parent;
DROP INDEX calls_list;
DROP INDEX calls_by_to;
DROP INDEX calls_by_from;
CREATE INDEX calls_list ON calls (account_sid, date_created, sid);
CREATE INDEX calls_by_to ON calls (account_sid, to_number, date_created, sid);
CREATE INDEX calls_by_from ON calls (account_sid, from_number, date_created, sid);
CREATE INDEX calls_by_parent ON calls (parent_call_sid, date_created, sid)
    WHERE parent_call_sid IS NOT NULL;
)sql",
    // 3: the column holds the whole CallToken, not its claims (call_record::calltoken).
    R"sql(
ALTER TABLE calls RENAME COLUMN calltoken_claims TO calltoken;
)sql",
    // 4: leased outbox items (store::claim_due) and random delivery tokens. Items queued before
    // keep the token they may already have been sent with.
    R"sql(
ALTER TABLE outbox ADD COLUMN delivery_token TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;  -- epoch ms
UPDATE outbox SET delivery_token = 'stirgate-outbox-' || id;
)sql",
    // 5: dead letters, items given up on (store::mark_dead): kept, never deleted silently.
    R"sql(
CREATE TABLE outbox_dead (
    id              INTEGER NOT NULL PRIMARY KEY,  -- the outbox item's id
    kind            TEXT NOT NULL,
    call_sid        TEXT NOT NULL,
    target_url      TEXT NOT NULL,
    method          TEXT NOT NULL,
    params          TEXT NOT NULL,
    headers         TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      INTEGER NOT NULL,  -- epoch ms
    delivery_token  TEXT NOT NULL,
    dead_at         INTEGER NOT NULL   -- epoch ms
);
)sql",
    // 6: outbox kind edge_control (Calls API update: hang up, redirect). SQLite cannot change a
    // CHECK in place: the table is rebuilt with its rows, and its AUTOINCREMENT counter is
    // carried over, so ids of delivered items are still never handed out again.
    R"sql(
CREATE TABLE outbox_v6 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('edge_dial', 'status_callback', 'edge_control')),
    call_sid        TEXT NOT NULL CHECK (call_sid <> ''),
    target_url      TEXT NOT NULL CHECK (target_url <> ''),
    method          TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params          TEXT NOT NULL,  -- JSON array of [name, value]
    headers         TEXT NOT NULL,  -- JSON array of [name, value]
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,  -- epoch ms
    last_error      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      INTEGER NOT NULL,  -- epoch ms
    delivery_token  TEXT NOT NULL DEFAULT '',
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   INTEGER NOT NULL DEFAULT 0  -- epoch ms
);
INSERT INTO outbox_v6 (id, kind, call_sid, target_url, method, params, headers, attempts,
                       next_attempt_at, last_error, idempotency_key, created_at, delivery_token,
                       claimed_by, claimed_until)
    SELECT id, kind, call_sid, target_url, method, params, headers, attempts, next_attempt_at,
           last_error, idempotency_key, created_at, delivery_token, claimed_by, claimed_until
    FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox_v6';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox_v6', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_v6 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key) WHERE idempotency_key <> '';
)sql",
    // 7: conferences and their participants (issue #14 item 2). A participant is a call's place
    // in a conference, kept on the call (participant: JSON, store::encode_participant) with its
    // conference_sid beside it for the Participants list. Among an account's conferences not
    // yet completed a FriendlyName is unique.
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
    date_created    INTEGER NOT NULL,
    date_updated    INTEGER NOT NULL,
    reason_ended    TEXT,
    call_sid_ending TEXT
);
CREATE UNIQUE INDEX conferences_live_name ON conferences (account_sid, friendly_name)
    WHERE status <> 'completed';
CREATE INDEX conferences_list ON conferences (account_sid, date_created, sid);
)sql",
};
static_assert(std::size(migrations) == static_cast<std::size_t>(sqlite_store::schema_version),
              "one migration per schema version");

}  // namespace

void migrate(sqlite3* db, std::string_view url, bool apply)
{
    const std::int64_t found = pragma_int(db, url, "PRAGMA user_version");
    if (auto refused = schema_refusal(static_cast<int>(found), sqlite_store::schema_version, apply))
        open_failure(url, *refused);
    for (auto v = found; v < sqlite_store::schema_version; ++v) {
        // Each step with its version bump in one transaction: a crash leaves a whole version.
        exec_or_throw(db, url, "BEGIN IMMEDIATE", "migration");
        const int rc =
            sqlite3_exec(db, migrations[static_cast<std::size_t>(v)], nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            const std::string problem = sqlite_problem(db, rc);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            open_failure(url,
                         "migration to schema version " + std::to_string(v + 1) + ": " + problem);
        }
        const std::string bump = "PRAGMA user_version = " + std::to_string(v + 1);
        exec_or_throw(db, url, bump.c_str(), "migration");
        exec_or_throw(db, url, "COMMIT", "migration");
    }
}

}  // namespace stirgate::store::sqlite
