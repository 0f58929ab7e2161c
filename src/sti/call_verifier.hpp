#pragma once
// STI-VS for one call (RFC 8224 section 6.2, STIR-SHAKEN.md): the certificates the Identity
// values name come from the cache (fetched on a miss), then the pure verifier decides. The ATIS
// verification API and the incoming-call webhook both verify through here, so they behave the
// same and every verdict passes one observer (metrics).

#include "net/net.hpp"

#include <functional>
#include <string>
#include <vector>

#include "core/verifier.hpp"
#include "sti/cert_cache.hpp"

namespace stirgate::sti {

// Sees every verdict. Called on whichever I/O thread verified: must be thread-safe.
using verification_observer = std::function<void(const core::verification_outcome&)>;

class call_verifier final {
public:
    // `certificates` must outlive the verifier.
    call_verifier(cert_cache& certificates, core::verify_policy policy, clock_fn now,
                  verification_observer observer = {});

    // Arguments by value: the coroutine outlives the caller's expression.
    boost::asio::awaitable<core::verification_outcome> verify(
        std::vector<std::string> identity_values, core::call_context call) const;

    const core::verify_policy& policy() const noexcept { return policy_; }

private:
    cert_cache& certificates_;
    core::verify_policy policy_;
    clock_fn now_;
    verification_observer observer_;
};

}  // namespace stirgate::sti
