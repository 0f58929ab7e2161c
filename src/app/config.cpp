#include "app/config.hpp"

#include "app/config_section.hpp"

#include "core/text.hpp"
#include "core/tn.hpp"
#include "net/url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include <toml++/toml.h>

namespace stirgate::app {
namespace {

namespace fs = std::filesystem;
using namespace toml_reader;

bool is_hex(char c)
{
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

std::optional<std::uint16_t> parse_port(std::string_view s)
{
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return {};
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v > 65535) return {};
    return static_cast<std::uint16_t>(v);
}

bool valid_host_name(std::string_view h)
{
    if (h.empty() || h.size() > 253) return false;
    return std::all_of(h.begin(), h.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
    });
}

bool is_ipv6_literal(std::string_view h)
{
    in6_addr a{};
    return inet_pton(AF_INET6, std::string(h).c_str(), &a) == 1;
}

// Core's E.164 grammar, written exactly in E.164 form: the separators and national forms the
// Calls API accepts have no place in a config file.
bool valid_e164(std::string_view n)
{
    auto parsed = core::e164_number::parse(n);
    return parsed && parsed->e164() == n;
}

bool valid_account_sid(std::string_view s)
{
    return s.size() == 34 && s.substr(0, 2) == "AC" &&
           std::all_of(s.begin() + 2, s.end(),
                       [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

bool valid_uuid(std::string_view s)
{
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

std::chrono::milliseconds ms(std::int64_t v)
{
    return std::chrono::milliseconds(v);
}

constexpr std::int64_t one_hour_ms = 3'600'000;

// A list of "ADDRESS/PREFIX" (or bare addresses), each checked.
std::optional<std::vector<net::cidr_block>> cidr_list(section& s, std::string_view key)
{
    auto list = s.string_array(key);
    if (!list) return std::nullopt;
    std::vector<net::cidr_block> out;
    for (const auto& t : *list) {
        auto c = net::parse_cidr(t);
        if (!c) s.fail_at(key, "expected ADDRESS/PREFIX, got " + show_value(t));
        out.push_back(*c);
    }
    return out;
}

// `listen`: HOST:PORT, checked; nullopt when the key is absent.
std::optional<listen_address> listen_key(section& s)
{
    auto v = s.string("listen");
    if (!v) return std::nullopt;
    auto a = parse_listen_address(*v);
    if (!a) s.fail_at("listen", "expected HOST:PORT (IPv6 as [ADDR]:PORT), got " + show_value(*v));
    return a;
}

void read_server(section& s, server_config& out)
{
    if (auto a = listen_key(s)) out.listen = *a;
    if (auto v = s.url("public_url", {"http", "https"}, true)) {
        if (v->find_first_of("?#") != std::string::npos)
            s.fail_at("public_url", "must be a base URL without query or fragment");
        while (!v->empty() && v->back() == '/') v->pop_back();
        out.public_url = *v;
    }
    if (auto list = cidr_list(s, "trusted_proxies")) out.trusted_proxies = std::move(*list);
    if (auto v = s.integer("threads", 0, 1024)) out.threads = static_cast<unsigned>(*v);
    if (auto v = s.integer("max_header_bytes", 1024, 1 << 20))
        out.max_header_bytes = static_cast<std::size_t>(*v);
    if (auto v = s.integer("max_body_bytes", 1, std::int64_t{1} << 30))
        out.max_body_bytes = static_cast<std::uint64_t>(*v);
    if (auto v = s.integer("read_timeout_ms", 1, one_hour_ms)) out.read_timeout = ms(*v);
    if (auto v = s.integer("idle_timeout_ms", 1, one_hour_ms)) out.idle_timeout = ms(*v);
    if (auto v = s.integer("write_timeout_ms", 1, one_hour_ms)) out.write_timeout = ms(*v);
    if (auto v = s.integer("drain_timeout_ms", 0, one_hour_ms)) out.drain_timeout = ms(*v);
    if (auto v = s.integer("drain_delay_ms", 0, one_hour_ms)) out.drain_delay = ms(*v);
    if (auto v = s.integer("max_connections", 0, 1'000'000))
        out.max_connections = static_cast<std::size_t>(*v);
    if (auto v = s.integer("max_connections_per_address", 0, 1'000'000))
        out.max_connections_per_address = static_cast<std::size_t>(*v);
    s.finish();
}

std::string normalise_storage_url(const section& s, std::string_view key, const std::string& url,
                                  const load_context& ctx)
{
    constexpr std::string_view sqlite = "sqlite://";
    if (url.rfind(sqlite, 0) == 0) {
        const std::string_view rest = std::string_view(url).substr(sqlite.size());
        if (rest.empty()) s.fail_at(key, "sqlite:// needs a file path");
        if (rest == ":memory:") return url;
        return "sqlite://" + resolve_path(ctx, rest).string();
    }
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        if (url.size() <= std::string_view("postgres://").size() + 1)
            s.fail_at(key, "postgresql:// URL has no host or database");
        return url;
    }
    // The value may carry a database password: never echo it.
    s.fail_at(key, "expected sqlite://PATH or postgresql://..., got " +
                       show_value(core::redact_url_password(url)));
}

void read_storage(section& s, storage_config& out)
{
    if (auto v = s.string("url")) out.url = normalise_storage_url(s, "url", *v, s.context());
    if (auto v = s.boolean("migrate")) out.migrate = *v;
    if (auto v = s.path("password_file")) out.password_file = *v;
    s.finish();
}

// After the environment, which may replace the URL: a password file is for PostgreSQL only,
// and one password source at a time (which one would win is not obvious to a reader).
void check_storage(const storage_config& storage, const std::string& where)
{
    if (storage.password_file.empty()) return;
    if (storage.url.rfind("sqlite://", 0) == 0)
        fail(where, "storage.password_file", "is for postgresql:// URLs; SQLite has no password");
    if (core::redact_url_password(storage.url) != storage.url)
        fail(where, "storage.password_file",
             "the url has a password too: keep it in one place (the file)");
}

signing_config read_signing(section& s)
{
    signing_config out;
    auto key = s.path("key_file");
    if (!key || key->empty()) s.fail_at("key_file", "required when [signing] is present");
    out.key_file = *key;
    auto x5u = s.url("x5u", {"https", "http"}, false);
    if (!x5u) s.fail_at("x5u", "required when [signing] is present");
    out.x5u = *x5u;
    if (auto v = s.path("chain_file")) out.chain_file = *v;
    s.finish();
    return out;
}

calltoken_config read_calltoken(section& s)
{
    calltoken_config out;
    auto key = s.path("key_file");
    if (!key || key->empty()) s.fail_at("key_file", "required when [calltoken] is present");
    out.key_file = *key;
    if (auto v = s.path_array("trusted_keys")) out.trusted_keys = *v;
    if (auto v = s.integer("max_age_s", 1, 7 * 24 * 3600)) out.max_age = std::chrono::seconds(*v);
    if (auto v = s.integer("max_forwards_per_call", 0, 1000))
        out.max_forwards_per_call = static_cast<std::size_t>(*v);
    s.finish();
    return out;
}

std::optional<resolve_pin> parse_resolve_pin(std::string_view text)
{
    // curl --resolve syntax HOST:PORT:ADDRESS (IPv6 optionally in brackets), extended with an
    // optional :CONNECT_PORT (IPv6 then bracketed), as curl --connect-to allows: the x5u URL
    // keeps port 443 while the connection goes elsewhere (tests, local repositories).
    const auto c1 = text.find(':');
    if (c1 == std::string_view::npos) return {};
    const auto c2 = text.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return {};
    resolve_pin pin;
    pin.host = std::string(text.substr(0, c1));
    const auto port = parse_port(text.substr(c1 + 1, c2 - c1 - 1));
    std::string_view addr = text.substr(c2 + 1);
    std::optional<std::uint16_t> connect_port;
    if (!addr.empty() && addr.front() == '[') {
        const auto close = addr.find(']');
        if (close == std::string_view::npos) return {};
        const std::string_view rest = addr.substr(close + 1);
        addr = addr.substr(1, close - 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return {};
            connect_port = parse_port(rest.substr(1));
            if (!connect_port || *connect_port == 0) return {};
        }
    } else if (!is_ipv6_literal(addr)) {
        if (const auto c3 = addr.rfind(':'); c3 != std::string_view::npos) {
            connect_port = parse_port(addr.substr(c3 + 1));
            if (!connect_port || *connect_port == 0) return {};
            addr = addr.substr(0, c3);
        }
    }
    in_addr v4{};
    const std::string addr_s(addr);
    if (!valid_host_name(pin.host) || !port || *port == 0) return {};
    if (inet_pton(AF_INET, addr_s.c_str(), &v4) != 1 && !is_ipv6_literal(addr)) return {};
    pin.port = *port;
    pin.address = addr_s;
    pin.connect_port = connect_port.value_or(0);
    return pin;
}

void read_verify(section& s, verify_config& out)
{
    if (auto v = s.path("trust_anchors")) out.trust_anchors = *v;
    if (auto v = s.path_array("crl_files")) out.crl_files = *v;
    if (auto v = s.integer("iat_window_s", 1, 24 * 3600)) out.iat_window = std::chrono::seconds(*v);
    if (auto v = s.integer("future_skew_s", 0, 3600)) out.future_skew = std::chrono::seconds(*v);
    if (auto v = s.integer("fetch_timeout_ms", 1, 60'000)) out.fetch_timeout = ms(*v);
    if (auto v = s.integer("max_cert_bytes", 1024, 1 << 20))
        out.max_cert_bytes = static_cast<std::size_t>(*v);
    if (auto v = s.path("fetch_ca_file")) out.fetch_ca_file = *v;
    if (auto list = s.string_array("x5u_allowed_hosts")) {
        out.x5u_allowed_hosts.clear();
        for (auto h : *list) {
            if (!valid_host_name(h) && !is_ipv6_literal(h))
                s.fail_at("x5u_allowed_hosts", "not a host name: " + show_value(h));
            out.x5u_allowed_hosts.push_back(core::ascii_lower(h));
        }
    }
    if (auto list = s.integer_array("x5u_allowed_ports", 1, 65535)) {
        out.x5u_allowed_ports.clear();
        for (auto p : *list) out.x5u_allowed_ports.push_back(static_cast<std::uint16_t>(p));
    }
    if (auto list = s.string_array("x5u_resolve")) {
        out.x5u_resolve.clear();
        for (const auto& t : *list) {
            auto pin = parse_resolve_pin(t);
            if (!pin) s.fail_at("x5u_resolve", "expected HOST:PORT:ADDRESS[:CONNECT_PORT], got " + show_value(t));
            out.x5u_resolve.push_back(std::move(*pin));
        }
    }
    s.finish();
}

void read_network(section& s, network_config& out)
{
    if (auto v = s.boolean("allow_private_addresses"))
        out.allow_private_addresses = out.allow_private_x5u = out.allow_private_webhooks = *v;
    if (auto v = s.boolean("allow_private_x5u")) out.allow_private_x5u = *v;
    if (auto v = s.boolean("allow_private_webhooks")) out.allow_private_webhooks = *v;
    if (auto list = cidr_list(s, "allowed_addresses")) out.allowed_addresses = std::move(*list);
    if (auto v = s.path("webhook_ca_file")) out.webhook_ca_file = *v;
    s.finish();
}

void read_webhooks(section& s, webhooks_config& out)
{
    if (auto v = s.integer("app_timeout_ms", 1, 60'000)) out.app_timeout = ms(*v);
    if (auto v = s.integer("max_idle_per_host", 0, 1024))
        out.max_idle_per_host = static_cast<std::size_t>(*v);
    if (auto v = s.integer("idle_timeout_ms", 1, 3'600'000)) out.idle_timeout = ms(*v);
    if (auto v = s.integer("retry_base_ms", 1, 3'600'000)) out.retry_base = ms(*v);
    if (auto v = s.integer("retry_cap_ms", 1, 24 * 3'600'000)) out.retry_cap = ms(*v);
    if (out.retry_cap < out.retry_base) s.fail_at("retry_cap_ms", "must not be below retry_base_ms");
    if (auto v = s.integer("max_delivery_attempts", 0, 1000))
        out.max_delivery_attempts = static_cast<std::int32_t>(*v);
    if (auto v = s.integer("max_delivery_age_s", 60, 30 * 86400))
        out.max_delivery_age = std::chrono::seconds(*v);
    if (auto v = s.integer("outbox_lease_ms", 1000, 3'600'000)) out.outbox_lease = ms(*v);
    s.finish();
}

void read_security(section& s, security_config& out)
{
    if (auto v = s.integer("auth_failures_per_address", 1, 1'000'000))
        out.auth_failures_per_address = static_cast<std::size_t>(*v);
    if (auto v = s.integer("auth_failures_per_account", 1, 1'000'000))
        out.auth_failures_per_account = static_cast<std::size_t>(*v);
    if (auto v = s.integer("auth_failure_window_s", 1, 86400))
        out.auth_failure_window = std::chrono::seconds(*v);
    s.finish();
}

void read_edge(section& s, edge_config& out)
{
    if (auto v = s.string("auth_token")) out.auth_token = *v;
    if (auto v = s.url("dial_url", {"http", "https"}, true)) out.dial_url = *v;
    if (auto v = s.url("control_url", {"http", "https"}, true)) out.control_url = *v;
    if (auto v = s.integer("dial_max_age_s", 10, 86400)) out.dial_max_age = std::chrono::seconds(*v);
    s.finish();
}

sip_peer read_sip_peer(section& s)
{
    sip_peer out;
    auto cidr = s.string("cidr");
    if (!cidr) s.fail_at("cidr", "required");
    auto block = net::parse_cidr(*cidr);
    if (!block) s.fail_at("cidr", "expected ADDRESS/PREFIX, got " + show_value(*cidr));
    out.cidr = *block;
    auto account = s.string("account");
    if (!account) s.fail_at("account", "required (the AccountSid whose numbers set attestation)");
    out.account = *account;
    if (auto v = s.boolean("passthrough")) out.passthrough = *v;
    s.finish();
    return out;
}

void read_sip(section& s, sip_config& out)
{
    out.listen = listen_key(s);
    if (const auto* peers = s.table_array("peers")) {
        for (std::size_t i = 0; i < peers->size(); ++i) {
            section p(*peers->get(i)->as_table(), s.name("peers") + "[" + std::to_string(i) + "]",
                      s.context());
            out.peers.push_back(read_sip_peer(p));
        }
    }
    // 1300 bytes: an INVITE with two Identity headers does not fit in less; 65507: a UDP datagram.
    if (auto v = s.integer("max_message_bytes", 1300, 65507))
        out.max_message_bytes = static_cast<std::size_t>(*v);
    if (auto v = s.integer("max_headers", 8, 1000)) out.max_headers = static_cast<std::size_t>(*v);
    if (auto v = s.integer("rate_per_source", 0, 1'000'000))
        out.rate_per_source = static_cast<std::uint32_t>(*v);
    if (auto v = s.integer("max_tcp_connections", 1, 100'000))
        out.max_tcp_connections = static_cast<std::size_t>(*v);
    if (auto v = s.integer("tcp_idle_timeout_ms", 1, one_hour_ms)) out.tcp_idle_timeout = ms(*v);
    if (auto v = s.integer("tcp_read_timeout_ms", 1, one_hour_ms)) out.tcp_read_timeout = ms(*v);
    s.finish();
}

core::number_config read_number(section& s)
{
    core::number_config out;
    auto number = s.string("number");
    if (!number) s.fail_at("number", "required");
    if (!valid_e164(*number))
        s.fail_at("number",
                  "expected an E.164 number like +14155550101, got " + show_value(*number));
    out.number = *number;
    if (auto v = s.string("attest")) {
        if (*v != "A" && *v != "B" && *v != "C")
            s.fail_at("attest", "expected \"A\", \"B\" or \"C\", got " + show_value(*v));
        out.attest = (*v)[0];
    }
    if (auto v = s.url("voice_url", {"http", "https"}, true)) out.voice_url = *v;
    if (auto v = s.url("voice_fallback_url", {"http", "https"}, true)) out.voice_fallback_url = *v;
    if (auto v = s.url("status_callback", {"http", "https"}, true)) out.status_callback = *v;
    s.finish();
    return out;
}

core::account_config read_account(section& s)
{
    core::account_config out;
    auto sid = s.string("sid");
    if (!sid) s.fail_at("sid", "required");
    if (!valid_account_sid(*sid))
        s.fail_at("sid",
                  "expected AC followed by 32 lowercase hex digits, got " + show_value(*sid));
    out.sid = *sid;
    auto token = s.string("auth_token");
    // Never echo a secret into a log line.
    if (!token || token->empty()) s.fail_at("auth_token", "required and must not be empty");
    out.auth_token = *token;
    if (auto v = s.string("origid")) {
        if (!valid_uuid(*v)) s.fail_at("origid", "expected a UUID, got " + show_value(*v));
        out.origid = *v;
    }
    if (auto list = s.string_array("verified_caller_ids")) {
        for (const auto& id : *list) {
            if (!valid_e164(id))
                s.fail_at("verified_caller_ids",
                          "expected E.164 numbers like +14155550101, got " + show_value(id));
            out.verified_caller_ids.push_back(id);
        }
    }
    if (auto v = s.boolean("trusted_sbc")) out.trusted_sbc = *v;
    if (const auto* numbers = s.table_array("numbers")) {
        for (std::size_t i = 0; i < numbers->size(); ++i) {
            section n(*numbers->get(i)->as_table(),
                      s.name("numbers") + "[" + std::to_string(i) + "]", s.context());
            out.numbers.push_back(read_number(n));
        }
    }
    s.finish();
    return out;
}

void apply_environment(config& cfg, const env_lookup& env, const fs::path& base_dir)
{
    if (!env) return;
    const std::string where = "environment";
    if (auto v = env("STIRGATE_LISTEN"); v && !v->empty()) {
        auto a = parse_listen_address(*v);
        if (!a) fail(where, "STIRGATE_LISTEN", "expected HOST:PORT, got " + show_value(*v));
        cfg.server.listen = *a;
    }
    if (auto v = env("STIRGATE_THREADS"); v && !v->empty()) {
        unsigned n = 0;
        const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc{} || p != v->data() + v->size() || n > 1024)
            fail(where, "STIRGATE_THREADS", "expected an integer 0..1024, got " + show_value(*v));
        cfg.server.threads = n;
    }
    if (auto v = env("STIRGATE_PUBLIC_URL"); v && !v->empty()) {
        if (auto problem = url_problem(*v, {"http", "https"}))
            fail(where, "STIRGATE_PUBLIC_URL",
                 "expected an http or https URL, got " + show_value(*v) + ": " + *problem);
        std::string u = *v;
        while (!u.empty() && u.back() == '/') u.pop_back();
        cfg.server.public_url = u;
    }
    if (auto v = env("STIRGATE_STORAGE_URL"); v && !v->empty()) {
        const toml::table empty;
        const load_context ctx{where, base_dir};
        const section s(empty, "", ctx);
        cfg.storage.url = normalise_storage_url(s, "STIRGATE_STORAGE_URL", *v, ctx);
    }
}

void check_cross_references(const config& cfg, const load_context& ctx)
{
    std::set<std::string> sids;
    std::set<std::string> numbers;
    for (std::size_t i = 0; i < cfg.accounts.size(); ++i) {
        const auto& a = cfg.accounts[i];
        const std::string at = "accounts[" + std::to_string(i) + "]";
        if (!sids.insert(a.sid).second) fail(ctx.source, at + ".sid", "duplicate account " + a.sid);
        for (std::size_t j = 0; j < a.numbers.size(); ++j) {
            // To selects the account and application, so a number may belong to one only.
            if (!numbers.insert(a.numbers[j].number).second)
                fail(ctx.source, at + ".numbers[" + std::to_string(j) + "].number",
                     a.numbers[j].number + " is listed more than once");
        }
    }
    for (std::size_t i = 0; i < cfg.sip.peers.size(); ++i) {
        const auto& peer = cfg.sip.peers[i];
        const std::string at = "sip.peers[" + std::to_string(i) + "].account";
        const auto it = std::find_if(cfg.accounts.begin(), cfg.accounts.end(),
                                     [&](const core::account_config& a) { return a.sid == peer.account; });
        if (it == cfg.accounts.end())
            fail(ctx.source, at, show_value(peer.account) + " is not a configured [[accounts]] sid");
        // SHAKEN needs an origid (RFC 8588 section 4); without one every INVITE it signs would fail.
        if (cfg.signing && it->origid.empty())
            fail(ctx.source, at,
                 "account " + peer.account + " has no origid, which SIP signing needs");
    }
}

}  // namespace

std::optional<listen_address> parse_listen_address(std::string_view text)
{
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return {};
    std::string_view host = text.substr(0, colon);
    const auto port = parse_port(text.substr(colon + 1));
    if (!port) return {};
    if (!host.empty() && host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return {};
        host = host.substr(1, host.size() - 2);
        if (!is_ipv6_literal(host)) return {};
    } else if (!valid_host_name(host)) {
        return {};
    }
    return listen_address{std::string(host), *port};
}

env_lookup process_environment()
{
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

config parse_config(std::string_view toml_text, const std::string& source_name,
                    const fs::path& base_dir, const env_lookup& env)
{
    const load_context ctx{source_name, base_dir};
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        fail(source_name, "line " + std::to_string(where.line) + ":" + std::to_string(where.column),
             "TOML syntax error: " + std::string(e.description()));
    }

    config cfg;
    cfg.source = source_name.empty() ? fs::path{} : fs::path(source_name);
    section top(root, "", ctx);
    if (const auto* t = top.table("server")) {
        section s(*t, "server", ctx);
        read_server(s, cfg.server);
    }
    if (const auto* t = top.table("storage")) {
        section s(*t, "storage", ctx);
        read_storage(s, cfg.storage);
    } else {
        const toml::table empty;
        section s(empty, "storage", ctx);
        cfg.storage.url = normalise_storage_url(s, "url", cfg.storage.url, ctx);
    }
    if (const auto* t = top.table("signing")) {
        section s(*t, "signing", ctx);
        cfg.signing = read_signing(s);
    }
    if (const auto* t = top.table("calltoken")) {
        section s(*t, "calltoken", ctx);
        cfg.calltoken = read_calltoken(s);
    }
    if (const auto* t = top.table("verify")) {
        section s(*t, "verify", ctx);
        read_verify(s, cfg.verify);
    }
    if (const auto* t = top.table("network")) {
        section s(*t, "network", ctx);
        read_network(s, cfg.network);
    }
    if (const auto* t = top.table("webhooks")) {
        section s(*t, "webhooks", ctx);
        read_webhooks(s, cfg.webhooks);
    }
    if (const auto* t = top.table("edge")) {
        section s(*t, "edge", ctx);
        read_edge(s, cfg.edge);
    }
    if (const auto* t = top.table("security")) {
        section s(*t, "security", ctx);
        read_security(s, cfg.security);
    }
    if (const auto* t = top.table("sip")) {
        section s(*t, "sip", ctx);
        read_sip(s, cfg.sip);
    }
    if (const auto* accounts = top.table_array("accounts")) {
        for (std::size_t i = 0; i < accounts->size(); ++i) {
            section s(*accounts->get(i)->as_table(), "accounts[" + std::to_string(i) + "]", ctx);
            cfg.accounts.push_back(read_account(s));
        }
    }
    top.finish();
    check_cross_references(cfg, ctx);
    apply_environment(cfg, env, base_dir);
    check_storage(cfg.storage, source_name);
    return cfg;
}

std::string storage_password(const storage_config& storage)
{
    if (storage.password_file.empty()) return {};
    std::ifstream in(storage.password_file, std::ios::binary);
    if (!in)
        throw std::runtime_error("storage.password_file " + storage.password_file.string() +
                                 ": cannot read the file");
    std::string password;
    std::getline(in, password);  // the first line; a trailing newline is an editor's
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty())
        throw std::runtime_error("storage.password_file " + storage.password_file.string() +
                                 ": the first line is empty");
    return password;
}

config load_config(const fs::path& file, const env_lookup& env)
{
    if (file.empty()) throw std::runtime_error("--config: a configuration file is required");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(file.string() + ": cannot read the configuration file");
    std::ostringstream text;
    text << in.rdbuf();
    const fs::path base = fs::absolute(file).parent_path();
    config cfg = parse_config(text.str(), file.string(), base, env);
    cfg.source = fs::absolute(file).lexically_normal();
    return cfg;
}

void apply_listen_override(config& cfg, std::string_view listen)
{
    auto a = parse_listen_address(listen);
    if (!a) fail("command line", "--listen", "expected HOST:PORT, got " + show_value(listen));
    cfg.server.listen = *a;
}

}  // namespace stirgate::app
