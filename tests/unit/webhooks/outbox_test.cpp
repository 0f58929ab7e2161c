// The outbox worker: delivery, retries with backoff and jitter, signatures, concurrency, wake-up
// and stop, against a memory_store and a scripted http_client on a local io_context driven by
// poll() (no threads, no sleeps, an injected clock). One test runs a real loopback edge with a
// sqlite_store on a temp file, including a simulated restart.

#include "net/net.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "net/http_client.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/test_tls.hpp"
#include "unit/webhooks/outbox_fixture.hpp"
#include "webhooks/outbox.hpp"

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using namespace stirgate::test::outbox_fixture;
using stirgate::errc;
using stirgate::error;
using stirgate::webhooks::backoff_ceiling;
using stirgate::webhooks::backoff_delay;
using stirgate::webhooks::backoff_policy;
using stirgate::webhooks::outbox_worker;

TEST_CASE("a delivered outbox item is posted as a form in parameter order and deleted",
          "[webhooks][outbox]")
{
    fixture f;
    f.enqueue(dial_item());  // already due when the worker starts: a previous process left it
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);

    REQUIRE(f.client.requests.size() == 1);
    const auto& req = f.client.requests.front();
    CHECK(req.method == http::verb::post);
    CHECK(req.url == dial_url);
    CHECK(header(req, "Content-Type") == "application/x-www-form-urlencoded");
    CHECK(req.body ==
          stirgate::core::format_form(stirgate::core::form_params({{"CallSid", call_sid},
                                                                   {"AccountSid", account_sid},
                                                                   {"From", "+14155550101"},
                                                                   {"To", "+13105550100"},
                                                                   {"Identity", shaken_identity},
                                                                   {"Identity", div_identity}})));
    auto form = stirgate::core::parse_form(req.body);
    REQUIRE(form);
    // Repeated Identity fields survive, SHAKEN first then the DIV (DESIGN.md "Edge interface").
    CHECK(form->all("Identity") == std::vector<std::string>{shaken_identity, div_identity});

    CHECK(f.pending().empty());
    CHECK(worker.stats().delivered == 1);
    CHECK(worker.stats().failed == 0);
    CHECK(worker.stats().in_flight == 0);
}

TEST_CASE("a 500 is retried after a backoff and the next 200 delivers the item",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.replies.push_back(http_reply{500, {}, "boom"});
    const auto id = f.enqueue(dial_item());
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);

    REQUIRE(f.client.requests.size() == 1);
    auto items = f.pending();
    REQUIRE(items.size() == 1);
    CHECK(items[0].id == id);
    CHECK(items[0].attempts == 1);
    CHECK(items[0].last_error == "HTTP 500");
    CHECK(items[0].next_attempt_at_ms == f.now + 500);  // first ceiling 1 s, jitter 0.5
    CHECK(worker.stats().failed == 1);

    // Not due yet: a wake-up finds nothing to send.
    worker.notify();
    pump(f.io);
    CHECK(f.client.requests.size() == 1);

    f.now += 500;
    worker.notify();
    pump(f.io);
    CHECK(f.client.requests.size() == 2);
    CHECK(f.pending().empty());
    CHECK(worker.stats().delivered == 1);
}

TEST_CASE("transport failures are retried like a non-2xx and recorded with their errc",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.replies.push_back(error{errc::upstream_unreachable, "connection refused"});
    f.client.replies.push_back(error{errc::upstream_timeout, "timed out"});
    f.client.replies.push_back(http_reply{302, {}, {}});  // redirects are not followed
    f.enqueue(dial_item());
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);
    CHECK(f.pending().front().last_error == "upstream_unreachable: connection refused");
    f.now += 10'000;
    worker.notify();
    pump(f.io);
    CHECK(f.pending().front().last_error == "upstream_timeout: timed out");
    f.now += 10'000;
    worker.notify();
    pump(f.io);
    CHECK(f.pending().front().last_error == "HTTP 302");
    CHECK(f.pending().front().attempts == 3);
    f.now += 10'000;
    worker.notify();
    pump(f.io);
    CHECK(f.pending().empty());
    CHECK(worker.stats().failed == 3);
    CHECK(worker.stats().delivered == 1);
}

