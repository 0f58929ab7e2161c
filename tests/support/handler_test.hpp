#pragma once
// What the handler unit tests (tests/unit/api, tests/unit/webhooks) share besides fixtures.hpp
// (the test account): one request run through a router as the server runs it, without a socket.

#include "net/net.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "core/form.hpp"
#include "net/router.hpp"
#include "support/fixtures.hpp"

namespace stirgate::test {

// A form POST to `target` as the edge sends one: Host, the form content type, X-Twilio-Signature
// when `signature` is set, then `headers`, from `peer` (an IP literal) port 40000.
net::request_context form_post(std::string_view target, std::string_view host,
                               const core::form_params& form,
                               const std::optional<std::string>& signature,
                               const std::string& peer,
                               const std::vector<std::pair<std::string, std::string>>& headers = {});

// The response the routes give `ctx`, run to completion on an io_context of its own.
net::http_response dispatch(const net::router& routes, net::request_context& ctx);

// A response with its body parsed as JSON (json.HasParseError() for a body that is not JSON).
struct routed_reply {
    unsigned status = 0;
    std::string body;
    rapidjson::Document json;
    net::http_response raw;
};
routed_reply parse_reply(net::http_response res);

}  // namespace stirgate::test
