#include "app/config.hpp"
#include "app/gateway.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using stirgate::app::config;
using stirgate::app::env_lookup;
using stirgate::app::parse_config;

env_lookup no_env()
{
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

env_lookup env_of(std::map<std::string, std::string> vars)
{
    return [vars](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

config parse(const std::string& text, const env_lookup& env = no_env())
{
    return parse_config(text, "test.toml", "/etc/stirgate", env);
}

// The message of the exception parse() throws, or "" when it does not throw.
std::string parse_error(const std::string& text)
{
    try {
        (void)parse(text);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

const std::string account_head =
    "[[accounts]]\n"
    "sid = \"AC0123456789abcdef0123456789abcdef\"\n"
    "auth_token = \"secret\"\n";

}  // namespace

TEST_CASE("deploy's example config parses into the documented values", "[app]")
{
    const fs::path file = fs::path(STIRGATE_SOURCE_DIR) / "deploy" / "stirgate.example.toml";
    const config cfg = stirgate::app::load_config(file, no_env());
    const fs::path dir = fs::absolute(file).parent_path().lexically_normal();

    CHECK(cfg.server.listen.host == "127.0.0.1");
    CHECK(cfg.server.listen.port == 8080);
    CHECK(cfg.server.public_url == "https://voice.example.com");
    REQUIRE(cfg.server.trusted_proxies.size() == 2);
    CHECK(cfg.server.trusted_proxies[0].contains("127.0.0.1"));
    CHECK(cfg.server.trusted_proxies[1].contains("::1"));
    CHECK(cfg.server.threads == 0);
    CHECK(cfg.server.max_header_bytes == 8192);
    CHECK(cfg.server.max_body_bytes == 65536);
    CHECK(cfg.server.read_timeout == std::chrono::milliseconds(10000));
    CHECK(cfg.server.idle_timeout == std::chrono::milliseconds(10000));
    CHECK(cfg.server.max_connections == 4096);
    CHECK(cfg.server.max_connections_per_address == 256);
    CHECK(cfg.storage.url == "sqlite:///var/lib/stirgate/stirgate.db");
    REQUIRE(cfg.signing);
    CHECK(cfg.signing->key_file == dir / "keys" / "sti-key.pem");
    CHECK(cfg.signing->x5u == "https://certs.example.com/sti.pem");
    CHECK(cfg.signing->chain_file == dir / "keys" / "sti-chain.pem");
    REQUIRE(cfg.calltoken);
    CHECK(cfg.calltoken->key_file == dir / "keys" / "platform-key.pem");
    REQUIRE(cfg.calltoken->trusted_keys.size() == 1);
    CHECK(cfg.calltoken->max_age == std::chrono::seconds(3600));
    CHECK(cfg.calltoken->max_forwards_per_call == 10);
    CHECK(cfg.accounts.at(0).verified_caller_ids.empty());
    CHECK(cfg.verify.trust_anchors == dir / "keys" / "sti-roots.pem");
    CHECK(cfg.verify.iat_window == std::chrono::seconds(60));
    CHECK(cfg.verify.x5u_allowed_ports == std::vector<std::uint16_t>{443, 8443});
    CHECK(cfg.verify.fetch_ca_file.empty());
    CHECK_FALSE(cfg.network.allow_private_addresses);
    CHECK(cfg.webhooks.outbox_lease == std::chrono::milliseconds(60000));
    CHECK(cfg.edge.dial_url == "https://edge.internal.example.com/dial");
    CHECK(cfg.edge.control_url == "https://edge.internal.example.com/control");
    CHECK(cfg.security.auth_failures_per_address == 20);
    CHECK(cfg.security.auth_failures_per_account == 100);
    CHECK(cfg.security.auth_failure_window == std::chrono::seconds(300));
    REQUIRE(cfg.accounts.size() == 1);
    CHECK(cfg.accounts[0].sid == "AC0123456789abcdef0123456789abcdef");
    REQUIRE(cfg.accounts[0].numbers.size() == 1);
    CHECK(cfg.accounts[0].numbers[0].number == "+14155550101");
    CHECK(cfg.accounts[0].numbers[0].attest == 'A');
    CHECK_FALSE(cfg.accounts[0].trusted_sbc);
    CHECK_FALSE(cfg.sip.listen);  // commented out: no SIP listener unless asked for
    REQUIRE(cfg.sip.peers.size() == 1);
    CHECK(cfg.sip.peers[0].cidr.contains("127.0.0.1"));
    CHECK(cfg.sip.peers[0].account == cfg.accounts[0].sid);
    CHECK(cfg.sip.max_message_bytes == 16384);
    CHECK(cfg.sip.rate_per_source == 200);
}

TEST_CASE("deploy/cluster's config parses: PostgreSQL, the lease, the proxy, the drain", "[app]")
{
    const fs::path file = fs::path(STIRGATE_SOURCE_DIR) / "deploy" / "cluster" / "stirgate.toml";
    const config cfg = stirgate::app::load_config(file, no_env());
    CHECK(cfg.storage.url.rfind("postgresql://", 0) == 0);
    CHECK(cfg.webhooks.outbox_lease == std::chrono::milliseconds(60000));
    CHECK(cfg.server.drain_delay == std::chrono::milliseconds(5000));
    REQUIRE(cfg.server.trusted_proxies.size() == 1);
    CHECK(cfg.server.trusted_proxies[0].contains("127.0.0.1"));
    CHECK(cfg.accounts.size() == 1);
}

TEST_CASE("[network]: allow_private_addresses sets both switches, each may be set alone, "
          "allowed_addresses lists CIDR blocks",
          "[app]")
{
    const config both = parse("[network]\nallow_private_addresses = true\n");
    CHECK(both.network.allow_private_x5u);
    CHECK(both.network.allow_private_webhooks);
    const config split =
        parse("[network]\nallow_private_addresses = true\nallow_private_webhooks = false\n");
    CHECK(split.network.allow_private_x5u);
    CHECK_FALSE(split.network.allow_private_webhooks);
    const config x5u_only = parse("[network]\nallow_private_x5u = true\n");
    CHECK(x5u_only.network.allow_private_x5u);
    CHECK_FALSE(x5u_only.network.allow_private_webhooks);
    const config listed =
        parse("[network]\nallowed_addresses = [\"169.254.169.254/32\", \"fd00:ec2::254\"]\n");
    REQUIRE(listed.network.allowed_addresses.size() == 2);
    CHECK(listed.network.allowed_addresses[0].contains("169.254.169.254"));
    CHECK(listed.network.allowed_addresses[1].contains("fd00:ec2::254"));
    CHECK(parse_error("[network]\nallowed_addresses = [\"metadata\"]\n")
              .find("network.allowed_addresses") != std::string::npos);
}

TEST_CASE("a number's voice_url, voice_fallback_url or status_callback the webhook policy refuses "
          "stops the gateway at start, naming the key and why",
          "[app]")
{
    const std::string head = account_head +
                             "[[accounts.numbers]]\nnumber = \"+14155550101\"\n";
    for (const auto& [key, url, why] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"voice_url", "http://127.0.0.1:9/voice", "address 127.0.0.1 is loopback"},
             {"voice_fallback_url", "https://10.1.2.3/f", "address 10.1.2.3 is private_use"},
             {"status_callback", "http://169.254.169.254/", "is a cloud metadata address"}}) {
        INFO(key);
        config cfg = parse("[storage]\nurl = \"sqlite://:memory:\"\n" + head + key + " = \"" +
                           url + "\"\n");
        try {
            stirgate::app::gateway gw(cfg);
            FAIL("the gateway started");
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            CHECK(what.find("accounts[0].numbers[0]." + key + ": not allowed: ") !=
                  std::string::npos);
            CHECK(what.find(why) != std::string::npos);
        }
    }
    // Allowed for webhooks, loopback is fine.
    config cfg = parse("[storage]\nurl = \"sqlite://:memory:\"\n[network]\n"
                       "allow_private_webhooks = true\n" +
                       head + "voice_url = \"http://127.0.0.1:9/voice\"\n");
    CHECK_NOTHROW(stirgate::app::gateway(cfg));
}

TEST_CASE("verified_caller_ids are E.164 numbers; max_forwards_per_call bounds forwards",
          "[app]")
{
    const config cfg = parse(account_head + "verified_caller_ids = [\"+13105550123\"]\n");
    CHECK(cfg.accounts.at(0).verified_caller_ids == std::vector<std::string>{"+13105550123"});
    CHECK(parse_error(account_head + "verified_caller_ids = [\"3105550123\"]\n")
              .find("accounts[0].verified_caller_ids") != std::string::npos);
    CHECK(parse("[calltoken]\nkey_file = \"k.pem\"\nmax_forwards_per_call = 0\n")
              .calltoken->max_forwards_per_call == 0);
}

TEST_CASE("an empty config gives every default and no optional sections", "[app]")
{
    const config cfg = parse("");
    CHECK(cfg.server.listen.host == "127.0.0.1");
    CHECK(cfg.server.listen.port == 8080);
    CHECK(cfg.server.threads == 0);
    CHECK(cfg.server.max_header_bytes == 8192);
    CHECK(cfg.server.max_body_bytes == 65536);
    CHECK(cfg.server.drain_timeout == std::chrono::milliseconds(10000));
    CHECK(cfg.server.max_connections == 4096);
    CHECK(cfg.server.max_connections_per_address == 256);
    CHECK(cfg.storage.url == "sqlite:///etc/stirgate/stirgate.db");
    CHECK_FALSE(cfg.signing);
    CHECK_FALSE(cfg.calltoken);
    CHECK(cfg.verify.max_cert_bytes == 16384);
    CHECK(cfg.webhooks.outbox_lease == std::chrono::milliseconds(60000));
    CHECK(cfg.security.auth_failures_per_address == 20);
    CHECK(cfg.security.auth_failures_per_account == 100);
    CHECK(cfg.security.auth_failure_window == std::chrono::seconds(300));
    CHECK(cfg.accounts.empty());
}

TEST_CASE("the outbox lease is read from [webhooks] outbox_lease_ms", "[app]")
{
    CHECK(parse("[webhooks]\noutbox_lease_ms = 2000\n").webhooks.outbox_lease ==
          std::chrono::milliseconds(2000));
}

TEST_CASE("relative paths resolve against the config folder, absolute ones stay", "[app]")
{
    const config cfg = parse(
        "[signing]\nkey_file = \"keys/../keys/k.pem\"\n"
        "x5u = \"https://c.example.com/x.pem\"\n"
        "chain_file = \"/abs/chain.pem\"\n"
        "[verify]\ncrl_files = [\"crl/a.der\", \"/b.pem\"]\n"
        "[storage]\nurl = \"sqlite://data/db.sqlite\"\n");
    REQUIRE(cfg.signing);
    CHECK(cfg.signing->key_file == fs::path("/etc/stirgate/keys/k.pem"));
    CHECK(cfg.signing->chain_file == fs::path("/abs/chain.pem"));
    CHECK(cfg.verify.crl_files == std::vector<fs::path>{"/etc/stirgate/crl/a.der", "/b.pem"});
    CHECK(cfg.storage.url == "sqlite:///etc/stirgate/data/db.sqlite");

    SECTION("load_config anchors at the file's own folder")
    {
        char tmpl[] = "/tmp/stirgate-config-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        const fs::path dir = tmpl;
        {
            std::ofstream out(dir / "gw.toml");
            out << "[calltoken]\nkey_file = \"k/p.pem\"\ntrusted_keys = [\"k/pub.pem\"]\n";
        }
        const config loaded = stirgate::app::load_config(dir / "gw.toml", no_env());
        REQUIRE(loaded.calltoken);
        CHECK(loaded.calltoken->key_file == dir / "k" / "p.pem");
        CHECK(loaded.calltoken->trusted_keys.at(0) == dir / "k" / "pub.pem");
        fs::remove_all(dir);
    }
}

TEST_CASE("each bad config is rejected with one line naming the file and the key", "[app]")
{
    struct bad_case {
        const char* toml;
        const char* key;  // must appear in the message
    };
    const auto c = GENERATE(
        bad_case{"[server]\nlisten = \"localhost\"\n", "server.listen"},
        bad_case{"[server]\nlisten = \"127.0.0.1:99999\"\n", "server.listen"},
        bad_case{"[server]\nlisten = 8080\n", "server.listen"},
        bad_case{"[server]\nlistn = \"127.0.0.1:8080\"\n", "server.listn"},
        bad_case{"[server]\nthreads = -1\n", "server.threads"},
        bad_case{"[server]\nthreads = \"4\"\n", "server.threads"},
        bad_case{"[server]\npublic_url = \"ftp://x.example.com\"\n", "server.public_url"},
        bad_case{"[server]\npublic_url = \"https://user:pw@x.example.com\"\n", "server.public_url"},
        bad_case{"[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", "server.trusted_proxies"},
        bad_case{"[server]\ntrusted_proxies = \"10.0.0.0/8\"\n", "server.trusted_proxies"},
        bad_case{"[server]\nmax_body_bytes = 0\n", "server.max_body_bytes"},
        bad_case{"[server]\nread_timeout_ms = 0\n", "server.read_timeout_ms"},
        bad_case{"[server]\nmax_connections = -1\n", "server.max_connections"},
        bad_case{"[server]\nmax_connections_per_address = \"8\"\n",
                 "server.max_connections_per_address"},
        bad_case{"[sever]\nlisten = \"127.0.0.1:1\"\n", "sever"},
        bad_case{"[storage]\nurl = \"mysql://db\"\n", "storage.url"},
        bad_case{"[signing]\nx5u = \"https://c.example.com/x.pem\"\n", "signing.key_file"},
        bad_case{"[signing]\nkey_file = \"k.pem\"\nx5u = \"c.example.com/x.pem\"\n", "signing.x5u"},
        bad_case{"[calltoken]\nkey_file = \"k.pem\"\nmax_age_s = 0\n", "calltoken.max_age_s"},
        bad_case{"[calltoken]\nkey_file = \"k.pem\"\ntrusted_keys = [1]\n",
                 "calltoken.trusted_keys"},
        bad_case{"[verify]\nx5u_allowed_ports = [0]\n", "verify.x5u_allowed_ports"},
        bad_case{"[verify]\nx5u_resolve = [\"host:443\"]\n", "verify.x5u_resolve"},
        bad_case{"[verify]\niat_window = 60\n", "verify.iat_window"},
        bad_case{"[network]\nallow_private_addresses = \"yes\"\n",
                 "network.allow_private_addresses"},
        bad_case{"[edge]\ndial_url = \"not a url\"\n", "edge.dial_url"},
        bad_case{"[edge]\ncontrol_url = \"ftp://edge.example.com/control\"\n", "edge.control_url"},
        bad_case{"[webhooks]\noutbox_lease_ms = 999\n", "webhooks.outbox_lease_ms"},
        bad_case{"[webhooks]\noutbox_lease_ms = 3600001\n", "webhooks.outbox_lease_ms"},
        bad_case{"[security]\nauth_failures_per_address = 0\n",
                 "security.auth_failures_per_address"},
        bad_case{"[security]\nauth_failure_window = 60\n", "security.auth_failure_window"},
        bad_case{"[[accounts]]\nsid = \"AC123\"\nauth_token = \"t\"\n", "accounts[0].sid"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789ABCDEF0123456789abcdef\"\nauth_token = \"t\"\n",
                 "accounts[0].sid"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n",
                 "accounts[0].auth_token"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\norigid = \"not-a-uuid\"\n",
                 "accounts[0].origid"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\n[[accounts.numbers]]\nnumber = \"4155550101\"\n",
                 "accounts[0].numbers[0].number"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\n[[accounts.numbers]]\nnumber = \"+14155550101\"\n"
                 "attest = \"D\"\n",
                 "accounts[0].numbers[0].attest"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\n[[accounts.numbers]]\nnumber = \"+14155550101\"\n"
                 "voice_url = \"javascript:alert(1)\"\n",
                 "accounts[0].numbers[0].voice_url"},
        // Hosts the HTTP client would refuse on every call are refused at start-up.
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\n[[accounts.numbers]]\nnumber = \"+14155550101\"\n"
                 "voice_url = \"https://my_app.example.com/voice\"\n",
                 "accounts[0].numbers[0].voice_url"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\n[[accounts.numbers]]\nnumber = \"+14155550101\"\n"
                 "status_callback = \"http://127.1/status\"\n",
                 "accounts[0].numbers[0].status_callback"},
        bad_case{"[edge]\ndial_url = \"https://edge.example.com:080/dial\"\n", "edge.dial_url"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                 "auth_token = \"t\"\n[[accounts.numbers]]\nnumber = \"+14155550101\"\n"
                 "colour = \"blue\"\n",
                 "accounts[0].numbers[0].colour"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token = \"t\"\n"
                 "[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token = \"u\"\n",
                 "accounts[1].sid"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token = \"t\"\n"
                 "[[accounts.numbers]]\nnumber = \"+14155550101\"\n"
                 "[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdee\"\nauth_token = \"u\"\n"
                 "[[accounts.numbers]]\nnumber = \"+14155550101\"\n",
                 "accounts[1].numbers[0].number"},
        bad_case{"[server\nlisten = 1\n", "line 1"}, bad_case{"accounts = 3\n", "accounts"},
        bad_case{"[sip]\nlisten = \"5060\"\n", "sip.listen"},
        bad_case{"[sip]\nlisten = \"127.0.0.1:70000\"\n", "sip.listen"},
        bad_case{"[sip]\nlisen = \"127.0.0.1:5060\"\n", "sip.lisen"},
        bad_case{"[sip]\nmax_message_bytes = 100\n", "sip.max_message_bytes"},
        bad_case{"[sip]\nmax_message_bytes = 70000\n", "sip.max_message_bytes"},
        bad_case{"[sip]\nmax_headers = 0\n", "sip.max_headers"},
        bad_case{"[sip]\nrate_per_source = -1\n", "sip.rate_per_source"},
        bad_case{"[sip]\ntcp_idle_timeout_ms = 0\n", "sip.tcp_idle_timeout_ms"},
        bad_case{"[[sip.peers]]\ncidr = \"10.0.0.0/33\"\naccount = \"AC0\"\n", "sip.peers[0].cidr"},
        bad_case{"[[sip.peers]]\naccount = \"AC0\"\n", "sip.peers[0].cidr"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token = \"t\"\n"
                 "[[sip.peers]]\ncidr = \"127.0.0.1/32\"\n",
                 "sip.peers[0].account"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token = \"t\"\n"
                 "[[sip.peers]]\ncidr = \"127.0.0.1/32\"\n"
                 "account = \"AC0123456789abcdef0123456789abcdee\"\n",
                 "sip.peers[0].account"},
        bad_case{"[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token = \"t\"\n"
                 "[[sip.peers]]\ncidr = \"127.0.0.1/32\"\n"
                 "account = \"AC0123456789abcdef0123456789abcdef\"\ncolor = \"red\"\n",
                 "sip.peers[0].color"});
    INFO(c.toml);
    const std::string msg = parse_error(c.toml);
    INFO(msg);
    REQUIRE_FALSE(msg.empty());
    CHECK(msg.rfind("test.toml: ", 0) == 0);
    CHECK(msg.find(c.key) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("an account's auth token is never echoed in an error message", "[app]")
{
    const std::string msg = parse_error(account_head + "origid = \"x\"\nsecret_key = 1\n");
    REQUIRE_FALSE(msg.empty());
    CHECK(msg.find("secret\"") == std::string::npos);
}

TEST_CASE("a refused storage URL is named without its password", "[app]")
{
    const auto bad = GENERATE(as<std::string>{}, "mysql://app:s3cret@db.example/x",
                              "mysql://db.example/x?user=app&password=s3cret");
    const std::string msg = parse_error("[storage]\nurl = \"" + bad + "\"\n");
    INFO(msg);
    CHECK(msg.find("storage.url") != std::string::npos);
    CHECK(msg.find("***") != std::string::npos);
    CHECK(msg.find("s3cret") == std::string::npos);
    try {
        (void)parse("", env_of({{"STIRGATE_STORAGE_URL", bad}}));
        FAIL("accepted STIRGATE_STORAGE_URL=" << bad);
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
    }
}

TEST_CASE("storage migrate and password_file: parsed, checked against the URL, read at start",
          "[app]")
{
    const std::string pg = "[storage]\nurl = \"postgresql://gw@db.example:5432/stirgate\"\n";
    const config defaults = parse(pg);
    CHECK(defaults.storage.migrate);
    CHECK(defaults.storage.password_file.empty());
    CHECK(stirgate::app::storage_password(defaults.storage).empty());

    const config cfg = parse(pg + "migrate = false\npassword_file = \"secrets/db\"\n");
    CHECK_FALSE(cfg.storage.migrate);
    CHECK(cfg.storage.password_file == fs::path("/etc/stirgate/secrets/db"));

    CHECK_THAT(parse_error(pg + "migrate = \"no\"\n"), Catch::Contains("storage.migrate"));
    CHECK_THAT(parse_error("[storage]\npassword_file = \"db\"\n"),
               Catch::Contains("storage.password_file"));
    const std::string both =
        parse_error("[storage]\nurl = \"postgresql://gw:s3cret@db.example/x\"\n"
                    "password_file = \"db\"\n");
    CHECK_THAT(both, Catch::Contains("storage.password_file"));
    CHECK(both.find("s3cret") == std::string::npos);

    char tmpl[] = "/tmp/stirgate-password-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    const fs::path dir = tmpl;
    stirgate::app::storage_config storage;
    storage.password_file = dir / "db";
    std::ofstream(storage.password_file) << "pw with spaces\r\nsecond line\n";
    CHECK(stirgate::app::storage_password(storage) == "pw with spaces");
    std::ofstream(storage.password_file, std::ios::trunc) << "\n";
    CHECK_THROWS_WITH(stirgate::app::storage_password(storage), Catch::Contains("empty"));
    storage.password_file = dir / "missing";
    CHECK_THROWS_WITH(stirgate::app::storage_password(storage), Catch::Contains("cannot read"));
    fs::remove_all(dir);
}

TEST_CASE("delivery limits: attempts and ages parse, out-of-range values are refused", "[app]")
{
    const config defaults = parse("");
    CHECK(defaults.webhooks.max_delivery_attempts == 20);
    CHECK(defaults.webhooks.max_delivery_age == std::chrono::seconds(86400));
    CHECK(defaults.edge.dial_max_age == std::chrono::seconds(600));
    const config cfg = parse("[webhooks]\nmax_delivery_attempts = 0\nmax_delivery_age_s = 3600\n"
                             "[edge]\ndial_max_age_s = 120\n");
    CHECK(cfg.webhooks.max_delivery_attempts == 0);
    CHECK(cfg.webhooks.max_delivery_age == std::chrono::seconds(3600));
    CHECK(cfg.edge.dial_max_age == std::chrono::seconds(120));
    CHECK_THAT(parse_error("[webhooks]\nmax_delivery_attempts = -1\n"),
               Catch::Contains("webhooks.max_delivery_attempts"));
    CHECK_THAT(parse_error("[webhooks]\nmax_delivery_age_s = 1\n"),
               Catch::Contains("webhooks.max_delivery_age_s"));
    CHECK_THAT(parse_error("[edge]\ndial_max_age_s = 0\n"), Catch::Contains("edge.dial_max_age_s"));
}

TEST_CASE("trusted_sbc is off unless an account sets it", "[app]")
{
    const std::string account = "[[accounts]]\nsid = \"AC0123456789abcdef0123456789abcdef\"\n"
                                "auth_token = \"t\"\n";
    CHECK_FALSE(parse(account).accounts[0].trusted_sbc);
    CHECK(parse(account + "trusted_sbc = true\n").accounts[0].trusted_sbc);
    CHECK_THAT(parse_error(account + "trusted_sbc = \"yes\"\n"),
               Catch::Contains("accounts[0].trusted_sbc"));
}

TEST_CASE("environment variables override the file; bad ones are rejected by name", "[app]")
{
    const std::string text = "[server]\nlisten = \"127.0.0.1:8080\"\nthreads = 2\n";
    const config cfg = parse(text, env_of({{"STIRGATE_LISTEN", "[::1]:0"},
                                           {"STIRGATE_THREADS", "7"},
                                           {"STIRGATE_PUBLIC_URL", "https://gw.example.com/"},
                                           {"STIRGATE_STORAGE_URL", "sqlite://env.db"}}));
    CHECK(cfg.server.listen.host == "::1");
    CHECK(cfg.server.listen.port == 0);
    CHECK(cfg.server.threads == 7);
    CHECK(cfg.server.public_url == "https://gw.example.com");
    CHECK(cfg.storage.url == "sqlite:///etc/stirgate/env.db");

    CHECK(parse(text, env_of({{"STIRGATE_LISTEN", ""}})).server.listen.port == 8080);

    const auto bad = GENERATE(std::pair<const char*, const char*>{"STIRGATE_LISTEN", "nope"},
                              std::pair<const char*, const char*>{"STIRGATE_THREADS", "many"},
                              std::pair<const char*, const char*>{"STIRGATE_THREADS", "-1"},
                              std::pair<const char*, const char*>{"STIRGATE_PUBLIC_URL", "x"});
    try {
        (void)parse(text, env_of({{bad.first, bad.second}}));
        FAIL("accepted " << bad.first << "=" << bad.second);
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find(bad.first) != std::string::npos);
    }
}

TEST_CASE("the --listen option replaces the configured address and is checked", "[app]")
{
    config cfg = parse("");
    stirgate::app::apply_listen_override(cfg, "0.0.0.0:9000");
    CHECK(cfg.server.listen.host == "0.0.0.0");
    CHECK(cfg.server.listen.port == 9000);
    CHECK_THROWS_WITH(stirgate::app::apply_listen_override(cfg, "9000"),
                      Catch::Contains("--listen"));
}

TEST_CASE("a missing config file is one clear line naming it", "[app]")
{
    try {
        (void)stirgate::app::load_config("/nonexistent/stirgate.toml", no_env());
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) ==
              "/nonexistent/stirgate.toml: cannot read the configuration file");
    }
}

