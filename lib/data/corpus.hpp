// lib/data/corpus.hpp: reading parallel corpora (one sentence per line, plain or
// gzip text) into memory, with precise errors and a written policy for bad lines.
//
// A corpus directory holds train.SRC, train.TGT, valid.*, test.* (each optionally
// ending in .gz). Policy (docs/data.md):
//  * missing file -> MOS_IO naming the path tried; an empty file, a line that is
//    not valid UTF-8 (file:line) or different line counts (both files and counts)
//    -> MOS_FORMAT;
//  * a trailing '\r' is stripped (CRLF files), a final newline does not add a line;
//  * a pair where either side is longer than max_line_bytes is skipped, and so is a
//    pair with an empty (or all-blank) side; both are counted and reported so the
//    caller can print them; if no pair is left -> MOS_FORMAT. Line numbers in
//    errors are 1-based.
// A UTF-8 byte order mark at the start of a file is dropped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mos {

// Default upper bound on a line's length in bytes; a Bible verse is < 1 kB.
constexpr size_t kDefaultMaxLineBytes = 4096;

struct CorpusOptions {
    size_t max_line_bytes = kDefaultMaxLineBytes;  // longer pairs are skipped (counted)
};

struct ParallelText {
    std::vector<std::string> src, tgt;  // aligned: src[i] translates to tgt[i]
    std::string src_path, tgt_path;     // the files actually read
    size_t lines_read = 0;              // lines in each file
    size_t skipped_long = 0;            // pairs dropped: a side over max_line_bytes
    size_t skipped_empty = 0;           // pairs dropped: a side empty or blank
};

// All lines of a UTF-8 text file, plain or gzip (detected from the content, not
// the name), '\n'-separated, with a trailing '\r' removed from each line.
// Errors: MOS_IO (cannot open/read), MOS_FORMAT (corrupt gzip, invalid UTF-8 with
// path:line, file with no lines).
std::vector<std::string> read_lines(const std::string &path);

// True if s is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF).
// On failure *bad_offset (if given) is the byte offset of the first bad sequence.
bool is_valid_utf8(std::string_view s, size_t *bad_offset = nullptr);

// "dir/split.lang" if it exists, else "dir/split.lang.gz"; MOS_IO naming both
// paths when neither exists.
std::string find_corpus_file(const std::string &dir, const std::string &split, const std::string &lang);

// Reads two aligned files and applies the skip policy above.
ParallelText read_parallel_files(const std::string &src_path, const std::string &tgt_path,
                                 const CorpusOptions &opt = {});

// One split of a corpus directory, e.g. read_parallel("data/bible-en-es", "train", "en", "es"):
// read_parallel_files(find_corpus_file(dir, split, src_lang), find_corpus_file(dir, split, tgt_lang)).
ParallelText read_parallel(const std::string &dir, const std::string &split, const std::string &src_lang,
                           const std::string &tgt_lang, const CorpusOptions &opt = {});

}  // namespace mos
