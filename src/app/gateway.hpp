#pragma once
// `stirgate serve`: load the config, build every object in order, run until SIGTERM/SIGINT.

#include <optional>
#include <string>

namespace stirgate::app {

struct serve_options {
    std::string config_path;
    std::optional<std::string> listen;  // --listen HOST:PORT overrides [server] listen
};

// Returns the process exit code: 0 after a clean drain, non-zero (with one clear line on stderr)
// for a bad config or a failure to bind.
int serve_command(const serve_options& options);

}  // namespace stirgate::app
