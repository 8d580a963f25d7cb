// tests/reliability/rel_common.hpp: helpers shared by the reliability tests
// (a temporary directory removed afterwards, whole-file reads and writes,
// expecting a mos::Error with a status and message fragments).
#pragma once

// Everything that declares a member named fail() (mos::fail, std::ios) comes
// before cmocka.h, which defines a fail() macro.
#include "core/error.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

// A fresh directory under $TMPDIR (or /tmp), removed with its files at the end.
struct [[maybe_unused]] TempDir {
    std::string path;
    TempDir() {
        const char *base = getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mos-rel-XXXXXX";
        char *p = mkdtemp(tmpl.data());
        assert_non_null(p);
        path = p;
    }
    ~TempDir() {
        const std::string cmd = "rm -rf '" + path + "'";
        if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path.c_str());
    }
    std::string file(const std::string &name) const { return path + "/" + name; }
    // Names in the directory, sorted.
    std::vector<std::string> list() const {
        std::vector<std::string> out;
        DIR *d = opendir(path.c_str());
        assert_non_null(d);
        while (const dirent *e = readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
        closedir(d);
        std::sort(out.begin(), out.end());
        return out;
    }
};

[[maybe_unused]] std::string read_all(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    assert_true(static_cast<bool>(in));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

[[maybe_unused]] void write_all(const std::string &path, const std::string &data) {
    FILE *f = fopen(path.c_str(), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data.data(), 1, data.size(), f), data.size());
    fclose(f);
}

// Runs fn, which must throw mos::Error with `status` and a message holding
// every fragment.
template <typename F>
void expect_error(F &&fn, mos_status status, std::initializer_list<const char *> fragments) {
    try {
        fn();
    } catch (const mos::Error &e) {
        bool ok = e.status() == status;
        for (const char *f : fragments) ok = ok && std::strstr(e.what(), f) != nullptr;
        if (!ok) {
            fprintf(stderr, "# got status %d: %s\n", static_cast<int>(e.status()), e.what());
            fail_msg("unexpected error");
        }
        return;
    }
    fail_msg("no error thrown");
}

}  // namespace
