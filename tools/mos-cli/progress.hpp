// tools/mos-cli/progress.hpp: the one progress printer of the long-running
// commands (train, search, latency --collect, quickstart), and the SIGINT /
// SIGTERM handling of those that stop cleanly (train, search).
//
// Every report names the stage, done/total, the elapsed time and an ETA:
//     [search] 12/60 iterations; best validation loss 4.1234; 310 archs evaluated  elapsed 0:01:02  eta 0:04:08
// On a terminal (stderr is a tty) the line is rewritten in place a few times
// a second; otherwise (a log file, a pipe, a scheduled job) a line is printed
// at the first report, every `log_every` seconds, and at the last one (the
// last known when the total is not, and before every note), so a log shows
// where the job is. Notes (validation results, saved files) are
// always printed on their own line. Everything goes to stderr.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include "mos/mos.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace mos_cli {

// Default seconds between log lines when stderr is not a terminal.
constexpr double kDefaultLogEvery = 10.0;

// --progress-every SECONDS of a long-running command.
CLI::Option *add_progress_option(CLI::App *cmd, double &log_every);

class Progress {
public:
    // `stage` names what runs ("train", "search", "latency collect").
    explicit Progress(std::string stage, double log_every = kDefaultLogEvery);
    ~Progress();
    Progress(const Progress &) = delete;
    Progress &operator=(const Progress &) = delete;

    // `done` of `total` (0 = unknown) followed by `what` ("iterations; best
    // loss 4.1"). `elapsed` / `eta` in seconds when the caller knows them
    // better (training time across a resume; the trainer's own estimate);
    // negative: measured here / estimated from the rate so far.
    void update(uint64_t done, uint64_t total, const std::string &what, double elapsed = -1, double eta = -1);
    // A line that is always printed, prefixed with the stage.
    void note(const std::string &text);
    // Ends a rewritten terminal line (the destructor does it too).
    void finish();
    // Seconds since construction.
    double seconds() const;
    // Whether reports rewrite one terminal line.
    bool tty() const { return tty_; }
    // Starts a new stage (quickstart's steps), resetting the clock.
    void restart(std::string stage);

private:
    void emit(const std::string &line);

    std::string stage_;
    std::string pending_;  // the latest report not printed yet
    double log_every_;
    bool tty_;
    bool line_open_ = false;
    bool printed_ = false;
    double last_print_ = 0;
    std::chrono::steady_clock::time_point start_;
};

// mos_train's progress callback on the printer (train and quickstart): steps
// as progress reports, setup / validation / checkpoint events as notes; it
// records what the final summary needs.
struct TrainWatch {
    Progress *progress = nullptr;
    bool quiet = false;  // validation and setup notes only
    // Non-empty once the run should stop ("SIGTERM"): the callback then asks
    // the trainer to write the checkpoint and stop.
    std::function<std::string()> stop_reason;
    bool announced = false;
    int64_t step = 0, max_steps = 0;
    double elapsed = 0, valid_largest = NAN, valid_smallest = NAN;
};
int on_train_progress(const mos_train_progress *p, void *watch);

// mos_progress_fn (search, latency collect) on a Progress passed as `user`.
int on_count_progress(uint64_t done, uint64_t total, const char *what, void *progress);

// Seconds as H:MM:SS ("?" when negative, i.e. unknown).
std::string hms(double seconds);

// --- stopping on SIGINT / SIGTERM (train, search) ---
//
// While a StopSignals lives, the first SIGINT or SIGTERM asks the running job
// (through its progress callback, which polls requested()) to stop at its next
// report and write what it has; the handler prints "stop requested; <doing>".
// Further signals only print "already stopping; <waiting>": the write is never
// cut short, and once a stop was asked the signals stay ignored until the
// process exits, so a supervisor that repeats SIGTERM cannot kill it between
// the write and the final lines. `doing` and `waiting` must be string
// literals (the handler reads them).
class StopSignals {
public:
    StopSignals(const char *doing, const char *waiting);
    ~StopSignals();
    StopSignals(const StopSignals &) = delete;
    StopSignals &operator=(const StopSignals &) = delete;
    static bool requested();
    static const char *name();  // "SIGTERM" | "SIGINT"

private:
    struct Saved;
    Saved *saved_;
};

}  // namespace mos_cli
