// tools/mos-cli/cli.hpp: shared pieces of the mos-cli subcommands.
//
// Each cmd_*.cpp registers its subcommands on the CLI11 app and runs them
// through the public C API only. Exit status (docs/cli.md): a run-time failure
// (a failed library call, an unreadable file) is a CliError and exits 1; a
// command line that cannot mean anything (a missing mode, a bad value, two
// options that exclude each other) is a CLI11 parse error or a UsageError and
// exits 2; success exits 0.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mos/mos.h"

namespace mos_cli {

// A run-time failure: printed as "mos-cli: <message>", exit status 1.
struct CliError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A usage error found after parsing (a missing mode, an ambiguous --arch):
// printed as "mos-cli: <message>" with a pointer to --help, exit status 2.
struct UsageError : std::runtime_error {
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
template <class T, void (*Destroy)(T *)>
struct HandleDeleter {
    void operator()(T *p) const { Destroy(p); }
};
using SpacePtr = std::unique_ptr<mos_space, HandleDeleter<mos_space, mos_space_destroy>>;
using ArchPtr = std::unique_ptr<mos_arch, HandleDeleter<mos_arch, mos_arch_destroy>>;
using SupernetPtr = std::unique_ptr<mos_supernet, HandleDeleter<mos_supernet, mos_supernet_destroy>>;
using ModelPtr = std::unique_ptr<mos_model, HandleDeleter<mos_model, mos_model_destroy>>;
using TextsPtr = std::unique_ptr<mos_texts, HandleDeleter<mos_texts, mos_texts_destroy>>;
using TranslationsPtr = std::unique_ptr<mos_translations, HandleDeleter<mos_translations, mos_translations_destroy>>;
using PredictorPtr = std::unique_ptr<mos_predictor, HandleDeleter<mos_predictor, mos_predictor_destroy>>;
using SearchResultPtr =
    std::unique_ptr<mos_search_result, HandleDeleter<mos_search_result, mos_search_result_destroy>>;

// --- spaces and archs (util.cpp) ---

// A built-in space if `name_or_path` names a preset, else a space JSON file.
SpacePtr open_space(const std::string &name_or_path);

// How a command names one arch: `--arch largest|smallest|FILE`, where FILE is
// an arch JSON file or a `mos-search-result` JSON file (then `--budget MS`
// picks the result of that budget; without it the file must hold one result).
struct ArchSpec {
    std::string arch;
    double budget = 0;  // meaningful when has_budget
    bool has_budget = false;
    // The text that names it in messages: "largest", "result.json@40ms".
    std::string describe() const;
    // UsageError for what no file can fix (--budget with largest / smallest),
    // so a command can say it before loading anything.
    void check_usage() const;
};
// Adds --arch (with `fallback` as its default, or required when empty) and
// --budget to a command.
struct ArchOptions {
    CLI::Option *arch, *budget;
    // Both are usage errors next to `other` (--model: a model has its arch).
    void exclude(CLI::Option *other) const {
        other->excludes(arch);
        other->excludes(budget);
    }
};
ArchOptions add_arch_options(CLI::App *cmd, ArchSpec &spec, const std::string &fallback);
// Adds only --budget (for a command that takes the arch as a positional).
CLI::Option *add_budget_option(CLI::App *cmd, ArchSpec &spec);
// The arch of `space` that `spec` names.
ArchPtr resolve_arch(const mos_space *space, const ArchSpec &spec);

// The supernet a --supernet value names: a checkpoint or exported file, or
// "builtin" / "builtin:NAME" for a built-in supernet (docs/builtin.md).
SupernetPtr open_supernet(const std::string &path_or_builtin);
// Whether a --supernet value names a built-in supernet; if so *name gets its
// name ("" for the default one).
bool builtin_name(const std::string &supernet, std::string *name);
// The manifest text (JSON) of the built-in supernet `name` ("" = the default).
std::string builtin_manifest_text(const std::string &name);

// Loads a supernet checkpoint and routes the arch `spec` names on `threads`
// threads (0 = all cores) into a model of precision `dtype`; *ms (if given)
// receives the routing time.
ModelPtr route_from(const std::string &supernet_path, const ArchSpec &spec, double *ms, int32_t threads,
                    mos_dtype dtype = MOS_DTYPE_F32);

// --- output locations (util.cpp) ---

// Makes sure a file can be written at `path` before any work starts: creates
// missing parent directories and rejects a directory, a parent that is not a
// directory, or a location this process cannot write; the message names the
// option, the path and the reason (CliError).
// MPI (mpi.cpp): under mpirun, MPI is initialized for the whole run (a
// launched rank that cannot start MPI runs alone); rank 0 prints, the others
// only report errors, prefixed with their rank (error_prefix()).
class MpiScope {
public:
    MpiScope();
    ~MpiScope();
    MpiScope(const MpiScope &) = delete;
    MpiScope &operator=(const MpiScope &) = delete;
    // Ends MPI: MPI_Abort when status != 0 and the job has other ranks.
    int finish(int status);

private:
    bool active_ = false;
};
int cli_rank();
int cli_ranks();
const char *error_prefix();

void prepare_output_file(const std::string &option, const std::string &path);
// The same for a directory that will receive several files (created if missing).
void prepare_output_dir(const std::string &option, const std::string &path);
// Writes `text` to `path` (CliError naming the path and the reason).
void write_text_file(const std::string &path, const std::string &text);
// The lines of a text file without their '\n' (CliError naming the path and
// the reason when it cannot be read, including a directory).
std::vector<std::string> read_text_lines(const std::string &path);
// mkdir -p; 0 on success, -1 with errno set.
int mkdir_p(const std::string &path);
// The folder of the running mos-cli executable ("." if unknown).
std::string self_dir();
// The built-in corpus directory (data/bible-en-es): $MOS_CORPUS_DIR if set;
// else the installed copy next to this executable (<bindir>/../<datadir>/
// libmos/data/bible-en-es, so a relocated or --destdir install works); else
// the compiled-in install path; else, when this executable runs from its
// build tree, the source tree's copy. CliError listing the places tried.
std::string find_builtin_corpus();
// A word for a shell: the text itself when it is plain, else single-quoted.
std::string shell_quote(const std::string &s);

// A caller-buffer string of the C API ("call with NULL, 0 to ask").
template <class Obj>
std::string api_string(mos_status (*fn)(char *, size_t, size_t *, const Obj *), const Obj *obj) {
    size_t needed = 0;
    check(fn(nullptr, 0, &needed, obj));
    std::string s(needed, '\0');
    check(fn(s.data(), s.size(), nullptr, obj));
    s.resize(needed > 0 ? needed - 1 : 0);
    return s;
}

// A model's string metadata `key` (mos_model_get_meta): "" when the model does
// not carry it.
inline std::string model_meta(const mos_model *model, const char *key) {
    size_t needed = 0;
    check(mos_model_get_meta(nullptr, 0, &needed, model, key));
    std::string s(needed, '\0');
    check(mos_model_get_meta(s.data(), s.size(), nullptr, model, key));
    s.resize(needed > 0 ? needed - 1 : 0);
    return s;
}

// --- registration of each family of subcommands ---
void register_info(CLI::App &app);
void register_quickstart(CLI::App &app);
void register_bleu(CLI::App &app);
void register_model(CLI::App &app);
void register_train(CLI::App &app);
void register_search(CLI::App &app);
void register_space(CLI::App &app);
void register_arch(CLI::App &app);
void register_supernet(CLI::App &app);
void register_bench(CLI::App &app);

}  // namespace mos_cli
