// tools/mos-cli/util.cpp: helpers shared by the subcommands: loading a space
// given as a preset name or a JSON file, and an arch given as a JSON file or
// as "largest" / "smallest".
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "cli.hpp"

namespace mos_cli {

mos_space *load_space(const std::string &spec) {
    mos_space *space = nullptr;
    for (size_t i = 0; mos_space_preset_name(i) != nullptr; i++)
        if (spec == mos_space_preset_name(i)) {
            check(mos_space_create_preset(&space, spec.c_str()));
            return space;
        }
    if (access(spec.c_str(), F_OK) != 0)
        throw CliError("'" + spec + "' is neither a built-in space (small, hat-wmt) nor a readable file");
    check(mos_space_load(&space, spec.c_str()));
    return space;
}

mos_arch *load_arch(const mos_space *space, const std::string &spec) {
    mos_arch *arch = nullptr;
    if (spec == "largest")
        check(mos_arch_create_largest(&arch, space));
    else if (spec == "smallest")
        check(mos_arch_create_smallest(&arch, space));
    else
        check(mos_arch_load(&arch, space, spec.c_str()));
    return arch;
}

int mkdir_p(const std::string &path) {
    for (size_t i = 1; i <= path.size(); i++) {
        if (i < path.size() && path[i] != '/') continue;
        const std::string part = path.substr(0, i);
        if (mkdir(part.c_str(), 0777) != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

}  // namespace mos_cli
