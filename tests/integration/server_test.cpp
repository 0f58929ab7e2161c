// Starts the real `stirgate serve` on 127.0.0.1 port 0 and talks HTTP to it over loopback.

#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <thread>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "support/gateway_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace {

namespace fs = std::filesystem;
using stirgate::test::child_process;
using stirgate::test::gateway_process;
using stirgate::test::listening_port;
using stirgate::test::http_connection;
using stirgate::test::http_exchange;

constexpr auto startup_timeout = std::chrono::seconds(20);

using stirgate::test::temp_dir;

fs::path write_config(const temp_dir& dir, const std::string& text)
{
    const fs::path file = dir.path() / "stirgate.toml";
    std::ofstream(file) << text;
    return file;
}

const std::string minimal_config =
    "[server]\n"
    "listen = \"127.0.0.1:8080\"  # replaced by --listen\n"
    "threads = 2\n"
    "drain_timeout_ms = 3000\n"
    "[storage]\n"
    "url = \"sqlite://stirgate.db\"\n";

const std::string get_healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

}  // namespace

TEST_CASE("the real gateway answers healthz, 404, 405, 413 and 431 and keeps connections alive",
          "[integration]")
{
    temp_dir dir;
    auto gw = gateway_process::start(write_config(dir, minimal_config));

    const auto health = http_exchange(gw.port(), get_healthz);
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK(health->body == R"({"status":"ok"})");
    CHECK(health->header("Content-Type") == "application/json");
    CHECK(health->header("Server") == "stirgate");

    const auto ready = http_exchange(gw.port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(ready);
    CHECK(ready->status == 200);
    CHECK(ready->body == R"({"status":"ready"})");

    const auto missing = http_exchange(gw.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(missing);
    CHECK(missing->status == 404);

    const auto wrong_method = http_exchange(gw.port(),
                                            "POST /healthz HTTP/1.1\r\nHost: x\r\n"
                                            "Content-Length: 0\r\n\r\n");
    REQUIRE(wrong_method);
    CHECK(wrong_method->status == 405);
    CHECK(wrong_method->header("Allow") == "GET");

    {
        http_connection c(gw.port());
        const std::string body(70 * 1000, 'x');
        c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body);
        const auto too_large = c.read_reply();
        REQUIRE(too_large);
        CHECK(too_large->status == 413);
        CHECK(too_large->header("Connection") == "close");
        CHECK(c.peer_closed());
    }
    {
        http_connection c(gw.port());
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10 * 1024, 'h') +
               "\r\n\r\n");
        const auto too_big_header = c.read_reply();
        REQUIRE(too_big_header);
        CHECK(too_big_header->status == 431);
        CHECK(c.peer_closed());
    }
    {
        // Keep-alive: two requests, one connection, in sequence and then pipelined.
        http_connection c(gw.port());
        c.send(get_healthz);
        const auto first = c.read_reply();
        c.send(get_healthz + get_healthz);
        const auto second = c.read_reply();
        const auto third = c.read_reply();
        REQUIRE(first);
        REQUIRE(second);
        REQUIRE(third);
        CHECK(first->status == 200);
        CHECK(second->status == 200);
        CHECK(third->status == 200);
        CHECK(first->header("X-Request-Id") != second->header("X-Request-Id"));
    }

    // One JSON line per request, with the route pattern and never the raw header contents.
    const auto code = gw.stop();
    REQUIRE(code);
    CHECK(*code == 0);
    const std::string& out = gw.stdout_text();
    CHECK(out.find(R"("msg":"request")") != std::string::npos);
    CHECK(out.find(R"("route":"/healthz","status":200)") != std::string::npos);
    CHECK(out.find(R"("status":413,"errc":"payload_too_large")") != std::string::npos);
    CHECK(out.find("hhhhhhhh") == std::string::npos);
    CHECK(out.find(R"("msg":"stopped")") != std::string::npos);
}

TEST_CASE("SIGTERM closes idle keep-alive connections and exits 0", "[integration]")
{
    temp_dir dir;
    auto gw = gateway_process::start(write_config(dir, minimal_config));
    http_connection idle(gw.port());
    idle.send(get_healthz);
    REQUIRE(idle.read_reply());

    gw.send_signal(SIGTERM);
    CHECK(idle.peer_closed());
    const auto code = gw.wait(std::chrono::seconds(10));
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(gw.stdout_text().find(R"("msg":"stopping")") != std::string::npos);
}

TEST_CASE("a bad config makes serve exit non-zero with one line on stderr", "[integration]")
{
    temp_dir dir;
    const std::string text =
        GENERATE(std::string("[server]\nlisen = \"127.0.0.1:1\"\n"),
                 std::string("[[accounts]]\nsid = \"AC1\"\n"), std::string("this is not toml\n"));
    const fs::path config = write_config(dir, text);
    auto proc = child_process::spawn(STIRGATE_BINARY, {"serve", "--config", config.string()});
    const auto code = proc.wait(startup_timeout);
    REQUIRE(code);
    CHECK(*code == 2);
    const std::string& err = proc.stderr_text();
    INFO(err);
    REQUIRE_FALSE(err.empty());
    CHECK(err.find('\n') == err.size() - 1);
    CHECK(err.find(config.string()) != std::string::npos);
    CHECK(proc.stdout_text().empty());
}

