#include "core/crypto.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "support/vectors.hpp"

using stirgate::errc;
using namespace stirgate::core;
using stirgate::test::read_vector;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s)
{
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A P-384 key (generated with the openssl CLI): valid EC, wrong curve for ES256.
constexpr std::string_view p384_public_pem = R"(-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEps8UUtZ8KLXy2iLIQ14Ip2o5DZnsrDiH
Y/Vh0JzUpjXjr8xxsq6gQ/ANB7mpoNu9eU7uoxbb/BCBEI5+o2KS5xfW2UK28UJ3
cD24YmMPBeI2JYQp3YFaK5RffgLcDidk
-----END PUBLIC KEY-----
)";

}  // namespace

TEST_CASE("an ES256 signature made by a generated key verifies and a changed message does not",
          "[core]")
{
    auto key = es256_private_key::generate();
    REQUIRE(key);
    auto sig = key->sign("hello");
    REQUIRE(sig);
    const auto pub = key->public_key();
    REQUIRE(pub);
    CHECK(pub.verify("hello", *sig));
    auto bad = pub.verify("hellO", *sig);
    REQUIRE_FALSE(bad);
    CHECK(bad.code() == errc::jws_signature_invalid);

    auto flipped = *sig;
    flipped[63] ^= 1;
    CHECK(pub.verify("hello", flipped).code() == errc::jws_signature_invalid);
    es256_signature zeros{};
    CHECK(pub.verify("hello", zeros).code() == errc::jws_signature_invalid);
}

TEST_CASE("ES256 keys survive a PEM round trip", "[core]")
{
    auto key = es256_private_key::generate();
    REQUIRE(key);
    const auto priv_pem = key->to_pem();
    CHECK(priv_pem.find("-----BEGIN PRIVATE KEY-----") == 0);
    const auto pub_pem = key->public_key().to_pem();
    CHECK(pub_pem.find("-----BEGIN PUBLIC KEY-----") == 0);

    auto key2 = es256_private_key::from_pem(priv_pem);
    REQUIRE(key2);
    auto pub2 = es256_public_key::from_pem(pub_pem);
    REQUIRE(pub2);
    auto sig = key2->sign("data");
    REQUIRE(sig);
    CHECK(pub2->verify("data", *sig));
}

TEST_CASE("vector keys load from key, public key and certificate PEM files", "[core]")
{
    auto priv = es256_private_key::from_pem(read_vector("pki/orig-sp-1234.key.pem"));
    REQUIRE(priv);
    auto pub = es256_public_key::from_pem(read_vector("pki/orig-sp-1234.pub.pem"));
    REQUIRE(pub);
    auto cert = es256_public_key::from_pem(read_vector("pki/orig-sp-1234.cert.pem"));
    REQUIRE(cert);
    CHECK(pub->to_pem() == cert->to_pem());
    CHECK(priv->public_key().to_pem() == pub->to_pem());

    auto sig = priv->sign("x");
    REQUIRE(sig);
    CHECK(cert->verify("x", *sig));
    auto other = es256_public_key::from_pem(read_vector("pki/div-sp-5678.pub.pem"));
    REQUIRE(other);
    CHECK(other->verify("x", *sig).code() == errc::jws_signature_invalid);
}

TEST_CASE("keys that are not P-256 or not PEM are rejected as key_invalid", "[core]")
{
    CHECK(es256_public_key::from_pem(p384_public_pem).code() == errc::key_invalid);
    CHECK(es256_public_key::from_pem("not a pem").code() == errc::key_invalid);
    CHECK(es256_public_key::from_pem("").code() == errc::key_invalid);
    CHECK(es256_private_key::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
              .code() == errc::key_invalid);
    auto r = es256_public_key::from_pem(p384_public_pem);
    REQUIRE_FALSE(r);
    CHECK(r.err().detail.find("P-256") != std::string::npos);
}

TEST_CASE("an empty key refuses to verify or sign", "[core]")
{
    es256_public_key pub;
    CHECK_FALSE(pub);
    CHECK(pub.verify("x", es256_signature{}).code() == errc::key_invalid);
    es256_private_key priv;
    CHECK(priv.sign("x").code() == errc::key_invalid);
}

TEST_CASE("raw R||S and DER ECDSA signatures convert both ways", "[core]")
{
    auto key = es256_private_key::generate();
    REQUIRE(key);
    for (int i = 0; i < 20; ++i) {
        auto sig = key->sign("message " + std::to_string(i));
        REQUIRE(sig);
        auto der = raw_to_der_signature(*sig);
        REQUIRE(der);
        CHECK(static_cast<unsigned char>((*der)[0]) == 0x30);
        auto raw = der_to_raw_signature(bytes(*der));
        REQUIRE(raw);
        CHECK(*raw == *sig);
    }

    SECTION("small r and s are left-padded to 32 bytes")
    {
        es256_signature small{};
        small[31] = 1;
        small[63] = 2;
        auto der = raw_to_der_signature(small);
        REQUIRE(der);
        CHECK(*der == std::string("\x30\x06\x02\x01\x01\x02\x01\x02", 8));
        auto raw = der_to_raw_signature(bytes(*der));
        REQUIRE(raw);
        CHECK(*raw == small);
    }
    SECTION("high-bit values get a leading zero in DER")
    {
        es256_signature high{};
        high.fill(0xff);
        auto der = raw_to_der_signature(high);
        REQUIRE(der);
        CHECK(der->size() == 2 + 2 * (2 + 33));
        auto raw = der_to_raw_signature(bytes(*der));
        REQUIRE(raw);
        CHECK(*raw == high);
    }
}

