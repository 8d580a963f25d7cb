// tools/mos-cli/util.cpp: helpers shared by the subcommands: spaces given as
// a preset name or a JSON file; archs given as largest / smallest / an arch
// file / a search result with a budget; routing a supernet's arch; checking
// output locations before the work starts; reading and writing text files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"

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

// --- archs ---

namespace {

std::string ms_text(double ms) { return ms <= 0 ? "none" : number_text(ms) + " ms"; }

bool same_budget(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

// The arch JSON of the result that `spec` picks from a mos-search-result.
std::string pick_search_result(const Json &doc, const ArchSpec &spec) {
    const std::string &file = spec.arch;
    if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<int64_t>() != 1)
        throw CliError("'" + file + "': a mos-search-result of version " +
                       (doc.contains("version") ? doc["version"].dump() : std::string("(none)")) +
                       "; this mos-cli reads version 1");
    if (!doc.contains("results") || !doc["results"].is_array() || doc["results"].empty())
        throw CliError("'" + file + "' is a mos-search-result without results");
    const Json &results = doc["results"];
    std::vector<double> budgets;
    for (const Json &r : results) {
        if (!r.is_object() || !r.contains("arch") || !r.contains("budget_ms") || !r["budget_ms"].is_number())
            throw CliError("'" + file + "': a result without 'arch' or 'budget_ms'");
        budgets.push_back(r["budget_ms"].get<double>());
    }
    std::string listed;
    for (size_t i = 0; i < budgets.size(); i++) listed += (i ? ", " : "") + ms_text(budgets[i]);
    if (spec.has_budget) {
        for (size_t i = 0; i < budgets.size(); i++)
            if (same_budget(budgets[i], spec.budget)) return results[i]["arch"].dump();
        throw UsageError("--budget " + ms_text(spec.budget) + ": '" + file + "' has no result for it; its budgets: " +
                         listed);
    }
    if (results.size() > 1)
        throw UsageError("'" + file + "' holds " + std::to_string(results.size()) +
                         " results; pick one with --budget MS (its budgets: " + listed + ")");
    return results[0]["arch"].dump();
}

}  // namespace

std::string ArchSpec::describe() const {
    return has_budget ? arch + "@" + number_text(budget) + "ms" : arch;
}

ArchOptions add_arch_options(CLI::App *cmd, ArchSpec &spec, const std::string &fallback) {
    const char *help = "largest | smallest | an arch JSON file | a search result (mos-cli search --out)";
    CLI::Option *a = cmd->add_option("--arch", spec.arch, help);
    if (fallback.empty()) {
        a->required();
    } else {
        spec.arch = fallback;
        a->capture_default_str();
    }
    return ArchOptions{a, add_budget_option(cmd, spec)};
}

CLI::Option *add_budget_option(CLI::App *cmd, ArchSpec &spec) {
    return cmd->add_option("--budget", spec.budget,
                    "with a search result as --arch: take the arch found for this latency budget (ms)")
        ->check(real_check(Bounds{0.0, std::numeric_limits<double>::max(), true, false}))
        ->each([&spec](const std::string &) { spec.has_budget = true; });
}

void ArchSpec::check_usage() const {
    if ((arch == "largest" || arch == "smallest") && has_budget)
        throw UsageError("--budget picks a result of a search result file; " + arch + " is not one");
}

