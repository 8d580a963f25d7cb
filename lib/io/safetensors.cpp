// lib/io/safetensors.cpp: strict safetensors reader (checksum verified, BF16
// widened) and streaming atomic writer with stale-temporary cleanup and test hooks.
#include "io/safetensors.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

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
    {DType::I32, "I32", 4}, {DType::I64, "I64", 8}, {DType::I8, "I8", 1},
};

// The deepest nesting a valid header has: top object > tensor object > shape array.
constexpr int kMaxDepth = 3;
const char *kMetadataKey = "__metadata__";
// The container's own metadata field: "crc32c:<header crc>:<data crc>", both
// 8 lower-case hex digits (docs/formats.md).
const char *kChecksumKey = "checksum";
const char *kChecksumAlgo = "crc32c:";

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

std::string hex8(uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = digits[v & 15];
    return s;
}

bool parse_hex8(const std::string &s, size_t at, uint32_t *out);

// "crc32c:<8 hex>:<8 hex>": the form of the checksum field's value.
bool checksum_form(const std::string &c, uint32_t *header, uint32_t *data) {
    const size_t a = std::strlen(kChecksumAlgo);
    return c.size() == a + 17 && c.compare(0, a, kChecksumAlgo) == 0 && parse_hex8(c, a, header) &&
           c[a + 8] == ':' && parse_hex8(c, a + 9, data);
}

bool parse_hex8(const std::string &s, size_t at, uint32_t *out) {
    if (s.size() < at + 8) return false;
    uint32_t v = 0;
    for (size_t i = at; i < at + 8; ++i) {
        const char c = s[i];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | static_cast<uint32_t>(d);
    }
    *out = v;
    return true;
}

// ---- CRC32C ------------------------------------------------------------------

// Reflected Castagnoli polynomial.
constexpr uint32_t kCrcPoly = 0x82F63B78u;

struct CrcTable {
    uint32_t t[256];
    constexpr CrcTable() : t() {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ kCrcPoly : c >> 1;
            t[i] = c;
        }
    }
};
constexpr CrcTable kCrcTable;

uint32_t crc32c_bytes(uint32_t c, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i) c = kCrcTable.t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
// One crc32 instruction per 8 bytes: about 8 bytes per 3 cycles, so a 200 MB
// file costs some 25 ms (docs/reliability.md has the measurement).
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t c, const uint8_t *p, size_t n) {
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = static_cast<uint32_t>(c64);
    while (n > 0) {
        c = _mm_crc32_u8(c, *p++);
        --n;
    }
    return c;
}

bool have_sse42() {
    static const bool yes = __builtin_cpu_supports("sse4.2");
    return yes;
}
#endif

// ---- header ------------------------------------------------------------------

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

// The header text the checksum covers: the header object, keys sorted, no
// whitespace, with the checksum field removed from __metadata__ (and
// __metadata__ itself if that leaves it empty). Reader and writer both build
// it from the parsed form, so the padding and key order of the file do not
// matter, while every tensor entry and metadata value does.
std::string canonical_header(nlohmann::json h) {
    auto m = h.find(kMetadataKey);
    if (m != h.end() && m->is_object()) {
        m->erase(kChecksumKey);
        if (m->empty()) h.erase(kMetadataKey);
    }
    return h.dump();
}

std::string errno_str(int e) { return std::strerror(e); }

std::string dir_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

std::string base_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
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

float bf16_to_f32(uint16_t b) {
    const uint32_t u = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    // A NaN keeps its sign and top payload bits and is made quiet, so that
    // dropping the low payload bits cannot turn it into an infinity.
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
    // Round to nearest, ties to even: add just under half an ulp of bf16,
    // plus one if the kept part is odd. Carries into the exponent round up
    // to the next binade or to infinity, as they should.
    u += 0x7FFFu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t n) {
    const auto *p = static_cast<const uint8_t *>(data);
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (have_sse42()) return ~crc32c_sse42(c, p, n);
#endif
    return ~crc32c_bytes(c, p, n);
}

uint64_t TensorInfo::numel() const {
    uint64_t n = 1;
    for (uint64_t d : shape)
        if (!mul_ok(n, d, &n)) fail(MOS_FORMAT, "tensor '", name, "': shape overflows");
    return n;
}

SafeTensors SafeTensors::parse(const void *data, size_t size, const std::string &source) {
    if (size > 0) check(data != nullptr, MOS_INVALID_ARGUMENT, source, ": data is NULL");
    const auto *p = static_cast<const uint8_t *>(data);
    return parse_owned(std::vector<uint8_t>(p, p + size), source);
}

