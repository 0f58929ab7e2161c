// The SIP face end to end (#15): one in-process gateway per test binary (its clock is the
// vectors' fixed time, so their PASSporTs are fresh), UDP and TCP on one loopback port, x5u
// fetched over HTTPS from a repository started here. SIPp (Debian sip-tester, scenarios in
// tests/sip/) plays the SBC; raw sockets send what no SBC would. Everything stays on 127.0.0.x.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/config.hpp"
#include "core/base64url.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "support/cert_repository.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/in_process_gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tls.hpp"
#include "support/vectors.hpp"
#include "unit/sip/sip_test_support.hpp"

namespace {

using namespace stirgate;
using test::read_vector;
using test::sip_header;
using test::sip_headers;
using test::sip_status;
using test::vector_path;

const std::string caller = "+13105550100";  // the peer account's number, attest A
const std::string called = "+14155550101";

// The gateway every test case of this binary talks to (ctest runs each case in its own process,
// so each starts one).
struct sip_gateway {
    test::test_ca ca{"stirgate sip test TLS CA"};
    test::temp_file ca_file{ca.cert_pem()};
    test::cert_repository repo{ca.issue_server("certs.example.test")};
    std::ostringstream log;
    std::optional<test::in_process_gateway> gw;
    test::temp_dir dir;

    sip_gateway()
    {
        test::serve_vector_certificates(repo);
        app::config cfg = test::vector_gateway_config("sip_test", ca_file.path(), repo.port());
        auto account = test::vector_account(test::account_sid, test::account_token);
        account.numbers.push_back({caller, 'A', "", "", ""});
        cfg.accounts.push_back(account);
        cfg.sip.listen = app::listen_address{"127.0.0.1", 0};
        cfg.sip.peers.push_back({*net::parse_cidr("127.0.0.1/32"), test::account_sid});
        // A customer's trunk relaying its own PASSporTs (Twilio's PASSporT passthrough).
        cfg.sip.peers.push_back({*net::parse_cidr("127.0.0.4/32"), test::account_sid, true});
        cfg.sip.max_message_bytes = 8192;
        cfg.sip.tcp_idle_timeout = std::chrono::milliseconds(3000);
        cfg.sip.tcp_read_timeout = std::chrono::milliseconds(2000);
        app::gateway_options opts;
        opts.now = [] { return static_cast<std::int64_t>(test::vectors_verify_at); };
        opts.log_out = &log;
        gw.emplace(std::move(cfg), std::move(opts));
        REQUIRE(gw->sip_port() != 0);
    }

    std::uint16_t port() const { return gw->sip_port(); }
};

sip_gateway& gateway()
{
    static sip_gateway g;
    return g;
}

// --- SIPp -----------------------------------------------------------------------------------

struct sipp_run {
    int exit_code = -1;
    std::string messages;  // -trace_msg: everything sent and received
    std::string output;
};

// A log file for one SIPp run, under the gateway's temporary folder.
std::string sipp_log(const std::string& name)
{
    static int runs = 0;
    return (gateway().dir.path() / (name + "-" + std::to_string(++runs) + ".messages.log"))
        .string();
}

// SIPp for one call of tests/sip/<scenario>, logging every message to `log`. `target`: the
// address to call (empty for a UAS); `transport` "u1" or "t1".
test::child_process start_sipp(const std::string& scenario, const std::vector<std::string>& extra,
                               const std::string& log, const std::string& target,
                               const std::string& transport = "u1",
                               const std::string& local_ip = "127.0.0.1")
{
    std::vector<std::string> args{"-sf",
                                  std::string(STIRGATE_SOURCE_DIR) + "/tests/sip/" + scenario,
                                  "-m",
                                  "1",
                                  "-nostdin",
                                  "-t",
                                  transport,
                                  "-i",
                                  local_ip,
                                  "-bind_local",
                                  "-timeout",
                                  "20s",
                                  "-timeout_error",
                                  "-recv_timeout",
                                  "5000",
                                  "-trace_msg",
                                  "-message_file",
                                  log};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!target.empty()) args.push_back(target);
    return test::child_process::spawn("/usr/bin/sipp", args);
}

