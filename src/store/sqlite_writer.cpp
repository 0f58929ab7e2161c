// sqlite_store: the writer thread, batching queued jobs into one transaction (group commit).

#include "store/sqlite_writer.hpp"

#include <algorithm>
#include <optional>

namespace stirgate::store::sqlite {

writer::~writer()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void writer::start()
{
    thread_ = std::thread([this] { loop(); });
}

store_stats writer::stats() const
{
    // One connection, always open; a failing disk shows in healthy() and database_errors.
    return counters_.snapshot(1, 1);
}

void writer::loop()
{
    std::vector<std::unique_ptr<job>> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued has run
            const std::size_t n =
                std::min(queue_.size(), std::max<std::size_t>(1, max_batch_));
            for (std::size_t i = 0; i < n; ++i) {
                counters_.started(queue_.front()->queued_at);
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        run_batch(batch);
        batch.clear();
    }
}

void writer::run_batch(std::vector<std::unique_ptr<job>>& batch)
{
    bool wrote = false;
    std::optional<error> failure;  // set when the transaction as a whole failed
    // IMMEDIATE takes the write lock now, so a job never fails half-way on SQLITE_BUSY.
    if (auto begun = conn_.exec("BEGIN IMMEDIATE"); !begun) failure = std::move(begun).err();
    for (std::size_t i = 0; !failure && i < batch.size(); ++i) {
        job& j = *batch[i];
        if (auto sp = conn_.exec("SAVEPOINT job"); !sp) {
            failure = std::move(sp).err();
            break;
        }
        j.run(conn_);
        if (conn_.fatal()) {
            failure = error{errc::store_unavailable, conn_.fatal_detail()};
            break;
        }
        if (!j.failed()) {
            wrote = wrote || j.writes();
        } else if (auto undone = conn_.exec("ROLLBACK TO job"); !undone) {  // this job only
            failure = std::move(undone).err();
            break;
        }
        if (auto released = conn_.exec("RELEASE job"); !released)
            failure = std::move(released).err();
    }
    conn_.reset_all();
    if (!failure) {
        if (auto committed = conn_.exec("COMMIT"); !committed) failure = std::move(committed).err();
    }

    if (failure) {
        // SQLite may or may not have rolled back already (SQLITE_FULL, SQLITE_IOERR): make sure.
        if (sqlite3_get_autocommit(conn_.handle()) == 0)
            sqlite3_exec(conn_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        conn_.clear_fatal();
        healthy_ = false;
        counters_.database_errors(batch.size());
        for (auto& j : batch) j->abort(error{errc::store_unavailable, failure->detail});
    } else {
        counters_.committed();
        // Reads commit even when the disk is full: only a committed write proves recovery.
        if (wrote) healthy_ = true;
    }

    for (auto& j : batch) {
        // A callback that throws must not end the writer (and with it every later callback).
        try {
            j->complete();
        } catch (...) {
        }
        counters_.completed();
    }
}

}  // namespace stirgate::store::sqlite
