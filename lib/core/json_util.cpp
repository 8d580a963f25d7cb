// lib/core/json_util.cpp: file reading and checked JSON field access (json_util.hpp).
#include "core/json_util.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/error.hpp"

namespace mos {

std::string read_text_file(const std::string &path) {
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) fail(MOS_IO, "cannot open '", path, "': ", std::strerror(errno));
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
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

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string &what, int max_depth) {
    // nlohmann::json keeps the last of duplicate keys without a word; its
    // parser callback sees every key, so a repeated one is an error here.
    std::vector<JsonFrame> open;
    auto element_done = [&] {
        if (!open.empty() && !open.back().object) open.back().index++;
    };
    auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json &parsed) {
        using E = nlohmann::json::parse_event_t;
        switch (ev) {
        case E::object_start:
        case E::array_start:
            if (static_cast<int>(open.size()) >= max_depth)
                fail(MOS_FORMAT, what, ": objects and arrays nested deeper than ", max_depth, " levels");
            open.emplace_back();
            open.back().object = ev == E::object_start;
            break;
        case E::object_end:
        case E::array_end:
            if (!open.empty()) open.pop_back();
            element_done();
            break;
        case E::key:
            if (!open.empty() && parsed.is_string()) {
                JsonFrame &f = open.back();
                f.key = parsed.get_ref<const std::string &>();
                if (!f.keys.insert(f.key).second) {
                    const std::string where = frame_path(open);
                    fail(MOS_FORMAT, what, ": duplicate key '", f.key, "' in ",
                         where.empty() ? std::string("the top-level object") : where);
                }
            }
            break;
        case E::value:
            element_done();
            break;
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), cb);
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