sipp_run finish(test::child_process& proc, const std::string& log)
{
    sipp_run r;
    const auto code = proc.wait(std::chrono::seconds(30));
    r.exit_code = code.value_or(-1);
    r.output = proc.stdout_text() + proc.stderr_text();
    if (std::filesystem::exists(log)) r.messages = test::read_file(log);
    return r;
}

// Runs one call of tests/sip/<scenario> against the gateway's SIP face.
sipp_run run_sipp(const std::string& scenario, const std::vector<std::string>& extra,
                  const std::string& transport = "u1", const std::string& local_ip = "127.0.0.1")
{
    const std::string log = sipp_log(scenario);
    auto proc = start_sipp(scenario, extra, log, "127.0.0.1:" + std::to_string(gateway().port()),
                           transport, local_ip);
    return finish(proc, log);
}

// The first message in a SIPp message log that starts with `start` (a line start), with CRLF
// line ends.
std::string received_message(const std::string& messages, const std::string& start)
{
    auto at = messages.find("\n" + start);
    if (at == std::string::npos) return {};
    ++at;
    if (at == std::string::npos) return {};
    std::string out;
    std::size_t pos = at;
    while (pos < messages.size()) {
        auto eol = messages.find('\n', pos);
        if (eol == std::string::npos) eol = messages.size();
        std::string line = messages.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos = eol + 1;
        out += line + "\r\n";
        if (line.empty()) break;
    }
    return out;
}

// The first received response with `status` in a SIPp message log.
std::string received_response(const std::string& messages, int status)
{
    return received_message(messages, "SIP/2.0 " + std::to_string(status) + " ");
}

std::vector<std::string> vector_identities(const std::string& case_file)
{
    const auto doc = test::load_vector_json("cases/" + case_file);
    std::vector<std::string> out;
    for (const auto& v : doc["identity_headers"].GetArray()) out.emplace_back(v.GetString());
    return out;
}

// --- raw sockets ------------------------------------------------------------------------------

// Sends one datagram from `source` (an address on lo) and waits `wait` for one back.
std::optional<std::string> udp_exchange(std::uint16_t port, const std::string& datagram,
                                        std::chrono::milliseconds wait,
                                        const char* source = "127.0.0.1")
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    const std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* p) {
        ::close(*p);
        delete p;
    });
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    REQUIRE(::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) == static_cast<ssize_t>(datagram.size()));
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    std::string buf(65536, '\0');
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

std::string options_request(const std::string& call_id, const std::string& transport = "UDP")
{
    return "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/" + transport +
           " 127.0.0.1:5999;rport;branch=z9hG4bK-" + call_id +
           "\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: " + call_id +
           "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
}

bool answers_options(std::uint16_t port)
{
    const auto reply = udp_exchange(port, options_request("alive"), std::chrono::seconds(5));
    return reply && sip_status(*reply) == 200;
}

// A UDP port free on 127.0.0.1 now (bound and released; the race is the tests' own).
std::uint16_t free_udp_port()
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// Debian's kamailio with deploy/kamailio/kamailio.cfg in front of the gateway's SIP face,
// forwarding to a UAS on next_hop_port; ready once it answers OPTIONS.
struct kamailio_proxy {
    std::uint16_t port = free_udp_port();
    std::optional<test::child_process> proc;

    explicit kamailio_proxy(std::uint16_t next_hop_port)
    {
        const std::string dir = gateway().dir.path().string();
        proc.emplace(test::child_process::spawn(
            "/usr/sbin/kamailio",
            {"-DD", "-E", "-m", "32", "-M", "4", "-w", dir, "-Y", dir, "-f",
             std::string(STIRGATE_SOURCE_DIR) + "/deploy/kamailio/kamailio.cfg", "-A",
             "LISTEN=udp:127.0.0.1:" + std::to_string(port), "-A",
             "STIRGATE=\"sip:127.0.0.1:" + std::to_string(gateway().port()) + "\"", "-A",
             "NEXT_HOP=\"sip:127.0.0.1:" + std::to_string(next_hop_port) + "\""}));
        const bool up = test::eventually(
            [this] {
                // Addressed to the proxy itself (uri == myself), which answers it.
                std::string probe = options_request("kamailio-up");
                probe.replace(0, probe.find(" SIP/2.0"),
                              "OPTIONS sip:127.0.0.1:" + std::to_string(port));
                const auto r = udp_exchange(port, probe, std::chrono::milliseconds(200));
                return r && sip_status(*r) == 200;
            },
            std::chrono::seconds(20), std::chrono::milliseconds(100));
        if (!up) {
            proc->send_signal(SIGTERM);
            (void)proc->wait(std::chrono::seconds(5));  // drains its output for the message
        }
        INFO(proc->stderr_text());
        REQUIRE(up);
    }
    ~kamailio_proxy()
    {
        if (proc) {
            proc->send_signal(SIGTERM);
            (void)proc->wait(std::chrono::seconds(10));
        }
    }
    kamailio_proxy(const kamailio_proxy&) = delete;
    kamailio_proxy& operator=(const kamailio_proxy&) = delete;
};

}  // namespace

