// tests/data/test_common.hpp: helpers shared by the data tests (temporary
// directories, writing plain and gzip files, expecting a mos::Error).
#pragma once

// Before cmocka.h, which defines a fail() macro that clashes with mos::fail.
#include "core/error.hpp"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

// A fresh directory under $TMPDIR (or /tmp), removed with its files at the end.
struct [[maybe_unused]] TempDir {
    std::string path;
    TempDir() {
        const char *base = getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mos-data-XXXXXX";
        char *p = mkdtemp(tmpl.data());
        assert_non_null(p);
        path = p;
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path + "'";
        if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path.c_str());
    }
    std::string file(const std::string &name) const { return path + "/" + name; }
};

[[maybe_unused]] void write_plain(const std::string &path, const std::string &data) {
    FILE *f = fopen(path.c_str(), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data.data(), 1, data.size(), f), data.size());
    fclose(f);
}

[[maybe_unused]] void write_gzip(const std::string &path, const std::string &data) {
    gzFile f = gzopen(path.c_str(), "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
    assert_int_equal(gzclose(f), Z_OK);
}

// Runs fn, which must throw mos::Error with the given status and a message
// containing `needle`.
template <typename F>
void expect_error(F &&fn, mos_status status, const std::string &needle) {
    try {
        fn();
    } catch (const mos::Error &e) {
        if (e.status() != status || std::string(e.what()).find(needle) == std::string::npos)
            print_error("got status %d '%s'; want %d containing '%s'\n", e.status(), e.what(), status,
                        needle.c_str());
        assert_int_equal(e.status(), status);
        assert_non_null(strstr(e.what(), needle.c_str()));
        return;
    }
    print_error("no error thrown; want status %d containing '%s'\n", status, needle.c_str());
    fail();
}

}  // namespace
