#include "sti/trust_store.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "support/vectors.hpp"

namespace {

using stirgate::errc;
using stirgate::sti::trust_store;
using stirgate::test::read_vector;
using stirgate::test::vector_path;
using stirgate::test::vectors_verify_at;

constexpr std::int64_t y2045 = 2366841600;  // 2045-01-01T00:00:00Z: notAfter of every vector cert
constexpr std::int64_t y2025 = 1735689600;  // 2025-01-01T00:00:00Z: notBefore

// TEST-VECTORS.md section 2: the root is the only anchor; both CRLs are configured.
trust_store vectors_store()
{
    auto ts = trust_store::from_memory(
        read_vector("pki/root-ca.cert.pem"),
        {read_vector("pki/intermediate-ca.crl.pem"), read_vector("pki/root-ca.crl.pem")});
    REQUIRE(ts.has_value());
    return std::move(ts).value();
}

// DER of the first certificate of a PEM text.
std::string pem_to_der(const std::string& pem)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
    REQUIRE(cert);
    unsigned char* out = nullptr;
    const int len = i2d_X509(cert.get(), &out);
    REQUIRE(len > 0);
    std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
    OPENSSL_free(out);
    return der;
}

}  // namespace

TEST_CASE("each vector chain validates to its expected result", "[sti][trust_store]")
{
    const auto store = vectors_store();
    CHECK(store.anchor_count() == 1);
    CHECK(store.crl_count() == 2);

    SECTION("good signers give their key and SPC")
    {
        const auto [chain, spc] = GENERATE(table<const char*, const char*>({
            {"pki/orig-sp-1234.chain.pem", "1234"},
            {"pki/div-sp-5678.chain.pem", "5678"},
        }));
        CAPTURE(chain);
        const auto cert = store.verify_chain(read_vector(chain), vectors_verify_at);
        REQUIRE(cert.has_value());
        CHECK(cert->spc == spc);
        CHECK(cert->not_after == y2045);
        CHECK(cert->key);
    }
    SECTION("bad signers give their certificate error")
    {
        const auto [chain, code] = GENERATE(table<const char*, errc>({
            {"pki/revoked-sp-9999.chain.pem", errc::cert_revoked},
            {"pki/no-tnauthlist.chain.pem", errc::cert_no_tnauthlist},
            {"pki/rogue.chain.pem", errc::cert_untrusted},
        }));
        CAPTURE(chain);
        const auto cert = store.verify_chain(read_vector(chain), vectors_verify_at);
        REQUIRE_FALSE(cert.has_value());
        CHECK(cert.code() == code);
        CHECK_FALSE(cert.err().detail.empty());
    }
}

TEST_CASE("the leaf key of a validated chain verifies the vector PASSporT", "[sti][trust_store]")
{
    // G1: the leaf key from orig-sp-1234.chain.pem checks a signature made with its private key.
    const auto store = vectors_store();
    const auto cert = store.verify_chain(read_vector("pki/orig-sp-1234.chain.pem"),
                                         vectors_verify_at);
    REQUIRE(cert.has_value());
    const auto expected =
        stirgate::core::es256_public_key::from_pem(read_vector("pki/orig-sp-1234.pub.pem"));
    REQUIRE(expected.has_value());
    CHECK(cert->key.to_pem() == expected->to_pem());
}

TEST_CASE("revocation depends on the configured CRLs", "[sti][trust_store]")
{
    const auto anchors = read_vector("pki/root-ca.cert.pem");
    const auto revoked = read_vector("pki/revoked-sp-9999.chain.pem");

    SECTION("without CRLs nothing is checked for revocation")
    {
        auto store = trust_store::from_memory(anchors, {});
        REQUIRE(store.has_value());
        const auto cert = store->verify_chain(revoked, vectors_verify_at);
        REQUIRE(cert.has_value());
        CHECK(cert->spc == "9999");
    }
    SECTION("the DER form of the intermediate CRL revokes as the PEM form does")
    {
        auto store = trust_store::from_memory(
            anchors, {read_vector("pki/intermediate-ca.crl.der"), read_vector("pki/root-ca.crl.pem")});
        REQUIRE(store.has_value());
        CHECK(store->verify_chain(revoked, vectors_verify_at).code() == errc::cert_revoked);
        CHECK(store->verify_chain(read_vector("pki/orig-sp-1234.chain.pem"), vectors_verify_at)
                  .has_value());
    }
    SECTION("checking the whole chain needs the root's CRL too")
    {
        // CRL_CHECK_ALL: the intermediate is checked against a root CRL; without one the chain
        // cannot be shown unrevoked.
        auto store = trust_store::from_memory(anchors, {read_vector("pki/intermediate-ca.crl.pem")});
        REQUIRE(store.has_value());
        const auto cert =
            store->verify_chain(read_vector("pki/orig-sp-1234.chain.pem"), vectors_verify_at);
        REQUIRE_FALSE(cert.has_value());
        CHECK(cert.code() == errc::cert_untrusted);
    }
}

