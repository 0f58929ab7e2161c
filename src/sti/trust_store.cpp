#include "sti/trust_store.hpp"

#include "core/openssl_ptr.hpp"

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/tnauthlist.hpp"

namespace stirgate::sti {
namespace {

// RFC 8226 section 9: id-pe-TNAuthList.
constexpr const char* tnauthlist_oid = "1.3.6.1.5.5.7.1.26";

// An x5u body is a leaf plus a few intermediates; anything longer is not a SHAKEN chain and
// would only make a hostile repository cost us more work.
constexpr std::size_t max_chain_certs = 8;

using core::bio_ptr;
using core::x509_ptr;
using crl_ptr = core::x509_crl_ptr;
// sk_X509_free is a macro, so it gets a deleter of its own. The stack only borrows the
// certificates owned by the chain vector.
struct x509_stack_free {
    void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }
};
using x509_stack_ptr = std::unique_ptr<STACK_OF(X509), x509_stack_free>;

// Certificates and CRLs are never encrypted; refusing a passphrase keeps OpenSSL from
// prompting on the terminal if a hostile body claims to be.
int no_passphrase(char*, int, int, void*) { return 0; }

std::string openssl_reason()
{
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e ? ERR_reason_error_string(e) : nullptr;
    std::string out = reason ? reason : (e ? "unknown OpenSSL error" : "no OpenSSL error");
    ERR_clear_error();
    return out;
}

bool looks_like_pem(std::string_view bytes)
{
    return bytes.find("-----BEGIN ") != std::string_view::npos;
}

bio_ptr memory_bio(std::string_view bytes)
{
    // BIO_new_mem_buf takes an int length; the callers' inputs are capped far below that.
    return bio_ptr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// After a PEM_read_bio_* loop returns null: true when that was the normal end of input
// ("no start line") rather than a corrupt block.
bool pem_loop_ended_cleanly()
{
    const unsigned long e = ERR_peek_last_error();
    const bool clean = e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
                                  ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
    if (clean) ERR_clear_error();
    return clean;
}

// Every certificate of a PEM text, or the single certificate of a DER blob.
result<std::vector<x509_ptr>> parse_certificates(std::string_view bytes, errc on_error,
                                                 std::size_t max_count)
{
    ERR_clear_error();
    std::vector<x509_ptr> out;
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) return error{on_error, "too large"};
    if (looks_like_pem(bytes)) {
        auto bio = memory_bio(bytes);
        if (!bio) return error{on_error, openssl_reason()};
        while (x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
            out.push_back(std::move(cert));
            if (out.size() > max_count) return error{on_error, "too many certificates"};
        }
        if (!pem_loop_ended_cleanly()) {
            return error{on_error, "corrupt PEM certificate: " + openssl_reason()};
        }
    } else {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        const auto* const end = p + bytes.size();
        x509_ptr cert{d2i_X509(nullptr, &p, static_cast<long>(bytes.size()))};
        if (!cert) return error{on_error, "not a certificate: " + openssl_reason()};
        if (p != end) return error{on_error, "trailing bytes after the DER certificate"};
        out.push_back(std::move(cert));
    }
    if (out.empty()) return error{on_error, "no certificate found"};
    return out;
}

result<std::vector<crl_ptr>> parse_crls(std::string_view bytes)
{
    ERR_clear_error();
    std::vector<crl_ptr> out;
    if (looks_like_pem(bytes)) {
        auto bio = memory_bio(bytes);
        if (!bio) return error{errc::config_invalid, openssl_reason()};
        while (crl_ptr crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, no_passphrase, nullptr)}) {
            out.push_back(std::move(crl));
        }
        if (!pem_loop_ended_cleanly()) {
            return error{errc::config_invalid, "corrupt PEM CRL: " + openssl_reason()};
        }
    } else {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        const auto* const end = p + bytes.size();
        crl_ptr crl{d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size()))};
        if (!crl) return error{errc::config_invalid, "not a CRL: " + openssl_reason()};
        if (p != end) return error{errc::config_invalid, "trailing bytes after the DER CRL"};
        out.push_back(std::move(crl));
    }
    if (out.empty()) return error{errc::config_invalid, "no CRL found"};
    return out;
}

