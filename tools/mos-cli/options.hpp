// tools/mos-cli/options.hpp: how mos-cli declares options, so every command
// checks numbers the same way.
//
// Numbers are parsed strictly (decimal digits, no silent wrap-around or
// clamping, floats finite) and checked against a range before CLI11 stores
// them; a bad value is a usage error (exit 2) naming the option and saying
// what is wrong ("--seed: '18446744073709551616' is above the maximum
// 18446744073709551615", "--lr: 'nan' is not a number"). Defaults come from
// the library's MOS_*_OPTIONS_INIT: bind the option to the field of an
// initialised options struct and the help text shows that default.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace mos_cli {

// T in a position where it is not deduced (lo/hi follow the variable's type).
template <class T>
using same_t = typename std::common_type<T>::type;

// A closed or half-open range of a floating-point option.
struct Bounds {
    double lo = -std::numeric_limits<double>::max();
    double hi = std::numeric_limits<double>::max();
    bool lo_open = false;  // true: lo itself is not allowed
    bool hi_open = false;
};

// Validators that parse strictly, check the range, and rewrite the value in
// the canonical form CLI11's own conversion reads exactly.
CLI::Validator unsigned_check(uint64_t lo, uint64_t hi);
CLI::Validator signed_check(int64_t lo, int64_t hi);
CLI::Validator real_check(const Bounds &b);

// An integer option bound to `var` (its current value is the default shown),
// allowed in lo..hi.
template <class T>
CLI::Option *add_int(CLI::App *cmd, const std::string &name, T &var, const std::string &help,
                     same_t<T> lo = std::numeric_limits<T>::min(), same_t<T> hi = std::numeric_limits<T>::max()) {
    static_assert(std::is_integral<T>::value, "add_int takes an integer");
    CLI::Option *o = cmd->add_option(name, var, help)->capture_default_str();
    if (std::is_unsigned<T>::value)
        o->check(unsigned_check(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi)));
    else
        o->check(signed_check(static_cast<int64_t>(lo), static_cast<int64_t>(hi)));
    return o;
}

// A floating-point option bound to `var`, finite and inside `b`.
template <class T>
CLI::Option *add_real(CLI::App *cmd, const std::string &name, T &var, const std::string &help, const Bounds &b) {
    static_assert(std::is_floating_point<T>::value, "add_real takes a float or double");
    return cmd->add_option(name, var, help)->capture_default_str()->check(real_check(b));
}

// An older spelling of `option` that still works but is not listed by --help
// (docs/cli.md lists it): a second option bound to the same variable.
template <class T>
CLI::Option *add_hidden_alias(CLI::App *cmd, const std::string &name, T &var, const CLI::Validator &check) {
    return cmd->add_option(name, var)->check(check)->group("");
}

// The shortest decimal text that reads back as x ("40", "0.3", "1e-06").
std::string number_text(double x);

// The list "20,40,80" of --budgets: every item a finite positive number of
// milliseconds, at least one item (UsageError naming the bad item otherwise).
std::vector<double> parse_budget_list(const std::string &option, const std::string &text);

// --threads of the commands whose library call takes a thread count.
CLI::Option *add_threads(CLI::App *cmd, int32_t &threads);

// --json of the commands that report.
CLI::Option *add_json_flag(CLI::App *cmd, bool &json);

}  // namespace mos_cli
