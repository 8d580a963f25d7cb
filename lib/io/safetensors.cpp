// lib/io/safetensors.cpp: strict safetensors reader and atomic writer.
#include "io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_util.hpp"

namespace mos {

namespace {

struct DTypeName {
    DType type;
    const char *name;
    size_t size;
};
const DTypeName kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::BF16, "BF16", 2}, {DType::U8, "U8", 1},
    {DType::I32, "I32", 4}, {DType::I64, "I64", 8},
};

// The deepest nesting a valid header has: top object > tensor object > shape array.
constexpr int kMaxDepth = 3;
const char *kMetadataKey = "__metadata__";

bool mul_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }

std::string shape_str(const std::vector<uint64_t> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

uint64_t read_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// nlohmann::json keeps the last of duplicate keys silently; a parser callback
// sees every key, so duplicates (a tensor named twice, a field given twice)
// are caught, and absurd nesting is refused before it costs memory.
nlohmann::json parse_header(const uint8_t *p, size_t n, const std::string &src) {
    std::vector<std::set<std::string>> open;  // keys seen in each open object
    std::vector<bool> is_object;              // kind of each open container
    auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json &parsed) {
        using E = nlohmann::json::parse_event_t;
        switch (ev) {
        case E::object_start:
        case E::array_start:
            if (depth >= kMaxDepth)
                fail(MOS_FORMAT, src, ": header nested deeper than ", kMaxDepth, " levels");
            is_object.push_back(ev == E::object_start);
            if (ev == E::object_start) open.emplace_back();
            break;
        case E::object_end:
        case E::array_end:
            if (!is_object.empty()) {
                if (is_object.back()) open.pop_back();
                is_object.pop_back();
            }
            break;
        case E::key:
            if (!open.empty() && parsed.is_string()) {
                const std::string &k = parsed.get_ref<const std::string &>();
                if (!open.back().insert(k).second) {
                    if (open.size() == 1)
                        fail(MOS_FORMAT, src, ": duplicate tensor name '", k, "'");
                    fail(MOS_FORMAT, src, ": duplicate field '", k, "' in the header");
                }
            }
            break;
        default:
            break;
        }
        return true;
    };
    try {
        return nlohmann::json::parse(reinterpret_cast<const char *>(p),
                                     reinterpret_cast<const char *>(p) + n, cb);
    } catch (const nlohmann::json::exception &e) {
        fail(MOS_FORMAT, src, ": header is not valid JSON: ", e.what());
    }
}

uint64_t get_u64(const nlohmann::json &v, const std::string &src, const std::string &what) {
    if (!v.is_number_unsigned())
        fail(MOS_FORMAT, src, ": ", what, " must be a non-negative integer, got ", json_brief(v));
    return v.get<uint64_t>();
}

std::string errno_str(int e) { return std::strerror(e); }

std::string dir_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

const char *dtype_name(DType t) {
    for (const auto &d : kDTypes)
        if (d.type == t) return d.name;
    return "?";
}

size_t dtype_size(DType t) {
    for (const auto &d : kDTypes)
        if (d.type == t) return d.size;
    return 0;
}

uint64_t TensorInfo::numel() const {
    uint64_t n = 1;
    for (uint64_t d : shape)
        if (!mul_ok(n, d, &n)) fail(MOS_FORMAT, "tensor '", name, "': shape overflows");
    return n;
}

