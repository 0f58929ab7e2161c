#include "app/dev_pki.hpp"

#include "core/openssl_ptr.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace stirgate::app {
namespace {

namespace fs = std::filesystem;

using core::asn1_object_ptr;
using core::asn1_octet_string_ptr;
using core::bio_ptr;
using core::bn_ptr;
using core::pkey_ptr;
using core::x509_ptr;
using ext_ptr = core::x509_extension_ptr;

[[noreturn]] void fail(const std::string& what)
{
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error("init: " + what + (buf[0] ? std::string(": ") + buf : ""));
}

std::string read_text(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("init: cannot read " + p.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// Writes a new file only; private material gets mode 0600.
void write_new(const fs::path& p, const std::string& text, bool secret, init_report& report)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("init: cannot write " + p.string());
    out << text;
    out.close();
    if (!out) throw std::runtime_error("init: cannot write " + p.string());
    if (secret) fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
    report.written.push_back(p.string());
}

std::string bio_text(BIO* bio)
{
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

pkey_ptr generate_p256()
{
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key) fail("cannot generate a P-256 key");
    return key;
}

pkey_ptr parse_private_key(const std::string& pem, const fs::path& from)
{
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) fail("cannot parse private key " + from.string());
    return key;
}

x509_ptr parse_certificate(const std::string& pem, const fs::path& from)
{
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) fail("cannot parse certificate " + from.string());
    return cert;
}

std::string private_key_pem(EVP_PKEY* key)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
        fail("cannot encode private key");
    return bio_text(bio.get());
}

std::string public_key_pem(EVP_PKEY* key)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PUBKEY(bio.get(), key)) fail("cannot encode public key");
    return bio_text(bio.get());
}

std::string certificate_pem(X509* cert)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(bio.get(), cert)) fail("cannot encode certificate");
    return bio_text(bio.get());
}

// Loads DIR/name if present, else generates a key and writes it.
pkey_ptr load_or_create_key(const fs::path& p, init_report& report)
{
    if (fs::exists(p)) {
        report.kept.push_back(p.string());
        return parse_private_key(read_text(p), p);
    }
    pkey_ptr key = generate_p256();
    write_new(p, private_key_pem(key.get()), true, report);
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || !X509_add_ext(cert, ext.get(), -1)) fail(std::string("cannot add extension ") + value);
}

// RFC 8226 section 9: TNAuthorizationList with one SPC entry, DER by hand:
// SEQUENCE { [0] EXPLICIT IA5String spc }.
void add_tnauthlist(X509* cert, const std::string& spc)
{
    if (spc.empty() || spc.size() > 100) throw std::runtime_error("init: bad SPC");
    const auto n = static_cast<unsigned char>(spc.size());
    std::string der;
    der += '\x30';
    der += static_cast<char>(n + 4);
    der += '\xa0';
    der += static_cast<char>(n + 2);
    der += '\x16';
    der += static_cast<char>(n);
    der += spc;
    asn1_object_ptr oid(OBJ_txt2obj("1.3.6.1.5.5.7.1.26", 1));
    asn1_octet_string_ptr value(ASN1_OCTET_STRING_new());
    if (!oid || !value ||
        !ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                               static_cast<int>(der.size())))
        fail("cannot build TNAuthList");
    ext_ptr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    if (!ext || !X509_add_ext(cert, ext.get(), -1)) fail("cannot add TNAuthList");
}

// CertificatePolicies with the SHAKEN certificate policy OID (ATIS-1000080).
void add_shaken_policy(X509* cert)
{
    core::openssl_ptr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free> policies(
        sk_POLICYINFO_new_null());
    POLICYINFO* info = POLICYINFO_new();
    if (!policies || !info) fail("cannot build certificate policies");
    ASN1_OBJECT_free(info->policyid);
    info->policyid = OBJ_txt2obj("2.16.840.1.114569.1.1.1", 1);
    if (!info->policyid || !sk_POLICYINFO_push(policies.get(), info)) {
        POLICYINFO_free(info);
        fail("cannot build certificate policies");
    }
    if (X509_add1_ext_i2d(cert, NID_certificate_policies, policies.get(), 0, X509V3_ADD_DEFAULT) != 1)
        fail("cannot add certificate policies");
}

