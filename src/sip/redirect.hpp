#pragma once
// The SIP face's decisions (DESIGN.md "SIP face"): a parsed request and what the gateway knows
// in, the response text out. Pure: the account, the signer, the time and the verification
// outcome are arguments; the listener (sip/listener.hpp) does the I/O and the awaiting.
//
//   INVITE, no Identity, from a peer -> 302, Contact = Request-URI, one Identity (STI-AS)
//   INVITE with Identity, from a peer -> verify, then 302, Contact = Request-URI;verstat=...,
//                                       X-Twilio-VerStat, the Identity values back (STI-VS)
//   OPTIONS -> 200; ACK -> nothing; other known methods -> 405 with Allow; unknown -> 501
//   a source that is no peer -> 403; malformed -> 400; too large -> 513

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/accounts.hpp"
#include "core/verifier.hpp"
#include "sip/message.hpp"
#include "sti/signer.hpp"

namespace stirgate::sip {

struct header_line {
    std::string name;
    std::string value;
};

// A response to `req` (RFC 3261 section 8.2.6): Via, From, To (with a tag added when it has
// none), Call-ID and CSeq copied from the request, then `extra`, then Content-Length: 0.
// Headers the request lacked (a malformed one) are left out.
std::string render_response(const request& req, int status, std::string_view reason,
                            std::span<const header_line> extra = {});

// The To tag the gateway adds: derived from Call-ID, the From tag and the top Via branch, so a
// retransmitted request gets the same one (the server keeps no transaction state).
std::string to_tag_for(const request& req);

// `uri` with verstat=`value` as a user parameter (3GPP TS 24.229 section 7.2A.20): a sip/sips
// URI's user part gets ";verstat=value", a tel URI the parameter; any verstat already there is
// dropped first (a verstat from upstream is not ours to pass on, STIR-SHAKEN.md section 11).
// A URI without a user part is returned unchanged.
std::string with_verstat(std::string_view uri, std::string_view value);

// What the request needs beyond its bytes.
struct redirect_context {
    const core::account_config* account = nullptr;  // the peer's account; nullptr: not a peer
    const sti::signing_identity* signer = nullptr;  // nullptr or no key: INVITEs are not signed
    std::int64_t now = 0;                           // seconds since the epoch
    std::int64_t iat_window_s = 60;  // RFC 8224 section 6.1 step 3: Date freshness for signing
};

enum class action {
    reply,   // send `response`
    verify,  // verify `identities` for `call`, then send verified_response()
    absorb,  // send nothing (ACK, or what is not a request at all)
};

struct decision {
    action what = action::absorb;
    std::string response;  // reply
    int status = 0;        // reply: the status sent (logs, metrics)
    std::string note;      // why, for logs (never sent)
    // verify
    std::vector<std::string> identities;
    core::call_context call;
};

// Everything but the verification itself.
decision decide(const parse_result& parsed, const redirect_context& ctx);

// The 302 of a verified INVITE: Contact = with_verstat(Request-URI, the SIP-side verstat),
// X-Twilio-VerStat (the Twilio value, -Diverted for a DIV chain), every Identity value as it
// came, and Reason: STIR;cause=<403|436|437|438>;text="..." when verification failed (RFC 9410).
// `passthrough`: the peer relays its customer's own PASSporT (Twilio's "PASSporT passthrough"),
// so X-Twilio-VerStat takes the -Passthrough values (a DIV chain stays -Diverted).
std::string verified_response(const request& req, const core::verification_outcome& outcome,
                              bool passthrough = false);

}  // namespace stirgate::sip