TEST_CASE("backoff ceilings double from 1 s up to the 5 min cap and full jitter stays below them",
          "[webhooks][outbox]")
{
    const backoff_policy p;  // base 1 s, factor 2, cap 5 min
    CHECK(backoff_ceiling(p, 1) == 1000ms);
    CHECK(backoff_ceiling(p, 2) == 2000ms);
    CHECK(backoff_ceiling(p, 3) == 4000ms);
    CHECK(backoff_ceiling(p, 9) == 256'000ms);
    CHECK(backoff_ceiling(p, 10) == 300'000ms);  // 512 s capped
    CHECK(backoff_ceiling(p, 1'000'000) == 300'000ms);
    CHECK(backoff_ceiling(p, 0) == 1000ms);

    CHECK(backoff_delay(p, 3, 0.0) == 0ms);
    CHECK(backoff_delay(p, 3, 0.5) == 2000ms);
    CHECK(backoff_delay(p, 3, 0.9999) == 3999ms);
    CHECK(backoff_delay(p, 3, -1.0) == 0ms);    // clamped
    CHECK(backoff_delay(p, 3, 7.0) == 4000ms);  // clamped

    const backoff_policy custom{250ms, 3.0, 5000ms};
    CHECK(backoff_ceiling(custom, 1) == 250ms);
    CHECK(backoff_ceiling(custom, 2) == 750ms);
    CHECK(backoff_ceiling(custom, 3) == 2250ms);
    CHECK(backoff_ceiling(custom, 4) == 5000ms);

    SECTION("the worker records growing, capped retry times with the injected jitter")
    {
        fixture f;
        f.unit = 0.75;
        for (int i = 0; i < 12; ++i) f.client.replies.push_back(http_reply{503, {}, {}});
        f.enqueue(dial_item());
        outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
        worker.start();
        pump(f.io);
        std::vector<std::int64_t> waits;
        for (int failures = 1; failures <= 12; ++failures) {
            const auto item = f.pending().front();
            REQUIRE(item.attempts == failures);
            const auto wait = item.next_attempt_at_ms - f.now;
            waits.push_back(wait);
            CHECK(wait >= 0);
            CHECK(wait <= backoff_ceiling(p, failures).count());
            CHECK(wait == backoff_delay(p, failures, 0.75).count());
            f.now = item.next_attempt_at_ms;
            worker.notify();
            pump(f.io);
        }
        CHECK(waits.front() == 750);
        CHECK(waits.back() == 225'000);  // 0.75 of the 5 min cap
        CHECK(f.pending().empty());      // the 13th attempt got the default 200
    }
}

TEST_CASE(
    "X-Twilio-Signature is made with the edge token for dials and the account token for "
    "status callbacks",
    "[webhooks][outbox]")
{
    fixture f;
    auto with_stale = dial_item();
    with_stale.headers = {{"x-twilio-signature", "stale"}, {"X-Custom", "kept"}};
    f.enqueue(with_stale);
    f.enqueue(status_item());
    scripted_client webhooks;  // customer URLs never go through the edge's client
    outbox_worker worker(f.io.get_executor(), f.st, f.client, webhooks, f.options(), f.deps());
    worker.start();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 1);
    REQUIRE(webhooks.requests.size() == 1);

    const auto check = [](const http_request_spec& req, const char* good, const char* bad) {
        const auto sig = header(req, "X-Twilio-Signature");
        REQUIRE(sig);
        auto params = stirgate::core::parse_form(req.body);
        REQUIRE(params);
        CHECK(stirgate::core::check_twilio_signature(good, req.url, *params, *sig));
        CHECK_FALSE(stirgate::core::check_twilio_signature(bad, req.url, *params, *sig));
    };
    const auto& dial = f.client.requests[0];
    const auto& status = webhooks.requests[0];
    CHECK(dial.url == dial_url);
    check(dial, edge_token, account_token);
    CHECK(header(dial, "X-Custom") == "kept");
    CHECK(status.url == "https://app.example.com/status?tenant=acme");
    check(status, account_token, edge_token);
    CHECK(f.pending().empty());
}

TEST_CASE("every attempt of an item carries the same I-Twilio-Idempotency-Token",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.replies.push_back(http_reply{500, {}, {}});
    f.client.replies.push_back(http_reply{500, {}, {}});
    const auto id = f.enqueue(status_item());
    f.enqueue(status_item("CA0123456789abcdef0123456789abcdef-completed"));
    const auto token = f.token_of(id);
    CHECK(token.size() == 9 + 32);  // "stirgate-" and 128 random bits: no id to guess or reuse
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);
    f.now += 10'000;
    worker.notify();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 4);
    CHECK(header(f.client.requests[0], "I-Twilio-Idempotency-Token") == token);
    CHECK(header(f.client.requests[1], "I-Twilio-Idempotency-Token") ==
          "CA0123456789abcdef0123456789abcdef-completed");
    CHECK(header(f.client.requests[2], "I-Twilio-Idempotency-Token") == token);
    CHECK(header(f.client.requests[3], "I-Twilio-Idempotency-Token") ==
          "CA0123456789abcdef0123456789abcdef-completed");
    CHECK(f.pending().empty());
}

TEST_CASE("a status callback of an unknown account is kept and retried, never sent unsigned",
          "[webhooks][outbox]")
{
    fixture f;
    auto item = status_item();
    item.params[1].second = "ACffffffffffffffffffffffffffffffff";
    f.enqueue(item);
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);
    CHECK(f.client.requests.empty());
    REQUIRE(f.pending().size() == 1);
    CHECK(f.pending().front().attempts == 1);
    CHECK(f.pending().front().last_error ==
          "no auth token for account ACffffffffffffffffffffffffffffffff");
}

