// Identity header values (RFC 8224 section 4) as an edge or an ATIS client sends them: the
// parser must refuse garbage with an error, and what it accepts must survive a format/parse
// round trip.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string_view value = core::strip_identity_header_name(input);
    FUZZ_CHECK(value.size() <= input.size());

    auto parsed = core::parse_identity_header(value);
    if (!parsed) {
        FUZZ_CHECK(parsed.err().code == errc::identity_header_malformed);
        return 0;
    }
    FUZZ_CHECK(!parsed->token.empty());
    if (parsed->compact) FUZZ_CHECK(parsed->token.rfind("..", 0) == 0);

    // What we would write for this token and info reads back as the same token and info.
    const std::string again = core::format_identity_header(parsed->token, parsed->info,
                                                           core::passport_type::shaken);
    auto reparsed = core::parse_identity_header(again);
    FUZZ_CHECK(reparsed);
    FUZZ_CHECK(reparsed->token == parsed->token);
    FUZZ_CHECK(reparsed->info == parsed->info);
    FUZZ_CHECK(reparsed->ppt && *reparsed->ppt == "shaken");

    // The token goes on to the PASSporT decoder, as the verifier does.
    if (!parsed->compact) (void)core::decode_passport(parsed->token);
    return 0;
}
