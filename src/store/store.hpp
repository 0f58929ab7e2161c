#pragma once
// Storage of calls and of the durable outbox behind one interface (DESIGN.md "State and scale").
// Implementations: sqlite_store (one writer thread, group commit) and memory_store (unit tests of
// handlers). No Asio here: every operation takes a completion callback, and the net layer wraps
// that into an awaitable; blocking wrappers serve tests and the CLI.
//
// Callback contract (both implementations):
// - the callback is called exactly once, on the store's own thread (sqlite_store: its writer
//   thread, after the transaction holding the operation committed; memory_store: the calling
//   thread, before the operation returns). Never assume either: post to your own executor.
// - a callback may start further asynchronous operations, but must not call a blocking wrapper
//   (it would wait for the thread it runs on) and should return quickly (it delays the batch).
// - errc::store_unavailable: the database failed (I/O error, disk full) or the store is
//   closing; healthy() is false until a later transaction commits.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/verstat.hpp"

namespace stirgate::store {

// Twilio Call `status` (spec/TWILIO-API.md section 3.3).
enum class call_status {
    queued,
    ringing,
    in_progress,
    completed,
    busy,
    failed,
    no_answer,
    canceled
};
std::string_view to_string(call_status s) noexcept;  // "in-progress", "no-answer", ...
// Twilio spelling only; errc::invalid_parameter otherwise.
[[nodiscard]] result<call_status> parse_call_status(std::string_view s);
// completed, busy, failed, no-answer, canceled: the call is over.
bool is_terminal(call_status s) noexcept;
// queued, ringing, in-progress: the statuses a live call may be in (call_update::only_from of
// a change that applies to any live call).
std::vector<call_status> live_statuses();

// Twilio Call `direction`. outbound-dial is kept for <Dial> legs the edge may report later.
enum class call_direction { inbound, outbound_api, outbound_dial };
std::string_view to_string(call_direction d) noexcept;  // "inbound", "outbound-api", ...
[[nodiscard]] result<call_direction> parse_call_direction(std::string_view s);

// A call's place in a conference (Twilio's Participant resource, issue #14 item 2): set while the
// call is a participant, none once it left (kicked, or the edge reported it leaving).
struct participant_info {
    std::string conference_sid;  // CF + 32 hex
    std::string label;           // "" = none
    bool muted = false;
    bool hold = false;
    bool start_conference_on_enter = true;
    bool end_conference_on_exit = false;

    friend bool operator==(const participant_info&, const participant_info&) = default;
};
// The participant column's text (JSON) and back; errc::internal for text this store never wrote.
std::string encode_participant(const participant_info& p);
[[nodiscard]] result<participant_info> decode_participant(std::string_view text);

// One call: what the Twilio Call JSON shows plus what the gateway needs to forward, sign and
// report it. Times are seconds since the epoch (UTC); optional where Twilio shows null.
struct call_record {
    std::string sid;          // CA + 32 hex
    std::string account_sid;  // AC + 32 hex
    std::optional<std::string> parent_call_sid;
    call_direction direction = call_direction::outbound_api;
    std::string from;
    std::string to;
    call_status status = call_status::queued;
    std::int64_t date_created = 0;
    std::int64_t date_updated = 0;
    std::optional<std::int64_t> start_time;
    std::optional<std::int64_t> end_time;
    std::optional<std::int64_t> duration;  // seconds, set when the call ends
    std::string url;                       // TwiML URL (empty for inbound calls)
    std::string method = "POST";           // GET or POST
    std::string fallback_url;
    std::string fallback_method = "POST";
    std::string status_callback;
    std::string status_callback_method = "POST";
    std::vector<std::string> status_callback_events;  // initiated, ringing, answered, completed
    // Identity header values sent (outbound: SHAKEN first, then each DIV in chain order) or
    // received (inbound: arrival order), each a full header value.
    std::vector<std::string> identity_headers;
    // Attestation given to the call (outbound), or the inbound SHAKEN PASSporT's attest; this is
    // the StirStatus of status callbacks (DESIGN.md "Twilio API details").
    std::optional<core::attestation> attestation;
    std::optional<std::string> stir_verstat;  // Twilio StirVerstat text as sent to the app
    // The whole CallToken minted for an inbound call, so a retried webhook (same CallSid)
    // yields the same token (DESIGN.md "Edge interface").
    std::optional<std::string> calltoken;
    std::optional<std::string> forwarded_from;
    std::optional<participant_info> participant;  // in a conference

