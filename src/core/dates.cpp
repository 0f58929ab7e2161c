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

int two_digits(std::string_view s, std::size_t at)
{
    if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9')
        return -1;
    return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
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

// "Thu, 01 Jan 2026 00:00:00 GMT": RFC 3261's SIP-date is RFC 1123's rfc1123-date, always GMT.
result<std::int64_t> parse_sip_date(std::string_view s)
{
    static constexpr std::array<std::string_view, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const error bad{errc::invalid_parameter, "not an RFC 1123 date"};
    if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
        return bad;
    const int day = two_digits(s, 5);
    unsigned month = 0;
    for (unsigned i = 0; i < months.size(); ++i)
        if (s.substr(8, 3) == months[i]) month = i + 1;
    const int yh = two_digits(s, 12), yl = two_digits(s, 14);
    const int hh = two_digits(s, 17), mm = two_digits(s, 20), ss = two_digits(s, 23);
    if (day < 1 || day > 31 || month == 0 || yh < 0 || yl < 0 || hh < 0 || hh > 23 || mm < 0 ||
        mm > 59 || ss < 0 || ss > 60)
        return bad;
    const std::int64_t days =
        days_from_civil(yh * 100 + yl, month, static_cast<unsigned>(day));
    return days * 86400 + hh * 3600 + mm * 60 + ss;
}

}  // namespace stirgate::core
