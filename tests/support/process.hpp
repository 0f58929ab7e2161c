#pragma once
// Test support for integration tests: run the real `stirgate` binary as a child process and talk
// HTTP/1.1 to it over loopback. Blocking and simple on purpose; never used by the product.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace stirgate::test {

// Polls `pred` every `poll` until it holds (true) or `limit` has passed (false).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(poll);
    }
    return true;
}

// Milliseconds left until `deadline`, 0 once it has passed: a poll(2) timeout.
int remaining_ms(std::chrono::steady_clock::time_point deadline);

// A child process with stdout and stderr captured through pipes. The destructor kills
// (SIGKILL) and reaps a child that is still running, so a failing test leaves nothing behind.
class child_process final {
public:
    // Starts `program` with `args` (argv[1..]) and the current environment plus `extra_env`
    // ("NAME=value"). Throws std::runtime_error when it cannot be started.
    static child_process spawn(const std::string& program, const std::vector<std::string>& args,
                               const std::vector<std::string>& extra_env = {});

    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&&) = delete;
    child_process(const child_process&) = delete;
    ~child_process();

    pid_t pid() const noexcept { return pid_; }

    // Next stdout line (without '\n') for which `pred` is true; lines before it are skipped
    // (but stay in stdout_text()). nullopt when the timeout passes or stdout closes first.
    std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                             std::chrono::milliseconds timeout);

    void send_signal(int signo);

    // Waits for the exit and returns the exit code (128 + signal number for a signal death);
    // nullopt if still running after `timeout`. Keeps draining the pipes meanwhile.
    std::optional<int> wait(std::chrono::milliseconds timeout);

    // Everything captured so far.
    const std::string& stdout_text() const noexcept { return out_; }
    const std::string& stderr_text() const noexcept { return err_; }

private:
    child_process() = default;
    // Reads whatever is available on both pipes, waiting at most `timeout_ms` for something.
    void pump(int timeout_ms);
    bool reap(bool block);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    std::size_t out_scanned_ = 0;  // stdout bytes already offered to wait_for_line
    std::optional<int> exit_code_;
};

struct http_reply {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // First header with this name (case-insensitive), "" if absent.
    std::string header(std::string_view name) const;
};

// One blocking HTTP/1.1 connection to 127.0.0.1:port. Raw request bytes in, parsed replies out;
// replies must carry Content-Length (stirgate's always do). `source`, an IPv4 literal such as
// "127.0.0.2", binds the client end first: on Linux all of 127.0.0.0/8 is loopback, so a test
// can be several client addresses at once. "" = the kernel's choice (127.0.0.1).
class http_connection final {
public:
    explicit http_connection(std::uint16_t port,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5),
                             const std::string& source = "");
    ~http_connection();
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;

    // Sends all bytes; returns false if the server closed or reset the connection meanwhile
    // (it may, after a 413), which is not an error for the caller to care about.
    bool send(std::string_view raw);

    // The next reply; nullopt when the connection ends (or times out) before a full reply.
    std::optional<http_reply> read_reply();

    // True when the server has closed the connection (EOF or reset) within the timeout.
    bool peer_closed();

private:
    bool fill();  // reads more into buf_; false on EOF, error or timeout

    int fd_ = -1;
    int timeout_ms_;
    std::string buf_;
};

// Connects, sends `raw`, returns the first reply.
std::optional<http_reply> http_exchange(std::uint16_t port, std::string_view raw);

}  // namespace stirgate::test