    friend bool operator==(const call_record&, const call_record&) = default;
};

// Checks what the store relies on: sid and account_sid shapes, a parent_call_sid shape, GET/POST
// methods, non-negative duration. errc::invalid_parameter with the field in the detail.
[[nodiscard]] result<void> validate(const call_record& call);

// edge_dial: a call for the edge to place; edge_control: an instruction about a call it has
// (Calls API update: hang up, redirect); status_callback: an application's StatusCallback.
enum class outbox_kind { edge_dial, status_callback, edge_control };
std::string_view to_string(outbox_kind k) noexcept;  // "edge_dial", "status_callback", ...
[[nodiscard]] result<outbox_kind> parse_outbox_kind(std::string_view s);

using name_value = std::pair<std::string, std::string>;

// One HTTP request the gateway owes someone (the edge's dial URL, an application's
// StatusCallback). Deleted only after delivery (DESIGN.md "State and scale").
struct outbox_item {
    std::int64_t id = 0;  // assigned by the store, increasing, never reused
    outbox_kind kind = outbox_kind::edge_dial;
    std::string call_sid;
    std::string target_url;               // must not be empty
    std::string method = "POST";          // GET or POST
    std::vector<name_value> params;       // form fields in order (repeats allowed: Identity)
    std::vector<name_value> headers;      // extra request headers, e.g. X-Twilio-Signature
    std::int32_t attempts = 0;            // failed deliveries so far
    std::int64_t next_attempt_at_ms = 0;  // epoch milliseconds
    std::string last_error;
    // Non-empty: while an item with this key is in the outbox, enqueueing another is a no-op that
    // returns the existing id (a retried edge webhook must not send a callback twice).
    std::string idempotency_key;
    std::int64_t created_at_ms = 0;
    // The I-Twilio-Idempotency-Token of an item without an idempotency_key: the store gives every
    // enqueued item that has none a random one, so it is the same on each attempt and never
    // repeats (an id may: a restored or rebuilt database counts again).
    std::string delivery_token;
    // The worker holding the item ("" = none) and until when (epoch ms); see claim_due.
    std::string claimed_by;
    std::int64_t claimed_until_ms = 0;

