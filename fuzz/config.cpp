// The TOML config loader: an operator's typo must end in one clear line naming the file and
// the key (std::runtime_error), never a crash, another exception or a silently odd value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "app/config.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // A fixed environment: one override, so the override path runs too.
    const app::env_lookup env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "STIRGATE_THREADS") return "2";
        return std::nullopt;
    };
    try {
        const app::config cfg = app::parse_config(text, "fuzz.toml", "/etc/stirgate", env);
        FUZZ_CHECK(cfg.server.threads == 2);
        FUZZ_CHECK(cfg.server.max_header_bytes > 0);
        for (const auto& a : cfg.accounts) {
            FUZZ_CHECK(a.sid.size() == 34 && a.sid.rfind("AC", 0) == 0);
            for (const auto& n : a.numbers)
                FUZZ_CHECK(n.attest == 'A' || n.attest == 'B' || n.attest == 'C');
        }
        for (const auto& p : cfg.server.trusted_proxies)
            FUZZ_CHECK(p.prefix_len <= (p.ipv6 ? 128u : 32u));
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        // One line, naming the source.
        FUZZ_CHECK(what.rfind("fuzz.toml: ", 0) == 0);
        FUZZ_CHECK(what.find('\n') == std::string::npos);
    }
    return 0;
}
