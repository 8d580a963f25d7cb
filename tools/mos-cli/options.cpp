// tools/mos-cli/options.cpp: the strict number checks behind add_int and
// add_real, the --budgets list, and the options every computing or reporting
// command shares (--threads, --json).
#include "options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include "cli.hpp"

namespace mos_cli {

namespace {

std::string in_quotes(const std::string &s) { return "'" + s + "'"; }

// Decimal digits with an optional leading '-' (so a negative value gets its
// own message); no spaces, signs elsewhere, hex or octal.
bool is_decimal(const std::string &s) {
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == s.size()) return false;
    for (; i < s.size(); i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

std::string range_text(const std::string &lo, const std::string &hi) { return lo + ".." + hi; }

// The range shown by --help: "1..64", ">= 1" when only the type bounds it
// above, nothing when the type bounds both ends.
template <class T>
std::string range_desc(T lo, T hi, T type_lo) {
    if (hi >= static_cast<T>(UINT32_MAX) || (std::is_signed<T>::value && hi >= static_cast<T>(INT32_MAX)))
        return lo == type_lo ? "" : ">= " + std::to_string(lo);
    return range_text(std::to_string(lo), std::to_string(hi));
}

}  // namespace

std::string number_text(double x) {
    char buf[40];
    if (std::fabs(x) < 1e15 && x == std::floor(x)) {
        std::snprintf(buf, sizeof buf, "%.0f", x);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.17g", x);
    // Prefer the short form when it reads back exactly (0.3, not 0.29999999999999999).
    for (int digits = 1; digits < 17; digits++) {
        char shorter[40];
        std::snprintf(shorter, sizeof shorter, "%.*g", digits, x);
        if (std::strtod(shorter, nullptr) == x) return shorter;
    }
    return buf;
}

CLI::Validator unsigned_check(uint64_t lo, uint64_t hi) {
    const std::string desc = range_desc<uint64_t>(lo, hi, 0);
    return CLI::Validator(
        [lo, hi, desc](std::string &s) -> std::string {
            if (s.empty() || !is_decimal(s)) return in_quotes(s) + " is not a whole number";
            if (s[0] == '-') return in_quotes(s) + " is negative" + (desc.empty() ? "" : "; allowed " + desc);
            errno = 0;
            const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
            if (errno == ERANGE || v > hi)
                return in_quotes(s) + " is above the maximum " + std::to_string(hi);
            if (v < lo) return in_quotes(s) + " is below the minimum " + std::to_string(lo);
            s = std::to_string(v);
            return {};
        },
        desc);
}

CLI::Validator signed_check(int64_t lo, int64_t hi) {
    const std::string desc = range_desc<int64_t>(lo, hi, INT64_MIN);
    return CLI::Validator(
        [lo, hi](std::string &s) -> std::string {
            if (s.empty() || !is_decimal(s)) return in_quotes(s) + " is not a whole number";
            errno = 0;
            const long long v = std::strtoll(s.c_str(), nullptr, 10);
            if ((errno == ERANGE && v > 0) || v > hi)
                return in_quotes(s) + " is above the maximum " + std::to_string(hi);
            if (errno == ERANGE || v < lo) return in_quotes(s) + " is below the minimum " + std::to_string(lo);
            s = std::to_string(v);
            return {};
        },
        desc);
}

CLI::Validator real_check(const Bounds &b) {
    const bool lo_set = b.lo > -std::numeric_limits<double>::max();
    const bool hi_set = b.hi < std::numeric_limits<double>::max();
    std::string desc;
    if (lo_set && hi_set)
        desc = std::string(b.lo_open ? "(" : "[") + number_text(b.lo) + ", " + number_text(b.hi) +
               (b.hi_open ? ")" : "]");
    else if (lo_set)
        desc = std::string(b.lo_open ? "> " : ">= ") + number_text(b.lo);
    else if (hi_set)
        desc = std::string(b.hi_open ? "< " : "<= ") + number_text(b.hi);
    return CLI::Validator(
        [b, desc](std::string &s) -> std::string {
            const char *begin = s.c_str();
            char *end = nullptr;
            errno = 0;
            // strtod also reads C99 hex floats ("0x10" is 16): not a number a user means.
            if (s.find_first_of("xXpP") != std::string::npos) return in_quotes(s) + " is not a decimal number";
            const double v = s.empty() ? 0.0 : std::strtod(begin, &end);
            if (s.empty() || end != begin + s.size()) return in_quotes(s) + " is not a number";
            if (std::isnan(v)) return in_quotes(s) + " is not a number";
            if (std::isinf(v)) return in_quotes(s) + " is not finite";
            const bool low = b.lo_open ? !(v > b.lo) : !(v >= b.lo);
            const bool high = b.hi_open ? !(v < b.hi) : !(v <= b.hi);
            if (low || high) {
                if (v < 0 && b.lo >= 0) return in_quotes(s) + " is negative; allowed " + desc;
                return in_quotes(s) + " is outside the allowed " + desc;
            }
            s = number_text(v);
            return {};
        },
        desc);
}

std::vector<double> parse_budget_list(const std::string &option, const std::string &text) {
    std::vector<double> v;
    if (text.empty()) throw UsageError(option + ": empty list; give latency budgets in ms, e.g. 20,40,80");
    const CLI::Validator positive = real_check(Bounds{0.0, std::numeric_limits<double>::max(), true, false});
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        std::string value = item;
        const std::string err = positive(value);
        if (!err.empty())
            throw UsageError(option + ": " + (item.empty() ? std::string("an empty item") : err) +
                             " (budgets are positive milliseconds, e.g. 20,40,80)");
        v.push_back(std::strtod(value.c_str(), nullptr));
    }
    if (text.back() == ',') throw UsageError(option + ": an empty item after the last ',' in " + in_quotes(text));
    return v;
}

CLI::Option *add_threads(CLI::App *cmd, int32_t &threads) {
    return add_int(cmd, "--threads", threads, "threads of the computation (0 = all cores)", 0, 1024);
}

CLI::Option *add_json_flag(CLI::App *cmd, bool &json) {
    return cmd->add_flag("--json", json, "print the result as one JSON object on stdout (docs/cli.md)");
}

}  // namespace mos_cli
