#include "core/crypto.hpp"

#include "core/openssl_ptr.hpp"

#include <climits>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace stirgate::core {

void evp_pkey_deleter::operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }

namespace detail {

// A key's sign or verify context, initialised once, and SHA-256, fetched once. Calls never use
// `ctx` itself: they duplicate it (EVP_PKEY_CTX_dup only reads it), so one key serves every
// thread, and the provider lookups of EVP_DigestSignInit/EVP_DigestVerifyInit are not repeated
// per signature.
struct es256_operation {
    pkey_ctx_ptr ctx;
    openssl_ptr<EVP_MD, EVP_MD_free> sha256;
};

}  // namespace detail

namespace {

constexpr std::size_t coord_size = 32;  // P-256 scalars are 32 bytes

// Drains this thread's OpenSSL error queue into one line for the log detail, so a stale entry
// never surfaces later as the reason for an unrelated failure.
std::string openssl_reason(std::string_view what)
{
    std::string out(what);
    unsigned long code = 0;
    bool first = true;
    while ((code = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        out += first ? ": " : "; ";
        out += buf;
        first = false;
    }
    return out;
}

bio_ptr memory_bio(std::string_view data)
{
    if (data.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
    return bio_ptr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_contents(BIO* bio)
{
    char* p = nullptr;
    const long n = BIO_get_mem_data(bio, &p);
    return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

// RFC 7518 section 3.4: ES256 means ECDSA on P-256 only; any other curve is a different alg.
result<void> check_p256(EVP_PKEY* key)
{
    if (key == nullptr) return error{errc::key_invalid, "no key"};
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return error{errc::key_invalid, "not an EC key"};
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1)
        return error{errc::key_invalid, openssl_reason("EC key without a named curve")};
    if (std::string_view(group, len) != SN_X9_62_prime256v1)
        return error{errc::key_invalid, "EC key on curve " + std::string(group, len) + ", not P-256"};
    return ok();
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* key) { return {key, evp_pkey_deleter{}}; }

enum class operation { sign, verify };

result<std::shared_ptr<const detail::es256_operation>> prepare(EVP_PKEY* key, operation what)
{
    auto op = std::make_shared<detail::es256_operation>();
    op->ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!op->ctx) return error{errc::crypto_failure, openssl_reason("EVP_PKEY_CTX_new_from_pkey")};
    const int rc = what == operation::sign ? EVP_PKEY_sign_init(op->ctx.get())
                                           : EVP_PKEY_verify_init(op->ctx.get());
    if (rc != 1) return error{errc::crypto_failure, openssl_reason("EVP_PKEY_sign/verify_init")};
    op->sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    if (!op->sha256) return error{errc::crypto_failure, openssl_reason("EVP_MD_fetch SHA256")};
    return std::shared_ptr<const detail::es256_operation>(std::move(op));
}

// SHA-256 of `data` and a private copy of the key's prepared context, for one operation.
result<pkey_ctx_ptr> begin(const detail::es256_operation& op, std::string_view data,
                           sha256_digest& digest)
{
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &len, op.sha256.get(), nullptr) != 1 ||
        len != digest.size())
        return error{errc::crypto_failure, openssl_reason("EVP_Digest SHA256")};
    pkey_ctx_ptr ctx(EVP_PKEY_CTX_dup(op.ctx.get()));
    if (!ctx) return error{errc::crypto_failure, openssl_reason("EVP_PKEY_CTX_dup")};
    return ctx;
}

// DER INTEGER of a 32-byte big-endian unsigned value: minimal length, 0x00 before a high bit.
std::size_t der_integer(const std::uint8_t* v, unsigned char* out)
{
    std::size_t skip = 0;
    while (skip + 1 < coord_size && v[skip] == 0) ++skip;
    const bool pad = (v[skip] & 0x80) != 0;
    const std::size_t len = coord_size - skip + (pad ? 1 : 0);
    out[0] = 0x02;
    out[1] = static_cast<unsigned char>(len);
    std::size_t at = 2;
    if (pad) out[at++] = 0x00;
    std::memcpy(out + at, v + skip, coord_size - skip);
    return 2 + len;
}

// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, as i2d_ECDSA_SIG writes it, without
// the BIGNUM round trip. At most 2 + 2 * 35 = 72 bytes, so the lengths are single bytes.
std::size_t encode_der_signature(const es256_signature& raw, unsigned char (&out)[72])
{
    std::size_t n = 2;
    n += der_integer(raw.data(), out + n);
    n += der_integer(raw.data() + coord_size, out + n);
    out[0] = 0x30;
    out[1] = static_cast<unsigned char>(n - 2);
    return n;
}

const unsigned char* bytes_of(std::string_view s)
{
    return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

// ---- es256_public_key ----------------------------------------------------------------------

result<es256_public_key> es256_public_key::from_pem(std::string_view pem)
{
    ERR_clear_error();
    EVP_PKEY* raw = nullptr;
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
        auto bio = memory_bio(pem);
        if (!bio) return error{errc::key_invalid, "PEM too large"};
        x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) return error{errc::key_invalid, openssl_reason("certificate PEM does not parse")};
        raw = X509_get_pubkey(cert.get());  // new reference
        if (raw == nullptr) return error{errc::key_invalid, openssl_reason("certificate key")};
    } else {
        auto bio = memory_bio(pem);
        if (!bio) return error{errc::key_invalid, "PEM too large"};
        raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
        if (raw == nullptr) return error{errc::key_invalid, openssl_reason("public key PEM does not parse")};
    }
    auto key = share(raw);
    if (auto r = check_p256(key.get()); !r) return std::move(r).err();
    auto op = prepare(key.get(), operation::verify);
    if (!op) return std::move(op).err();
    es256_public_key out;
    out.key_ = std::move(key);
    out.op_ = std::move(op).value();
    return out;
}

