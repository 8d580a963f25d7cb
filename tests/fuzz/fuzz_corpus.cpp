// tests/fuzz/fuzz_corpus.cpp: libFuzzer target over the corpus reader
// (lib/data/corpus.hpp): UTF-8 validation, line splitting of plain and gzip
// files, and the parallel-file skip policy.
//
// Input: one option byte (max_line_bytes = 1 + 16 * (byte % 64)), then the
// source file's bytes up to the first NUL, then the target file's bytes.
// Promises checked:
//  * is_valid_utf8 agrees, verdict and offset, with a separate decoder written
//    from RFC 3629 here;
//  * read_lines of a file that is not gzip gives exactly the '\n'-separated
//    segments (byte order mark dropped, one trailing '\r' cut, no line for a
//    final newline), or MOS_FORMAT exactly when the file is empty or a line
//    is not UTF-8; gzip input gives valid lines or MOS_FORMAT;
//  * read_parallel_files keeps aligned pairs within max_line_bytes, none
//    blank, and counts every skipped pair; it fails only with MOS_FORMAT.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/corpus.hpp"
#include "fuzz_files.hpp"

namespace {

using fuzz::expect;

// RFC 3629: decode one scalar value at a time.
bool ref_valid_utf8(const std::string &s, size_t *bad) {
    size_t i = 0;
    while (i < s.size()) {
        const unsigned c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            const unsigned d = static_cast<unsigned char>(s[i + k]);
            ok = (d & 0xC0) == 0x80;
            cp = cp << 6 | (d & 0x3F);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        ok = ok && cp >= min_cp[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!ok) {
            *bad = i;
            return false;
        }
        i += len;
    }
    return true;
}

void check_utf8(const std::string &s) {
    size_t bad = 0, ref_bad = 0;
    const bool v = mos::is_valid_utf8(s, &bad);
    const bool r = ref_valid_utf8(s, &ref_bad);
    expect(v == r, "is_valid_utf8 verdict differs from the RFC 3629 decoder");
    expect(v || bad == ref_bad, "is_valid_utf8 offset differs from the RFC 3629 decoder");
}

void check_lines(const std::string &path, const std::string &content) {
    const bool gzip = content.size() >= 2 && static_cast<unsigned char>(content[0]) == 0x1F &&
                      static_cast<unsigned char>(content[1]) == 0x8B;
    std::vector<std::string> want;
    bool want_ok = true;
    if (!gzip) {
        size_t start = content.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
        while (start < content.size()) {
            size_t end = content.find('\n', start);
            if (end == std::string::npos) end = content.size();
            size_t stop = end;
            if (stop > start && content[stop - 1] == '\r') --stop;
            want.push_back(content.substr(start, stop - start));
            size_t bad = 0;
            want_ok = want_ok && ref_valid_utf8(want.back(), &bad);
            start = end + 1;
        }
        want_ok = want_ok && !want.empty();
    }
    try {
        const std::vector<std::string> got = mos::read_lines(path);
        expect(!got.empty(), "read_lines returned no lines");
        for (const std::string &l : got) {
            expect(l.find('\n') == std::string::npos, "a line holds a newline");
            size_t bad = 0;
            expect(ref_valid_utf8(l, &bad), "a line is not UTF-8");
        }
        if (!gzip) expect(want_ok && got == want, "read_lines differs from the reference split");
    } catch (const mos::Error &e) {
        expect(e.status() == MOS_FORMAT, "read_lines failed with a status other than MOS_FORMAT");
        expect(gzip || !want_ok, "read_lines rejected a valid plain file");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    mos::CorpusOptions opt;
    opt.max_line_bytes = 1 + 16 * static_cast<size_t>(data[0] % 64);
    const std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
    const size_t nul = rest.find('\0');
    const std::string src = rest.substr(0, nul);
    const std::string tgt = nul == std::string::npos ? src : rest.substr(nul + 1);

    check_utf8(rest);
    const std::string src_path = fuzz::write_file("train.src", src.data(), src.size());
    const std::string tgt_path = fuzz::write_file("train.tgt", tgt.data(), tgt.size());
    check_lines(src_path, src);
    try {
        const mos::ParallelText p = mos::read_parallel_files(src_path, tgt_path, opt);
        expect(p.src.size() == p.tgt.size() && !p.src.empty(), "pairs are not aligned");
        expect(p.lines_read == p.src.size() + p.skipped_long + p.skipped_empty, "skipped pairs are not counted");
        for (size_t i = 0; i < p.src.size(); ++i) {
            expect(p.src[i].size() <= opt.max_line_bytes && p.tgt[i].size() <= opt.max_line_bytes,
                   "a kept pair is over max_line_bytes");
            expect(p.src[i].find_first_not_of(" \t\r\v\f") != std::string::npos &&
                       p.tgt[i].find_first_not_of(" \t\r\v\f") != std::string::npos,
                   "a kept pair is blank");
        }
    } catch (const mos::Error &e) {
        expect(e.status() == MOS_FORMAT, "read_parallel_files failed with a status other than MOS_FORMAT");
    }
    return 0;
}
