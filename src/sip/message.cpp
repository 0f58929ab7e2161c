#include "sip/message.hpp"

#include <cstdarg>
#include <memory>
#include <mutex>

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "core/text.hpp"

namespace stirgate::sip {
namespace {

void quiet_trace(const char*, int, osip_trace_level_t, const char*, va_list) {}

// libosip2 keeps its parser tables in process globals that parser_init() fills once; after that
// parsing is thread-safe. Its trace prints parse errors on stdout, which is the gateway's JSON
// log, so it is silenced first. The once_flag is the library's global state made safe, not ours.
void init_osip()
{
    static std::once_flag once;
    std::call_once(once, [] {
        osip_trace_initialize_func(END_TRACE_LEVEL, quiet_trace);
        for (int level = 0; level < END_TRACE_LEVEL; ++level)
            osip_trace_disable_level(static_cast<osip_trace_level_t>(level));
        parser_init();
    });
}

struct message_free {
    void operator()(osip_message_t* m) const noexcept { osip_message_free(m); }
};
using message_ptr = std::unique_ptr<osip_message_t, message_free>;

// Takes a string libosip2 allocated.
std::string take(char* s)
{
    if (!s) return {};
    std::string out(s);
    osip_free(s);
    return out;
}

std::string param_value(const osip_generic_param_t* p)
{
    return p && p->gvalue ? std::string(p->gvalue) : std::string();
}

bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

// Header lines between the start line and the empty line; continuation lines (folding, RFC 3261
// section 7.3.1) belong to the line before. Stops at the end of `block`.
std::size_t count_header_lines(std::string_view block)
{
    std::size_t lines = 0;
    std::size_t pos = block.find('\n');  // past the start line
    while (pos != std::string_view::npos && pos + 1 < block.size()) {
        const std::string_view rest = block.substr(pos + 1);
        if (rest.empty() || rest[0] == '\r' || rest[0] == '\n') break;  // the empty line
        if (!is_space(rest[0])) ++lines;
        pos = block.find('\n', pos + 1);
    }
    return lines;
}

// The top Via as the server transport keeps it (RFC 3261 section 18.2.1, RFC 3581 section 4):
// received= when its sent-by host is not the source address, rport's value filled in.
void mark_top_via(osip_via_t* via, std::string_view address, std::uint16_t port)
{
    const char* host = via_get_host(via);
    if (!host || address != host) {
        osip_generic_param_t* received = nullptr;
        if (osip_via_param_get_byname(via, const_cast<char*>("received"), &received) != 0 ||
            !received)
            osip_via_set_received(via, osip_strdup(std::string(address).c_str()));
    }
    osip_generic_param_t* rport = nullptr;
    if (osip_via_param_get_byname(via, const_cast<char*>("rport"), &rport) == 0 && rport &&
        !rport->gvalue)
        rport->gvalue = osip_strdup(std::to_string(port).c_str());
}

void read_fields(osip_message_t* msg, request& req, std::string_view address, std::uint16_t port)
{
    if (msg->sip_method) req.method = msg->sip_method;
    if (msg->req_uri) {
        char* s = nullptr;
        if (osip_uri_to_str(msg->req_uri, &s) == 0) req.request_uri = take(s);
        if (msg->req_uri->scheme) req.request_uri_scheme = core::ascii_lower(msg->req_uri->scheme);
    }
    for (int i = 0; i < osip_list_size(&msg->vias); ++i) {
        auto* via = static_cast<osip_via_t*>(osip_list_get(&msg->vias, i));
        if (!via) continue;
        if (i == 0) {
            osip_generic_param_t* branch = nullptr;
            if (osip_via_param_get_byname(via, const_cast<char*>("branch"), &branch) == 0)
                req.top_branch = param_value(branch);
            mark_top_via(via, address, port);
        }
        char* s = nullptr;
        if (osip_via_to_str(via, &s) == 0) req.vias.push_back(take(s));
    }
    if (msg->from) {
        char* s = nullptr;
        if (osip_from_to_str(msg->from, &s) == 0) req.from = take(s);
        osip_generic_param_t* tag = nullptr;
        if (osip_from_param_get_byname(msg->from, const_cast<char*>("tag"), &tag) == 0) req.from_tag = param_value(tag);
    }
    if (msg->to) {
        char* s = nullptr;
        if (osip_to_to_str(msg->to, &s) == 0) req.to = take(s);
        osip_generic_param_t* tag = nullptr;
        req.to_has_tag = osip_to_param_get_byname(msg->to, const_cast<char*>("tag"), &tag) == 0 && tag;
    }
    if (msg->call_id) {
        char* s = nullptr;
        if (osip_call_id_to_str(msg->call_id, &s) == 0) req.call_id = take(s);
    }
    if (msg->cseq) {
        char* s = nullptr;
        if (osip_cseq_to_str(msg->cseq, &s) == 0) req.cseq = take(s);
        if (msg->cseq->method) req.cseq_method = msg->cseq->method;
    }
    for (int i = 0; i < osip_list_size(&msg->headers); ++i) {
        auto* h = static_cast<osip_header_t*>(osip_list_get(&msg->headers, i));
        if (!h || !h->hname) continue;
        const std::string_view name = h->hname;  // libosip2 lower-cases header names
        std::string value = h->hvalue ? h->hvalue : "";
        if (name == "identity" || name == "y") {
            req.identities.push_back(std::move(value));
        } else if (name == "p-asserted-identity") {
            req.asserted_identities.push_back(std::move(value));
        } else if (name == "date") {
            if (!req.date) req.date = std::move(value);
        } else if (name == "attestation-info") {
            if (!req.attestation_info) req.attestation_info = std::move(value);
        }
    }
}

// Parses `text` with libosip2 into `out`; false when libosip2 refused it (out then holds what
// it read before the defect).
bool osip_parse(std::string_view text, request& out, std::string_view address, std::uint16_t port,
                bool& has_request_line)
{
    init_osip();
    osip_message_t* raw = nullptr;
    if (osip_message_init(&raw) != 0 || !raw) return false;
    const message_ptr msg(raw);
    const int rc = osip_message_parse(msg.get(), text.data(), text.size());
    has_request_line = msg->sip_method != nullptr && msg->status_code == 0 && msg->req_uri;
    if (has_request_line) read_fields(msg.get(), out, address, port);
    return rc == 0;
}

}  // namespace

std::optional<std::size_t> header_block_end(std::string_view buffer)
{
    const auto end = buffer.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    return end + 4;
}

std::optional<std::size_t> content_length(std::string_view block)
{
    std::size_t pos = 0;
    while (pos < block.size()) {
        auto eol = block.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = block.size();
        const std::string_view line = block.substr(pos, eol - pos);
        pos = eol + 2;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
        if (!core::iequals(name, "content-length") && !core::iequals(name, "l")) continue;
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
        while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
        if (v.empty() || v.size() > 9) return std::nullopt;  // 9 digits: far past any limit
        std::size_t n = 0;
        for (const char c : v) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<std::size_t>(c - '0');
        }
        return n;
    }
    return 0;
}

