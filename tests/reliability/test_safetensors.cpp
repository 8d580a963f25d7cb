// tests/reliability/test_safetensors.cpp: the safetensors container's safety
// features (lib/io/safetensors.hpp): CRC32C checksums written and verified,
// corruption reported as MOS_FORMAT naming the file, files without a checksum
// still loading; BF16 storage (exact widening, round-to-nearest-even
// narrowing, NaN/Inf, odd sizes); atomic writes (temporary names, removal of
// stale temporaries, injected failures that leave the old file intact, and the
// pause hook a crash test kills a writer at).
//
// usage: test_rel_safetensors GOLDEN_FIXTURE_DIR MODEL_FILE
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <cmath>
#include <functional>
#include <limits>

#include "io/safetensors.hpp"
#include "model/bundle.hpp"
#include "model/dense.hpp"
#include "rel_common.hpp"

namespace {

std::string g_fixtures, g_model;

// A bit-at-a-time CRC32C, the reference for the table and SSE4.2 versions.
uint32_t crc_ref(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

uint32_t f2u(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float u2f(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

std::vector<uint8_t> small_file(const std::vector<float> &w) {
    mos::SafeTensorsWriter wr;
    wr.set_format("mos-test", 1);
    wr.set_metadata("note", "small");
    wr.add("w", mos::DType::F32, {w.size()}, w.data(), w.size() * 4);
    static const uint8_t u[5] = {1, 2, 3, 4, 5};
    wr.add("u", mos::DType::U8, {5}, u, 5);
    return wr.to_bytes();
}

// The JSON header text of a file image.
std::string header_of(const std::vector<uint8_t> &f) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | f[static_cast<size_t>(i)];
    return std::string(reinterpret_cast<const char *>(f.data()) + 8, n);
}

void crc32c_matches_reference(void **) {
    const char *check = "123456789";
    assert_int_equal(mos::crc32c(0, check, 9), 0xE3069283u);  // the published check value
    assert_int_equal(mos::crc32c(0, nullptr, 0), 0u);
    std::vector<uint8_t> buf(300);
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
    // Every alignment and length around the 8-byte steps, and chaining.
    for (size_t off = 0; off < 9; ++off)
        for (size_t n = 0; n + off <= 80; ++n) {
            assert_int_equal(mos::crc32c(0, buf.data() + off, n), crc_ref(buf.data() + off, n));
            const size_t h = n / 3;
            assert_int_equal(mos::crc32c(mos::crc32c(0, buf.data() + off, h), buf.data() + off + h, n - h),
                             crc_ref(buf.data() + off, n));
        }
}

void checksum_written_and_verified(void **) {
    const std::vector<uint8_t> f = small_file({1, 2, 3});
    const std::string h = header_of(f);
    assert_non_null(std::strstr(h.c_str(), "\"checksum\":\"crc32c:"));
    const mos::SafeTensors st = mos::SafeTensors::parse(f.data(), f.size(), "small");
    assert_true(st.checksum_verified());
    assert_null(st.meta("checksum"));  // the container's field, not user metadata
    assert_int_equal(st.metadata().size(), 3);
    assert_string_equal(st.meta("note")->c_str(), "small");
    expect_error([] { mos::SafeTensorsWriter().set_metadata("checksum", "x"); }, MOS_INVALID_ARGUMENT,
                 {"'checksum' is reserved"});
    expect_error([] { mos::SafeTensorsWriter().set_metadata("x", "crc32c:00000000:00000000"); },
                 MOS_INVALID_ARGUMENT, {"reserved for the checksum"});
    // One flipped bit in the key "checksum" must not switch verification off.
    std::vector<uint8_t> bad = f;
    const size_t k = header_of(f).find("\"checksum\"");
    bad[8 + k + 6] ^= 0x40;  // 's' -> '3'
    expect_error([&] { mos::SafeTensors::parse(bad.data(), bad.size(), "key"); }, MOS_FORMAT,
                 {"key: file is corrupt: metadata key 'check3um' holds a checksum"});
    // The same content gives the same bytes (the checksum is deterministic).
    assert_true(small_file({1, 2, 3}) == f);
}

void corruption_is_reported(void **) {
    TempDir dir;
    std::vector<float> w(1000);
    for (size_t i = 0; i < w.size(); ++i) w[i] = 0.001f * static_cast<float>(i);
    const std::vector<uint8_t> good = small_file(w);
    const size_t data_start = 8 + header_of(good).size();
    // A flipped bit anywhere in the data section: weights, the U8 tensor, the last byte.
    for (size_t at : {data_start, data_start + 1234, data_start + 4000, good.size() - 1}) {
        for (uint8_t bit : {0x01, 0x80}) {
            std::vector<uint8_t> bad = good;
            bad[at] ^= bit;
            const std::string path = dir.file("flipped.safetensors");
            write_all(path, std::string(bad.begin(), bad.end()));
            expect_error([&] { mos::SafeTensors::read_file(path); }, MOS_FORMAT,
                         {path.c_str(), "file is corrupt", "data section's CRC32C"});
        }
    }
    // A changed metadata value (same length, still valid JSON) and a changed shape digit.
    std::string h = header_of(good);
    for (const char *from_to : {"small|smalk", "\"format_version\":\"1\"|\"format_version\":\"2\""}) {
        const std::string ft(from_to);
        const std::string from = ft.substr(0, ft.find('|')), to = ft.substr(ft.find('|') + 1);
        const size_t at = h.find(from);
        assert_true(at != std::string::npos);
        std::vector<uint8_t> bad = good;
        std::memcpy(bad.data() + 8 + at, to.data(), to.size());
        expect_error([&] { mos::SafeTensors::parse(bad.data(), bad.size(), "edited"); }, MOS_FORMAT,
                     {"edited: file is corrupt", "header's CRC32C"});
    }
    // The checksum field itself damaged.
    const size_t c = h.find("crc32c:") + 7;
    std::vector<uint8_t> bad = good;
    bad[8 + c] = bad[8 + c] == '0' ? '1' : '0';
    expect_error([&] { mos::SafeTensors::parse(bad.data(), bad.size(), "x"); }, MOS_FORMAT, {"file is corrupt"});
    bad = good;
    bad[8 + c] = 'g';
    expect_error([&] { mos::SafeTensors::parse(bad.data(), bad.size(), "x"); }, MOS_FORMAT,
                 {"is not of the form \"crc32c:"});
    // Truncation is caught by the layout checks before the checksum.
    expect_error([&] { mos::SafeTensors::parse(good.data(), good.size() - 1, "cut"); }, MOS_FORMAT, {"cut:"});
}

// A file as an older writer made it: no checksum field.
void files_without_checksum_load(void **) {
    const std::string header =
        "{\"__metadata__\":{\"format\":\"mos-test\",\"format_version\":\"1\"},"
        "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    std::string pad(((8 - (8 + header.size()) % 8) % 8), ' ');
    std::string file(8, '\0');
    const uint64_t n = header.size() + pad.size();
    for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
    const float w[2] = {1.5f, -2.0f};
    file += header + pad + std::string(reinterpret_cast<const char *>(w), 8);
    const mos::SafeTensors st = mos::SafeTensors::parse(file.data(), file.size(), "old");
    assert_false(st.checksum_verified());
    assert_int_equal(st.check_format("mos-test", 1), 1);
    assert_memory_equal(st.bytes(st.require("w", mos::DType::F32, {2})), w, 8);
    // The committed golden fixtures predate checksums.
    const mos::SafeTensors fx = mos::SafeTensors::read_file(g_fixtures + "/none_smallest.safetensors");
    assert_false(fx.checksum_verified());
    assert_true(fx.tensors().size() > 0);
}

void bf16_conversion(void **) {
    struct Case {
        uint32_t f;
        uint16_t b;
    };
    const Case cases[] = {
        {0x3F800000u, 0x3F80},  // 1.0
        {0x3F808000u, 0x3F80},  // exactly halfway, kept part even: down
        {0x3F818000u, 0x3F82},  // exactly halfway, kept part odd: up
        {0x3F808001u, 0x3F81},  // just above halfway: up
        {0x3F807FFFu, 0x3F80},  // just below halfway: down
        {0xBF818000u, 0xBF82},  // negative, halfway, odd: away from zero
        {0x7F7FFFFFu, 0x7F80},  // FLT_MAX rounds to infinity
        {0x7F7F7FFFu, 0x7F7F},  // the largest value that stays finite
        {0x7F800000u, 0x7F80},  // +inf
        {0xFF800000u, 0xFF80},  // -inf
        {0x7FC00000u, 0x7FC0},  // quiet NaN
        {0x7F800001u, 0x7FC0},  // signalling NaN with a low payload: stays NaN (quiet)
        {0xFFC12345u, 0xFFC1},  // negative NaN keeps sign and top payload
        {0x80000000u, 0x8000},  // -0
        {0x00000001u, 0x0000},  // smallest subnormal: rounds to zero
        {0x00018000u, 0x0002},  // subnormal halfway, odd: up
        {0x00008000u, 0x0000},  // subnormal halfway, even: down
        {0x007FFFFFu, 0x0080},  // largest subnormal rounds up to the smallest normal
    };
    for (const Case &c : cases) {
        if (mos::f32_to_bf16(u2f(c.f)) != c.b) {
            fprintf(stderr, "# f32 %08x -> bf16 %04x, want %04x\n", c.f, mos::f32_to_bf16(u2f(c.f)), c.b);
            fail_msg("bf16 rounding");
        }
    }
    // Widening is exact and narrowing gives every bf16 value back.
    for (uint32_t b = 0; b < 65536; ++b) {
        const float f = mos::bf16_to_f32(static_cast<uint16_t>(b));
        assert_int_equal(f2u(f), b << 16);
        if (std::isnan(f))
            assert_true(std::isnan(mos::bf16_to_f32(mos::f32_to_bf16(f))));
        else
            assert_int_equal(mos::f32_to_bf16(f), b);
    }
}

void bf16_files(void **) {
    // Odd sizes, the 8192-value chunk boundary, an empty tensor, and specials.
    const size_t sizes[] = {1, 3, 7, 8191, 8193, 0};
    std::vector<std::vector<float>> data;
    mos::SafeTensorsWriter wr;
    wr.set_format("mos-test", 1);
    for (size_t k = 0; k < 6; ++k) {
        std::vector<float> v(sizes[k]);
        for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * static_cast<float>(i + k)) * 1e3f;
        data.push_back(v);
    }
    data[1][0] = std::numeric_limits<float>::infinity();
    data[1][1] = -std::numeric_limits<float>::quiet_NaN();
    data[1][2] = -0.0f;
    for (size_t k = 0; k < data.size(); ++k)
        wr.add("t" + std::to_string(k), mos::DType::F32, {data[k].size()}, data[k].data(), data[k].size() * 4,
               mos::DType::BF16);
    const float keep[3] = {0.1f, 0.2f, 0.3f};
    wr.add("f32", mos::DType::F32, {3}, keep, 12);  // stays F32 beside BF16
    const uint8_t odd[3] = {9, 8, 7};
    wr.add("u8", mos::DType::U8, {3}, odd, 3);
    const std::vector<uint8_t> f = wr.to_bytes();
    size_t total = 0;
    for (size_t s : sizes) total += s;
    assert_true(f.size() < 8 + header_of(f).size() + total * 2 + 12 + 3 + 1);  // half size
    assert_non_null(std::strstr(header_of(f).c_str(), "\"dtype\":\"BF16\""));

    const mos::SafeTensors st = mos::SafeTensors::parse(f.data(), f.size(), "bf16");
    assert_true(st.checksum_verified());
    for (size_t k = 0; k < data.size(); ++k) {
        const mos::TensorInfo &t = st.require("t" + std::to_string(k), mos::DType::F32, {data[k].size()});
        assert_true(t.stored == mos::DType::BF16);
        assert_int_equal(t.nbytes(), data[k].size() * 4);
        assert_int_equal(t.end - t.begin, data[k].size() * 2);
        const uint8_t *b = st.bytes(t);
        for (size_t i = 0; i < data[k].size(); ++i) {
            float got;
            std::memcpy(&got, b + 4 * i, 4);
            const float want = mos::bf16_to_f32(mos::f32_to_bf16(data[k][i]));
            if (std::isnan(want))
                assert_true(std::isnan(got) && std::signbit(got));
            else
                assert_int_equal(f2u(got), f2u(want));
        }
    }
    assert_true(std::isinf(mos::bf16_to_f32(mos::f32_to_bf16(data[1][0]))));
    assert_memory_equal(st.bytes(st.require("f32", mos::DType::F32, {3})), keep, 12);
    assert_memory_equal(st.bytes(st.require("u8", mos::DType::U8, {3})), odd, 3);
    // Writing what was read back as BF16 gives the same file.
    mos::SafeTensorsWriter again;
    for (const auto &m : st.metadata()) again.set_metadata(m.first, m.second);
    for (const mos::TensorInfo &t : st.tensors())
        again.add(t.name, t.dtype, t.shape, st.bytes(t), t.nbytes(), t.stored);
    assert_true(again.to_bytes() == f);

    const int32_t ints[2] = {1, 2};
    expect_error([&] { mos::SafeTensorsWriter().add("i", mos::DType::I32, {2}, ints, 8, mos::DType::BF16); },
                 MOS_INVALID_ARGUMENT, {"I32 data cannot be stored as BF16"});
    expect_error([&] { mos::SafeTensorsWriter().add("b", mos::DType::BF16, {2}, ints, 4, mos::DType::F32); },
                 MOS_INVALID_ARGUMENT, {"BF16 data cannot be stored as F32"});
}

// A model file with every weight stored as BF16 (half the size) loads through
// the real model loader, which requires F32: each weight comes back as its
// bf16 rounding.
void bf16_model_loads(void **) {
    TempDir dir;
    const mos::SafeTensors f32 = mos::SafeTensors::read_file(g_model);
    mos::SafeTensorsWriter wr;
    for (const auto &m : f32.metadata()) wr.set_metadata(m.first, m.second);
    for (const mos::TensorInfo &t : f32.tensors())
        wr.add(t.name, t.dtype, t.shape, f32.bytes(t), t.nbytes(),
               t.dtype == mos::DType::F32 ? mos::DType::BF16 : t.dtype);
    const std::string half = dir.file("model_bf16.safetensors");
    wr.write_file(half);
    // The weights take half the bytes (this tiny model's header is most of its file).
    uint64_t full_bytes = 0, half_bytes = 0;
    for (const mos::TensorInfo &t : f32.tensors()) full_bytes += t.end - t.begin;
    const mos::SafeTensors stored = mos::SafeTensors::read_file(half);
    for (const mos::TensorInfo &t : stored.tensors()) half_bytes += t.end - t.begin;
    assert_true(full_bytes > 2000 && 2 * half_bytes == full_bytes);
    const mos::ModelBundle a = mos::load_model(g_model), b = mos::load_model(half);
    assert_true(a.arch == b.arch);
    size_t checked = 0;
    const mos::DenseModel da = a.model->to_dense(), db = b.model->to_dense();  // the weights as loaded
    for (const std::string &name : da.names()) {
        const float *x = da.data(name), *y = db.data(name);
        for (size_t i = 0; i < da.tensor(name).numel; ++i, ++checked)
            assert_int_equal(f2u(y[i]), f2u(mos::bf16_to_f32(mos::f32_to_bf16(x[i]))));
    }
    assert_true(checked * 4 == full_bytes);
}

// Every single-bit flip anywhere in a real checkpoint is rejected when the
// file carries its checksum; the same flips in the copy without one mostly
// load silently (the count is printed for docs/reliability.md).
void random_flips_are_caught(void **) {
    const std::string dir = g_model.substr(0, g_model.rfind('/'));
    for (const char *name : {"neuron_supernet", "neuron_model_largest"}) {
        const bool supernet = std::strncmp(name, "neuron_supernet", 15) == 0;
        int caught[2] = {0, 0}, trials = 0;
        for (int variant = 0; variant < 2; ++variant) {
            const std::string file = read_all(dir + "/" + name + (variant ? "_no_checksum" : ""));
            uint64_t h = 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(variant);
            trials = 0;
            for (int k = 0; k < 2000; ++k, ++trials) {
                h = h * 6364136223846793005ull + 1442695040888963407ull;
                std::string bad = file;
                const size_t at = (h >> 20) % bad.size();
                bad[at] = static_cast<char>(bad[at] ^ (1 << ((h >> 8) % 8)));
                try {
                    if (supernet)
                        mos::supernet_from_bytes(bad.data(), bad.size(), "flipped");
                    else
                        mos::model_from_bytes(bad.data(), bad.size(), "flipped");
                } catch (const mos::Error &e) {
                    assert_true(e.status() == MOS_FORMAT || e.status() == MOS_VERSION ||
                                e.status() == MOS_OUT_OF_RANGE || e.status() == MOS_OUT_OF_MEMORY);
                    caught[variant]++;
                }
            }
        }
        fprintf(stderr, "# %s: %d random bit flips, rejected %d with the checksum, %d without\n", name, trials,
                caught[0], caught[1]);
        assert_int_equal(caught[0], trials);
    }
}

bool has_prefix(const std::string &s, const std::string &p) { return s.compare(0, p.size(), p) == 0; }

void temp_names_and_stale_cleanup(void **) {
    TempDir dir;
    const std::string target = dir.file("net.safetensors");
    // A process that is gone: a child that exits at once.
    const pid_t dead = fork();
    if (dead == 0) _exit(0);
    assert_true(dead > 0);
    int ws = 0;
    assert_int_equal(waitpid(dead, &ws, 0), dead);
    const std::string d = std::to_string(dead);
    const std::string alive = std::to_string(getppid());
    for (const std::string &n : std::vector<std::string>{"net.safetensors.tmp." + d + ".0", "net.safetensors.tmp." + d + ".17",
                                 "net.safetensors.tmp." + alive + ".3", "net.safetensors.tmp.1.0",
                                 "net.safetensors.best.tmp." + d + ".0", "other.tmp." + d + ".0",
                                 "net.safetensors.tmp.AbC123", "net.safetensors.tmp.XyZ789",
                                 "net.safetensors.tmp." + d + ".x"})
        write_all(dir.file(n), "partial");
    // The older mkstemp naming: removed once untouched for 10 minutes.
    struct timeval old[2] = {{time(nullptr) - 3600, 0}, {time(nullptr) - 3600, 0}};
    assert_int_equal(utimes(dir.file("net.safetensors.tmp.AbC123").c_str(), old), 0);

    mos::write_file_atomic(target, "new", 3);
    assert_string_equal(read_all(target).c_str(), "new");
    const std::vector<std::string> left = dir.list();
    const std::vector<std::string> want = {"net.safetensors",
                                           "net.safetensors.best.tmp." + d + ".0",
                                           "net.safetensors.tmp." + d + ".x",
                                           "net.safetensors.tmp." + alive + ".3",
                                           "net.safetensors.tmp.1.0",
                                           "net.safetensors.tmp.XyZ789",
                                           "other.tmp." + d + ".0"};
    std::vector<std::string> sorted_want = want;
    std::sort(sorted_want.begin(), sorted_want.end());
    if (left != sorted_want) {
        for (const auto &n : left) fprintf(stderr, "# left: %s\n", n.c_str());
        fail_msg("stale temporaries: wrong set removed");
    }
    // Permissions are those of a new file (0666 less the umask), not mkstemp's 0600.
    const mode_t mask = umask(0);
    umask(mask);
    struct stat sb;
    assert_int_equal(stat(target.c_str(), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0666 & ~mask);
}

struct EnvGuard {
    const char *name;
    EnvGuard(const char *n, const char *v) : name(n) { setenv(n, v, 1); }
    ~EnvGuard() { unsetenv(name); }
};

void injected_failures_keep_the_old_file(void **) {
    TempDir dir;
    const std::string target = dir.file("ckpt.safetensors");
    std::vector<float> w(5000, 0.5f);
    const std::vector<uint8_t> v1 = small_file(w);
    mos::write_file_atomic(target, v1.data(), v1.size());
    w[0] = 2.0f;
    mos::SafeTensorsWriter wr;
    wr.add("w", mos::DType::F32, {w.size()}, w.data(), w.size() * 4);
    const struct {
        const char *name;
        int code;
    } data_faults[] = {{"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EIO", EIO}, {"EFBIG", EFBIG}};
    for (const auto &fault : data_faults) {
        EnvGuard g("MOS_TEST_WRITE_FAIL", fault.name);
        const std::string why = std::strerror(fault.code);
        expect_error([&] { wr.write_file(target); }, MOS_IO,
                     {"cannot write '", target.c_str(), why.c_str(), "was not changed"});
        // A short file fails too (at its end).
        expect_error([&] { mos::write_file_atomic(target, "tiny", 4); }, MOS_IO, {"cannot write '"});
        assert_true(read_all(target) == std::string(v1.begin(), v1.end()));
        assert_int_equal(dir.list().size(), 1);  // no temporary left behind
    }
    for (const char *err : {"EACCES", "EROFS"}) {
        EnvGuard g("MOS_TEST_WRITE_FAIL", err);
        expect_error([&] { wr.write_file(target); }, MOS_IO,
                     {"cannot create a temporary file next to '", target.c_str(), "was not changed"});
        assert_int_equal(dir.list().size(), 1);
    }
    {
        // A fault for one write number leaves the other writes alone.
        EnvGuard g("MOS_TEST_WRITE_FAIL", "ENOSPC:1000000");
        wr.write_file(target);
        assert_true(mos::SafeTensors::read_file(target).checksum_verified());
    }
    {
        EnvGuard g("MOS_TEST_WRITE_FAIL", "ENOMEM");
        expect_error([&] { wr.write_file(target); }, MOS_INVALID_ARGUMENT, {"MOS_TEST_WRITE_FAIL", "ENOMEM"});
    }
    {
        EnvGuard g("MOS_TEST_WRITE_FAIL", "ENOSPC:0");
        expect_error([&] { wr.write_file(target); }, MOS_INVALID_ARGUMENT, {"write number >= 1"});
    }
    {
        EnvGuard g("MOS_TEST_WRITE_PAUSE", "before-lunch");
        expect_error([&] { wr.write_file(target); }, MOS_INVALID_ARGUMENT, {"unknown phase 'before-lunch'"});
    }
    // Real errors: a missing directory, and a producer that throws.
    expect_error([&] { wr.write_file(dir.file("no/such/dir/x")); }, MOS_IO,
                 {"cannot create a temporary file", "No such file or directory"});
    expect_error(
        [&] {
            mos::write_file_atomic(target, [](const std::function<void(const void *, size_t)> &put) {
                put("abc", 3);
                throw mos::Error(MOS_INVALID_ARGUMENT, "producer gave up");
            });
        },
        MOS_INVALID_ARGUMENT, {"producer gave up"});
    assert_int_equal(dir.list().size(), 1);
    assert_true(mos::SafeTensors::read_file(target).checksum_verified());
}

// The pause hook stops the writer at each phase; a SIGKILL there leaves the
// target as it was (or, after the rename, complete), and the next write
// removes the killed writer's temporary.
void kill_at_each_phase(void **) {
    TempDir dir;
    const std::string target = dir.file("ckpt.safetensors");
    const std::vector<uint8_t> v1 = small_file(std::vector<float>(3000, 1.0f));
    const std::vector<uint8_t> v2 = small_file(std::vector<float>(3000, 2.0f));
    for (const char *phase : {"after-temp-open", "after-data", "after-fsync", "before-rename", "after-rename"}) {
        mos::write_file_atomic(target, v1.data(), v1.size());
        const pid_t child = fork();
        if (child == 0) {
            setenv("MOS_TEST_WRITE_PAUSE", phase, 1);
            try {
                mos::write_file_atomic(target, v2.data(), v2.size());
            } catch (...) {
                _exit(3);
            }
            _exit(0);
        }
        assert_true(child > 0);
        int ws = 0;
        assert_int_equal(waitpid(child, &ws, WUNTRACED), child);
        assert_true(WIFSTOPPED(ws));
        const std::string tmp_prefix = "ckpt.safetensors.tmp." + std::to_string(child) + ".";
        bool has_tmp = false;
        for (const std::string &n : dir.list()) has_tmp = has_tmp || has_prefix(n, tmp_prefix);
        const bool renamed = std::strcmp(phase, "after-rename") == 0;
        assert_true(has_tmp != renamed);
        kill(child, SIGKILL);
        assert_int_equal(waitpid(child, &ws, 0), child);
        assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
        const std::string now = read_all(target);
        assert_true(now == (renamed ? std::string(v2.begin(), v2.end()) : std::string(v1.begin(), v1.end())));
        assert_true(mos::SafeTensors::read_file(target).checksum_verified());
        // The next write clears the dead writer's temporary.
        mos::write_file_atomic(target, v1.data(), v1.size());
        assert_int_equal(dir.list().size(), 1);
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s GOLDEN_FIXTURE_DIR MODEL_FILE\n", argv[0]);
        return 2;
    }
    g_fixtures = argv[1];
    g_model = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_matches_reference),
        cmocka_unit_test(checksum_written_and_verified),
        cmocka_unit_test(corruption_is_reported),
        cmocka_unit_test(files_without_checksum_load),
        cmocka_unit_test(bf16_conversion),
        cmocka_unit_test(bf16_files),
        cmocka_unit_test(bf16_model_loads),
        cmocka_unit_test(random_flips_are_caught),
        cmocka_unit_test(temp_names_and_stale_cleanup),
        cmocka_unit_test(injected_failures_keep_the_old_file),
        cmocka_unit_test(kill_at_each_phase),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
