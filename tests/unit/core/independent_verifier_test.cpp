// PASSporTs that stirgate signs must verify with tools that share none of its code: PyJWT (the
// library the vectors were checked with) and the openssl CLI over the signing input, with the
// signature turned into DER by our own converter. Both run as child processes.

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/crypto.hpp"
#include "core/jws.hpp"
#include "core/passport.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

using namespace stirgate::core;
namespace fs = std::filesystem;

namespace {

using stirgate::test::temp_dir;

// Exit status of a shell command (stdout/stderr discarded unless the command redirects them).
int run(const std::string& command)
{
    const int status = std::system(command.c_str());
    REQUIRE(status != -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The Debian interpreter carries python3-jwt; a pyenv shim earlier on PATH may not.
std::string python_with_jwt()
{
    for (const char* candidate : {"/usr/bin/python3", "python3"})
        if (run(std::string(candidate) + " -c 'import jwt' >/dev/null 2>&1") == 0) return candidate;
    FAIL("no python3 with PyJWT (Debian: python3-jwt)");
    return {};
}

int pyjwt_verify(const temp_dir& dir, std::string_view token, std::string_view public_pem,
                 std::string_view expected_orig_tn)
{
    static const std::string python = python_with_jwt();
    const auto tok = dir.write("token.txt", token);
    const auto key = dir.write("key.pem", public_pem);
    const std::string script =
        "import jwt, sys\n"
        "tok = open(sys.argv[1]).read(); key = open(sys.argv[2]).read()\n"
        "c = jwt.decode(tok, key, algorithms=['ES256'],"
        " options={'verify_aud': False, 'verify_iat': False})\n"
        "sys.exit(0 if c['orig']['tn'] == sys.argv[3] else 3)\n";
    const auto script_path = dir.write("verify.py", script);
    return run(python + " " + script_path + " " + tok + " " + key + " " + std::string(expected_orig_tn) +
               " >/dev/null 2>&1");
}

int openssl_verify(const temp_dir& dir, const decoded_jws& jws, std::string_view public_pem)
{
    auto der = raw_to_der_signature(jws.signature);
    REQUIRE(der);
    const auto input = dir.write("input.txt", jws.signing_input);
    const auto sig = dir.write("sig.der", *der);
    const auto key = dir.write("pub.pem", public_pem);
    return run("openssl dgst -sha256 -verify " + key + " -signature " + sig + " " + input +
               " >/dev/null 2>&1");
}

passport_claims shaken_claims()
{
    passport_claims c;
    c.iat = 1767225600;
    c.orig = passport_identity::tn("13105550100");
    c.dest.tn = {"14155550101"};
    c.attest = attestation::B;
    c.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    return c;
}

}  // namespace

TEST_CASE("a SHAKEN PASSporT signed by stirgate verifies with PyJWT and the openssl CLI",
          "[core][independent]")
{
    auto key = es256_private_key::generate();
    REQUIRE(key);
    const auto public_pem = key->public_key().to_pem();
    auto token = sign_passport(shaken_claims(), passport_type::shaken,
                               "https://certs.example.test/sti/orig-sp-1234.pem", *key);
    REQUIRE(token);
    auto jws = decode_jws(*token);
    REQUIRE(jws);
    temp_dir dir;

    CHECK(pyjwt_verify(dir, *token, public_pem, "13105550100") == 0);
    CHECK(openssl_verify(dir, *jws, public_pem) == 0);

    SECTION("both tools refuse a flipped signature byte")
    {
        auto bad = *jws;
        bad.signature[10] ^= 0x40;
        CHECK(openssl_verify(dir, bad, public_pem) != 0);
        auto bad_token = *token;
        const auto last = bad_token.rfind('.');
        bad_token[last + 5] = bad_token[last + 5] == 'A' ? 'B' : 'A';
        CHECK(pyjwt_verify(dir, bad_token, public_pem, "13105550100") != 0);
    }
    SECTION("both tools refuse another key")
    {
        auto other = es256_private_key::generate();
        REQUIRE(other);
        const auto other_pem = other->public_key().to_pem();
        CHECK(pyjwt_verify(dir, *token, other_pem, "13105550100") != 0);
        CHECK(openssl_verify(dir, *jws, other_pem) != 0);
    }
}

TEST_CASE("a DIV PASSporT signed with the vector key verifies with PyJWT and the openssl CLI",
          "[core][independent]")
{
    using stirgate::test::read_vector;
    auto key = es256_private_key::from_pem(read_vector("pki/div-sp-5678.key.pem"));
    REQUIRE(key);
    const auto public_pem = read_vector("pki/div-sp-5678.pub.pem");
    passport_claims c;
    c.iat = 1767225600;
    c.orig = passport_identity::tn("13105550100");
    c.dest.tn = {"16505550102"};
    c.div = passport_identity::tn("14155550101");
    auto token = sign_passport(c, passport_type::div, "https://certs.example.test/sti/div-sp-5678.pem", *key);
    REQUIRE(token);
    auto jws = decode_jws(*token);
    REQUIRE(jws);
    temp_dir dir;
    CHECK(pyjwt_verify(dir, *token, public_pem, "13105550100") == 0);
    CHECK(openssl_verify(dir, *jws, public_pem) == 0);
}

TEST_CASE("many stirgate signatures convert to DER that the openssl CLI accepts",
          "[core][independent]")
{
    // Exercises short r/s values (leading zero bytes) in raw_to_der_signature now and then.
    auto key = es256_private_key::generate();
    REQUIRE(key);
    const auto public_pem = key->public_key().to_pem();
    temp_dir dir;
    for (int i = 0; i < 8; ++i) {
        auto token = sign_jws(R"({"alg":"ES256"})", "{\"n\":" + std::to_string(i) + "}", *key);
        REQUIRE(token);
        auto jws = decode_jws(*token);
        REQUIRE(jws);
        CHECK(openssl_verify(dir, *jws, public_pem) == 0);
    }
}

TEST_CASE("the G1 vector verifies with the openssl CLI after our raw-to-DER conversion",
          "[core][independent]")
{
    using stirgate::test::load_vector_json;
    using stirgate::test::read_vector;
    const auto doc = load_vector_json("cases/G1_shaken_A.json");
    auto jws = decode_jws(doc["passports"][0]["jws"].GetString());
    REQUIRE(jws);
    temp_dir dir;
    CHECK(openssl_verify(dir, *jws, read_vector("pki/orig-sp-1234.pub.pem")) == 0);
}
