#include "core/tnauthlist.hpp"

#include <cstddef>
#include <string_view>

namespace stirgate::core {
namespace {

// DER identifier octets used by RFC 8226's module (X.690 section 8.1.2).
constexpr std::uint8_t tag_sequence = 0x30;
constexpr std::uint8_t tag_integer = 0x02;
constexpr std::uint8_t tag_ia5string = 0x16;
constexpr std::uint8_t tag_ctx_spc = 0xA0;    // [0] constructed (EXPLICIT)
constexpr std::uint8_t tag_ctx_range = 0xA1;  // [1]
constexpr std::uint8_t tag_ctx_one = 0xA2;    // [2]

// RFC 8226 section 9: TelephoneNumber ::= IA5String (SIZE (1..15)) FROM ("0123456789#*").
constexpr std::size_t max_tn_digits = 15;

error bad(const char* why)
{
    return error{errc::cert_no_tnauthlist, std::string("malformed TNAuthList: ") + why};
}

struct tlv {
    std::uint8_t tag = 0;
    std::span<const std::uint8_t> value;
};

// Reads one TLV from the front of `in` and advances `in` past it. Only single-byte tags occur
// in this module, so a high-tag-number form (low bits 0x1F) is refused rather than decoded.
result<tlv> read_tlv(std::span<const std::uint8_t>& in)
{
    if (in.size() < 2) return bad("truncated TLV");
    const std::uint8_t tag = in[0];
    if ((tag & 0x1F) == 0x1F) return bad("multi-byte tag");
    std::size_t pos = 1;
    const std::uint8_t first = in[pos++];
    std::size_t length = 0;
    if (first < 0x80) {
        length = first;
    } else {
        // X.690 section 10.1: DER forbids the indefinite form (0x80) and requires the shortest
        // length encoding, so long form starts with a non-zero octet and encodes >= 128.
        const std::size_t n = first & 0x7F;
        if (n == 0) return bad("indefinite length");
        if (n > 4) return bad("length too large");
        if (in.size() - pos < n) return bad("truncated length");
        if (in[pos] == 0) return bad("non-minimal length");
        for (std::size_t i = 0; i < n; ++i) length = (length << 8) | in[pos++];
        if (length < 0x80) return bad("non-minimal length");
    }
    if (in.size() - pos < length) return bad("length exceeds input");
    tlv out{tag, in.subspan(pos, length)};
    in = in.subspan(pos + length);
    return out;
}

// Reads exactly one TLV with the expected tag that must fill `in` completely.
result<std::span<const std::uint8_t>> read_only(std::span<const std::uint8_t> in,
                                                std::uint8_t expected_tag)
{
    auto t = read_tlv(in);
    if (!t) return std::move(t).err();
    if (t->tag != expected_tag) return bad("unexpected tag");
    if (!in.empty()) return bad("trailing bytes");
    return t->value;
}

std::string_view as_chars(std::span<const std::uint8_t> v)
{
    return {reinterpret_cast<const char*>(v.data()), v.size()};
}

result<std::string> read_spc(std::span<const std::uint8_t> content)
{
    auto v = read_only(content, tag_ia5string);
    if (!v) return std::move(v).err();
    if (v->empty()) return bad("empty SPC");
    // IA5String allows control characters; an SPC is a short visible code (an OCN such as
    // "1234" or "616H") that ends up in logs and JSON, so anything else is refused.
    for (const std::uint8_t c : *v) {
        if (c < 0x21 || c > 0x7E) return bad("SPC character outside visible ASCII");
    }
    return std::string(as_chars(*v));
}

result<std::string> read_telephone_number(std::span<const std::uint8_t>& in)
{
    auto t = read_tlv(in);
    if (!t) return std::move(t).err();
    if (t->tag != tag_ia5string) return bad("TelephoneNumber is not an IA5String");
    if (t->value.empty() || t->value.size() > max_tn_digits) return bad("TelephoneNumber size");
    for (const std::uint8_t c : t->value) {
        if (!((c >= '0' && c <= '9') || c == '#' || c == '*')) {
            return bad("TelephoneNumber character");
        }
    }
    return std::string(as_chars(t->value));
}

result<std::uint64_t> read_count(std::span<const std::uint8_t>& in)
{
    auto t = read_tlv(in);
    if (!t) return std::move(t).err();
    if (t->tag != tag_integer) return bad("count is not an INTEGER");
    auto v = t->value;
    if (v.empty()) return bad("empty INTEGER");
    if (v[0] & 0x80) return bad("negative count");
    // X.690 section 8.3.2: no redundant leading zero octet.
    if (v.size() > 1 && v[0] == 0 && !(v[1] & 0x80)) return bad("non-minimal INTEGER");
    if (v[0] == 0) v = v.subspan(1);
    if (v.size() > 8) return bad("count too large");
    std::uint64_t n = 0;
    for (const std::uint8_t b : v) n = (n << 8) | b;
    if (n < 2) return bad("range count below 2");
    return n;
}

result<tn_range> read_range(std::span<const std::uint8_t> content)
{
    auto seq = read_only(content, tag_sequence);
    if (!seq) return std::move(seq).err();
    auto rest = *seq;
    auto start = read_telephone_number(rest);
    if (!start) return std::move(start).err();
    auto count = read_count(rest);
    if (!count) return std::move(count).err();
    // The SEQUENCE has an extension marker ("..."): later versions may append components, so
    // well-formed TLVs after count are skipped rather than refused.
    while (!rest.empty()) {
        auto extra = read_tlv(rest);
        if (!extra) return std::move(extra).err();
    }
    return tn_range{std::move(*start), *count};
}

}  // namespace

result<tn_auth_list> parse_tnauthlist(std::span<const std::uint8_t> der)
{
    auto list = read_only(der, tag_sequence);
    if (!list) return std::move(list).err();
    if (list->empty()) return bad("empty list");  // SIZE (1..MAX)

    tn_auth_list out;
    auto rest = *list;
    while (!rest.empty()) {
        auto entry = read_tlv(rest);
        if (!entry) return std::move(entry).err();
        switch (entry->tag) {
        case tag_ctx_spc: {
            auto spc = read_spc(entry->value);
            if (!spc) return std::move(spc).err();
            out.spcs.push_back(std::move(*spc));
            break;
        }
        case tag_ctx_range: {
            auto range = read_range(entry->value);
            if (!range) return std::move(range).err();
            out.ranges.push_back(std::move(*range));
            break;
        }
        case tag_ctx_one: {
            auto inner = entry->value;
            auto tn = read_telephone_number(inner);
            if (!tn) return std::move(tn).err();
            if (!inner.empty()) return bad("trailing bytes");
            out.tns.push_back(std::move(*tn));
            break;
        }
        default:
            return bad("unknown TNEntry tag");
        }
    }
    return out;
}

}  // namespace stirgate::core
