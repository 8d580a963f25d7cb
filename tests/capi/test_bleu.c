/* tests/capi/test_bleu.c: mos/bleu.h from plain C. Every expected score below is
 * derived by hand from sacreBLEU 2.x's definition (13a tokens, clipped n-gram
 * counts summed over the corpus, precisions p_n = 100 * correct_n / total_n,
 * 'exp' smoothing: the k-th order with no match gets 100 / (2^k * total_n),
 * BP = exp(1 - ref_len / hyp_len) when hyp_len < ref_len, score =
 * BP * exp(mean(log p_n)), and score 0 when no n-gram matches at all). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "mos/mos.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static mos_bleu_score score_of(const char *const *hyps, const char *const *refs, size_t n) {
    mos_bleu_score s = MOS_BLEU_SCORE_INIT;
    assert_int_equal(mos_bleu_corpus(&s, hyps, refs, n), MOS_OK);
    return s;
}

static void expect_line(const mos_bleu_score *s, const char *want) {
    char buf[256];
    size_t needed = 0;
    assert_int_equal(mos_bleu_format(buf, sizeof buf, &needed, s), MOS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(needed, strlen(want) + 1);
}

/* "The cat sat on the mat." -> 13a: The cat sat on the mat . (7 tokens; the final
 * period is split because it follows a non-digit). Identical hypothesis: 7/7, 6/6,
 * 5/5, 4/4 -> every precision 100, BP 1 -> BLEU 100. */
static void exact_match_is_100(void **state) {
    (void)state;
    const char *h[] = {"The cat sat on the mat."};
    const char *r[] = {"The cat sat on the mat."};
    mos_bleu_score s = score_of(h, r, 1);
    assert_float_equal(s.score, 100.0, 1e-9);
    assert_int_equal(s.hyp_len, 7);
    assert_int_equal(s.total[3], 4);
    expect_line(&s, "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)");
}

/* "a b c" vs "x y z": no unigram matches, so sacreBLEU returns 0 early with all
 * precisions 0; lengths equal -> BP 1, ratio 1. */
static void zero_matches_is_0(void **state) {
    (void)state;
    const char *h[] = {"a b c"};
    const char *r[] = {"x y z"};
    mos_bleu_score s = score_of(h, r, 1);
    assert_true(s.score == 0.0);
    for (int k = 0; k < 4; k++) assert_true(s.precisions[k] == 0.0);
    expect_line(&s, "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 3 ref_len = 3)");
}

/* "the cat sat on" (4 tokens) vs "the cat sat on the mat" (6): every hypothesis
 * n-gram matches (4/4, 3/3, 2/2, 1/1), so the precisions are 100, but
 * BP = exp(1 - 6/4) = exp(-0.5) = 0.606531 -> BLEU 60.65, ratio 4/6 = 0.667. */
static void brevity_penalty(void **state) {
    (void)state;
    const char *h[] = {"the cat sat on"};
    const char *r[] = {"the cat sat on the mat"};
    mos_bleu_score s = score_of(h, r, 1);
    assert_float_equal(s.bp, exp(-0.5), 1e-12);
    assert_float_equal(s.score, 100.0 * exp(-0.5), 1e-9);
    expect_line(&s, "BLEU = 60.65 100.0/100.0/100.0/100.0 (BP = 0.607 ratio = 0.667 hyp_len = 4 ref_len = 6)");
}

/* "a b c d" vs "a b x d": unigrams a,b,d match (3/4); bigrams ab|bc|cd vs
 * ab|bx|xd: 1/3; trigrams 0/2 -> first zero order, exp smoothing 100/(2*2) = 25;
 * 4-grams 0/1 -> second zero order, 100/(4*1) = 25.
 * BLEU = (75 * 100/3 * 25 * 25)^(1/4) = 1562500^(1/4) = sqrt(1250) = 35.3553. */
static void partial_match_exp_smoothing(void **state) {
    (void)state;
    const char *h[] = {"a b c d"};
    const char *r[] = {"a b x d"};
    mos_bleu_score s = score_of(h, r, 1);
    assert_int_equal(s.correct[0], 3);
    assert_int_equal(s.correct[1], 1);
    assert_int_equal(s.correct[2], 0);
    assert_int_equal(s.total[2], 2);
    assert_float_equal(s.precisions[2], 25.0, 1e-12);
    assert_float_equal(s.precisions[3], 25.0, 1e-12);
    assert_float_equal(s.score, sqrt(1250.0), 1e-9);
    expect_line(&s, "BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)");
}

