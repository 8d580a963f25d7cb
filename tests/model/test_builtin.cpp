// tests/model/test_builtin.cpp: built-in supernets (lib/model/builtin): found
// through MOS_BUILTIN_DIR, loaded with their SHA-256 checked, and every failure
// named: not installed (listing where it looked), a damaged weights file (both
// digests), a malformed manifest, a name that is not a plain word.
#include <cstdlib>
#include <string>

#include "core/sha256.hpp"
#include "model/builtin.hpp"
#include "model/space.hpp"

// cmocka (through the data tests' helpers: TempDir, expect_error) last.
#include "../data/test_common.hpp"

namespace {

const char *kSpace = R"({"format": "mos-space", "version": 1, "name": "test-tiny", "qkv_dim": 8,
  "encoder": {"embed_dim": [8], "layers": [1], "ffn_dim": [8], "heads": [2]},
  "decoder": {"embed_dim": [8], "layers": [1], "ffn_dim": [8], "self_heads": [2],
              "cross_heads": [2], "cross_k": [1]}})";

// A tiny supernet and its manifest under dir/name/; returns the weights path.
std::string install_tiny(const std::string &dir, const std::string &name, const std::string &digest_override = "") {
    mos::SupernetConfig cfg;
    cfg.vocab = 16;
    cfg.experts = 2;
    const mos::SupernetBundle b = mos::make_supernet(mos::space_from_json(kSpace), cfg);
    const std::string sub = dir + "/" + name;
    assert_int_equal(system(("mkdir -p '" + sub + "'").c_str()), 0);
    const std::string weights = sub + "/supernet.safetensors";
    mos::save_supernet(weights, b);
    const std::string digest = digest_override.empty() ? mos::sha256_file_hex(weights) : digest_override;
    write_plain(sub + "/manifest.json", std::string("{\"format\": \"mos-builtin-manifest\", \"version\": 1, ") +
                                            "\"file\": \"supernet.safetensors\", \"sha256\": \"" + digest + "\"}");
    return weights;
}

void test_load(void **) {
    TempDir t;
    install_tiny(t.path, "tiny");
    setenv("MOS_BUILTIN_DIR", t.path.c_str(), 1);
    const mos::BuiltinInfo info = mos::find_builtin("tiny");
    assert_string_equal(info.dir.c_str(), (t.path + "/tiny").c_str());
    const mos::SupernetBundle b = mos::load_builtin("tiny");
    assert_int_equal(b.net->config().vocab, 16);
    unsetenv("MOS_BUILTIN_DIR");
}

void test_damaged(void **) {
    TempDir t;
    const std::string weights = install_tiny(t.path, "tiny");
    FILE *f = fopen(weights.c_str(), "r+b");
    assert_non_null(f);
    fseek(f, -5, SEEK_END);  // a byte of the last tensor
    fputc(0x5A, f);
    fclose(f);
    setenv("MOS_BUILTIN_DIR", t.path.c_str(), 1);
    expect_error([] { mos::load_builtin("tiny"); }, MOS_FORMAT, "is damaged");
    expect_error([] { mos::load_builtin("tiny"); }, MOS_FORMAT, "but its manifest says");
    unsetenv("MOS_BUILTIN_DIR");
}

void test_not_installed(void **) {
    TempDir t;
    setenv("MOS_BUILTIN_DIR", t.path.c_str(), 1);
    expect_error([] { mos::find_builtin("nowhere"); }, MOS_IO, "is not installed");
    expect_error([] { mos::find_builtin("nowhere"); }, MOS_IO, (t.path + "/nowhere/manifest.json").c_str());
    unsetenv("MOS_BUILTIN_DIR");
}

void test_bad_manifest(void **) {
    TempDir t;
    install_tiny(t.path, "short", "abc");  // not 64 hex digits
    setenv("MOS_BUILTIN_DIR", t.path.c_str(), 1);
    expect_error([] { mos::find_builtin("short"); }, MOS_FORMAT, "64 lowercase hex digits");
    assert_int_equal(system(("mkdir -p '" + t.path + "/odd'").c_str()), 0);
    write_plain(t.path + "/odd/manifest.json", "{\"format\": \"mos-builtin-manifest\", \"version\": 1, "
                                               "\"file\": \"../x.safetensors\", \"sha256\": \"00\"}");
    expect_error([] { mos::find_builtin("odd"); }, MOS_FORMAT, "same directory");
    write_plain(t.path + "/odd/manifest.json", "{\"format\": \"something-else\"}");
    expect_error([] { mos::find_builtin("odd"); }, MOS_FORMAT, "not a mos-builtin-manifest");
    write_plain(t.path + "/odd/manifest.json", "{\"format\": \"mos-builtin-manifest\", \"version\": 7}");
    expect_error([] { mos::find_builtin("odd"); }, MOS_VERSION, "unknown manifest version");
    unsetenv("MOS_BUILTIN_DIR");
}

void test_names(void **) {
    expect_error([] { mos::find_builtin("../etc"); }, MOS_INVALID_ARGUMENT, "not a plain name");
    expect_error([] { mos::find_builtin("Bible"); }, MOS_INVALID_ARGUMENT, "not a plain name");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),         cmocka_unit_test(test_damaged), cmocka_unit_test(test_not_installed),
        cmocka_unit_test(test_bad_manifest), cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
