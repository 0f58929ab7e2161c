// `stirgate migrate --config FILE` (README "Command line") against SQLite and a real PostgreSQL.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "store/postgres_schema.hpp"
#include "store/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
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
    const std::string sqlite_version =
        "schema version " + std::to_string(stirgate::store::sqlite_store::schema_version) + "\n";
    const std::string pg_version =
        "schema version " + std::to_string(stirgate::store::pg::schema_version) + "\n";
    CHECK(sqlite.out == sqlite_version);

    const std::string url = stirgate::test::shared_postgres().create_database();
    const auto pg = run_stirgate({"migrate", "--config", config}, {"STIRGATE_STORAGE_URL=" + url});
    CHECK(pg.code == 0);
    CHECK(pg.out == pg_version);
    const auto again = run_stirgate({"migrate", "--config", config}, {"STIRGATE_STORAGE_URL=" + url});
    CHECK(again.code == 0);
    CHECK(again.out == pg_version);

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

TEST_CASE("with [storage] migrate = false serve waits for stirgate migrate; password_file logs in",
          "[integration]")
{
    auto& server = stirgate::test::shared_postgres();
    const std::string db_url = server.create_database();
    const std::string database = db_url.substr(db_url.rfind('/') + 1);
    const std::string role_url = server.add_password_user(database, "stirgate_release", "r3l-pw");
    const stirgate::test::temp_dir dir;
    std::ofstream(dir.path() / "db-password") << "r3l-pw\n";
    std::string text = stirgate::test::forwarding_config(9, role_url);
    const std::string storage = "[storage]\n";
    text.replace(text.find(storage), storage.size(),
                 storage + "migrate = false\npassword_file = \"db-password\"\n");
    const std::string config = dir.write("stirgate.toml", text);

    const auto refused = run_stirgate({"serve", "--config", config, "--listen", "127.0.0.1:0"});
    CHECK(refused.code == 2);  // serve's start-up failures exit 2 (cli.cpp)
    CHECK_THAT(refused.err, Catch::Contains("schema version 0 is older") &&
                                Catch::Contains("stirgate migrate"));
    CHECK(refused.err.find("r3l-pw") == std::string::npos);

    const auto migrated = run_stirgate({"migrate", "--config", config});
    CHECK(migrated.code == 0);
    CHECK(migrated.out == "schema version 3\n");

    auto gw = stirgate::test::gateway_process::start(config);
    const auto ready =
        stirgate::test::http_exchange(gw.port(), "GET /readyz HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    REQUIRE(ready);
    CHECK(ready->status == 200);
    CHECK(gw.stop() == std::optional<int>(0));
    CHECK(gw.stdout_text().find("r3l-pw") == std::string::npos);
}
