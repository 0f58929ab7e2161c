#include "support/haproxy.hpp"

#include <filesystem>

namespace stirgate::test {

std::string find_haproxy()
{
    for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"})
        if (std::filesystem::exists(p)) return p;
    return {};
}

std::string answering_instance(const http_reply& reply)
{
    const std::string id = reply.header("X-Request-Id");
    return id.substr(0, id.find('-'));
}

}  // namespace stirgate::test
