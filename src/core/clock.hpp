#pragma once
// The one clock type of the gateway's domain: seconds since the epoch, injected so tests are
// deterministic (STYLE.md). Millisecond schedules (the outbox) and the logger's timestamps keep
// their own types because their unit differs.

#include <cstdint>
#include <functional>

namespace stirgate::core {

using clock_fn = std::function<std::int64_t()>;

}  // namespace stirgate::core