std::string read_whole_file(const std::string& path, const char* what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot read ") + what + " file " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Per-validation state reached from the verify callback through the context's app data.
struct verify_state {
    int stale_crl = X509_V_OK;
};

// A CRL past its nextUpdate still fails the validation (see verify_chain), but only after
// OpenSSL has checked the certificates' own dates: a chain that is itself expired then
// reports cert_expired rather than an equally stale CRL.
int verify_callback(int ok, X509_STORE_CTX* ctx)
{
    if (ok) return ok;
    const int e = X509_STORE_CTX_get_error(ctx);
    if (e == X509_V_ERR_CRL_HAS_EXPIRED || e == X509_V_ERR_CRL_NOT_YET_VALID) {
        auto* state = static_cast<verify_state*>(X509_STORE_CTX_get_app_data(ctx));
        if (state && state->stale_crl == X509_V_OK) state->stale_crl = e;
        return 1;
    }
    return ok;
}

errc verify_error_code(int e)
{
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return errc::cert_expired;
    case X509_V_ERR_CERT_REVOKED:
        return errc::cert_revoked;
    default:
        return errc::cert_untrusted;
    }
}

std::string verify_detail(int e, int depth)
{
    return std::string(X509_verify_cert_error_string(e)) + " (depth " + std::to_string(depth) +
           ")";
}

result<std::int64_t> to_unix_seconds(const ASN1_TIME* t)
{
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return error{errc::cert_untrusted, "bad notAfter"};
    using namespace std::chrono;
    const year_month_day ymd{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                             day{static_cast<unsigned>(tm.tm_mday)}};
    const auto days_since_epoch = sys_days{ymd}.time_since_epoch().count();
    return static_cast<std::int64_t>(days_since_epoch) * 86400 + tm.tm_hour * 3600 +
           tm.tm_min * 60 + tm.tm_sec;
}

// RFC 8226 section 9 / ATIS-1000080: the leaf names the SP by an SPC in its TNAuthList.
result<std::string> leaf_spc(X509* leaf)
{
    core::asn1_object_ptr oid{OBJ_txt2obj(tnauthlist_oid, 1)};
    if (!oid) return error{errc::crypto_failure, "OBJ_txt2obj: " + openssl_reason()};
    const int index = X509_get_ext_by_OBJ(leaf, oid.get(), -1);
    if (index < 0) return error{errc::cert_no_tnauthlist, "leaf has no TNAuthList"};
    // RFC 5280 section 4.2: an extension appears at most once.
    if (X509_get_ext_by_OBJ(leaf, oid.get(), index) >= 0) {
        return error{errc::cert_no_tnauthlist, "TNAuthList appears twice"};
    }
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(leaf, index));
    if (!value) return error{errc::cert_no_tnauthlist, "TNAuthList without a value"};
    const std::span<const std::uint8_t> der(ASN1_STRING_get0_data(value),
                                            static_cast<std::size_t>(ASN1_STRING_length(value)));
    auto list = core::parse_tnauthlist(der);
    if (!list) return std::move(list).err();
    if (list->spcs.empty()) {
        return error{errc::cert_no_tnauthlist, "TNAuthList has no SPC entry"};
    }
    return list->spcs.front();
}

}  // namespace

result<trust_store> trust_store::from_memory(std::string_view anchors_pem,
                                             const std::vector<std::string>& crls)
{
    auto anchors = parse_certificates(anchors_pem, errc::config_invalid, SIZE_MAX);
    if (!anchors) {
        return error{errc::config_invalid, "trust anchors: " + anchors.err().detail};
    }
    std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
    if (!store) return error{errc::crypto_failure, "X509_STORE_new: " + openssl_reason()};
    trust_store ts;
    for (const auto& cert : *anchors) {
        // X509_STORE_add_cert takes its own reference.
        if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
            return error{errc::config_invalid, "trust anchor: " + openssl_reason()};
        }
        ++ts.anchors_;
    }
    for (const auto& blob : crls) {
        auto parsed = parse_crls(blob);
        if (!parsed) return std::move(parsed).err();
        for (const auto& crl : *parsed) {
            if (X509_STORE_add_crl(store.get(), crl.get()) != 1) {
                return error{errc::config_invalid, "CRL: " + openssl_reason()};
            }
            ++ts.crls_;
        }
    }
    if (ts.crls_ > 0) {
        // STIR-SHAKEN.md section 9.2: every certificate of the chain is checked against the
        // STI-PA CRLs, hence CRL_CHECK_ALL and a (possibly empty) CRL from the root as well.
        X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    ts.store_ = std::move(store);
    return ts;
}

