// tests/fuzz/fuzz_files.hpp: temporary files for fuzz targets whose reader takes
// a path (corpus lines, latency datasets, predictor and checkpoint files). Each
// process gets one directory under $TMPDIR (or /tmp), removed at exit; a
// target rewrites its few files there for every input.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace fuzz {

inline void remove_dir(const std::string &dir) {
    if (DIR *d = opendir(dir.c_str())) {
        while (const dirent *e = readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                unlink((dir + "/" + e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

inline const std::string &work_dir() {
    static std::string dir;
    if (dir.empty()) {
        const char *base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mos-fuzz-XXXXXX";
        if (!mkdtemp(tmpl.data())) {
            std::perror("mkdtemp");
            std::abort();
        }
        dir = tmpl;
        std::atexit([] { remove_dir(dir); });
    }
    return dir;
}

// work_dir()/name holding exactly `size` bytes of `data`.
inline std::string write_file(const char *name, const void *data, size_t size) {
    const std::string path = work_dir() + "/" + name;
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror(path.c_str());
        std::abort();
    }
    const auto *p = static_cast<const uint8_t *>(data);
    while (size > 0) {
        const ssize_t w = ::write(fd, p, size);
        if (w <= 0) {
            std::perror(path.c_str());
            std::abort();
        }
        p += w;
        size -= static_cast<size_t>(w);
    }
    close(fd);
    return path;
}

// Stops the run so the fuzzer keeps the input (abort is libFuzzer's crash signal).
inline void expect(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz: broken promise: %s\n", what);
        std::abort();
    }
}

}  // namespace fuzz