TEST_CASE("SIPp: a signing INVITE gets a 302 whose Identity verifies independently, attest A",
          "[integration][sip]")
{
    for (const std::string transport : {"u1", "t1"}) {
        INFO(transport);
        const auto run = run_sipp(
            "invite_sign.xml",
            {"-s", called, "-key", "from_user", caller, "-key", "to_user", called}, transport);
        INFO(run.output);
        REQUIRE(run.exit_code == 0);
        const std::string res = received_response(run.messages, 302);
        INFO(res);
        REQUIRE_FALSE(res.empty());
        CHECK(sip_header(res, "Contact") ==
              "<sip:" + called + "@127.0.0.1:" + std::to_string(gateway().port()) + ";user=phone>");
        const auto identities = sip_headers(res, "Identity");
        REQUIRE(identities.size() == 1);
        CHECK_THAT(identities[0],
                   Catch::EndsWith(";info=<https://certs.example.test/sti/orig-sp-1234.pem>;"
                                   "alg=ES256;ppt=shaken"));
        const std::string jws = identities[0].substr(0, identities[0].find(';'));
        // PyJWT shares no code with the gateway.
        CHECK(test::pyjwt_verifies(jws, vector_path("pki/orig-sp-1234.pub.pem")));
        CHECK_FALSE(test::pyjwt_verifies(jws, vector_path("pki/div-sp-5678.pub.pem")));
        auto p = core::decode_passport(jws);
        REQUIRE(p);
        CHECK(p->claims.attest == core::attestation::A);
        CHECK(p->claims.orig == core::passport_identity::tn("13105550100"));
        CHECK(p->claims.dest.tn == std::vector<std::string>{"14155550101"});
        CHECK(p->claims.origid == "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55");
        CHECK(p->claims.iat == test::vectors_verify_at);

        // The same Identity, sent back to the SIP face, verifies (x5u fetched over HTTPS).
        const auto back = run_sipp(
            "invite_verify.xml",
            {"-s", called, "-key", "from_user", caller, "-key", "to_user", called, "-key",
             "sip_date", "Thu, 01 Jan 2026 00:00:05 GMT", "-key", "identity", identities[0]},
            transport);
        REQUIRE(back.exit_code == 0);
        const std::string verdict = received_response(back.messages, 302);
        CHECK(sip_header(verdict, "X-Twilio-VerStat") == "TN-Validation-Passed-A");
    }
}

