// lib/core/error.hpp: the exception type the C++ core throws and lib/capi converts.
//
// Core code reports a failure by throwing mos::Error with a public status code and
// a message that names the offending value. Only lib/capi catches it (see
// lib/capi/guard.hpp), so no exception ever crosses the C boundary.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>

#include "mos/base.h"

namespace mos {

class Error : public std::runtime_error {
public:
    Error(mos_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    mos_status status() const noexcept { return status_; }

private:
    mos_status status_;
};

// Concise throw helpers: fail(MOS_FORMAT, "header length ", n, " exceeds file size ", size).
namespace detail {
inline void append(std::string &) {}
template <typename T, typename... Rest>
void append(std::string &s, const T &v, const Rest &...rest) {
    if constexpr (std::is_convertible_v<T, std::string>) {
        s += v;
    } else if constexpr (std::is_same_v<T, char>) {
        s += v;
    } else {
        s += std::to_string(v);
    }
    append(s, rest...);
}
}  // namespace detail

template <typename... Args>
[[noreturn]] void fail(mos_status status, const Args &...args) {
    std::string msg;
    detail::append(msg, args...);
    throw Error(status, msg);
}

// check(cond, status, parts...): throw when cond is false.
template <typename... Args>
inline void check(bool cond, mos_status status, const Args &...args) {
    if (!cond) fail(status, args...);
}

}  // namespace mos
