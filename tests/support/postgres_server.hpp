#pragma once
// A real PostgreSQL 15 server for the tests, started by the tests themselves: initdb in a
// temporary folder, pg_ctl start listening on 127.0.0.1 on a free port (and a unix socket in
// that folder), pg_ctl stop -m fast and the folder removed at the end. As root (CI) every
// server command runs as the unprivileged user postgres (runuser), which owns the folder:
// PostgreSQL refuses to run as root. Trust authentication, loopback only, fsync off (the tests
// check behaviour, not durability across power loss).

#include <cstdint>
#include <filesystem>
#include <string>

namespace stirgate::test {

class postgres_server final {
public:
    // Starts the server; throws std::runtime_error with the reason (binaries missing, initdb
    // or pg_ctl failed, with the server log's last lines) so the tests that need it fail.
    postgres_server();
    ~postgres_server();
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // postgresql://stirgate@127.0.0.1:PORT/DATABASE
    std::string url(const std::string& database) const;
    // Creates a new, empty database (its own name, so test cases never see each other's rows)
    // and returns its URL.
    std::string create_database();
    // Runs one SQL statement on the given database (test setup and checks); throws on failure.
    void exec(const std::string& database, const std::string& sql) const;

    // Creates login role `user` (owner of nothing, allowed to connect and create tables in
    // `database`) that must give `password` (scram-sha-256) on 127.0.0.1, while every other
    // user keeps trust authentication: the password tests. Returns the role's URL for
    // `database`, without the password.
    std::string add_password_user(const std::string& database, const std::string& user,
                                  const std::string& password);

    // pg_ctl stop -m fast / start again on the same port and folder (outage tests).
    void stop();
    void start();

private:
    void run_tool(const std::string& tool, const std::vector<std::string>& args) const;

    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    bool running_ = false;
    int databases_ = 0;
};

// The server of this test binary, started on first use and stopped at exit. Every call after a
// failed start throws the same reason again.
postgres_server& shared_postgres();

}  // namespace stirgate::test