TEST_CASE("a GET status callback carries its parameters in the signed query", "[webhooks][outbox]")
{
    fixture f;
    auto item = status_item();
    item.method = "GET";
    f.enqueue(item);
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 1);
    const auto& req = f.client.requests.front();
    CHECK(req.method == http::verb::get);
    CHECK(req.body.empty());
    CHECK(req.url == "https://app.example.com/status?tenant=acme&CallSid=" + std::string(call_sid) +
                         "&AccountSid=" + account_sid + "&CallStatus=completed&StirStatus=A");
    const auto sig = header(req, "X-Twilio-Signature");
    REQUIRE(sig);
    CHECK(stirgate::core::check_twilio_signature(account_token, req.url, {}, *sig));
    CHECK_FALSE(header(req, "Content-Type"));
}

TEST_CASE("deliveries run concurrently up to the limit and an item is never in flight twice",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.gated = true;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(f.enqueue(dial_item()));
    std::vector<std::string> expected;
    for (auto id : ids) expected.push_back(f.token_of(id));
    auto o = f.options();
    o.max_concurrent = 2;
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
    worker.start();
    pump(f.io);
    CHECK(f.client.active == 2);
    CHECK(f.client.requests.size() == 2);
    CHECK(worker.stats().in_flight == 2);

    // Waking the loop while both slots are busy starts nothing, and never the same item again.
    worker.notify();
    pump(f.io);
    CHECK(f.client.requests.size() == 2);

    for (int round = 0; round < 5 && !f.pending().empty(); ++round) {
        f.client.release_waiting();
        pump(f.io);  // a freed slot wakes the loop at once: no poll interval passes here
        CHECK(f.client.active <= 2);
    }
    CHECK(f.pending().empty());
    CHECK(f.client.max_active == 2);
    CHECK(worker.stats().max_in_flight == 2);
    REQUIRE(f.client.requests.size() == 5);
    std::vector<std::string> tokens;
    for (const auto& r : f.client.requests)
        tokens.push_back(header(r, "I-Twilio-Idempotency-Token").value_or(""));
    CHECK(tokens == expected);  // oldest first, each exactly once
}

TEST_CASE("notify wakes the worker at once without waiting for the poll interval",
          "[webhooks][outbox]")
{
    fixture f;
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(),
                         f.deps());  // 1 h poll
    worker.start();
    pump(f.io);
    CHECK(worker.stats().polls == 1);

    f.enqueue(dial_item());
    pump(f.io);
    CHECK(f.client.requests.empty());  // nothing polls on its own within the hour

    worker.notify();
    pump(f.io);
    CHECK(f.client.requests.size() == 1);
    CHECK(f.pending().empty());
    CHECK(worker.stats().polls == 2);
}

TEST_CASE("stop waits for an in-flight slow delivery, then completes without fetching more",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.gated = true;
    f.enqueue(dial_item());
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    worker.start();
    pump(f.io);
    REQUIRE(f.client.active == 1);

    bool stopped = false;
    worker.stop([&stopped] { stopped = true; });
    pump(f.io);
    CHECK_FALSE(stopped);  // the delivery is still running

    f.enqueue(dial_item());  // arrives after stop(): left for the next process
    worker.notify();
    pump(f.io);
    CHECK(f.client.requests.size() == 1);

    f.client.release_waiting();
    pump(f.io);
    CHECK(stopped);
    CHECK(worker.stats().delivered == 1);
    CHECK(f.pending().size() == 1);

    // Stopping again, or starting a stopped worker, does nothing but answer.
    bool again = false;
    worker.start();
    worker.stop([&again] { again = true; });
    pump(f.io);
    CHECK(again);
    CHECK(f.client.requests.size() == 1);
}