    friend bool operator==(const outbox_item&, const outbox_item&) = default;
};

// store::claim_due: `worker` takes up to `limit` due items for `lease_ms`.
struct outbox_claim {
    std::string worker;  // a name unique among the gateways sharing the store; not empty
    std::int64_t now_ms = 0;
    std::int64_t lease_ms = 0;  // > 0: the items are the worker's until now_ms + lease_ms
    std::size_t limit = 0;
};

// What an insert enforces beside the sid's uniqueness.
struct insert_limits {
    // > 0, and the call's parent_call_sid names a stored call: the insert is refused with
    // errc::calltoken_leg_limit when that parent already has this many child calls. Checked
    // inside the insert's own transaction with the parent's row locked, so concurrent inserts on
    // several connections or gateways cannot pass it together. A parent the store has never
    // seen (another platform's call) is not limited.
    std::size_t max_legs_per_parent = 0;
    // Set, and the parent is stored: called with the parent inside the insert's transaction,
    // its row locked; an error refuses the insert with that error. The Calls API checks a
    // CallToken against its parent call here, so the parent is read in the insert's own
    // transaction (one statement on PostgreSQL when the parent is not stored) rather than in a
    // round trip of its own, and a parent that ends meanwhile cannot let a leg through. Runs on
    // the store's thread: it must be quick and touch nothing shared.
    std::function<result<void>(const call_record& parent)> check_parent;
};
// True when the insert of `call` must look at its stored parent (limits set, parent named).
[[nodiscard]] bool parent_checks_apply(const call_record& call, const insert_limits& limits) noexcept;
// What every engine runs once it found `parent` (locked): limits.check_parent, then the leg
// count, which count_legs() gives only when a limit is set.
[[nodiscard]] result<void> check_stored_parent(const call_record& call, const insert_limits& limits,
                                               const call_record& parent,
                                               const std::function<result<std::size_t>()>& count_legs);

// Twilio list filters (spec/TWILIO-API.md section 3.2); unset = not filtered.
struct call_filter {
    std::optional<std::string> to;
    std::optional<std::string> from;
    std::optional<call_status> status;
    std::optional<std::string> parent_call_sid;
    // Participants of this conference (participant_info::conference_sid).
    std::optional<std::string> conference_sid;
    // Only calls not yet ended (queued, ringing, in-progress): a conference's participants.
    bool live_only = false;
};

struct call_page {
    std::vector<call_record> calls;              // newest first: date_created DESC, sid DESC
    std::optional<std::string> next_page_token;  // none on the last page
    // The page before this one (newer calls): none on the first page, or when nothing newer
    // than this page's first call is stored.
    std::optional<std::string> previous_page_token;
};

inline constexpr std::size_t max_page_size = 1000;  // Twilio: PageSize 1..1000

// A status change reported by the edge, or a change asked for through the Calls API.
struct call_update {
    std::optional<call_status> status;  // unset: the status stays (a redirect)
    std::int64_t date_updated = 0;
    std::optional<std::int64_t> start_time;  // set when given, kept otherwise
    std::optional<std::int64_t> end_time;
    std::optional<std::int64_t> duration;
    // Set: replaces the stored value (Calls API update: a redirect's TwiML URL and method, new
    // fallback and StatusCallback). Checked as at insert (validate: GET/POST methods).
    std::optional<std::string> url;
    std::optional<std::string> method;
    std::optional<std::string> fallback_url;
    std::optional<std::string> fallback_method;
    std::optional<std::string> status_callback;
    std::optional<std::string> status_callback_method;
    // Set: the call's participant record becomes this one; set to none: the call left its
    // conference (Participants API update and kick, the edge's conference reports).
    std::optional<std::optional<participant_info>> participant;
    // Non-empty: the change applies only if the current status is one of these, otherwise
    // errc::conflict and nothing changes (e.g. Status=canceled only for queued/ringing calls).
    std::vector<call_status> only_from;
};
// The call as it is after `u` (what every engine stores; the Calls API answers with it).
void apply(call_record& call, const call_update& u);

// Twilio Conference `status`: init until the edge reports it started, in-progress, completed.
enum class conference_status { init, in_progress, completed };
std::string_view to_string(conference_status s) noexcept;  // "init", "in-progress", "completed"
[[nodiscard]] result<conference_status> parse_conference_status(std::string_view s);

// One conference (Twilio's Conference resource). Among an account's conferences that are not
// completed a FriendlyName is unique: a participant added by name joins the live one, and the
// name may be used again once it completed (a new sid), as Twilio's <Conference> does.
struct conference_record {
    std::string sid;          // CF + 32 hex
    std::string account_sid;  // AC + 32 hex
    std::string friendly_name;
    conference_status status = conference_status::init;
    std::int64_t date_created = 0;
    std::int64_t date_updated = 0;
    std::optional<std::string> reason_ended;     // reason_conference_ended
    std::optional<std::string> call_sid_ending;  // call_sid_ending_conference