SafeTensors SafeTensors::parse(const void *data, size_t size, const std::string &source) {
    if (size > 0) check(data != nullptr, MOS_INVALID_ARGUMENT, source, ": data is NULL");
    SafeTensors st;
    st.source_ = source;
    const std::string &src = st.source_;
    check(size >= 8, MOS_FORMAT, src, ": ", size, " bytes is shorter than the 8-byte header length");
    const auto *p = static_cast<const uint8_t *>(data);
    const uint64_t header_len = read_le64(p);
    check(header_len <= size - 8, MOS_FORMAT, src, ": header length ", header_len,
          " goes beyond the end of the file (", size - 8, " bytes follow the length)");
    check(header_len >= 2, MOS_FORMAT, src, ": header length ", header_len, " is too short for a JSON object");
    const nlohmann::json h = parse_header(p + 8, static_cast<size_t>(header_len), src);
    check(h.is_object(), MOS_FORMAT, src, ": header is not a JSON object");

    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = size - data_start;
    for (auto it = h.begin(); it != h.end(); ++it) {
        const std::string &name = it.key();
        const nlohmann::json &v = it.value();
        if (name == kMetadataKey) {
            check(v.is_object(), MOS_FORMAT, src, ": __metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                check(m.value().is_string(), MOS_FORMAT, src, ": __metadata__ value of '", m.key(),
                      "' is not a string");
                st.metadata_[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string what = "tensor '" + name + "'";
        check(!name.empty(), MOS_FORMAT, src, ": a tensor has an empty name");
        check(v.is_object(), MOS_FORMAT, src, ": ", what, " is not an object");
        for (auto f = v.begin(); f != v.end(); ++f)
            check(f.key() == "dtype" || f.key() == "shape" || f.key() == "data_offsets", MOS_FORMAT,
                  src, ": ", what, " has unknown field '", f.key(), "'");
        TensorInfo t;
        t.name = name;

        auto dt = v.find("dtype");
        check(dt != v.end(), MOS_FORMAT, src, ": ", what, " has no dtype");
        check(dt->is_string(), MOS_FORMAT, src, ": ", what, " dtype is not a string");
        const std::string &dts = dt->get_ref<const std::string &>();
        bool known = false;
        for (const auto &d : kDTypes)
            if (dts == d.name) t.dtype = d.type, known = true;
        check(known, MOS_FORMAT, src, ": ", what, " has unsupported dtype '", dts,
              "'; allowed F32|BF16|U8|I32|I64");

        auto sh = v.find("shape");
        check(sh != v.end(), MOS_FORMAT, src, ": ", what, " has no shape");
        check(sh->is_array(), MOS_FORMAT, src, ": ", what, " shape is not an array");
        for (const auto &d : *sh) t.shape.push_back(get_u64(d, src, what + " shape entry"));

        auto off = v.find("data_offsets");
        check(off != v.end(), MOS_FORMAT, src, ": ", what, " has no data_offsets");
        check(off->is_array() && off->size() == 2, MOS_FORMAT, src, ": ", what,
              " data_offsets is not an array of two integers");
        t.begin = get_u64((*off)[0], src, what + " data_offsets[0]");
        t.end = get_u64((*off)[1], src, what + " data_offsets[1]");
        check(t.begin <= t.end, MOS_FORMAT, src, ": ", what, " data_offsets [", t.begin, ", ",
              t.end, ") end before they begin");
        check(t.end <= data_size, MOS_FORMAT, src, ": ", what, " data_offsets [", t.begin, ", ",
              t.end, ") go beyond the ", data_size, "-byte data section");

        uint64_t numel = 1, nbytes = 0;
        for (uint64_t d : t.shape)
            check(mul_ok(numel, d, &numel), MOS_FORMAT, src, ": ", what, " shape ",
                  shape_str(t.shape), " overflows 64 bits");
        check(mul_ok(numel, dtype_size(t.dtype), &nbytes), MOS_FORMAT, src, ": ", what, " shape ",
              shape_str(t.shape), " overflows 64 bits");
        check(nbytes == t.end - t.begin, MOS_FORMAT, src, ": ", what, " shape ",
              shape_str(t.shape), " of ", dts, " needs ", nbytes, " bytes but data_offsets [",
              t.begin, ", ", t.end, ") hold ", t.end - t.begin);
        st.tensors_.push_back(std::move(t));
    }

    // The data section must be tiled exactly: no overlap, no gap, nothing
    // after the last tensor (as the reference implementation requires).
    std::vector<const TensorInfo *> by_offset;
    for (const auto &t : st.tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo *a, const TensorInfo *b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t pos = 0;
    const TensorInfo *prev = nullptr;
    for (const TensorInfo *t : by_offset) {
        if (t->begin < pos)
            fail(MOS_FORMAT, src, ": tensors '", prev->name, "' [", prev->begin, ", ", prev->end,
                 ") and '", t->name, "' [", t->begin, ", ", t->end, ") overlap");
        if (t->begin > pos)
            fail(MOS_FORMAT, src, ": ", t->begin - pos, " unused bytes before tensor '", t->name,
                 "' at data offset ", pos);
        pos = t->end;
        if (t->end > t->begin) prev = t;
    }
    check(pos == data_size, MOS_FORMAT, src, ": ", data_size - pos,
          " bytes after the last tensor in the data section");

    st.data_.assign(p, p + size);
    st.data_start_ = static_cast<size_t>(data_start);
    return st;
}

SafeTensors SafeTensors::read_file(const std::string &path) {
    const std::string bytes = read_text_file(path);
    return parse(bytes.data(), bytes.size(), path);
}

const std::string *SafeTensors::meta(const std::string &key) const {
    auto it = metadata_.find(key);
    return it == metadata_.end() ? nullptr : &it->second;
}

const TensorInfo *SafeTensors::find(const std::string &name) const {
    auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                               [](const TensorInfo &t, const std::string &n) { return t.name < n; });
    return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const TensorInfo &SafeTensors::require(const std::string &name, DType dtype,
                                       const std::vector<uint64_t> &shape) const {
    const TensorInfo *t = find(name);
    check(t != nullptr, MOS_FORMAT, source_, ": tensor '", name, "' is missing");
    check(t->dtype == dtype, MOS_FORMAT, source_, ": tensor '", name, "' has dtype ",
          dtype_name(t->dtype), "; expected ", dtype_name(dtype));
    check(t->shape == shape, MOS_FORMAT, source_, ": tensor '", name, "' has shape ",
          shape_str(t->shape), "; expected ", shape_str(shape));
    return *t;
}

int SafeTensors::check_format(const std::string &format, int max_version) const {
    const std::string *f = meta("format");
    check(f != nullptr, MOS_FORMAT, source_, ": no \"format\" in __metadata__; expected '", format, "'");
    check(*f == format, MOS_FORMAT, source_, ": format is '", *f, "'; expected '", format, "'");
    const std::string *v = meta("format_version");
    check(v != nullptr, MOS_FORMAT, source_, ": no \"format_version\" in __metadata__");
    const bool digits = !v->empty() && v->size() <= 9 &&
                        std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; });
    check(digits, MOS_FORMAT, source_, ": format_version '", *v, "' is not a number");
    const int ver = std::stoi(*v);
    check(ver >= 1 && ver <= max_version, MOS_VERSION, source_, ": ", format, " format_version ", ver,
          " is not supported; this libmos reads versions 1..", max_version);
    return ver;
}

void SafeTensorsWriter::add(const std::string &name, DType dtype,
                            const std::vector<uint64_t> &shape, const void *data, size_t nbytes) {
    check(!name.empty(), MOS_INVALID_ARGUMENT, "tensor name is empty");
    check(name != kMetadataKey, MOS_INVALID_ARGUMENT, "tensor name '", name, "' is reserved");
    for (const auto &e : entries_)
        check(e.name != name, MOS_INVALID_ARGUMENT, "tensor '", name, "' added twice");
    uint64_t n = 1;
    for (uint64_t d : shape)
        check(mul_ok(n, d, &n), MOS_INVALID_ARGUMENT, "tensor '", name, "' shape overflows");
    check(mul_ok(n, dtype_size(dtype), &n) && n == nbytes, MOS_INVALID_ARGUMENT, "tensor '", name,
          "': ", nbytes, " bytes given for shape ", shape_str(shape), " of ", dtype_name(dtype));
    check(nbytes == 0 || data != nullptr, MOS_INVALID_ARGUMENT, "tensor '", name, "': data is NULL");
    entries_.push_back({name, dtype, shape, data, nbytes});
}

void SafeTensorsWriter::set_metadata(const std::string &key, const std::string &value) {
    metadata_[key] = value;
}

void SafeTensorsWriter::set_format(const std::string &format, int version) {
    metadata_["format"] = format;
    metadata_["format_version"] = std::to_string(version);
}

std::vector<uint8_t> SafeTensorsWriter::to_bytes() const {
    // Widest element type first, then by name: contiguous and naturally aligned.
    std::vector<const Entry *> order;
    for (const auto &e : entries_) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
        const size_t sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
        return sa != sb ? sa > sb : a->name < b->name;
    });
    nlohmann::json h = nlohmann::json::object();
    if (!metadata_.empty()) h[kMetadataKey] = metadata_;
    uint64_t pos = 0;
    for (const Entry *e : order) {
        h[e->name] = {{"dtype", dtype_name(e->dtype)},
                      {"shape", e->shape},
                      {"data_offsets", {pos, pos + e->nbytes}}};
        pos += e->nbytes;
    }
    std::string header = h.dump();
    // Spaces (valid JSON whitespace) so that the data section is 8-byte aligned.
    header.append((8 - (8 + header.size()) % 8) % 8, ' ');
    std::vector<uint8_t> out;
    out.reserve(8 + header.size() + pos);
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
    out.insert(out.end(), header.begin(), header.end());
    for (const Entry *e : order) {
        const auto *b = static_cast<const uint8_t *>(e->data);
        out.insert(out.end(), b, b + e->nbytes);
    }
    return out;
}