TEST_CASE("SIPp: verification INVITEs get the vectors' verstat and X-Twilio-VerStat",
          "[integration][sip]")
{
    struct verdict_case {
        const char* file;
        const char* verstat;
        const char* twilio;
        const char* reason;  // "" when none
    };
    const auto c = GENERATE(
        verdict_case{"G1_shaken_A.json", "TN-Validation-Passed", "TN-Validation-Passed-A", ""},
        verdict_case{"B1_bad_signature.json", "TN-Validation-Failed", "TN-Validation-Failed-A",
                     "STIR;cause=438;text=\"Invalid Identity Header\""},
        verdict_case{"B2_stale_iat.json", "TN-Validation-Failed", "No-TN-Validation",
                     "STIR;cause=403;text=\"Stale Date\""},
        verdict_case{"G4_shaken_plus_div.json", "TN-Validation-Passed",
                     "TN-Validation-Passed-A-Diverted", ""});
    INFO(c.file);
    const auto doc = test::load_vector_json(std::string("cases/") + c.file);
    const std::string date = doc["sip"]["date"].GetString();
    const auto identities = vector_identities(c.file);
    const bool diverted = identities.size() == 2;
    // A diverted call's Request-URI is the DIV's dest; To still shows the number dialled.
    const std::string ruri_user = diverted ? "+16505550102" : called;
    std::vector<std::string> args{"-s",   ruri_user, "-key",     "from_user",  caller,
                                  "-key", "to_user", called,     "-key",       "sip_date",
                                  date,   "-key",    "identity", identities[0]};
    if (diverted) {
        args.push_back("-key");
        args.push_back("identity_div");
        args.push_back(identities[1]);
    }
    // UDP for the single PASSporTs, TCP for the chain (two Identity headers: a longer message).
    const auto run = run_sipp(diverted ? "invite_verify_div.xml" : "invite_verify.xml", args,
                              diverted ? "t1" : "u1");
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const std::string res = received_response(run.messages, 302);
    INFO(res);
    CHECK(sip_header(res, "Contact") == "<sip:" + ruri_user + ";verstat=" + c.verstat +
                                            "@127.0.0.1:" + std::to_string(gateway().port()) +
                                            ";user=phone>");
    CHECK(sip_header(res, "X-Twilio-VerStat") == c.twilio);
    CHECK(sip_headers(res, "Identity") == identities);
    CHECK(sip_header(res, "Reason") == c.reason);
}

TEST_CASE("SIPp: a passthrough peer's PASSporTs get the -Passthrough X-Twilio-VerStat values",
          "[integration][sip]")
{
    struct relayed_case {
        const char* file;
        const char* twilio;
    };
    const auto c =
        GENERATE(relayed_case{"G1_shaken_A.json", "TN-Validation-Passed-A-Passthrough"},
                 relayed_case{"B1_bad_signature.json", "TN-Validation-Failed-A-Passthrough"});
    INFO(c.file);
    const auto identities = vector_identities(c.file);
    const auto run = run_sipp(
        "invite_verify.xml",
        {"-s", called, "-key", "from_user", caller, "-key", "to_user", called, "-key", "sip_date",
         "Thu, 01 Jan 2026 00:00:00 GMT", "-key", "identity", identities.at(0)},
        "u1", "127.0.0.4");
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const std::string res = received_response(run.messages, 302);
    INFO(res);
    CHECK(sip_header(res, "X-Twilio-VerStat") == c.twilio);
    CHECK(sip_headers(res, "Identity") == identities);  // passed through unchanged
}

TEST_CASE("SIPp: OPTIONS is answered 200 over UDP and TCP; a source outside the peers gets 403",
          "[integration][sip]")
{
    for (const std::string transport : {"u1", "t1"}) {
        const auto ok = run_sipp("options.xml", {}, transport);
        INFO(ok.output);
        CHECK(ok.exit_code == 0);
        // 127.0.0.2 is loopback too, but the peer list only has 127.0.0.1/32.
        const auto refused = run_sipp("options_forbidden.xml", {}, transport, "127.0.0.2");
        INFO(refused.output);
        CHECK(refused.exit_code == 0);
    }
    const auto stranger = udp_exchange(gateway().port(), options_request("stranger"),
                                       std::chrono::seconds(5), "127.0.0.2");
    REQUIRE(stranger);
    CHECK(stranger->rfind("SIP/2.0 403 Forbidden\r\n", 0) == 0);
}