TEST_CASE("listen addresses and CIDR blocks parse as documented", "[app]")
{
    using stirgate::net::parse_cidr;
    using stirgate::app::parse_listen_address;
    CHECK(parse_listen_address("127.0.0.1:0")->port == 0);
    CHECK(parse_listen_address("[::]:443")->host == "::");
    CHECK(parse_listen_address("gw.internal:80")->host == "gw.internal");
    CHECK_FALSE(parse_listen_address("::1:80"));
    CHECK_FALSE(parse_listen_address(":80"));
    CHECK_FALSE(parse_listen_address("host:"));
    CHECK_FALSE(parse_listen_address("host:8o"));

    const auto net10 = parse_cidr("10.1.2.3/8");
    REQUIRE(net10);
    CHECK(net10->contains("10.200.0.1"));
    CHECK(net10->contains("::ffff:10.0.0.1"));
    CHECK_FALSE(net10->contains("11.0.0.1"));
    CHECK_FALSE(net10->contains("not-an-ip"));
    const auto host = parse_cidr("192.168.1.7");
    REQUIRE(host);
    CHECK(host->prefix_len == 32);
    CHECK(host->contains("192.168.1.7"));
    CHECK_FALSE(host->contains("192.168.1.8"));
    const auto v6 = parse_cidr("2001:db8::/32");
    REQUIRE(v6);
    CHECK(v6->contains("2001:db8:1::1"));
    CHECK_FALSE(v6->contains("2001:db9::1"));
    CHECK_FALSE(v6->contains("10.0.0.1"));
    CHECK(parse_cidr("0.0.0.0/0")->contains("8.8.8.8"));
    CHECK_FALSE(parse_cidr("10.0.0.0/"));
    CHECK_FALSE(parse_cidr("10.0.0.0/x"));
    CHECK_FALSE(parse_cidr("::1/129"));
}

