#pragma once

namespace stirgate::app {

// Dispatches the command-line verbs (init, serve, passport, identity); returns the exit code.
int run_cli(int argc, char** argv);

}  // namespace stirgate::app
