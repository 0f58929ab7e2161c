// application/x-www-form-urlencoded bodies (every edge webhook and Calls API request) and the
// encodeURIComponent layer of CallToken: refuse bad escapes, and round-trip what parses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    if (auto form = core::parse_form(input)) {
        const std::string text = core::format_form(*form);
        auto again = core::parse_form(text);
        FUZZ_CHECK(again);
        FUZZ_CHECK(again->entries() == form->entries());
        for (const auto& p : *form) {
            FUZZ_CHECK(form->contains(p.name));
            FUZZ_CHECK(!form->all(p.name).empty());
        }
        // What the edge-signature check does with a parsed body.
        (void)core::check_twilio_signature("token", "https://gw.example.test/webhooks/incoming-call",
                                           *form, "c2lnbmF0dXJl");
    } else {
        FUZZ_CHECK(form.err().code == errc::form_invalid);
    }

    if (auto decoded = core::decode_uri_component(input)) {
        const std::string encoded = core::encode_uri_component(*decoded);
        auto again = core::decode_uri_component(encoded);
        FUZZ_CHECK(again && *again == *decoded);
    } else {
        FUZZ_CHECK(decoded.err().code == errc::percent_encoding_invalid);
    }
    return 0;
}
