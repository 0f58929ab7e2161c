#include "app/cli.hpp"

int main(int argc, char** argv) { return stirgate::app::run_cli(argc, argv); }
