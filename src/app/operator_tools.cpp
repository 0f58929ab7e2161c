// placeholder until the passport/identity core lands
#include "app/operator_tools.hpp"
#include <ostream>
namespace stirgate::app {
std::string tool_usage(const std::string&) { return "not yet\n"; }
std::vector<std::string> tool_flags(const std::string&, const std::string&) { return {}; }
int run_tool(const tool_request&, std::istream&, std::ostream&, std::ostream& err) { err << "not yet\n"; return 2; }
}
