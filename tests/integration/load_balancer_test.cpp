// stirgate behind a real HTTPS load balancer (deploy/haproxy.cfg's shape): Debian's haproxy on
// loopback terminates TLS with a test certificate in front of two `stirgate serve` instances that
// share one config file. haproxy connects to them from 127.0.0.2, the only trusted proxy, so a
// client on 127.0.0.1 talking to an instance directly is not trusted with X-Forwarded-*.
//
// Shows (issue #6): a signed edge webhook (POST /webhooks/call-status) validates against the
// public https:// URL; forged X-Forwarded-Proto is refused directly and overwritten through
// haproxy; SIGTERM on one instance loses no request (in flight or new) and exits 0 within the
// drain window. The webhooks report on a call no instance knows: past the signature check that
// is 404, while any signature failure is 403, which keeps the test off outbound HTTP. Requests
// are held in flight by uploading their body slowly through haproxy. The drain figures are
// printed on stdout ("load-balancer drain: ...").

#include "net/net.hpp"

#include <signal.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "support/edge_receiver.hpp"
#include "support/gateway_process.hpp"
#include "support/haproxy.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tls.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace core = stirgate::core;
using stirgate::test::child_process;
using stirgate::test::find_haproxy;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* account_sid = "AC0123456789abcdef0123456789abcdef";
constexpr const char* edge_secret = "lb-test-edge-secret";
constexpr const char* status_path = "/webhooks/call-status";
constexpr int upload_chunks = 10;  // a slow request's body, one chunk per upload_interval
constexpr std::chrono::milliseconds upload_interval{300};
constexpr int drain_delay_ms = 1000;
constexpr int drain_timeout_ms = 8000;

std::string next_call_sid()
{
    static std::atomic<unsigned> n{0};
    char buf[40];
    std::snprintf(buf, sizeof buf, "CA%032x", n.fetch_add(1) + 1);
    return buf;
}

struct instance {
    stirgate::test::gateway_process proc;
    std::uint16_t port = 0;
    std::string id_prefix;  // X-Request-Id before the '-': tells which instance answered
};

instance start_instance(const std::string& config, const std::string& db)
{
    auto proc = stirgate::test::gateway_process::start(config, {},
                                                       {"STIRGATE_STORAGE_URL=sqlite://" + db});
    const std::uint16_t port = proc.port();
    const auto r = stirgate::test::http_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(r);
    REQUIRE(r->header("X-Request-Id").find('-') != std::string::npos);
    return {std::move(proc), port, stirgate::test::answering_instance(*r)};
}

std::string id_prefix(const stirgate::test::http_reply& r)
{
    return stirgate::test::answering_instance(r);
}

// A blocking HTTPS/1.1 client for the load balancer's public side: keeps its connection alive
// and reconnects when the other end closed it. Every step has a deadline.
class https_client final {
public:
    https_client(std::uint16_t port, const std::string& ca_pem) : port_(port)
    {
        tls_.add_certificate_authority(asio::buffer(ca_pem));
        tls_.set_verify_mode(ssl::verify_peer);
        tls_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    }

