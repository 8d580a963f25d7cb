// lib/core/progress.hpp: the progress report of long-running core work
// (timing archs for a latency dataset, evolutionary search). The core builds
// the whole report, the human-readable `what` included, so that the C API
// passes it on unchanged to a mos_progress_fn (done, total, what, user).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace mos {

struct Progress {
    uint64_t done = 0;   // units of work finished
    uint64_t total = 0;  // units of work in all
    std::string what;    // what the units are and how it goes, for humans
};

// Returns true to go on, false to stop (the function that reports says what
// stopping means: MOS_ABORTED with or without partial results).
using ProgressFn = std::function<bool(const Progress &)>;

}  // namespace mos
