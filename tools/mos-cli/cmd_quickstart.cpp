// tools/mos-cli/cmd_quickstart.cpp: `mos-cli quickstart`: the main job on the
// built-in corpus. It runs every stage this build has and says plainly which
// stages are not in this release yet.
#include <cstdio>

#include "cli.hpp"

namespace mos_cli {

void register_quickstart(CLI::App &app) {
    CLI::App *qs = app.add_subcommand("quickstart", "run the main job (train, search, route, translate) on the built-in corpus");
    qs->callback([] {
        std::printf("libmos %s quickstart\n\n%s\n", mos_version_string(), mos_build_info());
        std::printf("This release has the library foundation only: training, search, routing and\n"
                    "translation are not in libmos %s yet, so quickstart stops after the build facts.\n",
                    mos_version_string());
    });
}

}  // namespace mos_cli