    std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }

    // nullopt: connection, TLS or transport failure (reported in last_error()).
    std::optional<stirgate::test::http_reply> send(http::request<http::string_body> req)
    {
        if (!stream_ && !connect()) return std::nullopt;
        req.version(11);
        req.set(http::field::host, authority());
        req.keep_alive(true);
        req.prepare_payload();
        beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(15));
        beast::error_code ec;
        http::async_write(*stream_, req, [&ec](beast::error_code e, std::size_t) { ec = e; });
        run();
        http::response<http::string_body> res;
        if (!ec) {
            http::async_read(*stream_, buffer_, res,
                             [&ec](beast::error_code e, std::size_t) { ec = e; });
            run();
        }
        if (ec) {
            last_error_ = ec.message();
            stream_.reset();
            return std::nullopt;
        }
        stirgate::test::http_reply out;
        out.status = static_cast<int>(res.result_int());
        for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        out.body = res.body();
        if (!res.keep_alive()) stream_.reset();
        return out;
    }

    // Sends the header and then the body in `chunks` pieces, one per `interval`, so that the
    // request is in flight at the backend for chunks x interval; then reads the reply.
    std::optional<stirgate::test::http_reply> send_slowly(http::request<http::string_body> req,
                                                          int chunks,
                                                          std::chrono::milliseconds interval)
    {
        if (!stream_ && !connect()) return std::nullopt;
        req.set(http::field::host, authority());
        req.prepare_payload();
        std::string head = std::string(req.method_string()) + " " + std::string(req.target()) +
                           " HTTP/1.1\r\n";
        for (const auto& f : req)
            head += std::string(f.name_string()) + ": " + std::string(f.value()) + "\r\n";
        head += "\r\n";
        const std::string& body = req.body();
        beast::error_code ec;
        beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(30));
        auto write = [&](std::string_view bytes) {
            asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()),
                              [&ec](beast::error_code e, std::size_t) { ec = e; });
            run();
        };
        write(head);
        const std::size_t step = body.size() / static_cast<std::size_t>(chunks) + 1;
        for (std::size_t at = 0; !ec && at < body.size(); at += step) {
            std::this_thread::sleep_for(interval);
            write(std::string_view(body).substr(at, step));
        }
        http::response<http::string_body> res;
        if (!ec) {
            http::async_read(*stream_, buffer_, res,
                             [&ec](beast::error_code e, std::size_t) { ec = e; });
            run();
        }
        stirgate::test::http_reply out;
        if (ec) {
            last_error_ = ec.message();
            stream_.reset();
            return std::nullopt;
        }
        out.status = static_cast<int>(res.result_int());
        for (const auto& f : res)
            out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        out.body = res.body();
        stream_.reset();
        return out;
    }

    const std::string& last_error() const { return last_error_; }

private:
    using stream_type = beast::ssl_stream<beast::tcp_stream>;

    void run()
    {
        io_.restart();
        io_.run();
    }

    bool connect()
    {
        buffer_.clear();
        stream_ = std::make_unique<stream_type>(io_, tls_);
        auto& tcp = beast::get_lowest_layer(*stream_);
        tcp.expires_after(std::chrono::seconds(5));
        beast::error_code ec;
        const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
        tcp.async_connect(ep, [&ec](beast::error_code e) { ec = e; });
        run();
        if (!ec) {
            stream_->async_handshake(ssl::stream_base::client, [&ec](beast::error_code e) { ec = e; });
            run();
        }
        if (ec) {
            last_error_ = "connect/handshake: " + ec.message();
            stream_.reset();
            return false;
        }
        return true;
    }

    asio::io_context io_;
    ssl::context tls_{ssl::context::tls_client};
    std::unique_ptr<stream_type> stream_;
    beast::flat_buffer buffer_;
    std::uint16_t port_;
    std::string last_error_;
};

// A status report for a call no instance has stored.
core::form_params status_form()
{
    core::form_params f;
    f.add("CallSid", next_call_sid());
    f.add("AccountSid", account_sid);
    f.add("CallStatus", "completed");
    f.add("CallDuration", "42");
    return f;
}

http::request<http::string_body> form_post(const std::string& path, const core::form_params& form,
                                          const std::string& signature)
{
    http::request<http::string_body> req{http::verb::post, path, 11};
    req.set(http::field::content_type, "application/x-www-form-urlencoded");
    req.set("X-Twilio-Signature", signature);
    req.body() = core::format_form(form);
    return req;
}

// The edge's view: it posts to the public URL, so it signs that.
http::request<http::string_body> signed_status(const https_client& lb)
{
    const auto form = status_form();
    const std::string url = "https://" + lb.authority() + status_path;
    return form_post(status_path, form, core::twilio_signature(edge_secret, url, form));
}

// Past the signature check (see the top of the file).
bool signature_accepted(const stirgate::test::http_reply& r)
{
    return r.status == 404 && r.body.find("20404") != std::string::npos;
}

http::request<http::string_body> get(const std::string& path)
{
    return http::request<http::string_body>{http::verb::get, path, 11};
}

// The same bytes as a raw HTTP/1.1 request, for talking to an instance directly.
std::string raw(http::request<http::string_body> req, const std::string& host,
                const std::string& extra_headers)
{
    req.set(http::field::host, host);
    req.prepare_payload();
    std::string head = std::string(req.method_string()) + " " + std::string(req.target()) +
                       " HTTP/1.1\r\n";
    for (const auto& f : req) head += std::string(f.name_string()) + ": " + std::string(f.value()) + "\r\n";
    return head + extra_headers + "\r\n" + req.body();
}

