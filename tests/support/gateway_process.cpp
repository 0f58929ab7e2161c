#include "support/gateway_process.hpp"

#include "support/process.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace stirgate::test {

namespace {

using clock_type = std::chrono::steady_clock;

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

std::uint16_t listening_port(const std::string& line)
{
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError() || !doc.IsObject()) return 0;
    const auto msg = doc.FindMember("msg");
    const auto port = doc.FindMember("port");
    if (msg == doc.MemberEnd() || !msg->value.IsString() ||
        std::string_view(msg->value.GetString()) != "listening")
        return 0;
    if (port == doc.MemberEnd() || !port->value.IsUint()) return 0;
    return static_cast<std::uint16_t>(port->value.GetUint());
}

gateway_process gateway_process::start(const std::string& config, const std::string& stdout_file,
                                       const std::vector<std::string>& extra_env,
                                       std::chrono::milliseconds timeout)
{
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string_view entry(*e);
        const bool replaced = std::any_of(extra_env.begin(), extra_env.end(), [&](const auto& x) {
            const auto eq = x.find('=');
            return eq != std::string::npos && entry.substr(0, eq + 1) == std::string_view(x).substr(0, eq + 1);
        });
        if (!replaced) env.emplace_back(entry);
    }
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    std::vector<std::string> args = {STIRGATE_BINARY, "serve",     "--config",
                                     config,          "--listen", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    static std::atomic<unsigned> starts{0};
    const std::string out_file =
        !stdout_file.empty() ? stdout_file
                             : config + ".gateway-" + std::to_string(++starts) + ".log";
    const std::string err_file = out_file + ".stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    gateway_process gw;
    gw.out_file_ = out_file;
    const int rc = posix_spawn(&gw.pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        gw.pid_ = -1;
        throw std::runtime_error("cannot start " + args[0]);
    }

    const auto line = gw.wait_for_line(
        [](const std::string& l) { return listening_port(l) != 0; }, timeout);
    if (!line) throw std::runtime_error("stirgate serve did not start; stderr: " + gw.stderr_text());
    gw.port_ = listening_port(*line);
    return gw;
}

gateway_process::gateway_process(gateway_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      port_(other.port_),
      out_file_(std::move(other.out_file_)),
      out_scanned_(other.out_scanned_),
      exit_code_(other.exit_code_)
{
}

gateway_process::~gateway_process()
{
    if (pid_ > 0 && !exit_code_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

void gateway_process::send_signal(int signo)
{
    if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

std::optional<int> gateway_process::wait(std::chrono::milliseconds timeout)
{
    const auto deadline = clock_type::now() + timeout;
    while (!exit_code_ && pid_ > 0) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (clock_type::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_code_;
}

std::optional<int> gateway_process::stop(std::chrono::milliseconds limit)
{
    send_signal(SIGTERM);
    const auto code = wait(limit);
    // A test only sees the exit code; the reason (a sanitizer report, an exception) is in the
    // gateway's stderr, which CI would otherwise never show.
    if (code != std::optional<int>(0)) {
        const std::string err = stderr_text();
        constexpr std::size_t tail = 8000;
        std::cerr << "stirgate serve (pid " << pid_ << ") stopped with "
                  << (code ? "exit code " + std::to_string(*code) : std::string("no exit"))
                  << "; the end of its stderr:\n"
                  << (err.size() > tail ? err.substr(err.size() - tail) : err) << std::endl;
    }
    return code;
}

std::optional<std::string> gateway_process::wait_for_line(
    const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout)
{
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
        // Whether it had exited before the read, so the last lines it wrote are still seen.
        const bool exited = exit_code_.has_value() || pid_ <= 0;
        const std::string out = stdout_text();
        for (std::size_t nl; (nl = out.find('\n', out_scanned_)) != std::string::npos;) {
            std::string line = out.substr(out_scanned_, nl - out_scanned_);
            out_scanned_ = nl + 1;
            if (pred(line)) return line;
        }
        if (exited || clock_type::now() >= deadline) return std::nullopt;
        wait(std::chrono::milliseconds(20));
    }
}

std::string gateway_process::stdout_text() const { return read_file(out_file_); }

std::string gateway_process::stderr_text() const { return read_file(out_file_ + ".stderr"); }

std::optional<long> vm_rss_kib(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return std::nullopt;
}

raw_connection::raw_connection(std::uint16_t port)
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
}

raw_connection::~raw_connection()
{
    if (fd_ >= 0) ::close(fd_);
}

raw_connection::raw_connection(raw_connection&& other) noexcept : fd_(std::exchange(other.fd_, -1))
{
}

bool raw_connection::send_all(std::string_view bytes, std::chrono::milliseconds timeout)
{
    const auto deadline = clock_type::now() + timeout;
    while (!bytes.empty()) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

raw_connection::drained raw_connection::read_to_eof(std::chrono::milliseconds timeout)
{
    drained out;
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return out;  // timeout: still open
        char buf[16384];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            out.bytes.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        out.closed = true;  // EOF or reset
        return out;
    }
}

std::size_t count_status_lines(std::string_view bytes)
{
    std::size_t n = 0;
    for (std::size_t at = bytes.find("HTTP/1."); at != std::string_view::npos;
         at = bytes.find("HTTP/1.", at + 1)) {
        // A status line starts the data or follows a complete previous message; the body of
        // stirgate's replies is JSON and never contains "HTTP/1.", so counting is enough.
        ++n;
    }
    return n;
}

int first_status(std::string_view bytes)
{
    if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12) return 0;
    return std::atoi(std::string(bytes.substr(9, 3)).c_str());
}

}  // namespace stirgate::test