void set_name(X509_NAME* name, const std::string& org, const std::string& cn)
{
    auto add = [name](const char* field, const std::string& v) {
        if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1, 0))
            fail("cannot set certificate name");
    };
    add("C", "US");
    add("O", org);
    add("CN", cn);
}

void set_random_serial(X509* cert)
{
    // ATIS-1000080: serials carry at least 64 bits of randomness; use 127.
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) fail("no randomness for serial");
    bytes[0] &= 0x7f;
    bn_ptr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) fail("cannot set serial");
}

x509_ptr new_certificate(EVP_PKEY* subject_key, std::int64_t now, long validity_days)
{
    x509_ptr cert(X509_new());
    if (!cert || !X509_set_version(cert.get(), 2)) fail("cannot create certificate");
    set_random_serial(cert.get());
    // Back-date an hour so clocks that run a little behind still accept the certificate.
    if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(validity_days), 0, &now) ||
        !X509_set_pubkey(cert.get(), subject_key))
        fail("cannot set certificate fields");
    return cert;
}

x509_ptr make_root(EVP_PKEY* key, std::int64_t now)
{
    x509_ptr cert = new_certificate(key, now, 3650);
    set_name(X509_get_subject_name(cert.get()), "stirgate development STI-CA (TEST ONLY)",
             "stirgate Dev STI Root CA");
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    if (!X509_sign(cert.get(), key, EVP_sha256())) fail("cannot sign root certificate");
    return cert;
}

x509_ptr make_leaf(EVP_PKEY* key, X509* root, EVP_PKEY* root_key, const std::string& spc,
                   std::int64_t now)
{
    x509_ptr cert = new_certificate(key, now, 730);
    set_name(X509_get_subject_name(cert.get()), "stirgate development SP (TEST ONLY)",
             "SHAKEN " + spc);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(root));
    // ATIS-1000080 end-entity profile; only BasicConstraints and KeyUsage are critical.
    add_ext(cert.get(), root, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), root, NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), root, NID_subject_key_identifier, "hash");
    add_ext(cert.get(), root, NID_authority_key_identifier, "keyid:always");
    add_shaken_policy(cert.get());
    add_tnauthlist(cert.get(), spc);
    if (!X509_sign(cert.get(), root_key, EVP_sha256())) fail("cannot sign STI certificate");
    return cert;
}

