#pragma once
// The real `stirgate serve` on 127.0.0.1 with an OS-chosen port, the one way integration tests
// start, signal, stop and restart a gateway process, plus the raw-socket and /proc helpers the
// fault tests share.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


namespace stirgate::test {

// How long a test lets a gateway take from SIGTERM to its exit before it fails. Not a product
// figure: the product's own bound is drain_delay_ms + drain_timeout_ms (at most 3 s in these
// tests) plus the outbox's stop (deliveries in flight, each bounded by its http client's
// timeout). A sanitizer build on a CI machine shared with other builds has been seen to need
// more than 15 s for that, so the limit is generous; a test that asserts the drain window itself
// (load_balancer_test, server_test's in-flight case) measures it with its own bound.
inline constexpr std::chrono::seconds gateway_stop_limit{60};

// The port of a {"msg":"listening",...,"port":N} log line; 0 for any other line.
std::uint16_t listening_port(const std::string& line);

// A running `stirgate serve --config <config> --listen 127.0.0.1:0`. Its stdout and stderr go to
// files, not pipes, so a gateway that logs a line per request never blocks on a full pipe while
// a test floods it. The destructor SIGKILLs and reaps a gateway that is still running.
class gateway_process final {
public:
    // Starts the gateway with `stdout_file` (and stdout_file + ".stderr") as its output and
    // waits for its {"msg":"listening"} line. An empty `stdout_file` means a fresh file beside
    // `config` (config + ".gateway-N.log", N counting the starts of this test process), so a
    // restarted gateway does not overwrite the log of the one before. `extra_env` entries
    // ("NAME=value") replace inherited ones of the same name. Throws std::runtime_error with the
    // gateway's stderr when the line does not come within `timeout` (an ASan start on a busy
    // machine takes seconds).
    static gateway_process start(const std::string& config, const std::string& stdout_file = {},
                                 const std::vector<std::string>& extra_env = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

    gateway_process(gateway_process&& other) noexcept;
    gateway_process& operator=(gateway_process&&) = delete;
    gateway_process(const gateway_process&) = delete;
    ~gateway_process();

    pid_t pid() const noexcept { return pid_; }
    std::uint16_t port() const noexcept { return port_; }

    void send_signal(int signo);
    // The exit code (128 + signal number for a signal death); nullopt if still running after
    // `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // SIGTERM, then wait(limit): 0 after a clean drain.
    std::optional<int> stop(std::chrono::milliseconds limit = gateway_stop_limit);

    // The next stdout line (without '\n') for which `pred` is true, after the lines an earlier
    // call (or start()'s wait for the listening line) consumed; nullopt when `timeout` passes
    // or the gateway exits first.
    std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                             std::chrono::milliseconds timeout);

    std::string stdout_text() const;
    std::string stderr_text() const;

private:
    gateway_process() = default;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string out_file_;
    std::size_t out_scanned_ = 0;  // stdout bytes already offered to wait_for_line
    std::optional<int> exit_code_;
};

// VmRSS of a live process in KiB, from /proc/<pid>/status; nullopt if it cannot be read.
std::optional<long> vm_rss_kib(pid_t pid);

// A plain TCP connection to 127.0.0.1:port that reads raw bytes, for requests whose reply (or
// the lack of one) matters byte for byte. Throws std::runtime_error when it cannot connect.
class raw_connection final {
public:
    explicit raw_connection(std::uint16_t port);
    ~raw_connection();
    raw_connection(raw_connection&& other) noexcept;
    raw_connection& operator=(raw_connection&&) = delete;
    raw_connection(const raw_connection&) = delete;

    int fd() const noexcept { return fd_; }

    // Sends all bytes within `timeout`; false if the peer closed or reset meanwhile.
    bool send_all(std::string_view bytes,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

    struct drained {
        std::string bytes;    // everything received
        bool closed = false;  // the peer closed (EOF) or reset within the timeout
    };
    // Reads until the peer closes or `timeout` passes.
    drained read_to_eof(std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
};

// How many HTTP responses start in `bytes` (status lines "HTTP/1.x NNN ").
std::size_t count_status_lines(std::string_view bytes);
// Status code of the first response in `bytes`, 0 if none.
int first_status(std::string_view bytes);

}  // namespace stirgate::test
