// `stirgate migrate --config FILE` (README "Command line") against SQLite and a real PostgreSQL.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using stirgate::test::child_process;

struct run_result {
    int code = -1;
    std::string out;
    std::string err;
};

run_result run_stirgate(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {})
{
    auto child = child_process::spawn(STIRGATE_BINARY, args, env);
    const auto code = child.wait(std::chrono::seconds(30));
    REQUIRE(code.has_value());
    return {*code, child.stdout_text(), child.stderr_text()};
}

}  // namespace

TEST_CASE("stirgate migrate applies the schema of either engine and prints its version",
          "[integration]")
{
    const stirgate::test::temp_dir dir;
    const std::string config = (dir.path() / "stirgate.toml").string();
    REQUIRE(run_stirgate({"init", "--dir", dir.path().string()}).code == 0);

    const auto sqlite = run_stirgate({"migrate", "--config", config});
    CHECK(sqlite.code == 0);
    CHECK(sqlite.out == "schema version 4\n");

    const std::string url = stirgate::test::shared_postgres().create_database();
    const auto pg = run_stirgate({"migrate", "--config", config}, {"STIRGATE_STORAGE_URL=" + url});
    CHECK(pg.code == 0);
    CHECK(pg.out == "schema version 2\n");
    const auto again = run_stirgate({"migrate", "--config", config}, {"STIRGATE_STORAGE_URL=" + url});
    CHECK(again.code == 0);
    CHECK(again.out == "schema version 2\n");

    // Nothing listens on port 1: one line, exit 1, no password.
    const auto down = run_stirgate({"migrate", "--config", config},
                                   {"STIRGATE_STORAGE_URL=postgresql://u:s3cret@127.0.0.1:1/x"});
    CHECK(down.code == 1);
    CHECK(down.out.empty());
    CHECK_THAT(down.err, Catch::StartsWith("stirgate: migrate: ") && Catch::Contains("cannot connect"));
    CHECK(down.err.find('\n') == down.err.size() - 1);
    CHECK(down.err.find("s3cret") == std::string::npos);

    CHECK(run_stirgate({"migrate"}).code == 2);
}
