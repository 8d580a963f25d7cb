// lib/core/json_util.cpp: file reading and checked JSON field access (json_util.hpp).
#include "core/json_util.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <sys/stat.h>

#include "core/error.hpp"

namespace mos {

// Largest file read_text_file reads: far above any space, arch, search
// result, latency dataset or tokenizer model, and a bound on what a wrong path
// (a disk image, a huge sparse file) can make the library allocate.
constexpr size_t kMaxTextFileBytes = size_t{256} << 20;

// The whole file; MOS_FORMAT for a file over kMaxTextFileBytes, before reading
// it (a regular file by its size, anything else, such as a pipe, once that
// much has come).
std::string read_text_file(const std::string &path) {
    const size_t max_bytes = kMaxTextFileBytes;
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) fail(MOS_IO, "cannot open '", path, "': ", std::strerror(errno));
    struct stat sb;
    if (::fstat(::fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && static_cast<uint64_t>(sb.st_size) > max_bytes) {
        std::fclose(f);
        fail(MOS_FORMAT, "'", path, "' is ", static_cast<uint64_t>(sb.st_size), " bytes; at most ", max_bytes,
             " are read here");
    }
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        if (out.size() + n > max_bytes) {
            std::fclose(f);
            fail(MOS_FORMAT, "'", path, "' holds more than ", max_bytes, " bytes; at most ", max_bytes,
                 " are read here");
        }
        out.append(buf, n);
    }
    const bool bad = std::ferror(f) != 0;
    const int err = errno;
    std::fclose(f);
    if (bad) fail(MOS_IO, "cannot read '", path, "': ", std::strerror(err));
    return out;
}

namespace {

// One open object or array while parsing, for duplicate detection and paths.
struct JsonFrame {
    bool object = false;
    std::set<std::string> keys;  // keys seen so far (objects)
    std::string key;             // the member being parsed (objects)
    size_t index = 0;            // elements completed so far (arrays)
};

// "encoder.layers[2]": where the innermost open container sits; "" at the top.
std::string frame_path(const std::vector<JsonFrame> &open) {
    std::string path;
    for (size_t i = 0; i + 1 < open.size(); ++i) {
        if (open[i].object)
            path += (path.empty() ? "" : ".") + open[i].key;
        else
            path += "[" + std::to_string(open[i].index) + "]";
    }
    return path;
}

// A SAX pass that only watches the structure: every key of every object (a
// repeated one is an error naming it and where), and the nesting depth. It
// builds nothing, so it is linear and cheap. (nlohmann's callback parser
// could do the same while building the value, but after each object or array
// it scans the parent container for discarded elements: quadratic, 3.5 s of
// CPU for an array of 100,000 empty objects.)
class StructureCheck {
public:
    using json = nlohmann::json;
    StructureCheck(const std::string &what, int max_depth) : what_(what), max_depth_(max_depth) {}

