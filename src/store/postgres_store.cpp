#include "store/postgres_store.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/text.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_ops.hpp"
#include "store/postgres_schema.hpp"
#include "store/store_counters.hpp"

namespace stirgate::store {
namespace {

using clock = std::chrono::steady_clock;

// One operation for a connection thread. run() executes it and keeps its result; complete()
// calls the callback with that result, or with `instead` when the transaction around it failed
// (or the job never ran).
// What a job does to the database: reads run as they are; writes inside BEGIN ... COMMIT; a
// write that is one statement (a call without outbox items) runs on its own, which
// PostgreSQL commits atomically, saving two round trips to the server.
enum class work { read, write, one_statement_write };

struct job {
    bool writes = false;
    bool in_transaction = false;  // BEGIN before, COMMIT (or ROLLBACK) after
    store_counters::clock::time_point queued_at;
    std::function<std::optional<error>(pg::connection&)> run;
    std::function<void(std::optional<error> instead)> complete;
};

template <class T>
job make_job(work kind, std::function<result<T>(pg::connection&)> body, store::callback<T> done)
{
    auto outcome = std::make_shared<result<T>>();
    job j;
    j.writes = kind != work::read;
    j.in_transaction = kind == work::write;
    j.run = [outcome, body = std::move(body)](pg::connection& c) -> std::optional<error> {
        *outcome = body(c);
        if (*outcome) return std::nullopt;
        return outcome->err();
    };
    j.complete = [outcome, done = std::move(done)](std::optional<error> instead) {
        if (instead)
            done(std::move(*instead));
        else
            done(std::move(*outcome));
    };
    return j;
}

}  // namespace

struct postgres_store::impl {
    // One connection thread: its libpq connection and the jobs routed to it.
    struct worker {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<job> queue;  // guarded by mutex
        bool stopping = false;  // guarded by mutex
        pg::connection conn;    // touched only by the thread once it runs
        clock::time_point next_connect{};
        std::chrono::milliseconds backoff{};
        std::uint64_t reconnects_seen = 0;  // impl::reconnects at this worker's last attempt
        std::string down_reason = "not connected yet";
        std::atomic<bool> up{false};  // conn.connected() as of the thread's last look
        std::thread thread;
    };

    std::string libpq_uri;
    std::string shown_url;  // password redacted
    std::size_t queue_limit = 256;
    postgres_options options;
    int schema = 0;
    std::vector<std::unique_ptr<worker>> workers;

    // watch_outbox(): the listening connection's thread and whom it tells.
    struct wake_slot {
        std::mutex mutex;
        std::function<void()> wake;  // guarded by mutex; empty once the handle is gone
    };
    std::shared_ptr<wake_slot> outbox_watcher = std::make_shared<wake_slot>();
    std::thread listener;
    std::atomic<bool> closing{false};
    void listen_loop();

    std::atomic<bool> healthy{true};
    // Successful reconnects of any worker: one proves the database is back, so the others
    // retry at once instead of waiting out their backoff.
    std::atomic<std::uint64_t> reconnects{0};
    store_counters counters;

    void loop(worker& w);
    void reconnect(worker& w);
    void run_job(worker& w, job& j);

    // Writes to one key keep their submission order on one connection. A read needs no such
    // order (every handler awaits a write's commit before it reads), so reads take turns over
    // all connections: many forwards of one parent call all look that parent up, and routing
    // those by key would queue them on a single connection.
    std::atomic<std::size_t> next_read{0};

    worker& route(std::string_view key, work kind)
    {
        const std::size_t i = kind == work::read
                                  ? next_read.fetch_add(1, std::memory_order_relaxed)
                                  : std::hash<std::string_view>{}(key);
        return *workers[i % workers.size()];
    }

