#include "core/dates.hpp"

#include <array>

namespace stirgate::core {
namespace {

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days): exact for
// every int64 second count we can be given, without gmtime's platform range.
struct civil_date {
    std::int64_t year;
    unsigned month;  // 1..12
    unsigned day;    // 1..31
};

civil_date civil_from_days(std::int64_t z)
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

std::string two_digits(std::int64_t v)
{
    std::string s = std::to_string(v);
    return s.size() < 2 ? "0" + s : s;
}

}  // namespace

std::string format_rfc2822(std::int64_t epoch_seconds)
{
    static constexpr std::array<const char*, 7> weekdays{"Thu", "Fri", "Sat", "Sun",
                                                         "Mon", "Tue", "Wed"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::int64_t days = epoch_seconds / 86400;
    std::int64_t secs = epoch_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    const civil_date date = civil_from_days(days);
    const std::int64_t wd = ((days % 7) + 7) % 7;  // 1970-01-01 was a Thursday
    std::string out;
    out.reserve(31);
    out += weekdays[static_cast<std::size_t>(wd)];
    out += ", ";
    out += two_digits(date.day);
    out += ' ';
    out += months[date.month - 1];
    out += ' ';
    out += std::to_string(date.year);
    out += ' ';
    out += two_digits(secs / 3600);
    out += ':';
    out += two_digits(secs / 60 % 60);
    out += ':';
    out += two_digits(secs % 60);
    out += " +0000";
    return out;
}

}  // namespace stirgate::core
