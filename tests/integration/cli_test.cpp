// The command-line contract (DESIGN.md "Command line"), run against the real binary.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "support/process.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
using stirgate::test::child_process;

namespace {

struct run_result {
    int code = -1;
    std::string out;
    std::string err;
};

run_result run_stirgate(const std::vector<std::string>& args)
{
    auto child = child_process::spawn(STIRGATE_BINARY, args);
    const auto code = child.wait(std::chrono::seconds(30));
    REQUIRE(code.has_value());
    return {*code, child.stdout_text(), child.stderr_text()};
}

run_result run_shell(const std::string& script)
{
    auto child = child_process::spawn("/bin/sh", {"-c", script});
    const auto code = child.wait(std::chrono::seconds(30));
    REQUIRE(code.has_value());
    return {*code, child.stdout_text(), child.stderr_text()};
}

fs::path fresh_dir(const std::string& name)
{
    const fs::path dir = fs::temp_directory_path() /
                         ("stirgate-cli-" + name + "-" +
                          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::remove_all(dir);
    return dir;
}

std::string vector_identity(const std::string& case_file, std::size_t index = 0)
{
    const auto doc = stirgate::test::load_vector_json("cases/" + case_file);
    return doc["identity_headers"][static_cast<rapidjson::SizeType>(index)].GetString();
}

constexpr const char* verify_at = "1767225605";

}  // namespace

TEST_CASE("every verb answers --help with its usage and exit 0", "[integration][cli]")
{
    const std::vector<std::vector<std::string>> invocations = {
        {"--help"},
        {"init", "--help"},
        {"serve", "--help"},
        {"passport", "--help"},
        {"passport", "decode", "--help"},
        {"passport", "verify", "--help"},
        {"passport", "sign", "--help"},
        {"identity", "--help"},
        {"identity", "decode", "--help"},
        {"calltoken", "--help"},
        {"calltoken", "mint", "--help"},
    };
    for (const auto& args : invocations) {
        INFO(args.front() << (args.size() > 1 ? " " + args[1] : ""));
        const auto r = run_stirgate(args);
        CHECK(r.code == 0);
        CHECK(r.out.find("usage: stirgate") != std::string::npos);
    }
}

TEST_CASE("an unknown verb or option is a usage error with exit 2", "[integration][cli]")
{
    CHECK(run_stirgate({}).code == 2);
    CHECK(run_stirgate({"frobnicate"}).code == 2);
    CHECK(run_stirgate({"init"}).code == 2);  // --dir missing
    CHECK(run_stirgate({"serve"}).code == 2);  // --config missing
    CHECK(run_stirgate({"passport", "decode", "--bogus", "x", "y"}).code == 2);
    CHECK(run_stirgate({"passport", "sign", "--key"}).code == 2);
    CHECK(run_stirgate({"identity", "decode"}).code == 2);  // no input
}

TEST_CASE("init writes a config and development PKI and never overwrites", "[integration][cli]")
{
    const fs::path dir = fresh_dir("init") / "nested";
    const auto first = run_stirgate({"init", "--dir", dir.string(), "--listen", "127.0.0.1:18080"});
    REQUIRE(first.code == 0);
    for (const char* f : {"stirgate.toml", "keys/sti-root.pem", "keys/sti-roots.pem",
                          "keys/sti-root-key.pem", "keys/sti-cert.pem", "keys/sti-chain.pem",
                          "keys/sti-key.pem", "keys/platform-key.pem", "keys/platform-pub.pem"}) {
        INFO(f);
        CHECK(fs::exists(dir / f));
    }
    // Private keys are readable by the owner only.
    const auto perms = fs::status(dir / "keys/sti-key.pem").permissions();
    CHECK((perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);

    const std::string config = stirgate::test::read_file((dir / "stirgate.toml").string());
    CHECK(config.find("listen = \"127.0.0.1:18080\"") != std::string::npos);
    CHECK(config.find("[[accounts.numbers]]") != std::string::npos);

    // The STI certificate chains to the development root and carries TNAuthList and the
    // SHAKEN policy (checked with the openssl CLI, independently of our code).
    const auto verify = run_shell("openssl verify -CAfile '" + (dir / "keys/sti-roots.pem").string() +
                                  "' '" + (dir / "keys/sti-cert.pem").string() + "'");
    CHECK(verify.code == 0);
    const auto text = run_shell("openssl x509 -noout -text -in '" +
                                (dir / "keys/sti-cert.pem").string() + "'");
    CHECK(text.out.find("1.3.6.1.5.5.7.1.26") != std::string::npos);
    CHECK(text.out.find("2.16.840.1.114569.1.1.1") != std::string::npos);

    // The platform key pair matches.
    auto priv = stirgate::core::es256_private_key::from_pem(
        stirgate::test::read_file((dir / "keys/platform-key.pem").string()));
    REQUIRE(priv);
    CHECK(priv->public_key().to_pem() ==
          stirgate::test::read_file((dir / "keys/platform-pub.pem").string()));

    // A second run keeps every file byte for byte.
    const std::string key_before = stirgate::test::read_file((dir / "keys/sti-key.pem").string());
    const auto second = run_stirgate({"init", "--dir", dir.string()});
    CHECK(second.code == 0);
    CHECK(second.out.find("wrote") == std::string::npos);
    CHECK(stirgate::test::read_file((dir / "keys/sti-key.pem").string()) == key_before);
    CHECK(stirgate::test::read_file((dir / "stirgate.toml").string()) == config);
    fs::remove_all(dir.parent_path());
}

TEST_CASE("init completes a half-written folder without touching existing keys",
          "[integration][cli]")
{
    const fs::path dir = fresh_dir("partial");
    REQUIRE(run_stirgate({"init", "--dir", dir.string()}).code == 0);
    const std::string key = stirgate::test::read_file((dir / "keys/sti-key.pem").string());
    fs::remove(dir / "keys/sti-cert.pem");
    fs::remove(dir / "keys/sti-chain.pem");
    REQUIRE(run_stirgate({"init", "--dir", dir.string()}).code == 0);
    CHECK(stirgate::test::read_file((dir / "keys/sti-key.pem").string()) == key);
    // The re-issued certificate still belongs to the kept key and chains to the kept root.
    const auto verify = run_shell("openssl verify -CAfile '" + (dir / "keys/sti-roots.pem").string() +
                                  "' '" + (dir / "keys/sti-cert.pem").string() + "'");
    CHECK(verify.code == 0);
    auto priv = stirgate::core::es256_private_key::from_pem(key);
    auto pub = stirgate::core::es256_public_key::from_pem(
        stirgate::test::read_file((dir / "keys/sti-cert.pem").string()));
    REQUIRE(priv);
    REQUIRE(pub);
    CHECK(priv->public_key().to_pem() == pub->to_pem());
    fs::remove_all(dir);
}

TEST_CASE("passport sign output verifies with passport verify and the init PKI",
          "[integration][cli]")
{
    const fs::path dir = fresh_dir("sign");
    REQUIRE(run_stirgate({"init", "--dir", dir.string()}).code == 0);
    const auto keys = dir / "keys";
    const auto signed_ = run_stirgate({"passport", "sign", "--key", (keys / "sti-key.pem").string(),
                                       "--x5u", "https://certs.example.test/sti.pem", "--orig",
                                       "+1 (310) 555-0100", "--dest", "+14155550101,16505550102",
                                       "--attest", "B"});
    REQUIRE(signed_.code == 0);
    const std::string identity = signed_.out.substr(0, signed_.out.find('\n'));

    // The value is a well-formed Identity header with canonical claims.
    auto parsed = stirgate::core::parse_identity_header(identity);
    REQUIRE(parsed);
    CHECK(parsed->ppt == std::optional<std::string>("shaken"));
    CHECK(parsed->ppt_quoted);
    auto p = stirgate::core::decode_passport(parsed->token);
    REQUIRE(p);
    CHECK(p->claims.orig.value == "13105550100");
    CHECK(p->claims.dest.tn == std::vector<std::string>{"14155550101", "16505550102"});
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    CHECK(std::abs(p->claims.iat - now) < 30);

    const auto ok = run_stirgate({"passport", "verify", "--cert", (keys / "sti-chain.pem").string(),
                                  "--trust-anchors", (keys / "sti-roots.pem").string(),
                                  identity});
    CHECK(ok.code == 0);
    CHECK(ok.out.find("Result: VALID") != std::string::npos);

    // Too old at a later time: the rule that fails is named.
    const auto stale = run_stirgate({"passport", "verify", "--cert",
                                     (keys / "sti-chain.pem").string(), "--now",
                                     std::to_string(now + 3600), identity});
    CHECK(stale.code == 1);
    CHECK(stale.out.find("FAIL  iat fresh") != std::string::npos);

    // A div PASSporT, bare JWS output.
    const auto div = run_stirgate({"passport", "sign", "--key", (keys / "sti-key.pem").string(),
                                   "--x5u", "https://certs.example.test/sti.pem", "--ppt", "div",
                                   "--orig", "+13105550100", "--dest", "+16505550102", "--div",
                                   "+14155550101", "--iat", verify_at, "--jws"});
    REQUIRE(div.code == 0);
    auto d = stirgate::core::decode_passport(div.out.substr(0, div.out.find('\n')));
    REQUIRE(d);
    CHECK(d->header.ppt == stirgate::core::passport_type::div);
    REQUIRE(d->claims.div.has_value());
    CHECK(d->claims.div->value == "14155550101");
    CHECK_FALSE(d->claims.attest.has_value());

    // Missing required options are usage errors.
    CHECK(run_stirgate({"passport", "sign", "--key", (keys / "sti-key.pem").string(), "--x5u",
                        "https://x.test/a.pem", "--orig", "+13105550100", "--dest", "+14155550101"})
              .code == 2);  // shaken without --attest
    CHECK(run_stirgate({"passport", "sign", "--key", (keys / "sti-key.pem").string(), "--x5u",
                        "https://x.test/a.pem", "--orig", "alice", "--dest", "+14155550101",
                        "--attest", "A"})
              .code == 2);  // orig not a TN
    fs::remove_all(dir);
}

TEST_CASE("passport verify names each failed rule of the spec's broken vectors",
          "[integration][cli]")
{
    const std::string cert = stirgate::test::vector_path("pki/orig-sp-1234.chain.pem");
    const std::string anchors = stirgate::test::vector_path("pki/root-ca.cert.pem");
    struct row {
        const char* file;
        int code;
        const char* expected;
    };
    const row rows[] = {
        {"G1_shaken_A.json", 0, "Result: VALID"},
        {"G2_shaken_B_quoted_ppt.json", 0, "Result: VALID"},
        {"G5_noncanonical_json_valid_sig.json", 0, "Result: VALID"},
        {"B1_bad_signature.json", 1, "FAIL  ES256 signature"},
        {"B2_stale_iat.json", 1, "FAIL  iat fresh"},
        {"B5_ppt_param_header_mismatch.json", 1, "FAIL  ppt parameter equals header ppt"},
        {"B6_malformed_base64.json", 1, "FAIL  PASSporT decodes strictly"},
        {"B8_info_x5u_mismatch.json", 1, "FAIL  info equals x5u"},
        {"B13_alg_none.json", 1, "FAIL  PASSporT decodes strictly"},
        {"B14_iat_string.json", 1, "FAIL  PASSporT decodes strictly"},
        {"B15_der_signature.json", 1, "FAIL  PASSporT decodes strictly"},
        {"B19_future_iat.json", 1, "FAIL  iat not in the future"},
    };
    for (const auto& r : rows) {
        INFO(r.file);
        const auto res = run_stirgate({"passport", "verify", "--cert", cert, "--trust-anchors",
                                       anchors, "--now", verify_at, vector_identity(r.file)});
        CHECK(res.code == r.code);
        CHECK(res.out.find(r.expected) != std::string::npos);
    }
    // An untrusted signer: the chain rule fails.
    const auto rogue = run_stirgate(
        {"passport", "verify", "--cert", stirgate::test::vector_path("pki/rogue.chain.pem"),
         "--trust-anchors", anchors, "--now", verify_at, vector_identity("B9_untrusted_cert.json")});
    CHECK(rogue.code == 1);
    CHECK(rogue.out.find("FAIL  certificate chain trusted") != std::string::npos);
}

TEST_CASE("identity decode explains a header given as argument or on stdin", "[integration][cli]")
{
    const std::string g4_div = vector_identity("G4_shaken_plus_div.json", 1);
    const auto r = run_stirgate({"identity", "decode", "--now", verify_at, g4_div});
    CHECK(r.code == 0);
    CHECK(r.out.find("info: <https://certs.example.test/sti/div-sp-5678.pem>") != std::string::npos);
    CHECK(r.out.find("\"div\"") != std::string::npos);
    CHECK(r.out.find("5 s ago") != std::string::npos);

    // stdin, with the header name pasted in front.
    const auto piped = run_shell("printf 'Identity: %s\\n' '" + vector_identity("G1_shaken_A.json") +
                                 "' | '" STIRGATE_BINARY "' identity decode --now 1767225605 -");
    CHECK(piped.code == 0);
    CHECK(piped.out.find("\"attest\": \"A\"") != std::string::npos);

    // Compact form and garbage are reported, with exit 1.
    const auto compact = run_stirgate({"identity", "decode",
                                       vector_identity("B18_div_compact_form.json", 1)});
    CHECK(compact.code == 1);
    CHECK(compact.out.find("compact") != std::string::npos);
    const auto garbage = run_stirgate({"identity", "decode", "not;a=header"});
    CHECK(garbage.code == 1);
}

TEST_CASE("calltoken mint prints a CallToken that validates for its account and caller",
          "[integration][cli]")
{
    const fs::path dir = fresh_dir("calltoken");
    fs::create_directories(dir);
    const std::string g1 = vector_identity("G1_shaken_A.json");
    {
        std::ofstream(dir / "ids.txt") << g1 << "\n";
    }
    const auto r = run_stirgate(
        {"calltoken", "mint", "--key", stirgate::test::vector_path("pki/platform-calltoken.key.pem"),
         "--account", "AC0123456789abcdef0123456789abcdef", "--call-sid",
         "CAfedcba9876543210fedcba9876543210", "--from", "+13105550100", "--to", "+14155550101",
         "--identities", (dir / "ids.txt").string(), "--iat", verify_at});
    REQUIRE(r.code == 0);
    auto token = stirgate::core::decode_calltoken(r.out.substr(0, r.out.find('\n')));
    REQUIRE(token);
    CHECK(token->identity_header_tokens == std::vector<std::string>{g1});
    auto pub = stirgate::core::es256_public_key::from_pem(
        stirgate::test::read_vector("pki/platform-calltoken.pub.pem"));
    REQUIRE(pub);
    const std::vector<stirgate::core::es256_public_key> keys{*pub};
    CHECK(stirgate::core::validate_calltoken(*token, keys, "AC0123456789abcdef0123456789abcdef",
                                             "+13105550100", 1767225605, 3600));
    CHECK(run_stirgate({"calltoken", "mint", "--key", "x"}).code == 2);
    fs::remove_all(dir);
}

TEST_CASE("usage errors print the usage on stderr, nothing on stdout, and exit 2",
          "[integration][cli]")
{
    const std::vector<std::vector<std::string>> invocations = {
        {},
        {"frobnicate"},
        {"--bogus"},
        {"init", "--nope", "x"},
        {"serve", "--bogus", "x"},
        {"passport"},
        {"passport", "frob"},
        {"passport", "verify", "--bogus", "1", "x"},
        {"identity"},
        {"identity", "decode", "--bogus", "1", "x"},
        {"calltoken"},
        {"calltoken", "mint", "--what", "x"},
    };
    for (const auto& args : invocations) {
        std::string shown;
        for (const auto& a : args) shown += a + " ";
        INFO("stirgate " << shown);
        const auto r = run_stirgate(args);
        CHECK(r.code == 2);
        CHECK(r.err.find("usage: stirgate") != std::string::npos);
        CHECK(r.out.empty());
    }
}

TEST_CASE("passport verify reports every failed rule, not only the first", "[integration][cli]")
{
    const std::string cert = stirgate::test::vector_path("pki/orig-sp-1234.chain.pem");
    const auto count_fails = [](const std::string& out) {
        std::size_t n = 0;
        for (std::size_t at = out.find("  FAIL  "); at != std::string::npos;
             at = out.find("  FAIL  ", at + 1))
            ++n;
        return n;
    };

    // A wrong info URL and a stale iat on a good signature: both rules fail, the signature
    // still verifies.
    std::string g1 = vector_identity("G1_shaken_A.json");
    const auto info_at = g1.find(";info=<");
    REQUIRE(info_at != std::string::npos);
    g1.replace(info_at, g1.find('>', info_at) - info_at + 1, ";info=<https://other.example/x.pem>");
    const auto two = run_stirgate({"passport", "verify", "--cert", cert, "--now", "1767229205", g1});
    INFO(two.out);
    CHECK(two.code == 1);
    CHECK(two.out.find("FAIL  info equals x5u") != std::string::npos);
    CHECK(two.out.find("FAIL  iat fresh") != std::string::npos);
    CHECK(two.out.find("ok    ES256 signature over the received bytes") != std::string::npos);
    CHECK(count_fails(two.out) == 2);

    // iat as a string: the strict decode fails, yet the other rules are still checked.
    const auto typed = run_stirgate({"passport", "verify", "--cert", cert, "--now", verify_at,
                                     vector_identity("B14_iat_string.json")});
    INFO(typed.out);
    CHECK(typed.code == 1);
    CHECK(typed.out.find("FAIL  PASSporT decodes strictly") != std::string::npos);
    CHECK(typed.out.find("FAIL  iat is an integer") != std::string::npos);
    CHECK(typed.out.find("info equals x5u") != std::string::npos);
    CHECK(typed.out.find("ES256 signature over the received bytes") != std::string::npos);

    // Bad base64: the signature cannot even be checked, which is said, not skipped.
    const auto broken = run_stirgate({"passport", "verify", "--cert", cert, "--now", verify_at,
                                      vector_identity("B6_malformed_base64.json")});
    INFO(broken.out);
    CHECK(broken.code == 1);
    CHECK(count_fails(broken.out) >= 2);
    CHECK(broken.out.find("FAIL  ES256 signature over the received bytes") != std::string::npos);
}

TEST_CASE("identity decode prints the iat time skew, also for a token the strict decoder refuses",
          "[integration][cli]")
{
    const auto good = run_stirgate(
        {"identity", "decode", "--now", verify_at, vector_identity("G1_shaken_A.json")});
    INFO(good.out);
    CHECK(good.code == 0);
    CHECK(good.out.find("Identity parameters:") != std::string::npos);
    CHECK(good.out.find("JOSE header:") != std::string::npos);
    CHECK(good.out.find("Claims:") != std::string::npos);
    CHECK(good.out.find("Time skew: now - iat = 5 s (now 1767225605)") != std::string::npos);

    const auto alg_none = run_stirgate(
        {"identity", "decode", "--now", verify_at, vector_identity("B13_alg_none.json")});
    INFO(alg_none.out);
    CHECK(alg_none.code == 1);
    CHECK(alg_none.out.find("Time skew: now - iat = ") != std::string::npos);
    CHECK(alg_none.out.find("Strict decode: INVALID") != std::string::npos);

    const auto iat_string = run_stirgate(
        {"identity", "decode", "--now", verify_at, vector_identity("B14_iat_string.json")});
    INFO(iat_string.out);
    CHECK(iat_string.code == 1);
    CHECK(iat_string.out.find("iat: not an integer") != std::string::npos);
}
