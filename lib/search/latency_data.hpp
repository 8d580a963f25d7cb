// lib/search/latency_data.hpp: latency datasets, the JSON-lines files
// ("mos-latency-data", version 1; docs/search.md) from which latency
// predictors are trained: timing archs of a space into such a file, reading
// one back, and fitting and saving a predictor from one.
//
// Line 1 is a header object: format, version, machine (CPU model), threads,
// protocol (latency_protocol_json) and space (space JSON). Every further
// non-empty line is one timed arch: features (the kArchFeatures encoding),
// latency_ms (trimmed mean), p10_ms, p90_ms and arch (arch JSON).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "model/space.hpp"
#include "search/latency.hpp"

namespace mos {

struct LatencyDataset {
    std::string machine;                        // where the archs were timed
    int threads = 1;                            // with this many threads
    LatencyOptions protocol;                    // and this protocol
    Space space;                                // whose archs they are
    std::vector<std::vector<float>> features;   // per arch: kArchFeatures values
    std::vector<double> latency_ms;             // per arch: trimmed mean
};

// Times n archs of `space` (the largest, the smallest, then archs sampled from
// `seed`) as dense models of vocabulary `vocab` with the given protocol, and
// writes the dataset to `path` atomically. The models' weights are small
// seeded values: latency does not depend on them. vocab outside 16..1000000 or
// n outside 1..1000000 is MOS_INVALID_ARGUMENT. `progress` (may be empty)
// hears of every arch timed; when it returns false nothing is written and the
// call fails with MOS_ABORTED.
void collect_latency_data(const std::string &path, const Space &space, int64_t vocab, int64_t n, uint64_t seed,
                          const LatencyOptions &protocol, const ProgressFn &progress);

// Reads a dataset. MOS_IO if unreadable; MOS_FORMAT naming the line and the
// field for anything malformed; MOS_VERSION for an unknown version.
LatencyDataset read_latency_data(const std::string &path);

// Fits a predictor (train_predictor) to the dataset at `dataset_path` and
// saves it (save_predictor) with the dataset's machine, threads, protocol and
// space at `out_path`. Returns its error report.
PredictorReport train_predictor_file(const std::string &dataset_path, const PredictorTrainOptions &opt,
                                     const std::string &out_path);

}  // namespace mos