TEST_CASE("stop gives up waiting after stop_timeout and a late delivery still completes safely",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.gated = true;
    f.enqueue(dial_item());
    auto o = f.options();
    o.stop_timeout = 20ms;
    bool stopped = false;
    {
        outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
        worker.start();
        pump(f.io);
        REQUIRE(f.client.active == 1);
        worker.stop([&stopped] { stopped = true; });
        // The one bounded real-time wait in this file: stop_timeout itself.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!stopped && std::chrono::steady_clock::now() < deadline) {
            f.io.restart();
            f.io.run_for(5ms);
        }
        CHECK(stopped);
        CHECK(f.client.active == 1);
    }  // the worker object goes while its delivery still runs: the coroutine owns the state
    f.client.release_waiting();
    pump(f.io);
    CHECK(f.client.active == 0);
    CHECK(f.pending().empty());  // acknowledged, so it was still marked delivered
}

TEST_CASE("stop on a worker that never started completes at once", "[webhooks][outbox]")
{
    fixture f;
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
    bool stopped = false;
    worker.stop([&stopped] { stopped = true; });
    pump(f.io);
    CHECK(stopped);
}

// --- a real edge on loopback, a sqlite_store on disk --------------------------------------

namespace {

// A minimal plain-HTTP edge on a chosen port (test_server picks its own port, and this test
// needs the port to be closed first and served later). Records every request whole.
struct edge_receiver {
    explicit edge_receiver(asio::io_context& io, std::uint16_t port)
        : acceptor(io, {asio::ip::make_address("127.0.0.1"), port})
    {
    }
    asio::ip::tcp::acceptor acceptor;
    std::vector<http::request<http::string_body>> requests;
};

asio::awaitable<void> serve_edge(std::shared_ptr<edge_receiver> edge)
{
    for (;;) {
        boost::system::error_code ec;
        auto socket =
            co_await edge->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        co_await http::async_read(stream, buffer, req,
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) continue;
        edge->requests.push_back(req);
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }
}

std::uint16_t closed_port(asio::io_context& io)
{
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    return probe.local_endpoint().port();  // closed again when probe goes
}

std::vector<outbox_item> pending(stirgate::store::store& st)
{
    auto items = st.due_items(std::numeric_limits<std::int64_t>::max(), 100);
    REQUIRE(items);
    return *items;
}

stirgate::net::http_client_policy edge_policy()
{
    // What the gateway builds for [edge] dial_url: http allowed (a private network), private
    // addresses allowed (an operator-configured URL), a short timeout.
    stirgate::net::http_client_policy p;
    p.allowed_schemes = {"http", "https"};
    p.allow_private_addresses = true;
    p.timeout = 5s;
    return p;
}

}  // namespace

