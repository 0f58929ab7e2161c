#include "support/test_tls.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer common interface (libasan exports it; GCC does not ship the header).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void*));
#define STIRGATE_TEST_MALLOC_HOOKS 1
#endif

namespace stirgate::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

void check(bool ok, const char* what)
{
    if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

std::shared_ptr<EVP_PKEY> new_p256_key()
{
    EVP_PKEY* key = EVP_EC_gen("P-256");
    check(key != nullptr, "EC key generation");
    return {key, EVP_PKEY_free};
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value)
{
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
    check(ext != nullptr, "extension");
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(added == 1, "add extension");
}

// A v3 certificate for `subject_key`; self-signed when issuer is null.
std::shared_ptr<X509> make_cert(EVP_PKEY* subject_key, std::string_view common_name, X509* issuer,
                                EVP_PKEY* issuer_key,
                                const std::vector<std::pair<int, std::string>>& extensions)
{
    std::shared_ptr<X509> cert(X509_new(), X509_free);
    check(cert != nullptr, "X509_new");
    X509* x = cert.get();
    check(X509_set_version(x, 2) == 1, "version");
    std::array<unsigned char, 8> serial{};
    check(RAND_bytes(serial.data(), static_cast<int>(serial.size())) == 1, "serial");
    serial[0] &= 0x7f;  // positive
    std::uint64_t s = 0;
    for (const unsigned char b : serial) s = (s << 8) | b;
    check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), s) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(x), 86400) != nullptr, "notAfter");
    const std::string cn(common_name);
    X509_NAME* name = X509_get_subject_name(x);
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                     0) == 1,
          "subject");
    check(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1, "issuer");
    check(X509_set_pubkey(x, subject_key) == 1, "pubkey");
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) add_ext(x, &ctx, nid, value.c_str());
    check(X509_sign(x, issuer_key ? issuer_key : subject_key, EVP_sha256()) > 0, "sign");
    return cert;
}

std::string bio_text(BIO* bio)
{
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string cert_to_pem(X509* cert)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM certificate");
    return bio_text(bio.get());
}

std::string key_to_pem(EVP_PKEY* key)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    check(
        bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM key");
    return bio_text(bio.get());
}

}  // namespace

// ---- PKI --------------------------------------------------------------------------------------

test_ca::test_ca(std::string_view common_name) : key_(new_p256_key())
{
    cert_ = make_cert(key_.get(), common_name, nullptr, nullptr,
                      {{NID_basic_constraints, "critical,CA:TRUE"},
                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                       {NID_subject_key_identifier, "hash"}});
    cert_pem_ = cert_to_pem(cert_.get());
}

tls_identity test_ca::issue_server(std::string_view dns_name) const
{
    const auto key = new_p256_key();
    const auto cert =
        make_cert(key.get(), dns_name, cert_.get(), key_.get(),
                  {{NID_basic_constraints, "critical,CA:FALSE"},
                   {NID_key_usage, "critical,digitalSignature"},
                   {NID_ext_key_usage, "serverAuth"},
                   {NID_subject_key_identifier, "hash"},
                   {NID_authority_key_identifier, "keyid:always"},
                   {NID_subject_alt_name, "DNS:" + std::string(dns_name) + ",IP:127.0.0.1"}});
    return {cert_to_pem(cert.get()), key_to_pem(key.get())};
}

