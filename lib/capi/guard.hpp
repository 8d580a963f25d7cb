// lib/capi/guard.hpp: the one place where C++ exceptions become mos_status.
//
// Every extern "C" function body runs inside capi::guard(name, lambda). The guard
// clears the thread's last error, runs the body, and converts mos::Error,
// std::bad_alloc and any other exception into a status and a message prefixed
// with the function name ("mos_route: decoder layer 2 has 5 heads; allowed 2|4").
#pragma once

#include <new>
#include <string>

#include "core/error.hpp"
#include "mos/base.h"

namespace mos::capi {

// Sets this thread's last error message (mos_last_error()).
void set_error(const char *fn, const std::string &message);
void clear_error();

template <typename F>
mos_status guard(const char *fn, F &&body) noexcept {
    clear_error();
    try {
        body();
        return MOS_OK;
    } catch (const mos::Error &e) {
        set_error(fn, e.what());
        return e.status();
    } catch (const std::bad_alloc &) {
        set_error(fn, "out of memory");
        return MOS_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        set_error(fn, std::string("internal error: ") + e.what());
        return MOS_INTERNAL;
    } catch (...) {
        set_error(fn, "internal error: unknown exception");
        return MOS_INTERNAL;
    }
}

// A getter that returns its value directly (docs/api-conventions.md): runs
// `body` under guard, so a NULL handle (or any failure) gives `fallback` with
// the last error set, and success clears the last error.
template <typename R, typename F>
R get_value(const char *fn, R fallback, F &&body) noexcept {
    R v = fallback;
    guard(fn, [&] { v = body(); });
    return v;
}

// Argument checks shared by every entry point.
inline void require(bool ok, const char *what) {
    if (!ok) fail(MOS_INVALID_ARGUMENT, what);
}
#define MOS_REQUIRE_NONNULL(p) ::mos::capi::require((p) != nullptr, #p " is NULL")

}  // namespace mos::capi