namespace {
// The first check of a file: its size and the header length in its first 8
// bytes. read_file runs it before reading the rest, so that a huge file that
// is not safetensors (a disk image, a sparse file of zeros) fails at once
// instead of being read into memory whole.
void check_header_length(const uint8_t *first8, uint64_t size, const std::string &src) {
    check(size >= 8, MOS_FORMAT, src, ": ", size, " bytes is shorter than the 8-byte header length");
    const uint64_t header_len = read_le64(first8);
    check(header_len <= size - 8, MOS_FORMAT, src, ": header length ", header_len,
          " goes beyond the end of the file (", size - 8, " bytes follow the length)");
    check(header_len >= 2, MOS_FORMAT, src, ": header length ", header_len, " is too short for a JSON object");
}
}  // namespace

SafeTensors SafeTensors::parse_owned(std::vector<uint8_t> image, const std::string &source) {
    SafeTensors st;
    st.source_ = source;
    const std::string &src = st.source_;
    const size_t size = image.size();
    const uint8_t *p = image.data();
    check_header_length(p, size, src);
    const uint64_t header_len = read_le64(p);
    const nlohmann::json h = parse_header(p + 8, static_cast<size_t>(header_len), src);
    check(h.is_object(), MOS_FORMAT, src, ": header is not a JSON object");

    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = size - data_start;
    const std::string *checksum = nullptr;
    uint64_t wide_floats = 0;
    for (auto it = h.begin(); it != h.end(); ++it) {
        const std::string &name = it.key();
        const nlohmann::json &v = it.value();
        if (name == kMetadataKey) {
            check(v.is_object(), MOS_FORMAT, src, ": __metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                check(m.value().is_string(), MOS_FORMAT, src, ": __metadata__ value of '", m.key(),
                      "' is not a string");
                const std::string &value = m.value().get_ref<const std::string &>();
                uint32_t h32, d32;
                if (m.key() == kChecksumKey) {
                    checksum = &value;
                    continue;
                }
                // A checksum under another key: the key "checksum" itself was
                // damaged, which would otherwise switch verification off.
                check(!checksum_form(value, &h32, &d32), MOS_FORMAT, src, ": file is corrupt: metadata key '",
                      m.key(), "' holds a checksum (the key \"checksum\" is damaged)");
                st.metadata_[m.key()] = value;
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
            if (dts == d.name) t.stored = d.type, known = true;
        check(known, MOS_FORMAT, src, ": ", what, " has unsupported dtype '", dts,
              "'; allowed F32|BF16|U8|I8|I32|I64");
        // BF16 is widened to F32 in memory (see the header comment).
        t.dtype = t.stored == DType::BF16 ? DType::F32 : t.stored;

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
        check(mul_ok(numel, dtype_size(t.stored), &nbytes), MOS_FORMAT, src, ": ", what, " shape ",
              shape_str(t.shape), " overflows 64 bits");
        check(nbytes == t.end - t.begin, MOS_FORMAT, src, ": ", what, " shape ",
              shape_str(t.shape), " of ", dts, " needs ", nbytes, " bytes but data_offsets [",
              t.begin, ", ", t.end, ") hold ", t.end - t.begin);
        // numel fits: the stored bytes lie inside the file.
        t.size = numel * dtype_size(t.dtype);
        if (t.stored != t.dtype) {
            t.wide_at = wide_floats;
            wide_floats += numel;
        }
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

    if (checksum) {
        const std::string &c = *checksum;
        uint32_t want_header = 0, want_data = 0;
        check(checksum_form(c, &want_header, &want_data), MOS_FORMAT, src, ": __metadata__ checksum ", json_brief(c),
              " is not of the form \"crc32c:<8 hex digits>:<8 hex digits>\"");
        const uint32_t got_data = crc32c(0, p + data_start, static_cast<size_t>(data_size));
        check(got_data == want_data, MOS_FORMAT, src, ": file is corrupt: the data section's CRC32C is ",
              hex8(got_data), " but the header records ", hex8(want_data),
              " (damaged or truncated on disk or in transfer; use another copy)");
        const std::string canon = canonical_header(h);
        const uint32_t got_header = crc32c(0, canon.data(), canon.size());
        check(got_header == want_header, MOS_FORMAT, src, ": file is corrupt: the header's CRC32C is ",
              hex8(got_header), " but its checksum field records ", hex8(want_header),
              " (damaged or edited; use another copy)");
        st.checksum_verified_ = true;
    }

    st.data_ = std::move(image);
    st.data_start_ = static_cast<size_t>(data_start);
    if (wide_floats > 0) {
        st.wide_.resize(static_cast<size_t>(wide_floats));
        for (const TensorInfo &t : st.tensors_) {
            if (t.stored == t.dtype) continue;
            const uint8_t *b = st.data_.data() + st.data_start_ + t.begin;
            float *w = st.wide_.data() + t.wide_at;
            const size_t n = static_cast<size_t>(t.size / 4);
            for (size_t i = 0; i < n; ++i) {
                // Little-endian bf16: the bits are the high half of an f32.
                const uint32_t u = static_cast<uint32_t>(b[2 * i] | b[2 * i + 1] << 8) << 16;
                std::memcpy(w + i, &u, 4);
            }
        }
    }
    return st;
}

SafeTensors SafeTensors::read_file(const std::string &path) {
    // Read straight into the image the parser keeps: one copy of the file in
    // memory, not three.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(MOS_IO, "cannot open '", path, "': ", errno_str(errno));
    struct stat sb;
    std::vector<uint8_t> image;
    if (::fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
        uint8_t first8[8] = {};
        ssize_t r;
        do r = ::pread(fd, first8, sizeof first8, 0);
        while (r < 0 && errno == EINTR);
        if (r == static_cast<ssize_t>(sizeof first8)) {
            try {
                check_header_length(first8, static_cast<uint64_t>(sb.st_size), path);
            } catch (...) {
                ::close(fd);
                throw;
            }
        }
        image.resize(static_cast<size_t>(sb.st_size));
    }
    size_t got = 0;
    while (true) {
        if (got == image.size()) image.resize(image.size() + (1 << 16));  // grew, or not a regular file
        const ssize_t r = ::read(fd, image.data() + got, image.size() - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd);
            fail(MOS_IO, "cannot read '", path, "': ", errno_str(e));
        }
        if (r == 0) break;
        got += static_cast<size_t>(r);
    }
    ::close(fd);
    image.resize(got);
    return parse_owned(std::move(image), path);
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
          dtype_name(t->stored), "; expected ", dtype_name(dtype));
    check(t->shape == shape, MOS_FORMAT, source_, ": tensor '", name, "' has shape ",
          shape_str(t->shape), "; expected ", shape_str(shape));
    return *t;
}

