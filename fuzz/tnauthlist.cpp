// The TNAuthList extension (RFC 8226 section 9) of certificates fetched from x5u URLs: a hand
// written DER reader over attacker-controlled bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/tnauthlist.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

namespace {

bool only(const std::string& s, std::string_view alphabet)
{
    return s.find_first_not_of(alphabet) == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto list = core::parse_tnauthlist(std::span<const std::uint8_t>(data, size));
    if (!list) {
        FUZZ_CHECK(list.err().code == errc::cert_no_tnauthlist);
        return 0;
    }
    // Strict DER of a non-empty list: every entry took at least a few input bytes.
    const std::size_t entries = list->spcs.size() + list->ranges.size() + list->tns.size();
    FUZZ_CHECK(entries > 0);
    FUZZ_CHECK(entries * 4 <= size);
    for (const auto& tn : list->tns)
        FUZZ_CHECK(!tn.empty() && tn.size() <= 15 && only(tn, "0123456789#*"));
    for (const auto& r : list->ranges) FUZZ_CHECK(r.count >= 2 && !r.start.empty());
    return 0;
}