struct setup {
    stirgate::test::temp_dir dir;
    stirgate::test::test_ca ca{"stirgate load-balancer test CA"};
    std::uint16_t lb_port = stirgate::test::reserve_port();

    std::string config()
    {
        const std::string text =
            std::string("[server]\nlisten = \"127.0.0.1:8080\"\nthreads = 2\n") +
            "drain_delay_ms = " + std::to_string(drain_delay_ms) + "\n" +
            "drain_timeout_ms = " + std::to_string(drain_timeout_ms) + "\n" +
            // No public_url: the public URL is rebuilt from haproxy's X-Forwarded-*, believed
            // only from haproxy's source address.
            "trusted_proxies = [\"127.0.0.2/32\"]\n" +
            "[storage]\nurl = \"sqlite://unused.db\"\n" +
            "[edge]\nauth_token = \"" + edge_secret + "\"\ndial_url = \"\"\n" +
            "[[accounts]]\nsid = \"" + account_sid +
            "\"\nauth_token = \"0123456789abcdef0123456789abcdef\"\n" +
            "origid = \"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"\n";
        return dir.write("stirgate.toml", text);
    }

    // deploy/haproxy.cfg cut down to loopback and fast health checks.
    std::string haproxy_config(std::uint16_t a, std::uint16_t b)
    {
        const auto server = ca.issue_server("127.0.0.1");
        const std::string pem = dir.write("lb.pem", server.cert_pem + server.key_pem);
        const std::string text =
            "global\n"
            "  nbthread 1\n"
            "  maxconn 512\n"
            "defaults\n"
            "  mode http\n"
            "  timeout connect 2s\n"
            "  timeout client 15s\n"
            "  timeout server 15s\n"
            "  timeout http-keep-alive 15s\n"
            "  retries 2\n"
            "  option redispatch\n"
            "frontend public\n"
            "  bind 127.0.0.1:" + std::to_string(lb_port) + " ssl crt " + pem + " alpn http/1.1\n"
            "  http-request set-header X-Forwarded-Proto https\n"
            "  http-request set-header X-Forwarded-Host %[req.hdr(host)]\n"
            "  http-request set-header X-Forwarded-For %[src]\n"
            "  default_backend stirgate\n"
            "backend stirgate\n"
            "  balance roundrobin\n"
            "  option httpchk GET /readyz\n"
            "  http-check expect status 200\n"
            "  default-server inter 200ms fall 1 rise 2 source 127.0.0.2\n"
            "  server a 127.0.0.1:" + std::to_string(a) + " check\n"
            "  server b 127.0.0.1:" + std::to_string(b) + " check\n";
        return dir.write("haproxy.cfg", text);
    }
};

// haproxy in the foreground, up once its public side answers /readyz from both servers.
child_process start_haproxy(const std::string& haproxy, const std::string& cfg, https_client& lb,
                            const instance& a, const instance& b)
{
    auto proc = child_process::spawn(haproxy, {"-db", "-f", cfg});
    bool seen_a = false;
    bool seen_b = false;
    const auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (!(seen_a && seen_b) && clock_type::now() < deadline) {
        if (proc.wait(std::chrono::milliseconds(50))) break;  // exited: config refused
        const auto r = lb.send(get("/readyz"));
        if (!r || r->status != 200) continue;
        seen_a = seen_a || id_prefix(*r) == a.id_prefix;
        seen_b = seen_b || id_prefix(*r) == b.id_prefix;
    }
    INFO("haproxy stderr: " << proc.stderr_text() << "\nlast error: " << lb.last_error());
    REQUIRE((seen_a && seen_b));
    return proc;
}

}  // namespace

