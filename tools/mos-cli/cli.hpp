// tools/mos-cli/cli.hpp: shared pieces of the mos-cli subcommands.
//
// Each cmd_*.cpp registers its subcommands on the CLI11 app and runs them
// through the public C API only. A failed library call becomes a CliError
// carrying the library's message; main() prints it as one line and exits 1.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#include "mos/mos.h"

namespace mos_cli {

// A runtime failure: printed as "mos-cli: <message>", exit status 1.
struct CliError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throw a CliError if a libmos call failed, with the library's message.
inline void check(mos_status s) {
    if (s != MOS_OK) {
        const char *msg = mos_last_error();
        throw CliError(std::string(mos_status_str(s)) + (msg && *msg ? std::string(" (") + msg + ")" : ""));
    }
}

// Owning pointers to library handles, released with their _destroy.
struct SpaceDeleter {
    void operator()(mos_space *s) const { mos_space_destroy(s); }
};
struct ArchDeleter {
    void operator()(mos_arch *a) const { mos_arch_destroy(a); }
};
using SpacePtr = std::unique_ptr<mos_space, SpaceDeleter>;
using ArchPtr = std::unique_ptr<mos_arch, ArchDeleter>;

// A built-in space if `name_or_path` names a preset, else a space JSON file
// (cmd_space.cpp).
SpacePtr open_space(const std::string &name_or_path);

// Registration of each family of subcommands.
void register_info(CLI::App &app);
void register_quickstart(CLI::App &app);
void register_bleu(CLI::App &app);
void register_model(CLI::App &app);
void register_train(CLI::App &app);
void register_search(CLI::App &app);

// A space given as a preset name or a JSON file (caller destroys it).
mos_space *load_space(const std::string &spec);
// An arch of `space` given as a JSON file or "largest" / "smallest".
mos_arch *load_arch(const mos_space *space, const std::string &spec);
// mkdir -p; 0 on success.
int mkdir_p(const std::string &path);

// Loads a supernet checkpoint and routes `arch_spec` (an arch JSON file, or
// "largest" / "smallest"); *ms (if given) receives the routing time.
mos_model *route_from(const std::string &supernet_path, const std::string &arch_spec, double *ms);
void register_space(CLI::App &app);
void register_arch(CLI::App &app);
void register_bench(CLI::App &app);

}  // namespace mos_cli
