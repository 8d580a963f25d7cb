// tools/mos-cli/cli.hpp: shared pieces of the mos-cli subcommands.
//
// Each cmd_*.cpp registers its subcommands on the CLI11 app and runs them
// through the public C API only. A failed library call becomes a CliError
// carrying the library's message; main() prints it as one line and exits 1.
#pragma once

#include <CLI/CLI.hpp>

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

// Registration of each family of subcommands.
void register_info(CLI::App &app);
void register_quickstart(CLI::App &app);
void register_bleu(CLI::App &app);
void register_bench(CLI::App &app);

}  // namespace mos_cli
