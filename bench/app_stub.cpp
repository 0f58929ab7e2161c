// bench/app_stub: the customer application for the incoming-call webhook benchmark. Answers every
// POST at once with TwiML; the TwiML says "verified" only when the gateway's webhook carried
// StirVerstat=TN-Validation-Passed, so the load tool can check every answer end to end.
// Single-threaded epoll, keep-alive and "Connection: close" both honoured. Built by bench/run.sh
// with one g++ command; it is a load-test fixture, not part of stirgate.
//   app_stub PORT   (listens on 127.0.0.1:PORT until killed)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <strings.h>
#include <unordered_map>

namespace {

struct conn {
    std::string in;
    std::string out;
    bool close_after = false;
};

constexpr const char* passed_twiml = "<Response><Say>verified</Say></Response>";
constexpr const char* failed_twiml = "<Response><Say>unverified</Say></Response>";

std::string reply(bool passed, bool close)
{
    const char* body = passed ? passed_twiml : failed_twiml;
    std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: ";
    r += std::to_string(std::strlen(body));
    r += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
    r += body;
    return r;
}

// Consumes complete requests from c.in; false on a malformed request.
bool handle_requests(conn& c)
{
    for (;;) {
        const auto end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) return c.in.size() < 65536;
        const std::string head = c.in.substr(0, end + 2);
        std::size_t length = 0;
        bool close = false;
        std::size_t pos = 0;
        while ((pos = head.find("\r\n", pos)) != std::string::npos && pos + 2 < head.size()) {
            pos += 2;
            const auto eol = head.find("\r\n", pos);
            const std::string line = head.substr(pos, eol - pos);
            if (strncasecmp(line.c_str(), "content-length:", 15) == 0)
                length = std::strtoul(line.c_str() + 15, nullptr, 10);
            else if (strncasecmp(line.c_str(), "connection:", 11) == 0 &&
                     line.find("close") != std::string::npos)
                close = true;
        }
        if (c.in.size() < end + 4 + length) return true;  // body incomplete
        const std::string body = c.in.substr(end + 4, length);
        c.in.erase(0, end + 4 + length);
        const bool passed = body.find("StirVerstat=TN-Validation-Passed") != std::string::npos;
        c.out += reply(passed, close);
        if (close) {
            c.close_after = true;
            return true;
        }
    }
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: app_stub PORT\n");
        return 2;
    }
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 4096) != 0) {
        std::perror("app_stub: bind/listen");
        return 1;
    }
    const int ep = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listener;
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
    std::unordered_map<int, conn> conns;
    epoll_event events[256];
    char buf[65536];
    for (;;) {
        const int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listener) {
                int s;
                while ((s = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = s;
                    epoll_ctl(ep, EPOLL_CTL_ADD, s, &cev);
                    conns[s] = conn{};
                }
                continue;
            }
            conn& c = conns[fd];
            bool dead = false;
            for (;;) {
                const ssize_t got = read(fd, buf, sizeof buf);
                if (got > 0) {
                    c.in.append(buf, static_cast<std::size_t>(got));
                    continue;
                }
                if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) dead = true;
                break;
            }
            if (!dead && !handle_requests(c)) dead = true;
            // Replies are small: loopback takes them whole; a short write ends the connection.
            if (!dead && !c.out.empty()) {
                const ssize_t sent = write(fd, c.out.data(), c.out.size());
                if (sent != static_cast<ssize_t>(c.out.size())) dead = true;
                c.out.clear();
            }
            if (dead || c.close_after) {
                close(fd);  // also removes it from the epoll set
                conns.erase(fd);
            }
        }
    }
}