temp_file::temp_file(std::string_view contents)
{
    std::array<unsigned char, 8> r{};
    check(RAND_bytes(r.data(), static_cast<int>(r.size())) == 1, "random name");
    std::string name = "stirgate-test-";
    for (const unsigned char b : r) name += "0123456789abcdef"[b & 15];
    path_ = std::filesystem::temp_directory_path() / (name + ".pem");
    std::ofstream out(path_, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    check(static_cast<bool>(out), "write temp file");
}

temp_file::~temp_file()
{
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

// ---- scripted server --------------------------------------------------------------------------

struct test_server::state {
    state(asio::io_context& io, server_script s) : acceptor(io), script(std::move(s)) {}
    tcp::acceptor acceptor;
    server_script script;
    std::optional<ssl::context> tls;
    std::size_t connections = 0;
    std::string last_request;
};

namespace {

using state_ptr = std::shared_ptr<test_server::state>;

// Zeros written in slices so the server itself never holds a large allocation (the body-cap
// test watches the largest allocation of the whole process).
const std::array<char, 65536>& zeros()
{
    static const std::array<char, 65536> z{};
    return z;
}

template <class Stream>
asio::awaitable<void> write_raw(Stream& stream, std::string_view bytes, beast::error_code& ec)
{
    co_await asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
}

template <class Stream>
asio::awaitable<void> run_script(Stream& stream, state_ptr st)
{
    const server_script& sc = st->script;
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    {
        const auto& req = parser.get();
        std::string head =
            std::string(req.method_string()) + " " + std::string(req.target()) + "\r\n";
        for (const auto& f : req)
            head += std::string(f.name_string()) + ": " + std::string(f.value()) + "\r\n";
        st->last_request = std::move(head);
    }

    switch (sc.behaviour) {
        case server_behaviour::respond: {
            http::response<http::string_body> res{static_cast<http::status>(sc.status), 11};
            for (const auto& [n, v] : sc.headers) res.insert(n, v);
            res.body() = sc.body;
            res.keep_alive(false);
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            break;
        }
        case server_behaviour::drip: {
            // The script's body (or 100000 'x') one byte per interval, under a Content-Length
            // the client accepts, so only the deadline can stop it.
            const std::string body = sc.body.empty() ? std::string(100000, 'x') : sc.body;
            co_await write_raw(stream,
                               "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\n\r\n",
                               ec);
            asio::steady_timer timer(co_await asio::this_coro::executor);
            for (std::size_t i = 0; i < body.size() && !ec; ++i) {
                timer.expires_after(sc.drip_interval);
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                if (!ec) co_await write_raw(stream, std::string_view(&body[i], 1), ec);
            }
            break;
        }
        case server_behaviour::huge_body: {
            const std::string head =
                sc.chunked
                    ? std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    : "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(sc.huge_body_bytes) +
                          "\r\n\r\n";
            co_await write_raw(stream, head, ec);
            std::size_t left = sc.huge_body_bytes;
            while (left > 0 && !ec) {
                const std::size_t n = std::min(left, zeros().size());
                if (sc.chunked) {
                    char size_line[32];
                    const int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
                    co_await write_raw(
                        stream, std::string_view(size_line, static_cast<std::size_t>(len)), ec);
                }
                if (!ec) co_await write_raw(stream, std::string_view(zeros().data(), n), ec);
                if (!ec && sc.chunked) co_await write_raw(stream, "\r\n", ec);
                left -= n;
            }
            if (!ec && sc.chunked) co_await write_raw(stream, "0\r\n\r\n", ec);
            break;
        }
        default:
            break;
    }
}

asio::awaitable<void> serve_connection(tcp::socket socket, state_ptr st)
{
    const server_script& sc = st->script;
    beast::error_code ec;
    if (sc.behaviour == server_behaviour::close_immediately) {
        socket.close(ec);
        co_return;
    }
    if (sc.behaviour == server_behaviour::black_hole) {
        std::array<char, 4096> sink{};
        for (;;) {
            co_await socket.async_read_some(asio::buffer(sink),
                                            asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
        }
    }
    if (!st->tls) {
        beast::tcp_stream stream(std::move(socket));
        co_await run_script(stream, st);
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *st->tls);
    co_await stream.async_handshake(ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    co_await run_script(stream, st);
    if (sc.close_notify)
        co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

void ignore_exception(std::exception_ptr) {}

asio::awaitable<void> accept_loop(state_ptr st)
{
    for (;;) {
        beast::error_code ec;
        tcp::socket socket =
            co_await st->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        ++st->connections;
        // Test server: an escaped exception only ends that connection.
        asio::co_spawn(st->acceptor.get_executor(), serve_connection(std::move(socket), st),
                       ignore_exception);
    }
}

}  // namespace

test_server::test_server(asio::io_context& io, server_script script,
                         std::optional<tls_identity> tls)
    : state_(std::make_shared<state>(io, std::move(script)))
{
    if (tls) {
        state_->tls.emplace(ssl::context::tls_server);
        state_->tls->use_certificate_chain(asio::buffer(tls->cert_pem));
        state_->tls->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    state_->acceptor.open(ep.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(ep);
    state_->acceptor.listen();
    asio::co_spawn(io, accept_loop(state_), ignore_exception);
}

test_server::~test_server()
{
    beast::error_code ec;
    state_->acceptor.close(ec);
}

std::uint16_t test_server::port() const
{
    return state_->acceptor.local_endpoint().port();
}
std::size_t test_server::connections() const
{
    return state_->connections;
}
std::string test_server::last_request() const
{
    return state_->last_request;
}

// ---- allocation watch -------------------------------------------------------------------------

namespace {
// Process-wide because the sanitizer's hooks are; only one watch is alive at a time in tests.
std::atomic<bool> watching{false};
std::atomic<std::size_t> largest_allocation{0};

#if defined(STIRGATE_TEST_MALLOC_HOOKS)
void on_malloc(const volatile void*, std::size_t size)
{
    if (!watching.load(std::memory_order_relaxed)) return;
    std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
    while (size > seen && !largest_allocation.compare_exchange_weak(seen, size)) {
    }
}
void on_free(const volatile void*) {}

bool install_hooks()
{
    return __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
}
#endif
}  // namespace

allocation_watch::allocation_watch()
{
#if defined(STIRGATE_TEST_MALLOC_HOOKS)
    static const bool installed = install_hooks();
    (void)installed;
#endif
    largest_allocation = 0;
    watching = true;
}

allocation_watch::~allocation_watch()
{
    watching = false;
}

std::optional<std::size_t> allocation_watch::largest() const
{
#if defined(STIRGATE_TEST_MALLOC_HOOKS)
    return largest_allocation.load();
#else
    return std::nullopt;
#endif
}

}  // namespace stirgate::test