parse_result parse_request(std::string_view bytes, const message_limits& limits,
                           std::string_view source_address, std::uint16_t source_port)
{
    parse_result r;
    // Leading empty lines are allowed before a message on a stream (RFC 3261 section 7.5).
    while (bytes.size() >= 2 && bytes.substr(0, 2) == "\r\n") bytes.remove_prefix(2);
    const std::string_view block = bytes.substr(0, header_block_end(bytes).value_or(bytes.size()));

    const auto declared = content_length(block);
    const bool declared_too_large =
        declared && header_block_end(bytes) && block.size() + *declared > limits.max_message_bytes;
    if (bytes.size() > limits.max_message_bytes || declared_too_large) {
        // Only the whole header lines inside the limit are read, for the 513.
        std::string_view head = block.substr(0, std::min(block.size(), limits.max_message_bytes));
        const auto last = head.rfind("\r\n");
        head = last == std::string_view::npos ? std::string_view() : head.substr(0, last + 2);
        std::string text(head);
        text += "\r\n";
        bool request_line = false;
        (void)osip_parse(text, r.req, source_address, source_port, request_line);
        r.status = request_line ? parse_status::too_large : parse_status::not_a_request;
        r.problem = "message of " + std::to_string(bytes.size()) + " bytes";
        return r;
    }
    if (block.find('\0') != std::string_view::npos) {
        // libosip2 works on C strings: a NUL would hide the rest of the header block from it.
        std::string text(block.substr(0, block.find('\0')));
        const auto last = text.rfind("\r\n");
        text = last == std::string::npos ? std::string() : text.substr(0, last + 2) + "\r\n";
        bool request_line = false;
        (void)osip_parse(text, r.req, source_address, source_port, request_line);
        r.status = request_line ? parse_status::malformed : parse_status::not_a_request;
        r.problem = "NUL byte in the header block";
        return r;
    }

    bool request_line = false;
    const bool parsed = osip_parse(bytes, r.req, source_address, source_port, request_line);
    if (!request_line) {
        r.status = parse_status::not_a_request;
        r.problem = "no SIP request line";
        return r;
    }
    if (count_header_lines(block) > limits.max_headers) {
        r.status = parse_status::too_many_headers;
        r.problem = "more than " + std::to_string(limits.max_headers) + " header lines";
        return r;
    }
    r.status = parse_status::malformed;
    if (!parsed) {
        r.problem = "libosip2 refused the message";
        return r;
    }
    const request& q = r.req;
    // RFC 3261 section 8.1.1: every request carries these; CSeq names the request's method.
    if (q.vias.empty())
        r.problem = "no Via";
    else if (q.from.empty())
        r.problem = "no From";
    else if (q.to.empty())
        r.problem = "no To";
    else if (q.call_id.empty())
        r.problem = "no Call-ID";
    else if (q.cseq.empty())
        r.problem = "no CSeq";
    else if (q.cseq_method != q.method)
        r.problem = "CSeq method differs from the request's";
    else
        r.status = parse_status::ok;
    return r;
}

}  // namespace stirgate::sip
