// tools/mos-cli/main.cpp: entry point of mos-cli; parses the command line and
// dispatches to the subcommand families registered by the cmd_*.cpp files.
//
// Exit status (docs/cli.md): 0 success, 1 the job failed (a library error or
// an unusable file, printed as one line), 2 bad usage (no command, unknown
// command or option, bad value, missing mode; printed with a pointer to the
// command's --help).
#include <cstdio>
#include <cstring>
#include <new>

#include "cli.hpp"

namespace {

// "mos-cli arch show": the deepest command the parser got to.
std::string command_path(CLI::App &app) {
    std::string path = "mos-cli";
    CLI::App *cur = &app;
    while (true) {
        const std::vector<CLI::App *> subs = cur->get_subcommands();
        if (subs.empty()) break;
        cur = subs.front();
        path += " " + cur->get_name();
    }
    return path;
}

int usage_error(CLI::App &app, const char *message) {
    std::fprintf(stderr, "mos-cli: %s\nRun '%s --help' for usage.\n", message, command_path(app).c_str());
    return 2;
}

}  // namespace

int run(int argc, char **argv) {
    CLI::App app{"mos-cli: train, search, route and serve Mixture-of-Supernets translation models", "mos-cli"};
    app.require_subcommand(0, 1);
    app.fallthrough(false);
    bool show_version = false;
    app.add_flag("--version", show_version, "print the libmos version and exit");
    app.footer(
        "Run 'mos-cli <command> --help' for a command's options. Exit status: 0 success, 1 the job failed, "
        "2 bad usage. Documentation: docs/cli.md");

    mos_cli::register_info(app);
    mos_cli::register_quickstart(app);
    mos_cli::register_bleu(app);
    mos_cli::register_model(app);
    mos_cli::register_train(app);
    mos_cli::register_search(app);
    mos_cli::register_space(app);
    mos_cli::register_arch(app);
    mos_cli::register_supernet(app);
    mos_cli::register_bench(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        return usage_error(app, e.what());
    } catch (const mos_cli::UsageError &e) {
        return usage_error(app, e.what());
    } catch (const mos_cli::CliError &e) {
        std::fprintf(stderr, "%s: %s\n", mos_cli::error_prefix(), e.what());
        return 1;
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "%s: out of memory\n", mos_cli::error_prefix());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", mos_cli::error_prefix(), e.what());
        return 1;
    }
    if (show_version) {
        std::printf("mos-cli %s (libmos %s)\n", MOS_VERSION_STRING, mos_version_string());
        return 0;
    }
    if (app.get_subcommands().empty()) {
        // A bare `mos-cli` did nothing that was asked: show what it can do, as
        // a usage error so a script that forgot its command does not pass.
        std::fputs(app.help().c_str(), stderr);
        std::fprintf(stderr, "mos-cli: no command given\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv) {
    // Under mpirun: MPI for the whole run, ended (or aborted on failure) last.
    mos_cli::MpiScope mpi;
    return mpi.finish(run(argc, argv));
}
