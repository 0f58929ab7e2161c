// `stirgate passport sign` and `stirgate calltoken mint`: the operator tools that sign.
#include <istream>
#include <optional>
#include <ostream>
#include <sstream>

#include <openssl/rand.h>

#include "app/operator_tools_detail.hpp"
#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/text.hpp"
#include "core/tn.hpp"

namespace stirgate::app::tool_detail {
namespace {

std::string random_uuid()
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return {};
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    const std::string hex = core::hex_lower(b);
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace

int run_sign(const tool_request& r, std::ostream& out, std::ostream& err)
{
    auto usage_fail = [&err](const std::string& why) {
        err << "stirgate: " << why << "\n" << passport_usage;
        return 2;
    };
    if (!r.positional.empty()) return usage_fail("unexpected argument " + r.positional.front());
    const auto key_file = option(r.options, "key");
    const auto x5u = option(r.options, "x5u");
    const auto orig = option(r.options, "orig");
    const auto dest = option(r.options, "dest");
    if (!key_file || !x5u || !orig || !dest)
        return usage_fail("--key, --x5u, --orig and --dest are required");
    auto ppt = core::parse_passport_type(option(r.options, "ppt").value_or("shaken"));
    if (!ppt) return usage_fail("--ppt must be shaken or div");

    const auto key = read_private_key(*key_file, err);
    if (!key) return 2;

    core::passport_claims claims;
    claims.iat = r.now;
    if (const auto iat = option(r.options, "iat")) {
        const auto n = parse_int(*iat);
        if (!n || *n < 0) return usage_fail("--iat needs a non-negative integer");
        claims.iat = *n;
    }
    auto orig_tn = core::canonicalize_tn(*orig);
    if (!orig_tn) return usage_fail("--orig is not a telephone number: " + *orig);
    claims.orig = core::passport_identity::tn(*orig_tn);
    std::string_view rest = *dest;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view one = rest.substr(0, comma);
        auto tn = core::canonicalize_tn(one);
        if (!tn) return usage_fail("--dest is not a telephone number: " + std::string(one));
        claims.dest.tn.push_back(*tn);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    if (*ppt == core::passport_type::shaken) {
        const auto attest = option(r.options, "attest");
        if (!attest) return usage_fail("ppt=shaken needs --attest A|B|C");
        auto a = core::parse_attestation(*attest);
        if (!a) return usage_fail("--attest must be A, B or C");
        claims.attest = *a;
        claims.origid = option(r.options, "origid").value_or(random_uuid());
    } else {
        const auto div = option(r.options, "div");
        if (!div) return usage_fail("ppt=div needs --div TN (the diverting number)");
        auto tn = core::canonicalize_tn(*div);
        if (!tn) return usage_fail("--div is not a telephone number: " + *div);
        claims.div = core::passport_identity::tn(*tn);
    }
    auto jws = core::sign_passport(claims, *ppt, *x5u, *key);
    if (!jws) {
        err << "stirgate: cannot sign: " << describe(jws.err()) << "\n";
        return 1;
    }
    if (option(r.options, "jws")) {
        out << *jws << "\n";
    } else {
        core::identity_format_options fmt;
        fmt.quote_ppt = !option(r.options, "bare-ppt");
        out << core::format_identity_header(*jws, *x5u, *ppt, fmt) << "\n";
    }
    return 0;
}

int run_calltoken_mint(const tool_request& r, std::ostream& out, std::ostream& err)
{
    auto usage_fail = [&err](const std::string& why) {
        err << "stirgate: " << why << "\n" << calltoken_usage;
        return 2;
    };
    if (!r.positional.empty()) return usage_fail("unexpected argument " + r.positional.front());
    const auto key_file = option(r.options, "key");
    const auto account = option(r.options, "account");
    const auto call_sid = option(r.options, "call-sid");
    const auto from = option(r.options, "from");
    const auto to = option(r.options, "to");
    if (!key_file || !account || !call_sid || !from || !to)
        return usage_fail("--key, --account, --call-sid, --from and --to are required");
    const auto key = read_private_key(*key_file, err);
    if (!key) return 2;
    std::vector<std::string> identities;
    if (const auto file = option(r.options, "identities")) {
        const auto text = read_file(*file, err);
        if (!text) return 2;
        std::istringstream lines(*text);
        for (std::string line; std::getline(lines, line);) {
            line = trim(line);
            if (!line.empty()) identities.push_back(line);
        }
    }
    std::int64_t iat = r.now;
    if (const auto v = option(r.options, "iat")) {
        const auto n = parse_int(*v);
        if (!n || *n < 0) return usage_fail("--iat needs a non-negative integer");
        iat = *n;
    }
    core::calltoken_mint_params p;
    p.call_sid = *call_sid;
    p.from = *from;
    p.to = *to;
    p.account_sid = *account;
    auto token = core::mint_calltoken(p, identities, *key, iat);
    if (!token) {
        err << "stirgate: cannot mint: " << describe(token.err()) << "\n";
        return 1;
    }
    out << *token << "\n";
    return 0;
}

}  // namespace stirgate::app::tool_detail