    template <class T>
    void submit(std::string_view key, work kind,
                std::function<result<T>(pg::connection&)> body, store::callback<T> done)
    {
        worker& w = route(key, kind);
        job j = make_job<T>(kind, std::move(body), std::move(done));
        std::optional<error> refused;
        {
            const std::lock_guard lock(w.mutex);
            if (w.stopping)
                refused = error{errc::store_unavailable, "store is closed"};
            else if (w.queue.size() >= queue_limit)
                refused = error{errc::store_unavailable, "store queue is full"};
            else {
                j.queued_at = counters.queued();
                w.queue.push_back(std::move(j));
            }
        }
        if (refused) {
            counters.refused();
            j.complete(std::move(refused));
            return;
        }
        w.wake.notify_one();
    }
};

void postgres_store::impl::reconnect(worker& w)
{
    const auto now = clock::now();
    const std::uint64_t seen = reconnects.load();
    if (now < w.next_connect && seen == w.reconnects_seen) return;
    w.reconnects_seen = seen;
    auto r = w.conn.connect(libpq_uri, options.password);
    if (r) {
        w.backoff = options.reconnect_min;
        w.reconnects_seen = ++reconnects;
        healthy = true;
        return;
    }
    w.down_reason = r.err().detail;
    healthy = false;
    w.next_connect = now + w.backoff;
    w.backoff = std::min(w.backoff * 2, options.reconnect_max);
}

void postgres_store::impl::run_job(worker& w, job& j)
{
    counters.started(j.queued_at);
    std::optional<error> failure;  // the transaction as a whole failed (or never started)
    std::optional<error> own;      // the operation's own error (constraint, not found, ...)
    // A connection the server dropped unnoticed (restarted between two idle checks) fails the
    // first statement sent on it. Nothing was committed then, so the job runs once more on a
    // fresh connection: BEGIN for a write, the whole operation for a read.
    for (int attempt = 0; attempt < 2; ++attempt) {
        failure.reset();
        own.reset();
        if (!w.conn.connected()) reconnect(w);
        bool retry = false;
        if (!w.conn.connected()) {
            failure = error{errc::store_unavailable, "database unreachable: " + w.down_reason};
        } else if (j.in_transaction) {
            if (auto begun = w.conn.run("BEGIN"); !begun) {
                failure = std::move(begun).err();
                retry = !w.conn.connected();
            }
        }
        if (!failure) {
            own = j.run(w.conn);
            if (!j.writes) {
                retry = own && pg::is_outage(*own) && !w.conn.connected();
            } else if (!j.in_transaction) {
                // Committed or not by the statement itself; a broken connection leaves that
                // unknown, so it is never retried (as a failed COMMIT).
            } else if (own) {
                (void)w.conn.run("ROLLBACK");
            } else if (auto committed = w.conn.run("COMMIT"); !committed) {
                failure = std::move(committed).err();  // maybe committed: never retried
            }
        }
        if (!retry) break;
        w.next_connect = clock::now();
    }
    const std::optional<error>& seen = failure ? failure : own;
    if (seen && pg::is_outage(*seen)) {
        counters.database_errors();
        healthy = false;
        if (!w.conn.connected()) {
            w.down_reason = seen->detail;
            w.next_connect = clock::now();  // first retry at once, then with backoff
        }
    } else {
        healthy = true;
        if (j.writes && !own) counters.committed();
    }
    // A callback that throws must not end the thread (and with it every later callback).
    try {
        j.complete(std::move(failure));
    } catch (...) {
    }
    counters.completed();
}

void postgres_store::impl::loop(worker& w)
{
    std::deque<job> batch;
    for (;;) {
        {
            std::unique_lock lock(w.mutex);
            const auto deadline =
                w.conn.connected() ? clock::now() + options.idle_check : std::max(w.next_connect, clock::now());
            w.wake.wait_until(lock, deadline, [&] { return w.stopping || !w.queue.empty(); });
            if (w.queue.empty() && w.stopping) return;
            batch.swap(w.queue);
        }
        if (batch.empty()) {  // idle: notice a server that went away, or try to reconnect
            if (w.conn.connected()) {
                if (!w.conn.check_idle()) {
                    w.down_reason = "connection closed by the server";
                    w.next_connect = clock::now();
                    healthy = false;
                }
            } else {
                reconnect(w);
            }
            w.up = w.conn.connected();
            continue;
        }
        for (auto& j : batch) run_job(w, j);
        batch.clear();
        w.up = w.conn.connected();
    }
}

void postgres_store::impl::listen_loop()
{
    const auto outbox_wake = [slot = outbox_watcher] {
        const std::lock_guard lock(slot->mutex);
        if (slot->wake) slot->wake();
    };
    pg::connection conn;
    auto backoff = options.reconnect_min;
    // Short waits so closing is noticed quickly without a second wake-up channel.
    constexpr std::chrono::milliseconds slice{200};
    while (!closing) {
        if (!conn.connected()) {
            if (conn.connect(libpq_uri, options.password) && conn.run("LISTEN stirgate_outbox")) {
                backoff = options.reconnect_min;
                outbox_wake();  // whatever was queued while we were not listening
            } else {
                conn.close();
                for (auto waited = std::chrono::milliseconds{0}; waited < backoff && !closing;
                     waited += slice)
                    std::this_thread::sleep_for(slice);
                backoff = std::min(backoff * 2, options.reconnect_max);
                continue;
            }
        }
        auto heard = conn.wait_for_notifications(slice);
        if (!heard)
            conn.close();
        else if (*heard > 0)
            outbox_wake();
    }
}

std::shared_ptr<void> postgres_store::watch_outbox(std::function<void()> wake)
{
    auto slot = impl_->outbox_watcher;
    {
        const std::lock_guard lock(slot->mutex);
        slot->wake = std::move(wake);
    }
    if (!impl_->listener.joinable())
        impl_->listener = std::thread([p = impl_.get()] { p->listen_loop(); });
    struct watch {
        std::shared_ptr<impl::wake_slot> slot;
        ~watch()
        {
            const std::lock_guard lock(slot->mutex);
            slot->wake = nullptr;
        }
    };
    auto handle = std::make_shared<watch>();
    handle->slot = std::move(slot);
    return handle;
}

postgres_store::postgres_store(std::string_view url, postgres_options options)
    : impl_(std::make_unique<impl>())
{
    impl_->shown_url = core::redact_url_password(url);
    const auto fail = [&](const std::string& problem) {
        throw std::runtime_error("storage url " + impl_->shown_url + ": " + problem);
    };
    pg::url_options parsed;
    try {
        parsed = pg::parse_url(url);
    } catch (const std::exception& e) {
        fail(e.what());
    }
    impl_->libpq_uri = parsed.libpq_uri;
    impl_->queue_limit = parsed.queue_limit;
    impl_->options = options;
    for (std::size_t i = 0; i < parsed.pool_size; ++i) {
        auto w = std::make_unique<impl::worker>();
        w->backoff = options.reconnect_min;
        w->conn.set_statement_cache(parsed.statement_cache);
        impl_->workers.push_back(std::move(w));
    }
    // The first connection is made here, so a wrong URL or an unreachable database fails the
    // start with one line; the others connect on their threads.
    impl::worker& first = *impl_->workers.front();
    if (auto c = first.conn.connect(impl_->libpq_uri, options.password); !c)
        fail(c.err().detail);
    auto version = pg::migrate(first.conn, options.migrate);
    if (!version) fail(version.err().detail);
    impl_->schema = *version;
    first.up = true;
    for (auto& w : impl_->workers)
        w->thread = std::thread([p = impl_.get(), wp = w.get()] { p->loop(*wp); });
}

postgres_store::~postgres_store()
{
    impl_->closing = true;
    if (impl_->listener.joinable()) impl_->listener.join();
    for (auto& w : impl_->workers) {
        {
            const std::lock_guard lock(w->mutex);
            w->stopping = true;
        }
        w->wake.notify_one();
    }
    for (auto& w : impl_->workers)
        if (w->thread.joinable()) w->thread.join();
}

int postgres_store::schema_version() const noexcept
{
    return impl_->schema;
}

bool postgres_store::healthy() const noexcept
{
    return impl_->healthy.load();
}

store_stats postgres_store::stats() const
{
    std::size_t up = 0;
    for (const auto& w : impl_->workers) up += w->up.load() ? 1 : 0;
    return impl_->counters.snapshot(impl_->workers.size(), up);
}

void postgres_store::do_insert_call(call_record call, std::vector<outbox_item> items,
                                    insert_limits limits, callback<std::vector<std::int64_t>> done)
{
    const std::string key = call.sid;
    // A call without items is one statement (a leg whose parent is stored opens its own
    // transaction for the parent's checks); with items, the thread's transaction holds them all.
    const bool one_statement = items.empty();
    impl_->submit<std::vector<std::int64_t>>(
        key, one_statement ? work::one_statement_write : work::write,
        [call = std::move(call), items = std::move(items), limits = std::move(limits),
         one_statement](pg::connection& c) mutable {
            return pg::insert_call(c, call, items, limits, !one_statement);
        },
        std::move(done));
}

void postgres_store::do_get_call(std::optional<std::string> account_sid, std::string call_sid,
                                 callback<std::optional<call_record>> done)
{
    const std::string key = call_sid;
    impl_->submit<std::optional<call_record>>(
        key, work::read,
        [account = std::move(account_sid), sid = std::move(call_sid)](pg::connection& c) {
            return pg::select_call(c, account, sid);
        },
        std::move(done));
}

void postgres_store::do_update_call_status(std::string call_sid, call_update update,
                                           std::vector<outbox_item> items,
                                           callback<call_record> done)
{
    const std::string key = call_sid;
    impl_->submit<call_record>(
        key, work::write,
        [sid = std::move(call_sid), update = std::move(update), items = std::move(items)](
            pg::connection& c) mutable { return pg::update_call(c, sid, update, items); },
        std::move(done));
}

void postgres_store::do_delete_call(std::string account_sid, std::string call_sid,
                                    callback<void> done)
{
    const std::string key = call_sid;
    impl_->submit<void>(
        key, work::write,
        [account = std::move(account_sid), sid = std::move(call_sid)](pg::connection& c) {
            return pg::delete_call(c, account, sid);
        },
        std::move(done));
}

void postgres_store::do_list_calls(std::string account_sid, call_filter filter,
                                   std::size_t page_size, std::string page_token,
                                   callback<call_page> done)
{
    const std::string key = account_sid;
    impl_->submit<call_page>(
        key, work::read,
        [account = std::move(account_sid), filter = std::move(filter), page_size,
         token = std::move(page_token)](pg::connection& c) {
            return pg::list_calls(c, account, filter, page_size, token);
        },
        std::move(done));
}

void postgres_store::do_open_conference(conference_record candidate,
                                        callback<conference_record> done)
{
    const std::string key = candidate.account_sid + candidate.friendly_name;
    impl_->submit<conference_record>(
        key, work::write,
        [candidate = std::move(candidate)](pg::connection& c) {
            return pg::open_conference(c, candidate);
        },
        std::move(done));
}

void postgres_store::do_get_conference(std::optional<std::string> account_sid,
                                       std::string conference_sid,
                                       callback<std::optional<conference_record>> done)
{
    const std::string key = conference_sid;
    impl_->submit<std::optional<conference_record>>(
        key, work::read,
        [account = std::move(account_sid), sid = std::move(conference_sid)](pg::connection& c) {
            return pg::select_conference(c, account, sid);
        },
        std::move(done));
}

void postgres_store::do_update_conference(std::string conference_sid, conference_update update,
                                          callback<conference_record> done)
{
    const std::string key = conference_sid;
    impl_->submit<conference_record>(
        key, work::write,
        [sid = std::move(conference_sid), update = std::move(update)](pg::connection& c) {
            return pg::update_conference(c, sid, update);
        },
        std::move(done));
}

void postgres_store::do_list_conferences(std::string account_sid, conference_filter filter,
                                         std::size_t page_size, std::string page_token,
                                         callback<conference_page> done)
{
    const std::string key = account_sid;
    impl_->submit<conference_page>(
        key, work::read,
        [account = std::move(account_sid), filter = std::move(filter), page_size,
         token = std::move(page_token)](pg::connection& c) {
            return pg::list_conferences(c, account, filter, page_size, token);
        },
        std::move(done));
}

void postgres_store::do_enqueue(std::vector<outbox_item> items,
                                callback<std::vector<std::int64_t>> done)
{
    const std::string key = items.empty() ? std::string() : items.front().call_sid;
    impl_->submit<std::vector<std::int64_t>>(
        key, work::write,
        [items = std::move(items)](pg::connection& c) mutable {
            return pg::insert_items(c, items, {});
        },
        std::move(done));
}

void postgres_store::do_due_items(std::int64_t now_ms, std::size_t limit,
                                  callback<std::vector<outbox_item>> done)
{
    impl_->submit<std::vector<outbox_item>>(
        "outbox", work::read,
        [now_ms, limit](pg::connection& c) { return pg::due_items(c, now_ms, limit); },
        std::move(done));
}

void postgres_store::do_claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done)
{
    impl_->submit<std::vector<outbox_item>>(
        "outbox", work::write,
        [claim = std::move(claim)](pg::connection& c) { return pg::claim_due(c, claim); },
        std::move(done));
}

