// tools/mos-cli/cmd_info.cpp: `mos-cli info`: the library's version and build
// facts (oneDNN version, OpenBLAS core, threads, CPU features) through the C
// API, and where mos-cli finds the built-in corpus.
#include <cstdio>
#include <sstream>
#include <string>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"

namespace mos_cli {

void register_info(CLI::App &app) {
    CLI::App *info = app.add_subcommand("info", "print the libmos version, build and CPU facts, and the corpus path");
    static bool json = false;
    add_json_flag(info, json);
    info->callback([] {
        std::string corpus;
        try {
            corpus = find_builtin_corpus();
        } catch (const CliError &) {
            corpus = "";  // not installed next to this mos-cli
        }
        if (!json) {
            std::printf("libmos %s\n%s", mos_version_string(), mos_build_info());
            std::printf("builtin_corpus=%s\n", corpus.empty() ? "(not found)" : corpus.c_str());
            return;
        }
        // mos_build_info() is "key=value" lines; values stay strings.
        Json j;
        j["libmos"] = mos_version_string();
        std::istringstream lines(mos_build_info());
        std::string line;
        while (std::getline(lines, line)) {
            const size_t eq = line.find('=');
            if (eq != std::string::npos) j[line.substr(0, eq)] = line.substr(eq + 1);
        }
        j["builtin_corpus"] = corpus.empty() ? Json(nullptr) : Json(corpus);
        print_json(j);
    });
}

}  // namespace mos_cli