ArchPtr resolve_arch(const mos_space *space, const ArchSpec &spec) {
    spec.check_usage();
    mos_arch *arch = nullptr;
    if (spec.arch == "largest" || spec.arch == "smallest") {
        check(spec.arch == "largest" ? mos_arch_create_largest(&arch, space) : mos_arch_create_smallest(&arch, space));
        return ArchPtr(arch);
    }
    // A search result is read here; anything else, or a file larger than the
    // library reads (docs/reliability.md), goes to mos_arch_load, whose
    // message names the file and the problem.
    struct stat st;
    const bool small_file = stat(spec.arch.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t(256) << 20);
    std::ifstream in;
    if (small_file) in.open(spec.arch, std::ios::binary);
    std::stringstream text;
    if (in) text << in.rdbuf();
    const Json doc = in ? Json::parse(text.str(), nullptr, false) : Json();
    if (doc.is_object() && doc.value("format", "") == "mos-search-result") {
        const std::string arch_json = pick_search_result(doc, spec);
        check(mos_arch_create_json(&arch, space, arch_json.data(), arch_json.size()));
        return ArchPtr(arch);
    }
    if (spec.has_budget)
        throw UsageError("--budget picks a result of a search result file; '" + spec.arch + "' is not one");
    // The library reads the arch file itself, so its message names the file
    // and the problem (missing, malformed, outside the space).
    check(mos_arch_load(&arch, space, spec.arch.c_str()));
    return ArchPtr(arch);
}

SupernetPtr open_supernet(const std::string &path_or_builtin) {
    mos_supernet *raw = nullptr;
    if (path_or_builtin == "builtin") {
        check(mos_supernet_load_builtin(&raw, nullptr));
    } else if (path_or_builtin.rfind("builtin:", 0) == 0) {
        check(mos_supernet_load_builtin(&raw, path_or_builtin.c_str() + 8));
    } else {
        check(mos_supernet_load(&raw, path_or_builtin.c_str()));
    }
    return SupernetPtr(raw);
}

ModelPtr route_from(const std::string &supernet_path, const ArchSpec &spec, double *ms, int32_t threads) {
    spec.check_usage();
    const SupernetPtr net = open_supernet(supernet_path);
    mos_space *sp = nullptr;
    check(mos_supernet_space(&sp, net.get()));
    const SpacePtr space(sp);
    const ArchPtr arch = resolve_arch(space.get(), spec);
    mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
    ro.threads = threads;
    mos_model *model = nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    check(mos_route(&model, net.get(), arch.get(), &ro));
    if (ms) *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return ModelPtr(model);
}

// --- files ---