std::string random_hex(std::size_t bytes)
{
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
        fail("no randomness");
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string random_uuid()
{
    std::string h = random_hex(16);
    h[12] = '4';                                            // version 4
    h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

std::string config_text(const init_options& o, const std::string& public_url)
{
    std::ostringstream t;
    t << "# stirgate development configuration written by `stirgate init`.\n"
         "# Keys under keys/ are development material (TEST ONLY): never use them in production.\n"
         "# deploy/stirgate.example.toml explains every key.\n\n"
         "[server]\n"
      << "listen = \"" << o.listen << "\"\n"
      << "public_url = \"" << public_url << "\"\n"
      << "trusted_proxies = [\"127.0.0.1/32\"]\n"
         "threads = 0\n\n"
         "[storage]\n"
         "url = \"sqlite://stirgate.db\"\n\n"
         "[signing]\n"
         "key_file = \"keys/sti-key.pem\"\n"
      << "x5u = \"" << public_url << "/certs/sti.pem\"\n"
      << "chain_file = \"keys/sti-chain.pem\"\n\n"
         "[calltoken]\n"
         "key_file = \"keys/platform-key.pem\"\n"
         "trusted_keys = [\"keys/platform-pub.pem\"]\n"
         "max_age_s = 3600\n\n"
         "[verify]\n"
         "trust_anchors = \"keys/sti-roots.pem\"\n"
         "crl_files = []\n"
         "iat_window_s = 60\n"
         "future_skew_s = 5\n"
         "fetch_timeout_ms = 2000\n"
         "max_cert_bytes = 16384\n"
         "fetch_ca_file = \"\"\n"
         "x5u_allowed_hosts = []\n"
         "x5u_allowed_ports = [443, 8443]\n"
         "x5u_resolve = []\n\n"
         "[network]\n"
         "# The local demo talks to loopback services; keep false in production.\n"
         "allow_private_addresses = true\n"
         "webhook_ca_file = \"\"\n\n"
         "[edge]\n"
      << "auth_token = \"" << random_hex(16) << "\"\n"
      << "dial_url = \"http://127.0.0.1:5070/dial\"\n\n"
         "[[accounts]]\n"
      << "sid = \"AC" << random_hex(16) << "\"\n"
      << "auth_token = \"" << random_hex(16) << "\"\n"
      << "origid = \"" << random_uuid() << "\"\n\n"
         "[[accounts.numbers]]\n"
         "number = \"+15005550100\"\n"
         "attest = \"A\"\n"
         "voice_url = \"http://127.0.0.1:3000/voice\"\n"
         "voice_fallback_url = \"\"\n"
         "status_callback = \"\"\n";
    return t.str();
}

}  // namespace

init_report run_init(const init_options& options)
{
    if (options.dir.empty()) throw std::runtime_error("init: --dir is required");
    init_report report;
    const fs::path dir(options.dir);
    const fs::path keys = dir / "keys";
    std::error_code ec;
    fs::create_directories(keys, ec);
    if (ec) throw std::runtime_error("init: cannot create " + keys.string() + ": " + ec.message());

    // Root CA: its key signs the STI certificate; the trust anchor file holds its certificate.
    pkey_ptr root_key = load_or_create_key(keys / "sti-root-key.pem", report);
    x509_ptr root;
    if (fs::exists(keys / "sti-root.pem")) {
        root = parse_certificate(read_text(keys / "sti-root.pem"), keys / "sti-root.pem");
        report.kept.push_back((keys / "sti-root.pem").string());
    } else {
        root = make_root(root_key.get(), options.now);
        write_new(keys / "sti-root.pem", certificate_pem(root.get()), false, report);
    }
    if (fs::exists(keys / "sti-roots.pem")) report.kept.push_back((keys / "sti-roots.pem").string());
    else write_new(keys / "sti-roots.pem", certificate_pem(root.get()), false, report);

    // STI signing identity: key, certificate with TNAuthList, and the chain x5u serves
    // (leaf first; the root is omitted, as repositories do).
    pkey_ptr sti_key = load_or_create_key(keys / "sti-key.pem", report);
    std::string leaf_pem;
    if (fs::exists(keys / "sti-cert.pem")) {
        leaf_pem = read_text(keys / "sti-cert.pem");
        report.kept.push_back((keys / "sti-cert.pem").string());
    } else {
        x509_ptr leaf = make_leaf(sti_key.get(), root.get(), root_key.get(), options.spc, options.now);
        leaf_pem = certificate_pem(leaf.get());
        write_new(keys / "sti-cert.pem", leaf_pem, false, report);
    }
    if (fs::exists(keys / "sti-chain.pem")) report.kept.push_back((keys / "sti-chain.pem").string());
    else write_new(keys / "sti-chain.pem", leaf_pem, false, report);

    // CallToken platform key pair.
    pkey_ptr platform = load_or_create_key(keys / "platform-key.pem", report);
    if (fs::exists(keys / "platform-pub.pem"))
        report.kept.push_back((keys / "platform-pub.pem").string());
    else write_new(keys / "platform-pub.pem", public_key_pem(platform.get()), false, report);

    const std::string public_url =
        options.public_url.empty() ? "http://" + options.listen : options.public_url;
    const fs::path config = dir / "stirgate.toml";
    if (fs::exists(config)) report.kept.push_back(config.string());
    else write_new(config, config_text(options, public_url), true, report);
    return report;
}

}  // namespace stirgate::app