    friend bool operator==(const conference_record&, const conference_record&) = default;
};
// sid and account_sid shapes, a friendly_name of 1..max_friendly_name bytes.
[[nodiscard]] result<void> validate(const conference_record& conference);
inline constexpr std::size_t max_friendly_name = 128;

// What the edge reports about a conference: its status only ever moves forward (init,
// in-progress, completed); the reason and the call that ended it are kept from the completion.
struct conference_update {
    conference_status status = conference_status::in_progress;
    std::int64_t date_updated = 0;
    std::optional<std::string> reason_ended;
    std::optional<std::string> call_sid_ending;
};
// The conference as it is after `u` (every engine stores this).
conference_record apply(conference_record conference, const conference_update& u);

struct conference_filter {
    std::optional<std::string> friendly_name;
    std::optional<conference_status> status;
};

struct conference_page {
    std::vector<conference_record> conferences;  // newest first, tokens as call_page's
    std::optional<std::string> next_page_token;
    std::optional<std::string> previous_page_token;
};

// Counters for tests and /metrics.
struct store_stats {
    std::uint64_t transactions_committed = 0;
    std::uint64_t jobs_completed = 0;
    // Jobs that ended with a database error (store_unavailable: the database unreachable, a
    // full disk, a statement the server failed); not the client's (constraint, not found).
    std::uint64_t database_errors = 0;
    // Jobs refused at once, before reaching the database: queue full or connection down.
    std::uint64_t jobs_refused = 0;
    // Time jobs spent queued before their connection (or the writer) took them, in total, and
    // the jobs waiting now: together they tell a pool too small from a slow database.
    double queue_wait_seconds = 0;
    std::size_t jobs_waiting = 0;
    // Database connections the store keeps (PostgreSQL pool_size; 1 for SQLite's writer; 0 for
    // memory) and how many are up now.
    std::size_t connections = 0;
    std::size_t connections_up = 0;
};

// What /metrics reports of the outbox, read in one statement.
struct outbox_summary {
    std::size_t items = 0;  // queued or waiting for a retry, claimed or not
    // next_attempt_at_ms of the longest-waiting item that is due at the time asked about
    // (next_attempt_at_ms <= now); nullopt when nothing is due. now - this = the outbox's lag.
    std::optional<std::int64_t> oldest_due_at_ms;
    std::size_t dead_letters = 0;  // items given up on (mark_dead), kept for the operator
};

class store {
public:
    template <class T>
    using callback = std::function<void(result<T>)>;

    virtual ~store() = default;
    store() = default;
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // --- asynchronous operations (see the callback contract above) -------------------------

    // Stores a new call. errc::conflict if the sid exists (in any account),
    // errc::invalid_parameter if validate() refuses it.
    void insert_call(call_record call, callback<void> done);
    // Stores the call and enqueues the items in one transaction: both or neither (a 201 and its
    // dial hand-off are durable together). Items with an empty call_sid get the call's sid.
    // Returns the item ids in order. Errors as insert_call and enqueue.
    void insert_call_with_outbox(call_record call, std::vector<outbox_item> items,
                                 callback<std::vector<std::int64_t>> done);
    // The same under `limits` (errc::calltoken_leg_limit when one is reached).
    void insert_call_with_outbox(call_record call, std::vector<outbox_item> items,
                                 insert_limits limits, callback<std::vector<std::int64_t>> done);
    // The call if it belongs to the account; none for an unknown sid or another account's call.
    void get_call(std::string account_sid, std::string call_sid,
                  callback<std::optional<call_record>> done);
    // Any account's call (webhooks from the edge name only the CallSid).
    void find_call(std::string call_sid, callback<std::optional<call_record>> done);
    // Applies the update and returns the call as stored afterwards. errc::not_found for an
    // unknown sid, errc::conflict when only_from excludes the current status.
    void update_call_status(std::string call_sid, call_update update, callback<call_record> done);
    // The same, plus enqueueing items in the same transaction (status callbacks owed for it).
    void update_call_status_with_outbox(std::string call_sid, call_update update,
                                        std::vector<outbox_item> items, callback<call_record> done);
    // Deletes the account's call (Twilio's DELETE .../Calls/{Sid}.json). errc::not_found for an
    // unknown sid or another account's call; errc::conflict, the status in the detail, while
    // the call is live (queued, ringing, in-progress): only a finished call's record goes.
    // Outbox items already queued for it (a last StatusCallback) are still delivered.
    void delete_call(std::string account_sid, std::string call_sid, callback<void> done);
    // One page of the account's calls, newest first. page_token: empty for the first page,
    // otherwise a next_page_token from a list of the same account ("PA" + the last sid shown;
    // keyset pagination, so inserts between pages neither repeat nor skip a call).
    // errc::invalid_parameter for page_size outside 1..max_page_size or a token that is
    // malformed or names no call of this account.
    void list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                    std::string page_token, callback<call_page> done);

