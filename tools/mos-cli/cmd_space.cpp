// tools/mos-cli/cmd_space.cpp: `mos-cli space show PRESET|FILE`: the canonical
// JSON of a built-in search space or of a space file, through mos/space.h.
#include <cstdio>
#include <string>

#include "cli.hpp"

namespace mos_cli {

SpacePtr open_space(const std::string &name_or_path) {
    mos_space *s = nullptr;
    for (size_t i = 0; const char *preset = mos_space_preset_name(i); ++i) {
        if (name_or_path == preset) {
            check(mos_space_create_preset(&s, preset));
            return SpacePtr(s);
        }
    }
    const mos_status st = mos_space_load(&s, name_or_path.c_str());
    if (st == MOS_IO) {
        // Say that presets were tried too, so a typo in a preset name is clear.
        const std::string message = mos_last_error();
        std::string presets;
        for (size_t i = 0; const char *preset = mos_space_preset_name(i); ++i)
            presets += (i ? "|" : "") + std::string(preset);
        throw CliError(std::string(mos_status_str(st)) + " (" + message +
                       "; not a preset name either: " + presets + ")");
    }
    check(st);
    return SpacePtr(s);
}

namespace {

std::string space_json(const mos_space *space) {
    size_t needed = 0;
    check(mos_space_to_json(space, nullptr, 0, &needed));
    std::string text(needed, '\0');
    check(mos_space_to_json(space, text.data(), text.size(), nullptr));
    text.resize(needed - 1);
    return text;
}

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