TEST_CASE("configured key files are checked at startup", "[integration]")
{
    temp_dir dir;
    using stirgate::test::vector_path;
    const std::string keys =
        "[signing]\n"
        "key_file = \"" +
        vector_path("pki/orig-sp-1234.key.pem") +
        "\"\n"
        "x5u = \"https://certs.example.com/orig-sp-1234.chain.pem\"\n"
        "chain_file = \"" +
        vector_path("pki/orig-sp-1234.chain.pem") +
        "\"\n"
        "[calltoken]\n"
        "key_file = \"" +
        vector_path("pki/platform-calltoken.key.pem") +
        "\"\n"
        "trusted_keys = [\"" +
        vector_path("pki/platform-calltoken.pub.pem") +
        "\"]\n"
        "[verify]\n"
        "trust_anchors = \"" +
        vector_path("pki/root-ca.cert.pem") + "\"\n";

    SECTION("valid keys: the gateway starts")
    {
        auto gw = gateway_process::start(write_config(dir, minimal_config + keys));
        const auto health = http_exchange(gw.port(), get_healthz);
        REQUIRE(health);
        CHECK(health->status == 200);
        gw.send_signal(SIGINT);
        const auto code = gw.wait(std::chrono::seconds(10));
        REQUIRE(code);
        CHECK(*code == 0);
    }
    SECTION("a certificate where a private key belongs: exit 2 naming the key")
    {
        std::string broken = keys;
        const std::string from = vector_path("pki/platform-calltoken.key.pem");
        broken.replace(broken.find(from), from.size(), vector_path("pki/root-ca.cert.pem"));
        const fs::path config = write_config(dir, minimal_config + broken);
        auto proc = child_process::spawn(STIRGATE_BINARY, {"serve", "--config", config.string()});
        const auto code = proc.wait(startup_timeout);
        REQUIRE(code);
        CHECK(*code == 2);
        CHECK(proc.stderr_text().find("calltoken.key_file") != std::string::npos);
        CHECK(proc.stderr_text().find("not a P-256 private key") != std::string::npos);
    }
    SECTION("a missing file: exit 2 naming the key")
    {
        const fs::path config = write_config(dir, minimal_config +
                                                      "[signing]\nkey_file = \"keys/absent.pem\"\n"
                                                      "x5u = \"https://c.example.com/x.pem\"\n");
        auto proc = child_process::spawn(STIRGATE_BINARY, {"serve", "--config", config.string()});
        const auto code = proc.wait(startup_timeout);
        REQUIRE(code);
        CHECK(*code == 2);
        CHECK(proc.stderr_text().find("signing.key_file") != std::string::npos);
        CHECK(proc.stderr_text().find((dir.path() / "keys" / "absent.pem").string()) !=
              std::string::npos);
    }
}