result<es256_public_key> es256_public_key::from_evp(EVP_PKEY* key)
{
    if (auto r = check_p256(key); !r) return std::move(r).err();
    if (EVP_PKEY_up_ref(key) != 1) return error{errc::crypto_failure, openssl_reason("EVP_PKEY_up_ref")};
    es256_public_key out;
    out.key_ = share(key);
    auto op = prepare(key, operation::verify);
    if (!op) return std::move(op).err();
    out.op_ = std::move(op).value();
    return out;
}

result<void> es256_public_key::verify(std::string_view data, const es256_signature& sig) const
{
    if (!key_ || !op_) return error{errc::key_invalid, "empty public key"};
    ERR_clear_error();
    // JWS carries raw R||S; OpenSSL's EVP interface only verifies DER ECDSA-Sig-Value.
    unsigned char der[72];
    const std::size_t der_len = encode_der_signature(sig, der);
    sha256_digest digest{};
    auto ctx = begin(*op_, data, digest);
    if (!ctx) return std::move(ctx).err();
    const int rc = EVP_PKEY_verify(ctx->get(), der, der_len, digest.data(), digest.size());
    if (rc == 1) return ok();
    // 0 is a plain mismatch; negative values are structural failures (e.g. r or s out of
    // range), which for a signature we did not make mean the same thing: it does not verify.
    return error{errc::jws_signature_invalid, openssl_reason("ES256 signature does not verify")};
}

std::string es256_public_key::to_pem() const
{
    if (!key_) return {};
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
        ERR_clear_error();
        return {};
    }
    return bio_contents(bio.get());
}

// ---- es256_private_key ---------------------------------------------------------------------

result<es256_private_key> es256_private_key::from_pem(std::string_view pem)
{
    ERR_clear_error();
    auto bio = memory_bio(pem);
    if (!bio) return error{errc::key_invalid, "PEM too large"};
    // Reads PKCS#8 "PRIVATE KEY" and traditional "EC PRIVATE KEY" alike. Encrypted keys are not
    // supported: the empty passphrase callback makes them fail instead of prompting on a tty.
    static constexpr auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
    if (raw == nullptr) return error{errc::key_invalid, openssl_reason("private key PEM does not parse")};
    auto key = share(raw);
    if (auto r = check_p256(key.get()); !r) return std::move(r).err();
    auto op = prepare(key.get(), operation::sign);
    if (!op) return std::move(op).err();
    es256_private_key out;
    out.key_ = std::move(key);
    out.op_ = std::move(op).value();
    return out;
}

result<es256_private_key> es256_private_key::generate()
{
    ERR_clear_error();
    pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!ctx) return error{errc::crypto_failure, openssl_reason("EVP_PKEY_CTX_new_from_name")};
    if (EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_group_name(ctx.get(), SN_X9_62_prime256v1) != 1)
        return error{errc::crypto_failure, openssl_reason("P-256 keygen setup")};
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &raw) != 1)
        return error{errc::crypto_failure, openssl_reason("EVP_PKEY_generate")};
    es256_private_key out;
    out.key_ = share(raw);
    auto op = prepare(raw, operation::sign);
    if (!op) return std::move(op).err();
    out.op_ = std::move(op).value();
    return out;
}

result<es256_signature> es256_private_key::sign(std::string_view data) const
{
    if (!key_ || !op_) return error{errc::key_invalid, "empty private key"};
    ERR_clear_error();
    sha256_digest digest{};
    auto ctx = begin(*op_, data, digest);
    if (!ctx) return std::move(ctx).err();
    unsigned char der[80];  // a P-256 DER signature is at most 72 bytes
    std::size_t der_len = sizeof der;
    if (EVP_PKEY_sign(ctx->get(), der, &der_len, digest.data(), digest.size()) != 1)
        return error{errc::crypto_failure, openssl_reason("EVP_PKEY_sign")};
    // OpenSSL signs DER; JWS (RFC 7518 section 3.4) wants raw R||S.
    auto raw = der_to_raw_signature(std::span<const std::uint8_t>(der, der_len));
    if (!raw) return error{errc::crypto_failure, "OpenSSL produced an unexpected signature: " + raw.err().detail};
    return raw;
}

