#include "support/postgres_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <stdexcept>
#include <vector>

#include <libpq-fe.h>

#include "support/process.hpp"

namespace stirgate::test {
namespace {

namespace fs = std::filesystem;

const fs::path bin_dir = "/usr/lib/postgresql/15/bin";
constexpr const char* server_user = "postgres";  // the unprivileged user when we are root

// A port that was free a moment ago: bind port 0 on loopback, read it back, close.
std::uint16_t free_loopback_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool got = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    if (!got) throw std::runtime_error("no free loopback port");
    return ntohs(addr.sin_port);
}

std::string tail_of(const fs::path& file, std::size_t max_bytes = 2000)
{
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

}  // namespace

postgres_server::postgres_server()
{
    if (!fs::exists(bin_dir / "initdb"))
        throw std::runtime_error("PostgreSQL 15 is not installed (" + (bin_dir / "initdb").string() +
                                 " missing): run scripts/install-deps.sh");
    // As root the folder goes under /tmp: the server user must be able to reach it, and a
    // TMPDIR below /root would not let it.
    const fs::path base = ::geteuid() == 0 ? fs::path("/tmp") : fs::temp_directory_path();
    std::string tmpl = (base / "stirgate-pg-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    try {
        if (::geteuid() == 0) {
            const passwd* pw = ::getpwnam(server_user);
            if (!pw)
                throw std::runtime_error("running as root and there is no user 'postgres' to run "
                                         "the test server as (initdb refuses root)");
            if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw std::runtime_error("cannot chown " + dir_.string() + " to postgres");
        }
        run_tool("initdb", {"-D", (dir_ / "data").string(), "-U", "stirgate", "-A", "trust",
                            "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"});
        // A free port can be taken between our check and the server's bind: try a few.
        for (int attempt = 0;; ++attempt) {
            port_ = free_loopback_port();
            try {
                start();
                break;
            } catch (const std::exception&) {
                if (attempt == 2) throw;
            }
        }
    } catch (...) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        throw;
    }
}

postgres_server::~postgres_server()
{
    try {
        stop();
    } catch (...) {
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

void postgres_server::run_tool(const std::string& tool, const std::vector<std::string>& args) const
{
    std::string program = (bin_dir / tool).string();
    std::vector<std::string> argv = args;
    if (::geteuid() == 0) {
        argv.insert(argv.begin(), {"-u", server_user, "--", program});
        program = fs::exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
    }
    auto child = child_process::spawn(program, argv);
    const auto code = child.wait(std::chrono::seconds(60));
    if (code != 0) {
        std::string why = tool + " failed (exit " + (code ? std::to_string(*code) : "timeout") +
                          "): " + child.stderr_text() + child.stdout_text();
        if (fs::exists(dir_ / "server.log")) why += "\nserver log:\n" + tail_of(dir_ / "server.log");
        throw std::runtime_error(why);
    }
}

void postgres_server::start()
{
    if (running_) return;
    const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                                " -k " + dir_.string() +
                                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                                " -c max_connections=100 -c shared_buffers=16MB";
    run_tool("pg_ctl", {"-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(),
                        "-w", "-t", "60", "-o", options, "start"});
    running_ = true;
}

void postgres_server::stop()
{
    if (!running_) return;
    running_ = false;
    run_tool("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "fast", "-w", "-t", "60", "stop"});
}

std::string postgres_server::url(const std::string& database) const
{
    return "postgresql://stirgate@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void postgres_server::exec(const std::string& database, const std::string& sql) const
{
    const std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url(database).c_str()),
                                                            &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("test server: cannot connect: " +
                                 std::string(PQerrorMessage(conn.get())));
    const std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()),
                                                          &PQclear);
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error("test server: " + sql + ": " +
                                 std::string(PQresultErrorMessage(r.get())));
}

std::string postgres_server::add_password_user(const std::string& database,
                                               const std::string& user,
                                               const std::string& password)
{
    exec("postgres", "CREATE ROLE " + user + " LOGIN PASSWORD '" + password + "'");
    exec(database, "GRANT ALL ON SCHEMA public TO " + user);
    // pg_hba.conf is read top down: this line comes before initdb's trust lines.
    const fs::path hba = dir_ / "data" / "pg_hba.conf";
    std::string rules;
    {
        std::ifstream in(hba);
        rules.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::ofstream(hba, std::ios::trunc)
        << "host all " << user << " 127.0.0.1/32 scram-sha-256\n" << rules;
    exec("postgres", "SELECT pg_reload_conf()");
    const std::string role_url =
        "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
    // The reload is a signal: wait until a connection without the password is refused.
    for (int i = 0; i < 100; ++i) {
        const std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
            PQconnectdb((role_url + "?connect_timeout=2").c_str()), &PQfinish);
        if (PQstatus(conn.get()) != CONNECTION_OK) return role_url;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("test server: pg_hba.conf reload did not take effect");
}

std::string postgres_server::create_database()
{
    const std::string name = "stirgate_t" + std::to_string(++databases_);
    // FILE_COPY copies template1's few files instead of logging every block: much faster for
    // the small databases of tests.
    exec("postgres", "CREATE DATABASE " + name + " STRATEGY FILE_COPY");
    return url(name);
}

postgres_server& shared_postgres()
{
    static std::optional<std::string> failure;
    static std::unique_ptr<postgres_server> server;
    if (failure) throw std::runtime_error(*failure);
    if (!server) {
        try {
            server = std::make_unique<postgres_server>();
        } catch (const std::exception& e) {
            failure = std::string("cannot start the PostgreSQL test server: ") + e.what();
            throw std::runtime_error(*failure);
        }
    }
    return *server;
}

}  // namespace stirgate::test
