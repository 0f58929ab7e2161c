// SIP messages as a UDP datagram or a framed TCP message reaches the SIP face (src/sip): the
// parser and the decision must take any bytes without crashing, and whatever they answer must be
// one well-formed SIP response (a status line, header lines, the empty line) that never holds
// a line the request smuggled in.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/verifier.hpp"
#include "fuzz_support.hpp"
#include "sip/message.hpp"
#include "sip/redirect.hpp"

using namespace stirgate;

namespace {

// A response is a status line and header lines, each ending CRLF, closed by one empty line.
void check_response(const std::string& r)
{
    FUZZ_CHECK(r.rfind("SIP/2.0 ", 0) == 0);
    FUZZ_CHECK(r.size() >= 4 && r.compare(r.size() - 4, 4, "\r\n\r\n") == 0);
    const std::size_t body = r.find("\r\n\r\n");
    FUZZ_CHECK(body == r.size() - 4);
    for (std::size_t i = 0; i < body; ++i) {
        if (r[i] == '\r') FUZZ_CHECK(r[i + 1] == '\n');
        if (r[i] == '\n') FUZZ_CHECK(i > 0 && r[i - 1] == '\r');
    }
}

struct fixture {
    core::account_config account;
    sti::signing_identity signer;
    fixture()
    {
        account.sid = "AC0123456789abcdef0123456789abcdef";
        account.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
        account.numbers.push_back({"+13105550100", 'A', "", "", ""});
        auto key = core::es256_private_key::from_pem(fuzz::read_vector("pki/orig-sp-1234.key.pem"));
        if (!key) std::abort();
        signer.key = *key;
        signer.x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
        signer.format.quote_ppt = false;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const fixture f;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const sip::message_limits limits{4096, 32};

    if (const auto end = sip::header_block_end(input)) {
        FUZZ_CHECK(*end <= input.size());
        (void)sip::content_length(input.substr(0, *end));
    }
    const auto parsed = sip::parse_request(input, limits, "127.0.0.1", 5060);
    if (parsed.status == sip::parse_status::ok) {
        FUZZ_CHECK(!parsed.req.method.empty());
        FUZZ_CHECK(!parsed.req.vias.empty());
        FUZZ_CHECK(parsed.req.cseq_method == parsed.req.method);
    }
    for (const bool peer : {true, false}) {
        sip::redirect_context ctx;
        ctx.account = peer ? &f.account : nullptr;
        ctx.signer = &f.signer;
        ctx.now = 1767225605;
        const sip::decision d = sip::decide(parsed, ctx);
        if (parsed.status == sip::parse_status::not_a_request)
            FUZZ_CHECK(d.what == sip::action::absorb);
        if (!peer) FUZZ_CHECK(d.what != sip::action::verify);
        if (d.what == sip::action::reply) check_response(d.response);
        if (d.what == sip::action::verify) {
            // No certificates: every PASSporT fails or is ignored, and the 302 says so.
            const auto outcome =
                core::verify_call(d.identities, d.call, ctx.now, core::verify_policy{}, {});
            FUZZ_CHECK(!outcome.valid);
            check_response(sip::verified_response(parsed.req, outcome));
        }
    }
    return 0;
}