/* Punctuation: "Hello, world!" -> Hello , world ! (4 tokens: the comma follows a
 * non-digit, '!' is in the v13a punctuation set); "Hello world!" -> 3 tokens.
 * Unigrams 3/4 (',' unmatched); bigrams "Hello ,", ", world", "world !" vs
 * "Hello world", "world !": 1/3; trigrams 0/2 -> 25; 4-gram 0/1 -> 25.
 * Same precisions as above -> 35.36; ratio 4/3 = 1.333. */
static void punctuation_is_tokenized(void **state) {
    (void)state;
    const char *h[] = {"Hello, world!"};
    const char *r[] = {"Hello world!"};
    mos_bleu_score s = score_of(h, r, 1);
    expect_line(&s, "BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.333 hyp_len = 4 ref_len = 3)");
}

/* Numbers: "It costs $3.50, or 1,000.5 units." -> It costs $ 3.50 , or 1,000.5
 * units . (9 tokens; "3.50" and "1,000.5" stay whole because the period and
 * comma sit between digits). Hypothesis "It costs $3.50 or 1,000.5 units." has 8
 * tokens, all in the reference: unigrams 8/8; bigrams: 7 in the hypothesis, only
 * "3.50 or" is missing from the reference (which has "3.50 ,") -> 6/7; trigrams
 * 6 total, those containing "3.50 or" ("$ 3.50 or", "3.50 or 1,000.5") miss ->
 * 4/6; 4-grams 5 total, 3 of them contain "3.50 or" -> 2/5. BP = exp(1 - 9/8).
 * BLEU = exp(1 - 9/8) * (100 * 600/7 * 200/3 * 40)^(1/4). */
static void numbers_stay_whole(void **state) {
    (void)state;
    const char *h[] = {"It costs $3.50 or 1,000.5 units."};
    const char *r[] = {"It costs $3.50, or 1,000.5 units."};
    mos_bleu_score s = score_of(h, r, 1);
    assert_int_equal(s.hyp_len, 8);
    assert_int_equal(s.ref_len, 9);
    assert_int_equal(s.correct[0], 8);
    assert_int_equal(s.correct[1], 6);
    assert_int_equal(s.correct[2], 4);
    assert_int_equal(s.correct[3], 2);
    double want = exp(1.0 - 9.0 / 8.0) * pow(100.0 * (600.0 / 7.0) * (200.0 / 3.0) * 40.0, 0.25);
    assert_float_equal(s.score, want, 1e-9);
}

/* Clipping: "the the the the" vs "the cat": "the" counts once (1/4); bigrams
 * 0/3 -> 100/(2*3); trigrams 0/2 -> 100/(4*2); 4-gram 0/1 -> 100/(8*1).
 * BLEU = (25 * 16.667 * 12.5 * 12.5)^(1/4) = 15.97; ratio 2.000, BP 1. */
static void counts_are_clipped(void **state) {
    (void)state;
    const char *h[] = {"the the the the"};
    const char *r[] = {"the cat"};
    mos_bleu_score s = score_of(h, r, 1);
    assert_int_equal(s.correct[0], 1);
    double want = pow(25.0 * (100.0 / 6.0) * 12.5 * 12.5, 0.25);
    assert_float_equal(s.score, want, 1e-9);
    expect_line(&s, "BLEU = 15.97 25.0/16.7/12.5/12.5 (BP = 1.000 ratio = 2.000 hyp_len = 4 ref_len = 2)");
}

/* Corpus-level counts are summed before the precisions: segment 1 "a b c d" /
 * "a b x d" gives 3/4 1/3 0/2 0/1, segment 2 "the cat sat on" (identical) gives
 * 4/4 3/3 2/2 1/1; sums 7/8 4/6 2/4 1/2 -> no smoothing needed:
 * BLEU = (87.5 * 66.667 * 50 * 50)^(1/4) = 61.80 (not the mean of 35.36 and 100). */
static void corpus_counts_are_summed(void **state) {
    (void)state;
    const char *h[] = {"a b c d", "the cat sat on"};
    const char *r[] = {"a b x d", "the cat sat on"};
    mos_bleu_score s = score_of(h, r, 2);
    double want = pow(87.5 * (200.0 / 3.0) * 50.0 * 50.0, 0.25);
    assert_float_equal(s.score, want, 1e-9);
    expect_line(&s, "BLEU = 61.80 87.5/66.7/50.0/50.0 (BP = 1.000 ratio = 1.000 hyp_len = 8 ref_len = 8)");
}

/* Empty lines contribute no tokens. An empty pair changes nothing (100 stays 100);
 * an empty hypothesis against "x y" only adds 2 to ref_len: 4 vs 6 tokens ->
 * BP = exp(-0.5) as in brevity_penalty. All-empty hypotheses: hyp_len 0 -> BP 0
 * and no matches -> 0. */