    bool null() { return value(); }
    bool boolean(bool) { return value(); }
    bool number_integer(json::number_integer_t) { return value(); }
    bool number_unsigned(json::number_unsigned_t) { return value(); }
    bool number_float(json::number_float_t, const json::string_t &) { return value(); }
    bool string(json::string_t &) { return value(); }
    bool binary(json::binary_t &) { return value(); }
    bool start_object(std::size_t) { return open(true); }
    bool start_array(std::size_t) { return open(false); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(json::string_t &k) {
        JsonFrame &f = open_.back();
        f.key = k;
        if (!f.keys.insert(k).second) {
            const std::string where = frame_path(open_);
            fail(MOS_FORMAT, what_, ": duplicate key '", k, "' in ",
                 where.empty() ? std::string("the top-level object") : where);
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &e) {
        fail(MOS_FORMAT, what_, ": not JSON: ", e.what());
    }

private:
    bool value() {
        if (!open_.empty() && !open_.back().object) open_.back().index++;
        return true;
    }
    bool open(bool object) {
        if (static_cast<int>(open_.size()) >= max_depth_)
            fail(MOS_FORMAT, what_, ": objects and arrays nested deeper than ", max_depth_, " levels");
        open_.emplace_back();
        open_.back().object = object;
        return true;
    }
    bool close() {
        open_.pop_back();
        return value();
    }
    const std::string &what_;
    int max_depth_;
    std::vector<JsonFrame> open_;
};

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string &what, int max_depth) {
    // nlohmann::json keeps the last of duplicate keys without a word: the
    // structure pass rejects them (and deep nesting) before the value is built.
    try {
        StructureCheck check(what, max_depth);
        nlohmann::json::sax_parse(text.begin(), text.end(), &check);
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception &e) {
        // Not only parse_error: a number too large for a double ("1e999")
        // is reported as out_of_range.
        fail(MOS_FORMAT, what, ": not JSON: ", e.what());
    }
}

static std::string member(const std::string &path, const char *key) {
    return path.empty() ? std::string(key) : path + "." + key;
}

void check_known_keys(const nlohmann::json &obj, const std::string &path,
                      const std::vector<std::string> &allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool known = false;
        for (const auto &a : allowed) known = known || a == it.key();
        if (!known) {
            std::string list;
            for (const auto &a : allowed) list += (list.empty() ? "" : "|") + a;
            fail(MOS_FORMAT, path.empty() ? std::string("top level") : path, ": unknown field '",
                 it.key(), "'; allowed ", list);
        }
    }
}

static long long as_int(const nlohmann::json &v, const std::string &where, long long lo,
                        long long hi) {
    if (!v.is_number_integer()) fail(MOS_FORMAT, where, ": expected an integer, got ", json_brief(v));
    long long x;
    if (v.is_number_unsigned()) {
        const auto u = v.get<unsigned long long>();
        if (u > static_cast<unsigned long long>(hi)) fail(MOS_FORMAT, where, " = ", json_brief(v), "; allowed ", lo, "..", hi);
        x = static_cast<long long>(u);
    } else {
        x = v.get<long long>();
    }
    if (x < lo || x > hi) fail(MOS_FORMAT, where, " = ", x, "; allowed ", lo, "..", hi);
    return x;
}

int json_int(const nlohmann::json &obj, const std::string &path, const char *key, long long lo,
             long long hi) {
    const std::string where = member(path, key);
    auto it = obj.find(key);
    if (it == obj.end()) fail(MOS_FORMAT, where, ": missing");
    return static_cast<int>(as_int(*it, where, lo, hi));
}

const nlohmann::json &json_object(const nlohmann::json &obj, const std::string &path,
                                  const char *key) {
    const std::string where = member(path, key);
    auto it = obj.find(key);
    if (it == obj.end()) fail(MOS_FORMAT, where, ": missing");
    if (!it->is_object()) fail(MOS_FORMAT, where, ": expected an object");
    return *it;
}

const nlohmann::json &json_array(const nlohmann::json &obj, const std::string &path,
                                 const char *key) {
    const std::string where = member(path, key);
    auto it = obj.find(key);
    if (it == obj.end()) fail(MOS_FORMAT, where, ": missing");
    if (!it->is_array()) fail(MOS_FORMAT, where, ": expected an array");
    return *it;
}

std::vector<int> json_int_list(const nlohmann::json &obj, const std::string &path,
                               const char *key, long long lo, long long hi) {
    const nlohmann::json &a = json_array(obj, path, key);
    std::vector<int> out;
    for (size_t i = 0; i < a.size(); ++i)
        out.push_back(static_cast<int>(
            as_int(a[i], member(path, key) + "[" + std::to_string(i) + "]", lo, hi)));
    return out;
}

std::string json_brief(const nlohmann::json &v) {
    constexpr size_t kMax = 60;
    std::string s = v.dump();
    if (s.size() <= kMax) return s;
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    return s + "...";
}

std::string json_int_array(const std::vector<int> &v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

std::string json_quote(const std::string &s) { return nlohmann::json(s).dump(); }

}  // namespace mos
