// lib/capi/buffer.hpp: the caller-buffer convention of variable-size outputs
// (docs/api-conventions.md), written once.
//
// A function filling a caller buffer takes (buf, cap, needed): *needed (if not
// NULL) receives the size the output needs (bytes including the NUL for
// strings, elements for arrays); buf = NULL with cap = 0 asks for the size
// only; a non-NULL buf with cap below the size is MOS_OUT_OF_RANGE, and a
// string buffer then holds "" (when cap > 0), as mos_bleu_format does.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "capi/guard.hpp"

namespace mos::capi {

inline void copy_out(const std::string &s, char *buf, size_t cap, size_t *needed) {
    require(buf != nullptr || cap == 0, "buf is NULL but cap is not 0");
    const size_t n = s.size() + 1;
    if (needed) *needed = n;
    if (buf == nullptr) return;  // size query
    if (cap < n) {
        if (cap > 0) buf[0] = '\0';
        fail(MOS_OUT_OF_RANGE, "cap is ", cap, "; the text needs ", n, " bytes");
    }
    std::memcpy(buf, s.c_str(), n);
}

template <typename T>
void copy_out(const std::vector<T> &v, T *buf, size_t cap, size_t *needed) {
    require(buf != nullptr || cap == 0, "out is NULL but cap is not 0");
    if (needed) *needed = v.size();
    if (buf == nullptr) return;  // size query
    if (cap < v.size()) fail(MOS_OUT_OF_RANGE, "cap is ", cap, "; ", v.size(), " values are needed");
    if (!v.empty()) std::memcpy(buf, v.data(), v.size() * sizeof(T));
}

// A (text, len) input: checked and copied.
inline std::string text_in(const char *text, size_t len, const char *name) {
    if (text == nullptr) fail(MOS_INVALID_ARGUMENT, name, " is NULL");
    return std::string(text, len);
}

}  // namespace mos::capi
