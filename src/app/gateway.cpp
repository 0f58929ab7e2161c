#include "app/gateway.hpp"
namespace stirgate::app { int serve_command(const serve_options&) { return 1; } }
