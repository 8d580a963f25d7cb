// tests/reliability/bench_checksum.cpp: what the safetensors checksum costs
// (docs/reliability.md): writes a file of one F32 tensor of SIZE_MB megabytes
// (default 200) twice, with its checksum and as an older writer would (no
// checksum field), reads each back with SafeTensors::read_file (warm page
// cache, best of 3), and times CRC32C alone. Also the BF16 file of the same
// tensor: its size and read time (widening included).
//
// usage: bench_rel_checksum [SIZE_MB]   (files go to $TMPDIR or /tmp, removed after)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"

namespace {

// Wall and CPU seconds of the fastest of three runs. On a shared machine the
// CPU time is the steadier figure.
struct Time {
    double wall = 1e30, cpu = 1e30;
};

Time best_of_3(const std::function<void()> &f) {
    Time best;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        f();
        const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (wall < best.wall) best = {wall, cpu};
    }
    return best;
}

// The image without its checksum field, as files written before it existed.
std::vector<uint8_t> without_checksum(const std::vector<uint8_t> &img) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | img[static_cast<size_t>(i)];
    nlohmann::json h = nlohmann::json::parse(img.begin() + 8, img.begin() + 8 + static_cast<long>(n));
    h["__metadata__"].erase("checksum");
    std::string text = h.dump();
    text.append((8 - (8 + text.size()) % 8) % 8, ' ');
    std::vector<uint8_t> out(8);
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(text.size() >> (8 * i));
    out.insert(out.end(), text.begin(), text.end());
    out.insert(out.end(), img.begin() + 8 + static_cast<long>(n), img.end());
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    const size_t mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
    const size_t n = mb * (1u << 20) / 4;
    std::vector<float> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = static_cast<float>(i % 1000) * 1e-3f - 0.5f;
    const char *base = std::getenv("TMPDIR");
    const std::string dir = base && *base ? base : "/tmp";
    const std::string with = dir + "/mos-bench-checksum.safetensors", old = dir + "/mos-bench-nochecksum.safetensors",
                      half = dir + "/mos-bench-bf16.safetensors";

    mos::SafeTensorsWriter wr;
    wr.set_format("mos-bench", 1);
    wr.add("w", mos::DType::F32, {n}, w.data(), n * 4);
    const Time t_write = best_of_3([&] { wr.write_file(with); });
    mos::write_file_atomic(old, [&](const std::function<void(const void *, size_t)> &put) {
        const std::vector<uint8_t> img = without_checksum(wr.to_bytes());
        put(img.data(), img.size());
    });
    mos::SafeTensorsWriter wh;
    wh.add("w", mos::DType::F32, {n}, w.data(), n * 4, mos::DType::BF16);
    wh.write_file(half);

    bool verified = false, plain = true;
    const Time t_old = best_of_3([&] { plain = !mos::SafeTensors::read_file(old).checksum_verified(); });
    const Time t_with = best_of_3([&] { verified = mos::SafeTensors::read_file(with).checksum_verified(); });
    const Time t_half = best_of_3([&] { mos::SafeTensors::read_file(half); });
    uint32_t crc = 0;
    const Time t_crc = best_of_3([&] { crc = mos::crc32c(0, w.data(), n * 4); });
    auto row = [](const char *what, const Time &t) {
        std::printf("%-45s %8.1f ms wall %8.1f ms CPU\n", what, 1e3 * t.wall, 1e3 * t.cpu);
    };
    std::printf("%zu MB F32 tensor (best of 3, warm page cache)\n", mb);
    row("write with checksum (fsync included)", t_write);
    row(plain ? "read_file, no checksum field" : "read_file, no checksum field (?)", t_old);
    row(verified ? "read_file, checksum verified" : "read_file, checksum NOT verified", t_with);
    row("CRC32C alone", t_crc);
    std::printf("CRC32C: %.1f GB/s of CPU time (%08x)\n", static_cast<double>(n * 4) / t_crc.cpu / 1e9, crc);
    std::printf("BF16 file: %.1f MB\n", static_cast<double>(n * 2) / (1 << 20));
    row("read_file of the BF16 file (widening included)", t_half);
    unlink(with.c_str());
    unlink(old.c_str());
    unlink(half.c_str());
    return verified && plain ? 0 : 1;
}
