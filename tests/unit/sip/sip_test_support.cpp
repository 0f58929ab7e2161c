#include "unit/sip/sip_test_support.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace stirgate::test {

std::string recorded_sip(std::string_view name)
{
    const std::string path =
        std::string(STIRGATE_SOURCE_DIR) + "/tests/unit/sip/messages/" + std::string(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    std::string out;
    for (const char c : s.str()) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

std::vector<std::string> sip_headers(std::string_view message, std::string_view name)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < message.size()) {
        auto eol = message.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = message.size();
        const std::string_view line = message.substr(pos, eol - pos);
        if (line.empty()) break;
        pos = eol + 2;
        if (line.size() > name.size() + 1 && line.substr(0, name.size()) == name &&
            line.substr(name.size(), 2) == ": ")
            out.emplace_back(line.substr(name.size() + 2));
    }
    return out;
}

std::string sip_header(std::string_view message, std::string_view name)
{
    auto all = sip_headers(message, name);
    return all.empty() ? std::string() : all.front();
}

int sip_status(std::string_view message)
{
    if (message.substr(0, 8) != "SIP/2.0 " || message.size() < 11) return 0;
    return std::stoi(std::string(message.substr(8, 3)));
}

}  // namespace stirgate::test