TEST_CASE("garbage and oversized messages get 400, 513 or nothing, and the face keeps answering",
          "[integration][sip]")
{
    const std::uint16_t port = gateway().port();
    SECTION("UDP")
    {
        CHECK_FALSE(udp_exchange(port, "\x16\x03\x01 not sip at all\r\n\r\n",
                                 std::chrono::milliseconds(300)));
        const std::string broken =
            "INVITE sip:+14155550101@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;"
            "branch=z9hG4bK-broken\r\nFrom: nonsense\r\nCSeq: x\r\nCall-ID: broken\r\n\r\n";
        const auto bad = udp_exchange(port, broken, std::chrono::seconds(5));
        REQUIRE(bad);
        CHECK(sip_status(*bad) == 400);
        std::string big = options_request("big");
        big.insert(big.find("Content-Length"), "X-Pad: " + std::string(9000, 'p') + "\r\n");
        const auto large = udp_exchange(port, big, std::chrono::seconds(5));
        REQUIRE(large);
        CHECK(large->rfind("SIP/2.0 513 Message Too Large\r\n", 0) == 0);
        CHECK(sip_header(*large, "Call-ID") == "big");
        CHECK(answers_options(port));
    }
    SECTION("TCP: pipelined requests, a keep-alive ping, then garbage closes the connection")
    {
        test::raw_connection c(port);
        REQUIRE(c.send_all(options_request("one", "TCP") + "\r\n\r\n" +
                           options_request("two", "TCP") + "GET / HTTP/1.1\r\n\r\n"));
        const auto got = c.read_to_eof(std::chrono::seconds(5));
        CHECK(got.closed);
        CHECK(got.bytes.find("Call-ID: one\r\n") != std::string::npos);
        CHECK(got.bytes.find("Call-ID: two\r\n") != std::string::npos);
        // The pong: one CRLF between the two responses (RFC 5626 section 4.4.1).
        CHECK(got.bytes.find("\r\n\r\n\r\nSIP/2.0 200 OK") != std::string::npos);
        CHECK(answers_options(port));
    }
    SECTION(
        "TCP: a connection idle past tcp_idle_timeout, or a message slower than "
        "tcp_read_timeout, is closed")
    {
        using clock = std::chrono::steady_clock;
        test::raw_connection idle(port);
        REQUIRE(idle.send_all(options_request("idle", "TCP")));
        test::raw_connection slow(port);
        REQUIRE(slow.send_all("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP "));
        const auto t0 = clock::now();
        const auto slow_got = slow.read_to_eof(std::chrono::seconds(8));
        const auto slow_after = clock::now() - t0;
        CHECK(slow_got.closed);
        CHECK(slow_got.bytes.empty());  // half a request gets no answer
        CHECK(slow_after >= std::chrono::milliseconds(1500));
        CHECK(slow_after <= std::chrono::milliseconds(5000));
        const auto idle_got = idle.read_to_eof(std::chrono::seconds(8));
        const auto idle_after = clock::now() - t0;
        CHECK(idle_got.closed);
        CHECK(sip_status(idle_got.bytes) == 200);  // answered, then idle until closed
        CHECK(idle_after >= std::chrono::milliseconds(2500));
        CHECK(idle_after <= std::chrono::milliseconds(6500));
        CHECK(answers_options(port));
    }
    SECTION("TCP: a header block or Content-Length past the limit is 513, then closed")
    {
        test::raw_connection c(port);
        std::string big = options_request("big-tcp", "TCP");
        big.insert(big.find("Content-Length"), "X-Pad: " + std::string(9000, 'p') + "\r\n");
        REQUIRE(c.send_all(big));
        const auto got = c.read_to_eof(std::chrono::seconds(5));
        CHECK(got.closed);
        CHECK(got.bytes.rfind("SIP/2.0 513 Message Too Large\r\n", 0) == 0);

        test::raw_connection d(port);
        std::string declared = options_request("declared", "TCP");
        declared.replace(declared.find("Content-Length: 0"), 17, "Content-Length: 100000");
        REQUIRE(d.send_all(declared));
        const auto got2 = d.read_to_eof(std::chrono::seconds(5));
        CHECK(got2.closed);
        CHECK(sip_status(got2.bytes) == 513);
        CHECK(answers_options(port));
    }
    SECTION("a flood from one source is cut at rate_per_source; others are still answered")
    {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, "127.0.0.3", &local.sin_addr);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        // 400 datagrams over about 100 ms: 200 a second with a burst of 200 (the defaults)
        // admits about 220; the rest are dropped unanswered by the limiter (counted below, so
        // a kernel that lost datagrams instead cannot pass for it).
        const int sent = 400;
        for (int i = 0; i < sent; ++i) {
            const std::string m = options_request("flood-" + std::to_string(i));
            ::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
            if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        int answered = 0;
        std::string buf(65536, '\0');
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 1000) == 1 && ::recv(fd, buf.data(), buf.size(), 0) > 0) ++answered;
        ::close(fd);
        CHECK(answered >= 150);  // 403s: 127.0.0.3 is no peer
        CHECK(answered <= 260);
        CHECK(answers_options(port));
        const auto metrics =
            gateway().gw->exchange("GET /metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n");
        INFO(metrics.body);
        CHECK_THAT(metrics.body, Catch::Contains("stirgate_sip_requests_total{method=\"OPTIONS\","
                                                 "status=\"403\"}"));
        const auto at = metrics.body.find("stirgate_sip_dropped_total{reason=\"rate\"} ");
        REQUIRE(at != std::string::npos);
        CHECK(std::stod(metrics.body.substr(at + 42)) >= 100);
        CHECK(std::stod(metrics.body.substr(at + 42)) + answered <= sent);
    }
}