const uint8_t *SafeTensors::bytes(const TensorInfo &t) const {
    if (t.stored != t.dtype) return reinterpret_cast<const uint8_t *>(wide_.data() + t.wide_at);
    return data_.data() + data_start_ + t.begin;
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

// ---- writer --------------------------------------------------------------------

void SafeTensorsWriter::add(const std::string &name, DType dtype, const std::vector<uint64_t> &shape,
                            const void *data, size_t nbytes) {
    add(name, dtype, shape, data, nbytes, dtype);
}

void SafeTensorsWriter::add(const std::string &name, DType dtype, const std::vector<uint64_t> &shape,
                            const void *data, size_t nbytes, DType stored) {
    check(!name.empty(), MOS_INVALID_ARGUMENT, "tensor name is empty");
    check(name != kMetadataKey, MOS_INVALID_ARGUMENT, "tensor name '", name, "' is reserved");
    check(dtype_size(dtype) > 0, MOS_INVALID_ARGUMENT, "tensor '", name, "': unknown dtype");
    check(stored == dtype || (dtype == DType::F32 && stored == DType::BF16), MOS_INVALID_ARGUMENT,
          "tensor '", name, "': ", dtype_name(dtype), " data cannot be stored as ", dtype_name(stored),
          " (only F32 as BF16)");
    for (const auto &e : entries_)
        check(e.name != name, MOS_INVALID_ARGUMENT, "tensor '", name, "' added twice");
    uint64_t n = 1, bytes = 0;
    for (uint64_t d : shape)
        check(mul_ok(n, d, &n), MOS_INVALID_ARGUMENT, "tensor '", name, "' shape overflows");
    check(mul_ok(n, dtype_size(dtype), &bytes) && bytes == nbytes, MOS_INVALID_ARGUMENT, "tensor '", name,
          "': ", nbytes, " bytes given for shape ", shape_str(shape), " of ", dtype_name(dtype));
    check(nbytes == 0 || data != nullptr, MOS_INVALID_ARGUMENT, "tensor '", name, "': data is NULL");
    entries_.push_back({name, dtype, stored, shape, data, nbytes, n * dtype_size(stored)});
}

void SafeTensorsWriter::set_metadata(const std::string &key, const std::string &value) {
    check(key != kChecksumKey, MOS_INVALID_ARGUMENT, "metadata key '", key,
          "' is reserved: the writer records the file's checksum there");
    // The reader takes a value of the checksum's form under another key for a
    // damaged checksum key (see parse_owned).
    uint32_t h32, d32;
    check(!checksum_form(value, &h32, &d32), MOS_INVALID_ARGUMENT, "metadata '", key,
          "': a value of the form crc32c:<hex>:<hex> is reserved for the checksum");
    metadata_[key] = value;
}

void SafeTensorsWriter::set_format(const std::string &format, int version) {
    metadata_["format"] = format;
    metadata_["format_version"] = std::to_string(version);
}

void SafeTensorsWriter::emit(const std::function<void(const void *, size_t)> &put) const {
    // Widest stored element type first, then by name: contiguous and naturally aligned.
    std::vector<const Entry *> order;
    for (const auto &e : entries_) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
        const size_t sa = dtype_size(a->stored), sb = dtype_size(b->stored);
        return sa != sb ? sa > sb : a->name < b->name;
    });
    nlohmann::json h = nlohmann::json::object();
    if (!metadata_.empty()) h[kMetadataKey] = metadata_;
    uint64_t pos = 0;
    for (const Entry *e : order) {
        h[e->name] = {{"dtype", dtype_name(e->stored)},
                      {"shape", e->shape},
                      {"data_offsets", {pos, pos + e->stored_bytes}}};
        pos += e->stored_bytes;
    }
    auto dump = [](const nlohmann::json &j) {
        try {
            return j.dump();
        } catch (const nlohmann::json::exception &ex) {
            fail(MOS_INVALID_ARGUMENT, "tensor names and metadata must be valid UTF-8: ", ex.what());
        }
    };
    // A tensor's stored bytes, F32 narrowed to BF16 in chunks on the way.
    auto stream = [](const Entry &e, const std::function<void(const void *, size_t)> &sink) {
        if (e.stored == e.dtype) {
            if (e.nbytes > 0) sink(e.data, e.nbytes);
            return;
        }
        constexpr size_t kChunk = 8192;
        uint8_t buf[2 * kChunk];
        const auto *src = static_cast<const uint8_t *>(e.data);
        const size_t n = e.nbytes / 4;
        for (size_t i = 0; i < n; i += kChunk) {
            const size_t m = std::min(kChunk, n - i);
            for (size_t j = 0; j < m; ++j) {
                float f;
                std::memcpy(&f, src + 4 * (i + j), 4);
                const uint16_t b = f32_to_bf16(f);
                buf[2 * j] = static_cast<uint8_t>(b & 0xFF);
                buf[2 * j + 1] = static_cast<uint8_t>(b >> 8);
            }
            sink(buf, 2 * m);
        }
    };
    // The checksum: of the canonical header and of the data as stored.
    const std::string canon = canonical_header(h);
    const uint32_t header_crc = crc32c(0, canon.data(), canon.size());
    uint32_t data_crc = 0;
    for (const Entry *e : order)
        stream(*e, [&](const void *b, size_t n) { data_crc = crc32c(data_crc, b, n); });
    h[kMetadataKey][kChecksumKey] = std::string(kChecksumAlgo) + hex8(header_crc) + ":" + hex8(data_crc);

    std::string header = dump(h);
    // Spaces (valid JSON whitespace) so that the data section is 8-byte aligned.
    header.append((8 - (8 + header.size()) % 8) % 8, ' ');
    uint8_t len[8];
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    put(len, 8);
    put(header.data(), header.size());
    for (const Entry *e : order) stream(*e, put);
}

