// The HTTP request path: raw request bytes -> net::serve_http (over an in-memory
// beast::test::stream) -> router -> the gateway's routes -> response bytes. The routes are the
// real handlers of api/ and webhooks/ (ATIS verification and signing, the Calls API,
// incoming-call and call-status webhooks, /healthz) wired as src/app/gateway.cpp wires them,
// with a memory store and scripted upstreams (x5u host, customer app) instead of the network.
//
// Invariants per input: serve_http ends (the peer has closed) without an escaped exception;
// what it wrote parses as a sequence of HTTP/1.x responses; each carries Content-Length and
// X-Request-Id; a JSON body is valid JSON; and no reply is a 5xx (with every upstream scripted
// to answer, no route has a reason to fail).
#include "net/net.hpp"

#include <boost/beast/_experimental/test/stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/atis_api.hpp"
#include "rest/auth_guard.hpp"
#include "api/calls.hpp"
#include "app/config.hpp"
#include "core/accounts.hpp"
#include "core/crypto.hpp"
#include "fuzz_support.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "obs/log.hpp"
#include "sti/call_verifier.hpp"
#include "sti/cert_cache.hpp"
#include "sti/trust_store.hpp"
#include "store/memory_store.hpp"
#include "webhooks/call_status.hpp"
#include "webhooks/incoming_call.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace stirgate;

// Shared with fuzz/make_seeds.py, which writes requests that pass authentication.
constexpr const char* account_sid = "AC0123456789abcdef0123456789abcdef";
constexpr const char* account_token = "0123456789abcdef0123456789abcdef";
constexpr const char* edge_token = "edge-secret-token";
constexpr const char* public_url = "https://gw.example.test";
constexpr const char* voice_url = "https://app.example.test/voice";
constexpr const char* signing_x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
constexpr std::int64_t vectors_now = 1767225605;

// Canned replies by URL; anything else is a 404 reply (not a transport error).
class scripted_client final : public net::http_client {
public:
    std::map<std::string, net::http_reply> replies;

    asio::awaitable<result<net::http_reply>> request(net::http_request_spec spec) override
    {
        const auto it = replies.find(spec.url);
        if (it == replies.end()) co_return net::http_reply{404, {}, "not found"};
        co_return it->second;
    }
};

core::es256_private_key private_key(const char* file)
{
    auto k = core::es256_private_key::from_pem(fuzz::read_vector(file));
    FUZZ_CHECK(k);
    return *k;
}

// Built once: key material, the trust store, the scripted upstreams, accounts.
struct fixture {
    sti::trust_store trust;
    core::es256_private_key signing_key = private_key("pki/orig-sp-1234.key.pem");
    core::es256_private_key calltoken_key = private_key("pki/platform-calltoken.key.pem");
    scripted_client x5u_host;
    scripted_client app;
    core::account_directory accounts;
    std::vector<net::cidr_block> trusted_proxies;

    fixture()
    {
        auto t = sti::trust_store::from_memory(fuzz::read_vector("pki/root-ca.cert.pem"),
                                               {fuzz::read_vector("pki/intermediate-ca.crl.pem"),
                                                fuzz::read_vector("pki/root-ca.crl.pem")});
        FUZZ_CHECK(t);
        trust = *t;
        for (const char* name : {"orig-sp-1234", "div-sp-5678", "revoked-sp-9999",
                                 "no-tnauthlist", "rogue"}) {
            x5u_host.replies[std::string("https://certs.example.test/sti/") + name + ".pem"] =
                net::http_reply{200, {{"Cache-Control", "max-age=3600"}},
                                fuzz::read_vector(std::string("pki/") + name + ".chain.pem")};
        }
        app.replies[voice_url] = net::http_reply{
            200, {{"Content-Type", "application/xml"}}, "<Response><Say>hi</Say></Response>"};

        core::account_config a;
        a.sid = account_sid;
        a.auth_token = account_token;
        a.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
        a.numbers.push_back({"+14155550101", 'A', voice_url, "", ""});
        a.numbers.push_back({"+16505550102", 'B', voice_url, "", "https://app.example.test/status"});
        a.numbers.push_back({"+13105550100", 'A', voice_url, "", ""});
        accounts.replace({a});
        auto proxy = net::parse_cidr("10.0.0.0/8");
        FUZZ_CHECK(proxy);
        trusted_proxies.push_back(*proxy);
    }
};

fixture& world()
{
    static fixture f;
    return f;
}

net::awaitable<net::http_response> healthz(net::request_context& ctx)
{
    net::http_response res{http::status::ok, ctx.request.version()};
    res.body() = R"({"status":"ok"})";
    co_return res;
}

