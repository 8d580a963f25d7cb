// tests/reliability/test_json.cpp: hostile JSON (lib/core/json_util.hpp and the
// space/arch readers over it): a key repeated in any object is MOS_FORMAT
// naming the key and the object's path (nlohmann alone keeps the last copy),
// nesting has a bound, trailing data is refused, and absurd sizes in a space
// are refused with the field and its limit before anything is allocated.
#include "core/json_util.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"
#include "rel_common.hpp"

namespace {

const char *kSpace = R"({"format":"mos-space","version":1,"name":"t","qkv_dim":16,
 "encoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"heads":[2,4]},
 "decoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"self_heads":[2,4],
 "cross_heads":[2,4],"cross_k":[1]}})";

void duplicate_keys(void **) {
    expect_error([] { mos::parse_json(R"({"a":1,"a":2})", "doc"); }, MOS_FORMAT,
                 {"doc: duplicate key 'a' in the top-level object"});
    expect_error([] { mos::parse_json(R"({"encoder":{"layers":[1],"x":0,"layers":[2]}})", "doc"); }, MOS_FORMAT,
                 {"duplicate key 'layers' in encoder"});
    expect_error([] { mos::parse_json(R"({"decoder":{"layers":[{"k":1},{"k":1,"k":2}]}})", "doc"); },
                 MOS_FORMAT, {"duplicate key 'k' in decoder.layers[1]"});
    expect_error([] { mos::parse_json(R"([[1,[2]],[{"k":1,"k":2}]])", "doc"); }, MOS_FORMAT,
                 {"duplicate key 'k' in [1][0]"});
    // The same key in different objects, and keys equal to values, are fine.
    const nlohmann::json ok = mos::parse_json(R"({"a":{"x":1},"b":{"x":1},"c":["a","a"],"x":"x"})", "doc");
    assert_int_equal(ok.size(), 4);
    // Escapes that decode to the same key are the same key.
    expect_error([] { mos::parse_json(R"({"ab":1,"a\u0062":2})", "doc"); }, MOS_FORMAT, {"duplicate key 'ab'"});
}

void nesting_and_trailing_data(void **) {
    std::string deep = std::string(16, '[') + std::string(16, ']');
    assert_true(mos::parse_json(deep, "doc").is_array());
    deep = std::string(17, '[') + std::string(17, ']');
    expect_error([&] { mos::parse_json(deep, "doc"); }, MOS_FORMAT, {"doc: objects and arrays nested deeper than 16"});
    const std::string huge(1 << 20, '[');  // refused at depth 17, long before the end
    expect_error([&] { mos::parse_json(huge, "doc"); }, MOS_FORMAT, {"nested deeper than"});
    expect_error([] { mos::parse_json("{\"a\":1}{\"x\":1}", "doc"); }, MOS_FORMAT, {"doc: not JSON"});
    expect_error([] { mos::parse_json("{\"a\":1e999}", "doc"); }, MOS_FORMAT, {"doc: not JSON"});
    expect_error([] { mos::parse_json("{\"a\":\"\xff\"}", "doc"); }, MOS_FORMAT, {"doc: not JSON"});
}

void space_and_arch_readers(void **) {
    const mos::Space s = mos::space_from_json(kSpace);
    std::string dup = kSpace;
    dup.insert(dup.find("\"qkv_dim\""), "\"qkv_dim\":32,");
    expect_error([&] { mos::space_from_json(dup); }, MOS_FORMAT, {"space: duplicate key 'qkv_dim'"});
    dup = kSpace;
    dup.insert(dup.find("\"heads\""), "\"layers\":[1],");
    expect_error([&] { mos::space_from_json(dup); }, MOS_FORMAT, {"duplicate key 'layers' in encoder"});
    const std::string arch = mos::arch_to_json(mos::arch_largest(s));
    assert_true(mos::arch_from_json(s, arch) == mos::arch_largest(s));
    std::string bad = arch;
    const size_t at = bad.find("\"heads\"");
    assert_true(at != std::string::npos);
    bad.insert(at, "\"heads\": 2, ");
    expect_error([&] { mos::arch_from_json(s, bad); }, MOS_FORMAT, {"arch: duplicate key 'heads' in encoder.layers[0]"});
}

void absurd_sizes_refused_before_allocating(void **) {
    std::string big = kSpace;
    big.replace(big.find("[12,16]"), 7, "[12,1000000000]");
    expect_error([&] { mos::space_from_json(big); }, MOS_FORMAT,
                 {"encoder.embed_dim[1] = 1000000000; allowed 1..65536"});
    big = kSpace;
    big.replace(big.find("\"layers\":[1,2]"), 14, "\"layers\":[1,100000]");
    expect_error([&] { mos::space_from_json(big); }, MOS_FORMAT, {"encoder.layers[1] = 100000; allowed 1..64"});
    big = kSpace;
    big.replace(big.find("\"qkv_dim\":16"), 12, "\"qkv_dim\":18446744073709551615");
    expect_error([&] { mos::space_from_json(big); }, MOS_FORMAT, {"qkv_dim = 18446744073709551615; allowed 1..65536"});
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(nesting_and_trailing_data),
        cmocka_unit_test(space_and_arch_readers),
        cmocka_unit_test(absurd_sizes_refused_before_allocating),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