std::vector<uint8_t> SafeTensorsWriter::to_bytes() const {
    std::vector<uint8_t> out;
    emit([&](const void *b, size_t n) {
        const auto *p = static_cast<const uint8_t *>(b);
        out.insert(out.end(), p, p + n);
    });
    return out;
}

void SafeTensorsWriter::write_file(const std::string &path) const {
    write_file_atomic(path, [&](const std::function<void(const void *, size_t)> &put) { emit(put); });
}

// ---- atomic writes ---------------------------------------------------------------

namespace {

std::atomic<unsigned> g_atomic_writes{0};  // atomic writes started in this process
std::atomic<unsigned> g_temp_seq{0};       // the <n> of temporary names

enum class Phase { None, AfterTempOpen, AfterData, AfterFsync, BeforeRename, AfterRename };
const struct {
    Phase phase;
    const char *name;
} kPhases[] = {
    {Phase::AfterTempOpen, "after-temp-open"}, {Phase::AfterData, "after-data"},
    {Phase::AfterFsync, "after-fsync"},        {Phase::BeforeRename, "before-rename"},
    {Phase::AfterRename, "after-rename"},
};
const struct {
    int code;
    const char *name;
    bool at_open;
} kFaults[] = {
    {ENOSPC, "ENOSPC", false}, {EDQUOT, "EDQUOT", false}, {EFBIG, "EFBIG", false},
    {EIO, "EIO", false},       {EACCES, "EACCES", true},  {EROFS, "EROFS", true},
};
// A data fault strikes once this many bytes of the file are written (or at
// its end, if shorter): a partial temporary exists when it does.
constexpr size_t kFaultAfterBytes = 4096;

struct Hooks {
    Phase pause = Phase::None;
    int fault = 0;
    bool fault_at_open = false;
};

// "<word>[:<k>]" of variable `var`: the word if the hook applies to write
// number `write_no` (k absent or equal), else "".
std::string hook_word(const char *var, const char *value, unsigned write_no) {
    std::string v(value);
    const size_t colon = v.find(':');
    if (colon == std::string::npos) return v;
    const std::string k = v.substr(colon + 1);
    const bool digits = !k.empty() && k.size() <= 9 && std::all_of(k.begin(), k.end(), [](char c) {
        return c >= '0' && c <= '9';
    });
    check(digits && std::stoul(k) > 0, MOS_INVALID_ARGUMENT, var, "='", v,
          "': the part after ':' must be a write number >= 1");
    return std::stoul(k) == write_no ? v.substr(0, colon) : std::string();
}

Hooks read_hooks(unsigned write_no) {
    Hooks h;
    if (const char *p = std::getenv("MOS_TEST_WRITE_PAUSE"); p && *p) {
        const std::string w = hook_word("MOS_TEST_WRITE_PAUSE", p, write_no);
        if (!w.empty()) {
            bool known = false;
            for (const auto &ph : kPhases)
                if (w == ph.name) h.pause = ph.phase, known = true;
            check(known, MOS_INVALID_ARGUMENT, "MOS_TEST_WRITE_PAUSE: unknown phase '", w,
                  "'; allowed after-temp-open|after-data|after-fsync|before-rename|after-rename");
        }
    }
    if (const char *f = std::getenv("MOS_TEST_WRITE_FAIL"); f && *f) {
        const std::string w = hook_word("MOS_TEST_WRITE_FAIL", f, write_no);
        if (!w.empty()) {
            for (const auto &ft : kFaults)
                if (w == ft.name) h.fault = ft.code, h.fault_at_open = ft.at_open;
            check(h.fault != 0, MOS_INVALID_ARGUMENT, "MOS_TEST_WRITE_FAIL: unknown error '", w,
                  "'; allowed ENOSPC|EDQUOT|EFBIG|EIO|EACCES|EROFS");
        }
    }
    return h;
}

void pause_at(const Hooks &h, Phase ph) {
    if (h.pause == ph) ::raise(SIGSTOP);
}

// "<digits>.<digits>" with a first number that can be a pid.
bool parse_pid_seq(const char *s, pid_t *pid) {
    long long v = 0;
    int nd = 0;
    for (; *s >= '0' && *s <= '9'; ++s, ++nd) {
        if (nd >= 10) return false;
        v = v * 10 + (*s - '0');
    }
    if (nd == 0 || *s != '.' || v <= 0 || v > INT_MAX) return false;
    ++s;
    if (*s == '\0') return false;
    for (; *s; ++s)
        if (*s < '0' || *s > '9') return false;
    *pid = static_cast<pid_t>(v);
    return true;
}

// Removes temporaries of `path` whose writer is gone (step 1 of
// write_file_atomic). Best effort: an unreadable directory is left alone (the
// write itself then reports the problem).
void remove_stale_temps(const std::string &path) {
    const std::string dir = dir_of(path), prefix = base_of(path) + ".tmp.";
    DIR *d = ::opendir(dir.c_str());
    if (!d) return;
    const int dfd = ::dirfd(d);
    const pid_t self = ::getpid();
    const time_t now = std::time(nullptr);
    while (const dirent *e = ::readdir(d)) {
        const char *n = e->d_name;
        if (std::strncmp(n, prefix.c_str(), prefix.size()) != 0) continue;
        const char *rest = n + prefix.size();
        pid_t pid = 0;
        if (parse_pid_seq(rest, &pid)) {
            // kill(pid, 0) fails with ESRCH only when no such process exists
            // (EPERM: it exists but belongs to someone else).
            if (pid != self && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlinkat(dfd, n, 0);
            continue;
        }
        // The older mkstemp naming carries no pid: such a temporary is stale
        // once nobody has written to it for 10 minutes.
        const bool old_style = std::strlen(rest) == 6 && std::all_of(rest, rest + 6, [](char c) {
                                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                               });
        struct stat sb;
        if (old_style && ::fstatat(dfd, n, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            now - sb.st_mtime > 600)
            ::unlinkat(dfd, n, 0);
    }
    ::closedir(d);
}

}  // namespace

void write_file_atomic(const std::string &path, const void *data, size_t size) {
    check(data != nullptr || size == 0, MOS_INVALID_ARGUMENT, "write of '", path, "': data is NULL");
    write_file_atomic(path, [&](const std::function<void(const void *, size_t)> &put) {
        if (size > 0) put(data, size);
    });
}

void write_file_atomic(const std::string &path,
                       const std::function<void(const std::function<void(const void *, size_t)> &)> &produce) {
    check(!path.empty(), MOS_INVALID_ARGUMENT, "empty path");
    const unsigned write_no = ++g_atomic_writes;
    const Hooks hooks = read_hooks(write_no);
    remove_stale_temps(path);

    // The temporary lives in the target's directory so rename() is atomic
    // (same file system) and a crash leaves either the old or the new file.
    const std::string unchanged = "; '" + path + "' was not changed";
    const std::string stem = path + ".tmp." + std::to_string(::getpid()) + ".";
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; fd < 0; ++attempt) {
        tmp = stem + std::to_string(g_temp_seq++);
        if (hooks.fault_at_open) {
            errno = hooks.fault;
        } else {
            // 0666 less the umask: the permissions of any newly created file.
            fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        }
        if (fd < 0 && (errno != EEXIST || attempt >= 100))
            fail(MOS_IO, "cannot create a temporary file next to '", path, "': ", errno_str(errno), unchanged);
    }
    bool done = false;
    struct Cleanup {
        int &fd;
        const std::string &tmp;
        bool &done;
        ~Cleanup() {
            if (done) return;
            if (fd >= 0) ::close(fd);
            ::unlink(tmp.c_str());
        }
    } cleanup{fd, tmp, done};
    auto bail = [&](const char *what, int e) {
        fail(MOS_IO, "cannot ", what, " '", path, "' (temporary file '", tmp, "'): ", errno_str(e), unchanged);
    };
    pause_at(hooks, Phase::AfterTempOpen);

    size_t written = 0;
    bool fault_pending = hooks.fault != 0 && !hooks.fault_at_open;
    auto put = [&](const void *b, size_t n) {
        const auto *p = static_cast<const uint8_t *>(b);
        while (n > 0) {
            size_t chunk = n;
            if (fault_pending) {
                if (written >= kFaultAfterBytes) bail("write", hooks.fault);
                chunk = std::min(chunk, kFaultAfterBytes - written);
            }
            const ssize_t w = ::write(fd, p, chunk);
            if (w < 0) {
                if (errno == EINTR) continue;
                bail("write", errno);
            }
            if (w == 0) bail("write", ENOSPC);
            p += w;
            n -= static_cast<size_t>(w);
            written += static_cast<size_t>(w);
        }
    };
    produce(put);
    if (fault_pending) bail("write", hooks.fault);
    pause_at(hooks, Phase::AfterData);
    if (::fsync(fd) != 0) bail("sync", errno);
    pause_at(hooks, Phase::AfterFsync);
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) bail("close", errno);
    pause_at(hooks, Phase::BeforeRename);
    if (::rename(tmp.c_str(), path.c_str()) != 0) bail("rename the temporary file over", errno);
    done = true;
    pause_at(hooks, Phase::AfterRename);
    // Make the rename itself durable; failure here is not fatal to the data.
    const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace mos