TEST_CASE("STIRGATE_LISTEN from the environment is used when --listen is absent", "[integration]")
{
    temp_dir dir;
    const fs::path config = write_config(dir, minimal_config);
    auto proc = child_process::spawn(STIRGATE_BINARY, {"serve", "--config", config.string()},
                                     {"STIRGATE_LISTEN=127.0.0.1:0", "STIRGATE_THREADS=1"});
    const auto line = proc.wait_for_line(
        [](const std::string& l) { return listening_port(l) != 0; }, startup_timeout);
    REQUIRE(line);
    CHECK(line->find(R"("threads":1)") != std::string::npos);
    const auto health = http_exchange(listening_port(*line), get_healthz);
    REQUIRE(health);
    CHECK(health->status == 200);
    proc.send_signal(SIGTERM);
    CHECK(proc.wait(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("a silent or idle connection is closed after its timeout", "[integration]")
{
    temp_dir dir;
    auto gw = gateway_process::start(write_config(dir,
                                         "[server]\n"
                                         "threads = 1\n"
                                         "read_timeout_ms = 300\n"
                                         "idle_timeout_ms = 300\n"));
    {
        http_connection silent(gw.port());
        CHECK(silent.peer_closed());  // nothing sent: closed after read_timeout_ms
    }
    {
        http_connection idle(gw.port());
        idle.send(get_healthz);
        REQUIRE(idle.read_reply());
        CHECK(idle.peer_closed());  // kept alive, then closed after idle_timeout_ms
    }
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("SIGTERM lets a request in flight finish before exiting 0", "[integration]")
{
    temp_dir dir;
    auto gw = gateway_process::start(write_config(dir, minimal_config));
    http_connection slow(gw.port());
    // The header is in; the body is still on its way when the drain starts.
    slow.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
    REQUIRE(
        gw.wait_for_line(
            [](const std::string& l) { return l.find(R"("msg":"request")") != std::string::npos; },
            std::chrono::milliseconds(300)) == std::nullopt);
    gw.send_signal(SIGTERM);
    REQUIRE(gw.wait_for_line(
        [](const std::string& l) { return l.find(R"("msg":"stopping")") != std::string::npos; },
        std::chrono::seconds(5)));
    CHECK_FALSE(gw.wait(std::chrono::milliseconds(200)));  // still draining
    slow.send("56789");
    const auto reply = slow.read_reply();
    REQUIRE(reply);
    CHECK(reply->status == 405);
    CHECK(reply->header("Connection") == "close");
    CHECK(gw.wait(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("SIGHUP reloads accounts without a restart and keeps them when the new config is bad",
          "[integration]")
{
    temp_dir dir;
    const std::string sid_a = "AC" + std::string(32, 'a');
    const std::string sid_b = "AC" + std::string(32, 'b');
    const auto account = [](const std::string& sid) {
        return "[[accounts]]\nsid = \"" + sid + "\"\nauth_token = \"token-" + sid.substr(2, 4) +
               "\"\norigid = \"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"\n";
    };
    const fs::path config = write_config(dir, minimal_config + account(sid_a));
    auto gw = gateway_process::start(config);

    // 401 without valid credentials; an authenticated request with an empty body gets past
    // authentication to the body check (400).
    const auto status_for = [&gw](const std::string& sid) {
        const std::string creds =
            stirgate::core::base64_encode(sid + ":token-" + sid.substr(2, 4));
        const auto r = http_exchange(
            gw.port(), "POST /stir/v1/verification HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
                         creds + "\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n");
        REQUIRE(r);
        return r->status;
    };
    CHECK(status_for(sid_a) == 400);
    CHECK(status_for(sid_b) == 401);

    write_config(dir, minimal_config + account(sid_b));
    gw.send_signal(SIGHUP);
    REQUIRE(gw.wait_for_line(
        [](const std::string& l) { return l.find("\"msg\":\"reloaded\"") != std::string::npos; },
        std::chrono::seconds(10)));
    CHECK(status_for(sid_a) == 401);
    CHECK(status_for(sid_b) == 400);

    write_config(dir, minimal_config + "[[accounts]]\nsid = \"not-a-sid\"\n");
    gw.send_signal(SIGHUP);
    REQUIRE(gw.wait_for_line(
        [](const std::string& l) { return l.find("reload failed") != std::string::npos; },
        std::chrono::seconds(10)));
    CHECK(status_for(sid_b) == 400);  // the running accounts stay
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("a SIGHUP right after the listening line reloads instead of killing the gateway",
          "[integration]")
{
    temp_dir dir;
    auto gw = gateway_process::start(write_config(dir, minimal_config));
    gw.send_signal(SIGHUP);  // no request first: the handler must already be in place
    CHECK(gw.wait_for_line(
        [](const std::string& l) { return l.find("\"msg\":\"reloaded\"") != std::string::npos; },
        std::chrono::seconds(10)));
    CHECK(gw.stop() == std::optional<int>(0));
}

TEST_CASE("requests running through a SIGHUP reload are all answered", "[integration]")
{
    temp_dir dir;
    const std::string sid = "AC" + std::string(32, 'c');
    const std::string accounts = "[[accounts]]\nsid = \"" + sid +
                                 "\"\nauth_token = \"tok\"\norigid = \"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"\n";
    const fs::path config = write_config(dir, minimal_config + accounts);
    auto gw = gateway_process::start(config);
    const std::string request =
        "POST /stir/v1/verification HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
        stirgate::core::base64_encode(sid + ":tok") +
        "\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n";

    // Two clients keep requests in flight on kept-alive connections while the config is
    // reloaded ten times; every request gets its answer (400: authenticated, no body).
    std::atomic<bool> done{false};
    std::atomic<int> answered{0};
    std::atomic<int> wrong{0};
    auto client = [&] {
        http_connection c(gw.port());
        while (!done) {
            if (!c.send(request)) {
                ++wrong;
                return;
            }
            const auto r = c.read_reply();
            if (!r || r->status != 400) {
                ++wrong;
                return;
            }
            ++answered;
        }
    };
    std::thread a(client);
    std::thread b(client);
    int reloads = 0;
    const auto answered_more_than = [&answered](int n) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (answered <= n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return answered > n;
    };
    for (int i = 0; i < 10; ++i) {
        // Each reload lands while the clients are answered: at least one answer since the last.
        if (!answered_more_than(answered)) break;
        gw.send_signal(SIGHUP);
        if (!gw.wait_for_line(
                [](const std::string& l) { return l.find("\"msg\":\"reloaded\"") != std::string::npos; },
                std::chrono::seconds(10)))
            break;
        ++reloads;
    }
    done = true;  // the clients stop before any assertion can end the test
    a.join();
    b.join();
    INFO(gw.stderr_text());
    CHECK(reloads == 10);
    CHECK(wrong == 0);
    CHECK(answered >= 10);
    CHECK(gw.stop() == std::optional<int>(0));
}
