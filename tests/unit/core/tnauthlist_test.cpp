#include "core/tnauthlist.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using stirgate::errc;
using stirgate::core::parse_tnauthlist;
using stirgate::core::tn_range;

std::uint8_t nibble(char c)
{
    return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
}

// Lower-case hex to bytes; spaces are ignored so tables can show the TLV structure.
std::vector<std::uint8_t> from_hex(std::string_view hex)
{
    std::string digits;
    for (const char c : hex) {
        if (c != ' ') digits.push_back(c);
    }
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
    }
    return out;
}

}  // namespace

TEST_CASE("the TNAuthList values of the vector certificates give their SPC", "[core][tnauthlist]")
{
    // TEST-VECTORS.md section 3: SEQUENCE { [0] { IA5String "1234" } } and friends.
    const auto [hex, spc] = GENERATE(table<std::string_view, std::string_view>({
        {"3008a006160431323334", "1234"},
        {"3008a006160435363738", "5678"},
        {"3008a006160439393939", "9999"},
    }));
    const auto der = from_hex(hex);
    const auto list = parse_tnauthlist(der);
    REQUIRE(list.has_value());
    REQUIRE(list->spcs == std::vector<std::string>{std::string(spc)});
    CHECK(list->tns.empty());
    CHECK(list->ranges.empty());
}

TEST_CASE("a TNAuthList with SPC, range and one entries is read in order", "[core][tnauthlist]")
{
    // SEQUENCE {
    //   [0] { IA5String "616H" }
    //   [1] { SEQUENCE { IA5String "14155550100", INTEGER 256 } }
    //   [2] { IA5String "1415555#*" }
    // }
    const auto der = from_hex("302a"
                              " a006 1604 36313648"
                              " a113 3011 160b 3134313535353530313030 0202 0100"
                              " a20b 1609 31343135353535 232a");
    const auto list = parse_tnauthlist(der);
    REQUIRE(list.has_value());
    CHECK(list->spcs == std::vector<std::string>{"616H"});
    CHECK(list->ranges == std::vector<tn_range>{{"14155550100", 256}});
    CHECK(list->tns == std::vector<std::string>{"1415555#*"});
}

TEST_CASE("TNAuthList size boundaries are accepted", "[core][tnauthlist]")
{
    SECTION("a range SEQUENCE may carry later extension components")
    {
        // [1] { SEQUENCE { "1415", INTEGER 2, NULL } }: the NULL stands for a future component.
        const auto list = parse_tnauthlist(from_hex("300f a10d 300b 160431343135 020102 0500"));
        REQUIRE(list.has_value());
        CHECK(list->ranges == std::vector<tn_range>{{"1415", 2}});
    }
    SECTION("a count with a required leading zero octet")
    {
        const auto list = parse_tnauthlist(from_hex("300e a10c 300a 160431343135 020200ff"));
        REQUIRE(list.has_value());
        CHECK(list->ranges == std::vector<tn_range>{{"1415", 255}});
    }
    SECTION("a 15-digit TelephoneNumber")
    {
        const auto list =
            parse_tnauthlist(from_hex("3013 a211 160f 313233343536373839303132333435"));
        REQUIRE(list.has_value());
        CHECK(list->tns == std::vector<std::string>{"123456789012345"});
    }
}

TEST_CASE("malformed TNAuthList DER is refused without over-reading", "[core][tnauthlist]")
{
    const auto hex = GENERATE(as<std::string_view>{},
        "",                                       // nothing
        "30",                                     // tag only
        "3000",                                   // empty list: SIZE (1..MAX)
        "3008 a006 1604 313233",                  // truncated by one byte
        "3009 a006 1604 31323334",                // outer length one too long
        "3008 a006 1604 31323334 00",             // trailing byte after the SEQUENCE
        "3080 a006 1604 31323334 0000",           // indefinite length
        "308108 a006 1604 31323334",              // non-minimal long-form length
        "30820008 a006 1604 31323334",            // long form with a leading zero octet
        "3085 000000000a",                        // length of length too large
        "30ff",                                   // long form, missing length octets
        "3108 a006 1604 31323334",                // SET instead of SEQUENCE
        "3008 a006 0c04 31323334",                // UTF8String instead of IA5String
        "3009 a007 1604 31323334 00",             // trailing byte inside [0]
        "3004 a002 1600",                         // empty SPC
        "3008 a006 1604 31320a34",                // control character in SPC
        "3008 a306 1604 31323334",                // unknown CHOICE tag [3]
        "3008 a006 1f04 31323334",                // high-tag-number form
        "3008 a206 1604 31323341",                // 'A' in a TelephoneNumber
        "3014 a212 1610 31323334353637383930313233343536",  // 16 digits
        "3004 a202 1600",                         // empty TelephoneNumber
        "300d a10b 3009 160431343135 020101",     // range count 1 (must be >= 2)
        "300d a10b 3009 160431343135 020180",     // negative count
        "300e a10c 300a 160431343135 02020002",   // non-minimal INTEGER
        "300c a10a 3008 160431343135 0200",       // empty INTEGER
        "300a a108 3006 160431343135",            // range without count
        "3015 a113 3011 160431343135 0209010203040506070809",  // count wider than 64 bits
        "300e a10c 300a 160431343135 020102 ff",  // truncated TLV after count
        "3006 a104 3002 0500"                     // range whose start is not a TelephoneNumber
    );
    CAPTURE(hex);
    const auto list = parse_tnauthlist(from_hex(hex));
    REQUIRE_FALSE(list.has_value());
    CHECK(list.code() == errc::cert_no_tnauthlist);
}

TEST_CASE("every prefix of a valid TNAuthList is refused", "[core][tnauthlist]")
{
    const auto full = from_hex("302a a006160436313648 a1133011160b313431353535353031303002020100"
                               " a20b160931343135353535232a");
    REQUIRE(parse_tnauthlist(full).has_value());
    for (std::size_t n = 0; n < full.size(); ++n) {
        CAPTURE(n);
        const std::span<const std::uint8_t> prefix(full.data(), n);
        CHECK_FALSE(parse_tnauthlist(prefix).has_value());
    }
}