int mkdir_p(const std::string &path) {
    for (size_t i = 1; i <= path.size(); i++) {
        if (i < path.size() && path[i] != '/') continue;
        const std::string part = path.substr(0, i);
        if (mkdir(part.c_str(), 0777) != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

namespace {

std::string parent_of(const std::string &path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// `dir` exists (created if needed) and this process can create files in it.
void ensure_writable_dir(const std::string &option, const std::string &path, const std::string &dir) {
    const std::string what = option + " '" + path + "': ";
    struct stat st;
    if (stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw CliError(what + "'" + dir + "' is not a directory");
    } else if (mkdir_p(dir) != 0) {
        // Name the part of the path that is a file, not only "Not a directory".
        if (errno == ENOTDIR || errno == EEXIST)
            for (std::string up = parent_of(dir); up != "." && up != "/"; up = parent_of(up))
                if (stat(up.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
                    throw CliError(what + "'" + up + "' is not a directory");
        throw CliError(what + "cannot create the directory '" + dir + "': " + std::strerror(errno));
    }
    // Creating a file is the only reliable test (read-only mounts, ACLs).
    std::string probe = dir + "/.mos-cli-write-test-XXXXXX";
    const int fd = mkstemp(probe.data());
    if (fd < 0) throw CliError(what + "cannot create files in '" + dir + "': " + std::strerror(errno));
    close(fd);
    unlink(probe.c_str());
}

}  // namespace

void prepare_output_file(const std::string &option, const std::string &path) {
    if (path.empty()) throw UsageError(option + ": the path is empty");
    struct stat st;
    const bool exists = stat(path.c_str(), &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) throw CliError(option + " '" + path + "': is a directory, not a file");
    // ENOENT and ENOTDIR: the parent check below names the folder at fault.
    if (!exists && errno != ENOENT && errno != ENOTDIR)
        throw CliError(option + " '" + path + "': " + std::strerror(errno));
    ensure_writable_dir(option, path, parent_of(path));
    if (exists && access(path.c_str(), W_OK) != 0)
        throw CliError(option + " '" + path + "': exists and cannot be written: " + std::strerror(errno));
}

void prepare_output_dir(const std::string &option, const std::string &path) {
    if (path.empty()) throw UsageError(option + ": the path is empty");
    ensure_writable_dir(option, path, path);
}

void write_text_file(const std::string &path, const std::string &text) {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) throw CliError("cannot write '" + path + "': " + std::strerror(errno));
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int err = errno;
    if (std::fclose(f) != 0 || !ok) throw CliError("cannot write '" + path + "': " + std::strerror(ok ? errno : err));
}

std::vector<std::string> read_text_lines(const std::string &path) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) throw CliError("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        throw CliError("cannot read '" + path + "': is a directory, not a text file");
    }
    // The library's limit for text files (docs/reliability.md): refused before reading.
    constexpr off_t kMaxText = off_t(256) << 20;
    if (S_ISREG(st.st_mode) && st.st_size > kMaxText) {
        close(fd);
        throw CliError("'" + path + "' has " + std::to_string(st.st_size) + " bytes; text files are read up to " +
                       std::to_string(kMaxText) + "");
    }
    std::string text;
    char buf[1 << 16];
    while (true) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            close(fd);
            throw CliError("cannot read '" + path + "': " + std::strerror(err));
        }
        text.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        if (nl == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    for (size_t i = 0; i < lines.size(); i++)
        if (lines[i].find('\0') != std::string::npos)
            throw CliError("'" + path + "' line " + std::to_string(i + 1) + " holds a NUL byte; it is not a text file");
    return lines;
}

std::string self_dir() {
    std::vector<char> buf(4096);
    const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    if (n <= 0) return ".";
    const std::string p(buf.data(), static_cast<size_t>(n));
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
}

namespace {

bool is_corpus(const std::string &dir) {
    struct stat st;
    return stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Two paths name the same existing folder.
bool same_dir(const std::string &a, const std::string &b) {
    struct stat sa, sb;
    return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

std::string find_builtin_corpus() {
    if (const char *env = std::getenv("MOS_CORPUS_DIR"); env && *env) {
        if (!is_corpus(env)) throw CliError(std::string("MOS_CORPUS_DIR '") + env + "' is not a directory");
        return env;
    }
    std::vector<std::string> tried;
    const std::string exe = self_dir();
#ifdef MOS_CLI_BIN_TO_CORPUS
    tried.push_back(exe + "/" + MOS_CLI_BIN_TO_CORPUS);
#endif
#ifdef MOS_CLI_INSTALLED_CORPUS
    tried.push_back(MOS_CLI_INSTALLED_CORPUS);
#endif
#if defined(MOS_CLI_BUILD_DIR) && defined(MOS_CLI_SOURCE_CORPUS)
    if (same_dir(exe, MOS_CLI_BUILD_DIR)) tried.push_back(MOS_CLI_SOURCE_CORPUS);
#endif
    for (const std::string &dir : tried)
        if (is_corpus(dir)) {
            // <bindir>/../share/... reads better without the "..".
            char *real = realpath(dir.c_str(), nullptr);
            const std::string found = real ? real : dir;
            std::free(real);
            return found;
        }
    std::string list;
    for (const std::string &dir : tried) list += (list.empty() ? "" : ", ") + dir;
    throw CliError("the built-in corpus was not found (tried " + (list.empty() ? std::string("nothing") : list) +
                   "); pass --data DIR or set MOS_CORPUS_DIR");
}

std::string shell_quote(const std::string &s) {
    bool plain = !s.empty();
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_./=:,+-@%", c))) plain = false;
    if (plain) return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

}  // namespace mos_cli
