#pragma once
// Debian's haproxy for the tests that put gateways behind a real load balancer, and a way to
// tell which gateway answered a request that went through it.

#include <string>

#include "support/process.hpp"

namespace stirgate::test {

// The haproxy binary; "" when none is installed (the tests that need it then fail with that).
std::string find_haproxy();

// The part of a reply's X-Request-Id before its '-': each gateway process has its own, so it
// names the instance that answered.
std::string answering_instance(const http_reply& reply);

}  // namespace stirgate::test
