#pragma once
// What the operator tools' files share (operator_tools.cpp: decode, verify and the verb
// dispatch; operator_sign.cpp: sign and mint). Not for use outside them.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "app/operator_tools.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"

namespace stirgate::app::tool_detail {

extern const char* const passport_usage;
extern const char* const identity_usage;
extern const char* const calltoken_usage;

using options_map = std::map<std::string, std::string>;

std::optional<std::string> option(const options_map& o, const char* name);
std::string trim(std::string s);
// The INPUT argument, or stdin for "-"; the reason goes to `err` when it is missing.
std::optional<std::string> read_input(const tool_request& r, std::istream& in, std::ostream& err);
std::optional<std::string> read_file(const std::string& path, std::ostream& err);
// A P-256 private key from a PEM file; the reason goes to `err` when it cannot be had.
std::optional<core::es256_private_key> read_private_key(const std::string& path, std::ostream& err);
// A signed decimal (seconds, windows): "-" allowed in front, digits only.
std::optional<std::int64_t> parse_int(const std::string& text);
// errc name plus detail, for the operator's terminal.
std::string describe(const error& e);

// Exit codes as run_tool's.
int run_sign(const tool_request& r, std::ostream& out, std::ostream& err);
int run_calltoken_mint(const tool_request& r, std::ostream& out, std::ostream& err);

}  // namespace stirgate::app::tool_detail