    // The account's conference named candidate.friendly_name that has not completed, or, when
    // there is none, `candidate` stored as a new one (its sid must be new). One transaction, so
    // two first participants racing on two gateways join one conference.
    void open_conference(conference_record candidate, callback<conference_record> done);
    // The conference if it belongs to the account (any account's when account_sid is none).
    void get_conference(std::optional<std::string> account_sid, std::string conference_sid,
                        callback<std::optional<conference_record>> done);
    // Applies the edge's report (apply(conference_record, conference_update)) and returns the
    // conference as stored. errc::not_found for an unknown sid.
    void update_conference(std::string conference_sid, conference_update update,
                           callback<conference_record> done);
    // One page of the account's conferences, newest first; tokens and errors as list_calls'
    // ("PA"/"PB" + a conference sid).
    void list_conferences(std::string account_sid, conference_filter filter,
                          std::size_t page_size, std::string page_token,
                          callback<conference_page> done);

    // Enqueues items on their own; returns their ids (an existing id for a known idempotency
    // key). errc::invalid_parameter for an empty target_url or call_sid, or a method other than
    // GET/POST.
    void enqueue(std::vector<outbox_item> items, callback<std::vector<std::int64_t>> done);
    // Up to `limit` items with next_attempt_at_ms <= now_ms, oldest first (next_attempt_at_ms,
    // then id), claimed or not. A look for tests and operators: nothing is claimed.
    void due_items(std::int64_t now_ms, std::size_t limit, callback<std::vector<outbox_item>> done);
    // Leases up to `limit` items that are due (next_attempt_at_ms <= now_ms) and held by nobody
    // (never claimed, released, or claimed_until_ms <= now_ms: an expired lease, e.g. of a
    // gateway that died), oldest first, to claim.worker until now_ms + lease_ms, and returns them
    // as claimed. Gateways sharing one store never get the same item while its lease runs.
    // errc::invalid_parameter for an empty worker or lease_ms <= 0.
    void claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done);
    // Delivery acknowledged: deletes the item. errc::not_found for an unknown id,
    // errc::conflict when `worker` does not hold it (another gateway re-claimed it after the
    // lease expired, or it was never claimed); the item is then left alone.
    void mark_delivered(std::int64_t id, std::string worker, callback<void> done);
    // Delivery failed: attempts + 1, the next attempt time and the error are recorded and the
    // claim is released. Errors as mark_delivered.
    void mark_failed(std::int64_t id, std::string worker, std::int64_t next_attempt_at_ms,
                     std::string last_error, callback<void> done);
    // Delivery failed for the last time (the worker's attempt or age limit): the item moves to
    // the dead letters with attempts + 1, `last_error` and dead_at = `now_ms`, and is no longer
    // due. Only by its holder; errors as mark_delivered.
    void mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                   std::string last_error, callback<void> done);
    // Every item `worker` holds is released (due again at its next_attempt_at_ms, attempts
    // unchanged): a worker stopping, or a restarted gateway taking back what it held under the
    // same name. Returns how many.
    void release_claims(std::string worker, callback<std::size_t> done);
    // The outbox's size and its oldest item due at `now_ms` (stirgate_outbox_depth and
    // stirgate_outbox_lag_seconds).
    void summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done);

    // Calls `wake` (on a thread of the store's, maybe more often than needed) when another
    // gateway sharing the store queued or released outbox items, so an idle worker sends them
    // at once rather than at its next poll, until the returned handle is destroyed (it waits
    // for a call in progress). Stores one gateway owns (memory, SQLite) never call it: that
    // gateway's handlers wake its worker themselves. `wake` must be thread-safe.
    [[nodiscard]] virtual std::shared_ptr<void> watch_outbox(std::function<void()> wake)
    {
        (void)wake;
        return {};
    }

    // False after a database failure until a transaction commits again (/readyz).
    virtual bool healthy() const noexcept = 0;
    virtual store_stats stats() const = 0;

    // --- blocking wrappers (tests, CLI): never call them from a store callback --------------

    [[nodiscard]] result<void> insert_call(call_record call);
    [[nodiscard]] result<std::vector<std::int64_t>> insert_call_with_outbox(
        call_record call, std::vector<outbox_item> items, insert_limits limits = {});
    [[nodiscard]] result<std::optional<call_record>> get_call(std::string account_sid,
                                                              std::string call_sid);
    [[nodiscard]] result<std::optional<call_record>> find_call(std::string call_sid);
    [[nodiscard]] result<call_record> update_call_status(std::string call_sid, call_update update);
    [[nodiscard]] result<call_record> update_call_status_with_outbox(
        std::string call_sid, call_update update, std::vector<outbox_item> items);
    [[nodiscard]] result<call_page> list_calls(std::string account_sid, call_filter filter,
                                               std::size_t page_size, std::string page_token);
    [[nodiscard]] result<void> delete_call(std::string account_sid, std::string call_sid);
    [[nodiscard]] result<conference_record> open_conference(conference_record candidate);
    [[nodiscard]] result<std::optional<conference_record>> get_conference(
        std::optional<std::string> account_sid, std::string conference_sid);
    [[nodiscard]] result<conference_record> update_conference(std::string conference_sid,
                                                              conference_update update);
    [[nodiscard]] result<conference_page> list_conferences(std::string account_sid,
                                                           conference_filter filter,
                                                           std::size_t page_size,
                                                           std::string page_token);
    [[nodiscard]] result<std::vector<std::int64_t>> enqueue(std::vector<outbox_item> items);
    [[nodiscard]] result<std::vector<outbox_item>> due_items(std::int64_t now_ms,
                                                             std::size_t limit);
    [[nodiscard]] result<std::vector<outbox_item>> claim_due(outbox_claim claim);
    [[nodiscard]] result<void> mark_delivered(std::int64_t id, std::string worker);
    [[nodiscard]] result<void> mark_failed(std::int64_t id, std::string worker,
                                           std::int64_t next_attempt_at_ms,
                                           std::string last_error);
    [[nodiscard]] result<void> mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                                         std::string last_error);
    [[nodiscard]] result<std::size_t> release_claims(std::string worker);
    [[nodiscard]] result<outbox_summary> summarise_outbox(std::int64_t now_ms);
    // Number of items in the outbox.
    [[nodiscard]] result<std::size_t> depth();