namespace {

// One call through the proxy: the UAS scenario listens on uas_port, the UAC scenario calls the
// proxy with `args`. Both must end well (the UAS's eregs are its checks); returns the INVITE the
// UAS received.
std::string proxied_call(const kamailio_proxy& proxy, std::uint16_t uas_port,
                         const std::string& uas_scenario, const std::string& uac_scenario,
                         const std::vector<std::string>& args)
{
    const std::string uas_log = sipp_log(uas_scenario);
    auto uas = start_sipp(uas_scenario, {"-p", std::to_string(uas_port)}, uas_log, "");
    const std::string uac_log = sipp_log(uac_scenario);
    auto uac = start_sipp(uac_scenario, args, uac_log, "127.0.0.1:" + std::to_string(proxy.port));
    const auto uac_run = finish(uac, uac_log);
    const auto uas_run = finish(uas, uas_log);
    INFO(uac_run.output);
    INFO(uas_run.output);
    INFO(proxy.proc->stderr_text());
    CHECK(uac_run.exit_code == 0);
    REQUIRE(uas_run.exit_code == 0);
    return received_message(uas_run.messages, "INVITE ");
}

}  // namespace

TEST_CASE(
    "Kamailio (deploy/kamailio) follows the 302s: the UAS behind it receives the Identity "
    "stirgate signed, or the verdict on a call that carried one",
    "[integration][sip][kamailio]")
{
    const std::uint16_t uas_port = free_udp_port();
    const kamailio_proxy proxy(uas_port);
    const std::vector<std::string> call{"-s",   called, "-key",    "from_user",
                                        caller, "-key", "to_user", called};

    SECTION("outbound: signed on the way out")
    {
        const std::string invite = proxied_call(proxy, uas_port, "uas_expect_identity.xml",
                                                "invite_sign_proxied.xml", call);
        INFO(invite);
        const auto identities = sip_headers(invite, "Identity");
        REQUIRE(identities.size() == 1);
        const std::string jws = identities[0].substr(0, identities[0].find(';'));
        CHECK(test::pyjwt_verifies(jws, vector_path("pki/orig-sp-1234.pub.pem")));
        auto p = core::decode_passport(jws);
        REQUIRE(p);
        CHECK(p->claims.attest == core::attestation::A);
        CHECK(p->claims.orig == core::passport_identity::tn("13105550100"));
        CHECK(sip_header(invite, "X-Twilio-VerStat").empty());
    }
    SECTION("inbound: verified on the way in")
    {
        const auto identity = vector_identities("G1_shaken_A.json").at(0);
        std::vector<std::string> args = call;
        args.insert(args.end(), {"-key", "sip_date", "Thu, 01 Jan 2026 00:00:00 GMT", "-key",
                                 "identity", identity});
        const std::string invite = proxied_call(proxy, uas_port, "uas_expect_verstat.xml",
                                                "invite_verify_proxied.xml", args);
        INFO(invite);
        CHECK(invite.rfind("INVITE sip:" + called + ";verstat=TN-Validation-Passed@", 0) == 0);
        CHECK(sip_header(invite, "X-Twilio-VerStat") == "TN-Validation-Passed-A");
        CHECK(sip_headers(invite, "Identity") == std::vector<std::string>{identity});
    }
}
