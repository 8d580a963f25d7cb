// lib/model/builtin.cpp: finding, verifying and loading built-in supernets
// (see builtin.hpp and docs/builtin.md).
#include "model/builtin.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/sha256.hpp"
#include "model/builtin_paths.h"

namespace mos {

namespace {

bool is_file(const std::string &p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dir_of(const std::string &p) {
    const size_t slash = p.find_last_of('/');
    return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

// The directory of the shared object (or program) this code is linked into.
std::string own_dir() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void *>(&builtin_search_dirs), &info) == 0 || !info.dli_fname) return "";
    const std::string path = info.dli_fname;
    return path.find('/') == std::string::npos ? std::string() : dir_of(path);
}

bool plain_name(const std::string &n) {
    if (n.empty() || n.size() > 64) return false;
    for (char c : n)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
}

}  // namespace

std::vector<std::string> builtin_search_dirs() {
    std::vector<std::string> dirs;
    if (const char *env = std::getenv("MOS_BUILTIN_DIR"); env && *env) dirs.push_back(env);
#ifdef MOS_LIB_TO_BUILTIN
    if (const std::string own = own_dir(); !own.empty()) dirs.push_back(own + "/" + MOS_LIB_TO_BUILTIN);
#endif
    dirs.push_back(MOS_INSTALLED_BUILTIN);
    // The source tree only for a library that runs from its build tree.
    if (const std::string own = own_dir(); own.rfind(MOS_BUILD_ROOT, 0) == 0) dirs.push_back(MOS_SOURCE_BUILTIN);
    return dirs;
}

BuiltinInfo find_builtin(const std::string &name_in) {
    const std::string name = name_in.empty() ? kDefaultBuiltin : name_in;
    check(plain_name(name), MOS_INVALID_ARGUMENT, "built-in name '", name,
          "' is not a plain name (letters a-z, digits, '_' and '-')");
    std::string looked;
    for (const std::string &d : builtin_search_dirs()) {
        const std::string dir = d + "/" + name;
        const std::string manifest = dir + "/manifest.json";
        looked += (looked.empty() ? "" : ", ") + manifest;
        if (!is_file(manifest)) continue;
        BuiltinInfo b;
        b.name = name;
        b.dir = dir;
        b.manifest_json = read_text_file(manifest);
        const nlohmann::json j = parse_json(b.manifest_json, manifest);
        try {
            check(j.is_object() && j.value("format", "") == kBuiltinManifestFormat, MOS_FORMAT, manifest,
                  ": not a ", kBuiltinManifestFormat, " file");
            check(j.at("version").get<int>() == 1, MOS_VERSION, manifest, ": unknown manifest version ",
                  j.at("version").dump());
            const std::string file = j.at("file").get<std::string>();
            check(plain_name(file.substr(0, file.find('.'))) && file.find('/') == std::string::npos, MOS_FORMAT,
                  manifest, ": \"file\" must name a file in the same directory, not '", file, "'");
            b.weights_path = dir + "/" + file;
            b.sha256 = j.at("sha256").get<std::string>();
            check(b.sha256.size() == 64 && b.sha256.find_first_not_of("0123456789abcdef") == std::string::npos,
                  MOS_FORMAT, manifest, ": \"sha256\" is not 64 lowercase hex digits");
        } catch (const nlohmann::json::exception &e) {
            fail(MOS_FORMAT, manifest, ": ", e.what());
        }
        return b;
    }
    fail(MOS_IO, "built-in supernet '", name, "' is not installed (looked for ",
         looked.empty() ? std::string("nothing: no directory to search") : looked,
         "); set MOS_BUILTIN_DIR or pass a checkpoint path");
}

SupernetBundle load_builtin(const std::string &name) {
    const BuiltinInfo b = find_builtin(name);
    check(is_file(b.weights_path), MOS_IO, "built-in supernet '", b.name, "': its weights file '", b.weights_path,
          "' is missing; reinstall libmos");
    const std::string got = sha256_file_hex(b.weights_path);
    check(got == b.sha256, MOS_FORMAT, "built-in supernet '", b.name, "' is damaged: '", b.weights_path,
          "' has SHA-256 ", got, " but its manifest says ", b.sha256,
          "; reinstall libmos (or pass a checkpoint path)");
    return load_supernet(b.weights_path);
}

}  // namespace mos
