// placeholder: the integrator fills the CLI; serve is wired already so integration tests can run.
#include "app/cli.hpp"

#include <cstring>
#include <iostream>
#include <string>

#include "app/gateway.hpp"

namespace stirgate::app {

int run_cli(int argc, char** argv)
{
    if (argc >= 2 && std::strcmp(argv[1], "serve") == 0) {
        serve_options opts;
        for (int i = 2; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--config" && i + 1 < argc) opts.config_path = argv[++i];
            else if (a == "--listen" && i + 1 < argc) opts.listen = argv[++i];
        }
        return serve_command(opts);
    }
    std::cerr << "usage: stirgate serve --config FILE [--listen HOST:PORT]\n";
    return 2;
}

}  // namespace stirgate::app
