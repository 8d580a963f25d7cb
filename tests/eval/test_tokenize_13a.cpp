// tests/eval/test_tokenize_13a.cpp: the mteval-v13a tokenizer as sacreBLEU applies
// it. Each expectation is derived by applying the rules by hand: (1) space around
// the punctuation set {|}~[\]^_` space!"#$%&()*+:;<=>?@/, (2) period/comma after a
// non-digit, (3) period/comma before a non-digit, (4) a dash after a digit, then
// split at whitespace; before that, <skipped> is dropped and &quot; &amp; &lt;
// &gt; are unescaped in that order.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

#include <string>
#include <vector>

#include "eval/bleu.hpp"

namespace {

using Tokens = std::vector<std::string>;

void expect(const char *line, const Tokens &want) {
    Tokens got = mos::tokenize_13a(line);
    std::string g, w;
    for (auto &t : got) g += "[" + t + "]";
    for (auto &t : want) w += "[" + t + "]";
    if (g != w) print_error("tokenize_13a(\"%s\"): got %s want %s\n", line, g.c_str(), w.c_str());
    assert_true(g == w);
}

void punctuation(void **) {
    // ',' after 'o' (rule 2); '!' is in the rule-1 set.
    expect("Hello, world!", {"Hello", ",", "world", "!"});
    // Apostrophe and hyphen between letters are not in any rule.
    expect("don't well-known", {"don't", "well-known"});
    // Brackets, quotes, slash, colon, question mark (rule 1).
    expect("(a/b): \"c\"?", {"(", "a", "/", "b", ")", ":", "\"", "c", "\"", "?"});
    // "a.b": rule 2 matches "a." -> "a . b".
    expect("a.b", {"a", ".", "b"});
}

void numbers(void **) {
    // '$' is rule 1; "3.50" and "1,000.5" keep their inner period/comma (digits on
    // both sides); "3.50," splits the comma (rule 3: followed by a space).
    expect("It costs $3.50, or 1,000.5 units.",
           {"It", "costs", "$", "3.50", ",", "or", "1,000.5", "units", "."});
    // "1.5.": only the last period is followed by a non-digit (rule 3).
    expect("1.5.", {"1.5", "."});
    // Rule 4: a dash after a digit is split; "-3" (dash before a digit) is not.
    expect("pages 10-20 and -3", {"pages", "10", "-", "20", "and", "-3"});
    // " .5": rule 2 matches the space before the period (a non-digit followed
    // by '.'), so mteval splits a leading decimal point: "x . 5".
    expect("x .5", {"x", ".", "5"});
}

void entities_and_skipped(void **) {
    // &quot; -> ", &amp; -> & (rule-1 punctuation afterwards).
    expect("&quot;Hi&quot; &amp; bye", {"\"", "Hi", "\"", "&", "bye"});
    // &amp;lt; -> &lt; -> < : replacements run in sequence over the whole line.
    expect("a &amp;lt; b", {"a", "<", "b"});
    expect("x <skipped> y", {"x", "y"});
}

void whitespace_and_unicode(void **) {
    expect("", {});
    expect("   \t ", {});
    expect("  a \t b  ", {"a", "b"});
    // Non-ASCII letters are untouched; '?' is split, the inverted mark is not.
    expect("\xc2\xbf" "Qu\xc3\xa9 tal?", {"\xc2\xbf" "Qu\xc3\xa9", "tal", "?"});
    // NO-BREAK SPACE U+00A0 and IDEOGRAPHIC SPACE U+3000 separate tokens (Python's
    // str.split() treats them as whitespace).
    expect("a\xc2\xa0" "b\xe3\x80\x80" "c", {"a", "b", "c"});
    // A multi-byte character before a period: rule 2 fires ("\xc3\xa9" is a non-digit).
    expect("caf\xc3\xa9.", {"caf\xc3\xa9", "."});
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(punctuation),
        cmocka_unit_test(numbers),
        cmocka_unit_test(entities_and_skipped),
        cmocka_unit_test(whitespace_and_unicode),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