TEST_CASE("raw_to_der_signature writes what OpenSSL's i2d_ECDSA_SIG writes", "[core]")
{
    // The encoder is hand-written (no BIGNUM round trip per verify): compare it with OpenSSL's
    // on values with leading zero bytes, high bits, zero and all-ones.
    const auto openssl_der = [](const es256_signature& raw) {
        ECDSA_SIG* sig = ECDSA_SIG_new();
        ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
        unsigned char* der = nullptr;
        const int len = i2d_ECDSA_SIG(sig, &der);
        std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
        ECDSA_SIG_free(sig);
        return out;
    };
    std::vector<es256_signature> cases(6);
    cases[1].fill(0xff);
    cases[2].fill(0x01);
    cases[3][0] = 0x80;
    cases[3][63] = 0x7f;
    cases[4][1] = 0x80;  // one leading zero byte, then a high bit
    cases[4][33] = 0x01;
    for (std::size_t i = 0; i < 64; ++i) cases[5][i] = static_cast<std::uint8_t>(i * 37 + 11);
    for (const auto& raw : cases) {
        auto der = raw_to_der_signature(raw);
        REQUIRE(der);
        CHECK(*der == openssl_der(raw));
    }
}

TEST_CASE("one key signs and verifies from several threads at once", "[core]")
{
    // Keys share one prepared OpenSSL context per key; each call must work on its own copy.
    auto key = es256_private_key::generate();
    REQUIRE(key);
    const auto pub = key->public_key();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                const std::string msg = "thread " + std::to_string(t) + " message " + std::to_string(i);
                auto sig = key->sign(msg);
                if (!sig || !pub.verify(msg, *sig) || pub.verify(msg + "!", *sig)) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
}

TEST_CASE("malformed DER signatures are jws_signature_malformed", "[core]")
{
    auto key = es256_private_key::generate();
    REQUIRE(key);
    auto sig = key->sign("m");
    REQUIRE(sig);
    auto der = raw_to_der_signature(*sig);
    REQUIRE(der);

    const std::string bad = GENERATE_COPY(
        std::string(),                                   // empty
        std::string("\x30\x00", 2),                      // empty sequence
        std::string("\x30\x03\x02\x01\x01", 5),          // missing s
        std::string(64, 'A'),                            // raw bytes, not DER
        *der + std::string("\x00", 1),                   // trailing byte
        der->substr(0, der->size() - 1),                 // truncated
        // 33-byte r without the sign-padding byte: does not fit P-256
        std::string("\x30\x27\x02\x21\x01", 5) + std::string(32, '\x01') +
            std::string("\x02\x02\x00\x80", 4));
    CHECK(der_to_raw_signature(bytes(bad)).code() == stirgate::errc::jws_signature_malformed);
}

TEST_CASE("sha256 and hex match FIPS 180-2 test values", "[core]")
{
    CHECK(hex_lower(sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex_lower(sha256("")) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("hmac_sha1 matches RFC 2202 test cases", "[core]")
{
    CHECK(hex_lower(hmac_sha1("Jefe", "what do ya want for nothing?")) ==
          "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    CHECK(hex_lower(hmac_sha1(std::string(20, '\x0b'), "Hi There")) ==
          "b617318655057264e28bc0b6fb378c8ef146be00");
    CHECK(base64_encode(hmac_sha1("Jefe", "what do ya want for nothing?")) ==
          "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

TEST_CASE("standard base64 encodes with padding and decodes strictly", "[core]")
{
    const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\xfb\xff\xbf", "+/+/"},
        {"AC123:token", "QUMxMjM6dG9rZW4="},
    }));
    CHECK(base64_encode(plain) == encoded);
    auto back = base64_decode(encoded);
    REQUIRE(back);
    CHECK(*back == plain);
}

TEST_CASE("standard base64 decoding rejects bad characters and padding", "[core]")
{
    const std::string bad = GENERATE(as<std::string>{}, "Zg", "Zg=", "Z===", "Zm9v-_8=", "Zg==Zg==",
                                     "Zh==", "Zm9=", "Zm 9v", "=Zm9", "Zm=v");
    CHECK(base64_decode(bad).code() == errc::invalid_parameter);
}

TEST_CASE("constant_time_equal compares length and content", "[core]")
{
    CHECK(constant_time_equal("", ""));
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "abcd"));
    CHECK_FALSE(constant_time_equal("", "a"));
}