TEST_CASE("during drain_delay_ms /readyz answers 503 while new connections are still served",
          "[integration][drain]")
{
    stirgate::test::temp_dir dir;
    const std::string cfg = dir.write(
        "stirgate.toml", "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 2\ndrain_delay_ms = 3000\n"
                         "drain_timeout_ms = 3000\n[storage]\nurl = \"sqlite://calls.db\"\n");
    instance gw = start_instance(cfg, (dir.path() / "calls.db").string());
    const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string readyz = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(stirgate::test::http_exchange(gw.port, readyz)->status == 200);

    const auto signalled = clock_type::now();
    gw.proc.send_signal(SIGTERM);
    REQUIRE(gw.proc.wait_for_line(
        [](const std::string& l) { return l.find("\"draining\"") != std::string::npos; },
        std::chrono::seconds(5)));
    // A fresh connection is still accepted: not ready, but served, and told to close.
    const auto ready = stirgate::test::http_exchange(gw.port, readyz);
    REQUIRE(ready);
    CHECK(ready->status == 503);
    const auto health = stirgate::test::http_exchange(gw.port, healthz);
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK(health->header("Connection") == "close");
    CHECK(clock_type::now() - signalled < std::chrono::milliseconds(3000));

    CHECK(gw.proc.wait(std::chrono::seconds(10)) == std::optional<int>(0));
    CHECK(clock_type::now() - signalled >= std::chrono::milliseconds(3000));
}