void postgres_store::do_mark_delivered(std::int64_t id, std::string worker, callback<void> done)
{
    impl_->submit<void>(
        "outbox", work::write,
        [id, worker = std::move(worker)](pg::connection& c) {
            return pg::mark_delivered(c, id, worker);
        },
        std::move(done));
}

void postgres_store::do_mark_failed(std::int64_t id, std::string worker,
                                    std::int64_t next_attempt_at_ms, std::string last_error,
                                    callback<void> done)
{
    impl_->submit<void>(
        "outbox", work::write,
        [id, worker = std::move(worker), next_attempt_at_ms,
         e = std::move(last_error)](pg::connection& c) {
            return pg::mark_failed(c, id, worker, next_attempt_at_ms, e);
        },
        std::move(done));
}

void postgres_store::do_mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                                  std::string last_error, callback<void> done)
{
    impl_->submit<void>(
        "outbox", work::write,
        [id, worker = std::move(worker), now_ms, last_error = std::move(last_error)](
            pg::connection& c) { return pg::mark_dead(c, id, worker, now_ms, last_error); },
        std::move(done));
}

void postgres_store::do_release_claims(std::string worker, callback<std::size_t> done)
{
    impl_->submit<std::size_t>(
        "outbox", work::write,
        [worker = std::move(worker)](pg::connection& c) { return pg::release_claims(c, worker); },
        std::move(done));
}

void postgres_store::do_summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done)
{
    impl_->submit<outbox_summary>(
        "outbox", work::read, [now_ms](pg::connection& c) { return pg::summarise_outbox(c, now_ms); },
        std::move(done));
}

}  // namespace stirgate::store
