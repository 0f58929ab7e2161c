#pragma once
// The STI-PA trust list and CRLs (STIR-SHAKEN.md section 9), and validation of the certificate
// chains that x5u URLs serve. Loaded once at startup; immutable afterwards, so one instance is
// shared by every I/O thread without locking (each validation builds its own X509_STORE_CTX).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/verifier.hpp"

typedef struct x509_store_st X509_STORE;  // NOLINT: OpenSSL's own forward declaration

namespace stirgate::sti {

class trust_store final {
public:
    // Reads a PEM bundle of trust anchors and CRL files (PEM or DER). Throws std::runtime_error
    // with one clear line when a file cannot be read, holds no certificate, or a CRL does not
    // parse (startup failure, STYLE.md section 2).
    static trust_store load(const std::string& anchors_file,
                            const std::vector<std::string>& crl_files);

    // Same from bytes already in memory (tests, the development PKI). `crls` are PEM or DER.
    // errc::config_invalid with the reason in the detail.
    [[nodiscard]] static result<trust_store> from_memory(std::string_view anchors_pem,
                                                         const std::vector<std::string>& crls);

    trust_store() = default;  // empty: every chain is cert_untrusted (result<T> needs it)

    // Validates what an x5u URL served: PEM certificates (leaf first, then intermediates; the
    // root is not needed) or one DER certificate. Intermediates come only from `body`, never
    // from the store. Times are checked at `now` (seconds since the epoch); when CRLs were
    // configured every certificate of the chain must be covered by a current CRL.
    // errc: x5u_fetch_failed (body is not a certificate), cert_untrusted (no path to an anchor,
    //       bad signature, stale CRL, leaf key not EC P-256), cert_expired (outside validity),
    //       cert_revoked, cert_no_tnauthlist (absent, unreadable, or without an SPC).
    //       The detail carries OpenSSL's verify error string.
    [[nodiscard]] result<core::verified_cert> verify_chain(std::string_view body,
                                                           std::int64_t now) const;

    std::size_t anchor_count() const noexcept { return anchors_; }
    std::size_t crl_count() const noexcept { return crls_; }

private:
    std::shared_ptr<X509_STORE> store_;
    std::size_t anchors_ = 0;
    std::size_t crls_ = 0;
};

}  // namespace stirgate::sti
