#include "sti/call_verifier.hpp"

#include <utility>

namespace stirgate::sti {

call_verifier::call_verifier(cert_cache& certificates, core::verify_policy policy, clock_fn now,
                             verification_observer observer)
    : certificates_(certificates),
      policy_(policy),
      now_(std::move(now)),
      observer_(std::move(observer))
{
}

boost::asio::awaitable<core::verification_outcome> call_verifier::verify(
    std::vector<std::string> identity_values, core::call_context call) const
{
    auto certificates = co_await certificates_.get_all(core::required_x5u(identity_values));
    auto outcome = core::verify_call(identity_values, call, now_(), policy_, certificates);
    if (observer_) observer_(outcome);
    co_return outcome;
}

}  // namespace stirgate::sti
