// tools/mos-cli/main.cpp: entry point of mos-cli; parses the command line and
// dispatches to the subcommand families registered by the cmd_*.cpp files.
//
// Exit status: 0 success, 1 the job failed (message from the library),
// 2 bad usage (unknown subcommand, bad flag or value).
#include <cstdio>
#include <cstring>

#include "cli.hpp"

int main(int argc, char **argv) {
    CLI::App app{"mos-cli: train, search, route and serve Mixture-of-Supernets translation models",
                 "mos-cli"};
    app.require_subcommand(0, 1);
    app.fallthrough(false);
    bool show_version = false;
    app.add_flag("--version", show_version, "print the libmos version and exit");
    app.footer("Run 'mos-cli <command> --help' for a command's options. Documentation: docs/cli.md");

    mos_cli::register_info(app);
    mos_cli::register_quickstart(app);
    mos_cli::register_bleu(app);
    mos_cli::register_model(app);
    mos_cli::register_train(app);
    mos_cli::register_search(app);
    mos_cli::register_space(app);
    mos_cli::register_arch(app);
    mos_cli::register_bench(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        std::fprintf(stderr, "mos-cli: %s\nRun 'mos-cli --help' for usage.\n", e.what());
        return 2;
    } catch (const mos_cli::CliError &e) {
        std::fprintf(stderr, "mos-cli: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mos-cli: %s\n", e.what());
        return 1;
    }
    if (show_version) {
        std::printf("mos-cli %s (libmos %s)\n", MOS_VERSION_STRING, mos_version_string());
        return 0;
    }
    if (app.get_subcommands().empty()) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    }
    return 0;
}
