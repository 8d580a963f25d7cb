// lib/search/latency_data.hpp: latency datasets, the JSON-lines files
// ("mos-latency-data", version 3; version 2 still reads; docs/search.md) from
// which latency predictors are trained: timing archs of a space into such a
// file, reading one back, and fitting and saving a predictor from one.
//
// Line 1 is a header object: format, version, machine (CPU model), threads,
// precision, vocab, protocol (latency_protocol_json), space (space JSON), how
// the archs were timed ("collection": clock, group, passes, drift correction,
// ...) and how noisy the machine was ("noise"), and the operation table of the
// cost model ("operations": key -> microseconds, latency_model.hpp). Every
// further non-empty line is one timed arch: latency_ms (its label, below),
// drift (label over the geometric mean of raw_ms), per pass raw_ms (median of
// the runs not disturbed), pass_ms (raw_ms corrected for its group's drift),
// pass_group (the group's index), p10_ms, p90_ms and spread; runs and
// disturbed over all passes; run_ms, run_round and run_pass (every timed run,
// its round in its group and its pass); and arch (arch JSON).
//
// Timing (collect_latency_data), built for a machine shared with other work:
//   * on one thread, by the thread's CPU time (DecodeRun::run_ms): another
//     process that preempts the run does not lengthen it;
//   * interleaved: archs are timed in groups of `group` models held at once;
//     each round runs every model of the group once, in a fresh random order,
//     so a burst of other load costs each arch at most a run or two instead
//     of the whole of one arch's measurement;
//   * robust: an arch's time in a group is the median of its runs that are
//     not disturbed (run_stats: more than `tolerance` above the fast end of
//     its runs, or in a round that slowed the whole group down);
//   * redone: an arch with fewer than a third of its runs kept gets up to
//     `max_redo` more rounds (interleaved with the others that need them);
//   * in passes: every arch is timed up to `passes` times, each time in other
//     groups (a fresh random grouping per pass), at another time and with a
//     freshly allocated model, so that one group's conditions or one
//     allocation's cache placement do not make its label; from the second
//     pass on, collection stops once the labels' estimated error (the drift
//     fit's residual over the square root of the passes) is below
//     `label_error`, so a quiet machine stops early, or when another pass,
//     judged by the slowest so far, would end past `max_seconds`;
//   * drift-corrected: sustained load slows a whole group down alike, which
//     no statistic inside the group sees. A fixed reference arch runs in every
//     group. With one pass an arch's label is its ratio to the reference in
//     its group times the reference's latency in the quietest groups (10th
//     percentile over the groups). With more passes the label comes from a
//     least-squares fit of log time = log arch latency + log group drift over
//     every arch, the reference and every group, the drift counted from the
//     quietest groups (10th percentile);
//   * reported: the header says how many runs were disturbed and redone, the
//     spread of the archs' runs, and how much the reference drifted from
//     group to group.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "model/space.hpp"
#include "search/latency.hpp"
#include "search/predictor.hpp"

namespace mos {

struct CollectOptions {
    int group = 8;              // archs timed together (fewer when their models are large)
    double tolerance = kDisturbedTolerance;
    int max_redo = 3;           // extra rounds of `runs` runs for an arch with too few runs kept
    int op_rounds = 7;          // rounds of the operation microbenchmarks; 0 = no operation table
    bool correct_drift = true;  // scale each group by the reference arch (see above)
    int passes = 5;             // at most this many passes (see above)...
    double label_error = 0.01;  // ...fewer once the labels' estimated error is below this
    double max_seconds = 0;     // ...or once another pass would end past this (0: no limit)
};

// How noisy the machine was while a dataset was timed.
struct NoiseReport {
    int64_t runs = 0;           // timed runs of the archs (the reference's not counted)
    int64_t disturbed = 0;      // runs left out as disturbed
    int64_t redone = 0;         // runs added for archs with too few runs kept
    double median_spread = 0;   // the archs' (p75 - p25) / median of kept runs: median over archs
    double p90_spread = 0;      // ... and its 90th percentile
    double reference_cv = 0;    // the reference arch's latency across groups: stdev / mean
    int passes = 0;             // passes run
    std::string passes_ended;   // why no more: "all", "steady" or "time"
    double label_error = 0;     // with 2 or more: the drift fit's residual / sqrt(passes)
    std::vector<double> reference_ms;  // ... per group
    double seconds = 0;         // wall time of the collection
};

struct LatencyDataset {
    std::string machine;        // where the archs were timed
    int threads = 1;            // with this many threads
    std::string precision;      // in this precision
    int64_t vocab = 0;          // with this vocabulary
    LatencyOptions protocol;    // and this protocol
    Space space;                // whose archs they are
    std::vector<Arch> archs;
    std::vector<double> latency_ms;  // per arch
    std::map<std::string, double> op_us;  // operation table (empty: none)
    NoiseReport noise;
};

// Times n archs of `space` (the largest, the smallest, then archs sampled from
// `seed`) as dense models of vocabulary `vocab` with the given protocol (its
// `warmup` untimed and `runs` timed runs per arch), interleaved as described
// above, times the space's operations, and writes the dataset to `path`
// atomically. The models' weights are small seeded values: latency does not
// depend on them. vocab outside 16..1000000, n outside 1..1000000 or bad
// options are MOS_INVALID_ARGUMENT. `progress` (may be empty) hears once
// before the first arch (done 0) and after every group of archs timed; when
// it returns false nothing is written and the call fails with MOS_ABORTED.
// Returns the noise report.
NoiseReport collect_latency_data(const std::string &path, const Space &space, int64_t vocab, int64_t n, uint64_t seed,
                                 const LatencyOptions &protocol, const ProgressFn &progress,
                                 const CollectOptions &co = CollectOptions());

// One timing of an arch in a group (collect_latency_data with passes > 1).
struct GroupTiming {
    size_t arch = 0, group = 0;
    double ms = 0;  // the arch's robust time in that group
};
struct DriftFit {
    std::vector<double> latency_ms;  // per arch, at the drift of the quietest groups
    std::vector<double> drift;       // per group: its slowdown factor (1 for the quietest tenth)
    double residual = 0;             // root mean square of the log residuals (per degree of freedom)
};
// Least-squares fit of log ms = log latency(arch) + log drift(group) over the
// timings `obs` of `archs` archs in `groups` groups, the drift counted from
// the quietest groups (10th percentile of the log drifts is 0). Exact when the
// timings follow that product and the groups are connected through archs
// timed in several of them. An arch or group without timings, or a timing out
// of range, is MOS_INVALID_ARGUMENT.
DriftFit fit_group_drift(const std::vector<GroupTiming> &obs, size_t archs, size_t groups);

// Reads a dataset. MOS_IO if unreadable; MOS_FORMAT naming the line and the
// field for anything malformed; MOS_VERSION for another version (version 1
// files: collect again).
LatencyDataset read_latency_data(const std::string &path);

// Fits a predictor (train_predictor) to the dataset at `dataset_path` and
// saves it (save_predictor) at `out_path`. Returns its error report.
PredictorReport train_predictor_file(const std::string &dataset_path, const PredictorTrainOptions &opt,
                                     const std::string &out_path);

}  // namespace mos
