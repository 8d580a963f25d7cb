// lib/capi/enums.hpp: reading an enum that a C caller passed in. C lets a
// caller store any int in an enum-typed field or argument, while loading a
// value outside the enumeration's range as the C++ enum type is undefined
// behaviour; every lib/capi function therefore reads public enums through
// their bytes with enum_value() and compares the int.
#pragma once

#include <cstring>
#include <type_traits>

namespace mos::capi {

template <class E>
int enum_value(const E &e) {
    static_assert(std::is_enum<E>::value && sizeof(E) == sizeof(int), "a public enum is stored as an int");
    int v = 0;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

}  // namespace mos::capi