protected:
    // One virtual per primitive; the public calls above forward here (insert_call is an insert
    // with no items, update_call_status an update with no items).
    virtual void do_insert_call(call_record call, std::vector<outbox_item> items,
                                insert_limits limits,
                                callback<std::vector<std::int64_t>> done) = 0;
    virtual void do_get_call(std::optional<std::string> account_sid, std::string call_sid,
                             callback<std::optional<call_record>> done) = 0;
    virtual void do_update_call_status(std::string call_sid, call_update update,
                                       std::vector<outbox_item> items,
                                       callback<call_record> done) = 0;
    virtual void do_list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                               std::string page_token, callback<call_page> done) = 0;
    virtual void do_delete_call(std::string account_sid, std::string call_sid,
                                callback<void> done) = 0;
    virtual void do_open_conference(conference_record candidate,
                                    callback<conference_record> done) = 0;
    virtual void do_get_conference(std::optional<std::string> account_sid,
                                   std::string conference_sid,
                                   callback<std::optional<conference_record>> done) = 0;
    virtual void do_update_conference(std::string conference_sid, conference_update update,
                                      callback<conference_record> done) = 0;
    virtual void do_list_conferences(std::string account_sid, conference_filter filter,
                                     std::size_t page_size, std::string page_token,
                                     callback<conference_page> done) = 0;
    virtual void do_enqueue(std::vector<outbox_item> items,
                            callback<std::vector<std::int64_t>> done) = 0;
    virtual void do_due_items(std::int64_t now_ms, std::size_t limit,
                              callback<std::vector<outbox_item>> done) = 0;
    virtual void do_claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done) = 0;
    virtual void do_mark_delivered(std::int64_t id, std::string worker, callback<void> done) = 0;
    virtual void do_mark_failed(std::int64_t id, std::string worker,
                                std::int64_t next_attempt_at_ms, std::string last_error,
                                callback<void> done) = 0;
    virtual void do_mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                              std::string last_error, callback<void> done) = 0;
    virtual void do_release_claims(std::string worker, callback<std::size_t> done) = 0;
    virtual void do_summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done) = 0;
};

