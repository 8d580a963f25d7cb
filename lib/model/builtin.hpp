// lib/model/builtin.hpp: the built-in supernets that ship with libmos
// (docs/builtin.md): where an installed or uninstalled libmos finds them, their
// manifest (SHA-256, recipe, measured quality) and loading one with its
// checksum verified.
//
// A built-in lives in a directory `<name>/` holding `manifest.json` and the
// weights file the manifest names. The directories searched, in order:
//   1. $MOS_BUILTIN_DIR (a directory of such `<name>/` folders), if set;
//   2. `share/libmos/builtin` next to the libmos that runs (found from its own
//      path, so a relocated install works);
//   3. the install path compiled in (`<prefix>/<datadir>/libmos/builtin`);
//   4. the source tree's `data/builtin` (a build that was not installed).
#pragma once

#include <string>
#include <vector>

#include "model/bundle.hpp"

namespace mos {

constexpr const char *kDefaultBuiltin = "bible-en-es";
constexpr const char *kBuiltinManifestFormat = "mos-builtin-manifest";

struct BuiltinInfo {
    std::string name;
    std::string dir;            // the directory holding manifest.json
    std::string manifest_json;  // the manifest as written
    std::string weights_path;   // dir + the manifest's "file"
    std::string sha256;         // the manifest's digest of that file
};

// The directories searched for built-ins, in order (only those that are set).
std::vector<std::string> builtin_search_dirs();

// Finds built-in `name` (empty = kDefaultBuiltin) and reads its manifest.
// MOS_IO listing every place looked at if it is not installed; MOS_FORMAT if
// the manifest is malformed; MOS_INVALID_ARGUMENT for a name that is not a
// plain word ([a-z0-9_-]).
BuiltinInfo find_builtin(const std::string &name);

// find_builtin, then the weights file's SHA-256 checked against the manifest
// (MOS_FORMAT naming both digests and the file when they differ), then
// load_supernet.
SupernetBundle load_builtin(const std::string &name);

}  // namespace mos
