// tools/mos-cli/cmd_space.cpp: `mos-cli space show PRESET|FILE`: the canonical
// JSON of a built-in search space or of a space file, through mos/space.h.
#include <cstdio>
#include <string>

#include "cli.hpp"

namespace mos_cli {

namespace {

std::string space_json(const mos_space *space) { return api_string(mos_space_to_json, space); }

}  // namespace

void register_space(CLI::App &app) {
    CLI::App *space = app.add_subcommand("space", "search spaces: the built-in presets and space files");
    space->require_subcommand(1);
    CLI::App *show = space->add_subcommand(
        "show", "print the canonical JSON of a preset (hat-wmt, small) or a space file");
    static std::string which;
    show->add_option("SPACE", which, "preset name or path of a space JSON file")->required();
    show->callback([] {
        const SpacePtr s = open_space(which);
        std::fputs(space_json(s.get()).c_str(), stdout);
    });
}

}  // namespace mos_cli