// --- helpers shared by the implementations, so both behave the same -----------------------

// Keyset page tokens, opaque to clients: "PA" + the last sid of a page (the calls after it, as
// Twilio's tokens are observed) or "PB" + the first sid of a page (the calls before it).
struct page_cursor {
    std::string sid;
    bool before = false;  // PB: the page_size calls newer than sid
};
// errc::invalid_parameter unless "PA" or "PB" + a sid of the listed kind (`prefix`: CA calls,
// CF conferences).
[[nodiscard]] result<page_cursor> parse_page_token(std::string_view token,
                                                   std::string_view prefix = "CA");
// The refusal of a PA/PB cursor that names no row of the listing account in `table` ("calls",
// "conferences"), the same from every engine.
[[nodiscard]] error foreign_page_token(std::string_view table);
// list_calls' (list_conferences') arguments checked once for every engine: page_size
// 1..max_page_size, and the token's cursor (none for the first page).
// errc::invalid_parameter otherwise.
[[nodiscard]] result<std::optional<page_cursor>> read_page_request(std::size_t page_size,
                                                                   std::string_view token,
                                                                   std::string_view prefix = "CA");
// The page from what an engine read: `rows` in its query order (newest first after a PA cursor
// or none; oldest first before a PB cursor), at most page_size + 1 of them (one more tells
// whether the page has a neighbour that way). Sets both tokens.
call_page finish_page(std::vector<call_record> rows, std::size_t page_size,
                      const std::optional<page_cursor>& cursor);
conference_page finish_page(std::vector<conference_record> rows, std::size_t page_size,
                            const std::optional<page_cursor>& cursor);
// Outbox item checks of enqueue (see there).
[[nodiscard]] result<void> validate(const outbox_item& item);
// The status column's new text, or none to keep it (call_update::status unset).
std::optional<std::string> status_text(const std::optional<call_status>& status);
// Checks of an update's fields (methods GET/POST, as validate(call_record)).
[[nodiscard]] result<void> validate(const call_update& update);
// The refusal of delete_call for a call in `status` (conflict while live), or none.
[[nodiscard]] std::optional<error> delete_refusal(const std::string& call_sid, call_status status);
// Checks of claim_due (see there).
[[nodiscard]] result<void> validate(const outbox_claim& claim);
// The answer of mark_delivered / mark_failed when no item `id` held by `worker` was changed:
// not_found when there is no such item (`exists` false), conflict otherwise.
[[nodiscard]] error not_held(std::int64_t id, bool exists, std::string_view worker);

// The text of a schema a store cannot open: newer than this code (always refused) or older
// while migrations are not to be applied ([storage] migrate = false). nullopt when the
// database's `found` version may be opened (and migrated up to `current` when `apply`).
std::optional<std::string> schema_refusal(int found, int current, bool apply);

// How a store is opened, beyond its URL ([storage] keys).
struct open_options {
    // Apply missing schema migrations at open. false: a database behind this code is refused
    // with one line asking for `stirgate migrate` (operators who migrate in a release step).
    bool migrate = true;
    // PostgreSQL password ([storage] password_file's contents); "" = the URL's, PGPASSWORD's
    // or ~/.pgpass's (libpq's own order). Never logged.
    std::string password;
};

// Opens the store a [storage] url names: sqlite:///ABS/PATH, sqlite://:memory: or
// postgresql://... (postgres_store.hpp). Throws std::runtime_error with one line on failure
// (startup failure, STYLE.md section 2); a password in the URL is never shown.
std::unique_ptr<store> open_store(std::string_view url, const open_options& options = {});

}  // namespace stirgate::store