TEST_CASE("behind haproxy: signed webhooks validate against the public https URL, forged "
          "X-Forwarded-Proto is not trusted, and a SIGTERM drain loses no request",
          "[integration][haproxy]")
{
    const std::string haproxy = find_haproxy();
    if (haproxy.empty()) {
        WARN("haproxy is not installed (scripts/install-deps.sh installs it): skipping the "
             "load-balancer test");
        return;
    }
    setup s;
    const std::string cfg = s.config();
    instance a = start_instance(cfg, (s.dir.path() / "a.db").string());
    instance b = start_instance(cfg, (s.dir.path() / "b.db").string());
    REQUIRE(a.id_prefix != b.id_prefix);
    https_client lb(s.lb_port, s.ca.cert_pem());
    child_process proxy = start_haproxy(haproxy, s.haproxy_config(a.port, b.port), lb, a, b);

    // (a) Signed over https://<public authority>/..., sent through haproxy: accepted by both
    // instances (round robin alternates).
    std::vector<std::string> answered_by;
    for (int i = 0; i < 2; ++i) {
        const auto r = lb.send(signed_status(lb));
        INFO("error: " << lb.last_error() << "\na: " << a.proc.stdout_text() << a.proc.stderr_text()
                       << "\nb: " << b.proc.stdout_text() << "\nhaproxy: " << proxy.stderr_text());
        REQUIRE(r);
        INFO(r->body);
        CHECK(signature_accepted(*r));
        answered_by.push_back(id_prefix(*r));
    }
    CHECK(answered_by[0] != answered_by[1]);

    // ...and the same signed request sent straight to an instance, claiming to come through
    // the proxy, is refused: 127.0.0.1 is not a trusted proxy.
    {
        auto req = signed_status(lb);
        const std::string forged = "X-Forwarded-Proto: https\r\nX-Forwarded-Host: " +
                                   lb.authority() + "\r\nX-Forwarded-For: 192.0.2.1\r\n";
        const auto r = stirgate::test::http_exchange(a.port, raw(req, lb.authority(), forged));
        REQUIRE(r);
        INFO(r->body);
        CHECK(r->status == 403);
    }

    // (b) A client's own X-Forwarded-Proto is overwritten by haproxy: a signature over the
    // forged http:// URL does not match what the gateway rebuilds.
    {
        const auto form = status_form();
        const std::string forged_url = "http://" + lb.authority() + status_path;
        auto req = form_post(status_path, form, core::twilio_signature(edge_secret, forged_url, form));
        req.set("X-Forwarded-Proto", "http");
        for (int i = 0; i < 2; ++i) {  // once per instance
            const auto r = lb.send(req);
            REQUIRE(r);
            CHECK(r->status == 403);
        }
    }

    // (c) Drain instance a while slow requests are in flight through haproxy.
    constexpr int slow_calls = 6;
    struct slow_result {
        int status = 0;
        std::string by;
        std::string body;
        std::string error;
    };
    std::vector<slow_result> slow(slow_calls);
    std::vector<std::thread> slow_threads;
    std::atomic<int> uploading{0};
    for (int i = 0; i < slow_calls; ++i) {
        slow_threads.emplace_back([&s, &slow, &uploading, i, port = s.lb_port] {
            https_client c(port, s.ca.cert_pem());
            uploading.fetch_add(1);
            const auto r = c.send_slowly(signed_status(c), upload_chunks, upload_interval);
            if (!r) {
                slow[static_cast<std::size_t>(i)].error = c.last_error();
                return;
            }
            slow[static_cast<std::size_t>(i)] = {r->status, id_prefix(*r), r->body, {}};
        });
    }
    // Every header is out and haproxy has had time to pick a server for each.
    while (uploading.load() < slow_calls) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(upload_interval);

    // A steady client through haproxy: probes and signed calls, one at a time.
    std::atomic<bool> stop_steady{false};
    std::atomic<int> steady_sent{0};
    std::atomic<int> steady_sent_after_exit{0};
    std::atomic<bool> a_exited{false};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    std::thread steady([&] {
        https_client c(s.lb_port, s.ca.cert_pem());
        for (int i = 0; !stop_steady.load(); ++i) {
            const bool call = i % 2 == 1;
            const auto r = c.send(call ? signed_status(c) : get("/healthz"));
            steady_sent.fetch_add(1);
            if (a_exited.load()) steady_sent_after_exit.fetch_add(1);
            if (!r || (call ? !signature_accepted(*r) : r->status != 200)) {
                const std::lock_guard lock(failures_mutex);
                failures.push_back(r ? "HTTP " + std::to_string(r->status) + " " + r->body
                                     : c.last_error());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(15));
        }
    });
    while (steady_sent.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));

    const auto signalled = clock_type::now();
    a.proc.send_signal(SIGTERM);
    // Not ready from the signal on (asked directly: a still accepts during the delay).
    bool saw_503 = false;
    for (int i = 0; i < 50 && !saw_503; ++i) {
        const auto r = stirgate::test::http_exchange(a.port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        saw_503 = r && r->status == 503;
        if (!saw_503) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(saw_503);
    const auto a_code = a.proc.wait(std::chrono::milliseconds(drain_delay_ms + drain_timeout_ms + 2000));
    const auto drain_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - signalled).count();
    a_exited.store(true);
    for (auto& t : slow_threads) t.join();
    // New requests keep flowing to b after a is gone.
    const int sent_at_exit = steady_sent.load();
    while (steady_sent.load() < sent_at_exit + 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop_steady.store(true);
    steady.join();

    int slow_ok = 0;
    int slow_on_a = 0;
    for (const auto& r : slow) {
        INFO("slow request: " << r.status << " " << r.body << " " << r.error);
        CHECK(r.status == 404);  // answered past the signature check
        CHECK(r.body.find("20404") != std::string::npos);
        slow_ok += r.status == 404 ? 1 : 0;
        slow_on_a += r.by == a.id_prefix ? 1 : 0;
    }
    std::cout << "load-balancer drain: slow in-flight requests " << slow_calls << " (" << slow_on_a
              << " on the drained instance), completed " << slow_ok << "; steady client sent "
              << steady_sent.load() << ", failed " << failures.size() << " ("
              << steady_sent_after_exit.load() << " after the drained instance exited); "
              << "SIGTERM to exit " << drain_ms << " ms (drain_delay " << drain_delay_ms
              << " ms, drain window " << drain_delay_ms + drain_timeout_ms << " ms); exit code "
              << (a_code ? std::to_string(*a_code) : std::string("none")) << "\n";
    {
        const std::lock_guard lock(failures_mutex);
        std::string listed;
        for (const auto& f : failures) listed += f + "\n";
        INFO("steady failures:\n" << listed);
        CHECK(failures.empty());
    }
    CHECK(slow_on_a >= 1);  // the drain really had requests in flight
    CHECK(a_code == std::optional<int>(0));
    CHECK(drain_ms < drain_delay_ms + drain_timeout_ms);
    // a stopped accepting only after the delay, and finished its in-flight calls after that.
    CHECK(drain_ms >= drain_delay_ms);

    CHECK(b.proc.stop() == std::optional<int>(0));
    proxy.send_signal(SIGTERM);
    proxy.wait(std::chrono::seconds(5));
}