trust_store trust_store::load(const std::string& anchors_file,
                              const std::vector<std::string>& crl_files)
{
    const std::string anchors = read_whole_file(anchors_file, "trust anchor");
    std::vector<std::string> crls;
    crls.reserve(crl_files.size());
    for (const auto& path : crl_files) crls.push_back(read_whole_file(path, "CRL"));
    auto ts = from_memory(anchors, crls);
    if (!ts) throw std::runtime_error("cannot load the STI trust store: " + ts.err().detail);
    return std::move(ts).value();
}

result<core::verified_cert> trust_store::verify_chain(std::string_view body,
                                                      std::int64_t now) const
{
    // RFC 8224 section 6.2.2 / STIR-SHAKEN.md section 8.1: a body that is not a certificate is
    // a failed dereference (436), not an untrusted credential.
    auto chain = parse_certificates(body, errc::x5u_fetch_failed, max_chain_certs);
    if (!chain) return std::move(chain).err();
    if (!store_) return error{errc::cert_untrusted, "no trust anchors configured"};

    X509* leaf = chain->front().get();
    x509_stack_ptr untrusted{sk_X509_new_null()};
    core::x509_store_ctx_ptr ctx{X509_STORE_CTX_new()};
    if (!untrusted || !ctx) return error{errc::crypto_failure, openssl_reason()};
    for (std::size_t i = 1; i < chain->size(); ++i) {
        if (sk_X509_push(untrusted.get(), (*chain)[i].get()) <= 0) {
            return error{errc::crypto_failure, openssl_reason()};
        }
    }
    if (X509_STORE_CTX_init(ctx.get(), store_.get(), leaf, untrusted.get()) != 1) {
        return error{errc::crypto_failure, "X509_STORE_CTX_init: " + openssl_reason()};
    }
    // Injected clock: validity and CRL dates are judged at `now`, never the wall clock.
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), static_cast<time_t>(now));
    verify_state state;
    X509_STORE_CTX_set_app_data(ctx.get(), &state);
    X509_STORE_CTX_set_verify_cb(ctx.get(), verify_callback);

    const int rc = X509_verify_cert(ctx.get());
    if (rc != 1) {
        const int e = X509_STORE_CTX_get_error(ctx.get());
        const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
        ERR_clear_error();
        return error{verify_error_code(e), verify_detail(e, depth)};
    }
    if (state.stale_crl != X509_V_OK) {
        return error{errc::cert_untrusted, verify_detail(state.stale_crl, 0)};
    }
    // ATIS-1000080: the signer is an end entity (BasicConstraints CA:FALSE).
    if (X509_check_ca(leaf) != 0) {
        return error{errc::cert_untrusted, "leaf certificate is a CA"};
    }

    EVP_PKEY* leaf_key = X509_get0_pubkey(leaf);
    if (!leaf_key) return error{errc::cert_untrusted, "leaf key unreadable: " + openssl_reason()};
    auto key = core::es256_public_key::from_evp(leaf_key);
    if (!key) return error{errc::cert_untrusted, "leaf key is not EC P-256: " + key.err().detail};
    auto spc = leaf_spc(leaf);
    if (!spc) return std::move(spc).err();
    auto not_after = to_unix_seconds(X509_get0_notAfter(leaf));
    if (!not_after) return std::move(not_after).err();

    return core::verified_cert{std::move(*key), std::move(*spc), *not_after};
}

}  // namespace stirgate::sti