TEST_CASE(
    "with the edge down an item stays and is retried; a new edge and a restarted worker "
    "deliver it",
    "[webhooks][outbox][integration]")
{
    const auto db = std::filesystem::temp_directory_path() /
                    ("stirgate-outbox-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(db);
    const auto url = "sqlite://" + db.string();

    asio::io_context io;
    stirgate::net::beast_http_client client(edge_policy());
    scripted_client unused_webhooks;  // only edge_dial items here
    std::int64_t now = 1'700'000'000'000;
    outbox_dependencies deps;
    deps.now_ms = [&now] { return now; };
    deps.random_unit = [] { return 0.5; };
    outbox_options options;
    options.poll_interval = 20ms;
    options.edge_auth_token = edge_token;

    const auto port = closed_port(io);
    const auto target = "http://127.0.0.1:" + std::to_string(port) + "/dial";
    std::uint16_t restart_port = 0;
    std::optional<stirgate::test::test_server> restarted_edge;
    {
        stirgate::store::sqlite_store st(url);
        REQUIRE(st.enqueue({dial_item(target)}));
        outbox_worker worker(io.get_executor(), st, client, unused_webhooks, options, deps);
        worker.start();

        // Connection refused: attempts grow, with the backoff on the injected clock.
        REQUIRE(run_until(io, [&] { return pending(st).front().attempts == 1; }));
        auto item = pending(st).front();
        CHECK(item.next_attempt_at_ms == now + 500);
        CHECK(item.last_error.rfind("upstream_unreachable", 0) == 0);
        now = item.next_attempt_at_ms;
        REQUIRE(run_until(io, [&] { return pending(st).front().attempts == 2; }));
        CHECK(pending(st).front().next_attempt_at_ms == now + 1000);

        // The edge comes up on that port: the next due attempt delivers.
        auto edge = std::make_shared<edge_receiver>(io, port);
        asio::co_spawn(io, serve_edge(edge), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        now += 1000;
        // The store commits before its callback reaches the worker: wait for both.
        REQUIRE(
            run_until(io, [&] { return pending(st).empty() && worker.stats().delivered == 1; }));
        REQUIRE(edge->requests.size() == 1);
        const auto& req = edge->requests.front();
        CHECK(req.method() == http::verb::post);
        CHECK(req.target() == "/dial");
        CHECK(req[http::field::content_type] == "application/x-www-form-urlencoded");
        auto form = stirgate::core::parse_form(req.body());
        REQUIRE(form);
        CHECK(form->all("Identity") == std::vector<std::string>{shaken_identity, div_identity});
        CHECK(stirgate::core::check_twilio_signature(edge_token, target, *form,
                                                     std::string(req["X-Twilio-Signature"])));
        CHECK(worker.stats().delivered == 1);
        CHECK(worker.stats().failed == 2);

        // Stop; then an item is enqueued that no worker delivers before the "crash".
        bool stopped = false;
        worker.stop([&stopped] { stopped = true; });
        REQUIRE(run_until(io, [&] { return stopped; }));
        edge->acceptor.close();

        restarted_edge.emplace(io, stirgate::test::server_script{});
        restart_port = restarted_edge->port();
        REQUIRE(
            st.enqueue({dial_item("http://127.0.0.1:" + std::to_string(restart_port) + "/dial")}));
        io.restart();
        io.run_for(50ms);  // the stopped worker does not pick it up
        CHECK(restarted_edge->connections() == 0);
    }  // the store closes here: a restart

    {
        stirgate::store::sqlite_store st(url);
        const auto items = pending(st);
        REQUIRE(items.size() == 1);
        outbox_worker worker(io.get_executor(), st, client, unused_webhooks, options, deps);
        worker.start();
        REQUIRE(
            run_until(io, [&] { return pending(st).empty() && worker.stats().delivered == 1; }));
        CHECK(restarted_edge->connections() == 1);
        const auto seen = restarted_edge->last_request();
        CHECK(seen.find("X-Twilio-Signature: ") != std::string::npos);
        CHECK(seen.find("I-Twilio-Idempotency-Token: " + items.front().delivery_token) !=
              std::string::npos);
        bool stopped = false;
        worker.stop([&stopped] { stopped = true; });
        REQUIRE(run_until(io, [&] { return stopped; }));
    }
    restarted_edge.reset();
    std::filesystem::remove(db);
    std::filesystem::remove(db.string() + "-wal");
    std::filesystem::remove(db.string() + "-shm");
}

TEST_CASE("an item is given up after max_attempts or past its kind's age, kept as a dead letter",
          "[webhooks][outbox]")
{
    SECTION("the attempt limit")
    {
        fixture f;
        for (int i = 0; i < 3; ++i) f.client.replies.push_back(http_reply{500, {}, "boom"});
        f.enqueue(status_item());
        auto o = f.options();
        o.max_attempts = 2;
        outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
        worker.start();
        pump(f.io);
        REQUIRE(f.pending().size() == 1);  // one failure: retried later
        f.now += 600000;
        worker.notify();
        pump(f.io);
        CHECK(f.client.requests.size() == 2);
        CHECK(f.pending().empty());  // the second failure was the last
        CHECK(worker.stats().dead == 1);
        CHECK(worker.stats().failed == 2);
        CHECK(f.st.summarise_outbox(f.now).value().dead_letters == 1);
        f.now += 600000;
        worker.notify();
        pump(f.io);
        CHECK(f.client.requests.size() == 2);  // never sent again
    }

    SECTION("the age limit: a late edge dial is not retried, a StatusCallback of that age is")
    {
        fixture f;
        for (int i = 0; i < 2; ++i) f.client.replies.push_back(http_reply{503, {}, "busy"});
        auto dial = dial_item();
        dial.created_at_ms = f.now - 600000;  // ten minutes: max_age_edge_dial
        f.enqueue(dial);
        auto callback = status_item();
        callback.created_at_ms = f.now - 600000;
        f.enqueue(callback);
        outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps());
        worker.start();
        pump(f.io);
        CHECK(f.client.requests.size() == 2);
        const auto left = f.pending();
        REQUIRE(left.size() == 1);
        CHECK(left.front().kind == stirgate::store::outbox_kind::status_callback);
        CHECK(worker.stats().dead == 1);
    }
}