// Per input: a fresh store, certificate cache and router, so inputs do not leak state into
// each other (and a long run does not grow the store).
struct gateway_double {
    fixture& f = world();
    std::function<std::int64_t()> now = [] { return vectors_now; };
    store::memory_store db;
    sti::cert_cache certificates{f.x5u_host, f.trust, now, sti::cert_cache_policy{}};
    sti::call_verifier verifier{certificates, core::verify_policy{}, now};
    // Low limits and the connection's peer a trusted proxy, so inputs reach the 429 path and
    // the X-Forwarded-For walk (net::client_address).
    rest::auth_guard auth{rest::auth_limits{3, 5, std::chrono::seconds(60), 64},
                         {*net::parse_cidr("203.0.113.0/24"), *net::parse_cidr("10.0.0.0/8")},
                         now};
    net::router routes;

    gateway_double()
    {
        routes.set_error_style("/2010-04-01/", net::error_style::twilio);
        routes.set_error_style("/stir/", net::error_style::atis);
        routes.add(http::verb::get, "/healthz", net::error_style::plain, healthz);
        api::add_atis_routes(routes,
                             api::atis_dependencies{f.accounts, verifier, now, f.signing_key,
                                                    signing_x5u, {}, &auth});
        api::add_calls_routes(
            routes, api::calls_dependencies{
                        f.accounts, db, sti::signing_identity{f.signing_key, signing_x5u},
                        {f.calltoken_key.public_key()}, 3600, "http://127.0.0.1:5070/dial", now,
                        [](std::span<std::uint8_t> out) {
                            for (auto& b : out) b = 0x5a;
                        },
                        [] {}, rest::default_customer_url_policy(), 10, &auth});
        webhooks::add_incoming_call_routes(
            routes, webhooks::incoming_call_dependencies{
                        [this](std::string_view e164) { return f.accounts.find_by_number(e164); },
                        db, verifier, f.app, edge_token, public_url, f.trusted_proxies,
                        f.calltoken_key, {f.calltoken_key.public_key()}, now,
                        [](std::span<std::uint8_t> out) {
                            for (auto& b : out) b = 0x42;
                        }});
        webhooks::add_call_status_routes(
            routes, webhooks::call_status_dependencies{db, edge_token, public_url,
                                                       f.trusted_proxies, now, [] {}});
    }
};

bool json_valid(const std::string& body)
{
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    return !d.HasParseError();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    gateway_double gw;
    std::ostringstream log_text;
    obs::logger log(log_text);
    net::request_ids ids;
    net::limits lim;
    const net::http_service svc{gw.routes, lim, log, ids, nullptr};

    asio::io_context ioc;
    beast::test::stream client(ioc);
    beast::test::stream server(ioc);
    client.connect(server);
    server.append(std::string_view(reinterpret_cast<const char*>(data), size));
    server.close_remote();

    net::connection_info conn;
    conn.remote = asio::ip::tcp::endpoint(asio::ip::make_address("203.0.113.9"), 40000);
    bool finished = false;
    std::exception_ptr escaped;
    asio::co_spawn(ioc, net::serve_http(server, svc, conn), [&](std::exception_ptr e) {
        finished = true;
        escaped = e;
    });
    ioc.run();
    FUZZ_CHECK(finished);
    FUZZ_CHECK(!escaped);

    // The methods of the requests in the input, as far as they parse, to read HEAD replies
    // (which carry no body, RFC 9110 section 9.3.2) the way a client would.
    std::vector<http::verb> methods;
    {
        asio::io_context req_ioc;
        beast::test::stream req(req_ioc,
                                std::string_view(reinterpret_cast<const char*>(data), size));
        req.close_remote();
        beast::flat_buffer req_buf;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
            parser.body_limit(lim.max_body_bytes);
            beast::error_code ec;
            // A request whose header parsed counts even if its body does not: the server's
            // 400 for it is a HEAD reply too.
            http::read_header(req, req_buf, parser, ec);
            if (ec) break;
            methods.push_back(parser.get().method());
            http::read(req, req_buf, parser, ec);
            if (ec) break;
        }
    }

    // Parse back what the server wrote.
    const std::string out(client.str());
    asio::io_context parse_ioc;
    beast::test::stream in(parse_ioc, out);
    in.close_remote();
    beast::flat_buffer buf;
    for (std::size_t reply = 0;; ++reply) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);
        if (reply < methods.size() && methods[reply] == http::verb::head) parser.skip(true);
        beast::error_code ec;
        http::read(in, buf, parser, ec);
        if (ec == http::error::end_of_stream) break;
        if (ec) {
            std::fprintf(stderr, "unparsable reply (%s):\n%s\n", ec.message().c_str(),
                         out.c_str());
            FUZZ_CHECK(!"reply parses as HTTP");
        }
        const auto& res = parser.get();
        if (res.result_int() >= 500) std::fprintf(stderr, "%s\n", log_text.str().c_str());
        if (res.result_int() == 100) {  // Expect: 100-continue, then the real reply
            --reply;
            continue;
        }
        FUZZ_CHECK(res.result_int() >= 200 && res.result_int() < 500);
        FUZZ_CHECK(res.find(http::field::content_length) != res.end());
        FUZZ_CHECK(res.find("X-Request-Id") != res.end());
        if (res[http::field::content_type] == "application/json" && !res.body().empty())
            FUZZ_CHECK(json_valid(res.body()));
    }
    return 0;
}
