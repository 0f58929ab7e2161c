#pragma once
// Twilio's JSON for the Call resource (spec/TWILIO-API.md sections 1, 3.3 and 3.4): the Call
// object, the list envelope and the RFC 2822 dates they carry. Pure renderers, pinned by golden
// strings in tests/unit/api/call_json_test.cpp; Twilio's helper libraries parse these bodies.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace stirgate::api {

inline constexpr std::string_view twilio_api_version = "2010-04-01";

// Twilio's *_formatted: "(415) 555-0101" for a NANP number (+1 NPA NXX XXXX); any other value is
// returned unchanged (international national formats are not reproduced).
std::string format_phone_number(std::string_view number);

// "/2010-04-01/Accounts/{account}/Calls/{sid}.json"
std::string call_uri(std::string_view account_sid, std::string_view call_sid);

// The Call JSON object, members in Twilio's order; null where Twilio has null (no price,
// phone_number_sid, group_sid, trunk_sid, caller_name, answered_by), numbers as strings.
std::string render_call_json(const store::call_record& call);

// The URI of one list page: "/2010-04-01/Accounts/AC.../{resource}.json?" + the filters (in
// the order given, names and values form-encoded) + "PageSize=N&Page=P" + "&PageToken=T" when
// set. calls_page_uri is the Calls list's.
using query_params = std::vector<std::pair<std::string, std::string>>;
std::string page_uri(std::string_view account_sid, std::string_view resource,
                     const query_params& filters, std::size_t page_size, std::size_t page,
                     std::string_view page_token);
std::string calls_page_uri(std::string_view account_sid, const query_params& filters,
                           std::size_t page_size, std::size_t page, std::string_view page_token);

// Where one page of any Twilio list sits, and its neighbours' tokens.
struct list_position {
    std::string account_sid;
    std::string resource;  // "Calls", "OutgoingCallerIds"
    query_params filters;
    std::size_t page_size = 50;
    std::size_t page = 0;
    std::string page_token;
    std::optional<std::string> next_page_token;
    std::optional<std::string> previous_page_token;
};

// Twilio's list envelope around already rendered JSON objects: {"<key>":[...],"end","start",
// "page","page_size","first_page_uri","next_page_uri","previous_page_uri","uri"}.
std::string render_list(const list_position& at, std::string_view key,
                        const std::vector<std::string>& items);

// One page of a list, as the handler knows it.
struct call_list_page {
    std::string account_sid;
    query_params filters;  // the list filters of the request, in query order (To, From, ...)
    std::size_t page_size = 50;
    std::size_t page = 0;    // Twilio's informational page number
    std::string page_token;  // token this page was read with; "" for the first page
    std::vector<store::call_record> calls;
    std::optional<std::string> next_page_token;  // none on the last page
    // The token of the previous page when known ("" = the first page); none when unknown.
    std::optional<std::string> previous_page_token;
};

// {"calls":[...],"end","start","page","page_size","first_page_uri","next_page_uri",
//  "previous_page_uri","uri"}: start = page * page_size, end = start + count - 1 (start when
// the page is empty); next_page_uri null without a next token; previous_page_uri null on page
// 0 or when the previous token is unknown.
std::string render_call_list(const call_list_page& page);

}  // namespace stirgate::api
