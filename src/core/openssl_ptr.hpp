#pragma once
// unique_ptr ownership for OpenSSL objects (STYLE.md section 5): one deleter template instead of
// a hand-written struct per type in every file that touches OpenSSL.

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace stirgate::core {

// Calls `Free` (any OpenSSL *_free function, whatever it returns) on a non-null pointer.
template <auto Free>
struct openssl_free {
    template <class T>
    void operator()(T* p) const noexcept
    {
        Free(p);
    }
};

template <class T, auto Free>
using openssl_ptr = std::unique_ptr<T, openssl_free<Free>>;

using bio_ptr = openssl_ptr<BIO, BIO_free_all>;
using bn_ptr = openssl_ptr<BIGNUM, BN_free>;
using ecdsa_sig_ptr = openssl_ptr<ECDSA_SIG, ECDSA_SIG_free>;
using md_ctx_ptr = openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using pkey_ptr = openssl_ptr<EVP_PKEY, EVP_PKEY_free>;
using pkey_ctx_ptr = openssl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using x509_ptr = openssl_ptr<X509, X509_free>;
using x509_crl_ptr = openssl_ptr<X509_CRL, X509_CRL_free>;
using x509_extension_ptr = openssl_ptr<X509_EXTENSION, X509_EXTENSION_free>;
using x509_store_ctx_ptr = openssl_ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using asn1_object_ptr = openssl_ptr<ASN1_OBJECT, ASN1_OBJECT_free>;
using asn1_octet_string_ptr = openssl_ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;

}  // namespace stirgate::core
