#pragma once
// sqlite_store internals: the writer thread and its group commit (see sqlite_store.hpp). Every
// operation is a job queued here; the writer takes every queued job (up to max_batch), runs them
// in one transaction, each inside its own SAVEPOINT, commits once, then runs the callbacks.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite_connection.hpp"
#include "store/store_counters.hpp"

namespace stirgate::store::sqlite {

class job {
public:
    explicit job(bool writes) : writes_(writes) {}
    virtual ~job() = default;
    job(const job&) = delete;
    job& operator=(const job&) = delete;

    bool writes() const noexcept { return writes_; }
    store_counters::clock::time_point queued_at;
    virtual void run(connection& c) = 0;
    virtual bool failed() const noexcept = 0;
    virtual void abort(error e) = 0;  // the batch was rolled back: report e instead
    virtual void complete() = 0;      // calls the callback, once

private:
    bool writes_;
};

template <class T>
class typed_job final : public job {
public:
    using body_type = std::function<result<T>(connection&)>;
    typed_job(bool writes, body_type body, store::callback<T> done)
        : job(writes), body_(std::move(body)), done_(std::move(done))
    {
    }

    void run(connection& c) override { result_ = body_(c); }
    bool failed() const noexcept override { return !result_.has_value(); }
    void abort(error e) override { result_ = std::move(e); }
    void complete() override { done_(std::move(result_)); }

private:
    body_type body_;
    store::callback<T> done_;
    result<T> result_;
};

class writer {
public:
    explicit writer(std::size_t max_batch) : max_batch_(max_batch) {}
    // Runs every job already queued, then joins the thread; later submissions get
    // store_unavailable.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    // The connection, to open before start(); touched only by the writer thread afterwards.
    connection& conn() noexcept { return conn_; }
    void start();

    // Queues `body` (run on the writer thread, inside the batch transaction); `done` gets its
    // result after the commit. `writes`: a committed write proves the database healthy again.
    template <class T>
    void submit(bool writes, typename typed_job<T>::body_type body, store::callback<T> done)
    {
        auto j = std::make_unique<typed_job<T>>(writes, std::move(body), std::move(done));
        {
            const std::lock_guard lock(mutex_);
            if (!stopping_) {
                j->queued_at = counters_.queued();
                queue_.push_back(std::move(j));
            }
        }
        if (j) {  // refused: the store is closing
            counters_.refused();
            j->abort(error{errc::store_unavailable, "store is closed"});
            j->complete();
            return;
        }
        wake_.notify_one();
    }

    bool healthy() const noexcept { return healthy_.load(); }
    store_stats stats() const;

private:
    void loop();
    void run_batch(std::vector<std::unique_ptr<job>>& batch);

    std::size_t max_batch_;
    connection conn_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<job>> queue_;  // guarded by mutex_
    bool stopping_ = false;                   // guarded by mutex_

    std::atomic<bool> healthy_{true};
    store_counters counters_;
    std::thread thread_;
};

}  // namespace stirgate::store::sqlite
