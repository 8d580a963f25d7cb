// tools/mos-cli/progress.cpp: the progress printer (progress.hpp).
#include "progress.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "cli.hpp"
#include "options.hpp"

namespace mos_cli {

namespace {

// A terminal line is rewritten at most this often (seconds).
constexpr double kTtyEvery = 0.2;

}  // namespace

CLI::Option *add_progress_option(CLI::App *cmd, double &log_every) {
    return add_real(cmd, "--progress-every", log_every,
                    "seconds between progress lines when stderr is not a terminal (0 = every report)",
                    Bounds{0.0, 86400.0});
}

std::string hms(double s) {
    if (s < 0) return "?";
    char buf[32];
    const long t = static_cast<long>(s + 0.5);
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    return buf;
}

Progress::Progress(std::string stage, double log_every)
    : stage_(std::move(stage)), log_every_(log_every), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

double Progress::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::restart(std::string stage) {
    finish();
    stage_ = std::move(stage);
    start_ = std::chrono::steady_clock::now();
    printed_ = false;
    pending_.clear();
    last_print_ = 0;
}

void Progress::update(uint64_t done, uint64_t total, const std::string &what, double elapsed, double eta) {
    const double now = seconds();
    const bool last = total > 0 && done >= total;
    const double every = tty_ ? kTtyEvery : log_every_;
    const bool show = !printed_ || last || now - last_print_ >= every;
    if (elapsed < 0) elapsed = now;
    if (eta < 0 && total > 0 && done > 0) eta = now / static_cast<double>(done) * static_cast<double>(total - done);
    if (last) eta = 0;
    char count[64];
    if (total > 0)
        std::snprintf(count, sizeof count, "%llu/%llu", static_cast<unsigned long long>(done),
                      static_cast<unsigned long long>(total));
    else
        std::snprintf(count, sizeof count, "%llu", static_cast<unsigned long long>(done));
    std::string line = "[" + stage_ + "] " + count + " " + what + "  elapsed " + hms(elapsed) + "  eta " + hms(eta);
    if (show) {
        emit(line);
        last_print_ = now;
    } else {
        pending_ = std::move(line);  // printed by finish() if nothing newer is
    }
}

void Progress::emit(const std::string &line) {
    if (cli_rank() > 0) return;  // under mpirun only rank 0 reports
    std::fprintf(stderr, "%s%s%s", tty_ ? "\r\033[K" : "", line.c_str(), tty_ ? "" : "\n");
    line_open_ = tty_;
    printed_ = true;
    pending_.clear();
    std::fflush(stderr);
}

void Progress::note(const std::string &text) {
    finish();
    if (cli_rank() > 0) return;
    std::fprintf(stderr, "[%s] %s\n", stage_.c_str(), text.c_str());
    std::fflush(stderr);
}

int on_train_progress(const mos_train_progress *p, void *user) {
    auto *w = static_cast<TrainWatch *>(user);
    w->step = p->step;
    w->max_steps = p->max_steps;
    w->elapsed = p->elapsed_seconds;
    switch (p->event) {
    case MOS_TRAIN_EVENT_STEP:
        if (!w->quiet) {
            char what[160];
            std::snprintf(what, sizeof what, "steps  loss %.3f  nll %.3f  lr %.2e  %.0f tok/s", p->loss, p->nll, p->lr,
                          p->tokens_per_second);
            w->progress->update(static_cast<uint64_t>(p->step), static_cast<uint64_t>(p->max_steps), what,
                                p->elapsed_seconds, p->eta_seconds);
        }
        break;
    case MOS_TRAIN_EVENT_VALID:
        w->valid_largest = p->valid_loss_largest;
        w->valid_smallest = p->valid_loss_smallest;
        w->progress->note("step " + std::to_string(p->step) + ": " + p->message);
        break;
    case MOS_TRAIN_EVENT_CHECKPOINT:
        if (!w->quiet) w->progress->note("step " + std::to_string(p->step) + ": " + p->message);
        break;
    default:
        w->progress->note(p->message);
        break;
    }
    const std::string reason = w->stop_reason ? w->stop_reason() : std::string();
    if (!reason.empty()) {
        if (!w->announced)
            w->progress->note(reason + ": stopping at step " + std::to_string(p->step) + " and writing the checkpoint");
        w->announced = true;
        return 1;
    }
    return 0;
}

int on_count_progress(uint64_t done, uint64_t total, const char *what, void *user) {
    static_cast<Progress *>(user)->update(done, total, what);
    return 0;
}

void Progress::finish() {
    // The latest state before an event or the end, even between two reports.
    if (!pending_.empty()) emit(pending_);
    if (line_open_) {
        std::fputc('\n', stderr);
        std::fflush(stderr);
    }
    line_open_ = false;
}

// --- stopping on SIGINT / SIGTERM ---

namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<int> g_signal_count{0};
std::atomic<const char *> g_doing{""}, g_waiting{""};

// Only async-signal-safe calls: write(2) of fixed strings.
void say(const char *a, const char *b) {
    (void)!write(STDERR_FILENO, a, std::strlen(a));
    (void)!write(STDERR_FILENO, b, std::strlen(b));
    (void)!write(STDERR_FILENO, "\n", 1);
}

extern "C" void on_stop_signal(int sig) {
    const int n = g_signal_count.fetch_add(1) + 1;
    if (n == 1) {
        g_stop_signal.store(sig);
        say("\nmos-cli: stop requested; ", g_doing.load());
    } else if (n == 2) {
        say("mos-cli: already stopping; ", g_waiting.load());
    }
}

}  // namespace

struct StopSignals::Saved {
    struct sigaction old_int {}, old_term {};
};

StopSignals::StopSignals(const char *doing, const char *waiting) : saved_(new Saved) {
    g_doing.store(doing);
    g_waiting.store(waiting);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &saved_->old_int);
    sigaction(SIGTERM, &sa, &saved_->old_term);
}

StopSignals::~StopSignals() {
    if (requested()) {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGINT, &ign, nullptr);
        sigaction(SIGTERM, &ign, nullptr);
    } else {
        sigaction(SIGINT, &saved_->old_int, nullptr);
        sigaction(SIGTERM, &saved_->old_term, nullptr);
    }
    delete saved_;
}

bool StopSignals::requested() { return g_stop_signal.load() != 0; }
const char *StopSignals::name() { return g_stop_signal.load() == SIGTERM ? "SIGTERM" : "SIGINT"; }

}  // namespace mos_cli