TEST_CASE("x5u_resolve pins take an optional connect port", "[app]")
{
    const auto cfg = stirgate::app::parse_config(
        "[verify]\nx5u_resolve = [\"certs.example.test:443:127.0.0.1\", "
        "\"a.test:443:127.0.0.1:8443\", \"b.test:8443:[::1]:9443\", \"c.test:443:::1\"]\n",
        "t.toml", "/tmp", [](std::string_view) { return std::optional<std::string>{}; });
    REQUIRE(cfg.verify.x5u_resolve.size() == 4);
    CHECK(cfg.verify.x5u_resolve[0].address == "127.0.0.1");
    CHECK(cfg.verify.x5u_resolve[0].connect_port == 0);
    CHECK(cfg.verify.x5u_resolve[1].address == "127.0.0.1");
    CHECK(cfg.verify.x5u_resolve[1].connect_port == 8443);
    CHECK(cfg.verify.x5u_resolve[2].address == "::1");
    CHECK(cfg.verify.x5u_resolve[2].connect_port == 9443);
    CHECK(cfg.verify.x5u_resolve[3].address == "::1");
    CHECK(cfg.verify.x5u_resolve[3].connect_port == 0);
    for (const char* bad : {"a.test:443:127.0.0.1:0", "a.test:443:127.0.0.1:x",
                            "a.test:443:[::1", "a.test:443:[::1]x", "a.test:443:host.test"}) {
        INFO(bad);
        CHECK_THROWS(stirgate::app::parse_config(
            std::string("[verify]\nx5u_resolve = [\"") + bad + "\"]\n", "t.toml", "/tmp",
            [](std::string_view) { return std::optional<std::string>{}; }));
    }
}

