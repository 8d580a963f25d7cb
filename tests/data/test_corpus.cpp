// tests/data/test_corpus.cpp: corpus reading (lib/data/corpus.hpp): plain and gzip
// files written here, CRLF, BOM, the skip policy and every error with its message.
#include <cstring>

#include "data/corpus.hpp"
#include "test_common.hpp"

namespace {

void plain_and_gzip_read_alike(void **) {
    TempDir d;
    const std::string text = "one\ntwo words\nÁrbol ñandú\n";
    write_plain(d.file("a.txt"), text);
    write_gzip(d.file("b.txt"), text);  // gzip detected from content, not from the name
    auto a = mos::read_lines(d.file("a.txt"));
    auto b = mos::read_lines(d.file("b.txt"));
    assert_int_equal(a.size(), 3);
    assert_true(a == b);
    assert_string_equal(a[2].c_str(), "Árbol ñandú");
}

void crlf_bom_and_last_line(void **) {
    TempDir d;
    write_plain(d.file("c"), "\xef\xbb\xbfx\r\ny\r\nz");  // BOM, CRLF, no final newline
    auto l = mos::read_lines(d.file("c"));
    assert_int_equal(l.size(), 3);
    assert_string_equal(l[0].c_str(), "x");
    assert_string_equal(l[1].c_str(), "y");
    assert_string_equal(l[2].c_str(), "z");
}

void utf8_validation(void **) {
    size_t off = 99;
    assert_true(mos::is_valid_utf8("plain é € 😀"));
    assert_false(mos::is_valid_utf8("ab\xc3", &off));  // truncated
    assert_int_equal(off, 2);
    assert_false(mos::is_valid_utf8("\xc0\xaf", &off));  // overlong '/'
    assert_int_equal(off, 0);
    assert_false(mos::is_valid_utf8("x\xed\xa0\x80", &off));  // surrogate
    assert_int_equal(off, 1);
    assert_false(mos::is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
    assert_false(mos::is_valid_utf8("\xe0\x80\x80"));      // overlong 3-byte
}

void invalid_utf8_names_path_and_line(void **) {
    TempDir d;
    write_gzip(d.file("bad.gz"), "fine\nalso fine\nbro\xffken\n");
    expect_error([&] { mos::read_lines(d.file("bad.gz")); }, MOS_FORMAT, d.file("bad.gz") + ":3: invalid UTF-8");
}

void empty_and_missing_files(void **) {
    TempDir d;
    write_plain(d.file("empty"), "");
    expect_error([&] { mos::read_lines(d.file("empty")); }, MOS_FORMAT, "is empty");
    write_gzip(d.file("empty.gz"), "");
    expect_error([&] { mos::read_lines(d.file("empty.gz")); }, MOS_FORMAT, "is empty");
    expect_error([&] { mos::read_lines(d.file("nope")); }, MOS_IO, d.file("nope"));
    expect_error([&] { mos::find_corpus_file(d.path, "train", "xx"); }, MOS_IO, "train.xx.gz");
}

void truncated_gzip(void **) {
    TempDir d;
    std::string text;
    for (int i = 0; i < 2000; i++) text += "line number " + std::to_string(i) + "\n";
    write_gzip(d.file("t.gz"), text);
    FILE *f = fopen(d.file("t.gz").c_str(), "rb");
    std::string bytes(1 << 20, '\0');
    bytes.resize(fread(bytes.data(), 1, bytes.size(), f));
    fclose(f);
    write_plain(d.file("cut.gz"), bytes.substr(0, bytes.size() / 2));
    expect_error([&] { mos::read_lines(d.file("cut.gz")); }, MOS_FORMAT, "cut.gz");
}

void parallel_policy(void **) {
    TempDir d;
    const std::string longline(50, 'x');
    write_plain(d.file("train.en"), "a b\n \n" + longline + "\nc d\nlast\n");
    write_gzip(d.file("train.es.gz"), "A B\nX\nY\n\t\nfin\n");
    mos::CorpusOptions opt;
    opt.max_line_bytes = 40;
    mos::ParallelText p = mos::read_parallel(d.path, "train", "en", "es", opt);
    assert_int_equal(p.lines_read, 5);
    assert_int_equal(p.skipped_long, 1);   // line 3
    assert_int_equal(p.skipped_empty, 2);  // line 2 (blank en), line 4 (blank es)
    assert_int_equal(p.src.size(), 2);
    assert_string_equal(p.src[0].c_str(), "a b");
    assert_string_equal(p.tgt[0].c_str(), "A B");
    assert_string_equal(p.src[1].c_str(), "last");
    assert_string_equal(p.tgt[1].c_str(), "fin");
    assert_string_equal(p.tgt_path.c_str(), d.file("train.es.gz").c_str());
    opt.max_line_bytes = 0;
    expect_error([&] { mos::read_parallel(d.path, "train", "en", "es", opt); }, MOS_INVALID_ARGUMENT,
                 "max_line_bytes");
    expect_error([&] { mos::read_parallel(d.path, "train", "en", "en"); }, MOS_INVALID_ARGUMENT, "both 'en'");
    // Everything skipped -> error with the counts.
    write_plain(d.file("x.en"), "   \n");
    write_plain(d.file("x.es"), "y\n");
    expect_error([&] { mos::read_parallel(d.path, "x", "en", "es"); }, MOS_FORMAT, "no usable sentence pairs");
}

void mismatched_counts(void **) {
    TempDir d;
    write_plain(d.file("s"), "1\n2\n3\n");
    write_plain(d.file("t"), "1\n2\n");
    expect_error([&] { mos::read_parallel_files(d.file("s"), d.file("t")); }, MOS_FORMAT,
                 "'" + d.file("s") + "' has 3 lines, '" + d.file("t") + "' has 2");
}

void builtin_corpus_readable(void **) {
    const char *dir = getenv("MOS_DATA_DIR");
    assert_non_null(dir);
    mos::ParallelText p = mos::read_parallel(std::string(dir) + "/bible-en-es", "valid", "en", "es");
    assert_int_equal(p.lines_read, 1000);
    assert_int_equal(p.src.size() + p.skipped_long + p.skipped_empty, 1000);
    assert_true(p.src.size() > 990);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_gzip_read_alike),
        cmocka_unit_test(crlf_bom_and_last_line),
        cmocka_unit_test(utf8_validation),
        cmocka_unit_test(invalid_utf8_names_path_and_line),
        cmocka_unit_test(empty_and_missing_files),
        cmocka_unit_test(truncated_gzip),
        cmocka_unit_test(parallel_policy),
        cmocka_unit_test(mismatched_counts),
        cmocka_unit_test(builtin_corpus_readable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