static void empty_lines(void **state) {
    (void)state;
    const char *h1[] = {"", "a b c d"};
    const char *r1[] = {"", "a b c d"};
    mos_bleu_score s = score_of(h1, r1, 2);
    assert_float_equal(s.score, 100.0, 1e-9);

    const char *r2[] = {"x y", "a b c d"};
    s = score_of(h1, r2, 2);
    expect_line(&s, "BLEU = 60.65 100.0/100.0/100.0/100.0 (BP = 0.607 ratio = 0.667 hyp_len = 4 ref_len = 6)");

    const char *h3[] = {"", "  "};
    const char *r3[] = {"a", "b c"};
    s = score_of(h3, r3, 2);
    expect_line(&s, "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 0.000 ratio = 0.000 hyp_len = 0 ref_len = 3)");

    /* An empty corpus: nothing to count, score 0, ratio 0 (ref_len 0). */
    s = score_of(NULL, NULL, 0);
    assert_true(s.score == 0.0);
    assert_int_equal(s.ref_len, 0);
}

/* Short segments: "a b" vs "a b" has no trigrams at all; sacreBLEU (without
 * effective order) stops at the first order with total 0, leaving p3 = p4 = 0,
 * so the corpus score is 0 even though everything matches. */
static void too_short_for_4grams_scores_0(void **state) {
    (void)state;
    const char *h[] = {"a b"};
    const char *r[] = {"a b"};
    mos_bleu_score s = score_of(h, r, 1);
    expect_line(&s, "BLEU = 0.00 100.0/100.0/0.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 2 ref_len = 2)");
}

static void bad_arguments(void **state) {
    (void)state;
    const char *h[] = {"a", NULL};
    const char *r[] = {"a", "b"};
    mos_bleu_score s = MOS_BLEU_SCORE_INIT;
    assert_int_equal(mos_bleu_corpus(NULL, h, r, 1), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "mos_bleu_corpus"));
    assert_int_equal(mos_bleu_corpus(&s, NULL, r, 1), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_bleu_corpus(&s, h, NULL, 1), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_bleu_corpus(&s, h, r, 2), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "hypothesis 1 is NULL"));
    assert_int_equal(mos_bleu_corpus(&s, r, h, 2), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "reference 1 is NULL"));

    s.version = 99;
    assert_int_equal(mos_bleu_corpus(&s, r, r, 2), MOS_VERSION);
    assert_non_null(strstr(mos_last_error(), "99"));
    char buf[8];
    assert_int_equal(mos_bleu_format(buf, sizeof buf, NULL, &s), MOS_VERSION);

    assert_int_equal(mos_bleu_score_init(NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_bleu_score_init(&s), MOS_OK);
    assert_int_equal(s.version, MOS_BLEU_SCORE_VERSION);
    assert_int_equal(mos_bleu_corpus(&s, r, r, 2), MOS_OK);
    assert_string_equal(mos_last_error(), "");
}

static void format_size_query_and_small_buffer(void **state) {
    (void)state;
    const char *h[] = {"a b c d"};
    mos_bleu_score s = score_of(h, h, 1);
    size_t needed = 0;
    assert_int_equal(mos_bleu_format(NULL, 0, &needed, &s), MOS_OK);
    /* "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)" */
    assert_int_equal(needed, 88 + 1);
    char small[10];
    memset(small, 'x', sizeof small);
    assert_int_equal(mos_bleu_format(small, sizeof small, &needed, &s), MOS_OUT_OF_RANGE);
    assert_string_equal(small, "");
    assert_int_equal(needed, 89);
    assert_int_equal(mos_bleu_format(NULL, 5, &needed, &s), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_bleu_format(small, sizeof small, &needed, NULL), MOS_INVALID_ARGUMENT);
    char exact[89];
    assert_int_equal(mos_bleu_format(exact, sizeof exact, NULL, &s), MOS_OK);
    assert_int_equal(strlen(exact), 88);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_match_is_100),
        cmocka_unit_test(zero_matches_is_0),
        cmocka_unit_test(brevity_penalty),
        cmocka_unit_test(partial_match_exp_smoothing),
        cmocka_unit_test(punctuation_is_tokenized),
        cmocka_unit_test(numbers_stay_whole),
        cmocka_unit_test(counts_are_clipped),
        cmocka_unit_test(corpus_counts_are_summed),
        cmocka_unit_test(empty_lines),
        cmocka_unit_test(too_short_for_4grams_scores_0),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(format_size_query_and_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