es256_public_key es256_private_key::public_key() const
{
    // Round-trip through SubjectPublicKeyInfo so the public object never holds the private scalar.
    if (!key_) return {};
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key_.get(), &der);
    if (len <= 0) {
        ERR_clear_error();
        return {};
    }
    const unsigned char* p = der;
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
    OPENSSL_free(der);
    if (pub == nullptr) {
        ERR_clear_error();
        return {};
    }
    auto r = es256_public_key::from_evp(pub);
    EVP_PKEY_free(pub);  // from_evp took its own reference
    return r ? std::move(r).value() : es256_public_key{};
}

std::string es256_private_key::to_pem() const
{
    if (!key_) return {};
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return bio_contents(bio.get());
}

// ---- signature formats ---------------------------------------------------------------------

result<es256_signature> der_to_raw_signature(std::span<const std::uint8_t> der)
{
    if (der.size() > 128) return error{errc::jws_signature_malformed, "DER signature too long"};
    const unsigned char* p = der.data();
    ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) {
        ERR_clear_error();
        return error{errc::jws_signature_malformed, "not a DER ECDSA-Sig-Value"};
    }
    if (p != der.data() + der.size())
        return error{errc::jws_signature_malformed, "trailing bytes after DER signature"};
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    if (BN_is_negative(r) || BN_is_negative(s) || BN_num_bytes(r) > static_cast<int>(coord_size) ||
        BN_num_bytes(s) > static_cast<int>(coord_size))
        return error{errc::jws_signature_malformed, "r or s does not fit P-256"};
    es256_signature out{};
    if (BN_bn2binpad(r, out.data(), coord_size) != coord_size ||
        BN_bn2binpad(s, out.data() + coord_size, coord_size) != coord_size) {
        ERR_clear_error();
        return error{errc::jws_signature_malformed, "r or s does not fit P-256"};
    }
    return out;
}

result<std::string> raw_to_der_signature(const es256_signature& raw)
{
    unsigned char der[72];
    const std::size_t len = encode_der_signature(raw, der);
    return std::string(reinterpret_cast<const char*>(der), len);
}

// ---- hashes and encodings ------------------------------------------------------------------

sha256_digest sha256(std::string_view data)
{
    sha256_digest out{};
    unsigned int len = 0;
    // EVP_Digest fails only on allocation failure; a zero digest then fails every comparison.
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
        ERR_clear_error();
        out.fill(0);
    }
    return out;
}

std::string hex_lower(std::span<const std::uint8_t> bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::array<std::uint8_t, 20> hmac_sha1(std::string_view key, std::string_view message)
{
    std::array<std::uint8_t, 20> out{};
    unsigned int len = 0;
    const int key_len = key.size() > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(key.size());
    if (HMAC(EVP_sha1(), key.data(), key_len, bytes_of(message), message.size(), out.data(), &len) ==
        nullptr) {
        ERR_clear_error();
        out.fill(0);
    }
    return out;
}

namespace {
constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c)
{
    const auto pos = b64_alphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}
}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = bytes.size() - i;
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (n > 1) v |= std::uint32_t{bytes[i + 1]} << 8;
        if (n > 2) v |= std::uint32_t{bytes[i + 2]};
        out += b64_alphabet[(v >> 18) & 63];
        out += b64_alphabet[(v >> 12) & 63];
        out += n > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        out += n > 2 ? b64_alphabet[v & 63] : '=';
    }
    return out;
}

std::string base64_encode(std::string_view bytes)
{
    return base64_encode(std::span<const std::uint8_t>(bytes_of(bytes), bytes.size()));
}

result<std::string> base64_decode(std::string_view text)
{
    if (text.size() % 4 != 0) return error{errc::invalid_parameter, "base64 length not a multiple of 4"};
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int pad = 0;
        if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const bool is_pad = static_cast<int>(j) >= 4 - pad;
            const int d = is_pad ? 0 : b64_value(text[i + j]);
            if (d < 0) return error{errc::invalid_parameter, "character outside the base64 alphabet"};
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        // RFC 4648 section 3.5: bits hidden under the padding must be zero.
        if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0))
            return error{errc::invalid_parameter, "non-zero bits before base64 padding"};
        out += static_cast<char>((v >> 16) & 0xFF);
        if (pad < 2) out += static_cast<char>((v >> 8) & 0xFF);
        if (pad < 1) out += static_cast<char>(v & 0xFF);
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    // The length is not secret (signatures and tokens have fixed, public lengths).
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace stirgate::core
