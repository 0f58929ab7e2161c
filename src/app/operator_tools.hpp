#pragma once
// Operator tools behind `stirgate passport decode|verify|sign`, `stirgate identity decode` and
// `stirgate calltoken mint`.
// Streams and the clock come in as arguments so tests run them in-process.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace stirgate::app {

struct tool_request {
    std::string verb;     // "passport", "identity" or "calltoken"
    std::string subverb;  // "decode", "verify", "sign", "mint"
    std::map<std::string, std::string> options;
    std::vector<std::string> positional;  // the last one is the input; "-" reads stdin
    bool help = false;
    std::int64_t now = 0;  // seconds since the epoch
};

std::string tool_usage(const std::string& verb);
// Options of a sub-verb that take no value.
std::vector<std::string> tool_flags(const std::string& verb, const std::string& subverb);

// Exit codes: 0 success (verify: the PASSporT verified), 1 verification failed or input not a
// PASSporT, 2 usage error.
int run_tool(const tool_request& request, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace stirgate::app
