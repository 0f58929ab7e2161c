namespace stirgate::app { int run_cli(int, char**) { return 0; } }