TEST_CASE("[sip]: absent means no listener; listen, peers and limits parse with their defaults",
          "[app][sip]")
{
    const config none = parse("");
    CHECK_FALSE(none.sip.listen);
    CHECK(none.sip.peers.empty());
    CHECK(none.sip.max_message_bytes == 16384);
    CHECK(none.sip.max_headers == 64);
    CHECK(none.sip.rate_per_source == 200);
    CHECK(none.sip.max_tcp_connections == 256);
    CHECK(none.sip.tcp_idle_timeout == std::chrono::milliseconds(120000));

    const config cfg = parse(account_head +
                             "[sip]\nlisten = \"127.0.0.1:5060\"\nmax_message_bytes = 4096\n"
                             "max_headers = 40\nrate_per_source = 0\ntcp_idle_timeout_ms = 500\n"
                             "[[sip.peers]]\ncidr = \"10.0.0.0/8\"\n"
                             "account = \"AC0123456789abcdef0123456789abcdef\"\n"
                             "[[sip.peers]]\ncidr = \"::1\"\n"
                             "account = \"AC0123456789abcdef0123456789abcdef\"\n"
                             "passthrough = true\n");
    REQUIRE(cfg.sip.listen);
    CHECK(cfg.sip.listen->host == "127.0.0.1");
    CHECK(cfg.sip.listen->port == 5060);
    REQUIRE(cfg.sip.peers.size() == 2);
    CHECK(cfg.sip.peers[0].cidr.contains("10.1.2.3"));
    CHECK_FALSE(cfg.sip.peers[0].cidr.contains("11.1.2.3"));
    CHECK(cfg.sip.peers[1].cidr.contains("::1"));
    CHECK(cfg.sip.peers[0].account == "AC0123456789abcdef0123456789abcdef");
    CHECK_FALSE(cfg.sip.peers[0].passthrough);
    CHECK(cfg.sip.peers[1].passthrough);
    CHECK(cfg.sip.max_message_bytes == 4096);
    CHECK(cfg.sip.max_headers == 40);
    CHECK(cfg.sip.rate_per_source == 0);
    CHECK(cfg.sip.tcp_idle_timeout == std::chrono::milliseconds(500));

    // Peers without a listener are kept (the listener is switched off, not the list).
    const config quiet = parse(account_head + "[[sip.peers]]\ncidr = \"127.0.0.1/32\"\n"
                                              "account = \"AC0123456789abcdef0123456789abcdef\"\n");
    CHECK_FALSE(quiet.sip.listen);
    CHECK(quiet.sip.peers.size() == 1);
}

TEST_CASE("with [signing], a SIP peer's account must have an origid to sign with", "[app][sip]")
{
    const std::string signing =
        "[signing]\nkey_file = \"k.pem\"\nx5u = \"https://certs.example.test/sti.pem\"\n";
    const std::string peer = "[[sip.peers]]\ncidr = \"127.0.0.1/32\"\n"
                             "account = \"AC0123456789abcdef0123456789abcdef\"\n";
    const std::string msg = parse_error(signing + account_head + peer);
    CHECK_THAT(msg, Catch::Contains("sip.peers[0].account") && Catch::Contains("origid"));
    CHECK(parse_error(signing + account_head +
                      "origid = \"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"\n" + peer)
              .empty());
    CHECK(parse_error(account_head + peer).empty());  // verification only: no origid needed
}
