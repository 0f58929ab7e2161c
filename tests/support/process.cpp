#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <strings.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace stirgate::test {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline)
{
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

child_process child_process::spawn(const std::string& program, const std::vector<std::string>& args,
                                   const std::vector<std::string>& extra_env)
{
    int out[2];
    int err[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        throw std::runtime_error("pipe2 failed");
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);

    std::vector<std::string> argv_s{program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    child_process child;
    const int rc =
        posix_spawn(&child.pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        child.pid_ = -1;
        throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
    }
    child.out_fd_ = out[0];
    child.err_fd_ = err[0];
    return child;
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)),
      out_scanned_(other.out_scanned_),
      exit_code_(other.exit_code_)
{
}

child_process::~child_process()
{
    if (pid_ > 0 && !exit_code_) {
        kill(pid_, SIGKILL);
        reap(true);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
}

void child_process::pump(int timeout_ms)
{
    pollfd fds[2];
    nfds_t n = 0;
    if (out_fd_ >= 0) fds[n++] = pollfd{out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = pollfd{err_fd_, POLLIN, 0};
    if (n == 0) {
        // Both pipes are closed: nothing to wait on but the clock.
        if (timeout_ms > 0) usleep(static_cast<useconds_t>(std::min(timeout_ms, 10)) * 1000);
        return;
    }
    if (poll(fds, n, timeout_ms) <= 0) return;
    for (nfds_t i = 0; i < n; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        const ssize_t got = read(fds[i].fd, buf, sizeof buf);
        const bool is_out = fds[i].fd == out_fd_;
        if (got > 0) {
            (is_out ? out_ : err_).append(buf, static_cast<std::size_t>(got));
        } else if (got == 0 || errno != EINTR) {
            close(fds[i].fd);
            (is_out ? out_fd_ : err_fd_) = -1;
        }
    }
}

std::optional<std::string> child_process::wait_for_line(
    const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout)
{
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
        for (auto nl = out_.find('\n', out_scanned_); nl != std::string::npos;
             nl = out_.find('\n', out_scanned_)) {
            std::string line = out_.substr(out_scanned_, nl - out_scanned_);
            out_scanned_ = nl + 1;
            if (pred(line)) return line;
        }
        if (out_fd_ < 0 || clock_type::now() >= deadline) return std::nullopt;
        pump(std::min(remaining_ms(deadline), 50));
    }
}

void child_process::send_signal(int signo)
{
    if (pid_ > 0 && !exit_code_) kill(pid_, signo);
}

bool child_process::reap(bool block)
{
    int status = 0;
    const pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout)
{
    const auto deadline = clock_type::now() + timeout;
    while (!exit_code_) {
        if (reap(false)) break;
        if (clock_type::now() >= deadline) return std::nullopt;
        pump(std::min(remaining_ms(deadline), 20));
    }
    // Collect what the child wrote just before exiting.
    while (out_fd_ >= 0 || err_fd_ >= 0) pump(100);
    return exit_code_;
}

std::string http_reply::header(std::string_view name) const
{
    for (const auto& [k, v] : headers)
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    return {};
}

http_connection::http_connection(std::uint16_t port, std::chrono::milliseconds timeout,
                                 const std::string& source)
    : timeout_ms_(static_cast<int>(timeout.count()))
{
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (!source.empty()) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        if (inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
            bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
            close(fd_);
            throw std::runtime_error("cannot bind the client end to " + source);
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd_);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
}

http_connection::~http_connection()
{
    if (fd_ >= 0) close(fd_);
}

bool http_connection::send(std::string_view raw)
{
    while (!raw.empty()) {
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, timeout_ms_) <= 0) return false;
        const ssize_t n = ::send(fd_, raw.data(), raw.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        raw.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool http_connection::fill()
{
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms_) <= 0) return false;
    char tmp[8192];
    const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
}

std::optional<http_reply> http_connection::read_reply()
{
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) return std::nullopt;

    http_reply reply;
    const std::string head = buf_.substr(0, end);
    std::size_t pos = head.find("\r\n");
    const std::string status_line = head.substr(0, pos);
    // "HTTP/1.1 200 OK"
    const auto sp = status_line.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    reply.status = std::atoi(status_line.c_str() + sp + 1);
    while (pos != std::string::npos && pos < head.size()) {
        const std::size_t start = pos + 2;
        const std::size_t next = head.find("\r\n", start);
        const std::string line =
            head.substr(start, next == std::string::npos ? std::string::npos : next - start);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            reply.headers.emplace_back(line.substr(0, colon), value);
        }
        pos = next;
    }
    const std::size_t length = static_cast<std::size_t>(
        std::strtoull(reply.header("Content-Length").c_str(), nullptr, 10));
    while (buf_.size() < end + 4 + length)
        if (!fill()) return std::nullopt;
    reply.body = buf_.substr(end + 4, length);
    buf_.erase(0, end + 4 + length);
    return reply;
}

bool http_connection::peer_closed()
{
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms_) <= 0) return false;
    char tmp[256];
    const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    return n <= 0;
}

std::optional<http_reply> http_exchange(std::uint16_t port, std::string_view raw)
{
    http_connection c(port);
    c.send(raw);
    return c.read_reply();
}

}  // namespace stirgate::test
