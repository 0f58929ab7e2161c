#include "app/cli.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/dev_pki.hpp"
#include "app/gateway.hpp"
#include "app/operator_tools.hpp"
#include "store/migrate.hpp"

namespace stirgate::app {
namespace {

constexpr const char* main_usage =
    "usage: stirgate <verb> [options]\n"
    "\n"
    "verbs:\n"
    "  init --dir DIR [--listen HOST:PORT] [--public-url URL]\n"
    "      write DIR/stirgate.toml and development keys (never overwrites)\n"
    "  serve --config FILE [--listen HOST:PORT]\n"
    "      run the gateway\n"
    "  migrate --config FILE\n"
    "      apply the storage schema ([storage] url) and print its version\n"
    "  passport decode|verify|sign ...\n"
    "      decode, verify or sign a PASSporT (see stirgate passport --help)\n"
    "  identity decode [--now EPOCH] INPUT|-\n"
    "      readable breakdown of an Identity header value\n"
    "  calltoken mint ...\n"
    "      mint a CallToken for tests and load generation (see stirgate calltoken --help)\n"
    "\n"
    "Every verb answers --help.\n";

constexpr const char* init_usage =
    "usage: stirgate init --dir DIR [--listen HOST:PORT] [--public-url URL]\n"
    "\n"
    "Writes DIR/stirgate.toml and development material under DIR/keys/: a test STI root CA,\n"
    "an STI signing certificate with a TNAuthList SPC and its chain, the STI private key, the\n"
    "CallToken platform key pair, and one demo account with one number. Existing files are\n"
    "left untouched, so running it again is safe. TEST ONLY material: never deploy these keys.\n";

constexpr const char* serve_usage =
    "usage: stirgate serve --config FILE [--listen HOST:PORT]\n"
    "\n"
    "Runs the gateway. Logs one JSON line per request to stdout. SIGTERM or SIGINT drains\n"
    "in-flight requests and exits 0; a bad config exits 2 with one line on stderr.\n";

constexpr const char* migrate_usage =
    "usage: stirgate migrate --config FILE\n"
    "\n"
    "Opens the store named by [storage] url (SQLite file or PostgreSQL database), applies every\n"
    "missing schema migration and prints the schema version. serve does the same at start; run\n"
    "this first when several instances share one database. Exits 1 with one line on failure.\n";

// Command-line arguments after the verb: "--name value" options, "--flag" switches and
// positional arguments (the last one, or "-" for stdin, is the input of the operator tools).
struct parsed_args {
    std::map<std::string, std::string> options;
    std::vector<std::string> positional;
    bool help = false;
};

// `flags` names the options that take no value.
std::optional<parsed_args> parse_args(int argc, char** argv, int first,
                                      const std::vector<std::string>& flags, std::string& problem)
{
    parsed_args out;
    for (int i = first; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
        } else if (a.size() > 2 && a.rfind("--", 0) == 0) {
            const std::string name = a.substr(2);
            bool is_flag = false;
            for (const auto& f : flags) is_flag = is_flag || f == name;
            if (is_flag) {
                out.options[name] = "1";
            } else if (i + 1 < argc) {
                out.options[name] = argv[++i];
            } else {
                problem = "option " + a + " needs a value";
                return std::nullopt;
            }
        } else {
            out.positional.push_back(a);
        }
    }
    return out;
}

std::int64_t now_seconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int usage_error(const std::string& problem, const char* usage)
{
    std::cerr << "stirgate: " << problem << "\n" << usage;
    return 2;
}

// Checks that only the expected options were given.
bool only_options(const parsed_args& args, const std::vector<std::string>& allowed,
                  std::string& problem)
{
    for (const auto& [name, value] : args.options) {
        bool known = false;
        for (const auto& a : allowed) known = known || a == name;
        if (!known) {
            problem = "unknown option --" + name;
            return false;
        }
    }
    return true;
}

int run_init_verb(int argc, char** argv)
{
    std::string problem;
    auto args = parse_args(argc, argv, 2, {}, problem);
    if (!args) return usage_error(problem, init_usage);
    if (args->help) {
        std::cout << init_usage;
        return 0;
    }
    if (!only_options(*args, {"dir", "listen", "public-url"}, problem))
        return usage_error(problem, init_usage);
    if (!args->positional.empty())
        return usage_error("unexpected argument " + args->positional.front(), init_usage);
    if (!args->options.count("dir")) return usage_error("--dir is required", init_usage);

    init_options opts;
    opts.dir = args->options["dir"];
    if (args->options.count("listen")) opts.listen = args->options["listen"];
    if (args->options.count("public-url")) opts.public_url = args->options["public-url"];
    opts.now = now_seconds();
    try {
        const init_report report = run_init(opts);
        for (const auto& p : report.written) std::cout << "wrote " << p << "\n";
        for (const auto& p : report.kept) std::cout << "kept  " << p << " (exists)\n";
        std::cout << "next: stirgate serve --config " << opts.dir << "/stirgate.toml\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "stirgate: " << e.what() << "\n";
        return 1;
    }
}

int run_serve_verb(int argc, char** argv)
{
    std::string problem;
    auto args = parse_args(argc, argv, 2, {}, problem);
    if (!args) return usage_error(problem, serve_usage);
    if (args->help) {
        std::cout << serve_usage;
        return 0;
    }
    if (!only_options(*args, {"config", "listen"}, problem)) return usage_error(problem, serve_usage);
    if (!args->positional.empty())
        return usage_error("unexpected argument " + args->positional.front(), serve_usage);
    if (!args->options.count("config")) return usage_error("--config is required", serve_usage);
    serve_options opts;
    opts.config_path = args->options["config"];
    if (args->options.count("listen")) opts.listen = args->options["listen"];
    return serve_command(opts);
}

int run_migrate_verb(int argc, char** argv)
{
    std::string problem;
    auto args = parse_args(argc, argv, 2, {}, problem);
    if (!args) return usage_error(problem, migrate_usage);
    if (args->help) {
        std::cout << migrate_usage;
        return 0;
    }
    if (!only_options(*args, {"config"}, problem)) return usage_error(problem, migrate_usage);
    if (!args->positional.empty())
        return usage_error("unexpected argument " + args->positional.front(), migrate_usage);
    if (!args->options.count("config")) return usage_error("--config is required", migrate_usage);
    try {
        const config cfg = load_config(args->options["config"], process_environment());
        const int version =
            store::migrate_schema(cfg.storage.url, storage_password(cfg.storage));
        std::cout << "schema version " << version << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "stirgate: migrate: " << e.what() << "\n";
        return 1;
    }
}

int run_tool_verb(const std::string& verb, int argc, char** argv)
{
    if (argc < 3) return usage_error("'" + verb + "' needs a sub-command", tool_usage(verb).c_str());
    if (std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h") {
        std::cout << tool_usage(verb);
        return 0;
    }
    const std::string sub = argv[2];
    std::string problem;
    auto args = parse_args(argc, argv, 3, tool_flags(verb, sub), problem);
    if (!args) return usage_error(problem, tool_usage(verb).c_str());
    tool_request req;
    req.verb = verb;
    req.subverb = sub;
    req.options = args->options;
    req.positional = args->positional;
    req.help = args->help;
    req.now = now_seconds();
    return run_tool(req, std::cin, std::cout, std::cerr);
}

}  // namespace

int run_cli(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << main_usage;
        return 2;
    }
    const std::string verb = argv[1];
    if (verb == "--help" || verb == "-h" || verb == "help") {
        std::cout << main_usage;
        return 0;
    }
    if (verb == "init") return run_init_verb(argc, argv);
    if (verb == "serve") return run_serve_verb(argc, argv);
    if (verb == "migrate") return run_migrate_verb(argc, argv);
    if (verb == "passport" || verb == "identity" || verb == "calltoken")
        return run_tool_verb(verb, argc, argv);
    std::cerr << "stirgate: unknown verb '" << verb << "'\n" << main_usage;
    return 2;
}

}  // namespace stirgate::app
