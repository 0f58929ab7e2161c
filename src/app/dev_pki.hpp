#pragma once
// `stirgate init`: a self-contained development setup. Writes a config and development key
// material (a test STI root CA, an STI signing certificate with a TNAuthList SPC, the CallToken
// platform key pair) so that the gateway can sign and verify on a laptop. Never for production.

#include <cstdint>
#include <string>
#include <vector>

namespace stirgate::app {

struct init_options {
    std::string dir;                  // created if missing
    std::string listen = "127.0.0.1:8080";
    std::string public_url;           // default http://<listen>
    std::string spc = "1234";         // service provider code put in the TNAuthList
    std::int64_t now = 0;             // certificate validity starts here (seconds since epoch)
};

struct init_report {
    std::vector<std::string> written;  // paths created by this run
    std::vector<std::string> kept;     // paths that existed and were left untouched
};

// Creates DIR/stirgate.toml and DIR/keys/*. Existing files are never overwritten: a second run
// leaves everything as it is. Throws std::runtime_error with one clear line on I/O or OpenSSL
// failure.
init_report run_init(const init_options& options);

}  // namespace stirgate::app
