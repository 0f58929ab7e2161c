// A Calls API To/From/CallerId and the SIP credentials (core/call_address.hpp): what is
// accepted is kept byte for byte, and no accepted SIP or client address holds a byte that
// could end a SIP header line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/call_address.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    if (auto address = core::parse_call_address(input)) {
        if (address->is_phone()) {
            FUZZ_CHECK(address->text() == address->number().e164());
        } else {
            FUZZ_CHECK(address->text() == input);
            for (const char c : input) FUZZ_CHECK(c > ' ' && c < '\x7f');
            if (address->kind() == core::address_kind::sip)
                FUZZ_CHECK(input.substr(0, input.find('?')).size() <= core::max_sip_uri_chars);
            else
                FUZZ_CHECK(input.size() <= 7 + core::max_client_name_chars);
        }
    } else {
        FUZZ_CHECK(address.code() == errc::tn_invalid || address.code() == errc::invalid_parameter);
    }

    if (core::check_caller_id(input)) {
        for (const char c : input) FUZZ_CHECK(c > ' ' && c < '\x7f');
    }
    if (core::check_sip_credential(input)) {
        FUZZ_CHECK(!input.empty() && input.size() <= 255);
        for (const char c : input) FUZZ_CHECK(c > ' ' && c < '\x7f' && c != '"' && c != '\\');
    }
    return 0;
}
