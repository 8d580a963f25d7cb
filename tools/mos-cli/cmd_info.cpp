// tools/mos-cli/cmd_info.cpp: `mos-cli info`: the library's version and build facts
// (oneDNN version, OpenBLAS core, threads, CPU features) through the C API.
#include <cstdio>

#include "cli.hpp"

namespace mos_cli {

void register_info(CLI::App &app) {
    CLI::App *info = app.add_subcommand("info", "print the libmos version, build and CPU facts");
    info->callback([] {
        std::printf("libmos %s\n%s", mos_version_string(), mos_build_info());
    });
}

}  // namespace mos_cli
