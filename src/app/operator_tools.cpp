#include "app/operator_tools.hpp"
#include "app/operator_tools_detail.hpp"

#include <ctime>
#include <fstream>
#include <istream>
#include <iterator>
#include <optional>
#include <ostream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "core/base64url.hpp"
#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/error_table.hpp"
#include "core/identity_header.hpp"
#include "core/json.hpp"
#include "core/jws.hpp"
#include "core/passport.hpp"
#include "core/text.hpp"
#include "core/tn.hpp"
#include "sti/trust_store.hpp"

namespace stirgate::app {
namespace tool_detail {

const char* const passport_usage =
    "usage: stirgate passport <decode|verify|sign> [options] INPUT|-\n"
    "\n"
    "  decode INPUT\n"
    "      print the JOSE header, the claims, the Identity parameters and the iat skew\n"
    "  verify --cert FILE [--trust-anchors FILE] [--crl FILE] [--now EPOCH]\n"
    "         [--iat-window S] [--future-skew S] INPUT\n"
    "      check every rule and print each one that fails; --cert is the signer's\n"
    "      certificate (or chain, leaf first) or a PEM public key; --trust-anchors also\n"
    "      validates the chain. Exit 0 when valid, 1 when not.\n"
    "  sign --key FILE --x5u URL --orig TN --dest TN[,TN...] [--ppt shaken|div]\n"
    "       [--attest A|B|C] [--origid UUID] [--div TN] [--iat EPOCH] [--jws] [--bare-ppt]\n"
    "      sign a PASSporT and print the Identity header value (--jws: the bare JWS).\n"
    "      shaken needs --attest (origid defaults to a random UUID); div needs --div.\n"
    "\n"
    "INPUT is a full Identity header value (token;info=<...>;alg=ES256;ppt=shaken), with or\n"
    "without a leading \"Identity:\", or a bare JWS; \"-\" reads it from stdin.\n";

const char* const identity_usage =
    "usage: stirgate identity decode [--now EPOCH] INPUT|-\n"
    "\n"
    "Readable breakdown of an Identity header value: its parameters, the PASSporT's JOSE\n"
    "header and claims, and how far iat is from now. Exit 0 when it decodes strictly, 1 when\n"
    "not (the reason is printed).\n";

const char* const calltoken_usage =
    "usage: stirgate calltoken mint --key FILE --account AC... --call-sid CA... --from E164\n"
    "                               --to E164 [--identities FILE] [--iat EPOCH]\n"
    "\n"
    "Mints a CallToken as the incoming-call webhook would (Twilio's shape plus the accountSid\n"
    "and identityHeaderTokensSha256 bindings), signed with the platform key FILE, and prints\n"
    "the CallToken value (percent-encoded JSON) to pass as CallToken when creating a call.\n"
    "--identities names a file with the inbound Identity header values, one per line.\n"
    "For tests and load generation: production tokens come from the incoming-call webhook.\n";

std::optional<std::string> option(const options_map& o, const char* name)
{
    const auto it = o.find(name);
    if (it == o.end()) return std::nullopt;
    return it->second;
}

std::string trim(std::string s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::optional<std::string> read_input(const tool_request& r, std::istream& in, std::ostream& err)
{
    if (r.positional.empty()) {
        err << "stirgate: missing INPUT (an Identity header value, a JWS, or - for stdin)\n";
        return std::nullopt;
    }
    if (r.positional.size() > 1) {
        err << "stirgate: unexpected argument " << r.positional.front() << "\n";
        return std::nullopt;
    }
    if (r.positional.back() == "-") {
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return trim(std::move(text));
    }
    return trim(r.positional.back());
}

std::optional<std::string> read_file(const std::string& path, std::ostream& err)
{
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        err << "stirgate: cannot read " << path << "\n";
        return std::nullopt;
    }
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::optional<core::es256_private_key> read_private_key(const std::string& path, std::ostream& err)
{
    const auto text = read_file(path, err);
    if (!text) return std::nullopt;
    auto key = core::es256_private_key::from_pem(*text);
    if (!key) {
        err << "stirgate: " << path << ": " << errc_name(key.code()) << "\n";
        return std::nullopt;
    }
    return *key;
}

std::optional<std::int64_t> parse_int(const std::string& text)
{
    const bool negative = !text.empty() && text[0] == '-';
    const auto v = core::parse_decimal(std::string_view(text).substr(negative ? 1 : 0),
                                       999'999'999'999'999'999);
    if (!v) return std::nullopt;
    return negative ? -*v : *v;
}

std::string describe(const error& e)
{
    std::string s = errc_name(e.code);
    if (!e.detail.empty()) s += ": " + e.detail;
    return s;
}

}  // namespace tool_detail

using namespace tool_detail;  // this file is the tools' own implementation

namespace {

std::string http_date(std::int64_t t)
{
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string skew_text(std::int64_t iat, std::int64_t now)
{
    const std::int64_t d = now - iat;
    if (d == 0) return "now";
    return d > 0 ? std::to_string(d) + " s ago" : std::to_string(-d) + " s in the future";
}

// Pretty-prints JSON bytes, or shows them raw when they do not parse.
std::string pretty_json(const std::string& bytes, const std::string& indent)
{
    rapidjson::Document d;
    d.Parse(bytes.c_str(), bytes.size());
    if (d.HasParseError()) return indent + "(not JSON) " + bytes + "\n";
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    d.Accept(w);
    std::string out;
    std::istringstream lines(buf.GetString());
    for (std::string line; std::getline(lines, line);) out += indent + line + "\n";
    return out;
}

// The input split into its Identity parameters (when present) and the token.
struct split_input {
    std::optional<core::identity_header> identity;
    std::string token;
};

result<split_input> split(const std::string& raw)
{
    const std::string_view text = core::strip_identity_header_name(raw);
    split_input out;
    if (text.find(';') == std::string_view::npos) {
        out.token = std::string(text);
        return out;
    }
    auto parsed = core::parse_identity_header(text);
    if (!parsed) return std::move(parsed).err();
    out.token = parsed->token;
    out.identity = std::move(*parsed);
    return out;
}

// What the strict decoder refused can still be looked at, so that every rule gets a verdict.
struct lenient_token {
    std::optional<core::decoded_jws> jws;  // structure, alg and signature shape were fine
    std::string header_x5u;                // "" when unreadable
    std::optional<std::int64_t> iat;       // only when the claim is an integer
    bool iat_present = false;
};

lenient_token read_leniently(const std::string& token)
{
    lenient_token out;
    if (auto j = core::decode_jws(token)) out.jws = std::move(*j);
    const auto first = token.find('.');
    if (first == std::string::npos) return out;
    if (auto header = core::base64url_decode(token.substr(0, first))) {
        if (auto doc = core::parse_json_object(*header))
            if (auto x5u = core::get_string(*doc, "x5u")) out.header_x5u = std::string(*x5u);
    }
    const auto second = token.find('.', first + 1);
    if (second == std::string::npos) return out;
    if (auto claims = core::base64url_decode(token.substr(first + 1, second - first - 1))) {
        rapidjson::Document d;
        d.Parse(claims->c_str(), claims->size());
        if (!d.HasParseError() && d.IsObject() && d.HasMember("iat")) {
            out.iat_present = true;
            if (d["iat"].IsInt64()) out.iat = d["iat"].GetInt64();
        }
    }
    return out;
}

// Shows each segment even when the strict decoder refuses the token, so an operator sees what
// is wrong; then reports the strict result.
int print_breakdown(const std::string& raw, std::int64_t now, std::ostream& out)
{
    auto in = split(raw);
    if (!in) {
        out << "Identity header: INVALID (" << describe(in.err()) << ")\n";
        return 1;
    }
    if (in->identity) {
        const auto& id = *in->identity;
        out << "Identity parameters:\n"
            << "  form: " << (id.compact ? "compact (..signature)" : "full") << "\n"
            << "  info: <" << id.info << ">\n"
            << "  alg:  " << (id.alg ? *id.alg : "ES256 (absent, default)") << "\n"
            << "  ppt:  " << (id.ppt ? *id.ppt + (id.ppt_quoted ? " (quoted)" : " (bare)") : "(absent)")
            << "\n";
        for (const auto& p : id.other_params) out << "  " << p.name << ": " << p.value << " (ignored)\n";
    }
    const std::string& token = in->token;
    std::vector<std::string> segments;
    std::size_t start = 0;
    for (std::size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1)
        segments.push_back(token.substr(start, dot - start));
    segments.push_back(token.substr(start));
    if (segments.size() == 3) {
        const char* names[] = {"JOSE header", "Claims"};
        for (int i = 0; i < 2; ++i) {
            out << names[i] << ":\n";
            if (segments[static_cast<std::size_t>(i)].empty()) {
                out << "    (omitted: compact form)\n";
                continue;
            }
            auto bytes = core::base64url_decode(segments[static_cast<std::size_t>(i)]);
            if (bytes) out << pretty_json(*bytes, "    ");
            else out << "    (" << describe(bytes.err()) << ")\n";
        }
        auto sig = core::base64url_decode(segments[2]);
        out << "Signature: "
            << (sig ? std::to_string(sig->size()) + " bytes" +
                          (sig->size() == 64 ? " (raw R||S)" : " (not the 64-byte R||S of ES256)")
                    : "(" + describe(sig.err()) + ")")
            << "\n";
    } else {
        out << "Token: not a compact JWS (" << segments.size() << " segments)\n";
    }
    if (in->identity && in->identity->compact) {
        out << "Strict decode: compact form (SHAKEN and div require the full form)\n";
        return 1;
    }
    auto p = core::decode_passport(token);
    const lenient_token loose = read_leniently(token);
    const std::optional<std::int64_t> iat = p ? std::optional(p->claims.iat) : loose.iat;
    if (iat)
        out << "iat: " << *iat << " (" << http_date(*iat) << ", " << skew_text(*iat, now) << ")\n"
            << "Time skew: now - iat = " << now - *iat << " s (now " << now << ")\n";
    else
        out << "iat: " << (loose.iat_present ? "not an integer" : "absent or unreadable") << "\n";
    if (!p) {
        out << "Strict decode: INVALID (" << describe(p.err()) << ")\n";
        return 1;
    }
    out << "Strict decode: OK (ppt=" << core::to_string(p->header.ppt) << ")\n";
    return 0;
}

// The header's ppt read leniently, for reporting only ("(unreadable)" when it cannot be read).
std::string raw_header_ppt(const std::string& token)
{
    auto header = core::base64url_decode(token.substr(0, token.find('.')));
    if (!header) return "(unreadable)";
    auto doc = core::parse_json_object(*header);
    if (!doc) return "(unreadable)";
    auto ppt = core::get_string(*doc, "ppt");
    return ppt ? std::string(*ppt) : "(absent)";
}

struct rule_report {
    std::ostream& out;
    int failures = 0;
    void pass(const std::string& rule) { out << "  ok    " << rule << "\n"; }
    void fail(const std::string& rule, const std::string& why)
    {
        ++failures;
        out << "  FAIL  " << rule << ": " << why << "\n";
    }
};

int run_verify(const tool_request& r, const std::string& raw, std::int64_t now, std::ostream& out,
               std::ostream& err)
{
    const auto cert_file = option(r.options, "cert");
    if (!cert_file) {
        err << "stirgate: --cert FILE is required\n" << passport_usage;
        return 2;
    }
    const auto cert_text = read_file(*cert_file, err);
    if (!cert_text) return 2;
    std::int64_t window = 60;
    std::int64_t skew = 5;
    for (auto [name, target] : {std::pair{"iat-window", &window}, std::pair{"future-skew", &skew}}) {
        if (const auto v = option(r.options, name)) {
            const auto n = parse_int(*v);
            if (!n) {
                err << "stirgate: --" << name << " needs an integer\n";
                return 2;
            }
            *target = *n;
        }
    }

    rule_report report{out};
    out << "Rules:\n";
    auto in = split(raw);
    if (!in) {
        report.fail("Identity header grammar (RFC 8224 s.4)", describe(in.err()));
        out << "Result: INVALID\n";
        return 1;
    }
    const core::identity_header* id = in->identity ? &*in->identity : nullptr;
    if (id) {
        report.pass("Identity header grammar (RFC 8224 s.4)");
        if (id->alg && *id->alg != "ES256")
            report.fail("alg parameter is ES256", "alg=" + *id->alg);
        else report.pass("alg parameter is ES256");
        if (id->compact) report.fail("full form (RFC 8588 s.3, RFC 8946 s.3)", "compact form");
    }
    if (id) {
        // Compared before the strict decode, which reads the claims of the header's ppt and
        // would otherwise hide a mismatch behind a missing claim.
        const std::string header_ppt = raw_header_ppt(in->token);
        if (!id->ppt) report.fail("ppt parameter present", "absent");
        else if (*id->ppt != header_ppt)
            report.fail("ppt parameter equals header ppt", *id->ppt + " vs " + header_ppt);
        else report.pass("ppt parameter equals header ppt");
    }
    // A strict-decode failure does not end the report: the remaining rules are checked on what
    // can still be read, so the operator sees every problem at once.
    auto p = core::decode_passport(in->token);
    const lenient_token loose = read_leniently(in->token);
    if (!p)
        report.fail("PASSporT decodes strictly (ES256, 64-byte R||S, typed claims)", describe(p.err()));
    else report.pass("PASSporT decodes strictly (ES256, 64-byte R||S, typed claims)");
    const std::string header_x5u = p ? p->header.x5u : loose.header_x5u;
    if (id) {
        if (header_x5u.empty())
            report.fail("info equals x5u (RFC 8224 s.4)", "header has no readable x5u");
        else if (id->info != header_x5u)
            report.fail("info equals x5u (RFC 8224 s.4)", "<" + id->info + "> vs " + header_x5u);
        else report.pass("info equals x5u (RFC 8224 s.4)");
    }
    const std::optional<std::int64_t> iat = p ? std::optional(p->claims.iat) : loose.iat;
    if (!iat) {
        report.fail("iat is an integer (RFC 8225 s.5.1.1)",
                    loose.iat_present ? "not an integer" : "absent or unreadable");
    } else {
        const std::int64_t age = now - *iat;
        if (age > window)
            report.fail("iat fresh (<= " + std::to_string(window) + " s old)",
                        std::to_string(age) + " s old");
        else if (-age > skew)
            report.fail("iat not in the future (> " + std::to_string(skew) + " s)",
                        std::to_string(-age) + " s ahead");
        else report.pass("iat fresh (" + skew_text(*iat, now) + ")");
    }

    core::es256_public_key key;
    if (const auto anchors = option(r.options, "trust-anchors")) {
        std::vector<std::string> crls;
        if (const auto crl = option(r.options, "crl")) crls.push_back(*crl);
        try {
            const auto store = sti::trust_store::load(*anchors, crls);
            auto chain = store.verify_chain(*cert_text, now);
            if (chain) {
                report.pass("certificate chain trusted (SPC " + chain->spc + ")");
                key = chain->key;
            } else {
                report.fail("certificate chain trusted", describe(chain.err()));
            }
        } catch (const std::exception& e) {
            err << "stirgate: " << e.what() << "\n";
            return 2;
        }
    }
    if (!key) {
        auto k = core::es256_public_key::from_pem(*cert_text);
        if (!k) {
            report.fail("signer key readable (P-256)", describe(k.err()));
        } else {
            key = *k;
        }
    }
    if (key) {
        const std::string rule = "ES256 signature over the received bytes";
        if (p) {
            auto v = core::verify_passport(*p, key);
            if (v) report.pass(rule);
            else report.fail(rule, describe(v.err()));
        } else if (loose.jws) {
            auto v = core::verify_jws(*loose.jws, key);
            if (v) report.pass(rule + " (claims aside)");
            else report.fail(rule, describe(v.err()));
        } else {
            report.fail(rule, "not checkable: the JWS itself does not decode");
        }
    }
    if (report.failures) {
        out << "Result: INVALID (" << report.failures << " rule(s) failed)\n";
        return 1;
    }
    out << "Result: VALID\n";
    return 0;
}

}  // namespace

std::string tool_usage(const std::string& verb)
{
    if (verb == "calltoken") return calltoken_usage;
    return verb == "identity" ? identity_usage : passport_usage;
}

std::vector<std::string> tool_flags(const std::string& verb, const std::string& subverb)
{
    if (verb == "passport" && subverb == "sign") return {"jws", "bare-ppt"};
    return {};
}

int run_tool(const tool_request& r, std::istream& in, std::ostream& out, std::ostream& err)
{
    const std::string usage = tool_usage(r.verb);
    if (r.help) {
        out << usage;
        return 0;
    }
    auto allowed = [&r, &err, &usage](std::initializer_list<const char*> names) {
        for (const auto& [name, value] : r.options) {
            bool ok = false;
            for (const char* n : names) ok = ok || name == n;
            if (!ok) {
                err << "stirgate: unknown option --" << name << "\n" << usage;
                return false;
            }
        }
        return true;
    };
    std::int64_t now = r.now;
    if (const auto v = option(r.options, "now")) {
        const auto n = parse_int(*v);
        if (!n) {
            err << "stirgate: --now needs an integer (seconds since the epoch)\n";
            return 2;
        }
        now = *n;
    }
    const bool decode = r.subverb == "decode";
    if (decode && (r.verb == "identity" || r.verb == "passport")) {
        if (!allowed({"now"})) return 2;
        const auto input = read_input(r, in, err);
        if (!input) return 2;
        return print_breakdown(*input, now, out);
    }
    if (r.verb == "passport" && r.subverb == "verify") {
        if (!allowed({"cert", "trust-anchors", "crl", "now", "iat-window", "future-skew"})) return 2;
        const auto input = read_input(r, in, err);
        if (!input) return 2;
        return run_verify(r, *input, now, out, err);
    }
    if (r.verb == "calltoken" && r.subverb == "mint") {
        if (!allowed({"key", "account", "call-sid", "from", "to", "identities", "iat"})) return 2;
        return run_calltoken_mint(r, out, err);
    }
    if (r.verb == "passport" && r.subverb == "sign") {
        if (!allowed({"key", "x5u", "orig", "dest", "ppt", "attest", "origid", "div", "iat", "jws",
                      "bare-ppt"}))
            return 2;
        return run_sign(r, out, err);
    }
    err << "stirgate: unknown command '" << r.verb << " " << r.subverb << "'\n" << usage;
    return 2;
}

}  // namespace stirgate::app