TEST_CASE("certificate validity is judged at the injected time", "[sti][trust_store]")
{
    const auto store = vectors_store();
    const auto chain = read_vector("pki/orig-sp-1234.chain.pem");

    CHECK(store.verify_chain(chain, y2045 - 1).has_value());
    SECTION("after notAfter (2045) the chain is expired, not merely the CRL")
    {
        const auto cert = store.verify_chain(chain, y2045 + 86400);
        REQUIRE_FALSE(cert.has_value());
        CHECK(cert.code() == errc::cert_expired);
    }
    SECTION("before notBefore the chain is not yet valid")
    {
        const auto cert = store.verify_chain(chain, y2025 - 86400);
        REQUIRE_FALSE(cert.has_value());
        CHECK(cert.code() == errc::cert_expired);
    }
    SECTION("without CRLs expiry is reported the same way")
    {
        auto plain = trust_store::from_memory(read_vector("pki/root-ca.cert.pem"), {});
        REQUIRE(plain.has_value());
        CHECK(plain->verify_chain(chain, y2045 + 86400).code() == errc::cert_expired);
    }
}

TEST_CASE("intermediates come only from the fetched chain", "[sti][trust_store]")
{
    const auto store = vectors_store();
    // The leaf alone: the intermediate is neither in the body nor an anchor.
    const auto cert =
        store.verify_chain(read_vector("pki/orig-sp-1234.cert.pem"), vectors_verify_at);
    REQUIRE_FALSE(cert.has_value());
    CHECK(cert.code() == errc::cert_untrusted);
}

TEST_CASE("a single DER certificate is accepted as an x5u body", "[sti][trust_store]")
{
    // The rogue signer is self-signed: trusting it directly makes a one-certificate chain.
    const auto rogue_pem = read_vector("pki/rogue.cert.pem");
    auto store = trust_store::from_memory(rogue_pem, {});
    REQUIRE(store.has_value());
    const auto der = pem_to_der(rogue_pem);
    const auto cert = store->verify_chain(der, vectors_verify_at);
    REQUIRE(cert.has_value());
    CHECK(cert->spc == "1234");

    SECTION("trailing bytes after the DER certificate are refused")
    {
        CHECK(store->verify_chain(der + "x", vectors_verify_at).code() == errc::x5u_fetch_failed);
    }
    SECTION("a truncated DER certificate is refused")
    {
        CHECK(store->verify_chain(der.substr(0, der.size() - 1), vectors_verify_at).code() ==
              errc::x5u_fetch_failed);
    }
}

TEST_CASE("an x5u body that is not a certificate fails the fetch", "[sti][trust_store]")
{
    const auto store = vectors_store();
    const auto good = read_vector("pki/orig-sp-1234.chain.pem");
    std::string corrupt = good;
    corrupt[corrupt.find("MII") + 10] = '!';  // inside the first base64 block
    std::string cut = good.substr(0, good.find("-----END CERTIFICATE-----"));

    const auto body = GENERATE_COPY(as<std::string>{},
        std::string{},
        std::string("hello"),
        std::string("<html><body>404 Not Found</body></html>"),
        std::string("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
        std::string("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
                    "-----END PUBLIC KEY-----\n"),
        std::string("\x30\x82\x01\x00\x00", 5),
        corrupt,
        cut);
    CAPTURE(body.size());
    const auto cert = store.verify_chain(body, vectors_verify_at);
    REQUIRE_FALSE(cert.has_value());
    CHECK(cert.code() == errc::x5u_fetch_failed);
}

TEST_CASE("a bad trust store configuration is refused at startup", "[sti][trust_store]")
{
    CHECK(trust_store::from_memory("not a certificate", {}).code() == errc::config_invalid);
    CHECK(trust_store::from_memory(read_vector("pki/root-ca.cert.pem"), {"garbage"}).code() ==
          errc::config_invalid);
    CHECK_THROWS_AS(trust_store::load(vector_path("pki/does-not-exist.pem"), {}),
                    std::runtime_error);
    CHECK_THROWS_AS(trust_store::load(vector_path("pki/root-ca.cert.pem"),
                                      {vector_path("pki/orig-sp-1234.key.pem")}),
                    std::runtime_error);

    const auto loaded = trust_store::load(
        vector_path("pki/root-ca.cert.pem"),
        {vector_path("pki/intermediate-ca.crl.pem"), vector_path("pki/root-ca.crl.pem")});
    CHECK(loaded.crl_count() == 2);
    CHECK(loaded.verify_chain(read_vector("pki/revoked-sp-9999.chain.pem"), vectors_verify_at)
              .code() == errc::cert_revoked);
}

TEST_CASE("an empty trust store trusts nothing", "[sti][trust_store]")
{
    const trust_store empty;
    CHECK(empty.verify_chain(read_vector("pki/orig-sp-1234.chain.pem"), vectors_verify_at).code() ==
          errc::cert_untrusted);
}

TEST_CASE("one trust store validates from several threads at once", "[sti][trust_store]")
{
    const auto store = vectors_store();
    const auto good = read_vector("pki/orig-sp-1234.chain.pem");
    const auto revoked = read_vector("pki/revoked-sp-9999.chain.pem");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) {
                if (!store.verify_chain(good, vectors_verify_at)) ++wrong;
                if (store.verify_chain(revoked, vectors_verify_at).code() != errc::cert_revoked) {
                    ++wrong;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
}
