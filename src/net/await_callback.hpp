#pragma once
// Bridges callback-style work done on another thread (the store's writer thread) into a
// coroutine: `co_await await_callback<T>(start)` calls start(callback) and resumes the awaiting
// coroutine on its own executor when the callback runs, wherever that is. The I/O thread never
// blocks meanwhile (STYLE.md section 3).

#include "net/net.hpp"

#include <functional>
#include <memory>

#include "core/error.hpp"

namespace stirgate::net {

// `start` receives a std::function<void(result<T>)> and must call it exactly once (from any
// thread). The executor is kept busy meanwhile, so io_context::run() does not return early.
template <class T, class Start>
boost::asio::awaitable<result<T>> await_callback(Start start)
{
    auto initiate = [start = std::move(start)](auto completion) mutable {
        using completion_type = decltype(completion);
        auto ex = boost::asio::get_associated_executor(completion);
        auto work = boost::asio::make_work_guard(ex);
        // std::function needs a copyable target; the awaitable handler is move-only.
        auto shared = std::make_shared<completion_type>(std::move(completion));
        start(std::function<void(result<T>)>(
            [ex, work = std::move(work), shared](result<T> r) mutable {
                boost::asio::post(ex, [shared, r = std::move(r)]() mutable {
                    (*shared)(std::move(r));
                });
                work.reset();
            }));
    };
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(result<T>)>(
        std::move(initiate), boost::asio::use_awaitable);
}

}  // namespace stirgate::net
