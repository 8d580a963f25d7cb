/* bindings/java/org/libmos/TranslateOptions.java: the options of
 * Model.translateBatch, field for field those of mos_translate_options
 * (mos/model.h, version 3), as a builder. Their initial values are read from
 * the library (a CTranslateOptions, whose constructor runs
 * mos_translate_options_init), so they are always MOS_TRANSLATE_OPTIONS_INIT's. */
package org.libmos;

/** Options of {@link Model#translateBatch}; the initial values are the library's defaults
 *  (docs/serving.md). Each setter returns this, for chaining. */
public final class TranslateOptions {
  /** The library's defaults, read once (a native struct kept for the life of the class). */
  private static final CTranslateOptions DEFAULTS = new CTranslateOptions();

  private int beam = (int) DEFAULTS.getBeam();
  private float lengthPenalty = DEFAULTS.getLength_penalty();
  private int maxLenA = (int) DEFAULTS.getMax_len_a();
  private float maxLenFactor = DEFAULTS.getMax_len_factor();
  private int maxLenB = (int) DEFAULTS.getMax_len_b();
  private int maxSrcLen = (int) DEFAULTS.getMax_src_len();
  private int threads = DEFAULTS.getThreads();
  private int maxBatchSentences = (int) DEFAULTS.getMax_batch_sentences();
  private int maxBatchTokens = (int) DEFAULTS.getMax_batch_tokens();
  private boolean sortByLength = DEFAULTS.getSort_by_length() != 0;
  private int nbest = (int) DEFAULTS.getNbest();
  private int draftTokens = (int) DEFAULTS.getDraft_tokens();

  /** Beam width, 1 = greedy. */
  public TranslateOptions beam(int v) { beam = v; return this; }
  /** Beam score = logprob / length^v. */
  public TranslateOptions lengthPenalty(float v) { lengthPenalty = v; return this; }
  /** Output limit floor(a * source tokens) + b (fairseq's max_len_a/b, a a float factor). */
  public TranslateOptions maxLen(float a, int b) { maxLenFactor = a; maxLenB = b; return this; }
  /** Longer sources are cut to v tokens. */
  public TranslateOptions maxSrcLen(int v) { maxSrcLen = v; return this; }
  /** Threads of the call, 0 = all cores; a service translating from many threads passes 1. */
  public TranslateOptions threads(int v) { threads = v; return this; }
  /** At most v sentences per batch. */
  public TranslateOptions maxBatchSentences(int v) { maxBatchSentences = v; return this; }
  /** At most v padded source tokens per batch, 0 = no token limit. */
  public TranslateOptions maxBatchTokens(int v) { maxBatchTokens = v; return this; }
  /** Batches of sentences of similar length (true) or in input order; results are in input order either way. */
  public TranslateOptions sortByLength(boolean v) { sortByLength = v; return this; }
  /** Hypotheses returned per sentence, 1..beam. */
  public TranslateOptions nbest(int v) { nbest = v; return this; }
  /** Speculative decoding of greedy batches of one sentence on an f32 model: an int8 copy
   *  of the model drafts v tokens per check, 0..15, 0 = off; the same output
   *  (docs/serving.md, "Speculative decoding"). */
  public TranslateOptions draftTokens(int v) { draftTokens = v; return this; }

  public int beam() { return beam; }
  public int nbest() { return nbest; }
  public int draftTokens() { return draftTokens; }
  public int threads() { return threads; }
  public int maxBatchSentences() { return maxBatchSentences; }
  public int maxBatchTokens() { return maxBatchTokens; }

  /** A native struct with these values (the caller deletes it). Negative
   *  counts reach the library as large unsigned values, which it refuses. */
  CTranslateOptions toNative() {
    CTranslateOptions c = new CTranslateOptions();
    c.setBeam(beam & 0xffffffffL);
    c.setLength_penalty(lengthPenalty);
    c.setMax_len_a(maxLenA & 0xffffffffL);
    c.setMax_len_factor(maxLenFactor);
    c.setMax_len_b(maxLenB & 0xffffffffL);
    c.setMax_src_len(maxSrcLen & 0xffffffffL);
    c.setThreads(threads);
    c.setMax_batch_sentences(maxBatchSentences & 0xffffffffL);
    c.setMax_batch_tokens(maxBatchTokens & 0xffffffffL);
    c.setSort_by_length(sortByLength ? 1 : 0);
    c.setNbest(nbest & 0xffffffffL);
    c.setDraft_tokens(draftTokens & 0xffffffffL);
    return c;
  }
}
