// await_callback resumes the coroutine on its own executor with the other thread's result.

#include "net/net.hpp"

#include <thread>

#include <catch2/catch.hpp>

#include "net/await_callback.hpp"

namespace asio = boost::asio;

namespace {

asio::awaitable<void> wait_for_worker(std::thread& worker, std::thread::id& resumed_on, int& value)
{
    auto r = co_await stirgate::net::await_callback<int>([&worker](auto callback) {
        worker = std::thread([callback] { callback(stirgate::result<int>(42)); });
    });
    resumed_on = std::this_thread::get_id();
    value = r ? *r : -1;
}

}  // namespace

TEST_CASE("await_callback resumes on the awaiting executor with the worker's result", "[net]")
{
    asio::io_context io;
    std::thread worker;
    std::thread::id resumed_on;
    int value = 0;
    asio::co_spawn(io, wait_for_worker(worker, resumed_on, value), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    io.run();  // returns only after the callback came back: the work guard kept it running
    worker.join();
    CHECK(value == 42);
    CHECK(resumed_on == std::this_thread::get_id());
}
