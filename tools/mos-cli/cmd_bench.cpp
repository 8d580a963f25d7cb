// tools/mos-cli/cmd_bench.cpp: `mos-cli bench gemm [...]`: runs the GEMM
// benchmark program mos-bench-gemm with the given options (docs/benchmarks.md).
//
// The benchmark times the library's internal GEMM backends, which the public C
// API does not (and should not) expose, so it is a separate program installed
// next to mos-cli. It is looked up in $MOS_BENCH_GEMM, then in mos-cli's own
// folder (installed layout), then in ../bench/ (the build tree), and replaces
// this process, so its output and exit status are the command's.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"

namespace mos_cli {

namespace {

std::string find_bench_gemm() {
    if (const char *env = std::getenv("MOS_BENCH_GEMM"); env && *env) return env;
    const std::string dir = self_dir();
    for (const std::string &cand : {dir + "/mos-bench-gemm", dir + "/../../bench/mos-bench-gemm"})
        if (access(cand.c_str(), X_OK) == 0) return cand;
    throw CliError("mos-bench-gemm not found next to mos-cli (" + dir +
                   "); build with -Dbenchmarks=enabled or set MOS_BENCH_GEMM");
}

}  // namespace

void register_bench(CLI::App &app) {
    CLI::App *bench = app.add_subcommand("bench", "benchmarks of the compute backends (docs/benchmarks.md)");
    bench->require_subcommand(1);
    CLI::App *gemm = bench->add_subcommand(
        "gemm", "GEMM GFLOP/s of oneDNN and OpenBLAS on the model's shapes vs the measured FMA peak; "
                "options are those of mos-bench-gemm (--quick, --backend, --threads, --dtype, --shape, "
                "--json-only, --help)");
    // Every option, --help included, belongs to mos-bench-gemm.
    gemm->set_help_flag();
    gemm->allow_extras();
    gemm->prefix_command();
    gemm->callback([gemm] {
        const std::string prog = find_bench_gemm();
        std::vector<std::string> args = gemm->remaining();
        std::vector<char *> argv;
        argv.push_back(const_cast<char *>(prog.c_str()));
        for (std::string &a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::fflush(stdout);
        execv(prog.c_str(), argv.data());
        throw CliError("cannot run " + prog + ": " + std::strerror(errno));
    });
}

}  // namespace mos_cli
