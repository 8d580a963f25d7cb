// tests/data/test_common.hpp: helpers shared by the data tests: the unit-test
// helpers of tests/common/test_support.hpp (temporary directories, file
// writes, expecting a mos::Error), plus writing plain and gzip files.
#pragma once

#include "../common/test_support.hpp"

#include <zlib.h>

namespace {

[[maybe_unused]] void write_plain(const std::string &path, const std::string &data) { write_all(path, data); }

[[maybe_unused]] void write_gzip(const std::string &path, const std::string &data) {
    gzFile f = gzopen(path.c_str(), "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
    assert_int_equal(gzclose(f), Z_OK);
}

}  // namespace