void SafeTensorsWriter::write_file(const std::string &path) const {
    const std::vector<uint8_t> bytes = to_bytes();
    write_file_atomic(path, bytes.data(), bytes.size());
}

void write_file_atomic(const std::string &path, const void *data, size_t size) {
    check(!path.empty(), MOS_INVALID_ARGUMENT, "empty path");
    // The temporary file lives in the target's directory so rename() is atomic
    // (same file system) and a crash leaves either the old or the new file.
    std::string tmp = path + ".tmp.XXXXXX";
    const int fd = mkstemp(&tmp[0]);
    if (fd < 0) fail(MOS_IO, "cannot create a temporary file for '", path, "': ", errno_str(errno));
    auto bail = [&](const char *what) {
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        fail(MOS_IO, "cannot ", what, " '", path, "': ", errno_str(e));
    };
    const auto *p = static_cast<const uint8_t *>(data);
    size_t done = 0;
    while (done < size) {
        const ssize_t w = ::write(fd, p + done, size - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            bail("write");
        }
        done += static_cast<size_t>(w);
    }
    // mkstemp creates 0600; give the file the usual permissions.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(fd, 0666 & ~mask) != 0) bail("set permissions of");
    if (::fsync(fd) != 0) bail("sync");
    if (::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        fail(MOS_IO, "cannot close '", path, "': ", errno_str(e));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        fail(MOS_IO, "cannot rename a temporary file to '", path, "': ", errno_str(e));
    }
    // Make the rename itself durable; failure here is not fatal to the data.
    const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace mos
