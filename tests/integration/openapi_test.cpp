// api/openapi.yaml documents exactly the routes the gateway serves: every route of the route
// table is in the document with its method, and the document names no route that is not served.

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "app/gateway.hpp"
#include "net/router.hpp"

namespace {

// "METHOD /path" for every operation under `paths:` (two-space path keys, four-space methods).
std::set<std::string> documented_operations()
{
    std::ifstream in(std::string(STIRGATE_SOURCE_DIR) + "/api/openapi.yaml");
    REQUIRE(in);
    const std::regex path_line(R"(^  (/[^:]*):\s*$)");
    const std::regex method_line(R"(^    (get|post|put|patch|delete|head|options):\s*$)");
    std::set<std::string> out;
    std::string line;
    std::string path;
    bool in_paths = false;
    while (std::getline(in, line)) {
        if (line == "paths:") {
            in_paths = true;
            continue;
        }
        if (in_paths && !line.empty() && line[0] != ' ') in_paths = false;
        if (!in_paths) continue;
        std::smatch m;
        if (std::regex_match(line, m, path_line)) path = m[1];
        else if (std::regex_match(line, m, method_line)) {
            std::string method = m[1];
            for (char& c : method) c = static_cast<char>(c - 'a' + 'A');
            out.insert(method + " " + path);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("every served route is in api/openapi.yaml and every documented route is served",
          "[integration][openapi]")
{
    stirgate::app::config cfg;
    cfg.storage.url = "sqlite://:memory:";
    cfg.server.listen = {"127.0.0.1", 0};
    std::ostringstream log;
    stirgate::app::gateway_options opts;
    opts.log_out = &log;
    stirgate::app::gateway gw(cfg, opts);

    std::set<std::string> served;
    for (const auto& r : gw.routes().routes())
        served.insert(std::string(boost::beast::http::to_string(r.method)) + " " + r.pattern);

    const auto documented = documented_operations();
    REQUIRE_FALSE(documented.empty());
    for (const auto& op : served) {
        INFO("served but not documented: " << op);
        CHECK(documented.count(op) == 1);
    }
    for (const auto& op : documented) {
        INFO("documented but not served: " << op);
        CHECK(served.count(op) == 1);
    }
}
