#pragma once
// The counters behind store::stats() (and so /metrics), shared by the stores with a job queue
// (SQLite's writer, PostgreSQL's connection threads) so both count the same events the same
// way. Thread-safe: jobs are queued on any thread and run on the store's own.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "store/store.hpp"

namespace stirgate::store {

class store_counters {
public:
    using clock = std::chrono::steady_clock;

    // A job entered a queue; returns the time to hand to started().
    clock::time_point queued() noexcept
    {
        ++waiting_;
        return clock::now();
    }
    // A queued job left its queue to run.
    void started(clock::time_point queued_at) noexcept
    {
        --waiting_;
        const auto waited = clock::now() - queued_at;
        wait_ns_ += static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count());
    }
    void refused() noexcept { ++refused_; }
    // `n` jobs failed because the database did (a rolled-back batch counts each of its jobs).
    void database_errors(std::uint64_t n = 1) noexcept { database_errors_ += n; }
    void committed() noexcept { ++committed_; }
    void completed() noexcept { ++completed_; }

    store_stats snapshot(std::size_t connections, std::size_t connections_up) const noexcept
    {
        store_stats s;
        s.transactions_committed = committed_.load();
        s.jobs_completed = completed_.load();
        s.database_errors = database_errors_.load();
        s.jobs_refused = refused_.load();
        s.queue_wait_seconds = static_cast<double>(wait_ns_.load()) / 1e9;
        s.jobs_waiting = waiting_.load();
        s.connections = connections;
        s.connections_up = connections_up;
        return s;
    }

private:
    std::atomic<std::uint64_t> committed_{0};
    std::atomic<std::uint64_t> completed_{0};
    std::atomic<std::uint64_t> database_errors_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<std::uint64_t> wait_ns_{0};
    std::atomic<std::size_t> waiting_{0};
};

}  // namespace stirgate::store
