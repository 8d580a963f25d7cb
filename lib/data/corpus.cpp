// lib/data/corpus.cpp: parallel corpus reading (see corpus.hpp for the policy).
// zlib's gzread reads gzip and plain files alike, so one code path serves both
// and a file is recognised by its content, never by its name.
#include "data/corpus.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.hpp"

namespace mos {

namespace {

constexpr unsigned kReadChunk = 1u << 16;

bool file_exists(const std::string &path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_all(const std::string &path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) fail(MOS_IO, "cannot open '", path, "': ", std::strerror(errno));
    check(S_ISREG(st.st_mode), MOS_IO, "'", path, "' is not a regular file");
    errno = 0;
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) fail(MOS_IO, "cannot open '", path, "': ", errno ? std::strerror(errno) : "out of memory");
    std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
    gzbuffer(f, kReadChunk);
    std::string data;
    std::string chunk(kReadChunk, '\0');
    for (;;) {
        int n = gzread(f, chunk.data(), kReadChunk);
        if (n < 0) {
            int err = 0;
            const char *msg = gzerror(f, &err);
            fail(err == Z_ERRNO ? MOS_IO : MOS_FORMAT, "cannot read '", path, "': ",
                 err == Z_ERRNO ? std::strerror(errno) : msg);
        }
        if (n == 0) break;
        data.append(chunk, 0, static_cast<size_t>(n));
    }
    // A truncated gzip stream ends with Z_BUF_ERROR instead of a read error.
    int err = Z_OK;
    const char *msg = gzerror(f, &err);
    check(err == Z_OK || err == Z_STREAM_END, MOS_FORMAT, "cannot read '", path, "': ", msg,
          " (truncated or corrupt gzip)");
    return data;
}

}  // namespace

bool is_valid_utf8(std::string_view s, size_t *bad_offset) {
    size_t i = 0;
    const size_t n = s.size();
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < n) {
        const unsigned c = b(i);
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) lo = 0xa0;  // overlong
            if (c == 0xed) hi = 0x9f;  // surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) lo = 0x90;  // overlong
            if (c == 0xf4) hi = 0x8f;  // > U+10FFFF
        } else {
            if (bad_offset) *bad_offset = i;
            return false;
        }
        bool ok = i + len <= n && b(i + 1) >= lo && b(i + 1) <= hi;
        for (size_t k = 2; ok && k < len; k++) ok = b(i + k) >= 0x80 && b(i + k) <= 0xbf;
        if (!ok) {
            if (bad_offset) *bad_offset = i;
            return false;
        }
        i += len;
    }
    return true;
}

std::vector<std::string> read_lines(const std::string &path) {
    std::string data = read_all(path);
    check(!data.empty(), MOS_FORMAT, "'", path, "' is empty");
    size_t start = 0;
    if (data.compare(0, 3, "\xef\xbb\xbf") == 0) start = 3;  // UTF-8 byte order mark
    std::vector<std::string> lines;
    while (start < data.size()) {
        size_t end = data.find('\n', start);
        if (end == std::string::npos) end = data.size();
        size_t stop = end;
        if (stop > start && data[stop - 1] == '\r') stop--;
        std::string_view line(data.data() + start, stop - start);
        size_t bad = 0;
        if (!is_valid_utf8(line, &bad))
            fail(MOS_FORMAT, path, ":", lines.size() + 1, ": invalid UTF-8 at byte ", bad + 1, " of the line");
        lines.emplace_back(line);
        start = end + 1;
    }
    check(!lines.empty(), MOS_FORMAT, "'", path, "' has no lines");
    return lines;
}

std::string find_corpus_file(const std::string &dir, const std::string &split, const std::string &lang) {
    const std::string plain = dir + "/" + split + "." + lang;
    if (file_exists(plain)) return plain;
    const std::string gz = plain + ".gz";
    if (file_exists(gz)) return gz;
    fail(MOS_IO, "corpus file not found: neither '", plain, "' nor '", gz, "' exists");
}

namespace {
bool blank(const std::string &s) {
    for (char c : s)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\v' && c != '\f') return false;
    return true;
}
}  // namespace

ParallelText read_parallel_files(const std::string &src_path, const std::string &tgt_path,
                                 const CorpusOptions &opt) {
    check(opt.max_line_bytes > 0, MOS_INVALID_ARGUMENT, "max_line_bytes is 0");
    std::vector<std::string> src = read_lines(src_path);
    std::vector<std::string> tgt = read_lines(tgt_path);
    check(src.size() == tgt.size(), MOS_FORMAT, "line counts differ: '", src_path, "' has ", src.size(),
          " lines, '", tgt_path, "' has ", tgt.size());
    ParallelText out;
    out.src_path = src_path;
    out.tgt_path = tgt_path;
    out.lines_read = src.size();
    out.src.reserve(src.size());
    out.tgt.reserve(tgt.size());
    for (size_t i = 0; i < src.size(); i++) {
        if (src[i].size() > opt.max_line_bytes || tgt[i].size() > opt.max_line_bytes) {
            out.skipped_long++;
        } else if (blank(src[i]) || blank(tgt[i])) {
            out.skipped_empty++;
        } else {
            out.src.push_back(std::move(src[i]));
            out.tgt.push_back(std::move(tgt[i]));
        }
    }
    check(!out.src.empty(), MOS_FORMAT, "no usable sentence pairs in '", src_path, "' / '", tgt_path, "' (",
          out.skipped_long, " over ", opt.max_line_bytes, " bytes, ", out.skipped_empty, " empty)");
    return out;
}

ParallelText read_parallel(const std::string &dir, const std::string &split, const std::string &src_lang,
                           const std::string &tgt_lang, const CorpusOptions &opt) {
    check(!dir.empty(), MOS_INVALID_ARGUMENT, "corpus directory is empty");
    check(!split.empty() && !src_lang.empty() && !tgt_lang.empty(), MOS_INVALID_ARGUMENT,
          "corpus split and languages must be non-empty (split '", split, "', languages '", src_lang, "', '",
          tgt_lang, "')");
    check(src_lang != tgt_lang, MOS_INVALID_ARGUMENT, "source and target language are both '", src_lang, "'");
    return read_parallel_files(find_corpus_file(dir, split, src_lang), find_corpus_file(dir, split, tgt_lang), opt);
}

}  // namespace mos
