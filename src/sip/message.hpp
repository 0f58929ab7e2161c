#pragma once
// SIP requests as the redirect server reads them (RFC 3261), parsed with libosip2's parser
// (Debian libosip2-dev): the start line, the headers a response copies (RFC 3261 section
// 8.2.6.2) and the few the STI services read. Pure: bytes and the source address in, values
// out; nothing here touches a socket.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stirgate::sip {

struct message_limits {
    std::size_t max_message_bytes = 16384;  // start line to the end of the body
    std::size_t max_headers = 64;           // header lines (folded continuations not counted)
};

// One SIP request. Owns its strings; "" for an absent header.
struct request {
    std::string method;              // as written (methods are case-sensitive, RFC 3261 s.7.1)
    std::string request_uri;         // as libosip2 serialises it
    std::string request_uri_scheme;  // "sip", "sips", "tel", ...
    // Each Via value, top first. The top one carries received= (the source address differs from
    // its sent-by host, RFC 3261 section 18.2.1) and an rport value when asked (RFC 3581).
    std::vector<std::string> vias;
    std::string from;
    std::string to;
    bool to_has_tag = false;
    std::string from_tag;
    std::string call_id;
    std::string cseq;                              // "1 INVITE"
    std::string cseq_method;                       // "INVITE"
    std::string top_branch;                        // branch of the top Via
    std::vector<std::string> identities;           // Identity (and compact y) values, in order
    std::vector<std::string> asserted_identities;  // P-Asserted-Identity values, in order
    std::optional<std::string> date;               // Date
    std::optional<std::string> attestation_info;   // Attestation-Info (3GPP TS 24.229)
};

enum class parse_status {
    ok,
    malformed,         // the start line is a request line, something after it is not SIP
    too_large,         // longer than max_message_bytes
    too_many_headers,  // more than max_headers header lines
    not_a_request,     // no request line: garbage, or a response (a redirect server sends none)
};

struct parse_result {
    parse_status status = parse_status::not_a_request;
    // For ok: the request. For malformed, too_large and too_many_headers: whatever could be
    // read of it, for the error response (method and the headers it copies).
    request req;
    std::string problem;  // why, for logs only
};

// Parses one whole message (UDP datagram, or a TCP message framed by Content-Length) received
// from source_address:source_port. `bytes` longer than limits.max_message_bytes, or whose
// Content-Length would make it so, is too_large; its leading header lines are still read for
// the reply. Never throws for any input.
parse_result parse_request(std::string_view bytes, const message_limits& limits,
                           std::string_view source_address, std::uint16_t source_port);

// Stream framing (RFC 3261 section 18.3): where the header block of `buffer` ends (the index
// just past its empty line), or nullopt when it has not all arrived.
std::optional<std::size_t> header_block_end(std::string_view buffer);
// The Content-Length (or compact l) of a header block: 0 when absent (RFC 3261 section 18.3
// wants it on streams; a message without one is read as having no body), nullopt when it is
// not a number.
std::optional<std::size_t> content_length(std::string_view header_block);

}  // namespace stirgate::sip
